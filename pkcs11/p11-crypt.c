/*
 * p11-crypt.c — encryption and decryption: C_EncryptInit, C_Encrypt,
 * C_EncryptUpdate, C_EncryptFinal and the C_Decrypt* counterparts.
 *
 * Mechanisms: CKM_AES_GCM (CK_GCM_PARAMS with or without ulIvBits, as
 * applications built against either PKCS#11 2.40 header send it),
 * CKM_AES_CBC_PAD (16-byte IV), CKM_AES_KEY_WRAP_PAD / _KWP (RFC 5649, no
 * parameter) and CKM_RSA_PKCS_OAEP (SHA-1 or SHA-256 with the matching
 * MGF1, no label: kms.h has none).  On a CMK the work is kms.h's raw route
 * (policy: kms:EncryptionAlgorithm P11KMS_AES_GCM ...; one audit record
 * per operation); on a session AES key it is done here.  Multi-part calls
 * buffer the input and produce everything at *Final (GCM must verify its
 * tag before releasing any plaintext anyway).  The caller chooses GCM IVs
 * and is responsible for never repeating one under a key.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

/* CK_GCM_PARAMS as the 2.40 header without ulIvBits lays it out. */
typedef struct gcm_params_noivbits {
    CK_BYTE_PTR pIv;
    CK_ULONG ulIvLen;
    CK_BYTE_PTR pAAD;
    CK_ULONG ulAADLen;
    CK_ULONG ulTagBits;
} gcm_params_noivbits;

static CK_RV gcm_fill(p11kms_p11_cop *c, const unsigned char *iv, CK_ULONG ivlen,
                      const unsigned char *aad, CK_ULONG aadlen, CK_ULONG tagbits)
{
    if (iv == NULL || ivlen < 1 || ivlen > sizeof(c->iv) || (aad == NULL && aadlen > 0) ||
        tagbits % 8 != 0 || tagbits < 96 || tagbits > 128)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(c->iv, iv, ivlen);
    c->iv_len = ivlen;
    c->tag_len = tagbits / 8;
    if (aadlen > 0) {
        c->aad = malloc(aadlen);
        if (c->aad == NULL)
            return CKR_HOST_MEMORY;
        memcpy(c->aad, aad, aadlen);
        c->aad_len = aadlen;
    }
    return CKR_OK;
}

static CK_RV gcm_params(p11kms_p11_cop *c, const CK_MECHANISM *m)
{
    if (m->pParameter != NULL && m->ulParameterLen == sizeof(CK_GCM_PARAMS)) {
        const CK_GCM_PARAMS *p = m->pParameter;
        return gcm_fill(c, p->pIv, p->ulIvLen, p->pAAD, p->ulAADLen, p->ulTagBits);
    }
    if (m->pParameter != NULL && m->ulParameterLen == sizeof(gcm_params_noivbits)) {
        const gcm_params_noivbits *p = m->pParameter;
        return gcm_fill(c, p->pIv, p->ulIvLen, p->pAAD, p->ulAADLen, p->ulTagBits);
    }
    return CKR_MECHANISM_PARAM_INVALID;
}

static CK_RV oaep_params(p11kms_p11_cop *c, const CK_MECHANISM *m)
{
    const CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;
    if (p == NULL || m->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->source != 0 && p->source != CKZ_DATA_SPECIFIED)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSourceDataLen != 0) /* labels: not offered by kms.h */
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->hashAlg == CKM_SHA_1 && p->mgf == CKG_MGF1_SHA1)
        c->md = P11KMS_MD_SHA1;
    else if (p->hashAlg == CKM_SHA256 && p->mgf == CKG_MGF1_SHA256)
        c->md = P11KMS_MD_SHA256;
    else
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

static CK_RV mech_params(p11kms_p11_cop *c, const CK_MECHANISM *m)
{
    switch (m->mechanism) {
    case CKM_AES_GCM:
        return gcm_params(c, m);
    case CKM_AES_CBC_PAD:
        if (m->pParameter == NULL || m->ulParameterLen != 16)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(c->iv, m->pParameter, 16);
        c->iv_len = 16;
        return CKR_OK;
    case CKM_AES_KEY_WRAP_PAD:
    case CKM_AES_KEY_WRAP_KWP:
        return m->pParameter == NULL && m->ulParameterLen == 0 ? CKR_OK
                                                               : CKR_MECHANISM_PARAM_INVALID;
    case CKM_RSA_PKCS_OAEP:
        return oaep_params(c, m);
    default:
        return CKR_MECHANISM_INVALID;
    }
}

