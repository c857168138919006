/*
 * p11-cmk.c — CMKs seen as PKCS#11 token objects.
 *
 * A symmetric or HMAC CMK is one CKO_SECRET_KEY; an asymmetric CMK is a
 * CKO_PRIVATE_KEY plus a CKO_PUBLIC_KEY with the same CKA_ID and label;
 * each old version of a symmetric CMK is a decrypt-only CKO_SECRET_KEY
 * labelled "LABEL#vN" (found only by searches that ask for versions).
 * Attributes are computed from kms.h metadata on each read (cheap and
 * unaudited); the policy (GetKeyPolicy) and the public key (GetPublicKey)
 * are audited kms.h calls, made only when those attributes are asked for.
 *
 * CMKs are never extractable: CKA_EXTRACTABLE false, CKA_NEVER_EXTRACTABLE
 * and CKA_ALWAYS_SENSITIVE true, CKA_VALUE is CKR_ATTRIBUTE_SENSITIVE.
 * Writable vendor attributes map to KMS management calls (policy-checked,
 * audited).  C_SetAttributeValue applies a template in order and stops at
 * the first failure: earlier changes stay (each is its own KMS call).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "pkcs11/p11-internal.h"

typedef struct cmk_view {
    p11kms_p11_object *obj;
    p11kms_kms_key_meta *m;
    p11kms_p11_attrs *out;
    CK_RV rv;
} cmk_view;

static void put(cmk_view *v, CK_ATTRIBUTE_TYPE t, const void *val, size_t len)
{
    if (v->rv == CKR_OK)
        v->rv = p11kms_p11_attrs_set(v->out, t, val, (CK_ULONG)len);
}

static void put_bool(cmk_view *v, CK_ATTRIBUTE_TYPE t, int b)
{
    CK_BBOOL x = b ? CK_TRUE : CK_FALSE;
    put(v, t, &x, sizeof(x));
}

static void put_ulong(cmk_view *v, CK_ATTRIBUTE_TYPE t, CK_ULONG x)
{
    put(v, t, &x, sizeof(x));
}

static void put_str(cmk_view *v, CK_ATTRIBUTE_TYPE t, const char *s)
{
    put(v, t, s, s ? strlen(s) : 0);
}

static void put_date(cmk_view *v, CK_ATTRIBUTE_TYPE t, int64_t ms)
{
    char buf[P11KMS_ISO8601_BUF_SIZE] = "";
    if (ms > 0 && !p11kms_time_format_iso8601(ms, buf))
        buf[0] = '\0';
    put_str(v, t, buf);
}

static int is_symmetric(p11kms_kms_key_spec s)
{
    return s == P11KMS_KMS_SPEC_SYMMETRIC_DEFAULT;
}

static int is_hmac(p11kms_kms_key_spec s)
{
    return s == P11KMS_KMS_SPEC_HMAC_256 || s == P11KMS_KMS_SPEC_HMAC_384 ||
           s == P11KMS_KMS_SPEC_HMAC_512;
}

static int is_rsa(p11kms_kms_key_spec s)
{
    return s == P11KMS_KMS_SPEC_RSA_2048 || s == P11KMS_KMS_SPEC_RSA_3072 ||
           s == P11KMS_KMS_SPEC_RSA_4096;
}

static CK_ULONG hmac_len(p11kms_kms_key_spec s)
{
    return s == P11KMS_KMS_SPEC_HMAC_512 ? 64 : s == P11KMS_KMS_SPEC_HMAC_384 ? 48 : 32;
}

/* CKA_LABEL: the application's label, else the first alias, else the key id. */
static void put_label_id(cmk_view *v)
{
    const p11kms_kms_key_meta *m = v->m;
    char buf[512];
    const char *base = m->first_alias ? m->first_alias : m->key_id;
    if (m->app_label != NULL && m->app_label_len > 0 && m->app_label_len < 256)
        snprintf(buf, sizeof(buf), "%.*s", (int)m->app_label_len, (const char *)m->app_label);
    else
        snprintf(buf, sizeof(buf), "%s", base);
    if (v->obj->kind == P11KMS_P11_OBJ_CMK_VERSION) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof(buf) - n, "#v%u", v->obj->version);
    }
    put_str(v, CKA_LABEL, buf);
    if (v->obj->kind == P11KMS_P11_OBJ_CMK_VERSION) {
        snprintf(buf, sizeof(buf), "%s#v%u", m->key_id, v->obj->version);
        put_str(v, CKA_ID, buf);
    } else if (m->app_id != NULL && m->app_id_len > 0) {
        put(v, CKA_ID, m->app_id, m->app_id_len);
    } else {
        put_str(v, CKA_ID, m->key_id);
    }
}

