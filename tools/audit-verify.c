/*
 * tools/audit-verify.c — `p11kms audit verify`, `audit seal` and `audit
 * head`: the chain check of the store (store/audit-verify.c does the
 * walk; this file adds anchors from files and export directories, the
 * progress bar and the exit codes), the on-demand seal, and printing the
 * head as an anchor to keep elsewhere.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/timeutil.h"
#include "tools/audit-cli.h"

/* The progress bar: stderr only, and only when it is a terminal. */
static void progress(uint64_t done, uint64_t total, void *arg)
{
    char bar[41];
    unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
    size_t fill = (size_t)pct * 40 / 100;

    (void)arg;
    if (pct > 100)
        pct = 100, fill = 40;
    memset(bar, '#', fill);
    memset(bar + fill, '.', 40 - fill);
    bar[40] = '\0';
    fprintf(stderr, "\rverifying [%s] %3u%% %llu/%llu", bar, pct, (unsigned long long)done,
            (unsigned long long)total);
    fflush(stderr);
}

/* An anchor from SEQ:HASH, a file holding one (or a digest JSON file with
 * chainHead), or an export directory (verified first, its newest digest). */
static int load_anchor(audit_cli *a, const char *arg, p11kms_audit_anchor *out)
{
    char problem[512], *text = NULL;
    size_t len = 0;
    struct stat sb;
    audit_export_stats es;
    json_t *j = NULL;
    int ok = 0;

    if (p11kms_audit_anchor_parse(arg, out))
        return 1;
    if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (audit_verify_dir(arg, NULL, &es, problem, sizeof(problem)) != 1)
            return tool_fail(&a->t, TOOL_EXIT_VERIFY, "--anchor %s: %s", arg, problem), 0;
        *out = es.head;
        return 1;
    }
    if (!audit_read_file(arg, 1u << 20, &text, &len))
        return tool_fail(&a->t, TOOL_EXIT_ERROR, "--anchor: cannot read %s", arg), 0;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
        text[--len] = '\0';
    ok = p11kms_audit_anchor_parse(text, out);
    if (!ok && (j = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) != NULL)
        ok = json_is_string(json_object_get(j, "chainHead")) &&
             p11kms_audit_anchor_parse(json_string_value(json_object_get(j, "chainHead")), out);
    if (!ok)
        tool_usage(&a->t, "--anchor %s: neither SEQ:HASH nor an export digest", arg);
    json_decref(j);
    free(text);
    return ok;
}

static json_t *result_json(const p11kms_audit_verify_result *r)
{
    char anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE];

    p11kms_audit_anchor_format(&r->head, anchor);
    return json_pack("{s:s, s:I, s:I, s:I, s:s, s:b}", "Result",
                     p11kms_audit_problem_name(r->problem), "Records", (json_int_t)r->records,
                     "Seals", (json_int_t)r->seals, "LastSealedSeq", (json_int_t)r->last_sealed_seq,
                     "Head", anchor, "PrivateKeyChecked", r->key_checked_private);
}

static int verify_exported(audit_cli *a, const char *dir)
{
    char problem[512], anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE];
    audit_export_stats es;
    int r =
        audit_verify_dir(dir, tool_arg(&a->t.args, "fingerprint"), &es, problem, sizeof(problem));

    if (r < 0)
        return tool_fail(&a->t, TOOL_EXIT_ERROR, "audit verify --exported %s: %s", dir, problem);
    if (r == 0)
        return tool_fail(&a->t, TOOL_EXIT_VERIFY, "audit verify --exported %s: %s", dir, problem);
    p11kms_audit_anchor_format(&es.head, anchor);
    return tool_emit(&a->t,
                     json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "Result", "intact",
                               "Digests", (json_int_t)es.digests, "Files", (json_int_t)es.files,
                               "Records", (json_int_t)es.records, "FirstSeq",
                               (json_int_t)es.first_seq, "LastSeq", (json_int_t)es.last_seq,
                               "ChainHead", anchor, "Fingerprint", es.fingerprint));
}

