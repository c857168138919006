/*
 * store/store-misc.c — the smaller tables hanging off keys and the token:
 * aliases, key policies, identity policies, grants and generic PKCS#11
 * objects.  Each mutation runs through p11kms_store_atomic (own transaction
 * or a savepoint of the caller's) and marks the change counter; reads use
 * the primary-key or secondary indexes declared in store-schema.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "store/store-priv.h"

#define LIST_DEFAULT_LIMIT 1000
#define LIST_MAX_LIMIT     100000

/* A prepared one-off statement and its binder, run inside atomic().  Binders
 * may bind more parameters than a statement uses: SQLite answers those with
 * SQLITE_RANGE, which is ignored, so one binder serves several statements. */
typedef struct exec_arg {
    const char *sql;
    void (*bind)(sqlite3_stmt *s, const void *ctx);
    const void *ctx;
    int need_change; /* NOTFOUND when no row changed */
} exec_arg;

static p11kms_store_rc exec_tx(p11kms_store *st, void *varg)
{
    const exec_arg *a = varg;
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(st->db, a->sql, -1, &s, NULL);
    p11kms_store_rc rc;

    if (src == SQLITE_OK) {
        a->bind(s, a->ctx);
        src = sqlite3_step(s);
    }
    rc = p11kms_store_step_rc(st, src);
    if (rc == P11KMS_STORE_OK && a->need_change && sqlite3_changes(st->db) == 0)
        rc = P11KMS_STORE_NOTFOUND;
    sqlite3_finalize(s);
    p11kms_store_mark_changed(st);
    return rc;
}

static p11kms_store_rc run_write(p11kms_store *st, const char *sql,
                                 void (*bind)(sqlite3_stmt *, const void *), const void *ctx,
                                 int need_change)
{
    exec_arg a = {sql, bind, ctx, need_change};

    return p11kms_store_atomic(st, exec_tx, &a);
}

/* Grows *arr (element size sz) to hold n + 1 elements. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    void *tmp;
    size_t ncap;

    if (n < *cap)
        return 1;
    ncap = *cap ? *cap * 2 : 16;
    tmp = realloc(*arr, ncap * sz);
    if (tmp == NULL)
        return 0;
    memset((char *)tmp + *cap * sz, 0, (ncap - *cap) * sz);
    *arr = tmp;
    *cap = ncap;
    return 1;
}

static size_t clamp_limit(size_t limit)
{
    return limit == 0 ? LIST_DEFAULT_LIMIT : (limit > LIST_MAX_LIMIT ? LIST_MAX_LIMIT : limit);
}

/* ------------------------------------------------------------------------ */
/* Aliases                                                                  */

typedef struct alias_ctx {
    const char *name, *key_id;
    int64_t now;
} alias_ctx;

static void bind_alias(sqlite3_stmt *s, const void *vctx)
{
    const alias_ctx *c = vctx;

    p11kms_store_bind_text(s, 1, c->name);
    p11kms_store_bind_text(s, 2, c->key_id);
    sqlite3_bind_int64(s, 3, c->now);
}

static int alias_name_ok(const char *name)
{
    return name != NULL && strncmp(name, "alias/", 6) == 0 && name[6] != '\0' &&
           strlen(name) <= P11KMS_STORE_ALIAS_MAX;
}

p11kms_store_rc p11kms_store_alias_create(p11kms_store *st, const char *name, const char *key_id,
                                          int64_t now_ms)
{
    alias_ctx c = {name, key_id, now_ms};

    if (!alias_name_ok(name) || key_id == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st,
                     "INSERT INTO aliases (name, key_id, creation, updated)"
                     " VALUES (?1, ?2, ?3, ?3)",
                     bind_alias, &c, 0);
}

