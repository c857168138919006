/*
 * tests/store/test-store-stress.c — the store under load and under crashes:
 * 4 processes x 2 threads creating keys and rotating one shared key (no
 * lost update, versions contiguous), a SIGKILL loop during writes (the file
 * always passes integrity_check and holds whole changes only), and lookups
 * among 100,000 keys (indexes used: microseconds per lookup).
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/timeutil.h"
#include "store/store-internal.h"
#include "store/store.h"
#include "tests/store/store-testutil.h"

#define PROCS   4
#define THREADS 2
#define ITERS   25

/* Material of version v of key_id: SHA-256(key_id || v), so a reader can
 * check every stored version without knowing who wrote it. */
static void expected_material(const char *key_id, uint32_t v, unsigned char out[32])
{
    unsigned char in[64];
    size_t n = strlen(key_id), len = 32;

    memcpy(in, key_id, n);
    in[n] = (unsigned char)(v >> 24);
    in[n + 1] = (unsigned char)(v >> 16);
    in[n + 2] = (unsigned char)(v >> 8);
    in[n + 3] = (unsigned char)v;
    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA256, in, n + 4, out, &len), 1);
}

static p11kms_store *open_login(void)
{
    p11kms_store *st = tu_open(0);

    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)),
                     P11KMS_STORE_OK);
    return st;
}

static char shared_id[37];

/* Each worker's rotations write the material "worker tag || i" so the
 * parent can count them back. */
static void *worker(void *arg)
{
    long tag = (long)arg;
    p11kms_store *st = NULL;
    p11kms_store_options o = {0, 20000};
    unsigned char m[32];
    p11kms_store_key k;
    uint32_t v;
    p11kms_store_rc rc;
    long bad = 0;
    int i;

    rc = p11kms_store_open(tu_path, &o, &st);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN));
    if (rc != P11KMS_STORE_OK) {
        fprintf(stderr, "worker %ld: open/login: %s\n", tag, p11kms_store_strerror(rc));
        p11kms_store_close(st);
        return (void *)1L;
    }
    for (i = 0; i < ITERS; i++) {
        memset(&k, 0, sizeof(k));
        p11kms_uuid_v4(k.key_id);
        strcpy(k.key_spec, "SYMMETRIC_DEFAULT");
        strcpy(k.key_usage, "ENCRYPT_DECRYPT");
        strcpy(k.key_state, "Enabled");
        strcpy(k.origin, "P11KMS");
        strcpy(k.key_manager, "CUSTOMER");
        expected_material(k.key_id, 1, m);
        rc = p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0);
        if (rc != P11KMS_STORE_OK) {
            fprintf(stderr, "worker %ld: create: %s\n", tag, p11kms_store_strerror(rc));
            bad++;
        }
        memset(m, 0, sizeof(m));
        snprintf((char *)m, sizeof(m), "w%ld-%d", tag, i);
        rc = p11kms_store_key_rotate(st, shared_id, 0, p11kms_time_now_ms(), m, sizeof(m), NULL, 0,
                                     &v);
        if (rc != P11KMS_STORE_OK) {
            fprintf(stderr, "worker %ld: rotate: %s\n", tag, p11kms_store_strerror(rc));
            bad++;
        }
    }
    p11kms_store_close(st);
    return (void *)bad;
}

static int run_child(int proc)
{
    pthread_t th[THREADS];
    void *res;
    long bad = 0;
    int t;

    for (t = 0; t < THREADS; t++)
        if (pthread_create(&th[t], NULL, worker, (void *)(long)(proc * THREADS + t)) != 0)
            return 1;
    for (t = 0; t < THREADS; t++) {
        pthread_join(th[t], &res);
        bad += (long)res;
    }
    return bad == 0 ? 0 : 1;
}

