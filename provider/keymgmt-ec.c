/*
 * provider/keymgmt-ec.c — KEYMGMT for EC keys (NIST P-256, P-384, P-521, the
 * KMS key specs) whose private half stays in the PKCS#11 module; generation
 * creates a new EC CMK under an alias (`openssl genpkey -algorithm EC
 * -pkeyopt group:P-256 -pkeyopt p11kms-alias:alias/NAME`).  Shared logic:
 * provider/keymgmt.c.
 */
#include "config.h"

#include "provider/prov.h"

#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#define ALIAS_PARAM "p11kms-alias"

typedef struct ec_gen_ctx {
    p11kms_prov_ctx *ctx;
    p11kms_curve curve;
    char *alias;
} ec_gen_ctx;

static p11kms_curve curve_from_name(const char *name)
{
    static const struct {
        const char *name;
        p11kms_curve curve;
    } names[] = {{"P-256", P11KMS_CURVE_P256},     {"prime256v1", P11KMS_CURVE_P256},
                 {"secp256r1", P11KMS_CURVE_P256}, {"P-384", P11KMS_CURVE_P384},
                 {"secp384r1", P11KMS_CURVE_P384}, {"P-521", P11KMS_CURVE_P521},
                 {"secp521r1", P11KMS_CURVE_P521}};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].curve;
    }
    return P11KMS_CURVE_NONE;
}

static void *p11kms_prov_ec_new(void *provctx)
{
    return p11kms_prov_key_new(provctx, P11KMS_KEY_KIND_EC);
}

static const OSSL_PARAM *p11kms_prov_ec_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_END};

    (void)provctx;
    return gettable;
}

static const OSSL_PARAM ec_param_types[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0), OSSL_PARAM_END};

static const OSSL_PARAM ec_public_types[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0), OSSL_PARAM_END};

static const OSSL_PARAM *p11kms_prov_ec_io_types(int selection)
{
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
        return ec_public_types;
    return (selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0 ? ec_param_types : NULL;
}

static int p11kms_prov_ec_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return p11kms_prov_km_import(P11KMS_KEY_KIND_EC, keydata, selection, params);
}

static const char *p11kms_prov_ec_query_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

static int p11kms_prov_ec_gen_set_params(void *genctx, const OSSL_PARAM params[]);

static void p11kms_prov_ec_gen_cleanup(void *genctx)
{
    ec_gen_ctx *g = genctx;

    if (g == NULL)
        return;
    OPENSSL_free(g->alias);
    OPENSSL_free(g);
}

static void *p11kms_prov_ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    ec_gen_ctx *g = NULL;

    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return NULL;
    g = OPENSSL_zalloc(sizeof(*g));
    if (g == NULL)
        return NULL;
    g->ctx = provctx;
    if (!p11kms_prov_ec_gen_set_params(g, params)) {
        p11kms_prov_ec_gen_cleanup(g);
        g = NULL;
    }
    return g;
}

static int p11kms_prov_ec_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    ec_gen_ctx *g = genctx;
    const OSSL_PARAM *p;
    const char *group = NULL;
    char *alias = NULL;
    int ok = 0;

    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
    if (p != NULL) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &group))
            goto done;
        g->curve = curve_from_name(group);
        if (g->curve == P11KMS_CURVE_NONE) {
            P11KMS_PROV_ERR(g->ctx, P11KMS_PROV_R_UNSUPPORTED,
                            "curve %s: only P-256, P-384 and P-521 (KMS key specs)", group);
            goto done;
        }
    }
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

static const OSSL_PARAM *p11kms_prov_ec_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(ALIAS_PARAM, NULL, 0), OSSL_PARAM_END};

    (void)genctx;
    (void)provctx;
    return settable;
}

static void *p11kms_prov_ec_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    ec_gen_ctx *g = genctx;

    (void)cb;
    (void)cbarg;
    if (g->curve == P11KMS_CURVE_NONE) {
        P11KMS_PROV_ERR(g->ctx, P11KMS_PROV_R_BAD_ARGUMENT,
                        "EC key generation needs a curve: -pkeyopt group:P-256");
        return NULL;
    }
    return p11kms_prov_km_gen(g->ctx, P11KMS_KEY_KIND_EC, 0, g->curve, g->alias);
}

#define FN(id, f)                                                                                  \
    {                                                                                              \
        id, (void (*)(void))(f)                                                                    \
    }
const OSSL_DISPATCH p11kms_prov_ec_keymgmt_functions[] = {
    FN(OSSL_FUNC_KEYMGMT_NEW, p11kms_prov_ec_new),
    FN(OSSL_FUNC_KEYMGMT_FREE, p11kms_prov_km_free),
    FN(OSSL_FUNC_KEYMGMT_DUP, p11kms_prov_km_dup),
    FN(OSSL_FUNC_KEYMGMT_LOAD, p11kms_prov_km_load),
    FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, p11kms_prov_km_get_params),
    FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, p11kms_prov_ec_gettable_params),
    FN(OSSL_FUNC_KEYMGMT_HAS, p11kms_prov_km_has),
    FN(OSSL_FUNC_KEYMGMT_MATCH, p11kms_prov_km_match),
    FN(OSSL_FUNC_KEYMGMT_IMPORT, p11kms_prov_ec_import),
    FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, p11kms_prov_ec_io_types),
    FN(OSSL_FUNC_KEYMGMT_EXPORT, p11kms_prov_km_export),
    FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, p11kms_prov_ec_io_types),
    FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, p11kms_prov_ec_query_name),
    FN(OSSL_FUNC_KEYMGMT_GEN_INIT, p11kms_prov_ec_gen_init),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, p11kms_prov_ec_gen_set_params),
    FN(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, p11kms_prov_ec_gen_settable_params),
    FN(OSSL_FUNC_KEYMGMT_GEN, p11kms_prov_ec_gen),
    FN(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, p11kms_prov_ec_gen_cleanup),
    {0, NULL}};
