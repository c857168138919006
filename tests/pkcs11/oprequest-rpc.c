/*
 * oprequest-rpc.c — helper of tests/integration/pkcs11-p11kit.sh: loads
 * the module named on the command line (p11-kit-client.so in the test),
 * logs in, and runs a KMS Encrypt then Decrypt through
 * CKO_P11KMS_OPERATION objects on the AES CMK labelled "env", then
 * CreateKey (ECC_NIST_P256), Sign, Verify (valid and invalid signature:
 * the exception name crosses too) and GenerateRandom, proving the object
 * route crosses p11-kit's RPC.  Exit 0 on success.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "p11kms/pkcs11.h"

static CK_FUNCTION_LIST *F;

static int request(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE *out)
{
    CK_OBJECT_HANDLE h;
    CK_ULONG code = 1;
    CK_ATTRIBUTE r[2] = {{CKA_P11KMS_OP_RESULT_CODE, &code, sizeof(code)}, *out};
    if (F->C_CreateObject(s, t, n, &h) != CKR_OK || F->C_GetAttributeValue(s, h, r, 2) != CKR_OK)
        return 0;
    *out = r[1];
    return code == CKR_OK && F->C_DestroyObject(s, h) == CKR_OK;
}

/* Runs a request; *code and *err (NUL-terminated) say how it ended. */
static int request_status(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_ULONG *code,
                          char *err, CK_ULONG errcap)
{
    CK_OBJECT_HANDLE h;
    CK_ATTRIBUTE r[2] = {{CKA_P11KMS_OP_RESULT_CODE, code, sizeof(*code)},
                         {CKA_P11KMS_OP_RESULT_ERROR, err, errcap - 1}};
    memset(err, 0, errcap);
    return F->C_CreateObject(s, t, n, &h) == CKR_OK &&
           F->C_GetAttributeValue(s, h, r, 2) == CKR_OK && F->C_DestroyObject(s, h) == CKR_OK;
}

/* CreateKey, Sign, Verify (good and bad), GenerateRandom over the RPC. */
static int run_asym(CK_SESSION_HANDLE s)
{
    CK_ULONG op = CKO_P11KMS_OPERATION, code = 0;
    char json[2048] = "", kid[37] = "", err[96];
    CK_BYTE sig[256], rnd[32];
    const char *spec = "{\"KeySpec\":\"ECC_NIST_P256\",\"KeyUsage\":\"SIGN_VERIFY\"}";
    const char *alg = "{\"SigningAlgorithm\":\"ECDSA_SHA_256\"}";
    CK_ATTRIBUTE ck[] = {{CKA_CLASS, &op, sizeof(op)},
                         {CKA_P11KMS_OP_NAME, "CreateKey", 9},
                         {CKA_P11KMS_OP_REQUEST, (void *)spec, strlen(spec)}};
    CK_ATTRIBUTE js = {CKA_P11KMS_OP_RESULT_JSON, json, sizeof(json) - 1};
    if (!request(s, ck, 3, &js) || strstr(json, "\"KeyId\":\"") == NULL)
        return 6;
    memcpy(kid, strstr(json, "\"KeyId\":\"") + 9, 36);
    CK_ATTRIBUTE sg[] = {
        {CKA_CLASS, &op, sizeof(op)},        {CKA_P11KMS_OP_NAME, "Sign", 4},
        {CKA_P11KMS_OP_KEY, kid, 36},        {CKA_P11KMS_OP_REQUEST, (void *)alg, strlen(alg)},
        {CKA_P11KMS_OP_PLAINTEXT, "msg", 3}, {CKA_P11KMS_OP_SIGNATURE, sig, 0}};
    CK_ATTRIBUTE so = {CKA_P11KMS_OP_RESULT_SIGNATURE, sig, sizeof(sig)};
    if (!request(s, sg, 5, &so))
        return 7;
    sg[1] = (CK_ATTRIBUTE){CKA_P11KMS_OP_NAME, "Verify", 6};
    sg[5].ulValueLen = so.ulValueLen;
    if (!request_status(s, sg, 6, &code, err, sizeof(err)) || code != CKR_OK)
        return 8;
    sg[4].pValue = "msh";
    if (!request_status(s, sg, 6, &code, err, sizeof(err)) || code != CKR_SIGNATURE_INVALID ||
        strcmp(err, "KMSInvalidSignatureException") != 0)
        return 9;
    const char *nb = "{\"NumberOfBytes\":32}";
    CK_ATTRIBUTE gr[] = {{CKA_CLASS, &op, sizeof(op)},
                         {CKA_P11KMS_OP_NAME, "GenerateRandom", 14},
                         {CKA_P11KMS_OP_REQUEST, (void *)nb, strlen(nb)}};
    CK_ATTRIBUTE ro = {CKA_P11KMS_OP_RESULT_PLAINTEXT, rnd, sizeof(rnd)};
    return request(s, gr, 3, &ro) && ro.ulValueLen == 32 ? 0 : 10;
}

