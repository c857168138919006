/*
 * p11-keygen.c — C_GenerateKey and C_GenerateKeyPair.
 *
 * CKA_TOKEN true creates a CMK through kms.h (CreateKey: policy-checked,
 * audited); CKA_TOKEN false (the PKCS#11 default) creates a session key in
 * module memory.  Template rules for CMKs, chosen so that the default
 * templates of pkcs11-tool, p11tool and NSS succeed (p11kms-pkcs11(8)):
 *  - CKA_EXTRACTABLE true is refused with CKR_ATTRIBUTE_VALUE_INVALID: a
 *    CMK never leaves the token; CKA_SENSITIVE false is accepted and
 *    reported, the value stays unreadable anyway;
 *  - CKA_PRIVATE false is accepted; CMK secret and private keys are
 *    always private objects (login required to see or use them);
 *  - key usage follows KMS: AES keys ENCRYPT_DECRYPT, generic secrets
 *    GENERATE_VERIFY_MAC (HMAC_256/384/512 by CKA_VALUE_LEN 32/48/64),
 *    key pairs SIGN_VERIFY unless the private template asks for
 *    CKA_DECRYPT without CKA_SIGN (RSA: ENCRYPT_DECRYPT).  A template
 *    asking for sign + decrypt (pkcs11-tool's default) gets a signing key:
 *    KMS forbids both on one key.  EC derive is narrowed away likewise.
 *    CKA_P11KMS_KEY_USAGE / CKA_P11KMS_KEY_SPEC choose explicitly.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/secmem.h"
#include "pkcs11/p11-internal.h"

static CK_RV token_checks(const p11kms_p11_session *s)
{
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    if (!(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    return slot->login == CKU_USER ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
}

static CK_RV cmk_template_checks(const CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_BBOOL b = CK_FALSE;
    CK_RV rv = CKR_OK;
    if (p11kms_p11_attr_bool(t, n, CKA_EXTRACTABLE, &b, &rv) && b)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (p11kms_p11_attr_find(t, n, CKA_VALUE) != NULL)
        return CKR_TEMPLATE_INCONSISTENT;
    return rv;
}

/* A NUL-terminated copy of an optional text attribute; *out NULL if absent. */
static CK_RV opt_text(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, char **out)
{
    const CK_ATTRIBUTE *a = p11kms_p11_attr_find(t, n, type);
    *out = NULL;
    if (a == NULL)
        return CKR_OK;
    *out = calloc(1, a->ulValueLen + 1);
    if (*out == NULL)
        return CKR_HOST_MEMORY;
    if (a->ulValueLen)
        memcpy(*out, a->pValue, a->ulValueLen);
    return strlen(*out) == a->ulValueLen ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
}

typedef struct cmk_req {
    p11kms_kms_create_params p;
    char *description, *policy, *alias;
} cmk_req;

static void cmk_req_clear(cmk_req *r)
{
    free(r->description);
    free(r->policy);
    free(r->alias);
}

/* CKA_ID / CKA_LABEL from the first template that has them. */
static void app_names(cmk_req *r, const CK_ATTRIBUTE *t1, CK_ULONG n1, const CK_ATTRIBUTE *t2,
                      CK_ULONG n2)
{
    const CK_ATTRIBUTE *id = p11kms_p11_attr_find(t1, n1, CKA_ID);
    const CK_ATTRIBUTE *label = p11kms_p11_attr_find(t1, n1, CKA_LABEL);
    if (id == NULL)
        id = p11kms_p11_attr_find(t2, n2, CKA_ID);
    if (label == NULL)
        label = p11kms_p11_attr_find(t2, n2, CKA_LABEL);
    if (id != NULL && id->ulValueLen > 0)
        r->p.app_id = id->pValue, r->p.app_id_len = id->ulValueLen;
    if (label != NULL && label->ulValueLen > 0)
        r->p.app_label = label->pValue, r->p.app_label_len = label->ulValueLen;
}

