/* kms/kms.h — the CMK engine API: KMS semantics over the store.
 *
 * This is the one interface pkcs11/ calls.  It knows nothing of PKCS#11:
 * it speaks AWS KMS concepts (keys, versions, aliases, states, rotation,
 * envelope blobs, policies, grants) and returns KMS exception names.
 *
 * Rules every call follows (DESIGN.md, Audit and Policies):
 *  - every call that names an operation takes the caller's identity, builds a
 *    policy request, and writes exactly ONE audit record (success, failure or
 *    denial) before it returns; if the record cannot be written the call fails;
 *  - management changes commit together with their record;
 *  - no secret (plaintext, key material, PIN) is ever put in an audit record;
 *  - outputs are heap buffers owned by the caller (p11kms_kms_bytes_clear()
 *    wipes and frees them);
 *  - a p11kms_kms is thread-safe; after fork() the child must open a new one
 *    (p11kms_kms_close() in the child only forgets the parent's handle).
 *
 * Calls that are NOT audited are marked "unaudited": they read nothing
 * secret and exist so the PKCS#11 object layer can show attributes cheaply.
 */
#ifndef P11KMS_KMS_KMS_H
#define P11KMS_KMS_KMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kms/caller.h"
#include "kms/envelope.h"

/* ---------------------------------------------------------------------- */
/* Result codes: KMS exceptions, plus token-level conditions.              */

typedef enum p11kms_kms_rc {
    P11KMS_KMS_OK = 0,
    P11KMS_KMS_NOT_FOUND,           /* NotFoundException */
    P11KMS_KMS_DISABLED,            /* DisabledException */
    P11KMS_KMS_INVALID_STATE,       /* KMSInvalidStateException */
    P11KMS_KMS_ACCESS_DENIED,       /* AccessDeniedException */
    P11KMS_KMS_INVALID_CIPHERTEXT,  /* InvalidCiphertextException */
    P11KMS_KMS_INCORRECT_KEY,       /* IncorrectKeyException */
    P11KMS_KMS_INVALID_KEY_USAGE,   /* InvalidKeyUsageException */
    P11KMS_KMS_VALIDATION,          /* ValidationException */
    P11KMS_KMS_MALFORMED_POLICY,    /* MalformedPolicyDocumentException */
    P11KMS_KMS_ALREADY_EXISTS,      /* AlreadyExistsException */
    P11KMS_KMS_LIMIT_EXCEEDED,      /* LimitExceededException */
    P11KMS_KMS_INVALID_ALIAS_NAME,  /* InvalidAliasNameException */
    P11KMS_KMS_INVALID_GRANT_TOKEN, /* InvalidGrantTokenException */
    P11KMS_KMS_INVALID_GRANT_ID,    /* InvalidGrantIdException */
    P11KMS_KMS_INVALID_MARKER,      /* InvalidMarkerException (paging) */
    P11KMS_KMS_UNSUPPORTED,         /* UnsupportedOperationException */
    P11KMS_KMS_INVALID_SIGNATURE,   /* KMSInvalidSignatureException */
    P11KMS_KMS_INVALID_MAC,         /* KMSInvalidMacException */
    P11KMS_KMS_INTERNAL,            /* KMSInternalException */
    P11KMS_KMS_DEPENDENCY_TIMEOUT,  /* DependencyTimeoutException (store busy) */
    P11KMS_KMS_STORAGE_FULL,        /* StorageFullException (disk full) */
    P11KMS_KMS_STORE_READONLY,      /* StoreReadOnlyException */
    P11KMS_KMS_STORE_CORRUPT,       /* StoreCorruptException (also CRYPTO) */
    P11KMS_KMS_STORE_FOREIGN,       /* StoreForeignException (not a p11kms store) */
    P11KMS_KMS_STORE_TOO_NEW,       /* StoreTooNewException */
    P11KMS_KMS_AUDIT_FAILED,        /* AuditWriteException: record not written */
    P11KMS_KMS_NOT_INITIALIZED,     /* TokenNotInitializedException */
    P11KMS_KMS_ALREADY_INITIALIZED, /* TokenAlreadyInitializedException */
    P11KMS_KMS_NOT_LOGGED_IN,       /* NotLoggedInException */
    P11KMS_KMS_ALREADY_LOGGED_IN,   /* AlreadyLoggedInException */
    P11KMS_KMS_PIN_INCORRECT,       /* PinIncorrectException */
    P11KMS_KMS_PIN_LOCKED,          /* PinLockedException */
    P11KMS_KMS_PIN_LEN_RANGE,       /* PinLengthException */
    P11KMS_KMS_PIN_NOT_SET,         /* UserPinNotInitializedException */
    P11KMS_KMS_NOMEM,               /* OutOfMemoryException */
    P11KMS_KMS_RC_COUNT_
} p11kms_kms_rc;

/* Exception name ("AccessDeniedException"); never NULL. */
const char *p11kms_kms_rc_name(p11kms_kms_rc rc);

