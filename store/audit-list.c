/*
 * store/audit-list.c - reading the trail: filtered, paged listing (newest
 * first by default), the chain head as an exportable anchor, counts, and
 * the small text helpers (anchor strings, problem names).
 *
 * Every filter combination is one statement shape, built from a bit mask
 * and cached per handle; each shape has an index that serves it (seq, time,
 * key, name, uid, partial indexes on errors and management events).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit-internal.h"

enum {
    LF_FROM = 1u << 0,
    LF_TO = 1u << 1,
    LF_KEY = 1u << 2,
    LF_NAME = 1u << 3,
    LF_UID = 1u << 4,
    LF_OK = 1u << 5,
    LF_ERR = 1u << 6,
    LF_MGMT = 1u << 7,
    LF_DATA = 1u << 8,
    LF_ASC = 1u << 9
};

#define LIST_DEFAULT 100u
#define LIST_MAX     10000u

static unsigned filter_mask(const p11kms_audit_filter *f)
{
    unsigned m = 0;

    m |= f->from_ms ? LF_FROM : 0;
    m |= f->to_ms ? LF_TO : 0;
    m |= f->key_id ? LF_KEY : 0;
    m |= f->event_name ? LF_NAME : 0;
    m |= f->match_uid ? LF_UID : 0;
    m |= f->result == P11KMS_AUDIT_RESULT_OK ? LF_OK : 0;
    m |= f->result == P11KMS_AUDIT_RESULT_ERROR ? LF_ERR : 0;
    m |= f->category == P11KMS_AUDIT_CAT_MANAGEMENT ? LF_MGMT : 0;
    m |= f->category == P11KMS_AUDIT_CAT_DATA ? LF_DATA : 0;
    m |= f->ascending ? LF_ASC : 0;
    return m;
}

/* Parameters are numbered by meaning so every shape binds the same way. */
static void build_sql(unsigned m, char *sql, size_t cap)
{
    snprintf(sql, cap,
             "SELECT seq, event_id, event_time, event_name, event_type, management, "
             "read_only, uid, gid, pid, user, executable, key_id, key_version, request_json, "
             "response_json, error_code, error_message, prev_hash, hash FROM audit_record "
             "WHERE seq %s ?1%s%s%s%s%s%s%s%s%s ORDER BY seq %s LIMIT ?8",
             m & LF_ASC ? ">" : "<", m & LF_FROM ? " AND event_time >= ?2" : "",
             m & LF_TO ? " AND event_time < ?3" : "", m & LF_KEY ? " AND key_id = ?4" : "",
             m & LF_NAME ? " AND event_name = ?5" : "", m & LF_UID ? " AND uid = ?6" : "",
             m & LF_OK ? " AND error_code IS NULL" : "",
             m & LF_ERR ? " AND error_code IS NOT NULL" : "",
             m & LF_MGMT ? " AND management = 1" : "", m & LF_DATA ? " AND management = 0" : "",
             m & LF_ASC ? "ASC" : "DESC");
}

static int bind_filter(sqlite3_stmt *q, unsigned m, const p11kms_audit_filter *f, size_t limit)
{
    sqlite3_int64 cur = f->cursor ? (sqlite3_int64)f->cursor : (m & LF_ASC ? 0 : INT64_MAX);
    int r = sqlite3_bind_int64(q, 1, cur);

    r |= m & LF_FROM ? sqlite3_bind_int64(q, 2, f->from_ms) : 0;
    r |= m & LF_TO ? sqlite3_bind_int64(q, 3, f->to_ms) : 0;
    r |= m & LF_KEY ? sqlite3_bind_text(q, 4, f->key_id, -1, SQLITE_STATIC) : 0;
    r |= m & LF_NAME ? sqlite3_bind_text(q, 5, f->event_name, -1, SQLITE_STATIC) : 0;
    r |= m & LF_UID ? sqlite3_bind_int64(q, 6, f->uid) : 0;
    r |= sqlite3_bind_int64(q, 8, (sqlite3_int64)limit + 1);
    return r == SQLITE_OK;
}

static char *dup_str(const p11kms_audit_str *v, int *ok)
{
    char *d;

    if (!v->present)
        return NULL;
    d = malloc(v->len + 1);
    if (d == NULL) {
        *ok = 0;
        return NULL;
    }
    memcpy(d, v->p, v->len);
    d[v->len] = '\0';
    return d;
}

static void entry_clear(p11kms_audit_entry *e)
{
    free((char *)e->rec.event_name);
    free((char *)e->rec.user);
    free((char *)e->rec.executable);
    free((char *)e->rec.key_id);
    free((char *)e->rec.request_json);
    free((char *)e->rec.response_json);
    free((char *)e->rec.error_code);
    free((char *)e->rec.error_message);
    memset(e, 0, sizeof(*e));
}

