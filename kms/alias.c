/* kms/alias.c — CreateAlias, UpdateAlias, DeleteAlias, ListAliases with
 * KMS's rules: "alias/" + 1-250 of [A-Za-z0-9/_-], case-sensitive, targets
 * named by key id only, "alias/p11kms/" reserved for service-managed keys
 * (created by the engine, never by these calls), and an update keeps the
 * alias on a key of the same spec class and usage. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/uuid.h"
#include "kms/kms-internal.h"

static p11kms_kms_rc check_alias_name(kms_call *c, const char *name)
{
    json_object_set_new(c->request, "aliasName", json_string(name ? name : ""));
    if (!kms_alias_name_valid(name))
        return kms_fail(c, P11KMS_KMS_INVALID_ALIAS_NAME,
                        "AliasName must be alias/ followed by 1-250 of [A-Za-z0-9/_-]");
    if (strncmp(name, KMS_SERVICE_ALIAS_PREFIX, strlen(KMS_SERVICE_ALIAS_PREFIX)) == 0)
        return kms_fail(c, P11KMS_KMS_INVALID_ALIAS_NAME,
                        "alias/p11kms/ is reserved for service-managed keys");
    return P11KMS_KMS_OK;
}

/* Target: a key id (not an alias), customer managed, not pending deletion;
 * authorised for the frame's action. */
static p11kms_kms_rc target_key(kms_call *c, const char *target)
{
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    json_object_set_new(c->request, "targetKeyId", json_string(target ? target : ""));
    if (!p11kms_uuid_is_valid(target))
        return kms_fail(c, P11KMS_KMS_VALIDATION, "TargetKeyId must be a key id");
    rc = kms_key_resolve(c, NULL, target);
    if (rc == P11KMS_KMS_OK) {
        kms_request_init(c, &req);
        rc = kms_authorize(c, &req);
    }
    if (rc == P11KMS_KMS_OK && c->key->manager == P11KMS_KMS_MANAGER_SERVICE)
        rc = kms_fail(c, P11KMS_KMS_VALIDATION, "service-managed keys take no customer alias");
    if (rc == P11KMS_KMS_OK && c->key->state == P11KMS_KMS_STATE_PENDING_DELETION)
        rc = kms_fail(c, P11KMS_KMS_INVALID_STATE, "the key is pending deletion");
    return rc;
}

static p11kms_kms_rc store_rc(kms_call *c, p11kms_store_rc src)
{
    if (src == P11KMS_STORE_OK)
        return P11KMS_KMS_OK;
    return kms_fail(c, kms_rc_from_store(src),
                    src == P11KMS_STORE_EXISTS ? "an alias with this name exists"
                                               : p11kms_store_strerror(src));
}

p11kms_kms_rc p11kms_kms_create_alias(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *alias_name, const char *target_key_id)
{
    kms_call c;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "CreateAlias", "kms:CreateAlias", 1, 0);
    rc = check_alias_name(&c, alias_name);
    if (rc == P11KMS_KMS_OK)
        rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc == P11KMS_KMS_OK)
        rc = target_key(&c, target_key_id);
    if (rc == P11KMS_KMS_OK)
        rc = store_rc(&c, p11kms_store_alias_create(kms->st, alias_name, c.key->key_id,
                                                    p11kms_time_now_ms()));
    return kms_call_end(&c, rc);
}

/* The key an alias names now, authorised for the frame's action. */
static p11kms_kms_rc alias_key(kms_call *c, const char *alias_name)
{
    p11kms_policy_request req;
    p11kms_kms_rc rc = kms_key_resolve(c, NULL, alias_name);

    if (rc == P11KMS_KMS_OK) {
        kms_request_init(c, &req);
        rc = kms_authorize(c, &req);
    }
    return rc;
}

static int same_kind(const p11kms_kms_key *a, const p11kms_kms_key *b)
{
    return a->usage == b->usage &&
           kms_spec_is_symmetric(a->spec) == kms_spec_is_symmetric(b->spec) &&
           kms_spec_is_hmac(a->spec) == kms_spec_is_hmac(b->spec);
}