static CK_RV cmk_req_fill(cmk_req *r, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    char *spec = NULL, *usage = NULL;
    CK_RV rv = opt_text(t, n, CKA_P11KMS_DESCRIPTION, &r->description);
    if (rv == CKR_OK)
        rv = opt_text(t, n, CKA_P11KMS_KEY_POLICY, &r->policy);
    if (rv == CKR_OK)
        rv = opt_text(t, n, CKA_P11KMS_ALIAS, &r->alias);
    if (rv == CKR_OK)
        rv = opt_text(t, n, CKA_P11KMS_KEY_SPEC, &spec);
    if (rv == CKR_OK)
        rv = opt_text(t, n, CKA_P11KMS_KEY_USAGE, &usage);
    if (rv == CKR_OK && spec != NULL && !p11kms_kms_spec_parse(spec, &r->p.spec))
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (rv == CKR_OK && usage != NULL && !p11kms_kms_usage_parse(usage, &r->p.usage))
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
    r->p.description = r->description;
    r->p.policy_json = r->policy;
    free(spec);
    free(usage);
    return rv;
}

/* Creates the CMK and, when asked, its alias; returns its key id. */
static CK_RV cmk_create(const p11kms_p11_session *s, cmk_req *r, char key_id[37])
{
    p11kms_kms_key_meta m;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    memset(&m, 0, sizeof(m));
    if (!p11kms_kms_spec_usage_allowed(r->p.spec, r->p.usage))
        return CKR_TEMPLATE_INCONSISTENT;
    CK_RV rv = p11kms_p11_rv_from_kms(
        p11kms_kms_create_key(slot->kms, p11kms_p11_caller(), &r->p, &m), P11KMS_P11_CTX_TOKEN);
    if (rv == CKR_OK) {
        memcpy(key_id, m.key_id, 37);
        if (r->alias != NULL)
            rv = p11kms_p11_rv_from_kms(
                p11kms_kms_create_alias(slot->kms, p11kms_p11_caller(), r->alias, m.key_id),
                P11KMS_P11_CTX_TOKEN);
    }
    p11kms_kms_key_meta_clear(&m);
    return rv;
}

static CK_RV register_cmk(const p11kms_p11_session *s, const char *key_id, p11kms_p11_objkind kind,
                          const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *ph)
{
    CK_BBOOL sens = CK_TRUE;
    CK_RV ignored = CKR_OK;
    CK_RV rv = p11kms_p11_object_token_handle(s->slot, kind, key_id, 0, ph);
    p11kms_p11_object *obj = rv == CKR_OK ? p11kms_p11_object_get(*ph) : NULL;
    if (obj != NULL && p11kms_p11_attr_bool(t, n, CKA_SENSITIVE, &sens, &ignored) && !sens)
        obj->not_sensitive = 1;
    return rv;
}

/* ---------------- secret keys ---------------- */

static CK_RV secret_spec(CK_MECHANISM_TYPE mech, CK_ULONG len, p11kms_kms_key_spec *spec,
                         p11kms_kms_key_usage *usage)
{
    if (mech == CKM_AES_KEY_GEN) {
        *spec = P11KMS_KMS_SPEC_SYMMETRIC_DEFAULT;
        *usage = P11KMS_KMS_USAGE_ENCRYPT_DECRYPT;
        return len == 32 ? CKR_OK : CKR_KEY_SIZE_RANGE; /* KMS: AES-256 only */
    }
    *usage = P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC;
    *spec = len == 64   ? P11KMS_KMS_SPEC_HMAC_512
            : len == 48 ? P11KMS_KMS_SPEC_HMAC_384
                        : P11KMS_KMS_SPEC_HMAC_256;
    return len == 32 || len == 48 || len == 64 ? CKR_OK : CKR_KEY_SIZE_RANGE;
}

