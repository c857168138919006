/* kms/key-state.c — key states: the use checks every call makes, and the
 * management calls that move a key between Enabled, Disabled and
 * PendingDeletion.  Each change re-reads the row inside its BEGIN IMMEDIATE
 * transaction and updates it with the expected state, so concurrent
 * processes cannot race a disable, a rotation, a cancel and a purge. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/timeutil.h"
#include "kms/kms-internal.h"

p11kms_kms_rc kms_require_user(kms_call *c)
{
    p11kms_kms *kms = c->kms;

    if (kms->st == NULL || !kms->st_writable || kms->login != P11KMS_KMS_USER_USER)
        return kms_fail(c, P11KMS_KMS_NOT_LOGGED_IN, "the token user is not logged in");
    return kms_sync(kms);
}

p11kms_kms_rc kms_require_key_id(kms_call *c, p11kms_kms_key *handle, const char *ref)
{
    if (handle == NULL && ref != NULL && strncmp(ref, "alias/", 6) == 0) {
        json_object_set_new(c->request, "keyId", json_string(ref));
        return kms_fail(c, P11KMS_KMS_NOT_FOUND,
                        "an alias is not accepted as the key of this operation");
    }
    return P11KMS_KMS_OK;
}

p11kms_kms_rc kms_check_usable(kms_call *c, p11kms_kms_key *key, int allow_pending)
{
    if (key->state == P11KMS_KMS_STATE_ENABLED)
        return P11KMS_KMS_OK;
    if (key->state == P11KMS_KMS_STATE_DISABLED)
        return kms_fail(c, P11KMS_KMS_DISABLED, "the key is disabled");
    if (allow_pending)
        return P11KMS_KMS_OK;
    return kms_fail(c, P11KMS_KMS_INVALID_STATE, "the key is pending deletion");
}

/* Re-reads the frame's key inside the open transaction. */
static p11kms_kms_rc reread(kms_call *c)
{
    c->key->epoch = 0;
    return kms_key_refresh(c->key);
}

/* Authorisation runs on the row re-read inside the transaction. */
p11kms_kms_rc kms_mgmt_begin(kms_call *c, p11kms_kms_key *h, const char *ref,
                             p11kms_policy_request *req)
{
    p11kms_kms_rc rc = kms_require_user(c);

    if (rc == P11KMS_KMS_OK)
        rc = kms_require_key_id(c, h, ref);
    if (rc == P11KMS_KMS_OK)
        rc = kms_key_resolve(c, h, ref);
    if (rc == P11KMS_KMS_OK)
        rc = kms_purge_if_due(c);
    if (rc == P11KMS_KMS_OK && c->key->manager == P11KMS_KMS_MANAGER_SERVICE)
        rc = kms_fail(c, P11KMS_KMS_UNSUPPORTED,
                      "a service-managed key is managed by its service only");
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(c);
    if (rc == P11KMS_KMS_OK)
        rc = reread(c);
    if (rc == P11KMS_KMS_OK) {
        kms_request_init(c, req);
        rc = kms_authorize(c, req);
    }
    return rc;
}

p11kms_kms_rc kms_update_row(kms_call *c, const char *expect_state)
{
    p11kms_store_rc src = p11kms_store_key_update(c->kms->st, &c->key->row, expect_state);

    if (src != P11KMS_STORE_OK)
        return kms_fail(c, kms_rc_from_store(src), p11kms_store_strerror(src));
    return P11KMS_KMS_OK;
}

p11kms_kms_rc kms_read_begin(kms_call *c, p11kms_kms_key *h, const char *ref,
                             p11kms_policy_request *req)
{
    p11kms_kms_rc rc = kms_require_user(c);

    if (rc == P11KMS_KMS_OK)
        rc = kms_key_resolve(c, h, ref);
    if (rc == P11KMS_KMS_OK) {
        kms_request_init(c, req);
        if (ref != NULL && strncmp(ref, "alias/", 6) == 0)
            req->request_alias = ref;
        rc = kms_authorize(c, req);
    }
    return rc;
}

static void set_state(p11kms_kms_key *key, p11kms_kms_key_state st)
{
    snprintf(key->row.key_state, sizeof(key->row.key_state), "%s", p11kms_kms_state_name(st));
    key->state = st;
}

