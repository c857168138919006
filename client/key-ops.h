/*
 * client/key-ops.h — what every p11kms front end (provider/, tools/, tde/)
 * does with an asymmetric key through PKCS#11: find it from a p11kms: or
 * pkcs11: URI, read its public half and its certificate, sign a digest,
 * decrypt with RSA-OAEP, and generate a new key pair under an alias.
 *
 * Only mechanisms that cross p11-kit 0.24's RPC are used (DESIGN.md,
 * Layers): CKM_ECDSA, CKM_RSA_PKCS (the caller's digest is wrapped in a
 * DigestInfo here), CKM_RSA_PKCS_PSS and CKM_RSA_PKCS_OAEP.  Hashing is the
 * caller's job, so the same calls work in-process and in isolated mode.
 * Nothing here is specific to p11kms-pkcs11.so: vendor attributes are tried
 * and silently skipped when a module (SoftHSMv2, p11-kit-client.so in front
 * of another module) does not know them.
 *
 * Every function returns 1 on success and 0 with err filled (client/error.h).
 * A session must not be used by two threads at once (PKCS#11 rule); object
 * handles are valid in every session of the process.
 */
#ifndef P11KMS_CLIENT_KEY_OPS_H
#define P11KMS_CLIENT_KEY_OPS_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "client/error.h"
#include "client/module.h"
#include "client/uri.h"
#include "common/crypto.h"

#define P11KMS_CLIENT_KEY_ID_MAX 128 /* longest CKA_ID kept */
#define P11KMS_CLIENT_LABEL_MAX  256 /* longest CKA_LABEL kept (an alias fits) */

/* One object found on the token, with what is needed to find it again. */
typedef struct p11kms_client_keyref {
    CK_OBJECT_HANDLE handle;
    CK_OBJECT_CLASS cls;  /* CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE */
    CK_KEY_TYPE key_type; /* CKK_RSA or CKK_EC; CKK_VENDOR_DEFINED for others */
    unsigned char id[P11KMS_CLIENT_KEY_ID_MAX]; /* CKA_ID */
    size_t idlen;
    char label[P11KMS_CLIENT_LABEL_MAX + 1]; /* CKA_LABEL, "" if none */
    char kms_key_id[40];                     /* CKA_P11KMS_KEY_ID, "" on other modules */
} p11kms_client_keyref;

/* "'alias/NAME' (key UUID)", "'label'" or "object with id 01ab" for messages. */
void p11kms_client_key_name(const p11kms_client_keyref *ref, char *buf, size_t buflen);

/*
 * Objects of class cls named by uri: p11kms:alias/NAME matches CKA_LABEL
 * "alias/NAME" or the vendor alias attribute; p11kms:key/UUID the vendor key
 * id; a pkcs11: URI its object attributes (a type= in the URI must agree
 * with cls).  Up to max objects are stored in out; *count is how many matched.
 */
int p11kms_client_key_find(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                           const p11kms_client_uri *uri, CK_OBJECT_CLASS cls,
                           p11kms_client_keyref *out, size_t max, size_t *count,
                           p11kms_client_err *err);

/* Exactly one object of class cls, else an error naming the URI text. */
int p11kms_client_key_find_one(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               const p11kms_client_uri *uri, const char *uri_text,
                               CK_OBJECT_CLASS cls, p11kms_client_keyref *out,
                               p11kms_client_err *err);

/*
 * Find ref's object again by class, CKA_ID and CKA_LABEL (after a fork and
 * re-initialisation handles may change); updates ref->handle.
 */
int p11kms_client_key_refind(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                             p11kms_client_keyref *ref, p11kms_client_err *err);

/*
 * The public half of a key (private or public object): RSA from
 * CKA_MODULUS/CKA_PUBLIC_EXPONENT; EC from CKA_EC_PARAMS and CKA_EC_POINT,
 * looked up on the public-key twin (same CKA_ID, else same label) when the
 * private object does not carry the point.
 */
int p11kms_client_key_public(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                             const p11kms_client_keyref *ref, p11kms_crypto_pkey **out,
                             p11kms_client_err *err);

/* CKA_VALUE (DER) of a certificate object; *der is OPENSSL_malloc'd. */
int p11kms_client_key_cert_der(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               const p11kms_client_keyref *ref, unsigned char **der, size_t *derlen,
                               p11kms_client_err *err);

typedef enum p11kms_client_sign_alg {
    P11KMS_CLIENT_SIGN_RSA_PKCS1 = 1, /* CKM_RSA_PKCS over DigestInfo(md, digest) */
    P11KMS_CLIENT_SIGN_RSA_PSS = 2,   /* CKM_RSA_PKCS_PSS */
    P11KMS_CLIENT_SIGN_ECDSA = 3      /* CKM_ECDSA; the result is DER ECDSA-Sig-Value */
} p11kms_client_sign_alg;

/*
 * Sign a digest.  md names the hash of dgst (P11KMS_MD_NONE: RSA PKCS#1
 * signs dgst as is, which the caller made a DigestInfo or raw data; ECDSA
 * signs any length).  For PSS, mgf1 and saltlen are the PSS parameters (md
 * must be set).  *siglen is the capacity of sig on entry.
 */
int p11kms_client_key_sign(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                           const p11kms_client_keyref *ref, p11kms_client_sign_alg alg,
                           p11kms_md md, p11kms_md mgf1, size_t saltlen, const unsigned char *dgst,
                           size_t dgstlen, unsigned char *sig, size_t *siglen,
                           p11kms_client_err *err);

/* RSA-OAEP decryption (hash md, MGF1 mgf1, optional label).  *outlen: capacity in, size out. */
int p11kms_client_key_decrypt_oaep(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                                   const p11kms_client_keyref *ref, p11kms_md md, p11kms_md mgf1,
                                   const unsigned char *label, size_t labellen,
                                   const unsigned char *in, size_t inlen, unsigned char *out,
                                   size_t *outlen, p11kms_client_err *err);

/* A key pair to create: RSA (bits 2048/3072/4096) or EC (a NIST curve). */
typedef struct p11kms_client_keygen {
    p11kms_key_kind kind;
    unsigned bits;      /* RSA */
    p11kms_curve curve; /* EC */
    const char *alias;  /* "alias/NAME": the vendor alias and CKA_LABEL */
} p11kms_client_keygen;

/*
 * C_GenerateKeyPair of a token key that never leaves the module (sensitive,
 * not extractable), labelled with the alias.  The session must be
 * read-write and logged in.  *priv describes the new private key.
 */
int p11kms_client_key_generate(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               const p11kms_client_keygen *req, p11kms_client_keyref *priv,
                               p11kms_client_err *err);

#endif /* P11KMS_CLIENT_KEY_OPS_H */
