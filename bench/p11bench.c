/*
 * bench/p11bench.c — side-by-side PKCS#11 benchmark (issue 15).
 *
 * Loads any PKCS#11 modules by path (p11kms-pkcs11.so and SoftHSMv2 by
 * default), gives each a fresh temporary token with token keys, and
 * measures operations per second over a fixed time per case, with 1, 2
 * and 4 threads (one session per thread).  Every case runs the modules
 * and the raw OpenSSL EVP cost of the same primitive back to back
 * (interleaved), so that the printed ratios stay meaningful on a machine
 * whose load changes while the benchmark runs.  C_Login is measured
 * separately: p11kms's PIN KDF is deliberately slow.
 *
 * Cases: AES-GCM encrypt (32 B, 4 KiB, 64 KiB), envelope Encrypt and
 * Decrypt of 4 KiB (p11kms only, through CKO_P11KMS_OPERATION objects,
 * the route that crosses p11-kit's RPC), data-key generate + wrap,
 * HMAC-SHA256, ECDSA P-256 and RSA-2048 signing, C_FindObjects of one
 * key among 10, 1,000 and 100,000.
 *
 * Results: a table on stdout, optionally JSON (--json) and a flat TSV
 * (--tsv) that bench/run.sh turns into plots.  Not part of `make check`.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "client/module.h"
#include "p11kms/pkcs11.h"

#define MAX_THREADS    16
#define MAX_FIND_SIZES 8
#define SO_PIN         "bench-so-pin-0000"
#define USER_PIN       "bench-user-pin-0000"
#define ENV_SIZE       4096
#define HMAC_MSG       256
#define SIGN_MSG       256

/* ------------------------------------------------------------------ */
/* Options and small utilities                                         */
/* ------------------------------------------------------------------ */

typedef struct options {
    const char *p11kms_path;  /* NULL = skip */
    const char *softhsm_path; /* NULL = skip */
    double seconds;           /* per case and implementation */
    int threads[4];
    int nthreads;
    unsigned long find_sizes[MAX_FIND_SIZES];
    int nfind;
    double setup_budget; /* seconds allowed to create find keys per module */
    const char *json_path, *tsv_path, *only;
    int quick;
} options;

