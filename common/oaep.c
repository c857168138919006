/*
 * common/oaep.c - RSAES-OAEP encryption and decryption (KMS's
 * RSAES_OAEP_SHA_1/SHA_256, CKM_RSA_PKCS_OAEP).  No PKCS#1 v1.5
 * decryption exists in p11kms: it is a padding oracle.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/crypto-internal.h"

size_t p11kms_crypto_rsa_oaep_max_plaintext(const p11kms_crypto_pkey *k, p11kms_md hash)
{
    size_t kb = p11kms_crypto_pkey_rsa_bytes(k), hlen = p11kms_crypto_md_size(hash);

    return hlen > 0 && kb > 2 * hlen + 2 ? kb - 2 * hlen - 2 : 0;
}

static EVP_PKEY_CTX *oaep_ctx(const p11kms_crypto_pkey *k, int enc, p11kms_md hash, p11kms_md mgf1,
                              const unsigned char *label, size_t labellen)
{
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *copy = NULL;
    int ok = 0;

    if (mgf1 == P11KMS_MD_NONE)
        mgf1 = hash;
    if (p11kms_crypto_md_size(hash) == 0 || p11kms_crypto_md_size(mgf1) == 0 ||
        (label == NULL && labellen > 0) || labellen > INT32_MAX ||
        (ctx = p11kms_crypto_pkey_ctx(k)) == NULL)
        goto done;
    if ((enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, p11kms_crypto_md_evp(hash)) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11kms_crypto_md_evp(mgf1)) != 1)
        goto done;
    if (labellen > 0) {
        /* set0 takes ownership of the copy on success only */
        if ((copy = OPENSSL_memdup(label, labellen)) == NULL ||
            EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)labellen) != 1)
            goto done;
        copy = NULL;
    }
    ok = 1;
done:
    OPENSSL_free(copy);
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

int p11kms_crypto_rsa_oaep_encrypt(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                   const unsigned char *label, size_t labellen,
                                   const unsigned char *in, size_t inlen, unsigned char *out,
                                   size_t *outlen)
{
    size_t kb = p11kms_crypto_pkey_rsa_bytes(k), len = kb;
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;

    if (kb == 0 || (in == NULL && inlen > 0) ||
        inlen > p11kms_crypto_rsa_oaep_max_plaintext(k, hash) ||
        !p11kms_crypto_out_ready(out, outlen, kb, &ok))
        goto done;
    ctx = oaep_ctx(k, 1, hash, mgf1, label, labellen);
    if (ctx == NULL || EVP_PKEY_encrypt(ctx, out, &len, in != NULL ? in : out, inlen) != 1 ||
        len != kb)
        goto done;
    *outlen = len;
    ok = 1;
done:
    EVP_PKEY_CTX_free(ctx);
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_rsa_oaep_decrypt(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                   const unsigned char *label, size_t labellen,
                                   const unsigned char *in, size_t inlen, unsigned char *out,
                                   size_t *outlen)
{
    size_t kb = p11kms_crypto_pkey_rsa_bytes(k), len = kb;
    unsigned char tmp[P11KMS_CRYPTO_SIG_BUF];
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;

    if (kb == 0 || kb > sizeof(tmp) || !p11kms_crypto_pkey_is_private(k) || in == NULL ||
        inlen != kb || outlen == NULL)
        goto done;
    if (out == NULL) {
        *outlen = p11kms_crypto_rsa_oaep_max_plaintext(k, hash);
        ok = *outlen > 0;
        goto done;
    }
    ctx = oaep_ctx(k, 0, hash, mgf1, label, labellen);
    if (ctx == NULL || EVP_PKEY_decrypt(ctx, tmp, &len, in, inlen) != 1)
        goto done;
    if (len > *outlen) {
        *outlen = len;
        goto done;
    }
    memcpy(out, tmp, len);
    *outlen = len;
    ok = 1;
done:
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return ok ? 1 : p11kms_crypto_fail();
}
