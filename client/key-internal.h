/*
 * client/key-internal.h — helpers shared by the client/key-*.c files only
 * (attribute reads and the one error wording for a failed key operation).
 */
#ifndef P11KMS_CLIENT_KEY_INTERNAL_H
#define P11KMS_CLIENT_KEY_INTERNAL_H

#include "client/key-ops.h"

/*
 * Read one attribute into a malloc'd buffer (*val, *len); a missing or
 * unreadable attribute gives 0 without touching err, so callers can fall
 * back.  *val is NUL-terminated after *len bytes for text attributes.
 */
int p11kms_client_key_attr(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                           CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, unsigned char **val,
                           size_t *len);

/* Fill class-dependent fields of ref (key type, CKA_ID, CKA_LABEL, vendor
 * key id) from ref->handle and ref->cls; unreadable ones stay empty. */
int p11kms_client_key_describe(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               p11kms_client_keyref *ref);

/* Fill err for a failed C_* call on ref, with a hint for policy denials. */
int p11kms_client_key_fail(p11kms_client_err *err, const p11kms_client_keyref *ref,
                           const char *action, const char *call, CK_RV rv);

#endif /* P11KMS_CLIENT_KEY_INTERNAL_H */
