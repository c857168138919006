/* tests/kms/test-kms-asym.c — asymmetric and HMAC keys (issue 5): every
 * signing algorithm and curve checked with OpenSSL's default provider
 * (independent of the engine's private library context), OAEP with a
 * GetPublicKey result, HMACs, and each error class with its own code. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kms/kms.h"
#include "tests/kms/kms-testutil.h"

#define SV  P11KMS_KMS_USAGE_SIGN_VERIFY
#define ED  P11KMS_KMS_USAGE_ENCRYPT_DECRYPT
#define RAW P11KMS_KMS_MESSAGE_RAW
#define DIG P11KMS_KMS_MESSAGE_DIGEST

static EVP_PKEY *public_key(const char *id, p11kms_kms_public_key *pk)
{
    const unsigned char *p;
    EVP_PKEY *k;

    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_get_public_key(kt.kms, &kt.caller, NULL, id, pk),
                                   P11KMS_KMS_OK));
    p = pk->spki.data;
    k = d2i_PUBKEY(NULL, &p, (long)pk->spki.len);
    ck_assert_ptr_nonnull(k);
    ck_assert(p == pk->spki.data + pk->spki.len);
    return k;
}

static const EVP_MD *alg_md(p11kms_kms_sign_alg alg)
{
    size_t n = p11kms_kms_sign_alg_digest_len(alg);
    return n == 32 ? EVP_sha256() : n == 48 ? EVP_sha384() : EVP_sha512();
}

static int is_pss(p11kms_kms_sign_alg alg)
{
    return alg <= P11KMS_KMS_SIGN_RSASSA_PSS_SHA_512;
}

/* Verifies sig over msg with OpenSSL's default provider. */
static int openssl_verify(EVP_PKEY *k, p11kms_kms_sign_alg alg, const uint8_t *msg, size_t len,
                          const p11kms_kms_bytes *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit(ctx, &pctx, alg_md(alg), NULL, k) == 1;

    if (ok && is_pss(alg))
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestVerify(ctx, sig->data, sig->len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void digest_of(p11kms_kms_sign_alg alg, const uint8_t *msg, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    ck_assert(EVP_Digest(msg, len, out, &n, alg_md(alg), NULL) == 1);
}

static void check_algorithms(const char *id, p11kms_kms_alg_set algs)
{
    const uint8_t msg[] = "message to sign";
    uint8_t dg[64];
    p11kms_kms_public_key pk;
    EVP_PKEY *k = public_key(id, &pk);
    p11kms_kms_bytes sig = {NULL, 0};

    for (int a = 0; a < P11KMS_KMS_SIGN_COUNT_; a++) {
        p11kms_kms_sign_alg alg = (p11kms_kms_sign_alg)a;
        if (!(algs & (1u << a)))
            continue;
        KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, id, msg,
                                                       sizeof(msg), RAW, alg, &sig),
                                       P11KMS_KMS_OK));
        ck_assert_msg(openssl_verify(k, alg, msg, sizeof(msg), &sig), "alg %d", a);
        KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_verify(kt.kms, &kt.caller, NULL, id, msg,
                                                         sizeof(msg), RAW, alg, sig.data, sig.len),
                                       P11KMS_KMS_OK));
        sig.data[sig.len / 2] ^= 0x20;
        KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_verify(kt.kms, &kt.caller, NULL, id, msg,
                                                         sizeof(msg), RAW, alg, sig.data, sig.len),
                                       P11KMS_KMS_INVALID_SIGNATURE));
        p11kms_kms_bytes_clear(&sig);
        digest_of(alg, msg, sizeof(msg), dg);
        ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, id, dg,
                                         p11kms_kms_sign_alg_digest_len(alg), DIG, alg, &sig),
                         P11KMS_KMS_OK);
        ck_assert(openssl_verify(k, alg, msg, sizeof(msg), &sig));
        ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, id, dg,
                                         p11kms_kms_sign_alg_digest_len(alg) - 1, DIG, alg, &sig),
                         P11KMS_KMS_VALIDATION);
        p11kms_kms_bytes_clear(&sig);
    }
    EVP_PKEY_free(k);
    p11kms_kms_bytes_clear(&pk.spki);
}

static void sign_specs(const p11kms_kms_key_spec *specs, size_t n)
{
    char id[37];
    p11kms_kms_key_meta m;

    for (size_t i = 0; i < n; i++) {
        kt_create(specs[i], SV, id);
        ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, id, &m), P11KMS_KMS_OK);
        ck_assert(m.signing_algorithms != 0);
        ck_assert_uint_eq(m.encryption_algorithms, 0);
        ck_assert(!m.rotation_enabled);
        check_algorithms(id, m.signing_algorithms);
        p11kms_kms_key_meta_clear(&m);
    }
}

