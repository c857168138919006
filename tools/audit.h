/*
 * tools/audit.h — the `p11kms audit` command group (list, verify, seal,
 * head, export, archive).  These commands act on the store as a whole and
 * run as its owner, so, unlike the rest of the CLI, they open the store
 * directly through store/ (DESIGN.md, Layers) instead of going through the
 * PKCS#11 module.
 */
#ifndef P11KMS_TOOLS_AUDIT_H
#define P11KMS_TOOLS_AUDIT_H

/* Entry point of `p11kms audit ...`: argv[0] is "audit", argv[1] the
 * subcommand, the rest its options.  Returns the process exit code
 * (p11kms(1), EXIT STATUS; 2 for usage errors). */
int p11kms_tool_audit_main(int argc, char **argv);

#endif /* P11KMS_TOOLS_AUDIT_H */
