/*
 * tests/tools/test-audit-fill.c — a helper of the audit integration
 * scripts (not a test by itself): creates a store with an initialised
 * token, and appends records in bulk through store/audit.h with chosen
 * event times, so tests can build old and large trails quickly.
 *
 *   test-audit-fill STORE init PIN
 *   test-audit-fill STORE append COUNT AGE-DAYS [PIN]
 *
 * PIN is used as both SO and user PIN.  Records: every third a management
 * event (written in its own write transaction), the others data events
 * (journal path); every fifth AccessDeniedException.  With PIN the handle
 * is logged in, so due seals are written.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "store/audit.h"
#include "store/store.h"

static const char *const g_keys[] = {"1234abcd-12ab-34cd-56ef-1234567890ab",
                                     "0987dcba-09fe-87dc-65ba-ab0987654321"};

static int init_store(const char *path, const char *pin)
{
    p11kms_store_options o = {P11KMS_STORE_OPEN_CREATE, 0};
    p11kms_store_token_params tp;
    p11kms_store_kdf kdf;
    p11kms_store *st = NULL;
    size_t n = strlen(pin);
    p11kms_store_rc rc = p11kms_store_open(path, &o, &st);

    memset(&tp, 0, sizeof(tp));
    tp.label = "audit-test";
    tp.kdf = &kdf;
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_kdf_from_cost(10, &kdf);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_token_init(st, pin, n, &tp);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_login(st, P11KMS_STORE_USER_SO, pin, n);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_init_pin(st, pin, n);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_logout(st);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_login(st, P11KMS_STORE_USER_USER, pin, n);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_key_ensure(st, (char[P11KMS_AUDIT_FPR_LEN + 1]){0});
    p11kms_store_close(st);
    if (rc != P11KMS_STORE_OK)
        fprintf(stderr, "init: %s\n", p11kms_store_strerror(rc));
    return rc == P11KMS_STORE_OK ? 0 : 1;
}

static p11kms_store_rc append_one(p11kms_store *st, unsigned long i, int64_t t)
{
    p11kms_audit_record r;
    int mgmt = i % 3 == 0, denied = i % 5 == 4;
    p11kms_store_rc rc = P11KMS_STORE_OK;

    memset(&r, 0, sizeof(r));
    r.event_time_ms = t;
    r.event_name = mgmt ? "CreateKey" : i % 2 ? "Encrypt" : "Decrypt";
    r.event_type = P11KMS_AUDIT_API_CALL;
    r.management = mgmt;
    r.read_only = 0;
    r.uid = 1000 + (uint32_t)(i % 2);
    r.gid = 1000;
    r.pid = 4242;
    r.user = i % 2 ? "bob" : "alice";
    r.executable = "/usr/bin/test-audit-fill";
    r.key_id = g_keys[i % 2];
    r.key_version = 1;
    r.request_json = "{\"keyId\":\"alias/test\",\"encryptionContext\":{\"app\":\"it\"}}";
    r.response_json = denied ? NULL : "{\"keyId\":\"x\"}";
    r.error_code = denied ? "AccessDeniedException" : NULL;
    r.error_message = denied ? "not allowed by the key policy" : NULL;
    if (mgmt)
        rc = p11kms_store_begin_write(st);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_append(st, &r);
    if (mgmt)
        rc = rc == P11KMS_STORE_OK ? p11kms_store_commit(st) : (p11kms_store_rollback(st), rc);
    return rc;
}

static int append(const char *path, unsigned long count, long age_days, const char *pin)
{
    p11kms_store *st = NULL;
    int64_t t0 = p11kms_time_now_ms() - age_days * P11KMS_MS_PER_DAY;
    p11kms_store_rc rc = p11kms_store_open(path, NULL, &st);

    if (rc == P11KMS_STORE_OK && pin != NULL)
        rc = p11kms_store_login(st, P11KMS_STORE_USER_USER, pin, strlen(pin));
    for (unsigned long i = 0; rc == P11KMS_STORE_OK && i < count; i++)
        rc = append_one(st, i, t0 + (int64_t)i);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_flush(st);
    p11kms_store_close(st);
    if (rc != P11KMS_STORE_OK)
        fprintf(stderr, "append: %s\n", p11kms_store_strerror(rc));
    return rc == P11KMS_STORE_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[2], "init") == 0)
        return init_store(argv[1], argv[3]);
    if ((argc == 5 || argc == 6) && strcmp(argv[2], "append") == 0)
        return append(argv[1], strtoul(argv[3], NULL, 10), strtol(argv[4], NULL, 10),
                      argc == 6 ? argv[5] : NULL);
    fprintf(stderr, "usage: test-audit-fill STORE init PIN | STORE append COUNT AGE-DAYS [PIN]\n");
    return 2;
}
