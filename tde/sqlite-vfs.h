/*
 * tde/sqlite-vfs.h — internals of the SQLite encryption VFS "p11kms"
 * (sqlite3-p11kms.so), shared by its four files:
 *   sqlite-ext.c   extension entry points, auto-extension, p11kms_rekey()
 *   sqlite-vfs.c   the VFS object: xOpen picks how each file is encrypted
 *   sqlite-file.c  the sqlite3_io_methods: page, journal, WAL and temp I/O
 *   sqlite-db.c    one shared state per open database: keyring, mode, ciphers
 *   sqlite-page.c  the page codec (GCM with reserved bytes, or XTS)
 *   sqlite-temp.c  temporary files under a random per-file key
 * The on-disk layout of every file type is specified in docs/tde-sqlite.md.
 */
#ifndef P11KMS_TDE_SQLITE_VFS_H
#define P11KMS_TDE_SQLITE_VFS_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3ext.h>

#include "p11kms/tde.h"

SQLITE_EXTENSION_INIT3

#define TDE_VFS_NAME        "p11kms"
#define TDE_SQL_MAGIC       "P1KS"
#define TDE_SQL_FORMAT      1
#define TDE_SQL_TRAILER     44 /* DEK version 4 + P11KMS_TDE_GCM_TRAILER (nonce 24 + tag 16) */
#define TDE_SQL_CLEAR_FROM  16 /* header bytes 16..23 stay in the clear */
#define TDE_SQL_CLEAR_TO    24
#define TDE_SQL_PLAIN_MAGIC "SQLite format 3"

typedef enum tde_mode { TDE_MODE_PENDING = 0, TDE_MODE_XTS = 'X', TDE_MODE_GCM = 'G' } tde_mode;

/* One open database (shared by its connections, journal and WAL). */
typedef struct tde_db {
    struct tde_db *next;
    char *name; /* database path as SQLite names it */
    int refs;
    pthread_mutex_t lock;
    p11kms_tde_keyring *kr;
    p11kms_tde_page_cipher **ciphers; /* index = DEK version - 1 */
    uint32_t nciphers;
    tde_mode mode;
    tde_mode want;            /* URI mode=, PENDING = choose from reserve bytes */
    uint32_t page_size;       /* 0 until known */
    uint32_t xts_version;     /* DEK version of an XTS database */
    unsigned char file_id[8]; /* header bytes 8..15 */
    int have_id;
} tde_db;

/* ---- sqlite-db.c ---- */
int tde_db_acquire(const char *name, const char *uri_name, sqlite3_vfs *real, int create,
                   tde_db **out, char **errmsg);
void tde_db_release(tde_db *db);
tde_db *tde_db_find(const char *name); /* adds a reference */
/* The cipher of a DEK version (0 = latest). */
p11kms_tde_page_cipher *tde_db_cipher(tde_db *db, uint32_t version, uint32_t *used);
/* Decide mode and page size from a plaintext page 1 (first write). */
int tde_db_learn_page1(tde_db *db, const unsigned char *page, int amt);
/* Mode, page size and file id from an encrypted header (open, recovery). */
int tde_db_learn_header(tde_db *db, const unsigned char hdr[TDE_SQL_CLEAR_TO]);
int tde_db_rekey(tde_db *db, int new_dek, char **errmsg);

/* ---- sqlite-file.c ---- */
typedef enum tde_kind { TDE_F_MAIN, TDE_F_JOURNAL, TDE_F_WAL, TDE_F_TEMP, TDE_F_PASS } tde_kind;

typedef struct tde_file {
    sqlite3_file base;
    sqlite3_file *real; /* the unix VFS's file, allocated right after */
    tde_kind kind;
    tde_db *db;                  /* MAIN, JOURNAL, WAL */
    p11kms_tde_page_cipher *eph; /* TEMP: a random key that dies with the file */
    sqlite3_int64 logical_size;  /* TEMP: size without the 16-byte padding */
    uint32_t wal_pgno;           /* WAL: page number of the last frame header */
    uint32_t wal_page_size;      /* WAL: page size from the WAL header */
} tde_file;

extern const sqlite3_io_methods tde_io_methods;
int tde_file_init_temp(tde_file *f);

/* ---- sqlite-temp.c ---- */
int tde_temp_read(tde_file *f, void *out, int amt, sqlite3_int64 off);
int tde_temp_write(tde_file *f, const void *in, int amt, sqlite3_int64 off);
int tde_temp_truncate(tde_file *f, sqlite3_int64 size);

/* Page codecs (sqlite-page.c), AAD binding kind, ids and position. */
int tde_page_encrypt(tde_db *db, char kind, uint64_t where, uint32_t pgno, const unsigned char *in,
                     unsigned char *out, uint32_t psz);
int tde_page_decrypt(tde_db *db, char kind, uint64_t where, uint32_t pgno, const unsigned char *in,
                     unsigned char *out, uint32_t psz);

/* ---- sqlite-vfs.c ---- */
int tde_vfs_register(void);
sqlite3_vfs *tde_vfs_self(void);
void tde_vfs_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- sqlite-ext.c: the entry points SQLite looks up ----
 * sqlite3_extension_init is tried first; the name derived from the file
 * name "sqlite3-p11kms.so" keeps only letters: sqlite3_sqlitepkms_init. */
int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);
int sqlite3_sqlitepkms_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);
int sqlite3_sqlitep11kms_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

#endif /* P11KMS_TDE_SQLITE_VFS_H */
