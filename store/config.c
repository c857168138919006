/*
 * store/config.c — reads p11kms.conf into a typed p11kms_config.
 *
 * Why it is strict: a configuration mistake in a key service must be seen
 * when the module loads, not discovered later as a weaker KDF, a missing
 * audit seal or a token that silently uses another store.  So every unknown
 * name, bad value and duplicate is an error that names file, line and key,
 * and nothing falls back to a default except a key that is simply absent.
 *
 * The file is read whole (at most 1 MiB) and parsed line by line; each key
 * has one handler in a table, so the accepted names are exactly the table.
 */
#include "config.h"

#include "store/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#error "SYSCONFDIR must be defined by the build (configure --sysconfdir)"
#endif

typedef enum cfg_section {
    SEC_NONE = 0,
    SEC_TOKEN,
    SEC_ACCESS,
    SEC_AUDIT,
} cfg_section;

static const char *const section_names[] = {"", "token", "access", "audit"};

/* Index of each key inside its section, for duplicate detection. */
#define CFG_KEYS_PER_SECTION 8

typedef struct cfg_parser cfg_parser;
typedef int (*cfg_handler)(cfg_parser *ps, const char *value);

typedef struct cfg_key {
    cfg_section section;
    const char *name;
    unsigned slot; /* index into the seen-lines array of the section */
    cfg_handler handle;
} cfg_key;

/* Per-token bookkeeping that does not belong in the public struct. */
typedef struct cfg_token_seen {
    unsigned lines[CFG_KEYS_PER_SECTION];
} cfg_token_seen;

struct cfg_parser {
    const char *name; /* file name for messages */
    char *dir;        /* directory anchoring relative paths; NULL if unknown */
    p11kms_config *cfg;
    cfg_section section;
    unsigned line;      /* current line */
    const cfg_key *key; /* key being handled, for messages */
    unsigned section_line[4];
    unsigned global_seen[4][CFG_KEYS_PER_SECTION];
    cfg_token_seen *token_seen;
    char *err;
    size_t errlen;
};

/* Messages ------------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
msg(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* "FILE:LINE: " + text; always returns 0 so handlers can `return line_err(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
line_err(cfg_parser *ps, unsigned line, const char *fmt, ...)
{
    char text[P11KMS_CONFIG_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return msg(ps->err, ps->errlen, "%s:%u: %s", ps->name, line, text);
}

/* "FILE:LINE: [section] key: " + text, for the key being handled. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
key_err(cfg_parser *ps, const char *fmt, ...)
{
    char text[P11KMS_CONFIG_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return line_err(ps, ps->line, "[%s] %s: %s", section_names[ps->key->section], ps->key->name,
                    text);
}

/*
 * A user value as shown in a message: shortened so one line stays readable,
 * and with control bytes replaced by '?' so a message cannot carry terminal
 * escapes.
 */
static const char *shown(const char *value, char *buf, size_t buflen)
{
    size_t n = strlen(value), i;

    if (n + 1 <= buflen)
        memcpy(buf, value, n + 1);
    else
        snprintf(buf, buflen, "%.*s...", (int)(buflen - 4), value);
    for (i = 0; buf[i] != '\0'; i++) {
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = '?';
    }
    return buf;
}

/* Value helpers ---------------------------------------------------------------- */

static p11kms_config_token *cur_token(cfg_parser *ps)
{
    return &ps->cfg->tokens[ps->cfg->ntokens - 1];
}

/* Decimal, digits only: no sign, no blanks, no hex, no overflow. */
static int parse_uint(cfg_parser *ps, const char *value, unsigned low, unsigned high, unsigned *out)
{
    char show[64];
    unsigned long long v = 0;
    size_t i;
    int ok = 0;

    if (value[0] == '\0')
        goto bad;
    for (i = 0; value[i] != '\0'; i++) {
        if (!isdigit((unsigned char)value[i]))
            goto bad;
        v = v * 10 + (unsigned)(value[i] - '0');
        if (v > UINT_MAX) {
            key_err(ps, "%s is out of range (%u-%u)", shown(value, show, sizeof(show)), low, high);
            goto done;
        }
    }
    if (v < low || v > high) {
        key_err(ps, "%llu is out of range (%u-%u)", v, low, high);
        goto done;
    }
    *out = (unsigned)v;
    ok = 1;
    goto done;
bad:
    key_err(ps, "expected a number, got '%s'", shown(value, show, sizeof(show)));
done:
    return ok;
}

