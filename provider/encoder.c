/*
 * provider/encoder.c — ENCODERs for p11kms keys:
 *  - the key reference (PEM "P11KMS KEY REFERENCE", or its DER body) for any
 *    request that includes the private key: `openssl genpkey` and
 *    PEM_write_bio_PrivateKey() write this instead of a private key, which
 *    never leaves the module; provider/decoder.c reads it back;
 *  - the public key as SubjectPublicKeyInfo, PEM and DER, EC keys with
 *    named-curve parameters (what `openssl pkey -pubout` and X.509 need).
 * Encoders are plain functions of the key: their context is the provider's.
 */
#include "config.h"

#include "provider/prov.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void *p11kms_prov_enc_newctx(void *provctx)
{
    return provctx;
}

static void p11kms_prov_enc_freectx(void *ctx)
{
    (void)ctx;
}

static int p11kms_prov_ref_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

static int p11kms_prov_spki_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 &&
           (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0;
}

/* Writes der, or its PEM armour named pem_name, to the core BIO. */
static int write_out(p11kms_prov_ctx *ctx, OSSL_CORE_BIO *cout, const char *pem_name,
                     const unsigned char *der, size_t derlen)
{
    BIO *mem = NULL;
    char *pem = NULL;
    long pemlen;
    int ok = 0;

    if (pem_name == NULL)
        return p11kms_prov_bio_write(ctx, cout, der, derlen);
    if ((mem = BIO_new(BIO_s_mem())) == NULL ||
        PEM_write_bio(mem, pem_name, "", der, (long)derlen) <= 0)
        goto done;
    pemlen = BIO_get_mem_data(mem, &pem);
    ok = pemlen > 0 && p11kms_prov_bio_write(ctx, cout, pem, (size_t)pemlen);
done:
    BIO_free(mem);
    return ok;
}

static int encode_ref(void *vctx, OSSL_CORE_BIO *cout, const void *obj,
                      const OSSL_PARAM obj_abstract[], int selection, const char *pem_name)
{
    p11kms_prov_ctx *ctx = vctx;
    const p11kms_prov_key *key = obj;
    unsigned char *der = NULL;
    size_t derlen = 0;
    int ok = 0;

    if (key == NULL || obj_abstract != NULL || key->magic != P11KMS_PROV_KEY_MAGIC ||
        !key->has_private || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0)
        goto done;
    if (!p11kms_prov_ref_encode(key, &der, &derlen)) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_OPERATION, "cannot encode the key reference");
        goto done;
    }
    ok = write_out(ctx, cout, pem_name, der, derlen);
done:
    OPENSSL_free(der);
    return ok;
}

static int encode_spki(void *vctx, OSSL_CORE_BIO *cout, const void *obj,
                       const OSSL_PARAM obj_abstract[], int selection, const char *pem_name)
{
    p11kms_prov_ctx *ctx = vctx;
    EVP_PKEY *pub = p11kms_prov_key_evp(obj);
    unsigned char *der = NULL;
    int derlen, ok = 0;

    if (pub == NULL || obj_abstract != NULL || (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
        goto done;
    derlen = i2d_PUBKEY(pub, &der);
    if (derlen <= 0)
        goto done;
    ok = write_out(ctx, cout, pem_name, der, (size_t)derlen);
done:
    OPENSSL_free(der);
    return ok;
}

static int p11kms_prov_ref_pem_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj,
                                      const OSSL_PARAM obj_abstract[], int selection,
                                      OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    (void)cb;
    (void)cbarg;
    return encode_ref(vctx, cout, obj, obj_abstract, selection, P11KMS_PROV_REF_PEM);
}

static int p11kms_prov_ref_der_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj,
                                      const OSSL_PARAM obj_abstract[], int selection,
                                      OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    (void)cb;
    (void)cbarg;
    return encode_ref(vctx, cout, obj, obj_abstract, selection, NULL);
}

static int p11kms_prov_spki_pem_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj,
                                       const OSSL_PARAM obj_abstract[], int selection,
                                       OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    (void)cb;
    (void)cbarg;
    return encode_spki(vctx, cout, obj, obj_abstract, selection, PEM_STRING_PUBLIC);
}

static int p11kms_prov_spki_der_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj,
                                       const OSSL_PARAM obj_abstract[], int selection,
                                       OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    (void)cb;
    (void)cbarg;
    return encode_spki(vctx, cout, obj, obj_abstract, selection, NULL);
}

#define FN(id, f)                                                                                  \
    {                                                                                              \
        id, (void (*)(void))(f)                                                                    \
    }
#define ENCODER(name, does, encode)                                                                \
    const OSSL_DISPATCH name[] = {FN(OSSL_FUNC_ENCODER_NEWCTX, p11kms_prov_enc_newctx),            \
                                  FN(OSSL_FUNC_ENCODER_FREECTX, p11kms_prov_enc_freectx),          \
                                  FN(OSSL_FUNC_ENCODER_DOES_SELECTION, does),                      \
                                  FN(OSSL_FUNC_ENCODER_ENCODE, encode),                            \
                                  {0, NULL}}

ENCODER(p11kms_prov_rsa_ref_pem_encoder_functions, p11kms_prov_ref_does_selection,
        p11kms_prov_ref_pem_encode);
ENCODER(p11kms_prov_ec_ref_pem_encoder_functions, p11kms_prov_ref_does_selection,
        p11kms_prov_ref_pem_encode);
ENCODER(p11kms_prov_rsa_ref_der_encoder_functions, p11kms_prov_ref_does_selection,
        p11kms_prov_ref_der_encode);
ENCODER(p11kms_prov_ec_ref_der_encoder_functions, p11kms_prov_ref_does_selection,
        p11kms_prov_ref_der_encode);
ENCODER(p11kms_prov_rsa_spki_pem_encoder_functions, p11kms_prov_spki_does_selection,
        p11kms_prov_spki_pem_encode);
ENCODER(p11kms_prov_ec_spki_pem_encoder_functions, p11kms_prov_spki_does_selection,
        p11kms_prov_spki_pem_encode);
ENCODER(p11kms_prov_rsa_spki_der_encoder_functions, p11kms_prov_spki_does_selection,
        p11kms_prov_spki_der_encode);
ENCODER(p11kms_prov_ec_spki_der_encoder_functions, p11kms_prov_spki_does_selection,
        p11kms_prov_spki_der_encode);
