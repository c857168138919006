/*
 * tools/ops-backup.c — `p11kms backup` and `p11kms restore`.
 *
 * A backup is SQLite's online snapshot of the store (p11kms_store_backup:
 * consistent while other processes keep writing, audit journals folded
 * first; key material stays wrapped under the root key) inside a small
 * container that records the audit chain head of the snapshot and ends in
 * a SHA-256 over everything before it, so a truncated or altered file is
 * refused before anything is replaced (docs/operations.md):
 *
 *   "P11KMSB1" | u32 BE header length | header JSON | u64 BE database length
 *   | database | SHA-256 of all preceding bytes
 *
 * Restore validates the whole file into a temporary store next to the
 * target, checks it, then renames it into place and appends a RestoreStore
 * record naming the pre-restore chain head, so the rollback is visible.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/crypto.h"
#include "common/timeutil.h"
#include "tools/ops-internal.h"

typedef struct hashed_file {
    FILE *f;
    EVP_MD_CTX *md;
} hashed_file;

static int hf_open(hashed_file *h, FILE *f)
{
    EVP_MD *sha = EVP_MD_fetch(p11kms_crypto_libctx(), "SHA256", NULL);
    int ok = 0;

    h->f = f;
    h->md = EVP_MD_CTX_new();
    if (sha == NULL || h->md == NULL || !EVP_DigestInit_ex(h->md, sha, NULL))
        goto done;
    ok = 1;
done:
    EVP_MD_free(sha);
    return ok;
}

static void hf_close(hashed_file *h)
{
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
    if (h->f != NULL)
        fclose(h->f);
    h->f = NULL;
}

static int hf_write(hashed_file *h, const void *p, size_t n)
{
    return EVP_DigestUpdate(h->md, p, n) && fwrite(p, 1, n, h->f) == n;
}

/* Reads exactly n bytes into p (hashing them): 1, or 0 at a short read. */
static int hf_read(hashed_file *h, void *p, size_t n)
{
    return fread(p, 1, n, h->f) == n && EVP_DigestUpdate(h->md, p, n);
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Copies len bytes from in to the hashed output; 1 ok. */
static int copy_into(hashed_file *out, FILE *in, uint64_t len)
{
    unsigned char buf[65536];
    uint64_t left = len;

    while (left > 0) {
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        if (fread(buf, 1, n, in) != n || !hf_write(out, buf, n))
            return 0;
        left -= n;
    }
    return 1;
}

/* The chain head of the snapshot at path (read-only open). */
static p11kms_store_rc snapshot_head(const char *path, p11kms_audit_anchor *head)
{
    p11kms_store_options o = {P11KMS_STORE_OPEN_READONLY, 0};
    p11kms_store *st = NULL;
    p11kms_store_rc rc = p11kms_store_open(path, &o, &st);

    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_integrity_check(st, 0);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_head(st, head);
    p11kms_store_close(st);
    return rc;
}

/* Writes the container for the snapshot db to out (header, db, digest). */
static int write_container(FILE *out, const char *db, const char *header)
{
    hashed_file h = {NULL, NULL};
    unsigned char len4[4], len8[8], digest[32];
    unsigned int dlen = 0;
    struct stat sb;
    FILE *in = fopen(db, "rb");
    int ok = 0;

    if (!hf_open(&h, out) || in == NULL || fstat(fileno(in), &sb) != 0)
        goto done;
    put_be(len4, strlen(header), 4);
    put_be(len8, (uint64_t)sb.st_size, 8);
    if (!hf_write(&h, OPS_BACKUP_MAGIC, OPS_BACKUP_MAGIC_LEN) || !hf_write(&h, len4, 4) ||
        !hf_write(&h, header, strlen(header)) || !hf_write(&h, len8, 8) ||
        !copy_into(&h, in, (uint64_t)sb.st_size))
        goto done;
    if (!EVP_DigestFinal_ex(h.md, digest, &dlen) || fwrite(digest, 1, 32, out) != 32)
        goto done;
    ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
done:
    h.f = NULL; /* the caller closes out */
    hf_close(&h);
    if (in != NULL)
        fclose(in);
    return ok;
}

/* A private temporary directory next to path (same file system). */
static int temp_dir_near(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(out, outlen, "%.*s/.p11kms-ops-XXXXXX", (int)(slash - path), path)
                  : snprintf(out, outlen, ".p11kms-ops-XXXXXX");
    return n > 0 && (size_t)n < outlen && mkdtemp(out) != NULL;
}

static void remove_temp(const char *dir)
{
    static const char *const names[] = {"store.db", "store.db-wal", "store.db-shm", "backup"};
    char p[4200];

    for (size_t i = 0; i < TOOL_NOPTS(names); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

static char *backup_header(const p11kms_audit_anchor *head, const char *source)
{
    char anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE], when[P11KMS_ISO8601_BUF_SIZE];
    json_t *j;
    char *s;

    p11kms_audit_anchor_format(head, anchor);
    p11kms_time_format_iso8601(p11kms_time_now_ms(), when);
    j = json_pack("{s:i, s:s, s:s, s:s}", "format", 1, "createdAt", when, "chainHead", anchor,
                  "source", source);
    s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return s;
}

/* Snapshot -> container at tmp/backup -> link() to dest (never replaces). */
static int backup_into(audit_cli *a, const char *dir, const char *dest, p11kms_audit_anchor *head)
{
    char db[4200], box[4200];
    char *header = NULL;
    FILE *out = NULL;
    p11kms_store_rc rc;
    int fd, code = TOOL_EXIT_ERROR;

    snprintf(db, sizeof(db), "%s/store.db", dir);
    snprintf(box, sizeof(box), "%s/backup", dir);
    rc = p11kms_store_backup(a->st, db);
    if (rc == P11KMS_STORE_OK)
        rc = snapshot_head(db, head);
    if (rc != P11KMS_STORE_OK) {
        code = audit_store_fail(a, rc, "backup");
        goto done;
    }
    header = backup_header(head, a->store_path);
    fd = open(box, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (header == NULL || out == NULL || !write_container(out, db, header)) {
        code = tool_fail(&a->t, TOOL_EXIT_ERROR, "backup: cannot write %s: %s", dest,
                         strerror(errno ? errno : EIO));
        goto done;
    }
    if (link(box, dest) != 0) {
        code = tool_fail(&a->t, TOOL_EXIT_ERROR, "backup: %s: %s%s", dest, strerror(errno),
                         errno == EEXIST ? " (a backup never overwrites a file)" : "");
        goto done;
    }
    code = TOOL_EXIT_OK;
done:
    if (out != NULL)
        fclose(out);
    free(header);
    return code;
}

int ops_cmd_backup(audit_cli *a)
{
    const char *dest = tool_arg(&a->t.args, "output-file");
    char dir[4200] = "", anchor[P11KMS_AUDIT_ANCHOR_STR_SIZE], req[4400];
    p11kms_audit_anchor head;
    p11kms_store_rc rc;
    int code = audit_open(a, 1, 0);

    if (code != TOOL_EXIT_OK)
        goto done;
    if (!temp_dir_near(dest, dir, sizeof(dir))) {
        dir[0] = '\0';
        code = tool_fail(&a->t, TOOL_EXIT_ERROR,
                         "backup: cannot create a temporary directory "
                         "next to %s: %s",
                         dest, strerror(errno));
        goto done;
    }
    code = backup_into(a, dir, dest, &head);
    if (code != TOOL_EXIT_OK)
        goto done;
    p11kms_audit_anchor_format(&head, anchor);
    json_t *j = json_pack("{s:s,s:s}", "backupFile", dest, "chainHead", anchor);
    char *js = j ? json_dumps(j, JSON_COMPACT) : NULL;
    snprintf(req, sizeof(req), "%s", js ? js : "{}");
    free(js);
    json_decref(j);
    rc = ops_audit_event(a->st, "BackupStore", req, NULL);
    if (rc != P11KMS_STORE_OK) {
        code = audit_store_fail(a, rc, "backup written, but its audit record failed");
        goto done;
    }
    code = tool_emit(&a->t, json_pack("{s:s, s:s, s:I}", "BackupFile", dest, "ChainHead", anchor,
                                      "ChainSeq", (json_int_t)head.seq));
done:
    if (dir[0] != '\0')
        remove_temp(dir);
    return code;
}

/* ---- restore ---- */

/* Reads and checks the container from in, writing the database to db.
 * On failure *why says what is wrong; *header receives the JSON. */
static int read_container(FILE *in, const char *db, json_t **header, const char **why)
{
    hashed_file h = {NULL, NULL};
    unsigned char magic[OPS_BACKUP_MAGIC_LEN], len4[4], len8[8], want[32], got[32], extra;
    unsigned int dlen = 0;
    char *text = NULL;
    FILE *out = NULL;
    uint64_t hlen = 0, dblen = 0, left;
    json_error_t je;
    int fd, ok = 0;

    *why = "not a p11kms backup (bad magic)";
    if (!hf_open(&h, in) || !hf_read(&h, magic, sizeof(magic)) ||
        memcmp(magic, OPS_BACKUP_MAGIC, sizeof(magic)) != 0)
        goto done;
    *why = "truncated backup (header incomplete)";
    if (!hf_read(&h, len4, 4) || (hlen = get_be(len4, 4)) == 0 || hlen > OPS_BACKUP_HEADER_MAX ||
        (text = calloc(1, (size_t)hlen + 1)) == NULL || !hf_read(&h, text, (size_t)hlen) ||
        !hf_read(&h, len8, 8))
        goto done;
    dblen = get_be(len8, 8);
    *why = "cannot create the temporary database";
    fd = open(db, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || (out = fdopen(fd, "wb")) == NULL)
        goto done;
    *why = "truncated backup (database shorter than recorded)";
    for (left = dblen; left > 0;) {
        unsigned char buf[65536];
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        if (!hf_read(&h, buf, n) || fwrite(buf, 1, n, out) != n)
            goto done;
        left -= n;
    }
    *why = "truncated backup (checksum missing)";
    if (fread(want, 1, 32, in) != 32 || !EVP_DigestFinal_ex(h.md, got, &dlen))
        goto done;
    *why = "backup checksum mismatch: the file was modified or corrupted";
    if (CRYPTO_memcmp(want, got, 32) != 0 || fread(&extra, 1, 1, in) != 0)
        goto done;
    *why = "backup header is not valid JSON";
    *header = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (*header == NULL || fflush(out) != 0 || fsync(fileno(out)) != 0)
        goto done;
    ok = 1;
done:
    h.f = NULL;
    hf_close(&h);
    if (out != NULL)
        fclose(out);
    free(text);
    return ok;
}

/* The live store's head before it is replaced (its journals folded);
 * seq 0 when there is no store. */
static p11kms_store_rc pre_restore_head(audit_cli *a, p11kms_audit_anchor *head)
{
    p11kms_store_options o = {0, 0};
    p11kms_store *st = NULL;
    p11kms_store_rc rc;

    memset(head, 0, sizeof(*head));
    if (access(a->store_path, F_OK) != 0)
        return P11KMS_STORE_OK;
    rc = p11kms_store_open(a->store_path, &o, &st);
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_audit_head(st, head);
    p11kms_store_close(st); /* the last connection checkpoints the WAL away */
    return rc;
}

/* Moves the checked database into place. */
static int install(audit_cli *a, const char *db)
{
    char side[4200];

    snprintf(side, sizeof(side), "%s-wal", a->store_path);
    (void)unlink(side);
    snprintf(side, sizeof(side), "%s-shm", a->store_path);
    (void)unlink(side);
    if (rename(db, a->store_path) != 0)
        return tool_fail(&a->t, TOOL_EXIT_ERROR, "restore: cannot replace %s: %s", a->store_path,
                         strerror(errno));
    return TOOL_EXIT_OK;
}

static int checked_copy(audit_cli *a, const char *input, const char *db, json_t **header,
                        p11kms_audit_anchor *head)
{
    FILE *in = fopen(input, "rb");
    const char *why = NULL, *recorded;
    p11kms_audit_anchor want;
    p11kms_store_rc rc;
    int code = TOOL_EXIT_ERROR;

    if (in == NULL) {
        code = tool_fail(&a->t, TOOL_EXIT_NOT_FOUND, "restore: %s: %s", input, strerror(errno));
        goto done;
    }
    if (!read_container(in, db, header, &why)) {
        code =
            tool_fail(&a->t, TOOL_EXIT_INVALID, "restore: %s: %s; nothing was changed", input, why);
        goto done;
    }
    recorded = json_string_value(json_object_get(*header, "chainHead"));
    rc = snapshot_head(db, head);
    if (rc != P11KMS_STORE_OK) {
        code = tool_fail(&a->t, TOOL_EXIT_INVALID,
                         "restore: %s: the database inside is not a "
                         "usable p11kms store (%s); nothing was changed",
                         input, p11kms_store_strerror(rc));
        goto done;
    }
    if (recorded == NULL || !p11kms_audit_anchor_parse(recorded, &want) || want.seq != head->seq ||
        memcmp(want.hash, head->hash, sizeof(want.hash)) != 0) {
        code = tool_fail(&a->t, TOOL_EXIT_INVALID,
                         "restore: %s: recorded chain head does not "
                         "match the database; nothing was changed",
                         input);
        goto done;
    }
    code = TOOL_EXIT_OK;
done:
    if (in != NULL)
        fclose(in);
    return code;
}

/* Opens the restored store and chains the RestoreStore marker. */
static int mark_restored(audit_cli *a, const char *input, json_t *header,
                         const p11kms_audit_anchor *from, const p11kms_audit_anchor *pre)
{
    char fa[P11KMS_AUDIT_ANCHOR_STR_SIZE], pa[P11KMS_AUDIT_ANCHOR_STR_SIZE];
    const char *created = json_string_value(json_object_get(header, "createdAt"));
    json_t *req;
    char *js = NULL;
    p11kms_store_rc rc;
    int code;

    p11kms_audit_anchor_format(from, fa);
    p11kms_audit_anchor_format(pre, pa);
    req = json_pack("{s:s, s:s, s:s, s:s}", "backupFile", input, "backupCreatedAt",
                    created ? created : "", "backupChainHead", fa, "preRestoreChainHead", pa);
    js = req ? json_dumps(req, JSON_COMPACT) : NULL;
    audit_close(a); /* audit_open loads the configuration again */
    code = audit_open(a, 1, 0);
    if (code != TOOL_EXIT_OK)
        goto done;
    rc = js ? ops_audit_event(a->st, "RestoreStore", js, NULL) : P11KMS_STORE_NOMEM;
    if (rc != P11KMS_STORE_OK) {
        code = audit_store_fail(a, rc, "restored, but the restore record failed");
        goto done;
    }
    code = tool_emit(&a->t,
                     json_pack("{s:s, s:s, s:s, s:b}", "Store", a->store_path, "BackupChainHead",
                               fa, "PreRestoreChainHead", pa, "RolledBack", pre->seq != 0));
done:
    free(js);
    json_decref(req);
    return code;
}

int ops_cmd_restore(audit_cli *a)
{
    const char *input = tool_arg(&a->t.args, "input");
    int force = tool_arg(&a->t.args, "force") != NULL;
    char err[P11KMS_CONFIG_ERR_MAX] = "", dir[4200] = "", db[4300];
    p11kms_audit_anchor from, pre;
    json_t *header = NULL;
    p11kms_store_rc rc;
    int code = TOOL_EXIT_ERROR;

    /* Resolve the path only (the store may not exist yet). */
    if (!p11kms_store_config_load(&a->cfg, err, sizeof(err))) {
        code = tool_fail(&a->t, TOOL_EXIT_ERROR, "%s", err);
        goto done;
    }
    a->store_path = a->store_arg ? a->store_arg : a->cfg->tokens[0].store;
    if (access(a->store_path, F_OK) == 0 && !force) {
        code = tool_fail(&a->t, TOOL_EXIT_STATE,
                         "restore: %s exists; restoring replaces it and "
                         "rolls its keys and audit back (use --force)",
                         a->store_path);
        goto done;
    }
    if (!temp_dir_near(a->store_path, dir, sizeof(dir))) {
        dir[0] = '\0';
        code = tool_fail(&a->t, TOOL_EXIT_ERROR,
                         "restore: cannot create a temporary directory "
                         "next to %s: %s",
                         a->store_path, strerror(errno));
        goto done;
    }
    snprintf(db, sizeof(db), "%s/store.db", dir);
    code = checked_copy(a, input, db, &header, &from);
    if (code != TOOL_EXIT_OK)
        goto done;
    rc = pre_restore_head(a, &pre);
    if (rc != P11KMS_STORE_OK) {
        code = audit_store_fail(a, rc, "restore: reading the current chain head");
        goto done;
    }
    code = install(a, db);
    if (code == TOOL_EXIT_OK)
        code = mark_restored(a, input, header, &from, &pre);
done:
    json_decref(header);
    if (dir[0] != '\0')
        remove_temp(dir);
    return code;
}
