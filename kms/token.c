/* kms/token.c — token-level calls, passed through to the store so that
 * pkcs11/ only talks to kms.h: token info (never writes), InitToken,
 * InitPIN, SetPIN, Login (success and every failure audited), Logout.
 * PINs never reach the audit record. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "kms/kms-internal.h"

#define TOKEN_ADMIN_POLICY_NAME "p11kms-token-admin"

static void info_from_store(const p11kms_store_token_info *si, p11kms_kms_token_info *out)
{
    out->initialized = si->initialized;
    out->user_pin_set = si->user_pin_set;
    memcpy(out->label, si->label, sizeof(out->label));
    memcpy(out->serial, si->serial, sizeof(out->serial));
    out->user_pin_failures = si->user_failures;
    out->so_pin_failures = si->so_failures;
    out->pin_max_failures = si->max_failures;
    out->user_pin_locked = si->user_locked;
    out->so_pin_locked = si->so_locked;
    if (si->min_pin_len > 0)
        out->min_pin_len = si->min_pin_len;
}

p11kms_kms_rc p11kms_kms_token_info_get(p11kms_kms *kms, p11kms_kms_token_info *out)
{
    p11kms_store_token_info si;
    p11kms_kms_rc rc = P11KMS_KMS_OK;

    if (kms == NULL || out == NULL)
        return P11KMS_KMS_VALIDATION;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&kms->lock);
    out->min_pin_len = kms->opts.min_pin_len ? kms->opts.min_pin_len : P11KMS_STORE_DEFAULT_MIN_PIN;
    out->max_pin_len = P11KMS_STORE_PIN_MAX;
    out->logged_in = kms->login;
    if (kms->st == NULL && access(kms->store_path, F_OK) != 0)
        goto done; /* nothing to read: not initialised */
    out->store_exists = 1;
    rc = kms_store_ensure(kms, 0, 0);
    memset(&si, 0, sizeof(si));
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_token_info_get(kms->st, &si));
    if (rc == P11KMS_KMS_OK)
        info_from_store(&si, out);
done:
    pthread_mutex_unlock(&kms->lock);
    return rc;
}

p11kms_kms_user p11kms_kms_logged_in(p11kms_kms *kms)
{
    p11kms_kms_user u;

    pthread_mutex_lock(&kms->lock);
    u = kms->login;
    pthread_mutex_unlock(&kms->lock);
    return u;
}

static const char *user_name(p11kms_kms_user who)
{
    return who == P11KMS_KMS_USER_SO ? "SO" : "USER";
}

/* The initialiser may CreateKey by default (DESIGN.md, Policies). */
static p11kms_kms_rc grant_initialiser(kms_call *c)
{
    char *doc = NULL;
    p11kms_store_rc src;

    if (c->caller == NULL || !p11kms_policy_default_admin_identity_policy(&doc))
        return P11KMS_KMS_INTERNAL;
    src = p11kms_store_identity_policy_put(c->kms->st, P11KMS_STORE_PRINCIPAL_UID,
                                           (uint32_t)c->caller->uid, TOKEN_ADMIN_POLICY_NAME, doc,
                                           p11kms_time_now_ms());
    free(doc);
    return kms_rc_from_store(src);
}

static void token_params(p11kms_kms *kms, const char *label, p11kms_store_kdf *kdf,
                         p11kms_store_token_params *tp)
{
    memset(tp, 0, sizeof(*tp));
    tp->label = label ? label : kms->label ? kms->label : "p11kms";
    tp->min_pin_len = kms->opts.min_pin_len;
    tp->allow_reinit = kms->opts.allow_reinit;
    if (kms->opts.kdf_n != 0) {
        kdf->n = kms->opts.kdf_n;
        kdf->r = kms->opts.kdf_r ? kms->opts.kdf_r : 8;
        kdf->p = kms->opts.kdf_p ? kms->opts.kdf_p : 1;
        tp->kdf = kdf;
    }
}

