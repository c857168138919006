/*
 * tests/common/common-testutil.h - small helpers shared by the tests of
 * common/: hex decoding of test vectors (static: each test program
 * includes this once).
 */
#ifndef P11KMS_TESTS_COMMON_TESTUTIL_H
#define P11KMS_TESTS_COMMON_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode hex (no separators) into a malloc'd buffer; aborts the test on error. */
static unsigned char *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    unsigned char *out = malloc(n / 2 + 1);

    ck_assert_msg(n % 2 == 0 && out != NULL, "bad hex vector");
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;

        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return out;
}

/* Assert that (got, gotlen) equals the hex string want. */
#define ck_assert_hex_eq(got, gotlen, want)                                                        \
    do {                                                                                           \
        size_t wl_ = 0;                                                                            \
        unsigned char *w_ = unhex((want), &wl_);                                                   \
        ck_assert_uint_eq((gotlen), wl_);                                                          \
        ck_assert_mem_eq((got), w_, wl_);                                                          \
        free(w_);                                                                                  \
    } while (0)

#endif
