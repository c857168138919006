/*
 * store/audit-state.c - the audit tables (schema v1, executed by the store's
 * migration) and the per-handle audit state: cached statements, options,
 * scratch buffers, the journal reference.  The state hangs off the store
 * handle's audit slot and is released by p11kms_store_close(), which first
 * lets it fold this process's journal (so a clean exit leaves no journal).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "store/audit-internal.h"

/*
 * audit_record: the chain.  seq is the rowid (O(log n) head, appends at the
 * right edge).  The secondary indexes end in seq (implicitly) so every
 * filtered list walks newest first without sorting; values that grow with
 * time keep inserts local, so the append cost does not depend on size.
 */
const char p11kms_store_audit_schema_v1[] =
    "CREATE TABLE audit_record ("
    " seq INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL,"
    " event_time INTEGER NOT NULL,"
    " event_name TEXT NOT NULL,"
    " event_type INTEGER NOT NULL,"
    " management INTEGER NOT NULL,"
    " read_only INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " gid INTEGER NOT NULL,"
    " pid INTEGER NOT NULL,"
    " user TEXT, executable TEXT, key_id TEXT,"
    " key_version INTEGER NOT NULL,"
    " request_json TEXT, response_json TEXT, error_code TEXT, error_message TEXT,"
    " prev_hash BLOB NOT NULL,"
    " hash BLOB NOT NULL);\n"
    "CREATE INDEX audit_record_time ON audit_record(event_time);\n"
    "CREATE INDEX audit_record_key ON audit_record(key_id) WHERE key_id IS NOT NULL;\n"
    "CREATE INDEX audit_record_name ON audit_record(event_name);\n"
    "CREATE INDEX audit_record_uid ON audit_record(uid);\n"
    "CREATE INDEX audit_record_error ON audit_record(seq) WHERE error_code IS NOT NULL;\n"
    "CREATE INDEX audit_record_mgmt ON audit_record(seq) WHERE management = 1;\n"
    /* where the chain starts: (0, zeros) until records are archived */
    "CREATE TABLE audit_base ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL, hash BLOB NOT NULL);\n"
    "INSERT INTO audit_base VALUES (1, 0, zeroblob(32));\n"
    /* how far each journal file has been folded (same transaction) */
    "CREATE TABLE audit_journal ("
    " name TEXT PRIMARY KEY,"
    " folded INTEGER NOT NULL,"
    " updated INTEGER NOT NULL) WITHOUT ROWID;\n"
    "CREATE TABLE audit_signing_key ("
    " id INTEGER PRIMARY KEY,"
    " algorithm TEXT NOT NULL,"
    " public_spki BLOB NOT NULL,"
    " fingerprint TEXT NOT NULL UNIQUE,"
    " wrapped_private BLOB NOT NULL,"
    " created INTEGER NOT NULL,"
    " active INTEGER NOT NULL);\n"
    "CREATE TABLE audit_seal ("
    " seq INTEGER PRIMARY KEY,"
    " hash BLOB NOT NULL,"
    " seal_time INTEGER NOT NULL,"
    " prev_seal BLOB NOT NULL,"
    " key_id INTEGER NOT NULL REFERENCES audit_signing_key(id),"
    " signature BLOB NOT NULL);\n";

#define REC_COLS                                                                                   \
    "seq, event_id, event_time, event_name, event_type, management, read_only, uid, gid, "         \
    "pid, user, executable, key_id, key_version, request_json, response_json, error_code, "        \
    "error_message, prev_hash, hash"

static const char *const stmt_sql[AST_STMT_COUNT_] = {
    [AST_INSERT] = "INSERT INTO audit_record(" REC_COLS ") VALUES "
                   "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
    [AST_HEAD] = "SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1",
    [AST_BASE] = "SELECT seq, hash FROM audit_base WHERE id = 1",
    [AST_JOURNAL_GET] = "SELECT folded FROM audit_journal WHERE name = ?1",
    [AST_JOURNAL_PUT] = "INSERT INTO audit_journal(name, folded, updated) VALUES (?1, ?2, ?3) "
                        "ON CONFLICT(name) DO UPDATE SET folded = ?2, updated = ?3",
    [AST_JOURNAL_LIST] = "SELECT name FROM audit_journal",
    [AST_JOURNAL_DEL] = "DELETE FROM audit_journal WHERE name = ?1",
    [AST_SEAL_LAST] = "SELECT seq, hash, seal_time, prev_seal, key_id, signature "
                      "FROM audit_seal ORDER BY seq DESC LIMIT 1",
    [AST_SEAL_INSERT] = "INSERT INTO audit_seal(seq, hash, seal_time, prev_seal, key_id, "
                        "signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [AST_SEAL_LIST] = "SELECT s.seq, s.hash, s.seal_time, s.prev_seal, k.fingerprint, "
                      "s.signature FROM audit_seal s LEFT JOIN audit_signing_key k "
                      "ON k.id = s.key_id WHERE s.seq >= ?1 ORDER BY s.seq LIMIT ?2",
    [AST_KEY_ACTIVE] = "SELECT id, public_spki, fingerprint, wrapped_private, active FROM "
                       "audit_signing_key WHERE active = 1 ORDER BY id DESC LIMIT 1",
    [AST_KEY_BY_ID] = "SELECT id, public_spki, fingerprint, wrapped_private, active FROM "
                      "audit_signing_key WHERE id = ?1",
    [AST_KEY_INSERT] = "INSERT INTO audit_signing_key(algorithm, public_spki, fingerprint, "
                       "wrapped_private, created, active) VALUES ('ECDSA_P256_SHA256', ?1, "
                       "?2, ?3, ?4, 1)",
    [AST_KEY_RETIRE] = "UPDATE audit_signing_key SET active = 0 WHERE active = 1",
    [AST_COUNT] = "SELECT count(*) FROM audit_record",
    [AST_FIRST_UNSEALED] = "SELECT event_time FROM audit_record WHERE seq > ?1 "
                           "ORDER BY seq LIMIT 1",
    [AST_VERIFY_RECORDS] = "SELECT " REC_COLS " FROM audit_record WHERE seq > ?1 ORDER BY seq",
    [AST_VERIFY_SEALS] = "SELECT seq, hash, seal_time, prev_seal, key_id, signature "
                         "FROM audit_seal WHERE seq >= ?1 ORDER BY seq",
    [AST_VERIFY_SEARCH] = "SELECT seq FROM audit_record WHERE seq > ?1 AND "
                          "(hash = ?2 OR prev_hash = ?3) LIMIT 1",
    [AST_BEGIN] = "BEGIN IMMEDIATE",
    [AST_COMMIT] = "COMMIT",
    [AST_ROLLBACK] = "ROLLBACK",
};