p11kms_kms_rc p11kms_kms_init_token(p11kms_kms *kms, const p11kms_caller *caller,
                                    const char *so_pin, size_t so_pin_len, const char *label)
{
    kms_call c;
    p11kms_store_token_params tp;
    p11kms_store_kdf kdf;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "InitToken", NULL, 1, 0);
    token_params(kms, label, &kdf, &tp);
    json_object_set_new(c.request, "label", json_string(tp.label));
    rc = kms_store_ensure(kms, 1, 1);
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (kms->login != P11KMS_KMS_USER_NONE) {
        p11kms_store_logout(kms->st);
        kms->login = P11KMS_KMS_USER_NONE;
    }
    kms_cache_wipe(kms);
    rc = kms_rc_from_store(p11kms_store_token_init(kms->st, so_pin, so_pin_len, &tp));
    if (rc == P11KMS_KMS_OK)
        rc = grant_initialiser(&c);
    kms_bump_epoch(kms);
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_login(p11kms_kms *kms, const p11kms_caller *caller, p11kms_kms_user who,
                               const char *pin, size_t pin_len)
{
    kms_call c;
    p11kms_store_user su =
        who == P11KMS_KMS_USER_SO ? P11KMS_STORE_USER_SO : P11KMS_STORE_USER_USER;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Login", NULL, 0, 0);
    json_object_set_new(c.request, "userType", json_string(user_name(who)));
    rc = kms_store_ensure(kms, 1, 0);
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (who != P11KMS_KMS_USER_SO && who != P11KMS_KMS_USER_USER) {
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "unknown user type");
        goto done;
    }
    if (kms->login != P11KMS_KMS_USER_NONE) {
        rc = kms_fail(&c, P11KMS_KMS_ALREADY_LOGGED_IN, "already logged in");
        goto done;
    }
    rc = kms_rc_from_store(p11kms_store_login(kms->st, su, pin, pin_len));
    if (rc == P11KMS_KMS_NOT_INITIALIZED && who == P11KMS_KMS_USER_USER)
        rc = P11KMS_KMS_PIN_NOT_SET;
    if (rc == P11KMS_KMS_OK)
        kms->login = who;
    kms_bump_epoch(kms);
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_login_keyfile(p11kms_kms *kms, const p11kms_caller *caller,
                                       const char *keyfile_path)
{
    kms_call c;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Login", NULL, 0, 0);
    json_object_set_new(c.request, "userType", json_string("SERVICE"));
    rc = kms_store_ensure(kms, 1, 0);
    if (rc == P11KMS_KMS_OK && keyfile_path == NULL)
        rc = kms_fail(&c, P11KMS_KMS_VALIDATION, "no key file");
    if (rc == P11KMS_KMS_OK && kms->login != P11KMS_KMS_USER_NONE)
        rc = kms_fail(&c, P11KMS_KMS_ALREADY_LOGGED_IN, "already logged in");
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_login_keyfile(kms->st, keyfile_path));
    if (rc == P11KMS_KMS_STORE_CORRUPT)
        rc = kms_fail(&c, P11KMS_KMS_PIN_INCORRECT, "the key file does not unlock this store");
    if (rc == P11KMS_KMS_OK)
        kms->login = P11KMS_KMS_USER_USER;
    kms_bump_epoch(kms);
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_logout(p11kms_kms *kms, const p11kms_caller *caller)
{
    kms_call c;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "Logout", NULL, 0, 0);
    rc = kms_store_ensure(kms, 1, 0);
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (kms->login == P11KMS_KMS_USER_NONE) {
        rc = kms_fail(&c, P11KMS_KMS_NOT_LOGGED_IN, "not logged in");
        goto done;
    }
    kms_cache_wipe(kms);
    rc = kms_rc_from_store(p11kms_store_logout(kms->st));
    kms->login = P11KMS_KMS_USER_NONE;
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_init_pin(p11kms_kms *kms, const p11kms_caller *caller, const char *pin,
                                  size_t pin_len)
{
    kms_call c;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "InitPIN", NULL, 1, 0);
    rc = kms_store_ensure(kms, 1, 0);
    if (rc != P11KMS_KMS_OK)
        goto done;
    if (kms->login != P11KMS_KMS_USER_SO) {
        rc = kms_fail(&c, P11KMS_KMS_NOT_LOGGED_IN, "InitPIN needs the SO logged in");
        goto done;
    }
    rc = kms_rc_from_store(p11kms_store_init_pin(kms->st, pin, pin_len));
done:
    return kms_call_end(&c, rc);
}

p11kms_kms_rc p11kms_kms_set_pin(p11kms_kms *kms, const p11kms_caller *caller, const char *old_pin,
                                 size_t old_len, const char *new_pin, size_t new_len)
{
    kms_call c;
    p11kms_kms_user who;
    p11kms_kms_rc rc;

    kms_call_begin(&c, kms, caller, "SetPIN", NULL, 1, 0);
    who = kms->login == P11KMS_KMS_USER_SO ? P11KMS_KMS_USER_SO : P11KMS_KMS_USER_USER;
    json_object_set_new(c.request, "userType", json_string(user_name(who)));
    rc = kms_store_ensure(kms, 1, 0);
    if (rc == P11KMS_KMS_OK)
        rc = kms_rc_from_store(p11kms_store_set_pin(
            kms->st, who == P11KMS_KMS_USER_SO ? P11KMS_STORE_USER_SO : P11KMS_STORE_USER_USER,
            old_pin, old_len, new_pin, new_len));
    return kms_call_end(&c, rc);
}
