/*
 * tests/store/test-audit.c - the audit chain: both append paths, listing,
 * seals, verification of every tamper class (done by editing the file with
 * the sqlite3 C API), anchors, journal recovery and fail-closed behaviour.
 * The multi-process stress and kill -9 tests live in test-audit-stress.c.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crypto.h"
#include "store/audit-internal.h"
#include "store/audit.h"
#include "store/store.h"
/* header-style helpers shared with test-audit-stress.c (static functions) */
#include "tests/store/test-audit-util.c"

/* ------------------------------------------------------------------------ */
/* Basics                                                                    */

START_TEST(test_append_roundtrip)
{
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    p11kms_audit_record r;
    p11kms_audit_entry *e = NULL;
    size_t n = 0;
    uint64_t cur = 1, count = 0;

    memset(&r, 0, sizeof(r));
    r.event_name = "Encrypt";
    r.uid = 4242;
    r.gid = 77;
    r.pid = -5;
    r.user = "";
    r.key_id = "11111111-2222-4333-8444-555555555555";
    r.key_version = 3;
    r.request_json = "{\"EncryptionContext\":{\"a\":\"b\"}}";
    r.read_only = 1;
    ck_assert_int_eq(p11kms_store_audit_append(st, &r), P11KMS_STORE_OK);
    ck_assert_int_eq(strlen(r.event_id), 36);
    ck_assert(r.event_time_ms > 0);
    ck_assert_int_eq(p11kms_store_audit_list(st, NULL, 10, &e, &n, &cur), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(cur, 0);
    ck_assert_uint_eq(e[0].seq, 1);
    ck_assert_str_eq(e[0].rec.event_id, r.event_id);
    ck_assert_int_eq(e[0].rec.event_time_ms, r.event_time_ms);
    ck_assert_str_eq(e[0].rec.event_name, "Encrypt");
    ck_assert_uint_eq(e[0].rec.uid, 4242);
    ck_assert_uint_eq(e[0].rec.gid, 77);
    ck_assert_int_eq(e[0].rec.pid, -5);
    ck_assert_ptr_nonnull(e[0].rec.user); /* "" stays "", NULL stays NULL */
    ck_assert_str_eq(e[0].rec.user, "");
    ck_assert_ptr_null(e[0].rec.executable);
    ck_assert_ptr_null(e[0].rec.error_code);
    ck_assert_uint_eq(e[0].rec.key_version, 3);
    ck_assert_int_eq(e[0].rec.read_only, 1);
    ck_assert_int_eq(e[0].rec.management, 0);
    ck_assert_str_eq(e[0].rec.request_json, r.request_json);
    p11kms_audit_entry_list_free(e, n);
    ck_assert_int_eq(p11kms_store_audit_count(st, &count), P11KMS_STORE_OK);
    ck_assert_uint_eq(count, 1);
    r.event_name = NULL;
    ck_assert_int_eq(p11kms_store_audit_append(st, &r), P11KMS_STORE_INVALID);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_durability_power)
{
    p11kms_audit_options o = {P11KMS_AUDIT_DURABILITY_POWER, 0, 0};
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);

    /* "power" needs a store whose commits are synced too */
    ck_assert_int_eq(p11kms_store_audit_set_options(st, &o), P11KMS_STORE_INVALID);
    p11kms_store_close(st);
    st = at_open(P11KMS_STORE_OPEN_SYNC_FULL);
    ck_assert_int_eq(p11kms_store_audit_set_options(st, &o), P11KMS_STORE_OK);
    at_append(st, 3, 0);
    ck_assert_uint_eq(at_count(st), 3);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_management_same_transaction)
{
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    uint64_t count = 0;
    p11kms_audit_entry *e = NULL;
    size_t n = 0;

    at_append(st, 3, 0); /* data records, journaled */
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    at_append(st, 1, 1);
    ck_assert_int_eq(p11kms_store_rollback(st), P11KMS_STORE_OK);
    /* the rolled-back fold did not consume the journal: nothing lost */
    ck_assert_int_eq(p11kms_store_audit_count(st, &count), P11KMS_STORE_OK);
    ck_assert_uint_eq(count, 3);
    at_append(st, 2, 0);
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    at_append(st, 1, 1);
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_audit_list(st, NULL, 10, &e, &n, NULL), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 6);
    /* the management record follows the data records written before it */
    ck_assert_uint_eq(e[0].seq, 6);
    ck_assert_int_eq(e[0].rec.management, 1);
    ck_assert_int_eq(e[1].rec.management, 0);
    p11kms_audit_entry_list_free(e, n);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 1);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_list_filters_paging)
{
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    p11kms_audit_filter f;
    p11kms_audit_entry *e = NULL;
    size_t n = 0, total = 0;
    uint64_t cur = 0, last = UINT64_MAX;
    int pages = 0;

    at_append(st, 250, 0); /* every 7th is an error, uid 1000 + i % 5 */
    memset(&f, 0, sizeof(f));
    do {
        f.cursor = cur;
        ck_assert_int_eq(p11kms_store_audit_list(st, &f, 100, &e, &n, &cur), P11KMS_STORE_OK);
        for (size_t i = 0; i < n; i++) {
            ck_assert(e[i].seq < last); /* newest first, no repeats */
            last = e[i].seq;
        }
        total += n;
        pages++;
        p11kms_audit_entry_list_free(e, n);
    } while (cur != 0);
    ck_assert_uint_eq(total, 250);
    ck_assert_int_eq(pages, 3);

    f.cursor = 0;
    f.result = P11KMS_AUDIT_RESULT_ERROR;
    f.match_uid = 1;
    f.uid = 1002;
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 1000, &e, &n, &cur), P11KMS_STORE_OK);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(e[i].rec.error_code);
        ck_assert_uint_eq(e[i].rec.uid, 1002);
        ck_assert_uint_eq((e[i].seq - 1) % 7, 0);
        ck_assert_uint_eq((e[i].seq - 1) % 5, 2);
    }
    p11kms_audit_entry_list_free(e, n);

    memset(&f, 0, sizeof(f));
    f.event_name = "Sign";
    f.ascending = 1;
    f.key_id = AT_KEY_B;
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 1000, &e, &n, &cur), P11KMS_STORE_OK);
    ck_assert_uint_gt(n, 1);
    ck_assert(e[0].seq < e[1].seq);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(e[i].rec.event_name, "Sign");
        ck_assert_str_eq(e[i].rec.key_id, AT_KEY_B);
    }
    p11kms_audit_entry_list_free(e, n);

    memset(&f, 0, sizeof(f));
    f.category = P11KMS_AUDIT_CAT_MANAGEMENT;
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 1000, &e, &n, &cur), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 0);
    p11kms_audit_entry_list_free(e, n);
    f.category = P11KMS_AUDIT_CAT_DATA;
    f.from_ms = 1;
    f.to_ms = INT64_MAX;
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 1000, &e, &n, &cur), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 250);
    p11kms_audit_entry_list_free(e, n);
    f.to_ms = 1000; /* 1970 */
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 1000, &e, &n, &cur), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 0);
    p11kms_audit_entry_list_free(e, n);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_anchor_text)
{
    p11kms_audit_anchor a, b;
    char s[P11KMS_AUDIT_ANCHOR_STR_SIZE];

    a.seq = 18446744073709551615ull;
    for (int i = 0; i < 32; i++)
        a.hash[i] = (unsigned char)(i * 7);
    p11kms_audit_anchor_format(&a, s);
    ck_assert(p11kms_audit_anchor_parse(s, &b));
    ck_assert_uint_eq(b.seq, a.seq);
    ck_assert_mem_eq(b.hash, a.hash, 32);
    ck_assert(!p11kms_audit_anchor_parse("12:abcd", &b));
    ck_assert(!p11kms_audit_anchor_parse(":00", &b));
    ck_assert(!p11kms_audit_anchor_parse("99999999999999999999:"
                                         "0000000000000000000000000000000000000000000000000000"
                                         "000000000000",
                                         &b));
    ck_assert_str_eq(p11kms_audit_problem_name(P11KMS_AUDIT_REORDERED), "reordered");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Journal: files, recovery, damage, fail closed                            */

START_TEST(test_journal_files_private)
{
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    char dir[1100];
    struct stat sb;
    struct dirent *de;
    DIR *d;
    int files = 0;

    at_append(st, 5, 0);
    snprintf(dir, sizeof(dir), "%s-audit", at_path);
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0700);
    d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        char p[2300];
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        ck_assert_int_eq(stat(p, &sb), 0);
        ck_assert_int_eq(sb.st_mode & 0777, 0600);
        ck_assert_int_gt(sb.st_size, 0);
        files++;
    }
    closedir(d);
    ck_assert_int_eq(files, 1);
    p11kms_store_close(st); /* a clean close folds and removes the journal */
    ck_assert_int_eq(at_journal_files(), 0);
    st = at_open(P11KMS_STORE_OPEN_READONLY);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 1);
    ck_assert_uint_eq(at_count(st), 5);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_dead_journal_recovered)
{
    pid_t pid = fork();
    int status = 0;
    p11kms_store *st;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        st = at_open(P11KMS_STORE_OPEN_CREATE);
        at_append(st, 100, 0);
        raise(SIGKILL); /* no close: the journal stays behind, owner dead */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ck_assert_int_eq(at_journal_files(), 1);
    st = at_open(0);
    ck_assert_uint_eq(at_count(st), 100); /* count flushes first */
    ck_assert_int_eq(at_journal_files(), 0);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 1);
    p11kms_store_close(st);
}
END_TEST

