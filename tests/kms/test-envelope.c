/* tests/kms/test-envelope.c — the envelope blob format against
 * docs/ciphertext-format.md: the documented test vector byte for byte,
 * the canonical encryption context, and each malformed-blob class. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/envelope-seal.h"
#include "kms/envelope.h"

#define VEC_BLOB                                                                                   \
    "7031316b010131323334616263642d313261622d333463642d353665662d3132"                             \
    "3334353637383930616200000001202122232425262728292a2b2c2d2e2f3031"                             \
    "32333435363738393a3b3c3d3e3f404142434445464748494a4bc1bf71d00277"                             \
    "94f87ba61f7798babacf0000001bed8b3c05fffabfa1f609cdc347c4d0b25477"                             \
    "14e2ae216bd3b6c6b121088a680da146acb4c9779f3c8d1a1d"
#define VEC_CTX                                                                                    \
    "0000000200000007707572706f73650000000b746573742d766563746f72"                                 \
    "0000000674656e616e74000000067031316b6d73"
#define VEC_ID "1234abcd-12ab-34cd-56ef-1234567890ab"
#define VEC_PT "p11kms envelope test vector"

static uint8_t material[32], salt[32], iv[12];
static uint8_t *vec;
static size_t vec_len;

static uint8_t *unhex(const char *h, size_t *len)
{
    size_t n = strlen(h) / 2;
    uint8_t *b = malloc(n);

    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (uint8_t)v;
    }
    *len = n;
    return b;
}

static void setup(void)
{
    for (int i = 0; i < 32; i++) {
        material[i] = (uint8_t)i;
        salt[i] = (uint8_t)(0x20 + i);
    }
    for (int i = 0; i < 12; i++)
        iv[i] = (uint8_t)(0x40 + i);
    vec = unhex(VEC_BLOB, &vec_len);
}

static void teardown(void)
{
    free(vec);
}

static const p11kms_kms_ec_pair vec_pairs[] = {
    {"tenant", "p11kms"},
    {"purpose", "test-vector"},
};

START_TEST(test_vector_context)
{
    uint8_t *enc = NULL, *want;
    size_t len = 0, want_len;

    ck_assert_int_eq(p11kms_kms_context_encode(vec_pairs, 2, &enc, &len), P11KMS_KMS_ENVELOPE_OK);
    want = unhex(VEC_CTX, &want_len);
    ck_assert_uint_eq(len, want_len);
    ck_assert_mem_eq(enc, want, len);
    free(enc);
    free(want);
}
END_TEST

START_TEST(test_vector_seal)
{
    uint8_t *enc = NULL, out[256];
    size_t len = 0;

    ck_assert_int_eq(p11kms_kms_context_encode(vec_pairs, 2, &enc, &len), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_uint_eq(p11kms_kms_envelope_blob_len(strlen(VEC_PT)), vec_len);
    ck_assert_int_eq(p11kms_kms_envelope_seal(material, 32, VEC_ID, 1, salt, iv, enc, len,
                                              (const uint8_t *)VEC_PT, strlen(VEC_PT), out),
                     P11KMS_KMS_SEAL_OK);
    ck_assert_mem_eq(out, vec, vec_len);
    free(enc);
}
END_TEST

START_TEST(test_vector_open)
{
    p11kms_kms_envelope env;
    uint8_t *enc = NULL, pt[64];
    size_t len = 0;

    ck_assert_int_eq(p11kms_kms_envelope_parse(vec, vec_len, &env), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_str_eq(env.key_id, VEC_ID);
    ck_assert_uint_eq(env.key_version, 1);
    ck_assert_uint_eq(env.ciphertext_len, strlen(VEC_PT));
    ck_assert_int_eq(p11kms_kms_context_encode(vec_pairs, 2, &enc, &len), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_int_eq(p11kms_kms_envelope_open(material, 32, &env, enc, len, pt),
                     P11KMS_KMS_SEAL_OK);
    ck_assert_mem_eq(pt, VEC_PT, strlen(VEC_PT));
    free(enc);
}
END_TEST

START_TEST(test_context_order_and_prefix)
{
    const p11kms_kms_ec_pair ab_c[] = {{"ab", "c"}}, a_bc[] = {{"a", "bc"}};
    const p11kms_kms_ec_pair rev[] = {{"purpose", "test-vector"}, {"tenant", "p11kms"}};
    const p11kms_kms_ec_pair dup[] = {{"k", "1"}, {"k", "2"}};
    const p11kms_kms_ec_pair empty_key[] = {{"", "v"}};
    uint8_t *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;

    ck_assert_int_eq(p11kms_kms_context_encode(ab_c, 1, &x, &xl), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_int_eq(p11kms_kms_context_encode(a_bc, 1, &y, &yl), P11KMS_KMS_ENVELOPE_OK);
    ck_assert(xl != yl || memcmp(x, y, xl) != 0);
    free(x);
    free(y);
    ck_assert_int_eq(p11kms_kms_context_encode(vec_pairs, 2, &x, &xl), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_int_eq(p11kms_kms_context_encode(rev, 2, &y, &yl), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_uint_eq(xl, yl);
    ck_assert_mem_eq(x, y, xl);
    free(x);
    free(y);
    ck_assert_int_eq(p11kms_kms_context_encode(dup, 2, &x, &xl), P11KMS_KMS_ENVELOPE_ERR_CONTEXT);
    ck_assert_int_eq(p11kms_kms_context_encode(empty_key, 1, &x, &xl),
                     P11KMS_KMS_ENVELOPE_ERR_CONTEXT);
    ck_assert_int_eq(p11kms_kms_context_encode(NULL, 0, &x, &xl), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_uint_eq(xl, 4);
    free(x);
}
END_TEST

START_TEST(test_context_decode_strict)
{
    p11kms_kms_ec_span sp[8];
    size_t n = 0, len;
    uint8_t *enc = unhex(VEC_CTX, &len);

    ck_assert_int_eq(p11kms_kms_context_decode(enc, len, sp, 8, &n), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_mem_eq(sp[0].key, "purpose", 7);
    ck_assert_int_eq(p11kms_kms_context_decode(enc, len - 1, sp, 8, &n),
                     P11KMS_KMS_ENVELOPE_ERR_CONTEXT);
    enc[8] = 'z'; /* first key "zurpose" now sorts after "tenant" */
    ck_assert_int_eq(p11kms_kms_context_decode(enc, len, sp, 8, &n),
                     P11KMS_KMS_ENVELOPE_ERR_CONTEXT);
    free(enc);
}
END_TEST

