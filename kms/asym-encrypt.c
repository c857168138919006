/* kms/asym-encrypt.c — RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256 on RSA
 * ENCRYPT_DECRYPT keys, with KMS's plaintext limits per key size.  There is
 * no PKCS#1 v1.5 decryption anywhere (a padding oracle). */
#include "config.h"

#include "kms/kms-internal.h"

static p11kms_md oaep_md(p11kms_kms_enc_alg alg)
{
    return alg == P11KMS_KMS_ENC_RSAES_OAEP_SHA_1 ? P11KMS_MD_SHA1 : P11KMS_MD_SHA256;
}

static size_t modulus_len(p11kms_kms_key_spec spec)
{
    return p11kms_kms_sign_max_len(spec);
}

p11kms_kms_rc kms_oaep_encrypt(kms_call *c, const uint8_t *pt, size_t pt_len,
                               p11kms_kms_enc_alg alg, p11kms_kms_bytes *out)
{
    size_t max = p11kms_kms_oaep_max_plaintext(c->key->spec, alg);
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    if (pt == NULL || pt_len == 0 || pt_len > max)
        return kms_fail(c, P11KMS_KMS_VALIDATION,
                        "Plaintext is empty or longer than the OAEP limit of this key");
    rc = kms_version_get(c->key, 0, &v);
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(out, modulus_len(c->key->spec));
    if (rc == P11KMS_KMS_OK &&
        !p11kms_crypto_rsa_oaep_encrypt(v->pkey, oaep_md(alg), P11KMS_MD_NONE, NULL, 0, pt, pt_len,
                                        out->data, &out->len))
        rc = kms_fail(c, P11KMS_KMS_INTERNAL, "RSA-OAEP encryption failed");
    if (rc == P11KMS_KMS_OK)
        c->key_version = v->version;
    return rc;
}

p11kms_kms_rc kms_oaep_decrypt(kms_call *c, const uint8_t *ct, size_t ct_len,
                               p11kms_kms_enc_alg alg, p11kms_kms_bytes *out)
{
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    if (ct == NULL || ct_len != modulus_len(c->key->spec))
        return kms_fail(c, P11KMS_KMS_INVALID_CIPHERTEXT,
                        "ciphertext length does not match the key size");
    rc = kms_version_get(c->key, 0, &v);
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(out, ct_len);
    if (rc == P11KMS_KMS_OK &&
        !p11kms_crypto_rsa_oaep_decrypt(v->pkey, oaep_md(alg), P11KMS_MD_NONE, NULL, 0, ct, ct_len,
                                        out->data, &out->len))
        rc = kms_fail(c, P11KMS_KMS_INVALID_CIPHERTEXT, "RSA-OAEP decryption failed");
    if (rc == P11KMS_KMS_OK)
        c->key_version = v->version;
    return rc;
}
