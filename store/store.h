/*
 * store/store.h — the public interface of the p11kms key store.
 *
 * The store is one SQLite file (WAL mode) holding the token row (label,
 * PIN state, the wrapped root key), CMKs with their versions, aliases, key
 * policies, identity policies, grants, generic PKCS#11 objects and, in the
 * same file, the audit chain (store/audit.h).  SQLite stays behind this
 * interface: no caller above store/ sees a statement or a row id, so another
 * backend can be added without touching kms/.
 *
 * Conventions
 *  - Every function returns a p11kms_store_rc; P11KMS_STORE_OK is 0.
 *  - Strings are NUL-terminated UTF-8.  Key ids are 36-char UUID strings.
 *    Key specs, usages, states, origins and managers are stored as the KMS
 *    names ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", ...): the store
 *    does not interpret them except where noted (rotate requires "Enabled";
 *    lists skip "PendingDeletion" unless asked).
 *  - Structures returned by the store own their heap members; release them
 *    with the matching _clear() or _free() function.  Structures passed IN
 *    are only read; their pointer members may point anywhere.
 *  - Times are milliseconds since the Unix epoch (UTC).
 *  - Secrets handed out (material, unwrapped data) go into a CALLER buffer
 *    (out, cap, *outlen), so the caller decides where plaintext lives
 *    (e.g. p11kms_secmem_alloc pages).  out == NULL or a too small cap
 *    returns P11KMS_STORE_INVALID with *outlen set to the size needed.
 *
 * Transactions
 *  - Every mutating call is atomic on its own: outside an explicit
 *    transaction it runs in its own BEGIN IMMEDIATE ... COMMIT; inside one
 *    (p11kms_store_begin_write) it runs in a SAVEPOINT of that transaction,
 *    so a failed call leaves the outer transaction as it was.
 *  - A management change and its audit record commit together: call
 *    p11kms_store_begin_write(), the mutations, p11kms_store_audit_append(),
 *    then p11kms_store_commit().
 *  - Checks that must not race (state re-checks, expected versions) are done
 *    inside the write transaction and report P11KMS_STORE_CONFLICT.
 *  - Lock waits are bounded by the busy timeout (P11KMS_STORE_BUSY).
 *
 * Threads and processes
 *  - A handle is NOT thread-safe (the connection is opened with
 *    SQLITE_OPEN_NOMUTEX): serialise every use of one handle (the kms layer
 *    holds a mutex per handle) or open one handle per thread.  Any number of
 *    handles, threads and processes may share one store file.
 *  - Fork: a handle remembers the pid that opened it.  Used from another
 *    process every call fails with P11KMS_STORE_FORKED; p11kms_store_close()
 *    in the child frees only the handle's own memory and deliberately leaks
 *    the SQLite connection (closing it could release the parent's POSIX
 *    locks and checkpoint under the parent's feet).  The root key lives in
 *    MADV_WIPEONFORK pages, so a child never sees it.
 */
#ifndef P11KMS_STORE_STORE_H
#define P11KMS_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p11kms_store p11kms_store;

