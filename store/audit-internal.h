/*
 * store/audit-internal.h - what the audit source files (store/audit-*.c)
 * share: the canonical field view of a record, the codec, the per-handle
 * audit state with its cached statements, the process-wide journal
 * registry, and the chain insert used by both append paths.
 * Never include this outside store/audit-*.c (and the audit tests/bench).
 */
#ifndef P11KMS_STORE_AUDIT_INTERNAL_H
#define P11KMS_STORE_AUDIT_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "store/audit.h"
#include "store/store-internal.h"

/* ------------------------------------------------------------------------ */
/* Field view: every string as (bytes, length, present), so the same codec
 * serves records from the engine, journal entries and table rows.        */

typedef struct p11kms_audit_str {
    const char *p;
    size_t len;
    int present;
} p11kms_audit_str;

typedef struct p11kms_audit_fields {
    p11kms_audit_str event_id, event_name, user, executable, key_id;
    p11kms_audit_str request_json, response_json, error_code, error_message;
    int64_t event_time_ms;
    uint8_t event_type, management, read_only;
    uint32_t uid, gid, key_version;
    int32_t pid;
} p11kms_audit_fields;

/* Journal entry framing: magic, u32 BE body length, body, SHA-256. */
#define P11KMS_AUDIT_JMAGIC     "P1KJ"
#define P11KMS_AUDIT_JHDR_LEN   8
#define P11KMS_AUDIT_JTRAIL_LEN 32

/* Domain-separation labels (docs/audit-format.md). */
#define P11KMS_AUDIT_RECORD_LABEL "p11kms-audit-record-v1"
#define P11KMS_AUDIT_SEAL_LABEL   "p11kms-audit-seal-v1"
#define P11KMS_AUDIT_DOC_LABEL    "p11kms-audit-doc-v1"
#define P11KMS_AUDIT_KEY_AAD      "p11kms-audit-signing-key-v1"

/* Fields of a record handed in by the engine (borrowed pointers). */
void p11kms_audit_fields_from_record(const p11kms_audit_record *r, p11kms_audit_fields *f);
/* Appends the canonical body (no seq, no prev hash) to b; 1/0. */
int p11kms_audit_encode_body(p11kms_buf *b, const p11kms_audit_fields *f);
/* Parses a canonical body; f borrows from p.  1 ok, 0 malformed. */
int p11kms_audit_decode_body(const unsigned char *p, size_t len, p11kms_audit_fields *f);
/* SHA-256(lp(label) || u64 seq || body || lp(prev)). ctx is reused. */
int p11kms_audit_chain_hash(EVP_MD_CTX *ctx, uint64_t seq, const unsigned char *body,
                            size_t bodylen, const unsigned char prev[P11KMS_AUDIT_HASH_LEN],
                            unsigned char out[P11KMS_AUDIT_HASH_LEN]);
/* Fields of a row selected with the audit_record columns in table order
 * (seq first); strings borrow from the statement's current row. */
void p11kms_audit_fields_from_row(sqlite3_stmt *q, p11kms_audit_fields *f);
/* Frames body as a journal entry in b (b is reset first); 1/0. */
int p11kms_audit_jentry_build(EVP_MD_CTX *ctx, p11kms_buf *b, const unsigned char *body,
                              size_t bodylen);
/*
 * Checks the entry at p (avail bytes): 1 valid (*entry_len, *body, *bodylen
 * set), 0 incomplete (fewer bytes than the header announces), -1 invalid.
 */
int p11kms_audit_jentry_check(EVP_MD_CTX *ctx, const unsigned char *p, size_t avail,
                              size_t *entry_len, const unsigned char **body, size_t *bodylen);
int p11kms_audit_sha256(EVP_MD_CTX *ctx, const void *p, size_t len,
                        unsigned char out[P11KMS_AUDIT_HASH_LEN]);
void p11kms_audit_hex(const unsigned char *p, size_t len, char *out);

/* ------------------------------------------------------------------------ */
/* Per-handle state (store-internal.h audit slot).                          */

