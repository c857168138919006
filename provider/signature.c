/*
 * provider/signature.c — SIGNATURE for RSA (PKCS#1 v1.5 and PSS) and ECDSA
 * with keys held in the PKCS#11 module.
 *
 * Messages are hashed here (SHA-256/384/512 from common/'s private library
 * context) and only the digest goes to the module, through CKM_RSA_PKCS
 * (DigestInfo built by client/), CKM_RSA_PKCS_PSS or CKM_ECDSA: the
 * mechanisms that also cross p11-kit's RPC in isolated mode.  Verification
 * needs no secret and runs locally on the public half.
 *
 * The algorithm-identifier parameter (DER AlgorithmIdentifier) is what
 * OpenSSL 3.0's X.509 and CMS code asks a provider-only key for; without it
 * `openssl req -x509` and `openssl cms -sign` cannot use the key.
 */
#include "config.h"

#include "provider/prov.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#define SIG_MAX   1024
#define ALGID_MAX 96

typedef struct sig_ctx {
    p11kms_prov_ctx *prov;
    p11kms_key_kind kind; /* of the algorithm: RSA or EC (ECDSA) */
    p11kms_prov_key *key; /* borrowed: the EVP_PKEY holding it outlives this context */
    int verify;
    p11kms_md md;   /* NONE until set */
    int pad;        /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
    p11kms_md mgf1; /* NONE: same as md */
    int saltlen;    /* >= 0, or RSA_PSS_SALTLEN_DIGEST/AUTO/MAX */
    EVP_MD_CTX *mdctx;
} sig_ctx;

static void *sig_newctx(void *provctx, p11kms_key_kind kind)
{
    sig_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL)
        return NULL;
    ctx->prov = provctx;
    ctx->kind = kind;
    ctx->pad = RSA_PKCS1_PADDING;
    ctx->saltlen = RSA_PSS_SALTLEN_AUTO;
    return ctx;
}

static void *p11kms_prov_rsa_sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return sig_newctx(provctx, P11KMS_KEY_KIND_RSA);
}

static void *p11kms_prov_ecdsa_sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return sig_newctx(provctx, P11KMS_KEY_KIND_EC);
}

static void p11kms_prov_sig_freectx(void *vctx)
{
    sig_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    EVP_MD_CTX_free(ctx->mdctx);
    OPENSSL_free(ctx);
}

static void *p11kms_prov_sig_dupctx(void *vctx)
{
    sig_ctx *src = vctx, *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL)
        return NULL;
    dst->mdctx = NULL;
    if (src->mdctx != NULL &&
        ((dst->mdctx = EVP_MD_CTX_new()) == NULL || !EVP_MD_CTX_copy_ex(dst->mdctx, src->mdctx))) {
        p11kms_prov_sig_freectx(dst);
        return NULL;
    }
    return dst;
}

/* Parameters ------------------------------------------------------------------ */

static int set_md(sig_ctx *ctx, const char *name)
{
    p11kms_md md = p11kms_prov_md_from_name(name);

    if (md == P11KMS_MD_NONE || (md == P11KMS_MD_SHA1 && !ctx->verify)) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_UNSUPPORTED,
                        "digest %s: p11kms signs with SHA-256, SHA-384 or SHA-512", name);
        return 0;
    }
    ctx->md = md;
    return 1;
}

static int set_pad(sig_ctx *ctx, const OSSL_PARAM *p)
{
    const char *s = NULL;
    int pad = 0;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
            return 0;
        pad = strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
              : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0   ? RSA_PKCS1_PSS_PADDING
                                                             : 0;
    } else if (!OSSL_PARAM_get_int(p, &pad)) {
        return 0;
    }
    if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_UNSUPPORTED,
                        "RSA signatures: only pkcs1 and pss padding");
        return 0;
    }
    ctx->pad = pad;
    return 1;
}

static int set_saltlen(sig_ctx *ctx, const OSSL_PARAM *p)
{
    const char *s = NULL;
    int len = 0;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
            return 0;
        if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
            len = RSA_PSS_SALTLEN_DIGEST;
        else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
            len = RSA_PSS_SALTLEN_MAX;
        else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0)
            len = RSA_PSS_SALTLEN_AUTO;
        else
            len = atoi(s);
    } else if (!OSSL_PARAM_get_int(p, &len)) {
        return 0;
    }
    if (len < RSA_PSS_SALTLEN_MAX)
        return 0;
    ctx->saltlen = len;
    return 1;
}