/* Finer detail of the last failure on this thread (for messages): e.g.
 * InvalidCiphertext has "truncated", "bad magic", "authentication failed",
 * "encryption context mismatch"...  Never contains secrets; never NULL. */
const char *p11kms_kms_last_detail(void);

/* ---------------------------------------------------------------------- */
/* Enumerations with KMS's names (p11kms_kms_*_name / _parse).             */

typedef enum p11kms_kms_key_spec {
    P11KMS_KMS_SPEC_SYMMETRIC_DEFAULT = 0, /* AES-256-GCM */
    P11KMS_KMS_SPEC_HMAC_256,
    P11KMS_KMS_SPEC_HMAC_384,
    P11KMS_KMS_SPEC_HMAC_512,
    P11KMS_KMS_SPEC_RSA_2048,
    P11KMS_KMS_SPEC_RSA_3072,
    P11KMS_KMS_SPEC_RSA_4096,
    P11KMS_KMS_SPEC_ECC_NIST_P256,
    P11KMS_KMS_SPEC_ECC_NIST_P384,
    P11KMS_KMS_SPEC_ECC_NIST_P521,
    P11KMS_KMS_SPEC_COUNT_
} p11kms_kms_key_spec;

typedef enum p11kms_kms_key_usage {
    P11KMS_KMS_USAGE_ENCRYPT_DECRYPT = 0,
    P11KMS_KMS_USAGE_SIGN_VERIFY,
    P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC,
    P11KMS_KMS_USAGE_COUNT_
} p11kms_kms_key_usage;

typedef enum p11kms_kms_key_state {
    P11KMS_KMS_STATE_ENABLED = 0,
    P11KMS_KMS_STATE_DISABLED,
    P11KMS_KMS_STATE_PENDING_DELETION,
    P11KMS_KMS_STATE_COUNT_
} p11kms_kms_key_state;

typedef enum p11kms_kms_key_manager {
    P11KMS_KMS_MANAGER_CUSTOMER = 0,
    P11KMS_KMS_MANAGER_SERVICE,
} p11kms_kms_key_manager;

typedef enum p11kms_kms_origin {
    P11KMS_KMS_ORIGIN_P11KMS = 0, /* "P11KMS": generated here (KMS's AWS_KMS) */
    P11KMS_KMS_ORIGIN_EXTERNAL,   /* "EXTERNAL": imported material */
} p11kms_kms_origin;

/* Encryption algorithms.  The P11KMS_AES_* values name the raw PKCS#11
 * routes on a symmetric CMK (kms:EncryptionAlgorithm in policies sees them,
 * so a key policy can forbid the raw route). */
typedef enum p11kms_kms_enc_alg {
    P11KMS_KMS_ENC_SYMMETRIC_DEFAULT = 0,
    P11KMS_KMS_ENC_RSAES_OAEP_SHA_1,
    P11KMS_KMS_ENC_RSAES_OAEP_SHA_256,
    P11KMS_KMS_ENC_P11KMS_AES_GCM,     /* raw CKM_AES_GCM */
    P11KMS_KMS_ENC_P11KMS_AES_CBC_PAD, /* raw CKM_AES_CBC_PAD */
    P11KMS_KMS_ENC_P11KMS_AES_KWP,     /* raw RFC 5649 key wrap with padding */
    P11KMS_KMS_ENC_COUNT_
} p11kms_kms_enc_alg;

typedef enum p11kms_kms_sign_alg {
    P11KMS_KMS_SIGN_RSASSA_PSS_SHA_256 = 0,
    P11KMS_KMS_SIGN_RSASSA_PSS_SHA_384,
    P11KMS_KMS_SIGN_RSASSA_PSS_SHA_512,
    P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256,
    P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_384,
    P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_512,
    P11KMS_KMS_SIGN_ECDSA_SHA_256,
    P11KMS_KMS_SIGN_ECDSA_SHA_384,
    P11KMS_KMS_SIGN_ECDSA_SHA_512,
    P11KMS_KMS_SIGN_COUNT_
} p11kms_kms_sign_alg;

typedef enum p11kms_kms_mac_alg {
    P11KMS_KMS_MAC_HMAC_SHA_256 = 0,
    P11KMS_KMS_MAC_HMAC_SHA_384,
    P11KMS_KMS_MAC_HMAC_SHA_512,
    P11KMS_KMS_MAC_COUNT_
} p11kms_kms_mac_alg;

typedef enum p11kms_kms_message_type {
    P11KMS_KMS_MESSAGE_RAW = 0, /* up to 4096 bytes, hashed by the engine */
    P11KMS_KMS_MESSAGE_DIGEST,  /* length must match the algorithm's digest */
} p11kms_kms_message_type;

typedef enum p11kms_kms_data_key_spec {
    P11KMS_KMS_DATA_KEY_NONE = 0, /* use number_of_bytes */
    P11KMS_KMS_DATA_KEY_AES_128,
    P11KMS_KMS_DATA_KEY_AES_256,
} p11kms_kms_data_key_spec;

