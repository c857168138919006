/* kms/envelope.h — the envelope ciphertext blob format (format only).
 *
 * One dependency-free source (kms/envelope.c: libc only — no OpenSSL, no
 * store, no kms.h) shared by kms/ and client/: it writes and parses the
 * blob header, builds the HKDF info and the AAD, and encodes/decodes the
 * canonical encryption context.  The cryptography (HKDF-SHA256, AES-256-GCM,
 * HMAC-SHA256 context commitment) is done by the caller; kms/envelope-seal.c
 * is the engine's.  docs/ciphertext-format.md specifies every byte.
 *
 * Blob (all integers big-endian):
 *   0   4  magic "p11k"
 *   4   1  format version (1)
 *   5   1  algorithm (1 = SYMMETRIC_DEFAULT)
 *   6  36  key id (canonical lowercase UUID, ASCII)
 *  42   4  key version (>= 1)
 *  46  32  salt
 *  78  12  IV
 *  90  16  context commitment
 * 106   4  ciphertext length n (1..4096)
 * 110   n  ciphertext
 * 110+n 16 GCM tag
 */
#ifndef P11KMS_KMS_ENVELOPE_H
#define P11KMS_KMS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define P11KMS_KMS_ENVELOPE_MAGIC                 "p11k"
#define P11KMS_KMS_ENVELOPE_MAGIC_LEN             4
#define P11KMS_KMS_ENVELOPE_FORMAT_V1             1
#define P11KMS_KMS_ENVELOPE_ALG_SYMMETRIC_DEFAULT 1
#define P11KMS_KMS_ENVELOPE_KEY_ID_LEN            36
#define P11KMS_KMS_ENVELOPE_SALT_LEN              32
#define P11KMS_KMS_ENVELOPE_IV_LEN                12
#define P11KMS_KMS_ENVELOPE_COMMIT_LEN            16
#define P11KMS_KMS_ENVELOPE_TAG_LEN               16
#define P11KMS_KMS_ENVELOPE_HEADER_LEN            110
#define P11KMS_KMS_ENVELOPE_OVERHEAD              (P11KMS_KMS_ENVELOPE_HEADER_LEN + P11KMS_KMS_ENVELOPE_TAG_LEN)
#define P11KMS_KMS_ENVELOPE_MAX_PLAINTEXT         4096
/* The bytes of the header that name the key (magic .. key version). */
#define P11KMS_KMS_ENVELOPE_KEYREF_LEN 46
/* HKDF info = label (no NUL) || header[0..46). */
#define P11KMS_KMS_ENVELOPE_KDF_LABEL     "p11kms envelope v1"
#define P11KMS_KMS_ENVELOPE_KDF_LABEL_LEN 18
#define P11KMS_KMS_ENVELOPE_KDF_INFO_LEN                                                           \
    (P11KMS_KMS_ENVELOPE_KDF_LABEL_LEN + P11KMS_KMS_ENVELOPE_KEYREF_LEN)
/* HKDF output: AES-256 key || commitment HMAC key. */
#define P11KMS_KMS_ENVELOPE_OKM_LEN 64

/* Encryption context limits (whole canonical encoding and per pair). */
#define P11KMS_KMS_CONTEXT_MAX_PAIRS   64
#define P11KMS_KMS_CONTEXT_MAX_FIELD   2048
#define P11KMS_KMS_CONTEXT_MAX_ENCODED 16384

typedef enum p11kms_kms_envelope_rc {
    P11KMS_KMS_ENVELOPE_OK = 0,
    P11KMS_KMS_ENVELOPE_ERR_NOT_BLOB,  /* too short for a magic, or bad magic */
    P11KMS_KMS_ENVELOPE_ERR_VERSION,   /* unsupported format version */
    P11KMS_KMS_ENVELOPE_ERR_ALGORITHM, /* unknown algorithm byte */
    P11KMS_KMS_ENVELOPE_ERR_TRUNCATED, /* shorter than the header says */
    P11KMS_KMS_ENVELOPE_ERR_TRAILING,  /* longer than the header says */
    P11KMS_KMS_ENVELOPE_ERR_FIELD,     /* malformed key id, version 0, bad length */
    P11KMS_KMS_ENVELOPE_ERR_CONTEXT,   /* context: duplicate/empty key, bad UTF-8, too big */
    P11KMS_KMS_ENVELOPE_ERR_ARG,       /* bad argument */
    P11KMS_KMS_ENVELOPE_ERR_NOMEM,
} p11kms_kms_envelope_rc;

