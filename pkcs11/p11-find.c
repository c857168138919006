/*
 * p11-find.c — C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal.
 *
 * Token objects come from kms.h's indexed search (key id, CKA_ID, CKA_LABEL,
 * class: index lookups, never a scan when the template names one of them),
 * which writes one ListKeys audit record per search.  Results are turned
 * into handles lazily as C_FindObjects returns them, and only templates
 * with attributes the index does not cover pay for a per-candidate check.
 * Keys pending deletion are returned only when the template has
 * CKA_P11KMS_INCLUDE_PENDING true or asks for CKA_P11KMS_KEY_STATE
 * "PendingDeletion"; old versions only when it has CKA_P11KMS_VERSION_OBJECT.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-internal.h"

enum { EMIT_SECRET = 1, EMIT_PRIVATE = 2, EMIT_PUBLIC = 4, EMIT_ALL = 7 };

typedef struct find_op {
    p11kms_p11_op base;
    CK_OBJECT_HANDLE *sess; /* session-object hits */
    size_t nsess, sess_pos;
    p11kms_kms_find_result res; /* token-object candidates */
    size_t pos;
    int half;              /* asymmetric entry: 0 private next, 1 public next */
    int emit;              /* EMIT_* classes allowed */
    int filter;            /* per-candidate template check needed */
    p11kms_p11_attrs tmpl; /* template without search-only attributes */
} find_op;

static void find_free(p11kms_p11_op *op)
{
    find_op *f = (find_op *)op;
    free(f->sess);
    p11kms_kms_find_result_clear(&f->res);
    p11kms_p11_attrs_free(&f->tmpl);
    free(f);
}

/* Which token-object classes the template allows, and the kms.h class. */
static int class_filter(const CK_ATTRIBUTE *t, CK_ULONG n, p11kms_kms_find_class *fc)
{
    CK_ULONG cls = ~0UL, kt = ~0UL;
    CK_RV ignored = CKR_OK;
    int emit = EMIT_ALL;
    (void)p11kms_p11_attr_ulong(t, n, CKA_CLASS, &cls, &ignored);
    (void)p11kms_p11_attr_ulong(t, n, CKA_KEY_TYPE, &kt, &ignored);
    *fc = P11KMS_KMS_FIND_ANY;
    if (cls == CKO_SECRET_KEY)
        emit = EMIT_SECRET, *fc = P11KMS_KMS_FIND_SECRET;
    else if (cls == CKO_PRIVATE_KEY)
        emit = EMIT_PRIVATE, *fc = P11KMS_KMS_FIND_ASYMMETRIC;
    else if (cls == CKO_PUBLIC_KEY)
        emit = EMIT_PUBLIC, *fc = P11KMS_KMS_FIND_ASYMMETRIC;
    else if (cls != ~0UL)
        return 0;
    if (kt == CKK_AES)
        emit &= EMIT_SECRET, *fc = P11KMS_KMS_FIND_SYMMETRIC;
    else if (kt == CKK_GENERIC_SECRET)
        emit &= EMIT_SECRET, *fc = P11KMS_KMS_FIND_HMAC;
    else if (kt == CKK_RSA)
        emit &= EMIT_PRIVATE | EMIT_PUBLIC, *fc = P11KMS_KMS_FIND_RSA;
    else if (kt == CKK_EC)
        emit &= EMIT_PRIVATE | EMIT_PUBLIC, *fc = P11KMS_KMS_FIND_EC;
    else if (kt != ~0UL)
        return 0;
    return emit;
}

static int index_covers(CK_ATTRIBUTE_TYPE t)
{
    return t == CKA_CLASS || t == CKA_KEY_TYPE || t == CKA_TOKEN || t == CKA_P11KMS_KEY_ID;
}

static int include_pending(const CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_BBOOL b = CK_FALSE;
    CK_RV ignored = CKR_OK;
    const CK_ATTRIBUTE *st = p11kms_p11_attr_find(t, n, CKA_P11KMS_KEY_STATE);
    if (st != NULL && st->ulValueLen == 15 && memcmp(st->pValue, "PendingDeletion", 15) == 0)
        return 1;
    return p11kms_p11_attr_bool(t, n, CKA_P11KMS_INCLUDE_PENDING, &b, &ignored) && b;
}

