/*
 * p11-opreq-internal.h — what the files of the operation-object route
 * share: the request state (p11-oprequest.c parses and owns it), the
 * request JSON accessors, and the dispatch of the operations that live in
 * p11-opreq-ops.c (keys, signatures, MACs, policies, grants, rotation).
 */
#ifndef P11KMS_PKCS11_P11_OPREQ_INTERNAL_H
#define P11KMS_PKCS11_P11_OPREQ_INTERNAL_H

#include <jansson.h>

#include "pkcs11/p11-oprequest.h"

typedef struct opreq {
    char name[64];
    char *key;
    char *request; /* JSON text as given */
    json_t *req;   /* parsed request, NULL when none */
    CK_ULONG result;
    const char *error; /* exception name or "" */
    char *json;        /* response elements */
    p11kms_kms_bytes plaintext, ciphertext, signature;
    /* inputs (borrowed from the template during execution) */
    const CK_ATTRIBUTE *in_pt, *in_ct, *in_sig;
} opreq;

typedef struct ctx_buf {
    p11kms_kms_ec_pair pairs[64];
    p11kms_kms_context ctx;
} ctx_buf;

typedef struct env {
    p11kms_kms *kms;
    const p11kms_caller *who;
    opreq *r;
} env;

/* Request field `field` as a kms.h encryption context (strings only). */
CK_RV p11kms_p11_opreq_context(const opreq *r, const char *field, ctx_buf *b);
/* String / integer field of the request, NULL / def when absent. */
const char *p11kms_p11_opreq_str(const opreq *r, const char *field);
long long p11kms_p11_opreq_int(const opreq *r, const char *field, long long def);
/* Takes o (may be NULL) as the response elements. */
void p11kms_p11_opreq_respond(opreq *r, json_t *o);
/* KeyMetadata of a key as KMS writes it (new reference, NULL on ENOMEM). */
json_t *p11kms_p11_opreq_meta_json(const p11kms_kms_key_meta *m);

/* The operations of p11-opreq-ops.c: P11KMS_KMS_RC_COUNT_ when the name
 * is not one of them. needs_key says whether OP_KEY is required. */
int p11kms_p11_opreq_ops_known(const char *name, int *needs_key);
p11kms_kms_rc p11kms_p11_opreq_ops_dispatch(env *e);

#endif
