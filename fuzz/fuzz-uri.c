/*
 * fuzz/fuzz-uri.c — libFuzzer target for key references: p11kms: and
 * pkcs11: URIs (client/uri.h, with p11-kit's parser behind the strict
 * grammar check) and the PIN-source syntax (store/config-pinsrc.h).
 *
 * Seeds: fuzz/corpus/uri/.  Run:
 *   ./fuzz/fuzz-uri -max_total_time=60 $(srcdir)/fuzz/corpus/uri
 */
#include "config.h"

#include "client/uri.h"
#include "store/config-pinsrc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    p11kms_client_err err = {"", 0};
    p11kms_client_uri uri;
    p11kms_pinsrc src;
    char perr[256];
    char *text;

    if (size > 16384)
        return 0;
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (unsigned flags = 0; flags <= P11KMS_CLIENT_URI_BARE; flags++) {
        if (p11kms_client_uri_parse(text, flags, &uri, &err)) {
            if (uri.kind == P11KMS_CLIENT_URI_PKCS11 && uri.pkcs11 == NULL)
                abort();
            p11kms_client_uri_free(&uri);
        } else if (err.msg[0] == '\0' || uri.pkcs11 != NULL) {
            abort();
        }
        err.msg[0] = '\0';
    }
    for (int keyfile = 0; keyfile <= 1; keyfile++) {
        if (p11kms_pinsrc_parse(text, keyfile, &src, perr, sizeof(perr)) &&
            src.kind != P11KMS_PINSRC_PROMPT && (src.arg == NULL || src.arg[0] == '\0'))
            abort();
    }
    free(text);
    return 0;
}
