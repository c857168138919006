/*
 * tools/audit-dir.h — reading the export directory format shared by
 * `audit export`, `audit archive` and `audit verify --exported`
 * (layout in tools/audit-dir.c and docs/audit.md).
 */
#ifndef P11KMS_TOOLS_AUDIT_DIR_H
#define P11KMS_TOOLS_AUDIT_DIR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AUDIT_DIGEST_MAX  (16u * 1024u * 1024u)
#define AUDIT_RECORDS_MAX (1024u * 1024u * 1024u)
/* Context of the digest signatures (p11kms_store_audit_sign_document). */
#define AUDIT_DIGEST_CONTEXT "p11kms-audit-export-digest-v1"

typedef struct audit_digest {
    char *name; /* file name under digests/ */
    char *raw;  /* the signed bytes */
    size_t rawlen;
    json_t *json;
    uint64_t start_seq, end_seq;
    unsigned char sig[128];
    size_t siglen;
    char sighex[257];
} audit_digest;

/* Loads digests/NAME and NAME.sig; 0 with problem naming what is wrong. */
int audit_digest_load(const char *dir, const char *name, audit_digest *d, char *problem,
                      size_t plen);
void audit_digest_clear(audit_digest *d);

/* Sorted names in dir ending with suffix (hidden files skipped). */
int audit_dir_list(const char *dir, const char *suffix, char ***names, size_t *count);
void audit_dir_names_free(char **names, size_t n);

/* "a/b" or "a/b/c" (c may be NULL), malloc'd. */
char *audit_path(const char *a, const char *b, const char *c);

/* SPKI DER <-> PEM "PUBLIC KEY". */
char *audit_pem_encode(const unsigned char *der, size_t len);
int audit_pem_decode(const char *pem, unsigned char **der, size_t *len);

#endif /* P11KMS_TOOLS_AUDIT_DIR_H */
