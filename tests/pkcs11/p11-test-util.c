/*
 * p11-test-util.c — module loading and fixtures for tests/pkcs11 (see the
 * header).  The module path comes from P11KMS_TEST_MODULE (set by make
 * check), so the tests exercise exactly the shared object that installs.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11-test-util.h"

CK_FUNCTION_LIST *F;
char test_dir[256];
CK_SLOT_ID test_slot;
static void *g_dl;

static void write_config(void)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/p11kms.conf", test_dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[token]\nstore = %s/store.db\nlabel = test\nkdf = 10\n", test_dir);
    fclose(f);
    setenv("P11KMS_CONF", path, 1);
    setenv("XDG_DATA_HOME", test_dir, 1);
}

void p11t_load(void)
{
    const char *mod = getenv("P11KMS_TEST_MODULE");
    CK_C_GetFunctionList gfl;
    snprintf(test_dir, sizeof(test_dir), "/tmp/p11kms-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(test_dir));
    write_config();
    if (mod == NULL)
        mod = "pkcs11/.libs/p11kms-pkcs11.so";
    g_dl = dlopen(mod, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(g_dl != NULL, "dlopen %s: %s", mod, dlerror());
    gfl = (CK_C_GetFunctionList)dlsym(g_dl, "C_GetFunctionList");
    ck_assert_ptr_nonnull(gfl);
    CK(gfl(&F));
    test_slot = 0;
}

void p11t_unload(void)
{
    char cmd[300];
    if (F != NULL)
        (void)F->C_Finalize(NULL);
    /* Valgrind needs the module mapped to name leak sites. */
    if (g_dl != NULL && getenv("P11KMS_TEST_NO_DLCLOSE") == NULL)
        dlclose(g_dl);
    g_dl = NULL;
    F = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
    if (test_dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", test_dir);
}

void p11t_setup_bare(void)
{
    p11t_load();
    CK(F->C_Initialize(NULL));
}

void p11t_setup_token(void)
{
    CK_UTF8CHAR label[32];
    CK_SESSION_HANDLE s;
    p11t_setup_bare();
    memset(label, ' ', sizeof(label));
    memcpy(label, "test", 4);
    CK(F->C_InitToken(test_slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label));
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
    CK(F->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
    CK(F->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
    CK(F->C_Logout(s));
    CK(F->C_CloseSession(s));
}

void p11t_teardown(void)
{
    p11t_unload();
}

CK_SESSION_HANDLE p11t_user_session(void)
{
    CK_SESSION_HANDLE s;
    CK(F->C_OpenSession(test_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
    CK_RV rv = F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN));
    ck_assert(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    return s;
}

CK_OBJECT_HANDLE p11t_aes_cmk(CK_SESSION_HANDLE s, const char *label)
{
    CK_BBOOL t = CK_TRUE;
    CK_ULONG len = 32;
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ATTRIBUTE tmpl[] = {
        {CKA_TOKEN, &t, sizeof(t)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ENCRYPT, &t, sizeof(t)},
        {CKA_DECRYPT, &t, sizeof(t)},
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK(F->C_GenerateKey(s, &m, tmpl, 5, &h));
    return h;
}

CK_RV p11t_keypair(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mech, const char *label, int decrypt,
                   CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ULONG bits = 2048;
    static CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_MECHANISM m = {mech, NULL, 0};
    CK_ATTRIBUTE pt[] = {
        {CKA_TOKEN, &t, sizeof(t)},
        {CKA_LABEL, (void *)label, strlen(label)},
        {mech == CKM_RSA_PKCS_KEY_PAIR_GEN ? CKA_MODULUS_BITS : CKA_EC_PARAMS,
         mech == CKM_RSA_PKCS_KEY_PAIR_GEN ? (void *)&bits : (void *)p256,
         mech == CKM_RSA_PKCS_KEY_PAIR_GEN ? sizeof(bits) : sizeof(p256)},
    };
    CK_ATTRIBUTE vt[] = {
        {CKA_TOKEN, &t, sizeof(t)},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_SIGN, decrypt ? &f : &t, sizeof(t)},
        {CKA_DECRYPT, decrypt ? &t : &f, sizeof(t)},
    };
    return F->C_GenerateKeyPair(s, &m, pt, 3, vt, 4, pub, priv);
}

CK_ULONG p11t_find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out,
                   CK_ULONG max)
{
    CK_ULONG count = 0;
    CK(F->C_FindObjectsInit(s, t, n));
    CK(F->C_FindObjects(s, out, max, &count));
    CK(F->C_FindObjectsFinal(s));
    return count;
}
