/*
 * common/pkey.c - the parsed asymmetric key object (p11kms_crypto_pkey):
 * generation, DER import/export, and what the other files need to know
 * about a key (kind, size, curve).
 *
 * Only RSA (1024..16384 bits) and EC keys on P-256/P-384/P-521 are ever
 * wrapped; EC keys are normalised to named-curve parameters and
 * uncompressed points so that every SPKI we emit has one form.
 */
#include "config.h"

#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/crypto-internal.h"

struct p11kms_crypto_pkey {
    EVP_PKEY *pkey;
    atomic_int refs;
    p11kms_key_kind kind;
    int is_private;
    unsigned bits;
    p11kms_curve curve;
};

static const p11kms_crypto_curve_info curves[] = {
    {P11KMS_CURVE_P256,
     "prime256v1",
     "P-256",
     NID_X9_62_prime256v1,
     32,
     {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07},
     10},
    {P11KMS_CURVE_P384,
     "secp384r1",
     "P-384",
     NID_secp384r1,
     48,
     {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22},
     7},
    {P11KMS_CURVE_P521,
     "secp521r1",
     "P-521",
     NID_secp521r1,
     66,
     {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23},
     7},
};
#define N_CURVES (sizeof(curves) / sizeof(curves[0]))

const p11kms_crypto_curve_info *p11kms_crypto_curve_get(p11kms_curve curve)
{
    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].curve == curve)
            return &curves[i];
    return NULL;
}

const p11kms_crypto_curve_info *p11kms_crypto_curve_by_oid(const unsigned char *der, size_t len)
{
    for (size_t i = 0; der != NULL && i < N_CURVES; i++)
        if (len == curves[i].oidlen && memcmp(der, curves[i].oid, len) == 0)
            return &curves[i];
    return NULL;
}

size_t p11kms_crypto_curve_size(p11kms_curve curve)
{
    const p11kms_crypto_curve_info *c = p11kms_crypto_curve_get(curve);

    return c != NULL ? c->size : 0;
}

static p11kms_curve curve_from_name(const char *name)
{
    for (size_t i = 0; i < N_CURVES; i++)
        if (strcmp(name, curves[i].ossl_name) == 0 || strcmp(name, curves[i].nist_name) == 0)
            return curves[i].curve;
    return P11KMS_CURVE_NONE;
}

/* Fix the EC output forms: named curve, uncompressed point. */
static int ec_normalise(EVP_PKEY *pkey)
{
    return EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                          OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) == 1 &&
           EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING,
                                          OSSL_PKEY_EC_ENCODING_GROUP) == 1;
}

p11kms_crypto_pkey *p11kms_crypto_pkey_wrap(EVP_PKEY *pkey, int is_private)
{
    p11kms_crypto_pkey *k = NULL;
    char group[64];
    size_t glen = 0;

    if (pkey == NULL || (k = OPENSSL_zalloc(sizeof(*k))) == NULL)
        goto fail;
    k->bits = (unsigned)EVP_PKEY_get_bits(pkey);
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        k->kind = P11KMS_KEY_KIND_RSA;
        if (k->bits < 1024 || k->bits > 16384)
            goto fail;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        k->kind = P11KMS_KEY_KIND_EC;
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1 ||
            (k->curve = curve_from_name(group)) == P11KMS_CURVE_NONE || !ec_normalise(pkey))
            goto fail;
    } else {
        goto fail;
    }
    k->pkey = pkey;
    k->is_private = is_private;
    atomic_init(&k->refs, 1);
    return k;
fail:
    EVP_PKEY_free(pkey);
    OPENSSL_free(k);
    p11kms_crypto_fail();
    return NULL;
}

/* Generation context for "RSA" or "EC", ready for EVP_PKEY_generate. */
static EVP_PKEY_CTX *keygen_ctx(const char *alg)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    EVP_PKEY_CTX *ctx = s ? EVP_PKEY_CTX_new_from_name(s->libctx, alg, NULL) : NULL;

    if (ctx != NULL && EVP_PKEY_keygen_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

p11kms_crypto_pkey *p11kms_crypto_pkey_generate_rsa(unsigned bits)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (bits != 2048 && bits != 3072 && bits != 4096)
        goto done;
    ctx = keygen_ctx("RSA");
    if (ctx == NULL || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
        EVP_PKEY_generate(ctx, &pkey) != 1)
        goto done;
done:
    EVP_PKEY_CTX_free(ctx);
    return p11kms_crypto_pkey_wrap(pkey, 1);
}

p11kms_crypto_pkey *p11kms_crypto_pkey_generate_ec(p11kms_curve curve)
{
    const p11kms_crypto_curve_info *c = p11kms_crypto_curve_get(curve);
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (c == NULL)
        goto done;
    ctx = keygen_ctx("EC");
    if (ctx == NULL || EVP_PKEY_CTX_set_group_name(ctx, c->nist_name) != 1 ||
        EVP_PKEY_generate(ctx, &pkey) != 1)
        goto done;
done:
    EVP_PKEY_CTX_free(ctx);
    return p11kms_crypto_pkey_wrap(pkey, 1);
}

