/*
 * test-objects.c — CMKs as objects (attributes, vendor attributes,
 * never-extractable rules), key generation templates, searches, deletion
 * and session objects.
 */
#include "config.h"

#include <string.h>

#include "p11-test-util.h"

static CK_BBOOL get_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t)
{
    CK_BBOOL b = 2;
    CK_ATTRIBUTE a = {t, &b, sizeof(b)};
    CK(F->C_GetAttributeValue(s, h, &a, 1));
    return b;
}

START_TEST(test_aes_cmk_attributes)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE h = p11t_aes_cmk(s, "aes-one");
    char kid[64] = "", state[32] = "", label[64] = "";
    CK_BYTE value[32];
    CK_ULONG cls = 0, kt = 0, vl = 0;
    CK_ATTRIBUTE a[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE_LEN, &vl, sizeof(vl)},
        {CKA_P11KMS_KEY_ID, kid, sizeof(kid) - 1},
        {CKA_P11KMS_KEY_STATE, state, sizeof(state) - 1},
        {CKA_LABEL, label, sizeof(label) - 1},
    };
    CK(F->C_GetAttributeValue(s, h, a, 6));
    ck_assert_uint_eq(cls, CKO_SECRET_KEY);
    ck_assert_uint_eq(kt, CKK_AES);
    ck_assert_uint_eq(vl, 32);
    ck_assert_uint_eq(a[3].ulValueLen, 36);
    ck_assert_str_eq(state, "Enabled");
    ck_assert_str_eq(label, "aes-one");
    ck_assert_int_eq(get_bool(s, h, CKA_EXTRACTABLE), CK_FALSE);
    ck_assert_int_eq(get_bool(s, h, CKA_NEVER_EXTRACTABLE), CK_TRUE);
    ck_assert_int_eq(get_bool(s, h, CKA_SENSITIVE), CK_TRUE);
    ck_assert_int_eq(get_bool(s, h, CKA_TOKEN), CK_TRUE);
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    CKRV(CKR_ATTRIBUTE_SENSITIVE, F->C_GetAttributeValue(s, h, &v, 1));
    ck_assert_uint_eq(v.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    CK_ATTRIBUTE bad = {CKA_MODULUS, NULL, 0};
    CKRV(CKR_ATTRIBUTE_TYPE_INVALID, F->C_GetAttributeValue(s, h, &bad, 1));
    CK_ATTRIBUTE small = {CKA_LABEL, label, 2};
    CKRV(CKR_BUFFER_TOO_SMALL, F->C_GetAttributeValue(s, h, &small, 1));
    CKRV(CKR_OBJECT_HANDLE_INVALID, F->C_GetAttributeValue(s, h + 7777, a, 1));
}
END_TEST

