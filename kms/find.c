/* kms/find.c — the object search behind C_FindObjects: keys selected by id,
 * application CKA_ID, CKA_LABEL (the application's label, else the key id
 * or an alias), spec class, with pending-deletion keys and old symmetric
 * versions only when asked.  Every filter goes through an index of the
 * store; one search is one "ListKeys" record.  Object visibility is
 * token-level (as on any PKCS#11 token): no key policy is consulted to
 * list, only to use. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/uuid.h"
#include "kms/kms-internal.h"

#define PAGE 1000

typedef struct find_acc {
    p11kms_kms_find_entry *e;
    size_t n, cap;
} find_acc;

void p11kms_kms_find_result_clear(p11kms_kms_find_result *r)
{
    if (r == NULL)
        return;
    free(r->entries);
    memset(r, 0, sizeof(*r));
}

static int class_match(p11kms_kms_find_class cls, p11kms_kms_key_spec s)
{
    switch (cls) {
    case P11KMS_KMS_FIND_ANY:
        return 1;
    case P11KMS_KMS_FIND_SECRET:
        return kms_spec_is_symmetric(s) || kms_spec_is_hmac(s);
    case P11KMS_KMS_FIND_SYMMETRIC:
        return kms_spec_is_symmetric(s);
    case P11KMS_KMS_FIND_HMAC:
        return kms_spec_is_hmac(s);
    case P11KMS_KMS_FIND_ASYMMETRIC:
        return kms_spec_is_rsa(s) || kms_spec_is_ec(s);
    case P11KMS_KMS_FIND_RSA:
        return kms_spec_is_rsa(s);
    case P11KMS_KMS_FIND_EC:
        return kms_spec_is_ec(s);
    }
    return 0;
}

static int acc_push(find_acc *a, const p11kms_store_key *k, uint32_t version,
                    p11kms_kms_key_spec spec, p11kms_kms_key_state state)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        p11kms_kms_find_entry *e = realloc(a->e, cap * sizeof(*e));
        if (e == NULL)
            return 0;
        a->e = e;
        a->cap = cap;
    }
    memcpy(a->e[a->n].key_id, k->key_id, 37);
    a->e[a->n].version = version;
    a->e[a->n].spec = spec;
    a->e[a->n].state = state;
    a->n++;
    return 1;
}

/* Adds the key (and its old versions when asked) if it passes the checks
 * the store's index did not do. */
static int add_key(find_acc *a, const p11kms_store_key *k, const p11kms_kms_find_filter *f)
{
    p11kms_kms_key_spec spec;
    p11kms_kms_key_state state;

    if (!p11kms_kms_spec_parse(k->key_spec, &spec) || !kms_state_parse(k->key_state, &state) ||
        !class_match(f->cls, spec))
        return 1;
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].version == 0 && strcmp(a->e[i].key_id, k->key_id) == 0)
            return 1; /* found through two label routes */
    if (!acc_push(a, k, 0, spec, state))
        return 0;
    if (f->include_versions && kms_spec_is_symmetric(spec))
        for (uint32_t v = 1; v < k->current_version; v++)
            if (!acc_push(a, k, v, spec, state))
                return 0;
    return 1;
}

static p11kms_kms_rc scan(p11kms_kms *kms, p11kms_store_key_filter *sf,
                          const p11kms_kms_find_filter *f, find_acc *a)
{
    p11kms_store_key *keys = NULL;
    size_t n = 0;
    int more = 1;
    char after[37] = "";
    p11kms_kms_rc rc = P11KMS_KMS_OK;

    while (more && rc == P11KMS_KMS_OK) {
        rc = kms_rc_from_store(
            p11kms_store_key_list(kms->st, sf, after[0] ? after : NULL, PAGE, &keys, &n, &more));
        if (rc != P11KMS_KMS_OK)
            break;
        for (size_t i = 0; i < n && rc == P11KMS_KMS_OK; i++)
            if (!add_key(a, &keys[i], f))
                rc = P11KMS_KMS_NOMEM;
        if (n > 0)
            memcpy(after, keys[n - 1].key_id, 37);
        p11kms_store_key_list_free(keys, n);
        more = more && n > 0;
    }
    return rc;
}

static void base_filter(const p11kms_kms_find_filter *f, p11kms_store_key_filter *sf)
{
    memset(sf, 0, sizeof(*sf));
    sf->key_id = f->key_id;
    sf->include_pending_deletion = f->include_pending;
    if (f->app_id != NULL) {
        sf->match_app_id = 1;
        sf->app_id = f->app_id;
        sf->app_id_len = f->app_id_len;
    }
    if (f->cls == P11KMS_KMS_FIND_SYMMETRIC)
        sf->key_spec = "SYMMETRIC_DEFAULT";
}

/* A CKA_LABEL names a key by its application label, or (unset) by its key
 * id or an alias: three indexed lookups. */
static p11kms_kms_rc scan_label(p11kms_kms *kms, const p11kms_kms_find_filter *f, find_acc *a)
{
    p11kms_store_key_filter sf;
    char text[P11KMS_STORE_ALIAS_MAX + 1];
    p11kms_kms_rc rc;

    base_filter(f, &sf);
    sf.match_app_label = 1;
    sf.app_label = f->app_label;
    sf.app_label_len = f->app_label_len;
    rc = scan(kms, &sf, f, a);
    if (rc != P11KMS_KMS_OK || f->app_label_len == 0 || f->app_label_len >= sizeof(text) ||
        memchr(f->app_label, 0, f->app_label_len) != NULL)
        return rc;
    memcpy(text, f->app_label, f->app_label_len);
    text[f->app_label_len] = '\0';
    base_filter(f, &sf);
    sf.match_app_label = 1; /* only keys without an application label */
    sf.app_label = NULL;
    sf.app_label_len = 0;
    if (p11kms_uuid_is_valid(text) && (f->key_id == NULL || strcmp(f->key_id, text) == 0))
        sf.key_id = text;
    else if (strncmp(text, "alias/", 6) == 0)
        sf.alias = text;
    else
        return rc;
    return scan(kms, &sf, f, a);
}

p11kms_kms_rc p11kms_kms_find(p11kms_kms *kms, const p11kms_caller *caller,
                              const p11kms_kms_find_filter *filter, p11kms_kms_find_result *out)
{
    kms_call c;
    p11kms_store_key_filter sf;
    find_acc a = {NULL, 0, 0};
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ListKeys", NULL, 1, 1);
    json_object_set_new(c.request, "p11kmsSearch", json_true());
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK && (filter == NULL || out == NULL))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no filter or output");
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (filter->key_id != NULL)
        json_object_set_new(c.request, "keyId", json_string(filter->key_id));
    if (filter->app_label != NULL) {
        rc = scan_label(kms, filter, &a);
    } else {
        base_filter(filter, &sf);
        rc = scan(kms, &sf, filter, &a);
    }
    if (rc == P11KMS_KMS_OK) {
        out->entries = a.e;
        out->n = a.n;
        a.e = NULL;
        c.response = json_pack("{s:i}", "count", (int)out->n);
    }
done:
    free(a.e);
    return kms_call_end(&c, rc);
}
