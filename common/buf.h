/*
 * common/buf.h - canonical binary encoding: a growable byte buffer and a
 * bounds-checked reader.
 *
 * The audit hash chain and the envelope AAD must encode the same values
 * to the same bytes forever, so this is the single encoder: integers are
 * big-endian, variable-length fields are length-prefixed (u32 BE length,
 * then the bytes), optional strings carry a presence byte (0 absent,
 * 1 present followed by a length-prefixed string), so NULL, "" and
 * adjacent fields can never be confused.
 *
 * Writer: append functions return 1/0; after the first failure (out of
 * memory, field too long) the buffer is marked failed and every later
 * append also fails, so a caller may append many fields and check once
 * (p11kms_buf_ok).  The buffer may hold secrets: growth and free wipe the
 * old memory.  A zero-initialised p11kms_buf (P11KMS_BUF_INIT) is valid.
 *
 * Reader: get functions return 1/0 and never advance on failure; data is
 * borrowed from the caller's bytes (zero copy).
 */
#ifndef P11KMS_COMMON_BUF_H
#define P11KMS_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct p11kms_buf {
    unsigned char *data; /* OPENSSL_malloc'd; NULL while empty */
    size_t len;
    size_t cap;
    int failed;
} p11kms_buf;

#define P11KMS_BUF_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void p11kms_buf_init(p11kms_buf *b);
/* Wipe and release; the buffer is empty and usable again afterwards. */
void p11kms_buf_free(p11kms_buf *b);
/* Wipe the content, keep the allocation, clear the failed flag. */
void p11kms_buf_reset(p11kms_buf *b);
/* 1 if no append has failed since init/reset. */
int p11kms_buf_ok(const p11kms_buf *b);
/* Make room for extra more bytes. */
int p11kms_buf_reserve(p11kms_buf *b, size_t extra);

int p11kms_buf_append_u8(p11kms_buf *b, uint8_t v);
int p11kms_buf_append_u32be(p11kms_buf *b, uint32_t v);
int p11kms_buf_append_u64be(p11kms_buf *b, uint64_t v);
/* Raw bytes, no length (p may be NULL when len is 0). */
int p11kms_buf_append_bytes(p11kms_buf *b, const void *p, size_t len);
/* u32 BE length + bytes; fails if len > UINT32_MAX. */
int p11kms_buf_append_lp(p11kms_buf *b, const void *p, size_t len);
/* Length-prefixed NUL-terminated string (s must not be NULL). */
int p11kms_buf_append_lp_str(p11kms_buf *b, const char *s);
/* Optional string: u8 0 for NULL, else u8 1 + length-prefixed string. */
int p11kms_buf_append_opt_str(p11kms_buf *b, const char *s);

/*
 * Hand the bytes to the caller (OPENSSL_malloc'd, free with OPENSSL_free
 * or OPENSSL_clear_free); *len receives the length.  The buffer becomes
 * empty.  Returns NULL if the buffer failed or is empty (then *len = 0).
 */
unsigned char *p11kms_buf_detach(p11kms_buf *b, size_t *len);

typedef struct p11kms_reader {
    const unsigned char *p;
    size_t len;
    size_t off;
} p11kms_reader;

void p11kms_reader_init(p11kms_reader *r, const void *p, size_t len);
size_t p11kms_reader_remaining(const p11kms_reader *r);
/* 1 if every byte has been consumed (use it to refuse trailing data). */
int p11kms_reader_at_end(const p11kms_reader *r);

int p11kms_reader_get_u8(p11kms_reader *r, uint8_t *v);
int p11kms_reader_get_u32be(p11kms_reader *r, uint32_t *v);
int p11kms_reader_get_u64be(p11kms_reader *r, uint64_t *v);
/* Borrow the next len bytes (*p points into the reader's data). */
int p11kms_reader_get_bytes(p11kms_reader *r, size_t len, const unsigned char **p);
/* Copy the next len bytes into out. */
int p11kms_reader_get_copy(p11kms_reader *r, void *out, size_t len);
/* Borrow a length-prefixed field (u32 BE length + bytes). */
int p11kms_reader_get_lp(p11kms_reader *r, const unsigned char **p, size_t *len);
/*
 * Read what p11kms_buf_append_opt_str wrote: *present = 0 (then *p = NULL,
 * *len = 0) or 1 with the borrowed bytes (not NUL-terminated).  A presence
 * byte other than 0 or 1 is an error.
 */
int p11kms_reader_get_opt_lp(p11kms_reader *r, int *present, const unsigned char **p, size_t *len);

#endif /* P11KMS_COMMON_BUF_H */
