/*
 * kms/policy-parse.c — validate a policy document and compile it.
 *
 * Everything a request could trip over is checked here, once, so that the
 * evaluator can trust the compiled form blindly: the grammar (KMS's, with
 * Unix principals), the known actions and condition keys, value types for
 * each operator, and the 32 KiB limit.  Each error names the element where
 * it was found, e.g.  Statement[2].Condition: unknown operator "StringEqualz".
 *
 * The validators below return fail(...) where they find a problem instead of
 * jumping to a common exit: they own nothing (the compiled form lives in the
 * policy's arena, the JSON tree in the caller), so there is nothing to clean
 * up, and p11kms_policy_parse() frees the partial policy in one place.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "kms/policy-internal.h"

typedef struct pctx {
    p11kms_policy *pol;
    char *err;
    size_t errlen;
    char path[48]; /* "Statement[12]" or "Statement" */
} pctx;

/* Record "PATH.SUB: message"; always returns 0 so callers can `return fail()`. */
static int fail(pctx *c, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(pctx *c, const char *sub, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    if (c->err == NULL || c->errlen == 0)
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->path[0] == '\0' && (sub == NULL || sub[0] == '\0'))
        snprintf(c->err, c->errlen, "%s", msg);
    else
        snprintf(c->err, c->errlen, "%s%s%s: %s", c->path,
                 c->path[0] != '\0' && sub != NULL && sub[0] != '\0' && sub[0] != '[' ? "." : "",
                 sub != NULL ? sub : "", msg);
    return 0;
}

static void quote(char *out, size_t outlen, const char *s)
{
    p11kms_policy_quote(out, outlen, s, strlen(s));
}

static void quote_json(char *out, size_t outlen, json_t *s)
{
    p11kms_policy_quote(out, outlen, json_string_value(s), json_string_length(s));
}

/* ---- string-or-array values ------------------------------------------------ */

/*
 * Elements such as Action accept a string or a non-empty array of strings.
 * Sets *n and checks every element; element i is strlist_at(v, i).
 */
static int strlist(pctx *c, const char *name, json_t *v, size_t *n)
{
    char sub[96];

    if (json_is_string(v)) {
        *n = 1;
        return 1;
    }
    if (!json_is_array(v))
        return fail(c, name, "must be a string or an array of strings");
    if (json_array_size(v) == 0)
        return fail(c, name, "must not be empty");
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (!json_is_string(json_array_get(v, i))) {
            snprintf(sub, sizeof(sub), "%s[%zu]", name, i);
            return fail(c, sub, "must be a string");
        }
    }
    *n = json_array_size(v);
    return 1;
}

static json_t *strlist_at(json_t *v, size_t i)
{
    return json_is_string(v) ? v : json_array_get(v, i);
}

static void element_name(char *out, size_t outlen, const char *name, json_t *v, size_t i)
{
    if (json_is_array(v))
        snprintf(out, outlen, "%s[%zu]", name, i);
    else
        snprintf(out, outlen, "%s", name);
}

/* ---- Action / NotAction ----------------------------------------------------- */

static int has_wildcard(const char *s, size_t len)
{
    return memchr(s, '*', len) != NULL || memchr(s, '?', len) != NULL;
}

