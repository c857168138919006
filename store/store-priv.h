/*
 * store/store-priv.h — the handle layout and helpers shared by the store's
 * own source files (store*.c).  Not for the audit or config code: they use
 * store-internal.h, so the handle can change without touching them.
 */
#ifndef P11KMS_STORE_STORE_PRIV_H
#define P11KMS_STORE_STORE_PRIV_H

#include <sqlite3.h>
#include <sys/types.h>

#include "store/store-internal.h"
#include "store/store.h"

#define P11KMS_STORE_APPLICATION_ID 0x70316b6d /* "p1km" */
#define P11KMS_STORE_ROOT_KEY_LEN   32

/* Cached statements: one slot per hot query, prepared on first use. */
enum p11kms_store_stmt_id {
    STMT_COUNTER_GET,
    STMT_COUNTER_BUMP,
    STMT_TOKEN_GET,
    STMT_WRAP_GET,
    STMT_KEY_GET,
    STMT_KEY_INSERT,
    STMT_KEY_UPDATE,
    STMT_KEY_STATE,
    STMT_KEY_SET_CURRENT,
    STMT_VERSION_INSERT,
    STMT_VERSION_GET,
    STMT_VERSION_LIST,
    STMT_MATERIAL_GET,
    STMT_ALIAS_RESOLVE,
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
    STMT_DATA_VERSION,
    STMT_COUNT_
};

/* Column list of the keys table in the order p11kms_store_key_from_row reads. */
#define P11KMS_STORE_KEY_COLS                                                                      \
    "k.key_id, k.key_spec, k.key_usage, k.key_state, k.origin, k.key_manager, "                    \
    "k.description, k.creation, k.deletion, k.pending_window, k.rotation_enabled, "                \
    "k.rotation_period, k.next_rotation, k.last_rotation, k.current_version, k.owner_uid, "        \
    "k.owner_gid, k.app_id, k.app_label, k.attrs, k.updated"

/* Key-list filters are built from a bit mask; each shape is cached. */
#define P11KMS_STORE_KEY_FILTER_BITS 11

typedef struct p11kms_store_stmt_cache {
    sqlite3_stmt *fixed[STMT_COUNT_];
    sqlite3_stmt *key_list[1u << P11KMS_STORE_KEY_FILTER_BITS];
} p11kms_store_stmt_cache;

struct p11kms_store {
    sqlite3 *db;
    char *path;
    pid_t pid;      /* opener; other pids get FORKED */
    unsigned flags; /* P11KMS_STORE_OPEN_* */
    int busy_ms;
    int in_txn;        /* 0 none, 1 read, 2 write */
    int changed;       /* write txn touched key-store data */
    int want_truncate; /* material destroyed: checkpoint(TRUNCATE) */
    unsigned savepoint_depth;
    p11kms_store_user user;  /* who unlocked the root key */
    unsigned char *root_key; /* secmem, P11KMS_STORE_ROOT_KEY_LEN, or NULL */
    p11kms_store_stmt_cache *cache;
    void *audit_state;
    void (*audit_free)(void *);
    p11kms_store_rekey_fn rekey_hook;
    void *rekey_arg;
    const unsigned char *rekey_old; /* old root key, only during rotation */
};

/* Prepared statement for slot id (cached), or NULL with *rc set. */
sqlite3_stmt *p11kms_store_stmt(p11kms_store *st, enum p11kms_store_stmt_id id,
                                p11kms_store_rc *rc);
/* Prepared statement cached under slot *slot for sql. */
sqlite3_stmt *p11kms_store_stmt_cached(p11kms_store *st, sqlite3_stmt **slot, const char *sql,
                                       p11kms_store_rc *rc);
/* sqlite3_reset + sqlite3_clear_bindings (NULL is fine). */
void p11kms_store_stmt_done(sqlite3_stmt *s);
/* Finalizes every cached statement. */
void p11kms_store_stmt_cache_free(p11kms_store *st);

/* Executes SQL text (one or more statements, no results) and maps errors. */
p11kms_store_rc p11kms_store_exec(p11kms_store *st, const char *sql);

/* Maps the result of sqlite3_step: DONE/ROW -> OK, else the error. */
p11kms_store_rc p11kms_store_step_rc(p11kms_store *st, int src);

/* Common entry checks: not forked; for writes also not read-only. */
p11kms_store_rc p11kms_store_enter(const p11kms_store *st, int write);

/* Column helpers: blob copies keep "empty but set" distinct from NULL. */
p11kms_store_rc p11kms_store_col_blob(sqlite3_stmt *s, int col, unsigned char **out, size_t *len);
p11kms_store_rc p11kms_store_col_text(sqlite3_stmt *s, int col, char **out);
void p11kms_store_col_text_fixed(sqlite3_stmt *s, int col, char *out, size_t cap);
int p11kms_store_bind_blob(sqlite3_stmt *s, int idx, const unsigned char *p, size_t len);
int p11kms_store_bind_text(sqlite3_stmt *s, int idx, const char *text);

/* Attempts PRAGMA wal_checkpoint(TRUNCATE) with a short busy wait. */
void p11kms_store_try_truncate(p11kms_store *st);

/* Schema (store-schema.c). */
typedef struct p11kms_store_migration {
    int to_version;       /* user_version after this step */
    const char *sql;      /* statements to run, may be NULL */
    int include_audit_v1; /* also run p11kms_store_audit_schema_v1 */
} p11kms_store_migration;

/* Classifies an open connection: OK (with *version), FOREIGN, TOO_NEW,
 * NOTFOUND (empty database), CORRUPT.  Reads only. */
p11kms_store_rc p11kms_store_schema_probe(p11kms_store *st, int *version);
/* Runs steps to reach target in one BEGIN IMMEDIATE transaction,
 * re-reading user_version inside it. */
p11kms_store_rc p11kms_store_schema_migrate_steps(p11kms_store *st,
                                                  const p11kms_store_migration *steps,
                                                  size_t nsteps, int target);
/* Migrates to P11KMS_STORE_SCHEMA_VERSION with the built-in steps. */
p11kms_store_rc p11kms_store_schema_migrate(p11kms_store *st);

/* Root-key AEAD (store.c) with an explicit key: the token code uses it
 * with PIN-derived keys. */
p11kms_store_rc p11kms_store_seal_with(const unsigned char *key, const unsigned char *aad,
                                       size_t aadlen, const unsigned char *in, size_t inlen,
                                       unsigned char **out, size_t *outlen);
p11kms_store_rc p11kms_store_open_with(const unsigned char *key, const unsigned char *aad,
                                       size_t aadlen, const unsigned char *in, size_t inlen,
                                       unsigned char *out, size_t cap, size_t *outlen);

/* Fills k from a row selected with P11KMS_STORE_KEY_COLS (store-keys.c). */
p11kms_store_rc p11kms_store_key_from_row(sqlite3_stmt *s, p11kms_store_key *k);

/* Re-seals every key version's material from old_root to st->root_key
 * (inside the caller's write transaction; store-keys.c). */
p11kms_store_rc p11kms_store_reseal_material(p11kms_store *st, const unsigned char *old_root);

/* Wipes every key-store row (token re-initialisation). */
p11kms_store_rc p11kms_store_wipe_all(p11kms_store *st);

#endif /* P11KMS_STORE_STORE_PRIV_H */
