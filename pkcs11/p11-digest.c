/*
 * p11-digest.c — message digests (CKM_SHA_1, CKM_SHA256/384/512):
 * C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey, C_DigestFinal.
 * Computed in-module with the private OpenSSL context; no key is used, so
 * nothing is audited.  C_DigestKey refuses every key (CKR_KEY_INDIGESTIBLE):
 * CMK material never feeds anything the caller can read.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

typedef struct digest_op {
    p11kms_p11_op base;
    p11kms_md md;
    p11kms_crypto_hash *h;
    int updated;
} digest_op;

static void digest_free(p11kms_p11_op *op)
{
    digest_op *d = (digest_op *)op;
    p11kms_crypto_hash_free(d->h);
    free(d);
}

p11kms_md p11kms_p11_md_of_mech(CK_MECHANISM_TYPE m)
{
    switch (m) {
    case CKM_SHA_1:
        return P11KMS_MD_SHA1;
    case CKM_SHA256:
        return P11KMS_MD_SHA256;
    case CKM_SHA384:
        return P11KMS_MD_SHA384;
    case CKM_SHA512:
        return P11KMS_MD_SHA512;
    default:
        return P11KMS_MD_NONE;
    }
}

/* Session lookup plus the active digest operation. */
static CK_RV active(CK_SESSION_HANDLE h, p11kms_p11_session **s, digest_op **d)
{
    CK_RV rv = p11kms_p11_session_get(h, s);
    if (rv != CKR_OK)
        return rv;
    *d = (digest_op *)(*s)->ops[P11KMS_P11_OP_DIGEST];
    return *d != NULL ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    p11kms_p11_session *s = NULL;
    digest_op *d = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK && pMechanism == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = p11kms_p11_session_op_check_idle(s, P11KMS_P11_OP_DIGEST);
    if (rv != CKR_OK)
        goto done;
    p11kms_md md = p11kms_p11_md_of_mech(pMechanism->mechanism);
    if (md == P11KMS_MD_NONE) {
        rv = CKR_MECHANISM_INVALID;
        goto done;
    }
    if (pMechanism->pParameter != NULL || pMechanism->ulParameterLen != 0) {
        rv = CKR_MECHANISM_PARAM_INVALID;
        goto done;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL || (d->h = p11kms_crypto_hash_new_digest(md)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    d->base.mech = pMechanism->mechanism;
    d->base.free = digest_free;
    d->md = md;
    s->ops[P11KMS_P11_OP_DIGEST] = &d->base;
    d = NULL;
done:
    if (d != NULL)
        digest_free(&d->base);
    p11kms_p11_leave();
    return rv;
}

/* C_Digest: one-shot; the streaming state is untouched until it succeeds. */
static CK_RV digest_once(digest_op *d, CK_BYTE_PTR in, CK_ULONG inlen, CK_BYTE_PTR out,
                         CK_ULONG_PTR outlen, int *keep)
{
    unsigned char buf[P11KMS_MD_MAX_SIZE];
    size_t n = p11kms_crypto_md_size(d->md);
    *keep = 0;
    if (d->updated)
        return CKR_OPERATION_ACTIVE; /* C_Digest cannot finish a multi-part digest */
    if (out != NULL && *outlen >= n && !p11kms_crypto_digest(d->md, in, inlen, buf, &n))
        return CKR_FUNCTION_FAILED;
    return p11kms_p11_emit(buf, n, out, outlen, keep);
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    p11kms_p11_session *s = NULL;
    digest_op *d = NULL;
    int keep = 0;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(hSession, &s, &d);
    if (rv != CKR_OK)
        goto done;
    if ((pData == NULL && ulDataLen > 0) || pulDigestLen == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = digest_once(d, pData, ulDataLen, pDigest, pulDigestLen, &keep);
    if (!keep)
        p11kms_p11_session_op_end(s, P11KMS_P11_OP_DIGEST);
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    p11kms_p11_session *s = NULL;
    digest_op *d = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(hSession, &s, &d);
    if (rv != CKR_OK)
        goto done;
    if (pPart == NULL && ulPartLen > 0)
        rv = CKR_ARGUMENTS_BAD;
    else if (!p11kms_crypto_hash_update(d->h, pPart, ulPartLen))
        rv = CKR_FUNCTION_FAILED;
    d->updated = 1;
    if (rv != CKR_OK)
        p11kms_p11_session_op_end(s, P11KMS_P11_OP_DIGEST);
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    p11kms_p11_session *s = NULL;
    digest_op *d = NULL;
    p11kms_p11_object *obj = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(hSession, &s, &d);
    if (rv != CKR_OK)
        goto done;
    rv = p11kms_p11_object_lookup(s, hKey, &obj) == CKR_OK ? CKR_KEY_INDIGESTIBLE
                                                           : CKR_KEY_HANDLE_INVALID;
    p11kms_p11_session_op_end(s, P11KMS_P11_OP_DIGEST);
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    p11kms_p11_session *s = NULL;
    digest_op *d = NULL;
    unsigned char buf[P11KMS_MD_MAX_SIZE];
    int keep = 0;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(hSession, &s, &d);
    if (rv != CKR_OK)
        goto done;
    size_t n = p11kms_crypto_md_size(d->md);
    if (pulDigestLen == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (pDigest != NULL && *pulDigestLen >= n && !p11kms_crypto_hash_final(d->h, buf, &n))
        rv = CKR_FUNCTION_FAILED;
    else
        rv = p11kms_p11_emit(buf, n, pDigest, pulDigestLen, &keep);
    if (!keep)
        p11kms_p11_session_op_end(s, P11KMS_P11_OP_DIGEST);
done:
    p11kms_p11_leave();
    return rv;
}