static int p11kms_prov_sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    sig_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    const char *name = NULL;
    int ok = 0;

    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !set_md(ctx, name)))
        goto done;
    if (ctx->kind == P11KMS_KEY_KIND_RSA) {
        p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
        if (p != NULL && !set_pad(ctx, p))
            goto done;
        p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
        if (p != NULL && !set_saltlen(ctx, p))
            goto done;
        p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
        if (p != NULL) {
            if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) ||
                (ctx->mgf1 = p11kms_prov_md_from_name(name)) == P11KMS_MD_NONE)
                goto done;
        }
    }
    ok = 1;
done:
    return ok;
}

static const OSSL_PARAM *p11kms_prov_rsa_sig_settable(void *vctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_END};

    (void)vctx;
    (void)provctx;
    return settable;
}

static const OSSL_PARAM *p11kms_prov_ecdsa_sig_settable(void *vctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0), OSSL_PARAM_END};

    (void)vctx;
    (void)provctx;
    return settable;
}

/* The PSS salt length actually used for signing with this key. */
static size_t pss_saltlen(const sig_ctx *ctx)
{
    size_t hlen = p11kms_crypto_md_size(ctx->md);
    int bits = EVP_PKEY_get_bits(p11kms_prov_key_evp(ctx->key));
    size_t emlen = (size_t)(bits - 1 + 7) / 8;

    if (ctx->saltlen >= 0)
        return (size_t)ctx->saltlen;
    /*
     * AUTO (OpenSSL's default) signs with salt = digest length: the only
     * length KMS offers, and what verifiers with AUTO accept anyway.
     */
    if (ctx->saltlen != RSA_PSS_SALTLEN_MAX || emlen < hlen + 2)
        return hlen;
    return emlen - hlen - 2;
}

/* DER AlgorithmIdentifiers ------------------------------------------------------- */

static const unsigned char oid_sha2_prefix[] = {0x06, 0x09, 0x60, 0x86, 0x48,
                                                0x01, 0x65, 0x03, 0x04, 0x02};

static size_t put(unsigned char *out, size_t off, const void *v, size_t len)
{
    memcpy(out + off, v, len);
    return off + len;
}

/* SEQUENCE { OID sha2-n } (parameters absent, as OpenSSL writes them). */
static size_t hash_algid(p11kms_md md, unsigned char *out)
{
    unsigned char last = md == P11KMS_MD_SHA256 ? 1 : md == P11KMS_MD_SHA384 ? 2 : 3;

    out[0] = 0x30;
    out[1] = sizeof(oid_sha2_prefix) + 1;
    put(out, 2, oid_sha2_prefix, sizeof(oid_sha2_prefix));
    out[2 + sizeof(oid_sha2_prefix)] = last;
    return 3 + sizeof(oid_sha2_prefix);
}

/* RSASSA-PSS AlgorithmIdentifier with explicit hash, MGF1 and salt length. */
static size_t pss_algid(const sig_ctx *ctx, unsigned char *out)
{
    static const unsigned char oid_pss[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                            0xf7, 0x0d, 0x01, 0x01, 0x0a};
    static const unsigned char oid_mgf1[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                             0xf7, 0x0d, 0x01, 0x01, 0x08};
    unsigned char h[16], m[16], params[80];
    size_t hl = hash_algid(ctx->md, h), n = 0, salt = pss_saltlen(ctx), o = 0;
    size_t ml = hash_algid(ctx->mgf1 != P11KMS_MD_NONE ? ctx->mgf1 : ctx->md, m);

    params[n++] = 0xa0, params[n++] = (unsigned char)hl;
    n = put(params, n, h, hl);
    params[n++] = 0xa1, params[n++] = (unsigned char)(2 + sizeof(oid_mgf1) + ml);
    params[n++] = 0x30, params[n++] = (unsigned char)(sizeof(oid_mgf1) + ml);
    n = put(params, n, oid_mgf1, sizeof(oid_mgf1));
    n = put(params, n, m, ml);
    params[n++] = 0xa2;
    if (salt < 0x80) {
        params[n++] = 3, params[n++] = 0x02, params[n++] = 1;
    } else {
        params[n++] = 4, params[n++] = 0x02, params[n++] = 2;
        params[n++] = (unsigned char)(salt >> 8);
    }
    params[n++] = (unsigned char)salt;
    out[o++] = 0x30, out[o++] = (unsigned char)(sizeof(oid_pss) + 2 + n);
    o = put(out, o, oid_pss, sizeof(oid_pss));
    out[o++] = 0x30, out[o++] = (unsigned char)n;
    return put(out, o, params, n);
}

