/*
 * tests/kms/test-policy.c — Check tests of kms/policy.h and kms/caller.h:
 * the evaluation and malformed-document tables (test-policy-cases.c), name
 * normalisation against accounts that exist everywhere (uid 0 and the group
 * of gid 0), the lockout check, the default policies, grants and the caller.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kms/policy-internal.h"
#include "tests/kms/test-policy.h"

#define DOC_TOKEN_AND_ME                                                                           \
    "{'Statement':[{'Sid':'Tok','Effect':'Allow','Principal':{'Unix':'token'},"                    \
    "'Action':'kms:*','Resource':'*'},{'Sid':'Me','Effect':'Allow','Principal':"                   \
    "{'Unix':'uid:1001'},'Action':'kms:*','Resource':'*'}]}"

/* ---- fixture: a request and what it points to ------------------------------ */

#define MAXP 16

static struct fixture {
    p11kms_caller caller;
    p11kms_policy_request req;
    p11kms_policy_pair ctx[MAXP];
    const char *grantops[MAXP];
    char words[1024];
    p11kms_policy *key;
    p11kms_policy *ident[4];
    size_t nident;
    const p11kms_grant *grants[MAXP];
    size_t ngrants;
    char *texts[8];
    size_t ntexts;
} fx;

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
}

static void teardown(void)
{
    p11kms_policy_free(fx.key);
    for (size_t i = 0; i < fx.nident; i++)
        p11kms_policy_free(fx.ident[i]);
    for (size_t i = 0; i < fx.ntexts; i++)
        free(fx.texts[i]);
    memset(&fx, 0, sizeof(fx));
}

/* Tables write JSON with single quotes. */
static const char *dq(const char *s)
{
    char *t = strdup(s);

    ck_assert_ptr_nonnull(t);
    for (char *p = t; *p != '\0'; p++) {
        if (*p == '\'')
            *p = '"';
    }
    ck_assert_uint_lt(fx.ntexts, 8);
    fx.texts[fx.ntexts++] = t;
    return t;
}

static size_t split(char *s, char sep, char **out, size_t max)
{
    size_t n = 0;

    if (*s == '\0')
        return 0;
    for (char *p = s; p != NULL && n < max;) {
        char *next = strchr(p, sep);
        if (next != NULL)
            *next++ = '\0';
        out[n++] = p;
        p = next;
    }
    return n;
}

static void set_ctx(char *v)
{
    char *pairs[MAXP];
    size_t n = split(v, ',', pairs, MAXP);

    for (size_t i = 0; i < n; i++) {
        char *colon = strchr(pairs[i], ':');
        ck_assert_ptr_nonnull(colon);
        *colon = '\0';
        fx.ctx[i].key = pairs[i];
        fx.ctx[i].value = colon + 1;
    }
    fx.req.context = fx.ctx;
    fx.req.ncontext = n;
}

static void set_groups(char *v)
{
    char *g[MAXP];
    size_t n = split(v, ',', g, MAXP);

    fx.caller.ngroups = 0;
    for (size_t i = 0; i < n; i++)
        fx.caller.groups[fx.caller.ngroups++] = (gid_t)strtoul(g[i], NULL, 10);
}

static const char *opt(const char *v)
{
    return strcmp(v, "-") == 0 ? NULL : v;
}

static void set_word(char *k, char *v)
{
    p11kms_policy_request *r = &fx.req;

    if (strcmp(k, "action") == 0)
        r->action = v;
    else if (strcmp(k, "uid") == 0)
        fx.caller.uid = (uid_t)strtoul(v, NULL, 10);
    else if (strcmp(k, "gid") == 0)
        fx.caller.gid = (gid_t)strtoul(v, NULL, 10);
    else if (strcmp(k, "groups") == 0)
        set_groups(v);
    else if (strcmp(k, "user") == 0)
        snprintf(fx.caller.user, 64, "%s", opt(v) ? v : "");
    else if (strcmp(k, "exe") == 0)
        snprintf(fx.caller.executable, 64, "%s", opt(v) ? v : "");
    else if (strcmp(k, "key") == 0)
        r->key_id = opt(v);
    else if (strcmp(k, "spec") == 0)
        r->key_spec = v;
    else if (strcmp(k, "usage") == 0)
        r->key_usage = v;
    else if (strcmp(k, "encalg") == 0)
        r->encryption_algorithm = v;
    else if (strcmp(k, "signalg") == 0)
        r->signing_algorithm = v;
    else if (strcmp(k, "macalg") == 0)
        r->mac_algorithm = v;
    else if (strcmp(k, "msgtype") == 0)
        r->message_type = v;
    else if (strcmp(k, "alias") == 0)
        r->request_alias = v;
    else if (strcmp(k, "window") == 0) {
        r->has_pending_window_days = 1;
        r->pending_window_days = strtoll(v, NULL, 10);
    } else if (strcmp(k, "rotation") == 0) {
        r->has_rotation_period_days = 1;
        r->rotation_period_days = strtoll(v, NULL, 10);
    } else if (strcmp(k, "bypass") == 0) {
        r->has_bypass_lockout = 1;
        r->bypass_lockout = atoi(v);
    } else if (strcmp(k, "ctx") == 0)
        set_ctx(v);
    else if (strcmp(k, "grantops") == 0) {
        r->ngrant_operations = split(v, ',', (char **)fx.grantops, MAXP);
        r->grant_operations = fx.grantops;
    } else if (strcmp(k, "grantee") == 0)
        r->grantee_principal = v;
    else if (strcmp(k, "retiring") == 0)
        r->retiring_principal = v;
    else if (strcmp(k, "ctype") == 0)
        r->grant_constraint_type = v;
    else if (strcmp(k, "newgrant") == 0)
        r->new_grant = &grant_table[atoi(v)];
    else
        ck_abort_msg("unknown request word %s", k);
}