p11kms_store_rc p11kms_store_alias_update(p11kms_store *st, const char *name, const char *key_id,
                                          int64_t now_ms)
{
    alias_ctx c = {name, key_id, now_ms};

    if (!alias_name_ok(name) || key_id == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st, "UPDATE aliases SET key_id = ?2, updated = ?3 WHERE name = ?1", bind_alias,
                     &c, 1);
}

p11kms_store_rc p11kms_store_alias_delete(p11kms_store *st, const char *name)
{
    alias_ctx c = {name, NULL, 0};

    if (name == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st, "DELETE FROM aliases WHERE name = ?1", bind_alias, &c, 1);
}

p11kms_store_rc p11kms_store_alias_resolve(p11kms_store *st, const char *name,
                                           char key_id_out[P11KMS_STORE_ID_LEN + 1])
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (name == NULL || key_id_out == NULL)
        goto done;
    rc = P11KMS_STORE_OK;
    s = p11kms_store_stmt(st, STMT_ALIAS_RESOLVE, &rc);
    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        p11kms_store_col_text_fixed(s, 0, key_id_out, P11KMS_STORE_ID_LEN + 1);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
done:
    p11kms_store_stmt_done(s);
    return rc;
}

p11kms_store_rc p11kms_store_alias_list(p11kms_store *st, const char *key_id, const char *after,
                                        size_t limit, p11kms_store_alias **out, size_t *count,
                                        int *more)
{
    const char *sql = key_id == NULL ? "SELECT name, key_id, creation, updated FROM aliases"
                                       " WHERE name > ?1 ORDER BY name LIMIT ?3"
                                     : "SELECT name, key_id, creation, updated FROM aliases"
                                       " WHERE name > ?1 AND key_id = ?2 ORDER BY name LIMIT ?3";
    p11kms_store_alias *arr = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL;
    int src = SQLITE_DONE;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (out == NULL || count == NULL)
        goto done;
    limit = clamp_limit(limit);
    src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, after != NULL ? after : "", -1, SQLITE_STATIC);
        p11kms_store_bind_text(s, 2, key_id);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)limit + 1);
    }
    rc = P11KMS_STORE_OK;
    while (src == SQLITE_OK || src == SQLITE_ROW) {
        src = sqlite3_step(s);
        if (src != SQLITE_ROW || n == limit)
            break;
        if (!grow((void **)&arr, &cap, n, sizeof(*arr))) {
            rc = P11KMS_STORE_NOMEM;
            goto done;
        }
        p11kms_store_col_text_fixed(s, 0, arr[n].name, sizeof(arr[n].name));
        p11kms_store_col_text_fixed(s, 1, arr[n].key_id, sizeof(arr[n].key_id));
        arr[n].creation_ms = sqlite3_column_int64(s, 2);
        arr[n].updated_ms = sqlite3_column_int64(s, 3);
        n++;
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        rc = p11kms_store_step_rc(st, src);
        goto done;
    }
    if (more != NULL)
        *more = src == SQLITE_ROW;
    *out = arr;
    *count = n;
    arr = NULL;
done:
    sqlite3_finalize(s);
    free(arr);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Key policies                                                             */

typedef struct text_ctx {
    const char *a, *b;
} text_ctx;

static void bind_two_texts(sqlite3_stmt *s, const void *vctx)
{
    const text_ctx *c = vctx;

    p11kms_store_bind_text(s, 1, c->a);
    p11kms_store_bind_text(s, 2, c->b);
}

p11kms_store_rc p11kms_store_key_policy_put(p11kms_store *st, const char *key_id,
                                            const char *document)
{
    text_ctx c = {key_id, document};

    if (key_id == NULL || document == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st, "INSERT OR REPLACE INTO key_policies (key_id, document) VALUES (?1, ?2)",
                     bind_two_texts, &c, 0);
}

