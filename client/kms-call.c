/*
 * client/kms-call.c — the one generic KMS call of libp11kms-client: a
 * CKO_P11KMS_OPERATION object created with the request, its result
 * attributes read back, then destroyed (include/p11kms/pkcs11.h).  Also
 * the error and result plumbing every client/kms-*.c file shares.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/kms-internal.h"
#include "p11kms/pkcs11.h"

int p11kms_client_kms_fail(p11kms_client_kms_error *e, const char *exception, unsigned long rv,
                           const char *fmt, ...)
{
    va_list ap;
    if (e == NULL)
        return 0;
    snprintf(e->exception, sizeof(e->exception), "%s", exception ? exception : "");
    va_start(ap, fmt);
    vsnprintf(e->err.msg, sizeof(e->err.msg), fmt, ap);
    va_end(ap);
    e->err.rv = rv;
    return 0;
}

int p11kms_client_kms_fail_op(p11kms_client_kms_error *e, const char *op, const char *key_id,
                              const char *exception, unsigned long rv)
{
    if (key_id != NULL)
        return p11kms_client_kms_fail(e, exception, rv, "%s failed for key %s (%s)", op, key_id,
                                      p11kms_client_rv_name(rv));
    return p11kms_client_kms_fail(e, exception, rv, "%s failed (%s)", op,
                                  p11kms_client_rv_name(rv));
}

int p11kms_client_kms_unsupported(const p11kms_client_kms_error *e)
{
    return e != NULL && strcmp(e->exception, "UnsupportedOperationException") == 0;
}

const char *p11kms_client_kms_error_msg(const p11kms_client_kms_error *e)
{
    return e ? e->err.msg : "";
}

static const struct {
    unsigned long rv;
    const char *name;
} g_rv_names[] = {
    {CKR_P11KMS_KEY_DISABLED, "DisabledException"},
    {CKR_P11KMS_KEY_INVALID_STATE, "KMSInvalidStateException"},
    {CKR_P11KMS_NOT_FOUND, "NotFoundException"},
    {CKR_P11KMS_ALREADY_EXISTS, "AlreadyExistsException"},
    {CKR_P11KMS_MALFORMED_POLICY, "MalformedPolicyDocumentException"},
    {CKR_P11KMS_LIMIT_EXCEEDED, "LimitExceededException"},
    {CKR_P11KMS_INVALID_CIPHERTEXT, "InvalidCiphertextException"},
    {CKR_P11KMS_INCORRECT_KEY, "IncorrectKeyException"},
    {CKR_P11KMS_INVALID_GRANT, "InvalidGrantTokenException"},
    {CKR_P11KMS_STORE_BUSY, "DependencyTimeoutException"},
    {CKR_P11KMS_AUDIT_FAILED, "KMSInternalException"},
    {CKR_P11KMS_STORE_CORRUPT, "KMSInternalException"},
    {CKR_P11KMS_KMS_INTERNAL, "KMSInternalException"},
    {CKR_P11KMS_INVALID_ALIAS, "InvalidAliasNameException"},
    {CKR_P11KMS_UNSUPPORTED_OPERATION, "UnsupportedOperationException"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "AccessDeniedException"},
    {CKR_ACTION_PROHIBITED, "AccessDeniedException"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "ValidationException"},
    {CKR_TEMPLATE_INCONSISTENT, "ValidationException"},
    {CKR_KEY_SIZE_RANGE, "ValidationException"},
    {CKR_DATA_LEN_RANGE, "ValidationException"},
    {CKR_CURVE_NOT_SUPPORTED, "ValidationException"},
    {CKR_ENCRYPTED_DATA_INVALID, "InvalidCiphertextException"},
    {CKR_ENCRYPTED_DATA_LEN_RANGE, "InvalidCiphertextException"},
    {CKR_SIGNATURE_INVALID, "KMSInvalidSignatureException"},
    {CKR_SIGNATURE_LEN_RANGE, "KMSInvalidSignatureException"},
    {CKR_KEY_TYPE_INCONSISTENT, "InvalidKeyUsageException"},
    {CKR_KEY_HANDLE_INVALID, "NotFoundException"},
};

const char *p11kms_client_kms_exception_of_rv(unsigned long rv)
{
    for (size_t i = 0; i < sizeof(g_rv_names) / sizeof(g_rv_names[0]); i++)
        if (g_rv_names[i].rv == rv)
            return g_rv_names[i].name;
    return "";
}

void p11kms_client_kms_result_clear(p11kms_client_kms_result *r)
{
    if (r == NULL)
        return;
    json_decref(r->json);
    OPENSSL_clear_free(r->plaintext, r->plaintext_len);
    OPENSSL_free(r->ciphertext);
    OPENSSL_free(r->signature);
    memset(r, 0, sizeof(*r));
}

int p11kms_client_kms_attr(const p11kms_client_kms *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t,
                           unsigned char **val, size_t *len)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_ATTRIBUTE a = {t, NULL, 0};
    int ok = 0;
    *val = NULL;
    *len = 0;
    if (f->C_GetAttributeValue(s->session, h, &a, 1) != CKR_OK ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        goto done;
    a.pValue = OPENSSL_zalloc(a.ulValueLen + 1);
    if (a.pValue == NULL || f->C_GetAttributeValue(s->session, h, &a, 1) != CKR_OK)
        goto done;
    *val = a.pValue;
    *len = a.ulValueLen;
    a.pValue = NULL;
    ok = 1;
done:
    OPENSSL_clear_free(a.pValue, a.pValue ? a.ulValueLen + 1 : 0);
    return ok;
}

/* The request template: class, name, key, JSON and binary inputs. */
typedef struct req_tmpl {
    CK_OBJECT_CLASS cls;
    CK_BBOOL no;
    CK_ATTRIBUTE a[8];
    CK_ULONG n;
    char *json;
} req_tmpl;