static size_t algid(const sig_ctx *ctx, unsigned char *out)
{
    static const unsigned char ecdsa[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                          0x48, 0xce, 0x3d, 0x04, 0x03, 0x00};
    static const unsigned char rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                        0xf7, 0x0d, 0x01, 0x01, 0x00, 0x05, 0x00};
    unsigned char idx = ctx->md == P11KMS_MD_SHA256 ? 0 : ctx->md == P11KMS_MD_SHA384 ? 1 : 2;

    if (ctx->md != P11KMS_MD_SHA256 && ctx->md != P11KMS_MD_SHA384 && ctx->md != P11KMS_MD_SHA512)
        return 0;
    if (ctx->kind == P11KMS_KEY_KIND_EC) {
        memcpy(out, ecdsa, sizeof(ecdsa));
        out[sizeof(ecdsa) - 1] = (unsigned char)(2 + idx); /* ecdsa-with-SHA256/384/512 */
        return sizeof(ecdsa);
    }
    if (ctx->pad == RSA_PKCS1_PSS_PADDING)
        return pss_algid(ctx, out);
    memcpy(out, rsa, sizeof(rsa));
    out[12] = (unsigned char)(0x0b + idx); /* sha256/384/512WithRSAEncryption */
    return sizeof(rsa);
}

static int p11kms_prov_sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    sig_ctx *ctx = vctx;
    unsigned char der[ALGID_MAX];
    OSSL_PARAM *p;
    size_t len;
    int ok = 0;

    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (p != NULL) {
        len = ctx->key != NULL ? algid(ctx, der) : 0;
        if (len == 0 || !OSSL_PARAM_set_octet_string(p, der, len))
            goto done;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && ctx->md != P11KMS_MD_NONE &&
        !OSSL_PARAM_set_utf8_string(p, p11kms_crypto_md_name(ctx->md)))
        goto done;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && ctx->kind == P11KMS_KEY_KIND_RSA) {
        if (p->data_type == OSSL_PARAM_INTEGER
                ? !OSSL_PARAM_set_int(p, ctx->pad)
                : !OSSL_PARAM_set_utf8_string(p, ctx->pad == RSA_PKCS1_PSS_PADDING
                                                     ? OSSL_PKEY_RSA_PAD_MODE_PSS
                                                     : OSSL_PKEY_RSA_PAD_MODE_PKCSV15))
            goto done;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL && p->data_type == OSSL_PARAM_INTEGER && !OSSL_PARAM_set_int(p, ctx->saltlen))
        goto done;
    ok = 1;
done:
    return ok;
}

static const OSSL_PARAM *p11kms_prov_sig_gettable(void *vctx, void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL), OSSL_PARAM_END};

    (void)vctx;
    (void)provctx;
    return gettable;
}

/* Sign and verify on a digest --------------------------------------------------- */

static int sig_init(sig_ctx *ctx, void *provkey, int verify, const OSSL_PARAM params[])
{
    p11kms_prov_key *key = provkey != NULL ? provkey : ctx->key; /* NULL: re-init, same key */

    if (key == NULL || key->magic != P11KMS_PROV_KEY_MAGIC || key->kind != ctx->kind) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_BAD_ARGUMENT, "not a p11kms %s key",
                        ctx->kind == P11KMS_KEY_KIND_RSA ? "RSA" : "EC");
        return 0;
    }
    if (key->pub == NULL) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_BAD_ARGUMENT, "the key has no public half");
        return 0;
    }
    if (!verify && !key->has_private) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_NO_PRIVATE_KEY,
                        "signing needs a private key; the URI names a public key");
        return 0;
    }
    ctx->key = key;
    ctx->verify = verify;
    return p11kms_prov_sig_set_ctx_params(ctx, params);
}