/* Garbage in the middle of a dead journal: the entries around it are
 * chained, and the damage itself becomes a record. */
START_TEST(test_dead_journal_damage)
{
    p11kms_store *st;
    p11kms_audit_filter f;
    p11kms_audit_entry *e = NULL;
    size_t n = 0;
    pid_t pid = fork();
    int status = 0;
    char name[2400];
    long size;
    FILE *fp;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        st = at_open(P11KMS_STORE_OPEN_CREATE);
        at_append(st, 20, 0);
        raise(SIGKILL);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert(at_journal_name(name, sizeof(name)));
    fp = fopen(name, "r+b");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, size / 2, SEEK_SET); /* inside entry ~10 */
    fwrite("XXXXXXXX", 1, 8, fp);
    fclose(fp);
    ck_assert_int_eq(truncate(name, size - 3), 0); /* and a torn last entry */
    st = at_open(0);
    ck_assert_uint_eq(at_count(st), 18 + 2); /* 18 entries + 2 damage records */
    memset(&f, 0, sizeof(f));
    f.event_name = "AuditJournalDamaged";
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 10, &e, &n, NULL), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(e[0].rec.error_code, "AuditJournalDamaged");
    ck_assert_int_eq(e[0].rec.event_type, P11KMS_AUDIT_SERVICE_EVENT);
    ck_assert_ptr_nonnull(strstr(e[1].rec.response_json, "skippedBytes"));
    p11kms_audit_entry_list_free(e, n);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 1);
    ck_assert_int_eq(at_journal_files(), 0);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_fail_closed_readonly)
{
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    p11kms_audit_record r;
    p11kms_audit_verify_result res;
    char dir[1100];

    at_append(st, 3, 0);
    p11kms_store_close(st);
    st = at_open(P11KMS_STORE_OPEN_READONLY);
    memset(&r, 0, sizeof(r));
    r.event_name = "Decrypt";
    ck_assert_int_eq(p11kms_store_audit_append(st, &r), P11KMS_STORE_READONLY);
    ck_assert_int_eq(p11kms_store_audit_flush(st), P11KMS_STORE_READONLY);
    ck_assert_int_eq(p11kms_store_audit_seal(st, NULL), P11KMS_STORE_READONLY);
    /* reading still works on a read-only handle */
    ck_assert_uint_eq(at_count(st), 3);
    ck_assert_int_eq(p11kms_store_audit_verify(st, NULL, &res), P11KMS_STORE_OK);
    ck_assert_int_eq(res.problem, P11KMS_AUDIT_UNSEALED_TAIL);
    p11kms_store_close(st);

    /* a journal directory that cannot be created: the append fails */
    snprintf(dir, sizeof(dir), "%s-audit", at_path);
    at_rmtree(dir);
    ck_assert_int_eq(close(open(dir, O_CREAT | O_WRONLY, 0600)), 0);
    st = at_open(0);
    ck_assert_int_ne(p11kms_store_audit_append(st, &r), P11KMS_STORE_OK);
    /* a world-writable journal directory is refused (planted entries) */
    unlink(dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(chmod(dir, 0777), 0);
    ck_assert_int_eq(p11kms_store_audit_append(st, &r), P11KMS_STORE_PERM);
    chmod(dir, 0700);
    ck_assert_int_eq(p11kms_store_audit_append(st, &r), P11KMS_STORE_OK);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_fail_closed_mgmt_readonly_file)
{
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    p11kms_audit_record r;
    sqlite3 *db = p11kms_store_db(st);

    memset(&r, 0, sizeof(r));
    r.event_name = "CreateKey";
    r.management = 1;
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    /* the connection turns read-only under the transaction: the insert
     * fails and so must the management append */
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_ne(p11kms_store_audit_append(st, &r), P11KMS_STORE_OK);
    p11kms_store_rollback(st);
    sqlite3_exec(db, "PRAGMA query_only = 0", NULL, NULL, NULL);
    p11kms_store_close(st);
}
END_TEST

/* A full disk (RLIMIT_FSIZE: write() gets EFBIG or a short count) fails the
 * append; once there is room again appends resume and the torn entry left
 * behind is chained as damage, never as a record. */
START_TEST(test_fail_closed_disk_full)
{
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);
    struct rlimit rl = {0, RLIM_INFINITY};
    p11kms_audit_record r;
    p11kms_store_rc rc = P11KMS_STORE_OK;
    p11kms_audit_filter f;
    p11kms_audit_entry *e = NULL;
    size_t n = 0;
    int ok = 0, i;

    signal(SIGXFSZ, SIG_IGN);
    at_append(st, 5, 0);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = 5000; /* the journal holds ~2 KB now */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    memset(&r, 0, sizeof(r));
    r.event_name = "Decrypt";
    r.request_json = "{\"padding\":\"................................................\"}";
    for (i = 0; i < 100 && rc == P11KMS_STORE_OK; i++) {
        rc = p11kms_store_audit_append(st, &r);
        ok += rc == P11KMS_STORE_OK;
    }
    ck_assert_int_eq(rc, P11KMS_STORE_FULL);
    ck_assert_int_lt(ok, 100);
    rl.rlim_cur = RLIM_INFINITY;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    ck_assert_int_eq(p11kms_store_audit_append(st, &r), P11KMS_STORE_OK);
    memset(&f, 0, sizeof(f));
    f.event_name = "AuditJournalDamaged"; /* the torn entry, unless the limit fell */
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 10, &e, &n, NULL), P11KMS_STORE_OK);
    p11kms_audit_entry_list_free(e, n); /* exactly between two entries */
    ck_assert_uint_le(n, 1);
    ck_assert_uint_eq(at_count(st), 5 + (uint64_t)ok + 1 + n);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 1);
    p11kms_store_close(st);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Seals                                                                     */

