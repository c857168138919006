/*
 * client/key-sign.c — private-key operations on a digest the caller already
 * computed: RSA PKCS#1 v1.5 (CKM_RSA_PKCS over a DigestInfo built here),
 * RSA-PSS (CKM_RSA_PKCS_PSS), ECDSA (CKM_ECDSA, converted to DER) and
 * RSA-OAEP decryption (client/key-ops.h).
 *
 * Why only these mechanisms: they are the ones p11-kit 0.24's RPC carries,
 * so isolated mode (p11-kit-client.so) works with the same code; the hash
 * mechanisms (CKM_SHA256_RSA_PKCS, CKM_ECDSA_SHA256) do not cross.
 */
#include "config.h"

#include "client/key-internal.h"

#include <string.h>

#include <openssl/crypto.h>

#define SIG_RAW_MAX 1024 /* RSA up to 8192 bits; ECDSA P-521 raw is 132 bytes */

/* DER prefixes of DigestInfo (RFC 8017, 9.2 note 1). */
static const unsigned char di_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                        0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const unsigned char di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                          0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                          0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                          0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                          0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                          0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                          0x03, 0x05, 0x00, 0x04, 0x40};

static int digest_info_prefix(p11kms_md md, const unsigned char **p, size_t *len)
{
    switch (md) {
    case P11KMS_MD_SHA1:
        *p = di_sha1, *len = sizeof(di_sha1);
        return 1;
    case P11KMS_MD_SHA256:
        *p = di_sha256, *len = sizeof(di_sha256);
        return 1;
    case P11KMS_MD_SHA384:
        *p = di_sha384, *len = sizeof(di_sha384);
        return 1;
    case P11KMS_MD_SHA512:
        *p = di_sha512, *len = sizeof(di_sha512);
        return 1;
    default:
        return 0;
    }
}

/* PKCS#11 names of a hash: the mechanism and the MGF1 generator. */
static int md_mechs(p11kms_md md, CK_MECHANISM_TYPE *hash, CK_RSA_PKCS_MGF_TYPE *mgf)
{
    switch (md) {
    case P11KMS_MD_SHA1:
        *hash = CKM_SHA_1, *mgf = CKG_MGF1_SHA1;
        return 1;
    case P11KMS_MD_SHA256:
        *hash = CKM_SHA256, *mgf = CKG_MGF1_SHA256;
        return 1;
    case P11KMS_MD_SHA384:
        *hash = CKM_SHA384, *mgf = CKG_MGF1_SHA384;
        return 1;
    case P11KMS_MD_SHA512:
        *hash = CKM_SHA512, *mgf = CKG_MGF1_SHA512;
        return 1;
    default:
        return 0;
    }
}

/* C_SignInit + C_Sign into raw (capacity SIG_RAW_MAX). */
static int do_sign(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                   const p11kms_client_keyref *ref, CK_MECHANISM *mech, const unsigned char *in,
                   size_t inlen, unsigned char *raw, CK_ULONG *rawlen, p11kms_client_err *err)
{
    CK_FUNCTION_LIST *fn = p11kms_client_module_functions(mod);
    CK_RV rv;

    *rawlen = SIG_RAW_MAX;
    rv = fn->C_SignInit(session, mech, ref->handle);
    if (rv != CKR_OK)
        return p11kms_client_key_fail(err, ref, "signing", "C_SignInit", rv);
    rv = fn->C_Sign(session, (CK_BYTE_PTR)in, (CK_ULONG)inlen, raw, rawlen);
    if (rv != CKR_OK)
        return p11kms_client_key_fail(err, ref, "signing", "C_Sign", rv);
    return 1;
}

/* The bytes CKM_RSA_PKCS signs: DigestInfo(md, dgst), or dgst itself for md NONE. */
static int pkcs1_input(p11kms_md md, const unsigned char *dgst, size_t dgstlen, unsigned char *buf,
                       size_t *buflen, p11kms_client_err *err)
{
    const unsigned char *prefix = NULL;
    size_t plen = 0;

    if (md != P11KMS_MD_NONE && !digest_info_prefix(md, &prefix, &plen))
        return p11kms_client_fail(err, CKR_OK, "RSA PKCS#1 signing: unsupported digest");
    if (md != P11KMS_MD_NONE && dgstlen != p11kms_crypto_md_size(md))
        return p11kms_client_fail(err, CKR_OK,
                                  "RSA PKCS#1 signing: digest length %zu does "
                                  "not match the hash",
                                  dgstlen);
    if (plen + dgstlen > *buflen)
        return p11kms_client_fail(err, CKR_OK, "RSA PKCS#1 signing: input too long");
    if (plen > 0)
        memcpy(buf, prefix, plen);
    memcpy(buf + plen, dgst, dgstlen);
    *buflen = plen + dgstlen;
    return 1;
}

static int copy_out(const unsigned char *src, size_t len, unsigned char *out, size_t *outlen,
                    p11kms_client_err *err)
{
    if (len > *outlen)
        return p11kms_client_fail(err, CKR_BUFFER_TOO_SMALL,
                                  "output buffer too small (%zu bytes, need %zu)", *outlen, len);
    memcpy(out, src, len);
    *outlen = len;
    return 1;
}

