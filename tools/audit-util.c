/*
 * tools/audit-util.c — helpers of `p11kms audit`: opening the store named
 * by --store or the configuration (the audit commands run as the store's
 * owner and use store/ directly), login with a PIN source, time parsing,
 * hex, and small file operations used by export and archive.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client/pin-source.h"
#include "common/crypto.h"
#include "common/timeutil.h"
#include "store/audit-export.h"
#include "tools/audit-cli.h"

int audit_store_fail(audit_cli *a, p11kms_store_rc rc, const char *what)
{
    int code = TOOL_EXIT_ERROR;

    if (rc == P11KMS_STORE_PIN_INCORRECT || rc == P11KMS_STORE_PIN_LOCKED ||
        rc == P11KMS_STORE_NOT_LOGGED_IN || rc == P11KMS_STORE_NOT_INITIALIZED ||
        rc == P11KMS_STORE_PIN_LEN_RANGE)
        code = TOOL_EXIT_TOKEN;
    else if (rc == P11KMS_STORE_NOTFOUND)
        code = TOOL_EXIT_NOT_FOUND;
    return tool_fail(&a->t, code, "%s: %s", what, p11kms_store_strerror(rc));
}

static const char *store_path_of(audit_cli *a, char *err, size_t errlen)
{
    const p11kms_config_token *tok;

    if (a->store_arg != NULL)
        return a->store_arg;
    if (a->t.token != NULL) {
        tok = p11kms_store_config_token_by_label(a->cfg, a->t.token);
        if (tok == NULL)
            snprintf(err, errlen, "no token labelled '%s' in the configuration", a->t.token);
        return tok != NULL ? tok->store : NULL;
    }
    return a->cfg->tokens[0].store;
}

static p11kms_store_rc apply_options(audit_cli *a)
{
    p11kms_audit_options o;

    memset(&o, 0, sizeof(o));
    o.durability = a->cfg->durability == P11KMS_DURABILITY_POWER ? P11KMS_AUDIT_DURABILITY_POWER
                                                                 : P11KMS_AUDIT_DURABILITY_PROCESS;
    o.seal_records = a->cfg->seal_records ? a->cfg->seal_records : P11KMS_AUDIT_SEAL_NEVER;
    o.seal_minutes = a->cfg->seal_minutes ? a->cfg->seal_minutes : P11KMS_AUDIT_SEAL_NEVER;
    return p11kms_store_audit_set_options(a->st, &o);
}

static int login(audit_cli *a, int mode)
{
    p11kms_client_pin pin;
    p11kms_client_err e;
    const char *spec = a->t.pin_source;
    p11kms_store_rc rc;
    int code = TOOL_EXIT_OK;

    memset(&pin, 0, sizeof(pin));
    memset(&e, 0, sizeof(e));
    if (spec == NULL && mode == 2 && getenv("P11KMS_PIN") == NULL)
        goto done;
    if (spec == NULL)
        spec = p11kms_client_pin_default_spec();
    if (!p11kms_client_pin_read(spec, "User PIN: ", &pin, &e)) {
        code = tool_fail(&a->t, TOOL_EXIT_TOKEN, "%s", p11kms_client_err_msg(&e));
        goto done;
    }
    rc = p11kms_store_login(a->st, P11KMS_STORE_USER_USER, (const char *)pin.data, pin.len);
    if (rc != P11KMS_STORE_OK)
        code = audit_store_fail(a, rc, "login");
done:
    p11kms_client_pin_free(&pin);
    return code;
}

int audit_open(audit_cli *a, int need_write, int want_login)
{
    char err[P11KMS_CONFIG_ERR_MAX] = "";
    p11kms_store_options o = {0, 0};
    p11kms_store_rc rc;
    int code = TOOL_EXIT_ERROR;

    if (!p11kms_store_config_load(&a->cfg, err, sizeof(err))) {
        code = tool_fail(&a->t, TOOL_EXIT_ERROR, "%s", err);
        goto done;
    }
    a->store_path = store_path_of(a, err, sizeof(err));
    if (a->store_path == NULL) {
        code = tool_usage(&a->t, "%s", err);
        goto done;
    }
    if (a->cfg->durability == P11KMS_DURABILITY_POWER)
        o.flags |= P11KMS_STORE_OPEN_SYNC_FULL;
    rc = p11kms_store_open(a->store_path, &o, &a->st);
    if ((rc == P11KMS_STORE_READONLY || rc == P11KMS_STORE_PERM) && !need_write) {
        o.flags = P11KMS_STORE_OPEN_READONLY;
        rc = p11kms_store_open(a->store_path, &o, &a->st);
    }
    if (rc == P11KMS_STORE_OK && !p11kms_store_is_readonly(a->st))
        rc = apply_options(a);
    if (rc != P11KMS_STORE_OK) {
        code = tool_fail(&a->t, rc == P11KMS_STORE_NOTFOUND ? TOOL_EXIT_NOT_FOUND : TOOL_EXIT_ERROR,
                         "%s: %s", a->store_path, p11kms_store_strerror(rc));
        goto done;
    }
    code = want_login ? login(a, want_login) : TOOL_EXIT_OK;
done:
    return code;
}

void audit_close(audit_cli *a)
{
    p11kms_store_close(a->st);
    a->st = NULL;
    p11kms_store_config_free(a->cfg);
    a->cfg = NULL;
}

/* "90d", "12h", "30m", "2w": that long ago. */
static int parse_relative(const char *s, int64_t now_ms, int64_t *out)
{
    char *end = NULL;
    unsigned long long n;
    int64_t unit;

    if (!isdigit((unsigned char)s[0]))
        return 0;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno != 0 || end == s || end[0] == '\0' || end[1] != '\0' || n > 1000000ULL)
        return 0;
    switch (end[0]) {
    case 'm':
        unit = INT64_C(60000);
        break;
    case 'h':
        unit = INT64_C(3600000);
        break;
    case 'd':
        unit = P11KMS_MS_PER_DAY;
        break;
    case 'w':
        unit = 7 * P11KMS_MS_PER_DAY;
        break;
    default:
        return 0;
    }
    *out = now_ms - (int64_t)n * unit;
    return 1;
}