static int parse_actions(pctx *c, p11kms_policy_stmt *st, const char *name, json_t *v, int negate)
{
    char sub[96], q[80];
    uint64_t mask = 0;
    size_t n;

    if (!strlist(c, name, v, &n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = strlist_at(v, i);
        const char *s = json_string_value(e);
        size_t len = json_string_length(e);
        int bad_prefix;
        uint64_t m = p11kms_policy_action_mask(s, len, &bad_prefix);

        element_name(sub, sizeof(sub), name, v, i);
        quote_json(q, sizeof(q), e);
        if (bad_prefix)
            return fail(c, sub, "%s is not a KMS action (expected \"kms:NAME\" or \"*\")", q);
        if (m == 0 && !has_wildcard(s, len))
            return fail(c, sub, "unknown action %s", q);
        if (m == 0)
            return fail(c, sub, "%s matches no KMS action", q);
        mask |= m;
    }
    st->actions = negate ? (~mask & p11kms_policy_action_all()) : mask;
    return 1;
}

/* ---- Principal / NotPrincipal ---------------------------------------------- */

static int parse_named(pctx *c, const char *sub, const char *s, size_t len, const char *what,
                       uint8_t kind, p11kms_policy_pcpl *p)
{
    const char *hash = memchr(s, '#', len);
    size_t namelen = hash != NULL ? (size_t)(hash - s) : len;
    char q[80];

    p11kms_policy_quote(q, sizeof(q), s, len);
    if (!p11kms_policy_valid_name(s, namelen))
        return fail(c, sub, "invalid %s name in %s", what, q);
    if (hash == NULL) {
        p->kind = P11KMS_PK_UNRESOLVED; /* stored documents always carry #ID */
        return 1;
    }
    if (!p11kms_policy_parse_id(hash + 1, len - namelen - 1, &p->id))
        return fail(c, sub, "invalid id after '#' in %s", q);
    p->kind = kind;
    return 1;
}

static int parse_principal(pctx *c, const char *sub, json_t *e, int in_not, p11kms_policy_pcpl *p)
{
    const char *s = json_string_value(e);
    size_t len = json_string_length(e);
    char q[80];

    quote_json(q, sizeof(q), e);
    if (len == 1 && s[0] == '*') {
        p->kind = P11KMS_PK_ANY;
    } else if (len == 5 && memcmp(s, "token", 5) == 0) {
        if (in_not)
            return fail(c, sub, "\"token\" cannot be used in NotPrincipal");
        p->kind = P11KMS_PK_TOKEN;
    } else if (len > 4 && memcmp(s, "uid:", 4) == 0) {
        if (!p11kms_policy_parse_id(s + 4, len - 4, &p->id))
            return fail(c, sub, "invalid uid in %s", q);
        p->kind = P11KMS_PK_UID;
    } else if (len > 4 && memcmp(s, "gid:", 4) == 0) {
        if (!p11kms_policy_parse_id(s + 4, len - 4, &p->id))
            return fail(c, sub, "invalid gid in %s", q);
        p->kind = P11KMS_PK_GID;
    } else if (len > 5 && memcmp(s, "user:", 5) == 0) {
        return parse_named(c, sub, s + 5, len - 5, "user", P11KMS_PK_UID, p);
    } else if (len > 6 && memcmp(s, "group:", 6) == 0) {
        return parse_named(c, sub, s + 6, len - 6, "group", P11KMS_PK_GID, p);
    } else {
        return fail(c, sub,
                    "unknown principal %s (expected user:NAME, group:NAME, "
                    "uid:N, gid:N, \"*\" or \"token\")",
                    q);
    }
    return 1;
}

static int parse_principals(pctx *c, p11kms_policy_stmt *st, const char *name, json_t *v,
                            int in_not)
{
    char sub[96], q[80];
    const char *key;
    json_t *unix_v = NULL, *val;
    size_t n;

    st->has_principal = 1;
    st->not_principal = (uint8_t)in_not;
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*") != 0)
            return fail(c, name, "must be \"*\" or {\"Unix\": ...}");
        unix_v = v;
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, val)
        {
            if (strcmp(key, "Unix") != 0) {
                quote(q, sizeof(q), key);
                return fail(c, name, "unknown principal type %s (expected \"Unix\")", q);
            }
            unix_v = val;
        }
        if (unix_v == NULL)
            return fail(c, name, "must name at least one principal");
    } else {
        return fail(c, name, "must be \"*\" or {\"Unix\": ...}");
    }
    snprintf(sub, sizeof(sub), "%s%s", name, json_is_object(v) ? ".Unix" : "");
    if (!strlist(c, sub, unix_v, &n))
        return 0;
    st->principals = p11kms_policy_arena_alloc(&c->pol->arena, n * sizeof(*st->principals));
    if (st->principals == NULL)
        return fail(c, NULL, "out of memory");
    st->nprincipals = n;
    for (size_t i = 0; i < n; i++) {
        char esub[128];
        element_name(esub, sizeof(esub), sub, unix_v, i);
        if (!parse_principal(c, esub, strlist_at(unix_v, i), in_not, &st->principals[i]))
            return 0;
    }
    return 1;
}

