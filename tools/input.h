/*
 * tools/input.h — where p11kms reads its inputs from: `fileb://PATH` (raw
 * bytes), `file://PATH` (text), `-` (standard input), or the value itself
 * (base64 for binary parameters, as `aws kms` v2 takes blobs; text for
 * text parameters such as policies).
 */
#ifndef P11KMS_TOOLS_INPUT_H
#define P11KMS_TOOLS_INPUT_H

#include <stddef.h>

/* Largest input read (a 4096-byte message plus a blob fits many times). */
#define TOOL_INPUT_MAX (1024 * 1024)

typedef struct tool_bytes {
    unsigned char *data; /* OPENSSL_malloc'd, NUL after len; wiped when freed */
    size_t len;
} tool_bytes;

/* Binary parameter: fileb://PATH, -, or base64 text.  1 ok, 0 with err. */
int tool_input_binary(const char *name, const char *value, tool_bytes *out, char *err,
                      size_t errlen);

/* Text parameter: file://PATH, fileb://PATH, -, or the text itself. */
int tool_input_text(const char *name, const char *value, tool_bytes *out, char *err, size_t errlen);

void tool_bytes_free(tool_bytes *b);

#endif /* P11KMS_TOOLS_INPUT_H */
