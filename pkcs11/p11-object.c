/*
 * p11-object.c — the object table and the object-management functions:
 * C_CreateObject, C_CopyObject, C_DestroyObject, C_GetObjectSize,
 * C_GetAttributeValue, C_SetAttributeValue.
 *
 * Objects come in three families (p11kms-pkcs11(8), OBJECTS):
 *  - CMK-backed token objects (p11-cmk.c): their attributes are computed
 *    from kms.h metadata on every read, so another process's change
 *    (rotation, disable) is always seen; the module keeps only the handle;
 *  - session objects (CKA_TOKEN false): data, certificates, imported or
 *    generated session keys, kept in module memory (secrets in secmem) and
 *    destroyed with their session;
 *  - operation requests (CKO_P11KMS_OPERATION, p11-oprequest.c).
 * Certificates and data objects on the token need generic-object calls in
 * kms.h, which it does not offer yet: such templates get
 * CKR_ATTRIBUTE_VALUE_INVALID on CKA_TOKEN (documented).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "pkcs11/p11-internal.h"
#include "pkcs11/p11-oprequest.h"

static p11kms_p11_htab g_objects;   /* handle -> object */
static p11kms_p11_smap g_token_ids; /* "slot/kind/ident/version" -> handle */

p11kms_p11_object *p11kms_p11_object_get(CK_OBJECT_HANDLE h)
{
    return p11kms_p11_htab_get(&g_objects, h);
}

static void token_key(char *buf, size_t n, CK_SLOT_ID slot, p11kms_p11_objkind kind,
                      const char *ident, uint32_t version)
{
    snprintf(buf, n, "%lu/%d/%s/%u", (unsigned long)slot, (int)kind, ident, version);
}

void p11kms_p11_object_free(p11kms_p11_object *obj)
{
    if (obj == NULL)
        return;
    p11kms_p11_attrs_free(&obj->attrs);
    if (obj->secret != NULL)
        p11kms_secmem_free(obj->secret, obj->secret_len);
    p11kms_kms_key_release(obj->kkey);
    free(obj->spki);
    if (obj->opreq != NULL)
        p11kms_p11_oprequest_free(obj->opreq);
    free(obj);
}

CK_RV p11kms_p11_object_add(p11kms_p11_object *obj)
{
    obj->handle = p11kms_p11_next_handle();
    return p11kms_p11_htab_put(&g_objects, obj->handle, obj) ? CKR_OK : CKR_HOST_MEMORY;
}

static void object_remove(p11kms_p11_object *obj)
{
    char key[160];
    p11kms_p11_htab_del(&g_objects, obj->handle);
    if (obj->kind != P11KMS_P11_OBJ_SESSION && obj->kind != P11KMS_P11_OBJ_OPREQ) {
        token_key(key, sizeof(key), obj->slot, obj->kind, obj->ident, obj->version);
        p11kms_p11_smap_del(&g_token_ids, key);
    }
    p11kms_p11_object_free(obj);
}

