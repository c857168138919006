/*
 * bench/bench-audit.c - measures the audit append paths (docs/audit-format.md,
 * "Data-plane path"), so the choice between them rests on numbers:
 *
 *   txn-per-record  every record in its own BEGIN IMMEDIATE ... COMMIT
 *                   (what the management path costs per record)
 *   group-commit    threads of one process batch their records into one
 *                   transaction: leader/follower on a condition variable,
 *                   no background thread (a prototype, here only)
 *   journal         the chosen data-plane path: one write() per record to
 *                   the per-process journal, folded inline every ~128 KiB
 *                   (the fold cost is included in the numbers)
 *   journal-power   the same with durability "power" (fdatasync per record)
 *
 * each with 1 and 2 threads (one store handle per thread), then the growth
 * check: append cost with 10^4, 10^5 and 10^6 records already in the table,
 * and the verification rate.  Usage: bench-audit [DIR] [--quick]
 * (DIR defaults to a fresh directory under $TMPDIR or /tmp, removed at the
 * end; a DIR given is kept).
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/store.h"

typedef enum { PATH_TXN, PATH_GROUP, PATH_JOURNAL } bench_path;

typedef struct run {
    const char *path;
    bench_path how;
    int n;
    unsigned flags;
    p11kms_audit_durability durability;
    double max_us;
    int failed;
} run;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void fill(p11kms_audit_record *r, int i)
{
    memset(r, 0, sizeof(*r));
    r->event_name = "Encrypt";
    r->uid = 1000;
    r->gid = 1000;
    r->pid = (int32_t)getpid();
    r->user = "alice";
    r->executable = "/usr/sbin/mariadbd";
    r->key_id = "0f3c1a52-6e8b-4c9e-9d57-2b1f0a7c3e11";
    r->key_version = 1;
    r->read_only = 0;
    r->request_json = "{\"KeyId\":\"alias/p11kms/mariadb\",\"EncryptionAlgorithm\":"
                      "\"SYMMETRIC_DEFAULT\",\"EncryptionContext\":{\"table\":\"t1\"}}";
    if (i % 100 == 0)
        r->error_code = "AccessDeniedException";
}

/* -------- group commit prototype (leader/follower, no background thread) */

typedef struct gc_req {
    p11kms_audit_record *rec;
    int done;
    p11kms_store_rc rc;
    struct gc_req *next;
} gc_req;

static pthread_mutex_t gc_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gc_cv = PTHREAD_COND_INITIALIZER;
static gc_req *gc_queue;
static int gc_leader;

/* The leader commits everything queued so far in one transaction. */
static void gc_lead(p11kms_store *st)
{
    gc_req *batch = gc_queue, *q;
    p11kms_store_rc rc;

    gc_queue = NULL;
    gc_leader = 1;
    pthread_mutex_unlock(&gc_mu);
    rc = p11kms_store_begin_write(st);
    for (q = batch; q != NULL && rc == P11KMS_STORE_OK; q = q->next)
        rc = p11kms_store_audit_append(st, q->rec);
    rc = rc == P11KMS_STORE_OK ? p11kms_store_commit(st) : (p11kms_store_rollback(st), rc);
    pthread_mutex_lock(&gc_mu);
    for (q = batch; q != NULL; q = q->next) {
        q->rc = rc;
        q->done = 1;
    }
    gc_leader = 0;
    pthread_cond_broadcast(&gc_cv);
}

static p11kms_store_rc gc_append(p11kms_store *st, p11kms_audit_record *rec)
{
    gc_req me = {rec, 0, P11KMS_STORE_OK, NULL};

    pthread_mutex_lock(&gc_mu);
    me.next = gc_queue;
    gc_queue = &me;
    while (!me.done) {
        if (!gc_leader)
            gc_lead(st);
        else
            pthread_cond_wait(&gc_cv, &gc_mu);
    }
    pthread_mutex_unlock(&gc_mu);
    return me.rc;
}

/* ------------------------------------------------------------------------ */

