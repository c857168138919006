/*
 * client/kms-attr.c — attribute routes for KMS calls, used when a module
 * does not know the operation as a CKO_P11KMS_OPERATION name: CreateKey
 * through C_GenerateKey / C_GenerateKeyPair with the vendor attributes of
 * include/p11kms/pkcs11.h, ListKeys / ListAliases through a token-object
 * search, and the key policy and rotation status through CMK attributes.
 * Every one of these still goes through the module, so policy and audit
 * apply exactly as on the operation route.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/kms-internal.h"
#include "p11kms/pkcs11.h"

#define MAX_OBJECTS 4096

int p11kms_client_kms_find_cmk(const p11kms_client_kms *s, const char *key_id, CK_OBJECT_HANDLE *h,
                               char *key_id_out, p11kms_client_kms_error *err)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    p11kms_client_kms_result d;
    CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_HANDLE found[4];
    CK_ULONG n = 0;
    int ok = 0;
    if (!p11kms_client_kms_describe_key(s, key_id, &d, err))
        return 0;
    const char *id =
        json_string_value(json_object_get(json_object_get(d.json, "KeyMetadata"), "KeyId"));
    CK_ATTRIBUTE t[] = {{CKA_P11KMS_KEY_ID, (void *)id, id ? strlen(id) : 0},
                        {CKA_P11KMS_INCLUDE_PENDING, &yes, sizeof(yes)}};
    if (id == NULL || strlen(id) != 36) {
        p11kms_client_kms_fail(err, "", CKR_GENERAL_ERROR, "DescribeKey gave no KeyId");
        goto done;
    }
    memcpy(key_id_out, id, 37);
    CK_RV rv = f->C_FindObjectsInit(s->session, t, 2);
    if (rv == CKR_OK) {
        rv = f->C_FindObjects(s->session, found, 4, &n);
        (void)f->C_FindObjectsFinal(s->session);
    }
    for (CK_ULONG i = 0; rv == CKR_OK && i < n && !ok; i++) {
        CK_OBJECT_CLASS cls = 0;
        CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
        if (f->C_GetAttributeValue(s->session, found[i], &a, 1) == CKR_OK &&
            (cls == CKO_SECRET_KEY || cls == CKO_PRIVATE_KEY))
            *h = found[i], ok = 1;
    }
    if (!ok)
        p11kms_client_kms_fail(err, "NotFoundException", rv, "no key object for %s", key_id);
done:
    p11kms_client_kms_result_clear(&d);
    return ok;
}

/* ---- CreateKey ---------------------------------------------------------- */

typedef struct gen_spec {
    const char *spec;
    CK_MECHANISM_TYPE mech;
    CK_KEY_TYPE kt;
    CK_ULONG value_len; /* secret keys */
    CK_ULONG bits;      /* RSA */
    const char *oid;    /* EC params (DER OID) */
    size_t oidlen;
} gen_spec;

static const gen_spec g_specs[] = {
    {"SYMMETRIC_DEFAULT", CKM_AES_KEY_GEN, CKK_AES, 32, 0, NULL, 0},
    {"HMAC_256", CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, 32, 0, NULL, 0},
    {"HMAC_384", CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, 48, 0, NULL, 0},
    {"HMAC_512", CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, 64, 0, NULL, 0},
    {"RSA_2048", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 0, 2048, NULL, 0},
    {"RSA_3072", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 0, 3072, NULL, 0},
    {"RSA_4096", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 0, 4096, NULL, 0},
    {"ECC_NIST_P256", CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, 0, "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07",
     10},
    {"ECC_NIST_P384", CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, 0, "\x06\x05\x2b\x81\x04\x00\x22", 7},
    {"ECC_NIST_P521", CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, 0, "\x06\x05\x2b\x81\x04\x00\x23", 7},
};

static const gen_spec *spec_find(const char *name)
{
    for (size_t i = 0; i < sizeof(g_specs) / sizeof(g_specs[0]); i++)
        if (strcmp(g_specs[i].spec, name) == 0)
            return &g_specs[i];
    return NULL;
}

