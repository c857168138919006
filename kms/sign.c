/* kms/sign.c — Sign, Verify and GetPublicKey on asymmetric keys: KMS's
 * algorithms per key spec, RAW messages up to 4096 bytes or DIGESTs whose
 * length must match the algorithm; signatures as KMS returns them (DER for
 * ECDSA); public keys as DER SubjectPublicKeyInfo with named curves. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "kms/kms-internal.h"

#define RAW_MAX 4096

static void sign_request(kms_call *c, p11kms_kms_message_type type, p11kms_kms_sign_alg alg)
{
    json_object_set_new(c->request, "messageType",
                        json_string(type == P11KMS_KMS_MESSAGE_DIGEST ? "DIGEST" : "RAW"));
    json_object_set_new(c->request, "signingAlgorithm", json_string(p11kms_kms_sign_alg_name(alg)));
}

static p11kms_kms_rc check_message(kms_call *c, const uint8_t *msg, size_t len,
                                   p11kms_kms_message_type type, p11kms_kms_sign_alg alg)
{
    if ((unsigned)alg >= P11KMS_KMS_SIGN_COUNT_)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "unknown SigningAlgorithm");
    if (msg == NULL || len == 0)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "Message is required");
    if (type == P11KMS_KMS_MESSAGE_RAW && len > RAW_MAX)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "a RAW Message must be 1-4096 bytes");
    if (type == P11KMS_KMS_MESSAGE_DIGEST && len != p11kms_kms_sign_alg_digest_len(alg))
        return kms_fail(c, P11KMS_KMS_VALIDATION,
                        "the DIGEST length does not match the SigningAlgorithm");
    if (type != P11KMS_KMS_MESSAGE_RAW && type != P11KMS_KMS_MESSAGE_DIGEST)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "unknown MessageType");
    return P11KMS_KMS_OK;
}

/* Common prologue of Sign and Verify; *v gets the private key version. */
static p11kms_kms_rc sign_begin(kms_call *c, p11kms_kms_key *key, const char *key_ref,
                                const uint8_t *msg, size_t len, p11kms_kms_message_type type,
                                p11kms_kms_sign_alg alg, kms_version **v)
{
    p11kms_policy_request req;
    p11kms_kms_rc rc = kms_data_begin(c, key, key_ref);

    memset(&req, 0, sizeof(req));
    req.signing_algorithm = p11kms_kms_sign_alg_name(alg);
    req.message_type = type == P11KMS_KMS_MESSAGE_DIGEST ? "DIGEST" : "RAW";
    req.request_alias = key_ref && strncmp(key_ref, "alias/", 6) == 0 ? key_ref : NULL;
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(c, NULL, &req, P11KMS_KMS_USAGE_SIGN_VERIFY, 0);
    if (rc == P11KMS_KMS_OK)
        rc = check_message(c, msg, len, type, alg);
    if (rc == P11KMS_KMS_OK && !(kms_spec_sign_algs(c->key->spec, c->key->usage) & (1u << alg)))
        rc = kms_fail(c, P11KMS_KMS_INVALID_KEY_USAGE,
                      "the SigningAlgorithm is not valid for this key");
    if (rc == P11KMS_KMS_OK)
        rc = kms_version_get(c->key, 0, v);
    if (rc == P11KMS_KMS_OK)
        c->key_version = (*v)->version;
    return rc;
}

static p11kms_sign_alg crypto_alg(p11kms_kms_sign_alg alg)
{
    return p11kms_crypto_sign_alg_from_name(p11kms_kms_sign_alg_name(alg));
}

static p11kms_msg_type crypto_type(p11kms_kms_message_type t)
{
    return t == P11KMS_KMS_MESSAGE_DIGEST ? P11KMS_MSG_DIGEST : P11KMS_MSG_RAW;
}