static int p11kms_prov_sig_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return sig_init(vctx, provkey, 0, params);
}

static int p11kms_prov_sig_verify_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return sig_init(vctx, provkey, 1, params);
}

static int sign_digest(sig_ctx *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                       const unsigned char *dgst, size_t dgstlen)
{
    p11kms_client_err err = {"", 0};
    p11kms_client_sign_alg alg = P11KMS_CLIENT_SIGN_ECDSA;
    p11kms_client_keyref ref;
    CK_SESSION_HANDLE session;
    size_t len = sigsize;
    int ok = 0;

    if (sig == NULL) {
        *siglen = (size_t)EVP_PKEY_get_size(p11kms_prov_key_evp(ctx->key));
        return 1;
    }
    if (ctx->kind == P11KMS_KEY_KIND_RSA)
        alg = ctx->pad == RSA_PKCS1_PSS_PADDING ? P11KMS_CLIENT_SIGN_RSA_PSS
                                                : P11KMS_CLIENT_SIGN_RSA_PKCS1;
    if (alg == P11KMS_CLIENT_SIGN_RSA_PSS && ctx->md == P11KMS_MD_NONE) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_BAD_ARGUMENT, "RSA-PSS needs a digest");
        return 0;
    }
    if (!p11kms_prov_key_session(ctx->key, &session, &ref))
        return 0;
    ok = p11kms_client_key_sign(ctx->key->ctx->mod, session, &ref, alg, ctx->md, ctx->mgf1,
                                alg == P11KMS_CLIENT_SIGN_RSA_PSS ? pss_saltlen(ctx) : 0, dgst,
                                dgstlen, sig, &len, &err);
    p11kms_prov_session_put(ctx->prov, session, 1);
    if (!ok)
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_OPERATION, "%s", p11kms_client_err_msg(&err));
    else
        *siglen = len;
    return ok;
}

static int p11kms_prov_sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                                const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *ctx = vctx;

    if (ctx->md != P11KMS_MD_NONE && tbslen != p11kms_crypto_md_size(ctx->md)) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_BAD_ARGUMENT,
                        "input of %zu bytes is not a %s digest", tbslen,
                        p11kms_crypto_md_name(ctx->md));
        return 0;
    }
    return sign_digest(ctx, sig, siglen, sigsize, tbs, tbslen);
}

/* Verification with the public half in the private library context. */
static int verify_digest(sig_ctx *ctx, const unsigned char *sig, size_t siglen,
                         const unsigned char *dgst, size_t dgstlen)
{
    OSSL_LIB_CTX *libctx = p11kms_crypto_libctx();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = p11kms_crypto_md_evp(ctx->md), *mgf1;
    int ok = 0;

    if (libctx == NULL ||
        (pctx = EVP_PKEY_CTX_new_from_pkey(libctx, p11kms_prov_key_evp(ctx->key), NULL)) == NULL ||
        EVP_PKEY_verify_init(pctx) <= 0)
        goto done;
    if (md != NULL && EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0)
        goto done;
    if (ctx->kind == P11KMS_KEY_KIND_RSA && ctx->pad == RSA_PKCS1_PSS_PADDING) {
        mgf1 = p11kms_crypto_md_evp(ctx->mgf1 != P11KMS_MD_NONE ? ctx->mgf1 : ctx->md);
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, ctx->saltlen) <= 0 ||
            (mgf1 != NULL && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1) <= 0))
            goto done;
    }
    ok = EVP_PKEY_verify(pctx, sig, siglen, dgst, dgstlen) == 1;
done:
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

static int p11kms_prov_sig_verify(void *vctx, const unsigned char *sig, size_t siglen,
                                  const unsigned char *tbs, size_t tbslen)
{
    return verify_digest(vctx, sig, siglen, tbs, tbslen);
}

/* Digest-sign and digest-verify ------------------------------------------------ */