typedef enum p11kms_store_rc {
    P11KMS_STORE_OK = 0,
    P11KMS_STORE_NOTFOUND, /* no such row / store file missing */
    P11KMS_STORE_EXISTS,   /* unique id, alias, grant... taken */
    P11KMS_STORE_BUSY,     /* lock not obtained within busy timeout */
    P11KMS_STORE_CORRUPT,  /* not a database / malformed database */
    P11KMS_STORE_FOREIGN,  /* an SQLite file that is not a p11kms store */
    P11KMS_STORE_TOO_NEW,  /* schema newer than this build */
    P11KMS_STORE_IO,       /* I/O error */
    P11KMS_STORE_FULL,     /* disk or quota full */
    P11KMS_STORE_READONLY, /* write on a read-only handle or file */
    P11KMS_STORE_NOMEM,
    P11KMS_STORE_PIN_INCORRECT,
    P11KMS_STORE_PIN_LOCKED,      /* too many failures for that user type */
    P11KMS_STORE_PIN_LEN_RANGE,   /* PIN shorter than minimum / too long */
    P11KMS_STORE_NOT_INITIALIZED, /* token (or user PIN) not initialised */
    P11KMS_STORE_ALREADY_INITIALIZED,
    P11KMS_STORE_NOT_LOGGED_IN, /* root key not available in the handle */
    P11KMS_STORE_INVALID,       /* bad argument, or buffer too small */
    P11KMS_STORE_CRYPTO,        /* AEAD tag/AAD mismatch: moved or corrupted row */
    P11KMS_STORE_CONFLICT,      /* state changed under us (re-check failed) */
    P11KMS_STORE_PERM,          /* file exists but is not accessible (EACCES) */
    P11KMS_STORE_FORKED,        /* handle used in a process other than its opener */
    P11KMS_STORE_INTERNAL       /* unexpected SQLite/OpenSSL failure */
} p11kms_store_rc;

/* A static, human-readable description of rc (never NULL). */
const char *p11kms_store_strerror(p11kms_store_rc rc);

/* ------------------------------------------------------------------------ */
/* Opening                                                                   */

#define P11KMS_STORE_OPEN_READONLY  0x1u /* never creates or writes anything */
#define P11KMS_STORE_OPEN_CREATE    0x2u /* create file 0600 (and dir 0700) if missing */
#define P11KMS_STORE_OPEN_SYNC_FULL 0x4u /* synchronous=FULL (audit durability "power") */

typedef struct p11kms_store_options {
    unsigned flags;      /* P11KMS_STORE_OPEN_* */
    int busy_timeout_ms; /* <= 0: P11KMS_STORE_DEFAULT_BUSY_MS */
} p11kms_store_options;

#define P11KMS_STORE_DEFAULT_BUSY_MS 5000
#define P11KMS_STORE_SCHEMA_VERSION  1

/*
 * Opens (and with P11KMS_STORE_OPEN_CREATE creates) the store at path.
 * opts may be NULL (read-write, no create, default busy timeout).
 * Uses SQLite's "unix" VFS explicitly, journal_mode=WAL, synchronous NORMAL
 * (FULL with P11KMS_STORE_OPEN_SYNC_FULL), foreign_keys, secure_delete,
 * temp_store=MEMORY.  A read-write open of an older schema migrates it in
 * one transaction; a newer schema gives TOO_NEW, a non-p11kms SQLite file
 * FOREIGN, a non-database file CORRUPT, a missing file NOTFOUND, an
 * unreadable one PERM.  A read-only open never creates, migrates or writes
 * (an older schema is read as is when compatible, else TOO_NEW/FOREIGN).
 * The parent directory is created 0700 in create mode (one level only).
 */
p11kms_store_rc p11kms_store_open(const char *path, const p11kms_store_options *opts,
                                  p11kms_store **out);

/* Wipes the root key and closes; NULL is fine.  See fork note above. */
void p11kms_store_close(p11kms_store *st);

/* The path given to open (owned by the handle). */
const char *p11kms_store_path(const p11kms_store *st);

/* 1 if the handle was opened read-only. */
int p11kms_store_is_readonly(const p11kms_store *st);

/* ------------------------------------------------------------------------ */
/* Transactions and change detection                                         */

/* BEGIN IMMEDIATE: takes the write lock now (BUSY after the timeout). */
p11kms_store_rc p11kms_store_begin_write(p11kms_store *st);
/* BEGIN (deferred): a consistent snapshot for several reads. */
p11kms_store_rc p11kms_store_begin_read(p11kms_store *st);
/* Commits; if the transaction changed key-store data it bumps the store-wide
 * change counter first (audit-only transactions do not). */