static int parse_bool(cfg_parser *ps, const char *value, int *out)
{
    char show[64];
    int ok = 1;

    if (strcmp(value, "yes") == 0)
        *out = 1;
    else if (strcmp(value, "no") == 0)
        *out = 0;
    else
        ok = key_err(ps, "expected yes or no, got '%s'", shown(value, show, sizeof(show)));
    return ok;
}

/*
 * Absolute path for a configured path: as is when absolute, else joined to
 * the configuration file's directory.  `~` is refused rather than guessed.
 * `what` prefixes messages ("" or "file: ").
 */
static int resolve_path(cfg_parser *ps, const char *value, const char *what, char **out)
{
    size_t n;
    int ok = 0;

    *out = NULL;
    if (value[0] == '~') {
        key_err(ps, "%s'~' is not expanded; use an absolute path", what);
        goto done;
    }
    if (value[0] == '/') {
        *out = strdup(value);
    } else if (ps->dir == NULL) {
        key_err(ps, "%srelative path '%s' needs an absolute configuration file name", what, value);
        goto done;
    } else {
        n = strlen(ps->dir) + 1 + strlen(value) + 1;
        *out = malloc(n);
        if (*out != NULL)
            snprintf(*out, n, "%s/%s", ps->dir, value);
    }
    if (*out == NULL) {
        key_err(ps, "out of memory");
        goto done;
    }
    if (strlen(*out) >= PATH_MAX) {
        key_err(ps, "%spath longer than %d bytes", what, PATH_MAX - 1);
        free(*out);
        *out = NULL;
        goto done;
    }
    ok = 1;
done:
    return ok;
}

static int set_string(cfg_parser *ps, const char *value, char **field)
{
    *field = strdup(value);
    return *field != NULL || key_err(ps, "out of memory");
}

/* [token] handlers ---------------------------------------------------------- */

static int h_store(cfg_parser *ps, const char *value)
{
    return resolve_path(ps, value, "", &cur_token(ps)->store);
}

static int h_label(cfg_parser *ps, const char *value)
{
    if (strlen(value) > P11KMS_CONFIG_LABEL_MAX)
        return key_err(ps, "longer than %d bytes (the PKCS#11 token label field)",
                       P11KMS_CONFIG_LABEL_MAX);
    return set_string(ps, value, &cur_token(ps)->label);
}

/* Rebuild `unlock` with its PATH made absolute, then parse the stored copy. */
static int h_unlock(cfg_parser *ps, const char *value)
{
    p11kms_config_token *tok = cur_token(ps);
    char perr[256], *path = NULL;
    const char *prefix;
    p11kms_pinsrc src;
    size_t n;
    int ok = 0;

    tok->unlock_line = ps->line;
    if (!p11kms_pinsrc_parse(value, 1, &src, perr, sizeof(perr))) {
        key_err(ps, "%s", perr);
        goto done;
    }
    if (src.kind == P11KMS_PINSRC_PROMPT) {
        key_err(ps, "prompt cannot unlock unattended (use file:, env:, credential: or "
                    "keyfile:)");
        goto done;
    }
    if (src.kind == P11KMS_PINSRC_FILE || src.kind == P11KMS_PINSRC_KEYFILE) {
        prefix = src.kind == P11KMS_PINSRC_FILE ? "file:" : "keyfile:";
        if (!resolve_path(ps, src.arg,
                          src.kind == P11KMS_PINSRC_FILE ? "file: " : "keyfile: ", &path))
            goto done;
        n = strlen(prefix) + strlen(path) + 1;
        tok->unlock = malloc(n);
        if (tok->unlock != NULL)
            snprintf(tok->unlock, n, "%s%s", prefix, path);
    } else {
        tok->unlock = strdup(value);
    }
    if (tok->unlock == NULL) {
        key_err(ps, "out of memory");
        goto done;
    }
    /* Cannot fail: same syntax, only the path got longer (checked by resolve_path). */
    ok = p11kms_pinsrc_parse(tok->unlock, 1, &tok->unlock_source, perr, sizeof(perr));
    if (!ok)
        key_err(ps, "%s", perr);
done:
    free(path);
    return ok;
}

static int h_allow_reinit(cfg_parser *ps, const char *value)
{
    return parse_bool(ps, value, &cur_token(ps)->allow_reinit);
}

