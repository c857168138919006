/*
 * common/pkey-p11.c - asymmetric keys in PKCS#11 attribute form: build
 * keys from CKA_MODULUS/CKA_EC_PARAMS/... values, and read public
 * components back out (C_GetAttributeValue on key objects).
 *
 * CKA_EC_PARAMS is handled as the DER OID of one of the three supported
 * curves (the only form p11kms emits; explicit parameters are refused).
 */
#include "config.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/crypto-internal.h"

#define EC_POINT_MAX (1 + 2 * 66)

/*
 * Accept CKA_EC_POINT as a DER OCTET STRING or as the bare uncompressed
 * point; the two cannot be confused because their lengths differ.
 */
static int ec_point_unwrap(const unsigned char *in, size_t inlen, size_t coord,
                           const unsigned char **pt)
{
    size_t want = 1 + 2 * coord, hdr = want < 128 ? 2 : 3;

    if (in == NULL)
        return 0;
    if (inlen == want && in[0] == 0x04) {
        *pt = in;
        return 1;
    }
    if (inlen != hdr + want || in[0] != 0x04)
        return 0;
    if ((hdr == 2 && in[1] != want) || (hdr == 3 && (in[1] != 0x81 || in[2] != want)))
        return 0;
    *pt = in + hdr;
    return (*pt)[0] == 0x04;
}

/* EVP_PKEY_fromdata in the private context; selection as OpenSSL's. */
static EVP_PKEY *from_params(const char *alg, int selection, OSSL_PARAM_BLD *bld)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;

    if (s == NULL || bld == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto done;
    ctx = EVP_PKEY_CTX_new_from_name(s->libctx, alg, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
        goto done;
done:
    OSSL_PARAM_free(params); /* secure part is cleansed */
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* Full consistency check of an imported key; frees it on failure. */
static EVP_PKEY *checked(EVP_PKEY *pkey, int is_private)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;

    if (s == NULL || pkey == NULL)
        goto done;
    ctx = EVP_PKEY_CTX_new_from_pkey(s->libctx, pkey, NULL);
    if (ctx == NULL)
        goto done;
    if (is_private)
        ok = EVP_PKEY_pairwise_check(ctx) == 1;
    else
        ok = !EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_public_check(ctx) == 1;
done:
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

/* Push a big-endian integer; secret ones go to OpenSSL's secure BNs. */
static int push_bn(OSSL_PARAM_BLD *bld, const char *key, const unsigned char *v, size_t len,
                   int secret, BIGNUM **keep)
{
    BIGNUM *bn = NULL;

    if (v == NULL || len == 0 || len > P11KMS_CRYPTO_SIG_BUF)
        return 0;
    bn = secret ? BN_secure_new() : BN_new();
    if (bn == NULL || BN_bin2bn(v, (int)len, bn) == NULL ||
        OSSL_PARAM_BLD_push_BN(bld, key, bn) != 1) {
        BN_clear_free(bn);
        return 0;
    }
    *keep = bn; /* the builder refers to it until to_param() */
    return 1;
}

/* Builder with n BIGNUM params; NULL entries in v are refused. */
static EVP_PKEY *rsa_from_parts(int selection, size_t n, const char *const keys[],
                                const unsigned char *const v[], const size_t len[],
                                const int secret[])
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn[8] = {NULL};
    EVP_PKEY *pkey = NULL;
    size_t i;

    for (i = 0; bld != NULL && i < n; i++)
        if (!push_bn(bld, keys[i], v[i], len[i], secret[i], &bn[i]))
            goto done;
    /* an even modulus or exponent is never an RSA key */
    if (bld != NULL && BN_is_odd(bn[0]) && BN_is_odd(bn[1]) && !BN_is_one(bn[1]))
        pkey = from_params("RSA", selection, bld);
done:
    OSSL_PARAM_BLD_free(bld);
    for (i = 0; i < n; i++)
        BN_clear_free(bn[i]);
    return pkey;
}

p11kms_crypto_pkey *p11kms_crypto_pkey_from_rsa_public(const unsigned char *n, size_t nlen,
                                                       const unsigned char *e, size_t elen)
{
    static const char *const keys[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E};
    const unsigned char *v[] = {n, e};
    const size_t len[] = {nlen, elen};
    static const int secret[] = {0, 0};
    EVP_PKEY *pkey = rsa_from_parts(EVP_PKEY_PUBLIC_KEY, 2, keys, v, len, secret);

    return p11kms_crypto_pkey_wrap(checked(pkey, 0), 0);
}

p11kms_crypto_pkey *p11kms_crypto_pkey_from_rsa_private(
    const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen,
    const unsigned char *d, size_t dlen, const unsigned char *p, size_t plen,
    const unsigned char *q, size_t qlen, const unsigned char *dp, size_t dplen,
    const unsigned char *dq, size_t dqlen, const unsigned char *qinv, size_t qinvlen)
{
    static const char *const keys[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    const unsigned char *v[] = {n, e, d, p, q, dp, dq, qinv};
    const size_t len[] = {nlen, elen, dlen, plen, qlen, dplen, dqlen, qinvlen};
    static const int secret[] = {0, 0, 1, 1, 1, 1, 1, 1};
    EVP_PKEY *pkey = rsa_from_parts(EVP_PKEY_KEYPAIR, 8, keys, v, len, secret);

    return p11kms_crypto_pkey_wrap(checked(pkey, 1), 1);
}

/* An EC key from its curve, uncompressed point and (for a key pair) d. */
static EVP_PKEY *ec_from_parts(const p11kms_crypto_curve_info *c, const unsigned char *pt,
                               const BIGNUM *d)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;

    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->nist_name, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * c->size) != 1 ||
        (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1))
        goto done;
    pkey = checked(from_params("EC", d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld),
                   d != NULL);
