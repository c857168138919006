/*
 * p11-opreq-ops.c — the operation-object route (p11-oprequest.c) for the
 * key, signature, MAC, policy, grant and rotation calls of kms.h.  Each
 * handler reads KMS's request parameter names, makes ONE kms.h call (which
 * checks policy and writes the one audit record) and answers with KMS's
 * response element names.  Binary inputs and outputs travel in their own
 * attributes (OP_PLAINTEXT = Message, OP_SIGNATURE = Signature / Mac,
 * OP_RESULT_SIGNATURE = Signature / Mac, OP_RESULT_PLAINTEXT = random
 * bytes, OP_RESULT_CIPHERTEXT = the DER public key of GetPublicKey).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "common/timeutil.h"
#include "pkcs11/p11-opreq-internal.h"

/* ---------------- JSON helpers ---------------- */

static json_t *iso_date(int64_t ms)
{
    char buf[P11KMS_ISO8601_BUF_SIZE];
    return p11kms_time_format_iso8601(ms, buf) ? json_string(buf) : json_null();
}

typedef const char *(*alg_namer)(int v);

static const char *enc_name(int v)
{
    return p11kms_kms_enc_alg_name((p11kms_kms_enc_alg)v);
}
static const char *sig_name(int v)
{
    return p11kms_kms_sign_alg_name((p11kms_kms_sign_alg)v);
}
static const char *mac_name(int v)
{
    return p11kms_kms_mac_alg_name((p11kms_kms_mac_alg)v);
}

/* KMS lists only its own algorithms: the raw P11KMS_AES_* routes stay out. */
static json_t *alg_array(p11kms_kms_alg_set set, int count, alg_namer name)
{
    json_t *a = json_array();
    for (int i = 0; a != NULL && i < count && i < 32; i++)
        if ((set & (1u << i)) && strncmp(name(i), "P11KMS_", 7) != 0)
            json_array_append_new(a, json_string(name(i)));
    return a;
}

static void put_algs(json_t *o, const char *field, p11kms_kms_alg_set set, int count,
                     alg_namer name)
{
    if (set != 0)
        json_object_set_new(o, field, alg_array(set, count, name));
}

json_t *p11kms_p11_opreq_meta_json(const p11kms_kms_key_meta *m)
{
    json_t *o = json_pack(
        "{s:s,s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "KeyId", m->key_id, "Enabled", m->enabled,
        "KeyState", p11kms_kms_state_name(m->state), "KeySpec", p11kms_kms_spec_name(m->spec),
        "KeyUsage", p11kms_kms_usage_name(m->usage), "KeyManager",
        p11kms_kms_manager_name(m->manager), "Origin", p11kms_kms_origin_name(m->origin),
        "Description", m->description ? m->description : "", "CurrentKeyVersion",
        (int)m->current_version);
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "CreationDate", iso_date(m->creation_date_ms));
    if (m->deletion_date_ms != 0) {
        json_object_set_new(o, "DeletionDate", iso_date(m->deletion_date_ms));
        json_object_set_new(o, "PendingDeletionWindowInDays", json_integer(m->pending_window_days));
    }
    put_algs(o, "EncryptionAlgorithms", m->encryption_algorithms, P11KMS_KMS_ENC_COUNT_, enc_name);
    put_algs(o, "SigningAlgorithms", m->signing_algorithms, P11KMS_KMS_SIGN_COUNT_, sig_name);
    put_algs(o, "MacAlgorithms", m->mac_algorithms, P11KMS_KMS_MAC_COUNT_, mac_name);
    return o;
}

static int req_bool(const opreq *r, const char *field)
{
    json_t *v = r->req ? json_object_get(r->req, field) : NULL;
    return json_is_true(v);
}

/* Limit 1..1000 or absent (0 = the engine's default). */
static int req_limit(const opreq *r, unsigned *out)
{
    long long v = p11kms_p11_opreq_int(r, "Limit", 0);
    *out = (unsigned)v;
    return v >= 0 && v <= 1000;
}