START_TEST(test_seal_needs_login_and_defers)
{
    p11kms_store *st = at_token();
    p11kms_audit_options o = {P11KMS_AUDIT_DURABILITY_PROCESS, 10, P11KMS_AUDIT_SEAL_NEVER};
    p11kms_audit_seal *seals = NULL;
    size_t n = 0;
    char fpr[65], fpr2[65];

    ck_assert_int_eq(p11kms_store_audit_set_options(st, &o), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_audit_key_ensure(st, fpr), P11KMS_STORE_OK);
    ck_assert_int_eq(strlen(fpr), 64);
    at_append(st, 35, 0);
    ck_assert_int_eq(p11kms_store_audit_flush(st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_audit_seal_list(st, 0, 0, &seals, &n), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1); /* seal-records = 10: due, written at the flush */
    ck_assert_uint_eq(seals[0].seq, 35);
    ck_assert_str_eq(seals[0].fingerprint, fpr);
    free(seals);
    ck_assert_int_eq(p11kms_store_logout(st), P11KMS_STORE_OK);
    at_append(st, 20, 0);
    ck_assert_int_eq(p11kms_store_audit_flush(st), P11KMS_STORE_OK); /* deferred */
    ck_assert_int_eq(p11kms_store_audit_seal(st, NULL), P11KMS_STORE_NOT_LOGGED_IN);
    ck_assert_int_eq(p11kms_store_audit_seal_list(st, 0, 0, &seals, &n), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    free(seals);
    at_expect(st, NULL, fpr, P11KMS_AUDIT_UNSEALED_TAIL, 36);
    ck_assert_int_eq(p11kms_store_audit_key_public(st, fpr2, NULL, NULL), P11KMS_STORE_OK);
    ck_assert_str_eq(fpr, fpr2);
    at_login(st);
    /* the management path seals too when due */
    ck_assert_int_eq(p11kms_store_begin_write(st), P11KMS_STORE_OK);
    at_append(st, 1, 1);
    ck_assert_int_eq(p11kms_store_commit(st), P11KMS_STORE_OK);
    at_expect(st, NULL, fpr, P11KMS_AUDIT_INTACT, 0);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_seal_document_signature)
{
    p11kms_store *st = at_token();
    unsigned char *sig = NULL, *spki = NULL;
    size_t siglen = 0, spkilen = 0;
    char fpr[65];
    const unsigned char msg[] = "digest file contents";

    ck_assert_int_eq(
        p11kms_store_audit_sign_document(st, "digest", msg, sizeof(msg), &sig, &siglen, fpr),
        P11KMS_STORE_NOTFOUND); /* no key yet */
    ck_assert_int_eq(p11kms_store_audit_key_ensure(st, fpr), P11KMS_STORE_OK);
    ck_assert_int_eq(
        p11kms_store_audit_sign_document(st, "digest", msg, sizeof(msg), &sig, &siglen, fpr),
        P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_audit_key_public(st, NULL, &spki, &spkilen), P11KMS_STORE_OK);
    ck_assert(p11kms_audit_verify_document(spki, spkilen, "digest", msg, sizeof(msg), sig, siglen));
    ck_assert(!p11kms_audit_verify_document(spki, spkilen, "seal", msg, sizeof(msg), sig, siglen));
    ck_assert(
        !p11kms_audit_verify_document(spki, spkilen, "digest", msg, sizeof(msg) - 1, sig, siglen));
    free(sig);
    free(spki);
    p11kms_store_close(st);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Tampering (fixture: 100 records, seals at 50 and 90, store closed)       */

static void tamper_setup(void)
{
    at_setup();
    at_build_sealed(100, 50, 90);
}

START_TEST(test_intact_reference)
{
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 91);
}
END_TEST

START_TEST(test_tamper_update_field)
{
    at_sql("UPDATE audit_record SET key_id = 'another-key' WHERE seq = 30");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_MODIFIED, 30);
}
END_TEST

START_TEST(test_tamper_update_last_record)
{
    at_sql("UPDATE audit_record SET uid = 0 WHERE seq = 100");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_MODIFIED, 100);
}
END_TEST

