/*
 * provider/store.c — the STORE loader for `p11kms:` URIs (p11kms:alias/NAME,
 * p11kms:key/UUID) and RFC 7512 `pkcs11:` URIs, so that every openssl
 * command and OSSL_STORE_open() caller can name a key in the module:
 * `openssl pkeyutl -sign -inkey p11kms:alias/web`.
 *
 * It returns private keys (as references: the private half stays in the
 * module), public keys, and certificates (as DER, decoded by OpenSSL).
 * OpenSSL 3.0 has no open_ex, so the PIN comes from the provider
 * configuration (p11kms-pin), the URI (pin-source=, pin-value=), or the
 * passphrase callback passed to load().
 */
#include "config.h"

#include "provider/prov.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/store.h>

#define STORE_MAX 16

typedef struct store_ctx {
    p11kms_prov_ctx *prov;
    p11kms_client_uri uri;
    char *display; /* the URI for messages, without its query (a pin-value) */
    int expect;    /* OSSL_STORE_INFO_* or 0 for anything */
    int collected, eof;
    p11kms_prov_key *keys[STORE_MAX];
    size_t nkeys;
    unsigned char *certs[STORE_MAX];
    size_t certlens[STORE_MAX];
    size_t ncerts;
    size_t next; /* over keys, then certificates */
} store_ctx;

static void p11kms_prov_store_close_ctx(store_ctx *ctx)
{
    size_t i;

    if (ctx == NULL)
        return;
    for (i = 0; i < ctx->nkeys; i++)
        p11kms_prov_key_free(ctx->keys[i]);
    for (i = 0; i < ctx->ncerts; i++)
        OPENSSL_free(ctx->certs[i]);
    p11kms_client_uri_free(&ctx->uri);
    OPENSSL_free(ctx->display);
    OPENSSL_free(ctx);
}

static void *p11kms_prov_store_open(void *provctx, const char *uri)
{
    p11kms_client_err err = {"", 0};
    store_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));
    const char *q;

    if (ctx == NULL)
        return NULL;
    ctx->prov = provctx;
    if (!p11kms_client_uri_parse(uri, 0, &ctx->uri, &err)) {
        P11KMS_PROV_ERR(provctx, P11KMS_PROV_R_BAD_ARGUMENT, "%s", p11kms_client_err_msg(&err));
        goto fail;
    }
    q = strchr(uri, '?');
    ctx->display = q != NULL && ctx->uri.kind == P11KMS_CLIENT_URI_PKCS11
                       ? OPENSSL_strndup(uri, (size_t)(q - uri))
                       : OPENSSL_strdup(uri);
    if (ctx->display == NULL)
        goto fail;
    return ctx;
fail:
    p11kms_prov_store_close_ctx(ctx);
    return NULL;
}

static const OSSL_PARAM *p11kms_prov_store_settable(void *provctx)
{
    static const OSSL_PARAM settable[] = {OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
                                          OSSL_PARAM_END};

    (void)provctx;
    return settable;
}

static int p11kms_prov_store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
    store_ctx *ctx = loaderctx;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);

    return p == NULL || OSSL_PARAM_get_int(p, &ctx->expect);
}

static int wants(const store_ctx *ctx, int type)
{
    return ctx->expect == 0 || ctx->expect == type;
}

/* Keys of class cls; public_only keeps a private key's public half only. */
static int collect_keys(store_ctx *ctx, CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls,
                        int public_only)
{
    p11kms_client_keyref refs[STORE_MAX];
    p11kms_client_err err = {"", 0};
    size_t count = 0, i;

    if (!p11kms_client_key_find(ctx->prov->mod, session, &ctx->uri, cls, refs, STORE_MAX, &count,
                                &err)) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_KEY_NOT_FOUND, "%s", p11kms_client_err_msg(&err));
        return 0;
    }
    for (i = 0; i < count && i < STORE_MAX && ctx->nkeys < STORE_MAX; i++) {
        if (refs[i].key_type != CKK_RSA && refs[i].key_type != CKK_EC)
            continue; /* not something OpenSSL 3.0 can use through a provider */
        ctx->keys[ctx->nkeys] = p11kms_prov_key_from_ref(ctx->prov, session, &refs[i]);
        if (ctx->keys[ctx->nkeys] == NULL)
            return 0;
        if (public_only)
            ctx->keys[ctx->nkeys]->has_private = 0;
        ctx->nkeys++;
    }
    return 1;
}

static int collect_certs(store_ctx *ctx, CK_SESSION_HANDLE session)
{
    p11kms_client_keyref refs[STORE_MAX];
    p11kms_client_err err = {"", 0};
    size_t count = 0, i;

    if (!p11kms_client_key_find(ctx->prov->mod, session, &ctx->uri, CKO_CERTIFICATE, refs,
                                STORE_MAX, &count, &err)) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_KEY_NOT_FOUND, "%s", p11kms_client_err_msg(&err));
        return 0;
    }
    for (i = 0; i < count && i < STORE_MAX; i++) {
        if (!p11kms_client_key_cert_der(ctx->prov->mod, session, &refs[i], &ctx->certs[ctx->ncerts],
                                        &ctx->certlens[ctx->ncerts], &err))
            continue;
        ctx->ncerts++;
    }
    return 1;
}