static options g_opt;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("p11bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ */
/* Implementations under test                                          */
/* ------------------------------------------------------------------ */

enum { IMPL_P11KMS = 0, IMPL_SOFTHSM = 1, IMPL_RAW = 2, IMPL_COUNT = 3 };
static const char *const g_impl_names[IMPL_COUNT] = {"p11kms", "softhsm", "openssl"};

/* One PKCS#11 module with its temporary token and the keys the cases use. */
typedef struct module_ctx {
    int impl;
    const char *path;
    char dir[256];
    p11kms_client_module *mod;
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE main_session;
    CK_OBJECT_HANDLE aes, hmac, ec_priv, rsa_priv;
    char aes_key_id[64]; /* p11kms: the KMS key id of the AES CMK */
    unsigned char env_blob[ENV_SIZE + 512];
    size_t env_blob_len;
    unsigned long find_have; /* keys created for the find cases so far */
    double find_create_s;    /* time spent creating them */
    int find_exhausted;      /* the setup budget ran out */
} module_ctx;

/* Raw OpenSSL keys, in a private library context (default provider). */
typedef struct raw_ctx {
    OSSL_LIB_CTX *lib;
    EVP_CIPHER *gcm, *wrap;
    EVP_MAC *hmac;
    EVP_KDF *hkdf;
    EVP_PKEY *ec, *rsa;
    unsigned char aes_key[32], hmac_key[32];
} raw_ctx;

static raw_ctx g_raw;

/* Per-thread state handed to a case's op function. */
typedef struct worker {
    module_ctx *m; /* NULL for raw OpenSSL */
    CK_SESSION_HANDLE s;
    int id;
    uint64_t counter;
    unsigned char in[65536], out[65536 + 1024];
    size_t size;
    unsigned long find_target;
    EVP_CIPHER_CTX *cctx;
    EVP_MD_CTX *mdctx;
    EVP_MAC_CTX *mac;
    EVP_KDF_CTX *kdf;
    uint64_t ops;
    int failed;
    char err[160];
} worker;

typedef int (*op_fn)(worker *w);

typedef struct bench_case {
    const char *name;  /* stable key in JSON/TSV */
    const char *group; /* plot group */
    size_t size;       /* payload bytes (MB/s), 0 = none */
    op_fn p11;         /* module op, NULL = not measured on modules */
    int p11kms_only;   /* envelope route */
    op_fn raw;         /* raw OpenSSL op, NULL = none */
    unsigned long find;
} bench_case;

static int fail(worker *w, const char *what, CK_RV rv)
{
    snprintf(w->err, sizeof(w->err), "%s: CK_RV 0x%lx", what, (unsigned long)rv);
    w->failed = 1;
    return 0;
}

static int ossl_fail(worker *w, const char *what)
{
    snprintf(w->err, sizeof(w->err), "%s failed (OpenSSL)", what);
    w->failed = 1;
    return 0;
}

/* A fresh 96-bit IV per operation: GCM must never repeat one under a key. */
static void next_iv(worker *w, unsigned char iv[12])
{
    uint64_t c = ++w->counter;
    memset(iv, 0, 12);
    iv[0] = (unsigned char)w->id;
    iv[1] = (unsigned char)(w->m ? w->m->impl : IMPL_RAW);
    for (int i = 0; i < 8; i++)
        iv[4 + i] = (unsigned char)(c >> (8 * i));
}

/* ------------------------------------------------------------------ */
/* Module operations                                                   */
/* ------------------------------------------------------------------ */

static int p11_gcm(worker *w)
{
    unsigned char iv[12];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM mech = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG outlen = sizeof(w->out);
    CK_RV rv;
    next_iv(w, iv);
    rv = w->m->f->C_EncryptInit(w->s, &mech, w->m->aes);
    if (rv != CKR_OK)
        return fail(w, "C_EncryptInit(AES-GCM)", rv);
    rv = w->m->f->C_Encrypt(w->s, w->in, (CK_ULONG)w->size, w->out, &outlen);
    if (rv != CKR_OK)
        return fail(w, "C_Encrypt(AES-GCM)", rv);
    return outlen == w->size + 16 ? 1 : fail(w, "C_Encrypt length", CKR_GENERAL_ERROR);
}

static int p11_sign(worker *w, CK_MECHANISM_TYPE type, CK_OBJECT_HANDLE key, size_t msglen)
{
    CK_MECHANISM mech = {type, NULL, 0};
    CK_ULONG outlen = sizeof(w->out);
    CK_RV rv = w->m->f->C_SignInit(w->s, &mech, key);
    if (rv != CKR_OK)
        return fail(w, "C_SignInit", rv);
    rv = w->m->f->C_Sign(w->s, w->in, (CK_ULONG)msglen, w->out, &outlen);
    return rv == CKR_OK ? 1 : fail(w, "C_Sign", rv);
}

static int p11_hmac(worker *w)
{
    return p11_sign(w, CKM_SHA256_HMAC, w->m->hmac, HMAC_MSG);
}

/*
 * ECDSA over a SHA-256 digest computed by the caller (CKM_ECDSA): what
 * clients across p11-kit's RPC do, and what Debian's SoftHSMv2 offers.
 */
static int p11_ecdsa(worker *w)
{
    return p11_sign(w, CKM_ECDSA, w->m->ec_priv, 32);
}

static int p11_rsa(worker *w)
{
    return p11_sign(w, CKM_SHA256_RSA_PKCS, w->m->rsa_priv, SIGN_MSG);
}

/*
 * One KMS operation through a CKO_P11KMS_OPERATION object: create it
 * with its inputs, read the result code and one output, destroy it.  The
 * output buffer is large enough to read it in one C_GetAttributeValue.
 */
static int p11_oprequest(worker *w, const char *op, const CK_ATTRIBUTE *extra, CK_ULONG nextra,
                         CK_ATTRIBUTE_TYPE out_type, CK_ATTRIBUTE_TYPE out2_type)
{
    CK_OBJECT_CLASS cls = CKO_P11KMS_OPERATION;
    CK_ATTRIBUTE t[8] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_P11KMS_OP_NAME, (void *)op, strlen(op)},
        {CKA_P11KMS_OP_KEY, w->m->aes_key_id, strlen(w->m->aes_key_id)},
    };
    CK_ULONG n = 3, code = ~0UL;
    unsigned char out2[2048];
    CK_ATTRIBUTE get[3] = {
        {CKA_P11KMS_OP_RESULT_CODE, &code, sizeof(code)},
        {out_type, w->out, sizeof(w->out)},
        {out2_type, out2, sizeof(out2)},
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv;
    int ok = 0;
    for (CK_ULONG i = 0; i < nextra && n < 8; i++)
        t[n++] = extra[i];
    rv = w->m->f->C_CreateObject(w->s, t, n, &h);
    if (rv != CKR_OK)
        return fail(w, op, rv);
    rv = w->m->f->C_GetAttributeValue(w->s, h, get, out2_type ? 3 : 2);
    if (rv != CKR_OK)
        fail(w, "C_GetAttributeValue(operation result)", rv);
    else if (code != CKR_OK)
        fail(w, op, code);
    else
        ok = 1;
    rv = w->m->f->C_DestroyObject(w->s, h);
    if (ok && rv != CKR_OK)
        ok = fail(w, "C_DestroyObject(operation)", rv);
    if (ok)
        w->size = get[1].ulValueLen;
    OPENSSL_cleanse(out2, sizeof(out2));
    return ok;
}

static int p11_env_encrypt(worker *w)
{
    CK_ATTRIBUTE in = {CKA_P11KMS_OP_PLAINTEXT, w->in, ENV_SIZE};
    return p11_oprequest(w, "Encrypt", &in, 1, CKA_P11KMS_OP_RESULT_CIPHERTEXT, 0);
}

static int p11_env_decrypt(worker *w)
{
    CK_ATTRIBUTE in = {CKA_P11KMS_OP_CIPHERTEXT, w->m->env_blob, w->m->env_blob_len};
    int ok = p11_oprequest(w, "Decrypt", &in, 1, CKA_P11KMS_OP_RESULT_PLAINTEXT, 0);
    if (ok && (w->size != ENV_SIZE || memcmp(w->out, w->in, ENV_SIZE) != 0))
        ok = fail(w, "Decrypt round trip", CKR_GENERAL_ERROR);
    return ok;
}

/*
 * Data key generate + wrap.  p11kms: GenerateDataKey (the KMS call that
 * returns the key and its wrapped form in one audited operation).  Other
 * modules: an extractable AES-256 session key wrapped with RFC 5649
 * (CKM_AES_KEY_WRAP_PAD) under the token key, then destroyed.
 */
static int p11_datakey(worker *w)
{
    static const char req[] = "{\"KeySpec\":\"AES_256\"}";
    CK_ATTRIBUTE in = {CKA_P11KMS_OP_REQUEST, (void *)req, sizeof(req) - 1};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ULONG len = 32, outlen = sizeof(w->out);
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE_LEN, &len, sizeof(len)},   {CKA_TOKEN, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)}, {CKA_SENSITIVE, &yes, sizeof(yes)},
    };
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0}, wrap = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
    CK_RV rv;
    if (w->m->impl == IMPL_P11KMS)
        return p11_oprequest(w, "GenerateDataKey", &in, 1, CKA_P11KMS_OP_RESULT_PLAINTEXT,
                             CKA_P11KMS_OP_RESULT_CIPHERTEXT);
    rv = w->m->f->C_GenerateKey(w->s, &gen, t, sizeof(t) / sizeof(t[0]), &k);
    if (rv != CKR_OK)
        return fail(w, "C_GenerateKey(data key)", rv);
    rv = w->m->f->C_WrapKey(w->s, &wrap, w->m->aes, k, w->out, &outlen);
    w->m->f->C_DestroyObject(w->s, k);
    return rv == CKR_OK ? 1 : fail(w, "C_WrapKey(AES-KWP)", rv);
}