/* Short text for rc ("truncated blob", ...); never NULL. */
const char *p11kms_kms_envelope_strerror(p11kms_kms_envelope_rc rc);

/* A parsed blob; pointers borrow the caller's bytes. */
typedef struct p11kms_kms_envelope {
    uint8_t format_version;
    uint8_t algorithm;
    char key_id[P11KMS_KMS_ENVELOPE_KEY_ID_LEN + 1];
    uint32_t key_version;
    const uint8_t *header;     /* HEADER_LEN bytes */
    const uint8_t *salt;       /* SALT_LEN */
    const uint8_t *iv;         /* IV_LEN */
    const uint8_t *commitment; /* COMMIT_LEN */
    const uint8_t *ciphertext;
    size_t ciphertext_len;
    const uint8_t *tag; /* TAG_LEN */
} p11kms_kms_envelope;

/* Parses and checks every field (length-exact: no trailing bytes). */
p11kms_kms_envelope_rc p11kms_kms_envelope_parse(const uint8_t *blob, size_t len,
                                                 p11kms_kms_envelope *out);

/* Writes the HEADER_LEN-byte header for a new blob. */
p11kms_kms_envelope_rc p11kms_kms_envelope_write_header(
    uint8_t out[P11KMS_KMS_ENVELOPE_HEADER_LEN], const char *key_id, uint32_t key_version,
    const uint8_t salt[P11KMS_KMS_ENVELOPE_SALT_LEN], const uint8_t iv[P11KMS_KMS_ENVELOPE_IV_LEN],
    const uint8_t commitment[P11KMS_KMS_ENVELOPE_COMMIT_LEN], size_t ciphertext_len);

/* HKDF info for a header: label || header[0..46). */
void p11kms_kms_envelope_kdf_info(const uint8_t *header,
                                  uint8_t out[P11KMS_KMS_ENVELOPE_KDF_INFO_LEN]);

/* Total blob length for a plaintext length (no range check). */
size_t p11kms_kms_envelope_blob_len(size_t plaintext_len);

/* ---- encryption context ------------------------------------------------- */

/* One pair, NUL-terminated UTF-8 strings (layout shared with kms.h). */
typedef struct p11kms_kms_ec_pair {
    const char *key;
    const char *value;
} p11kms_kms_ec_pair;

/* One decoded pair, counted bytes borrowed from the encoding. */
typedef struct p11kms_kms_ec_span {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
} p11kms_kms_ec_span;

/* Canonical encoding: u32 count, then per pair sorted by key bytes
 * (unsigned lexicographic, a prefix sorts first): u32 key length, key,
 * u32 value length, value.  Keys non-empty and unique, all strings valid
 * UTF-8 without NUL, limits above.  *out is malloc'd (free()); an empty
 * context (n == 0) encodes as 4 zero bytes. */
p11kms_kms_envelope_rc p11kms_kms_context_encode(const p11kms_kms_ec_pair *pairs, size_t n,
                                                 uint8_t **out, size_t *out_len);

/* Strict decode of a canonical encoding (exact length, strictly ascending
 * keys, same rules as encode) into at most max spans; *n gets the count.
 * Anything else is ERR_CONTEXT: used to recognise a canonical context in
 * raw GCM AAD. */
p11kms_kms_envelope_rc p11kms_kms_context_decode(const uint8_t *in, size_t len,
                                                 p11kms_kms_ec_span *spans, size_t max, size_t *n);

/* 1 if s[0..len) is valid UTF-8 without NUL bytes. */
int p11kms_kms_utf8_valid(const uint8_t *s, size_t len);

#endif /* P11KMS_KMS_ENVELOPE_H */
