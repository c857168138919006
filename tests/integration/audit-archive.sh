#!/bin/bash
# tests/integration/audit-archive.sh — `p11kms audit archive` exports old
# records, prunes them and leaves a signed checkpoint: the store still
# verifies, the archive verifies offline, a second archive (--retention
# from retention-days) continues the same export chain, and tampering
# after the checkpoint is still caught.
set -euo pipefail
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$abs_top_srcdir/tests/integration/audit-lib.sh"

audit_store "retention-days = 30"
fill 40 200
"$P11KMS" audit seal >/dev/null || fail "seal"
fill 30 100
"$P11KMS" audit seal >/dev/null || fail "seal"
fill 20 0
count() { "$P11KMS" audit list --all --max-items 100000 | grep -c '"eventID"' || true; }
[ "$(count)" -eq 90 ] || fail "expected 90 records before archiving"

expect_ok "archive --before 150d" "$P11KMS" audit archive --before 150d --output-dir "$T/arch"
grep -q '"ArchivedThroughSeq": 40' "$T/out" || { cat "$T/out"; fail "expected the cut at the seal at 40"; }
[ "$(count)" -eq 50 ] || fail "expected 50 records after the first archive"
expect_ok "store verifies from the checkpoint" "$P11KMS" audit verify
expect_ok "archive verifies offline" "$P11KMS" audit verify --exported "$T/arch"
grep -q '"LastSeq": 40' "$T/out" || fail "archive should end at 40"

expect_ok "archive --retention (30 days)" "$P11KMS" audit archive --retention --output-dir "$T/arch"
grep -q '"ArchivedThroughSeq": 70' "$T/out" || { cat "$T/out"; fail "expected the cut at 70"; }
[ "$(count)" -eq 20 ] || fail "expected 20 records after the second archive"
expect_ok "store verifies after two archives" "$P11KMS" audit verify
expect_ok "one continuous archive 1..70" "$P11KMS" audit verify --exported "$T/arch"
grep -q '"FirstSeq": 1' "$T/out" && grep -q '"LastSeq": 70' "$T/out" || fail "archive is not 1..70"

# Nothing old enough: a no-op, never an error.
expect_ok "archive with nothing to do" "$P11KMS" audit archive --retention --output-dir "$T/arch"
grep -q '"ArchivedThroughSeq": 0' "$T/out" || fail "expected nothing archived"

# The remaining chain is still tamper-evident.
db=$(copy_store after-archive)
sql "$db" "DELETE FROM audit_record WHERE seq = 75;"
expect_verify_fail "deleted record after archive" "record 75: deleted" \
    "$P11KMS" audit verify --store "$db"
db=$(copy_store checkpoint)
sql "$db" "UPDATE audit_base SET seq = 60;"
expect_verify_fail "moved checkpoint" "bad-seal\|deleted\|inserted\|modified" \
    "$P11KMS" audit verify --store "$db"
echo "audit-archive: all checks passed"
