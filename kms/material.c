/* kms/material.c — key material: generation for every spec, and the
 * per-version cache of unwrapped material in common/secmem pages (never
 * dumped, wiped on fork).  A version's material never changes, so it stays
 * cached across epoch changes until logout, close or destruction. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "kms/kms-internal.h"

void kms_versions_free(p11kms_kms_key *key)
{
    for (size_t i = 0; i < key->nversions; i++) {
        p11kms_secmem_free(key->versions[i].material, key->versions[i].material_len);
        p11kms_crypto_pkey_free(key->versions[i].pkey);
    }
    free(key->versions);
    key->versions = NULL;
    key->nversions = 0;
}

static p11kms_kms_rc versions_grow(p11kms_kms_key *key, uint32_t n)
{
    kms_version *v;

    if (n <= key->nversions)
        return P11KMS_KMS_OK;
    v = realloc(key->versions, n * sizeof(*v));
    if (v == NULL)
        return P11KMS_KMS_NOMEM;
    memset(v + key->nversions, 0, (n - key->nversions) * sizeof(*v));
    for (size_t i = key->nversions; i < n; i++)
        v[i].version = (uint32_t)(i + 1);
    key->versions = v;
    key->nversions = n;
    return P11KMS_KMS_OK;
}

/* Unwraps one version's material from the store into secmem. */
static p11kms_kms_rc version_load(p11kms_kms_key *key, kms_version *v)
{
    p11kms_store *st = key->kms->st;
    size_t len = 0;
    uint8_t *buf = NULL;
    p11kms_store_rc src;
    p11kms_kms_rc rc = P11KMS_KMS_INTERNAL;

    src = p11kms_store_version_material(st, key->key_id, v->version, NULL, 0, &len);
    if (src != P11KMS_STORE_INVALID || len == 0)
        return src == P11KMS_STORE_OK ? P11KMS_KMS_INTERNAL : kms_rc_from_store(src);
    buf = p11kms_secmem_alloc(len);
    if (buf == NULL)
        return P11KMS_KMS_NOMEM;
    src = p11kms_store_version_material(st, key->key_id, v->version, buf, len, &len);
    if (src != P11KMS_STORE_OK) {
        rc = kms_rc_from_store(src);
        goto done;
    }
    if (kms_spec_is_rsa(key->spec) || kms_spec_is_ec(key->spec)) {
        v->pkey = p11kms_crypto_pkey_from_der(buf, len, 1);
        rc = v->pkey ? P11KMS_KMS_OK : P11KMS_KMS_STORE_CORRUPT;
        goto done;
    }
    v->material = buf;
    v->material_len = len;
    buf = NULL;
    rc = P11KMS_KMS_OK;
done:
    p11kms_secmem_free(buf, len);
    return rc;
}

p11kms_kms_rc kms_version_get(p11kms_kms_key *key, uint32_t version, kms_version **out)
{
    kms_version *v;
    p11kms_kms_rc rc;

    if (version == 0)
        version = key->row.current_version;
    if (version == 0 || version > key->row.current_version)
        return P11KMS_KMS_NOT_FOUND;
    rc = versions_grow(key, key->row.current_version);
    if (rc != P11KMS_KMS_OK)
        return rc;
    v = &key->versions[version - 1];
    if (v->material == NULL && v->pkey == NULL) {
        rc = version_load(key, v);
        if (rc != P11KMS_KMS_OK)
            return rc;
    }
    *out = v;
    return P11KMS_KMS_OK;
}

static size_t secret_len(p11kms_kms_key_spec spec)
{
    switch (spec) {
    case P11KMS_KMS_SPEC_SYMMETRIC_DEFAULT:
        return KMS_SYMMETRIC_KEY_LEN;
    case P11KMS_KMS_SPEC_HMAC_256:
        return 32;
    case P11KMS_KMS_SPEC_HMAC_384:
        return 48;
    case P11KMS_KMS_SPEC_HMAC_512:
        return 64;
    default:
        return 0;
    }
}

static p11kms_crypto_pkey *generate_pkey(p11kms_kms_key_spec spec)
{
    switch (spec) {
    case P11KMS_KMS_SPEC_RSA_2048:
        return p11kms_crypto_pkey_generate_rsa(2048);
    case P11KMS_KMS_SPEC_RSA_3072:
        return p11kms_crypto_pkey_generate_rsa(3072);
    case P11KMS_KMS_SPEC_RSA_4096:
        return p11kms_crypto_pkey_generate_rsa(4096);
    case P11KMS_KMS_SPEC_ECC_NIST_P256:
        return p11kms_crypto_pkey_generate_ec(P11KMS_CURVE_P256);
    case P11KMS_KMS_SPEC_ECC_NIST_P384:
        return p11kms_crypto_pkey_generate_ec(P11KMS_CURVE_P384);
    case P11KMS_KMS_SPEC_ECC_NIST_P521:
        return p11kms_crypto_pkey_generate_ec(P11KMS_CURVE_P521);
    default:
        return NULL;
    }
}

p11kms_kms_rc kms_material_generate(p11kms_kms_key_spec spec, uint8_t **material,
                                    size_t *material_len, uint8_t **spki, size_t *spki_len)
{
    size_t n = secret_len(spec);
    p11kms_crypto_pkey *pk = NULL;
    p11kms_kms_rc rc = P11KMS_KMS_INTERNAL;

    *material = NULL;
    *material_len = 0;
    *spki = NULL;
    *spki_len = 0;
    if (n > 0) {
        *material = OPENSSL_malloc(n);
        if (*material == NULL || !p11kms_crypto_random(*material, n))
            goto done;
        *material_len = n;
        rc = P11KMS_KMS_OK;
        goto done;
    }
    pk = generate_pkey(spec);
    if (pk == NULL || !p11kms_crypto_pkey_private_der(pk, material, material_len) ||
        !p11kms_crypto_pkey_public_der(pk, spki, spki_len))
        goto done;
    rc = P11KMS_KMS_OK;
done:
    if (rc != P11KMS_KMS_OK) {
        p11kms_crypto_free_secret(*material, n ? n : *material_len);
        OPENSSL_free(*spki);
        *material = NULL;
        *spki = NULL;
    }
    p11kms_crypto_pkey_free(pk);
    return rc;
}
