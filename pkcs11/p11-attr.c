/*
 * p11-attr.c — template helpers: reading typed values out of an
 * application's CK_ATTRIBUTE array, an owned attribute list for objects
 * kept in module memory, and the output rules of C_GetAttributeValue.
 * Values of sensitive attributes are wiped when a list is freed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pkcs11/p11-internal.h"

const CK_ATTRIBUTE *p11kms_p11_attr_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                         CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; tmpl != NULL && i < n; i++)
        if (tmpl[i].type == type)
            return &tmpl[i];
    return NULL;
}

int p11kms_p11_attr_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                         CK_BBOOL *out, CK_RV *rv)
{
    const CK_ATTRIBUTE *a = p11kms_p11_attr_find(tmpl, n, type);
    if (a == NULL)
        return 0;
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_BBOOL) ||
        (*(CK_BBOOL *)a->pValue != CK_TRUE && *(CK_BBOOL *)a->pValue != CK_FALSE)) {
        *rv = CKR_ATTRIBUTE_VALUE_INVALID;
        return 0;
    }
    *out = *(CK_BBOOL *)a->pValue;
    return 1;
}

int p11kms_p11_attr_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                          CK_ULONG *out, CK_RV *rv)
{
    const CK_ATTRIBUTE *a = p11kms_p11_attr_find(tmpl, n, type);
    if (a == NULL)
        return 0;
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG)) {
        *rv = CKR_ATTRIBUTE_VALUE_INVALID;
        return 0;
    }
    memcpy(out, a->pValue, sizeof(CK_ULONG));
    return 1;
}

/* A template whose entry has a length but no value, or a value listed twice
 * with different contents, is inconsistent. */
CK_RV p11kms_p11_attr_check_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    if (tmpl == NULL && n > 0)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++) {
        if (tmpl[i].pValue == NULL && tmpl[i].ulValueLen > 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        for (CK_ULONG j = 0; j < i; j++) {
            if (tmpl[j].type != tmpl[i].type)
                continue;
            if (tmpl[j].ulValueLen != tmpl[i].ulValueLen ||
                (tmpl[i].ulValueLen > 0 &&
                 memcmp(tmpl[j].pValue, tmpl[i].pValue, tmpl[i].ulValueLen) != 0))
                return CKR_TEMPLATE_INCONSISTENT;
        }
    }
    return CKR_OK;
}

int p11kms_p11_attr_is_sensitive_type(CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_VALUE:
    case CKA_PRIVATE_EXPONENT:
    case CKA_PRIME_1:
    case CKA_PRIME_2:
    case CKA_EXPONENT_1:
    case CKA_EXPONENT_2:
    case CKA_COEFFICIENT:
    case CKA_P11KMS_OP_PLAINTEXT:
        return 1;
    default:
        return 0;
    }
}

/* ---------------- owned lists ---------------- */

static CK_ATTRIBUTE *attrs_slot(const p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].type == type)
            return &a->v[i];
    return NULL;
}

static void attr_clear(CK_ATTRIBUTE *at)
{
    if (at->pValue != NULL)
        OPENSSL_cleanse(at->pValue, at->ulValueLen);
    free(at->pValue);
    at->pValue = NULL;
    at->ulValueLen = 0;
}

CK_RV p11kms_p11_attrs_set(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, const void *val,
                           CK_ULONG len)
{
    CK_RV rv = CKR_HOST_MEMORY;
    void *copy = malloc(len ? len : 1);
    if (copy == NULL)
        goto done;
    if (len)
        memcpy(copy, val, len);
    CK_ATTRIBUTE *at = attrs_slot(a, type);
    if (at == NULL) {
        if (a->n == a->cap) {
            size_t nc = a->cap ? a->cap * 2 : 16;
            CK_ATTRIBUTE *nv = realloc(a->v, nc * sizeof(*nv));
            if (nv == NULL)
                goto done;
            a->v = nv;
            a->cap = nc;
        }
        at = &a->v[a->n++];
        at->type = type;
        at->pValue = NULL;
        at->ulValueLen = 0;
    }
    attr_clear(at);
    at->pValue = copy;
    at->ulValueLen = len;
    copy = NULL;
    rv = CKR_OK;
done:
    free(copy);
    return rv;
}

CK_RV p11kms_p11_attrs_set_bool(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_BBOOL v)
{
    return p11kms_p11_attrs_set(a, type, &v, sizeof(v));
}

CK_RV p11kms_p11_attrs_set_ulong(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    return p11kms_p11_attrs_set(a, type, &v, sizeof(v));
}

CK_RV p11kms_p11_attrs_merge(p11kms_p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        CK_RV rv = p11kms_p11_attrs_set(a, tmpl[i].type, tmpl[i].pValue, tmpl[i].ulValueLen);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

const CK_ATTRIBUTE *p11kms_p11_attrs_get(const p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    return attrs_slot(a, type);
}

CK_BBOOL p11kms_p11_attrs_bool(const p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_BBOOL def)
{
    const CK_ATTRIBUTE *at = attrs_slot(a, type);
    if (at == NULL || at->ulValueLen != sizeof(CK_BBOOL))
        return def;
    return *(CK_BBOOL *)at->pValue ? CK_TRUE : CK_FALSE;
}

CK_ULONG p11kms_p11_attrs_ulong(const p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG def)
{
    const CK_ATTRIBUTE *at = attrs_slot(a, type);
    CK_ULONG v = def;
    if (at != NULL && at->ulValueLen == sizeof(CK_ULONG))
        memcpy(&v, at->pValue, sizeof(v));
    return v;
}

void p11kms_p11_attrs_remove(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE *at = attrs_slot(a, type);
    if (at == NULL)
        return;
    attr_clear(at);
    *at = a->v[--a->n];
}

void p11kms_p11_attrs_free(p11kms_p11_attrs *a)
{
    for (size_t i = 0; i < a->n; i++)
        attr_clear(&a->v[i]);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

CK_RV p11kms_p11_attrs_copy(p11kms_p11_attrs *dst, const p11kms_p11_attrs *src)
{
    return p11kms_p11_attrs_merge(dst, src->v, (CK_ULONG)src->n);
}

int p11kms_p11_attrs_match(const p11kms_p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const CK_ATTRIBUTE *at = attrs_slot(a, tmpl[i].type);
        if (at == NULL || at->ulValueLen != tmpl[i].ulValueLen)
            return 0;
        if (at->ulValueLen && memcmp(at->pValue, tmpl[i].pValue, at->ulValueLen) != 0)
            return 0;
    }
    return 1;
}

/* ---------------- C_GetAttributeValue output ---------------- */

CK_RV p11kms_p11_attr_out(CK_ATTRIBUTE *dst, const void *val, CK_ULONG len)
{
    if (dst->pValue == NULL) {
        dst->ulValueLen = len;
        return CKR_OK;
    }
    if (dst->ulValueLen < len) {
        dst->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (len)
        memcpy(dst->pValue, val, len);
    dst->ulValueLen = len;
    return CKR_OK;
}

/* PKCS#11 2.40 §5.7: SENSITIVE, TYPE_INVALID and BUFFER_TOO_SMALL may be
 * returned in any order; we report the first problem class seen. */
CK_RV p11kms_p11_attr_worst(CK_RV acc, CK_RV rv)
{
    if (acc != CKR_OK)
        return acc;
    return rv;
}