/* ---- Resource / NotResource ------------------------------------------------- */

static int parse_resources(pctx *c, p11kms_policy_stmt *st, const char *name, json_t *v, int negate)
{
    p11kms_policy_arena *a = &c->pol->arena;
    char sub[96], q[80];
    size_t n;

    if (!strlist(c, name, v, &n))
        return 0;
    if (negate && c->pol->kind == P11KMS_POLICY_KEY)
        return fail(c, name, "is not supported in a key policy (use Resource \"*\")");
    st->not_resource = (uint8_t)negate;
    st->resources = p11kms_policy_arena_alloc(a, n * sizeof(*st->resources));
    st->resource_lens = p11kms_policy_arena_alloc(a, n * sizeof(*st->resource_lens));
    if (st->resources == NULL || st->resource_lens == NULL)
        return fail(c, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = strlist_at(v, i);
        const char *s = json_string_value(e);
        size_t len = json_string_length(e);

        element_name(sub, sizeof(sub), name, v, i);
        quote_json(q, sizeof(q), e);
        if (len == 1 && s[0] == '*') {
            st->resource_any = 1;
            continue;
        }
        if (c->pol->kind == P11KMS_POLICY_KEY)
            return fail(c, sub, "a key policy's Resource must be \"*\", not %s", q);
        if (len <= 4 || memcmp(s, "key/", 4) != 0)
            return fail(c, sub, "unsupported resource %s (expected \"*\" or \"key/KEY-ID\")", q);
        st->resources[st->nresources] = p11kms_policy_arena_strndup(a, s, len);
        if (st->resources[st->nresources] == NULL)
            return fail(c, NULL, "out of memory");
        st->resource_lens[st->nresources++] = len;
    }
    return 1;
}

/* ---- Condition ----------------------------------------------------------------- */

static const struct {
    const char *name;
    uint8_t op, negate;
} operators[] = {
    {"StringEquals", P11KMS_OP_STR_EQ, 0},
    {"StringNotEquals", P11KMS_OP_STR_EQ, 1},
    {"StringEqualsIgnoreCase", P11KMS_OP_STR_EQ_IC, 0},
    {"StringNotEqualsIgnoreCase", P11KMS_OP_STR_EQ_IC, 1},
    {"StringLike", P11KMS_OP_STR_LIKE, 0},
    {"StringNotLike", P11KMS_OP_STR_LIKE, 1},
    {"NumericEquals", P11KMS_OP_NUM_EQ, 0},
    {"NumericNotEquals", P11KMS_OP_NUM_EQ, 1},
    {"NumericLessThan", P11KMS_OP_NUM_LT, 0},
    {"NumericLessThanEquals", P11KMS_OP_NUM_LE, 0},
    {"NumericGreaterThan", P11KMS_OP_NUM_GT, 0},
    {"NumericGreaterThanEquals", P11KMS_OP_NUM_GE, 0},
    {"Bool", P11KMS_OP_BOOL, 0},
    {"Null", P11KMS_OP_NULL, 0},
};

static int lookup_operator(const char *name, p11kms_policy_cond *cond)
{
    static const char any[] = "ForAnyValue:", all[] = "ForAllValues:", ifx[] = "IfExists";
    size_t len;

    if (strncmp(name, any, sizeof(any) - 1) == 0) {
        cond->qual = P11KMS_QUAL_ANY;
        name += sizeof(any) - 1;
    } else if (strncmp(name, all, sizeof(all) - 1) == 0) {
        cond->qual = P11KMS_QUAL_ALL;
        name += sizeof(all) - 1;
    }
    len = strlen(name);
    if (len > sizeof(ifx) - 1 && strcmp(name + len - (sizeof(ifx) - 1), ifx) == 0) {
        cond->if_exists = 1;
        len -= sizeof(ifx) - 1;
    }
    for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
        if (strlen(operators[i].name) == len && strncmp(name, operators[i].name, len) == 0) {
            cond->op = operators[i].op;
            cond->negate = operators[i].negate;
            return 1;
        }
    }
    return 0;
}

