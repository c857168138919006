/*
 * tests/tools/test-audit-record.c — the CloudTrail rendering of audit
 * records (store/audit-export.c) shared by `p11kms audit list`, export
 * and the syslog copy: field names and values, optional fields, embedded
 * JSON texts (duplicates rejected, unparsable text kept), and the syslog
 * switch.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit-export.h"
#include "store/audit-syslog.h"

static void base_record(p11kms_audit_record *r)
{
    memset(r, 0, sizeof(*r));
    strcpy(r->event_id, "0aef4916-2a3c-40c2-a08b-ce365626c611");
    r->event_time_ms = INT64_C(1795827621318); /* 2026-11-28T01:00:21.318Z */
    r->event_name = "Encrypt";
    r->uid = 1000;
    r->gid = 100;
    r->pid = 42;
    r->user = "alice";
    r->executable = "/usr/bin/app";
    r->key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    r->key_version = 3;
    r->read_only = 0;
    r->request_json = "{\"keyId\":\"alias/a\"}";
}

static const char *s(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

START_TEST(test_success_record)
{
    p11kms_audit_record r;
    unsigned char hash[P11KMS_AUDIT_HASH_LEN];
    json_t *o, *u, *res, *add;

    base_record(&r);
    memset(hash, 0xab, sizeof(hash));
    o = p11kms_audit_cloudtrail(&r, 7, hash);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(s(o, "eventVersion"), "1.08");
    ck_assert_str_eq(s(o, "eventSource"), P11KMS_AUDIT_EVENT_SOURCE);
    ck_assert_str_eq(s(o, "eventTime"), "2026-11-28T01:00:21.318Z");
    ck_assert_str_eq(s(o, "eventName"), "Encrypt");
    ck_assert_str_eq(s(o, "eventType"), "AwsApiCall");
    ck_assert_str_eq(s(o, "eventCategory"), "Data");
    ck_assert(json_is_false(json_object_get(o, "managementEvent")));
    ck_assert(json_is_false(json_object_get(o, "readOnly")));
    ck_assert_ptr_null(json_object_get(o, "errorCode"));
    ck_assert_str_eq(s(o, "eventID"), r.event_id);
    u = json_object_get(o, "userIdentity");
    ck_assert_str_eq(s(u, "type"), "UnixUser");
    ck_assert_str_eq(s(u, "userName"), "alice");
    ck_assert_str_eq(s(u, "principalId"), "uid:1000");
    ck_assert_int_eq(json_integer_value(json_object_get(u, "gid")), 100);
    ck_assert_int_eq(json_integer_value(json_object_get(u, "pid")), 42);
    res = json_array_get(json_object_get(o, "resources"), 0);
    ck_assert_str_eq(s(res, "type"), "AWS::KMS::Key");
    ck_assert_str_eq(s(res, "ARN"), P11KMS_AUDIT_ARN_PREFIX "1234abcd-12ab-34cd-56ef-1234567890ab");
    ck_assert_str_eq(s(json_object_get(o, "requestParameters"), "keyId"), "alias/a");
    ck_assert(json_is_null(json_object_get(o, "responseElements")));
    add = json_object_get(o, "additionalEventData");
    ck_assert_int_eq(json_integer_value(json_object_get(add, "sequenceNumber")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(add, "keyVersion")), 3);
    ck_assert_str_eq(s(add, "chainHash"),
                     "abababababababababababababababababababababababababababababababab");
    json_decref(o);
}
END_TEST

START_TEST(test_error_and_service_event)
{
    p11kms_audit_record r;
    json_t *o;

    base_record(&r);
    r.event_name = "RotateKey";
    r.event_type = P11KMS_AUDIT_SERVICE_EVENT;
    r.management = 1;
    r.key_id = NULL;
    r.user = NULL;
    r.error_code = "AccessDeniedException";
    r.error_message = "denied";
    o = p11kms_audit_cloudtrail(&r, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(s(o, "eventType"), "AwsServiceEvent");
    ck_assert_str_eq(s(o, "eventCategory"), "Management");
    ck_assert_str_eq(s(o, "errorCode"), "AccessDeniedException");
    ck_assert_str_eq(s(o, "errorMessage"), "denied");
    ck_assert_int_eq(json_array_size(json_object_get(o, "resources")), 0);
    ck_assert(json_is_null(json_object_get(json_object_get(o, "userIdentity"), "userName")));
    ck_assert_ptr_null(
        json_object_get(json_object_get(o, "additionalEventData"), "sequenceNumber"));
    json_decref(o);
}
END_TEST

START_TEST(test_embedded_json_kept)
{
    p11kms_audit_record r;
    json_t *o;

    base_record(&r);
    r.request_json = "{\"a\":1,\"a\":2}"; /* duplicate key: not parsed, kept as text */
    r.response_json = "not json";
    o = p11kms_audit_cloudtrail(&r, 1, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(s(o, "requestParameters"), "{\"a\":1,\"a\":2}");
    ck_assert_str_eq(s(o, "responseElements"), "not json");
    json_decref(o);
}
END_TEST

START_TEST(test_syslog_switch)
{
    p11kms_audit_record r;

    base_record(&r);
    ck_assert_int_eq(p11kms_store_audit_syslog_enabled(), 0);
    p11kms_audit_syslog_record(&r); /* off: a no-op */
    p11kms_store_audit_syslog_enable(1);
    ck_assert_int_eq(p11kms_store_audit_syslog_enabled(), 1);
    p11kms_audit_syslog_record(&r); /* on: must not crash without a syslog daemon */
    p11kms_audit_syslog_record(NULL);
    p11kms_store_audit_syslog_enable(0);
    ck_assert_int_eq(p11kms_store_audit_syslog_enabled(), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *su = suite_create("audit-record");
    TCase *tc = tcase_create("cloudtrail");

    tcase_add_test(tc, test_success_record);
    tcase_add_test(tc, test_error_and_service_event);
    tcase_add_test(tc, test_embedded_json_kept);
    tcase_add_test(tc, test_syslog_switch);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
