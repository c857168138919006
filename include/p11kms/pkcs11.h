/*
 * p11kms/pkcs11.h — vendor-defined PKCS#11 values of the p11kms module
 * (p11kms-pkcs11.so).  Installed as PREFIX/include/p11kms/pkcs11.h; the
 * manual page p11kms-pkcs11(8) describes the same values for users.
 *
 * Include it after any PKCS#11 header (p11-kit's <p11-kit/pkcs11.h>,
 * OASIS's pkcs11.h, ...): it only defines integers and needs no types.
 *
 * Every vendor value is CKx_VENDOR_DEFINED (0x80000000) | 0x504B0000 ("PK")
 * | a small number, so it cannot collide with another vendor that uses the
 * usual low numbers.  Values never change once released.
 *
 * Attribute value types are given as: BYTES (opaque), UTF8 (text, no NUL),
 * ULONG (CK_ULONG), BBOOL (CK_BBOOL), JSON (UTF-8 JSON text), DATE (UTF-8
 * "2026-11-27T23:55:38.123Z", empty when not applicable).
 * Access: R readable, W settable with C_SetAttributeValue on a CMK
 * (management call, policy-checked and audited), C usable in a
 * C_CreateObject / C_FindObjectsInit template.
 */
#ifndef P11KMS_PKCS11_H
#define P11KMS_PKCS11_H

/* The tables below are aligned by hand for readers of the installed header. */
/* clang-format off */

#define P11KMS_VENDOR_BASE 0xD04B0000UL /* 0x80000000 | 'P' 'K' << 16 */

/* ------------------------------------------------------------------ */
/* Object classes (CKA_CLASS)                                         */
/* ------------------------------------------------------------------ */

/*
 * CKO_P11KMS_OPERATION: a KMS operation request.  A session object created
 * with C_CreateObject whose template names the operation
 * (CKA_P11KMS_OP_NAME) and its inputs (CKA_P11KMS_OP_* attributes below).
 * The module executes it inside C_CreateObject, under the key's policy and
 * with an audit record; the result is read back with C_GetAttributeValue
 * (CKA_P11KMS_OP_RESULT_*), then the object is destroyed with
 * C_DestroyObject (or with its session).  This route needs no vendor
 * mechanism, so it crosses p11-kit's RPC (p11-kit server / client).
 * C_CreateObject itself returns CKR_OK whenever the request was executed,
 * successful or not: CKA_P11KMS_OP_RESULT_CODE says how it ended.  It fails
 * only for malformed requests (CKR_TEMPLATE_INCOMPLETE,
 * CKR_ATTRIBUTE_VALUE_INVALID, ...) or a store failure.
 */
#define CKO_P11KMS_OPERATION (P11KMS_VENDOR_BASE | 0x01UL)

/* ------------------------------------------------------------------ */
/* Attributes of CMK objects (secret keys, private and public keys)   */
/* ------------------------------------------------------------------ */

#define CKA_P11KMS_KEY_ID            (P11KMS_VENDOR_BASE | 0x0001UL) /* UTF8  R C  UUID */
#define CKA_P11KMS_KEY_STATE         (P11KMS_VENDOR_BASE | 0x0002UL) /* UTF8  R W C "Enabled", "Disabled", "PendingDeletion"; W: Enabled|Disabled */
#define CKA_P11KMS_KEY_SPEC          (P11KMS_VENDOR_BASE | 0x0003UL) /* UTF8  R C  "SYMMETRIC_DEFAULT", "RSA_2048", ... ; C at generation picks the spec */
#define CKA_P11KMS_KEY_USAGE         (P11KMS_VENDOR_BASE | 0x0004UL) /* UTF8  R C  "ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC" */
#define CKA_P11KMS_KEY_MANAGER       (P11KMS_VENDOR_BASE | 0x0005UL) /* UTF8  R    "CUSTOMER" or "SERVICE" */
#define CKA_P11KMS_CURRENT_VERSION   (P11KMS_VENDOR_BASE | 0x0006UL) /* ULONG R    newest key version (1 = original) */
#define CKA_P11KMS_ROTATION_ENABLED  (P11KMS_VENDOR_BASE | 0x0007UL) /* BBOOL R W  automatic rotation */
#define CKA_P11KMS_ROTATION_PERIOD   (P11KMS_VENDOR_BASE | 0x0008UL) /* ULONG R W  days, 90..2560 */
#define CKA_P11KMS_NEXT_ROTATION     (P11KMS_VENDOR_BASE | 0x0009UL) /* DATE  R    next automatic rotation */
#define CKA_P11KMS_DELETION_DATE     (P11KMS_VENDOR_BASE | 0x000AUL) /* DATE  R    end of the deletion window */
#define CKA_P11KMS_DESCRIPTION       (P11KMS_VENDOR_BASE | 0x000BUL) /* UTF8  R W C */
#define CKA_P11KMS_KEY_POLICY        (P11KMS_VENDOR_BASE | 0x000CUL) /* JSON  R W C key policy (PutKeyPolicy on write) */
#define CKA_P11KMS_ROTATE_NOW        (P11KMS_VENDOR_BASE | 0x000DUL) /* BBOOL   W  CK_TRUE rotates on demand (RotateKeyOnDemand) */
#define CKA_P11KMS_KEY_VERSION       (P11KMS_VENDOR_BASE | 0x000EUL) /* ULONG R C  version this object uses (current for a CMK) */
#define CKA_P11KMS_VERSION_OBJECT    (P11KMS_VENDOR_BASE | 0x000FUL) /* BBOOL R C  CK_TRUE on old-version objects; a search
                                                                      * returns them only if its template has this attribute */
