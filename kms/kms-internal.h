/* kms/kms-internal.h — what the engine's own files share: the engine and
 * key-handle structures, the per-call frame (policy + audit), the key cache
 * and small helpers.  Never included outside kms/.
 *
 * Locking: one mutex per engine serialises the store handle (not
 * thread-safe), the key cache and every operation on cached material.  A
 * call takes it in call_begin() and releases it in call_end().
 */
#ifndef P11KMS_KMS_KMS_INTERNAL_H
#define P11KMS_KMS_KMS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "common/crypto.h"
#include "kms/kms.h"
#include "kms/policy.h"
#include "store/audit.h"
#include "store/store.h"

#define KMS_MAX_CACHED_KEYS      512
#define KMS_SERVICE_ALIAS_PREFIX "alias/p11kms/"
#define KMS_DEFAULT_WINDOW_DAYS  30
#define KMS_DEFAULT_PERIOD_DAYS  365
#define KMS_SYMMETRIC_KEY_LEN    32

/* One unwrapped key version (material in common/secmem pages). */
typedef struct kms_version {
    uint32_t version;
    uint8_t *material; /* secmem; NULL until first use */
    size_t material_len;
    p11kms_crypto_pkey *pkey; /* asymmetric: parsed private key */
} kms_version;

/* Grants of a key, parsed for p11kms_policy_evaluate(). */
typedef struct kms_grants {
    p11kms_store_grant *rows;
    size_t n;
    p11kms_grant *grants;
    const p11kms_grant **ptrs;
    p11kms_policy_pair *pairs; /* constraint pairs, 2 * 8 per grant */
    json_t **docs;             /* parsed constraints backing the pairs */
} kms_grants;

struct p11kms_kms_key {
    p11kms_kms *kms;
    unsigned refs;                       /* under kms->lock */
    p11kms_kms_key *next;                /* cache list */
    p11kms_kms_key *all_prev, *all_next; /* every live key (logout wipes all) */
    int in_cache;
    char key_id[37];
    uint64_t epoch; /* kms->epoch when row was (re)loaded */
    int gone;       /* destroyed */
    p11kms_store_key row;
    p11kms_kms_key_spec spec;
    p11kms_kms_key_usage usage;
    p11kms_kms_key_state state;
    p11kms_kms_key_manager manager;
    p11kms_kms_origin origin;
    char *policy_text;
    p11kms_policy *policy;
    uint64_t policy_epoch; /* epoch the policy text was checked at */
    kms_grants grants;
    int grants_epoch_valid;
    uint64_t grants_epoch;
    kms_version *versions; /* index = version - 1 */
    size_t nversions;
};

/* Identity policies of one caller, cached per epoch. */
typedef struct kms_idcache {
    uint32_t uid;
    gid_t groups[P11KMS_CALLER_MAX_GROUPS];
    size_t ngroups;
    uint64_t epoch;
    int valid;
    p11kms_policy **pols;
    size_t n;
} kms_idcache;

/* Recently resolved aliases (valid for one epoch). */
#define KMS_ALIAS_CACHE 16
typedef struct kms_alias_slot {
    char name[P11KMS_STORE_ALIAS_MAX + 1];
    char key_id[37];
    uint64_t epoch;
} kms_alias_slot;

struct p11kms_kms {
    pthread_mutex_t lock;
    p11kms_kms_options opts;
    char *store_path;
    char *label;
    pid_t pid;
    p11kms_store *st;
    int st_writable;
    p11kms_kms_user login;
    uint64_t counter;
    int have_counter;
    uint64_t epoch;       /* bumped on every detected store change */
    p11kms_kms_key *keys; /* cache list, most recently used first */
    p11kms_kms_key *all;  /* every live key, cached or held by a session */
    size_t nkeys;
    kms_idcache idc;
    kms_alias_slot aliases[KMS_ALIAS_CACHE];
    unsigned alias_next;
    p11kms_policy *admin_policy; /* default admin identity policy (parsed once) */
};

/* ---- per-call frame (kms/audit-emit.c) ----------------------------------- */

typedef struct kms_call {
    p11kms_kms *kms;
    const p11kms_caller *caller;
    const char *event_name; /* "Encrypt" */
    const char *action;     /* "kms:Encrypt", NULL = no policy check */
    int management;
    int read_only;
    int service_event;
    int in_txn;          /* a write transaction is open */
    p11kms_kms_key *key; /* resolved key (a reference is held) */
    uint32_t key_version;
    json_t *request;           /* requestParameters (never secrets) */
    json_t *response;          /* responseElements or NULL */
    const char *detail;        /* error message */
    char detail_buf[320];      /* storage for a formatted detail */
    p11kms_kms_bytes *outs[2]; /* outputs wiped if the call fails late */
} kms_call;

/* Locks the engine and starts a frame. */
void kms_call_begin(kms_call *c, p11kms_kms *kms, const p11kms_caller *caller,
                    const char *event_name, const char *action, int management, int read_only);
/* Finishes a frame: commits/rolls back, writes the one audit record,
 * wipes outputs on failure, unlocks.  Returns the final rc. */
