/*
 * tests/store/test-audit-util.c - helpers of the audit tests, included
 * (static functions, like a header) by test-audit.c and
 * test-audit-stress.c: a private temp directory per test, stores and tokens
 * with the cheapest KDF, record generators, raw sqlite3 edits of the file
 * (the attacker's tool), re-hashing and re-signing as an attacker would.
 */
/* not every includer uses every helper */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <check.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "store/audit-internal.h"
#include "store/audit.h"
#include "store/store.h"

#define AT_SO_PIN "so-pin-12345"
#define AT_KEY_A  "aaaaaaaa-1111-4111-8111-111111111111"
#define AT_KEY_B  "bbbbbbbb-2222-4222-8222-222222222222"

static char at_dir[256];
static char at_path[1024];

static void at_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[2048];
    struct stat sb;

    if (d == NULL) {
        unlink(dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            at_rmtree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void at_setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(at_dir, sizeof(at_dir), "%s/p11kms-audit-XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(at_dir));
    snprintf(at_path, sizeof(at_path), "%s/store.db", at_dir);
}

static void at_teardown(void)
{
    at_rmtree(at_dir);
}

static p11kms_store *at_open(unsigned flags)
{
    p11kms_store_options o = {flags, 0};
    p11kms_store *st = NULL;
    p11kms_store_rc rc = p11kms_store_open(at_path, &o, &st);

    ck_assert_msg(rc == P11KMS_STORE_OK, "open: %s", p11kms_store_strerror(rc));
    return st;
}

static void at_login(p11kms_store *st)
{
    ck_assert_int_eq(p11kms_store_login(st, P11KMS_STORE_USER_SO, AT_SO_PIN, strlen(AT_SO_PIN)),
                     P11KMS_STORE_OK);
}

/* A created, initialised token, logged in as SO (root key available). */
static p11kms_store *at_token(void)
{
    p11kms_store_kdf kdf;
    p11kms_store_token_params p;
    p11kms_store *st = at_open(P11KMS_STORE_OPEN_CREATE);

    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(p11kms_store_kdf_from_cost(10, &kdf), P11KMS_STORE_OK);
    p.label = "audit-test";
    p.kdf = &kdf;
    ck_assert_int_eq(p11kms_store_token_init(st, AT_SO_PIN, strlen(AT_SO_PIN), &p),
                     P11KMS_STORE_OK);
    at_login(st);
    return st;
}

/* n records: names rotate Encrypt/Decrypt/Sign, keys A/B, uid 1000+i%5,
 * every 7th an error. */
static void at_append(p11kms_store *st, int n, int management)
{
    static const char *const names[] = {"Encrypt", "Decrypt", "Sign"};
    p11kms_audit_record r;
    p11kms_store_rc rc;
    int i;

    for (i = 0; i < n; i++) {
        memset(&r, 0, sizeof(r));
        r.event_name = management ? "CreateKey" : names[i % 3];
        r.management = management;
        r.uid = 1000 + (uint32_t)(i % 5);
        r.gid = 100;
        r.pid = (int32_t)getpid();
        r.user = "tester";
        r.executable = "/usr/bin/test";
        r.key_id = i % 2 ? AT_KEY_B : AT_KEY_A;
        r.key_version = 1;
        r.request_json = "{\"KeyId\":\"alias/test\",\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}";
        if (i % 7 == 0) {
            r.error_code = "AccessDeniedException";
            r.error_message = "denied by key policy";
        }
        rc = p11kms_store_audit_append(st, &r);
        ck_assert_msg(rc == P11KMS_STORE_OK, "append %d: %s", i, p11kms_store_strerror(rc));
    }
}

static uint64_t at_count(p11kms_store *st)
{
    uint64_t n = 0;

    ck_assert_int_eq(p11kms_store_audit_count(st, &n), P11KMS_STORE_OK);
    return n;
}

static p11kms_audit_verify_result at_expect(p11kms_store *st, const p11kms_audit_anchor *anchor,
                                            const char *fpr, p11kms_audit_problem want,
                                            uint64_t seq)
{
    p11kms_audit_verify_opts o;
    p11kms_audit_verify_result res;

    memset(&o, 0, sizeof(o));
    o.anchor = anchor;
    o.expected_fingerprint = fpr;
    ck_assert_int_eq(p11kms_store_audit_verify(st, &o, &res), P11KMS_STORE_OK);
    ck_assert_msg(res.problem == want, "verify: %s at %llu (%s), wanted %s at %llu",
                  p11kms_audit_problem_name(res.problem), (unsigned long long)res.seq, res.detail,
                  p11kms_audit_problem_name(want), (unsigned long long)seq);
    if (want != P11KMS_AUDIT_INTACT)
        ck_assert_msg(res.seq == seq, "%s at %llu, wanted at %llu (%s)",
                      p11kms_audit_problem_name(res.problem), (unsigned long long)res.seq,
                      (unsigned long long)seq, res.detail);
    return res;
}

/* Verify from a fresh, not logged-in handle. */
static p11kms_audit_verify_result at_expect_closed(const p11kms_audit_anchor *anchor,
                                                   const char *fpr, p11kms_audit_problem want,
                                                   uint64_t seq)
{
    p11kms_store *st = at_open(0);
    p11kms_audit_verify_result res = at_expect(st, anchor, fpr, want, seq);

    p11kms_store_close(st);
    return res;
}

static int at_journal_files(void)
{
    char dir[1100];
    DIR *d;
    struct dirent *de;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s-audit", at_path);
    d = opendir(dir);
    while (d != NULL && (de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

static int at_journal_name(char *out, size_t cap)
{
    char dir[1100];
    DIR *d;
    struct dirent *de;
    int found = 0;

    snprintf(dir, sizeof(dir), "%s-audit", at_path);
    d = opendir(dir);
    while (!found && d != NULL && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') {
            snprintf(out, cap, "%s/%s", dir, de->d_name);
            found = 1;
        }
    if (d != NULL)
        closedir(d);
    return found;
}

static sqlite3 *at_raw(void)
{
    sqlite3 *db = NULL;

    ck_assert_int_eq(sqlite3_open_v2(at_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The attacker's edit: plain SQL on the file. */
static void at_sql(const char *sql)
{
    sqlite3 *db = at_raw();
    char *err = NULL;

    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "sql: %s", err ? err : "?");
    sqlite3_close(db);
}

/* Recompute hashes of records from..to as an attacker would (the chain
 * algorithm is public), each linked to the previous recomputed hash. */
static void at_rehash(uint64_t from, uint64_t to)
{
    sqlite3 *db = at_raw();
    sqlite3_stmt *sel = NULL, *upd = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    p11kms_buf body = P11KMS_BUF_INIT;
    p11kms_audit_fields f;
    unsigned char prev[32], h[32];
    uint64_t seq;

    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "SELECT * FROM audit_record WHERE seq = ?1", -1, &sel, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "UPDATE audit_record SET prev_hash = ?2, hash = ?3 "
                                        "WHERE seq = ?1",
                                        -1, &upd, NULL),
                     SQLITE_OK);
    for (seq = from; seq <= to; seq++) {
        sqlite3_bind_int64(sel, 1, (sqlite3_int64)seq);
        ck_assert_int_eq(sqlite3_step(sel), SQLITE_ROW);
        if (seq == from)
            memcpy(prev, sqlite3_column_blob(sel, 18), 32);
        p11kms_audit_fields_from_row(sel, &f);
        p11kms_buf_reset(&body);
        ck_assert(p11kms_audit_encode_body(&body, &f));
        ck_assert(p11kms_audit_chain_hash(md, seq, body.data, body.len, prev, h));
        sqlite3_reset(sel);
        sqlite3_bind_int64(upd, 1, (sqlite3_int64)seq);
        sqlite3_bind_blob(upd, 2, prev, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(upd, 3, h, 32, SQLITE_TRANSIENT);
        ck_assert_int_eq(sqlite3_step(upd), SQLITE_DONE);
        sqlite3_reset(upd);
        memcpy(prev, h, 32);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    p11kms_buf_free(&body);
    EVP_MD_CTX_free(md);
    sqlite3_close(db);
}

/* A token with n records, seals at s1 and s2 (no automatic seals). */
static void at_build_sealed(int n, int s1, int s2)
{
    p11kms_audit_options o = {P11KMS_AUDIT_DURABILITY_PROCESS, P11KMS_AUDIT_SEAL_NEVER,
                              P11KMS_AUDIT_SEAL_NEVER};
    p11kms_store *st = at_token();
    p11kms_audit_seal seal;

    ck_assert_int_eq(p11kms_store_audit_set_options(st, &o), P11KMS_STORE_OK);
    at_append(st, s1, 0);
    ck_assert_int_eq(p11kms_store_audit_seal(st, &seal), P11KMS_STORE_OK);
    ck_assert_uint_eq(seal.seq, (uint64_t)s1);
    at_append(st, s2 - s1, 0);
    ck_assert_int_eq(p11kms_store_audit_seal(st, &seal), P11KMS_STORE_OK);
    ck_assert_uint_eq(seal.seq, (uint64_t)s2);
    at_append(st, n - s2, 0);
    p11kms_store_close(st);
}

/* Replace the signing key's public half and re-sign every seal with a key
 * of the attacker's own (no root key needed for that). */
static void at_resign_with_new_key(void)
{
    sqlite3 *db = at_raw();
    sqlite3_stmt *sel = NULL, *upd = NULL, *key = NULL;
    p11kms_crypto_pkey *pk = p11kms_crypto_pkey_generate_ec(P11KMS_CURVE_P256);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *spki = NULL, h[32];
    size_t spki_len = 0;
    p11kms_buf msg = P11KMS_BUF_INIT;
    p11kms_audit_seal seal;
    unsigned char prev[32];
    char fpr[65];
    int64_t key_id;

    ck_assert_ptr_nonnull(pk);
    ck_assert(p11kms_crypto_pkey_public_der(pk, &spki, &spki_len));
    ck_assert(p11kms_audit_sha256(md, spki, spki_len, h));
    p11kms_audit_hex(h, 32, fpr);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "UPDATE audit_signing_key SET public_spki = ?1, "
                                        "fingerprint = ?2",
                                        -1, &key, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(key, 1, spki, (int)spki_len, SQLITE_TRANSIENT);
    sqlite3_bind_text(key, 2, fpr, -1, SQLITE_TRANSIENT);
    ck_assert_int_eq(sqlite3_step(key), SQLITE_DONE);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT seq, hash, seal_time, prev_seal, key_id, "
                                        "signature FROM audit_seal ORDER BY seq",
                                        -1, &sel, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "UPDATE audit_seal SET prev_seal = ?2, signature = ?3 "
                                        "WHERE seq = ?1",
                                        -1, &upd, NULL),
                     SQLITE_OK);
    memset(prev, 0, sizeof(prev));
    while (sqlite3_step(sel) == SQLITE_ROW) {
        ck_assert_int_eq(p11kms_audit_seal_from_row(sel, &seal, &key_id), P11KMS_STORE_OK);
        memcpy(seal.fingerprint, fpr, sizeof(fpr));
        memcpy(seal.prev_seal, prev, 32);
        seal.sig_len = sizeof(seal.sig);
        ck_assert(p11kms_audit_seal_message(&msg, &seal));
        ck_assert(p11kms_crypto_sign(pk, P11KMS_SIGN_ECDSA_SHA_256, P11KMS_MSG_RAW, msg.data,
                                     msg.len, seal.sig, &seal.sig_len));
        ck_assert(p11kms_audit_seal_digest(md, &seal, prev));
        sqlite3_bind_int64(upd, 1, (sqlite3_int64)seal.seq);
        sqlite3_bind_blob(upd, 2, seal.prev_seal, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(upd, 3, seal.sig, (int)seal.sig_len, SQLITE_TRANSIENT);
        ck_assert_int_eq(sqlite3_step(upd), SQLITE_DONE);
        sqlite3_reset(upd);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_finalize(key);
    sqlite3_close(db);
    p11kms_buf_free(&msg);
    OPENSSL_free(spki);
    EVP_MD_CTX_free(md);
    p11kms_crypto_pkey_free(pk);
}

static void at_progress(uint64_t done, uint64_t total, void *arg)
{
    uint64_t *calls = arg;

    (void)total;
    calls[0]++;
    calls[1] = done;
}
