/* kms/key-describe.c — key metadata as KMS shows it: DescribeKey, ListKeys
 * paging, the unaudited snapshot for PKCS#11 attributes, and the algorithm
 * lists that follow from a key's spec and usage. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/uuid.h"
#include "kms/kms-internal.h"

#define BIT(x) ((p11kms_kms_alg_set)1u << (x))

p11kms_kms_alg_set kms_spec_enc_algs(p11kms_kms_key_spec spec, p11kms_kms_key_usage u)
{
    if (u != P11KMS_KMS_USAGE_ENCRYPT_DECRYPT)
        return 0;
    if (kms_spec_is_symmetric(spec))
        return BIT(P11KMS_KMS_ENC_SYMMETRIC_DEFAULT);
    if (kms_spec_is_rsa(spec))
        return BIT(P11KMS_KMS_ENC_RSAES_OAEP_SHA_1) | BIT(P11KMS_KMS_ENC_RSAES_OAEP_SHA_256);
    return 0;
}

p11kms_kms_alg_set kms_spec_sign_algs(p11kms_kms_key_spec spec, p11kms_kms_key_usage u)
{
    if (u != P11KMS_KMS_USAGE_SIGN_VERIFY)
        return 0;
    if (kms_spec_is_rsa(spec))
        return BIT(P11KMS_KMS_SIGN_RSASSA_PSS_SHA_256) | BIT(P11KMS_KMS_SIGN_RSASSA_PSS_SHA_384) |
               BIT(P11KMS_KMS_SIGN_RSASSA_PSS_SHA_512) |
               BIT(P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256) |
               BIT(P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_384) |
               BIT(P11KMS_KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_512);
    /* KMS: one ECDSA algorithm per curve. */
    if (spec == P11KMS_KMS_SPEC_ECC_NIST_P256)
        return BIT(P11KMS_KMS_SIGN_ECDSA_SHA_256);
    if (spec == P11KMS_KMS_SPEC_ECC_NIST_P384)
        return BIT(P11KMS_KMS_SIGN_ECDSA_SHA_384);
    if (spec == P11KMS_KMS_SPEC_ECC_NIST_P521)
        return BIT(P11KMS_KMS_SIGN_ECDSA_SHA_512);
    return 0;
}

p11kms_kms_alg_set kms_spec_mac_algs(p11kms_kms_key_spec spec, p11kms_kms_key_usage u)
{
    if (u != P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC || !kms_spec_is_hmac(spec))
        return 0;
    return BIT(kms_spec_mac_alg(spec));
}

void p11kms_kms_key_meta_clear(p11kms_kms_key_meta *m)
{
    if (m == NULL)
        return;
    free(m->description);
    free(m->app_id);
    free(m->app_label);
    free(m->first_alias);
    memset(m, 0, sizeof(*m));
}

static uint8_t *blob_dup(const uint8_t *p, size_t n)
{
    uint8_t *d = p ? malloc(n ? n : 1) : NULL;

    if (d != NULL && n)
        memcpy(d, p, n);
    return d;
}

static char *first_alias(p11kms_kms *kms, const char *key_id)
{
    p11kms_store_alias *a = NULL;
    size_t n = 0;
    int more = 0;
    char *s = NULL;

    if (p11kms_store_alias_list(kms->st, key_id, NULL, 1, &a, &n, &more) == P11KMS_STORE_OK &&
        n > 0)
        s = strdup(a[0].name);
    free(a);
    return s;
}

p11kms_kms_rc kms_meta_fill(p11kms_kms *kms, p11kms_kms_key *key, p11kms_kms_key_meta *m)
{
    const p11kms_store_key *r = &key->row;

    memset(m, 0, sizeof(*m));
    snprintf(m->key_id, sizeof(m->key_id), "%s", key->key_id);
    m->creation_date_ms = r->creation_ms;
    m->enabled = key->state == P11KMS_KMS_STATE_ENABLED;
    m->state = key->state;
    m->spec = key->spec;
    m->usage = key->usage;
    m->manager = key->manager;
    m->origin = key->origin;
    m->description = strdup(r->description ? r->description : "");
    m->deletion_date_ms = key->state == P11KMS_KMS_STATE_PENDING_DELETION ? r->deletion_ms : 0;
    m->pending_window_days = m->deletion_date_ms ? r->pending_window_days : 0;
    m->current_version = r->current_version;
    m->rotation_enabled = r->rotation_enabled;
    m->rotation_period_days = r->rotation_enabled ? r->rotation_period_days : 0;
    m->next_rotation_ms = r->rotation_enabled ? r->next_rotation_ms : 0;
    m->encryption_algorithms = kms_spec_enc_algs(key->spec, key->usage);
    m->signing_algorithms = kms_spec_sign_algs(key->spec, key->usage);
    m->mac_algorithms = kms_spec_mac_algs(key->spec, key->usage);
    m->app_id = blob_dup(r->app_id, r->app_id_len);
    m->app_id_len = m->app_id ? r->app_id_len : 0;
    m->app_label = blob_dup(r->app_label, r->app_label_len);
    m->app_label_len = m->app_label ? r->app_label_len : 0;
    m->first_alias = first_alias(kms, key->key_id);
    if (m->description == NULL) {
        p11kms_kms_key_meta_clear(m);
        return P11KMS_KMS_NOMEM;
    }
    return P11KMS_KMS_OK;
}

static json_t *alg_list(p11kms_kms_alg_set set, const char *(*name)(int), int count)
{
    json_t *a = json_array();

    for (int i = 0; a != NULL && i < count; i++)
        if (set & BIT(i))
            json_array_append_new(a, json_string(name(i)));
    return a;
}

