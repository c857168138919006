/* tests/kms/test-kms.c — the symmetric engine (issue 4): metadata, aliases,
 * states, deletion, rotation (including under libfaketime and between
 * concurrent processes), envelope encryption and its error classes, data
 * keys, ReEncrypt, raw routes, service keys, search, policies, and one
 * audit record per call. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "kms/envelope.h"
#include "kms/kms.h"
#include "store/audit.h"
#include "store/store.h"
#include "tests/kms/kms-testutil.h"

#define SYM P11KMS_KMS_SPEC_SYMMETRIC_DEFAULT
#define ED  P11KMS_KMS_USAGE_ENCRYPT_DECRYPT
#define SD  P11KMS_KMS_ENC_SYMMETRIC_DEFAULT

static const p11kms_kms_ec_pair ctx_pairs[] = {{"tenant", "a"}, {"purpose", "t"}};
static const p11kms_kms_context ctx = {ctx_pairs, 2};

static p11kms_kms_rc enc(const char *ref, const char *msg, const p11kms_kms_context *c,
                         p11kms_kms_bytes *out, uint32_t *ver)
{
    return p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, ref, (const uint8_t *)msg, strlen(msg), c,
                              SD, out, ver);
}

static p11kms_kms_rc dec(const char *ref, const p11kms_kms_bytes *ct, const p11kms_kms_context *c,
                         p11kms_kms_bytes *out)
{
    return p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, ref, ct->data, ct->len, c, SD, out, NULL);
}

static uint32_t current_version(const char *id)
{
    p11kms_kms_key_meta m;
    uint32_t v;

    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, id, &m), P11KMS_KMS_OK);
    v = m.current_version;
    p11kms_kms_key_meta_clear(&m);
    return v;
}

/* ---- metadata, listing ------------------------------------------------------ */

START_TEST(test_create_describe)
{
    p11kms_kms_create_params p;
    p11kms_kms_key_meta m, d;
    int64_t now = p11kms_time_now_ms();

    memset(&p, 0, sizeof(p));
    p.spec = SYM;
    p.usage = ED;
    p.description = "orders db";
    p.app_id = (const uint8_t *)"\x01\x02";
    p.app_id_len = 2;
    KT_AUDITED(1,
               ck_assert_int_eq(p11kms_kms_create_key(kt.kms, &kt.caller, &p, &m), P11KMS_KMS_OK));
    ck_assert_int_eq(strlen(m.key_id), 36);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, m.key_id, &d),
                                   P11KMS_KMS_OK));
    ck_assert_str_eq(d.key_id, m.key_id);
    ck_assert(d.enabled);
    ck_assert_int_eq(d.state, P11KMS_KMS_STATE_ENABLED);
    ck_assert_int_eq(d.spec, SYM);
    ck_assert_int_eq(d.usage, ED);
    ck_assert_int_eq(d.manager, P11KMS_KMS_MANAGER_CUSTOMER);
    ck_assert_int_eq(d.origin, P11KMS_KMS_ORIGIN_P11KMS);
    ck_assert_str_eq(d.description, "orders db");
    ck_assert_int_eq(d.deletion_date_ms, 0);
    ck_assert_uint_eq(d.current_version, 1);
    ck_assert(!d.rotation_enabled);
    ck_assert_uint_eq(d.encryption_algorithms, 1u << SD);
    ck_assert(d.creation_date_ms >= now - 5000 && d.creation_date_ms <= now + 5000);
    ck_assert_uint_eq(d.app_id_len, 2);
    ck_assert_mem_eq(d.app_id, "\x01\x02", 2);
    p11kms_kms_key_meta_clear(&m);
    p11kms_kms_key_meta_clear(&d);
}
END_TEST

START_TEST(test_spec_usage_matrix)
{
    p11kms_kms_create_params p;

    memset(&p, 0, sizeof(p));
    p.spec = SYM;
    p.usage = P11KMS_KMS_USAGE_SIGN_VERIFY;
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_create_key(kt.kms, &kt.caller, &p, NULL),
                                   P11KMS_KMS_VALIDATION));
    p.spec = P11KMS_KMS_SPEC_ECC_NIST_P256;
    p.usage = ED;
    ck_assert_int_eq(p11kms_kms_create_key(kt.kms, &kt.caller, &p, NULL), P11KMS_KMS_VALIDATION);
    p.spec = P11KMS_KMS_SPEC_HMAC_256;
    p.usage = P11KMS_KMS_USAGE_SIGN_VERIFY;
    ck_assert_int_eq(p11kms_kms_create_key(kt.kms, &kt.caller, &p, NULL), P11KMS_KMS_VALIDATION);
    ck_assert(p11kms_kms_spec_usage_allowed(P11KMS_KMS_SPEC_RSA_2048, ED));
    ck_assert(
        p11kms_kms_spec_usage_allowed(P11KMS_KMS_SPEC_RSA_2048, P11KMS_KMS_USAGE_SIGN_VERIFY));
}
END_TEST

START_TEST(test_list_keys_pages)
{
    char id[37];
    p11kms_kms_key_list l;
    char *marker = NULL;
    size_t total = 0;
    int pages = 0;

    for (int i = 0; i < 5; i++)
        kt_create(SYM, ED, id);
    do {
        KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_list_keys(kt.kms, &kt.caller, 2, marker, &l),
                                       P11KMS_KMS_OK));
        free(marker);
        marker = l.next_marker ? strdup(l.next_marker) : NULL;
        total += l.n;
        pages++;
        ck_assert_uint_le(l.n, 2);
        p11kms_kms_key_list_clear(&l);
    } while (marker != NULL);
    ck_assert_uint_eq(total, 5);
    ck_assert_int_ge(pages, 3);
    ck_assert_int_eq(p11kms_kms_list_keys(kt.kms, &kt.caller, 2, "garbage", &l),
                     P11KMS_KMS_INVALID_MARKER);
    ck_assert_int_eq(p11kms_kms_list_keys(kt.kms, &kt.caller, 1001, NULL, &l),
                     P11KMS_KMS_VALIDATION);
}
END_TEST

START_TEST(test_not_logged_in)
{
    char id[37];
    p11kms_kms_bytes ct = {NULL, 0};

    p11kms_kms_key *h = NULL;

    kt_create(SYM, ED, id);
    ck_assert_int_eq(p11kms_kms_key_open(kt.kms, id, &h), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, h, NULL, (const uint8_t *)"a", 1, NULL,
                                        SD, &ct, NULL),
                     P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    ck_assert_int_eq(p11kms_kms_logout(kt.kms, &kt.caller), P11KMS_KMS_OK);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, h, NULL,
                                                      (const uint8_t *)"a", 1, NULL, SD, &ct, NULL),
                                   P11KMS_KMS_NOT_LOGGED_IN));
    KT_AUDITED(1, ck_assert_int_eq(enc(id, "x", NULL, &ct, NULL), P11KMS_KMS_NOT_LOGGED_IN));
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_login(kt.kms, &kt.caller, P11KMS_KMS_USER_USER,
                                                    "wrong-pin-123", 13),
                                   P11KMS_KMS_PIN_INCORRECT));
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_login(kt.kms, &kt.caller, P11KMS_KMS_USER_USER,
                                                    KT_USER_PIN, strlen(KT_USER_PIN)),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(enc(id, "x", NULL, &ct, NULL), P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, h, NULL, (const uint8_t *)"a", 1, NULL,
                                        SD, &ct, NULL),
                     P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_key_release(h);
}
END_TEST

