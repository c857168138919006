/*
 * tests/common/test-secmem.c - protected allocations: alignment, zeroing,
 * slab sharing and release, large mappings, wiping, the fork behaviour
 * (MADV_WIPEONFORK) and the abort on a foreign pointer.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/secmem.h"

static size_t pages_at_start;

static void setup(void)
{
    p11kms_secmem_stats(NULL, &pages_at_start);
}

static void teardown(void)
{
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

START_TEST(test_small_share_pages)
{
    enum { N = 100 };
    unsigned char *p[N];
    size_t in_use = 0, pages = 0;

    for (int i = 0; i < N; i++) {
        p[i] = p11kms_secmem_alloc(32);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
        ck_assert(all_zero(p[i], 32));
        memset(p[i], 0xa5, 32);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ck_assert(p[i] + 32 <= p[j] || p[j] + 32 <= p[i]); /* no overlap */
    p11kms_secmem_stats(&in_use, &pages);
    ck_assert_uint_eq(in_use, N * 32);
    /* 100 keys of 32 bytes fit in one 4 KiB page, not 100 pages */
    ck_assert_uint_le(pages - pages_at_start, (N * 32) / (size_t)sysconf(_SC_PAGESIZE) + 1);
    for (int i = 0; i < N; i++)
        p11kms_secmem_free(p[i], 32);
    p11kms_secmem_stats(&in_use, &pages);
    ck_assert_uint_eq(in_use, 0);
    ck_assert_uint_le(pages, pages_at_start + 1);
}
END_TEST

START_TEST(test_reuse_is_wiped)
{
    unsigned char *a = p11kms_secmem_alloc(48), *b;

    ck_assert_ptr_nonnull(a);
    memset(a, 0x77, 48);
    p11kms_secmem_free(a, 48);
    b = p11kms_secmem_alloc(64); /* same size class */
    ck_assert_ptr_nonnull(b);
    ck_assert(all_zero(b, 64));
    p11kms_secmem_free(b, 64);
}
END_TEST

START_TEST(test_size_classes)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 33, 100, 255, 256, 513, 1000, 1024};
    void *p[sizeof(sizes) / sizeof(sizes[0])];
    size_t in_use = 0;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        p[i] = p11kms_secmem_alloc(sizes[i]);
        ck_assert_ptr_nonnull(p[i]);
        memset(p[i], 0x11, sizes[i] ? sizes[i] : 1);
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        p11kms_secmem_free(p[i], sizes[i]);
    p11kms_secmem_stats(&in_use, NULL);
    ck_assert_uint_eq(in_use, 0);
}
END_TEST

START_TEST(test_large)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), in_use = 0, pages = 0;
    unsigned char *p = p11kms_secmem_alloc(3 * ps + 5);

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % ps, 0);
    ck_assert(all_zero(p, 3 * ps + 5));
    memset(p, 0x3c, 3 * ps + 5);
    p11kms_secmem_stats(&in_use, &pages);
    ck_assert_uint_eq(in_use, 4 * ps);
    ck_assert_uint_eq(pages, pages_at_start + 4);
    p11kms_secmem_free(p, 3 * ps + 5);
    p11kms_secmem_stats(&in_use, &pages);
    ck_assert_uint_eq(in_use, 0);
    ck_assert_uint_eq(pages, pages_at_start);
    ck_assert_ptr_null(p11kms_secmem_alloc(SIZE_MAX - 10));
    p11kms_secmem_free(NULL, 10);
}
END_TEST

START_TEST(test_dup)
{
    unsigned char *d = p11kms_secmem_dup("secret-key-bytes", 16);

    ck_assert_ptr_nonnull(d);
    ck_assert_mem_eq(d, "secret-key-bytes", 16);
    p11kms_secmem_free(d, 16);
    ck_assert_ptr_null(p11kms_secmem_dup(NULL, 16));
}
END_TEST

