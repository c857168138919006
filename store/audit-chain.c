/*
 * store/audit-chain.c - linking records into the hash chain, and the two
 * append paths that feed it: the management path (inside the caller's
 * write transaction) and the data-plane path (journal write, folded later).
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "store/audit-internal.h"
#include "store/audit-syslog.h"

/* A journal is folded by its own process once it holds this many bytes
 * (a few hundred records), so no journal grows without bound. */
#define FOLD_BYTES (128u * 1024u)
/* If folding keeps failing, appends fail once this much is unchained. */
#define HARD_BYTES (32u * 1024u * 1024u)

static p11kms_store_rc anchor_from_row(sqlite3_stmt *q, p11kms_audit_anchor *a)
{
    const void *h = sqlite3_column_blob(q, 1);

    if (sqlite3_column_bytes(q, 1) != P11KMS_AUDIT_HASH_LEN || h == NULL)
        return P11KMS_STORE_CORRUPT;
    a->seq = (uint64_t)sqlite3_column_int64(q, 0);
    memcpy(a->hash, h, P11KMS_AUDIT_HASH_LEN);
    return P11KMS_STORE_OK;
}

p11kms_store_rc p11kms_audit_chain_base(p11kms_audit_state *s, p11kms_audit_anchor *base)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_BASE, &rc);
    int src;

    if (q == NULL)
        goto done;
    src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        rc = anchor_from_row(q, base);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_CORRUPT : p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

p11kms_store_rc p11kms_audit_chain_head(p11kms_audit_state *s, p11kms_audit_anchor *head)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_HEAD, &rc);
    int src;

    if (q == NULL)
        goto done;
    src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        rc = anchor_from_row(q, head);
    else if (src == SQLITE_DONE)
        rc = p11kms_audit_chain_base(s, head);
    else
        rc = p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

static int bind_str(sqlite3_stmt *q, int i, const p11kms_audit_str *v)
{
    if (!v->present)
        return sqlite3_bind_null(q, i);
    return sqlite3_bind_text(q, i, v->p, (int)v->len, SQLITE_STATIC);
}

static int bind_fields(sqlite3_stmt *q, const p11kms_audit_fields *f)
{
    int r = SQLITE_OK;

    r |= bind_str(q, 2, &f->event_id);
    r |= sqlite3_bind_int64(q, 3, f->event_time_ms);
    r |= bind_str(q, 4, &f->event_name);
    r |= sqlite3_bind_int(q, 5, f->event_type);
    r |= sqlite3_bind_int(q, 6, f->management);
    r |= sqlite3_bind_int(q, 7, f->read_only);
    r |= sqlite3_bind_int64(q, 8, f->uid);
    r |= sqlite3_bind_int64(q, 9, f->gid);
    r |= sqlite3_bind_int64(q, 10, f->pid);
    r |= bind_str(q, 11, &f->user);
    r |= bind_str(q, 12, &f->executable);
    r |= bind_str(q, 13, &f->key_id);
    r |= sqlite3_bind_int64(q, 14, f->key_version);
    r |= bind_str(q, 15, &f->request_json);
    r |= bind_str(q, 16, &f->response_json);
    r |= bind_str(q, 17, &f->error_code);
    r |= bind_str(q, 18, &f->error_message);
    return r;
}

p11kms_store_rc p11kms_audit_chain_insert(p11kms_audit_state *s, p11kms_audit_anchor *head,
                                          const p11kms_audit_fields *f, const unsigned char *body,
                                          size_t bodylen)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_INSERT, &rc);
    unsigned char hash[P11KMS_AUDIT_HASH_LEN];
    uint64_t seq = head->seq + 1;
    int src;

    if (q == NULL)
        goto done;
    rc = P11KMS_STORE_INTERNAL;
    if (!p11kms_audit_chain_hash(s->md, seq, body, bodylen, head->hash, hash))
        goto done;
    if (sqlite3_bind_int64(q, 1, (sqlite3_int64)seq) != SQLITE_OK || bind_fields(q, f) ||
        sqlite3_bind_blob(q, 19, head->hash, P11KMS_AUDIT_HASH_LEN, SQLITE_STATIC) ||
        sqlite3_bind_blob(q, 20, hash, P11KMS_AUDIT_HASH_LEN, SQLITE_STATIC))
        goto done;
    src = sqlite3_step(q);
    if (src != SQLITE_DONE) {
        rc = p11kms_store_rc_from_sqlite(src);
        goto done;
    }
    head->seq = seq;
    memcpy(head->hash, hash, sizeof(hash));
    rc = P11KMS_STORE_OK;
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

