/*
 * common/crypto.h - the only door from p11kms to OpenSSL.
 *
 * Every primitive below runs in a private OSSL_LIB_CTX that has only the
 * "default" provider loaded and never reads openssl.cnf, so an application
 * that loads the p11kms OpenSSL provider cannot recurse into itself through
 * the module, and the process's own OpenSSL configuration changes nothing.
 * Nothing here uses OpenSSL's default library context.
 *
 * Conventions (the whole header):
 *  - Functions return 1 on success and 0 on any failure (bad arguments,
 *    OpenSSL error, authentication failure), unless documented otherwise.
 *    OpenSSL's error queue is cleared before returning 0, so callers never
 *    see stale errors.
 *  - Sized outputs are (unsigned char *out, size_t *outlen): on entry
 *    *outlen is the capacity of out, on success it is the number of bytes
 *    written.  If out is NULL, *outlen is set to the maximum size the call
 *    could produce and 1 is returned (PKCS#11-style size query).  A too
 *    small buffer fails with 0 and *outlen set to the size needed.
 *  - Fixed-size outputs (GCM ciphertext, HKDF, scrypt) take a plain length.
 *  - Allocated outputs (DER, key components) are allocated with
 *    OPENSSL_malloc; free public data with OPENSSL_free and private-key
 *    DER with p11kms_crypto_free_secret() (cleanse + free).
 *  - Keys passed in are only read; they are never retained unless a
 *    p11kms_crypto_pkey object is created from them.
 *  - All functions are thread-safe; a p11kms_crypto_pkey may be used by
 *    several threads at once.
 */
#ifndef P11KMS_COMMON_CRYPTO_H
#define P11KMS_COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

/* ------------------------------------------------------------------ */
/* Library context                                                     */
/* ------------------------------------------------------------------ */

/*
 * The process-wide private library context, created on first use
 * (pthread_once).  Returns NULL if it could not be created, or once
 * OPENSSL_cleanup() has started (process exit): callers then fail cleanly
 * instead of touching freed OpenSSL state.  The context is deliberately
 * never freed: freeing it from an atexit handler or destructor races
 * libcrypto's own OPENSSL_cleanup() at exit (the known exit-crash of
 * PKCS#11 + provider stacks).  Modules that are dlopen'ed should link with
 * -Wl,-z,nodelete so that a dlclose/dlopen cycle reuses the context.
 * Usable in a forked child (OpenSSL's DRBG reseeds on fork).
 */
OSSL_LIB_CTX *p11kms_crypto_libctx(void);

/* Cleanse and OPENSSL_free a secret buffer of len bytes (NULL is fine). */
void p11kms_crypto_free_secret(void *p, size_t len);