START_TEST(test_concurrent_writers)
{
    p11kms_store *st = tu_token();
    p11kms_store_key k, *list = NULL;
    p11kms_store_key_filter f = {0};
    p11kms_store_version *vers = NULL;
    unsigned char m[32], seen[PROCS * THREADS][ITERS];
    size_t n = 0, nv = 0, i;
    pid_t pids[PROCS];
    int p, status, more;

    tu_key(&k, "SYMMETRIC_DEFAULT");
    memcpy(shared_id, k.key_id, sizeof(shared_id));
    memset(m, 0, sizeof(m));
    ck_assert_int_eq(p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
    p11kms_store_close(st);

    for (p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0)
            _exit(run_child(p));
    }
    for (p = 0; p < PROCS; p++) {
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", p);
    }

    st = open_login();
    f.include_pending_deletion = 1;
    ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 10000, &list, &n, &more), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1 + PROCS * THREADS * ITERS);
    p11kms_store_key_list_free(list, n);
    ck_assert_int_eq(p11kms_store_key_get(st, shared_id, &k), P11KMS_STORE_OK);
    ck_assert_uint_eq(k.current_version, 1 + PROCS * THREADS * ITERS);
    p11kms_store_key_clear(&k);
    ck_assert_int_eq(p11kms_store_version_list(st, shared_id, &vers, &nv), P11KMS_STORE_OK);
    ck_assert_uint_eq(nv, 1 + PROCS * THREADS * ITERS);
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < nv; i++) {
        size_t ml = 0;
        long w;
        int it;
        ck_assert_uint_eq(vers[i].version, i + 1); /* contiguous */
        ck_assert_int_eq(
            p11kms_store_version_material(st, shared_id, vers[i].version, m, sizeof(m), &ml),
            P11KMS_STORE_OK);
        if (i == 0)
            continue;
        ck_assert_int_eq(sscanf((char *)m, "w%ld-%d", &w, &it), 2);
        ck_assert(w >= 0 && w < PROCS * THREADS && it >= 0 && it < ITERS);
        ck_assert_int_eq(seen[w][it], 0);
        seen[w][it] = 1;
    }
    p11kms_store_version_list_free(vers, nv);
    p11kms_store_close(st);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* kill -9 during writes                                                    */

static void make_key(p11kms_store_key *k)
{
    memset(k, 0, sizeof(*k));
    p11kms_uuid_v4(k->key_id);
    strcpy(k->key_spec, "SYMMETRIC_DEFAULT");
    strcpy(k->key_usage, "ENCRYPT_DECRYPT");
    strcpy(k->key_state, "Enabled");
    strcpy(k->origin, "P11KMS");
    strcpy(k->key_manager, "CUSTOMER");
}

/* Writes forever: plain creates, rotations of recent keys, and explicit
 * transactions pairing a key with its alias. */
/* The writer tells the parent (through this pipe) once its first key is
 * committed, so a slow login on a loaded machine cannot make every round
 * die before writing anything. */
static int crash_ready_fd = -1;

static void crash_writer(void)
{
    p11kms_store *st = NULL;
    p11kms_store_options o = {0, 20000};
    unsigned char m[32];
    char last[37] = "", alias[64];
    p11kms_store_key k;
    uint32_t v;
    unsigned i;

    if (p11kms_store_open(tu_path, &o, &st) != P11KMS_STORE_OK ||
        p11kms_store_login(st, P11KMS_STORE_USER_USER, USER_PIN, strlen(USER_PIN)) !=
            P11KMS_STORE_OK)
        _exit(1);
    for (i = 0;; i++) {
        make_key(&k);
        expected_material(k.key_id, 1, m);
        if (i % 3 == 2) {
            snprintf(alias, sizeof(alias), "alias/%s", k.key_id);
            if (p11kms_store_begin_write(st) != P11KMS_STORE_OK ||
                p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0) != P11KMS_STORE_OK ||
                p11kms_store_alias_create(st, alias, k.key_id, 1) != P11KMS_STORE_OK ||
                p11kms_store_commit(st) != P11KMS_STORE_OK)
                _exit(2);
        } else if (p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0) != P11KMS_STORE_OK) {
            _exit(3);
        }
        if (i == 0 && (write(crash_ready_fd, "x", 1) != 1 || close(crash_ready_fd) != 0))
            _exit(6);
        if (last[0] != '\0') {
            p11kms_store_key cur;
            if (p11kms_store_key_get(st, last, &cur) != P11KMS_STORE_OK)
                _exit(4);
            expected_material(last, cur.current_version + 1, m);
            if (p11kms_store_key_rotate(st, last, cur.current_version, 2, m, sizeof(m), NULL, 0,
                                        &v) != P11KMS_STORE_OK)
                _exit(5);
            p11kms_store_key_clear(&cur);
        }
        memcpy(last, k.key_id, sizeof(last));
    }
}

