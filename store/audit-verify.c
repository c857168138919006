/*
 * store/audit-verify.c - walking the chain and the seals.
 *
 * One pass in seq order inside one read transaction, holding only the
 * current row, a one-row lookahead and the two previous hashes (constant
 * memory).  Each record's hash is recomputed from its columns and its
 * stored prev_hash; the first row that fails is classified by what still
 * links to what (docs/audit-format.md, "Verification"):
 *
 *   seq gap                                     -> DELETED at the first missing seq
 *   own hash wrong, link from predecessor fine  -> MODIFIED
 *   link broken and
 *     it links to the next row's hash           -> REORDERED (adjacent swap)
 *     the next row links to our predecessor     -> INSERTED (this row is extra)
 *     it links to the row two back              -> INSERTED (the previous one)
 *     a later row holds the hash it links to, or
 *       links to our predecessor                -> REORDERED
 *     its content hashes under seq+d / seq-d    -> DELETED / INSERTED with renumbering
 *     it is the last row                        -> INSERTED (appended forgery)
 *     its own hash is right                     -> MODIFIED (predecessor rewritten)
 *     otherwise                                 -> MODIFIED
 *
 * Seals are checked when the walk reaches their seq; one that signs a
 * different hash than the chain holds means the records since the previous
 * seal were rewritten with recomputed hashes (MODIFIED over that range).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/audit-internal.h"

#define PROGRESS_EVERY 65536u
#define SHIFT_MAX      16u

typedef struct vrow {
    int valid;
    uint64_t seq;
    unsigned char prev[P11KMS_AUDIT_HASH_LEN]; /* stored */
    unsigned char hash[P11KMS_AUDIT_HASH_LEN]; /* stored */
    int self_ok;                               /* recomputed == stored */
    p11kms_buf body;
} vrow;

typedef struct walker {
    p11kms_audit_state *s;
    const p11kms_audit_verify_opts *o;
    p11kms_audit_verify_result *res;
    sqlite3_stmt *recs, *seals;
    vrow rows[2];
    int cur;
    unsigned char prevhash[P11KMS_AUDIT_HASH_LEN]; /* stored hash of row k-1 */
    unsigned char pphash[P11KMS_AUDIT_HASH_LEN];   /* of row k-2 */
    int have_pp;
    uint64_t expected, total, last_seal_seq;
    /* seal cursor */
    int seal_valid;
    p11kms_audit_seal seal;
    int64_t seal_key;
    int have_prev_seal;
    int skip_link; /* the base seal after an archive: its predecessor is gone */
    unsigned char prev_seal_digest[P11KMS_AUDIT_HASH_LEN];
    int64_t priv_checked_key;
    int done; /* a problem was reported */
} walker;

static p11kms_audit_str col_str(sqlite3_stmt *q, int col)
{
    p11kms_audit_str v = {NULL, 0, 0};

    if (sqlite3_column_type(q, col) != SQLITE_NULL) {
        v.p = (const char *)sqlite3_column_text(q, col);
        v.len = (size_t)sqlite3_column_bytes(q, col);
        v.present = v.p != NULL;
    }
    return v;
}

void p11kms_audit_fields_from_row(sqlite3_stmt *q, p11kms_audit_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->event_id = col_str(q, 1);
    f->event_time_ms = sqlite3_column_int64(q, 2);
    f->event_name = col_str(q, 3);
    f->event_type = (uint8_t)sqlite3_column_int(q, 4);
    f->management = (uint8_t)sqlite3_column_int(q, 5);
    f->read_only = (uint8_t)sqlite3_column_int(q, 6);
    f->uid = (uint32_t)sqlite3_column_int64(q, 7);
    f->gid = (uint32_t)sqlite3_column_int64(q, 8);
    f->pid = (int32_t)sqlite3_column_int64(q, 9);
    f->user = col_str(q, 10);
    f->executable = col_str(q, 11);
    f->key_id = col_str(q, 12);
    f->key_version = (uint32_t)sqlite3_column_int64(q, 13);
    f->request_json = col_str(q, 14);
    f->response_json = col_str(q, 15);
    f->error_code = col_str(q, 16);
    f->error_message = col_str(q, 17);
}

