/*
 * tde/mariadb-log.h — the MariaDB plugin's messages to the server's error
 * log (implemented in tde/mariadb-plugin.c through the server's
 * my_print_error service), so the other plugin files need no server header.
 */
#ifndef P11KMS_TDE_MARIADB_LOG_H
#define P11KMS_TDE_MARIADB_LOG_H

typedef enum mdb_log_level { MDB_LOG_ERROR, MDB_LOG_WARNING, MDB_LOG_NOTE } mdb_log_level;

/* One line, prefixed "p11kms_key_management: "; never a secret. */
void mdb_log(mdb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* P11KMS_TDE_MARIADB_LOG_H */