static int h_min_pin(cfg_parser *ps, const char *value)
{
    return parse_uint(ps, value, P11KMS_CONFIG_MIN_PIN_LOW, P11KMS_CONFIG_MIN_PIN_HIGH,
                      &cur_token(ps)->min_pin_length);
}

/* 0 is accepted and means "the store's default cost", as when absent. */
static int h_kdf(cfg_parser *ps, const char *value)
{
    unsigned v = 0;
    int ok = parse_uint(ps, value, 0, P11KMS_CONFIG_KDF_HIGH, &v);

    if (ok && v != 0 && v < P11KMS_CONFIG_KDF_LOW)
        ok =
            key_err(ps, "%u is out of range (0 for the default, or %d-%d: log2 of the scrypt cost)",
                    v, P11KMS_CONFIG_KDF_LOW, P11KMS_CONFIG_KDF_HIGH);
    if (ok)
        cur_token(ps)->kdf = v;
    return ok;
}

/* [access] handlers --------------------------------------------------------- */

/* `no`, `p11-kit`, or `p11-kit:/ABSOLUTE/SOCKET` (the socket peers must come through). */
static int h_served(cfg_parser *ps, const char *value)
{
    p11kms_config *cfg = ps->cfg;
    char show[64];
    int ok = 1;

    if (strcmp(value, "no") == 0) {
        cfg->served = P11KMS_SERVED_NO;
    } else if (strcmp(value, "p11-kit") == 0) {
        cfg->served = P11KMS_SERVED_P11KIT;
    } else if (strncmp(value, "p11-kit:", 8) == 0 && value[8] != '/') {
        ok = key_err(ps, "the socket after 'p11-kit:' must be an absolute path");
    } else if (strncmp(value, "p11-kit:", 8) == 0) {
        cfg->served = P11KMS_SERVED_P11KIT;
        ok = set_string(ps, value + 8, &cfg->served_socket);
    } else {
        ok = key_err(ps, "expected no, p11-kit or p11-kit:/SOCKET, got '%s'",
                     shown(value, show, sizeof(show)));
    }
    return ok;
}

/* A group name as useradd accepts it, or a numeric gid; resolved later, not here. */
static int h_admin_group(cfg_parser *ps, const char *value)
{
    char show[64];
    size_t i;
    int good = value[0] != '-';

    for (i = 0; good && value[i] != '\0'; i++) {
        unsigned char c = (unsigned char)value[i];
        good = isalnum(c) || c == '_' || c == '-' || c == '.' || (c == '$' && value[i + 1] == 0);
    }
    if (!good || i > 64)
        return key_err(ps, "'%s' is not a group name or number", shown(value, show, sizeof(show)));
    return set_string(ps, value, &ps->cfg->admin_group);
}

static int h_rotate_new_keys(cfg_parser *ps, const char *value)
{
    return parse_bool(ps, value, &ps->cfg->rotate_new_keys);
}

/* [audit] handlers ---------------------------------------------------------- */

static int h_durability(cfg_parser *ps, const char *value)
{
    char show[64];
    int ok = 1;

    if (strcmp(value, "process") == 0)
        ps->cfg->durability = P11KMS_DURABILITY_PROCESS;
    else if (strcmp(value, "power") == 0)
        ps->cfg->durability = P11KMS_DURABILITY_POWER;
    else
        ok = key_err(ps, "expected process or power, got '%s'", shown(value, show, sizeof(show)));
    return ok;
}

static int h_seal_records(cfg_parser *ps, const char *value)
{
    return parse_uint(ps, value, 0, 100000000u, &ps->cfg->seal_records);
}

static int h_seal_minutes(cfg_parser *ps, const char *value)
{
    return parse_uint(ps, value, 0, 525600u, &ps->cfg->seal_minutes);
}

static int h_retention_days(cfg_parser *ps, const char *value)
{
    return parse_uint(ps, value, 0, 36500u, &ps->cfg->retention_days);
}

static int h_syslog(cfg_parser *ps, const char *value)
{
    return parse_bool(ps, value, &ps->cfg->syslog);
}