static p11kms_kms_envelope_rc parse_mod(size_t off, uint8_t val, size_t len)
{
    uint8_t buf[512];
    p11kms_kms_envelope env;

    memcpy(buf, vec, vec_len);
    buf[off] = val;
    return p11kms_kms_envelope_parse(buf, len, &env);
}

static p11kms_kms_envelope_rc parse_len(size_t len)
{
    p11kms_kms_envelope env;

    return p11kms_kms_envelope_parse(vec, len, &env);
}

START_TEST(test_malformed_classes)
{
    p11kms_kms_envelope env;
    uint8_t longer[512];

    ck_assert_int_eq(p11kms_kms_envelope_parse(vec, 3, &env), P11KMS_KMS_ENVELOPE_ERR_NOT_BLOB);
    ck_assert_int_eq(parse_mod(0, 'X', vec_len), P11KMS_KMS_ENVELOPE_ERR_NOT_BLOB);
    ck_assert_int_eq(parse_mod(4, 2, vec_len), P11KMS_KMS_ENVELOPE_ERR_VERSION);
    ck_assert_int_eq(parse_mod(5, 9, vec_len), P11KMS_KMS_ENVELOPE_ERR_ALGORITHM);
    ck_assert_int_eq(parse_len(50), P11KMS_KMS_ENVELOPE_ERR_TRUNCATED);
    ck_assert_int_eq(parse_len(vec_len - 1), P11KMS_KMS_ENVELOPE_ERR_TRUNCATED);
    ck_assert_int_eq(parse_mod(6, 'G', vec_len), P11KMS_KMS_ENVELOPE_ERR_FIELD);
    ck_assert_int_eq(parse_mod(45, 0, vec_len), P11KMS_KMS_ENVELOPE_ERR_FIELD);
    memcpy(longer, vec, vec_len);
    longer[vec_len] = 0;
    ck_assert_int_eq(p11kms_kms_envelope_parse(longer, vec_len + 1, &env),
                     P11KMS_KMS_ENVELOPE_ERR_TRAILING);
}
END_TEST

START_TEST(test_tamper_and_context_mismatch)
{
    p11kms_kms_envelope env;
    uint8_t buf[512], *enc = NULL, pt[64];
    size_t len = 0;
    const p11kms_kms_ec_pair other[] = {{"tenant", "p11kms"}, {"purpose", "other"}};

    memcpy(buf, vec, vec_len);
    buf[vec_len - 20] ^= 1; /* ciphertext bit */
    ck_assert_int_eq(p11kms_kms_envelope_parse(buf, vec_len, &env), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_int_eq(p11kms_kms_context_encode(vec_pairs, 2, &enc, &len), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_int_eq(p11kms_kms_envelope_open(material, 32, &env, enc, len, pt),
                     P11KMS_KMS_SEAL_ERR_AUTH);
    free(enc);
    ck_assert_int_eq(p11kms_kms_envelope_parse(vec, vec_len, &env), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_int_eq(p11kms_kms_context_encode(other, 2, &enc, &len), P11KMS_KMS_ENVELOPE_OK);
    ck_assert_int_eq(p11kms_kms_envelope_open(material, 32, &env, enc, len, pt),
                     P11KMS_KMS_SEAL_ERR_CONTEXT_MISMATCH);
    free(enc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("envelope");
    TCase *tc = tcase_create("format");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vector_context);
    tcase_add_test(tc, test_vector_seal);
    tcase_add_test(tc, test_vector_open);
    tcase_add_test(tc, test_context_order_and_prefix);
    tcase_add_test(tc, test_context_decode_strict);
    tcase_add_test(tc, test_malformed_classes);
    tcase_add_test(tc, test_tamper_and_context_mismatch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
