/*
 * tools/args.c — option, encryption-context and --query parsing for the
 * p11kms command line (tools/args.h).  No I/O and no PKCS#11 here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/args.h"

static int find_opt(const tool_opt *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* One option word at argv[*i]; advances *i past its value. */
static int parse_one(int argc, char **argv, int *i, tool_args *out, char *err, size_t errlen)
{
    const char *w = argv[*i];
    const char *eq = strchr(w, '=');
    size_t len = eq ? (size_t)(eq - w - 2) : strlen(w) - 2;
    int k = find_opt(out->opts, out->nopts, w + 2, len);
    if (k < 0) {
        snprintf(err, errlen, "unknown option '%.*s'", (int)(len + 2), w);
        return 0;
    }
    if (out->values[k] != NULL) {
        snprintf(err, errlen, "option --%s given twice", out->opts[k].name);
        return 0;
    }
    if (!(out->opts[k].flags & TOOL_OPT_VALUE)) {
        if (eq != NULL) {
            snprintf(err, errlen, "option --%s takes no value", out->opts[k].name);
            return 0;
        }
        out->values[k] = "true";
        return 1;
    }
    if (eq != NULL) {
        out->values[k] = eq + 1;
        return 1;
    }
    if (*i + 1 >= argc) {
        snprintf(err, errlen, "option --%s needs a value", out->opts[k].name);
        return 0;
    }
    out->values[k] = argv[++*i];
    return 1;
}

int tool_args_parse(int argc, char **argv, const tool_opt *opts, size_t nopts, tool_args *out,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->opts = opts;
    out->nopts = nopts < TOOL_MAX_OPTS ? nopts : TOOL_MAX_OPTS;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            snprintf(err, errlen, "unexpected argument '%s'", argv[i]);
            return 0;
        }
        if (!parse_one(argc, argv, &i, out, err, errlen))
            return 0;
    }
    for (size_t k = 0; k < out->nopts; k++) {
        if ((opts[k].flags & TOOL_OPT_REQUIRED) && out->values[k] == NULL) {
            snprintf(err, errlen, "the option --%s is required", opts[k].name);
            return 0;
        }
    }
    return 1;
}

const char *tool_arg(const tool_args *a, const char *name)
{
    int k = find_opt(a->opts, a->nopts, name, strlen(name));
    return k < 0 ? NULL : a->values[k];
}

/* ---- encryption context ------------------------------------------------- */

static json_t *context_json(const char *text, char *err, size_t errlen)
{
    json_error_t je;
    const char *k;
    json_t *v, *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL) {
        snprintf(err, errlen, "encryption context: %s", je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        snprintf(err, errlen, "encryption context: not a JSON object");
        goto bad;
    }
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v) || k[0] == '\0') {
            snprintf(err, errlen, "encryption context: key '%s' needs a string value and a name",
                     k);
            goto bad;
        }
    }
    return o;
bad:
    json_decref(o);
    return NULL;
}

/* One "k=v" of length len into o. */
static int context_pair(json_t *o, const char *p, size_t len, char *err, size_t errlen)
{
    const char *eq = memchr(p, '=', len);
    char *key = NULL;
    int ok = 0;
    if (eq == NULL || eq == p) {
        snprintf(err, errlen, "encryption context: '%.*s' is not KEY=VALUE", (int)len, p);
        return 0;
    }
    key = strndup(p, (size_t)(eq - p));
    if (key == NULL)
        goto done;
    if (json_object_get(o, key) != NULL) {
        snprintf(err, errlen, "encryption context: key '%s' given twice", key);
        goto done;
    }
    ok = json_object_set_new(o, key, json_stringn(eq + 1, len - (size_t)(eq + 1 - p))) == 0;
    if (!ok)
        snprintf(err, errlen, "encryption context: '%.*s' is not valid UTF-8", (int)len, p);
done:
    free(key);
    return ok;
}

