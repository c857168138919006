/*
 * tde/mariadb-ring.c — the MariaDB plugin's keyring: libp11kms-tde does the
 * keyring work (open, unwrap, add a version, rewrap); this file decides
 * when, publishes the DEKs to the key table and watches the CMK's version.
 *
 * The CMK's current version is read with DescribeKey on a session of our
 * own (the module is shared in-process, so the login made when the keyring
 * was opened covers it).  The version seen at start-up is the baseline: a
 * CMK rotation observed later rewraps the keyring and adds a DEK version,
 * so InnoDB re-encrypts its pages in the background.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kms.h"
#include "p11kms/tde.h"
#include "tde/mariadb-keys.h"
#include "tde/mariadb-ring.h"

/* Keys derived at publication: InnoDB/binlog (1) and temporary files (2). */
static const uint32_t g_system_ids[] = {1, 2};

static struct {
    pthread_mutex_t mutex;
    mdb_ring_config cfg;
    p11kms_tde_keyring *kr;
    p11kms_client_kms kms; /* our session for DescribeKey */
    int session_open;
    uint32_t cmk_version; /* 0: unknown */
} g = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static int fail(mdb_ring_msg *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(mdb_ring_msg *msg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
    va_end(ap);
    return 0;
}

static int tde_fail(mdb_ring_msg *msg, const char *what, const p11kms_tde_error *e)
{
    return fail(msg, "%s %s: %s (%s%s%s)", what, g.cfg.keyring, e->message,
                p11kms_tde_strerror(e->rc), e->kms_exception[0] ? ", " : "", e->kms_exception);
}

/* Copy every DEK version of the open keyring into the key table. */
static int publish(mdb_ring_msg *msg)
{
    uint32_t n = p11kms_tde_latest_version(g.kr);
    const unsigned char **deks = calloc(n ? n : 1, sizeof(*deks));
    p11kms_tde_error e;
    int ok = 0;

    if (deks == NULL) {
        fail(msg, "out of memory");
        goto done;
    }
    for (uint32_t v = 1; v <= n; v++)
        if (!p11kms_tde_key(g.kr, v, &deks[v - 1], &e)) {
            tde_fail(msg, "keyring", &e);
            goto done;
        }
    ok = mdb_keys_publish(deks, n, p11kms_tde_keyring_id(g.kr), g_system_ids,
                          sizeof(g_system_ids) / sizeof(g_system_ids[0])) ||
         fail(msg, "out of protected memory for the keys of %s", g.cfg.keyring);
done:
    free(deks);
    return ok;
}

static int open_keyring(p11kms_tde_keyring **kr, int create, mdb_ring_msg *msg)
{
    p11kms_tde_options opt = {0};
    p11kms_tde_error e;

    opt.module = g.cfg.module;
    opt.pin_source = g.cfg.pin;
    opt.cmk = g.cfg.cmk;
    opt.service = "mariadb";
    opt.create = create;
    if (p11kms_tde_open(g.cfg.keyring, &opt, kr, &e))
        return 1;
    if (e.rc == P11KMS_TDE_ERR_NOTFOUND && !create)
        return fail(msg,
                    "%s (set p11kms_key_management_create_keyring=ON for the first start "
                    "only)",
                    e.message);
    return tde_fail(msg, "cannot open keyring", &e);
}

/* Our own session on the module the keyring loaded, for DescribeKey. */
static int open_session(mdb_ring_msg *msg)
{
    p11kms_client_err ce = {{0}, 0};
    CK_SLOT_ID slot;

    if (!p11kms_client_module_load(g.cfg.module, &g.kms.mod, &ce))
        return fail(msg, "module: %s", p11kms_client_err_msg(&ce));
    if (!p11kms_client_find_slot(g.kms.mod, NULL, &slot, &ce) ||
        !p11kms_client_session_open(g.kms.mod, slot, 1, &g.kms.session, &ce))
        return fail(msg, "module: %s", p11kms_client_err_msg(&ce));
    g.session_open = 1;
    return 1;
}

/* KeyMetadata.CurrentKeyVersion of the keyring's CMK. */
static int cmk_version(uint32_t *version, mdb_ring_msg *msg)
{
    p11kms_client_kms_result res = {0};
    p11kms_client_kms_error ke;
    json_int_t v;
    int ok = 0;

    if (!p11kms_client_kms_describe_key(&g.kms, p11kms_tde_cmk_id(g.kr), &res, &ke)) {
        fail(msg, "DescribeKey %s: %s", p11kms_tde_cmk_id(g.kr), p11kms_client_kms_error_msg(&ke));
        goto done;
    }
    v = json_integer_value(
        json_object_get(json_object_get(res.json, "KeyMetadata"), "CurrentKeyVersion"));
    if (v <= 0 || v > UINT32_MAX) {
        fail(msg, "DescribeKey %s: no CurrentKeyVersion", p11kms_tde_cmk_id(g.kr));
        goto done;
    }
    *version = (uint32_t)v;
    ok = 1;
done:
    p11kms_client_kms_result_clear(&res);
    return ok;
}

static void release_locked(void)
{
    if (g.session_open)
        p11kms_client_session_close(g.kms.mod, g.kms.session);
    p11kms_client_module_unload(g.kms.mod);
    p11kms_tde_close(g.kr);
    memset(&g.kms, 0, sizeof(g.kms));
    g.kr = NULL;
    g.session_open = 0;
    g.cmk_version = 0;
}

int mdb_ring_start(const mdb_ring_config *cfg, mdb_ring_msg *msg)
{
    int ok = 0;

    pthread_mutex_lock(&g.mutex);
    g.cfg = *cfg;
    if (!mdb_keys_init()) {
        fail(msg, "out of memory");
        goto done;
    }
    ok = open_keyring(&g.kr, cfg->create, msg) && publish(msg) && open_session(msg) &&
         cmk_version(&g.cmk_version, msg);
done:
    if (!ok)
        release_locked();
    pthread_mutex_unlock(&g.mutex);
    return ok;
}

static int rotate_locked(uint32_t *new_version, mdb_ring_msg *msg)
{
    p11kms_tde_error e;

    /* A conflict (another process wrote the file) is not retried: one
     * keyring belongs to one server, and the error names the file. */
    if (!p11kms_tde_rewrap(g.kr, 1, &e))
        return tde_fail(msg, "cannot rotate keyring", &e);
    if (!publish(msg))
        return 0;
    if (new_version != NULL)
        *new_version = p11kms_tde_latest_version(g.kr);
    return cmk_version(&g.cmk_version, msg);
}

int mdb_ring_rotate(uint32_t *new_version, mdb_ring_msg *msg)
{
    int ok;

    pthread_mutex_lock(&g.mutex);
    ok = g.kr != NULL ? rotate_locked(new_version, msg) : fail(msg, "no keyring is open");
    pthread_mutex_unlock(&g.mutex);
    return ok;
}

int mdb_ring_follow_cmk(int *rotated, uint32_t *new_version, mdb_ring_msg *msg)
{
    uint32_t now = 0;
    int ok = 0;

    *rotated = 0;
    pthread_mutex_lock(&g.mutex);
    if (g.kr == NULL) {
        fail(msg, "no keyring is open");
        goto done;
    }
    if (!cmk_version(&now, msg))
        goto done;
    ok = 1;
    if (now != g.cmk_version) {
        ok = rotate_locked(new_version, msg);
        *rotated = ok;
    }
done:
    pthread_mutex_unlock(&g.mutex);
    return ok;
}

void mdb_ring_stop(void)
{
    pthread_mutex_lock(&g.mutex);
    release_locked();
    pthread_mutex_unlock(&g.mutex);
    mdb_keys_shutdown();
}
