/*
 * store/config-unlock.c — reads the PIN named by a token's `unlock` setting
 * (p11kms_store_config_unlock_pin, store/config.h), for the module's
 * unattended login in isolated mode.
 *
 * Kept apart from config.c so that the configuration parser stays
 * dependency-free (libc only) while this file needs protected memory.  The
 * reading itself is the shared header-only reader, the same code client/
 * uses for --pin-source.
 */
#include "config.h"

#include "store/config.h"

#include <stdio.h>

int p11kms_store_config_unlock_pin(const p11kms_config *cfg, const p11kms_config_token *tok,
                                   p11kms_pinsrc_secret *pin, char *err, size_t errlen)
{
    const char *name = cfg != NULL && cfg->path != NULL ? cfg->path : "(default configuration)";
    char msg[P11KMS_CONFIG_ERR_MAX];
    int ok = 0;

    pin->data = NULL;
    pin->len = 0;
    pin->cap = 0;
    if (tok == NULL || tok->unlock_source.kind == P11KMS_PINSRC_NONE) {
        p11kms_pinsrc_fail_(err, errlen, "%s: [token] unlock: not set", name);
        goto done;
    }
    if (!p11kms_pinsrc_read(&tok->unlock_source, P11KMS_PINSRC_PIN_MAX, pin, msg, sizeof(msg))) {
        p11kms_pinsrc_fail_(err, errlen, "%s:%u: [token] unlock: %s", name, tok->unlock_line, msg);
        goto done;
    }
    ok = 1;
done:
    return ok;
}
