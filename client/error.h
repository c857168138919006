/*
 * client/error.h — how libp11kms-client reports a failure: one line of text
 * meant for a person (printed as is by the CLI, the provider and the TDE
 * helpers) plus the PKCS#11 return value when a C_* call caused it.
 *
 * Every client function returns 1 on success and 0 on failure, filling a
 * caller-provided p11kms_client_err (which may be NULL when the caller does
 * not care).  Messages never contain a PIN.
 */
#ifndef P11KMS_CLIENT_ERROR_H
#define P11KMS_CLIENT_ERROR_H

#define P11KMS_CLIENT_ERR_MAX 512

typedef struct p11kms_client_err {
    char msg[P11KMS_CLIENT_ERR_MAX]; /* one line, no trailing newline; "" if none */
    unsigned long rv;                /* CK_RV of the failing C_* call, 0 (CKR_OK) if none */
} p11kms_client_err;

/* Sets err (if not NULL) and returns 0, so callers can `return p11kms_client_fail(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int p11kms_client_fail(p11kms_client_err *err, unsigned long rv, const char *fmt, ...);

/* The message of err, "" when err is NULL or empty; never NULL. */
const char *p11kms_client_err_msg(const p11kms_client_err *err);

/* The name of a CK_RV ("CKR_PIN_INCORRECT"), or "CKR_0x%08lX" for unknown values
 * (in a static buffer per thread). */
const char *p11kms_client_rv_name(unsigned long rv);

#endif /* P11KMS_CLIENT_ERROR_H */
