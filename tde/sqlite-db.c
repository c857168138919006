/*
 * tde/sqlite-db.c — the shared state of one encrypted SQLite database.
 *
 * A database's main file, rollback journal and WAL are separate
 * sqlite3_files, and several connections may open the same database; all
 * of them must use one keyring, one mode and one page size.  This registry
 * keys that state by the database path SQLite passes to xOpen (journal and
 * WAL names lead back to it with sqlite3_filename_database) and counts
 * references.  The keyring is opened once, at the main file's first open,
 * so a wrong PIN or a denied Decrypt fails the open, never a later read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tde/sqlite-vfs.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static tde_db *g_dbs;

static char *dup_printf(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, fmt, a, b ? b : "");
    return s;
}

static tde_mode parse_mode(const char *m)
{
    if (m != NULL && sqlite3_stricmp(m, "xts") == 0)
        return TDE_MODE_XTS;
    if (m != NULL && sqlite3_stricmp(m, "gcm") == 0)
        return TDE_MODE_GCM;
    return TDE_MODE_PENDING;
}

/* Open the keyring named by the URI (or DB-p11kms.keyring). */
static int open_keyring(tde_db *db, const char *uri_name, int create, char **errmsg)
{
    const char *kp = uri_name ? sqlite3_uri_parameter(uri_name, "keyring") : NULL;
    char *path = kp ? strdup(kp) : dup_printf("%s-p11kms.keyring", db->name, NULL);
    p11kms_tde_options o = {0};
    p11kms_tde_error err;
    int ok;

    if (path == NULL)
        return 0;
    o.cmk = uri_name ? sqlite3_uri_parameter(uri_name, "cmk") : NULL;
    o.module = uri_name ? sqlite3_uri_parameter(uri_name, "module") : NULL;
    o.service = "sqlite";
    o.create = create;
    ok = p11kms_tde_open(path, &o, &db->kr, &err);
    if (!ok)
        *errmsg = dup_printf("keyring %s: %s", path, err.message);
    free(path);
    return ok;
}

static void db_free(tde_db *db)
{
    if (db == NULL)
        return;
    for (uint32_t i = 0; i < db->nciphers; i++)
        p11kms_tde_page_cipher_free(db->ciphers[i]);
    free(db->ciphers);
    p11kms_tde_close(db->kr);
    pthread_mutex_destroy(&db->lock);
    free(db->name);
    free(db);
}