/* Runs a one-row text query with up to two text parameters. */
static p11kms_store_rc read_text(p11kms_store *st, const char *sql, const text_ctx *c, char **out)
{
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (out == NULL)
        goto done;
    *out = NULL;
    src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (src == SQLITE_OK) {
        bind_two_texts(s, c);
        src = sqlite3_step(s);
    }
    if (src == SQLITE_ROW)
        rc = p11kms_store_col_text(s, 0, out);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
done:
    sqlite3_finalize(s);
    return rc;
}

p11kms_store_rc p11kms_store_key_policy_get(p11kms_store *st, const char *key_id, char **document)
{
    text_ctx c = {key_id, NULL};

    return read_text(st, "SELECT document FROM key_policies WHERE key_id = ?1 ", &c, document);
}

/* ------------------------------------------------------------------------ */
/* Identity policies                                                        */

typedef struct ipol_ctx {
    int type;
    uint32_t id;
    const char *name, *doc;
    int64_t now;
} ipol_ctx;

static void bind_ipol(sqlite3_stmt *s, const void *vctx)
{
    const ipol_ctx *c = vctx;

    sqlite3_bind_int(s, 1, c->type);
    sqlite3_bind_int64(s, 2, c->id);
    p11kms_store_bind_text(s, 3, c->name);
    p11kms_store_bind_text(s, 4, c->doc);
    sqlite3_bind_int64(s, 5, c->now);
}

static int ptype_ok(p11kms_store_principal t)
{
    return t == P11KMS_STORE_PRINCIPAL_UID || t == P11KMS_STORE_PRINCIPAL_GID;
}

p11kms_store_rc p11kms_store_identity_policy_put(p11kms_store *st, p11kms_store_principal type,
                                                 uint32_t id, const char *name,
                                                 const char *document, int64_t now_ms)
{
    ipol_ctx c = {type, id, name, document, now_ms};

    if (!ptype_ok(type) || name == NULL || *name == '\0' || strlen(name) > 128 || document == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st,
                     "INSERT OR REPLACE INTO identity_policies (ptype, pid, name, document,"
                     " updated) VALUES (?1, ?2, ?3, ?4, ?5)",
                     bind_ipol, &c, 0);
}

p11kms_store_rc p11kms_store_identity_policy_delete(p11kms_store *st, p11kms_store_principal type,
                                                    uint32_t id, const char *name)
{
    ipol_ctx c = {type, id, name, NULL, 0};

    if (!ptype_ok(type) || name == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st,
                     "DELETE FROM identity_policies WHERE ptype = ?1 AND pid = ?2 AND name = ?3",
                     bind_ipol, &c, 1);
}

void p11kms_store_identity_policy_list_free(p11kms_store_identity_policy *p, size_t count)
{
    size_t i;

    for (i = 0; p != NULL && i < count; i++)
        free(p[i].document);
    free(p);
}

/* Collects identity-policy rows (ptype, pid, name, document, updated). */
static p11kms_store_rc ipol_collect(p11kms_store *st, sqlite3_stmt *s,
                                    p11kms_store_identity_policy **out, size_t *count)
{
    p11kms_store_identity_policy *arr = NULL;
    size_t n = 0, cap = 0;
    p11kms_store_rc rc = P11KMS_STORE_OK;
    int src;

    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (!grow((void **)&arr, &cap, n, sizeof(*arr))) {
            rc = P11KMS_STORE_NOMEM;
            goto done;
        }
        arr[n].type = (p11kms_store_principal)sqlite3_column_int(s, 0);
        arr[n].id = (uint32_t)sqlite3_column_int64(s, 1);
        p11kms_store_col_text_fixed(s, 2, arr[n].name, sizeof(arr[n].name));
        arr[n].updated_ms = sqlite3_column_int64(s, 4);
        rc = p11kms_store_col_text(s, 3, &arr[n].document);
        n++;
        if (rc != P11KMS_STORE_OK)
            goto done;
    }
    rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    *out = arr;
    *count = n;
    arr = NULL;
done:
    p11kms_store_identity_policy_list_free(arr, n);
    return rc;
}

