/*
 * provider/keymgmt.c — KEYMGMT functions shared by RSA and EC keys
 * (keymgmt-rsa.c and keymgmt-ec.c hold the per-algorithm tables).
 *
 * The private half is opaque: it never leaves the module, so export
 * refuses any selection that includes the private key (OpenSSL then keeps
 * the operation in this provider instead of handing a public-only copy to
 * another one) and gives the public half, with domain parameters, to
 * everyone else: the default provider verifies, builds certificates and
 * matches a certificate against the key with it.  Parameters such as bits,
 * security bits and maximum size are answered by the public half in
 * common/'s private library context, so they are exactly what OpenSSL
 * would report for the same public key.
 */
#include "config.h"

#include "provider/prov.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

void *p11kms_prov_km_load(const void *reference, size_t reference_sz)
{
    const p11kms_prov_key *key;

    if (reference == NULL || reference_sz != sizeof(key))
        return NULL;
    memcpy(&key, reference, sizeof(key));
    if (key == NULL || key->magic != P11KMS_PROV_KEY_MAGIC)
        return NULL;
    return p11kms_prov_key_dup(key);
}

void p11kms_prov_km_free(void *keydata)
{
    p11kms_prov_key_free(keydata);
}

void *p11kms_prov_km_dup(const void *keydata, int selection)
{
    (void)selection; /* a copy always carries everything: it is only a reference */
    return keydata != NULL ? p11kms_prov_key_dup(keydata) : NULL;
}

int p11kms_prov_km_has(const void *keydata, int selection)
{
    const p11kms_prov_key *key = keydata;
    int ok = 1;

    if (key == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
        ok = ok && key->has_private;
    if ((selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) != 0)
        ok = ok && key->pub != NULL;
    return ok;
}

int p11kms_prov_km_match(const void *keydata1, const void *keydata2, int selection)
{
    EVP_PKEY *a = p11kms_prov_key_evp(keydata1), *b = p11kms_prov_key_evp(keydata2);
    const p11kms_prov_key *k1 = keydata1, *k2 = keydata2;
    int ok = 0;

    if (a == NULL || b == NULL || k1->kind != k2->kind)
        goto done;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
        ok = EVP_PKEY_eq(a, b) == 1; /* a key pair is identified by its public half */
    else if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0)
        ok = EVP_PKEY_parameters_eq(a, b) == 1;
    else
        ok = 1;
done:
    return ok;
}

int p11kms_prov_km_get_params(void *keydata, OSSL_PARAM params[])
{
    EVP_PKEY *pub = p11kms_prov_key_evp(keydata);

    if (pub == NULL)
        return 1; /* an empty key has nothing to report */
    return EVP_PKEY_get_params(pub, params);
}

/* An imported key: public half only (nothing private can enter the module this way). */
int p11kms_prov_km_import(p11kms_key_kind kind, void *keydata, int selection,
                          const OSSL_PARAM params[])
{
    p11kms_prov_key *key = keydata;
    OSSL_LIB_CTX *libctx = p11kms_crypto_libctx();
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pk = NULL;
    unsigned char *der = NULL;
    int derlen, ok = 0;

    (void)selection;
    if (key == NULL || key->pub != NULL || libctx == NULL)
        goto done;
    if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != NULL ||
        OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL) {
        P11KMS_PROV_ERR(key->ctx, P11KMS_PROV_R_UNSUPPORTED,
                        "private keys cannot be imported through the p11kms provider");
        goto done;
    }
    pctx = EVP_PKEY_CTX_new_from_name(libctx, kind == P11KMS_KEY_KIND_RSA ? "RSA" : "EC", NULL);
    if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) <= 0)
        goto done;
    derlen = i2d_PUBKEY(pk, &der);
    if (derlen <= 0)
        goto done;
    key->pub = p11kms_crypto_pkey_from_der(der, (size_t)derlen, 0);
    ok = key->pub != NULL;
done:
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

int p11kms_prov_km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    p11kms_prov_key *key = keydata;
    EVP_PKEY *pub = p11kms_prov_key_evp(key);
    OSSL_PARAM *params = NULL;
    int ok = 0;

    if (pub == NULL)
        goto done;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && key->has_private)
        goto done; /* opaque: see the top of this file; no error, OpenSSL falls back */
    if (EVP_PKEY_todata(pub, EVP_PKEY_PUBLIC_KEY, &params) <= 0)
        goto done;
    ok = cb(params, cbarg);
done:
    OSSL_PARAM_free(params);
    return ok;
}

/* Opens a read-write session, generates, and wraps the new key. */
void *p11kms_prov_km_gen(p11kms_prov_ctx *ctx, p11kms_key_kind kind, unsigned bits,
                         p11kms_curve curve, const char *alias)
{
    p11kms_client_keygen req = {kind, bits, curve, alias};
    p11kms_client_err err = {"", 0};
    p11kms_client_keyref ref;
    p11kms_prov_key *key = NULL;
    CK_SESSION_HANDLE session;
    int have_session = 0;

    if (alias == NULL) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_BAD_ARGUMENT,
                        "key generation in the module needs a target alias: "
                        "-pkeyopt p11kms-alias:alias/NAME (for a key outside the module, "
                        "load the default provider before p11kms or add "
                        "-propquery provider=default)");
        goto done;
    }
    if (!p11kms_prov_ready(ctx, NULL))
        goto done;
    pthread_mutex_lock(&ctx->lock);
    have_session = p11kms_client_session_open(ctx->mod, ctx->slot, 1, &session, &err);
    pthread_mutex_unlock(&ctx->lock);
    if (!have_session) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_MODULE, "%s", p11kms_client_err_msg(&err));
        goto done;
    }
    if (!p11kms_client_key_generate(ctx->mod, session, &req, &ref, &err)) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_OPERATION, "%s", p11kms_client_err_msg(&err));
        goto done;
    }
    key = p11kms_prov_key_from_ref(ctx, session, &ref);
done:
    if (have_session)
        p11kms_prov_session_put(ctx, session, 0);
    return key;
}
