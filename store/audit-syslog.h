/*
 * store/audit-syslog.h — optional copy of every audit record to
 * syslog/journald ([audit] syslog = yes), one CloudTrail JSON line per
 * record, so existing log pipelines and alerting see KMS activity as it
 * happens.  The copy is best effort: the chain in the store stays the
 * record of truth, and a syslog failure never fails an operation.
 */
#ifndef P11KMS_STORE_AUDIT_SYSLOG_H
#define P11KMS_STORE_AUDIT_SYSLOG_H

#include "store/audit.h"

/* Switches the copy on (1) or off (0) for this process (the [audit]
 * section is global, one per configuration); off by default. */
void p11kms_store_audit_syslog_enable(int on);

/* 1 when the copy is on. */
int p11kms_store_audit_syslog_enabled(void);

/*
 * Sends rec (after a successful append: event_id and event_time_ms set)
 * as one line "p11kms-audit: {CloudTrail JSON}" with priority
 * LOG_AUTHPRIV|LOG_NOTICE (LOG_WARNING for failed and denied calls).  A
 * no-op unless enabled.  Never calls openlog(): the host program's ident
 * and options stay as they are (the module changes nothing process-wide).
 */
void p11kms_audit_syslog_record(const p11kms_audit_record *rec);

#endif /* P11KMS_STORE_AUDIT_SYSLOG_H */
