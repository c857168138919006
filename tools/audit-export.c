/*
 * tools/audit-export.c — `p11kms audit export`: writes the records as
 * CloudTrail JSON lines, one file per UTC day of a contiguous run, each
 * with a signed digest chained to the previous one (layout:
 * tools/audit-dir.c).  An export continues the chain already in the
 * directory, so running it from a timer builds one verifiable history.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/crypto.h"
#include "common/timeutil.h"
#include "tools/audit-cli.h"
#include "tools/audit-dir.h"

typedef struct writer {
    audit_cli *a;
    const char *dir;
    char fpr[P11KMS_AUDIT_FPR_LEN + 1];
    char *prev_name; /* previous digest, NULL for the first */
    char prev_hash[65];
    char prev_sig[257];
    uint64_t prev_end;
    /* the open window */
    FILE *f;
    char *tmp;
    EVP_MD_CTX *md;
    char day[9];
    uint64_t first, last, n;
    int64_t oldest, newest;
    unsigned char last_hash[P11KMS_AUDIT_HASH_LEN];
    audit_export_stats *st;
    char err[512];
} writer;

/* The newest digest already in the directory: the chain continues there. */
static int find_previous(writer *w)
{
    char *ddir = audit_path(w->dir, "digests", NULL), **names = NULL;
    size_t n = 0;
    audit_digest d;
    int ok = ddir != NULL && audit_dir_list(ddir, ".json", &names, &n);

    for (size_t i = 0; ok && i < n; i++) {
        ok = audit_digest_load(w->dir, names[i], &d, w->err, sizeof(w->err));
        if (ok && d.end_seq > w->prev_end) {
            unsigned char h[32];
            size_t hl = sizeof(h);
            free(w->prev_name);
            w->prev_name = strdup(d.name);
            w->prev_end = d.end_seq;
            ok = w->prev_name != NULL &&
                 p11kms_crypto_digest(P11KMS_MD_SHA256, (unsigned char *)d.raw, d.rawlen, h, &hl);
            audit_hex(h, sizeof(h), w->prev_hash);
            snprintf(w->prev_sig, sizeof(w->prev_sig), "%s", d.sighex);
        }
        audit_digest_clear(&d);
    }
    if (!ok && w->err[0] == '\0')
        snprintf(w->err, sizeof(w->err), "%s: cannot read the digests", w->dir);
    audit_dir_names_free(names, n);
    free(ddir);
    return ok;
}

static int write_key(writer *w)
{
    unsigned char *spki = NULL;
    size_t len = 0;
    char fname[P11KMS_AUDIT_FPR_LEN + 8], *path = NULL, *pem = NULL;
    struct stat sb;
    p11kms_store_rc rc = p11kms_store_audit_key_ensure(w->a->st, w->fpr);
    int ok = 0;

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_key_public(w->a->st, w->fpr, &spki, &len);
    if (rc != P11KMS_STORE_OK) {
        snprintf(w->err, sizeof(w->err), "audit-signing key: %s", p11kms_store_strerror(rc));
        goto done;
    }
    snprintf(fname, sizeof(fname), "%s.pem", w->fpr);
    path = audit_path(w->dir, "keys", fname);
    pem = audit_pem_encode(spki, len);
    ok = path != NULL && pem != NULL &&
         (stat(path, &sb) == 0 || audit_write_file(path, pem, strlen(pem), 0));
    if (!ok)
        snprintf(w->err, sizeof(w->err), "%s/keys: cannot write the public key", w->dir);
done:
    free(pem);
    free(path);
    free(spki);
    return ok;
}

static int window_open(writer *w, const p11kms_audit_entry *e, const char *day)
{
    int fd;

    w->tmp = audit_path(w->dir, "records", ".tmp-export-XXXXXX");
    fd = w->tmp ? mkstemp(w->tmp) : -1;
    w->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    w->md = EVP_MD_CTX_new();
    if (w->f == NULL || w->md == NULL ||
        !EVP_DigestInit_ex(w->md, p11kms_crypto_md_evp(P11KMS_MD_SHA256), NULL)) {
        if (fd >= 0 && w->f == NULL)
            close(fd);
        if (fd >= 0)
            unlink(w->tmp);
        snprintf(w->err, sizeof(w->err), "%s/records: cannot create a file: %s", w->dir,
                 strerror(errno));
        return 0;
    }
    fchmod(fd, 0600);
    memcpy(w->day, day, sizeof(w->day));
    w->first = e->seq;
    w->n = 0;
    w->oldest = w->newest = e->rec.event_time_ms;
    return 1;
}

