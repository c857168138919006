/*
 * store/store.c — the handle's plumbing: error codes, the statement cache,
 * transactions (explicit ones and the per-call atomic wrapper), the change
 * counter, and AES-256-GCM under the root key.  Every other store file
 * builds on these, so the rules "one write lock per change", "bump the
 * counter once per changing transaction" and "secrets never leave the
 * caller's buffer" live in one place.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/crypto.h"
#include "store/store-priv.h"

/* SQL of the fixed statement slots (enum p11kms_store_stmt_id order). */
static const char *const stmt_sql[STMT_COUNT_] = {
    [STMT_COUNTER_GET] = "SELECT value FROM meta WHERE name = 'change_counter'",
    [STMT_COUNTER_BUMP] = "UPDATE meta SET value = value + 1 WHERE name = 'change_counter'",
    [STMT_TOKEN_GET] = "SELECT label, serial, flags, min_pin_len, max_failures, user_failures,"
                       " so_failures, kdf_n, kdf_r, kdf_p, init_time,"
                       " (SELECT count(*) FROM root_wraps WHERE kind = 'user'),"
                       " (SELECT count(*) FROM root_wraps WHERE kind = 'service')"
                       " FROM token WHERE id = 1",
    [STMT_WRAP_GET] = "SELECT kdf_n, kdf_r, kdf_p, salt, wrapped FROM root_wraps WHERE kind = ?1",
    [STMT_KEY_GET] = "SELECT " P11KMS_STORE_KEY_COLS " FROM keys k WHERE k.key_id = ?1",
    [STMT_KEY_INSERT] =
        "INSERT INTO keys (key_id, key_spec, key_usage, key_state, origin, key_manager,"
        " description, creation, deletion, pending_window, rotation_enabled, rotation_period,"
        " next_rotation, last_rotation, current_version, owner_uid, owner_gid, app_id,"
        " app_label, attrs, updated)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 1, ?15, ?16,"
        " ?17, ?18, ?19, ?20)",
    [STMT_KEY_UPDATE] = "UPDATE keys SET description = ?2, key_state = ?3, deletion = ?4,"
                        " pending_window = ?5, rotation_enabled = ?6, rotation_period = ?7,"
                        " next_rotation = ?8, last_rotation = ?9, app_id = ?10, app_label = ?11,"
                        " attrs = ?12, updated = ?13 WHERE key_id = ?1",
    [STMT_KEY_STATE] = "SELECT key_state, current_version, key_spec, rotation_enabled,"
                       " rotation_period FROM keys WHERE key_id = ?1",
    [STMT_KEY_SET_CURRENT] = "UPDATE keys SET current_version = ?2, last_rotation = ?3,"
                             " next_rotation = ?4, updated = ?5 WHERE key_id = ?1",
    [STMT_VERSION_INSERT] = "INSERT INTO key_versions (key_id, version, creation, material,"
                            " public_der) VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_VERSION_GET] = "SELECT key_id, version, creation, public_der FROM key_versions"
                         " WHERE key_id = ?1 AND version = ?2",
    [STMT_VERSION_LIST] = "SELECT key_id, version, creation, public_der FROM key_versions"
                          " WHERE key_id = ?1 ORDER BY version",
    [STMT_MATERIAL_GET] = "SELECT v.material, k.key_spec FROM key_versions v"
                          " JOIN keys k ON k.key_id = v.key_id"
                          " WHERE v.key_id = ?1 AND v.version = ?2",
    [STMT_ALIAS_RESOLVE] = "SELECT key_id FROM aliases WHERE name = ?1",
    [STMT_SAVEPOINT] = "SAVEPOINT p11kms_op",
    [STMT_RELEASE] = "RELEASE p11kms_op",
    [STMT_ROLLBACK_TO] = "ROLLBACK TO p11kms_op",
    [STMT_DATA_VERSION] = "PRAGMA data_version",
};

