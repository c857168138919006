/*
 * p11-unlock.c — unattended unlock in isolated mode.  When the module is
 * served by p11-kit ([access] served) and the token has an `unlock`
 * source, the service logs itself in as the token user when the first
 * session opens, so clients need no PIN (DESIGN.md, Threat model):
 * keyfile:PATH goes to kms.h's key-file login, file:/env:/credential: PIN
 * sources are read here (trailing newline dropped) and used as the user
 * PIN.  The PIN is wiped as soon as it has been used.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pkcs11/p11-internal.h"

#define PIN_MAX 256

/* A 0600-or-stricter regular file owned by us, read whole (<= PIN_MAX). */
static int read_pin_file(const char *path, char *buf, size_t *len)
{
    struct stat st;
    int ok = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0 &&
        st.st_uid == geteuid()) {
        ssize_t n = read(fd, buf, PIN_MAX);
        ok = n > 0;
        *len = ok ? (size_t)n : 0;
    }
    close(fd);
    return ok;
}

static int read_pin(const p11kms_pinsrc *src, char *buf, size_t *len)
{
    char path[4096];
    const char *v;
    switch (src->kind) {
    case P11KMS_PINSRC_FILE:
        return read_pin_file(src->arg, buf, len);
    case P11KMS_PINSRC_CREDENTIAL:
        v = getenv("CREDENTIALS_DIRECTORY");
        if (v == NULL || (size_t)snprintf(path, sizeof(path), "%s/%s", v, src->arg) >= sizeof(path))
            return 0;
        return read_pin_file(path, buf, len);
    case P11KMS_PINSRC_ENV:
        v = getenv(src->arg);
        if (v == NULL || strlen(v) == 0 || strlen(v) > PIN_MAX)
            return 0;
        *len = strlen(v);
        memcpy(buf, v, *len);
        return 1;
    default:
        return 0;
    }
}

int p11kms_p11_unlock_configured(const p11kms_p11_slot *slot)
{
    return p11kms_p11_served() && slot->cfg->unlock_source.kind != P11KMS_PINSRC_NONE &&
           slot->cfg->unlock_source.kind != P11KMS_PINSRC_PROMPT;
}

CK_RV p11kms_p11_self_unlock(p11kms_p11_slot *slot)
{
    char pin[PIN_MAX];
    size_t len = 0;
    const p11kms_pinsrc *src = &slot->cfg->unlock_source;
    p11kms_kms_rc rc;
    CK_RV rv;
    if (slot->login == CKU_USER || !p11kms_p11_unlock_configured(slot))
        return CKR_OK;
    if (src->kind == P11KMS_PINSRC_KEYFILE) {
        rc = p11kms_kms_login_keyfile(slot->kms, p11kms_p11_caller(), src->arg);
    } else if (read_pin(src, pin, &len)) {
        while (len > 0 && (pin[len - 1] == '\n' || pin[len - 1] == '\r'))
            len--;
        rc = p11kms_kms_login(slot->kms, p11kms_p11_caller(), P11KMS_KMS_USER_USER, pin, len);
    } else {
        p11kms_p11_log("token %s: cannot read its unlock source", slot->cfg->store);
        rc = P11KMS_KMS_PIN_INCORRECT;
    }
    OPENSSL_cleanse(pin, sizeof(pin));
    rv = p11kms_p11_rv_from_kms(rc, P11KMS_P11_CTX_TOKEN);
    if (rv == CKR_OK)
        slot->login = CKU_USER;
    return rv;
}