/* Default request: alice (1001, groups 1001 and 50) encrypts with key K1. */
static void build_request(const char *spec)
{
    char *words[32];
    size_t n;

    memset(&fx.req, 0, sizeof(fx.req));
    memset(&fx.caller, 0, sizeof(fx.caller));
    fx.caller.uid = 1001;
    fx.caller.gid = 1001;
    fx.caller.groups[0] = 1001;
    fx.caller.groups[1] = 50;
    fx.caller.ngroups = 2;
    fx.caller.pid = 4242;
    strcpy(fx.caller.user, "alice");
    strcpy(fx.caller.executable, "/usr/bin/app");
    fx.req.action = "kms:Encrypt";
    fx.req.caller = &fx.caller;
    fx.req.key_id = "K1";
    ck_assert_uint_lt(strlen(spec), sizeof(fx.words));
    strcpy(fx.words, spec);
    n = split(fx.words, ' ', words, 32);
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(words[i], '=');
        ck_assert_msg(eq != NULL, "bad request word %s", words[i]);
        *eq = '\0';
        set_word(words[i], eq + 1);
    }
}

static p11kms_policy *must_parse(const char *doc, p11kms_policy_kind kind)
{
    char err[P11KMS_POLICY_ERRLEN];
    const char *json = dq(doc);
    p11kms_policy *p = p11kms_policy_parse(json, strlen(json), kind, err, sizeof(err));

    ck_assert_msg(p != NULL, "parse failed: %s\n%s", err, json);
    return p;
}

static void add_grants(const char *list)
{
    char buf[64], *idx[MAXP];
    size_t n;

    snprintf(buf, sizeof(buf), "%s", list);
    n = split(buf, ',', idx, MAXP);
    for (size_t i = 0; i < n; i++)
        fx.grants[fx.ngrants++] = &grant_table[atoi(idx[i])];
}

static p11kms_policy_decision eval(p11kms_policy_result *why)
{
    return p11kms_policy_evaluate(fx.key, (const p11kms_policy *const *)fx.ident, fx.nident,
                                  fx.grants, fx.ngrants, &fx.req, why);
}

/* ---- the tables ----------------------------------------------------------------- */

START_TEST(test_eval_table)
{
    const eval_case *c = &eval_cases[_i];
    p11kms_policy_result why;
    p11kms_policy_decision d;

    if (c->key_policy != NULL)
        fx.key = must_parse(c->key_policy, P11KMS_POLICY_KEY);
    for (size_t i = 0; i < 3 && c->identity[i] != NULL; i++)
        fx.ident[fx.nident++] = must_parse(c->identity[i], P11KMS_POLICY_IDENTITY);
    if (c->grants != NULL)
        add_grants(c->grants);
    build_request(c->request);
    d = eval(&why);
    ck_assert_msg(d == c->expect, "case %d \"%s\": got %s, expected %s", _i, c->name,
                  p11kms_policy_decision_name(d), p11kms_policy_decision_name(c->expect));
    ck_assert_int_eq(why.decision, d);
    if (c->sid != NULL)
        ck_assert_msg(why.sid != NULL && strcmp(why.sid, c->sid) == 0,
                      "case \"%s\": decided by Sid %s, expected %s", c->name,
                      why.sid ? why.sid : "(none)", c->sid);
    if (d == P11KMS_POLICY_DENY_DEFAULT)
        ck_assert_int_eq(why.source, P11KMS_POLICY_FROM_NONE);
}
END_TEST

START_TEST(test_bad_table)
{
    const bad_case *c = &bad_cases[_i];
    char err[P11KMS_POLICY_ERRLEN];
    const char *json = dq(c->doc);
    p11kms_policy *p = p11kms_policy_parse(json, strlen(json), c->kind, err, sizeof(err));

    ck_assert_msg(p == NULL, "case \"%s\" parsed", c->name);
    ck_assert_msg(strcmp(err, c->message) == 0, "case \"%s\":\n got: %s\nwant: %s", c->name, err,
                  c->message);
}
END_TEST

START_TEST(test_table_sizes)
{
    ck_assert_uint_ge(n_eval_cases, 100);
    ck_assert_uint_ge(n_bad_cases, 25);
}
END_TEST

