/*
 * tde/keyring-ops.c — the KMS side of a keyring: wrap a new DEK
 * (GenerateDataKeyWithoutPlaintext, then an audited Decrypt to hold it),
 * unwrap one (Decrypt), add a version and rewrap everything under the CMK's
 * newest version (ReEncrypt: the DEK never leaves the module in the clear
 * during a rewrap).  Each blob's encryption context names its keyring id and
 * version, so a blob moved to another keyring or slot fails to decrypt.
 * Changes run under PATH.lock and refuse to overwrite a file another
 * process changed since this handle read it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "common/timeutil.h"
#include "tde/tde-internal.h"

int tde_dek_unwrap(p11kms_tde_keyring *kr, tde_dek *d, p11kms_tde_error *err)
{
    json_t *ctx = tde_kr_context(kr->doc.id, d->version);
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error ke;
    char what[64];
    int ok = 0;

    snprintf(what, sizeof(what), "cannot unwrap DEK version %u", (unsigned)d->version);
    if (ctx == NULL) {
        tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!p11kms_client_kms_decrypt(&kr->session.kms, kr->doc.cmk_id, d->blob, d->blob_len, ctx,
                                   &res, &ke)) {
        tde_fail_kms(err, what, &ke);
        goto done;
    }
    if (res.plaintext_len != P11KMS_TDE_KEY_LEN) {
        tde_fail(err, P11KMS_TDE_ERR_CORRUPT, "%s: wrong DEK length", what);
        goto done;
    }
    p11kms_secmem_free(d->key, P11KMS_TDE_KEY_LEN);
    d->key = p11kms_secmem_dup(res.plaintext, P11KMS_TDE_KEY_LEN);
    ok = d->key != NULL || tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of protected memory");
done:
    p11kms_client_kms_result_clear(&res);
    json_decref(ctx);
    return ok;
}

int tde_dek_new(p11kms_tde_keyring *kr, uint32_t version, tde_dek *d, p11kms_tde_error *err)
{
    json_t *ctx = tde_kr_context(kr->doc.id, version);
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error ke;
    int ok = 0;

    memset(d, 0, sizeof(*d));
    d->version = version;
    d->created_ms = p11kms_time_now_ms();
    if (ctx == NULL || !p11kms_client_kms_generate_data_key_without_plaintext(
                           &kr->session.kms, kr->doc.cmk_id, "AES_256", 0, ctx, &res, &ke)) {
        tde_fail_kms(err, "cannot generate a DEK", ctx ? &ke : NULL);
        goto done;
    }
    d->blob = malloc(res.ciphertext_len);
    if (d->blob == NULL || res.ciphertext_len == 0 || res.ciphertext_len > TDE_KR_MAX_BLOB) {
        tde_fail(err, P11KMS_TDE_ERR_KMS, "bad data key blob");
        goto done;
    }
    memcpy(d->blob, res.ciphertext, res.ciphertext_len);
    d->blob_len = res.ciphertext_len;
    ok = tde_dek_unwrap(kr, d, err);
done:
    if (!ok) {
        free(d->blob);
        d->blob = NULL;
    }
    p11kms_client_kms_result_clear(&res);
    json_decref(ctx);
    return ok;
}

/* Under the lock: is the file still what this handle last read or wrote? */
static int unchanged(p11kms_tde_keyring *kr, p11kms_tde_error *err)
{
    unsigned char *now = NULL;
    size_t len = 0;
    int same;

    if (!tde_file_read(kr->path, &now, &len, err))
        return 0;
    same = len == kr->file_len && memcmp(now, kr->file, len) == 0;
    free(now);
    return same || tde_fail(err, P11KMS_TDE_ERR_CONFLICT, "keyring %s changed on disk; reopen it",
                            kr->path);
}

