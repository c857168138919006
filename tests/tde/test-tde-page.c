/*
 * tests/tde/test-tde-page.c — known-answer and tamper tests of the page and
 * sector helpers of libp11kms-tde: IEEE 1619 vector 10 (XTS-AES-256) and the
 * C2SP XAES-256-GCM vectors, then round trips, moved pages and flipped bits.
 * No module needed.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11kms/tde.h"

static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
    size_t n = strlen(h) / 2;
    ck_assert_uint_le(n, cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
    return n;
}

/* IEEE 1619-2007 vector 10: the first 256 bytes of its 512-byte data unit
 * (XTS without stealing treats each block alone, so they match exactly). */
static const char xts10_key[] = "2718281828459045235360287471352662497757247093699959574966967627"
                                "3141592653589793238462643383279502884197169399375105820974944592";
static const char xts10_ct[] = "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
                               "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
                               "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
                               "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
                               "2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
                               "b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
                               "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
                               "583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a";

START_TEST(xts_ieee1619_vector10)
{
    unsigned char key[64], pt[256], ct[256], out[256];
    p11kms_tde_page_cipher *c = NULL;

    unhex(xts10_key, key, sizeof(key));
    unhex(xts10_ct, ct, sizeof(ct));
    for (int i = 0; i < 256; i++)
        pt[i] = (unsigned char)i;
    ck_assert(p11kms_tde_page_cipher_raw(key, NULL, &c, NULL));
    ck_assert(p11kms_tde_xts_encrypt(c, 0xff, pt, sizeof(pt), out));
    ck_assert_mem_eq(out, ct, sizeof(ct));
    ck_assert(p11kms_tde_xts_decrypt(c, 0xff, ct, sizeof(ct), out));
    ck_assert_mem_eq(out, pt, sizeof(pt));
    /* another sector number gives another ciphertext */
    ck_assert(p11kms_tde_xts_encrypt(c, 0xfe, pt, sizeof(pt), out));
    ck_assert(memcmp(out, ct, sizeof(ct)) != 0);
    ck_assert(!p11kms_tde_gcm_seal(c, NULL, 0, pt, 16, out, ct)); /* no GCM key */
    p11kms_tde_page_cipher_free(c);
}
END_TEST

static void xaes_vector(int fill, const char *aad, const char *want_hex)
{
    unsigned char key[32], want[64], out[12], tag[16], back[12];
    const unsigned char *nonce = (const unsigned char *)"ABCDEFGHIJKLMNOPQRSTUVWX";
    const unsigned char *pt = (const unsigned char *)"XAES-256-GCM";
    size_t aadlen = aad ? strlen(aad) : 0, n = unhex(want_hex, want, sizeof(want));
    p11kms_tde_page_cipher *c = NULL;
    unsigned char trailer[40];

    memset(key, fill, sizeof(key));
    ck_assert_uint_eq(n, 28);
    ck_assert(p11kms_tde_page_cipher_raw(NULL, key, &c, NULL));
    ck_assert(
        p11kms_tde_gcm_seal_nonce(c, nonce, (const unsigned char *)aad, aadlen, pt, 12, out, tag));
    ck_assert_mem_eq(out, want, 12);
    ck_assert_mem_eq(tag, want + 12, 16);
    memcpy(trailer, nonce, 24);
    memcpy(trailer + 24, tag, 16);
    ck_assert(p11kms_tde_gcm_open(c, (const unsigned char *)aad, aadlen, out, 12, trailer, back));
    ck_assert_mem_eq(back, pt, 12);
    p11kms_tde_page_cipher_free(c);
}

START_TEST(xaes_c2sp_vectors)
{
    xaes_vector(0x01, NULL, "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271");
    xaes_vector(0x03, "c2sp.org/XAES-256-GCM",
                "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d");
}
END_TEST