static void put_vendor(cmk_view *v)
{
    const p11kms_kms_key_meta *m = v->m;
    int ver = v->obj->kind == P11KMS_P11_OBJ_CMK_VERSION;
    put_str(v, CKA_P11KMS_KEY_ID, m->key_id);
    put_str(v, CKA_P11KMS_KEY_STATE, p11kms_kms_state_name(m->state));
    put_str(v, CKA_P11KMS_KEY_SPEC, p11kms_kms_spec_name(m->spec));
    put_str(v, CKA_P11KMS_KEY_USAGE, p11kms_kms_usage_name(m->usage));
    put_str(v, CKA_P11KMS_KEY_MANAGER, p11kms_kms_manager_name(m->manager));
    put_ulong(v, CKA_P11KMS_CURRENT_VERSION, m->current_version);
    put_bool(v, CKA_P11KMS_ROTATION_ENABLED, m->rotation_enabled);
    put_ulong(v, CKA_P11KMS_ROTATION_PERIOD, m->rotation_period_days);
    put_date(v, CKA_P11KMS_NEXT_ROTATION, m->next_rotation_ms);
    put_date(v, CKA_P11KMS_DELETION_DATE, m->deletion_date_ms);
    put_date(v, CKA_P11KMS_CREATION_DATE, m->creation_date_ms);
    put_str(v, CKA_P11KMS_DESCRIPTION, m->description ? m->description : "");
    put_ulong(v, CKA_P11KMS_KEY_VERSION, ver ? v->obj->version : m->current_version);
    put_bool(v, CKA_P11KMS_VERSION_OBJECT, ver);
}

static void put_common(cmk_view *v, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, CK_MECHANISM_TYPE gen)
{
    put_ulong(v, CKA_CLASS, cls);
    put_ulong(v, CKA_KEY_TYPE, kt);
    put_bool(v, CKA_TOKEN, 1);
    put_bool(v, CKA_PRIVATE, cls != CKO_PUBLIC_KEY);
    put_bool(v, CKA_MODIFIABLE, v->obj->kind != P11KMS_P11_OBJ_CMK_VERSION);
    put_bool(v, CKA_COPYABLE, 0);
    put_bool(v, CKA_DESTROYABLE, v->obj->kind != P11KMS_P11_OBJ_CMK_VERSION);
    put_bool(v, CKA_LOCAL, v->m->origin == P11KMS_KMS_ORIGIN_P11KMS);
    put_ulong(v, CKA_KEY_GEN_MECHANISM, gen);
    put_bool(v, CKA_DERIVE, 0);
    put(v, CKA_START_DATE, "", 0);
    put(v, CKA_END_DATE, "", 0);
    put_label_id(v);
    put_vendor(v);
}

static void put_secret_flags(cmk_view *v)
{
    put_bool(v, CKA_SENSITIVE, !v->obj->not_sensitive);
    put_bool(v, CKA_EXTRACTABLE, 0);
    put_bool(v, CKA_ALWAYS_SENSITIVE, 1);
    put_bool(v, CKA_NEVER_EXTRACTABLE, 1);
    put_bool(v, CKA_WRAP_WITH_TRUSTED, 0);
}

static void secret_view(cmk_view *v)
{
    const p11kms_kms_key_meta *m = v->m;
    int sym = is_symmetric(m->spec), cur = v->obj->kind == P11KMS_P11_OBJ_CMK;
    int usable = 1; /* state is checked by kms.h at use, with its own error */
    put_common(v, CKO_SECRET_KEY, sym ? CKK_AES : CKK_GENERIC_SECRET,
               sym ? CKM_AES_KEY_GEN : CKM_GENERIC_SECRET_KEY_GEN);
    put_secret_flags(v);
    put_ulong(v, CKA_VALUE_LEN, sym ? 32 : hmac_len(m->spec));
    put_bool(v, CKA_ENCRYPT, sym && cur && usable);
    put_bool(v, CKA_WRAP, sym && cur && usable);
    put_bool(v, CKA_DECRYPT, sym && usable);
    put_bool(v, CKA_UNWRAP, sym && usable);
    put_bool(v, CKA_SIGN, is_hmac(m->spec) && usable);
    put_bool(v, CKA_VERIFY, is_hmac(m->spec) && usable);
    put_bool(v, CKA_TRUSTED, 0);
}