CK_RV p11kms_p11_object_token_handle(CK_SLOT_ID slot, p11kms_p11_objkind kind, const char *ident,
                                     uint32_t version, CK_OBJECT_HANDLE *out)
{
    char key[160];
    CK_RV rv = CKR_HOST_MEMORY;
    p11kms_p11_object *obj = NULL;
    token_key(key, sizeof(key), slot, kind, ident, version);
    *out = p11kms_p11_smap_get(&g_token_ids, key);
    if (*out != CK_INVALID_HANDLE)
        return CKR_OK;
    obj = calloc(1, sizeof(*obj));
    if (obj == NULL)
        goto done;
    obj->slot = slot;
    obj->kind = kind;
    obj->version = version;
    snprintf(obj->ident, sizeof(obj->ident), "%s", ident);
    rv = p11kms_p11_object_add(obj);
    if (rv != CKR_OK)
        goto done;
    if (!p11kms_p11_smap_put(&g_token_ids, key, obj->handle)) {
        p11kms_p11_htab_del(&g_objects, obj->handle);
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    *out = obj->handle;
    obj = NULL;
done:
    p11kms_p11_object_free(obj);
    return rv;
}

/* Removes every object matching pred(obj, arg). */
static void remove_where(int (*pred)(const p11kms_p11_object *, CK_ULONG), CK_ULONG arg)
{
    size_t pos = 0;
    CK_ULONG h;
    void *v;
    while (p11kms_p11_htab_next(&g_objects, &pos, &h, &v)) {
        if (pred(v, arg)) {
            object_remove(v);
            pos = 0; /* the table may have changed shape */
        }
    }
}

static int owned_by(const p11kms_p11_object *o, CK_ULONG session)
{
    return o->session == session && session != 0;
}

static int token_obj_of_slot(const p11kms_p11_object *o, CK_ULONG slot)
{
    return o->slot == slot && o->session == 0;
}

/* Every object of the CMK whose key id is ident (both halves, versions). */
static void forget_key(CK_SLOT_ID slot, const char *ident)
{
    size_t pos = 0;
    CK_ULONG h;
    void *v;
    while (p11kms_p11_htab_next(&g_objects, &pos, &h, &v)) {
        p11kms_p11_object *o = v;
        if (o->slot == slot && o->session == 0 && o->kind != P11KMS_P11_OBJ_SESSION &&
            strcmp(o->ident, ident) == 0) {
            object_remove(o);
            pos = 0;
        }
    }
}

void p11kms_p11_object_forget_key(CK_SLOT_ID slot, const char *ident)
{
    char copy[sizeof(((p11kms_p11_object *)0)->ident)];
    snprintf(copy, sizeof(copy), "%s", ident); /* ident may live in a removed object */
    forget_key(slot, copy);
}

void p11kms_p11_object_destroy_session(CK_SESSION_HANDLE s)
{
    remove_where(owned_by, s);
}

void p11kms_p11_objects_forget_slot(CK_SLOT_ID slot)
{
    remove_where(token_obj_of_slot, slot);
}

void p11kms_p11_objects_free(int orphan)
{
    size_t pos = 0;
    CK_ULONG h;
    void *v;
    if (orphan) {
        p11kms_p11_orphan_keep(&g_objects, sizeof(g_objects));
        p11kms_p11_orphan_keep(&g_token_ids, sizeof(g_token_ids));
        memset(&g_objects, 0, sizeof(g_objects));
        memset(&g_token_ids, 0, sizeof(g_token_ids));
        return;
    }
    while (p11kms_p11_htab_next(&g_objects, &pos, &h, &v))
        p11kms_p11_object_free(v);
    p11kms_p11_htab_free(&g_objects);
    p11kms_p11_smap_free(&g_token_ids);
}

static int object_is_private(const p11kms_p11_object *obj)
{
    switch (obj->kind) {
    case P11KMS_P11_OBJ_CMK:
    case P11KMS_P11_OBJ_CMK_VERSION:
        return 1;
    case P11KMS_P11_OBJ_CMK_PUBLIC:
        return 0;
    default:
        return p11kms_p11_attrs_bool(&obj->attrs, CKA_PRIVATE, CK_FALSE) == CK_TRUE;
    }
}

int p11kms_p11_object_visible(const p11kms_p11_object *obj, const p11kms_p11_session *s)
{
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    if (obj->slot != s->slot || slot == NULL)
        return 0;
    if (obj->kind == P11KMS_P11_OBJ_OPREQ && obj->session != s->handle)
        return 0; /* results of a request belong to the requesting session */
    return !object_is_private(obj) || slot->login == CKU_USER;
}

CK_RV p11kms_p11_object_lookup(const p11kms_p11_session *s, CK_OBJECT_HANDLE h,
                               p11kms_p11_object **out)
{
    *out = p11kms_p11_object_get(h);
    if (*out == NULL || !p11kms_p11_object_visible(*out, s)) {
        *out = NULL;
        return CKR_OBJECT_HANDLE_INVALID;
    }
    return CKR_OK;
}

CK_RV p11kms_p11_object_kkey(p11kms_p11_object *obj, p11kms_kms_key **out)
{
    CK_RV rv = CKR_OK;
    if (obj->kkey == NULL) {
        p11kms_p11_slot *slot = p11kms_p11_slot_get(obj->slot);
        rv = p11kms_p11_rv_from_kms(p11kms_kms_key_open(slot->kms, obj->ident, &obj->kkey),
                                    P11KMS_P11_CTX_OBJECT);
    }
    *out = obj->kkey;
    return rv;
}

static int is_cmk(const p11kms_p11_object *obj)
{
    return obj->kind == P11KMS_P11_OBJ_CMK || obj->kind == P11KMS_P11_OBJ_CMK_PUBLIC ||
           obj->kind == P11KMS_P11_OBJ_CMK_VERSION;
}

/* ---------------- C_CreateObject / C_CopyObject ---------------- */

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                     CK_OBJECT_HANDLE_PTR phObject)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_object *obj = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv != CKR_OK)
        goto done;
    if (phObject == NULL || (pTemplate == NULL && ulCount > 0)) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    rv = p11kms_p11_attr_check_template(pTemplate, ulCount);
    if (rv == CKR_OK)
        rv = p11kms_p11_sessobj_create(s, pTemplate, ulCount, &obj);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_add(obj);
    if (rv != CKR_OK)
        goto done;
    *phObject = obj->handle;
    obj = NULL;