START_TEST(test_sign_every_curve)
{
    static const p11kms_kms_key_spec specs[] = {
        P11KMS_KMS_SPEC_ECC_NIST_P256,
        P11KMS_KMS_SPEC_ECC_NIST_P384,
        P11KMS_KMS_SPEC_ECC_NIST_P521,
    };
    sign_specs(specs, 3);
}
END_TEST

START_TEST(test_sign_rsa_2048_3072)
{
    static const p11kms_kms_key_spec specs[] = {
        P11KMS_KMS_SPEC_RSA_2048,
        P11KMS_KMS_SPEC_RSA_3072,
    };
    sign_specs(specs, 2);
}
END_TEST

START_TEST(test_sign_rsa_4096)
{
    static const p11kms_kms_key_spec specs[] = {P11KMS_KMS_SPEC_RSA_4096};
    sign_specs(specs, 1);
}
END_TEST

START_TEST(test_sign_errors)
{
    char ec[37], rsa_enc[37];
    uint8_t big[4097] = {0};
    p11kms_kms_bytes sig = {NULL, 0};

    kt_create(P11KMS_KMS_SPEC_ECC_NIST_P256, SV, ec);
    kt_create(P11KMS_KMS_SPEC_RSA_2048, ED, rsa_enc);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, ec, big, 10, RAW,
                                                   P11KMS_KMS_SIGN_RSASSA_PSS_SHA_256, &sig),
                                   P11KMS_KMS_INVALID_KEY_USAGE));
    ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, ec, big, 10, RAW,
                                     P11KMS_KMS_SIGN_ECDSA_SHA_384, &sig),
                     P11KMS_KMS_INVALID_KEY_USAGE);
    ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, ec, big, 4097, RAW,
                                     P11KMS_KMS_SIGN_ECDSA_SHA_256, &sig),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, ec, big, 4096, RAW,
                                     P11KMS_KMS_SIGN_ECDSA_SHA_256, &sig),
                     P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&sig);
    ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, ec, big, 48, DIG,
                                     P11KMS_KMS_SIGN_ECDSA_SHA_256, &sig),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_sign(kt.kms, &kt.caller, NULL, rsa_enc, big, 10, RAW,
                                     P11KMS_KMS_SIGN_RSASSA_PSS_SHA_256, &sig),
                     P11KMS_KMS_INVALID_KEY_USAGE);
    ck_assert_ptr_null(sig.data);
}
END_TEST

START_TEST(test_oaep)
{
    char id[37], sv[37];
    p11kms_kms_public_key pk;
    EVP_PKEY *k;
    EVP_PKEY_CTX *c;
    uint8_t msg[215], ct[256];
    size_t ctlen = sizeof(ct);
    p11kms_kms_bytes pt = {NULL, 0}, ect = {NULL, 0};
    p11kms_kms_key_meta m;

    memset(msg, 'm', sizeof(msg));
    kt_create(P11KMS_KMS_SPEC_RSA_2048, ED, id);
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, id, &m), P11KMS_KMS_OK);
    ck_assert_uint_eq(m.encryption_algorithms, (1u << P11KMS_KMS_ENC_RSAES_OAEP_SHA_1) |
                                                   (1u << P11KMS_KMS_ENC_RSAES_OAEP_SHA_256));
    p11kms_kms_key_meta_clear(&m);
    k = public_key(id, &pk);
    ck_assert_int_eq(pk.usage, ED);
    c = EVP_PKEY_CTX_new(k, NULL);
    ck_assert(EVP_PKEY_encrypt_init(c) == 1);
    ck_assert(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1);
    ck_assert(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1);
    ck_assert(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1);
    ck_assert(EVP_PKEY_encrypt(c, ct, &ctlen, msg, 190) == 1);
    EVP_PKEY_CTX_free(c);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, id, ct, ctlen, NULL,
                                                      P11KMS_KMS_ENC_RSAES_OAEP_SHA_256, &pt, NULL),
                                   P11KMS_KMS_OK));
    ck_assert_uint_eq(pt.len, 190);
    ck_assert_mem_eq(pt.data, msg, 190);
    p11kms_kms_bytes_clear(&pt);
    ck_assert_int_eq(p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, id, ct, ctlen, NULL,
                                        P11KMS_KMS_ENC_RSAES_OAEP_SHA_1, &pt, NULL),
                     P11KMS_KMS_INVALID_CIPHERTEXT);
    /* KMS limits: 190 (SHA-256) and 214 (SHA-1) for RSA_2048. */
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, msg, 191, NULL,
                                        P11KMS_KMS_ENC_RSAES_OAEP_SHA_256, &ect, NULL),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, msg, 215, NULL,
                                        P11KMS_KMS_ENC_RSAES_OAEP_SHA_1, &ect, NULL),
                     P11KMS_KMS_VALIDATION);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, msg, 214, NULL,
                                                      P11KMS_KMS_ENC_RSAES_OAEP_SHA_1, &ect, NULL),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, id, ect.data, ect.len, NULL,
                                        P11KMS_KMS_ENC_RSAES_OAEP_SHA_1, &pt, NULL),
                     P11KMS_KMS_OK);
    ck_assert_uint_eq(pt.len, 214);
    p11kms_kms_bytes_clear(&pt);
    p11kms_kms_bytes_clear(&ect);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, msg, 10, NULL,
                                        P11KMS_KMS_ENC_SYMMETRIC_DEFAULT, &ect, NULL),
                     P11KMS_KMS_INVALID_KEY_USAGE);
    kt_create(P11KMS_KMS_SPEC_RSA_2048, SV, sv);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, sv, msg, 10, NULL,
                                        P11KMS_KMS_ENC_RSAES_OAEP_SHA_256, &ect, NULL),
                     P11KMS_KMS_INVALID_KEY_USAGE);
    EVP_PKEY_free(k);
    p11kms_kms_bytes_clear(&pk.spki);
}
END_TEST

