/*
 * kms/policy-internal.h — the compiled form of a policy and the helpers the
 * policy-*.c files share.  Not for use outside kms/policy*.c and their
 * tests, fuzz target and benchmark.
 *
 * A compiled policy lives in one arena (policy-arena.c) so that it is freed
 * in one call and its statements sit close together in memory.  Actions are
 * compiled to a bit mask over the known action table, so matching an action
 * during evaluation is one AND.
 */
#ifndef P11KMS_KMS_POLICY_INTERNAL_H
#define P11KMS_KMS_POLICY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kms/policy.h"

/* ---- arena ---------------------------------------------------------------- */

typedef struct p11kms_policy_chunk p11kms_policy_chunk;

typedef struct p11kms_policy_arena {
    p11kms_policy_chunk *head;
} p11kms_policy_arena;

void *p11kms_policy_arena_alloc(p11kms_policy_arena *a, size_t size);
char *p11kms_policy_arena_strndup(p11kms_policy_arena *a, const char *s, size_t len);
void p11kms_policy_arena_release(p11kms_policy_arena *a);

/* ---- actions -------------------------------------------------------------- */

typedef struct p11kms_policy_action_info {
    const char *name;  /* without the "kms:" prefix */
    uint32_t grant_op; /* P11KMS_GRANT_OP_* or 0 */
    int takes_context; /* grant constraints apply */
} p11kms_policy_action_info;

size_t p11kms_policy_action_count(void);
const p11kms_policy_action_info *p11kms_policy_action_at(size_t i);
/* index of "kms:Name" (case-insensitive), or -1 */
int p11kms_policy_action_index(const char *action);
/* mask of the known actions matched by a pattern such as "kms:Generate*";
 * 0 if none; *bad_prefix = 1 when the pattern is neither "*" nor "kms:..." */
uint64_t p11kms_policy_action_mask(const char *pattern, size_t len, int *bad_prefix);
uint64_t p11kms_policy_action_all(void);

/* ---- matching ------------------------------------------------------------- */

/* glob with '*' and '?', optionally ASCII case-insensitive */
int p11kms_policy_glob(const char *pat, size_t plen, const char *s, size_t slen, int icase);
int p11kms_policy_strieq(const char *a, size_t alen, const char *b, size_t blen);
/* decimal number ([-]D[.D][e[+-]D]), independent of the locale; 1 if valid */
int p11kms_policy_parse_number(const char *s, size_t len, double *out);
/* strict decimal uint32 ("0", "1001"; no sign, no leading zeros) */
int p11kms_policy_parse_id(const char *s, size_t len, uint32_t *out);

/* ---- compiled form -------------------------------------------------------- */

enum p11kms_policy_pkind {
    P11KMS_PK_ANY = 0, /* "*" */
    P11KMS_PK_TOKEN,   /* "token": delegation (Allow) / everybody (Deny) */
    P11KMS_PK_UID,
    P11KMS_PK_GID,
    P11KMS_PK_UNRESOLVED, /* "user:NAME" without "#ID": matches nobody */
};

typedef struct p11kms_policy_pcpl {
    uint8_t kind;
    uint32_t id;
} p11kms_policy_pcpl;

enum p11kms_policy_op {
    P11KMS_OP_STR_EQ = 0,
    P11KMS_OP_STR_EQ_IC,
    P11KMS_OP_STR_LIKE,
    P11KMS_OP_NUM_EQ,
    P11KMS_OP_NUM_LT,
    P11KMS_OP_NUM_LE,
    P11KMS_OP_NUM_GT,
    P11KMS_OP_NUM_GE,
    P11KMS_OP_BOOL,
    P11KMS_OP_NULL,
};

enum p11kms_policy_qual {
    P11KMS_QUAL_NONE = 0,
    P11KMS_QUAL_ANY, /* ForAnyValue: */
    P11KMS_QUAL_ALL, /* ForAllValues: */
};