int audit_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    char buf[P11KMS_ISO8601_BUF_SIZE + 8];
    size_t n = strlen(s);

    if (strcmp(s, "now") == 0) {
        *out = now_ms;
        return 1;
    }
    if (parse_relative(s, now_ms, out))
        return 1;
    if (p11kms_time_parse_iso8601(s, out))
        return 1;
    /* Shorter ISO forms, completed to the one the common parser takes. */
    if (n == 10)
        snprintf(buf, sizeof(buf), "%sT00:00:00.000Z", s);
    else if (n == 20 && s[19] == 'Z')
        snprintf(buf, sizeof(buf), "%.19s.000Z", s);
    else if (n == 19)
        snprintf(buf, sizeof(buf), "%s.000Z", s);
    else if (n == 17 && s[16] == 'Z')
        snprintf(buf, sizeof(buf), "%.16s:00.000Z", s);
    else
        return 0;
    return p11kms_time_parse_iso8601(buf, out);
}

void audit_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int audit_unhex(const char *s, unsigned char *out, size_t n)
{
    if (s == NULL || strlen(s) != 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

int audit_file_sha256(const char *path, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_MD *md = EVP_MD_fetch(p11kms_crypto_libctx(), "SHA256", NULL);
    unsigned char buf[65536];
    FILE *f = fopen(path, "rb");
    size_t n;
    int ok = f != NULL && ctx != NULL && md != NULL && EVP_DigestInit_ex(ctx, md, NULL);

    while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n);
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, out, NULL);
    if (f != NULL)
        fclose(f);
    EVP_MD_free(md);
    EVP_MD_CTX_free(ctx);
    return ok;
}

int audit_read_file(const char *path, size_t max, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = malloc(max + 1);
    size_t n = 0;
    int ok = 0;

    if (f == NULL || p == NULL)
        goto done;
    n = fread(p, 1, max + 1, f);
    if (ferror(f) || n > max)
        goto done;
    p[n] = '\0';
    *data = p;
    *len = n;
    p = NULL;
    ok = 1;
done:
    if (f != NULL)
        fclose(f);
    free(p);
    return ok;
}

int audit_write_file(const char *path, const void *data, size_t len, int excl)
{
    size_t plen = strlen(path) + 16;
    char *tmp = malloc(plen);
    int fd = -1, ok = 0;
    struct stat sb;

    if (tmp == NULL || (excl && lstat(path, &sb) == 0))
        goto done;
    snprintf(tmp, plen, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0)
        goto done;
    ok = fchmod(fd, 0600) == 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && (excl ? link(tmp, path) == 0 : rename(tmp, path) == 0);
    if (!ok || excl)
        unlink(tmp);
done:
    free(tmp);
    return ok;
}

int audit_mkdirs(const char *path)
{
    char *p = strdup(path);
    int ok = p != NULL;

    for (char *s = p ? p + 1 : NULL; ok && s != NULL && *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        ok = mkdir(p, 0700) == 0 || errno == EEXIST;
        *s = '/';
    }
    ok = ok && (mkdir(p, 0700) == 0 || errno == EEXIST);
    free(p);
    return ok;
}

json_t *audit_entry_json(const p11kms_audit_entry *e)
{
    return p11kms_audit_cloudtrail(&e->rec, e->seq, e->hash);
}
