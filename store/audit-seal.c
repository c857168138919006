/*
 * store/audit-seal.c - the audit-signing key and seals.
 *
 * The key is ECDSA P-256 (common/crypto.h).  Its PKCS#8 private half is
 * stored wrapped under the token root key (store wrap, AAD binding it to
 * the public key's fingerprint, so a swapped public key no longer matches
 * its private half); the SPKI is stored in the clear for verifiers and its
 * fingerprint (hex SHA-256 of the SPKI DER) is what people keep elsewhere.
 *
 * A seal signs the chain head (seq, hash), the time and the digest of the
 * previous seal, so seals form their own chain: removing one in the middle
 * breaks the next one's link.  Seals need the root key; a handle that is
 * not logged in defers them (no error): the next logged-in writer seals.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/timeutil.h"
#include "store/audit-internal.h"

#define PKCS8_MAX 512

typedef struct audit_key {
    int64_t id;
    unsigned char *spki;
    size_t spki_len;
    char fpr[P11KMS_AUDIT_FPR_LEN + 1];
    unsigned char *wrapped;
    size_t wrapped_len;
    int active;
} audit_key;

static void key_clear(audit_key *k)
{
    free(k->spki);
    free(k->wrapped);
    memset(k, 0, sizeof(*k));
}

static void *dup_blob(sqlite3_stmt *q, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(q, col);
    void *d;

    *len = (size_t)sqlite3_column_bytes(q, col);
    d = malloc(*len ? *len : 1);
    if (d != NULL && *len)
        memcpy(d, p, *len);
    return d;
}

static p11kms_store_rc key_from_row(sqlite3_stmt *q, audit_key *k)
{
    const unsigned char *fpr = sqlite3_column_text(q, 2);

    k->id = sqlite3_column_int64(q, 0);
    k->active = sqlite3_column_int(q, 4) == 1;
    k->spki = dup_blob(q, 1, &k->spki_len);
    k->wrapped = dup_blob(q, 3, &k->wrapped_len);
    if (k->spki == NULL || k->wrapped == NULL)
        return P11KMS_STORE_NOMEM;
    if (fpr == NULL || sqlite3_column_bytes(q, 2) != P11KMS_AUDIT_FPR_LEN)
        return P11KMS_STORE_CORRUPT;
    memcpy(k->fpr, fpr, P11KMS_AUDIT_FPR_LEN + 1);
    return P11KMS_STORE_OK;
}

/* The active key (id 0 = active) or key `id`; NOTFOUND if none. */
static p11kms_store_rc key_load(p11kms_audit_state *s, int64_t id, audit_key *k)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, id ? AST_KEY_BY_ID : AST_KEY_ACTIVE, &rc);
    int src;

    memset(k, 0, sizeof(*k));
    if (q == NULL || (id && sqlite3_bind_int64(q, 1, id) != SQLITE_OK))
        goto done;
    src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        rc = key_from_row(q, k);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

static int fingerprint(EVP_MD_CTX *md, const unsigned char *spki, size_t len,
                       char out[P11KMS_AUDIT_FPR_LEN + 1])
{
    unsigned char h[P11KMS_AUDIT_HASH_LEN];

    if (!p11kms_audit_sha256(md, spki, len, h))
        return 0;
    p11kms_audit_hex(h, sizeof(h), out);
    return 1;
}

static int key_aad(p11kms_buf *b, const char *fpr)
{
    p11kms_buf_reset(b);
    p11kms_buf_append_lp_str(b, P11KMS_AUDIT_KEY_AAD);
    p11kms_buf_append_lp_str(b, fpr);
    return p11kms_buf_ok(b);
}

