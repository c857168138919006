/*
 * store/store-schema.c — the schema and its migrations.
 *
 * PRAGMA application_id marks a p11kms store; PRAGMA user_version is the
 * schema version.  Migrations are a table of steps, each bringing the file
 * to one version; an older store runs every missing step in ONE write
 * transaction (user_version is transactional), so a crash mid-upgrade leaves
 * the old schema intact.  A file newer than this build is refused (TOO_NEW)
 * rather than guessed at; an SQLite file that is not ours is FOREIGN.
 *
 * Version 1 also creates the audit tables, whose SQL the audit code exports
 * (p11kms_store_audit_schema_v1), so keys and audit records share one file
 * and one transaction.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store/store-priv.h"

static const char schema_v1[] =
    "CREATE TABLE meta ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta (name, value) VALUES ('change_counter', 0);"

    "CREATE TABLE token ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " label TEXT NOT NULL,"
    " serial TEXT NOT NULL,"
    " flags INTEGER NOT NULL DEFAULT 0,"
    " min_pin_len INTEGER NOT NULL,"
    " max_failures INTEGER NOT NULL,"
    " user_failures INTEGER NOT NULL DEFAULT 0,"
    " so_failures INTEGER NOT NULL DEFAULT 0,"
    " kdf_n INTEGER NOT NULL, kdf_r INTEGER NOT NULL, kdf_p INTEGER NOT NULL,"
    " init_time INTEGER NOT NULL);"

    /* The root key wrapped per unlock method; kdf_n = 0 for the service key
     * file (no KDF). */
    "CREATE TABLE root_wraps ("
    " kind TEXT PRIMARY KEY NOT NULL CHECK (kind IN ('so', 'user', 'service')),"
    " kdf_n INTEGER NOT NULL, kdf_r INTEGER NOT NULL, kdf_p INTEGER NOT NULL,"
    " salt BLOB NOT NULL,"
    " wrapped BLOB NOT NULL,"
    " updated INTEGER NOT NULL) WITHOUT ROWID;"

    "CREATE TABLE keys ("
    " key_id TEXT PRIMARY KEY NOT NULL,"
    " key_spec TEXT NOT NULL,"
    " key_usage TEXT NOT NULL,"
    " key_state TEXT NOT NULL,"
    " origin TEXT NOT NULL,"
    " key_manager TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '',"
    " creation INTEGER NOT NULL,"
    " deletion INTEGER NOT NULL DEFAULT 0,"
    " pending_window INTEGER NOT NULL DEFAULT 0,"
    " rotation_enabled INTEGER NOT NULL DEFAULT 0,"
    " rotation_period INTEGER NOT NULL DEFAULT 0,"
    " next_rotation INTEGER NOT NULL DEFAULT 0,"
    " last_rotation INTEGER NOT NULL DEFAULT 0,"
    " current_version INTEGER NOT NULL CHECK (current_version >= 1),"
    " owner_uid INTEGER NOT NULL, owner_gid INTEGER NOT NULL,"
    " app_id BLOB, app_label BLOB, attrs BLOB,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX keys_app_id ON keys (app_id);"
    "CREATE INDEX keys_app_label ON keys (app_label);"
    "CREATE INDEX keys_state ON keys (key_state, key_id);"
    "CREATE INDEX keys_spec ON keys (key_spec, key_id);"
    /* Partial: only keys that can be due are indexed (run-due scans). */
    "CREATE INDEX keys_next_rotation ON keys (next_rotation) WHERE rotation_enabled = 1;"
    "CREATE INDEX keys_deletion ON keys (deletion) WHERE key_state = 'PendingDeletion';"

    "CREATE TABLE key_versions ("
    " key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,"
    " version INTEGER NOT NULL CHECK (version >= 1),"
    " creation INTEGER NOT NULL,"
    " material BLOB NOT NULL,"
    " public_der BLOB,"
    " PRIMARY KEY (key_id, version)) WITHOUT ROWID;"

    "CREATE TABLE aliases ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,"
    " creation INTEGER NOT NULL,"
    " updated INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX aliases_key ON aliases (key_id, name);"

    "CREATE TABLE key_policies ("
    " key_id TEXT PRIMARY KEY NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,"
    " document TEXT NOT NULL) WITHOUT ROWID;"

    "CREATE TABLE identity_policies ("
    " ptype INTEGER NOT NULL CHECK (ptype IN (1, 2)),"
    " pid INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " document TEXT NOT NULL,"
    " updated INTEGER NOT NULL,"
    " PRIMARY KEY (ptype, pid, name)) WITHOUT ROWID;"

    "CREATE TABLE grants ("
    " grant_id TEXT PRIMARY KEY NOT NULL,"
    " key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,"
    " name TEXT,"
    " token TEXT UNIQUE,"
    " grantee TEXT NOT NULL,"
    " retiring TEXT,"
    " operations TEXT NOT NULL,"
    " constraints TEXT,"
    " issuer_uid INTEGER NOT NULL,"
    " creation INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX grants_key ON grants (key_id, grant_id);"
    "CREATE INDEX grants_grantee ON grants (grantee, grant_id);"

    "CREATE TABLE objects ("
    " object_id TEXT PRIMARY KEY NOT NULL,"
    " class INTEGER NOT NULL,"
    " label BLOB, app_id BLOB, attrs BLOB,"
    " is_private INTEGER NOT NULL DEFAULT 1,"
    " owner_uid INTEGER NOT NULL,"
    " creation INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX objects_class ON objects (class, object_id);"
    "CREATE INDEX objects_label ON objects (label);"
    "CREATE INDEX objects_app_id ON objects (app_id);";