static int window_add(writer *w, const p11kms_audit_entry *e)
{
    json_t *j = audit_entry_json(e);
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    size_t len = line ? strlen(line) : 0;
    int ok = line != NULL && fwrite(line, 1, len, w->f) == len && fputc('\n', w->f) != EOF &&
             EVP_DigestUpdate(w->md, line, len) && EVP_DigestUpdate(w->md, "\n", 1);

    if (!ok)
        snprintf(w->err, sizeof(w->err), "%s/records: cannot write: %s", w->dir, strerror(errno));
    w->last = e->seq;
    w->n++;
    memcpy(w->last_hash, e->hash, sizeof(w->last_hash));
    w->oldest = e->rec.event_time_ms < w->oldest ? e->rec.event_time_ms : w->oldest;
    w->newest = e->rec.event_time_ms > w->newest ? e->rec.event_time_ms : w->newest;
    free(line);
    json_decref(j);
    return ok;
}

static json_t *digest_json(writer *w, const char *fname, const char *filehash)
{
    char t0[P11KMS_ISO8601_BUF_SIZE], t1[P11KMS_ISO8601_BUF_SIZE];
    char anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE];
    p11kms_audit_anchor h;

    h.seq = w->last;
    memcpy(h.hash, w->last_hash, sizeof(h.hash));
    p11kms_audit_anchor_format(&h, anchor);
    if (!p11kms_time_format_iso8601(w->oldest, t0) || !p11kms_time_format_iso8601(w->newest, t1))
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s, "
                     "s:[{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}]}",
                     "digestVersion", "p11kms-audit-digest-1", "digestStartTime", t0,
                     "digestEndTime", t1, "digestStartSeq", (json_int_t)w->first, "digestEndSeq",
                     (json_int_t)w->last, "digestPublicKeyFingerprint", w->fpr,
                     "digestSignatureAlgorithm", "SHA256withECDSA", "digestSignatureContext",
                     AUDIT_DIGEST_CONTEXT, "previousDigestFileName", w->prev_name,
                     "previousDigestHashValue", w->prev_name ? w->prev_hash : NULL,
                     "previousDigestHashAlgorithm", "SHA-256", "previousDigestSignature",
                     w->prev_name ? w->prev_sig : NULL, "chainHead", anchor, "logFiles", "fileName",
                     fname, "hashValue", filehash, "hashAlgorithm", "SHA-256", "oldestEventTime",
                     t0, "newestEventTime", t1, "firstSeq", (json_int_t)w->first, "lastSeq",
                     (json_int_t)w->last, "records", (json_int_t)w->n);
}

/* Signs and writes the digest of the closed window (.sig first: a digest
 * without its signature never appears). */