const char *p11kms_store_strerror(p11kms_store_rc rc)
{
    switch (rc) {
    case P11KMS_STORE_OK:
        return "success";
    case P11KMS_STORE_NOTFOUND:
        return "not found";
    case P11KMS_STORE_EXISTS:
        return "already exists";
    case P11KMS_STORE_BUSY:
        return "store is locked by another writer (busy timeout)";
    case P11KMS_STORE_CORRUPT:
        return "store file is corrupted or not a database";
    case P11KMS_STORE_FOREIGN:
        return "file is an SQLite database but not a p11kms store";
    case P11KMS_STORE_TOO_NEW:
        return "store was written by a newer p11kms (schema too new)";
    case P11KMS_STORE_IO:
        return "I/O error on the store file";
    case P11KMS_STORE_FULL:
        return "disk full";
    case P11KMS_STORE_READONLY:
        return "store is read-only";
    case P11KMS_STORE_NOMEM:
        return "out of memory";
    case P11KMS_STORE_PIN_INCORRECT:
        return "PIN incorrect";
    case P11KMS_STORE_PIN_LOCKED:
        return "PIN locked after too many failures";
    case P11KMS_STORE_PIN_LEN_RANGE:
        return "PIN length out of range";
    case P11KMS_STORE_NOT_INITIALIZED:
        return "token or PIN not initialised";
    case P11KMS_STORE_ALREADY_INITIALIZED:
        return "token already initialised";
    case P11KMS_STORE_NOT_LOGGED_IN:
        return "not logged in (root key locked)";
    case P11KMS_STORE_INVALID:
        return "invalid argument";
    case P11KMS_STORE_CRYPTO:
        return "integrity check failed (moved or corrupted row)";
    case P11KMS_STORE_CONFLICT:
        return "state changed concurrently";
    case P11KMS_STORE_PERM:
        return "permission denied on the store file";
    case P11KMS_STORE_FORKED:
        return "store handle used in a forked child process";
    case P11KMS_STORE_INTERNAL:
        return "internal store error";
    }
    return "unknown store error";
}

p11kms_store_rc p11kms_store_rc_from_sqlite(int src)
{
    switch (src) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return P11KMS_STORE_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return P11KMS_STORE_NOTFOUND;
    default:
        break;
    }
    switch (src & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return P11KMS_STORE_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return P11KMS_STORE_BUSY;
    case SQLITE_FULL:
        return P11KMS_STORE_FULL;
    case SQLITE_READONLY:
        return P11KMS_STORE_READONLY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return P11KMS_STORE_CORRUPT;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return P11KMS_STORE_IO;
    case SQLITE_NOMEM:
        return P11KMS_STORE_NOMEM;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return P11KMS_STORE_PERM;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return P11KMS_STORE_INVALID;
    default:
        return P11KMS_STORE_INTERNAL;
    }
}

/* ------------------------------------------------------------------------ */
/* Internal accessors (store-internal.h)                                    */

sqlite3 *p11kms_store_db(p11kms_store *st)
{
    if (st == NULL || p11kms_store_check_pid(st) != P11KMS_STORE_OK)
        return NULL;
    return st->db;
}

p11kms_store_rc p11kms_store_check_pid(const p11kms_store *st)
{
    if (st == NULL)
        return P11KMS_STORE_INVALID;
    return st->pid == getpid() ? P11KMS_STORE_OK : P11KMS_STORE_FORKED;
}

int p11kms_store_in_write_txn(const p11kms_store *st)
{
    return st != NULL && st->in_txn == 2;
}

int p11kms_store_in_txn(const p11kms_store *st)
{
    return st != NULL && st->in_txn != 0;
}

int p11kms_store_sync_full(const p11kms_store *st)
{
    return st != NULL && (st->flags & P11KMS_STORE_OPEN_SYNC_FULL) != 0;
}

