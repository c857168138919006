/*
 * test-mechs.c — mechanisms and the operation state machine: AES-GCM
 * (both CK_GCM_PARAMS layouts), CBC-PAD, RFC 5649 wrap, HMAC, RSA
 * PKCS#1/PSS/OAEP, ECDSA, digests (known answers), the KMS operation
 * objects, and every state rule (length query, buffer too small, errors
 * end operations, OPERATION_ACTIVE / NOT_INITIALIZED, bad handles/params).
 */
#include "config.h"

#include <string.h>

#include "p11-test-util.h"

static CK_BYTE g_iv[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};

static CK_GCM_PARAMS gcm(void)
{
    CK_GCM_PARAMS p = {g_iv, sizeof(g_iv), 96, (CK_BYTE *)"aad", 3, 128};
    return p;
}

START_TEST(test_gcm_state_machine)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE k = p11t_aes_cmk(s, "gcm");
    CK_GCM_PARAMS p = gcm();
    CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
    CK_BYTE pt[] = "attack at dawn", ct[64], back[64];
    CK_ULONG ctlen = 0, blen;
    CKRV(CKR_OPERATION_NOT_INITIALIZED, F->C_Encrypt(s, pt, 14, ct, &ctlen));
    CKRV(CKR_KEY_HANDLE_INVALID, F->C_EncryptInit(s, &m, k + 999));
    CKRV(CKR_SESSION_HANDLE_INVALID, F->C_EncryptInit(s + 999, &m, k));
    CK(F->C_EncryptInit(s, &m, k));
    CKRV(CKR_OPERATION_ACTIVE, F->C_EncryptInit(s, &m, k));
    CK(F->C_Encrypt(s, pt, 14, NULL, &ctlen)); /* length query keeps it */
    ck_assert_uint_eq(ctlen, 14 + 16);
    ctlen = 3;
    CKRV(CKR_BUFFER_TOO_SMALL, F->C_Encrypt(s, pt, 14, ct, &ctlen)); /* keeps it */
    ck_assert_uint_eq(ctlen, 30);
    CK(F->C_Encrypt(s, pt, 14, ct, &ctlen));
    CKRV(CKR_OPERATION_NOT_INITIALIZED, F->C_Encrypt(s, pt, 14, ct, &ctlen)); /* finished */
    CK(F->C_DecryptInit(s, &m, k));
    blen = sizeof(back);
    CK(F->C_Decrypt(s, ct, ctlen, back, &blen));
    ck_assert(blen == 14 && memcmp(back, pt, 14) == 0);
    ct[0] ^= 1; /* tampering is detected and ends the operation */
    CK(F->C_DecryptInit(s, &m, k));
    blen = sizeof(back);
    CKRV(CKR_ENCRYPTED_DATA_INVALID, F->C_Decrypt(s, ct, ctlen, back, &blen));
    CKRV(CKR_OPERATION_NOT_INITIALIZED, F->C_Decrypt(s, ct, ctlen, back, &blen));
    /* bad parameters */
    CK_GCM_PARAMS bad = gcm();
    bad.ulTagBits = 40;
    CK_MECHANISM mb = {CKM_AES_GCM, &bad, sizeof(bad)};
    CKRV(CKR_MECHANISM_PARAM_INVALID, F->C_EncryptInit(s, &mb, k));
    CK_MECHANISM mn = {CKM_AES_GCM, NULL, 0};
    CKRV(CKR_MECHANISM_PARAM_INVALID, F->C_EncryptInit(s, &mn, k));
    CK_MECHANISM md = {CKM_DES3_CBC, NULL, 0};
    CKRV(CKR_MECHANISM_INVALID, F->C_EncryptInit(s, &md, k));
    CKRV(CKR_ARGUMENTS_BAD, F->C_EncryptInit(s, NULL, k));
    /* wrong key type for the mechanism */
    CK_MECHANISM oaep = {CKM_RSA_PKCS_OAEP, NULL, 0};
    CKRV(CKR_MECHANISM_PARAM_INVALID, F->C_EncryptInit(s, &oaep, k));
}
END_TEST

/* CK_GCM_PARAMS without ulIvBits, as some 2.40 headers define it. */
struct gcm_short {
    CK_BYTE_PTR iv;
    CK_ULONG ivlen;
    CK_BYTE_PTR aad;
    CK_ULONG aadlen;
    CK_ULONG tag;
};

