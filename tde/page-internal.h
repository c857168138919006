/*
 * tde/page-internal.h — the page cipher object shared by page-cipher.c
 * (construction from a DEK), xts.c and xaes.c.  The mode keys live in
 * protected memory; the fetched ciphers come from the private libctx.
 */
#ifndef P11KMS_TDE_PAGE_INTERNAL_H
#define P11KMS_TDE_PAGE_INTERNAL_H

#include <openssl/evp.h>

#include "p11kms/tde.h"

typedef struct tde_page_keys {
    unsigned char xts[64]; /* Key1 || Key2 */
    unsigned char gcm[32]; /* XAES-256-GCM key K */
    unsigned char k1[16];  /* XAES: K1 derived from L = AES-256_K(0^128) */
} tde_page_keys;

struct p11kms_tde_page_cipher {
    tde_page_keys *keys; /* secmem */
    int has_xts, has_gcm;
    EVP_CIPHER *xts, *ecb, *gcm;
};

/* XAES: compute K1 from the GCM key (called once at construction). */
int tde_xaes_prepare(p11kms_tde_page_cipher *c);

#endif /* P11KMS_TDE_PAGE_INTERNAL_H */
