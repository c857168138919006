/*
 * store/store-token.c — the token row, PINs and the root key.
 *
 * The 256-bit root key exists on disk only wrapped (AES-256-GCM): under a
 * key derived with scrypt from the SO PIN, from the user PIN, and
 * optionally under a 32-byte service key file (no KDF, for unattended
 * unlock).  Each wrap row records its own salt and scrypt parameters, so
 * stores made with a low test cost keep working and a PIN change rewraps
 * the root key only — material is never touched.
 *
 * Failed logins are counted BEFORE the expensive KDF runs (and reset after
 * a success), so neither a crash nor parallel guessing processes can get
 * around the lock threshold.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "store/audit.h"
#include "store/store-priv.h"

#define SALT_LEN        16
#define SERVICE_KEY_LEN 32

/* One root-key wrap as stored in root_wraps. */
typedef struct wrap_row {
    p11kms_store_kdf kdf;
    unsigned char salt[SALT_LEN];
    unsigned char *wrapped;
    size_t wrapped_len;
} wrap_row;

static const char *kind_name(p11kms_store_user user)
{
    switch (user) {
    case P11KMS_STORE_USER_SO:
        return "so";
    case P11KMS_STORE_USER_USER:
        return "user";
    case P11KMS_STORE_USER_SERVICE:
        return "service";
    default:
        return NULL;
    }
}

p11kms_store_rc p11kms_store_kdf_from_cost(unsigned log2n, p11kms_store_kdf *kdf)
{
    if (kdf == NULL)
        return P11KMS_STORE_INVALID;
    if (log2n == 0)
        log2n = P11KMS_STORE_KDF_DEFAULT_LOG2N;
    if (log2n < 10 || log2n > 20)
        return P11KMS_STORE_INVALID;
    kdf->n = (uint64_t)1 << log2n;
    kdf->r = 8;
    kdf->p = 1;
    return P11KMS_STORE_OK;
}

static int kdf_valid(const p11kms_store_kdf *k)
{
    return k->n >= 1024 && k->n <= ((uint64_t)1 << 20) && (k->n & (k->n - 1)) == 0 && k->r >= 1 &&
           k->r <= 32 && k->p >= 1 && k->p <= 16;
}

/* AAD of a root-key wrap: binds the unlock method. */
static p11kms_store_rc root_aad(const char *kind, unsigned char **aad, size_t *len)
{
    p11kms_buf b = P11KMS_BUF_INIT;

    p11kms_buf_append_lp_str(&b, "p11kms root key v1");
    p11kms_buf_append_lp_str(&b, kind);
    *aad = p11kms_buf_detach(&b, len);
    return *aad != NULL ? P11KMS_STORE_OK : P11KMS_STORE_NOMEM;
}

/* Seals root under kek for kind into *out. */
static p11kms_store_rc seal_root(const unsigned char *kek, const char *kind,
                                 const unsigned char *root, unsigned char **out, size_t *outlen)
{
    unsigned char *aad = NULL;
    size_t aadlen = 0;
    p11kms_store_rc rc = root_aad(kind, &aad, &aadlen);

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_seal_with(kek, aad, aadlen, root, P11KMS_STORE_ROOT_KEY_LEN, out, outlen);
    OPENSSL_free(aad);
    return rc;
}

/* Opens a wrapped root key with kek into a new secmem buffer *root. */
static p11kms_store_rc open_root(const unsigned char *kek, const char *kind, const wrap_row *w,
                                 unsigned char **root)
{
    unsigned char *aad = NULL, *key = NULL;
    size_t aadlen = 0, n = 0;
    p11kms_store_rc rc = root_aad(kind, &aad, &aadlen);

    if (rc != P11KMS_STORE_OK)
        goto done;
    key = p11kms_secmem_alloc(P11KMS_STORE_ROOT_KEY_LEN);
    if (key == NULL) {
        rc = P11KMS_STORE_NOMEM;
        goto done;
    }
    rc = p11kms_store_open_with(kek, aad, aadlen, w->wrapped, w->wrapped_len, key,
                                P11KMS_STORE_ROOT_KEY_LEN, &n);
    if (rc == P11KMS_STORE_INVALID || (rc == P11KMS_STORE_OK && n != P11KMS_STORE_ROOT_KEY_LEN))
        rc = P11KMS_STORE_CRYPTO; /* a wrap of the wrong size is a bad row */
    if (rc != P11KMS_STORE_OK)
        goto done;
    *root = key;
    key = NULL;
done:
    p11kms_secmem_free(key, P11KMS_STORE_ROOT_KEY_LEN);
    OPENSSL_free(aad);
    return rc;
}

