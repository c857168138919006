/*
 * common/cipher.c - AES modes: GCM (store material, envelope blobs, raw
 * CKM_AES_GCM), CBC with and without padding (CKM_AES_CBC[_PAD]) and the
 * RFC 5649 key wrap with padding (CKM_AES_KEY_WRAP_PAD).
 *
 * EVP_CipherUpdate takes int lengths, so inputs are fed in slices of at
 * most 1 GiB; every path checks the full length first.  Cipher contexts
 * are freed (and thereby cleansed) before returning; plaintext written to
 * a caller's buffer by a failed decryption is wiped.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/crypto-internal.h"

#define SLICE      ((size_t)1 << 30)
#define GCM_IV_MAX 128

/* Cipher for an AES key length (16/24/32) from one of the state's tables. */
static const EVP_CIPHER *aes_pick(EVP_CIPHER *const table[], size_t keylen)
{
    switch (keylen) {
    case 16:
        return table[0];
    case 24:
        return table[1];
    case 32:
        return table[2];
    default:
        return NULL;
    }
}

static int update_all(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in,
                      size_t inlen, size_t *written)
{
    size_t total = 0;

    while (inlen > 0) {
        int n = (int)(inlen > SLICE ? SLICE : inlen);
        int outl = 0;

        if (EVP_CipherUpdate(ctx, out != NULL ? out + total : NULL, &outl, in, n) != 1 || outl < 0)
            return 0;
        if (out != NULL)
            total += (size_t)outl;
        in += n;
        inlen -= (size_t)n;
    }
    if (written != NULL)
        *written = total;
    return 1;
}

static int gcm_taglen_ok(size_t taglen)
{
    return taglen == 4 || taglen == 8 || (taglen >= 12 && taglen <= 16);
}

/* The key, IV and IV length of a GCM context; tag set first when opening. */
static EVP_CIPHER_CTX *gcm_start(int enc, const unsigned char *key, size_t keylen,
                                 const unsigned char *iv, size_t ivlen, const unsigned char *tag,
                                 size_t taglen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    const EVP_CIPHER *cipher = s ? aes_pick(s->gcm, keylen) : NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    OSSL_PARAM params[2];

    if (cipher == NULL || key == NULL || iv == NULL || ivlen == 0 || ivlen > GCM_IV_MAX ||
        !gcm_taglen_ok(taglen) || tag == NULL)
        goto fail;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        goto fail;
    params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, params) != 1 ||
        EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL) != 1)
        goto fail;
    if (!enc) {
        params[0] =
            OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag, taglen);
        if (EVP_CIPHER_CTX_set_params(ctx, params) != 1)
            goto fail;
    }
    return ctx;
fail:
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
}

static int gcm_run(int enc, const unsigned char *key, size_t keylen, const unsigned char *iv,
                   size_t ivlen, const unsigned char *aad, size_t aadlen, const unsigned char *in,
                   size_t inlen, unsigned char *out, unsigned char *tag, size_t taglen)
{
    EVP_CIPHER_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    unsigned char fin[P11KMS_AES_BLOCK];
    size_t n = 0;
    int fl = 0, ok = 0;

    if ((aad == NULL && aadlen > 0) || (inlen > 0 && (in == NULL || out == NULL)))
        goto done;
    ctx = gcm_start(enc, key, keylen, iv, ivlen, tag, taglen);
    if (ctx == NULL || !update_all(ctx, NULL, aad, aadlen, NULL) ||
        !update_all(ctx, out, in, inlen, &n) || n != inlen)
        goto done;
    /* GCM's final step only computes or checks the tag: it writes no data */
    if (EVP_CipherFinal_ex(ctx, fin, &fl) != 1 || fl != 0)
        goto done;
    if (enc) {
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, taglen);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_CIPHER_CTX_get_params(ctx, params) != 1)
            goto done;
    }
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    if (!ok && out != NULL && inlen > 0)
        OPENSSL_cleanse(out, inlen);
    if (!ok && enc && tag != NULL && gcm_taglen_ok(taglen))
        OPENSSL_cleanse(tag, taglen);
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_aes_gcm_seal(const unsigned char *key, size_t keylen, const unsigned char *iv,
                               size_t ivlen, const unsigned char *aad, size_t aadlen,
                               const unsigned char *in, size_t inlen, unsigned char *out,
                               unsigned char *tag, size_t taglen)
{
    return gcm_run(1, key, keylen, iv, ivlen, aad, aadlen, in, inlen, out, tag, taglen);
}

int p11kms_crypto_aes_gcm_open(const unsigned char *key, size_t keylen, const unsigned char *iv,
                               size_t ivlen, const unsigned char *aad, size_t aadlen,
                               const unsigned char *in, size_t inlen, const unsigned char *tag,
                               size_t taglen, unsigned char *out)
{
    return gcm_run(0, key, keylen, iv, ivlen, aad, aadlen, in, inlen, out, (unsigned char *)tag,
                   taglen);
}

