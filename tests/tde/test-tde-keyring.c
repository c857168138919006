/*
 * tests/tde/test-tde-keyring.c — libp11kms-tde keyrings against the real
 * module (P11KMS_TEST_MODULE) and a fresh token per test: create, reopen,
 * add a version, rewrap after a CMK rotation with every page still
 * readable, and failures at open for a tampered or missing keyring, a
 * denied Decrypt and a wrong PIN; a rewrap killed at random moments leaves
 * the old or the new keyring, never a broken one.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/kms.h"
#include "client/module.h"
#include "p11kms/tde.h"

#define SO_PIN   "so-pin-12345"
#define USER_PIN "user-pin-12345"
#define CMK      "alias/tde-test"

static char dir[256], krpath[300];

static void write_conf(void)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/p11kms.conf", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[token]\nstore = %s/store.db\nlabel = tde\nkdf = 10\nallow-reinit = yes\n", dir);
    fclose(f);
    setenv("P11KMS_CONF", path, 1);
    setenv("XDG_DATA_HOME", dir, 1);
    setenv("XDG_CONFIG_HOME", dir, 1);
    setenv("P11KMS_PIN", USER_PIN, 1);
    setenv("P11KMS_PIN_SOURCE", "env:P11KMS_PIN", 1);
    unsetenv("P11KMS_TDE_TEST_NOTHING");
}

static void init_token(CK_FUNCTION_LIST *f, CK_SLOT_ID slot)
{
    CK_UTF8CHAR label[32];
    CK_SESSION_HANDLE s;

    memset(label, ' ', sizeof(label));
    memcpy(label, "tde", 3);
    ck_assert_uint_eq(f->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label), CKR_OK);
    ck_assert_uint_eq(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
                      CKR_OK);
    ck_assert_uint_eq(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN)), CKR_OK);
    ck_assert_uint_eq(f->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)), CKR_OK);
    f->C_Logout(s);
    f->C_CloseSession(s);
}

/* Run fn on a logged-in client KMS session of the test token. */
static void with_kms(void (*fn)(p11kms_client_kms *))
{
    p11kms_client_module *mod = NULL;
    p11kms_client_err ce;
    p11kms_client_kms k;
    CK_SLOT_ID slot;

    ck_assert_msg(p11kms_client_module_load(getenv("P11KMS_MODULE"), &mod, &ce), "%s", ce.msg);
    ck_assert_msg(p11kms_client_find_slot(mod, NULL, &slot, &ce), "%s", ce.msg);
    k.mod = mod;
    ck_assert(p11kms_client_session_open(mod, slot, 1, &k.session, &ce));
    ck_assert_msg(p11kms_client_login(mod, k.session, CKU_USER, "env:P11KMS_PIN", &ce), "%s",
                  ce.msg);
    fn(&k);
    p11kms_client_session_close(mod, k.session);
    p11kms_client_module_unload(mod);
}

static void create_cmk(p11kms_client_kms *k)
{
    p11kms_client_kms_create c = {0};
    p11kms_client_kms_result r = {0};
    p11kms_client_kms_error e;

    c.alias = CMK;
    ck_assert_msg(p11kms_client_kms_create_key(k, &c, &r, &e), "%s",
                  p11kms_client_kms_error_msg(&e));
    p11kms_client_kms_result_clear(&r);
}

