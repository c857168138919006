/*
 * bench/bench-connect.c — what isolated mode costs (issue 16, point 3).
 *
 * In isolated mode every client connection to `p11-kit server` is a new
 * p11-kit-remote process that loads the module, reads its configuration,
 * opens the store and unlocks the token from the service's credential.
 * This program measures, against a private temporary token:
 *
 *   connect  C_Initialize + C_OpenSession + a first operation (an envelope
 *            Encrypt through a CKO_P11KMS_OPERATION object) + C_Finalize,
 *            through p11-kit-client.so (served, self-unlocked) and
 *            in-process (the module loaded directly, C_Login with the PIN);
 *   op       the same Encrypt on an open session, through the client and
 *            in-process,
 *
 * and prints the means and the client/in-process ratios.  It starts its own
 * `p11-kit server` (as the calling user) and stops it at exit.  Usage:
 *   bench-connect [-m MODULE] [-c CLIENT] [-n CONNECTS] [-o OPS]
 * MODULE defaults to $P11KMS_TEST_MODULE, else pkcs11/.libs/p11kms-pkcs11.so
 * (run from the build directory, as `make bench` does).  Not part of
 * `make check`: performance is measured, not asserted.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "p11kms/pkcs11.h"

#define LABEL          "bench-connect"
#define SO_PIN         "bench-so-pin-0000"
#define USER_PIN       "bench-user-pin-0000"
#define DEFAULT_CLIENT "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"

typedef struct bench {
    char module[PATH_MAX];
    const char *client;
    char dir[64];
    char admin_conf[PATH_MAX], served_conf[PATH_MAX], sock[PATH_MAX];
    char key_id[64];
    int connects, ops;
    pid_t server;
} bench;

typedef struct lib {
    void *dl;
    CK_FUNCTION_LIST_PTR fn;
} lib;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int check(CK_RV rv, const char *what)
{
    if (rv != CKR_OK)
        fprintf(stderr, "bench-connect: %s: CKR 0x%lx\n", what, (unsigned long)rv);
    return rv == CKR_OK;
}

static int lib_open(const char *path, lib *out)
{
    CK_C_GetFunctionList get;
    out->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (out->dl == NULL) {
        fprintf(stderr, "bench-connect: %s\n", dlerror());
        return 0;
    }
    *(void **)&get = dlsym(out->dl, "C_GetFunctionList");
    return get != NULL && check(get(&out->fn), "C_GetFunctionList");
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fputs(text, f) >= 0;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok && chmod(path, mode) == 0;
}

/* Two configurations over one store: in-process (PIN login) and served
 * (unlock from a 0600 PIN file, identity from the server socket). */
static int write_configs(bench *b)
{
    char text[3 * PATH_MAX], pin[PATH_MAX];
    snprintf(pin, sizeof(pin), "%s/pin", b->dir);
    snprintf(b->admin_conf, sizeof(b->admin_conf), "%s/admin.conf", b->dir);
    snprintf(b->served_conf, sizeof(b->served_conf), "%s/served.conf", b->dir);
    snprintf(b->sock, sizeof(b->sock), "%s/pkcs11.sock", b->dir);
    snprintf(text, sizeof(text), "[token]\nstore = %s/store.db\nlabel = " LABEL "\nkdf = 10\n",
             b->dir);
    if (!write_file(pin, USER_PIN "\n", 0600) || !write_file(b->admin_conf, text, 0600))
        return 0;
    snprintf(text, sizeof(text),
             "[token]\nstore = %s/store.db\nlabel = " LABEL "\nkdf = 10\nunlock = file:%s\n"
             "[access]\nserved = p11-kit:%s\n",
             b->dir, pin, b->sock);
    return write_file(b->served_conf, text, 0600);
}

static int first_slot(CK_FUNCTION_LIST_PTR fn, CK_SLOT_ID *slot)
{
    CK_ULONG n = 1;
    return check(fn->C_GetSlotList(CK_TRUE, slot, &n), "C_GetSlotList") && n >= 1;
}