START_TEST(test_oversize)
{
    const size_t len = P11KMS_POLICY_MAX_BYTES + 1;
    char err[P11KMS_POLICY_ERRLEN];
    char *doc = malloc(len + 1);
    const char *head = "{\"Version\":\"2012-10-17\",\"Id\":\"";
    const char *tail = "\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
                       "\"Action\":\"kms:*\",\"Resource\":\"*\"}}";
    size_t fill = len - strlen(head) - strlen(tail);

    ck_assert_ptr_nonnull(doc);
    strcpy(doc, head);
    memset(doc + strlen(head), 'x', fill);
    strcpy(doc + strlen(head) + fill, tail);
    ck_assert_uint_eq(strlen(doc), len);
    ck_assert_ptr_null(p11kms_policy_parse(doc, len, P11KMS_POLICY_KEY, err, sizeof(err)));
    ck_assert_str_eq(err, "policy document is 32769 bytes; the limit is 32768 bytes");
    /* one byte less is accepted */
    memmove(doc + strlen(head), doc + strlen(head) + 1, len - strlen(head));
    p11kms_policy *p = p11kms_policy_parse(doc, len - 1, P11KMS_POLICY_KEY, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    p11kms_policy_free(p);
    free(doc);
}
END_TEST

START_TEST(test_error_buffer_optional)
{
    char tiny[8];

    ck_assert_ptr_null(p11kms_policy_parse("{}", 2, P11KMS_POLICY_KEY, NULL, 0));
    ck_assert_ptr_null(p11kms_policy_parse("{}", 2, P11KMS_POLICY_KEY, tiny, sizeof(tiny)));
    ck_assert_str_eq(tiny, "Stateme");
    ck_assert_ptr_null(p11kms_policy_parse(NULL, 0, P11KMS_POLICY_KEY, tiny, sizeof(tiny)));
    ck_assert_ptr_null(p11kms_policy_parse("{}", 2, (p11kms_policy_kind)7, tiny, sizeof(tiny)));
}
END_TEST

START_TEST(test_quote)
{
    char q[80];
    char utf8[80];

    p11kms_policy_quote(q, sizeof(q), "a\"b\n", 4);
    ck_assert_str_eq(q, "\"a?b?\"");
    /* 63 ASCII bytes then a 2-byte character straddling the 64-byte cut */
    memset(utf8, 'x', 63);
    memcpy(utf8 + 63, "\xc3\xa9zz", 4);
    p11kms_policy_quote(q, sizeof(q), utf8, 67);
    ck_assert_uint_eq(strlen(q), 1 + 63 + 3 + 1);
    p11kms_policy_quote(q, 10, "abc", 3);
    ck_assert_str_eq(q, "");
}
END_TEST

START_TEST(test_long_value_quoted)
{
    char doc[512], err[P11KMS_POLICY_ERRLEN];
    char name[201];

    memset(name, 'A', 200);
    name[200] = '\0';
    snprintf(doc, sizeof(doc),
             "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
             "\"Action\":\"kms:%s\",\"Resource\":\"*\"}}",
             name);
    ck_assert_ptr_null(p11kms_policy_parse(doc, strlen(doc), P11KMS_POLICY_KEY, err, sizeof(err)));
    ck_assert_msg(strstr(err, "...\"") != NULL && strlen(err) < 120, "%s", err);
}
END_TEST

/* ---- evaluation details -------------------------------------------------------- */

START_TEST(test_result_fields)
{
    p11kms_policy_result why;

    fx.key = must_parse(DOC_TOKEN_AND_ME, P11KMS_POLICY_KEY);
    build_request("");
    ck_assert_int_eq(eval(&why), P11KMS_POLICY_ALLOW);
    ck_assert_int_eq(why.source, P11KMS_POLICY_FROM_KEY_POLICY);
    ck_assert_uint_eq(why.statement_index, 1);
    ck_assert_str_eq(why.sid, "Me");
    ck_assert_ptr_null(why.grant_id);

    fx.ngrants = 0;
    add_grants("1,0");
    build_request("uid=7 gid=7 groups=7");
    fx.caller.uid = 1001; /* grant 0 is for uid 1001, the policy names nobody else */
    p11kms_policy_free(fx.key);
    fx.key = must_parse("{'Statement':{'Effect':'Allow','Principal':{'Unix':'uid:1'},"
                        "'Action':'kms:*','Resource':'*'}}",
                        P11KMS_POLICY_KEY);
    ck_assert_int_eq(eval(&why), P11KMS_POLICY_ALLOW);
    ck_assert_int_eq(why.source, P11KMS_POLICY_FROM_GRANT);
    ck_assert_str_eq(why.grant_id, "g0");
    ck_assert_uint_eq(why.policy_index, 1);
    ck_assert_ptr_null(why.sid);
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_ALLOW);
}
END_TEST

START_TEST(test_misuse_fails_closed)
{
    p11kms_policy_result why;

    build_request("");
    fx.key = must_parse("{'Statement':{'Effect':'Allow','Action':'kms:*','Resource':'*'}}",
                        P11KMS_POLICY_IDENTITY);
    /* an identity policy in the key slot must not allow everybody */
    ck_assert_int_eq(eval(&why), P11KMS_POLICY_DENY_DEFAULT);
    p11kms_policy_free(fx.key);
    fx.key = NULL;
    fx.ident[fx.nident++] = must_parse(DOC_TOKEN_AND_ME, P11KMS_POLICY_KEY);
    ck_assert_int_eq(eval(&why), P11KMS_POLICY_DENY_DEFAULT);
    ck_assert_int_eq(p11kms_policy_evaluate(NULL, NULL, 0, NULL, 0, NULL, &why),
                     P11KMS_POLICY_DENY_DEFAULT);
    fx.req.caller = NULL;
    ck_assert_int_eq(eval(&why), P11KMS_POLICY_DENY_DEFAULT);
    fx.req.caller = &fx.caller;
    fx.req.action = NULL;
    ck_assert_int_eq(eval(&why), P11KMS_POLICY_DENY_DEFAULT);
}
END_TEST

