/*
 * p11-pubkey.c — public-key attributes and SubjectPublicKeyInfo.
 *
 * A CMK's public half is described by its SPKI (kms.h GetPublicKey); the
 * PKCS#11 attributes CKA_MODULUS / CKA_PUBLIC_EXPONENT / CKA_MODULUS_BITS
 * or CKA_EC_PARAMS / CKA_EC_POINT and CKA_PUBLIC_KEY_INFO are derived from
 * it here.  The other direction builds the SPKI of an imported session
 * public key from its attributes, which also validates them.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "pkcs11/p11-internal.h"

static CK_RV set_owned(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE t, unsigned char *v, size_t n)
{
    CK_RV rv = p11kms_p11_attrs_set(a, t, v, (CK_ULONG)n);
    OPENSSL_free(v);
    return rv;
}

static CK_RV rsa_attrs(const p11kms_crypto_pkey *k, p11kms_p11_attrs *out)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nlen = 0, elen = 0;
    if (!p11kms_crypto_pkey_rsa_public(k, &n, &nlen, &e, &elen))
        return CKR_FUNCTION_FAILED;
    CK_RV rv = set_owned(out, CKA_MODULUS, n, nlen);
    CK_RV rv2 = set_owned(out, CKA_PUBLIC_EXPONENT, e, elen);
    if (rv == CKR_OK)
        rv = rv2;
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(out, CKA_MODULUS_BITS, p11kms_crypto_pkey_bits(k));
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(out, CKA_KEY_TYPE, CKK_RSA);
    return rv;
}

static CK_RV ec_attrs(const p11kms_crypto_pkey *k, p11kms_p11_attrs *out)
{
    unsigned char *params = NULL, *point = NULL;
    size_t plen = 0, qlen = 0;
    if (!p11kms_crypto_pkey_ec_public(k, &params, &plen, &point, &qlen))
        return CKR_FUNCTION_FAILED;
    CK_RV rv = set_owned(out, CKA_EC_PARAMS, params, plen);
    CK_RV rv2 = set_owned(out, CKA_EC_POINT, point, qlen);
    if (rv == CKR_OK)
        rv = rv2;
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(out, CKA_KEY_TYPE, CKK_EC);
    return rv;
}

CK_RV p11kms_p11_pubkey_attrs_from_spki(const unsigned char *spki, size_t len,
                                        p11kms_p11_attrs *out)
{
    CK_RV rv = CKR_FUNCTION_FAILED;
    p11kms_crypto_pkey *k = p11kms_crypto_pkey_from_der(spki, len, 0);
    if (k == NULL)
        goto done;
    if (p11kms_crypto_pkey_kind(k) == P11KMS_KEY_KIND_RSA)
        rv = rsa_attrs(k, out);
    else if (p11kms_crypto_pkey_kind(k) == P11KMS_KEY_KIND_EC)
        rv = ec_attrs(k, out);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set(out, CKA_PUBLIC_KEY_INFO, spki, (CK_ULONG)len);
done:
    p11kms_crypto_pkey_free(k);
    return rv;
}

static p11kms_crypto_pkey *pkey_from_attrs(const p11kms_p11_attrs *a)
{
    const CK_ATTRIBUTE *x, *y;
    if (p11kms_p11_attrs_ulong(a, CKA_KEY_TYPE, ~0UL) == CKK_RSA) {
        x = p11kms_p11_attrs_get(a, CKA_MODULUS);
        y = p11kms_p11_attrs_get(a, CKA_PUBLIC_EXPONENT);
        return p11kms_crypto_pkey_from_rsa_public(x->pValue, x->ulValueLen, y->pValue,
                                                  y->ulValueLen);
    }
    x = p11kms_p11_attrs_get(a, CKA_EC_PARAMS);
    y = p11kms_p11_attrs_get(a, CKA_EC_POINT);
    return p11kms_crypto_pkey_from_ec_public(x->pValue, x->ulValueLen, y->pValue, y->ulValueLen);
}

CK_RV p11kms_p11_pubkey_spki(p11kms_p11_object *obj)
{
    unsigned char *der = NULL;
    size_t len = 0;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    p11kms_crypto_pkey *k = pkey_from_attrs(&obj->attrs);
    if (k == NULL || !p11kms_crypto_pkey_public_der(k, &der, &len))
        goto done;
    rv = CKR_HOST_MEMORY;
    free(obj->spki);
    obj->spki = malloc(len);
    if (obj->spki == NULL)
        goto done;
    memcpy(obj->spki, der, len);
    obj->spki_len = len;
    rv = p11kms_p11_attrs_set(&obj->attrs, CKA_PUBLIC_KEY_INFO, der, (CK_ULONG)len);
    if (rv == CKR_OK && p11kms_crypto_pkey_kind(k) == P11KMS_KEY_KIND_RSA)
        rv = p11kms_p11_attrs_set_ulong(&obj->attrs, CKA_MODULUS_BITS, p11kms_crypto_pkey_bits(k));
done:
    OPENSSL_free(der);
    p11kms_crypto_pkey_free(k);
    return rv;
}