enum p11kms_audit_stmt_id {
    AST_INSERT,
    AST_HEAD,
    AST_BASE,
    AST_JOURNAL_GET,
    AST_JOURNAL_PUT,
    AST_JOURNAL_LIST,
    AST_JOURNAL_DEL,
    AST_SEAL_LAST,
    AST_SEAL_INSERT,
    AST_SEAL_LIST,
    AST_KEY_ACTIVE,
    AST_KEY_BY_ID,
    AST_KEY_INSERT,
    AST_KEY_RETIRE,
    AST_COUNT,
    AST_FIRST_UNSEALED,
    AST_VERIFY_RECORDS,
    AST_VERIFY_SEALS,
    AST_VERIFY_SEARCH,
    AST_BEGIN,
    AST_COMMIT,
    AST_ROLLBACK,
    AST_STMT_COUNT_
};

#define P11KMS_AUDIT_LIST_BITS 10

typedef struct p11kms_audit_journal p11kms_audit_journal;

typedef struct p11kms_audit_state {
    p11kms_store *st;
    sqlite3 *db;
    sqlite3_stmt *stmt[AST_STMT_COUNT_];
    sqlite3_stmt *list[1u << P11KMS_AUDIT_LIST_BITS];
    p11kms_audit_options opts;
    p11kms_audit_journal *journal; /* shared per process and store, lazily */
    char *dir;                     /* journal directory: STORE-audit */
    p11kms_buf body;               /* scratch for encoding */
    p11kms_buf entry;
    EVP_MD_CTX *md;
    unsigned char rnd[512]; /* event-id randomness, fetched in batches */
    size_t rnd_left;
} p11kms_audit_state;

/* The handle's audit state, created on first use. */
p11kms_store_rc p11kms_audit_state_get(p11kms_store *st, p11kms_audit_state **out);
/* Cached statement (prepared persistent on first use). */
sqlite3_stmt *p11kms_audit_stmt(p11kms_audit_state *s, enum p11kms_audit_stmt_id id,
                                p11kms_store_rc *rc);
sqlite3_stmt *p11kms_audit_stmt_sql(p11kms_audit_state *s, sqlite3_stmt **slot, const char *sql,
                                    p11kms_store_rc *rc);
void p11kms_audit_stmt_done(sqlite3_stmt *s);
/* A fresh random (v4) UUID for an event id; randomness is drawn from the
 * DRBG in batches (one DRBG call per 32 records).  1 ok, 0 error. */
int p11kms_audit_event_id(p11kms_audit_state *s, char out[37]);
/* Effective seal cadence (defaults resolved). */
uint32_t p11kms_audit_seal_records(const p11kms_audit_state *s);
uint32_t p11kms_audit_seal_minutes(const p11kms_audit_state *s);

/* ------------------------------------------------------------------------ */
/* Chain (audit-chain.c)                                                    */

/* Head of the chain: the last record, else the base (after pruning). */
p11kms_store_rc p11kms_audit_chain_head(p11kms_audit_state *s, p11kms_audit_anchor *head);
/* The chain base (seq 0 and zero hash unless pruned). */
p11kms_store_rc p11kms_audit_chain_base(p11kms_audit_state *s, p11kms_audit_anchor *base);
/* Chains one record (body = its canonical encoding) after *head, updates
 * *head.  Must run inside a write transaction. */
p11kms_store_rc p11kms_audit_chain_insert(p11kms_audit_state *s, p11kms_audit_anchor *head,
                                          const p11kms_audit_fields *f, const unsigned char *body,
                                          size_t bodylen);

/* Chains a service event written by the audit code itself (journal damage,
 * signing-key replacement) after *head, inside a write transaction. */
p11kms_store_rc p11kms_audit_service_event(p11kms_audit_state *s, p11kms_audit_anchor *head,
                                           p11kms_buf *scratch, const char *name,
                                           const char *response_json, const char *error_code,
                                           const char *error_message);

/* ------------------------------------------------------------------------ */
/* Journals (audit-journal.c): one per process and store directory.        */