static void pair_view(cmk_view *v, int priv)
{
    const p11kms_kms_key_meta *m = v->m;
    int rsa = is_rsa(m->spec), usable = 1; /* state: checked at use */
    int sign = m->usage == P11KMS_KMS_USAGE_SIGN_VERIFY && usable;
    int enc = m->usage == P11KMS_KMS_USAGE_ENCRYPT_DECRYPT && usable;
    put_common(v, priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY, rsa ? CKK_RSA : CKK_EC,
               rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN);
    put(v, CKA_SUBJECT, "", 0);
    if (priv) {
        put_secret_flags(v);
        put_bool(v, CKA_SIGN, sign);
        put_bool(v, CKA_DECRYPT, enc);
        put_bool(v, CKA_SIGN_RECOVER, 0);
        put_bool(v, CKA_UNWRAP, 0);
        put_bool(v, CKA_ALWAYS_AUTHENTICATE, 0);
    } else {
        put_bool(v, CKA_VERIFY, sign);
        put_bool(v, CKA_ENCRYPT, enc);
        put_bool(v, CKA_VERIFY_RECOVER, 0);
        put_bool(v, CKA_WRAP, 0);
        put_bool(v, CKA_TRUSTED, 0);
    }
}

static int wants_any(const CK_ATTRIBUTE *want, CK_ULONG n, const CK_ATTRIBUTE_TYPE *types,
                     size_t nt)
{
    for (CK_ULONG i = 0; i < n; i++)
        for (size_t j = 0; j < nt; j++)
            if (want[i].type == types[j])
                return 1;
    return 0;
}

static void public_view(cmk_view *v, const CK_ATTRIBUTE *want, CK_ULONG n)
{
    static const CK_ATTRIBUTE_TYPE pub[] = {CKA_MODULUS,      CKA_PUBLIC_EXPONENT,
                                            CKA_MODULUS_BITS, CKA_EC_PARAMS,
                                            CKA_EC_POINT,     CKA_PUBLIC_KEY_INFO};
    const unsigned char *spki = NULL;
    size_t len = 0;
    if (v->rv != CKR_OK || !wants_any(want, n, pub, sizeof(pub) / sizeof(pub[0])))
        return;
    v->rv = p11kms_p11_cmk_spki(v->obj, &spki, &len);
    if (v->rv == CKR_OK)
        v->rv = p11kms_p11_pubkey_attrs_from_spki(spki, len, v->out);
}

static void policy_view(cmk_view *v, const CK_ATTRIBUTE *want, CK_ULONG n)
{
    static const CK_ATTRIBUTE_TYPE t[] = {CKA_P11KMS_KEY_POLICY};
    char *json = NULL;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(v->obj->slot);
    if (v->rv != CKR_OK || !wants_any(want, n, t, 1))
        return;
    p11kms_kms_rc rc = p11kms_kms_get_key_policy(slot->kms, p11kms_p11_caller(), v->obj->kkey, NULL,
                                                 "default", &json);
    if (rc == P11KMS_KMS_OK)
        put_str(v, CKA_P11KMS_KEY_POLICY, json);
    /* Without kms:GetKeyPolicy the attribute is simply unavailable. */
    free(json);
}

static void aliases_view(cmk_view *v, const CK_ATTRIBUTE *want, CK_ULONG n)
{
    static const CK_ATTRIBUTE_TYPE t[] = {CKA_P11KMS_ALIASES};
    p11kms_kms_alias_list l = {0};
    p11kms_p11_slot *slot = p11kms_p11_slot_get(v->obj->slot);
    if (v->rv != CKR_OK || !wants_any(want, n, t, 1))
        return;
    if (p11kms_kms_list_aliases(slot->kms, p11kms_p11_caller(), v->m->key_id, 100, NULL, &l) ==
        P11KMS_KMS_OK) {
        size_t total = 1;
        for (size_t i = 0; i < l.n; i++)
            total += strlen(l.entries[i].alias_name) + 1;
        char *buf = calloc(1, total);
        for (size_t i = 0; buf != NULL && i < l.n; i++) {
            if (i > 0)
                strcat(buf, "\n");
            strcat(buf, l.entries[i].alias_name);
        }
        if (buf != NULL)
            put_str(v, CKA_P11KMS_ALIASES, buf);
        free(buf);
    }
    p11kms_kms_alias_list_clear(&l);
}