START_TEST(test_concurrent_safe_shape)
{
    /* The compiled form is reusable: the same policy decides many requests. */
    fx.key = must_parse(DOC_TOKEN_AND_ME, P11KMS_POLICY_KEY);
    for (int i = 0; i < 1000; i++) {
        build_request(i % 2 ? "uid=1001" : "uid=1002 gid=1002 groups=1002");
        ck_assert_int_eq(eval(NULL), i % 2 ? P11KMS_POLICY_ALLOW : P11KMS_POLICY_DENY_DEFAULT);
    }
    ck_assert_uint_eq(p11kms_policy_statement_count(fx.key), 2);
    ck_assert_int_eq(p11kms_policy_get_kind(fx.key), P11KMS_POLICY_KEY);
}
END_TEST

/* ---- vocabulary ----------------------------------------------------------------- */

START_TEST(test_action_table_sorted)
{
    size_t n = p11kms_policy_action_count();

    ck_assert_uint_ge(n, 50);
    ck_assert_uint_le(n, 64);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(
            strcasecmp(p11kms_policy_action_at(i - 1)->name, p11kms_policy_action_at(i)->name) < 0,
            "%s before %s", p11kms_policy_action_at(i - 1)->name, p11kms_policy_action_at(i)->name);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), "kms:%s", p11kms_policy_action_at(i)->name);
        ck_assert_int_eq(p11kms_policy_action_index(name), (int)i);
    }
}
END_TEST

START_TEST(test_issue_actions_known)
{
    static const char *const names[] = {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:Sign",
        "kms:Verify",
        "kms:GenerateMac",
        "kms:VerifyMac",
        "kms:GetPublicKey",
        "kms:DescribeKey",
        "kms:CreateAlias",
        "kms:UpdateAlias",
        "kms:DeleteAlias",
        "kms:PutKeyPolicy",
        "kms:GetKeyPolicy",
        "kms:EnableKey",
        "kms:DisableKey",
        "kms:EnableKeyRotation",
        "kms:DisableKeyRotation",
        "kms:GetKeyRotationStatus",
        "kms:RotateKeyOnDemand",
        "kms:ListKeyRotations",
        "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion",
        "kms:CreateGrant",
        "kms:ListGrants",
        "kms:RevokeGrant",
        "kms:RetireGrant",
        "kms:CreateKey",
        "kms:ListKeys",
        "kms:ListAliases",
        "kms:UpdateKeyDescription",
        "kms:ListRetirableGrants",
        "kms:GenerateRandom",
        "kms:TagResource",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_msg(p11kms_policy_action_known(names[i]), "%s", names[i]);
    ck_assert(!p11kms_policy_action_known("kms:"));
    ck_assert(!p11kms_policy_action_known("Encrypt"));
    ck_assert(!p11kms_policy_action_known(NULL));
}
END_TEST

START_TEST(test_glob)
{
    char s[4096];

    ck_assert(p11kms_policy_glob("a*b?c", 5, "aXXbYc", 6, 0));
    ck_assert(!p11kms_policy_glob("a*b?c", 5, "aXXbc", 5, 0));
    ck_assert(p11kms_policy_glob("*", 1, "", 0, 0));
    ck_assert(p11kms_policy_glob("", 0, "", 0, 0));
    ck_assert(!p11kms_policy_glob("", 0, "a", 1, 0));
    ck_assert(p11kms_policy_glob("A*", 2, "abc", 3, 1));
    ck_assert(!p11kms_policy_glob("A*", 2, "abc", 3, 0));
    ck_assert(p11kms_policy_glob("**a**", 5, "bab", 3, 0));
    /* a hostile pattern stays fast */
    memset(s, 'a', sizeof(s));
    clock_t t0 = clock();
    ck_assert(!p11kms_policy_glob("*a*a*a*a*a*a*a*a*b", 18, s, sizeof(s), 0));
    ck_assert_msg(clock() - t0 < CLOCKS_PER_SEC, "glob too slow");
}
END_TEST

START_TEST(test_parse_id)
{
    uint32_t id;

    ck_assert(p11kms_policy_parse_id("0", 1, &id) && id == 0);
    ck_assert(p11kms_policy_parse_id("4294967294", 10, &id) && id == 4294967294u);
    ck_assert(!p11kms_policy_parse_id("4294967295", 10, &id));
    ck_assert(!p11kms_policy_parse_id("01", 2, &id));
    ck_assert(!p11kms_policy_parse_id("", 0, &id));
    ck_assert(!p11kms_policy_parse_id("+1", 2, &id));
    ck_assert(!p11kms_policy_parse_id("99999999999", 11, &id));
}
END_TEST

START_TEST(test_parse_number)
{
    static const char *const good[] = {"0", "7", "-2.5", "365.5", "1e3", "2E-1", ".5", "5."};
    static const char *const bad[] = {"",   "0x10", "inf", "nan",   " 1", "1 ",
                                      "+1", "1e",   "--1", "1.2.3", "e5", "."};
    double v;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(p11kms_policy_parse_number(good[i], strlen(good[i]), &v), "%s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!p11kms_policy_parse_number(bad[i], strlen(bad[i]), &v), "%s", bad[i]);
    ck_assert(p11kms_policy_parse_number("365.5", 5, &v) && v == 365.5);
    /* the host program's locale must not change how policies read */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL ||
        setlocale(LC_NUMERIC, "fr_FR.UTF-8") != NULL) {
        ck_assert(p11kms_policy_parse_number("365.5", 5, &v) && v == 365.5);
        ck_assert(!p11kms_policy_parse_number("365,5", 5, &v));
    }
}
END_TEST

/* ---- normalisation (uid 0 and the group of gid 0 exist on every system) -------- */

static const char *root_group(void)
{
    static char name[64];
    struct group *g = getgrgid(0);

    ck_assert_ptr_nonnull(g);
    snprintf(name, sizeof(name), "%s", g->gr_name);
    return name;
}

static const char *root_user(void)
{
    static char name[64];
    struct passwd *pw = getpwuid(0);

    ck_assert_ptr_nonnull(pw);
    snprintf(name, sizeof(name), "%s", pw->pw_name);
    return name;
}

static char *normalize_ok(const char *doc, p11kms_policy_kind kind)
{
    char err[P11KMS_POLICY_ERRLEN], *out = NULL;
    const char *json = dq(doc);

    ck_assert_msg(p11kms_policy_normalize(json, strlen(json), kind, &out, err, sizeof(err)),
                  "normalize: %s", err);
    ck_assert_ptr_nonnull(out);
    return out;
}

static void normalize_fails(const char *doc, const char *message)
{
    char err[P11KMS_POLICY_ERRLEN], *out = (char *)1;
    const char *json = dq(doc);

    ck_assert(
        !p11kms_policy_normalize(json, strlen(json), P11KMS_POLICY_KEY, &out, err, sizeof(err)));
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err, message);
}

