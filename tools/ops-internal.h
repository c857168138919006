/*
 * tools/ops-internal.h — what the files of the operations commands share:
 * the backup container (tools/ops-backup.c) and the command bodies.
 */
#ifndef P11KMS_TOOLS_OPS_INTERNAL_H
#define P11KMS_TOOLS_OPS_INTERNAL_H

#include "tools/audit-cli.h"

/* Container magic and limits (docs/operations.md, "Backup file format"). */
#define OPS_BACKUP_MAGIC      "P11KMSB1"
#define OPS_BACKUP_MAGIC_LEN  8
#define OPS_BACKUP_HEADER_MAX 65536u

int ops_cmd_backup(audit_cli *a);
int ops_cmd_restore(audit_cli *a);
int ops_cmd_rotate_root_key(audit_cli *a);

/* Appends one management service event to the store in its own write
 * transaction (so it is chained at once).  Returns a store rc. */
p11kms_store_rc ops_audit_event(p11kms_store *st, const char *name, const char *request_json,
                                const char *response_json);

#endif
