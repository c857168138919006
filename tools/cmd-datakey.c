/*
 * tools/cmd-datakey.c — data keys: generate-data-key (plaintext and
 * encrypted copy) and generate-data-key-without-plaintext.
 */
#include "config.h"

#include <string.h>

#include "tools/tool.h"

static int put_b64(json_t *o, const char *name, const unsigned char *data, size_t len)
{
    json_t *v = tool_b64(data, len);
    return v != NULL && json_object_set_new(o, name, v) == 0;
}

static json_t *datakey_output(const p11kms_client_kms_result *res, int with_plaintext)
{
    char id[37] = "";
    json_t *out = NULL;
    if (!p11kms_client_kms_blob_key(res->ciphertext, res->ciphertext_len, id, NULL, NULL))
        return NULL;
    out = json_pack("{s:s}", "KeyId", id);
    if (out != NULL &&
        (!put_b64(out, "CiphertextBlob", res->ciphertext, res->ciphertext_len) ||
         (with_plaintext && !put_b64(out, "Plaintext", res->plaintext, res->plaintext_len)))) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

static int datakey(tool_ctx *t, int with_plaintext)
{
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    const char *spec = tool_arg(&t->args, "key-spec");
    json_t *ctx = NULL;
    unsigned n = 0;
    int code = TOOL_EXIT_USAGE, ok;
    if (!tool_opt_uint(t, "number-of-bytes", 1, 1024, 0, &n) ||
        !tool_opt_context(t, "encryption-context", &ctx))
        goto done;
    if ((spec == NULL) == (n == 0)) {
        code = tool_usage(t, "give exactly one of --key-spec and --number-of-bytes");
        goto done;
    }
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    const char *key = tool_arg(&t->args, "key-id");
    ok = with_plaintext ? p11kms_client_kms_generate_data_key(k, key, spec, n, ctx, &res, &e)
                        : p11kms_client_kms_generate_data_key_without_plaintext(k, key, spec, n,
                                                                                ctx, &res, &e);
    code = ok ? tool_emit(t, datakey_output(&res, with_plaintext)) : tool_kms_fail(t, &e);
done:
    p11kms_client_kms_result_clear(&res);
    json_decref(ctx);
    return code;
}

static int generate_data_key(tool_ctx *t)
{
    return datakey(t, 1);
}

static int generate_data_key_without_plaintext(tool_ctx *t)
{
    return datakey(t, 0);
}

static const tool_opt o_datakey[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"key-spec", TOOL_OPT_VALUE, "AES_256|AES_128"},
    {"number-of-bytes", TOOL_OPT_VALUE, "N"},
    {"encryption-context", TOOL_OPT_VALUE, "k=v,k2=v2|JSON"},
};

const tool_cmd tool_cmds_datakey[] = {
    {"generate-data-key", generate_data_key, o_datakey, TOOL_NOPTS(o_datakey),
     "a new data key, in plaintext and encrypted under a key"},
    {"generate-data-key-without-plaintext", generate_data_key_without_plaintext, o_datakey,
     TOOL_NOPTS(o_datakey), "a new data key, encrypted only"},
    {NULL, NULL, NULL, 0, NULL},
};