static tde_db *find_locked(const char *name)
{
    for (tde_db *d = g_dbs; d != NULL; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

tde_db *tde_db_find(const char *name)
{
    tde_db *d;
    pthread_mutex_lock(&g_lock);
    d = name ? find_locked(name) : NULL;
    if (d != NULL)
        d->refs++;
    pthread_mutex_unlock(&g_lock);
    return d;
}

int tde_db_acquire(const char *name, const char *uri_name, sqlite3_vfs *real, int create,
                   tde_db **out, char **errmsg)
{
    tde_db *db;
    int ok = 0;

    (void)real;
    pthread_mutex_lock(&g_lock);
    if ((db = find_locked(name)) != NULL) {
        db->refs++;
        ok = 1;
        goto done;
    }
    db = calloc(1, sizeof(*db));
    if (db == NULL || (db->name = strdup(name)) == NULL)
        goto done;
    pthread_mutex_init(&db->lock, NULL);
    db->want = parse_mode(uri_name ? sqlite3_uri_parameter(uri_name, "mode") : NULL);
    if (!open_keyring(db, uri_name, create, errmsg))
        goto done;
    db->xts_version = p11kms_tde_latest_version(db->kr);
    db->refs = 1;
    db->next = g_dbs;
    g_dbs = db;
    ok = 1;
done:
    if (!ok) {
        db_free(db);
        db = NULL;
    }
    pthread_mutex_unlock(&g_lock);
    *out = db;
    return ok;
}

void tde_db_release(tde_db *db)
{
    tde_db **pp;

    if (db == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    if (--db->refs == 0) {
        for (pp = &g_dbs; *pp != NULL && *pp != db; pp = &(*pp)->next)
            ;
        if (*pp == db)
            *pp = db->next;
    } else {
        db = NULL;
    }
    pthread_mutex_unlock(&g_lock);
    db_free(db);
}

static int grow(tde_db *db, uint32_t n)
{
    p11kms_tde_page_cipher **c;
    if (n <= db->nciphers)
        return 1;
    c = realloc(db->ciphers, n * sizeof(*c));
    if (c == NULL)
        return 0;
    memset(c + db->nciphers, 0, (n - db->nciphers) * sizeof(*c));
    db->ciphers = c;
    db->nciphers = n;
    return 1;
}

p11kms_tde_page_cipher *tde_db_cipher(tde_db *db, uint32_t version, uint32_t *used)
{
    p11kms_tde_page_cipher *c = NULL;
    const unsigned char *key;

    pthread_mutex_lock(&db->lock);
    if (version == 0)
        version = p11kms_tde_latest_version(db->kr);
    if (version == 0 || version > P11KMS_TDE_MAX_DEKS || !grow(db, version))
        goto done;
    if (db->ciphers[version - 1] == NULL && p11kms_tde_key(db->kr, version, &key, NULL))
        p11kms_tde_page_cipher_new(key, P11KMS_TDE_KEY_LEN, &db->ciphers[version - 1], NULL);
    c = db->ciphers[version - 1];
    if (used != NULL)
        *used = version;
done:
    pthread_mutex_unlock(&db->lock);
    return c;
}

static uint32_t page_size_of(const unsigned char *h)
{
    uint32_t p = (uint32_t)h[16] << 8 | h[17];
    return p == 1 ? 65536u : p;
}

static int valid_page_size(uint32_t p)
{
    return p >= 512 && p <= 65536 && (p & (p - 1)) == 0;
}

int tde_db_learn_page1(tde_db *db, const unsigned char *page, int amt)
{
    uint32_t psz = amt >= 24 ? page_size_of(page) : 0;
    int reserve = amt >= 24 ? page[20] : 0, ok = 0;

    pthread_mutex_lock(&db->lock);
    if (!valid_page_size(psz) || (uint32_t)amt != psz)
        goto done;
    if (db->mode == TDE_MODE_PENDING) {
        tde_mode m = db->want != TDE_MODE_PENDING ? db->want
                     : reserve >= TDE_SQL_TRAILER ? TDE_MODE_GCM
                                                  : TDE_MODE_XTS;
        if (m == TDE_MODE_GCM && reserve < TDE_SQL_TRAILER) {
            tde_vfs_report("%s: mode=gcm needs %d reserved bytes per page (have %d)", db->name,
                           TDE_SQL_TRAILER, reserve);
            goto done;
        }
        db->mode = m;
    }
    if (!db->have_id && !(db->have_id = getrandom(db->file_id, sizeof(db->file_id), 0) ==
                                        (ssize_t)sizeof(db->file_id)))
        goto done;
    ok = db->mode != TDE_MODE_GCM || reserve >= TDE_SQL_TRAILER;
    if (ok)
        db->page_size = psz;
done:
    pthread_mutex_unlock(&db->lock);
    return ok;
}

int tde_db_learn_header(tde_db *db, const unsigned char h[TDE_SQL_CLEAR_TO])
{
    uint32_t psz = page_size_of(h);
    int ok = memcmp(h, TDE_SQL_MAGIC, 4) == 0 && h[4] == TDE_SQL_FORMAT &&
             (h[5] == TDE_MODE_GCM || h[5] == TDE_MODE_XTS) && valid_page_size(psz);

    if (!ok)
        return 0;
    pthread_mutex_lock(&db->lock);
    db->mode = (tde_mode)h[5];
    db->xts_version = (uint32_t)h[6] << 8 | h[7];
    memcpy(db->file_id, h + 8, 8);
    db->have_id = 1;
    db->page_size = psz;
    pthread_mutex_unlock(&db->lock);
    return 1;
}

int tde_db_rekey(tde_db *db, int new_dek, char **errmsg)
{
    p11kms_tde_error err;
    int ok;

    pthread_mutex_lock(&db->lock);
    ok = p11kms_tde_rewrap(db->kr, new_dek, &err);
    pthread_mutex_unlock(&db->lock);
    if (!ok)
        *errmsg = dup_printf("p11kms_rekey: %s", err.message, NULL);
    return ok;
}
