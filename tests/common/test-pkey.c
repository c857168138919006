/*
 * tests/common/test-pkey.c - asymmetric keys of common/crypto.h:
 * generation, DER and PKCS#11-component import/export, every KMS signing
 * algorithm on every key size and curve (RAW and DIGEST), the raw PKCS#11
 * mechanisms, and RSA-OAEP.  Signatures and ciphertexts are cross-checked
 * against an independent OpenSSL library context of the test's own,
 * which only sees the exported SPKI / PKCS#8 DER.
 */
#include "config.h"

#include <check.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "tests/common/common-testutil.h"

/* ---- the independent verifier ---- */

static OSSL_LIB_CTX *indep;
static OSSL_PROVIDER *indep_prov;

static void setup(void)
{
    indep = OSSL_LIB_CTX_new();
    ck_assert_ptr_nonnull(indep);
    indep_prov = OSSL_PROVIDER_load(indep, "default");
    ck_assert_ptr_nonnull(indep_prov);
    ck_assert_ptr_nonnull(p11kms_crypto_libctx());
}

static void teardown(void)
{
    OSSL_PROVIDER_unload(indep_prov);
    OSSL_LIB_CTX_free(indep);
}

static EVP_PKEY *indep_public(const p11kms_crypto_pkey *k)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t len = 0;
    EVP_PKEY *pkey;

    ck_assert_int_eq(p11kms_crypto_pkey_public_der(k, &der, &len), 1);
    p = der;
    pkey = d2i_PUBKEY_ex(NULL, &p, (long)len, indep, NULL);
    ck_assert_ptr_nonnull(pkey);
    OPENSSL_free(der);
    return pkey;
}

static EVP_PKEY *indep_private(const p11kms_crypto_pkey *k)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t len = 0;
    PKCS8_PRIV_KEY_INFO *p8;
    EVP_PKEY *pkey;

    ck_assert_int_eq(p11kms_crypto_pkey_private_der(k, &der, &len), 1);
    p = der;
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    ck_assert_ptr_nonnull(p8);
    pkey = EVP_PKCS82PKEY_ex(p8, indep, NULL);
    ck_assert_ptr_nonnull(pkey);
    PKCS8_PRIV_KEY_INFO_free(p8);
    p11kms_crypto_free_secret(der, len);
    return pkey;
}