static int p11_find(worker *w)
{
    char label[32];
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, label, 0}};
    CK_OBJECT_HANDLE h[2];
    CK_ULONG found = 0;
    CK_RV rv;
    t[1].ulValueLen = (CK_ULONG)snprintf(label, sizeof(label), "find-%07lu", w->find_target);
    rv = w->m->f->C_FindObjectsInit(w->s, t, 2);
    if (rv != CKR_OK)
        return fail(w, "C_FindObjectsInit", rv);
    rv = w->m->f->C_FindObjects(w->s, h, 2, &found);
    w->m->f->C_FindObjectsFinal(w->s);
    if (rv != CKR_OK)
        return fail(w, "C_FindObjects", rv);
    return found == 1 ? 1 : fail(w, "C_FindObjects count != 1", CKR_GENERAL_ERROR);
}

/* ------------------------------------------------------------------ */
/* Raw OpenSSL operations (the floor a module builds on)               */
/* ------------------------------------------------------------------ */

static int raw_gcm_with_key(worker *w, const unsigned char *key, size_t len)
{
    unsigned char iv[12];
    int l1 = 0, l2 = 0;
    next_iv(w, iv);
    if (!EVP_EncryptInit_ex2(w->cctx, g_raw.gcm, key, iv, NULL) ||
        !EVP_EncryptUpdate(w->cctx, w->out, &l1, w->in, (int)len) ||
        !EVP_EncryptFinal_ex(w->cctx, w->out + l1, &l2) ||
        !EVP_CIPHER_CTX_ctrl(w->cctx, EVP_CTRL_AEAD_GET_TAG, 16, w->out + l1 + l2))
        return ossl_fail(w, "AES-GCM");
    return 1;
}

static int raw_gcm(worker *w)
{
    return raw_gcm_with_key(w, g_raw.aes_key, w->size);
}

/* The envelope's primitive cost: HKDF-SHA256 per message, then AES-GCM. */
static int raw_envelope(worker *w)
{
    unsigned char salt[32], dk[32];
    size_t dklen = sizeof(dk);
    OSSL_PARAM p[4];
    int ok;
    if (RAND_bytes_ex(g_raw.lib, salt, sizeof(salt), 0) != 1)
        return ossl_fail(w, "RAND_bytes_ex");
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, g_raw.aes_key, 32);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt));
    p[3] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(w->kdf, dk, dklen, p) != 1)
        return ossl_fail(w, "HKDF");
    ok = raw_gcm_with_key(w, dk, ENV_SIZE);
    OPENSSL_cleanse(dk, sizeof(dk));
    return ok;
}

static int raw_datakey(worker *w)
{
    unsigned char dk[32];
    int l1 = 0, l2 = 0, ok = 1;
    if (RAND_bytes_ex(g_raw.lib, dk, sizeof(dk), 0) != 1)
        return ossl_fail(w, "RAND_bytes_ex");
    if (!EVP_EncryptInit_ex2(w->cctx, g_raw.wrap, g_raw.aes_key, NULL, NULL) ||
        !EVP_EncryptUpdate(w->cctx, w->out, &l1, dk, sizeof(dk)) ||
        !EVP_EncryptFinal_ex(w->cctx, w->out + l1, &l2))
        ok = ossl_fail(w, "AES-KWP");
    OPENSSL_cleanse(dk, sizeof(dk));
    return ok;
}

static int raw_hmac(worker *w)
{
    size_t outl = 0;
    if (!EVP_MAC_init(w->mac, g_raw.hmac_key, sizeof(g_raw.hmac_key), NULL) ||
        !EVP_MAC_update(w->mac, w->in, HMAC_MSG) ||
        !EVP_MAC_final(w->mac, w->out, &outl, sizeof(w->out)))
        return ossl_fail(w, "HMAC");
    return 1;
}

static int raw_sign(worker *w, EVP_PKEY *key)
{
    size_t siglen = sizeof(w->out);
    if (!EVP_DigestSignInit_ex(w->mdctx, NULL, "SHA256", g_raw.lib, NULL, key, NULL) ||
        !EVP_DigestSign(w->mdctx, w->out, &siglen, w->in, SIGN_MSG))
        return ossl_fail(w, "EVP_DigestSign");
    return 1;
}

static int raw_ecdsa(worker *w)
{
    size_t siglen = sizeof(w->out);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(g_raw.lib, g_raw.ec, NULL);
    int ok = pc != NULL && EVP_PKEY_sign_init(pc) == 1 &&
             EVP_PKEY_sign(pc, w->out, &siglen, w->in, 32) == 1;
    EVP_PKEY_CTX_free(pc);
    return ok ? 1 : ossl_fail(w, "ECDSA");
}

static int raw_rsa(worker *w)
{
    return raw_sign(w, g_raw.rsa);
}

