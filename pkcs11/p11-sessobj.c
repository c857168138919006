/*
 * p11-sessobj.c — session objects made with C_CreateObject (CKA_TOKEN
 * false): data objects, X.509 certificates, AES and generic secret keys,
 * RSA and EC public keys.  They live in module memory, key values in
 * secmem pages, and disappear with their session.
 *
 * Token objects cannot be made this way: CMKs are generated inside the
 * token (C_GenerateKey / C_GenerateKeyPair; key import needs kms.h's
 * import calls) and certificates / data objects need kms.h generic-object
 * calls.  Such templates fail with CKR_ATTRIBUTE_VALUE_INVALID (on
 * CKA_TOKEN); operation requests (CKO_P11KMS_OPERATION) go to
 * p11-oprequest.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "pkcs11/p11-internal.h"
#include "pkcs11/p11-oprequest.h"

/* Attributes that can never change after creation (C_SetAttributeValue). */
static int immutable(CK_ATTRIBUTE_TYPE t)
{
    switch (t) {
    case CKA_CLASS:
    case CKA_TOKEN:
    case CKA_PRIVATE:
    case CKA_KEY_TYPE:
    case CKA_VALUE:
    case CKA_VALUE_LEN:
    case CKA_CERTIFICATE_TYPE:
    case CKA_MODULUS:
    case CKA_PUBLIC_EXPONENT:
    case CKA_EC_PARAMS:
    case CKA_EC_POINT:
    case CKA_LOCAL:
    case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
    case CKA_KEY_GEN_MECHANISM:
    case CKA_MODIFIABLE:
    case CKA_COPYABLE:
        return 1;
    default:
        return 0;
    }
}