static p11kms_store_rc derive_kek(const char *pin, size_t pin_len, const wrap_row *w,
                                  unsigned char kek[P11KMS_STORE_ROOT_KEY_LEN])
{
    if (!p11kms_crypto_scrypt((const unsigned char *)pin, pin_len, w->salt, SALT_LEN, w->kdf.n,
                              w->kdf.r, w->kdf.p, kek, P11KMS_STORE_ROOT_KEY_LEN))
        return P11KMS_STORE_INTERNAL;
    return P11KMS_STORE_OK;
}

static void wrap_row_clear(wrap_row *w)
{
    free(w->wrapped);
    memset(w, 0, sizeof(*w));
}

static p11kms_store_rc wrap_row_get(p11kms_store *st, const char *kind, wrap_row *w)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    sqlite3_stmt *s = p11kms_store_stmt(st, STMT_WRAP_GET, &rc);
    int src;

    memset(w, 0, sizeof(*w));
    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    src = sqlite3_step(s);
    if (src == SQLITE_DONE) {
        rc = P11KMS_STORE_NOTFOUND;
        goto done;
    }
    if (src != SQLITE_ROW) {
        rc = p11kms_store_step_rc(st, src);
        goto done;
    }
    w->kdf.n = (uint64_t)sqlite3_column_int64(s, 0);
    w->kdf.r = (uint32_t)sqlite3_column_int64(s, 1);
    w->kdf.p = (uint32_t)sqlite3_column_int64(s, 2);
    if (sqlite3_column_bytes(s, 3) == SALT_LEN)
        memcpy(w->salt, sqlite3_column_blob(s, 3), SALT_LEN);
    else if (w->kdf.n != 0)
        rc = P11KMS_STORE_CORRUPT;
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_blob(s, 4, &w->wrapped, &w->wrapped_len);
    if (rc == P11KMS_STORE_OK && w->wrapped == NULL)
        rc = P11KMS_STORE_CORRUPT;
done:
    p11kms_store_stmt_done(s);
    if (rc != P11KMS_STORE_OK)
        wrap_row_clear(w);
    return rc;
}

static p11kms_store_rc wrap_row_put(p11kms_store *st, const char *kind, const wrap_row *w)
{
    static const char sql[] = "INSERT OR REPLACE INTO root_wraps (kind, kdf_n, kdf_r, kdf_p, salt,"
                              " wrapped, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)w->kdf.n);
        sqlite3_bind_int64(s, 3, w->kdf.r);
        sqlite3_bind_int64(s, 4, w->kdf.p);
        sqlite3_bind_blob(s, 5, w->salt, w->kdf.n != 0 ? SALT_LEN : 0, SQLITE_STATIC);
        sqlite3_bind_blob64(s, 6, w->wrapped, w->wrapped_len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 7, p11kms_time_now_ms());
        src = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return p11kms_store_step_rc(st, src);
}