typedef struct gen_tmpl {
    CK_ATTRIBUTE a[16];
    CK_ULONG n;
    CK_BBOOL yes, no;
    CK_OBJECT_CLASS cls;
    CK_ULONG ulong;
} gen_tmpl;

static void add(gen_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, size_t len)
{
    t->a[t->n++] = (CK_ATTRIBUTE){type, (void *)v, len};
}

static void add_str(gen_tmpl *t, CK_ATTRIBUTE_TYPE type, const char *v)
{
    if (v != NULL)
        add(t, type, v, strlen(v));
}

/* The secret-key or private-key template: a never-extractable token key. */
static void cmk_template(gen_tmpl *t, const gen_spec *g, const p11kms_client_kms_create *c)
{
    memset(t, 0, sizeof(*t));
    t->yes = CK_TRUE;
    t->no = CK_FALSE;
    t->cls = g->value_len ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
    add(t, CKA_CLASS, &t->cls, sizeof(t->cls));
    add(t, CKA_TOKEN, &t->yes, sizeof(t->yes));
    add(t, CKA_PRIVATE, &t->yes, sizeof(t->yes));
    add(t, CKA_SENSITIVE, &t->yes, sizeof(t->yes));
    add(t, CKA_EXTRACTABLE, &t->no, sizeof(t->no));
    add_str(t, CKA_P11KMS_KEY_SPEC, g->spec);
    add_str(t, CKA_P11KMS_KEY_USAGE, c->key_usage);
    add_str(t, CKA_P11KMS_DESCRIPTION, c->description);
    add_str(t, CKA_P11KMS_KEY_POLICY, c->policy);
    add_str(t, CKA_P11KMS_ALIAS, c->alias);
    if (g->value_len) {
        t->ulong = g->value_len;
        add(t, CKA_VALUE_LEN, &t->ulong, sizeof(t->ulong));
    }
}

static CK_RV generate(const p11kms_client_kms *s, const gen_spec *g,
                      const p11kms_client_kms_create *c, CK_OBJECT_HANDLE *h)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_MECHANISM m = {g->mech, NULL, 0};
    static const CK_BYTE f4[] = {0x01, 0x00, 0x01};
    CK_OBJECT_CLASS pubcls = CKO_PUBLIC_KEY;
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = g->bits;
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
    gen_tmpl t;
    cmk_template(&t, g, c);
    if (g->value_len)
        return f->C_GenerateKey(s->session, &m, t.a, t.n, h);
    CK_ATTRIBUTE pt[4] = {{CKA_CLASS, &pubcls, sizeof(pubcls)}, {CKA_TOKEN, &yes, 1}};
    CK_ULONG npt = 2;
    if (g->bits) {
        pt[npt++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
        pt[npt++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)f4, sizeof(f4)};
    } else {
        pt[npt++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)g->oid, g->oidlen};
    }
    return f->C_GenerateKeyPair(s->session, &m, pt, npt, t.a, t.n, &pub, h);
}

int p11kms_client_kms_attr_create_key(const p11kms_client_kms *s, const p11kms_client_kms_create *c,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    const char *name = c->key_spec ? c->key_spec : "SYMMETRIC_DEFAULT";
    const gen_spec *g = spec_find(name);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    unsigned char *id = NULL;
    size_t idlen = 0;
    int ok = 0;
    CK_RV rv;
    memset(res, 0, sizeof(*res));
    if (g == NULL)
        return p11kms_client_kms_fail(err, "ValidationException", CKR_ARGUMENTS_BAD,
                                      "unknown KeySpec '%s'", name);
    rv = generate(s, g, c, &h);
    if (rv != CKR_OK) {
        p11kms_client_kms_fail_op(err, "CreateKey", NULL, p11kms_client_kms_exception_of_rv(rv),
                                  rv);
        goto done;
    }
    if (!p11kms_client_kms_attr(s, h, CKA_P11KMS_KEY_ID, &id, &idlen) || idlen != 36) {
        p11kms_client_kms_fail(err, "", CKR_GENERAL_ERROR, "CreateKey: the new key has no id");
        goto done;
    }
    ok = p11kms_client_kms_describe_key(s, (const char *)id, res, err);
done:
    OPENSSL_free(id);
    return ok;
}