static char *dup_text(const CK_ATTRIBUTE *a)
{
    char *s = calloc(1, a->ulValueLen + 1);
    if (s != NULL && a->ulValueLen)
        memcpy(s, a->pValue, a->ulValueLen);
    return s;
}

/* Version objects are labelled "LABEL#vN": the index knows LABEL. */
static size_t version_base_len(const CK_ATTRIBUTE *label, int versions)
{
    const char *v = label->pValue;
    size_t n = label->ulValueLen;
    if (!versions || v == NULL)
        return n;
    for (size_t i = n; i > 2; i--) {
        if (v[i - 1] < '0' || v[i - 1] > '9')
            return i >= 2 && i < n && v[i - 1] == 'v' && v[i - 2] == '#' ? i - 2 : n;
    }
    return n;
}

static CK_RV token_search(find_op *f, const p11kms_p11_slot *slot, const CK_ATTRIBUTE *t,
                          CK_ULONG n, p11kms_kms_find_class fc)
{
    p11kms_kms_find_filter flt;
    const CK_ATTRIBUTE *id = p11kms_p11_attr_find(t, n, CKA_ID);
    const CK_ATTRIBUTE *label = p11kms_p11_attr_find(t, n, CKA_LABEL);
    const CK_ATTRIBUTE *kid = p11kms_p11_attr_find(t, n, CKA_P11KMS_KEY_ID);
    char *key_id = kid ? dup_text(kid) : NULL;
    memset(&flt, 0, sizeof(flt));
    flt.cls = fc;
    flt.key_id = key_id;
    if (id != NULL)
        flt.app_id = id->pValue ? id->pValue : (const uint8_t *)"", flt.app_id_len = id->ulValueLen;
    flt.include_versions = p11kms_p11_attr_find(t, n, CKA_P11KMS_VERSION_OBJECT) != NULL;
    if (label != NULL)
        flt.app_label = label->pValue ? label->pValue : (const uint8_t *)"",
        flt.app_label_len = version_base_len(label, flt.include_versions);
    flt.include_pending = include_pending(t, n);
    p11kms_kms_rc rc = p11kms_kms_find(slot->kms, p11kms_p11_caller(), &flt, &f->res);
    free(key_id);
    if (rc == P11KMS_KMS_NOT_LOGGED_IN || rc == P11KMS_KMS_ACCESS_DENIED ||
        rc == P11KMS_KMS_NOT_INITIALIZED)
        return CKR_OK; /* nothing visible, as for an empty token */
    return p11kms_p11_rv_from_kms(rc, P11KMS_P11_CTX_TOKEN);
}

static CK_RV prepare(find_op *f, const p11kms_p11_session *s, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_BBOOL token = CK_TRUE;
    CK_RV rv = CKR_OK;
    int has_token = p11kms_p11_attr_bool(t, n, CKA_TOKEN, &token, &rv);
    p11kms_kms_find_class fc;
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        if (t[i].type == CKA_P11KMS_INCLUDE_PENDING)
            continue;
        rv = p11kms_p11_attrs_set(&f->tmpl, t[i].type, t[i].pValue, t[i].ulValueLen);
        if (!index_covers(t[i].type))
            f->filter = 1;
    }
    if (rv == CKR_OK && (!has_token || !token))
        rv = p11kms_p11_objects_session_matching(s, f->tmpl.v, (CK_ULONG)f->tmpl.n, &f->sess,
                                                 &f->nsess);
    if (rv != CKR_OK || (has_token && !token))
        return rv;
    f->emit = class_filter(t, n, &fc);
    /* kms.h searches need the user logged in (even for public halves); not
     * asking avoids a denied ListKeys audit record per anonymous search. */
    if (slot->login != CKU_USER)
        f->emit = 0;
    return f->emit ? token_search(f, slot, t, n, fc) : CKR_OK;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11kms_p11_session *s = NULL;
    find_op *f = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK && pTemplate == NULL && ulCount > 0)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = p11kms_p11_session_op_check_idle(s, P11KMS_P11_OP_FIND);
    if (rv == CKR_OK)
        rv = p11kms_p11_attr_check_template(pTemplate, ulCount);
    if (rv != CKR_OK)
        goto done;
    rv = CKR_HOST_MEMORY;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        goto done;
    f->base.free = find_free;
    rv = prepare(f, s, pTemplate, ulCount);
    if (rv != CKR_OK)
        goto done;
    s->ops[P11KMS_P11_OP_FIND] = &f->base;
    f = NULL;