int p11kms_store_busy_timeout_ms(const p11kms_store *st)
{
    return st != NULL ? st->busy_ms : 0;
}

void p11kms_store_mark_changed(p11kms_store *st)
{
    if (st != NULL)
        st->changed = 1;
}

void *p11kms_store_audit_state(p11kms_store *st)
{
    return st != NULL ? st->audit_state : NULL;
}

void p11kms_store_set_audit_state(p11kms_store *st, void *state, void (*free_fn)(void *))
{
    if (st == NULL)
        return;
    st->audit_state = state;
    st->audit_free = free_fn;
}

void p11kms_store_set_rekey_hook(p11kms_store *st, p11kms_store_rekey_fn fn, void *arg)
{
    if (st == NULL)
        return;
    st->rekey_hook = fn;
    st->rekey_arg = arg;
}

p11kms_store_rc p11kms_store_rekey_blob(p11kms_store *st, const unsigned char *aad, size_t aadlen,
                                        const unsigned char *in, size_t inlen, unsigned char **out,
                                        size_t *outlen)
{
    unsigned char buf[8192];
    size_t n = 0;
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (st->rekey_old == NULL || st->root_key == NULL || inlen > sizeof(buf))
        goto done;
    rc = p11kms_store_open_with(st->rekey_old, aad, aadlen, in, inlen, buf, sizeof(buf), &n);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_seal_with(st->root_key, aad, aadlen, buf, n, out, outlen);
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

const char *p11kms_store_path(const p11kms_store *st)
{
    return st != NULL ? st->path : NULL;
}

int p11kms_store_is_readonly(const p11kms_store *st)
{
    return st != NULL && (st->flags & P11KMS_STORE_OPEN_READONLY) != 0;
}

p11kms_store_rc p11kms_store_enter(const p11kms_store *st, int write)
{
    p11kms_store_rc rc = p11kms_store_check_pid(st);

    if (rc == P11KMS_STORE_OK && write && p11kms_store_is_readonly(st))
        rc = P11KMS_STORE_READONLY;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Statements                                                               */

sqlite3_stmt *p11kms_store_stmt_cached(p11kms_store *st, sqlite3_stmt **slot, const char *sql,
                                       p11kms_store_rc *rc)
{
    int src;

    if (*slot != NULL)
        return *slot;
    src = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (src != SQLITE_OK) {
        sqlite3_finalize(*slot);
        *slot = NULL;
        *rc = p11kms_store_rc_from_sqlite(sqlite3_extended_errcode(st->db));
        if (*rc == P11KMS_STORE_OK)
            *rc = P11KMS_STORE_INTERNAL;
    }
    return *slot;
}

sqlite3_stmt *p11kms_store_stmt(p11kms_store *st, enum p11kms_store_stmt_id id, p11kms_store_rc *rc)
{
    return p11kms_store_stmt_cached(st, &st->cache->fixed[id], stmt_sql[id], rc);
}

void p11kms_store_stmt_done(sqlite3_stmt *s)
{
    if (s == NULL)
        return;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

void p11kms_store_stmt_cache_free(p11kms_store *st)
{
    size_t i;

    if (st->cache == NULL)
        return;
    for (i = 0; i < STMT_COUNT_; i++)
        sqlite3_finalize(st->cache->fixed[i]);
    for (i = 0; i < (1u << P11KMS_STORE_KEY_FILTER_BITS); i++)
        sqlite3_finalize(st->cache->key_list[i]);
    free(st->cache);
    st->cache = NULL;
}

p11kms_store_rc p11kms_store_exec(p11kms_store *st, const char *sql)
{
    int src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

    if (src == SQLITE_OK)
        return P11KMS_STORE_OK;
    return p11kms_store_step_rc(st, src);
}

p11kms_store_rc p11kms_store_step_rc(p11kms_store *st, int src)
{
    p11kms_store_rc rc;

    if (src == SQLITE_ROW || src == SQLITE_DONE || src == SQLITE_OK)
        return P11KMS_STORE_OK;
    rc = p11kms_store_rc_from_sqlite(sqlite3_extended_errcode(st->db));
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_rc_from_sqlite(src);
    return rc == P11KMS_STORE_OK ? P11KMS_STORE_INTERNAL : rc;
}

/* Column and bind helpers --------------------------------------------------- */

p11kms_store_rc p11kms_store_col_blob(sqlite3_stmt *s, int col, unsigned char **out, size_t *len)
{
    const void *p;
    int n;

    *out = NULL;
    *len = 0;
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return P11KMS_STORE_OK;
    p = sqlite3_column_blob(s, col);
    n = sqlite3_column_bytes(s, col);
    /* malloc(1) for an empty value keeps "set but empty" distinct from NULL. */
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (*out == NULL)
        return P11KMS_STORE_NOMEM;
    if (n > 0)
        memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return P11KMS_STORE_OK;
}

p11kms_store_rc p11kms_store_col_text(sqlite3_stmt *s, int col, char **out)
{
    const unsigned char *p;

    *out = NULL;
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return P11KMS_STORE_OK;
    p = sqlite3_column_text(s, col);
    *out = strdup(p != NULL ? (const char *)p : "");
    return *out != NULL ? P11KMS_STORE_OK : P11KMS_STORE_NOMEM;
}

void p11kms_store_col_text_fixed(sqlite3_stmt *s, int col, char *out, size_t cap)
{
    const unsigned char *p = sqlite3_column_text(s, col);
    size_t n = p != NULL ? (size_t)sqlite3_column_bytes(s, col) : 0;

    if (n >= cap)
        n = cap - 1;
    if (n > 0)
        memcpy(out, p, n);
    out[n] = '\0';
}

int p11kms_store_bind_blob(sqlite3_stmt *s, int idx, const unsigned char *p, size_t len)
{
    if (p == NULL)
        return sqlite3_bind_null(s, idx);
    if (len == 0)
        return sqlite3_bind_zeroblob(s, idx, 0);
    return sqlite3_bind_blob64(s, idx, p, len, SQLITE_STATIC);
}

int p11kms_store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(s, idx);
    return sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC);
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                             */

p11kms_store_rc p11kms_store_begin_write(p11kms_store *st)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (st->in_txn != 0) {
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    rc = p11kms_store_exec(st, "BEGIN IMMEDIATE");
    if (rc != P11KMS_STORE_OK)
        goto done;
    st->in_txn = 2;
    st->changed = 0;
done:
    return rc;
}

p11kms_store_rc p11kms_store_begin_read(p11kms_store *st)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (st->in_txn != 0) {
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    rc = p11kms_store_exec(st, "BEGIN DEFERRED");
    if (rc == P11KMS_STORE_OK)
        st->in_txn = 1;
done:
    return rc;
}

static p11kms_store_rc bump_counter(p11kms_store *st)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    sqlite3_stmt *s = p11kms_store_stmt(st, STMT_COUNTER_BUMP, &rc);

    if (s == NULL)
        goto done;
    rc = p11kms_store_step_rc(st, sqlite3_step(s));
done:
    p11kms_store_stmt_done(s);
    return rc;
}

p11kms_store_rc p11kms_store_commit(p11kms_store *st)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (st->in_txn == 0) {
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    if (st->in_txn == 2 && st->changed) {
        rc = bump_counter(st);
        if (rc != P11KMS_STORE_OK)
            goto done;
    }
    rc = p11kms_store_exec(st, "COMMIT");
    if (rc != P11KMS_STORE_OK)
        goto done;
    st->in_txn = 0;
    st->changed = 0;
    if (st->want_truncate) {
        st->want_truncate = 0;
        p11kms_store_try_truncate(st);
    }
done:
    /* A failed COMMIT (e.g. disk full) must not leave the handle stuck in
     * a half-open transaction: roll back so the caller sees all or nothing. */
    if (rc != P11KMS_STORE_OK && rc != P11KMS_STORE_FORKED && st != NULL && st->in_txn != 0)
        p11kms_store_rollback(st);
    return rc;
}

p11kms_store_rc p11kms_store_rollback(p11kms_store *st)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (sqlite3_get_autocommit(st->db) == 0)
        rc = p11kms_store_exec(st, "ROLLBACK");
    st->in_txn = 0;
    st->changed = 0;
    st->want_truncate = 0;
    st->savepoint_depth = 0;
done:
    return rc;
}