static const char *enc_name(int i)
{
    return p11kms_kms_enc_alg_name((p11kms_kms_enc_alg)i);
}
static const char *sign_name(int i)
{
    return p11kms_kms_sign_alg_name((p11kms_kms_sign_alg)i);
}
static const char *mac_name(int i)
{
    return p11kms_kms_mac_alg_name((p11kms_kms_mac_alg)i);
}

static void set_date(json_t *o, const char *name, int64_t ms)
{
    char iso[P11KMS_ISO8601_BUF_SIZE];

    if (ms > 0 && p11kms_time_format_iso8601(ms, iso))
        json_object_set_new(o, name, json_string(iso));
}

json_t *kms_meta_json(const p11kms_kms_key_meta *m)
{
    json_t *o = json_pack(
        "{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s}", "keyId", m->key_id, "enabled", m->enabled,
        "keyState", p11kms_kms_state_name(m->state), "keySpec", p11kms_kms_spec_name(m->spec),
        "keyUsage", p11kms_kms_usage_name(m->usage), "keyManager",
        p11kms_kms_manager_name(m->manager), "origin", p11kms_kms_origin_name(m->origin),
        "description", m->description ? m->description : "");

    if (o == NULL)
        return NULL;
    set_date(o, "creationDate", m->creation_date_ms);
    set_date(o, "deletionDate", m->deletion_date_ms);
    if (m->encryption_algorithms)
        json_object_set_new(o, "encryptionAlgorithms",
                            alg_list(m->encryption_algorithms, enc_name, 3));
    if (m->signing_algorithms)
        json_object_set_new(o, "signingAlgorithms",
                            alg_list(m->signing_algorithms, sign_name, P11KMS_KMS_SIGN_COUNT_));
    if (m->mac_algorithms)
        json_object_set_new(o, "macAlgorithms",
                            alg_list(m->mac_algorithms, mac_name, P11KMS_KMS_MAC_COUNT_));
    return o;
}

p11kms_kms_rc p11kms_kms_describe_key(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref,
                                      p11kms_kms_key_meta *out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_key_meta m;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "DescribeKey", "kms:DescribeKey", 1, 1);
    rc = kms_read_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK)
        rc = kms_meta_fill(kms, c.key, &m);
    if (rc == P11KMS_KMS_OK) {
        if (out != NULL)
            *out = m;
        else
            p11kms_kms_key_meta_clear(&m);
    }
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_key_meta_get(p11kms_kms *kms, p11kms_kms_key *key,
                                      p11kms_kms_key_meta *out)
{
    p11kms_kms_rc rc;

    if (kms == NULL || key == NULL || out == NULL || key->kms != kms)
        return P11KMS_KMS_VALIDATION;
    pthread_mutex_lock(&kms->lock);
    rc = kms_store_ensure(kms, 0, 0);
    if (rc == P11KMS_KMS_OK)
        rc = kms_sync(kms);
    if (rc == P11KMS_KMS_OK)
        rc = kms_key_refresh(key);
    if (rc == P11KMS_KMS_OK)
        rc = kms_meta_fill(kms, key, out);
    pthread_mutex_unlock(&kms->lock);
    return rc;
}

void p11kms_kms_key_list_clear(p11kms_kms_key_list *l)
{
    if (l == NULL)
        return;
    free(l->key_ids);
    free(l->next_marker);
    memset(l, 0, sizeof(*l));
}

static p11kms_kms_rc list_page(p11kms_kms *kms, unsigned limit, const char *marker,
                               p11kms_kms_key_list *out)
{
    p11kms_store_key_filter f;
    p11kms_store_key *keys = NULL;
    size_t n = 0;
    int more = 0;
    p11kms_kms_rc rc;

    memset(&f, 0, sizeof(f));
    f.include_pending_deletion = 1;
    rc = kms_rc_from_store(p11kms_store_key_list(kms->st, &f, marker, limit, &keys, &n, &more));
    if (rc != P11KMS_KMS_OK)
        return rc;
    out->key_ids = calloc(n + 1, sizeof(*out->key_ids));
    if (out->key_ids == NULL)
        rc = P11KMS_KMS_NOMEM;
    for (size_t i = 0; rc == P11KMS_KMS_OK && i < n; i++)
        memcpy(out->key_ids[i], keys[i].key_id, 37);
    out->n = rc == P11KMS_KMS_OK ? n : 0;
    if (rc == P11KMS_KMS_OK && more && n > 0)
        out->next_marker = strdup(keys[n - 1].key_id);
    p11kms_store_key_list_free(keys, n);
    return rc;
}

p11kms_kms_rc p11kms_kms_list_keys(p11kms_kms *kms, const p11kms_caller *caller, unsigned limit,
                                   const char *marker, p11kms_kms_key_list *out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ListKeys", "kms:ListKeys", 1, 1);
    json_object_set_new(c.request, "limit", json_integer(limit ? limit : 100));
    if (marker != NULL)
        json_object_set_new(c.request, "marker", json_string(marker));
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK && (out == NULL || limit > 1000))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "Limit must be 1-1000");
    if (rc == P11KMS_KMS_OK && marker != NULL && !p11kms_uuid_is_valid(marker))
        rc = kms_fail(&c, P11KMS_KMS_INVALID_MARKER, "Marker is not valid");
    if (rc == P11KMS_KMS_OK) {
        kms_request_init(&c, &req);
        rc = kms_authorize(&c, &req);
    }
    if (rc == P11KMS_KMS_OK) {
        memset(out, 0, sizeof(*out));
        rc = list_page(kms, limit ? limit : 100, marker, out);
    }
    return kms_call_end(&c, rc);
}
