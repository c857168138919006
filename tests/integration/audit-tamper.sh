#!/bin/bash
# tests/integration/audit-tamper.sh — `p11kms audit verify` against a store
# tampered with through the real sqlite3 CLI: a modified, deleted, inserted
# and reordered record are each detected and named; a tail cut back to an
# earlier seal passes without an anchor and is caught with one (a head file
# and an export directory); records from real module operations verify.
set -euo pipefail
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$abs_top_srcdir/tests/integration/audit-lib.sh"

audit_store
fill 20 0
"$P11KMS" audit seal >/dev/null || fail "seal"
"$P11KMS" audit head >"$T/anchor-20" || fail "head"
fill 20 0
"$P11KMS" audit seal >/dev/null || fail "seal"
"$P11KMS" audit head >"$T/anchor-40" || fail "head"
expect_ok "intact store verifies" "$P11KMS" audit verify --require-sealed
grep -q '"Result": "intact"' "$T/out" || fail "verify did not say intact"
expect_ok "intact store verifies against its anchor" "$P11KMS" audit verify --anchor "$T/anchor-40"

db=$(copy_store modified)
sql "$db" "UPDATE audit_record SET event_name = 'Decrypt' WHERE seq = 10;"
expect_verify_fail "modified record" "record 10: modified" "$P11KMS" audit verify --store "$db"

db=$(copy_store deleted)
sql "$db" "DELETE FROM audit_record WHERE seq = 12;"
expect_verify_fail "deleted record" "record 12: deleted" "$P11KMS" audit verify --store "$db"

cols="event_id, event_time, event_name, event_type, management, read_only, uid, gid, pid, user,
      executable, key_id, key_version, request_json, response_json, error_code, error_message,
      prev_hash, hash"
db=$(copy_store inserted)
sql "$db" "UPDATE audit_record SET seq = -seq WHERE seq > 15;
           UPDATE audit_record SET seq = 1 - seq WHERE seq < 0;
           INSERT INTO audit_record(seq, $cols) SELECT 16, $cols FROM audit_record WHERE seq = 3;"
expect_verify_fail "inserted record" "record 16: inserted" "$P11KMS" audit verify --store "$db"

db=$(copy_store reordered)
sql "$db" "UPDATE audit_record SET seq = -1 WHERE seq = 21;
           UPDATE audit_record SET seq = 21 WHERE seq = 22;
           UPDATE audit_record SET seq = 22 WHERE seq = -1;"
expect_verify_fail "reordered records" ": reordered" "$P11KMS" audit verify --store "$db"

# Cut back to the seal at 20: nothing inside the file can show it ...
db=$(copy_store cut)
sql "$db" "DELETE FROM audit_record WHERE seq > 20; DELETE FROM audit_seal WHERE seq > 20;"
expect_ok "cut-back store alone looks intact" "$P11KMS" audit verify --store "$db"
# ... an anchor kept elsewhere does: a head file, SEQ:HASH, an export.
expect_verify_fail "cut back (anchor file)" "truncated" \
    "$P11KMS" audit verify --store "$db" --anchor "$T/anchor-40"
expect_verify_fail "cut back (SEQ:HASH)" "truncated" \
    "$P11KMS" audit verify --store "$db" --anchor "$(cat "$T/anchor-40")"
"$P11KMS" audit export --output-dir "$T/exp" >/dev/null || fail "export"
expect_verify_fail "cut back (export directory)" "truncated" \
    "$P11KMS" audit verify --store "$db" --anchor "$T/exp"
expect_ok "earlier anchor still matches" "$P11KMS" audit verify --store "$db" --anchor "$T/anchor-20"

# An unsealed tail is a warning, an error only with --require-sealed.
fill 3 0
expect_ok "unsealed tail is a warning" "$P11KMS" audit verify
grep -q 'not sealed yet' "$T/err" || fail "no unsealed-tail warning"
expect_verify_fail "unsealed tail with --require-sealed" "unsealed-tail" \
    "$P11KMS" audit verify --require-sealed

# Records of real operations through the module.
if [ -f "$MODULE" ] && command -v pkcs11-tool >/dev/null; then
    mstore=$T/module
    mkdir -p "$mstore" && chmod 0700 "$mstore"
    printf '[token]\nstore = %s/store.db\nlabel = audit-m\nkdf = 10\n' "$mstore" >"$T/conf/m.conf"
    export P11KMS_CONF=$T/conf/m.conf
    pkcs11-tool --module "$MODULE" --init-token --label audit-m --so-pin "$PIN" >/dev/null 2>&1 \
        || fail "pkcs11-tool --init-token"
    pkcs11-tool --module "$MODULE" --login --login-type so --so-pin "$PIN" --init-pin \
        --pin "$PIN" >/dev/null 2>&1 || fail "pkcs11-tool --init-pin"
    pkcs11-tool --module "$MODULE" --login --pin "$PIN" --keygen --key-type AES:32 \
        --label audit-it >/dev/null 2>&1 || fail "pkcs11-tool --keygen"
    n=$("$P11KMS" audit list --query 'Records' --output json | grep -c '"eventName"' || true)
    [ "$n" -ge 1 ] || fail "module operations left no audit record"
    "$P11KMS" audit list --event-name CreateKey >"$T/out" || fail "audit list --event-name"
    grep -q '"AWS::KMS::Key"' "$T/out" || fail "no CreateKey record with its key from the module"
    expect_ok "module records verify" "$P11KMS" audit verify
    echo "ok - $n records from module operations"
fi
echo "audit-tamper: all checks passed"
