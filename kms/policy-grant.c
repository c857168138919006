/*
 * kms/policy-grant.c — grants: validation at CreateGrant, and whether a
 * grant allows a request.
 *
 * The engine stores grants; this file holds KMS's rules about them so that
 * they are applied the same way by the evaluator and by CreateGrant:
 * constraints (EncryptionContextEquals / EncryptionContextSubset, keys
 * compared case-insensitively and values exactly) apply only to operations
 * that take an encryption context, and a grant that carries CreateGrant lets
 * its grantee create only grants with a subset of its operations and equal
 * or stricter constraints.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kms/policy-internal.h"

static const struct {
    const char *name;
    uint32_t bit;
} grant_ops[] = {
    {"Decrypt", P11KMS_GRANT_OP_DECRYPT},
    {"Encrypt", P11KMS_GRANT_OP_ENCRYPT},
    {"GenerateDataKey", P11KMS_GRANT_OP_GENERATE_DATA_KEY},
    {"GenerateDataKeyWithoutPlaintext", P11KMS_GRANT_OP_GENERATE_DATA_KEY_WITHOUT_PLAINTEXT},
    {"ReEncryptFrom", P11KMS_GRANT_OP_RE_ENCRYPT_FROM},
    {"ReEncryptTo", P11KMS_GRANT_OP_RE_ENCRYPT_TO},
    {"Sign", P11KMS_GRANT_OP_SIGN},
    {"Verify", P11KMS_GRANT_OP_VERIFY},
    {"GetPublicKey", P11KMS_GRANT_OP_GET_PUBLIC_KEY},
    {"CreateGrant", P11KMS_GRANT_OP_CREATE_GRANT},
    {"RetireGrant", P11KMS_GRANT_OP_RETIRE_GRANT},
    {"DescribeKey", P11KMS_GRANT_OP_DESCRIBE_KEY},
    {"GenerateDataKeyPair", P11KMS_GRANT_OP_GENERATE_DATA_KEY_PAIR},
    {"GenerateDataKeyPairWithoutPlaintext",
     P11KMS_GRANT_OP_GENERATE_DATA_KEY_PAIR_WITHOUT_PLAINTEXT},
    {"GenerateMac", P11KMS_GRANT_OP_GENERATE_MAC},
    {"VerifyMac", P11KMS_GRANT_OP_VERIFY_MAC},
    {"DeriveSharedSecret", P11KMS_GRANT_OP_DERIVE_SHARED_SECRET},
};

#define NGRANT_OPS    (sizeof(grant_ops) / sizeof(grant_ops[0]))
#define ALL_GRANT_OPS ((1u << NGRANT_OPS) - 1)

/* Operations with no encryption context: a constraint would never hold. */
#define NO_CONTEXT_OPS                                                                             \
    (P11KMS_GRANT_OP_SIGN | P11KMS_GRANT_OP_VERIFY | P11KMS_GRANT_OP_GET_PUBLIC_KEY |              \
     P11KMS_GRANT_OP_GENERATE_MAC | P11KMS_GRANT_OP_VERIFY_MAC |                                   \
     P11KMS_GRANT_OP_DERIVE_SHARED_SECRET)

uint32_t p11kms_grant_operation_bit(const char *name)
{
    if (name == NULL)
        return 0;
    if (strncmp(name, "kms:", 4) == 0)
        name += 4;
    for (size_t i = 0; i < NGRANT_OPS; i++) {
        if (strcmp(name, grant_ops[i].name) == 0)
            return grant_ops[i].bit;
    }
    return 0;
}

const char *p11kms_grant_operation_name(uint32_t bit)
{
    for (size_t i = 0; i < NGRANT_OPS; i++) {
        if (grant_ops[i].bit == bit)
            return grant_ops[i].name;
    }
    return NULL;
}

static int principal_is_caller(const p11kms_policy_principal *p, const p11kms_caller *c)
{
    if (p->kind == P11KMS_PRINCIPAL_UID)
        return (uint32_t)c->uid == p->id;
    if (p->kind == P11KMS_PRINCIPAL_GID)
        return p11kms_caller_in_group(c, (gid_t)p->id);
    return 0;
}

static const char *find_ci(const p11kms_policy_pair *pairs, size_t n, const char *key)
{
    for (size_t i = 0; pairs != NULL && i < n; i++) {
        if (pairs[i].key != NULL && strcasecmp(pairs[i].key, key) == 0)
            return pairs[i].value;
    }
    return NULL;
}

/* Every pair of sub appears (key ignoring case, value exactly) in set. */
static int pairs_within(const p11kms_policy_pair *sub, size_t nsub, const p11kms_policy_pair *set,
                        size_t nset)
{
    for (size_t i = 0; sub != NULL && i < nsub; i++) {
        const char *v = find_ci(set, nset, sub[i].key);
        if (v == NULL || sub[i].value == NULL || strcmp(v, sub[i].value) != 0)
            return 0;
    }
    return 1;
}

static int pairs_equal(const p11kms_policy_pair *a, size_t na, const p11kms_policy_pair *b,
                       size_t nb)
{
    na = a != NULL ? na : 0;
    nb = b != NULL ? nb : 0;
    return na == nb && pairs_within(a, na, b, nb) && pairs_within(b, nb, a, na);
}