#define CKA_P11KMS_CREATION_DATE     (P11KMS_VENDOR_BASE | 0x0010UL) /* DATE  R */
#define CKA_P11KMS_ALIASES           (P11KMS_VENDOR_BASE | 0x0011UL) /* UTF8  R    aliases separated by '\n' */
#define CKA_P11KMS_ALIAS             (P11KMS_VENDOR_BASE | 0x0012UL) /* UTF8    C  "alias/NAME": find by alias; at generation creates it */
#define CKA_P11KMS_DELETION_WINDOW   (P11KMS_VENDOR_BASE | 0x0013UL) /* ULONG   W  days 7..30: schedule deletion with this window */
#define CKA_P11KMS_CANCEL_DELETION   (P11KMS_VENDOR_BASE | 0x0014UL) /* BBOOL   W  CK_TRUE cancels a scheduled deletion (key -> Disabled) */
#define CKA_P11KMS_INCLUDE_PENDING   (P11KMS_VENDOR_BASE | 0x0015UL) /* BBOOL   C  search template: CK_TRUE also returns
                                                                      * keys pending deletion */

/* ------------------------------------------------------------------ */
/* Attributes of CKO_P11KMS_OPERATION objects                         */
/* ------------------------------------------------------------------ */

/*
 * Inputs (set in the C_CreateObject template; read back as given except
 * the secret ones, which are never readable):
 *   OP_NAME        UTF8   KMS API name: "Encrypt", "Decrypt", "ReEncrypt",
 *                         "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
 *                         "GenerateRandom", "Sign", "Verify", "GenerateMac",
 *                         "VerifyMac", "DescribeKey", "ListKeys", "ListAliases",
 *                         "CreateAlias", "UpdateAlias", "DeleteAlias",
 *                         "EnableKey", "DisableKey", "EnableKeyRotation",
 *                         "DisableKeyRotation", "RotateKeyOnDemand",
 *                         "ScheduleKeyDeletion", "CancelKeyDeletion",
 *                         "GetKeyPolicy", "PutKeyPolicy", "UpdateKeyDescription",
 *                         "CreateGrant", "ListGrants", "RetireGrant", "RevokeGrant",
 *                         "PutIdentityPolicy", "GetIdentityPolicy", "RunDue", ...
 *                         (the manual lists what this build supports)
 *   OP_KEY         UTF8   KeyId: key id, "alias/NAME" or an ARN-less id
 *   OP_REQUEST     JSON   the remaining KMS request parameters in KMS's
 *                         names (EncryptionContext, KeySpec, NumberOfBytes,
 *                         SigningAlgorithm, MessageType, ...)
 *   OP_PLAINTEXT   BYTES  Plaintext / Message input (secret: never readable)
 *   OP_CIPHERTEXT  BYTES  CiphertextBlob input
 *   OP_SIGNATURE   BYTES  Signature / Mac input for Verify / VerifyMac
 * Outputs:
 *   OP_RESULT_CODE     ULONG  CKR_OK, or the CKR_ value of the failure
 *   OP_RESULT_ERROR    UTF8   "" or the KMS exception name
 *                             ("AccessDeniedException", "NotFoundException", ...)
 *   OP_RESULT_JSON     JSON   KMS response elements (KeyId, KeyMetadata, ...)
 *   OP_RESULT_PLAINTEXT BYTES Plaintext output (Decrypt, GenerateDataKey,
 *                             GenerateRandom).  Readable once only by the
 *                             creating session, never by another.
 *   OP_RESULT_CIPHERTEXT BYTES CiphertextBlob output
 *   OP_RESULT_SIGNATURE  BYTES Signature or Mac output
 */
