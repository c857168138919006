/* kms/datakey.c — GenerateDataKey and GenerateDataKeyWithoutPlaintext: a
 * fresh random data key (AES_128, AES_256 or 1-1024 bytes) returned
 * envelope-encrypted under the CMK, and in plaintext only when asked. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "kms/kms-internal.h"

static p11kms_kms_rc data_key_len(kms_call *c, p11kms_kms_data_key_spec spec, unsigned n,
                                  size_t *len)
{
    if (spec == P11KMS_KMS_DATA_KEY_AES_128 && n == 0)
        *len = 16;
    else if (spec == P11KMS_KMS_DATA_KEY_AES_256 && n == 0)
        *len = 32;
    else if (spec == P11KMS_KMS_DATA_KEY_NONE && n >= 1 && n <= 1024)
        *len = n;
    else
        return kms_fail(c, P11KMS_KMS_VALIDATION,
                        "give exactly one of KeySpec (AES_128, AES_256) or NumberOfBytes "
                        "(1-1024)");
    return P11KMS_KMS_OK;
}

static void request_json(kms_call *c, p11kms_kms_data_key_spec spec, unsigned n,
                         const p11kms_kms_context *ctx)
{
    if (spec != P11KMS_KMS_DATA_KEY_NONE)
        json_object_set_new(
            c->request, "keySpec",
            json_string(spec == P11KMS_KMS_DATA_KEY_AES_128 ? "AES_128" : "AES_256"));
    else
        json_object_set_new(c->request, "numberOfBytes", json_integer(n));
    kms_json_context(c->request, "encryptionContext", ctx);
}

p11kms_kms_rc p11kms_kms_generate_data_key(p11kms_kms *kms, const p11kms_caller *caller,
                                           p11kms_kms_key *key, const char *key_ref,
                                           p11kms_kms_data_key_spec spec, unsigned number_of_bytes,
                                           const p11kms_kms_context *ctx,
                                           p11kms_kms_bytes *plaintext,
                                           p11kms_kms_bytes *ciphertext)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_bytes dk = {NULL, 0};
    size_t len = 0;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller,
                   plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext",
                   plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext", 0, 0);
    kms_call_out(&c, ciphertext);
    kms_call_out(&c, plaintext);
    request_json(&c, spec, number_of_bytes, ctx);
    rc = kms_data_begin(&c, key, key_ref);
    memset(&req, 0, sizeof(req));
    req.encryption_algorithm = "SYMMETRIC_DEFAULT";
    req.request_alias = key_ref && strncmp(key_ref, "alias/", 6) == 0 ? key_ref : NULL;
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(&c, ctx, &req, P11KMS_KMS_USAGE_ENCRYPT_DECRYPT, 0);
    if (rc == P11KMS_KMS_OK && (ciphertext == NULL || !kms_spec_is_symmetric(c.key->spec)))
        rc = kms_fail(&c, P11KMS_KMS_INVALID_KEY_USAGE, "data keys need a symmetric key");
    if (rc == P11KMS_KMS_OK)
        rc = data_key_len(&c, spec, number_of_bytes, &len);
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(&dk, len);
    if (rc == P11KMS_KMS_OK && !p11kms_crypto_random(dk.data, len))
        rc = kms_fail(&c, P11KMS_KMS_INTERNAL, "random generator failed");
    if (rc == P11KMS_KMS_OK)
        rc = kms_envelope_encrypt(&c, dk.data, dk.len, ctx, ciphertext);
    if (rc == P11KMS_KMS_OK && plaintext != NULL) {
        *plaintext = dk;
        dk.data = NULL;
        dk.len = 0;
    }
    p11kms_kms_bytes_clear(&dk);
    return kms_call_end(&c, rc);
}