p11kms_store_rc p11kms_audit_service_event(p11kms_audit_state *s, p11kms_audit_anchor *head,
                                           p11kms_buf *scratch, const char *name,
                                           const char *response_json, const char *error_code,
                                           const char *error_message)
{
    p11kms_audit_record r;
    p11kms_audit_fields f;
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;

    memset(&r, 0, sizeof(r));
    r.event_name = name;
    r.event_type = P11KMS_AUDIT_SERVICE_EVENT;
    r.management = 1;
    r.uid = (uint32_t)geteuid();
    r.gid = (uint32_t)getegid();
    r.pid = (int32_t)getpid();
    r.response_json = response_json;
    r.error_code = error_code;
    r.error_message = error_message;
    r.event_time_ms = p11kms_time_now_ms();
    if (!p11kms_audit_event_id(s, r.event_id))
        goto done;
    p11kms_audit_fields_from_record(&r, &f);
    p11kms_buf_reset(scratch);
    if (!p11kms_audit_encode_body(scratch, &f))
        goto done;
    rc = p11kms_audit_chain_insert(s, head, &f, scratch->data, scratch->len);
done:
    return rc;
}

static int str_ok(const char *p, int required)
{
    return p == NULL ? !required
                     : (!required || *p != '\0') && strlen(p) <= P11KMS_AUDIT_RECORD_MAX;
}

static p11kms_store_rc record_prepare(p11kms_audit_state *s, p11kms_audit_record *rec)
{
    p11kms_audit_fields f;
    p11kms_store_rc rc = P11KMS_STORE_INVALID;

    if (!str_ok(rec->event_name, 1) || !str_ok(rec->user, 0) || !str_ok(rec->executable, 0) ||
        !str_ok(rec->key_id, 0) || !str_ok(rec->request_json, 0) ||
        !str_ok(rec->response_json, 0) || !str_ok(rec->error_code, 0) ||
        !str_ok(rec->error_message, 0) || (unsigned)rec->event_type > 1)
        goto done;
    rc = P11KMS_STORE_INTERNAL;
    if (!p11kms_audit_event_id(s, rec->event_id))
        goto done;
    if (rec->event_time_ms == 0)
        rec->event_time_ms = p11kms_time_now_ms();
    p11kms_audit_fields_from_record(rec, &f);
    p11kms_buf_reset(&s->body);
    rc = p11kms_audit_encode_body(&s->body, &f) && s->body.len <= P11KMS_AUDIT_RECORD_MAX
             ? P11KMS_STORE_OK
             : P11KMS_STORE_INVALID;
done:
    return rc;
}

/* Management path: fold what is pending, then chain rec in the caller's
 * transaction, so the change and its record commit together. */
static p11kms_store_rc append_in_txn(p11kms_audit_state *s, p11kms_audit_record *rec)
{
    p11kms_audit_anchor head;
    p11kms_audit_fields f;
    p11kms_store_rc rc = p11kms_audit_fold_all(s, NULL, NULL);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = p11kms_audit_chain_head(s, &head);
    if (rc != P11KMS_STORE_OK)
        goto done;
    p11kms_audit_fields_from_record(rec, &f);
    rc = p11kms_audit_chain_insert(s, &head, &f, s->body.data, s->body.len);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_seal_if_due(s, 0, NULL);
done:
    return rc;
}

/* Data-plane path: one write() to this process's journal. */
static p11kms_store_rc append_journal(p11kms_audit_state *s)
{
    size_t pending = 0;
    int sync = s->opts.durability == P11KMS_AUDIT_DURABILITY_POWER;
    p11kms_store_rc rc = P11KMS_STORE_OK, frc;

    if (s->journal == NULL)
        rc = p11kms_audit_journal_acquire(s->dir, &s->journal);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    if (!p11kms_audit_jentry_build(s->md, &s->entry, s->body.data, s->body.len))
        goto done;
    rc = p11kms_audit_journal_write(s->journal, s->entry.data, s->entry.len, sync, &pending);
    if (rc != P11KMS_STORE_OK || pending < FOLD_BYTES || p11kms_store_in_txn(s->st))
        goto done;
    /* The record is already durable.  If another process holds the write
     * lock it is folding (our journal too): do not wait for it, unless the
     * unchained backlog passed the hard limit, where a failed fold fails
     * the operation (fail closed). */
    if (pending < HARD_BYTES)
        sqlite3_busy_timeout(s->db, 0);
    frc = p11kms_audit_flush_state(s, 0);
    sqlite3_busy_timeout(s->db, p11kms_store_busy_timeout_ms(s->st));
    if (frc != P11KMS_STORE_OK && pending >= HARD_BYTES)
        rc = frc;
done:
    return rc;
}

p11kms_store_rc p11kms_store_audit_append(p11kms_store *st, p11kms_audit_record *rec)
{
    p11kms_audit_state *s = NULL;
    p11kms_store_rc rc = P11KMS_STORE_INVALID;

    if (st == NULL || rec == NULL)
        goto done;
    rc = p11kms_audit_state_get(st, &s);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_READONLY;
    if (p11kms_store_is_readonly(st))
        goto done;
    rc = record_prepare(s, rec);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (p11kms_store_in_write_txn(st))
        rc = append_in_txn(s, rec);
    else
        rc = append_journal(s);
    /* Best-effort copy for log pipelines; the chain stays the record of
     * truth (a management record copied here may still roll back with its
     * change, which the copy's reader sees as a call without effect). */
    if (rc == P11KMS_STORE_OK)
        p11kms_audit_syslog_record(rec);
done:
    return rc;
}
