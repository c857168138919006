/*
 * tools/cmd-token.c — `p11kms init --label L`: initialise a token through
 * the standard calls (C_InitToken with the SO PIN, then C_InitPIN for the
 * user PIN as SO), so the result is the same as pkcs11-tool --init-token
 * + --init-pin.  PINs come from --so-pin-source / --pin-source (else
 * P11KMS_SO_PIN / P11KMS_PIN, else a prompt without echo), never from a
 * command-line value.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client/pin-source.h"
#include "tools/tool.h"

static const char *so_default(void)
{
    const char *v = getenv("P11KMS_SO_PIN");
    return v != NULL ? "env:P11KMS_SO_PIN" : "prompt";
}

static int read_pins(tool_ctx *t, p11kms_client_pin *so, p11kms_client_pin *user)
{
    p11kms_client_err e = {"", 0};
    const char *so_spec = t->so_pin_source ? t->so_pin_source : so_default();
    const char *spec = t->pin_source ? t->pin_source : p11kms_client_pin_default_spec();
    if (!p11kms_client_pin_read(so_spec, "Security officer PIN: ", so, &e) ||
        !p11kms_client_pin_read(spec, "User PIN: ", user, &e))
        return tool_fail(t, TOOL_EXIT_TOKEN, "%s", p11kms_client_err_msg(&e));
    return TOOL_EXIT_OK;
}

static int init_token(tool_ctx *t, const p11kms_client_pin *so, const char *label)
{
    p11kms_client_err e = {"", 0};
    CK_UTF8CHAR padded[32];
    size_t n = strlen(label);
    CK_RV rv;
    if (n == 0 || n > 32)
        return tool_usage(t, "--label must be 1 to 32 bytes");
    if (!p11kms_client_module_load(t->module, &t->mod, &e))
        return tool_fail(t, TOOL_EXIT_TOKEN, "cannot load the PKCS#11 module: %s",
                         p11kms_client_err_msg(&e));
    if (!p11kms_client_find_slot(t->mod, t->token, &t->slot, &e))
        return tool_fail(t, TOOL_EXIT_TOKEN, "no token: %s", p11kms_client_err_msg(&e));
    memset(padded, ' ', sizeof(padded));
    memcpy(padded, label, n);
    rv = p11kms_client_module_functions(t->mod)->C_InitToken(t->slot, so->data, so->len, padded);
    if (rv != CKR_OK)
        return tool_fail(t, TOOL_EXIT_TOKEN, "C_InitToken failed: %s%s", p11kms_client_rv_name(rv),
                         rv == CKR_PIN_LEN_RANGE ? " (PIN too short or too long)" : "");
    return TOOL_EXIT_OK;
}

static int init_pin(tool_ctx *t, const p11kms_client_pin *so, const p11kms_client_pin *user)
{
    p11kms_client_err e = {"", 0};
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(t->mod);
    CK_RV rv;
    if (!p11kms_client_session_open(t->mod, t->slot, 1, &t->kms.session, &e))
        return tool_fail(t, TOOL_EXIT_TOKEN, "cannot open a session: %s",
                         p11kms_client_err_msg(&e));
    t->have_session = 1;
    if (!p11kms_client_login_pin(t->mod, t->kms.session, CKU_SO, so, &e))
        return tool_fail(t, TOOL_EXIT_TOKEN, "SO login failed: %s", p11kms_client_err_msg(&e));
    rv = f->C_InitPIN(t->kms.session, user->data, user->len);
    (void)f->C_Logout(t->kms.session);
    if (rv != CKR_OK)
        return tool_fail(t, TOOL_EXIT_TOKEN, "C_InitPIN failed: %s%s", p11kms_client_rv_name(rv),
                         rv == CKR_PIN_LEN_RANGE ? " (PIN too short or too long)" : "");
    return TOOL_EXIT_OK;
}

static int init(tool_ctx *t)
{
    p11kms_client_pin so = {0}, user = {0};
    const char *label = tool_arg(&t->args, "label");
    int code = read_pins(t, &so, &user);
    if (code == TOOL_EXIT_OK)
        code = init_token(t, &so, label);
    if (code == TOOL_EXIT_OK)
        code = init_pin(t, &so, &user);
    if (code == TOOL_EXIT_OK)
        code = tool_emit(t, json_pack("{s:s,s:I,s:s}", "TokenLabel", label, "SlotId",
                                      (json_int_t)t->slot, "Module",
                                      p11kms_client_module_path(t->mod)));
    p11kms_client_pin_free(&so);
    p11kms_client_pin_free(&user);
    return code;
}

static const tool_opt o_init[] = {{"label", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "LABEL"}};

const tool_cmd tool_cmds_token[] = {
    {"init", init, o_init, TOOL_NOPTS(o_init),
     "initialise the token (SO PIN and user PIN from PIN sources)"},
    {NULL, NULL, NULL, 0, NULL},
};
