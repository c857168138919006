/* kms/grants.c — grants: CreateGrant, ListGrants, RevokeGrant, RetireGrant,
 * and the parsed live grants of a key that the evaluator consults (re-read
 * per epoch, so a revoked grant stops allowing in every process on its next
 * call).  Stored form: grantee/retiring as "uid:N"/"gid:N", operations as a
 * JSON array of KMS names, constraints as
 * {"EncryptionContextEquals"|"EncryptionContextSubset": {k: v, ...}}. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "kms/kms-internal.h"

#define PAIRS_PER_GRANT (2 * P11KMS_GRANT_MAX_CONSTRAINT_PAIRS)

void kms_grants_free(kms_grants *g)
{
    for (size_t i = 0; g->docs != NULL && i < g->n; i++)
        json_decref(g->docs[i]);
    p11kms_store_grant_list_free(g->rows, g->n);
    free(g->grants);
    free(g->ptrs);
    free(g->pairs);
    free(g->docs);
    memset(g, 0, sizeof(*g));
}

static uint32_t ops_bits(const char *ops_json)
{
    json_t *a = json_loads(ops_json ? ops_json : "[]", JSON_REJECT_DUPLICATES, NULL);
    uint32_t bits = 0;
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v) bits |= p11kms_grant_operation_bit(json_string_value(v));
    json_decref(a);
    return bits;
}

/* Points the grant's constraint at pairs borrowed from *doc. */
static void constraints(const char *cons_json, p11kms_grant *g, p11kms_policy_pair *pairs,
                        json_t **doc)
{
    const char *which, *k;
    json_t *obj, *v;
    size_t n = 0;

    *doc = cons_json ? json_loads(cons_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_object_foreach(*doc, which, obj)
    {
        n = 0;
        json_object_foreach(obj, k, v)
        {
            if (n < P11KMS_GRANT_MAX_CONSTRAINT_PAIRS && json_is_string(v)) {
                pairs[n].key = k;
                pairs[n].value = json_string_value(v);
                n++;
            }
        }
        if (strcmp(which, "EncryptionContextEquals") == 0) {
            g->ec_equals = pairs;
            g->nec_equals = n;
        } else {
            g->ec_subset = pairs;
            g->nec_subset = n;
        }
        pairs += P11KMS_GRANT_MAX_CONSTRAINT_PAIRS;
    }
}

static void grant_parse(const p11kms_store_grant *row, p11kms_grant *g, p11kms_policy_pair *pairs,
                        json_t **doc)
{
    char err[P11KMS_POLICY_ERRLEN];

    memset(g, 0, sizeof(*g));
    g->grant_id = row->grant_id;
    g->key_id = row->key_id;
    if (!p11kms_policy_principal_parse(row->grantee, &g->grantee, err, sizeof(err)))
        g->grantee.kind = P11KMS_PRINCIPAL_NONE;
    if (row->retiring == NULL ||
        !p11kms_policy_principal_parse(row->retiring, &g->retiring, err, sizeof(err)))
        g->retiring.kind = P11KMS_PRINCIPAL_NONE;
    g->operations = ops_bits(row->operations_json);
    constraints(row->constraints_json, g, pairs, doc);
}

p11kms_kms_rc kms_key_grants_load(p11kms_kms_key *key)
{
    kms_grants *g = &key->grants;
    int more = 0;
    p11kms_kms_rc rc;

    if (key->grants_epoch_valid && key->grants_epoch == key->epoch)
        return P11KMS_KMS_OK;
    kms_grants_free(g);
    rc = kms_rc_from_store(p11kms_store_grant_list(key->kms->st, key->key_id, NULL, NULL, 1000,
                                                   &g->rows, &g->n, &more));
    if (rc != P11KMS_KMS_OK)
        return rc;
    g->grants = calloc(g->n + 1, sizeof(*g->grants));
    g->ptrs = calloc(g->n + 1, sizeof(*g->ptrs));
    g->pairs = calloc(g->n * PAIRS_PER_GRANT + 1, sizeof(*g->pairs));
    g->docs = calloc(g->n + 1, sizeof(*g->docs));
    if (g->grants == NULL || g->ptrs == NULL || g->pairs == NULL || g->docs == NULL) {
        kms_grants_free(g);
        return P11KMS_KMS_NOMEM;
    }
    for (size_t i = 0; i < g->n; i++) {
        grant_parse(&g->rows[i], &g->grants[i], g->pairs + i * PAIRS_PER_GRANT, &g->docs[i]);
        g->ptrs[i] = &g->grants[i];
    }
    key->grants_epoch = key->epoch;
    key->grants_epoch_valid = 1;
    return P11KMS_KMS_OK;
}

/* ---- CreateGrant ------------------------------------------------------------ */

static int hex_random(char *out, size_t nbytes)
{
    unsigned char b[64];

    if (nbytes > sizeof(b) || !p11kms_crypto_random(b, nbytes))
        return 0;
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 1;
}

static int principal_text(const char *in, char out[32], char *err, size_t errlen)
{
    p11kms_policy_principal pr;

    if (in == NULL || !p11kms_policy_principal_parse(in, &pr, err, errlen))
        return 0;
    snprintf(out, 32, "%s:%u", pr.kind == P11KMS_PRINCIPAL_GID ? "gid" : "uid", pr.id);
    return 1;
}

static json_t *context_obj(const p11kms_kms_context *ctx)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && ctx != NULL && i < ctx->n; i++)
        json_object_set_new(o, ctx->pairs[i].key, json_string(ctx->pairs[i].value));
    return o;
}

