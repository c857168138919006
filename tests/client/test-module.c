/*
 * tests/client/test-module.c — module loading, token lookup, sessions and
 * login (client/module.h) against a real third-party module: Debian's
 * SoftHSMv2, with a token initialised in a temporary directory.  Using
 * another vendor's module keeps client/ honest about being generic PKCS#11.
 */
#include "config.h"

#include "client/module.h"

#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define SOFTHSM_UTIL   "/usr/bin/softhsm2-util"
#define USER_PIN       "87654321"
#define SO_PIN         "12345678"

static char tmpdir[256];
static char pinfile_spec[PATH_MAX + 8];

static void run(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

static void init_token(const char *label)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd),
             SOFTHSM_UTIL " --init-token --free --label '%s' --so-pin " SO_PIN " --pin " USER_PIN
                          " >/dev/null",
             label);
    run(cmd);
}

static void setup(void)
{
    char path[PATH_MAX];
    FILE *f;

    ck_assert_msg(access(SOFTHSM_MODULE, R_OK) == 0 && access(SOFTHSM_UTIL, X_OK) == 0,
                  "SoftHSMv2 is needed for this test: apt-get install softhsm2");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p11kms-test-module-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof(path), "%s/tokens", tmpdir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/softhsm2.conf", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = false\n",
            tmpdir);
    ck_assert_int_eq(fclose(f), 0);
    setenv("SOFTHSM2_CONF", path, 1);
    unsetenv("P11KMS_MODULE");
    init_token("t");

    snprintf(path, sizeof(path), "%s/pin", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(USER_PIN "\n", f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, 0600), 0);
    snprintf(pinfile_spec, sizeof(pinfile_spec), "file:%s", path);
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    run(cmd);
}

static p11kms_client_module *load(void)
{
    p11kms_client_module *mod = NULL;
    p11kms_client_err err = {"", 0};

    ck_assert_msg(p11kms_client_module_load(SOFTHSM_MODULE, &mod, &err) == 1, "%s", err.msg);
    ck_assert_ptr_nonnull(mod);
    return mod;
}

START_TEST(test_load_paths)
{
    p11kms_client_module *mod = NULL;
    p11kms_client_err err = {"", 0};

    ck_assert_str_eq(p11kms_client_module_default_path(NULL), PKCS11_MODULE_PATH);
    ck_assert_str_eq(p11kms_client_module_default_path(""), PKCS11_MODULE_PATH);
    setenv("P11KMS_MODULE", SOFTHSM_MODULE, 1);
    ck_assert_str_eq(p11kms_client_module_default_path(NULL), SOFTHSM_MODULE);
    /* An explicit path wins over the environment. */
    ck_assert_str_eq(p11kms_client_module_default_path("/x.so"), "/x.so");

    ck_assert_int_eq(p11kms_client_module_load(NULL, &mod, &err), 1);
    ck_assert_str_eq(p11kms_client_module_path(mod), SOFTHSM_MODULE);
    ck_assert_ptr_nonnull(p11kms_client_module_functions(mod));
    p11kms_client_module_unload(mod);

    ck_assert_int_eq(p11kms_client_module_load("/nonexistent/module.so", &mod, &err), 0);
    ck_assert_ptr_null(mod);
    ck_assert_ptr_nonnull(
        strstr(err.msg, "cannot load the PKCS#11 module: /nonexistent/module.so"));

    ck_assert_int_eq(p11kms_client_module_load("libm.so.6", &mod, &err), 0);
    ck_assert_str_eq(err.msg, "libm.so.6: not a PKCS#11 module (no C_GetFunctionList)");
}
END_TEST

