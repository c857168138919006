/* kms/names.c — KMS's names for specs, usages, states and algorithms, the
 * spec/usage matrix and the per-algorithm limits (digest lengths, OAEP
 * plaintext limits, signature sizes), and KMS's alias-name rules. */
#include "config.h"

#include <string.h>

#include "kms/kms-internal.h"

static const char *const spec_names[] = {
    "SYMMETRIC_DEFAULT", "HMAC_256", "HMAC_384",      "HMAC_512",      "RSA_2048",
    "RSA_3072",          "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
};
static const char *const usage_names[] = {
    "ENCRYPT_DECRYPT",
    "SIGN_VERIFY",
    "GENERATE_VERIFY_MAC",
};
static const char *const state_names[] = {"Enabled", "Disabled", "PendingDeletion"};
static const char *const manager_names[] = {"CUSTOMER", "SERVICE"};
static const char *const origin_names[] = {"P11KMS", "EXTERNAL"};
static const char *const enc_names[] = {
    "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1",   "RSAES_OAEP_SHA_256",
    "P11KMS_AES_GCM",    "P11KMS_AES_CBC_PAD", "P11KMS_AES_KWP",
};
static const char *const sign_names[] = {
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
};
static const char *const mac_names[] = {"HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"};

#define NAME_OF(tab, v) ((unsigned)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[v] : "UNKNOWN")

static int lookup(const char *const *tab, size_t n, const char *s, int *out)
{
    for (size_t i = 0; s != NULL && i < n; i++) {
        if (strcmp(tab[i], s) == 0) {
            *out = (int)i;
            return 1;
        }
    }
    return 0;
}

#define PARSE(tab, s, out, type)                                                                   \
    do {                                                                                           \
        int v_;                                                                                    \
        if (!lookup(tab, sizeof(tab) / sizeof(tab[0]), s, &v_))                                    \
            return 0;                                                                              \
        *(out) = (type)v_;                                                                         \
        return 1;                                                                                  \
    } while (0)

const char *p11kms_kms_spec_name(p11kms_kms_key_spec v)
{
    return NAME_OF(spec_names, v);
}
const char *p11kms_kms_usage_name(p11kms_kms_key_usage v)
{
    return NAME_OF(usage_names, v);
}
const char *p11kms_kms_state_name(p11kms_kms_key_state v)
{
    return NAME_OF(state_names, v);
}
const char *p11kms_kms_manager_name(p11kms_kms_key_manager v)
{
    return NAME_OF(manager_names, v);
}
const char *p11kms_kms_origin_name(p11kms_kms_origin v)
{
    return NAME_OF(origin_names, v);
}
const char *p11kms_kms_enc_alg_name(p11kms_kms_enc_alg v)
{
    return NAME_OF(enc_names, v);
}
const char *p11kms_kms_sign_alg_name(p11kms_kms_sign_alg v)
{
    return NAME_OF(sign_names, v);
}
const char *p11kms_kms_mac_alg_name(p11kms_kms_mac_alg v)
{
    return NAME_OF(mac_names, v);
}

int p11kms_kms_spec_parse(const char *s, p11kms_kms_key_spec *out)
{
    PARSE(spec_names, s, out, p11kms_kms_key_spec);
}
int p11kms_kms_usage_parse(const char *s, p11kms_kms_key_usage *out)
{
    PARSE(usage_names, s, out, p11kms_kms_key_usage);
}
int p11kms_kms_enc_alg_parse(const char *s, p11kms_kms_enc_alg *out)
{
    PARSE(enc_names, s, out, p11kms_kms_enc_alg);
}
int p11kms_kms_sign_alg_parse(const char *s, p11kms_kms_sign_alg *out)
{
    PARSE(sign_names, s, out, p11kms_kms_sign_alg);
}
int p11kms_kms_mac_alg_parse(const char *s, p11kms_kms_mac_alg *out)
{
    PARSE(mac_names, s, out, p11kms_kms_mac_alg);
}
int kms_state_parse(const char *s, p11kms_kms_key_state *out)
{
    PARSE(state_names, s, out, p11kms_kms_key_state);
}
int kms_manager_parse(const char *s, p11kms_kms_key_manager *out)
{
    PARSE(manager_names, s, out, p11kms_kms_key_manager);
}
int kms_origin_parse(const char *s, p11kms_kms_origin *out)
{
    PARSE(origin_names, s, out, p11kms_kms_origin);
}

