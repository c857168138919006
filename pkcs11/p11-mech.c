/*
 * p11-mech.c — the mechanism table behind C_GetMechanismList and
 * C_GetMechanismInfo.  It lists exactly what p11-crypt.c, p11-sign.c,
 * p11-digest.c and p11-keygen.c implement, so the two answers tell the
 * truth (issue 8).  CKF_HW is never set: the work is done in software (by
 * OpenSSL inside the module), which is what the flag means.
 *
 * Key sizes: bytes for AES and generic secrets, bits for RSA and EC.
 */
#include "config.h"

#include "pkcs11/p11-internal.h"

#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

static const p11kms_p11_mech_desc g_mechs[] = {
    {CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE},
    {CKM_GENERIC_SECRET_KEY_GEN, 16, 64, CKF_GENERATE},
    {CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, CKF_GENERATE_KEY_PAIR},
    {CKM_EC_KEY_PAIR_GEN, 256, 521, CKF_GENERATE_KEY_PAIR | EC_FLAGS},
    {CKM_AES_GCM, 16, 32, CKF_ENCRYPT | CKF_DECRYPT},
    {CKM_AES_CBC_PAD, 16, 32, CKF_ENCRYPT | CKF_DECRYPT},
    {CKM_AES_KEY_WRAP_PAD, 16, 32, CKF_ENCRYPT | CKF_DECRYPT},
    {CKM_AES_KEY_WRAP_KWP, 16, 32, CKF_ENCRYPT | CKF_DECRYPT},
    {CKM_SHA256_HMAC, 16, 64, CKF_SIGN | CKF_VERIFY},
    {CKM_SHA384_HMAC, 16, 64, CKF_SIGN | CKF_VERIFY},
    {CKM_SHA512_HMAC, 16, 64, CKF_SIGN | CKF_VERIFY},
    {CKM_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_RSA_PKCS_OAEP, 2048, 4096, CKF_ENCRYPT | CKF_DECRYPT},
    {CKM_SHA256_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_SHA384_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_SHA512_RSA_PKCS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_SHA256_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_SHA384_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_SHA512_RSA_PKCS_PSS, 2048, 4096, CKF_SIGN | CKF_VERIFY},
    {CKM_ECDSA, 256, 521, CKF_SIGN | CKF_VERIFY | EC_FLAGS},
    {CKM_ECDSA_SHA256, 256, 521, CKF_SIGN | CKF_VERIFY | EC_FLAGS},
    {CKM_ECDSA_SHA384, 256, 521, CKF_SIGN | CKF_VERIFY | EC_FLAGS},
    {CKM_ECDSA_SHA512, 256, 521, CKF_SIGN | CKF_VERIFY | EC_FLAGS},
    {CKM_SHA_1, 0, 0, CKF_DIGEST},
    {CKM_SHA256, 0, 0, CKF_DIGEST},
    {CKM_SHA384, 0, 0, CKF_DIGEST},
    {CKM_SHA512, 0, 0, CKF_DIGEST},
};

const p11kms_p11_mech_desc *p11kms_p11_mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < sizeof(g_mechs) / sizeof(g_mechs[0]); i++)
        if (g_mechs[i].type == type)
            return &g_mechs[i];
    return NULL;
}

const p11kms_p11_mech_desc *p11kms_p11_mech_at(size_t i)
{
    return i < p11kms_p11_mech_count() ? &g_mechs[i] : NULL;
}

size_t p11kms_p11_mech_count(void)
{
    return sizeof(g_mechs) / sizeof(g_mechs[0]);
}

/* 1 when mechanism type is offered with every flag in need. */
int p11kms_p11_mech_allows(CK_MECHANISM_TYPE type, CK_FLAGS need)
{
    const p11kms_p11_mech_desc *d = p11kms_p11_mech_find(type);
    return d != NULL && (d->flags & need) == need;
}
