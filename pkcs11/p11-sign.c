/*
 * p11-sign.c — signatures and MACs: C_SignInit, C_Sign, C_SignUpdate,
 * C_SignFinal and the C_Verify* counterparts.
 *
 * On CMKs everything goes through kms.h's Sign/Verify (RSA, ECDSA) and
 * GenerateMac/VerifyMac (HMAC): policy-checked, one audit record each.
 * Hash-then-sign mechanisms (CKM_SHA*_RSA_PKCS, CKM_SHA*_RSA_PKCS_PSS,
 * CKM_ECDSA_SHA*) hash here, incrementally, and hand kms.h a DIGEST, so
 * messages of any length and multi-part calls work.  CKM_RSA_PKCS takes a
 * DER DigestInfo of SHA-256/384/512 (what TLS, NSS, GnuTLS and libp11
 * send); CKM_ECDSA a 32/48/64-byte digest whose length names the hash;
 * CKM_RSA_PKCS_PSS a digest with PSS parameters whose salt equals the
 * digest length (KMS's only PSS form).  ECDSA signatures are returned raw
 * (r || s) as PKCS#11 requires; kms.h's DER is converted.  Session
 * generic-secret keys do HMAC in-module.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

enum { FAM_HMAC, FAM_RSA_RAW, FAM_PSS_RAW, FAM_ECDSA_RAW, FAM_HASHED };

typedef struct sign_mech {
    CK_MECHANISM_TYPE mech;
    int family;
    p11kms_md md; /* HMAC / hash-then-sign hash */
    int alg;      /* p11kms_kms_sign_alg or p11kms_kms_mac_alg; -1 = from input */
} sign_mech;

static const sign_mech g_sign[] = {
    {CKM_SHA256_HMAC, FAM_HMAC, P11KMS_MD_SHA256, P11KMS_KMS_MAC_HMAC_SHA_256},
    {CKM_SHA384_HMAC, FAM_HMAC, P11KMS_MD_SHA384, P11KMS_KMS_MAC_HMAC_SHA_384},
    {CKM_SHA512_HMAC, FAM_HMAC, P11KMS_MD_SHA512, P11KMS_KMS_MAC_HMAC_SHA_512},
    {CKM_RSA_PKCS, FAM_RSA_RAW, P11KMS_MD_NONE, -1},
    {CKM_RSA_PKCS_PSS, FAM_PSS_RAW, P11KMS_MD_NONE, -1},
    {CKM_ECDSA, FAM_ECDSA_RAW, P11KMS_MD_NONE, -1},
    {CKM_SHA256_RSA_PKCS, FAM_HASHED, P11KMS_MD_SHA256, P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256},
    {CKM_SHA384_RSA_PKCS, FAM_HASHED, P11KMS_MD_SHA384, P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_384},
    {CKM_SHA512_RSA_PKCS, FAM_HASHED, P11KMS_MD_SHA512, P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_512},
    {CKM_SHA256_RSA_PKCS_PSS, FAM_HASHED, P11KMS_MD_SHA256, P11KMS_KMS_SIGN_RSASSA_PSS_SHA_256},
    {CKM_SHA384_RSA_PKCS_PSS, FAM_HASHED, P11KMS_MD_SHA384, P11KMS_KMS_SIGN_RSASSA_PSS_SHA_384},
    {CKM_SHA512_RSA_PKCS_PSS, FAM_HASHED, P11KMS_MD_SHA512, P11KMS_KMS_SIGN_RSASSA_PSS_SHA_512},
    {CKM_ECDSA_SHA256, FAM_HASHED, P11KMS_MD_SHA256, P11KMS_KMS_SIGN_ECDSA_SHA_256},
    {CKM_ECDSA_SHA384, FAM_HASHED, P11KMS_MD_SHA384, P11KMS_KMS_SIGN_ECDSA_SHA_384},
    {CKM_ECDSA_SHA512, FAM_HASHED, P11KMS_MD_SHA512, P11KMS_KMS_SIGN_ECDSA_SHA_512},
};

