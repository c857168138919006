/*
 * common/b64.c - strict standard base64 (see b64.h for the rules).
 * A hand loop rather than EVP_DecodeBlock, which accepts whitespace, does
 * not report the padding and takes int lengths.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t p11kms_b64_encoded_len(size_t inlen)
{
    size_t groups = inlen / 3 + (inlen % 3 != 0);

    return groups > (SIZE_MAX - 1) / 4 ? 0 : groups * 4;
}

size_t p11kms_b64_decoded_maxlen(size_t inlen)
{
    return inlen / 4 * 3;
}

int p11kms_b64_encode(const unsigned char *in, size_t inlen, char *out, size_t outcap)
{
    size_t need = p11kms_b64_encoded_len(inlen), o = 0, i;

    if (out == NULL || (in == NULL && inlen > 0) || (need == 0 && inlen > 0) || outcap < need + 1)
        return 0;
    for (i = 0; i + 2 < inlen; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < inlen) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < inlen)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < inlen ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return 1;
}

char *p11kms_b64_encode_alloc(const unsigned char *in, size_t inlen)
{
    size_t need = p11kms_b64_encoded_len(inlen);
    char *out = NULL;

    if ((need == 0 && inlen > 0) || (out = OPENSSL_malloc(need + 1)) == NULL)
        return NULL;
    if (!p11kms_b64_encode(in, inlen, out, need + 1)) {
        OPENSSL_free(out);
        out = NULL;
    }
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode one 4-character group; pad is the number of '=' (last group). */
static int decode_group(const char *g, int last, unsigned char *out, size_t *n)
{
    int v[4], pad = 0;

    if (last && g[3] == '=')
        pad = g[2] == '=' ? 2 : 1;
    for (int j = 0; j < 4 - pad; j++)
        if ((v[j] = b64_value(g[j])) < 0)
            return 0;
    for (int j = 4 - pad; j < 4; j++)
        v[j] = 0;
    /* the bits the padding drops must be zero: one encoding per input */
    if ((pad == 2 && (v[1] & 0x0f)) || (pad == 1 && (v[2] & 0x03)))
        return 0;
    out[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
    out[1] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
    out[2] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
    *n = 3 - (size_t)pad;
    return 1;
}

int p11kms_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t *outlen)
{
    unsigned char tmp[3];
    size_t o = 0, n = 0, cap;
    int ok = 0;

    if (outlen == NULL || (in == NULL && inlen > 0) || inlen % 4 != 0)
        goto done;
    cap = *outlen;
    for (size_t i = 0; i < inlen; i += 4) {
        if (!decode_group(in + i, i + 4 == inlen, tmp, &n) || o + n > cap || out == NULL)
            goto done;
        memcpy(out + o, tmp, n);
        o += n;
    }
    *outlen = o;
    ok = 1;
done:
    OPENSSL_cleanse(tmp, sizeof(tmp));
    if (!ok && out != NULL && o > 0)
        OPENSSL_cleanse(out, o);
    return ok;
}
