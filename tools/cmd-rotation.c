/*
 * tools/cmd-rotation.c — rotation and scheduled work: enable-key-rotation,
 * disable-key-rotation, get-key-rotation-status, rotate-key-on-demand,
 * list-key-rotations, and run-due (due rotations and expired deletion
 * windows; meant for a timer, tools/systemd/p11kms-run-due.timer).
 */
#include "config.h"

#include "tools/tool.h"

static int enable_rotation(tool_ctx *t)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    unsigned days = 0;
    int code;
    if (!tool_opt_uint(t, "rotation-period-in-days", 90, 2560, 0, &days))
        return TOOL_EXIT_USAGE;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return p11kms_client_kms_enable_key_rotation(k, tool_arg(&t->args, "key-id"), days, &e)
               ? TOOL_EXIT_OK
               : tool_kms_fail(t, &e);
}

static int disable_rotation(tool_ctx *t)
{
    return tool_key_call(t, p11kms_client_kms_disable_key_rotation);
}

typedef int (*key_result_fn)(const p11kms_client_kms *s, const char *key_id,
                             p11kms_client_kms_result *res, p11kms_client_kms_error *err);

static int key_result(tool_ctx *t, key_result_fn fn, int want_key_id)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    char id[37];
    const char *ref = tool_arg(&t->args, "key-id");
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    if (!fn(k, ref, &res, &e))
        return tool_kms_fail(t, &e);
    if (want_key_id && json_object_get(res.json, "KeyId") == NULL) {
        code = tool_key_id(t, k, ref, id);
        if (code != TOOL_EXIT_OK) {
            p11kms_client_kms_result_clear(&res);
            return code;
        }
        json_object_set_new(res.json, "KeyId", json_string(id));
    }
    return tool_emit_result(t, &res);
}

static int rotation_status(tool_ctx *t)
{
    return key_result(t, p11kms_client_kms_get_key_rotation_status, 1);
}

static int rotate_now(tool_ctx *t)
{
    return key_result(t, p11kms_client_kms_rotate_key_on_demand, 1);
}

static int list_rotations(tool_ctx *t)
{
    return key_result(t, p11kms_client_kms_list_key_rotations, 0);
}

static int run_due(tool_ctx *t)
{
    p11kms_client_kms_result res;
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    if (!p11kms_client_kms_run_due(k, &res, &e))
        return tool_kms_fail(t, &e);
    json_int_t failed = json_integer_value(json_object_get(res.json, "Failed"));
    code = tool_emit_result(t, &res);
    /* Work that failed is retried on the next run; the timer should see it. */
    return code == TOOL_EXIT_OK && failed > 0 ? TOOL_EXIT_ERROR : code;
}

static const tool_opt o_key[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"}};
static const tool_opt o_enable[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
                                    {"rotation-period-in-days", TOOL_OPT_VALUE, "DAYS"}};

const tool_cmd tool_cmds_rotation[] = {
    {"enable-key-rotation", enable_rotation, o_enable, TOOL_NOPTS(o_enable),
     "rotate a symmetric key automatically (90-2560 days, default 365)"},
    {"disable-key-rotation", disable_rotation, o_key, TOOL_NOPTS(o_key), "stop automatic rotation"},
    {"get-key-rotation-status", rotation_status, o_key, TOOL_NOPTS(o_key),
     "whether and when a key rotates"},
    {"rotate-key-on-demand", rotate_now, o_key, TOOL_NOPTS(o_key), "create a new key version now"},
    {"list-key-rotations", list_rotations, o_key, TOOL_NOPTS(o_key), "the rotations of a key"},
    {"run-due", run_due, NULL, 0, "rotate due keys and destroy keys whose window ended"},
    {NULL, NULL, NULL, 0, NULL},
};
