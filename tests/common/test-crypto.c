/*
 * tests/common/test-crypto.c - known-answer and behaviour tests of the
 * symmetric half of common/crypto.h: digests, HMAC, HKDF, scrypt,
 * AES-GCM, AES-CBC, AES key wrap with padding, and the private library
 * context itself.
 */
#include "config.h"

#include <check.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crypto.h"
#include "tests/common/common-testutil.h"

static void setup(void)
{
    ck_assert_ptr_nonnull(p11kms_crypto_libctx());
}

static void teardown(void)
{
}

/* ---- library context ---- */

START_TEST(test_libctx_private)
{
    OSSL_LIB_CTX *ctx = p11kms_crypto_libctx();

    ck_assert_ptr_nonnull(ctx);
    ck_assert_ptr_eq(ctx, p11kms_crypto_libctx());
    /* not the default context */
    ck_assert_ptr_ne(ctx, OSSL_LIB_CTX_get0_global_default());
    ck_assert_ptr_nonnull(p11kms_crypto_md_evp(P11KMS_MD_SHA256));
    ck_assert_ptr_null(p11kms_crypto_md_evp(P11KMS_MD_NONE));
    ck_assert_str_eq(p11kms_crypto_md_name(P11KMS_MD_SHA384), "SHA384");
    ck_assert_uint_eq(p11kms_crypto_md_size(P11KMS_MD_SHA1), 20);
    ck_assert_uint_eq(p11kms_crypto_md_size(P11KMS_MD_SHA512), 64);
    ck_assert_uint_eq(p11kms_crypto_md_size((p11kms_md)99), 0);
}
END_TEST

START_TEST(test_random)
{
    unsigned char a[64], b[64], zero[64] = {0};

    ck_assert_int_eq(p11kms_crypto_random(a, sizeof(a)), 1);
    ck_assert_int_eq(p11kms_crypto_random(b, sizeof(b)), 1);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    ck_assert_int_ne(memcmp(a, zero, sizeof(a)), 0);
    ck_assert_int_eq(p11kms_crypto_random(NULL, 0), 1);
    ck_assert_int_eq(p11kms_crypto_random(NULL, 1), 0);
}
END_TEST

/* A forked child must not replay the parent's random stream. */
START_TEST(test_random_after_fork)
{
    unsigned char parent[32], child[32];
    int fds[2], status = 0;
    pid_t pid;

    ck_assert_int_eq(p11kms_crypto_random(parent, sizeof(parent)), 1);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        unsigned char r[32];
        int ok = p11kms_crypto_random(r, sizeof(r));

        ok = ok && write(fds[1], r, sizeof(r)) == (ssize_t)sizeof(r);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(p11kms_crypto_random(parent, sizeof(parent)), 1);
    ck_assert_int_eq(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_ne(memcmp(parent, child, sizeof(child)), 0);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/*
 * Calls after OPENSSL_cleanup() (an exit handler emptying a cache) must
 * fail cleanly, not crash.
 */
START_TEST(test_after_openssl_cleanup)
{
    unsigned char b[16];
    size_t len = sizeof(b);

    ck_assert_int_eq(p11kms_crypto_random(b, sizeof(b)), 1);
    OPENSSL_cleanup();
    ck_assert_ptr_null(p11kms_crypto_libctx());
    ck_assert_int_eq(p11kms_crypto_random(b, sizeof(b)), 0);
    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA256, b, 1, b, &len), 0);
    ck_assert_ptr_null(p11kms_crypto_pkey_generate_ec(P11KMS_CURVE_P256));
}
END_TEST

/* ---- digests and HMAC ---- */

