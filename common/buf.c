/*
 * common/buf.c - the canonical encoder and bounds-checked reader of
 * buf.h.  Growth goes through OPENSSL_clear_realloc so no stale copy of a
 * secret stays behind in freed heap memory.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/buf.h"

void p11kms_buf_init(p11kms_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void p11kms_buf_free(p11kms_buf *b)
{
    if (b == NULL)
        return;
    if (b->data != NULL)
        OPENSSL_clear_free(b->data, b->cap);
    p11kms_buf_init(b);
}

void p11kms_buf_reset(p11kms_buf *b)
{
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    b->len = 0;
    b->failed = 0;
}

int p11kms_buf_ok(const p11kms_buf *b)
{
    return b != NULL && !b->failed;
}

int p11kms_buf_reserve(p11kms_buf *b, size_t extra)
{
    size_t need, cap;
    unsigned char *p;

    if (b == NULL || b->failed)
        return 0;
    if (extra > SIZE_MAX - b->len)
        goto fail;
    need = b->len + extra;
    if (need <= b->cap)
        return 1;
    cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = OPENSSL_clear_realloc(b->data, b->cap, cap);
    if (p == NULL)
        goto fail;
    b->data = p;
    b->cap = cap;
    return 1;
fail:
    b->failed = 1;
    return 0;
}

int p11kms_buf_append_bytes(p11kms_buf *b, const void *p, size_t len)
{
    if (b == NULL)
        return 0;
    if (p == NULL && len > 0) {
        b->failed = 1;
        return 0;
    }
    if (!p11kms_buf_reserve(b, len))
        return 0;
    if (len > 0)
        memcpy(b->data + b->len, p, len);
    b->len += len;
    return 1;
}

int p11kms_buf_append_u8(p11kms_buf *b, uint8_t v)
{
    return p11kms_buf_append_bytes(b, &v, 1);
}

int p11kms_buf_append_u32be(p11kms_buf *b, uint32_t v)
{
    unsigned char e[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};

    return p11kms_buf_append_bytes(b, e, sizeof(e));
}

int p11kms_buf_append_u64be(p11kms_buf *b, uint64_t v)
{
    return p11kms_buf_append_u32be(b, (uint32_t)(v >> 32)) &&
           p11kms_buf_append_u32be(b, (uint32_t)v);
}

int p11kms_buf_append_lp(p11kms_buf *b, const void *p, size_t len)
{
    if (b == NULL)
        return 0;
    if (len > UINT32_MAX) {
        b->failed = 1;
        return 0;
    }
    /* reserve first so that a failure leaves no dangling length prefix */
    return p11kms_buf_reserve(b, 4 + len) && p11kms_buf_append_u32be(b, (uint32_t)len) &&
           p11kms_buf_append_bytes(b, p, len);
}

int p11kms_buf_append_lp_str(p11kms_buf *b, const char *s)
{
    if (s == NULL) {
        if (b != NULL)
            b->failed = 1;
        return 0;
    }
    return p11kms_buf_append_lp(b, s, strlen(s));
}

int p11kms_buf_append_opt_str(p11kms_buf *b, const char *s)
{
    if (s == NULL)
        return p11kms_buf_append_u8(b, 0);
    return p11kms_buf_append_u8(b, 1) && p11kms_buf_append_lp_str(b, s);
}

unsigned char *p11kms_buf_detach(p11kms_buf *b, size_t *len)
{
    unsigned char *p = NULL;

    if (len != NULL)
        *len = 0;
    if (b == NULL)
        return NULL;
    if (!b->failed && b->len > 0 && len != NULL) {
        p = b->data;
        *len = b->len;
        p11kms_buf_init(b);
    } else {
        p11kms_buf_free(b);
    }
    return p;
}

void p11kms_reader_init(p11kms_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = p != NULL ? len : 0;
    r->off = 0;
}

size_t p11kms_reader_remaining(const p11kms_reader *r)
{
    return r->len - r->off;
}

int p11kms_reader_at_end(const p11kms_reader *r)
{
    return r->off == r->len;
}

int p11kms_reader_get_bytes(p11kms_reader *r, size_t len, const unsigned char **p)
{
    if (r == NULL || p == NULL || len > p11kms_reader_remaining(r))
        return 0;
    *p = r->p + r->off;
    r->off += len;
    return 1;
}

int p11kms_reader_get_copy(p11kms_reader *r, void *out, size_t len)
{
    const unsigned char *p = NULL;

    if (out == NULL && len > 0)
        return 0;
    if (!p11kms_reader_get_bytes(r, len, &p))
        return 0;
    if (len > 0)
        memcpy(out, p, len);
    return 1;
}

int p11kms_reader_get_u8(p11kms_reader *r, uint8_t *v)
{
    return v != NULL && p11kms_reader_get_copy(r, v, 1);
}

int p11kms_reader_get_u32be(p11kms_reader *r, uint32_t *v)
{
    const unsigned char *p = NULL;

    if (v == NULL || !p11kms_reader_get_bytes(r, 4, &p))
        return 0;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return 1;
}

int p11kms_reader_get_u64be(p11kms_reader *r, uint64_t *v)
{
    const unsigned char *p = NULL;

    if (v == NULL || !p11kms_reader_get_bytes(r, 8, &p))
        return 0;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v = *v << 8 | p[i];
    return 1;
}

int p11kms_reader_get_lp(p11kms_reader *r, const unsigned char **p, size_t *len)
{
    p11kms_reader save;
    uint32_t n = 0;

    if (r == NULL || p == NULL || len == NULL)
        return 0;
    save = *r;
    if (!p11kms_reader_get_u32be(r, &n) || !p11kms_reader_get_bytes(r, n, p)) {
        *r = save; /* never advance on failure */
        return 0;
    }
    *len = n;
    return 1;
}

int p11kms_reader_get_opt_lp(p11kms_reader *r, int *present, const unsigned char **p, size_t *len)
{
    p11kms_reader save;
    uint8_t flag = 0;
    int ok = 0;

    if (r == NULL || present == NULL || p == NULL || len == NULL)
        return 0;
    save = *r;
    if (!p11kms_reader_get_u8(r, &flag) || flag > 1)
        goto done;
    *present = flag;
    *p = NULL;
    *len = 0;
    ok = flag == 0 || p11kms_reader_get_lp(r, p, len);
done:
    if (!ok)
        *r = save;
    return ok;
}