/* EVP_DigestSign/Verify setup of the independent context for a KMS algorithm. */
static EVP_MD_CTX *indep_md_ctx(EVP_PKEY *pkey, p11kms_sign_alg alg, int sign)
{
    const char *md = p11kms_crypto_md_name(p11kms_crypto_sign_alg_md(alg));
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int rc;

    ck_assert_ptr_nonnull(mctx);
    rc = sign ? EVP_DigestSignInit_ex(mctx, &pctx, md, indep, NULL, pkey, NULL)
              : EVP_DigestVerifyInit_ex(mctx, &pctx, md, indep, NULL, pkey, NULL);
    ck_assert_int_eq(rc, 1);
    if (strstr(p11kms_crypto_sign_alg_name(alg), "PSS") != NULL) {
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    return mctx;
}

static int indep_verify(EVP_PKEY *pub, p11kms_sign_alg alg, const unsigned char *msg, size_t msglen,
                        const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *mctx = indep_md_ctx(pub, alg, 0);
    int rc = EVP_DigestVerify(mctx, sig, siglen, msg, msglen);

    EVP_MD_CTX_free(mctx);
    return rc;
}

/* ---- key specs of the loop tests ---- */

static const struct {
    p11kms_key_kind kind;
    unsigned bits;
    p11kms_curve curve;
} specs[] = {
    {P11KMS_KEY_KIND_RSA, 2048, P11KMS_CURVE_NONE}, {P11KMS_KEY_KIND_RSA, 3072, P11KMS_CURVE_NONE},
    {P11KMS_KEY_KIND_RSA, 4096, P11KMS_CURVE_NONE}, {P11KMS_KEY_KIND_EC, 256, P11KMS_CURVE_P256},
    {P11KMS_KEY_KIND_EC, 384, P11KMS_CURVE_P384},   {P11KMS_KEY_KIND_EC, 521, P11KMS_CURVE_P521},
};
#define N_SPECS ((int)(sizeof(specs) / sizeof(specs[0])))

static p11kms_crypto_pkey *gen(int i)
{
    p11kms_crypto_pkey *k = specs[i].kind == P11KMS_KEY_KIND_RSA
                                ? p11kms_crypto_pkey_generate_rsa(specs[i].bits)
                                : p11kms_crypto_pkey_generate_ec(specs[i].curve);

    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(p11kms_crypto_pkey_kind(k), specs[i].kind);
    ck_assert_uint_eq(p11kms_crypto_pkey_bits(k), specs[i].bits);
    ck_assert_int_eq(p11kms_crypto_pkey_curve(k), specs[i].curve);
    ck_assert_int_eq(p11kms_crypto_pkey_is_private(k), 1);
    return k;
}

static p11kms_crypto_pkey *public_only(const p11kms_crypto_pkey *k)
{
    unsigned char *der = NULL;
    size_t len = 0;
    p11kms_crypto_pkey *pub;

    ck_assert_int_eq(p11kms_crypto_pkey_public_der(k, &der, &len), 1);
    pub = p11kms_crypto_pkey_from_der(der, len, 0);
    ck_assert_ptr_nonnull(pub);
    ck_assert_int_eq(p11kms_crypto_pkey_is_private(pub), 0);
    OPENSSL_free(der);
    return pub;
}

/* Every algorithm of the key's kind: RAW and DIGEST, both directions. */
START_TEST(test_sign_all_algorithms)
{
    static const unsigned char msg[] = "p11kms signs this message, 2026";
    p11kms_crypto_pkey *k = gen(_i), *pub = public_only(k);
    EVP_PKEY *ipub = indep_public(k), *ipriv = indep_private(k);
    int tested = 0;

    for (int a = P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256; a <= P11KMS_SIGN_ECDSA_SHA_512; a++) {
        p11kms_sign_alg alg = (p11kms_sign_alg)a;
        p11kms_md md = p11kms_crypto_sign_alg_md(alg);
        unsigned char sig[1024], dg[P11KMS_MD_MAX_SIZE];
        size_t siglen = sizeof(sig), dglen = sizeof(dg), max = 0;
        EVP_MD_CTX *mctx;

        if (p11kms_crypto_sign_alg_kind(alg) != specs[_i].kind) {
            /* an algorithm of the other kind is refused */
            ck_assert_int_eq(
                p11kms_crypto_sign(k, alg, P11KMS_MSG_RAW, msg, sizeof(msg), sig, &siglen), 0);
            continue;
        }
        tested++;
        ck_assert_int_eq(p11kms_crypto_sign(k, alg, P11KMS_MSG_RAW, msg, sizeof(msg), NULL, &max),
                         1);
        ck_assert_uint_eq(max, p11kms_crypto_pkey_sig_max(k));
        /* RAW: ours signs, the independent context and we both verify */
        ck_assert_int_eq(p11kms_crypto_sign(k, alg, P11KMS_MSG_RAW, msg, sizeof(msg), sig, &siglen),
                         1);
        ck_assert_uint_le(siglen, max);
        ck_assert_int_eq(indep_verify(ipub, alg, msg, sizeof(msg), sig, siglen), 1);
        ck_assert_int_eq(
            p11kms_crypto_verify(pub, alg, P11KMS_MSG_RAW, msg, sizeof(msg), sig, siglen), 1);
        /* DIGEST of the same message verifies the RAW signature */
        ck_assert_int_eq(p11kms_crypto_digest(md, msg, sizeof(msg), dg, &dglen), 1);
        ck_assert_int_eq(p11kms_crypto_verify(pub, alg, P11KMS_MSG_DIGEST, dg, dglen, sig, siglen),
                         1);
        /* DIGEST signature verified independently on the RAW message */
        siglen = sizeof(sig);
        ck_assert_int_eq(p11kms_crypto_sign(k, alg, P11KMS_MSG_DIGEST, dg, dglen, sig, &siglen), 1);
        ck_assert_int_eq(indep_verify(ipub, alg, msg, sizeof(msg), sig, siglen), 1);
        /* a wrong digest length is refused both ways */
        ck_assert_int_eq(p11kms_crypto_sign(k, alg, P11KMS_MSG_DIGEST, dg, dglen - 1, sig, &siglen),
                         0);
        ck_assert_int_eq(
            p11kms_crypto_verify(pub, alg, P11KMS_MSG_DIGEST, dg, dglen + 1, sig, siglen), 0);
        /* the independent context signs, we verify */
        mctx = indep_md_ctx(ipriv, alg, 1);
        siglen = sizeof(sig);
        ck_assert_int_eq(EVP_DigestSign(mctx, sig, &siglen, msg, sizeof(msg)), 1);
        EVP_MD_CTX_free(mctx);
        ck_assert_int_eq(
            p11kms_crypto_verify(pub, alg, P11KMS_MSG_RAW, msg, sizeof(msg), sig, siglen), 1);
        /* tampering: message, signature */
        ck_assert_int_eq(
            p11kms_crypto_verify(pub, alg, P11KMS_MSG_RAW, msg, sizeof(msg) - 1, sig, siglen), 0);
        sig[siglen / 2] ^= 0x01;
        ck_assert_int_eq(
            p11kms_crypto_verify(pub, alg, P11KMS_MSG_RAW, msg, sizeof(msg), sig, siglen), 0);
        /* a public key cannot sign */
        siglen = sizeof(sig);
        ck_assert_int_eq(
            p11kms_crypto_sign(pub, alg, P11KMS_MSG_RAW, msg, sizeof(msg), sig, &siglen), 0);
    }
    ck_assert_int_eq(tested, specs[_i].kind == P11KMS_KEY_KIND_RSA ? 6 : 3);
    EVP_PKEY_free(ipub);
    EVP_PKEY_free(ipriv);
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(k);
}
END_TEST

START_TEST(test_sign_alg_names)
{
    ck_assert_int_eq(p11kms_crypto_sign_alg_from_name("RSASSA_PSS_SHA_384"),
                     P11KMS_SIGN_RSASSA_PSS_SHA_384);
    ck_assert_int_eq(p11kms_crypto_sign_alg_from_name("ECDSA_SHA_512"), P11KMS_SIGN_ECDSA_SHA_512);
    ck_assert_int_eq(p11kms_crypto_sign_alg_from_name("ecdsa_sha_512"), P11KMS_SIGN_NONE);
    ck_assert_int_eq(p11kms_crypto_sign_alg_from_name(NULL), P11KMS_SIGN_NONE);
    ck_assert_str_eq(p11kms_crypto_sign_alg_name(P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256),
                     "RSASSA_PKCS1_V1_5_SHA_256");
    ck_assert_ptr_null(p11kms_crypto_sign_alg_name(P11KMS_SIGN_NONE));
    ck_assert_ptr_null(p11kms_crypto_sign_alg_name((p11kms_sign_alg)42));
    ck_assert_int_eq(p11kms_crypto_sign_alg_md(P11KMS_SIGN_ECDSA_SHA_384), P11KMS_MD_SHA384);
    ck_assert_int_eq(p11kms_crypto_sign_alg_kind(P11KMS_SIGN_RSASSA_PSS_SHA_256),
                     P11KMS_KEY_KIND_RSA);
}
END_TEST

/* ---- raw PKCS#11 mechanisms ---- */

START_TEST(test_rsa_pkcs_raw)
{
    /* DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1) */
    static const char prefix[] = "3031300d060960864801650304020105000420";
    static const unsigned char msg[] = "abc";
    p11kms_crypto_pkey *k = gen(0), *pub = public_only(k);
    unsigned char di[51], raw[256], kms[256], dg[32];
    size_t pl = 0, rl = sizeof(raw), kl = sizeof(kms), dl = sizeof(dg);
    unsigned char *pre = unhex(prefix, &pl);

    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA256, msg, 3, dg, &dl), 1);
    memcpy(di, pre, pl);
    memcpy(di + pl, dg, dl);
    /* CKM_RSA_PKCS over a DigestInfo == RSASSA-PKCS1-v1_5 (deterministic) */
    ck_assert_int_eq(p11kms_crypto_rsa_pkcs1_sign_raw(k, di, pl + dl, raw, &rl), 1);
    ck_assert_int_eq(p11kms_crypto_sign(k, P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256, P11KMS_MSG_RAW,
                                        msg, 3, kms, &kl),
                     1);
    ck_assert_uint_eq(rl, 256);
    ck_assert_uint_eq(kl, rl);
    ck_assert_mem_eq(raw, kms, rl);
    ck_assert_int_eq(p11kms_crypto_rsa_pkcs1_verify_raw(pub, di, pl + dl, raw, rl), 1);
    ck_assert_int_eq(p11kms_crypto_rsa_pkcs1_verify_raw(pub, di, pl + dl - 1, raw, rl), 0);
    /* arbitrary data up to k - 11 bytes, not beyond */
    {
        unsigned char big[246];

        memset(big, 0x42, sizeof(big));
        rl = sizeof(raw);
        ck_assert_int_eq(p11kms_crypto_rsa_pkcs1_sign_raw(k, big, 245, raw, &rl), 1);
        ck_assert_int_eq(p11kms_crypto_rsa_pkcs1_verify_raw(pub, big, 245, raw, rl), 1);
        rl = sizeof(raw);
        ck_assert_int_eq(p11kms_crypto_rsa_pkcs1_sign_raw(k, big, 246, raw, &rl), 0);
        rl = 255; /* buffer one byte short */
        ck_assert_int_eq(p11kms_crypto_rsa_pkcs1_sign_raw(k, big, 10, raw, &rl), 0);
        ck_assert_uint_eq(rl, 256);
    }
    free(pre);
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(k);
}
END_TEST

