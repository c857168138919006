/*
 * p11-general.c — general-purpose functions: C_Initialize, C_Finalize,
 * C_GetInfo, C_GetFunctionList, the legacy parallel functions, the
 * module's function list, and the entry guard every other C_* call passes.
 *
 * Fork safety: the pid is recorded at C_Initialize.  In a child (getpid()
 * differs) every call but C_Initialize and C_GetFunctionList returns
 * CKR_CRYPTOKI_NOT_INITIALIZED, as PKCS#11 2.40 §5.4 lets a library do.  A
 * C_Initialize in the child discards the parent's state WITHOUT closing or
 * freeing it: the parent's SQLite connections and mutexes are shared
 * objects that must not be touched in the child (SQLite forbids using a
 * connection across fork; closing one could delete the parent's WAL
 * locks).  The abandoned memory stays reachable and is deliberately leaked.
 *
 * Re-entrancy: a C_Initialize that arrives while one is running (an
 * OpenSSL provider loaded by the module's own OpenSSL use calling back in)
 * returns CKR_CRYPTOKI_ALREADY_INITIALIZED instead of deadlocking.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pkcs11/p11-internal.h"

enum { STATE_NONE = 0, STATE_INITIALIZING, STATE_READY };

static _Atomic int g_state = STATE_NONE;
static _Atomic pid_t g_pid = 0;
static CK_ULONG g_next_handle;

extern CK_FUNCTION_LIST p11kms_p11_function_list;

void p11kms_p11_blank_copy(CK_UTF8CHAR *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    memset(dst, ' ', n);
    memcpy(dst, src ? src : "", len < n ? len : n);
}

p11kms_p11_orphanage p11kms_p11_orphans;

void p11kms_p11_orphan_keep(const void *state, size_t len)
{
    void *copy = malloc(len);
    if (copy == NULL || p11kms_p11_orphans.n >= 256) {
        free(copy);
        return; /* unreachable then, but still never touched */
    }
    memcpy(copy, state, len);
    p11kms_p11_orphans.items[p11kms_p11_orphans.n++] = copy;
}

/* Modules must not print in normal operation; configuration errors are the
 * exception, since C_Initialize can only say CKR_GENERAL_ERROR otherwise. */
void p11kms_p11_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("p11kms-pkcs11: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

CK_ULONG p11kms_p11_next_handle(void)
{
    CK_ULONG h = ++g_next_handle;
    if (h == CK_INVALID_HANDLE || h > 0x7fffffffUL) {
        g_next_handle = 1;
        h = 1;
    }
    return h;
}

/* Handles start at a random point so that a child's new handles do not
 * coincide with the numbers it inherited from its parent. */
static void seed_handles(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (uint32_t)getpid() * 2654435761u;
    g_next_handle = 0x100000UL + (r & 0x3fffffffUL) % 0x3ff00000UL;
}

/*
 * getpid() is a system call on current glibc, and every C_* call asks
 * whether we are in a forked child: a pthread_atfork child handler bumps
 * a generation counter instead, and getpid() is only the fallback when
 * the handler could not be registered.
 */
static _Atomic unsigned g_fork_gen;
static unsigned g_init_gen;
static int g_atfork_ok;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&g_fork_gen, 1);
}

static void register_atfork(void)
{
    g_atfork_ok = pthread_atfork(NULL, NULL, on_fork_child) == 0;
}

static int forked(void)
{
    if (g_atfork_ok)
        return atomic_load(&g_fork_gen) != g_init_gen;
    return atomic_load(&g_pid) != getpid();
}

