/* kms/envelope-seal.c — per-message key derivation, AES-256-GCM and the
 * context commitment for envelope blobs (format in kms/envelope.c).
 *
 * OKM = HKDF-SHA256(salt = blob salt, ikm = version material,
 *                   info = "p11kms envelope v1" || header[0..46), L = 64)
 * K_enc = OKM[0..32), K_ctx = OKM[32..64)
 * commitment = HMAC-SHA256(K_ctx, canonical context)[0..16)
 * ciphertext || tag = AES-256-GCM(K_enc, IV, AAD = header || canonical context)
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "common/crypto.h"
#include "kms/envelope-seal.h"

#define K_LEN 32

/* Derives OKM for a header whose first 46 bytes are already written. */
static int derive(const uint8_t *material, size_t material_len, const uint8_t *header,
                  const uint8_t *salt, uint8_t okm[P11KMS_KMS_ENVELOPE_OKM_LEN])
{
    uint8_t info[P11KMS_KMS_ENVELOPE_KDF_INFO_LEN];

    p11kms_kms_envelope_kdf_info(header, info);
    return p11kms_crypto_hkdf_sha256(salt, P11KMS_KMS_ENVELOPE_SALT_LEN, material, material_len,
                                     info, sizeof(info), okm, P11KMS_KMS_ENVELOPE_OKM_LEN);
}