/* Exactly DESIGN.md's table. */
static const cfg_key keys[] = {
    {SEC_TOKEN, "store", 0, h_store},
    {SEC_TOKEN, "label", 1, h_label},
    {SEC_TOKEN, "unlock", 2, h_unlock},
    {SEC_TOKEN, "allow-reinit", 3, h_allow_reinit},
    {SEC_TOKEN, "min-pin-length", 4, h_min_pin},
    {SEC_TOKEN, "kdf", 5, h_kdf},
    {SEC_ACCESS, "served", 0, h_served},
    {SEC_ACCESS, "admin-group", 1, h_admin_group},
    {SEC_ACCESS, "rotate-new-keys", 2, h_rotate_new_keys},
    {SEC_AUDIT, "durability", 0, h_durability},
    {SEC_AUDIT, "seal-records", 1, h_seal_records},
    {SEC_AUDIT, "seal-minutes", 2, h_seal_minutes},
    {SEC_AUDIT, "retention-days", 3, h_retention_days},
    {SEC_AUDIT, "syslog", 4, h_syslog},
};

/* Structure ------------------------------------------------------------------- */

static void token_defaults(p11kms_config_token *tok, unsigned line)
{
    memset(tok, 0, sizeof(*tok));
    tok->min_pin_length = P11KMS_CONFIG_DEFAULT_MIN_PIN;
    tok->line = line;
}

static p11kms_config *config_new(void)
{
    p11kms_config *cfg = calloc(1, sizeof(*cfg));

    if (cfg != NULL) {
        cfg->durability = P11KMS_DURABILITY_PROCESS;
        cfg->seal_records = P11KMS_CONFIG_DEFAULT_SEAL_RECORDS;
        cfg->seal_minutes = P11KMS_CONFIG_DEFAULT_SEAL_MINUTES;
    }
    return cfg;
}

static int add_token(cfg_parser *ps)
{
    p11kms_config *cfg = ps->cfg;
    p11kms_config_token *tokens;
    cfg_token_seen *seen;
    size_t n = cfg->ntokens + 1;
    int ok = 0;

    if (n > P11KMS_CONFIG_MAX_TOKENS) {
        line_err(ps, ps->line, "more than %d [token] sections", P11KMS_CONFIG_MAX_TOKENS);
        goto done;
    }
    tokens = realloc(cfg->tokens, n * sizeof(*tokens));
    if (tokens != NULL)
        cfg->tokens = tokens;
    seen = tokens != NULL ? realloc(ps->token_seen, n * sizeof(*seen)) : NULL;
    if (seen == NULL) {
        line_err(ps, ps->line, "out of memory");
        goto done;
    }
    ps->token_seen = seen;
    token_defaults(&tokens[n - 1], ps->line);
    memset(&seen[n - 1], 0, sizeof(seen[n - 1]));
    cfg->ntokens = n;
    ok = 1;
done:
    return ok;
}

