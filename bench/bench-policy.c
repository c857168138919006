/*
 * bench/bench-policy.c — cost of one policy decision (issue 6, point 9).
 *
 * Builds a realistic 20-statement key policy (principals, wildcards,
 * NotAction, conditions on the encryption context, algorithms and caller)
 * and times p11kms_policy_evaluate() on the compiled form for a few request
 * shapes, plus the cost of parsing the document once.  Prints CPU ns per call (best of 5 runs).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kms/policy.h"

#define ITER 200000
#define REPS 5

/* CPU time of this thread: the build machines are shared, wall time is noise. */
static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* 20 statements (the last delegates to identity policies); all but the
 * Deny ones cover kms:Encrypt, so the evaluator cannot skip them by action. */
static char *make_policy(void)
{
    static const char *const fmt[] = {
        "{\"Sid\":\"Admins%d\",\"Effect\":\"Allow\",\"Principal\":{\"Unix\":[\"gid:%d\","
        "\"uid:%d\"]},\"Action\":\"kms:*\",\"Resource\":\"*\","
        "\"Condition\":{\"StringEquals\":{\"p11kms:CallerUser\":\"admin%d\"}}}",
        "{\"Sid\":\"App%d\",\"Effect\":\"Allow\",\"Principal\":{\"Unix\":\"uid:%d\"},"
        "\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\",\"kms:GenerateDataKey*\"],"
        "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:app\":"
        "[\"app%d\",\"app%d-b\"]},\"StringLike\":{\"kms:RequestAlias\":\"alias/app*\"}}}",
        "{\"Sid\":\"Deny%d\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"NotAction\":"
        "[\"kms:Describe*\",\"kms:List*\",\"kms:Get*\"],\"Resource\":\"*\",\"Condition\":"
        "{\"ForAnyValue:StringEquals\":{\"kms:EncryptionContextKeys\":[\"forbidden%d\","
        "\"secret%d\"]}}}",
        "{\"Sid\":\"Grp%d\",\"Effect\":\"Allow\",\"Principal\":{\"Unix\":\"group:svc#%d\"},"
        "\"Action\":\"kms:*crypt*\",\"Resource\":\"*\",\"Condition\":{"
        "\"StringEqualsIfExists\":{\"kms:EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"},"
        "\"NumericLessThanEquals\":{\"kms:RotationPeriodInDays\":\"%d\"}}}",
    };
    size_t cap = 32768, len = 0;
    char *doc = malloc(cap);

    if (doc == NULL)
        return NULL;
    len += (size_t)snprintf(doc, cap, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    for (int i = 0; i < 19; i++) {
        int id = 2000 + i;
        len += (size_t)snprintf(doc + len, cap - len, "%s", i > 0 ? "," : "");
        len += (size_t)snprintf(doc + len, cap - len, fmt[i % 4], i, id, id, i, id);
    }
    snprintf(doc + len, cap - len,
             ",{\"Sid\":\"Token\",\"Effect\":\"Allow\",\"Principal\":"
             "{\"Unix\":\"token\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");
    return doc;
}

static double time_eval(const p11kms_policy *key, const p11kms_policy *const *ident, size_t n,
                        const p11kms_policy_request *req, p11kms_policy_decision *out)
{
    p11kms_policy_decision d = P11KMS_POLICY_DENY_DEFAULT;
    double best = 0;

    for (int r = 0; r < REPS; r++) { /* best of REPS */
        double t0 = now_ns();
        for (int i = 0; i < ITER; i++)
            d = p11kms_policy_evaluate(key, ident, n, NULL, 0, req, NULL);
        double ns = (now_ns() - t0) / ITER;
        best = r == 0 || ns < best ? ns : best;
    }
    *out = d;
    return best;
}

int main(void)
{
    static const p11kms_policy_pair ctx[] = {
        {"app", "app2017"},
        {"tenant", "t1"},
        {"path", "/srv/db"},
    };
    char err[P11KMS_POLICY_ERRLEN];
    char *doc = make_policy();
    p11kms_policy *key = NULL, *ident = NULL;
    p11kms_caller caller = {.uid = 2017, .gid = 100, .ngroups = 3, .groups = {100, 27, 50}};
    p11kms_policy_request req = {
        .action = "kms:Encrypt",
        .caller = &caller,
        .key_id = "1234abcd-12ab-34cd-56ef-1234567890ab",
        .context = ctx,
        .ncontext = 3,
        .encryption_algorithm = "SYMMETRIC_DEFAULT",
        .request_alias = "alias/app-prod",
    };
    p11kms_policy_decision d;
    double t0, ns;
    int rc = EXIT_FAILURE;

    strcpy(caller.user, "app17");
    strcpy(caller.executable, "/usr/bin/app");
    if (doc == NULL)
        goto done;
    t0 = now_ns();
    for (int i = 0; i < 1000; i++) {
        p11kms_policy_free(key);
        key = p11kms_policy_parse(doc, strlen(doc), P11KMS_POLICY_KEY, err, sizeof(err));
        if (key == NULL) {
            fprintf(stderr, "bench-policy: %s\n", err);
            goto done;
        }
    }
    printf("parse %zu-byte, %zu-statement key policy: %.1f us\n", strlen(doc),
           p11kms_policy_statement_count(key), (now_ns() - t0) / 1000 / 1000);

    ns = time_eval(key, NULL, 0, &req, &d);
    printf("evaluate, allowed by statement 18 of 20:   %6.0f ns  (%s)\n", ns,
           p11kms_policy_decision_name(d));
    caller.uid = 4000;
    ns = time_eval(key, NULL, 0, &req, &d);
    printf("evaluate, default deny (all 20 visited):   %6.0f ns  (%s)\n", ns,
           p11kms_policy_decision_name(d));
    caller.uid = 2017;
    {
        static const p11kms_policy_pair bad[] = {{"app", "app2017"}, {"secret2002", "x"}};
        req.context = bad;
        req.ncontext = 2;
        ns = time_eval(key, NULL, 0, &req, &d);
        printf("evaluate, explicit deny (statement 2):     %6.0f ns  (%s)\n", ns,
               p11kms_policy_decision_name(d));
        req.context = ctx;
        req.ncontext = 3;
    }
    {
        static const char id_doc[] = "{\"Statement\":{\"Effect\":\"Allow\","
                                     "\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"}}";
        ident =
            p11kms_policy_parse(id_doc, strlen(id_doc), P11KMS_POLICY_IDENTITY, err, sizeof(err));
    }
    if (ident == NULL) {
        fprintf(stderr, "bench-policy: %s\n", err);
        goto done;
    }
    caller.uid = 4000;
    {
        const p11kms_policy *ids[1] = {ident};
        ns = time_eval(key, ids, 1, &req, &d);
        printf("evaluate, key policy + 1 identity policy:  %6.0f ns  (%s)\n", ns,
               p11kms_policy_decision_name(d));
    }
    rc = EXIT_SUCCESS;
done:
    p11kms_policy_free(key);
    p11kms_policy_free(ident);
    free(doc);
    return rc;
}