START_TEST(test_gcm_multipart_and_layouts)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE k = p11t_aes_cmk(s, "gcm2");
    CK_GCM_PARAMS p = gcm();
    struct gcm_short q = {g_iv, sizeof(g_iv), (CK_BYTE *)"aad", 3, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)}, m2 = {CKM_AES_GCM, &q, sizeof(q)};
    CK_BYTE ct1[64], ct2[64], back[64];
    CK_ULONG l1 = sizeof(ct1), l2 = 0, l3 = sizeof(ct2), bl = sizeof(back);
    CK(F->C_EncryptInit(s, &m, k));
    CK(F->C_Encrypt(s, (CK_BYTE *)"0123456789", 10, ct1, &l1));
    CK(F->C_EncryptInit(s, &m2, k));
    CK(F->C_EncryptUpdate(s, (CK_BYTE *)"01234", 5, ct2, &l2));
    ck_assert_uint_eq(l2, 0);
    CK(F->C_EncryptUpdate(s, (CK_BYTE *)"56789", 5, ct2, &l2));
    CK(F->C_EncryptFinal(s, ct2, &l3));
    ck_assert(l1 == l3 && memcmp(ct1, ct2, l1) == 0); /* same IV/AAD: same output */
    CK(F->C_DecryptInit(s, &m2, k));
    CK(F->C_Decrypt(s, ct1, l1, back, &bl));
    ck_assert(bl == 10 && memcmp(back, "0123456789", 10) == 0);
}
END_TEST

START_TEST(test_cbc_and_wrap)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE k = p11t_aes_cmk(s, "cbc");
    CK_BYTE iv[16] = {0}, ct[64], back[64];
    CK_MECHANISM mechs[] = {{CKM_AES_CBC_PAD, iv, 16},
                            {CKM_AES_KEY_WRAP_PAD, NULL, 0},
                            {CKM_AES_KEY_WRAP_KWP, NULL, 0}};
    for (int i = 0; i < 3; i++) {
        CK_ULONG cl = sizeof(ct), bl = sizeof(back);
        CK(F->C_EncryptInit(s, &mechs[i], k));
        CK(F->C_Encrypt(s, (CK_BYTE *)"twenty bytes of data", 20, ct, &cl));
        ck_assert_uint_eq(cl, i == 0 ? 32 : 32);
        CK(F->C_DecryptInit(s, &mechs[i], k));
        CK(F->C_Decrypt(s, ct, cl, back, &bl));
        ck_assert(bl == 20 && memcmp(back, "twenty bytes of data", 20) == 0);
    }
    CK_MECHANISM shortiv = {CKM_AES_CBC_PAD, iv, 8};
    CKRV(CKR_MECHANISM_PARAM_INVALID, F->C_EncryptInit(s, &shortiv, k));
}
END_TEST

START_TEST(test_digest_kat)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    static const CK_BYTE abc256[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                     0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                     0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                     0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    CK_BYTE out[64];
    CK_ULONG n = 0;
    CK(F->C_DigestInit(s, &m));
    CK(F->C_Digest(s, (CK_BYTE *)"abc", 3, NULL, &n));
    ck_assert_uint_eq(n, 32);
    n = 8;
    CKRV(CKR_BUFFER_TOO_SMALL, F->C_Digest(s, (CK_BYTE *)"abc", 3, out, &n));
    n = sizeof(out);
    CK(F->C_Digest(s, (CK_BYTE *)"abc", 3, out, &n));
    ck_assert(n == 32 && memcmp(out, abc256, 32) == 0);
    CK(F->C_DigestInit(s, &m));
    CK(F->C_DigestUpdate(s, (CK_BYTE *)"a", 1));
    CK(F->C_DigestUpdate(s, (CK_BYTE *)"bc", 2));
    n = sizeof(out);
    CK(F->C_DigestFinal(s, out, &n));
    ck_assert(memcmp(out, abc256, 32) == 0);
    CKRV(CKR_OPERATION_NOT_INITIALIZED, F->C_DigestFinal(s, out, &n));
}
END_TEST

START_TEST(test_hmac)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_BBOOL t = CK_TRUE;
    CK_ULONG len = 32;
    CK_MECHANISM g = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0}, m = {CKM_SHA256_HMAC, NULL, 0};
    CK_ATTRIBUTE tmpl[] = {
        {CKA_TOKEN, &t, 1}, {CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_SIGN, &t, 1}};
    CK_OBJECT_HANDLE k;
    CK_BYTE mac[64];
    CK_ULONG n = sizeof(mac);
    CK(F->C_GenerateKey(s, &g, tmpl, 3, &k));
    CK(F->C_SignInit(s, &m, k));
    CK(F->C_SignUpdate(s, (CK_BYTE *)"hello ", 6));
    CK(F->C_SignUpdate(s, (CK_BYTE *)"world", 5));
    CK(F->C_SignFinal(s, mac, &n));
    ck_assert_uint_eq(n, 32);
    CK(F->C_VerifyInit(s, &m, k));
    CK(F->C_Verify(s, (CK_BYTE *)"hello world", 11, mac, n));
    mac[3] ^= 0x40;
    CK(F->C_VerifyInit(s, &m, k));
    CKRV(CKR_SIGNATURE_INVALID, F->C_Verify(s, (CK_BYTE *)"hello world", 11, mac, n));
    CK_MECHANISM gcmm = {CKM_AES_GCM, NULL, 0};
    (void)gcmm;
}
END_TEST