static CK_RV key_fits(const p11kms_p11_cop *c)
{
    CK_KEY_TYPE want = c->base.mech == CKM_RSA_PKCS_OAEP ? CKK_RSA : CKK_AES;
    return c->key.kt == want ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
}

/* ---------------- computation ---------------- */

static p11kms_kms_enc_alg raw_alg(CK_MECHANISM_TYPE m)
{
    return m == CKM_AES_GCM       ? P11KMS_KMS_ENC_P11KMS_AES_GCM
           : m == CKM_AES_CBC_PAD ? P11KMS_KMS_ENC_P11KMS_AES_CBC_PAD
                                  : P11KMS_KMS_ENC_P11KMS_AES_KWP;
}

static CK_RV cmk_compute(p11kms_p11_cop *c, int enc)
{
    p11kms_kms *kms = p11kms_p11_slot_get(c->slot)->kms;
    const p11kms_caller *who = p11kms_p11_caller();
    p11kms_kms_bytes out = {0};
    p11kms_kms_rc rc;
    if (c->base.mech == CKM_RSA_PKCS_OAEP) {
        p11kms_kms_enc_alg alg = c->md == P11KMS_MD_SHA1 ? P11KMS_KMS_ENC_RSAES_OAEP_SHA_1
                                                         : P11KMS_KMS_ENC_RSAES_OAEP_SHA_256;
        rc = enc ? p11kms_kms_encrypt(kms, who, c->key.kkey, NULL, c->in, c->in_len, NULL, alg,
                                      &out, NULL)
                 : p11kms_kms_decrypt(kms, who, c->key.kkey, NULL, c->in, c->in_len, NULL, alg,
                                      &out, NULL);
    } else {
        p11kms_kms_raw_params p = {raw_alg(c->base.mech),
                                   c->key.version,
                                   c->iv,
                                   c->iv_len,
                                   c->aad,
                                   c->aad_len,
                                   c->tag_len};
        rc = enc ? p11kms_kms_raw_encrypt(kms, who, c->key.kkey, NULL, &p, c->in, c->in_len, &out)
                 : p11kms_kms_raw_decrypt(kms, who, c->key.kkey, NULL, &p, c->in, c->in_len, &out);
    }
    CK_RV rv = p11kms_p11_rv_from_kms(rc, P11KMS_P11_CTX_KEY_USE);
    if (rc == P11KMS_KMS_VALIDATION)
        rv = enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (rv == CKR_OK)
        rv = p11kms_p11_cop_take(c, &out);
    p11kms_kms_bytes_clear(&out);
    return rv;
}

static int local_gcm(p11kms_p11_cop *c, int enc, unsigned char *out, size_t *outlen)
{
    const unsigned char *k = c->key.secret;
    size_t kl = c->key.secret_len;
    if (enc) {
        *outlen = c->in_len + c->tag_len;
        return p11kms_crypto_aes_gcm_seal(k, kl, c->iv, c->iv_len, c->aad, c->aad_len, c->in,
                                          c->in_len, out, out + c->in_len, c->tag_len);
    }
    if (c->in_len < c->tag_len)
        return 0;
    *outlen = c->in_len - c->tag_len;
    return p11kms_crypto_aes_gcm_open(k, kl, c->iv, c->iv_len, c->aad, c->aad_len, c->in, *outlen,
                                      c->in + *outlen, c->tag_len, out);
}

static int local_run(p11kms_p11_cop *c, int enc, unsigned char *out, size_t *outlen)
{
    const unsigned char *k = c->key.secret;
    size_t kl = c->key.secret_len;
    switch (c->base.mech) {
    case CKM_AES_GCM:
        return local_gcm(c, enc, out, outlen);
    case CKM_AES_CBC_PAD:
        return enc ? p11kms_crypto_aes_cbc_encrypt(k, kl, c->iv, 1, c->in, c->in_len, out, outlen)
                   : p11kms_crypto_aes_cbc_decrypt(k, kl, c->iv, 1, c->in, c->in_len, out, outlen);
    default:
        return enc ? p11kms_crypto_aes_wrap_pad(k, kl, c->in, c->in_len, out, outlen)
                   : p11kms_crypto_aes_unwrap_pad(k, kl, c->in, c->in_len, out, outlen);
    }
}

static CK_RV local_compute(p11kms_p11_cop *c, int enc)
{
    size_t cap = c->in_len + 64, len = cap;
    unsigned char *out = malloc(cap);
    if (out == NULL)
        return CKR_HOST_MEMORY;
    if (!local_run(c, enc, out, &len)) {
        free(out);
        return enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_INVALID;
    }
    p11kms_p11_cop_set_result(c, out, len);
    return CKR_OK;
}

/* ---------------- the C_ entry points ---------------- */