/* One KMS Encrypt through an operation object: the route that crosses p11-kit's RPC. */
static int encrypt_once(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE s, const char *key_id)
{
    static const char name[] = "Encrypt";
    unsigned char plain[32] = "bench-connect plaintext 32 bytes";
    CK_OBJECT_CLASS cls = CKO_P11KMS_OPERATION;
    CK_BBOOL no = CK_FALSE;
    CK_ULONG code = ~0UL;
    CK_OBJECT_HANDLE op;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_P11KMS_OP_NAME, (void *)name, sizeof(name) - 1},
        {CKA_P11KMS_OP_KEY, (void *)key_id, strlen(key_id)},
        {CKA_P11KMS_OP_PLAINTEXT, plain, sizeof(plain)},
    };
    CK_ATTRIBUTE r = {CKA_P11KMS_OP_RESULT_CODE, &code, sizeof(code)};
    int ok = check(fn->C_CreateObject(s, t, 5, &op), "C_CreateObject(Encrypt)");
    if (ok) {
        ok = check(fn->C_GetAttributeValue(s, op, &r, 1), "result code") && code == CKR_OK;
        fn->C_DestroyObject(s, op);
    }
    if (!ok)
        fprintf(stderr, "bench-connect: Encrypt failed (result 0x%lx)\n", (unsigned long)code);
    return ok;
}

/* In-process set-up: token, user PIN, one symmetric CMK (its KMS key id kept). */
static int make_token(bench *b, CK_FUNCTION_LIST_PTR fn)
{
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_UTF8CHAR label[32];
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE kt[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                         {CKA_ENCRYPT, &yes, sizeof(yes)},
                         {CKA_DECRYPT, &yes, sizeof(yes)},
                         {CKA_VALUE_LEN, &len, sizeof(len)}};
    CK_OBJECT_HANDLE key;
    CK_ATTRIBUTE id = {CKA_P11KMS_KEY_ID, b->key_id, sizeof(b->key_id) - 1};
    memset(label, ' ', sizeof(label));
    memcpy(label, LABEL, strlen(LABEL));
    int ok = first_slot(fn, &slot) &&
             check(fn->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label),
                   "C_InitToken") &&
             check(fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
                   "C_OpenSession");
    ok = ok && check(fn->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN)), "SO login") &&
         check(fn->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)), "C_InitPIN") &&
         check(fn->C_Logout(s), "C_Logout") &&
         check(fn->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)), "login") &&
         check(fn->C_GenerateKey(s, &mech, kt, 4, &key), "C_GenerateKey") &&
         check(fn->C_GetAttributeValue(s, key, &id, 1), "CKA_P11KMS_KEY_ID");
    if (ok)
        b->key_id[id.ulValueLen] = '\0';
    return ok;
}

static CK_RV open_user(CK_FUNCTION_LIST_PTR fn, int login, CK_SESSION_HANDLE *s)
{
    CK_SLOT_ID slot;
    CK_RV rv = first_slot(fn, &slot) ? CKR_OK : CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
    if (rv == CKR_OK && login)
        rv = fn->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
    return rv;
}

/* Phases of a connection, mean µs each: C_Initialize, session (+ login
 * in-process), first Encrypt, C_Finalize.  Returns the total or -1. */
static double time_connects(const bench *b, CK_FUNCTION_LIST_PTR fn, int login, double ph[4])
{
    CK_SESSION_HANDLE s;
    double t[5];
    memset(ph, 0, 4 * sizeof(double));
    for (int i = 0; i < b->connects; i++) {
        t[0] = now_us();
        if (!check(fn->C_Initialize(NULL), "C_Initialize"))
            return -1;
        t[1] = now_us();
        if (!check(open_user(fn, login, &s), "open session"))
            return -1;
        t[2] = now_us();
        if (!encrypt_once(fn, s, b->key_id))
            return -1;
        t[3] = now_us();
        fn->C_Finalize(NULL);
        t[4] = now_us();
        for (int k = 0; k < 4; k++)
            ph[k] += (t[k + 1] - t[k]) / b->connects;
    }
    return ph[0] + ph[1] + ph[2] + ph[3];
}

/* Mean µs of one Encrypt on an open, logged-in session. */
static double time_ops(const bench *b, CK_FUNCTION_LIST_PTR fn, int login)
{
    CK_SESSION_HANDLE s;
    double t0, us = -1;
    if (!check(fn->C_Initialize(NULL), "C_Initialize") || !check(open_user(fn, login, &s), "open"))
        return -1;
    if (!encrypt_once(fn, s, b->key_id)) /* warm the key cache */
        goto done;
    t0 = now_us();
    for (int i = 0; i < b->ops; i++) {
        if (!encrypt_once(fn, s, b->key_id))
            goto done;
    }
    us = (now_us() - t0) / b->ops;
done:
    fn->C_Finalize(NULL);
    return us;
}