START_TEST(test_login_keyfile)
{
    char keyfile[400], id[37];
    p11kms_store *st = NULL;
    p11kms_kms *k2;

    snprintf(keyfile, sizeof(keyfile), "%s/service.key", kt.dir);
    ck_assert_int_eq(p11kms_store_open(kt.path, NULL, &st), P11KMS_STORE_OK);
    ck_assert_int_eq(
        p11kms_store_login(st, P11KMS_STORE_USER_USER, KT_USER_PIN, strlen(KT_USER_PIN)),
        P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_service_key_create(st, keyfile), P11KMS_STORE_OK);
    p11kms_store_close(st);
    k2 = kt_open(0);
    KT_AUDITED(1,
               ck_assert_int_eq(p11kms_kms_login_keyfile(k2, &kt.caller, keyfile), P11KMS_KMS_OK));
    ck_assert_int_eq(p11kms_kms_logged_in(k2), P11KMS_KMS_USER_USER);
    p11kms_kms_close(kt.kms);
    kt.kms = k2;
    kt_create(SYM, ED, id);
}
END_TEST

START_TEST(test_token_info)
{
    p11kms_kms_token_info ti;
    p11kms_kms *fresh;
    char path[400];

    ck_assert_int_eq(p11kms_kms_token_info_get(kt.kms, &ti), P11KMS_KMS_OK);
    ck_assert(ti.initialized && ti.user_pin_set && ti.store_exists);
    ck_assert_str_eq(ti.label, "kms-test");
    ck_assert_int_eq(ti.logged_in, P11KMS_KMS_USER_USER);
    /* An engine on a missing store reads nothing and creates nothing. */
    snprintf(path, sizeof(path), "%s/absent.db", kt.dir);
    {
        p11kms_kms_options o;
        memset(&o, 0, sizeof(o));
        o.store_path = path;
        ck_assert_int_eq(p11kms_kms_open(&o, &fresh), P11KMS_KMS_OK);
    }
    ck_assert_int_eq(p11kms_kms_token_info_get(fresh, &ti), P11KMS_KMS_OK);
    ck_assert(!ti.store_exists && !ti.initialized);
    ck_assert_int_ne(access(path, F_OK), 0);
    p11kms_kms_close(fresh);
}
END_TEST

/* ---- aliases ---------------------------------------------------------------- */

START_TEST(test_aliases)
{
    char a[37], b[37];
    p11kms_kms_bytes ct = {NULL, 0}, pt = {NULL, 0};
    p11kms_kms_key_meta m;
    p11kms_kms_alias_list l;

    kt_create(SYM, ED, a);
    kt_create(SYM, ED, b);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/app-1", a),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/app-1", b),
                     P11KMS_KMS_ALREADY_EXISTS);
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "app-2", a),
                     P11KMS_KMS_INVALID_ALIAS_NAME);
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/bad name", a),
                     P11KMS_KMS_INVALID_ALIAS_NAME);
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/", a),
                     P11KMS_KMS_INVALID_ALIAS_NAME);
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/p11kms/mine", a),
                     P11KMS_KMS_INVALID_ALIAS_NAME);
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/x", "alias/app-1"),
                     P11KMS_KMS_VALIDATION);
    /* Case-sensitive: alias/APP-1 is another alias. */
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/APP-1", b), P11KMS_KMS_OK);
    /* Accepted for use and describe ... */
    ck_assert_int_eq(enc("alias/app-1", "hi", NULL, &ct, NULL), P11KMS_KMS_OK);
    ck_assert_int_eq(dec(NULL, &ct, NULL, &pt), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, "alias/app-1", &m),
                     P11KMS_KMS_OK);
    ck_assert_str_eq(m.key_id, a);
    ck_assert_str_eq(m.first_alias, "alias/app-1");
    p11kms_kms_key_meta_clear(&m);
    /* ... refused by management calls. */
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_disable_key(kt.kms, &kt.caller, NULL, "alias/app-1"),
                                   P11KMS_KMS_NOT_FOUND));
    ck_assert_int_eq(p11kms_kms_update_alias(kt.kms, &kt.caller, "alias/app-1", b), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, "alias/app-1", &m),
                     P11KMS_KMS_OK);
    ck_assert_str_eq(m.key_id, b);
    p11kms_kms_key_meta_clear(&m);
    ck_assert_int_eq(p11kms_kms_list_aliases(kt.kms, &kt.caller, NULL, 0, NULL, &l), P11KMS_KMS_OK);
    ck_assert_uint_eq(l.n, 2);
    p11kms_kms_alias_list_clear(&l);
    ck_assert_int_eq(p11kms_kms_list_aliases(kt.kms, &kt.caller, b, 1, NULL, &l), P11KMS_KMS_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_ptr_nonnull(l.next_marker);
    p11kms_kms_alias_list_clear(&l);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_delete_alias(kt.kms, &kt.caller, "alias/app-1"),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, "alias/app-1", &m),
                     P11KMS_KMS_NOT_FOUND);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&pt);
}
END_TEST

/* ---- states and deletion ---------------------------------------------------- */

