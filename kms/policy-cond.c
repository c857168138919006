/*
 * kms/policy-cond.c — evaluation of Condition blocks against a request.
 *
 * IAM semantics, as KMS applies them: every condition in a statement must
 * hold; a condition holds if the request value matches any of its values;
 * a negated operator (StringNotEquals, ...) holds when none matches; a key
 * absent from the request fails a positive operator and satisfies a negated
 * one, IfExists, and ForAllValues; ForAnyValue needs a present value.
 * Multi-valued keys (kms:EncryptionContextKeys, kms:GrantOperations,
 * p11kms:CallerGroup) iterate over the request's values.  No allocation,
 * no locale: this runs on every request.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kms/policy-internal.h"

typedef struct reqval {
    const char *s;
    size_t len;
    int numok; /* -1 unknown yet, 0 not a number, 1 num valid */
    double num;
    char buf[24];
} reqval;

static int set_str(reqval *v, const char *s)
{
    if (s == NULL)
        return 0;
    v->s = s;
    v->len = strlen(s);
    v->numok = -1;
    return 1;
}

static int set_num(reqval *v, int64_t n)
{
    snprintf(v->buf, sizeof(v->buf), "%lld", (long long)n);
    v->s = v->buf;
    v->len = strlen(v->buf);
    v->numok = 1;
    v->num = (double)n;
    return 1;
}

static int next_ctx_value(const p11kms_policy_request *r, const p11kms_policy_cond *c, size_t *cur,
                          reqval *v)
{
    while (r->context != NULL && *cur < r->ncontext) {
        const p11kms_policy_pair *p = &r->context[(*cur)++];
        /* no strlen: most keys differ in their first bytes */
        if (p->key != NULL && strncasecmp(p->key, c->ctx_key, c->ctx_key_len) == 0 &&
            p->key[c->ctx_key_len] == '\0')
            return set_str(v, p->value);
    }
    return 0;
}

/* The caller's gid first, then its other groups, as decimal strings. */
static int next_group(const p11kms_caller *cl, size_t *cur, reqval *v)
{
    while (*cur <= cl->ngroups && *cur <= P11KMS_CALLER_MAX_GROUPS) {
        size_t i = (*cur)++;
        if (i == 0)
            return set_num(v, (int64_t)cl->gid);
        if (cl->groups[i - 1] != cl->gid)
            return set_num(v, (int64_t)cl->groups[i - 1]);
    }
    return 0;
}

static int single(size_t *cur, reqval *v, const char *s)
{
    if ((*cur)++ != 0 || s == NULL)
        return 0;
    return set_str(v, s);
}

static int single_num(size_t *cur, reqval *v, int has, int64_t n)
{
    if ((*cur)++ != 0 || !has)
        return 0;
    return set_num(v, n);
}

/* Next request value for the condition's key; 0 when there are no more. */
static int next_value(const p11kms_policy_request *r, const p11kms_policy_cond *c, size_t *cur,
                      reqval *v)
{
    const p11kms_caller *cl = r->caller;

    switch (c->ckey) {
    case P11KMS_CK_EC_KEY:
        return next_ctx_value(r, c, cur, v);
    case P11KMS_CK_EC_KEYS:
        return r->context != NULL && *cur < r->ncontext && set_str(v, r->context[(*cur)++].key);
    case P11KMS_CK_GRANT_OPERATIONS:
        return r->grant_operations != NULL && *cur < r->ngrant_operations &&
               set_str(v, r->grant_operations[(*cur)++]);
    case P11KMS_CK_CALLER_GROUP:
        return next_group(cl, cur, v);
    case P11KMS_CK_ENC_ALG:
        return single(cur, v, r->encryption_algorithm);
    case P11KMS_CK_SIGN_ALG:
        return single(cur, v, r->signing_algorithm);
    case P11KMS_CK_MAC_ALG:
        return single(cur, v, r->mac_algorithm);
    case P11KMS_CK_MESSAGE_TYPE:
        return single(cur, v, r->message_type);
    case P11KMS_CK_KEY_SPEC:
        return single(cur, v, r->key_spec);
    case P11KMS_CK_KEY_USAGE:
        return single(cur, v, r->key_usage);
    case P11KMS_CK_REQUEST_ALIAS:
        return single(cur, v, r->request_alias);
    case P11KMS_CK_GRANTEE:
        return single(cur, v, r->grantee_principal);
    case P11KMS_CK_RETIRING:
        return single(cur, v, r->retiring_principal);
    case P11KMS_CK_GRANT_CONSTRAINT:
        return single(cur, v, r->grant_constraint_type);
    case P11KMS_CK_PENDING_WINDOW:
        return single_num(cur, v, r->has_pending_window_days, r->pending_window_days);
    case P11KMS_CK_ROTATION_PERIOD:
        return single_num(cur, v, r->has_rotation_period_days, r->rotation_period_days);
    case P11KMS_CK_BYPASS_LOCKOUT:
        return single(cur, v,
                      r->has_bypass_lockout ? (r->bypass_lockout ? "true" : "false") : NULL);
    case P11KMS_CK_CALLER_USER:
        return single(cur, v, cl->user[0] != '\0' ? cl->user : NULL);
    case P11KMS_CK_CALLER_EXE:
        return single(cur, v, cl->executable[0] != '\0' ? cl->executable : NULL);
    default:
        return 0;
    }
}