p11kms_kms_rc kms_call_end(kms_call *c, p11kms_kms_rc rc);
/* Sets the failure detail (static text) and returns rc, for one-liners. */
p11kms_kms_rc kms_fail(kms_call *c, p11kms_kms_rc rc, const char *detail);
/* Opens the management write transaction of the frame. */
p11kms_kms_rc kms_call_begin_write(kms_call *c);
void kms_call_out(kms_call *c, p11kms_kms_bytes *out);
/* Adds "encryptionContext" to the request JSON. */
void kms_json_context(json_t *obj, const char *name, const p11kms_kms_context *ctx);
/* Writes a ServiceEvent record (RotateKey/DeleteKey) in the open txn. */
p11kms_kms_rc kms_audit_service_event(p11kms_kms *kms, const char *event_name, const char *key_id,
                                      uint32_t version, const char *request_json);

/* ---- engine / store (kms/engine.c) ------------------------------------- */

/* Opens the store if needed: writable = 1 demands a read-write handle. */
p11kms_kms_rc kms_store_ensure(p11kms_kms *kms, int writable, int create);
/* Cheap per-call change check (the store's change counter). */
p11kms_kms_rc kms_sync(p11kms_kms *kms);
/* After our own committed change. */
void kms_bump_epoch(p11kms_kms *kms);
/* Drops every cached secret (logout, close, fork). */
void kms_cache_wipe(p11kms_kms *kms);

/* ---- rc helpers (kms/rc.c) ----------------------------------------------- */

p11kms_kms_rc kms_rc_from_store(p11kms_store_rc rc);
void kms_set_detail(const char *detail);

/* ---- key cache (kms/cache.c) --------------------------------------------- */

/* Resolves ref ("id", "alias/x") or takes handle, refreshes it; the frame
 * holds the reference.  Lock held. */
p11kms_kms_rc kms_key_resolve(kms_call *c, p11kms_kms_key *handle, const char *ref);
/* Lookup (cached) by exact id; new reference in *out. */
p11kms_kms_rc kms_key_get(p11kms_kms *kms, const char *key_id, p11kms_kms_key **out);
/* Re-reads the row if the epoch moved; NOT_FOUND if destroyed. */
p11kms_kms_rc kms_key_refresh(p11kms_kms_key *key);
void kms_key_unref_locked(p11kms_kms_key *key);
/* Fills the enum fields from the row's strings. */
p11kms_kms_rc kms_key_parse_row(p11kms_kms_key *key);

/* ---- material (kms/material.c) ------------------------------------------- */

/* The unwrapped version (cached); version 0 = current. */
p11kms_kms_rc kms_version_get(p11kms_kms_key *key, uint32_t version, kms_version **out);
/* Fresh material for spec: symmetric/HMAC raw bytes; asymmetric PKCS#8 DER
 * plus SPKI.  *material is OPENSSL_malloc'd (free with
 * p11kms_crypto_free_secret), *spki OPENSSL_malloc'd or NULL. */
p11kms_kms_rc kms_material_generate(p11kms_kms_key_spec spec, uint8_t **material,
                                    size_t *material_len, uint8_t **spki, size_t *spki_len);
void kms_versions_free(p11kms_kms_key *key);

/* ---- policy (kms/authz.c) ------------------------------------------------ */

/* Evaluates req for the frame's caller (key policy of c->key if any,
 * identity policies, grants).  ACCESS_DENIED with c->detail set. */
p11kms_kms_rc kms_authorize(kms_call *c, p11kms_policy_request *req);
/* A request pre-filled from the frame (action, caller, key facts). */
void kms_request_init(kms_call *c, p11kms_policy_request *req);
/* Converts a context into policy pairs (n <= P11KMS_KMS_CONTEXT_MAX_PAIRS). */
void kms_context_pairs(const p11kms_kms_context *ctx, p11kms_policy_pair *out, size_t *n);
/* Parses (and normalizes if asked) a key policy document. */
p11kms_kms_rc kms_policy_check_doc(kms_call *c, const char *json, int identity, char **normalized);
/* PutKeyPolicy/CreateKey lockout safety check (MALFORMED_POLICY if the
 * caller could not change the policy again). */
p11kms_kms_rc kms_lockout_check(kms_call *c, const char *policy_json, const char *key_id);
/* Loads the parsed key policy of key (cached by text). */
p11kms_kms_rc kms_key_policy_load(p11kms_kms_key *key);
/* Loads the live grants of key (cached per epoch). */
p11kms_kms_rc kms_key_grants_load(p11kms_kms_key *key);
void kms_grants_free(kms_grants *g);
void kms_idcache_free(kms_idcache *idc);

/* ---- state checks (kms/key-state.c) -------------------------------------- */

/* "Enabled" use check: DISABLED / INVALID_STATE. allow_pending for the
 * source of ReEncrypt. */