static void raw_init(void)
{
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    if (lib == NULL || OSSL_PROVIDER_load(lib, "default") == NULL)
        die("cannot create an OpenSSL library context");
    g_raw.lib = lib;
    g_raw.gcm = EVP_CIPHER_fetch(lib, "AES-256-GCM", NULL);
    g_raw.wrap = EVP_CIPHER_fetch(lib, "AES-256-WRAP-PAD", NULL);
    g_raw.hmac = EVP_MAC_fetch(lib, "HMAC", NULL);
    g_raw.hkdf = EVP_KDF_fetch(lib, "HKDF", NULL);
    g_raw.ec = EVP_PKEY_Q_keygen(lib, NULL, "EC", "P-256");
    g_raw.rsa = EVP_PKEY_Q_keygen(lib, NULL, "RSA", (size_t)2048);
    if (!g_raw.gcm || !g_raw.wrap || !g_raw.hmac || !g_raw.hkdf || !g_raw.ec || !g_raw.rsa ||
        RAND_bytes_ex(lib, g_raw.aes_key, 32, 0) != 1 ||
        RAND_bytes_ex(lib, g_raw.hmac_key, 32, 0) != 1)
        die("OpenSSL setup of the raw baseline failed");
}

static void raw_free(void)
{
    EVP_CIPHER_free(g_raw.gcm);
    EVP_CIPHER_free(g_raw.wrap);
    EVP_MAC_free(g_raw.hmac);
    EVP_KDF_free(g_raw.hkdf);
    EVP_PKEY_free(g_raw.ec);
    EVP_PKEY_free(g_raw.rsa);
    OPENSSL_cleanse(&g_raw.aes_key, sizeof(g_raw.aes_key));
    OPENSSL_cleanse(&g_raw.hmac_key, sizeof(g_raw.hmac_key));
    OSSL_LIB_CTX_free(g_raw.lib);
}

static int raw_worker_init(worker *w)
{
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                       OSSL_PARAM_construct_end()};
    w->cctx = EVP_CIPHER_CTX_new();
    w->mdctx = EVP_MD_CTX_new();
    w->mac = EVP_MAC_CTX_new(g_raw.hmac);
    w->kdf = EVP_KDF_CTX_new(g_raw.hkdf);
    return w->cctx && w->mdctx && w->mac && w->kdf && EVP_MAC_CTX_set_params(w->mac, p);
}

static void raw_worker_free(worker *w)
{
    EVP_CIPHER_CTX_free(w->cctx);
    EVP_MD_CTX_free(w->mdctx);
    EVP_MAC_CTX_free(w->mac);
    EVP_KDF_CTX_free(w->kdf);
}

/* ------------------------------------------------------------------ */
/* The timed runner                                                    */
/* ------------------------------------------------------------------ */

typedef struct run_shared {
    const bench_case *c;
    module_ctx *m;
    op_fn op;
    pthread_barrier_t start;
    atomic_int stop;
} run_shared;

typedef struct run_arg {
    run_shared *sh;
    worker *w;
} run_arg;

static void *run_thread(void *p)
{
    run_arg *a = p;
    worker *w = a->w;
    run_shared *sh = a->sh;
    pthread_barrier_wait(&sh->start);
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed) && !w->failed) {
        size_t keep = w->size;
        if (sh->op(w))
            w->ops++;
        w->size = keep;
    }
    return NULL;
}

static int worker_open(worker *w, module_ctx *m, const bench_case *c, int id)
{
    CK_RV rv;
    memset(w, 0, sizeof(*w));
    w->m = m;
    w->id = id;
    w->size = c->size;
    w->find_target = c->find / 2;
    for (size_t i = 0; i < sizeof(w->in); i++)
        w->in[i] = (unsigned char)(i * 31 + 7);
    if (m == NULL)
        return raw_worker_init(w);
    rv = m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &w->s);
    return rv == CKR_OK ? 1 : fail(w, "C_OpenSession", rv);
}

static void worker_close(worker *w)
{
    if (w->m != NULL)
        w->m->f->C_CloseSession(w->s);
    else
        raw_worker_free(w);
}

typedef struct measurement {
    int valid;
    double ops_per_s;
    char err[160];
} measurement;

/* Runs op on nthreads threads for g_opt.seconds and returns ops/s. */
static measurement run_case(const bench_case *c, module_ctx *m, op_fn op, int nthreads)
{
    static worker workers[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    run_arg args[MAX_THREADS];
    run_shared sh = {.c = c, .m = m, .op = op};
    measurement r = {0};
    double t0, t1;
    uint64_t total = 0;
    int started = 0;
    atomic_init(&sh.stop, 0);
    pthread_barrier_init(&sh.start, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        if (!worker_open(&workers[i], m, c, i))
            atomic_store(&sh.stop, 1);
        args[i] = (run_arg){&sh, &workers[i]};
        if (pthread_create(&tid[i], NULL, run_thread, &args[i]) != 0)
            die("pthread_create failed");
        started++;
    }
    pthread_barrier_wait(&sh.start);
    t0 = now_s();
    sleep_s(g_opt.seconds);
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    t1 = now_s();
    r.valid = 1;
    for (int i = 0; i < started; i++) {
        total += workers[i].ops;
        if (workers[i].failed && r.valid) {
            r.valid = 0;
            snprintf(r.err, sizeof(r.err), "%s", workers[i].err);
        }
        worker_close(&workers[i]);
    }
    pthread_barrier_destroy(&sh.start);
    r.ops_per_s = (double)total / (t1 - t0);
    return r;
}

/* ------------------------------------------------------------------ */
/* Module setup: temporary token, PINs, keys                           */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

/* The configuration each module reads; set before it is loaded. */
static void module_config(module_ctx *m)
{
    char path[512], text[1024];
    snprintf(m->dir, sizeof(m->dir), "%s/p11bench-%s.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", g_impl_names[m->impl]);
    if (mkdtemp(m->dir) == NULL)
        die("mkdtemp: %s", strerror(errno));
    if (m->impl == IMPL_P11KMS) {
        snprintf(path, sizeof(path), "%s/p11kms.conf", m->dir);
        snprintf(text, sizeof(text),
                 "[token]\nstore = %s/store.db\nlabel = bench\n"
                 "allow-reinit = yes\n",
                 m->dir);
        write_file(path, text);
        setenv("P11KMS_CONF", path, 1);
    } else {
        snprintf(path, sizeof(path), "%s/tokens", m->dir);
        if (mkdir(path, 0700) != 0)
            die("mkdir %s: %s", path, strerror(errno));
        snprintf(text, sizeof(text),
                 "directories.tokendir = %s/tokens\n"
                 "objectstore.backend = file\nlog.level = ERROR\n",
                 m->dir);
        snprintf(path, sizeof(path), "%s/softhsm2.conf", m->dir);
        write_file(path, text);
        setenv("SOFTHSM2_CONF", path, 1);
    }
}

static void check(CK_RV rv, const module_ctx *m, const char *what)
{
    if (rv != CKR_OK)
        die("%s: %s failed: CK_RV 0x%lx", g_impl_names[m->impl], what, (unsigned long)rv);
}

/* The slot whose token carries label "bench" (SoftHSM renumbers slots). */
static int find_bench_slot(module_ctx *m, CK_SLOT_ID *out, int want_initialized)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    check(m->f->C_GetSlotList(CK_TRUE, slots, &n), m, "C_GetSlotList");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        int init = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
        if (!want_initialized || (init && memcmp(ti.label, "bench ", 6) == 0)) {
            *out = slots[i];
            return 1;
        }
    }
    return 0;
}