START_TEST(test_rsa_pss_raw)
{
    static const unsigned char msg[] = "pss message";
    p11kms_crypto_pkey *k = gen(0), *pub = public_only(k);
    unsigned char sig[256], dg[64];
    size_t sl = sizeof(sig), dl = sizeof(dg);

    /* SHA-256 / MGF1-SHA-256 / salt 32 is exactly RSASSA_PSS_SHA_256 */
    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA256, msg, sizeof(msg), dg, &dl), 1);
    ck_assert_int_eq(p11kms_crypto_rsa_pss_sign_digest(k, P11KMS_MD_SHA256, P11KMS_MD_SHA256, 32,
                                                       dg, dl, sig, &sl),
                     1);
    ck_assert_int_eq(p11kms_crypto_verify(pub, P11KMS_SIGN_RSASSA_PSS_SHA_256, P11KMS_MSG_RAW, msg,
                                          sizeof(msg), sig, sl),
                     1);
    /* other parameters: SHA-512 digest, MGF1-SHA-1, empty salt */
    dl = sizeof(dg);
    ck_assert_int_eq(p11kms_crypto_digest(P11KMS_MD_SHA512, msg, sizeof(msg), dg, &dl), 1);
    sl = sizeof(sig);
    ck_assert_int_eq(
        p11kms_crypto_rsa_pss_sign_digest(k, P11KMS_MD_SHA512, P11KMS_MD_SHA1, 0, dg, dl, sig, &sl),
        1);
    ck_assert_int_eq(p11kms_crypto_rsa_pss_verify_digest(pub, P11KMS_MD_SHA512, P11KMS_MD_SHA1, 0,
                                                         dg, dl, sig, sl),
                     1);
    /* other salt length or MGF hash: invalid */
    ck_assert_int_eq(p11kms_crypto_rsa_pss_verify_digest(pub, P11KMS_MD_SHA512, P11KMS_MD_SHA1, 1,
                                                         dg, dl, sig, sl),
                     0);
    ck_assert_int_eq(p11kms_crypto_rsa_pss_verify_digest(pub, P11KMS_MD_SHA512, P11KMS_MD_SHA256, 0,
                                                         dg, dl, sig, sl),
                     0);
    /* digest length must match the hash; salt must fit */
    sl = sizeof(sig);
    ck_assert_int_eq(p11kms_crypto_rsa_pss_sign_digest(k, P11KMS_MD_SHA256, P11KMS_MD_SHA256, 32,
                                                       dg, 64, sig, &sl),
                     0);
    ck_assert_int_eq(p11kms_crypto_rsa_pss_sign_digest(k, P11KMS_MD_SHA512, P11KMS_MD_SHA512, 191,
                                                       dg, 64, sig, &sl),
                     0);
    ck_assert_int_eq(p11kms_crypto_rsa_pss_sign_digest(k, P11KMS_MD_SHA512, P11KMS_MD_SHA512, 190,
                                                       dg, 64, sig, &sl),
                     1);
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(k);
}
END_TEST

