/*
 * tools/tool.h — what the command files of the p11kms CLI share: the
 * command table entry, the per-run context (global options, the lazily
 * opened module session), output and error helpers and the exit codes
 * that p11kms(1) documents.
 */
#ifndef P11KMS_TOOLS_TOOL_H
#define P11KMS_TOOLS_TOOL_H

#include <stddef.h>

#include <jansson.h>

#include "client/kms.h"
#include "client/module.h"
#include "tools/args.h"
#include "tools/input.h"

/* Exit codes (p11kms(1), EXIT STATUS). */
enum {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_ERROR = 1,      /* anything else: I/O, internal, dependency errors */
    TOOL_EXIT_USAGE = 2,      /* bad command line */
    TOOL_EXIT_NOT_FOUND = 3,  /* NotFoundException */
    TOOL_EXIT_DENIED = 4,     /* AccessDeniedException */
    TOOL_EXIT_STATE = 5,      /* DisabledException, KMSInvalidStateException */
    TOOL_EXIT_CIPHERTEXT = 6, /* InvalidCiphertextException, IncorrectKeyException */
    TOOL_EXIT_INVALID = 7,    /* ValidationException, MalformedPolicyDocumentException, ... */
    TOOL_EXIT_VERIFY = 8,     /* signature or MAC did not verify */
    TOOL_EXIT_TOKEN = 9,      /* module, token, PIN or login failure */
};

/* Output formats of --output. */
typedef enum tool_format { TOOL_OUT_JSON = 0, TOOL_OUT_TEXT, TOOL_OUT_TABLE } tool_format;

typedef struct tool_ctx {
    const char *prog;       /* "p11kms" */
    const char *command;    /* the command name */
    const char *module;     /* --module or NULL (P11KMS_MODULE, installed default) */
    const char *token;      /* --token or NULL (the only token) */
    const char *pin_source; /* --pin-source or NULL (P11KMS_PIN, else prompt) */
    const char *so_pin_source;
    const char *query; /* --query or NULL */
    tool_format format;
    tool_args args; /* the command's own options */
    /* opened by tool_session(): */
    p11kms_client_module *mod;
    CK_SLOT_ID slot;
    p11kms_client_kms kms;
    int have_session;
} tool_ctx;

typedef struct tool_cmd {
    const char *name; /* "create-key" */
    int (*run)(tool_ctx *t);
    const tool_opt *opts;
    size_t nopts;
    const char *summary;
} tool_cmd;

/* The command groups (one file each), NULL-name terminated. */
extern const tool_cmd tool_cmds_keys[], tool_cmds_aliases[], tool_cmds_crypto[],
    tool_cmds_datakey[], tool_cmds_sign[], tool_cmds_mac[], tool_cmds_policy[], tool_cmds_grants[],
    tool_cmds_rotation[], tool_cmds_token[];

#define TOOL_NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- session (tools/session.c) ---- */

/* Load the module, find the token, open a read-write session, log in as
 * user with the PIN source.  Returns an exit code (TOOL_EXIT_OK on success). */
int tool_session(tool_ctx *t, p11kms_client_kms **out);
void tool_session_close(tool_ctx *t);

/* ---- output and errors (tools/output.c) ---- */

/* Print result (stolen) through --query and --output; returns an exit code. */
int tool_emit(tool_ctx *t, json_t *result);

/* Render v in a format to a malloc'd string (tests use it). */
char *tool_render(json_t *v, tool_format format);

/* One line on stderr: "p11kms: MSG"; returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int tool_fail(tool_ctx *t, int code, const char *fmt, ...);

/* A usage error: the line plus a hint to --help; returns TOOL_EXIT_USAGE. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int tool_usage(tool_ctx *t, const char *fmt, ...);

/* A failed KMS call: "p11kms: Exception: message"; the exit code of the class. */
int tool_kms_fail(tool_ctx *t, const p11kms_client_kms_error *e);

/* The exit code of a KMS exception name. */
int tool_exit_of_exception(const char *exception);

/* Base64 of bytes as a new JSON string (NULL on failure). */
json_t *tool_b64(const unsigned char *data, size_t len);

/* ---- common option handling ---- */

/* --encryption-context style option (may be absent: *out NULL).  0 = usage error printed. */
int tool_opt_context(tool_ctx *t, const char *name, json_t **out);
/* Required binary / text input of option name. 0 = error printed (*code set). */
int tool_opt_binary(tool_ctx *t, const char *name, tool_bytes *out, int *code);
int tool_opt_text(tool_ctx *t, const char *name, tool_bytes *out, int *code);
/* Optional number option: absent = def. 0 = usage error printed. */
int tool_opt_uint(tool_ctx *t, const char *name, unsigned min, unsigned max, unsigned def,
                  unsigned *out);

/* ---- shared command shapes (tools/session.c) ---- */

typedef int (*tool_key_fn)(const p11kms_client_kms *s, const char *key_id,
                           p11kms_client_kms_error *err);

/* A command whose whole work is fn(--key-id); prints nothing on success. */
int tool_key_call(tool_ctx *t, tool_key_fn fn);

/* The key id (UUID) of a key reference, through DescribeKey. */
int tool_key_id(tool_ctx *t, p11kms_client_kms *k, const char *ref, char out[37]);

/* Emit res->json (stolen from res) and clear res. */
int tool_emit_result(tool_ctx *t, p11kms_client_kms_result *res);

#endif /* P11KMS_TOOLS_TOOL_H */