p11kms_kms_rc p11kms_kms_update_alias(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *alias_name, const char *target_key_id)
{
    kms_call c;
    p11kms_kms_key *old = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "UpdateAlias", "kms:UpdateAlias", 1, 0);
    rc = check_alias_name(&c, alias_name);
    if (rc == P11KMS_KMS_OK)
        rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc == P11KMS_KMS_OK)
        rc = alias_key(&c, alias_name);
    if (rc == P11KMS_KMS_OK) {
        old = c.key;
        old->refs++;
        rc = target_key(&c, target_key_id);
    }
    if (rc == P11KMS_KMS_OK && !same_kind(old, c.key))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION,
                      "the new target must have the same key type and usage");
    if (rc == P11KMS_KMS_OK)
        rc = store_rc(&c, p11kms_store_alias_update(kms->st, alias_name, c.key->key_id,
                                                    p11kms_time_now_ms()));
    kms_key_unref_locked(old);
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_delete_alias(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *alias_name)
{
    kms_call c;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "DeleteAlias", "kms:DeleteAlias", 1, 0);
    rc = check_alias_name(&c, alias_name);
    if (rc == P11KMS_KMS_OK)
        rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc == P11KMS_KMS_OK)
        rc = alias_key(&c, alias_name);
    if (rc == P11KMS_KMS_OK)
        rc = store_rc(&c, p11kms_store_alias_delete(kms->st, alias_name));
    return kms_call_end(&c, rc);
}

void p11kms_kms_alias_list_clear(p11kms_kms_alias_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->entries[i].alias_name);
    free(l->entries);
    free(l->next_marker);
    memset(l, 0, sizeof(*l));
}

static p11kms_kms_rc alias_page(p11kms_kms *kms, const char *key_id, unsigned limit,
                                const char *marker, p11kms_kms_alias_list *out)
{
    p11kms_store_alias *a = NULL;
    size_t n = 0;
    int more = 0;
    p11kms_kms_rc rc;

    rc = kms_rc_from_store(p11kms_store_alias_list(kms->st, key_id, marker, limit, &a, &n, &more));
    if (rc != P11KMS_KMS_OK)
        return rc;
    out->entries = calloc(n + 1, sizeof(*out->entries));
    for (size_t i = 0; out->entries != NULL && i < n; i++) {
        out->entries[i].alias_name = strdup(a[i].name);
        memcpy(out->entries[i].target_key_id, a[i].key_id, 37);
        out->entries[i].creation_date_ms = a[i].creation_ms;
        out->n = i + 1;
        if (out->entries[i].alias_name == NULL)
            rc = P11KMS_KMS_NOMEM;
    }
    if (out->entries == NULL)
        rc = P11KMS_KMS_NOMEM;
    if (rc == P11KMS_KMS_OK && more && n > 0)
        out->next_marker = strdup(a[n - 1].name);
    free(a);
    return rc;
}

p11kms_kms_rc p11kms_kms_list_aliases(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *key_id, unsigned limit, const char *marker,
                                      p11kms_kms_alias_list *out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ListAliases", "kms:ListAliases", 1, 1);
    if (key_id != NULL)
        json_object_set_new(c.request, "keyId", json_string(key_id));
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK && (out == NULL || limit > 1000))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "Limit must be 1-1000");
    if (rc == P11KMS_KMS_OK && marker != NULL && !kms_alias_name_valid(marker))
        rc = kms_fail(&c, P11KMS_KMS_INVALID_MARKER, "Marker is not valid");
    if (rc == P11KMS_KMS_OK && key_id != NULL)
        rc = kms_key_resolve(&c, NULL, key_id);
    if (rc == P11KMS_KMS_OK) {
        kms_request_init(&c, &req);
        rc = kms_authorize(&c, &req);
    }
    if (rc == P11KMS_KMS_OK) {
        memset(out, 0, sizeof(*out));
        rc = alias_page(kms, c.key ? c.key->key_id : NULL, limit ? limit : 100, marker, out);
        if (rc != P11KMS_KMS_OK)
            p11kms_kms_alias_list_clear(out);
    }
    return kms_call_end(&c, rc);
}
