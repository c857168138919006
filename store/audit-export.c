/*
 * store/audit-export.c — renders an audit record as a CloudTrail record
 * (eventVersion 1.08).  Lives in store/ because the syslog copy of every
 * record (store/audit-syslog.c) uses it on the append path, and the CLI's
 * list and export use the same function, so a record looks the same
 * wherever it is read.  Only fields the record holds are rendered: records
 * never contain secrets (store/audit.h), and nothing is added here.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/timeutil.h"
#include "store/audit-export.h"

const char *p11kms_audit_cloudtrail_event_type(p11kms_audit_event_type t)
{
    return t == P11KMS_AUDIT_SERVICE_EVENT ? "AwsServiceEvent" : "AwsApiCall";
}

/* A JSON text parsed back, or the text itself as a string if it does not
 * parse (a record is never silently shortened); JSON null for NULL. */
static json_t *embedded_json(const char *text)
{
    json_t *v;

    if (text == NULL)
        return json_null();
    v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    return v != NULL ? v : json_string(text);
}

/* Sets key to a new string, or JSON null for NULL; 0 on failure. */
static int set_str(json_t *o, const char *key, const char *val)
{
    return json_object_set_new(o, key, val != NULL ? json_string(val) : json_null()) == 0;
}

static json_t *user_identity(const p11kms_audit_record *r)
{
    json_t *u = json_object();
    char principal[32];
    int ok;

    if (u == NULL)
        return NULL;
    snprintf(principal, sizeof(principal), "uid:%lu", (unsigned long)r->uid);
    ok = set_str(u, "type", "UnixUser") && set_str(u, "principalId", principal) &&
         json_object_set_new(u, "uid", json_integer(r->uid)) == 0 &&
         json_object_set_new(u, "gid", json_integer(r->gid)) == 0 &&
         set_str(u, "userName", r->user) &&
         json_object_set_new(u, "pid", json_integer(r->pid)) == 0 &&
         set_str(u, "executable", r->executable);
    if (!ok) {
        json_decref(u);
        u = NULL;
    }
    return u;
}

static json_t *resources(const p11kms_audit_record *r)
{
    char arn[sizeof(P11KMS_AUDIT_ARN_PREFIX) + 256];

    if (r->key_id == NULL)
        return json_array();
    snprintf(arn, sizeof(arn), "%s%s", P11KMS_AUDIT_ARN_PREFIX, r->key_id);
    return json_pack("[{s:s, s:s}]", "ARN", arn, "type", "AWS::KMS::Key");
}

static json_t *additional(const p11kms_audit_record *r, uint64_t seq, const unsigned char *hash)
{
    json_t *a = json_object();
    char hex[2 * P11KMS_AUDIT_HASH_LEN + 1];
    int ok = a != NULL;

    if (ok && r->key_version != 0)
        ok = json_object_set_new(a, "keyVersion", json_integer(r->key_version)) == 0;
    if (ok && seq > 0)
        ok = json_object_set_new(a, "sequenceNumber", json_integer((json_int_t)seq)) == 0;
    if (ok && seq > 0 && hash != NULL) {
        for (size_t i = 0; i < P11KMS_AUDIT_HASH_LEN; i++)
            snprintf(hex + 2 * i, 3, "%02x", hash[i]);
        ok = set_str(a, "chainHash", hex);
    }
    if (!ok) {
        json_decref(a);
        a = NULL;
    }
    return a;
}

/* Adds one member, consuming v even on failure; 0 on failure. */
static int put(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

json_t *p11kms_audit_cloudtrail(const p11kms_audit_record *r, uint64_t seq,
                                const unsigned char *hash)
{
    char when[P11KMS_ISO8601_BUF_SIZE];
    json_t *o = json_object();
    int ok = o != NULL && r != NULL && p11kms_time_format_iso8601(r->event_time_ms, when);

    ok = ok && set_str(o, "eventVersion", P11KMS_AUDIT_EVENT_VERSION) &&
         put(o, "userIdentity", user_identity(r)) && set_str(o, "eventTime", when) &&
         set_str(o, "eventSource", P11KMS_AUDIT_EVENT_SOURCE) &&
         set_str(o, "eventName", r->event_name) && set_str(o, "awsRegion", "local") &&
         put(o, "requestParameters", embedded_json(r->request_json)) &&
         put(o, "responseElements", embedded_json(r->response_json));
    if (ok && r->error_code != NULL)
        ok = set_str(o, "errorCode", r->error_code) && set_str(o, "errorMessage", r->error_message);
    ok = ok && put(o, "additionalEventData", additional(r, seq, hash)) &&
         set_str(o, "eventID", r->event_id) && put(o, "readOnly", json_boolean(r->read_only)) &&
         put(o, "resources", resources(r)) &&
         set_str(o, "eventType", p11kms_audit_cloudtrail_event_type(r->event_type)) &&
         put(o, "managementEvent", json_boolean(r->management)) &&
         set_str(o, "eventCategory", r->management ? "Management" : "Data");
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return o;
}