/* Generates a key and inserts it (inside a write transaction). */
static p11kms_store_rc key_create(p11kms_audit_state *s, audit_key *k)
{
    p11kms_crypto_pkey *pk = p11kms_crypto_pkey_generate_ec(P11KMS_CURVE_P256);
    unsigned char *priv = NULL, *pub = NULL, *wrapped = NULL;
    size_t privlen = 0, publen = 0, wlen = 0;
    char fpr[P11KMS_AUDIT_FPR_LEN + 1];
    p11kms_buf aad = P11KMS_BUF_INIT;
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = NULL;
    int src;

    if (pk == NULL || !p11kms_crypto_pkey_private_der(pk, &priv, &privlen) ||
        !p11kms_crypto_pkey_public_der(pk, &pub, &publen) ||
        !fingerprint(s->md, pub, publen, fpr) || !key_aad(&aad, fpr))
        goto done;
    rc = p11kms_store_wrap(s->st, aad.data, aad.len, priv, privlen, &wrapped, &wlen);
    if (rc != P11KMS_STORE_OK)
        goto done;
    q = p11kms_audit_stmt(s, AST_KEY_INSERT, &rc);
    if (q == NULL || sqlite3_bind_blob(q, 1, pub, (int)publen, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(q, 2, fpr, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(q, 3, wrapped, (int)wlen, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 4, p11kms_time_now_ms()) != SQLITE_OK)
        goto done;
    src = sqlite3_step(q);
    rc = src == SQLITE_DONE ? P11KMS_STORE_OK : p11kms_store_rc_from_sqlite(src);
    p11kms_audit_stmt_done(q);
    if (rc == P11KMS_STORE_OK)
        rc = key_load(s, 0, k);
done:
    p11kms_crypto_pkey_free(pk);
    p11kms_crypto_free_secret(priv, privlen);
    OPENSSL_free(pub);
    free(wrapped);
    p11kms_buf_free(&aad);
    return rc;
}

/* Retires the active key (it no longer unwraps) and says so in the chain:
 * a verifier holding the old fingerprint sees why seals changed key. */
static p11kms_store_rc key_retire(p11kms_audit_state *s, const char *old_fpr)
{
    char resp[128];
    p11kms_audit_anchor head;
    p11kms_buf scratch = P11KMS_BUF_INIT;
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_KEY_RETIRE, &rc);
    int src = q ? sqlite3_step(q) : SQLITE_ERROR;

    if (q != NULL)
        rc = src == SQLITE_DONE ? P11KMS_STORE_OK : p11kms_store_rc_from_sqlite(src);
    p11kms_audit_stmt_done(q);
    snprintf(resp, sizeof(resp), "{\"retiredKeyFingerprint\":\"%s\"}", old_fpr);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_chain_head(s, &head);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_service_event(s, &head, &scratch, "AuditSigningKeyReplaced", resp, NULL,
                                        NULL);
    p11kms_buf_free(&scratch);
    return rc;
}

/* The private half of k, parsed; NULL with *rc on failure. */
static p11kms_crypto_pkey *key_private(p11kms_audit_state *s, const audit_key *k,
                                       p11kms_store_rc *rc)
{
    unsigned char der[PKCS8_MAX];
    size_t len = 0;
    p11kms_buf aad = P11KMS_BUF_INIT;
    p11kms_crypto_pkey *pk = NULL;

    *rc = P11KMS_STORE_NOMEM;
    if (!key_aad(&aad, k->fpr))
        goto done;
    *rc = p11kms_store_unwrap(s->st, aad.data, aad.len, k->wrapped, k->wrapped_len, der,
                              sizeof(der), &len);
    if (*rc != P11KMS_STORE_OK)
        goto done;
    pk = p11kms_crypto_pkey_from_der(der, len, 1);
    *rc = pk ? P11KMS_STORE_OK : P11KMS_STORE_CRYPTO;
done:
    OPENSSL_cleanse(der, sizeof(der));
    p11kms_buf_free(&aad);
    return pk;
}

int p11kms_audit_seal_message(p11kms_buf *b, const p11kms_audit_seal *seal)
{
    p11kms_buf_reset(b);
    p11kms_buf_append_lp_str(b, P11KMS_AUDIT_SEAL_LABEL);
    p11kms_buf_append_u64be(b, seal->seq);
    p11kms_buf_append_lp(b, seal->hash, P11KMS_AUDIT_HASH_LEN);
    p11kms_buf_append_u64be(b, (uint64_t)seal->time_ms);
    p11kms_buf_append_lp(b, seal->prev_seal, P11KMS_AUDIT_HASH_LEN);
    p11kms_buf_append_lp_str(b, seal->fingerprint);
    return p11kms_buf_ok(b);
}

int p11kms_audit_seal_digest(EVP_MD_CTX *ctx, const p11kms_audit_seal *seal,
                             unsigned char out[P11KMS_AUDIT_HASH_LEN])
{
    p11kms_buf b = P11KMS_BUF_INIT;
    int ok = p11kms_audit_seal_message(&b, seal) &&
             p11kms_buf_append_lp(&b, seal->sig, seal->sig_len) &&
             p11kms_audit_sha256(ctx, b.data, b.len, out);

    p11kms_buf_free(&b);
    return ok;
}

static int copy_blob(sqlite3_stmt *q, int col, unsigned char *out, size_t want)
{
    const void *p = sqlite3_column_blob(q, col);

    if (p == NULL || (size_t)sqlite3_column_bytes(q, col) != want)
        return 0;
    memcpy(out, p, want);
    return 1;
}

/* Row of AST_SEAL_LIST / AST_SEAL_LAST shape; col 4 = fingerprint text
 * (list) or key id (last, fingerprint left empty). */
p11kms_store_rc p11kms_audit_seal_from_row(sqlite3_stmt *q, p11kms_audit_seal *out, int64_t *key_id)
{
    const unsigned char *fpr = sqlite3_column_text(q, 4);
    size_t siglen = (size_t)sqlite3_column_bytes(q, 5);

    memset(out, 0, sizeof(*out));
    out->seq = (uint64_t)sqlite3_column_int64(q, 0);
    out->time_ms = sqlite3_column_int64(q, 2);
    if (key_id != NULL)
        *key_id = sqlite3_column_int64(q, 4);
    else if (fpr != NULL && sqlite3_column_bytes(q, 4) == P11KMS_AUDIT_FPR_LEN)
        memcpy(out->fingerprint, fpr, P11KMS_AUDIT_FPR_LEN + 1);
    if (!copy_blob(q, 1, out->hash, P11KMS_AUDIT_HASH_LEN) ||
        !copy_blob(q, 3, out->prev_seal, P11KMS_AUDIT_HASH_LEN) || siglen > sizeof(out->sig) ||
        !copy_blob(q, 5, out->sig, siglen))
        return P11KMS_STORE_CORRUPT;
    out->sig_len = siglen;
    return P11KMS_STORE_OK;
}

static p11kms_store_rc seal_last(p11kms_audit_state *s, p11kms_audit_seal *last, int *found)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_SEAL_LAST, &rc);
    int64_t key_id = 0;
    audit_key k;
    int src;

    *found = 0;
    if (q == NULL)
        goto done;
    src = sqlite3_step(q);
    rc = src == SQLITE_ROW    ? p11kms_audit_seal_from_row(q, last, &key_id)
         : src == SQLITE_DONE ? P11KMS_STORE_OK
                              : p11kms_store_rc_from_sqlite(src);
    *found = src == SQLITE_ROW;
    p11kms_audit_stmt_done(q);
    if (rc == P11KMS_STORE_OK && *found && key_load(s, key_id, &k) == P11KMS_STORE_OK) {
        memcpy(last->fingerprint, k.fpr, sizeof(k.fpr));
        key_clear(&k);
    }
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

