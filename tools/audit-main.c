/*
 * tools/audit-main.c — `p11kms audit SUBCOMMAND`: the option tables, the
 * global options that may also follow "audit", and the dispatch.  Each
 * subcommand lives in its own file (audit-list.c, audit-verify.c, ...).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/audit-cli.h"
#include "tools/audit.h"

static const tool_opt list_opts[] = {
    {"start-time", TOOL_OPT_VALUE, "TIME"},
    {"end-time", TOOL_OPT_VALUE, "TIME"},
    {"key-id", TOOL_OPT_VALUE, "KEY-ID"},
    {"event-name", TOOL_OPT_VALUE, "NAME"},
    {"user", TOOL_OPT_VALUE, "USER"},
    {"uid", TOOL_OPT_VALUE, "UID"},
    {"result", TOOL_OPT_VALUE, "success|failure|denied"},
    {"management", 0, ""},
    {"data", 0, ""},
    {"max-items", TOOL_OPT_VALUE, "N"},
    {"starting-token", TOOL_OPT_VALUE, "TOKEN"},
    {"all", 0, ""},
};
static const tool_opt verify_opts[] = {
    {"anchor", TOOL_OPT_VALUE, "FILE|DIR|SEQ:HASH"},
    {"fingerprint", TOOL_OPT_VALUE, "SHA256-HEX"},
    {"exported", TOOL_OPT_VALUE, "DIR"},
    {"require-sealed", 0, ""},
    {"no-progress", 0, ""},
};
static const tool_opt export_opts[] = {
    {"output-dir", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "DIR"},
    {"since", TOOL_OPT_VALUE, "TIME"},
    {"until", TOOL_OPT_VALUE, "TIME"},
};
static const tool_opt archive_opts[] = {
    {"output-dir", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "DIR"},
    {"before", TOOL_OPT_VALUE, "TIME"},
    {"retention", 0, ""},
};

static const audit_subcmd g_subcmds[] = {
    {"list", audit_cmd_list, list_opts, TOOL_NOPTS(list_opts),
     "audit records as CloudTrail JSON, newest first (default: the last 90 days)"},
    {"verify", audit_cmd_verify, verify_opts, TOOL_NOPTS(verify_opts),
     "check the hash chain and seals (or an export directory with --exported)"},
    {"seal", audit_cmd_seal, NULL, 0, "sign the current chain head now"},
    {"head", audit_cmd_head, NULL, 0, "print the chain head as an anchor SEQ:HASH"},
    {"export", audit_cmd_export, export_opts, TOOL_NOPTS(export_opts),
     "write JSON-lines files and signed, chained digests to a directory"},
    {"archive", audit_cmd_archive, archive_opts, TOOL_NOPTS(archive_opts),
     "export then prune old records, keeping a signed checkpoint"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: p11kms audit SUBCOMMAND [--store PATH] [OPTIONS]\n\nSubcommands:\n");
    for (size_t i = 0; i < TOOL_NOPTS(g_subcmds); i++)
        fprintf(f, "  %-10s %s\n", g_subcmds[i].name, g_subcmds[i].summary);
    fprintf(f, "\nSee p11kms(1) and docs/audit.md.\n");
}

static void usage_sub(const audit_subcmd *c)
{
    printf("usage: p11kms audit %s [--store PATH]", c->name);
    for (size_t i = 0; i < c->nopts; i++) {
        const tool_opt *o = &c->opts[i];
        int req = (o->flags & TOOL_OPT_REQUIRED) != 0;
        if (o->flags & TOOL_OPT_VALUE)
            printf(" %s--%s %s%s", req ? "" : "[", o->name, o->help, req ? "" : "]");
        else
            printf(" [--%s]", o->name);
    }
    printf("\n\n%s\n", c->summary);
}

/* A global option at argv[*i] (also accepted after "audit"): 1 taken,
 * 0 not global, -1 usage error printed. */
static int global_opt(audit_cli *a, int argc, char **argv, int *i)
{
    static const char *const names[] = {"store",  "pin-source", "output", "query",
                                        "config", "module",     "token",  "so-pin-source"};
    const char *w = argv[*i], *val = NULL;
    for (size_t k = 0; k < TOOL_NOPTS(names); k++) {
        size_t n = strlen(names[k]);
        if (strncmp(w, "--", 2) != 0 || strncmp(w + 2, names[k], n) != 0 ||
            (w[2 + n] != '\0' && w[2 + n] != '='))
            continue;
        if (w[2 + n] == '=')
            val = w + 3 + n;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else
            return tool_usage(&a->t, "option --%s needs a value", names[k]), -1;
        if (k == 0) {
            a->store_arg = val;
        } else if (k == 1) {
            a->t.pin_source = val;
        } else if (k == 2) {
            if (strcmp(val, "json") != 0 && strcmp(val, "text") != 0 && strcmp(val, "table") != 0)
                return tool_usage(&a->t, "--output must be json, text or table"), -1;
            a->t.format = val[1] == 's'   ? TOOL_OUT_JSON
                          : val[1] == 'e' ? TOOL_OUT_TEXT
                                          : TOOL_OUT_TABLE;
            a->format_given = 1;
        } else if (k == 3) {
            a->t.query = val;
        } else if (k == 4) {
            setenv("P11KMS_CONF", val, 1);
        } else if (k == 6) {
            a->t.token = val;
        }
        return 1;
    }
    return 0;
}

static const audit_subcmd *find_sub(const char *name)
{
    for (size_t i = 0; i < TOOL_NOPTS(g_subcmds); i++)
        if (strcmp(g_subcmds[i].name, name) == 0)
            return &g_subcmds[i];
    return NULL;
}

int p11kms_tool_audit_main(int argc, char **argv)
{
    audit_cli a;
    const audit_subcmd *c = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    char err[256], cmdname[32];
    int nrest = 0, help = 0, code = TOOL_EXIT_USAGE;

    memset(&a, 0, sizeof(a));
    a.t.prog = "p11kms";
    a.t.command = "audit";
    if (rest == NULL) {
        code = tool_fail(&a.t, TOOL_EXIT_ERROR, "out of memory");
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        int g = global_opt(&a, argc, argv, &i);
        if (g < 0)
            goto done;
        if (g > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            help = 1;
        else if (c == NULL && argv[i][0] != '-') {
            c = find_sub(argv[i]);
            if (c == NULL) {
                code = tool_usage(&a.t, "unknown audit subcommand '%s'", argv[i]);
                goto done;
            }
        } else
            rest[nrest++] = argv[i];
    }
    if (c == NULL) {
        usage(help ? stdout : stderr);
        code = help ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
        goto done;
    }
    snprintf(cmdname, sizeof(cmdname), "audit %s", c->name);
    a.t.command = cmdname;
    if (help) {
        usage_sub(c);
        code = TOOL_EXIT_OK;
        goto done;
    }
    if (!tool_args_parse(nrest, rest, c->opts, c->nopts, &a.t.args, err, sizeof(err))) {
        code = tool_usage(&a.t, "%s", err);
        goto done;
    }
    code = c->run(&a);
done:
    audit_close(&a);
    free(rest);
    return code;
}
