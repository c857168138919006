/*
 * tools/cmd-aliases.c — alias commands: list-aliases, create-alias,
 * update-alias, delete-alias.
 */
#include "config.h"

#include "tools/tool.h"

static int list_aliases(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    unsigned limit = 0;
    int code;
    if (!tool_opt_uint(t, "limit", 1, 1000, 0, &limit))
        return TOOL_EXIT_USAGE;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_list_aliases(k, tool_arg(&t->args, "key-id"), limit,
                                          tool_arg(&t->args, "marker"), &res, &e)
               ? tool_emit_result(t, &res)
               : tool_kms_fail(t, &e);
}

typedef int (*alias_fn)(const p11kms_client_kms *s, const char *alias, const char *target,
                        p11kms_client_kms_error *err);

static int alias_call(tool_ctx *t, alias_fn fn)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    char id[37];
    const char *target = tool_arg(&t->args, "target-key-id");
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    /* KMS wants a key id as the target; accept an alias and resolve it. */
    code = tool_key_id(t, k, target, id);
    if (code != TOOL_EXIT_OK)
        return code;
    return fn(k, tool_arg(&t->args, "alias-name"), id, &e) ? TOOL_EXIT_OK : tool_kms_fail(t, &e);
}

static int create_alias(tool_ctx *t)
{
    return alias_call(t, p11kms_client_kms_create_alias);
}

static int update_alias(tool_ctx *t)
{
    return alias_call(t, p11kms_client_kms_update_alias);
}

static int delete_alias(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_delete_alias(k, tool_arg(&t->args, "alias-name"), &e)
               ? TOOL_EXIT_OK
               : tool_kms_fail(t, &e);
}

static const tool_opt o_list[] = {{"key-id", TOOL_OPT_VALUE, "KEY"},
                                  {"limit", TOOL_OPT_VALUE, "N"},
                                  {"marker", TOOL_OPT_VALUE, "MARKER"}};
static const tool_opt o_alias[] = {
    {"alias-name", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "alias/NAME"},
    {"target-key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
};
static const tool_opt o_delete[] = {
    {"alias-name", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "alias/NAME"}};

const tool_cmd tool_cmds_aliases[] = {
    {"list-aliases", list_aliases, o_list, TOOL_NOPTS(o_list), "list aliases"},
    {"create-alias", create_alias, o_alias, TOOL_NOPTS(o_alias), "name a key alias/NAME"},
    {"update-alias", update_alias, o_alias, TOOL_NOPTS(o_alias), "point an alias at another key"},
    {"delete-alias", delete_alias, o_delete, TOOL_NOPTS(o_delete), "delete an alias"},
    {NULL, NULL, NULL, 0, NULL},
};