static p11kms_tde_page_cipher *dek_cipher(void)
{
    unsigned char dek[32];
    p11kms_tde_page_cipher *c = NULL;
    for (int i = 0; i < 32; i++)
        dek[i] = (unsigned char)(i * 7 + 1);
    ck_assert(p11kms_tde_page_cipher_new(dek, sizeof(dek), &c, NULL));
    return c;
}

START_TEST(gcm_page_binds_place_and_content)
{
    enum { PAGE = 4096, BODY = PAGE - P11KMS_TDE_GCM_TRAILER };
    unsigned char *page = malloc(PAGE), *enc = malloc(PAGE), *back = malloc(PAGE);
    unsigned char aad1[12] = "file-A\0\0\0\0\0\1", aad2[12] = "file-A\0\0\0\0\0\2";
    p11kms_tde_page_cipher *c = dek_cipher();

    for (int i = 0; i < BODY; i++)
        page[i] = (unsigned char)(i & 0x7f);
    ck_assert(p11kms_tde_gcm_seal(c, aad1, sizeof(aad1), page, BODY, enc, enc + BODY));
    ck_assert(memcmp(enc, page, 64) != 0);
    ck_assert(p11kms_tde_gcm_open(c, aad1, sizeof(aad1), enc, BODY, enc + BODY, back));
    ck_assert_mem_eq(back, page, BODY);
    /* moved to page 2: refused */
    ck_assert(!p11kms_tde_gcm_open(c, aad2, sizeof(aad2), enc, BODY, enc + BODY, back));
    /* every region flipped: refused */
    for (size_t off = 0; off < PAGE; off += 997) {
        enc[off] ^= 1;
        ck_assert(!p11kms_tde_gcm_open(c, aad1, sizeof(aad1), enc, BODY, enc + BODY, back));
        enc[off] ^= 1;
    }
    /* two seals of the same page never share a nonce or ciphertext */
    memcpy(back, enc, PAGE);
    ck_assert(p11kms_tde_gcm_seal(c, aad1, sizeof(aad1), page, BODY, enc, enc + BODY));
    ck_assert(memcmp(back + BODY, enc + BODY, P11KMS_TDE_GCM_NONCE) != 0);
    ck_assert(memcmp(back, enc, BODY) != 0);
    p11kms_tde_page_cipher_free(c);
    free(page);
    free(enc);
    free(back);
}
END_TEST

START_TEST(xts_in_place_and_stealing)
{
    unsigned char buf[37], orig[37];
    p11kms_tde_page_cipher *c = dek_cipher();

    for (int i = 0; i < 37; i++)
        orig[i] = buf[i] = (unsigned char)i;
    ck_assert(p11kms_tde_xts_encrypt(c, 7, buf, sizeof(buf), buf));
    ck_assert(memcmp(buf, orig, sizeof(buf)) != 0);
    ck_assert(p11kms_tde_xts_decrypt(c, 7, buf, sizeof(buf), buf));
    ck_assert_mem_eq(buf, orig, sizeof(buf));
    ck_assert(!p11kms_tde_xts_encrypt(c, 7, buf, 15, buf)); /* below one block */
    p11kms_tde_page_cipher_free(c);
}
END_TEST

START_TEST(raw_refuses_equal_xts_halves)
{
    unsigned char key[64];
    p11kms_tde_page_cipher *c = NULL;
    p11kms_tde_error err;

    memset(key, 0x42, sizeof(key));
    ck_assert(!p11kms_tde_page_cipher_raw(key, NULL, &c, &err));
    ck_assert_int_eq(err.rc, P11KMS_TDE_ERR_INVALID);
    ck_assert_str_eq(p11kms_tde_strerror(P11KMS_TDE_ERR_CORRUPT), "keyring corrupt or tampered");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tde-page");
    TCase *tc = tcase_create("page");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, xts_ieee1619_vector10);
    tcase_add_test(tc, xaes_c2sp_vectors);
    tcase_add_test(tc, gcm_page_binds_place_and_content);
    tcase_add_test(tc, xts_in_place_and_stealing);
    tcase_add_test(tc, raw_refuses_equal_xts_halves);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
