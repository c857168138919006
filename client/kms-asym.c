/*
 * client/kms-asym.c — standard-mechanism routes for Sign, Verify,
 * GenerateMac, VerifyMac and GetPublicKey, used when a module does not
 * know them as CKO_P11KMS_OPERATION names.  Signing uses only mechanisms
 * that cross p11-kit's RPC (client/key-ops.h: CKM_ECDSA, CKM_RSA_PKCS,
 * CKM_RSA_PKCS_PSS over a digest hashed here); MACs use C_Sign/C_Verify
 * with CKM_SHA*_HMAC on the CMK.  Verify checks with the public key
 * locally (a public operation: KMS's own advice for offline checks), so
 * only that one is not recorded by the module's audit.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/key-ops.h"
#include "client/kms-internal.h"

static CK_OBJECT_CLASS object_class(const p11kms_client_kms *s, CK_OBJECT_HANDLE h)
{
    CK_OBJECT_CLASS cls = CKO_VENDOR_DEFINED;
    CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
    if (p11kms_client_module_functions(s->mod)->C_GetAttributeValue(s->session, h, &a, 1) != CKR_OK)
        return CKO_VENDOR_DEFINED;
    return cls;
}

/* The private-key object of key_id for key-ops.h. */
static int find_key(const p11kms_client_kms *s, const char *key_id, CK_OBJECT_CLASS cls,
                    p11kms_client_keyref *ref, char id[37], p11kms_client_kms_error *err)
{
    p11kms_client_uri uri;
    char text[64];
    CK_OBJECT_HANDLE h;
    int ok = 0;
    memset(&uri, 0, sizeof(uri));
    if (!p11kms_client_kms_find_cmk(s, key_id, &h, id, err))
        return 0;
    if (object_class(s, h) != CKO_PRIVATE_KEY)
        return p11kms_client_kms_fail(err, "InvalidKeyUsageException", CKR_KEY_TYPE_INCONSISTENT,
                                      "key %s is not an asymmetric key", key_id);
    snprintf(text, sizeof(text), "p11kms:key/%s", id);
    if (!p11kms_client_uri_parse(text, 0, &uri, &err->err) ||
        !p11kms_client_key_find_one(s->mod, s->session, &uri, text, cls, ref, &err->err)) {
        snprintf(err->exception, sizeof(err->exception), "NotFoundException");
        goto done;
    }
    ok = 1;
done:
    p11kms_client_uri_free(&uri);
    return ok;
}

/* The digest to sign: msg hashed (RAW) or checked (DIGEST). */
static int to_digest(p11kms_sign_alg alg, const char *type, const unsigned char *msg, size_t msglen,
                     unsigned char *dgst, size_t *dlen, p11kms_client_kms_error *err)
{
    p11kms_md md = p11kms_crypto_sign_alg_md(alg);
    *dlen = p11kms_crypto_md_size(md);
    if (alg == P11KMS_SIGN_NONE || md == P11KMS_MD_NONE)
        return p11kms_client_kms_fail(err, "ValidationException", 0, "unknown SigningAlgorithm");
    if (type != NULL && strcmp(type, "DIGEST") == 0) {
        if (msglen != *dlen)
            return p11kms_client_kms_fail(err, "ValidationException", 0,
                                          "a DIGEST message must be %zu bytes", *dlen);
        memcpy(dgst, msg, msglen);
        return 1;
    }
    if (type != NULL && strcmp(type, "RAW") != 0)
        return p11kms_client_kms_fail(err, "ValidationException", 0,
                                      "MessageType must be RAW or DIGEST");
    if (msglen == 0 || msglen > 4096)
        return p11kms_client_kms_fail(err, "ValidationException", 0,
                                      "a RAW message must be 1..4096 bytes");
    return p11kms_crypto_digest(md, msg, msglen, dgst, dlen) ||
           p11kms_client_kms_fail(err, "", 0, "digest failed");
}

static p11kms_client_sign_alg client_alg(p11kms_sign_alg alg)
{
    if (alg <= P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_512)
        return P11KMS_CLIENT_SIGN_RSA_PKCS1;
    return alg <= P11KMS_SIGN_RSASSA_PSS_SHA_512 ? P11KMS_CLIENT_SIGN_RSA_PSS
                                                 : P11KMS_CLIENT_SIGN_ECDSA;
}

static int ok_json(p11kms_client_kms_result *res, const char *id, const char *alg,
                   p11kms_client_kms_error *err)
{
    res->json = json_pack("{s:s,s:s}", "KeyId", id, "SigningAlgorithm", alg);
    return res->json != NULL || p11kms_client_kms_fail(err, "", 0, "out of memory");
}

int p11kms_client_kms_attr_sign(const p11kms_client_kms *s, const char *key_id,
                                const unsigned char *msg, size_t msglen, const char *type,
                                const char *algorithm, p11kms_client_kms_result *res,
                                p11kms_client_kms_error *err)
{
    p11kms_sign_alg alg = p11kms_crypto_sign_alg_from_name(algorithm ? algorithm : "");
    p11kms_md md = p11kms_crypto_sign_alg_md(alg);
    unsigned char dgst[P11KMS_MD_MAX_SIZE], sig[1024];
    size_t dlen = 0, siglen = sizeof(sig);
    p11kms_client_keyref ref;
    char id[37];
    memset(res, 0, sizeof(*res));
    if (!to_digest(alg, type, msg, msglen, dgst, &dlen, err) ||
        !find_key(s, key_id, CKO_PRIVATE_KEY, &ref, id, err))
        return 0;
    if (!p11kms_client_key_sign(s->mod, s->session, &ref, client_alg(alg), md, md, dlen, dgst, dlen,
                                sig, &siglen, &err->err)) {
        snprintf(err->exception, sizeof(err->exception), "%s",
                 p11kms_client_kms_exception_of_rv(err->err.rv));
        return 0;
    }
    res->signature = OPENSSL_memdup(sig, siglen);
    res->signature_len = siglen;
    return res->signature != NULL && ok_json(res, id, algorithm, err);
}

