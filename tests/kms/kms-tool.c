/* tests/kms/kms-tool.c — a tiny driver of the engine for tests that need a
 * separate process: run under `faketime` (time moves only there; the
 * engine reads the real clock) or several at once (concurrency).
 *
 *   kms-tool STORE encrypt KEY_ID     prints the key version used
 *   kms-tool STORE version KEY_ID     prints the current version
 *   kms-tool STORE run-due            prints "ROTATED DELETED FAILED"
 *   kms-tool STORE describe KEY_ID    prints the key state
 *   kms-tool STORE bench KEY_ID N     N audited 4 KiB Encrypts by handle,
 *                                     prints microseconds per call
 *   kms-tool STORE enable KEY_ID      EnableKey
 *   kms-tool STORE disable KEY_ID     DisableKey
 *
 * Logs in as the test user (tests/kms/kms-testutil.h PINs).  Exit 0 on
 * success, 1 with the KMS exception name on stderr otherwise, 2 on usage. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "kms/kms.h"
#include "tests/kms/kms-testutil.h"

static p11kms_kms_rc cmd_encrypt(p11kms_kms *kms, const p11kms_caller *c, const char *id)
{
    p11kms_kms_bytes ct = {NULL, 0};
    uint32_t ver = 0;
    p11kms_kms_rc rc = p11kms_kms_encrypt(kms, c, NULL, id, (const uint8_t *)"hello", 5, NULL,
                                          P11KMS_KMS_ENC_SYMMETRIC_DEFAULT, &ct, &ver);

    if (rc == P11KMS_KMS_OK)
        printf("%u\n", ver);
    p11kms_kms_bytes_clear(&ct);
    return rc;
}

static p11kms_kms_rc cmd_describe(p11kms_kms *kms, const p11kms_caller *c, const char *id,
                                  int version)
{
    p11kms_kms_key_meta m;
    p11kms_kms_rc rc = p11kms_kms_describe_key(kms, c, NULL, id, &m);

    if (rc == P11KMS_KMS_OK && version)
        printf("%u\n", m.current_version);
    else if (rc == P11KMS_KMS_OK)
        printf("%s\n", p11kms_kms_state_name(m.state));
    p11kms_kms_key_meta_clear(&m);
    return rc;
}

static p11kms_kms_rc cmd_run_due(p11kms_kms *kms, const p11kms_caller *c)
{
    p11kms_kms_run_due_report r;
    p11kms_kms_rc rc = p11kms_kms_run_due(kms, c, &r);

    if (rc == P11KMS_KMS_OK)
        printf("%u %u %u\n", r.rotated, r.deleted, r.failed);
    return rc;
}

static p11kms_kms_rc cmd_bench(p11kms_kms *kms, const p11kms_caller *c, const char *id,
                               const char *count)
{
    static uint8_t pt[4096];
    p11kms_kms_bytes ct = {NULL, 0};
    p11kms_kms_key *h = NULL;
    long n = strtol(count, NULL, 10);
    int64_t t0;
    p11kms_kms_rc rc = p11kms_kms_key_open(kms, id, &h);

    t0 = p11kms_time_mono_ms();
    for (long i = 0; rc == P11KMS_KMS_OK && i < n; i++) {
        rc = p11kms_kms_encrypt(kms, c, h, NULL, pt, sizeof(pt), NULL,
                                P11KMS_KMS_ENC_SYMMETRIC_DEFAULT, &ct, NULL);
        p11kms_kms_bytes_clear(&ct);
    }
    if (rc == P11KMS_KMS_OK && n > 0)
        printf("%.1f\n", (double)(p11kms_time_mono_ms() - t0) * 1000.0 / (double)n);
    p11kms_kms_key_release(h);
    return rc;
}

static p11kms_kms_rc dispatch(p11kms_kms *kms, const p11kms_caller *c, int argc, char **argv)
{
    if (strcmp(argv[2], "encrypt") == 0 && argc == 4)
        return cmd_encrypt(kms, c, argv[3]);
    if (strcmp(argv[2], "version") == 0 && argc == 4)
        return cmd_describe(kms, c, argv[3], 1);
    if (strcmp(argv[2], "describe") == 0 && argc == 4)
        return cmd_describe(kms, c, argv[3], 0);
    if (strcmp(argv[2], "bench") == 0 && argc == 5)
        return cmd_bench(kms, c, argv[3], argv[4]);
    if (strcmp(argv[2], "enable") == 0 && argc == 4)
        return p11kms_kms_enable_key(kms, c, NULL, argv[3]);
    if (strcmp(argv[2], "disable") == 0 && argc == 4)
        return p11kms_kms_disable_key(kms, c, NULL, argv[3]);
    if (strcmp(argv[2], "run-due") == 0 && argc == 3)
        return cmd_run_due(kms, c);
    return P11KMS_KMS_RC_COUNT_;
}

int main(int argc, char **argv)
{
    p11kms_kms_options o;
    p11kms_kms *kms = NULL;
    p11kms_caller caller;
    p11kms_kms_rc rc;
    int status = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: kms-tool STORE COMMAND [ARG]\n");
        return 2;
    }
    memset(&o, 0, sizeof(o));
    o.store_path = argv[1];
    if (!p11kms_caller_self(&caller) || p11kms_kms_open(&o, &kms) != P11KMS_KMS_OK)
        goto done;
    rc = p11kms_kms_login(kms, &caller, P11KMS_KMS_USER_USER, KT_USER_PIN, strlen(KT_USER_PIN));
    if (rc == P11KMS_KMS_OK)
        rc = dispatch(kms, &caller, argc, argv);
    if (rc == P11KMS_KMS_RC_COUNT_) {
        fprintf(stderr, "kms-tool: unknown command\n");
        status = 2;
    } else if (rc != P11KMS_KMS_OK) {
        fprintf(stderr, "kms-tool: %s: %s\n", p11kms_kms_rc_name(rc), p11kms_kms_last_detail());
    } else {
        status = 0;
    }
done:
    p11kms_kms_close(kms);
    return status;
}
