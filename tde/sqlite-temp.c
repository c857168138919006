/*
 * tde/sqlite-temp.c — encrypted temporary files (temp databases, statement
 * sub-journals, sorter and materialisation files: Debian's SQLite writes
 * them to disk).  They are private to one handle and deleted on close, so
 * each gets a random key that lives only in protected memory and dies with
 * it: no keyring, no KMS call.  Their writes have any size and offset, so
 * the file is cut into 512-byte units, each AES-256-XTS encrypted with its
 * index as tweak; a partial write re-encrypts the units it touches.  The
 * file on disk is padded to a whole unit; the logical size is kept in
 * memory (a temporary file is never reopened).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "tde/sqlite-vfs.h"

#define UNIT 512

int tde_file_init_temp(tde_file *f)
{
    unsigned char key[96];
    int ok = getrandom(key, sizeof(key), 0) == (ssize_t)sizeof(key) &&
             p11kms_tde_page_cipher_raw(key, key + 64, &f->eph, NULL);

    OPENSSL_cleanse(key, sizeof(key));
    f->logical_size = 0;
    return ok;
}

/* Read and decrypt units [first, first + n) into buf (zeros past the end). */
static int read_units(tde_file *f, sqlite3_int64 first, size_t n, unsigned char *buf)
{
    sqlite3_int64 disk_units = (f->logical_size + UNIT - 1) / UNIT;

    memset(buf, 0, n * UNIT);
    for (size_t i = 0; i < n; i++) {
        sqlite3_int64 u = first + (sqlite3_int64)i;
        unsigned char *p = buf + i * UNIT;
        if (u >= disk_units)
            break;
        int rc = f->real->pMethods->xRead(f->real, p, UNIT, u * UNIT);
        if (rc != SQLITE_OK)
            return rc;
        if (!p11kms_tde_xts_decrypt(f->eph, (uint64_t)u, p, UNIT, p))
            return SQLITE_IOERR_READ;
    }
    return SQLITE_OK;
}

int tde_temp_read(tde_file *f, void *out, int amt, sqlite3_int64 off)
{
    sqlite3_int64 first = off / UNIT, last = (off + amt + UNIT - 1) / UNIT;
    size_t n = (size_t)(last - first);
    unsigned char *buf = malloc(n * UNIT);
    int rc = buf ? read_units(f, first, n, buf) : SQLITE_IOERR_NOMEM;

    if (rc == SQLITE_OK) {
        memcpy(out, buf + (off - first * UNIT), (size_t)amt);
        if (off + amt > f->logical_size) {
            sqlite3_int64 have = f->logical_size > off ? f->logical_size - off : 0;
            memset((unsigned char *)out + have, 0, (size_t)(amt - have));
            rc = SQLITE_IOERR_SHORT_READ;
        }
    }
    if (buf != NULL)
        OPENSSL_clear_free(buf, n * UNIT);
    return rc;
}

int tde_temp_write(tde_file *f, const void *in, int amt, sqlite3_int64 off)
{
    sqlite3_int64 first = off / UNIT, last = (off + amt + UNIT - 1) / UNIT;
    size_t n = (size_t)(last - first);
    unsigned char *buf = malloc(n * UNIT);
    int rc = buf ? read_units(f, first, n, buf) : SQLITE_IOERR_NOMEM;

    if (rc == SQLITE_OK) {
        memcpy(buf + (off - first * UNIT), in, (size_t)amt);
        for (size_t i = 0; i < n && rc == SQLITE_OK; i++)
            if (!p11kms_tde_xts_encrypt(f->eph, (uint64_t)(first + (sqlite3_int64)i),
                                        buf + i * UNIT, UNIT, buf + i * UNIT))
                rc = SQLITE_IOERR_WRITE;
    }
    if (rc == SQLITE_OK)
        rc = f->real->pMethods->xWrite(f->real, buf, (int)(n * UNIT), first * UNIT);
    if (rc == SQLITE_OK && off + amt > f->logical_size)
        f->logical_size = off + amt;
    if (buf != NULL)
        OPENSSL_clear_free(buf, n * UNIT);
    return rc;
}

/* Truncate: zero the tail of the last unit so a later extension reads zeros. */
int tde_temp_truncate(tde_file *f, sqlite3_int64 size)
{
    sqlite3_int64 units = (size + UNIT - 1) / UNIT;
    int rc = SQLITE_OK;

    if (size < f->logical_size && size % UNIT != 0) {
        unsigned char zero[UNIT] = {0};
        rc = tde_temp_write(f, zero, (int)(UNIT - size % UNIT), size);
    }
    if (rc == SQLITE_OK)
        rc = f->real->pMethods->xTruncate(f->real, units * UNIT);
    if (rc == SQLITE_OK && size < f->logical_size)
        f->logical_size = size;
    return rc;
}