p11kms_store_rc p11kms_store_commit(p11kms_store *st);
/* Rolls back; always leaves the handle outside any transaction. */
p11kms_store_rc p11kms_store_rollback(p11kms_store *st);

/*
 * The store-wide change counter: incremented by every committed
 * transaction that changed the key store (token, keys, versions, aliases,
 * policies, grants, objects).  One indexed row read.
 */
p11kms_store_rc p11kms_store_change_counter(p11kms_store *st, uint64_t *out);

/*
 * PRAGMA data_version: changes whenever ANOTHER connection committed to the
 * file; answered from the WAL index in shared memory (no disk read, about
 * a microsecond).  Cache pattern: if data_version is unchanged and this
 * handle committed nothing, the change counter is unchanged too.  Inside
 * an explicit transaction it reports that transaction's snapshot.
 */
p11kms_store_rc p11kms_store_data_version(p11kms_store *st, int64_t *out);

/*
 * Online backup to a NEW file dest (created 0600, never overwritten:
 * EXISTS): a consistent snapshot taken while other processes keep working.
 * On a writable handle the data-plane audit journals are folded first, so
 * the copy holds every record.  Not inside an explicit transaction.
 */
p11kms_store_rc p11kms_store_backup(p11kms_store *st, const char *dest);

/* PRAGMA integrity_check (quick_check when quick) plus foreign_key_check:
 * OK or CORRUPT. */
p11kms_store_rc p11kms_store_integrity_check(p11kms_store *st, int quick);

/* ------------------------------------------------------------------------ */
/* Token, PINs, root key                                                      */

typedef enum p11kms_store_user {
    P11KMS_STORE_USER_NONE = 0,
    P11KMS_STORE_USER_SO = 1,
    P11KMS_STORE_USER_USER = 2,
    P11KMS_STORE_USER_SERVICE = 3 /* unlocked with the service key file */
} p11kms_store_user;

/* scrypt parameters; recorded with every wrap of the root key. */
typedef struct p11kms_store_kdf {
    uint64_t n; /* CPU/memory cost, power of two */
    uint32_t r; /* block size */
    uint32_t p; /* parallelism */
} p11kms_store_kdf;

/* The default: N = 2^14, r = 8, p = 1 (16 MiB; measured ~40-65 ms per
 * login on the project machines, 2^15 took 150-350 ms there). */
#define P11KMS_STORE_KDF_DEFAULT_LOG2N 14

/*
 * Fills kdf for a cost value (the configuration's "kdf" key): N = 2^log2n,
 * r = 8, p = 1.  log2n 0 means the default.  Valid 10..20 (10 only for
 * tests; 20 uses 1 GiB); others give INVALID.
 */
p11kms_store_rc p11kms_store_kdf_from_cost(unsigned log2n, p11kms_store_kdf *kdf);

#define P11KMS_STORE_TOKEN_LABEL_MAX   32
#define P11KMS_STORE_PIN_MAX           256
#define P11KMS_STORE_DEFAULT_MIN_PIN   8
#define P11KMS_STORE_DEFAULT_MAX_FAILS 10

typedef struct p11kms_store_token_info {
    int initialized;  /* C_InitToken done */
    int user_pin_set; /* C_InitPIN done */
    char label[P11KMS_STORE_TOKEN_LABEL_MAX + 1];
    char serial[17];                     /* 16 hex chars, fixed at init */
    uint32_t flags;                      /* opaque, for pkcs11/ */
    uint32_t user_failures, so_failures; /* consecutive failed logins */
    int user_locked, so_locked;
    uint32_t max_failures; /* lock threshold (10) */
    uint32_t min_pin_len;
    int has_service_key;  /* a service key file wrap exists */
    p11kms_store_kdf kdf; /* parameters for new PIN wraps */
    int64_t init_time_ms;
} p11kms_store_token_info;

/* Token row; works on read-only handles.  A store without a token row (or
 * a missing token) reports initialized = 0 with OK. */