/* A slot that was freed while a slab stays mapped reads back as zero. */
START_TEST(test_free_wipes)
{
    unsigned char *keep = p11kms_secmem_alloc(32), *gone = p11kms_secmem_alloc(32);

    ck_assert_ptr_nonnull(keep);
    ck_assert_ptr_nonnull(gone);
    memset(gone, 0xee, 32);
    p11kms_secmem_free(gone, 32);
    /* the page is still mapped (keep lives in it or in the class's slab) */
    ck_assert(all_zero(gone, 32));
    p11kms_secmem_free(keep, 32);
}
END_TEST

/* The kernel supports MADV_WIPEONFORK (4.14+)? */
static int wipeonfork_supported(void)
{
#ifdef MADV_WIPEONFORK
    long ps = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = p != MAP_FAILED && madvise(p, (size_t)ps, MADV_WIPEONFORK) == 0;

    if (p != MAP_FAILED)
        munmap(p, (size_t)ps);
    return ok;
#else
    return 0;
#endif
}

START_TEST(test_fork_child_sees_zeros)
{
    unsigned char *small = p11kms_secmem_alloc(32), *large = p11kms_secmem_alloc(8192);
    int status = 0;
    pid_t pid;

    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(large);
    memset(small, 0x5a, 32);
    memset(large, 0x5a, 8192);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int zero = all_zero(small, 32) && all_zero(large, 8192);
        void *again = p11kms_secmem_alloc(32); /* the allocator still works */

        memset(small, 1, 32);
        p11kms_secmem_free(small, 32);
        p11kms_secmem_free(again, 32);
        _exit(again == NULL ? 3 : zero ? 0 : 2);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    if (wipeonfork_supported())
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    else
        ck_assert_int_ne(WEXITSTATUS(status), 3);
    /* the parent keeps its data */
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq(small[i], 0x5a);
    p11kms_secmem_free(small, 32);
    p11kms_secmem_free(large, 8192);
}
END_TEST

static void *thread_main(void *arg)
{
    uintptr_t fail = 0;

    for (int i = 0; i < 2000; i++) {
        size_t sz = (size_t)(16 + (i * 7 + (int)(uintptr_t)arg) % 200);
        unsigned char *p = p11kms_secmem_alloc(sz);

        if (p == NULL || !all_zero(p, sz)) {
            fail = 1;
            break;
        }
        memset(p, 0xcd, sz);
        p11kms_secmem_free(p, sz);
    }
    return (void *)fail;
}

START_TEST(test_threads)
{
    pthread_t t[4];
    size_t in_use = 1;

    for (uintptr_t i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *ret = (void *)1;

        ck_assert_int_eq(pthread_join(t[i], &ret), 0);
        ck_assert_ptr_null(ret);
    }
    p11kms_secmem_stats(&in_use, NULL);
    ck_assert_uint_eq(in_use, 0);
}
END_TEST

START_TEST(test_foreign_pointer_aborts)
{
    static unsigned char not_ours[32];

    p11kms_secmem_free(not_ours, 32);
}
END_TEST

START_TEST(test_double_free_aborts)
{
    void *keep = p11kms_secmem_alloc(32), *p = p11kms_secmem_alloc(32);

    ck_assert_ptr_nonnull(keep);
    p11kms_secmem_free(p, 32);
    p11kms_secmem_free(p, 32);
}
END_TEST

static Suite *secmem_suite(void)
{
    Suite *s = suite_create("common-secmem");
    TCase *tc = tcase_create("secmem");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_small_share_pages);
    tcase_add_test(tc, test_reuse_is_wiped);
    tcase_add_test(tc, test_size_classes);
    tcase_add_test(tc, test_large);
    tcase_add_test(tc, test_dup);
    tcase_add_test(tc, test_free_wipes);
    tcase_add_test(tc, test_fork_child_sees_zeros);
    tcase_add_test(tc, test_threads);
    tcase_add_test_raise_signal(tc, test_foreign_pointer_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_double_free_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(secmem_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
