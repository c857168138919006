/*
 * p11-unsupported.c — PKCS#11 functions this token does not offer, each
 * answering what the specification names for that case after the usual
 * initialisation and session checks:
 *  - signature with recovery, dual-function operations, key wrapping of
 *    arbitrary objects, key derivation: CKR_FUNCTION_NOT_SUPPORTED
 *    (wrapping with a CMK goes through CKM_AES_KEY_WRAP_PAD as a C_Encrypt
 *    mechanism; CMK material is never wrapped out);
 *  - C_DigestKey: CMKs are never digested (CKR_KEY_INDIGESTIBLE).
 */
#include "config.h"

#include "pkcs11/p11-internal.h"

static CK_RV unsupported(CK_SESSION_HANDLE hSession)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = CKR_FUNCTION_NOT_SUPPORTED;
    p11kms_p11_leave();
    return rv;
}

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return unsupported(hSession);
}

CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)pData, (void)ulDataLen, (void)pSignature, (void)pulSignatureLen;
    return unsupported(hSession);
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return unsupported(hSession);
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
                      CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    (void)pSignature, (void)ulSignatureLen, (void)pData, (void)pulDataLen;
    return unsupported(hSession);
}

CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                            CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)pPart, (void)ulPartLen, (void)pEncryptedPart, (void)pulEncryptedPartLen;
    return unsupported(hSession);
}

CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                            CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    (void)pEncryptedPart, (void)ulEncryptedPartLen, (void)pPart, (void)pulPartLen;
    return unsupported(hSession);
}

CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                          CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)pPart, (void)ulPartLen, (void)pEncryptedPart, (void)pulEncryptedPartLen;
    return unsupported(hSession);
}

CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                            CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    (void)pEncryptedPart, (void)ulEncryptedPartLen, (void)pPart, (void)pulPartLen;
    return unsupported(hSession);
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
                CK_ULONG_PTR pulWrappedKeyLen)
{
    (void)pMechanism, (void)hWrappingKey, (void)hKey, (void)pWrappedKey, (void)pulWrappedKeyLen;
    return unsupported(hSession);
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                  CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    (void)pMechanism, (void)hUnwrappingKey, (void)pWrappedKey, (void)ulWrappedKeyLen;
    (void)pTemplate, (void)ulAttributeCount, (void)phKey;
    return unsupported(hSession);
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    (void)pMechanism, (void)hBaseKey, (void)pTemplate, (void)ulAttributeCount, (void)phKey;
    return unsupported(hSession);
}