/* CKM_ECDSA on every curve: raw r||s, any digest length. */
START_TEST(test_ecdsa_raw)
{
    p11kms_crypto_pkey *k = gen(3 + _i), *pub = public_only(k);
    size_t coord = p11kms_crypto_curve_size(specs[3 + _i].curve);
    unsigned char dg[64], raw[132], der[160];
    size_t rl = 0, dl = sizeof(der);

    ck_assert_int_eq(p11kms_crypto_random(dg, sizeof(dg)), 1);
    ck_assert_int_eq(p11kms_crypto_ecdsa_sign_digest_raw(k, dg, 32, NULL, &rl), 1);
    ck_assert_uint_eq(rl, 2 * coord);
    ck_assert_int_eq(p11kms_crypto_ecdsa_sign_digest_raw(k, dg, 32, raw, &rl), 1);
    ck_assert_uint_eq(rl, 2 * coord);
    ck_assert_int_eq(p11kms_crypto_ecdsa_verify_digest_raw(pub, dg, 32, raw, rl), 1);
    /* the same signature in DER verifies as ECDSA_SHA_256 on that digest */
    ck_assert_int_eq(p11kms_crypto_ecdsa_raw_to_der(raw, rl, der, &dl), 1);
    ck_assert_int_eq(
        p11kms_crypto_verify(pub, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_DIGEST, dg, 32, der, dl),
        1);
    /* and back */
    {
        unsigned char raw2[132];
        size_t r2 = sizeof(raw2);

        ck_assert_int_eq(p11kms_crypto_ecdsa_der_to_raw(der, dl, coord, raw2, &r2), 1);
        ck_assert_uint_eq(r2, rl);
        ck_assert_mem_eq(raw2, raw, rl);
    }
    /* digests longer and shorter than the order */
    for (size_t n = 1; n <= 64; n += 21) {
        rl = sizeof(raw);
        ck_assert_int_eq(p11kms_crypto_ecdsa_sign_digest_raw(k, dg, n, raw, &rl), 1);
        ck_assert_int_eq(p11kms_crypto_ecdsa_verify_digest_raw(pub, dg, n, raw, rl), 1);
        dg[0] ^= 1;
        ck_assert_int_eq(p11kms_crypto_ecdsa_verify_digest_raw(pub, dg, n, raw, rl), 0);
        dg[0] ^= 1;
    }
    ck_assert_int_eq(p11kms_crypto_ecdsa_verify_digest_raw(pub, dg, 32, raw, rl - 1), 0);
    rl = sizeof(raw);
    ck_assert_int_eq(p11kms_crypto_ecdsa_sign_digest_raw(k, dg, 0, raw, &rl), 0);
    ck_assert_int_eq(p11kms_crypto_ecdsa_sign_digest_raw(k, dg, 65, raw, &rl), 0);
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(k);
}
END_TEST