/* Time of the oldest record not covered by the last seal. */
static int64_t first_unsealed_time(p11kms_audit_state *s, uint64_t after)
{
    p11kms_store_rc rc;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_FIRST_UNSEALED, &rc);
    int64_t t = INT64_MAX;

    if (q != NULL && sqlite3_bind_int64(q, 1, (sqlite3_int64)after) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        t = sqlite3_column_int64(q, 0);
    p11kms_audit_stmt_done(q);
    return t;
}

static int seal_due(p11kms_audit_state *s, const p11kms_audit_anchor *head, uint64_t last_seq)
{
    uint32_t n = p11kms_audit_seal_records(s), m = p11kms_audit_seal_minutes(s);
    int64_t t;

    if (n != P11KMS_AUDIT_SEAL_NEVER && head->seq - last_seq >= n)
        return 1;
    if (m == P11KMS_AUDIT_SEAL_NEVER)
        return 0;
    t = first_unsealed_time(s, last_seq);
    return t != INT64_MAX && p11kms_time_now_ms() - t >= (int64_t)m * 60000;
}

static p11kms_store_rc seal_insert(p11kms_audit_state *s, const p11kms_audit_seal *seal,
                                   int64_t key_id)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_SEAL_INSERT, &rc);
    int src;

    if (q == NULL || sqlite3_bind_int64(q, 1, (sqlite3_int64)seal->seq) != SQLITE_OK ||
        sqlite3_bind_blob(q, 2, seal->hash, P11KMS_AUDIT_HASH_LEN, SQLITE_STATIC) ||
        sqlite3_bind_int64(q, 3, seal->time_ms) ||
        sqlite3_bind_blob(q, 4, seal->prev_seal, P11KMS_AUDIT_HASH_LEN, SQLITE_STATIC) ||
        sqlite3_bind_int64(q, 5, key_id) ||
        sqlite3_bind_blob(q, 6, seal->sig, (int)seal->sig_len, SQLITE_STATIC))
        goto done;
    src = sqlite3_step(q);
    rc = src == SQLITE_DONE ? P11KMS_STORE_OK : p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

