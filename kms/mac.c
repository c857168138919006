/* kms/mac.c — GenerateMac / VerifyMac on HMAC_256/384/512 keys: messages of
 * 1-4096 bytes, the algorithm must match the key spec (KMS), verification
 * in constant time. */
#include "config.h"

#include <string.h>

#include "kms/kms-internal.h"

#define MAC_MSG_MAX 4096

static p11kms_kms_rc mac_begin(kms_call *c, p11kms_kms_key *key, const char *key_ref,
                               const uint8_t *msg, size_t len, p11kms_kms_mac_alg alg,
                               kms_version **v)
{
    p11kms_policy_request req;
    p11kms_kms_rc rc = kms_data_begin(c, key, key_ref);

    json_object_set_new(c->request, "macAlgorithm", json_string(p11kms_kms_mac_alg_name(alg)));
    memset(&req, 0, sizeof(req));
    req.mac_algorithm = p11kms_kms_mac_alg_name(alg);
    req.request_alias = key_ref && strncmp(key_ref, "alias/", 6) == 0 ? key_ref : NULL;
    if (rc == P11KMS_KMS_OK)
        rc = kms_data_authorize(c, NULL, &req, P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC, 0);
    if (rc == P11KMS_KMS_OK && (msg == NULL || len == 0 || len > MAC_MSG_MAX))
        rc = kms_fail(c, P11KMS_KMS_VALIDATION, "Message must be 1-4096 bytes");
    if (rc == P11KMS_KMS_OK &&
        ((unsigned)alg >= P11KMS_KMS_MAC_COUNT_ || kms_spec_mac_alg(c->key->spec) != alg))
        rc =
            kms_fail(c, P11KMS_KMS_INVALID_KEY_USAGE, "the MacAlgorithm is not valid for this key");
    if (rc == P11KMS_KMS_OK)
        rc = kms_version_get(c->key, 0, v);
    if (rc == P11KMS_KMS_OK)
        c->key_version = (*v)->version;
    return rc;
}

p11kms_kms_rc p11kms_kms_generate_mac(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref, const uint8_t *msg,
                                      size_t msg_len, p11kms_kms_mac_alg alg, p11kms_kms_bytes *mac)
{
    kms_call c;
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "GenerateMac", "kms:GenerateMac", 0, 0);
    kms_call_out(&c, mac);
    rc = mac ? mac_begin(&c, key, key_ref, msg, msg_len, alg, &v)
             : kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK)
        rc = kms_bytes_alloc(mac, p11kms_kms_mac_len(alg));
    if (rc == P11KMS_KMS_OK &&
        !p11kms_crypto_hmac(kms_mac_alg_md(alg), v->material, v->material_len, msg, msg_len,
                            mac->data, &mac->len))
        rc = kms_fail(&c, P11KMS_KMS_INTERNAL, "HMAC failed");
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_verify_mac(p11kms_kms *kms, const p11kms_caller *caller,
                                    p11kms_kms_key *key, const char *key_ref, const uint8_t *msg,
                                    size_t msg_len, p11kms_kms_mac_alg alg, const uint8_t *mac,
                                    size_t mac_len)
{
    kms_call c;
    kms_version *v = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "VerifyMac", "kms:VerifyMac", 0, 0);
    rc = mac_begin(&c, key, key_ref, msg, msg_len, alg, &v);
    if (rc == P11KMS_KMS_OK &&
        (mac == NULL || mac_len != p11kms_kms_mac_len(alg) ||
         !p11kms_crypto_hmac_verify(kms_mac_alg_md(alg), v->material, v->material_len, msg, msg_len,
                                    mac, mac_len)))
        rc = kms_fail(&c, P11KMS_KMS_INVALID_MAC, "the MAC is not valid");
    if (rc == P11KMS_KMS_OK)
        c.response = json_pack("{s:b}", "macValid", 1);
    return kms_call_end(&c, rc);
}