static void setup(void)
{
    const char *module = getenv("P11KMS_TEST_MODULE");
    p11kms_client_module *mod = NULL;
    p11kms_client_err ce;
    CK_SLOT_ID slot;

    ck_assert_msg(module != NULL && access(module, R_OK) == 0, "P11KMS_TEST_MODULE unusable");
    setenv("P11KMS_MODULE", module, 1);
    snprintf(dir, sizeof(dir), "%s/p11kms-tde.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(krpath, sizeof(krpath), "%s/db-p11kms.keyring", dir);
    write_conf();
    ck_assert_msg(p11kms_client_module_load(module, &mod, &ce), "%s", ce.msg);
    ck_assert_msg(p11kms_client_find_slot(mod, NULL, &slot, &ce), "%s", ce.msg);
    init_token(p11kms_client_module_functions(mod), slot);
    p11kms_client_module_unload(mod);
    with_kms(create_cmk);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static p11kms_tde_keyring *open_kr(int create)
{
    p11kms_tde_options o = {0};
    p11kms_tde_keyring *kr = NULL;
    p11kms_tde_error err;

    o.cmk = CMK;
    o.create = create;
    ck_assert_msg(p11kms_tde_open(krpath, &o, &kr, &err), "%s", err.message);
    return kr;
}

static p11kms_tde_rc open_fails(const char *pin_source)
{
    p11kms_tde_options o = {0};
    p11kms_tde_keyring *kr = NULL;
    p11kms_tde_error err;

    o.pin_source = pin_source;
    ck_assert(!p11kms_tde_open(krpath, &o, &kr, &err));
    ck_assert_ptr_null(kr);
    ck_assert(err.message[0] != '\0');
    return err.rc;
}

static void key_copy(p11kms_tde_keyring *kr, uint32_t v, unsigned char out[32])
{
    const unsigned char *k = NULL;
    ck_assert(p11kms_tde_key(kr, v, &k, NULL));
    memcpy(out, k, 32);
}

START_TEST(create_reopen_add_version)
{
    unsigned char k1[32], again[32], k2[32];
    p11kms_tde_keyring *kr = open_kr(1);
    uint32_t v = 0;

    ck_assert_uint_eq(p11kms_tde_latest_version(kr), 1);
    key_copy(kr, 1, k1);
    ck_assert(!p11kms_tde_key(kr, 2, &(const unsigned char *){NULL}, NULL));
    ck_assert(p11kms_tde_add_version(kr, &v, NULL));
    ck_assert_uint_eq(v, 2);
    key_copy(kr, 2, k2);
    ck_assert(memcmp(k1, k2, 32) != 0);
    p11kms_tde_close(kr);
    kr = open_kr(0);
    ck_assert_uint_eq(p11kms_tde_latest_version(kr), 2);
    key_copy(kr, 1, again);
    ck_assert_mem_eq(again, k1, 32);
    key_copy(kr, 2, again);
    ck_assert_mem_eq(again, k2, 32);
    p11kms_tde_close(kr);
}
END_TEST

static void rotate(p11kms_client_kms *k)
{
    p11kms_client_kms_result r = {0};
    p11kms_client_kms_error e;
    ck_assert_msg(p11kms_client_kms_rotate_key_on_demand(k, CMK, &r, &e), "%s",
                  p11kms_client_kms_error_msg(&e));
    p11kms_client_kms_result_clear(&r);
}

static size_t file_bytes(unsigned char *buf, size_t cap)
{
    FILE *f = fopen(krpath, "rb");
    size_t n;
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

START_TEST(rewrap_keeps_pages_readable)
{
    static unsigned char before[8192], after[8192];
    unsigned char page[1024], enc[1024], back[1024], aad[8] = "pg000001";
    p11kms_tde_keyring *kr = open_kr(1);
    p11kms_tde_page_cipher *c = NULL;
    const unsigned char *k;
    size_t nb, na;

    memset(page, 'q', sizeof(page));
    ck_assert(p11kms_tde_key(kr, 1, &k, NULL));
    ck_assert(p11kms_tde_page_cipher_new(k, 32, &c, NULL));
    ck_assert(p11kms_tde_gcm_seal(c, aad, 8, page, 984, enc, enc + 984));
    p11kms_tde_page_cipher_free(c);
    p11kms_tde_close(kr);
    nb = file_bytes(before, sizeof(before));
    with_kms(rotate);
    kr = open_kr(0);
    ck_assert(p11kms_tde_rewrap(kr, 0, NULL));
    ck_assert_uint_eq(p11kms_tde_latest_version(kr), 1);
    p11kms_tde_close(kr);
    na = file_bytes(after, sizeof(after));
    ck_assert(na != nb || memcmp(before, after, na) != 0);
    kr = open_kr(0);
    ck_assert(p11kms_tde_key(kr, 1, &k, NULL));
    ck_assert(p11kms_tde_page_cipher_new(k, 32, &c, NULL));
    ck_assert(p11kms_tde_gcm_open(c, aad, 8, enc, 984, enc + 984, back));
    ck_assert_mem_eq(back, page, 984);
    ck_assert(p11kms_tde_rewrap(kr, 1, NULL)); /* rotation + new DEK version */
    ck_assert_uint_eq(p11kms_tde_latest_version(kr), 2);
    p11kms_tde_page_cipher_free(c);
    p11kms_tde_close(kr);
}
END_TEST

START_TEST(tampered_keyring_fails_at_open)
{
    static unsigned char orig[8192];
    size_t n, offs[6];
    p11kms_tde_keyring *kr = open_kr(1);

    p11kms_tde_close(kr);
    n = file_bytes(orig, sizeof(orig));
    offs[0] = 0;          /* magic */
    offs[1] = 13;         /* keyring id */
    offs[2] = n / 2;      /* inside the wrapped DEK */
    offs[3] = n - 40;     /* end of the blob */
    offs[4] = n - 1;      /* MAC */
    offs[5] = 28 + 4 + 3; /* CMK id */
    for (size_t i = 0; i < 6; i++) {
        FILE *f = fopen(krpath, "wb");
        orig[offs[i]] ^= 0x20;
        fwrite(orig, 1, n, f);
        fclose(f);
        p11kms_tde_rc rc = open_fails(NULL);
        ck_assert_msg(rc == P11KMS_TDE_ERR_CORRUPT || rc == P11KMS_TDE_ERR_NOTFOUND,
                      "offset %zu: rc %d", offs[i], (int)rc);
        orig[offs[i]] ^= 0x20;
    }
    /* truncated */
    FILE *f = fopen(krpath, "wb");
    fwrite(orig, 1, n - 10, f);
    fclose(f);
    ck_assert_int_eq(open_fails(NULL), P11KMS_TDE_ERR_CORRUPT);
    unlink(krpath);
    ck_assert_int_eq(open_fails(NULL), P11KMS_TDE_ERR_NOTFOUND);
}
END_TEST

static void deny_decrypt(p11kms_client_kms *k)
{
    static const char policy[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Effect\":\"Allow\",\"Principal\":{\"Unix\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*"
        "\"},"
        "{\"Effect\":\"Deny\",\"Principal\":{\"Unix\":\"*\"},\"Action\":\"kms:Decrypt\","
        "\"Resource\":\"*\"}]}";
    p11kms_client_kms_error e;
    ck_assert_msg(p11kms_client_kms_put_key_policy(k, CMK, policy, 0, &e), "%s",
                  p11kms_client_kms_error_msg(&e));
}

START_TEST(denied_decrypt_fails_at_open)
{
    p11kms_tde_close(open_kr(1));
    with_kms(deny_decrypt);
    ck_assert_int_eq(open_fails(NULL), P11KMS_TDE_ERR_ACCESS);
}
END_TEST

START_TEST(wrong_pin_fails_at_open)
{
    p11kms_tde_close(open_kr(1));
    setenv("WRONG_PIN", "not-the-pin-1", 1);
    ck_assert_int_eq(open_fails("env:WRONG_PIN"), P11KMS_TDE_ERR_PIN);
}
END_TEST

/* Child: rewrap forever (until killed). */
static void rewrap_loop(void)
{
    p11kms_tde_options o = {0};
    p11kms_tde_keyring *kr = NULL;

    if (!p11kms_tde_open(krpath, &o, &kr, NULL))
        _exit(3);
    for (;;)
        if (!p11kms_tde_rewrap(kr, 0, NULL))
            _exit(4);
}

START_TEST(killed_rewrap_leaves_a_valid_keyring)
{
    unsigned char k1[32], again[32];
    p11kms_tde_keyring *kr = open_kr(1);

    key_copy(kr, 1, k1);
    p11kms_tde_close(kr);
    for (int round = 0; round < 6; round++) {
        pid_t pid = fork();
        int st = 0;
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            rewrap_loop();
        usleep(150000 + 37000 * round);
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFSIGNALED(st), "rewrap child exited early (%d)", WEXITSTATUS(st));
        kr = open_kr(0);
        key_copy(kr, 1, again);
        ck_assert_mem_eq(again, k1, 32);
        p11kms_tde_close(kr);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tde-keyring");
    TCase *tc = tcase_create("keyring");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_reopen_add_version);
    tcase_add_test(tc, rewrap_keeps_pages_readable);
    tcase_add_test(tc, tampered_keyring_fails_at_open);
    tcase_add_test(tc, denied_decrypt_fails_at_open);
    tcase_add_test(tc, wrong_pin_fails_at_open);
    tcase_add_test(tc, killed_rewrap_leaves_a_valid_keyring);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
