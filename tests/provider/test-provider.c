/*
 * tests/provider/test-provider.c — the p11kms provider used from C the way
 * applications use it: a private OSSL_LIB_CTX that loads "p11kms" and
 * "default", keys opened with OSSL_STORE, EVP_PKEY signing, verification
 * and OAEP decryption, key matching, key references written and read back,
 * concurrent threads, a forked child, and a clean unload.
 *
 * main() prepares a token once per backend (p11kms-pkcs11.so when it can
 * create keys, and SoftHSMv2) with pkcs11-tool, then runs the suite against
 * each; the provider finds the module and PIN through P11KMS_MODULE and
 * P11KMS_PIN_SOURCE, as a program without openssl.cnf would.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "client/key-ops.h"
#include "client/module.h"
#include "p11kms/pkcs11.h"

#ifndef P11KMS_TEST_PROVIDER_DIR
#error "P11KMS_TEST_PROVIDER_DIR must name the directory of the built p11kms.so"
#endif

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define PIN     "12345678"

static char tmpdir[256];
static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *prov_p11kms, *prov_default;

/* Fixtures ---------------------------------------------------------------------- */

static void setup(void)
{
    libctx = OSSL_LIB_CTX_new();
    ck_assert_ptr_nonnull(libctx);
    ck_assert(OSSL_PROVIDER_set_default_search_path(libctx, P11KMS_TEST_PROVIDER_DIR));
    prov_p11kms = OSSL_PROVIDER_load(libctx, "p11kms");
    prov_default = OSSL_PROVIDER_load(libctx, "default");
    ck_assert_ptr_nonnull(prov_p11kms);
    ck_assert_ptr_nonnull(prov_default);
}

static void teardown(void)
{
    ck_assert(OSSL_PROVIDER_unload(prov_p11kms));
    ck_assert(OSSL_PROVIDER_unload(prov_default));
    OSSL_LIB_CTX_free(libctx);
    libctx = NULL;
}

/* Helpers ------------------------------------------------------------------------ */

/* The first key the URI names, through OSSL_STORE in the private context. */
static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL, NULL);
    OSSL_STORE_INFO *info;
    EVP_PKEY *pk = NULL;

    if (st == NULL)
        return NULL;
    OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
    while (pk == NULL && !OSSL_STORE_eof(st) && (info = OSSL_STORE_load(st)) != NULL) {
        pk = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return pk;
}

/* The public half as a default-provider key (what a relying party has). */
static EVP_PKEY *public_copy(EVP_PKEY *pk)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    EVP_PKEY *pub;
    int len = i2d_PUBKEY(pk, &der);

    ck_assert_int_gt(len, 0);
    p = der;
    pub = d2i_PUBKEY_ex(NULL, &p, len, libctx, "provider=default");
    OPENSSL_free(der);
    ck_assert_ptr_nonnull(pub);
    return pub;
}

static int sign(EVP_PKEY *pk, const char *md, int pss, const unsigned char *msg, size_t msglen,
                unsigned char *sig, size_t *siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestSignInit_ex(m, &pctx, md, libctx, NULL, pk, NULL) == 1 &&
             (!pss || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1) &&
             EVP_DigestSign(m, sig, siglen, msg, msglen) == 1;

    EVP_MD_CTX_free(m);
    return ok;
}

static int verify(EVP_PKEY *pub, const char *md, int pss, const unsigned char *msg, size_t msglen,
                  const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit_ex(m, &pctx, md, libctx, "provider=default", pub, NULL) == 1 &&
             (!pss || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1) &&
             EVP_DigestVerify(m, sig, siglen, msg, msglen) == 1;

    EVP_MD_CTX_free(m);
    return ok;
}

/* 1 when the error queue mentions text (and clears it). */
static int error_mentions(const char *text)
{
    char buf[1024];
    unsigned long e;
    const char *data;
    int flags, found = 0;

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        if (strstr(buf, text) != NULL || ((flags & ERR_TXT_STRING) && strstr(data, text)))
            found = 1;
    }
    return found;
}

/* Tests -------------------------------------------------------------------------- */