/* Signs head with the active key (created if missing) and stores the seal. */
static p11kms_store_rc seal_write(p11kms_audit_state *s, const p11kms_audit_anchor *head,
                                  const p11kms_audit_seal *last, int have_last,
                                  p11kms_audit_seal *seal)
{
    audit_key k;
    p11kms_audit_anchor now;
    p11kms_crypto_pkey *pk = NULL;
    p11kms_buf msg = P11KMS_BUF_INIT;
    p11kms_store_rc rc = key_load(s, 0, &k);

    if (rc == P11KMS_STORE_NOTFOUND)
        rc = key_create(s, &k);
    if (rc != P11KMS_STORE_OK)
        goto done;
    pk = key_private(s, &k, &rc);
    if (pk == NULL && rc == P11KMS_STORE_CRYPTO) {
        /* wrapped under an earlier root key (the token was re-initialised):
         * retire it and continue the seal chain with a new key */
        rc = key_retire(s, k.fpr);
        key_clear(&k);
        if (rc == P11KMS_STORE_OK)
            rc = key_create(s, &k);
        pk = rc == P11KMS_STORE_OK ? key_private(s, &k, &rc) : NULL;
        if (pk != NULL)
            rc = p11kms_audit_chain_head(s, &now); /* the event moved the head */
        if (rc != P11KMS_STORE_OK)
            goto done;
        head = &now;
    }
    if (pk == NULL)
        goto done;
    memset(seal, 0, sizeof(*seal));
    seal->seq = head->seq;
    memcpy(seal->hash, head->hash, P11KMS_AUDIT_HASH_LEN);
    seal->time_ms = p11kms_time_now_ms();
    memcpy(seal->fingerprint, k.fpr, sizeof(k.fpr));
    seal->sig_len = sizeof(seal->sig);
    rc = P11KMS_STORE_INTERNAL;
    if ((have_last && !p11kms_audit_seal_digest(s->md, last, seal->prev_seal)) ||
        !p11kms_audit_seal_message(&msg, seal) ||
        !p11kms_crypto_sign(pk, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_RAW, msg.data, msg.len,
                            seal->sig, &seal->sig_len))
        goto done;
    rc = seal_insert(s, seal, k.id);
done:
    p11kms_crypto_pkey_free(pk);
    p11kms_buf_free(&msg);
    key_clear(&k);
    return rc;
}