done:
    if (f != NULL)
        find_free(&f->base);
    p11kms_p11_leave();
    return rv;
}

/* Next token object of the current entry, or 0 to move on. */
static CK_RV next_candidate(find_op *f, CK_SLOT_ID slot, CK_OBJECT_HANDLE *h)
{
    const p11kms_kms_find_entry *e = &f->res.entries[f->pos];
    int asym = e->spec >= P11KMS_KMS_SPEC_RSA_2048;
    p11kms_p11_objkind kind = P11KMS_P11_OBJ_CMK;
    *h = CK_INVALID_HANDLE;
    if (e->version > 0) {
        kind = P11KMS_P11_OBJ_CMK_VERSION;
        f->pos++;
        if (!(f->emit & EMIT_SECRET))
            return CKR_OK;
    } else if (!asym) {
        f->pos++;
        if (!(f->emit & EMIT_SECRET))
            return CKR_OK;
    } else if (f->half == 0) {
        f->half = 1;
        if (!(f->emit & EMIT_PRIVATE))
            return CKR_OK;
    } else {
        kind = P11KMS_P11_OBJ_CMK_PUBLIC;
        f->half = 0;
        f->pos++;
        if (!(f->emit & EMIT_PUBLIC))
            return CKR_OK;
    }
    return p11kms_p11_object_token_handle(slot, kind, e->key_id, e->version, h);
}

static int candidate_matches(const find_op *f, CK_OBJECT_HANDLE h)
{
    p11kms_p11_attrs view = {0};
    p11kms_p11_object *obj = p11kms_p11_object_get(h);
    int ok;
    if (!f->filter)
        return 1;
    ok = obj != NULL &&
         p11kms_p11_cmk_attrs(obj, f->tmpl.v, (CK_ULONG)f->tmpl.n, &view) == CKR_OK &&
         p11kms_p11_attrs_match(&view, f->tmpl.v, (CK_ULONG)f->tmpl.n);
    p11kms_p11_attrs_free(&view);
    return ok;
}

static CK_RV collect(find_op *f, CK_SLOT_ID slot, CK_OBJECT_HANDLE *out, CK_ULONG max,
                     CK_ULONG *count)
{
    CK_RV rv = CKR_OK;
    *count = 0;
    while (*count < max && f->sess_pos < f->nsess)
        out[(*count)++] = f->sess[f->sess_pos++];
    while (rv == CKR_OK && *count < max && f->pos < f->res.n) {
        CK_OBJECT_HANDLE h;
        rv = next_candidate(f, slot, &h);
        if (rv == CKR_OK && h != CK_INVALID_HANDLE && candidate_matches(f, h))
            out[(*count)++] = h;
    }
    return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv != CKR_OK)
        goto done;
    if (phObject == NULL || pulObjectCount == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    find_op *f = (find_op *)s->ops[P11KMS_P11_OP_FIND];
    if (f == NULL) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
        goto done;
    }
    rv = collect(f, s->slot, phObject, ulMaxObjectCount, pulObjectCount);
done:
    p11kms_p11_leave();
    return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    p11kms_p11_session *s = NULL;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK && s->ops[P11KMS_P11_OP_FIND] == NULL)
        rv = CKR_OPERATION_NOT_INITIALIZED;
    if (rv == CKR_OK)
        p11kms_p11_session_op_end(s, P11KMS_P11_OP_FIND);
    p11kms_p11_leave();
    return rv;
}
