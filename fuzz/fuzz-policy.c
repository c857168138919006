/*
 * fuzz/fuzz-policy.c — libFuzzer target for the policy parser and evaluator.
 *
 * Every input is parsed as a key policy and as an identity policy; whatever
 * parses is then evaluated against a few requests (with and without
 * encryption context, grants, delegation), so the compiled form the parser
 * produces is exercised too.  Any crash, leak or sanitizer report is a bug:
 * a malformed policy must only ever produce an error message.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kms/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void evaluate_some(const p11kms_policy *key, const p11kms_policy *ident)
{
    static const p11kms_policy_pair ctx[] = {{"app", "x"}, {"Tenant", "t1"}};
    static const p11kms_policy_pair sub[] = {{"app", "x"}};
    static const char *const ops[] = {"Decrypt", "Encrypt"};
    static const char *const actions[] = {"kms:Encrypt", "kms:CreateGrant", "kms:PutKeyPolicy",
                                          "kms:ScheduleKeyDeletion"};
    p11kms_caller caller = {.uid = 1001, .gid = 1001, .ngroups = 2, .groups = {1001, 50}};
    p11kms_grant grant = {
        .grant_id = "g",
        .key_id = "K1",
        .grantee = {P11KMS_PRINCIPAL_UID, 1001},
        .operations = P11KMS_GRANT_OP_ENCRYPT | P11KMS_GRANT_OP_CREATE_GRANT,
        .ec_subset = sub,
        .nec_subset = 1,
    };
    const p11kms_grant *grants[1] = {&grant};
    const p11kms_policy *idents[1] = {ident};
    p11kms_policy_result why;
    char err[P11KMS_POLICY_ERRLEN];

    strcpy(caller.user, "alice");
    strcpy(caller.executable, "/usr/bin/app");
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        p11kms_policy_request req = {
            .action = actions[i],
            .caller = &caller,
            .key_id = "K1",
            .context = i % 2 ? NULL : ctx,
            .ncontext = i % 2 ? 0 : 2,
            .encryption_algorithm = "SYMMETRIC_DEFAULT",
            .request_alias = "alias/app",
            .has_pending_window_days = 1,
            .pending_window_days = 7,
            .has_bypass_lockout = 1,
            .bypass_lockout = (int)(i & 1),
            .grant_operations = ops,
            .ngrant_operations = 2,
            .new_grant = &grant,
        };
        (void)p11kms_policy_evaluate(key, ident != NULL ? idents : NULL, ident != NULL, grants, 1,
                                     &req, &why);
        req.key_id = NULL;
        (void)p11kms_policy_evaluate(NULL, ident != NULL ? idents : NULL, ident != NULL, NULL, 0,
                                     &req, NULL);
    }
    if (key != NULL)
        (void)p11kms_policy_lockout_check(key, NULL, 0, &caller, "K1", err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[P11KMS_POLICY_ERRLEN];
    p11kms_policy *key, *ident;

    key = p11kms_policy_parse((const char *)data, size, P11KMS_POLICY_KEY, err, sizeof(err));
    ident = p11kms_policy_parse((const char *)data, size, P11KMS_POLICY_IDENTITY, err, sizeof(err));
    if (key != NULL || ident != NULL)
        evaluate_some(key, ident);
    p11kms_policy_free(key);
    p11kms_policy_free(ident);
    return 0;
}
