/* kms/encrypt.c — Encrypt, Decrypt and ReEncrypt.
 *
 * SYMMETRIC_DEFAULT makes and opens envelope blobs (kms/envelope.c format,
 * kms/envelope-seal.c crypto) under the key's current version (encrypt) or
 * the version the blob names (decrypt); RSAES_OAEP_* goes to
 * kms/asym-encrypt.c.  Malformed blobs, a blob of another key, tampering
 * and a wrong context are each their own error (docs/ciphertext-format.md).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "kms/envelope-seal.h"
#include "kms/kms-internal.h"

p11kms_kms_rc kms_data_begin(kms_call *c, p11kms_kms_key *h, const char *ref)
{
    p11kms_kms_rc rc = kms_require_user(c);

    if (rc == P11KMS_KMS_OK)
        rc = kms_key_resolve(c, h, ref);
    return rc;
}

p11kms_kms_rc kms_data_authorize(kms_call *c, const p11kms_kms_context *ctx,
                                 p11kms_policy_request *req, p11kms_kms_key_usage usage,
                                 int allow_pending)
{
    p11kms_policy_pair pairs[P11KMS_KMS_CONTEXT_MAX_PAIRS];
    size_t n = 0;
    p11kms_kms_rc rc;

    req->action = c->action;
    req->caller = c->caller;
    req->key_id = c->key->key_id;
    req->key_spec = c->key->row.key_spec;
    req->key_usage = c->key->row.key_usage;
    kms_context_pairs(ctx, pairs, &n);
    req->context = n ? pairs : NULL;
    req->ncontext = n;
    rc = kms_authorize(c, req);
    req->context = NULL;
    if (rc == P11KMS_KMS_OK)
        rc = kms_check_usable(c, c->key, allow_pending);
    if (rc == P11KMS_KMS_OK && c->key->usage != usage)
        rc = kms_fail(c, P11KMS_KMS_INVALID_KEY_USAGE,
                      "the key's KeyUsage does not allow this operation");
    return rc;
}

static p11kms_kms_rc context_encode(kms_call *c, const p11kms_kms_context *ctx, uint8_t **enc,
                                    size_t *len)
{
    p11kms_kms_envelope_rc erc;

    erc = p11kms_kms_context_encode(ctx ? ctx->pairs : NULL, ctx ? ctx->n : 0, enc, len);
    if (erc == P11KMS_KMS_ENVELOPE_ERR_NOMEM)
        return P11KMS_KMS_NOMEM;
    if (erc != P11KMS_KMS_ENVELOPE_OK)
        return kms_fail(c, P11KMS_KMS_VALIDATION,
                        "EncryptionContext is invalid (duplicate or empty key, bad UTF-8, "
                        "or too large)");
    return P11KMS_KMS_OK;
}

p11kms_kms_rc kms_envelope_encrypt(kms_call *c, const uint8_t *pt, size_t pt_len,
                                   const p11kms_kms_context *ctx, p11kms_kms_bytes *out)
{
    uint8_t salt_iv[P11KMS_KMS_ENVELOPE_SALT_LEN + P11KMS_KMS_ENVELOPE_IV_LEN];
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    if (pt == NULL || pt_len == 0 || pt_len > P11KMS_KMS_ENVELOPE_MAX_PLAINTEXT)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "Plaintext must be 1-4096 bytes");
    rc = context_encode(c, ctx, &enc, &enc_len);
    if (rc == P11KMS_KMS_OK)
        rc = kms_rotate_if_due(c->kms, c->key);
    if (rc == P11KMS_KMS_OK)
        rc = kms_version_get(c->key, 0, &v);
    if (rc == P11KMS_KMS_OK && !p11kms_crypto_random(salt_iv, sizeof(salt_iv)))
        rc = P11KMS_KMS_INTERNAL;
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(out, p11kms_kms_envelope_blob_len(pt_len));
    if (rc == P11KMS_KMS_OK &&
        p11kms_kms_envelope_seal(v->material, v->material_len, c->key->key_id, v->version, salt_iv,
                                 salt_iv + P11KMS_KMS_ENVELOPE_SALT_LEN, enc, enc_len, pt, pt_len,
                                 out->data) != P11KMS_KMS_SEAL_OK)
        rc = kms_fail(c, P11KMS_KMS_INTERNAL, "encryption failed");
    if (rc == P11KMS_KMS_OK)
        c->key_version = v->version;
    free(enc);
    return rc;
}

static p11kms_kms_rc parse_blob(kms_call *c, const uint8_t *ct, size_t ct_len,
                                p11kms_kms_envelope *env)
{
    p11kms_kms_envelope_rc erc = p11kms_kms_envelope_parse(ct, ct_len, env);

    if (erc == P11KMS_KMS_ENVELOPE_OK)
        return P11KMS_KMS_OK;
    return kms_fail(c, P11KMS_KMS_INVALID_CIPHERTEXT, p11kms_kms_envelope_strerror(erc));
}

/* The blob's key: the caller's (must match) or the one the blob names. */
static p11kms_kms_rc blob_key(kms_call *c, p11kms_kms_key *h, const char *ref,
                              const p11kms_kms_envelope *env)
{
    p11kms_kms_rc rc;

    if (h == NULL && ref == NULL)
        return kms_key_resolve(c, NULL, env->key_id);
    rc = kms_key_resolve(c, h, ref);
    if (rc == P11KMS_KMS_OK && strcmp(c->key->key_id, env->key_id) != 0)
        rc = kms_fail(c, P11KMS_KMS_INCORRECT_KEY, "the ciphertext was made under another key");
    return rc;
}

