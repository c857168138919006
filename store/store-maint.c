/*
 * store/store-maint.c — whole-store maintenance for the owner's tools:
 * an online backup (SQLite's backup API: a consistent snapshot while other
 * processes keep working, written to a new 0600 file) and an integrity
 * check.  Backups carry only what the store holds anyway — material sealed
 * under the root key — so a backup is as safe as the store file itself.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/store-priv.h"

/* Creates dest 0600 with O_EXCL (never overwrites). */
static p11kms_store_rc create_dest(const char *dest)
{
    int fd = open(dest, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    p11kms_store_rc rc = P11KMS_STORE_OK;

    if (fd < 0) {
        if (errno == EEXIST)
            return P11KMS_STORE_EXISTS;
        return errno == EACCES ? P11KMS_STORE_PERM
                               : (errno == ENOSPC ? P11KMS_STORE_FULL : P11KMS_STORE_IO);
    }
    if (fchmod(fd, 0600) != 0)
        rc = P11KMS_STORE_IO;
    close(fd);
    return rc;
}

static p11kms_store_rc copy_into(p11kms_store *st, sqlite3 *dst)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", st->db, "main");
    int src;

    if (b == NULL)
        return p11kms_store_rc_from_sqlite(sqlite3_extended_errcode(dst));
    /* One step copies everything under one read snapshot of the source. */
    do {
        src = sqlite3_backup_step(b, -1);
        if (src == SQLITE_BUSY || src == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (src == SQLITE_OK || src == SQLITE_BUSY || src == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (src != SQLITE_DONE)
        return p11kms_store_rc_from_sqlite(src);
    return p11kms_store_rc_from_sqlite(sqlite3_errcode(dst));
}

p11kms_store_rc p11kms_store_backup(p11kms_store *st, const char *dest)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3 *dst = NULL;
    int created = 0;

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INVALID;
    if (dest == NULL || st->in_txn != 0)
        goto done;
    /* Fold the data-plane audit journals so the copy holds every record. */
    rc = p11kms_store_is_readonly(st) ? P11KMS_STORE_OK : p11kms_store_audit_flush(st);
    if (rc == P11KMS_STORE_OK)
        rc = create_dest(dest);
    if (rc != P11KMS_STORE_OK)
        goto done;
    created = 1;
    rc = p11kms_store_rc_from_sqlite(
        sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, "unix"));
    if (rc == P11KMS_STORE_OK)
        rc = copy_into(st, dst);
done:
    if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rc == P11KMS_STORE_OK)
        rc = P11KMS_STORE_IO;
    if (rc != P11KMS_STORE_OK && created)
        unlink(dest);
    return rc;
}

p11kms_store_rc p11kms_store_integrity_check(p11kms_store *st, int quick)
{
    p11kms_store_rc rc = p11kms_store_enter(st, 0);
    sqlite3_stmt *s = NULL;
    const unsigned char *msg;
    int src;

    if (rc != P11KMS_STORE_OK)
        goto done;
    src = sqlite3_prepare_v2(st->db, quick ? "PRAGMA quick_check" : "PRAGMA integrity_check", -1,
                             &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = p11kms_store_step_rc(st, src);
        goto done;
    }
    msg = sqlite3_column_text(s, 0);
    rc = (msg != NULL && strcmp((const char *)msg, "ok") == 0) ? P11KMS_STORE_OK
                                                               : P11KMS_STORE_CORRUPT;
    sqlite3_finalize(s);
    s = NULL;
    if (rc != P11KMS_STORE_OK)
        goto done;
    /* Dangling references (versions without a key...) are corruption too. */
    src = sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    rc = src == SQLITE_ROW ? P11KMS_STORE_CORRUPT : p11kms_store_step_rc(st, src);
done:
    sqlite3_finalize(s);
    return rc;
}