p11kms_store_rc p11kms_store_identity_policy_get(p11kms_store *st, p11kms_store_principal type,
                                                 uint32_t id, const char *name, char **document)
{
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (!ptype_ok(type) || name == NULL || document == NULL)
        goto done;
    *document = NULL;
    src = sqlite3_prepare_v2(st->db,
                             "SELECT document FROM identity_policies WHERE ptype = ?1"
                             " AND pid = ?2 AND name = ?3",
                             -1, &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int(s, 1, type);
        sqlite3_bind_int64(s, 2, id);
        sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
        src = sqlite3_step(s);
    }
    if (src == SQLITE_ROW)
        rc = p11kms_store_col_text(s, 0, document);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
done:
    sqlite3_finalize(s);
    return rc;
}

p11kms_store_rc p11kms_store_identity_policy_list(p11kms_store *st, p11kms_store_principal type,
                                                  uint32_t id, p11kms_store_identity_policy **out,
                                                  size_t *count)
{
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (out == NULL || count == NULL || (type != P11KMS_STORE_PRINCIPAL_ANY && !ptype_ok(type)))
        goto done;
    src = sqlite3_prepare_v2(st->db,
                             "SELECT ptype, pid, name, document, updated FROM identity_policies"
                             " WHERE ?1 = 0 OR (ptype = ?1 AND pid = ?2)"
                             " ORDER BY ptype, pid, name",
                             -1, &s, NULL);
    rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    sqlite3_bind_int(s, 1, type);
    sqlite3_bind_int64(s, 2, id);
    rc = ipol_collect(st, s, out, count);
done:
    sqlite3_finalize(s);
    return rc;
}

p11kms_store_rc p11kms_store_identity_policy_for_caller(p11kms_store *st, uint32_t uid,
                                                        const uint32_t *gids, size_t ngids,
                                                        p11kms_store_identity_policy **out,
                                                        size_t *count)
{
    /* One query: the uid's rows plus those of every gid, the gids bound as
     * one ",g1,g2,...," text (no temp table, no per-gid round trip). */
    static const char sql[] =
        "SELECT ptype, pid, name, document, updated FROM identity_policies"
        " WHERE (ptype = 1 AND pid = ?1) OR (ptype = 2 AND instr(?2, ',' || pid || ',') > 0)"
        " ORDER BY ptype, pid, name";
    char *list = NULL;
    size_t i, off = 0;
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (out == NULL || count == NULL || (ngids > 0 && gids == NULL) || ngids > 65536)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    list = malloc(ngids * 11 + 2);
    if (list == NULL)
        goto done;
    list[off++] = ',';
    for (i = 0; i < ngids; i++)
        off += (size_t)sprintf(list + off, "%u,", (unsigned)gids[i]);
    list[off] = '\0';
    src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    sqlite3_bind_int64(s, 1, uid);
    sqlite3_bind_text(s, 2, list, -1, SQLITE_STATIC);
    rc = ipol_collect(st, s, out, count);
done:
    sqlite3_finalize(s);
    free(list);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Grants                                                                   */

#define GRANT_COLS                                                                                 \
    "grant_id, key_id, name, token, grantee, retiring, operations, constraints, issuer_uid,"       \
    " creation"

void p11kms_store_grant_clear(p11kms_store_grant *g)
{
    if (g == NULL)
        return;
    free(g->name);
    free(g->grant_token);
    free(g->grantee);
    free(g->retiring);
    free(g->operations_json);
    free(g->constraints_json);
    memset(g, 0, sizeof(*g));
}

static void bind_grant(sqlite3_stmt *s, const void *vctx)
{
    const p11kms_store_grant *g = vctx;

    p11kms_store_bind_text(s, 1, g->grant_id);
    p11kms_store_bind_text(s, 2, g->key_id);
    p11kms_store_bind_text(s, 3, g->name);
    p11kms_store_bind_text(s, 4, g->grant_token);
    p11kms_store_bind_text(s, 5, g->grantee);
    p11kms_store_bind_text(s, 6, g->retiring);
    p11kms_store_bind_text(s, 7, g->operations_json);
    p11kms_store_bind_text(s, 8, g->constraints_json);
    sqlite3_bind_int64(s, 9, g->issuer_uid);
    sqlite3_bind_int64(s, 10, g->creation_ms != 0 ? g->creation_ms : p11kms_time_now_ms());
}

p11kms_store_rc p11kms_store_grant_create(p11kms_store *st, const p11kms_store_grant *g)
{
    if (g == NULL || g->grant_id[0] == '\0' || g->key_id[0] == '\0' || g->grantee == NULL ||
        g->operations_json == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st,
                     "INSERT INTO grants (" GRANT_COLS ")"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                     bind_grant, g, 0);
}

static p11kms_store_rc grant_from_row(sqlite3_stmt *s, p11kms_store_grant *g)
{
    p11kms_store_rc rc;

    memset(g, 0, sizeof(*g));
    p11kms_store_col_text_fixed(s, 0, g->grant_id, sizeof(g->grant_id));
    p11kms_store_col_text_fixed(s, 1, g->key_id, sizeof(g->key_id));
    g->issuer_uid = (uint32_t)sqlite3_column_int64(s, 8);
    g->creation_ms = sqlite3_column_int64(s, 9);
    rc = p11kms_store_col_text(s, 2, &g->name);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_text(s, 3, &g->grant_token);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_text(s, 4, &g->grantee);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_text(s, 5, &g->retiring);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_text(s, 6, &g->operations_json);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_text(s, 7, &g->constraints_json);
    if (rc != P11KMS_STORE_OK)
        p11kms_store_grant_clear(g);
    return rc;
}

static p11kms_store_rc grant_get_by(p11kms_store *st, const char *sql, const char *value,
                                    p11kms_store_grant *out)
{
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (value == NULL || out == NULL)
        goto done;
    memset(out, 0, sizeof(*out));
    src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, value, -1, SQLITE_STATIC);
        src = sqlite3_step(s);
    }
    if (src == SQLITE_ROW)
        rc = grant_from_row(s, out);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