#define CKA_P11KMS_OP_NAME              (P11KMS_VENDOR_BASE | 0x0100UL)
#define CKA_P11KMS_OP_KEY               (P11KMS_VENDOR_BASE | 0x0101UL)
#define CKA_P11KMS_OP_REQUEST           (P11KMS_VENDOR_BASE | 0x0102UL)
#define CKA_P11KMS_OP_PLAINTEXT         (P11KMS_VENDOR_BASE | 0x0103UL)
#define CKA_P11KMS_OP_CIPHERTEXT        (P11KMS_VENDOR_BASE | 0x0104UL)
#define CKA_P11KMS_OP_SIGNATURE         (P11KMS_VENDOR_BASE | 0x0105UL)
#define CKA_P11KMS_OP_RESULT_CODE       (P11KMS_VENDOR_BASE | 0x0180UL)
#define CKA_P11KMS_OP_RESULT_ERROR      (P11KMS_VENDOR_BASE | 0x0181UL)
#define CKA_P11KMS_OP_RESULT_JSON       (P11KMS_VENDOR_BASE | 0x0182UL)
#define CKA_P11KMS_OP_RESULT_PLAINTEXT  (P11KMS_VENDOR_BASE | 0x0183UL)
#define CKA_P11KMS_OP_RESULT_CIPHERTEXT (P11KMS_VENDOR_BASE | 0x0184UL)
#define CKA_P11KMS_OP_RESULT_SIGNATURE  (P11KMS_VENDOR_BASE | 0x0185UL)

/* ------------------------------------------------------------------ */
/* Mechanisms                                                         */
/* ------------------------------------------------------------------ */

/* RFC 5649 AES key wrap with padding: SoftHSM's number, and the
 * PKCS#11 3.0 name that p11-kit 0.24's header lacks.  Both are offered. */
#ifndef CKM_AES_KEY_WRAP_PAD
#define CKM_AES_KEY_WRAP_PAD 0x0000210AUL
#endif
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP 0x0000210BUL
#endif

/* ------------------------------------------------------------------ */
/* Return values                                                      */
/* ------------------------------------------------------------------ */

/*
 * Standard CKR_ codes are used wherever one fits; these vendor values
 * cover KMS outcomes that PKCS#11 has no code for.  A policy denial is
 * the standard CKR_KEY_FUNCTION_NOT_PERMITTED for key use and
 * CKR_ACTION_PROHIBITED for management calls.
 */
#define CKR_P11KMS_KEY_DISABLED          (P11KMS_VENDOR_BASE | 0x01UL) /* DisabledException */
#define CKR_P11KMS_KEY_INVALID_STATE     (P11KMS_VENDOR_BASE | 0x02UL) /* KMSInvalidStateException (e.g. pending deletion) */
#define CKR_P11KMS_NOT_FOUND             (P11KMS_VENDOR_BASE | 0x03UL) /* NotFoundException (key, alias, grant) */
#define CKR_P11KMS_ALREADY_EXISTS        (P11KMS_VENDOR_BASE | 0x04UL) /* AlreadyExistsException */
#define CKR_P11KMS_MALFORMED_POLICY      (P11KMS_VENDOR_BASE | 0x05UL) /* MalformedPolicyDocumentException */
#define CKR_P11KMS_LIMIT_EXCEEDED        (P11KMS_VENDOR_BASE | 0x06UL) /* LimitExceededException */
#define CKR_P11KMS_INVALID_CIPHERTEXT    (P11KMS_VENDOR_BASE | 0x07UL) /* InvalidCiphertextException */
#define CKR_P11KMS_INCORRECT_KEY         (P11KMS_VENDOR_BASE | 0x08UL) /* IncorrectKeyException */
#define CKR_P11KMS_INVALID_GRANT         (P11KMS_VENDOR_BASE | 0x09UL) /* InvalidGrantToken/IdException */
#define CKR_P11KMS_STORE_BUSY            (P11KMS_VENDOR_BASE | 0x0AUL) /* DependencyTimeoutException: store locked */
#define CKR_P11KMS_AUDIT_FAILED          (P11KMS_VENDOR_BASE | 0x0BUL) /* audit record could not be written (fail closed) */
#define CKR_P11KMS_STORE_CORRUPT         (P11KMS_VENDOR_BASE | 0x0CUL) /* store or row failed its integrity check */
#define CKR_P11KMS_KMS_INTERNAL          (P11KMS_VENDOR_BASE | 0x0DUL) /* KMSInternalException */
#define CKR_P11KMS_INVALID_ALIAS         (P11KMS_VENDOR_BASE | 0x0EUL) /* InvalidAliasNameException */
#define CKR_P11KMS_UNSUPPORTED_OPERATION (P11KMS_VENDOR_BASE | 0x0FUL) /* UnsupportedOperationException */

/* clang-format on */

#endif /* P11KMS_PKCS11_H */
