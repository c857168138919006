/*
 * p11-test-util.h — helpers for the module tests: each test dlopens the
 * built module (P11KMS_TEST_MODULE), points P11KMS_CONF at a fresh temp
 * store with a low KDF cost, and drives it through its function list as
 * an application would.
 */
#ifndef P11KMS_TESTS_P11_TEST_UTIL_H
#define P11KMS_TESTS_P11_TEST_UTIL_H

#include <check.h>
#include <p11-kit/pkcs11.h>

#include "p11kms/pkcs11.h"

#define SO_PIN   "so-secret-1"
#define USER_PIN "user-secret-1"

extern CK_FUNCTION_LIST *F; /* the module's function list */
extern char test_dir[256];  /* per-test temp directory */
extern CK_SLOT_ID test_slot;

/* Loads the module and writes the config; does not call C_Initialize. */
void p11t_load(void);
void p11t_unload(void);
/* Load + C_Initialize(NULL) + InitToken + InitPIN (the usual fixture). */
void p11t_setup_token(void);
void p11t_teardown(void);
/* Load + C_Initialize, token left uninitialised. */
void p11t_setup_bare(void);
/* A R/W session logged in as the user. */
CK_SESSION_HANDLE p11t_user_session(void);
/* Generates a token AES-256 CMK labelled label. */
CK_OBJECT_HANDLE p11t_aes_cmk(CK_SESSION_HANDLE s, const char *label);
CK_RV p11t_keypair(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mech, const char *label, int decrypt,
                   CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
CK_ULONG p11t_find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out,
                   CK_ULONG max);

#define CK(call)                                                                                   \
    do {                                                                                           \
        CK_RV ck_rv_ = (call);                                                                     \
        ck_assert_msg(ck_rv_ == CKR_OK, "%s failed: 0x%lx", #call, (unsigned long)ck_rv_);         \
    } while (0)
#define CKRV(expect, call)                                                                         \
    do {                                                                                           \
        CK_RV rv_ = (call);                                                                        \
        ck_assert_msg(rv_ == (CK_RV)(expect), "%s: got 0x%lx, want 0x%lx", #call,                  \
                      (unsigned long)rv_, (unsigned long)(expect));                                \
    } while (0)

Suite *p11t_suite_token(void);
Suite *p11t_suite_objects(void);
Suite *p11t_suite_mechs(void);
Suite *p11t_suite_process(void);
Suite *p11t_suite_opreq(void);

#endif
