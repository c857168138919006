/*
 * client/uri.h — key references: `p11kms:alias/NAME`, `p11kms:key/UUID`
 * (each with an optional `?version=N`), and RFC 7512 `pkcs11:` URIs.
 *
 * pkcs11: URIs are parsed by p11-kit's own implementation (p11_kit_uri_parse,
 * Debian's libp11-kit), which also matches them against CK_INFO,
 * CK_SLOT_INFO, CK_TOKEN_INFO and object attributes with the spec's padding
 * rules.  p11-kit is lenient (it accepts repeated attributes, blanks, unknown
 * type values, and keeps unknown query attributes), so a strict grammar
 * check runs first and gives a message naming the offending attribute; see
 * uri.c for the decision.
 *
 * Messages never contain a pin-value.
 */
#ifndef P11KMS_CLIENT_URI_H
#define P11KMS_CLIENT_URI_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "client/error.h"

typedef enum p11kms_client_uri_kind {
    P11KMS_CLIENT_URI_ALIAS = 1, /* p11kms:alias/NAME */
    P11KMS_CLIENT_URI_KEY = 2,   /* p11kms:key/UUID */
    P11KMS_CLIENT_URI_PKCS11 = 3 /* pkcs11:... */
} p11kms_client_uri_kind;

/* KMS: an alias name is at most 256 characters, "alias/" included. */
#define P11KMS_CLIENT_ALIAS_MAX 256

typedef struct p11kms_client_uri {
    p11kms_client_uri_kind kind;
    /* ALIAS: "alias/NAME"; KEY: the key id (UUID, lower case); PKCS11: "". */
    char key_ref[P11KMS_CLIENT_ALIAS_MAX + 1];
    uint32_t version; /* ?version=N; 0 = the current version */
    /* PKCS11 only (NULL / 0 otherwise): */
    P11KitUri *pkcs11; /* p11-kit's parse, for its match functions */
    int has_class;     /* type= given */
    CK_OBJECT_CLASS object_class;
    const char *pin_source;  /* pin-source= (a PIN source, validated), or NULL */
    int has_pin_value;       /* pin-value= given (read it with p11_kit_uri_get_pin_value) */
    const char *module_name; /* module-name=, or NULL */
    const char *module_path; /* module-path= (absolute), or NULL */
} p11kms_client_uri;

/* Flags for p11kms_client_uri_parse. */
#define P11KMS_CLIENT_URI_BARE 1u /* also accept a bare "alias/NAME" or key id (CLI --key-id) */

/*
 * Parse text.  Returns 1 with *uri filled (release with p11kms_client_uri_free),
 * or 0 with one line in err saying what is wrong and where.
 */
int p11kms_client_uri_parse(const char *text, unsigned flags, p11kms_client_uri *uri,
                            p11kms_client_err *err);

void p11kms_client_uri_free(p11kms_client_uri *uri);

/* A pkcs11: URI matches a token when its module, slot and token attributes all match. */
int p11kms_client_uri_match_token(const p11kms_client_uri *uri, const CK_INFO *module,
                                  CK_SLOT_ID slot_id, const CK_SLOT_INFO *slot,
                                  const CK_TOKEN_INFO *token);

/*
 * The object attributes of a pkcs11: URI (CKA_CLASS, CKA_LABEL, CKA_ID) as a
 * search template for C_FindObjectsInit.  The array belongs to the URI.
 */
CK_ATTRIBUTE *p11kms_client_uri_template(const p11kms_client_uri *uri, CK_ULONG *count);

#endif /* P11KMS_CLIENT_URI_H */
