/*
 * tools/cmd-policy.c — key policies (put-key-policy, get-key-policy,
 * list-key-policies) and identity policies per Unix user or group
 * (put-/get-/delete-identity-policy, list-identity-policies).  Policy
 * documents come from --policy file://PATH, - or the text itself.
 */
#include "config.h"

#include <string.h>

#include "tools/tool.h"

static int check_policy_name(tool_ctx *t)
{
    const char *n = tool_arg(&t->args, "policy-name");
    if (n != NULL && strcmp(n, "default") != 0)
        return tool_usage(t, "--policy-name must be 'default' (a key has one policy)"), 0;
    return 1;
}

static int put_key_policy(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    tool_bytes policy = {NULL, 0};
    int code = TOOL_EXIT_USAGE;
    if (!check_policy_name(t) || !tool_opt_text(t, "policy", &policy, &code))
        goto done;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    code = p11kms_client_kms_put_key_policy(
               k, tool_arg(&t->args, "key-id"), (const char *)policy.data,
               tool_arg(&t->args, "bypass-policy-lockout-safety-check") != NULL, &e)
               ? TOOL_EXIT_OK
               : tool_kms_fail(t, &e);
done:
    tool_bytes_free(&policy);
    return code;
}

typedef int (*key_result_fn)(const p11kms_client_kms *s, const char *key_id,
                             p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* A command that prints fn(--key-id)'s result. */
static int key_result(tool_ctx *t, key_result_fn fn)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return fn(k, tool_arg(&t->args, "key-id"), &res, &e) ? tool_emit_result(t, &res)
                                                         : tool_kms_fail(t, &e);
}

static int get_key_policy(tool_ctx *t)
{
    return check_policy_name(t) ? key_result(t, p11kms_client_kms_get_key_policy) : TOOL_EXIT_USAGE;
}

static int list_key_policies(tool_ctx *t)
{
    return key_result(t, p11kms_client_kms_list_key_policies);
}

static int put_identity_policy(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    tool_bytes policy = {NULL, 0};
    int code = TOOL_EXIT_USAGE;
    if (!tool_opt_text(t, "policy", &policy, &code))
        goto done;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    code = p11kms_client_kms_put_identity_policy(k, tool_arg(&t->args, "principal"),
                                                 (const char *)policy.data, &e)
               ? TOOL_EXIT_OK
               : tool_kms_fail(t, &e);
done:
    tool_bytes_free(&policy);
    return code;
}

static int get_identity_policy(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_get_identity_policy(k, tool_arg(&t->args, "principal"), &res, &e)
               ? tool_emit_result(t, &res)
               : tool_kms_fail(t, &e);
}

static int delete_identity_policy(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_delete_identity_policy(k, tool_arg(&t->args, "principal"), &e)
               ? TOOL_EXIT_OK
               : tool_kms_fail(t, &e);
}

static int list_identity_policies(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_list_identity_policies(k, &res, &e) ? tool_emit_result(t, &res)
                                                                 : tool_kms_fail(t, &e);
}

static const tool_opt o_put[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"policy", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "file://PATH|-|JSON"},
    {"policy-name", TOOL_OPT_VALUE, "default"},
    {"bypass-policy-lockout-safety-check", 0, ""},
};
static const tool_opt o_get[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
                                 {"policy-name", TOOL_OPT_VALUE, "default"}};
static const tool_opt o_key[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"}};
static const tool_opt o_iput[] = {
    {"principal", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "user:NAME|group:NAME|uid:N|gid:N"},
    {"policy", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "file://PATH|-|JSON"},
};
static const tool_opt o_iget[] = {
    {"principal", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "user:NAME|group:NAME|uid:N|gid:N"},
};

const tool_cmd tool_cmds_policy[] = {
    {"put-key-policy", put_key_policy, o_put, TOOL_NOPTS(o_put), "replace a key's policy"},
    {"get-key-policy", get_key_policy, o_get, TOOL_NOPTS(o_get), "show a key's policy"},
    {"list-key-policies", list_key_policies, o_key, TOOL_NOPTS(o_key), "the policy names of a key"},
    {"put-identity-policy", put_identity_policy, o_iput, TOOL_NOPTS(o_iput),
     "set the identity policy of a Unix user or group"},
    {"get-identity-policy", get_identity_policy, o_iget, TOOL_NOPTS(o_iget),
     "show an identity policy"},
    {"delete-identity-policy", delete_identity_policy, o_iget, TOOL_NOPTS(o_iget),
     "delete an identity policy"},
    {"list-identity-policies", list_identity_policies, NULL, 0, "list identity policies"},
    {NULL, NULL, NULL, 0, NULL},
};
