/*
 * p11kms/tde.h — libp11kms-tde: the two-tier key hierarchy for transparent
 * database encryption.
 *
 * A database encrypts its files with data encryption keys (DEKs).  The DEKs
 * live in a keyring file, each version wrapped by a customer master key (CMK)
 * of a p11kms token (an envelope blob from GenerateDataKeyWithoutPlaintext).
 * Opening a keyring unwraps every DEK with an audited, policy-checked Decrypt
 * through the PKCS#11 module, into protected memory; closing wipes them.
 * Rotating the CMK never re-encrypts data: p11kms_tde_rewrap() re-encrypts
 * only the wrapped DEKs (ReEncrypt, the plaintext never leaves the module).
 * The format is specified in docs/keyring-format.md.
 *
 * Page and sector helpers (p11kms_tde_page_*) encrypt fixed-size units with
 * a DEK: AES-256-XTS (no room for a tag) or XAES-256-GCM (a tag and a
 * random 192-bit nonce in P11KMS_TDE_GCM_TRAILER reserved bytes).
 *
 * Every call returns 1 on success and 0 on failure with *err filled (err may
 * be NULL).  A keyring handle is not thread-safe for writes; reads of keys
 * (p11kms_tde_key) may run concurrently once it is open.
 */
#ifndef P11KMS_TDE_H
#define P11KMS_TDE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why a call failed (p11kms_tde_strerror gives a short name). */
typedef enum p11kms_tde_rc {
    P11KMS_TDE_OK = 0,
    P11KMS_TDE_ERR_INVALID,   /* bad argument */
    P11KMS_TDE_ERR_NOMEM,     /* out of memory */
    P11KMS_TDE_ERR_IO,        /* reading or writing the keyring file */
    P11KMS_TDE_ERR_NOTFOUND,  /* keyring file or CMK missing */
    P11KMS_TDE_ERR_CORRUPT,   /* keyring tampered, truncated or not a keyring */
    P11KMS_TDE_ERR_TOO_NEW,   /* keyring format newer than this library */
    P11KMS_TDE_ERR_MODULE,    /* module could not be loaded or has no token */
    P11KMS_TDE_ERR_PIN,       /* PIN source unreadable, PIN wrong or locked */
    P11KMS_TDE_ERR_ACCESS,    /* denied by a key policy */
    P11KMS_TDE_ERR_KEY_STATE, /* CMK disabled or pending deletion */
    P11KMS_TDE_ERR_KMS,       /* any other KMS failure */
    P11KMS_TDE_ERR_CONFLICT,  /* the keyring changed on disk since open */
    P11KMS_TDE_ERR_AUTH,      /* a page failed authentication */
    P11KMS_TDE_ERR_CRYPTO,    /* a cryptographic primitive failed */
    P11KMS_TDE_ERR_LIMIT      /* too many DEK versions */
} p11kms_tde_rc;

typedef struct p11kms_tde_error {
    p11kms_tde_rc rc;
    char kms_exception[64]; /* "AccessDeniedException" ... or "" */
    char message[512];      /* one line for a person, never a secret */
} p11kms_tde_error;

const char *p11kms_tde_strerror(p11kms_tde_rc rc);

/* Options of p11kms_tde_open; a zeroed struct means "all defaults". */
typedef struct p11kms_tde_options {
    const char *module;     /* PKCS#11 module path; NULL: $P11KMS_MODULE, else installed */
    const char *token;      /* token label or pkcs11: URI; NULL: the only token */
    const char *pin_source; /* file:/env:/credential:/prompt; NULL: $P11KMS_PIN_SOURCE,
                               else env:P11KMS_PIN when set, else prompt */
    const char *cmk;        /* key id or alias/NAME for new keyrings; NULL: the
                               service key alias/p11kms/<service> */
    const char *service;    /* service name for the default CMK; NULL: "tde" */
    int create;             /* 1: create the keyring when the file does not exist */
} p11kms_tde_options;

typedef struct p11kms_tde_keyring p11kms_tde_keyring;

#define P11KMS_TDE_KEY_LEN  32u /* a DEK: 256 bits */
#define P11KMS_TDE_ID_LEN   16u /* keyring id */
#define P11KMS_TDE_MAX_DEKS 4096u

/*
 * Open (or with opt->create, create) the keyring at path: load the module,
 * log in, verify the file and unwrap every DEK.  Any failure (wrong PIN,
 * denied Decrypt, missing or tampered file) is reported here, never later.
 */
int p11kms_tde_open(const char *path, const p11kms_tde_options *opt, p11kms_tde_keyring **out,
                    p11kms_tde_error *err);

/* Wipe every DEK, log out, unload.  NULL is accepted. */
void p11kms_tde_close(p11kms_tde_keyring *kr);

/* Newest DEK version (versions count from 1). */
uint32_t p11kms_tde_latest_version(const p11kms_tde_keyring *kr);

