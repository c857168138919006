/*
 * provider/prov.c — the p11kms OpenSSL 3 provider's entry point: parameters
 * from openssl.cnf, the algorithm tables, errors, and teardown.
 *
 * Why nothing happens at init: `openssl list -providers` and every program
 * that merely loads the configuration must stay cheap and must never load
 * a PKCS#11 module (which itself uses OpenSSL) from inside OpenSSL's own
 * initialisation, the classic source of recursion and deadlocks.  The
 * module is loaded on first use (provider/session.c) and finalised in the
 * provider's teardown, never from an atexit handler.
 */
#include "config.h"

#include "provider/prov.h"

#include "store/config-pinsrc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

/* Errors ---------------------------------------------------------------------- */

static const OSSL_ITEM reason_strings[] = {{P11KMS_PROV_R_MODULE, "PKCS#11 module error"},
                                           {P11KMS_PROV_R_LOGIN, "token login failed"},
                                           {P11KMS_PROV_R_KEY_NOT_FOUND, "key not found"},
                                           {P11KMS_PROV_R_OPERATION, "key operation failed"},
                                           {P11KMS_PROV_R_UNSUPPORTED, "not supported"},
                                           {P11KMS_PROV_R_BAD_ARGUMENT, "invalid argument"},
                                           {P11KMS_PROV_R_NO_PRIVATE_KEY, "no private key"},
                                           {P11KMS_PROV_R_MEMORY, "out of memory"},
                                           {0, NULL}};

void p11kms_prov_raise(const p11kms_prov_ctx *ctx, const char *file, int line, const char *func,
                       int reason, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (ctx != NULL && ctx->core_new_error != NULL && ctx->core_vset_error != NULL) {
        ctx->core_new_error(ctx->handle);
        if (ctx->core_set_error_debug != NULL)
            ctx->core_set_error_debug(ctx->handle, file, line, func);
        ctx->core_vset_error(ctx->handle, (uint32_t)reason, fmt, ap);
    } else {
        ERR_new();
        ERR_set_debug(file, line, func);
        ERR_vset_error(ERR_LIB_PROV, ERR_R_OPERATION_FAIL, fmt, ap);
    }
    va_end(ap);
}

/* Digest names as OpenSSL spells them in parameters and on command lines. */
p11kms_md p11kms_prov_md_from_name(const char *name)
{
    static const struct {
        const char *name;
        p11kms_md md;
    } names[] = {{"SHA256", P11KMS_MD_SHA256},     {"SHA2-256", P11KMS_MD_SHA256},
                 {"SHA-256", P11KMS_MD_SHA256},    {"2.16.840.1.101.3.4.2.1", P11KMS_MD_SHA256},
                 {"SHA384", P11KMS_MD_SHA384},     {"SHA2-384", P11KMS_MD_SHA384},
                 {"SHA-384", P11KMS_MD_SHA384},    {"2.16.840.1.101.3.4.2.2", P11KMS_MD_SHA384},
                 {"SHA512", P11KMS_MD_SHA512},     {"SHA2-512", P11KMS_MD_SHA512},
                 {"SHA-512", P11KMS_MD_SHA512},    {"2.16.840.1.101.3.4.2.3", P11KMS_MD_SHA512},
                 {"SHA1", P11KMS_MD_SHA1},         {"SHA-1", P11KMS_MD_SHA1},
                 {"1.3.14.3.2.26", P11KMS_MD_SHA1}};
    size_t i;

    for (i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].md;
    }
    return P11KMS_MD_NONE;
}

/* Core BIOs -------------------------------------------------------------------- */

int p11kms_prov_bio_read_all(p11kms_prov_ctx *ctx, OSSL_CORE_BIO *cin, unsigned char **data,
                             size_t *len)
{
    size_t cap = 4096, got = 0;
    unsigned char *buf = NULL, *nbuf;
    int ok = 0;

    *data = NULL;
    *len = 0;
    if (ctx->bio_read_ex == NULL || (buf = OPENSSL_malloc(cap)) == NULL)
        goto done;
    for (;;) {
        if (*len == cap) {
            if (cap >= (1u << 20)) /* a key reference is tiny; refuse floods */
                goto done;
            nbuf = OPENSSL_realloc(buf, cap * 2);
            if (nbuf == NULL)
                goto done;
            buf = nbuf;
            cap *= 2;
        }
        if (!ctx->bio_read_ex(cin, buf + *len, cap - *len, &got) || got == 0)
            break;
        *len += got;
    }
    *data = buf;
    buf = NULL;
    ok = 1;
done:
    OPENSSL_free(buf);
    return ok;
}