/* Names as KMS writes them ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT",
 * "PendingDeletion", "CUSTOMER", "RSAES_OAEP_SHA_256", "HMAC_SHA_384"...).
 * _parse returns 1 and sets *out, or 0 for an unknown name. */
const char *p11kms_kms_spec_name(p11kms_kms_key_spec v);
const char *p11kms_kms_usage_name(p11kms_kms_key_usage v);
const char *p11kms_kms_state_name(p11kms_kms_key_state v);
const char *p11kms_kms_manager_name(p11kms_kms_key_manager v);
const char *p11kms_kms_origin_name(p11kms_kms_origin v);
const char *p11kms_kms_enc_alg_name(p11kms_kms_enc_alg v);
const char *p11kms_kms_sign_alg_name(p11kms_kms_sign_alg v);
const char *p11kms_kms_mac_alg_name(p11kms_kms_mac_alg v);
int p11kms_kms_spec_parse(const char *s, p11kms_kms_key_spec *out);
int p11kms_kms_usage_parse(const char *s, p11kms_kms_key_usage *out);
int p11kms_kms_enc_alg_parse(const char *s, p11kms_kms_enc_alg *out);
int p11kms_kms_sign_alg_parse(const char *s, p11kms_kms_sign_alg *out);
int p11kms_kms_mac_alg_parse(const char *s, p11kms_kms_mac_alg *out);

/* KMS's spec/usage matrix: 1 if the pair may be created. */
int p11kms_kms_spec_usage_allowed(p11kms_kms_key_spec spec, p11kms_kms_key_usage usage);

/* Digest length in bytes a DIGEST message must have for this algorithm. */
size_t p11kms_kms_sign_alg_digest_len(p11kms_kms_sign_alg alg);

/* Largest plaintext RSAES_OAEP_* accepts for an RSA spec (KMS's limits:
 * 2048: 214/190, 3072: 342/318, 4096: 470/446 for SHA-1/SHA-256); 0 if n/a. */
size_t p11kms_kms_oaep_max_plaintext(p11kms_kms_key_spec spec, p11kms_kms_enc_alg alg);

/* Upper bound of a signature / MAC / public key for a spec, for PKCS#11
 * length queries without doing the operation. */
size_t p11kms_kms_sign_max_len(p11kms_kms_key_spec spec);
size_t p11kms_kms_mac_len(p11kms_kms_mac_alg alg);

/* Exact length of an envelope blob (Encrypt SYMMETRIC_DEFAULT) for a
 * plaintext of n bytes: p11kms_kms_envelope_blob_len(n) (kms/envelope.h). */

/* ---------------------------------------------------------------------- */
/* Buffers, encryption contexts.                                           */

typedef struct p11kms_kms_bytes {
    uint8_t *data; /* malloc'd; wiped on clear */
    size_t len;
} p11kms_kms_bytes;

/* Wipes (OPENSSL_cleanse) and frees; leaves {NULL, 0}.  NULL-safe. */
void p11kms_kms_bytes_clear(p11kms_kms_bytes *b);

/* An encryption context: string pairs (p11kms_kms_ec_pair, kms/envelope.h),
 * order irrelevant, keys unique.  NULL or n == 0 means "no context". */

typedef struct p11kms_kms_context {
    const p11kms_kms_ec_pair *pairs;
    size_t n;
} p11kms_kms_context;

/* ---------------------------------------------------------------------- */
/* Engine lifetime.                                                        */

typedef struct p11kms_kms p11kms_kms;

typedef enum p11kms_kms_durability {
    P11KMS_KMS_DURABILITY_PROCESS = 0, /* audit durable against process crash */
    P11KMS_KMS_DURABILITY_POWER,       /* ... and against power loss */
} p11kms_kms_durability;

/* What the configuration says about one token (pkcs11/ fills this from the
 * config loader).  Zero values mean "default". */
typedef struct p11kms_kms_options {
    const char *store_path;           /* required; the file is not touched by open */
    const char *label;                /* default label for InitToken, may be NULL */
    int rotate_new_keys;              /* [access] rotate-new-keys = yes */
    int admin_gid_set;                /* [access] admin-group given ... */
    gid_t admin_gid;                  /* ... resolved to this gid by the caller */
    int allow_reinit;                 /* [token] allow-reinit = yes */
    unsigned min_pin_len;             /* [token] min-pin-length, 0 = 8 */
    uint64_t kdf_n;                   /* [token] kdf: scrypt N, 0 = store default */
    uint32_t kdf_r, kdf_p;            /* 0 = store default */
    p11kms_kms_durability durability; /* [audit] durability */
} p11kms_kms_options;

/* Opens an engine for one token.  Touches no file: the store is opened
 * read-only on the first read (token info) and read-write on the first call
 * that needs it, and is never created except by init_token.  The options
 * are copied. */