/* The text of a scalar value, as IAM compares it: numbers and booleans as strings. */
static int value_text(json_t *e, char *buf, size_t buflen, const char **s, size_t *len)
{
    if (json_is_string(e)) {
        *s = json_string_value(e);
        *len = json_string_length(e);
    } else if (json_is_integer(e)) {
        snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(e));
        *s = buf;
        *len = strlen(buf);
    } else if (json_is_real(e)) {
        snprintf(buf, buflen, "%.17g", json_real_value(e));
        *s = buf;
        *len = strlen(buf);
    } else if (json_is_boolean(e)) {
        *s = json_is_true(e) ? "true" : "false";
        *len = strlen(*s);
    } else {
        return 0;
    }
    return 1;
}

static int compile_value(pctx *c, const char *sub, const p11kms_policy_cond *cond,
                         const char *opname, const char *s, size_t len, p11kms_policy_value *v)
{
    char q[80];

    p11kms_policy_quote(q, sizeof(q), s, len);
    if (cond->op == P11KMS_OP_BOOL || cond->op == P11KMS_OP_NULL) {
        if (!p11kms_policy_strieq(s, len, "true", 4) && !p11kms_policy_strieq(s, len, "false", 5))
            return fail(c, sub, "%s takes \"true\" or \"false\", not %s", opname, q);
        v->boolv = p11kms_policy_strieq(s, len, "true", 4);
    } else if (cond->op >= P11KMS_OP_NUM_EQ && cond->op <= P11KMS_OP_NUM_GE) {
        if (!p11kms_policy_parse_number(s, len, &v->num))
            return fail(c, sub, "%s takes numbers, not %s", opname, q);
        v->numok = 1;
    } else if (cond->ckey == P11KMS_CK_CALLER_GROUP && memchr(s, '#', len) != NULL) {
        /* "NAME#GID" (normalised): the gid is what the caller's groups give */
        const char *hash = memchr(s, '#', len);
        uint32_t id;
        if (!p11kms_policy_valid_name(s, (size_t)(hash - s)) ||
            !p11kms_policy_parse_id(hash + 1, len - (size_t)(hash - s) - 1, &id))
            return fail(c, sub, "invalid group value %s (expected NAME, NAME#GID or GID)", q);
        len -= (size_t)(hash + 1 - s);
        s = hash + 1;
    }
    v->s = p11kms_policy_arena_strndup(&c->pol->arena, s, len);
    v->len = len;
    if (v->s == NULL)
        return fail(c, NULL, "out of memory");
    return 1;
}

static int compile_values(pctx *c, const char *sub, const char *opname, json_t *vals,
                          p11kms_policy_cond *cond)
{
    size_t n = json_is_array(vals) ? json_array_size(vals) : 1;
    char numbuf[64];

    if (json_is_array(vals) && n == 0)
        return fail(c, sub, "must have at least one value");
    cond->values = p11kms_policy_arena_alloc(&c->pol->arena, n * sizeof(*cond->values));
    if (cond->values == NULL)
        return fail(c, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_array(vals) ? json_array_get(vals, i) : vals;
        const char *s;
        size_t len;

        if (!value_text(e, numbuf, sizeof(numbuf), &s, &len))
            return fail(c, sub, "values must be strings, numbers or booleans");
        if (cond->op == P11KMS_OP_NULL && json_is_array(vals) && n != 1)
            return fail(c, sub, "Null takes a single \"true\" or \"false\"");
        if (!compile_value(c, sub, cond, opname, s, len, &cond->values[i]))
            return 0;
    }
    cond->nvalues = n;
    return 1;
}