START_TEST(test_digest_kat)
{
    static const struct {
        p11kms_md md;
        const char *hex;
    } v[] = {
        {P11KMS_MD_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {P11KMS_MD_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {P11KMS_MD_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
                           "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
        {P11KMS_MD_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                           "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    };
    unsigned char out[P11KMS_MD_MAX_SIZE];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t len = sizeof(out);
        p11kms_crypto_hash *h = p11kms_crypto_hash_new_digest(v[i].md);

        ck_assert_int_eq(p11kms_crypto_digest(v[i].md, (const unsigned char *)"abc", 3, out, &len),
                         1);
        ck_assert_hex_eq(out, len, v[i].hex);
        /* streaming in two pieces gives the same */
        ck_assert_ptr_nonnull(h);
        ck_assert_int_eq(p11kms_crypto_hash_update(h, (const unsigned char *)"a", 1), 1);
        ck_assert_int_eq(p11kms_crypto_hash_update(h, (const unsigned char *)"bc", 2), 1);
        len = sizeof(out);
        ck_assert_int_eq(p11kms_crypto_hash_final(h, out, &len), 1);
        ck_assert_hex_eq(out, len, v[i].hex);
        p11kms_crypto_hash_free(h);
    }
}
END_TEST

START_TEST(test_digest_sizes)
{
    unsigned char out[P11KMS_MD_MAX_SIZE];
    size_t len = 0;

    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA384, NULL, 0, NULL, &len), 1);
    ck_assert_uint_eq(len, 48);
    len = 47;
    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA384, NULL, 0, out, &len), 0);
    ck_assert_uint_eq(len, 48);
    len = sizeof(out);
    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_NONE, NULL, 0, out, &len), 0);
    /* empty message */
    len = sizeof(out);
    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA256, NULL, 0, out, &len), 1);
    ck_assert_hex_eq(out, len, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* RFC 4231 test cases 1 and 2. */
START_TEST(test_hmac_kat)
{
    static const char *tc2[] = {
        NULL,
        NULL,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47"
        "e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    };
    const unsigned char *data = (const unsigned char *)"what do ya want for nothing?";
    unsigned char key1[20], out[P11KMS_MD_MAX_SIZE];
    size_t len;

    for (p11kms_md md = P11KMS_MD_SHA256; md <= P11KMS_MD_SHA512; md++) {
        len = sizeof(out);
        ck_assert_int_eq(
            p11kms_crypto_hmac(md, (const unsigned char *)"Jefe", 4, data, 28, out, &len), 1);
        ck_assert_hex_eq(out, len, tc2[md]);
        ck_assert_int_eq(
            p11kms_crypto_hmac_verify(md, (const unsigned char *)"Jefe", 4, data, 28, out, len), 1);
        out[len - 1] ^= 1;
        ck_assert_int_eq(
            p11kms_crypto_hmac_verify(md, (const unsigned char *)"Jefe", 4, data, 28, out, len), 0);
        out[len - 1] ^= 1;
        /* a truncated MAC is not accepted */
        ck_assert_int_eq(
            p11kms_crypto_hmac_verify(md, (const unsigned char *)"Jefe", 4, data, 28, out, len - 1),
            0);
        /* wrong key */
        ck_assert_int_eq(
            p11kms_crypto_hmac_verify(md, (const unsigned char *)"Jeff", 4, data, 28, out, len), 0);
    }
    memset(key1, 0x0b, sizeof(key1));
    len = sizeof(out);
    ck_assert_int_eq(p11kms_crypto_hmac(P11KMS_MD_SHA256, key1, sizeof(key1),
                                        (const unsigned char *)"Hi There", 8, out, &len),
                     1);
    ck_assert_hex_eq(out, len, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
END_TEST

START_TEST(test_hmac_streaming)
{
    unsigned char key[64], msg[300], one[64], two[64];
    size_t l1 = sizeof(one), l2 = sizeof(two);
    p11kms_crypto_hash *h;

    memset(key, 0x5a, sizeof(key));
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (unsigned char)i;
    ck_assert_int_eq(
        p11kms_crypto_hmac(P11KMS_MD_SHA512, key, sizeof(key), msg, sizeof(msg), one, &l1), 1);
    h = p11kms_crypto_hash_new_hmac(P11KMS_MD_SHA512, key, sizeof(key));
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(p11kms_crypto_hash_update(h, msg, 100), 1);
    ck_assert_int_eq(p11kms_crypto_hash_update(h, NULL, 0), 1);
    ck_assert_int_eq(p11kms_crypto_hash_update(h, msg + 100, 200), 1);
    ck_assert_int_eq(p11kms_crypto_hash_final(h, two, &l2), 1);
    ck_assert_uint_eq(l1, l2);
    ck_assert_mem_eq(one, two, l1);
    /* a finished object refuses more work */
    ck_assert_int_eq(p11kms_crypto_hash_update(h, msg, 1), 0);
    p11kms_crypto_hash_free(h);
    ck_assert_ptr_null(p11kms_crypto_hash_new_hmac(P11KMS_MD_NONE, key, 1));
    ck_assert_ptr_null(p11kms_crypto_hash_new_digest((p11kms_md)17));
}
END_TEST

START_TEST(test_memeq)
{
    ck_assert_int_eq(p11kms_crypto_memeq("abcd", "abcd", 4), 1);
    ck_assert_int_eq(p11kms_crypto_memeq("abcd", "abce", 4), 0);
    ck_assert_int_eq(p11kms_crypto_memeq("abcd", "xbcd", 4), 0);
    ck_assert_int_eq(p11kms_crypto_memeq("a", "b", 0), 1);
}
END_TEST

/* ---- KDFs ---- */

START_TEST(test_hkdf_kat)
{
    unsigned char ikm[22], salt[13], info[10], okm[42];

    memset(ikm, 0x0b, sizeof(ikm));
    for (size_t i = 0; i < sizeof(salt); i++)
        salt[i] = (unsigned char)i;
    for (size_t i = 0; i < sizeof(info); i++)
        info[i] = (unsigned char)(0xf0 + i);
    /* RFC 5869 A.1 */
    ck_assert_int_eq(p11kms_crypto_hkdf_sha256(salt, sizeof(salt), ikm, sizeof(ikm), info,
                                               sizeof(info), okm, sizeof(okm)),
                     1);
    ck_assert_hex_eq(okm, sizeof(okm),
                     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56"
                     "ecc4c5bf34007208d5b887185865");
    /* RFC 5869 A.3: no salt, no info */
    ck_assert_int_eq(
        p11kms_crypto_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, okm, sizeof(okm)), 1);
    ck_assert_hex_eq(okm, sizeof(okm),
                     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f"
                     "3c738d2d9d201395faa4b61a96c8");
    /* bounds */
    ck_assert_int_eq(p11kms_crypto_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, okm, 0), 0);
    ck_assert_int_eq(p11kms_crypto_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm, 32), 0);
    ck_assert_int_eq(p11kms_crypto_hkdf_sha256(NULL, 5, ikm, 1, NULL, 0, okm, 32), 0);
}
END_TEST

/* RFC 7914 section 12, the two cheap vectors. */
START_TEST(test_scrypt_kat)
{
    unsigned char out[64];

    ck_assert_int_eq(p11kms_crypto_scrypt(NULL, 0, NULL, 0, 16, 1, 1, out, sizeof(out)), 1);
    ck_assert_hex_eq(out, sizeof(out),
                     "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                     "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
    ck_assert_int_eq(p11kms_crypto_scrypt((const unsigned char *)"password", 8,
                                          (const unsigned char *)"NaCl", 4, 1024, 8, 16, out,
                                          sizeof(out)),
                     1);
    ck_assert_hex_eq(out, sizeof(out),
                     "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                     "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}
END_TEST

START_TEST(test_scrypt_params)
{
    unsigned char out[32];
    const unsigned char *pw = (const unsigned char *)"pin";

    ck_assert_int_eq(p11kms_crypto_scrypt(pw, 3, pw, 3, 1000, 8, 1, out, 32), 0); /* not 2^k */
    ck_assert_int_eq(p11kms_crypto_scrypt(pw, 3, pw, 3, 1, 8, 1, out, 32), 0);
    ck_assert_int_eq(p11kms_crypto_scrypt(pw, 3, pw, 3, 1024, 0, 1, out, 32), 0);
    ck_assert_int_eq(p11kms_crypto_scrypt(pw, 3, pw, 3, 1024, 8, 0, out, 32), 0);
    ck_assert_int_eq(p11kms_crypto_scrypt(pw, 3, pw, 3, (uint64_t)1 << 40, 8, 1, out, 32), 0);
    ck_assert_int_eq(p11kms_crypto_scrypt(pw, 3, pw, 3, P11KMS_SCRYPT_TEST_N,
                                          P11KMS_SCRYPT_DEFAULT_R, P11KMS_SCRYPT_DEFAULT_P, out, 0),
                     0);
    ck_assert_int_eq(p11kms_crypto_scrypt(pw, 3, pw, 3, P11KMS_SCRYPT_TEST_N,
                                          P11KMS_SCRYPT_DEFAULT_R, P11KMS_SCRYPT_DEFAULT_P, out,
                                          32),
                     1);
}
END_TEST

/* ---- AES-GCM ---- */

/* GCM specification (McGrew/Viega) test case 16, AES-256 with AAD. */
START_TEST(test_gcm_kat)
{
    size_t kl, pl, al, il;
    unsigned char *k =
        unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", &kl);
    unsigned char *p = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                             "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                             &pl);
    unsigned char *a = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", &al);
    unsigned char *iv = unhex("cafebabefacedbaddecaf888", &il);
    unsigned char ct[60], tag[16], back[60];

    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(k, kl, iv, il, a, al, p, pl, ct, tag, 16), 1);
    ck_assert_hex_eq(ct, pl,
                     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
    ck_assert_hex_eq(tag, sizeof(tag), "76fc6ece0f4e1768cddf8853bb2d551b");
    ck_assert_int_eq(p11kms_crypto_aes_gcm_open(k, kl, iv, il, a, al, ct, pl, tag, 16, back), 1);
    ck_assert_mem_eq(back, p, pl);
    /* in place */
    memcpy(back, p, pl);
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(k, kl, iv, il, a, al, back, pl, back, tag, 16), 1);
    ck_assert_mem_eq(back, ct, pl);
    free(k);
    free(p);
    free(a);
    free(iv);
}
END_TEST

/* Test case 13: empty plaintext, zero key and IV (a pure GMAC tag). */
START_TEST(test_gcm_kat_empty)
{
    unsigned char k[32] = {0}, iv[12] = {0}, tag[16];

    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(k, 32, iv, 12, NULL, 0, NULL, 0, NULL, tag, 16), 1);
    ck_assert_hex_eq(tag, sizeof(tag), "530f8afbc74536b9a963b4f1c4cb738b");
    ck_assert_int_eq(p11kms_crypto_aes_gcm_open(k, 32, iv, 12, NULL, 0, NULL, 0, tag, 16, NULL), 1);
    tag[0] ^= 0x80;
    ck_assert_int_eq(p11kms_crypto_aes_gcm_open(k, 32, iv, 12, NULL, 0, NULL, 0, tag, 16, NULL), 0);
}
END_TEST

START_TEST(test_gcm_tamper)
{
    unsigned char key[32], iv[12], pt[100], ct[100], out[100], tag[16];
    const unsigned char aad[] = "key-id|1|SYMMETRIC_DEFAULT";
    const unsigned char aad2[] = "key-id|2|SYMMETRIC_DEFAULT";

    ck_assert_int_eq(p11kms_crypto_random(key, sizeof(key)), 1);
    ck_assert_int_eq(p11kms_crypto_random(iv, sizeof(iv)), 1);
    memset(pt, 'x', sizeof(pt));
    ck_assert_int_eq(
        p11kms_crypto_aes_gcm_seal(key, 32, iv, 12, aad, sizeof(aad), pt, sizeof(pt), ct, tag, 16),
        1);
    /* another AAD (a row moved to another version) fails, output wiped */
    memset(out, 0xee, sizeof(out));
    ck_assert_int_eq(p11kms_crypto_aes_gcm_open(key, 32, iv, 12, aad2, sizeof(aad2), ct, sizeof(ct),
                                                tag, 16, out),
                     0);
    for (size_t i = 0; i < sizeof(out); i++)
        ck_assert_uint_eq(out[i], 0);
    /* a flipped ciphertext bit fails */
    ct[50] ^= 4;
    ck_assert_int_eq(
        p11kms_crypto_aes_gcm_open(key, 32, iv, 12, aad, sizeof(aad), ct, sizeof(ct), tag, 16, out),
        0);
    ct[50] ^= 4;
    /* a wrong IV fails */
    iv[0] ^= 1;
    ck_assert_int_eq(
        p11kms_crypto_aes_gcm_open(key, 32, iv, 12, aad, sizeof(aad), ct, sizeof(ct), tag, 16, out),
        0);
    iv[0] ^= 1;
    /* the last tag byte counts too */
    tag[15] ^= 1;
    ck_assert_int_eq(
        p11kms_crypto_aes_gcm_open(key, 32, iv, 12, aad, sizeof(aad), ct, sizeof(ct), tag, 16, out),
        0);
    tag[15] ^= 1;
    ck_assert_int_eq(
        p11kms_crypto_aes_gcm_open(key, 32, iv, 12, aad, sizeof(aad), ct, sizeof(ct), tag, 16, out),
        1);
    ck_assert_mem_eq(out, pt, sizeof(pt));
}
END_TEST

START_TEST(test_gcm_params)
{
    unsigned char key[32] = {1}, iv[128] = {2}, pt[33] = {3}, ct[33], out[33], tag[16];
    static const size_t keylens[] = {16, 24, 32};

    for (size_t i = 0; i < 3; i++) {
        /* every key size, a PKCS#11-style long IV and a 12-byte tag */
        ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(key, keylens[i], iv, 128, NULL, 0, pt,
                                                    sizeof(pt), ct, tag, 12),
                         1);
        ck_assert_int_eq(p11kms_crypto_aes_gcm_open(key, keylens[i], iv, 128, NULL, 0, ct,
                                                    sizeof(ct), tag, 12, out),
                         1);
        ck_assert_mem_eq(out, pt, sizeof(pt));
    }
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(key, 31, iv, 12, NULL, 0, pt, 1, ct, tag, 16), 0);
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(key, 32, iv, 0, NULL, 0, pt, 1, ct, tag, 16), 0);
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(key, 32, iv, 129, NULL, 0, pt, 1, ct, tag, 16), 0);
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(key, 32, iv, 12, NULL, 0, pt, 1, ct, tag, 17), 0);
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(key, 32, iv, 12, NULL, 0, pt, 1, ct, tag, 10), 0);
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(key, 32, iv, 12, NULL, 3, pt, 1, ct, tag, 16), 0);
    ck_assert_int_eq(p11kms_crypto_aes_gcm_seal(NULL, 32, iv, 12, NULL, 0, pt, 1, ct, tag, 16), 0);
}
END_TEST