static int commitment(const uint8_t *k_ctx, const uint8_t *ctx_enc, size_t ctx_len,
                      uint8_t out[P11KMS_KMS_ENVELOPE_COMMIT_LEN])
{
    uint8_t mac[32];
    size_t mac_len = sizeof(mac);
    int ok = p11kms_crypto_hmac(P11KMS_MD_SHA256, k_ctx, K_LEN, ctx_enc, ctx_len, mac, &mac_len);

    if (ok)
        memcpy(out, mac, P11KMS_KMS_ENVELOPE_COMMIT_LEN);
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* Seals pt into out once header[0..106) minus the commitment is known. */
static p11kms_kms_seal_rc seal_body(const uint8_t okm[P11KMS_KMS_ENVELOPE_OKM_LEN],
                                    const uint8_t *ctx_enc, size_t ctx_len, const uint8_t *pt,
                                    size_t pt_len, uint8_t *out)
{
    const uint8_t *iv = out + 78;
    uint8_t *aad = NULL;
    size_t aad_len = P11KMS_KMS_ENVELOPE_HEADER_LEN + ctx_len;
    p11kms_kms_seal_rc rc = P11KMS_KMS_SEAL_ERR_CRYPTO;

    aad = OPENSSL_malloc(aad_len);
    if (aad == NULL)
        goto done;
    memcpy(aad, out, P11KMS_KMS_ENVELOPE_HEADER_LEN);
    memcpy(aad + P11KMS_KMS_ENVELOPE_HEADER_LEN, ctx_enc, ctx_len);
    if (!p11kms_crypto_aes_gcm_seal(okm, K_LEN, iv, P11KMS_KMS_ENVELOPE_IV_LEN, aad, aad_len, pt,
                                    pt_len, out + P11KMS_KMS_ENVELOPE_HEADER_LEN,
                                    out + P11KMS_KMS_ENVELOPE_HEADER_LEN + pt_len,
                                    P11KMS_KMS_ENVELOPE_TAG_LEN))
        goto done;
    rc = P11KMS_KMS_SEAL_OK;
done:
    OPENSSL_free(aad);
    return rc;
}

p11kms_kms_seal_rc p11kms_kms_envelope_seal(const uint8_t *material, size_t material_len,
                                            const char *key_id, uint32_t key_version,
                                            const uint8_t salt[P11KMS_KMS_ENVELOPE_SALT_LEN],
                                            const uint8_t iv[P11KMS_KMS_ENVELOPE_IV_LEN],
                                            const uint8_t *ctx_enc, size_t ctx_len,
                                            const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    uint8_t okm[P11KMS_KMS_ENVELOPE_OKM_LEN];
    uint8_t commit[P11KMS_KMS_ENVELOPE_COMMIT_LEN] = {0};
    p11kms_kms_seal_rc rc = P11KMS_KMS_SEAL_ERR_ARG;

    if (material == NULL || material_len != K_LEN || out == NULL || ctx_enc == NULL ||
        p11kms_kms_envelope_write_header(out, key_id, key_version, salt, iv, commit, pt_len) !=
            P11KMS_KMS_ENVELOPE_OK)
        goto done;
    rc = P11KMS_KMS_SEAL_ERR_CRYPTO;
    if (!derive(material, material_len, out, salt, okm) ||
        !commitment(okm + K_LEN, ctx_enc, ctx_len, commit))
        goto done;
    memcpy(out + 90, commit, sizeof(commit));
    rc = seal_body(okm, ctx_enc, ctx_len, pt, pt_len, out);
done:
    OPENSSL_cleanse(okm, sizeof(okm));
    return rc;
}

static p11kms_kms_seal_rc open_body(const uint8_t okm[P11KMS_KMS_ENVELOPE_OKM_LEN],
                                    const p11kms_kms_envelope *env, const uint8_t *ctx_enc,
                                    size_t ctx_len, uint8_t *out)
{
    uint8_t *aad = NULL;
    size_t aad_len = P11KMS_KMS_ENVELOPE_HEADER_LEN + ctx_len;
    p11kms_kms_seal_rc rc = P11KMS_KMS_SEAL_ERR_CRYPTO;

    aad = OPENSSL_malloc(aad_len);
    if (aad == NULL)
        goto done;
    memcpy(aad, env->header, P11KMS_KMS_ENVELOPE_HEADER_LEN);
    memcpy(aad + P11KMS_KMS_ENVELOPE_HEADER_LEN, ctx_enc, ctx_len);
    rc = P11KMS_KMS_SEAL_ERR_AUTH;
    if (!p11kms_crypto_aes_gcm_open(okm, K_LEN, env->iv, P11KMS_KMS_ENVELOPE_IV_LEN, aad, aad_len,
                                    env->ciphertext, env->ciphertext_len, env->tag,
                                    P11KMS_KMS_ENVELOPE_TAG_LEN, out))
        goto done;
    rc = P11KMS_KMS_SEAL_OK;
done:
    OPENSSL_free(aad);
    return rc;
}

p11kms_kms_seal_rc p11kms_kms_envelope_open(const uint8_t *material, size_t material_len,
                                            const p11kms_kms_envelope *env, const uint8_t *ctx_enc,
                                            size_t ctx_len, uint8_t *out)
{
    uint8_t okm[P11KMS_KMS_ENVELOPE_OKM_LEN];
    uint8_t commit[P11KMS_KMS_ENVELOPE_COMMIT_LEN];
    p11kms_kms_seal_rc rc = P11KMS_KMS_SEAL_ERR_ARG;

    if (material == NULL || material_len != K_LEN || env == NULL || ctx_enc == NULL || out == NULL)
        goto done;
    rc = P11KMS_KMS_SEAL_ERR_CRYPTO;
    if (!derive(material, material_len, env->header, env->salt, okm) ||
        !commitment(okm + K_LEN, ctx_enc, ctx_len, commit))
        goto done;
    rc = P11KMS_KMS_SEAL_ERR_CONTEXT_MISMATCH;
    if (!p11kms_crypto_memeq(commit, env->commitment, sizeof(commit)))
        goto done;
    rc = open_body(okm, env, ctx_enc, ctx_len, out);
done:
    OPENSSL_cleanse(okm, sizeof(okm));
    if (rc != P11KMS_KMS_SEAL_OK && out != NULL && env != NULL)
        OPENSSL_cleanse(out, env->ciphertext_len);
    return rc;
}