static void paged(json_t *o, const char *next_marker)
{
    json_object_set_new(o, "Truncated", json_boolean(next_marker != NULL));
    if (next_marker != NULL)
        json_object_set_new(o, "NextMarker", json_string(next_marker));
}

/* ---------------- keys ---------------- */

static p11kms_kms_rc create_params(const opreq *r, p11kms_kms_create_params *p)
{
    const char *spec = p11kms_p11_opreq_str(r, "KeySpec");
    const char *usage = p11kms_p11_opreq_str(r, "KeyUsage");
    const char *origin = p11kms_p11_opreq_str(r, "Origin");
    memset(p, 0, sizeof(*p));
    if (spec != NULL && !p11kms_kms_spec_parse(spec, &p->spec))
        return P11KMS_KMS_VALIDATION;
    if (usage != NULL && !p11kms_kms_usage_parse(usage, &p->usage))
        return P11KMS_KMS_VALIDATION;
    if (usage == NULL && p->spec >= P11KMS_KMS_SPEC_HMAC_256 && p->spec <= P11KMS_KMS_SPEC_HMAC_512)
        p->usage = P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC;
    else if (usage == NULL && p->spec >= P11KMS_KMS_SPEC_ECC_NIST_P256)
        p->usage = P11KMS_KMS_USAGE_SIGN_VERIFY;
    if (origin != NULL && strcmp(origin, "AWS_KMS") != 0 && strcmp(origin, "P11KMS") != 0)
        return P11KMS_KMS_UNSUPPORTED; /* EXTERNAL: key import is not offered here */
    p->description = p11kms_p11_opreq_str(r, "Description");
    p->policy_json = p11kms_p11_opreq_str(r, "Policy");
    p->bypass_policy_lockout_check = req_bool(r, "BypassPolicyLockoutSafetyCheck");
    return P11KMS_KMS_OK;
}

#define SERVICE_ALIAS_PREFIX "alias/p11kms/"

/* CreateKey naming alias/p11kms/SERVICE asks for that service's managed key
 * (DESIGN.md: service keys): the engine creates it on first use with its
 * fixed settings, or returns the existing one, whatever else the request
 * says; a customer cannot create a key under the reserved prefix otherwise. */
static p11kms_kms_rc service_key(env *e, const char *alias, p11kms_kms_key_meta *m)
{
    char id[37];
    p11kms_kms_rc rc =
        p11kms_kms_service_key(e->kms, e->who, alias + strlen(SERVICE_ALIAS_PREFIX), id);
    if (rc == P11KMS_KMS_OK)
        rc = p11kms_kms_describe_key(e->kms, e->who, NULL, id, m);
    return rc;
}

static p11kms_kms_rc op_create_key(env *e)
{
    p11kms_kms_create_params p;
    p11kms_kms_key_meta m;
    const char *alias = p11kms_p11_opreq_str(e->r, "AliasName");
    p11kms_kms_rc rc = create_params(e->r, &p);
    memset(&m, 0, sizeof(m));
    if (rc == P11KMS_KMS_OK && alias != NULL &&
        strncmp(alias, SERVICE_ALIAS_PREFIX, strlen(SERVICE_ALIAS_PREFIX)) == 0) {
        rc = service_key(e, alias, &m);
        alias = NULL; /* the engine named it */
    } else if (rc == P11KMS_KMS_OK)
        rc = p11kms_kms_create_key(e->kms, e->who, &p, &m);
    if (rc != P11KMS_KMS_OK)
        goto done;
    p11kms_p11_opreq_respond(e->r,
                             json_pack("{s:o}", "KeyMetadata", p11kms_p11_opreq_meta_json(&m)));
    if (alias != NULL) /* CLI convenience: an audited CreateAlias of its own */
        rc = p11kms_kms_create_alias(e->kms, e->who, alias, m.key_id);
done:
    p11kms_kms_key_meta_clear(&m);
    return rc;
}

