/*
 * tools/session.c — the one module session a p11kms command uses: the
 * module loaded by path (--module, else P11KMS_MODULE, else the installed
 * p11kms-pkcs11.so), the token found by --token or as the only one, a
 * read-write session logged in as user with the PIN from --pin-source
 * (else P11KMS_PIN, else a prompt without echo).  Also the option helpers
 * every command file shares.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client/pin-source.h"
#include "tools/tool.h"

static int token_fail(tool_ctx *t, const char *what, const p11kms_client_err *e)
{
    return tool_fail(t, TOOL_EXIT_TOKEN, "%s: %s", what, p11kms_client_err_msg(e));
}

int tool_session(tool_ctx *t, p11kms_client_kms **out)
{
    p11kms_client_err e = {"", 0};
    const char *pin = t->pin_source ? t->pin_source : p11kms_client_pin_default_spec();
    if (t->have_session) {
        *out = &t->kms;
        return TOOL_EXIT_OK;
    }
    if (t->mod == NULL && !p11kms_client_module_load(t->module, &t->mod, &e))
        return token_fail(t, "cannot load the PKCS#11 module", &e);
    if (!p11kms_client_find_slot(t->mod, t->token, &t->slot, &e))
        return token_fail(t, "no token", &e);
    if (!p11kms_client_session_open(t->mod, t->slot, 1, &t->kms.session, &e))
        return token_fail(t, "cannot open a session", &e);
    t->kms.mod = t->mod;
    t->have_session = 1;
    if (!p11kms_client_login(t->mod, t->kms.session, CKU_USER, pin, &e))
        return token_fail(t, "login failed", &e);
    *out = &t->kms;
    return TOOL_EXIT_OK;
}

void tool_session_close(tool_ctx *t)
{
    if (t->have_session)
        p11kms_client_session_close(t->mod, t->kms.session);
    t->have_session = 0;
    p11kms_client_module_unload(t->mod);
    t->mod = NULL;
}

int tool_opt_context(tool_ctx *t, const char *name, json_t **out)
{
    char err[256];
    const char *v = tool_arg(&t->args, name);
    tool_bytes text = {NULL, 0};
    int ok = 0;
    *out = NULL;
    if (v == NULL)
        return 1;
    if (strncmp(v, "file://", 7) == 0) {
        if (!tool_input_text(name, v, &text, err, sizeof(err))) {
            tool_usage(t, "--%s: %s", name, err);
            return 0;
        }
        v = (const char *)text.data;
    }
    *out = tool_parse_context(v, err, sizeof(err));
    if (*out == NULL)
        tool_usage(t, "--%s: %s", name, err);
    ok = *out != NULL;
    tool_bytes_free(&text);
    return ok;
}

int tool_opt_binary(tool_ctx *t, const char *name, tool_bytes *out, int *code)
{
    char err[512];
    const char *v = tool_arg(&t->args, name);
    if (v == NULL) {
        *code = tool_usage(t, "the option --%s is required", name);
        return 0;
    }
    if (!tool_input_binary(name, v, out, err, sizeof(err))) {
        *code = strncmp(v, "fileb://", 8) == 0 || strcmp(v, "-") == 0
                    ? tool_fail(t, TOOL_EXIT_ERROR, "%s", err)
                    : tool_usage(t, "%s", err);
        return 0;
    }
    return 1;
}

int tool_opt_text(tool_ctx *t, const char *name, tool_bytes *out, int *code)
{
    char err[512];
    const char *v = tool_arg(&t->args, name);
    if (v == NULL) {
        *code = tool_usage(t, "the option --%s is required", name);
        return 0;
    }
    if (!tool_input_text(name, v, out, err, sizeof(err))) {
        *code = tool_fail(t, TOOL_EXIT_ERROR, "%s", err);
        return 0;
    }
    return 1;
}

int tool_opt_uint(tool_ctx *t, const char *name, unsigned min, unsigned max, unsigned def,
                  unsigned *out)
{
    char err[256];
    const char *v = tool_arg(&t->args, name);
    *out = def;
    if (v == NULL)
        return 1;
    if (!tool_parse_uint(name, v, min, max, out, err, sizeof(err))) {
        tool_usage(t, "%s", err);
        return 0;
    }
    return 1;
}

int tool_key_call(tool_ctx *t, tool_key_fn fn)
{
    p11kms_client_kms *k = NULL;
    p11kms_client_kms_error e;
    int code = tool_session(t, &k);
    if (code != TOOL_EXIT_OK)
        return code;
    return fn(k, tool_arg(&t->args, "key-id"), &e) ? TOOL_EXIT_OK : tool_kms_fail(t, &e);
}

int tool_key_id(tool_ctx *t, p11kms_client_kms *k, const char *ref, char out[37])
{
    p11kms_client_kms_result r;
    p11kms_client_kms_error e;
    const char *id;
    if (!p11kms_client_kms_describe_key(k, ref, &r, &e))
        return tool_kms_fail(t, &e);
    id = json_string_value(json_object_get(json_object_get(r.json, "KeyMetadata"), "KeyId"));
    snprintf(out, 37, "%s", id ? id : ref);
    p11kms_client_kms_result_clear(&r);
    return TOOL_EXIT_OK;
}

int tool_emit_result(tool_ctx *t, p11kms_client_kms_result *res)
{
    json_t *j = res->json;
    res->json = NULL;
    p11kms_client_kms_result_clear(res);
    return tool_emit(t, j);
}