p11kms_kms_rc p11kms_kms_sign(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                              const char *key_ref, const uint8_t *msg, size_t msg_len,
                              p11kms_kms_message_type type, p11kms_kms_sign_alg alg,
                              p11kms_kms_bytes *signature)
{
    kms_call c;
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Sign", "kms:Sign", 0, 0);
    kms_call_out(&c, signature);
    sign_request(&c, type, alg);
    rc = signature ? sign_begin(&c, key, key_ref, msg, msg_len, type, alg, &v)
                   : kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(signature, p11kms_crypto_pkey_sig_max(v->pkey));
    if (rc == P11KMS_KMS_OK && !p11kms_crypto_sign(v->pkey, crypto_alg(alg), crypto_type(type), msg,
                                                   msg_len, signature->data, &signature->len))
        rc = kms_fail(&c, P11KMS_KMS_INTERNAL, "signing failed");
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_verify(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                                const char *key_ref, const uint8_t *msg, size_t msg_len,
                                p11kms_kms_message_type type, p11kms_kms_sign_alg alg,
                                const uint8_t *sig, size_t sig_len)
{
    kms_call c;
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Verify", "kms:Verify", 0, 0);
    sign_request(&c, type, alg);
    rc = sign_begin(&c, key, key_ref, msg, msg_len, type, alg, &v);
    if (rc == P11KMS_KMS_OK && (sig == NULL || sig_len == 0 || sig_len > 6144))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "Signature must be 1-6144 bytes");
    if (rc == P11KMS_KMS_OK && !p11kms_crypto_verify(v->pkey, crypto_alg(alg), crypto_type(type),
                                                     msg, msg_len, sig, sig_len))
        rc = kms_fail(&c, P11KMS_KMS_INVALID_SIGNATURE, "the signature is not valid");
    if (rc == P11KMS_KMS_OK)
        c.response = json_pack("{s:b}", "signatureValid", 1);
    return kms_call_end(&c, rc);
}

static p11kms_kms_rc public_der(kms_call *c, p11kms_kms_public_key *out)
{
    kms_version *v = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    p11kms_kms_rc rc = kms_version_get(c->key, 0, &v);

    if (rc == P11KMS_KMS_OK && !p11kms_crypto_pkey_public_der(v->pkey, &der, &len))
        rc = kms_fail(c, P11KMS_KMS_INTERNAL, "cannot encode the public key");
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(&out->spki, len);
    if (rc == P11KMS_KMS_OK) {
        memcpy(out->spki.data, der, len);
        out->spec = c->key->spec;
        out->usage = c->key->usage;
        out->encryption_algorithms = kms_spec_enc_algs(c->key->spec, c->key->usage);
        out->signing_algorithms = kms_spec_sign_algs(c->key->spec, c->key->usage);
        c->key_version = v->version;
    }
    OPENSSL_free(der);
    return rc;
}

p11kms_kms_rc p11kms_kms_get_public_key(p11kms_kms *kms, const p11kms_caller *caller,
                                        p11kms_kms_key *key, const char *key_ref,
                                        p11kms_kms_public_key *out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "GetPublicKey", "kms:GetPublicKey", 0, 1);
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        kms_call_out(&c, &out->spki);
    }
    rc = kms_data_begin(&c, key, key_ref);
    if (rc == P11KMS_KMS_OK && out == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK) {
        kms_request_init(&c, &req);
        rc = kms_authorize(&c, &req);
    }
    if (rc == P11KMS_KMS_OK)
        rc = kms_check_usable(&c, c.key, 0);
    if (rc == P11KMS_KMS_OK && !kms_spec_is_rsa(c.key->spec) && !kms_spec_is_ec(c.key->spec))
        rc = kms_fail(&c, P11KMS_KMS_UNSUPPORTED, "GetPublicKey needs an asymmetric key");
    if (rc == P11KMS_KMS_OK)
        rc = public_der(&c, out);
    return kms_call_end(&c, rc);
}