static p11kms_kms_rc op_list_keys(env *e)
{
    p11kms_kms_key_list l = {0};
    unsigned limit;
    json_t *keys;
    if (!req_limit(e->r, &limit))
        return P11KMS_KMS_VALIDATION;
    p11kms_kms_rc rc =
        p11kms_kms_list_keys(e->kms, e->who, limit, p11kms_p11_opreq_str(e->r, "Marker"), &l);
    if (rc != P11KMS_KMS_OK)
        return rc;
    keys = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(keys, json_pack("{s:s}", "KeyId", l.key_ids[i]));
    json_t *o = json_pack("{s:o}", "Keys", keys);
    if (o != NULL)
        paged(o, l.next_marker);
    p11kms_p11_opreq_respond(e->r, o);
    p11kms_kms_key_list_clear(&l);
    return rc;
}

static p11kms_kms_rc op_list_aliases(env *e)
{
    p11kms_kms_alias_list l = {0};
    unsigned limit;
    json_t *arr;
    if (!req_limit(e->r, &limit))
        return P11KMS_KMS_VALIDATION;
    const char *kid = e->r->key ? e->r->key : p11kms_p11_opreq_str(e->r, "KeyId");
    p11kms_kms_rc rc = p11kms_kms_list_aliases(e->kms, e->who, kid, limit,
                                               p11kms_p11_opreq_str(e->r, "Marker"), &l);
    if (rc != P11KMS_KMS_OK)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:o}", "AliasName", l.entries[i].alias_name,
                                        "TargetKeyId", l.entries[i].target_key_id, "CreationDate",
                                        iso_date(l.entries[i].creation_date_ms)));
    json_t *o = json_pack("{s:o}", "Aliases", arr);
    if (o != NULL)
        paged(o, l.next_marker);
    p11kms_p11_opreq_respond(e->r, o);
    p11kms_kms_alias_list_clear(&l);
    return rc;
}

static p11kms_kms_rc op_update_description(env *e)
{
    const char *d = p11kms_p11_opreq_str(e->r, "Description");
    if (d == NULL)
        return P11KMS_KMS_VALIDATION;
    return p11kms_kms_update_key_description(e->kms, e->who, NULL, e->r->key, d);
}

/* ---------------- signatures, MACs, random, public keys ---------------- */

static p11kms_kms_rc sign_inputs(const opreq *r, p11kms_kms_sign_alg *alg,
                                 p11kms_kms_message_type *type)
{
    const char *a = p11kms_p11_opreq_str(r, "SigningAlgorithm");
    const char *t = p11kms_p11_opreq_str(r, "MessageType");
    if (r->in_pt == NULL || a == NULL || !p11kms_kms_sign_alg_parse(a, alg))
        return P11KMS_KMS_VALIDATION;
    if (t == NULL || strcmp(t, "RAW") == 0)
        *type = P11KMS_KMS_MESSAGE_RAW;
    else if (strcmp(t, "DIGEST") == 0)
        *type = P11KMS_KMS_MESSAGE_DIGEST;
    else
        return P11KMS_KMS_VALIDATION;
    return P11KMS_KMS_OK;
}

static p11kms_kms_rc op_sign(env *e, int verify)
{
    p11kms_kms_sign_alg alg;
    p11kms_kms_message_type type;
    const CK_ATTRIBUTE *m = e->r->in_pt, *s = e->r->in_sig;
    p11kms_kms_rc rc = sign_inputs(e->r, &alg, &type);
    if (rc == P11KMS_KMS_OK && verify && s == NULL)
        rc = P11KMS_KMS_VALIDATION;
    if (rc == P11KMS_KMS_OK && verify)
        rc = p11kms_kms_verify(e->kms, e->who, NULL, e->r->key, m->pValue, m->ulValueLen, type, alg,
                               s->pValue, s->ulValueLen);
    else if (rc == P11KMS_KMS_OK)
        rc = p11kms_kms_sign(e->kms, e->who, NULL, e->r->key, m->pValue, m->ulValueLen, type, alg,
                             &e->r->signature);
    if (rc != P11KMS_KMS_OK)
        return rc;
    json_t *o = json_pack("{s:s,s:s}", "KeyId", e->r->key, "SigningAlgorithm",
                          p11kms_kms_sign_alg_name(alg));
    if (o != NULL && verify)
        json_object_set_new(o, "SignatureValid", json_true());
    p11kms_p11_opreq_respond(e->r, o);
    return rc;
}

