/*
 * tde/sqlite-ext.c — the loadable-extension side of sqlite3-p11kms.so:
 * entry points, the per-connection hook and SELECT p11kms_rekey().
 *
 * A new, empty database opened through the VFS must reserve 44 bytes per
 * page for the GCM trailer before SQLite writes page 1.  Only a connection
 * can ask for that (SQLITE_FCNTL_RESERVE_BYTES through
 * sqlite3_file_control), so the extension registers an auto-extension that
 * runs inside every later sqlite3_open and sets it.  A database created
 * without it (VACUUM INTO or .backup into a vfs=p11kms URI copy the
 * source's reserve) is encrypted in XTS mode unless the source was given
 * the reserve first (.filectrl reserve_bytes 44): docs/tde-sqlite.md.
 */
#include "config.h"

#include <stdlib.h>

#include "tde/sqlite-vfs.h"

SQLITE_EXTENSION_INIT1

/* Our file behind "main" of db, or NULL when it is not a p11kms database. */
static tde_file *main_file(sqlite3 *db)
{
    sqlite3_vfs *vfs = NULL;
    sqlite3_file *f = NULL;

    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK ||
        vfs != tde_vfs_self() ||
        sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || f == NULL ||
        f->pMethods != &tde_io_methods)
        return NULL;
    return (tde_file *)f;
}

/* p11kms_rekey([new_dek]): rewrap the DEKs under the CMK's newest version
 * (and with a true argument add a DEK version for new writes); returns the
 * latest DEK version. */
static void rekey_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    tde_file *f = main_file(sqlite3_context_db_handle(ctx));
    char *msg = NULL;

    if (f == NULL || f->db == NULL) {
        sqlite3_result_error(ctx, "p11kms_rekey: main is not a vfs=p11kms database", -1);
        return;
    }
    if (!tde_db_rekey(f->db, argc == 1 && sqlite3_value_int(argv[0]) != 0, &msg)) {
        sqlite3_result_error(ctx, msg ? msg : "p11kms_rekey failed", -1);
        free(msg);
        return;
    }
    sqlite3_result_int64(ctx, (sqlite3_int64)p11kms_tde_latest_version(f->db->kr));
}

static int add_functions(sqlite3 *db)
{
    int rc =
        sqlite3_create_function(db, "p11kms_rekey", 0, SQLITE_UTF8, NULL, rekey_fn, NULL, NULL);
    if (rc == SQLITE_OK)
        rc =
            sqlite3_create_function(db, "p11kms_rekey", 1, SQLITE_UTF8, NULL, rekey_fn, NULL, NULL);
    return rc;
}

/* Runs inside every sqlite3_open after the extension was loaded. */
static int on_connection(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    tde_file *f;
    int reserve = TDE_SQL_TRAILER;

    (void)err;
    (void)api;
    f = main_file(db);
    if (f != NULL && f->db != NULL && f->db->mode == TDE_MODE_PENDING &&
        f->db->want != TDE_MODE_XTS)
        sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
    return add_functions(db);
}

int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    int rc;

    SQLITE_EXTENSION_INIT2(api);
    (void)err;
    rc = tde_vfs_register();
    if (rc == SQLITE_OK)
        rc = sqlite3_auto_extension((void (*)(void))on_connection);
    if (rc == SQLITE_OK)
        rc = add_functions(db);
    return rc == SQLITE_OK ? SQLITE_OK_LOAD_PERMANENTLY : rc;
}

int sqlite3_sqlitepkms_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    return sqlite3_extension_init(db, err, api);
}

int sqlite3_sqlitep11kms_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    return sqlite3_extension_init(db, err, api);
}
