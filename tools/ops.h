/*
 * tools/ops.h — the operations commands of the p11kms CLI: backup,
 * restore and rotate-root-key.  They act on the store as a whole and run
 * as its owner, so they open store/ directly (DESIGN.md, Layers).  Key
 * import (get-parameters-for-import, import-key-material) is recognised
 * but needs engine support that does not exist yet (docs/operations.md).
 *
 * Hook in tools/main.c (one line, before the generic command lookup):
 *   } else if (p11kms_tool_ops_handles(s.command)) {
 *       code = p11kms_tool_ops_main(s.command, argc, argv);
 */
#ifndef P11KMS_TOOLS_OPS_H
#define P11KMS_TOOLS_OPS_H

/* 1 if cmd is one of the operations commands, else 0. */
int p11kms_tool_ops_handles(const char *cmd);

/*
 * Runs cmd.  argc/argv are main()'s own: every word except the first
 * occurrence of cmd is an option (global ones such as --store, --config,
 * --token, --pin-source, --so-pin-source, --output may come before or
 * after the command).  Returns the exit code (p11kms(1)).
 */
int p11kms_tool_ops_main(const char *cmd, int argc, char **argv);

#endif