START_TEST(test_rsa_ec_signatures)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE pub, priv, epub, epriv;
    CK_BYTE sig[512];
    CK_ULONG n;
    CK(p11t_keypair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, "r", 0, &pub, &priv));
    CK(p11t_keypair(s, CKM_EC_KEY_PAIR_GEN, "e", 0, &epub, &epriv));
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    struct {
        CK_MECHANISM m;
        CK_OBJECT_HANDLE k, v;
    } cases[] = {
        {{CKM_SHA256_RSA_PKCS, NULL, 0}, priv, pub},
        {{CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)}, priv, pub},
        {{CKM_ECDSA_SHA256, NULL, 0}, epriv, epub},
    };
    for (int i = 0; i < 3; i++) {
        n = 0;
        CK(F->C_SignInit(s, &cases[i].m, cases[i].k));
        CK(F->C_Sign(s, (CK_BYTE *)"message", 7, NULL, &n));
        CK(F->C_Sign(s, (CK_BYTE *)"message", 7, sig, &n));
        ck_assert_uint_eq(n, i == 2 ? 64 : 256);
        CK(F->C_VerifyInit(s, &cases[i].m, cases[i].v));
        CK(F->C_Verify(s, (CK_BYTE *)"message", 7, sig, n));
        CK(F->C_VerifyInit(s, &cases[i].m, cases[i].v));
        CKRV(CKR_SIGNATURE_INVALID, F->C_Verify(s, (CK_BYTE *)"messagf", 7, sig, n));
    }
    CK_RSA_PKCS_PSS_PARAMS badpss = {CKM_SHA256, CKG_MGF1_SHA256, 20};
    CK_MECHANISM mb = {CKM_SHA256_RSA_PKCS_PSS, &badpss, sizeof(badpss)};
    CKRV(CKR_MECHANISM_PARAM_INVALID, F->C_SignInit(s, &mb, priv));
    CK_MECHANISM ec = {CKM_ECDSA, NULL, 0};
    CKRV(CKR_KEY_TYPE_INCONSISTENT, F->C_SignInit(s, &ec, priv));
    CK(F->C_SignInit(s, &ec, epriv));
    n = sizeof(sig);
    CKRV(CKR_DATA_LEN_RANGE, F->C_Sign(s, (CK_BYTE *)"short", 5, sig, &n));
    CKRV(CKR_OPERATION_NOT_INITIALIZED, F->C_Sign(s, (CK_BYTE *)"short", 5, sig, &n));
    /* CKM_RSA_PKCS signs a DigestInfo; there is no v1.5 decryption */
    CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
    CKRV(CKR_MECHANISM_INVALID, F->C_DecryptInit(s, &raw, priv));
    /* the SO cannot use keys */
    CK(F->C_Logout(s));
    CK(F->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
    CKRV(CKR_KEY_HANDLE_INVALID, F->C_SignInit(s, &cases[0].m, priv));
}
END_TEST

START_TEST(test_oaep)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE pub, priv, spub, spriv;
    CK_RSA_PKCS_OAEP_PARAMS p = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &p, sizeof(p)};
    CK_BYTE ct[512], back[512];
    CK_ULONG cl = sizeof(ct), bl = sizeof(back);
    CK(p11t_keypair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, "dec", 1, &pub, &priv));
    CK(F->C_EncryptInit(s, &m, pub));
    CK(F->C_Encrypt(s, (CK_BYTE *)"secret", 6, ct, &cl));
    ck_assert_uint_eq(cl, 256);
    CK(F->C_DecryptInit(s, &m, priv));
    CK(F->C_Decrypt(s, ct, cl, back, &bl));
    ck_assert(bl == 6 && memcmp(back, "secret", 6) == 0);
    CK(p11t_keypair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, "sig", 0, &spub, &spriv));
    CKRV(CKR_KEY_FUNCTION_NOT_PERMITTED, F->C_DecryptInit(s, &m, spriv));
    CK_RSA_PKCS_OAEP_PARAMS md5 = {CKM_MD5, CKG_MGF1_SHA256, 0, NULL, 0};
    CK_MECHANISM mm = {CKM_RSA_PKCS_OAEP, &md5, sizeof(md5)};
    CKRV(CKR_MECHANISM_PARAM_INVALID, F->C_DecryptInit(s, &mm, priv));
}
END_TEST

