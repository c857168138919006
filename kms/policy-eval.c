/*
 * kms/policy-eval.c — the decision for one request (DESIGN.md, Policies).
 *
 * Default deny; any matching Deny, in the key policy or in an identity policy
 * of the caller, wins over everything; otherwise the request is allowed when
 * the key policy allows the caller directly, or allows "token" and an
 * identity policy allows, or (for key-less requests) an identity policy
 * allows, or a grant allows.  Every statement is visited because a Deny
 * anywhere must win; each visit costs an AND for the action, then the
 * principal, then resource and conditions only for statements still in play.
 */
#include "config.h"

#include <string.h>

#include "kms/policy-internal.h"

enum { PM_NONE = 0, PM_DIRECT = 1, PM_TOKEN = 2 };

typedef struct hit {
    int found;
    size_t policy, stmt;
} hit;

typedef struct scan_state {
    hit deny, allow; /* first explicit Deny, first direct Allow */
    int delegated;   /* key policy allows "token" */
} scan_state;

static int principal_is(const p11kms_policy_pcpl *p, const p11kms_caller *c)
{
    switch (p->kind) {
    case P11KMS_PK_ANY:
        return 1;
    case P11KMS_PK_UID:
        return (uint32_t)c->uid == p->id;
    case P11KMS_PK_GID:
        return p11kms_caller_in_group(c, (gid_t)p->id);
    default:
        return 0;
    }
}

/* PM_DIRECT when the statement names the caller, PM_TOKEN when it names
 * "token" (for a Deny, "token" means every identity of the token). */
static int principal_match(const p11kms_policy_stmt *st, const p11kms_caller *c)
{
    int hit = 0, token = 0;

    if (!st->has_principal)
        return PM_DIRECT; /* identity policy: applies to its owner */
    for (size_t i = 0; i < st->nprincipals && !hit; i++) {
        if (st->principals[i].kind == P11KMS_PK_TOKEN)
            token = 1;
        else
            hit = principal_is(&st->principals[i], c);
    }
    if (st->not_principal)
        return hit ? PM_NONE : PM_DIRECT;
    if (st->deny && token)
        return PM_DIRECT;
    return (hit ? PM_DIRECT : 0) | (token ? PM_TOKEN : 0);
}

static int resource_match(const p11kms_policy_stmt *st, const char *key_id)
{
    int any = st->resource_any;

    for (size_t i = 0; i < st->nresources && !any && key_id != NULL; i++) {
        any = p11kms_policy_glob(st->resources[i] + 4, st->resource_lens[i] - 4, key_id,
                                 strlen(key_id), 0);
    }
    return st->not_resource ? !any : any;
}

static void record(hit *h, size_t policy, size_t stmt)
{
    if (!h->found) {
        h->found = 1;
        h->policy = policy;
        h->stmt = stmt;
    }
}

/* Visit one policy; returns 1 as soon as a Deny matches. */
static int scan(const p11kms_policy *p, size_t pidx, uint64_t abit,
                const p11kms_policy_request *req, scan_state *s)
{
    for (size_t i = 0; i < p->nstmts; i++) {
        const p11kms_policy_stmt *st = &p->stmts[i];
        int pm;

        if (!(st->actions & abit))
            continue;
        pm = principal_match(st, req->caller);
        if (pm == PM_NONE || !resource_match(st, req->key_id) ||
            !p11kms_policy_conds_match(st, req))
            continue;
        if (st->deny) {
            record(&s->deny, pidx, i);
            return 1;
        }
        if (pm & PM_DIRECT)
            record(&s->allow, pidx, i);
        if (pm & PM_TOKEN)
            s->delegated = 1;
    }
    return 0;
}