/* Opens env under its version of c->key into out (plaintext). */
static p11kms_kms_rc envelope_open(kms_call *c, const p11kms_kms_envelope *env,
                                   const p11kms_kms_context *ctx, p11kms_kms_bytes *out)
{
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    kms_version *v = NULL;
    p11kms_kms_seal_rc src;
    p11kms_kms_rc rc = context_encode(c, ctx, &enc, &enc_len);

    if (rc == P11KMS_KMS_OK && !kms_spec_is_symmetric(c->key->spec))
        rc = kms_fail(c, P11KMS_KMS_INCORRECT_KEY, "the blob needs a symmetric key");
    if (rc == P11KMS_KMS_OK && kms_version_get(c->key, env->key_version, &v) != P11KMS_KMS_OK)
        rc = kms_fail(c, P11KMS_KMS_INVALID_CIPHERTEXT, "unknown key version");
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(out, env->ciphertext_len);
    if (rc == P11KMS_KMS_OK) {
        src = p11kms_kms_envelope_open(v->material, v->material_len, env, enc, enc_len, out->data);
        if (src == P11KMS_KMS_SEAL_ERR_CONTEXT_MISMATCH)
            rc = kms_fail(c, P11KMS_KMS_INVALID_CIPHERTEXT, "encryption context mismatch");
        else if (src == P11KMS_KMS_SEAL_ERR_AUTH)
            rc = kms_fail(c, P11KMS_KMS_INVALID_CIPHERTEXT, "authentication failed");
        else if (src != P11KMS_KMS_SEAL_OK)
            rc = kms_fail(c, P11KMS_KMS_INTERNAL, "decryption failed");
    }
    if (rc == P11KMS_KMS_OK)
        c->key_version = env->key_version;
    else
        p11kms_kms_bytes_clear(out);
    free(enc);
    return rc;
}

static void enc_request(kms_call *c, const p11kms_kms_context *ctx, p11kms_kms_enc_alg alg)
{
    json_object_set_new(c->request, "encryptionAlgorithm",
                        json_string(p11kms_kms_enc_alg_name(alg)));
    kms_json_context(c->request, "encryptionContext", ctx);
}

static int is_oaep(p11kms_kms_enc_alg alg)
{
    return alg == P11KMS_KMS_ENC_RSAES_OAEP_SHA_1 || alg == P11KMS_KMS_ENC_RSAES_OAEP_SHA_256;
}

