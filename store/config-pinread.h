/*
 * store/config-pinread.h — the one reader of non-interactive PIN sources
 * (`file:PATH`, `env:NAME`, `credential:NAME`), with the rules that make a
 * PIN file safe to trust: a regular file, owned by the caller, mode 0600 or
 * stricter (systemd credentials are such files too).
 *
 * Who uses it: client/pin-source.c (CLI, provider, TDE, plugin; it adds the
 * interactive `prompt`) and the module, through store/config.h's
 * p11kms_store_config_unlock_pin, for a token's unattended `unlock`.  The
 * module must not link client/ and front ends must not link store/, so the
 * reader is header-only, like the parser in store/config-pinsrc.h: one
 * implementation, no link dependency.
 *
 * The file is opened before it is checked (fstat on the descriptor), so
 * there is no window between check and use, and with O_NONBLOCK so that a
 * FIFO planted under the name cannot hang the caller.  PINs land in
 * protected memory (common/secmem.h) and are wiped when freed.  Messages
 * name the source ("file:/run/pin: ...") and never contain the PIN.
 */
#ifndef P11KMS_STORE_CONFIG_PINREAD_H
#define P11KMS_STORE_CONFIG_PINREAD_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secmem.h"
#include "store/config-pinsrc.h"

/* Longest PIN read from any source (store.h's P11KMS_STORE_PIN_MAX). */
#define P11KMS_PINSRC_PIN_MAX 256

/* A secret read from a PIN source: protected memory, NUL-terminated after len bytes. */
typedef struct p11kms_pinsrc_secret {
    unsigned char *data;
    size_t len;
    size_t cap; /* size of the allocation, for the wipe */
} p11kms_pinsrc_secret;

/* Wipe and release; safe on a zeroed or already freed secret. */
static inline void p11kms_pinsrc_secret_free(p11kms_pinsrc_secret *s)
{
    if (s == NULL)
        return;
    if (s->data != NULL)
        p11kms_secmem_free(s->data, s->cap);
    s->data = NULL;
    s->len = 0;
    s->cap = 0;
}

/* Room for max bytes, a CR LF that gets stripped, one byte to detect excess, and a NUL. */
static inline int p11kms_pinsrc_secret_alloc(p11kms_pinsrc_secret *s, size_t max, char *err,
                                             size_t errlen)
{
    s->len = 0;
    s->cap = max + 4;
    s->data = p11kms_secmem_alloc(s->cap);
    if (s->data == NULL) {
        s->cap = 0;
        return p11kms_pinsrc_fail_(err, errlen, "out of protected memory for a PIN");
    }
    return 1;
}

/* Strip one trailing newline (LF or CR LF), then apply the length and content rules. */
static inline int p11kms_pinsrc_secret_finish(p11kms_pinsrc_secret *s, const char *what, size_t max,
                                              char *err, size_t errlen)
{
    if (s->len > 0 && s->data[s->len - 1] == '\n') {
        s->len--;
        if (s->len > 0 && s->data[s->len - 1] == '\r')
            s->len--;
    }
    s->data[s->len] = '\0';
    if (s->len == 0)
        return p11kms_pinsrc_fail_(err, errlen, "%s: the PIN is empty", what);
    if (s->len > max)
        return p11kms_pinsrc_fail_(err, errlen, "%s: the PIN is longer than %zu bytes", what, max);
    if (memchr(s->data, '\0', s->len) != NULL)
        return p11kms_pinsrc_fail_(err, errlen, "%s: the PIN contains a NUL byte", what);
    return 1;
}

