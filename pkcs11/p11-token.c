/*
 * p11-token.c — the module's slots and their kms.h engines.
 *
 * One slot per [token] section of the configuration (store/config.h; the
 * embedded default gives one token at $XDG_DATA_HOME/p11kms/store.db).
 * Each slot owns one p11kms_kms engine, opened at C_Initialize; opening
 * touches no file (kms.h), so C_Initialize, C_GetSlotList and
 * C_GetTokenInfo create and write nothing (DESIGN.md, Configuration).
 *
 * Also here: the caller identity handed to every kms.h call, and the
 * translation of kms.h results to CKR_ values.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kms/kms.h"
#include "pkcs11/p11-internal.h"
#include "store/audit-syslog.h"
#include "store/config.h"

static p11kms_p11_slot g_slots[P11KMS_P11_MAX_SLOTS];
static CK_ULONG g_nslots;
static p11kms_config *g_cfg;
static p11kms_caller g_caller;
static int g_caller_ok;

p11kms_p11_slot *p11kms_p11_slot_get(CK_SLOT_ID id)
{
    return id < g_nslots ? &g_slots[id] : NULL;
}

CK_ULONG p11kms_p11_slot_count(void)
{
    return g_nslots;
}

const p11kms_caller *p11kms_p11_caller(void)
{
    return g_caller_ok ? &g_caller : NULL;
}

/* The identity is the process's own in-process; served by p11-kit it is
 * the peer of the connection on fd 0, and failing to read it fails closed. */
CK_RV p11kms_p11_caller_refresh(void)
{
    int ok;
    if (g_cfg != NULL && g_cfg->served == P11KMS_SERVED_P11KIT)
        ok = p11kms_p11_served_peer(g_cfg->served_socket, &g_caller);
    else
        ok = p11kms_caller_self(&g_caller);
    g_caller_ok = ok;
    return ok ? CKR_OK : CKR_FUNCTION_FAILED;
}

int p11kms_p11_served(void)
{
    return g_cfg != NULL && g_cfg->served == P11KMS_SERVED_P11KIT;
}

static int resolve_gid(const char *name, gid_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(name, &end, 10);
    if (errno == 0 && end != name && *end == '\0') {
        *out = (gid_t)v;
        return 1;
    }
    struct group *gr = getgrnam(name);
    if (gr == NULL)
        return 0;
    *out = gr->gr_gid;
    return 1;
}

static CK_RV open_slot(p11kms_p11_slot *slot, CK_SLOT_ID id, const p11kms_config_token *t)
{
    p11kms_kms_options o;
    memset(&o, 0, sizeof(o));
    memset(slot, 0, sizeof(*slot));
    slot->id = id;
    slot->login = P11KMS_P11_NOT_LOGGED_IN;
    slot->cfg = t;
    slot->min_pin_len = t->min_pin_length;
    o.store_path = t->store;
    o.label = t->label;
    o.allow_reinit = t->allow_reinit;
    o.min_pin_len = t->min_pin_length;
    o.kdf_n = t->kdf ? (uint64_t)1 << t->kdf : 0;
    o.rotate_new_keys = g_cfg->rotate_new_keys;
    o.durability = g_cfg->durability == P11KMS_DURABILITY_POWER ? P11KMS_KMS_DURABILITY_POWER
                                                                : P11KMS_KMS_DURABILITY_PROCESS;
    if (g_cfg->admin_group != NULL && resolve_gid(g_cfg->admin_group, &o.admin_gid))
        o.admin_gid_set = 1;
    p11kms_kms_rc rc = p11kms_kms_open(&o, &slot->kms);
    return p11kms_p11_rv_from_kms(rc, P11KMS_P11_CTX_TOKEN);
}

CK_RV p11kms_p11_slots_load(void)
{
    char err[P11KMS_CONFIG_ERR_MAX];
    CK_RV rv = CKR_OK;
    g_nslots = 0;
    if (!p11kms_store_config_load(&g_cfg, err, sizeof(err))) {
        p11kms_p11_log("configuration: %s", err);
        g_cfg = NULL;
        rv = CKR_GENERAL_ERROR;
        goto done;
    }
    /* [audit] syslog = yes: every record also goes to syslog/journald. */
    p11kms_store_audit_syslog_enable(g_cfg->syslog);
    rv = p11kms_p11_caller_refresh();
    for (size_t i = 0; rv == CKR_OK && i < g_cfg->ntokens && i < P11KMS_P11_MAX_SLOTS; i++) {
        rv = open_slot(&g_slots[i], (CK_SLOT_ID)i, &g_cfg->tokens[i]);
        if (rv == CKR_OK)
            g_nslots = i + 1;
    }
done:
    if (rv != CKR_OK)
        p11kms_p11_slots_free(0);
    return rv;
}

static void orphan_slots(void)
{
    p11kms_p11_orphan_keep(g_slots, sizeof(g_slots));
    p11kms_p11_orphan_keep(&g_cfg, sizeof(g_cfg));
}

void p11kms_p11_slots_free(int orphan)
{
    if (orphan) {
        orphan_slots();
    } else {
        for (CK_ULONG i = 0; i < g_nslots; i++)
            p11kms_kms_close(g_slots[i].kms);
        p11kms_store_config_free(g_cfg);
    }
    memset(g_slots, 0, sizeof(g_slots));
    g_nslots = 0;
    g_cfg = NULL;
    g_caller_ok = 0;
}

