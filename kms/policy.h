/*
 * kms/policy.h — key policies, identity policies and grants: parsing,
 * store-time name resolution, and the per-request evaluator.
 *
 * A policy document (KMS grammar, Unix principals, at most 32 KiB) is parsed
 * once into an immutable compiled form (p11kms_policy); the engine caches it
 * per key and re-parses only when the stored text changes.  Evaluation works
 * on the compiled form only, never allocates, never calls the name service
 * and is safe to run concurrently on the same p11kms_policy.
 *
 * Rules (DESIGN.md, Policies): default deny; any explicit Deny wins, whether
 * in the key policy or in an identity policy of the caller; an Allow counts
 * when the key policy allows the caller directly, or the key policy allows
 * {"Unix":"token"} and an identity policy of the caller allows it, or a grant
 * allows it.  Requests that concern no key (kms:CreateKey, kms:ListKeys, ...)
 * pass key_policy == NULL and are decided by identity policies alone.
 * docs/policy.md and p11kms-policy(7) document the grammar for users.
 */
#ifndef P11KMS_KMS_POLICY_H
#define P11KMS_KMS_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kms/caller.h"

#define P11KMS_POLICY_MAX_BYTES 32768 /* KMS's key policy size limit */
#define P11KMS_POLICY_ERRLEN    256   /* a comfortable error buffer */

typedef enum p11kms_policy_kind {
    P11KMS_POLICY_KEY = 0,      /* key policy: Principal/NotPrincipal required */
    P11KMS_POLICY_IDENTITY = 1, /* identity policy of a user or group: no Principal */
} p11kms_policy_kind;

typedef enum p11kms_policy_decision {
    P11KMS_POLICY_DENY_DEFAULT = 0, /* nothing allowed it */
    P11KMS_POLICY_ALLOW = 1,
    P11KMS_POLICY_DENY_EXPLICIT = 2, /* a Deny statement matched */
} p11kms_policy_decision;

/* Where the decision came from, for the audit message. */
typedef enum p11kms_policy_source {
    P11KMS_POLICY_FROM_NONE = 0, /* default deny */
    P11KMS_POLICY_FROM_KEY_POLICY = 1,
    P11KMS_POLICY_FROM_IDENTITY_POLICY = 2,
    P11KMS_POLICY_FROM_GRANT = 3,
} p11kms_policy_source;

typedef struct p11kms_policy_result {
    p11kms_policy_decision decision;
    p11kms_policy_source source;
    size_t policy_index;    /* index into identity_policies or grants, else 0 */
    size_t statement_index; /* statement that decided (policies only) */
    const char *sid;        /* its Sid, "" if none; points into the policy;
                               NULL for grants and default deny */
    const char *grant_id;   /* the grant that allowed, else NULL */
} p11kms_policy_result;

/* Compiled policy: opaque, immutable, shareable between threads. */
typedef struct p11kms_policy p11kms_policy;

/* One encryption context pair (UTF-8, NUL-terminated). */
typedef struct p11kms_policy_pair {
    const char *key;
    const char *value;
} p11kms_policy_pair;

/*
 * A request, as the engine knows it.  NULL strings and has_* == 0 mean "not
 * in the request" (what the Null operator and IfExists test).  Only action and
 * caller are required; everything else is optional.
 */
typedef struct p11kms_policy_request {
    const char *action; /* "kms:Encrypt" (case-insensitive) */
    const p11kms_caller *caller;
    const char *key_id;                /* NULL when the request has no key */
    const char *key_spec;              /* kms:KeySpec, e.g. "SYMMETRIC_DEFAULT" */
    const char *key_usage;             /* kms:KeyUsage, e.g. "ENCRYPT_DECRYPT" */
    const p11kms_policy_pair *context; /* kms:EncryptionContext*; absent if n==0
                                          (ReEncryptFrom: the source context,
                                          ReEncryptTo: the destination's) */
    size_t ncontext;
    const char *encryption_algorithm; /* kms:EncryptionAlgorithm */
    const char *signing_algorithm;    /* kms:SigningAlgorithm */
    const char *mac_algorithm;        /* kms:MacAlgorithm */
    const char *message_type;         /* kms:MessageType: RAW | DIGEST */
    const char *request_alias;        /* kms:RequestAlias: "alias/NAME" */
    int has_pending_window_days;      /* kms:ScheduleKeyDeletionPendingWindowInDays */
    int64_t pending_window_days;
    int has_rotation_period_days; /* kms:RotationPeriodInDays */
    int64_t rotation_period_days;
    int has_bypass_lockout; /* kms:BypassPolicyLockoutSafetyCheck */
    int bypass_lockout;
    /* CreateGrant request facts */
    const char *const *grant_operations; /* kms:GrantOperations, e.g. "Decrypt" */
    size_t ngrant_operations;
    const char *grantee_principal;        /* kms:GranteePrincipal, e.g. "uid:1001" */
    const char *retiring_principal;       /* kms:RetiringPrincipal */
    const char *grant_constraint_type;    /* kms:GrantConstraintType:
                                             "EncryptionContextEquals" | "EncryptionContextSubset" */
    const struct p11kms_grant *new_grant; /* CreateGrant: the grant being created; a
                                             grant allows CreateGrant only for a child
                                             with a subset of its operations and equal
                                             or stricter constraints */
} p11kms_policy_request;