p11kms_kms_rc kms_check_usable(kms_call *c, p11kms_kms_key *key, int allow_pending);
/* Requires a logged-in user (NOT_LOGGED_IN). */
p11kms_kms_rc kms_require_user(kms_call *c);
/* Read-only key calls: logged in, resolved (alias accepted), authorised. */
p11kms_kms_rc kms_read_begin(kms_call *c, p11kms_kms_key *h, const char *ref,
                             p11kms_policy_request *req);
/* Key management calls: like kms_read_begin but key id only, a purge if the
 * deletion window passed, then the write transaction and a fresh row. */
p11kms_kms_rc kms_mgmt_begin(kms_call *c, p11kms_kms_key *h, const char *ref,
                             p11kms_policy_request *req);
/* Writes c->key->row back with an expected state (NULL = any). */
p11kms_kms_rc kms_update_row(kms_call *c, const char *expect_state);
/* Management calls refuse aliases as key ids (KMS). */
p11kms_kms_rc kms_require_key_id(kms_call *c, p11kms_kms_key *handle, const char *ref);

/* ---- rotation (kms/rotation.c) ------------------------------------------- */

/* 1 if the key is due for automatic rotation at now_ms. */
int kms_rotation_due(const p11kms_store_key *row, int64_t now_ms);
/* Rotates c->key if it is due (own write transaction, RotateKey service
 * event), used on the next use of a key. */
p11kms_kms_rc kms_rotate_if_due(p11kms_kms *kms, p11kms_kms_key *key);
/* Rotation in the caller's open transaction: re-checks the row inside it. */
p11kms_kms_rc kms_rotate_in_txn(p11kms_kms *kms, const char *key_id, int automatic,
                                uint32_t *new_version);

/* ---- deletion (kms/run-due.c) ---------------------------------------- */

/* Management calls on a key whose deletion window has passed destroy it
 * first (own transaction, DeleteKey service event): NOT_FOUND then. */
p11kms_kms_rc kms_purge_if_due(kms_call *c);

/* ---- metadata (kms/key-describe.c) --------------------------------------- */

p11kms_kms_rc kms_meta_fill(p11kms_kms *kms, p11kms_kms_key *key, p11kms_kms_key_meta *out);
json_t *kms_meta_json(const p11kms_kms_key_meta *m);
p11kms_kms_alg_set kms_spec_enc_algs(p11kms_kms_key_spec spec, p11kms_kms_key_usage u);
p11kms_kms_alg_set kms_spec_sign_algs(p11kms_kms_key_spec spec, p11kms_kms_key_usage u);
p11kms_kms_alg_set kms_spec_mac_algs(p11kms_kms_key_spec spec, p11kms_kms_key_usage u);

/* ---- names (kms/names.c) -------------------------------------------------- */

int kms_state_parse(const char *s, p11kms_kms_key_state *out);
int kms_manager_parse(const char *s, p11kms_kms_key_manager *out);
int kms_origin_parse(const char *s, p11kms_kms_origin *out);
int kms_spec_is_symmetric(p11kms_kms_key_spec spec);
int kms_spec_is_hmac(p11kms_kms_key_spec spec);
int kms_spec_is_rsa(p11kms_kms_key_spec spec);
int kms_spec_is_ec(p11kms_kms_key_spec spec);
p11kms_md kms_mac_alg_md(p11kms_kms_mac_alg alg);
p11kms_kms_mac_alg kms_spec_mac_alg(p11kms_kms_key_spec spec);
/* 1 if alias_name follows KMS's rules. */
int kms_alias_name_valid(const char *alias_name);

/* ---- data plane (kms/encrypt.c, kms/asym-encrypt.c) ------------------- */

/* Data-call prologue: logged in, key resolved (handle or ref). */
p11kms_kms_rc kms_data_begin(kms_call *c, p11kms_kms_key *h, const char *ref);
/* Authorises c->key for the frame's action with context and algorithm
 * names, then checks the key is usable and of the given usage. */
p11kms_kms_rc kms_data_authorize(kms_call *c, const p11kms_kms_context *ctx,
                                 p11kms_policy_request *req, p11kms_kms_key_usage usage,
                                 int allow_pending);
/* Envelope-encrypts pt under c->key's current version (rotating first if
 * due) into out. */
p11kms_kms_rc kms_envelope_encrypt(kms_call *c, const uint8_t *pt, size_t pt_len,
                                   const p11kms_kms_context *ctx, p11kms_kms_bytes *out);
/* RSAES_OAEP_* on c->key. */
p11kms_kms_rc kms_oaep_encrypt(kms_call *c, const uint8_t *pt, size_t pt_len,
                               p11kms_kms_enc_alg alg, p11kms_kms_bytes *out);
p11kms_kms_rc kms_oaep_decrypt(kms_call *c, const uint8_t *ct, size_t ct_len,
                               p11kms_kms_enc_alg alg, p11kms_kms_bytes *out);

/* ---- bytes --------------------------------------------------------------- */

/* malloc'd output buffer of len bytes in out (NOMEM on failure). */
p11kms_kms_rc kms_bytes_alloc(p11kms_kms_bytes *out, size_t len);

#endif /* P11KMS_KMS_KMS_INTERNAL_H */
