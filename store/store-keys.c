/*
 * store/store-keys.c — CMKs and their versions.
 *
 * Material is sealed under the root key with AAD = canonical (key id,
 * version, spec): a ciphertext copied onto another key, version or spec
 * fails to open (CRYPTO), and plaintext never reaches SQLite.  Creation
 * inserts the key and version 1 in one transaction; rotation re-checks the
 * state and current version under the write lock, so concurrent rotations
 * neither lose a version nor leave a gap.  Destruction cascades to
 * versions, aliases, grants and the policy with secure_delete on, then
 * truncates the WAL so the ciphertext leaves the -wal file as well.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "store/store-priv.h"

#define LIST_DEFAULT_LIMIT 1000
#define LIST_MAX_LIMIT     100000

/* Canonical AAD of a version's material. */
static p11kms_store_rc material_aad(const char *key_id, uint32_t version, const char *spec,
                                    unsigned char **aad, size_t *len)
{
    p11kms_buf b = P11KMS_BUF_INIT;

    p11kms_buf_append_lp_str(&b, "p11kms key material v1");
    p11kms_buf_append_lp_str(&b, key_id);
    p11kms_buf_append_u32be(&b, version);
    p11kms_buf_append_lp_str(&b, spec);
    *aad = p11kms_buf_detach(&b, len);
    return *aad != NULL ? P11KMS_STORE_OK : P11KMS_STORE_NOMEM;
}

static p11kms_store_rc seal_material(p11kms_store *st, const char *key_id, uint32_t version,
                                     const char *spec, const unsigned char *material, size_t len,
                                     unsigned char **out, size_t *outlen)
{
    unsigned char *aad = NULL;
    size_t aadlen = 0;
    p11kms_store_rc rc = material_aad(key_id, version, spec, &aad, &aadlen);

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_wrap(st, aad, aadlen, material, len, out, outlen);
    OPENSSL_free(aad);
    return rc;
}

static int text_ok(const char *s, size_t max)
{
    return s != NULL && *s != '\0' && strlen(s) < max;
}

void p11kms_store_key_clear(p11kms_store_key *k)
{
    if (k == NULL)
        return;
    free(k->description);
    free(k->app_id);
    free(k->app_label);
    free(k->attrs);
    memset(k, 0, sizeof(*k));
}

p11kms_store_rc p11kms_store_key_from_row(sqlite3_stmt *s, p11kms_store_key *k)
{
    p11kms_store_rc rc;

    memset(k, 0, sizeof(*k));
    p11kms_store_col_text_fixed(s, 0, k->key_id, sizeof(k->key_id));
    p11kms_store_col_text_fixed(s, 1, k->key_spec, sizeof(k->key_spec));
    p11kms_store_col_text_fixed(s, 2, k->key_usage, sizeof(k->key_usage));
    p11kms_store_col_text_fixed(s, 3, k->key_state, sizeof(k->key_state));
    p11kms_store_col_text_fixed(s, 4, k->origin, sizeof(k->origin));
    p11kms_store_col_text_fixed(s, 5, k->key_manager, sizeof(k->key_manager));
    k->creation_ms = sqlite3_column_int64(s, 7);
    k->deletion_ms = sqlite3_column_int64(s, 8);
    k->pending_window_days = (uint32_t)sqlite3_column_int64(s, 9);
    k->rotation_enabled = sqlite3_column_int(s, 10);
    k->rotation_period_days = (uint32_t)sqlite3_column_int64(s, 11);
    k->next_rotation_ms = sqlite3_column_int64(s, 12);
    k->last_rotation_ms = sqlite3_column_int64(s, 13);
    k->current_version = (uint32_t)sqlite3_column_int64(s, 14);
    k->owner_uid = (uint32_t)sqlite3_column_int64(s, 15);
    k->owner_gid = (uint32_t)sqlite3_column_int64(s, 16);
    k->updated_ms = sqlite3_column_int64(s, 20);
    rc = p11kms_store_col_text(s, 6, &k->description);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_blob(s, 17, &k->app_id, &k->app_id_len);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_blob(s, 18, &k->app_label, &k->app_label_len);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_col_blob(s, 19, &k->attrs, &k->attrs_len);
    if (rc != P11KMS_STORE_OK)
        p11kms_store_key_clear(k);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Create                                                                   */

typedef struct create_arg {
    const p11kms_store_key *k;
    const unsigned char *sealed;
    size_t sealed_len;
    const unsigned char *pub;
    size_t pub_len;
    int64_t now;
} create_arg;

static p11kms_store_rc insert_version(p11kms_store *st, const char *key_id, uint32_t version,
                                      int64_t now, const unsigned char *sealed, size_t sealed_len,
                                      const unsigned char *pub, size_t pub_len)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    sqlite3_stmt *s = p11kms_store_stmt(st, STMT_VERSION_INSERT, &rc);

    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, version);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_blob64(s, 4, sealed, sealed_len, SQLITE_STATIC);
    p11kms_store_bind_blob(s, 5, pub, pub_len);
    rc = p11kms_store_step_rc(st, sqlite3_step(s));
