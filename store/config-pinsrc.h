/*
 * store/config-pinsrc.h — the one parser of PIN-source syntax (DESIGN.md,
 * Configuration): `file:PATH`, `env:NAME`, `credential:NAME`, `prompt`, and,
 * where the caller allows it (the configuration's `unlock`), `keyfile:PATH`.
 *
 * Syntax only: nothing is opened or read here.  client/pin-source.c reads
 * what this parser recognised; store/config.c validates `unlock` with it.
 *
 * Why a header of static inline functions: the configuration loader lives in
 * the store layer and must not depend on client/, while front ends reach PIN
 * sources through client/ and must never link store/ (SQLite).  A header-only
 * parser is one implementation that both include, with no link dependency
 * and no risk of the same object landing twice in one shared library.
 *
 * Error messages never repeat the text they were given: a user who typed a
 * PIN where a PIN source belongs must not see it echoed into a log.
 */
#ifndef P11KMS_STORE_CONFIG_PINSRC_H
#define P11KMS_STORE_CONFIG_PINSRC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum p11kms_pinsrc_kind {
    P11KMS_PINSRC_NONE = 0,
    P11KMS_PINSRC_FILE,       /* file:PATH, a 0600 regular file owned by the caller */
    P11KMS_PINSRC_ENV,        /* env:NAME */
    P11KMS_PINSRC_CREDENTIAL, /* credential:NAME, $CREDENTIALS_DIRECTORY/NAME */
    P11KMS_PINSRC_PROMPT,     /* prompt: no echo on /dev/tty */
    P11KMS_PINSRC_KEYFILE     /* keyfile:PATH, a service key file (unlock only) */
} p11kms_pinsrc_kind;

/* A parsed PIN source.  `arg` points into the parsed text (no copy); it is
 * the PATH or NAME, NUL-terminated because it runs to the end of the text. */
typedef struct p11kms_pinsrc {
    p11kms_pinsrc_kind kind;
    const char *arg; /* NULL for prompt */
} p11kms_pinsrc;

/* Longest accepted PIN-source text; paths beyond it are refused. */
#define P11KMS_PINSRC_MAX 4096

static inline const char *p11kms_pinsrc_kind_name(p11kms_pinsrc_kind kind)
{
    switch (kind) {
    case P11KMS_PINSRC_FILE:
        return "file";
    case P11KMS_PINSRC_ENV:
        return "env";
    case P11KMS_PINSRC_CREDENTIAL:
        return "credential";
    case P11KMS_PINSRC_PROMPT:
        return "prompt";
    case P11KMS_PINSRC_KEYFILE:
        return "keyfile";
    default:
        return "none";
    }
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int
p11kms_pinsrc_fail_(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* An environment variable name as POSIX shells accept it. */
static inline int p11kms_pinsrc_env_name_ok_(const char *name)
{
    size_t i;

    if (name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
        return 0;
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* systemd credential names are file names inside $CREDENTIALS_DIRECTORY. */
static inline int p11kms_pinsrc_cred_name_ok_(const char *name)
{
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    return strchr(name, '/') == NULL && strlen(name) <= 255;
}

static inline int p11kms_pinsrc_has_ctl_(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

/*
 * Parse `text` as a PIN source.  allow_keyfile: 1 where a service key file is
 * meaningful (the configuration's `unlock`), else 0.  Returns 1 and fills
 * *out, or 0 with one line in err (which never contains `text`'s argument).
 */
static inline int p11kms_pinsrc_parse(const char *text, int allow_keyfile, p11kms_pinsrc *out,
                                      char *err, size_t errlen)
{
    const char *expect =
        allow_keyfile ? "expected file:PATH, env:NAME, credential:NAME, prompt or keyfile:PATH"
                      : "expected file:PATH, env:NAME, credential:NAME or prompt";
    p11kms_pinsrc_kind kind = P11KMS_PINSRC_NONE;
    const char *arg = NULL, *what;
    int ok = 0;

    out->kind = P11KMS_PINSRC_NONE;
    out->arg = NULL;
    if (text == NULL || text[0] == '\0') {
        p11kms_pinsrc_fail_(err, errlen, "empty PIN source (%s)", expect);
        goto done;
    }
    if (strlen(text) > P11KMS_PINSRC_MAX) {
        p11kms_pinsrc_fail_(err, errlen, "PIN source longer than %d bytes", P11KMS_PINSRC_MAX);
        goto done;
    }
    if (strcmp(text, "prompt") == 0) {
        kind = P11KMS_PINSRC_PROMPT;
        ok = 1;
        goto done;
    }
    if (strncmp(text, "file:", 5) == 0) {
        kind = P11KMS_PINSRC_FILE;
        arg = text + 5;
    } else if (strncmp(text, "env:", 4) == 0) {
        kind = P11KMS_PINSRC_ENV;
        arg = text + 4;
    } else if (strncmp(text, "credential:", 11) == 0) {
        kind = P11KMS_PINSRC_CREDENTIAL;
        arg = text + 11;
    } else if (strncmp(text, "keyfile:", 8) == 0 && allow_keyfile) {
        kind = P11KMS_PINSRC_KEYFILE;
        arg = text + 8;
    } else if (strncmp(text, "keyfile:", 8) == 0) {
        p11kms_pinsrc_fail_(err, errlen,
                            "keyfile: is accepted only as a token's unlock setting in the "
                            "configuration (%s)",
                            expect);
        goto done;
    } else {
        /* Do not echo: the text may well be a PIN typed in the wrong place. */
        p11kms_pinsrc_fail_(err, errlen, "unknown PIN source (%s)", expect);
        goto done;
    }
    what = p11kms_pinsrc_kind_name(kind);
    if (arg[0] == '\0') {
        p11kms_pinsrc_fail_(err, errlen, "%s: missing %s", what,
                            kind == P11KMS_PINSRC_ENV || kind == P11KMS_PINSRC_CREDENTIAL ? "NAME"
                                                                                          : "PATH");
    } else if (p11kms_pinsrc_has_ctl_(arg)) {
        p11kms_pinsrc_fail_(err, errlen, "%s: contains a control character", what);
    } else if (kind == P11KMS_PINSRC_ENV && !p11kms_pinsrc_env_name_ok_(arg)) {
        p11kms_pinsrc_fail_(err, errlen,
                            "env: '%s' is not a variable name (letters, digits and '_', not "
                            "starting with a digit)",
                            arg);
    } else if (kind == P11KMS_PINSRC_CREDENTIAL && !p11kms_pinsrc_cred_name_ok_(arg)) {
        p11kms_pinsrc_fail_(err, errlen,
                            "credential: '%s' is not a credential name (a file name without '/')",
                            arg);
    } else {
        ok = 1;
    }
done:
    if (ok) {
        out->kind = kind;
        out->arg = arg;
    }
    return ok;
}

#endif /* P11KMS_STORE_CONFIG_PINSRC_H */
