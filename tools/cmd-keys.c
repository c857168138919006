/*
 * tools/cmd-keys.c — key lifecycle commands: create-key, describe-key,
 * list-keys, enable-key, disable-key, update-key-description,
 * schedule-key-deletion, cancel-key-deletion.
 */
#include "config.h"

#include <string.h>

#include "tools/tool.h"

static int create_key(tool_ctx *t)
{
    p11kms_client_kms_create c = {0};
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    tool_bytes policy = {NULL, 0};
    int code = TOOL_EXIT_OK;
    if (tool_arg(&t->args, "policy") != NULL && !tool_opt_text(t, "policy", &policy, &code))
        return code;
    c.key_spec = tool_arg(&t->args, "key-spec");
    c.key_usage = tool_arg(&t->args, "key-usage");
    c.description = tool_arg(&t->args, "description");
    c.alias = tool_arg(&t->args, "alias-name");
    c.policy = (const char *)policy.data;
    c.bypass_policy_lockout_check =
        tool_arg(&t->args, "bypass-policy-lockout-safety-check") != NULL;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    code = p11kms_client_kms_create_key(k, &c, &res, &e) ? tool_emit_result(t, &res)
                                                         : tool_kms_fail(t, &e);
done:
    tool_bytes_free(&policy);
    return code;
}

static int describe_key(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_describe_key(k, tool_arg(&t->args, "key-id"), &res, &e)
               ? tool_emit_result(t, &res)
               : tool_kms_fail(t, &e);
}

static int list_keys(tool_ctx *t)
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
    return p11kms_client_kms_list_keys(k, limit, tool_arg(&t->args, "marker"), &res, &e)
               ? tool_emit_result(t, &res)
               : tool_kms_fail(t, &e);
}

static int enable_key(tool_ctx *t)
{
    return tool_key_call(t, p11kms_client_kms_enable_key);
}

static int disable_key(tool_ctx *t)
{
    return tool_key_call(t, p11kms_client_kms_disable_key);
}

static int update_description(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_update_key_description(k, tool_arg(&t->args, "key-id"),
                                                    tool_arg(&t->args, "description"), &e)
               ? TOOL_EXIT_OK
               : tool_kms_fail(t, &e);
}

/* KMS's ScheduleKeyDeletion / CancelKeyDeletion response from the key's state now. */
static int deletion_output(tool_ctx *t, p11kms_client_kms *k, const char *ref, int schedule,
                           unsigned window)
{
    p11kms_client_kms_result d;
    p11kms_client_kms_error e;
    json_t *m, *out;
    if (!p11kms_client_kms_describe_key(k, ref, &d, &e))
        return tool_kms_fail(t, &e);
    m = json_object_get(d.json, "KeyMetadata");
    out = json_pack("{s:O?}", "KeyId", json_object_get(m, "KeyId"));
    if (out != NULL && schedule) {
        json_object_set(out, "KeyState", json_object_get(m, "KeyState"));
        if (json_object_get(m, "DeletionDate") != NULL)
            json_object_set(out, "DeletionDate", json_object_get(m, "DeletionDate"));
        json_object_set_new(out, "PendingWindowInDays", json_integer(window));
    }
    p11kms_client_kms_result_clear(&d);
    return tool_emit(t, out);
}

static int schedule_deletion(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    const char *ref = tool_arg(&t->args, "key-id");
    unsigned window = 30;
    int code;
    if (!tool_opt_uint(t, "pending-window-in-days", 7, 30, 30, &window))
        return TOOL_EXIT_USAGE;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    if (!p11kms_client_kms_schedule_key_deletion(k, ref, window, &res, &e))
        return tool_kms_fail(t, &e);
    if (json_object_get(res.json, "KeyId") != NULL)
        return tool_emit_result(t, &res);
    p11kms_client_kms_result_clear(&res);
    return deletion_output(t, k, ref, 1, window);
}

static int cancel_deletion(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    const char *ref = tool_arg(&t->args, "key-id");
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    if (!p11kms_client_kms_cancel_key_deletion(k, ref, &res, &e))
        return tool_kms_fail(t, &e);
    if (json_object_get(res.json, "KeyId") != NULL)
        return tool_emit_result(t, &res);
    p11kms_client_kms_result_clear(&res);
    return deletion_output(t, k, ref, 0, 0);
}

static const tool_opt o_create[] = {
    {"key-spec", TOOL_OPT_VALUE, "SPEC"},         {"key-usage", TOOL_OPT_VALUE, "USAGE"},
    {"description", TOOL_OPT_VALUE, "TEXT"},      {"policy", TOOL_OPT_VALUE, "file://PATH"},
    {"alias-name", TOOL_OPT_VALUE, "alias/NAME"}, {"bypass-policy-lockout-safety-check", 0, ""},
};
static const tool_opt o_key[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"}};
static const tool_opt o_list[] = {{"limit", TOOL_OPT_VALUE, "N"},
                                  {"marker", TOOL_OPT_VALUE, "MARKER"}};
static const tool_opt o_desc[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
                                  {"description", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "TEXT"}};
static const tool_opt o_sched[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
                                   {"pending-window-in-days", TOOL_OPT_VALUE, "DAYS"}};

const tool_cmd tool_cmds_keys[] = {
    {"create-key", create_key, o_create, TOOL_NOPTS(o_create), "create a customer master key"},
    {"describe-key", describe_key, o_key, TOOL_NOPTS(o_key), "show a key's metadata"},
    {"list-keys", list_keys, o_list, TOOL_NOPTS(o_list), "list the keys of the token"},
    {"enable-key", enable_key, o_key, TOOL_NOPTS(o_key), "enable a disabled key"},
    {"disable-key", disable_key, o_key, TOOL_NOPTS(o_key), "disable a key"},
    {"update-key-description", update_description, o_desc, TOOL_NOPTS(o_desc),
     "change a key's description"},
    {"schedule-key-deletion", schedule_deletion, o_sched, TOOL_NOPTS(o_sched),
     "delete a key after a 7-30 day window"},
    {"cancel-key-deletion", cancel_deletion, o_key, TOOL_NOPTS(o_key),
     "cancel a scheduled deletion (the key becomes Disabled)"},
    {NULL, NULL, NULL, 0, NULL},
};
