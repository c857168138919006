#!/bin/bash
# tests/integration/mariadb-tde.sh — MariaDB encrypted by the
# p11kms_key_management plugin, on a real mariadbd (tests/integration/
# mariadb-lib.sh): InnoDB tables, redo log and binlog encrypted under keys
# from a p11kms keyring; a marker row survives restarts and appears in no
# file of the datadir; the audit shows the plugin's Decrypt calls; a CMK
# rotation and SET GLOBAL p11kms_key_management_rotate_key each add a key
# version that InnoDB re-encrypts to; a wrong PIN, a key policy denying
# Decrypt, a missing or a tampered keyring stop the server with a clear line
# in its error log.
set -euo pipefail
: "${abs_top_srcdir:?run by make check, or set abs_top_srcdir and abs_top_builddir}"
. "$abs_top_srcdir/tests/integration/lib.sh"
. "$abs_top_srcdir/tests/integration/mariadb-lib.sh"
need grep sqlite3 jq

MARKER="p11kms-marker-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
VERSION_Q="SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
           WHERE VARIABLE_NAME = 'P11KMS_KEY_MANAGEMENT_KEY_VERSION'"
# Tablespaces not encrypted, not yet told of key version $1 (CURRENT), or
# with pages older than $2 (MIN).  MariaDB re-encrypts a page when its key
# version + innodb_encryption_rotate_key_age (1 here) < the latest version,
# so pages move on at every second rotation.
behind_q() {
    echo "SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION
          WHERE ENCRYPTION_SCHEME = 0 OR CURRENT_KEY_VERSION < $1 OR MIN_KEY_VERSION < $2"
}

mdb_setup
mdb_start

# ---- the marker: stored, readable, encrypted everywhere -----------------
sql "CREATE DATABASE it; CREATE TABLE it.m (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
     INSERT INTO it.m VALUES (1, '$MARKER'), (2, CONCAT('$MARKER', '-2'));" ||
    fail "cannot create the table"
[ "$(sql "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES
          WHERE VARIABLE_NAME = 'P11KMS_KEY_MANAGEMENT_KEYRING'")" = "$KEYRING" ] ||
    fail "p11kms_key_management_keyring is not visible"
[ "$(sql "$VERSION_Q")" = 1 ] || fail "key version is not 1 after install"
[ "$(sql "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS
          WHERE PLUGIN_NAME = 'p11kms_key_management'")" = ACTIVE ] || fail "plugin not active"
wait_for 60 "$(behind_q 1 1)" 0
sql "SHOW BINARY LOGS" | grep -q binlog || fail "binary logging is off"

mdb_stop
if grep -r -l -a -F "$MARKER" "$DB"; then fail "the marker is in the clear in the datadir"; fi
mdb_start
[ "$(sql "SELECT v FROM it.m WHERE id = 1")" = "$MARKER" ] || fail "row lost after restart"

# ---- the audit: each start unwrapped the DEK with an audited Decrypt ------
# (data events of the server's process are folded into the chain on its
# clean exit, so the first two starts are in it by now)
n=$(kms audit list --all --event-name Decrypt --max-items 100000 | grep -c mariadbd || true)
[ "$n" -ge 2 ] || {
    n=$(sqlite3 "$T/data/store.db" "SELECT COUNT(*) FROM audit_record
        WHERE event_name = 'Decrypt' AND executable LIKE '%mariadbd'")
    [ "$n" -ge 2 ] || fail "the audit shows $n Decrypt calls by mariadbd, not >= 2"
}

# ---- a CMK rotation adds a key version, InnoDB re-encrypts to it ----------
before=$(sha256sum "$KEYRING")
kms rotate-key-on-demand --key-id "$CMK" >/dev/null || fail "CMK rotation failed"
wait_for 30 "$VERSION_Q" 2
[ "$(sha256sum "$KEYRING")" != "$before" ] || fail "the keyring file did not change"
grep -q "the CMK was rotated" "$ERRLOG" || fail "no rotation note in the error log"
wait_for 30 "$(behind_q 2 1)" 0
[ "$(sql "SELECT v FROM it.m WHERE id = 2")" = "$MARKER-2" ] || fail "row unreadable after rotation"

# ---- SET GLOBAL p11kms_key_management_rotate_key ---------------------------
sql "SET GLOBAL p11kms_key_management_rotate_key = 1" || fail "SET GLOBAL rotate_key failed"
[ "$(sql "$VERSION_Q")" = 3 ] || fail "SET GLOBAL rotate_key did not add version 3"
if sql "SET GLOBAL p11kms_key_management_rotate_key = -5" 2>/dev/null; then
    fail "a bad rotate_key value was accepted"
fi
wait_for 90 "$(behind_q 3 3)" 0
sql "INSERT INTO it.m VALUES (3, '$MARKER-3')" || fail "insert after rotation"
mdb_stop
if grep -r -l -a -F "$MARKER" "$DB"; then fail "the marker is in the clear after rotation"; fi
mdb_start
[ "$(sql "$VERSION_Q")" = 3 ] || fail "key version 3 not kept across a restart"
[ "$(sql "SELECT COUNT(*) FROM it.m WHERE v LIKE '$MARKER%'")" = 3 ] || fail "rows lost"
mdb_stop

# ---- refusals: missing keyring, tampered keyring, denied policy, wrong PIN --
mv "$KEYRING" "$KEYRING.saved"
mdb_start_refused "cannot open keyring"
cp "$KEYRING.saved" "$KEYRING"
size=$(stat -c %s "$KEYRING")
# (dd without the ASan preload of the sanitizer build: it aborts on bs=1)
printf '\x55' | LD_PRELOAD= dd of="$KEYRING" bs=1 seek=$((size - 40)) conv=notrunc status=none
mdb_start_refused "cannot open keyring"
cp "$KEYRING.saved" "$KEYRING"
kms get-key-policy --key-id "$CMK" --policy-name default | jq -r .Policy >"$T/policy.json"
jq '.Statement += [{"Sid": "Deny Decrypt", "Effect": "Deny", "Principal": {"Unix": "*"},
                    "Action": "kms:Decrypt", "Resource": "*"}]' "$T/policy.json" >"$T/deny.json"
kms put-key-policy --key-id "$CMK" --policy "file://$T/deny.json" || fail "put-key-policy"
mdb_start_refused "AccessDeniedException"
kms put-key-policy --key-id "$CMK" --policy "file://$T/policy.json" || fail "policy restore"
printf 'wrong-pin-0000' >"$PINFILE"
mdb_start_refused "PIN"
printf '%s' "$P11KMS_PIN" >"$PINFILE"
mdb_start
[ "$(sql "SELECT COUNT(*) FROM it.m")" = 3 ] || fail "rows lost after the refusals"
mdb_stop
echo "mariadb-tde: all checks passed"
