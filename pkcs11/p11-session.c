/*
 * p11-session.c — session management (C_OpenSession, C_CloseSession,
 * C_CloseAllSessions, C_GetSessionInfo, C_Get/SetOperationState) and login
 * (C_Login, C_Logout), plus the per-session operation slots every
 * cryptographic file uses.
 *
 * Login state belongs to the application, not the session (PKCS#11 2.40
 * §5.6): it is kept per slot and ends when the last session of the slot
 * closes.  The SO can manage the token but never use keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

static p11kms_p11_htab g_sessions;

CK_RV p11kms_p11_session_get(CK_SESSION_HANDLE h, p11kms_p11_session **out)
{
    *out = p11kms_p11_htab_get(&g_sessions, h);
    return *out != NULL ? CKR_OK : CKR_SESSION_HANDLE_INVALID;
}

void p11kms_p11_session_op_end(p11kms_p11_session *s, p11kms_p11_optype t)
{
    p11kms_p11_op *op = s->ops[t];
    s->ops[t] = NULL;
    if (op != NULL)
        op->free(op);
}

CK_RV p11kms_p11_session_op_check_idle(const p11kms_p11_session *s, p11kms_p11_optype t)
{
    return s->ops[t] != NULL ? CKR_OPERATION_ACTIVE : CKR_OK;
}

CK_STATE p11kms_p11_session_state(const p11kms_p11_session *s)
{
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    int rw = (s->flags & CKF_RW_SESSION) != 0;
    if (slot != NULL && slot->login == CKU_SO)
        return CKS_RW_SO_FUNCTIONS;
    if (slot != NULL && slot->login == CKU_USER)
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

static void session_free(p11kms_p11_session *s)
{
    for (int t = 0; t < P11KMS_P11_OP_COUNT; t++)
        p11kms_p11_session_op_end(s, (p11kms_p11_optype)t);
    free(s);
}

/* Logs the application out of the slot when its last session closes. */
static void slot_session_closed(p11kms_p11_slot *slot, CK_FLAGS flags)
{
    slot->nsessions--;
    if (flags & CKF_RW_SESSION)
        slot->nrw--;
    if (slot->nsessions == 0 && slot->login != P11KMS_P11_NOT_LOGGED_IN &&
        !p11kms_p11_unlock_configured(slot)) {
        (void)p11kms_kms_logout(slot->kms, p11kms_p11_caller());
        slot->login = P11KMS_P11_NOT_LOGGED_IN;
    }
}

static void session_close(p11kms_p11_session *s)
{
    p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    p11kms_p11_htab_del(&g_sessions, s->handle);
    p11kms_p11_object_destroy_session(s->handle);
    if (slot != NULL)
        slot_session_closed(slot, s->flags);
    session_free(s);
}

void p11kms_p11_sessions_free(int orphan)
{
    size_t pos = 0;
    CK_ULONG h;
    void *v;
    if (orphan) {
        p11kms_p11_orphan_keep(&g_sessions, sizeof(g_sessions));
        memset(&g_sessions, 0, sizeof(g_sessions));
        return;
    }
    while (p11kms_p11_htab_next(&g_sessions, &pos, &h, &v))
        session_free(v);
    p11kms_p11_htab_free(&g_sessions);
}

CK_RV p11kms_p11_session_close_all(CK_SLOT_ID slot)
{
    size_t pos = 0;
    CK_ULONG h;
    void *v;
    /* Collect first: closing mutates the table being walked. */
    while (p11kms_p11_htab_next(&g_sessions, &pos, &h, &v)) {
        p11kms_p11_session *s = v;
        if (s->slot == slot) {
            session_close(s);
            pos = 0;
        }
    }
    return CKR_OK;
}

/* Opening a session on a token that has no store yet is refused like
 * SoftHSM does; C_InitToken needs no session. */
static CK_RV token_ready(p11kms_p11_slot *slot)
{
    p11kms_kms_token_info ti;
    memset(&ti, 0, sizeof(ti));
    CK_RV rv =
        p11kms_p11_rv_from_kms(p11kms_kms_token_info_get(slot->kms, &ti), P11KMS_P11_CTX_TOKEN);
    if (rv == CKR_OK && !ti.initialized)
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    return rv;
}

