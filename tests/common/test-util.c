/*
 * tests/common/test-util.c - UUIDs, strict base64, ISO 8601 time and the
 * canonical buffer/reader of common/.
 */
#include "config.h"

#include <check.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/timeutil.h"
#include "common/uuid.h"

static void setup(void)
{
}

static void teardown(void)
{
}

/* ---- uuid ---- */

START_TEST(test_uuid_format)
{
    char a[P11KMS_UUID_BUF_SIZE], b[P11KMS_UUID_BUF_SIZE];

    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(p11kms_uuid_v4(a), 1);
        ck_assert_uint_eq(strlen(a), 36);
        ck_assert_int_eq(p11kms_uuid_is_valid(a), 1);
        ck_assert_int_eq(a[14], '4');                 /* version */
        ck_assert_ptr_nonnull(strchr("89ab", a[19])); /* variant */
        ck_assert_int_eq(p11kms_uuid_v4(b), 1);
        ck_assert_str_ne(a, b);
    }
}
END_TEST

START_TEST(test_uuid_validation)
{
    ck_assert_int_eq(p11kms_uuid_is_valid("1234abcd-5678-4def-9012-3456789abcde"), 1);
    ck_assert_int_eq(p11kms_uuid_is_valid("1234ABCD-5678-4def-9012-3456789abcde"), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid("1234abcd-5678-4def-9012-3456789abcd"), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid("1234abcd-5678-4def-9012-3456789abcdef"), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid("1234abcd5678-4def-9012-3456789abcdef"), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid("1234abcd-5678-4def-9012-3456789abcdg"), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid("{234abcd-5678-4def-9012-3456789abcd}"), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid(""), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid(NULL), 0);
    ck_assert_int_eq(p11kms_uuid_is_valid_n("1234abcd-5678-4def-9012-3456789abcdeXYZ", 36), 1);
    ck_assert_int_eq(p11kms_uuid_is_valid_n("1234abcd-5678-4def-9012-3456789abcde", 35), 0);
}
END_TEST

/* ---- base64 ---- */

START_TEST(test_b64_rfc4648)
{
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char enc[16];
    unsigned char dec[16];

    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(in[i]), dl = sizeof(dec);
        char *alloc = p11kms_b64_encode_alloc((const unsigned char *)in[i], n);

        ck_assert_uint_eq(p11kms_b64_encoded_len(n), strlen(out[i]));
        ck_assert_int_eq(p11kms_b64_encode((const unsigned char *)in[i], n, enc, sizeof(enc)), 1);
        ck_assert_str_eq(enc, out[i]);
        ck_assert_ptr_nonnull(alloc);
        ck_assert_str_eq(alloc, out[i]);
        free(alloc);
        ck_assert_int_eq(p11kms_b64_decode(out[i], strlen(out[i]), dec, &dl), 1);
        ck_assert_uint_eq(dl, n);
        ck_assert_mem_eq(dec, in[i], n);
    }
    /* too small an output buffer */
    ck_assert_int_eq(p11kms_b64_encode((const unsigned char *)"foo", 3, enc, 4), 0);
}
END_TEST

START_TEST(test_b64_binary_round_trip)
{
    unsigned char bin[256], dec[256];
    char enc[400];

    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(255 - i);
    for (size_t n = 0; n <= sizeof(bin); n += 7) {
        size_t dl = p11kms_b64_decoded_maxlen(p11kms_b64_encoded_len(n));

        ck_assert_int_eq(p11kms_b64_encode(bin, n, enc, sizeof(enc)), 1);
        ck_assert_int_eq(p11kms_b64_decode(enc, strlen(enc), dec, &dl), 1);
        ck_assert_uint_eq(dl, n);
        ck_assert_mem_eq(dec, bin, n);
    }
}
END_TEST