json_t *tool_parse_context(const char *text, char *err, size_t errlen)
{
    json_t *o;
    const char *p = text;
    if (text[0] == '{')
        return context_json(text, err, errlen);
    o = json_object();
    if (o == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!context_pair(o, p, len, err, errlen)) {
            json_decref(o);
            return NULL;
        }
        p += len + (comma ? 1 : 0);
        if (comma != NULL && *p == '\0') {
            snprintf(err, errlen, "encryption context: trailing ','");
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

int tool_parse_uint(const char *name, const char *text, unsigned min, unsigned max, unsigned *out,
                    char *err, size_t errlen)
{
    char *end = NULL;
    unsigned long v;
    errno = 0;
    v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
        snprintf(err, errlen, "--%s must be a whole number from %u to %u, not '%s'", name, min, max,
                 text);
        return 0;
    }
    *out = (unsigned)v;
    return 1;
}

/* ---- --query ------------------------------------------------------------ */

typedef struct qseg {
    char name[128];
    int has_index, project;
    long index;
} qseg;

/* Parses the segment at *p (up to '.' or end) and advances *p. */
static int qseg_parse(const char **p, qseg *s, char *err, size_t errlen)
{
    size_t n = strcspn(*p, ".[");
    memset(s, 0, sizeof(*s));
    if (n >= sizeof(s->name))
        goto bad;
    memcpy(s->name, *p, n);
    *p += n;
    if (**p == '[') {
        char *end = NULL;
        if ((*p)[1] == ']') {
            s->project = 1;
            *p += 2;
        } else {
            s->index = strtol(*p + 1, &end, 10);
            if (end == *p + 1 || *end != ']')
                goto bad;
            s->has_index = 1;
            *p = end + 1;
        }
    }
    if (**p == '.' && (*p)[1] != '\0')
        (*p)++;
    else if (**p != '\0')
        goto bad;
    if (s->name[0] == '\0' && !s->has_index && !s->project)
        goto bad;
    return 1;
bad:
    snprintf(err, errlen, "--query: malformed path near '%s'", *p);
    return 0;
}

static json_t *query_at(json_t *v, const char *p, char *err, size_t errlen);

static json_t *project(json_t *arr, const char *rest, char *err, size_t errlen)
{
    json_t *out = json_array(), *e;
    size_t i;
    if (!json_is_array(arr))
        return json_null();
    json_array_foreach(arr, i, e)
    {
        json_t *r = *rest ? query_at(e, rest, err, errlen) : json_incref(e);
        if (r == NULL) {
            json_decref(out);
            return NULL;
        }
        if (json_is_null(r))
            json_decref(r);
        else
            json_array_append_new(out, r);
    }
    return out;
}

static json_t *query_at(json_t *v, const char *p, char *err, size_t errlen)
{
    qseg s;
    if (*p == '\0')
        return json_incref(v);
    if (!qseg_parse(&p, &s, err, errlen))
        return NULL;
    if (s.name[0] != '\0')
        v = json_is_object(v) ? json_object_get(v, s.name) : NULL;
    if (v == NULL)
        return json_null();
    if (s.project)
        return project(v, p, err, errlen);
    if (s.has_index) {
        long n = json_is_array(v) ? (long)json_array_size(v) : 0;
        long i = s.index < 0 ? n + s.index : s.index;
        v = (i >= 0 && i < n) ? json_array_get(v, (size_t)i) : NULL;
        if (v == NULL)
            return json_null();
    }
    return query_at(v, p, err, errlen);
}

json_t *tool_query(json_t *v, const char *path, char *err, size_t errlen)
{
    const char *p = path;
    qseg s;
    if (path[0] == '\0' || path[0] == '.' || path[strlen(path) - 1] == '.') {
        snprintf(err, errlen, "--query: malformed path '%s'", path);
        return NULL;
    }
    /* The whole path is checked first: a missing field must not hide a typo. */
    while (*p != '\0')
        if (!qseg_parse(&p, &s, err, errlen))
            return NULL;
    return query_at(v, path, err, errlen);
}
