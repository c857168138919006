/*
 * kms/policy-defaults.c — the policies p11kms writes on its own, and the
 * PutKeyPolicy lockout safety check.
 *
 * The default key policy mirrors KMS's: the creator may do everything, and
 * {"Unix":"token"} delegates to identity policies the way KMS's account root
 * statement enables IAM policies.  The lockout check is KMS's too: the
 * principal installing a policy must still be able to call PutKeyPolicy
 * under it, so a typo cannot make a key unmanageable.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kms/policy-internal.h"

static char *dump(json_t *doc)
{
    char *text = NULL;

    if (doc != NULL)
        text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

int p11kms_policy_default_key_policy(const p11kms_caller *creator, char **out_json)
{
    char principal[128];
    json_t *doc;
    int ok = 0;

    if (creator == NULL || out_json == NULL)
        goto done;
    if (creator->user[0] != '\0' &&
        p11kms_policy_valid_name(creator->user, strnlen(creator->user, sizeof(creator->user))))
        snprintf(principal, sizeof(principal), "user:%s#%u", creator->user, (unsigned)creator->uid);
    else
        snprintf(principal, sizeof(principal), "uid:%u", (unsigned)creator->uid);
    doc = json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:s}, s:s, s:s}, "
                    "{s:s, s:s, s:{s:s}, s:s, s:s}]}",
                    "Version", "2012-10-17", "Id", "p11kms-default-key-policy", "Statement", "Sid",
                    "Allow the key creator full access", "Effect", "Allow", "Principal", "Unix",
                    principal, "Action", "kms:*", "Resource", "*", "Sid",
                    "Enable identity policies", "Effect", "Allow", "Principal", "Unix", "token",
                    "Action", "kms:*", "Resource", "*");
    *out_json = dump(doc);
    ok = *out_json != NULL;
done:
    return ok;
}

int p11kms_policy_default_admin_identity_policy(char **out_json)
{
    json_t *doc;
    int ok = 0;

    if (out_json == NULL)
        goto done;
    doc = json_pack("{s:s, s:s, s:[{s:s, s:s, s:[s, s, s], s:s}]}", "Version", "2012-10-17", "Id",
                    "p11kms-default-admin-policy", "Statement", "Sid",
                    "Allow creating and listing keys", "Effect", "Allow", "Action", "kms:CreateKey",
                    "kms:ListKeys", "kms:ListAliases", "Resource", "*");
    *out_json = dump(doc);
    ok = *out_json != NULL;
done:
    return ok;
}

int p11kms_policy_lockout_check(const p11kms_policy *new_key_policy,
                                const p11kms_policy *const *identity_policies, size_t n,
                                const p11kms_caller *caller, const char *key_id, char *err,
                                size_t errlen)
{
    p11kms_policy_request req = {
        .action = "kms:PutKeyPolicy",
        .caller = caller,
        .key_id = key_id,
        .has_bypass_lockout = 1,
        .bypass_lockout = 0,
    };
    int ok = new_key_policy != NULL && caller != NULL &&
             p11kms_policy_evaluate(new_key_policy, identity_policies, n, NULL, 0, &req, NULL) ==
                 P11KMS_POLICY_ALLOW;

    if (!ok && err != NULL && errlen > 0)
        snprintf(err, errlen,
                 "The new key policy will not allow you to update the key "
                 "policy in the future.");
    return ok;
}
