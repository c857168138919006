/*
 * common/sign.c - signatures: the nine KMS signing algorithms on RAW
 * messages or DIGESTs, the raw PKCS#11 mechanisms (CKM_RSA_PKCS,
 * CKM_RSA_PKCS_PSS, CKM_ECDSA) and ECDSA DER <-> r||s conversion.
 *
 * A RAW message is hashed here and then signed as a DIGEST, so both
 * message types share one path and produce verifiable-by-each-other
 * signatures.  Signatures are produced into a stack buffer and copied, so
 * callers may size their buffer exactly (ECDSA DER length varies).
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/crypto-internal.h"

static const struct {
    const char *name;
    p11kms_md md;
    p11kms_key_kind kind;
    int rsa_pad;
} algs[] = {
    [P11KMS_SIGN_NONE] = {NULL, P11KMS_MD_NONE, P11KMS_KEY_KIND_NONE, 0},
    [P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256] = {"RSASSA_PKCS1_V1_5_SHA_256", P11KMS_MD_SHA256,
                                               P11KMS_KEY_KIND_RSA, RSA_PKCS1_PADDING},
    [P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_384] = {"RSASSA_PKCS1_V1_5_SHA_384", P11KMS_MD_SHA384,
                                               P11KMS_KEY_KIND_RSA, RSA_PKCS1_PADDING},
    [P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_512] = {"RSASSA_PKCS1_V1_5_SHA_512", P11KMS_MD_SHA512,
                                               P11KMS_KEY_KIND_RSA, RSA_PKCS1_PADDING},
    [P11KMS_SIGN_RSASSA_PSS_SHA_256] = {"RSASSA_PSS_SHA_256", P11KMS_MD_SHA256, P11KMS_KEY_KIND_RSA,
                                        RSA_PKCS1_PSS_PADDING},
    [P11KMS_SIGN_RSASSA_PSS_SHA_384] = {"RSASSA_PSS_SHA_384", P11KMS_MD_SHA384, P11KMS_KEY_KIND_RSA,
                                        RSA_PKCS1_PSS_PADDING},
    [P11KMS_SIGN_RSASSA_PSS_SHA_512] = {"RSASSA_PSS_SHA_512", P11KMS_MD_SHA512, P11KMS_KEY_KIND_RSA,
                                        RSA_PKCS1_PSS_PADDING},
    [P11KMS_SIGN_ECDSA_SHA_256] = {"ECDSA_SHA_256", P11KMS_MD_SHA256, P11KMS_KEY_KIND_EC, 0},
    [P11KMS_SIGN_ECDSA_SHA_384] = {"ECDSA_SHA_384", P11KMS_MD_SHA384, P11KMS_KEY_KIND_EC, 0},
    [P11KMS_SIGN_ECDSA_SHA_512] = {"ECDSA_SHA_512", P11KMS_MD_SHA512, P11KMS_KEY_KIND_EC, 0},
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

static int alg_ok(p11kms_sign_alg alg)
{
    return alg > P11KMS_SIGN_NONE && (size_t)alg < N_ALGS;
}

const char *p11kms_crypto_sign_alg_name(p11kms_sign_alg alg)
{
    return alg_ok(alg) ? algs[alg].name : NULL;
}

p11kms_sign_alg p11kms_crypto_sign_alg_from_name(const char *name)
{
    for (size_t i = 1; name != NULL && i < N_ALGS; i++)
        if (strcmp(name, algs[i].name) == 0)
            return (p11kms_sign_alg)i;
    return P11KMS_SIGN_NONE;
}

p11kms_md p11kms_crypto_sign_alg_md(p11kms_sign_alg alg)
{
    return alg_ok(alg) ? algs[alg].md : P11KMS_MD_NONE;
}

p11kms_key_kind p11kms_crypto_sign_alg_kind(p11kms_sign_alg alg)
{
    return alg_ok(alg) ? algs[alg].kind : P11KMS_KEY_KIND_NONE;
}

/* Parameters of one signature operation on a key. */
typedef struct sig_params {
    p11kms_md md;   /* NONE: raw mechanism, no DigestInfo / no length check */
    int rsa_pad;    /* RSA padding mode; ignored for EC */
    p11kms_md mgf1; /* PSS only */
    int saltlen;    /* PSS only */
} sig_params;

