/*
 * store/audit-codec.c - the canonical encoding of audit records, the chain
 * hash and the framing of journal entries (docs/audit-format.md).
 *
 * The same bytes must come out of a record handed in by the engine, a
 * journal entry and a table row, forever: the chain hash is computed over
 * them, so this file is the one place that defines them.
 */
#include "config.h"

#include <string.h>

#include "common/crypto.h"
#include "store/audit-internal.h"

static p11kms_audit_str str_of(const char *s)
{
    p11kms_audit_str v = {s, s ? strlen(s) : 0, s != NULL};
    return v;
}

void p11kms_audit_fields_from_record(const p11kms_audit_record *r, p11kms_audit_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->event_id = str_of(r->event_id);
    f->event_name = str_of(r->event_name);
    f->user = str_of(r->user);
    f->executable = str_of(r->executable);
    f->key_id = str_of(r->key_id);
    f->request_json = str_of(r->request_json);
    f->response_json = str_of(r->response_json);
    f->error_code = str_of(r->error_code);
    f->error_message = str_of(r->error_message);
    f->event_time_ms = r->event_time_ms;
    f->event_type = (uint8_t)r->event_type;
    f->management = r->management ? 1 : 0;
    f->read_only = r->read_only ? 1 : 0;
    f->uid = r->uid;
    f->gid = r->gid;
    f->pid = r->pid;
    f->key_version = r->key_version;
}

static int put_opt(p11kms_buf *b, const p11kms_audit_str *s)
{
    if (!s->present)
        return p11kms_buf_append_u8(b, 0);
    return p11kms_buf_append_u8(b, 1) && p11kms_buf_append_lp(b, s->p, s->len);
}

int p11kms_audit_encode_body(p11kms_buf *b, const p11kms_audit_fields *f)
{
    p11kms_buf_append_lp(b, f->event_id.p, f->event_id.len);
    p11kms_buf_append_u64be(b, (uint64_t)f->event_time_ms);
    p11kms_buf_append_lp(b, f->event_name.p, f->event_name.len);
    p11kms_buf_append_u8(b, f->event_type);
    p11kms_buf_append_u8(b, f->management);
    p11kms_buf_append_u8(b, f->read_only);
    p11kms_buf_append_u32be(b, f->uid);
    p11kms_buf_append_u32be(b, f->gid);
    p11kms_buf_append_u32be(b, (uint32_t)f->pid);
    put_opt(b, &f->user);
    put_opt(b, &f->executable);
    put_opt(b, &f->key_id);
    p11kms_buf_append_u32be(b, f->key_version);
    put_opt(b, &f->request_json);
    put_opt(b, &f->response_json);
    put_opt(b, &f->error_code);
    put_opt(b, &f->error_message);
    return p11kms_buf_ok(b);
}

/* Text fields never hold a NUL byte (they come from C strings). */
static int get_text(p11kms_reader *r, p11kms_audit_str *s, int optional)
{
    const unsigned char *p = NULL;
    size_t len = 0;
    int present = 1;
    int ok = optional ? p11kms_reader_get_opt_lp(r, &present, &p, &len)
                      : p11kms_reader_get_lp(r, &p, &len);
    if (!ok || (present && memchr(p, 0, len) != NULL))
        return 0;
    s->p = (const char *)p;
    s->len = len;
    s->present = present;
    return 1;
}

static int get_u8_bool(p11kms_reader *r, uint8_t *v, uint8_t max)
{
    return p11kms_reader_get_u8(r, v) && *v <= max;
}

int p11kms_audit_decode_body(const unsigned char *p, size_t len, p11kms_audit_fields *f)
{
    p11kms_reader r;
    uint64_t t = 0;
    uint32_t pid = 0;
    int ok;

    memset(f, 0, sizeof(*f));
    p11kms_reader_init(&r, p, len);
    ok = get_text(&r, &f->event_id, 0) && p11kms_reader_get_u64be(&r, &t) &&
         get_text(&r, &f->event_name, 0) && get_u8_bool(&r, &f->event_type, 1) &&
         get_u8_bool(&r, &f->management, 1) && get_u8_bool(&r, &f->read_only, 1) &&
         p11kms_reader_get_u32be(&r, &f->uid) && p11kms_reader_get_u32be(&r, &f->gid) &&
         p11kms_reader_get_u32be(&r, &pid) && get_text(&r, &f->user, 1) &&
         get_text(&r, &f->executable, 1) && get_text(&r, &f->key_id, 1) &&
         p11kms_reader_get_u32be(&r, &f->key_version) && get_text(&r, &f->request_json, 1) &&
         get_text(&r, &f->response_json, 1) && get_text(&r, &f->error_code, 1) &&
         get_text(&r, &f->error_message, 1) && p11kms_reader_at_end(&r);
    f->event_time_ms = (int64_t)t;
    f->pid = (int32_t)pid;
    return ok && f->event_name.len > 0;
}