p11kms_kms_rc p11kms_kms_open(const p11kms_kms_options *opts, p11kms_kms **out);

/* Closes (logs out, wipes caches).  Release every key handle first.  In a
 * forked child it frees memory only and leaves the parent's SQLite
 * connection alone. NULL-safe. */
void p11kms_kms_close(p11kms_kms *kms);

/* ---------------------------------------------------------------------- */
/* Token-level calls (pass-through to the store, audited where they act).  */

typedef enum p11kms_kms_user {
    P11KMS_KMS_USER_NONE = 0,
    P11KMS_KMS_USER_USER, /* CKU_USER: may use keys */
    P11KMS_KMS_USER_SO,   /* CKU_SO: may init PIN, never use keys */
} p11kms_kms_user;

typedef struct p11kms_kms_token_info {
    int store_exists;           /* the store file exists */
    int initialized;            /* token initialised (SO PIN set) */
    int user_pin_set;           /* C_InitPIN done */
    char label[33];             /* NUL-terminated, <= 32 bytes */
    char serial[17];            /* NUL-terminated, <= 16 chars */
    unsigned user_pin_failures; /* consecutive wrong user PINs */
    unsigned so_pin_failures;
    unsigned pin_max_failures; /* lock threshold */
    int user_pin_locked, so_pin_locked;
    unsigned min_pin_len, max_pin_len;
    p11kms_kms_user logged_in; /* this engine's login state */
} p11kms_kms_token_info;

/* Unaudited; never creates or writes anything (C_GetTokenInfo). */
p11kms_kms_rc p11kms_kms_token_info_get(p11kms_kms *kms, p11kms_kms_token_info *out);

/* Creates/initialises the store ("InitToken").  Refused with
 * ALREADY_INITIALIZED unless options.allow_reinit (then everything is wiped). */
p11kms_kms_rc p11kms_kms_init_token(p11kms_kms *kms, const p11kms_caller *caller,
                                    const char *so_pin, size_t so_pin_len, const char *label);
/* SO logged in: sets the user PIN ("InitPIN"). */
p11kms_kms_rc p11kms_kms_init_pin(p11kms_kms *kms, const p11kms_caller *caller, const char *pin,
                                  size_t pin_len);
/* Changes the PIN of whoever is logged in (user if nobody) ("SetPIN"). */
p11kms_kms_rc p11kms_kms_set_pin(p11kms_kms *kms, const p11kms_caller *caller, const char *old_pin,
                                 size_t old_len, const char *new_pin, size_t new_len);
/* "Login" record on success and on every failure. */
p11kms_kms_rc p11kms_kms_login(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_user who,
                               const char *pin, size_t pin_len);
/* Unattended unlock with the configuration's `unlock = keyfile:PATH` (a
 * service key file, isolated mode): the engine then acts as the token user.
 * (An `unlock` PIN source is just p11kms_kms_login with that PIN.)
 * Audited as "Login" with userType SERVICE. */
p11kms_kms_rc p11kms_kms_login_keyfile(p11kms_kms *kms, const p11kms_caller *caller,
                                       const char *keyfile_path);
/* "Logout"; wipes cached key material. */
p11kms_kms_rc p11kms_kms_logout(p11kms_kms *kms, const p11kms_caller *caller);
p11kms_kms_user p11kms_kms_logged_in(p11kms_kms *kms);

/* ---------------------------------------------------------------------- */
/* Keys: metadata, handles.                                                */

/* Bit sets of algorithms, bit (1u << enum value). */
typedef uint32_t p11kms_kms_alg_set;

typedef struct p11kms_kms_key_meta {
    char key_id[37];
    int64_t creation_date_ms;
    int enabled;
    p11kms_kms_key_state state;
    p11kms_kms_key_spec spec;
    p11kms_kms_key_usage usage;
    p11kms_kms_key_manager manager;
    p11kms_kms_origin origin;
    char *description;            /* malloc'd, "" if none */
    int64_t deletion_date_ms;     /* 0 unless PendingDeletion */
    unsigned pending_window_days; /* 0 unless PendingDeletion */
    uint32_t current_version;     /* 1..n (asymmetric/HMAC: always 1) */
    int rotation_enabled;
    unsigned rotation_period_days; /* 0 when not enabled */
    int64_t next_rotation_ms;      /* 0 when not enabled */
    p11kms_kms_alg_set encryption_algorithms;
    p11kms_kms_alg_set signing_algorithms;
    p11kms_kms_alg_set mac_algorithms;
    uint8_t *app_id;
    size_t app_id_len; /* CKA_ID given at creation, opaque */
    uint8_t *app_label;
    size_t app_label_len; /* CKA_LABEL given at creation */
    char *first_alias;    /* "alias/NAME" or NULL */
} p11kms_kms_key_meta;

void p11kms_kms_key_meta_clear(p11kms_kms_key_meta *m);