static void copy_hash(sqlite3_stmt *q, int col, unsigned char *out)
{
    const void *p = sqlite3_column_blob(q, col);

    /* a malformed hash column compares unequal to everything real */
    if (p != NULL && sqlite3_column_bytes(q, col) == P11KMS_AUDIT_HASH_LEN)
        memcpy(out, p, P11KMS_AUDIT_HASH_LEN);
    else
        memset(out, 0xff, P11KMS_AUDIT_HASH_LEN);
}

/* Reads the next row into r (r->valid = 0 at the end). */
static p11kms_store_rc read_row(walker *w, vrow *r)
{
    p11kms_audit_fields f;
    unsigned char calc[P11KMS_AUDIT_HASH_LEN];
    int src = sqlite3_step(w->recs);

    r->valid = 0;
    if (src == SQLITE_DONE)
        return P11KMS_STORE_OK;
    if (src != SQLITE_ROW)
        return p11kms_store_rc_from_sqlite(src);
    r->valid = 1;
    r->seq = (uint64_t)sqlite3_column_int64(w->recs, 0);
    copy_hash(w->recs, 18, r->prev);
    copy_hash(w->recs, 19, r->hash);
    p11kms_audit_fields_from_row(w->recs, &f);
    p11kms_buf_reset(&r->body);
    if (!p11kms_audit_encode_body(&r->body, &f) ||
        !p11kms_audit_chain_hash(w->s->md, r->seq, r->body.data, r->body.len, r->prev, calc))
        return P11KMS_STORE_NOMEM;
    r->self_ok = memcmp(calc, r->hash, sizeof(calc)) == 0;
    return P11KMS_STORE_OK;
}

__attribute__((format(printf, 5, 6))) static void
report(walker *w, p11kms_audit_problem p, uint64_t seq, uint64_t seq_end, const char *fmt, ...)
{
    va_list ap;

    w->res->problem = p;
    w->res->seq = seq;
    w->res->seq_end = seq_end ? seq_end : seq;
    va_start(ap, fmt);
    vsnprintf(w->res->detail, sizeof(w->res->detail), fmt, ap);
    va_end(ap);
    w->done = 1;
}

/* A later row holding the hash r links to, or linking to our predecessor. */
static p11kms_store_rc search_later(walker *w, const vrow *r, int *found)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(w->s, AST_VERIFY_SEARCH, &rc);
    int src;

    *found = 0;
    if (q == NULL || sqlite3_bind_int64(q, 1, (sqlite3_int64)r->seq) != SQLITE_OK ||
        sqlite3_bind_blob(q, 2, r->prev, P11KMS_AUDIT_HASH_LEN, SQLITE_STATIC) ||
        sqlite3_bind_blob(q, 3, w->prevhash, P11KMS_AUDIT_HASH_LEN, SQLITE_STATIC))
        goto done;
    src = sqlite3_step(q);
    *found = src == SQLITE_ROW;
    rc = src == SQLITE_ROW || src == SQLITE_DONE ? P11KMS_STORE_OK
                                                 : p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

/* Does r's content hash correctly under another seq?  Returns the signed
 * shift d (content belongs at seq + d), 0 if none within SHIFT_MAX. */
static int64_t seq_shift(walker *w, const vrow *r)
{
    unsigned char calc[P11KMS_AUDIT_HASH_LEN];
    uint64_t d;

    for (d = 1; d <= SHIFT_MAX; d++) {
        if (p11kms_audit_chain_hash(w->s->md, r->seq + d, r->body.data, r->body.len, r->prev,
                                    calc) &&
            memcmp(calc, r->hash, sizeof(calc)) == 0)
            return (int64_t)d;
        if (r->seq > d &&
            p11kms_audit_chain_hash(w->s->md, r->seq - d, r->body.data, r->body.len, r->prev,
                                    calc) &&
            memcmp(calc, r->hash, sizeof(calc)) == 0)
            return -(int64_t)d;
    }
    return 0;
}

