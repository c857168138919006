/* kms/raw.c — the raw symmetric routes PKCS#11 mechanisms need on a CMK
 * version: AES-256-GCM with the caller's IV and AAD, AES-256-CBC-PAD, and
 * the RFC 5649 key wrap with padding.  The current version encrypts; any
 * version decrypts.  Audited as Encrypt/Decrypt with EncryptionAlgorithm
 * P11KMS_AES_*, so a key policy can forbid the raw route; a GCM AAD in the
 * canonical encryption-context form is shown to policies as the context, so
 * kms:EncryptionContext conditions cannot be bypassed this way.  IV
 * uniqueness is the caller's responsibility here (the envelope route picks
 * its own). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kms/kms-internal.h"

/* Context view of a canonical AAD: NUL-terminated copies of the spans. */
typedef struct aad_ctx {
    p11kms_kms_ec_pair pairs[P11KMS_KMS_CONTEXT_MAX_PAIRS];
    p11kms_kms_context ctx;
    char *strings;
} aad_ctx;

static void aad_ctx_init(aad_ctx *a, const uint8_t *aad, size_t len)
{
    p11kms_kms_ec_span sp[P11KMS_KMS_CONTEXT_MAX_PAIRS];
    size_t n = 0;
    char *p;

    memset(a, 0, sizeof(*a));
    if (aad == NULL ||
        p11kms_kms_context_decode(aad, len, sp, P11KMS_KMS_CONTEXT_MAX_PAIRS, &n) !=
            P11KMS_KMS_ENVELOPE_OK ||
        n == 0)
        return;
    a->strings = p = malloc(len + 2 * n);
    if (p == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, sp[i].key, sp[i].key_len);
        p[sp[i].key_len] = '\0';
        a->pairs[i].key = p;
        p += sp[i].key_len + 1;
        memcpy(p, sp[i].value, sp[i].value_len);
        p[sp[i].value_len] = '\0';
        a->pairs[i].value = p;
        p += sp[i].value_len + 1;
    }
    a->ctx.pairs = a->pairs;
    a->ctx.n = n;
}

static p11kms_kms_rc check_params(kms_call *c, const p11kms_kms_raw_params *p)
{
    size_t tag = p->tag_len ? p->tag_len : 16;

    switch (p->alg) {
    case P11KMS_KMS_ENC_P11KMS_AES_GCM:
        if (p->iv == NULL || p->iv_len < 1 || p->iv_len > 128 || tag < 12 || tag > 16)
            return kms_fail(c, P11KMS_KMS_VALIDATION,
                            "GCM needs an IV of 1-128 bytes and "
                            "a tag of 12-16 bytes");
        return P11KMS_KMS_OK;
    case P11KMS_KMS_ENC_P11KMS_AES_CBC_PAD:
        if (p->iv == NULL || p->iv_len != 16)
            return kms_fail(c, P11KMS_KMS_VALIDATION, "CBC needs a 16-byte IV");
        return P11KMS_KMS_OK;
    case P11KMS_KMS_ENC_P11KMS_AES_KWP:
        return P11KMS_KMS_OK;
    default:
        return kms_fail(c, P11KMS_KMS_VALIDATION, "not a raw symmetric algorithm");
    }
}

static p11kms_kms_rc raw_begin(kms_call *c, p11kms_kms_key *key, const char *key_ref,
                               const p11kms_kms_raw_params *p, int decrypt, kms_version **v)
{
    p11kms_policy_request req;
    aad_ctx actx;
    p11kms_kms_rc rc =
        p ? kms_data_begin(c, key, key_ref) : kms_fail(c, P11KMS_KMS_VALIDATION, "no parameters");

    if (rc == P11KMS_KMS_OK) {
        json_object_set_new(c->request, "encryptionAlgorithm",
                            json_string(p11kms_kms_enc_alg_name(p->alg)));
        rc = check_params(c, p);
    }
    if (rc != P11KMS_KMS_OK)
        return rc;
    aad_ctx_init(&actx, p->alg == P11KMS_KMS_ENC_P11KMS_AES_GCM ? p->aad : NULL, p->aad_len);
    kms_json_context(c->request, "encryptionContext", &actx.ctx);
    memset(&req, 0, sizeof(req));
    req.encryption_algorithm = p11kms_kms_enc_alg_name(p->alg);
    rc = kms_data_authorize(c, &actx.ctx, &req, P11KMS_KMS_USAGE_ENCRYPT_DECRYPT, 0);
    free(actx.strings);
    if (rc == P11KMS_KMS_OK && !kms_spec_is_symmetric(c->key->spec))
        rc = kms_fail(c, P11KMS_KMS_INVALID_KEY_USAGE, "raw AES needs a symmetric key");
    if (rc == P11KMS_KMS_OK && !decrypt && p->version != 0 &&
        p->version != c->key->row.current_version)
        rc = kms_fail(c, P11KMS_KMS_INVALID_KEY_USAGE, "old key versions only decrypt");
    if (rc == P11KMS_KMS_OK && !decrypt && p->version == 0)
        rc = kms_rotate_if_due(c->kms, c->key);
    if (rc == P11KMS_KMS_OK && kms_version_get(c->key, p->version, v) != P11KMS_KMS_OK)
        rc = kms_fail(c, P11KMS_KMS_NOT_FOUND, "no such key version");
    if (rc == P11KMS_KMS_OK)
        c->key_version = (*v)->version;
    return rc;
}

