/*
 * fuzz/fuzz-config.c — libFuzzer target for the p11kms.conf parser
 * (store/config.h) and the PIN-source syntax it uses (store/config-pinsrc.h).
 *
 * Any input must give either a configuration or one error line; never a
 * crash, a leak or an unterminated message.  Seeds: fuzz/corpus/config/.
 * Run: ./fuzz/fuzz-config -max_total_time=60 $(srcdir)/fuzz/corpus/config
 */
#include "config.h"

#include "store/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[P11KMS_CONFIG_ERR_MAX];
    p11kms_config *cfg = NULL;

    err[0] = '\0';
    if (p11kms_store_config_parse((const char *)data, size, "/fuzz/p11kms.conf", &cfg, err,
                                  sizeof(err))) {
        if (cfg == NULL || cfg->ntokens == 0 || cfg->tokens[0].store == NULL)
            abort();
        p11kms_store_config_free(cfg);
    } else if (cfg != NULL || strlen(err) == 0) {
        abort();
    }
    return 0;
}
