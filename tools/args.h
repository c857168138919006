/*
 * tools/args.h — command-line parsing for p11kms: long options in the
 * `aws kms` style (--name VALUE or --name=VALUE, boolean switches),
 * encryption contexts (k=v,k2=v2 or JSON) and the --query dotted paths.
 * Pure functions without PKCS#11, so tests/tools/ can check them alone.
 */
#ifndef P11KMS_TOOLS_ARGS_H
#define P11KMS_TOOLS_ARGS_H

#include <stddef.h>

#include <jansson.h>

#define TOOL_OPT_VALUE    1u /* takes a value */
#define TOOL_OPT_REQUIRED 2u /* must be given */

typedef struct tool_opt {
    const char *name; /* without the leading "--" */
    unsigned flags;
    const char *help; /* value placeholder or description, for --help */
} tool_opt;

#define TOOL_MAX_OPTS 32

/* Parsed options of one command: values[i] belongs to opts[i]. */
typedef struct tool_args {
    const tool_opt *opts;
    size_t nopts;
    const char *values[TOOL_MAX_OPTS]; /* NULL = not given; "true" for switches */
} tool_args;

/*
 * Parse argv[0..argc) (the words after the command name) against opts.
 * Returns 1, or 0 with a one-line message in err (unknown option, missing
 * value, repeated option, missing required option, stray argument).
 */
int tool_args_parse(int argc, char **argv, const tool_opt *opts, size_t nopts, tool_args *out,
                    char *err, size_t errlen);

/* The value of option name, NULL when not given (name must be in opts). */
const char *tool_arg(const tool_args *a, const char *name);

/*
 * Parse an encryption context: "k=v,k2=v2" (split at the first '=' of
 * each pair) or a JSON object of strings ("{...}").  Keys must be
 * non-empty and unique.  Returns a new object, or NULL with err set.
 */
json_t *tool_parse_context(const char *text, char *err, size_t errlen);

/* Parse a whole number in [min, max]; 1 ok, 0 with err set. */
int tool_parse_uint(const char *name, const char *text, unsigned min, unsigned max, unsigned *out,
                    char *err, size_t errlen);

/*
 * Apply a --query path to v: segments separated by '.', each a field name
 * optionally followed by "[N]" (an element, negative counts from the end)
 * or "[]" (project the rest of the path over every element).  Returns a
 * new reference (JSON null when a field is missing), or NULL with err set
 * for a malformed path.
 */
json_t *tool_query(json_t *v, const char *path, char *err, size_t errlen);

#endif /* P11KMS_TOOLS_ARGS_H */
