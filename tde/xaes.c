/*
 * tde/xaes.c — XAES-256-GCM (C2SP XAES-256-GCM) for authenticated pages.
 *
 * Why not plain AES-256-GCM with a random 96-bit IV: NIST SP 800-38D caps
 * such IVs at 2^32 encryptions per key, and a busy database rewrites pages
 * far more often over a DEK's life; a persistent write counter would need a
 * crash-safe store beside every file.  XAES derives a fresh AES-256-GCM key
 * from the first 12 bytes of a random 24-byte nonce (two AES blocks under
 * the DEK-derived key, a NIST SP 800-108 counter-mode KDF with CMAC) and
 * uses the last 12 bytes as the GCM IV, so a repeat needs a 192-bit nonce
 * collision: about 2^80 writes per DEK keep the collision chance below
 * 2^-32.  No counter, nothing to persist, nothing to get wrong after a crash.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "common/crypto.h"
#include "tde/page-internal.h"

/* One AES-256-ECB block under the GCM key. */
static int aes_block(const p11kms_tde_page_cipher *c, const unsigned char in[16],
                     unsigned char out[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx != NULL && EVP_EncryptInit_ex2(ctx, c->ecb, c->keys->gcm, NULL, NULL) &&
                    EVP_CIPHER_CTX_set_padding(ctx, 0) &&
                    EVP_EncryptUpdate(ctx, out, &n, in, 16) == 1 && n == 16;

    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

int tde_xaes_prepare(p11kms_tde_page_cipher *c)
{
    unsigned char zero[16] = {0}, l[16];
    int ok = aes_block(c, zero, l);

    if (ok) {
        unsigned char msb = l[0] >> 7;
        for (int i = 0; i < 15; i++)
            c->keys->k1[i] = (unsigned char)((l[i] << 1) | (l[i + 1] >> 7));
        c->keys->k1[15] = (unsigned char)((l[15] << 1) ^ (msb ? 0x87 : 0));
    }
    OPENSSL_cleanse(l, sizeof(l));
    return ok;
}

/* Kx = AES_K(M1 ^ K1) || AES_K(M2 ^ K1), Mi = 0x00 || i || "X" || 0x00 || N[:12]. */
static int derive(const p11kms_tde_page_cipher *c, const unsigned char *nonce, unsigned char kx[32])
{
    unsigned char m[16];
    int ok = 1;

    for (unsigned i = 0; i < 2 && ok; i++) {
        m[0] = 0;
        m[1] = (unsigned char)(i + 1);
        m[2] = 'X';
        m[3] = 0;
        memcpy(m + 4, nonce, 12);
        for (int j = 0; j < 16; j++)
            m[j] ^= c->keys->k1[j];
        ok = aes_block(c, m, kx + 16 * i);
    }
    OPENSSL_cleanse(m, sizeof(m));
    return ok;
}

int p11kms_tde_gcm_seal_nonce(const p11kms_tde_page_cipher *c, const unsigned char *nonce,
                              const unsigned char *aad, size_t aadlen, const unsigned char *in,
                              size_t len, unsigned char *out, unsigned char *tag)
{
    unsigned char kx[32];
    int ok = c != NULL && c->has_gcm && nonce != NULL && derive(c, nonce, kx) &&
             p11kms_crypto_aes_gcm_seal(kx, 32, nonce + 12, 12, aad, aadlen, in, len, out, tag,
                                        P11KMS_TDE_GCM_TAG);

    OPENSSL_cleanse(kx, sizeof(kx));
    return ok;
}

int p11kms_tde_gcm_seal(const p11kms_tde_page_cipher *c, const unsigned char *aad, size_t aadlen,
                        const unsigned char *in, size_t len, unsigned char *out,
                        unsigned char *trailer)
{
    if (trailer == NULL || !p11kms_crypto_random(trailer, P11KMS_TDE_GCM_NONCE))
        return 0;
    return p11kms_tde_gcm_seal_nonce(c, trailer, aad, aadlen, in, len, out,
                                     trailer + P11KMS_TDE_GCM_NONCE);
}

int p11kms_tde_gcm_open(const p11kms_tde_page_cipher *c, const unsigned char *aad, size_t aadlen,
                        const unsigned char *in, size_t len, const unsigned char *trailer,
                        unsigned char *out)
{
    unsigned char kx[32];
    int ok = c != NULL && c->has_gcm && trailer != NULL && derive(c, trailer, kx) &&
             p11kms_crypto_aes_gcm_open(kx, 32, trailer + 12, 12, aad, aadlen, in, len,
                                        trailer + P11KMS_TDE_GCM_NONCE, P11KMS_TDE_GCM_TAG, out);

    OPENSSL_cleanse(kx, sizeof(kx));
    return ok;
}
