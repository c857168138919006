/*
 * tests/store/test-store.c — functional tests of the key store: opening
 * (modes, read-only never creating, foreign/garbage/newer files), schema
 * migrations, the token and PIN life cycle, material sealing and its AAD
 * binding, plaintext never on disk, lists and lookups, the smaller tables,
 * change detection and fork safety.  Concurrency and crash tests live in
 * test-store-stress.c.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crypto.h"
#include "store/store-priv.h"
#include "store/store.h"
#include "tests/store/store-testutil.h"

/* ------------------------------------------------------------------------ */
/* Opening                                                                  */

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(test_readonly_missing_creates_nothing)
{
    p11kms_store_options o = {P11KMS_STORE_OPEN_READONLY, 0};
    p11kms_store *st = NULL;
    char sub[1100];

    ck_assert_int_eq(p11kms_store_open(tu_path, &o, &st), P11KMS_STORE_NOTFOUND);
    ck_assert_ptr_null(st);
    snprintf(sub, sizeof(sub), "%s/sub/store.db", tu_dir);
    ck_assert_int_eq(p11kms_store_open(sub, &o, &st), P11KMS_STORE_NOTFOUND);
    /* Read-write without CREATE does not create either. */
    ck_assert_int_eq(p11kms_store_open(tu_path, NULL, &st), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(dir_entries(tu_dir), 0);
}
END_TEST

START_TEST(test_create_modes)
{
    p11kms_store_options o = {P11KMS_STORE_OPEN_CREATE, 0};
    p11kms_store *st = NULL;
    struct stat sb;
    char sub[300], p[1100];
    mode_t old = umask(0);

    snprintf(sub, sizeof(sub), "%s/data", tu_dir);
    snprintf(tu_path, sizeof(tu_path), "%s/store.db", sub);
    ck_assert_int_eq(p11kms_store_open(tu_path, &o, &st), P11KMS_STORE_OK);
    umask(old);
    ck_assert_int_eq(stat(sub, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0700);
    ck_assert_int_eq(stat(tu_path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0600);
    snprintf(p, sizeof(p), "%s-wal", tu_path);
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0600);
    p11kms_store_close(st);
    /* Reopen read-write, then read-only: both fine. */
    st = tu_open(0);
    p11kms_store_close(st);
    st = tu_open(P11KMS_STORE_OPEN_READONLY);
    ck_assert_int_eq(p11kms_store_is_readonly(st), 1);
    p11kms_store_close(st);
}
END_TEST

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    sqlite3_close(db);
}

START_TEST(test_bad_files)
{
    p11kms_store_options ro = {P11KMS_STORE_OPEN_READONLY, 0};
    p11kms_store_options cr = {P11KMS_STORE_OPEN_CREATE, 0};
    p11kms_store *st = NULL;
    unsigned char garbage[8192];
    char p[1100];

    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (unsigned char)(i * 7 + 3);
    write_file(tu_path, garbage, sizeof(garbage));
    ck_assert_int_eq(p11kms_store_open(tu_path, NULL, &st), P11KMS_STORE_CORRUPT);
    ck_assert_int_eq(p11kms_store_open(tu_path, &ro, &st), P11KMS_STORE_CORRUPT);
    ck_assert_int_eq(p11kms_store_open(tu_path, &cr, &st), P11KMS_STORE_CORRUPT);

    snprintf(p, sizeof(p), "%s/foreign.db", tu_dir);
    sql_exec(p, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    ck_assert_int_eq(p11kms_store_open(p, NULL, &st), P11KMS_STORE_FOREIGN);
    ck_assert_int_eq(p11kms_store_open(p, &cr, &st), P11KMS_STORE_FOREIGN);
    ck_assert_int_eq(p11kms_store_open(p, &ro, &st), P11KMS_STORE_FOREIGN);
    /* The foreign file was not converted to WAL or otherwise touched. */
    snprintf(p, sizeof(p), "%s/foreign.db-wal", tu_dir);
    ck_assert_int_ne(access(p, F_OK), 0);

    snprintf(p, sizeof(p), "%s/empty.db", tu_dir);
    write_file(p, "", 0);
    ck_assert_int_eq(p11kms_store_open(p, NULL, &st), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_open(p, &cr, &st), P11KMS_STORE_OK);
    p11kms_store_close(st);

    snprintf(p, sizeof(p), "%s/unreadable.db", tu_dir);
    write_file(p, "", 0);
    chmod(p, 0);
    if (geteuid() != 0) /* root reads anything */
        ck_assert_int_eq(p11kms_store_open(p, NULL, &st), P11KMS_STORE_PERM);
}
END_TEST

START_TEST(test_locked_file)
{
    p11kms_store_options o = {0, 100};
    p11kms_store *st = tu_open(P11KMS_STORE_OPEN_CREATE);
    sqlite3 *db = NULL;

    p11kms_store_close(st);
    /* Another program holding an exclusive lock: a clear BUSY, not a hang. */
    ck_assert_int_eq(sqlite3_open(tu_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;"
                                  " UPDATE meta SET value = value WHERE 0;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(p11kms_store_open(tu_path, &o, &st), P11KMS_STORE_BUSY);
    ck_assert_ptr_null(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    ck_assert_int_eq(p11kms_store_open(tu_path, &o, &st), P11KMS_STORE_OK);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_too_new_and_old)
{
    p11kms_store *st = tu_open(P11KMS_STORE_OPEN_CREATE);
    p11kms_store_options ro = {P11KMS_STORE_OPEN_READONLY, 0};
    char sql[128];

    p11kms_store_close(st);
    sql_exec(tu_path, "PRAGMA user_version = 99");
    ck_assert_int_eq(p11kms_store_open(tu_path, NULL, &st), P11KMS_STORE_TOO_NEW);
    ck_assert_int_eq(p11kms_store_open(tu_path, &ro, &st), P11KMS_STORE_TOO_NEW);

    /* A version-0 p11kms file (an interrupted first creation) upgrades. */
    unlink(tu_path);
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", P11KMS_STORE_APPLICATION_ID);
    sql_exec(tu_path, sql);
    ck_assert_int_eq(p11kms_store_open(tu_path, &ro, &st), P11KMS_STORE_NOT_INITIALIZED);
    st = tu_open(0);
    p11kms_store_close(st);
    st = tu_open(P11KMS_STORE_OPEN_READONLY);
    p11kms_store_close(st);
}
END_TEST

static int user_version(p11kms_store *st)
{
    sqlite3_stmt *s = NULL;
    int v = -1;

    ck_assert_int_eq(sqlite3_prepare_v2(p11kms_store_db(st), "PRAGMA user_version", -1, &s, NULL),
                     SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

START_TEST(test_migration_steps)
{
    /* A future v2 whose second statement fails: nothing of it may stick. */
    static const p11kms_store_migration bad[] = {
        {2, "ALTER TABLE keys ADD COLUMN extra INTEGER; INSERT INTO nosuch VALUES (1);", 0},
    };
    static const p11kms_store_migration good[] = {
        {2, "ALTER TABLE keys ADD COLUMN extra INTEGER;", 0},
        {3, "CREATE TABLE v3 (x);", 0},
    };
    p11kms_store *st = tu_open(P11KMS_STORE_OPEN_CREATE);
    p11kms_store_rc rc;

    ck_assert_int_eq(user_version(st), 1);
    rc = p11kms_store_schema_migrate_steps(st, bad, 1, 2);
    ck_assert_int_ne(rc, P11KMS_STORE_OK);
    ck_assert_int_eq(user_version(st), 1);
    ck_assert_int_eq(sqlite3_exec(p11kms_store_db(st), "SELECT extra FROM keys", NULL, NULL, NULL),
                     SQLITE_ERROR);
    /* An older store (v1) is brought to v3 by every missing step at once. */
    ck_assert_int_eq(p11kms_store_schema_migrate_steps(st, good, 2, 3), P11KMS_STORE_OK);
    ck_assert_int_eq(user_version(st), 3);
    ck_assert_int_eq(sqlite3_exec(p11kms_store_db(st), "SELECT extra FROM keys; SELECT x FROM v3",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    /* ... and this build now refuses it. */
    ck_assert_int_eq(p11kms_store_schema_migrate_steps(st, good, 2, 2), P11KMS_STORE_TOO_NEW);
    p11kms_store_close(st);
    ck_assert_int_eq(p11kms_store_open(tu_path, NULL, &st), P11KMS_STORE_TOO_NEW);
}
END_TEST

START_TEST(test_readonly_no_wal_files)
{
    p11kms_store *st = tu_token();
    p11kms_store_token_info info;
    p11kms_store_key k;
    char p[1100];

    tu_key(&k, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(
        p11kms_store_key_create(st, &k, (const unsigned char *)"0123456789abcdef", 16, NULL, 0),
        P11KMS_STORE_OK);
    p11kms_store_close(st);
    /* A copied/restored store without -wal/-shm: read-only open creates none. */
    snprintf(p, sizeof(p), "%s-wal", tu_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", tu_path);
    unlink(p);
    ck_assert_int_eq(dir_entries(tu_dir), 1);
    st = tu_open(P11KMS_STORE_OPEN_READONLY);
    ck_assert_int_eq(p11kms_store_token_info_get(st, &info), P11KMS_STORE_OK);
    ck_assert_int_eq(info.initialized, 1);
    ck_assert_str_eq(info.label, "test token");
    ck_assert_int_eq(p11kms_store_key_get(st, k.key_id, &k), P11KMS_STORE_OK);
    p11kms_store_key_clear(&k);
    /* Writes are refused on a read-only handle. */
    ck_assert_int_eq(p11kms_store_token_set_flags(st, 1), P11KMS_STORE_READONLY);
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_READONLY);
    p11kms_store_close(st);
    ck_assert_int_eq(dir_entries(tu_dir), 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Token and PINs                                                           */

static p11kms_store_token_params low_params(p11kms_store_kdf *kdf)
{
    p11kms_store_token_params p = {0};

    ck_assert_int_eq(p11kms_store_kdf_from_cost(10, kdf), P11KMS_STORE_OK);
    p.label = "t";
    p.kdf = kdf;
    return p;
}

START_TEST(test_token_init)
{
    p11kms_store_kdf kdf;
    p11kms_store_token_params p = low_params(&kdf);
    p11kms_store_token_info info;
    p11kms_store *st = tu_open(P11KMS_STORE_OPEN_CREATE);

    ck_assert_int_eq(p11kms_store_token_info_get(st, &info), P11KMS_STORE_OK);
    ck_assert_int_eq(info.initialized, 0);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_SO, SO_PIN, strlen(SO_PIN)),
                     P11KMS_STORE_NOT_INITIALIZED);
    ck_assert_int_eq(p11kms_store_token_init(st, "short", 5, &p), P11KMS_STORE_PIN_LEN_RANGE);
    p.min_pin_len = 4;
    ck_assert_int_eq(p11kms_store_token_init(st, "short", 5, &p), P11KMS_STORE_OK);
    p.min_pin_len = 0;
    ck_assert_int_eq(p11kms_store_token_init(st, SO_PIN, strlen(SO_PIN), &p),
                     P11KMS_STORE_ALREADY_INITIALIZED);
    p.allow_reinit = 1;
    ck_assert_int_eq(p11kms_store_token_init(st, SO_PIN, strlen(SO_PIN), &p),
                     P11KMS_STORE_PIN_INCORRECT);
    ck_assert_int_eq(p11kms_store_token_init(st, SO_PIN, strlen(SO_PIN) - 1, &p),
                     P11KMS_STORE_PIN_INCORRECT);
    p.label = "second";
    ck_assert_int_eq(p11kms_store_token_init(st, "short", 5, &p), P11KMS_STORE_PIN_LEN_RANGE);
    p.min_pin_len = 4;
    ck_assert_int_eq(p11kms_store_token_init(st, "short", 5, &p), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_token_info_get(st, &info), P11KMS_STORE_OK);
    ck_assert_int_eq(info.initialized, 1);
    ck_assert_int_eq(info.user_pin_set, 0);
    ck_assert_str_eq(info.label, "second");
    ck_assert_uint_eq(strlen(info.serial), 16);
    ck_assert_uint_eq(info.min_pin_len, 4);
    ck_assert_uint_eq(info.max_failures, 10);
    ck_assert_uint_eq(info.kdf.n, 1024);
    ck_assert_uint_eq(info.so_failures, 0);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, "whatever", 8),
                     P11KMS_STORE_NOT_INITIALIZED);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_login_lockout)
{
    p11kms_store *st = tu_token();
    p11kms_store_token_info info;
    int i;

    ck_assert_int_eq(p11kms_store_logged_in(st), P11KMS_STORE_USER_USER);
    ck_assert_int_eq(p11kms_store_logout(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_logged_in(st), P11KMS_STORE_USER_NONE);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, "wrong-pin", 9),
                         P11KMS_STORE_PIN_INCORRECT);
    ck_assert_int_eq(p11kms_store_token_info_get(st, &info), P11KMS_STORE_OK);
    ck_assert_uint_eq(info.user_failures, 3);
    /* Success resets the counter. */
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_token_info_get(st, &info), P11KMS_STORE_OK);
    ck_assert_uint_eq(info.user_failures, 0);
    p11kms_store_logout(st);
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, "wrong-pin", 9),
                         P11KMS_STORE_PIN_INCORRECT);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_PIN_LOCKED);
    p11kms_store_close(st);
    /* The lock is persistent. */
    st = tu_open(0);
    ck_assert_int_eq(p11kms_store_token_info_get(st, &info), P11KMS_STORE_OK);
    ck_assert_int_eq(info.user_locked, 1);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_PIN_LOCKED);
    /* SO re-initialises the user PIN, which unlocks. */
    ck_assert_int_eq(p11kms_store_init_pin(st, "new-user-pin", 12), P11KMS_STORE_NOT_LOGGED_IN);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_SO, SO_PIN, strlen(SO_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_init_pin(st, "short", 5), P11KMS_STORE_PIN_LEN_RANGE);
    ck_assert_int_eq(p11kms_store_init_pin(st, "new-user-pin", 12), P11KMS_STORE_OK);
    p11kms_store_logout(st);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, "new-user-pin", 12),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, "", 0),
                     P11KMS_STORE_PIN_LEN_RANGE);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_set_pin_keeps_material)
{
    p11kms_store *st = tu_token();
    unsigned char mat[32], out[64];
    size_t outlen = 0;
    p11kms_store_key k;

    ck_assert_int_eq(p11kms_crypto_random(mat, sizeof(mat)), 1);
    tu_key(&k, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &k, mat, sizeof(mat), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(
        p11kms_store_set_pin(st, P11KMS_STORE_USER_USER, "bad-old-pin", 11, "another-pin", 11),
        P11KMS_STORE_PIN_INCORRECT);
    ck_assert_int_eq(
        p11kms_store_set_pin(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN), "short", 5),
        P11KMS_STORE_PIN_LEN_RANGE);
    ck_assert_int_eq(p11kms_store_set_pin(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN),
                                          "another-pin", 11),
                     P11KMS_STORE_OK);
    p11kms_store_logout(st);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_PIN_INCORRECT);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, "another-pin", 11),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(outlen, sizeof(mat));
    ck_assert_mem_eq(out, mat, sizeof(mat));
    /* SO PIN change, then the SO also unwraps the same root key. */
    ck_assert_int_eq(p11kms_store_set_pin(st, P11KMS_STORE_USER_SO, SO_PIN, strlen(SO_PIN),
                                          "so-pin-changed", 14),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_SO, "so-pin-changed", 14),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, mat, sizeof(mat));
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_service_key)
{
    p11kms_store *st = tu_token();
    char kf[1100], kf2[1100];
    unsigned char mat[16] = "service-key-mat", out[16];
    size_t outlen;
    p11kms_store_key k;
    p11kms_store_token_info info;
    struct stat sb;

    snprintf(kf, sizeof(kf), "%s/service.key", tu_dir);
    tu_key(&k, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &k, mat, sizeof(mat), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_service_key_create(st, kf), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_service_key_create(st, kf), P11KMS_STORE_EXISTS);
    ck_assert_int_eq(stat(kf, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(sb.st_size, 32);
    ck_assert_int_eq(p11kms_store_token_info_get(st, &info), P11KMS_STORE_OK);
    ck_assert_int_eq(info.has_service_key, 1);
    p11kms_store_close(st);

    st = tu_open(0);
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_NOT_LOGGED_IN);
    ck_assert_int_eq(p11kms_store_login_keyfile(st, kf), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_logged_in(st), P11KMS_STORE_USER_SERVICE);
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, mat, sizeof(mat));
    p11kms_store_logout(st);
    /* A different 32-byte file is the wrong key; a group-readable one is refused. */
    snprintf(kf2, sizeof(kf2), "%s/other.key", tu_dir);
    write_file(kf2, "0123456789abcdef0123456789abcdef", 32);
    chmod(kf2, 0600);
    ck_assert_int_eq(p11kms_store_login_keyfile(st, kf2), P11KMS_STORE_CRYPTO);
    chmod(kf, 0640);
    ck_assert_int_eq(p11kms_store_login_keyfile(st, kf), P11KMS_STORE_PERM);
    chmod(kf, 0600);
    ck_assert_int_eq(p11kms_store_service_key_remove(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_login_keyfile(st, kf), P11KMS_STORE_NOTFOUND);
    p11kms_store_close(st);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Material                                                                 */

START_TEST(test_material_roundtrip)
{
    p11kms_store *st = tu_token();
    unsigned char m1[32], m2[32], out[32], pub[3] = {1, 2, 3};
    size_t outlen = 0, nv = 0;
    uint32_t v = 0;
    p11kms_store_key k, got;
    p11kms_store_version *vers = NULL;

    p11kms_crypto_random(m1, sizeof(m1));
    p11kms_crypto_random(m2, sizeof(m2));
    tu_key(&k, "SYMMETRIC_DEFAULT");
    k.description = "a key";
    k.app_id = (unsigned char *)"\x01\x02";
    k.app_id_len = 2;
    k.app_label = (unsigned char *)"";
    k.app_label_len = 0; /* set but empty */
    k.rotation_enabled = 1;
    k.rotation_period_days = 365;
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m1, sizeof(m1), pub, sizeof(pub)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m1, sizeof(m1), NULL, 0), P11KMS_STORE_EXISTS);
    ck_assert_int_eq(p11kms_store_key_get(st, k.key_id, &got), P11KMS_STORE_OK);
    ck_assert_str_eq(got.key_spec, "SYMMETRIC_DEFAULT");
    ck_assert_str_eq(got.description, "a key");
    ck_assert_uint_eq(got.current_version, 1);
    ck_assert_uint_eq(got.app_id_len, 2);
    ck_assert_mem_eq(got.app_id, "\x01\x02", 2);
    ck_assert_ptr_nonnull(got.app_label);
    ck_assert_uint_eq(got.app_label_len, 0);
    ck_assert_ptr_null(got.attrs);
    p11kms_store_key_clear(&got);

    /* Size query, too small, exact. */
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, NULL, 0, &outlen),
                     P11KMS_STORE_INVALID);
    ck_assert_uint_eq(outlen, 32);
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m1, sizeof(m1));

    ck_assert_int_eq(p11kms_store_key_rotate(st, k.key_id, 2, 1000, m2, sizeof(m2), NULL, 0, &v),
                     P11KMS_STORE_CONFLICT);
    ck_assert_int_eq(p11kms_store_key_rotate(st, k.key_id, 1, 1000, m2, sizeof(m2), NULL, 0, &v),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(v, 2);
    ck_assert_int_eq(p11kms_store_key_get(st, k.key_id, &got), P11KMS_STORE_OK);
    ck_assert_uint_eq(got.current_version, 2);
    ck_assert_int_eq(got.last_rotation_ms, 1000);
    ck_assert_int_eq(got.next_rotation_ms, 1000 + 365 * INT64_C(86400000));
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 2, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m2, sizeof(m2));
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m1, sizeof(m1));
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 3, out, sizeof(out), &outlen),
                     P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_version_list(st, k.key_id, &vers, &nv), P11KMS_STORE_OK);
    ck_assert_uint_eq(nv, 2);
    ck_assert_uint_eq(vers[0].version, 1);
    ck_assert_uint_eq(vers[0].public_len, 3);
    ck_assert_ptr_null(vers[1].public_der);
    p11kms_store_version_list_free(vers, nv);

    /* Disabled keys do not rotate; update re-checks the expected state. */
    snprintf(got.key_state, sizeof(got.key_state), "Disabled");
    ck_assert_int_eq(p11kms_store_key_update(st, &got, "PendingDeletion"), P11KMS_STORE_CONFLICT);
    ck_assert_int_eq(p11kms_store_key_update(st, &got, "Enabled"), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_rotate(st, k.key_id, 0, 1000, m2, sizeof(m2), NULL, 0, &v),
                     P11KMS_STORE_CONFLICT);
    p11kms_store_key_clear(&got);
    p11kms_store_logout(st);
    ck_assert_int_eq(p11kms_store_version_material(st, k.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_NOT_LOGGED_IN);
    p11kms_store_close(st);
}
END_TEST

