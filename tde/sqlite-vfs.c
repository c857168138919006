/*
 * tde/sqlite-vfs.c — the VFS object "p11kms", a shim over SQLite's "unix"
 * VFS.  xOpen decides how a file is encrypted from the open flags: the main
 * database opens (or creates) its keyring and shares it with its journal
 * and WAL; temporary files get a random key of their own; a super-journal
 * (file names only) is passed through.  Every other method is unix's.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tde/sqlite-vfs.h"

static sqlite3_vfs g_vfs;
static sqlite3_vfs *g_real;

sqlite3_vfs *tde_vfs_self(void)
{
    return &g_vfs;
}

/* Errors at open have no connection to attach a message to: the SQLite log
 * and stderr carry the reason (wrong PIN, denied Decrypt, tampered keyring). */
void tde_vfs_report(const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sqlite3_log(SQLITE_AUTH, "p11kms: %s", msg);
    if (getenv("P11KMS_SQLITE_QUIET") == NULL)
        fprintf(stderr, "p11kms: %s\n", msg);
}

static tde_kind kind_of(int flags)
{
    if (flags & SQLITE_OPEN_MAIN_DB)
        return TDE_F_MAIN;
    if (flags & SQLITE_OPEN_MAIN_JOURNAL)
        return TDE_F_JOURNAL;
    if (flags & SQLITE_OPEN_WAL)
        return TDE_F_WAL;
    if (flags & SQLITE_OPEN_SUPER_JOURNAL)
        return TDE_F_PASS;
    return TDE_F_TEMP; /* temp db/journal, transient db, sub-journal */
}

/* An existing database must carry the p11kms header. */
static int check_header(tde_file *f, sqlite3_int64 size)
{
    unsigned char h[TDE_SQL_CLEAR_TO];

    if (size == 0)
        return SQLITE_OK;
    if (size < (sqlite3_int64)sizeof(h) ||
        f->real->pMethods->xRead(f->real, h, sizeof(h), 0) != SQLITE_OK)
        return SQLITE_NOTADB;
    if (memcmp(h, TDE_SQL_PLAIN_MAGIC, sizeof(TDE_SQL_PLAIN_MAGIC)) == 0) {
        tde_vfs_report("%s is not encrypted (convert it with VACUUM INTO a vfs=p11kms URI)",
                       f->db->name);
        return SQLITE_NOTADB;
    }
    if (!tde_db_learn_header(f->db, h)) {
        tde_vfs_report("%s is not a p11kms-encrypted database", f->db->name);
        return SQLITE_NOTADB;
    }
    return SQLITE_OK;
}

static int open_main(tde_file *f, const char *name, int flags)
{
    sqlite3_int64 size = 0;
    char *msg = NULL;
    int rc = f->real->pMethods->xFileSize(f->real, &size);

    if (rc != SQLITE_OK)
        return rc;
    if (!tde_db_acquire(name, name, g_real, (flags & SQLITE_OPEN_CREATE) && size == 0, &f->db,
                        &msg)) {
        tde_vfs_report("%s", msg ? msg : "out of memory");
        free(msg);
        return SQLITE_AUTH;
    }
    if (f->db->refs == 1 || f->db->page_size == 0)
        rc = check_header(f, size);
    return rc;
}

/* Journal and WAL share the state of their database. */
static int open_companion(tde_file *f, const char *name)
{
    const char *dbname = name ? sqlite3_filename_database(name) : NULL;

    f->db = tde_db_find(dbname);
    if (f->db == NULL) {
        tde_vfs_report("%s: no open p11kms database for it", name ? name : "(null)");
        return SQLITE_CANTOPEN;
    }
    return SQLITE_OK;
}

static int setup(tde_file *f, const char *name, int flags)
{
    switch (f->kind) {
    case TDE_F_MAIN:
        return open_main(f, name, flags);
    case TDE_F_JOURNAL:
    case TDE_F_WAL:
        return open_companion(f, name);
    case TDE_F_TEMP:
        return tde_file_init_temp(f) ? SQLITE_OK : SQLITE_NOMEM;
    case TDE_F_PASS:
        break;
    }
    return SQLITE_OK;
}

static int x_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *sf, int flags, int *out_flags)
{
    tde_file *f = (tde_file *)sf;
    int rc;

    (void)vfs;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    f->kind = kind_of(flags);
    rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK)
        return rc;
    f->base.pMethods = &tde_io_methods;
    rc = setup(f, name, flags);
    if (rc != SQLITE_OK) {
        tde_io_methods.xClose(sf);
        f->base.pMethods = NULL;
    }
    return rc;
}

static int x_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return g_real->xDelete(g_real, name, sync);
}

static int x_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return g_real->xAccess(g_real, name, flags, out);
}

static int x_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return g_real->xFullPathname(g_real, name, n, out);
}

static void *x_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return g_real->xDlOpen(g_real, name);
}

static void x_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    g_real->xDlError(g_real, n, msg);
}

static void (*x_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return g_real->xDlSym(g_real, h, sym);
}

static void x_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    g_real->xDlClose(g_real, h);
}

static int x_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return g_real->xRandomness(g_real, n, out);
}

static int x_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return g_real->xSleep(g_real, us);
}

static int x_current_time(sqlite3_vfs *v, double *t)
{
    (void)v;
    return g_real->xCurrentTime(g_real, t);
}

static int x_last_error(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    return g_real->xGetLastError ? g_real->xGetLastError(g_real, n, msg) : 0;
}

static int x_current_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    (void)v;
    return g_real->xCurrentTimeInt64(g_real, t);
}

int tde_vfs_register(void)
{
    if (sqlite3_vfs_find(TDE_VFS_NAME) != NULL)
        return SQLITE_OK;
    g_real = sqlite3_vfs_find("unix");
    if (g_real == NULL)
        return SQLITE_ERROR;
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = (int)sizeof(tde_file) + g_real->szOsFile;
    g_vfs.mxPathname = g_real->mxPathname;
    g_vfs.zName = TDE_VFS_NAME;
    g_vfs.xOpen = x_open;
    g_vfs.xDelete = x_delete;
    g_vfs.xAccess = x_access;
    g_vfs.xFullPathname = x_full_pathname;
    g_vfs.xDlOpen = x_dlopen;
    g_vfs.xDlError = x_dlerror;
    g_vfs.xDlSym = x_dlsym;
    g_vfs.xDlClose = x_dlclose;
    g_vfs.xRandomness = x_randomness;
    g_vfs.xSleep = x_sleep;
    g_vfs.xCurrentTime = x_current_time;
    g_vfs.xGetLastError = x_last_error;
    g_vfs.xCurrentTimeInt64 = x_current_time64;
    return sqlite3_vfs_register(&g_vfs, getenv("P11KMS_SQLITE_DEFAULT_VFS") != NULL);
}