/* Builds the stored row from the request; validated by kms/policy.h. */
static p11kms_kms_rc grant_row(kms_call *c, const p11kms_kms_grant_params *gp,
                               p11kms_store_grant *row, char grantee[32], char retiring[32],
                               json_t **ops, json_t **cons)
{
    *ops = json_array();
    for (size_t i = 0; i < gp->n_operations; i++) {
        if (p11kms_grant_operation_bit(gp->operations[i]) == 0)
            return kms_fail(c, P11KMS_KMS_VALIDATION, "unknown grant operation");
        json_array_append_new(*ops, json_string(gp->operations[i]));
    }
    if (!principal_text(gp->grantee_principal, grantee, c->detail_buf, sizeof(c->detail_buf)) ||
        (gp->retiring_principal != NULL &&
         !principal_text(gp->retiring_principal, retiring, c->detail_buf, sizeof(c->detail_buf))))
        return kms_fail(c, P11KMS_KMS_VALIDATION, c->detail_buf);
    if (gp->ec_equals != NULL || gp->ec_subset != NULL)
        *cons = json_pack("{s:o}",
                          gp->ec_equals ? "EncryptionContextEquals" : "EncryptionContextSubset",
                          context_obj(gp->ec_equals ? gp->ec_equals : gp->ec_subset));
    memset(row, 0, sizeof(*row));
    if (!hex_random(row->grant_id, 32))
        return P11KMS_KMS_INTERNAL;
    snprintf(row->key_id, sizeof(row->key_id), "%s", c->key->key_id);
    row->name = (char *)gp->name;
    row->grantee = grantee;
    row->retiring = gp->retiring_principal ? retiring : NULL;
    row->issuer_uid = (uint32_t)c->caller->uid;
    row->creation_ms = p11kms_time_now_ms();
    return P11KMS_KMS_OK;
}

