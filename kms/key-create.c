/* kms/key-create.c — CreateKey (every spec, KMS's spec/usage matrix) and
 * the service-managed keys alias/p11kms/SERVICE created on first use.
 *
 * Material is generated before the write transaction (RSA generation can
 * take a second: never hold the store's write lock for it); the key row,
 * its first version, its policy, its alias (service keys) and the audit
 * record then commit together.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/timeutil.h"
#include "common/uuid.h"
#include "kms/kms-internal.h"

typedef struct new_key {
    p11kms_store_key row;
    uint8_t *material, *spki;
    size_t material_len, spki_len;
    char *policy; /* normalized document */
} new_key;

static void new_key_free(new_key *nk)
{
    p11kms_crypto_free_secret(nk->material, nk->material_len);
    OPENSSL_free(nk->spki);
    free(nk->policy);
}

static p11kms_kms_rc validate(kms_call *c, const p11kms_kms_create_params *p)
{
    if (p == NULL || (unsigned)p->spec >= P11KMS_KMS_SPEC_COUNT_ ||
        (unsigned)p->usage >= P11KMS_KMS_USAGE_COUNT_)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "unknown KeySpec or KeyUsage");
    if (!p11kms_kms_spec_usage_allowed(p->spec, p->usage))
        return kms_fail(c, P11KMS_KMS_VALIDATION, "KeyUsage is not valid for this KeySpec");
    if (p->description != NULL && strlen(p->description) > 8192)
        return kms_fail(c, P11KMS_KMS_VALIDATION, "Description must be 0-8192 characters");
    if (p->origin != P11KMS_KMS_ORIGIN_P11KMS)
        return kms_fail(c, P11KMS_KMS_UNSUPPORTED, "only Origin P11KMS is supported");
    return P11KMS_KMS_OK;
}

/* Fills the row of a new key (id, names, dates, rotation, app blobs). */
static p11kms_kms_rc fill_row(p11kms_kms *kms, const p11kms_kms_create_params *p,
                              p11kms_kms_key_manager mgr, const p11kms_caller *caller,
                              p11kms_store_key *row)
{
    int64_t now = p11kms_time_now_ms();
    int rotate = kms_spec_is_symmetric(p->spec) &&
                 (kms->opts.rotate_new_keys || mgr == P11KMS_KMS_MANAGER_SERVICE);

    memset(row, 0, sizeof(*row));
    if (!p11kms_uuid_v4(row->key_id))
        return P11KMS_KMS_INTERNAL;
    snprintf(row->key_spec, sizeof(row->key_spec), "%s", p11kms_kms_spec_name(p->spec));
    snprintf(row->key_usage, sizeof(row->key_usage), "%s", p11kms_kms_usage_name(p->usage));
    snprintf(row->key_state, sizeof(row->key_state), "Enabled");
    snprintf(row->origin, sizeof(row->origin), "%s", p11kms_kms_origin_name(p->origin));
    snprintf(row->key_manager, sizeof(row->key_manager), "%s", p11kms_kms_manager_name(mgr));
    row->description = (char *)(p->description ? p->description : "");
    row->creation_ms = now;
    row->rotation_enabled = rotate;
    row->rotation_period_days = rotate ? KMS_DEFAULT_PERIOD_DAYS : 0;
    if (rotate && !p11kms_time_add_days(now, KMS_DEFAULT_PERIOD_DAYS, &row->next_rotation_ms))
        return P11KMS_KMS_INTERNAL;
    row->owner_uid = caller ? (uint32_t)caller->uid : 0;
    row->owner_gid = caller ? (uint32_t)caller->gid : 0;
    row->app_id = (unsigned char *)p->app_id;
    row->app_id_len = p->app_id ? p->app_id_len : 0;
    row->app_label = (unsigned char *)p->app_label;
    row->app_label_len = p->app_label ? p->app_label_len : 0;
    return P11KMS_KMS_OK;
}

