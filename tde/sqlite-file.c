/*
 * tde/sqlite-file.c — the sqlite3_io_methods of the p11kms VFS: every read
 * and write of a database, journal, WAL or temporary file passes here and
 * is encrypted according to the file's kind (docs/tde-sqlite.md).
 *
 * SQLite's access patterns make the page images easy to find: the main
 * database is read and written in whole pages (its 100-byte header read
 * included, served from page 1); a rollback journal record is a 4-byte page
 * number, the page, a 4-byte checksum, so a page image is a page-sized
 * access at an offset = 4 (mod 8) while headers sit on sector boundaries;
 * a WAL is a 32-byte header then frames of a 24-byte header and a page.
 * Headers, page numbers and checksums stay in the clear (they hold no row
 * data; the documentation lists what they reveal).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tde/sqlite-vfs.h"

#define WAL_HDR   32
#define FRAME_HDR 24

static sqlite3_file *real(sqlite3_file *f)
{
    return ((tde_file *)f)->real;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- main database ------------------------------------------------------ */

static int main_read(tde_file *f, void *out, int amt, sqlite3_int64 off)
{
    uint32_t psz = f->db->page_size;
    sqlite3_int64 pgno, base;
    unsigned char *page;
    int rc;

    if (psz == 0)
        return f->real->pMethods->xRead(f->real, out, amt, off);
    pgno = off / psz + 1;
    base = (pgno - 1) * (sqlite3_int64)psz;
    if (off + amt > base + psz || (page = malloc(psz)) == NULL)
        return SQLITE_IOERR_READ;
    rc = f->real->pMethods->xRead(f->real, page, (int)psz, base);
    if (rc == SQLITE_OK &&
        !tde_page_decrypt(f->db, 'D', (uint64_t)pgno, (uint32_t)pgno, page, page, psz)) {
        tde_vfs_report("%s: page %lld failed authentication (corrupt or tampered)", f->db->name,
                       (long long)pgno);
        rc = SQLITE_IOERR_DATA;
    }
    if (rc == SQLITE_OK)
        memcpy(out, page + (off - base), (size_t)amt);
    else if (rc == SQLITE_IOERR_SHORT_READ)
        memset(out, 0, (size_t)amt);
    OPENSSL_clear_free(page, psz);
    return rc;
}

static int main_write(tde_file *f, const void *in, int amt, sqlite3_int64 off)
{
    unsigned char *page;
    uint32_t psz;
    int rc = SQLITE_OK;

    if (off == 0 && !tde_db_learn_page1(f->db, in, amt))
        return SQLITE_IOERR_WRITE;
    psz = f->db->page_size;
    if (psz == 0 || (uint32_t)amt != psz || off % psz != 0 || (page = malloc(psz)) == NULL)
        return SQLITE_IOERR_WRITE;
    if (!tde_page_encrypt(f->db, 'D', (uint64_t)(off / psz + 1), (uint32_t)(off / psz + 1), in,
                          page, psz))
        rc = SQLITE_IOERR_WRITE;
    if (rc == SQLITE_OK)
        rc = f->real->pMethods->xWrite(f->real, page, (int)psz, off);
    OPENSSL_clear_free(page, psz);
    return rc;
}

/* ---- page images inside journals and WALs ------------------------------- */

static int image_read(tde_file *f, char kind, unsigned char *out, uint32_t psz, sqlite3_int64 off)
{
    int rc = f->real->pMethods->xRead(f->real, out, (int)psz, off);

    if (rc == SQLITE_OK && !tde_page_decrypt(f->db, kind, (uint64_t)off, 0, out, out, psz)) {
        tde_vfs_report("%s: a %s page failed authentication", f->db->name,
                       kind == 'W' ? "WAL" : "journal");
        rc = SQLITE_IOERR_DATA;
    }
    return rc;
}

static int image_write(tde_file *f, char kind, const unsigned char *in, uint32_t psz,
                       sqlite3_int64 off)
{
    unsigned char *page = malloc(psz);
    int rc = page != NULL && tde_page_encrypt(f->db, kind, (uint64_t)off, 0, in, page, psz)
                 ? f->real->pMethods->xWrite(f->real, page, (int)psz, off)
                 : SQLITE_IOERR_WRITE;

    if (page != NULL)
        OPENSSL_clear_free(page, psz);
    return rc;
}

static int is_journal_image(tde_file *f, int amt, sqlite3_int64 off)
{
    return f->db->page_size != 0 && (uint32_t)amt == f->db->page_size && off % 8 == 4;
}

static uint32_t wal_psz(tde_file *f)
{
    return f->wal_page_size ? f->wal_page_size : f->db->page_size;
}

/* 1: page image, 2: whole frame, 0: header bytes. */
static int wal_part(tde_file *f, int amt, sqlite3_int64 off)
{
    uint32_t psz = wal_psz(f);
    sqlite3_int64 rel = off - WAL_HDR;

    if (psz == 0 || rel < 0)
        return 0;
    if ((uint32_t)amt == psz && rel % (psz + FRAME_HDR) == FRAME_HDR)
        return 1;
    if ((uint32_t)amt == psz + FRAME_HDR && rel % (psz + FRAME_HDR) == 0)
        return 2;
    return 0;
}

/* A database whose file is still empty learns its mode from a WAL page 1. */
static int wal_pending_page1(tde_file *f, const unsigned char *plain)
{
    if (f->db->mode != TDE_MODE_PENDING)
        return 1;
    return f->wal_pgno == 1 && tde_db_learn_page1(f->db, plain, (int)wal_psz(f));
}

/* Recovery of a WAL whose database file was never written: try GCM first. */
static void wal_guess_mode(tde_file *f)
{
    if (f->db->mode == TDE_MODE_PENDING)
        f->db->mode = f->db->want != TDE_MODE_PENDING ? f->db->want : TDE_MODE_GCM;
}

