/* tests/kms/kms-testutil.h — fixtures shared by the engine tests: a fresh
 * token in a mkdtemp() directory (low KDF cost), logged in as its user,
 * and helpers to count audit records and run tests/kms/kms-tool. */
#ifndef P11KMS_TESTS_KMS_TESTUTIL_H
#define P11KMS_TESTS_KMS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kms/kms.h"

#define KT_SO_PIN   "so-pin-12345"
#define KT_USER_PIN "user-pin-12345"

typedef struct kt_env {
    char dir[256];
    char path[320];
    p11kms_kms *kms;
    p11kms_caller caller;
} kt_env;

extern kt_env kt;

/* Opens an engine on kt.path with the test options (kdf 2^10). */
p11kms_kms *kt_open(int rotate_new_keys);
/* Fresh store, token initialised, user PIN set, user logged in. */
void kt_setup(void);
void kt_setup_rotating(void);
void kt_teardown(void);

/* Records in the audit chain (after folding every journal). */
uint64_t kt_audit_count(void);
/* Runs a call and asserts it added exactly `expect` records. */
#define KT_AUDITED(expect, stmt)                                                                   \
    do {                                                                                           \
        uint64_t kt_before_ = kt_audit_count();                                                    \
        stmt;                                                                                      \
        ck_assert_uint_eq(kt_audit_count() - kt_before_, (expect));                                \
    } while (0)

/* Creates a key of spec/usage, returns its id in id (37 bytes). */
void kt_create(p11kms_kms_key_spec spec, p11kms_kms_key_usage usage, char id[37]);

/* Runs kms-tool with args under faketime offset (NULL = none); returns the
 * exit status and the first line of stdout in out (may be NULL). */
int kt_tool(const char *faketime_offset, const char *args, char *out, size_t outlen);

/* Raw material of key version (read through the store, for file scans). */
size_t kt_material(const char *key_id, uint32_t version, uint8_t *out, size_t cap);
/* 1 if needle occurs in file path. */
int kt_file_contains(const char *path, const uint8_t *needle, size_t len);

#endif