/* Builds a fresh wrap of root under pin with kdf (random salt). */
static p11kms_store_rc wrap_for_pin(const char *pin, size_t pin_len, const p11kms_store_kdf *kdf,
                                    const char *kind, const unsigned char *root, wrap_row *w)
{
    unsigned char kek[P11KMS_STORE_ROOT_KEY_LEN];
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;

    memset(w, 0, sizeof(*w));
    w->kdf = *kdf;
    if (!p11kms_crypto_random(w->salt, SALT_LEN))
        goto done;
    rc = derive_kek(pin, pin_len, w, kek);
    if (rc == P11KMS_STORE_OK)
        rc = seal_root(kek, kind, root, &w->wrapped, &w->wrapped_len);
done:
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Token row                                                                */

p11kms_store_rc p11kms_store_token_info_get(p11kms_store *st, p11kms_store_token_info *out)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src;

    if (rc != P11KMS_STORE_OK || out == NULL)
        goto done;
    memset(out, 0, sizeof(*out));
    s = p11kms_store_stmt(st, STMT_TOKEN_GET, &rc);
    if (s == NULL)
        goto done;
    src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = p11kms_store_step_rc(st, src); /* DONE: not initialised, OK */
        goto done;
    }
    out->initialized = 1;
    p11kms_store_col_text_fixed(s, 0, out->label, sizeof(out->label));
    p11kms_store_col_text_fixed(s, 1, out->serial, sizeof(out->serial));
    out->flags = (uint32_t)sqlite3_column_int64(s, 2);
    out->min_pin_len = (uint32_t)sqlite3_column_int64(s, 3);
    out->max_failures = (uint32_t)sqlite3_column_int64(s, 4);
    out->user_failures = (uint32_t)sqlite3_column_int64(s, 5);
    out->so_failures = (uint32_t)sqlite3_column_int64(s, 6);
    out->kdf.n = (uint64_t)sqlite3_column_int64(s, 7);
    out->kdf.r = (uint32_t)sqlite3_column_int64(s, 8);
    out->kdf.p = (uint32_t)sqlite3_column_int64(s, 9);
    out->init_time_ms = sqlite3_column_int64(s, 10);
    out->user_pin_set = sqlite3_column_int(s, 11) > 0;
    out->has_service_key = sqlite3_column_int(s, 12) > 0;
    out->user_locked = out->user_failures >= out->max_failures;
    out->so_locked = out->so_failures >= out->max_failures;
done:
    p11kms_store_stmt_done(s);
    if (rc == P11KMS_STORE_OK && out == NULL)
        rc = P11KMS_STORE_INVALID;
    return rc;
}

typedef struct token_init_arg {
    const p11kms_store_token_params *params;
    const p11kms_store_kdf *kdf;
    const char *serial;
    const wrap_row *so_wrap;
} token_init_arg;

static p11kms_store_rc token_init_tx(p11kms_store *st, void *varg)
{
    static const char sql[] = "INSERT INTO token (id, label, serial, flags, min_pin_len,"
                              " max_failures, kdf_n, kdf_r, kdf_p, init_time)"
                              " VALUES (1, ?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8)";
    const token_init_arg *a = varg;
    p11kms_store_token_info info;
    p11kms_store_rc rc = p11kms_store_token_info_get(st, &info);
    sqlite3_stmt *s = NULL;
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (info.initialized && !a->params->allow_reinit) {
        rc = P11KMS_STORE_ALREADY_INITIALIZED;
        goto done;
    }
    rc = p11kms_store_wipe_all(st);
    if (rc != P11KMS_STORE_OK)
        goto done;
    src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, a->params->label != NULL ? a->params->label : "", -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(s, 2, a->serial, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, a->params->min_pin_len);
        sqlite3_bind_int64(s, 4, a->params->max_failures);
        sqlite3_bind_int64(s, 5, (sqlite3_int64)a->kdf->n);
        sqlite3_bind_int64(s, 6, a->kdf->r);
        sqlite3_bind_int64(s, 7, a->kdf->p);
        sqlite3_bind_int64(s, 8, p11kms_time_now_ms());
        src = sqlite3_step(s);
    }
    rc = p11kms_store_step_rc(st, src);
    if (rc == P11KMS_STORE_OK)
        rc = wrap_row_put(st, "so", a->so_wrap);
    p11kms_store_mark_changed(st);
done:
    sqlite3_finalize(s);
    return rc;
}

static p11kms_store_rc pin_len_ok(size_t len, uint32_t min)
{
    return (len >= min && len >= 1 && len <= P11KMS_STORE_PIN_MAX) ? P11KMS_STORE_OK
                                                                   : P11KMS_STORE_PIN_LEN_RANGE;
}

static p11kms_store_rc verify_pin(p11kms_store *st, p11kms_store_user user, const char *pin,
                                  size_t pin_len, unsigned char **root);