START_TEST(test_states)
{
    char id[37], other[37];
    p11kms_kms_bytes ct = {NULL, 0}, ct2 = {NULL, 0}, pt = {NULL, 0};
    int64_t when = 0, now = p11kms_time_now_ms();
    p11kms_kms_key_meta m;

    kt_create(SYM, ED, id);
    kt_create(SYM, ED, other);
    ck_assert_int_eq(enc(id, "secret", &ctx, &ct, NULL), P11KMS_KMS_OK);
    KT_AUDITED(
        1, ck_assert_int_eq(p11kms_kms_disable_key(kt.kms, &kt.caller, NULL, id), P11KMS_KMS_OK));
    KT_AUDITED(1, ck_assert_int_eq(enc(id, "x", NULL, &ct2, NULL), P11KMS_KMS_DISABLED));
    ck_assert_int_eq(dec(NULL, &ct, &ctx, &pt), P11KMS_KMS_DISABLED);
    ck_assert_int_eq(p11kms_kms_enable_key(kt.kms, &kt.caller, NULL, id), P11KMS_KMS_OK);
    ck_assert_int_eq(dec(NULL, &ct, &ctx, &pt), P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&pt);
    ck_assert_int_eq(p11kms_kms_schedule_key_deletion(kt.kms, &kt.caller, NULL, id, 6, NULL),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_schedule_key_deletion(kt.kms, &kt.caller, NULL, id, 31, NULL),
                     P11KMS_KMS_VALIDATION);
    KT_AUDITED(1, ck_assert_int_eq(
                      p11kms_kms_schedule_key_deletion(kt.kms, &kt.caller, NULL, id, 0, &when),
                      P11KMS_KMS_OK));
    ck_assert(when >= now + 30 * P11KMS_MS_PER_DAY - 5000 &&
              when <= now + 30 * P11KMS_MS_PER_DAY + 5000);
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, id, &m), P11KMS_KMS_OK);
    ck_assert_int_eq(m.state, P11KMS_KMS_STATE_PENDING_DELETION);
    ck_assert_int_eq(m.deletion_date_ms, when);
    ck_assert_uint_eq(m.pending_window_days, 30);
    p11kms_kms_key_meta_clear(&m);
    ck_assert_int_eq(enc(id, "x", NULL, &ct2, NULL), P11KMS_KMS_INVALID_STATE);
    ck_assert_int_eq(dec(NULL, &ct, &ctx, &pt), P11KMS_KMS_INVALID_STATE);
    ck_assert_int_eq(p11kms_kms_enable_key(kt.kms, &kt.caller, NULL, id), P11KMS_KMS_INVALID_STATE);
    ck_assert_int_eq(p11kms_kms_schedule_key_deletion(kt.kms, &kt.caller, NULL, id, 7, NULL),
                     P11KMS_KMS_INVALID_STATE);
    /* A pending-deletion key may be the source of a ReEncrypt, not its target. */
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_re_encrypt(kt.kms, &kt.caller, ct.data, ct.len, &ctx,
                                                         NULL, NULL, NULL, other, NULL, &ct2),
                                   P11KMS_KMS_OK));
    p11kms_kms_bytes_clear(&ct2);
    ck_assert_int_eq(p11kms_kms_re_encrypt(kt.kms, &kt.caller, ct.data, ct.len, &ctx, NULL, NULL,
                                           NULL, id, NULL, &ct2),
                     P11KMS_KMS_INVALID_STATE);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_cancel_key_deletion(kt.kms, &kt.caller, NULL, id),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, id, &m), P11KMS_KMS_OK);
    ck_assert_int_eq(m.state, P11KMS_KMS_STATE_DISABLED);
    ck_assert_int_eq(m.deletion_date_ms, 0);
    p11kms_kms_key_meta_clear(&m);
    ck_assert_int_eq(p11kms_kms_cancel_key_deletion(kt.kms, &kt.caller, NULL, id),
                     P11KMS_KMS_INVALID_STATE);
    p11kms_kms_bytes_clear(&ct);
}
END_TEST