int p11kms_client_kms_attr_verify(const p11kms_client_kms *s, const char *key_id,
                                  const unsigned char *msg, size_t msglen, const char *type,
                                  const char *algorithm, const unsigned char *sig, size_t siglen,
                                  p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_sign_alg alg = p11kms_crypto_sign_alg_from_name(algorithm ? algorithm : "");
    unsigned char dgst[P11KMS_MD_MAX_SIZE];
    size_t dlen = 0;
    p11kms_client_keyref ref;
    p11kms_crypto_pkey *pub = NULL;
    char id[37];
    int ok = 0;
    memset(res, 0, sizeof(*res));
    if (!to_digest(alg, type, msg, msglen, dgst, &dlen, err) ||
        !find_key(s, key_id, CKO_PRIVATE_KEY, &ref, id, err))
        return 0;
    if (!p11kms_client_key_public(s->mod, s->session, &ref, &pub, &err->err))
        goto done;
    if (!p11kms_crypto_verify(pub, alg, P11KMS_MSG_DIGEST, dgst, dlen, sig, siglen)) {
        p11kms_client_kms_fail(err, "KMSInvalidSignatureException", CKR_SIGNATURE_INVALID,
                               "Verify: the signature is not valid for key %s", key_id);
        goto done;
    }
    ok = ok_json(res, id, algorithm, err);
    if (ok)
        json_object_set_new(res->json, "SignatureValid", json_true());
done:
    p11kms_crypto_pkey_free(pub);
    return ok;
}

int p11kms_client_kms_attr_public_key(const p11kms_client_kms *s, const char *key_id,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_keyref ref;
    p11kms_crypto_pkey *pub = NULL;
    char id[37];
    int ok = 0;
    memset(res, 0, sizeof(*res));
    if (!find_key(s, key_id, CKO_PRIVATE_KEY, &ref, id, err))
        return 0;
    if (!p11kms_client_key_public(s->mod, s->session, &ref, &pub, &err->err) ||
        !p11kms_crypto_pkey_public_der(pub, &res->plaintext, &res->plaintext_len)) {
        p11kms_client_kms_fail(err, "", 0, "GetPublicKey: cannot read the public key of %s",
                               key_id);
        goto done;
    }
    res->json = json_pack("{s:s}", "KeyId", id);
    ok = res->json != NULL;
done:
    p11kms_crypto_pkey_free(pub);
    if (!ok)
        p11kms_client_kms_result_clear(res);
    return ok;
}

static CK_MECHANISM_TYPE mac_mech(const char *alg)
{
    if (alg != NULL && strcmp(alg, "HMAC_SHA_256") == 0)
        return CKM_SHA256_HMAC;
    if (alg != NULL && strcmp(alg, "HMAC_SHA_384") == 0)
        return CKM_SHA384_HMAC;
    if (alg != NULL && strcmp(alg, "HMAC_SHA_512") == 0)
        return CKM_SHA512_HMAC;
    return CKM_VENDOR_DEFINED;
}

/* GenerateMac (mac NULL) or VerifyMac with C_Sign / C_Verify. */
int p11kms_client_kms_attr_mac(const p11kms_client_kms *s, const char *key_id,
                               const unsigned char *msg, size_t msglen, const char *algorithm,
                               const unsigned char *mac, size_t maclen,
                               p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_MECHANISM m = {mac_mech(algorithm), NULL, 0};
    CK_OBJECT_HANDLE h;
    unsigned char out[64];
    CK_ULONG outlen = sizeof(out);
    char id[37];
    CK_RV rv;
    memset(res, 0, sizeof(*res));
    if (m.mechanism == CKM_VENDOR_DEFINED)
        return p11kms_client_kms_fail(err, "ValidationException", 0, "unknown MacAlgorithm");
    if (!p11kms_client_kms_find_cmk(s, key_id, &h, id, err))
        return 0;
    rv = mac ? f->C_VerifyInit(s->session, &m, h) : f->C_SignInit(s->session, &m, h);
    if (rv == CKR_OK)
        rv = mac ? f->C_Verify(s->session, (CK_BYTE_PTR)msg, msglen, (CK_BYTE_PTR)mac, maclen)
                 : f->C_Sign(s->session, (CK_BYTE_PTR)msg, msglen, out, &outlen);
    if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE)
        return p11kms_client_kms_fail(err, "KMSInvalidMacException", rv,
                                      "VerifyMac: the MAC is not valid for key %s", key_id);
    if (rv != CKR_OK)
        return p11kms_client_kms_fail_op(err, mac ? "VerifyMac" : "GenerateMac", key_id,
                                         p11kms_client_kms_exception_of_rv(rv), rv);
    res->json = json_pack("{s:s,s:s}", "KeyId", id, "MacAlgorithm", algorithm);
    if (mac != NULL && res->json != NULL)
        json_object_set_new(res->json, "MacValid", json_true());
    if (mac == NULL)
        res->signature = OPENSSL_memdup(out, outlen), res->signature_len = outlen;
    if (res->json == NULL || (mac == NULL && res->signature == NULL)) {
        p11kms_client_kms_result_clear(res);
        return p11kms_client_kms_fail(err, "", CKR_HOST_MEMORY, "out of memory");
    }
    return 1;
}