static p11kms_p11_optype optype(int enc)
{
    return enc ? P11KMS_P11_OP_ENCRYPT : P11KMS_P11_OP_DECRYPT;
}

static CK_RV crypt_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, int enc)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(h, &s);
    if (rv == CKR_OK && m == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = p11kms_p11_session_op_check_idle(s, optype(enc));
    if (rv == CKR_OK && !p11kms_p11_mech_allows(m->mechanism, enc ? CKF_ENCRYPT : CKF_DECRYPT))
        rv = CKR_MECHANISM_INVALID;
    if (rv != CKR_OK)
        goto done;
    c = p11kms_p11_cop_new(m->mechanism, s->slot);
    rv = c == NULL ? CKR_HOST_MEMORY : mech_params(c, m);
    if (rv == CKR_OK)
        rv = p11kms_p11_key_resolve(s, key, enc ? CKA_ENCRYPT : CKA_DECRYPT, &c->key);
    if (rv == CKR_OK)
        rv = key_fits(c);
    if (rv == CKR_OK && c->key.secret == NULL && !c->key.cmk)
        rv = CKR_KEY_TYPE_INCONSISTENT;
    if (rv == CKR_OK && !c->key.cmk && m->mechanism == CKM_RSA_PKCS_OAEP)
        rv = CKR_KEY_TYPE_INCONSISTENT; /* no session RSA keys */
    if (rv != CKR_OK)
        goto done;
    s->ops[optype(enc)] = &c->base;
    c = NULL;
done:
    p11kms_p11_cop_free(c ? &c->base : NULL);
    p11kms_p11_leave();
    return rv;
}

static CK_RV compute_once(p11kms_p11_cop *c, int enc)
{
    if (c->have_res)
        return CKR_OK;
    return c->key.cmk ? cmk_compute(c, enc) : local_compute(c, enc);
}

/* Session + active operation of the given direction. */
static CK_RV active(CK_SESSION_HANDLE h, int enc, p11kms_p11_session **s, p11kms_p11_cop **c)
{
    CK_RV rv = p11kms_p11_session_get(h, s);
    if (rv != CKR_OK)
        return rv;
    *c = (p11kms_p11_cop *)(*s)->ops[optype(enc)];
    return *c != NULL ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

static CK_RV crypt_all(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR in, CK_ULONG inlen,
                       CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    int keep = 0;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(h, enc, &s, &c);
    if (rv != CKR_OK)
        goto done;
    if ((in == NULL && inlen > 0) || outlen == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (c->updated)
        rv = CKR_OPERATION_ACTIVE; /* C_Encrypt cannot finish a multi-part operation */
    else if (!c->have_res)
        rv = p11kms_p11_cop_append(c, in, inlen);
    if (rv == CKR_OK)
        rv = compute_once(c, enc);
    if (rv == CKR_OK)
        rv = p11kms_p11_emit(c->res, c->res_len, out, outlen, &keep);
    if (!keep)
        p11kms_p11_session_op_end(s, optype(enc));
done:
    p11kms_p11_leave();
    return rv;
}

static CK_RV crypt_update(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR in, CK_ULONG inlen,
                          CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(h, enc, &s, &c);
    if (rv != CKR_OK)
        goto done;
    if ((in == NULL && inlen > 0) || outlen == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (out != NULL) /* a NULL output is a length query: consume nothing */
        rv = p11kms_p11_cop_append(c, in, inlen);
    if (rv == CKR_OK) {
        c->updated |= out != NULL;
        *outlen = 0; /* everything comes out at Final */
    } else {
        p11kms_p11_session_op_end(s, optype(enc));
    }
done:
    p11kms_p11_leave();
    return rv;
}

static CK_RV crypt_final(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    int keep = 0;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(h, enc, &s, &c);
    if (rv != CKR_OK)
        goto done;
    rv = outlen == NULL ? CKR_ARGUMENTS_BAD : compute_once(c, enc);
    if (rv == CKR_OK)
        rv = p11kms_p11_emit(c->res, c->res_len, out, outlen, &keep);
    if (!keep)
        p11kms_p11_session_op_end(s, optype(enc));
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return crypt_init(hSession, pMechanism, hKey, 1);
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    return crypt_all(hSession, 1, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen);
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    return crypt_update(hSession, 1, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen);
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                     CK_ULONG_PTR pulLastEncryptedPartLen)
{
    return crypt_final(hSession, 1, pLastEncryptedPart, pulLastEncryptedPartLen);
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return crypt_init(hSession, pMechanism, hKey, 0);
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    return crypt_all(hSession, 0, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen);
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    return crypt_update(hSession, 0, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen);
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
    return crypt_final(hSession, 0, pLastPart, pulLastPartLen);
}