START_TEST(test_deletion_run_due)
{
    char id[37], keep[37], out[128];
    uint8_t mat[64];
    size_t mlen;
    char wal[400];

    kt_create(SYM, ED, id);
    kt_create(SYM, ED, keep);
    mlen = kt_material(id, 1, mat, sizeof(mat));
    ck_assert_uint_eq(mlen, 32);
    ck_assert_int_eq(p11kms_kms_schedule_key_deletion(kt.kms, &kt.caller, NULL, id, 7, NULL),
                     P11KMS_KMS_OK);
    /* Before the window ends nothing happens. */
    ck_assert_int_eq(kt_tool("+6d", "run-due", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0 0 0");
    /* A data call past the window never destroys. */
    ck_assert_int_eq(kt_tool("+8d", "encrypt", NULL, 0), 2);
    {
        char args[64];
        snprintf(args, sizeof(args), "encrypt %s", id);
        ck_assert_int_eq(kt_tool("+8d", args, NULL, 0), 1);
        snprintf(args, sizeof(args), "describe %s", id);
        ck_assert_int_eq(kt_tool("+8d", args, out, sizeof(out)), 0);
        ck_assert_str_eq(out, "PendingDeletion");
    }
    ck_assert_int_eq(kt_tool("+8d", "run-due", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0 1 0");
    ck_assert_int_eq(kt_tool("+9d", "run-due", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0 0 0");
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, id, NULL),
                     P11KMS_KMS_NOT_FOUND);
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, keep, NULL), P11KMS_KMS_OK);
    p11kms_kms_close(kt.kms);
    kt.kms = NULL;
    snprintf(wal, sizeof(wal), "%s-wal", kt.path);
    ck_assert(!kt_file_contains(kt.path, mat, mlen));
    ck_assert(!kt_file_contains(wal, mat, mlen));
    kt.kms = kt_open(0);
}
END_TEST

/* ---- rotation --------------------------------------------------------------- */

START_TEST(test_rotation_settings)
{
    char id[37];
    p11kms_kms_rotation_status s;
    int64_t now = p11kms_time_now_ms();

    kt_create(SYM, ED, id);
    KT_AUDITED(
        1, ck_assert_int_eq(p11kms_kms_get_key_rotation_status(kt.kms, &kt.caller, NULL, id, &s),
                            P11KMS_KMS_OK));
    ck_assert(!s.enabled);
    ck_assert_int_eq(s.next_rotation_ms, 0);
    ck_assert_int_eq(p11kms_kms_enable_key_rotation(kt.kms, &kt.caller, NULL, id, 89),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_enable_key_rotation(kt.kms, &kt.caller, NULL, id, 2561),
                     P11KMS_KMS_VALIDATION);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_enable_key_rotation(kt.kms, &kt.caller, NULL, id, 0),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(p11kms_kms_get_key_rotation_status(kt.kms, &kt.caller, NULL, id, &s),
                     P11KMS_KMS_OK);
    ck_assert(s.enabled);
    ck_assert_uint_eq(s.period_days, 365);
    ck_assert(s.next_rotation_ms >= now + 365 * P11KMS_MS_PER_DAY - 5000 &&
              s.next_rotation_ms <= now + 365 * P11KMS_MS_PER_DAY + 5000);
    ck_assert_int_eq(p11kms_kms_disable_key_rotation(kt.kms, &kt.caller, NULL, id), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_get_key_rotation_status(kt.kms, &kt.caller, NULL, id, &s),
                     P11KMS_KMS_OK);
    ck_assert(!s.enabled);
}
END_TEST

START_TEST(test_rotation_keeps_old_versions)
{
    char id[37];
    p11kms_kms_bytes v1 = {NULL, 0}, ct = {NULL, 0}, pt = {NULL, 0};
    p11kms_kms_rotation_list rl;
    uint32_t ver = 0, nv = 0;

    kt_create(SYM, ED, id);
    ck_assert_int_eq(enc(id, "made under v1", &ctx, &v1, &ver), P11KMS_KMS_OK);
    ck_assert_uint_eq(ver, 1);
    for (uint32_t i = 2; i <= 4; i++) {
        KT_AUDITED(
            1, ck_assert_int_eq(p11kms_kms_rotate_key_on_demand(kt.kms, &kt.caller, NULL, id, &nv),
                                P11KMS_KMS_OK));
        ck_assert_uint_eq(nv, i);
    }
    ck_assert_int_eq(dec(NULL, &v1, &ctx, &pt), P11KMS_KMS_OK);
    ck_assert_uint_eq(pt.len, 13);
    ck_assert_mem_eq(pt.data, "made under v1", 13);
    ck_assert_int_eq(enc(id, "new", NULL, &ct, &ver), P11KMS_KMS_OK);
    ck_assert_uint_eq(ver, 4);
    ck_assert_int_eq(p11kms_kms_list_key_rotations(kt.kms, &kt.caller, NULL, id, 0, NULL, &rl),
                     P11KMS_KMS_OK);
    ck_assert_uint_eq(rl.n, 3);
    ck_assert_uint_eq(rl.entries[0].version, 2);
    p11kms_kms_rotation_list_clear(&rl);
    ck_assert_int_eq(p11kms_kms_list_key_rotations(kt.kms, &kt.caller, NULL, id, 2, NULL, &rl),
                     P11KMS_KMS_OK);
    ck_assert_uint_eq(rl.n, 2);
    ck_assert_ptr_nonnull(rl.next_marker);
    p11kms_kms_rotation_list_clear(&rl);
    p11kms_kms_bytes_clear(&v1);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&pt);
}
END_TEST

START_TEST(test_rotation_due_under_faketime)
{
    char id[37], args[64], out[64];
    uint64_t before;

    kt_create(SYM, ED, id);
    ck_assert_int_eq(p11kms_kms_enable_key_rotation(kt.kms, &kt.caller, NULL, id, 0),
                     P11KMS_KMS_OK);
    snprintf(args, sizeof(args), "encrypt %s", id);
    ck_assert_int_eq(kt_tool("+364d", args, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "1");
    before = kt_audit_count();
    ck_assert_int_eq(kt_tool("+366d", args, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "2");
    /* Login + RotateKey service event + Encrypt. */
    ck_assert_uint_eq(kt_audit_count() - before, 3);
    ck_assert_int_eq(kt_tool("+366d", args, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "2");
    ck_assert_uint_eq(current_version(id), 2);
}
END_TEST

START_TEST(test_rotation_once_across_processes)
{
    char id[37], args[64];
    pid_t pids[4];
    int st;

    kt_create(SYM, ED, id);
    ck_assert_int_eq(p11kms_kms_enable_key_rotation(kt.kms, &kt.caller, NULL, id, 90),
                     P11KMS_KMS_OK);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            snprintf(args, sizeof(args), i % 2 ? "encrypt %s" : "run-due", id);
            _exit(kt_tool("+91d", i % 2 ? args : "run-due", NULL, 0));
        }
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_uint_eq(current_version(id), 2);
}
END_TEST

START_TEST(test_disabled_keys_do_not_rotate)
{
    char id[37], args[64], out[64];

    kt_create(SYM, ED, id);
    ck_assert_int_eq(p11kms_kms_enable_key_rotation(kt.kms, &kt.caller, NULL, id, 0),
                     P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_disable_key(kt.kms, &kt.caller, NULL, id), P11KMS_KMS_OK);
    ck_assert_int_eq(kt_tool("+400d", "run-due", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0 0 0");
    ck_assert_uint_eq(current_version(id), 1);
    /* Re-enabling an overdue key rotates it. */
    snprintf(args, sizeof(args), "enable %s", id);
    ck_assert_int_eq(kt_tool("+400d", args, NULL, 0), 0);
    ck_assert_uint_eq(current_version(id), 2);
    ck_assert_int_eq(kt_tool("+401d", "run-due", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0 0 0");
}
END_TEST

START_TEST(test_rotate_new_keys_option)
{
    char id[37];
    p11kms_kms_rotation_status s;

    kt_create(SYM, ED, id);
    ck_assert_int_eq(p11kms_kms_get_key_rotation_status(kt.kms, &kt.caller, NULL, id, &s),
                     P11KMS_KMS_OK);
    ck_assert(s.enabled);
    ck_assert_uint_eq(s.period_days, 365);
    kt_create(P11KMS_KMS_SPEC_HMAC_256, P11KMS_KMS_USAGE_GENERATE_VERIFY_MAC, id);
    ck_assert_int_eq(p11kms_kms_get_key_rotation_status(kt.kms, &kt.caller, NULL, id, &s),
                     P11KMS_KMS_UNSUPPORTED);
}
END_TEST

START_TEST(test_service_key)
{
    char id[37], id2[37];
    p11kms_kms_key_meta m;
    p11kms_kms_bytes ct = {NULL, 0};

    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_service_key(kt.kms, &kt.caller, "sqlite", id),
                                   P11KMS_KMS_OK));
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_service_key(kt.kms, &kt.caller, "sqlite", id2),
                                   P11KMS_KMS_OK));
    ck_assert_str_eq(id, id2);
    ck_assert_int_eq(p11kms_kms_service_key(kt.kms, &kt.caller, "Bad Name", id2),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &kt.caller, NULL, "alias/p11kms/sqlite", &m),
                     P11KMS_KMS_OK);
    ck_assert_str_eq(m.key_id, id);
    ck_assert_int_eq(m.manager, P11KMS_KMS_MANAGER_SERVICE);
    ck_assert(m.rotation_enabled);
    p11kms_kms_key_meta_clear(&m);
    ck_assert_int_eq(enc("alias/p11kms/sqlite", "page key", NULL, &ct, NULL), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_disable_key_rotation(kt.kms, &kt.caller, NULL, id),
                     P11KMS_KMS_UNSUPPORTED);
    ck_assert_int_eq(p11kms_kms_schedule_key_deletion(kt.kms, &kt.caller, NULL, id, 7, NULL),
                     P11KMS_KMS_UNSUPPORTED);
    ck_assert_int_eq(p11kms_kms_put_key_policy(kt.kms, &kt.caller, NULL, id, "default", "{}", 1),
                     P11KMS_KMS_UNSUPPORTED);
    p11kms_kms_bytes_clear(&ct);
}
END_TEST

/* ---- envelope encryption ---------------------------------------------------- */

START_TEST(test_encrypt_roundtrip_and_limits)
{
    char id[37];
    uint8_t big[4097];
    p11kms_kms_bytes ct = {NULL, 0}, pt = {NULL, 0};
    const p11kms_kms_ec_pair rev[] = {{"purpose", "t"}, {"tenant", "a"}};
    const p11kms_kms_context ctx_rev = {rev, 2};
    char kid[37];

    kt_create(SYM, ED, id);
    memset(big, 'A', sizeof(big));
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, big, 4096, &ctx,
                                                      SD, &ct, NULL),
                                   P11KMS_KMS_OK));
    ck_assert_uint_eq(ct.len, p11kms_kms_envelope_blob_len(4096));
    /* Context order does not matter. */
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, NULL, ct.data,
                                                      ct.len, &ctx_rev, SD, &pt, kid),
                                   P11KMS_KMS_OK));
    ck_assert_str_eq(kid, id);
    ck_assert_uint_eq(pt.len, 4096);
    ck_assert_mem_eq(pt.data, big, 4096);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&pt);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, big, 4097, NULL,
                                                      SD, &ct, NULL),
                                   P11KMS_KMS_VALIDATION));
    ck_assert_ptr_null(ct.data);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, big, 0, NULL, SD, &ct, NULL),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, NULL, id, big, 10, NULL,
                                        P11KMS_KMS_ENC_RSAES_OAEP_SHA_256, &ct, NULL),
                     P11KMS_KMS_INVALID_KEY_USAGE);
    ck_assert_int_eq(enc("no-such-alias", "x", NULL, &ct, NULL), P11KMS_KMS_NOT_FOUND);
}
END_TEST

static p11kms_kms_rc dec_bytes(const uint8_t *b, size_t n, const p11kms_kms_context *c)
{
    p11kms_kms_bytes pt = {NULL, 0};
    p11kms_kms_rc rc = p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, NULL, b, n, c, SD, &pt, NULL);

    p11kms_kms_bytes_clear(&pt);
    return rc;
}

