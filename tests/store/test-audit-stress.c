/*
 * tests/store/test-audit-stress.c - the audit chain under concurrency and
 * crashes: 4 processes x 2 threads x 2,000 appends (both paths mixed) give
 * exactly 16,000 records and one valid chain; a kill -9 loop during appends
 * leaves a store whose chain verifies after recovery and holds every record
 * whose append returned.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/store.h"
/* header-style helpers shared with test-audit.c (static functions) */
#include "tests/store/test-audit-util.c"

#define PROCS      4
#define THREADS    2
#define PER        2000
#define MGMT_EVERY 100

/* One record, on the management path when mgmt (own write transaction). */
static p11kms_store_rc one_append(p11kms_store *st, int i, int mgmt)
{
    p11kms_audit_record r;
    p11kms_store_rc rc = P11KMS_STORE_OK;

    memset(&r, 0, sizeof(r));
    r.event_name = mgmt ? "EnableKey" : "Encrypt";
    r.management = mgmt;
    r.uid = (uint32_t)getpid();
    r.pid = (int32_t)getpid();
    r.key_id = AT_KEY_A;
    r.key_version = (uint32_t)i;
    r.request_json = "{\"KeyId\":\"alias/stress\"}";
    if (mgmt)
        rc = p11kms_store_begin_write(st);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_append(st, &r);
    if (mgmt && rc == P11KMS_STORE_OK)
        rc = p11kms_store_commit(st);
    else if (mgmt)
        p11kms_store_rollback(st);
    return rc;
}

static void *stress_thread(void *arg)
{
    p11kms_store_options o = {0, 30000};
    p11kms_store *st = NULL;
    long bad = 0;
    int i;

    (void)arg;
    if (p11kms_store_open(at_path, &o, &st) != P11KMS_STORE_OK)
        return (void *)1L;
    for (i = 0; i < PER; i++)
        bad += one_append(st, i, i % MGMT_EVERY == MGMT_EVERY - 1) != P11KMS_STORE_OK;
    p11kms_store_close(st);
    return (void *)bad;
}

static int stress_child(void)
{
    pthread_t t[THREADS];
    void *res;
    long bad = 0;
    int i;

    for (i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, stress_thread, NULL) != 0)
            return 1;
    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], &res);
        bad += (long)res;
    }
    return bad != 0;
}

static int64_t raw_int(const char *sql)
{
    sqlite3 *db = at_raw();
    sqlite3_stmt *q = NULL;
    int64_t v = -1;

    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

START_TEST(test_concurrent_appends)
{
    pid_t pids[PROCS];
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    p11kms_audit_verify_result res;
    int i, status;

    p11kms_store_close(st);
    for (i = 0; i < PROCS; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0)
            _exit(stress_child());
    }
    for (i = 0; i < PROCS; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    st = at_open(0);
    ck_assert_uint_eq(at_count(st), PROCS * THREADS * PER);
    res = at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 1);
    ck_assert_uint_eq(res.records, PROCS * THREADS * PER);
    ck_assert_uint_eq(res.head.seq, PROCS * THREADS * PER);
    p11kms_store_close(st);
    ck_assert_int_eq(at_journal_files(), 0);
    ck_assert_int_eq(raw_int("SELECT count(DISTINCT event_id) FROM audit_record"),
                     PROCS * THREADS * PER);
    ck_assert_int_eq(raw_int("SELECT count(*) FROM audit_record WHERE management = 1"),
                     PROCS * THREADS * (PER / MGMT_EVERY));
    ck_assert_int_eq(raw_int("SELECT count(DISTINCT uid) FROM audit_record"), PROCS);
}
END_TEST

#define ROUNDS 10

/* Appends until killed; acked[0] counts appends that returned OK. */
static void kill_child(volatile uint64_t *acked)
{
    p11kms_store_options o = {0, 30000};
    p11kms_store *st = NULL;
    int i;

    if (p11kms_store_open(at_path, &o, &st) != P11KMS_STORE_OK)
        _exit(1);
    for (i = 0;; i++) {
        if (one_append(st, i, i % 50 == 49) != P11KMS_STORE_OK)
            _exit(2);
        __atomic_add_fetch(acked, 1, __ATOMIC_SEQ_CST);
    }
}

START_TEST(test_kill9_loop)
{
    volatile uint64_t *acked =
        mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    int64_t records, damaged;
    struct timespec ts;
    int round, status, waited;
    uint64_t before;
    pid_t pid;

    ck_assert_ptr_ne((void *)acked, MAP_FAILED);
    p11kms_store_close(st);
    srand((unsigned)getpid());
    for (round = 0; round < ROUNDS; round++) {
        before = *acked;
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            kill_child(acked);
        /* let it get going (slow machines, valgrind), then kill at random */
        ts.tv_sec = 0;
        ts.tv_nsec = 1000000L;
        for (waited = 0; *acked == before && waited < 20000; waited++)
            nanosleep(&ts, NULL);
        ts.tv_nsec = (rand() % 60) * 1000000L;
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status), "child ended by itself: %d", status);
    }
    st = at_open(0);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 1); /* folds the dead journals */
    p11kms_store_close(st);
    ck_assert_int_eq(at_journal_files(), 0);
    ck_assert_int_eq(raw_int("SELECT count(*) FROM pragma_integrity_check WHERE "
                             "integrity_check != 'ok'"),
                     0);
    damaged = raw_int("SELECT count(*) FROM audit_record WHERE event_name = "
                      "'AuditJournalDamaged'");
    records = raw_int("SELECT count(*) FROM audit_record") - damaged;
    /* every acknowledged record is there; at most one in flight per kill */
    ck_assert_msg(records >= (int64_t)*acked && records <= (int64_t)*acked + ROUNDS,
                  "records %lld, acknowledged %llu", (long long)records,
                  (unsigned long long)*acked);
    ck_assert_int_le(damaged, ROUNDS);
    ck_assert_uint_gt(*acked, 100);
    munmap((void *)acked, sizeof(uint64_t));
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("audit-stress");
    TCase *tc = tcase_create("stress");

    tcase_add_checked_fixture(tc, at_setup, at_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_concurrent_appends);
    tcase_add_test(tc, test_kill9_loop);
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
