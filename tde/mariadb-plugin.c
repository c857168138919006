/*
 * tde/mariadb-plugin.c — p11kms_key_management, a MariaDB encryption plugin
 * (key management only: the server's default AES-CBC does the encryption).
 *
 * MariaDB asks for keys by (key id, version); the answers come from the key
 * table (tde/mariadb-keys.h), filled at start-up from a libp11kms-tde
 * keyring whose DEKs a p11kms CMK wraps (tde/mariadb-ring.h).  Every failure
 * to open the keyring (wrong PIN, denied Decrypt, missing or tampered file)
 * makes plugin init fail with one clear line in the error log; loaded with
 * p11kms_key_management = FORCE_PLUS_PERMANENT the server then refuses to
 * start.  Rotation (SET GLOBAL p11kms_key_management_rotate_key, or a CMK
 * rotation seen by tde/mariadb-watch.h) adds a key version, which
 * innodb_encryption_rotate_key_age turns into background re-encryption.
 * The system variables are those of DESIGN.md (TDE names); the user guide
 * is docs/tde-mariadb.md.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* The server's headers declare some service functions without prototypes. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <mysql/plugin_encryption.h>
#include <mysql/service_my_print_error.h>
#pragma GCC diagnostic pop

#include "tde/mariadb-keys.h"
#include "tde/mariadb-log.h"
#include "tde/mariadb-ring.h"
#include "tde/mariadb-watch.h"

#define PLUGIN_NAME           "p11kms_key_management"
#define ER_UNKNOWN_ERROR_CODE 1105u /* mysqld_error.h ER_UNKNOWN_ERROR */

/*
 * The server fills in its service pointers by symbol name when it loads a
 * dynamic plugin; the initial value is the service version the plugin was
 * written for (libservices/service_versions.h: VERSION_my_print_error).
 * Defining it here spares linking libmysqlservices.a, which Debian ships
 * only inside the very large libmariadbd-dev.
 */
struct my_print_error_service_st *my_print_error_service =
    (struct my_print_error_service_st *)(intptr_t)0x0100;

static char *g_module;
static char *g_keyring;
static char *g_cmk;
static char *g_pin;
static char g_create;
static unsigned g_cmk_check;
static int g_rotate_key;

void mdb_log(mdb_log_level level, const char *fmt, ...)
{
    static const unsigned long flags[] = {0, ME_WARNING, ME_NOTE};
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    my_printf_error(ER_UNKNOWN_ERROR_CODE, PLUGIN_NAME ": %s", ME_ERROR_LOG_ONLY | flags[level],
                    line);
}

/* ---- the encryption plugin interface (the server's I/O paths) ----------- */

static unsigned int get_latest_key_version(unsigned int key_id)
{
    uint32_t v = mdb_keys_latest();

    (void)key_id; /* every key id shares the keyring's versions */
    return v != 0 ? v : ENCRYPTION_KEY_VERSION_INVALID;
}

static unsigned int get_key(unsigned int key_id, unsigned int version, unsigned char *key,
                            unsigned int *key_length)
{
    switch (mdb_keys_get(key_id, version, key, key_length)) {
    case MDB_KEYS_OK:
        return 0;
    case MDB_KEYS_TOO_SMALL:
        return ENCRYPTION_KEY_BUFFER_TOO_SMALL;
    case MDB_KEYS_NO_VERSION:
        return ENCRYPTION_KEY_VERSION_INVALID;
    case MDB_KEYS_FAILED:
        break;
    }
    mdb_log(MDB_LOG_ERROR, "cannot derive key %u version %u (out of protected memory)", key_id,
            version);
    return ENCRYPTION_KEY_VERSION_INVALID;
}

/* NULL encryption functions: the server's default (AES-CBC, my_crypt). */
static struct st_mariadb_encryption g_encryption = {
    .interface_version = MariaDB_ENCRYPTION_INTERFACE_VERSION,
    .get_latest_key_version = get_latest_key_version,
    .get_key = get_key,
};

/* ---- system variables ---------------------------------------------------- */

/*
 * SET GLOBAL p11kms_key_management_rotate_key = ID (or -1): the rotation is
 * done here, in the check function, so that a failure reaches the client as
 * an error instead of a silently ignored update.  Every key id shares the
 * keyring's versions, so any ID rotates them all.
 */
static int check_rotate(MYSQL_THD thd, struct st_mysql_sys_var *var, void *save,
                        struct st_mysql_value *value)
{
    mdb_ring_msg msg = {{0}};
    long long id = 0;
    uint32_t version = 0;

