#!/bin/bash
# tests/integration/audit-window.sh — `p11kms audit list` shows the last 90
# days by default, like CloudTrail's event history; checked by moving the
# clock 100 days ahead with libfaketime (after libasan in the sanitizer
# build, which lib.sh already put in LD_PRELOAD).  Also the filters and
# paging.
set -euo pipefail
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$abs_top_srcdir/tests/integration/audit-lib.sh"
need faketime gcc

LIBFT=/usr/lib/$(gcc -print-multiarch)/faketime/libfaketime.so.1
[ -f "$LIBFT" ] || LIBFT=$(find /usr/lib -name libfaketime.so.1 | head -1)
[ -n "$LIBFT" ] || fail "libfaketime.so.1 not found"
later() { LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$LIBFT" FAKETIME="+100d" "$@"; }
count() { grep -c '"eventID"' "$T/out" || true; }

audit_store
fill 10 120
fill 15 0
expect_ok "default list" "$P11KMS" audit list
[ "$(count)" -eq 15 ] || fail "default window should hold the 15 recent records, not $(count)"
expect_ok "list --all" "$P11KMS" audit list --all
[ "$(count)" -eq 25 ] || fail "--all should list 25 records"
expect_ok "list 100 days later" later "$P11KMS" audit list
[ "$(count)" -eq 0 ] || fail "100 days later the default window should be empty, got $(count)"
expect_ok "list --all 100 days later" later "$P11KMS" audit list --all
[ "$(count)" -eq 25 ] || fail "--all should still list 25 records"
expect_ok "explicit --start-time 100 days later" later "$P11KMS" audit list --start-time 101d
[ "$(count)" -eq 15 ] || fail "--start-time 101d should list the 15 records"

# Newest first, filters, paging.
expect_ok "newest first" "$P11KMS" audit list --all --max-items 2
seqs=$(grep -o '"sequenceNumber": [0-9]*' "$T/out" | awk '{print $2}' | tr '\n' ' ')
[ "$seqs" = "25 24 " ] || fail "expected 25 24, got $seqs"
tok=$(grep -o '"NextToken": "[0-9]*"' "$T/out" | grep -o '[0-9]*')
expect_ok "next page" "$P11KMS" audit list --all --max-items 2 --starting-token "$tok"
seqs=$(grep -o '"sequenceNumber": [0-9]*' "$T/out" | awk '{print $2}' | tr '\n' ' ')
[ "$seqs" = "23 22 " ] || fail "expected 23 22 on page 2, got $seqs"
expect_ok "--management" "$P11KMS" audit list --all --management
[ "$(count)" -eq 9 ] || fail "expected 9 management events, got $(count)"
expect_ok "--result denied" "$P11KMS" audit list --all --result denied
[ "$(count)" -eq 5 ] || fail "expected 5 denied events, got $(count)"
expect_ok "--uid 1001 --data" "$P11KMS" audit list --all --uid 1001 --data
[ "$(count)" -eq 8 ] || fail "expected 8 data events of uid 1001, got $(count)"
expect_ok "--event-name CreateKey" "$P11KMS" audit list --all --event-name CreateKey
[ "$(count)" -eq 9 ] || fail "expected 9 CreateKey events, got $(count)"
expect_ok "--key-id" "$P11KMS" audit list --all --key-id 1234abcd-12ab-34cd-56ef-1234567890ab
[ "$(count)" -eq 13 ] || fail "expected 13 events on the first key, got $(count)"
rc=0
"$P11KMS" audit list --result maybe >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a bad --result must be a usage error (2), got $rc"
echo "audit-window: all checks passed"
