/*
 * store/audit-fold.c - folding journal entries into the hash chain.
 *
 * Folding runs inside a write transaction (BEGIN IMMEDIATE serialises all
 * folders of all processes) and records, in the same transaction, how far
 * each journal file has been folded (audit_journal.folded).  A crash in the
 * middle of a fold rolls both back, so every entry is chained exactly once.
 * Files are removed only after the commit that folded them to the end, and
 * only when their owner is gone; a row whose file no longer exists is
 * dropped later (names are random and never reused).
 *
 * A live journal (its owner holds the lock) is folded up to its first
 * incomplete entry, which may still be being written.  A dead journal is
 * folded to its end: a region that fails its checksum is skipped and the
 * skip itself is chained as an "AuditJournalDamaged" service event, so
 * damage is visible in the trail and never blocks it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "store/audit-internal.h"

#define CHUNK_MIN (256u * 1024u)
#define CHUNK_MAX (P11KMS_AUDIT_JHDR_LEN + P11KMS_AUDIT_RECORD_MAX + 4096u + 64u)
/* Orphaned temporaries (creator died before renaming) older than this go. */
#define TMP_MAX_AGE_S 60

typedef struct fold_ctx {
    p11kms_audit_state *s;
    p11kms_audit_anchor head;
    unsigned char *buf;
    size_t cap;
    p11kms_buf scratch; /* damage records */
    char **dead;        /* fully folded dead journals */
    size_t ndead;
} fold_ctx;

typedef struct jfile {
    const char *name;
    int fd;        /* -1 when read through the own-journal registry */
    int live;      /* owner alive: stop at the first bad/incomplete entry */
    int lost;      /* own journal rotated under us: continue next time */
    uint64_t size; /* dead journals: size at open */
} jfile;

static char *path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + nl + 2);

    if (p != NULL) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    }
    return p;
}

static p11kms_store_rc offset_get(p11kms_audit_state *s, const char *name, uint64_t *off)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_JOURNAL_GET, &rc);
    int src;

    *off = 0;
    if (q == NULL || sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
        goto done;
    src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        *off = (uint64_t)sqlite3_column_int64(q, 0);
    rc = src == SQLITE_ROW || src == SQLITE_DONE ? P11KMS_STORE_OK
                                                 : p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

static p11kms_store_rc offset_put(p11kms_audit_state *s, const char *name, uint64_t off)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_JOURNAL_PUT, &rc);
    int src;

    if (q == NULL || sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (sqlite3_int64)off) != SQLITE_OK ||
        sqlite3_bind_int64(q, 3, p11kms_time_now_ms()) != SQLITE_OK)
        goto done;
    src = sqlite3_step(q);
    rc = src == SQLITE_DONE ? P11KMS_STORE_OK : p11kms_store_rc_from_sqlite(src);
done:
    p11kms_audit_stmt_done(q);
    return rc;
}

/* Chains a service event saying that bytes of a journal were unreadable. */
static p11kms_store_rc record_damage(fold_ctx *c, const char *name, uint64_t off, uint64_t skipped)
{
    char resp[256];

    snprintf(resp, sizeof(resp), "{\"journal\":\"%s\",\"offset\":%llu,\"skippedBytes\":%llu}", name,
             (unsigned long long)off, (unsigned long long)skipped);
    return p11kms_audit_service_event(c->s, &c->head, &c->scratch, "AuditJournalDamaged", resp,
                                      "AuditJournalDamaged",
                                      "journal bytes failed their checksum and were skipped");
}

static p11kms_store_rc fold_entry(fold_ctx *c, const jfile *jf, const unsigned char *body,
                                  size_t bodylen, uint64_t at, size_t elen)
{
    p11kms_audit_fields f;

    if (!p11kms_audit_decode_body(body, bodylen, &f))
        return record_damage(c, jf->name, at, elen);
    return p11kms_audit_chain_insert(c->s, &c->head, &f, body, bodylen);
}