sqlite3_stmt *p11kms_audit_stmt_sql(p11kms_audit_state *s, sqlite3_stmt **slot, const char *sql,
                                    p11kms_store_rc *rc)
{
    int src;

    if (*slot == NULL) {
        src = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
        if (src != SQLITE_OK) {
            *rc = p11kms_store_rc_from_sqlite(src);
            sqlite3_finalize(*slot);
            *slot = NULL;
        }
    }
    return *slot;
}

sqlite3_stmt *p11kms_audit_stmt(p11kms_audit_state *s, enum p11kms_audit_stmt_id id,
                                p11kms_store_rc *rc)
{
    return p11kms_audit_stmt_sql(s, &s->stmt[id], stmt_sql[id], rc);
}

void p11kms_audit_stmt_done(sqlite3_stmt *s)
{
    if (s != NULL) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

static void state_free(void *arg)
{
    p11kms_audit_state *s = arg;
    size_t i;

    if (s == NULL)
        return;
    if (s->journal != NULL) {
        /* Best effort: a journal that is not folded now is folded later by
         * whoever finds it, so an error here loses nothing. */
        (void)p11kms_audit_flush_raw(s);
        p11kms_audit_journal_release(s->journal);
    }
    for (i = 0; i < AST_STMT_COUNT_; i++)
        sqlite3_finalize(s->stmt[i]);
    for (i = 0; i < (1u << P11KMS_AUDIT_LIST_BITS); i++)
        sqlite3_finalize(s->list[i]);
    p11kms_buf_free(&s->body);
    p11kms_buf_free(&s->entry);
    EVP_MD_CTX_free(s->md);
    free(s->dir);
    free(s);
}

p11kms_store_rc p11kms_audit_state_get(p11kms_store *st, p11kms_audit_state **out)
{
    p11kms_store_rc rc = p11kms_store_check_pid(st);
    p11kms_audit_state *s = NULL;

    if (rc != P11KMS_STORE_OK)
        goto done;
    s = p11kms_store_audit_state(st);
    if (s != NULL)
        goto done;
    rc = P11KMS_STORE_NOMEM;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto done;
    s->st = st;
    s->db = p11kms_store_db(st);
    s->md = EVP_MD_CTX_new();
    s->dir = p11kms_audit_journal_dir_for(p11kms_store_path(st));
    if (s->db == NULL || s->md == NULL || s->dir == NULL ||
        p11kms_crypto_md_evp(P11KMS_MD_SHA256) == NULL) {
        rc = s->db == NULL ? P11KMS_STORE_FORKED : P11KMS_STORE_NOMEM;
        state_free(s);
        s = NULL;
        goto done;
    }
    p11kms_store_set_audit_state(st, s, state_free);
    rc = P11KMS_STORE_OK;
done:
    *out = s;
    return rc;
}

int p11kms_audit_event_id(p11kms_audit_state *s, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *b;
    size_t i, o = 0;

    if (s->rnd_left < 16) {
        if (!p11kms_crypto_random(s->rnd, sizeof(s->rnd)))
            return 0;
        s->rnd_left = sizeof(s->rnd);
    }
    b = s->rnd + sizeof(s->rnd) - s->rnd_left;
    s->rnd_left -= 16;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 1;
}

uint32_t p11kms_audit_seal_records(const p11kms_audit_state *s)
{
    return s->opts.seal_records ? s->opts.seal_records : P11KMS_AUDIT_DEFAULT_SEAL_RECORDS;
}

uint32_t p11kms_audit_seal_minutes(const p11kms_audit_state *s)
{
    return s->opts.seal_minutes ? s->opts.seal_minutes : P11KMS_AUDIT_DEFAULT_SEAL_MINUTES;
}

p11kms_store_rc p11kms_store_audit_set_options(p11kms_store *st, const p11kms_audit_options *o)
{
    p11kms_audit_state *s = NULL;
    p11kms_store_rc rc = P11KMS_STORE_INVALID;

    if (st == NULL || o == NULL || o->durability > P11KMS_AUDIT_DURABILITY_POWER)
        goto done;
    if (o->durability == P11KMS_AUDIT_DURABILITY_POWER && !p11kms_store_sync_full(st))
        goto done;
    rc = p11kms_audit_state_get(st, &s);
    if (rc == P11KMS_STORE_OK)
        s->opts = *o;
done:
    return rc;
}