static void check_integrity(p11kms_store *st)
{
    sqlite3_stmt *s = NULL;

    ck_assert_int_eq(
        sqlite3_prepare_v2(p11kms_store_db(st), "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    ck_assert_int_eq(
        sqlite3_exec(p11kms_store_db(st), "PRAGMA foreign_key_check", NULL, NULL, NULL), SQLITE_OK);
}

/* Every key: versions 1..current, each decrypting to its expected bytes;
 * every key created together with an alias has it. Returns the key count. */
static size_t check_complete(p11kms_store *st)
{
    p11kms_store_key_filter f = {0};
    p11kms_store_key *list = NULL;
    size_t n = 0, i, total = 0;
    char after[37] = "";
    int more = 1;

    f.include_pending_deletion = 1;
    while (more) {
        ck_assert_int_eq(
            p11kms_store_key_list(st, &f, after[0] ? after : NULL, 500, &list, &n, &more),
            P11KMS_STORE_OK);
        for (i = 0; i < n; i++) {
            p11kms_store_version *vers = NULL;
            size_t nv = 0, j, ml;
            unsigned char m[32], want[32];

            ck_assert_int_eq(p11kms_store_version_list(st, list[i].key_id, &vers, &nv),
                             P11KMS_STORE_OK);
            ck_assert_uint_eq(nv, list[i].current_version);
            for (j = 0; j < nv; j++) {
                ck_assert_uint_eq(vers[j].version, j + 1);
                ck_assert_int_eq(p11kms_store_version_material(st, list[i].key_id, (uint32_t)j + 1,
                                                               m, sizeof(m), &ml),
                                 P11KMS_STORE_OK);
                expected_material(list[i].key_id, (uint32_t)j + 1, want);
                ck_assert_mem_eq(m, want, 32);
            }
            p11kms_store_version_list_free(vers, nv);
        }
        total += n;
        if (n > 0)
            memcpy(after, list[n - 1].key_id, sizeof(after));
        p11kms_store_key_list_free(list, n);
    }
    /* Aliases only exist with their keys (same transaction, FK cascade). */
    {
        sqlite3_stmt *s = NULL;
        ck_assert_int_eq(sqlite3_prepare_v2(p11kms_store_db(st),
                                            "SELECT count(*) FROM aliases a WHERE NOT EXISTS"
                                            " (SELECT 1 FROM keys k WHERE k.key_id = a.key_id)",
                                            -1, &s, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(s, 0), 0);
        sqlite3_finalize(s);
    }
    return total;
}

START_TEST(test_kill9_loop)
{
    p11kms_store *st = tu_token();
    size_t before = 0, after;
    int round, status;
    struct timespec ts;

    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    p11kms_store_close(st);
    for (round = 0; round < 12; round++) {
        int fds[2];
        char c;
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            crash_ready_fd = fds[1];
            crash_writer();
        }
        close(fds[1]);
        ck_assert_int_eq(read(fds[0], &c, 1), 1); /* first commit done */
        close(fds[0]);
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(20 + rand() % 130) * 1000000L;
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status), "writer exited early with %d", WEXITSTATUS(status));
        st = open_login();
        check_integrity(st);
        after = check_complete(st);
        ck_assert_uint_ge(after, before);
        before = after;
        p11kms_store_close(st);
    }
    ck_assert_uint_gt(before, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Lookups among 100,000 keys                                               */

#define MANY    100000
#define VIA_API 10000 /* keys made through key_create; the rest by SQL */

/* Bulk filler keys MANY-VIA_API.. with the same id/label scheme, inserted
 * by SQL so the test stays fast; their (never read) material is a dummy. */
static void bulk_fill(p11kms_store *st)
{
    char sql[2048];

    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO keys (key_id, key_spec, key_usage, key_state, origin, key_manager,"
             " creation, current_version, owner_uid, owner_gid, app_id, app_label, updated)"
             " SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||"
             " substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' ||"
             " hex(randomblob(6))), 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'Enabled',"
             " 'P11KMS', 'CUSTOMER', 1, 1, 0, 0,"
             " CAST(printf('%%08x', i) AS BLOB), CAST('label-' || i AS BLOB), 1 FROM n;"
             "INSERT INTO key_versions (key_id, version, creation, material)"
             " SELECT key_id, 1, 1, x'00' FROM keys WHERE creation = 1;",
             VIA_API, MANY - 1);
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    ck_assert_msg(sqlite3_exec(p11kms_store_db(st), sql, NULL, NULL, NULL) == SQLITE_OK, "%s",
                  sqlite3_errmsg(p11kms_store_db(st)));
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
}

/* CPU microseconds of this process: independent of other load on the
 * machine, so the bound below detects a missing index, not a busy host. */
static int64_t cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double per_lookup_us(int64_t t0, int n)
{
    return (double)(cpu_us() - t0) / n;
}

START_TEST(test_lookup_100k)
{
    p11kms_store *st = tu_token();
    p11kms_store_key k, *list = NULL;
    p11kms_store_key_filter f;
    unsigned char m[32] = {1};
    char idtext[16], label[32], alias[48], kid[37], ids[100][37];
    size_t n;
    int i, more;
    int64_t t0;
    double us;

    t0 = p11kms_time_mono_ms();
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    for (i = 0; i < VIA_API; i++) {
        make_key(&k);
        snprintf(idtext, sizeof(idtext), "%08x", i);
        snprintf(label, sizeof(label), "label-%d", i);
        k.app_id = (unsigned char *)idtext;
        k.app_id_len = 8;
        k.app_label = (unsigned char *)label;
        k.app_label_len = strlen(label);
        ck_assert_int_eq(p11kms_store_key_create(st, &k, m, sizeof(m), NULL, 0), P11KMS_STORE_OK);
        if (i % 100 == 0) {
            snprintf(alias, sizeof(alias), "alias/k%d", i);
            ck_assert_int_eq(p11kms_store_alias_create(st, alias, k.key_id, 1), P11KMS_STORE_OK);
            memcpy(ids[i / 100], k.key_id, 37);
        }
    }
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
    fprintf(stderr, "store: created %d keys through the API in %lld ms\n", VIA_API,
            (long long)(p11kms_time_mono_ms() - t0));
    bulk_fill(st);
    ck_assert_int_eq(sqlite3_exec(p11kms_store_db(st), "SELECT 1", NULL, NULL, NULL), SQLITE_OK);

    memset(&f, 0, sizeof(f));
    f.match_app_id = 1;
    f.app_id = (const unsigned char *)idtext;
    f.app_id_len = 8;
    t0 = cpu_us();
    for (i = 0; i < 10000; i++) {
        snprintf(idtext, sizeof(idtext), "%08x", (i * 7919) % MANY);
        ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 10, &list, &n, &more),
                         P11KMS_STORE_OK);
        ck_assert_uint_eq(n, 1);
        p11kms_store_key_list_free(list, n);
    }
    us = per_lookup_us(t0, 10000);
    fprintf(stderr, "store: lookup by CKA_ID among %d keys: %.1f us CPU\n", MANY, us);
    ck_assert_msg(us < 500.0, "CKA_ID lookup too slow: %.1f us (index unused?)", us);

    memset(&f, 0, sizeof(f));
    f.match_app_label = 1;
    f.app_label = (const unsigned char *)label;
    t0 = cpu_us();
    for (i = 0; i < 10000; i++) {
        snprintf(label, sizeof(label), "label-%d", (i * 7919) % MANY);
        f.app_label_len = strlen(label);
        ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 10, &list, &n, &more),
                         P11KMS_STORE_OK);
        ck_assert_uint_eq(n, 1);
        p11kms_store_key_list_free(list, n);
    }
    us = per_lookup_us(t0, 10000);
    fprintf(stderr, "store: lookup by CKA_LABEL: %.1f us CPU\n", us);
    ck_assert_msg(us < 500.0, "CKA_LABEL lookup too slow: %.1f us", us);

    t0 = cpu_us();
    for (i = 0; i < 10000; i++) {
        snprintf(alias, sizeof(alias), "alias/k%d", (i % 100) * 100);
        ck_assert_int_eq(p11kms_store_alias_resolve(st, alias, kid), P11KMS_STORE_OK);
        ck_assert_str_eq(kid, ids[i % 100]);
        ck_assert_int_eq(p11kms_store_key_get(st, kid, &k), P11KMS_STORE_OK);
        p11kms_store_key_clear(&k);
    }
    us = per_lookup_us(t0, 10000);
    fprintf(stderr, "store: alias resolve + key get: %.1f us CPU\n", us);
    ck_assert_msg(us < 500.0, "alias lookup too slow: %.1f us", us);

    memset(&f, 0, sizeof(f));
    f.alias = alias;
    t0 = cpu_us();
    for (i = 0; i < 10000; i++) {
        snprintf(alias, sizeof(alias), "alias/k%d", (i % 100) * 100);
        ck_assert_int_eq(p11kms_store_key_list(st, &f, NULL, 10, &list, &n, &more),
                         P11KMS_STORE_OK);
        ck_assert_uint_eq(n, 1);
        p11kms_store_key_list_free(list, n);
    }
    us = per_lookup_us(t0, 10000);
    fprintf(stderr, "store: list filtered by alias: %.1f us CPU\n", us);
    ck_assert_msg(us < 500.0, "alias filter too slow: %.1f us", us);
    p11kms_store_close(st);
}
END_TEST

