/* kms/cache.c — resolved keys: the handle cache of the engine.
 *
 * A p11kms_kms_key holds a key's row, parsed policy, grants and unwrapped
 * versions.  The engine keeps recently used keys in a small MRU list (the
 * list holds one reference); PKCS#11 sessions hold their own references.  A
 * key re-reads its row only when the engine's epoch moved (kms_sync saw
 * another process's change, or we committed one), so a hot key costs one
 * change-counter read per call and nothing else.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/uuid.h"
#include "kms/kms-internal.h"

static void key_free(p11kms_kms_key *key)
{
    if (key->all_prev != NULL)
        key->all_prev->all_next = key->all_next;
    else
        key->kms->all = key->all_next;
    if (key->all_next != NULL)
        key->all_next->all_prev = key->all_prev;
    kms_versions_free(key);
    p11kms_store_key_clear(&key->row);
    p11kms_policy_free(key->policy);
    free(key->policy_text);
    kms_grants_free(&key->grants);
    free(key);
}

void kms_key_unref_locked(p11kms_kms_key *key)
{
    if (key == NULL || --key->refs > 0)
        return;
    key_free(key);
}

p11kms_kms_rc kms_key_parse_row(p11kms_kms_key *key)
{
    const p11kms_store_key *r = &key->row;

    if (!p11kms_kms_spec_parse(r->key_spec, &key->spec) ||
        !p11kms_kms_usage_parse(r->key_usage, &key->usage) ||
        !kms_state_parse(r->key_state, &key->state) ||
        !kms_manager_parse(r->key_manager, &key->manager) ||
        !kms_origin_parse(r->origin, &key->origin))
        return P11KMS_KMS_STORE_CORRUPT;
    return P11KMS_KMS_OK;
}

p11kms_kms_rc kms_key_refresh(p11kms_kms_key *key)
{
    p11kms_store_key row;
    p11kms_store_rc src;

    if (key->gone)
        return P11KMS_KMS_NOT_FOUND;
    if (key->epoch == key->kms->epoch)
        return P11KMS_KMS_OK;
    memset(&row, 0, sizeof(row));
    src = p11kms_store_key_get(key->kms->st, key->key_id, &row);
    if (src == P11KMS_STORE_NOTFOUND) {
        key->gone = 1;
        kms_versions_free(key);
    }
    if (src != P11KMS_STORE_OK)
        return kms_rc_from_store(src);
    p11kms_store_key_clear(&key->row);
    key->row = row;
    key->epoch = key->kms->epoch;
    return kms_key_parse_row(key);
}

/* Moves the key to the front of the MRU list; evicts beyond the cap. */
static void cache_touch(p11kms_kms *kms, p11kms_kms_key *key)
{
    p11kms_kms_key **pp = &kms->keys, *k;
    size_t n = 0;

    while (*pp != NULL && *pp != key)
        pp = &(*pp)->next;
    if (*pp == key)
        *pp = key->next;
    else {
        key->refs++;
        key->in_cache = 1;
        kms->nkeys++;
    }
    key->next = kms->keys;
    kms->keys = key;
    for (pp = &kms->keys; (k = *pp) != NULL; n++) {
        if (n >= KMS_MAX_CACHED_KEYS && k->refs == 1) {
            *pp = k->next;
            k->in_cache = 0;
            kms->nkeys--;
            kms_key_unref_locked(k);
            continue;
        }
        pp = &k->next;
    }
}

static p11kms_kms_key *cache_find(p11kms_kms *kms, const char *key_id)
{
    for (p11kms_kms_key *k = kms->keys; k != NULL; k = k->next)
        if (strcmp(k->key_id, key_id) == 0)
            return k;
    return NULL;
}

p11kms_kms_rc kms_key_get(p11kms_kms *kms, const char *key_id, p11kms_kms_key **out)
{
    p11kms_kms_key *key = cache_find(kms, key_id);
    p11kms_kms_rc rc;

    if (key == NULL) {
        key = calloc(1, sizeof(*key));
        if (key == NULL)
            return P11KMS_KMS_NOMEM;
        key->kms = kms;
        snprintf(key->key_id, sizeof(key->key_id), "%s", key_id);
        key->all_next = kms->all;
        if (kms->all != NULL)
            kms->all->all_prev = key;
        kms->all = key;
    }
    key->refs++;
    rc = kms_key_refresh(key);
    if (rc == P11KMS_KMS_OK) {
        cache_touch(kms, key);
        *out = key;
    } else {
        kms_key_unref_locked(key);
    }
    return rc;
}

/* Alias lookups by name are cached for the current epoch: any change to
 * the store (an alias update included) bumps the epoch. */