START_TEST(test_tamper_update_recomputed_hash)
{
    at_sql("UPDATE audit_record SET error_code = NULL WHERE seq = 29"); /* i = 28: an error */
    at_rehash(29, 29);
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_MODIFIED, 29);
}
END_TEST

START_TEST(test_tamper_rewrite_to_seal)
{
    /* rewrite a record and recompute the rest of the chain: only the seal
     * notices, and names the range since the previous seal */
    p11kms_audit_verify_result res;

    at_sql("UPDATE audit_record SET event_name = 'Verify' WHERE seq = 70");
    at_rehash(70, 100);
    res = at_expect_closed(NULL, NULL, P11KMS_AUDIT_MODIFIED, 51);
    ck_assert_uint_eq(res.seq_end, 90);
}
END_TEST

START_TEST(test_tamper_delete_row)
{
    at_sql("DELETE FROM audit_record WHERE seq = 40");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_DELETED, 40);
}
END_TEST

START_TEST(test_tamper_delete_renumber)
{
    at_sql("DELETE FROM audit_record WHERE seq = 40;"
           "UPDATE audit_record SET seq = -seq WHERE seq > 40;"
           "UPDATE audit_record SET seq = -seq - 1 WHERE seq < 0;");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_DELETED, 40);
}
END_TEST