int p11kms_client_key_sign(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                           const p11kms_client_keyref *ref, p11kms_client_sign_alg alg,
                           p11kms_md md, p11kms_md mgf1, size_t saltlen, const unsigned char *dgst,
                           size_t dgstlen, unsigned char *sig, size_t *siglen,
                           p11kms_client_err *err)
{
    unsigned char in[128], raw[SIG_RAW_MAX], der[SIG_RAW_MAX];
    size_t inlen = sizeof(in), derlen = sizeof(der);
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_MECHANISM mech = {CKM_RSA_PKCS, NULL, 0};
    CK_MECHANISM_TYPE dummy;
    CK_RSA_PKCS_MGF_TYPE dummy_mgf;
    CK_ULONG rawlen = 0;
    int ok = 0;

    switch (alg) {
    case P11KMS_CLIENT_SIGN_RSA_PKCS1:
        if (!pkcs1_input(md, dgst, dgstlen, in, &inlen, err) ||
            !do_sign(mod, session, ref, &mech, in, inlen, raw, &rawlen, err))
            goto done;
        ok = copy_out(raw, rawlen, sig, siglen, err);
        break;
    case P11KMS_CLIENT_SIGN_RSA_PSS:
        memset(&pss, 0, sizeof(pss));
        if (!md_mechs(md, &pss.hashAlg, &dummy_mgf) ||
            !md_mechs(mgf1 != P11KMS_MD_NONE ? mgf1 : md, &dummy, &pss.mgf) ||
            dgstlen != p11kms_crypto_md_size(md)) {
            p11kms_client_fail(err, CKR_OK, "RSA-PSS signing: unsupported digest or length");
            goto done;
        }
        pss.sLen = (CK_ULONG)saltlen;
        mech.mechanism = CKM_RSA_PKCS_PSS;
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof(pss);
        if (!do_sign(mod, session, ref, &mech, dgst, dgstlen, raw, &rawlen, err))
            goto done;
        ok = copy_out(raw, rawlen, sig, siglen, err);
        break;
    case P11KMS_CLIENT_SIGN_ECDSA:
        mech.mechanism = CKM_ECDSA;
        if (!do_sign(mod, session, ref, &mech, dgst, dgstlen, raw, &rawlen, err))
            goto done;
        if (!p11kms_crypto_ecdsa_raw_to_der(raw, rawlen, der, &derlen)) {
            p11kms_client_fail(err, CKR_OK,
                               "ECDSA: the module returned a malformed signature "
                               "(%lu bytes)",
                               (unsigned long)rawlen);
            goto done;
        }
        ok = copy_out(der, derlen, sig, siglen, err);
        break;
    default:
        p11kms_client_fail(err, CKR_OK, "unknown signature algorithm %d", (int)alg);
    }
done:
    return ok;
}

int p11kms_client_key_decrypt_oaep(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                                   const p11kms_client_keyref *ref, p11kms_md md, p11kms_md mgf1,
                                   const unsigned char *label, size_t labellen,
                                   const unsigned char *in, size_t inlen, unsigned char *out,
                                   size_t *outlen, p11kms_client_err *err)
{
    CK_FUNCTION_LIST *fn = p11kms_client_module_functions(mod);
    CK_RSA_PKCS_OAEP_PARAMS oaep;
    CK_MECHANISM mech = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    CK_RSA_PKCS_MGF_TYPE dummy_mgf;
    CK_MECHANISM_TYPE dummy;
    unsigned char *tmp = NULL;
    CK_ULONG tmplen = (CK_ULONG)inlen;
    CK_RV rv;
    int ok = 0;

    memset(&oaep, 0, sizeof(oaep));
    if (!md_mechs(md, &oaep.hashAlg, &dummy_mgf) ||
        !md_mechs(mgf1 != P11KMS_MD_NONE ? mgf1 : md, &dummy, &oaep.mgf))
        return p11kms_client_fail(err, CKR_OK, "RSA-OAEP: unsupported digest");
    oaep.source = CKZ_DATA_SPECIFIED;
    oaep.pSourceData = labellen > 0 ? (void *)label : NULL;
    oaep.ulSourceDataLen = (CK_ULONG)labellen;
    tmp = OPENSSL_zalloc(inlen + 1);
    if (tmp == NULL)
        return p11kms_client_fail(err, CKR_HOST_MEMORY, "out of memory");
    rv = fn->C_DecryptInit(session, &mech, ref->handle);
    if (rv != CKR_OK) {
        p11kms_client_key_fail(err, ref, "decryption", "C_DecryptInit", rv);
        goto done;
    }
    rv = fn->C_Decrypt(session, (CK_BYTE_PTR)in, (CK_ULONG)inlen, tmp, &tmplen);
    if (rv != CKR_OK) {
        p11kms_client_key_fail(err, ref, "decryption", "C_Decrypt", rv);
        goto done;
    }
    ok = copy_out(tmp, tmplen, out, outlen, err);
done:
    OPENSSL_clear_free(tmp, inlen + 1);
    return ok;
}