/* ---------------- kms.h result -> CKR ---------------- */

static CK_RV rv_token_or_key(p11kms_kms_rc rc, p11kms_p11_rvctx ctx)
{
    switch (rc) {
    case P11KMS_KMS_ACCESS_DENIED:
        return ctx == P11KMS_P11_CTX_KEY_USE ? CKR_KEY_FUNCTION_NOT_PERMITTED
                                             : CKR_ACTION_PROHIBITED;
    case P11KMS_KMS_NOT_FOUND:
        return ctx == P11KMS_P11_CTX_KEY_USE  ? CKR_KEY_HANDLE_INVALID
               : ctx == P11KMS_P11_CTX_OBJECT ? CKR_OBJECT_HANDLE_INVALID
                                              : CKR_P11KMS_NOT_FOUND;
    case P11KMS_KMS_VALIDATION:
        return ctx == P11KMS_P11_CTX_KEY_USE ? CKR_DATA_LEN_RANGE : CKR_ATTRIBUTE_VALUE_INVALID;
    case P11KMS_KMS_INVALID_KEY_USAGE:
        return ctx == P11KMS_P11_CTX_KEY_USE ? CKR_KEY_FUNCTION_NOT_PERMITTED
                                             : CKR_TEMPLATE_INCONSISTENT;
    default:
        return CKR_GENERAL_ERROR;
    }
}

CK_RV p11kms_p11_rv_from_kms(p11kms_kms_rc rc, p11kms_p11_rvctx ctx)
{
    switch (rc) {
    case P11KMS_KMS_OK:
        return CKR_OK;
    case P11KMS_KMS_DISABLED:
        return CKR_P11KMS_KEY_DISABLED;
    case P11KMS_KMS_INVALID_STATE:
        return CKR_P11KMS_KEY_INVALID_STATE;
    case P11KMS_KMS_INVALID_CIPHERTEXT:
        return CKR_ENCRYPTED_DATA_INVALID;
    case P11KMS_KMS_INCORRECT_KEY:
        return CKR_P11KMS_INCORRECT_KEY;
    case P11KMS_KMS_MALFORMED_POLICY:
        return CKR_P11KMS_MALFORMED_POLICY;
    case P11KMS_KMS_ALREADY_EXISTS:
        return CKR_P11KMS_ALREADY_EXISTS;
    case P11KMS_KMS_LIMIT_EXCEEDED:
        return CKR_P11KMS_LIMIT_EXCEEDED;
    case P11KMS_KMS_INVALID_ALIAS_NAME:
        return CKR_P11KMS_INVALID_ALIAS;
    case P11KMS_KMS_INVALID_GRANT_TOKEN:
        return CKR_P11KMS_INVALID_GRANT;
    case P11KMS_KMS_INVALID_GRANT_ID:
        return CKR_P11KMS_INVALID_GRANT;
    case P11KMS_KMS_INVALID_MARKER:
        return CKR_ATTRIBUTE_VALUE_INVALID;
    case P11KMS_KMS_UNSUPPORTED:
        return CKR_P11KMS_UNSUPPORTED_OPERATION;
    case P11KMS_KMS_INVALID_SIGNATURE:
        return CKR_SIGNATURE_INVALID;
    case P11KMS_KMS_INVALID_MAC:
        return CKR_SIGNATURE_INVALID;
    case P11KMS_KMS_INTERNAL:
        return CKR_P11KMS_KMS_INTERNAL;
    case P11KMS_KMS_DEPENDENCY_TIMEOUT:
        return CKR_P11KMS_STORE_BUSY;
    case P11KMS_KMS_STORAGE_FULL:
        return CKR_DEVICE_MEMORY;
    case P11KMS_KMS_STORE_READONLY:
        return CKR_TOKEN_WRITE_PROTECTED;
    case P11KMS_KMS_STORE_CORRUPT:
        return CKR_P11KMS_STORE_CORRUPT;
    case P11KMS_KMS_STORE_FOREIGN:
        return CKR_TOKEN_NOT_RECOGNIZED;
    case P11KMS_KMS_STORE_TOO_NEW:
        return CKR_TOKEN_NOT_RECOGNIZED;
    case P11KMS_KMS_AUDIT_FAILED:
        return CKR_P11KMS_AUDIT_FAILED;
    case P11KMS_KMS_NOT_INITIALIZED:
        return CKR_TOKEN_NOT_RECOGNIZED;
    case P11KMS_KMS_ALREADY_INITIALIZED:
        return CKR_ACTION_PROHIBITED;
    case P11KMS_KMS_NOT_LOGGED_IN:
        return CKR_USER_NOT_LOGGED_IN;
    case P11KMS_KMS_ALREADY_LOGGED_IN:
        return CKR_USER_ALREADY_LOGGED_IN;
    case P11KMS_KMS_PIN_INCORRECT:
        return CKR_PIN_INCORRECT;
    case P11KMS_KMS_PIN_LOCKED:
        return CKR_PIN_LOCKED;
    case P11KMS_KMS_PIN_LEN_RANGE:
        return CKR_PIN_LEN_RANGE;
    case P11KMS_KMS_PIN_NOT_SET:
        return CKR_USER_PIN_NOT_INITIALIZED;
    case P11KMS_KMS_NOMEM:
        return CKR_HOST_MEMORY;
    default:
        return rv_token_or_key(rc, ctx);
    }
}