START_TEST(test_hmac)
{
    static const p11kms_kms_key_spec specs[] = {P11KMS_KMS_SPEC_HMAC_256, P11KMS_KMS_SPEC_HMAC_384,
                                                P11KMS_KMS_SPEC_HMAC_512};
    char id[37];
    const uint8_t msg[] = "mac me";
    uint8_t big[4097] = {0};
    p11kms_kms_bytes mac = {NULL, 0}, mac2 = {NULL, 0};
    p11kms_kms_public_key pk;

    for (int i = 0; i < 3; i++) {
        p11kms_kms_mac_alg alg = (p11kms_kms_mac_alg)i;
        kt_create(specs[i], P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC, id);
        KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_generate_mac(kt.kms, &kt.caller, NULL, id, msg,
                                                               sizeof(msg), alg, &mac),
                                       P11KMS_KMS_OK));
        ck_assert_uint_eq(mac.len, 32 + 16 * (size_t)i);
        ck_assert_int_eq(
            p11kms_kms_generate_mac(kt.kms, &kt.caller, NULL, id, msg, sizeof(msg), alg, &mac2),
            P11KMS_KMS_OK);
        ck_assert_mem_eq(mac.data, mac2.data, mac.len);
        KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_verify_mac(kt.kms, &kt.caller, NULL, id, msg,
                                                             sizeof(msg), alg, mac.data, mac.len),
                                       P11KMS_KMS_OK));
        mac.data[0] ^= 1;
        KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_verify_mac(kt.kms, &kt.caller, NULL, id, msg,
                                                             sizeof(msg), alg, mac.data, mac.len),
                                       P11KMS_KMS_INVALID_MAC));
        ck_assert_int_eq(p11kms_kms_verify_mac(kt.kms, &kt.caller, NULL, id, msg, sizeof(msg), alg,
                                               mac.data, mac.len - 1),
                         P11KMS_KMS_INVALID_MAC);
        ck_assert_int_eq(p11kms_kms_generate_mac(kt.kms, &kt.caller, NULL, id, msg, sizeof(msg),
                                                 (p11kms_kms_mac_alg)((i + 1) % 3), &mac2),
                         P11KMS_KMS_INVALID_KEY_USAGE);
        ck_assert_int_eq(
            p11kms_kms_generate_mac(kt.kms, &kt.caller, NULL, id, big, 4097, alg, &mac2),
            P11KMS_KMS_VALIDATION);
        ck_assert_int_eq(p11kms_kms_generate_mac(kt.kms, &kt.caller, NULL, id, big, 0, alg, &mac2),
                         P11KMS_KMS_VALIDATION);
        ck_assert_int_eq(p11kms_kms_get_public_key(kt.kms, &kt.caller, NULL, id, &pk),
                         P11KMS_KMS_UNSUPPORTED);
        p11kms_kms_bytes_clear(&mac);
        p11kms_kms_bytes_clear(&mac2);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kms-asymmetric");
    TCase *tc = tcase_create("engine");

    tcase_add_checked_fixture(tc, kt_setup, kt_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sign_every_curve);
    tcase_add_test(tc, test_sign_rsa_2048_3072);
    tcase_add_test(tc, test_sign_rsa_4096);
    tcase_add_test(tc, test_sign_errors);
    tcase_add_test(tc, test_oaep);
    tcase_add_test(tc, test_hmac);
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