static int digest_init(sig_ctx *ctx, const char *mdname, void *provkey, int verify,
                       const OSSL_PARAM params[])
{
    const EVP_MD *md;

    if (!sig_init(ctx, provkey, verify, params))
        return 0;
    if (!set_md(ctx, mdname != NULL && mdname[0] != '\0' ? mdname : "SHA256"))
        return 0;
    md = p11kms_crypto_md_evp(ctx->md);
    if (ctx->mdctx == NULL && (ctx->mdctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    if (md == NULL || !EVP_DigestInit_ex(ctx->mdctx, md, NULL)) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_UNSUPPORTED, "digest %s unavailable", mdname);
        return 0;
    }
    return 1;
}

static int p11kms_prov_sig_digest_sign_init(void *vctx, const char *mdname, void *provkey,
                                            const OSSL_PARAM params[])
{
    return digest_init(vctx, mdname, provkey, 0, params);
}

static int p11kms_prov_sig_digest_verify_init(void *vctx, const char *mdname, void *provkey,
                                              const OSSL_PARAM params[])
{
    return digest_init(vctx, mdname, provkey, 1, params);
}

static int p11kms_prov_sig_digest_update(void *vctx, const unsigned char *data, size_t datalen)
{
    sig_ctx *ctx = vctx;

    return ctx->mdctx != NULL && EVP_DigestUpdate(ctx->mdctx, data, datalen);
}

static int finish_digest(sig_ctx *ctx, unsigned char *dgst, size_t *dgstlen)
{
    unsigned int len = 0;

    if (ctx->mdctx == NULL || !EVP_DigestFinal_ex(ctx->mdctx, dgst, &len))
        return 0;
    *dgstlen = len;
    return 1;
}

static int p11kms_prov_sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen,
                                             size_t sigsize)
{
    sig_ctx *ctx = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    size_t dgstlen = 0;

    if (sig == NULL)
        return sign_digest(ctx, NULL, siglen, sigsize, NULL, 0);
    return finish_digest(ctx, dgst, &dgstlen) &&
           sign_digest(ctx, sig, siglen, sigsize, dgst, dgstlen);
}

static int p11kms_prov_sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    sig_ctx *ctx = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    size_t dgstlen = 0;

    return finish_digest(ctx, dgst, &dgstlen) && verify_digest(ctx, sig, siglen, dgst, dgstlen);
}

#define FN(id, f)                                                                                  \
    {                                                                                              \
        id, (void (*)(void))(f)                                                                    \
    }
#define SIG_COMMON                                                                                 \
    FN(OSSL_FUNC_SIGNATURE_FREECTX, p11kms_prov_sig_freectx),                                      \
        FN(OSSL_FUNC_SIGNATURE_DUPCTX, p11kms_prov_sig_dupctx),                                    \
        FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, p11kms_prov_sig_sign_init),                              \
        FN(OSSL_FUNC_SIGNATURE_SIGN, p11kms_prov_sig_sign),                                        \
        FN(OSSL_FUNC_SIGNATURE_VERIFY_INIT, p11kms_prov_sig_verify_init),                          \
        FN(OSSL_FUNC_SIGNATURE_VERIFY, p11kms_prov_sig_verify),                                    \
        FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, p11kms_prov_sig_digest_sign_init),                \
        FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, p11kms_prov_sig_digest_update),                 \
        FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, p11kms_prov_sig_digest_sign_final),              \
        FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, p11kms_prov_sig_digest_verify_init),            \
        FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, p11kms_prov_sig_digest_update),               \
        FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, p11kms_prov_sig_digest_verify_final),          \
        FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, p11kms_prov_sig_get_ctx_params),                    \
        FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, p11kms_prov_sig_gettable),                     \
        FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, p11kms_prov_sig_set_ctx_params)

const OSSL_DISPATCH p11kms_prov_rsa_signature_functions[] = {
    FN(OSSL_FUNC_SIGNATURE_NEWCTX, p11kms_prov_rsa_sig_newctx),
    SIG_COMMON,
    FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, p11kms_prov_rsa_sig_settable),
    {0, NULL}};

const OSSL_DISPATCH p11kms_prov_ecdsa_signature_functions[] = {
    FN(OSSL_FUNC_SIGNATURE_NEWCTX, p11kms_prov_ecdsa_sig_newctx),
    SIG_COMMON,
    FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, p11kms_prov_ecdsa_sig_settable),
    {0, NULL}};