static EVP_PKEY_CTX *op_ctx(const p11kms_crypto_pkey *k, int sign, const sig_params *sp)
{
    EVP_PKEY_CTX *ctx = p11kms_crypto_pkey_ctx(k);
    int ok = 0;

    if (ctx == NULL)
        goto done;
    if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1)
        goto done;
    if (p11kms_crypto_pkey_kind(k) == P11KMS_KEY_KIND_RSA &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, sp->rsa_pad) != 1)
        goto done;
    if (sp->md != P11KMS_MD_NONE &&
        EVP_PKEY_CTX_set_signature_md(ctx, p11kms_crypto_md_evp(sp->md)) != 1)
        goto done;
    if (sp->rsa_pad == RSA_PKCS1_PSS_PADDING &&
        (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11kms_crypto_md_evp(sp->mgf1)) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, sp->saltlen) != 1))
        goto done;
    ok = 1;
done:
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* EVP_PKEY_sign into a local buffer, then the output convention. */
static int sign_tbs(const p11kms_crypto_pkey *k, const sig_params *sp, const unsigned char *tbs,
                    size_t tbslen, unsigned char *sig, size_t *siglen)
{
    unsigned char tmp[P11KMS_CRYPTO_SIG_BUF];
    size_t len = sizeof(tmp), max = p11kms_crypto_pkey_sig_max(k);
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;

    if (!p11kms_crypto_pkey_is_private(k) || tbs == NULL || tbslen == 0 || max == 0 ||
        max > sizeof(tmp) || siglen == NULL)
        goto done;
    if (sig == NULL) {
        *siglen = max;
        ok = 1;
        goto done;
    }
    ctx = op_ctx(k, 1, sp);
    if (ctx == NULL || EVP_PKEY_sign(ctx, tmp, &len, tbs, tbslen) != 1)
        goto done;
    if (len > *siglen) {
        *siglen = len;
        goto done;
    }
    memcpy(sig, tmp, len);
    *siglen = len;
    ok = 1;
done:
    EVP_PKEY_CTX_free(ctx);
    return ok ? 1 : p11kms_crypto_fail();
}

static int verify_tbs(const p11kms_crypto_pkey *k, const sig_params *sp, const unsigned char *tbs,
                      size_t tbslen, const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;

    if (k == NULL || tbs == NULL || tbslen == 0 || sig == NULL || siglen == 0)
        goto done;
    ctx = op_ctx(k, 0, sp);
    ok = ctx != NULL && EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen) == 1;
done:
    EVP_PKEY_CTX_free(ctx);
    return ok ? 1 : p11kms_crypto_fail();
}

/*
 * The digest to sign for a KMS algorithm: msg itself (DIGEST, length
 * checked) or its hash (RAW, into dg).
 */
static int kms_tbs(const p11kms_crypto_pkey *k, p11kms_sign_alg alg, p11kms_msg_type type,
                   const unsigned char *msg, size_t msglen, unsigned char dg[P11KMS_MD_MAX_SIZE],
                   const unsigned char **tbs, size_t *tbslen, sig_params *sp)
{
    size_t dglen = P11KMS_MD_MAX_SIZE;

    if (!alg_ok(alg) || p11kms_crypto_pkey_kind(k) != algs[alg].kind || (msg == NULL && msglen > 0))
        return 0;
    sp->md = sp->mgf1 = algs[alg].md;
    sp->rsa_pad = algs[alg].rsa_pad;
    sp->saltlen = RSA_PSS_SALTLEN_DIGEST;
    if (type == P11KMS_MSG_DIGEST) {
        *tbs = msg;
        *tbslen = msglen;
        return msglen == p11kms_crypto_md_size(sp->md);
    }
    if (type != P11KMS_MSG_RAW || !p11kms_crypto_digest(sp->md, msg, msglen, dg, &dglen))
        return 0;
    *tbs = dg;
    *tbslen = dglen;
    return 1;
}