START_TEST(test_tamper_insert_forged)
{
    at_sql("UPDATE audit_record SET seq = -seq WHERE seq >= 60;"
           "UPDATE audit_record SET seq = -seq + 1 WHERE seq < 0;"
           "INSERT INTO audit_record SELECT 60, 'forged', event_time, 'Decrypt', event_type,"
           " management, read_only, uid, gid, pid, user, executable, key_id, key_version,"
           " request_json, response_json, NULL, NULL, randomblob(32), randomblob(32)"
           " FROM audit_record WHERE seq = 59;");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_INSERTED, 60);
}
END_TEST

START_TEST(test_tamper_insert_linked)
{
    /* a forgery that links to its predecessor and hashes correctly */
    at_sql("UPDATE audit_record SET seq = -seq WHERE seq >= 60;"
           "UPDATE audit_record SET seq = -seq + 1 WHERE seq < 0;"
           "INSERT INTO audit_record SELECT 60, 'forged', event_time, 'Decrypt', event_type,"
           " management, read_only, uid, gid, pid, user, executable, key_id, key_version,"
           " request_json, response_json, NULL, NULL, hash, hash"
           " FROM audit_record WHERE seq = 59;");
    at_rehash(60, 60);
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_INSERTED, 60);
}
END_TEST

START_TEST(test_tamper_append_forged)
{
    at_sql("INSERT INTO audit_record SELECT 101, 'forged', event_time, 'Decrypt', event_type,"
           " management, read_only, uid, gid, pid, user, executable, key_id, key_version,"
           " request_json, response_json, NULL, NULL, randomblob(32), randomblob(32)"
           " FROM audit_record WHERE seq = 100;");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_INSERTED, 101);
}
END_TEST