/* Algorithm fits the key (InvalidKeyUsage otherwise, as KMS). */
static p11kms_kms_rc alg_fits(kms_call *c, p11kms_kms_enc_alg alg, const p11kms_kms_context *ctx)
{
    if (alg == P11KMS_KMS_ENC_SYMMETRIC_DEFAULT && kms_spec_is_symmetric(c->key->spec))
        return P11KMS_KMS_OK;
    if (is_oaep(alg) && kms_spec_is_rsa(c->key->spec)) {
        if (ctx != NULL && ctx->n > 0)
            return kms_fail(c, P11KMS_KMS_VALIDATION,
                            "EncryptionContext is not supported with asymmetric keys");
        return P11KMS_KMS_OK;
    }
    if (alg != P11KMS_KMS_ENC_SYMMETRIC_DEFAULT && !is_oaep(alg))
        return kms_fail(c, P11KMS_KMS_VALIDATION, "unknown EncryptionAlgorithm");
    return kms_fail(c, P11KMS_KMS_INVALID_KEY_USAGE,
                    "the EncryptionAlgorithm is not valid for this key");
}

p11kms_kms_rc p11kms_kms_encrypt(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                                 const char *key_ref, const uint8_t *pt, size_t pt_len,
                                 const p11kms_kms_context *ctx, p11kms_kms_enc_alg alg,
                                 p11kms_kms_bytes *ciphertext, uint32_t *key_version_out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Encrypt", "kms:Encrypt", 0, 0);
    kms_call_out(&c, ciphertext);
    enc_request(&c, ctx, alg);
    rc = kms_data_begin(&c, key, key_ref);
    if (rc == P11KMS_KMS_OK && ciphertext == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    memset(&req, 0, sizeof(req));
    req.encryption_algorithm = p11kms_kms_enc_alg_name(alg);
    req.request_alias = key_ref && strncmp(key_ref, "alias/", 6) == 0 ? key_ref : NULL;
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(&c, ctx, &req, P11KMS_KMS_USAGE_ENCRYPT_DECRYPT, 0);
    if (rc == P11KMS_KMS_OK)
        rc = alg_fits(&c, alg, ctx);
    if (rc == P11KMS_KMS_OK)
        rc = is_oaep(alg) ? kms_oaep_encrypt(&c, pt, pt_len, alg, ciphertext)
                          : kms_envelope_encrypt(&c, pt, pt_len, ctx, ciphertext);
    if (rc == P11KMS_KMS_OK && key_version_out != NULL)
        *key_version_out = c.key_version;
    return kms_call_end(&c, rc);
}

static p11kms_kms_rc decrypt_envelope(kms_call *c, p11kms_kms_key *key, const char *key_ref,
                                      const uint8_t *ct, size_t ct_len,
                                      const p11kms_kms_context *ctx, p11kms_kms_bytes *pt)
{
    p11kms_kms_envelope env;
    p11kms_policy_request req;
    p11kms_kms_rc rc = parse_blob(c, ct, ct_len, &env);

    if (rc == P11KMS_KMS_OK)
        rc = blob_key(c, key, key_ref, &env);
    memset(&req, 0, sizeof(req));
    req.encryption_algorithm = "SYMMETRIC_DEFAULT";
    req.request_alias = key_ref && strncmp(key_ref, "alias/", 6) == 0 ? key_ref : NULL;
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(c, ctx, &req, P11KMS_KMS_USAGE_ENCRYPT_DECRYPT, 0);
    if (rc == P11KMS_KMS_OK)
        rc = envelope_open(c, &env, ctx, pt);
    return rc;
}

p11kms_kms_rc p11kms_kms_decrypt(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_key *key,
                                 const char *key_ref, const uint8_t *ct, size_t ct_len,
                                 const p11kms_kms_context *ctx, p11kms_kms_enc_alg alg,
                                 p11kms_kms_bytes *plaintext, char *key_id_out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Decrypt", "kms:Decrypt", 0, 0);
    kms_call_out(&c, plaintext);
    enc_request(&c, ctx, alg);
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK && plaintext == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (!is_oaep(alg)) {
        rc = alg == P11KMS_KMS_ENC_SYMMETRIC_DEFAULT
                 ? decrypt_envelope(&c, key, key_ref, ct, ct_len, ctx, plaintext)
                 : kms_fail(&c, P11KMS_KMS_VALIDATION, "unknown EncryptionAlgorithm");
        goto done;
    }
    memset(&req, 0, sizeof(req));
    req.encryption_algorithm = p11kms_kms_enc_alg_name(alg);
    rc = kms_key_resolve(&c, key, key_ref);
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(&c, ctx, &req, P11KMS_KMS_USAGE_ENCRYPT_DECRYPT, 0);
    if (rc == P11KMS_KMS_OK)
        rc = alg_fits(&c, alg, ctx);
    if (rc == P11KMS_KMS_OK)
        rc = kms_oaep_decrypt(&c, ct, ct_len, alg, plaintext);
done:
    if (rc == P11KMS_KMS_OK && key_id_out != NULL)
        memcpy(key_id_out, c.key->key_id, 37);
    return kms_call_end(&c, rc);
}

/* ---- ReEncrypt ------------------------------------------------------------ */

/* Source half: authorised as kms:ReEncryptFrom; pending deletion allowed. */
static p11kms_kms_rc reencrypt_from(kms_call *c, const uint8_t *ct, size_t ct_len,
                                    const p11kms_kms_context *ctx, p11kms_kms_key *h,
                                    const char *ref, p11kms_kms_bytes *pt)
{
    p11kms_kms_envelope env;
    p11kms_policy_request req;
    p11kms_kms_rc rc = parse_blob(c, ct, ct_len, &env);

    if (rc == P11KMS_KMS_OK)
        rc = blob_key(c, h, ref, &env);
    memset(&req, 0, sizeof(req));
    req.encryption_algorithm = "SYMMETRIC_DEFAULT";
    c->action = "kms:ReEncryptFrom";
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(c, ctx, &req, P11KMS_KMS_USAGE_ENCRYPT_DECRYPT, 1);
    if (rc == P11KMS_KMS_OK)
        rc = envelope_open(c, &env, ctx, pt);
    if (rc == P11KMS_KMS_OK)
        json_object_set_new(c->request, "sourceKeyId", json_string(c->key->key_id));
    return rc;
}

static p11kms_kms_rc reencrypt_to(kms_call *c, const p11kms_kms_bytes *pt,
                                  const p11kms_kms_context *ctx, p11kms_kms_key *h, const char *ref,
                                  p11kms_kms_bytes *out)
{
    p11kms_policy_request req;
    p11kms_kms_rc rc = kms_key_resolve(c, h, ref);

    memset(&req, 0, sizeof(req));
    req.encryption_algorithm = "SYMMETRIC_DEFAULT";
    c->action = "kms:ReEncryptTo";
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(c, ctx, &req, P11KMS_KMS_USAGE_ENCRYPT_DECRYPT, 0);
    if (rc == P11KMS_KMS_OK)
        rc = alg_fits(c, P11KMS_KMS_ENC_SYMMETRIC_DEFAULT, ctx);
    if (rc == P11KMS_KMS_OK)
        rc = kms_envelope_encrypt(c, pt->data, pt->len, ctx, out);
    return rc;
}

p11kms_kms_rc p11kms_kms_re_encrypt(p11kms_kms *kms, const p11kms_caller *caller, const uint8_t *ct,
                                    size_t ct_len, const p11kms_kms_context *src_ctx,
                                    p11kms_kms_key *src_key, const char *src_ref,
                                    p11kms_kms_key *dst_key, const char *dst_ref,
                                    const p11kms_kms_context *dst_ctx, p11kms_kms_bytes *ciphertext)
{
    kms_call c;
    p11kms_kms_bytes pt = {NULL, 0};
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ReEncrypt", "kms:ReEncryptFrom", 0, 0);
    kms_call_out(&c, ciphertext);
    kms_json_context(c.request, "sourceEncryptionContext", src_ctx);
    kms_json_context(c.request, "destinationEncryptionContext", dst_ctx);
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK && (ciphertext == NULL || (dst_key == NULL && dst_ref == NULL)))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "DestinationKeyId is required");
    if (rc == P11KMS_KMS_OK)
        rc = reencrypt_from(&c, ct, ct_len, src_ctx, src_key, src_ref, &pt);
    if (rc == P11KMS_KMS_OK)
        rc = reencrypt_to(&c, &pt, dst_ctx, dst_key, dst_ref, ciphertext);
    if (rc == P11KMS_KMS_OK)
        json_object_set_new(c.request, "destinationKeyId", json_string(c.key->key_id));
    p11kms_kms_bytes_clear(&pt);
    return kms_call_end(&c, rc);
}
