# tests/integration/audit-lib.sh — shared setup of the audit-*.sh scripts:
# a private configuration and store (via lib.sh's temporary directory),
# the built CLI, the bulk-append helper, and checks that a command fails
# with the verify exit code and names what it should.
. "$abs_top_srcdir/tests/integration/lib.sh"
need sqlite3

P11KMS=$abs_top_builddir/tools/p11kms
FILL=$abs_top_builddir/tests/tools/test-audit-fill
PIN=audit-test-pin-1
export P11KMS_PIN=$PIN
DB=$T/data/store.db

# audit_store [EXTRA-AUDIT-LINES] — config + initialised token.
audit_store() {
    mkdir -p "$T/conf" "$T/data"
    chmod 0700 "$T/data"
    printf '[token]\nstore = %s\nlabel = audit\nkdf = 10\n[audit]\n%s\n' "$DB" "${1:-}" \
        >"$T/conf/p11kms.conf"
    export P11KMS_CONF=$T/conf/p11kms.conf XDG_DATA_HOME=$T/data XDG_CONFIG_HOME=$T/conf
    "$FILL" "$DB" init "$PIN" || fail "cannot create the test store"
}

# fill COUNT AGE-DAYS — append records (logged in, so due seals happen).
fill() { "$FILL" "$DB" append "$1" "$2" "$PIN" || fail "cannot append records"; }

# sql DB STATEMENTS — tamper with a store file like an attacker would.
sql() { sqlite3 "$1" "$2" || fail "sqlite3: $2"; }

# copy_store NAME — a checkpointed copy of the store to tamper with.
copy_store() {
    sql "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    cp "$DB" "$T/$1.db"
    echo "$T/$1.db"
}

# expect_verify_fail WHAT PATTERN CMD... — CMD exits 8 and says PATTERN.
expect_verify_fail() {
    local what=$1 pattern=$2 rc=0
    shift 2
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 8 ] || { cat "$T/err" >&2; fail "$what: exit $rc, expected 8"; }
    grep -q -- "$pattern" "$T/err" || { cat "$T/err" >&2; fail "$what: message lacks '$pattern'"; }
    echo "ok - $what: $(head -1 "$T/err")"
}

# expect_ok WHAT CMD... — CMD succeeds.
expect_ok() {
    local what=$1
    shift
    "$@" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "$what: failed"; }
    echo "ok - $what"
}