/* Flips one bit of a stored material row with plain SQLite. */
static void flip_bit(const char *key_id, int version, int byte)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    unsigned char buf[256];
    int n;

    ck_assert_int_eq(sqlite3_open(tu_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT material FROM key_versions WHERE key_id = ?1"
                                        " AND version = ?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    n = sqlite3_column_bytes(s, 0);
    ck_assert_int_gt(n, byte);
    memcpy(buf, sqlite3_column_blob(s, 0), (size_t)n);
    sqlite3_finalize(s);
    buf[byte] ^= 1;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "UPDATE key_versions SET material = ?3 WHERE key_id = ?1"
                                        " AND version = ?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    sqlite3_bind_blob(s, 3, buf, n, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void change_spec(const char *key_id, const char *spec)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "UPDATE keys SET key_spec = '%s' WHERE key_id = '%s'", spec, key_id);
    sql_exec(tu_path, sql);
}

START_TEST(test_material_aad_binding)
{
    p11kms_store *st = tu_token();
    unsigned char m[32], out[32];
    size_t outlen;
    uint32_t v;
    p11kms_store_key a, b;
    sqlite3 *db;

    p11kms_crypto_random(m, sizeof(m));
    tu_key(&a, "SYMMETRIC_DEFAULT");
    tu_key(&b, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &a, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_create(st, &b, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_rotate(st, a.key_id, 0, 1, m, sizeof(m), NULL, 0, &v),
                     P11KMS_STORE_OK);
    p11kms_store_close(st);

    ck_assert_int_eq(sqlite3_open(tu_path, &db), SQLITE_OK);
    /* A's version 1 copied onto B's version 1. */
    {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "UPDATE key_versions SET material = (SELECT material FROM key_versions"
                 " WHERE key_id = '%s' AND version = 1) WHERE key_id = '%s' AND version = 1;"
                 "UPDATE key_versions SET material = (SELECT material FROM key_versions"
                 " WHERE key_id = '%s' AND version = 1) WHERE key_id = '%s' AND version = 2;",
                 a.key_id, b.key_id, a.key_id, a.key_id);
        ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    sqlite3_close(db);

    st = tu_open(0);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(st, b.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_CRYPTO);
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 2, out, sizeof(out), &outlen),
                     P11KMS_STORE_CRYPTO);
    p11kms_store_close(st);

    /* A flipped bit fails, and so does a changed spec on an intact row. */
    flip_bit(a.key_id, 1, 40);
    change_spec(b.key_id, "SYMMETRIC_DEFAULT"); /* b v1 still holds a's row */
    st = tu_open(0);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_CRYPTO);
    flip_bit(a.key_id, 1, 40);
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m, sizeof(m));
    change_spec(a.key_id, "HMAC_256");
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_CRYPTO);
    change_spec(a.key_id, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 1, out, sizeof(out), &outlen),
                     P11KMS_STORE_OK);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_generic_wrap)
{
    p11kms_store *st = tu_token();
    unsigned char *w = NULL, out[16];
    size_t wl = 0, ol = 0;

    ck_assert_int_eq(p11kms_store_wrap(st, (const unsigned char *)"aad", 3,
                                       (const unsigned char *)"seal key secret!", 16, &w, &wl),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(wl, 16 + P11KMS_STORE_WRAP_OVERHEAD);
    ck_assert_int_eq(
        p11kms_store_unwrap(st, (const unsigned char *)"aad", 3, w, wl, out, sizeof(out), &ol),
        P11KMS_STORE_OK);
    ck_assert_mem_eq(out, "seal key secret!", 16);
    ck_assert_int_eq(
        p11kms_store_unwrap(st, (const unsigned char *)"aaD", 3, w, wl, out, sizeof(out), &ol),
        P11KMS_STORE_CRYPTO);
    ck_assert_int_eq(p11kms_store_unwrap(st, NULL, 0, w, 10, out, sizeof(out), &ol),
                     P11KMS_STORE_CRYPTO);
    free(w);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_no_plaintext_on_disk)
{
    p11kms_store *st = tu_token();
    unsigned char m[3][32], cipher[64];
    p11kms_store_key k[3];
    int i, cl;
    sqlite3_stmt *s;
    char p[1100];

    for (i = 0; i < 3; i++) {
        p11kms_crypto_random(m[i], sizeof(m[i]));
        tu_key(&k[i], "SYMMETRIC_DEFAULT");
        ck_assert_int_eq(p11kms_store_key_create(st, &k[i], m[i], sizeof(m[i]), NULL, 0),
                         P11KMS_STORE_OK);
    }
    for (i = 0; i < 3; i++)
        ck_assert_msg(!tu_store_contains(m[i], sizeof(m[i])), "key %d in the clear", i);
    /* Remember key 0's stored ciphertext, then destroy it. */
    ck_assert_int_eq(sqlite3_prepare_v2(p11kms_store_db(st),
                                        "SELECT material FROM key_versions WHERE key_id = ?1", -1,
                                        &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, k[0].key_id, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    cl = sqlite3_column_bytes(s, 0);
    ck_assert_int_le(cl, (int)sizeof(cipher));
    memcpy(cipher, sqlite3_column_blob(s, 0), (size_t)cl);
    sqlite3_finalize(s);
    ck_assert(tu_store_contains(cipher + 13, 32)); /* the search itself works */
    ck_assert_int_eq(p11kms_store_key_destroy(st, k[0].key_id), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_destroy(st, k[0].key_id), P11KMS_STORE_NOTFOUND);
    ck_assert_msg(!tu_store_contains(cipher + 13, 32), "destroyed material left in the file");
    ck_assert_int_eq(p11kms_store_key_get(st, k[0].key_id, &k[1]), P11KMS_STORE_NOTFOUND);
    p11kms_store_close(st);
    for (i = 0; i < 3; i++)
        ck_assert(!tu_store_contains(m[i], sizeof(m[i])));
    ck_assert(!tu_store_contains(cipher + 13, 32));
    snprintf(p, sizeof(p), "%s-wal", tu_path);
    ck_assert(!tu_file_contains(p, cipher + 13, 32));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Lists, lookups, small tables                                             */

START_TEST(test_key_lists)
{
    p11kms_store *st = tu_token();
    unsigned char m[32] = {0};
    p11kms_store_key k[12], *list = NULL, upd;
    p11kms_store_key_filter f;
    size_t n = 0, total = 0;
    int more = 0, i;
    char after[37] = "";

    for (i = 0; i < 12; i++) {
        tu_key(&k[i], i % 3 == 0 ? "HMAC_256" : "SYMMETRIC_DEFAULT");
        if (i == 5) {
            k[i].app_id = (unsigned char *)"ID5";
            k[i].app_id_len = 3;
            k[i].app_label = (unsigned char *)"label five";
            k[i].app_label_len = 10;
        }
        ck_assert_int_eq(p11kms_store_key_create(st, &k[i], m, sizeof(m), NULL, 0),
                         P11KMS_STORE_OK);
    }
    upd = k[7];
    snprintf(upd.key_state, sizeof(upd.key_state), "PendingDeletion");
    upd.deletion_ms = 5000;
    ck_assert_int_eq(p11kms_store_key_update(st, &upd, "Enabled"), P11KMS_STORE_OK);

    /* Paging over everything but PendingDeletion. */
    do {
        ck_assert_int_eq(
            p11kms_store_key_list(st, NULL, after[0] ? after : NULL, 5, &list, &n, &more),
            P11KMS_STORE_OK);
        total += n;
        if (n > 0)
            memcpy(after, list[n - 1].key_id, sizeof(after));
        for (size_t j = 1; j < n; j++)
            ck_assert_int_lt(strcmp(list[j - 1].key_id, list[j].key_id), 0);
        p11kms_store_key_list_free(list, n);
    } while (more);
    ck_assert_uint_eq(total, 11);

    memset(&f, 0, sizeof(f));
    f.include_pending_deletion = 1;
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 0, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 12);
    ck_assert_int_eq(more, 0);
    p11kms_store_key_list_free(list, n);

    memset(&f, 0, sizeof(f));
    f.key_spec = "HMAC_256";
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 0, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 4);
    p11kms_store_key_list_free(list, n);

    memset(&f, 0, sizeof(f));
    f.deletion_due_before_ms = 6000;
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 0, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].key_id, k[7].key_id);
    p11kms_store_key_list_free(list, n);

    memset(&f, 0, sizeof(f));
    f.match_app_id = 1;
    f.app_id = (const unsigned char *)"ID5";
    f.app_id_len = 3;
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 0, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].key_id, k[5].key_id);
    p11kms_store_key_list_free(list, n);

    memset(&f, 0, sizeof(f));
    f.match_app_label = 1;
    f.app_label = (const unsigned char *)"label five";
    f.app_label_len = 10;
    f.key_state = "Enabled";
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 0, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    p11kms_store_key_list_free(list, n);

    /* CKA_ID unset matches every key without one. */
    memset(&f, 0, sizeof(f));
    f.match_app_id = 1;
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 0, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 10);
    p11kms_store_key_list_free(list, n);

    ck_assert_int_eq(p11kms_store_alias_create(st, "alias/five", k[5].key_id, 1), P11KMS_STORE_OK);
    memset(&f, 0, sizeof(f));
    f.alias = "alias/five";
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 0, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].key_id, k[5].key_id);
    p11kms_store_key_list_free(list, n);
    p11kms_store_close(st);
}
END_TEST