enum p11kms_policy_ckey {
    P11KMS_CK_EC_KEY = 0, /* kms:EncryptionContext:KEY */
    P11KMS_CK_EC_KEYS,    /* kms:EncryptionContextKeys (multi) */
    P11KMS_CK_ENC_ALG,
    P11KMS_CK_SIGN_ALG,
    P11KMS_CK_MAC_ALG,
    P11KMS_CK_MESSAGE_TYPE,
    P11KMS_CK_KEY_SPEC,
    P11KMS_CK_KEY_USAGE,
    P11KMS_CK_REQUEST_ALIAS,
    P11KMS_CK_PENDING_WINDOW,   /* numeric */
    P11KMS_CK_ROTATION_PERIOD,  /* numeric */
    P11KMS_CK_BYPASS_LOCKOUT,   /* boolean */
    P11KMS_CK_GRANT_OPERATIONS, /* multi */
    P11KMS_CK_GRANTEE,
    P11KMS_CK_RETIRING,
    P11KMS_CK_GRANT_CONSTRAINT,
    P11KMS_CK_CALLER_USER,
    P11KMS_CK_CALLER_GROUP, /* multi: decimal gids */
    P11KMS_CK_CALLER_EXE,
};

/* name of a condition key, for messages and docs */
const char *p11kms_policy_ckey_name(int ckey);
/* condition key from its name (case-insensitive); -1 if unknown.  For
 * kms:EncryptionContext:KEY, suffix and suffix_len return KEY. */
int p11kms_policy_ckey_lookup(const char *name, size_t len, const char **suffix,
                              size_t *suffix_len);

typedef struct p11kms_policy_value {
    const char *s; /* string form (for CallerGroup: the gid after '#') */
    size_t len;
    double num; /* valid when numok */
    uint8_t numok;
    uint8_t boolv; /* for Bool/Null: 1 = "true" */
} p11kms_policy_value;

typedef struct p11kms_policy_cond {
    uint8_t op, negate, qual, if_exists, ckey;
    const char *ctx_key; /* kms:EncryptionContext:KEY */
    size_t ctx_key_len;
    size_t nvalues;
    p11kms_policy_value *values;
} p11kms_policy_cond;

typedef struct p11kms_policy_stmt {
    const char *sid; /* "" if none */
    uint8_t deny;
    uint8_t not_principal;
    uint8_t has_principal; /* key policies */
    uint8_t not_resource;
    uint8_t resource_any; /* a "*" among the Resource values */
    uint64_t actions;     /* NotAction already inverted */
    size_t nprincipals;
    p11kms_policy_pcpl *principals;
    size_t nresources;
    const char **resources; /* patterns other than "*" */
    size_t *resource_lens;
    size_t nconds;
    p11kms_policy_cond *conds;
} p11kms_policy_stmt;

struct p11kms_policy {
    p11kms_policy_kind kind;
    size_t nstmts;
    p11kms_policy_stmt *stmts;
    p11kms_policy_arena arena;
};

/* Evaluation of one statement's conditions (policy-cond.c). */
int p11kms_policy_conds_match(const p11kms_policy_stmt *st, const p11kms_policy_request *req);

/* Size limit, JSON syntax with duplicate keys refused, top-level object:
 * the checks parse and normalise share (policy-parse.c). */
struct json_t;
struct json_t *p11kms_policy_load_json(const char *json, size_t len, char *err, size_t errlen);

/* Copy s into a bounded, printable, quoted form for error messages. */
void p11kms_policy_quote(char *out, size_t outlen, const char *s, size_t len);

/* Name-service lookups used at store time only (policy-names.c).
 * Return 1 found, 0 unknown, -1 lookup error. */
int p11kms_policy_lookup_user(const char *name, uint32_t *uid);
int p11kms_policy_lookup_group(const char *name, uint32_t *gid);
/* 1 if NAME is acceptable as a user/group name in a principal */
int p11kms_policy_valid_name(const char *name, size_t len);

#endif /* P11KMS_KMS_POLICY_INTERNAL_H */