/* CKA_SENSITIVE may only become true and CKA_EXTRACTABLE only false. */
static CK_RV one_way(const p11kms_p11_object *obj, const CK_ATTRIBUTE *a)
{
    if (a->ulValueLen != sizeof(CK_BBOOL) || a->pValue == NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    CK_BBOOL v = *(CK_BBOOL *)a->pValue;
    CK_BBOOL cur = p11kms_p11_attrs_bool(&obj->attrs, a->type, CK_FALSE);
    if (a->type == CKA_SENSITIVE && cur && !v)
        return CKR_ATTRIBUTE_READ_ONLY;
    if (a->type == CKA_EXTRACTABLE && !cur && v)
        return CKR_ATTRIBUTE_READ_ONLY;
    return CKR_OK;
}

CK_RV p11kms_p11_sessobj_check_changes(const p11kms_p11_object *obj, const CK_ATTRIBUTE *tmpl,
                                       CK_ULONG n, int copy)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const CK_ATTRIBUTE *a = &tmpl[i];
        CK_RV rv = CKR_OK;
        if (a->type == CKA_SENSITIVE || a->type == CKA_EXTRACTABLE)
            rv = one_way(obj, a);
        else if (a->type == CKA_TOKEN && copy)
            rv = p11kms_p11_attrs_match(&obj->attrs, a, 1) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
        else if (immutable(a->type) && !(copy && a->type == CKA_MODIFIABLE))
            rv = CKR_ATTRIBUTE_READ_ONLY;
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

static CK_RV defaults(p11kms_p11_attrs *a, CK_BBOOL priv)
{
    static const CK_ATTRIBUTE_TYPE t[] = {CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE};
    CK_RV rv = CKR_OK;
    if (!p11kms_p11_attrs_get(a, CKA_PRIVATE))
        rv = p11kms_p11_attrs_set_bool(a, CKA_PRIVATE, priv);
    for (size_t i = 0; rv == CKR_OK && i < sizeof(t) / sizeof(t[0]); i++)
        if (!p11kms_p11_attrs_get(a, t[i]))
            rv = p11kms_p11_attrs_set_bool(a, t[i], CK_TRUE);
    if (rv == CKR_OK && !p11kms_p11_attrs_get(a, CKA_LABEL))
        rv = p11kms_p11_attrs_set(a, CKA_LABEL, "", 0);
    return rv;
}

static CK_RV key_defaults(p11kms_p11_attrs *a)
{
    static const struct {
        CK_ATTRIBUTE_TYPE t;
        CK_BBOOL v;
    } d[] = {
        {CKA_SENSITIVE, CK_TRUE}, {CKA_EXTRACTABLE, CK_TRUE}, {CKA_LOCAL, CK_FALSE},
        {CKA_DERIVE, CK_FALSE},   {CKA_ENCRYPT, CK_FALSE},    {CKA_DECRYPT, CK_FALSE},
        {CKA_SIGN, CK_FALSE},     {CKA_VERIFY, CK_FALSE},     {CKA_WRAP, CK_FALSE},
        {CKA_UNWRAP, CK_FALSE},
    };
    CK_RV rv = CKR_OK;
    if (!p11kms_p11_attrs_get(a, CKA_ID))
        rv = p11kms_p11_attrs_set(a, CKA_ID, "", 0);
    for (size_t i = 0; rv == CKR_OK && i < sizeof(d) / sizeof(d[0]); i++)
        if (!p11kms_p11_attrs_get(a, d[i].t))
            rv = p11kms_p11_attrs_set_bool(a, d[i].t, d[i].v);
    return rv;
}

CK_RV p11kms_p11_sessobj_key_defaults(p11kms_p11_object *obj)
{
    CK_RV rv = defaults(&obj->attrs, CK_TRUE);
    return rv == CKR_OK ? key_defaults(&obj->attrs) : rv;
}

/* Moves CKA_VALUE out of the list into secmem. */
static CK_RV take_secret(p11kms_p11_object *obj)
{
    const CK_ATTRIBUTE *v = p11kms_p11_attrs_get(&obj->attrs, CKA_VALUE);
    if (v == NULL || v->ulValueLen == 0)
        return CKR_TEMPLATE_INCOMPLETE;
    obj->secret = p11kms_secmem_dup(v->pValue, v->ulValueLen);
    if (obj->secret == NULL)
        return CKR_HOST_MEMORY;
    obj->secret_len = v->ulValueLen;
    p11kms_p11_attrs_remove(&obj->attrs, CKA_VALUE);
    return CKR_OK;
}

static CK_RV secret_key(p11kms_p11_object *obj)
{
    CK_ULONG kt = p11kms_p11_attrs_ulong(&obj->attrs, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    CK_RV rv;
    if (kt == CK_UNAVAILABLE_INFORMATION)
        return CKR_TEMPLATE_INCOMPLETE;
    if (kt != CKK_AES && kt != CKK_GENERIC_SECRET)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (p11kms_p11_attrs_get(&obj->attrs, CKA_VALUE_LEN))
        return CKR_TEMPLATE_INCONSISTENT; /* given by CKA_VALUE */
    rv = take_secret(obj);
    if (rv == CKR_OK && kt == CKK_AES && obj->secret_len != 16 && obj->secret_len != 24 &&
        obj->secret_len != 32)
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(&obj->attrs, CKA_VALUE_LEN, (CK_ULONG)obj->secret_len);
    if (rv == CKR_OK)
        rv = key_defaults(&obj->attrs);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(&obj->attrs, CKA_ALWAYS_SENSITIVE, CK_FALSE);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(&obj->attrs, CKA_NEVER_EXTRACTABLE, CK_FALSE);
    return rv;
}

static CK_RV public_key(p11kms_p11_object *obj)
{
    CK_ULONG kt = p11kms_p11_attrs_ulong(&obj->attrs, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    int ok;
    if (kt == CKK_RSA)
        ok = p11kms_p11_attrs_get(&obj->attrs, CKA_MODULUS) &&
             p11kms_p11_attrs_get(&obj->attrs, CKA_PUBLIC_EXPONENT);
    else if (kt == CKK_EC)
        ok = p11kms_p11_attrs_get(&obj->attrs, CKA_EC_PARAMS) &&
             p11kms_p11_attrs_get(&obj->attrs, CKA_EC_POINT);
    else
        return kt == CK_UNAVAILABLE_INFORMATION ? CKR_TEMPLATE_INCOMPLETE
                                                : CKR_ATTRIBUTE_VALUE_INVALID;
    if (!ok)
        return CKR_TEMPLATE_INCOMPLETE;
    CK_RV rv = key_defaults(&obj->attrs);
    if (rv == CKR_OK)
        rv = p11kms_p11_pubkey_spki(obj); /* validates the material */
    return rv;
}

static CK_RV by_class(p11kms_p11_object *obj, CK_OBJECT_CLASS cls)
{
    switch (cls) {
    case CKO_DATA:
        return defaults(&obj->attrs, CK_FALSE);
    case CKO_CERTIFICATE:
        if (p11kms_p11_attrs_ulong(&obj->attrs, CKA_CERTIFICATE_TYPE, ~0UL) != CKC_X_509)
            return p11kms_p11_attrs_get(&obj->attrs, CKA_CERTIFICATE_TYPE)
                       ? CKR_ATTRIBUTE_VALUE_INVALID
                       : CKR_TEMPLATE_INCOMPLETE;
        if (!p11kms_p11_attrs_get(&obj->attrs, CKA_VALUE) ||
            !p11kms_p11_attrs_get(&obj->attrs, CKA_SUBJECT))
            return CKR_TEMPLATE_INCOMPLETE;
        return defaults(&obj->attrs, CK_FALSE);
    case CKO_SECRET_KEY: {
        CK_RV rv = defaults(&obj->attrs, CK_TRUE);
        return rv == CKR_OK ? secret_key(obj) : rv;
    }
    case CKO_PUBLIC_KEY: {
        CK_RV rv = defaults(&obj->attrs, CK_FALSE);
        return rv == CKR_OK ? public_key(obj) : rv;
    }
    default:
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
}

static CK_RV create_checks(const p11kms_p11_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                           CK_OBJECT_CLASS *cls)
{
    CK_RV rv = CKR_OK;
    CK_BBOOL token = CK_FALSE, priv = CK_FALSE;
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    if (!p11kms_p11_attr_ulong(tmpl, n, CKA_CLASS, cls, &rv))
        return rv != CKR_OK ? rv : CKR_TEMPLATE_INCOMPLETE;
    if (p11kms_p11_attr_bool(tmpl, n, CKA_TOKEN, &token, &rv) && token)
        return CKR_ATTRIBUTE_VALUE_INVALID; /* see the file comment */
    if (rv != CKR_OK)
        return rv;
    if (p11kms_p11_attr_bool(tmpl, n, CKA_PRIVATE, &priv, &rv) && priv && slot->login != CKU_USER)
        return CKR_USER_NOT_LOGGED_IN;
    return rv;
}

CK_RV p11kms_p11_sessobj_create(const p11kms_p11_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                p11kms_p11_object **out)
{
    CK_OBJECT_CLASS cls = 0;
    p11kms_p11_object *obj = NULL;
    CK_RV rv = create_checks(s, tmpl, n, &cls);
    if (rv != CKR_OK)
        goto done;
    if (cls == CKO_P11KMS_OPERATION) {
        rv = p11kms_p11_oprequest_create(s, tmpl, n, out);
        goto done;
    }
    rv = CKR_HOST_MEMORY;
    obj = calloc(1, sizeof(*obj));
    if (obj == NULL)
        goto done;
    obj->kind = P11KMS_P11_OBJ_SESSION;
    obj->slot = s->slot;
    obj->session = s->handle;
    rv = p11kms_p11_attrs_merge(&obj->attrs, tmpl, n);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(&obj->attrs, CKA_TOKEN, CK_FALSE);
    if (rv == CKR_OK)
        rv = by_class(obj, cls);
    if (rv != CKR_OK)
        goto done;
    *out = obj;
    obj = NULL;
done:
    p11kms_p11_object_free(obj);
    return rv;
}