/* Classifies a row whose link to its predecessor is broken. */
static p11kms_store_rc classify_link(walker *w, const vrow *r, const vrow *nx)
{
    int found = 0;
    int64_t d;
    p11kms_store_rc rc = P11KMS_STORE_OK;

    if (nx->valid && memcmp(r->prev, nx->hash, P11KMS_AUDIT_HASH_LEN) == 0) {
        report(w, P11KMS_AUDIT_REORDERED, r->seq, nx->seq,
               "records %" PRIu64 " and %" PRIu64 " are swapped", r->seq, nx->seq);
    } else if (nx->valid && memcmp(nx->prev, w->prevhash, P11KMS_AUDIT_HASH_LEN) == 0) {
        report(w, P11KMS_AUDIT_INSERTED, r->seq, 0,
               "record %" PRIu64 " was inserted (its successor links past it)", r->seq);
    } else if (w->have_pp && memcmp(r->prev, w->pphash, P11KMS_AUDIT_HASH_LEN) == 0) {
        report(w, P11KMS_AUDIT_INSERTED, r->seq - 1, 0,
               "record %" PRIu64 " was inserted (record %" PRIu64 " links past it)", r->seq - 1,
               r->seq);
    } else if ((rc = search_later(w, r, &found)) == P11KMS_STORE_OK && found) {
        report(w, P11KMS_AUDIT_REORDERED, r->seq, 0,
               "record %" PRIu64 " is out of order (it links to a later record)", r->seq);
    } else if (rc != P11KMS_STORE_OK) {
        /* error already in rc */
    } else if (!r->self_ok && (d = seq_shift(w, r)) != 0) {
        if (d > 0)
            report(w, P11KMS_AUDIT_DELETED, r->seq, r->seq + (uint64_t)d - 1,
                   "%" PRIu64 " record(s) deleted before record %" PRIu64
                   " and the rest renumbered",
                   (uint64_t)d, r->seq);
        else
            report(w, P11KMS_AUDIT_INSERTED, r->seq + (uint64_t)d, r->seq - 1,
                   "%" PRIu64 " record(s) inserted before record %" PRIu64
                   " and the rest renumbered",
                   (uint64_t)(-d), r->seq);
    } else if (!nx->valid) {
        report(w, P11KMS_AUDIT_INSERTED, r->seq, 0,
               "record %" PRIu64 " does not link to the chain (appended forgery)", r->seq);
    } else if (r->self_ok) {
        report(w, P11KMS_AUDIT_MODIFIED, r->seq - 1, 0,
               "record %" PRIu64 " was modified and its hash recomputed (record %" PRIu64
               " still links to the original)",
               r->seq - 1, r->seq);
    } else {
        report(w, P11KMS_AUDIT_MODIFIED, r->seq, 0,
               "record %" PRIu64 " was modified (its link field)", r->seq);
    }
    return rc;
}

static p11kms_store_rc check_row(walker *w, const vrow *r, const vrow *nx)
{
    if (r->seq != w->expected) {
        report(w, P11KMS_AUDIT_DELETED, w->expected, r->seq - 1,
               "records %" PRIu64 "..%" PRIu64 " are missing", w->expected, r->seq - 1);
        return P11KMS_STORE_OK;
    }
    if (memcmp(r->prev, w->prevhash, P11KMS_AUDIT_HASH_LEN) != 0)
        return classify_link(w, r, nx);
    if (!r->self_ok)
        report(w, P11KMS_AUDIT_MODIFIED, r->seq, 0,
               "record %" PRIu64 " was modified (hash mismatch)", r->seq);
    return P11KMS_STORE_OK;
}

static p11kms_store_rc next_seal(walker *w)
{
    int src = sqlite3_step(w->seals);

    w->seal_valid = 0;
    if (src == SQLITE_DONE)
        return P11KMS_STORE_OK;
    if (src != SQLITE_ROW)
        return p11kms_store_rc_from_sqlite(src);
    w->seal_valid = 1;
    return p11kms_audit_seal_from_row(w->seals, &w->seal, &w->seal_key);
}

