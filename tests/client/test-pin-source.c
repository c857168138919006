/*
 * tests/client/test-pin-source.c — PIN sources (client/pin-source.h and the
 * shared syntax parser store/config-pinsrc.h).
 *
 * The file rules are the security of unattended unlock, so each refusal is
 * checked with its message: group/other permissions, another owner, not a
 * regular file (a FIFO must not hang), too long, empty.  The no-echo prompt
 * needs a terminal; what is tested is the refusal without one (setsid()
 * drops the controlling terminal, so /dev/tty cannot be opened).
 */
#include "config.h"

#include "client/pin-source.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p11kms-test-pin-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    unsetenv("CREDENTIALS_DIRECTORY");
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes a file of len bytes with the given mode; returns its path in a static buffer. */
static const char *secret_file(const char *name, const char *data, size_t len, mode_t mode)
{
    static char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

static void expect_pin(const char *spec, const char *want)
{
    p11kms_client_pin pin = {NULL, 0, 0};
    p11kms_client_err err = {"", 0};

    ck_assert_msg(p11kms_client_pin_read(spec, NULL, &pin, &err) == 1, "%s: %s", spec, err.msg);
    ck_assert_ptr_nonnull(pin.data);
    ck_assert_uint_eq(pin.len, strlen(want));
    ck_assert_mem_eq(pin.data, want, pin.len);
    ck_assert_int_eq(pin.data[pin.len], '\0');
    p11kms_client_pin_free(&pin);
    ck_assert_ptr_null(pin.data);
    ck_assert_uint_eq(pin.len, 0);
    p11kms_client_pin_free(&pin); /* twice is harmless */
}

static void expect_error(const char *spec, const char *want)
{
    p11kms_client_pin pin = {NULL, 0, 0};
    p11kms_client_err err = {"", 0};

    ck_assert_int_eq(p11kms_client_pin_read(spec, NULL, &pin, &err), 0);
    ck_assert_ptr_null(pin.data);
    ck_assert_str_eq(err.msg, want);
}

static void spec_for(char *spec, size_t n, const char *path)
{
    ck_assert_int_lt(snprintf(spec, n, "file:%s", path), (int)n);
}

START_TEST(test_file_good)
{
    char spec[PATH_MAX + 8];

    spec_for(spec, sizeof(spec), secret_file("a", "s3cret-pin\n", 11, 0600));
    expect_pin(spec, "s3cret-pin");
    spec_for(spec, sizeof(spec), secret_file("b", "no-newline", 10, 0400));
    expect_pin(spec, "no-newline");
    /* Only one newline is stripped; CR LF counts as one. */
    spec_for(spec, sizeof(spec), secret_file("c", "pin\n\n", 5, 0600));
    expect_pin(spec, "pin\n");
    spec_for(spec, sizeof(spec), secret_file("d", "pin\r\n", 5, 0600));
    expect_pin(spec, "pin");
    spec_for(spec, sizeof(spec), secret_file("e", " spaced pin ", 12, 0600));
    expect_pin(spec, " spaced pin ");
}
END_TEST

START_TEST(test_file_mode)
{
    char spec[PATH_MAX + 8], want[PATH_MAX + 128];
    const char *path = secret_file("open", "12345678\n", 9, 0644);

    spec_for(spec, sizeof(spec), path);
    snprintf(want, sizeof(want),
             "%s: mode 0644 lets other users at it; it must be 0600 or stricter (chmod 600)", spec);
    expect_error(spec, want);
    ck_assert_int_eq(chmod(path, 0640), 0);
    snprintf(want, sizeof(want),
             "%s: mode 0640 lets other users at it; it must be 0600 or stricter (chmod 600)", spec);
    expect_error(spec, want);
    ck_assert_int_eq(chmod(path, 0604), 0);
    snprintf(want, sizeof(want),
             "%s: mode 0604 lets other users at it; it must be 0600 or stricter (chmod 600)", spec);
    expect_error(spec, want);
}
END_TEST

START_TEST(test_file_owner)
{
    char spec[PATH_MAX + 8], want[PATH_MAX + 128];
    const char *path;

    if (geteuid() == 0) {
        path = secret_file("theirs", "12345678\n", 9, 0600);
        ck_assert_int_eq(chown(path, 65534, (gid_t)-1), 0);
    } else {
        path = "/etc/passwd"; /* root's, and we are not root */
    }
    spec_for(spec, sizeof(spec), path);
    snprintf(want, sizeof(want), "%s: owned by uid %u, not by the caller (uid %u)", spec,
             geteuid() == 0 ? 65534u : 0u, (unsigned)geteuid());
    expect_error(spec, want);
}
END_TEST

START_TEST(test_file_other_errors)
{
    char spec[PATH_MAX + 8], want[PATH_MAX + 128], path[PATH_MAX], big[400];

    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    spec_for(spec, sizeof(spec), path);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", spec);
    expect_error(spec, want);

    spec_for(spec, sizeof(spec), tmpdir);
    snprintf(want, sizeof(want), "%s: not a regular file", spec);
    expect_error(spec, want);

    /* A FIFO: refused at once, never waited on. */
    snprintf(path, sizeof(path), "%s/fifo", tmpdir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    spec_for(spec, sizeof(spec), path);
    snprintf(want, sizeof(want), "%s: not a regular file", spec);
    expect_error(spec, want);

    spec_for(spec, sizeof(spec), secret_file("empty", "\n", 1, 0600));
    snprintf(want, sizeof(want), "%s: the PIN is empty", spec);
    expect_error(spec, want);

    memset(big, 'x', sizeof(big));
    spec_for(spec, sizeof(spec), secret_file("big", big, 257, 0600));
    snprintf(want, sizeof(want), "%s: the PIN is longer than 256 bytes", spec);
    expect_error(spec, want);
    /* 256 bytes plus a newline is the longest accepted. */
    big[256] = '\n';
    spec_for(spec, sizeof(spec), secret_file("max", big, 257, 0600));
    big[256] = '\0';
    expect_pin(spec, big);

    spec_for(spec, sizeof(spec), secret_file("nul", "ab\0cd", 5, 0600));
    snprintf(want, sizeof(want), "%s: the PIN contains a NUL byte", spec);
    expect_error(spec, want);
}
END_TEST

START_TEST(test_env)
{
    unsetenv("P11KMS_PIN");
    ck_assert_str_eq(p11kms_client_pin_default_spec(), "prompt");
    setenv("P11KMS_PIN", "x", 1);
    ck_assert_str_eq(p11kms_client_pin_default_spec(), "env:P11KMS_PIN");
    setenv("P11KMS_TEST_PIN", "env-pin-1234", 1);
    expect_pin("env:P11KMS_TEST_PIN", "env-pin-1234");
    unsetenv("P11KMS_TEST_PIN");
    expect_error("env:P11KMS_TEST_PIN", "env:P11KMS_TEST_PIN: the environment variable is not set");
    setenv("P11KMS_TEST_PIN", "", 1);
    expect_error("env:P11KMS_TEST_PIN", "env:P11KMS_TEST_PIN: the environment variable is empty");
    expect_error("env:", "env: missing NAME");
    expect_error("env:A-B", "env: 'A-B' is not a variable name (letters, digits and '_', not "
                            "starting with a digit)");
}
END_TEST

START_TEST(test_credential)
{
    char want[PATH_MAX + 128];

    expect_error("credential:pin",
                 "credential:pin: $CREDENTIALS_DIRECTORY is not set (start the program from a "
                 "systemd unit with LoadCredential= or SetCredential=)");
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    secret_file("pin", "cred-pin-5678\n", 14, 0400);
    expect_pin("credential:pin", "cred-pin-5678");
    secret_file("loose", "cred-pin-5678\n", 14, 0644);
    expect_error("credential:loose", "credential:loose: mode 0644 lets other users at it; it "
                                     "must be 0600 or stricter (chmod 600)");
    expect_error("credential:absent", "credential:absent: cannot open: No such file or directory");
    snprintf(want, sizeof(want),
             "credential: '../x' is not a credential name (a file name without '/')");
    expect_error("credential:../x", want);
}
END_TEST

START_TEST(test_prompt_without_tty)
{
    static const char want[] = "prompt: no terminal to ask for the PIN on (use file:, env: or "
                               "credential:)";
    p11kms_client_pin pin = {NULL, 0, 0};
    p11kms_client_err err = {"", 0};
    int status = 0, fds[2];
    char got[sizeof(err.msg)] = "";
    pid_t pid;

    /* A new session has no controlling terminal: /dev/tty cannot be opened.  Check runs
     * each test as a process-group leader, which cannot setsid(): fork once more. */
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        if (setsid() == -1)
            _exit(2);
        if (p11kms_client_pin_read("prompt", NULL, &pin, &err) != 0)
            _exit(3);
        if (write(fds[1], err.msg, strlen(err.msg) + 1) < 0)
            _exit(4);
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_gt(read(fds[0], got, sizeof(got) - 1), 0);
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WIFEXITED(status) && WEXITSTATUS(status) == 0, 1);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_syntax)
{
    p11kms_client_pin pin = {NULL, 0, 0};
    p11kms_client_err err = {"", 0};
    p11kms_pinsrc src;
    char msg[256];

    /* A PIN typed where a PIN source belongs is refused and never echoed. */
    expect_error("12345678", "unknown PIN source (expected file:PATH, env:NAME, credential:NAME "
                             "or prompt)");
    expect_error("", "empty PIN source (expected file:PATH, env:NAME, credential:NAME or prompt)");
    expect_error("file:", "file: missing PATH");
    expect_error("Prompt", "unknown PIN source (expected file:PATH, env:NAME, credential:NAME "
                           "or prompt)");
    expect_error("keyfile:/etc/key",
                 "keyfile: is accepted only as a token's unlock setting in the configuration "
                 "(expected file:PATH, env:NAME, credential:NAME or prompt)");
    ck_assert_int_eq(p11kms_client_pin_read(NULL, NULL, &pin, &err), 0);
    /* err may be NULL when the caller does not want the message. */
    ck_assert_int_eq(p11kms_client_pin_read("env:P11KMS_UNSET_VAR", NULL, &pin, NULL), 0);
    ck_assert_int_eq(p11kms_client_pin_read("bad", NULL, &pin, NULL), 0);

    ck_assert_int_eq(p11kms_pinsrc_parse("keyfile:/etc/key", 1, &src, msg, sizeof(msg)), 1);
    ck_assert_int_eq(src.kind, P11KMS_PINSRC_KEYFILE);
    ck_assert_str_eq(src.arg, "/etc/key");
    ck_assert_int_eq(p11kms_client_pin_read_source(&src, NULL, &pin, &err), 0);
    ck_assert_str_eq(err.msg, "keyfile: names a service key file, not a PIN");
    ck_assert_int_eq(p11kms_pinsrc_parse("prompt", 0, &src, msg, sizeof(msg)), 1);
    ck_assert_int_eq(src.kind, P11KMS_PINSRC_PROMPT);
    ck_assert_ptr_null(src.arg);
    ck_assert_int_eq(p11kms_pinsrc_parse("file:a\tb", 0, &src, msg, sizeof(msg)), 0);
    ck_assert_str_eq(msg, "file: contains a control character");
}
END_TEST

/*
 * The prompt on a real pseudo-terminal: the child makes the pty its
 * controlling terminal and reads a PIN; the parent types it.  The PIN must
 * not be echoed, must arrive intact, and echo must be back on afterwards.
 */
START_TEST(test_prompt_on_pty)
{
    p11kms_client_pin pin = {NULL, 0, 0};
    p11kms_client_err err = {"", 0};
    char screen[512] = "", *name;
    struct termios t;
    size_t got = 0;
    ssize_t n;
    int master, slave, status = 0;
    pid_t pid;

    master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    name = ptsname(master);
    ck_assert_ptr_nonnull(name);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        if (setsid() == -1 || (slave = open(name, O_RDWR)) < 0 || ioctl(slave, TIOCSCTTY, 0) != 0)
            _exit(2);
        if (p11kms_client_pin_read("prompt", "Token PIN: ", &pin, &err) != 1)
            _exit(3);
        if (pin.len != 9 || memcmp(pin.data, "typed-pin", 9) != 0)
            _exit(4);
        if (tcgetattr(slave, &t) != 0 || !(t.c_lflag & ECHO))
            _exit(5); /* echo not restored */
        p11kms_client_pin_free(&pin);
        _exit(0);
    }
    /* Wait for the prompt (echo is off once it is shown), then type. */
    while (strstr(screen, "Token PIN: ") == NULL && got < sizeof(screen) - 1) {
        n = read(master, screen + got, sizeof(screen) - 1 - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
        screen[got] = '\0';
    }
    ck_assert_int_eq(write(master, "typed-pin\n", 10), 10);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    /* Everything the terminal showed after the prompt: no PIN in it. */
    n = read(master, screen + got, sizeof(screen) - 1 - got);
    if (n > 0)
        screen[got + (size_t)n] = '\0';
    ck_assert_ptr_null(strstr(screen, "typed-pin"));
    close(master);
}
END_TEST

static Suite *pin_suite(void)
{
    Suite *s = suite_create("pin-source");
    TCase *tc = tcase_create("pin-source");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_file_good);
    tcase_add_test(tc, test_file_mode);
    tcase_add_test(tc, test_file_owner);
    tcase_add_test(tc, test_file_other_errors);
    tcase_add_test(tc, test_env);
    tcase_add_test(tc, test_credential);
    tcase_add_test(tc, test_prompt_without_tty);
    tcase_add_test(tc, test_prompt_on_pty);
    tcase_add_test(tc, test_syntax);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pin_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
