/*
 * client/kms-data.c — the data-plane calls of client/kms.h (Encrypt,
 * Decrypt, ReEncrypt, data keys, Sign/Verify, MACs, GetPublicKey,
 * GenerateRandom) on top of the generic operation call, plus the blob
 * parser that tells a ciphertext's key without the module.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "client/kms-internal.h"
#include "kms/envelope.h"

/* Sets name to a borrowed value when v is not NULL; 0 on allocation failure. */
static int put(json_t *o, const char *name, json_t *v)
{
    return v == NULL || json_object_set(o, name, v) == 0;
}

static int put_str(json_t *o, const char *name, const char *v)
{
    return v == NULL || json_object_set_new(o, name, json_string(v)) == 0;
}

static int nomem(p11kms_client_kms_error *err, const char *op)
{
    return p11kms_client_kms_fail(err, "", CKR_HOST_MEMORY, "%s: out of memory", op);
}

static int call(const p11kms_client_kms *s, p11kms_client_kms_request *r, json_t *params,
                int params_ok, p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    int ok = 0;
    if (params == NULL || !params_ok) {
        nomem(err, r->op);
        goto done;
    }
    r->params = params;
    ok = p11kms_client_kms_call(s, r, res, err);
done:
    json_decref(params);
    return ok;
}

int p11kms_client_kms_encrypt(const p11kms_client_kms *s, const char *key_id,
                              const unsigned char *pt, size_t ptlen, json_t *context,
                              p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {
        .op = "Encrypt", .key_id = key_id, .plaintext = pt, .plaintext_len = ptlen};
    json_t *p = json_object();
    return call(s, &r, p, p && put(p, "EncryptionContext", context), res, err);
}

int p11kms_client_kms_decrypt(const p11kms_client_kms *s, const char *key_id,
                              const unsigned char *ct, size_t ctlen, json_t *context,
                              p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {
        .op = "Decrypt", .key_id = key_id, .ciphertext = ct, .ciphertext_len = ctlen};
    json_t *p = json_object();
    return call(s, &r, p, p && put(p, "EncryptionContext", context), res, err);
}

int p11kms_client_kms_re_encrypt(const p11kms_client_kms *s, const unsigned char *ct, size_t ctlen,
                                 const char *src_key_id, json_t *src_context,
                                 const char *dest_key_id, json_t *dest_context,
                                 p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {
        .op = "ReEncrypt", .key_id = src_key_id, .ciphertext = ct, .ciphertext_len = ctlen};
    json_t *p = json_object();
    int ok = p && put(p, "SourceEncryptionContext", src_context) &&
             put(p, "DestinationEncryptionContext", dest_context) &&
             put_str(p, "DestinationKeyId", dest_key_id) && put_str(p, "SourceKeyId", src_key_id);
    return call(s, &r, p, ok, res, err);
}

static int data_key(const p11kms_client_kms *s, const char *op, const char *key_id,
                    const char *key_spec, unsigned nbytes, json_t *context,
                    p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {.op = op, .key_id = key_id};
    json_t *p = json_object();
    int ok = p && put(p, "EncryptionContext", context) && put_str(p, "KeySpec", key_spec);
    if (ok && nbytes > 0)
        ok = json_object_set_new(p, "NumberOfBytes", json_integer(nbytes)) == 0;
    return call(s, &r, p, ok, res, err);
}

int p11kms_client_kms_generate_data_key(const p11kms_client_kms *s, const char *key_id,
                                        const char *key_spec, unsigned nbytes, json_t *context,
                                        p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    return data_key(s, "GenerateDataKey", key_id, key_spec, nbytes, context, res, err);
}

int p11kms_client_kms_generate_data_key_without_plaintext(const p11kms_client_kms *s,
                                                          const char *key_id, const char *key_spec,
                                                          unsigned nbytes, json_t *context,
                                                          p11kms_client_kms_result *res,
                                                          p11kms_client_kms_error *err)
{
    return data_key(s, "GenerateDataKeyWithoutPlaintext", key_id, key_spec, nbytes, context, res,
                    err);
}

