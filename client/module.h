/*
 * client/module.h — what every p11kms front end needs from a PKCS#11 module:
 * load it by path, initialise it, find the token, open a session, log in
 * with a PIN from a PIN source, and finalise cleanly.
 *
 * Generic PKCS#11 (Cryptoki 2.40 through p11-kit's pkcs11.h): it works with
 * p11kms-pkcs11.so, with p11-kit-client.so in isolated mode, and with other
 * modules such as SoftHSMv2 (the tests use it).
 */
#ifndef P11KMS_CLIENT_MODULE_H
#define P11KMS_CLIENT_MODULE_H

#include <p11-kit/pkcs11.h>

#include "client/error.h"
#include "client/pin-source.h"
#include "client/uri.h"

typedef struct p11kms_client_module p11kms_client_module;

/*
 * The module to load: `path` when not NULL, else $P11KMS_MODULE when set and
 * not empty, else the installed p11kms-pkcs11.so (PKCS11_MODULE_PATH).
 */
const char *p11kms_client_module_default_path(const char *path);

/*
 * dlopen the module (p11kms_client_module_default_path(path)), get its
 * function list and C_Initialize it with CKF_OS_LOCKING_OK.  A module that
 * someone else in the process already initialised is used as is and not
 * finalised by us.  Returns 1 with *out set, or 0 with err set.
 */
int p11kms_client_module_load(const char *path, p11kms_client_module **out, p11kms_client_err *err);

/* C_Finalize (if we initialised it) and release.  NULL is accepted. */
void p11kms_client_module_unload(p11kms_client_module *mod);

CK_FUNCTION_LIST *p11kms_client_module_functions(const p11kms_client_module *mod);
const char *p11kms_client_module_path(const p11kms_client_module *mod);

/*
 * After fork() the child must C_Initialize again before any call (PKCS#11
 * 2.40, 6.7.7); sessions of the parent are gone.  Call this first in code
 * that may run in a forked child: it re-initialises when the process changed.
 */
int p11kms_client_module_after_fork(p11kms_client_module *mod, p11kms_client_err *err);

/*
 * Find the slot of a token present in the module:
 *   token NULL or ""      the only token present (an error if several);
 *   "pkcs11:..."          the only token the URI's module/slot/token part matches;
 *   anything else         the token whose label is exactly this text.
 */
int p11kms_client_find_slot(p11kms_client_module *mod, const char *token, CK_SLOT_ID *slot,
                            p11kms_client_err *err);

/* The same for a parsed URI (p11kms: URIs match every token). */
int p11kms_client_find_slot_uri(p11kms_client_module *mod, const p11kms_client_uri *uri,
                                CK_SLOT_ID *slot, p11kms_client_err *err);

/* C_OpenSession (serial; read-write when rw) on slot. */
int p11kms_client_session_open(p11kms_client_module *mod, CK_SLOT_ID slot, int rw,
                               CK_SESSION_HANDLE *session, p11kms_client_err *err);

/* C_CloseSession; errors are ignored (nothing useful to do about them). */
void p11kms_client_session_close(p11kms_client_module *mod, CK_SESSION_HANDLE session);

/*
 * C_Login as user (CKU_USER or CKU_SO) with the PIN read from the PIN source
 * `pin_spec` (file:, env:, credential:, prompt).  Already logged in counts as
 * success.  The PIN is wiped before return.
 */
int p11kms_client_login(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_USER_TYPE user,
                        const char *pin_spec, p11kms_client_err *err);

/* The same with a PIN already read. */
int p11kms_client_login_pin(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_USER_TYPE user,
                            const p11kms_client_pin *pin, p11kms_client_err *err);

#endif /* P11KMS_CLIENT_MODULE_H */
