/*
 * p11-random.c — C_SeedRandom and C_GenerateRandom.  Random bytes come
 * from OpenSSL's DRBG in the module's private library context
 * (common/crypto.h); seeding from the application is refused, as the
 * specification allows (CKR_RANDOM_SEED_NOT_SUPPORTED).
 */
#include "config.h"

#include "common/crypto.h"
#include "pkcs11/p11-internal.h"

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = pSeed == NULL && ulSeedLen > 0 ? CKR_ARGUMENTS_BAD : CKR_RANDOM_SEED_NOT_SUPPORTED;
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData, CK_ULONG ulRandomLen)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK && pRandomData == NULL && ulRandomLen > 0)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK && ulRandomLen > 0 && !p11kms_crypto_random(pRandomData, ulRandomLen))
        rv = CKR_FUNCTION_FAILED;
    p11kms_p11_leave();
    return rv;
}
