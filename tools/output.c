/*
 * tools/output.c — how p11kms prints: results as JSON (default, KMS field
 * names, 4-space indent as `aws` prints), text (tab-separated values, the
 * `aws --output text` shape) or table (Field | Value rows), after
 * --query; failures as one line on stderr with the KMS exception name,
 * mapped to the exit codes of p11kms(1).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/b64.h"
#include "tools/tool.h"

json_t *tool_b64(const unsigned char *data, size_t len)
{
    char *s = p11kms_b64_encode_alloc(data, len);
    json_t *j = s ? json_string(s) : NULL;
    OPENSSL_free(s);
    return j;
}

/* ---- text --------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* A scalar as text: strings raw, numbers and booleans as JSON, null "None". */
static void scalar_text(sbuf *b, json_t *v)
{
    char *s;
    if (json_is_string(v)) {
        sb_add(b, json_string_value(v), json_string_length(v));
        return;
    }
    if (json_is_null(v)) {
        sb_str(b, "None");
        return;
    }
    s = json_dumps(v, JSON_ENCODE_ANY);
    if (s != NULL)
        sb_str(b, s);
    free(s);
}

static int is_scalar(json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

static void text_value(sbuf *b, const char *label, json_t *v);

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object: its scalars on one line (keys sorted), then nested values. */
static void text_object(sbuf *b, const char *label, json_t *o)
{
    const char **keys = calloc(json_object_size(o) + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    size_t n = 0, line = 0;
    if (keys == NULL) {
        b->failed = 1;
        return;
    }
    json_object_foreach(o, k, v) keys[n++] = k;
    qsort(keys, n, sizeof(*keys), key_cmp);
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(o, keys[i]);
        if (!is_scalar(v))
            continue;
        if (line++ == 0 && label != NULL) {
            sb_str(b, label);
            sb_str(b, "\t");
        } else if (line > 1) {
            sb_str(b, "\t");
        }
        scalar_text(b, v);
    }
    if (line > 0)
        sb_str(b, "\n");
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(o, keys[i]);
        if (!is_scalar(v))
            text_value(b, keys[i], v);
    }
    free(keys);
}

static void upper_label(char *out, size_t cap, const char *label)
{
    size_t i = 0;
    for (; label != NULL && label[i] != '\0' && i + 1 < cap; i++)
        out[i] = (char)(label[i] >= 'a' && label[i] <= 'z' ? label[i] - 32 : label[i]);
    out[i] = '\0';
}

static void text_value(sbuf *b, const char *label, json_t *v)
{
    char up[128];
    size_t i;
    json_t *e;
    upper_label(up, sizeof(up), label);
    if (json_is_object(v)) {
        text_object(b, label ? up : NULL, v);
        return;
    }
    if (!json_is_array(v)) {
        scalar_text(b, v);
        sb_str(b, "\n");
        return;
    }
    int scalars = 0;
    json_array_foreach(v, i, e) scalars += is_scalar(e);
    if (scalars == (int)json_array_size(v)) {
        if (label != NULL) {
            sb_str(b, up);
            sb_str(b, "\t");
        }
        json_array_foreach(v, i, e)
        {
            if (i > 0)
                sb_str(b, "\t");
            scalar_text(b, e);
        }
        sb_str(b, "\n");
        return;
    }
    json_array_foreach(v, i, e) text_value(b, label, e);
}

/* ---- table -------------------------------------------------------------- */

typedef struct row {
    char *field, *value;
} row;

typedef struct rows {
    row *r;
    size_t n, cap;
    int failed;
} rows;

static void rows_add(rows *t, const char *field, json_t *v)
{
    sbuf b = {0};
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        row *nr = realloc(t->r, cap * sizeof(*nr));
        if (nr == NULL) {
            t->failed = 1;
            return;
        }
        t->r = nr;
        t->cap = cap;
    }
    scalar_text(&b, v);
    t->r[t->n].field = strdup(field);
    t->r[t->n].value = b.p ? b.p : strdup("");
    if (t->r[t->n].field == NULL || t->r[t->n].value == NULL)
        t->failed = 1;
    t->n++;
}

static void flatten(rows *t, const char *prefix, json_t *v)
{
    char path[512];
    const char *k;
    json_t *e;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, e)
        {
            snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k);
            flatten(t, path, e);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            snprintf(path, sizeof(path), "%s[%zu]", prefix, i);
            flatten(t, path, e);
        }
    } else {
        rows_add(t, prefix[0] ? prefix : "Value", v);
    }
}

static void table_line(sbuf *b, size_t w1, size_t w2)
{
    sb_str(b, "+");
    for (size_t i = 0; i < w1 + 2; i++)
        sb_str(b, "-");
    sb_str(b, "+");
    for (size_t i = 0; i < w2 + 2; i++)
        sb_str(b, "-");
    sb_str(b, "+\n");
}

static void table_row(sbuf *b, const char *f, size_t w1, const char *v, size_t w2)
{
    size_t cap = w1 + w2 + 16;
    char *line = malloc(cap);
    if (line == NULL) {
        b->failed = 1;
        return;
    }
    snprintf(line, cap, "| %-*s | %-*s |\n", (int)w1, f, (int)w2, v);
    sb_str(b, line);
    free(line);
}