done:
    sqlite3_finalize(s);
    return rc;
}

p11kms_store_rc p11kms_store_grant_get(p11kms_store *st, const char *grant_id,
                                       p11kms_store_grant *out)
{
    return grant_get_by(st, "SELECT " GRANT_COLS " FROM grants WHERE grant_id = ?1", grant_id, out);
}

p11kms_store_rc p11kms_store_grant_get_by_token(p11kms_store *st, const char *token,
                                                p11kms_store_grant *out)
{
    return grant_get_by(st, "SELECT " GRANT_COLS " FROM grants WHERE token = ?1", token, out);
}

p11kms_store_rc p11kms_store_grant_delete(p11kms_store *st, const char *grant_id)
{
    text_ctx c = {grant_id, NULL};

    if (grant_id == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st, "DELETE FROM grants WHERE grant_id = ?1", bind_two_texts, &c, 1);
}

void p11kms_store_grant_list_free(p11kms_store_grant *g, size_t count)
{
    size_t i;

    for (i = 0; g != NULL && i < count; i++)
        p11kms_store_grant_clear(&g[i]);
    free(g);
}

p11kms_store_rc p11kms_store_grant_list(p11kms_store *st, const char *key_id, const char *grantee,
                                        const char *after, size_t limit, p11kms_store_grant **out,
                                        size_t *count, int *more)
{
    /* One statement per filter shape, so each can use its index. */
    static const char *const sqls[4] = {
        "SELECT " GRANT_COLS " FROM grants WHERE grant_id > ?1 ORDER BY grant_id LIMIT ?4",
        "SELECT " GRANT_COLS " FROM grants WHERE grant_id > ?1 AND key_id = ?2"
        " ORDER BY grant_id LIMIT ?4",
        "SELECT " GRANT_COLS " FROM grants WHERE grant_id > ?1 AND grantee = ?3"
        " ORDER BY grant_id LIMIT ?4",
        "SELECT " GRANT_COLS " FROM grants WHERE grant_id > ?1 AND key_id = ?2"
        " AND grantee = ?3 ORDER BY grant_id LIMIT ?4",
    };
    const char *sql = sqls[(key_id != NULL ? 1 : 0) | (grantee != NULL ? 2 : 0)];
    p11kms_store_grant *arr = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL;
    int src = SQLITE_DONE;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (out == NULL || count == NULL)
        goto done;
    limit = clamp_limit(limit);
    src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    sqlite3_bind_text(s, 1, after != NULL ? after : "", -1, SQLITE_STATIC);
    p11kms_store_bind_text(s, 2, key_id);
    p11kms_store_bind_text(s, 3, grantee);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)limit + 1);
    while ((src = sqlite3_step(s)) == SQLITE_ROW && n < limit) {
        if (!grow((void **)&arr, &cap, n, sizeof(*arr))) {
            rc = P11KMS_STORE_NOMEM;
            goto done;
        }
        rc = grant_from_row(s, &arr[n]);
        if (rc != P11KMS_STORE_OK)
            goto done;
        n++;
    }
    rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (more != NULL)
        *more = src == SQLITE_ROW;
    *out = arr;
    *count = n;
    arr = NULL;