/* 1 if the plan of sql (the key-list shape built in store-keys.c) uses index. */
static int plan_uses(p11kms_store *st, const char *where, const char *index)
{
    char sql[1024], plan[2048] = "";
    sqlite3_stmt *s = NULL;

    snprintf(sql, sizeof(sql),
             "EXPLAIN QUERY PLAN SELECT " P11KMS_STORE_KEY_COLS " FROM keys k"
             " WHERE k.key_id > ?1%s ORDER BY k.key_id LIMIT ?2",
             where);
    ck_assert_int_eq(sqlite3_prepare_v2(p11kms_store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        strncat(plan, (const char *)sqlite3_column_text(s, 3), sizeof(plan) - strlen(plan) - 2);
        strcat(plan, ";");
    }
    sqlite3_finalize(s);
    return strstr(plan, index) != NULL;
}

START_TEST(test_lookup_plans)
{
    p11kms_store *st = tu_token();

    ck_assert(plan_uses(st, " AND k.app_id IS ?10", "keys_app_id"));
    ck_assert(plan_uses(st, " AND k.app_label IS ?11", "keys_app_label"));
    ck_assert(plan_uses(st, " AND k.key_id = ?3", "sqlite_autoindex_keys_1"));
    ck_assert(plan_uses(st, " AND k.key_id = (SELECT key_id FROM aliases WHERE name = ?4)",
                        "aliases USING PRIMARY KEY (name=?)"));
    ck_assert(plan_uses(st,
                        " AND k.key_state = 'PendingDeletion' AND k.deletion > 0"
                        " AND k.deletion <= ?13",
                        "keys_state (key_state=?"));
    ck_assert(plan_uses(st,
                        " AND k.rotation_enabled = 1 AND k.next_rotation > 0"
                        " AND k.next_rotation <= ?12",
                        "keys_next_rotation"));
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_aliases_policies_grants_objects)
{
    p11kms_store *st = tu_token();
    unsigned char m[32] = {0};
    p11kms_store_key k, k2;
    char id[37], *doc = NULL;
    p11kms_store_alias *al = NULL;
    p11kms_store_identity_policy *ip = NULL;
    p11kms_store_grant g, got, *gl = NULL;
    p11kms_store_object o, og, *ol = NULL;
    p11kms_store_object_filter of;
    size_t n = 0;
    int more;
    uint32_t gids[2] = {100, 200};

    tu_key(&k, "SYMMETRIC_DEFAULT");
    tu_key(&k2, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_create(st, &k2, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);

    ck_assert_int_eq(p11kms_store_alias_create(st, "alias/a", k.key_id, 1), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_alias_create(st, "alias/a", k2.key_id, 1), P11KMS_STORE_EXISTS);
    ck_assert_int_eq(p11kms_store_alias_create(st, "alias/b", "no-such-key", 1),
                     P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_alias_create(st, "bad", k.key_id, 1), P11KMS_STORE_INVALID);
    ck_assert_int_eq(p11kms_store_alias_create(st, "alias/b", k.key_id, 1), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_alias_resolve(st, "alias/a", id), P11KMS_STORE_OK);
    ck_assert_str_eq(id, k.key_id);
    ck_assert_int_eq(p11kms_store_alias_update(st, "alias/a", k2.key_id, 2), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_alias_update(st, "alias/zz", k2.key_id, 2),
                     P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_alias_list(st, k.key_id, NULL, 0, &al, &n, &more),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(al[0].name, "alias/b");
    free(al);
    ck_assert_int_eq(p11kms_store_alias_list(st, NULL, NULL, 1, &al, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(more, 1);
    free(al);
    ck_assert_int_eq(p11kms_store_alias_delete(st, "alias/b"), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_alias_delete(st, "alias/b"), P11KMS_STORE_NOTFOUND);

    ck_assert_int_eq(p11kms_store_key_policy_get(st, k.key_id, &doc), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_key_policy_put(st, k.key_id, "{\"Version\":\"2012-10-17\"}"),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_policy_put(st, "nope", "{}"), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_key_policy_get(st, k.key_id, &doc), P11KMS_STORE_OK);
    ck_assert_str_eq(doc, "{\"Version\":\"2012-10-17\"}");
    free(doc);

    ck_assert_int_eq(
        p11kms_store_identity_policy_put(st, P11KMS_STORE_PRINCIPAL_UID, 1000, "p1", "{1}", 1),
        P11KMS_STORE_OK);
    ck_assert_int_eq(
        p11kms_store_identity_policy_put(st, P11KMS_STORE_PRINCIPAL_GID, 200, "p2", "{2}", 1),
        P11KMS_STORE_OK);
    ck_assert_int_eq(
        p11kms_store_identity_policy_put(st, P11KMS_STORE_PRINCIPAL_GID, 20, "p3", "{3}", 1),
        P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_identity_policy_for_caller(st, 1000, gids, 2, &ip, &n),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 2); /* gid 20 must not match ",200," */
    ck_assert_str_eq(ip[0].document, "{1}");
    ck_assert_str_eq(ip[1].document, "{2}");
    p11kms_store_identity_policy_list_free(ip, n);
    ck_assert_int_eq(p11kms_store_identity_policy_list(st, P11KMS_STORE_PRINCIPAL_ANY, 0, &ip, &n),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 3);
    p11kms_store_identity_policy_list_free(ip, n);
    ck_assert_int_eq(
        p11kms_store_identity_policy_get(st, P11KMS_STORE_PRINCIPAL_GID, 20, "p3", &doc),
        P11KMS_STORE_OK);
    ck_assert_str_eq(doc, "{3}");
    free(doc);
    ck_assert_int_eq(p11kms_store_identity_policy_delete(st, P11KMS_STORE_PRINCIPAL_GID, 20, "p3"),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_identity_policy_delete(st, P11KMS_STORE_PRINCIPAL_GID, 20, "p3"),
                     P11KMS_STORE_NOTFOUND);

    memset(&g, 0, sizeof(g));
    snprintf(g.grant_id, sizeof(g.grant_id), "grant-1");
    memcpy(g.key_id, k.key_id, sizeof(g.key_id));
    g.grant_token = "tok-1";
    g.grantee = "uid:1001";
    g.operations_json = "[\"Encrypt\"]";
    ck_assert_int_eq(p11kms_store_grant_create(st, &g), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_grant_create(st, &g), P11KMS_STORE_EXISTS);
    ck_assert_int_eq(p11kms_store_grant_get_by_token(st, "tok-1", &got), P11KMS_STORE_OK);
    ck_assert_str_eq(got.grant_id, "grant-1");
    ck_assert_str_eq(got.grantee, "uid:1001");
    ck_assert_ptr_null(got.retiring);
    p11kms_store_grant_clear(&got);
    ck_assert_int_eq(p11kms_store_grant_list(st, k.key_id, "uid:1001", NULL, 0, &gl, &n, &more),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    p11kms_store_grant_list_free(gl, n);
    ck_assert_int_eq(p11kms_store_grant_list(st, k2.key_id, NULL, NULL, 0, &gl, &n, &more),
                     P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 0);
    p11kms_store_grant_list_free(gl, n);

    memset(&o, 0, sizeof(o));
    ck_assert_int_eq(p11kms_uuid_v4(o.object_id), 1);
    o.object_class = 1; /* CKO_CERTIFICATE */
    o.label = (unsigned char *)"cert";
    o.label_len = 4;
    o.attrs = (unsigned char *)"\x00\x01";
    o.attrs_len = 2;
    ck_assert_int_eq(p11kms_store_object_create(st, &o), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_object_get(st, o.object_id, &og), P11KMS_STORE_OK);
    ck_assert_uint_eq(og.attrs_len, 2);
    ck_assert_mem_eq(og.attrs, "\x00\x01", 2);
    p11kms_store_object_clear(&og);
    o.label = (unsigned char *)"cert2";
    o.label_len = 5;
    ck_assert_int_eq(p11kms_store_object_update(st, &o), P11KMS_STORE_OK);
    memset(&of, 0, sizeof(of));
    of.match_label = 1;
    of.label = (const unsigned char *)"cert2";
    of.label_len = 5;
    ck_assert_int_eq(p11kms_store_object_list(st, &of, NULL, 0, &ol, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    p11kms_store_object_list_free(ol, n);
    ck_assert_int_eq(p11kms_store_object_delete(st, o.object_id), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_object_get(st, o.object_id, &og), P11KMS_STORE_NOTFOUND);

    /* Destroying a key takes its aliases, grants and policy along. */
    ck_assert_int_eq(p11kms_store_key_destroy(st, k.key_id), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_grant_get(st, "grant-1", &got), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_key_policy_get(st, k.key_id, &doc), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_alias_resolve(st, "alias/a", id), P11KMS_STORE_OK);
    p11kms_store_close(st);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Transactions, change detection, fork                                     */

START_TEST(test_transactions_and_counter)
{
    p11kms_store *st = tu_token(), *other = tu_open(0);
    unsigned char m[32] = {0};
    uint64_t c0, c1, c2;
    int64_t dv0, dv1;
    p11kms_store_key k, k2;

    ck_assert_int_eq(p11kms_store_change_counter(st, &c0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_data_version(other, &dv0), P11KMS_STORE_OK);
    tu_key(&k, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_data_version(other, &dv1), P11KMS_STORE_OK);
    ck_assert_int_eq(dv0, dv1);
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    /* other has not read since: data_version alone must notice. */
    ck_assert_int_eq(p11kms_store_data_version(other, &dv1), P11KMS_STORE_OK);
    ck_assert_int_ne(dv0, dv1);
    ck_assert_int_eq(p11kms_store_change_counter(other, &c1), P11KMS_STORE_OK);
    ck_assert_uint_eq(c1, c0 + 1);

    /* Several changes in one explicit transaction: one bump, all or nothing. */
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_INVALID);
    tu_key(&k2, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &k2, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    /* A failing call inside leaves the transaction usable. */
    ck_assert_int_eq(p11kms_store_key_create(st, &k2, m, sizeof(m), NULL, 0), P11KMS_STORE_EXISTS);
    ck_assert_int_eq(p11kms_store_alias_create(st, "alias/k2", k2.key_id, 1), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_rollback(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_get(st, k2.key_id, &k), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_change_counter(st, &c2), P11KMS_STORE_OK);
    ck_assert_uint_eq(c2, c1);

    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_create(st, &k2, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_alias_create(st, "alias/k2", k2.key_id, 1), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_change_counter(other, &c2), P11KMS_STORE_OK);
    ck_assert_uint_eq(c2, c1 + 1);

    /* A write transaction that changes no key-store data does not bump. */
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_change_counter(st, &c1), P11KMS_STORE_OK);
    ck_assert_uint_eq(c1, c2);

    /* While st holds the write lock, other gets BUSY after its timeout. */
    p11kms_store_close(other);
    {
        p11kms_store_options o = {0, 100};
        ck_assert_int_eq(p11kms_store_open(tu_path, &o, &other), P11KMS_STORE_OK);
    }
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_begin_write(other), P11KMS_STORE_BUSY);
    ck_assert_int_eq(p11kms_store_alias_create(other, "alias/x", k2.key_id, 1), P11KMS_STORE_BUSY);
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_alias_create(other, "alias/x", k2.key_id, 1), P11KMS_STORE_OK);
    p11kms_store_close(other);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_fork_refused)
{
    p11kms_store *st = tu_token();
    p11kms_store_key k;
    unsigned char m[32] = {0};
    pid_t pid;
    int status = 0, fds[2];
    char verdict = 0;

    tu_key(&k, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_begin_read(st), P11KMS_STORE_OK);
    /* The verdict travels through a pipe, not the exit status: the child
     * leaks the connection by design, which valgrind would turn into a
     * failing exit code. */
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        p11kms_store_key g;
        int ok = p11kms_store_key_get(st, k.key_id, &g) == P11KMS_STORE_FORKED &&
                 p11kms_store_begin_write(st) == P11KMS_STORE_FORKED &&
                 p11kms_store_logged_in(st) == P11KMS_STORE_USER_NONE &&
                 p11kms_store_db(st) == NULL;
        p11kms_store_close(st); /* must not disturb the parent's connection */
        verdict = ok ? 'y' : 'n';
        if (write(fds[1], &verdict, 1) != 1)
            _exit(2);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(read(fds[0], &verdict, 1), 1);
    ck_assert_int_eq(verdict, 'y');
    close(fds[0]);
    close(fds[1]);
    /* The parent's read transaction and connection are intact. */
    ck_assert_int_eq(p11kms_store_key_get(st, k.key_id, &k), P11KMS_STORE_OK);
    p11kms_store_key_clear(&k);
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
    tu_key(&k, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_backup_and_check)
{
    p11kms_store *st = tu_token(), *bk = NULL;
    p11kms_store_options o = {0, 0};
    unsigned char m[32], out[32];
    size_t ol = 0;
    char dest[1100];
    p11kms_store_key k;
    struct stat sb;

    p11kms_crypto_random(m, sizeof(m));
    tu_key(&k, "SYMMETRIC_DEFAULT");
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_integrity_check(st, 0), P11KMS_STORE_OK);
    snprintf(dest, sizeof(dest), "%s/backup.db", tu_dir);
    ck_assert_int_eq(p11kms_store_backup(st, dest), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_backup(st, dest), P11KMS_STORE_EXISTS);
    ck_assert_int_eq(stat(dest, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    p11kms_store_close(st);

    /* The copy is a complete store: same PINs, same material. */
    ck_assert_int_eq(p11kms_store_open(dest, &o, &bk), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_integrity_check(bk, 1), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_login(bk, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(bk, k.key_id, 1, out, sizeof(out), &ol),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m, sizeof(m));
    /* A dangling version row (foreign keys bypassed) is reported. */
    ck_assert_int_eq(sqlite3_exec(p11kms_store_db(bk),
                                  "PRAGMA foreign_keys = OFF; DELETE FROM keys;"
                                  " PRAGMA foreign_keys = ON;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(p11kms_store_integrity_check(bk, 0), P11KMS_STORE_CORRUPT);
    p11kms_store_close(bk);
}
END_TEST

typedef struct rekey_probe {
    unsigned char *blob;
    size_t len;
    int calls;
} rekey_probe;

static p11kms_store_rc probe_hook(p11kms_store *st, void *arg)
{
    rekey_probe *p = arg;
    unsigned char *out = NULL;
    size_t outlen = 0;
    p11kms_store_rc rc = p11kms_store_rekey_blob(st, (const unsigned char *)"seal", 4, p->blob,
                                                 p->len, &out, &outlen);

    p->calls++;
    if (rc == P11KMS_STORE_OK) {
        free(p->blob);
        p->blob = out;
        p->len = outlen;
    }
    return rc;
}

START_TEST(test_root_key_rotate)
{
    p11kms_store *st = tu_token();
    unsigned char m1[32], m2[48], out[64], *old_blob = NULL;
    size_t ol = 0, old_len;
    uint32_t v;
    p11kms_store_key a, b;
    rekey_probe probe = {NULL, 0, 0};
    char kf[1100];

    p11kms_crypto_random(m1, sizeof(m1));
    p11kms_crypto_random(m2, sizeof(m2));
    tu_key(&a, "SYMMETRIC_DEFAULT");
    tu_key(&b, "RSA_2048");
    ck_assert_int_eq(p11kms_store_key_create(st, &a, m1, sizeof(m1), NULL, 0), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_rotate(st, a.key_id, 1, 5, m2, sizeof(m2), NULL, 0, &v),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_key_create(st, &b, m2, sizeof(m2), NULL, 0), P11KMS_STORE_OK);
    snprintf(kf, sizeof(kf), "%s/svc.key", tu_dir);
    ck_assert_int_eq(p11kms_store_service_key_create(st, kf), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_wrap(st, (const unsigned char *)"seal", 4,
                                       (const unsigned char *)"audit-signing-key", 17, &probe.blob,
                                       &probe.len),
                     P11KMS_STORE_OK);
    old_blob = malloc(probe.len);
    memcpy(old_blob, probe.blob, probe.len);
    old_len = probe.len;
    p11kms_store_set_rekey_hook(st, probe_hook, &probe);

    ck_assert_int_eq(
        p11kms_store_root_key_rotate(st, "wrong-so-pin", 12, USER_PIN, strlen(USER_PIN)),
        P11KMS_STORE_PIN_INCORRECT);
    ck_assert_int_eq(p11kms_store_root_key_rotate(st, SO_PIN, strlen(SO_PIN), NULL, 0),
                     P11KMS_STORE_INVALID);
    ck_assert_int_eq(probe.calls, 0);
    ck_assert_int_eq(
        p11kms_store_root_key_rotate(st, SO_PIN, strlen(SO_PIN), USER_PIN, strlen(USER_PIN)),
        P11KMS_STORE_OK);
    ck_assert_int_eq(probe.calls, 1);
    /* The hook's blob moved to the new key; the old one no longer opens. */
    ck_assert_int_eq(p11kms_store_unwrap(st, (const unsigned char *)"seal", 4, probe.blob,
                                         probe.len, out, sizeof(out), &ol),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, "audit-signing-key", 17);
    ck_assert_int_eq(p11kms_store_unwrap(st, (const unsigned char *)"seal", 4, old_blob, old_len,
                                         out, sizeof(out), &ol),
                     P11KMS_STORE_CRYPTO);
    p11kms_store_close(st);

    /* Both PINs unlock the new key; every version still decrypts. */
    st = tu_open(0);
    ck_assert_int_eq(p11kms_store_login_keyfile(st, kf), P11KMS_STORE_NOTFOUND);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_SO, SO_PIN, strlen(SO_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_unwrap(st, (const unsigned char *)"seal", 4, probe.blob,
                                         probe.len, out, sizeof(out), &ol),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 1, out, sizeof(out), &ol),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m1, sizeof(m1));
    ck_assert_int_eq(p11kms_store_version_material(st, a.key_id, 2, out, sizeof(out), &ol),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m2, sizeof(m2));
    ck_assert_int_eq(p11kms_store_version_material(st, b.key_id, 1, out, sizeof(out), &ol),
                     P11KMS_STORE_OK);
    ck_assert_mem_eq(out, m2, sizeof(m2));
    ck_assert_int_eq(p11kms_store_integrity_check(st, 0), P11KMS_STORE_OK);
    p11kms_store_close(st);
    free(probe.blob);
    free(old_blob);
}
END_TEST

START_TEST(test_strerror)
{
    int i;

    for (i = P11KMS_STORE_OK; i <= P11KMS_STORE_INTERNAL; i++)
        ck_assert_ptr_nonnull(p11kms_store_strerror((p11kms_store_rc)i));
    ck_assert_str_eq(p11kms_store_strerror(P11KMS_STORE_OK), "success");
    ck_assert_int_eq(p11kms_store_rc_from_sqlite(SQLITE_BUSY), P11KMS_STORE_BUSY);
    ck_assert_int_eq(p11kms_store_rc_from_sqlite(SQLITE_FULL), P11KMS_STORE_FULL);
    ck_assert_int_eq(p11kms_store_rc_from_sqlite(SQLITE_IOERR_WRITE), P11KMS_STORE_IO);
    ck_assert_int_eq(p11kms_store_rc_from_sqlite(SQLITE_NOTADB), P11KMS_STORE_CORRUPT);
    ck_assert_int_eq(p11kms_store_rc_from_sqlite(SQLITE_READONLY_DBMOVED), P11KMS_STORE_READONLY);
    ck_assert_int_eq(p11kms_store_rc_from_sqlite(SQLITE_CONSTRAINT_UNIQUE), P11KMS_STORE_EXISTS);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_readonly_missing_creates_nothing);
    tcase_add_test(tc, test_create_modes);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_locked_file);
    tcase_add_test(tc, test_too_new_and_old);
    tcase_add_test(tc, test_migration_steps);
    tcase_add_test(tc, test_readonly_no_wal_files);
    tcase_add_test(tc, test_token_init);
    tcase_add_test(tc, test_login_lockout);
    tcase_add_test(tc, test_set_pin_keeps_material);
    tcase_add_test(tc, test_service_key);
    tcase_add_test(tc, test_material_roundtrip);
    tcase_add_test(tc, test_material_aad_binding);
    tcase_add_test(tc, test_generic_wrap);
    tcase_add_test(tc, test_no_plaintext_on_disk);
    tcase_add_test(tc, test_key_lists);
    tcase_add_test(tc, test_lookup_plans);
    tcase_add_test(tc, test_aliases_policies_grants_objects);
    tcase_add_test(tc, test_transactions_and_counter);
    tcase_add_test(tc, test_fork_refused);
    tcase_add_test(tc, test_backup_and_check);
    tcase_add_test(tc, test_root_key_rotate);
    tcase_add_test(tc, test_strerror);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
