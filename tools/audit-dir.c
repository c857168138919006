/*
 * tools/audit-dir.c — the export directory (docs/audit.md, "Exports"):
 *
 *   DIR/keys/FPR.pem            audit-signing public keys (SPKI, PEM)
 *   DIR/records/NAME.jsonl      one CloudTrail record per line, one file
 *                               per UTC day of a contiguous run of records
 *   DIR/digests/NAME.json       a digest per records file: its SHA-256,
 *                               seq range, chain head, and the previous
 *                               digest's file name, SHA-256 and signature
 *   DIR/digests/NAME.json.sig   hex ECDSA signature of the digest bytes
 *
 * NAME is YYYYMMDD_FIRSTSEQ-LASTSEQ (zero-padded).  Digests chain like
 * CloudTrail's, so removing, editing or reordering any file or record is
 * visible offline with only the public key.  Writing lives in
 * tools/audit-export.c; this file holds the shared reading and the offline
 * verification.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "common/crypto.h"
#include "tools/audit-cli.h"
#include "tools/audit-dir.h"

static int name_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int audit_dir_list(const char *dir, const char *suffix, char ***names, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL;
    size_t n = 0, slen = strlen(suffix);
    int ok = d != NULL;

    while (ok && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char **nv;
        if (de->d_name[0] == '.' || len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
            continue;
        nv = realloc(v, (n + 1) * sizeof(*v));
        ok = nv != NULL;
        if (ok && (nv[n] = strdup(de->d_name)) != NULL)
            n++;
        v = ok ? nv : v;
        ok = ok && v[n - 1] != NULL;
    }
    if (d != NULL)
        closedir(d);
    if (!ok) {
        audit_dir_names_free(v, n);
        return 0;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), name_cmp);
    *names = v;
    *count = n;
    return 1;
}

void audit_dir_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

char *audit_path(const char *a, const char *b, const char *c)
{
    size_t len = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *p = malloc(len);

    if (p != NULL)
        snprintf(p, len, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return p;
}

char *audit_pem_encode(const unsigned char *der, size_t len)
{
    char *b64 = p11kms_b64_encode_alloc(der, len), *out = NULL, *w;
    size_t blen = b64 ? strlen(b64) : 0;

    if (b64 == NULL)
        return NULL;
    out = malloc(blen + blen / 64 + 64);
    if (out != NULL) {
        w = out + sprintf(out, "-----BEGIN PUBLIC KEY-----\n");
        for (size_t i = 0; i < blen; i += 64)
            w += sprintf(w, "%.64s\n", b64 + i);
        sprintf(w, "-----END PUBLIC KEY-----\n");
    }
    free(b64);
    return out;
}

int audit_pem_decode(const char *pem, unsigned char **der, size_t *len)
{
    const char *b = strstr(pem, "-----BEGIN PUBLIC KEY-----"), *e;
    char *clean = NULL;
    size_t n = 0;
    int ok = 0;

    e = b ? strstr(b, "-----END PUBLIC KEY-----") : NULL;
    if (e == NULL)
        goto done;
    b += strlen("-----BEGIN PUBLIC KEY-----");
    clean = malloc((size_t)(e - b) + 1);
    if (clean == NULL)
        goto done;
    for (const char *p = b; p < e; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ')
            clean[n++] = *p;
    *len = p11kms_b64_decoded_maxlen(n);
    *der = malloc(*len ? *len : 1);
    ok = *der != NULL && p11kms_b64_decode(clean, n, *der, len);
    if (!ok) {
        free(*der);
        *der = NULL;
    }
done:
    free(clean);
    return ok;
}

/* ---- reading and checking digests ---- */

void audit_digest_clear(audit_digest *d)
{
    json_decref(d->json);
    free(d->raw);
    free(d->name);
    memset(d, 0, sizeof(*d));
}