/* Runs one cached statement without results (savepoint control). */
static p11kms_store_rc run_cached(p11kms_store *st, enum p11kms_store_stmt_id id)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    sqlite3_stmt *s = p11kms_store_stmt(st, id, &rc);

    if (s != NULL)
        rc = p11kms_store_step_rc(st, sqlite3_step(s));
    p11kms_store_stmt_done(s);
    return rc;
}

/* Runs fn in a savepoint of the caller's write transaction. */
static p11kms_store_rc atomic_nested(p11kms_store *st,
                                     p11kms_store_rc (*fn)(p11kms_store *, void *), void *arg)
{
    int was_changed = st->changed, was_truncate = st->want_truncate;
    p11kms_store_rc rc = run_cached(st, STMT_SAVEPOINT);

    if (rc != P11KMS_STORE_OK)
        goto done;
    st->savepoint_depth++;
    rc = fn(st, arg);
    if (rc != P11KMS_STORE_OK) {
        run_cached(st, STMT_ROLLBACK_TO);
        st->changed = was_changed;
        st->want_truncate = was_truncate;
    }
    run_cached(st, STMT_RELEASE);
    st->savepoint_depth--;
done:
    return rc;
}

p11kms_store_rc p11kms_store_atomic(p11kms_store *st, p11kms_store_rc (*fn)(p11kms_store *, void *),
                                    void *arg)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (st->in_txn == 2) {
        rc = atomic_nested(st, fn, arg);
        goto done;
    }
    if (st->in_txn == 1) {
        /* A deferred read snapshot cannot be upgraded reliably. */
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    rc = p11kms_store_begin_write(st);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = fn(st, arg);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_commit(st);
    else
        p11kms_store_rollback(st);
done:
    return rc;
}