static p11kms_kms_rc grant_store(kms_call *c, p11kms_store_grant *row, json_t *ops, json_t *cons,
                                 char **id_out, char **token_out)
{
    char token[80] = "p11kms-grant-";
    p11kms_grant g;
    p11kms_policy_pair pairs[PAIRS_PER_GRANT];
    json_t *doc = NULL;
    p11kms_kms_rc rc = P11KMS_KMS_OK;

    row->operations_json = json_dumps(ops, JSON_COMPACT);
    row->constraints_json = cons ? json_dumps(cons, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!hex_random(token + strlen(token), 32) || row->operations_json == NULL)
        rc = P11KMS_KMS_NOMEM;
    row->grant_token = token;
    grant_parse(row, &g, pairs, &doc);
    if (rc == P11KMS_KMS_OK && !p11kms_grant_validate(&g, c->detail_buf, sizeof(c->detail_buf)))
        rc = kms_fail(c, P11KMS_KMS_VALIDATION, c->detail_buf);
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_grant_create(c->kms->st, row));
    if (rc == P11KMS_KMS_OK) {
        *id_out = strdup(row->grant_id);
        *token_out = strdup(token);
        c->response = json_pack("{s:s}", "grantId", row->grant_id);
    }
    json_decref(doc);
    free(row->operations_json);
    free(row->constraints_json);
    return rc;
}

p11kms_kms_rc p11kms_kms_create_grant(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref,
                                      const p11kms_kms_grant_params *gp, char **grant_id_out,
                                      char **grant_token_out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_store_grant row;
    char grantee[32] = "", retiring[32] = "";
    json_t *ops = NULL, *cons = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "CreateGrant", "kms:CreateGrant", 1, 0);
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && (gp == NULL || grant_id_out == NULL || grant_token_out == NULL))
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "missing parameters");
    if (rc == P11KMS_KMS_OK)
        rc = kms_check_usable(&c, c.key, 0);
    if (rc == P11KMS_KMS_OK)
        rc = grant_row(&c, gp, &row, grantee, retiring, &ops, &cons);
    if (rc == P11KMS_KMS_OK) {
        json_object_set(c.request, "operations", ops);
        json_object_set_new(c.request, "granteePrincipal", json_string(grantee));
        if (cons != NULL)
            json_object_set(c.request, "constraints", cons);
        req.grant_operations = gp->operations;
        req.ngrant_operations = gp->n_operations;
        req.grantee_principal = grantee;
        req.retiring_principal = gp->retiring_principal ? retiring : NULL;
        req.grant_constraint_type = gp->ec_equals   ? "EncryptionContextEquals"
                                    : gp->ec_subset ? "EncryptionContextSubset"
                                                    : NULL;
        rc = kms_authorize(&c, &req);
    }
    if (rc == P11KMS_KMS_OK)
        rc = grant_store(&c, &row, ops, cons, grant_id_out, grant_token_out);
    json_decref(ops);
    json_decref(cons);
    return kms_call_end(&c, rc);
}

/* ---- ListGrants / RevokeGrant / RetireGrant ------------------------------- */

static json_t *grant_json(const p11kms_store_grant *g)
{
    char iso[P11KMS_ISO8601_BUF_SIZE] = "";
    json_t *o;

    p11kms_time_format_iso8601(g->creation_ms, iso);
    o = json_pack("{s:s, s:s, s:s, s:s}", "GrantId", g->grant_id, "KeyId", g->key_id,
                  "GranteePrincipal", g->grantee ? g->grantee : "", "CreationDate", iso);
    if (o == NULL)
        return NULL;
    if (g->name)
        json_object_set_new(o, "Name", json_string(g->name));
    if (g->retiring)
        json_object_set_new(o, "RetiringPrincipal", json_string(g->retiring));
    json_object_set_new(o, "Operations",
                        json_loads(g->operations_json ? g->operations_json : "[]", 0, NULL));
    if (g->constraints_json)
        json_object_set_new(o, "Constraints", json_loads(g->constraints_json, 0, NULL));
    return o;
}

