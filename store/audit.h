/*
 * store/audit.h - the tamper-evident audit trail kept in the store file.
 *
 * Every KMS call is recorded as a p11kms_audit_record (metadata only: the
 * engine never hands secrets to this layer).  Records are hash-chained
 * (SHA-256 over a canonical encoding that includes the previous record's
 * hash, docs/audit-format.md) and periodically sealed: a seal signs the
 * chain head with the audit-signing key, an ECDSA P-256 key whose private
 * half is wrapped under the token root key.
 *
 * Two append paths (docs/audit-format.md, "Data-plane path"):
 *  - Inside a write transaction of the handle (p11kms_store_begin_write)
 *    the record is chained into that transaction: a management change and
 *    its record commit together or not at all.
 *  - Otherwise (data plane) the record is written with one write() to a
 *    per-process append journal next to the store (STORE-audit/), which
 *    survives a crash of the calling process; journals are folded into the
 *    chain by p11kms_store_audit_flush(), which every list, verify, head,
 *    seal and management append does first, and which a journal's own
 *    process runs every few hundred records.  The journal of a dead process
 *    is folded by whoever finds it.
 *
 * All calls return a p11kms_store_rc (store/store.h).  A handle is not
 * thread-safe (store.h); handles of one process share one journal.
 */
#ifndef P11KMS_STORE_AUDIT_H
#define P11KMS_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { P11KMS_AUDIT_API_CALL = 0, P11KMS_AUDIT_SERVICE_EVENT = 1 } p11kms_audit_event_type;

/* The record the engine hands to the store (team contract, exact layout). */
typedef struct p11kms_audit_record {
    char event_id[37];      /* filled by the store on append (UUID) */
    int64_t event_time_ms;  /* filled by the store on append if 0 */
    const char *event_name; /* KMS API name: "Encrypt", "CreateKey", ... */
    p11kms_audit_event_type event_type;
    int management; /* 1 = management event, 0 = data event */
    int read_only;  /* CloudTrail readOnly */
    uint32_t uid, gid;
    int32_t pid;
    const char *user;          /* may be NULL */
    const char *executable;    /* may be NULL */
    const char *key_id;        /* may be NULL */
    uint32_t key_version;      /* 0 = none */
    const char *request_json;  /* requestParameters JSON text, NEVER secrets; may be NULL */
    const char *response_json; /* responseElements JSON text or NULL */
    const char *error_code;    /* NULL on success, else e.g. "AccessDeniedException" */
    const char *error_message; /* NULL or text */
} p11kms_audit_record;

#define P11KMS_AUDIT_HASH_LEN 32
#define P11KMS_AUDIT_FPR_LEN  64 /* hex SHA-256 of the SPKI, without NUL */
/* Largest accepted record (all strings together), bytes. */
#define P11KMS_AUDIT_RECORD_MAX (1024u * 1024u)

/*
 * Appends rec.  Fills rec->event_id (always) and rec->event_time_ms (if 0).
 * event_name is required; strings must be valid NUL-terminated text.
 * Inside a write transaction: folds pending journals, then chains rec into
 * that transaction.  Otherwise: journal write (durable against a crash of
 * this process; with durability "power" also fdatasync'ed).  Any failure
 * (read-only handle, disk full, I/O, lock timeout) returns an error and the
 * caller must fail the operation (fail closed).
 */
p11kms_store_rc p11kms_store_audit_append(p11kms_store *st, p11kms_audit_record *rec);

/*
 * Folds every journal of the store (this process's, other live processes',
 * dead ones') into the chain, writes a seal if one is due and the handle is
 * logged in, and removes fully folded journals of dead processes.  Inside a
 * write transaction it folds into that transaction (no seal, no removal).
 * READONLY on a read-only handle.
 */
p11kms_store_rc p11kms_store_audit_flush(p11kms_store *st);

/* ------------------------------------------------------------------------ */
/* Options (configuration section [audit])                                   */

typedef enum p11kms_audit_durability {
    P11KMS_AUDIT_DURABILITY_PROCESS = 0, /* write(): survives a process crash */
    P11KMS_AUDIT_DURABILITY_POWER = 1    /* + fdatasync(): survives power loss */
} p11kms_audit_durability;

#define P11KMS_AUDIT_SEAL_NEVER           UINT32_MAX
#define P11KMS_AUDIT_DEFAULT_SEAL_RECORDS 10000u
#define P11KMS_AUDIT_DEFAULT_SEAL_MINUTES 60u

typedef struct p11kms_audit_options {
    p11kms_audit_durability durability;
    uint32_t seal_records; /* seal after this many unsealed records; 0 default, NEVER off */
    uint32_t seal_minutes; /* or when the last seal is this old; 0 default, NEVER off */
} p11kms_audit_options;

/*
 * Per-handle options (the defaults apply until called).  Durability "power"
 * needs a handle opened with P11KMS_STORE_OPEN_SYNC_FULL (INVALID
 * otherwise): a folded journal is only removed once the chain is on disk.
 */