START_TEST(test_normalize_names)
{
    char doc[512], want[128], *out;
    p11kms_policy *p;

    snprintf(doc, sizeof(doc),
             "{'Version':'2012-10-17','Statement':[{'Sid':'R','Effect':'Allow','Principal':"
             "{'Unix':['user:%s','uid:7','group:%s','token']},'Action':'kms:*','Resource':'*'}]}",
             root_user(), root_group());
    out = normalize_ok(doc, P11KMS_POLICY_KEY);
    snprintf(want, sizeof(want), "\"user:%s#0\"", root_user());
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof(want), "\"group:%s#0\"", root_group());
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"uid:7\"") && strstr(out, "\"token\""), "%s", out);
    ck_assert_msg(strstr(out, "\"Sid\": \"R\"") != NULL, "order/format kept: %s", out);

    /* the stored text decides by id: root is allowed, others are not */
    p = p11kms_policy_parse(out, strlen(out), P11KMS_POLICY_KEY, NULL, 0);
    ck_assert_ptr_nonnull(p);
    fx.key = p;
    build_request("uid=0 gid=4000 groups=4000");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_ALLOW);
    build_request("uid=4000 gid=0 groups=0");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_ALLOW);
    build_request("uid=4000 gid=4000 groups=4000");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_DENY_DEFAULT);
    free(out);
}
END_TEST

START_TEST(test_normalize_idempotent)
{
    char doc[512], *once, *twice, err[P11KMS_POLICY_ERRLEN];

    snprintf(doc, sizeof(doc),
             "{'Statement':{'Effect':'Allow','Principal':{'Unix':'user:%s'},"
             "'Action':'kms:*','Resource':'*'}}",
             root_user());
    once = normalize_ok(doc, P11KMS_POLICY_KEY);
    ck_assert(
        p11kms_policy_normalize(once, strlen(once), P11KMS_POLICY_KEY, &twice, err, sizeof(err)));
    ck_assert_str_eq(once, twice);
    free(once);
    free(twice);
}
END_TEST

START_TEST(test_normalize_caller_group)
{
    char doc[512], want[128], *out;

    snprintf(doc, sizeof(doc),
             "{'Statement':{'Effect':'Allow','Action':'kms:*','Resource':'*','Condition':{"
             "'ForAnyValue:StringEquals':{'p11kms:CallerGroup':['%s','4000','ad*']}}}}",
             root_group());
    out = normalize_ok(doc, P11KMS_POLICY_IDENTITY);
    snprintf(want, sizeof(want), "\"%s#0\"", root_group());
    ck_assert_msg(strstr(out, want) && strstr(out, "\"4000\"") && strstr(out, "\"ad*\""), "%s",
                  out);
    fx.ident[fx.nident++] = p11kms_policy_parse(out, strlen(out), P11KMS_POLICY_IDENTITY, NULL, 0);
    ck_assert_ptr_nonnull(fx.ident[0]);
    build_request("action=kms:CreateKey key=- uid=5 gid=5 groups=5,0");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_ALLOW);
    build_request("action=kms:CreateKey key=- uid=5 gid=5 groups=5");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_DENY_DEFAULT);
    free(out);
}
END_TEST