START_TEST(test_ecdsa_format_strict)
{
    /* SEQUENCE { INTEGER 1, INTEGER 2 } and a non-minimal variant */
    size_t l1, l2, l3;
    unsigned char *ok = unhex("3006020101020102", &l1);
    unsigned char *padded = unhex("300702020001020102", &l2);
    unsigned char *neg = unhex("30060201ff020102", &l3);
    unsigned char raw[8];
    size_t rl = sizeof(raw);

    ck_assert_int_eq(p11kms_crypto_ecdsa_der_to_raw(ok, l1, 4, raw, &rl), 1);
    ck_assert_hex_eq(raw, rl, "0000000100000002");
    rl = sizeof(raw);
    ck_assert_int_eq(p11kms_crypto_ecdsa_der_to_raw(padded, l2, 4, raw, &rl), 0);
    rl = sizeof(raw);
    ck_assert_int_eq(p11kms_crypto_ecdsa_der_to_raw(neg, l3, 4, raw, &rl), 0);
    rl = sizeof(raw);
    ck_assert_int_eq(p11kms_crypto_ecdsa_der_to_raw(ok, l1 - 1, 4, raw, &rl), 0);
    /* trailing garbage */
    {
        unsigned char tr[9];

        memcpy(tr, ok, 8);
        tr[8] = 0;
        rl = sizeof(raw);
        ck_assert_int_eq(p11kms_crypto_ecdsa_der_to_raw(tr, 9, 4, raw, &rl), 0);
    }
    /* a value that does not fit the coordinate size */
    {
        unsigned char big[20];
        size_t bl = sizeof(big);

        memset(big, 0xff, sizeof(big));
        ck_assert_int_eq(p11kms_crypto_ecdsa_raw_to_der(big, 20, big, &bl), 0); /* too small */
        ck_assert_int_eq(p11kms_crypto_ecdsa_raw_to_der(big, 19, NULL, &bl), 0);
    }
    {
        unsigned char r[16], der[40];
        size_t dl = sizeof(der);

        memset(r, 0xff, sizeof(r));
        ck_assert_int_eq(p11kms_crypto_ecdsa_raw_to_der(r, 16, der, &dl), 1);
        rl = sizeof(raw);
        ck_assert_int_eq(p11kms_crypto_ecdsa_der_to_raw(der, dl, 4, raw, &rl), 0);
    }
    free(ok);
    free(padded);
    free(neg);
}
END_TEST

/* ---- RSA-OAEP ---- */

