/*
 * client/key-find.c — finding keys and certificates from a p11kms: or
 * pkcs11: URI and reading their public half (client/key-ops.h).
 *
 * Why the vendor attributes are only tried: the same code drives
 * p11kms-pkcs11.so, p11-kit-client.so in front of it, and other modules
 * (SoftHSMv2 in the tests).  A module that does not know CKA_P11KMS_ALIAS
 * either refuses the template or matches nothing; both mean "use the
 * standard attributes" (CKA_LABEL "alias/NAME"), never an error.
 */
#include "config.h"

#include "client/key-internal.h"

#include "p11kms/pkcs11.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define FIND_BATCH 16
#define TMPL_MAX   24

int p11kms_client_key_attr(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                           CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, unsigned char **val,
                           size_t *len)
{
    CK_FUNCTION_LIST *fn = p11kms_client_module_functions(mod);
    CK_ATTRIBUTE a = {type, NULL, 0};
    int ok = 0;

    *val = NULL;
    *len = 0;
    if (fn->C_GetAttributeValue(session, obj, &a, 1) != CKR_OK ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > (1UL << 20))
        goto done;
    a.pValue = OPENSSL_zalloc(a.ulValueLen + 1);
    if (a.pValue == NULL)
        goto done;
    if (fn->C_GetAttributeValue(session, obj, &a, 1) != CKR_OK)
        goto done;
    *val = a.pValue;
    *len = a.ulValueLen;
    a.pValue = NULL;
    ok = 1;
done:
    OPENSSL_free(a.pValue);
    return ok;
}

void p11kms_client_key_name(const p11kms_client_keyref *ref, char *buf, size_t buflen)
{
    size_t i, n;

    if (ref->label[0] != '\0' && ref->kms_key_id[0] != '\0') {
        snprintf(buf, buflen, "'%s' (key %s)", ref->label, ref->kms_key_id);
    } else if (ref->label[0] != '\0') {
        snprintf(buf, buflen, "'%s'", ref->label);
    } else if (ref->kms_key_id[0] != '\0') {
        snprintf(buf, buflen, "key %s", ref->kms_key_id);
    } else {
        n = (size_t)snprintf(buf, buflen, "object with id ");
        for (i = 0; i < ref->idlen && n + 3 < buflen; i++, n += 2)
            snprintf(buf + n, buflen - n, "%02x", ref->id[i]);
    }
}

static const char *fail_hint(CK_RV rv)
{
    switch (rv) {
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
        return ": not permitted for this key (its key usage or key policy forbids it; "
               "denials are in the audit log)";
    case CKR_ACTION_PROHIBITED:
        return ": denied by the key's policy (see the audit log)";
    case CKR_USER_NOT_LOGGED_IN:
        return ": not logged in (configure a PIN source)";
    case CKR_P11KMS_KEY_DISABLED:
        return ": the key is disabled";
    case CKR_P11KMS_KEY_INVALID_STATE:
        return ": the key is pending deletion";
    case CKR_MECHANISM_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
        return ": the key does not support this operation";
    default:
        return "";
    }
}

int p11kms_client_key_fail(p11kms_client_err *err, const p11kms_client_keyref *ref,
                           const char *action, const char *call, CK_RV rv)
{
    char name[P11KMS_CLIENT_LABEL_MAX + 64];

    p11kms_client_key_name(ref, name, sizeof(name));
    return p11kms_client_fail(err, rv, "%s with key %s failed: %s returned %s%s", action, name,
                              call, p11kms_client_rv_name(rv), fail_hint(rv));
}