/* On an initialised token, re-initialisation requires the current SO PIN. */
static p11kms_store_rc check_reinit(p11kms_store *st, const p11kms_store_token_params *p,
                                    const char *so_pin, size_t so_pin_len)
{
    p11kms_store_token_info info;
    unsigned char *root = NULL;
    p11kms_store_rc rc = p11kms_store_token_info_get(st, &info);

    if (rc != P11KMS_STORE_OK || !info.initialized)
        goto done;
    if (!p->allow_reinit) {
        rc = P11KMS_STORE_ALREADY_INITIALIZED;
        goto done;
    }
    rc = verify_pin(st, P11KMS_STORE_USER_SO, so_pin, so_pin_len, &root);
done:
    p11kms_secmem_free(root, P11KMS_STORE_ROOT_KEY_LEN);
    return rc;
}

p11kms_store_rc p11kms_store_token_init(p11kms_store *st, const char *so_pin, size_t so_pin_len,
                                        const p11kms_store_token_params *params)
{
    p11kms_store_token_params p = {0};
    p11kms_store_kdf kdf;
    unsigned char *root = NULL, serial_raw[8];
    char serial[17];
    wrap_row w = {0};
    token_init_arg arg;
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (params != NULL)
        p = *params;
    p11kms_store_kdf_from_cost(0, &kdf);
    if (p.kdf != NULL)
        kdf = *p.kdf;
    p.min_pin_len = p.min_pin_len ? p.min_pin_len : P11KMS_STORE_DEFAULT_MIN_PIN;
    p.max_failures = p.max_failures ? p.max_failures : P11KMS_STORE_DEFAULT_MAX_FAILS;
    rc = P11KMS_STORE_INVALID;
    if (so_pin == NULL || st->in_txn != 0 || !kdf_valid(&kdf) ||
        (p.label != NULL && strlen(p.label) > P11KMS_STORE_TOKEN_LABEL_MAX))
        goto done;
    rc = pin_len_ok(so_pin_len, p.min_pin_len);
    if (rc == P11KMS_STORE_OK)
        rc = check_reinit(st, &p, so_pin, so_pin_len);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    root = p11kms_secmem_alloc(P11KMS_STORE_ROOT_KEY_LEN);
    if (root == NULL)
        goto done;
    rc = P11KMS_STORE_INTERNAL;
    if (!p11kms_crypto_random(root, P11KMS_STORE_ROOT_KEY_LEN) ||
        !p11kms_crypto_random(serial_raw, sizeof(serial_raw)))
        goto done;
    for (size_t i = 0; i < sizeof(serial_raw); i++)
        snprintf(serial + 2 * i, 3, "%02x", serial_raw[i]);
    rc = wrap_for_pin(so_pin, so_pin_len, &kdf, "so", root, &w);
    if (rc != P11KMS_STORE_OK)
        goto done;
    arg = (token_init_arg){&p, &kdf, serial, &w};
    rc = p11kms_store_atomic(st, token_init_tx, &arg);
    if (rc == P11KMS_STORE_OK)
        p11kms_store_logout(st);
done:
    wrap_row_clear(&w);
    p11kms_secmem_free(root, P11KMS_STORE_ROOT_KEY_LEN);
    return rc;
}

typedef struct set_flags_arg {
    uint32_t flags;
} set_flags_arg;

static p11kms_store_rc set_flags_tx(p11kms_store *st, void *varg)
{
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(st->db, "UPDATE token SET flags = ?1 WHERE id = 1", -1, &s, NULL);
    p11kms_store_rc rc;

    if (src == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, ((set_flags_arg *)varg)->flags);
        src = sqlite3_step(s);
    }
    rc = p11kms_store_step_rc(st, src);
    if (rc == P11KMS_STORE_OK && sqlite3_changes(st->db) == 0)
        rc = P11KMS_STORE_NOT_INITIALIZED;
    sqlite3_finalize(s);
    p11kms_store_mark_changed(st);
    return rc;
}

p11kms_store_rc p11kms_store_token_set_flags(p11kms_store *st, uint32_t flags)
{
    set_flags_arg a = {flags};

    return p11kms_store_atomic(st, set_flags_tx, &a);
}

/* ------------------------------------------------------------------------ */
/* Failure counters                                                         */

typedef struct attempt_arg {
    p11kms_store_user user;
    int reset;
} attempt_arg;

