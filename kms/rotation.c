/* kms/rotation.c — symmetric key rotation: automatic (due on next use and in
 * run-due), on demand, and the rotation settings calls.
 *
 * Exactly once across processes: a rotation runs inside BEGIN IMMEDIATE,
 * re-reads the row there and rotates only if it is still due (or, on
 * demand, only from the current version it saw), so two processes finding
 * a key due at the same moment create one new version.  Each rotation
 * writes a RotateKey ServiceEvent record in the same transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/timeutil.h"
#include "kms/kms-internal.h"

int kms_rotation_due(const p11kms_store_key *row, int64_t now_ms)
{
    return strcmp(row->key_state, "Enabled") == 0 &&
           strcmp(row->key_spec, "SYMMETRIC_DEFAULT") == 0 && row->rotation_enabled &&
           row->next_rotation_ms > 0 && row->next_rotation_ms <= now_ms;
}

static p11kms_kms_rc rotate_row(p11kms_kms *kms, const p11kms_store_key *row, const char *type,
                                uint32_t *new_version)
{
    uint8_t *mat = NULL, *spki = NULL;
    size_t mlen = 0, slen = 0;
    char req[128];
    uint32_t nv = 0;
    p11kms_kms_rc rc;

    rc = kms_material_generate(P11KMS_KMS_SPEC_SYMMETRIC_DEFAULT, &mat, &mlen, &spki, &slen);
    if (rc != P11KMS_KMS_OK)
        goto done;
    rc = kms_rc_from_store(p11kms_store_key_rotate(kms->st, row->key_id, row->current_version,
                                                   p11kms_time_now_ms(), mat, mlen, NULL, 0, &nv));
    if (rc != P11KMS_KMS_OK)
        goto done;
    /* On demand, the RotateKeyOnDemand record of the call is the record. */
    snprintf(req, sizeof(req), "{\"keyId\":\"%s\",\"rotationType\":\"%s\"}", row->key_id, type);
    if (strcmp(type, "AUTOMATIC") == 0)
        rc = kms_audit_service_event(kms, "RotateKey", row->key_id, nv, req);
    if (rc == P11KMS_KMS_OK && new_version != NULL)
        *new_version = nv;
done:
    p11kms_crypto_free_secret(mat, mlen);
    OPENSSL_free(spki);
    return rc;
}

p11kms_kms_rc kms_rotate_in_txn(p11kms_kms *kms, const char *key_id, int automatic,
                                uint32_t *new_version)
{
    p11kms_store_key row;
    p11kms_kms_rc rc;

    memset(&row, 0, sizeof(row));
    if (new_version != NULL)
        *new_version = 0;
    rc = kms_rc_from_store(p11kms_store_key_get(kms->st, key_id, &row));
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (automatic && !kms_rotation_due(&row, p11kms_time_now_ms()))
        goto done; /* somebody else rotated it first */
    rc = rotate_row(kms, &row, automatic ? "AUTOMATIC" : "ON_DEMAND", new_version);
done:
    p11kms_store_key_clear(&row);
    return rc;
}

p11kms_kms_rc kms_rotate_if_due(p11kms_kms *kms, p11kms_kms_key *key)
{
    p11kms_kms_rc rc;

    if (!kms_rotation_due(&key->row, p11kms_time_now_ms()))
        return P11KMS_KMS_OK;
    rc = kms_rc_from_store(p11kms_store_begin_write(kms->st));
    if (rc != P11KMS_KMS_OK)
        return rc;
    rc = kms_rotate_in_txn(kms, key->key_id, 1, NULL);
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_commit(kms->st));
    if (rc != P11KMS_KMS_OK)
        p11kms_store_rollback(kms->st);
    kms_bump_epoch(kms);
    return rc == P11KMS_KMS_OK ? kms_key_refresh(key) : rc;
}

/* Rotation settings are for customer-managed symmetric keys only. */
static p11kms_kms_rc rotation_settable(kms_call *c)
{
    if (!kms_spec_is_symmetric(c->key->spec))
        return kms_fail(c, P11KMS_KMS_UNSUPPORTED,
                        "automatic rotation is supported for symmetric keys only");
    if (c->key->manager == P11KMS_KMS_MANAGER_SERVICE)
        return kms_fail(c, P11KMS_KMS_UNSUPPORTED,
                        "rotation of a service-managed key cannot be changed");
    return kms_check_usable(c, c->key, 0);
}

