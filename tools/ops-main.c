/*
 * tools/ops-main.c — dispatch of the operations commands (backup, restore,
 * rotate-root-key): option tables, the global options they accept in any
 * position, and the audit event helper they share.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "tools/ops-internal.h"
#include "tools/ops.h"

typedef struct ops_cmd {
    const char *name;
    int (*run)(audit_cli *a);
    const tool_opt *opts;
    size_t nopts;
    const char *summary;
} ops_cmd;

static const tool_opt backup_opts[] = {
    {"output-file", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "FILE"},
};
static const tool_opt restore_opts[] = {
    {"input", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "FILE"},
    {"force", 0, ""},
};
static const tool_opt rotate_opts[] = {
    {"yes", 0, ""},
};

static const ops_cmd g_cmds[] = {
    {"backup", ops_cmd_backup, backup_opts, TOOL_NOPTS(backup_opts),
     "online, consistent backup of the store (docs/operations.md)"},
    {"restore", ops_cmd_restore, restore_opts, TOOL_NOPTS(restore_opts),
     "replace the store with a checked backup; the rollback is audited"},
    {"rotate-root-key", ops_cmd_rotate_root_key, rotate_opts, TOOL_NOPTS(rotate_opts),
     "re-seal all key material under a new root key (SO and user PIN)"},
};

static const ops_cmd *find(const char *cmd)
{
    for (size_t i = 0; cmd != NULL && i < TOOL_NOPTS(g_cmds); i++)
        if (strcmp(g_cmds[i].name, cmd) == 0)
            return &g_cmds[i];
    return NULL;
}

int p11kms_tool_ops_handles(const char *cmd)
{
    return find(cmd) != NULL;
}

/* A global option at argv[*i]: 1 taken, 0 not global, -1 usage error.
 * "--output" means the output format as everywhere else in the CLI, so
 * backup names its file with --output-file (alias: --output FILE when the
 * value is not a format name). */
static int global_opt(audit_cli *a, int argc, char **argv, int *i, const char **backup_out)
{
    static const char *const names[] = {"store",  "pin-source", "output",        "query",
                                        "config", "token",      "so-pin-source", "module"};
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
        if (k == 0)
            a->store_arg = val;
        else if (k == 1)
            a->t.pin_source = val;
        else if (k == 2 && strcmp(val, "json") == 0)
            a->t.format = TOOL_OUT_JSON;
        else if (k == 2 && strcmp(val, "text") == 0)
            a->t.format = TOOL_OUT_TEXT;
        else if (k == 2 && strcmp(val, "table") == 0)
            a->t.format = TOOL_OUT_TABLE;
        else if (k == 2)
            *backup_out = val;
        else if (k == 3)
            a->t.query = val;
        else if (k == 4)
            setenv("P11KMS_CONF", val, 1);
        else if (k == 5)
            a->t.token = val;
        else if (k == 6)
            a->t.so_pin_source = val;
        return 1;
    }
    return 0;
}

/* Collects the command's own words (globals removed); backup's
 * "--output FILE" becomes "--output-file FILE". */
static int split(audit_cli *a, const char *cmd, int argc, char **argv, char **rest, int *nrest)
{
    const char *out_file = NULL;
    int seen = 0;

    *nrest = 0;
    for (int i = 1; i < argc; i++) {
        if (!seen && strcmp(argv[i], cmd) == 0) {
            seen = 1;
            continue;
        }
        int g = global_opt(a, argc, argv, &i, &out_file);
        if (g < 0)
            return 0;
        if (g == 0)
            rest[(*nrest)++] = argv[i];
    }
    if (out_file != NULL) {
        rest[(*nrest)++] = "--output-file";
        rest[(*nrest)++] = (char *)out_file;
    }
    return 1;
}

static int usage(const ops_cmd *c)
{
    printf("usage: p11kms %s [--store PATH]", c->name);
    for (size_t i = 0; i < c->nopts; i++) {
        const tool_opt *o = &c->opts[i];
        int req = (o->flags & TOOL_OPT_REQUIRED) != 0;
        if (o->flags & TOOL_OPT_VALUE)
            printf(" %s--%s %s%s", req ? "" : "[", o->name, o->help, req ? "" : "]");
        else
            printf(" [--%s]", o->name);
    }
    printf("\n\n%s\n", c->summary);
    return TOOL_EXIT_OK;
}

static int wants_help(int nrest, char **rest)
{
    for (int i = 0; i < nrest; i++)
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0)
            return 1;
    return 0;
}

int p11kms_tool_ops_main(const char *cmd, int argc, char **argv)
{
    const ops_cmd *c = find(cmd);
    char **rest = calloc((size_t)argc + 3, sizeof(char *));
    char err[256];
    audit_cli a;
    int nrest = 0, code = TOOL_EXIT_USAGE;

    memset(&a, 0, sizeof(a));
    a.t.prog = "p11kms";
    a.t.command = cmd;
    a.t.format = TOOL_OUT_JSON;
    if (rest == NULL || c == NULL) {
        code = tool_fail(&a.t, TOOL_EXIT_ERROR, c ? "out of memory" : "unknown command");
        goto done;
    }
    if (!split(&a, cmd, argc, argv, rest, &nrest))
        goto done;
    if (wants_help(nrest, rest)) {
        code = usage(c);
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

p11kms_store_rc ops_audit_event(p11kms_store *st, const char *name, const char *request_json,
                                const char *response_json)
{
    p11kms_audit_record rec;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    p11kms_store_rc rc;

    memset(&rec, 0, sizeof(rec));
    exe[n > 0 ? n : 0] = '\0';
    rec.event_name = name;
    rec.event_type = P11KMS_AUDIT_SERVICE_EVENT;
    rec.management = 1;
    /* tools/ links neither kms/ nor its caller helper: the same fields here */
    rec.uid = (uint32_t)getuid();
    rec.gid = (uint32_t)getgid();
    rec.pid = (int32_t)getpid();
    rec.user = getenv("USER");
    rec.executable = exe[0] ? exe : NULL;
    rec.request_json = request_json;
    rec.response_json = response_json;
    rc = p11kms_store_begin_write(st);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = p11kms_store_audit_append(st, &rec);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_commit(st);
    else
        (void)p11kms_store_rollback(st);
done:
    return rc;
}