/*
 * Parse and validate a document.  Returns NULL on any error, with a message
 * in err naming the problem and where, e.g.
 *   Statement[2].Condition: unknown operator "StringEqualz"
 * Accepts both the stored form ("user:alice#1001") and bare names
 * ("user:alice"); a bare name never matches anybody (the engine stores only
 * normalised documents), so parse alone never calls the name service.
 */
p11kms_policy *p11kms_policy_parse(const char *json, size_t len, p11kms_policy_kind kind, char *err,
                                   size_t errlen);
void p11kms_policy_free(p11kms_policy *policy);

size_t p11kms_policy_statement_count(const p11kms_policy *policy);
p11kms_policy_kind p11kms_policy_get_kind(const p11kms_policy *policy);

/*
 * Store-time canonicalisation: validates like parse, resolves every
 * "user:NAME" / "group:NAME" principal (and p11kms:CallerGroup condition
 * values that are names) with getpwnam_r/getgrnam_r into "user:NAME#UID" /
 * "group:NAME#GID", checks that an existing "#ID" still matches the name,
 * refuses unknown names, and returns the canonical text (malloc'd, free()
 * it) in *out_json.  Returns 1 on success, 0 with err set.
 */
int p11kms_policy_normalize(const char *json, size_t len, p11kms_policy_kind kind, char **out_json,
                            char *err, size_t errlen);

/* ---- grants --------------------------------------------------------------- */

typedef enum p11kms_policy_principal_kind {
    P11KMS_PRINCIPAL_NONE = 0,
    P11KMS_PRINCIPAL_UID = 1,
    P11KMS_PRINCIPAL_GID = 2,
} p11kms_policy_principal_kind;

typedef struct p11kms_policy_principal {
    p11kms_policy_principal_kind kind;
    uint32_t id;
} p11kms_policy_principal;

/* Grant operations (KMS's GrantOperation values) as bits. */
enum {
    P11KMS_GRANT_OP_DECRYPT = 1u << 0,
    P11KMS_GRANT_OP_ENCRYPT = 1u << 1,
    P11KMS_GRANT_OP_GENERATE_DATA_KEY = 1u << 2,
    P11KMS_GRANT_OP_GENERATE_DATA_KEY_WITHOUT_PLAINTEXT = 1u << 3,
    P11KMS_GRANT_OP_RE_ENCRYPT_FROM = 1u << 4,
    P11KMS_GRANT_OP_RE_ENCRYPT_TO = 1u << 5,
    P11KMS_GRANT_OP_SIGN = 1u << 6,
    P11KMS_GRANT_OP_VERIFY = 1u << 7,
    P11KMS_GRANT_OP_GET_PUBLIC_KEY = 1u << 8,
    P11KMS_GRANT_OP_CREATE_GRANT = 1u << 9,
    P11KMS_GRANT_OP_RETIRE_GRANT = 1u << 10,
    P11KMS_GRANT_OP_DESCRIBE_KEY = 1u << 11,
    P11KMS_GRANT_OP_GENERATE_DATA_KEY_PAIR = 1u << 12,
    P11KMS_GRANT_OP_GENERATE_DATA_KEY_PAIR_WITHOUT_PLAINTEXT = 1u << 13,
    P11KMS_GRANT_OP_GENERATE_MAC = 1u << 14,
    P11KMS_GRANT_OP_VERIFY_MAC = 1u << 15,
    P11KMS_GRANT_OP_DERIVE_SHARED_SECRET = 1u << 16,
};

#define P11KMS_GRANT_MAX_CONSTRAINT_PAIRS 8   /* KMS limit per constraint */
#define P11KMS_GRANT_MAX_CONSTRAINT_VALUE 384 /* KMS limit, characters */

