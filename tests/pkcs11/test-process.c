/*
 * test-process.c — threads and fork: sessions used by several threads at
 * once, and a forked child where inherited handles are invalid, every call
 * answers CKR_CRYPTOKI_NOT_INITIALIZED until the child's own C_Initialize,
 * which then works without touching the parent's store connection.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p11-test-util.h"

static CK_OBJECT_HANDLE g_key;

static void *worker(void *arg)
{
    CK_SESSION_HANDLE s;
    CK_BYTE iv[12] = {1}, ct[64], back[64];
    CK_GCM_PARAMS p = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
    long bad = 0;
    (void)arg;
    if (F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return (void *)1;
    for (int i = 0; i < 40; i++) {
        CK_ULONG cl = sizeof(ct), bl = sizeof(back);
        iv[1] = (CK_BYTE)i;
        bad += F->C_EncryptInit(s, &m, g_key) != CKR_OK;
        bad += F->C_Encrypt(s, (CK_BYTE *)"threaded", 8, ct, &cl) != CKR_OK;
        bad += F->C_DecryptInit(s, &m, g_key) != CKR_OK;
        bad += F->C_Decrypt(s, ct, cl, back, &bl) != CKR_OK;
        bad += bl != 8 || memcmp(back, "threaded", 8) != 0;
    }
    bad += F->C_CloseSession(s) != CKR_OK;
    return (void *)bad;
}

START_TEST(test_threads)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    pthread_t th[4];
    g_key = p11t_aes_cmk(s, "threads");
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
}
END_TEST

static int child_body(CK_SESSION_HANDLE parent, CK_OBJECT_HANDLE key)
{
    CK_ULONG n = 0;
    CK_SESSION_INFO si;
    CK_SESSION_HANDLE s;
    CK_ATTRIBUTE a = {CKA_LABEL, NULL, 0};
    if (F->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 1;
    if (F->C_GetSessionInfo(parent, &si) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 2;
    if (F->C_Initialize(NULL) != CKR_OK)
        return 3;
    if (F->C_GetSessionInfo(parent, &si) != CKR_SESSION_HANDLE_INVALID)
        return 4;
    if (F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return 5;
    if (F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK)
        return 6;
    if (F->C_GetAttributeValue(s, key, &a, 1) != CKR_OBJECT_HANDLE_INVALID)
        return 7;
    if (F->C_Finalize(NULL) != CKR_OK)
        return 8;
    return 0;
}

START_TEST(test_fork)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE k = p11t_aes_cmk(s, "forked");
    CK_SESSION_INFO si;
    int status = 0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_body(s, k));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child step %d failed",
                  WEXITSTATUS(status));
    /* the parent is untouched */
    CK(F->C_GetSessionInfo(s, &si));
    ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
    char label[16];
    CK_ATTRIBUTE a = {CKA_LABEL, label, sizeof(label)};
    CK(F->C_GetAttributeValue(s, k, &a, 1));
}
END_TEST

Suite *p11t_suite_process(void)
{
    Suite *s = suite_create("process");
    TCase *t = tcase_create("threads-fork");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, p11t_setup_token, p11t_teardown);
    tcase_add_test(t, test_threads);
    tcase_add_test(t, test_fork);
    suite_add_tcase(s, t);
    return s;
}