p11kms_store_rc p11kms_audit_seal_if_due(p11kms_audit_state *s, int force, p11kms_audit_seal *out)
{
    p11kms_audit_anchor head, base;
    p11kms_audit_seal last, seal;
    int have_last = 0;
    p11kms_store_rc rc = p11kms_audit_chain_head(s, &head);

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_chain_base(s, &base);
    if (rc == P11KMS_STORE_OK)
        rc = seal_last(s, &last, &have_last);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (head.seq == base.seq || (have_last && last.seq == head.seq)) {
        /* nothing new to seal */
        rc = !force ? P11KMS_STORE_OK : have_last ? P11KMS_STORE_OK : P11KMS_STORE_NOTFOUND;
        if (force && have_last && out != NULL)
            *out = last;
        goto done;
    }
    if (!force && !seal_due(s, &head, have_last ? last.seq : base.seq))
        goto done;
    if (p11kms_store_logged_in(s->st) == P11KMS_STORE_USER_NONE) {
        rc = force ? P11KMS_STORE_NOT_LOGGED_IN : P11KMS_STORE_OK; /* deferred */
        goto done;
    }
    rc = seal_write(s, &head, &last, have_last, &seal);
    if (rc == P11KMS_STORE_OK && out != NULL)
        *out = seal;
done:
    return rc;
}

p11kms_store_rc p11kms_store_audit_seal(p11kms_store *st, p11kms_audit_seal *out)
{
    p11kms_audit_state *s = NULL;
    p11kms_store_rc rc = st ? p11kms_audit_state_get(st, &s) : P11KMS_STORE_INVALID;

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_flush_ex(s, 1, 1, out);
    return rc;
}

typedef struct ensure_ctx {
    p11kms_audit_state *s;
    audit_key k;
} ensure_ctx;

/* Inside a write transaction: the active key, replaced by a new one if it
 * is missing or wrapped under another root key (token re-initialised). */
static p11kms_store_rc ensure_cb(p11kms_store *st, void *arg)
{
    ensure_ctx *e = arg;
    p11kms_crypto_pkey *pk = NULL;
    p11kms_store_rc rc = key_load(e->s, 0, &e->k);

    (void)st;
    if (rc == P11KMS_STORE_OK) {
        pk = key_private(e->s, &e->k, &rc);
        if (rc == P11KMS_STORE_CRYPTO) {
            rc = key_retire(e->s, e->k.fpr);
            key_clear(&e->k);
            if (rc == P11KMS_STORE_OK)
                rc = P11KMS_STORE_NOTFOUND;
        }
    }
    if (rc == P11KMS_STORE_NOTFOUND)
        rc = key_create(e->s, &e->k);
    p11kms_crypto_pkey_free(pk);
    return rc;
}

p11kms_store_rc p11kms_store_audit_key_ensure(p11kms_store *st, char fpr[P11KMS_AUDIT_FPR_LEN + 1])
{
    ensure_ctx e;
    p11kms_store_rc rc;

    memset(&e, 0, sizeof(e));
    rc = st && fpr ? p11kms_audit_state_get(st, &e.s) : P11KMS_STORE_INVALID;
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (p11kms_store_logged_in(st) != P11KMS_STORE_USER_NONE)
        rc = p11kms_store_atomic(st, ensure_cb, &e);
    else if ((rc = key_load(e.s, 0, &e.k)) == P11KMS_STORE_NOTFOUND)
        rc = P11KMS_STORE_NOT_LOGGED_IN;
    if (rc == P11KMS_STORE_OK)
        memcpy(fpr, e.k.fpr, P11KMS_AUDIT_FPR_LEN + 1);
done:
    key_clear(&e.k);
    return rc;
}