START_TEST(test_oaep)
{
    static const p11kms_md hashes[] = {P11KMS_MD_SHA1, P11KMS_MD_SHA256, P11KMS_MD_SHA384,
                                       P11KMS_MD_SHA512};
    p11kms_crypto_pkey *k = gen(_i), *pub = public_only(k);
    EVP_PKEY *ipub = indep_public(k);
    size_t kb = specs[_i].bits / 8;
    unsigned char pt[512], ct[512], back[512];
    const unsigned char label[] = "the label";

    ck_assert_int_eq(p11kms_crypto_random(pt, sizeof(pt)), 1);
    for (size_t h = 0; h < 4; h++) {
        size_t max = p11kms_crypto_rsa_oaep_max_plaintext(k, hashes[h]);
        size_t cl = sizeof(ct), bl = sizeof(back);
        EVP_PKEY_CTX *ictx;

        ck_assert_uint_eq(max, kb - 2 * p11kms_crypto_md_size(hashes[h]) - 2);
        /* maximum-length plaintext with a label, MGF1 = same hash */
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_encrypt(pub, hashes[h], P11KMS_MD_NONE, label,
                                                        sizeof(label), pt, max, ct, &cl),
                         1);
        ck_assert_uint_eq(cl, kb);
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_decrypt(k, hashes[h], hashes[h], label,
                                                        sizeof(label), ct, cl, back, &bl),
                         1);
        ck_assert_uint_eq(bl, max);
        ck_assert_mem_eq(back, pt, max);
        /* another label, another hash: refused */
        bl = sizeof(back);
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_decrypt(k, hashes[h], hashes[h], label,
                                                        sizeof(label) - 1, ct, cl, back, &bl),
                         0);
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_decrypt(k, hashes[(h + 1) % 4], P11KMS_MD_NONE,
                                                        label, sizeof(label), ct, cl, back, &bl),
                         0);
        /* one byte too many */
        cl = sizeof(ct);
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_encrypt(pub, hashes[h], P11KMS_MD_NONE, NULL, 0, pt,
                                                        max + 1, ct, &cl),
                         0);
        /* independent encryption (no label, MGF1-SHA-1) decrypts here */
        ictx = EVP_PKEY_CTX_new_from_pkey(indep, ipub, NULL);
        ck_assert_ptr_nonnull(ictx);
        ck_assert_int_eq(EVP_PKEY_encrypt_init(ictx), 1);
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ictx, RSA_PKCS1_OAEP_PADDING), 1);
        ck_assert_int_eq(
            EVP_PKEY_CTX_set_rsa_oaep_md_name(ictx, p11kms_crypto_md_name(hashes[h]), NULL), 1);
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ictx, "SHA1", NULL), 1);
        cl = sizeof(ct);
        ck_assert_int_eq(EVP_PKEY_encrypt(ictx, ct, &cl, pt, 16), 1);
        EVP_PKEY_CTX_free(ictx);
        bl = 16; /* an exact-size buffer is enough */
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_decrypt(k, hashes[h], P11KMS_MD_SHA1, NULL, 0, ct,
                                                        cl, back, &bl),
                         1);
        ck_assert_uint_eq(bl, 16);
        ck_assert_mem_eq(back, pt, 16);
        bl = 15;
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_decrypt(k, hashes[h], P11KMS_MD_SHA1, NULL, 0, ct,
                                                        cl, back, &bl),
                         0);
        /* a public key cannot decrypt */
        bl = sizeof(back);
        ck_assert_int_eq(p11kms_crypto_rsa_oaep_decrypt(pub, hashes[h], P11KMS_MD_SHA1, NULL, 0, ct,
                                                        cl, back, &bl),
                         0);
    }
    EVP_PKEY_free(ipub);
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(k);
}
END_TEST

/* ---- import / export ---- */

/* RSA-4096 generation is slow; its DER path is the same as 2048/3072's. */
static const int der_specs[] = {0, 1, 3, 4, 5};

START_TEST(test_der_round_trip)
{
    p11kms_crypto_pkey *k = gen(der_specs[_i]), *k2;
    unsigned char *priv = NULL, *pub = NULL, *pub2 = NULL, *spki = NULL, *bad;
    size_t privlen = 0, publen = 0, pub2len = 0, spkilen = 0;

    ck_assert_int_eq(p11kms_crypto_pkey_private_der(k, &priv, &privlen), 1);
    ck_assert_int_eq(p11kms_crypto_pkey_public_der(k, &pub, &publen), 1);
    k2 = p11kms_crypto_pkey_from_der(priv, privlen, 1);
    ck_assert_ptr_nonnull(k2);
    ck_assert_int_eq(p11kms_crypto_pkey_public_der(k2, &pub2, &pub2len), 1);
    ck_assert_uint_eq(publen, pub2len);
    ck_assert_mem_eq(pub, pub2, publen);
    ck_assert_int_eq(p11kms_crypto_spki_from_pkcs8(priv, privlen, &spki, &spkilen), 1);
    ck_assert_uint_eq(spkilen, publen);
    ck_assert_mem_eq(spki, pub, publen);
    /* trailing bytes, truncation, the wrong structure: refused */
    bad = malloc(privlen + 1);
    memcpy(bad, priv, privlen);
    bad[privlen] = 0;
    ck_assert_ptr_null(p11kms_crypto_pkey_from_der(bad, privlen + 1, 1));
    ck_assert_ptr_null(p11kms_crypto_pkey_from_der(bad, privlen - 1, 1));
    ck_assert_ptr_null(p11kms_crypto_pkey_from_der(priv, privlen, 0));
    ck_assert_ptr_null(p11kms_crypto_pkey_from_der(pub, publen, 1));
    ck_assert_ptr_null(p11kms_crypto_pkey_from_der(pub, 0, 0));
    free(bad);
    /* reference counting */
    ck_assert_int_eq(p11kms_crypto_pkey_up_ref(k2), 1);
    p11kms_crypto_pkey_free(k2);
    ck_assert_ptr_nonnull(p11kms_crypto_pkey_evp(k2));
    p11kms_crypto_pkey_free(k2);
    p11kms_crypto_free_secret(priv, privlen);
    OPENSSL_free(pub);
    OPENSSL_free(pub2);
    OPENSSL_free(spki);
    p11kms_crypto_pkey_free(k);
}
END_TEST