static int write_digest(writer *w, const char *base, const char *fname, const char *filehash)
{
    json_t *d = digest_json(w, fname, filehash);
    char *text = d ? json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    char dname[96], sname[100], *dpath = NULL, *spath = NULL, sighex[257], fpr[65];
    unsigned char *sig = NULL, h[32];
    size_t siglen = 0, hl = sizeof(h);
    p11kms_store_rc rc = text ? p11kms_store_audit_sign_document(w->a->st, AUDIT_DIGEST_CONTEXT,
                                                                 (unsigned char *)text,
                                                                 strlen(text), &sig, &siglen, fpr)
                              : P11KMS_STORE_NOMEM;
    int ok = rc == P11KMS_STORE_OK && siglen <= 128 && strcmp(fpr, w->fpr) == 0;

    snprintf(dname, sizeof(dname), "%s.json", base);
    snprintf(sname, sizeof(sname), "%s.json.sig", base);
    dpath = audit_path(w->dir, "digests", dname);
    spath = audit_path(w->dir, "digests", sname);
    if (ok) {
        audit_hex(sig, siglen, sighex);
        strcat(sighex, "\n");
        ok = dpath && spath && audit_write_file(spath, sighex, strlen(sighex), 1) &&
             audit_write_file(dpath, text, strlen(text), 1);
        sighex[strlen(sighex) - 1] = '\0';
    }
    if (ok && p11kms_crypto_digest(P11KMS_MD_SHA256, (unsigned char *)text, strlen(text), h, &hl)) {
        free(w->prev_name);
        w->prev_name = strdup(dname);
        audit_hex(h, sizeof(h), w->prev_hash);
        snprintf(w->prev_sig, sizeof(w->prev_sig), "%s", sighex);
        w->prev_end = w->last;
        ok = w->prev_name != NULL;
    } else if (w->err[0] == '\0') {
        snprintf(w->err, sizeof(w->err), "digest %s: %s", dname,
                 rc != P11KMS_STORE_OK ? p11kms_store_strerror(rc) : "cannot write");
    }
    free(sig);
    free(spath);
    free(dpath);
    free(text);
    json_decref(d);
    return ok;
}

static int window_close(writer *w)
{
    unsigned char h[32];
    char base[80], fname[90], filehash[65], *path = NULL;
    int ok = fflush(w->f) == 0 && fsync(fileno(w->f)) == 0;

    ok = fclose(w->f) == 0 && ok;
    w->f = NULL;
    ok = ok && EVP_DigestFinal_ex(w->md, h, NULL);
    EVP_MD_CTX_free(w->md);
    w->md = NULL;
    snprintf(base, sizeof(base), "%s_%012llu-%012llu", w->day, (unsigned long long)w->first,
             (unsigned long long)w->last);
    snprintf(fname, sizeof(fname), "%s.jsonl", base);
    path = audit_path(w->dir, "records", fname);
    ok = ok && path != NULL && link(w->tmp, path) == 0;
    if (!ok && w->err[0] == '\0')
        snprintf(w->err, sizeof(w->err), "records/%s: cannot write: %s", fname, strerror(errno));
    unlink(w->tmp);
    free(w->tmp);
    w->tmp = NULL;
    audit_hex(h, sizeof(h), filehash);
    ok = ok && write_digest(w, base, fname, filehash);
    if (ok) {
        w->st->files++;
        w->st->digests++;
        w->st->records += w->n;
        w->st->first_seq = w->st->first_seq ? w->st->first_seq : w->first;
        w->st->last_seq = w->last;
        w->st->head.seq = w->last;
        memcpy(w->st->head.hash, w->last_hash, sizeof(w->last_hash));
    }
    free(path);
    return ok;
}

typedef struct export_range {
    int64_t since, until;
    uint64_t upto;
    int started;
} export_range;