done:
    p11kms_store_stmt_done(s);
    return rc;
}

static p11kms_store_rc create_tx(p11kms_store *st, void *varg)
{
    const create_arg *a = varg;
    const p11kms_store_key *k = a->k;
    p11kms_store_rc rc = P11KMS_STORE_OK;
    sqlite3_stmt *s = p11kms_store_stmt(st, STMT_KEY_INSERT, &rc);

    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, k->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, k->key_spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, k->key_usage, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, k->key_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, k->origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, k->key_manager, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, k->description != NULL ? k->description : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, k->creation_ms != 0 ? k->creation_ms : a->now);
    sqlite3_bind_int64(s, 9, k->deletion_ms);
    sqlite3_bind_int64(s, 10, k->pending_window_days);
    sqlite3_bind_int(s, 11, k->rotation_enabled != 0);
    sqlite3_bind_int64(s, 12, k->rotation_period_days);
    sqlite3_bind_int64(s, 13, k->next_rotation_ms);
    sqlite3_bind_int64(s, 14, k->last_rotation_ms);
    sqlite3_bind_int64(s, 15, k->owner_uid);
    sqlite3_bind_int64(s, 16, k->owner_gid);
    p11kms_store_bind_blob(s, 17, k->app_id, k->app_id_len);
    p11kms_store_bind_blob(s, 18, k->app_label, k->app_label_len);
    p11kms_store_bind_blob(s, 19, k->attrs, k->attrs_len);
    sqlite3_bind_int64(s, 20, a->now);
    rc = p11kms_store_step_rc(st, sqlite3_step(s));
    p11kms_store_stmt_done(s);
    if (rc == P11KMS_STORE_OK)
        rc = insert_version(st, k->key_id, 1, a->now, a->sealed, a->sealed_len, a->pub, a->pub_len);
    p11kms_store_mark_changed(st);
done:
    return rc;
}

static int key_fields_ok(const p11kms_store_key *k)
{
    return p11kms_uuid_is_valid(k->key_id) && text_ok(k->key_spec, sizeof(k->key_spec)) &&
           text_ok(k->key_usage, sizeof(k->key_usage)) &&
           text_ok(k->key_state, sizeof(k->key_state)) && text_ok(k->origin, sizeof(k->origin)) &&
           text_ok(k->key_manager, sizeof(k->key_manager));
}

p11kms_store_rc p11kms_store_key_create(p11kms_store *st, const p11kms_store_key *k,
                                        const unsigned char *material, size_t material_len,
                                        const unsigned char *public_der, size_t public_len)
{
    create_arg a = {0};
    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (k == NULL || material == NULL || material_len == 0 || !key_fields_ok(k))
        goto done;
    /* Seal before taking the write lock: crypto outside the critical path. */
    rc = seal_material(st, k->key_id, 1, k->key_spec, material, material_len, &sealed, &sealed_len);
    if (rc != P11KMS_STORE_OK)
        goto done;
    a = (create_arg){k, sealed, sealed_len, public_der, public_len, p11kms_time_now_ms()};
    rc = p11kms_store_atomic(st, create_tx, &a);
done:
    free(sealed);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Get / update                                                             */

p11kms_store_rc p11kms_store_key_get(p11kms_store *st, const char *key_id, p11kms_store_key *out)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (key_id == NULL || out == NULL)
        goto done;
    rc = P11KMS_STORE_OK;
    s = p11kms_store_stmt(st, STMT_KEY_GET, &rc);
    if (s == NULL)
        goto done;
    /* TRANSIENT: key_id may point into *out (re-reading a key in place). */
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_TRANSIENT);
    memset(out, 0, sizeof(*out));
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        rc = p11kms_store_key_from_row(s, out);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
done:
    p11kms_store_stmt_done(s);
    return rc;
}