START_TEST(test_keygen_templates)
{
    CK_SESSION_HANDLE s = p11t_user_session(), ro;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ULONG len = 32, len16 = 16;
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_HANDLE h;
    /* pkcs11-tool --keygen AES:32: sensitive false, private false */
    CK_ATTRIBUTE tool[] = {
        {CKA_TOKEN, &t, 1},
        {CKA_SENSITIVE, &f, 1},
        {CKA_EXTRACTABLE, &f, 1},
        {CKA_PRIVATE, &f, 1},
        {CKA_ENCRYPT, &t, 1},
        {CKA_DECRYPT, &t, 1},
        {CKA_VALUE_LEN, &len, sizeof(len)},
    };
    CK(F->C_GenerateKey(s, &m, tool, 7, &h));
    ck_assert_int_eq(get_bool(s, h, CKA_SENSITIVE), CK_FALSE);
    CK_BYTE value[32];
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    CKRV(CKR_ATTRIBUTE_SENSITIVE, F->C_GetAttributeValue(s, h, &v, 1));
    CK_ATTRIBUTE extr[] = {
        {CKA_TOKEN, &t, 1}, {CKA_EXTRACTABLE, &t, 1}, {CKA_VALUE_LEN, &len, sizeof(len)}};
    CKRV(CKR_ATTRIBUTE_VALUE_INVALID, F->C_GenerateKey(s, &m, extr, 3, &h));
    CK_ATTRIBUTE a128[] = {{CKA_TOKEN, &t, 1}, {CKA_VALUE_LEN, &len16, sizeof(len16)}};
    CKRV(CKR_KEY_SIZE_RANGE, F->C_GenerateKey(s, &m, a128, 2, &h));
    CKRV(CKR_TEMPLATE_INCOMPLETE, F->C_GenerateKey(s, &m, a128, 1, &h));
    CK_MECHANISM bad = {CKM_DES_KEY_GEN, NULL, 0};
    CKRV(CKR_MECHANISM_INVALID, F->C_GenerateKey(s, &bad, tool, 7, &h));
    CK_MECHANISM withp = {CKM_AES_KEY_GEN, &len, sizeof(len)};
    CKRV(CKR_MECHANISM_PARAM_INVALID, F->C_GenerateKey(s, &withp, tool, 7, &h));
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
    CKRV(CKR_SESSION_READ_ONLY, F->C_GenerateKey(ro, &m, tool, 7, &h));
    /* a session AES-128 key works (module memory) */
    CK(F->C_GenerateKey(ro, &m, a128 + 1, 1, &h));
    ck_assert_int_eq(get_bool(ro, h, CKA_TOKEN), CK_FALSE);
}
END_TEST

START_TEST(test_keypairs)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE pub, priv;
    CK_BYTE mod[600], id1[64], id2[64];
    CK_ULONG bits = 0;
    CK(p11t_keypair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, "rsa", 0, &pub, &priv));
    CK_ATTRIBUTE a[] = {{CKA_MODULUS, mod, sizeof(mod)},
                        {CKA_MODULUS_BITS, &bits, sizeof(bits)},
                        {CKA_ID, id1, sizeof(id1)}};
    CK(F->C_GetAttributeValue(s, pub, a, 3));
    ck_assert_uint_eq(a[0].ulValueLen, 256);
    ck_assert_uint_eq(bits, 2048);
    CK_ATTRIBUTE b = {CKA_ID, id2, sizeof(id2)};
    CK(F->C_GetAttributeValue(s, priv, &b, 1));
    ck_assert_uint_eq(a[2].ulValueLen, b.ulValueLen);
    ck_assert(memcmp(id1, id2, b.ulValueLen) == 0);
    ck_assert_int_eq(get_bool(s, priv, CKA_SIGN), CK_TRUE);
    ck_assert_int_eq(get_bool(s, priv, CKA_DECRYPT), CK_FALSE); /* KMS: one usage */
    CK(p11t_keypair(s, CKM_EC_KEY_PAIR_GEN, "ec", 0, &pub, &priv));
    CK_BYTE point[200];
    CK_ATTRIBUTE p = {CKA_EC_POINT, point, sizeof(point)};
    CK(F->C_GetAttributeValue(s, pub, &p, 1));
    ck_assert_uint_eq(p.ulValueLen, 67); /* 04 41 04 X Y */
    CK(p11t_keypair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, "rsa-dec", 1, &pub, &priv));
    ck_assert_int_eq(get_bool(s, priv, CKA_DECRYPT), CK_TRUE);
}
END_TEST