static void tmpl_add(req_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, size_t len)
{
    t->a[t->n].type = type;
    t->a[t->n].pValue = (void *)v;
    t->a[t->n].ulValueLen = len;
    t->n++;
}

static int tmpl_build(req_tmpl *t, const p11kms_client_kms_request *r)
{
    memset(t, 0, sizeof(*t));
    t->cls = CKO_P11KMS_OPERATION;
    t->no = CK_FALSE;
    tmpl_add(t, CKA_CLASS, &t->cls, sizeof(t->cls));
    tmpl_add(t, CKA_TOKEN, &t->no, sizeof(t->no));
    tmpl_add(t, CKA_P11KMS_OP_NAME, r->op, strlen(r->op));
    if (r->key_id != NULL)
        tmpl_add(t, CKA_P11KMS_OP_KEY, r->key_id, strlen(r->key_id));
    if (r->params != NULL) {
        t->json = json_dumps(r->params, JSON_COMPACT);
        if (t->json == NULL)
            return 0;
        tmpl_add(t, CKA_P11KMS_OP_REQUEST, t->json, strlen(t->json));
    }
    if (r->plaintext != NULL)
        tmpl_add(t, CKA_P11KMS_OP_PLAINTEXT, r->plaintext, r->plaintext_len);
    if (r->ciphertext != NULL)
        tmpl_add(t, CKA_P11KMS_OP_CIPHERTEXT, r->ciphertext, r->ciphertext_len);
    if (r->signature != NULL)
        tmpl_add(t, CKA_P11KMS_OP_SIGNATURE, r->signature, r->signature_len);
    return 1;
}

/* The outcome attributes: code and exception. */
static int read_outcome(const p11kms_client_kms *s, CK_OBJECT_HANDLE h,
                        const p11kms_client_kms_request *r, p11kms_client_kms_error *err)
{
    unsigned char *code = NULL, *exc = NULL;
    size_t codelen = 0, exclen = 0;
    CK_ULONG rv = CKR_OK;
    int ok = 0;
    if (!p11kms_client_kms_attr(s, h, CKA_P11KMS_OP_RESULT_CODE, &code, &codelen) ||
        codelen != sizeof(CK_ULONG)) {
        p11kms_client_kms_fail(err, "", CKR_GENERAL_ERROR, "%s: the module gave no result code",
                               r->op);
        goto done;
    }
    memcpy(&rv, code, sizeof(rv));
    (void)p11kms_client_kms_attr(s, h, CKA_P11KMS_OP_RESULT_ERROR, &exc, &exclen);
    if (rv != CKR_OK) {
        const char *name =
            exc && exclen ? (const char *)exc : p11kms_client_kms_exception_of_rv(rv);
        p11kms_client_kms_fail_op(err, r->op, r->key_id, name, rv);
        goto done;
    }
    ok = 1;
done:
    OPENSSL_free(code);
    OPENSSL_free(exc);
    return ok;
}

static int read_results(const p11kms_client_kms *s, CK_OBJECT_HANDLE h,
                        const p11kms_client_kms_request *r, p11kms_client_kms_result *res,
                        p11kms_client_kms_error *err)
{
    unsigned char *json = NULL;
    size_t len = 0;
    json_error_t je;
    int ok = 0;
    if (p11kms_client_kms_attr(s, h, CKA_P11KMS_OP_RESULT_JSON, &json, &len) && len > 0)
        res->json = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &je);
    else
        res->json = json_object();
    if (!json_is_object(res->json)) {
        p11kms_client_kms_fail(err, "", CKR_GENERAL_ERROR, "%s: malformed result JSON", r->op);
        goto done;
    }
    (void)p11kms_client_kms_attr(s, h, CKA_P11KMS_OP_RESULT_PLAINTEXT, &res->plaintext,
                                 &res->plaintext_len);
    (void)p11kms_client_kms_attr(s, h, CKA_P11KMS_OP_RESULT_CIPHERTEXT, &res->ciphertext,
                                 &res->ciphertext_len);
    (void)p11kms_client_kms_attr(s, h, CKA_P11KMS_OP_RESULT_SIGNATURE, &res->signature,
                                 &res->signature_len);
    ok = 1;
