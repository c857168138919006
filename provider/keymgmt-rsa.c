/*
 * provider/keymgmt-rsa.c — KEYMGMT for RSA keys whose private half stays in
 * the PKCS#11 module; generation creates a new RSA CMK under an alias
 * (`openssl genpkey -algorithm RSA -pkeyopt bits:3072
 * -pkeyopt p11kms-alias:alias/NAME`).  Shared logic: provider/keymgmt.c.
 */
#include "config.h"

#include "provider/prov.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#define ALIAS_PARAM "p11kms-alias"

typedef struct rsa_gen_ctx {
    p11kms_prov_ctx *ctx;
    size_t bits;
    char *alias;
} rsa_gen_ctx;

static void *p11kms_prov_rsa_new(void *provctx)
{
    return p11kms_prov_key_new(provctx, P11KMS_KEY_KIND_RSA);
}

static const OSSL_PARAM *p11kms_prov_rsa_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END};

    (void)provctx;
    return gettable;
}

static const OSSL_PARAM rsa_public_types[] = {OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
                                              OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
                                              OSSL_PARAM_END};

static const OSSL_PARAM *p11kms_prov_rsa_io_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? rsa_public_types : NULL;
}

static int p11kms_prov_rsa_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return p11kms_prov_km_import(P11KMS_KEY_KIND_RSA, keydata, selection, params);
}

static const char *p11kms_prov_rsa_query_name(int operation_id)
{
    (void)operation_id;
    return "RSA";
}

static int p11kms_prov_rsa_gen_set_params(void *genctx, const OSSL_PARAM params[]);

static void p11kms_prov_rsa_gen_cleanup(void *genctx)
{
    rsa_gen_ctx *g = genctx;

    if (g == NULL)
        return;
    OPENSSL_free(g->alias);
    OPENSSL_free(g);
}

static void *p11kms_prov_rsa_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    rsa_gen_ctx *g = NULL;

    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return NULL;
    g = OPENSSL_zalloc(sizeof(*g));
    if (g == NULL)
        return NULL;
    g->ctx = provctx;
    g->bits = 2048;
    if (!p11kms_prov_rsa_gen_set_params(g, params)) {
        p11kms_prov_rsa_gen_cleanup(g);
        g = NULL;
    }
    return g;
}

static int p11kms_prov_rsa_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    rsa_gen_ctx *g = genctx;
    const OSSL_PARAM *p;
    char *alias = NULL;
    int ok = 0;

    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS);
    if (p != NULL && !OSSL_PARAM_get_size_t(p, &g->bits))
        goto done;
    p = OSSL_PARAM_locate_const(params, ALIAS_PARAM);
    if (p != NULL) {
        if (!OSSL_PARAM_get_utf8_string(p, &alias, 0))
            goto done;
        OPENSSL_free(g->alias);
        g->alias = alias;
    }
    ok = 1;
done:
    return ok;
}

static const OSSL_PARAM *p11kms_prov_rsa_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),
                                          OSSL_PARAM_utf8_string(ALIAS_PARAM, NULL, 0),
                                          OSSL_PARAM_END};

    (void)genctx;
    (void)provctx;
    return settable;
}

static void *p11kms_prov_rsa_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    rsa_gen_ctx *g = genctx;

    (void)cb;
    (void)cbarg;
    return p11kms_prov_km_gen(g->ctx, P11KMS_KEY_KIND_RSA, (unsigned)g->bits, P11KMS_CURVE_NONE,
                              g->alias);
}

#define FN(id, f)                                                                                  \
    {                                                                                              \
        id, (void (*)(void))(f)                                                                    \
    }
const OSSL_DISPATCH p11kms_prov_rsa_keymgmt_functions[] = {
    FN(OSSL_FUNC_KEYMGMT_NEW, p11kms_prov_rsa_new),
    FN(OSSL_FUNC_KEYMGMT_FREE, p11kms_prov_km_free),
    FN(OSSL_FUNC_KEYMGMT_DUP, p11kms_prov_km_dup),
    FN(OSSL_FUNC_KEYMGMT_LOAD, p11kms_prov_km_load),
    FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, p11kms_prov_km_get_params),
    FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, p11kms_prov_rsa_gettable_params),
    FN(OSSL_FUNC_KEYMGMT_HAS, p11kms_prov_km_has),
    FN(OSSL_FUNC_KEYMGMT_MATCH, p11kms_prov_km_match),
    FN(OSSL_FUNC_KEYMGMT_IMPORT, p11kms_prov_rsa_import),
    FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, p11kms_prov_rsa_io_types),
    FN(OSSL_FUNC_KEYMGMT_EXPORT, p11kms_prov_km_export),
    FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, p11kms_prov_rsa_io_types),
    FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, p11kms_prov_rsa_query_name),
    FN(OSSL_FUNC_KEYMGMT_GEN_INIT, p11kms_prov_rsa_gen_init),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, p11kms_prov_rsa_gen_set_params),
    FN(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, p11kms_prov_rsa_gen_settable_params),
    FN(OSSL_FUNC_KEYMGMT_GEN, p11kms_prov_rsa_gen),
    FN(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, p11kms_prov_rsa_gen_cleanup),
    {0, NULL}};