int p11kms_client_key_describe(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               p11kms_client_keyref *ref)
{
    CK_OBJECT_HANDLE h = ref->handle;
    CK_OBJECT_CLASS cls = ref->cls;
    unsigned char *v = NULL;
    size_t len = 0;

    memset(ref, 0, sizeof(*ref));
    ref->handle = h;
    ref->cls = cls;
    ref->key_type = CKK_VENDOR_DEFINED;
    if (cls != CKO_CERTIFICATE && p11kms_client_key_attr(mod, session, h, CKA_KEY_TYPE, &v, &len) &&
        len == sizeof(CK_KEY_TYPE))
        memcpy(&ref->key_type, v, sizeof(CK_KEY_TYPE));
    OPENSSL_free(v);
    if (p11kms_client_key_attr(mod, session, h, CKA_ID, &v, &len) && len <= sizeof(ref->id)) {
        memcpy(ref->id, v, len);
        ref->idlen = len;
    }
    OPENSSL_free(v);
    if (p11kms_client_key_attr(mod, session, h, CKA_LABEL, &v, &len) &&
        len <= P11KMS_CLIENT_LABEL_MAX)
        memcpy(ref->label, v, len);
    OPENSSL_free(v);
    if (p11kms_client_key_attr(mod, session, h, CKA_P11KMS_KEY_ID, &v, &len) &&
        len < sizeof(ref->kms_key_id))
        memcpy(ref->kms_key_id, v, len);
    OPENSSL_free(v);
    return 1;
}

/*
 * One C_FindObjects* run.  tolerant: a template the module refuses counts
 * as "nothing found" (vendor attributes on other modules).
 */
static int run_find(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl,
                    CK_ULONG n, int tolerant, CK_OBJECT_HANDLE *found, size_t max, size_t *count,
                    p11kms_client_err *err)
{
    CK_FUNCTION_LIST *fn = p11kms_client_module_functions(mod);
    CK_OBJECT_HANDLE batch[FIND_BATCH];
    CK_ULONG got = 0, i;
    CK_RV rv;
    int ok = 0;

    *count = 0;
    rv = fn->C_FindObjectsInit(session, tmpl, n);
    if (rv != CKR_OK) {
        if (tolerant && (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
                         rv == CKR_TEMPLATE_INCONSISTENT))
            return 1;
        return p11kms_client_fail(err, rv, "%s: C_FindObjectsInit failed: %s",
                                  p11kms_client_module_path(mod), p11kms_client_rv_name(rv));
    }
    do {
        rv = fn->C_FindObjects(session, batch, FIND_BATCH, &got);
        if (rv != CKR_OK) {
            p11kms_client_fail(err, rv, "%s: C_FindObjects failed: %s",
                               p11kms_client_module_path(mod), p11kms_client_rv_name(rv));
            goto done;
        }
        for (i = 0; i < got; i++, (*count)++) {
            if (*count < max)
                found[*count] = batch[i];
        }
    } while (got == FIND_BATCH && *count < 4096);
    ok = 1;
done:
    fn->C_FindObjectsFinal(session);
    return ok;
}

/* Appends one attribute to tmpl (capacity TMPL_MAX). */
static void tmpl_add(CK_ATTRIBUTE *tmpl, CK_ULONG *n, CK_ATTRIBUTE_TYPE type, void *val, size_t len)
{
    if (*n >= TMPL_MAX)
        return;
    tmpl[*n].type = type;
    tmpl[*n].pValue = val;
    tmpl[*n].ulValueLen = (CK_ULONG)len;
    (*n)++;
}

/* The pkcs11: URI's object attributes with our class instead of its own. */
static int pkcs11_template(const p11kms_client_uri *uri, CK_OBJECT_CLASS *cls, CK_ATTRIBUTE *tmpl,
                           CK_ULONG *n)
{
    CK_ATTRIBUTE *attrs;
    CK_ULONG count = 0, i;

    if (uri->has_class && uri->object_class != *cls)
        return 0;
    attrs = p11kms_client_uri_template(uri, &count);
    tmpl_add(tmpl, n, CKA_CLASS, cls, sizeof(*cls));
    for (i = 0; i < count; i++) {
        if (attrs[i].type != CKA_CLASS)
            tmpl_add(tmpl, n, attrs[i].type, attrs[i].pValue, attrs[i].ulValueLen);
    }
    return 1;
}