static int constraints_hold(const p11kms_grant *g, const p11kms_policy_request *req)
{
    if (g->ec_equals != NULL &&
        !pairs_equal(g->ec_equals, g->nec_equals, req->context, req->ncontext))
        return 0;
    if (g->ec_subset != NULL &&
        !pairs_within(g->ec_subset, g->nec_subset, req->context, req->ncontext))
        return 0;
    return 1;
}

/* A child grant is at least as strict as its parent (KMS's CreateGrant rule). */
static int child_ok(const p11kms_grant *parent, const p11kms_grant *child)
{
    if (child == NULL || (child->operations & ~parent->operations) != 0)
        return 0;
    if (parent->ec_equals != NULL)
        return child->ec_equals != NULL && pairs_equal(parent->ec_equals, parent->nec_equals,
                                                       child->ec_equals, child->nec_equals);
    if (parent->ec_subset != NULL) {
        if (child->ec_equals != NULL)
            return pairs_within(parent->ec_subset, parent->nec_subset, child->ec_equals,
                                child->nec_equals);
        return child->ec_subset != NULL && pairs_within(parent->ec_subset, parent->nec_subset,
                                                        child->ec_subset, child->nec_subset);
    }
    return 1;
}

int p11kms_grant_allows(const p11kms_grant *g, const p11kms_policy_request *req)
{
    const p11kms_policy_action_info *info;
    int idx = p11kms_policy_action_index(req->action);

    if (idx < 0 || req->caller == NULL)
        return 0;
    info = p11kms_policy_action_at((size_t)idx);
    /* RetireGrant concerns one grant: p11kms_grant_may_retire() decides it, so a
     * grant never lets its grantee retire the key's other grants. */
    if (info->grant_op == 0 || info->grant_op == P11KMS_GRANT_OP_RETIRE_GRANT ||
        !(g->operations & info->grant_op))
        return 0;
    if (g->key_id == NULL || req->key_id == NULL || strcmp(g->key_id, req->key_id) != 0)
        return 0;
    if (!principal_is_caller(&g->grantee, req->caller))
        return 0;
    if (info->grant_op == P11KMS_GRANT_OP_CREATE_GRANT)
        return child_ok(g, req->new_grant);
    return !info->takes_context || constraints_hold(g, req);
}

int p11kms_grant_may_retire(const p11kms_grant *g, const p11kms_caller *caller)
{
    if (principal_is_caller(&g->retiring, caller))
        return 1;
    return (g->operations & P11KMS_GRANT_OP_RETIRE_GRANT) &&
           principal_is_caller(&g->grantee, caller);
}

static int check_pairs(const char *what, const p11kms_policy_pair *p, size_t n, char *err,
                       size_t errlen)
{
    if (p == NULL)
        return 1;
    if (n > P11KMS_GRANT_MAX_CONSTRAINT_PAIRS) {
        snprintf(err, errlen, "%s has %zu pairs; the limit is %d", what, n,
                 P11KMS_GRANT_MAX_CONSTRAINT_PAIRS);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].key == NULL || p[i].key[0] == '\0' || p[i].value == NULL) {
            snprintf(err, errlen, "%s: pair %zu has an empty key or no value", what, i);
            return 0;
        }
        if (strlen(p[i].value) > P11KMS_GRANT_MAX_CONSTRAINT_VALUE) {
            snprintf(err, errlen, "%s: the value of pair %zu is longer than %d characters", what, i,
                     P11KMS_GRANT_MAX_CONSTRAINT_VALUE);
            return 0;
        }
    }
    return 1;
}

int p11kms_grant_validate(const p11kms_grant *g, char *err, size_t errlen)
{
    uint32_t bad;

    if (g->grantee.kind != P11KMS_PRINCIPAL_UID && g->grantee.kind != P11KMS_PRINCIPAL_GID) {
        snprintf(err, errlen,
                 "GranteePrincipal is required (uid:N, gid:N, user:NAME or group:NAME)");
        return 0;
    }
    if (g->operations == 0 || (g->operations & ~ALL_GRANT_OPS) != 0) {
        snprintf(err, errlen,
                 "Operations must list at least one grant operation, "
                 "and only known ones");
        return 0;
    }
    if (g->ec_equals != NULL && g->ec_subset != NULL) {
        snprintf(err, errlen,
                 "Constraints may hold EncryptionContextEquals or "
                 "EncryptionContextSubset, not both");
        return 0;
    }
    if ((g->ec_equals != NULL || g->ec_subset != NULL) && (bad = g->operations & NO_CONTEXT_OPS)) {
        snprintf(err, errlen,
                 "grant constraints cannot be used with operation %s, "
                 "which takes no encryption context",
                 p11kms_grant_operation_name(bad & -bad));
        return 0;
    }
    return check_pairs("EncryptionContextEquals", g->ec_equals, g->nec_equals, err, errlen) &&
           check_pairs("EncryptionContextSubset", g->ec_subset, g->nec_subset, err, errlen);
}