static const sign_mech *find_mech(CK_MECHANISM_TYPE m)
{
    for (size_t i = 0; i < sizeof(g_sign) / sizeof(g_sign[0]); i++)
        if (g_sign[i].mech == m)
            return &g_sign[i];
    return NULL;
}

static int is_pss(CK_MECHANISM_TYPE m)
{
    return m == CKM_RSA_PKCS_PSS || m == CKM_SHA256_RSA_PKCS_PSS || m == CKM_SHA384_RSA_PKCS_PSS ||
           m == CKM_SHA512_RSA_PKCS_PSS;
}

static p11kms_md md_of_hash_mech(CK_MECHANISM_TYPE m, CK_ULONG mgf)
{
    if (m == CKM_SHA256 && mgf == CKG_MGF1_SHA256)
        return P11KMS_MD_SHA256;
    if (m == CKM_SHA384 && mgf == CKG_MGF1_SHA384)
        return P11KMS_MD_SHA384;
    if (m == CKM_SHA512 && mgf == CKG_MGF1_SHA512)
        return P11KMS_MD_SHA512;
    return P11KMS_MD_NONE;
}

/* KMS signs PSS only with MGF1 of the same hash and salt = digest length. */
static CK_RV pss_params(p11kms_p11_cop *c, const CK_MECHANISM *m, const sign_mech *sm)
{
    const CK_RSA_PKCS_PSS_PARAMS *p = m->pParameter;
    if (p == NULL || m->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    p11kms_md md = md_of_hash_mech(p->hashAlg, p->mgf);
    if (md == P11KMS_MD_NONE || p->sLen != p11kms_crypto_md_size(md) ||
        (sm->md != P11KMS_MD_NONE && sm->md != md))
        return CKR_MECHANISM_PARAM_INVALID;
    c->md = md;
    return CKR_OK;
}

static CK_RV sign_params(p11kms_p11_cop *c, const CK_MECHANISM *m, const sign_mech *sm)
{
    CK_RV rv = CKR_OK;
    if (is_pss(m->mechanism))
        rv = pss_params(c, m, sm);
    else if (m->pParameter != NULL || m->ulParameterLen != 0)
        rv = CKR_MECHANISM_PARAM_INVALID;
    else
        c->md = sm->md;
    if (rv != CKR_OK)
        return rv;
    if (sm->family == FAM_HASHED && (c->hash = p11kms_crypto_hash_new_digest(sm->md)) == NULL)
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

static CK_RV key_fits(const p11kms_p11_cop *c, const sign_mech *sm)
{
    CK_KEY_TYPE kt = c->key.kt;
    if (sm->family == FAM_HMAC)
        return kt == CKK_GENERIC_SECRET ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
    if (!c->key.cmk)
        return CKR_KEY_TYPE_INCONSISTENT; /* no session key pairs */
    int ec = sm->family == FAM_ECDSA_RAW || sm->mech == CKM_ECDSA_SHA256 ||
             sm->mech == CKM_ECDSA_SHA384 || sm->mech == CKM_ECDSA_SHA512;
    return kt == (ec ? CKK_EC : CKK_RSA) ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
}

/* ---------------- message -> (algorithm, digest) ---------------- */

static const struct {
    const char *prefix;
    p11kms_kms_sign_alg alg;
} g_digest_info[] = {
    {"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20",
     P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256},
    {"\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30",
     P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_384},
    {"\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40",
     P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_512},
};

static CK_RV digest_info(const unsigned char *in, size_t len, p11kms_kms_sign_alg *alg,
                         const unsigned char **dg, size_t *dglen)
{
    for (size_t i = 0; i < 3; i++) {
        size_t hl = 32 + 16 * i;
        if (len == 19 + hl && memcmp(in, g_digest_info[i].prefix, 19) == 0) {
            *alg = g_digest_info[i].alg;
            *dg = in + 19;
            *dglen = hl;
            return CKR_OK;
        }
    }
    return CKR_DATA_INVALID;
}

static p11kms_kms_sign_alg by_len(size_t len, p11kms_kms_sign_alg base)
{
    return (p11kms_kms_sign_alg)(base + (len == 48 ? 1 : len == 64 ? 2 : 0));
}

/* Work out the KMS algorithm and the digest to sign. */
static CK_RV sign_input(p11kms_p11_cop *c, const sign_mech *sm, unsigned char *buf,
                        p11kms_kms_sign_alg *alg, const unsigned char **dg, size_t *dglen)
{
    size_t n = P11KMS_MD_MAX_SIZE;
    switch (sm->family) {
    case FAM_RSA_RAW:
        return digest_info(c->in, c->in_len, alg, dg, dglen);
    case FAM_ECDSA_RAW:
    case FAM_PSS_RAW:
        if (c->in_len != 32 && c->in_len != 48 && c->in_len != 64)
            return CKR_DATA_LEN_RANGE;
        if (sm->family == FAM_PSS_RAW && c->in_len != p11kms_crypto_md_size(c->md))
            return CKR_DATA_LEN_RANGE;
        *alg = by_len(c->in_len, sm->family == FAM_ECDSA_RAW ? P11KMS_KMS_SIGN_ECDSA_SHA_256
                                                             : P11KMS_KMS_SIGN_RSASSA_PSS_SHA_256);
        *dg = c->in;
        *dglen = c->in_len;
        return CKR_OK;
    default:
        if (!p11kms_crypto_hash_final(c->hash, buf, &n))
            return CKR_FUNCTION_FAILED;
        *alg = (p11kms_kms_sign_alg)sm->alg;
        *dg = buf;
        *dglen = n;
        return CKR_OK;
    }
}

static size_t coord_len(p11kms_kms_key_spec spec)
{
    return spec == P11KMS_KMS_SPEC_ECC_NIST_P521   ? 66
           : spec == P11KMS_KMS_SPEC_ECC_NIST_P384 ? 48
                                                   : 32;
}

static int is_ecdsa(p11kms_kms_sign_alg a)
{
    return a == P11KMS_KMS_SIGN_ECDSA_SHA_256 || a == P11KMS_KMS_SIGN_ECDSA_SHA_384 ||
           a == P11KMS_KMS_SIGN_ECDSA_SHA_512;
}

/* ---------------- computation ---------------- */

static CK_RV mac_compute(p11kms_p11_cop *c, const sign_mech *sm)
{
    p11kms_kms_bytes mac = {0};
    if (!c->key.cmk) {
        unsigned char buf[P11KMS_MD_MAX_SIZE];
        size_t n = sizeof(buf);
        if (!p11kms_crypto_hmac(sm->md, c->key.secret, c->key.secret_len, c->in, c->in_len, buf,
                                &n))
            return CKR_FUNCTION_FAILED;
        mac.data = buf, mac.len = n;
        return p11kms_p11_cop_take(c, &mac);
    }
    CK_RV rv = p11kms_p11_rv_from_kms(
        p11kms_kms_generate_mac(p11kms_p11_slot_get(c->slot)->kms, p11kms_p11_caller(), c->key.kkey,
                                NULL, c->in, c->in_len, (p11kms_kms_mac_alg)sm->alg, &mac),
        P11KMS_P11_CTX_KEY_USE);
    if (rv == CKR_OK)
        rv = p11kms_p11_cop_take(c, &mac);
    p11kms_kms_bytes_clear(&mac);
    return rv;
}

static CK_RV to_raw(p11kms_p11_cop *c, p11kms_kms_bytes *der)
{
    unsigned char raw[2 * 66];
    size_t n = sizeof(raw);
    if (!p11kms_crypto_ecdsa_der_to_raw(der->data, der->len, coord_len(c->key.spec), raw, &n))
        return CKR_FUNCTION_FAILED;
    p11kms_kms_bytes r = {raw, n};
    return p11kms_p11_cop_take(c, &r);
}

static CK_RV sig_compute(p11kms_p11_cop *c, const sign_mech *sm)
{
    unsigned char buf[P11KMS_MD_MAX_SIZE];
    const unsigned char *dg = NULL;
    size_t dglen = 0;
    p11kms_kms_sign_alg alg;
    p11kms_kms_bytes sig = {0};
    CK_RV rv = sign_input(c, sm, buf, &alg, &dg, &dglen);
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_rv_from_kms(p11kms_kms_sign(p11kms_p11_slot_get(c->slot)->kms,
                                                p11kms_p11_caller(), c->key.kkey, NULL, dg, dglen,
                                                P11KMS_KMS_MESSAGE_DIGEST, alg, &sig),
                                P11KMS_P11_CTX_KEY_USE);
    if (rv == CKR_OK)
        rv = is_ecdsa(alg) ? to_raw(c, &sig) : p11kms_p11_cop_take(c, &sig);
    p11kms_kms_bytes_clear(&sig);
    return rv;
}

static CK_RV mac_verify(p11kms_p11_cop *c, const sign_mech *sm, const unsigned char *sig,
                        size_t siglen)
{
    if (!c->key.cmk)
        return p11kms_crypto_hmac_verify(sm->md, c->key.secret, c->key.secret_len, c->in, c->in_len,
                                         sig, siglen)
                   ? CKR_OK
                   : CKR_SIGNATURE_INVALID;
    if (siglen != p11kms_crypto_md_size(sm->md))
        return CKR_SIGNATURE_LEN_RANGE;
    return p11kms_p11_rv_from_kms(
        p11kms_kms_verify_mac(p11kms_p11_slot_get(c->slot)->kms, p11kms_p11_caller(), c->key.kkey,
                              NULL, c->in, c->in_len, (p11kms_kms_mac_alg)sm->alg, sig, siglen),
        P11KMS_P11_CTX_KEY_USE);
}

static CK_RV sig_verify(p11kms_p11_cop *c, const sign_mech *sm, const unsigned char *sig,
                        size_t siglen)
{
    unsigned char buf[P11KMS_MD_MAX_SIZE], der[160];
    const unsigned char *dg = NULL;
    size_t dglen = 0, derlen = sizeof(der);
    p11kms_kms_sign_alg alg;
    CK_RV rv = sign_input(c, sm, buf, &alg, &dg, &dglen);
    if (rv != CKR_OK)
        return rv;
    if (is_ecdsa(alg)) {
        if (siglen != 2 * coord_len(c->key.spec))
            return CKR_SIGNATURE_LEN_RANGE;
        if (!p11kms_crypto_ecdsa_raw_to_der(sig, siglen, der, &derlen))
            return CKR_SIGNATURE_INVALID;
        sig = der, siglen = derlen;
    } else if (siglen != p11kms_kms_sign_max_len(c->key.spec)) {
        return CKR_SIGNATURE_LEN_RANGE;
    }
    return p11kms_p11_rv_from_kms(
        p11kms_kms_verify(p11kms_p11_slot_get(c->slot)->kms, p11kms_p11_caller(), c->key.kkey, NULL,
                          dg, dglen, P11KMS_KMS_MESSAGE_DIGEST, alg, sig, siglen),
        P11KMS_P11_CTX_KEY_USE);
}

/* ---------------- the C_ entry points ---------------- */

static p11kms_p11_optype optype(int sign)
{
    return sign ? P11KMS_P11_OP_SIGN : P11KMS_P11_OP_VERIFY;
}

static CK_RV sv_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, int sign)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    const sign_mech *sm = m ? find_mech(m->mechanism) : NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(h, &s);
    if (rv == CKR_OK && m == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = p11kms_p11_session_op_check_idle(s, optype(sign));
    if (rv == CKR_OK && sm == NULL)
        rv = CKR_MECHANISM_INVALID;
    if (rv != CKR_OK)
        goto done;
    c = p11kms_p11_cop_new(m->mechanism, s->slot);
    rv = c == NULL ? CKR_HOST_MEMORY : sign_params(c, m, sm);
    if (rv == CKR_OK)
        rv = p11kms_p11_key_resolve(s, key, sign ? CKA_SIGN : CKA_VERIFY, &c->key);
    if (rv == CKR_OK)
        rv = key_fits(c, sm);
    if (rv != CKR_OK)
        goto done;
    s->ops[optype(sign)] = &c->base;
    c = NULL;
done:
    p11kms_p11_cop_free(c ? &c->base : NULL);
    p11kms_p11_leave();
    return rv;
}

static CK_RV active(CK_SESSION_HANDLE h, int sign, p11kms_p11_session **s, p11kms_p11_cop **c)
{
    CK_RV rv = p11kms_p11_session_get(h, s);
    if (rv != CKR_OK)
        return rv;
    *c = (p11kms_p11_cop *)(*s)->ops[optype(sign)];
    return *c != NULL ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

static CK_RV feed(p11kms_p11_cop *c, const unsigned char *in, size_t len)
{
    if (c->hash != NULL)
        return p11kms_crypto_hash_update(c->hash, in, len) ? CKR_OK : CKR_FUNCTION_FAILED;
    return p11kms_p11_cop_append(c, in, len);
}

static CK_RV sign_result(p11kms_p11_cop *c)
{
    const sign_mech *sm = find_mech(c->base.mech);
    if (c->have_res)
        return CKR_OK;
    return sm->family == FAM_HMAC ? mac_compute(c, sm) : sig_compute(c, sm);
}

static CK_RV sign_finish(CK_SESSION_HANDLE h, const unsigned char *in, size_t inlen, int oneshot,
                         CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    int keep = 0;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(h, 1, &s, &c);
    if (rv != CKR_OK)
        goto done;
    if ((oneshot && in == NULL && inlen > 0) || outlen == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (oneshot && c->updated)
        rv = CKR_OPERATION_ACTIVE;
    else if (oneshot && !c->have_res)
        rv = feed(c, in, inlen);
    if (rv == CKR_OK)
        rv = sign_result(c);
    if (rv == CKR_OK)
        rv = p11kms_p11_emit(c->res, c->res_len, out, outlen, &keep);
    if (!keep)
        p11kms_p11_session_op_end(s, P11KMS_P11_OP_SIGN);
done:
    p11kms_p11_leave();
    return rv;
}

static CK_RV sv_update(CK_SESSION_HANDLE h, int sign, CK_BYTE_PTR in, CK_ULONG inlen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(h, sign, &s, &c);
    if (rv != CKR_OK)
        goto done;
    const sign_mech *sm = find_mech(c->base.mech);
    if (in == NULL && inlen > 0)
        rv = CKR_ARGUMENTS_BAD;
    else if (sm->family != FAM_HMAC && sm->family != FAM_HASHED)
        rv = CKR_FUNCTION_NOT_SUPPORTED; /* raw mechanisms are single-part only */
    else
        rv = feed(c, in, inlen);
    c->updated = 1;
    if (rv != CKR_OK)
        p11kms_p11_session_op_end(s, optype(sign));
done:
    p11kms_p11_leave();
    return rv;
}

static CK_RV verify_finish(CK_SESSION_HANDLE h, const unsigned char *in, size_t inlen, int oneshot,
                           const unsigned char *sig, size_t siglen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_cop *c = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = active(h, 0, &s, &c);
    if (rv != CKR_OK)
        goto done;
    const sign_mech *sm = find_mech(c->base.mech);
    if ((oneshot && in == NULL && inlen > 0) || sig == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (oneshot && c->updated)
        rv = CKR_OPERATION_ACTIVE;
    else if (oneshot)
        rv = feed(c, in, inlen);
    if (rv == CKR_OK)
        rv = sm->family == FAM_HMAC ? mac_verify(c, sm, sig, siglen)
                                    : sig_verify(c, sm, sig, siglen);
    p11kms_p11_session_op_end(s, P11KMS_P11_OP_VERIFY);
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return sv_init(hSession, pMechanism, hKey, 1);
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    return sign_finish(hSession, pData, ulDataLen, 1, pSignature, pulSignatureLen);
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return sv_update(hSession, 1, pPart, ulPartLen);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    return sign_finish(hSession, NULL, 0, 0, pSignature, pulSignatureLen);
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return sv_init(hSession, pMechanism, hKey, 0);
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    return verify_finish(hSession, pData, ulDataLen, 1, pSignature, ulSignatureLen);
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return sv_update(hSession, 0, pPart, ulPartLen);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    return verify_finish(hSession, NULL, 0, 0, pSignature, ulSignatureLen);
}