p11kms_store_rc p11kms_store_token_info_get(p11kms_store *st, p11kms_store_token_info *out);

typedef struct p11kms_store_token_params {
    const char *label;           /* <= 32 bytes */
    const p11kms_store_kdf *kdf; /* NULL: default */
    uint32_t min_pin_len;        /* 0: P11KMS_STORE_DEFAULT_MIN_PIN */
    uint32_t max_failures;       /* 0: P11KMS_STORE_DEFAULT_MAX_FAILS */
    int allow_reinit;            /* 1: wipe an initialised token (test tokens) */
} p11kms_store_token_params;

/*
 * C_InitToken: creates a fresh random root key wrapped under the SO PIN.
 * On an initialised token: ALREADY_INITIALIZED unless allow_reinit, in
 * which case every key, version, alias, policy, grant and object is
 * destroyed first (audit records stay; the audit owner decides about them).
 * The user PIN is unset afterwards.  Leaves the handle logged out.
 */
p11kms_store_rc p11kms_store_token_init(p11kms_store *st, const char *so_pin, size_t so_pin_len,
                                        const p11kms_store_token_params *params);

/* Updates the opaque token flags word (pkcs11/ bookkeeping). */
p11kms_store_rc p11kms_store_token_set_flags(p11kms_store *st, uint32_t flags);

/*
 * Login: derives the wrapping key from the PIN (scrypt with the parameters
 * recorded on that wrap), unwraps the root key into secure memory held by
 * the handle.  PIN_INCORRECT increments that user type's persistent failure
 * counter; at max_failures the type is locked (PIN_LOCKED, also for the
 * right PIN).  Success resets the counter.  user: SO or USER.
 */
p11kms_store_rc p11kms_store_login(p11kms_store *st, p11kms_store_user user, const char *pin,
                                   size_t pin_len);

/* Unlocks with the service key file (32 raw bytes, must be 0600, owned by
 * the caller's uid).  NOTFOUND if no service wrap exists, CRYPTO if the file
 * is the wrong key. */
p11kms_store_rc p11kms_store_login_keyfile(p11kms_store *st, const char *path);

/* Wipes the root key from the handle.  OK when not logged in. */
p11kms_store_rc p11kms_store_logout(p11kms_store *st);

/* Who is logged in on this handle. */
p11kms_store_user p11kms_store_logged_in(const p11kms_store *st);

/* C_InitPIN: SO logged in; (re)sets the user PIN wrap, clears the user
 * failure counter and lock. */
p11kms_store_rc p11kms_store_init_pin(p11kms_store *st, const char *pin, size_t pin_len);

/*
 * C_SetPIN: checks old_pin for user (SO or USER) like login (failures count
 * and lock) and rewraps the root key under new_pin.  Material is untouched.
 */
p11kms_store_rc p11kms_store_set_pin(p11kms_store *st, p11kms_store_user user, const char *old_pin,
                                     size_t old_len, const char *new_pin, size_t new_len);

/*
 * Replaces the root key (after a PIN leak, or to retire old backups): the
 * handle must be logged in; both PINs are checked (user_pin may be NULL
 * only while no user PIN is set) and re-wrap the new key; every key
 * version and every other root-sealed blob is re-sealed in one
 * transaction; the service key wrap is dropped (create a new file).
 * The handle stays logged in with the new key.
 */
p11kms_store_rc p11kms_store_root_key_rotate(p11kms_store *st, const char *so_pin, size_t so_len,
                                             const char *user_pin, size_t user_len);

/* Logged in: writes a new random 32-byte service key file (O_EXCL, 0600)
 * and stores a root key wrap under it (replacing an earlier one). */
p11kms_store_rc p11kms_store_service_key_create(p11kms_store *st, const char *path);

/* Removes the service key wrap (the file is left to the caller). */
p11kms_store_rc p11kms_store_service_key_remove(p11kms_store *st);