START_TEST(test_find_and_destroy)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE h1 = p11t_aes_cmk(s, "find-a"), h2 = p11t_aes_cmk(s, "find-b"), out[8];
    CK_ULONG cls = CKO_SECRET_KEY, n;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE byl = {CKA_LABEL, "find-b", 6};
    CK_ATTRIBUTE byc = {CKA_CLASS, &cls, sizeof(cls)};
    n = p11t_find(s, &byl, 1, out, 8);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], h2);
    n = p11t_find(s, &byc, 1, out, 8);
    ck_assert_uint_eq(n, 2);
    CKRV(CKR_OPERATION_NOT_INITIALIZED, F->C_FindObjects(s, out, 8, &n));
    CKRV(CKR_OPERATION_NOT_INITIALIZED, F->C_FindObjectsFinal(s));
    CK(F->C_FindObjectsInit(s, NULL, 0));
    CKRV(CKR_OPERATION_ACTIVE, F->C_FindObjectsInit(s, NULL, 0));
    CKRV(CKR_ARGUMENTS_BAD, F->C_FindObjects(s, NULL, 8, &n));
    CK(F->C_FindObjectsFinal(s));
    CK(F->C_DestroyObject(s, h1));
    n = p11t_find(s, &byc, 1, out, 8);
    ck_assert_uint_eq(n, 1);
    CKRV(CKR_OBJECT_HANDLE_INVALID, F->C_DestroyObject(s, h1));
    CK_ATTRIBUTE pend[] = {byc, {CKA_P11KMS_INCLUDE_PENDING, &t, 1}};
    n = p11t_find(s, pend, 2, out, 8);
    ck_assert_uint_eq(n, 2);
    char state[32] = "";
    for (CK_ULONG i = 0; i < n; i++) {
        CK_ATTRIBUTE st = {CKA_P11KMS_KEY_STATE, state, sizeof(state) - 1};
        CK(F->C_GetAttributeValue(s, out[i], &st, 1));
        state[st.ulValueLen] = 0;
        if (out[i] != h2)
            ck_assert_str_eq(state, "PendingDeletion");
    }
    /* logged out: private objects are invisible */
    CK(F->C_Logout(s));
    n = p11t_find(s, &byc, 1, out, 8);
    ck_assert_uint_eq(n, 0);
    CKRV(CKR_OBJECT_HANDLE_INVALID, F->C_GetAttributeValue(s, h2, &byl, 1));
}
END_TEST

