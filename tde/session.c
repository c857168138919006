/*
 * tde/session.c — the TDE library's door to the token: load the module
 * (client/module.h), open a read-write session, log in with a PIN source,
 * and resolve which CMK wraps the DEKs.  Everything else in tde/ talks to
 * the token only through the client KMS API (client/kms.h), so policy
 * checks and audit records happen in the module, never here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tde/tde-internal.h"

/* PIN source: the option, else P11KMS_PIN_SOURCE, else the client default. */
static const char *pin_spec(const p11kms_tde_options *opt)
{
    const char *env = getenv("P11KMS_PIN_SOURCE");

    if (opt != NULL && opt->pin_source != NULL && opt->pin_source[0] != '\0')
        return opt->pin_source;
    if (env != NULL && env[0] != '\0')
        return env;
    return NULL;
}

/* A session the configuration's `unlock` already logged in needs no PIN. */
static int logged_in(tde_session *s)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_SESSION_INFO info;

    return f->C_GetSessionInfo(s->kms.session, &info) == CKR_OK &&
           info.state == CKS_RW_USER_FUNCTIONS;
}

static int login_fail(p11kms_tde_error *err, const p11kms_client_err *ce)
{
    p11kms_tde_rc rc = P11KMS_TDE_ERR_PIN;

    if (ce->rv != CKR_OK && ce->rv != CKR_PIN_INCORRECT && ce->rv != CKR_PIN_LOCKED &&
        ce->rv != CKR_PIN_LEN_RANGE && ce->rv != CKR_USER_PIN_NOT_INITIALIZED)
        rc = P11KMS_TDE_ERR_MODULE;
    return tde_fail(err, rc, "login failed: %s", p11kms_client_err_msg(ce));
}

static int do_login(tde_session *s, const p11kms_tde_options *opt, p11kms_tde_error *err)
{
    const char *spec = pin_spec(opt);
    p11kms_client_err ce = {{0}, 0};

    if (spec == NULL && logged_in(s))
        return 1;
    if (spec == NULL)
        spec = p11kms_client_pin_default_spec();
    if (!p11kms_client_login(s->mod, s->kms.session, CKU_USER, spec, &ce))
        return login_fail(err, &ce);
    return 1;
}

int tde_session_open(const p11kms_tde_options *opt, tde_session *s, p11kms_tde_error *err)
{
    p11kms_client_err ce = {{0}, 0};
    CK_SLOT_ID slot;

    memset(s, 0, sizeof(*s));
    if (!p11kms_client_module_load(opt ? opt->module : NULL, &s->mod, &ce))
        return tde_fail(err, P11KMS_TDE_ERR_MODULE, "%s", p11kms_client_err_msg(&ce));
    s->kms.mod = s->mod;
    if (!p11kms_client_find_slot(s->mod, opt ? opt->token : NULL, &slot, &ce) ||
        !p11kms_client_session_open(s->mod, slot, 1, &s->kms.session, &ce)) {
        tde_session_close(s);
        return tde_fail(err, P11KMS_TDE_ERR_MODULE, "%s", p11kms_client_err_msg(&ce));
    }
    s->open = 1;
    if (!do_login(s, opt, err)) {
        tde_session_close(s);
        return 0;
    }
    return 1;
}

void tde_session_close(tde_session *s)
{
    if (s->open)
        p11kms_client_session_close(s->mod, s->kms.session);
    p11kms_client_module_unload(s->mod);
    memset(s, 0, sizeof(*s));
}

/* KeyMetadata.KeyId of a DescribeKey/CreateKey response. */
static int key_id_of(const json_t *resp, char *key_id, size_t size)
{
    const char *id =
        json_string_value(json_object_get(json_object_get(resp, "KeyMetadata"), "KeyId"));
    if (id == NULL || strlen(id) >= size)
        return 0;
    snprintf(key_id, size, "%s", id);
    return 1;
}

/* The service-managed CMK, created on first use (DESIGN.md: service keys). */
static int create_service_key(tde_session *s, const char *alias, char *key_id, size_t size,
                              p11kms_tde_error *err)
{
    p11kms_client_kms_create c = {0};
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error ke;
    int ok;

    c.alias = alias;
    c.description = "p11kms TDE service key (wraps database encryption keys)";
    ok = p11kms_client_kms_create_key(&s->kms, &c, &res, &ke);
    if (!ok)
        tde_fail_kms(err, "cannot create the service key", &ke);
    else if (!(ok = key_id_of(res.json, key_id, size)))
        tde_fail(err, P11KMS_TDE_ERR_KMS, "CreateKey returned no KeyId");
    p11kms_client_kms_result_clear(&res);
    return ok;
}

int tde_session_cmk(tde_session *s, const p11kms_tde_options *opt, char *key_id, size_t size,
                    p11kms_tde_error *err)
{
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error ke;
    char alias[128];
    const char *name = opt != NULL ? opt->cmk : NULL;
    int ok;

    if (name == NULL || name[0] == '\0') {
        snprintf(alias, sizeof(alias), "alias/p11kms/%s",
                 opt != NULL && opt->service != NULL ? opt->service : "tde");
        name = alias;
    }
    ok = p11kms_client_kms_describe_key(&s->kms, name, &res, &ke);
    if (ok && !(ok = key_id_of(res.json, key_id, size)))
        tde_fail(err, P11KMS_TDE_ERR_KMS, "DescribeKey %s returned no KeyId", name);
    else if (!ok && name == alias && strcmp(ke.exception, "NotFoundException") == 0)
        ok = create_service_key(s, alias, key_id, size, err);
    else if (!ok)
        tde_fail_kms(err, name, &ke);
    p11kms_client_kms_result_clear(&res);
    return ok;
}