static unsigned char *bn_bytes(EVP_PKEY *pkey, const char *name, size_t *len)
{
    BIGNUM *bn = NULL;
    unsigned char *out;

    ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
    *len = (size_t)BN_num_bytes(bn);
    out = malloc(*len);
    BN_bn2bin(bn, out);
    BN_clear_free(bn);
    return out;
}

START_TEST(test_rsa_components)
{
    static const char *names[] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                                  OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                  OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                  OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    p11kms_crypto_pkey *k = gen(0), *pub, *priv;
    EVP_PKEY *evp = p11kms_crypto_pkey_evp(k);
    unsigned char *n = NULL, *e = NULL, *v[8], sig[256];
    size_t nl = 0, el = 0, vl[8], sl = sizeof(sig);

    ck_assert_int_eq(p11kms_crypto_pkey_rsa_public(k, &n, &nl, &e, &el), 1);
    ck_assert_uint_eq(nl, 256);
    ck_assert_uint_eq(el, 3);
    ck_assert_hex_eq(e, el, "010001");
    pub = p11kms_crypto_pkey_from_rsa_public(n, nl, e, el);
    ck_assert_ptr_nonnull(pub);
    for (int i = 0; i < 8; i++)
        v[i] = bn_bytes(evp, names[i], &vl[i]);
    priv = p11kms_crypto_pkey_from_rsa_private(v[0], vl[0], v[1], vl[1], v[2], vl[2], v[3], vl[3],
                                               v[4], vl[4], v[5], vl[5], v[6], vl[6], v[7], vl[7]);
    ck_assert_ptr_nonnull(priv);
    ck_assert_int_eq(p11kms_crypto_sign(priv, P11KMS_SIGN_RSASSA_PSS_SHA_256, P11KMS_MSG_RAW,
                                        (const unsigned char *)"x", 1, sig, &sl),
                     1);
    ck_assert_int_eq(p11kms_crypto_verify(pub, P11KMS_SIGN_RSASSA_PSS_SHA_256, P11KMS_MSG_RAW,
                                          (const unsigned char *)"x", 1, sig, sl),
                     1);
    /* inconsistent components are refused (q changed by one bit) */
    v[4][vl[4] - 1] ^= 2;
    ck_assert_ptr_null(p11kms_crypto_pkey_from_rsa_private(v[0], vl[0], v[1], vl[1], v[2], vl[2],
                                                           v[3], vl[3], v[4], vl[4], v[5], vl[5],
                                                           v[6], vl[6], v[7], vl[7]));
    /* missing components are refused */
    ck_assert_ptr_null(p11kms_crypto_pkey_from_rsa_private(v[0], vl[0], v[1], vl[1], v[2], vl[2],
                                                           NULL, 0, v[4], vl[4], v[5], vl[5], v[6],
                                                           vl[6], v[7], vl[7]));
    /* an even modulus is not a key */
    n[nl - 1] &= 0xfe;
    ck_assert_ptr_null(p11kms_crypto_pkey_from_rsa_public(n, nl, e, el));
    for (int i = 0; i < 8; i++) {
        OPENSSL_cleanse(v[i], vl[i]);
        free(v[i]);
    }
    OPENSSL_free(n);
    OPENSSL_free(e);
    p11kms_crypto_pkey_free(priv);
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(k);
}
END_TEST