static p11kms_kms_rc key_policy(kms_call *c, const p11kms_kms_create_params *p, new_key *nk)
{
    p11kms_kms_rc rc;

    if (p->policy_json == NULL) {
        if (!p11kms_policy_default_key_policy(c->caller, &nk->policy))
            return kms_fail(c, P11KMS_KMS_INTERNAL, "cannot build the default key policy");
        return P11KMS_KMS_OK;
    }
    rc = kms_policy_check_doc(c, p->policy_json, 0, &nk->policy);
    if (rc == P11KMS_KMS_OK && !p->bypass_policy_lockout_check)
        rc = kms_lockout_check(c, nk->policy, nk->row.key_id);
    return rc;
}

/* Inside the transaction: row + version 1, policy, then the frame's key. */
static p11kms_kms_rc store_new_key(kms_call *c, new_key *nk)
{
    p11kms_store *st = c->kms->st;
    p11kms_store_rc src;

    src = p11kms_store_key_create(st, &nk->row, nk->material, nk->material_len, nk->spki,
                                  nk->spki_len);
    if (src == P11KMS_STORE_OK)
        src = p11kms_store_key_policy_put(st, nk->row.key_id, nk->policy);
    if (src != P11KMS_STORE_OK)
        return kms_fail(c, kms_rc_from_store(src), p11kms_store_strerror(src));
    kms_bump_epoch(c->kms);
    return kms_key_get(c->kms, nk->row.key_id, &c->key);
}

static void request_json(kms_call *c, const p11kms_kms_create_params *p)
{
    json_object_set_new(c->request, "keySpec", json_string(p11kms_kms_spec_name(p->spec)));
    json_object_set_new(c->request, "keyUsage", json_string(p11kms_kms_usage_name(p->usage)));
    json_object_set_new(c->request, "description",
                        json_string(p->description ? p->description : ""));
    json_object_set_new(c->request, "origin", json_string(p11kms_kms_origin_name(p->origin)));
    json_object_set_new(c->request, "bypassPolicyLockoutSafetyCheck",
                        json_boolean(p->bypass_policy_lockout_check));
}

static p11kms_kms_rc create_common(kms_call *c, const p11kms_kms_create_params *p,
                                   p11kms_kms_key_manager mgr, new_key *nk)
{
    p11kms_kms_rc rc;

    rc = fill_row(c->kms, p, mgr, c->caller, &nk->row);
    if (rc == P11KMS_KMS_OK)
        rc = mgr == P11KMS_KMS_MANAGER_SERVICE ? P11KMS_KMS_OK : key_policy(c, p, nk);
    if (rc == P11KMS_KMS_OK)
        rc = kms_material_generate(p->spec, &nk->material, &nk->material_len, &nk->spki,
                                   &nk->spki_len);
    return rc;
}

static void meta_response(kms_call *c, p11kms_kms_key_meta *out)
{
    p11kms_kms_key_meta m;

    memset(&m, 0, sizeof(m));
    if (kms_meta_fill(c->kms, c->key, &m) != P11KMS_KMS_OK)
        return;
    c->response = json_pack("{s:o}", "keyMetadata", kms_meta_json(&m));
    if (out != NULL)
        *out = m;
    else
        p11kms_kms_key_meta_clear(&m);
}

p11kms_kms_rc p11kms_kms_create_key(p11kms_kms *kms, const p11kms_caller *caller,
                                    const p11kms_kms_create_params *params,
                                    p11kms_kms_key_meta *out)
{
    kms_call c;
    p11kms_policy_request req;
    new_key nk;
    p11kms_kms_rc rc;

    memset(&nk, 0, sizeof(nk));
    kms_call_begin(&c, kms, caller, "CreateKey", "kms:CreateKey", 1, 0);
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK)
        rc = validate(&c, params);
    if (rc != P11KMS_KMS_OK)
        goto done;
    request_json(&c, params);
    kms_request_init(&c, &req);
    req.key_spec = p11kms_kms_spec_name(params->spec);
    req.key_usage = p11kms_kms_usage_name(params->usage);
    req.has_bypass_lockout = 1;
    req.bypass_lockout = params->bypass_policy_lockout_check;
    rc = kms_authorize(&c, &req);
    if (rc == P11KMS_KMS_OK)
        rc = create_common(&c, params, P11KMS_KMS_MANAGER_CUSTOMER, &nk);
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc == P11KMS_KMS_OK)
        rc = store_new_key(&c, &nk);
    if (rc == P11KMS_KMS_OK)
        meta_response(&c, out);