START_TEST(test_tamper_swap_adjacent)
{
    at_sql("UPDATE audit_record SET seq = -1 WHERE seq = 70;"
           "UPDATE audit_record SET seq = 70 WHERE seq = 71;"
           "UPDATE audit_record SET seq = 71 WHERE seq = -1;");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_REORDERED, 70);
}
END_TEST

START_TEST(test_tamper_swap_distant)
{
    at_sql("UPDATE audit_record SET seq = -1 WHERE seq = 20;"
           "UPDATE audit_record SET seq = 20 WHERE seq = 45;"
           "UPDATE audit_record SET seq = 45 WHERE seq = -1;");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_REORDERED, 20);
}
END_TEST

START_TEST(test_tamper_cut_tail_with_seal)
{
    at_sql("DELETE FROM audit_record WHERE seq > 80");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_TRUNCATED, 81);
}
END_TEST

START_TEST(test_tamper_cut_tail_anchor)
{
    p11kms_audit_anchor head;
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_READONLY);

    ck_assert_int_eq(p11kms_store_audit_head(st, &head), P11KMS_STORE_OK);
    ck_assert_uint_eq(head.seq, 100);
    p11kms_store_close(st);
    /* cut back to before the last seal, and remove that seal too */
    at_sql("DELETE FROM audit_record WHERE seq > 80; DELETE FROM audit_seal WHERE seq > 80");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 51); /* looks plausible */
    at_expect_closed(&head, NULL, P11KMS_AUDIT_TRUNCATED, 81);    /* the anchor knows */
}
END_TEST

