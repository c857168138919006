/*
 * store/store-open.c — opening and closing a store: file and directory
 * creation with fixed modes, the SQLite connection (always the built-in
 * "unix" VFS, whatever the host process made default), the per-connection
 * pragmas, schema classification and migration, and fork-safe close.
 *
 * Read-only opens must never create or write anything (C_GetTokenInfo and
 * every p11-kit user that loads the module go through them).  SQLite opens
 * a WAL database read-only only by creating the -wal and -shm files when
 * they are missing, so writers keep those files (SQLITE_FCNTL_PERSIST_WAL)
 * and a read-only open of a store whose -wal/-shm are absent (a copied or
 * restored file: no writer has it open) uses immutable=1, where SQLite
 * touches nothing but the main file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secmem.h"
#include "store/store-priv.h"

/* Busy retries for a journal-mode switch racing another opener. */
#define JOURNAL_MODE_TRIES 50

static p11kms_store_rc rc_from_errno(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        return P11KMS_STORE_NOTFOUND;
    case EACCES:
    case EPERM:
        return P11KMS_STORE_PERM;
    case ENOSPC:
    case EDQUOT:
        return P11KMS_STORE_FULL;
    case EROFS:
        return P11KMS_STORE_READONLY;
    case ENOMEM:
        return P11KMS_STORE_NOMEM;
    default:
        return P11KMS_STORE_IO;
    }
}

/* Creates the parent directory 0700 (umask-independent) if it is missing. */
static p11kms_store_rc make_parent_dir(const char *path)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    char *copy = strdup(path);
    const char *dir;

    if (copy == NULL)
        return P11KMS_STORE_NOMEM;
    dir = dirname(copy);
    if (mkdir(dir, 0700) == 0) {
        if (chmod(dir, 0700) != 0)
            rc = rc_from_errno(errno);
    } else if (errno != EEXIST) {
        rc = rc_from_errno(errno);
    }
    free(copy);
    return rc;
}

/* Creates the store file 0600 if missing, so SQLite (which gives -wal and
 * -shm the main file's mode) never creates anything with the umask.  The
 * descriptor is only ever closed when O_EXCL created the file just now, so
 * no SQLite connection of this process can hold a lock on it yet. */
static p11kms_store_rc make_store_file(const char *path)
{
    p11kms_store_rc rc = make_parent_dir(path);
    int fd;

    if (rc != P11KMS_STORE_OK)
        return rc;
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? P11KMS_STORE_OK : rc_from_errno(errno);
    if (fchmod(fd, 0600) != 0)
        rc = rc_from_errno(errno);
    close(fd);
    return rc;
}

/*
 * Checks that path exists and is readable without creating anything.  No
 * open()/close() here: closing any descriptor of the store file would drop
 * every POSIX lock this process holds on it, including those of SQLite
 * connections other threads have open (the classic SQLite corruption).
 */
static p11kms_store_rc probe_file(const char *path)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return rc_from_errno(errno);
    if (!S_ISREG(sb.st_mode))
        return P11KMS_STORE_FOREIGN;
    if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) != 0)
        return rc_from_errno(errno);
    return P11KMS_STORE_OK;
}

static int file_exists(const char *path, const char *suffix)
{
    char buf[4096 + 8];
    struct stat sb;

    if (snprintf(buf, sizeof(buf), "%s%s", path, suffix) >= (int)sizeof(buf))
        return 0;
    return stat(buf, &sb) == 0;
}

/* URI-escapes path for a "file:" URI (only what the URI parser needs). */
static char *file_uri(const char *path, const char *query)
{
    size_t n = strlen(path), i, o = 0;
    char *u = malloc(n * 3 + strlen(query) + 16);

    if (u == NULL)
        return NULL;
    o += (size_t)sprintf(u, "file:");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '%' || c == '?' || c == '#' || c <= 0x20 || c >= 0x7f)
            o += (size_t)sprintf(u + o, "%%%02X", c);
        else
            u[o++] = (char)c;
    }
    sprintf(u + o, "?%s", query);
    return u;
}

static p11kms_store_rc connect_db(p11kms_store *st)
{
    int ro = (st->flags & P11KMS_STORE_OPEN_READONLY) != 0;
    int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE;
    p11kms_store_rc rc = P11KMS_STORE_OK;
    const char *query = "mode=rw";
    char *uri;
    int src;

    oflags |= ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (ro)
        query = (file_exists(st->path, "-wal") && file_exists(st->path, "-shm"))
                    ? "mode=ro"
                    : "mode=ro&immutable=1";
    uri = file_uri(st->path, query);
    if (uri == NULL)
        return P11KMS_STORE_NOMEM;
    src = sqlite3_open_v2(uri, &st->db, oflags, "unix");
    if (src != SQLITE_OK)
        rc = p11kms_store_rc_from_sqlite(src);
    free(uri);
    return rc;
}

