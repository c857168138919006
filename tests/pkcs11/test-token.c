/*
 * test-token.c — general functions, initialisation arguments, slots,
 * tokens, PINs, login state and session rules of the module.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11-test-util.h"

START_TEST(test_not_initialized)
{
    CK_INFO info;
    CK_ULONG n = 0;
    CKRV(CKR_CRYPTOKI_NOT_INITIALIZED, F->C_GetInfo(&info));
    CKRV(CKR_CRYPTOKI_NOT_INITIALIZED, F->C_GetSlotList(CK_FALSE, NULL, &n));
    CKRV(CKR_CRYPTOKI_NOT_INITIALIZED, F->C_Finalize(NULL));
    CK(F->C_Initialize(NULL));
    CKRV(CKR_CRYPTOKI_ALREADY_INITIALIZED, F->C_Initialize(NULL));
    CKRV(CKR_ARGUMENTS_BAD, F->C_Finalize((void *)1));
    CK(F->C_GetInfo(&info));
    ck_assert_int_eq(info.cryptokiVersion.major, 2);
    ck_assert_int_eq(info.cryptokiVersion.minor, 40);
    ck_assert(memcmp(info.manufacturerID, "p11kms ", 7) == 0);
    CKRV(CKR_ARGUMENTS_BAD, F->C_GetInfo(NULL));
    CK(F->C_Finalize(NULL));
    CKRV(CKR_CRYPTOKI_NOT_INITIALIZED, F->C_GetInfo(&info));
}
END_TEST

static CK_RV app_create(void **m)
{
    pthread_mutex_t *p = malloc(sizeof(*p));
    if (p == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(p, NULL);
    *m = p;
    return CKR_OK;
}
static CK_RV app_destroy(void *m)
{
    pthread_mutex_destroy(m);
    free(m);
    return CKR_OK;
}
static int g_locks;
static CK_RV app_lock(void *m)
{
    g_locks++;
    return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}
static CK_RV app_unlock(void *m)
{
    return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}
static CK_RV fail_create(void **m)
{
    (void)m;
    return CKR_HOST_MEMORY;
}

START_TEST(test_init_args)
{
    CK_C_INITIALIZE_ARGS a;
    CK_ULONG n = 0;
    memset(&a, 0, sizeof(a));
    a.pReserved = (void *)1;
    CKRV(CKR_ARGUMENTS_BAD, F->C_Initialize(&a));
    memset(&a, 0, sizeof(a));
    a.CreateMutex = app_create; /* only some callbacks */
    CKRV(CKR_ARGUMENTS_BAD, F->C_Initialize(&a));
    a.CreateMutex = fail_create;
    a.DestroyMutex = app_destroy;
    a.LockMutex = app_lock;
    a.UnlockMutex = app_unlock;
    CKRV(CKR_CANT_LOCK, F->C_Initialize(&a));
    a.CreateMutex = app_create;
    CK(F->C_Initialize(&a));
    g_locks = 0;
    CK(F->C_GetSlotList(CK_TRUE, NULL, &n));
    ck_assert_int_gt(g_locks, 0); /* the application's callbacks are used */
    CK(F->C_Finalize(NULL));
    a.flags = CKF_OS_LOCKING_OK;
    CK(F->C_Initialize(&a));
    CK(F->C_Finalize(NULL));
}
END_TEST