done:
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

p11kms_crypto_pkey *p11kms_crypto_pkey_from_ec_public(const unsigned char *params, size_t paramslen,
                                                      const unsigned char *point, size_t pointlen)
{
    const p11kms_crypto_curve_info *c = p11kms_crypto_curve_by_oid(params, paramslen);
    const unsigned char *pt = NULL;
    EVP_PKEY *pkey = NULL;

    if (c != NULL && ec_point_unwrap(point, pointlen, c->size, &pt))
        pkey = ec_from_parts(c, pt, NULL);
    return p11kms_crypto_pkey_wrap(pkey, 0);
}

/* The public point d * G, uncompressed, into pub (EC_POINT_MAX bytes). */
static int ec_public_from_private(const p11kms_crypto_curve_info *c, const BIGNUM *d,
                                  unsigned char *pub)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    EC_GROUP *group = NULL;
    EC_POINT *pt = NULL;
    BN_CTX *bnctx = NULL;
    int ok = 0;

    if (s == NULL || (bnctx = BN_CTX_secure_new_ex(s->libctx)) == NULL ||
        (group = EC_GROUP_new_by_curve_name_ex(s->libctx, NULL, c->nid)) == NULL ||
        (pt = EC_POINT_new(group)) == NULL)
        goto done;
    /* 0 < d < n, or the key is not a key */
    if (BN_is_zero(d) || BN_is_negative(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0)
        goto done;
    if (EC_POINT_mul(group, pt, d, NULL, NULL, bnctx) != 1)
        goto done;
    ok = EC_POINT_point2oct(group, pt, POINT_CONVERSION_UNCOMPRESSED, pub, EC_POINT_MAX, bnctx) ==
         1 + 2 * c->size;
done:
    EC_POINT_free(pt);
    EC_GROUP_free(group);
    BN_CTX_free(bnctx);
    return ok;
}