void p11kms_store_try_truncate(p11kms_store *st)
{
    /* TRUNCATE waits for readers through the busy handler; keep that wait
     * short — a reader still holding old frames just defers the wipe to the
     * next destroy or the last connection's checkpoint. */
    sqlite3_busy_timeout(st->db, 50);
    sqlite3_wal_checkpoint_v2(st->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(st->db, st->busy_ms);
}

/* ------------------------------------------------------------------------ */
/* Change detection                                                         */

p11kms_store_rc p11kms_store_change_counter(p11kms_store *st, uint64_t *out)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src;

    if (rc != P11KMS_STORE_OK || out == NULL)
        goto done;
    s = p11kms_store_stmt(st, STMT_COUNTER_GET, &rc);
    if (s == NULL)
        goto done;
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    else if (src == SQLITE_DONE)
        rc = P11KMS_STORE_CORRUPT;
    else
        rc = p11kms_store_step_rc(st, src);
done:
    p11kms_store_stmt_done(s);
    if (rc == P11KMS_STORE_OK && out == NULL)
        rc = P11KMS_STORE_INVALID;
    return rc;
}

p11kms_store_rc p11kms_store_data_version(p11kms_store *st, int64_t *out)
{
    /* The PRAGMA, not SQLITE_FCNTL_DATA_VERSION: the file control reports
     * the value of the last read transaction, so it misses another
     * connection's commit until this one reads again. */
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (out == NULL) {
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    s = p11kms_store_stmt(st, STMT_DATA_VERSION, &rc);
    if (s == NULL)
        goto done;
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_INTERNAL : p11kms_store_step_rc(st, src);
done:
    p11kms_store_stmt_done(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* AEAD                                                                     */

#define WRAP_FORMAT 0x01

p11kms_store_rc p11kms_store_seal_with(const unsigned char *key, const unsigned char *aad,
                                       size_t aadlen, const unsigned char *in, size_t inlen,
                                       unsigned char **out, size_t *outlen)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    unsigned char *buf = NULL;
    size_t n;

    if (inlen > SIZE_MAX - P11KMS_STORE_WRAP_OVERHEAD || out == NULL || outlen == NULL) {
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    n = inlen + P11KMS_STORE_WRAP_OVERHEAD;
    buf = malloc(n);
    if (buf == NULL) {
        rc = P11KMS_STORE_NOMEM;
        goto done;
    }
    buf[0] = WRAP_FORMAT;
    if (!p11kms_crypto_random(buf + 1, P11KMS_GCM_IV_LEN))
        goto done;
    if (!p11kms_crypto_aes_gcm_seal(key, P11KMS_STORE_ROOT_KEY_LEN, buf + 1, P11KMS_GCM_IV_LEN, aad,
                                    aadlen, in, inlen, buf + 1 + P11KMS_GCM_IV_LEN,
                                    buf + n - P11KMS_GCM_TAG_LEN, P11KMS_GCM_TAG_LEN))
        goto done;
    *out = buf;
    *outlen = n;
    buf = NULL;
    rc = P11KMS_STORE_OK;
done:
    free(buf);
    return rc;
}

p11kms_store_rc p11kms_store_open_with(const unsigned char *key, const unsigned char *aad,
                                       size_t aadlen, const unsigned char *in, size_t inlen,
                                       unsigned char *out, size_t cap, size_t *outlen)
{
    p11kms_store_rc rc = P11KMS_STORE_CRYPTO;
    size_t n;

    if (outlen == NULL || in == NULL)
        return P11KMS_STORE_INVALID;
    if (inlen < P11KMS_STORE_WRAP_OVERHEAD || in[0] != WRAP_FORMAT)
        goto done;
    n = inlen - P11KMS_STORE_WRAP_OVERHEAD;
    *outlen = n;
    if (out == NULL || cap < n) {
        rc = P11KMS_STORE_INVALID;
        goto done;
    }
    if (!p11kms_crypto_aes_gcm_open(key, P11KMS_STORE_ROOT_KEY_LEN, in + 1, P11KMS_GCM_IV_LEN, aad,
                                    aadlen, in + 1 + P11KMS_GCM_IV_LEN, n,
                                    in + inlen - P11KMS_GCM_TAG_LEN, P11KMS_GCM_TAG_LEN, out))
        goto done;
    rc = P11KMS_STORE_OK;
done:
    return rc;
}

p11kms_store_rc p11kms_store_wrap(p11kms_store *st, const unsigned char *aad, size_t aadlen,
                                  const unsigned char *in, size_t inlen, unsigned char **out,
                                  size_t *outlen)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (st->root_key == NULL) {
        rc = P11KMS_STORE_NOT_LOGGED_IN;
        goto done;
    }
    rc = p11kms_store_seal_with(st->root_key, aad, aadlen, in, inlen, out, outlen);
done:
    return rc;
}

p11kms_store_rc p11kms_store_unwrap(p11kms_store *st, const unsigned char *aad, size_t aadlen,
                                    const unsigned char *in, size_t inlen, unsigned char *out,
                                    size_t cap, size_t *outlen)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (st->root_key == NULL) {
        rc = P11KMS_STORE_NOT_LOGGED_IN;
        goto done;
    }
    rc = p11kms_store_open_with(st->root_key, aad, aadlen, in, inlen, out, cap, outlen);
done:
    return rc;
}