int p11kms_prov_bio_write(p11kms_prov_ctx *ctx, OSSL_CORE_BIO *cout, const void *data, size_t len)
{
    size_t written = 0;

    return ctx->bio_write_ex != NULL && ctx->bio_write_ex(cout, data, len, &written) &&
           written == len;
}

/* Algorithms ------------------------------------------------------------------- */

static const OSSL_ALGORITHM keymgmt_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", P11KMS_PROV_PROPS, p11kms_prov_rsa_keymgmt_functions,
     "p11kms RSA keys (private half in the module)"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", P11KMS_PROV_PROPS, p11kms_prov_ec_keymgmt_functions,
     "p11kms EC keys (private half in the module)"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM signature_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", P11KMS_PROV_PROPS,
     p11kms_prov_rsa_signature_functions, "RSA PKCS#1 v1.5 and PSS through CKM_RSA_PKCS(_PSS)"},
    {"ECDSA", P11KMS_PROV_PROPS, p11kms_prov_ecdsa_signature_functions, "ECDSA through CKM_ECDSA"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM asym_cipher_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", P11KMS_PROV_PROPS,
     p11kms_prov_rsa_asym_cipher_functions, "RSA-OAEP through CKM_RSA_PKCS_OAEP"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM store_algs[] = {
    {"p11kms", P11KMS_PROV_PROPS, p11kms_prov_store_functions, "p11kms:alias/NAME, p11kms:key/ID"},
    {"pkcs11", P11KMS_PROV_PROPS, p11kms_prov_store_functions, "RFC 7512 pkcs11: URIs"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM encoder_algs[] = {
    /*
     * PEM_write_bio_PrivateKey() asks for PrivateKeyInfo: answer with the
     * reference.  Every encoder names its structure: OpenSSL 3.0 fails a
     * request for a structure when the first matching encoder it tries has
     * none.
     */
    {"RSA", P11KMS_PROV_PROPS ",output=pem,structure=PrivateKeyInfo",
     p11kms_prov_rsa_ref_pem_encoder_functions, "p11kms key reference (PEM)"},
    {"EC", P11KMS_PROV_PROPS ",output=pem,structure=PrivateKeyInfo",
     p11kms_prov_ec_ref_pem_encoder_functions, "p11kms key reference (PEM)"},
    {"RSA", P11KMS_PROV_PROPS ",output=der,structure=PrivateKeyInfo",
     p11kms_prov_rsa_ref_der_encoder_functions, "p11kms key reference (DER)"},
    {"EC", P11KMS_PROV_PROPS ",output=der,structure=PrivateKeyInfo",
     p11kms_prov_ec_ref_der_encoder_functions, "p11kms key reference (DER)"},
    {"RSA", P11KMS_PROV_PROPS ",output=pem,structure=SubjectPublicKeyInfo",
     p11kms_prov_rsa_spki_pem_encoder_functions, "public key (PEM SubjectPublicKeyInfo)"},
    {"EC", P11KMS_PROV_PROPS ",output=pem,structure=SubjectPublicKeyInfo",
     p11kms_prov_ec_spki_pem_encoder_functions, "public key (PEM SubjectPublicKeyInfo)"},
    {"RSA", P11KMS_PROV_PROPS ",output=der,structure=SubjectPublicKeyInfo",
     p11kms_prov_rsa_spki_der_encoder_functions, "public key (DER SubjectPublicKeyInfo)"},
    {"EC", P11KMS_PROV_PROPS ",output=der,structure=SubjectPublicKeyInfo",
     p11kms_prov_ec_spki_der_encoder_functions, "public key (DER SubjectPublicKeyInfo)"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM decoder_algs[] = {
    {"DER", P11KMS_PROV_PROPS ",input=pem", p11kms_prov_ref_pem_decoder_functions,
     "PEM P11KMS KEY REFERENCE to DER"},
    {"RSA", P11KMS_PROV_PROPS ",input=der", p11kms_prov_rsa_ref_decoder_functions,
     "p11kms key reference"},
    {"EC", P11KMS_PROV_PROPS ",input=der", p11kms_prov_ec_ref_decoder_functions,
     "p11kms key reference"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *p11kms_prov_query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return keymgmt_algs;
    case OSSL_OP_SIGNATURE:
        return signature_algs;
    case OSSL_OP_ASYM_CIPHER:
        return asym_cipher_algs;
    case OSSL_OP_STORE:
        return store_algs;
    case OSSL_OP_ENCODER:
        return encoder_algs;
    case OSSL_OP_DECODER:
        return decoder_algs;
    default:
        return NULL;
    }
}

static const OSSL_ITEM *p11kms_prov_reasons(void *provctx)
{
    (void)provctx;
    return reason_strings;
}

/* Provider parameters ------------------------------------------------------------ */

static const OSSL_PARAM *p11kms_prov_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
                                          OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
                                          OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
                                          OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
                                          OSSL_PARAM_END};

    (void)provctx;
    return gettable;
}

static int p11kms_prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;
    int ok = 0;

    (void)provctx;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "p11kms PKCS#11 key provider"))
        goto done;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, PACKAGE_VERSION))
        goto done;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "p11kms " PACKAGE_VERSION))
        goto done;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1))
        goto done;
    ok = 1;