static void be32(unsigned char *o, uint32_t v)
{
    o[0] = (unsigned char)(v >> 24);
    o[1] = (unsigned char)(v >> 16);
    o[2] = (unsigned char)(v >> 8);
    o[3] = (unsigned char)v;
}

static void be64(unsigned char *o, uint64_t v)
{
    be32(o, (uint32_t)(v >> 32));
    be32(o + 4, (uint32_t)v);
}

int p11kms_audit_chain_hash(EVP_MD_CTX *ctx, uint64_t seq, const unsigned char *body,
                            size_t bodylen, const unsigned char prev[P11KMS_AUDIT_HASH_LEN],
                            unsigned char out[P11KMS_AUDIT_HASH_LEN])
{
    static const char label[] = P11KMS_AUDIT_RECORD_LABEL;
    unsigned char head[4 + sizeof(label) - 1 + 8], plen[4];
    unsigned int n = 0;

    be32(head, (uint32_t)(sizeof(label) - 1));
    memcpy(head + 4, label, sizeof(label) - 1);
    be64(head + 4 + sizeof(label) - 1, seq);
    be32(plen, P11KMS_AUDIT_HASH_LEN);
    return EVP_DigestInit_ex(ctx, p11kms_crypto_md_evp(P11KMS_MD_SHA256), NULL) == 1 &&
           EVP_DigestUpdate(ctx, head, sizeof(head)) == 1 &&
           EVP_DigestUpdate(ctx, body, bodylen) == 1 && EVP_DigestUpdate(ctx, plen, 4) == 1 &&
           EVP_DigestUpdate(ctx, prev, P11KMS_AUDIT_HASH_LEN) == 1 &&
           EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == P11KMS_AUDIT_HASH_LEN;
}

int p11kms_audit_sha256(EVP_MD_CTX *ctx, const void *p, size_t len,
                        unsigned char out[P11KMS_AUDIT_HASH_LEN])
{
    unsigned int n = 0;
    return EVP_DigestInit_ex(ctx, p11kms_crypto_md_evp(P11KMS_MD_SHA256), NULL) == 1 &&
           EVP_DigestUpdate(ctx, p, len) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
           n == P11KMS_AUDIT_HASH_LEN;
}

int p11kms_audit_jentry_build(EVP_MD_CTX *ctx, p11kms_buf *b, const unsigned char *body,
                              size_t bodylen)
{
    unsigned char sum[P11KMS_AUDIT_HASH_LEN];
    int ok = 0;

    p11kms_buf_reset(b);
    if (bodylen > P11KMS_AUDIT_RECORD_MAX + 4096)
        goto done;
    p11kms_buf_reserve(b, P11KMS_AUDIT_JHDR_LEN + bodylen + P11KMS_AUDIT_JTRAIL_LEN);
    p11kms_buf_append_bytes(b, P11KMS_AUDIT_JMAGIC, 4);
    p11kms_buf_append_u32be(b, (uint32_t)bodylen);
    p11kms_buf_append_bytes(b, body, bodylen);
    if (!p11kms_buf_ok(b) || !p11kms_audit_sha256(ctx, b->data, b->len, sum))
        goto done;
    ok = p11kms_buf_append_bytes(b, sum, sizeof(sum));
done:
    return ok;
}

int p11kms_audit_jentry_check(EVP_MD_CTX *ctx, const unsigned char *p, size_t avail,
                              size_t *entry_len, const unsigned char **body, size_t *bodylen)
{
    unsigned char sum[P11KMS_AUDIT_HASH_LEN];
    uint32_t n;

    if (avail < 4)
        return memcmp(p, P11KMS_AUDIT_JMAGIC, avail) == 0 ? 0 : -1;
    if (memcmp(p, P11KMS_AUDIT_JMAGIC, 4) != 0)
        return -1;
    if (avail < P11KMS_AUDIT_JHDR_LEN)
        return 0;
    n = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
    if (n > P11KMS_AUDIT_RECORD_MAX + 4096)
        return -1;
    if (avail < P11KMS_AUDIT_JHDR_LEN + (size_t)n + P11KMS_AUDIT_JTRAIL_LEN)
        return 0;
    if (!p11kms_audit_sha256(ctx, p, P11KMS_AUDIT_JHDR_LEN + (size_t)n, sum) ||
        !p11kms_crypto_memeq(sum, p + P11KMS_AUDIT_JHDR_LEN + n, sizeof(sum)))
        return -1;
    *entry_len = P11KMS_AUDIT_JHDR_LEN + (size_t)n + P11KMS_AUDIT_JTRAIL_LEN;
    *body = p + P11KMS_AUDIT_JHDR_LEN;
    *bodylen = n;
    return 1;
}

void p11kms_audit_hex(const unsigned char *p, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}