done:
    p11kms_p11_object_free(obj);
    p11kms_p11_leave();
    return rv;
}

static CK_RV copy_session_object(const p11kms_p11_session *s, const p11kms_p11_object *src,
                                 const CK_ATTRIBUTE *tmpl, CK_ULONG n, p11kms_p11_object **out)
{
    CK_RV rv = p11kms_p11_sessobj_check_changes(src, tmpl, n, 1);
    p11kms_p11_object *obj = NULL;
    if (rv != CKR_OK)
        goto done;
    rv = CKR_HOST_MEMORY;
    obj = calloc(1, sizeof(*obj));
    if (obj == NULL)
        goto done;
    *obj = (p11kms_p11_object){.slot = src->slot, .kind = src->kind, .session = s->handle};
    rv = p11kms_p11_attrs_copy(&obj->attrs, &src->attrs);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_merge(&obj->attrs, tmpl, n);
    if (rv != CKR_OK)
        goto done;
    if (src->secret != NULL) {
        obj->secret = p11kms_secmem_dup(src->secret, src->secret_len);
        obj->secret_len = src->secret_len;
        if (obj->secret == NULL) {
            rv = CKR_HOST_MEMORY;
            goto done;
        }
    }
    *out = obj;
    obj = NULL;
done:
    p11kms_p11_object_free(obj);
    return rv;
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                   CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_object *src = NULL, *obj = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_lookup(s, hObject, &src);
    if (rv != CKR_OK)
        goto done;
    if (phNewObject == NULL || (pTemplate == NULL && ulCount > 0)) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    /* CMKs and requests are not copyable (CKA_COPYABLE false). */
    if (src->kind != P11KMS_P11_OBJ_SESSION ||
        !p11kms_p11_attrs_bool(&src->attrs, CKA_COPYABLE, CK_TRUE)) {
        rv = CKR_ACTION_PROHIBITED;
        goto done;
    }
    rv = copy_session_object(s, src, pTemplate, ulCount, &obj);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_add(obj);
    if (rv != CKR_OK)
        goto done;
    *phNewObject = obj->handle;
    obj = NULL;
done:
    p11kms_p11_object_free(obj);
    p11kms_p11_leave();
    return rv;
}

/* ---------------- C_DestroyObject ---------------- */

