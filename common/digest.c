/*
 * common/digest.c - SHA-1/2 digests, HMAC (one-shot and streaming) and
 * constant-time comparison, all on the pre-fetched objects of libctx.c.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/crypto-internal.h"

struct p11kms_crypto_hash {
    p11kms_md md;
    EVP_MD_CTX *mdctx;   /* digest mode */
    EVP_MAC_CTX *macctx; /* HMAC mode */
};

int p11kms_crypto_memeq(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

int p11kms_crypto_digest(p11kms_md md, const unsigned char *in, size_t inlen, unsigned char *out,
                         size_t *outlen)
{
    const EVP_MD *evp = p11kms_crypto_md_evp(md);
    size_t need = p11kms_crypto_md_size(md);
    unsigned int len = 0;
    int ok = 0;

    if (evp == NULL || (in == NULL && inlen > 0) ||
        !p11kms_crypto_out_ready(out, outlen, need, &ok))
        goto done;
    if (EVP_Digest(in != NULL ? in : (const unsigned char *)"", inlen, out, &len, evp, NULL) != 1 ||
        len != need)
        goto done;
    *outlen = len;
    ok = 1;
done:
    return ok ? 1 : p11kms_crypto_fail();
}

static EVP_MAC_CTX *hmac_start(p11kms_md md, const unsigned char *key, size_t keylen)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();
    static const unsigned char empty[1];
    EVP_MAC_CTX *ctx = NULL;

    if (s == NULL || p11kms_crypto_md_size(md) == 0 || (key == NULL && keylen > 0))
        return NULL;
    ctx = EVP_MAC_CTX_dup(s->hmac_tmpl[md]);
    /* HMAC with an empty key is legal; OpenSSL wants a non-NULL pointer */
    if (ctx != NULL && !EVP_MAC_init(ctx, keylen ? key : empty, keylen, NULL)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

int p11kms_crypto_hmac(p11kms_md md, const unsigned char *key, size_t keylen,
                       const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen)
{
    p11kms_crypto_hash *h = NULL;
    int ok = 0;

    if (p11kms_crypto_md_size(md) == 0 ||
        !p11kms_crypto_out_ready(out, outlen, p11kms_crypto_md_size(md), &ok))
        goto done;
    h = p11kms_crypto_hash_new_hmac(md, key, keylen);
    ok = h != NULL && p11kms_crypto_hash_update(h, in, inlen) &&
         p11kms_crypto_hash_final(h, out, outlen);
done:
    p11kms_crypto_hash_free(h);
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_hmac_verify(p11kms_md md, const unsigned char *key, size_t keylen,
                              const unsigned char *in, size_t inlen, const unsigned char *mac,
                              size_t maclen)
{
    unsigned char calc[P11KMS_MD_MAX_SIZE];
    size_t calclen = sizeof(calc);
    int ok = 0;

    if (mac == NULL || maclen != p11kms_crypto_md_size(md))
        goto done;
    if (!p11kms_crypto_hmac(md, key, keylen, in, inlen, calc, &calclen))
        goto done;
    ok = calclen == maclen && p11kms_crypto_memeq(calc, mac, maclen);
done:
    OPENSSL_cleanse(calc, sizeof(calc));
    return ok;
}

p11kms_crypto_hash *p11kms_crypto_hash_new_digest(p11kms_md md)
{
    const EVP_MD *evp = p11kms_crypto_md_evp(md);
    p11kms_crypto_hash *h = NULL;

    if (evp == NULL || (h = OPENSSL_zalloc(sizeof(*h))) == NULL)
        goto fail;
    h->md = md;
    h->mdctx = EVP_MD_CTX_new();
    if (h->mdctx == NULL || EVP_DigestInit_ex2(h->mdctx, evp, NULL) != 1)
        goto fail;
    return h;
fail:
    p11kms_crypto_hash_free(h);
    p11kms_crypto_fail();
    return NULL;
}

p11kms_crypto_hash *p11kms_crypto_hash_new_hmac(p11kms_md md, const unsigned char *key,
                                                size_t keylen)
{
    p11kms_crypto_hash *h = OPENSSL_zalloc(sizeof(*h));

    if (h == NULL)
        goto fail;
    h->md = md;
    h->macctx = hmac_start(md, key, keylen);
    if (h->macctx == NULL)
        goto fail;
    return h;
fail:
    p11kms_crypto_hash_free(h);
    p11kms_crypto_fail();
    return NULL;
}

int p11kms_crypto_hash_update(p11kms_crypto_hash *h, const unsigned char *in, size_t inlen)
{
    int ok = 0;

    if (h == NULL || (in == NULL && inlen > 0))
        goto done;
    if (inlen == 0)
        ok = 1;
    else if (h->mdctx != NULL)
        ok = EVP_DigestUpdate(h->mdctx, in, inlen) == 1;
    else if (h->macctx != NULL)
        ok = EVP_MAC_update(h->macctx, in, inlen) == 1;
done:
    return ok ? 1 : p11kms_crypto_fail();
}

int p11kms_crypto_hash_final(p11kms_crypto_hash *h, unsigned char *out, size_t *outlen)
{
    size_t need = h != NULL ? p11kms_crypto_md_size(h->md) : 0;
    unsigned int mdlen = 0;
    size_t maclen = 0;
    int ok = 0;

    if (h == NULL || !p11kms_crypto_out_ready(out, outlen, need, &ok))
        goto done;
    if (h->mdctx != NULL) {
        ok = EVP_DigestFinal_ex(h->mdctx, out, &mdlen) == 1 && mdlen == need;
        EVP_MD_CTX_free(h->mdctx);
        h->mdctx = NULL;
    } else if (h->macctx != NULL) {
        ok = EVP_MAC_final(h->macctx, out, &maclen, *outlen) == 1 && maclen == need;
        EVP_MAC_CTX_free(h->macctx); /* drops the keyed state at once */
        h->macctx = NULL;
    }
    if (ok)
        *outlen = need;
done:
    return ok ? 1 : p11kms_crypto_fail();
}

void p11kms_crypto_hash_free(p11kms_crypto_hash *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->mdctx);
    EVP_MAC_CTX_free(h->macctx);
    OPENSSL_free(h);
}
