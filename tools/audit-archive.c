/*
 * tools/audit-archive.c — `p11kms audit archive`: exports the old part of
 * the trail to a directory, checks the export, then prunes it from the
 * store (p11kms_store_audit_prune), leaving the newest seal at or before
 * the cut as the signed checkpoint the rest of the chain verifies from.
 * --retention takes the cut from [audit] retention-days; run-due does not
 * archive (it goes through the module), a systemd timer runs this command
 * (docs/audit.md, "Retention").  Reaching the limit never makes an
 * operation fail: records only leave the store through this command.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "tools/audit-cli.h"

/* The first record at or after `before` (0: none) and the first record. */
static p11kms_store_rc find_cut(audit_cli *a, int64_t before, uint64_t *cut, uint64_t *first)
{
    p11kms_audit_filter f;
    p11kms_audit_entry *e = NULL;
    size_t n = 0;
    uint64_t next;
    p11kms_store_rc rc;

    memset(&f, 0, sizeof(f));
    f.ascending = 1;
    rc = p11kms_store_audit_list(a->st, &f, 1, &e, &n, &next);
    *first = rc == P11KMS_STORE_OK && n == 1 ? e[0].seq : 0;
    p11kms_audit_entry_list_free(e, n);
    e = NULL;
    n = 0;
    f.from_ms = before;
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_list(a->st, &f, 1, &e, &n, &next);
    *cut = rc == P11KMS_STORE_OK && n == 1 ? e[0].seq : 0;
    p11kms_audit_entry_list_free(e, n);
    return rc;
}

/* The newest seal with seq <= limit (0: none). */
static p11kms_store_rc last_seal_upto(audit_cli *a, uint64_t limit, p11kms_audit_seal *best)
{
    p11kms_audit_seal *s = NULL;
    size_t n = 0;
    uint64_t from = 0;
    p11kms_store_rc rc;

    memset(best, 0, sizeof(*best));
    do {
        rc = p11kms_store_audit_seal_list(a->st, from, 1000, &s, &n);
        for (size_t i = 0; rc == P11KMS_STORE_OK && i < n; i++)
            if (s[i].seq <= limit)
                *best = s[i];
        from = n ? s[n - 1].seq + 1 : from;
        free(s);
        s = NULL;
    } while (rc == P11KMS_STORE_OK && n == 1000 && from <= limit);
    return rc;
}

static int parse_cut(audit_cli *a, int64_t *before, int *nothing)
{
    const char *b = tool_arg(&a->t.args, "before");
    int retention = tool_arg(&a->t.args, "retention") != NULL;
    int64_t now = p11kms_time_now_ms();

    *nothing = 0;
    if ((b != NULL) == retention)
        return tool_usage(&a->t, "give exactly one of --before DATE and --retention"), 0;
    if (b != NULL && !audit_parse_time(b, now, before))
        return tool_usage(&a->t, "--before: not a time: '%s'", b), 0;
    if (retention && a->cfg->retention_days == 0)
        *nothing = 1;
    if (retention)
        *before = now - (int64_t)a->cfg->retention_days * P11KMS_MS_PER_DAY;
    return 1;
}

static int nothing_to_do(audit_cli *a, const char *why)
{
    return tool_emit(&a->t,
                     json_pack("{s:I, s:s}", "ArchivedThroughSeq", (json_int_t)0, "Reason", why));
}

/* Export through seal->seq into dir and check that dir covers [first, seq]. */
static int export_checked(audit_cli *a, const char *dir, uint64_t first, uint64_t upto,
                          audit_export_stats *es)
{
    char problem[512];
    int code = audit_export_dir(a, dir, 0, 0, upto, es);

    if (code != TOOL_EXIT_OK)
        return code;
    if (audit_verify_dir(dir, NULL, es, problem, sizeof(problem)) != 1)
        return tool_fail(&a->t, TOOL_EXIT_VERIFY,
                         "audit archive: the export does not verify, "
                         "nothing pruned: %s",
                         problem);
    if (es->first_seq > first || es->last_seq < upto)
        return tool_fail(&a->t, TOOL_EXIT_ERROR,
                         "audit archive: %s holds records %llu..%llu, not %llu..%llu: "
                         "nothing pruned (use the directory of the earlier exports)",
                         dir, (unsigned long long)es->first_seq, (unsigned long long)es->last_seq,
                         (unsigned long long)first, (unsigned long long)upto);
    return TOOL_EXIT_OK;
}

/* Steps 1-2 (seal, find the cut): *seal zeroed when there is nothing to
 * archive (why says so).  Returns an exit code. */
static int plan(audit_cli *a, p11kms_audit_seal *seal, uint64_t *first, const char **why)
{
    int64_t before = 0;
    uint64_t cut = 0;
    p11kms_store_rc rc;
    int nothing = 0, code = TOOL_EXIT_OK;

    memset(seal, 0, sizeof(*seal));
    *why = NULL;
    if (!parse_cut(a, &before, &nothing)) {
        code = TOOL_EXIT_USAGE;
        goto done;
    }
    if (nothing) {
        *why = "retention-days is not set";
        goto done;
    }
    rc = p11kms_store_audit_seal(a->st, NULL);
    if (rc == P11KMS_STORE_NOTFOUND) {
        *why = "the audit trail is empty";
        goto done;
    }
    if (rc == P11KMS_STORE_OK)
        rc = find_cut(a, before, &cut, first);
    if (rc == P11KMS_STORE_OK)
        rc = last_seal_upto(a, cut ? cut - 1 : UINT64_MAX, seal);
    if (rc != P11KMS_STORE_OK)
        code = audit_store_fail(a, rc, "audit archive");
    else if (seal->seq == 0 || seal->seq < *first)
        *why = "no sealed record older than the cut";
done:
    return code;
}

int audit_cmd_archive(audit_cli *a)
{
    const char *dir = tool_arg(&a->t.args, "output-dir"), *why = NULL;
    uint64_t first = 0;
    p11kms_audit_seal seal;
    audit_export_stats es;
    char anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE];
    p11kms_audit_anchor cp;
    p11kms_store_rc rc;
    int code = audit_open(a, 1, 1);

    if (code == TOOL_EXIT_OK)
        code = plan(a, &seal, &first, &why);
    if (code != TOOL_EXIT_OK || why != NULL) {
        code = code == TOOL_EXIT_OK ? nothing_to_do(a, why) : code;
        goto done;
    }
    code = export_checked(a, dir, first, seal.seq, &es);
    if (code != TOOL_EXIT_OK)
        goto done;
    rc = p11kms_store_audit_prune(a->st, seal.seq);
    if (rc != P11KMS_STORE_OK) {
        code = audit_store_fail(a, rc, "audit archive: prune");
        goto done;
    }
    cp.seq = seal.seq;
    memcpy(cp.hash, seal.hash, sizeof(cp.hash));
    p11kms_audit_anchor_format(&cp, anchor);
    code = tool_emit(&a->t,
                     json_pack("{s:I, s:I, s:s, s:o}", "ArchivedThroughSeq", (json_int_t)seal.seq,
                               "PrunedRecords", (json_int_t)(seal.seq - first + 1), "Checkpoint",
                               anchor, "Export", audit_export_stats_json(&es, dir)));
done:
    return code;
}