/* `[name]`, blanks allowed inside the brackets.  text is modified. */
static int section_header(cfg_parser *ps, char *text, size_t len)
{
    cfg_section sec = SEC_NONE;
    char *name = text + 1, show[64];
    unsigned i;
    int ok = 0;

    if (len < 2 || text[len - 1] != ']') {
        line_err(ps, ps->line, "malformed section header (expected [token], [access] or [audit])");
        goto done;
    }
    text[--len] = '\0';
    while (*name == ' ' || *name == '\t')
        name++;
    while (len > 1 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        text[--len] = '\0';
    for (i = SEC_TOKEN; i <= SEC_AUDIT; i++) {
        if (strcmp(name, section_names[i]) == 0)
            sec = (cfg_section)i;
    }
    if (sec == SEC_NONE) {
        line_err(ps, ps->line, "unknown section [%s] (expected [token], [access] or [audit])",
                 shown(name, show, sizeof(show)));
    } else if (sec != SEC_TOKEN && ps->section_line[sec] != 0) {
        line_err(ps, ps->line, "section [%s] repeated (first on line %u)", section_names[sec],
                 ps->section_line[sec]);
    } else {
        ps->section = sec;
        ps->section_line[sec] = ps->line;
        ok = sec == SEC_TOKEN ? add_token(ps) : 1;
    }
done:
    return ok;
}

static const cfg_key *find_key(cfg_section sec, const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].section == sec && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

static int has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

/* Split "key = value" in place; 0 (err set) when there is no '=' or no key. */
static int split_key_value(cfg_parser *ps, char *text, char **key, char **value)
{
    char *eq = strchr(text, '='), *end;
    int ok = 0;

    if (eq == NULL) {
        line_err(ps, ps->line, "expected 'key = value', '[section]' or a # comment");
        goto done;
    }
    *eq = '\0';
    for (end = eq; end > text && (end[-1] == ' ' || end[-1] == '\t'); end--)
        end[-1] = '\0';
    *key = text;
    *value = eq + 1;
    while (**value == ' ' || **value == '\t')
        (*value)++;
    if (text[0] == '\0')
        line_err(ps, ps->line, "missing key before '='");
    else
        ok = 1;
done:
    return ok;
}

static int key_line(cfg_parser *ps, char *text)
{
    const cfg_key *k = NULL;
    char *key = NULL, *value = NULL, show[64];
    unsigned *seen;
    int ok = 0;

    if (!split_key_value(ps, text, &key, &value))
        goto done;
    if (ps->section == SEC_NONE) {
        line_err(ps, ps->line,
                 "key '%.64s' outside of a section (start with [token], [access] or [audit])", key);
        goto done;
    }
    k = find_key(ps->section, key);
    if (k == NULL) {
        line_err(ps, ps->line, "[%s] unknown key '%s'", section_names[ps->section],
                 shown(key, show, sizeof(show)));
        goto done;
    }
    ps->key = k;
    seen = ps->section == SEC_TOKEN ? ps->token_seen[ps->cfg->ntokens - 1].lines
                                    : ps->global_seen[ps->section];
    if (seen[k->slot] != 0) {
        key_err(ps, "duplicate key (first set on line %u)", seen[k->slot]);
        goto done;
    }
    seen[k->slot] = ps->line;
    if (value[0] == '\0')
        key_err(ps, "empty value");
    else if (has_control(value))
        key_err(ps, "the value contains a control character");
    else
        ok = k->handle(ps, value);
done:
    return ok;
}

/* One line, NUL-terminated, without its newline.  Modified in place. */
static int parse_line(cfg_parser *ps, char *text)
{
    size_t len;

    while (*text == ' ' || *text == '\t')
        text++;
    len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if (len == 0 || text[0] == '#')
        return 1;
    if (text[0] == '[')
        return section_header(ps, text, len);
    return key_line(ps, text);
}

/* Default store path ---------------------------------------------------------- */

/* $HOME, else the password database's home of the real user. */
static int home_dir(char *buf, size_t buflen, char *err, size_t errlen)
{
    const char *home = getenv("HOME");
    struct passwd pw, *res = NULL;
    char pwbuf[4096];
    int ok = 0;

    if (home == NULL || home[0] != '/') {
        if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL &&
            res->pw_dir != NULL && res->pw_dir[0] == '/')
            home = res->pw_dir;
        else
            home = NULL;
    }
    if (home == NULL)
        msg(err, errlen,
            "cannot find the home directory ($HOME is not set and uid %u has no passwd entry)",
            (unsigned)getuid());
    else if ((size_t)snprintf(buf, buflen, "%s", home) >= buflen)
        msg(err, errlen, "home directory path too long");
    else
        ok = 1;
    return ok;
}

/* $VAR if set to an absolute path (XDG: relative values are ignored), else $HOME/fallback. */
static int xdg_dir(const char *var, const char *fallback, char *buf, size_t buflen, char *err,
                   size_t errlen)
{
    const char *v = getenv(var);
    char home[PATH_MAX];
    int ok = 0;

    if (v != NULL && v[0] == '/') {
        ok = (size_t)snprintf(buf, buflen, "%s", v) < buflen;
        if (!ok)
            msg(err, errlen, "$%s is too long", var);
    } else if (home_dir(home, sizeof(home), err, errlen)) {
        ok = (size_t)snprintf(buf, buflen, "%s/%s", home, fallback) < buflen;
        if (!ok)
            msg(err, errlen, "$HOME is too long");
    }
    return ok;
}

int p11kms_store_config_default_store(char *buf, size_t buflen, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    int ok = xdg_dir("XDG_DATA_HOME", ".local/share", dir, sizeof(dir), err, errlen);

    if (ok && (size_t)snprintf(buf, buflen, "%s/p11kms/store.db", dir) >= buflen)
        ok = msg(err, errlen, "default store path too long");
    return ok;
}

/* Checks across tokens, once the whole file is read. */
/* A token without `store` gets the default one, allowed only when it is the only token. */
static int default_store_for(cfg_parser *ps, p11kms_config_token *t)
{
    char path[PATH_MAX], derr[256];
    int ok = 0;

    if (ps->cfg->ntokens > 1)
        line_err(ps, t->line, "[token] store: required when there are several [token] sections");
    else if (!p11kms_store_config_default_store(path, sizeof(path), derr, sizeof(derr)))
        msg(ps->err, ps->errlen, "%s: [token] store: %s", ps->name, derr);
    else if ((t->store = strdup(path)) == NULL)
        msg(ps->err, ps->errlen, "%s: out of memory", ps->name);
    else
        ok = 1;
    return ok;
}

