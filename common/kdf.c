/*
 * common/kdf.c - HKDF-SHA256 (per-message envelope keys) and scrypt (PIN
 * to key-encryption key for the store's root key).
 */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/crypto-internal.h"

#define HKDF_SHA256_MAX_OUT (255 * 32)
#define SCRYPT_MAXMEM_CAP   ((uint64_t)1 << 30)

int p11kms_crypto_hkdf_sha256(const unsigned char *salt, size_t saltlen, const unsigned char *ikm,
                              size_t ikmlen, const unsigned char *info, size_t infolen,
                              unsigned char *out, size_t outlen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[5], *p = params;
    int ok = 0;

    if (s == NULL || ikm == NULL || ikmlen == 0 || out == NULL || outlen == 0 ||
        outlen > HKDF_SHA256_MAX_OUT || (salt == NULL && saltlen > 0) ||
        (info == NULL && infolen > 0))
        goto done;
    /* OpenSSL 3.0's HKDF cannot be duplicated, so no pre-set template */
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
    /* an absent salt is HashLen zero bytes (RFC 5869), OpenSSL's default */
    if (saltlen > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (infolen > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    *p = OSSL_PARAM_construct_end();
    kctx = EVP_KDF_CTX_new(s->hkdf);
    ok = kctx != NULL && EVP_KDF_derive(kctx, out, outlen, params) == 1;
done:
    EVP_KDF_CTX_free(kctx);
    if (!ok && out != NULL && outlen > 0 && outlen <= HKDF_SHA256_MAX_OUT)
        OPENSSL_cleanse(out, outlen);
    return ok ? 1 : p11kms_crypto_fail();
}

static int scrypt_params_ok(uint64_t n, uint32_t r, uint32_t p, uint64_t *maxmem)
{
    uint64_t blocks;

    if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0)
        return 0;
    /* memory is 128 * r * (N + p) bytes plus small change; avoid overflow */
    if (n > SCRYPT_MAXMEM_CAP || p > SCRYPT_MAXMEM_CAP)
        return 0;
    blocks = n + p + 2;
    if ((uint64_t)r > SCRYPT_MAXMEM_CAP / 128 / blocks)
        return 0;
    *maxmem = 128 * (uint64_t)r * blocks + ((uint64_t)1 << 20);
    return *maxmem <= SCRYPT_MAXMEM_CAP;
}

int p11kms_crypto_scrypt(const unsigned char *pass, size_t passlen, const unsigned char *salt,
                         size_t saltlen, uint64_t n, uint32_t r, uint32_t p, unsigned char *out,
                         size_t outlen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    static const unsigned char empty[1];
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[7];
    uint64_t maxmem = 0;
    int ok = 0;

    if (s == NULL || out == NULL || outlen == 0 || (pass == NULL && passlen) ||
        (salt == NULL && saltlen) || !scrypt_params_ok(n, r, p, &maxmem))
        goto done;
    /* RFC 7914 allows an empty password and salt; OpenSSL wants pointers */
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                                  (void *)(passlen ? pass : empty), passlen);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *)(saltlen ? salt : empty), saltlen);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    params[6] = OSSL_PARAM_construct_end();
    kctx = EVP_KDF_CTX_new(s->scrypt);
    ok = kctx != NULL && EVP_KDF_derive(kctx, out, outlen, params) == 1;
done:
    EVP_KDF_CTX_free(kctx); /* cleanses the password copy */
    if (!ok && out != NULL && outlen > 0)
        OPENSSL_cleanse(out, outlen);
    return ok ? 1 : p11kms_crypto_fail();
}