static int blob32(sqlite3_stmt *q, int col, unsigned char *out)
{
    const void *p = sqlite3_column_blob(q, col);

    memset(out, 0, P11KMS_AUDIT_HASH_LEN);
    if (p != NULL && sqlite3_column_bytes(q, col) == P11KMS_AUDIT_HASH_LEN)
        memcpy(out, p, P11KMS_AUDIT_HASH_LEN);
    return 1;
}

static int entry_from_row(sqlite3_stmt *q, p11kms_audit_entry *e)
{
    p11kms_audit_fields f;
    p11kms_audit_record *r = &e->rec;
    int ok = 1;

    p11kms_audit_fields_from_row(q, &f);
    memset(e, 0, sizeof(*e));
    e->seq = (uint64_t)sqlite3_column_int64(q, 0);
    blob32(q, 18, e->prev_hash);
    blob32(q, 19, e->hash);
    if (f.event_id.present && f.event_id.len < sizeof(r->event_id))
        memcpy(r->event_id, f.event_id.p, f.event_id.len);
    r->event_time_ms = f.event_time_ms;
    r->event_name = dup_str(&f.event_name, &ok);
    r->event_type = f.event_type ? P11KMS_AUDIT_SERVICE_EVENT : P11KMS_AUDIT_API_CALL;
    r->management = f.management;
    r->read_only = f.read_only;
    r->uid = f.uid;
    r->gid = f.gid;
    r->pid = f.pid;
    r->user = dup_str(&f.user, &ok);
    r->executable = dup_str(&f.executable, &ok);
    r->key_id = dup_str(&f.key_id, &ok);
    r->key_version = f.key_version;
    r->request_json = dup_str(&f.request_json, &ok);
    r->response_json = dup_str(&f.response_json, &ok);
    r->error_code = dup_str(&f.error_code, &ok);
    r->error_message = dup_str(&f.error_message, &ok);
    if (!ok)
        entry_clear(e);
    return ok;
}

void p11kms_audit_entry_list_free(p11kms_audit_entry *e, size_t count)
{
    size_t i;

    for (i = 0; e != NULL && i < count; i++)
        entry_clear(&e[i]);
    free(e);
}

/* Flush first where possible, so the list includes journaled records. */
static p11kms_store_rc pre_read(p11kms_store *st, p11kms_audit_state **s)
{
    p11kms_store_rc rc = p11kms_audit_state_get(st, s);

    if (rc == P11KMS_STORE_OK && !p11kms_store_is_readonly(st) && !p11kms_store_in_txn(st))
        rc = p11kms_audit_flush_state(*s, 1);
    return rc;
}

