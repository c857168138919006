/*
 * p11-cmkset.c — C_SetAttributeValue on CMK objects: each writable vendor
 * attribute is one KMS management call (policy-checked and audited by
 * kms.h).  Standard attributes are read-only on CMKs except that writing
 * the value an attribute already has succeeds (applications such as
 * p11tool re-set labels they just read).  CKA_LABEL and CKA_ID cannot be
 * changed: kms.h has no call that updates the application's id or label.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

typedef struct set_ctx {
    p11kms_p11_object *obj;
    p11kms_kms *kms;
    p11kms_kms_key *key;
} set_ctx;

static CK_RV kms_rv(p11kms_kms_rc rc)
{
    return p11kms_p11_rv_from_kms(rc, P11KMS_P11_CTX_OBJECT);
}

/* A NUL-terminated copy of an attribute's UTF-8 value (caller frees). */
static char *text_of(const CK_ATTRIBUTE *a)
{
    char *s = malloc(a->ulValueLen + 1);
    if (s != NULL) {
        if (a->ulValueLen)
            memcpy(s, a->pValue, a->ulValueLen);
        s[a->ulValueLen] = '\0';
        if (strlen(s) != a->ulValueLen) { /* embedded NUL */
            free(s);
            s = NULL;
        }
    }
    return s;
}

static int bool_of(const CK_ATTRIBUTE *a, CK_BBOOL *out)
{
    if (a->ulValueLen != sizeof(CK_BBOOL) || a->pValue == NULL)
        return 0;
    *out = *(CK_BBOOL *)a->pValue;
    return *out == CK_TRUE || *out == CK_FALSE;
}

static int ulong_of(const CK_ATTRIBUTE *a, CK_ULONG *out)
{
    if (a->ulValueLen != sizeof(CK_ULONG) || a->pValue == NULL)
        return 0;
    memcpy(out, a->pValue, sizeof(*out));
    return 1;
}

static CK_RV set_state(set_ctx *c, const CK_ATTRIBUTE *a)
{
    const p11kms_caller *who = p11kms_p11_caller();
    char *s = text_of(a);
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (s != NULL && strcmp(s, "Enabled") == 0)
        rv = kms_rv(p11kms_kms_enable_key(c->kms, who, c->key, NULL));
    else if (s != NULL && strcmp(s, "Disabled") == 0)
        rv = kms_rv(p11kms_kms_disable_key(c->kms, who, c->key, NULL));
    free(s);
    return rv;
}

static CK_RV set_text(set_ctx *c, const CK_ATTRIBUTE *a)
{
    const p11kms_caller *who = p11kms_p11_caller();
    char *s = text_of(a);
    CK_RV rv;
    if (s == NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (a->type == CKA_P11KMS_DESCRIPTION)
        rv = kms_rv(p11kms_kms_update_key_description(c->kms, who, c->key, NULL, s));
    else
        rv = kms_rv(p11kms_kms_put_key_policy(c->kms, who, c->key, NULL, "default", s, 0));
    free(s);
    return rv;
}

static CK_RV set_rotation(set_ctx *c, const CK_ATTRIBUTE *a)
{
    const p11kms_caller *who = p11kms_p11_caller();
    CK_BBOOL b;
    CK_ULONG days;
    if (a->type == CKA_P11KMS_ROTATION_PERIOD) {
        if (!ulong_of(a, &days) || days > 0xffffffffUL)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return kms_rv(p11kms_kms_enable_key_rotation(c->kms, who, c->key, NULL, (unsigned)days));
    }
    if (!bool_of(a, &b))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (b)
        return kms_rv(p11kms_kms_enable_key_rotation(c->kms, who, c->key, NULL, 0));
    return kms_rv(p11kms_kms_disable_key_rotation(c->kms, who, c->key, NULL));
}

static CK_RV set_action(set_ctx *c, const CK_ATTRIBUTE *a)
{
    const p11kms_caller *who = p11kms_p11_caller();
    CK_BBOOL b = CK_FALSE;
    CK_ULONG days;
    if (a->type == CKA_P11KMS_DELETION_WINDOW) {
        if (!ulong_of(a, &days) || days > 0xffffffffUL)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return kms_rv(
            p11kms_kms_schedule_key_deletion(c->kms, who, c->key, NULL, (unsigned)days, NULL));
    }
    if (!bool_of(a, &b) || !b)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (a->type == CKA_P11KMS_ROTATE_NOW)
        return kms_rv(p11kms_kms_rotate_key_on_demand(c->kms, who, c->key, NULL, NULL));
    return kms_rv(p11kms_kms_cancel_key_deletion(c->kms, who, c->key, NULL));
}

/* A standard attribute: only "no change" is accepted. */
static CK_RV set_unchanged(p11kms_p11_object *obj, const CK_ATTRIBUTE *a)
{
    p11kms_p11_attrs view = {0};
    CK_RV rv = p11kms_p11_cmk_attrs(obj, a, 1, &view);
    if (rv == CKR_OK) {
        const CK_ATTRIBUTE *cur = p11kms_p11_attrs_get(&view, a->type);
        if (cur == NULL)
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        else if (!p11kms_p11_attrs_match(&view, a, 1))
            rv = CKR_ATTRIBUTE_READ_ONLY;
    }
    p11kms_p11_attrs_free(&view);
    return rv;
}

static CK_RV set_one(set_ctx *c, const CK_ATTRIBUTE *a)
{
    if (c->obj->kind == P11KMS_P11_OBJ_CMK_VERSION)
        return set_unchanged(c->obj, a);
    switch (a->type) {
    case CKA_P11KMS_KEY_STATE:
        return set_state(c, a);
    case CKA_P11KMS_DESCRIPTION:
    case CKA_P11KMS_KEY_POLICY:
        return set_text(c, a);
    case CKA_P11KMS_ROTATION_ENABLED:
    case CKA_P11KMS_ROTATION_PERIOD:
        return set_rotation(c, a);
    case CKA_P11KMS_ROTATE_NOW:
    case CKA_P11KMS_DELETION_WINDOW:
    case CKA_P11KMS_CANCEL_DELETION:
        return set_action(c, a);
    default:
        return set_unchanged(c->obj, a);
    }
}

CK_RV p11kms_p11_cmk_set(p11kms_p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    set_ctx c = {obj, p11kms_p11_slot_get(obj->slot)->kms, NULL};
    CK_RV rv = p11kms_p11_object_kkey(obj, &c.key);
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++)
        rv = set_one(&c, &tmpl[i]);
    return rv;
}