static CK_RV open_checks(p11kms_p11_slot *slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR ph)
{
    if (slot == NULL)
        return CKR_SLOT_ID_INVALID;
    if (ph == NULL)
        return CKR_ARGUMENTS_BAD;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if (!(flags & CKF_RW_SESSION) && slot->login == CKU_SO)
        return CKR_SESSION_READ_WRITE_SO_EXISTS;
    return token_ready(slot);
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession)
{
    (void)pApplication;
    (void)Notify; /* no surrender callbacks: operations never block for long */
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(slotID);
    rv = open_checks(slot, flags, phSession);
    if (rv == CKR_OK)
        rv = p11kms_p11_self_unlock(slot); /* served tokens unlock themselves */
    if (rv != CKR_OK)
        goto done;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    s->handle = p11kms_p11_next_handle();
    s->slot = slotID;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    if (!p11kms_p11_htab_put(&g_sessions, s->handle, s)) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    slot->nsessions++;
    if (flags & CKF_RW_SESSION)
        slot->nrw++;
    *phSession = s->handle;
    s = NULL;
done:
    free(s);
    p11kms_p11_leave();
    return rv;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        session_close(s);
    p11kms_p11_leave();
    return rv;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (p11kms_p11_slot_get(slotID) == NULL)
        rv = CKR_SLOT_ID_INVALID;
    else
        rv = p11kms_p11_session_close_all(slotID);
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv != CKR_OK)
        goto done;
    if (pInfo == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    memset(pInfo, 0, sizeof(*pInfo));
    pInfo->slotID = s->slot;
    pInfo->state = p11kms_p11_session_state(s);
    pInfo->flags = s->flags;
    pInfo->ulDeviceError = 0;
done:
    p11kms_p11_leave();
    return rv;
}

/* Operation state holds key material and kms.h handles: not saveable. */
static CK_RV op_state_unsupported(CK_SESSION_HANDLE hSession, int null_arg)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = null_arg ? CKR_ARGUMENTS_BAD : CKR_FUNCTION_NOT_SUPPORTED;
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG_PTR pulOperationStateLen)
{
    (void)pOperationState;
    return op_state_unsupported(hSession, pulOperationStateLen == NULL);
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                          CK_OBJECT_HANDLE hAuthenticationKey)
{
    (void)ulOperationStateLen;
    (void)hEncryptionKey;
    (void)hAuthenticationKey;
    return op_state_unsupported(hSession, pOperationState == NULL);
}

static int slot_has_ro_session(CK_SLOT_ID slot)
{
    size_t pos = 0;
    CK_ULONG h;
    void *v;
    while (p11kms_p11_htab_next(&g_sessions, &pos, &h, &v)) {
        const p11kms_p11_session *s = v;
        if (s->slot == slot && !(s->flags & CKF_RW_SESSION))
            return 1;
    }
    return 0;
}

static CK_RV login_checks(const p11kms_p11_session *s, const p11kms_p11_slot *slot,
                          CK_USER_TYPE type, CK_UTF8CHAR_PTR pin)
{
    if (type == CKU_CONTEXT_SPECIFIC) /* no CKA_ALWAYS_AUTHENTICATE keys */
        return slot->login == CKU_USER ? CKR_OPERATION_NOT_INITIALIZED : CKR_USER_NOT_LOGGED_IN;
    if (type != CKU_USER && type != CKU_SO)
        return CKR_USER_TYPE_INVALID;
    if (slot->login == type)
        return CKR_USER_ALREADY_LOGGED_IN; /* also a served, self-unlocked token */
    if (slot->login != P11KMS_P11_NOT_LOGGED_IN)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    if (type == CKU_SO && p11kms_p11_served())
        return CKR_ACTION_PROHIBITED;
    if (type == CKU_SO && slot_has_ro_session(s->slot))
        return CKR_SESSION_READ_ONLY_EXISTS;
    return pin == NULL ? CKR_ARGUMENTS_BAD : CKR_OK;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
              CK_ULONG ulPinLen)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv != CKR_OK)
        goto done;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    rv = login_checks(s, slot, userType, pPin);
    if (rv != CKR_OK)
        goto done;
    rv = p11kms_p11_caller_refresh();
    if (rv != CKR_OK)
        goto done;
    if (p11kms_p11_served()) {
        /* A served token's PIN belongs to the service: a client's PIN is
         * never checked, so no client can count the PIN down and lock the
         * token for every other client.  Login re-runs the service's own
         * unlock (after a C_Logout); without one, client logins are refused. */
        rv = p11kms_p11_unlock_configured(slot) ? p11kms_p11_self_unlock(slot)
                                                : CKR_ACTION_PROHIBITED;
        goto done;
    }
    p11kms_kms_user who = userType == CKU_SO ? P11KMS_KMS_USER_SO : P11KMS_KMS_USER_USER;
    rv = p11kms_p11_rv_from_kms(
        p11kms_kms_login(slot->kms, p11kms_p11_caller(), who, (const char *)pPin, ulPinLen),
        P11KMS_P11_CTX_TOKEN);
    if (rv == CKR_OK)
        slot->login = userType;
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv != CKR_OK)
        goto done;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    if (slot->login == P11KMS_P11_NOT_LOGGED_IN) {
        rv = CKR_USER_NOT_LOGGED_IN;
        goto done;
    }
    rv = p11kms_p11_rv_from_kms(p11kms_kms_logout(slot->kms, p11kms_p11_caller()),
                                P11KMS_P11_CTX_TOKEN);
    slot->login = P11KMS_P11_NOT_LOGGED_IN; /* logged out even if the record failed */
done:
    p11kms_p11_leave();
    return rv;
}
