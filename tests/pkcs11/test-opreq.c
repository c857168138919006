/*
 * test-opreq.c — the operation-object route (CKO_P11KMS_OPERATION) for
 * the key, signature, MAC, random, policy, grant and rotation calls: each
 * operation once on success and once per error class, read back as a
 * client (tools/, client/) does: result code, exception name, JSON, bytes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/pkcs11/p11-test-util.h"

typedef struct op_out {
    CK_OBJECT_HANDLE h;
    CK_ULONG result;
    char error[96];
    char json[4096];
} op_out;

/* Runs one operation; ck-asserts that C_CreateObject executed it. */
static void op(CK_SESSION_HANDLE s, const char *name, const char *key, const char *req,
               const void *in, CK_ULONG in_len, const void *sig, CK_ULONG sig_len, op_out *o)
{
    CK_ULONG cls = CKO_P11KMS_OPERATION, n = 2;
    CK_ATTRIBUTE t[6] = {{CKA_CLASS, &cls, sizeof(cls)},
                         {CKA_P11KMS_OP_NAME, (void *)name, strlen(name)}};
    if (key)
        t[n++] = (CK_ATTRIBUTE){CKA_P11KMS_OP_KEY, (void *)key, strlen(key)};
    if (req)
        t[n++] = (CK_ATTRIBUTE){CKA_P11KMS_OP_REQUEST, (void *)req, strlen(req)};
    if (in)
        t[n++] = (CK_ATTRIBUTE){CKA_P11KMS_OP_PLAINTEXT, (void *)in, in_len};
    if (sig)
        t[n++] = (CK_ATTRIBUTE){CKA_P11KMS_OP_SIGNATURE, (void *)sig, sig_len};
    memset(o, 0, sizeof(*o));
    CK(F->C_CreateObject(s, t, n, &o->h));
    CK_ATTRIBUTE r[3] = {{CKA_P11KMS_OP_RESULT_CODE, &o->result, sizeof(o->result)},
                         {CKA_P11KMS_OP_RESULT_ERROR, o->error, sizeof(o->error) - 1},
                         {CKA_P11KMS_OP_RESULT_JSON, o->json, sizeof(o->json) - 1}};
    CK(F->C_GetAttributeValue(s, o->h, r, 3));
}

static void op_ok(CK_SESSION_HANDLE s, const char *name, const char *key, const char *req,
                  op_out *o)
{
    op(s, name, key, req, NULL, 0, NULL, 0, o);
    ck_assert_msg(o->result == CKR_OK, "%s: %s", name, o->error);
}

static void op_fails(CK_SESSION_HANDLE s, const char *name, const char *key, const char *req,
                     const char *exception)
{
    op_out o;
    op(s, name, key, req, NULL, 0, NULL, 0, &o);
    ck_assert_uint_ne(o.result, CKR_OK);
    ck_assert_str_eq(o.error, exception);
}

static CK_ULONG read_bytes(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t,
                           CK_BYTE *buf, CK_ULONG cap)
{
    CK_ATTRIBUTE a = {t, buf, cap};
    CK(F->C_GetAttributeValue(s, h, &a, 1));
    return a.ulValueLen;
}

/* The value of "KeyId" in a response (36 characters after the first match). */
static void key_id_of(const char *json, char out[37])
{
    const char *p = strstr(json, "\"KeyId\":\"");
    ck_assert_ptr_nonnull(p);
    memcpy(out, p + 9, 36);
    out[36] = '\0';
}

static void create(CK_SESSION_HANDLE s, const char *req, char kid[37])
{
    op_out o;
    op_ok(s, "CreateKey", NULL, req, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"KeyMetadata\""));
    key_id_of(o.json, kid);
}

