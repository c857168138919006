/* kms/authz.c — every request through kms/policy.h's evaluator.
 *
 * The engine selects what the evaluator needs and caches its parsed form:
 * the key policy (re-parsed only when its text changed), the key's live
 * grants (re-read per epoch), and the caller's identity policies (per uid
 * and group set, per epoch) plus the built-in admin policy for members of
 * the configured admin group.  Denials carry KMS's style of message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/kms-internal.h"

#define ERRLEN P11KMS_POLICY_ERRLEN

void kms_request_init(kms_call *c, p11kms_policy_request *req)
{
    memset(req, 0, sizeof(*req));
    req->action = c->action;
    req->caller = c->caller;
    if (c->key != NULL) {
        req->key_id = c->key->key_id;
        req->key_spec = c->key->row.key_spec;
        req->key_usage = c->key->row.key_usage;
    }
}

void kms_context_pairs(const p11kms_kms_context *ctx, p11kms_policy_pair *out, size_t *n)
{
    *n = 0;
    for (size_t i = 0; ctx != NULL && i < ctx->n && i < P11KMS_KMS_CONTEXT_MAX_PAIRS; i++) {
        out[i].key = ctx->pairs[i].key;
        out[i].value = ctx->pairs[i].value;
        *n = i + 1;
    }
}

p11kms_kms_rc kms_key_policy_load(p11kms_kms_key *key)
{
    char *text = NULL, err[ERRLEN];
    p11kms_policy *pol;
    p11kms_store_rc src;

    if (key->policy != NULL && key->policy_epoch == key->epoch)
        return P11KMS_KMS_OK;
    src = p11kms_store_key_policy_get(key->kms->st, key->key_id, &text);
    if (src == P11KMS_STORE_NOTFOUND) {
        /* No document: nothing allows through the key policy. */
        key->policy_epoch = key->epoch;
        return P11KMS_KMS_OK;
    }
    if (src != P11KMS_STORE_OK)
        return kms_rc_from_store(src);
    if (key->policy_text == NULL || strcmp(text, key->policy_text) != 0) {
        pol = p11kms_policy_parse(text, strlen(text), P11KMS_POLICY_KEY, err, sizeof(err));
        if (pol == NULL) {
            free(text);
            return P11KMS_KMS_STORE_CORRUPT;
        }
        p11kms_policy_free(key->policy);
        free(key->policy_text);
        key->policy = pol;
        key->policy_text = text;
        text = NULL;
    }
    free(text);
    key->policy_epoch = key->epoch;
    return P11KMS_KMS_OK;
}

void kms_idcache_free(kms_idcache *idc)
{
    for (size_t i = 0; i < idc->n; i++)
        p11kms_policy_free(idc->pols[i]);
    free(idc->pols);
    memset(idc, 0, sizeof(*idc));
}

static int idcache_hit(const p11kms_kms *kms, const p11kms_caller *caller)
{
    const kms_idcache *idc = &kms->idc;

    return idc->valid && idc->epoch == kms->epoch && idc->uid == (uint32_t)caller->uid &&
           idc->ngroups == caller->ngroups &&
           memcmp(idc->groups, caller->groups, caller->ngroups * sizeof(gid_t)) == 0;
}

/* Parses the stored identity policies of the caller into the cache. */
static p11kms_kms_rc idcache_fill(p11kms_kms *kms, const p11kms_caller *caller)
{
    uint32_t gids[P11KMS_CALLER_MAX_GROUPS];
    p11kms_store_identity_policy *rows = NULL;
    size_t n = 0, ng = caller->ngroups < P11KMS_CALLER_MAX_GROUPS ? caller->ngroups
                                                                  : P11KMS_CALLER_MAX_GROUPS;
    char err[ERRLEN];
    p11kms_store_rc src;
    int unparsable = 0;

    kms_idcache_free(&kms->idc);
    for (size_t i = 0; i < ng; i++)
        gids[i] = (uint32_t)caller->groups[i];
    src = p11kms_store_identity_policy_for_caller(kms->st, (uint32_t)caller->uid, gids, ng, &rows,
                                                  &n);
    if (src != P11KMS_STORE_OK)
        return kms_rc_from_store(src);
    kms->idc.pols = calloc(n + 1, sizeof(*kms->idc.pols));
    for (size_t i = 0; kms->idc.pols != NULL && i < n && !unparsable; i++) {
        p11kms_policy *p = p11kms_policy_parse(rows[i].document, strlen(rows[i].document),
                                               P11KMS_POLICY_IDENTITY, err, sizeof(err));
        if (p != NULL)
            kms->idc.pols[kms->idc.n++] = p;
        else
            unparsable = 1;
    }
    p11kms_store_identity_policy_list_free(rows, n);
    if (kms->idc.pols == NULL)
        return P11KMS_KMS_NOMEM;
    if (unparsable) {
        /* Fail closed: a stored identity policy that no longer parses may
         * hold the Deny that would have applied; never evaluate without it. */
        kms_idcache_free(&kms->idc);
        return P11KMS_KMS_INTERNAL;
    }
    kms->idc.uid = (uint32_t)caller->uid;
    kms->idc.ngroups = ng;
    memcpy(kms->idc.groups, caller->groups, ng * sizeof(gid_t));
    kms->idc.epoch = kms->epoch;
    kms->idc.valid = 1;
    return P11KMS_KMS_OK;
}

/* The identity policies that apply to the caller (cached), in *pols
 * (malloc'd array of borrowed pointers). */
