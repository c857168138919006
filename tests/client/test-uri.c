/*
 * tests/client/test-uri.c — p11kms: and pkcs11: URI parsing (client/uri.h).
 *
 * A table of good URIs with what they must decode to, a table of bad ones
 * with the exact message, and matching against token information through
 * p11-kit's match functions.
 */
#include "config.h"

#include "client/uri.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Good ----------------------------------------------------------------------- */

typedef struct good_case {
    const char *text;
    unsigned flags;
    p11kms_client_uri_kind kind;
    const char *key_ref; /* ALIAS/KEY */
    uint32_t version;
    const char *label; /* PKCS11: decoded object=, or NULL */
    const char *id;    /* PKCS11: decoded id= bytes, or NULL */
    size_t idlen;
    long klass; /* PKCS11: CKO_ value of type=, -1 when absent */
} good_case;

#define KEYID "1234abcd-5678-90ef-abcd-0123456789ab"

static const good_case good[] = {
    {"p11kms:alias/db", 0, P11KMS_CLIENT_URI_ALIAS, "alias/db", 0, NULL, NULL, 0, -1},
    {"p11kms:alias/p11kms/mariadb", 0, P11KMS_CLIENT_URI_ALIAS, "alias/p11kms/mariadb", 0, NULL,
     NULL, 0, -1},
    {"p11kms:alias/A-b_c/9", 0, P11KMS_CLIENT_URI_ALIAS, "alias/A-b_c/9", 0, NULL, NULL, 0, -1},
    {"p11kms:alias/db?version=3", 0, P11KMS_CLIENT_URI_ALIAS, "alias/db", 3, NULL, NULL, 0, -1},
    {"P11KMS:alias/db", 0, P11KMS_CLIENT_URI_ALIAS, "alias/db", 0, NULL, NULL, 0, -1},
    {"p11kms:key/" KEYID, 0, P11KMS_CLIENT_URI_KEY, KEYID, 0, NULL, NULL, 0, -1},
    {"p11kms:key/1234ABCD-5678-90EF-ABCD-0123456789AB", 0, P11KMS_CLIENT_URI_KEY, KEYID, 0, NULL,
     NULL, 0, -1},
    {"p11kms:key/" KEYID "?version=4294967295", 0, P11KMS_CLIENT_URI_KEY, KEYID, 4294967295u, NULL,
     NULL, 0, -1},
    {"alias/bare", P11KMS_CLIENT_URI_BARE, P11KMS_CLIENT_URI_ALIAS, "alias/bare", 0, NULL, NULL, 0,
     -1},
    {KEYID, P11KMS_CLIENT_URI_BARE, P11KMS_CLIENT_URI_KEY, KEYID, 0, NULL, NULL, 0, -1},
    {"p11kms:alias/x", P11KMS_CLIENT_URI_BARE, P11KMS_CLIENT_URI_ALIAS, "alias/x", 0, NULL, NULL, 0,
     -1},
    {"pkcs11:", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, NULL, 0, -1},
    {"pkcs11:token=t;object=k;type=private", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, "k", NULL, 0,
     CKO_PRIVATE_KEY},
    {"pkcs11:object=my%20key;type=public", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, "my key", NULL, 0,
     CKO_PUBLIC_KEY},
    {"pkcs11:object=alias/db;type=secret-key", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, "alias/db", NULL,
     0, CKO_SECRET_KEY},
    {"pkcs11:type=cert", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, NULL, 0, CKO_CERTIFICATE},
    {"pkcs11:type=data;object=d", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, "d", NULL, 0, CKO_DATA},
    {"pkcs11:id=%01%02%ff%00", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, "\x01\x02\xff\x00", 4, -1},
    {"pkcs11:id=%AB%cd", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, "\xab\xcd", 2, -1},
    {"pkcs11:token=My%20Token;manufacturer=p11kms;serial=0123456789abcdef;model=p11kms", 0,
     P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, NULL, 0, -1},
    {"pkcs11:library-manufacturer=p11kms;library-description=x;library-version=1.2", 0,
     P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, NULL, 0, -1},
    {"pkcs11:library-version=7", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, NULL, 0, -1},
    {"pkcs11:slot-id=3;slot-description=s;slot-manufacturer=m", 0, P11KMS_CLIENT_URI_PKCS11, "", 0,
     NULL, NULL, 0, -1},
    {"pkcs11:object=k?pin-source=file:/run/pin", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, "k", NULL, 0,
     -1},
    {"pkcs11:object=k?pin-value=1234&module-name=p11kms-pkcs11", 0, P11KMS_CLIENT_URI_PKCS11, "", 0,
     "k", NULL, 0, -1},
    {"pkcs11:object=k?module-path=/usr/lib/pkcs11/p11kms-pkcs11.so", 0, P11KMS_CLIENT_URI_PKCS11,
     "", 0, "k", NULL, 0, -1},
    {"PKCS11:object=k", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, "k", NULL, 0, -1},
    {"pkcs11:object=a:b@c!$'()*+,=&", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, "a:b@c!$'()*+,=&", NULL,
     0, -1},
    {"pkcs11:model=", 0, P11KMS_CLIENT_URI_PKCS11, "", 0, NULL, NULL, 0, -1},
};

