/*
 * tde/mariadb-keys.h — the MariaDB plugin's in-memory key table: what
 * get_latest_key_version() and get_key() read on the server's I/O paths.
 *
 * The table holds copies of the keyring's DEK versions (protected memory)
 * and the per key id keys derived from them.  Every MariaDB key id shares
 * the keyring's version sequence: key (id, v) = HKDF-SHA256(DEK v, salt =
 * keyring id, info = "p11kms mariadb key" || id).  Lookups never call the
 * PKCS#11 module: DEKs are published here ahead of use, at start-up and on
 * rotation, by tde/mariadb-ring.c.  Thread-safe (a read-write lock).
 */
#ifndef P11KMS_TDE_MARIADB_KEYS_H
#define P11KMS_TDE_MARIADB_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define MDB_KEY_LEN 32u

/* Results of mdb_keys_get (mapped to MariaDB's codes by the plugin glue). */
typedef enum mdb_keys_rc {
    MDB_KEYS_OK = 0,
    MDB_KEYS_NO_VERSION, /* version 0, unknown, or no keys loaded */
    MDB_KEYS_TOO_SMALL,  /* buffer too small (or NULL): length reported */
    MDB_KEYS_FAILED      /* derivation failed (out of protected memory) */
} mdb_keys_rc;

/* Create the process-wide table (empty); 1 ok, 0 out of memory. */
int mdb_keys_init(void);

/* Wipe every key and free the table. */
void mdb_keys_shutdown(void);

/*
 * Publish DEK versions 1..n (n >= the current count; versions already known
 * are not replaced: a DEK version never changes).  deks[i] is version i + 1
 * (MDB_KEY_LEN bytes each), copied.  keyring_id (16 bytes) salts the
 * derivation; it must be the same on every call.  Pre-derives the keys of
 * the ids in prederive[0..nprederive).  1 ok, 0 out of memory.
 */
int mdb_keys_publish(const unsigned char *const *deks, uint32_t n, const unsigned char *keyring_id,
                     const uint32_t *prederive, size_t nprederive);

/* Newest version, 0 when nothing is loaded. */
uint32_t mdb_keys_latest(void);

/* Key (key_id, version) into key[*len]; *len set to MDB_KEY_LEN. */
mdb_keys_rc mdb_keys_get(uint32_t key_id, uint32_t version, unsigned char *key, unsigned *len);

#endif /* P11KMS_TDE_MARIADB_KEYS_H */