START_TEST(test_vendor_management)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE h = p11t_aes_cmk(s, "mgmt"), out[8];
    char buf[8192];
    CK_BBOOL t = CK_TRUE;
    CK_ULONG ver = 0, n;
    CK_ATTRIBUTE d = {CKA_P11KMS_DESCRIPTION, "payroll key", 11};
    CK(F->C_SetAttributeValue(s, h, &d, 1));
    CK_ATTRIBUTE r = {CKA_P11KMS_DESCRIPTION, buf, sizeof(buf)};
    CK(F->C_GetAttributeValue(s, h, &r, 1));
    ck_assert(r.ulValueLen == 11 && memcmp(buf, "payroll key", 11) == 0);
    CK_ATTRIBUTE dis = {CKA_P11KMS_KEY_STATE, "Disabled", 8};
    CK(F->C_SetAttributeValue(s, h, &dis, 1));
    CK_ATTRIBUTE en = {CKA_P11KMS_KEY_STATE, "Enabled", 7};
    CK(F->C_SetAttributeValue(s, h, &en, 1));
    CK_ATTRIBUTE pol = {CKA_P11KMS_KEY_POLICY, buf, sizeof(buf)};
    CK(F->C_GetAttributeValue(s, h, &pol, 1));
    ck_assert(strstr(buf, "2012-10-17") != NULL);
    CK_ATTRIBUTE lab = {CKA_LABEL, "other", 5};
    CKRV(CKR_ATTRIBUTE_READ_ONLY, F->C_SetAttributeValue(s, h, &lab, 1));
    CK_ATTRIBUTE rot = {CKA_P11KMS_ROTATE_NOW, &t, 1};
    CK(F->C_SetAttributeValue(s, h, &rot, 1));
    CK_ATTRIBUTE cv = {CKA_P11KMS_CURRENT_VERSION, &ver, sizeof(ver)};
    CK(F->C_GetAttributeValue(s, h, &cv, 1));
    ck_assert_uint_eq(ver, 2);
    /* the old version is an object of its own, only when asked for */
    CK_ATTRIBUTE vq[] = {{CKA_LABEL, "mgmt#v1", 7}, {CKA_P11KMS_VERSION_OBJECT, &t, 1}};
    n = p11t_find(s, vq, 2, out, 8);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(get_bool(s, out[0], CKA_ENCRYPT), CK_FALSE);
    ck_assert_int_eq(get_bool(s, out[0], CKA_DECRYPT), CK_TRUE);
    n = p11t_find(s, vq, 1, out, 8);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_session_objects)
{
    CK_SESSION_HANDLE s = p11t_user_session(), s2;
    CK_ULONG cls = CKO_DATA, n;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_OBJECT_HANDLE h, h2, out[4];
    CK_ATTRIBUTE data[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, "note", 4},
                           {CKA_VALUE, "hello", 5},
                           {CKA_TOKEN, &f, 1}};
    CK(F->C_CreateObject(s, data, 4, &h));
    char buf[16];
    CK_ATTRIBUTE v = {CKA_VALUE, buf, sizeof(buf)};
    CK(F->C_GetAttributeValue(s, h, &v, 1));
    ck_assert(v.ulValueLen == 5 && memcmp(buf, "hello", 5) == 0);
    CK_ATTRIBUTE nl = {CKA_LABEL, "memo", 4};
    CK(F->C_SetAttributeValue(s, h, &nl, 1));
    CK_ATTRIBUTE cl = {CKA_CLASS, &cls, sizeof(cls)};
    CKRV(CKR_ATTRIBUTE_READ_ONLY, F->C_SetAttributeValue(s, h, &cl, 1));
    CK(F->C_CopyObject(s, h, &nl, 1, &h2));
    n = p11t_find(s, &nl, 1, out, 4);
    ck_assert_uint_eq(n, 2);
    CK(F->C_DestroyObject(s, h2));
    CK_ATTRIBUTE tok[] = {data[0], {CKA_TOKEN, &t, 1}};
    CKRV(CKR_ATTRIBUTE_VALUE_INVALID, F->C_CreateObject(s, tok, 2, &h2));
    CKRV(CKR_TEMPLATE_INCOMPLETE, F->C_CreateObject(s, data + 1, 1, &h2));
    CK_ULONG sk = CKO_SECRET_KEY, aes = CKK_AES;
    CK_BYTE key[16] = {1, 2, 3};
    CK_ATTRIBUTE sec[] = {{CKA_CLASS, &sk, sizeof(sk)},
                          {CKA_KEY_TYPE, &aes, sizeof(aes)},
                          {CKA_VALUE, key, sizeof(key)},
                          {CKA_SENSITIVE, &t, 1}};
    CK(F->C_CreateObject(s, sec, 4, &h2));
    CKRV(CKR_ATTRIBUTE_SENSITIVE, F->C_GetAttributeValue(s, h2, &v, 1));
    /* session objects die with their session */
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s2));
    CK(F->C_CloseSession(s));
    CKRV(CKR_OBJECT_HANDLE_INVALID, F->C_GetAttributeValue(s2, h, &v, 1));
    CK_ULONG size = 0;
    CKRV(CKR_OBJECT_HANDLE_INVALID, F->C_GetObjectSize(s2, h, &size));
}
END_TEST

Suite *p11t_suite_objects(void)
{
    Suite *s = suite_create("objects");
    TCase *t = tcase_create("cmk");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, p11t_setup_token, p11t_teardown);
    tcase_add_test(t, test_aes_cmk_attributes);
    tcase_add_test(t, test_keygen_templates);
    tcase_add_test(t, test_keypairs);
    tcase_add_test(t, test_find_and_destroy);
    tcase_add_test(t, test_vendor_management);
    tcase_add_test(t, test_session_objects);
    suite_add_tcase(s, t);
    return s;
}