static int start_server(bench *b)
{
    struct stat st;
    b->server = fork();
    if (b->server == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO); /* it prints its address even with -f */
        setenv("P11KMS_CONF", b->served_conf, 1);
        execlp("p11-kit", "p11-kit", "server", "-f", "--provider", b->module, "-n", b->sock,
               "pkcs11:token=" LABEL, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; b->server > 0 && i < 100; i++) { /* at most 10 s */
        if (stat(b->sock, &st) == 0 && S_ISSOCK(st.st_mode))
            return 1;
        usleep(100000);
    }
    fprintf(stderr, "bench-connect: p11-kit server did not start on %s\n", b->sock);
    return 0;
}

static void stop_server(bench *b)
{
    if (b->server <= 0)
        return;
    kill(b->server, SIGTERM);
    waitpid(b->server, NULL, 0);
    b->server = 0;
}

static int parse_args(bench *b, int argc, char **argv)
{
    const char *m = getenv("P11KMS_TEST_MODULE");
    int c;
    b->client = DEFAULT_CLIENT;
    b->connects = 50;
    b->ops = 500;
    if (m == NULL)
        m = "pkcs11/.libs/p11kms-pkcs11.so";
    while ((c = getopt(argc, argv, "m:c:n:o:")) != -1) {
        if (c == 'm')
            m = optarg;
        else if (c == 'c')
            b->client = optarg;
        else if (c == 'n')
            b->connects = atoi(optarg);
        else if (c == 'o')
            b->ops = atoi(optarg);
        else
            return 0;
    }
    if (realpath(m, b->module) == NULL) {
        fprintf(stderr, "bench-connect: module %s: %s\n", m, strerror(errno));
        return 0;
    }
    return b->connects > 0 && b->ops > 0;
}

static void report(const char *what, double client, double inproc)
{
    printf("%-40s %12.1f %12.1f %8.1fx\n", what, client, inproc, client / inproc);
}

int main(int argc, char **argv)
{
    bench b;
    lib mod, cli;
    double cc, ci, oc, oi, pc[4], pi[4];
    int rc = 1;
    memset(&b, 0, sizeof(b));
    if (!parse_args(&b, argc, argv)) {
        fprintf(stderr, "usage: bench-connect [-m MODULE] [-c CLIENT] [-n CONNECTS] [-o OPS]\n");
        return 2;
    }
    if (access(b.client, R_OK) != 0) {
        printf("bench-connect: %s not installed, skipped\n", b.client);
        return 0;
    }
    snprintf(b.dir, sizeof(b.dir), "%s", "/tmp/p11kms-bench-connect.XXXXXX");
    if (mkdtemp(b.dir) == NULL || !write_configs(&b))
        goto done;
    setenv("P11KMS_CONF", b.admin_conf, 1);
    if (!lib_open(b.module, &mod) || !check(mod.fn->C_Initialize(NULL), "C_Initialize") ||
        !make_token(&b, mod.fn))
        goto done;
    mod.fn->C_Finalize(NULL);
    if (!start_server(&b))
        goto done;
    char addr[PATH_MAX + 16];
    snprintf(addr, sizeof(addr), "unix:path=%s", b.sock);
    setenv("P11_KIT_SERVER_ADDRESS", addr, 1);
    if (!lib_open(b.client, &cli))
        goto done;
    cc = time_connects(&b, cli.fn, 0, pc);
    ci = time_connects(&b, mod.fn, 1, pi);
    oc = time_ops(&b, cli.fn, 0);
    oi = time_ops(&b, mod.fn, 1);
    if (cc < 0 || ci < 0 || oc < 0 || oi < 0)
        goto done;
    printf("p11kms isolated mode (%d connects, %d ops; kdf 10, PIN-file unlock)\n", b.connects,
           b.ops);
    printf("%-40s %12s %12s %9s\n", "mean µs", "p11-kit", "in-process", "ratio");
    report("connect: init+session+Encrypt+finalize", cc, ci);
    report("  C_Initialize", pc[0], pi[0]);
    report("  C_OpenSession (+ C_Login in-process)", pc[1], pi[1]);
    report("  first Encrypt", pc[2], pi[2]);
    report("  C_Finalize", pc[3], pi[3]);
    report("Encrypt on an open session", oc, oi);
    printf("%-40s %12.0f %12.0f\n", "Encrypt ops/s (one session)", 1e6 / oc, 1e6 / oi);
    rc = 0;
done:
    stop_server(&b);
    if (b.dir[0] != '\0' && strchr(b.dir, 'X') == NULL) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench-connect: could not remove %s\n", b.dir);
    }
    return rc;
}
