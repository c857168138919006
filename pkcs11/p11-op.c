/*
 * p11-op.c — what every cryptographic operation shares: resolving the key
 * handle at *Init (CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT,
 * CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_USER_NOT_LOGGED_IN for CMKs), the
 * operation record with its buffered input and cached result, and the
 * output rules of PKCS#11 2.40 §5.2: a NULL output buffer is a length
 * query that keeps the operation, CKR_BUFFER_TOO_SMALL keeps it too, any
 * other end (success or error) finishes it.  A result computed by kms.h
 * is cached, so retrying after CKR_BUFFER_TOO_SMALL neither repeats the
 * operation nor writes a second audit record.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "pkcs11/p11-internal.h"

#define P11KMS_P11_MAX_INPUT (64u * 1024 * 1024)

static int is_key_class(CK_OBJECT_CLASS c)
{
    return c == CKO_SECRET_KEY || c == CKO_PRIVATE_KEY || c == CKO_PUBLIC_KEY;
}

static CK_RV resolve_cmk(p11kms_p11_object *obj, CK_ATTRIBUTE_TYPE need, p11kms_p11_key *out)
{
    CK_ATTRIBUTE want[] = {{need, NULL, 0}};
    p11kms_p11_attrs view = {0};
    p11kms_kms_key_meta m;
    memset(&m, 0, sizeof(m));
    CK_RV rv = p11kms_p11_cmk_view(obj, want, 1, &view, &m);
    if (rv != CKR_OK)
        goto done;
    out->cls = p11kms_p11_attrs_ulong(&view, CKA_CLASS, 0);
    out->kt = p11kms_p11_attrs_ulong(&view, CKA_KEY_TYPE, 0);
    if (!p11kms_p11_attrs_bool(&view, need, CK_FALSE)) {
        rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
        goto done;
    }
    out->cmk = 1;
    out->spec = m.spec;
    out->kkey = p11kms_kms_key_ref(obj->kkey);
    out->version = obj->kind == P11KMS_P11_OBJ_CMK_VERSION ? obj->version : 0;
    out->is_public = obj->kind == P11KMS_P11_OBJ_CMK_PUBLIC;
done:
    p11kms_kms_key_meta_clear(&m);
    p11kms_p11_attrs_free(&view);
    return rv;
}

static CK_RV resolve_session(const p11kms_p11_object *obj, CK_ATTRIBUTE_TYPE need,
                             p11kms_p11_key *out)
{
    const unsigned char *src = obj->secret ? obj->secret : obj->spki;
    size_t len = obj->secret ? obj->secret_len : obj->spki_len;
    out->cls = p11kms_p11_attrs_ulong(&obj->attrs, CKA_CLASS, 0);
    out->kt = p11kms_p11_attrs_ulong(&obj->attrs, CKA_KEY_TYPE, 0);
    if (!is_key_class(out->cls) || src == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!p11kms_p11_attrs_bool(&obj->attrs, need, CK_FALSE))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    out->is_public = out->cls == CKO_PUBLIC_KEY;
    out->secret = p11kms_secmem_dup(src, len);
    out->secret_len = len;
    return out->secret != NULL ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV p11kms_p11_key_resolve(const p11kms_p11_session *s, CK_OBJECT_HANDLE h,
                             CK_ATTRIBUTE_TYPE need, p11kms_p11_key *out)
{
    p11kms_p11_object *obj = NULL;
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    memset(out, 0, sizeof(*out));
    if (p11kms_p11_object_lookup(s, h, &obj) != CKR_OK)
        return CKR_KEY_HANDLE_INVALID;
    switch (obj->kind) {
    case P11KMS_P11_OBJ_CMK:
    case P11KMS_P11_OBJ_CMK_PUBLIC:
    case P11KMS_P11_OBJ_CMK_VERSION:
        if (slot->login != CKU_USER) /* the SO never uses keys */
            return CKR_USER_NOT_LOGGED_IN;
        return resolve_cmk(obj, need, out);
    case P11KMS_P11_OBJ_SESSION:
        return resolve_session(obj, need, out);
    default:
        return CKR_KEY_TYPE_INCONSISTENT;
    }
}

void p11kms_p11_key_clear(p11kms_p11_key *k)
{
    p11kms_kms_key_release(k->kkey);
    if (k->secret != NULL)
        p11kms_secmem_free(k->secret, k->secret_len);
    memset(k, 0, sizeof(*k));
}

p11kms_p11_cop *p11kms_p11_cop_new(CK_MECHANISM_TYPE mech, CK_SLOT_ID slot)
{
    p11kms_p11_cop *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        c->base.mech = mech;
        c->base.free = p11kms_p11_cop_free;
        c->slot = slot;
    }
    return c;
}

static void wipe_free(unsigned char *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
    free(p);
}

void p11kms_p11_cop_free(p11kms_p11_op *op)
{
    p11kms_p11_cop *c = (p11kms_p11_cop *)op;
    if (c == NULL)
        return;
    p11kms_p11_key_clear(&c->key);
    p11kms_crypto_hash_free(c->hash);
    wipe_free(c->in, c->in_cap);
    wipe_free(c->res, c->res_len);
    wipe_free(c->aad, c->aad_len);
    OPENSSL_cleanse(c->iv, sizeof(c->iv));
    free(c);
}

CK_RV p11kms_p11_cop_append(p11kms_p11_cop *c, const unsigned char *in, size_t len)
{
    if (len > P11KMS_P11_MAX_INPUT - c->in_len)
        return CKR_DATA_LEN_RANGE;
    if (c->in_len + len > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 256;
        while (cap < c->in_len + len)
            cap *= 2;
        unsigned char *n = malloc(cap);
        if (n == NULL)
            return CKR_HOST_MEMORY;
        if (c->in_len)
            memcpy(n, c->in, c->in_len);
        wipe_free(c->in, c->in_cap); /* never realloc: the old copy is wiped */
        c->in = n;
        c->in_cap = cap;
    }
    if (len)
        memcpy(c->in + c->in_len, in, len);
    c->in_len += len;
    return CKR_OK;
}

void p11kms_p11_cop_set_result(p11kms_p11_cop *c, unsigned char *res, size_t len)
{
    wipe_free(c->res, c->res_len);
    c->res = res;
    c->res_len = len;
    c->have_res = 1;
}

CK_RV p11kms_p11_cop_take(p11kms_p11_cop *c, p11kms_kms_bytes *b)
{
    unsigned char *copy = malloc(b->len ? b->len : 1);
    if (copy == NULL)
        return CKR_HOST_MEMORY;
    if (b->len)
        memcpy(copy, b->data, b->len);
    p11kms_p11_cop_set_result(c, copy, b->len);
    return CKR_OK;
}

CK_RV p11kms_p11_emit(const unsigned char *res, size_t len, CK_BYTE_PTR out, CK_ULONG_PTR outlen,
                      int *keep)
{
    *keep = 0;
    if (out == NULL) {
        *outlen = (CK_ULONG)len;
        *keep = 1;
        return CKR_OK;
    }
    if (*outlen < len) {
        *outlen = (CK_ULONG)len;
        *keep = 1;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (len)
        memcpy(out, res, len);
    *outlen = (CK_ULONG)len;
    return CKR_OK;
}