p11kms_store_rc p11kms_store_audit_key_public(p11kms_store *st, char fpr[P11KMS_AUDIT_FPR_LEN + 1],
                                              unsigned char **spki, size_t *spki_len)
{
    p11kms_audit_state *s = NULL;
    audit_key k;
    p11kms_store_rc rc = st ? p11kms_audit_state_get(st, &s) : P11KMS_STORE_INVALID;

    memset(&k, 0, sizeof(k));
    if (rc == P11KMS_STORE_OK)
        rc = key_load(s, 0, &k);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (fpr != NULL)
        memcpy(fpr, k.fpr, sizeof(k.fpr));
    if (spki != NULL) {
        *spki = k.spki;
        *spki_len = k.spki_len;
        k.spki = NULL;
    }
done:
    key_clear(&k);
    return rc;
}

p11kms_store_rc p11kms_store_audit_seal_list(p11kms_store *st, uint64_t from_seq, size_t limit,
                                             p11kms_audit_seal **out, size_t *count)
{
    p11kms_audit_state *s = NULL;
    p11kms_audit_seal *v = NULL;
    sqlite3_stmt *q = NULL;
    size_t n = 0;
    int src = SQLITE_DONE;
    p11kms_store_rc rc = st && out && count ? p11kms_audit_state_get(st, &s) : P11KMS_STORE_INVALID;

    if (rc != P11KMS_STORE_OK)
        goto done;
    limit = limit == 0 || limit > 100000 ? 1000 : limit;
    rc = P11KMS_STORE_NOMEM;
    v = calloc(limit, sizeof(*v));
    q = v ? p11kms_audit_stmt(s, AST_SEAL_LIST, &rc) : NULL;
    if (q == NULL || sqlite3_bind_int64(q, 1, (sqlite3_int64)from_seq) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (sqlite3_int64)limit) != SQLITE_OK)
        goto done;
    rc = P11KMS_STORE_OK;
    while (rc == P11KMS_STORE_OK && (src = sqlite3_step(q)) == SQLITE_ROW)
        rc = p11kms_audit_seal_from_row(q, &v[n++], NULL);
    if (rc == P11KMS_STORE_OK && src != SQLITE_DONE)
        rc = p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    if (rc != P11KMS_STORE_OK) {
        free(v);
        v = NULL;
        n = 0;
    }
    if (out != NULL)
        *out = v;
    if (count != NULL)
        *count = n;
    return rc;
}

static int doc_message(p11kms_buf *b, const char *context, const unsigned char *msg, size_t msglen)
{
    p11kms_buf_append_lp_str(b, P11KMS_AUDIT_DOC_LABEL);
    p11kms_buf_append_lp_str(b, context ? context : "");
    p11kms_buf_append_lp(b, msg, msglen);
    return p11kms_buf_ok(b);
}