/* Counts one attempt (or resets the counter): PIN_LOCKED at the limit. */
static p11kms_store_rc attempt_tx(p11kms_store *st, void *varg)
{
    const attempt_arg *a = varg;
    const char *col = a->user == P11KMS_STORE_USER_SO ? "so_failures" : "user_failures";
    p11kms_store_token_info info;
    p11kms_store_rc rc = p11kms_store_token_info_get(st, &info);
    uint32_t fails;
    char sql[96];

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (!info.initialized) {
        rc = P11KMS_STORE_NOT_INITIALIZED;
        goto done;
    }
    fails = a->user == P11KMS_STORE_USER_SO ? info.so_failures : info.user_failures;
    if (!a->reset && fails >= info.max_failures) {
        rc = P11KMS_STORE_PIN_LOCKED;
        goto done;
    }
    if (a->reset && fails == 0)
        goto done;
    if (a->reset)
        snprintf(sql, sizeof(sql), "UPDATE token SET %s = 0 WHERE id = 1", col);
    else
        snprintf(sql, sizeof(sql), "UPDATE token SET %s = %s + 1 WHERE id = 1", col, col);
    rc = p11kms_store_exec(st, sql);
    p11kms_store_mark_changed(st);
done:
    return rc;
}

static p11kms_store_rc count_attempt(p11kms_store *st, p11kms_store_user user, int reset)
{
    attempt_arg a = {user, reset};
    p11kms_store_token_info info;
    p11kms_store_rc rc;

    if (!p11kms_store_is_readonly(st))
        return p11kms_store_atomic(st, attempt_tx, &a);
    /* Read-only handle: honour the lock, cannot count (whoever can only
     * read the file can brute-force it offline anyway). */
    rc = p11kms_store_token_info_get(st, &info);
    if (rc == P11KMS_STORE_OK && !info.initialized)
        rc = P11KMS_STORE_NOT_INITIALIZED;
    if (rc == P11KMS_STORE_OK && !reset &&
        (user == P11KMS_STORE_USER_SO ? info.so_locked : info.user_locked))
        rc = P11KMS_STORE_PIN_LOCKED;
    return rc;
}