/* ------------------------------------------------------------------------ */
/* Generic AEAD under the root key (audit seal key, key versions, ...)      */

/* Overhead of a wrapped blob: 1 format byte + 12-byte IV + 16-byte tag. */
#define P11KMS_STORE_WRAP_OVERHEAD 29

/*
 * AES-256-GCM under the root key with the given AAD.  *out is malloc'd
 * (free()); it is not secret.  NOT_LOGGED_IN without a root key.
 */
p11kms_store_rc p11kms_store_wrap(p11kms_store *st, const unsigned char *aad, size_t aadlen,
                                  const unsigned char *in, size_t inlen, unsigned char **out,
                                  size_t *outlen);

/* Reverse of wrap into the caller's buffer; CRYPTO on a tag/AAD mismatch. */
p11kms_store_rc p11kms_store_unwrap(p11kms_store *st, const unsigned char *aad, size_t aadlen,
                                    const unsigned char *in, size_t inlen, unsigned char *out,
                                    size_t cap, size_t *outlen);

/* ------------------------------------------------------------------------ */
/* Keys (CMKs)                                                               */

#define P11KMS_STORE_ID_LEN 36

typedef struct p11kms_store_key {
    char key_id[P11KMS_STORE_ID_LEN + 1];
    char key_spec[32];    /* SYMMETRIC_DEFAULT, RSA_2048, ECC_NIST_P256, HMAC_256 ... */
    char key_usage[32];   /* ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC */
    char key_state[32];   /* Enabled, Disabled, PendingDeletion */
    char origin[32];      /* e.g. P11KMS, EXTERNAL */
    char key_manager[16]; /* CUSTOMER or SERVICE */
    char *description;    /* may be NULL (= "") */
    int64_t creation_ms;
    int64_t deletion_ms;          /* scheduled destruction time; 0 none */
    uint32_t pending_window_days; /* 0 unless PendingDeletion */
    int rotation_enabled;
    uint32_t rotation_period_days;
    int64_t next_rotation_ms;      /* 0 none */
    int64_t last_rotation_ms;      /* 0 never */
    uint32_t current_version;      /* set by the store (1 at create) */
    uint32_t owner_uid, owner_gid; /* creator */
    unsigned char *app_id;
    size_t app_id_len; /* CKA_ID, NULL = unset */
    unsigned char *app_label;
    size_t app_label_len; /* CKA_LABEL, NULL = unset */
    unsigned char *attrs;
    size_t attrs_len;   /* opaque blob for pkcs11/ */
    int64_t updated_ms; /* set by the store */
} p11kms_store_key;

/* Frees the heap members of a key returned by the store and zeroes it. */
void p11kms_store_key_clear(p11kms_store_key *k);

/*
 * Creates key k (key_id must be unique, EXISTS otherwise) with version 1
 * holding material (encrypted under the root key, AAD = key id, version,
 * spec) and optional public_der (SPKI, stored in the clear) atomically.
 * current_version is forced to 1.  Requires login.
 */
p11kms_store_rc p11kms_store_key_create(p11kms_store *st, const p11kms_store_key *k,
                                        const unsigned char *material, size_t material_len,
                                        const unsigned char *public_der, size_t public_len);

/* Reads a key's metadata (key_id may point at out->key_id).  NOTFOUND
 * leaves *out zeroed. */
p11kms_store_rc p11kms_store_key_get(p11kms_store *st, const char *key_id, p11kms_store_key *out);

/*
 * Updates the mutable metadata of k->key_id: description, key_state,
 * deletion_ms, pending_window_days, rotation_*, next/last_rotation_ms,
 * app_id, app_label, attrs (spec, usage, origin, manager, owner, creation
 * and current_version are immutable here).  If expect_state is not NULL the
 * row's state is re-checked inside the transaction: CONFLICT if different.
 */
