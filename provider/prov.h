/*
 * provider/prov.h — shared declarations of the p11kms OpenSSL 3 provider:
 * the provider context (configuration and the lazily loaded PKCS#11
 * module), the opaque key object every operation shares, error raising,
 * and the dispatch tables each operation file exports to provider/prov.c.
 *
 * Layering (DESIGN.md): the provider reaches keys only through client/ and
 * the PKCS#11 API; its own OpenSSL use (hashing, public-key maths) runs in
 * common/'s private library context, never in the application's, so it
 * cannot recurse into itself or into another provider.
 */
#ifndef P11KMS_PROVIDER_PROV_H
#define P11KMS_PROVIDER_PROV_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include "client/key-ops.h"
#include "client/module.h"
#include "client/uri.h"
#include "common/crypto.h"

#define P11KMS_PROV_NAME     "p11kms"
#define P11KMS_PROV_PROPS    "provider=p11kms"
#define P11KMS_PROV_POOL_MAX 8
#define P11KMS_PROV_REF_PEM  "P11KMS KEY REFERENCE"

/* Reason codes of the provider's errors (texts in prov.c). */
enum p11kms_prov_reason {
    P11KMS_PROV_R_MODULE = 1, /* loading or initialising the PKCS#11 module */
    P11KMS_PROV_R_LOGIN,      /* no PIN, wrong PIN */
    P11KMS_PROV_R_KEY_NOT_FOUND,
    P11KMS_PROV_R_OPERATION,   /* a PKCS#11 operation failed (incl. denials) */
    P11KMS_PROV_R_UNSUPPORTED, /* algorithm, padding or parameter not offered */
    P11KMS_PROV_R_BAD_ARGUMENT,
    P11KMS_PROV_R_NO_PRIVATE_KEY,
    P11KMS_PROV_R_MEMORY
};

typedef struct p11kms_prov_ctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_FUNC_core_new_error_fn *core_new_error;
    OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *core_vset_error;
    OSSL_FUNC_BIO_read_ex_fn *bio_read_ex;
    OSSL_FUNC_BIO_write_ex_fn *bio_write_ex;
    /* Configuration (openssl.cnf or OSSL_PROVIDER_load parameters). */
    char *module_path;      /* p11kms-module-path; NULL: client default */
    char *pin_source;       /* p11kms-pin: file:, env:, credential: (or prompt) */
    char *token;            /* p11kms-token: label or pkcs11: URI; NULL: the only token */
    char config_error[256]; /* a bad configuration value, reported at first use */
    /* Lazily loaded module state, all under lock. */
    pthread_mutex_t lock;
    p11kms_client_module *mod;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE login_session; /* open for the process: keeps the login */
    int have_login_session;
    int logged_in;
    pid_t pid;           /* process that opened the sessions */
    unsigned generation; /* bumped when the module was re-initialised (fork) */
    CK_SESSION_HANDLE pool[P11KMS_PROV_POOL_MAX];
    size_t npool;
} p11kms_prov_ctx;

/* What a PIN may come from besides the configuration, for one load. */
typedef struct p11kms_prov_pin_hint {
    const p11kms_client_uri *uri; /* pin-value= / pin-source= of a pkcs11: URI */
    OSSL_PASSPHRASE_CALLBACK *cb; /* the application's passphrase callback */
    void *cbarg;
} p11kms_prov_pin_hint;

/* A key: the private half (or a public-only key) stays in the module. */
#define P11KMS_PROV_KEY_MAGIC 0x504b4b59u
typedef struct p11kms_prov_key {
    unsigned magic;
    p11kms_prov_ctx *ctx;
    p11kms_key_kind kind;
    int has_private; /* ref names a CKO_PRIVATE_KEY in the module */
    int in_module;   /* ref is valid (0 for imported public keys) */
    p11kms_client_keyref ref;
    unsigned generation;     /* ctx generation ref.handle belongs to */
    p11kms_crypto_pkey *pub; /* public half in the private libctx; NULL = empty */
    char *refuri;            /* canonical URI written into a key reference */
} p11kms_prov_key;

/* Errors ------------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
void p11kms_prov_raise(const p11kms_prov_ctx *ctx, const char *file, int line, const char *func,
                       int reason, const char *fmt, ...);
#define P11KMS_PROV_ERR(ctx, reason, ...)                                                          \
    p11kms_prov_raise((ctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (reason), __VA_ARGS__)

/* Module, token, login and sessions (provider/session.c) -------------------- */

/*
 * Make sure the module is loaded, the token found and, when the token needs
 * it, logged in (PIN from the configuration, the URI, or hint->cb).  Cheap
 * after the first call; re-initialises after a fork.
 */
int p11kms_prov_ready(p11kms_prov_ctx *ctx, const p11kms_prov_pin_hint *hint);