START_TEST(test_create_describe_list)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    char a[37], b[37], req[256];
    op_out o;
    create(s, "{\"KeySpec\":\"SYMMETRIC_DEFAULT\",\"Description\":\"first\",\"Tags\":[]}", a);
    create(s, "{\"Description\":\"second\",\"Origin\":\"AWS_KMS\"}", b);
    op_ok(s, "DescribeKey", a, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"Description\":\"first\""));
    ck_assert_ptr_nonnull(strstr(o.json, "\"EncryptionAlgorithms\":[\"SYMMETRIC_DEFAULT\"]"));
    op_ok(s, "UpdateKeyDescription", a, "{\"Description\":\"changed\"}", &o);
    op_ok(s, "DescribeKey", a, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"Description\":\"changed\""));
    op_fails(s, "CreateKey", NULL, "{\"KeySpec\":\"AES_999\"}", "ValidationException");
    op_fails(s, "CreateKey", NULL,
             "{\"KeySpec\":\"RSA_2048\",\"KeyUsage\":\"GENERATE_VERIFY_MAC\"}",
             "ValidationException");
    op_fails(s, "CreateKey", NULL, "{\"Origin\":\"EXTERNAL\"}", "UnsupportedOperationException");
    op_fails(s, "UpdateKeyDescription", a, NULL, "ValidationException");
    /* paging: one key per page, the marker gives the other */
    op_ok(s, "ListKeys", NULL, "{\"Limit\":1}", &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"Truncated\":true"));
    const char *m = strstr(o.json, "\"NextMarker\":\"");
    ck_assert_ptr_nonnull(m);
    char marker[128] = "";
    sscanf(m + 14, "%127[^\"]", marker);
    snprintf(req, sizeof(req), "{\"Limit\":1,\"Marker\":\"%s\"}", marker);
    op_ok(s, "ListKeys", NULL, req, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"Keys\":[{\"KeyId\":"));
    op_fails(s, "ListKeys", NULL, "{\"Limit\":5000}", "ValidationException");
    op_fails(s, "ListKeys", NULL, "{\"Marker\":\"not-a-marker\"}", "InvalidMarkerException");
    /* CreateKey with an alias, ListAliases filtered by key */
    create(s, "{\"AliasName\":\"alias/opreq-test\"}", b);
    op_ok(s, "ListAliases", NULL, "{}", &o);
    ck_assert_ptr_nonnull(strstr(o.json, "alias/opreq-test"));
    snprintf(req, sizeof(req), "{\"KeyId\":\"%s\"}", a);
    op_ok(s, "ListAliases", NULL, req, &o);
    ck_assert_ptr_null(strstr(o.json, "alias/opreq-test"));
}
END_TEST

START_TEST(test_sign_verify_public_key)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    char k[37];
    CK_BYTE sig[512], der[1024];
    op_out o;
    const char *alg = "{\"SigningAlgorithm\":\"ECDSA_SHA_256\",\"MessageType\":\"RAW\"}";
    create(s, "{\"KeySpec\":\"ECC_NIST_P256\",\"KeyUsage\":\"SIGN_VERIFY\"}", k);
    op(s, "Sign", k, alg, "message", 7, NULL, 0, &o);
    ck_assert_msg(o.result == CKR_OK, "Sign: %s", o.error);
    CK_ULONG n = read_bytes(s, o.h, CKA_P11KMS_OP_RESULT_SIGNATURE, sig, sizeof(sig));
    ck_assert_uint_gt(n, 60);
    op(s, "Verify", k, alg, "message", 7, sig, n, &o);
    ck_assert_msg(o.result == CKR_OK, "Verify: %s", o.error);
    ck_assert_ptr_nonnull(strstr(o.json, "\"SignatureValid\":true"));
    op(s, "Verify", k, alg, "massage", 7, sig, n, &o);
    ck_assert_str_eq(o.error, "KMSInvalidSignatureException");
    ck_assert_uint_eq(o.result, CKR_SIGNATURE_INVALID);
    op(s, "Sign", k, "{\"SigningAlgorithm\":\"NOPE\"}", "m", 1, NULL, 0, &o);
    ck_assert_str_eq(o.error, "ValidationException");
    op(s, "Sign", k, "{\"SigningAlgorithm\":\"ECDSA_SHA_256\",\"MessageType\":\"DIGEST\"}", "short",
       5, NULL, 0, &o);
    ck_assert_uint_ne(o.result, CKR_OK);
    op_ok(s, "GetPublicKey", k, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"PublicKey\":\"MFkw"));
    ck_assert_ptr_nonnull(strstr(o.json, "\"SigningAlgorithms\":[\"ECDSA_SHA_256\"]"));
    ck_assert_uint_eq(read_bytes(s, o.h, CKA_P11KMS_OP_RESULT_CIPHERTEXT, der, sizeof(der)), 91);
    op_fails(s, "GetPublicKey", "00000000-0000-4000-8000-000000000000", NULL, "NotFoundException");
}
END_TEST

START_TEST(test_mac_random)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    char k[37], aes[37];
    CK_BYTE mac[64], rnd[64];
    op_out o;
    const char *alg = "{\"MacAlgorithm\":\"HMAC_SHA_256\"}";
    create(s, "{\"KeySpec\":\"HMAC_256\"}", k);
    op(s, "GenerateMac", k, alg, "message", 7, NULL, 0, &o);
    ck_assert_msg(o.result == CKR_OK, "GenerateMac: %s", o.error);
    CK_ULONG n = read_bytes(s, o.h, CKA_P11KMS_OP_RESULT_SIGNATURE, mac, sizeof(mac));
    ck_assert_uint_eq(n, 32);
    op(s, "VerifyMac", k, alg, "message", 7, mac, n, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"MacValid\":true"));
    mac[0] ^= 1;
    op(s, "VerifyMac", k, alg, "message", 7, mac, n, &o);
    ck_assert_str_eq(o.error, "KMSInvalidMacException");
    create(s, "{}", aes);
    op(s, "GenerateMac", aes, alg, "message", 7, NULL, 0, &o);
    ck_assert_str_eq(o.error, "InvalidKeyUsageException");
    op_ok(s, "GenerateRandom", NULL, "{\"NumberOfBytes\":48}", &o);
    ck_assert_uint_eq(read_bytes(s, o.h, CKA_P11KMS_OP_RESULT_PLAINTEXT, rnd, sizeof(rnd)), 48);
    op_fails(s, "GenerateRandom", NULL, "{\"NumberOfBytes\":0}", "ValidationException");
}
END_TEST