static int parse_cond_key(pctx *c, const char *opsub, const char *opname,
                          const p11kms_policy_cond *proto, const char *key, json_t *vals,
                          p11kms_policy_cond *cond)
{
    char sub[200], q[80];
    const char *suffix;
    size_t suffix_len;
    int ck = p11kms_policy_ckey_lookup(key, strlen(key), &suffix, &suffix_len);

    quote(q, sizeof(q), key);
    if (ck < 0)
        return fail(c, opsub, "unknown condition key %s", q);
    if (ck == P11KMS_CK_EC_KEY && suffix_len == 0)
        return fail(c, opsub, "condition key %s names no encryption context key", q);
    *cond = *proto;
    cond->ckey = (uint8_t)ck;
    if (ck == P11KMS_CK_EC_KEY) {
        cond->ctx_key = p11kms_policy_arena_strndup(&c->pol->arena, suffix, suffix_len);
        cond->ctx_key_len = suffix_len;
        if (cond->ctx_key == NULL)
            return fail(c, NULL, "out of memory");
    }
    snprintf(sub, sizeof(sub), "%s[%s]", opsub, q);
    return compile_values(c, sub, opname, vals, cond);
}

static size_t count_conditions(json_t *v)
{
    const char *key;
    json_t *block;
    size_t n = 0;

    json_object_foreach(v, key, block)
    {
        (void)key;
        if (json_is_object(block))
            n += json_object_size(block);
    }
    return n;
}

static int parse_condition(pctx *c, p11kms_policy_stmt *st, json_t *v)
{
    char q[80], opsub[112];
    const char *opname, *key;
    json_t *block, *vals;
    size_t n = 0;

    if (!json_is_object(v))
        return fail(c, "Condition", "must be an object");
    st->conds = p11kms_policy_arena_alloc(&c->pol->arena, count_conditions(v) * sizeof(*st->conds));
    if (st->conds == NULL)
        return fail(c, NULL, "out of memory");
    json_object_foreach(v, opname, block)
    {
        p11kms_policy_cond proto = {0};

        quote(q, sizeof(q), opname);
        if (!lookup_operator(opname, &proto))
            return fail(c, "Condition", "unknown operator %s", q);
        if (proto.op == P11KMS_OP_NULL && (proto.qual != P11KMS_QUAL_NONE || proto.if_exists))
            return fail(c, "Condition",
                        "operator %s: Null takes no ForAnyValue:, "
                        "ForAllValues: or IfExists",
                        q);
        snprintf(opsub, sizeof(opsub), "Condition.%s", opname);
        if (!json_is_object(block))
            return fail(c, opsub, "must be an object of condition keys");
        if (json_object_size(block) == 0)
            return fail(c, opsub, "must name at least one condition key");
        json_object_foreach(block, key, vals)
        {
            if (!parse_cond_key(c, opsub, opname, &proto, key, vals, &st->conds[n]))
                return 0;
            n++;
        }
    }
    st->nconds = n;
    return 1;
}

/* ---- Statement ----------------------------------------------------------------- */

typedef struct stmt_elems {
    json_t *sid, *effect, *principal, *not_principal, *action, *not_action;
    json_t *resource, *not_resource, *condition;
} stmt_elems;

static int collect_elems(pctx *c, json_t *obj, stmt_elems *e)
{
    static const struct {
        const char *name;
        size_t off;
    } known[] = {
        {"Sid", offsetof(stmt_elems, sid)},
        {"Effect", offsetof(stmt_elems, effect)},
        {"Principal", offsetof(stmt_elems, principal)},
        {"NotPrincipal", offsetof(stmt_elems, not_principal)},
        {"Action", offsetof(stmt_elems, action)},
        {"NotAction", offsetof(stmt_elems, not_action)},
        {"Resource", offsetof(stmt_elems, resource)},
        {"NotResource", offsetof(stmt_elems, not_resource)},
        {"Condition", offsetof(stmt_elems, condition)},
    };
    const char *key;
    json_t *val;
    char q[80];

    memset(e, 0, sizeof(*e));
    json_object_foreach(obj, key, val)
    {
        size_t i;
        for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            if (strcmp(key, known[i].name) == 0)
                break;
        }
        if (i == sizeof(known) / sizeof(known[0])) {
            quote(q, sizeof(q), key);
            return fail(c, NULL, "unknown element %s", q);
        }
        *(json_t **)((char *)e + known[i].off) = val;
    }
    return 1;
}