static p11kms_store_rc jread(fold_ctx *c, jfile *jf, uint64_t off, size_t *n)
{
    ssize_t r;
    int own;

    *n = 0;
    if (c->buf == NULL && (c->buf = malloc(c->cap)) == NULL)
        return P11KMS_STORE_NOMEM;
    if (jf->fd < 0) {
        own = p11kms_audit_journal_read_own(c->s->dir, jf->name, off, c->buf, c->cap, n);
        jf->lost = own == 0;
        return own < 0 ? P11KMS_STORE_IO : P11KMS_STORE_OK;
    }
    do {
        r = pread(jf->fd, c->buf, c->cap, (off_t)off);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return P11KMS_STORE_IO;
    *n = (size_t)r;
    return P11KMS_STORE_OK;
}

/* Where a damaged region might end: the next possible magic after pos. */
static size_t next_candidate(const unsigned char *p, size_t pos, size_t n)
{
    const unsigned char *q = memchr(p + pos + 1, P11KMS_AUDIT_JMAGIC[0], n - pos - 1);
    return q ? (size_t)(q - p) : n;
}

typedef struct scan_state {
    uint64_t folded; /* end of the last entry chained */
    uint64_t dstart; /* start of the damaged region */
    int damaged;
    int eof;
} scan_state;

/* Parses one buffer window read at scan; returns bytes consumed. */
static p11kms_store_rc fold_window(fold_ctx *c, jfile *jf, uint64_t scan, size_t n, scan_state *ss,
                                   size_t *consumed)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    const unsigned char *body;
    size_t pos = 0, elen, blen;
    int r;

    while (pos < n && rc == P11KMS_STORE_OK) {
        r = p11kms_audit_jentry_check(c->s->md, c->buf + pos, n - pos, &elen, &body, &blen);
        if (r == 1) {
            if (ss->damaged)
                rc = record_damage(c, jf->name, ss->dstart, scan + pos - ss->dstart);
            ss->damaged = 0;
            if (rc == P11KMS_STORE_OK)
                rc = fold_entry(c, jf, body, blen, scan + pos, elen);
            pos += elen;
            ss->folded = scan + pos;
        } else if (r == 0) {
            ss->eof = n < c->cap; /* the file ends inside this entry */
            break;
        } else if (jf->live) {
            ss->eof = 1; /* maybe still being written: stop here */
            break;
        } else {
            if (!ss->damaged)
                ss->dstart = scan + pos;
            ss->damaged = 1;
            pos = next_candidate(c->buf, pos, n);
        }
    }
    *consumed = pos;
    return rc;
}

static p11kms_store_rc grow(fold_ctx *c)
{
    size_t ncap = c->cap * 2 > CHUNK_MAX ? CHUNK_MAX : c->cap * 2;
    unsigned char *nb;

    if (ncap <= c->cap)
        return P11KMS_STORE_CORRUPT;
    nb = realloc(c->buf, ncap);
    if (nb == NULL)
        return P11KMS_STORE_NOMEM;
    c->buf = nb;
    c->cap = ncap;
    return P11KMS_STORE_OK;
}

static p11kms_store_rc fold_file(fold_ctx *c, jfile *jf)
{
    scan_state ss;
    uint64_t scan;
    size_t n = 0, used = 0;
    p11kms_store_rc rc;

    memset(&ss, 0, sizeof(ss));
    rc = offset_get(c->s, jf->name, &ss.folded);
    scan = ss.folded;
    while (rc == P11KMS_STORE_OK && !ss.eof) {
        rc = jread(c, jf, scan, &n);
        if (rc != P11KMS_STORE_OK || n == 0 || jf->lost)
            break;
        rc = fold_window(c, jf, scan, n, &ss, &used);
        if (rc == P11KMS_STORE_OK && used == 0 && !ss.eof)
            rc = grow(c); /* one entry larger than the window */
        scan += used;
    }
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (!jf->live && !jf->lost && jf->size > ss.folded) {
        /* dead journal: whatever could not be chained is damage (a torn
         * last write of a crashed process, or worse) */
        uint64_t from = ss.damaged ? ss.dstart : ss.folded;
        rc = record_damage(c, jf->name, from, jf->size - from);
        ss.folded = jf->size;
    }
    if (rc == P11KMS_STORE_OK)
        rc = offset_put(c->s, jf->name, ss.folded);
    if (rc == P11KMS_STORE_OK && !jf->live && !jf->lost && ss.folded >= jf->size &&
        c->dead != NULL) {
        c->dead[c->ndead] = strdup(jf->name);
        c->ndead += c->dead[c->ndead] != NULL;
    }
done:
    return rc;
}

static int owner_alive(int fd)
{
    struct flock fl;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_RDLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &fl) != 0)
        return 1; /* cannot tell: treat as live, never remove it */
    return fl.l_type != F_UNLCK;
}

/* Temporaries exist only between create and rename; an old unlocked one
 * belongs to a process that died in between and never holds entries. */
static void remove_orphan_tmp(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    struct stat sb;
    int fd = p ? open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) : -1;

    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0 &&
        sb.st_mtime + TMP_MAX_AGE_S < time(NULL) && !owner_alive(fd))
        unlink(p);
    if (fd >= 0)
        close(fd);
    free(p);
}

