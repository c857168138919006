/*
 * provider/session.c — the provider's one connection to a PKCS#11 module:
 * loaded on first use, the token found, logged in once, and a small pool
 * of sessions so that concurrent threads (a TLS server) never share one.
 *
 * Why a long-lived login session: PKCS#11 login state belongs to the
 * application and ends when its last session closes; one session kept open
 * for the provider's lifetime keeps the token logged in while operation
 * sessions come and go.
 *
 * Fork: a child must C_Initialize again before any call (PKCS#11 2.40,
 * 6.7.7) and the parent's sessions and handles are gone.  Every entry point
 * compares getpid() with the pid that opened the sessions; a child
 * re-initialises, logs in again from the configured PIN source (a PIN typed
 * at a prompt is never kept) and bumps the generation so that keys look up
 * their handles again.
 *
 * Exit: teardown runs from OPENSSL_cleanup() when the process exits.  By
 * then libcrypto is half shut down and the module's own destructors may
 * have run, so a module that uses OpenSSL (SoftHSMv2, p11kms-pkcs11.so)
 * must not be called: when OPENSSL_init_crypto() reports that cleanup has
 * started, only the provider's own memory is released.  An explicit
 * OSSL_PROVIDER_unload() finalises the module normally.
 */
#include "config.h"

#include "provider/prov.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

#define PIN_BUF 257

/*
 * A module left initialised at process exit (see above) stays reachable
 * from here instead of leaking: the process is ending anyway.
 */
static p11kms_client_module *volatile left_at_exit; /* volatile: the store must stay */

/*
 * 1 when OpenSSL is shutting down: OPENSSL_init_crypto() fails once
 * OPENSSL_cleanup() has started (and is a cheap no-op before); the error it
 * queues then is dropped.
 */
static int openssl_stopping(void)
{
    int stopping;

    ERR_set_mark();
    stopping = OPENSSL_init_crypto(0, NULL) == 0;
    ERR_pop_to_mark();
    return stopping;
}

static int load_module(p11kms_prov_ctx *ctx, const p11kms_client_uri *uri)
{
    p11kms_client_err err = {"", 0};
    const char *path = ctx->module_path;
    int ok = 0;

    if (path == NULL && uri != NULL && uri->module_path != NULL)
        path = uri->module_path;
    /* Modules that use OpenSSL (SoftHSMv2) leave noise on the error queue. */
    ERR_set_mark();
    ok = p11kms_client_module_load(path, &ctx->mod, &err);
    ERR_pop_to_mark();
    if (!ok) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_MODULE, "%s", p11kms_client_err_msg(&err));
        goto done;
    }
    if (ctx->token != NULL)
        ok = p11kms_client_find_slot(ctx->mod, ctx->token, &ctx->slot, &err);
    else if (uri != NULL && uri->kind == P11KMS_CLIENT_URI_PKCS11)
        ok = p11kms_client_find_slot_uri(ctx->mod, uri, &ctx->slot, &err);
    else
        ok = p11kms_client_find_slot(ctx->mod, NULL, &ctx->slot, &err);
    if (!ok) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_MODULE, "%s", p11kms_client_err_msg(&err));
        p11kms_client_module_unload(ctx->mod);
        ctx->mod = NULL;
    }
    ctx->pid = getpid();
done:
    return ok;
}

/* Does the token want a login before its private keys can be used? */
static int login_required(p11kms_prov_ctx *ctx)
{
    CK_TOKEN_INFO info;
    CK_FUNCTION_LIST *fn = p11kms_client_module_functions(ctx->mod);

    if (fn->C_GetTokenInfo(ctx->slot, &info) != CKR_OK)
        return 1;
    return (info.flags & CKF_LOGIN_REQUIRED) != 0 &&
           (info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) == 0;
}

/* The passphrase callback, as OpenSSL 3.0's STORE and DECODER offer it. */
static int pin_from_callback(const p11kms_prov_pin_hint *hint, p11kms_client_pin *pin,
                             unsigned char *buf)
{
    OSSL_PARAM params[2];
    size_t len = 0;

    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, "PKCS#11 token PIN", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (hint == NULL || hint->cb == NULL ||
        !hint->cb((char *)buf, PIN_BUF - 1, &len, params, hint->cbarg) || len == 0)
        return 0;
    buf[len] = '\0';
    pin->data = buf;
    pin->len = len;
    pin->cap = PIN_BUF;
    return 1;
}