/* Two tokens may share neither a store nor a label. */
static int token_conflicts(cfg_parser *ps, const p11kms_config_token *t,
                           const p11kms_config_token *o)
{
    if (strcmp(o->store, t->store) == 0)
        return !line_err(ps, t->line,
                         "[token] store: '%s' is also the store of the token on line %u", t->store,
                         o->line);
    if (t->label != NULL && o->label != NULL && strcmp(o->label, t->label) == 0)
        return !line_err(ps, t->line,
                         "[token] label: '%s' is also the label of the token on line %u", t->label,
                         o->line);
    return 0;
}

/* Checks across tokens, once the whole file is read. */
static int finish_tokens(cfg_parser *ps)
{
    p11kms_config *cfg = ps->cfg;
    size_t i, j;
    int ok = 0;

    if (cfg->ntokens == 0) {
        if (!add_token(ps))
            goto done;
        cfg->tokens[0].line = 0; /* no [token] section: the implicit default token */
    }
    for (i = 0; i < cfg->ntokens; i++) {
        if (cfg->tokens[i].store == NULL && !default_store_for(ps, &cfg->tokens[i]))
            goto done;
        for (j = 0; j < i; j++) {
            if (token_conflicts(ps, &cfg->tokens[i], &cfg->tokens[j]))
                goto done;
        }
    }
    ok = 1;
done:
    return ok;
}

/* Directory of an absolute file name, or NULL (relative paths then refused). */
static char *dir_of(const char *name)
{
    const char *slash;
    char *dir;

    if (name == NULL || name[0] != '/')
        return NULL;
    slash = strrchr(name, '/');
    if (slash == name)
        return strdup("/");
    dir = strndup(name, (size_t)(slash - name));
    return dir;
}

static int parse_text(cfg_parser *ps, const char *text, size_t len)
{
    char *copy = NULL, *line, *nl;
    int ok = 0;

    if (memchr(text, '\0', len) != NULL) {
        msg(ps->err, ps->errlen, "%s: contains a NUL byte (not a text file)", ps->name);
        goto done;
    }
    copy = strndup(text, len);
    if (copy == NULL) {
        msg(ps->err, ps->errlen, "%s: out of memory", ps->name);
        goto done;
    }
    for (line = copy; line != NULL; line = nl) {
        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        ps->line++;
        if (!parse_line(ps, line))
            goto done;
    }
    ok = finish_tokens(ps);
done:
    free(copy);
    return ok;
}

int p11kms_store_config_parse(const char *text, size_t len, const char *name, p11kms_config **out,
                              char *err, size_t errlen)
{
    cfg_parser ps;
    int ok = 0;

    memset(&ps, 0, sizeof(ps));
    *out = NULL;
    ps.name = name != NULL ? name : "(configuration)";
    ps.err = err;
    ps.errlen = errlen;
    ps.cfg = config_new();
    ps.dir = dir_of(name);
    if (ps.cfg == NULL || (name != NULL && name[0] == '/' && ps.dir == NULL)) {
        msg(err, errlen, "%s: out of memory", ps.name);
        goto done;
    }
    if (name != NULL) {
        ps.cfg->path = strdup(name);
        if (ps.cfg->path == NULL) {
            msg(err, errlen, "%s: out of memory", ps.name);
            goto done;
        }
    }
    if (!parse_text(&ps, text != NULL ? text : "", text != NULL ? len : 0))
        goto done;
    *out = ps.cfg;
    ps.cfg = NULL;
    ok = 1;
done:
    p11kms_store_config_free(ps.cfg);
    free(ps.token_seen);
    free(ps.dir);
    return ok;
}

/* Files ---------------------------------------------------------------------- */

/* Read a whole regular file of at most P11KMS_CONFIG_MAX_FILE bytes. */
static int read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    size_t got = 0;
    ssize_t n;
    char *buf = NULL;
    int fd, ok = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        msg(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        msg(err, errlen, "%s: not a regular file", path);
        goto done;
    }
    if (st.st_size > P11KMS_CONFIG_MAX_FILE) {
        msg(err, errlen, "%s: larger than %d bytes", path, P11KMS_CONFIG_MAX_FILE);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        msg(err, errlen, "%s: out of memory", path);
        goto done;
    }
    while (got < (size_t)st.st_size) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            msg(err, errlen, "%s: read error: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break; /* shrank while reading: parse what is there */
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
    ok = 1;
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    return ok;
}