static CK_RV secret_template(CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *t, CK_ULONG n,
                             CK_ULONG *len)
{
    CK_ULONG cls = CKO_SECRET_KEY, kt = ~0UL;
    CK_RV rv = CKR_OK;
    (void)p11kms_p11_attr_ulong(t, n, CKA_CLASS, &cls, &rv);
    (void)p11kms_p11_attr_ulong(t, n, CKA_KEY_TYPE, &kt, &rv);
    if (rv != CKR_OK)
        return rv;
    if (cls != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    if (kt != ~0UL && kt != (mech == CKM_AES_KEY_GEN ? CKK_AES : CKK_GENERIC_SECRET))
        return CKR_TEMPLATE_INCONSISTENT;
    if (!p11kms_p11_attr_ulong(t, n, CKA_VALUE_LEN, len, &rv))
        return rv != CKR_OK ? rv : CKR_TEMPLATE_INCOMPLETE;
    if (mech == CKM_AES_KEY_GEN && *len != 16 && *len != 24 && *len != 32)
        return CKR_KEY_SIZE_RANGE;
    return *len >= 1 && *len <= 512 ? CKR_OK : CKR_KEY_SIZE_RANGE;
}

static CK_RV gen_secret_cmk(const p11kms_p11_session *s, CK_MECHANISM_TYPE mech, CK_ULONG len,
                            const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *ph)
{
    cmk_req r;
    char key_id[37];
    memset(&r, 0, sizeof(r));
    CK_RV rv = token_checks(s);
    if (rv == CKR_OK)
        rv = cmk_template_checks(t, n);
    if (rv == CKR_OK)
        rv = secret_spec(mech, len, &r.p.spec, &r.p.usage);
    if (rv == CKR_OK)
        rv = cmk_req_fill(&r, t, n);
    if (rv != CKR_OK)
        goto done;
    app_names(&r, t, n, NULL, 0);
    rv = cmk_create(s, &r, key_id);
    if (rv == CKR_OK)
        rv = register_cmk(s, key_id, P11KMS_P11_OBJ_CMK, t, n, ph);
done:
    cmk_req_clear(&r);
    return rv;
}

static CK_RV session_secret_attrs(p11kms_p11_object *obj, CK_MECHANISM_TYPE mech, CK_ULONG len)
{
    CK_RV rv = p11kms_p11_attrs_set_ulong(&obj->attrs, CKA_CLASS, CKO_SECRET_KEY);
    CK_BBOOL sens, extr;
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(&obj->attrs, CKA_KEY_TYPE,
                                        mech == CKM_AES_KEY_GEN ? CKK_AES : CKK_GENERIC_SECRET);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(&obj->attrs, CKA_VALUE_LEN, len);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(&obj->attrs, CKA_KEY_GEN_MECHANISM, mech);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(&obj->attrs, CKA_LOCAL, CK_TRUE);
    if (rv == CKR_OK)
        rv = p11kms_p11_sessobj_key_defaults(obj);
    sens = p11kms_p11_attrs_bool(&obj->attrs, CKA_SENSITIVE, CK_TRUE);
    extr = p11kms_p11_attrs_bool(&obj->attrs, CKA_EXTRACTABLE, CK_TRUE);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(&obj->attrs, CKA_ALWAYS_SENSITIVE, sens);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(&obj->attrs, CKA_NEVER_EXTRACTABLE, !extr);
    return rv;
}

static CK_RV gen_secret_session(const p11kms_p11_session *s, CK_MECHANISM_TYPE mech, CK_ULONG len,
                                const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *ph)
{
    CK_RV rv = CKR_HOST_MEMORY;
    p11kms_p11_object *obj = calloc(1, sizeof(*obj));
    if (obj == NULL)
        goto done;
    *obj =
        (p11kms_p11_object){.kind = P11KMS_P11_OBJ_SESSION, .slot = s->slot, .session = s->handle};
    obj->secret = p11kms_secmem_alloc(len);
    obj->secret_len = len;
    if (obj->secret == NULL)
        goto done;
    rv = p11kms_crypto_random(obj->secret, len) ? CKR_OK : CKR_FUNCTION_FAILED;
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_merge(&obj->attrs, t, n);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(&obj->attrs, CKA_TOKEN, CK_FALSE);
    if (rv == CKR_OK)
        rv = session_secret_attrs(obj, mech, len);
    if (rv == CKR_OK)
        rv = p11kms_p11_object_add(obj);
    if (rv == CKR_OK) {
        *ph = obj->handle;
        obj = NULL;
    }
done:
    p11kms_p11_object_free(obj);
    return rv;
}

static CK_RV mech_checks(const CK_MECHANISM *m, CK_FLAGS need)
{
    if (m == NULL)
        return CKR_ARGUMENTS_BAD;
    if (!p11kms_p11_mech_allows(m->mechanism, need))
        return CKR_MECHANISM_INVALID;
    return m->pParameter != NULL || m->ulParameterLen != 0 ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
}

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    p11kms_p11_session *s = NULL;
    CK_ULONG len = 0;
    CK_BBOOL token = CK_FALSE;
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK && (phKey == NULL || (pTemplate == NULL && ulCount > 0)))
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = mech_checks(pMechanism, CKF_GENERATE);
    if (rv == CKR_OK)
        rv = p11kms_p11_attr_check_template(pTemplate, ulCount);
    if (rv == CKR_OK)
        rv = secret_template(pMechanism->mechanism, pTemplate, ulCount, &len);
    if (rv == CKR_OK)
        (void)p11kms_p11_attr_bool(pTemplate, ulCount, CKA_TOKEN, &token, &rv);
    if (rv != CKR_OK)
        goto done;
    if (token)
        rv = gen_secret_cmk(s, pMechanism->mechanism, len, pTemplate, ulCount, phKey);
    else
        rv = gen_secret_session(s, pMechanism->mechanism, len, pTemplate, ulCount, phKey);