static p11kms_kms_rc op_mac(env *e, int verify)
{
    p11kms_kms_mac_alg alg;
    const char *a = p11kms_p11_opreq_str(e->r, "MacAlgorithm");
    const CK_ATTRIBUTE *m = e->r->in_pt, *s = e->r->in_sig;
    p11kms_kms_rc rc;
    if (m == NULL || a == NULL || !p11kms_kms_mac_alg_parse(a, &alg) || (verify && s == NULL))
        return P11KMS_KMS_VALIDATION;
    if (verify)
        rc = p11kms_kms_verify_mac(e->kms, e->who, NULL, e->r->key, m->pValue, m->ulValueLen, alg,
                                   s->pValue, s->ulValueLen);
    else
        rc = p11kms_kms_generate_mac(e->kms, e->who, NULL, e->r->key, m->pValue, m->ulValueLen, alg,
                                     &e->r->signature);
    if (rc != P11KMS_KMS_OK)
        return rc;
    json_t *o = json_pack("{s:s,s:s}", "KeyId", e->r->key, "MacAlgorithm", a);
    if (o != NULL && verify)
        json_object_set_new(o, "MacValid", json_true());
    p11kms_p11_opreq_respond(e->r, o);
    return rc;
}

static p11kms_kms_rc op_random(env *e)
{
    long long n = p11kms_p11_opreq_int(e->r, "NumberOfBytes", 0);
    if (n < 1 || n > 1024)
        return P11KMS_KMS_VALIDATION;
    return p11kms_kms_generate_random(e->kms, e->who, (unsigned)n, &e->r->plaintext);
}

static p11kms_kms_rc op_public_key(env *e)
{
    p11kms_kms_public_key pk;
    char *b64 = NULL;
    memset(&pk, 0, sizeof(pk));
    p11kms_kms_rc rc = p11kms_kms_get_public_key(e->kms, e->who, NULL, e->r->key, &pk);
    if (rc == P11KMS_KMS_OK && (b64 = p11kms_b64_encode_alloc(pk.spki.data, pk.spki.len)) == NULL)
        rc = P11KMS_KMS_NOMEM;
    if (rc != P11KMS_KMS_OK)
        goto done;
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s}", "KeyId", e->r->key, "KeySpec", p11kms_kms_spec_name(pk.spec),
                  "KeyUsage", p11kms_kms_usage_name(pk.usage), "PublicKey", b64);
    if (o != NULL) {
        put_algs(o, "EncryptionAlgorithms", pk.encryption_algorithms, P11KMS_KMS_ENC_COUNT_,
                 enc_name);
        put_algs(o, "SigningAlgorithms", pk.signing_algorithms, P11KMS_KMS_SIGN_COUNT_, sig_name);
    }
    p11kms_p11_opreq_respond(e->r, o);
    e->r->ciphertext = pk.spki; /* DER SPKI, also as bytes */
    pk.spki = (p11kms_kms_bytes){0};
done:
    free(b64);
    p11kms_kms_bytes_clear(&pk.spki);
    return rc;
}

/* ---------------- policies ---------------- */

static const char *policy_name(const opreq *r)
{
    const char *n = p11kms_p11_opreq_str(r, "PolicyName");
    return n ? n : "default";
}

static p11kms_kms_rc op_get_key_policy(env *e)
{
    char *doc = NULL;
    p11kms_kms_rc rc =
        p11kms_kms_get_key_policy(e->kms, e->who, NULL, e->r->key, policy_name(e->r), &doc);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(
            e->r, json_pack("{s:s,s:s}", "Policy", doc, "PolicyName", policy_name(e->r)));
    free(doc);
    return rc;
}