/* ---- ListKeys / ListAliases --------------------------------------------- */

static int find_all(const p11kms_client_kms *s, CK_OBJECT_HANDLE **out, CK_ULONG *n,
                    p11kms_client_kms_error *err)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                        {CKA_P11KMS_INCLUDE_PENDING, &yes, sizeof(yes)}};
    CK_RV rv;
    *n = 0;
    *out = OPENSSL_zalloc(MAX_OBJECTS * sizeof(**out));
    if (*out == NULL)
        return p11kms_client_kms_fail(err, "", CKR_HOST_MEMORY, "ListKeys: out of memory");
    rv = f->C_FindObjectsInit(s->session, t, 2);
    if (rv == CKR_OK) {
        rv = f->C_FindObjects(s->session, *out, MAX_OBJECTS, n);
        (void)f->C_FindObjectsFinal(s->session);
    }
    if (rv != CKR_OK) {
        OPENSSL_free(*out);
        *out = NULL;
        return p11kms_client_kms_fail_op(err, "ListKeys", NULL,
                                         p11kms_client_kms_exception_of_rv(rv), rv);
    }
    return 1;
}

/* Adds the key (Keys) or its aliases (Aliases) of object h to arr once. */
static void add_object(const p11kms_client_kms *s, CK_OBJECT_HANDLE h, const char *only,
                       int aliases, json_t *seen, json_t *arr)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_OBJECT_CLASS cls = 0;
    CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
    unsigned char *id = NULL, *al = NULL;
    size_t idlen = 0, allen = 0;
    if (f->C_GetAttributeValue(s->session, h, &a, 1) != CKR_OK ||
        (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY) ||
        !p11kms_client_kms_attr(s, h, CKA_P11KMS_KEY_ID, &id, &idlen) || idlen != 36 ||
        json_object_get(seen, (char *)id) != NULL ||
        (only != NULL && strcmp(only, (char *)id) != 0))
        goto done;
    json_object_set_new(seen, (char *)id, json_true());
    if (!aliases) {
        json_array_append_new(arr, json_pack("{s:s}", "KeyId", (char *)id));
        goto done;
    }
    if (!p11kms_client_kms_attr(s, h, CKA_P11KMS_ALIASES, &al, &allen))
        goto done;
    for (char *save = NULL, *tok = strtok_r((char *)al, "\n", &save); tok != NULL;
         tok = strtok_r(NULL, "\n", &save))
        json_array_append_new(arr,
                              json_pack("{s:s,s:s}", "AliasName", tok, "TargetKeyId", (char *)id));
done:
    OPENSSL_free(id);
    OPENSSL_free(al);
}

int p11kms_client_kms_attr_list_keys(const p11kms_client_kms *s, const char *key_of, int aliases,
                                     p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    CK_OBJECT_HANDLE *hs = NULL, h;
    CK_ULONG n = 0;
    char only[37] = "";
    json_t *seen = json_object(), *arr = json_array();
    int ok = 0;
    memset(res, 0, sizeof(*res));
    if (key_of != NULL && !p11kms_client_kms_find_cmk(s, key_of, &h, only, err))
        goto done;
    if (seen == NULL || arr == NULL || !find_all(s, &hs, &n, err))
        goto done;
    for (CK_ULONG i = 0; i < n; i++)
        add_object(s, hs[i], key_of ? only : NULL, aliases, seen, arr);
    /* One search returns at most MAX_OBJECTS objects; say so rather than hide it. */
    res->json =
        json_pack("{s:O,s:b}", aliases ? "Aliases" : "Keys", arr, "Truncated", n == MAX_OBJECTS);
    ok = res->json != NULL;
done:
    OPENSSL_free(hs);
    json_decref(seen);
    json_decref(arr);
    return ok;
}

