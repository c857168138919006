/*
 * client/pin-source.h — reads a PIN from a PIN source (DESIGN.md,
 * Configuration): `file:PATH`, `env:NAME`, `credential:NAME`, `prompt`.
 *
 * One implementation everywhere: the syntax is parsed by
 * store/config-pinsrc.h and the non-interactive sources are read by
 * store/config-pinread.h (both header-only, shared with the module's
 * reading of a token's `unlock`); this file adds the no-echo prompt and
 * client-style errors.  A PIN file must be a regular file owned by the
 * caller with mode 0600 or stricter.  PINs live in protected memory
 * (common/secmem.h) and are wiped when freed; they never come from a
 * command-line value.
 */
#ifndef P11KMS_CLIENT_PIN_SOURCE_H
#define P11KMS_CLIENT_PIN_SOURCE_H

#include <stddef.h>

#include "client/error.h"
#include "store/config-pinread.h"
#include "store/config-pinsrc.h"

/* Longest PIN read from any source (store.h's P11KMS_STORE_PIN_MAX). */
#define P11KMS_CLIENT_PIN_MAX P11KMS_PINSRC_PIN_MAX

/* data: protected memory, NUL-terminated after len bytes; cap: allocation size. */
typedef p11kms_pinsrc_secret p11kms_client_pin;

/*
 * Parse `spec` and read the PIN it names.  `prompt` is the text shown by the
 * `prompt` source (NULL: "PIN: ").  keyfile: is refused here: a service key
 * file is read by the store, not used as a PIN.  Returns 1 with *pin filled
 * (free with p11kms_client_pin_free), or 0 with err set.
 */
int p11kms_client_pin_read(const char *spec, const char *prompt, p11kms_client_pin *pin,
                           p11kms_client_err *err);

/* The same, from an already parsed source (for example a token's `unlock`). */
int p11kms_client_pin_read_source(const p11kms_pinsrc *src, const char *prompt,
                                  p11kms_client_pin *pin, p11kms_client_err *err);

/*
 * Read a secret file under the PIN-file rules (regular file, owned by the
 * caller, no group/other permissions, one trailing newline stripped, at most
 * max bytes).  `what` names the source in messages ("file:/run/pin").
 */
int p11kms_client_pin_read_file(const char *path, const char *what, size_t max,
                                p11kms_client_pin *pin, p11kms_client_err *err);

/*
 * The PIN source used when the user named none (issue 9): "env:P11KMS_PIN"
 * when P11KMS_PIN is set, else "prompt".  A static string.
 */
const char *p11kms_client_pin_default_spec(void);

/* Wipe and release; safe on a zeroed or already freed p11kms_client_pin. */
void p11kms_client_pin_free(p11kms_client_pin *pin);

#endif /* P11KMS_CLIENT_PIN_SOURCE_H */