static int run(CK_SESSION_HANDLE s)
{
    CK_ULONG cls = CKO_SECRET_KEY, n = 0, op = CKO_P11KMS_OPERATION;
    CK_OBJECT_HANDLE key;
    char kid[40] = "";
    CK_BYTE blob[1024], pt[64];
    CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, "env", 3}};
    CK_ATTRIBUTE ka = {CKA_P11KMS_KEY_ID, kid, 36};
    if (F->C_FindObjectsInit(s, find, 2) != CKR_OK || F->C_FindObjects(s, &key, 1, &n) != CKR_OK ||
        F->C_FindObjectsFinal(s) != CKR_OK || n != 1 ||
        F->C_GetAttributeValue(s, key, &ka, 1) != CKR_OK)
        return 2;
    CK_ATTRIBUTE enc[] = {{CKA_CLASS, &op, sizeof(op)},
                          {CKA_P11KMS_OP_NAME, "Encrypt", 7},
                          {CKA_P11KMS_OP_KEY, kid, 36},
                          {CKA_P11KMS_OP_PLAINTEXT, "rpc!", 4}};
    CK_ATTRIBUTE ct = {CKA_P11KMS_OP_RESULT_CIPHERTEXT, blob, sizeof(blob)};
    if (!request(s, enc, 4, &ct))
        return 3;
    CK_ATTRIBUTE dec[] = {{CKA_CLASS, &op, sizeof(op)},
                          {CKA_P11KMS_OP_NAME, "Decrypt", 7},
                          {CKA_P11KMS_OP_CIPHERTEXT, blob, ct.ulValueLen}};
    CK_ATTRIBUTE back = {CKA_P11KMS_OP_RESULT_PLAINTEXT, pt, sizeof(pt)};
    if (!request(s, dec, 3, &back))
        return 4;
    if (back.ulValueLen != 4 || memcmp(pt, "rpc!", 4) != 0)
        return 5;
    return run_asym(s);
}

int main(int argc, char **argv)
{
    CK_C_GetFunctionList gfl;
    CK_SLOT_ID slot;
    CK_ULONG ns = 1;
    CK_SESSION_HANDLE s;
    void *dl = argc == 3 ? dlopen(argv[1], RTLD_NOW) : NULL;
    if (dl == NULL || (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
        gfl(&F) != CKR_OK || F->C_Initialize(NULL) != CKR_OK)
        return 1;
    int rc = F->C_GetSlotList(CK_TRUE, &slot, &ns) != CKR_OK ||
                     F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) !=
                         CKR_OK ||
                     F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)argv[2], strlen(argv[2])) != CKR_OK
                 ? 1
                 : run(s);
    F->C_Finalize(NULL);
    if (rc != 0)
        fprintf(stderr, "oprequest-rpc: step %d failed\n", rc);
    return rc;
}
