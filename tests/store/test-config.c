/*
 * tests/store/test-config.c — the p11kms.conf loader (store/config.h).
 *
 * Every error class is checked with its exact message, because the message
 * (file:line: [section] key: ...) is the user interface of a configuration
 * mistake.  The search order is exercised through the environment variables
 * it reads, in temporary directories; loading must create nothing.
 */
#include "config.h"

#include "store/config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF "/etc/p11kms/p11kms.conf"

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p11kms-test-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    unsetenv("P11KMS_CONF");
    setenv("HOME", tmpdir, 1);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("XDG_DATA_HOME");
}

static void rm_rf(const char *path)
{
    char cmd[PATH_MAX + 32];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
    rm_rf(tmpdir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

static void mkdirs(const char *path)
{
    char cmd[PATH_MAX + 32];

    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

static p11kms_config *parse_ok(const char *text)
{
    p11kms_config *cfg = NULL;
    char err[P11KMS_CONFIG_ERR_MAX] = "";
    int ok = p11kms_store_config_parse(text, strlen(text), CONF, &cfg, err, sizeof(err));

    ck_assert_msg(ok == 1, "unexpected error: %s", err);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Good files -------------------------------------------------------------- */

START_TEST(test_full_file)
{
    p11kms_config *cfg = parse_ok("# p11kms configuration\n"
                                  "\n"
                                  "[token]\n"
                                  "  store = /var/lib/p11kms/store.db  \n"
                                  "label=Main token\n"
                                  "unlock = credential:p11kms-pin\n"
                                  "allow-reinit = yes\n"
                                  "min-pin-length = 12\n"
                                  "kdf = 10\r\n"
                                  "\t# indented comment\n"
                                  "[access]\n"
                                  "served = p11-kit:/run/p11kms/pkcs11.sock\n"
                                  "admin-group = kmsadmin\n"
                                  "rotate-new-keys = yes\n"
                                  "[ audit ]\n"
                                  "durability = power\n"
                                  "seal-records = 500\n"
                                  "seal-minutes = 0\n"
                                  "retention-days = 365\n"
                                  "syslog = yes");
    const p11kms_config_token *t = &cfg->tokens[0];

    ck_assert_uint_eq(cfg->ntokens, 1);
    ck_assert_str_eq(cfg->path, CONF);
    ck_assert_str_eq(t->store, "/var/lib/p11kms/store.db");
    ck_assert_str_eq(t->label, "Main token");
    ck_assert_str_eq(t->unlock, "credential:p11kms-pin");
    ck_assert_int_eq(t->unlock_source.kind, P11KMS_PINSRC_CREDENTIAL);
    ck_assert_str_eq(t->unlock_source.arg, "p11kms-pin");
    ck_assert_int_eq(t->allow_reinit, 1);
    ck_assert_uint_eq(t->min_pin_length, 12);
    ck_assert_uint_eq(t->kdf, 10);
    ck_assert_uint_eq(t->line, 3);
    ck_assert_int_eq(cfg->served, P11KMS_SERVED_P11KIT);
    ck_assert_str_eq(cfg->served_socket, "/run/p11kms/pkcs11.sock");
    ck_assert_str_eq(cfg->admin_group, "kmsadmin");
    ck_assert_int_eq(cfg->rotate_new_keys, 1);
    ck_assert_int_eq(cfg->durability, P11KMS_DURABILITY_POWER);
    ck_assert_uint_eq(cfg->seal_records, 500);
    ck_assert_uint_eq(cfg->seal_minutes, 0);
    ck_assert_uint_eq(cfg->retention_days, 365);
    ck_assert_int_eq(cfg->syslog, 1);
    ck_assert_ptr_eq(p11kms_store_config_token_by_label(cfg, "Main token"), t);
    ck_assert_ptr_null(p11kms_store_config_token_by_label(cfg, "other"));
    p11kms_store_config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
    char want[PATH_MAX];
    p11kms_config *cfg;

    setenv("XDG_DATA_HOME", "/srv/data", 1);
    cfg = parse_ok("[audit]\nsyslog = no\n");
    ck_assert_uint_eq(cfg->ntokens, 1);
    ck_assert_str_eq(cfg->tokens[0].store, "/srv/data/p11kms/store.db");
    ck_assert_ptr_null(cfg->tokens[0].label);
    ck_assert_ptr_null(cfg->tokens[0].unlock);
    ck_assert_int_eq(cfg->tokens[0].unlock_source.kind, P11KMS_PINSRC_NONE);
    ck_assert_int_eq(cfg->tokens[0].allow_reinit, 0);
    ck_assert_uint_eq(cfg->tokens[0].min_pin_length, 8);
    ck_assert_uint_eq(cfg->tokens[0].kdf, 0);
    ck_assert_uint_eq(cfg->tokens[0].line, 0);
    ck_assert_int_eq(cfg->served, P11KMS_SERVED_NO);
    ck_assert_ptr_null(cfg->served_socket);
    ck_assert_ptr_null(cfg->admin_group);
    ck_assert_int_eq(cfg->rotate_new_keys, 0);
    ck_assert_int_eq(cfg->durability, P11KMS_DURABILITY_PROCESS);
    ck_assert_uint_eq(cfg->seal_records, 1000);
    ck_assert_uint_eq(cfg->seal_minutes, 60);
    ck_assert_uint_eq(cfg->retention_days, 0);
    ck_assert_int_eq(cfg->syslog, 0);
    p11kms_store_config_free(cfg);

    /* XDG_DATA_HOME unset (or relative, which XDG says to ignore): $HOME/.local/share. */
    setenv("XDG_DATA_HOME", "relative/dir", 1);
    cfg = parse_ok("");
    snprintf(want, sizeof(want), "%s/.local/share/p11kms/store.db", tmpdir);
    ck_assert_str_eq(cfg->tokens[0].store, want);
    p11kms_store_config_free(cfg);
}
END_TEST

START_TEST(test_several_tokens)
{
    p11kms_config *cfg = parse_ok("[token]\nstore = /a/one.db\nlabel = one\nkdf = 0\n"
                                  "[access]\nrotate-new-keys = no\n"
                                  "[token]\nstore = two.db\nlabel = two\nmin-pin-length = 4\n"
                                  "unlock = keyfile:keys/two.key\n"
                                  "[token]\nstore = /c/three.db\nunlock = file:/run/pin\n");

    ck_assert_uint_eq(cfg->ntokens, 3);
    ck_assert_str_eq(cfg->tokens[0].store, "/a/one.db");
    ck_assert_uint_eq(cfg->tokens[0].min_pin_length, 8);
    ck_assert_uint_eq(cfg->tokens[0].kdf, 0);
    /* Relative paths are anchored at the configuration file's directory. */
    ck_assert_str_eq(cfg->tokens[1].store, "/etc/p11kms/two.db");
    ck_assert_str_eq(cfg->tokens[1].unlock, "keyfile:/etc/p11kms/keys/two.key");
    ck_assert_int_eq(cfg->tokens[1].unlock_source.kind, P11KMS_PINSRC_KEYFILE);
    ck_assert_str_eq(cfg->tokens[1].unlock_source.arg, "/etc/p11kms/keys/two.key");
    ck_assert_uint_eq(cfg->tokens[1].min_pin_length, 4);
    ck_assert_uint_eq(cfg->tokens[1].line, 7);
    ck_assert_ptr_null(cfg->tokens[2].label);
    ck_assert_int_eq(cfg->tokens[2].unlock_source.kind, P11KMS_PINSRC_FILE);
    ck_assert_str_eq(cfg->tokens[2].unlock_source.arg, "/run/pin");
    ck_assert_ptr_eq(p11kms_store_config_token_by_label(cfg, "two"), &cfg->tokens[1]);
    p11kms_store_config_free(cfg);
}
END_TEST

/* Errors: the exact message for each class ---------------------------------- */

typedef struct bad_case {
    const char *text;
    const char *message;
} bad_case;

static const bad_case bad_cases[] = {
    {"[token]\nkdf = fast\n", CONF ":2: [token] kdf: expected a number, got 'fast'"},
    {"[token]\nkdf = 5\n",
     CONF ":2: [token] kdf: 5 is out of range (0 for the default, or 10-22: log2 of the "
          "scrypt cost)"},
    {"[token]\nkdf = 23\n", CONF ":2: [token] kdf: 23 is out of range (0-22)"},
    {"[tokens]\n", CONF ":1: unknown section [tokens] (expected [token], [access] or [audit])"},
    {"[token]\nlabl = x\n", CONF ":2: [token] unknown key 'labl'"},
    {"[audit]\nlabel = x\n", CONF ":2: [audit] unknown key 'label'"},
    {"[token]\nlabel = a\n\nlabel = b\n",
     CONF ":4: [token] label: duplicate key (first set on line 2)"},
    {"[audit]\nsyslog = yse\n", CONF ":2: [audit] syslog: expected yes or no, got 'yse'"},
    {"[token]\nallow-reinit = Yes\n",
     CONF ":2: [token] allow-reinit: expected yes or no, got 'Yes'"},
    {"[access]\nrotate-new-keys = true\n",
     CONF ":2: [access] rotate-new-keys: expected yes or no, got 'true'"},
    {"[token]\nmin-pin-length = 3\n", CONF ":2: [token] min-pin-length: 3 is out of range (4-255)"},
    {"[token]\nmin-pin-length = 99999999999999\n",
     CONF ":2: [token] min-pin-length: 99999999999999 is out of range (4-255)"},
    {"[token]\nmin-pin-length = -5\n",
     CONF ":2: [token] min-pin-length: expected a number, got '-5'"},
    {"[token]\nmin-pin-length = 8 # eight\n",
     CONF ":2: [token] min-pin-length: expected a number, got '8 # eight'"},
    {"[audit]\nretention-days = 40000\n",
     CONF ":2: [audit] retention-days: 40000 is out of range (0-36500)"},
    {"[audit]\nseal-minutes = 0x10\n",
     CONF ":2: [audit] seal-minutes: expected a number, got '0x10'"},
    {"label = x\n",
     CONF ":1: key 'label' outside of a section (start with [token], [access] or [audit])"},
    {"[token]\njust some text\n", CONF ":2: expected 'key = value', '[section]' or a # comment"},
    {"[token\n", CONF ":1: malformed section header (expected [token], [access] or [audit])"},
    {"[audit]\nsyslog = no\n[access]\n[audit]\n",
     CONF ":4: section [audit] repeated (first on line 1)"},
    {"[token]\nlabel =\n", CONF ":2: [token] label: empty value"},
    {"[token]\nlabel = a\x1b[31mb\n", CONF ":2: [token] label: the value contains a control "
                                           "character"},
    {"[token]\nla\x1b[0mbel = a\n", CONF ":2: [token] unknown key 'la?[0mbel'"},
    {"[tok\001en]\n", CONF ":1: unknown section [tok?en] (expected [token], [access] or [audit])"},
    {"[token]\n = x\n", CONF ":2: missing key before '='"},
    {"[token]\nlabel = 123456789012345678901234567890123\n",
     CONF ":2: [token] label: longer than 32 bytes (the PKCS#11 token label field)"},
    {"[token]\nunlock = 12345678\n",
     CONF ":2: [token] unlock: unknown PIN source (expected file:PATH, env:NAME, "
          "credential:NAME, prompt or keyfile:PATH)"},
    {"[token]\nunlock = prompt\n",
     CONF ":2: [token] unlock: prompt cannot unlock unattended (use file:, env:, credential: "
          "or keyfile:)"},
    {"[token]\nunlock = env:1PIN\n",
     CONF ":2: [token] unlock: env: '1PIN' is not a variable name (letters, digits and '_', "
          "not starting with a digit)"},
    {"[token]\nunlock = keyfile:\n", CONF ":2: [token] unlock: keyfile: missing PATH"},
    {"[token]\nunlock = credential:a/b\n",
     CONF ":2: [token] unlock: credential: 'a/b' is not a credential name (a file name "
          "without '/')"},
    {"[token]\nunlock = file:~/pin\n",
     CONF ":2: [token] unlock: file: '~' is not expanded; use an absolute path"},
    {"[token]\nstore = ~/x.db\n",
     CONF ":2: [token] store: '~' is not expanded; use an absolute path"},
    {"[audit]\ndurability = disk\n",
     CONF ":2: [audit] durability: expected process or power, got 'disk'"},
    {"[access]\nserved = yes\n",
     CONF ":2: [access] served: expected no, p11-kit or p11-kit:/SOCKET, got 'yes'"},
    {"[access]\nserved = p11-kit:run/sock\n",
     CONF ":2: [access] served: the socket after 'p11-kit:' must be an absolute path"},
    {"[access]\nadmin-group = kms admins\n",
     CONF ":2: [access] admin-group: 'kms admins' is not a group name or number"},
    {"[token]\nstore = /a.db\n[token]\nlabel = x\n",
     CONF ":3: [token] store: required when there are several [token] sections"},
    {"[token]\nstore = /a.db\n[token]\nstore = /a.db\n",
     CONF ":3: [token] store: '/a.db' is also the store of the token on line 1"},
    {"[token]\nstore = /a.db\nlabel = t\n[token]\nstore = /b.db\nlabel = t\n",
     CONF ":4: [token] label: 't' is also the label of the token on line 1"},
};

START_TEST(test_bad)
{
    const bad_case *c = &bad_cases[_i];
    p11kms_config *cfg = (p11kms_config *)1;
    char err[P11KMS_CONFIG_ERR_MAX] = "";

    ck_assert_int_eq(
        p11kms_store_config_parse(c->text, strlen(c->text), CONF, &cfg, err, sizeof(err)), 0);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(err, c->message);
}
END_TEST

START_TEST(test_bad_misc)
{
    static const char nul[] = "[token]\nlabel = a\0b\n";
    p11kms_config *cfg = NULL;
    char err[P11KMS_CONFIG_ERR_MAX] = "";

    ck_assert_int_eq(p11kms_store_config_parse(nul, sizeof(nul) - 1, CONF, &cfg, err, sizeof(err)),
                     0);
    ck_assert_str_eq(err, CONF ": contains a NUL byte (not a text file)");

    /* Without an absolute file name a relative path has no anchor. */
    ck_assert_int_eq(
        p11kms_store_config_parse("[token]\nstore = x.db\n", 21, NULL, &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "(configuration):2: [token] store: relative path 'x.db' needs an "
                          "absolute configuration file name");

    /* A PIN typed in place of a PIN source is never echoed. */
    ck_assert_int_eq(p11kms_store_config_parse("[token]\nunlock = s3cretPIN\n", 27, CONF, &cfg, err,
                                               sizeof(err)),
                     0);
    ck_assert_ptr_null(strstr(err, "s3cretPIN"));
}
END_TEST

/* Files and the search order -------------------------------------------------- */

START_TEST(test_search_p11kms_conf)
{
    char path[PATH_MAX], err[P11KMS_CONFIG_ERR_MAX] = "", want[PATH_MAX + 64];
    p11kms_config *cfg = NULL;

    snprintf(path, sizeof(path), "%s/explicit.conf", tmpdir);
    write_file(path, "[token]\nstore = s.db\nlabel = explicit\n");
    setenv("P11KMS_CONF", path, 1);
    /* A file in the XDG place must lose against P11KMS_CONF. */
    snprintf(want, sizeof(want), "%s/.config/p11kms", tmpdir);
    mkdirs(want);
    strcat(want, "/p11kms.conf");
    write_file(want, "[token]\nlabel = xdg\n");

    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 1);
    ck_assert_str_eq(cfg->path, path);
    ck_assert_str_eq(cfg->tokens[0].label, "explicit");
    snprintf(want, sizeof(want), "%s/s.db", tmpdir);
    ck_assert_str_eq(cfg->tokens[0].store, want);
    p11kms_store_config_free(cfg);

    /* Named but missing: an error, never a fallback to the next place. */
    snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
    setenv("P11KMS_CONF", path, 1);
    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 0);
    ck_assert_ptr_null(cfg);
    snprintf(want, sizeof(want), "%s (named by P11KMS_CONF): no such file", path);
    ck_assert_str_eq(err, want);

    /* Named but not a readable regular file. */
    setenv("P11KMS_CONF", tmpdir, 1);
    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
    ck_assert_str_eq(err, want);

    /* Unreadable (root reads everything, so only checkable as another user). */
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/explicit.conf", tmpdir);
        ck_assert_int_eq(chmod(path, 0), 0);
        setenv("P11KMS_CONF", path, 1);
        ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 0);
        snprintf(want, sizeof(want), "%s: cannot open: Permission denied", path);
        ck_assert_str_eq(err, want);
    }
}
END_TEST

START_TEST(test_search_relative_p11kms_conf)
{
    char err[P11KMS_CONFIG_ERR_MAX] = "", want[PATH_MAX + 64];
    p11kms_config *cfg = NULL;

    ck_assert_int_eq(chdir(tmpdir), 0);
    write_file("rel.conf", "[token]\nstore = data/s.db\n");
    setenv("P11KMS_CONF", "rel.conf", 1);
    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 1);
    snprintf(want, sizeof(want), "%s/data/s.db", tmpdir);
    ck_assert_str_eq(cfg->tokens[0].store, want);
    p11kms_store_config_free(cfg);
}
END_TEST