static p11kms_store_rc one(p11kms_store *st, bench_path how, p11kms_audit_record *r)
{
    p11kms_store_rc rc;

    if (how == PATH_GROUP)
        return gc_append(st, r);
    if (how == PATH_JOURNAL)
        return p11kms_store_audit_append(st, r);
    rc = p11kms_store_begin_write(st);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_append(st, r);
    if (rc == P11KMS_STORE_OK)
        return p11kms_store_commit(st);
    p11kms_store_rollback(st);
    return rc;
}

static void *worker(void *arg)
{
    run *w = arg;
    p11kms_store_options o = {w->flags, 30000};
    p11kms_audit_options ao = {w->durability, P11KMS_AUDIT_SEAL_NEVER, P11KMS_AUDIT_SEAL_NEVER};
    p11kms_store *st = NULL;
    p11kms_audit_record r;
    double t, d;
    int i;

    if (p11kms_store_open(w->path, &o, &st) != P11KMS_STORE_OK ||
        p11kms_store_audit_set_options(st, &ao) != P11KMS_STORE_OK) {
        w->failed = 1;
        goto done;
    }
    for (i = 0; i < w->n; i++) {
        fill(&r, i);
        t = now_us();
        if (one(st, w->how, &r) != P11KMS_STORE_OK) {
            w->failed = 1;
            break;
        }
        d = now_us() - t;
        w->max_us = d > w->max_us ? d : w->max_us;
    }
done:
    p11kms_store_close(st); /* folds what is left (outside the timing) */
    return NULL;
}

static int bench(const char *label, const char *path, bench_path how, int threads, int n,
                 unsigned flags, p11kms_audit_durability dur)
{
    pthread_t t[2];
    run w[2];
    double t0, c0, el, cpu, mx = 0;
    int i, failed = 0;

    for (i = 0; i < threads; i++) {
        w[i] = (run){path, how, n, flags, dur, 0, 0};
    }
    c0 = cpu_us();
    t0 = now_us();
    for (i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, &w[i]);
    for (i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        failed |= w[i].failed;
        mx = w[i].max_us > mx ? w[i].max_us : mx;
    }
    el = now_us() - t0;
    cpu = cpu_us() - c0;
    printf("%-16s %7d %9d %11.0f %9.2f %9.2f %9.0f%s\n", label, threads, n * threads,
           (double)n * threads / (el / 1e6), el / n, cpu / (n * threads), mx,
           failed ? "  FAILED" : "");
    return failed;
}

static int fresh_store(const char *dir, char *path, size_t cap, const char *name, unsigned flags)
{
    p11kms_store_options o = {P11KMS_STORE_OPEN_CREATE | flags, 0};
    p11kms_store *st = NULL;
    p11kms_store_rc rc;

    snprintf(path, cap, "%s/%s.db", dir, name);
    rc = p11kms_store_open(path, &o, &st);
    p11kms_store_close(st);
    if (rc != P11KMS_STORE_OK)
        fprintf(stderr, "bench-audit: %s: %s\n", path, p11kms_store_strerror(rc));
    return rc == P11KMS_STORE_OK;
}

/* Grows the chain to `target` records with big transactions (not timed). */
static int grow(const char *path, uint64_t target)
{
    p11kms_store_options o = {0, 30000};
    p11kms_store *st = NULL;
    p11kms_audit_record r;
    uint64_t have = 0;
    int ok = p11kms_store_open(path, &o, &st) == P11KMS_STORE_OK &&
             p11kms_store_audit_count(st, &have) == P11KMS_STORE_OK;

    while (ok && have < target) {
        ok = p11kms_store_begin_write(st) == P11KMS_STORE_OK;
        for (int i = 0; ok && i < 10000 && have < target; i++, have++) {
            fill(&r, (int)have);
            r.management = 1;
            ok = p11kms_store_audit_append(st, &r) == P11KMS_STORE_OK;
        }
        ok = ok && p11kms_store_commit(st) == P11KMS_STORE_OK;
    }
    p11kms_store_close(st);
    return ok;
}

