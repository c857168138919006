/*
 * client/kms.h — the KMS API of libp11kms-client: every AWS-KMS-shaped
 * operation (Encrypt, Decrypt, ReEncrypt, GenerateDataKey, Sign, CreateKey,
 * DescribeKey, aliases, rotation, policies, grants, RunDue ...) as one C
 * call on an open PKCS#11 session of a p11kms module.
 *
 * Route (DESIGN.md, Layers): each call creates a CKO_P11KMS_OPERATION
 * object (include/p11kms/pkcs11.h) with the operation's name, its KeyId,
 * the other request parameters as JSON in KMS's names and the binary
 * inputs as separate attributes; the module executes it under policy and
 * audit; the results are read with C_GetAttributeValue and the object is
 * destroyed.  This crosses p11-kit 0.24's RPC, so the same calls work
 * in-process and through p11-kit-client.so.  Where a module does not know
 * an operation name, a few operations fall back to standard PKCS#11 calls
 * (CreateKey: C_GenerateKey(Pair) with vendor attributes; ListKeys,
 * ListAliases, GetKeyPolicy/PutKeyPolicy, GetKeyRotationStatus: object
 * attributes; GenerateRandom: C_GenerateRandom).
 *
 * Conventions:
 *  - every function returns 1 on success and 0 on failure with *err set:
 *    err->exception is the KMS exception name when the module reported a
 *    KMS outcome ("NotFoundException", "AccessDeniedException", ...), or ""
 *    for a local or PKCS#11 failure; err->err has one line for a person
 *    and the CK_RV.  err may be NULL.
 *  - results land in a p11kms_client_kms_result: `json` is the KMS
 *    response (an object with KMS field names, e.g. KeyId, KeyMetadata,
 *    KeyVersion); binary outputs are separate buffers (never inside
 *    `json`): the caller base64-encodes them for display.  Plaintext
 *    outputs are wiped when the result is cleared.
 *  - encryption contexts are jansson objects whose values are strings
 *    (NULL = empty context); they are borrowed, never stolen.
 *  - key_id is anything KMS accepts as KeyId: a key id or "alias/NAME".
 *  - a session is not thread-safe (PKCS#11 rule); it must be logged in as
 *    user (p11kms_client_login) for every operation.
 */
#ifndef P11KMS_CLIENT_KMS_H
#define P11KMS_CLIENT_KMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <p11-kit/pkcs11.h>

#include "client/error.h"
#include "client/module.h"

/* An open (read-write, logged-in) session of a loaded module. */
typedef struct p11kms_client_kms {
    p11kms_client_module *mod;
    CK_SESSION_HANDLE session;
} p11kms_client_kms;

typedef struct p11kms_client_kms_error {
    char exception[64];    /* KMS exception name, "" when none applies */
    p11kms_client_err err; /* message (one line) and CK_RV */
} p11kms_client_kms_error;

/* Message of e ("NotFoundException: ..." style is the caller's choice). */
const char *p11kms_client_kms_error_msg(const p11kms_client_kms_error *e);

/* The KMS exception name for a CK_RV (vendor and standard), "" if none fits. */
const char *p11kms_client_kms_exception_of_rv(unsigned long rv);

typedef struct p11kms_client_kms_result {
    json_t *json;             /* response elements, an object (never NULL on success) */
    unsigned char *plaintext; /* Plaintext (Decrypt, GenerateDataKey, GenerateRandom) */
    size_t plaintext_len;
    unsigned char *ciphertext; /* CiphertextBlob */
    size_t ciphertext_len;
    unsigned char *signature; /* Signature or Mac */
    size_t signature_len;
} p11kms_client_kms_result;

/* Release a result (plaintext wiped); safe on a zeroed or cleared result. */
void p11kms_client_kms_result_clear(p11kms_client_kms_result *r);

/* ---- the generic call: any operation the module knows ------------------ */

