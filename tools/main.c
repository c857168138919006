/*
 * tools/main.c — the p11kms command line: global options, the dispatch
 * table of every command (one group per cmd-*.c file) and --help.  The
 * commands and their options follow `aws kms`; p11kms(1) documents them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

#if defined(__has_include)
#if __has_include("tools/audit.h")
#include "tools/audit.h"
#define TOOL_HAVE_AUDIT 1
#endif
#if __has_include("tools/ops.h")
#include "tools/ops.h"
#define TOOL_HAVE_OPS 1
#endif
#endif

static const tool_cmd *const g_groups[] = {
    tool_cmds_token, tool_cmds_keys, tool_cmds_aliases, tool_cmds_crypto, tool_cmds_datakey,
    tool_cmds_sign,  tool_cmds_mac,  tool_cmds_policy,  tool_cmds_grants, tool_cmds_rotation,
};

static const tool_cmd *find_cmd(const char *name)
{
    for (size_t g = 0; g < sizeof(g_groups) / sizeof(g_groups[0]); g++)
        for (const tool_cmd *c = g_groups[g]; c->name != NULL; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    return NULL;
}

static void usage_all(FILE *f)
{
    fprintf(f, "usage: p11kms [GLOBAL OPTIONS] COMMAND [OPTIONS]\n\n"
               "Global options:\n"
               "  --module PATH          PKCS#11 module (default $P11KMS_MODULE, else the "
               "installed p11kms-pkcs11.so)\n"
               "  --token LABEL|URI      token to use (default: the only token)\n"
               "  --pin-source SOURCE    user PIN: file:PATH, env:NAME, credential:NAME, prompt\n"
               "  --so-pin-source SOURCE security officer PIN (init)\n"
               "  --config PATH          configuration file (sets P11KMS_CONF)\n"
               "  --store PATH           store file (audit, backup, restore, rotate-root-key)\n"
               "  --output json|text|table\n"
               "  --query PATH           print only this part of the result (Keys[0].KeyId)\n"
               "  --help, --version\n\nCommands:\n");
    for (size_t g = 0; g < sizeof(g_groups) / sizeof(g_groups[0]); g++)
        for (const tool_cmd *c = g_groups[g]; c->name != NULL; c++)
            fprintf(f, "  %-36s %s\n", c->name, c->summary);
#ifdef TOOL_HAVE_AUDIT
    fprintf(f, "  %-36s %s\n", "audit", "list, verify, seal, export, archive the audit trail");
#endif
#ifdef TOOL_HAVE_OPS
    fprintf(f, "  %-36s %s\n", "backup, restore",
            "copy the store as its owner (docs/operations.md)");
    fprintf(f, "  %-36s %s\n", "rotate-root-key", "rewrap all key material under a new root key");
#endif
    fprintf(f, "\nSee p11kms(1).\n");
}

static void usage_cmd(const tool_cmd *c)
{
    printf("usage: p11kms %s", c->name);
    for (size_t i = 0; i < c->nopts; i++) {
        const tool_opt *o = &c->opts[i];
        const char *open = o->flags & TOOL_OPT_REQUIRED ? "" : "[";
        const char *close = o->flags & TOOL_OPT_REQUIRED ? "" : "]";
        if (o->flags & TOOL_OPT_VALUE)
            printf(" %s--%s %s%s", open, o->name, o->help, close);
        else
            printf(" %s--%s%s", open, o->name, close);
    }
    printf("\n\n%s\n", c->summary);
}

/* A global option at argv[*i]: 1 consumed, 0 not global, -1 usage error. */
static int global_opt(tool_ctx *t, int argc, char **argv, int *i)
{
    static const char *const names[] = {"module", "token", "pin-source", "so-pin-source",
                                        "output", "query", "config"};
    const char *w = argv[*i], *val;
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        size_t n = strlen(names[k]);
        if (strncmp(w, "--", 2) != 0 || strncmp(w + 2, names[k], n) != 0 ||
            (w[2 + n] != '\0' && w[2 + n] != '='))
            continue;
        if (w[2 + n] == '=')
            val = w + 3 + n;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else
            return tool_usage(t, "option --%s needs a value", names[k]), -1;
        const char **slots[] = {&t->module, &t->token, &t->pin_source, &t->so_pin_source, NULL,
                                &t->query,  NULL};
        if (k == 4) {
            if (strcmp(val, "json") != 0 && strcmp(val, "text") != 0 && strcmp(val, "table") != 0)
                return tool_usage(t, "--output must be json, text or table"), -1;
            t->format = val[1] == 's'   ? TOOL_OUT_JSON
                        : val[1] == 'e' ? TOOL_OUT_TEXT
                                        : TOOL_OUT_TABLE;
        } else if (k == 6) {
            setenv("P11KMS_CONF", val, 1);
        } else {
            *slots[k] = val;
        }
        return 1;
    }
    return 0;
}

