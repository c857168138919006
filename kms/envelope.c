/* kms/envelope.c — envelope blob header and canonical encryption context.
 *
 * Dependency-free on purpose (libc only): client/ compiles this same file to
 * read blobs without linking the engine.  No cryptography lives here; see
 * kms/envelope-seal.c.  Byte layout: kms/envelope.h and
 * docs/ciphertext-format.md.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kms/envelope.h"

#define OFF_VERSION 4
#define OFF_ALG     5
#define OFF_KEY_ID  6
#define OFF_KEY_VER 42
#define OFF_SALT    46
#define OFF_IV      78
#define OFF_COMMIT  90
#define OFF_CT_LEN  106

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

const char *p11kms_kms_envelope_strerror(p11kms_kms_envelope_rc rc)
{
    switch (rc) {
    case P11KMS_KMS_ENVELOPE_OK:
        return "ok";
    case P11KMS_KMS_ENVELOPE_ERR_NOT_BLOB:
        return "not a p11kms ciphertext blob (bad magic)";
    case P11KMS_KMS_ENVELOPE_ERR_VERSION:
        return "unsupported ciphertext format version";
    case P11KMS_KMS_ENVELOPE_ERR_ALGORITHM:
        return "unsupported ciphertext algorithm";
    case P11KMS_KMS_ENVELOPE_ERR_TRUNCATED:
        return "truncated ciphertext blob";
    case P11KMS_KMS_ENVELOPE_ERR_TRAILING:
        return "trailing bytes after ciphertext blob";
    case P11KMS_KMS_ENVELOPE_ERR_FIELD:
        return "malformed ciphertext header field";
    case P11KMS_KMS_ENVELOPE_ERR_CONTEXT:
        return "invalid encryption context";
    case P11KMS_KMS_ENVELOPE_ERR_ARG:
        return "invalid argument";
    case P11KMS_KMS_ENVELOPE_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown envelope error";
}

/* Canonical lowercase UUID, the only key id spelling a blob may carry. */
static int key_id_valid(const uint8_t *s)
{
    for (size_t i = 0; i < P11KMS_KMS_ENVELOPE_KEY_ID_LEN; i++) {
        int hyphen = (i == 8 || i == 13 || i == 18 || i == 23);
        uint8_t c = s[i];
        if (hyphen ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

size_t p11kms_kms_envelope_blob_len(size_t plaintext_len)
{
    return P11KMS_KMS_ENVELOPE_OVERHEAD + plaintext_len;
}

/* Magic, version and algorithm: what tells "not ours" from "not supported". */
static p11kms_kms_envelope_rc parse_prefix(const uint8_t *blob, size_t len)
{
    if (len < P11KMS_KMS_ENVELOPE_MAGIC_LEN ||
        memcmp(blob, P11KMS_KMS_ENVELOPE_MAGIC, P11KMS_KMS_ENVELOPE_MAGIC_LEN) != 0)
        return P11KMS_KMS_ENVELOPE_ERR_NOT_BLOB;
    if (len <= OFF_VERSION)
        return P11KMS_KMS_ENVELOPE_ERR_TRUNCATED;
    if (blob[OFF_VERSION] != P11KMS_KMS_ENVELOPE_FORMAT_V1)
        return P11KMS_KMS_ENVELOPE_ERR_VERSION;
    if (len <= OFF_ALG)
        return P11KMS_KMS_ENVELOPE_ERR_TRUNCATED;
    if (blob[OFF_ALG] != P11KMS_KMS_ENVELOPE_ALG_SYMMETRIC_DEFAULT)
        return P11KMS_KMS_ENVELOPE_ERR_ALGORITHM;
    if (len < P11KMS_KMS_ENVELOPE_HEADER_LEN)
        return P11KMS_KMS_ENVELOPE_ERR_TRUNCATED;
    return P11KMS_KMS_ENVELOPE_OK;
}

p11kms_kms_envelope_rc p11kms_kms_envelope_parse(const uint8_t *blob, size_t len,
                                                 p11kms_kms_envelope *out)
{
    p11kms_kms_envelope_rc rc;
    uint32_t ct_len;

    if (out == NULL || (blob == NULL && len > 0))
        return P11KMS_KMS_ENVELOPE_ERR_ARG;
    rc = parse_prefix(blob, len);
    if (rc != P11KMS_KMS_ENVELOPE_OK)
        return rc;
    ct_len = get_u32(blob + OFF_CT_LEN);
    if (!key_id_valid(blob + OFF_KEY_ID) || get_u32(blob + OFF_KEY_VER) == 0 || ct_len == 0 ||
        ct_len > P11KMS_KMS_ENVELOPE_MAX_PLAINTEXT)
        return P11KMS_KMS_ENVELOPE_ERR_FIELD;
    if (len < p11kms_kms_envelope_blob_len(ct_len))
        return P11KMS_KMS_ENVELOPE_ERR_TRUNCATED;
    if (len > p11kms_kms_envelope_blob_len(ct_len))
        return P11KMS_KMS_ENVELOPE_ERR_TRAILING;
    memset(out, 0, sizeof(*out));
    out->format_version = blob[OFF_VERSION];
    out->algorithm = blob[OFF_ALG];
    memcpy(out->key_id, blob + OFF_KEY_ID, P11KMS_KMS_ENVELOPE_KEY_ID_LEN);
    out->key_version = get_u32(blob + OFF_KEY_VER);
    out->header = blob;
    out->salt = blob + OFF_SALT;
    out->iv = blob + OFF_IV;
    out->commitment = blob + OFF_COMMIT;
    out->ciphertext = blob + P11KMS_KMS_ENVELOPE_HEADER_LEN;
    out->ciphertext_len = ct_len;
    out->tag = out->ciphertext + ct_len;
    return P11KMS_KMS_ENVELOPE_OK;
}

p11kms_kms_envelope_rc p11kms_kms_envelope_write_header(
    uint8_t out[P11KMS_KMS_ENVELOPE_HEADER_LEN], const char *key_id, uint32_t key_version,
    const uint8_t salt[P11KMS_KMS_ENVELOPE_SALT_LEN], const uint8_t iv[P11KMS_KMS_ENVELOPE_IV_LEN],
    const uint8_t commitment[P11KMS_KMS_ENVELOPE_COMMIT_LEN], size_t ciphertext_len)
{
    if (out == NULL || key_id == NULL || salt == NULL || iv == NULL || commitment == NULL)
        return P11KMS_KMS_ENVELOPE_ERR_ARG;
    if (strlen(key_id) != P11KMS_KMS_ENVELOPE_KEY_ID_LEN ||
        !key_id_valid((const uint8_t *)key_id) || key_version == 0 || ciphertext_len == 0 ||
        ciphertext_len > P11KMS_KMS_ENVELOPE_MAX_PLAINTEXT)
        return P11KMS_KMS_ENVELOPE_ERR_FIELD;
    memcpy(out, P11KMS_KMS_ENVELOPE_MAGIC, P11KMS_KMS_ENVELOPE_MAGIC_LEN);
    out[OFF_VERSION] = P11KMS_KMS_ENVELOPE_FORMAT_V1;
    out[OFF_ALG] = P11KMS_KMS_ENVELOPE_ALG_SYMMETRIC_DEFAULT;
    memcpy(out + OFF_KEY_ID, key_id, P11KMS_KMS_ENVELOPE_KEY_ID_LEN);
    put_u32(out + OFF_KEY_VER, key_version);
    memcpy(out + OFF_SALT, salt, P11KMS_KMS_ENVELOPE_SALT_LEN);
    memcpy(out + OFF_IV, iv, P11KMS_KMS_ENVELOPE_IV_LEN);
    memcpy(out + OFF_COMMIT, commitment, P11KMS_KMS_ENVELOPE_COMMIT_LEN);
    put_u32(out + OFF_CT_LEN, (uint32_t)ciphertext_len);
    return P11KMS_KMS_ENVELOPE_OK;
}

void p11kms_kms_envelope_kdf_info(const uint8_t *header,
                                  uint8_t out[P11KMS_KMS_ENVELOPE_KDF_INFO_LEN])
{
    memcpy(out, P11KMS_KMS_ENVELOPE_KDF_LABEL, P11KMS_KMS_ENVELOPE_KDF_LABEL_LEN);
    memcpy(out + P11KMS_KMS_ENVELOPE_KDF_LABEL_LEN, header, P11KMS_KMS_ENVELOPE_KEYREF_LEN);
}

/* ---- UTF-8 --------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s (shortest form, no surrogates), 0 if
 * invalid. */
static size_t utf8_seq(const uint8_t *s, size_t left)
{
    uint8_t c = s[0];
    size_t n;
    uint32_t cp;

    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else
        return 0;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

int p11kms_kms_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* ---- canonical context ---------------------------------------------------- */

/* Unsigned lexicographic order; a proper prefix sorts first. */
static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

static int span_cmp(const void *pa, const void *pb)
{
    const p11kms_kms_ec_span *a = pa, *b = pb;
    return bytes_cmp(a->key, a->key_len, b->key, b->key_len);
}

static int field_ok(const uint8_t *s, size_t len)
{
    return len <= P11KMS_KMS_CONTEXT_MAX_FIELD && p11kms_kms_utf8_valid(s, len);
}

/* Turns pairs into sorted spans and checks them; total = encoded size. */
static p11kms_kms_envelope_rc spans_from_pairs(const p11kms_kms_ec_pair *pairs, size_t n,
                                               p11kms_kms_ec_span *spans, size_t *total)
{
    *total = 4;
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].key == NULL || pairs[i].value == NULL)
            return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
        spans[i].key = (const uint8_t *)pairs[i].key;
        spans[i].key_len = strlen(pairs[i].key);
        spans[i].value = (const uint8_t *)pairs[i].value;
        spans[i].value_len = strlen(pairs[i].value);
        if (spans[i].key_len == 0 || !field_ok(spans[i].key, spans[i].key_len) ||
            !field_ok(spans[i].value, spans[i].value_len))
            return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
        *total += 8 + spans[i].key_len + spans[i].value_len;
    }
    if (*total > P11KMS_KMS_CONTEXT_MAX_ENCODED)
        return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
    qsort(spans, n, sizeof(*spans), span_cmp);
    for (size_t i = 1; i < n; i++)
        if (span_cmp(&spans[i - 1], &spans[i]) == 0)
            return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
    return P11KMS_KMS_ENVELOPE_OK;
}

static uint8_t *put_field(uint8_t *p, const uint8_t *s, size_t len)
{
    put_u32(p, (uint32_t)len);
    if (len)
        memcpy(p + 4, s, len);
    return p + 4 + len;
}

p11kms_kms_envelope_rc p11kms_kms_context_encode(const p11kms_kms_ec_pair *pairs, size_t n,
                                                 uint8_t **out, size_t *out_len)
{
    p11kms_kms_ec_span spans[P11KMS_KMS_CONTEXT_MAX_PAIRS];
    p11kms_kms_envelope_rc rc;
    size_t total = 0;
    uint8_t *buf = NULL, *p;

    if (out == NULL || out_len == NULL || (pairs == NULL && n > 0))
        return P11KMS_KMS_ENVELOPE_ERR_ARG;
    if (n > P11KMS_KMS_CONTEXT_MAX_PAIRS)
        return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
    rc = spans_from_pairs(pairs, n, spans, &total);
    if (rc != P11KMS_KMS_ENVELOPE_OK)
        goto done;
    buf = malloc(total);
    if (buf == NULL) {
        rc = P11KMS_KMS_ENVELOPE_ERR_NOMEM;
        goto done;
    }
    put_u32(buf, (uint32_t)n);
    p = buf + 4;
    for (size_t i = 0; i < n; i++) {
        p = put_field(p, spans[i].key, spans[i].key_len);
        p = put_field(p, spans[i].value, spans[i].value_len);
    }
    *out = buf;
    *out_len = total;
done:
    return rc;
}

/* Reads one length-prefixed field at *off. */
static int get_field(const uint8_t *in, size_t len, size_t *off, const uint8_t **s, size_t *slen)
{
    uint32_t n;

    if (len - *off < 4)
        return 0;
    n = get_u32(in + *off);
    *off += 4;
    if (n > len - *off || !field_ok(in + *off, n))
        return 0;
    *s = in + *off;
    *slen = n;
    *off += n;
    return 1;
}

p11kms_kms_envelope_rc p11kms_kms_context_decode(const uint8_t *in, size_t len,
                                                 p11kms_kms_ec_span *spans, size_t max, size_t *n)
{
    uint32_t count;
    size_t off = 4;

    if ((in == NULL && len > 0) || n == NULL || (spans == NULL && max > 0))
        return P11KMS_KMS_ENVELOPE_ERR_ARG;
    if (len < 4 || len > P11KMS_KMS_CONTEXT_MAX_ENCODED)
        return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
    count = get_u32(in);
    if (count > max || count > P11KMS_KMS_CONTEXT_MAX_PAIRS)
        return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
    for (uint32_t i = 0; i < count; i++) {
        p11kms_kms_ec_span *sp = &spans[i];
        if (!get_field(in, len, &off, &sp->key, &sp->key_len) || sp->key_len == 0 ||
            !get_field(in, len, &off, &sp->value, &sp->value_len) ||
            (i > 0 && span_cmp(&spans[i - 1], sp) >= 0))
            return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
    }
    if (off != len)
        return P11KMS_KMS_ENVELOPE_ERR_CONTEXT;
    *n = count;
    return P11KMS_KMS_ENVELOPE_OK;
}
