/*
 * tools/cmd-mac.c — HMAC key commands: generate-mac and verify-mac.
 */
#include "config.h"

#include "tools/tool.h"

static int mac_cmd(tool_ctx *t, int verify)
{
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    tool_bytes msg = {NULL, 0}, mac = {NULL, 0};
    const char *key = tool_arg(&t->args, "key-id"), *alg = tool_arg(&t->args, "mac-algorithm");
    int code = TOOL_EXIT_USAGE, ok;
    if (!tool_opt_binary(t, "message", &msg, &code) ||
        (verify && !tool_opt_binary(t, "mac", &mac, &code)))
        goto done;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    ok = verify ? p11kms_client_kms_verify_mac(k, key, msg.data, msg.len, alg, mac.data, mac.len,
                                               &res, &e)
                : p11kms_client_kms_generate_mac(k, key, msg.data, msg.len, alg, &res, &e);
    if (!ok) {
        code = tool_kms_fail(t, &e);
        goto done;
    }
    json_object_set_new(res.json, "MacAlgorithm", json_string(alg));
    if (verify)
        json_object_set_new(res.json, "MacValid", json_true());
    else if (res.signature != NULL)
        json_object_set_new(res.json, "Mac", tool_b64(res.signature, res.signature_len));
    code = tool_emit_result(t, &res);
done:
    p11kms_client_kms_result_clear(&res);
    tool_bytes_free(&msg);
    tool_bytes_free(&mac);
    return code;
}

static int generate_mac(tool_ctx *t)
{
    return mac_cmd(t, 0);
}

static int verify_mac(tool_ctx *t)
{
    return mac_cmd(t, 1);
}

static const tool_opt o_gen[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"message", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"mac-algorithm", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "HMAC_SHA_256|384|512"},
};
static const tool_opt o_verify[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"message", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"mac", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"mac-algorithm", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "HMAC_SHA_256|384|512"},
};

const tool_cmd tool_cmds_mac[] = {
    {"generate-mac", generate_mac, o_gen, TOOL_NOPTS(o_gen), "HMAC of a message"},
    {"verify-mac", verify_mac, o_verify, TOOL_NOPTS(o_verify), "check an HMAC"},
    {NULL, NULL, NULL, 0, NULL},
};
