/*
 * tools/input.c — reading parameter values (tools/input.h).  Inputs may
 * be secrets (plaintext, data keys), so every buffer is wiped when freed,
 * and a file is read whole with a size limit rather than mapped.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/b64.h"
#include "tools/input.h"

void tool_bytes_free(tool_bytes *b)
{
    if (b == NULL)
        return;
    OPENSSL_clear_free(b->data, b->data ? b->len + 1 : 0);
    b->data = NULL;
    b->len = 0;
}

/* Reads all of f (at most TOOL_INPUT_MAX bytes) into out. */
static int read_stream(FILE *f, const char *what, tool_bytes *out, char *err, size_t errlen)
{
    size_t cap = 4096, len = 0;
    unsigned char *buf = OPENSSL_zalloc(cap + 1);
    int ok = 0;
    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            unsigned char *nb;
            if (cap >= TOOL_INPUT_MAX) {
                snprintf(err, errlen, "%s: larger than %d bytes", what, TOOL_INPUT_MAX);
                goto done;
            }
            nb = OPENSSL_clear_realloc(buf, cap + 1, cap * 2 + 1);
            if (nb == NULL) {
                snprintf(err, errlen, "%s: out of memory", what);
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf == NULL || ferror(f)) {
        snprintf(err, errlen, "%s: %s", what, buf ? strerror(errno) : "out of memory");
        goto done;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    buf = NULL;
    ok = 1;
done:
    OPENSSL_clear_free(buf, buf ? cap + 1 : 0);
    return ok;
}

static int read_path(const char *path, tool_bytes *out, char *err, size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    int ok;
    if (f == NULL) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return 0;
    }
    ok = read_stream(f, strcmp(path, "-") == 0 ? "standard input" : path, out, err, errlen);
    if (f != stdin)
        fclose(f);
    return ok;
}

static int from_base64(const char *name, const char *v, tool_bytes *out, char *err, size_t errlen)
{
    size_t n = strlen(v), cap = p11kms_b64_decoded_maxlen(n);
    out->data = OPENSSL_zalloc(cap + 1);
    out->len = cap;
    if (out->data == NULL || n == 0 || !p11kms_b64_decode(v, n, out->data, &out->len)) {
        OPENSSL_clear_free(out->data, cap + 1);
        out->data = NULL;
        out->len = 0;
        snprintf(err, errlen,
                 "--%s: not valid base64 (give fileb://PATH for a file, - for standard input)",
                 name);
        return 0;
    }
    return 1;
}

int tool_input_binary(const char *name, const char *value, tool_bytes *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(value, "fileb://", 8) == 0)
        return read_path(value + 8, out, err, errlen);
    if (strcmp(value, "-") == 0)
        return read_path("-", out, err, errlen);
    if (strncmp(value, "file://", 7) == 0) {
        snprintf(err, errlen, "--%s: binary input needs fileb://, not file://", name);
        return 0;
    }
    return from_base64(name, value, out, err, errlen);
}

int tool_input_text(const char *name, const char *value, tool_bytes *out, char *err, size_t errlen)
{
    (void)name;
    memset(out, 0, sizeof(*out));
    if (strncmp(value, "file://", 7) == 0)
        return read_path(value + 7, out, err, errlen);
    if (strncmp(value, "fileb://", 8) == 0)
        return read_path(value + 8, out, err, errlen);
    if (strcmp(value, "-") == 0)
        return read_path("-", out, err, errlen);
    out->len = strlen(value);
    out->data = OPENSSL_malloc(out->len + 1);
    if (out->data == NULL) {
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    memcpy(out->data, value, out->len + 1);
    return 1;
}