p11kms_store_rc p11kms_store_audit_set_options(p11kms_store *st, const p11kms_audit_options *o);

/* ------------------------------------------------------------------------ */
/* Chain head and anchors                                                    */

/* A (seq, hash) pair: the chain head recorded or exported earlier. */
typedef struct p11kms_audit_anchor {
    uint64_t seq; /* 0 = empty chain */
    unsigned char hash[P11KMS_AUDIT_HASH_LEN];
} p11kms_audit_anchor;

/* "SEQ:HEX64" plus NUL. */
#define P11KMS_AUDIT_ANCHOR_STR_SIZE (20 + 1 + 2 * P11KMS_AUDIT_HASH_LEN + 1)

void p11kms_audit_anchor_format(const p11kms_audit_anchor *a,
                                char out[P11KMS_AUDIT_ANCHOR_STR_SIZE]);
/* 1 if s is exactly "SEQ:HEX64" (lowercase or uppercase hex), else 0. */
int p11kms_audit_anchor_parse(const char *s, p11kms_audit_anchor *out);

/* Current head after a flush (no flush on read-only handles). */
p11kms_store_rc p11kms_store_audit_head(p11kms_store *st, p11kms_audit_anchor *out);

/* ------------------------------------------------------------------------ */
/* Audit-signing key and seals                                               */

/*
 * Returns the active audit-signing key's fingerprint (lowercase hex SHA-256
 * of its SubjectPublicKeyInfo DER) for the CLI to print at token
 * initialisation.  Logged in, it first creates the key if the store has
 * none, or replaces (retires) one that no longer unwraps under the root key
 * because the token was re-initialised.  Not logged in and no key yet:
 * NOT_LOGGED_IN.
 */
p11kms_store_rc p11kms_store_audit_key_ensure(p11kms_store *st, char fpr[P11KMS_AUDIT_FPR_LEN + 1]);

/*
 * The active key's fingerprint and SPKI DER (*spki malloc'd, free();
 * spki may be NULL).  NOTFOUND if no key exists yet.  Works read-only.
 */
p11kms_store_rc p11kms_store_audit_key_public(p11kms_store *st, char fpr[P11KMS_AUDIT_FPR_LEN + 1],
                                              unsigned char **spki, size_t *spki_len);

typedef struct p11kms_audit_seal {
    uint64_t seq;                              /* sealed head */
    unsigned char hash[P11KMS_AUDIT_HASH_LEN]; /* its hash */
    int64_t time_ms;
    unsigned char prev_seal[P11KMS_AUDIT_HASH_LEN]; /* digest of the previous seal */
    char fingerprint[P11KMS_AUDIT_FPR_LEN + 1];
    unsigned char sig[80]; /* ECDSA P-256 DER */
    size_t sig_len;
} p11kms_audit_seal;

/*
 * Seal now: flush, then sign the head (creating the key if needed).
 * NOT_LOGGED_IN without the root key.  If the head is already sealed, OK
 * and *out (may be NULL) describes that seal.  An empty chain: NOTFOUND.
 */
p11kms_store_rc p11kms_store_audit_seal(p11kms_store *st, p11kms_audit_seal *out);

/*
 * Seals with seq in [from_seq, ...), ascending, at most limit (0 = 1000);
 * *out malloc'd array (free()).  For exports and `audit list --seals`.
 */
p11kms_store_rc p11kms_store_audit_seal_list(p11kms_store *st, uint64_t from_seq, size_t limit,
                                             p11kms_audit_seal **out, size_t *count);

/*
 * Signs an arbitrary document with the audit-signing key (export digest
 * files).  The signed message is "p11kms-audit-doc-v1" || lp(context) ||
 * lp(msg) (docs/audit-format.md) so a document can never pass for a seal.
 * *sig malloc'd (free()).  Requires login.
 */
p11kms_store_rc p11kms_store_audit_sign_document(p11kms_store *st, const char *context,
                                                 const unsigned char *msg, size_t msglen,
                                                 unsigned char **sig, size_t *siglen,
                                                 char fpr[P11KMS_AUDIT_FPR_LEN + 1]);

/* Offline check of a document signature with an SPKI (1 valid, 0 not). */
int p11kms_audit_verify_document(const unsigned char *spki, size_t spki_len, const char *context,
                                 const unsigned char *msg, size_t msglen, const unsigned char *sig,
                                 size_t siglen);

/* ------------------------------------------------------------------------ */
/* Verification                                                              */

typedef enum p11kms_audit_problem {
    P11KMS_AUDIT_INTACT = 0,   /* chain and seals verified, head sealed */
    P11KMS_AUDIT_MODIFIED,     /* a record's content changed */
    P11KMS_AUDIT_INSERTED,     /* an extra record in the chain */
    P11KMS_AUDIT_DELETED,      /* a record missing (gap in seq) */
    P11KMS_AUDIT_REORDERED,    /* records swapped / moved */
    P11KMS_AUDIT_BAD_SEAL,     /* invalid seal signature, key or seal link */
    P11KMS_AUDIT_TRUNCATED,    /* chain ends before a seal or the anchor */
    P11KMS_AUDIT_UNSEALED_TAIL /* warning only: records after the last seal */
} p11kms_audit_problem;