done:
    sqlite3_finalize(s);
    p11kms_store_grant_list_free(arr, n);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Generic objects                                                          */

#define OBJECT_COLS                                                                                \
    "object_id, class, label, app_id, attrs, is_private, owner_uid, creation, updated"

void p11kms_store_object_clear(p11kms_store_object *o)
{
    if (o == NULL)
        return;
    free(o->label);
    free(o->app_id);
    free(o->attrs);
    memset(o, 0, sizeof(*o));
}

static void bind_object(sqlite3_stmt *s, const void *vctx)
{
    const p11kms_store_object *o = vctx;
    int64_t now = p11kms_time_now_ms();

    p11kms_store_bind_text(s, 1, o->object_id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)o->object_class);
    p11kms_store_bind_blob(s, 3, o->label, o->label_len);
    p11kms_store_bind_blob(s, 4, o->app_id, o->app_id_len);
    p11kms_store_bind_blob(s, 5, o->attrs, o->attrs_len);
    sqlite3_bind_int(s, 6, o->is_private != 0);
    sqlite3_bind_int64(s, 7, o->owner_uid);
    sqlite3_bind_int64(s, 8, o->creation_ms != 0 ? o->creation_ms : now);
    sqlite3_bind_int64(s, 9, now);
}

p11kms_store_rc p11kms_store_object_create(p11kms_store *st, const p11kms_store_object *o)
{
    if (o == NULL || o->object_id[0] == '\0')
        return P11KMS_STORE_INVALID;
    return run_write(st,
                     "INSERT INTO objects (" OBJECT_COLS ")"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     bind_object, o, 0);
}

p11kms_store_rc p11kms_store_object_update(p11kms_store *st, const p11kms_store_object *o)
{
    if (o == NULL || o->object_id[0] == '\0')
        return P11KMS_STORE_INVALID;
    return run_write(st,
                     "UPDATE objects SET label = ?3, app_id = ?4, attrs = ?5, is_private = ?6,"
                     " updated = ?9 WHERE object_id = ?1",
                     bind_object, o, 1);
}

p11kms_store_rc p11kms_store_object_delete(p11kms_store *st, const char *object_id)
{
    text_ctx c = {object_id, NULL};

    if (object_id == NULL)
        return P11KMS_STORE_INVALID;
    return run_write(st, "DELETE FROM objects WHERE object_id = ?1", bind_two_texts, &c, 1);
}