static int parse_effect(pctx *c, p11kms_policy_stmt *st, json_t *v)
{
    char q[80];

    if (v == NULL)
        return fail(c, "Effect", "is missing");
    if (!json_is_string(v))
        return fail(c, "Effect", "must be a string");
    if (strcmp(json_string_value(v), "Allow") == 0)
        return 1;
    if (strcmp(json_string_value(v), "Deny") == 0) {
        st->deny = 1;
        return 1;
    }
    quote_json(q, sizeof(q), v);
    return fail(c, "Effect", "must be \"Allow\" or \"Deny\", not %s", q);
}

static int parse_principal_elems(pctx *c, p11kms_policy_stmt *st, const stmt_elems *e)
{
    int key = c->pol->kind == P11KMS_POLICY_KEY;

    if (!key && (e->principal != NULL || e->not_principal != NULL))
        return fail(c, e->principal != NULL ? "Principal" : "NotPrincipal",
                    "is not allowed in an identity policy (it applies to its owner)");
    if (!key)
        return 1;
    if (e->principal != NULL && e->not_principal != NULL)
        return fail(c, NULL, "Principal and NotPrincipal cannot both be present");
    if (e->principal == NULL && e->not_principal == NULL)
        return fail(c, NULL, "Principal or NotPrincipal is required in a key policy");
    return e->principal != NULL ? parse_principals(c, st, "Principal", e->principal, 0)
                                : parse_principals(c, st, "NotPrincipal", e->not_principal, 1);
}

static int parse_statement(pctx *c, json_t *obj, p11kms_policy_stmt *st)
{
    stmt_elems e;

    if (!json_is_object(obj))
        return fail(c, NULL, "must be an object");
    if (!collect_elems(c, obj, &e))
        return 0;
    st->sid = "";
    if (e.sid != NULL) {
        if (!json_is_string(e.sid))
            return fail(c, "Sid", "must be a string");
        st->sid = p11kms_policy_arena_strndup(&c->pol->arena, json_string_value(e.sid),
                                              json_string_length(e.sid));
        if (st->sid == NULL)
            return fail(c, NULL, "out of memory");
    }
    if (!parse_effect(c, st, e.effect) || !parse_principal_elems(c, st, &e))
        return 0;
    if (e.action != NULL && e.not_action != NULL)
        return fail(c, NULL, "Action and NotAction cannot both be present");
    if (e.action == NULL && e.not_action == NULL)
        return fail(c, NULL, "Action or NotAction is required");
    if (!(e.action != NULL ? parse_actions(c, st, "Action", e.action, 0)
                           : parse_actions(c, st, "NotAction", e.not_action, 1)))
        return 0;
    if (e.resource != NULL && e.not_resource != NULL)
        return fail(c, NULL, "Resource and NotResource cannot both be present");
    if (e.resource == NULL && e.not_resource == NULL)
        return fail(c, NULL, "Resource or NotResource is required");
    if (!(e.resource != NULL ? parse_resources(c, st, "Resource", e.resource, 0)
                             : parse_resources(c, st, "NotResource", e.not_resource, 1)))
        return 0;
    return e.condition == NULL || parse_condition(c, st, e.condition);
}

static int check_unique_sids(pctx *c)
{
    const p11kms_policy *p = c->pol;
    char q[80];

    for (size_t i = 1; i < p->nstmts; i++) {
        if (p->stmts[i].sid[0] == '\0')
            continue;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->stmts[i].sid, p->stmts[j].sid) == 0) {
                snprintf(c->path, sizeof(c->path), "Statement[%zu]", i);
                quote(q, sizeof(q), p->stmts[i].sid);
                return fail(c, "Sid", "duplicate Sid %s (also Statement[%zu])", q, j);
            }
        }
    }
    return 1;
}

