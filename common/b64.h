/*
 * common/b64.h - standard base64 (RFC 4648 section 4, with '=' padding).
 *
 * Encoding never breaks lines.  Decoding is strict, for data that
 * crosses trust boundaries (ciphertext blobs, audit exports, key files):
 * no whitespace, length a multiple of 4, '=' only as the last one or two
 * characters, and the unused bits before the padding must be zero, so
 * every byte string has exactly one accepted encoding.
 */
#ifndef P11KMS_COMMON_B64_H
#define P11KMS_COMMON_B64_H

#include <stddef.h>

/* Characters needed to encode inlen bytes, without the NUL; 0 on overflow. */
size_t p11kms_b64_encoded_len(size_t inlen);

/* Upper bound of bytes decoded from inlen characters. */
size_t p11kms_b64_decoded_maxlen(size_t inlen);

/*
 * Encode inlen bytes into out, NUL-terminated.  outcap must be at least
 * p11kms_b64_encoded_len(inlen) + 1.  1 ok, 0 if too small.
 */
int p11kms_b64_encode(const unsigned char *in, size_t inlen, char *out, size_t outcap);

/* Encode to a new NUL-terminated string (OPENSSL_malloc); NULL on error. */
char *p11kms_b64_encode_alloc(const unsigned char *in, size_t inlen);

/*
 * Strictly decode inlen characters (need not be NUL-terminated).  On
 * entry *outlen is the capacity of out (p11kms_b64_decoded_maxlen(inlen)
 * is always enough), on success the decoded length.  0 on any bad input
 * or too small a buffer; out may then hold partial output, which is
 * wiped.
 */
int p11kms_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t *outlen);

#endif /* P11KMS_COMMON_B64_H */