done:
    new_key_free(&nk);
    return kms_call_end(&c, rc);
}

/* ---- service-managed keys -------------------------------------------------- */

static int service_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

/* The creating user uses the key; the token's admins may describe it. */
static char *service_policy(p11kms_kms *kms, const p11kms_caller *caller)
{
    char *doc = NULL, admins[512] = "";

    if (kms->opts.admin_gid_set)
        snprintf(admins, sizeof(admins),
                 ",{\"Sid\":\"Token admins describe the key\",\"Effect\":\"Allow\","
                 "\"Principal\":{\"Unix\":\"gid:%u\"},\"Action\":[\"kms:DescribeKey\","
                 "\"kms:GetKeyPolicy\",\"kms:GetKeyRotationStatus\",\"kms:ListKeyRotations\"],"
                 "\"Resource\":\"*\"}",
                 (unsigned)kms->opts.admin_gid);
    if (asprintf(&doc,
                 "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Service user\","
                 "\"Effect\":\"Allow\",\"Principal\":{\"Unix\":\"uid:%u\"},\"Action\":["
                 "\"kms:Encrypt\",\"kms:Decrypt\",\"kms:ReEncrypt*\",\"kms:GenerateDataKey*\","
                 "\"kms:DescribeKey\",\"kms:GetKeyRotationStatus\",\"kms:ListKeyRotations\"],"
                 "\"Resource\":\"*\"}%s]}",
                 (unsigned)caller->uid, admins) < 0)
        return NULL;
    return doc;
}

static p11kms_kms_rc create_service_key(kms_call *c, const char *service, const char *alias)
{
    p11kms_kms_create_params p;
    new_key nk;
    char *doc = NULL;
    p11kms_kms_rc rc;

    memset(&nk, 0, sizeof(nk));
    memset(&p, 0, sizeof(p));
    p.description = service;
    rc = create_common(c, &p, P11KMS_KMS_MANAGER_SERVICE, &nk);
    doc = rc == P11KMS_KMS_OK ? service_policy(c->kms, c->caller) : NULL;
    if (rc == P11KMS_KMS_OK && doc == NULL)
        rc = P11KMS_KMS_NOMEM;
    if (rc == P11KMS_KMS_OK)
        rc = kms_policy_check_doc(c, doc, 0, &nk.policy);
    if (rc == P11KMS_KMS_OK)
        rc = store_new_key(c, &nk);
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(
            p11kms_store_alias_create(c->kms->st, alias, nk.row.key_id, nk.row.creation_ms));
    free(doc);
    new_key_free(&nk);
    return rc;
}

p11kms_kms_rc p11kms_kms_service_key(p11kms_kms *kms, const p11kms_caller *caller,
                                     const char *service, char key_id_out[37])
{
    kms_call c;
    char alias[96], id[37];
    p11kms_store_rc src;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "CreateKey", NULL, 1, 0);
    snprintf(alias, sizeof(alias), KMS_SERVICE_ALIAS_PREFIX "%s", service ? service : "");
    json_object_set_new(c.request, "alias", json_string(alias));
    json_object_set_new(c.request, "keyManager", json_string("SERVICE"));
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK &&
        (!service_name_valid(service) || key_id_out == NULL || caller == NULL))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "service name must be 1-64 of [a-z0-9_-]");
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc != P11KMS_KMS_OK)
        goto done;
    src = p11kms_store_alias_resolve(kms->st, alias, id);
    if (src == P11KMS_STORE_OK) {
        c.event_name = "DescribeKey"; /* it exists: a lookup */
        c.read_only = 1;
        rc = kms_key_get(kms, id, &c.key);
    } else if (src == P11KMS_STORE_NOTFOUND) {
        rc = create_service_key(&c, service, alias);
    } else {
        rc = kms_rc_from_store(src);
    }
    if (rc == P11KMS_KMS_OK)
        snprintf(key_id_out, 37, "%s", c.key->key_id);
done:
    return kms_call_end(&c, rc);
}