START_TEST(test_policies)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    char k[37], req[1024], principal[32];
    op_out o;
    create(s, "{}", k);
    op_ok(s, "GetKeyPolicy", k, "{\"PolicyName\":\"default\"}", &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"PolicyName\":\"default\""));
    ck_assert_ptr_nonnull(strstr(o.json, "2012-10-17"));
    op_ok(s, "ListKeyPolicies", k, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"PolicyNames\":[\"default\"]"));
    op_fails(s, "GetKeyPolicy", k, "{\"PolicyName\":\"other\"}", "NotFoundException");
    op_fails(s, "PutKeyPolicy", k, "{\"Policy\":\"{not json\"}",
             "MalformedPolicyDocumentException");
    snprintf(req, sizeof(req),
             "{\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{"
             "\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"Unix\\\":\\\"uid:%u\\\"},"
             "\\\"Action\\\":\\\"kms:*\\\",\\\"Resource\\\":\\\"*\\\"}]}\"}",
             (unsigned)getuid());
    op_ok(s, "PutKeyPolicy", k, req, &o);
    snprintf(principal, sizeof(principal), "uid:%u", (unsigned)getuid());
    snprintf(req, sizeof(req),
             "{\"Principal\":\"%s\",\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\","
             "\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\",\\\"Action\\\":"
             "\\\"kms:Encrypt\\\",\\\"Resource\\\":\\\"*\\\"}]}\"}",
             principal);
    op_ok(s, "PutIdentityPolicy", NULL, req, &o);
    snprintf(req, sizeof(req), "{\"Principal\":\"%s\"}", principal);
    op_ok(s, "GetIdentityPolicy", NULL, req, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "kms:Encrypt"));
    op_ok(s, "DeleteIdentityPolicy", NULL, req, &o);
    op_fails(s, "GetIdentityPolicy", NULL, req, "NotFoundException");
    op_fails(s, "PutIdentityPolicy", NULL, "{\"Principal\":\"bogus:1\",\"Policy\":\"{}\"}",
             "ValidationException");
}
END_TEST

START_TEST(test_grants_rotation)
{
    CK_SESSION_HANDLE s = p11t_user_session();
    char k[37], req[512], gid[128] = "";
    op_out o;
    create(s, "{}", k);
    snprintf(req, sizeof(req),
             "{\"GranteePrincipal\":\"uid:%u\",\"Operations\":[\"Encrypt\",\"Decrypt\"],"
             "\"Constraints\":{\"EncryptionContextSubset\":{\"app\":\"x\"}}}",
             (unsigned)getuid());
    op_ok(s, "CreateGrant", k, req, &o);
    const char *p = strstr(o.json, "\"GrantId\":\"");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(strstr(o.json, "\"GrantToken\":\""));
    sscanf(p + 11, "%127[^\"]", gid);
    op_ok(s, "ListGrants", k, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, gid));
    snprintf(req, sizeof(req), "{\"GrantId\":\"%s\"}", gid);
    op_ok(s, "RevokeGrant", k, req, &o);
    op_fails(s, "RevokeGrant", k, req, "InvalidGrantIdException");
    op_fails(s, "CreateGrant", k, "{\"GranteePrincipal\":\"uid:0\"}", "ValidationException");
    op_fails(s, "RetireGrant", NULL, "{\"GrantToken\":\"garbage\"}", "InvalidGrantTokenException");
    /* rotation status and history */
    op_ok(s, "GetKeyRotationStatus", k, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"KeyRotationEnabled\":false"));
    op_ok(s, "EnableKeyRotation", k, "{\"RotationPeriodInDays\":90}", &o);
    op_ok(s, "GetKeyRotationStatus", k, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"RotationPeriodInDays\":90"));
    op_ok(s, "RotateKeyOnDemand", k, NULL, &o);
    op_ok(s, "ListKeyRotations", k, NULL, &o);
    ck_assert_ptr_nonnull(strstr(o.json, "\"KeyVersion\":2"));
    op_fails(s, "ListKeyRotations", "00000000-0000-4000-8000-000000000000", NULL,
             "NotFoundException");
    op_fails(s, "GetKeyRotationStatus", NULL, NULL, "ValidationException");
}
END_TEST

Suite *p11t_suite_opreq(void)
{
    Suite *s = suite_create("operation objects");
    TCase *t = tcase_create("kms operations");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, p11t_setup_token, p11t_teardown);
    tcase_add_test(t, test_create_describe_list);
    tcase_add_test(t, test_sign_verify_public_key);
    tcase_add_test(t, test_mac_random);
    tcase_add_test(t, test_policies);
    tcase_add_test(t, test_grants_rotation);
    suite_add_tcase(s, t);
    return s;
}