static const p11kms_store_migration builtin_steps[] = {
    {1, schema_v1, 1},
};

static p11kms_store_rc pragma_int(p11kms_store *st, const char *sql, int *out)
{
    sqlite3_stmt *s = NULL;
    p11kms_store_rc rc = P11KMS_STORE_OK;
    int src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    else
        rc = p11kms_store_step_rc(st, src);
    sqlite3_finalize(s);
    return rc;
}

p11kms_store_rc p11kms_store_schema_probe(p11kms_store *st, int *version)
{
    int app = 0, uv = 0, tables = 0;
    p11kms_store_rc rc = pragma_int(st, "PRAGMA application_id", &app);

    if (rc == P11KMS_STORE_OK)
        rc = pragma_int(st, "PRAGMA user_version", &uv);
    if (rc == P11KMS_STORE_OK)
        rc = pragma_int(st, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc != P11KMS_STORE_OK)
        goto done;
    *version = uv;
    if (app == P11KMS_STORE_APPLICATION_ID)
        rc = uv > P11KMS_STORE_SCHEMA_VERSION ? P11KMS_STORE_TOO_NEW : P11KMS_STORE_OK;
    else if (app == 0 && uv == 0 && tables == 0)
        rc = P11KMS_STORE_NOTFOUND; /* empty database */
    else
        rc = P11KMS_STORE_FOREIGN;
done:
    return rc;
}

static p11kms_store_rc run_step(p11kms_store *st, const p11kms_store_migration *step)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;
    char sql[64];

    if (step->sql != NULL)
        rc = p11kms_store_exec(st, step->sql);
    if (rc == P11KMS_STORE_OK && step->include_audit_v1)
        rc = p11kms_store_exec(st, p11kms_store_audit_schema_v1);
    if (rc != P11KMS_STORE_OK)
        return rc;
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", step->to_version);
    return p11kms_store_exec(st, sql);
}

p11kms_store_rc p11kms_store_schema_migrate_steps(p11kms_store *st,
                                                  const p11kms_store_migration *steps,
                                                  size_t nsteps, int target)
{
    p11kms_store_rc rc = p11kms_store_begin_write(st);
    int version = 0;
    char sql[64];
    size_t i;

    if (rc != P11KMS_STORE_OK)
        goto done;
    /* Re-probe under the write lock: another process may have migrated. */
    rc = p11kms_store_schema_probe(st, &version);
    if (rc == P11KMS_STORE_NOTFOUND)
        rc = P11KMS_STORE_OK;
    if (rc != P11KMS_STORE_OK)
        goto done;
    if (version > target) {
        rc = P11KMS_STORE_TOO_NEW;
        goto done;
    }
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", P11KMS_STORE_APPLICATION_ID);
    rc = p11kms_store_exec(st, sql);
    for (i = 0; i < nsteps && rc == P11KMS_STORE_OK; i++) {
        if (steps[i].to_version > version && steps[i].to_version <= target)
            rc = run_step(st, &steps[i]);
    }
    if (rc == P11KMS_STORE_OK)
        rc = p11kms_store_commit(st);
done:
    if (rc != P11KMS_STORE_OK && p11kms_store_in_txn(st))
        p11kms_store_rollback(st);
    return rc;
}

p11kms_store_rc p11kms_store_schema_migrate(p11kms_store *st)
{
    return p11kms_store_schema_migrate_steps(st, builtin_steps,
                                             sizeof(builtin_steps) / sizeof(builtin_steps[0]),
                                             P11KMS_STORE_SCHEMA_VERSION);
}