START_TEST(test_malformed_blob_errors)
{
    char id[37], other[37];
    p11kms_kms_bytes ct = {NULL, 0}, pt = {NULL, 0};
    uint8_t buf[512];
    const p11kms_kms_ec_pair wrong[] = {{"tenant", "b"}, {"purpose", "t"}};
    const p11kms_kms_context wctx = {wrong, 2};

    kt_create(SYM, ED, id);
    kt_create(SYM, ED, other);
    ck_assert_int_eq(enc(id, "payload", &ctx, &ct, NULL), P11KMS_KMS_OK);
    memcpy(buf, ct.data, ct.len);
    KT_AUDITED(1, ck_assert_int_eq(dec_bytes((const uint8_t *)"xyz", 3, &ctx),
                                   P11KMS_KMS_INVALID_CIPHERTEXT));
    ck_assert_str_eq(p11kms_kms_last_detail(), "not a p11kms ciphertext blob (bad magic)");
    buf[4] = 9;
    ck_assert_int_eq(dec_bytes(buf, ct.len, &ctx), P11KMS_KMS_INVALID_CIPHERTEXT);
    ck_assert_str_eq(p11kms_kms_last_detail(), "unsupported ciphertext format version");
    buf[4] = 1;
    ck_assert_int_eq(dec_bytes(buf, ct.len - 1, &ctx), P11KMS_KMS_INVALID_CIPHERTEXT);
    ck_assert_str_eq(p11kms_kms_last_detail(), "truncated ciphertext blob");
    buf[ct.len] = 0;
    ck_assert_int_eq(dec_bytes(buf, ct.len + 1, &ctx), P11KMS_KMS_INVALID_CIPHERTEXT);
    ck_assert_str_eq(p11kms_kms_last_detail(), "trailing bytes after ciphertext blob");
    ck_assert_int_eq(dec_bytes(buf, ct.len, &wctx), P11KMS_KMS_INVALID_CIPHERTEXT);
    ck_assert_str_eq(p11kms_kms_last_detail(), "encryption context mismatch");
    ck_assert_int_eq(dec_bytes(buf, ct.len, NULL), P11KMS_KMS_INVALID_CIPHERTEXT);
    ck_assert_str_eq(p11kms_kms_last_detail(), "encryption context mismatch");
    buf[ct.len - 20] ^= 0x01;
    ck_assert_int_eq(dec_bytes(buf, ct.len, &ctx), P11KMS_KMS_INVALID_CIPHERTEXT);
    ck_assert_str_eq(p11kms_kms_last_detail(), "authentication failed");
    buf[ct.len - 20] ^= 0x01;
    buf[45] = 7; /* key version 7 does not exist */
    ck_assert_int_eq(dec_bytes(buf, ct.len, &ctx), P11KMS_KMS_INVALID_CIPHERTEXT);
    ck_assert_str_eq(p11kms_kms_last_detail(), "unknown key version");
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, other, ct.data,
                                                      ct.len, &ctx, SD, &pt, NULL),
                                   P11KMS_KMS_INCORRECT_KEY));
    ck_assert_int_eq(dec(id, &ct, &ctx, &pt), P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&pt);
    p11kms_kms_bytes_clear(&ct);
}
END_TEST

START_TEST(test_data_keys)
{
    char id[37];
    p11kms_kms_bytes pt = {NULL, 0}, ct = {NULL, 0}, back = {NULL, 0};

    kt_create(SYM, ED, id);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_generate_data_key(kt.kms, &kt.caller, NULL, id,
                                                                P11KMS_KMS_DATA_KEY_AES_256, 0,
                                                                &ctx, &pt, &ct),
                                   P11KMS_KMS_OK));
    ck_assert_uint_eq(pt.len, 32);
    ck_assert_int_eq(dec(NULL, &ct, &ctx, &back), P11KMS_KMS_OK);
    ck_assert_uint_eq(back.len, 32);
    ck_assert_mem_eq(back.data, pt.data, 32);
    p11kms_kms_bytes_clear(&pt);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&back);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_generate_data_key(kt.kms, &kt.caller, NULL, id,
                                                                P11KMS_KMS_DATA_KEY_NONE, 1024,
                                                                NULL, NULL, &ct),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(dec(NULL, &ct, NULL, &back), P11KMS_KMS_OK);
    ck_assert_uint_eq(back.len, 1024);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&back);
    ck_assert_int_eq(p11kms_kms_generate_data_key(kt.kms, &kt.caller, NULL, id,
                                                  P11KMS_KMS_DATA_KEY_AES_128, 0, NULL, &pt, &ct),
                     P11KMS_KMS_OK);
    ck_assert_uint_eq(pt.len, 16);
    p11kms_kms_bytes_clear(&pt);
    p11kms_kms_bytes_clear(&ct);
    ck_assert_int_eq(p11kms_kms_generate_data_key(kt.kms, &kt.caller, NULL, id,
                                                  P11KMS_KMS_DATA_KEY_NONE, 1025, NULL, &pt, &ct),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_generate_data_key(kt.kms, &kt.caller, NULL, id,
                                                  P11KMS_KMS_DATA_KEY_NONE, 0, NULL, &pt, &ct),
                     P11KMS_KMS_VALIDATION);
    ck_assert_int_eq(p11kms_kms_generate_data_key(kt.kms, &kt.caller, NULL, id,
                                                  P11KMS_KMS_DATA_KEY_AES_256, 32, NULL, &pt, &ct),
                     P11KMS_KMS_VALIDATION);
    ck_assert_ptr_null(pt.data);
    ck_assert_ptr_null(ct.data);
}
END_TEST

START_TEST(test_re_encrypt)
{
    char a[37], b[37], kid[37];
    p11kms_kms_bytes ct = {NULL, 0}, ct2 = {NULL, 0}, pt = {NULL, 0};
    const p11kms_kms_ec_pair np[] = {{"new", "ctx"}};
    const p11kms_kms_context nctx = {np, 1};

    kt_create(SYM, ED, a);
    kt_create(SYM, ED, b);
    ck_assert_int_eq(enc(a, "moving", &ctx, &ct, NULL), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_re_encrypt(kt.kms, &kt.caller, ct.data, ct.len, &nctx, NULL, NULL,
                                           NULL, b, &nctx, &ct2),
                     P11KMS_KMS_INVALID_CIPHERTEXT);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_re_encrypt(kt.kms, &kt.caller, ct.data, ct.len, &ctx,
                                                         NULL, NULL, NULL, b, &nctx, &ct2),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(
        p11kms_kms_decrypt(kt.kms, &kt.caller, NULL, NULL, ct2.data, ct2.len, &nctx, SD, &pt, kid),
        P11KMS_KMS_OK);
    ck_assert_str_eq(kid, b);
    ck_assert_mem_eq(pt.data, "moving", 6);
    ck_assert_int_eq(p11kms_kms_re_encrypt(kt.kms, &kt.caller, ct.data, ct.len, &ctx, NULL, b, NULL,
                                           a, NULL, &ct2),
                     P11KMS_KMS_INCORRECT_KEY);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&ct2);
    p11kms_kms_bytes_clear(&pt);
}
END_TEST