static void token_init(module_ctx *m)
{
    CK_UTF8CHAR label[32];
    CK_SESSION_HANDLE s;
    CK_SLOT_ID slot;
    memset(label, ' ', sizeof(label));
    memcpy(label, "bench", 5);
    if (!find_bench_slot(m, &slot, 0))
        die("%s: no token present", g_impl_names[m->impl]);
    check(m->f->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label), m,
          "C_InitToken");
    if (!find_bench_slot(m, &m->slot, 1))
        die("%s: initialised token not found", g_impl_names[m->impl]);
    check(m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), m,
          "C_OpenSession");
    check(m->f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN)), m, "C_Login(SO)");
    check(m->f->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)), m, "C_InitPIN");
    check(m->f->C_Logout(s), m, "C_Logout(SO)");
    check(m->f->C_CloseSession(s), m, "C_CloseSession");
    check(m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                              &m->main_session),
          m, "C_OpenSession");
    check(m->f->C_Login(m->main_session, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)), m,
          "C_Login(USER)");
}

static CK_RV gen_secret(module_ctx *m, CK_MECHANISM_TYPE mt, CK_KEY_TYPE kt, CK_ULONG len,
                        const char *label, int usage_encrypt, CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_MECHANISM mech = {mt, NULL, 0};
    CK_ATTRIBUTE t[10] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_ULONG n = 7;
    if (usage_encrypt) {
        t[n++] = (CK_ATTRIBUTE){CKA_ENCRYPT, &yes, sizeof(yes)};
        t[n++] = (CK_ATTRIBUTE){CKA_DECRYPT, &yes, sizeof(yes)};
        if (m->impl != IMPL_P11KMS) /* SoftHSM wraps data keys with it */
            t[n++] = (CK_ATTRIBUTE){CKA_WRAP, &yes, sizeof(yes)};
    } else if (usage_encrypt == 0 && mt == CKM_GENERIC_SECRET_KEY_GEN) {
        t[n++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
        t[n++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
    }
    return m->f->C_GenerateKey(m->main_session, &mech, t, n, out);
}

static void gen_pair(module_ctx *m, int rsa, CK_OBJECT_HANDLE *priv)
{
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048;
    CK_MECHANISM mech = {rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
    const char *label = rsa ? "bench-rsa" : "bench-ec";
    CK_ATTRIBUTE pub[4] = {{CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_VERIFY, &yes, sizeof(yes)},
                           {CKA_LABEL, (void *)label, strlen(label)}};
    CK_ATTRIBUTE prv[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                          {CKA_PRIVATE, &yes, sizeof(yes)},
                          {CKA_SENSITIVE, &yes, sizeof(yes)},
                          {CKA_SIGN, &yes, sizeof(yes)},
                          {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE pubh;
    if (rsa) {
        pub[3] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
        check(m->f->C_GenerateKeyPair(m->main_session, &mech, pub, 4, prv, 5, &pubh, priv), m,
              "C_GenerateKeyPair(RSA-2048)");
    } else {
        pub[3] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)p256, sizeof(p256)};
        check(m->f->C_GenerateKeyPair(m->main_session, &mech, pub, 4, prv, 5, &pubh, priv), m,
              "C_GenerateKeyPair(EC P-256)");
    }
}

/* p11kms: the AES CMK's KMS key id, and one envelope blob to decrypt. */
static void p11kms_envelope_setup(module_ctx *m)
{
    CK_ATTRIBUTE a = {CKA_P11KMS_KEY_ID, m->aes_key_id, sizeof(m->aes_key_id) - 1};
    static worker w;
    check(m->f->C_GetAttributeValue(m->main_session, m->aes, &a, 1), m,
          "C_GetAttributeValue(CKA_P11KMS_KEY_ID)");
    m->aes_key_id[a.ulValueLen] = '\0';
    memset(&w, 0, sizeof(w));
    w.m = m;
    w.s = m->main_session;
    for (size_t i = 0; i < sizeof(w.in); i++)
        w.in[i] = (unsigned char)(i * 31 + 7);
    if (!p11_env_encrypt(&w))
        die("p11kms: envelope Encrypt failed: %s", w.err);
    if (w.size > sizeof(m->env_blob))
        die("p11kms: envelope blob too large (%zu bytes)", w.size);
    memcpy(m->env_blob, w.out, w.size);
    m->env_blob_len = w.size;
}

static int module_setup(module_ctx *m)
{
    p11kms_client_err err;
    double t0 = now_s();
    module_config(m);
    if (!p11kms_client_module_load(m->path, &m->mod, &err)) {
        fprintf(stderr, "p11bench: %s: cannot load %s: %s\n", g_impl_names[m->impl], m->path,
                err.msg);
        return 0;
    }
    m->f = p11kms_client_module_functions(m->mod);
    token_init(m);
    check(gen_secret(m, CKM_AES_KEY_GEN, CKK_AES, 32, "bench-aes", 1, &m->aes), m,
          "C_GenerateKey(AES-256)");
    check(gen_secret(m, CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, 32, "bench-hmac", 0,
                     &m->hmac),
          m, "C_GenerateKey(HMAC)");
    gen_pair(m, 0, &m->ec_priv);
    gen_pair(m, 1, &m->rsa_priv);
    if (m->impl == IMPL_P11KMS)
        p11kms_envelope_setup(m);
    printf("# %-8s %s: token and keys ready in %.2f s (store %s)\n", g_impl_names[m->impl], m->path,
           now_s() - t0, m->dir);
    return 1;
}

/*
 * Creates token keys "find-0000000" ... until the module holds `want`,
 * within the setup budget.  Returns 1 when all are there.
 */
static int find_keys_ensure(module_ctx *m, unsigned long want)
{
    double t0 = now_s();
    while (m->find_have < want && !m->find_exhausted) {
        char label[32];
        CK_OBJECT_HANDLE h;
        snprintf(label, sizeof(label), "find-%07lu", m->find_have);
        check(gen_secret(m, CKM_AES_KEY_GEN, CKK_AES, 32, label, 2, &h), m,
              "C_GenerateKey(find key)");
        m->find_have++;
        if ((m->find_have & 63) == 0 && m->find_create_s + (now_s() - t0) > g_opt.setup_budget)
            m->find_exhausted = 1;
    }
    m->find_create_s += now_s() - t0;
    return m->find_have >= want;
}

/* Seconds per C_Login (with C_Logout in between), over about 1 s, >= 3 tries. */
static double measure_login(module_ctx *m)
{
    double t0 = now_s(), t;
    int n = 0;
    do {
        check(m->f->C_Logout(m->main_session), m, "C_Logout");
        check(m->f->C_Login(m->main_session, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)),
              m, "C_Login");
        n++;
        t = now_s() - t0;
    } while (n < 3 || t < (g_opt.quick ? 0.2 : 1.0));
    return t / n;
}

static void module_teardown(module_ctx *m)
{
    char cmd[600];
    if (m->mod != NULL) {
        m->f->C_CloseAllSessions(m->slot);
        p11kms_client_module_unload(m->mod);
    }
    if (m->dir[0] != '\0' && strncmp(m->dir, "/tmp/", 5) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", m->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "p11bench: could not remove %s\n", m->dir);
    }
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

typedef struct result_row {
    const bench_case *c;
    int threads;
    measurement r[IMPL_COUNT];
    int measured[IMPL_COUNT];
} result_row;

static json_t *g_json_rows;
static int g_any_failed; /* a case failed: the exit status says so */
static FILE *g_tsv;

static void fmt_rate(char *buf, size_t n, const result_row *row, int impl)
{
    if (!row->measured[impl])
        snprintf(buf, n, "-");
    else if (!row->r[impl].valid)
        snprintf(buf, n, "FAIL");
    else
        snprintf(buf, n, "%.0f", row->r[impl].ops_per_s);
}

static double ratio(const result_row *row, int a, int b)
{
    if (!row->measured[a] || !row->measured[b] || !row->r[a].valid || !row->r[b].valid ||
        row->r[b].ops_per_s <= 0)
        return -1;
    return row->r[a].ops_per_s / row->r[b].ops_per_s;
}

static void print_header(void)
{
    printf("%-18s %3s %12s %12s %12s %9s %9s %9s\n", "case", "thr", "p11kms/s", "softhsm/s",
           "openssl/s", "p11kms", "kms/hsm", "kms/raw");
    printf("%-18s %3s %12s %12s %12s %9s %9s %9s\n", "", "", "", "", "", "MB/s", "", "");
}

static void print_row(const result_row *row)
{
    char a[32], b[32], c[32], mb[32] = "-", r1[32] = "-", r2[32] = "-";
    double x;
    fmt_rate(a, sizeof(a), row, IMPL_P11KMS);
    fmt_rate(b, sizeof(b), row, IMPL_SOFTHSM);
    fmt_rate(c, sizeof(c), row, IMPL_RAW);
    if (row->c->size && row->measured[IMPL_P11KMS] && row->r[IMPL_P11KMS].valid)
        snprintf(mb, sizeof(mb), "%.1f", row->r[IMPL_P11KMS].ops_per_s * row->c->size / 1e6);
    if ((x = ratio(row, IMPL_P11KMS, IMPL_SOFTHSM)) >= 0)
        snprintf(r1, sizeof(r1), "%.2fx", x);
    if ((x = ratio(row, IMPL_P11KMS, IMPL_RAW)) >= 0)
        snprintf(r2, sizeof(r2), "%.2fx", x);
    printf("%-18s %3d %12s %12s %12s %9s %9s %9s\n", row->c->name, row->threads, a, b, c, mb, r1,
           r2);
    for (int i = 0; i < IMPL_COUNT; i++)
        if (row->measured[i] && !row->r[i].valid) {
            printf("    %s failed: %s\n", g_impl_names[i], row->r[i].err);
            g_any_failed = 1;
        }
    fflush(stdout);
}

static void record_row(const result_row *row)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:I}", "case", row->c->name, "group", row->c->group,
                          "threads", row->threads, "bytes", (json_int_t)row->c->size);
    if (row->c->find)
        json_object_set_new(o, "keys", json_integer((json_int_t)row->c->find));
    for (int i = 0; i < IMPL_COUNT; i++) {
        if (!row->measured[i])
            continue;
        json_object_set_new(o, g_impl_names[i],
                            row->r[i].valid ? json_real(row->r[i].ops_per_s)
                                            : json_string(row->r[i].err));
    }
    if (ratio(row, IMPL_P11KMS, IMPL_SOFTHSM) >= 0)
        json_object_set_new(o, "p11kms_over_softhsm",
                            json_real(ratio(row, IMPL_P11KMS, IMPL_SOFTHSM)));
    if (ratio(row, IMPL_P11KMS, IMPL_RAW) >= 0)
        json_object_set_new(o, "p11kms_over_openssl", json_real(ratio(row, IMPL_P11KMS, IMPL_RAW)));
    json_array_append_new(g_json_rows, o);
    if (g_tsv != NULL) {
        fprintf(g_tsv, "%s\t%s\t%d", row->c->group, row->c->name, row->threads);
        for (int i = 0; i < IMPL_COUNT; i++)
            fprintf(g_tsv, "\t%.1f",
                    row->measured[i] && row->r[i].valid ? row->r[i].ops_per_s : 0.0);
        fputc('\n', g_tsv);
    }
}

