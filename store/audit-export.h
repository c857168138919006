/*
 * store/audit-export.h — an audit record as a CloudTrail record (JSON), the
 * one rendering shared by `p11kms audit list`, `p11kms audit export` and
 * the syslog/journald copy (store/audit-syslog.c), so every output names
 * the fields the same way (docs/audit.md, "Record format").
 */
#ifndef P11KMS_STORE_AUDIT_EXPORT_H
#define P11KMS_STORE_AUDIT_EXPORT_H

#include <stdint.h>

#include <jansson.h>

#include "store/audit.h"

/* eventSource of every record (KMS's is "kms.amazonaws.com"). */
#define P11KMS_AUDIT_EVENT_SOURCE  "kms.p11kms.local"
#define P11KMS_AUDIT_EVENT_VERSION "1.08"
/* resources[].ARN is "arn:p11kms:kms:local::key/KEY-ID". */
#define P11KMS_AUDIT_ARN_PREFIX "arn:p11kms:kms:local::key/"

/*
 * The CloudTrail record of rec (new reference, NULL when out of memory).
 * seq > 0 adds additionalEventData.sequenceNumber (the chain position) and,
 * with hash != NULL, additionalEventData.chainHash (hex).  requestParameters
 * and responseElements are the record's JSON texts parsed back (rejecting
 * duplicate keys); text that does not parse is kept as a JSON string, so
 * nothing is ever dropped.
 */
json_t *p11kms_audit_cloudtrail(const p11kms_audit_record *rec, uint64_t seq,
                                const unsigned char *hash);

/* CloudTrail's eventType for t: "AwsApiCall" or "AwsServiceEvent". */
const char *p11kms_audit_cloudtrail_event_type(p11kms_audit_event_type t);

#endif /* P11KMS_STORE_AUDIT_EXPORT_H */