/*
 * The DEK of a version (P11KMS_TDE_KEY_LEN bytes in protected memory, valid
 * until close).  Fails for an unknown version.
 */
int p11kms_tde_key(const p11kms_tde_keyring *kr, uint32_t version, const unsigned char **key,
                   p11kms_tde_error *err);

/* The keyring's random id (P11KMS_TDE_ID_LEN bytes), to bind data to it. */
const unsigned char *p11kms_tde_keyring_id(const p11kms_tde_keyring *kr);

/* Key id of the CMK that wraps the DEKs. */
const char *p11kms_tde_cmk_id(const p11kms_tde_keyring *kr);

/* Add a DEK version (new data then uses it); *version receives its number. */
int p11kms_tde_add_version(p11kms_tde_keyring *kr, uint32_t *version, p11kms_tde_error *err);

/*
 * Re-encrypt every wrapped DEK under the CMK's newest version (ReEncrypt; the
 * DEKs do not change, so no data is touched).  With add_version, a new DEK
 * version is added in the same atomic file replacement (a database then
 * re-encrypts its pages in the background).  The file is replaced
 * atomically: a crash leaves the old or the new keyring.
 */
int p11kms_tde_rewrap(p11kms_tde_keyring *kr, int add_version, p11kms_tde_error *err);

/* ---- page and sector helpers ------------------------------------------- */

typedef enum p11kms_tde_mode {
    P11KMS_TDE_MODE_XTS = 1, /* AES-256-XTS, length-preserving, unauthenticated */
    P11KMS_TDE_MODE_GCM = 2  /* XAES-256-GCM, 40 trailer bytes: nonce 24 + tag 16 */
} p11kms_tde_mode;

#define P11KMS_TDE_GCM_NONCE   24u
#define P11KMS_TDE_GCM_TAG     16u
#define P11KMS_TDE_GCM_TRAILER (P11KMS_TDE_GCM_NONCE + P11KMS_TDE_GCM_TAG)

typedef struct p11kms_tde_page_cipher p11kms_tde_page_cipher;

/*
 * A page cipher for one DEK: the XTS and GCM keys are derived from the DEK
 * with HKDF-SHA256 (separate keys per mode).  Held in protected memory.
 */
int p11kms_tde_page_cipher_new(const unsigned char *dek, size_t deklen,
                               p11kms_tde_page_cipher **out, p11kms_tde_error *err);
/*
 * The same with raw mode keys, for known-answer tests and foreign formats:
 * xts_key is 64 bytes (Key1 || Key2 of IEEE 1619), gcm_key 32 bytes; either
 * may be NULL to leave that mode unavailable.
 */
int p11kms_tde_page_cipher_raw(const unsigned char *xts_key, const unsigned char *gcm_key,
                               p11kms_tde_page_cipher **out, p11kms_tde_error *err);
void p11kms_tde_page_cipher_free(p11kms_tde_page_cipher *c);

/*
 * AES-256-XTS of len bytes (>= 16; not a multiple of 16 uses ciphertext
 * stealing) with the 128-bit little-endian sector number as tweak (IEEE
 * 1619 data unit sequence number).  in and out may be the same buffer.
 */
int p11kms_tde_xts_encrypt(const p11kms_tde_page_cipher *c, uint64_t sector,
                           const unsigned char *in, size_t len, unsigned char *out);
int p11kms_tde_xts_decrypt(const p11kms_tde_page_cipher *c, uint64_t sector,
                           const unsigned char *in, size_t len, unsigned char *out);

/*
 * XAES-256-GCM (C2SP): a fresh random 24-byte nonce per call derives a
 * per-nonce AES-256-GCM key, so a nonce collision, not the 2^32-messages
 * limit of random 96-bit IVs, bounds the number of writes (about 2^80).
 * aad binds the page to its place (file id, page number); seal writes the
 * nonce then the tag to trailer (P11KMS_TDE_GCM_TRAILER bytes).  open fails
 * (out wiped) when anything changed.  in and out may be the same buffer.
 */
int p11kms_tde_gcm_seal(const p11kms_tde_page_cipher *c, const unsigned char *aad, size_t aadlen,
                        const unsigned char *in, size_t len, unsigned char *out,
                        unsigned char *trailer);
int p11kms_tde_gcm_open(const p11kms_tde_page_cipher *c, const unsigned char *aad, size_t aadlen,
                        const unsigned char *in, size_t len, const unsigned char *trailer,
                        unsigned char *out);

/* The same with a caller-chosen nonce: known-answer tests only. */
int p11kms_tde_gcm_seal_nonce(const p11kms_tde_page_cipher *c, const unsigned char *nonce,
                              const unsigned char *aad, size_t aadlen, const unsigned char *in,
                              size_t len, unsigned char *out, unsigned char *tag);

#ifdef __cplusplus
}
#endif

#endif /* P11KMS_TDE_H */
