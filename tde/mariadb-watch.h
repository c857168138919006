/*
 * tde/mariadb-watch.h — the MariaDB plugin's background thread that follows
 * CMK rotations: every interval it asks the token for the CMK's current
 * version (tde/mariadb-ring.h) and, when it changed, rewraps the keyring and
 * adds a DEK version.  Off the server's I/O paths by construction.
 */
#ifndef P11KMS_TDE_MARIADB_WATCH_H
#define P11KMS_TDE_MARIADB_WATCH_H

/* Start the thread (interval_s > 0); 1 ok, 0 when it cannot be created. */
int mdb_watch_start(unsigned interval_s);

/* Stop and join the thread; harmless when it is not running. */
void mdb_watch_stop(void);

#endif /* P11KMS_TDE_MARIADB_WATCH_H */