p11kms_store_rc p11kms_store_key_update(p11kms_store *st, const p11kms_store_key *k,
                                        const char *expect_state);

/*
 * Rotation: inside one write transaction re-checks that the key is
 * "Enabled" (CONFLICT otherwise) and, if expect_current != 0, that the
 * current version is still expect_current (CONFLICT otherwise); inserts
 * version current+1 with material, makes it current, sets last_rotation_ms
 * = now_ms and, when rotation is enabled, next_rotation_ms = now_ms +
 * period.  *new_version receives the new number.  Requires login.
 */
p11kms_store_rc p11kms_store_key_rotate(p11kms_store *st, const char *key_id,
                                        uint32_t expect_current, int64_t now_ms,
                                        const unsigned char *material, size_t material_len,
                                        const unsigned char *public_der, size_t public_len,
                                        uint32_t *new_version);

/*
 * Destroys a key: every version (material overwritten, secure_delete),
 * aliases, grants and its key policy, then the key row.  After the commit
 * a wal_checkpoint(TRUNCATE) is attempted so the bytes leave the WAL too
 * (skipped silently while readers hold it).
 */
p11kms_store_rc p11kms_store_key_destroy(p11kms_store *st, const char *key_id);

/* Filter for key lists; zero-initialise and set what you need. */
typedef struct p11kms_store_key_filter {
    const char *key_id; /* exact */
    const char *alias;  /* "alias/NAME": the key it names */
    const char *key_spec;
    const char *key_usage;
    const char *key_state; /* exact state; PendingDeletion included if named */
    const char *key_manager;
    int include_pending_deletion; /* when key_state is NULL */
    int match_app_id;             /* compare app_id (NULL/0 = "unset") */
    const unsigned char *app_id;
    size_t app_id_len;
    int match_app_label;
    const unsigned char *app_label;
    size_t app_label_len;
    int64_t rotation_due_before_ms; /* >0: rotation enabled and next_rotation_ms <= this */
    int64_t deletion_due_before_ms; /* >0: PendingDeletion with deletion_ms <= this */
} p11kms_store_key_filter;

/*
 * Lists keys matching filter (NULL = all except PendingDeletion) ordered by
 * key id, at most limit (0 = 1000) after key id `after` (NULL = from the
 * start).  *out is an array of *count keys (free with
 * p11kms_store_key_list_free); *more = 1 if more rows follow.  Every filter
 * field uses an index; lookups by id, alias, CKA_ID or CKA_LABEL are O(log n).
 */
p11kms_store_rc p11kms_store_key_list(p11kms_store *st, const p11kms_store_key_filter *filter,
                                      const char *after, size_t limit, p11kms_store_key **out,
                                      size_t *count, int *more);
void p11kms_store_key_list_free(p11kms_store_key *keys, size_t count);

/* ------------------------------------------------------------------------ */
/* Key versions                                                              */

typedef struct p11kms_store_version {
    char key_id[P11KMS_STORE_ID_LEN + 1];
    uint32_t version;
    int64_t creation_ms;
    unsigned char *public_der;
    size_t public_len; /* may be NULL */
} p11kms_store_version;

void p11kms_store_version_clear(p11kms_store_version *v);

/* Metadata of one version (no material). */
p11kms_store_rc p11kms_store_version_get(p11kms_store *st, const char *key_id, uint32_t version,
                                         p11kms_store_version *out);

/* All versions of a key, ascending (free with p11kms_store_version_list_free). */
p11kms_store_rc p11kms_store_version_list(p11kms_store *st, const char *key_id,
                                          p11kms_store_version **out, size_t *count);
void p11kms_store_version_list_free(p11kms_store_version *v, size_t count);

/*
 * Decrypts a version's material into the caller's buffer (see the buffer
 * convention at the top).  Requires login; CRYPTO if the row does not
 * belong to this key/version/spec or was altered.
 */