START_TEST(test_find_slot)
{
    p11kms_client_module *mod = load();
    p11kms_client_err err = {"", 0};
    CK_SLOT_ID a = 999, b = 999;
    char want[PATH_MAX];

    ck_assert_msg(p11kms_client_find_slot(mod, "t", &a, &err) == 1, "%s", err.msg);
    ck_assert_int_eq(p11kms_client_find_slot(mod, NULL, &b, &err), 1);
    ck_assert_uint_eq(a, b);
    b = 999;
    ck_assert_int_eq(
        p11kms_client_find_slot(mod, "pkcs11:token=t;manufacturer=SoftHSM%20project", &b, &err), 1);
    ck_assert_uint_eq(a, b);

    ck_assert_int_eq(p11kms_client_find_slot(mod, "nope", &b, &err), 0);
    snprintf(want, sizeof(want), "%s: no token labelled 'nope'", SOFTHSM_MODULE);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(p11kms_client_find_slot(mod, "pkcs11:token=t;model=other", &b, &err), 0);
    snprintf(want, sizeof(want), "%s: no token matches the URI", SOFTHSM_MODULE);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(p11kms_client_find_slot(mod, "pkcs11:token=t;bogus=1", &b, &err), 0);
    ck_assert_str_eq(err.msg, "pkcs11: URI: unknown path attribute 'bogus'");
    p11kms_client_module_unload(mod);

    /* Two tokens: naming none is ambiguous, a label picks one. */
    init_token("u");
    mod = load();
    ck_assert_int_eq(p11kms_client_find_slot(mod, NULL, &b, &err), 0);
    snprintf(want, sizeof(want), "%s: 2 tokens present; name one by its label or a pkcs11: URI",
             SOFTHSM_MODULE);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(p11kms_client_find_slot(mod, "u", &b, &err), 1);
    ck_assert_int_eq(p11kms_client_find_slot(mod, "t", &a, &err), 1);
    ck_assert_uint_ne(a, b);
    p11kms_client_module_unload(mod);
}
END_TEST

static CK_STATE session_state(p11kms_client_module *mod, CK_SESSION_HANDLE s)
{
    CK_SESSION_INFO info;

    ck_assert_int_eq(p11kms_client_module_functions(mod)->C_GetSessionInfo(s, &info), CKR_OK);
    return info.state;
}

START_TEST(test_session_login)
{
    p11kms_client_module *mod = load();
    p11kms_client_err err = {"", 0};
    CK_SESSION_HANDLE s;
    CK_SLOT_ID slot;

    ck_assert_int_eq(p11kms_client_find_slot(mod, "t", &slot, &err), 1);
    ck_assert_int_eq(p11kms_client_session_open(mod, slot, 1, &s, &err), 1);
    ck_assert_uint_eq(session_state(mod, s), CKS_RW_PUBLIC_SESSION);

    /* A wrong PIN: the module's answer, by name, and its CK_RV. */
    setenv("P11KMS_TEST_PIN", "00000000", 1);
    ck_assert_int_eq(p11kms_client_login(mod, s, CKU_USER, "env:P11KMS_TEST_PIN", &err), 0);
    ck_assert_uint_eq(err.rv, CKR_PIN_INCORRECT);
    ck_assert_ptr_nonnull(strstr(err.msg, "user login failed: CKR_PIN_INCORRECT (wrong PIN)"));
    ck_assert_ptr_null(strstr(err.msg, "00000000"));

    /* A PIN-source error stops before the module is asked. */
    ck_assert_int_eq(p11kms_client_login(mod, s, CKU_USER, "env:P11KMS_UNSET_PIN", &err), 0);
    ck_assert_str_eq(err.msg, "env:P11KMS_UNSET_PIN: the environment variable is not set");
    ck_assert_uint_eq(err.rv, 0);

    ck_assert_msg(p11kms_client_login(mod, s, CKU_USER, pinfile_spec, &err) == 1, "%s", err.msg);
    ck_assert_uint_eq(session_state(mod, s), CKS_RW_USER_FUNCTIONS);
    /* Logging in again is not an error. */
    ck_assert_int_eq(p11kms_client_login(mod, s, CKU_USER, pinfile_spec, &err), 1);

    /* A read-only session shares the login state. */
    CK_SESSION_HANDLE ro;
    ck_assert_int_eq(p11kms_client_session_open(mod, slot, 0, &ro, &err), 1);
    ck_assert_uint_eq(session_state(mod, ro), CKS_RO_USER_FUNCTIONS);
    p11kms_client_session_close(mod, ro);
    p11kms_client_session_close(mod, s);

    ck_assert_int_eq(p11kms_client_session_open(mod, 4242, 0, &s, &err), 0);
    ck_assert_uint_eq(err.rv, CKR_SLOT_ID_INVALID);
    p11kms_client_module_unload(mod);
}
END_TEST

START_TEST(test_shared_initialization)
{
    p11kms_client_module *first = load(), *second = load();
    p11kms_client_err err = {"", 0};
    CK_SLOT_ID slot;

    /* The second handle found the module initialised: unloading it must not finalise
     * the module under the first user. */
    p11kms_client_module_unload(second);
    ck_assert_msg(p11kms_client_find_slot(first, "t", &slot, &err) == 1, "%s", err.msg);
    p11kms_client_module_unload(first);

    /* And a fresh load after a full unload works. */
    first = load();
    ck_assert_int_eq(p11kms_client_find_slot(first, "t", &slot, &err), 1);
    p11kms_client_module_unload(first);
}
END_TEST