/* A resolved key, shareable across sessions of the same engine (refcounted,
 * thread-safe).  It caches metadata, parsed policy and unwrapped versions;
 * each use re-validates with one cheap change-counter check, so another
 * process's change (disable, rotation, policy) is seen on the next call. */
typedef struct p11kms_kms_key p11kms_kms_key;

/* Unaudited resolve of "KEYID", "alias/NAME" or bare "NAME" (taken as an
 * alias).  NOT_FOUND if no such key (or destroyed). */
p11kms_kms_rc p11kms_kms_key_open(p11kms_kms *kms, const char *key_ref, p11kms_kms_key **out);
p11kms_kms_key *p11kms_kms_key_ref(p11kms_kms_key *key);
void p11kms_kms_key_release(p11kms_kms_key *key); /* NULL-safe */
const char *p11kms_kms_key_id(const p11kms_kms_key *key);

/* Unaudited metadata snapshot for PKCS#11 object attributes (refreshed if
 * the store changed).  NOT_FOUND once the key is destroyed. */
p11kms_kms_rc p11kms_kms_key_meta_get(p11kms_kms *kms, p11kms_kms_key *key,
                                      p11kms_kms_key_meta *out);

/* Every key call below identifies its key by EITHER a handle (fast path,
 * no lookup) OR a reference string (id, alias/NAME) -- pass the other NULL.
 * The reference string, when given, is what kms:RequestAlias sees. */

/* ---------------------------------------------------------------------- */
/* Key management (audited, policy-checked).                               */

typedef struct p11kms_kms_create_params {
    p11kms_kms_key_spec spec;
    p11kms_kms_key_usage usage;
    const char *description;  /* NULL = "" (max 8192 chars) */
    p11kms_kms_origin origin; /* P11KMS only for now */
    const uint8_t *app_id;
    size_t app_id_len; /* opaque CKA_ID or NULL */
    const uint8_t *app_label;
    size_t app_label_len;    /* opaque CKA_LABEL or NULL */
    const char *policy_json; /* NULL = default policy */
    int bypass_policy_lockout_check;
} p11kms_kms_create_params;

p11kms_kms_rc p11kms_kms_create_key(p11kms_kms *kms, const p11kms_caller *caller,
                                    const p11kms_kms_create_params *params,
                                    p11kms_kms_key_meta *out /* may be NULL */);

/* Service-managed key alias/p11kms/SERVICE: returns its id, creating it on
 * first use (KeyManager SERVICE, rotation on, policy for the creating user
 * and the admins).  service: 1-64 of [a-z0-9_-]. */
p11kms_kms_rc p11kms_kms_service_key(p11kms_kms *kms, const p11kms_caller *caller,
                                     const char *service, char key_id_out[37]);

p11kms_kms_rc p11kms_kms_describe_key(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref,
                                      p11kms_kms_key_meta *out);

typedef struct p11kms_kms_key_list {
    char (*key_ids)[37];
    size_t n;
    char *next_marker; /* NULL when there are no more */
} p11kms_kms_key_list;
void p11kms_kms_key_list_clear(p11kms_kms_key_list *l);

/* ListKeys: limit 1-1000 (0 = 100); marker from a previous page or NULL. */
p11kms_kms_rc p11kms_kms_list_keys(p11kms_kms *kms, const p11kms_caller *caller, unsigned limit,
                                   const char *marker, p11kms_kms_key_list *out);

p11kms_kms_rc p11kms_kms_enable_key(p11kms_kms *kms, const p11kms_caller *caller,
                                    p11kms_kms_key *key, const char *key_ref);
p11kms_kms_rc p11kms_kms_disable_key(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref);
/* window_days 7-30, 0 = 30.  deletion_date_ms may be NULL. */
p11kms_kms_rc p11kms_kms_schedule_key_deletion(p11kms_kms *kms, const p11kms_caller *caller,
                                               p11kms_kms_key *key, const char *key_ref,
                                               unsigned window_days, int64_t *deletion_date_ms);
p11kms_kms_rc p11kms_kms_cancel_key_deletion(p11kms_kms *kms, const p11kms_caller *caller,
                                             p11kms_kms_key *key, const char *key_ref);
p11kms_kms_rc p11kms_kms_update_key_description(p11kms_kms *kms, const p11kms_caller *caller,
                                                p11kms_kms_key *key, const char *key_ref,
                                                const char *description);

/* Aliases: alias_name is "alias/NAME".  target_ref must be a key id (KMS
 * refuses an alias as the target of a management call). */
p11kms_kms_rc p11kms_kms_create_alias(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *alias_name, const char *target_key_id);
p11kms_kms_rc p11kms_kms_update_alias(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *alias_name, const char *target_key_id);
p11kms_kms_rc p11kms_kms_delete_alias(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *alias_name);