/* Fill buf with len bytes from the private context's DRBG. */
int p11kms_crypto_random(unsigned char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Digests, HMAC, constant-time comparison                            */
/* ------------------------------------------------------------------ */

typedef enum p11kms_md {
    P11KMS_MD_NONE = 0,
    P11KMS_MD_SHA1 = 1, /* only for OAEP/MGF1 and PKCS#11 digests */
    P11KMS_MD_SHA256 = 2,
    P11KMS_MD_SHA384 = 3,
    P11KMS_MD_SHA512 = 4
} p11kms_md;

#define P11KMS_MD_MAX_SIZE 64

/* Output size in bytes of md (20/32/48/64), 0 for an unknown value. */
size_t p11kms_crypto_md_size(p11kms_md md);

/* OpenSSL name ("SHA256" ...) or NULL for an unknown value. */
const char *p11kms_crypto_md_name(p11kms_md md);

/*
 * The pre-fetched EVP_MD of the private context (borrowed, never free it),
 * for code that must drive EVP itself.  NULL if unknown or unavailable.
 */
const EVP_MD *p11kms_crypto_md_evp(p11kms_md md);

/* One-shot digest; out needs p11kms_crypto_md_size(md) bytes. */
int p11kms_crypto_digest(p11kms_md md, const unsigned char *in, size_t inlen, unsigned char *out,
                         size_t *outlen);

/* One-shot HMAC with md (SHA1/256/384/512); out as for the digest. */
int p11kms_crypto_hmac(p11kms_md md, const unsigned char *key, size_t keylen,
                       const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen);

/*
 * Recompute the HMAC and compare in constant time.  Returns 1 if mac
 * (maclen must equal the full MAC size) is valid, 0 otherwise.
 */
int p11kms_crypto_hmac_verify(p11kms_md md, const unsigned char *key, size_t keylen,
                              const unsigned char *in, size_t inlen, const unsigned char *mac,
                              size_t maclen);

/* Constant-time equality (CRYPTO_memcmp): 1 if equal, 0 if not. */
int p11kms_crypto_memeq(const void *a, const void *b, size_t len);

/*
 * Streaming digest or HMAC (PKCS#11 multi-part operations, audit chain).
 * final() may be called once; the object must then only be freed.
 */
typedef struct p11kms_crypto_hash p11kms_crypto_hash;

p11kms_crypto_hash *p11kms_crypto_hash_new_digest(p11kms_md md);
p11kms_crypto_hash *p11kms_crypto_hash_new_hmac(p11kms_md md, const unsigned char *key,
                                                size_t keylen);
int p11kms_crypto_hash_update(p11kms_crypto_hash *h, const unsigned char *in, size_t inlen);
int p11kms_crypto_hash_final(p11kms_crypto_hash *h, unsigned char *out, size_t *outlen);
void p11kms_crypto_hash_free(p11kms_crypto_hash *h);

/* ------------------------------------------------------------------ */
/* Symmetric encryption                                                */
/* ------------------------------------------------------------------ */

#define P11KMS_GCM_IV_LEN  12
#define P11KMS_GCM_TAG_LEN 16
#define P11KMS_AES_BLOCK   16

/*
 * AES-GCM (key 16, 24 or 32 bytes; 32 = AES-256-GCM).  ivlen 1..128
 * (use P11KMS_GCM_IV_LEN), taglen 4, 8 or 12..16 (use P11KMS_GCM_TAG_LEN).
 * seal writes exactly inlen bytes of ciphertext to out and taglen bytes
 * to tag.  open writes exactly inlen bytes of plaintext to out and returns
 * 0 if the tag does not verify (out is then wiped).  A GCM tag truncated
 * to taglen bytes is a valid shorter tag, so taglen must be the caller's
 * fixed policy, never a length taken from the data being opened.  aad may be NULL when
 * aadlen is 0; in/out may be NULL when inlen is 0; out may equal in.
 */
int p11kms_crypto_aes_gcm_seal(const unsigned char *key, size_t keylen, const unsigned char *iv,
                               size_t ivlen, const unsigned char *aad, size_t aadlen,
                               const unsigned char *in, size_t inlen, unsigned char *out,
                               unsigned char *tag, size_t taglen);
int p11kms_crypto_aes_gcm_open(const unsigned char *key, size_t keylen, const unsigned char *iv,
                               size_t ivlen, const unsigned char *aad, size_t aadlen,
                               const unsigned char *in, size_t inlen, const unsigned char *tag,
                               size_t taglen, unsigned char *out);

/*
 * AES-CBC (key 16/24/32, iv 16 bytes).  pad = 1 is CKM_AES_CBC_PAD
 * (PKCS#7; encrypt output is inlen rounded up to the next full block,
 * decrypt checks the padding), pad = 0 is CKM_AES_CBC (inlen must be a
 * multiple of 16).  Output sizing per the header convention (encrypt
 * needs inlen + 16, decrypt needs inlen).
 */
int p11kms_crypto_aes_cbc_encrypt(const unsigned char *key, size_t keylen, const unsigned char *iv,
                                  int pad, const unsigned char *in, size_t inlen,
                                  unsigned char *out, size_t *outlen);
int p11kms_crypto_aes_cbc_decrypt(const unsigned char *key, size_t keylen, const unsigned char *iv,
                                  int pad, const unsigned char *in, size_t inlen,
                                  unsigned char *out, size_t *outlen);

/*
 * RFC 5649 AES key wrap with padding (KEK 16/24/32 bytes selects
 * AES-128/192/256-WRAP-PAD; default IV).  wrap: inlen 1..(2^31), output
 * ((inlen + 7) / 8) * 8 + 8 bytes.  unwrap: inlen >= 16 and a multiple
 * of 8; output at most inlen - 8 bytes; fails on an integrity error.
 */
int p11kms_crypto_aes_wrap_pad(const unsigned char *kek, size_t keklen, const unsigned char *in,
                               size_t inlen, unsigned char *out, size_t *outlen);
int p11kms_crypto_aes_unwrap_pad(const unsigned char *kek, size_t keklen, const unsigned char *in,
                                 size_t inlen, unsigned char *out, size_t *outlen);

/* ------------------------------------------------------------------ */
/* Key derivation                                                      */
/* ------------------------------------------------------------------ */

/*
 * HKDF-SHA256 extract-and-expand (RFC 5869).  salt/info may be NULL with
 * length 0 (no salt = 32 zero bytes, as the RFC says); ikm must not be
 * empty.  outlen 1..8160.
 */
int p11kms_crypto_hkdf_sha256(const unsigned char *salt, size_t saltlen, const unsigned char *ikm,
                              size_t ikmlen, const unsigned char *info, size_t infolen,
                              unsigned char *out, size_t outlen);

/*
 * scrypt (RFC 7914).  N must be a power of two > 1; r, p >= 1.  Memory
 * used is about 128 * N * r bytes; the call allows up to that plus 1 MiB
 * (and refuses more than 1 GiB).  The defaults (N = 2^14, r = 8, p = 1:
 * 16 MiB) measured 74 ms per derivation on the project's 2-core machine
 * (N = 2^15: 163 ms), inside the 50-100 ms login budget of the store
 * issue.  Stores record the parameters they used; tests or benchmarks may
 * lower them (P11KMS_SCRYPT_TEST_N).
 */
#define P11KMS_SCRYPT_DEFAULT_N ((uint64_t)1 << 14)
#define P11KMS_SCRYPT_DEFAULT_R 8u
#define P11KMS_SCRYPT_DEFAULT_P 1u
#define P11KMS_SCRYPT_TEST_N    ((uint64_t)1 << 10)

int p11kms_crypto_scrypt(const unsigned char *pass, size_t passlen, const unsigned char *salt,
                         size_t saltlen, uint64_t n, uint32_t r, uint32_t p, unsigned char *out,
                         size_t outlen);

/* ------------------------------------------------------------------ */
/* Asymmetric keys                                                     */
/* ------------------------------------------------------------------ */

typedef enum p11kms_key_kind {
    P11KMS_KEY_KIND_NONE = 0,
    P11KMS_KEY_KIND_RSA = 1,
    P11KMS_KEY_KIND_EC = 2
} p11kms_key_kind;

typedef enum p11kms_curve {
    P11KMS_CURVE_NONE = 0,
    P11KMS_CURVE_P256 = 1, /* prime256v1 / secp256r1 */
    P11KMS_CURVE_P384 = 2, /* secp384r1 */
    P11KMS_CURVE_P521 = 3  /* secp521r1 */
} p11kms_curve;

/* Size in bytes of one coordinate / of r and s (32, 48, 66), 0 if unknown. */
size_t p11kms_crypto_curve_size(p11kms_curve curve);

/*
 * A parsed asymmetric key (private or public), so callers can cache it
 * instead of re-parsing DER on every operation.  Reference counted: every
 * constructor returns a reference the caller owns; up_ref adds one, free
 * drops one (NULL is fine).  Immutable after creation, so it can be shared
 * between threads.  Private material lives inside OpenSSL's EVP_PKEY.
 */
typedef struct p11kms_crypto_pkey p11kms_crypto_pkey;

/* Generate RSA (bits 2048, 3072 or 4096; e = 65537) or EC keys. */
p11kms_crypto_pkey *p11kms_crypto_pkey_generate_rsa(unsigned bits);
p11kms_crypto_pkey *p11kms_crypto_pkey_generate_ec(p11kms_curve curve);

/*
 * Parse a PKCS#8 PrivateKeyInfo DER (is_private = 1) or a
 * SubjectPublicKeyInfo DER (is_private = 0).  Only RSA (1024..16384 bits) and
 * EC keys on the three NIST curves are accepted; trailing bytes are
 * refused.
 */
p11kms_crypto_pkey *p11kms_crypto_pkey_from_der(const unsigned char *der, size_t derlen,
                                                int is_private);

/*
 * Build keys from PKCS#11 attribute values (all big-endian unsigned
 * integers without sign byte, leading zeros allowed).
 * RSA public: CKA_MODULUS, CKA_PUBLIC_EXPONENT.
 * RSA private: all CRT components are required (PKCS#11 imports carry
 *   them); p/q/dp/dq/qinv are CKA_PRIME_1/2, CKA_EXPONENT_1/2, CKA_COEFFICIENT.
 * EC public: CKA_EC_PARAMS (DER OID of a supported curve) and CKA_EC_POINT
 *   (DER OCTET STRING wrapping an uncompressed point; a bare uncompressed
 *   point is accepted too, as some libraries send it).
 * EC private: CKA_EC_PARAMS and CKA_VALUE (the scalar d); the public
 *   point is computed.
 */
p11kms_crypto_pkey *p11kms_crypto_pkey_from_rsa_public(const unsigned char *n, size_t nlen,
                                                       const unsigned char *e, size_t elen);
p11kms_crypto_pkey *p11kms_crypto_pkey_from_rsa_private(
    const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen,
    const unsigned char *d, size_t dlen, const unsigned char *p, size_t plen,
    const unsigned char *q, size_t qlen, const unsigned char *dp, size_t dplen,
    const unsigned char *dq, size_t dqlen, const unsigned char *qinv, size_t qinvlen);
p11kms_crypto_pkey *p11kms_crypto_pkey_from_ec_public(const unsigned char *params, size_t paramslen,
                                                      const unsigned char *point, size_t pointlen);
p11kms_crypto_pkey *p11kms_crypto_pkey_from_ec_private(const unsigned char *params,
                                                       size_t paramslen, const unsigned char *d,
                                                       size_t dlen);

/*
 * Reference counting.  A last free after OPENSSL_cleanup() has run (a
 * cache emptied from an exit handler) leaves the key to the exiting
 * process instead of calling into a shut-down OpenSSL.
 */
int p11kms_crypto_pkey_up_ref(p11kms_crypto_pkey *k);
void p11kms_crypto_pkey_free(p11kms_crypto_pkey *k);

/* The wrapped EVP_PKEY (borrowed; valid while the caller holds a ref). */
EVP_PKEY *p11kms_crypto_pkey_evp(const p11kms_crypto_pkey *k);

p11kms_key_kind p11kms_crypto_pkey_kind(const p11kms_crypto_pkey *k);
int p11kms_crypto_pkey_is_private(const p11kms_crypto_pkey *k);
/* RSA modulus bits or EC field bits (256/384/521). */
unsigned p11kms_crypto_pkey_bits(const p11kms_crypto_pkey *k);
/* P11KMS_CURVE_NONE for RSA keys. */
p11kms_curve p11kms_crypto_pkey_curve(const p11kms_crypto_pkey *k);
/* Maximum signature size: RSA modulus bytes, or the ECDSA DER maximum. */
size_t p11kms_crypto_pkey_sig_max(const p11kms_crypto_pkey *k);

/*
 * PKCS#8 PrivateKeyInfo DER of a private key: *der is OPENSSL_malloc'd;
 * release it with p11kms_crypto_free_secret(*der, *derlen).
 */
int p11kms_crypto_pkey_private_der(const p11kms_crypto_pkey *k, unsigned char **der,
                                   size_t *derlen);

/*
 * SubjectPublicKeyInfo DER (EC with named-curve parameters, uncompressed
 * point) of a private or public key.  *der is OPENSSL_malloc'd.
 */
int p11kms_crypto_pkey_public_der(const p11kms_crypto_pkey *k, unsigned char **der, size_t *derlen);

/* Convenience: SPKI DER from PKCS#8 DER without keeping a key object. */
int p11kms_crypto_spki_from_pkcs8(const unsigned char *der, size_t derlen, unsigned char **spki,
                                  size_t *spkilen);

/*
 * RSA public components as minimal big-endian bytes (CKA_MODULUS,
 * CKA_PUBLIC_EXPONENT); both OPENSSL_malloc'd.
 */
int p11kms_crypto_pkey_rsa_public(const p11kms_crypto_pkey *k, unsigned char **n, size_t *nlen,
                                  unsigned char **e, size_t *elen);

/*
 * EC public components: CKA_EC_PARAMS as DER OBJECT IDENTIFIER of the
 * named curve, CKA_EC_POINT as DER OCTET STRING wrapping the uncompressed
 * point (04 || X || Y).  Both OPENSSL_malloc'd.
 */
int p11kms_crypto_pkey_ec_public(const p11kms_crypto_pkey *k, unsigned char **params,
                                 size_t *paramslen, unsigned char **point, size_t *pointlen);

/* ------------------------------------------------------------------ */
/* Signatures (KMS algorithms)                                         */
/* ------------------------------------------------------------------ */

typedef enum p11kms_sign_alg {
    P11KMS_SIGN_NONE = 0,
    P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_256,
    P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_384,
    P11KMS_SIGN_RSASSA_PKCS1_V1_5_SHA_512,
    P11KMS_SIGN_RSASSA_PSS_SHA_256, /* MGF1 same hash, salt = hash len */
    P11KMS_SIGN_RSASSA_PSS_SHA_384,
    P11KMS_SIGN_RSASSA_PSS_SHA_512,
    P11KMS_SIGN_ECDSA_SHA_256, /* DER-encoded ECDSA-Sig-Value */
    P11KMS_SIGN_ECDSA_SHA_384,
    P11KMS_SIGN_ECDSA_SHA_512
} p11kms_sign_alg;

typedef enum p11kms_msg_type {
    P11KMS_MSG_RAW = 0,   /* the message; hashed here */
    P11KMS_MSG_DIGEST = 1 /* a digest; its length must match the hash */
} p11kms_msg_type;

/* KMS name ("RSASSA_PSS_SHA_256") or NULL; parse returns NONE if unknown. */
const char *p11kms_crypto_sign_alg_name(p11kms_sign_alg alg);
p11kms_sign_alg p11kms_crypto_sign_alg_from_name(const char *name);
/* Hash of the algorithm, P11KMS_MD_NONE if unknown. */
p11kms_md p11kms_crypto_sign_alg_md(p11kms_sign_alg alg);
/* Key kind the algorithm needs. */
p11kms_key_kind p11kms_crypto_sign_alg_kind(p11kms_sign_alg alg);

/*
 * Sign msg (RAW or DIGEST) with a private key.  Fails if the algorithm
 * does not fit the key kind or a DIGEST has the wrong length.  Output
 * sizing per the header convention (max p11kms_crypto_pkey_sig_max()).
 * Note that OpenSSL's default provider accepts any digest/key-size pair
 * (e.g. ECDSA_SHA_512 on P-256), as KMS's own compatibility matrix is the
 * engine's business.
 */
int p11kms_crypto_sign(const p11kms_crypto_pkey *k, p11kms_sign_alg alg, p11kms_msg_type type,
                       const unsigned char *msg, size_t msglen, unsigned char *sig, size_t *siglen);

/*
 * Verify with a private or public key.  Returns 1 only for a valid
 * signature; 0 for an invalid one or any error (wrong algorithm for the
 * key, wrong digest length, malformed signature).
 */
int p11kms_crypto_verify(const p11kms_crypto_pkey *k, p11kms_sign_alg alg, p11kms_msg_type type,
                         const unsigned char *msg, size_t msglen, const unsigned char *sig,
                         size_t siglen);

/* ------------------------------------------------------------------ */
/* Raw PKCS#11 signature mechanisms                                    */
/* ------------------------------------------------------------------ */

/*
 * CKM_RSA_PKCS: PKCS#1 v1.5 type-1 padding of arbitrary data (normally a
 * DigestInfo) of at most modulus_bytes - 11 bytes, then RSA.  verify
 * recovers and compares in full.
 */
int p11kms_crypto_rsa_pkcs1_sign_raw(const p11kms_crypto_pkey *k, const unsigned char *in,
                                     size_t inlen, unsigned char *sig, size_t *siglen);
int p11kms_crypto_rsa_pkcs1_verify_raw(const p11kms_crypto_pkey *k, const unsigned char *in,
                                       size_t inlen, const unsigned char *sig, size_t siglen);

/*
 * CKM_RSA_PKCS_PSS on a digest: hash is the digest's algorithm (dgstlen
 * must match), mgf1 the MGF1 hash, saltlen the salt length in bytes
 * (0..modulus_bytes - hlen - 2).
 */
int p11kms_crypto_rsa_pss_sign_digest(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                      size_t saltlen, const unsigned char *dgst, size_t dgstlen,
                                      unsigned char *sig, size_t *siglen);
int p11kms_crypto_rsa_pss_verify_digest(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                        size_t saltlen, const unsigned char *dgst, size_t dgstlen,
                                        const unsigned char *sig, size_t siglen);

/*
 * CKM_ECDSA: sign a digest of any length (1..64 bytes; truncated to the
 * order as ECDSA specifies) and return raw r || s, each padded to
 * p11kms_crypto_curve_size() bytes, as PKCS#11 wants.  verify takes the
 * same raw form (siglen must be exactly 2 * curve size).
 */
int p11kms_crypto_ecdsa_sign_digest_raw(const p11kms_crypto_pkey *k, const unsigned char *dgst,
                                        size_t dgstlen, unsigned char *sig, size_t *siglen);
int p11kms_crypto_ecdsa_verify_digest_raw(const p11kms_crypto_pkey *k, const unsigned char *dgst,
                                          size_t dgstlen, const unsigned char *sig, size_t siglen);

/*
 * ECDSA signature format conversion.  der_to_raw: strict DER
 * ECDSA-Sig-Value to r || s with each half padded to coordlen bytes
 * (fails if r or s do not fit).  raw_to_der: rawlen must be even; output
 * sizing per the header convention.
 */
int p11kms_crypto_ecdsa_der_to_raw(const unsigned char *der, size_t derlen, size_t coordlen,
                                   unsigned char *raw, size_t *rawlen);
int p11kms_crypto_ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen, unsigned char *der,
                                   size_t *derlen);