static CK_RV run_request(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *h,
                         CK_ULONG *result)
{
    CK_ATTRIBUTE r = {CKA_P11KMS_OP_RESULT_CODE, result, sizeof(*result)};
    CK_RV rv = F->C_CreateObject(s, t, n, h);
    if (rv == CKR_OK)
        rv = F->C_GetAttributeValue(s, *h, &r, 1);
    return rv;
}

START_TEST(test_operation_objects)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    CK_OBJECT_HANDLE k = p11t_aes_cmk(s, "env"), h, h2;
    char kid[40] = "";
    CK_ATTRIBUTE ka = {CKA_P11KMS_KEY_ID, kid, 36};
    CK(F->C_GetAttributeValue(s, k, &ka, 1));
    CK_ULONG cls = CKO_P11KMS_OPERATION, result = 99;
    const char *ctx = "{\"EncryptionContext\":{\"app\":\"test\"}}";
    CK_ATTRIBUTE enc[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_P11KMS_OP_NAME, "Encrypt", 7},
                          {CKA_P11KMS_OP_KEY, kid, 36},
                          {CKA_P11KMS_OP_REQUEST, (void *)ctx, strlen(ctx)},
                          {CKA_P11KMS_OP_PLAINTEXT, "data key", 8}};
    CK(run_request(s, enc, 5, &h, &result));
    ck_assert_uint_eq(result, CKR_OK);
    CK_BYTE blob[1024], pt[64];
    CK_ATTRIBUTE ca = {CKA_P11KMS_OP_RESULT_CIPHERTEXT, blob, sizeof(blob)};
    CK(F->C_GetAttributeValue(s, h, &ca, 1));
    CK_ATTRIBUTE sec = {CKA_P11KMS_OP_PLAINTEXT, pt, sizeof(pt)};
    CKRV(CKR_ATTRIBUTE_SENSITIVE, F->C_GetAttributeValue(s, h, &sec, 1));
    CK(F->C_DestroyObject(s, h));
    CK_ATTRIBUTE dec[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_P11KMS_OP_NAME, "Decrypt", 7},
                          {CKA_P11KMS_OP_REQUEST, (void *)ctx, strlen(ctx)},
                          {CKA_P11KMS_OP_CIPHERTEXT, blob, ca.ulValueLen}};
    CK(run_request(s, dec, 4, &h2, &result));
    ck_assert_uint_eq(result, CKR_OK);
    CK_ATTRIBUTE pa = {CKA_P11KMS_OP_RESULT_PLAINTEXT, pt, sizeof(pt)};
    CK(F->C_GetAttributeValue(s, h2, &pa, 1));
    ck_assert(pa.ulValueLen == 8 && memcmp(pt, "data key", 8) == 0);
    /* a wrong context is an executed request that failed */
    dec[2].pValue = "{\"EncryptionContext\":{\"app\":\"other\"}}";
    dec[2].ulValueLen = strlen(dec[2].pValue);
    CK(run_request(s, dec, 4, &h2, &result));
    ck_assert_uint_ne(result, CKR_OK);
    char err[64] = "";
    CK_ATTRIBUTE ea = {CKA_P11KMS_OP_RESULT_ERROR, err, sizeof(err) - 1};
    CK(F->C_GetAttributeValue(s, h2, &ea, 1));
    ck_assert_str_eq(err, "InvalidCiphertextException");
    CK_ATTRIBUTE unk[] = {enc[0], {CKA_P11KMS_OP_NAME, "Frobnicate", 10}};
    CKRV(CKR_ATTRIBUTE_VALUE_INVALID, F->C_CreateObject(s, unk, 2, &h2));
}
END_TEST

Suite *p11t_suite_mechs(void)
{
    Suite *s = suite_create("mechanisms");
    TCase *t = tcase_create("cmk");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, p11t_setup_token, p11t_teardown);
    tcase_add_test(t, test_gcm_state_machine);
    tcase_add_test(t, test_gcm_multipart_and_layouts);
    tcase_add_test(t, test_cbc_and_wrap);
    tcase_add_test(t, test_digest_kat);
    tcase_add_test(t, test_hmac);
    tcase_add_test(t, test_rsa_ec_signatures);
    tcase_add_test(t, test_oaep);
    tcase_add_test(t, test_operation_objects);
    suite_add_tcase(s, t);
    return s;
}