static p11kms_kms_rc identity_policies(p11kms_kms *kms, const p11kms_caller *caller,
                                       const p11kms_policy ***pols, size_t *n)
{
    p11kms_kms_rc rc = P11KMS_KMS_OK;
    char *doc = NULL, err[ERRLEN];

    if (!idcache_hit(kms, caller))
        rc = idcache_fill(kms, caller);
    if (rc != P11KMS_KMS_OK)
        return rc;
    if (kms->admin_policy == NULL && p11kms_policy_default_admin_identity_policy(&doc)) {
        kms->admin_policy =
            p11kms_policy_parse(doc, strlen(doc), P11KMS_POLICY_IDENTITY, err, sizeof(err));
        free(doc);
    }
    *pols = calloc(kms->idc.n + 1, sizeof(**pols));
    if (*pols == NULL)
        return P11KMS_KMS_NOMEM;
    for (*n = 0; *n < kms->idc.n; (*n)++)
        (*pols)[*n] = kms->idc.pols[*n];
    if (kms->opts.admin_gid_set && kms->admin_policy != NULL &&
        p11kms_caller_in_group(caller, kms->opts.admin_gid))
        (*pols)[(*n)++] = kms->admin_policy;
    return P11KMS_KMS_OK;
}

/* Names what decided a denial, so the AccessDenied record says which
 * statement to look at: its Sid (or index) and policy, or the default deny. */
static void deny_reason(const p11kms_policy_result *why, char *out, size_t cap)
{
    const char *where =
        why->source == P11KMS_POLICY_FROM_IDENTITY_POLICY ? "an identity policy" : "the key policy";
    if (why->decision != P11KMS_POLICY_DENY_EXPLICIT)
        snprintf(out, cap, "no policy allows it (default deny)");
    else if (why->sid != NULL && why->sid[0] != '\0')
        snprintf(out, cap, "statement Sid \"%.64s\" of %s denies it", why->sid, where);
    else
        snprintf(out, cap, "statement %zu (no Sid) of %s denies it", why->statement_index, where);
}

static void deny_message(kms_call *c, const p11kms_policy_request *req,
                         const p11kms_policy_result *why)
{
    char reason[128];

    deny_reason(why, reason, sizeof(reason));
    snprintf(c->detail_buf, sizeof(c->detail_buf),
             "uid:%u%s%s is not authorized to perform %s on %s%s because %s",
             (unsigned)c->caller->uid, c->caller->user[0] ? " user:" : "", c->caller->user,
             req->action, req->key_id ? "key " : "the token", req->key_id ? req->key_id : "",
             reason);
    c->detail = c->detail_buf;
}

p11kms_kms_rc kms_authorize(kms_call *c, p11kms_policy_request *req)
{
    const p11kms_policy **ids = NULL;
    size_t nids = 0;
    const p11kms_policy *keypol = NULL;
    const p11kms_grant *const *grants = NULL;
    size_t ngrants = 0;
    p11kms_policy_decision d;
    p11kms_policy_result why;
    p11kms_kms_rc rc;

    if (req->action == NULL)
        return P11KMS_KMS_OK;
    if (c->caller == NULL)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "no caller identity");
    if (c->key != NULL) {
        rc = kms_key_policy_load(c->key);
        if (rc == P11KMS_KMS_OK)
            rc = kms_key_grants_load(c->key);
        if (rc != P11KMS_KMS_OK)
            return kms_fail(c, rc, "cannot load the key policy");
        keypol = c->key->policy;
        grants = c->key->grants.ptrs;
        ngrants = c->key->grants.n;
    }
    rc = identity_policies(c->kms, c->caller, &ids, &nids);
    if (rc != P11KMS_KMS_OK)
        return kms_fail(c, rc, "cannot load identity policies");
    memset(&why, 0, sizeof(why));
    d = p11kms_policy_evaluate(keypol, ids, nids, grants, ngrants, req, &why);
    if (d != P11KMS_POLICY_ALLOW)
        deny_message(c, req, &why); /* why.sid points into a policy: before free */
    free(ids);
    return d == P11KMS_POLICY_ALLOW ? P11KMS_KMS_OK : P11KMS_KMS_ACCESS_DENIED;
}

p11kms_kms_rc kms_policy_check_doc(kms_call *c, const char *json, int identity, char **normalized)
{
    p11kms_policy_kind kind = identity ? P11KMS_POLICY_IDENTITY : P11KMS_POLICY_KEY;

    if (json == NULL)
        return kms_fail(c, P11KMS_KMS_MALFORMED_POLICY, "policy document is required");
    if (!p11kms_policy_normalize(json, strlen(json), kind, normalized, c->detail_buf,
                                 sizeof(c->detail_buf))) {
        c->detail = c->detail_buf;
        return P11KMS_KMS_MALFORMED_POLICY;
    }
    return P11KMS_KMS_OK;
}

p11kms_kms_rc kms_lockout_check(kms_call *c, const char *policy_json, const char *key_id)
{
    const p11kms_policy **ids = NULL;
    size_t nids = 0;
    p11kms_policy *pol;
    p11kms_kms_rc rc;

    pol = p11kms_policy_parse(policy_json, strlen(policy_json), P11KMS_POLICY_KEY, c->detail_buf,
                              sizeof(c->detail_buf));
    if (pol == NULL) {
        c->detail = c->detail_buf;
        return P11KMS_KMS_MALFORMED_POLICY;
    }
    rc = identity_policies(c->kms, c->caller, &ids, &nids);
    if (rc == P11KMS_KMS_OK && !p11kms_policy_lockout_check(pol, ids, nids, c->caller, key_id,
                                                            c->detail_buf, sizeof(c->detail_buf))) {
        c->detail = c->detail_buf;
        rc = P11KMS_KMS_MALFORMED_POLICY;
    }
    free(ids);
    p11kms_policy_free(pol);
    return rc;
}