START_TEST(test_ec_components)
{
    static const char *oids[] = {"06082a8648ce3d030107", "06052b81040022", "06052b81040023"};
    p11kms_crypto_pkey *k = gen(3 + _i), *pub, *pub2, *priv;
    size_t coord = p11kms_crypto_curve_size(specs[3 + _i].curve), hdr = coord == 66 ? 3 : 2;
    unsigned char *params = NULL, *point = NULL, *d, *spki1 = NULL, *spki2 = NULL;
    size_t pl = 0, ptl = 0, dl = 0, s1 = 0, s2 = 0;
    unsigned char sig[200];
    size_t sl = sizeof(sig);

    ck_assert_int_eq(p11kms_crypto_pkey_ec_public(k, &params, &pl, &point, &ptl), 1);
    ck_assert_hex_eq(params, pl, oids[_i]);
    ck_assert_uint_eq(ptl, hdr + 1 + 2 * coord);
    ck_assert_uint_eq(point[0], 0x04);
    ck_assert_uint_eq(point[hdr - 1], 1 + 2 * coord);
    ck_assert_uint_eq(point[hdr], 0x04);
    /* DER-wrapped and bare points both import, to the same SPKI */
    pub = p11kms_crypto_pkey_from_ec_public(params, pl, point, ptl);
    pub2 = p11kms_crypto_pkey_from_ec_public(params, pl, point + hdr, ptl - hdr);
    ck_assert_ptr_nonnull(pub);
    ck_assert_ptr_nonnull(pub2);
    ck_assert_int_eq(p11kms_crypto_pkey_public_der(k, &spki1, &s1), 1);
    ck_assert_int_eq(p11kms_crypto_pkey_public_der(pub2, &spki2, &s2), 1);
    ck_assert_uint_eq(s1, s2);
    ck_assert_mem_eq(spki1, spki2, s1);
    /* a point off the curve and a wrong curve are refused */
    point[ptl - 1] ^= 1;
    ck_assert_ptr_null(p11kms_crypto_pkey_from_ec_public(params, pl, point, ptl));
    point[ptl - 1] ^= 1;
    ck_assert_ptr_null(p11kms_crypto_pkey_from_ec_public(params, pl - 1, point, ptl));
    ck_assert_ptr_null(p11kms_crypto_pkey_from_ec_public(params, pl, point, ptl - 1));
    /* the private scalar alone rebuilds the key (public point computed) */
    d = bn_bytes(p11kms_crypto_pkey_evp(k), OSSL_PKEY_PARAM_PRIV_KEY, &dl);
    priv = p11kms_crypto_pkey_from_ec_private(params, pl, d, dl);
    ck_assert_ptr_nonnull(priv);
    OPENSSL_free(spki2);
    ck_assert_int_eq(p11kms_crypto_pkey_public_der(priv, &spki2, &s2), 1);
    ck_assert_uint_eq(s1, s2);
    ck_assert_mem_eq(spki1, spki2, s1);
    ck_assert_int_eq(p11kms_crypto_sign(priv, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_RAW,
                                        (const unsigned char *)"m", 1, sig, &sl),
                     1);
    ck_assert_int_eq(p11kms_crypto_verify(pub, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_RAW,
                                          (const unsigned char *)"m", 1, sig, sl),
                     1);
    /* d = 0 and d >= order are refused */
    {
        unsigned char zero[1] = {0}, ff[66];

        memset(ff, 0xff, sizeof(ff));
        ck_assert_ptr_null(p11kms_crypto_pkey_from_ec_private(params, pl, zero, 1));
        ck_assert_ptr_null(p11kms_crypto_pkey_from_ec_private(params, pl, ff, coord));
    }
    OPENSSL_cleanse(d, dl);
    free(d);
    OPENSSL_free(params);
    OPENSSL_free(point);
    OPENSSL_free(spki1);
    OPENSSL_free(spki2);
    p11kms_crypto_pkey_free(priv);
    p11kms_crypto_pkey_free(pub);
    p11kms_crypto_pkey_free(pub2);
    p11kms_crypto_pkey_free(k);
}
END_TEST

START_TEST(test_bad_generation)
{
    ck_assert_ptr_null(p11kms_crypto_pkey_generate_rsa(1024));
    ck_assert_ptr_null(p11kms_crypto_pkey_generate_rsa(2049));
    ck_assert_ptr_null(p11kms_crypto_pkey_generate_ec(P11KMS_CURVE_NONE));
    ck_assert_ptr_null(p11kms_crypto_pkey_generate_ec((p11kms_curve)9));
    /* component getters refuse the wrong kind */
    {
        p11kms_crypto_pkey *k = gen(3);
        unsigned char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;

        ck_assert_int_eq(p11kms_crypto_pkey_rsa_public(k, &a, &al, &b, &bl), 0);
        ck_assert_ptr_null(a);
        ck_assert_uint_eq(p11kms_crypto_rsa_oaep_max_plaintext(k, P11KMS_MD_SHA256), 0);
        p11kms_crypto_pkey_free(k);
    }
}
END_TEST

static Suite *pkey_suite(void)
{
    Suite *s = suite_create("common-pkey");
    TCase *tc = tcase_create("sign");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_sign_all_algorithms, 0, N_SPECS);
    tcase_add_test(tc, test_sign_alg_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("raw");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rsa_pkcs_raw);
    tcase_add_test(tc, test_rsa_pss_raw);
    tcase_add_loop_test(tc, test_ecdsa_raw, 0, 3);
    tcase_add_test(tc, test_ecdsa_format_strict);
    suite_add_tcase(s, tc);

    tc = tcase_create("oaep");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_oaep, 0, 2); /* 2048, 3072 */
    suite_add_tcase(s, tc);

    tc = tcase_create("import");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_der_round_trip, 0,
                        (int)(sizeof(der_specs) / sizeof(der_specs[0])));
    tcase_add_test(tc, test_rsa_components);
    tcase_add_loop_test(tc, test_ec_components, 0, 3);
    tcase_add_test(tc, test_bad_generation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pkey_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
