/*
 * tde/sqlite-page.c — how one SQLite page is encrypted, wherever it lies
 * (main database 'D', rollback journal 'J', WAL 'W'); docs/tde-sqlite.md.
 *
 * GCM mode (default): the page's last 44 reserved bytes hold the DEK
 * version, the XAES nonce and the tag; the AAD binds the file kind, the
 * keyring id, the position (page number in the database, byte offset in a
 * journal or WAL) and, for database pages, the file id, so a page that is
 * moved, swapped or copied into another file fails.  XTS mode: the whole
 * page, tweak = page number (database) or offset (journal, WAL; the kind in
 * the tweak's top byte).  Page 1 of the database keeps bytes 16..23 (page
 * size, reserved bytes) in the clear, as SQLite must read them before it
 * knows the page size; bytes 0..15 become the p11kms header.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "tde/sqlite-vfs.h"

static const char plain_magic[16] = "SQLite format 3";

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* kind || keyring id || file id (D only) || where || version || page-1 clear bytes */
static size_t make_aad(tde_db *db, char kind, uint64_t where, uint32_t version,
                       const unsigned char *clear, unsigned char aad[48])
{
    memset(aad, 0, 48);
    aad[0] = (unsigned char)kind;
    memcpy(aad + 1, p11kms_tde_keyring_id(db->kr), P11KMS_TDE_ID_LEN);
    if (kind == 'D')
        memcpy(aad + 17, db->file_id, 8);
    for (int i = 0; i < 8; i++)
        aad[25 + i] = (unsigned char)(where >> (56 - 8 * i));
    be32(aad + 33, version);
    if (clear != NULL)
        memcpy(aad + 37, clear, 8);
    return 45;
}

static uint64_t xts_tweak(char kind, uint64_t where)
{
    return kind == 'D' ? where : ((uint64_t)(unsigned char)kind << 56) | where;
}

static void write_header(tde_db *db, unsigned char *out)
{
    memcpy(out, TDE_SQL_MAGIC, 4);
    out[4] = TDE_SQL_FORMAT;
    out[5] = (unsigned char)db->mode;
    out[6] = (unsigned char)(db->xts_version >> 8);
    out[7] = (unsigned char)db->xts_version;
    memcpy(out + 8, db->file_id, 8);
}

int tde_page_encrypt(tde_db *db, char kind, uint64_t where, uint32_t pgno, const unsigned char *in,
                     unsigned char *out, uint32_t psz)
{
    size_t start = kind == 'D' && pgno == 1 ? TDE_SQL_CLEAR_TO : 0, body;
    const unsigned char *clear = start ? in + TDE_SQL_CLEAR_FROM : NULL;
    unsigned char aad[48];
    uint32_t v = 0;
    p11kms_tde_page_cipher *c;

    if (start) {
        write_header(db, out);
        memcpy(out + TDE_SQL_CLEAR_FROM, in + TDE_SQL_CLEAR_FROM, 8);
    }
    if (db->mode == TDE_MODE_XTS) {
        c = tde_db_cipher(db, db->xts_version, NULL);
        return c != NULL && p11kms_tde_xts_encrypt(c, xts_tweak(kind, where), in + start,
                                                   psz - start, out + start);
    }
    c = tde_db_cipher(db, 0, &v);
    body = psz - TDE_SQL_TRAILER;
    if (c == NULL || db->mode != TDE_MODE_GCM || psz < 512)
        return 0;
    be32(out + body, v);
    return p11kms_tde_gcm_seal(c, aad, make_aad(db, kind, where, v, clear, aad), in + start,
                               body - start, out + start, out + body + 4);
}

static int gcm_open(tde_db *db, char kind, uint64_t where, size_t start, const unsigned char *in,
                    unsigned char *out, uint32_t psz)
{
    size_t body = psz - TDE_SQL_TRAILER;
    uint32_t v = get_be32(in + body);
    const unsigned char *clear = start ? in + TDE_SQL_CLEAR_FROM : NULL;
    unsigned char aad[48], trailer[P11KMS_TDE_GCM_TRAILER];
    p11kms_tde_page_cipher *c = v != 0 ? tde_db_cipher(db, v, NULL) : NULL;

    memcpy(trailer, in + body + 4, sizeof(trailer)); /* in may equal out */
    if (c == NULL || !p11kms_tde_gcm_open(c, aad, make_aad(db, kind, where, v, clear, aad),
                                          in + start, body - start, trailer, out + start))
        return 0;
    memset(out + body, 0, TDE_SQL_TRAILER);
    return 1;
}

int tde_page_decrypt(tde_db *db, char kind, uint64_t where, uint32_t pgno, const unsigned char *in,
                     unsigned char *out, uint32_t psz)
{
    size_t start = kind == 'D' && pgno == 1 ? TDE_SQL_CLEAR_TO : 0;
    p11kms_tde_page_cipher *c;
    int ok;

    if (start)
        memmove(out + TDE_SQL_CLEAR_FROM, in + TDE_SQL_CLEAR_FROM, 8);
    if (db->mode == TDE_MODE_XTS) {
        c = tde_db_cipher(db, db->xts_version, NULL);
        ok = c != NULL && p11kms_tde_xts_decrypt(c, xts_tweak(kind, where), in + start, psz - start,
                                                 out + start);
    } else {
        ok = db->mode == TDE_MODE_GCM && psz >= 512 &&
             gcm_open(db, kind, where, start, in, out, psz);
    }
    if (ok && start)
        memcpy(out, plain_magic, sizeof(plain_magic));
    return ok;
}