START_TEST(test_raw_routes)
{
    char id[37];
    uint8_t iv[12] = {1, 2, 3}, iv16[16] = {9};
    p11kms_kms_raw_params p;
    p11kms_kms_bytes ct = {NULL, 0}, pt = {NULL, 0};

    kt_create(SYM, ED, id);
    memset(&p, 0, sizeof(p));
    p.alg = P11KMS_KMS_ENC_P11KMS_AES_GCM;
    p.iv = iv;
    p.iv_len = 12;
    p.aad = (const uint8_t *)"aad";
    p.aad_len = 3;
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_raw_encrypt(kt.kms, &kt.caller, NULL, id, &p,
                                                          (const uint8_t *)"raw data", 8, &ct),
                                   P11KMS_KMS_OK));
    ck_assert_uint_eq(ct.len, 8 + 16);
    ck_assert_int_eq(p11kms_kms_rotate_key_on_demand(kt.kms, &kt.caller, NULL, id, NULL),
                     P11KMS_KMS_OK);
    p.version = 1;
    ck_assert_int_eq(p11kms_kms_raw_decrypt(kt.kms, &kt.caller, NULL, id, &p, ct.data, ct.len, &pt),
                     P11KMS_KMS_OK);
    ck_assert_mem_eq(pt.data, "raw data", 8);
    p11kms_kms_bytes_clear(&pt);
    p.version = 2;
    ck_assert_int_eq(p11kms_kms_raw_decrypt(kt.kms, &kt.caller, NULL, id, &p, ct.data, ct.len, &pt),
                     P11KMS_KMS_INVALID_CIPHERTEXT);
    p11kms_kms_bytes_clear(&ct);
    p.version = 1;
    ck_assert_int_eq(
        p11kms_kms_raw_encrypt(kt.kms, &kt.caller, NULL, id, &p, (const uint8_t *)"x", 1, &ct),
        P11KMS_KMS_INVALID_KEY_USAGE);
    p.alg = P11KMS_KMS_ENC_P11KMS_AES_CBC_PAD;
    p.version = 0;
    p.iv = iv16;
    p.iv_len = 16;
    ck_assert_int_eq(p11kms_kms_raw_encrypt(kt.kms, &kt.caller, NULL, id, &p,
                                            (const uint8_t *)"0123456789abcdef", 16, &ct),
                     P11KMS_KMS_OK);
    ck_assert_uint_eq(ct.len, 32);
    ck_assert_int_eq(p11kms_kms_raw_decrypt(kt.kms, &kt.caller, NULL, id, &p, ct.data, ct.len, &pt),
                     P11KMS_KMS_OK);
    ck_assert_uint_eq(pt.len, 16);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&pt);
    p.alg = P11KMS_KMS_ENC_P11KMS_AES_KWP;
    ck_assert_int_eq(p11kms_kms_raw_encrypt(kt.kms, &kt.caller, NULL, id, &p,
                                            (const uint8_t *)"key bytes", 9, &ct),
                     P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_raw_decrypt(kt.kms, &kt.caller, NULL, id, &p, ct.data, ct.len, &pt),
                     P11KMS_KMS_OK);
    ck_assert_uint_eq(pt.len, 9);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_bytes_clear(&pt);
}
END_TEST

/* ---- caching across processes, search, policies ----------------------------- */

START_TEST(test_handle_sees_other_process)
{
    char id[37], args[64];
    p11kms_kms_key *h = NULL;
    p11kms_kms_bytes ct = {NULL, 0};

    kt_create(SYM, ED, id);
    ck_assert_int_eq(p11kms_kms_key_open(kt.kms, id, &h), P11KMS_KMS_OK);
    ck_assert_str_eq(p11kms_kms_key_id(h), id);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, h, NULL, (const uint8_t *)"a", 1, NULL,
                                        SD, &ct, NULL),
                     P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    snprintf(args, sizeof(args), "disable %s", id);
    ck_assert_int_eq(kt_tool(NULL, args, NULL, 0), 0);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, h, NULL, (const uint8_t *)"a", 1, NULL,
                                        SD, &ct, NULL),
                     P11KMS_KMS_DISABLED);
    snprintf(args, sizeof(args), "enable %s", id);
    ck_assert_int_eq(kt_tool(NULL, args, NULL, 0), 0);
    ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &kt.caller, h, NULL, (const uint8_t *)"a", 1, NULL,
                                        SD, &ct, NULL),
                     P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    p11kms_kms_key_release(h);
}
END_TEST

START_TEST(test_find)
{
    char a[37], b[37];
    p11kms_kms_create_params p;
    p11kms_kms_key_meta m;
    p11kms_kms_find_filter f;
    p11kms_kms_find_result r;

    memset(&p, 0, sizeof(p));
    p.spec = SYM;
    p.usage = ED;
    p.app_id = (const uint8_t *)"ID1";
    p.app_id_len = 3;
    p.app_label = (const uint8_t *)"my label";
    p.app_label_len = 8;
    ck_assert_int_eq(p11kms_kms_create_key(kt.kms, &kt.caller, &p, &m), P11KMS_KMS_OK);
    memcpy(a, m.key_id, 37);
    p11kms_kms_key_meta_clear(&m);
    kt_create(SYM, ED, b);
    ck_assert_int_eq(p11kms_kms_create_alias(kt.kms, &kt.caller, "alias/bee", b), P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_rotate_key_on_demand(kt.kms, &kt.caller, NULL, b, NULL),
                     P11KMS_KMS_OK);
    memset(&f, 0, sizeof(f));
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_find(kt.kms, &kt.caller, &f, &r), P11KMS_KMS_OK));
    ck_assert_uint_eq(r.n, 2);
    p11kms_kms_find_result_clear(&r);
    f.include_versions = 1;
    ck_assert_int_eq(p11kms_kms_find(kt.kms, &kt.caller, &f, &r), P11KMS_KMS_OK);
    ck_assert_uint_eq(r.n, 3);
    p11kms_kms_find_result_clear(&r);
    memset(&f, 0, sizeof(f));
    f.app_id = (const uint8_t *)"ID1";
    f.app_id_len = 3;
    ck_assert_int_eq(p11kms_kms_find(kt.kms, &kt.caller, &f, &r), P11KMS_KMS_OK);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.entries[0].key_id, a);
    p11kms_kms_find_result_clear(&r);
    memset(&f, 0, sizeof(f));
    f.app_label = (const uint8_t *)"alias/bee";
    f.app_label_len = 9;
    ck_assert_int_eq(p11kms_kms_find(kt.kms, &kt.caller, &f, &r), P11KMS_KMS_OK);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.entries[0].key_id, b);
    p11kms_kms_find_result_clear(&r);
    f.app_label = (const uint8_t *)"my label";
    f.app_label_len = 8;
    ck_assert_int_eq(p11kms_kms_find(kt.kms, &kt.caller, &f, &r), P11KMS_KMS_OK);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.entries[0].key_id, a);
    p11kms_kms_find_result_clear(&r);
    memset(&f, 0, sizeof(f));
    f.cls = P11KMS_KMS_FIND_ASYMMETRIC;
    ck_assert_int_eq(p11kms_kms_find(kt.kms, &kt.caller, &f, &r), P11KMS_KMS_OK);
    ck_assert_uint_eq(r.n, 0);
    p11kms_kms_find_result_clear(&r);
}
END_TEST

