/*
 * tde/keyring.c — opening, creating and closing a keyring: the file is read
 * and parsed, every DEK is unwrapped (one audited Decrypt each) into
 * protected memory and the file's HMAC is checked, all before open returns,
 * so a wrong PIN, a denied Decrypt or a tampered file is an error at open
 * and never in the middle of a database's I/O.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/crypto.h"
#include "common/timeutil.h"
#include "tde/tde-internal.h"

int tde_keyring_save(p11kms_tde_keyring *kr, p11kms_tde_error *err)
{
    unsigned char *bytes = NULL;
    size_t len = 0;

    if (!tde_kr_encode(&kr->doc, kr->mac_key, &bytes, &len, err))
        return 0;
    if (!tde_file_replace(kr->path, bytes, len, err)) {
        OPENSSL_free(bytes);
        return 0;
    }
    free(kr->file);
    kr->file = malloc(len);
    if (kr->file != NULL)
        memcpy(kr->file, bytes, len);
    kr->file_len = kr->file != NULL ? len : 0;
    OPENSSL_free(bytes);
    return 1;
}

/* Unwrap every DEK, then check the MAC with the key derived from DEK 1. */
static int unwrap_all(p11kms_tde_keyring *kr, p11kms_tde_error *err)
{
    for (size_t i = 0; i < kr->doc.ndeks; i++)
        if (!tde_dek_unwrap(kr, &kr->doc.deks[i], err))
            return 0;
    if (!tde_kr_mac_key(kr->doc.deks[0].key, kr->mac_key))
        return tde_fail(err, P11KMS_TDE_ERR_CRYPTO, "cannot derive the keyring MAC key");
    return tde_kr_verify_mac(kr->file, kr->file_len, kr->mac_key, err);
}

static int load(p11kms_tde_keyring *kr, p11kms_tde_error *err)
{
    if (!tde_file_read(kr->path, &kr->file, &kr->file_len, err) ||
        !tde_kr_decode(kr->file, kr->file_len, &kr->doc, err))
        return 0;
    return unwrap_all(kr, err);
}

/* A new keyring: CMK, random id, DEK version 1, first write. */
static int create(p11kms_tde_keyring *kr, const p11kms_tde_options *opt, p11kms_tde_error *err)
{
    tde_dek *d;

    if (!tde_session_cmk(&kr->session, opt, kr->doc.cmk_id, sizeof(kr->doc.cmk_id), err))
        return 0;
    if (!p11kms_crypto_random(kr->doc.id, sizeof(kr->doc.id)))
        return tde_fail(err, P11KMS_TDE_ERR_CRYPTO, "no random bytes");
    kr->doc.deks = d = calloc(1, sizeof(*d));
    if (d == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
    if (!tde_dek_new(kr, 1, d, err))
        return 0;
    kr->doc.ndeks = 1;
    kr->doc.latest = 1;
    if (!tde_kr_mac_key(d->key, kr->mac_key))
        return tde_fail(err, P11KMS_TDE_ERR_CRYPTO, "cannot derive the keyring MAC key");
    return tde_keyring_save(kr, err);
}

/* Create under the lock unless another process created it meanwhile. */
static int load_or_create(p11kms_tde_keyring *kr, const p11kms_tde_options *opt,
                          p11kms_tde_error *err)
{
    int lock = -1, ok;

    if (!opt->create || access(kr->path, F_OK) == 0 || errno != ENOENT)
        return load(kr, err);
    if (!tde_file_lock(kr->path, &lock, err))
        return 0;
    ok = access(kr->path, F_OK) == 0 ? load(kr, err) : create(kr, opt, err);
    tde_file_unlock(lock);
    return ok;
}

int p11kms_tde_open(const char *path, const p11kms_tde_options *opt, p11kms_tde_keyring **out,
                    p11kms_tde_error *err)
{
    static const p11kms_tde_options defaults = {0};
    p11kms_tde_keyring *kr = NULL;
    int ok = 0;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (path == NULL || path[0] == '\0' || out == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_INVALID, "no keyring path");
    if (opt == NULL)
        opt = &defaults;
    kr = calloc(1, sizeof(*kr));
    if (kr == NULL || (kr->path = strdup(path)) == NULL) {
        tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!tde_session_open(opt, &kr->session, err))
        goto done;
    ok = load_or_create(kr, opt, err);
done:
    if (!ok) {
        p11kms_tde_close(kr);
        kr = NULL;
    }
    *out = kr;
    return ok;
}

void p11kms_tde_close(p11kms_tde_keyring *kr)
{
    if (kr == NULL)
        return;
    tde_kr_doc_clear(&kr->doc);
    OPENSSL_cleanse(kr->mac_key, sizeof(kr->mac_key));
    tde_session_close(&kr->session);
    free(kr->file);
    free(kr->path);
    free(kr);
}

uint32_t p11kms_tde_latest_version(const p11kms_tde_keyring *kr)
{
    return kr != NULL ? kr->doc.latest : 0;
}

int p11kms_tde_key(const p11kms_tde_keyring *kr, uint32_t version, const unsigned char **key,
                   p11kms_tde_error *err)
{
    if (kr == NULL || key == NULL || version == 0 || version > kr->doc.ndeks ||
        kr->doc.deks[version - 1].key == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_NOTFOUND, "no DEK version %u", (unsigned)version);
    *key = kr->doc.deks[version - 1].key;
    return 1;
}

const unsigned char *p11kms_tde_keyring_id(const p11kms_tde_keyring *kr)
{
    return kr != NULL ? kr->doc.id : NULL;
}

const char *p11kms_tde_cmk_id(const p11kms_tde_keyring *kr)
{
    return kr != NULL ? kr->doc.cmk_id : NULL;
}