START_TEST(test_good)
{
    const good_case *c = &good[_i];
    p11kms_client_uri uri;
    p11kms_client_err err = {"", 0};
    CK_ATTRIBUTE *a;

    ck_assert_msg(p11kms_client_uri_parse(c->text, c->flags, &uri, &err) == 1, "%s: %s", c->text,
                  err.msg);
    ck_assert_int_eq(uri.kind, c->kind);
    ck_assert_str_eq(uri.key_ref, c->key_ref);
    ck_assert_uint_eq(uri.version, c->version);
    if (c->kind == P11KMS_CLIENT_URI_PKCS11) {
        ck_assert_ptr_nonnull(uri.pkcs11);
        a = p11_kit_uri_get_attribute(uri.pkcs11, CKA_LABEL);
        if (c->label == NULL) {
            ck_assert_ptr_null(a);
        } else {
            ck_assert_ptr_nonnull(a);
            ck_assert_uint_eq(a->ulValueLen, strlen(c->label));
            ck_assert_mem_eq(a->pValue, c->label, a->ulValueLen);
        }
        a = p11_kit_uri_get_attribute(uri.pkcs11, CKA_ID);
        if (c->id == NULL) {
            ck_assert_ptr_null(a);
        } else {
            ck_assert_ptr_nonnull(a);
            ck_assert_uint_eq(a->ulValueLen, c->idlen);
            ck_assert_mem_eq(a->pValue, c->id, c->idlen);
        }
        ck_assert_int_eq(uri.has_class, c->klass >= 0);
        if (c->klass >= 0)
            ck_assert_uint_eq(uri.object_class, (CK_OBJECT_CLASS)c->klass);
    } else {
        ck_assert_ptr_null(uri.pkcs11);
    }
    p11kms_client_uri_free(&uri);
    ck_assert_ptr_null(uri.pkcs11);
}
END_TEST

START_TEST(test_query_fields)
{
    p11kms_client_uri uri;
    p11kms_client_err err = {"", 0};

    ck_assert_int_eq(p11kms_client_uri_parse("pkcs11:token=t?pin-source=env:PIN&module-path="
                                             "/opt/m.so&module-name=m",
                                             0, &uri, &err),
                     1);
    ck_assert_str_eq(uri.pin_source, "env:PIN");
    ck_assert_int_eq(uri.has_pin_value, 0);
    ck_assert_str_eq(uri.module_path, "/opt/m.so");
    ck_assert_str_eq(uri.module_name, "m");
    p11kms_client_uri_free(&uri);

    ck_assert_int_eq(p11kms_client_uri_parse("pkcs11:token=t?pin-value=12%2634", 0, &uri, &err), 1);
    ck_assert_int_eq(uri.has_pin_value, 1);
    ck_assert_str_eq(p11_kit_uri_get_pin_value(uri.pkcs11), "12&34");
    ck_assert_ptr_null(uri.pin_source);
    p11kms_client_uri_free(&uri);
}
END_TEST