START_TEST(test_policies)
{
    char id[37], *doc = NULL, deny[512];
    p11kms_kms_bytes ct = {NULL, 0};
    uint64_t before;

    kt_create(SYM, ED, id);
    ck_assert_int_eq(p11kms_kms_get_key_policy(kt.kms, &kt.caller, NULL, id, "default", &doc),
                     P11KMS_KMS_OK);
    ck_assert_ptr_nonnull(strstr(doc, "kms:*"));
    free(doc);
    ck_assert_int_eq(p11kms_kms_put_key_policy(kt.kms, &kt.caller, NULL, id, "default",
                                               "{\"Version\":\"2012-10-17\",\"Statement\":[", 0),
                     P11KMS_KMS_MALFORMED_POLICY);
    /* A policy that locks the caller out is refused unless bypassed. */
    snprintf(deny, sizeof(deny),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"Unix\":\"uid:%u\"},\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"}]}",
             (unsigned)kt.caller.uid + 1);
    ck_assert_int_eq(p11kms_kms_put_key_policy(kt.kms, &kt.caller, NULL, id, "default", deny, 0),
                     P11KMS_KMS_MALFORMED_POLICY);
    snprintf(deny, sizeof(deny),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"Unix\":\"uid:%u\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
             "{\"Sid\":\"NoTenantB\",\"Effect\":\"Deny\",\"Principal\":{\"Unix\":\"*\"},"
             "\"Action\":\"kms:Encrypt\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
             "{\"kms:EncryptionContext:tenant\":\"b\"}}}]}",
             (unsigned)kt.caller.uid);
    ck_assert_int_eq(p11kms_kms_put_key_policy(kt.kms, &kt.caller, NULL, id, "default", deny, 0),
                     P11KMS_KMS_OK);
    ck_assert_int_eq(enc(id, "ok", &ctx, &ct, NULL), P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    {
        const p11kms_kms_ec_pair bp[] = {{"tenant", "b"}};
        const p11kms_kms_context bctx = {bp, 1};
        before = kt_audit_count();
        ck_assert_int_eq(enc(id, "no", &bctx, &ct, NULL), P11KMS_KMS_ACCESS_DENIED);
        ck_assert_uint_eq(kt_audit_count() - before, 1);
        ck_assert_ptr_nonnull(strstr(p11kms_kms_last_detail(), "kms:Encrypt"));
        /* the record names the deciding statement */
        ck_assert_ptr_nonnull(strstr(p11kms_kms_last_detail(), "Sid \"NoTenantB\""));
    }
}
END_TEST

/* An identity policy that no longer parses (a damaged or foreign row) must
 * not silently vanish from evaluation: it may hold a Deny.  Fail closed. */