typedef struct p11kms_kms_alias_entry {
    char *alias_name; /* "alias/NAME" */
    char target_key_id[37];
    int64_t creation_date_ms;
} p11kms_kms_alias_entry;
typedef struct p11kms_kms_alias_list {
    p11kms_kms_alias_entry *entries;
    size_t n;
    char *next_marker;
} p11kms_kms_alias_list;
void p11kms_kms_alias_list_clear(p11kms_kms_alias_list *l);

/* ListAliases: optional key filter (id; NULL = all keys), paged. */
p11kms_kms_rc p11kms_kms_list_aliases(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *key_id, unsigned limit, const char *marker,
                                      p11kms_kms_alias_list *out);

/* ---------------------------------------------------------------------- */
/* Rotation (symmetric keys).                                              */

/* period_days 90-2560, 0 = 365. */
p11kms_kms_rc p11kms_kms_enable_key_rotation(p11kms_kms *kms, const p11kms_caller *caller,
                                             p11kms_kms_key *key, const char *key_ref,
                                             unsigned period_days);
p11kms_kms_rc p11kms_kms_disable_key_rotation(p11kms_kms *kms, const p11kms_caller *caller,
                                              p11kms_kms_key *key, const char *key_ref);

typedef struct p11kms_kms_rotation_status {
    int enabled;
    unsigned period_days;
    int64_t next_rotation_ms;     /* 0 when disabled */
    int64_t on_demand_started_ms; /* always 0: on-demand is synchronous */
} p11kms_kms_rotation_status;
p11kms_kms_rc p11kms_kms_get_key_rotation_status(p11kms_kms *kms, const p11kms_caller *caller,
                                                 p11kms_kms_key *key, const char *key_ref,
                                                 p11kms_kms_rotation_status *out);
/* Creates the next version now; new_version may be NULL. */
p11kms_kms_rc p11kms_kms_rotate_key_on_demand(p11kms_kms *kms, const p11kms_caller *caller,
                                              p11kms_kms_key *key, const char *key_ref,
                                              uint32_t *new_version);

typedef enum p11kms_kms_rotation_type {
    P11KMS_KMS_ROTATION_AUTOMATIC = 0,
    P11KMS_KMS_ROTATION_ON_DEMAND,
} p11kms_kms_rotation_type;
typedef struct p11kms_kms_rotation_entry {
    uint32_t version; /* the version the rotation created (>= 2) */
    int64_t rotation_date_ms;
    p11kms_kms_rotation_type type;
} p11kms_kms_rotation_entry;
typedef struct p11kms_kms_rotation_list {
    p11kms_kms_rotation_entry *entries;
    size_t n;
    char *next_marker;
} p11kms_kms_rotation_list;
void p11kms_kms_rotation_list_clear(p11kms_kms_rotation_list *l);
p11kms_kms_rc p11kms_kms_list_key_rotations(p11kms_kms *kms, const p11kms_caller *caller,
                                            p11kms_kms_key *key, const char *key_ref,
                                            unsigned limit, const char *marker,
                                            p11kms_kms_rotation_list *out);

/* ---------------------------------------------------------------------- */
/* Data operations (audited on the fast path).                             */

/* Encrypt: SYMMETRIC_DEFAULT on a symmetric key makes an envelope blob
 * (plaintext 1-4096, context bound); RSAES_OAEP_* on an RSA
 * ENCRYPT_DECRYPT key encrypts directly (context must be empty).
 * key_version_out may be NULL. */
p11kms_kms_rc p11kms_kms_encrypt(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                                 const char *key_ref, const uint8_t *pt, size_t pt_len,
                                 const p11kms_kms_context *ctx, p11kms_kms_enc_alg alg,
                                 p11kms_kms_bytes *ciphertext, uint32_t *key_version_out);

/* Decrypt: for SYMMETRIC_DEFAULT the key may be NULL/NULL (the blob names
 * it); if given and not the blob's key -> INCORRECT_KEY.  RSAES_OAEP_*
 * needs the key.  key_id_out (37 bytes) may be NULL. */
p11kms_kms_rc p11kms_kms_decrypt(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                                 const char *key_ref, const uint8_t *ct, size_t ct_len,
                                 const p11kms_kms_context *ctx, p11kms_kms_enc_alg alg,
                                 p11kms_kms_bytes *plaintext, char *key_id_out);

/* ReEncrypt: decrypt under the blob's key (may be PendingDeletion) and
 * re-encrypt under dest; plaintext never leaves the engine.  Two audit
 * checks (kms:ReEncryptFrom, kms:ReEncryptTo), one "ReEncrypt" record. */
p11kms_kms_rc p11kms_kms_re_encrypt(p11kms_kms *kms, const p11kms_caller *caller, const uint8_t *ct,
                                    size_t ct_len, const p11kms_kms_context *src_ctx,
                                    p11kms_kms_key *src_key, const char *src_ref,
                                    p11kms_kms_key *dst_key, const char *dst_ref,
                                    const p11kms_kms_context *dst_ctx,
                                    p11kms_kms_bytes *ciphertext);