/* Log in with the first PIN source that applies. */
static int login(p11kms_prov_ctx *ctx, const p11kms_prov_pin_hint *hint)
{
    const p11kms_client_uri *uri = hint != NULL ? hint->uri : NULL;
    unsigned char buf[PIN_BUF];
    p11kms_client_pin pin = {NULL, 0, 0};
    p11kms_client_err err = {"", 0};
    const char *value, *env_pin = getenv("P11KMS_PIN_SOURCE");
    int ok = 0;

    if (env_pin != NULL && env_pin[0] == '\0')
        env_pin = NULL;
    if (uri != NULL && uri->has_pin_value) {
        value = p11_kit_uri_get_pin_value(uri->pkcs11);
        pin.data = (unsigned char *)value;
        pin.len = strlen(value);
        ok = p11kms_client_login_pin(ctx->mod, ctx->login_session, CKU_USER, &pin, &err);
    } else if (uri != NULL && uri->pin_source != NULL) {
        ok = p11kms_client_login(ctx->mod, ctx->login_session, CKU_USER, uri->pin_source, &err);
    } else if (ctx->pin_source != NULL || env_pin != NULL) {
        ok = p11kms_client_login(ctx->mod, ctx->login_session, CKU_USER,
                                 ctx->pin_source != NULL ? ctx->pin_source : env_pin, &err);
    } else if (pin_from_callback(hint, &pin, buf)) {
        ok = p11kms_client_login_pin(ctx->mod, ctx->login_session, CKU_USER, &pin, &err);
    } else {
        return 1; /* no PIN anywhere: keys that need one fail with a hint */
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    if (!ok)
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_LOGIN, "%s", p11kms_client_err_msg(&err));
    ctx->logged_in = ok;
    return ok;
}

/* A forked child: initialise again and forget the parent's sessions. */
static int after_fork(p11kms_prov_ctx *ctx)
{
    p11kms_client_err err = {"", 0};

    if (ctx->mod == NULL || ctx->pid == getpid())
        return 1;
    ctx->npool = 0;
    ctx->have_login_session = 0;
    ctx->logged_in = 0;
    ctx->generation++;
    if (!p11kms_client_module_after_fork(ctx->mod, &err)) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_MODULE, "after fork: %s", p11kms_client_err_msg(&err));
        return 0;
    }
    ctx->pid = getpid();
    return 1;
}

static int ready_locked(p11kms_prov_ctx *ctx, const p11kms_prov_pin_hint *hint)
{
    p11kms_client_err err = {"", 0};

    if (ctx->config_error[0] != '\0') {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_BAD_ARGUMENT, "%s", ctx->config_error);
        return 0;
    }
    if (!after_fork(ctx))
        return 0;
    if (ctx->mod == NULL && !load_module(ctx, hint != NULL ? hint->uri : NULL))
        return 0;
    if (!ctx->have_login_session) {
        if (!p11kms_client_session_open(ctx->mod, ctx->slot, 0, &ctx->login_session, &err)) {
            P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_MODULE, "%s", p11kms_client_err_msg(&err));
            return 0;
        }
        ctx->have_login_session = 1;
    }
    if (!ctx->logged_in && login_required(ctx))
        return login(ctx, hint);
    return 1;
}

int p11kms_prov_ready(p11kms_prov_ctx *ctx, const p11kms_prov_pin_hint *hint)
{
    int ok;

    pthread_mutex_lock(&ctx->lock);
    ok = ready_locked(ctx, hint);
    pthread_mutex_unlock(&ctx->lock);
    return ok;
}

int p11kms_prov_session_get(p11kms_prov_ctx *ctx, CK_SESSION_HANDLE *session, unsigned *gen)
{
    p11kms_client_err err = {"", 0};
    int ok = 0;

    pthread_mutex_lock(&ctx->lock);
    if (!ready_locked(ctx, NULL))
        goto done;
    *gen = ctx->generation;
    if (ctx->npool > 0) {
        *session = ctx->pool[--ctx->npool];
        ok = 1;
        goto done;
    }
    ok = p11kms_client_session_open(ctx->mod, ctx->slot, 0, session, &err);
    if (!ok)
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_MODULE, "%s", p11kms_client_err_msg(&err));
done:
    pthread_mutex_unlock(&ctx->lock);
    return ok;
}

void p11kms_prov_session_put(p11kms_prov_ctx *ctx, CK_SESSION_HANDLE session, int ok)
{
    pthread_mutex_lock(&ctx->lock);
    if (ctx->mod != NULL && ctx->pid == getpid()) {
        if (ok && ctx->npool < P11KMS_PROV_POOL_MAX)
            ctx->pool[ctx->npool++] = session;
        else
            p11kms_client_session_close(ctx->mod, session);
    }
    pthread_mutex_unlock(&ctx->lock);
}

void p11kms_prov_session_teardown(p11kms_prov_ctx *ctx)
{
    size_t i;

    if (ctx->mod == NULL)
        return;
    if (openssl_stopping() || ctx->pid != getpid()) {
        left_at_exit = ctx->mod; /* see the top of this file: never call the module at exit */
        ctx->mod = NULL;
        return;
    }
    for (i = 0; i < ctx->npool; i++)
        p11kms_client_session_close(ctx->mod, ctx->pool[i]);
    if (ctx->have_login_session)
        p11kms_client_session_close(ctx->mod, ctx->login_session);
    ctx->npool = 0;
    ctx->have_login_session = 0;
    p11kms_client_module_unload(ctx->mod);
    ctx->mod = NULL;
}