done:
    OPENSSL_free(json);
    return ok;
}

static int call_direct(const p11kms_client_kms *s, const p11kms_client_kms_request *req,
                       p11kms_client_kms_result *res, p11kms_client_kms_error *err);

/* Operations whose KeyId may be an alias in KMS; management calls want a key id. */
static int accepts_alias(const char *op)
{
    static const char *const ops[] = {"Encrypt",
                                      "Decrypt",
                                      "ReEncrypt",
                                      "GenerateDataKey",
                                      "GenerateDataKeyWithoutPlaintext",
                                      "Sign",
                                      "Verify",
                                      "GenerateMac",
                                      "VerifyMac",
                                      "GetPublicKey",
                                      "DescribeKey"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i], op) == 0)
            return 1;
    return 0;
}

/*
 * The key id of an alias, through DescribeKey, so that `--key-id alias/NAME`
 * works for management calls too (the CLI's promise); the module still
 * checks the policy of the key the alias names.
 */
static int resolve_alias(const p11kms_client_kms *s, const char *ref, char id[37],
                         p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {.op = "DescribeKey", .key_id = ref};
    p11kms_client_kms_result d;
    const char *v;
    if (!call_direct(s, &r, &d, err))
        return 0;
    v = json_string_value(json_object_get(json_object_get(d.json, "KeyMetadata"), "KeyId"));
    int ok = v != NULL && strlen(v) == 36;
    snprintf(id, 37, "%s", ok ? v : "");
    p11kms_client_kms_result_clear(&d);
    return ok || p11kms_client_kms_fail(err, "NotFoundException", 0, "no key id for %s", ref);
}

/* One operation object: create, read the outcome and results, destroy. */
static int call_direct(const p11kms_client_kms *s, const p11kms_client_kms_request *req,
                       p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    CK_FUNCTION_LIST *f = p11kms_client_module_functions(s->mod);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    req_tmpl t;
    CK_RV rv;
    int ok = 0;
    memset(res, 0, sizeof(*res));
    if (!tmpl_build(&t, req)) {
        p11kms_client_kms_fail(err, "", CKR_HOST_MEMORY, "%s: out of memory", req->op);
        goto done;
    }
    rv = f->C_CreateObject(s->session, t.a, t.n, &h);
    if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
        rv == CKR_TEMPLATE_INCONSISTENT) {
        p11kms_client_kms_fail(err, "UnsupportedOperationException", rv,
                               "%s is not supported by this module (%s)", req->op,
                               p11kms_client_rv_name(rv));
        goto done;
    }
    if (rv != CKR_OK) {
        p11kms_client_kms_fail_op(err, req->op, req->key_id, p11kms_client_kms_exception_of_rv(rv),
                                  rv);
        goto done;
    }
    ok = read_outcome(s, h, req, err) && read_results(s, h, req, res, err);
done:
    if (h != CK_INVALID_HANDLE)
        (void)f->C_DestroyObject(s->session, h);
    if (!ok)
        p11kms_client_kms_result_clear(res);
    free(t.json);
    return ok;
}

int p11kms_client_kms_call(const p11kms_client_kms *s, const p11kms_client_kms_request *req,
                           p11kms_client_kms_result *res, p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r2;
    char id[37];
    if (req->key_id == NULL || strncmp(req->key_id, "alias/", 6) != 0 || accepts_alias(req->op))
        return call_direct(s, req, res, err);
    memset(res, 0, sizeof(*res));
    if (!resolve_alias(s, req->key_id, id, err))
        return 0;
    r2 = *req;
    r2.key_id = id;
    return call_direct(s, &r2, res, err);
}

int p11kms_client_kms_simple(const p11kms_client_kms *s, const char *op, const char *key_id,
                             json_t *params, p11kms_client_kms_result *res,
                             p11kms_client_kms_error *err)
{
    p11kms_client_kms_request r = {.op = op, .key_id = key_id, .params = params};
    p11kms_client_kms_result tmp;
    int ok = p11kms_client_kms_call(s, &r, res ? res : &tmp, err);
    if (res == NULL && ok)
        p11kms_client_kms_result_clear(&tmp);
    json_decref(params);
    return ok;
}
