/*
 * p11-oprequest.c — KMS operations through objects and attributes alone
 * (CKO_P11KMS_OPERATION, documented in include/p11kms/pkcs11.h).
 *
 * p11-kit 0.24's RPC carries every attribute but no vendor mechanism and
 * no AES mechanism with parameters (DESIGN.md, Layers), so a client
 * creates a session object of this class with the operation's name and
 * inputs; C_CreateObject executes it through kms.h (policy check with the
 * caller's identity, one audit record) and the results are read with
 * C_GetAttributeValue.  Only the creating session sees the object.  The
 * request JSON uses KMS's parameter names; binary inputs and outputs are
 * separate attributes, so no secret ever passes through JSON or the audit.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11-opreq-internal.h"

void p11kms_p11_oprequest_free(void *state)
{
    opreq *r = state;
    if (r == NULL)
        return;
    free(r->key);
    free(r->request);
    json_decref(r->req);
    free(r->json);
    p11kms_kms_bytes_clear(&r->plaintext);
    p11kms_kms_bytes_clear(&r->ciphertext);
    p11kms_kms_bytes_clear(&r->signature);
    free(r);
}

/* ---------------- request helpers ---------------- */

/* EncryptionContext (or `field`) as a kms.h context; strings only. */
CK_RV p11kms_p11_opreq_context(const opreq *r, const char *field, ctx_buf *b)
{
    json_t *o = r->req ? json_object_get(r->req, field) : NULL;
    const char *k;
    json_t *v;
    memset(b, 0, sizeof(*b));
    b->ctx.pairs = b->pairs;
    if (o == NULL)
        return CKR_OK;
    if (!json_is_object(o) || json_object_size(o) > 64)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        b->pairs[b->ctx.n].key = k;
        b->pairs[b->ctx.n++].value = json_string_value(v);
    }
    return CKR_OK;
}

