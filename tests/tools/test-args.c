/*
 * tests/tools/test-args.c — the p11kms command-line parsers (tools/args.c,
 * tools/input.c, tools/output.c): options, encryption contexts, --query
 * paths, input sources and output rendering, each with its error cases.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/args.h"
#include "tools/input.h"
#include "tools/tool.h"

static const tool_opt g_opts[] = {
    {"key-id", TOOL_OPT_VALUE | TOOL_OPT_REQUIRED, "KEY"},
    {"plaintext", TOOL_OPT_VALUE, "IN"},
    {"bypass", 0, ""},
};

static int parse(int argc, char **argv, tool_args *a, char *err)
{
    return tool_args_parse(argc, argv, g_opts, 3, a, err, 256);
}

START_TEST(test_options_ok)
{
    char *argv[] = {"--key-id", "alias/x", "--plaintext=fileb://a=b", "--bypass"};
    tool_args a;
    char err[256];
    ck_assert_int_eq(parse(4, argv, &a, err), 1);
    ck_assert_str_eq(tool_arg(&a, "key-id"), "alias/x");
    ck_assert_str_eq(tool_arg(&a, "plaintext"), "fileb://a=b");
    ck_assert_str_eq(tool_arg(&a, "bypass"), "true");
}
END_TEST

START_TEST(test_options_errors)
{
    char *unknown[] = {"--key-id", "k", "--nope", "1"};
    char *twice[] = {"--key-id", "k", "--key-id", "j"};
    char *missing[] = {"--plaintext", "x"};
    char *novalue[] = {"--key-id"};
    char *stray[] = {"--key-id", "k", "extra"};
    char *switchval[] = {"--key-id", "k", "--bypass=yes"};
    tool_args a;
    char err[256];
    ck_assert_int_eq(parse(4, unknown, &a, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "--nope"));
    ck_assert_int_eq(parse(4, twice, &a, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    ck_assert_int_eq(parse(2, missing, &a, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "--key-id is required"));
    ck_assert_int_eq(parse(1, novalue, &a, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    ck_assert_int_eq(parse(3, stray, &a, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "extra"));
    ck_assert_int_eq(parse(3, switchval, &a, err), 0);
}
END_TEST

START_TEST(test_context_shorthand)
{
    char err[256];
    json_t *o = tool_parse_context("app=web,env=prod,url=a=b", err, sizeof(err));
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_size(o), 3);
    ck_assert_str_eq(json_string_value(json_object_get(o, "url")), "a=b");
    ck_assert_str_eq(json_string_value(json_object_get(o, "env")), "prod");
    json_decref(o);
    o = tool_parse_context("k=", err, sizeof(err));
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "k")), "");
    json_decref(o);
}
END_TEST

START_TEST(test_context_json)
{
    char err[256];
    json_t *o = tool_parse_context("{\"b\":\"2\",\"a\":\"1\"}", err, sizeof(err));
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "a")), "1");
    json_decref(o);
}
END_TEST

START_TEST(test_context_errors)
{
    static const char *const bad[] = {"novalue", "=v",           "a=1,a=2",
                                      "a=1,",    "{\"a\":1}",    "{\"a\":\"1\",\"a\":\"2\"}",
                                      "[1]",     "{\"\":\"x\"}", "{bad"};
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        json_t *o = tool_parse_context(bad[i], err, sizeof(err));
        ck_assert_msg(o == NULL, "accepted '%s'", bad[i]);
        ck_assert_msg(err[0] != '\0', "no message for '%s'", bad[i]);
    }
}
END_TEST

static json_t *sample(void)
{
    return json_pack("{s:[{s:s},{s:s}],s:{s:s,s:i},s:b}", "Keys", "KeyId", "k1", "KeyId", "k2",
                     "KeyMetadata", "KeyId", "id", "CurrentKeyVersion", 3, "Truncated", 0);
}

static void check_query(json_t *v, const char *path, const char *expect)
{
    char err[256];
    json_t *r = tool_query(v, path, err, sizeof(err));
    ck_assert_msg(r != NULL, "%s: %s", path, err);
    char *s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_msg(strcmp(s, expect) == 0, "%s gave %s, not %s", path, s, expect);
    free(s);
    json_decref(r);
}

START_TEST(test_query)
{
    json_t *v = sample();
    check_query(v, "KeyMetadata.KeyId", "\"id\"");
    check_query(v, "KeyMetadata.CurrentKeyVersion", "3");
    check_query(v, "Keys[1].KeyId", "\"k2\"");
    check_query(v, "Keys[-1].KeyId", "\"k2\"");
    check_query(v, "Keys[].KeyId", "[\"k1\",\"k2\"]");
    check_query(v, "Keys[5]", "null");
    check_query(v, "Missing.Field", "null");
    check_query(v, "Truncated", "false");
    json_decref(v);
}
END_TEST

START_TEST(test_query_errors)
{
    static const char *const bad[] = {"", ".a", "a.", "a..b", "a[x]", "a[1", "a[1]b"};
    char err[256];
    json_t *v = sample();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *r = tool_query(v, bad[i], err, sizeof(err));
        ck_assert_msg(r == NULL, "accepted '%s'", bad[i]);
    }
    json_decref(v);
}
END_TEST

START_TEST(test_uint)
{
    unsigned v = 0;
    char err[256];
    ck_assert_int_eq(tool_parse_uint("n", "30", 7, 30, &v, err, sizeof(err)), 1);
    ck_assert_uint_eq(v, 30);
    ck_assert_int_eq(tool_parse_uint("n", "6", 7, 30, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(tool_parse_uint("n", "-1", 0, 30, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(tool_parse_uint("n", "12x", 0, 30, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(tool_parse_uint("n", "", 0, 30, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(tool_parse_uint("n", "99999999999999999999", 0, 30, &v, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_input)
{
    char dir[] = "/tmp/p11kms-args.XXXXXX", path[64], arg[80], err[512];
    tool_bytes b;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/in", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite("a\0b", 1, 3, f);
    fclose(f);
    snprintf(arg, sizeof(arg), "fileb://%s", path);
    ck_assert_int_eq(tool_input_binary("plaintext", arg, &b, err, sizeof(err)), 1);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_int_eq(memcmp(b.data, "a\0b", 3), 0);
    tool_bytes_free(&b);
    ck_assert_int_eq(tool_input_binary("plaintext", "aGVsbG8=", &b, err, sizeof(err)), 1);
    ck_assert_uint_eq(b.len, 5);
    ck_assert_int_eq(memcmp(b.data, "hello", 5), 0);
    tool_bytes_free(&b);
    ck_assert_int_eq(tool_input_binary("plaintext", "not base64", &b, err, sizeof(err)), 0);
    snprintf(arg, sizeof(arg), "file://%s", path);
    ck_assert_int_eq(tool_input_binary("plaintext", arg, &b, err, sizeof(err)), 0);
    ck_assert_int_eq(tool_input_text("policy", arg, &b, err, sizeof(err)), 1);
    ck_assert_uint_eq(b.len, 3);
    tool_bytes_free(&b);
    ck_assert_int_eq(tool_input_binary("x", "fileb:///nonexistent/p11kms", &b, err, sizeof(err)),
                     0);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/p11kms"));
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_render)
{
    json_t *v = sample();
    char *s = tool_render(v, TOOL_OUT_TEXT);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(s, "KEYS\tk1\n"));
    ck_assert_ptr_nonnull(strstr(s, "KEYMETADATA\t3\tid\n"));
    free(s);
    s = tool_render(v, TOOL_OUT_TABLE);
    ck_assert_ptr_nonnull(strstr(s, "| KeyMetadata.KeyId "));
    ck_assert_ptr_nonnull(strstr(s, "| Keys[1].KeyId "));
    free(s);
    s = tool_render(v, TOOL_OUT_JSON);
    json_t *back = json_loads(s, 0, NULL);
    ck_assert(json_equal(back, v));
    json_decref(back);
    free(s);
    json_decref(v);
}
END_TEST

START_TEST(test_exit_codes)
{
    ck_assert_int_eq(tool_exit_of_exception("NotFoundException"), TOOL_EXIT_NOT_FOUND);
    ck_assert_int_eq(tool_exit_of_exception("AccessDeniedException"), TOOL_EXIT_DENIED);
    ck_assert_int_eq(tool_exit_of_exception("DisabledException"), TOOL_EXIT_STATE);
    ck_assert_int_eq(tool_exit_of_exception("InvalidCiphertextException"), TOOL_EXIT_CIPHERTEXT);
    ck_assert_int_eq(tool_exit_of_exception("MalformedPolicyDocumentException"), TOOL_EXIT_INVALID);
    ck_assert_int_eq(tool_exit_of_exception("KMSInvalidSignatureException"), TOOL_EXIT_VERIFY);
    ck_assert_int_eq(tool_exit_of_exception("SomethingElse"), TOOL_EXIT_ERROR);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tools-args");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_options_ok);
    tcase_add_test(tc, test_options_errors);
    tcase_add_test(tc, test_context_shorthand);
    tcase_add_test(tc, test_context_json);
    tcase_add_test(tc, test_context_errors);
    tcase_add_test(tc, test_query);
    tcase_add_test(tc, test_query_errors);
    tcase_add_test(tc, test_uint);
    tcase_add_test(tc, test_input);
    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_exit_codes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