/* State row used by update/rotate re-checks. */
typedef struct key_state_row {
    char state[32];
    char spec[32];
    uint32_t current;
    int rotation_enabled;
    uint32_t period;
} key_state_row;

static p11kms_store_rc key_state_get(p11kms_store *st, const char *key_id, key_state_row *r)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    sqlite3_stmt *s = p11kms_store_stmt(st, STMT_KEY_STATE, &rc);
    int src;

    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
    src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
        goto done;
    }
    p11kms_store_col_text_fixed(s, 0, r->state, sizeof(r->state));
    r->current = (uint32_t)sqlite3_column_int64(s, 1);
    p11kms_store_col_text_fixed(s, 2, r->spec, sizeof(r->spec));
    r->rotation_enabled = sqlite3_column_int(s, 3);
    r->period = (uint32_t)sqlite3_column_int64(s, 4);
done:
    p11kms_store_stmt_done(s);
    return rc;
}

typedef struct update_arg {
    const p11kms_store_key *k;
    const char *expect_state;
} update_arg;

static p11kms_store_rc update_tx(p11kms_store *st, void *varg)
{
    const update_arg *a = varg;
    const p11kms_store_key *k = a->k;
    key_state_row r;
    p11kms_store_rc rc = key_state_get(st, k->key_id, &r);
    sqlite3_stmt *s = NULL;

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (a->expect_state != NULL && strcmp(a->expect_state, r.state) != 0) {
        rc = P11KMS_STORE_CONFLICT;
        goto done;
    }
    s = p11kms_store_stmt(st, STMT_KEY_UPDATE, &rc);
    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, k->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, k->description != NULL ? k->description : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, k->key_state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, k->deletion_ms);
    sqlite3_bind_int64(s, 5, k->pending_window_days);
    sqlite3_bind_int(s, 6, k->rotation_enabled != 0);
    sqlite3_bind_int64(s, 7, k->rotation_period_days);
    sqlite3_bind_int64(s, 8, k->next_rotation_ms);
    sqlite3_bind_int64(s, 9, k->last_rotation_ms);
    p11kms_store_bind_blob(s, 10, k->app_id, k->app_id_len);
    p11kms_store_bind_blob(s, 11, k->app_label, k->app_label_len);
    p11kms_store_bind_blob(s, 12, k->attrs, k->attrs_len);
    sqlite3_bind_int64(s, 13, p11kms_time_now_ms());
    rc = p11kms_store_step_rc(st, sqlite3_step(s));
    p11kms_store_mark_changed(st);
done:
    p11kms_store_stmt_done(s);
    return rc;
}

p11kms_store_rc p11kms_store_key_update(p11kms_store *st, const p11kms_store_key *k,
                                        const char *expect_state)
{
    update_arg a = {k, expect_state};

    if (k == NULL || !text_ok(k->key_id, sizeof(k->key_id)) ||
        !text_ok(k->key_state, sizeof(k->key_state)))
        return P11KMS_STORE_INVALID;
    return p11kms_store_atomic(st, update_tx, &a);
}

/* ------------------------------------------------------------------------ */
/* Rotate                                                                   */

typedef struct rotate_arg {
    const char *key_id;
    uint32_t expect_current;
    int64_t now;
    const unsigned char *material, *pub;
    size_t material_len, pub_len;
    uint32_t new_version;
} rotate_arg;

static p11kms_store_rc set_current(p11kms_store *st, const rotate_arg *a, const key_state_row *r)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    sqlite3_stmt *s = p11kms_store_stmt(st, STMT_KEY_SET_CURRENT, &rc);
    int64_t next = 0;

    if (s == NULL)
        goto done;
    if (r->rotation_enabled && !p11kms_time_add_days(a->now, r->period, &next))
        next = INT64_MAX;
    sqlite3_bind_text(s, 1, a->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, a->new_version);
    sqlite3_bind_int64(s, 3, a->now);
    sqlite3_bind_int64(s, 4, next);
    sqlite3_bind_int64(s, 5, a->now);
    rc = p11kms_store_step_rc(st, sqlite3_step(s));
done:
    p11kms_store_stmt_done(s);
    return rc;
}

