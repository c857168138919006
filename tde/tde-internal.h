/*
 * tde/tde-internal.h — what the files of libp11kms-tde share and nobody
 * else sees: error filling, the keyring structure, the file codec and the
 * KMS session helpers.  One concept per file; this header is the map.
 */
#ifndef P11KMS_TDE_INTERNAL_H
#define P11KMS_TDE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "client/kms.h"
#include "p11kms/tde.h"

/* ---- tde/error.c -------------------------------------------------------- */

/* Fill err (if not NULL) with rc and a printf-style message; returns 0. */
int tde_fail(p11kms_tde_error *err, p11kms_tde_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Map a client KMS error to a TDE error with context `what`; returns 0. */
int tde_fail_kms(p11kms_tde_error *err, const char *what, const p11kms_client_kms_error *ke);

/* ---- tde/keyring-codec.c ------------------------------------------------ */

#define TDE_KR_MAGIC     "P11KMSKR"
#define TDE_KR_MAGIC_LEN 8u
#define TDE_KR_FORMAT    1u
#define TDE_KR_MAC_LEN   32u
#define TDE_KR_MAX_BLOB  4096u
#define TDE_KR_MAX_FILE  (64u * 1024u * 1024u)

typedef struct tde_dek {
    uint32_t version;
    int64_t created_ms;
    unsigned char *blob; /* wrapped DEK (envelope ciphertext), malloc'd */
    size_t blob_len;
    unsigned char *key; /* unwrapped DEK, secmem, P11KMS_TDE_KEY_LEN bytes, or NULL */
} tde_dek;

/* The decoded file (without unwrapped keys). */
typedef struct tde_kr_doc {
    unsigned char id[P11KMS_TDE_ID_LEN];
    char cmk_id[128];
    uint32_t latest;
    tde_dek *deks;
    size_t ndeks;
} tde_kr_doc;

/* Encode doc with an HMAC-SHA256 under mac_key (32 bytes). */
int tde_kr_encode(const tde_kr_doc *doc, const unsigned char *mac_key, unsigned char **out,
                  size_t *outlen, p11kms_tde_error *err);
/* Parse without checking the MAC (the MAC key comes from the DEKs). */
int tde_kr_decode(const unsigned char *in, size_t len, tde_kr_doc *doc, p11kms_tde_error *err);
/* Check the trailing MAC of an encoded file. */
int tde_kr_verify_mac(const unsigned char *in, size_t len, const unsigned char *mac_key,
                      p11kms_tde_error *err);
/* Derive the file MAC key from DEK version 1. */
int tde_kr_mac_key(const unsigned char *dek1, unsigned char mac_key[32]);
/* Release blobs and wipe keys of a document. */
void tde_kr_doc_clear(tde_kr_doc *doc);
/* Encryption context of a DEK: binds the blob to its keyring and version. */
json_t *tde_kr_context(const unsigned char id[P11KMS_TDE_ID_LEN], uint32_t version);

/* ---- tde/keyring-file.c ------------------------------------------------- */

/* Read a whole file (at most TDE_KR_MAX_FILE bytes). */
int tde_file_read(const char *path, unsigned char **out, size_t *len, p11kms_tde_error *err);
/* Replace path atomically: temp file in the same dir, fsync, rename, fsync dir. */
int tde_file_replace(const char *path, const unsigned char *data, size_t len,
                     p11kms_tde_error *err);
/* Exclusive advisory lock on PATH.lock (held until tde_file_unlock). */
int tde_file_lock(const char *path, int *fd, p11kms_tde_error *err);
void tde_file_unlock(int fd);

/* ---- tde/session.c ------------------------------------------------------ */

typedef struct tde_session {
    p11kms_client_module *mod;
    p11kms_client_kms kms;
    int open;
} tde_session;

/* Load the module, find the token, open a session and log in. */
int tde_session_open(const p11kms_tde_options *opt, tde_session *s, p11kms_tde_error *err);
void tde_session_close(tde_session *s);
/* Resolve opt->cmk (or the service key, created on first use) to a key id. */
int tde_session_cmk(tde_session *s, const p11kms_tde_options *opt, char *key_id, size_t key_id_size,
                    p11kms_tde_error *err);

/* ---- tde/keyring.c internals shared with keyring-ops.c ------------------ */

struct p11kms_tde_keyring {
    char *path;
    tde_session session;
    tde_kr_doc doc;
    unsigned char mac_key[32];
    unsigned char *file; /* bytes as loaded or last written, to detect changes */
    size_t file_len;
};

/* Wrap a new DEK version under the keyring's CMK and unwrap it into d. */
int tde_dek_new(p11kms_tde_keyring *kr, uint32_t version, tde_dek *d, p11kms_tde_error *err);
/* Unwrap d->blob into d->key (an audited Decrypt). */
int tde_dek_unwrap(p11kms_tde_keyring *kr, tde_dek *d, p11kms_tde_error *err);
/* Encode kr->doc and replace the file; updates kr->file. */
int tde_keyring_save(p11kms_tde_keyring *kr, p11kms_tde_error *err);

#endif /* P11KMS_TDE_INTERNAL_H */