START_TEST(test_tamper_cut_and_regrow_anchor)
{
    p11kms_audit_anchor head;
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_READONLY);

    ck_assert_int_eq(p11kms_store_audit_head(st, &head), P11KMS_STORE_OK);
    p11kms_store_close(st);
    at_sql("DELETE FROM audit_record WHERE seq > 95");
    st = at_open(0);
    at_append(st, 10, 0); /* the chain grows past the anchor again */
    p11kms_store_close(st);
    at_expect_closed(&head, NULL, P11KMS_AUDIT_TRUNCATED, 100);
}
END_TEST

START_TEST(test_tamper_forged_seal_signature)
{
    at_sql("UPDATE audit_seal SET signature = substr(signature, 1, 20) || x'00' ||"
           " substr(signature, 22) WHERE seq = 50");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_BAD_SEAL, 50);
}
END_TEST

START_TEST(test_tamper_seal_removed_middle)
{
    at_sql("DELETE FROM audit_seal WHERE seq = 50");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_BAD_SEAL, 90);
}
END_TEST

START_TEST(test_tamper_replaced_signing_key)
{
    /* An attacker without the root key replaces the public key and re-signs
     * every seal: only an expected fingerprint or a logged-in verifier
     * (whose private half no longer matches) can tell. */
    char fpr[65];
    p11kms_store *st;

    st = at_open(P11KMS_STORE_OPEN_READONLY);
    ck_assert_int_eq(p11kms_store_audit_key_public(st, fpr, NULL, NULL), P11KMS_STORE_OK);
    p11kms_store_close(st);
    at_resign_with_new_key();
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 91);
    at_expect_closed(NULL, fpr, P11KMS_AUDIT_BAD_SEAL, 50);
    st = at_open(0);
    at_login(st);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_BAD_SEAL, 50);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_verify_progress)
{
    p11kms_store *st = at_open(0);
    p11kms_audit_verify_opts o;
    p11kms_audit_verify_result res;
    uint64_t calls[2] = {0, 0};

    memset(&o, 0, sizeof(o));
    o.progress = at_progress;
    o.progress_arg = calls;
    ck_assert_int_eq(p11kms_store_audit_verify(st, &o, &res), P11KMS_STORE_OK);
    ck_assert_uint_ge(calls[0], 1);
    ck_assert_uint_eq(calls[1], 100);
    ck_assert_uint_eq(res.records, 100);
    ck_assert_uint_eq(res.seals, 2);
    ck_assert_uint_eq(res.last_sealed_seq, 90);
    p11kms_store_close(st);
}
END_TEST

START_TEST(test_prune_keeps_chain_verifiable)
{
    p11kms_store *st = at_open(0);
    p11kms_audit_entry *e = NULL;
    size_t n = 0;

    ck_assert_int_eq(p11kms_store_audit_prune(st, 40), P11KMS_STORE_INVALID); /* no seal */
    ck_assert_int_eq(p11kms_store_audit_prune(st, 50), P11KMS_STORE_OK);
    ck_assert_uint_eq(at_count(st), 50);
    ck_assert_int_eq(p11kms_store_audit_list(st, NULL, 1000, &e, &n, NULL), P11KMS_STORE_OK);
    ck_assert_uint_eq(e[n - 1].seq, 51);
    p11kms_audit_entry_list_free(e, n);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_UNSEALED_TAIL, 91);
    p11kms_store_close(st);
    /* the checkpoint's seal is what anchors the rest */
    at_sql("DELETE FROM audit_seal WHERE seq = 50");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_BAD_SEAL, 50);
}
END_TEST

START_TEST(test_prune_then_tamper)
{
    p11kms_store *st = at_open(0);

    ck_assert_int_eq(p11kms_store_audit_prune(st, 50), P11KMS_STORE_OK);
    p11kms_store_close(st);
    at_sql("UPDATE audit_base SET hash = randomblob(32)");
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_BAD_SEAL, 50);
}
END_TEST

/* Re-initialising the token replaces the root key: the old signing key no
 * longer unwraps, so a new one takes over and the old seals still verify. */