static p11kms_store_rc list_rows(p11kms_audit_state *s, const p11kms_audit_filter *f, size_t limit,
                                 p11kms_audit_entry *v, size_t *n, int *more)
{
    unsigned m = filter_mask(f);
    char sql[1024];
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q;
    int src = SQLITE_DONE;

    build_sql(m, sql, sizeof(sql));
    q = p11kms_audit_stmt_sql(s, &s->list[m], sql, &rc);
    if (q == NULL || !bind_filter(q, m, f, limit))
        goto done;
    rc = P11KMS_STORE_OK;
    while ((src = sqlite3_step(q)) == SQLITE_ROW && *n < limit) {
        if (!entry_from_row(q, &v[*n])) {
            rc = P11KMS_STORE_NOMEM;
            goto done;
        }
        (*n)++;
    }
    *more = src == SQLITE_ROW;
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

p11kms_store_rc p11kms_store_audit_list(p11kms_store *st, const p11kms_audit_filter *f,
                                        size_t limit, p11kms_audit_entry **out, size_t *count,
                                        uint64_t *next_cursor)
{
    static const p11kms_audit_filter all;
    p11kms_audit_state *s = NULL;
    p11kms_audit_entry *v = NULL;
    size_t n = 0;
    int more = 0;
    p11kms_store_rc rc = P11KMS_STORE_INVALID;

    if (st == NULL || out == NULL || count == NULL)
        goto done;
    if (f == NULL)
        f = &all;
    limit = limit == 0 ? LIST_DEFAULT : limit > LIST_MAX ? LIST_MAX : limit;
    rc = pre_read(st, &s);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    v = calloc(limit, sizeof(*v));
    if (v != NULL)
        rc = list_rows(s, f, limit, v, &n, &more);
done:
    if (rc != P11KMS_STORE_OK) {
        p11kms_audit_entry_list_free(v, n);
        v = NULL;
        n = 0;
    }
    if (out != NULL)
        *out = v;
    if (count != NULL)
        *count = n;
    if (next_cursor != NULL)
        *next_cursor = more && n > 0 ? v[n - 1].seq : 0;
    return rc;
}

p11kms_store_rc p11kms_store_audit_head(p11kms_store *st, p11kms_audit_anchor *out)
{
    p11kms_audit_state *s = NULL;
    p11kms_store_rc rc = st && out ? pre_read(st, &s) : P11KMS_STORE_INVALID;

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_chain_head(s, out);
    return rc;
}

p11kms_store_rc p11kms_store_audit_count(p11kms_store *st, uint64_t *count)
{
    p11kms_audit_state *s = NULL;
    sqlite3_stmt *q = NULL;
    int src;
    p11kms_store_rc rc = st && count ? pre_read(st, &s) : P11KMS_STORE_INVALID;

    if (rc != P11KMS_STORE_OK)
        goto done;
    q = p11kms_audit_stmt(s, AST_COUNT, &rc);
    if (q == NULL)
        goto done;
    src = sqlite3_step(q);
    *count = src == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    rc = src == SQLITE_ROW ? P11KMS_STORE_OK : p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

void p11kms_audit_anchor_format(const p11kms_audit_anchor *a,
                                char out[P11KMS_AUDIT_ANCHOR_STR_SIZE])
{
    char hex[2 * P11KMS_AUDIT_HASH_LEN + 1];

    p11kms_audit_hex(a->hash, P11KMS_AUDIT_HASH_LEN, hex);
    snprintf(out, P11KMS_AUDIT_ANCHOR_STR_SIZE, "%" PRIu64 ":%s", a->seq, hex);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int p11kms_audit_anchor_parse(const char *s, p11kms_audit_anchor *out)
{
    uint64_t seq = 0;
    size_t i;
    int hi, lo;

    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (seq > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return 0;
        seq = seq * 10 + (uint64_t)(*s - '0');
    }
    if (*s++ != ':' || strlen(s) != 2 * P11KMS_AUDIT_HASH_LEN)
        return 0;
    for (i = 0; i < P11KMS_AUDIT_HASH_LEN; i++) {
        hi = hexval(s[2 * i]);
        lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out->hash[i] = (unsigned char)(hi << 4 | lo);
    }
    out->seq = seq;
    return 1;
}

const char *p11kms_audit_problem_name(p11kms_audit_problem p)
{
    static const char *const names[] = {"intact",    "modified", "inserted",  "deleted",
                                        "reordered", "bad-seal", "truncated", "unsealed-tail"};

    return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "unknown";
}

typedef struct prune_ctx {
    p11kms_audit_state *s;
    uint64_t upto;
} prune_ctx;

static p11kms_store_rc exec_bound(p11kms_audit_state *s, const char *sql, uint64_t v)
{
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);

    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(q, 1, (sqlite3_int64)v);
    if (src == SQLITE_OK)
        src = sqlite3_step(q);
    sqlite3_finalize(q);
    return src == SQLITE_DONE || src == SQLITE_ROW ? P11KMS_STORE_OK
                                                   : p11kms_store_rc_from_sqlite(src);
}

static p11kms_store_rc prune_cb(p11kms_store *st, void *arg)
{
    prune_ctx *p = arg;
    p11kms_audit_seal *seal = NULL;
    size_t n = 0;
    p11kms_store_rc rc = p11kms_store_audit_seal_list(st, p->upto, 1, &seal, &n);

    if (rc == P11KMS_STORE_OK && (n != 1 || seal[0].seq != p->upto))
        rc = P11KMS_STORE_INVALID;
    if (rc == P11KMS_STORE_OK)
        rc = exec_bound(p->s,
                        "UPDATE audit_base SET seq = ?1, hash = (SELECT hash FROM audit_record "
                        "WHERE seq = ?1) WHERE id = 1 AND EXISTS (SELECT 1 FROM audit_record "
                        "WHERE seq = ?1)",
                        p->upto);
    if (rc == P11KMS_STORE_OK && sqlite3_changes(p->s->db) != 1)
        rc = P11KMS_STORE_NOTFOUND;
    if (rc == P11KMS_STORE_OK)
        rc = exec_bound(p->s, "DELETE FROM audit_record WHERE seq <= ?1", p->upto);
    if (rc == P11KMS_STORE_OK)
        rc = exec_bound(p->s, "DELETE FROM audit_seal WHERE seq < ?1", p->upto);
    free(seal);
    return rc;
}

p11kms_store_rc p11kms_store_audit_prune(p11kms_store *st, uint64_t upto_seq)
{
    prune_ctx p = {NULL, upto_seq};
    p11kms_store_rc rc = st && upto_seq ? p11kms_audit_state_get(st, &p.s) : P11KMS_STORE_INVALID;

    if (rc == P11KMS_STORE_OK && p11kms_store_is_readonly(st))
        rc = P11KMS_STORE_READONLY;
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_atomic(st, prune_cb, &p);
    return rc;
}