static uint64_t get_u64(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v) : 0;
}

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int audit_digest_load(const char *dir, const char *name, audit_digest *d, char *problem,
                      size_t plen)
{
    char *path = audit_path(dir, "digests", name), *sigpath = NULL, *sig = NULL;
    size_t siglen = 0;
    int ok = 0;

    memset(d, 0, sizeof(*d));
    d->name = strdup(name);
    if (path == NULL || d->name == NULL ||
        !audit_read_file(path, AUDIT_DIGEST_MAX, &d->raw, &d->rawlen)) {
        snprintf(problem, plen, "digest %s: cannot be read", name);
        goto done;
    }
    d->json = json_loadb(d->raw, d->rawlen, JSON_REJECT_DUPLICATES, NULL);
    d->start_seq = get_u64(d->json, "digestStartSeq");
    d->end_seq = get_u64(d->json, "digestEndSeq");
    if (!json_is_object(d->json) || d->start_seq == 0 || d->end_seq < d->start_seq ||
        get_str(d->json, "digestPublicKeyFingerprint") == NULL ||
        !json_is_array(json_object_get(d->json, "logFiles"))) {
        snprintf(problem, plen, "digest %s: edited (not a valid digest document)", name);
        goto done;
    }
    sigpath = malloc(strlen(path) + 5);
    if (sigpath != NULL)
        sprintf(sigpath, "%s.sig", path);
    if (sigpath == NULL || !audit_read_file(sigpath, 1024, &sig, &siglen)) {
        snprintf(problem, plen, "digest %s: signature file removed", name);
        goto done;
    }
    while (siglen > 0 && (sig[siglen - 1] == '\n' || sig[siglen - 1] == '\r'))
        sig[--siglen] = '\0';
    d->siglen = siglen / 2;
    if (siglen % 2 != 0 || d->siglen > sizeof(d->sig) || !audit_unhex(sig, d->sig, d->siglen)) {
        snprintf(problem, plen, "digest %s: signature file edited", name);
        goto done;
    }
    snprintf(d->sighex, sizeof(d->sighex), "%s", sig);
    ok = 1;
done:
    free(sig);
    free(sigpath);
    free(path);
    return ok;
}

/* ---- offline verification ---- */

typedef struct vctx {
    const char *dir;
    const char *pin_fpr;
    char *problem;
    size_t plen;
    audit_digest *d;
    size_t nd;
    char **listed; /* record files named by digests */
    size_t nlisted;
    audit_export_stats *st;
} vctx;

static int key_of(vctx *v, const char *fpr, unsigned char **spki, size_t *len)
{
    char fname[P11KMS_AUDIT_FPR_LEN + 8], *path, *pem = NULL, hex[65];
    unsigned char h[32];
    size_t pemlen;
    int ok = 0;

    snprintf(fname, sizeof(fname), "%s.pem", fpr);
    path = audit_path(v->dir, "keys", fname);
    if (path != NULL && audit_read_file(path, 65536, &pem, &pemlen) &&
        audit_pem_decode(pem, spki, len)) {
        size_t hl = sizeof(h);
        ok = p11kms_crypto_digest(P11KMS_MD_SHA256, *spki, *len, h, &hl);
        audit_hex(h, sizeof(h), hex);
        ok = ok && strcmp(hex, fpr) == 0;
        if (!ok) {
            free(*spki);
            *spki = NULL;
        }
    }
    free(pem);
    free(path);
    return ok;
}

static int check_signature(vctx *v, const audit_digest *d)
{
    const char *fpr = get_str(d->json, "digestPublicKeyFingerprint");
    unsigned char *spki = NULL;
    size_t len = 0;
    int ok;

    if (v->pin_fpr != NULL && strcmp(fpr, v->pin_fpr) != 0) {
        snprintf(v->problem, v->plen, "digest %s: signed by key %.16s..., not the expected key",
                 d->name, fpr);
        return 0;
    }
    if (!key_of(v, fpr, &spki, &len)) {
        snprintf(v->problem, v->plen, "digest %s: public key keys/%.16s....pem removed or edited",
                 d->name, fpr);
        return 0;
    }
    ok = p11kms_audit_verify_document(spki, len, AUDIT_DIGEST_CONTEXT,
                                      (const unsigned char *)d->raw, d->rawlen, d->sig, d->siglen);
    free(spki);
    if (!ok)
        snprintf(v->problem, v->plen, "digest %s: edited (signature does not verify)", d->name);
    else
        snprintf(v->st->fingerprint, sizeof(v->st->fingerprint), "%s", fpr);
    return ok;
}