/* GenerateDataKey(+WithoutPlaintext when plaintext == NULL): spec AES_128 /
 * AES_256, or spec NONE and number_of_bytes 1-1024. */
p11kms_kms_rc p11kms_kms_generate_data_key(p11kms_kms *kms, const p11kms_caller *caller,
                                           p11kms_kms_key *key, const char *key_ref,
                                           p11kms_kms_data_key_spec spec, unsigned number_of_bytes,
                                           const p11kms_kms_context *ctx,
                                           p11kms_kms_bytes *plaintext /* NULL = without */,
                                           p11kms_kms_bytes *ciphertext);

/* Raw symmetric routes for PKCS#11 CKM_AES_GCM / CKM_AES_CBC_PAD / KWP on a
 * symmetric CMK version.  Encrypt uses the current version only (version
 * 0 or == current; an older one -> INVALID_KEY_USAGE); decrypt accepts any
 * existing version.  GCM: iv 1..128 bytes (12 recommended, caller's
 * responsibility), tag_len 12..16, aad any; output = ciphertext || tag.
 * CBC_PAD: iv 16 bytes.  KWP: no iv.  When the GCM AAD is a canonical
 * encryption-context encoding, policy conditions see it as the context. */
typedef struct p11kms_kms_raw_params {
    p11kms_kms_enc_alg alg; /* P11KMS_KMS_ENC_P11KMS_AES_* */
    uint32_t version;       /* 0 = current */
    const uint8_t *iv;
    size_t iv_len;
    const uint8_t *aad;
    size_t aad_len;
    size_t tag_len; /* GCM, bytes; 0 = 16 */
} p11kms_kms_raw_params;

p11kms_kms_rc p11kms_kms_raw_encrypt(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref,
                                     const p11kms_kms_raw_params *p, const uint8_t *in,
                                     size_t in_len, p11kms_kms_bytes *out);
p11kms_kms_rc p11kms_kms_raw_decrypt(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref,
                                     const p11kms_kms_raw_params *p, const uint8_t *in,
                                     size_t in_len, p11kms_kms_bytes *out);

/* Sign: signature is DER for ECDSA (as KMS), PKCS#1/PSS bytes for RSA. */
p11kms_kms_rc p11kms_kms_sign(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                              const char *key_ref, const uint8_t *msg, size_t msg_len,
                              p11kms_kms_message_type type, p11kms_kms_sign_alg alg,
                              p11kms_kms_bytes *signature);
/* Verify: OK when valid, INVALID_SIGNATURE when not. */
p11kms_kms_rc p11kms_kms_verify(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                                const char *key_ref, const uint8_t *msg, size_t msg_len,
                                p11kms_kms_message_type type, p11kms_kms_sign_alg alg,
                                const uint8_t *sig, size_t sig_len);

typedef struct p11kms_kms_public_key {
    p11kms_kms_bytes spki; /* DER SubjectPublicKeyInfo */
    p11kms_kms_key_spec spec;
    p11kms_kms_key_usage usage;
    p11kms_kms_alg_set encryption_algorithms;
    p11kms_kms_alg_set signing_algorithms;
} p11kms_kms_public_key;
p11kms_kms_rc p11kms_kms_get_public_key(p11kms_kms *kms, const p11kms_caller *caller,
                                        p11kms_kms_key *key, const char *key_ref,
                                        p11kms_kms_public_key *out);

/* HMAC: message 1-4096 bytes. VerifyMac: OK or INVALID_MAC (constant time). */
p11kms_kms_rc p11kms_kms_generate_mac(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref, const uint8_t *msg,
                                      size_t msg_len, p11kms_kms_mac_alg alg,
                                      p11kms_kms_bytes *mac);
p11kms_kms_rc p11kms_kms_verify_mac(p11kms_kms *kms, const p11kms_caller *caller,
                                    p11kms_kms_key *key, const char *key_ref, const uint8_t *msg,
                                    size_t msg_len, p11kms_kms_mac_alg alg, const uint8_t *mac,
                                    size_t mac_len);

/* ---------------------------------------------------------------------- */
/* Policies and grants (documents parsed by kms/policy.h).                 */

/* policy_name must be "default" (as in KMS). */
p11kms_kms_rc p11kms_kms_put_key_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                        p11kms_kms_key *key, const char *key_ref,
                                        const char *policy_name, const char *policy_json,
                                        int bypass_policy_lockout_check);
/* *policy_json_out is malloc'd. */
p11kms_kms_rc p11kms_kms_get_key_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                        p11kms_kms_key *key, const char *key_ref,
                                        const char *policy_name, char **policy_json_out);

/* Identity policies, per Unix principal "user:NAME", "uid:N", "group:NAME"
 * or "gid:N" (names resolved when stored).  Management of identity
 * policies is reserved to the token's admins (admin group / initialiser). */