START_TEST(test_b64_rejects)
{
    static const char *bad[] = {
        "Zm9v\n",   /* whitespace */
        "Zm9 v",    /* space */
        "Zm9",      /* length not a multiple of 4 */
        "Zg=",      /* short padding */
        "Z===",     /* too much padding */
        "====",     /* only padding */
        "Zg==Zm9v", /* padding in the middle */
        "Zm=v",     /* '=' inside a group */
        "Zh==",     /* non-zero bits before padding */
        "Zm9=",     /* non-zero bits before one '=' */
        "Zm9v*A==", /* bad character */
        "Zm9v-_==", /* base64url is not base64 */
    };
    unsigned char out[16];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t ol = sizeof(out);

        ck_assert_msg(p11kms_b64_decode(bad[i], strlen(bad[i]), out, &ol) == 0, "accepted '%s'",
                      bad[i]);
    }
    {
        size_t ol = 2; /* "Zm9v" needs 3 */

        ck_assert_int_eq(p11kms_b64_decode("Zm9v", 4, out, &ol), 0);
        ol = 0;
        ck_assert_int_eq(p11kms_b64_decode("", 0, NULL, &ol), 1);
        ck_assert_uint_eq(ol, 0);
        /* an embedded NUL is a bad character, not the end */
        ol = sizeof(out);
        ck_assert_int_eq(p11kms_b64_decode("Zm\0v", 4, out, &ol), 0);
    }
}
END_TEST

/* ---- time ---- */

START_TEST(test_time_format)
{
    static const struct {
        int64_t ms;
        const char *s;
    } v[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {INT64_C(951782400000), "2000-02-29T00:00:00.000Z"},
        {INT64_C(1795823738123), "2026-11-27T23:55:38.123Z"},
        {INT64_C(4107542399999), "2100-02-28T23:59:59.999Z"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
        {INT64_C(-62135596800000), "0001-01-01T00:00:00.000Z"},
    };
    char buf[P11KMS_ISO8601_BUF_SIZE];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int64_t back = 42;

        ck_assert_int_eq(p11kms_time_format_iso8601(v[i].ms, buf), 1);
        ck_assert_str_eq(buf, v[i].s);
        ck_assert_int_eq(p11kms_time_parse_iso8601(v[i].s, &back), 1);
        ck_assert_int_eq(back, v[i].ms);
    }
    ck_assert_int_eq(p11kms_time_format_iso8601(INT64_C(253402300800000), buf), 0);
    ck_assert_int_eq(p11kms_time_format_iso8601(INT64_MIN, buf), 0);
}
END_TEST

START_TEST(test_time_round_trip_now)
{
    char buf[P11KMS_ISO8601_BUF_SIZE];
    int64_t now = p11kms_time_now_ms(), back = 0;

    /* later than 2020, and the clock is not in seconds */
    ck_assert_int_gt(now, INT64_C(1577836800000));
    for (int64_t t = now; t < now + 400 * P11KMS_MS_PER_DAY; t += P11KMS_MS_PER_DAY / 3 + 7) {
        ck_assert_int_eq(p11kms_time_format_iso8601(t, buf), 1);
        ck_assert_int_eq(p11kms_time_parse_iso8601(buf, &back), 1);
        ck_assert_int_eq(back, t);
    }
    ck_assert_int_ge(p11kms_time_mono_ms(), 0);
}
END_TEST

START_TEST(test_time_parse_strict)
{
    static const char *bad[] = {
        "2026-11-27T23:55:38.123",
        "2026-11-27T23:55:38.123z",
        "2026-11-27 23:55:38.123Z",
        "2026-11-27T23:55:38.12Z",
        "2026-11-27T23:55:38.1234Z",
        "2026-11-27T23:55:38+00:00",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-27T24:00:00Z",
        "2026-11-27T23:60:00Z",
        "2026-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "2026-1-27T23:55:38Z",
        "+026-11-27T23:55:38Z",
        "2026-11-27T23:55:38.123Z ",
        "",
    };
    int64_t ms = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!p11kms_time_parse_iso8601(bad[i], &ms), "accepted '%s'", bad[i]);
    ck_assert_int_eq(p11kms_time_parse_iso8601("2024-02-29T12:00:00Z", &ms), 1);
    ck_assert_int_eq(ms, INT64_C(1709208000000));
    ck_assert_int_eq(p11kms_time_parse_iso8601(NULL, &ms), 0);
}
END_TEST

START_TEST(test_time_days)
{
    int64_t out = 0, t0 = INT64_C(1795823738123);

    ck_assert_int_eq(p11kms_time_add_days(t0, 365, &out), 1);
    ck_assert_int_eq(out, t0 + 365 * P11KMS_MS_PER_DAY);
    ck_assert_int_eq(p11kms_time_days_between(t0, out), 365);
    ck_assert_int_eq(p11kms_time_days_between(out, t0), -365);
    ck_assert_int_eq(p11kms_time_days_between(t0, out - 1), 364);
    ck_assert_int_eq(p11kms_time_days_between(t0, t0), 0);
    ck_assert_int_eq(p11kms_time_days_between(t0, t0 - 1), -1);
    ck_assert_int_eq(p11kms_time_days_between(-1, 0), 0);
    ck_assert_int_eq(p11kms_time_days_between(INT64_MIN, INT64_MAX),
                     INT64_C(213503982334)); /* no overflow */
    ck_assert_int_eq(p11kms_time_add_days(t0, -30, &out), 1);
    ck_assert_int_eq(out, t0 - 30 * P11KMS_MS_PER_DAY);
    ck_assert_int_eq(p11kms_time_add_days(INT64_MAX - 5, 1, &out), 0);
    ck_assert_int_eq(p11kms_time_add_days(0, INT64_MAX / 1000, &out), 0);
}
END_TEST