static int alias_cached(p11kms_kms *kms, const char *alias, char id[37])
{
    for (unsigned i = 0; i < KMS_ALIAS_CACHE; i++) {
        const kms_alias_slot *s = &kms->aliases[i];
        if (s->epoch == kms->epoch && strcmp(s->name, alias) == 0) {
            memcpy(id, s->key_id, 37);
            return 1;
        }
    }
    return 0;
}

static void alias_remember(p11kms_kms *kms, const char *alias, const char id[37])
{
    kms_alias_slot *s = &kms->aliases[kms->alias_next++ % KMS_ALIAS_CACHE];
    size_t n = strlen(alias);

    if (n >= sizeof(s->name))
        return;
    memcpy(s->name, alias, n + 1);
    memcpy(s->key_id, id, 37);
    s->epoch = kms->epoch;
}

/* "alias/NAME" -> id; a bare non-UUID name is taken as an alias name. */
static p11kms_kms_rc ref_to_id(p11kms_kms *kms, const char *ref, char id[37])
{
    char alias[P11KMS_STORE_ALIAS_MAX + 8];
    p11kms_store_rc src;

    if (p11kms_uuid_is_valid(ref)) {
        snprintf(id, 37, "%s", ref);
        return P11KMS_KMS_OK;
    }
    if (strncmp(ref, "alias/", 6) == 0)
        snprintf(alias, sizeof(alias), "%s", ref);
    else
        snprintf(alias, sizeof(alias), "alias/%s", ref);
    if (!kms_alias_name_valid(alias))
        return P11KMS_KMS_NOT_FOUND;
    if (alias_cached(kms, alias, id))
        return P11KMS_KMS_OK;
    src = p11kms_store_alias_resolve(kms->st, alias, id);
    if (src == P11KMS_STORE_OK)
        alias_remember(kms, alias, id);
    return kms_rc_from_store(src);
}

p11kms_kms_rc kms_key_resolve(kms_call *c, p11kms_kms_key *handle, const char *ref)
{
    char id[37];
    p11kms_kms_rc rc;

    if (c->key != NULL) {
        kms_key_unref_locked(c->key);
        c->key = NULL;
    }
    if (handle != NULL) {
        if (handle->kms != c->kms)
            return kms_fail(c, P11KMS_KMS_VALIDATION, "key handle of another token");
        handle->refs++;
        c->key = handle;
        json_object_set_new(c->request, "keyId", json_string(handle->key_id));
        return kms_key_refresh(handle);
    }
    if (ref == NULL || ref[0] == '\0')
        return kms_fail(c, P11KMS_KMS_VALIDATION, "KeyId is required");
    json_object_set_new(c->request, "keyId", json_string(ref));
    rc = ref_to_id(c->kms, ref, id);
    if (rc == P11KMS_KMS_OK)
        rc = kms_key_get(c->kms, id, &c->key);
    if (rc == P11KMS_KMS_NOT_FOUND)
        c->detail = "no such key or alias";
    return rc;
}

p11kms_kms_rc p11kms_kms_key_open(p11kms_kms *kms, const char *key_ref, p11kms_kms_key **out)
{
    kms_call c;
    p11kms_kms_rc rc;

    if (kms == NULL || out == NULL)
        return P11KMS_KMS_VALIDATION;
    memset(&c, 0, sizeof(c));
    c.kms = kms;
    c.request = json_object();
    pthread_mutex_lock(&kms->lock);
    rc = kms_store_ensure(kms, 0, 0);
    if (rc == P11KMS_KMS_OK)
        rc = kms_sync(kms);
    if (rc == P11KMS_KMS_OK)
        rc = kms_key_resolve(&c, NULL, key_ref);
    if (rc == P11KMS_KMS_OK) {
        *out = c.key;
        c.key = NULL;
    }
    kms_key_unref_locked(c.key);
    pthread_mutex_unlock(&kms->lock);
    json_decref(c.request);
    return rc;
}

p11kms_kms_key *p11kms_kms_key_ref(p11kms_kms_key *key)
{
    if (key != NULL) {
        pthread_mutex_lock(&key->kms->lock);
        key->refs++;
        pthread_mutex_unlock(&key->kms->lock);
    }
    return key;
}

void p11kms_kms_key_release(p11kms_kms_key *key)
{
    p11kms_kms *kms;

    if (key == NULL)
        return;
    kms = key->kms;
    pthread_mutex_lock(&kms->lock);
    kms_key_unref_locked(key);
    pthread_mutex_unlock(&kms->lock);
}

const char *p11kms_kms_key_id(const p11kms_kms_key *key)
{
    return key ? key->key_id : "";
}
