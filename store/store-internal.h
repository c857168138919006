/*
 * store/store-internal.h — what code INSIDE store/ (the audit chain, the
 * configuration-independent helpers) may use of a store handle beyond the
 * public store.h: the raw SQLite connection, the transaction state, the
 * SQLite-to-rc mapping, and a per-handle slot for the audit code's own state
 * (cached statements, journal fd) that is released before the connection.
 * Never include this header outside store/.
 */
#ifndef P11KMS_STORE_STORE_INTERNAL_H
#define P11KMS_STORE_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* The handle's connection.  NULL if the handle was used after fork. */
sqlite3 *p11kms_store_db(p11kms_store *st);

/* P11KMS_STORE_OK, or P11KMS_STORE_FORKED when called in a process other
 * than the one that opened st.  Call it first in every public entry point. */
p11kms_store_rc p11kms_store_check_pid(const p11kms_store *st);

/* 1 inside p11kms_store_begin_write() ... commit/rollback (BEGIN IMMEDIATE,
 * the write lock is held), 0 otherwise.  The audit append writes its record
 * in that transaction when this is 1. */
int p11kms_store_in_write_txn(const p11kms_store *st);

/* 1 inside any explicit transaction (read or write). */
int p11kms_store_in_txn(const p11kms_store *st);

/* 1 if opened with P11KMS_STORE_OPEN_SYNC_FULL. */
int p11kms_store_sync_full(const p11kms_store *st);

/* The busy timeout in ms used by this handle. */
int p11kms_store_busy_timeout_ms(const p11kms_store *st);

/* Maps an SQLite result code (primary or extended) to a store rc:
 * BUSY/LOCKED -> BUSY, FULL -> FULL, READONLY -> READONLY, CORRUPT/NOTADB
 * -> CORRUPT, IOERR -> IO, NOMEM -> NOMEM, CONSTRAINT_UNIQUE/PRIMARYKEY ->
 * EXISTS, CONSTRAINT_FOREIGNKEY -> NOTFOUND, CANTOPEN -> IO, PERM/AUTH ->
 * PERM, anything else -> INTERNAL. */
p11kms_store_rc p11kms_store_rc_from_sqlite(int sqlite_rc);

/* Marks the current write transaction as a key-store change, so commit bumps
 * the change counter (audit-only transactions leave it alone). */
void p11kms_store_mark_changed(p11kms_store *st);

/*
 * One opaque slot per handle for the audit code.  free_fn (may be NULL) is
 * called by p11kms_store_close() BEFORE the connection closes (finalize
 * cached statements there), but not in a forked child (see store.h).
 */
void *p11kms_store_audit_state(p11kms_store *st);
void p11kms_store_set_audit_state(p11kms_store *st, void *state, void (*free_fn)(void *));

/*
 * Root-key rotation (p11kms_store_root_key_rotate) re-seals everything
 * sealed under the root key inside ONE write transaction.  Code outside the
 * key tables that keeps root-key-sealed blobs (the audit signing key)
 * registers a hook on the handle; during the rotation it calls
 * p11kms_store_rekey_blob for each of its blobs and updates its rows.
 * Rotation refuses to run (INVALID) while sealed audit keys may exist and no
 * hook is registered, so nothing is ever left sealed under a dropped key.
 */
typedef p11kms_store_rc (*p11kms_store_rekey_fn)(p11kms_store *st, void *arg);
void p11kms_store_set_rekey_hook(p11kms_store *st, p11kms_store_rekey_fn fn, void *arg);

/* Only inside a rekey hook: opens in (sealed under the old root key with
 * aad) and seals it under the new one; *out is malloc'd. */
p11kms_store_rc p11kms_store_rekey_blob(p11kms_store *st, const unsigned char *aad, size_t aadlen,
                                        const unsigned char *in, size_t inlen, unsigned char **out,
                                        size_t *outlen);

/*
 * Runs fn(st, arg) atomically: inside an explicit write transaction as a
 * SAVEPOINT (rolled back to on error), otherwise in its own BEGIN
 * IMMEDIATE ... COMMIT.  What every mutating store call uses.
 */
p11kms_store_rc p11kms_store_atomic(p11kms_store *st,
                                    p11kms_store_rc (*fn)(p11kms_store *st, void *arg), void *arg);

/*
 * The audit tables (SQL text, several statements), defined by the audit
 * owner in store/audit*.c and executed by the migration to user_version 1
 * in the same transaction as the key-store tables.
 */
extern const char p11kms_store_audit_schema_v1[];

#endif /* P11KMS_STORE_STORE_INTERNAL_H */