/* ---- canonical buffer and reader ---- */

START_TEST(test_buf_encoding)
{
    p11kms_buf b = P11KMS_BUF_INIT;
    unsigned char *bytes;
    size_t len = 0;

    ck_assert_int_eq(p11kms_buf_append_u8(&b, 0x01), 1);
    ck_assert_int_eq(p11kms_buf_append_u32be(&b, 0x02030405), 1);
    ck_assert_int_eq(p11kms_buf_append_u64be(&b, UINT64_C(0x060708090a0b0c0d)), 1);
    ck_assert_int_eq(p11kms_buf_append_lp(&b, "ab", 2), 1);
    ck_assert_int_eq(p11kms_buf_append_lp_str(&b, ""), 1);
    ck_assert_int_eq(p11kms_buf_append_opt_str(&b, NULL), 1);
    ck_assert_int_eq(p11kms_buf_append_opt_str(&b, "c"), 1);
    ck_assert_int_eq(p11kms_buf_ok(&b), 1);
    bytes = p11kms_buf_detach(&b, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(len, 1 + 4 + 8 + 6 + 4 + 1 + 6);
    ck_assert_mem_eq(bytes,
                     "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
                     "\x00\x00\x00\x02"
                     "ab"
                     "\x00\x00\x00\x00"
                     "\x00"
                     "\x01\x00\x00\x00\x01"
                     "c",
                     len);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    OPENSSL_free(bytes);
}
END_TEST

START_TEST(test_buf_growth_and_failure)
{
    p11kms_buf b;
    unsigned char chunk[1000];
    size_t len = 0;

    p11kms_buf_init(&b);
    memset(chunk, 0x61, sizeof(chunk));
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(p11kms_buf_append_bytes(&b, chunk, sizeof(chunk)), 1);
    ck_assert_uint_eq(b.len, 100000);
    ck_assert_uint_ge(b.cap, b.len);
    /* a NULL pointer with a length fails, and the failure sticks */
    ck_assert_int_eq(p11kms_buf_append_bytes(&b, NULL, 3), 0);
    ck_assert_int_eq(p11kms_buf_ok(&b), 0);
    ck_assert_int_eq(p11kms_buf_append_u8(&b, 1), 0);
    ck_assert_int_eq(p11kms_buf_append_lp_str(&b, NULL), 0);
    ck_assert_ptr_null(p11kms_buf_detach(&b, &len));
    ck_assert_uint_eq(len, 0);
    /* reset clears the failure */
    ck_assert_int_eq(p11kms_buf_append_lp(&b, chunk, (size_t)UINT32_MAX + 1), 0);
    p11kms_buf_reset(&b);
    ck_assert_int_eq(p11kms_buf_ok(&b), 1);
    ck_assert_int_eq(p11kms_buf_append_u8(&b, 7), 1);
    ck_assert_uint_eq(b.len, 1);
    ck_assert_int_eq(p11kms_buf_reserve(&b, SIZE_MAX), 0);
    p11kms_buf_free(&b);
    p11kms_buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_reader)
{
    static const unsigned char in[] = "\x07\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x2a"
                                      "\x00\x00\x00\x03xyz\x00\x01\x00\x00\x00\x02hi\x02";
    const size_t inlen = sizeof(in) - 1;
    p11kms_reader r;
    const unsigned char *p = NULL;
    uint8_t u8 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    size_t len = 0, off;
    int present = -1;

    p11kms_reader_init(&r, in, inlen);
    ck_assert_int_eq(p11kms_reader_get_u8(&r, &u8), 1);
    ck_assert_uint_eq(u8, 7);
    ck_assert_int_eq(p11kms_reader_get_u32be(&r, &u32), 1);
    ck_assert_uint_eq(u32, 256);
    ck_assert_int_eq(p11kms_reader_get_u64be(&r, &u64), 1);
    ck_assert_uint_eq(u64, 42);
    ck_assert_int_eq(p11kms_reader_get_lp(&r, &p, &len), 1);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(p, "xyz", 3);
    ck_assert_int_eq(p11kms_reader_get_opt_lp(&r, &present, &p, &len), 1);
    ck_assert_int_eq(present, 0);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(p11kms_reader_get_opt_lp(&r, &present, &p, &len), 1);
    ck_assert_int_eq(present, 1);
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(p, "hi", 2);
    /* presence byte 2 is an error and does not advance */
    off = r.off;
    ck_assert_int_eq(p11kms_reader_get_opt_lp(&r, &present, &p, &len), 0);
    ck_assert_uint_eq(r.off, off);
    ck_assert_uint_eq(p11kms_reader_remaining(&r), 1);
    ck_assert_int_eq(p11kms_reader_at_end(&r), 0);
    ck_assert_int_eq(p11kms_reader_get_u32be(&r, &u32), 0);
    ck_assert_int_eq(p11kms_reader_get_u8(&r, &u8), 1);
    ck_assert_int_eq(p11kms_reader_at_end(&r), 1);
    ck_assert_int_eq(p11kms_reader_get_u8(&r, &u8), 0);
}
END_TEST

START_TEST(test_reader_truncated_lp)
{
    /* a length prefix that claims more than remains */
    static const unsigned char in[] = {0, 0, 0, 5, 'a', 'b'};
    static const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
    p11kms_reader r;
    const unsigned char *p = NULL;
    size_t len = 0;
    unsigned char copy[4];

    p11kms_reader_init(&r, in, sizeof(in));
    ck_assert_int_eq(p11kms_reader_get_lp(&r, &p, &len), 0);
    ck_assert_uint_eq(r.off, 0);
    p11kms_reader_init(&r, huge, sizeof(huge));
    ck_assert_int_eq(p11kms_reader_get_lp(&r, &p, &len), 0);
    ck_assert_uint_eq(r.off, 0);
    ck_assert_int_eq(p11kms_reader_get_copy(&r, copy, 4), 1);
    ck_assert_int_eq(p11kms_reader_get_copy(&r, copy, 2), 0);
    ck_assert_int_eq(p11kms_reader_get_bytes(&r, SIZE_MAX, &p), 0);
    p11kms_reader_init(&r, NULL, 10);
    ck_assert_int_eq(p11kms_reader_at_end(&r), 1);
}
END_TEST

/* Encode then decode what the audit chain writes: the canonical round trip. */
START_TEST(test_buf_reader_round_trip)
{
    p11kms_buf b = P11KMS_BUF_INIT;
    p11kms_reader r;
    const char *fields[] = {"Encrypt", NULL, "", "alias/p11kms/mariadb"};
    const unsigned char *p;
    size_t len;
    int present;

    for (size_t i = 0; i < 4; i++)
        p11kms_buf_append_opt_str(&b, fields[i]);
    ck_assert_int_eq(p11kms_buf_ok(&b), 1);
    p11kms_reader_init(&r, b.data, b.len);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(p11kms_reader_get_opt_lp(&r, &present, &p, &len), 1);
        ck_assert_int_eq(present, fields[i] != NULL);
        if (fields[i] != NULL) {
            ck_assert_uint_eq(len, strlen(fields[i]));
            ck_assert_mem_eq(p, fields[i], len);
        }
    }
    ck_assert_int_eq(p11kms_reader_at_end(&r), 1);
    p11kms_buf_free(&b);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("common-util");
    TCase *tc = tcase_create("uuid");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_uuid_format);
    tcase_add_test(tc, test_uuid_validation);
    suite_add_tcase(s, tc);

    tc = tcase_create("b64");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_b64_rfc4648);
    tcase_add_test(tc, test_b64_binary_round_trip);
    tcase_add_test(tc, test_b64_rejects);
    suite_add_tcase(s, tc);

    tc = tcase_create("time");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_time_format);
    tcase_add_test(tc, test_time_round_trip_now);
    tcase_add_test(tc, test_time_parse_strict);
    tcase_add_test(tc, test_time_days);
    suite_add_tcase(s, tc);

    tc = tcase_create("buf");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_buf_encoding);
    tcase_add_test(tc, test_buf_growth_and_failure);
    tcase_add_test(tc, test_reader);
    tcase_add_test(tc, test_reader_truncated_lp);
    tcase_add_test(tc, test_buf_reader_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(util_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
