/*
 * tools/cmd-sign.c — asymmetric key commands: sign, verify and
 * get-public-key.  Signatures and public keys are printed as base64 (an
 * ECDSA signature is DER, a public key DER SubjectPublicKeyInfo, as KMS).
 */
#include "config.h"

#include <string.h>

#include "tools/tool.h"

static int put_b64(json_t *o, const char *name, const unsigned char *data, size_t len)
{
    json_t *v = tool_b64(data, len);
    return v != NULL && json_object_set_new(o, name, v) == 0;
}

static int sign_or_verify(tool_ctx *t, int verify)
{
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    tool_bytes msg = {NULL, 0}, sig = {NULL, 0};
    const char *key = tool_arg(&t->args, "key-id"), *alg = tool_arg(&t->args, "signing-algorithm");
    const char *type = tool_arg(&t->args, "message-type");
    int code = TOOL_EXIT_USAGE, ok;
    if (type != NULL && strcmp(type, "RAW") != 0 && strcmp(type, "DIGEST") != 0) {
        code = tool_usage(t, "--message-type must be RAW or DIGEST");
        goto done;
    }
    if (!tool_opt_binary(t, "message", &msg, &code) ||
        (verify && !tool_opt_binary(t, "signature", &sig, &code)))
        goto done;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    ok = verify ? p11kms_client_kms_verify(k, key, msg.data, msg.len, type, alg, sig.data, sig.len,
                                           &res, &e)
                : p11kms_client_kms_sign(k, key, msg.data, msg.len, type, alg, &res, &e);
    if (!ok) {
        code = tool_kms_fail(t, &e);
        goto done;
    }
    json_object_set_new(res.json, "SigningAlgorithm", json_string(alg));
    if (verify)
        json_object_set_new(res.json, "SignatureValid", json_true());
    else if (res.signature != NULL &&
             !put_b64(res.json, "Signature", res.signature, res.signature_len))
        json_decref(res.json), res.json = NULL;
    code = tool_emit_result(t, &res);
done:
    p11kms_client_kms_result_clear(&res);
    tool_bytes_free(&msg);
    tool_bytes_free(&sig);
    return code;
}

static int sign(tool_ctx *t)
{
    return sign_or_verify(t, 0);
}

static int verify(tool_ctx *t)
{
    return sign_or_verify(t, 1);
}

/* KeySpec, KeyUsage and the algorithm lists of DescribeKey's metadata. */
static void add_metadata(p11kms_client_kms *k, const char *key, json_t *out)
{
    static const char *const fields[] = {"KeySpec", "KeyUsage", "SigningAlgorithms",
                                         "EncryptionAlgorithms", "KeyId"};
    p11kms_client_kms_result d;
    p11kms_client_kms_error e;
    if (!p11kms_client_kms_describe_key(k, key, &d, &e))
        return;
    json_t *m = json_object_get(d.json, "KeyMetadata");
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (json_object_get(m, fields[i]) != NULL && json_object_get(out, fields[i]) == NULL)
            json_object_set(out, fields[i], json_object_get(m, fields[i]));
    p11kms_client_kms_result_clear(&d);
}

static int get_public_key(tool_ctx *t)
{
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    const char *key = tool_arg(&t->args, "key-id");
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    if (!p11kms_client_kms_get_public_key(k, key, &res, &e))
        return tool_kms_fail(t, &e);
    if (json_object_get(res.json, "PublicKey") == NULL &&
        !put_b64(res.json, "PublicKey", res.plaintext, res.plaintext_len)) {
        p11kms_client_kms_result_clear(&res);
        return tool_fail(t, TOOL_EXIT_ERROR, "out of memory");
    }
    add_metadata(k, key, res.json);
    return tool_emit_result(t, &res);
}

static const tool_opt o_sign[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"message", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"signing-algorithm", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "ALG"},
    {"message-type", TOOL_OPT_VALUE, "RAW|DIGEST"},
};
static const tool_opt o_verify[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"message", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"signature", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"signing-algorithm", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "ALG"},
    {"message-type", TOOL_OPT_VALUE, "RAW|DIGEST"},
};
static const tool_opt o_key[] = {{"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"}};

const tool_cmd tool_cmds_sign[] = {
    {"sign", sign, o_sign, TOOL_NOPTS(o_sign), "sign a message or digest"},
    {"verify", verify, o_verify, TOOL_NOPTS(o_verify), "verify a signature"},
    {"get-public-key", get_public_key, o_key, TOOL_NOPTS(o_key),
     "the public key of an asymmetric key (DER, base64)"},
    {NULL, NULL, NULL, 0, NULL},
};
