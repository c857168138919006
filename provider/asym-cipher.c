/*
 * provider/asym-cipher.c — ASYM_CIPHER for RSA keys held in the module:
 * RSA-OAEP only (CKM_RSA_PKCS_OAEP, which crosses p11-kit's RPC).
 *
 * PKCS#1 v1.5 decryption is refused with a message saying so: it is a
 * padding oracle and KMS does not offer it (DESIGN.md, Key model).  Since
 * OpenSSL's default RSA padding is PKCS#1 v1.5, callers must ask for OAEP
 * (`-pkeyopt rsa_padding_mode:oaep`).  Encryption needs no secret and runs
 * locally on the public half (OAEP, and PKCS#1 v1.5 for the sake of
 * ordinary public keys when p11kms comes first in the provider order).
 */
#include "config.h"

#include "provider/prov.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

typedef struct oaep_ctx {
    p11kms_prov_ctx *prov;
    p11kms_prov_key *key; /* borrowed from the EVP_PKEY */
    int pad;
    p11kms_md md, mgf1;
    unsigned char *label;
    size_t labellen;
} oaep_ctx;

static void *p11kms_prov_oaep_newctx(void *provctx)
{
    oaep_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL)
        return NULL;
    ctx->prov = provctx;
    ctx->pad = RSA_PKCS1_PADDING; /* OpenSSL's default: must be changed to OAEP */
    ctx->md = P11KMS_MD_SHA1;
    return ctx;
}

static void p11kms_prov_oaep_freectx(void *vctx)
{
    oaep_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    OPENSSL_free(ctx->label);
    OPENSSL_free(ctx);
}

static void *p11kms_prov_oaep_dupctx(void *vctx)
{
    oaep_ctx *src = vctx, *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL)
        return NULL;
    dst->label = NULL;
    if (src->label != NULL && (dst->label = OPENSSL_memdup(src->label, src->labellen)) == NULL) {
        OPENSSL_free(dst);
        return NULL;
    }
    return dst;
}

static int set_pad(oaep_ctx *ctx, const OSSL_PARAM *p)
{
    const char *s = NULL;
    int pad = 0;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
            return 0;
        pad = strcmp(s, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0      ? RSA_PKCS1_OAEP_PADDING
              : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
                                                               : -1;
    } else if (!OSSL_PARAM_get_int(p, &pad)) {
        return 0;
    }
    if (pad != RSA_PKCS1_OAEP_PADDING && pad != RSA_PKCS1_PADDING) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_UNSUPPORTED,
                        "RSA encryption: only OAEP (and PKCS#1 v1.5 to a public key)");
        return 0;
    }
    ctx->pad = pad; /* PKCS#1 v1.5 is refused when the operation runs, with a clear message */
    return 1;
}

static int set_md_param(oaep_ctx *ctx, const OSSL_PARAM *p, p11kms_md *out)
{
    const char *name = NULL;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name))
        return 0;
    *out = p11kms_prov_md_from_name(name);
    if (*out == P11KMS_MD_NONE) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_UNSUPPORTED, "OAEP digest %s not supported", name);
        return 0;
    }
    return 1;
}

static int p11kms_prov_oaep_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    oaep_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    void *label = NULL;
    size_t labellen = 0;
    int ok = 0;

    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
    if (p != NULL && !set_pad(ctx, p))
        goto done;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
    if (p != NULL && !set_md_param(ctx, p, &ctx->md))
        goto done;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
    if (p != NULL && !set_md_param(ctx, p, &ctx->mgf1))
        goto done;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
    if (p != NULL) {
        if (!OSSL_PARAM_get_octet_string(p, &label, 0, &labellen))
            goto done;
        OPENSSL_free(ctx->label);
        ctx->label = label;
        ctx->labellen = labellen;
    }
    ok = 1;
done:
    return ok;
}

static const OSSL_PARAM *p11kms_prov_oaep_settable(void *vctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
        OSSL_PARAM_END};

    (void)vctx;
    (void)provctx;
    return settable;
}

static int p11kms_prov_oaep_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    oaep_ctx *ctx = vctx;
    OSSL_PARAM *p;
    int ok = 0;

    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
    if (p != NULL && (p->data_type == OSSL_PARAM_INTEGER
                          ? !OSSL_PARAM_set_int(p, ctx->pad)
                          : !OSSL_PARAM_set_utf8_string(p, ctx->pad == RSA_PKCS1_OAEP_PADDING
                                                               ? OSSL_PKEY_RSA_PAD_MODE_OAEP
                                                               : OSSL_PKEY_RSA_PAD_MODE_PKCSV15)))
        goto done;
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, p11kms_crypto_md_name(ctx->md)))
        goto done;
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
    if (p != NULL &&
        !OSSL_PARAM_set_utf8_string(
            p, p11kms_crypto_md_name(ctx->mgf1 != P11KMS_MD_NONE ? ctx->mgf1 : ctx->md)))
        goto done;
    ok = 1;
done:
    return ok;
}

static const OSSL_PARAM *p11kms_prov_oaep_gettable(void *vctx, void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0), OSSL_PARAM_END};

    (void)vctx;
    (void)provctx;
    return gettable;
}