/* Bad ------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *text;
    unsigned flags;
    const char *message;
} bad_case;

static const bad_case bad[] = {
    {"", 0, "empty key reference"},
    {"alias/db", 0, "not a key URI (expected p11kms:alias/NAME, p11kms:key/ID or pkcs11:...)"},
    {"p11kms:", 0, "p11kms: URI: expected p11kms:alias/NAME or p11kms:key/ID"},
    {"p11kms:alias/", 0, "p11kms: URI: the alias name after 'alias/' is empty"},
    {"p11kms:alias/a.b", 0,
     "p11kms: URI: character '.' is not allowed in an alias name (letters, digits, '/', '_' and "
     "'-')"},
    {"p11kms:alias/%41", 0,
     "p11kms: URI: character '%' is not allowed in an alias name (letters, digits, '/', '_' and "
     "'-')"},
    {"p11kms:key/1234", 0,
     "p11kms: URI: key/ must be followed by a key id (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
    {"p11kms:key/1234abcd-5678-90ef-abcd-0123456789ag", 0,
     "p11kms: URI: key/ must be followed by a key id (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
    {"p11kms:" KEYID, 0, "p11kms: URI: expected p11kms:alias/NAME or p11kms:key/ID"},
    {"p11kms:alias/db?version=0", 0, "p11kms: URI: version must be a number from 1 to 4294967295"},
    {"p11kms:alias/db?version=01", 0, "p11kms: URI: version must be a number from 1 to 4294967295"},
    {"p11kms:alias/db?version=4294967296", 0,
     "p11kms: URI: version must be a number from 1 to 4294967295"},
    {"p11kms:alias/db?version=", 0, "p11kms: URI: version must be a number from 1 to 4294967295"},
    {"p11kms:alias/db?v=1", 0, "p11kms: URI: the only query attribute is version=N"},
    {"p11kms:alias/my key", 0,
     "key reference contains a blank, control or non-ASCII character (percent-encode it in a "
     "pkcs11: URI)"},
    {"nonsense", P11KMS_CLIENT_URI_BARE,
     "not a key reference (expected alias/NAME, a key id, p11kms:alias/NAME, p11kms:key/ID or a "
     "pkcs11: URI)"},
    {"pkcs11:foo=1", 0, "pkcs11: URI: unknown path attribute 'foo'"},
    {"pkcs11:x-vendor=1", 0, "pkcs11: URI: unknown path attribute 'x-vendor'"},
    {"pkcs11:token=a?foo=1", 0, "pkcs11: URI: unknown query attribute 'foo'"},
    {"pkcs11:pin-value=1", 0, "pkcs11: URI: unknown path attribute 'pin-value'"},
    {"pkcs11:token=a?token=b", 0, "pkcs11: URI: unknown query attribute 'token'"},
    {"pkcs11:token=a;token=b", 0, "pkcs11: URI: attribute 'token' repeated"},
    {"pkcs11:token=a;;object=b", 0, "pkcs11: URI: empty attribute in the path (a stray ';')"},
    {"pkcs11:token=a;", 0, "pkcs11: URI: empty attribute in the path (a stray ';')"},
    {"pkcs11:token=a?pin-source=file:/p&", 0,
     "pkcs11: URI: empty attribute in the query (a stray '&')"},
    {"pkcs11:token", 0, "pkcs11: URI: expected name=value in the path"},
    {"pkcs11:=a", 0, "pkcs11: URI: expected name=value in the path"},
    {"pkcs11:type=bogus", 0, "pkcs11: URI: type must be private, public, secret-key, cert or data"},
    {"pkcs11:type=Private", 0,
     "pkcs11: URI: type must be private, public, secret-key, cert or data"},
    {"pkcs11:id=%zz", 0, "pkcs11: URI: id: invalid percent-encoding (%XX, two hex digits)"},
    {"pkcs11:id=%0", 0, "pkcs11: URI: id: invalid percent-encoding (%XX, two hex digits)"},
    {"pkcs11:object=a%", 0, "pkcs11: URI: object: invalid percent-encoding (%XX, two hex digits)"},
    {"pkcs11:object=a%00b", 0, "pkcs11: URI: object contains an encoded NUL byte"},
    {"pkcs11:slot-id=abc", 0, "pkcs11: URI: slot-id must be a decimal number"},
    {"pkcs11:slot-id=", 0, "pkcs11: URI: slot-id must be a decimal number"},
    {"pkcs11:library-version=1.x", 0, "pkcs11: URI: library-version must be MAJOR or MAJOR.MINOR"},
    {"pkcs11:library-version=1.", 0, "pkcs11: URI: library-version must be MAJOR or MAJOR.MINOR"},
    {"pkcs11:object=a?b", 0, "pkcs11: URI: expected name=value in the query"},
    {"pkcs11:object=a\"b", 0, "pkcs11: URI: object: character '\"' must be percent-encoded (%22)"},
    {"pkcs11:object=a#frag", 0, "pkcs11: URI: a fragment ('#') is not allowed"},
    {"pkcs11:object=k?module-path=lib.so", 0, "pkcs11: URI: module-path must be an absolute path"},
    {"pkcs11:object=k?pin-source=1234", 0,
     "pkcs11: URI: pin-source: unknown PIN source (expected file:PATH, env:NAME, "
     "credential:NAME or prompt)"},
    {"pkcs11:object=k?pin-source=env:P&pin-value=1", 0,
     "pkcs11: URI: pin-source and pin-value exclude each other"},
    {"pkcs11:object=k?pin-value=se\"cret", 0,
     "pkcs11: URI: pin-value has a character that must be percent-encoded"},
    {"pkcs11:object=k?pin-value=1&pin-value=2", 0, "pkcs11: URI: attribute 'pin-value' repeated"},
    {"pkcs11:object=caf\xc3\xa9", 0,
     "key reference contains a blank, control or non-ASCII character (percent-encode it in a "
     "pkcs11: URI)"},
};

START_TEST(test_bad)
{
    const bad_case *c = &bad[_i];
    p11kms_client_uri uri;
    p11kms_client_err err = {"", 0};

    ck_assert_msg(p11kms_client_uri_parse(c->text, c->flags, &uri, &err) == 0, "accepted: %s",
                  c->text);
    ck_assert_ptr_null(uri.pkcs11);
    ck_assert_str_eq(err.msg, c->message);
    ck_assert_ptr_null(strstr(err.msg, "se\"cret"));
}
END_TEST

/* Matching -------------------------------------------------------------------- */

