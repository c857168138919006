/*
 * common/uuid.h - random (version 4) UUIDs for key ids and audit event ids.
 *
 * Canonical form only: 36 characters, lowercase hex, hyphens at 8-13-18-23
 * ("1234abcd-...").  KMS key ids are compared as strings, so one spelling.
 */
#ifndef P11KMS_COMMON_UUID_H
#define P11KMS_COMMON_UUID_H

#include <stddef.h>

#define P11KMS_UUID_STR_LEN  36 /* without the terminating NUL */
#define P11KMS_UUID_BUF_SIZE 37 /* with the terminating NUL */

/* Write a fresh random v4 UUID (NUL-terminated) to out; 1 ok, 0 error. */
int p11kms_uuid_v4(char out[P11KMS_UUID_BUF_SIZE]);

/*
 * 1 if s (NUL-terminated, may be NULL -> 0) is a canonical lowercase
 * UUID of any version/variant, 0 otherwise.
 */
int p11kms_uuid_is_valid(const char *s);

/* Same, for a counted string that need not be NUL-terminated. */
int p11kms_uuid_is_valid_n(const char *s, size_t len);

#endif /* P11KMS_COMMON_UUID_H */