static p11kms_store_rc rotate_tx(p11kms_store *st, void *varg)
{
    rotate_arg *a = varg;
    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    key_state_row r;
    p11kms_store_rc rc = key_state_get(st, a->key_id, &r);

    if (rc != P11KMS_STORE_OK)
        goto done;
    if (strcmp(r.state, "Enabled") != 0 ||
        (a->expect_current != 0 && a->expect_current != r.current) || r.current == UINT32_MAX) {
        rc = P11KMS_STORE_CONFLICT;
        goto done;
    }
    a->new_version = r.current + 1;
    rc = seal_material(st, a->key_id, a->new_version, r.spec, a->material, a->material_len, &sealed,
                       &sealed_len);
    if (rc == P11KMS_STORE_OK)
        rc = insert_version(st, a->key_id, a->new_version, a->now, sealed, sealed_len, a->pub,
                            a->pub_len);
    if (rc == P11KMS_STORE_OK)
        rc = set_current(st, a, &r);
    p11kms_store_mark_changed(st);
done:
    free(sealed);
    return rc;
}

p11kms_store_rc p11kms_store_key_rotate(p11kms_store *st, const char *key_id,
                                        uint32_t expect_current, int64_t now_ms,
                                        const unsigned char *material, size_t material_len,
                                        const unsigned char *public_der, size_t public_len,
                                        uint32_t *new_version)
{
    rotate_arg a = {key_id,     expect_current, now_ms,     material,
                    public_der, material_len,   public_len, 0};
    p11kms_store_rc rc = p11kms_store_enter(st, 1);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (key_id == NULL || material == NULL || material_len == 0)
        goto done;
    rc = P11KMS_STORE_NOT_LOGGED_IN;
    if (st->root_key == NULL)
        goto done;
    rc = p11kms_store_atomic(st, rotate_tx, &a);
    if (rc == P11KMS_STORE_OK && new_version != NULL)
        *new_version = a.new_version;
done:
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Destroy                                                                  */

static p11kms_store_rc destroy_tx(p11kms_store *st, void *varg)
{
    const char *key_id = varg;
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(st->db, "DELETE FROM keys WHERE key_id = ?1", -1, &s, NULL);
    p11kms_store_rc rc;

    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
        src = sqlite3_step(s);
    }
    rc = p11kms_store_step_rc(st, src);
    if (rc == P11KMS_STORE_OK && sqlite3_changes(st->db) == 0)
        rc = P11KMS_STORE_NOTFOUND;
    sqlite3_finalize(s);
    if (rc == P11KMS_STORE_OK) {
        st->want_truncate = 1;
        p11kms_store_mark_changed(st);
    }
    return rc;
}

p11kms_store_rc p11kms_store_key_destroy(p11kms_store *st, const char *key_id)
{
    if (key_id == NULL)
        return P11KMS_STORE_INVALID;
    return p11kms_store_atomic(st, destroy_tx, (void *)key_id);
}

/* ------------------------------------------------------------------------ */
/* Versions and material                                                    */

void p11kms_store_version_clear(p11kms_store_version *v)
{
    if (v == NULL)
        return;
    free(v->public_der);
    memset(v, 0, sizeof(*v));
}

static p11kms_store_rc version_from_row(sqlite3_stmt *s, p11kms_store_version *v)
{
    memset(v, 0, sizeof(*v));
    p11kms_store_col_text_fixed(s, 0, v->key_id, sizeof(v->key_id));
    v->version = (uint32_t)sqlite3_column_int64(s, 1);
    v->creation_ms = sqlite3_column_int64(s, 2);
    return p11kms_store_col_blob(s, 3, &v->public_der, &v->public_len);
}

p11kms_store_rc p11kms_store_version_get(p11kms_store *st, const char *key_id, uint32_t version,
                                         p11kms_store_version *out)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (key_id == NULL || out == NULL)
        goto done;
    rc = P11KMS_STORE_OK;
    s = p11kms_store_stmt(st, STMT_VERSION_GET, &rc);
    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, version);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        rc = version_from_row(s, out);
    else
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
done:
    p11kms_store_stmt_done(s);
    return rc;
}

void p11kms_store_version_list_free(p11kms_store_version *v, size_t count)
{
    size_t i;

    for (i = 0; v != NULL && i < count; i++)
        p11kms_store_version_clear(&v[i]);
    free(v);
}

