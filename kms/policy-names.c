/*
 * kms/policy-names.c — store-time name resolution (p11kms_policy_normalize,
 * p11kms_policy_principal_parse).
 *
 * Names are resolved exactly once, when a document is stored: "user:alice"
 * becomes "user:alice#1001" and the evaluator only ever compares ids.  Thus
 * no name-service lookup happens per request, and a user created later under
 * a reused name does not inherit access.  A stored "NAME#ID" that no longer
 * agrees with the name service is refused, so a round trip
 * GetKeyPolicy -> PutKeyPolicy notices a renamed or reused account.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kms/policy-internal.h"

int p11kms_policy_valid_name(const char *name, size_t len)
{
    if (len == 0 || len > 63 || name[0] == '-')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == '@' || ch == '$'))
            return 0;
    }
    return 1;
}

/* getpwnam_r / getgrnam_r with a growing buffer. */
static int lookup(const char *name, int group, uint32_t *id)
{
    long hint = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t)hint : 16384;
    char *buf = NULL;
    int rc = -1;

    for (int tries = 0; tries < 6; tries++, size *= 4) {
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;
        char *nb = realloc(buf, size);
        int e;

        if (nb == NULL)
            goto done;
        buf = nb;
        e = group ? getgrnam_r(name, &gr, buf, size, &grr) : getpwnam_r(name, &pw, buf, size, &pwr);
        if (e == ERANGE)
            continue;
        if (e != 0 && e != ENOENT && e != ESRCH && e != EBADF && e != EPERM) {
            errno = e;
            goto done;
        }
        rc = group ? grr != NULL : pwr != NULL;
        if (rc == 1)
            *id = group ? (uint32_t)gr.gr_gid : (uint32_t)pw.pw_uid;
        goto done;
    }
done:
    free(buf);
    return rc;
}

int p11kms_policy_lookup_user(const char *name, uint32_t *uid)
{
    return lookup(name, 0, uid);
}

int p11kms_policy_lookup_group(const char *name, uint32_t *gid)
{
    return lookup(name, 1, gid);
}

static int errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/*
 * Resolve NAME or NAME#ID (len bytes at s) for a user or a group; on success
 * *id holds the id.  where prefixes messages.
 */
static int resolve(const char *where, const char *s, size_t len, int group, uint32_t *id, char *err,
                   size_t errlen)
{
    const char *what = group ? "group" : "user";
    const char *hash = memchr(s, '#', len);
    size_t namelen = hash != NULL ? (size_t)(hash - s) : len;
    char name[64], q[80];
    uint32_t stated = 0;
    int rc;

    p11kms_policy_quote(q, sizeof(q), s, namelen);
    if (!p11kms_policy_valid_name(s, namelen))
        return errf(err, errlen, "%sinvalid %s name %s", where, what, q);
    if (hash != NULL && !p11kms_policy_parse_id(hash + 1, len - namelen - 1, &stated))
        return errf(err, errlen, "%sinvalid id after '#' for %s %s", where, what, q);
    memcpy(name, s, namelen);
    name[namelen] = '\0';
    rc = lookup(name, group, id);
    if (rc < 0)
        return errf(err, errlen, "%scannot look up %s %s: %s", where, what, q, strerror(errno));
    if (rc == 0)
        return errf(err, errlen, "%sunknown %s %s", where, what, q);
    if (hash != NULL && stated != *id)
        return errf(err, errlen, "%s%s %s has %s %u now, not %u", where, what, q,
                    group ? "gid" : "uid", *id, stated);
    return 1;
}

int p11kms_policy_principal_parse(const char *text, p11kms_policy_principal *out, char *err,
                                  size_t errlen)
{
    size_t len = text != NULL ? strlen(text) : 0;
    char q[80];

    out->kind = P11KMS_PRINCIPAL_NONE;
    out->id = 0;
    if (len > 4 && (strncmp(text, "uid:", 4) == 0 || strncmp(text, "gid:", 4) == 0)) {
        if (!p11kms_policy_parse_id(text + 4, len - 4, &out->id))
            return errf(err, errlen, "invalid id in principal %s", text);
        out->kind = text[0] == 'u' ? P11KMS_PRINCIPAL_UID : P11KMS_PRINCIPAL_GID;
        return 1;
    }
    if (len > 5 && strncmp(text, "user:", 5) == 0) {
        if (!resolve("", text + 5, len - 5, 0, &out->id, err, errlen))
            return 0;
        out->kind = P11KMS_PRINCIPAL_UID;
        return 1;
    }
    if (len > 6 && strncmp(text, "group:", 6) == 0) {
        if (!resolve("", text + 6, len - 6, 1, &out->id, err, errlen))
            return 0;
        out->kind = P11KMS_PRINCIPAL_GID;
        return 1;
    }
    p11kms_policy_quote(q, sizeof(q), text != NULL ? text : "", len);
    return errf(err, errlen,
                "invalid principal %s (expected uid:N, gid:N, user:NAME or "
                "group:NAME)",
                q);
}

/* ---- normalisation ---------------------------------------------------------- */

/* "user:NAME[#ID]" -> "user:NAME#ID"; other principals unchanged (NULL). */
static json_t *normalized_principal(const char *where, json_t *v, char *err, size_t errlen, int *ok)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), skip;
    int group;
    uint32_t id;
    char buf[128];

    *ok = 1;
    if (len > 5 && strncmp(s, "user:", 5) == 0)
        group = 0, skip = 5;
    else if (len > 6 && strncmp(s, "group:", 6) == 0)
        group = 1, skip = 6;
    else
        return NULL;
    if (!resolve(where, s + skip, len - skip, group, &id, err, errlen)) {
        *ok = 0;
        return NULL;
    }
    snprintf(buf, sizeof(buf), "%.*s#%u", (int)(strcspn(s, "#")), s, id);
    json_t *nv = json_string(buf);
    if (nv == NULL) {
        *ok = errf(err, errlen, "out of memory");
    }
    return nv;
}