static int wal_read(tde_file *f, unsigned char *out, int amt, sqlite3_int64 off)
{
    int part = wal_part(f, amt, off), rc;

    if (part == 0) {
        rc = f->real->pMethods->xRead(f->real, out, amt, off);
        if (rc == SQLITE_OK && off == 0 && amt >= WAL_HDR)
            f->wal_page_size = be32(out + 8);
        return rc;
    }
    wal_guess_mode(f);
    if (part == 1)
        return image_read(f, 'W', out, wal_psz(f), off);
    rc = f->real->pMethods->xRead(f->real, out, FRAME_HDR, off);
    return rc == SQLITE_OK ? image_read(f, 'W', out + FRAME_HDR, wal_psz(f), off + FRAME_HDR) : rc;
}

static int wal_write(tde_file *f, const unsigned char *in, int amt, sqlite3_int64 off)
{
    int part;

    if (off == 0 && amt >= WAL_HDR)
        f->wal_page_size = be32(in + 8);
    part = wal_part(f, amt, off);
    if (part == 0) {
        if (amt == FRAME_HDR && off >= WAL_HDR)
            f->wal_pgno = be32(in);
        return f->real->pMethods->xWrite(f->real, in, amt, off);
    }
    if (part == 2) {
        int rc;
        f->wal_pgno = be32(in);
        rc = f->real->pMethods->xWrite(f->real, in, FRAME_HDR, off);
        if (rc != SQLITE_OK)
            return rc;
        in += FRAME_HDR;
        off += FRAME_HDR;
    }
    if (!wal_pending_page1(f, in))
        return SQLITE_IOERR_WRITE;
    return image_write(f, 'W', in, wal_psz(f), off);
}

/* ---- io methods --------------------------------------------------------- */

static int x_read(sqlite3_file *sf, void *out, int amt, sqlite3_int64 off)
{
    tde_file *f = (tde_file *)sf;

    switch (f->kind) {
    case TDE_F_MAIN:
        return main_read(f, out, amt, off);
    case TDE_F_JOURNAL:
        if (is_journal_image(f, amt, off))
            return image_read(f, 'J', out, f->db->page_size, off);
        break;
    case TDE_F_WAL:
        return wal_read(f, out, amt, off);
    case TDE_F_TEMP:
        return tde_temp_read(f, out, amt, off);
    case TDE_F_PASS:
        break;
    }
    return f->real->pMethods->xRead(f->real, out, amt, off);
}

static int x_write(sqlite3_file *sf, const void *in, int amt, sqlite3_int64 off)
{
    tde_file *f = (tde_file *)sf;

    switch (f->kind) {
    case TDE_F_MAIN:
        return main_write(f, in, amt, off);
    case TDE_F_JOURNAL:
        if (is_journal_image(f, amt, off))
            return image_write(f, 'J', in, f->db->page_size, off);
        break;
    case TDE_F_WAL:
        return wal_write(f, in, amt, off);
    case TDE_F_TEMP:
        return tde_temp_write(f, in, amt, off);
    case TDE_F_PASS:
        break;
    }
    return f->real->pMethods->xWrite(f->real, in, amt, off);
}

static int x_close(sqlite3_file *sf)
{
    tde_file *f = (tde_file *)sf;
    int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;

    tde_db_release(f->db);
    p11kms_tde_page_cipher_free(f->eph);
    f->db = NULL;
    f->eph = NULL;
    return rc;
}

static int x_truncate(sqlite3_file *sf, sqlite3_int64 size)
{
    tde_file *f = (tde_file *)sf;
    if (f->kind == TDE_F_TEMP)
        return tde_temp_truncate(f, size);
    return f->real->pMethods->xTruncate(f->real, size);
}

static int x_file_size(sqlite3_file *sf, sqlite3_int64 *size)
{
    tde_file *f = (tde_file *)sf;
    if (f->kind == TDE_F_TEMP) {
        *size = f->logical_size;
        return SQLITE_OK;
    }
    return f->real->pMethods->xFileSize(f->real, size);
}

static int x_sync(sqlite3_file *f, int flags)
{
    return real(f)->pMethods->xSync(real(f), flags);
}

static int x_lock(sqlite3_file *f, int l)
{
    return real(f)->pMethods->xLock(real(f), l);
}

static int x_unlock(sqlite3_file *f, int l)
{
    return real(f)->pMethods->xUnlock(real(f), l);
}

static int x_check_reserved(sqlite3_file *f, int *out)
{
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
}

static int x_file_control(sqlite3_file *f, int op, void *arg)
{
    if (op == SQLITE_FCNTL_VFSNAME) {
        *(char **)arg = sqlite3_mprintf("%s", TDE_VFS_NAME);
        return SQLITE_OK;
    }
    return real(f)->pMethods->xFileControl(real(f), op, arg);
}

static int x_sector_size(sqlite3_file *f)
{
    return real(f)->pMethods->xSectorSize(real(f));
}

static int x_device_chars(sqlite3_file *f)
{
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
}

static int x_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
    return real(f)->pMethods->xShmMap(real(f), pg, sz, extend, pp);
}

static int x_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}

static void x_shm_barrier(sqlite3_file *f)
{
    real(f)->pMethods->xShmBarrier(real(f));
}

static int x_shm_unmap(sqlite3_file *f, int del)
{
    return real(f)->pMethods->xShmUnmap(real(f), del);
}

/* Version 2: WAL shared memory, but no xFetch, so SQLite never memory-maps
 * (and so never reads ciphertext directly). */
const sqlite3_io_methods tde_io_methods = {
    2,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved,
    x_file_control,
    x_sector_size,
    x_device_chars,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    NULL,
    NULL,
};