/* p11kms: URIs: vendor attribute first, then the standard CKA_LABEL. */
static int find_p11kms(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                       const p11kms_client_uri *uri, CK_OBJECT_CLASS *cls, CK_OBJECT_HANDLE *found,
                       size_t max, size_t *count, p11kms_client_err *err)
{
    CK_ATTRIBUTE tmpl[TMPL_MAX];
    CK_ULONG n = 0, version = uri->version;
    size_t len = strlen(uri->key_ref);
    char *ref = (char *)uri->key_ref;

    tmpl_add(tmpl, &n, CKA_CLASS, cls, sizeof(*cls));
    tmpl_add(tmpl, &n, uri->kind == P11KMS_CLIENT_URI_ALIAS ? CKA_P11KMS_ALIAS : CKA_P11KMS_KEY_ID,
             ref, len);
    if (version != 0)
        tmpl_add(tmpl, &n, CKA_P11KMS_KEY_VERSION, &version, sizeof(version));
    if (!run_find(mod, session, tmpl, n, 1, found, max, count, err))
        return 0;
    if (*count > 0 || uri->kind != P11KMS_CLIENT_URI_ALIAS || version != 0)
        return 1;
    tmpl[1].type = CKA_LABEL;
    return run_find(mod, session, tmpl, n, 0, found, max, count, err);
}

int p11kms_client_key_find(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                           const p11kms_client_uri *uri, CK_OBJECT_CLASS cls,
                           p11kms_client_keyref *out, size_t max, size_t *count,
                           p11kms_client_err *err)
{
    CK_OBJECT_HANDLE found[FIND_BATCH];
    CK_ATTRIBUTE tmpl[TMPL_MAX];
    CK_ULONG n = 0;
    size_t i, nfound = 0;
    int ok = 0;

    *count = 0;
    if (uri->kind == P11KMS_CLIENT_URI_PKCS11) {
        if (!pkcs11_template(uri, &cls, tmpl, &n))
            return 1; /* type= names another class */
        ok = run_find(mod, session, tmpl, n, 0, found, FIND_BATCH, &nfound, err);
    } else {
        ok = find_p11kms(mod, session, uri, &cls, found, FIND_BATCH, &nfound, err);
    }
    if (!ok)
        return 0;
    for (i = 0; i < nfound && i < max && i < FIND_BATCH; i++) {
        out[i].handle = found[i];
        out[i].cls = cls;
        p11kms_client_key_describe(mod, session, &out[i]);
    }
    *count = nfound;
    return 1;
}

int p11kms_client_key_find_one(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               const p11kms_client_uri *uri, const char *uri_text,
                               CK_OBJECT_CLASS cls, p11kms_client_keyref *out,
                               p11kms_client_err *err)
{
    const char *what = cls == CKO_PRIVATE_KEY  ? "private key"
                       : cls == CKO_PUBLIC_KEY ? "public key"
                                               : "certificate";
    size_t count = 0;

    if (!p11kms_client_key_find(mod, session, uri, cls, out, 1, &count, err))
        return 0;
    if (count == 1)
        return 1;
    if (count == 0)
        return p11kms_client_fail(err, CKR_OK, "%s: no %s found (is the token logged in?)",
                                  uri_text, what);
    return p11kms_client_fail(err, CKR_OK, "%s: %zu %ss match; make the URI more specific",
                              uri_text, count, what);
}

int p11kms_client_key_refind(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                             p11kms_client_keyref *ref, p11kms_client_err *err)
{
    CK_ATTRIBUTE tmpl[TMPL_MAX];
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    size_t count = 0;
    char name[P11KMS_CLIENT_LABEL_MAX + 64];

    tmpl_add(tmpl, &n, CKA_CLASS, &ref->cls, sizeof(ref->cls));
    if (ref->kms_key_id[0] != '\0')
        tmpl_add(tmpl, &n, CKA_P11KMS_KEY_ID, ref->kms_key_id, strlen(ref->kms_key_id));
    else
        tmpl_add(tmpl, &n, CKA_ID, ref->id, ref->idlen);
    if (ref->label[0] != '\0')
        tmpl_add(tmpl, &n, CKA_LABEL, ref->label, strlen(ref->label));
    if (!run_find(mod, session, tmpl, n, 0, found, 2, &count, err))
        return 0;
    if (count != 1) {
        p11kms_client_key_name(ref, name, sizeof(name));
        return p11kms_client_fail(err, CKR_OK, "%s: %s not found again after re-initialising",
                                  p11kms_client_module_path(mod), name);
    }
    ref->handle = found[0];
    return 1;
}