/* Rewrite one string in place: as an array element, or as obj[key]. */
static int rewrite(const char *where, json_t *container, size_t index, const char *key, json_t *v,
                   int principal, char *err, size_t errlen)
{
    json_t *nv = NULL;
    int ok = 1;

    if (principal) {
        nv = normalized_principal(where, v, err, errlen, &ok);
    } else {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        uint32_t id;
        char buf[128];
        /* p11kms:CallerGroup: names (no wildcard, not a bare gid) become NAME#GID */
        if (!p11kms_policy_parse_id(s, len, &id) && strpbrk(s, "*?") == NULL && len < 64) {
            ok = resolve(where, s, len, 1, &id, err, errlen);
            if (ok) {
                snprintf(buf, sizeof(buf), "%.*s#%u", (int)strcspn(s, "#"), s, id);
                nv = json_string(buf);
                ok = nv != NULL || errf(err, errlen, "out of memory");
            }
        }
    }
    if (!ok)
        return 0;
    if (nv == NULL)
        return 1;
    if ((key != NULL ? json_object_set_new(container, key, nv)
                     : json_array_set_new(container, index, nv)) != 0)
        return errf(err, errlen, "out of memory");
    return 1;
}

/* Visit each string of a string-or-array value. */
static int rewrite_list(const char *base, json_t *obj, const char *key, int principal, char *err,
                        size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    char where[256];

    if (json_is_string(v)) {
        snprintf(where, sizeof(where), "%s: ", base);
        return rewrite(where, obj, 0, key, v, principal, err, errlen);
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        snprintf(where, sizeof(where), "%s[%zu]: ", base, i);
        if (json_is_string(e) && !rewrite(where, v, i, NULL, e, principal, err, errlen))
            return 0;
    }
    return 1;
}

static int normalize_conditions(const char *path, json_t *cond, char *err, size_t errlen)
{
    const char *op, *key;
    json_t *block, *vals;
    char base[200];

    json_object_foreach(cond, op, block)
    {
        if (strstr(op, "String") == NULL)
            continue;
        json_object_foreach(block, key, vals)
        {
            const char *suffix;
            size_t slen;
            (void)vals;
            if (p11kms_policy_ckey_lookup(key, strlen(key), &suffix, &slen) !=
                P11KMS_CK_CALLER_GROUP)
                continue;
            snprintf(base, sizeof(base), "%s.Condition.%s[\"%s\"]", path, op, key);
            if (!rewrite_list(base, block, key, 0, err, errlen))
                return 0;
        }
    }
    return 1;
}

static int normalize_statement(const char *path, json_t *st, char *err, size_t errlen)
{
    static const char *const pkeys[] = {"Principal", "NotPrincipal"};
    char base[200];

    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_object_get(st, pkeys[i]);
        if (!json_is_object(p))
            continue;
        snprintf(base, sizeof(base), "%s.%s.Unix", path, pkeys[i]);
        if (!rewrite_list(base, p, "Unix", 1, err, errlen))
            return 0;
    }
    if (json_is_object(json_object_get(st, "Condition")))
        return normalize_conditions(path, json_object_get(st, "Condition"), err, errlen);
    return 1;
}

static int normalize_tree(json_t *root, char *err, size_t errlen)
{
    json_t *stmts = json_object_get(root, "Statement");
    char path[48];

    if (json_is_object(stmts))
        return normalize_statement("Statement", stmts, err, errlen);
    for (size_t i = 0; i < json_array_size(stmts); i++) {
        snprintf(path, sizeof(path), "Statement[%zu]", i);
        if (!normalize_statement(path, json_array_get(stmts, i), err, errlen))
            return 0;
    }
    return 1;
}

/* Pretty when it fits in the limit, compact otherwise. */
static char *dump_within_limit(json_t *root, char *err, size_t errlen)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (text != NULL && strlen(text) > P11KMS_POLICY_MAX_BYTES) {
        free(text);
        text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    if (text == NULL) {
        errf(err, errlen, "out of memory");
    } else if (strlen(text) > P11KMS_POLICY_MAX_BYTES) {
        errf(err, errlen,
             "policy document is %zu bytes once names are resolved; the "
             "limit is %d bytes",
             strlen(text), P11KMS_POLICY_MAX_BYTES);
        free(text);
        text = NULL;
    }
    return text;
}

int p11kms_policy_normalize(const char *json, size_t len, p11kms_policy_kind kind, char **out_json,
                            char *err, size_t errlen)
{
    p11kms_policy *check = NULL;
    json_t *root = NULL;
    char *text = NULL;
    int ok = 0;

    if (out_json == NULL)
        goto done;
    *out_json = NULL;
    check = p11kms_policy_parse(json, len, kind, err, errlen);
    if (check == NULL)
        goto done;
    root = p11kms_policy_load_json(json, len, err, errlen);
    if (root == NULL || !normalize_tree(root, err, errlen))
        goto done;
    text = dump_within_limit(root, err, errlen);
    if (text == NULL)
        goto done;
    p11kms_policy_free(check);
    check = p11kms_policy_parse(text, strlen(text), kind, err, errlen);
    if (check == NULL)
        goto done;
    *out_json = text;
    text = NULL;
    ok = 1;
done:
    free(text);
    json_decref(root);
    p11kms_policy_free(check);
    return ok;
}