static int parse_statements(pctx *c, json_t *v)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;

    if (!json_is_array(v) && !json_is_object(v))
        return fail(c, "Statement", "must be an object or an array of objects");
    if (n == 0)
        return fail(c, "Statement", "must not be empty");
    c->pol->stmts = p11kms_policy_arena_alloc(&c->pol->arena, n * sizeof(*c->pol->stmts));
    if (c->pol->stmts == NULL)
        return fail(c, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (json_is_array(v))
            snprintf(c->path, sizeof(c->path), "Statement[%zu]", i);
        else
            snprintf(c->path, sizeof(c->path), "Statement");
        if (!parse_statement(c, json_is_array(v) ? json_array_get(v, i) : v, &c->pol->stmts[i]))
            return 0;
        c->pol->nstmts = i + 1;
    }
    return check_unique_sids(c);
}

static int parse_version(pctx *c, json_t *v)
{
    char q[80];

    if (!json_is_string(v))
        return fail(c, "Version", "must be a string");
    if (strcmp(json_string_value(v), "2012-10-17") == 0 ||
        strcmp(json_string_value(v), "2008-10-17") == 0)
        return 1;
    quote_json(q, sizeof(q), v);
    return fail(c, "Version", "unsupported version %s (expected \"2012-10-17\")", q);
}

static int parse_top(pctx *c, json_t *root)
{
    json_t *statement = NULL, *val;
    const char *key;
    char q[80];

    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "Version") == 0) {
            if (!parse_version(c, val))
                return 0;
        } else if (strcmp(key, "Id") == 0) {
            if (!json_is_string(val))
                return fail(c, "Id", "must be a string");
        } else if (strcmp(key, "Statement") == 0) {
            statement = val;
        } else {
            quote(q, sizeof(q), key);
            return fail(c, NULL, "unknown top-level element %s", q);
        }
    }
    if (statement == NULL)
        return fail(c, NULL, "Statement is missing");
    return parse_statements(c, statement);
}

/* Shared with normalisation: size limit, duplicate keys, top-level object. */
json_t *p11kms_policy_load_json(const char *json, size_t len, char *err, size_t errlen)
{
    pctx c = {.err = err, .errlen = errlen};
    json_error_t jerr;
    json_t *root = NULL;

    if (json == NULL || len == 0) {
        fail(&c, NULL, "policy document is empty");
        goto done;
    }
    if (len > P11KMS_POLICY_MAX_BYTES) {
        fail(&c, NULL, "policy document is %zu bytes; the limit is %d bytes", len,
             P11KMS_POLICY_MAX_BYTES);
        goto done;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson names its own flag here; say what is wrong instead */
        fail(&c, NULL, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
             strstr(jerr.text, "JSON_ALLOW_NUL") != NULL ? "NUL characters are not allowed"
                                                         : jerr.text);
        goto done;
    }
    if (!json_is_object(root)) {
        fail(&c, NULL, "policy document must be a JSON object");
        json_decref(root);
        root = NULL;
    }
done:
    return root;
}

p11kms_policy *p11kms_policy_parse(const char *json, size_t len, p11kms_policy_kind kind, char *err,
                                   size_t errlen)
{
    pctx c = {.err = err, .errlen = errlen};
    json_t *root = NULL;
    p11kms_policy *pol = NULL;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (kind != P11KMS_POLICY_KEY && kind != P11KMS_POLICY_IDENTITY) {
        fail(&c, NULL, "unknown policy kind %d", (int)kind);
        goto done;
    }
    root = p11kms_policy_load_json(json, len, err, errlen);
    if (root == NULL)
        goto done;
    pol = calloc(1, sizeof(*pol));
    if (pol == NULL) {
        fail(&c, NULL, "out of memory");
        goto done;
    }
    pol->kind = kind;
    c.pol = pol;
    if (!parse_top(&c, root)) {
        p11kms_policy_free(pol);
        pol = NULL;
    }
done:
    json_decref(root);
    return pol;
}

void p11kms_policy_free(p11kms_policy *policy)
{
    if (policy == NULL)
        return;
    p11kms_policy_arena_release(&policy->arena);
    free(policy);
}

size_t p11kms_policy_statement_count(const p11kms_policy *policy)
{
    return policy != NULL ? policy->nstmts : 0;
}

p11kms_policy_kind p11kms_policy_get_kind(const p11kms_policy *policy)
{
    return policy->kind;
}
