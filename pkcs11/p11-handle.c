/*
 * p11-handle.c — handle tables of the PKCS#11 module.
 *
 * Sessions and objects are found by CK_ULONG handle in an open-addressing
 * hash map (p11kms_p11_htab); store-backed objects are also found by their
 * store identity (key id + kind + version) in a chained string map
 * (p11kms_p11_smap), so that finding the same CMK twice yields the same
 * handle, as applications expect.  Both are O(1) so C_FindObjects over
 * 100,000 keys stays fast.  Callers hold the module lock.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

#define HT_EMPTY ((CK_ULONG)0) /* handle 0 is CK_INVALID_HANDLE */
#define HT_TOMB  ((CK_ULONG) ~(CK_ULONG)0)

static size_t mix(CK_ULONG k)
{
    uint64_t x = (uint64_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static size_t slot_of(const p11kms_p11_htab *t, CK_ULONG key)
{
    size_t mask = t->cap - 1;
    size_t i = mix(key) & mask;
    while (t->keys[i] != HT_EMPTY && t->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

void *p11kms_p11_htab_get(const p11kms_p11_htab *t, CK_ULONG key)
{
    if (t->cap == 0 || key == HT_EMPTY || key == HT_TOMB)
        return NULL;
    size_t i = slot_of(t, key);
    return t->keys[i] == key ? t->vals[i] : NULL;
}

/* Rebuilds into a table of cap new_cap, dropping tombstones. */
static int rehash(p11kms_p11_htab *t, size_t new_cap)
{
    p11kms_p11_htab n = {0};
    int ok = 0;
    n.keys = calloc(new_cap, sizeof(*n.keys));
    n.vals = calloc(new_cap, sizeof(*n.vals));
    if (n.keys == NULL || n.vals == NULL)
        goto done;
    n.cap = new_cap;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->keys[i] == HT_EMPTY || t->keys[i] == HT_TOMB)
            continue;
        size_t j = slot_of(&n, t->keys[i]);
        n.keys[j] = t->keys[i];
        n.vals[j] = t->vals[i];
        n.count++;
    }
    free(t->keys);
    free(t->vals);
    *t = n;
    n.keys = NULL;
    n.vals = NULL;
    ok = 1;
done:
    free(n.keys);
    free(n.vals);
    return ok;
}

int p11kms_p11_htab_put(p11kms_p11_htab *t, CK_ULONG key, void *val)
{
    if (key == HT_EMPTY || key == HT_TOMB)
        return 0;
    if ((t->count + t->tombs + 1) * 4 >= t->cap * 3) {
        size_t nc = t->cap ? t->cap : 16;
        while ((t->count + 1) * 2 >= nc)
            nc *= 2;
        if (!rehash(t, nc))
            return 0;
    }
    /* Reuse the first tombstone on the probe path if the key is absent. */
    size_t mask = t->cap - 1, i = mix(key) & mask, tomb = (size_t)-1;
    while (t->keys[i] != HT_EMPTY && t->keys[i] != key) {
        if (t->keys[i] == HT_TOMB && tomb == (size_t)-1)
            tomb = i;
        i = (i + 1) & mask;
    }
    if (t->keys[i] != key) {
        if (tomb != (size_t)-1) {
            i = tomb;
            t->tombs--;
        }
        t->count++;
    }
    t->keys[i] = key;
    t->vals[i] = val;
    return 1;
}

void *p11kms_p11_htab_del(p11kms_p11_htab *t, CK_ULONG key)
{
    if (t->cap == 0 || key == HT_EMPTY || key == HT_TOMB)
        return NULL;
    size_t mask = t->cap - 1, i = mix(key) & mask;
    while (t->keys[i] != HT_EMPTY) {
        if (t->keys[i] == key) {
            void *v = t->vals[i];
            t->keys[i] = HT_TOMB;
            t->vals[i] = NULL;
            t->count--;
            t->tombs++;
            return v;
        }
        i = (i + 1) & mask;
    }
    return NULL;
}

int p11kms_p11_htab_next(const p11kms_p11_htab *t, size_t *pos, CK_ULONG *key, void **val)
{
    while (*pos < t->cap) {
        size_t i = (*pos)++;
        if (t->keys[i] != HT_EMPTY && t->keys[i] != HT_TOMB) {
            *key = t->keys[i];
            *val = t->vals[i];
            return 1;
        }
    }
    return 0;
}

void p11kms_p11_htab_free(p11kms_p11_htab *t)
{
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof(*t));
}

/* ---------------- string map ---------------- */

static size_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

CK_ULONG p11kms_p11_smap_get(const p11kms_p11_smap *m, const char *key)
{
    if (m->nbuckets == 0)
        return 0;
    for (p11kms_p11_smap_ent *e = m->buckets[str_hash(key) % m->nbuckets]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e->val;
    return 0;
}

static int smap_grow(p11kms_p11_smap *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
    p11kms_p11_smap_ent **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return 0;
    for (size_t i = 0; i < m->nbuckets; i++) {
        p11kms_p11_smap_ent *e = m->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t j = str_hash(e->key) % nb;
            e->next = b[j];
            b[j] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return 1;
}

int p11kms_p11_smap_put(p11kms_p11_smap *m, const char *key, CK_ULONG val)
{
    int ok = 0;
    p11kms_p11_smap_ent *e = NULL;
    if (m->count + 1 > m->nbuckets && !smap_grow(m))
        goto done;
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(key)) == NULL)
        goto done;
    size_t j = str_hash(key) % m->nbuckets;
    e->val = val;
    e->next = m->buckets[j];
    m->buckets[j] = e;
    m->count++;
    e = NULL;
    ok = 1;
done:
    free(e);
    return ok;
}

void p11kms_p11_smap_del(p11kms_p11_smap *m, const char *key)
{
    if (m->nbuckets == 0)
        return;
    p11kms_p11_smap_ent **pp = &m->buckets[str_hash(key) % m->nbuckets];
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            p11kms_p11_smap_ent *e = *pp;
            *pp = e->next;
            free(e->key);
            free(e);
            m->count--;
            return;
        }
    }
}

void p11kms_p11_smap_free(p11kms_p11_smap *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        p11kms_p11_smap_ent *e = m->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e->key);
            free(e);
        }
    }
    free(m->buckets);
    memset(m, 0, sizeof(*m));
}