/* ------------------------------------------------------------------ */
/* Cases and main                                                      */
/* ------------------------------------------------------------------ */

static const bench_case g_cases[] = {
    {"aes-gcm-32", "aes-gcm", 32, p11_gcm, 0, raw_gcm, 0},
    {"aes-gcm-4k", "aes-gcm", 4096, p11_gcm, 0, raw_gcm, 0},
    {"aes-gcm-64k", "aes-gcm", 65536, p11_gcm, 0, raw_gcm, 0},
    {"envelope-enc-4k", "kms", ENV_SIZE, p11_env_encrypt, 1, raw_envelope, 0},
    {"envelope-dec-4k", "kms", ENV_SIZE, p11_env_decrypt, 1, raw_envelope, 0},
    {"datakey-wrap", "kms", 0, p11_datakey, 0, raw_datakey, 0},
    {"hmac-sha256", "mac-sign", 0, p11_hmac, 0, raw_hmac, 0},
    {"ecdsa-p256-digest", "mac-sign", 0, p11_ecdsa, 0, raw_ecdsa, 0},
    {"rsa-2048", "mac-sign", 0, p11_rsa, 0, raw_rsa, 0},
};

static int selected(const char *name)
{
    const char *o = g_opt.only;
    size_t n = strlen(name);
    while (o != NULL && *o) {
        const char *end = strchr(o, ',');
        size_t len = end ? (size_t)(end - o) : strlen(o);
        if (len <= n && strncmp(name, o, len) == 0)
            return 1;
        o = end ? end + 1 : NULL;
    }
    return g_opt.only == NULL;
}

