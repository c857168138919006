/* kms/envelope-seal.h — the cryptography of envelope blobs (engine side).
 *
 * kms/envelope.c is the format; this is the crypto, through common/crypto.h
 * (private OpenSSL library context): per-message keys from HKDF-SHA256,
 * AES-256-GCM, and the HMAC-SHA256 context commitment that lets Decrypt
 * tell "wrong encryption context" from "tampered blob".  Deterministic given
 * salt and IV, so the documented test vector can be checked.
 */
#ifndef P11KMS_KMS_ENVELOPE_SEAL_H
#define P11KMS_KMS_ENVELOPE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "kms/envelope.h"

typedef enum p11kms_kms_seal_rc {
    P11KMS_KMS_SEAL_OK = 0,
    P11KMS_KMS_SEAL_ERR_ARG,              /* bad sizes / header fields */
    P11KMS_KMS_SEAL_ERR_CRYPTO,           /* OpenSSL failure */
    P11KMS_KMS_SEAL_ERR_CONTEXT_MISMATCH, /* commitment differs: wrong context */
    P11KMS_KMS_SEAL_ERR_AUTH,             /* GCM tag failed: tampered */
} p11kms_kms_seal_rc;

/* Writes the whole blob (p11kms_kms_envelope_blob_len(pt_len) bytes) to out.
 * material: the key version's 32-byte AES key; ctx_enc: canonical context. */
p11kms_kms_seal_rc p11kms_kms_envelope_seal(const uint8_t *material, size_t material_len,
                                            const char *key_id, uint32_t key_version,
                                            const uint8_t salt[P11KMS_KMS_ENVELOPE_SALT_LEN],
                                            const uint8_t iv[P11KMS_KMS_ENVELOPE_IV_LEN],
                                            const uint8_t *ctx_enc, size_t ctx_len,
                                            const uint8_t *pt, size_t pt_len, uint8_t *out);

/* Opens a parsed blob into out (env->ciphertext_len bytes); out is wiped on
 * failure. */
p11kms_kms_seal_rc p11kms_kms_envelope_open(const uint8_t *material, size_t material_len,
                                            const p11kms_kms_envelope *env, const uint8_t *ctx_enc,
                                            size_t ctx_len, uint8_t *out);

#endif /* P11KMS_KMS_ENVELOPE_SEAL_H */