p11kms_store_rc p11kms_store_version_list(p11kms_store *st, const char *key_id,
                                          p11kms_store_version **out, size_t *count)
{
    p11kms_store_version *arr = NULL, *tmp;
    size_t n = 0, cap = 0;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src = SQLITE_DONE;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (key_id == NULL || out == NULL || count == NULL)
        goto done;
    rc = P11KMS_STORE_OK;
    s = p11kms_store_stmt(st, STMT_VERSION_LIST, &rc);
    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
    while (rc == P11KMS_STORE_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            tmp = realloc(arr, cap * sizeof(*arr));
            if (tmp == NULL) {
                rc = P11KMS_STORE_NOMEM;
                break;
            }
            arr = tmp;
        }
        rc = version_from_row(s, &arr[n]);
        if (rc == P11KMS_STORE_OK)
            n++;
    }
    if (rc == P11KMS_STORE_OK && src != SQLITE_DONE)
        rc = p11kms_store_step_rc(st, src);
    if (rc == P11KMS_STORE_OK && n == 0)
        rc = P11KMS_STORE_NOTFOUND;
    if (rc == P11KMS_STORE_OK) {
        *out = arr;
        *count = n;
        arr = NULL;
    }
done:
    p11kms_store_stmt_done(s);
    p11kms_store_version_list_free(arr, n);
    return rc;
}

p11kms_store_rc p11kms_store_version_material(p11kms_store *st, const char *key_id,
                                              uint32_t version, unsigned char *out, size_t cap,
                                              size_t *outlen)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    unsigned char *aad = NULL;
    size_t aadlen = 0;
    sqlite3_stmt *s = NULL;
    char spec[32];
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (key_id == NULL || outlen == NULL)
        goto done;
    rc = P11KMS_STORE_NOT_LOGGED_IN;
    if (st->root_key == NULL)
        goto done;
    rc = P11KMS_STORE_OK;
    s = p11kms_store_stmt(st, STMT_MATERIAL_GET, &rc);
    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, version);
    src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? P11KMS_STORE_NOTFOUND : p11kms_store_step_rc(st, src);
        goto done;
    }
    p11kms_store_col_text_fixed(s, 1, spec, sizeof(spec));
    rc = material_aad(key_id, version, spec, &aad, &aadlen);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_unwrap(st, aad, aadlen, sqlite3_column_blob(s, 0),
                                 (size_t)sqlite3_column_bytes(s, 0), out, cap, outlen);
done:
    p11kms_store_stmt_done(s);
    OPENSSL_free(aad);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Root-key rotation: re-seal every version                                 */

typedef struct sealed_row {
    char key_id[P11KMS_STORE_ID_LEN + 1];
    char spec[32];
    uint32_t version;
    unsigned char *blob;
    size_t len;
} sealed_row;

static void sealed_rows_free(sealed_row *r, size_t n)
{
    for (size_t i = 0; r != NULL && i < n; i++)
        free(r[i].blob);
    free(r);
}

/* Reads every sealed row first: updating a table while a SELECT walks it
 * is not well defined in SQLite. */
static p11kms_store_rc sealed_rows_load(p11kms_store *st, sealed_row **out, size_t *count)
{
    sealed_row *arr = NULL, *tmp;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(st->db,
                                 "SELECT v.key_id, k.key_spec, v.version, v.material"
                                 " FROM key_versions v JOIN keys k ON k.key_id = v.key_id",
                                 -1, &s, NULL);
    p11kms_store_rc rc = p11kms_store_step_rc(st, src);

    while (rc == P11KMS_STORE_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            tmp = realloc(arr, cap * sizeof(*arr));
            if (tmp == NULL) {
                rc = P11KMS_STORE_NOMEM;
                break;
            }
            arr = tmp;
        }
        p11kms_store_col_text_fixed(s, 0, arr[n].key_id, sizeof(arr[n].key_id));
        p11kms_store_col_text_fixed(s, 1, arr[n].spec, sizeof(arr[n].spec));
        arr[n].version = (uint32_t)sqlite3_column_int64(s, 2);
        rc = p11kms_store_col_blob(s, 3, &arr[n].blob, &arr[n].len);
        n += rc == P11KMS_STORE_OK;
    }
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_step_rc(st, src);
    sqlite3_finalize(s);
    if (rc != P11KMS_STORE_OK) {
        sealed_rows_free(arr, n);
        return rc;
    }
    *out = arr;
    *count = n;
    return rc;
}

