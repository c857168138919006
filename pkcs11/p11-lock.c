/*
 * p11-lock.c — the module lock and CK_C_INITIALIZE_ARGS handling.
 *
 * PKCS#11 2.40 §5.4 (C_Initialize) gives four cases:
 *   no flags, no callbacks      the application is single-threaded: we still
 *                               use an OS mutex, which costs nothing
 *   CKF_OS_LOCKING_OK           OS primitives (pthreads)
 *   callbacks, no OS flag       the application's mutex callbacks
 *   callbacks + OS flag         either: we prefer the OS primitives
 * Callbacks must be all present or all absent (else CKR_ARGUMENTS_BAD).
 * If the application's CreateMutex fails we cannot lock: CKR_CANT_LOCK.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

enum { LOCK_NONE = 0, LOCK_OS, LOCK_APP };

static struct {
    int mode;
    pthread_mutex_t os;
    void *app;
    CK_DESTROYMUTEX destroy;
    CK_LOCKMUTEX lock;
    CK_UNLOCKMUTEX unlock;
} g_lock;

static int callbacks_count(const CK_C_INITIALIZE_ARGS *a)
{
    return (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) + (a->LockMutex != NULL) +
           (a->UnlockMutex != NULL);
}

static CK_RV setup_os(void)
{
    if (pthread_mutex_init(&g_lock.os, NULL) != 0)
        return CKR_CANT_LOCK;
    g_lock.mode = LOCK_OS;
    return CKR_OK;
}

static CK_RV setup_app(const CK_C_INITIALIZE_ARGS *a)
{
    void *m = NULL;
    if (a->CreateMutex(&m) != CKR_OK || m == NULL)
        return CKR_CANT_LOCK;
    g_lock.app = m;
    g_lock.destroy = a->DestroyMutex;
    g_lock.lock = a->LockMutex;
    g_lock.unlock = a->UnlockMutex;
    g_lock.mode = LOCK_APP;
    return CKR_OK;
}

CK_RV p11kms_p11_lock_setup(const CK_C_INITIALIZE_ARGS *args)
{
    memset(&g_lock, 0, sizeof(g_lock));
    if (args == NULL)
        return setup_os();
    if (args->pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    int n = callbacks_count(args);
    if (n != 0 && n != 4)
        return CKR_ARGUMENTS_BAD;
    if (n == 0 || (args->flags & CKF_OS_LOCKING_OK))
        return setup_os();
    return setup_app(args);
}

void p11kms_p11_lock_teardown(void)
{
    if (g_lock.mode == LOCK_OS)
        pthread_mutex_destroy(&g_lock.os);
    else if (g_lock.mode == LOCK_APP)
        g_lock.destroy(g_lock.app);
    memset(&g_lock, 0, sizeof(g_lock));
}

/* After fork the parent's mutex may be held by a thread that does not
 * exist here; it is abandoned, never destroyed nor unlocked. */
void p11kms_p11_lock_forget(void)
{
    memset(&g_lock, 0, sizeof(g_lock));
}

void p11kms_p11_lock(void)
{
    if (g_lock.mode == LOCK_OS)
        pthread_mutex_lock(&g_lock.os);
    else if (g_lock.mode == LOCK_APP)
        g_lock.lock(g_lock.app);
}

void p11kms_p11_unlock(void)
{
    if (g_lock.mode == LOCK_OS)
        pthread_mutex_unlock(&g_lock.os);
    else if (g_lock.mode == LOCK_APP)
        g_lock.unlock(g_lock.app);
}