START_TEST(test_after_fork)
{
    p11kms_client_module *mod = load();
    p11kms_client_err err = {"", 0};
    CK_SESSION_HANDLE s;
    CK_SLOT_ID slot;
    int status = 0;
    pid_t pid;

    ck_assert_int_eq(p11kms_client_module_after_fork(mod, &err), 1); /* same process: no-op */
    ck_assert_int_eq(p11kms_client_find_slot(mod, "t", &slot, &err), 1);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        int ok = p11kms_client_module_after_fork(mod, &err) &&
                 p11kms_client_session_open(mod, slot, 0, &s, &err) &&
                 p11kms_client_login(mod, s, CKU_USER, pinfile_spec, &err);
        if (!ok)
            fprintf(stderr, "child: %s\n", err.msg);
        p11kms_client_module_unload(mod);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WIFEXITED(status) && WEXITSTATUS(status) == 0, 1);
    /* The parent's module is untouched. */
    ck_assert_int_eq(p11kms_client_session_open(mod, slot, 0, &s, &err), 1);
    p11kms_client_session_close(mod, s);
    p11kms_client_module_unload(mod);
}
END_TEST

/* p11-kit-client.so from the p11-kit-1 package's module directory. */
static void p11kit_client_path(char *buf, size_t n)
{
    FILE *p = popen("pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null", "r");
    char dir[PATH_MAX] = "";

    if (p != NULL) {
        if (fgets(dir, sizeof(dir), p) == NULL)
            dir[0] = '\0';
        pclose(p);
    }
    dir[strcspn(dir, "\n")] = '\0';
    if (dir[0] == '\0')
        snprintf(dir, sizeof(dir), "/usr/lib/x86_64-linux-gnu/pkcs11");
    snprintf(buf, n, "%s/p11-kit-client.so", dir);
}

/*
 * Isolated mode in miniature: SoftHSM served by `p11-kit server`, reached
 * through p11-kit-client.so.  The same client calls must work unchanged.
 */
START_TEST(test_through_p11kit_client)
{
    char client[PATH_MAX + 32], sock[PATH_MAX], addr[PATH_MAX + 16];
    p11kms_client_module *mod = NULL;
    p11kms_client_err err = {"", 0};
    CK_SESSION_HANDLE s;
    CK_SLOT_ID slot;
    int status, tries;
    pid_t server;

    p11kit_client_path(client, sizeof(client));
    ck_assert_msg(access(client, R_OK) == 0, "%s missing: apt-get install p11-kit-modules", client);
    snprintf(sock, sizeof(sock), "%s/p11kit.sock", tmpdir);
    server = fork();
    ck_assert_int_ne(server, -1);
    if (server == 0) {
        /* Dies with the test process even when an assertion ends it early. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execlp("p11-kit", "p11-kit", "server", "-f", "-t", "60", "-n", sock, "--provider",
               SOFTHSM_MODULE, "pkcs11:token=t", (char *)NULL);
        _exit(127);
    }
    for (tries = 0; tries < 100 && access(sock, F_OK) != 0; tries++)
        usleep(50 * 1000);
    ck_assert_msg(access(sock, F_OK) == 0, "p11-kit server did not create %s", sock);
    snprintf(addr, sizeof(addr), "unix:path=%s", sock);
    setenv("P11_KIT_SERVER_ADDRESS", addr, 1);

    ck_assert_msg(p11kms_client_module_load(client, &mod, &err) == 1, "%s", err.msg);
    ck_assert_msg(p11kms_client_find_slot(mod, "pkcs11:token=t", &slot, &err) == 1, "%s", err.msg);
    ck_assert_int_eq(p11kms_client_session_open(mod, slot, 1, &s, &err), 1);
    ck_assert_msg(p11kms_client_login(mod, s, CKU_USER, pinfile_spec, &err) == 1, "%s", err.msg);
    ck_assert_uint_eq(session_state(mod, s), CKS_RW_USER_FUNCTIONS);
    p11kms_client_session_close(mod, s);
    p11kms_client_module_unload(mod);

    ck_assert_int_eq(kill(server, SIGTERM), 0);
    ck_assert_int_eq(waitpid(server, &status, 0), server);
}
END_TEST

static Suite *module_suite(void)
{
    Suite *s = suite_create("module");
    TCase *tc = tcase_create("softhsm");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_load_paths);
    tcase_add_test(tc, test_find_slot);
    tcase_add_test(tc, test_session_login);
    tcase_add_test(tc, test_shared_initialization);
    tcase_add_test(tc, test_after_fork);
    tcase_add_test(tc, test_through_p11kit_client);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(module_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