/* Directory that holds the journals of store_path (malloc'd). */
char *p11kms_audit_journal_dir_for(const char *store_path);
/* Reference to this process's journal for dir (created lazily on write). */
p11kms_store_rc p11kms_audit_journal_acquire(const char *dir, p11kms_audit_journal **out);
void p11kms_audit_journal_release(p11kms_audit_journal *j);
/* One write() of a framed entry; fdatasync if sync.  *pending = bytes
 * written to the current file so far. */
p11kms_store_rc p11kms_audit_journal_write(p11kms_audit_journal *j, const unsigned char *p,
                                           size_t len, int sync, size_t *pending);
/* Closes the current file (it becomes a dead journal, folded by anyone). */
void p11kms_audit_journal_rotate(p11kms_audit_journal *j);
/*
 * If dir/name is a live journal of this process: reads up to cap bytes at
 * off into buf (*n) and returns 1; returns 0 if it is not ours, -1 on a
 * read error.  Never opens or closes a descriptor of an own journal
 * (closing one would drop this process's POSIX lock on it).
 */
int p11kms_audit_journal_read_own(const char *dir, const char *name, uint64_t off,
                                  unsigned char *buf, size_t cap, size_t *n);
/* 1 if name looks like a journal file name (not a temporary). */
int p11kms_audit_journal_name_ok(const char *name);

/* ------------------------------------------------------------------------ */
/* Folding (audit-fold.c)                                                    */

/*
 * Folds every journal in s->dir into the chain inside the current write
 * transaction.  dead_done (may be NULL) collects names of dead journals
 * that are now fully folded (malloc'd strings, *ndead), to be unlinked
 * after the commit.
 */
p11kms_store_rc p11kms_audit_fold_all(p11kms_audit_state *s, char ***dead_done, size_t *ndead);
/*
 * Flush outside any transaction: optionally rotate this process's journal
 * first (so it is removed in the same flush), fold everything, seal if due,
 * commit, remove the fully folded dead journals.
 */
p11kms_store_rc p11kms_audit_flush_state(p11kms_audit_state *s, int rotate_first);
/* The same with a forced seal (out may be NULL); inside a write
 * transaction it folds and seals into that transaction. */
p11kms_store_rc p11kms_audit_flush_ex(p11kms_audit_state *s, int rotate_first, int force_seal,
                                      p11kms_audit_seal *out);
/* Flush in a transaction of its own via raw SQL (used at handle close). */
p11kms_store_rc p11kms_audit_flush_raw(p11kms_audit_state *s);

/* ------------------------------------------------------------------------ */
/* Seals (audit-seal.c)                                                      */

/* Writes a seal inside the current write transaction if one is due and the
 * handle is logged in (deferred silently otherwise). */
p11kms_store_rc p11kms_audit_seal_if_due(p11kms_audit_state *s, int force, p11kms_audit_seal *out);
/* Canonical message of a seal (docs/audit-format.md). */
int p11kms_audit_seal_message(p11kms_buf *b, const p11kms_audit_seal *seal);
/*
 * Verification of one seal under key key_id (seal->fingerprint is set to
 * the key's): *valid = signature good and the key's SPKI matches its
 * stored fingerprint; if check_priv and
 * the handle is logged in, the private half must also unwrap and match
 * (*priv_checked = 1).
 */
p11kms_store_rc p11kms_audit_seal_check(p11kms_audit_state *s, p11kms_audit_seal *seal,
                                        int64_t key_id, int check_priv, int *valid,
                                        int *priv_checked);
/* A seal row (seq, hash, time, prev_seal, key id or fingerprint, sig);
 * key_id NULL: column 4 is the fingerprint text. */
p11kms_store_rc p11kms_audit_seal_from_row(sqlite3_stmt *q, p11kms_audit_seal *out,
                                           int64_t *key_id);
/* Digest chaining seals: SHA-256(message || lp(sig)). */
int p11kms_audit_seal_digest(EVP_MD_CTX *ctx, const p11kms_audit_seal *seal,
                             unsigned char out[P11KMS_AUDIT_HASH_LEN]);

#endif /* P11KMS_STORE_AUDIT_INTERNAL_H */
