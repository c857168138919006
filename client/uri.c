/*
 * client/uri.c — parsing of p11kms: and pkcs11: key references.
 *
 * Decision on pkcs11: URIs (RFC 7512): p11-kit's p11_kit_uri_parse is used
 * for the decoding and, more importantly, for matching (module, slot and
 * token info with their blank-padded fixed-width fields; object attributes).
 * It is Debian's reference implementation, used by p11tool, GnuTLS and
 * p11-kit itself, so p11kms reads a URI exactly as those tools write it.
 * It is, however, lenient where a key service should not be: it takes the
 * last of repeated attributes, accepts unencoded blanks, ignores an unknown
 * type= value (only flagging it), and keeps unknown query attributes as
 * vendor queries.  A URI that means something other than what its author
 * thought must be refused, so a strict pass over the RFC 7512 grammar runs
 * first, names the offending attribute, and only then p11-kit parses.  One
 * deliberate leniency: '/' is accepted unencoded in path values (common in
 * labels such as "alias/db"; unambiguous in a pkcs11: path).
 *
 * p11kms: URIs are this project's own and parsed here entirely.
 */
#include "config.h"

#include "client/uri.h"

#include "store/config-pinsrc.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URI_FAIL(err, ...) p11kms_client_fail((err), 0, __VA_ARGS__)

/* p11kms: ------------------------------------------------------------------------ */

static int is_hex(int c)
{
    return isxdigit((unsigned char)c) != 0;
}

/* 8-4-4-4-12 hex digits, either case; stored in lower case. */
static int parse_key_id(const char *s, size_t len, char *out)
{
    size_t i;

    if (len != 36)
        return 0;
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            return 0;
        }
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[36] = '\0';
    return 1;
}

/* KMS alias rules: "alias/" then 1+ of [A-Za-z0-9/_-], 256 characters in all. */
static int parse_alias(const char *s, size_t len, char *out, p11kms_client_err *err)
{
    size_t i;

    if (len <= 6)
        return URI_FAIL(err, "p11kms: URI: the alias name after 'alias/' is empty");
    if (len > P11KMS_CLIENT_ALIAS_MAX)
        return URI_FAIL(err, "p11kms: URI: alias longer than %d characters",
                        P11KMS_CLIENT_ALIAS_MAX);
    for (i = 6; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '/' || c == '_' || c == '-'))
            return URI_FAIL(err,
                            "p11kms: URI: character '%c' is not allowed in an alias name "
                            "(letters, digits, '/', '_' and '-')",
                            isprint(c) ? c : '?');
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 1;
}

/* "version=N" with N in 1..2^32-1, decimal, no leading zero. */
static int parse_version(const char *q, uint32_t *out, p11kms_client_err *err)
{
    unsigned long long v = 0;
    const char *p;

    if (strncmp(q, "version=", 8) != 0)
        return URI_FAIL(err, "p11kms: URI: the only query attribute is version=N");
    p = q + 8;
    if (p[0] < '1' || p[0] > '9')
        goto bad;
    for (; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > UINT32_MAX)
            goto bad;
    }
    *out = (uint32_t)v;
    return 1;
bad:
    return URI_FAIL(err, "p11kms: URI: version must be a number from 1 to %u", UINT32_MAX);
}