/* A session for one operation (pooled); put it back with ok = 0 after errors. */
int p11kms_prov_session_get(p11kms_prov_ctx *ctx, CK_SESSION_HANDLE *session, unsigned *gen);
void p11kms_prov_session_put(p11kms_prov_ctx *ctx, CK_SESSION_HANDLE session, int ok);

/* Close everything; C_Finalize unless OpenSSL is already shutting down. */
void p11kms_prov_session_teardown(p11kms_prov_ctx *ctx);

/* Keys (provider/key.c) ----------------------------------------------------- */

p11kms_prov_key *p11kms_prov_key_new(p11kms_prov_ctx *ctx, p11kms_key_kind kind);
p11kms_prov_key *p11kms_prov_key_dup(const p11kms_prov_key *key);
void p11kms_prov_key_free(p11kms_prov_key *key);

/* A key for a module object (reads its public half); takes a copy of ref. */
p11kms_prov_key *p11kms_prov_key_from_ref(p11kms_prov_ctx *ctx, CK_SESSION_HANDLE session,
                                          const p11kms_client_keyref *ref);

/* Resolve a p11kms:/pkcs11: URI (private key, else public key) to a key. */
p11kms_prov_key *p11kms_prov_key_from_uri(p11kms_prov_ctx *ctx, const char *uri,
                                          const p11kms_prov_pin_hint *hint);

/*
 * A session for an operation with key, and a copy of key->ref whose handle
 * is valid in it (found again after a fork).  Put the session back with
 * p11kms_prov_session_put.
 */
int p11kms_prov_key_session(p11kms_prov_key *key, CK_SESSION_HANDLE *session,
                            p11kms_client_keyref *ref);

/* "'alias/NAME' (key UUID)" for messages. */
void p11kms_prov_key_name(const p11kms_prov_key *key, char *buf, size_t buflen);

/* The borrowed EVP_PKEY of the public half (private libctx), or NULL. */
EVP_PKEY *p11kms_prov_key_evp(const p11kms_prov_key *key);

/* Key references (the PEM "P11KMS KEY REFERENCE" body): DER encode/decode. */
int p11kms_prov_ref_encode(const p11kms_prov_key *key, unsigned char **der, size_t *derlen);
int p11kms_prov_ref_decode(const unsigned char *der, size_t derlen, char **uri);

/* Read everything from a core BIO (decoders); *data is OPENSSL_malloc'd. */
int p11kms_prov_bio_read_all(p11kms_prov_ctx *ctx, OSSL_CORE_BIO *cin, unsigned char **data,
                             size_t *len);
int p11kms_prov_bio_write(p11kms_prov_ctx *ctx, OSSL_CORE_BIO *cout, const void *data, size_t len);

/* Digest names ---------------------------------------------------------------- */

/* "SHA256", "SHA2-256", "sha-256"... -> P11KMS_MD_SHA256; NONE if unknown. */
p11kms_md p11kms_prov_md_from_name(const char *name);

/* Dispatch tables (one file per operation) ----------------------------------- */

extern const OSSL_DISPATCH p11kms_prov_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH p11kms_prov_ec_keymgmt_functions[];
extern const OSSL_DISPATCH p11kms_prov_rsa_signature_functions[];
extern const OSSL_DISPATCH p11kms_prov_ecdsa_signature_functions[];
extern const OSSL_DISPATCH p11kms_prov_rsa_asym_cipher_functions[];
extern const OSSL_DISPATCH p11kms_prov_store_functions[];
extern const OSSL_DISPATCH p11kms_prov_rsa_ref_pem_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_ec_ref_pem_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_rsa_ref_der_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_ec_ref_der_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_rsa_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_ec_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_rsa_spki_der_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_ec_spki_der_encoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_rsa_ref_decoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_ec_ref_decoder_functions[];
extern const OSSL_DISPATCH p11kms_prov_ref_pem_decoder_functions[];

/* Shared KEYMGMT pieces used by keymgmt-rsa.c and keymgmt-ec.c (keymgmt.c). */
void *p11kms_prov_km_load(const void *reference, size_t reference_sz);
void p11kms_prov_km_free(void *keydata);
void *p11kms_prov_km_dup(const void *keydata, int selection);
int p11kms_prov_km_has(const void *keydata, int selection);
int p11kms_prov_km_match(const void *keydata1, const void *keydata2, int selection);
int p11kms_prov_km_get_params(void *keydata, OSSL_PARAM params[]);
int p11kms_prov_km_import(p11kms_key_kind kind, void *keydata, int selection,
                          const OSSL_PARAM params[]);
int p11kms_prov_km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg);
void *p11kms_prov_km_gen(p11kms_prov_ctx *ctx, p11kms_key_kind kind, unsigned bits,
                         p11kms_curve curve, const char *alias);

#endif /* P11KMS_PROVIDER_PROV_H */