p11kms_store_rc p11kms_store_version_material(p11kms_store *st, const char *key_id,
                                              uint32_t version, unsigned char *out, size_t cap,
                                              size_t *outlen);

/* ------------------------------------------------------------------------ */
/* Aliases                                                                   */

#define P11KMS_STORE_ALIAS_MAX 256

typedef struct p11kms_store_alias {
    char name[P11KMS_STORE_ALIAS_MAX + 1]; /* "alias/..." */
    char key_id[P11KMS_STORE_ID_LEN + 1];
    int64_t creation_ms, updated_ms;
} p11kms_store_alias;

/* Creates alias -> key_id (EXISTS if the name is taken, NOTFOUND no key). */
p11kms_store_rc p11kms_store_alias_create(p11kms_store *st, const char *name, const char *key_id,
                                          int64_t now_ms);
/* Points an existing alias at another key (NOTFOUND if alias or key missing). */
p11kms_store_rc p11kms_store_alias_update(p11kms_store *st, const char *name, const char *key_id,
                                          int64_t now_ms);
p11kms_store_rc p11kms_store_alias_delete(p11kms_store *st, const char *name);
/* key_id_out receives the 36-char id. */
p11kms_store_rc p11kms_store_alias_resolve(p11kms_store *st, const char *name,
                                           char key_id_out[P11KMS_STORE_ID_LEN + 1]);
/* Aliases of key_id (NULL = all), ordered by name, paged like key_list. */
p11kms_store_rc p11kms_store_alias_list(p11kms_store *st, const char *key_id, const char *after,
                                        size_t limit, p11kms_store_alias **out, size_t *count,
                                        int *more);

/* ------------------------------------------------------------------------ */
/* Key policies (one document per key; name "default" as in KMS)            */

p11kms_store_rc p11kms_store_key_policy_put(p11kms_store *st, const char *key_id,
                                            const char *document);
/* *document is malloc'd (free()). */
p11kms_store_rc p11kms_store_key_policy_get(p11kms_store *st, const char *key_id, char **document);

/* ------------------------------------------------------------------------ */
/* Identity policies (per Unix user or group)                               */

typedef enum p11kms_store_principal {
    P11KMS_STORE_PRINCIPAL_ANY = 0, /* only as a list filter */
    P11KMS_STORE_PRINCIPAL_UID = 1,
    P11KMS_STORE_PRINCIPAL_GID = 2
} p11kms_store_principal;

typedef struct p11kms_store_identity_policy {
    p11kms_store_principal type;
    uint32_t id;    /* uid or gid */
    char name[129]; /* policy name */
    char *document; /* owned */
    int64_t updated_ms;
} p11kms_store_identity_policy;

/* Creates or replaces policy (type, id, name). */
p11kms_store_rc p11kms_store_identity_policy_put(p11kms_store *st, p11kms_store_principal type,
                                                 uint32_t id, const char *name,
                                                 const char *document, int64_t now_ms);
p11kms_store_rc p11kms_store_identity_policy_get(p11kms_store *st, p11kms_store_principal type,
                                                 uint32_t id, const char *name, char **document);
p11kms_store_rc p11kms_store_identity_policy_delete(p11kms_store *st, p11kms_store_principal type,
                                                    uint32_t id, const char *name);
/*
 * Policies of (type, id), or every policy with type ANY.  For evaluation,
 * p11kms_store_identity_policy_for_caller returns those of uid and of every
 * gid in gids in one query.
 */
p11kms_store_rc p11kms_store_identity_policy_list(p11kms_store *st, p11kms_store_principal type,
                                                  uint32_t id, p11kms_store_identity_policy **out,
                                                  size_t *count);
p11kms_store_rc p11kms_store_identity_policy_for_caller(p11kms_store *st, uint32_t uid,
                                                        const uint32_t *gids, size_t ngids,
                                                        p11kms_store_identity_policy **out,
                                                        size_t *count);
