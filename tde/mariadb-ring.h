/*
 * tde/mariadb-ring.h — the MariaDB plugin's side of the keyring: open the
 * libp11kms-tde keyring at start-up (every DEK unwrapped by an audited
 * Decrypt through the module), publish the DEKs to the key table
 * (tde/mariadb-keys.h), add DEK versions on rotation, and follow rotations
 * of the CMK.  Every call here may talk to the PKCS#11 module, so none of
 * them runs on the server's I/O paths; they are serialised by one mutex.
 */
#ifndef P11KMS_TDE_MARIADB_RING_H
#define P11KMS_TDE_MARIADB_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct mdb_ring_config {
    const char *module;  /* PKCS#11 module path or NULL (the installed one) */
    const char *keyring; /* keyring file (relative: to the datadir) */
    const char *cmk;     /* CMK for a new keyring, NULL: alias/p11kms/mariadb */
    const char *pin;     /* PIN source or NULL (library default) */
    int create;          /* create the keyring when the file does not exist */
} mdb_ring_config;

/* A message for the error log, filled on failure. */
typedef struct mdb_ring_msg {
    char text[768];
} mdb_ring_msg;

/* Open (or create) the keyring and publish its DEKs.  1 ok, 0 with msg. */
int mdb_ring_start(const mdb_ring_config *cfg, mdb_ring_msg *msg);

/* Rewrap under the CMK's newest version and add a DEK version; publish it. */
int mdb_ring_rotate(uint32_t *new_version, mdb_ring_msg *msg);

/*
 * Ask the token for the CMK's current version; when it changed since the
 * last check, rotate (mdb_ring_rotate).  *rotated tells whether it did.
 */
int mdb_ring_follow_cmk(int *rotated, uint32_t *new_version, mdb_ring_msg *msg);

/* Close the keyring (DEKs wiped) and the module session. */
void mdb_ring_stop(void);

#endif /* P11KMS_TDE_MARIADB_RING_H */