p11kms_kms_rc p11kms_kms_put_identity_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                             const char *principal, const char *policy_json);
p11kms_kms_rc p11kms_kms_get_identity_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                             const char *principal, char **policy_json_out);
p11kms_kms_rc p11kms_kms_delete_identity_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                                const char *principal);

typedef struct p11kms_kms_grant_params {
    const char *grantee_principal;  /* "user:NAME", "uid:N", ... */
    const char *retiring_principal; /* NULL = none */
    const char *const *operations;  /* "Encrypt", "Decrypt", ... */
    size_t n_operations;
    const p11kms_kms_context *ec_equals; /* EncryptionContextEquals or NULL */
    const p11kms_kms_context *ec_subset; /* EncryptionContextSubset or NULL */
    const char *name;                    /* NULL = none */
} p11kms_kms_grant_params;
/* grant_id_out and grant_token_out: malloc'd strings. */
p11kms_kms_rc p11kms_kms_create_grant(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref,
                                      const p11kms_kms_grant_params *gp, char **grant_id_out,
                                      char **grant_token_out);
/* *grants_json_out: JSON array of grants (KMS ListGrants shape), malloc'd. */
p11kms_kms_rc p11kms_kms_list_grants(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref,
                                     char **grants_json_out);
p11kms_kms_rc p11kms_kms_revoke_grant(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref,
                                      const char *grant_id);
/* RetireGrant by token, or by key + grant id (token NULL). */
p11kms_kms_rc p11kms_kms_retire_grant(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *grant_token, p11kms_kms_key *key,
                                      const char *key_ref, const char *grant_id);

/* GenerateRandom: 1-1024 random bytes (no key; user logged in). */
p11kms_kms_rc p11kms_kms_generate_random(p11kms_kms *kms, const p11kms_caller *caller,
                                         unsigned number_of_bytes, p11kms_kms_bytes *out);
/* ListKeyPolicies: OK when the caller may list the key's policies (there
 * is one, "default", as in KMS). */
p11kms_kms_rc p11kms_kms_list_key_policies(p11kms_kms *kms, const p11kms_caller *caller,
                                           p11kms_kms_key *key, const char *key_ref);

/* ---------------------------------------------------------------------- */
/* Scheduled work.                                                         */

typedef struct p11kms_kms_run_due_report {
    unsigned rotated; /* keys rotated (one RotateKey ServiceEvent each) */
    unsigned deleted; /* keys destroyed (one DeleteKey ServiceEvent each) */
    unsigned failed;  /* keys whose work failed (retried next run) */
} p11kms_kms_run_due_report;

/* "RunDue": rotates every enabled key whose rotation is due and destroys
 * every key whose deletion window has passed.  Each state change is
 * re-checked inside its own write transaction, so concurrent runs (or a
 * data call rotating on use) never rotate twice. */
p11kms_kms_rc p11kms_kms_run_due(p11kms_kms *kms, const p11kms_caller *caller,
                                 p11kms_kms_run_due_report *report);

/* ---------------------------------------------------------------------- */
/* Object search for C_FindObjects (one "ListKeys" record per search).     */

typedef enum p11kms_kms_find_class {
    P11KMS_KMS_FIND_ANY = 0,
    P11KMS_KMS_FIND_SECRET,     /* SYMMETRIC_DEFAULT and HMAC_* */
    P11KMS_KMS_FIND_SYMMETRIC,  /* SYMMETRIC_DEFAULT only */
    P11KMS_KMS_FIND_HMAC,       /* HMAC_* */
    P11KMS_KMS_FIND_ASYMMETRIC, /* RSA_* and ECC_* */
    P11KMS_KMS_FIND_RSA,
    P11KMS_KMS_FIND_EC,
} p11kms_kms_find_class;

typedef struct p11kms_kms_find_filter {
    const char *key_id; /* exact, or NULL */
    const uint8_t *app_id;
    size_t app_id_len; /* CKA_ID, app_id != NULL to filter */
    const uint8_t *app_label;
    size_t app_label_len; /* CKA_LABEL match (app label, or
                             key id / first alias when unset) */
    p11kms_kms_find_class cls;
    int include_versions; /* also return old decrypt-only versions */
    int include_pending;  /* also return PendingDeletion keys */
} p11kms_kms_find_filter;

typedef struct p11kms_kms_find_entry {
    char key_id[37];
    uint32_t version; /* 0 = the CMK itself; n = its decrypt-only version n */
    p11kms_kms_key_spec spec;
    p11kms_kms_key_state state;
} p11kms_kms_find_entry;

typedef struct p11kms_kms_find_result {
    p11kms_kms_find_entry *entries;
    size_t n;
} p11kms_kms_find_result;
void p11kms_kms_find_result_clear(p11kms_kms_find_result *r);

p11kms_kms_rc p11kms_kms_find(p11kms_kms *kms, const p11kms_caller *caller,
                              const p11kms_kms_find_filter *filter, p11kms_kms_find_result *out);

#endif /* P11KMS_KMS_KMS_H */
