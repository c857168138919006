/* tests/kms/kms-testutil.c — see kms-testutil.h. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crypto.h"
#include "store/audit.h"
#include "store/store.h"
#include "tests/kms/kms-testutil.h"

kt_env kt;

p11kms_kms *kt_open(int rotate_new_keys)
{
    p11kms_kms_options o;
    p11kms_kms *kms = NULL;

    memset(&o, 0, sizeof(o));
    o.store_path = kt.path;
    o.kdf_n = P11KMS_SCRYPT_TEST_N;
    o.rotate_new_keys = rotate_new_keys;
    ck_assert_int_eq(p11kms_kms_open(&o, &kms), P11KMS_KMS_OK);
    return kms;
}

static void setup_common(int rotate)
{
    memset(&kt, 0, sizeof(kt));
    snprintf(kt.dir, sizeof(kt.dir), "/tmp/p11kms-kms-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(kt.dir));
    snprintf(kt.path, sizeof(kt.path), "%s/store.db", kt.dir);
    ck_assert(p11kms_caller_self(&kt.caller));
    kt.kms = kt_open(rotate);
    ck_assert_int_eq(
        p11kms_kms_init_token(kt.kms, &kt.caller, KT_SO_PIN, strlen(KT_SO_PIN), "kms-test"),
        P11KMS_KMS_OK);
    ck_assert_int_eq(
        p11kms_kms_login(kt.kms, &kt.caller, P11KMS_KMS_USER_SO, KT_SO_PIN, strlen(KT_SO_PIN)),
        P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_init_pin(kt.kms, &kt.caller, KT_USER_PIN, strlen(KT_USER_PIN)),
                     P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_logout(kt.kms, &kt.caller), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_login(kt.kms, &kt.caller, P11KMS_KMS_USER_USER, KT_USER_PIN,
                                      strlen(KT_USER_PIN)),
                     P11KMS_KMS_OK);
}

void kt_setup(void)
{
    setup_common(0);
}

void kt_setup_rotating(void)
{
    setup_common(1);
}

void kt_teardown(void)
{
    char cmd[400];

    p11kms_kms_close(kt.kms);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kt.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", kt.dir);
}

uint64_t kt_audit_count(void)
{
    p11kms_store *st = NULL;
    uint64_t n = 0;

    ck_assert_int_eq(p11kms_store_open(kt.path, NULL, &st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_audit_count(st, &n), P11KMS_STORE_OK);
    p11kms_store_close(st);
    return n;
}

void kt_create(p11kms_kms_key_spec spec, p11kms_kms_key_usage usage, char id[37])
{
    p11kms_kms_create_params p;
    p11kms_kms_key_meta m;

    memset(&p, 0, sizeof(p));
    p.spec = spec;
    p.usage = usage;
    p.description = "test key";
    ck_assert_int_eq(p11kms_kms_create_key(kt.kms, &kt.caller, &p, &m), P11KMS_KMS_OK);
    memcpy(id, m.key_id, 37);
    p11kms_kms_key_meta_clear(&m);
}

static const char *tool_path(void)
{
    static char path[512];
    const char *b = getenv("abs_top_builddir");

    snprintf(path, sizeof(path), "%s/tests/kms/kms-tool", b ? b : ".");
    return path;
}

int kt_tool(const char *offset, const char *args, char *out, size_t outlen)
{
    char cmd[2048];
    FILE *p;
    int st;

    if (offset != NULL)
        ck_assert_msg(system("command -v faketime >/dev/null 2>&1") == 0,
                      "faketime is required (apt-get install faketime)");
    if (offset != NULL)
        snprintf(cmd, sizeof(cmd), "faketime -f '%s' '%s' '%s' %s", offset, tool_path(), kt.path,
                 args);
    else
        snprintf(cmd, sizeof(cmd), "'%s' '%s' %s", tool_path(), kt.path, args);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (out != NULL) {
        out[0] = '\0';
        if (fgets(out, (int)outlen, p) != NULL)
            out[strcspn(out, "\n")] = '\0';
    }
    while (fgetc(p) != EOF)
        ;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

size_t kt_material(const char *key_id, uint32_t version, uint8_t *out, size_t cap)
{
    p11kms_store *st = NULL;
    size_t len = 0;

    ck_assert_int_eq(p11kms_store_open(kt.path, NULL, &st), P11KMS_STORE_OK);
    ck_assert_int_eq(
        p11kms_store_login(st, P11KMS_STORE_USER_USER, KT_USER_PIN, strlen(KT_USER_PIN)),
        P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_version_material(st, key_id, version, out, cap, &len),
                     P11KMS_STORE_OK);
    p11kms_store_close(st);
    return len;
}

int kt_file_contains(const char *path, const uint8_t *needle, size_t len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    int found = 0;

    if (f == NULL)
        return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    for (long i = 0; !found && i + (long)len <= n; i++)
        found = memcmp(buf + i, needle, len) == 0;
    free(buf);
    return found;
}