static p11kms_kms_rc op_put_key_policy(env *e)
{
    const char *doc = p11kms_p11_opreq_str(e->r, "Policy");
    if (doc == NULL)
        return P11KMS_KMS_VALIDATION;
    return p11kms_kms_put_key_policy(e->kms, e->who, NULL, e->r->key, policy_name(e->r), doc,
                                     req_bool(e->r, "BypassPolicyLockoutSafetyCheck"));
}

static p11kms_kms_rc op_list_key_policies(env *e)
{
    p11kms_kms_rc rc = p11kms_kms_list_key_policies(e->kms, e->who, NULL, e->r->key);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(
            e->r, json_pack("{s:[s],s:b}", "PolicyNames", "default", "Truncated", 0));
    return rc;
}

static p11kms_kms_rc op_identity_policy(env *e, const char *n)
{
    const char *who = p11kms_p11_opreq_str(e->r, "Principal");
    const char *doc = p11kms_p11_opreq_str(e->r, "Policy");
    char *out = NULL;
    p11kms_kms_rc rc;
    if (who == NULL)
        return P11KMS_KMS_VALIDATION;
    if (strcmp(n, "DeleteIdentityPolicy") == 0)
        return p11kms_kms_delete_identity_policy(e->kms, e->who, who);
    if (strcmp(n, "PutIdentityPolicy") == 0)
        return doc ? p11kms_kms_put_identity_policy(e->kms, e->who, who, doc)
                   : P11KMS_KMS_VALIDATION;
    rc = p11kms_kms_get_identity_policy(e->kms, e->who, who, &out);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(e->r, json_pack("{s:s,s:s}", "Principal", who, "Policy", out));
    free(out);
    return rc;
}

/* ---------------- grants ---------------- */

typedef struct grant_buf {
    const char *ops[32];
    ctx_buf eq, sub;
    p11kms_kms_grant_params gp;
} grant_buf;

/* Constraints.EncryptionContextEquals / ...Subset, through a shallow
 * request view so the context parser of p11-oprequest.c applies. */
static int grant_constraint(const opreq *r, const char *field, ctx_buf *b,
                            const p11kms_kms_context **out)
{
    json_t *c = r->req ? json_object_get(r->req, "Constraints") : NULL;
    opreq view = {.req = c};
    if (c != NULL && !json_is_object(c))
        return 0;
    if (c == NULL || json_object_get(c, field) == NULL)
        return 1;
    *out = &b->ctx;
    return p11kms_p11_opreq_context(&view, field, b) == CKR_OK;
}

static p11kms_kms_rc grant_params(const opreq *r, grant_buf *g)
{
    json_t *ops = r->req ? json_object_get(r->req, "Operations") : NULL;
    json_t *v;
    size_t i;
    memset(g, 0, sizeof(*g));
    g->gp.grantee_principal = p11kms_p11_opreq_str(r, "GranteePrincipal");
    g->gp.retiring_principal = p11kms_p11_opreq_str(r, "RetiringPrincipal");
    g->gp.name = p11kms_p11_opreq_str(r, "Name");
    if (g->gp.grantee_principal == NULL || !json_is_array(ops) || json_array_size(ops) == 0 ||
        json_array_size(ops) > 32)
        return P11KMS_KMS_VALIDATION;
    json_array_foreach(ops, i, v)
    {
        if (!json_is_string(v))
            return P11KMS_KMS_VALIDATION;
        g->ops[i] = json_string_value(v);
    }
    g->gp.operations = g->ops;
    g->gp.n_operations = json_array_size(ops);
    if (!grant_constraint(r, "EncryptionContextEquals", &g->eq, &g->gp.ec_equals) ||
        !grant_constraint(r, "EncryptionContextSubset", &g->sub, &g->gp.ec_subset))
        return P11KMS_KMS_VALIDATION;
    return P11KMS_KMS_OK;
}