typedef struct split {
    const char *command;
    char **rest;
    int nrest, help, version;
} split;

/* Separates global options, the command name and the command's own words. */
static int split_args(tool_ctx *t, int argc, char **argv, split *s)
{
    memset(s, 0, sizeof(*s));
    s->rest = calloc((size_t)argc + 1, sizeof(char *));
    if (s->rest == NULL)
        return tool_fail(t, TOOL_EXIT_ERROR, "out of memory"), 0;
    for (int i = 1; i < argc; i++) {
        int g = global_opt(t, argc, argv, &i);
        if (g < 0)
            return 0;
        if (g > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            s->help = 1;
        else if (strcmp(argv[i], "--version") == 0)
            s->version = 1;
        else if (s->command == NULL && argv[i][0] != '-')
            s->command = argv[i];
        else
            s->rest[s->nrest++] = argv[i];
    }
    return 1;
}

static int run_command(tool_ctx *t, const tool_cmd *c, split *s)
{
    char err[256];
    int code;
    if (s->help) {
        usage_cmd(c);
        return TOOL_EXIT_OK;
    }
    if (!tool_args_parse(s->nrest, s->rest, c->opts, c->nopts, &t->args, err, sizeof(err)))
        return tool_usage(t, "%s", err);
    code = c->run(t);
    tool_session_close(t);
    return code;
}

#ifdef TOOL_HAVE_AUDIT
static int run_audit(int argc, char **argv)
{
    int i = 1;
    while (i < argc && strcmp(argv[i], "audit") != 0)
        i++;
    return p11kms_tool_audit_main(argc - i, argv + i);
}
#endif

int main(int argc, char **argv)
{
    tool_ctx t;
    split s;
    int code = TOOL_EXIT_USAGE;
    memset(&t, 0, sizeof(t));
    t.prog = "p11kms";
    if (!split_args(&t, argc, argv, &s))
        goto done;
    if (s.version && s.command == NULL) {
        printf("p11kms %s\n", PACKAGE_VERSION);
        code = TOOL_EXIT_OK;
    } else if (s.command == NULL || strcmp(s.command, "help") == 0) {
        usage_all(s.command || s.help ? stdout : stderr);
        code = s.command || s.help ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
#ifdef TOOL_HAVE_AUDIT
    } else if (strcmp(s.command, "audit") == 0) {
        code = run_audit(argc, argv);
#endif
#ifdef TOOL_HAVE_OPS
    } else if (p11kms_tool_ops_handles(s.command)) {
        code = p11kms_tool_ops_main(s.command, argc, argv);
#endif
    } else {
        const tool_cmd *c = find_cmd(s.command);
        t.command = c ? c->name : NULL;
        code = c ? run_command(&t, c, &s) : tool_usage(&t, "unknown command '%s'", s.command);
    }
done:
    free(s.rest);
    return code;
}