/* Append a new DEK version to the document (not yet saved). */
static int append_version(p11kms_tde_keyring *kr, p11kms_tde_error *err)
{
    tde_dek *grown;
    uint32_t v = kr->doc.latest + 1;

    if (kr->doc.ndeks >= P11KMS_TDE_MAX_DEKS)
        return tde_fail(err, P11KMS_TDE_ERR_LIMIT, "too many DEK versions");
    grown = realloc(kr->doc.deks, (kr->doc.ndeks + 1) * sizeof(*grown));
    if (grown == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
    kr->doc.deks = grown;
    if (!tde_dek_new(kr, v, &grown[kr->doc.ndeks], err))
        return 0;
    kr->doc.ndeks++;
    kr->doc.latest = v;
    return 1;
}

/* Drop versions above keep (after a failed save). */
static void truncate_versions(p11kms_tde_keyring *kr, size_t keep)
{
    while (kr->doc.ndeks > keep) {
        tde_dek *d = &kr->doc.deks[--kr->doc.ndeks];
        free(d->blob);
        p11kms_secmem_free(d->key, P11KMS_TDE_KEY_LEN);
        memset(d, 0, sizeof(*d));
    }
    kr->doc.latest = (uint32_t)keep;
}

static int change(p11kms_tde_keyring *kr, int mode, p11kms_tde_error *err);

int p11kms_tde_add_version(p11kms_tde_keyring *kr, uint32_t *version, p11kms_tde_error *err)
{
    return change(kr, 2, err) && (version == NULL || (*version = kr->doc.latest, 1));
}

/* ReEncrypt one blob under the CMK's newest version; *out malloc'd. */
static int reencrypt(p11kms_tde_keyring *kr, const tde_dek *d, unsigned char **out, size_t *outlen,
                     p11kms_tde_error *err)
{
    json_t *ctx = tde_kr_context(kr->doc.id, d->version);
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error ke;
    int ok = 0;

    if (ctx == NULL ||
        !p11kms_client_kms_re_encrypt(&kr->session.kms, d->blob, d->blob_len, kr->doc.cmk_id, ctx,
                                      kr->doc.cmk_id, ctx, &res, &ke)) {
        tde_fail_kms(err, "cannot rewrap a DEK", ctx ? &ke : NULL);
        goto done;
    }
    *out = malloc(res.ciphertext_len);
    if (*out == NULL || res.ciphertext_len == 0 || res.ciphertext_len > TDE_KR_MAX_BLOB) {
        tde_fail(err, P11KMS_TDE_ERR_KMS, "bad rewrapped blob");
        goto done;
    }
    memcpy(*out, res.ciphertext, res.ciphertext_len);
    *outlen = res.ciphertext_len;
    ok = 1;
done:
    p11kms_client_kms_result_clear(&res);
    json_decref(ctx);
    return ok;
}

/* Rewrap all blobs into fresh arrays; swap them in only when all succeeded. */
static int rewrap_blobs(p11kms_tde_keyring *kr, p11kms_tde_error *err)
{
    size_t n = kr->doc.ndeks, i = 0;
    unsigned char **blobs = calloc(n, sizeof(*blobs));
    size_t *lens = calloc(n, sizeof(*lens));
    int ok = blobs != NULL && lens != NULL;

    if (!ok)
        tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
    for (; ok && i < n; i++)
        ok = reencrypt(kr, &kr->doc.deks[i], &blobs[i], &lens[i], err);
    for (i = 0; i < n && blobs != NULL; i++) {
        if (ok) {
            free(kr->doc.deks[i].blob);
            kr->doc.deks[i].blob = blobs[i];
            kr->doc.deks[i].blob_len = lens[i];
        } else {
            free(blobs[i]);
        }
    }
    free(blobs);
    free(lens);
    return ok;
}

/* mode: 0 rewrap, 1 rewrap + add a version, 2 only add a version. */
static int change(p11kms_tde_keyring *kr, int mode, p11kms_tde_error *err)
{
    size_t before;
    int lock = -1, ok = 0;

    if (kr == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_INVALID, "no keyring");
    before = kr->doc.ndeks;
    if (!tde_file_lock(kr->path, &lock, err))
        return 0;
    if (!unchanged(kr, err))
        goto done;
    if (mode != 2 && !rewrap_blobs(kr, err))
        goto done;
    if (mode != 0 && !append_version(kr, err))
        goto done;
    ok = tde_keyring_save(kr, err);
done:
    if (!ok)
        truncate_versions(kr, before);
    tde_file_unlock(lock);
    return ok;
}

int p11kms_tde_rewrap(p11kms_tde_keyring *kr, int add_version, p11kms_tde_error *err)
{
    return change(kr, add_version ? 1 : 0, err);
}