/* The ownership and permission rules, on an open descriptor. */
static inline int p11kms_pinsrc_check_fd_(int fd, const char *what, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return p11kms_pinsrc_fail_(err, errlen, "%s: cannot stat: %s", what, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return p11kms_pinsrc_fail_(err, errlen, "%s: not a regular file", what);
    if (st.st_uid != geteuid())
        return p11kms_pinsrc_fail_(err, errlen, "%s: owned by uid %u, not by the caller (uid %u)",
                                   what, (unsigned)st.st_uid, (unsigned)geteuid());
    if ((st.st_mode & 077) != 0)
        return p11kms_pinsrc_fail_(err, errlen,
                                   "%s: mode %04o lets other users at it; it must be 0600 or "
                                   "stricter (chmod 600)",
                                   what, (unsigned)(st.st_mode & 07777));
    return 1;
}

/*
 * Read a secret file under the PIN-file rules (at most max bytes after one
 * trailing newline is stripped).  `what` names the source in messages.
 */
static inline int p11kms_pinsrc_read_file(const char *path, const char *what, size_t max,
                                          p11kms_pinsrc_secret *out, char *err, size_t errlen)
{
    ssize_t n;
    int fd = -1, ok = 0;

    out->data = NULL;
    if (!p11kms_pinsrc_secret_alloc(out, max, err, errlen))
        goto done;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        p11kms_pinsrc_fail_(err, errlen, "%s: cannot open: %s", what, strerror(errno));
        goto done;
    }
    if (!p11kms_pinsrc_check_fd_(fd, what, err, errlen))
        goto done;
    /* Read up to one byte more than fits after stripping, so an oversized file is refused. */
    while (out->len < max + 3) {
        n = read(fd, out->data + out->len, max + 3 - out->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            p11kms_pinsrc_fail_(err, errlen, "%s: read error: %s", what, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    ok = p11kms_pinsrc_secret_finish(out, what, max, err, errlen);
done:
    if (fd >= 0)
        close(fd);
    if (!ok)
        p11kms_pinsrc_secret_free(out);
    return ok;
}

static inline int p11kms_pinsrc_read_env(const char *name, size_t max, p11kms_pinsrc_secret *out,
                                         char *err, size_t errlen)
{
    const char *value = getenv(name);
    size_t len;
    int ok = 0;

    out->data = NULL;
    if (value == NULL) {
        p11kms_pinsrc_fail_(err, errlen, "env:%s: the environment variable is not set", name);
        goto done;
    }
    len = strlen(value);
    if (len == 0) {
        p11kms_pinsrc_fail_(err, errlen, "env:%s: the environment variable is empty", name);
        goto done;
    }
    if (len > max) {
        p11kms_pinsrc_fail_(err, errlen, "env:%s: the PIN is longer than %zu bytes", name, max);
        goto done;
    }
    if (!p11kms_pinsrc_secret_alloc(out, max, err, errlen))
        goto done;
    memcpy(out->data, value, len + 1);
    out->len = len;
    ok = 1;
done:
    return ok;
}

static inline int p11kms_pinsrc_read_credential(const char *name, size_t max,
                                                p11kms_pinsrc_secret *out, char *err, size_t errlen)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    char path[PATH_MAX], what[300];

    out->data = NULL;
    snprintf(what, sizeof(what), "credential:%.280s", name);
    if (dir == NULL || dir[0] == '\0')
        return p11kms_pinsrc_fail_(err, errlen,
                                   "%s: $CREDENTIALS_DIRECTORY is not set (start the program "
                                   "from a systemd unit with LoadCredential= or SetCredential=)",
                                   what);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return p11kms_pinsrc_fail_(err, errlen, "%s: path too long", what);
    return p11kms_pinsrc_read_file(path, what, max, out, err, errlen);
}

/*
 * Read the PIN of a non-interactive source.  `prompt` and `keyfile:` are
 * refused here: the first needs a terminal (client/pin-source.c), the second
 * names a service key file that the store reads itself.
 */
static inline int p11kms_pinsrc_read(const p11kms_pinsrc *src, size_t max,
                                     p11kms_pinsrc_secret *out, char *err, size_t errlen)
{
    char what[PATH_MAX + 8];

    out->data = NULL;
    out->len = 0;
    out->cap = 0;
    switch (src->kind) {
    case P11KMS_PINSRC_FILE:
        snprintf(what, sizeof(what), "file:%s", src->arg);
        return p11kms_pinsrc_read_file(src->arg, what, max, out, err, errlen);
    case P11KMS_PINSRC_ENV:
        return p11kms_pinsrc_read_env(src->arg, max, out, err, errlen);
    case P11KMS_PINSRC_CREDENTIAL:
        return p11kms_pinsrc_read_credential(src->arg, max, out, err, errlen);
    case P11KMS_PINSRC_PROMPT:
        return p11kms_pinsrc_fail_(err, errlen, "prompt: needs a terminal (interactive only)");
    case P11KMS_PINSRC_KEYFILE:
        return p11kms_pinsrc_fail_(err, errlen, "keyfile: names a service key file, not a PIN");
    default:
        return p11kms_pinsrc_fail_(err, errlen, "no PIN source");
    }
}

#endif /* P11KMS_STORE_CONFIG_PINREAD_H */