START_TEST(test_normalize_errors)
{
    char doc[512], msg[256];

    normalize_fails("{'Statement':{'Effect':'Allow','Principal':{'Unix':['uid:1',"
                    "'user:p11kms-no-such-user-7q']},'Action':'kms:*','Resource':'*'}}",
                    "Statement.Principal.Unix[1]: unknown user \"p11kms-no-such-user-7q\"");
    normalize_fails("{'Statement':[{'Effect':'Allow','Principal':{'Unix':"
                    "'group:p11kms-no-such-group-7q'},'Action':'kms:*','Resource':'*'}]}",
                    "Statement[0].Principal.Unix: unknown group \"p11kms-no-such-group-7q\"");
    snprintf(doc, sizeof(doc),
             "{'Statement':{'Effect':'Allow','Principal':{'Unix':"
             "'user:%s#5'},'Action':'kms:*','Resource':'*'}}",
             root_user());
    snprintf(msg, sizeof(msg), "Statement.Principal.Unix: user \"%s\" has uid 0 now, not 5",
             root_user());
    normalize_fails(doc, msg);
    normalize_fails("{'Statement':{'Effect':'Allow','Principal':'*','Action':'kms:*',"
                    "'Resource':'*','Condition':{'StringEquals':{'p11kms:CallerGroup':"
                    "'p11kms-no-such-group-7q'}}}}",
                    "Statement.Condition.StringEquals[\"p11kms:CallerGroup\"]: unknown group "
                    "\"p11kms-no-such-group-7q\"");
    /* validation errors come first, with the parser's message */
    normalize_fails("{'Statement':[]}", "Statement: must not be empty");
}
END_TEST

START_TEST(test_principal_parse)
{
    p11kms_policy_principal p;
    char err[P11KMS_POLICY_ERRLEN], text[96];

    ck_assert(p11kms_policy_principal_parse("uid:1001", &p, err, sizeof(err)));
    ck_assert(p.kind == P11KMS_PRINCIPAL_UID && p.id == 1001);
    ck_assert(p11kms_policy_principal_parse("gid:0", &p, err, sizeof(err)));
    ck_assert(p.kind == P11KMS_PRINCIPAL_GID && p.id == 0);
    snprintf(text, sizeof(text), "user:%s", root_user());
    ck_assert(p11kms_policy_principal_parse(text, &p, err, sizeof(err)));
    ck_assert(p.kind == P11KMS_PRINCIPAL_UID && p.id == 0);
    snprintf(text, sizeof(text), "group:%s#0", root_group());
    ck_assert(p11kms_policy_principal_parse(text, &p, err, sizeof(err)));
    ck_assert(p.kind == P11KMS_PRINCIPAL_GID && p.id == 0);
    ck_assert(!p11kms_policy_principal_parse("user:p11kms-no-such-user-7q", &p, err, sizeof(err)));
    ck_assert_str_eq(err, "unknown user \"p11kms-no-such-user-7q\"");
    ck_assert(!p11kms_policy_principal_parse("alice", &p, err, sizeof(err)));
    ck_assert_int_eq(p.kind, P11KMS_PRINCIPAL_NONE);
    ck_assert(!p11kms_policy_principal_parse("uid:x", &p, err, sizeof(err)));
    ck_assert(!p11kms_policy_principal_parse(NULL, &p, err, sizeof(err)));
}
END_TEST

/* ---- defaults and lockout ------------------------------------------------------ */

START_TEST(test_default_key_policy)
{
    char *json = NULL;
    p11kms_caller creator = {.uid = 1001, .gid = 1001, .ngroups = 1, .groups = {1001}};

    strcpy(creator.user, "alice");
    ck_assert(p11kms_policy_default_key_policy(&creator, &json));
    ck_assert_msg(strstr(json, "\"user:alice#1001\"") && strstr(json, "\"token\""), "%s", json);
    fx.key = p11kms_policy_parse(json, strlen(json), P11KMS_POLICY_KEY, NULL, 0);
    ck_assert_ptr_nonnull(fx.key);
    /* the creator may do everything that concerns a key */
    for (size_t i = 0; i < p11kms_policy_action_count(); i++) {
        char action[64];
        snprintf(action, sizeof(action), "kms:%s", p11kms_policy_action_at(i)->name);
        build_request("");
        fx.req.action = action;
        ck_assert_msg(eval(NULL) == P11KMS_POLICY_ALLOW, "%s", action);
    }
    /* somebody else only through identity policies */
    build_request("uid=1002 gid=1002 groups=1002");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_DENY_DEFAULT);
    fx.ident[fx.nident++] = must_parse("{'Statement':{'Effect':'Allow','Action':'kms:Decrypt',"
                                       "'Resource':'*'}}",
                                       P11KMS_POLICY_IDENTITY);
    build_request("uid=1002 gid=1002 groups=1002 action=kms:Decrypt");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_ALLOW);
    ck_assert(p11kms_policy_lockout_check(fx.key, NULL, 0, &creator, "K1", NULL, 0));
    free(json);

    /* no user name: the uid alone */
    creator.user[0] = '\0';
    ck_assert(p11kms_policy_default_key_policy(&creator, &json));
    ck_assert_msg(strstr(json, "\"uid:1001\"") != NULL, "%s", json);
    free(json);
    ck_assert(!p11kms_policy_default_key_policy(NULL, &json));
}
END_TEST