static int oaep_init(oaep_ctx *ctx, void *provkey, int decrypt, const OSSL_PARAM params[])
{
    p11kms_prov_key *key = provkey != NULL ? provkey : ctx->key; /* NULL: re-init, same key */

    if (key == NULL || key->magic != P11KMS_PROV_KEY_MAGIC || key->kind != P11KMS_KEY_KIND_RSA ||
        key->pub == NULL) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_BAD_ARGUMENT, "not a p11kms RSA key");
        return 0;
    }
    if (decrypt && !key->has_private) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_NO_PRIVATE_KEY,
                        "decryption needs a private key; the URI names a public key");
        return 0;
    }
    ctx->key = key;
    return p11kms_prov_oaep_set_ctx_params(ctx, params);
}

static int p11kms_prov_oaep_encrypt_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return oaep_init(vctx, provkey, 0, params);
}

static int p11kms_prov_oaep_decrypt_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return oaep_init(vctx, provkey, 1, params);
}

static int require_oaep(oaep_ctx *ctx, const char *what)
{
    char name[P11KMS_CLIENT_LABEL_MAX + 64];

    if (ctx->pad == RSA_PKCS1_OAEP_PADDING)
        return 1;
    p11kms_prov_key_name(ctx->key, name, sizeof(name));
    P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_UNSUPPORTED,
                    "%s with key %s: PKCS#1 v1.5 padding is refused (a padding oracle); use "
                    "OAEP (-pkeyopt rsa_padding_mode:oaep)",
                    what, name);
    return 0;
}

/*
 * PKCS#1 v1.5 encryption is public-key arithmetic without an oracle; it is
 * offered so that an application whose provider order puts p11kms first
 * still encrypts to ordinary RSA public keys as before.
 */
static int encrypt_v15(oaep_ctx *ctx, unsigned char *out, size_t *outlen, size_t outsize,
                       const unsigned char *in, size_t inlen)
{
    OSSL_LIB_CTX *libctx = p11kms_crypto_libctx();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = outsize;
    int ok = 0;

    if (libctx == NULL ||
        (pctx = EVP_PKEY_CTX_new_from_pkey(libctx, p11kms_prov_key_evp(ctx->key), NULL)) == NULL ||
        EVP_PKEY_encrypt_init(pctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_encrypt(pctx, out, &len, in, inlen) <= 0) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_OPERATION, "RSA encryption failed");
        goto done;
    }
    *outlen = len;
    ok = 1;
done:
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

static int p11kms_prov_oaep_encrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                                    const unsigned char *in, size_t inlen)
{
    oaep_ctx *ctx = vctx;
    size_t len = outsize;

    if (out == NULL) {
        *outlen = (size_t)EVP_PKEY_get_size(p11kms_prov_key_evp(ctx->key));
        return 1;
    }
    if (ctx->pad == RSA_PKCS1_PADDING)
        return encrypt_v15(ctx, out, outlen, outsize, in, inlen);
    if (!p11kms_crypto_rsa_oaep_encrypt(ctx->key->pub, ctx->md, ctx->mgf1, ctx->label,
                                        ctx->labellen, in, inlen, out, &len)) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_OPERATION,
                        "RSA-OAEP encryption failed "
                        "(input too long for the key and digest?)");
        return 0;
    }
    *outlen = len;
    return 1;
}

static int p11kms_prov_oaep_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                                    const unsigned char *in, size_t inlen)
{
    oaep_ctx *ctx = vctx;
    p11kms_client_err err = {"", 0};
    p11kms_client_keyref ref;
    CK_SESSION_HANDLE session;
    size_t len = outsize;
    int ok = 0;

    if (!require_oaep(ctx, "decryption"))
        return 0;
    if (out == NULL) {
        *outlen = (size_t)EVP_PKEY_get_size(p11kms_prov_key_evp(ctx->key));
        return 1;
    }
    if (!p11kms_prov_key_session(ctx->key, &session, &ref))
        return 0;
    ok = p11kms_client_key_decrypt_oaep(ctx->key->ctx->mod, session, &ref, ctx->md, ctx->mgf1,
                                        ctx->label, ctx->labellen, in, inlen, out, &len, &err);
    p11kms_prov_session_put(ctx->prov, session, 1);
    if (!ok)
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_OPERATION, "%s", p11kms_client_err_msg(&err));
    else
        *outlen = len;
    return ok;
}

#define FN(id, f)                                                                                  \
    {                                                                                              \
        id, (void (*)(void))(f)                                                                    \
    }
const OSSL_DISPATCH p11kms_prov_rsa_asym_cipher_functions[] = {
    FN(OSSL_FUNC_ASYM_CIPHER_NEWCTX, p11kms_prov_oaep_newctx),
    FN(OSSL_FUNC_ASYM_CIPHER_FREECTX, p11kms_prov_oaep_freectx),
    FN(OSSL_FUNC_ASYM_CIPHER_DUPCTX, p11kms_prov_oaep_dupctx),
    FN(OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, p11kms_prov_oaep_encrypt_init),
    FN(OSSL_FUNC_ASYM_CIPHER_ENCRYPT, p11kms_prov_oaep_encrypt),
    FN(OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, p11kms_prov_oaep_decrypt_init),
    FN(OSSL_FUNC_ASYM_CIPHER_DECRYPT, p11kms_prov_oaep_decrypt),
    FN(OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, p11kms_prov_oaep_get_ctx_params),
    FN(OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, p11kms_prov_oaep_gettable),
    FN(OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, p11kms_prov_oaep_set_ctx_params),
    FN(OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, p11kms_prov_oaep_settable),
    {0, NULL}};
