/*
 * tools/ops-rotate.c — `p11kms rotate-root-key`: replaces the token's
 * root key and re-seals every key version under it in one transaction
 * (p11kms_store_root_key_rotate).  Both PINs are needed: each re-wraps
 * the new root key.  Afterwards old backups and the PINs of before (if
 * they were also changed) no longer open current material; the service
 * key file wrap is dropped and must be re-created.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client/pin-source.h"
#include "tools/ops-internal.h"

static const char *so_spec(audit_cli *a)
{
    if (a->t.so_pin_source != NULL)
        return a->t.so_pin_source;
    return getenv("P11KMS_SO_PIN") != NULL ? "env:P11KMS_SO_PIN" : "prompt";
}

static int rotate(audit_cli *a, const p11kms_client_pin *so, const p11kms_client_pin *user)
{
    p11kms_store_rc rc;
    int code = TOOL_EXIT_OK;

    rc = p11kms_store_login(a->st, P11KMS_STORE_USER_SO, (const char *)so->data, so->len);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_root_key_rotate(a->st, (const char *)so->data, so->len,
                                          user ? (const char *)user->data : NULL,
                                          user ? user->len : 0);
    if (rc == P11KMS_STORE_OK)
        rc = ops_audit_event(a->st, "RotateRootKey", "{}", NULL);
    if (rc != P11KMS_STORE_OK)
        code = audit_store_fail(a, rc, "rotate-root-key");
    return code;
}

int ops_cmd_rotate_root_key(audit_cli *a)
{
    p11kms_client_pin so, user;
    p11kms_client_err e;
    p11kms_store_token_info ti;
    p11kms_store_rc rc;
    int code;

    memset(&so, 0, sizeof(so));
    memset(&user, 0, sizeof(user));
    memset(&e, 0, sizeof(e));
    code = audit_open(a, 1, 0);
    if (code != TOOL_EXIT_OK)
        goto done;
    rc = p11kms_store_token_info_get(a->st, &ti);
    if (rc != P11KMS_STORE_OK || !ti.initialized) {
        code = audit_store_fail(a, rc != P11KMS_STORE_OK ? rc : P11KMS_STORE_NOT_INITIALIZED,
                                "rotate-root-key");
        goto done;
    }
    if (!p11kms_client_pin_read(so_spec(a), "Security officer PIN: ", &so, &e) ||
        (ti.user_pin_set &&
         !p11kms_client_pin_read(a->t.pin_source ? a->t.pin_source
                                                 : p11kms_client_pin_default_spec(),
                                 "User PIN: ", &user, &e))) {
        code = tool_fail(&a->t, TOOL_EXIT_TOKEN, "%s", p11kms_client_err_msg(&e));
        goto done;
    }
    code = rotate(a, &so, ti.user_pin_set ? &user : NULL);
    if (code == TOOL_EXIT_OK)
        code = tool_emit(&a->t, json_pack("{s:b, s:b}", "RootKeyRotated", 1, "ServiceKeyDropped",
                                          ti.has_service_key));
done:
    p11kms_client_pin_free(&so);
    p11kms_client_pin_free(&user);
    return code;
}