/* ------------------------------------------------------------------ */
/* RSA-OAEP                                                            */
/* ------------------------------------------------------------------ */

/*
 * RSAES-OAEP with hash (SHA1/256/384/512), MGF1 hash mgf1 (NONE = same
 * as hash) and an optional label (NULL/0 = empty).  encrypt accepts at
 * most p11kms_crypto_rsa_oaep_max_plaintext() bytes and needs a private
 * or public key; decrypt needs a private key and gives 0 on any padding
 * error, without saying which.  There is deliberately no PKCS#1 v1.5
 * decryption (padding oracle).
 */
size_t p11kms_crypto_rsa_oaep_max_plaintext(const p11kms_crypto_pkey *k, p11kms_md hash);
int p11kms_crypto_rsa_oaep_encrypt(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                   const unsigned char *label, size_t labellen,
                                   const unsigned char *in, size_t inlen, unsigned char *out,
                                   size_t *outlen);
int p11kms_crypto_rsa_oaep_decrypt(const p11kms_crypto_pkey *k, p11kms_md hash, p11kms_md mgf1,
                                   const unsigned char *label, size_t labellen,
                                   const unsigned char *in, size_t inlen, unsigned char *out,
                                   size_t *outlen);

#endif /* P11KMS_COMMON_CRYPTO_H */