/* Checks pin for user (counting the attempt) and returns the root key. */
static p11kms_store_rc verify_pin(p11kms_store *st, p11kms_store_user user, const char *pin,
                                  size_t pin_len, unsigned char **root)
{
    unsigned char kek[P11KMS_STORE_ROOT_KEY_LEN];
    const char *kind = kind_name(user);
    wrap_row w = {0};
    p11kms_store_rc rc = P11KMS_STORE_INVALID;

    if (pin == NULL || (user != P11KMS_STORE_USER_SO && user != P11KMS_STORE_USER_USER))
        goto done;
    rc = pin_len_ok(pin_len, 1);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = wrap_row_get(st, kind, &w);
    if (rc == P11KMS_STORE_NOTFOUND)
        rc = P11KMS_STORE_NOT_INITIALIZED;
    if (rc == P11KMS_STORE_OK)
        rc = count_attempt(st, user, 0);
    if (rc == P11KMS_STORE_OK)
        rc = derive_kek(pin, pin_len, &w, kek);
    if (rc == P11KMS_STORE_OK)
        rc = open_root(kek, kind, &w, root);
    if (rc == P11KMS_STORE_CRYPTO)
        rc = P11KMS_STORE_PIN_INCORRECT;
    if (rc == P11KMS_STORE_OK) {
        rc = count_attempt(st, user, 1);
        if (rc != P11KMS_STORE_OK) {
            p11kms_secmem_free(*root, P11KMS_STORE_ROOT_KEY_LEN);
            *root = NULL;
        }
    }
done:
    OPENSSL_cleanse(kek, sizeof(kek));
    wrap_row_clear(&w);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Login, logout, PINs                                                      */

static void set_root(p11kms_store *st, unsigned char *root, p11kms_store_user user)
{
    p11kms_secmem_free(st->root_key, P11KMS_STORE_ROOT_KEY_LEN);
    st->root_key = root;
    st->user = root != NULL ? user : P11KMS_STORE_USER_NONE;
}

p11kms_store_rc p11kms_store_login(p11kms_store *st, p11kms_store_user user, const char *pin,
                                   size_t pin_len)
{
    unsigned char *root = NULL;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (st->in_txn != 0) {
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    rc = verify_pin(st, user, pin, pin_len, &root);
    if (rc == P11KMS_STORE_OK)
        set_root(st, root, user);
done:
    return rc;
}

p11kms_store_rc p11kms_store_logout(p11kms_store *st)
{
    p11kms_store_rc rc = p11kms_store_check_pid(st);

    if (rc == P11KMS_STORE_OK)
        set_root(st, NULL, P11KMS_STORE_USER_NONE);
    return rc;
}

p11kms_store_user p11kms_store_logged_in(const p11kms_store *st)
{
    if (st == NULL || st->root_key == NULL || p11kms_store_check_pid(st) != P11KMS_STORE_OK)
        return P11KMS_STORE_USER_NONE;
    return st->user;
}

typedef struct put_wrap_arg {
    const char *kind;
    const wrap_row *w;
    int reset_user;
} put_wrap_arg;

static p11kms_store_rc put_wrap_tx(p11kms_store *st, void *varg)
{
    const put_wrap_arg *a = varg;
    p11kms_store_rc rc = wrap_row_put(st, a->kind, a->w);

    if (rc == P11KMS_STORE_OK && a->reset_user)
        rc = p11kms_store_exec(st, "UPDATE token SET user_failures = 0 WHERE id = 1");
    p11kms_store_mark_changed(st);
    return rc;
}

p11kms_store_rc p11kms_store_init_pin(p11kms_store *st, const char *pin, size_t pin_len)
{
    p11kms_store_token_info info;
    wrap_row w = {0};
    put_wrap_arg a;
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_NOT_LOGGED_IN;
    if (st->root_key == NULL || st->user != P11KMS_STORE_USER_SO)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (pin == NULL || st->in_txn != 0)
        goto done;
    rc = p11kms_store_token_info_get(st, &info);
    if (rc == P11KMS_STORE_OK)
        rc = pin_len_ok(pin_len, info.min_pin_len);
    if (rc == P11KMS_STORE_OK)
        rc = wrap_for_pin(pin, pin_len, &info.kdf, "user", st->root_key, &w);
    if (rc != P11KMS_STORE_OK)
        goto done;
    a = (put_wrap_arg){"user", &w, 1};
    rc = p11kms_store_atomic(st, put_wrap_tx, &a);
done:
    wrap_row_clear(&w);
    return rc;
}

p11kms_store_rc p11kms_store_set_pin(p11kms_store *st, p11kms_store_user user, const char *old_pin,
                                     size_t old_len, const char *new_pin, size_t new_len)
{
    p11kms_store_token_info info;
    unsigned char *root = NULL;
    wrap_row w = {0};
    put_wrap_arg a;
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (new_pin == NULL || st->in_txn != 0)
        goto done;
    rc = p11kms_store_token_info_get(st, &info);
    if (rc == P11KMS_STORE_OK && !info.initialized)
        rc = P11KMS_STORE_NOT_INITIALIZED;
    if (rc == P11KMS_STORE_OK)
        rc = pin_len_ok(new_len, info.min_pin_len);
    if (rc == P11KMS_STORE_OK)
        rc = verify_pin(st, user, old_pin, old_len, &root);
    if (rc == P11KMS_STORE_OK)
        rc = wrap_for_pin(new_pin, new_len, &info.kdf, kind_name(user), root, &w);
    if (rc != P11KMS_STORE_OK)
        goto done;
    a = (put_wrap_arg){kind_name(user), &w, 0};
    rc = p11kms_store_atomic(st, put_wrap_tx, &a);
done:
    wrap_row_clear(&w);
    p11kms_secmem_free(root, P11KMS_STORE_ROOT_KEY_LEN);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Root-key rotation                                                        */

typedef struct rotate_root_arg {
    const unsigned char *old_root;
    const wrap_row *so_w, *user_w; /* user_w NULL when no user PIN is set */
} rotate_root_arg;

static p11kms_store_rc rotate_root_tx(p11kms_store *st, void *varg)
{
    const rotate_root_arg *a = varg;
    p11kms_store_rc rc = p11kms_store_reseal_material(st, a->old_root);

    if (rc == P11KMS_STORE_OK)
        rc = wrap_row_put(st, "so", a->so_w);
    if (rc == P11KMS_STORE_OK && a->user_w != NULL)
        rc = wrap_row_put(st, "user", a->user_w);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_exec(st, "DELETE FROM root_wraps WHERE kind = 'service'");
    if (rc == P11KMS_STORE_OK && st->rekey_hook != NULL) {
        st->rekey_old = a->old_root;
        rc = st->rekey_hook(st, st->rekey_arg);
        st->rekey_old = NULL;
    }
    p11kms_store_mark_changed(st);
    return rc;
}

/* Checks a PIN and that it unwraps the root key this handle holds. */
static p11kms_store_rc check_pin_matches(p11kms_store *st, p11kms_store_user user, const char *pin,
                                         size_t len)
{
    unsigned char *root = NULL;
    p11kms_store_rc rc = verify_pin(st, user, pin, len, &root);

    if (rc == P11KMS_STORE_OK &&
        !p11kms_crypto_memeq(root, st->root_key, P11KMS_STORE_ROOT_KEY_LEN))
        rc = P11KMS_STORE_CRYPTO;
    p11kms_secmem_free(root, P11KMS_STORE_ROOT_KEY_LEN);
    return rc;
}

/* Audit signing keys are sealed under the root key: without the audit
 * code's rekey hook they would be lost, so refuse. */
static p11kms_store_rc check_rekey_hook(p11kms_store *st)
{
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = p11kms_store_audit_flush(st);
    int src;

    if (rc != P11KMS_STORE_OK || st->rekey_hook != NULL)
        return rc;
    src = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM audit_signing_key", -1, &s, NULL);
    if (src == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0)
        rc = P11KMS_STORE_INVALID;
    sqlite3_finalize(s);
    return rc;
}

p11kms_store_rc p11kms_store_root_key_rotate(p11kms_store *st, const char *so_pin, size_t so_len,
                                             const char *user_pin, size_t user_len)
{
    p11kms_store_token_info info;
    unsigned char *fresh = NULL, *old = NULL;
    wrap_row so_w = {0}, user_w = {0};
    rotate_root_arg a;
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = st->root_key == NULL ? P11KMS_STORE_NOT_LOGGED_IN : P11KMS_STORE_INVALID;
    if (st->root_key == NULL || so_pin == NULL || st->in_txn != 0)
        goto done;
    rc = p11kms_store_token_info_get(st, &info);
    if (rc == P11KMS_STORE_OK && info.user_pin_set && user_pin == NULL)
        rc = P11KMS_STORE_INVALID;
    if (rc == P11KMS_STORE_OK)
        rc = check_pin_matches(st, P11KMS_STORE_USER_SO, so_pin, so_len);
    if (rc == P11KMS_STORE_OK && info.user_pin_set)
        rc = check_pin_matches(st, P11KMS_STORE_USER_USER, user_pin, user_len);
    if (rc == P11KMS_STORE_OK)
        rc = check_rekey_hook(st);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    fresh = p11kms_secmem_alloc(P11KMS_STORE_ROOT_KEY_LEN);
    if (fresh == NULL)
        goto done;
    rc = P11KMS_STORE_INTERNAL;
    if (!p11kms_crypto_random(fresh, P11KMS_STORE_ROOT_KEY_LEN))
        goto done;
    rc = wrap_for_pin(so_pin, so_len, &info.kdf, "so", fresh, &so_w);
    if (rc == P11KMS_STORE_OK && info.user_pin_set)
        rc = wrap_for_pin(user_pin, user_len, &info.kdf, "user", fresh, &user_w);
    if (rc != P11KMS_STORE_OK)
        goto done;
    /* Material is re-sealed with p11kms_store_wrap: the new key goes in now. */
    old = st->root_key;
    st->root_key = fresh;
    a = (rotate_root_arg){old, &so_w, info.user_pin_set ? &user_w : NULL};
    rc = p11kms_store_atomic(st, rotate_root_tx, &a);
    if (rc != P11KMS_STORE_OK) {
        st->root_key = old;
        old = fresh;
    }
    fresh = NULL;
done:
    p11kms_secmem_free(fresh, P11KMS_STORE_ROOT_KEY_LEN);
    p11kms_secmem_free(old, P11KMS_STORE_ROOT_KEY_LEN);
    wrap_row_clear(&so_w);
    wrap_row_clear(&user_w);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Service key file                                                         */

static p11kms_store_rc write_key_file(const char *path, const unsigned char *key)
{
    p11kms_store_rc rc = P11KMS_STORE_IO;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return errno == EEXIST ? P11KMS_STORE_EXISTS
                               : (errno == EACCES ? P11KMS_STORE_PERM : P11KMS_STORE_IO);
    if (fchmod(fd, 0600) == 0 && write(fd, key, SERVICE_KEY_LEN) == SERVICE_KEY_LEN &&
        fsync(fd) == 0)
        rc = P11KMS_STORE_OK;
    if (close(fd) != 0)
        rc = P11KMS_STORE_IO;
    if (rc != P11KMS_STORE_OK)
        unlink(path);
    return rc;
}

p11kms_store_rc p11kms_store_service_key_create(p11kms_store *st, const char *path)
{
    unsigned char key[SERVICE_KEY_LEN];
    wrap_row w = {0};
    put_wrap_arg a = {"service", &w, 0};
    int written = 0;
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = st->root_key == NULL ? P11KMS_STORE_NOT_LOGGED_IN : P11KMS_STORE_INVALID;
    if (st->root_key == NULL || path == NULL || st->in_txn != 0)
        goto done;
    rc = P11KMS_STORE_INTERNAL;
    if (!p11kms_crypto_random(key, sizeof(key)))
        goto done;
    rc = seal_root(key, "service", st->root_key, &w.wrapped, &w.wrapped_len);
    if (rc == P11KMS_STORE_OK)
        rc = write_key_file(path, key);
    written = rc == P11KMS_STORE_OK;
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_atomic(st, put_wrap_tx, &a);
    if (rc != P11KMS_STORE_OK && written)
        unlink(path);
done:
    OPENSSL_cleanse(key, sizeof(key));
    wrap_row_clear(&w);
    return rc;
}

static p11kms_store_rc remove_service_tx(p11kms_store *st, void *varg)
{
    (void)varg;
    p11kms_store_mark_changed(st);
    return p11kms_store_exec(st, "DELETE FROM root_wraps WHERE kind = 'service'");
}

p11kms_store_rc p11kms_store_service_key_remove(p11kms_store *st)
{
    return p11kms_store_atomic(st, remove_service_tx, NULL);
}

/* Reads a service key file: regular, 0600-or-stricter, owned by us. */
static p11kms_store_rc read_key_file(const char *path, unsigned char *key)
{
    p11kms_store_rc rc = P11KMS_STORE_PERM;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? P11KMS_STORE_NOTFOUND : P11KMS_STORE_PERM;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0 ||
        sb.st_uid != geteuid())
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (sb.st_size != SERVICE_KEY_LEN || read(fd, key, SERVICE_KEY_LEN) != SERVICE_KEY_LEN)
        goto done;
    rc = P11KMS_STORE_OK;
done:
    close(fd);
    return rc;
}

p11kms_store_rc p11kms_store_login_keyfile(p11kms_store *st, const char *path)
{
    unsigned char key[SERVICE_KEY_LEN], *root = NULL;
    wrap_row w = {0};
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (path == NULL)
        goto done;
    rc = wrap_row_get(st, "service", &w);
    if (rc == P11KMS_STORE_OK)
        rc = read_key_file(path, key);
    if (rc == P11KMS_STORE_OK)
        rc = open_root(key, "service", &w, &root);
    if (rc == P11KMS_STORE_OK)
        set_root(st, root, P11KMS_STORE_USER_SERVICE);
done:
    OPENSSL_cleanse(key, sizeof(key));
    wrap_row_clear(&w);
    return rc;
}

/* ------------------------------------------------------------------------ */

p11kms_store_rc p11kms_store_wipe_all(p11kms_store *st)
{
    p11kms_store_rc rc = p11kms_store_exec(st, "DELETE FROM keys; DELETE FROM objects;"
                                               " DELETE FROM identity_policies;"
                                               " DELETE FROM root_wraps; DELETE FROM token;");

    if (rc == P11KMS_STORE_OK) {
        st->want_truncate = 1;
        p11kms_store_mark_changed(st);
    }
    return rc;
}