/* "intact", "modified", "inserted", "deleted", "reordered", "bad-seal",
 * "truncated", "unsealed-tail". */
const char *p11kms_audit_problem_name(p11kms_audit_problem p);

typedef void (*p11kms_audit_progress_fn)(uint64_t done, uint64_t total, void *arg);

typedef struct p11kms_audit_verify_opts {
    const p11kms_audit_anchor *anchor; /* NULL: none */
    const char *expected_fingerprint;  /* NULL: trust the key stored in the file */
    p11kms_audit_progress_fn progress; /* NULL: none; called every 64k records */
    void *progress_arg;
    int no_flush; /* 1: verify the table as it is */
} p11kms_audit_verify_opts;

typedef struct p11kms_audit_verify_result {
    p11kms_audit_problem problem; /* first problem found, else UNSEALED_TAIL or INTACT */
    uint64_t seq;                 /* the record (or seal seq) it concerns */
    uint64_t seq_end;             /* for MODIFIED found by a seal: last seq of the range */
    char detail[256];             /* one line of English for the CLI */
    uint64_t records;             /* records walked */
    uint64_t seals;               /* seals verified */
    uint64_t last_sealed_seq;     /* 0 if none */
    p11kms_audit_anchor head;     /* chain head as walked */
    int key_checked_private;      /* 1: logged in and the private key matched */
} p11kms_audit_verify_result;

/*
 * Walks the chain and the seals in seq order in one read transaction
 * (streaming, constant memory), stopping at the first problem.  Returns OK
 * whenever the walk ran, whatever it found (see res->problem); an error rc
 * only for I/O, busy, memory and the like.  If the handle is logged in the
 * signing key's private half must unwrap and match the public key (else
 * BAD_SEAL), so a replaced key is caught without an expected fingerprint.
 */
p11kms_store_rc p11kms_store_audit_verify(p11kms_store *st, const p11kms_audit_verify_opts *opts,
                                          p11kms_audit_verify_result *res);

/* ------------------------------------------------------------------------ */
/* Listing                                                                   */

typedef enum {
    P11KMS_AUDIT_RESULT_ANY = 0,
    P11KMS_AUDIT_RESULT_OK,
    P11KMS_AUDIT_RESULT_ERROR
} p11kms_audit_result_filter;
typedef enum {
    P11KMS_AUDIT_CAT_ANY = 0,
    P11KMS_AUDIT_CAT_MANAGEMENT,
    P11KMS_AUDIT_CAT_DATA
} p11kms_audit_category;

/* Zero-initialise and set what you need; every filter uses an index. */
typedef struct p11kms_audit_filter {
    int64_t from_ms, to_ms; /* event time in [from_ms, to_ms); 0 = unbounded */
    const char *key_id;     /* exact */
    const char *event_name; /* exact */
    int match_uid;
    uint32_t uid;
    p11kms_audit_result_filter result;
    p11kms_audit_category category;
    int ascending;   /* 0: newest first (seq descending); 1: oldest first */
    uint64_t cursor; /* 0 = start; else descending: seq < cursor, ascending: seq > cursor */
} p11kms_audit_filter;

typedef struct p11kms_audit_entry {
    uint64_t seq;
    unsigned char prev_hash[P11KMS_AUDIT_HASH_LEN];
    unsigned char hash[P11KMS_AUDIT_HASH_LEN];
    p11kms_audit_record rec; /* string members owned by the entry */
} p11kms_audit_entry;

/*
 * Up to limit (0 = 100, max 10000) records matching f (NULL = all), after a
 * flush on writable handles.  *out (free with p11kms_audit_entry_list_free)
 * has *count entries; *next_cursor is the cursor for the next page, 0 when
 * there is none.
 */
p11kms_store_rc p11kms_store_audit_list(p11kms_store *st, const p11kms_audit_filter *f,
                                        size_t limit, p11kms_audit_entry **out, size_t *count,
                                        uint64_t *next_cursor);
void p11kms_audit_entry_list_free(p11kms_audit_entry *e, size_t count);

/*
 * Retention (`p11kms audit archive`): after the caller has exported records
 * 1..upto_seq, deletes them and the seals before upto_seq, and makes
 * (upto_seq, its hash) the chain base, so the rest still verifies from it.
 * upto_seq must carry a seal (INVALID otherwise): the signed checkpoint.
 */
p11kms_store_rc p11kms_store_audit_prune(p11kms_store *st, uint64_t upto_seq);

/* Number of records in the table (after a flush on writable handles). */
p11kms_store_rc p11kms_store_audit_count(p11kms_store *st, uint64_t *count);

#ifdef __cplusplus
}
#endif
#endif /* P11KMS_STORE_AUDIT_H */