static p11kms_store_rc pragmas(p11kms_store *st)
{
    char sql[256];
    int persist = 1;
    const char *sync = (st->flags & P11KMS_STORE_OPEN_SYNC_FULL) ? "FULL" : "NORMAL";

    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, st->busy_ms);
    /* Keep -wal/-shm after the last close so read-only openers never have
     * to create them (see the file comment). */
    sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    snprintf(sql, sizeof(sql),
             "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
             " PRAGMA temp_store = MEMORY; PRAGMA synchronous = %s;"
             " PRAGMA journal_size_limit = 1048576; PRAGMA trusted_schema = OFF;"
             " PRAGMA cache_size = -16384;",
             sync);
    return p11kms_store_exec(st, sql);
}

/* journal_mode=WAL; a concurrent first open may hold a lock briefly. */
static p11kms_store_rc set_wal(p11kms_store *st)
{
    p11kms_store_rc rc = P11KMS_STORE_BUSY;
    int i;

    for (i = 0; i < JOURNAL_MODE_TRIES && rc == P11KMS_STORE_BUSY; i++) {
        rc = p11kms_store_exec(st, "PRAGMA journal_mode = WAL");
        if (rc == P11KMS_STORE_BUSY)
            usleep(20000);
    }
    return rc;
}

/* Classifies the file and brings its schema up to date (read-write). */
static p11kms_store_rc prepare_schema(p11kms_store *st)
{
    int ro = (st->flags & P11KMS_STORE_OPEN_READONLY) != 0;
    int create = (st->flags & P11KMS_STORE_OPEN_CREATE) != 0;
    int version = 0;
    p11kms_store_rc rc = p11kms_store_schema_probe(st, &version);

    if (rc == P11KMS_STORE_NOTFOUND && create && !ro)
        rc = P11KMS_STORE_OK; /* an empty database: ours to create */
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (ro) {
        /* Never migrate read-only; an older store needs a writer first. */
        if (version < P11KMS_STORE_SCHEMA_VERSION)
            rc = P11KMS_STORE_NOT_INITIALIZED;
        goto done;
    }
    rc = set_wal(st);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (version < P11KMS_STORE_SCHEMA_VERSION)
        rc = p11kms_store_schema_migrate(st);
done:
    return rc;
}

p11kms_store_rc p11kms_store_open(const char *path, const p11kms_store_options *opts,
                                  p11kms_store **out)
{
    p11kms_store_rc rc = P11KMS_STORE_INVALID;
    p11kms_store *st = NULL;
    unsigned flags = opts != NULL ? opts->flags : 0;

    if (path == NULL || *path == '\0' || out == NULL || strlen(path) > 4096)
        goto done;
    *out = NULL;
    if ((flags & P11KMS_STORE_OPEN_READONLY) && (flags & P11KMS_STORE_OPEN_CREATE))
        goto done;
    rc = P11KMS_STORE_NOMEM;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto done;
    st->cache = calloc(1, sizeof(*st->cache));
    st->path = strdup(path);
    if (st->cache == NULL || st->path == NULL)
        goto done;
    st->pid = getpid();
    st->flags = flags;
    st->busy_ms = (opts != NULL && opts->busy_timeout_ms > 0) ? opts->busy_timeout_ms
                                                              : P11KMS_STORE_DEFAULT_BUSY_MS;
    rc = (flags & P11KMS_STORE_OPEN_CREATE) ? make_store_file(path) : probe_file(path);
    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = connect_db(st);
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (!(flags & P11KMS_STORE_OPEN_READONLY) && sqlite3_db_readonly(st->db, "main") == 1) {
        rc = P11KMS_STORE_READONLY; /* file or directory not writable */
        goto done;
    }
    rc = pragmas(st);
    if (rc == P11KMS_STORE_OK)
        rc = prepare_schema(st);
    if (rc != P11KMS_STORE_OK)
        goto done;
    *out = st;
    st = NULL;
done:
    p11kms_store_close(st);
    return rc;
}

void p11kms_store_close(p11kms_store *st)
{
    if (st == NULL)
        return;
    if (st->pid == getpid()) {
        if (st->audit_free != NULL)
            st->audit_free(st->audit_state);
        if (st->db != NULL && sqlite3_get_autocommit(st->db) == 0)
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        p11kms_store_stmt_cache_free(st);
        sqlite3_close_v2(st->db);
    } else {
        /* Forked child: the connection's file descriptors and POSIX locks
         * are shared with the parent; closing it here could drop the
         * parent's locks or checkpoint under it.  Leak it (and the
         * statements it owns) on purpose. */
        free(st->cache);
    }
    p11kms_secmem_free(st->root_key, P11KMS_STORE_ROOT_KEY_LEN);
    free(st->path);
    free(st);
}