/* The public-key object that belongs to ref (same CKA_ID, else same label). */
static int find_twin(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                     const p11kms_client_keyref *ref, CK_OBJECT_HANDLE *twin)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = ref->key_type;
    CK_ATTRIBUTE tmpl[TMPL_MAX];
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    size_t count = 0;

    tmpl_add(tmpl, &n, CKA_CLASS, &cls, sizeof(cls));
    tmpl_add(tmpl, &n, CKA_KEY_TYPE, &kt, sizeof(kt));
    if (ref->kms_key_id[0] != '\0')
        tmpl_add(tmpl, &n, CKA_P11KMS_KEY_ID, (void *)ref->kms_key_id, strlen(ref->kms_key_id));
    else if (ref->idlen > 0)
        tmpl_add(tmpl, &n, CKA_ID, (void *)ref->id, ref->idlen);
    else if (ref->label[0] != '\0')
        tmpl_add(tmpl, &n, CKA_LABEL, (void *)ref->label, strlen(ref->label));
    else
        return 0;
    if (!run_find(mod, session, tmpl, n, 1, found, 2, &count, NULL) || count != 1)
        return 0;
    *twin = found[0];
    return 1;
}

static int public_rsa(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h,
                      p11kms_crypto_pkey **out)
{
    unsigned char *nv = NULL, *ev = NULL;
    size_t nlen = 0, elen = 0;

    if (p11kms_client_key_attr(mod, session, h, CKA_MODULUS, &nv, &nlen) &&
        p11kms_client_key_attr(mod, session, h, CKA_PUBLIC_EXPONENT, &ev, &elen))
        *out = p11kms_crypto_pkey_from_rsa_public(nv, nlen, ev, elen);
    OPENSSL_free(nv);
    OPENSSL_free(ev);
    return *out != NULL;
}

static int public_ec(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h,
                     p11kms_crypto_pkey **out)
{
    unsigned char *params = NULL, *point = NULL;
    size_t plen = 0, qlen = 0;

    if (p11kms_client_key_attr(mod, session, h, CKA_EC_PARAMS, &params, &plen) &&
        p11kms_client_key_attr(mod, session, h, CKA_EC_POINT, &point, &qlen))
        *out = p11kms_crypto_pkey_from_ec_public(params, plen, point, qlen);
    OPENSSL_free(params);
    OPENSSL_free(point);
    return *out != NULL;
}

static int public_of(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_KEY_TYPE kt,
                     CK_OBJECT_HANDLE h, p11kms_crypto_pkey **out)
{
    return kt == CKK_RSA ? public_rsa(mod, session, h, out) : public_ec(mod, session, h, out);
}

int p11kms_client_key_public(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                             const p11kms_client_keyref *ref, p11kms_crypto_pkey **out,
                             p11kms_client_err *err)
{
    CK_OBJECT_HANDLE twin;
    char name[P11KMS_CLIENT_LABEL_MAX + 64];

    *out = NULL;
    if (ref->key_type != CKK_RSA && ref->key_type != CKK_EC) {
        p11kms_client_key_name(ref, name, sizeof(name));
        return p11kms_client_fail(err, CKR_OK, "%s is neither an RSA nor an EC key", name);
    }
    if (public_of(mod, session, ref->key_type, ref->handle, out))
        return 1;
    if (find_twin(mod, session, ref, &twin) && public_of(mod, session, ref->key_type, twin, out))
        return 1;
    p11kms_client_key_name(ref, name, sizeof(name));
    return p11kms_client_fail(err, CKR_OK,
                              "%s: cannot read its public key (no readable CKA_%s and no "
                              "public-key object with the same CKA_ID)",
                              name, ref->key_type == CKK_RSA ? "MODULUS" : "EC_POINT");
}

int p11kms_client_key_cert_der(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               const p11kms_client_keyref *ref, unsigned char **der, size_t *derlen,
                               p11kms_client_err *err)
{
    char name[P11KMS_CLIENT_LABEL_MAX + 64];

    if (p11kms_client_key_attr(mod, session, ref->handle, CKA_VALUE, der, derlen) && *derlen > 0)
        return 1;
    OPENSSL_free(*der);
    *der = NULL;
    p11kms_client_key_name(ref, name, sizeof(name));
    return p11kms_client_fail(err, CKR_OK, "certificate %s: cannot read CKA_VALUE", name);
}