static p11kms_store_rc fold_named(fold_ctx *c, const char *name)
{
    unsigned char probe;
    size_t n;
    struct stat sb;
    char *p = NULL;
    jfile jf = {name, -1, 1, 0, 0};
    p11kms_store_rc rc = P11KMS_STORE_OK;

    if (p11kms_audit_journal_read_own(c->s->dir, name, 0, &probe, 0, &n) == 1)
        return fold_file(c, &jf); /* our own live journal */
    p = path_join(c->s->dir, name);
    if (p == NULL)
        return P11KMS_STORE_NOMEM;
    jf.fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (jf.fd < 0) {
        rc = errno == ENOENT ? P11KMS_STORE_OK : P11KMS_STORE_IO;
        goto done;
    }
    /* only regular files nobody else could have written */
    if (fstat(jf.fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 022) != 0)
        goto done;
    jf.live = owner_alive(jf.fd);
    jf.size = (uint64_t)sb.st_size;
    rc = fold_file(c, &jf);
done:
    if (jf.fd >= 0)
        close(jf.fd);
    free(p);
    return rc;
}

static p11kms_store_rc dead_list_room(fold_ctx *c, size_t *cap)
{
    char **nd;

    if (c->dead == NULL || c->ndead < *cap)
        return P11KMS_STORE_OK;
    nd = realloc(c->dead, (*cap * 2) * sizeof(*nd));
    if (nd == NULL)
        return P11KMS_STORE_NOMEM;
    c->dead = nd;
    *cap *= 2;
    return P11KMS_STORE_OK;
}

static p11kms_store_rc fold_dir(fold_ctx *c, int want_dead)
{
    DIR *d = opendir(c->s->dir);
    struct dirent *de;
    size_t cap = 16;
    p11kms_store_rc rc = P11KMS_STORE_OK;

    if (d == NULL) {
        rc = errno == ENOENT ? P11KMS_STORE_OK : P11KMS_STORE_IO;
        goto done;
    }
    if (want_dead && (c->dead = calloc(cap, sizeof(*c->dead))) == NULL) {
        rc = P11KMS_STORE_NOMEM;
        goto done;
    }
    rc = p11kms_audit_chain_head(c->s, &c->head);
    while (rc == P11KMS_STORE_OK && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".tmp-", 5) == 0 && want_dead)
            remove_orphan_tmp(c->s->dir, de->d_name);
        if (!p11kms_audit_journal_name_ok(de->d_name))
            continue;
        rc = dead_list_room(c, &cap);
        if (rc == P11KMS_STORE_OK)
            rc = fold_named(c, de->d_name);
    }
done:
    if (d != NULL)
        closedir(d);
    return rc;
}

p11kms_store_rc p11kms_audit_fold_all(p11kms_audit_state *s, char ***dead_done, size_t *ndead)
{
    fold_ctx c;
    p11kms_store_rc rc;
    size_t i;

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.cap = CHUNK_MIN; /* the buffer is allocated on the first read */
    rc = fold_dir(&c, dead_done != NULL);
    if (rc == P11KMS_STORE_OK && dead_done != NULL) {
        *dead_done = c.dead;
        *ndead = c.ndead;
        c.dead = NULL;
    }
    for (i = 0; c.dead != NULL && i < c.ndead; i++)
        free(c.dead[i]);
    free(c.dead);
    free(c.buf);
    p11kms_buf_free(&c.scratch);
    return rc;
}

/* Drops offset rows of journals that no longer exist (removed after an
 * earlier commit); names are never reused, so this is always safe. */
static p11kms_store_rc prune_rows(p11kms_audit_state *s)
{
    p11kms_store_rc rc = P11KMS_STORE_INTERNAL;
    sqlite3_stmt *q = p11kms_audit_stmt(s, AST_JOURNAL_LIST, &rc);
    sqlite3_stmt *del = NULL;
    char *gone[32], *p;
    size_t n = 0, i;
    struct stat sb;
    int src;

    if (q == NULL)
        goto done;
    while (n < 32 && (src = sqlite3_step(q)) == SQLITE_ROW) {
        p = path_join(s->dir, (const char *)sqlite3_column_text(q, 0));
        if (p != NULL && lstat(p, &sb) != 0 && errno == ENOENT)
            gone[n++] = strdup((const char *)sqlite3_column_text(q, 0));
        free(p);
    }
    p11kms_audit_stmt_done(q);
    rc = P11KMS_STORE_OK;
    del = n ? p11kms_audit_stmt(s, AST_JOURNAL_DEL, &rc) : NULL;
    for (i = 0; i < n; i++) {
        if (del != NULL && gone[i] != NULL &&
            sqlite3_bind_text(del, 1, gone[i], -1, SQLITE_STATIC) == SQLITE_OK) {
            src = sqlite3_step(del);
            if (src != SQLITE_DONE && rc == P11KMS_STORE_OK)
                rc = p11kms_store_rc_from_sqlite(src);
        }
        p11kms_audit_stmt_done(del);
        free(gone[i]);
    }
done:
    return rc;
}

