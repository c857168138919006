/*
 * tests/tde/tde-create-key.c — test helper for the SQLite integration
 * scripts: create a SYMMETRIC_DEFAULT CMK with an alias on the token of
 * $P11KMS_MODULE, logging in with the PIN source $P11KMS_PIN_SOURCE.
 * (Service aliases alias/p11kms/... are created by libp11kms-tde itself.)
 * Usage: tde-create-key alias/NAME [rotate|deny-decrypt]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kms.h"
#include "client/module.h"

static const char deny_policy[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Effect\":\"Allow\",\"Principal\":{\"Unix\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
    "{\"Effect\":\"Deny\",\"Principal\":{\"Unix\":\"*\"},\"Action\":\"kms:Decrypt\","
    "\"Resource\":\"*\"}]}";

static int act(p11kms_client_kms *k, const char *alias, const char *what)
{
    p11kms_client_kms_create c = {0};
    p11kms_client_kms_result r = {0};
    p11kms_client_kms_error e;
    int ok;

    c.alias = alias;
    if (what == NULL)
        ok = p11kms_client_kms_create_key(k, &c, &r, &e);
    else if (strcmp(what, "rotate") == 0)
        ok = p11kms_client_kms_rotate_key_on_demand(k, alias, &r, &e);
    else
        ok = p11kms_client_kms_put_key_policy(k, alias, deny_policy, 0, &e);
    if (!ok)
        fprintf(stderr, "tde-create-key: %s\n", p11kms_client_kms_error_msg(&e));
    p11kms_client_kms_result_clear(&r);
    return ok;
}

int main(int argc, char **argv)
{
    const char *pin = getenv("P11KMS_PIN_SOURCE");
    p11kms_client_module *mod = NULL;
    p11kms_client_kms k = {0};
    p11kms_client_err ce;
    CK_SLOT_ID slot;
    int ok = 0;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: tde-create-key alias/NAME [rotate|deny-decrypt]\n");
        return 2;
    }
    if (!p11kms_client_module_load(NULL, &mod, &ce) ||
        !p11kms_client_find_slot(mod, NULL, &slot, &ce) ||
        !p11kms_client_session_open(mod, slot, 1, &k.session, &ce) ||
        !p11kms_client_login(mod, k.session, CKU_USER, pin ? pin : "env:P11KMS_PIN", &ce)) {
        fprintf(stderr, "tde-create-key: %s\n", ce.msg);
        goto done;
    }
    k.mod = mod;
    ok = act(&k, argv[1], argc == 3 ? argv[2] : NULL);
done:
    p11kms_client_module_unload(mod);
    return ok ? 0 : 1;
}
