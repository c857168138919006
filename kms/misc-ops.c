/* kms/misc-ops.c — the small KMS calls that fit no other file:
 * GenerateRandom (no key; audited like every call) and ListKeyPolicies
 * (a key has exactly one policy, "default", as in KMS).  They exist so the
 * operation-object route of pkcs11/ audits and checks them like the rest. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "kms/kms-internal.h"

p11kms_kms_rc p11kms_kms_generate_random(p11kms_kms *kms, const p11kms_caller *caller,
                                         unsigned number_of_bytes, p11kms_kms_bytes *out)
{
    kms_call c;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "GenerateRandom", NULL, 0, 1);
    json_object_set_new(c.request, "numberOfBytes", json_integer(number_of_bytes));
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK && (out == NULL || number_of_bytes < 1 || number_of_bytes > 1024))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "NumberOfBytes must be 1..1024");
    if (rc == P11KMS_KMS_OK) {
        kms_call_out(&c, out);
        out->data = malloc(number_of_bytes);
        out->len = number_of_bytes;
        if (out->data == NULL)
            rc = kms_fail(&c, P11KMS_KMS_NOMEM, "out of memory");
        else if (!p11kms_crypto_random(out->data, number_of_bytes))
            rc = kms_fail(&c, P11KMS_KMS_INTERNAL, "random generator failed");
    }
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_list_key_policies(p11kms_kms *kms, const p11kms_caller *caller,
                                           p11kms_kms_key *key, const char *key_ref)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ListKeyPolicies", "kms:ListKeyPolicies", 1, 1);
    rc = kms_read_begin(&c, key, key_ref, &req);
    return kms_call_end(&c, rc);
}