static int do_encrypt(const kms_version *v, const p11kms_kms_raw_params *p, const uint8_t *in,
                      size_t len, p11kms_kms_bytes *out)
{
    size_t tag = p->tag_len ? p->tag_len : 16;

    switch (p->alg) {
    case P11KMS_KMS_ENC_P11KMS_AES_GCM:
        return p11kms_crypto_aes_gcm_seal(v->material, v->material_len, p->iv, p->iv_len, p->aad,
                                          p->aad_len, in, len, out->data, out->data + len, tag);
    case P11KMS_KMS_ENC_P11KMS_AES_CBC_PAD:
        return p11kms_crypto_aes_cbc_encrypt(v->material, v->material_len, p->iv, 1, in, len,
                                             out->data, &out->len);
    default:
        return p11kms_crypto_aes_wrap_pad(v->material, v->material_len, in, len, out->data,
                                          &out->len);
    }
}

static int do_decrypt(const kms_version *v, const p11kms_kms_raw_params *p, const uint8_t *in,
                      size_t len, p11kms_kms_bytes *out)
{
    size_t tag = p->tag_len ? p->tag_len : 16;

    switch (p->alg) {
    case P11KMS_KMS_ENC_P11KMS_AES_GCM:
        if (len < tag)
            return 0;
        out->len = len - tag;
        return p11kms_crypto_aes_gcm_open(v->material, v->material_len, p->iv, p->iv_len, p->aad,
                                          p->aad_len, in, len - tag, in + len - tag, tag,
                                          out->data);
    case P11KMS_KMS_ENC_P11KMS_AES_CBC_PAD:
        return p11kms_crypto_aes_cbc_decrypt(v->material, v->material_len, p->iv, 1, in, len,
                                             out->data, &out->len);
    default:
        return p11kms_crypto_aes_unwrap_pad(v->material, v->material_len, in, len, out->data,
                                            &out->len);
    }
}

p11kms_kms_rc p11kms_kms_raw_encrypt(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref,
                                     const p11kms_kms_raw_params *p, const uint8_t *in,
                                     size_t in_len, p11kms_kms_bytes *out)
{
    kms_call c;
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Encrypt", "kms:Encrypt", 0, 0);
    kms_call_out(&c, out);
    rc = out ? raw_begin(&c, key, key_ref, p, 0, &v)
             : kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK && (in_len > (1u << 30) || (in == NULL && in_len > 0) ||
                                (p->alg == P11KMS_KMS_ENC_P11KMS_AES_KWP && in_len == 0)))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "bad input length");
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(out, in_len + 16);
    if (rc == P11KMS_KMS_OK && !do_encrypt(v, p, in, in_len, out))
        rc = kms_fail(&c, P11KMS_KMS_INTERNAL, "encryption failed");
    if (rc == P11KMS_KMS_OK && p->alg == P11KMS_KMS_ENC_P11KMS_AES_GCM)
        out->len = in_len + (p->tag_len ? p->tag_len : 16);
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_raw_decrypt(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref,
                                     const p11kms_kms_raw_params *p, const uint8_t *in,
                                     size_t in_len, p11kms_kms_bytes *out)
{
    kms_call c;
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Decrypt", "kms:Decrypt", 0, 0);
    kms_call_out(&c, out);
    rc = out ? raw_begin(&c, key, key_ref, p, 1, &v)
             : kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK && (in == NULL || in_len == 0 || in_len > (1u << 30)))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "bad input length");
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(out, in_len);
    if (rc == P11KMS_KMS_OK && !do_decrypt(v, p, in, in_len, out))
        rc = kms_fail(&c, P11KMS_KMS_INVALID_CIPHERTEXT, "authentication or padding failed");
    return kms_call_end(&c, rc);
}