/* ---- key policy, rotation status ---------------------------------------- */

int p11kms_client_kms_attr_get_policy(const p11kms_client_kms *s, const char *key_id,
                                      p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    CK_OBJECT_HANDLE h;
    char id[37];
    unsigned char *pol = NULL;
    size_t len = 0;
    memset(res, 0, sizeof(*res));
    if (!p11kms_client_kms_find_cmk(s, key_id, &h, id, err))
        return 0;
    if (!p11kms_client_kms_attr(s, h, CKA_P11KMS_KEY_POLICY, &pol, &len))
        return p11kms_client_kms_fail(err, "AccessDeniedException", CKR_ATTRIBUTE_SENSITIVE,
                                      "GetKeyPolicy: the key policy of %s is not readable", key_id);
    res->json = json_pack("{s:s,s:s}", "Policy", (char *)pol, "PolicyName", "default");
    OPENSSL_free(pol);
    return res->json != NULL ||
           p11kms_client_kms_fail(err, "", CKR_HOST_MEMORY, "GetKeyPolicy: out of memory");
}

int p11kms_client_kms_attr_put_policy(const p11kms_client_kms *s, const char *key_id,
                                      const char *policy, p11kms_client_kms_error *err)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_OBJECT_HANDLE h;
    char id[37];
    CK_ATTRIBUTE a = {CKA_P11KMS_KEY_POLICY, (void *)policy, strlen(policy)};
    if (!p11kms_client_kms_find_cmk(s, key_id, &h, id, err))
        return 0;
    CK_RV rv = f->C_SetAttributeValue(s->session, h, &a, 1);
    if (rv != CKR_OK)
        return p11kms_client_kms_fail_op(err, "PutKeyPolicy", key_id,
                                         p11kms_client_kms_exception_of_rv(rv), rv);
    return 1;
}

static unsigned long attr_ulong(const p11kms_client_kms *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t)
{
    unsigned char *v = NULL;
    size_t len = 0;
    CK_ULONG out = 0;
    if (p11kms_client_kms_attr(s, h, t, &v, &len) && len == sizeof(out))
        memcpy(&out, v, sizeof(out));
    OPENSSL_free(v);
    return out;
}

int p11kms_client_kms_attr_rotation_status(const p11kms_client_kms *s, const char *key_id,
                                           p11kms_client_kms_result *res,
                                           p11kms_client_kms_error *err)
{
    CK_OBJECT_HANDLE h;
    char id[37];
    unsigned char *en = NULL, *next = NULL;
    size_t enlen = 0, nextlen = 0;
    memset(res, 0, sizeof(*res));
    if (!p11kms_client_kms_find_cmk(s, key_id, &h, id, err))
        return 0;
    int enabled = p11kms_client_kms_attr(s, h, CKA_P11KMS_ROTATION_ENABLED, &en, &enlen) &&
                  enlen == 1 && en[0];
    res->json = json_pack("{s:b,s:s}", "KeyRotationEnabled", enabled, "KeyId", id);
    if (res->json != NULL && enabled) {
        json_object_set_new(res->json, "RotationPeriodInDays",
                            json_integer((json_int_t)attr_ulong(s, h, CKA_P11KMS_ROTATION_PERIOD)));
        if (p11kms_client_kms_attr(s, h, CKA_P11KMS_NEXT_ROTATION, &next, &nextlen) && nextlen)
            json_object_set_new(res->json, "NextRotationDate", json_string((char *)next));
    }
    OPENSSL_free(en);
    OPENSSL_free(next);
    return res->json != NULL ||
           p11kms_client_kms_fail(err, "", CKR_HOST_MEMORY, "rotation status: out of memory");
}
