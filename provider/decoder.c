/*
 * provider/decoder.c — DECODER for p11kms key references (the DER body of a
 * PEM "P11KMS KEY REFERENCE", written by provider/encoder.c).  OpenSSL's
 * PEM decoder strips the armour and offers the DER to every key decoder;
 * this one recognises its own structure, finds the key in the module, and
 * hands OpenSSL a reference that the KEYMGMT's load() turns into a key.
 * Anything else is left alone (returning 1 without an object lets the
 * other decoders try).
 */
#include "config.h"

#include "provider/prov.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>

typedef struct dec_ctx {
    p11kms_prov_ctx *prov;
    p11kms_key_kind kind;
} dec_ctx;

static void *dec_newctx(void *provctx, p11kms_key_kind kind)
{
    dec_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL) {
        ctx->prov = provctx;
        ctx->kind = kind;
    }
    return ctx;
}

static void *p11kms_prov_rsa_dec_newctx(void *provctx)
{
    return dec_newctx(provctx, P11KMS_KEY_KIND_RSA);
}

static void *p11kms_prov_ec_dec_newctx(void *provctx)
{
    return dec_newctx(provctx, P11KMS_KEY_KIND_EC);
}

static void p11kms_prov_dec_freectx(void *vctx)
{
    OPENSSL_free(vctx);
}

static int p11kms_prov_dec_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

/* Passes key to OpenSSL as an object reference (KEYMGMT load() copies it). */
static int hand_over(p11kms_prov_key *key, OSSL_CALLBACK *data_cb, void *data_cbarg)
{
    OSSL_PARAM params[4];
    int type = OSSL_OBJECT_PKEY;
    char *data_type = key->kind == P11KMS_KEY_KIND_RSA ? "RSA" : "EC";

    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, data_type, 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &key, sizeof(key));
    params[3] = OSSL_PARAM_construct_end();
    return data_cb(params, data_cbarg);
}

static int p11kms_prov_dec_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
                                  OSSL_CALLBACK *data_cb, void *data_cbarg,
                                  OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    dec_ctx *ctx = vctx;
    p11kms_prov_pin_hint hint = {NULL, pw_cb, pw_cbarg};
    p11kms_prov_key *key = NULL;
    unsigned char *data = NULL;
    char *uri = NULL;
    size_t len = 0;
    int ok = 1; /* not ours: let the other decoders try */

    (void)selection;
    if (!p11kms_prov_bio_read_all(ctx->prov, cin, &data, &len) ||
        !p11kms_prov_ref_decode(data, len, &uri))
        goto done;
    key = p11kms_prov_key_from_uri(ctx->prov, uri, &hint);
    if (key == NULL) {
        ok = 0;
        goto done;
    }
    if (key->kind == ctx->kind)
        ok = hand_over(key, data_cb, data_cbarg);
done:
    p11kms_prov_key_free(key);
    OPENSSL_free(uri);
    OPENSSL_free(data);
    return ok;
}

/*
 * The PEM layer: OpenSSL's own PEM decoder passes on only the PEM names it
 * knows, so this decoder (named "DER", input "pem", like OpenSSL's) strips
 * the armour of a "P11KMS KEY REFERENCE" and hands the DER body on as a key
 * object's data; the decoders above turn it into a key.  The file: store
 * (`openssl pkey -in ref.pem`) and PEM_read_bio_PrivateKey() both take
 * this route.
 */
static void *p11kms_prov_pem_dec_newctx(void *provctx)
{
    return dec_newctx(provctx, P11KMS_KEY_KIND_NONE);
}

static int p11kms_prov_pem_dec_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
                                      OSSL_CALLBACK *data_cb, void *data_cbarg,
                                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    dec_ctx *ctx = vctx;
    OSSL_PARAM params[3];
    int type = OSSL_OBJECT_PKEY;
    unsigned char *data = NULL, *der = NULL;
    char *name = NULL, *header = NULL;
    size_t len = 0;
    long derlen = 0;
    BIO *mem = NULL;
    int ok = 1; /* not ours: empty-handed, not an error */

    (void)selection;
    (void)pw_cb;
    (void)pw_cbarg;
    if (!p11kms_prov_bio_read_all(ctx->prov, cin, &data, &len) || len > INT_MAX ||
        (mem = BIO_new_mem_buf(data, (int)len)) == NULL)
        goto done;
    ERR_set_mark();
    if (!PEM_read_bio(mem, &name, &header, &der, &derlen)) {
        ERR_pop_to_mark();
        goto done;
    }
    ERR_pop_to_mark();
    if (strcmp(name, P11KMS_PROV_REF_PEM) != 0)
        goto done;
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)derlen);
    params[2] = OSSL_PARAM_construct_end();
    ok = data_cb(params, data_cbarg);
done:
    BIO_free(mem);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    OPENSSL_free(data);
    return ok;
}

#define FN(id, f)                                                                                  \
    {                                                                                              \
        id, (void (*)(void))(f)                                                                    \
    }
const OSSL_DISPATCH p11kms_prov_ref_pem_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, p11kms_prov_pem_dec_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, p11kms_prov_dec_freectx),
    FN(OSSL_FUNC_DECODER_DECODE, p11kms_prov_pem_dec_decode),
    {0, NULL}};

const OSSL_DISPATCH p11kms_prov_rsa_ref_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, p11kms_prov_rsa_dec_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, p11kms_prov_dec_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, p11kms_prov_dec_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, p11kms_prov_dec_decode),
    {0, NULL}};

const OSSL_DISPATCH p11kms_prov_ec_ref_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, p11kms_prov_ec_dec_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, p11kms_prov_dec_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, p11kms_prov_dec_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, p11kms_prov_dec_decode),
    {0, NULL}};