/*
 * A grant as the engine stores it.  Constraints (at most one of the two, as
 * KMS) apply only to operations that take an encryption context; context
 * keys compare case-insensitively, values exactly (KMS's rule).
 */
typedef struct p11kms_grant {
    const char *grant_id;
    const char *key_id; /* must equal req->key_id */
    p11kms_policy_principal grantee;
    p11kms_policy_principal retiring;    /* kind NONE if absent */
    uint32_t operations;                 /* P11KMS_GRANT_OP_* bits */
    const p11kms_policy_pair *ec_equals; /* EncryptionContextEquals, or NULL */
    size_t nec_equals;
    const p11kms_policy_pair *ec_subset; /* EncryptionContextSubset, or NULL */
    size_t nec_subset;
} p11kms_grant;

/* "Decrypt" (or "kms:Decrypt") -> bit; 0 if not a grant operation. */
uint32_t p11kms_grant_operation_bit(const char *name);
/* bit -> "Decrypt"; NULL if not exactly one known bit. */
const char *p11kms_grant_operation_name(uint32_t bit);

/* CreateGrant input checks (operations known and non-empty, constraint
 * limits, no constraint with operations that never take a context).
 * Returns 1 if valid, else 0 with a message in err. */
int p11kms_grant_validate(const p11kms_grant *grant, char *err, size_t errlen);

/* "uid:N", "gid:N", "user:NAME[#UID]", "group:NAME[#GID]" -> principal.
 * Names are resolved with getpwnam_r/getgrnam_r (store time only).
 * Returns 1 on success, 0 with err set. */
int p11kms_policy_principal_parse(const char *text, p11kms_policy_principal *out, char *err,
                                  size_t errlen);

/* 1 if the grant allows req on its own (operation, key, grantee, constraints).
 * Never for kms:RetireGrant: that is p11kms_grant_may_retire() on the grant
 * being retired. */
int p11kms_grant_allows(const p11kms_grant *grant, const p11kms_policy_request *req);

/* 1 if caller may RetireGrant: its retiring principal, or its grantee when
 * the grant includes the RetireGrant operation (KMS's rule). */
int p11kms_grant_may_retire(const p11kms_grant *grant, const p11kms_caller *caller);

/* ---- evaluation ----------------------------------------------------------- */

/*
 * Decide req.  key_policy is NULL for requests that concern no key
 * (req->key_id == NULL); a keyed request without its key policy can still be
 * allowed by a grant, never by identity policies alone.
 * identity_policies are the policies attached to the caller's uid and to its
 * groups (the engine selects them: this function trusts that selection).
 * grants are the live grants of req->key_id.  why may be NULL.
 */
p11kms_policy_decision p11kms_policy_evaluate(const p11kms_policy *key_policy,
                                              const p11kms_policy *const *identity_policies,
                                              size_t n, const p11kms_grant *const *grants,
                                              size_t ngrants, const p11kms_policy_request *req,
                                              p11kms_policy_result *why);

const char *p11kms_policy_decision_name(p11kms_policy_decision d); /* "Allow", ... */

/* 1 if "kms:Encrypt"-style name is a known action (case-insensitive). */
int p11kms_policy_action_known(const char *action);

/* ---- defaults and safety checks ------------------------------------------ */

/*
 * CreateKey's default key policy: the creator ("user:NAME#UID", or "uid:N"
 * when the name is unknown) gets kms:*, and {"Unix":"token"} gets kms:* so
 * identity policies apply.  *out_json is malloc'd.  Returns 1/0.
 */
int p11kms_policy_default_key_policy(const p11kms_caller *creator, char **out_json);

/*
 * The identity policy that the engine attaches by default to the token's
 * initialiser and to the admin group: kms:CreateKey and the key-less
 * listing calls.  *out_json is malloc'd.  Returns 1/0.
 */
int p11kms_policy_default_admin_identity_policy(char **out_json);

/*
 * PutKeyPolicy/CreateKey lockout safety check (KMS semantics): 1 if, under
 * the new policy and the caller's identity policies, the caller could call
 * kms:PutKeyPolicy on this key again; else 0 with err set to KMS's message.
 * The engine skips the call when BypassPolicyLockoutSafetyCheck is true.
 */
int p11kms_policy_lockout_check(const p11kms_policy *new_key_policy,
                                const p11kms_policy *const *identity_policies, size_t n,
                                const p11kms_caller *caller, const char *key_id, char *err,
                                size_t errlen);

#endif /* P11KMS_KMS_POLICY_H */