typedef struct flush_ctx {
    p11kms_audit_state *s;
    char **dead;
    size_t ndead;
    int seal; /* 0 none, 1 if due, 2 force */
    p11kms_audit_seal *out;
} flush_ctx;

static p11kms_store_rc flush_cb(p11kms_store *st, void *arg)
{
    flush_ctx *fc = arg;
    p11kms_store_rc rc = prune_rows(fc->s);

    (void)st;
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_fold_all(fc->s, &fc->dead, &fc->ndead);
    if (rc == P11KMS_STORE_OK && fc->seal)
        rc = p11kms_audit_seal_if_due(fc->s, fc->seal == 2, fc->out);
    return rc;
}

static void remove_dead(p11kms_audit_state *s, flush_ctx *fc, int committed)
{
    size_t i;
    char *p;

    for (i = 0; i < fc->ndead; i++) {
        p = committed ? path_join(s->dir, fc->dead[i]) : NULL;
        if (p != NULL)
            unlink(p);
        free(p);
        free(fc->dead[i]);
    }
    free(fc->dead);
    fc->dead = NULL;
    fc->ndead = 0;
}

p11kms_store_rc p11kms_audit_flush_ex(p11kms_audit_state *s, int rotate_first, int force_seal,
                                      p11kms_audit_seal *out)
{
    flush_ctx fc = {s, NULL, 0, force_seal ? 2 : 1, out};
    p11kms_store_rc rc = P11KMS_STORE_READONLY;

    if (p11kms_store_is_readonly(s->st))
        goto done;
    if (p11kms_store_in_write_txn(s->st)) {
        rc = p11kms_audit_fold_all(s, NULL, NULL);
        if (rc == P11KMS_STORE_OK)
            rc = p11kms_audit_seal_if_due(s, force_seal, out);
        goto done;
    }
    rc = P11KMS_STORE_INVALID;
    if (p11kms_store_in_txn(s->st))
        goto done;
    if (rotate_first && s->journal != NULL)
        p11kms_audit_journal_rotate(s->journal);
    rc = p11kms_store_atomic(s->st, flush_cb, &fc);
    remove_dead(s, &fc, rc == P11KMS_STORE_OK);
    if (rc == P11KMS_STORE_OK && !rotate_first && s->journal != NULL)
        p11kms_audit_journal_rotate(s->journal);
done:
    return rc;
}

p11kms_store_rc p11kms_audit_flush_state(p11kms_audit_state *s, int rotate_first)
{
    return p11kms_audit_flush_ex(s, rotate_first, 0, NULL);
}

static int exec_stmt(p11kms_audit_state *s, enum p11kms_audit_stmt_id id)
{
    p11kms_store_rc rc;
    sqlite3_stmt *q = p11kms_audit_stmt(s, id, &rc);
    int src = q ? sqlite3_step(q) : SQLITE_ERROR;

    p11kms_audit_stmt_done(q);
    return src == SQLITE_DONE;
}

p11kms_store_rc p11kms_audit_flush_raw(p11kms_audit_state *s)
{
    flush_ctx fc = {s, NULL, 0, 0, NULL};
    p11kms_store_rc rc = P11KMS_STORE_READONLY;
    int ok;

    if (p11kms_store_is_readonly(s->st) || p11kms_store_in_txn(s->st))
        goto done;
    if (s->journal != NULL)
        p11kms_audit_journal_rotate(s->journal);
    /* do not hold up close(): a journal left behind is folded by others */
    sqlite3_busy_timeout(s->db, 250);
    rc = P11KMS_STORE_BUSY;
    ok = exec_stmt(s, AST_BEGIN);
    sqlite3_busy_timeout(s->db, p11kms_store_busy_timeout_ms(s->st));
    if (!ok)
        goto done;
    rc = flush_cb(s->st, &fc);
    if (rc == P11KMS_STORE_OK && !exec_stmt(s, AST_COMMIT))
        rc = P11KMS_STORE_IO;
    if (rc != P11KMS_STORE_OK)
        (void)exec_stmt(s, AST_ROLLBACK);
    remove_dead(s, &fc, rc == P11KMS_STORE_OK);
done:
    return rc;
}

p11kms_store_rc p11kms_store_audit_flush(p11kms_store *st)
{
    p11kms_audit_state *s = NULL;
    p11kms_store_rc rc = st ? p11kms_audit_state_get(st, &s) : P11KMS_STORE_INVALID;

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_audit_flush_state(s, 1);
    return rc;
}
