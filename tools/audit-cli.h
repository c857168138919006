/*
 * tools/audit-cli.h — what the files of `p11kms audit` share: the run
 * context (the CLI's tool_ctx plus the store opened directly), store
 * opening and login, time parsing, and the export-directory format used by
 * export, archive and verify --exported (docs/audit.md).
 */
#ifndef P11KMS_TOOLS_AUDIT_CLI_H
#define P11KMS_TOOLS_AUDIT_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/audit.h"
#include "store/config.h"
#include "store/store.h"
#include "tools/tool.h"

/* Default window of `audit list` (CloudTrail's event history). */
#define AUDIT_LIST_DEFAULT_DAYS 90

typedef struct audit_cli {
    tool_ctx t;            /* prog, command, pin_source, format, query, args */
    int format_given;      /* --output was on the command line */
    const char *store_arg; /* --store PATH or NULL */
    p11kms_config *cfg;    /* loaded configuration (NULL with --store and no file) */
    const char *store_path;
    p11kms_store *st;
} audit_cli;

typedef struct audit_subcmd {
    const char *name;
    int (*run)(audit_cli *a);
    const tool_opt *opts;
    size_t nopts;
    const char *summary;
} audit_subcmd;

/* ---- tools/audit-util.c ---- */

/* Opens the store (read-write, falling back to read-only when the file is
 * not writable and !need_write), sets the [audit] options, and with login
 * logs in with the user PIN (--pin-source, else P11KMS_PIN, else a prompt).
 * login == 2: only if a PIN source was named or P11KMS_PIN is set.
 * Returns an exit code. */
int audit_open(audit_cli *a, int need_write, int login);
void audit_close(audit_cli *a);

/* A store error as one line; returns the exit code for rc. */
int audit_store_fail(audit_cli *a, p11kms_store_rc rc, const char *what);

/*
 * A point in time: ISO 8601 ("2026-11-28", "2026-11-28T10:00:00Z",
 * with or without milliseconds), "now", or relative to now: "90d", "12h",
 * "30m", "2w" (ago).  1 ok, 0 malformed.
 */
int audit_parse_time(const char *s, int64_t now_ms, int64_t *out);

/* Lowercase hex of n bytes into out (2n+1). */
void audit_hex(const unsigned char *p, size_t n, char *out);
/* Parses exactly 2n hex digits; 1 ok. */
int audit_unhex(const char *s, unsigned char *out, size_t n);

/* SHA-256 of a whole file: 1 ok, 0 missing/unreadable (errno set). */
int audit_file_sha256(const char *path, unsigned char out[32]);
/* Reads a whole (small) file; *data malloc'd and NUL-terminated. */
int audit_read_file(const char *path, size_t max, char **data, size_t *len);
/* Writes data to path atomically (temp file + rename), mode 0600.
 * excl: refuse to replace an existing file.  1 ok. */
int audit_write_file(const char *path, const void *data, size_t len, int excl);
/* mkdir -p (mode 0700 for each created level); 1 ok. */
int audit_mkdirs(const char *path);

/* Entries of the record as a CloudTrail JSON (list, export). */
json_t *audit_entry_json(const p11kms_audit_entry *e);

/* ---- export directory (tools/audit-dir.c) ---- */

typedef struct audit_export_stats {
    uint64_t first_seq, last_seq, records;
    size_t files, digests;
    p11kms_audit_anchor head; /* the last exported record */
    char fingerprint[P11KMS_AUDIT_FPR_LEN + 1];
} audit_export_stats;

/* Exports the records with seq in [from_seq, upto_seq] (0 = unbounded) and
 * event times in [since, until) (0 = unbounded) into dir, continuing the
 * digest chain found there.  Returns an exit code. */
int audit_export_dir(audit_cli *a, const char *dir, int64_t since, int64_t until, uint64_t upto_seq,
                     audit_export_stats *out);

/* The result object of export and archive. */
json_t *audit_export_stats_json(const audit_export_stats *s, const char *dir);

/*
 * Verifies an export directory offline (public key files in it; with
 * fingerprint != NULL every digest must be signed by that key).  Returns
 * 1 intact, 0 damaged (one line naming the file and the kind in problem),
 * -1 error (message in problem).
 */
int audit_verify_dir(const char *dir, const char *fingerprint, audit_export_stats *st,
                     char *problem, size_t plen);

/* The subcommand tables (one per file). */
int audit_cmd_list(audit_cli *a);
int audit_cmd_verify(audit_cli *a);
int audit_cmd_seal(audit_cli *a);
int audit_cmd_head(audit_cli *a);
int audit_cmd_export(audit_cli *a);
int audit_cmd_archive(audit_cli *a);

#endif /* P11KMS_TOOLS_AUDIT_CLI_H */
