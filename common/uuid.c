/*
 * common/uuid.c - random version 4 UUIDs (RFC 4122 section 4.4) from the
 * private DRBG, and the canonical-form check used on every key id that
 * comes in from outside.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "common/crypto.h"
#include "common/uuid.h"

int p11kms_uuid_v4(char out[P11KMS_UUID_BUF_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    size_t o = 0;

    if (out == NULL || !p11kms_crypto_random(r, sizeof(r)))
        return 0;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* variant 10xx */
    for (size_t i = 0; i < sizeof(r); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 0x0f];
    }
    out[o] = '\0';
    OPENSSL_cleanse(r, sizeof(r));
    return 1;
}

int p11kms_uuid_is_valid_n(const char *s, size_t len)
{
    if (s == NULL || len != P11KMS_UUID_STR_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

int p11kms_uuid_is_valid(const char *s)
{
    return s != NULL && p11kms_uuid_is_valid_n(s, strnlen(s, P11KMS_UUID_STR_LEN + 1));
}