START_TEST(test_default_admin_policy)
{
    char *json = NULL;

    ck_assert(p11kms_policy_default_admin_identity_policy(&json));
    fx.ident[fx.nident++] =
        p11kms_policy_parse(json, strlen(json), P11KMS_POLICY_IDENTITY, NULL, 0);
    ck_assert_ptr_nonnull(fx.ident[0]);
    build_request("action=kms:CreateKey key=-");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_ALLOW);
    build_request("action=kms:ListKeys key=-");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_ALLOW);
    build_request("action=kms:Encrypt");
    ck_assert_int_eq(eval(NULL), P11KMS_POLICY_DENY_DEFAULT);
    free(json);
}
END_TEST

START_TEST(test_lockout)
{
    char err[P11KMS_POLICY_ERRLEN];
    p11kms_policy *p;
    const p11kms_policy *ident[1];

    build_request("");
    p = must_parse(DOC_TOKEN_AND_ME, P11KMS_POLICY_KEY);
    fx.key = p;
    ck_assert(p11kms_policy_lockout_check(p, NULL, 0, &fx.caller, "K1", err, sizeof(err)));
    /* only someone else may change it */
    fx.key = must_parse("{'Statement':[{'Effect':'Allow','Principal':{'Unix':'uid:7'},"
                        "'Action':'kms:*','Resource':'*'},{'Effect':'Allow','Principal':"
                        "{'Unix':'uid:1001'},'Action':'kms:Encrypt','Resource':'*'}]}",
                        P11KMS_POLICY_KEY);
    p11kms_policy_free(p);
    ck_assert(!p11kms_policy_lockout_check(fx.key, NULL, 0, &fx.caller, "K1", err, sizeof(err)));
    ck_assert_str_eq(err, "The new key policy will not allow you to update the key policy in "
                          "the future.");
    p11kms_policy_free(fx.key);
    /* delegation: allowed only if an identity policy lets the caller PutKeyPolicy */
    fx.key = must_parse("{'Statement':{'Effect':'Allow','Principal':{'Unix':'token'},"
                        "'Action':'kms:*','Resource':'*'}}",
                        P11KMS_POLICY_KEY);
    ck_assert(!p11kms_policy_lockout_check(fx.key, NULL, 0, &fx.caller, "K1", err, sizeof(err)));
    fx.ident[fx.nident++] = must_parse("{'Statement':{'Effect':'Allow','Action':"
                                       "'kms:PutKeyPolicy','Resource':'*'}}",
                                       P11KMS_POLICY_IDENTITY);
    ident[0] = fx.ident[0];
    ck_assert(p11kms_policy_lockout_check(fx.key, ident, 1, &fx.caller, "K1", err, sizeof(err)));
    p11kms_policy_free(fx.key);
    /* an explicit Deny of PutKeyPolicy to the caller locks out too */
    fx.key = must_parse("{'Statement':[{'Effect':'Allow','Principal':'*','Action':'kms:*',"
                        "'Resource':'*'},{'Effect':'Deny','Principal':{'Unix':'gid:50'},"
                        "'Action':'kms:Put*','Resource':'*'}]}",
                        P11KMS_POLICY_KEY);
    ck_assert(!p11kms_policy_lockout_check(fx.key, NULL, 0, &fx.caller, "K1", err, sizeof(err)));
    ck_assert(!p11kms_policy_lockout_check(NULL, NULL, 0, &fx.caller, "K1", NULL, 0));
}
END_TEST

/* ---- grants -------------------------------------------------------------------- */

START_TEST(test_grant_operations)
{
    ck_assert_uint_eq(p11kms_grant_operation_bit("Decrypt"), P11KMS_GRANT_OP_DECRYPT);
    ck_assert_uint_eq(p11kms_grant_operation_bit("kms:RetireGrant"), P11KMS_GRANT_OP_RETIRE_GRANT);
    ck_assert_uint_eq(p11kms_grant_operation_bit("PutKeyPolicy"), 0);
    ck_assert_uint_eq(p11kms_grant_operation_bit(NULL), 0);
    ck_assert_str_eq(p11kms_grant_operation_name(P11KMS_GRANT_OP_VERIFY_MAC), "VerifyMac");
    ck_assert_ptr_null(p11kms_grant_operation_name(3));
    for (uint32_t b = 1; b <= P11KMS_GRANT_OP_DERIVE_SHARED_SECRET; b <<= 1)
        ck_assert_uint_eq(p11kms_grant_operation_bit(p11kms_grant_operation_name(b)), b);
}
END_TEST