/* Verifies the seal at the cursor against a chain hash at its seq. */
static p11kms_store_rc check_seal(walker *w, const unsigned char *chain_hash)
{
    p11kms_audit_seal *sl = &w->seal;
    const char *want = w->o->expected_fingerprint;
    int valid = 0, priv = 0, check_priv = w->seal_key != w->priv_checked_key;
    uint64_t from = w->last_seal_seq + 1; /* base seq until the first seal */
    p11kms_store_rc rc = p11kms_audit_seal_check(w->s, sl, w->seal_key, check_priv, &valid, &priv);

    if (rc != P11KMS_STORE_OK)
        return rc;
    if (priv)
        w->priv_checked_key = w->seal_key;
    w->res->key_checked_private |= priv;
    if (!valid || (want != NULL && strcmp(want, sl->fingerprint) != 0))
        report(w, P11KMS_AUDIT_BAD_SEAL, sl->seq, 0,
               "the seal at record %" PRIu64 " has an invalid signature or key", sl->seq);
    else if (!w->skip_link &&
             memcmp(sl->prev_seal,
                    w->have_prev_seal ? w->prev_seal_digest : (const unsigned char[32]){0},
                    P11KMS_AUDIT_HASH_LEN) != 0)
        report(w, P11KMS_AUDIT_BAD_SEAL, sl->seq, 0,
               "the seal at record %" PRIu64 " does not link to the previous seal (at %" PRIu64 ")",
               sl->seq, w->last_seal_seq);
    else if (memcmp(sl->hash, chain_hash, P11KMS_AUDIT_HASH_LEN) != 0)
        report(w, P11KMS_AUDIT_MODIFIED, from, sl->seq,
               "records %" PRIu64 "..%" PRIu64
               " were rewritten with recomputed hashes (the seal signs another head)",
               from, sl->seq);
    if (w->done)
        return P11KMS_STORE_OK;
    if (!p11kms_audit_seal_digest(w->s->md, sl, w->prev_seal_digest))
        return P11KMS_STORE_NOMEM;
    w->have_prev_seal = 1;
    w->skip_link = 0;
    w->last_seal_seq = sl->seq;
    w->res->seals++;
    return next_seal(w);
}

/* Seals up to and including seq (the walk has verified records up to seq,
 * whose stored hash is chain_hash). */
static p11kms_store_rc seals_upto(walker *w, uint64_t seq, const unsigned char *chain_hash)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;

    while (rc == P11KMS_STORE_OK && !w->done && w->seal_valid && w->seal.seq <= seq) {
        if (w->seal.seq < seq) {
            /* a seal on a seq the walk did not stop at: its record is gone */
            report(w, P11KMS_AUDIT_BAD_SEAL, w->seal.seq, 0,
                   "a seal names record %" PRIu64 " which is not in the chain", w->seal.seq);
            break;
        }
        rc = check_seal(w, chain_hash);
    }
    return rc;
}

static void anchor_check(walker *w, const vrow *r)
{
    const p11kms_audit_anchor *a = w->o->anchor;

    if (a != NULL && r->seq == a->seq && memcmp(r->hash, a->hash, P11KMS_AUDIT_HASH_LEN) != 0)
        report(w, P11KMS_AUDIT_TRUNCATED, a->seq, 0,
               "the chain differs from the anchor at record %" PRIu64 " (cut back and regrown)",
               a->seq);
}

static p11kms_store_rc walk(walker *w)
{
    vrow *r, *nx;
    p11kms_store_rc rc = read_row(w, &w->rows[0]);

    while (rc == P11KMS_STORE_OK && !w->done && w->rows[w->cur].valid) {
        r = &w->rows[w->cur];
        nx = &w->rows[w->cur ^ 1];
        rc = read_row(w, nx);
        if (rc == P11KMS_STORE_OK)
            rc = check_row(w, r, nx);
        if (rc != P11KMS_STORE_OK || w->done)
            break;
        anchor_check(w, r);
        if (!w->done)
            rc = seals_upto(w, r->seq, r->hash);
        memcpy(w->pphash, w->prevhash, P11KMS_AUDIT_HASH_LEN);
        w->have_pp = 1;
        memcpy(w->prevhash, r->hash, P11KMS_AUDIT_HASH_LEN);
        w->res->head.seq = r->seq;
        memcpy(w->res->head.hash, r->hash, P11KMS_AUDIT_HASH_LEN);
        w->expected = r->seq + 1;
        if (++w->res->records % PROGRESS_EVERY == 0 && w->o->progress != NULL)
            w->o->progress(w->res->records, w->total, w->o->progress_arg);
        w->cur ^= 1;
    }
    return rc;
}

/* After the walk: seals or an anchor beyond the end, unsealed tail. */
static void finish(walker *w)
{
    const p11kms_audit_anchor *a = w->o->anchor;
    uint64_t end = w->res->head.seq;

    w->res->last_sealed_seq = w->last_seal_seq;
    if (w->done)
        return;
    if (w->seal_valid)
        report(w, P11KMS_AUDIT_TRUNCATED, end + 1, w->seal.seq,
               "the chain ends at record %" PRIu64 " but a seal covers up to %" PRIu64, end,
               w->seal.seq);
    else if (a != NULL && a->seq > end)
        report(w, P11KMS_AUDIT_TRUNCATED, end + 1, a->seq,
               "the chain ends at record %" PRIu64 " before the anchor at %" PRIu64, end, a->seq);
    else if (end > w->last_seal_seq)
        report(w, P11KMS_AUDIT_UNSEALED_TAIL, w->last_seal_seq + 1, end,
               "records %" PRIu64 "..%" PRIu64 " are not sealed yet", w->last_seal_seq + 1, end);
}

