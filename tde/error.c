/*
 * tde/error.c — the error-string API of libp11kms-tde: one short name per
 * code and a one-line message per failure, so that a database can refuse to
 * start with a sentence a person can act on.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tde/tde-internal.h"

const char *p11kms_tde_strerror(p11kms_tde_rc rc)
{
    static const char *const names[] = {
        "ok",
        "invalid argument",
        "out of memory",
        "I/O error",
        "not found",
        "keyring corrupt or tampered",
        "keyring format too new",
        "PKCS#11 module or token unavailable",
        "PIN unavailable, incorrect or locked",
        "access denied",
        "key disabled or pending deletion",
        "KMS error",
        "keyring changed on disk",
        "authentication failed",
        "cryptographic failure",
        "limit exceeded",
    };
    if ((unsigned)rc >= sizeof(names) / sizeof(names[0]))
        return "unknown error";
    return names[rc];
}

int tde_fail(p11kms_tde_error *err, p11kms_tde_rc rc, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return 0;
    err->rc = rc;
    err->kms_exception[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return 0;
}

/* The TDE code that fits a KMS exception name (or a CK_RV-only failure). */
static p11kms_tde_rc rc_of_exception(const char *ex)
{
    if (strcmp(ex, "AccessDeniedException") == 0)
        return P11KMS_TDE_ERR_ACCESS;
    if (strcmp(ex, "NotFoundException") == 0)
        return P11KMS_TDE_ERR_NOTFOUND;
    if (strcmp(ex, "DisabledException") == 0 || strcmp(ex, "KMSInvalidStateException") == 0)
        return P11KMS_TDE_ERR_KEY_STATE;
    if (strcmp(ex, "InvalidCiphertextException") == 0 || strcmp(ex, "IncorrectKeyException") == 0)
        return P11KMS_TDE_ERR_CORRUPT;
    if (strstr(ex, "Pin") != NULL || strstr(ex, "NotLoggedIn") != NULL)
        return P11KMS_TDE_ERR_PIN;
    return P11KMS_TDE_ERR_KMS;
}

int tde_fail_kms(p11kms_tde_error *err, const char *what, const p11kms_client_kms_error *ke)
{
    const char *ex = ke != NULL ? ke->exception : "";
    const char *msg = ke != NULL ? p11kms_client_kms_error_msg(ke) : "unknown failure";

    if (err == NULL)
        return 0;
    tde_fail(err, rc_of_exception(ex), "%s: %s%s%s", what, ex, ex[0] ? ": " : "",
             msg != NULL ? msg : "");
    snprintf(err->kms_exception, sizeof(err->kms_exception), "%s", ex);
    return 0;
}