    (void)thd;
    (void)var;
    if (value->val_int(value, &id) != 0 || id < -1 || id == 0 || id > UINT32_MAX) {
        my_printf_error(ER_UNKNOWN_ERROR_CODE, PLUGIN_NAME "_rotate_key: a key id or -1", 0);
        return 1;
    }
    if (!mdb_ring_rotate(&version, &msg)) {
        my_printf_error(ER_UNKNOWN_ERROR_CODE, PLUGIN_NAME ": rotation failed: %s", ME_ERROR_LOG,
                        msg.text);
        return 1;
    }
    mdb_log(MDB_LOG_NOTE, "key rotation requested: key version %u added", (unsigned)version);
    *(int *)save = (int)(id > INT_MAX ? INT_MAX : id);
    return 0;
}

static MYSQL_SYSVAR_STR(module, g_module, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                        "PKCS#11 module path (default: $P11KMS_MODULE, else the installed "
                        "p11kms-pkcs11.so)",
                        NULL, NULL, NULL);
static MYSQL_SYSVAR_STR(keyring, g_keyring, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                        "keyring file holding the wrapped DEKs (relative to the datadir)", NULL,
                        NULL, "p11kms-mariadb.keyring");
static MYSQL_SYSVAR_STR(cmk, g_cmk, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                        "CMK (key id or alias/NAME) wrapping a new keyring's DEKs (default: the "
                        "service key alias/p11kms/mariadb, created on first use)",
                        NULL, NULL, NULL);
static MYSQL_SYSVAR_STR(pin, g_pin, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                        "PIN source of the token's user PIN: file:PATH, env:NAME, "
                        "credential:NAME (default: $P11KMS_PIN_SOURCE, else env:P11KMS_PIN)",
                        NULL, NULL, NULL);
static MYSQL_SYSVAR_BOOL(create_keyring, g_create, PLUGIN_VAR_READONLY | PLUGIN_VAR_OPCMDARG,
                         "create the keyring when it does not exist (first start only; "
                         "otherwise a missing keyring stops the server)",
                         NULL, NULL, 0);
static MYSQL_SYSVAR_UINT(cmk_check_interval, g_cmk_check, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
                         "seconds between checks for a CMK rotation (0: never), which rewraps "
                         "the keyring and adds a key version",
                         NULL, NULL, 300, 0, 86400, 1);
static MYSQL_SYSVAR_INT(rotate_key, g_rotate_key, PLUGIN_VAR_RQCMDARG,
                        "set to a key id (or -1) to add a key version now; every key id "
                        "shares the keyring's versions, so all rotate",
                        check_rotate, NULL, 0, -1, INT_MAX, 1);

static struct st_mysql_sys_var *g_sysvars[] = {MYSQL_SYSVAR(module),
                                               MYSQL_SYSVAR(keyring),
                                               MYSQL_SYSVAR(cmk),
                                               MYSQL_SYSVAR(pin),
                                               MYSQL_SYSVAR(create_keyring),
                                               MYSQL_SYSVAR(cmk_check_interval),
                                               MYSQL_SYSVAR(rotate_key),
                                               NULL};

/* SHOW STATUS LIKE 'p11kms_key_management_key_version'. */
static int show_version(MYSQL_THD thd, struct st_mysql_show_var *var, void *buf,
                        struct system_status_var *status, enum enum_var_type scope)
{
    (void)thd;
    (void)status;
    (void)scope;
    var->type = SHOW_UINT;
    var->value = buf;
    *(unsigned int *)buf = mdb_keys_latest();
    return 0;
}

static struct st_mysql_show_var g_status[] = {
    {PLUGIN_NAME "_key_version", (void *)&show_version, SHOW_FUNC}, {NULL, NULL, 0}};

/* ---- init / deinit ------------------------------------------------------- */

static int plugin_init(void *p)
{
    mdb_ring_config cfg = {g_module, g_keyring, g_cmk, g_pin, g_create};
    mdb_ring_msg msg = {{0}};

    (void)p;
    if (!mdb_ring_start(&cfg, &msg)) {
        mdb_log(MDB_LOG_ERROR, "%s", msg.text);
        return 1;
    }
    if (!mdb_watch_start(g_cmk_check)) {
        mdb_log(MDB_LOG_ERROR, "cannot start the CMK rotation watcher thread");
        mdb_ring_stop();
        return 1;
    }
    mdb_log(MDB_LOG_NOTE, "keyring %s open, key version %u", g_keyring,
            (unsigned)mdb_keys_latest());
    return 0;
}

static int plugin_deinit(void *p)
{
    (void)p;
    mdb_watch_stop();
    mdb_ring_stop();
    return 0;
}

/* clang-format off */
maria_declare_plugin(p11kms_key_management)
{
    MariaDB_ENCRYPTION_PLUGIN,
    &g_encryption,
    PLUGIN_NAME,
    "p11kms",
    "DEKs from a p11kms keyring, wrapped by a CMK of a PKCS#11 token",
    PLUGIN_LICENSE_BSD,
    plugin_init,
    plugin_deinit,
    0x0100,
    g_status,
    g_sysvars,
    PACKAGE_VERSION,
    MariaDB_PLUGIN_MATURITY_GAMMA
}
maria_declare_plugin_end;
/* clang-format on */