static p11kms_store_rc walker_start(walker *w, p11kms_audit_anchor *base)
{
    p11kms_audit_anchor head;
    p11kms_store_rc rc = p11kms_audit_chain_base(w->s, base);

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_chain_head(w->s, &head);
    if (rc != P11KMS_STORE_OK)
        return rc;
    w->total = head.seq - base->seq;
    w->expected = base->seq + 1;
    w->last_seal_seq = base->seq;
    w->res->head = *base;
    memcpy(w->prevhash, base->hash, P11KMS_AUDIT_HASH_LEN);
    w->recs = p11kms_audit_stmt(w->s, AST_VERIFY_RECORDS, &rc);
    w->seals = w->recs ? p11kms_audit_stmt(w->s, AST_VERIFY_SEALS, &rc) : NULL;
    if (w->seals == NULL || sqlite3_bind_int64(w->recs, 1, (sqlite3_int64)base->seq) ||
        sqlite3_bind_int64(w->seals, 1, (sqlite3_int64)base->seq))
        return rc == P11KMS_STORE_OK ? P11KMS_STORE_INTERNAL : rc;
    rc = next_seal(w);
    /* after an archive, the base itself must carry a seal */
    if (rc == P11KMS_STORE_OK && base->seq > 0) {
        w->skip_link = 1;
        if (!w->seal_valid || w->seal.seq != base->seq)
            report(w, P11KMS_AUDIT_BAD_SEAL, base->seq, 0,
                   "the archive checkpoint at record %" PRIu64 " carries no seal", base->seq);
        else if (memcmp(w->seal.hash, base->hash, P11KMS_AUDIT_HASH_LEN) != 0)
            report(w, P11KMS_AUDIT_BAD_SEAL, base->seq, 0,
                   "the archive checkpoint at record %" PRIu64 " differs from its seal", base->seq);
        else
            rc = seals_upto(w, base->seq, base->hash);
    }
    return rc;
}

static p11kms_store_rc verify_locked(p11kms_audit_state *s, const p11kms_audit_verify_opts *o,
                                     p11kms_audit_verify_result *res)
{
    walker w;
    p11kms_audit_anchor base;
    p11kms_store_rc rc;

    memset(&w, 0, sizeof(w));
    w.s = s;
    w.o = o;
    w.res = res;
    w.priv_checked_key = -1;
    rc = walker_start(&w, &base);
    if (rc == P11KMS_STORE_OK && !w.done)
        rc = walk(&w);
    if (rc == P11KMS_STORE_OK)
        finish(&w);
    if (rc == P11KMS_STORE_OK && o->progress != NULL)
        o->progress(res->records, w.total, o->progress_arg);
    p11kms_audit_stmt_done(w.recs);
    p11kms_audit_stmt_done(w.seals);
    p11kms_buf_free(&w.rows[0].body);
    p11kms_buf_free(&w.rows[1].body);
    return rc;
}

p11kms_store_rc p11kms_store_audit_verify(p11kms_store *st, const p11kms_audit_verify_opts *opts,
                                          p11kms_audit_verify_result *res)
{
    static const p11kms_audit_verify_opts none;
    p11kms_audit_state *s = NULL;
    int own_txn = 0;
    p11kms_store_rc rc = st && res ? p11kms_audit_state_get(st, &s) : P11KMS_STORE_INVALID;

    if (opts == NULL)
        opts = &none;
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (!opts->no_flush && !p11kms_store_is_readonly(st) && !p11kms_store_in_txn(st)) {
        rc = p11kms_audit_flush_state(s, 1);
        if (rc != P11KMS_STORE_OK)
            goto done;
    }
    if (!p11kms_store_in_txn(st)) {
        rc = p11kms_store_begin_read(st);
        own_txn = rc == P11KMS_STORE_OK;
    }
    if (rc == P11KMS_STORE_OK)
        rc = verify_locked(s, opts, res);
    if (own_txn)
        (void)p11kms_store_rollback(st);
done:
    return rc;
}
