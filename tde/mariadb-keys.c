/*
 * tde/mariadb-keys.c — the MariaDB plugin's key table (see mariadb-keys.h).
 *
 * Readers take the read lock and copy a cached key; a miss (a key id first
 * seen, typically at CREATE TABLE ... ENCRYPTION_KEY_ID=n) derives the key
 * under the write lock.  Derivation is local HKDF, never a module call, so
 * a lookup of a published version cannot fail for want of the token.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/crypto.h"
#include "common/secmem.h"
#include "p11kms/tde.h"
#include "tde/mariadb-keys.h"

#define INFO_PREFIX "p11kms mariadb key"

typedef struct derived_key {
    uint32_t id;
    uint32_t version;
    unsigned char *key; /* secmem, MDB_KEY_LEN */
} derived_key;

static struct {
    pthread_rwlock_t lock;
    int ready;
    unsigned char salt[P11KMS_TDE_ID_LEN];
    unsigned char **deks; /* deks[v - 1]: secmem copies */
    uint32_t ndeks;
    derived_key *keys;
    size_t nkeys, cap;
} g;

int mdb_keys_init(void)
{
    if (g.ready)
        return 1;
    memset(&g, 0, sizeof(g));
    if (pthread_rwlock_init(&g.lock, NULL) != 0)
        return 0;
    g.ready = 1;
    return 1;
}

void mdb_keys_shutdown(void)
{
    if (!g.ready)
        return;
    for (size_t i = 0; i < g.nkeys; i++)
        p11kms_secmem_free(g.keys[i].key, MDB_KEY_LEN);
    for (uint32_t v = 0; v < g.ndeks; v++)
        p11kms_secmem_free(g.deks[v], MDB_KEY_LEN);
    free(g.keys);
    free(g.deks);
    pthread_rwlock_destroy(&g.lock);
    OPENSSL_cleanse(&g, sizeof(g));
}

/* Under the write lock: derive (id, version) and cache it; NULL on failure. */
static const unsigned char *derive_locked(uint32_t id, uint32_t version)
{
    unsigned char info[sizeof(INFO_PREFIX) - 1 + 4];
    unsigned char *key = NULL;
    const unsigned char *ret = NULL;

    if (g.nkeys == g.cap) {
        size_t cap = g.cap ? g.cap * 2 : 16;
        derived_key *grown = realloc(g.keys, cap * sizeof(*grown));
        if (grown == NULL)
            goto done;
        g.keys = grown;
        g.cap = cap;
    }
    memcpy(info, INFO_PREFIX, sizeof(INFO_PREFIX) - 1);
    for (int i = 0; i < 4; i++)
        info[sizeof(INFO_PREFIX) - 1 + i] = (unsigned char)(id >> (24 - 8 * i));
    key = p11kms_secmem_alloc(MDB_KEY_LEN);
    if (key == NULL ||
        !p11kms_crypto_hkdf_sha256(g.salt, sizeof(g.salt), g.deks[version - 1], MDB_KEY_LEN, info,
                                   sizeof(info), key, MDB_KEY_LEN))
        goto done;
    g.keys[g.nkeys++] = (derived_key){id, version, key};
    ret = key;
    key = NULL;
done:
    p11kms_secmem_free(key, MDB_KEY_LEN);
    return ret;
}

/* Under either lock: the cached key or NULL. */
static const unsigned char *find_locked(uint32_t id, uint32_t version)
{
    for (size_t i = 0; i < g.nkeys; i++)
        if (g.keys[i].id == id && g.keys[i].version == version)
            return g.keys[i].key;
    return NULL;
}

static int add_deks_locked(const unsigned char *const *deks, uint32_t n)
{
    unsigned char **grown;

    if (n <= g.ndeks)
        return 1;
    grown = realloc(g.deks, n * sizeof(*grown));
    if (grown == NULL)
        return 0;
    g.deks = grown;
    for (; g.ndeks < n; g.ndeks++) {
        g.deks[g.ndeks] = p11kms_secmem_dup(deks[g.ndeks], MDB_KEY_LEN);
        if (g.deks[g.ndeks] == NULL)
            return 0;
    }
    return 1;
}

int mdb_keys_publish(const unsigned char *const *deks, uint32_t n, const unsigned char *keyring_id,
                     const uint32_t *prederive, size_t nprederive)
{
    int ok = 0;

    if (!g.ready || pthread_rwlock_wrlock(&g.lock) != 0)
        return 0;
    if (g.ndeks == 0)
        memcpy(g.salt, keyring_id, sizeof(g.salt));
    if (!add_deks_locked(deks, n))
        goto done;
    for (size_t i = 0; i < nprederive; i++)
        for (uint32_t v = 1; v <= g.ndeks; v++)
            if (find_locked(prederive[i], v) == NULL && derive_locked(prederive[i], v) == NULL)
                goto done;
    ok = 1;
done:
    pthread_rwlock_unlock(&g.lock);
    return ok;
}

uint32_t mdb_keys_latest(void)
{
    uint32_t v = 0;

    if (g.ready && pthread_rwlock_rdlock(&g.lock) == 0) {
        v = g.ndeks;
        pthread_rwlock_unlock(&g.lock);
    }
    return v;
}

/* Copy under the read lock; *found = 0 when (id, version) is not cached. */
static mdb_keys_rc copy_cached(uint32_t id, uint32_t version, unsigned char *out, int *found)
{
    const unsigned char *key;
    mdb_keys_rc rc = MDB_KEYS_NO_VERSION;

    *found = 0;
    if (pthread_rwlock_rdlock(&g.lock) != 0)
        return MDB_KEYS_FAILED;
    if (version <= g.ndeks && (key = find_locked(id, version)) != NULL) {
        memcpy(out, key, MDB_KEY_LEN);
        *found = 1;
        rc = MDB_KEYS_OK;
    }
    pthread_rwlock_unlock(&g.lock);
    return rc;
}

static mdb_keys_rc copy_derived(uint32_t id, uint32_t version, unsigned char *out)
{
    const unsigned char *key;
    mdb_keys_rc rc = MDB_KEYS_NO_VERSION;

    if (pthread_rwlock_wrlock(&g.lock) != 0)
        return MDB_KEYS_FAILED;
    if (version <= g.ndeks) {
        key = find_locked(id, version);
        if (key == NULL)
            key = derive_locked(id, version);
        rc = key != NULL ? MDB_KEYS_OK : MDB_KEYS_FAILED;
        if (key != NULL)
            memcpy(out, key, MDB_KEY_LEN);
    }
    pthread_rwlock_unlock(&g.lock);
    return rc;
}

mdb_keys_rc mdb_keys_get(uint32_t key_id, uint32_t version, unsigned char *key, unsigned *len)
{
    mdb_keys_rc rc;
    int found = 0;

    if (!g.ready || version == 0)
        return MDB_KEYS_NO_VERSION;
    if (key == NULL || *len < MDB_KEY_LEN) {
        *len = MDB_KEY_LEN;
        return version <= mdb_keys_latest() ? MDB_KEYS_TOO_SMALL : MDB_KEYS_NO_VERSION;
    }
    *len = MDB_KEY_LEN;
    rc = copy_cached(key_id, version, key, &found);
    if (!found && rc == MDB_KEYS_NO_VERSION)
        rc = copy_derived(key_id, version, key);
    return rc;
}