START_TEST(test_uninitialized_token_writes_nothing)
{
    CK_SLOT_ID slots[4];
    CK_ULONG n = 0;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE s;
    char path[300];
    CK(F->C_GetSlotList(CK_TRUE, NULL, &n));
    ck_assert_uint_eq(n, 1);
    n = 0;
    CKRV(CKR_BUFFER_TOO_SMALL, F->C_GetSlotList(CK_TRUE, slots, &n));
    n = 4;
    CK(F->C_GetSlotList(CK_TRUE, slots, &n));
    CK(F->C_GetTokenInfo(slots[0], &ti));
    ck_assert(!(ti.flags & CKF_TOKEN_INITIALIZED));
    ck_assert(!(ti.flags & CKF_USER_PIN_INITIALIZED));
    ck_assert_uint_eq(ti.ulMinPinLen, 8);
    snprintf(path, sizeof(path), "%s/store.db", test_dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    CKRV(CKR_TOKEN_NOT_RECOGNIZED, F->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s));
    CKRV(CKR_SLOT_ID_INVALID, F->C_GetTokenInfo(42, &ti));
    CKRV(CKR_ARGUMENTS_BAD, F->C_GetTokenInfo(slots[0], NULL));
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_init_token_rules)
{
    CK_UTF8CHAR label[32];
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE s;
    memset(label, ' ', sizeof(label));
    CK(F->C_GetTokenInfo(test_slot, &ti));
    ck_assert(ti.flags & CKF_TOKEN_INITIALIZED);
    ck_assert(ti.flags & CKF_USER_PIN_INITIALIZED);
    ck_assert(ti.flags & CKF_LOGIN_REQUIRED);
    ck_assert(ti.flags & CKF_RNG);
    ck_assert(memcmp(ti.label, "test ", 5) == 0);
    /* refused on an initialised token without allow-reinit */
    CKRV(CKR_ACTION_PROHIBITED,
         F->C_InitToken(test_slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label));
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
    CKRV(CKR_SESSION_EXISTS,
         F->C_InitToken(test_slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label));
    CKRV(CKR_SESSION_PARALLEL_NOT_SUPPORTED, F->C_OpenSession(test_slot, 0, NULL, NULL, &s));
}
END_TEST