p11kms_crypto_pkey *p11kms_crypto_pkey_from_der(const unsigned char *der, size_t derlen,
                                                int is_private)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    EVP_PKEY *pkey = NULL;

    if (s == NULL || der == NULL || derlen == 0 || derlen > LONG_MAX)
        goto done;
    if (is_private) {
        p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)derlen);
        if (p8 == NULL || p != der + derlen)
            goto done;
        pkey = EVP_PKCS82PKEY_ex(p8, s->libctx, NULL);
    } else {
        pkey = d2i_PUBKEY_ex(NULL, &p, (long)derlen, s->libctx, NULL);
        if (pkey != NULL && p != der + derlen) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
done:
    PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the key octets */
    return p11kms_crypto_pkey_wrap(pkey, is_private != 0);
}

int p11kms_crypto_pkey_up_ref(p11kms_crypto_pkey *k)
{
    if (k == NULL)
        return 0;
    atomic_fetch_add(&k->refs, 1);
    return 1;
}

void p11kms_crypto_pkey_free(p11kms_crypto_pkey *k)
{
    if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    /*
     * After OPENSSL_cleanup() (a cache emptied from an exit handler)
     * OpenSSL must not be called: the process is ending, leave the key.
     */
    if (p11kms_crypto_state_get() == NULL)
        return;
    EVP_PKEY_free(k->pkey); /* providers cleanse key material */
    OPENSSL_free(k);
}

EVP_PKEY *p11kms_crypto_pkey_evp(const p11kms_crypto_pkey *k)
{
    return k != NULL ? k->pkey : NULL;
}

p11kms_key_kind p11kms_crypto_pkey_kind(const p11kms_crypto_pkey *k)
{
    return k != NULL ? k->kind : P11KMS_KEY_KIND_NONE;
}

int p11kms_crypto_pkey_is_private(const p11kms_crypto_pkey *k)
{
    return k != NULL && k->is_private;
}

unsigned p11kms_crypto_pkey_bits(const p11kms_crypto_pkey *k)
{
    return k != NULL ? k->bits : 0;
}

p11kms_curve p11kms_crypto_pkey_curve(const p11kms_crypto_pkey *k)
{
    return k != NULL ? k->curve : P11KMS_CURVE_NONE;
}

size_t p11kms_crypto_pkey_sig_max(const p11kms_crypto_pkey *k)
{
    int n = k != NULL ? EVP_PKEY_get_size(k->pkey) : 0;

    return n > 0 ? (size_t)n : 0;
}

size_t p11kms_crypto_pkey_rsa_bytes(const p11kms_crypto_pkey *k)
{
    return k != NULL && k->kind == P11KMS_KEY_KIND_RSA ? (k->bits + 7) / 8 : 0;
}

EVP_PKEY_CTX *p11kms_crypto_pkey_ctx(const p11kms_crypto_pkey *k)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();

    if (s == NULL || k == NULL)
        return NULL;
    return EVP_PKEY_CTX_new_from_pkey(s->libctx, k->pkey, NULL);
}

int p11kms_crypto_pkey_private_der(const p11kms_crypto_pkey *k, unsigned char **der, size_t *derlen)
{
    OSSL_ENCODER_CTX *ectx = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    int ok = 0;

    if (der == NULL || derlen == NULL || !p11kms_crypto_pkey_is_private(k) ||
        p11kms_crypto_state_get() == NULL)
        goto done;
    /* not EVP_PKEY2PKCS8: it frees its intermediate DER without cleansing */
    ectx = OSSL_ENCODER_CTX_new_for_pkey(k->pkey, OSSL_KEYMGMT_SELECT_KEYPAIR, "DER",
                                         "PrivateKeyInfo", NULL);
    if (ectx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 ||
        OSSL_ENCODER_to_data(ectx, &buf, &len) != 1 || len == 0)
        goto done;
    *der = buf;
    *derlen = len;
    buf = NULL;
    ok = 1;
done:
    OSSL_ENCODER_CTX_free(ectx);
    p11kms_crypto_free_secret(buf, len);
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_pkey_public_der(const p11kms_crypto_pkey *k, unsigned char **der, size_t *derlen)
{
    unsigned char *buf = NULL;
    int len = 0;

    if (k == NULL || der == NULL || derlen == NULL || p11kms_crypto_state_get() == NULL)
        return p11kms_crypto_fail();
    len = i2d_PUBKEY(k->pkey, &buf);
    if (len <= 0 || buf == NULL) {
        OPENSSL_free(buf);
        return p11kms_crypto_fail();
    }
    *der = buf;
    *derlen = (size_t)len;
    return 1;
}

int p11kms_crypto_spki_from_pkcs8(const unsigned char *der, size_t derlen, unsigned char **spki,
                                  size_t *spkilen)
{
    p11kms_crypto_pkey *k = p11kms_crypto_pkey_from_der(der, derlen, 1);
    int ok = k != NULL && p11kms_crypto_pkey_public_der(k, spki, spkilen);

    p11kms_crypto_pkey_free(k);
    return ok;
}