/* The link of digest i to digest i-1 (CloudTrail's previousDigest*). */
static int check_link(vctx *v, size_t i)
{
    const audit_digest *d = &v->d[i], *p = i ? &v->d[i - 1] : NULL;
    const char *pname = get_str(d->json, "previousDigestFileName");
    const char *phash = get_str(d->json, "previousDigestHashValue");
    const char *psig = get_str(d->json, "previousDigestSignature");
    unsigned char h[32];
    char hex[65];
    size_t hl = sizeof(h);

    if (p == NULL) {
        if (pname != NULL)
            snprintf(v->problem, v->plen, "digest %s: previous digest %s removed", d->name, pname);
        return pname == NULL;
    }
    if (pname == NULL || strcmp(pname, p->name) != 0) {
        snprintf(v->problem, v->plen, "digest %s: follows %s, found after %s: %s", d->name,
                 pname ? pname : "nothing", p->name,
                 pname && p->end_seq + 1 < d->start_seq ? "a digest was removed" : "reordered");
        return 0;
    }
    if (!p11kms_crypto_digest(P11KMS_MD_SHA256, (const unsigned char *)p->raw, p->rawlen, h, &hl))
        return snprintf(v->problem, v->plen, "SHA-256 failed"), 0;
    audit_hex(h, sizeof(h), hex);
    if (phash == NULL || psig == NULL || strcmp(phash, hex) != 0 || strcmp(psig, p->sighex) != 0) {
        snprintf(v->problem, v->plen,
                 "digest %s: edited or replaced (does not match the link of %s)", p->name, d->name);
        return 0;
    }
    if (d->start_seq != p->end_seq + 1) {
        snprintf(v->problem, v->plen, "digest %s: records %llu..%llu missing (removed)", d->name,
                 (unsigned long long)p->end_seq + 1, (unsigned long long)d->start_seq - 1);
        return 0;
    }
    return 1;
}

/* Sequence numbers of the lines of a records file (0 for a line that is
 * not a record); *seqs malloc'd. */
static int line_seqs(const char *path, uint64_t **seqs, size_t *n)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0, cap = 0;
    uint64_t *v = NULL, *nv;
    json_t *r;
    int ok = audit_read_file(path, AUDIT_RECORDS_MAX, &text, &len);

    *n = 0;
    for (line = ok ? strtok_r(text, "\n", &save) : NULL; ok && line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            nv = realloc(v, cap * sizeof(*v));
            ok = nv != NULL;
            v = ok ? nv : v;
        }
        r = ok ? json_loads(line, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (ok)
            v[(*n)++] = get_u64(json_object_get(r, "additionalEventData"), "sequenceNumber");
        json_decref(r);
    }
    free(text);
    if (!ok)
        free(v);
    *seqs = ok ? v : NULL;
    return ok;
}

/* Names the damage of a records file whose lines are seqs (want: first..last). */
static void classify(vctx *v, const char *fname, const uint64_t *seq, size_t n, uint64_t first,
                     uint64_t last)
{
    uint64_t want = last - first + 1, expect = first;

    for (size_t i = 0; i < n; i++)
        if (seq[i] == 0) {
            snprintf(v->problem, v->plen, "file %s: line %zu edited (not a record)", fname, i + 1);
            return;
        }
    for (size_t i = 0; i < n; i++, expect++) {
        if (seq[i] == expect)
            continue;
        if (n > want)
            snprintf(v->problem, v->plen, "file %s: record inserted at line %zu (seq %llu)", fname,
                     i + 1, (unsigned long long)seq[i]);
        else if (n < want && seq[i] > expect)
            snprintf(v->problem, v->plen, "file %s: record %llu deleted", fname,
                     (unsigned long long)expect);
        else
            snprintf(v->problem, v->plen, "file %s: records reordered (record %llu at line %zu)",
                     fname, (unsigned long long)seq[i], i + 1);
        return;
    }
    if (n < want)
        snprintf(v->problem, v->plen, "file %s: record %llu deleted", fname,
                 (unsigned long long)expect);
    else
        snprintf(v->problem, v->plen, "file %s: edited (a record's content changed)", fname);
}

/* Why a records file does not match its hash: names the kind. */
static void diagnose(vctx *v, const char *fname, const char *path, json_t *lf,
                     const unsigned char actual[32])
{
    uint64_t *seqs = NULL;
    size_t n = 0;
    char hex[65];

    audit_hex(actual, 32, hex);
    for (size_t i = 0; i < v->nd; i++) {
        json_t *files = json_object_get(v->d[i].json, "logFiles"), *o;
        size_t k;
        json_array_foreach(files, k, o)
        {
            const char *h = get_str(o, "hashValue"), *other = get_str(o, "fileName");
            if (h && other && strcmp(h, hex) == 0 && strcmp(other, fname) != 0) {
                snprintf(v->problem, v->plen, "file %s: reordered (holds the content of %s)", fname,
                         other);
                return;
            }
        }
    }
    if (!line_seqs(path, &seqs, &n))
        snprintf(v->problem, v->plen, "file %s: edited (unreadable)", fname);
    else
        classify(v, fname, seqs, n, get_u64(lf, "firstSeq"), get_u64(lf, "lastSeq"));
    free(seqs);
}