static p11kms_kms_rc op_create_grant(env *e)
{
    grant_buf g;
    char *id = NULL, *token = NULL;
    p11kms_kms_rc rc = grant_params(e->r, &g);
    if (rc == P11KMS_KMS_OK)
        rc = p11kms_kms_create_grant(e->kms, e->who, NULL, e->r->key, &g.gp, &id, &token);
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(e->r, json_pack("{s:s,s:s}", "GrantId", id, "GrantToken", token));
    free(id);
    free(token);
    return rc;
}

static p11kms_kms_rc op_list_grants(env *e)
{
    char *text = NULL;
    json_error_t err;
    json_t *arr = NULL;
    p11kms_kms_rc rc = p11kms_kms_list_grants(e->kms, e->who, NULL, e->r->key, &text);
    if (rc == P11KMS_KMS_OK && (arr = json_loads(text, 0, &err)) == NULL)
        rc = P11KMS_KMS_INTERNAL;
    if (rc == P11KMS_KMS_OK)
        p11kms_p11_opreq_respond(e->r, json_pack("{s:o,s:b}", "Grants", arr, "Truncated", 0));
    free(text);
    return rc;
}

static p11kms_kms_rc op_grant_end(env *e, int revoke)
{
    const char *id = p11kms_p11_opreq_str(e->r, "GrantId");
    const char *token = p11kms_p11_opreq_str(e->r, "GrantToken");
    if (revoke)
        return id && e->r->key ? p11kms_kms_revoke_grant(e->kms, e->who, NULL, e->r->key, id)
                               : P11KMS_KMS_VALIDATION;
    if (token == NULL && (id == NULL || e->r->key == NULL))
        return P11KMS_KMS_VALIDATION;
    return p11kms_kms_retire_grant(e->kms, e->who, token, NULL, token ? NULL : e->r->key,
                                   token ? NULL : id);
}

/* ---------------- rotation ---------------- */

static p11kms_kms_rc op_rotation_status(env *e)
{
    p11kms_kms_rotation_status st;
    memset(&st, 0, sizeof(st));
    p11kms_kms_rc rc = p11kms_kms_get_key_rotation_status(e->kms, e->who, NULL, e->r->key, &st);
    if (rc != P11KMS_KMS_OK)
        return rc;
    json_t *o = json_pack("{s:s,s:b}", "KeyId", e->r->key, "KeyRotationEnabled", st.enabled);
    if (o != NULL && st.enabled) {
        json_object_set_new(o, "RotationPeriodInDays", json_integer(st.period_days));
        json_object_set_new(o, "NextRotationDate", iso_date(st.next_rotation_ms));
    }
    p11kms_p11_opreq_respond(e->r, o);
    return rc;
}

static p11kms_kms_rc op_list_rotations(env *e)
{
    p11kms_kms_rotation_list l = {0};
    unsigned limit;
    json_t *arr;
    if (!req_limit(e->r, &limit))
        return P11KMS_KMS_VALIDATION;
    p11kms_kms_rc rc = p11kms_kms_list_key_rotations(e->kms, e->who, NULL, e->r->key, limit,
                                                     p11kms_p11_opreq_str(e->r, "Marker"), &l);
    if (rc != P11KMS_KMS_OK)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(
            arr, json_pack("{s:s,s:i,s:o,s:s}", "KeyId", e->r->key, "KeyVersion",
                           (int)l.entries[i].version, "RotationDate",
                           iso_date(l.entries[i].rotation_date_ms), "RotationType",
                           l.entries[i].type == P11KMS_KMS_ROTATION_ON_DEMAND ? "ON_DEMAND"
                                                                              : "AUTOMATIC"));
    json_t *o = json_pack("{s:o}", "Rotations", arr);
    if (o != NULL)
        paged(o, l.next_marker);
    p11kms_p11_opreq_respond(e->r, o);
    p11kms_kms_rotation_list_clear(&l);
    return rc;
}

