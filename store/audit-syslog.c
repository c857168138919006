/*
 * store/audit-syslog.c — the syslog/journald copy of audit records.  Kept
 * apart from the chain code: it renders with the shared CloudTrail
 * function (store/audit-export.c) and sends with syslog(3), which
 * journald collects on systemd hosts.  The switch is a process-wide
 * atomic because the configuration's [audit] section is global.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <syslog.h>

#include "store/audit-export.h"
#include "store/audit-syslog.h"

static atomic_int g_syslog_on;

void p11kms_store_audit_syslog_enable(int on)
{
    atomic_store(&g_syslog_on, on ? 1 : 0);
}

int p11kms_store_audit_syslog_enabled(void)
{
    return atomic_load(&g_syslog_on);
}

void p11kms_audit_syslog_record(const p11kms_audit_record *rec)
{
    json_t *ct = NULL;
    char *line = NULL;
    int prio;

    if (rec == NULL || !atomic_load(&g_syslog_on))
        goto done;
    ct = p11kms_audit_cloudtrail(rec, 0, NULL);
    if (ct == NULL)
        goto done;
    line = json_dumps(ct, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line == NULL)
        goto done;
    prio = LOG_AUTHPRIV | (rec->error_code != NULL ? LOG_WARNING : LOG_NOTICE);
    syslog(prio, "p11kms-audit: %s", line);
done:
    free(line);
    json_decref(ct);
}