int p11kms_store_config_load_file(const char *path, p11kms_config **out, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    int ok = 0;

    *out = NULL;
    if (!read_file(path, &data, &len, err, errlen))
        goto done;
    ok = p11kms_store_config_parse(data, len, path, out, err, errlen);
done:
    free(data);
    return ok;
}

/* 1: exists (path usable), 0: absent, -1: error (err set). */
/* 1: exists (path usable), 0: absent, -1: error (err set). */
static int probe(const char *path, char *err, size_t errlen)
{
    struct stat st;
    int found = 1;

    if (stat(path, &st) != 0) {
        found = errno == ENOENT || errno == ENOTDIR ? 0 : -1;
        if (found < 0)
            msg(err, errlen, "%s: cannot access: %s", path, strerror(errno));
    }
    return found;
}

/* $P11KMS_CONF made absolute against the current directory. */
static int locate_env(const char *env, char *buf, size_t buflen, char *err, size_t errlen)
{
    char cwd[PATH_MAX];
    int n;

    if (env[0] == '/') {
        n = snprintf(buf, buflen, "%s", env);
    } else if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return msg(err, errlen, "%s (named by P11KMS_CONF): cannot find the current directory: %s",
                   env, strerror(errno));
    } else {
        n = snprintf(buf, buflen, "%s/%s", cwd, env);
    }
    return (size_t)n < buflen || msg(err, errlen, "$P11KMS_CONF is too long");
}

int p11kms_store_config_locate(char *buf, size_t buflen, char *err, size_t errlen)
{
    const char *env = getenv("P11KMS_CONF");
    char dir[PATH_MAX];
    int found = -1;

    if (env != NULL && env[0] != '\0') {
        /* Named explicitly: it must exist, never a fallback to the next place. */
        if (locate_env(env, buf, buflen, err, errlen))
            found = probe(buf, err, errlen);
        if (found == 0) {
            msg(err, errlen, "%s (named by P11KMS_CONF): no such file", buf);
            found = -1;
        }
        goto done;
    }
    if (!xdg_dir("XDG_CONFIG_HOME", ".config", dir, sizeof(dir), err, errlen))
        goto done;
    if ((size_t)snprintf(buf, buflen, "%s/p11kms/p11kms.conf", dir) >= buflen) {
        msg(err, errlen, "$XDG_CONFIG_HOME is too long");
        goto done;
    }
    found = probe(buf, err, errlen);
    if (found != 0)
        goto done;
    snprintf(buf, buflen, "%s/p11kms/p11kms.conf", SYSCONFDIR);
    found = probe(buf, err, errlen);
    if (found == 0)
        buf[0] = '\0'; /* no file anywhere: the embedded default */
done:
    return found >= 0;
}

int p11kms_store_config_default(p11kms_config **out, char *err, size_t errlen)
{
    return p11kms_store_config_parse("", 0, NULL, out, err, errlen);
}

int p11kms_store_config_load(p11kms_config **out, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int ok = 0;

    *out = NULL;
    if (!p11kms_store_config_locate(path, sizeof(path), err, errlen))
        ok = 0;
    else if (path[0] == '\0')
        ok = p11kms_store_config_default(out, err, errlen);
    else
        ok = p11kms_store_config_load_file(path, out, err, errlen);
    return ok;
}

const p11kms_config_token *p11kms_store_config_token_by_label(const p11kms_config *cfg,
                                                              const char *label)
{
    size_t i;

    for (i = 0; cfg != NULL && label != NULL && i < cfg->ntokens; i++) {
        if (cfg->tokens[i].label != NULL && strcmp(cfg->tokens[i].label, label) == 0)
            return &cfg->tokens[i];
    }
    return NULL;
}

void p11kms_store_config_free(p11kms_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->ntokens; i++) {
        free(cfg->tokens[i].store);
        free(cfg->tokens[i].label);
        free(cfg->tokens[i].unlock);
    }
    free(cfg->tokens);
    free(cfg->path);
    free(cfg->served_socket);
    free(cfg->admin_group);
    free(cfg);
}
