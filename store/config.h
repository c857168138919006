/*
 * store/config.h — the p11kms.conf loader (DESIGN.md, Configuration; p11kms.conf(5)).
 *
 * Search order: $P11KMS_CONF (must exist and be readable), else
 * $XDG_CONFIG_HOME/p11kms/p11kms.conf ($XDG_CONFIG_HOME defaults to
 * $HOME/.config), else SYSCONFDIR/p11kms/p11kms.conf, else the embedded
 * default: one token whose store is $XDG_DATA_HOME/p11kms/store.db
 * ($XDG_DATA_HOME defaults to $HOME/.local/share).
 *
 * Format: `key = value` lines under `[section]` headers; a line whose first
 * non-blank character is `#` is a comment (a `#` later in a line is part of
 * the value, paths may contain it); blanks around keys and values are
 * trimmed.  Sections: [token] (repeatable: one slot per configured store),
 * [access] and [audit] (each at most once, global).  Unknown sections and
 * keys, malformed or out-of-range values, duplicate keys and unreadable files
 * are errors of the form "FILE:LINE: [section] key: what is wrong"; there is
 * never a silent default.
 *
 * Paths (`store`, and the PATH of `unlock = file:PATH | keyfile:PATH`) are
 * either absolute or relative to the directory of the configuration file;
 * `~` is not expanded (a value starting with `~` is refused).
 *
 * Loading reads one file and creates or writes nothing (C_Initialize and
 * C_GetSlotList must never write, DESIGN.md).  Dependency-free (libc only),
 * so a front end could link it without SQLite.
 */
#ifndef P11KMS_STORE_CONFIG_H
#define P11KMS_STORE_CONFIG_H

/*
 * This header's name shadows the generated top-level config.h for every
 * source in store/: there `#include "config.h"` finds this file first (the
 * including file's directory is searched before -I).  So it pulls in the
 * generated one with the <> form, which skips the including directory, and
 * the store sources keep their "config.h first" rule working unchanged.
 */
#include <config.h>

#include <stddef.h>
#include <stdint.h>

#include "store/config-pinread.h"
#include "store/config-pinsrc.h"

/* Defaults and limits, documented in p11kms.conf(5). */
#define P11KMS_CONFIG_DEFAULT_MIN_PIN      8
#define P11KMS_CONFIG_MIN_PIN_LOW          4
#define P11KMS_CONFIG_MIN_PIN_HIGH         255
#define P11KMS_CONFIG_KDF_LOW              10 /* store.h: p11kms_store_kdf_from_cost */
#define P11KMS_CONFIG_KDF_HIGH             22
#define P11KMS_CONFIG_DEFAULT_SEAL_RECORDS 1000
#define P11KMS_CONFIG_DEFAULT_SEAL_MINUTES 60
#define P11KMS_CONFIG_LABEL_MAX            32 /* CK_TOKEN_INFO.label */
#define P11KMS_CONFIG_MAX_TOKENS           64
#define P11KMS_CONFIG_MAX_FILE             (1024 * 1024)
#define P11KMS_CONFIG_ERR_MAX              1024

typedef enum p11kms_config_durability {
    P11KMS_DURABILITY_PROCESS = 0, /* default: survives a crash of the process */
    P11KMS_DURABILITY_POWER = 1    /* survives a power loss (fsync per record) */
} p11kms_config_durability;

typedef enum p11kms_config_served {
    P11KMS_SERVED_NO = 0,    /* default: in-process, the caller is the process */
    P11KMS_SERVED_P11KIT = 1 /* identity from the p11-kit connection's peer */
} p11kms_config_served;

/* One [token] section: one slot of the module. */
typedef struct p11kms_config_token {
    char *store;                 /* absolute path of the store file (always set) */
    char *label;                 /* NULL: not configured */
    char *unlock;                /* NULL: none; else a PIN source or keyfile:PATH, with
                                    a relative PATH already made absolute */
    p11kms_pinsrc unlock_source; /* parsed `unlock` (kind NONE when unset); points
                                    into `unlock` */
    int allow_reinit;            /* 0 (default) or 1 */
    unsigned min_pin_length;     /* default 8, 4..255 */
    unsigned kdf;                /* scrypt cost log2(N), 10..22; 0 = store's default */
    unsigned line;               /* line of the [token] header; 0 = embedded default */
    unsigned unlock_line;        /* line of `unlock`; 0 when unset */
} p11kms_config_token;

typedef struct p11kms_config {
    char *path;                  /* file that was read; NULL for the embedded default */
    p11kms_config_token *tokens; /* at least one */
    size_t ntokens;
    /* [access] */
    p11kms_config_served served; /* default NO */
    char *served_socket;         /* `served = p11-kit:/PATH`: the socket the module trusts
                                    peer credentials on; NULL = not restricted */
    char *admin_group;           /* group name or numeric gid; NULL = none */
    int rotate_new_keys;         /* 0 (default) or 1 */
    /* [audit] */
    p11kms_config_durability durability;
    unsigned seal_records;   /* default 1000; 0 = no count-based seal */
    unsigned seal_minutes;   /* default 60; 0 = no time-based seal */
    unsigned retention_days; /* default 0 = keep forever */
    int syslog;              /* 0 (default) or 1 */
} p11kms_config;

/*
 * Find and load the configuration following the search order above.
 * Returns 1 with *out set (free with p11kms_store_config_free), or 0 with one
 * line in err naming the file (and line and key where there is one).
 */
int p11kms_store_config_load(p11kms_config **out, char *err, size_t errlen);

/*
 * The file the search order selects, without reading it: 1 with the path
 * copied to buf (buf[0] == '\0' when no file exists and the embedded default
 * applies), 0 with err set (P11KMS_CONF names a missing file, no $HOME ...).
 */
int p11kms_store_config_locate(char *buf, size_t buflen, char *err, size_t errlen);

/* Load exactly this file (no search).  Same result convention. */
int p11kms_store_config_load_file(const char *path, p11kms_config **out, char *err, size_t errlen);

/*
 * Parse configuration text already in memory.  `name` is used in messages
 * and, when absolute, its directory anchors relative paths; with a relative
 * or NULL name relative paths are refused.  For tests and fuzzing.
 */
int p11kms_store_config_parse(const char *text, size_t len, const char *name, p11kms_config **out,
                              char *err, size_t errlen);

/* The embedded default (one token, default store, every default value). */
int p11kms_store_config_default(p11kms_config **out, char *err, size_t errlen);

/* The store path of the embedded default: $XDG_DATA_HOME/p11kms/store.db. */
int p11kms_store_config_default_store(char *buf, size_t buflen, char *err, size_t errlen);

/* The token whose label is `label`, or NULL. */
const p11kms_config_token *p11kms_store_config_token_by_label(const p11kms_config *cfg,
                                                              const char *label);

void p11kms_store_config_free(p11kms_config *cfg);

/*
 * Read the PIN of a token's `unlock` when it is a PIN source (file:, env:,
 * credential:) with the PIN-file rules of store/config-pinread.h, for the
 * module's unattended login.  keyfile: is not read here: its path is
 * tok->unlock_source.arg, for the store.  Returns 1 with *pin filled (free
 * with p11kms_pinsrc_secret_free), or 0 with err naming file, line and key.
 * (store/config-unlock.c)
 */
int p11kms_store_config_unlock_pin(const p11kms_config *cfg, const p11kms_config_token *tok,
                                   p11kms_pinsrc_secret *pin, char *err, size_t errlen);

#endif /* P11KMS_STORE_CONFIG_H */