/* body: "alias/NAME[?version=N]" or "key/UUID[?version=N]" (bare forms without "key/"). */
static int parse_key_ref(const char *body, int bare, p11kms_client_uri *uri, p11kms_client_err *err)
{
    const char *q = strchr(body, '?');
    size_t len = q != NULL ? (size_t)(q - body) : strlen(body);
    int has_key = !bare && len >= 4 && strncmp(body, "key/", 4) == 0;
    int ok = 0;

    if (q != NULL && !parse_version(q + 1, &uri->version, err))
        goto done;
    if (len >= 6 && strncmp(body, "alias/", 6) == 0) {
        uri->kind = P11KMS_CLIENT_URI_ALIAS;
        ok = parse_alias(body, len, uri->key_ref, err);
        goto done;
    }
    uri->kind = P11KMS_CLIENT_URI_KEY;
    if (has_key)
        ok = parse_key_id(body + 4, len - 4, uri->key_ref);
    else if (bare)
        ok = parse_key_id(body, len, uri->key_ref);
    if (ok)
        goto done;
    if (has_key)
        URI_FAIL(err, "p11kms: URI: key/ must be followed by a key id "
                      "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
    else if (bare)
        URI_FAIL(err, "not a key reference (expected alias/NAME, a key id, p11kms:alias/NAME, "
                      "p11kms:key/ID or a pkcs11: URI)");
    else
        URI_FAIL(err, "p11kms: URI: expected p11kms:alias/NAME or p11kms:key/ID");
done:
    return ok;
}

/* pkcs11: strict grammar -------------------------------------------------------- */

typedef enum attr_check {
    CHECK_TEXT = 0, /* text: an encoded NUL is refused */
    CHECK_BYTES,    /* id: any bytes */
    CHECK_TYPE,
    CHECK_DIGITS,
    CHECK_VERSION,
    CHECK_PIN_SOURCE,
    CHECK_ABS_PATH,
    CHECK_SECRET
} attr_check;

typedef struct attr_spec {
    const char *name;
    attr_check check;
} attr_spec;

static const attr_spec path_attrs[] = {
    {"token", CHECK_TEXT},
    {"manufacturer", CHECK_TEXT},
    {"serial", CHECK_TEXT},
    {"model", CHECK_TEXT},
    {"library-manufacturer", CHECK_TEXT},
    {"library-description", CHECK_TEXT},
    {"library-version", CHECK_VERSION},
    {"slot-id", CHECK_DIGITS},
    {"slot-description", CHECK_TEXT},
    {"slot-manufacturer", CHECK_TEXT},
    {"object", CHECK_TEXT},
    {"type", CHECK_TYPE},
    {"id", CHECK_BYTES},
};
#define NPATH (sizeof(path_attrs) / sizeof(path_attrs[0]))

static const attr_spec query_attrs[] = {
    {"pin-source", CHECK_PIN_SOURCE},
    {"pin-value", CHECK_SECRET},
    {"module-name", CHECK_TEXT},
    {"module-path", CHECK_ABS_PATH},
};
#define NQUERY (sizeof(query_attrs) / sizeof(query_attrs[0]))

/* RFC 7512 pk11-pchar / pk11-qchar, beyond unreserved and pct-encoded. */
static int char_ok(unsigned char c, int query)
{
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
        return 1;
    if (strchr(":[]@!$'()*+,=/", c) != NULL && c != '\0')
        return 1;
    if (query)
        return c == ';' || c == '?' || c == '|';
    return c == '&';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode v[0..n) into out (at least n+1 bytes); -1 on a bad escape. */
static long pct_decode(const char *v, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (v[i] != '%') {
            out[o++] = v[i];
            continue;
        }
        if (i + 2 >= n || hexval(v[i + 1]) < 0 || hexval(v[i + 2]) < 0)
            return -1;
        out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
        i += 2;
    }
    out[o] = '\0';
    return (long)o;
}

static int check_value(const attr_spec *a, const char *dec, size_t declen, p11kms_client_err *err)
{
    static const char *const types[] = {"private", "public", "secret-key", "cert", "data"};
    char perr[256];
    p11kms_pinsrc src;
    size_t i;
    int dot = 0;

    switch (a->check) {
    case CHECK_TYPE:
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcmp(dec, types[i]) == 0)
                return 1;
        }
        return URI_FAIL(err, "pkcs11: URI: type must be private, public, secret-key, cert or "
                             "data");
    case CHECK_DIGITS:
        for (i = 0; i < declen; i++) {
            if (!isdigit((unsigned char)dec[i]))
                break;
        }
        if (declen == 0 || i < declen || declen > 19)
            return URI_FAIL(err, "pkcs11: URI: %s must be a decimal number", a->name);
        return 1;
    case CHECK_VERSION:
        for (i = 0; i < declen; i++) {
            if (dec[i] == '.' && i > 0 && i + 1 < declen && !dot)
                dot = 1;
            else if (!isdigit((unsigned char)dec[i]))
                break;
        }
        if (declen == 0 || i < declen)
            return URI_FAIL(err, "pkcs11: URI: library-version must be MAJOR or MAJOR.MINOR");
        return 1;
    case CHECK_PIN_SOURCE:
        if (!p11kms_pinsrc_parse(dec, 0, &src, perr, sizeof(perr)))
            return URI_FAIL(err, "pkcs11: URI: pin-source: %s", perr);
        return 1;
    case CHECK_ABS_PATH:
        if (dec[0] != '/')
            return URI_FAIL(err, "pkcs11: URI: module-path must be an absolute path");
        return 1;
    default:
        if (a->check == CHECK_TEXT && strlen(dec) != declen)
            return URI_FAIL(err, "pkcs11: URI: %s contains an encoded NUL byte", a->name);
        return 1;
    }
}

