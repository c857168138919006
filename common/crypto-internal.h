/*
 * common/crypto-internal.h - what the crypto*.c files of common/ share:
 * the pre-fetched algorithm objects of the private library context and a
 * few helpers.  Not for use outside common/.
 */
#ifndef P11KMS_COMMON_CRYPTO_INTERNAL_H
#define P11KMS_COMMON_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <openssl/evp.h>

#include "common/crypto.h"

/* Indexes into the per-key-size cipher tables: AES-128, AES-192, AES-256. */
#define P11KMS_AES_SIZES 3

typedef struct p11kms_crypto_state {
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *provider;
    EVP_MD *md[5]; /* indexed by p11kms_md */
    EVP_CIPHER *gcm[P11KMS_AES_SIZES];
    EVP_CIPHER *cbc[P11KMS_AES_SIZES];
    EVP_CIPHER *wrap_pad[P11KMS_AES_SIZES];
    EVP_MAC *hmac;
    EVP_MAC_CTX *hmac_tmpl[5]; /* digest set, no key; dup per call */
    EVP_KDF *hkdf;
    EVP_KDF *scrypt;
} p11kms_crypto_state;

/*
 * The initialised state, or NULL if initialisation failed or OpenSSL is
 * shutting down.  Every public entry point starts with it.
 */
const p11kms_crypto_state *p11kms_crypto_state_get(void);

/* Clear OpenSSL's error queue and return 0 (for failure paths). */
int p11kms_crypto_fail(void);

/* What p11kms knows about each supported curve (table in pkey.c). */
typedef struct p11kms_crypto_curve_info {
    p11kms_curve curve;
    const char *ossl_name; /* OpenSSL's group name, "prime256v1" */
    const char *nist_name; /* "P-256", also accepted by OpenSSL */
    int nid;
    size_t size;           /* bytes of one coordinate, of r and of s */
    unsigned char oid[10]; /* DER OBJECT IDENTIFIER: CKA_EC_PARAMS */
    size_t oidlen;
} p11kms_crypto_curve_info;

/* NULL for P11KMS_CURVE_NONE or an unknown value. */
const p11kms_crypto_curve_info *p11kms_crypto_curve_get(p11kms_curve curve);
/* The curve whose DER OID is exactly der/len, or NULL. */
const p11kms_crypto_curve_info *p11kms_crypto_curve_by_oid(const unsigned char *der, size_t len);

/* Largest signature or RSA block any accepted key produces (16384 bits). */
#define P11KMS_CRYPTO_SIG_BUF 2048

/*
 * A fresh EVP_PKEY_CTX on the key in the private library context, or
 * NULL (also when OpenSSL is shutting down).
 */
EVP_PKEY_CTX *p11kms_crypto_pkey_ctx(const p11kms_crypto_pkey *k);

/*
 * Wrap an EVP_PKEY of the private context into a key object, taking
 * ownership (freed on failure; NULL in gives NULL out).
 */
p11kms_crypto_pkey *p11kms_crypto_pkey_wrap(EVP_PKEY *pkey, int is_private);

/* RSA modulus length in bytes (0 for other keys). */
size_t p11kms_crypto_pkey_rsa_bytes(const p11kms_crypto_pkey *k);

/*
 * The output-size handshake of crypto.h.  Returns 1 when out can take
 * need bytes (go on).  Returns 0 to stop: for a size query (out == NULL)
 * with *outlen = need and *ok = 1; for a too small buffer with
 * *outlen = need and *ok = 0; for outlen == NULL with *ok = 0.
 */
int p11kms_crypto_out_ready(const unsigned char *out, size_t *outlen, size_t need, int *ok);

#endif /* P11KMS_COMMON_CRYPTO_INTERNAL_H */
