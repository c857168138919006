/* kms/keypolicy.c — PutKeyPolicy / GetKeyPolicy and the identity policies
 * of Unix users and groups.  Documents are validated and normalised by
 * kms/policy.h (names resolved to ids when stored, so no name-service
 * lookup happens per request); PutKeyPolicy refuses a policy that would
 * lock the caller out unless the safety check is bypassed.  Identity
 * policies are managed by the token's admins only (the initialiser and the
 * configured admin group). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "kms/kms-internal.h"

#define TOKEN_ADMIN_POLICY_NAME "p11kms-token-admin"
#define IDENTITY_POLICY_NAME    "default"

static p11kms_kms_rc check_policy_name(kms_call *c, const char *name)
{
    json_object_set_new(c->request, "policyName", json_string(name ? name : ""));
    if (name == NULL || strcmp(name, "default") != 0)
        return kms_fail(c, P11KMS_KMS_NOT_FOUND, "PolicyName must be \"default\"");
    return P11KMS_KMS_OK;
}

p11kms_kms_rc p11kms_kms_put_key_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                        p11kms_kms_key *key, const char *key_ref,
                                        const char *policy_name, const char *policy_json,
                                        int bypass_policy_lockout_check)
{
    kms_call c;
    p11kms_policy_request req;
    char *doc = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "PutKeyPolicy", "kms:PutKeyPolicy", 1, 0);
    json_object_set_new(c.request, "bypassPolicyLockoutSafetyCheck",
                        json_boolean(bypass_policy_lockout_check));
    rc = check_policy_name(&c, policy_name);
    if (rc == P11KMS_KMS_OK)
        rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && c.key->manager == P11KMS_KMS_MANAGER_SERVICE)
        rc = kms_fail(&c, P11KMS_KMS_UNSUPPORTED,
                      "the policy of a service-managed key is edited by its service only");
    if (rc == P11KMS_KMS_OK)
        rc = kms_policy_check_doc(&c, policy_json, 0, &doc);
    if (rc == P11KMS_KMS_OK && !bypass_policy_lockout_check)
        rc = kms_lockout_check(&c, doc, c.key->key_id);
    if (rc == P11KMS_KMS_OK) {
        json_object_set_new(c.request, "policy", json_string(doc));
        rc = kms_rc_from_store(p11kms_store_key_policy_put(kms->st, c.key->key_id, doc));
    }
    free(doc);
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_get_key_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                        p11kms_kms_key *key, const char *key_ref,
                                        const char *policy_name, char **policy_json_out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "GetKeyPolicy", "kms:GetKeyPolicy", 1, 1);
    rc = check_policy_name(&c, policy_name);
    if (rc == P11KMS_KMS_OK)
        rc = kms_read_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && policy_json_out == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK)
        rc =
            kms_rc_from_store(p11kms_store_key_policy_get(kms->st, c.key->key_id, policy_json_out));
    return kms_call_end(&c, rc);
}

/* The initialiser (its token-admin identity policy) or the admin group. */
static p11kms_kms_rc require_admin(kms_call *c)
{
    char *doc = NULL;
    p11kms_store_rc src;

    if (c->caller == NULL)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "no caller identity");
    if (c->kms->opts.admin_gid_set && p11kms_caller_in_group(c->caller, c->kms->opts.admin_gid))
        return P11KMS_KMS_OK;
    src = p11kms_store_identity_policy_get(c->kms->st, P11KMS_STORE_PRINCIPAL_UID,
                                           (uint32_t)c->caller->uid, TOKEN_ADMIN_POLICY_NAME, &doc);
    free(doc);
    if (src == P11KMS_STORE_OK)
        return P11KMS_KMS_OK;
    snprintf(c->detail_buf, sizeof(c->detail_buf),
             "uid:%u is not a token admin: identity policies are managed by admins only",
             (unsigned)c->caller->uid);
    return kms_fail(c, P11KMS_KMS_ACCESS_DENIED, c->detail_buf);
}

static p11kms_kms_rc identity_begin(kms_call *c, const char *principal, p11kms_policy_principal *pr)
{
    p11kms_kms_rc rc;

    json_object_set_new(c->request, "principal", json_string(principal ? principal : ""));
    rc = kms_require_user(c);
    if (rc == P11KMS_KMS_OK &&
        (principal == NULL ||
         !p11kms_policy_principal_parse(principal, pr, c->detail_buf, sizeof(c->detail_buf)))) {
        c->detail = c->detail_buf;
        rc = P11KMS_KMS_VALIDATION;
    }
    if (rc == P11KMS_KMS_OK)
        rc = require_admin(c);
    return rc;
}

static p11kms_store_principal store_kind(const p11kms_policy_principal *pr)
{
    return pr->kind == P11KMS_PRINCIPAL_GID ? P11KMS_STORE_PRINCIPAL_GID
                                            : P11KMS_STORE_PRINCIPAL_UID;
}

p11kms_kms_rc p11kms_kms_put_identity_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                             const char *principal, const char *policy_json)
{
    kms_call c;
    p11kms_policy_principal pr;
    char *doc = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "PutIdentityPolicy", NULL, 1, 0);
    rc = identity_begin(&c, principal, &pr);
    if (rc == P11KMS_KMS_OK)
        rc = kms_policy_check_doc(&c, policy_json, 1, &doc);
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc == P11KMS_KMS_OK) {
        json_object_set_new(c.request, "policy", json_string(doc));
        rc = kms_rc_from_store(p11kms_store_identity_policy_put(
            kms->st, store_kind(&pr), pr.id, IDENTITY_POLICY_NAME, doc, p11kms_time_now_ms()));
    }
    free(doc);
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_get_identity_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                             const char *principal, char **policy_json_out)
{
    kms_call c;
    p11kms_policy_principal pr;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "GetIdentityPolicy", NULL, 1, 1);
    rc = identity_begin(&c, principal, &pr);
    if (rc == P11KMS_KMS_OK && policy_json_out == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_identity_policy_get(
            kms->st, store_kind(&pr), pr.id, IDENTITY_POLICY_NAME, policy_json_out));
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_delete_identity_policy(p11kms_kms *kms, const p11kms_caller *caller,
                                                const char *principal)
{
    kms_call c;
    p11kms_policy_principal pr;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "DeleteIdentityPolicy", NULL, 1, 0);
    rc = identity_begin(&c, principal, &pr);
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_identity_policy_delete(kms->st, store_kind(&pr), pr.id,
                                                                   IDENTITY_POLICY_NAME));
    return kms_call_end(&c, rc);
}