/* Default KDF cost: one login must take roughly 50-100 ms on this class of
 * machine (printed; only a gross deviation fails). */
START_TEST(test_default_kdf_login_time)
{
    p11kms_store_token_params p = {0};
    p11kms_store *st = tu_open(P11KMS_STORE_OPEN_CREATE);
    int64_t t0, best = INT64_MAX;
    int i;

    p.label = "kdf";
    ck_assert_int_eq(p11kms_store_token_init(st, SO_PIN, strlen(SO_PIN), &p), P11KMS_STORE_OK);
    for (i = 0; i < 3; i++) {
        t0 = p11kms_time_mono_ms();
        ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_SO, SO_PIN, strlen(SO_PIN)),
                         P11KMS_STORE_OK);
        if (p11kms_time_mono_ms() - t0 < best)
            best = p11kms_time_mono_ms() - t0;
        p11kms_store_logout(st);
    }
    fprintf(stderr, "store: login at the default KDF cost: %lld ms\n", (long long)best);
    ck_assert_int_ge(best, 10);
    ck_assert_int_le(best, 1000);
    p11kms_store_close(st);
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("store-stress");
    TCase *tc = tcase_create("stress");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_concurrent_writers);
    tcase_add_test(tc, test_kill9_loop);
    tcase_add_test(tc, test_lookup_100k);
    tcase_add_test(tc, test_default_kdf_login_time);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stress_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