/* One record: 1 written or skipped, 0 error, -1 past the end of the range. */
static int export_one(writer *w, export_range *r, const p11kms_audit_entry *e)
{
    char iso[P11KMS_ISO8601_BUF_SIZE], day[9];

    if ((r->upto && e->seq > r->upto) || (r->until && e->rec.event_time_ms >= r->until))
        return -1;
    if (!r->started && r->since && e->rec.event_time_ms < r->since)
        return 1;
    if (!r->started && w->prev_name != NULL && e->seq != w->prev_end + 1) {
        snprintf(w->err, sizeof(w->err),
                 "the export in %s ends at record %llu but the store continues at %llu "
                 "(archived elsewhere?)",
                 w->dir, (unsigned long long)w->prev_end, (unsigned long long)e->seq);
        return 0;
    }
    r->started = 1;
    if (!p11kms_time_format_iso8601(e->rec.event_time_ms, iso))
        return snprintf(w->err, sizeof(w->err), "record %llu: bad time",
                        (unsigned long long)e->seq),
               0;
    snprintf(day, sizeof(day), "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
    if (w->f != NULL && strcmp(day, w->day) != 0 && !window_close(w))
        return 0;
    if (w->f == NULL && !window_open(w, e, day))
        return 0;
    return window_add(w, e);
}

static int export_all(writer *w, export_range *r)
{
    p11kms_audit_filter f;
    p11kms_audit_entry *page = NULL;
    size_t n = 0;
    uint64_t next = 0;
    p11kms_store_rc rc;
    int res = 1;

    memset(&f, 0, sizeof(f));
    f.ascending = 1;
    f.cursor = w->prev_end;
    do {
        rc = p11kms_store_audit_list(w->a->st, &f, 1000, &page, &n, &next);
        if (rc != P11KMS_STORE_OK) {
            snprintf(w->err, sizeof(w->err), "reading the audit trail: %s",
                     p11kms_store_strerror(rc));
            res = 0;
        }
        for (size_t i = 0; res == 1 && i < n; i++)
            res = export_one(w, r, &page[i]);
        p11kms_audit_entry_list_free(page, n);
        page = NULL;
        f.cursor = next;
    } while (res == 1 && next != 0);
    if (res != 0 && w->f != NULL)
        res = window_close(w);
    return res != 0;
}

int audit_export_dir(audit_cli *a, const char *dir, int64_t since, int64_t until, uint64_t upto_seq,
                     audit_export_stats *out)
{
    writer w;
    export_range r = {since, until, upto_seq, 0};
    char *sub[3] = {audit_path(dir, "keys", NULL), audit_path(dir, "records", NULL),
                    audit_path(dir, "digests", NULL)};
    int ok = sub[0] && sub[1] && sub[2] && audit_mkdirs(sub[0]) && audit_mkdirs(sub[1]) &&
             audit_mkdirs(sub[2]);

    memset(&w, 0, sizeof(w));
    memset(out, 0, sizeof(*out));
    w.a = a;
    w.dir = dir;
    w.st = out;
    if (!ok)
        snprintf(w.err, sizeof(w.err), "%s: cannot create the directory: %s", dir, strerror(errno));
    ok = ok && find_previous(&w);
    if (ok && w.prev_name != NULL && since != 0) {
        snprintf(w.err, sizeof(w.err),
                 "%s already holds an export (up to record %llu): it continues there, "
                 "--since does not apply",
                 dir, (unsigned long long)w.prev_end);
        ok = 0;
    }
    ok = ok && write_key(&w) && export_all(&w, &r);
    if (w.f != NULL) {
        fclose(w.f);
        unlink(w.tmp);
    }
    EVP_MD_CTX_free(w.md);
    free(w.tmp);
    free(w.prev_name);
    snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", w.fpr);
    for (int i = 0; i < 3; i++)
        free(sub[i]);
    return ok ? TOOL_EXIT_OK : tool_fail(&a->t, TOOL_EXIT_ERROR, "audit export: %s", w.err);
}

static json_t *stats_json(const audit_export_stats *s, const char *dir)
{
    char anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE];

    p11kms_audit_anchor_format(&s->head, anchor);
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:s?, s:s}", "OutputDir", dir, "Records",
                     (json_int_t)s->records, "Files", (json_int_t)s->files, "FirstSeq",
                     (json_int_t)s->first_seq, "LastSeq", (json_int_t)s->last_seq, "ChainHead",
                     s->records ? anchor : NULL, "Fingerprint", s->fingerprint);
}

int audit_cmd_export(audit_cli *a)
{
    const char *dir = tool_arg(&a->t.args, "output-dir");
    const char *since_s = tool_arg(&a->t.args, "since"), *until_s = tool_arg(&a->t.args, "until");
    int64_t now = p11kms_time_now_ms(), since = 0, until = 0;
    audit_export_stats s;
    int code;

    if (since_s != NULL && !audit_parse_time(since_s, now, &since))
        return tool_usage(&a->t, "--since: not a time: '%s'", since_s);
    if (until_s != NULL && !audit_parse_time(until_s, now, &until))
        return tool_usage(&a->t, "--until: not a time: '%s'", until_s);
    code = audit_open(a, 1, 1);
    if (code == TOOL_EXIT_OK)
        code = audit_export_dir(a, dir, since, until, 0, &s);
    if (code == TOOL_EXIT_OK)
        code = tool_emit(&a->t, stats_json(&s, dir));
    return code;
}

json_t *audit_export_stats_json(const audit_export_stats *s, const char *dir)
{
    return stats_json(s, dir);
}