static p11kms_store_rc reseal_one(p11kms_store *st, sqlite3_stmt *upd, const sealed_row *r,
                                  const unsigned char *old_root)
{
    unsigned char *aad = NULL, *plain = NULL, *sealed = NULL;
    size_t aadlen = 0, n = 0, slen = 0;
    p11kms_store_rc rc = material_aad(r->key_id, r->version, r->spec, &aad, &aadlen);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    plain = p11kms_secmem_alloc(r->len);
    if (plain == NULL)
        goto done;
    rc = p11kms_store_open_with(old_root, aad, aadlen, r->blob, r->len, plain, r->len, &n);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_wrap(st, aad, aadlen, plain, n, &sealed, &slen);
    if (rc != P11KMS_STORE_OK)
        goto done;
    sqlite3_bind_blob64(upd, 1, sealed, slen, SQLITE_STATIC);
    sqlite3_bind_text(upd, 2, r->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(upd, 3, r->version);
    rc = p11kms_store_step_rc(st, sqlite3_step(upd));
    sqlite3_reset(upd);
done:
    p11kms_secmem_free(plain, r->len);
    free(sealed);
    OPENSSL_free(aad);
    return rc;
}

p11kms_store_rc p11kms_store_reseal_material(p11kms_store *st, const unsigned char *old_root)
{
    sealed_row *rows = NULL;
    size_t n = 0, i;
    sqlite3_stmt *upd = NULL;
    p11kms_store_rc rc = sealed_rows_load(st, &rows, &n);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = p11kms_store_step_rc(st, sqlite3_prepare_v2(st->db,
                                                     "UPDATE key_versions SET material = ?1"
                                                     " WHERE key_id = ?2 AND version = ?3",
                                                     -1, &upd, NULL));
    for (i = 0; i < n && rc == P11KMS_STORE_OK; i++)
        rc = reseal_one(st, upd, &rows[i], old_root);
    p11kms_store_mark_changed(st);
    st->want_truncate = 1; /* old ciphertexts must leave the WAL */
done:
    sqlite3_finalize(upd);
    sealed_rows_free(rows, n);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Lists                                                                    */

enum {
    KF_KEY_ID,
    KF_ALIAS,
    KF_SPEC,
    KF_USAGE,
    KF_STATE,
    KF_MANAGER,
    KF_NOT_PENDING,
    KF_APP_ID,
    KF_APP_LABEL,
    KF_ROTATION_DUE,
    KF_DELETION_DUE
};

/* SQL condition per filter bit; parameter ?N is bit + 3 (?1 after, ?2 limit). */
static const char *const key_filter_sql[P11KMS_STORE_KEY_FILTER_BITS] = {
    [KF_KEY_ID] = " AND k.key_id = ?3",
    [KF_ALIAS] = " AND k.key_id = (SELECT key_id FROM aliases WHERE name = ?4)",
    [KF_SPEC] = " AND k.key_spec = ?5",
    [KF_USAGE] = " AND k.key_usage = ?6",
    [KF_STATE] = " AND k.key_state = ?7",
    [KF_MANAGER] = " AND k.key_manager = ?8",
    [KF_NOT_PENDING] = " AND k.key_state <> 'PendingDeletion'",
    [KF_APP_ID] = " AND k.app_id IS ?10",
    [KF_APP_LABEL] = " AND k.app_label IS ?11",
    [KF_ROTATION_DUE] = " AND k.rotation_enabled = 1 AND k.next_rotation > 0"
                        " AND k.next_rotation <= ?12",
    [KF_DELETION_DUE] = " AND k.key_state = 'PendingDeletion' AND k.deletion > 0"
                        " AND k.deletion <= ?13",
};

static unsigned key_filter_mask(const p11kms_store_key_filter *f)
{
    unsigned m = 0;

    if (f == NULL)
        return 1u << KF_NOT_PENDING;
    m |= f->key_id ? 1u << KF_KEY_ID : 0;
    m |= f->alias ? 1u << KF_ALIAS : 0;
    m |= f->key_spec ? 1u << KF_SPEC : 0;
    m |= f->key_usage ? 1u << KF_USAGE : 0;
    m |= f->key_state ? 1u << KF_STATE : 0;
    m |= f->key_manager ? 1u << KF_MANAGER : 0;
    m |= (f->key_state == NULL && !f->include_pending_deletion && f->deletion_due_before_ms <= 0)
             ? 1u << KF_NOT_PENDING
             : 0;
    m |= f->match_app_id ? 1u << KF_APP_ID : 0;
    m |= f->match_app_label ? 1u << KF_APP_LABEL : 0;
    m |= f->rotation_due_before_ms > 0 ? 1u << KF_ROTATION_DUE : 0;
    m |= f->deletion_due_before_ms > 0 ? 1u << KF_DELETION_DUE : 0;
    return m;
}

static sqlite3_stmt *key_list_stmt(p11kms_store *st, unsigned mask, p11kms_store_rc *rc)
{
    char sql[2048];
    size_t off;
    unsigned i;

    if (st->cache->key_list[mask] != NULL)
        return st->cache->key_list[mask];
    off = (size_t)snprintf(sql, sizeof(sql),
                           "SELECT " P11KMS_STORE_KEY_COLS " FROM keys k WHERE k.key_id > ?1");
    for (i = 0; i < P11KMS_STORE_KEY_FILTER_BITS; i++) {
        if (mask & (1u << i))
            off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s", key_filter_sql[i]);
    }
    snprintf(sql + off, sizeof(sql) - off, " ORDER BY k.key_id LIMIT ?2");
    return p11kms_store_stmt_cached(st, &st->cache->key_list[mask], sql, rc);
}

static void key_list_bind(sqlite3_stmt *s, const p11kms_store_key_filter *f)
{
    if (f == NULL)
        return;
    p11kms_store_bind_text(s, 3, f->key_id);
    p11kms_store_bind_text(s, 4, f->alias);
    p11kms_store_bind_text(s, 5, f->key_spec);
    p11kms_store_bind_text(s, 6, f->key_usage);
    p11kms_store_bind_text(s, 7, f->key_state);
    p11kms_store_bind_text(s, 8, f->key_manager);
    if (f->match_app_id)
        p11kms_store_bind_blob(s, 10, f->app_id, f->app_id_len);
    if (f->match_app_label)
        p11kms_store_bind_blob(s, 11, f->app_label, f->app_label_len);
    if (f->rotation_due_before_ms > 0)
        sqlite3_bind_int64(s, 12, f->rotation_due_before_ms);
    if (f->deletion_due_before_ms > 0)
        sqlite3_bind_int64(s, 13, f->deletion_due_before_ms);
}

void p11kms_store_key_list_free(p11kms_store_key *keys, size_t count)
{
    size_t i;

    for (i = 0; keys != NULL && i < count; i++)
        p11kms_store_key_clear(&keys[i]);
    free(keys);
}

p11kms_store_rc p11kms_store_key_list(p11kms_store *st, const p11kms_store_key_filter *filter,
                                      const char *after, size_t limit, p11kms_store_key **out,
                                      size_t *count, int *more)
{
    p11kms_store_key *arr = NULL;
    size_t n = 0, cap = 0;
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    int src = SQLITE_DONE;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (out == NULL || count == NULL)
        goto done;
    limit = limit == 0 ? LIST_DEFAULT_LIMIT : (limit > LIST_MAX_LIMIT ? LIST_MAX_LIMIT : limit);
    rc = P11KMS_STORE_OK;
    s = key_list_stmt(st, key_filter_mask(filter), &rc);
    if (s == NULL)
        goto done;
    sqlite3_bind_text(s, 1, after != NULL ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)limit + 1);
    key_list_bind(s, filter);
    while (rc == P11KMS_STORE_OK && n < limit && (src = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            p11kms_store_key *tmp;
            cap = cap == 0 ? 4 : cap * 2;
            tmp = realloc(arr, cap * sizeof(*arr));
            if (tmp == NULL) {
                rc = P11KMS_STORE_NOMEM;
                break;
            }
            arr = tmp;
        }
        rc = p11kms_store_key_from_row(s, &arr[n]);
        if (rc == P11KMS_STORE_OK)
            n++;
    }
    if (rc == P11KMS_STORE_OK && n == limit)
        src = sqlite3_step(s); /* one more row means another page */
    if (rc == P11KMS_STORE_OK && src != SQLITE_DONE && src != SQLITE_ROW)
        rc = p11kms_store_step_rc(st, src);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (more != NULL)
        *more = n == limit && src == SQLITE_ROW;
    *out = arr;
    *count = n;
    arr = NULL;
done:
    p11kms_store_stmt_done(s);
    p11kms_store_key_list_free(arr, n);
    return rc;
}