static void verify_rate(const char *path)
{
    p11kms_store_options o = {P11KMS_STORE_OPEN_READONLY, 0};
    p11kms_store *st = NULL;
    p11kms_audit_verify_result res;
    double t0;

    if (p11kms_store_open(path, &o, &st) != P11KMS_STORE_OK)
        return;
    t0 = now_us();
    if (p11kms_store_audit_verify(st, NULL, &res) == P11KMS_STORE_OK)
        printf("verify: %llu records in %.2f s (%.0f records/s), result %s\n",
               (unsigned long long)res.records, (now_us() - t0) / 1e6,
               (double)res.records / ((now_us() - t0) / 1e6),
               p11kms_audit_problem_name(res.problem));
    p11kms_store_close(st);
}

static int growth(const char *dir, int quick)
{
    static const uint64_t sizes[] = {10000, 100000, 1000000};
    char path[1024];
    int failed = 0;
    size_t i, nsizes = quick ? 2 : 3;

    printf("\n%-16s %7s %9s %11s %9s %9s %9s\n", "growth", "threads", "records", "ops/s", "mean_us",
           "cpu_us", "max_us");
    if (!fresh_store(dir, path, sizeof(path), "growth", 0))
        return 1;
    for (i = 0; i < nsizes && !failed; i++) {
        char label[32];
        if (!grow(path, sizes[i]))
            return 1;
        snprintf(label, sizeof(label), "journal@%llu", (unsigned long long)sizes[i]);
        failed |= bench(label, path, PATH_JOURNAL, 1, 20000, 0, P11KMS_AUDIT_DURABILITY_PROCESS);
        snprintf(label, sizeof(label), "txn@%llu", (unsigned long long)sizes[i]);
        failed |= bench(label, path, PATH_TXN, 1, 2000, 0, P11KMS_AUDIT_DURABILITY_PROCESS);
    }
    verify_rate(path);
    return failed;
}

/* Removes the scratch directory (one level of files plus journal dirs). */
static void at_rmtree_bench(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[2048];
    struct stat sb;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            at_rmtree_bench(p);
        else
            unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    char tmpl[512], path[1024];
    const char *dir = NULL, *base = getenv("TMPDIR");
    int quick = 0, failed = 0, made = 0, i, n;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else
            dir = argv[i];
    }
    if (dir == NULL) {
        snprintf(tmpl, sizeof(tmpl), "%s/bench-audit-XXXXXX", base ? base : "/tmp");
        dir = mkdtemp(tmpl);
        if (dir == NULL) {
            perror("bench-audit: mkdtemp");
            return 1;
        }
        made = 1;
    }
    n = quick ? 5000 : 20000;
    printf("bench-audit: records of ~%d bytes, store in %s\n", 330, dir);
    printf("%-16s %7s %9s %11s %9s %9s %9s\n", "path", "threads", "records", "ops/s", "mean_us",
           "cpu_us", "max_us");
    for (int t = 1; t <= 2 && !failed; t++) {
        char name[32];
        snprintf(name, sizeof(name), "txn%d", t);
        failed |= !fresh_store(dir, path, sizeof(path), name, 0) ||
                  bench("txn-per-record", path, PATH_TXN, t, n / 4, 0, 0);
        snprintf(name, sizeof(name), "group%d", t);
        failed |= !fresh_store(dir, path, sizeof(path), name, 0) ||
                  bench("group-commit", path, PATH_GROUP, t, n / 4, 0, 0);
        snprintf(name, sizeof(name), "journal%d", t);
        failed |= !fresh_store(dir, path, sizeof(path), name, 0) ||
                  bench("journal", path, PATH_JOURNAL, t, n * 5, 0, 0);
        snprintf(name, sizeof(name), "power%d", t);
        failed |= !fresh_store(dir, path, sizeof(path), name, P11KMS_STORE_OPEN_SYNC_FULL) ||
                  bench("journal-power", path, PATH_JOURNAL, t, quick ? 200 : 1000,
                        P11KMS_STORE_OPEN_SYNC_FULL, P11KMS_AUDIT_DURABILITY_POWER);
    }
    if (!failed)
        failed |= growth(dir, quick);
    printf("mean_us: wall time per record and thread; cpu_us: process CPU time per record\n");
    if (made)
        at_rmtree_bench(dir);
    return failed;
}