p11kms_crypto_pkey *p11kms_crypto_pkey_from_ec_private(const unsigned char *params,
                                                       size_t paramslen, const unsigned char *d,
                                                       size_t dlen)
{
    const p11kms_crypto_curve_info *c = p11kms_crypto_curve_by_oid(params, paramslen);
    unsigned char pub[EC_POINT_MAX];
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = NULL;

    if (c == NULL || d == NULL || dlen == 0 || dlen > 2 * EC_POINT_MAX)
        goto done;
    if ((bn = BN_secure_new()) != NULL && BN_bin2bn(d, (int)dlen, bn) != NULL &&
        ec_public_from_private(c, bn, pub))
        pkey = ec_from_parts(c, pub, bn);
done:
    BN_clear_free(bn);
    return p11kms_crypto_pkey_wrap(pkey, 1);
}

/* Minimal big-endian bytes of a BIGNUM parameter, OPENSSL_malloc'd. */
static int bn_param(EVP_PKEY *pkey, const char *key, unsigned char **out, size_t *outlen)
{
    BIGNUM *bn = NULL;
    int n = 0, ok = 0;

    if (EVP_PKEY_get_bn_param(pkey, key, &bn) != 1)
        goto done;
    n = BN_num_bytes(bn);
    if ((*out = OPENSSL_malloc(n > 0 ? (size_t)n : 1)) == NULL)
        goto done;
    if (n == 0)
        (*out)[0] = 0;
    else
        BN_bn2bin(bn, *out);
    *outlen = n > 0 ? (size_t)n : 1;
    ok = 1;
done:
    BN_free(bn);
    return ok;
}

int p11kms_crypto_pkey_rsa_public(const p11kms_crypto_pkey *k, unsigned char **n, size_t *nlen,
                                  unsigned char **e, size_t *elen)
{
    EVP_PKEY *pkey = p11kms_crypto_pkey_evp(k);
    int ok = 0;

    if (n == NULL || nlen == NULL || e == NULL || elen == NULL)
        goto done;
    *n = *e = NULL;
    if (p11kms_crypto_pkey_kind(k) != P11KMS_KEY_KIND_RSA || p11kms_crypto_state_get() == NULL)
        goto done;
    ok = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, n, nlen) &&
         bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, e, elen);
    if (!ok) {
        OPENSSL_free(*n);
        *n = NULL;
    }
done:
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_pkey_ec_public(const p11kms_crypto_pkey *k, unsigned char **params,
                                 size_t *paramslen, unsigned char **point, size_t *pointlen)
{
    const p11kms_crypto_curve_info *c = p11kms_crypto_curve_get(p11kms_crypto_pkey_curve(k));
    unsigned char pub[EC_POINT_MAX];
    size_t len = 0, hdr;
    int ok = 0;

    if (params == NULL || paramslen == NULL || point == NULL || pointlen == NULL)
        goto done;
    *params = *point = NULL;
    if (c == NULL || p11kms_crypto_state_get() == NULL)
        goto done;
    if (EVP_PKEY_get_octet_string_param(p11kms_crypto_pkey_evp(k), OSSL_PKEY_PARAM_PUB_KEY, pub,
                                        sizeof(pub), &len) != 1 ||
        len != 1 + 2 * c->size || pub[0] != 0x04)
        goto done;
    hdr = len < 128 ? 2 : 3;
    *params = OPENSSL_memdup(c->oid, c->oidlen);
    *point = OPENSSL_malloc(hdr + len);
    if (*params == NULL || *point == NULL)
        goto done;
    (*point)[0] = 0x04; /* DER OCTET STRING */
    if (hdr == 3)
        (*point)[1] = 0x81;
    (*point)[hdr - 1] = (unsigned char)len;
    memcpy(*point + hdr, pub, len);
    *paramslen = c->oidlen;
    *pointlen = hdr + len;
    ok = 1;
done:
    if (!ok && params != NULL && point != NULL) {
        OPENSSL_free(*params);
        OPENSSL_free(*point);
        *params = *point = NULL;
    }
    return ok ? 1 : p11kms_crypto_fail();
}