static int check_files(vctx *v, const audit_digest *d)
{
    json_t *files = json_object_get(d->json, "logFiles"), *lf;
    unsigned char h[32];
    char hex[65], *path;
    size_t k;
    int ok = 1;

    json_array_foreach(files, k, lf)
    {
        const char *fname = get_str(lf, "fileName"), *want = get_str(lf, "hashValue");
        char **nl;
        if (fname == NULL || want == NULL || strchr(fname, '/') != NULL) {
            snprintf(v->problem, v->plen, "digest %s: edited (bad logFiles entry)", d->name);
            return 0;
        }
        path = audit_path(v->dir, "records", fname);
        nl = realloc(v->listed, (v->nlisted + 1) * sizeof(*nl));
        if (path == NULL || nl == NULL) {
            free(path);
            return snprintf(v->problem, v->plen, "out of memory"), 0;
        }
        v->listed = nl;
        v->listed[v->nlisted++] = (char *)fname;
        if (!audit_file_sha256(path, h)) {
            snprintf(v->problem, v->plen, "file %s: removed", fname);
            ok = 0;
        } else if (audit_hex(h, 32, hex), strcmp(hex, want) != 0) {
            diagnose(v, fname, path, lf, h);
            ok = 0;
        }
        free(path);
        if (!ok)
            return 0;
        v->st->files++;
        v->st->records += get_u64(lf, "records");
    }
    return 1;
}

static int check_unlisted(vctx *v)
{
    char *rdir = audit_path(v->dir, "records", NULL), **names = NULL;
    size_t n = 0;
    int ok = rdir != NULL && audit_dir_list(rdir, ".jsonl", &names, &n);

    for (size_t i = 0; ok && i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < v->nlisted && !found; k++)
            found = strcmp(v->listed[k], names[i]) == 0;
        if (!found) {
            snprintf(v->problem, v->plen, "file %s: inserted (listed in no digest)", names[i]);
            ok = 0;
        }
    }
    audit_dir_names_free(names, n);
    free(rdir);
    return ok;
}

static int seq_cmp(const void *x, const void *y)
{
    const audit_digest *a = x, *b = y;
    return a->start_seq < b->start_seq ? -1 : a->start_seq > b->start_seq;
}

static int load_all(vctx *v)
{
    char *ddir = audit_path(v->dir, "digests", NULL), **names = NULL;
    size_t n = 0;
    int ok = ddir != NULL && audit_dir_list(ddir, ".json", &names, &n);

    if (!ok)
        snprintf(v->problem, v->plen, "no digests/ directory: not an export directory");
    v->d = ok && n ? calloc(n, sizeof(*v->d)) : NULL;
    ok = ok && (n == 0 || v->d != NULL);
    for (size_t i = 0; ok && i < n; i++, v->nd++)
        ok = audit_digest_load(v->dir, names[i], &v->d[i], v->problem, v->plen);
    if (ok && n == 0) {
        snprintf(v->problem, v->plen, "no digest: nothing was exported here");
        ok = 0;
    }
    if (ok)
        qsort(v->d, v->nd, sizeof(*v->d), seq_cmp);
    audit_dir_names_free(names, n);
    free(ddir);
    return ok;
}

int audit_verify_dir(const char *dir, const char *fingerprint, audit_export_stats *st,
                     char *problem, size_t plen)
{
    vctx v = {dir, fingerprint, problem, plen, NULL, 0, NULL, 0, st};
    const char *head;
    int ok;

    memset(st, 0, sizeof(*st));
    problem[0] = '\0';
    ok = load_all(&v);
    for (size_t i = 0; ok && i < v.nd; i++)
        ok = check_signature(&v, &v.d[i]) && check_link(&v, i) && check_files(&v, &v.d[i]);
    ok = ok && check_unlisted(&v);
    if (ok) {
        head = get_str(v.d[v.nd - 1].json, "chainHead");
        st->first_seq = v.d[0].start_seq;
        st->last_seq = v.d[v.nd - 1].end_seq;
        st->digests = v.nd;
        ok = head != NULL && p11kms_audit_anchor_parse(head, &st->head) &&
             st->head.seq == st->last_seq;
        if (!ok)
            snprintf(problem, plen, "digest %s: edited (bad chainHead)", v.d[v.nd - 1].name);
    }
    for (size_t i = 0; i < v.nd; i++)
        audit_digest_clear(&v.d[i]);
    free(v.d);
    free(v.listed);
    return ok ? 1 : 0;
}
