/*
 * tools/audit-list.c — `p11kms audit list`: the records matching the
 * filters as CloudTrail records, newest first, in pages (--max-items,
 * --starting-token), by default only the last 90 days like CloudTrail's
 * event history (--all for everything).  Every filter except --result
 * denied is an indexed query in the store (store/audit-list.c).
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "tools/audit-cli.h"

#define LIST_DEFAULT_ITEMS 1000u
#define LIST_MAX_ITEMS     100000u
#define LIST_PAGE          1000u

typedef struct list_query {
    p11kms_audit_filter f;
    int denied_only;
    unsigned max_items;
} list_query;

static int parse_times(audit_cli *a, list_query *q)
{
    const char *start = tool_arg(&a->t.args, "start-time");
    const char *end = tool_arg(&a->t.args, "end-time");
    int64_t now = p11kms_time_now_ms();

    if (start != NULL && !audit_parse_time(start, now, &q->f.from_ms))
        return tool_usage(&a->t, "--start-time: not a time: '%s'", start), 0;
    if (end != NULL && !audit_parse_time(end, now, &q->f.to_ms))
        return tool_usage(&a->t, "--end-time: not a time: '%s'", end), 0;
    if (start != NULL && tool_arg(&a->t.args, "all") != NULL)
        return tool_usage(&a->t, "--all and --start-time exclude each other"), 0;
    if (start == NULL && tool_arg(&a->t.args, "all") == NULL)
        q->f.from_ms = now - AUDIT_LIST_DEFAULT_DAYS * P11KMS_MS_PER_DAY;
    if (q->f.to_ms != 0 && q->f.from_ms >= q->f.to_ms)
        return tool_usage(&a->t, "--end-time must be later than the start of the window"), 0;
    return 1;
}

static int parse_caller(audit_cli *a, list_query *q)
{
    const char *user = tool_arg(&a->t.args, "user"), *uid = tool_arg(&a->t.args, "uid");
    char err[128];
    unsigned v;
    struct passwd *pw;

    if (user != NULL && uid != NULL)
        return tool_usage(&a->t, "--user and --uid exclude each other"), 0;
    if (uid != NULL) {
        if (!tool_parse_uint("--uid", uid, 0, 0xFFFFFFFFu, &v, err, sizeof(err)))
            return tool_usage(&a->t, "%s", err), 0;
        q->f.match_uid = 1;
        q->f.uid = v;
    } else if (user != NULL) {
        pw = getpwnam(user);
        if (pw == NULL)
            return tool_usage(&a->t, "--user: no such user '%s'", user), 0;
        q->f.match_uid = 1;
        q->f.uid = (uint32_t)pw->pw_uid;
    }
    return 1;
}

static int parse_kind(audit_cli *a, list_query *q)
{
    const char *res = tool_arg(&a->t.args, "result");
    int mgmt = tool_arg(&a->t.args, "management") != NULL;
    int data = tool_arg(&a->t.args, "data") != NULL;

    if (res != NULL && strcmp(res, "success") == 0)
        q->f.result = P11KMS_AUDIT_RESULT_OK;
    else if (res != NULL && (strcmp(res, "failure") == 0 || strcmp(res, "denied") == 0))
        q->f.result = P11KMS_AUDIT_RESULT_ERROR;
    else if (res != NULL)
        return tool_usage(&a->t, "--result must be success, failure or denied"), 0;
    q->denied_only = res != NULL && strcmp(res, "denied") == 0;
    if (mgmt && data)
        return tool_usage(&a->t, "--management and --data exclude each other"), 0;
    q->f.category = mgmt   ? P11KMS_AUDIT_CAT_MANAGEMENT
                    : data ? P11KMS_AUDIT_CAT_DATA
                           : P11KMS_AUDIT_CAT_ANY;
    return 1;
}

static int parse_query(audit_cli *a, list_query *q)
{
    const char *tok = tool_arg(&a->t.args, "starting-token");
    char err[128], *end = NULL;

    memset(q, 0, sizeof(*q));
    q->f.key_id = tool_arg(&a->t.args, "key-id");
    q->f.event_name = tool_arg(&a->t.args, "event-name");
    if (!parse_times(a, q) || !parse_caller(a, q) || !parse_kind(a, q))
        return 0;
    if (!tool_parse_uint("--max-items",
                         tool_arg(&a->t.args, "max-items") ? tool_arg(&a->t.args, "max-items")
                                                           : "1000",
                         1, LIST_MAX_ITEMS, &q->max_items, err, sizeof(err)))
        return tool_usage(&a->t, "%s", err), 0;
    if (tok != NULL) {
        q->f.cursor = strtoull(tok, &end, 10);
        if (tok[0] < '0' || tok[0] > '9' || *end != '\0' || q->f.cursor == 0)
            return tool_usage(&a->t, "--starting-token: not a token from a previous page"), 0;
    }
    return 1;
}

static int keep(const list_query *q, const p11kms_audit_entry *e)
{
    return !q->denied_only ||
           (e->rec.error_code != NULL && strcmp(e->rec.error_code, "AccessDeniedException") == 0);
}

/* Fills recs; *next is the token of the next page (0: none). */
static p11kms_store_rc collect(audit_cli *a, list_query *q, json_t *recs, uint64_t *next)
{
    p11kms_audit_entry *page = NULL;
    size_t n = 0, have = 0;
    p11kms_store_rc rc = P11KMS_STORE_OK;

    *next = 0;
    do {
        size_t want = q->max_items - have < LIST_PAGE ? q->max_items - have : LIST_PAGE;
        rc = p11kms_store_audit_list(a->st, &q->f, want, &page, &n, next);
        for (size_t i = 0; rc == P11KMS_STORE_OK && i < n; i++) {
            json_t *j = keep(q, &page[i]) ? audit_entry_json(&page[i]) : NULL;
            if (keep(q, &page[i]) && (j == NULL || json_array_append_new(recs, j) != 0))
                rc = P11KMS_STORE_NOMEM;
            have += keep(q, &page[i]) ? 1 : 0;
        }
        p11kms_audit_entry_list_free(page, n);
        page = NULL;
        q->f.cursor = *next;
    } while (rc == P11KMS_STORE_OK && *next != 0 && have < q->max_items);
    return rc;
}

int audit_cmd_list(audit_cli *a)
{
    list_query q;
    json_t *out = NULL, *recs = json_array();
    uint64_t next = 0;
    char tok[24];
    p11kms_store_rc rc;
    int code;

    if (!parse_query(a, &q)) {
        code = TOOL_EXIT_USAGE;
        goto done;
    }
    code = audit_open(a, 0, 0);
    if (code != TOOL_EXIT_OK)
        goto done;
    rc = recs != NULL ? collect(a, &q, recs, &next) : P11KMS_STORE_NOMEM;
    if (rc != P11KMS_STORE_OK) {
        code = audit_store_fail(a, rc, "audit list");
        goto done;
    }
    out = json_pack("{s:O}", "Records", recs);
    if (out != NULL && next != 0) {
        snprintf(tok, sizeof(tok), "%llu", (unsigned long long)next);
        json_object_set_new(out, "NextToken", json_string(tok));
    }
    code = tool_emit(&a->t, out);
    out = NULL;
done:
    json_decref(out);
    json_decref(recs);
    return code;
}