void p11kms_store_identity_policy_list_free(p11kms_store_identity_policy *p, size_t count);

/* ------------------------------------------------------------------------ */
/* Grants                                                                     */

typedef struct p11kms_store_grant {
    char grant_id[65];
    char key_id[P11KMS_STORE_ID_LEN + 1];
    char *name;             /* may be NULL */
    char *grant_token;      /* may be NULL; unique when set */
    char *grantee;          /* principal text, e.g. "uid:1001" */
    char *retiring;         /* may be NULL */
    char *operations_json;  /* JSON array text */
    char *constraints_json; /* JSON object text or NULL */
    uint32_t issuer_uid;
    int64_t creation_ms;
} p11kms_store_grant;

void p11kms_store_grant_clear(p11kms_store_grant *g);

/* EXISTS if grant_id or token taken, NOTFOUND if key missing. */
p11kms_store_rc p11kms_store_grant_create(p11kms_store *st, const p11kms_store_grant *g);
p11kms_store_rc p11kms_store_grant_get(p11kms_store *st, const char *grant_id,
                                       p11kms_store_grant *out);
p11kms_store_rc p11kms_store_grant_get_by_token(p11kms_store *st, const char *token,
                                                p11kms_store_grant *out);
p11kms_store_rc p11kms_store_grant_delete(p11kms_store *st, const char *grant_id);
/* Grants filtered by key_id and/or grantee (NULL = any), ordered by
 * grant_id, paged like key_list. */
p11kms_store_rc p11kms_store_grant_list(p11kms_store *st, const char *key_id, const char *grantee,
                                        const char *after, size_t limit, p11kms_store_grant **out,
                                        size_t *count, int *more);
void p11kms_store_grant_list_free(p11kms_store_grant *g, size_t count);

/* ------------------------------------------------------------------------ */
/* Generic PKCS#11 objects (certificates, data objects, public keys)        */

typedef struct p11kms_store_object {
    char object_id[P11KMS_STORE_ID_LEN + 1];
    uint64_t object_class; /* CKO_* value, opaque here */
    unsigned char *label;
    size_t label_len; /* CKA_LABEL, may be NULL */
    unsigned char *app_id;
    size_t app_id_len; /* CKA_ID, may be NULL */
    unsigned char *attrs;
    size_t attrs_len; /* serialized attributes, opaque */
    int is_private;   /* CKA_PRIVATE */
    uint32_t owner_uid;
    int64_t creation_ms, updated_ms;
} p11kms_store_object;

void p11kms_store_object_clear(p11kms_store_object *o);

/* EXISTS if object_id taken. */
p11kms_store_rc p11kms_store_object_create(p11kms_store *st, const p11kms_store_object *o);
p11kms_store_rc p11kms_store_object_get(p11kms_store *st, const char *object_id,
                                        p11kms_store_object *out);
/* Replaces label, app_id, attrs, is_private of o->object_id. */
p11kms_store_rc p11kms_store_object_update(p11kms_store *st, const p11kms_store_object *o);
p11kms_store_rc p11kms_store_object_delete(p11kms_store *st, const char *object_id);

typedef struct p11kms_store_object_filter {
    int match_class;
    uint64_t object_class;
    int match_label;
    const unsigned char *label;
    size_t label_len;
    int match_app_id;
    const unsigned char *app_id;
    size_t app_id_len;
} p11kms_store_object_filter;

/* Objects matching filter (NULL = all) ordered by id, paged like key_list. */
p11kms_store_rc p11kms_store_object_list(p11kms_store *st, const p11kms_store_object_filter *f,
                                         const char *after, size_t limit, p11kms_store_object **out,
                                         size_t *count, int *more);
void p11kms_store_object_list_free(p11kms_store_object *o, size_t count);

#ifdef __cplusplus
}
#endif
#endif /* P11KMS_STORE_STORE_H */