static p11kms_policy_decision finish(p11kms_policy_result *why, p11kms_policy_decision d,
                                     p11kms_policy_source src, const p11kms_policy *p, const hit *h)
{
    if (why != NULL) {
        memset(why, 0, sizeof(*why));
        why->decision = d;
        why->source = src;
        if (p != NULL && h != NULL) {
            why->policy_index = src == P11KMS_POLICY_FROM_IDENTITY_POLICY ? h->policy : 0;
            why->statement_index = h->stmt;
            why->sid = p->stmts[h->stmt].sid;
        }
    }
    return d;
}

static int request_ok(const p11kms_policy *key_policy, const p11kms_policy *const *identity,
                      size_t n, const p11kms_policy_request *req)
{
    if (req == NULL || req->caller == NULL)
        return 0;
    if (key_policy != NULL && key_policy->kind != P11KMS_POLICY_KEY)
        return 0; /* an identity policy in the key slot would allow everybody */
    for (size_t i = 0; i < n; i++) {
        if (identity[i] == NULL || identity[i]->kind != P11KMS_POLICY_IDENTITY)
            return 0;
    }
    return 1;
}

p11kms_policy_decision p11kms_policy_evaluate(const p11kms_policy *key_policy,
                                              const p11kms_policy *const *identity_policies,
                                              size_t n, const p11kms_grant *const *grants,
                                              size_t ngrants, const p11kms_policy_request *req,
                                              p11kms_policy_result *why)
{
    scan_state key = {0}, ident = {0};
    int idx;
    uint64_t abit;

    idx = req != NULL ? p11kms_policy_action_index(req->action) : -1;
    if (idx < 0 || !request_ok(key_policy, identity_policies, n, req))
        return finish(why, P11KMS_POLICY_DENY_DEFAULT, P11KMS_POLICY_FROM_NONE, NULL, NULL);
    abit = (uint64_t)1 << idx;
    if (key_policy != NULL && scan(key_policy, 0, abit, req, &key))
        return finish(why, P11KMS_POLICY_DENY_EXPLICIT, P11KMS_POLICY_FROM_KEY_POLICY, key_policy,
                      &key.deny);
    for (size_t i = 0; i < n; i++) {
        if (scan(identity_policies[i], i, abit, req, &ident))
            return finish(why, P11KMS_POLICY_DENY_EXPLICIT, P11KMS_POLICY_FROM_IDENTITY_POLICY,
                          identity_policies[i], &ident.deny);
    }
    if (key.allow.found)
        return finish(why, P11KMS_POLICY_ALLOW, P11KMS_POLICY_FROM_KEY_POLICY, key_policy,
                      &key.allow);
    /* Identity policies decide alone only for requests that concern no key: a
     * keyed request that reaches us without its key policy is a caller bug,
     * and must not turn into "identity policies are enough". */
    if (ident.allow.found && ((key_policy == NULL && req->key_id == NULL) || key.delegated))
        return finish(why, P11KMS_POLICY_ALLOW, P11KMS_POLICY_FROM_IDENTITY_POLICY,
                      identity_policies[ident.allow.policy], &ident.allow);
    for (size_t i = 0; i < ngrants; i++) {
        if (grants[i] != NULL && p11kms_grant_allows(grants[i], req)) {
            finish(why, P11KMS_POLICY_ALLOW, P11KMS_POLICY_FROM_GRANT, NULL, NULL);
            if (why != NULL) {
                why->policy_index = i;
                why->grant_id = grants[i]->grant_id;
            }
            return P11KMS_POLICY_ALLOW;
        }
    }
    return finish(why, P11KMS_POLICY_DENY_DEFAULT, P11KMS_POLICY_FROM_NONE, NULL, NULL);
}

const char *p11kms_policy_decision_name(p11kms_policy_decision d)
{
    switch (d) {
    case P11KMS_POLICY_ALLOW:
        return "Allow";
    case P11KMS_POLICY_DENY_EXPLICIT:
        return "ExplicitDeny";
    case P11KMS_POLICY_DENY_DEFAULT:
        return "ImplicitDeny";
    default:
        return "Unknown";
    }
}