/* ---- AES-CBC ---- */

/* NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt), first two blocks. */
START_TEST(test_cbc_kat)
{
    size_t kl, il, pl;
    unsigned char *k =
        unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", &kl);
    unsigned char *iv = unhex("000102030405060708090a0b0c0d0e0f", &il);
    unsigned char *p =
        unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", &pl);
    unsigned char ct[48], back[48];
    size_t cl = sizeof(ct), bl = sizeof(back);

    ck_assert_int_eq(p11kms_crypto_aes_cbc_encrypt(k, kl, iv, 0, p, pl, ct, &cl), 1);
    ck_assert_hex_eq(ct, cl, "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
    ck_assert_int_eq(p11kms_crypto_aes_cbc_decrypt(k, kl, iv, 0, ct, cl, back, &bl), 1);
    ck_assert_uint_eq(bl, pl);
    ck_assert_mem_eq(back, p, pl);
    /* with padding a full extra block is added, and it is checked */
    cl = sizeof(ct);
    ck_assert_int_eq(p11kms_crypto_aes_cbc_encrypt(k, kl, iv, 1, p, pl, ct, &cl), 1);
    ck_assert_uint_eq(cl, 48);
    ck_assert_hex_eq(ct, 32, "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
    bl = sizeof(back);
    ck_assert_int_eq(p11kms_crypto_aes_cbc_decrypt(k, kl, iv, 1, ct, cl, back, &bl), 1);
    ck_assert_uint_eq(bl, pl);
    ck_assert_mem_eq(back, p, pl);
    /* not block aligned without padding */
    cl = sizeof(ct);
    ck_assert_int_eq(p11kms_crypto_aes_cbc_encrypt(k, kl, iv, 0, p, 31, ct, &cl), 0);
    free(k);
    free(iv);
    free(p);
}
END_TEST

START_TEST(test_cbc_pad_sizes)
{
    unsigned char key[16] = {9}, iv[16] = {7}, pt[40], ct[64], back[64];

    for (size_t i = 0; i < sizeof(pt); i++)
        pt[i] = (unsigned char)(i * 3);
    for (size_t n = 0; n <= sizeof(pt); n++) {
        size_t cl = 0, bl = 0;

        ck_assert_int_eq(p11kms_crypto_aes_cbc_encrypt(key, 16, iv, 1, pt, n, NULL, &cl), 1);
        ck_assert_uint_eq(cl, (n / 16 + 1) * 16);
        cl -= 1; /* one byte short */
        ck_assert_int_eq(p11kms_crypto_aes_cbc_encrypt(key, 16, iv, 1, pt, n, ct, &cl), 0);
        ck_assert_uint_eq(cl, (n / 16 + 1) * 16);
        ck_assert_int_eq(p11kms_crypto_aes_cbc_encrypt(key, 16, iv, 1, pt, n, ct, &cl), 1);
        /* exact-size output buffer works for decryption too */
        bl = n;
        ck_assert_int_eq(p11kms_crypto_aes_cbc_decrypt(key, 16, iv, 1, ct, cl, back, &bl), 1);
        ck_assert_uint_eq(bl, n);
        ck_assert_mem_eq(back, pt, n);
        if (n > 0) {
            bl = n - 1;
            ck_assert_int_eq(p11kms_crypto_aes_cbc_decrypt(key, 16, iv, 1, ct, cl, back, &bl), 0);
            ck_assert_uint_eq(bl, n);
        }
    }
}
END_TEST

START_TEST(test_cbc_bad_padding)
{
    unsigned char key[32] = {1}, iv[16] = {0}, pt[16] = {0}, ct[32], back[32];
    size_t cl = sizeof(ct), bl = sizeof(back);
    int failures = 0;

    ck_assert_int_eq(p11kms_crypto_aes_cbc_encrypt(key, 32, iv, 1, pt, 16, ct, &cl), 1);
    /* corrupting the last block corrupts the padding (with overwhelming probability) */
    for (int i = 0; i < 16; i++) {
        ct[16 + i] ^= 0x55;
        bl = sizeof(back);
        failures += !p11kms_crypto_aes_cbc_decrypt(key, 32, iv, 1, ct, cl, back, &bl);
        ct[16 + i] ^= 0x55;
    }
    ck_assert_int_ge(failures, 15);
    /* a failed decryption leaves no partial plaintext behind */
    ct[31] ^= 0x55;
    memset(back, 0xaa, sizeof(back));
    bl = sizeof(back);
    if (!p11kms_crypto_aes_cbc_decrypt(key, 32, iv, 1, ct, cl, back, &bl))
        for (size_t i = 0; i < sizeof(back); i++)
            ck_assert_uint_eq(back[i], 0);
    ct[31] ^= 0x55;
    bl = sizeof(back);
    ck_assert_int_eq(p11kms_crypto_aes_cbc_decrypt(key, 32, iv, 1, ct, 17, back, &bl), 0);
    ck_assert_int_eq(p11kms_crypto_aes_cbc_decrypt(key, 32, iv, 1, ct, 0, back, &bl), 0);
}
END_TEST

/* ---- AES key wrap with padding ---- */

/* RFC 5649 section 6, both vectors (AES-192 KEK). */
START_TEST(test_wrap_kat)
{
    size_t kl, l1, l2;
    unsigned char *kek = unhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", &kl);
    unsigned char *k20 = unhex("c37b7e6492584340bed12207808941155068f738", &l1);
    unsigned char *k7 = unhex("466f7250617369", &l2);
    unsigned char out[64], back[64];
    size_t ol = sizeof(out), bl = sizeof(back);

    ck_assert_int_eq(p11kms_crypto_aes_wrap_pad(kek, kl, k20, l1, out, &ol), 1);
    ck_assert_hex_eq(out, ol, "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
    ck_assert_int_eq(p11kms_crypto_aes_unwrap_pad(kek, kl, out, ol, back, &bl), 1);
    ck_assert_uint_eq(bl, l1);
    ck_assert_mem_eq(back, k20, l1);
    ol = sizeof(out);
    ck_assert_int_eq(p11kms_crypto_aes_wrap_pad(kek, kl, k7, l2, out, &ol), 1);
    ck_assert_hex_eq(out, ol, "afbeb0f07dfbf5419200f2ccb50bb24f");
    bl = 7; /* exact size */
    ck_assert_int_eq(p11kms_crypto_aes_unwrap_pad(kek, kl, out, ol, back, &bl), 1);
    ck_assert_uint_eq(bl, 7);
    ck_assert_mem_eq(back, k7, 7);
    /* integrity: a flipped bit or another KEK fails */
    out[3] ^= 1;
    bl = sizeof(back);
    ck_assert_int_eq(p11kms_crypto_aes_unwrap_pad(kek, kl, out, ol, back, &bl), 0);
    out[3] ^= 1;
    kek[0] ^= 1;
    bl = sizeof(back);
    ck_assert_int_eq(p11kms_crypto_aes_unwrap_pad(kek, kl, out, ol, back, &bl), 0);
    free(kek);
    free(k20);
    free(k7);
}
END_TEST

START_TEST(test_wrap_sizes)
{
    unsigned char kek[32] = {4}, key[70], out[96], back[96];
    static const size_t keks[] = {16, 24, 32};

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(255 - i);
    for (size_t k = 0; k < 3; k++) {
        for (size_t n = 1; n <= sizeof(key); n += 3) {
            size_t ol = 0, bl = sizeof(back);

            ck_assert_int_eq(p11kms_crypto_aes_wrap_pad(kek, keks[k], key, n, NULL, &ol), 1);
            ck_assert_uint_eq(ol, (n + 7) / 8 * 8 + 8);
            ck_assert_int_eq(p11kms_crypto_aes_wrap_pad(kek, keks[k], key, n, out, &ol), 1);
            ck_assert_int_eq(p11kms_crypto_aes_unwrap_pad(kek, keks[k], out, ol, back, &bl), 1);
            ck_assert_uint_eq(bl, n);
            ck_assert_mem_eq(back, key, n);
        }
    }
    {
        size_t ol = sizeof(out);

        ck_assert_int_eq(p11kms_crypto_aes_wrap_pad(kek, 32, key, 0, out, &ol), 0);
        ck_assert_int_eq(p11kms_crypto_aes_wrap_pad(kek, 20, key, 8, out, &ol), 0);
        ck_assert_int_eq(p11kms_crypto_aes_unwrap_pad(kek, 32, out, 12, back, &ol), 0);
        ck_assert_int_eq(p11kms_crypto_aes_unwrap_pad(kek, 32, out, 8, back, &ol), 0);
    }
}
END_TEST

/* ---- threads ---- */

static void no_setup(void)
{
}

static void *worker(void *arg)
{
    unsigned char key[32], iv[12], pt[64], ct[64], back[64], tag[16], mac[32];
    size_t maclen;
    uintptr_t bad = 0;

    (void)arg;
    for (int i = 0; i < 200 && !bad; i++) {
        maclen = sizeof(mac);
        bad |= p11kms_crypto_libctx() == NULL;
        bad |= !p11kms_crypto_random(key, sizeof(key)) || !p11kms_crypto_random(iv, sizeof(iv));
        memset(pt, i, sizeof(pt));
        bad |= !p11kms_crypto_aes_gcm_seal(key, 32, iv, 12, NULL, 0, pt, 64, ct, tag, 16);
        bad |= !p11kms_crypto_aes_gcm_open(key, 32, iv, 12, NULL, 0, ct, 64, tag, 16, back);
        bad |= memcmp(back, pt, sizeof(pt)) != 0;
        bad |= !p11kms_crypto_hmac(P11KMS_MD_SHA256, key, 32, pt, 64, mac, &maclen);
        bad |= !p11kms_crypto_hmac_verify(P11KMS_MD_SHA256, key, 32, pt, 64, mac, maclen);
    }
    return (void *)bad;
}

/* The first use races in from several threads at once (pthread_once). */
START_TEST(test_concurrent_first_use)
{
    pthread_t t[6];

    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, NULL), 0);
    for (int i = 0; i < 6; i++) {
        void *ret = (void *)1;

        ck_assert_int_eq(pthread_join(t[i], &ret), 0);
        ck_assert_ptr_null(ret);
    }
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("common-crypto");
    TCase *tc = tcase_create("libctx");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_libctx_private);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_random_after_fork);
    tcase_add_test(tc, test_after_openssl_cleanup);
    suite_add_tcase(s, tc);

    tc = tcase_create("hash");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_digest_kat);
    tcase_add_test(tc, test_digest_sizes);
    tcase_add_test(tc, test_hmac_kat);
    tcase_add_test(tc, test_hmac_streaming);
    tcase_add_test(tc, test_memeq);
    suite_add_tcase(s, tc);

    tc = tcase_create("kdf");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_hkdf_kat);
    tcase_add_test(tc, test_scrypt_kat);
    tcase_add_test(tc, test_scrypt_params);
    suite_add_tcase(s, tc);

    tc = tcase_create("aes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_gcm_kat);
    tcase_add_test(tc, test_gcm_kat_empty);
    tcase_add_test(tc, test_gcm_tamper);
    tcase_add_test(tc, test_gcm_params);
    tcase_add_test(tc, test_cbc_kat);
    tcase_add_test(tc, test_cbc_pad_sizes);
    tcase_add_test(tc, test_cbc_bad_padding);
    tcase_add_test(tc, test_wrap_kat);
    tcase_add_test(tc, test_wrap_sizes);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, no_setup, teardown);
    tcase_add_test(tc, test_concurrent_first_use);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crypto_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
