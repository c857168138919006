# tests/integration/mariadb-lib.sh — a private mariadbd for the mariadb-*.sh
# scripts (sourced after lib.sh): its own datadir, socket and error log under
# $T, no TCP (--skip-networking), run as root with --user=root, the
# p11kms_key_management plugin from the build tree, and a test token with
# the CLI.  The server is always killed at exit.
need mariadbd mariadb-install-db mariadb mariadb-admin timeout

PLUGIN_DIR=$abs_top_builddir/tde/.libs
P11KMS=$abs_top_builddir/tools/p11kms
[ -f "$PLUGIN_DIR/p11kms_key_management.so" ] || fail "plugin not built in $PLUGIN_DIR"
[ -x "$P11KMS" ] || fail "the CLI was not built: $P11KMS"

export P11KMS_MODULE=$MODULE
p11kms_test_store mariadb
export P11KMS_SO_PIN=so-pin-1234 P11KMS_PIN=user-pin-1234
unset P11KMS_PIN_SOURCE

DB=$T/db
SOCK=$T/mysqld.sock
ERRLOG=$T/error.log
KEYRING=$T/keyring/mariadb.keyring
PINFILE=$T/pin
CMK=alias/it-mariadb
MYSQLD_PID=

kms() { "$P11KMS" "$@"; }

# mdb_conf FILE [EXTRA-LINE...] — the server configuration of every start.
mdb_conf() {
    local f=$1
    shift
    cat >"$f" <<CNF
[mariadbd]
datadir = $DB
socket = $SOCK
pid-file = $T/mysqld.pid
log-error = $ERRLOG
skip-networking
user = root
plugin_dir = $PLUGIN_DIR
plugin_load_add = p11kms_key_management
p11kms_key_management = FORCE_PLUS_PERMANENT
p11kms_key_management_module = $MODULE
p11kms_key_management_pin = file:$PINFILE
p11kms_key_management_keyring = $KEYRING
p11kms_key_management_cmk = $CMK
p11kms_key_management_cmk_check_interval = 1
innodb_encrypt_tables = ON
innodb_encrypt_log = ON
innodb_encrypt_temporary_tables = ON
innodb_encryption_threads = 1
innodb_encryption_rotate_key_age = 1
encrypt_binlog = ON
encrypt_tmp_files = ON
aria_encrypt_tables = ON
log_bin = $DB/binlog
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
CNF
    printf '%s\n' "$@" >>"$f"
}

# The token, the PIN file and a fresh datadir whose files are encrypted
# from the first byte (the install runs with the plugin, which creates the
# keyring under the test CMK $CMK).
mdb_setup() {
    kms init --label mariadb >/dev/null || fail "p11kms init failed"
    kms create-key --alias-name "$CMK" --description "MariaDB test CMK" >/dev/null ||
        fail "cannot create the CMK"
    printf '%s' "$P11KMS_PIN" >"$PINFILE"
    chmod 0600 "$PINFILE"
    mkdir -p "$T/keyring" "$DB"
    chmod 0700 "$T/keyring"
    mdb_conf "$T/my.cnf"
    mdb_conf "$T/my-create.cnf" "p11kms_key_management_create_keyring = ON"
    timeout 120 mariadb-install-db --defaults-file="$T/my-create.cnf" --skip-test-db \
        --plugin-dir="$PLUGIN_DIR" \
        --auth-root-authentication-method=normal >"$T/install.log" 2>&1 || {
        cat "$T/install.log" "$ERRLOG" >&2 2>/dev/null
        fail "mariadb-install-db failed"
    }
    [ -s "$KEYRING" ] || fail "the install created no keyring"
}

mdb_kill() {
    if [ -n "$MYSQLD_PID" ] && kill -0 "$MYSQLD_PID" 2>/dev/null; then
        kill -9 "$MYSQLD_PID" 2>/dev/null || true
        wait "$MYSQLD_PID" 2>/dev/null || true
    fi
    MYSQLD_PID=
}
cleanup_hooks+=(mdb_kill)

# mdb_start [CNF] — start and wait for the socket (60 s); fails on exit.
mdb_start() {
    local cnf=${1:-$T/my.cnf} i
    mariadbd --defaults-file="$cnf" &
    MYSQLD_PID=$!
    for i in $(seq 1 600); do
        if mariadb-admin --socket="$SOCK" -uroot ping >/dev/null 2>&1; then return 0; fi
        kill -0 "$MYSQLD_PID" 2>/dev/null || { tail -20 "$ERRLOG" >&2; fail "mariadbd exited"; }
        sleep 0.1
    done
    fail "mariadbd did not start in 60 s"
}

# mdb_start_refused PATTERN — the server must exit by itself (60 s) and its
# error log must name the reason.
mdb_start_refused() {
    local pattern=$1 rc=0
    : >"$ERRLOG"
    timeout 60 mariadbd --defaults-file="$T/my.cnf" || rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "mariadbd did not refuse to start (rc $rc)"
    grep -q "p11kms_key_management: .*$pattern" "$ERRLOG" || {
        tail -20 "$ERRLOG" >&2
        fail "no '$pattern' from the plugin in the error log"
    }
    echo "refused as expected: $(grep -m1 "p11kms_key_management: " "$ERRLOG")"
}

# mdb_stop — clean shutdown (60 s).
mdb_stop() {
    timeout 60 mariadb-admin --socket="$SOCK" -uroot shutdown || fail "shutdown failed"
    wait "$MYSQLD_PID" 2>/dev/null || true
    MYSQLD_PID=
}

sql() { timeout 60 mariadb --socket="$SOCK" -uroot -N -B -e "$1"; }

# wait_for SECONDS SQL EXPECTED — poll until SQL prints EXPECTED.
wait_for() {
    local secs=$1 q=$2 want=$3 i got=
    for i in $(seq 1 $((secs * 2))); do
        got=$(sql "$q" 2>/dev/null || true)
        [ "$got" = "$want" ] && return 0
        sleep 0.5
    done
    fail "after ${secs}s '$q' gives '$got', not '$want'"
}
