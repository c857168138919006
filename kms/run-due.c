/* kms/run-due.c — scheduled work without a daemon: rotations that are due
 * and keys whose deletion window has passed.  run-due (cron, a systemd
 * timer) does both; a management call on a key past its window destroys it
 * first; a data call never destroys anything.  Every change re-checks the
 * row inside its own BEGIN IMMEDIATE transaction and writes its
 * ServiceEvent record (RotateKey, DeleteKey) in that transaction, so
 * concurrent runs change each key exactly once. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/timeutil.h"
#include "kms/kms-internal.h"

#define PAGE 500

static int deletion_due(const p11kms_store_key *row, int64_t now)
{
    return strcmp(row->key_state, "PendingDeletion") == 0 && row->deletion_ms > 0 &&
           row->deletion_ms <= now;
}

/* Destroys key_id if (re-checked inside the transaction) its window passed.
 * *done = 1 when this call destroyed it. */
static p11kms_kms_rc purge_key(p11kms_kms *kms, const char *key_id, int *done)
{
    p11kms_store_key row;
    char req[96];
    p11kms_kms_rc rc;

    *done = 0;
    memset(&row, 0, sizeof(row));
    rc = kms_rc_from_store(p11kms_store_begin_write(kms->st));
    if (rc != P11KMS_KMS_OK)
        return rc;
    rc = kms_rc_from_store(p11kms_store_key_get(kms->st, key_id, &row));
    if (rc == P11KMS_KMS_OK && deletion_due(&row, p11kms_time_now_ms())) {
        rc = kms_rc_from_store(p11kms_store_key_destroy(kms->st, key_id));
        snprintf(req, sizeof(req), "{\"keyId\":\"%s\"}", key_id);
        if (rc == P11KMS_KMS_OK)
            rc = kms_audit_service_event(kms, "DeleteKey", key_id, 0, req);
        *done = rc == P11KMS_KMS_OK;
    }
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_commit(kms->st));
    if (rc != P11KMS_KMS_OK) {
        p11kms_store_rollback(kms->st);
        *done = 0;
    }
    p11kms_store_key_clear(&row);
    kms_bump_epoch(kms);
    return rc == P11KMS_KMS_NOT_FOUND ? P11KMS_KMS_OK : rc;
}

p11kms_kms_rc kms_purge_if_due(kms_call *c)
{
    int done = 0;
    p11kms_kms_rc rc;

    if (!deletion_due(&c->key->row, p11kms_time_now_ms()))
        return P11KMS_KMS_OK;
    rc = purge_key(c->kms, c->key->key_id, &done);
    if (rc != P11KMS_KMS_OK)
        return kms_fail(c, rc, "destroying the key failed");
    c->key->gone = 1;
    kms_versions_free(c->key);
    return kms_fail(c, P11KMS_KMS_NOT_FOUND, "the key was destroyed: its deletion window ended");
}

static p11kms_kms_rc rotate_one(p11kms_kms *kms, const char *key_id, int *rotated)
{
    uint32_t nv = 0;
    p11kms_kms_rc rc = kms_rc_from_store(p11kms_store_begin_write(kms->st));

    if (rc != P11KMS_KMS_OK)
        return rc;
    rc = kms_rotate_in_txn(kms, key_id, 1, &nv);
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_commit(kms->st));
    if (rc != P11KMS_KMS_OK)
        p11kms_store_rollback(kms->st);
    kms_bump_epoch(kms);
    *rotated = rc == P11KMS_KMS_OK && nv != 0;
    return rc;
}

/* Applies fn to every key the filter selects (ids collected first, then
 * each handled in its own transaction). */
static void for_each_due(p11kms_kms *kms, p11kms_store_key_filter *f,
                         p11kms_kms_rc (*fn)(p11kms_kms *, const char *, int *), unsigned *count,
                         unsigned *failed)
{
    p11kms_store_key *keys = NULL;
    size_t n = 0;
    int more = 1, did = 0;
    char after[37] = "";

    while (more) {
        if (p11kms_store_key_list(kms->st, f, after[0] ? after : NULL, PAGE, &keys, &n, &more) !=
            P11KMS_STORE_OK) {
            (*failed)++;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (fn(kms, keys[i].key_id, &did) != P11KMS_KMS_OK)
                (*failed)++;
            else if (did)
                (*count)++;
        }
        if (n > 0)
            snprintf(after, sizeof(after), "%s", keys[n - 1].key_id);
        p11kms_store_key_list_free(keys, n);
        more = more && n > 0;
    }
}

p11kms_kms_rc p11kms_kms_run_due(p11kms_kms *kms, const p11kms_caller *caller,
                                 p11kms_kms_run_due_report *report)
{
    kms_call c;
    p11kms_store_key_filter f;
    p11kms_kms_run_due_report r = {0, 0, 0};
    int64_t now = p11kms_time_now_ms();
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "RunDue", NULL, 1, 0);
    rc = kms_require_user(&c);
    if (rc != P11KMS_KMS_OK)
        goto done;
    memset(&f, 0, sizeof(f));
    f.key_state = "Enabled";
    f.rotation_due_before_ms = now;
    for_each_due(kms, &f, rotate_one, &r.rotated, &r.failed);
    memset(&f, 0, sizeof(f));
    f.key_state = "PendingDeletion";
    f.deletion_due_before_ms = now;
    for_each_due(kms, &f, purge_key, &r.deleted, &r.failed);
    c.response = json_pack("{s:i, s:i, s:i}", "rotated", (int)r.rotated, "deleted", (int)r.deleted,
                           "failed", (int)r.failed);
    if (report != NULL)
        *report = r;
done:
    return kms_call_end(&c, rc);
}