static CK_RV destroy_token_object(const p11kms_p11_session *s, p11kms_p11_object *obj)
{
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    if (!(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    if (slot->login != CKU_USER)
        return CKR_USER_NOT_LOGGED_IN;
    if (obj->kind == P11KMS_P11_OBJ_CMK_VERSION)
        return CKR_ACTION_PROHIBITED; /* versions go with their CMK */
    CK_RV rv = p11kms_p11_cmk_destroy(obj);
    if (rv == CKR_OK) /* hide both halves of the key pair and its versions */
        p11kms_p11_object_forget_key(s->slot, obj->ident);
    return rv;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_object *obj = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_lookup(s, hObject, &obj);
    if (rv != CKR_OK)
        goto done;
    if (is_cmk(obj)) {
        rv = destroy_token_object(s, obj);
    } else if (!p11kms_p11_attrs_bool(&obj->attrs, CKA_DESTROYABLE, CK_TRUE)) {
        rv = CKR_ACTION_PROHIBITED;
    } else {
        object_remove(obj);
    }
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_object *obj = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_lookup(s, hObject, &obj);
    if (rv == CKR_OK && pulSize == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        *pulSize = CK_UNAVAILABLE_INFORMATION;
    p11kms_p11_leave();
    return rv;
}

/* ---------------- C_GetAttributeValue ---------------- */

static int value_hidden(const p11kms_p11_object *obj)
{
    return p11kms_p11_attrs_bool(&obj->attrs, CKA_SENSITIVE, CK_FALSE) ||
           !p11kms_p11_attrs_bool(&obj->attrs, CKA_EXTRACTABLE, CK_TRUE);
}

static CK_RV session_attr(const p11kms_p11_object *obj, CK_ATTRIBUTE *a)
{
    const CK_ATTRIBUTE *src;
    if (obj->secret != NULL && p11kms_p11_attr_is_sensitive_type(a->type)) {
        if (value_hidden(obj) || a->type != CKA_VALUE)
            return CKR_ATTRIBUTE_SENSITIVE;
        return p11kms_p11_attr_out(a, obj->secret, (CK_ULONG)obj->secret_len);
    }
    src = p11kms_p11_attrs_get(&obj->attrs, a->type);
    if (src == NULL)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    return p11kms_p11_attr_out(a, src->pValue, src->ulValueLen);
}

static CK_RV view_attr(const p11kms_p11_attrs *view, CK_ATTRIBUTE *a)
{
    if (p11kms_p11_attr_is_sensitive_type(a->type) && a->type != CKA_VALUE)
        return CKR_ATTRIBUTE_SENSITIVE;
    const CK_ATTRIBUTE *src = p11kms_p11_attrs_get(view, a->type);
    if (src == NULL)
        return a->type == CKA_VALUE ? CKR_ATTRIBUTE_SENSITIVE : CKR_ATTRIBUTE_TYPE_INVALID;
    return p11kms_p11_attr_out(a, src->pValue, src->ulValueLen);
}

static CK_RV fill_attrs(p11kms_p11_object *obj, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    p11kms_p11_attrs view = {0};
    CK_RV acc = CKR_OK, rv = CKR_OK;
    if (is_cmk(obj))
        rv = p11kms_p11_cmk_attrs(obj, tmpl, n, &view);
    else if (obj->kind == P11KMS_P11_OBJ_OPREQ)
        rv = p11kms_p11_oprequest_attrs(obj, &view);
    if (rv != CKR_OK)
        goto done;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_RV r = obj->kind == P11KMS_P11_OBJ_SESSION ? session_attr(obj, &tmpl[i])
                                                      : view_attr(&view, &tmpl[i]);
        if (r == CKR_ATTRIBUTE_SENSITIVE || r == CKR_ATTRIBUTE_TYPE_INVALID)
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
        acc = p11kms_p11_attr_worst(acc, r);
    }
    rv = acc;
done:
    p11kms_p11_attrs_free(&view);
    return rv;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_object *obj = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_lookup(s, hObject, &obj);
    if (rv != CKR_OK)
        goto done;
    if (pTemplate == NULL && ulCount > 0) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    rv = fill_attrs(obj, pTemplate, ulCount);
    if (rv == CKR_P11KMS_NOT_FOUND || rv == CKR_OBJECT_HANDLE_INVALID) {
        p11kms_p11_object_forget_key(obj->slot, obj->ident); /* destroyed elsewhere */
        rv = CKR_OBJECT_HANDLE_INVALID;
    }
done:
    p11kms_p11_leave();
    return rv;
}

/* ---------------- C_SetAttributeValue ---------------- */

static CK_RV set_checks(const p11kms_p11_session *s, const p11kms_p11_object *obj)
{
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    if (obj->kind == P11KMS_P11_OBJ_OPREQ)
        return CKR_ACTION_PROHIBITED;
    if (!is_cmk(obj))
        return p11kms_p11_attrs_bool(&obj->attrs, CKA_MODIFIABLE, CK_TRUE) ? CKR_OK
                                                                           : CKR_ACTION_PROHIBITED;
    if (!(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    return slot->login == CKU_USER ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11kms_p11_session *s = NULL;
    p11kms_p11_object *obj = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_lookup(s, hObject, &obj);
    if (rv != CKR_OK)
        goto done;
    if (pTemplate == NULL && ulCount > 0) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    rv = p11kms_p11_attr_check_template(pTemplate, ulCount);
    if (rv == CKR_OK)
        rv = set_checks(s, obj);
    if (rv != CKR_OK)
        goto done;
    if (is_cmk(obj)) {
        rv = p11kms_p11_cmk_set(obj, pTemplate, ulCount);
    } else {
        rv = p11kms_p11_sessobj_check_changes(obj, pTemplate, ulCount, 0);
        if (rv == CKR_OK)
            rv = p11kms_p11_attrs_merge(&obj->attrs, pTemplate, ulCount);
    }
done:
    p11kms_p11_leave();
    return rv;
}

/* ---------------- search support for p11-find.c ---------------- */

CK_RV p11kms_p11_objects_session_matching(const p11kms_p11_session *s, const CK_ATTRIBUTE *tmpl,
                                          CK_ULONG n, CK_OBJECT_HANDLE **out, size_t *count)
{
    size_t pos = 0, cap = 0;
    CK_ULONG h;
    void *v;
    *out = NULL;
    *count = 0;
    while (p11kms_p11_htab_next(&g_objects, &pos, &h, &v)) {
        const p11kms_p11_object *o = v;
        if (o->kind != P11KMS_P11_OBJ_SESSION || !p11kms_p11_object_visible(o, s) ||
            !p11kms_p11_attrs_match(&o->attrs, tmpl, n))
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            CK_OBJECT_HANDLE *nv = realloc(*out, cap * sizeof(*nv));
            if (nv == NULL)
                return CKR_HOST_MEMORY;
            *out = nv;
        }
        (*out)[(*count)++] = h;
    }
    return CKR_OK;
}