p11kms_store_rc p11kms_store_audit_sign_document(p11kms_store *st, const char *context,
                                                 const unsigned char *msg, size_t msglen,
                                                 unsigned char **sig, size_t *siglen,
                                                 char fpr[P11KMS_AUDIT_FPR_LEN + 1])
{
    p11kms_audit_state *s = NULL;
    audit_key k;
    p11kms_crypto_pkey *pk = NULL;
    p11kms_buf b = P11KMS_BUF_INIT;
    p11kms_store_rc rc =
        st && sig && siglen ? p11kms_audit_state_get(st, &s) : P11KMS_STORE_INVALID;

    memset(&k, 0, sizeof(k));
    if (sig != NULL)
        *sig = NULL;
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = key_load(s, 0, &k);
    pk = rc == P11KMS_STORE_OK ? key_private(s, &k, &rc) : NULL;
    if (pk == NULL)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    *siglen = p11kms_crypto_pkey_sig_max(pk);
    *sig = malloc(*siglen);
    if (*sig == NULL || !doc_message(&b, context, msg, msglen))
        goto done;
    rc = P11KMS_STORE_INTERNAL;
    if (!p11kms_crypto_sign(pk, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_RAW, b.data, b.len, *sig,
                            siglen))
        goto done;
    if (fpr != NULL)
        memcpy(fpr, k.fpr, sizeof(k.fpr));
    rc = P11KMS_STORE_OK;
done:
    if (rc != P11KMS_STORE_OK && sig != NULL && s != NULL) {
        free(*sig);
        *sig = NULL;
    }
    p11kms_crypto_pkey_free(pk);
    p11kms_buf_free(&b);
    key_clear(&k);
    return rc;
}

int p11kms_audit_verify_document(const unsigned char *spki, size_t spki_len, const char *context,
                                 const unsigned char *msg, size_t msglen, const unsigned char *sig,
                                 size_t siglen)
{
    p11kms_crypto_pkey *pk = p11kms_crypto_pkey_from_der(spki, spki_len, 0);
    p11kms_buf b = P11KMS_BUF_INIT;
    int ok = pk != NULL && doc_message(&b, context, msg, msglen) &&
             p11kms_crypto_verify(pk, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_RAW, b.data, b.len, sig,
                                  siglen);

    p11kms_crypto_pkey_free(pk);
    p11kms_buf_free(&b);
    return ok;
}

p11kms_store_rc p11kms_audit_seal_check(p11kms_audit_state *s, p11kms_audit_seal *seal,
                                        int64_t key_id, int check_priv, int *valid,
                                        int *priv_checked)
{
    audit_key k;
    char fpr[P11KMS_AUDIT_FPR_LEN + 1];
    p11kms_crypto_pkey *pub = NULL, *priv = NULL;
    unsigned char *der = NULL;
    size_t derlen = 0;
    p11kms_buf msg = P11KMS_BUF_INIT;
    p11kms_store_rc rc = key_load(s, key_id, &k);

    *valid = 0;
    seal->fingerprint[0] = '\0';
    if (rc == P11KMS_STORE_NOTFOUND) {
        rc = P11KMS_STORE_OK; /* a seal by a missing key is simply bad */
        goto done;
    }
    if (rc != P11KMS_STORE_OK)
        goto done;
    memcpy(seal->fingerprint, k.fpr, sizeof(k.fpr));
    rc = P11KMS_STORE_NOMEM;
    if (!fingerprint(s->md, k.spki, k.spki_len, fpr) || !p11kms_audit_seal_message(&msg, seal))
        goto done;
    rc = P11KMS_STORE_OK;
    pub = p11kms_crypto_pkey_from_der(k.spki, k.spki_len, 0);
    *valid = pub != NULL && strcmp(fpr, k.fpr) == 0 &&
             p11kms_crypto_verify(pub, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_RAW, msg.data, msg.len,
                                  seal->sig, seal->sig_len);
    /* only the active key must unwrap: a retired one may be wrapped under
     * the root key of an earlier token initialisation */
    if (*valid && check_priv && k.active &&
        p11kms_store_logged_in(s->st) != P11KMS_STORE_USER_NONE) {
        /* the private half must unwrap under the root key and match */
        priv = key_private(s, &k, &rc);
        *valid = priv != NULL && p11kms_crypto_pkey_public_der(priv, &der, &derlen) &&
                 derlen == k.spki_len && memcmp(der, k.spki, derlen) == 0;
        *priv_checked = 1;
        rc = P11KMS_STORE_OK;
    }
done:
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(priv);
    OPENSSL_free(der);
    p11kms_buf_free(&msg);
    key_clear(&k);
    return rc;
}