START_TEST(test_ec_key_parameters)
{
    EVP_PKEY *pk = load_key("p11kms:alias/t-ec");
    char group[64];

    ck_assert_ptr_nonnull(pk);
    ck_assert(EVP_PKEY_is_a(pk, "EC"));
    ck_assert_int_eq(EVP_PKEY_get_bits(pk), 256);
    ck_assert_int_eq(EVP_PKEY_get_security_bits(pk), 128);
    ck_assert_int_ge(EVP_PKEY_get_size(pk), 70);
    ck_assert(EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL));
    ck_assert_str_eq(group, "prime256v1");
    ck_assert_ptr_eq(EVP_PKEY_get0_provider(pk), prov_p11kms);
    EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_rsa_key_parameters)
{
    EVP_PKEY *pk = load_key("p11kms:alias/t-rsa");

    ck_assert_ptr_nonnull(pk);
    ck_assert(EVP_PKEY_is_a(pk, "RSA"));
    ck_assert_int_eq(EVP_PKEY_get_bits(pk), 2048);
    ck_assert_int_eq(EVP_PKEY_get_security_bits(pk), 112);
    ck_assert_int_eq(EVP_PKEY_get_size(pk), 256);
    EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_ecdsa_sign_verify)
{
    EVP_PKEY *pk = load_key("p11kms:alias/t-ec"), *pub;
    unsigned char msg[1000], sig[256];
    size_t siglen = sizeof(sig);

    ck_assert_ptr_nonnull(pk);
    memset(msg, 'm', sizeof(msg));
    pub = public_copy(pk);
    ck_assert(sign(pk, "SHA256", 0, msg, sizeof(msg), sig, &siglen));
    ck_assert(verify(pub, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    msg[0] ^= 1;
    ck_assert(!verify(pub, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    ERR_clear_error();
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_rsa_pkcs1_and_pss)
{
    EVP_PKEY *pk = load_key("p11kms:alias/t-rsa"), *pub;
    unsigned char msg[100], sig[512];
    size_t siglen;
    int pss;

    ck_assert_ptr_nonnull(pk);
    memset(msg, 'r', sizeof(msg));
    pub = public_copy(pk);
    for (pss = 0; pss <= 1; pss++) {
        siglen = sizeof(sig);
        ck_assert(sign(pk, "SHA384", pss, msg, sizeof(msg), sig, &siglen));
        ck_assert_uint_eq(siglen, 256);
        ck_assert(verify(pub, "SHA384", pss, msg, sizeof(msg), sig, siglen));
        ck_assert(!verify(pub, "SHA384", !pss, msg, sizeof(msg), sig, siglen));
        ERR_clear_error();
    }
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_oaep_decrypt_and_v15_refused)
{
    EVP_PKEY *pk = load_key("p11kms:alias/t-rsaenc"), *pub;
    const unsigned char pt[] = "thirty-two bytes of a data key!";
    unsigned char ct[256], out[256];
    size_t ctlen = sizeof(ct), outlen = sizeof(out);
    EVP_PKEY_CTX *c;

    ck_assert_ptr_nonnull(pk);
    pub = public_copy(pk);
    c = EVP_PKEY_CTX_new_from_pkey(libctx, pub, "provider=default");
    ck_assert(EVP_PKEY_encrypt_init(c) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
              EVP_PKEY_encrypt(c, ct, &ctlen, pt, sizeof(pt)) == 1);
    EVP_PKEY_CTX_free(c);
    c = EVP_PKEY_CTX_new_from_pkey(libctx, pk, NULL);
    ck_assert(EVP_PKEY_decrypt_init(c) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1);
    ck_assert_int_eq(EVP_PKEY_decrypt(c, out, &outlen, ct, ctlen), 1);
    ck_assert_uint_eq(outlen, sizeof(pt));
    ck_assert_mem_eq(out, pt, sizeof(pt));
    /* PKCS#1 v1.5 is refused with a message saying why. */
    ck_assert(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1);
    outlen = sizeof(out);
    ck_assert_int_le(EVP_PKEY_decrypt(c, out, &outlen, ct, ctlen), 0);
    ck_assert(error_mentions("PKCS#1 v1.5 padding is refused"));
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_match_across_providers)
{
    EVP_PKEY *ec = load_key("p11kms:alias/t-ec"), *rsa = load_key("p11kms:alias/t-rsa");
    EVP_PKEY *ecpub, *rsapub;

    ck_assert_ptr_nonnull(ec);
    ck_assert_ptr_nonnull(rsa);
    ecpub = public_copy(ec);
    rsapub = public_copy(rsa);
    ck_assert_int_eq(EVP_PKEY_eq(ec, ecpub), 1);
    ck_assert_int_eq(EVP_PKEY_eq(rsapub, rsa), 1);
    ck_assert_int_ne(EVP_PKEY_eq(ec, rsapub), 1);
    ERR_clear_error();
    EVP_PKEY_free(ecpub);
    EVP_PKEY_free(rsapub);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}
END_TEST

START_TEST(test_missing_key_is_named)
{
    ck_assert_ptr_null(load_key("p11kms:alias/t-does-not-exist"));
    ck_assert(error_mentions("p11kms:alias/t-does-not-exist"));
}
END_TEST

START_TEST(test_reference_roundtrip)
{
    EVP_PKEY *pk = load_key("pkcs11:object=alias/t-ec;type=private"), *back = NULL, *pub;
    unsigned char msg[] = "reference", sig[256];
    size_t siglen = sizeof(sig);
    BIO *mem = BIO_new(BIO_s_mem());
    char *text = NULL;

    ck_assert_ptr_nonnull(pk);
    ck_assert(PEM_write_bio_PrivateKey_ex(mem, pk, NULL, NULL, 0, NULL, NULL, libctx, NULL));
    ck_assert_int_gt(BIO_get_mem_data(mem, &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "BEGIN P11KMS KEY REFERENCE"));
    ck_assert_ptr_null(strstr(text, "PRIVATE KEY"));
    back = PEM_read_bio_PrivateKey_ex(mem, NULL, NULL, NULL, libctx, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(sign(back, "SHA256", 0, msg, sizeof(msg), sig, &siglen));
    pub = public_copy(pk);
    ck_assert(verify(pub, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    BIO_free(mem);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(back);
    EVP_PKEY_free(pk);
}
END_TEST

static EVP_PKEY *thread_key, *thread_pub;

static void *sign_many(void *arg)
{
    unsigned char msg[64], sig[256];
    size_t siglen;
    long ok = 1;

    for (int i = 0; i < 10 && ok; i++) {
        snprintf((char *)msg, sizeof(msg), "thread %d message %d", *(int *)arg, i);
        siglen = sizeof(sig);
        ok = sign(thread_key, "SHA256", 0, msg, sizeof(msg), sig, &siglen) &&
             verify(thread_pub, "SHA256", 0, msg, sizeof(msg), sig, siglen);
    }
    return (void *)ok;
}

START_TEST(test_threads_share_a_key)
{
    static int ids[4] = {0, 1, 2, 3};
    pthread_t t[4];
    void *res;

    thread_key = load_key("p11kms:alias/t-ec");
    ck_assert_ptr_nonnull(thread_key);
    thread_pub = public_copy(thread_key);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, sign_many, &ids[i]), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], &res), 0);
        ck_assert_ptr_eq(res, (void *)1L);
    }
    EVP_PKEY_free(thread_pub);
    EVP_PKEY_free(thread_key);
}
END_TEST

START_TEST(test_forked_child_signs)
{
    EVP_PKEY *pk = load_key("p11kms:alias/t-ec"), *pub;
    unsigned char msg[] = "fork", sig[256];
    size_t siglen = sizeof(sig);
    int status = 0;
    pid_t pid;

    ck_assert_ptr_nonnull(pk);
    pub = public_copy(pk);
    ck_assert(sign(pk, "SHA256", 0, msg, sizeof(msg), sig, &siglen)); /* parent uses it first */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        siglen = sizeof(sig);
        _exit(sign(pk, "SHA256", 0, msg, sizeof(msg), sig, &siglen) &&
                      verify(pub, "SHA256", 0, msg, sizeof(msg), sig, siglen)
                  ? 0
                  : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    siglen = sizeof(sig); /* and the parent still works after the child */
    ck_assert(sign(pk, "SHA256", 0, msg, sizeof(msg), sig, &siglen));
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_policy_denial_names_key_and_action)
{
    EVP_PKEY *pk = load_key("p11kms:alias/t-deny");
    unsigned char msg[] = "denied", sig[256];
    size_t siglen = sizeof(sig);

    ck_assert_ptr_nonnull(pk);
    ck_assert(!sign(pk, "SHA256", 0, msg, sizeof(msg), sig, &siglen));
    ERR_set_mark();
    ck_assert(error_mentions("CKR_KEY_FUNCTION_NOT_PERMITTED"));
    ERR_pop_to_mark();
    siglen = sizeof(sig);
    ck_assert(!sign(pk, "SHA256", 0, msg, sizeof(msg), sig, &siglen));
    ck_assert(error_mentions("signing with key 'alias/t-deny'"));
    EVP_PKEY_free(pk);
}
END_TEST

/* Backends ------------------------------------------------------------------------ */

/*
 * A key whose policy denies kms:Sign to everyone (p11kms only): the policy
 * is set through the module with the vendor attribute, as a management
 * call would.  Returns 1 when the policy is in place.
 */
static int deny_signing(const char *module)
{
    static const char policy[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"all\",\"Effect\":\"Allow\",\"Principal\":{\"Unix\":\"*\"},"
        "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"nosign\",\"Effect\":\"Deny\",\"Principal\":{\"Unix\":\"*\"},"
        "\"Action\":\"kms:Sign\",\"Resource\":\"*\"}]}";
    CK_ATTRIBUTE attr = {CKA_P11KMS_KEY_POLICY, (void *)policy, sizeof(policy) - 1};
    p11kms_client_module *mod = NULL;
    p11kms_client_uri uri;
    p11kms_client_keyref ref;
    CK_SESSION_HANDLE s;
    CK_SLOT_ID slot;
    char pin[600];
    int ok = 0;

    snprintf(pin, sizeof(pin), "file:%s/pin", tmpdir);
    if (!p11kms_client_uri_parse("p11kms:alias/t-deny", 0, &uri, NULL))
        return 0;
    if (p11kms_client_module_load(module, &mod, NULL) &&
        p11kms_client_find_slot(mod, NULL, &slot, NULL) &&
        p11kms_client_session_open(mod, slot, 1, &s, NULL)) {
        ok = p11kms_client_login(mod, s, CKU_USER, pin, NULL) &&
             p11kms_client_key_find_one(mod, s, &uri, "p11kms:alias/t-deny", CKO_PRIVATE_KEY, &ref,
                                        NULL) &&
             p11kms_client_module_functions(mod)->C_SetAttributeValue(s, ref.handle, &attr, 1) ==
                 CKR_OK;
        p11kms_client_session_close(mod, s);
    }
    p11kms_client_module_unload(mod);
    p11kms_client_uri_free(&uri);
    return ok;
}

static int run(const char *cmd)
{
    int rc = system(cmd);

    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static int make_keys(const char *module)
{
    char cmd[1024];
    static const char *const keys[] = {
        "--key-type EC:prime256v1 --label alias/t-ec --id 01",
        "--key-type rsa:2048 --usage-sign --label alias/t-rsa --id 02",
        "--key-type rsa:2048 --usage-decrypt --label alias/t-rsaenc --id 03"};

    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd),
                 "pkcs11-tool --module %s --login --pin " PIN " --keypairgen %s >/dev/null 2>&1",
                 module, keys[i]);
        if (!run(cmd))
            return 0;
    }
    return 1;
}

static int prepare_softhsm(const char *dir)
{
    char path[512], cmd[1024];
    FILE *f;

    if (access(SOFTHSM, R_OK) != 0)
        return 0;
    snprintf(path, sizeof(path), "%s/tokens", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
    if ((f = fopen(path, "w")) == NULL)
        return 0;
    fprintf(f, "directories.tokendir = %s/tokens\n", dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", path, 1);
    snprintf(cmd, sizeof(cmd),
             "softhsm2-util --init-token --free --label t --so-pin 87654321 --pin " PIN
             " >/dev/null 2>&1");
    return run(cmd) && make_keys(SOFTHSM);
}

static int prepare_p11kms(const char *dir, const char *module)
{
    char path[512], cmd[1024];
    FILE *f;

    if (module == NULL || access(module, R_OK) != 0)
        return 0;
    snprintf(path, sizeof(path), "%s/data", dir);
    mkdir(path, 0700);
    setenv("XDG_DATA_HOME", path, 1);
    setenv("XDG_CONFIG_HOME", dir, 1);
    snprintf(path, sizeof(path), "%s/p11kms.conf", dir);
    if ((f = fopen(path, "w")) == NULL)
        return 0;
    fprintf(f, "[token]\nstore = %s/data/store.db\nlabel = t\nkdf = 10\nallow-reinit = yes\n", dir);
    fclose(f);
    setenv("P11KMS_CONF", path, 1);
    snprintf(cmd, sizeof(cmd),
             "pkcs11-tool --module %s --init-token --label t --so-pin 87654321 >/dev/null 2>&1 "
             "&& pkcs11-tool --module %s --init-pin --login --so-pin 87654321 --pin " PIN
             " >/dev/null 2>&1",
             module, module);
    return run(cmd) && make_keys(module);
}

static Suite *provider_suite(const char *name, int with_policy)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("evp");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_ec_key_parameters);
    tcase_add_test(tc, test_rsa_key_parameters);
    tcase_add_test(tc, test_ecdsa_sign_verify);
    tcase_add_test(tc, test_rsa_pkcs1_and_pss);
    tcase_add_test(tc, test_oaep_decrypt_and_v15_refused);
    tcase_add_test(tc, test_match_across_providers);
    tcase_add_test(tc, test_missing_key_is_named);
    tcase_add_test(tc, test_reference_roundtrip);
    tcase_add_test(tc, test_threads_share_a_key);
    tcase_add_test(tc, test_forked_child_signs);
    if (with_policy)
        tcase_add_test(tc, test_policy_denial_names_key_and_action);
    suite_add_tcase(s, tc);
    return s;
}

/* Runs the suite with the token of one backend; returns the number of failures. */
static int run_backend(const char *name, const char *module, int with_policy)
{
    SRunner *sr = srunner_create(provider_suite(name, with_policy));
    char pin[600];
    int failed;

    setenv("P11KMS_MODULE", module, 1);
    snprintf(pin, sizeof(pin), "file:%s/pin", tmpdir);
    setenv("P11KMS_PIN_SOURCE", pin, 1);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

int main(void)
{
    const char *module = getenv("P11KMS_TEST_MODULE");
    char dir[300], path[320], cmd[700];
    int failed = 0, ran = 0, policy = 0;
    FILE *f;

    snprintf(tmpdir, sizeof(tmpdir), "%s/p11kms-prov-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return 99;
    snprintf(path, sizeof(path), "%s/pin", tmpdir);
    if ((f = fopen(path, "w")) == NULL)
        return 99;
    fputs(PIN, f);
    fclose(f);
    chmod(path, 0600);
    snprintf(dir, sizeof(dir), "%s/p11kms", tmpdir);
    mkdir(dir, 0700);
    if (prepare_p11kms(dir, module)) {
        snprintf(cmd, sizeof(cmd),
                 "pkcs11-tool --module %s --login --pin " PIN
                 " --keypairgen --key-type EC:prime256v1 --label alias/t-deny >/dev/null 2>&1",
                 module);
        policy = run(cmd) && deny_signing(module);
        if (!policy)
            printf("backend p11kms: could not set a key policy; denial test skipped\n");
        failed += run_backend("provider-p11kms", module, policy);
        ran++;
    } else {
        printf("backend p11kms: not usable here (module missing or cannot create keys)\n");
    }
    snprintf(dir, sizeof(dir), "%s/softhsm", tmpdir);
    mkdir(dir, 0700);
    if (prepare_softhsm(dir)) {
        failed += run_backend("provider-softhsm", SOFTHSM, 0);
        ran++;
    } else {
        printf("backend softhsm: SoftHSMv2 not usable\n");
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    (void)run(cmd);
    if (ran == 0)
        return 77;
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
