/*
 * p11-slot.c — slot and token management: C_GetSlotList, C_GetSlotInfo,
 * C_GetTokenInfo, C_WaitForSlotEvent, C_GetMechanismList,
 * C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN.
 *
 * Token information comes from kms.h's token_info_get, which never creates
 * or writes the store: a missing store shows a token without
 * CKF_TOKEN_INITIALIZED.  C_InitToken creates it (pkcs11-tool --init-token)
 * and is refused on an initialised token unless allow-reinit is configured
 * (CKR_ACTION_PROHIBITED).  In isolated mode ([access] served) clients may
 * not initialise the token or change PINs (CKR_ACTION_PROHIBITED).
 */
#include "config.h"

#include <string.h>

#include "pkcs11/p11-internal.h"

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    (void)tokenPresent; /* every slot always holds its token */
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    CK_ULONG n = p11kms_p11_slot_count();
    if (pulCount == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    if (pSlotList != NULL && *pulCount < n) {
        rv = CKR_BUFFER_TOO_SMALL;
    } else if (pSlotList != NULL) {
        for (CK_ULONG i = 0; i < n; i++)
            pSlotList[i] = i;
    }
    *pulCount = n;
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(slotID);
    if (slot == NULL) {
        rv = CKR_SLOT_ID_INVALID;
        goto done;
    }
    if (pInfo == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    memset(pInfo, 0, sizeof(*pInfo));
    p11kms_p11_blank_copy(pInfo->slotDescription, sizeof(pInfo->slotDescription), slot->cfg->store);
    p11kms_p11_blank_copy(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "p11kms");
    pInfo->flags = CKF_TOKEN_PRESENT;
    p11kms_p11_library_version(&pInfo->firmwareVersion);
done:
    p11kms_p11_leave();
    return rv;
}

static CK_FLAGS pin_flags(unsigned failures, unsigned max, int locked, CK_FLAGS low, CK_FLAGS final,
                          CK_FLAGS lockf)
{
    if (locked)
        return lockf;
    if (max > 0 && failures + 1 == max)
        return final | low;
    return failures > 0 ? low : 0;
}

static CK_FLAGS token_flags(const p11kms_p11_slot *slot, const p11kms_kms_token_info *ti)
{
    /* A served token that unlocks itself needs no login from clients. */
    CK_FLAGS f = CKF_RNG | (p11kms_p11_unlock_configured(slot) ? 0 : CKF_LOGIN_REQUIRED);
    if (ti->initialized)
        f |= CKF_TOKEN_INITIALIZED;
    if (ti->user_pin_set)
        f |= CKF_USER_PIN_INITIALIZED;
    f |= pin_flags(ti->user_pin_failures, ti->pin_max_failures, ti->user_pin_locked,
                   CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED);
    f |= pin_flags(ti->so_pin_failures, ti->pin_max_failures, ti->so_pin_locked,
                   CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED);
    return f;
}

static void fill_token_info(const p11kms_p11_slot *slot, const p11kms_kms_token_info *ti,
                            CK_TOKEN_INFO *out)
{
    memset(out, 0, sizeof(*out));
    p11kms_p11_blank_copy(out->label, sizeof(out->label), ti->initialized ? ti->label : "");
    p11kms_p11_blank_copy(out->manufacturerID, sizeof(out->manufacturerID), "p11kms");
    p11kms_p11_blank_copy(out->model, sizeof(out->model), "local KMS");
    p11kms_p11_blank_copy(out->serialNumber, sizeof(out->serialNumber), ti->serial);
    out->flags = token_flags(slot, ti);
    out->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    out->ulSessionCount = slot->nsessions;
    out->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    out->ulRwSessionCount = slot->nrw;
    out->ulMaxPinLen = ti->max_pin_len ? ti->max_pin_len : 255;
    out->ulMinPinLen = ti->min_pin_len ? ti->min_pin_len : slot->min_pin_len;
    out->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    out->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    out->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    out->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    p11kms_p11_library_version(&out->firmwareVersion);
    p11kms_p11_blank_copy(out->utcTime, sizeof(out->utcTime), "");
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    p11kms_kms_token_info ti;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(slotID);
    if (slot == NULL) {
        rv = CKR_SLOT_ID_INVALID;
        goto done;
    }
    if (pInfo == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    memset(&ti, 0, sizeof(ti));
    rv = p11kms_p11_rv_from_kms(p11kms_kms_token_info_get(slot->kms, &ti), P11KMS_P11_CTX_TOKEN);
    if (rv == CKR_OK)
        fill_token_info(slot, &ti, pInfo);
done:
    p11kms_p11_leave();
    return rv;
}

/* No slot events ever happen (tokens are files that are always present):
 * a non-blocking poll says so; blocking is not supported, as in SoftHSM. */
CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (pSlot == NULL || pReserved != NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED;
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pList, CK_ULONG_PTR pulCount)
{
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    CK_ULONG n = (CK_ULONG)p11kms_p11_mech_count();
    if (p11kms_p11_slot_get(slotID) == NULL) {
        rv = CKR_SLOT_ID_INVALID;
    } else if (pulCount == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else {
        if (pList != NULL && *pulCount < n)
            rv = CKR_BUFFER_TOO_SMALL;
        else if (pList != NULL)
            for (CK_ULONG i = 0; i < n; i++)
                pList[i] = p11kms_p11_mech_at(i)->type;
        *pulCount = n;
    }
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    const p11kms_p11_mech_desc *d = p11kms_p11_mech_find(type);
    if (p11kms_p11_slot_get(slotID) == NULL) {
        rv = CKR_SLOT_ID_INVALID;
    } else if (pInfo == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (d == NULL) {
        rv = CKR_MECHANISM_INVALID;
    } else {
        pInfo->ulMinKeySize = d->min_key;
        pInfo->ulMaxKeySize = d->max_key;
        pInfo->flags = d->flags;
    }
    p11kms_p11_leave();
    return rv;
}

/* The 32-byte blank-padded label as a C string without trailing blanks. */
static void label_from_pkcs11(char out[33], const CK_UTF8CHAR *label)
{
    size_t n = 32;
    memcpy(out, label, 32);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                  CK_UTF8CHAR_PTR pLabel)
{
    char label[33];
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(slotID);
    if (slot == NULL) {
        rv = CKR_SLOT_ID_INVALID;
        goto done;
    }
    if (pPin == NULL || pLabel == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    if (p11kms_p11_served()) {
        rv = CKR_ACTION_PROHIBITED;
        goto done;
    }
    if (slot->nsessions > 0) {
        rv = CKR_SESSION_EXISTS;
        goto done;
    }
    label_from_pkcs11(label, pLabel);
    rv = p11kms_p11_rv_from_kms(
        p11kms_kms_init_token(slot->kms, p11kms_p11_caller(), (const char *)pPin, ulPinLen, label),
        P11KMS_P11_CTX_TOKEN);
    if (rv == CKR_OK) {
        p11kms_p11_objects_forget_slot(slotID);
        slot->login = P11KMS_P11_NOT_LOGGED_IN;
    }
done:
    p11kms_p11_leave();
    return rv;
}

/* Session checks shared by C_InitPIN and C_SetPIN. */
static CK_RV pin_session(CK_SESSION_HANDLE h, p11kms_p11_session **s, p11kms_p11_slot **slot)
{
    CK_RV rv = p11kms_p11_session_get(h, s);
    if (rv != CKR_OK)
        return rv;
    *slot = p11kms_p11_slot_get((*s)->slot);
    if (!((*s)->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    return p11kms_p11_served() ? CKR_ACTION_PROHIBITED : CKR_OK;
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_slot *slot = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = pin_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        goto done;
    if (slot->login != CKU_SO) {
        rv = CKR_USER_NOT_LOGGED_IN;
        goto done;
    }
    if (pPin == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    rv = p11kms_p11_rv_from_kms(
        p11kms_kms_init_pin(slot->kms, p11kms_p11_caller(), (const char *)pPin, ulPinLen),
        P11KMS_P11_CTX_TOKEN);
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
               CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_slot *slot = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = pin_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        goto done;
    if (pOldPin == NULL || pNewPin == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    rv = p11kms_p11_rv_from_kms(p11kms_kms_set_pin(slot->kms, p11kms_p11_caller(),
                                                   (const char *)pOldPin, ulOldLen,
                                                   (const char *)pNewPin, ulNewLen),
                                P11KMS_P11_CTX_TOKEN);
done:
    p11kms_p11_leave();
    return rv;
}