int kms_spec_is_symmetric(p11kms_kms_key_spec s)
{
    return s == P11KMS_KMS_SPEC_SYMMETRIC_DEFAULT;
}
int kms_spec_is_hmac(p11kms_kms_key_spec s)
{
    return s >= P11KMS_KMS_SPEC_HMAC_256 && s <= P11KMS_KMS_SPEC_HMAC_512;
}
int kms_spec_is_rsa(p11kms_kms_key_spec s)
{
    return s >= P11KMS_KMS_SPEC_RSA_2048 && s <= P11KMS_KMS_SPEC_RSA_4096;
}
int kms_spec_is_ec(p11kms_kms_key_spec s)
{
    return s >= P11KMS_KMS_SPEC_ECC_NIST_P256 && s <= P11KMS_KMS_SPEC_ECC_NIST_P521;
}

int p11kms_kms_spec_usage_allowed(p11kms_kms_key_spec spec, p11kms_kms_key_usage usage)
{
    if (kms_spec_is_symmetric(spec))
        return usage == P11KMS_KMS_USAGE_ENCRYPT_DECRYPT;
    if (kms_spec_is_hmac(spec))
        return usage == P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC;
    if (kms_spec_is_rsa(spec))
        return usage == P11KMS_KMS_USAGE_ENCRYPT_DECRYPT || usage == P11KMS_KMS_USAGE_SIGN_VERIFY;
    if (kms_spec_is_ec(spec))
        return usage == P11KMS_KMS_USAGE_SIGN_VERIFY;
    return 0;
}

size_t p11kms_kms_sign_alg_digest_len(p11kms_kms_sign_alg alg)
{
    static const size_t len[] = {32, 48, 64, 32, 48, 64, 32, 48, 64};
    return (unsigned)alg < P11KMS_KMS_SIGN_COUNT_ ? len[alg] : 0;
}

size_t p11kms_kms_oaep_max_plaintext(p11kms_kms_key_spec spec, p11kms_kms_enc_alg alg)
{
    size_t k, h;

    if (!kms_spec_is_rsa(spec))
        return 0;
    k = spec == P11KMS_KMS_SPEC_RSA_2048 ? 256 : spec == P11KMS_KMS_SPEC_RSA_3072 ? 384 : 512;
    if (alg == P11KMS_KMS_ENC_RSAES_OAEP_SHA_1)
        h = 20;
    else if (alg == P11KMS_KMS_ENC_RSAES_OAEP_SHA_256)
        h = 32;
    else
        return 0;
    return k - 2 * h - 2;
}

size_t p11kms_kms_sign_max_len(p11kms_kms_key_spec spec)
{
    switch (spec) {
    case P11KMS_KMS_SPEC_RSA_2048:
        return 256;
    case P11KMS_KMS_SPEC_RSA_3072:
        return 384;
    case P11KMS_KMS_SPEC_RSA_4096:
        return 512;
    case P11KMS_KMS_SPEC_ECC_NIST_P256:
        return 72;
    case P11KMS_KMS_SPEC_ECC_NIST_P384:
        return 104;
    case P11KMS_KMS_SPEC_ECC_NIST_P521:
        return 139;
    default:
        return 0;
    }
}

size_t p11kms_kms_mac_len(p11kms_kms_mac_alg alg)
{
    return p11kms_crypto_md_size(kms_mac_alg_md(alg));
}

p11kms_md kms_mac_alg_md(p11kms_kms_mac_alg alg)
{
    switch (alg) {
    case P11KMS_KMS_MAC_HMAC_SHA_256:
        return P11KMS_MD_SHA256;
    case P11KMS_KMS_MAC_HMAC_SHA_384:
        return P11KMS_MD_SHA384;
    case P11KMS_KMS_MAC_HMAC_SHA_512:
        return P11KMS_MD_SHA512;
    default:
        return P11KMS_MD_NONE;
    }
}

/* KMS: an HMAC_N key supports exactly HMAC_SHA_N. */
p11kms_kms_mac_alg kms_spec_mac_alg(p11kms_kms_key_spec spec)
{
    return (p11kms_kms_mac_alg)(spec - P11KMS_KMS_SPEC_HMAC_256);
}

/* KMS: "alias/" + 1-250 of [A-Za-z0-9/_-]; "alias/aws/" reserved there,
 * "alias/p11kms/" reserved here (checked by the callers). */
int kms_alias_name_valid(const char *a)
{
    size_t n;

    if (a == NULL || strncmp(a, "alias/", 6) != 0)
        return 0;
    n = strlen(a);
    if (n <= 6 || n > 256)
        return 0;
    for (size_t i = 6; i < n; i++) {
        char ch = a[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '/' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}