static int collect_all(store_ctx *ctx, CK_SESSION_HANDLE session)
{
    if (wants(ctx, OSSL_STORE_INFO_PKEY) && !collect_keys(ctx, session, CKO_PRIVATE_KEY, 0))
        return 0;
    if (ctx->expect == OSSL_STORE_INFO_PUBKEY) {
        if (!collect_keys(ctx, session, CKO_PUBLIC_KEY, 0))
            return 0;
        if (ctx->nkeys == 0 && !collect_keys(ctx, session, CKO_PRIVATE_KEY, 1))
            return 0;
    } else if (ctx->expect == 0 && ctx->nkeys == 0 &&
               !collect_keys(ctx, session, CKO_PUBLIC_KEY, 0)) {
        return 0;
    }
    return !wants(ctx, OSSL_STORE_INFO_CERT) || collect_certs(ctx, session);
}

static int collect(store_ctx *ctx, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    p11kms_prov_pin_hint hint = {&ctx->uri, pw_cb, pw_cbarg};
    CK_SESSION_HANDLE session;
    unsigned gen;
    int ok = 0;

    ctx->collected = 1;
    if (!p11kms_prov_ready(ctx->prov, &hint) || !p11kms_prov_session_get(ctx->prov, &session, &gen))
        return 0;
    ok = collect_all(ctx, session);
    p11kms_prov_session_put(ctx->prov, session, ok);
    if (ok && ctx->nkeys == 0 && ctx->ncerts == 0) {
        P11KMS_PROV_ERR(ctx->prov, P11KMS_PROV_R_KEY_NOT_FOUND, "%s: no %s found%s", ctx->display,
                        ctx->expect == OSSL_STORE_INFO_CERT ? "certificate" : "key",
                        ctx->prov->logged_in ? "" : " (not logged in: configure p11kms-pin)");
        ok = 0;
    }
    return ok;
}

static int emit_key(p11kms_prov_key *key, OSSL_CALLBACK *object_cb, void *object_cbarg)
{
    OSSL_PARAM params[4];
    int type = OSSL_OBJECT_PKEY;
    char *data_type = key->kind == P11KMS_KEY_KIND_RSA ? "RSA" : "EC";

    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, data_type, 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &key, sizeof(key));
    params[3] = OSSL_PARAM_construct_end();
    return object_cb(params, object_cbarg);
}

static int emit_cert(unsigned char *der, size_t len, OSSL_CALLBACK *object_cb, void *object_cbarg)
{
    OSSL_PARAM params[3];
    int type = OSSL_OBJECT_CERT;

    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, len);
    params[2] = OSSL_PARAM_construct_end();
    return object_cb(params, object_cbarg);
}

static int p11kms_prov_store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
                                  OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    store_ctx *ctx = loaderctx;
    size_t i;
    int ok = 0;

    if (!ctx->collected && !collect(ctx, pw_cb, pw_cbarg)) {
        ctx->eof = 1;
        goto done;
    }
    i = ctx->next++;
    if (i < ctx->nkeys)
        ok = emit_key(ctx->keys[i], object_cb, object_cbarg);
    else if (i - ctx->nkeys < ctx->ncerts)
        ok = emit_cert(ctx->certs[i - ctx->nkeys], ctx->certlens[i - ctx->nkeys], object_cb,
                       object_cbarg);
    if (ctx->next >= ctx->nkeys + ctx->ncerts)
        ctx->eof = 1;
done:
    return ok;
}

static int p11kms_prov_store_eof(void *loaderctx)
{
    return ((store_ctx *)loaderctx)->eof;
}

static int p11kms_prov_store_close(void *loaderctx)
{
    p11kms_prov_store_close_ctx(loaderctx);
    return 1;
}

#define FN(id, f)                                                                                  \
    {                                                                                              \
        id, (void (*)(void))(f)                                                                    \
    }
const OSSL_DISPATCH p11kms_prov_store_functions[] = {
    FN(OSSL_FUNC_STORE_OPEN, p11kms_prov_store_open),
    FN(OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, p11kms_prov_store_settable),
    FN(OSSL_FUNC_STORE_SET_CTX_PARAMS, p11kms_prov_store_set_ctx_params),
    FN(OSSL_FUNC_STORE_LOAD, p11kms_prov_store_load),
    FN(OSSL_FUNC_STORE_EOF, p11kms_prov_store_eof),
    FN(OSSL_FUNC_STORE_CLOSE, p11kms_prov_store_close),
    {0, NULL}};