int p11kms_crypto_sign(const p11kms_crypto_pkey *k, p11kms_sign_alg alg, p11kms_msg_type type,
                       const unsigned char *msg, size_t msglen, unsigned char *sig, size_t *siglen)
{
    unsigned char dg[P11KMS_MD_MAX_SIZE];
    const unsigned char *tbs = NULL;
    size_t tbslen = 0;
    sig_params sp;
    int ok;

    ok = kms_tbs(k, alg, type, msg, msglen, dg, &tbs, &tbslen, &sp) &&
         sign_tbs(k, &sp, tbs, tbslen, sig, siglen);
    OPENSSL_cleanse(dg, sizeof(dg));
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_verify(const p11kms_crypto_pkey *k, p11kms_sign_alg alg, p11kms_msg_type type,
                         const unsigned char *msg, size_t msglen, const unsigned char *sig,
                         size_t siglen)
{
    unsigned char dg[P11KMS_MD_MAX_SIZE];
    const unsigned char *tbs = NULL;
    size_t tbslen = 0;
    sig_params sp;
    int ok;

    ok = kms_tbs(k, alg, type, msg, msglen, dg, &tbs, &tbslen, &sp) &&
         verify_tbs(k, &sp, tbs, tbslen, sig, siglen);
    return ok ? 1 : p11kms_crypto_fail();
}

/* ---- raw PKCS#11 mechanisms ---- */

static int rsa_pkcs1_raw_ok(const p11kms_crypto_pkey *k, size_t inlen)
{
    size_t kb = p11kms_crypto_pkey_rsa_bytes(k);

    return kb > 11 && inlen > 0 && inlen <= kb - 11;
}

int p11kms_crypto_rsa_pkcs1_sign_raw(const p11kms_crypto_pkey *k, const unsigned char *in,
                                     size_t inlen, unsigned char *sig, size_t *siglen)
{
    const sig_params sp = {P11KMS_MD_NONE, RSA_PKCS1_PADDING, P11KMS_MD_NONE, 0};

    if (!rsa_pkcs1_raw_ok(k, inlen))
        return p11kms_crypto_fail();
    return sign_tbs(k, &sp, in, inlen, sig, siglen);
}

int p11kms_crypto_rsa_pkcs1_verify_raw(const p11kms_crypto_pkey *k, const unsigned char *in,
                                       size_t inlen, const unsigned char *sig, size_t siglen)
{
    const sig_params sp = {P11KMS_MD_NONE, RSA_PKCS1_PADDING, P11KMS_MD_NONE, 0};

    if (!rsa_pkcs1_raw_ok(k, inlen) || siglen != p11kms_crypto_pkey_rsa_bytes(k))
        return p11kms_crypto_fail();
    return verify_tbs(k, &sp, in, inlen, sig, siglen);
}

static int pss_params(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1, size_t saltlen,
                      size_t dgstlen, sig_params *sp)
{
    size_t kb = p11kms_crypto_pkey_rsa_bytes(k), hlen = p11kms_crypto_md_size(hash);

    if (kb == 0 || hlen == 0 || dgstlen != hlen || p11kms_crypto_md_size(mgf1) == 0 ||
        kb < hlen + 2 || saltlen > kb - hlen - 2)
        return 0;
    sp->md = hash;
    sp->mgf1 = mgf1;
    sp->rsa_pad = RSA_PKCS1_PSS_PADDING;
    sp->saltlen = (int)saltlen;
    return 1;
}

int p11kms_crypto_rsa_pss_sign_digest(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                      size_t saltlen, const unsigned char *dgst, size_t dgstlen,
                                      unsigned char *sig, size_t *siglen)
{
    sig_params sp;

    if (!pss_params(k, hash, mgf1, saltlen, dgstlen, &sp))
        return p11kms_crypto_fail();
    return sign_tbs(k, &sp, dgst, dgstlen, sig, siglen);
}

int p11kms_crypto_rsa_pss_verify_digest(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                        size_t saltlen, const unsigned char *dgst, size_t dgstlen,
                                        const unsigned char *sig, size_t siglen)
{
    sig_params sp;

    if (!pss_params(k, hash, mgf1, saltlen, dgstlen, &sp))
        return p11kms_crypto_fail();
    return verify_tbs(k, &sp, dgst, dgstlen, sig, siglen);
}

int p11kms_crypto_ecdsa_sign_digest_raw(const p11kms_crypto_pkey *k, const unsigned char *dgst,
                                        size_t dgstlen, unsigned char *sig, size_t *siglen)
{
    const sig_params sp = {P11KMS_MD_NONE, 0, P11KMS_MD_NONE, 0};
    size_t coord = p11kms_crypto_curve_size(p11kms_crypto_pkey_curve(k));
    unsigned char der[P11KMS_CRYPTO_SIG_BUF];
    size_t derlen = sizeof(der);
    int ok = 0;

    if (coord == 0 || dgstlen == 0 || dgstlen > P11KMS_MD_MAX_SIZE ||
        !p11kms_crypto_out_ready(sig, siglen, 2 * coord, &ok))
        goto done;
    ok = sign_tbs(k, &sp, dgst, dgstlen, der, &derlen) &&
         p11kms_crypto_ecdsa_der_to_raw(der, derlen, coord, sig, siglen);
done:
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_ecdsa_verify_digest_raw(const p11kms_crypto_pkey *k, const unsigned char *dgst,
                                          size_t dgstlen, const unsigned char *sig, size_t siglen)
{
    const sig_params sp = {P11KMS_MD_NONE, 0, P11KMS_MD_NONE, 0};
    size_t coord = p11kms_crypto_curve_size(p11kms_crypto_pkey_curve(k));
    unsigned char der[P11KMS_CRYPTO_SIG_BUF];
    size_t derlen = sizeof(der);
    int ok = 0;

    if (coord == 0 || dgstlen == 0 || dgstlen > P11KMS_MD_MAX_SIZE || siglen != 2 * coord)
        goto done;
    ok = p11kms_crypto_ecdsa_raw_to_der(sig, siglen, der, &derlen) &&
         verify_tbs(k, &sp, dgst, dgstlen, der, derlen);
done:
    return ok ? 1 : p11kms_crypto_fail();
}

/* ---- ECDSA signature formats ---- */

int p11kms_crypto_ecdsa_der_to_raw(const unsigned char *der, size_t derlen, size_t coordlen,
                                   unsigned char *raw, size_t *rawlen)
{
    const unsigned char *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    unsigned char *reenc = NULL;
    ECDSA_SIG *es = NULL;
    int n = 0, ok = 0;

    if (der == NULL || derlen == 0 || derlen > P11KMS_CRYPTO_SIG_BUF || coordlen == 0 ||
        coordlen > P11KMS_CRYPTO_SIG_BUF / 2 ||
        !p11kms_crypto_out_ready(raw, rawlen, 2 * coordlen, &ok))
        goto done;
    es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (es == NULL || p != der + derlen)
        goto done;
    /* strict DER: the canonical re-encoding must be the input itself */
    n = i2d_ECDSA_SIG(es, &reenc);
    if (n <= 0 || (size_t)n != derlen || memcmp(reenc, der, derlen) != 0)
        goto done;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_is_negative(r) || BN_is_negative(s) || BN_bn2binpad(r, raw, (int)coordlen) < 0 ||
        BN_bn2binpad(s, raw + coordlen, (int)coordlen) < 0)
        goto done;
    *rawlen = 2 * coordlen;
    ok = 1;
done:
    OPENSSL_free(reenc);
    ECDSA_SIG_free(es);
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen, unsigned char *der,
                                   size_t *derlen)
{
    size_t half = rawlen / 2;
    BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG *es = NULL;
    unsigned char *q = der;
    int n = 0, ok = 0;

    if (raw == NULL || rawlen == 0 || rawlen % 2 != 0 || rawlen > P11KMS_CRYPTO_SIG_BUF ||
        derlen == NULL)
        goto done;
    r = BN_bin2bn(raw, (int)half, NULL);
    s = BN_bin2bn(raw + half, (int)half, NULL);
    if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(es, r, s) != 1)
        goto done;
    r = s = NULL; /* owned by es now */
    n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || !p11kms_crypto_out_ready(der, derlen, (size_t)n, &ok))
        goto done;
    ok = i2d_ECDSA_SIG(es, &q) == n;
    if (ok)
        *derlen = (size_t)n;
done:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return ok ? 1 : p11kms_crypto_fail();
}
