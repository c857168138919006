/*
 * tde/keyring-codec.c — the keyring file's bytes (docs/keyring-format.md):
 * encode, decode and the trailing HMAC-SHA256.  Pure functions over memory,
 * no I/O and no module, so the parser can be tested against every kind of
 * damaged input.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/secmem.h"
#include "tde/tde-internal.h"

static const char mac_info[] = "p11kms-tde keyring mac v1";

int tde_kr_mac_key(const unsigned char *dek1, unsigned char mac_key[32])
{
    return p11kms_crypto_hkdf_sha256(NULL, 0, dek1, P11KMS_TDE_KEY_LEN,
                                     (const unsigned char *)mac_info, sizeof(mac_info) - 1, mac_key,
                                     32);
}

json_t *tde_kr_context(const unsigned char id[P11KMS_TDE_ID_LEN], uint32_t version)
{
    char hex[2 * P11KMS_TDE_ID_LEN + 1], ver[16];
    json_t *o = json_object();

    for (unsigned i = 0; i < P11KMS_TDE_ID_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    snprintf(ver, sizeof(ver), "%u", (unsigned)version);
    if (o == NULL || json_object_set_new(o, "p11kms:tde-keyring", json_string(hex)) != 0 ||
        json_object_set_new(o, "p11kms:tde-dek-version", json_string(ver)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void encode_body(p11kms_buf *b, const tde_kr_doc *doc)
{
    p11kms_buf_append_bytes(b, TDE_KR_MAGIC, TDE_KR_MAGIC_LEN);
    p11kms_buf_append_u8(b, 0);
    p11kms_buf_append_u8(b, TDE_KR_FORMAT);
    p11kms_buf_append_u8(b, 0);
    p11kms_buf_append_u8(b, 0);
    p11kms_buf_append_bytes(b, doc->id, P11KMS_TDE_ID_LEN);
    p11kms_buf_append_lp_str(b, doc->cmk_id);
    p11kms_buf_append_u32be(b, doc->latest);
    p11kms_buf_append_u32be(b, (uint32_t)doc->ndeks);
    for (size_t i = 0; i < doc->ndeks; i++) {
        p11kms_buf_append_u32be(b, doc->deks[i].version);
        p11kms_buf_append_u64be(b, (uint64_t)doc->deks[i].created_ms);
        p11kms_buf_append_lp(b, doc->deks[i].blob, doc->deks[i].blob_len);
    }
}

int tde_kr_encode(const tde_kr_doc *doc, const unsigned char *mac_key, unsigned char **out,
                  size_t *outlen, p11kms_tde_error *err)
{
    p11kms_buf b = P11KMS_BUF_INIT;
    unsigned char mac[TDE_KR_MAC_LEN];
    size_t maclen = sizeof(mac);
    int ok = 0;

    encode_body(&b, doc);
    if (!p11kms_buf_ok(&b) ||
        !p11kms_crypto_hmac(P11KMS_MD_SHA256, mac_key, 32, b.data, b.len, mac, &maclen) ||
        !p11kms_buf_append_bytes(&b, mac, maclen)) {
        tde_fail(err, P11KMS_TDE_ERR_NOMEM, "cannot encode the keyring");
        goto done;
    }
    *out = p11kms_buf_detach(&b, outlen);
    ok = *out != NULL;
done:
    p11kms_buf_free(&b);
    return ok;
}

static int corrupt(p11kms_tde_error *err, const char *why)
{
    return tde_fail(err, P11KMS_TDE_ERR_CORRUPT, "keyring corrupt: %s", why);
}

static int decode_header(p11kms_reader *r, tde_kr_doc *doc, p11kms_tde_error *err)
{
    const unsigned char *magic, *cmk;
    uint8_t v[4];
    size_t cmklen;

    if (!p11kms_reader_get_bytes(r, TDE_KR_MAGIC_LEN, &magic) ||
        memcmp(magic, TDE_KR_MAGIC, TDE_KR_MAGIC_LEN) != 0)
        return corrupt(err, "not a p11kms keyring (bad magic)");
    if (!p11kms_reader_get_copy(r, v, sizeof(v)))
        return corrupt(err, "truncated header");
    if (v[0] != 0 || v[1] > TDE_KR_FORMAT)
        return tde_fail(err, P11KMS_TDE_ERR_TOO_NEW, "keyring format %u is newer than %u",
                        (unsigned)v[0] << 8 | v[1], TDE_KR_FORMAT);
    if (v[1] != TDE_KR_FORMAT || v[2] != 0 || v[3] != 0)
        return corrupt(err, "unknown format version or flags");
    if (!p11kms_reader_get_copy(r, doc->id, P11KMS_TDE_ID_LEN) ||
        !p11kms_reader_get_lp(r, &cmk, &cmklen) || cmklen == 0 || cmklen >= sizeof(doc->cmk_id) ||
        memchr(cmk, 0, cmklen) != NULL)
        return corrupt(err, "bad CMK id");
    memcpy(doc->cmk_id, cmk, cmklen);
    doc->cmk_id[cmklen] = '\0';
    return 1;
}

static int decode_dek(p11kms_reader *r, uint32_t want, tde_dek *d, p11kms_tde_error *err)
{
    const unsigned char *blob;
    uint64_t created;

    if (!p11kms_reader_get_u32be(r, &d->version) || d->version != want ||
        !p11kms_reader_get_u64be(r, &created) || !p11kms_reader_get_lp(r, &blob, &d->blob_len) ||
        d->blob_len == 0 || d->blob_len > TDE_KR_MAX_BLOB)
        return corrupt(err, "bad DEK entry");
    d->created_ms = (int64_t)created;
    d->blob = malloc(d->blob_len);
    if (d->blob == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
    memcpy(d->blob, blob, d->blob_len);
    return 1;
}

int tde_kr_decode(const unsigned char *in, size_t len, tde_kr_doc *doc, p11kms_tde_error *err)
{
    p11kms_reader r;
    uint32_t n = 0;

    memset(doc, 0, sizeof(*doc));
    if (len < TDE_KR_MAGIC_LEN + TDE_KR_MAC_LEN)
        return corrupt(err, "file too short");
    p11kms_reader_init(&r, in, len - TDE_KR_MAC_LEN);
    if (!decode_header(&r, doc, err))
        return 0;
    if (!p11kms_reader_get_u32be(&r, &doc->latest) || !p11kms_reader_get_u32be(&r, &n) || n == 0 ||
        n > P11KMS_TDE_MAX_DEKS || doc->latest != n)
        return corrupt(err, "bad DEK count");
    doc->deks = calloc(n, sizeof(*doc->deks));
    if (doc->deks == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
    for (; doc->ndeks < n; doc->ndeks++)
        if (!decode_dek(&r, (uint32_t)doc->ndeks + 1, &doc->deks[doc->ndeks], err))
            goto fail;
    if (!p11kms_reader_at_end(&r)) {
        corrupt(err, "trailing bytes");
        goto fail;
    }
    return 1;
fail:
    tde_kr_doc_clear(doc);
    return 0;
}

int tde_kr_verify_mac(const unsigned char *in, size_t len, const unsigned char *mac_key,
                      p11kms_tde_error *err)
{
    if (len < TDE_KR_MAC_LEN ||
        !p11kms_crypto_hmac_verify(P11KMS_MD_SHA256, mac_key, 32, in, len - TDE_KR_MAC_LEN,
                                   in + len - TDE_KR_MAC_LEN, TDE_KR_MAC_LEN))
        return corrupt(err, "integrity check (HMAC) failed: the file was modified");
    return 1;
}

void tde_kr_doc_clear(tde_kr_doc *doc)
{
    for (size_t i = 0; doc->deks != NULL && i < doc->ndeks; i++) {
        free(doc->deks[i].blob);
        p11kms_secmem_free(doc->deks[i].key, P11KMS_TDE_KEY_LEN);
    }
    free(doc->deks);
    memset(doc, 0, sizeof(*doc));
}