done:
    p11kms_p11_leave();
    return rv;
}

/* ---------------- key pairs ---------------- */

static const struct {
    const unsigned char *oid;
    size_t len;
    p11kms_kms_key_spec spec;
} g_curves[] = {
    {(const unsigned char *)"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10,
     P11KMS_KMS_SPEC_ECC_NIST_P256},
    {(const unsigned char *)"\x06\x05\x2b\x81\x04\x00\x22", 7, P11KMS_KMS_SPEC_ECC_NIST_P384},
    {(const unsigned char *)"\x06\x05\x2b\x81\x04\x00\x23", 7, P11KMS_KMS_SPEC_ECC_NIST_P521},
};

static CK_RV ec_spec(const CK_ATTRIBUTE *t, CK_ULONG n, p11kms_kms_key_spec *spec)
{
    const CK_ATTRIBUTE *p = p11kms_p11_attr_find(t, n, CKA_EC_PARAMS);
    if (p == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    for (size_t i = 0; i < sizeof(g_curves) / sizeof(g_curves[0]); i++) {
        if (p->ulValueLen == g_curves[i].len &&
            memcmp(p->pValue, g_curves[i].oid, p->ulValueLen) == 0) {
            *spec = g_curves[i].spec;
            return CKR_OK;
        }
    }
    return CKR_CURVE_NOT_SUPPORTED;
}

static CK_RV rsa_spec(const CK_ATTRIBUTE *t, CK_ULONG n, p11kms_kms_key_spec *spec)
{
    CK_ULONG bits = 0;
    CK_RV rv = CKR_OK;
    const CK_ATTRIBUTE *e = p11kms_p11_attr_find(t, n, CKA_PUBLIC_EXPONENT);
    if (!p11kms_p11_attr_ulong(t, n, CKA_MODULUS_BITS, &bits, &rv))
        return rv != CKR_OK ? rv : CKR_TEMPLATE_INCOMPLETE;
    if (e != NULL) { /* KMS keys use F4 = 65537 */
        size_t i = 0;
        const unsigned char *v = e->pValue;
        while (i < e->ulValueLen && v[i] == 0)
            i++;
        if (e->ulValueLen - i != 3 || memcmp(v + i, "\x01\x00\x01", 3) != 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    *spec = bits == 2048   ? P11KMS_KMS_SPEC_RSA_2048
            : bits == 3072 ? P11KMS_KMS_SPEC_RSA_3072
                           : P11KMS_KMS_SPEC_RSA_4096;
    return bits == 2048 || bits == 3072 || bits == 4096 ? CKR_OK : CKR_KEY_SIZE_RANGE;
}

static p11kms_kms_key_usage pair_usage(CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_BBOOL sign = CK_FALSE, decrypt = CK_FALSE;
    CK_RV ignored = CKR_OK;
    int has_sign = p11kms_p11_attr_bool(t, n, CKA_SIGN, &sign, &ignored);
    (void)p11kms_p11_attr_bool(t, n, CKA_DECRYPT, &decrypt, &ignored);
    if (mech == CKM_RSA_PKCS_KEY_PAIR_GEN && decrypt && (!has_sign || !sign))
        return P11KMS_KMS_USAGE_ENCRYPT_DECRYPT;
    return P11KMS_KMS_USAGE_SIGN_VERIFY;
}

static CK_RV pair_classes(const CK_ATTRIBUTE *pub, CK_ULONG npub, const CK_ATTRIBUTE *priv,
                          CK_ULONG npriv)
{
    CK_ULONG c1 = CKO_PUBLIC_KEY, c2 = CKO_PRIVATE_KEY;
    CK_RV rv = CKR_OK;
    (void)p11kms_p11_attr_ulong(pub, npub, CKA_CLASS, &c1, &rv);
    (void)p11kms_p11_attr_ulong(priv, npriv, CKA_CLASS, &c2, &rv);
    if (rv != CKR_OK)
        return rv;
    return c1 == CKO_PUBLIC_KEY && c2 == CKO_PRIVATE_KEY ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
}

typedef struct pair_args {
    CK_MECHANISM_TYPE mech;
    const CK_ATTRIBUTE *pub, *priv;
    CK_ULONG npub, npriv;
    CK_OBJECT_HANDLE *ph_pub, *ph_priv;
} pair_args;

static CK_RV gen_pair_cmk(const p11kms_p11_session *s, const pair_args *a, p11kms_kms_key_spec spec)
{
    cmk_req r;
    char key_id[37];
    memset(&r, 0, sizeof(r));
    CK_RV rv = token_checks(s);
    if (rv == CKR_OK)
        rv = cmk_template_checks(a->priv, a->npriv);
    if (rv != CKR_OK)
        goto done;
    r.p.spec = spec;
    r.p.usage = pair_usage(a->mech, a->priv, a->npriv);
    rv = cmk_req_fill(&r, a->priv, a->npriv);
    if (rv != CKR_OK)
        goto done;
    app_names(&r, a->priv, a->npriv, a->pub, a->npub);
    rv = cmk_create(s, &r, key_id);
    if (rv == CKR_OK)
        rv = register_cmk(s, key_id, P11KMS_P11_OBJ_CMK, a->priv, a->npriv, a->ph_priv);
    if (rv == CKR_OK)
        rv = register_cmk(s, key_id, P11KMS_P11_OBJ_CMK_PUBLIC, a->pub, a->npub, a->ph_pub);
done:
    cmk_req_clear(&r);
    return rv;
}

static CK_RV pair_spec(const pair_args *a, p11kms_kms_key_spec *spec)
{
    CK_RV rv = pair_classes(a->pub, a->npub, a->priv, a->npriv);
    if (rv != CKR_OK)
        return rv;
    if (a->mech == CKM_RSA_PKCS_KEY_PAIR_GEN)
        return rsa_spec(a->pub, a->npub, spec);
    return ec_spec(a->pub, a->npub, spec);
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                        CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                        CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    p11kms_p11_session *s = NULL;
    p11kms_kms_key_spec spec = P11KMS_KMS_SPEC_RSA_2048;
    CK_BBOOL token = CK_FALSE;
    pair_args a = {0,
                   pPublicKeyTemplate,
                   pPrivateKeyTemplate,
                   ulPublicKeyAttributeCount,
                   ulPrivateKeyAttributeCount,
                   phPublicKey,
                   phPrivateKey};
    CK_RV rv = p11kms_p11_enter();
    if (rv != CKR_OK)
        return rv;
    rv = p11kms_p11_session_get(hSession, &s);
    if (rv == CKR_OK && (phPublicKey == NULL || phPrivateKey == NULL ||
                         (a.pub == NULL && a.npub > 0) || (a.priv == NULL && a.npriv > 0)))
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = mech_checks(pMechanism, CKF_GENERATE_KEY_PAIR);
    if (rv == CKR_OK)
        rv = p11kms_p11_attr_check_template(a.pub, a.npub);
    if (rv == CKR_OK)
        rv = p11kms_p11_attr_check_template(a.priv, a.npriv);
    if (rv != CKR_OK)
        goto done;
    a.mech = pMechanism->mechanism;
    rv = pair_spec(&a, &spec);
    if (rv == CKR_OK)
        (void)p11kms_p11_attr_bool(a.priv, a.npriv, CKA_TOKEN, &token, &rv);
    if (rv == CKR_OK && !token)
        rv = CKR_TEMPLATE_INCONSISTENT; /* session key pairs: not supported (see manual) */
    if (rv == CKR_OK)
        rv = gen_pair_cmk(s, &a, spec);
done:
    p11kms_p11_leave();
    return rv;
}