/* The table entry for name s[0..namelen), or NULL. */
static const attr_spec *find_attr(const char *s, size_t namelen, int query, size_t *index)
{
    const attr_spec *table = query ? query_attrs : path_attrs;
    size_t count = query ? NQUERY : NPATH, i;

    for (i = 0; i < count; i++) {
        if (strlen(table[i].name) == namelen && strncmp(table[i].name, s, namelen) == 0) {
            *index = i;
            return &table[i];
        }
    }
    return NULL;
}

/* Every raw character of a value is allowed by RFC 7512 or percent-encoded. */
static int check_chars(const attr_spec *a, const char *v, size_t n, int query,
                       p11kms_client_err *err)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (v[i] == '%' || char_ok((unsigned char)v[i], query))
            continue;
        if (a->check == CHECK_SECRET)
            return URI_FAIL(err, "pkcs11: URI: pin-value has a character that must be "
                                 "percent-encoded");
        return URI_FAIL(err, "pkcs11: URI: %s: character '%c' must be percent-encoded (%%%02X)",
                        a->name, isprint((unsigned char)v[i]) ? v[i] : '?', (unsigned char)v[i]);
    }
    return 1;
}

/* One "name=value" of the path (query 0) or the query (query 1). */
static int check_attr(const char *s, size_t n, int query, unsigned *seen, p11kms_client_err *err)
{
    const char *eq = memchr(s, '=', n), *where = query ? "query" : "path";
    const attr_spec *a = NULL;
    size_t index = 0, vlen;
    char dec[4096];
    long declen;
    int ok = 0;

    if (n == 0) {
        URI_FAIL(err, "pkcs11: URI: empty attribute in the %s (a stray '%c')", where,
                 query ? '&' : ';');
        goto done;
    }
    if (eq == NULL || eq == s) {
        URI_FAIL(err, "pkcs11: URI: expected name=value in the %s", where);
        goto done;
    }
    a = find_attr(s, (size_t)(eq - s), query, &index);
    if (a == NULL) {
        URI_FAIL(err, "pkcs11: URI: unknown %s attribute '%.*s'", where,
                 (int)(eq - s > 64 ? 64 : eq - s), s);
        goto done;
    }
    if (seen[index]++ != 0) {
        URI_FAIL(err, "pkcs11: URI: attribute '%s' repeated", a->name);
        goto done;
    }
    vlen = n - (size_t)(eq - s) - 1;
    if (!check_chars(a, eq + 1, vlen, query, err))
        goto done;
    if (vlen >= sizeof(dec)) {
        URI_FAIL(err, "pkcs11: URI: %s is too long", a->name);
        goto done;
    }
    declen = pct_decode(eq + 1, vlen, dec);
    if (declen < 0)
        URI_FAIL(err, "pkcs11: URI: %s: invalid percent-encoding (%%XX, two hex digits)", a->name);
    else
        ok = check_value(a, dec, (size_t)declen, err);
done:
    if (a != NULL && a->check == CHECK_SECRET)
        OPENSSL_cleanse(dec, sizeof(dec)); /* the pin-value must not linger on the stack */
    return ok;
}

/* Split s[0..n) at sep and check each attribute. */
static int check_list(const char *s, size_t n, char sep, int query, p11kms_client_err *err)
{
    unsigned seen[NPATH > NQUERY ? NPATH : NQUERY] = {0};
    const char *end = s + n, *p = s, *next;

    if (n == 0)
        return 1;
    while (p <= end) {
        next = memchr(p, sep, (size_t)(end - p));
        if (next == NULL)
            next = end;
        if (!check_attr(p, (size_t)(next - p), query, seen, err))
            return 0;
        p = next + 1;
    }
    if (query && seen[0] && seen[1])
        return URI_FAIL(err, "pkcs11: URI: pin-source and pin-value exclude each other");
    return 1;
}

static int check_pkcs11_grammar(const char *text, p11kms_client_err *err)
{
    const char *body = text + 7, *q = strchr(body, '?');
    size_t plen = q != NULL ? (size_t)(q - body) : strlen(body);

    if (strchr(text, '#') != NULL)
        return URI_FAIL(err, "pkcs11: URI: a fragment ('#') is not allowed");
    if (!check_list(body, plen, ';', 0, err))
        return 0;
    return q == NULL || check_list(q + 1, strlen(q + 1), '&', 1, err);
}

