/*
 * tde/page-cipher.c — builds the page cipher of one DEK.  The DEK itself is
 * never used directly: HKDF-SHA256 derives one key per mode, so an XTS
 * sector and a GCM page can never share a key (key separation), and the
 * ciphers are fetched once from the private library context.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/secmem.h"
#include "tde/page-internal.h"
#include "tde/tde-internal.h"

static const char info_xts[] = "p11kms-tde page xts v1";
static const char info_gcm[] = "p11kms-tde page xaes-gcm v1";

/* Fetch the ciphers and allocate the key block. */
static int cipher_alloc(p11kms_tde_page_cipher **out, p11kms_tde_error *err)
{
    OSSL_LIB_CTX *ctx = p11kms_crypto_libctx();
    p11kms_tde_page_cipher *c = calloc(1, sizeof(*c));
    int ok = 0;

    if (c == NULL || ctx == NULL)
        goto done;
    c->keys = p11kms_secmem_alloc(sizeof(*c->keys));
    c->xts = EVP_CIPHER_fetch(ctx, "AES-256-XTS", NULL);
    c->ecb = EVP_CIPHER_fetch(ctx, "AES-256-ECB", NULL);
    c->gcm = EVP_CIPHER_fetch(ctx, "AES-256-GCM", NULL);
    ok = c->keys != NULL && c->xts != NULL && c->ecb != NULL && c->gcm != NULL;
done:
    if (!ok) {
        p11kms_tde_page_cipher_free(c);
        return tde_fail(err, P11KMS_TDE_ERR_CRYPTO, "cannot set up AES-XTS/GCM");
    }
    *out = c;
    return 1;
}

/* XTS refuses Key1 == Key2 (the IEEE 1619 weakness); HKDF output never
 * collides in practice, but a raw key might. */
static int xts_key_ok(const unsigned char *k)
{
    return !p11kms_crypto_memeq(k, k + 32, 32);
}

int p11kms_tde_page_cipher_raw(const unsigned char *xts_key, const unsigned char *gcm_key,
                               p11kms_tde_page_cipher **out, p11kms_tde_error *err)
{
    p11kms_tde_page_cipher *c = NULL;

    if (out == NULL || (xts_key == NULL && gcm_key == NULL) ||
        (xts_key != NULL && !xts_key_ok(xts_key)))
        return tde_fail(err, P11KMS_TDE_ERR_INVALID, "invalid page cipher keys");
    if (!cipher_alloc(&c, err))
        return 0;
    if (xts_key != NULL) {
        memcpy(c->keys->xts, xts_key, sizeof(c->keys->xts));
        c->has_xts = 1;
    }
    if (gcm_key != NULL) {
        memcpy(c->keys->gcm, gcm_key, sizeof(c->keys->gcm));
        c->has_gcm = tde_xaes_prepare(c);
        if (!c->has_gcm) {
            p11kms_tde_page_cipher_free(c);
            return tde_fail(err, P11KMS_TDE_ERR_CRYPTO, "XAES key setup failed");
        }
    }
    *out = c;
    return 1;
}

int p11kms_tde_page_cipher_new(const unsigned char *dek, size_t deklen,
                               p11kms_tde_page_cipher **out, p11kms_tde_error *err)
{
    tde_page_keys *k = p11kms_secmem_alloc(sizeof(*k));
    int ok = 0;

    if (k == NULL || dek == NULL || deklen < 16 || out == NULL) {
        tde_fail(err, P11KMS_TDE_ERR_INVALID, "invalid DEK");
        goto done;
    }
    if (!p11kms_crypto_hkdf_sha256(NULL, 0, dek, deklen, (const unsigned char *)info_xts,
                                   sizeof(info_xts) - 1, k->xts, sizeof(k->xts)) ||
        !p11kms_crypto_hkdf_sha256(NULL, 0, dek, deklen, (const unsigned char *)info_gcm,
                                   sizeof(info_gcm) - 1, k->gcm, sizeof(k->gcm))) {
        tde_fail(err, P11KMS_TDE_ERR_CRYPTO, "HKDF failed");
        goto done;
    }
    ok = p11kms_tde_page_cipher_raw(k->xts, k->gcm, out, err);
done:
    p11kms_secmem_free(k, sizeof(*k));
    return ok;
}

void p11kms_tde_page_cipher_free(p11kms_tde_page_cipher *c)
{
    if (c == NULL)
        return;
    p11kms_secmem_free(c->keys, sizeof(*c->keys));
    EVP_CIPHER_free(c->xts);
    EVP_CIPHER_free(c->ecb);
    EVP_CIPHER_free(c->gcm);
    free(c);
}