done:
    return ok;
}

/* Copies a configuration value (NULL or "" stay unset). */
static int conf_dup(const char *value, char **out)
{
    *out = NULL;
    if (value == NULL || value[0] == '\0')
        return 1;
    *out = OPENSSL_strdup(value);
    return *out != NULL;
}

/* p11kms-module-path, p11kms-pin, p11kms-token from the configuration section. */
static int read_config(p11kms_prov_ctx *ctx, const OSSL_DISPATCH *in)
{
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    char *module = NULL, *pin = NULL, *token = NULL;
    OSSL_PARAM params[4];

    for (; in->function_id != 0; in++) {
        if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
            get_params = OSSL_FUNC_core_get_params(in);
    }
    if (get_params == NULL)
        return 1;
    params[0] = OSSL_PARAM_construct_utf8_ptr("p11kms-module-path", &module, 0);
    params[1] = OSSL_PARAM_construct_utf8_ptr("p11kms-pin", &pin, 0);
    params[2] = OSSL_PARAM_construct_utf8_ptr("p11kms-token", &token, 0);
    params[3] = OSSL_PARAM_construct_end();
    if (!get_params(ctx->handle, params))
        return 0;
    return conf_dup(module, &ctx->module_path) && conf_dup(pin, &ctx->pin_source) &&
           conf_dup(token, &ctx->token);
}

/*
 * p11kms-pin must be a PIN source, never a PIN (the parser's messages never
 * repeat the text, which may be a PIN typed in the wrong place; keyfile: is
 * not a PIN).  A bad value is wiped and reported at first use: OpenSSL
 * drops errors raised while it loads the configuration, so failing here
 * would only leave "unregistered scheme" for the user to puzzle over.
 */
static void check_pin_source(p11kms_prov_ctx *ctx)
{
    char msg[200];
    p11kms_pinsrc src;

    if (ctx->pin_source == NULL || p11kms_pinsrc_parse(ctx->pin_source, 0, &src, msg, sizeof(msg)))
        return;
    snprintf(ctx->config_error, sizeof(ctx->config_error), "p11kms-pin: %s", msg);
    OPENSSL_clear_free(ctx->pin_source, strlen(ctx->pin_source));
    ctx->pin_source = NULL;
}

static void core_functions(p11kms_prov_ctx *ctx, const OSSL_DISPATCH *in)
{
    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            ctx->core_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            ctx->core_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            ctx->core_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        case OSSL_FUNC_BIO_READ_EX:
            ctx->bio_read_ex = OSSL_FUNC_BIO_read_ex(in);
            break;
        case OSSL_FUNC_BIO_WRITE_EX:
            ctx->bio_write_ex = OSSL_FUNC_BIO_write_ex(in);
            break;
        default:
            break;
        }
    }
}

static void ctx_free(p11kms_prov_ctx *ctx)
{
    if (ctx == NULL)
        return;
    p11kms_prov_session_teardown(ctx);
    pthread_mutex_destroy(&ctx->lock);
    OPENSSL_free(ctx->module_path);
    if (ctx->pin_source != NULL)
        OPENSSL_clear_free(ctx->pin_source, strlen(ctx->pin_source));
    OPENSSL_free(ctx->token);
    OPENSSL_free(ctx);
}

static void p11kms_prov_teardown(void *provctx)
{
    ctx_free(provctx);
}

static const OSSL_DISPATCH p11kms_prov_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))p11kms_prov_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))p11kms_prov_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))p11kms_prov_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))p11kms_prov_query},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))p11kms_prov_reasons},
    {0, NULL}};

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    p11kms_prov_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));
    int ok = 0;

    if (ctx == NULL)
        goto done;
    ctx->handle = handle;
    ctx->slot = (CK_SLOT_ID)-1;
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        OPENSSL_free(ctx);
        ctx = NULL;
        goto done;
    }
    core_functions(ctx, in);
    if (!read_config(ctx, in)) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_BAD_ARGUMENT, "cannot read the provider configuration");
        goto done;
    }
    check_pin_source(ctx);
    *out = p11kms_prov_dispatch;
    *provctx = ctx;
    ctx = NULL;
    ok = 1;
done:
    ctx_free(ctx);
    return ok;
}