p11kms_kms_rc p11kms_kms_list_grants(p11kms_kms *kms, const p11kms_caller *caller,
                                     p11kms_kms_key *key, const char *key_ref,
                                     char **grants_json_out)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_store_grant *rows = NULL;
    size_t n = 0;
    int more = 0;
    json_t *arr = NULL;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "ListGrants", "kms:ListGrants", 1, 1);
    rc = kms_read_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK && grants_json_out == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no output");
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(
            p11kms_store_grant_list(kms->st, c.key->key_id, NULL, NULL, 1000, &rows, &n, &more));
    if (rc == P11KMS_KMS_OK) {
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, grant_json(&rows[i]));
        *grants_json_out = json_dumps(arr, JSON_COMPACT);
        if (*grants_json_out == NULL)
            rc = P11KMS_KMS_NOMEM;
    }
    json_decref(arr);
    p11kms_store_grant_list_free(rows, n);
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_revoke_grant(p11kms_kms *kms, const p11kms_caller *caller,
                                      p11kms_kms_key *key, const char *key_ref,
                                      const char *grant_id)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_store_grant g;
    p11kms_kms_rc rc;

    memset(&g, 0, sizeof(g));
    kms_call_begin(&c, kms, caller, "RevokeGrant", "kms:RevokeGrant", 1, 0);
    json_object_set_new(c.request, "grantId", json_string(grant_id ? grant_id : ""));
    rc = kms_mgmt_begin(&c, key, key_ref, &req);
    if (rc == P11KMS_KMS_OK &&
        (grant_id == NULL || p11kms_store_grant_get(kms->st, grant_id, &g) != P11KMS_STORE_OK ||
         strcmp(g.key_id, c.key->key_id) != 0))
        rc = kms_fail(&c, P11KMS_KMS_INVALID_GRANT_ID, "no such grant on this key");
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_grant_delete(kms->st, grant_id));
    p11kms_store_grant_clear(&g);
    return kms_call_end(&c, rc);
}

static p11kms_kms_rc retire_lookup(kms_call *c, const char *token, p11kms_kms_key *key,
                                   const char *key_ref, const char *grant_id, p11kms_store_grant *g)
{
    p11kms_kms_rc rc;

    if (token != NULL) {
        if (p11kms_store_grant_get_by_token(c->kms->st, token, g) != P11KMS_STORE_OK)
            return kms_fail(c, P11KMS_KMS_INVALID_GRANT_TOKEN, "no grant has this token");
        return kms_key_resolve(c, NULL, g->key_id);
    }
    rc = kms_key_resolve(c, key, key_ref);
    if (rc == P11KMS_KMS_OK &&
        (grant_id == NULL || p11kms_store_grant_get(c->kms->st, grant_id, g) != P11KMS_STORE_OK ||
         strcmp(g->key_id, c->key->key_id) != 0))
        rc = kms_fail(c, P11KMS_KMS_INVALID_GRANT_ID, "no such grant on this key");
    return rc;
}

p11kms_kms_rc p11kms_kms_retire_grant(p11kms_kms *kms, const p11kms_caller *caller,
                                      const char *grant_token, p11kms_kms_key *key,
                                      const char *key_ref, const char *grant_id)
{
    kms_call c;
    p11kms_policy_request req;
    p11kms_store_grant g;
    p11kms_grant pg;
    p11kms_policy_pair pairs[PAIRS_PER_GRANT];
    json_t *doc = NULL;
    p11kms_kms_rc rc;

    memset(&g, 0, sizeof(g));
    kms_call_begin(&c, kms, caller, "RetireGrant", "kms:RetireGrant", 1, 0);
    rc = kms_require_user(&c);
    if (rc == P11KMS_KMS_OK)
        rc = kms_call_begin_write(&c);
    if (rc == P11KMS_KMS_OK)
        rc = retire_lookup(&c, grant_token, key, key_ref, grant_id, &g);
    if (rc == P11KMS_KMS_OK) {
        json_object_set_new(c.request, "grantId", json_string(g.grant_id));
        grant_parse(&g, &pg, pairs, &doc);
        if (!p11kms_grant_may_retire(&pg, caller)) {
            kms_request_init(&c, &req);
            rc = kms_authorize(&c, &req);
        }
    }
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_grant_delete(kms->st, g.grant_id));
    json_decref(doc);
    p11kms_store_grant_clear(&g);
    return kms_call_end(&c, rc);
}