START_TEST(test_reinit_token_new_signing_key)
{
    p11kms_store *st = at_open(0);
    p11kms_store_kdf kdf;
    p11kms_store_token_params p;
    char old_fpr[65], new_fpr[65];
    p11kms_audit_seal seal;
    p11kms_audit_filter f;
    p11kms_audit_entry *e = NULL;
    size_t n = 0;

    ck_assert_int_eq(p11kms_store_audit_key_public(st, old_fpr, NULL, NULL), P11KMS_STORE_OK);
    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(p11kms_store_kdf_from_cost(10, &kdf), P11KMS_STORE_OK);
    p.label = "again";
    p.kdf = &kdf;
    p.allow_reinit = 1;
    ck_assert_int_eq(p11kms_store_token_init(st, AT_SO_PIN, strlen(AT_SO_PIN), &p),
                     P11KMS_STORE_OK);
    at_login(st);
    ck_assert_int_eq(p11kms_store_audit_key_ensure(st, new_fpr), P11KMS_STORE_OK);
    ck_assert_str_ne(old_fpr, new_fpr);
    memset(&f, 0, sizeof(f));
    f.event_name = "AuditSigningKeyReplaced";
    ck_assert_int_eq(p11kms_store_audit_list(st, &f, 10, &e, &n, NULL), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(e[0].rec.response_json, old_fpr));
    p11kms_audit_entry_list_free(e, n);
    at_append(st, 5, 0);
    ck_assert_int_eq(p11kms_store_audit_seal(st, &seal), P11KMS_STORE_OK);
    ck_assert_str_eq(seal.fingerprint, new_fpr);
    at_expect(st, NULL, NULL, P11KMS_AUDIT_INTACT, 0); /* logged in, both keys */
    p11kms_store_close(st);
    at_expect_closed(NULL, NULL, P11KMS_AUDIT_INTACT, 0);
}
END_TEST

static Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("basics");
    TCase *tt = tcase_create("tamper");

    tcase_add_checked_fixture(tc, at_setup, at_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_append_roundtrip);
    tcase_add_test(tc, test_durability_power);
    tcase_add_test(tc, test_management_same_transaction);
    tcase_add_test(tc, test_list_filters_paging);
    tcase_add_test(tc, test_anchor_text);
    tcase_add_test(tc, test_journal_files_private);
    tcase_add_test(tc, test_dead_journal_recovered);
    tcase_add_test(tc, test_dead_journal_damage);
    tcase_add_test(tc, test_fail_closed_readonly);
    tcase_add_test(tc, test_fail_closed_mgmt_readonly_file);
    tcase_add_test(tc, test_fail_closed_disk_full);
    tcase_add_test(tc, test_seal_needs_login_and_defers);
    tcase_add_test(tc, test_seal_document_signature);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tt, tamper_setup, at_teardown);
    tcase_set_timeout(tt, 60);
    tcase_add_test(tt, test_intact_reference);
    tcase_add_test(tt, test_tamper_update_field);
    tcase_add_test(tt, test_tamper_update_last_record);
    tcase_add_test(tt, test_tamper_update_recomputed_hash);
    tcase_add_test(tt, test_tamper_rewrite_to_seal);
    tcase_add_test(tt, test_tamper_delete_row);
    tcase_add_test(tt, test_tamper_delete_renumber);
    tcase_add_test(tt, test_tamper_insert_forged);
    tcase_add_test(tt, test_tamper_insert_linked);
    tcase_add_test(tt, test_tamper_append_forged);
    tcase_add_test(tt, test_tamper_swap_adjacent);
    tcase_add_test(tt, test_tamper_swap_distant);
    tcase_add_test(tt, test_tamper_cut_tail_with_seal);
    tcase_add_test(tt, test_tamper_cut_tail_anchor);
    tcase_add_test(tt, test_tamper_cut_and_regrow_anchor);
    tcase_add_test(tt, test_tamper_forged_seal_signature);
    tcase_add_test(tt, test_tamper_seal_removed_middle);
    tcase_add_test(tt, test_tamper_replaced_signing_key);
    tcase_add_test(tt, test_verify_progress);
    tcase_add_test(tt, test_prune_keeps_chain_verifiable);
    tcase_add_test(tt, test_prune_then_tamper);
    tcase_add_test(tt, test_reinit_token_new_signing_key);
    suite_add_tcase(s, tt);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(audit_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