/* ---------------- dispatch ---------------- */

typedef struct op_entry {
    const char *name;
    int needs_key;
} op_entry;

static const op_entry g_ops[] = {
    {"CreateKey", 0},
    {"ListKeys", 0},
    {"ListAliases", 0},
    {"UpdateKeyDescription", 1},
    {"Sign", 1},
    {"Verify", 1},
    {"GenerateMac", 1},
    {"VerifyMac", 1},
    {"GenerateRandom", 0},
    {"GetPublicKey", 1},
    {"GetKeyPolicy", 1},
    {"PutKeyPolicy", 1},
    {"ListKeyPolicies", 1},
    {"PutIdentityPolicy", 0},
    {"GetIdentityPolicy", 0},
    {"DeleteIdentityPolicy", 0},
    {"CreateGrant", 1},
    {"ListGrants", 1},
    {"RetireGrant", 0},
    {"RevokeGrant", 1},
    {"GetKeyRotationStatus", 1},
    {"ListKeyRotations", 1},
};

int p11kms_p11_opreq_ops_known(const char *name, int *needs_key)
{
    for (size_t i = 0; i < sizeof(g_ops) / sizeof(g_ops[0]); i++)
        if (strcmp(g_ops[i].name, name) == 0) {
            *needs_key = g_ops[i].needs_key;
            return 1;
        }
    return 0;
}

static p11kms_kms_rc dispatch_keys(env *e, const char *n)
{
    if (strcmp(n, "CreateKey") == 0)
        return op_create_key(e);
    if (strcmp(n, "ListKeys") == 0)
        return op_list_keys(e);
    if (strcmp(n, "ListAliases") == 0)
        return op_list_aliases(e);
    if (strcmp(n, "UpdateKeyDescription") == 0)
        return op_update_description(e);
    if (strcmp(n, "GetKeyRotationStatus") == 0)
        return op_rotation_status(e);
    if (strcmp(n, "ListKeyRotations") == 0)
        return op_list_rotations(e);
    return P11KMS_KMS_RC_COUNT_;
}

static p11kms_kms_rc dispatch_crypto(env *e, const char *n)
{
    if (strcmp(n, "Sign") == 0 || strcmp(n, "Verify") == 0)
        return op_sign(e, n[0] == 'V');
    if (strcmp(n, "GenerateMac") == 0 || strcmp(n, "VerifyMac") == 0)
        return op_mac(e, n[0] == 'V');
    if (strcmp(n, "GenerateRandom") == 0)
        return op_random(e);
    if (strcmp(n, "GetPublicKey") == 0)
        return op_public_key(e);
    return P11KMS_KMS_RC_COUNT_;
}

static p11kms_kms_rc dispatch_access(env *e, const char *n)
{
    if (strcmp(n, "GetKeyPolicy") == 0)
        return op_get_key_policy(e);
    if (strcmp(n, "PutKeyPolicy") == 0)
        return op_put_key_policy(e);
    if (strcmp(n, "ListKeyPolicies") == 0)
        return op_list_key_policies(e);
    if (strstr(n, "IdentityPolicy") != NULL)
        return op_identity_policy(e, n);
    if (strcmp(n, "CreateGrant") == 0)
        return op_create_grant(e);
    if (strcmp(n, "ListGrants") == 0)
        return op_list_grants(e);
    if (strcmp(n, "RetireGrant") == 0 || strcmp(n, "RevokeGrant") == 0)
        return op_grant_end(e, n[1] == 'e' && n[2] == 'v');
    return P11KMS_KMS_RC_COUNT_;
}

p11kms_kms_rc p11kms_p11_opreq_ops_dispatch(env *e)
{
    p11kms_kms_rc rc = dispatch_keys(e, e->r->name);
    if (rc == P11KMS_KMS_RC_COUNT_)
        rc = dispatch_crypto(e, e->r->name);
    if (rc == P11KMS_KMS_RC_COUNT_)
        rc = dispatch_access(e, e->r->name);
    return rc;
}
