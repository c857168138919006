/*
 * client/kms-keys.c — key management calls of client/kms.h: CreateKey,
 * DescribeKey, ListKeys, aliases, enable/disable, the deletion window,
 * rotation, key and identity policies, grants and RunDue.  Each is the
 * generic operation call; the few the module may not offer as operations
 * fall back to client/kms-attr.c's attribute routes.
 */
#include "config.h"

#include <string.h>

#include "client/kms-internal.h"

/* Op with a key and optional params; no result wanted. */
static int plain(const p11kms_client_kms *s, const char *op, const char *key_id, json_t *params,
                 p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, op, key_id, params, NULL, err);
}

int p11kms_client_kms_create_key(const p11kms_client_kms *s, const p11kms_client_kms_create *c,
                                 p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    json_t *p = json_pack("{s:s,s:b}", "KeySpec", c->key_spec ? c->key_spec : "SYMMETRIC_DEFAULT",
                          "BypassPolicyLockoutSafetyCheck", c->bypass_policy_lockout_check);
    if (p != NULL && c->key_usage)
        json_object_set_new(p, "KeyUsage", json_string(c->key_usage));
    if (p != NULL && c->description)
        json_object_set_new(p, "Description", json_string(c->description));
    if (p != NULL && c->policy)
        json_object_set_new(p, "Policy", json_string(c->policy));
    if (p != NULL && c->alias)
        json_object_set_new(p, "AliasName", json_string(c->alias));
    if (p11kms_client_kms_simple(s, "CreateKey", NULL, p, res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_create_key(s, c, res, err);
}

int p11kms_client_kms_describe_key(const p11kms_client_kms *s, const char *key_id,
                                   p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "DescribeKey", key_id, NULL, res, err);
}

static json_t *paging(unsigned limit, const char *marker)
{
    json_t *p = json_object();
    if (p != NULL && limit > 0)
        json_object_set_new(p, "Limit", json_integer(limit));
    if (p != NULL && marker != NULL)
        json_object_set_new(p, "Marker", json_string(marker));
    return p;
}

int p11kms_client_kms_list_keys(const p11kms_client_kms *s, unsigned limit, const char *marker,
                                p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    if (p11kms_client_kms_simple(s, "ListKeys", NULL, paging(limit, marker), res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_list_keys(s, NULL, 0, res, err);
}

int p11kms_client_kms_list_aliases(const p11kms_client_kms *s, const char *key_id, unsigned limit,
                                   const char *marker, p11kms_client_kms_result *res,
                                   p11kms_client_kms_error *err)
{
    json_t *p = paging(limit, marker);
    if (p != NULL && key_id != NULL)
        json_object_set_new(p, "KeyId", json_string(key_id));
    if (p11kms_client_kms_simple(s, "ListAliases", NULL, p, res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_list_keys(s, key_id, 1, res, err);
}

static int alias_op(const p11kms_client_kms *s, const char *op, const char *alias_name,
                    const char *target, p11kms_client_kms_error *err)
{
    json_t *p = json_pack("{s:s}", "AliasName", alias_name);
    if (p != NULL && target != NULL)
        json_object_set_new(p, "TargetKeyId", json_string(target));
    return plain(s, op, NULL, p, err);
}

int p11kms_client_kms_create_alias(const p11kms_client_kms *s, const char *alias_name,
                                   const char *target_key_id, p11kms_client_kms_error *err)
{
    return alias_op(s, "CreateAlias", alias_name, target_key_id, err);
}

int p11kms_client_kms_update_alias(const p11kms_client_kms *s, const char *alias_name,
                                   const char *target_key_id, p11kms_client_kms_error *err)
{
    return alias_op(s, "UpdateAlias", alias_name, target_key_id, err);
}

int p11kms_client_kms_delete_alias(const p11kms_client_kms *s, const char *alias_name,
                                   p11kms_client_kms_error *err)
{
    return alias_op(s, "DeleteAlias", alias_name, NULL, err);
}

int p11kms_client_kms_enable_key(const p11kms_client_kms *s, const char *key_id,
                                 p11kms_client_kms_error *err)
{
    return plain(s, "EnableKey", key_id, NULL, err);
}

int p11kms_client_kms_disable_key(const p11kms_client_kms *s, const char *key_id,
                                  p11kms_client_kms_error *err)
{
    return plain(s, "DisableKey", key_id, NULL, err);
}

int p11kms_client_kms_update_key_description(const p11kms_client_kms *s, const char *key_id,
                                             const char *description, p11kms_client_kms_error *err)
{
    return plain(s, "UpdateKeyDescription", key_id, json_pack("{s:s}", "Description", description),
                 err);
}

int p11kms_client_kms_schedule_key_deletion(const p11kms_client_kms *s, const char *key_id,
                                            unsigned window_days, p11kms_client_kms_result *res,
                                            p11kms_client_kms_error *err)
{
    json_t *p = json_object();
    if (p != NULL && window_days > 0)
        json_object_set_new(p, "PendingWindowInDays", json_integer(window_days));
    return p11kms_client_kms_simple(s, "ScheduleKeyDeletion", key_id, p, res, err);
}

int p11kms_client_kms_cancel_key_deletion(const p11kms_client_kms *s, const char *key_id,
                                          p11kms_client_kms_result *res,
                                          p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "CancelKeyDeletion", key_id, NULL, res, err);
}

int p11kms_client_kms_enable_key_rotation(const p11kms_client_kms *s, const char *key_id,
                                          unsigned period_days, p11kms_client_kms_error *err)
{
    json_t *p = json_object();
    if (p != NULL && period_days > 0)
        json_object_set_new(p, "RotationPeriodInDays", json_integer(period_days));
    return plain(s, "EnableKeyRotation", key_id, p, err);
}

int p11kms_client_kms_disable_key_rotation(const p11kms_client_kms *s, const char *key_id,
                                           p11kms_client_kms_error *err)
{
    return plain(s, "DisableKeyRotation", key_id, NULL, err);
}

int p11kms_client_kms_get_key_rotation_status(const p11kms_client_kms *s, const char *key_id,
                                              p11kms_client_kms_result *res,
                                              p11kms_client_kms_error *err)
{
    if (p11kms_client_kms_simple(s, "GetKeyRotationStatus", key_id, NULL, res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_rotation_status(s, key_id, res, err);
}

int p11kms_client_kms_rotate_key_on_demand(const p11kms_client_kms *s, const char *key_id,
                                           p11kms_client_kms_result *res,
                                           p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "RotateKeyOnDemand", key_id, NULL, res, err);
}

int p11kms_client_kms_list_key_rotations(const p11kms_client_kms *s, const char *key_id,
                                         p11kms_client_kms_result *res,
                                         p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "ListKeyRotations", key_id, NULL, res, err);
}

int p11kms_client_kms_get_key_policy(const p11kms_client_kms *s, const char *key_id,
                                     p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    if (p11kms_client_kms_simple(s, "GetKeyPolicy", key_id,
                                 json_pack("{s:s}", "PolicyName", "default"), res, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err))
        return 0;
    return p11kms_client_kms_attr_get_policy(s, key_id, res, err);
}

int p11kms_client_kms_put_key_policy(const p11kms_client_kms *s, const char *key_id,
                                     const char *policy, int bypass_lockout_check,
                                     p11kms_client_kms_error *err)
{
    json_t *p = json_pack("{s:s,s:s,s:b}", "PolicyName", "default", "Policy", policy,
                          "BypassPolicyLockoutSafetyCheck", bypass_lockout_check);
    if (plain(s, "PutKeyPolicy", key_id, p, err))
        return 1;
    if (!p11kms_client_kms_unsupported(err) || bypass_lockout_check)
        return 0;
    return p11kms_client_kms_attr_put_policy(s, key_id, policy, err);
}

int p11kms_client_kms_list_key_policies(const p11kms_client_kms *s, const char *key_id,
                                        p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    /* KMS keys have exactly one policy, "default": check the key exists. */
    if (!p11kms_client_kms_describe_key(s, key_id, res, err))
        return 0;
    json_decref(res->json);
    res->json = json_pack("{s:[s],s:b}", "PolicyNames", "default", "Truncated", 0);
    return res->json != NULL ||
           p11kms_client_kms_fail(err, "", CKR_HOST_MEMORY, "ListKeyPolicies: out of memory");
}

int p11kms_client_kms_put_identity_policy(const p11kms_client_kms *s, const char *principal,
                                          const char *policy, p11kms_client_kms_error *err)
{
    return plain(s, "PutIdentityPolicy", NULL,
                 json_pack("{s:s,s:s}", "Principal", principal, "Policy", policy), err);
}

int p11kms_client_kms_get_identity_policy(const p11kms_client_kms *s, const char *principal,
                                          p11kms_client_kms_result *res,
                                          p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "GetIdentityPolicy", NULL,
                                    json_pack("{s:s}", "Principal", principal), res, err);
}

int p11kms_client_kms_delete_identity_policy(const p11kms_client_kms *s, const char *principal,
                                             p11kms_client_kms_error *err)
{
    return plain(s, "DeleteIdentityPolicy", NULL, json_pack("{s:s}", "Principal", principal), err);
}

int p11kms_client_kms_list_identity_policies(const p11kms_client_kms *s,
                                             p11kms_client_kms_result *res,
                                             p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "ListIdentityPolicies", NULL, NULL, res, err);
}

int p11kms_client_kms_create_grant(const p11kms_client_kms *s, const char *key_id,
                                   const p11kms_client_kms_grant *g, p11kms_client_kms_result *res,
                                   p11kms_client_kms_error *err)
{
    json_t *ops = json_array();
    json_t *p = json_pack("{s:s,s:o}", "GranteePrincipal", g->grantee_principal, "Operations", ops);
    for (size_t i = 0; p != NULL && i < g->n_operations; i++)
        json_array_append_new(ops, json_string(g->operations[i]));
    if (p != NULL && g->retiring_principal)
        json_object_set_new(p, "RetiringPrincipal", json_string(g->retiring_principal));
    if (p != NULL && g->name)
        json_object_set_new(p, "Name", json_string(g->name));
    if (p != NULL && g->constraints)
        json_object_set(p, "Constraints", g->constraints);
    return p11kms_client_kms_simple(s, "CreateGrant", key_id, p, res, err);
}

int p11kms_client_kms_list_grants(const p11kms_client_kms *s, const char *key_id,
                                  p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "ListGrants", key_id, NULL, res, err);
}

int p11kms_client_kms_revoke_grant(const p11kms_client_kms *s, const char *key_id,
                                   const char *grant_id, p11kms_client_kms_error *err)
{
    return plain(s, "RevokeGrant", key_id, json_pack("{s:s}", "GrantId", grant_id), err);
}

int p11kms_client_kms_retire_grant(const p11kms_client_kms *s, const char *grant_token,
                                   const char *key_id, const char *grant_id,
                                   p11kms_client_kms_error *err)
{
    json_t *p = json_object();
    if (p != NULL && grant_token)
        json_object_set_new(p, "GrantToken", json_string(grant_token));
    if (p != NULL && grant_id)
        json_object_set_new(p, "GrantId", json_string(grant_id));
    return plain(s, "RetireGrant", key_id, p, err);
}

int p11kms_client_kms_run_due(const p11kms_client_kms *s, p11kms_client_kms_result *res,
                              p11kms_client_kms_error *err)
{
    return p11kms_client_kms_simple(s, "RunDue", NULL, NULL, res, err);
}