static p11kms_store_rc object_from_row(sqlite3_stmt *s, p11kms_store_object *o)
{
    p11kms_store_rc rc;

    memset(o, 0, sizeof(*o));
    p11kms_store_col_text_fixed(s, 0, o->object_id, sizeof(o->object_id));
    o->object_class = (uint64_t)sqlite3_column_int64(s, 1);
    o->is_private = sqlite3_column_int(s, 5);
    o->owner_uid = (uint32_t)sqlite3_column_int64(s, 6);
    o->creation_ms = sqlite3_column_int64(s, 7);
    o->updated_ms = sqlite3_column_int64(s, 8);
    rc = p11kms_store_col_blob(s, 2, &o->label, &o->label_len);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_blob(s, 3, &o->app_id, &o->app_id_len);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_blob(s, 4, &o->attrs, &o->attrs_len);
    if (rc != P11KMS_STORE_OK)
        p11kms_store_object_clear(o);
    return rc;
}

p11kms_store_rc p11kms_store_object_get(p11kms_store *st, const char *object_id,
                                        p11kms_store_object *out)
{
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (object_id == NULL || out == NULL)
        goto done;
    memset(out, 0, sizeof(*out));
    src = sqlite3_prepare_v2(st->db, "SELECT " OBJECT_COLS " FROM objects WHERE object_id = ?1", -1,
                             &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, object_id, -1, SQLITE_STATIC);
        src = sqlite3_step(s);
    }
    if (src == SQLITE_ROW)
        rc = object_from_row(s, out);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
done:
    sqlite3_finalize(s);
    return rc;
}

void p11kms_store_object_list_free(p11kms_store_object *o, size_t count)
{
    size_t i;

    for (i = 0; o != NULL && i < count; i++)
        p11kms_store_object_clear(&o[i]);
    free(o);
}

static void bind_object_filter(sqlite3_stmt *s, const p11kms_store_object_filter *f)
{
    sqlite3_bind_int(s, 3, f != NULL && f->match_class);
    sqlite3_bind_int64(s, 4, f != NULL ? (sqlite3_int64)f->object_class : 0);
    sqlite3_bind_int(s, 5, f != NULL && f->match_label);
    if (f != NULL && f->match_label)
        p11kms_store_bind_blob(s, 6, f->label, f->label_len);
    sqlite3_bind_int(s, 7, f != NULL && f->match_app_id);
    if (f != NULL && f->match_app_id)
        p11kms_store_bind_blob(s, 8, f->app_id, f->app_id_len);
}

p11kms_store_rc p11kms_store_object_list(p11kms_store *st, const p11kms_store_object_filter *f,
                                         const char *after, size_t limit, p11kms_store_object **out,
                                         size_t *count, int *more)
{
    static const char sql[] = "SELECT " OBJECT_COLS " FROM objects WHERE object_id > ?1"
                              " AND (?3 = 0 OR class = ?4) AND (?5 = 0 OR label IS ?6)"
                              " AND (?7 = 0 OR app_id IS ?8) ORDER BY object_id LIMIT ?2";
    p11kms_store_object *arr = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL;
    int src = SQLITE_DONE;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (out == NULL || count == NULL)
        goto done;
    limit = clamp_limit(limit);
    src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    sqlite3_bind_text(s, 1, after != NULL ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)limit + 1);
    bind_object_filter(s, f);
    while ((src = sqlite3_step(s)) == SQLITE_ROW && n < limit) {
        if (!grow((void **)&arr, &cap, n, sizeof(*arr))) {
            rc = P11KMS_STORE_NOMEM;
            goto done;
        }
        rc = object_from_row(s, &arr[n]);
        if (rc != P11KMS_STORE_OK)
            goto done;
        n++;
    }
    rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (more != NULL)
        *more = src == SQLITE_ROW;
    *out = arr;
    *count = n;
    arr = NULL;
done:
    sqlite3_finalize(s);
    p11kms_store_object_list_free(arr, n);
    return rc;
}