/* A request string compared numerically: parsed once, on first need. */
static int request_number(reqval *v)
{
    if (v->numok < 0)
        v->numok = p11kms_policy_parse_number(v->s, v->len, &v->num);
    return v->numok;
}

static int compare(const p11kms_policy_cond *c, const p11kms_policy_value *pv, reqval *v)
{
    switch (c->op) {
    case P11KMS_OP_STR_EQ:
        return pv->len == v->len && memcmp(pv->s, v->s, v->len) == 0;
    case P11KMS_OP_STR_EQ_IC:
        return p11kms_policy_strieq(pv->s, pv->len, v->s, v->len);
    case P11KMS_OP_STR_LIKE:
        return p11kms_policy_glob(pv->s, pv->len, v->s, v->len, 0);
    case P11KMS_OP_BOOL:
        return p11kms_policy_strieq(v->s, v->len, pv->boolv ? "true" : "false", pv->boolv ? 4 : 5);
    default:
        break;
    }
    if (!request_number(v))
        return 0;
    switch (c->op) {
    case P11KMS_OP_NUM_EQ:
        return v->num == pv->num;
    case P11KMS_OP_NUM_LT:
        return v->num < pv->num;
    case P11KMS_OP_NUM_LE:
        return v->num <= pv->num;
    case P11KMS_OP_NUM_GT:
        return v->num > pv->num;
    case P11KMS_OP_NUM_GE:
        return v->num >= pv->num;
    default:
        return 0;
    }
}

/* The positive operator holds for one request value if any policy value matches. */
static int match_one(const p11kms_policy_cond *c, reqval *v)
{
    for (size_t i = 0; i < c->nvalues; i++) {
        if (compare(c, &c->values[i], v))
            return 1;
    }
    return 0;
}

static int cond_match(const p11kms_policy_cond *c, const p11kms_policy_request *req)
{
    size_t cur = 0;
    reqval v;
    int have = next_value(req, c, &cur, &v);

    if (c->op == P11KMS_OP_NULL)
        return c->values[0].boolv ? !have : have;
    if (!have)
        return c->if_exists || c->qual == P11KMS_QUAL_ALL ||
               (c->qual == P11KMS_QUAL_NONE && c->negate);
    if (c->qual == P11KMS_QUAL_NONE) {
        int any = 0;
        do {
            any = match_one(c, &v);
        } while (!any && next_value(req, c, &cur, &v));
        return c->negate ? !any : any;
    }
    do {
        int r = match_one(c, &v) != c->negate;
        if (c->qual == P11KMS_QUAL_ANY && r)
            return 1;
        if (c->qual == P11KMS_QUAL_ALL && !r)
            return 0;
    } while (next_value(req, c, &cur, &v));
    return c->qual == P11KMS_QUAL_ALL;
}

int p11kms_policy_conds_match(const p11kms_policy_stmt *st, const p11kms_policy_request *req)
{
    for (size_t i = 0; i < st->nconds; i++) {
        if (!cond_match(&st->conds[i], req))
            return 0;
    }
    return 1;
}
