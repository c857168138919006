/*
 * tools/cmd-crypto.c — envelope encryption commands: encrypt, decrypt,
 * re-encrypt, and generate-random.  Blobs and plaintexts are printed as
 * base64 (CiphertextBlob, Plaintext) as `aws kms` prints them; the KeyId
 * shown is the key id the blob names (kms/envelope.h), not the alias.
 */
#include "config.h"

#include <string.h>

#include "tools/tool.h"

/* Adds name: base64(data) to o. */
static int put_b64(json_t *o, const char *name, const unsigned char *data, size_t len)
{
    json_t *v = tool_b64(data, len);
    return v != NULL && json_object_set_new(o, name, v) == 0;
}

/* The key id a blob names, or fallback when it is not an envelope blob (RSA). */
static json_t *blob_key(const unsigned char *blob, size_t len, json_t *fallback)
{
    char id[37];
    uint32_t ver = 0;
    if (blob != NULL && p11kms_client_kms_blob_key(blob, len, id, &ver, NULL))
        return json_string(id);
    return fallback ? json_incref(fallback) : json_null();
}

typedef struct crypt_in {
    tool_bytes data;
    json_t *ctx;
    const char *alg;
} crypt_in;

static void crypt_in_free(crypt_in *in)
{
    tool_bytes_free(&in->data);
    json_decref(in->ctx);
}

static int crypt_call(tool_ctx *t, const char *op, crypt_in *in, p11kms_client_kms_result *res)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    json_t *p = json_object();
    int enc = strcmp(op, "Encrypt") == 0;
    p11kms_client_kms_request r = {.op = op, .key_id = tool_arg(&t->args, "key-id"), .params = p};
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        goto done;
    if (enc)
        r.plaintext = in->data.data, r.plaintext_len = in->data.len;
    else
        r.ciphertext = in->data.data, r.ciphertext_len = in->data.len;
    if (p == NULL || (in->ctx && json_object_set(p, "EncryptionContext", in->ctx) != 0) ||
        (in->alg && json_object_set_new(p, "EncryptionAlgorithm", json_string(in->alg)) != 0)) {
        code = tool_fail(t, TOOL_EXIT_ERROR, "out of memory");
        goto done;
    }
    if (!p11kms_client_kms_call(k, &r, res, &e))
        code = tool_kms_fail(t, &e);
done:
    json_decref(p);
    return code;
}

static int crypt_cmd(tool_ctx *t, const char *op, const char *input)
{
    crypt_in in = {{NULL, 0}, NULL, tool_arg(&t->args, "encryption-algorithm")};
    p11kms_client_kms_result res = {0};
    int enc = strcmp(op, "Encrypt") == 0, code = TOOL_EXIT_USAGE;
    json_t *out = NULL;
    if (!tool_opt_context(t, "encryption-context", &in.ctx) ||
        !tool_opt_binary(t, input, &in.data, &code))
        goto done;
    code = crypt_call(t, op, &in, &res);
    if (code != TOOL_EXIT_OK)
        goto done;
    out = json_pack("{s:o,s:s}", "KeyId",
                    blob_key(enc ? res.ciphertext : in.data.data,
                             enc ? res.ciphertext_len : in.data.len,
                             json_object_get(res.json, "KeyId")),
                    "EncryptionAlgorithm", in.alg ? in.alg : "SYMMETRIC_DEFAULT");
    if (out != NULL &&
        !put_b64(out, enc ? "CiphertextBlob" : "Plaintext", enc ? res.ciphertext : res.plaintext,
                 enc ? res.ciphertext_len : res.plaintext_len)) {
        json_decref(out);
        out = NULL;
    }
    code = tool_emit(t, out);
done:
    p11kms_client_kms_result_clear(&res);
    crypt_in_free(&in);
    return code;
}

static int encrypt(tool_ctx *t)
{
    return crypt_cmd(t, "Encrypt", "plaintext");
}

static int decrypt(tool_ctx *t)
{
    return crypt_cmd(t, "Decrypt", "ciphertext-blob");
}