static void pad(CK_UTF8CHAR *field, size_t n, const char *text)
{
    memset(field, ' ', n);
    memcpy(field, text, strlen(text));
}

START_TEST(test_match_token)
{
    CK_TOKEN_INFO token;
    CK_SLOT_INFO slot;
    CK_INFO module;
    p11kms_client_uri uri;
    p11kms_client_err err = {"", 0};
    CK_ULONG n;
    CK_ATTRIBUTE *tmpl;

    memset(&token, 0, sizeof(token));
    memset(&slot, 0, sizeof(slot));
    memset(&module, 0, sizeof(module));
    pad(token.label, sizeof(token.label), "My Token");
    pad(token.manufacturerID, sizeof(token.manufacturerID), "p11kms");
    pad(token.model, sizeof(token.model), "p11kms");
    pad(token.serialNumber, sizeof(token.serialNumber), "0011223344556677");
    pad(slot.slotDescription, sizeof(slot.slotDescription), "slot one");
    pad(slot.manufacturerID, sizeof(slot.manufacturerID), "p11kms");
    pad(module.manufacturerID, sizeof(module.manufacturerID), "p11kms");
    pad(module.libraryDescription, sizeof(module.libraryDescription), "p11kms module");

    ck_assert_int_eq(
        p11kms_client_uri_parse("pkcs11:token=My%20Token;object=k;type=private", 0, &uri, &err), 1);
    ck_assert_int_eq(p11kms_client_uri_match_token(&uri, &module, 0, &slot, &token), 1);
    tmpl = p11kms_client_uri_template(&uri, &n);
    ck_assert_uint_eq(n, 2); /* CKA_LABEL and CKA_CLASS; token= is not an object attribute */
    ck_assert_ptr_nonnull(tmpl);
    p11kms_client_uri_free(&uri);

    ck_assert_int_eq(p11kms_client_uri_parse("pkcs11:token=My%20Tok", 0, &uri, &err), 1);
    ck_assert_int_eq(p11kms_client_uri_match_token(&uri, &module, 0, &slot, &token), 0);
    p11kms_client_uri_free(&uri);

    ck_assert_int_eq(p11kms_client_uri_parse("pkcs11:slot-id=2", 0, &uri, &err), 1);
    ck_assert_int_eq(p11kms_client_uri_match_token(&uri, &module, 1, &slot, &token), 0);
    ck_assert_int_eq(p11kms_client_uri_match_token(&uri, &module, 2, &slot, &token), 1);
    p11kms_client_uri_free(&uri);

    ck_assert_int_eq(
        p11kms_client_uri_parse("pkcs11:library-description=other;token=My%20Token", 0, &uri, &err),
        1);
    ck_assert_int_eq(p11kms_client_uri_match_token(&uri, &module, 0, &slot, &token), 0);
    p11kms_client_uri_free(&uri);

    ck_assert_int_eq(p11kms_client_uri_parse("pkcs11:serial=0011223344556677;slot-description="
                                             "slot%20one",
                                             0, &uri, &err),
                     1);
    ck_assert_int_eq(p11kms_client_uri_match_token(&uri, &module, 0, &slot, &token), 1);
    p11kms_client_uri_free(&uri);

    /* p11kms: URIs carry no token information: they match every token. */
    ck_assert_int_eq(p11kms_client_uri_parse("p11kms:alias/x", 0, &uri, &err), 1);
    ck_assert_int_eq(p11kms_client_uri_match_token(&uri, &module, 0, &slot, &token), 1);
    ck_assert_ptr_null(p11kms_client_uri_template(&uri, &n));
    ck_assert_uint_eq(n, 0);
    p11kms_client_uri_free(&uri);
}
END_TEST

static Suite *uri_suite(void)
{
    Suite *s = suite_create("uri");
    TCase *tc = tcase_create("uri");

    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_test(tc, test_query_fields);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_match_token);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(uri_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