typedef struct p11kms_client_kms_request {
    const char *op;                 /* KMS API name: "Encrypt", "ListGrants", ... */
    const char *key_id;             /* KeyId or NULL */
    json_t *params;                 /* other request parameters (object) or NULL; borrowed */
    const unsigned char *plaintext; /* Plaintext / Message input or NULL */
    size_t plaintext_len;
    const unsigned char *ciphertext; /* CiphertextBlob input or NULL */
    size_t ciphertext_len;
    const unsigned char *signature; /* Signature / Mac input or NULL */
    size_t signature_len;
} p11kms_client_kms_request;

/*
 * Execute req through a CKO_P11KMS_OPERATION object.  A module that does
 * not know req->op fails with exception "UnsupportedOperationException".
 */
int p11kms_client_kms_call(const p11kms_client_kms *s, const p11kms_client_kms_request *req,
                           p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* ---- data plane --------------------------------------------------------- */

/* Encrypt: res->ciphertext, json {KeyId, KeyVersion, EncryptionAlgorithm}. */
int p11kms_client_kms_encrypt(const p11kms_client_kms *s, const char *key_id,
                              const unsigned char *pt, size_t ptlen, json_t *context,
                              p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* Decrypt: key_id may be NULL (the blob names its key); res->plaintext. */
int p11kms_client_kms_decrypt(const p11kms_client_kms *s, const char *key_id,
                              const unsigned char *ct, size_t ctlen, json_t *context,
                              p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* ReEncrypt under dest_key_id; source key from the blob (or src_key_id). */
int p11kms_client_kms_re_encrypt(const p11kms_client_kms *s, const unsigned char *ct, size_t ctlen,
                                 const char *src_key_id, json_t *src_context,
                                 const char *dest_key_id, json_t *dest_context,
                                 p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/*
 * GenerateDataKey: key_spec "AES_256"/"AES_128", or NULL with nbytes 1..1024.
 * res->plaintext (the data key) and res->ciphertext.
 */
int p11kms_client_kms_generate_data_key(const p11kms_client_kms *s, const char *key_id,
                                        const char *key_spec, unsigned nbytes, json_t *context,
                                        p11kms_client_kms_result *res,
                                        p11kms_client_kms_error *err);

/* GenerateDataKeyWithoutPlaintext: only res->ciphertext. */
int p11kms_client_kms_generate_data_key_without_plaintext(const p11kms_client_kms *s,
                                                          const char *key_id, const char *key_spec,
                                                          unsigned nbytes, json_t *context,
                                                          p11kms_client_kms_result *res,
                                                          p11kms_client_kms_error *err);

/*
 * Sign: message_type "RAW" or "DIGEST" (NULL = RAW); algorithm a KMS
 * SigningAlgorithm ("ECDSA_SHA_256", "RSASSA_PSS_SHA_256", ...).
 * res->signature (DER for ECDSA, as KMS).
 */
int p11kms_client_kms_sign(const p11kms_client_kms *s, const char *key_id, const unsigned char *msg,
                           size_t msglen, const char *message_type, const char *algorithm,
                           p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* Verify: success with json {SignatureValid: true}; an invalid signature
 * fails with exception "KMSInvalidSignatureException". */
int p11kms_client_kms_verify(const p11kms_client_kms *s, const char *key_id,
                             const unsigned char *msg, size_t msglen, const char *message_type,
                             const char *algorithm, const unsigned char *sig, size_t siglen,
                             p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* GenerateMac (algorithm "HMAC_SHA_256" ...): res->signature holds the Mac. */
int p11kms_client_kms_generate_mac(const p11kms_client_kms *s, const char *key_id,
                                   const unsigned char *msg, size_t msglen, const char *algorithm,
                                   p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* VerifyMac: an invalid MAC fails with exception "KMSInvalidMacException". */
int p11kms_client_kms_verify_mac(const p11kms_client_kms *s, const char *key_id,
                                 const unsigned char *msg, size_t msglen, const char *algorithm,
                                 const unsigned char *mac, size_t maclen,
                                 p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* GetPublicKey: json {KeyId, KeySpec, KeyUsage, ...}, res->signature unused,
 * res->ciphertext unused; the DER SubjectPublicKeyInfo is res->plaintext. */
int p11kms_client_kms_get_public_key(const p11kms_client_kms *s, const char *key_id,
                                     p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* GenerateRandom: nbytes 1..1024 into res->plaintext. */
int p11kms_client_kms_generate_random(const p11kms_client_kms *s, unsigned nbytes,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* ---- keys --------------------------------------------------------------- */

typedef struct p11kms_client_kms_create {
    const char *key_spec;    /* NULL = "SYMMETRIC_DEFAULT" */
    const char *key_usage;   /* NULL = the spec's default (KMS rules) */
    const char *description; /* NULL = none */
    const char *policy;      /* key policy JSON text, NULL = default policy */
    const char *alias;       /* "alias/NAME" created with the key, or NULL */
    int bypass_policy_lockout_check;
} p11kms_client_kms_create;

/* CreateKey: json {KeyMetadata: {...}} as DescribeKey returns it. */
int p11kms_client_kms_create_key(const p11kms_client_kms *s, const p11kms_client_kms_create *c,
                                 p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* DescribeKey: json {KeyMetadata: {...}}. */
int p11kms_client_kms_describe_key(const p11kms_client_kms *s, const char *key_id,
                                   p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* ListKeys: json {Keys: [{KeyId}], Truncated, NextMarker?}; limit 0 = all. */
int p11kms_client_kms_list_keys(const p11kms_client_kms *s, unsigned limit, const char *marker,
                                p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* ListAliases: json {Aliases: [{AliasName, TargetKeyId}], Truncated}; key_id may be NULL. */
int p11kms_client_kms_list_aliases(const p11kms_client_kms *s, const char *key_id, unsigned limit,
                                   const char *marker, p11kms_client_kms_result *res,
                                   p11kms_client_kms_error *err);

int p11kms_client_kms_create_alias(const p11kms_client_kms *s, const char *alias_name,
                                   const char *target_key_id, p11kms_client_kms_error *err);
int p11kms_client_kms_update_alias(const p11kms_client_kms *s, const char *alias_name,
                                   const char *target_key_id, p11kms_client_kms_error *err);
int p11kms_client_kms_delete_alias(const p11kms_client_kms *s, const char *alias_name,
                                   p11kms_client_kms_error *err);

int p11kms_client_kms_enable_key(const p11kms_client_kms *s, const char *key_id,
                                 p11kms_client_kms_error *err);
int p11kms_client_kms_disable_key(const p11kms_client_kms *s, const char *key_id,
                                  p11kms_client_kms_error *err);
int p11kms_client_kms_update_key_description(const p11kms_client_kms *s, const char *key_id,
                                             const char *description, p11kms_client_kms_error *err);

/* ScheduleKeyDeletion: window 7..30 (0 = 30); json {KeyId, DeletionDate, KeyState,
 * PendingWindowInDays}. */
int p11kms_client_kms_schedule_key_deletion(const p11kms_client_kms *s, const char *key_id,
                                            unsigned window_days, p11kms_client_kms_result *res,
                                            p11kms_client_kms_error *err);
int p11kms_client_kms_cancel_key_deletion(const p11kms_client_kms *s, const char *key_id,
                                          p11kms_client_kms_result *res,
                                          p11kms_client_kms_error *err);

/* ---- rotation ----------------------------------------------------------- */

/* period_days 90..2560, 0 = 365. */
int p11kms_client_kms_enable_key_rotation(const p11kms_client_kms *s, const char *key_id,
                                          unsigned period_days, p11kms_client_kms_error *err);
int p11kms_client_kms_disable_key_rotation(const p11kms_client_kms *s, const char *key_id,
                                           p11kms_client_kms_error *err);
/* json {KeyRotationEnabled, RotationPeriodInDays?, NextRotationDate?, KeyId}. */
int p11kms_client_kms_get_key_rotation_status(const p11kms_client_kms *s, const char *key_id,
                                              p11kms_client_kms_result *res,
                                              p11kms_client_kms_error *err);
/* json {KeyId}. */
int p11kms_client_kms_rotate_key_on_demand(const p11kms_client_kms *s, const char *key_id,
                                           p11kms_client_kms_result *res,
                                           p11kms_client_kms_error *err);
/* json {Rotations: [{KeyId, RotationDate, RotationType}], Truncated}. */
int p11kms_client_kms_list_key_rotations(const p11kms_client_kms *s, const char *key_id,
                                         p11kms_client_kms_result *res,
                                         p11kms_client_kms_error *err);

/* ---- policies ----------------------------------------------------------- */

/* GetKeyPolicy: json {Policy: "<text>", PolicyName: "default"}. */
int p11kms_client_kms_get_key_policy(const p11kms_client_kms *s, const char *key_id,
                                     p11kms_client_kms_result *res, p11kms_client_kms_error *err);
int p11kms_client_kms_put_key_policy(const p11kms_client_kms *s, const char *key_id,
                                     const char *policy, int bypass_lockout_check,
                                     p11kms_client_kms_error *err);
/* principal: "user:NAME", "uid:N", "group:NAME", "gid:N". */
int p11kms_client_kms_put_identity_policy(const p11kms_client_kms *s, const char *principal,
                                          const char *policy, p11kms_client_kms_error *err);
/* json {Principal, Policy}. */
int p11kms_client_kms_get_identity_policy(const p11kms_client_kms *s, const char *principal,
                                          p11kms_client_kms_result *res,
                                          p11kms_client_kms_error *err);
int p11kms_client_kms_delete_identity_policy(const p11kms_client_kms *s, const char *principal,
                                             p11kms_client_kms_error *err);
/* json {PolicyNames: [...]} / {IdentityPolicies: [...]}. */
int p11kms_client_kms_list_key_policies(const p11kms_client_kms *s, const char *key_id,
                                        p11kms_client_kms_result *res,
                                        p11kms_client_kms_error *err);
int p11kms_client_kms_list_identity_policies(const p11kms_client_kms *s,
                                             p11kms_client_kms_result *res,
                                             p11kms_client_kms_error *err);

/* ---- grants ------------------------------------------------------------- */

typedef struct p11kms_client_kms_grant {
    const char *grantee_principal;  /* "user:NAME", "uid:N", ... */
    const char *retiring_principal; /* NULL = none */
    const char *const *operations;  /* "Encrypt", "Decrypt", ... */
    size_t n_operations;
    json_t *constraints; /* {EncryptionContextEquals|Subset: {...}} or NULL */
    const char *name;    /* NULL = none */
} p11kms_client_kms_grant;

/* CreateGrant: json {GrantId, GrantToken}. */
int p11kms_client_kms_create_grant(const p11kms_client_kms *s, const char *key_id,
                                   const p11kms_client_kms_grant *g, p11kms_client_kms_result *res,
                                   p11kms_client_kms_error *err);
/* ListGrants: json {Grants: [...], Truncated}. */
int p11kms_client_kms_list_grants(const p11kms_client_kms *s, const char *key_id,
                                  p11kms_client_kms_result *res, p11kms_client_kms_error *err);
int p11kms_client_kms_revoke_grant(const p11kms_client_kms *s, const char *key_id,
                                   const char *grant_id, p11kms_client_kms_error *err);
/* RetireGrant by grant_token, or by key_id + grant_id (grant_token NULL). */
int p11kms_client_kms_retire_grant(const p11kms_client_kms *s, const char *grant_token,
                                   const char *key_id, const char *grant_id,
                                   p11kms_client_kms_error *err);

/* ---- scheduled work ----------------------------------------------------- */

/* RunDue: rotations that are due and deletions whose window has passed;
 * json {Rotated, Deleted, Failed}. */
int p11kms_client_kms_run_due(const p11kms_client_kms *s, p11kms_client_kms_result *res,
                              p11kms_client_kms_error *err);

/* ---- blobs -------------------------------------------------------------- */

/* The key id and version a ciphertext blob names (kms/envelope.h), without
 * the module.  key_id gets 37 bytes.  0 with err for a non-blob. */
int p11kms_client_kms_blob_key(const unsigned char *blob, size_t len, char key_id[37],
                               uint32_t *version, p11kms_client_kms_error *err);

#endif /* P11KMS_CLIENT_KMS_H */
