/*
 * tools/cmd-grants.c — grants: create-grant, list-grants, retire-grant,
 * revoke-grant.  --operations takes KMS operation names separated by
 * commas or spaces ("Encrypt,Decrypt" or "Encrypt Decrypt").
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

#define MAX_OPERATIONS 32

/* Splits --operations into ops (pointers into buf). */
static int split_operations(tool_ctx *t, char *buf, const char **ops, size_t *n)
{
    char *save = NULL;
    *n = 0;
    for (char *w = strtok_r(buf, ", ", &save); w != NULL; w = strtok_r(NULL, ", ", &save)) {
        if (*n == MAX_OPERATIONS)
            return tool_usage(t, "--operations: at most %d operations", MAX_OPERATIONS), 0;
        ops[(*n)++] = w;
    }
    if (*n == 0)
        return tool_usage(t, "--operations: give at least one operation"), 0;
    return 1;
}

static int constraints(tool_ctx *t, json_t **out)
{
    const char *v = tool_arg(&t->args, "constraints");
    json_error_t je;
    *out = NULL;
    if (v == NULL)
        return 1;
    *out = json_loads(v, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return tool_usage(t, "--constraints: a JSON object is needed (%s)", je.text), 0;
    }
    return 1;
}

static int create_grant(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    const char *ops[MAX_OPERATIONS];
    p11kms_client_kms_grant g = {0};
    char *buf = strdup(tool_arg(&t->args, "operations"));
    int code = TOOL_EXIT_USAGE;
    if (buf == NULL || !split_operations(t, buf, ops, &g.n_operations) ||
        !constraints(t, &g.constraints))
        goto done;
    g.grantee_principal = tool_arg(&t->args, "grantee-principal");
    g.retiring_principal = tool_arg(&t->args, "retiring-principal");
    g.name = tool_arg(&t->args, "name");
    g.operations = ops;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    code = p11kms_client_kms_create_grant(k, tool_arg(&t->args, "key-id"), &g, &res, &e)
               ? tool_emit_result(t, &res)
               : tool_kms_fail(t, &e);
done:
    json_decref(g.constraints);
    free(buf);
    return code;
}

static int list_grants(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_list_grants(k, tool_arg(&t->args, "key-id"), &res, &e)
               ? tool_emit_result(t, &res)
               : tool_kms_fail(t, &e);
}

static int retire_grant(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    const char *token = tool_arg(&t->args, "grant-token"), *key = tool_arg(&t->args, "key-id");
    const char *id = tool_arg(&t->args, "grant-id");
    int code;
    if ((token == NULL) == (key == NULL || id == NULL))
        return tool_usage(t, "give --grant-token, or --key-id with --grant-id");
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_retire_grant(k, token, key, id, &e) ? TOOL_EXIT_OK
                                                                 : tool_kms_fail(t, &e);
}

static int revoke_grant(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_revoke_grant(k, tool_arg(&t->args, "key-id"),
                                          tool_arg(&t->args, "grant-id"), &e)
               ? TOOL_EXIT_OK
               : tool_kms_fail(t, &e);
}

static const tool_opt o_create[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"grantee-principal", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "user:NAME|uid:N|..."},
    {"operations", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "Encrypt,Decrypt,..."},
    {"retiring-principal", TOOL_OPT_VALUE, "PRINCIPAL"},
    {"constraints", TOOL_OPT_VALUE, "JSON"},
    {"name", TOOL_OPT_VALUE, "NAME"},
};
static const tool_opt o_key[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"}};
static const tool_opt o_retire[] = {{"grant-token", TOOL_OPT_VALUE, "TOKEN"},
                                    {"key-id", TOOL_OPT_VALUE, "KEY"},
                                    {"grant-id", TOOL_OPT_VALUE, "ID"}};
static const tool_opt o_revoke[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
                                    {"grant-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "ID"}};

const tool_cmd tool_cmds_grants[] = {
    {"create-grant", create_grant, o_create, TOOL_NOPTS(o_create),
     "let a principal use a key for some operations"},
    {"list-grants", list_grants, o_key, TOOL_NOPTS(o_key), "the grants of a key"},
    {"retire-grant", retire_grant, o_retire, TOOL_NOPTS(o_retire), "retire a grant"},
    {"revoke-grant", revoke_grant, o_revoke, TOOL_NOPTS(o_revoke), "revoke a grant"},
    {NULL, NULL, NULL, 0, NULL},
};