START_TEST(test_identity_policy_unparsable_fails_closed)
{
    char id[37], principal[32];
    p11kms_caller other = kt.caller;
    p11kms_kms_bytes ct = {NULL, 0};
    p11kms_store *st = NULL;

    other.uid = kt.caller.uid + 1003;
    other.user[0] = '\0';
    other.ngroups = 0;
    kt_create(SYM, ED, id);
    snprintf(principal, sizeof(principal), "uid:%u", (unsigned)other.uid);
    ck_assert_int_eq(p11kms_kms_put_identity_policy(kt.kms, &kt.caller, principal,
                                                    "{\"Version\":\"2012-10-17\",\"Statement\":"
                                                    "[{\"Effect\":\"Allow\",\"Action\":"
                                                    "\"kms:Encrypt\",\"Resource\":\"*\"}]}"),
                     P11KMS_KMS_OK);
    ck_assert_int_eq(
        p11kms_kms_encrypt(kt.kms, &other, NULL, id, (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
        P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    ck_assert_int_eq(p11kms_store_open(kt.path, NULL, &st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_identity_policy_put(st, P11KMS_STORE_PRINCIPAL_UID, other.uid,
                                                      "default", "{\"Statement\": [oops",
                                                      p11kms_time_now_ms()),
                     P11KMS_STORE_OK);
    p11kms_store_close(st);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &other, NULL, id,
                                                      (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
                                   P11KMS_KMS_INTERNAL));
    ck_assert_ptr_null(ct.data);
}
END_TEST

START_TEST(test_grants_and_identity_policies)
{
    char id[37], principal[32], *gid = NULL, *tok = NULL, *list = NULL, *doc = NULL;
    p11kms_caller other = kt.caller, third = kt.caller;
    p11kms_kms_bytes ct = {NULL, 0};
    const char *ops[] = {"Encrypt"}, *ops2[] = {"Encrypt", "RetireGrant"};
    p11kms_kms_grant_params gp;
    p11kms_kms_create_params cp;

    other.uid = kt.caller.uid + 1001;
    other.user[0] = '\0';
    other.ngroups = 0;
    third.uid = kt.caller.uid + 1002;
    third.user[0] = '\0';
    third.ngroups = 0;
    kt_create(SYM, ED, id);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_encrypt(kt.kms, &other, NULL, id,
                                                      (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
                                   P11KMS_KMS_ACCESS_DENIED));
    memset(&cp, 0, sizeof(cp));
    ck_assert_int_eq(p11kms_kms_create_key(kt.kms, &other, &cp, NULL), P11KMS_KMS_ACCESS_DENIED);
    /* A grant allows, until revoked. */
    snprintf(principal, sizeof(principal), "uid:%u", (unsigned)other.uid);
    memset(&gp, 0, sizeof(gp));
    gp.grantee_principal = principal;
    gp.operations = ops;
    gp.n_operations = 1;
    KT_AUDITED(
        1, ck_assert_int_eq(p11kms_kms_create_grant(kt.kms, &kt.caller, NULL, id, &gp, &gid, &tok),
                            P11KMS_KMS_OK));
    ck_assert_int_eq(
        p11kms_kms_encrypt(kt.kms, &other, NULL, id, (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
        P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    ck_assert_int_eq(p11kms_kms_list_grants(kt.kms, &kt.caller, NULL, id, &list), P11KMS_KMS_OK);
    ck_assert_ptr_nonnull(strstr(list, gid));
    free(list);
    ck_assert_int_eq(p11kms_kms_revoke_grant(kt.kms, &kt.caller, NULL, id, "nope"),
                     P11KMS_KMS_INVALID_GRANT_ID);
    KT_AUDITED(1, ck_assert_int_eq(p11kms_kms_revoke_grant(kt.kms, &kt.caller, NULL, id, gid),
                                   P11KMS_KMS_OK));
    ck_assert_int_eq(
        p11kms_kms_encrypt(kt.kms, &other, NULL, id, (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
        P11KMS_KMS_ACCESS_DENIED);
    ck_assert_int_eq(p11kms_kms_retire_grant(kt.kms, &other, tok, NULL, NULL, NULL),
                     P11KMS_KMS_INVALID_GRANT_TOKEN);
    free(gid);
    free(tok);
    /* The grantee may retire a grant that lists RetireGrant, by its token. */
    gp.operations = ops2;
    gp.n_operations = 2;
    ck_assert_int_eq(p11kms_kms_create_grant(kt.kms, &kt.caller, NULL, id, &gp, &gid, &tok),
                     P11KMS_KMS_OK);
    ck_assert_int_eq(p11kms_kms_retire_grant(kt.kms, &other, tok, NULL, NULL, NULL), P11KMS_KMS_OK);
    ck_assert_int_eq(
        p11kms_kms_encrypt(kt.kms, &other, NULL, id, (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
        P11KMS_KMS_ACCESS_DENIED);
    free(gid);
    free(tok);
    /* Identity policies: admins only; the default key policy delegates. */
    snprintf(principal, sizeof(principal), "uid:%u", (unsigned)third.uid);
    ck_assert_int_eq(p11kms_kms_put_identity_policy(kt.kms, &other, principal,
                                                    "{\"Version\":\"2012-10-17\",\"Statement\":"
                                                    "[{\"Effect\":\"Allow\",\"Action\":"
                                                    "\"kms:Encrypt\",\"Resource\":\"*\"}]}"),
                     P11KMS_KMS_ACCESS_DENIED);
    KT_AUDITED(1, ck_assert_int_eq(
                      p11kms_kms_put_identity_policy(kt.kms, &kt.caller, principal,
                                                     "{\"Version\":\"2012-10-17\",\"Statement\":"
                                                     "[{\"Effect\":\"Allow\",\"Action\":"
                                                     "\"kms:Encrypt\",\"Resource\":\"*\"}]}"),
                      P11KMS_KMS_OK));
    ck_assert_int_eq(p11kms_kms_get_identity_policy(kt.kms, &kt.caller, principal, &doc),
                     P11KMS_KMS_OK);
    ck_assert_ptr_nonnull(strstr(doc, "kms:Encrypt"));
    free(doc);
    ck_assert_int_eq(
        p11kms_kms_encrypt(kt.kms, &third, NULL, id, (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
        P11KMS_KMS_OK);
    p11kms_kms_bytes_clear(&ct);
    ck_assert_int_eq(p11kms_kms_describe_key(kt.kms, &third, NULL, id, NULL),
                     P11KMS_KMS_ACCESS_DENIED);
    ck_assert_int_eq(p11kms_kms_delete_identity_policy(kt.kms, &kt.caller, principal),
                     P11KMS_KMS_OK);
    ck_assert_int_eq(
        p11kms_kms_encrypt(kt.kms, &third, NULL, id, (const uint8_t *)"x", 1, NULL, SD, &ct, NULL),
        P11KMS_KMS_ACCESS_DENIED);
}
END_TEST

/* The newest record named event (its strings stay valid until freed). */
static p11kms_audit_entry *last_record(const char *event, p11kms_store **st)
{
    p11kms_audit_filter f;
    p11kms_audit_entry *e = NULL;
    size_t n = 0;
    uint64_t next = 0;

    memset(&f, 0, sizeof(f));
    f.event_name = event;
    ck_assert_int_eq(p11kms_store_open(kt.path, NULL, st), P11KMS_STORE_OK);
    ck_assert_int_eq(p11kms_store_audit_list(*st, &f, 1, &e, &n, &next), P11KMS_STORE_OK);
    ck_assert_uint_eq(n, 1);
    return e;
}

START_TEST(test_audit_records_hold_no_secrets)
{
    char id[37];
    p11kms_kms_bytes ct = {NULL, 0}, pt = {NULL, 0};
    p11kms_store *st = NULL;
    p11kms_audit_entry *e;

    kt_create(SYM, ED, id);
    ck_assert_int_eq(enc(id, "TOP-SECRET-PLAINTEXT", &ctx, &ct, NULL), P11KMS_KMS_OK);
    e = last_record("Encrypt", &st);
    ck_assert_str_eq(e->rec.key_id, id);
    ck_assert_uint_eq(e->rec.key_version, 1);
    ck_assert_uint_eq(e->rec.uid, kt.caller.uid);
    ck_assert_ptr_null(e->rec.error_code);
    ck_assert_ptr_nonnull(strstr(e->rec.request_json, "\"encryptionContext\""));
    ck_assert_ptr_nonnull(strstr(e->rec.request_json, "\"tenant\":\"a\""));
    ck_assert_ptr_null(strstr(e->rec.request_json, "TOP-SECRET"));
    ck_assert_int_eq(e->rec.management, 0);
    p11kms_audit_entry_list_free(e, 1);
    p11kms_store_close(st);
    ct.data[ct.len - 1] ^= 1;
    ck_assert_int_eq(dec(NULL, &ct, &ctx, &pt), P11KMS_KMS_INVALID_CIPHERTEXT);
    e = last_record("Decrypt", &st);
    ck_assert_str_eq(e->rec.error_code, "InvalidCiphertextException");
    ck_assert_str_eq(e->rec.error_message, "authentication failed");
    p11kms_audit_entry_list_free(e, 1);
    p11kms_store_close(st);
    ck_assert_int_eq(p11kms_kms_login(kt.kms, &kt.caller, P11KMS_KMS_USER_USER, "bad-pin-0000", 12),
                     P11KMS_KMS_ALREADY_LOGGED_IN);
    e = last_record("Login", &st);
    ck_assert_ptr_null(strstr(e->rec.request_json, "bad-pin"));
    ck_assert_str_eq(e->rec.error_code, "AlreadyLoggedInException");
    p11kms_audit_entry_list_free(e, 1);
    p11kms_store_close(st);
    e = last_record("CreateKey", &st);
    ck_assert_int_eq(e->rec.management, 1);
    ck_assert_ptr_nonnull(strstr(e->rec.response_json, id));
    p11kms_audit_entry_list_free(e, 1);
    p11kms_store_close(st);
    p11kms_kms_bytes_clear(&ct);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kms-symmetric");
    TCase *tc = tcase_create("engine");
    TCase *rot = tcase_create("rotate-new-keys");

    tcase_add_checked_fixture(tc, kt_setup, kt_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_create_describe);
    tcase_add_test(tc, test_spec_usage_matrix);
    tcase_add_test(tc, test_list_keys_pages);
    tcase_add_test(tc, test_not_logged_in);
    tcase_add_test(tc, test_token_info);
    tcase_add_test(tc, test_login_keyfile);
    tcase_add_test(tc, test_aliases);
    tcase_add_test(tc, test_states);
    tcase_add_test(tc, test_deletion_run_due);
    tcase_add_test(tc, test_rotation_settings);
    tcase_add_test(tc, test_rotation_keeps_old_versions);
    tcase_add_test(tc, test_rotation_due_under_faketime);
    tcase_add_test(tc, test_rotation_once_across_processes);
    tcase_add_test(tc, test_disabled_keys_do_not_rotate);
    tcase_add_test(tc, test_service_key);
    tcase_add_test(tc, test_encrypt_roundtrip_and_limits);
    tcase_add_test(tc, test_malformed_blob_errors);
    tcase_add_test(tc, test_data_keys);
    tcase_add_test(tc, test_re_encrypt);
    tcase_add_test(tc, test_raw_routes);
    tcase_add_test(tc, test_handle_sees_other_process);
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_policies);
    tcase_add_test(tc, test_audit_records_hold_no_secrets);
    tcase_add_test(tc, test_grants_and_identity_policies);
    tcase_add_test(tc, test_identity_policy_unparsable_fails_closed);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(rot, kt_setup_rotating, kt_teardown);
    tcase_add_test(rot, test_rotate_new_keys_option);
    suite_add_tcase(s, rot);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
