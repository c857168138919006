/*
 * tde/xts.c — AES-256-XTS for fixed-size sectors and pages with no room for
 * a tag (IEEE 1619 / NIST SP 800-38E).  The tweak is the 128-bit
 * little-endian data unit sequence number, as IEEE 1619 specifies, so the
 * standard's vectors apply unchanged.  XTS is length-preserving and
 * deterministic per (key, sector): rewriting a sector reveals whether a
 * 16-byte block changed, never its content; it does not authenticate.
 */
#include "config.h"

#include <string.h>

#include "tde/page-internal.h"

static int xts_run(const p11kms_tde_page_cipher *c, int enc, uint64_t sector,
                   const unsigned char *in, size_t len, unsigned char *out)
{
    unsigned char tweak[16] = {0};
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, ok = 0;

    if (c == NULL || !c->has_xts || in == NULL || out == NULL || len < 16 || len > (1u << 24))
        goto done;
    for (int i = 0; i < 8; i++)
        tweak[i] = (unsigned char)(sector >> (8 * i));
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || !EVP_CipherInit_ex2(ctx, c->xts, c->keys->xts, tweak, enc, NULL))
        goto done;
    ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

int p11kms_tde_xts_encrypt(const p11kms_tde_page_cipher *c, uint64_t sector,
                           const unsigned char *in, size_t len, unsigned char *out)
{
    return xts_run(c, 1, sector, in, len, out);
}

int p11kms_tde_xts_decrypt(const p11kms_tde_page_cipher *c, uint64_t sector,
                           const unsigned char *in, size_t len, unsigned char *out)
{
    return xts_run(c, 0, sector, in, len, out);
}