static void run_one(const bench_case *c, module_ctx *mods, int threads)
{
    result_row row = {.c = c, .threads = threads};
    for (int i = 0; i < IMPL_COUNT; i++) {
        module_ctx *m = i == IMPL_RAW ? NULL : &mods[i];
        op_fn op = i == IMPL_RAW ? c->raw : c->p11;
        if (op == NULL || (m != NULL && m->mod == NULL))
            continue;
        if (c->p11kms_only && i == IMPL_SOFTHSM)
            continue;
        if (c->find && m != NULL && !find_keys_ensure(m, c->find)) {
            if (threads == g_opt.threads[0])
                printf("    %s skipped: %lu of %lu keys created within the setup budget\n",
                       g_impl_names[i], m->find_have, c->find);
            continue;
        }
        row.r[i] = run_case(c, m, op, threads);
        row.measured[i] = 1;
    }
    print_row(&row);
    record_row(&row);
}

static void run_all(module_ctx *mods)
{
    static bench_case find_cases[MAX_FIND_SIZES];
    static char names[MAX_FIND_SIZES][32];
    print_header();
    for (size_t k = 0; k < sizeof(g_cases) / sizeof(g_cases[0]); k++) {
        if (!selected(g_cases[k].name))
            continue;
        if (g_opt.quick && (g_cases[k].size == 32 || g_cases[k].size == 65536))
            continue;
        for (int t = 0; t < g_opt.nthreads; t++)
            run_one(&g_cases[k], mods, g_opt.threads[t]);
    }
    for (int k = 0; k < g_opt.nfind; k++) {
        snprintf(names[k], sizeof(names[k]), "find-1-of-%lu", g_opt.find_sizes[k]);
        find_cases[k] = (bench_case){names[k], "find", 0, p11_find, 0, NULL, g_opt.find_sizes[k]};
        if (!selected(names[k]))
            continue;
        for (int t = 0; t < g_opt.nthreads; t++)
            run_one(&find_cases[k], mods, g_opt.threads[t]);
    }
}

static void report_setup(module_ctx *mods, json_t *root)
{
    json_t *setup = json_object();
    for (int i = 0; i < IMPL_RAW; i++) {
        module_ctx *m = &mods[i];
        double login;
        if (m->mod == NULL)
            continue;
        login = measure_login(m);
        printf("# %-8s C_Login: %.2f ms each (%.1f/s); %lu find keys created in %.1f s "
               "(%.0f keys/s)%s\n",
               g_impl_names[i], login * 1e3, 1.0 / login, m->find_have, m->find_create_s,
               m->find_create_s > 0 ? (double)m->find_have / m->find_create_s : 0.0,
               m->find_exhausted ? " - setup budget exhausted" : "");
        json_object_set_new(setup, g_impl_names[i],
                            json_pack("{s:s, s:f, s:I, s:f, s:b}", "module", m->path, "login_ms",
                                      login * 1e3, "find_keys_created", (json_int_t)m->find_have,
                                      "find_keys_create_s", m->find_create_s,
                                      "find_setup_budget_exhausted", m->find_exhausted));
    }
    json_object_set_new(root, "setup", setup);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: p11bench [options]\n"
               "  --p11kms PATH      p11kms module (default: $P11KMS_MODULE or the installed one)\n"
               "  --softhsm PATH     SoftHSMv2 module (default /usr/lib/softhsm/libsofthsm2.so)\n"
               "  --no-p11kms, --no-softhsm   skip a module\n"
               "  --time SEC         seconds per case and implementation (default 2)\n"
               "  --threads LIST     thread counts (default 1,2,4)\n"
               "  --find LIST        key counts for the find cases (default 10,1000,100000)\n"
               "  --setup-budget SEC seconds allowed to create find keys per module (default 120)\n"
               "  --only PREFIXES    run only cases whose name starts with one of these\n"
               "  --json FILE        write results as JSON;  --tsv FILE  flat rows for plots\n"
               "  --quick            0.2 s per case, 4 KiB only, find among 10 and 1000, 10 s "
               "setup budget\n");
}