p11kms_kms_rc p11kms_kms_enable_key_rotation(p11kms_kms *kms, const p11kms_caller *caller,
                                             p11kms_kms_key *key, const char *key_ref,
                                             unsigned period_days)
{
    kms_call c;
    p11kms_policy_request req;
    unsigned days = period_days ? period_days : KMS_DEFAULT_PERIOD_DAYS;
    p11kms_store_key *row;
    int64_t base;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "EnableKeyRotation", "kms:EnableKeyRotation", 1, 0);
    json_object_set_new(c.request, "rotationPeriodInDays", json_integer(days));
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && (days < 90 || days > 2560))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "RotationPeriodInDays must be 90-2560");
    if (rc == P11KMS_KMS_OK)
        rc = rotation_settable(&c);
    if (rc == P11KMS_KMS_OK) {
        req.has_rotation_period_days = 1;
        req.rotation_period_days = days;
        rc = kms_authorize(&c, &req);
    }
    if (rc != P11KMS_KMS_OK)
        goto done;
    row = &c.key->row;
    base = row->rotation_enabled
               ? (row->last_rotation_ms ? row->last_rotation_ms : row->creation_ms)
               : p11kms_time_now_ms();
    row->rotation_enabled = 1;
    row->rotation_period_days = days;
    if (!p11kms_time_add_days(base, days, &row->next_rotation_ms))
        rc = kms_fail(&c, P11KMS_KMS_INTERNAL, "clock out of range");
    if (rc == P11KMS_KMS_OK)
        rc = kms_update_row(&c, "Enabled");
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_disable_key_rotation(p11kms_kms *kms, const p11kms_caller *caller,
                                              p11kms_kms_key *key, const char *key_ref)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "DisableKeyRotation", "kms:DisableKeyRotation", 1, 0);
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK)
        rc = rotation_settable(&c);
    if (rc != P11KMS_KMS_OK)
        goto done;
    c.key->row.rotation_enabled = 0;
    c.key->row.next_rotation_ms = 0;
    rc = kms_update_row(&c, "Enabled");
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_get_key_rotation_status(p11kms_kms *kms, const p11kms_caller *caller,
                                                 p11kms_kms_key *key, const char *key_ref,
                                                 p11kms_kms_rotation_status *out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "GetKeyRotationStatus", "kms:GetKeyRotationStatus", 1, 1);
    rc = kms_read_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && out == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK && !kms_spec_is_symmetric(c.key->spec))
        rc = kms_fail(&c, P11KMS_KMS_UNSUPPORTED, "rotation status needs a symmetric key");
    if (rc == P11KMS_KMS_OK && c.key->state == P11KMS_KMS_STATE_PENDING_DELETION)
        rc = kms_fail(&c, P11KMS_KMS_INVALID_STATE, "the key is pending deletion");
    if (rc != P11KMS_KMS_OK)
        goto done;
    memset(out, 0, sizeof(*out));
    out->enabled = c.key->row.rotation_enabled;
    out->period_days = out->enabled ? c.key->row.rotation_period_days : 0;
    out->next_rotation_ms = out->enabled ? c.key->row.next_rotation_ms : 0;
    c.response = json_pack("{s:b}", "keyRotationEnabled", out->enabled);
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_rotate_key_on_demand(p11kms_kms *kms, const p11kms_caller *caller,
                                              p11kms_kms_key *key, const char *key_ref,
                                              uint32_t *new_version)
{
    kms_call c;
    p11kms_policy_request req;
    uint32_t nv = 0;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "RotateKeyOnDemand", "kms:RotateKeyOnDemand", 1, 0);
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && !kms_spec_is_symmetric(c.key->spec))
        rc = kms_fail(&c, P11KMS_KMS_UNSUPPORTED, "on-demand rotation needs a symmetric key");
    if (rc == P11KMS_KMS_OK)
        rc = kms_check_usable(&c, c.key, 0);
    if (rc == P11KMS_KMS_OK)
        rc = rotate_row(kms, &c.key->row, "ON_DEMAND", &nv);
    if (rc == P11KMS_KMS_OK) {
        c.key_version = nv;
        if (new_version != NULL)
            *new_version = nv;
    }
    return kms_call_end(&c, rc);
}

void p11kms_kms_rotation_list_clear(p11kms_kms_rotation_list *l)
{
    if (l == NULL)
        return;
    free(l->entries);
    free(l->next_marker);
    memset(l, 0, sizeof(*l));
}

/* Versions 2..n are the rotations; marker = decimal version to start after. */
static p11kms_kms_rc list_rotations(kms_call *c, unsigned limit, const char *marker,
                                    p11kms_kms_rotation_list *out)
{
    p11kms_store_version *v = NULL;
    size_t n = 0;
    unsigned long after = marker ? strtoul(marker, NULL, 10) : 1;
    p11kms_kms_rc rc;

    rc = kms_rc_from_store(p11kms_store_version_list(c->kms->st, c->key->key_id, &v, &n));
    if (rc != P11KMS_KMS_OK)
        return rc;
    out->entries = calloc(n + 1, sizeof(*out->entries));
    if (out->entries == NULL)
        rc = P11KMS_KMS_NOMEM;
    for (size_t i = 0; rc == P11KMS_KMS_OK && i < n; i++) {
        if (v[i].version <= after || v[i].version < 2)
            continue;
        if (out->n == limit) {
            char buf[16];
            snprintf(buf, sizeof(buf), "%lu", (unsigned long)out->entries[out->n - 1].version);
            out->next_marker = strdup(buf);
            break;
        }
        out->entries[out->n].version = v[i].version;
        out->entries[out->n].rotation_date_ms = v[i].creation_ms;
        out->entries[out->n].type = P11KMS_KMS_ROTATION_AUTOMATIC;
        out->n++;
    }
    p11kms_store_version_list_free(v, n);
    return rc;
}

p11kms_kms_rc p11kms_kms_list_key_rotations(p11kms_kms *kms, const p11kms_caller *caller,
                                            p11kms_kms_key *key, const char *key_ref,
                                            unsigned limit, const char *marker,
                                            p11kms_kms_rotation_list *out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ListKeyRotations", "kms:ListKeyRotations", 1, 1);
    rc = kms_read_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && (out == NULL || limit > 1000))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "Limit must be 1-1000");
    if (rc == P11KMS_KMS_OK && !kms_spec_is_symmetric(c.key->spec))
        rc = kms_fail(&c, P11KMS_KMS_UNSUPPORTED, "rotations exist for symmetric keys only");
    if (rc == P11KMS_KMS_OK) {
        memset(out, 0, sizeof(*out));
        rc = list_rotations(&c, limit ? limit : 100, marker, out);
        if (rc != P11KMS_KMS_OK)
            p11kms_kms_rotation_list_clear(out);
    }
    return kms_call_end(&c, rc);
}