START_TEST(test_search_xdg)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], err[P11KMS_CONFIG_ERR_MAX] = "";
    char want[PATH_MAX + 64];
    p11kms_config *cfg = NULL;

    /* $XDG_CONFIG_HOME when set ... */
    snprintf(dir, sizeof(dir), "%s/xdgconf/p11kms", tmpdir);
    mkdirs(dir);
    snprintf(path, sizeof(path), "%s/p11kms.conf", dir);
    write_file(path, "[token]\nlabel = from-xdg\n");
    snprintf(dir, sizeof(dir), "%s/xdgconf", tmpdir);
    setenv("XDG_CONFIG_HOME", dir, 1);
    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 1);
    ck_assert_str_eq(cfg->path, path);
    ck_assert_str_eq(cfg->tokens[0].label, "from-xdg");
    p11kms_store_config_free(cfg);

    /* ... else $HOME/.config. */
    unsetenv("XDG_CONFIG_HOME");
    snprintf(dir, sizeof(dir), "%s/.config/p11kms", tmpdir);
    mkdirs(dir);
    snprintf(path, sizeof(path), "%s/p11kms.conf", dir);
    write_file(path, "[token]\nlabel = from-home\n");
    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 1);
    ck_assert_str_eq(cfg->tokens[0].label, "from-home");
    p11kms_store_config_free(cfg);

    /* An error in the found file is reported with that file's name. */
    write_file(path, "[token]\nlabel = a\nbogus = 1\n");
    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s:3: [token] unknown key 'bogus'", path);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_search_default_creates_nothing)
{
    char sys[PATH_MAX], where[PATH_MAX], err[P11KMS_CONFIG_ERR_MAX] = "", want[PATH_MAX];
    p11kms_config *cfg = NULL;
    struct stat st;

    snprintf(sys, sizeof(sys), "%s/p11kms/p11kms.conf", SYSCONFDIR);
    if (stat(sys, &st) == 0)
        return; /* this machine has a system configuration: the default cannot apply */
    ck_assert_int_eq(p11kms_store_config_locate(where, sizeof(where), err, sizeof(err)), 1);
    ck_assert_str_eq(where, "");
    ck_assert_int_eq(p11kms_store_config_load(&cfg, err, sizeof(err)), 1);
    ck_assert_ptr_null(cfg->path);
    ck_assert_uint_eq(cfg->ntokens, 1);
    snprintf(want, sizeof(want), "%s/.local/share/p11kms/store.db", tmpdir);
    ck_assert_str_eq(cfg->tokens[0].store, want);
    p11kms_store_config_free(cfg);
    /* Loading wrote nothing: no directory was created for the store. */
    snprintf(want, sizeof(want), "%s/.local", tmpdir);
    ck_assert_int_eq(stat(want, &st), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_no_home)
{
    char err[P11KMS_CONFIG_ERR_MAX] = "", buf[PATH_MAX];

    /* Without $HOME the password database supplies the home directory. */
    unsetenv("HOME");
    ck_assert_int_eq(p11kms_store_config_default_store(buf, sizeof(buf), err, sizeof(err)), 1);
    ck_assert_int_eq(buf[0], '/');
    ck_assert_ptr_nonnull(strstr(buf, "/.local/share/p11kms/store.db"));
}
END_TEST

/* The module's unattended unlock reads the PIN with the shared PIN-file rules. */
START_TEST(test_unlock_pin)
{
    char path[PATH_MAX], text[PATH_MAX + 256], err[P11KMS_CONFIG_ERR_MAX] = "";
    char want[PATH_MAX + 256];
    p11kms_pinsrc_secret pin = {NULL, 0, 0};
    p11kms_config *cfg;

    snprintf(path, sizeof(path), "%s/pin", tmpdir);
    write_file(path, "unlock-pin-1\n");
    ck_assert_int_eq(chmod(path, 0600), 0);
    snprintf(text, sizeof(text),
             "[token]\nstore = /a.db\nunlock = file:%s\n"
             "[token]\nstore = /b.db\n\nunlock = env:P11KMS_TEST_UNLOCK\n"
             "[token]\nstore = /c.db\nunlock = keyfile:/k\n[token]\nstore = /d.db\n",
             path);
    cfg = parse_ok(text);
    ck_assert_int_eq(p11kms_store_config_unlock_pin(cfg, &cfg->tokens[0], &pin, err, sizeof(err)),
                     1);
    ck_assert_uint_eq(pin.len, 12);
    ck_assert_mem_eq(pin.data, "unlock-pin-1", 12);
    p11kms_pinsrc_secret_free(&pin);
    ck_assert_ptr_null(pin.data);

    setenv("P11KMS_TEST_UNLOCK", "from-env", 1);
    ck_assert_int_eq(p11kms_store_config_unlock_pin(cfg, &cfg->tokens[1], &pin, err, sizeof(err)),
                     1);
    ck_assert_str_eq((char *)pin.data, "from-env");
    p11kms_pinsrc_secret_free(&pin);
    unsetenv("P11KMS_TEST_UNLOCK");
    ck_assert_int_eq(p11kms_store_config_unlock_pin(cfg, &cfg->tokens[1], &pin, err, sizeof(err)),
                     0);
    ck_assert_str_eq(err, CONF ":7: [token] unlock: env:P11KMS_TEST_UNLOCK: the environment "
                               "variable is not set");
    ck_assert_int_eq(p11kms_store_config_unlock_pin(cfg, &cfg->tokens[2], &pin, err, sizeof(err)),
                     0);
    ck_assert_str_eq(err, CONF ":10: [token] unlock: keyfile: names a service key file, not a "
                               "PIN");
    ck_assert_int_eq(p11kms_store_config_unlock_pin(cfg, &cfg->tokens[3], &pin, err, sizeof(err)),
                     0);
    ck_assert_str_eq(err, CONF ": [token] unlock: not set");

    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(p11kms_store_config_unlock_pin(cfg, &cfg->tokens[0], &pin, err, sizeof(err)),
                     0);
    snprintf(want, sizeof(want),
             CONF ":3: [token] unlock: file:%s: mode 0644 lets other users at it; it must be "
                  "0600 or stricter (chmod 600)",
             path);
    ck_assert_str_eq(err, want);
    ck_assert_ptr_null(pin.data);
    p11kms_store_config_free(cfg);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_full_file);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_several_tokens);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_bad_misc);
    tcase_add_test(tc, test_search_p11kms_conf);
    tcase_add_test(tc, test_search_relative_p11kms_conf);
    tcase_add_test(tc, test_search_xdg);
    tcase_add_test(tc, test_search_default_creates_nothing);
    tcase_add_test(tc, test_no_home);
    tcase_add_test(tc, test_unlock_pin);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