static int re_encrypt_call(tool_ctx *t, tool_bytes *blob, json_t *src, json_t *dst,
                           p11kms_client_kms_result *res)
{
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    if (!p11kms_client_kms_re_encrypt(k, blob->data, blob->len, tool_arg(&t->args, "source-key-id"),
                                      src, tool_arg(&t->args, "destination-key-id"), dst, res, &e))
        return tool_kms_fail(t, &e);
    return TOOL_EXIT_OK;
}

static int re_encrypt(tool_ctx *t)
{
    tool_bytes blob = {NULL, 0};
    json_t *src = NULL, *dst = NULL, *out = NULL;
    p11kms_client_kms_result res = {0};
    int code = TOOL_EXIT_USAGE;
    if (!tool_opt_context(t, "source-encryption-context", &src) ||
        !tool_opt_context(t, "destination-encryption-context", &dst) ||
        !tool_opt_binary(t, "ciphertext-blob", &blob, &code))
        goto done;
    code = re_encrypt_call(t, &blob, src, dst, &res);
    if (code != TOOL_EXIT_OK)
        goto done;
    out =
        json_pack("{s:o,s:o,s:s,s:s}", "SourceKeyId", blob_key(blob.data, blob.len, NULL), "KeyId",
                  blob_key(res.ciphertext, res.ciphertext_len, NULL), "SourceEncryptionAlgorithm",
                  "SYMMETRIC_DEFAULT", "DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    if (out != NULL && !put_b64(out, "CiphertextBlob", res.ciphertext, res.ciphertext_len)) {
        json_decref(out);
        out = NULL;
    }
    code = tool_emit(t, out);
done:
    p11kms_client_kms_result_clear(&res);
    tool_bytes_free(&blob);
    json_decref(src);
    json_decref(dst);
    return code;
}

static int generate_random(tool_ctx *t)
{
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error e;
    p11kms_client_kms *k = NULL;
    unsigned n = 0;
    json_t *out = NULL;
    int code;
    if (!tool_opt_uint(t, "number-of-bytes", 1, 1024, 0, &n))
        return TOOL_EXIT_USAGE;
    code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    if (!p11kms_client_kms_generate_random(k, n, &res, &e))
        return tool_kms_fail(t, &e);
    out = json_object();
    if (out != NULL && !put_b64(out, "Plaintext", res.plaintext, res.plaintext_len)) {
        json_decref(out);
        out = NULL;
    }
    p11kms_client_kms_result_clear(&res);
    return tool_emit(t, out);
}

static const tool_opt o_encrypt[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"plaintext", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"encryption-context", TOOL_OPT_VALUE, "k=v,k2=v2|JSON"},
    {"encryption-algorithm", TOOL_OPT_VALUE, "ALG"},
};
static const tool_opt o_decrypt[] = {
    {"ciphertext-blob", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"key-id", TOOL_OPT_VALUE, "KEY"},
    {"encryption-context", TOOL_OPT_VALUE, "k=v,k2=v2|JSON"},
    {"encryption-algorithm", TOOL_OPT_VALUE, "ALG"},
};
static const tool_opt o_reencrypt[] = {
    {"ciphertext-blob", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "fileb://PATH|-|BASE64"},
    {"destination-key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"source-key-id", TOOL_OPT_VALUE, "KEY"},
    {"source-encryption-context", TOOL_OPT_VALUE, "k=v,...|JSON"},
    {"destination-encryption-context", TOOL_OPT_VALUE, "k=v,...|JSON"},
};
static const tool_opt o_random[] = {{"number-of-bytes", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "N"}};

const tool_cmd tool_cmds_crypto[] = {
    {"encrypt", encrypt, o_encrypt, TOOL_NOPTS(o_encrypt), "encrypt up to 4096 bytes under a key"},
    {"decrypt", decrypt, o_decrypt, TOOL_NOPTS(o_decrypt), "decrypt a ciphertext blob"},
    {"re-encrypt", re_encrypt, o_reencrypt, TOOL_NOPTS(o_reencrypt),
     "decrypt and encrypt again under another key, inside the module"},
    {"generate-random", generate_random, o_random, TOOL_NOPTS(o_random),
     "random bytes from the module"},
    {NULL, NULL, NULL, 0, NULL},
};