static int parse_list(const char *s, unsigned long *out, int max)
{
    int n = 0;
    char *end;
    while (*s && n < max) {
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v == 0)
            return -1;
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0')
            return -1;
    }
    return n;
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"p11kms", 1, NULL, 'k'},    {"softhsm", 1, NULL, 's'},
        {"no-p11kms", 0, NULL, 'K'}, {"no-softhsm", 0, NULL, 'S'},
        {"time", 1, NULL, 't'},      {"threads", 1, NULL, 'n'},
        {"find", 1, NULL, 'f'},      {"setup-budget", 1, NULL, 'b'},
        {"only", 1, NULL, 'o'},      {"json", 1, NULL, 'j'},
        {"tsv", 1, NULL, 'v'},       {"quick", 0, NULL, 'q'},
        {"help", 0, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    unsigned long th[4];
    int c, time_set = 0, find_set = 0, budget_set = 0;
    g_opt.p11kms_path = p11kms_client_module_default_path(NULL);
    g_opt.softhsm_path = "/usr/lib/softhsm/libsofthsm2.so";
    g_opt.seconds = 2.0;
    g_opt.setup_budget = 120;
    g_opt.nthreads = 3;
    g_opt.threads[0] = 1, g_opt.threads[1] = 2, g_opt.threads[2] = 4;
    g_opt.nfind = parse_list("10,1000,100000", g_opt.find_sizes, MAX_FIND_SIZES);
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'k':
            g_opt.p11kms_path = optarg;
            break;
        case 's':
            g_opt.softhsm_path = optarg;
            break;
        case 'K':
            g_opt.p11kms_path = NULL;
            break;
        case 'S':
            g_opt.softhsm_path = NULL;
            break;
        case 't':
            g_opt.seconds = strtod(optarg, NULL), time_set = 1;
            break;
        case 'b':
            g_opt.setup_budget = strtod(optarg, NULL), budget_set = 1;
            break;
        case 'o':
            g_opt.only = optarg;
            break;
        case 'j':
            g_opt.json_path = optarg;
            break;
        case 'v':
            g_opt.tsv_path = optarg;
            break;
        case 'q':
            g_opt.quick = 1;
            break;
        case 'f':
            g_opt.nfind = parse_list(optarg, g_opt.find_sizes, MAX_FIND_SIZES), find_set = 1;
            break;
        case 'n':
            g_opt.nthreads = parse_list(optarg, th, 4);
            for (int i = 0; i < g_opt.nthreads; i++) {
                if (th[i] > MAX_THREADS)
                    g_opt.nthreads = -1;
                else
                    g_opt.threads[i] = (int)th[i];
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc || g_opt.nthreads <= 0 || g_opt.nfind < 0 || !(g_opt.seconds > 0)) {
        usage(stderr);
        exit(2);
    }
    if (g_opt.quick && !time_set)
        g_opt.seconds = 0.2;
    if (g_opt.quick && !budget_set)
        g_opt.setup_budget = 10;
    if (g_opt.quick && !find_set)
        g_opt.nfind = parse_list("10,1000", g_opt.find_sizes, MAX_FIND_SIZES);
}

static void write_json(json_t *root)
{
    char host[256] = "";
    time_t t = time(NULL);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    gethostname(host, sizeof(host) - 1);
    json_object_set_new(root, "date", json_string(date));
    json_object_set_new(root, "host", json_string(host));
    json_object_set_new(root, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(root, "seconds_per_case", json_real(g_opt.seconds));
    json_object_set_new(root, "results", g_json_rows);
    if (g_opt.json_path != NULL && json_dump_file(root, g_opt.json_path, JSON_INDENT(1)) != 0)
        die("cannot write %s", g_opt.json_path);
}

int main(int argc, char **argv)
{
    module_ctx mods[2];
    json_t *root = json_object();
    int any = 0;
    parse_args(argc, argv);
    memset(mods, 0, sizeof(mods));
    mods[IMPL_P11KMS] = (module_ctx){.impl = IMPL_P11KMS, .path = g_opt.p11kms_path};
    mods[IMPL_SOFTHSM] = (module_ctx){.impl = IMPL_SOFTHSM, .path = g_opt.softhsm_path};
    g_json_rows = json_array();
    if (g_opt.tsv_path != NULL && (g_tsv = fopen(g_opt.tsv_path, "w")) == NULL)
        die("cannot write %s: %s", g_opt.tsv_path, strerror(errno));
    raw_init();
    for (int i = 0; i < 2; i++)
        if (mods[i].path != NULL)
            any |= module_setup(&mods[i]);
    if (!any)
        die("no module could be loaded");
    printf("# %.2f s per case and implementation, interleaved; ratios are ops/s quotients\n",
           g_opt.seconds);
    run_all(mods);
    report_setup(mods, root);
    write_json(root);
    for (int i = 0; i < 2; i++)
        module_teardown(&mods[i]);
    if (g_tsv != NULL && fclose(g_tsv) != 0)
        die("cannot write %s", g_opt.tsv_path);
    json_decref(root);
    raw_free();
    return g_any_failed ? 1 : 0;
}
