/*
 * common/libctx.c - the private OpenSSL library context of p11kms and the
 * algorithm objects fetched from it once, so hot paths never fetch.
 *
 * Life cycle: created by the first caller (pthread_once), never freed.
 * Freeing it at exit would race libcrypto's own OPENSSL_cleanup() atexit
 * handler (the order of atexit handlers and library destructors across a
 * dlopen'ed module, libcrypto and the application is not ours to choose),
 * which is the known exit crash of PKCS#11 + provider stacks.  Instead,
 * every entry point asks OpenSSL whether it has been stopped and fails
 * cleanly once OPENSSL_cleanup() has run.  The memory is released by the
 * exit itself; valgrind reports it as "still reachable".
 *
 * Fork: the state is plain heap memory inherited by the child; OpenSSL 3's
 * DRBG reseeds itself when it sees a new process (fork id check), so the
 * child never repeats the parent's random stream.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "common/crypto-internal.h"

static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static p11kms_crypto_state state;
static int state_ok;

static const char *const md_names[5] = {NULL, "SHA1", "SHA256", "SHA384", "SHA512"};
static const size_t md_sizes[5] = {0, 20, 32, 48, 64};

static void state_release(p11kms_crypto_state *s)
{
    for (size_t i = 0; i < 5; i++) {
        EVP_MAC_CTX_free(s->hmac_tmpl[i]);
        EVP_MD_free(s->md[i]);
    }
    for (size_t i = 0; i < P11KMS_AES_SIZES; i++) {
        EVP_CIPHER_free(s->gcm[i]);
        EVP_CIPHER_free(s->cbc[i]);
        EVP_CIPHER_free(s->wrap_pad[i]);
    }
    EVP_MAC_free(s->hmac);
    EVP_KDF_free(s->hkdf);
    EVP_KDF_free(s->scrypt);
    OSSL_PROVIDER_unload(s->provider);
    OSSL_LIB_CTX_free(s->libctx);
    memset(s, 0, sizeof(*s));
}

static int fetch_ciphers(p11kms_crypto_state *s)
{
    static const char *const gcm[] = {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"};
    static const char *const cbc[] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
    static const char *const wrap[] = {"AES-128-WRAP-PAD", "AES-192-WRAP-PAD", "AES-256-WRAP-PAD"};
    for (size_t i = 0; i < P11KMS_AES_SIZES; i++) {
        s->gcm[i] = EVP_CIPHER_fetch(s->libctx, gcm[i], NULL);
        s->cbc[i] = EVP_CIPHER_fetch(s->libctx, cbc[i], NULL);
        s->wrap_pad[i] = EVP_CIPHER_fetch(s->libctx, wrap[i], NULL);
        if (s->gcm[i] == NULL || s->cbc[i] == NULL || s->wrap_pad[i] == NULL)
            return 0;
    }
    return 1;
}

/* A MAC context with the digest already set: per-call dup skips a fetch. */
static EVP_MAC_CTX *hmac_template(EVP_MAC *mac, const char *mdname)
{
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)mdname, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx != NULL && !EVP_MAC_CTX_set_params(ctx, params)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

static int fetch_digests_and_kdfs(p11kms_crypto_state *s)
{
    s->hmac = EVP_MAC_fetch(s->libctx, "HMAC", NULL);
    s->hkdf = EVP_KDF_fetch(s->libctx, "HKDF", NULL);
    s->scrypt = EVP_KDF_fetch(s->libctx, "SCRYPT", NULL);
    if (s->hmac == NULL || s->hkdf == NULL || s->scrypt == NULL)
        return 0;
    for (size_t i = 1; i < 5; i++) {
        s->md[i] = EVP_MD_fetch(s->libctx, md_names[i], NULL);
        s->hmac_tmpl[i] = hmac_template(s->hmac, md_names[i]);
        if (s->md[i] == NULL || s->hmac_tmpl[i] == NULL)
            return 0;
    }
    return 1;
}

static void state_init(void)
{
    p11kms_crypto_state s;

    memset(&s, 0, sizeof(s));
    s.libctx = OSSL_LIB_CTX_new();
    if (s.libctx == NULL)
        goto done;
    s.provider = OSSL_PROVIDER_load(s.libctx, "default");
    if (s.provider == NULL || !fetch_ciphers(&s) || !fetch_digests_and_kdfs(&s))
        goto done;
    state = s;
    state_ok = 1;
done:
    if (!state_ok)
        state_release(&s);
    ERR_clear_error();
}

const p11kms_crypto_state *p11kms_crypto_state_get(void)
{
    /*
     * With no options this is one atomic load while OpenSSL is alive, and
     * returns 0 once OPENSSL_cleanup() has run (the error it would raise
     * goes nowhere then: the error state is gone too).
     */
    if (OPENSSL_init_crypto(0, NULL) != 1)
        return NULL;
    if (pthread_once(&state_once, state_init) != 0 || !state_ok)
        return NULL;
    return &state;
}

OSSL_LIB_CTX *p11kms_crypto_libctx(void)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();

    return s != NULL ? s->libctx : NULL;
}

int p11kms_crypto_fail(void)
{
    ERR_clear_error();
    return 0;
}

int p11kms_crypto_out_ready(const unsigned char *out, size_t *outlen, size_t need, int *ok)
{
    *ok = 0;
    if (outlen == NULL)
        return 0;
    if (out == NULL) {
        *outlen = need;
        *ok = 1;
        return 0;
    }
    if (*outlen < need) {
        *outlen = need;
        return 0;
    }
    return 1;
}

void p11kms_crypto_free_secret(void *p, size_t len)
{
    if (p != NULL)
        OPENSSL_clear_free(p, len);
}

int p11kms_crypto_random(unsigned char *buf, size_t len)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();

    if (s == NULL || (buf == NULL && len > 0))
        return 0;
    if (len == 0)
        return 1;
    /* strength 256: never accept a DRBG weaker than the AES-256 keys it makes */
    if (RAND_priv_bytes_ex(s->libctx, buf, len, 256) != 1) {
        OPENSSL_cleanse(buf, len);
        return p11kms_crypto_fail();
    }
    return 1;
}

size_t p11kms_crypto_md_size(p11kms_md md)
{
    return (md >= P11KMS_MD_SHA1 && md <= P11KMS_MD_SHA512) ? md_sizes[md] : 0;
}

const char *p11kms_crypto_md_name(p11kms_md md)
{
    return (md >= P11KMS_MD_SHA1 && md <= P11KMS_MD_SHA512) ? md_names[md] : NULL;
}

const EVP_MD *p11kms_crypto_md_evp(p11kms_md md)
{
    const p11kms_crypto_state *s = p11kms_crypto_state_get();

    if (s == NULL || p11kms_crypto_md_size(md) == 0)
        return NULL;
    return s->md[md];
}