CK_RV p11kms_p11_enter(void)
{
    if (atomic_load(&g_state) != STATE_READY || forked())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    p11kms_p11_lock();
    if (atomic_load(&g_state) != STATE_READY) {
        p11kms_p11_unlock();
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return CKR_OK;
}

void p11kms_p11_leave(void)
{
    p11kms_p11_unlock();
}

/* Drops the parent's state in a child without releasing anything. */
static void orphan_parent_state(void)
{
    p11kms_p11_sessions_free(1);
    p11kms_p11_objects_free(1);
    p11kms_p11_slots_free(1);
    p11kms_p11_lock_forget();
    atomic_store(&g_state, STATE_NONE);
}

static CK_RV claim_initialization(void)
{
    int expected = STATE_NONE;
    if (atomic_load(&g_state) != STATE_NONE && forked())
        orphan_parent_state();
    if (!atomic_compare_exchange_strong(&g_state, &expected, STATE_INITIALIZING))
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    return CKR_OK;
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    CK_RV rv = claim_initialization();
    int locked = 0;
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_lock_setup((const CK_C_INITIALIZE_ARGS *)pInitArgs);
    if (rv != CKR_OK)
        goto done;
    locked = 1;
    rv = p11kms_p11_slots_load();
    if (rv != CKR_OK)
        goto done;
    seed_handles();
    pthread_once(&g_atfork_once, register_atfork);
    g_init_gen = atomic_load(&g_fork_gen);
    atomic_store(&g_pid, getpid());
done:
    if (rv != CKR_OK && locked)
        p11kms_p11_lock_teardown();
    atomic_store(&g_state, rv == CKR_OK ? STATE_READY : STATE_NONE);
    return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    if (pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11kms_p11_sessions_free(0);
    p11kms_p11_objects_free(0);
    p11kms_p11_slots_free(0);
    atomic_store(&g_state, STATE_NONE);
    p11kms_p11_leave();
    p11kms_p11_lock_teardown();
    return CKR_OK;
}

static void version_from_string(CK_VERSION *v, const char *s)
{
    unsigned maj = 0, min = 0, pat = 0;
    (void)sscanf(s, "%u.%u.%u", &maj, &min, &pat);
    v->major = (CK_BYTE)maj;
    v->minor = (CK_BYTE)(min > 255 ? 255 : min);
    (void)pat;
}

void p11kms_p11_library_version(CK_VERSION *v)
{
    version_from_string(v, PACKAGE_VERSION);
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (pInfo == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    memset(pInfo, 0, sizeof(*pInfo));
    pInfo->cryptokiVersion.major = CRYPTOKI_VERSION_MAJOR;
    pInfo->cryptokiVersion.minor = CRYPTOKI_VERSION_MINOR;
    p11kms_p11_blank_copy(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "p11kms");
    p11kms_p11_blank_copy(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
                          "p11kms local KMS");
    p11kms_p11_library_version(&pInfo->libraryVersion);
    pInfo->flags = 0;
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (ppFunctionList == NULL)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = &p11kms_p11_function_list;
    return CKR_OK;
}

/* Legacy parallel-function management: §5.20 says these return
 * CKR_FUNCTION_NOT_PARALLEL (after the usual session checks). */
static CK_RV not_parallel(CK_SESSION_HANDLE hSession)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = CKR_FUNCTION_NOT_PARALLEL;
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    return not_parallel(hSession);
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    return not_parallel(hSession);
}

CK_FUNCTION_LIST p11kms_p11_function_list = {
    .version = {CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
    .C_Initialize = C_Initialize,
    .C_Finalize = C_Finalize,
    .C_GetInfo = C_GetInfo,
    .C_GetFunctionList = C_GetFunctionList,
    .C_GetSlotList = C_GetSlotList,
    .C_GetSlotInfo = C_GetSlotInfo,
    .C_GetTokenInfo = C_GetTokenInfo,
    .C_GetMechanismList = C_GetMechanismList,
    .C_GetMechanismInfo = C_GetMechanismInfo,
    .C_InitToken = C_InitToken,
    .C_InitPIN = C_InitPIN,
    .C_SetPIN = C_SetPIN,
    .C_OpenSession = C_OpenSession,
    .C_CloseSession = C_CloseSession,
    .C_CloseAllSessions = C_CloseAllSessions,
    .C_GetSessionInfo = C_GetSessionInfo,
    .C_GetOperationState = C_GetOperationState,
    .C_SetOperationState = C_SetOperationState,
    .C_Login = C_Login,
    .C_Logout = C_Logout,
    .C_CreateObject = C_CreateObject,
    .C_CopyObject = C_CopyObject,
    .C_DestroyObject = C_DestroyObject,
    .C_GetObjectSize = C_GetObjectSize,
    .C_GetAttributeValue = C_GetAttributeValue,
    .C_SetAttributeValue = C_SetAttributeValue,
    .C_FindObjectsInit = C_FindObjectsInit,
    .C_FindObjects = C_FindObjects,
    .C_FindObjectsFinal = C_FindObjectsFinal,
    .C_EncryptInit = C_EncryptInit,
    .C_Encrypt = C_Encrypt,
    .C_EncryptUpdate = C_EncryptUpdate,
    .C_EncryptFinal = C_EncryptFinal,
    .C_DecryptInit = C_DecryptInit,
    .C_Decrypt = C_Decrypt,
    .C_DecryptUpdate = C_DecryptUpdate,
    .C_DecryptFinal = C_DecryptFinal,
    .C_DigestInit = C_DigestInit,
    .C_Digest = C_Digest,
    .C_DigestUpdate = C_DigestUpdate,
    .C_DigestKey = C_DigestKey,
    .C_DigestFinal = C_DigestFinal,
    .C_SignInit = C_SignInit,
    .C_Sign = C_Sign,
    .C_SignUpdate = C_SignUpdate,
    .C_SignFinal = C_SignFinal,
    .C_SignRecoverInit = C_SignRecoverInit,
    .C_SignRecover = C_SignRecover,
    .C_VerifyInit = C_VerifyInit,
    .C_Verify = C_Verify,
    .C_VerifyUpdate = C_VerifyUpdate,
    .C_VerifyFinal = C_VerifyFinal,
    .C_VerifyRecoverInit = C_VerifyRecoverInit,
    .C_VerifyRecover = C_VerifyRecover,
    .C_DigestEncryptUpdate = C_DigestEncryptUpdate,
    .C_DecryptDigestUpdate = C_DecryptDigestUpdate,
    .C_SignEncryptUpdate = C_SignEncryptUpdate,
    .C_DecryptVerifyUpdate = C_DecryptVerifyUpdate,
    .C_GenerateKey = C_GenerateKey,
    .C_GenerateKeyPair = C_GenerateKeyPair,
    .C_WrapKey = C_WrapKey,
    .C_UnwrapKey = C_UnwrapKey,
    .C_DeriveKey = C_DeriveKey,
    .C_SeedRandom = C_SeedRandom,
    .C_GenerateRandom = C_GenerateRandom,
    .C_GetFunctionStatus = C_GetFunctionStatus,
    .C_CancelFunction = C_CancelFunction,
    .C_WaitForSlotEvent = C_WaitForSlotEvent,
};