/*
 * One complete CBC or key-wrap operation into out, which has room for the
 * largest possible result; *written receives the real length.
 */
static int block_oneshot(const EVP_CIPHER *cipher, const unsigned char *key,
                         const unsigned char *iv, int enc, int pad, const unsigned char *in,
                         size_t inlen, unsigned char *out, size_t *written)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t n = 0;
    int fl = 0, ok = 0;

    if (ctx == NULL)
        goto done;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_CipherInit_ex2(ctx, cipher, key, iv, enc, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, pad) != 1)
        goto done;
    if (!update_all(ctx, out, in, inlen, &n) || EVP_CipherFinal_ex(ctx, out + n, &fl) != 1 ||
        fl < 0)
        goto done;
    *written = n + (size_t)fl;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/*
 * Runs block_oneshot under the output convention of crypto.h.  exact: the
 * result is always max bytes (encryption), so a small buffer fails at
 * once; otherwise (decryption) a small buffer is served from a wiped
 * temporary copy if the real result fits.
 */
static int block_to_caller(const EVP_CIPHER *cipher, const unsigned char *key,
                           const unsigned char *iv, int enc, int pad, const unsigned char *in,
                           size_t inlen, size_t max, int exact, unsigned char *out, size_t *outlen)
{
    unsigned char *tmp = NULL, *dst = out;
    size_t written = 0;
    int ok = 0;

    if (cipher == NULL || key == NULL || (in == NULL && inlen > 0) || outlen == NULL)
        goto done;
    if (out == NULL || (exact && *outlen < max)) {
        p11kms_crypto_out_ready(out, outlen, max, &ok);
        goto done;
    }
    if (*outlen < max && (dst = tmp = OPENSSL_malloc(max)) == NULL)
        goto done;
    if (!block_oneshot(cipher, key, iv, enc, pad, in, inlen, dst, &written)) {
        OPENSSL_cleanse(dst, max); /* partial plaintext of a failed decryption */
        goto done;
    }
    if (written > *outlen) {
        *outlen = written;
        goto done;
    }
    if (tmp != NULL)
        memcpy(out, tmp, written);
    *outlen = written;
    ok = 1;
done:
    if (tmp != NULL)
        OPENSSL_clear_free(tmp, max);
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_aes_cbc_encrypt(const unsigned char *key, size_t keylen, const unsigned char *iv,
                                  int pad, const unsigned char *in, size_t inlen,
                                  unsigned char *out, size_t *outlen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    size_t max = pad ? (inlen / P11KMS_AES_BLOCK + 1) * P11KMS_AES_BLOCK : inlen;

    if (s == NULL || iv == NULL || outlen == NULL || max < inlen ||
        (!pad && inlen % P11KMS_AES_BLOCK != 0))
        return p11kms_crypto_fail();
    return block_to_caller(aes_pick(s->cbc, keylen), key, iv, 1, pad != 0, in, inlen, max, 1, out,
                           outlen);
}

int p11kms_crypto_aes_cbc_decrypt(const unsigned char *key, size_t keylen, const unsigned char *iv,
                                  int pad, const unsigned char *in, size_t inlen,
                                  unsigned char *out, size_t *outlen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();

    if (s == NULL || iv == NULL || outlen == NULL || inlen % P11KMS_AES_BLOCK != 0 ||
        (pad && inlen == 0))
        return p11kms_crypto_fail();
    return block_to_caller(aes_pick(s->cbc, keylen), key, iv, 0, pad != 0, in, inlen, inlen, !pad,
                           out, outlen);
}

int p11kms_crypto_aes_wrap_pad(const unsigned char *kek, size_t keklen, const unsigned char *in,
                               size_t inlen, unsigned char *out, size_t *outlen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();

    if (s == NULL || outlen == NULL || inlen == 0 || inlen > (size_t)INT_MAX - 16)
        return p11kms_crypto_fail();
    return block_to_caller(aes_pick(s->wrap_pad, keklen), kek, NULL, 1, 0, in, inlen,
                           (inlen + 7) / 8 * 8 + 8, 1, out, outlen);
}

int p11kms_crypto_aes_unwrap_pad(const unsigned char *kek, size_t keklen, const unsigned char *in,
                                 size_t inlen, unsigned char *out, size_t *outlen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();

    if (s == NULL || outlen == NULL || inlen < 16 || inlen % 8 != 0 || inlen > (size_t)INT_MAX)
        return p11kms_crypto_fail();
    return block_to_caller(aes_pick(s->wrap_pad, keklen), kek, NULL, 0, 0, in, inlen, inlen - 8, 0,
                           out, outlen);
}
