/*
 * tests/store/store-testutil.h — shared helpers of the store tests: a
 * private temp directory per test, a token initialised with the cheapest
 * KDF, key structs with fresh UUIDs, and a byte search in files (for the
 * "no plaintext on disk" checks).  Header-only (static functions) so each
 * test program stays one source file.
 */
#ifndef P11KMS_TESTS_STORE_TESTUTIL_H
#define P11KMS_TESTS_STORE_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/uuid.h"
#include "store/store.h"

#define SO_PIN   "so-pin-12345"
#define USER_PIN "user-pin-12345"

static char tu_dir[256];
static char tu_path[1024];

static inline void tu_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
            continue;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            tu_rmtree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline void tu_setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tu_dir, sizeof(tu_dir), "%s/p11kms-store-XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tu_dir));
    snprintf(tu_path, sizeof(tu_path), "%s/store.db", tu_dir);
}

static inline void tu_teardown(void)
{
    tu_rmtree(tu_dir);
}

static inline p11kms_store *tu_open(unsigned flags)
{
    p11kms_store_options o = {flags, 0};
    p11kms_store *st = NULL;
    p11kms_store_rc rc = p11kms_store_open(tu_path, &o, &st);

    ck_assert_msg(rc == P11KMS_STORE_OK, "open: %s", p11kms_store_strerror(rc));
    return st;
}

/* A created, initialised store with the user PIN set, logged in as user. */
static inline p11kms_store *tu_token(void)
{
    p11kms_store_kdf kdf;
    p11kms_store_token_params p = {0};
    p11kms_store *st = tu_open(P11KMS_STORE_OPEN_CREATE);

    ck_assert_int_eq(p11kms_store_kdf_from_cost(10, &kdf), P11KMS_STORE_OK);
    p.label = "test token";
    p.kdf = &kdf;
    ck_assert_int_eq(p11kms_store_token_init(st, SO_PIN, strlen(SO_PIN), &p), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_SO, SO_PIN, strlen(SO_PIN)),
                     P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_init_pin(st, USER_PIN, strlen(USER_PIN)), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_logout(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_OK);
    return st;
}

static inline void tu_key(p11kms_store_key *k, const char *spec)
{
    memset(k, 0, sizeof(*k));
    ck_assert_int_eq(p11kms_uuid_v4(k->key_id), 1);
    snprintf(k->key_spec, sizeof(k->key_spec), "%s", spec);
    snprintf(k->key_usage, sizeof(k->key_usage), "ENCRYPT_DECRYPT");
    snprintf(k->key_state, sizeof(k->key_state), "Enabled");
    snprintf(k->origin, sizeof(k->origin), "P11KMS");
    snprintf(k->key_manager, sizeof(k->key_manager), "CUSTOMER");
    k->owner_uid = (uint32_t)getuid();
    k->owner_gid = (uint32_t)getgid();
}

/* 1 if needle occurs in the file at path (0 if absent or unreadable). */
static inline int tu_file_contains(const char *path, const unsigned char *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;
    int found = 0;

    if (f == NULL)
        return 0;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) == (size_t)size)
            found = memmem(buf, (size_t)size, needle, n) != NULL;
    }
    free(buf);
    fclose(f);
    return found;
}

/*
 * Searches the store file, its -wal and -shm.  Done in a child process:
 * closing a descriptor of the store file here would drop the POSIX locks
 * of this process's open SQLite connections.
 */
static inline int tu_store_contains(const unsigned char *needle, size_t n)
{
    char p[1100];
    int found, status = 0;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        found = tu_file_contains(tu_path, needle, n);
        snprintf(p, sizeof(p), "%s-wal", tu_path);
        found |= tu_file_contains(p, needle, n);
        snprintf(p, sizeof(p), "%s-shm", tu_path);
        found |= tu_file_contains(p, needle, n);
        _exit(found ? 1 : 0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status) == 1;
}

#endif /* P11KMS_TESTS_STORE_TESTUTIL_H */