static int report(audit_cli *a, const p11kms_audit_verify_result *r)
{
    int strict = tool_arg(&a->t.args, "require-sealed") != NULL;
    int ok =
        r->problem == P11KMS_AUDIT_INTACT || (r->problem == P11KMS_AUDIT_UNSEALED_TAIL && !strict);
    int code = tool_emit(&a->t, result_json(r));

    if (ok && r->problem == P11KMS_AUDIT_UNSEALED_TAIL)
        fprintf(stderr,
                "p11kms: warning: records %llu..%llu are not sealed yet "
                "(p11kms audit seal)\n",
                (unsigned long long)r->last_sealed_seq + 1, (unsigned long long)r->head.seq);
    else if (!ok && r->seq_end > r->seq)
        code = tool_fail(&a->t, TOOL_EXIT_VERIFY, "audit verify: records %llu..%llu: %s: %s",
                         (unsigned long long)r->seq, (unsigned long long)r->seq_end,
                         p11kms_audit_problem_name(r->problem), r->detail);
    else if (!ok)
        code =
            tool_fail(&a->t, TOOL_EXIT_VERIFY, "audit verify: record %llu: %s: %s",
                      (unsigned long long)r->seq, p11kms_audit_problem_name(r->problem), r->detail);
    return code;
}

int audit_cmd_verify(audit_cli *a)
{
    const char *exported = tool_arg(&a->t.args, "exported");
    const char *anchor_arg = tool_arg(&a->t.args, "anchor");
    p11kms_audit_anchor anchor;
    p11kms_audit_verify_opts o;
    p11kms_audit_verify_result r;
    uint64_t total = 0;
    p11kms_store_rc rc;
    int code = TOOL_EXIT_VERIFY;

    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    if (exported != NULL) {
        code = anchor_arg ? tool_usage(&a->t, "--exported and --anchor exclude each other")
                          : verify_exported(a, exported);
        goto done;
    }
    if (anchor_arg != NULL && !load_anchor(a, anchor_arg, &anchor))
        goto done;
    o.anchor = anchor_arg != NULL ? &anchor : NULL;
    o.expected_fingerprint = tool_arg(&a->t.args, "fingerprint");
    code = audit_open(a, 0, 2);
    if (code != TOOL_EXIT_OK)
        goto done;
    if (isatty(STDERR_FILENO) && tool_arg(&a->t.args, "no-progress") == NULL &&
        p11kms_store_audit_count(a->st, &total) == P11KMS_STORE_OK && total > 65536)
        o.progress = progress;
    rc = p11kms_store_audit_verify(a->st, &o, &r);
    if (o.progress != NULL)
        fprintf(stderr, "\r%70s\r", "");
    code = rc == P11KMS_STORE_OK ? report(a, &r) : audit_store_fail(a, rc, "audit verify");
done:
    return code;
}

int audit_cmd_seal(audit_cli *a)
{
    p11kms_audit_seal s;
    char hex[2 * P11KMS_AUDIT_HASH_LEN + 1], when[32];
    p11kms_store_rc rc;
    int code = audit_open(a, 1, 1);

    if (code != TOOL_EXIT_OK)
        return code;
    memset(&s, 0, sizeof(s));
    rc = p11kms_store_audit_seal(a->st, &s);
    if (rc == P11KMS_STORE_NOTFOUND)
        return tool_fail(&a->t, TOOL_EXIT_NOT_FOUND, "audit seal: the audit trail is empty");
    if (rc != P11KMS_STORE_OK)
        return audit_store_fail(a, rc, "audit seal");
    audit_hex(s.hash, sizeof(s.hash), hex);
    if (!p11kms_time_format_iso8601(s.time_ms, when))
        when[0] = '\0';
    return tool_emit(&a->t, json_pack("{s:I, s:s, s:s, s:s}", "Seq", (json_int_t)s.seq, "Hash", hex,
                                      "SealTime", when, "Fingerprint", s.fingerprint));
}

int audit_cmd_head(audit_cli *a)
{
    p11kms_audit_anchor h;
    char anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE];
    p11kms_store_rc rc;
    int code = audit_open(a, 0, 0);

    if (code != TOOL_EXIT_OK)
        return code;
    rc = p11kms_store_audit_head(a->st, &h);
    if (rc != P11KMS_STORE_OK)
        return audit_store_fail(a, rc, "audit head");
    p11kms_audit_anchor_format(&h, anchor);
    if (!a->format_given) {
        printf("%s\n", anchor);
        return fflush(stdout) == 0 ? TOOL_EXIT_OK
                                   : tool_fail(&a->t, TOOL_EXIT_ERROR, "cannot write the output");
    }
    return tool_emit(&a->t, json_pack("{s:s, s:I}", "Anchor", anchor, "Seq", (json_int_t)h.seq));
}