START_TEST(test_login_rules)
{
    CK_SESSION_HANDLE ro, rw;
    CK_SESSION_INFO si;
    CK_TOKEN_INFO ti;
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw));
    CK(F->C_GetSessionInfo(ro, &si));
    ck_assert_uint_eq(si.state, CKS_RO_PUBLIC_SESSION);
    CKRV(CKR_PIN_INCORRECT, F->C_Login(ro, CKU_USER, (CK_UTF8CHAR *)"wrong-pin", 9));
    CK(F->C_GetTokenInfo(test_slot, &ti));
    ck_assert(ti.flags & CKF_USER_PIN_COUNT_LOW);
    CKRV(CKR_USER_TYPE_INVALID, F->C_Login(ro, 7, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
    CKRV(CKR_ARGUMENTS_BAD, F->C_Login(ro, CKU_USER, NULL, 0));
    CKRV(CKR_SESSION_READ_ONLY_EXISTS,
         F->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
    CK(F->C_Login(ro, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
    CK(F->C_GetTokenInfo(test_slot, &ti));
    ck_assert(!(ti.flags & CKF_USER_PIN_COUNT_LOW)); /* reset by a good login */
    /* login state is per application: the other session sees it */
    CK(F->C_GetSessionInfo(rw, &si));
    ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
    CKRV(CKR_USER_ALREADY_LOGGED_IN,
         F->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
    CKRV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
         F->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
    CK(F->C_Logout(rw));
    CKRV(CKR_USER_NOT_LOGGED_IN, F->C_Logout(ro));
    CKRV(CKR_SESSION_HANDLE_INVALID, F->C_Logout(12345));
    CK(F->C_CloseSession(ro));
    CKRV(CKR_SESSION_HANDLE_INVALID, F->C_CloseSession(ro));
    CK(F->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
    CK(F->C_GetSessionInfo(rw, &si));
    ck_assert_uint_eq(si.state, CKS_RW_SO_FUNCTIONS);
    CKRV(CKR_SESSION_READ_WRITE_SO_EXISTS,
         F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
    CK(F->C_CloseAllSessions(test_slot));
    CKRV(CKR_SESSION_HANDLE_INVALID, F->C_GetSessionInfo(rw, &si));
}
END_TEST

START_TEST(test_pin_lock_flags)
{
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO ti;
    CK_RV rv = CKR_OK;
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
    for (int i = 0; i < 20 && rv != CKR_PIN_LOCKED; i++) {
        rv = F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"bad-pin-00", 10);
        ck_assert(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
        CK(F->C_GetTokenInfo(test_slot, &ti));
        if (rv == CKR_PIN_INCORRECT && !(ti.flags & CKF_USER_PIN_LOCKED))
            ck_assert(ti.flags & CKF_USER_PIN_COUNT_LOW);
    }
    CK(F->C_GetTokenInfo(test_slot, &ti));
    ck_assert(ti.flags & CKF_USER_PIN_LOCKED);
    CKRV(CKR_PIN_LOCKED, F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
}
END_TEST

START_TEST(test_set_pin)
{
    CK_SESSION_HANDLE s, ro;
    const char *np = "new-user-pin-2";
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
    CKRV(CKR_SESSION_READ_ONLY,
         F->C_SetPIN(ro, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN), (CK_UTF8CHAR *)np, strlen(np)));
    CKRV(CKR_USER_NOT_LOGGED_IN, F->C_InitPIN(s, (CK_UTF8CHAR *)np, strlen(np)));
    CK(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
    CKRV(CKR_PIN_LEN_RANGE,
         F->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN), (CK_UTF8CHAR *)"abc", 3));
    CK(F->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN), (CK_UTF8CHAR *)np, strlen(np)));
    CK(F->C_Logout(s));
    CKRV(CKR_PIN_INCORRECT, F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
    CK(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)np, strlen(np)));
}
END_TEST

START_TEST(test_misc_functions)
{
    CK_ULONG n = 0;
    CK_MECHANISM_TYPE mechs[64];
    CK_MECHANISM_INFO mi;
    CK_SLOT_INFO si;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_BYTE buf[16];
    CK(F->C_GetMechanismList(test_slot, NULL, &n));
    ck_assert_uint_ge(n, 20);
    CK_ULONG small = 1;
    CKRV(CKR_BUFFER_TOO_SMALL, F->C_GetMechanismList(test_slot, mechs, &small));
    CK(F->C_GetMechanismList(test_slot, mechs, &n));
    CK(F->C_GetMechanismInfo(test_slot, CKM_AES_GCM, &mi));
    ck_assert(mi.flags & CKF_ENCRYPT);
    CK(F->C_GetMechanismInfo(test_slot, CKM_RSA_PKCS, &mi));
    ck_assert(!(mi.flags & CKF_DECRYPT)); /* no PKCS#1 v1.5 decryption */
    CKRV(CKR_MECHANISM_INVALID, F->C_GetMechanismInfo(test_slot, CKM_DES3_CBC, &mi));
    CKRV(CKR_SLOT_ID_INVALID, F->C_GetMechanismInfo(99, CKM_AES_GCM, &mi));
    CK(F->C_GetSlotInfo(test_slot, &si));
    ck_assert(si.flags & CKF_TOKEN_PRESENT);
    CKRV(CKR_NO_EVENT, F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
    CKRV(CKR_FUNCTION_NOT_SUPPORTED, F->C_WaitForSlotEvent(0, &slot, NULL));
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
    CKRV(CKR_FUNCTION_NOT_PARALLEL, F->C_GetFunctionStatus(s));
    CKRV(CKR_FUNCTION_NOT_PARALLEL, F->C_CancelFunction(s));
    CKRV(CKR_SESSION_HANDLE_INVALID, F->C_GetFunctionStatus(s + 1000));
    CK(F->C_GenerateRandom(s, buf, sizeof(buf)));
    CKRV(CKR_RANDOM_SEED_NOT_SUPPORTED, F->C_SeedRandom(s, buf, sizeof(buf)));
    CKRV(CKR_FUNCTION_NOT_SUPPORTED, F->C_GetOperationState(s, NULL, &n));
    CKRV(CKR_FUNCTION_NOT_SUPPORTED, F->C_SignRecoverInit(s, NULL, 0));
    CKRV(CKR_FUNCTION_NOT_SUPPORTED, F->C_DeriveKey(s, NULL, 0, NULL, 0, NULL));
    CKRV(CKR_FUNCTION_NOT_SUPPORTED, F->C_WrapKey(s, NULL, 0, 0, NULL, &n));
}
END_TEST

Suite *p11t_suite_token(void)
{
    Suite *s = suite_create("token");
    TCase *t = tcase_create("bare");
    tcase_add_checked_fixture(t, p11t_load, p11t_unload);
    tcase_add_test(t, test_not_initialized);
    tcase_add_test(t, test_init_args);
    suite_add_tcase(s, t);
    t = tcase_create("uninitialized");
    tcase_add_checked_fixture(t, p11t_setup_bare, p11t_teardown);
    tcase_add_test(t, test_uninitialized_token_writes_nothing);
    suite_add_tcase(s, t);
    t = tcase_create("initialized");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, p11t_setup_token, p11t_teardown);
    tcase_add_test(t, test_init_token_rules);
    tcase_add_test(t, test_login_rules);
    tcase_add_test(t, test_pin_lock_flags);
    tcase_add_test(t, test_set_pin);
    tcase_add_test(t, test_misc_functions);
    suite_add_tcase(s, t);
    return s;
}