static void table_render(sbuf *b, json_t *v)
{
    rows t = {0};
    size_t w1 = 5, w2 = 5;
    flatten(&t, "", v);
    for (size_t i = 0; i < t.n && !t.failed; i++) {
        w1 = strlen(t.r[i].field) > w1 ? strlen(t.r[i].field) : w1;
        w2 = strlen(t.r[i].value) > w2 ? strlen(t.r[i].value) : w2;
    }
    table_line(b, w1, w2);
    table_row(b, "Field", w1, "Value", w2);
    table_line(b, w1, w2);
    for (size_t i = 0; i < t.n && !t.failed; i++)
        table_row(b, t.r[i].field, w1, t.r[i].value, w2);
    table_line(b, w1, w2);
    for (size_t i = 0; i < t.n; i++) {
        free(t.r[i].field);
        free(t.r[i].value);
    }
    free(t.r);
    b->failed |= t.failed;
}

char *tool_render(json_t *v, tool_format format)
{
    sbuf b = {0};
    if (format == TOOL_OUT_JSON) {
        char *s = json_dumps(v, JSON_INDENT(4) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (s != NULL)
            sb_str(&b, s);
        sb_str(&b, "\n");
        b.failed |= s == NULL;
        free(s);
    } else if (format == TOOL_OUT_TEXT) {
        text_value(&b, NULL, v);
    } else {
        table_render(&b, v);
    }
    if (b.failed || b.p == NULL) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

int tool_emit(tool_ctx *t, json_t *result)
{
    char err[256];
    json_t *v = result;
    char *s = NULL;
    int code = TOOL_EXIT_ERROR;
    if (result == NULL)
        return tool_fail(t, TOOL_EXIT_ERROR, "out of memory");
    if (t->query != NULL) {
        v = tool_query(result, t->query, err, sizeof(err));
        if (v == NULL) {
            code = tool_usage(t, "%s", err);
            goto done;
        }
    }
    s = tool_render(v, t->format);
    if (s == NULL || fputs(s, stdout) == EOF || fflush(stdout) != 0) {
        code = tool_fail(t, TOOL_EXIT_ERROR, "cannot write the output");
        goto done;
    }
    code = TOOL_EXIT_OK;
done:
    if (v != result)
        json_decref(v);
    json_decref(result);
    free(s);
    return code;
}

/* ---- errors ------------------------------------------------------------- */

int tool_fail(tool_ctx *t, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", t && t->prog ? t->prog : "p11kms");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int tool_usage(tool_ctx *t, const char *fmt, ...)
{
    va_list ap;
    const char *prog = t && t->prog ? t->prog : "p11kms";
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (t != NULL && t->command != NULL)
        fprintf(stderr, " (try '%s %s --help')\n", prog, t->command);
    else
        fprintf(stderr, " (try '%s help')\n", prog);
    return TOOL_EXIT_USAGE;
}

static const struct {
    const char *exception;
    int code;
} g_exits[] = {
    {"NotFoundException", TOOL_EXIT_NOT_FOUND},
    {"AccessDeniedException", TOOL_EXIT_DENIED},
    {"DisabledException", TOOL_EXIT_STATE},
    {"KMSInvalidStateException", TOOL_EXIT_STATE},
    {"InvalidCiphertextException", TOOL_EXIT_CIPHERTEXT},
    {"IncorrectKeyException", TOOL_EXIT_CIPHERTEXT},
    {"ValidationException", TOOL_EXIT_INVALID},
    {"MalformedPolicyDocumentException", TOOL_EXIT_INVALID},
    {"InvalidKeyUsageException", TOOL_EXIT_INVALID},
    {"AlreadyExistsException", TOOL_EXIT_INVALID},
    {"InvalidAliasNameException", TOOL_EXIT_INVALID},
    {"LimitExceededException", TOOL_EXIT_INVALID},
    {"InvalidGrantTokenException", TOOL_EXIT_INVALID},
    {"InvalidGrantIdException", TOOL_EXIT_INVALID},
    {"UnsupportedOperationException", TOOL_EXIT_INVALID},
    {"KMSInvalidSignatureException", TOOL_EXIT_VERIFY},
    {"KMSInvalidMacException", TOOL_EXIT_VERIFY},
};

int tool_exit_of_exception(const char *exception)
{
    for (size_t i = 0; i < sizeof(g_exits) / sizeof(g_exits[0]); i++)
        if (strcmp(g_exits[i].exception, exception) == 0)
            return g_exits[i].code;
    return TOOL_EXIT_ERROR;
}

int tool_kms_fail(tool_ctx *t, const p11kms_client_kms_error *e)
{
    if (e->exception[0] != '\0')
        return tool_fail(t, tool_exit_of_exception(e->exception), "%s: %s", e->exception,
                         p11kms_client_kms_error_msg(e));
    return tool_fail(t, TOOL_EXIT_ERROR, "%s", p11kms_client_kms_error_msg(e));
}
