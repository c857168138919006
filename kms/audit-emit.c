/* kms/audit-emit.c — the per-call frame: lock, write transaction, and the
 * exactly-one audit record every call leaves.
 *
 * A management call opens its write transaction with kms_call_begin_write();
 * on success its record is appended INSIDE that transaction and committed
 * with the change; on failure the transaction is rolled back and the
 * failure is recorded on the data-plane fast path.  A data call records on
 * the fast path.  If the record cannot be written the call fails
 * (AuditWriteException) and its outputs are wiped: nothing is returned that
 * was not audited.  requestParameters never hold plaintext, keys or PINs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kms/kms-internal.h"

void kms_call_begin(kms_call *c, p11kms_kms *kms, const p11kms_caller *caller,
                    const char *event_name, const char *action, int management, int read_only)
{
    memset(c, 0, sizeof(*c));
    c->kms = kms;
    c->caller = caller;
    c->event_name = event_name;
    c->action = action;
    c->management = management;
    c->read_only = read_only;
    c->request = json_object();
    kms_set_detail(NULL);
    pthread_mutex_lock(&kms->lock);
}

p11kms_kms_rc kms_fail(kms_call *c, p11kms_kms_rc rc, const char *detail)
{
    c->detail = detail;
    return rc;
}

void kms_call_out(kms_call *c, p11kms_kms_bytes *out)
{
    if (out != NULL)
        c->outs[c->outs[0] ? 1 : 0] = out;
}

p11kms_kms_rc kms_call_begin_write(kms_call *c)
{
    p11kms_store_rc src = p11kms_store_begin_write(c->kms->st);

    if (src != P11KMS_STORE_OK)
        return kms_fail(c, kms_rc_from_store(src), p11kms_store_strerror(src));
    c->in_txn = 1;
    return P11KMS_KMS_OK;
}

void kms_json_context(json_t *obj, const char *name, const p11kms_kms_context *ctx)
{
    json_t *o;

    if (obj == NULL || ctx == NULL || ctx->n == 0)
        return;
    o = json_object();
    for (size_t i = 0; o != NULL && i < ctx->n; i++)
        if (ctx->pairs[i].key != NULL && ctx->pairs[i].value != NULL)
            json_object_set_new(o, ctx->pairs[i].key, json_string(ctx->pairs[i].value));
    json_object_set_new(obj, name, o);
}

static char *dump(json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

static void record_caller(p11kms_audit_record *rec, const p11kms_caller *caller)
{
    if (caller == NULL) {
        rec->uid = (uint32_t)getuid();
        rec->gid = (uint32_t)getgid();
        rec->pid = (int32_t)getpid();
        return;
    }
    rec->uid = (uint32_t)caller->uid;
    rec->gid = (uint32_t)caller->gid;
    rec->pid = (int32_t)caller->pid;
    rec->user = caller->user[0] ? caller->user : NULL;
    rec->executable = caller->executable[0] ? caller->executable : NULL;
}

static p11kms_kms_rc audit_write(kms_call *c, p11kms_kms_rc rc)
{
    p11kms_audit_record rec;
    char *req = NULL, *resp = NULL;
    p11kms_store_rc src;

    if (c->kms->st == NULL || !c->kms->st_writable)
        return P11KMS_KMS_AUDIT_FAILED;
    memset(&rec, 0, sizeof(rec));
    rec.event_name = c->event_name;
    rec.event_type = c->service_event ? P11KMS_AUDIT_SERVICE_EVENT : P11KMS_AUDIT_API_CALL;
    rec.management = c->management;
    rec.read_only = c->read_only;
    record_caller(&rec, c->caller);
    rec.key_id = c->key ? c->key->key_id : NULL;
    rec.key_version = c->key_version;
    req = dump(c->request);
    resp = rc == P11KMS_KMS_OK ? dump(c->response) : NULL;
    rec.request_json = req;
    rec.response_json = resp;
    rec.error_code = rc == P11KMS_KMS_OK ? NULL : p11kms_kms_rc_name(rc);
    rec.error_message = rc == P11KMS_KMS_OK ? NULL : c->detail;
    src = p11kms_store_audit_append(c->kms->st, &rec);
    free(req);
    free(resp);
    return src == P11KMS_STORE_OK ? P11KMS_KMS_OK : P11KMS_KMS_AUDIT_FAILED;
}

/* Success inside the transaction: record, then commit both together. */
static p11kms_kms_rc finish_txn(kms_call *c, p11kms_kms_rc rc)
{
    p11kms_store_rc src;

    if (rc == P11KMS_KMS_OK) {
        rc = audit_write(c, rc);
        if (rc != P11KMS_KMS_OK)
            c->detail = "the audit record could not be written";
    }
    if (rc == P11KMS_KMS_OK) {
        src = p11kms_store_commit(c->kms->st);
        if (src != P11KMS_STORE_OK) {
            rc = kms_rc_from_store(src);
            c->detail = p11kms_store_strerror(src);
        }
    }
    if (rc != P11KMS_KMS_OK)
        p11kms_store_rollback(c->kms->st);
    kms_bump_epoch(c->kms);
    c->in_txn = 0;
    return rc;
}

p11kms_kms_rc kms_call_end(kms_call *c, p11kms_kms_rc rc)
{
    int recorded = 0;

    if (c->in_txn) {
        rc = finish_txn(c, rc);
        recorded = rc == P11KMS_KMS_OK;
    }
    if (!recorded) {
        p11kms_kms_rc arc = audit_write(c, rc);
        if (arc != P11KMS_KMS_OK && rc == P11KMS_KMS_OK) {
            rc = arc;
            c->detail = "the audit record could not be written";
        }
    }
    if (rc != P11KMS_KMS_OK) {
        p11kms_kms_bytes_clear(c->outs[0]);
        p11kms_kms_bytes_clear(c->outs[1]);
    }
    if (c->key != NULL)
        kms_key_unref_locked(c->key);
    c->key = NULL;
    json_decref(c->request);
    json_decref(c->response);
    pthread_mutex_unlock(&c->kms->lock);
    kms_set_detail(rc == P11KMS_KMS_OK ? NULL : c->detail);
    return rc;
}

p11kms_kms_rc kms_audit_service_event(p11kms_kms *kms, const char *event_name, const char *key_id,
                                      uint32_t version, const char *request_json)
{
    p11kms_audit_record rec;

    memset(&rec, 0, sizeof(rec));
    rec.event_name = event_name;
    rec.event_type = P11KMS_AUDIT_SERVICE_EVENT;
    rec.management = 1;
    record_caller(&rec, NULL);
    rec.key_id = key_id;
    rec.key_version = version;
    rec.request_json = request_json;
    if (p11kms_store_audit_append(kms->st, &rec) != P11KMS_STORE_OK)
        return P11KMS_KMS_AUDIT_FAILED;
    return P11KMS_KMS_OK;
}