p11kms_kms_rc p11kms_kms_enable_key(p11kms_kms *kms, const p11kms_caller *caller,
                                    p11kms_kms_key *key, const char *key_ref)
{
    kms_call c;
    p11kms_policy_request req;
    char prev[32];
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "EnableKey", "kms:EnableKey", 1, 0);
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (c.key->state == P11KMS_KMS_STATE_PENDING_DELETION) {
        rc = kms_fail(&c, P11KMS_KMS_INVALID_STATE, "the key is pending deletion");
        goto done;
    }
    if (c.key->state == P11KMS_KMS_STATE_ENABLED)
        goto done;
    snprintf(prev, sizeof(prev), "%s", c.key->row.key_state);
    set_state(c.key, P11KMS_KMS_STATE_ENABLED);
    rc = kms_update_row(&c, prev);
    /* An overdue key rotates when re-enabled, in the same transaction. */
    if (rc == P11KMS_KMS_OK && kms_rotation_due(&c.key->row, p11kms_time_now_ms()))
        rc = kms_rotate_in_txn(kms, c.key->key_id, 1, NULL);
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_disable_key(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "DisableKey", "kms:DisableKey", 1, 0);
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (c.key->state == P11KMS_KMS_STATE_PENDING_DELETION) {
        rc = kms_fail(&c, P11KMS_KMS_INVALID_STATE, "the key is pending deletion");
        goto done;
    }
    if (c.key->state == P11KMS_KMS_STATE_DISABLED)
        goto done;
    set_state(c.key, P11KMS_KMS_STATE_DISABLED);
    rc = kms_update_row(&c, "Enabled");
done:
    return kms_call_end(&c, rc);
}

static void deletion_response(kms_call *c)
{
    char iso[P11KMS_ISO8601_BUF_SIZE] = "";

    p11kms_time_format_iso8601(c->key->row.deletion_ms, iso);
    c->response =
        json_pack("{s:s, s:s, s:s, s:i}", "keyId", c->key->key_id, "deletionDate", iso, "keyState",
                  "PendingDeletion", "pendingWindowInDays", (int)c->key->row.pending_window_days);
}

p11kms_kms_rc p11kms_kms_schedule_key_deletion(p11kms_kms *kms, const p11kms_caller *caller,
                                               p11kms_kms_key *key, const char *key_ref,
                                               unsigned window_days, int64_t *deletion_date_ms)
{
    kms_call c;
    p11kms_policy_request req;
    char prev[32];
    unsigned days = window_days ? window_days : KMS_DEFAULT_WINDOW_DAYS;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", 1, 0);
    json_object_set_new(c.request, "pendingWindowInDays", json_integer(days));
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && (days < 7 || days > 30))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "PendingWindowInDays must be 7-30");
    if (rc == P11KMS_KMS_OK && c.key->manager == P11KMS_KMS_MANAGER_SERVICE)
        rc = kms_fail(&c, P11KMS_KMS_UNSUPPORTED, "service-managed keys cannot be deleted");
    if (rc == P11KMS_KMS_OK && c.key->state == P11KMS_KMS_STATE_PENDING_DELETION)
        rc = kms_fail(&c, P11KMS_KMS_INVALID_STATE, "the key is already pending deletion");
    if (rc == P11KMS_KMS_OK) {
        req.has_pending_window_days = 1;
        req.pending_window_days = days;
        rc = kms_authorize(&c, &req);
    }
    if (rc != P11KMS_KMS_OK)
        goto done;
    snprintf(prev, sizeof(prev), "%s", c.key->row.key_state);
    set_state(c.key, P11KMS_KMS_STATE_PENDING_DELETION);
    c.key->row.pending_window_days = days;
    if (!p11kms_time_add_days(p11kms_time_now_ms(), days, &c.key->row.deletion_ms)) {
        rc = kms_fail(&c, P11KMS_KMS_INTERNAL, "clock out of range");
        goto done;
    }
    rc = kms_update_row(&c, prev);
    if (rc == P11KMS_KMS_OK) {
        deletion_response(&c);
        if (deletion_date_ms != NULL)
            *deletion_date_ms = c.key->row.deletion_ms;
    }
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_cancel_key_deletion(p11kms_kms *kms, const p11kms_caller *caller,
                                             p11kms_kms_key *key, const char *key_ref)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "CancelKeyDeletion", "kms:CancelKeyDeletion", 1, 0);
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && c.key->state != P11KMS_KMS_STATE_PENDING_DELETION)
        rc = kms_fail(&c, P11KMS_KMS_INVALID_STATE, "the key is not pending deletion");
    if (rc != P11KMS_KMS_OK)
        goto done;
    set_state(c.key, P11KMS_KMS_STATE_DISABLED);
    c.key->row.deletion_ms = 0;
    c.key->row.pending_window_days = 0;
    rc = kms_update_row(&c, "PendingDeletion");
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_update_key_description(p11kms_kms *kms, const p11kms_caller *caller,
                                                p11kms_kms_key *key, const char *key_ref,
                                                const char *description)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;
    char *old;

    kms_call_begin(&c, kms, caller, "UpdateKeyDescription", "kms:UpdateKeyDescription", 1, 0);
    json_object_set_new(c.request, "description", json_string(description ? description : ""));
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && (description == NULL || strlen(description) > 8192))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "Description must be 0-8192 characters");
    if (rc != P11KMS_KMS_OK)
        goto done;
    old = c.key->row.description;
    c.key->row.description = (char *)description;
    rc = kms_update_row(&c, NULL);
    c.key->row.description = old;
    c.key->epoch = 0;
done:
    return kms_call_end(&c, rc);
}
