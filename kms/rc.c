/* kms/rc.c — result codes: KMS exception names, the store-to-KMS mapping,
 * the per-thread failure detail, and the caller-owned output buffers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "kms/kms-internal.h"

static const char *const rc_names[P11KMS_KMS_RC_COUNT_] = {
    [P11KMS_KMS_OK] = "OK",
    [P11KMS_KMS_NOT_FOUND] = "NotFoundException",
    [P11KMS_KMS_DISABLED] = "DisabledException",
    [P11KMS_KMS_INVALID_STATE] = "KMSInvalidStateException",
    [P11KMS_KMS_ACCESS_DENIED] = "AccessDeniedException",
    [P11KMS_KMS_INVALID_CIPHERTEXT] = "InvalidCiphertextException",
    [P11KMS_KMS_INCORRECT_KEY] = "IncorrectKeyException",
    [P11KMS_KMS_INVALID_KEY_USAGE] = "InvalidKeyUsageException",
    [P11KMS_KMS_VALIDATION] = "ValidationException",
    [P11KMS_KMS_MALFORMED_POLICY] = "MalformedPolicyDocumentException",
    [P11KMS_KMS_ALREADY_EXISTS] = "AlreadyExistsException",
    [P11KMS_KMS_LIMIT_EXCEEDED] = "LimitExceededException",
    [P11KMS_KMS_INVALID_ALIAS_NAME] = "InvalidAliasNameException",
    [P11KMS_KMS_INVALID_GRANT_TOKEN] = "InvalidGrantTokenException",
    [P11KMS_KMS_INVALID_GRANT_ID] = "InvalidGrantIdException",
    [P11KMS_KMS_INVALID_MARKER] = "InvalidMarkerException",
    [P11KMS_KMS_UNSUPPORTED] = "UnsupportedOperationException",
    [P11KMS_KMS_INVALID_SIGNATURE] = "KMSInvalidSignatureException",
    [P11KMS_KMS_INVALID_MAC] = "KMSInvalidMacException",
    [P11KMS_KMS_INTERNAL] = "KMSInternalException",
    [P11KMS_KMS_DEPENDENCY_TIMEOUT] = "DependencyTimeoutException",
    [P11KMS_KMS_STORAGE_FULL] = "StorageFullException",
    [P11KMS_KMS_STORE_READONLY] = "StoreReadOnlyException",
    [P11KMS_KMS_STORE_CORRUPT] = "StoreCorruptException",
    [P11KMS_KMS_STORE_FOREIGN] = "StoreForeignException",
    [P11KMS_KMS_STORE_TOO_NEW] = "StoreTooNewException",
    [P11KMS_KMS_AUDIT_FAILED] = "AuditWriteException",
    [P11KMS_KMS_NOT_INITIALIZED] = "TokenNotInitializedException",
    [P11KMS_KMS_ALREADY_INITIALIZED] = "TokenAlreadyInitializedException",
    [P11KMS_KMS_NOT_LOGGED_IN] = "NotLoggedInException",
    [P11KMS_KMS_ALREADY_LOGGED_IN] = "AlreadyLoggedInException",
    [P11KMS_KMS_PIN_INCORRECT] = "PinIncorrectException",
    [P11KMS_KMS_PIN_LOCKED] = "PinLockedException",
    [P11KMS_KMS_PIN_LEN_RANGE] = "PinLengthException",
    [P11KMS_KMS_PIN_NOT_SET] = "UserPinNotInitializedException",
    [P11KMS_KMS_NOMEM] = "OutOfMemoryException",
};

static _Thread_local char last_detail[320];

const char *p11kms_kms_rc_name(p11kms_kms_rc rc)
{
    if ((unsigned)rc >= P11KMS_KMS_RC_COUNT_ || rc_names[rc] == NULL)
        return "KMSInternalException";
    return rc_names[rc];
}

const char *p11kms_kms_last_detail(void)
{
    return last_detail;
}

/* Copied: details may live in a call frame that is gone when read. */
void kms_set_detail(const char *detail)
{
    snprintf(last_detail, sizeof(last_detail), "%s", detail ? detail : "");
}

p11kms_kms_rc kms_rc_from_store(p11kms_store_rc rc)
{
    switch (rc) {
    case P11KMS_STORE_OK:
        return P11KMS_KMS_OK;
    case P11KMS_STORE_NOTFOUND:
        return P11KMS_KMS_NOT_FOUND;
    case P11KMS_STORE_EXISTS:
        return P11KMS_KMS_ALREADY_EXISTS;
    case P11KMS_STORE_BUSY:
        return P11KMS_KMS_DEPENDENCY_TIMEOUT;
    case P11KMS_STORE_CORRUPT:
        return P11KMS_KMS_STORE_CORRUPT;
    case P11KMS_STORE_CRYPTO:
        return P11KMS_KMS_STORE_CORRUPT;
    case P11KMS_STORE_FOREIGN:
        return P11KMS_KMS_STORE_FOREIGN;
    case P11KMS_STORE_TOO_NEW:
        return P11KMS_KMS_STORE_TOO_NEW;
    case P11KMS_STORE_FULL:
        return P11KMS_KMS_STORAGE_FULL;
    case P11KMS_STORE_READONLY:
        return P11KMS_KMS_STORE_READONLY;
    case P11KMS_STORE_PERM:
        return P11KMS_KMS_STORE_READONLY;
    case P11KMS_STORE_NOMEM:
        return P11KMS_KMS_NOMEM;
    case P11KMS_STORE_PIN_INCORRECT:
        return P11KMS_KMS_PIN_INCORRECT;
    case P11KMS_STORE_PIN_LOCKED:
        return P11KMS_KMS_PIN_LOCKED;
    case P11KMS_STORE_PIN_LEN_RANGE:
        return P11KMS_KMS_PIN_LEN_RANGE;
    case P11KMS_STORE_NOT_INITIALIZED:
        return P11KMS_KMS_NOT_INITIALIZED;
    case P11KMS_STORE_ALREADY_INITIALIZED:
        return P11KMS_KMS_ALREADY_INITIALIZED;
    case P11KMS_STORE_NOT_LOGGED_IN:
        return P11KMS_KMS_NOT_LOGGED_IN;
    case P11KMS_STORE_INVALID:
        return P11KMS_KMS_VALIDATION;
    case P11KMS_STORE_CONFLICT:
        return P11KMS_KMS_INVALID_STATE;
    case P11KMS_STORE_IO:
    case P11KMS_STORE_FORKED:
    case P11KMS_STORE_INTERNAL:
        break;
    }
    return P11KMS_KMS_INTERNAL;
}

void p11kms_kms_bytes_clear(p11kms_kms_bytes *b)
{
    if (b == NULL)
        return;
    if (b->data != NULL) {
        OPENSSL_cleanse(b->data, b->len);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
}

p11kms_kms_rc kms_bytes_alloc(p11kms_kms_bytes *out, size_t len)
{
    out->data = malloc(len ? len : 1);
    out->len = out->data ? len : 0;
    return out->data ? P11KMS_KMS_OK : P11KMS_KMS_NOMEM;
}