CK_RV p11kms_p11_cmk_attrs(p11kms_p11_object *obj, const CK_ATTRIBUTE *want, CK_ULONG nwant,
                           p11kms_p11_attrs *out)
{
    p11kms_kms_key_meta m;
    memset(&m, 0, sizeof(m));
    CK_RV rv = p11kms_p11_cmk_view(obj, want, nwant, out, &m);
    p11kms_kms_key_meta_clear(&m);
    return rv;
}

/* The attribute view plus the metadata it was built from (caller clears *m). */
CK_RV p11kms_p11_cmk_view(p11kms_p11_object *obj, const CK_ATTRIBUTE *want, CK_ULONG nwant,
                          p11kms_p11_attrs *out, p11kms_kms_key_meta *mout)
{
    p11kms_kms_key_meta m;
    p11kms_kms_key *kkey = NULL;
    memset(&m, 0, sizeof(m));
    cmk_view v = {obj, &m, out, p11kms_p11_object_kkey(obj, &kkey)};
    p11kms_p11_slot *slot = p11kms_p11_slot_get(obj->slot);
    if (v.rv != CKR_OK)
        goto done;
    v.rv =
        p11kms_p11_rv_from_kms(p11kms_kms_key_meta_get(slot->kms, kkey, &m), P11KMS_P11_CTX_OBJECT);
    if (v.rv != CKR_OK)
        goto done;
    if (obj->kind == P11KMS_P11_OBJ_CMK && (is_symmetric(m.spec) || is_hmac(m.spec)))
        secret_view(&v);
    else if (obj->kind == P11KMS_P11_OBJ_CMK_VERSION)
        secret_view(&v);
    else
        pair_view(&v, obj->kind == P11KMS_P11_OBJ_CMK);
    if (obj->kind != P11KMS_P11_OBJ_CMK_VERSION && !is_symmetric(m.spec) && !is_hmac(m.spec))
        public_view(&v, want, nwant);
    policy_view(&v, want, nwant);
    aliases_view(&v, want, nwant);
done:
    *mout = m; /* ownership moves to the caller */
    return v.rv;
}

CK_RV p11kms_p11_cmk_spki(p11kms_p11_object *obj, const unsigned char **spki, size_t *len)
{
    p11kms_kms_public_key pk;
    p11kms_kms_key *kkey = NULL;
    CK_RV rv = CKR_OK;
    memset(&pk, 0, sizeof(pk));
    if (obj->spki != NULL)
        goto done;
    rv = p11kms_p11_object_kkey(obj, &kkey);
    if (rv != CKR_OK)
        goto done;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(obj->slot);
    rv = p11kms_p11_rv_from_kms(
        p11kms_kms_get_public_key(slot->kms, p11kms_p11_caller(), kkey, NULL, &pk),
        P11KMS_P11_CTX_OBJECT);
    if (rv != CKR_OK)
        goto done;
    obj->spki = pk.spki.data; /* take ownership */
    obj->spki_len = pk.spki.len;
    pk.spki.data = NULL;
done:
    p11kms_kms_bytes_clear(&pk.spki);
    *spki = obj->spki;
    *len = obj->spki_len;
    return rv;
}

CK_RV p11kms_p11_cmk_destroy(p11kms_p11_object *obj)
{
    p11kms_kms_key *kkey = NULL;
    CK_RV rv = p11kms_p11_object_kkey(obj, &kkey);
    if (rv != CKR_OK)
        return rv;
    p11kms_p11_slot *slot = p11kms_p11_slot_get(obj->slot);
    return p11kms_p11_rv_from_kms(
        p11kms_kms_schedule_key_deletion(slot->kms, p11kms_p11_caller(), kkey, NULL, 0, NULL),
        P11KMS_P11_CTX_OBJECT);
}