static CK_OBJECT_CLASS *uri_class(P11KitUri *p)
{
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(p, CKA_CLASS);

    if (a == NULL || a->ulValueLen != sizeof(CK_OBJECT_CLASS))
        return NULL;
    return (CK_OBJECT_CLASS *)a->pValue;
}

static int parse_pkcs11(const char *text, p11kms_client_uri *uri, p11kms_client_err *err)
{
    CK_OBJECT_CLASS *cls;
    int rc;

    if (!check_pkcs11_grammar(text, err))
        return 0;
    uri->kind = P11KMS_CLIENT_URI_PKCS11;
    uri->pkcs11 = p11_kit_uri_new();
    if (uri->pkcs11 == NULL)
        return URI_FAIL(err, "out of memory");
    rc = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri->pkcs11);
    if (rc != P11_KIT_URI_OK)
        return URI_FAIL(err, "pkcs11: URI: %s", p11_kit_uri_message(rc));
    if (p11_kit_uri_any_unrecognized(uri->pkcs11))
        return URI_FAIL(err, "pkcs11: URI: p11-kit did not recognise an attribute");
    cls = uri_class(uri->pkcs11);
    if (cls != NULL) {
        uri->has_class = 1;
        uri->object_class = *cls;
    }
    uri->pin_source = p11_kit_uri_get_pin_source(uri->pkcs11);
    uri->has_pin_value = p11_kit_uri_get_pin_value(uri->pkcs11) != NULL;
    uri->module_name = p11_kit_uri_get_module_name(uri->pkcs11);
    uri->module_path = p11_kit_uri_get_module_path(uri->pkcs11);
    return 1;
}

/* Entry points ------------------------------------------------------------------ */

int p11kms_client_uri_parse(const char *text, unsigned flags, p11kms_client_uri *uri,
                            p11kms_client_err *err)
{
    int ok = 0;

    memset(uri, 0, sizeof(*uri));
    if (text == NULL || text[0] == '\0') {
        URI_FAIL(err, "empty key reference");
        goto done;
    }
    for (const char *p = text; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            URI_FAIL(err, "key reference contains a blank, control or non-ASCII character "
                          "(percent-encode it in a pkcs11: URI)");
            goto done;
        }
    }
    if (strncasecmp(text, "pkcs11:", 7) == 0)
        ok = parse_pkcs11(text, uri, err);
    else if (strncasecmp(text, "p11kms:", 7) == 0)
        ok = parse_key_ref(text + 7, 0, uri, err);
    else if (flags & P11KMS_CLIENT_URI_BARE)
        ok = parse_key_ref(text, 1, uri, err);
    else
        URI_FAIL(err, "not a key URI (expected p11kms:alias/NAME, p11kms:key/ID or pkcs11:...)");
done:
    if (!ok)
        p11kms_client_uri_free(uri);
    return ok;
}

void p11kms_client_uri_free(p11kms_client_uri *uri)
{
    if (uri == NULL)
        return;
    if (uri->pkcs11 != NULL)
        p11_kit_uri_free(uri->pkcs11);
    memset(uri, 0, sizeof(*uri));
}

int p11kms_client_uri_match_token(const p11kms_client_uri *uri, const CK_INFO *module,
                                  CK_SLOT_ID slot_id, const CK_SLOT_INFO *slot,
                                  const CK_TOKEN_INFO *token)
{
    CK_SLOT_ID want;

    if (uri == NULL || uri->kind != P11KMS_CLIENT_URI_PKCS11)
        return 1; /* p11kms: URIs say nothing about the token */
    want = p11_kit_uri_get_slot_id(uri->pkcs11);
    if (want != (CK_SLOT_ID)-1 && want != slot_id)
        return 0;
    if (module != NULL && !p11_kit_uri_match_module_info(uri->pkcs11, module))
        return 0;
    if (slot != NULL && !p11_kit_uri_match_slot_info(uri->pkcs11, slot))
        return 0;
    return token == NULL || p11_kit_uri_match_token_info(uri->pkcs11, token);
}

CK_ATTRIBUTE *p11kms_client_uri_template(const p11kms_client_uri *uri, CK_ULONG *count)
{
    *count = 0;
    if (uri == NULL || uri->kind != P11KMS_CLIENT_URI_PKCS11)
        return NULL;
    return p11_kit_uri_get_attributes(uri->pkcs11, count);
}