START_TEST(test_grant_validate)
{
    static const p11kms_policy_pair nine[9] = {
        {"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}, {"e", "1"},
        {"f", "1"}, {"g", "1"}, {"h", "1"}, {"i", "1"},
    };
    static const p11kms_policy_pair empty_key[1] = {{"", "1"}};
    char err[P11KMS_POLICY_ERRLEN], longv[400];
    p11kms_policy_pair lp[1] = {{"k", longv}};
    p11kms_grant g = grant_table[5];

    ck_assert_msg(p11kms_grant_validate(&g, err, sizeof(err)), "%s", err);
    g.ec_equals = nine;
    g.nec_equals = 1;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
    ck_assert_str_eq(err, "Constraints may hold EncryptionContextEquals or "
                          "EncryptionContextSubset, not both");
    g.ec_subset = NULL;
    g.nec_equals = 9;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
    ck_assert_str_eq(err, "EncryptionContextEquals has 9 pairs; the limit is 8");
    g.nec_equals = 1;
    g.operations |= P11KMS_GRANT_OP_SIGN;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
    ck_assert_str_eq(err, "grant constraints cannot be used with operation Sign, which takes "
                          "no encryption context");
    g.operations = 0;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
    g.operations = 1u << 30;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
    g.operations = P11KMS_GRANT_OP_DECRYPT;
    g.ec_equals = empty_key;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
    memset(longv, 'v', 385);
    longv[385] = '\0';
    g.ec_equals = lp;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
    ck_assert_str_eq(err, "EncryptionContextEquals: the value of pair 0 is longer than 384 "
                          "characters");
    longv[384] = '\0';
    ck_assert(p11kms_grant_validate(&g, err, sizeof(err)));
    g.grantee.kind = P11KMS_PRINCIPAL_NONE;
    ck_assert(!p11kms_grant_validate(&g, err, sizeof(err)));
}
END_TEST

START_TEST(test_grant_retire)
{
    p11kms_grant g = grant_table[0];
    p11kms_caller c = {.uid = 1001, .gid = 1001};

    ck_assert(!p11kms_grant_may_retire(&g, &c)); /* grantee without RetireGrant */
    g.operations |= P11KMS_GRANT_OP_RETIRE_GRANT;
    ck_assert(p11kms_grant_may_retire(&g, &c));
    g.operations = P11KMS_GRANT_OP_DECRYPT;
    g.retiring.kind = P11KMS_PRINCIPAL_GID;
    g.retiring.id = 77;
    ck_assert(!p11kms_grant_may_retire(&g, &c));
    c.groups[0] = 77;
    c.ngroups = 1;
    ck_assert(p11kms_grant_may_retire(&g, &c));
}
END_TEST

/* ---- caller ------------------------------------------------------------------- */

START_TEST(test_caller_self)
{
    p11kms_caller c;

    ck_assert(p11kms_caller_self(&c));
    ck_assert_uint_eq(c.uid, getuid());
    ck_assert_uint_eq(c.gid, getgid());
    ck_assert_int_eq(c.pid, getpid());
    ck_assert(p11kms_caller_in_group(&c, getgid()));
    ck_assert_uint_ge(c.ngroups, 1);
    ck_assert_msg(c.executable[0] == '/', "exe %s", c.executable);
    if (getpwuid(getuid()) != NULL)
        ck_assert_str_eq(c.user, getpwuid(getuid())->pw_name);
    ck_assert(!p11kms_caller_self(NULL));
}
END_TEST

START_TEST(test_caller_socket)
{
    int sv[2];
    p11kms_caller c;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert(p11kms_caller_from_socket(sv[0], &c));
    ck_assert_uint_eq(c.uid, getuid());
    ck_assert_uint_eq(c.gid, getgid());
    ck_assert_int_eq(c.pid, getpid());
    ck_assert(p11kms_caller_in_group(&c, getgid()));
    close(sv[0]);
    close(sv[1]);
    ck_assert(!p11kms_caller_from_socket(-1, &c));
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc;

    tc = tcase_create("tables");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_eval_table, 0, (int)n_eval_cases);
    tcase_add_loop_test(tc, test_bad_table, 0, (int)n_bad_cases);
    tcase_add_test(tc, test_table_sizes);
    tcase_add_test(tc, test_oversize);
    tcase_add_test(tc, test_error_buffer_optional);
    tcase_add_test(tc, test_long_value_quoted);
    tcase_add_test(tc, test_quote);
    suite_add_tcase(s, tc);

    tc = tcase_create("evaluation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_result_fields);
    tcase_add_test(tc, test_misuse_fails_closed);
    tcase_add_test(tc, test_concurrent_safe_shape);
    tcase_add_test(tc, test_action_table_sorted);
    tcase_add_test(tc, test_issue_actions_known);
    tcase_add_test(tc, test_glob);
    tcase_add_test(tc, test_parse_id);
    tcase_add_test(tc, test_parse_number);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_normalize_names);
    tcase_add_test(tc, test_normalize_idempotent);
    tcase_add_test(tc, test_normalize_caller_group);
    tcase_add_test(tc, test_normalize_errors);
    tcase_add_test(tc, test_principal_parse);
    suite_add_tcase(s, tc);

    tc = tcase_create("defaults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_default_key_policy);
    tcase_add_test(tc, test_default_admin_policy);
    tcase_add_test(tc, test_lockout);
    suite_add_tcase(s, tc);

    tc = tcase_create("grants");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_grant_operations);
    tcase_add_test(tc, test_grant_validate);
    tcase_add_test(tc, test_grant_retire);
    suite_add_tcase(s, tc);

    tc = tcase_create("caller");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_caller_self);
    tcase_add_test(tc, test_caller_socket);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