const char *p11kms_p11_opreq_str(const opreq *r, const char *field)
{
    json_t *v = r->req ? json_object_get(r->req, field) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long p11kms_p11_opreq_int(const opreq *r, const char *field, long long def)
{
    json_t *v = r->req ? json_object_get(r->req, field) : NULL;
    return json_is_integer(v) ? json_integer_value(v) : def;
}

void p11kms_p11_opreq_respond(opreq *r, json_t *o)
{
    free(r->json);
    r->json = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
}

/* ---------------- operations ---------------- */

static p11kms_kms_rc op_encrypt(env *e)
{
    ctx_buf b;
    uint32_t ver = 0;
    if (e->r->in_pt == NULL || p11kms_p11_opreq_context(e->r, "EncryptionContext", &b) != CKR_OK)
        return P11KMS_KMS_VALIDATION;
    p11kms_kms_rc rc = p11kms_kms_encrypt(
        e->kms, e->who, NULL, e->r->key, e->r->in_pt->pValue, e->r->in_pt->ulValueLen, &b.ctx,
        P11KMS_KMS_ENC_SYMMETRIC_DEFAULT, &e->r->ciphertext, &ver);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(
            e->r, json_pack("{s:s,s:i}", "KeyId", e->r->key, "KeyVersion", (int)ver));
    return rc;
}

static p11kms_kms_rc op_decrypt(env *e)
{
    ctx_buf b;
    char key_id[37] = "";
    if (e->r->in_ct == NULL || p11kms_p11_opreq_context(e->r, "EncryptionContext", &b) != CKR_OK)
        return P11KMS_KMS_VALIDATION;
    p11kms_kms_rc rc = p11kms_kms_decrypt(
        e->kms, e->who, NULL, e->r->key, e->r->in_ct->pValue, e->r->in_ct->ulValueLen, &b.ctx,
        P11KMS_KMS_ENC_SYMMETRIC_DEFAULT, &e->r->plaintext, key_id);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(e->r, json_pack("{s:s}", "KeyId", key_id));
    return rc;
}

static p11kms_kms_rc op_reencrypt(env *e)
{
    ctx_buf src, dst;
    const char *dkey = p11kms_p11_opreq_str(e->r, "DestinationKeyId");
    if (e->r->in_ct == NULL || dkey == NULL ||
        p11kms_p11_opreq_context(e->r, "SourceEncryptionContext", &src) != CKR_OK ||
        p11kms_p11_opreq_context(e->r, "DestinationEncryptionContext", &dst) != CKR_OK)
        return P11KMS_KMS_VALIDATION;
    p11kms_kms_rc rc =
        p11kms_kms_re_encrypt(e->kms, e->who, e->r->in_ct->pValue, e->r->in_ct->ulValueLen,
                              &src.ctx, NULL, e->r->key, NULL, dkey, &dst.ctx, &e->r->ciphertext);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(e->r, json_pack("{s:s}", "KeyId", dkey));
    return rc;
}

static p11kms_kms_rc op_datakey(env *e, int with_plaintext)
{
    ctx_buf b;
    const char *spec = p11kms_p11_opreq_str(e->r, "KeySpec");
    p11kms_kms_data_key_spec ds = P11KMS_KMS_DATA_KEY_NONE;
    long long nb = p11kms_p11_opreq_int(e->r, "NumberOfBytes", 0);
    if (p11kms_p11_opreq_context(e->r, "EncryptionContext", &b) != CKR_OK || nb < 0 || nb > 1024)
        return P11KMS_KMS_VALIDATION;
    if (spec != NULL && strcmp(spec, "AES_256") == 0)
        ds = P11KMS_KMS_DATA_KEY_AES_256;
    else if (spec != NULL && strcmp(spec, "AES_128") == 0)
        ds = P11KMS_KMS_DATA_KEY_AES_128;
    else if (spec != NULL)
        return P11KMS_KMS_VALIDATION;
    return p11kms_kms_generate_data_key(e->kms, e->who, NULL, e->r->key, ds, (unsigned)nb, &b.ctx,
                                        with_plaintext ? &e->r->plaintext : NULL,
                                        &e->r->ciphertext);
}

static p11kms_kms_rc op_simple(env *e, const char *n)
{
    if (strcmp(n, "EnableKey") == 0)
        return p11kms_kms_enable_key(e->kms, e->who, NULL, e->r->key);
    if (strcmp(n, "DisableKey") == 0)
        return p11kms_kms_disable_key(e->kms, e->who, NULL, e->r->key);
    if (strcmp(n, "CancelKeyDeletion") == 0)
        return p11kms_kms_cancel_key_deletion(e->kms, e->who, NULL, e->r->key);
    if (strcmp(n, "ScheduleKeyDeletion") == 0)
        return p11kms_kms_schedule_key_deletion(
            e->kms, e->who, NULL, e->r->key,
            (unsigned)p11kms_p11_opreq_int(e->r, "PendingWindowInDays", 0), NULL);
    if (strcmp(n, "EnableKeyRotation") == 0)
        return p11kms_kms_enable_key_rotation(
            e->kms, e->who, NULL, e->r->key,
            (unsigned)p11kms_p11_opreq_int(e->r, "RotationPeriodInDays", 0));
    if (strcmp(n, "DisableKeyRotation") == 0)
        return p11kms_kms_disable_key_rotation(e->kms, e->who, NULL, e->r->key);
    if (strcmp(n, "RotateKeyOnDemand") == 0)
        return p11kms_kms_rotate_key_on_demand(e->kms, e->who, NULL, e->r->key, NULL);
    return P11KMS_KMS_RC_COUNT_;
}

static p11kms_kms_rc op_alias(env *e, const char *n)
{
    const char *alias = p11kms_p11_opreq_str(e->r, "AliasName");
    const char *target = p11kms_p11_opreq_str(e->r, "TargetKeyId");
    if (alias == NULL)
        return P11KMS_KMS_VALIDATION;
    if (strcmp(n, "DeleteAlias") == 0)
        return p11kms_kms_delete_alias(e->kms, e->who, alias);
    if (target == NULL)
        return P11KMS_KMS_VALIDATION;
    if (strcmp(n, "CreateAlias") == 0)
        return p11kms_kms_create_alias(e->kms, e->who, alias, target);
    return p11kms_kms_update_alias(e->kms, e->who, alias, target);
}

static p11kms_kms_rc op_run_due(env *e)
{
    p11kms_kms_run_due_report rep = {0};
    p11kms_kms_rc rc = p11kms_kms_run_due(e->kms, e->who, &rep);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(e->r,
                                 json_pack("{s:i,s:i,s:i}", "Rotated", (int)rep.rotated, "Deleted",
                                           (int)rep.deleted, "Failed", (int)rep.failed));
    return rc;
}

static p11kms_kms_rc op_describe(env *e)
{
    p11kms_kms_key_meta m;
    memset(&m, 0, sizeof(m));
    p11kms_kms_rc rc = p11kms_kms_describe_key(e->kms, e->who, NULL, e->r->key, &m);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(e->r,
                                 json_pack("{s:o}", "KeyMetadata", p11kms_p11_opreq_meta_json(&m)));
    p11kms_kms_key_meta_clear(&m);
    return rc;
}

static const char *const g_names[] = {
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "DescribeKey",
    "RunDue",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "EnableKey",
    "DisableKey",
    "CancelKeyDeletion",
    "ScheduleKeyDeletion",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "RotateKeyOnDemand",
};

static int known_name(const char *n, int *needs_key)
{
    for (size_t i = 0; i < sizeof(g_names) / sizeof(g_names[0]); i++)
        if (strcmp(g_names[i], n) == 0) {
            *needs_key = strcmp(n, "RunDue") != 0 && strstr(n, "Alias") == NULL &&
                         strcmp(n, "Decrypt") != 0 && strcmp(n, "ReEncrypt") != 0;
            return 1;
        }
    return p11kms_p11_opreq_ops_known(n, needs_key);
}

static p11kms_kms_rc dispatch(env *e)
{
    const char *n = e->r->name;
    int needs_key = 0;
    if (!known_name(n, &needs_key))
        return P11KMS_KMS_RC_COUNT_;
    if (needs_key && e->r->key == NULL)
        return P11KMS_KMS_VALIDATION;
    if (strcmp(n, "Encrypt") == 0)
        return op_encrypt(e);
    if (strcmp(n, "Decrypt") == 0)
        return op_decrypt(e);
    if (strcmp(n, "ReEncrypt") == 0)
        return op_reencrypt(e);
    if (strcmp(n, "GenerateDataKey") == 0 || strcmp(n, "GenerateDataKeyWithoutPlaintext") == 0)
        return op_datakey(e, strcmp(n, "GenerateDataKey") == 0);
    if (strcmp(n, "DescribeKey") == 0)
        return op_describe(e);
    if (strcmp(n, "RunDue") == 0)
        return op_run_due(e);
    if (strcmp(n, "CreateAlias") == 0 || strcmp(n, "UpdateAlias") == 0 ||
        strcmp(n, "DeleteAlias") == 0)
        return op_alias(e, n);
    p11kms_kms_rc rc = op_simple(e, n);
    return rc == P11KMS_KMS_RC_COUNT_ ? p11kms_p11_opreq_ops_dispatch(e) : rc;
}

/* ---------------- creation ---------------- */

static char *text_dup(const CK_ATTRIBUTE *a)
{
    char *s = a ? calloc(1, a->ulValueLen + 1) : NULL;
    if (s != NULL && a->ulValueLen)
        memcpy(s, a->pValue, a->ulValueLen);
    return s;
}

static CK_RV parse_inputs(opreq *r, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    const CK_ATTRIBUTE *name = p11kms_p11_attr_find(t, n, CKA_P11KMS_OP_NAME);
    const CK_ATTRIBUTE *key = p11kms_p11_attr_find(t, n, CKA_P11KMS_OP_KEY);
    const CK_ATTRIBUTE *req = p11kms_p11_attr_find(t, n, CKA_P11KMS_OP_REQUEST);
    json_error_t err;
    if (name == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (name->ulValueLen == 0 || name->ulValueLen >= sizeof(r->name))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(r->name, name->pValue, name->ulValueLen);
    r->key = key ? text_dup(key) : NULL;
    if (req != NULL) {
        r->request = text_dup(req);
        r->req = r->request ? json_loads(r->request, JSON_REJECT_DUPLICATES, &err) : NULL;
        if (r->req == NULL || !json_is_object(r->req))
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    r->in_pt = p11kms_p11_attr_find(t, n, CKA_P11KMS_OP_PLAINTEXT);
    r->in_ct = p11kms_p11_attr_find(t, n, CKA_P11KMS_OP_CIPHERTEXT);
    r->in_sig = p11kms_p11_attr_find(t, n, CKA_P11KMS_OP_SIGNATURE);
    return (key != NULL && r->key == NULL) ? CKR_HOST_MEMORY : CKR_OK;
}

CK_RV p11kms_p11_oprequest_create(const p11kms_p11_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                  p11kms_p11_object **out)
{
    const p11kms_p11_slot *slot = p11kms_p11_slot_get(s->slot);
    p11kms_p11_object *obj = calloc(1, sizeof(*obj));
    opreq *r = calloc(1, sizeof(*r));
    CK_RV rv = obj && r ? CKR_OK : CKR_HOST_MEMORY;
    if (rv == CKR_OK && slot->login != CKU_USER)
        rv = CKR_USER_NOT_LOGGED_IN;
    if (rv == CKR_OK)
        rv = parse_inputs(r, tmpl, n);
    if (rv != CKR_OK)
        goto done;
    env e = {slot->kms, p11kms_p11_caller(), r};
    p11kms_kms_rc rc = dispatch(&e);
    if (rc == P11KMS_KMS_RC_COUNT_) {
        rv = CKR_ATTRIBUTE_VALUE_INVALID; /* unknown operation name */
        goto done;
    }
    r->result = p11kms_p11_rv_from_kms(rc, P11KMS_P11_CTX_TOKEN);
    r->error = rc == P11KMS_KMS_OK ? "" : p11kms_kms_rc_name(rc);
    r->in_pt = r->in_ct = r->in_sig = NULL;
    *obj = (p11kms_p11_object){
        .kind = P11KMS_P11_OBJ_OPREQ, .slot = s->slot, .session = s->handle, .opreq = r};
    r = NULL;
    *out = obj;
    obj = NULL;
done:
    p11kms_p11_oprequest_free(r);
    free(obj);
    return rv;
}

static CK_RV put_bytes(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE t, const p11kms_kms_bytes *b)
{
    return b->data ? p11kms_p11_attrs_set(a, t, b->data, (CK_ULONG)b->len) : CKR_OK;
}

CK_RV p11kms_p11_oprequest_attrs(p11kms_p11_object *obj, p11kms_p11_attrs *out)
{
    const opreq *r = obj->opreq;
    CK_RV rv = p11kms_p11_attrs_set_ulong(out, CKA_CLASS, CKO_P11KMS_OPERATION);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_bool(out, CKA_TOKEN, CK_FALSE);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set(out, CKA_P11KMS_OP_NAME, r->name, strlen(r->name));
    if (rv == CKR_OK && r->key)
        rv = p11kms_p11_attrs_set(out, CKA_P11KMS_OP_KEY, r->key, strlen(r->key));
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set_ulong(out, CKA_P11KMS_OP_RESULT_CODE, r->result);
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set(out, CKA_P11KMS_OP_RESULT_ERROR, r->error, strlen(r->error));
    if (rv == CKR_OK)
        rv = p11kms_p11_attrs_set(out, CKA_P11KMS_OP_RESULT_JSON, r->json ? r->json : "{}",
                                  r->json ? strlen(r->json) : 2);
    if (rv == CKR_OK)
        rv = put_bytes(out, CKA_P11KMS_OP_RESULT_PLAINTEXT, &r->plaintext);
    if (rv == CKR_OK)
        rv = put_bytes(out, CKA_P11KMS_OP_RESULT_CIPHERTEXT, &r->ciphertext);
    if (rv == CKR_OK)
        rv = put_bytes(out, CKA_P11KMS_OP_RESULT_SIGNATURE, &r->signature);
    return rv;
}