int p11kms_client_kms_sign(const p11kms_client_kms *s, const char *key_id, const unsigned char *msg,
                           size_t msglen, const char *message_type, const char *algorithm,
                           p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {
        .op = "Sign", .key_id = key_id, .plaintext = msg, .plaintext_len = msglen};
    json_t *p = json_object();
    int ok = p && put_str(p, "MessageType", message_type ? message_type : "RAW") &&
             put_str(p, "SigningAlgorithm", algorithm);
    if (call(s, &r, p, ok, res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_sign(s, key_id, msg, msglen, message_type, algorithm, res, err);
}

int p11kms_client_kms_verify(const p11kms_client_kms *s, const char *key_id,
                             const unsigned char *msg, size_t msglen, const char *message_type,
                             const char *algorithm, const unsigned char *sig, size_t siglen,
                             p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {.op = "Verify",
                                   .key_id = key_id,
                                   .plaintext = msg,
                                   .plaintext_len = msglen,
                                   .signature = sig,
                                   .signature_len = siglen};
    json_t *p = json_object();
    int ok = p && put_str(p, "MessageType", message_type ? message_type : "RAW") &&
             put_str(p, "SigningAlgorithm", algorithm);
    if (call(s, &r, p, ok, res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_verify(s, key_id, msg, msglen, message_type, algorithm, sig,
                                         siglen, res, err);
}

int p11kms_client_kms_generate_mac(const p11kms_client_kms *s, const char *key_id,
                                   const unsigned char *msg, size_t msglen, const char *algorithm,
                                   p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {
        .op = "GenerateMac", .key_id = key_id, .plaintext = msg, .plaintext_len = msglen};
    json_t *p = json_object();
    if (call(s, &r, p, p && put_str(p, "MacAlgorithm", algorithm), res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_mac(s, key_id, msg, msglen, algorithm, NULL, 0, res, err);
}

int p11kms_client_kms_verify_mac(const p11kms_client_kms *s, const char *key_id,
                                 const unsigned char *msg, size_t msglen, const char *algorithm,
                                 const unsigned char *mac, size_t maclen,
                                 p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {.op = "VerifyMac",
                                   .key_id = key_id,
                                   .plaintext = msg,
                                   .plaintext_len = msglen,
                                   .signature = mac,
                                   .signature_len = maclen};
    json_t *p = json_object();
    if (call(s, &r, p, p && put_str(p, "MacAlgorithm", algorithm), res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_mac(s, key_id, msg, msglen, algorithm, mac, maclen, res, err);
}

int p11kms_client_kms_get_public_key(const p11kms_client_kms *s, const char *key_id,
                                     p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    if (p11kms_client_kms_simple(s, "GetPublicKey", key_id, NULL, res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_public_key(s, key_id, res, err);
}

/* GenerateRandom: the operation when the module has it, else C_GenerateRandom. */
int p11kms_client_kms_generate_random(const p11kms_client_kms *s, unsigned nbytes,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_RV rv;
    if (nbytes < 1 || nbytes > 1024)
        return p11kms_client_kms_fail(err, "ValidationException", CKR_ARGUMENTS_BAD,
                                      "NumberOfBytes must be 1..1024");
    if (p11kms_client_kms_simple(s, "GenerateRandom", NULL,
                                 json_pack("{s:i}", "NumberOfBytes", (int)nbytes), res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    memset(res, 0, sizeof(*res));
    res->json = json_object();
    res->plaintext = OPENSSL_zalloc(nbytes);
    res->plaintext_len = nbytes;
    if (res->json == NULL || res->plaintext == NULL) {
        p11kms_client_kms_result_clear(res);
        return nomem(err, "GenerateRandom");
    }
    rv = f->C_GenerateRandom(s->session, res->plaintext, nbytes);
    if (rv != CKR_OK) {
        p11kms_client_kms_result_clear(res);
        return p11kms_client_kms_fail_op(err, "GenerateRandom", NULL, "", rv);
    }
    return 1;
}

int p11kms_client_kms_blob_key(const unsigned char *blob, size_t len, char key_id[37],
                               uint32_t *version, p11kms_client_kms_error *err)
{
    p11kms_kms_envelope env;
    p11kms_kms_envelope_rc rc = p11kms_kms_envelope_parse(blob, len, &env);
    if (rc != P11KMS_KMS_ENVELOPE_OK)
        return p11kms_client_kms_fail(err, "InvalidCiphertextException", 0,
                                      "not a p11kms ciphertext blob: %s",
                                      p11kms_kms_envelope_strerror(rc));
    memcpy(key_id, env.key_id, 37);
    if (version != NULL)
        *version = env.key_version;
    return 1;
}
