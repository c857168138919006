#!/bin/bash
# tests/integration/audit-export.sh — `p11kms audit export` writes
# CloudTrail JSON lines with signed, chained digests; `audit verify
# --exported` checks them offline (no store, no PIN) and names each kind of
# damage: an edited, deleted, inserted or reordered record, a removed,
# reordered or unlisted file, a removed or edited digest, a foreign key.
set -euo pipefail
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$abs_top_srcdir/tests/integration/audit-lib.sh"

audit_store
fill 30 3
fill 30 2
fill 30 0
expect_ok "export" "$P11KMS" audit export --output-dir "$T/exp"
grep -q '"Records": 90' "$T/out" || fail "export did not write 90 records"
nfiles=$(ls "$T/exp/records" | wc -l)
[ "$nfiles" -eq 3 ] || fail "expected one records file per day, got $nfiles"
# Every line is a CloudTrail record.
line=$(head -1 "$T/exp/records/"$(ls "$T/exp/records" | head -1))
for f in eventVersion eventTime eventSource eventName eventType userIdentity eventID readOnly \
    resources requestParameters; do
    echo "$line" | grep -q "\"$f\"" || fail "exported record lacks $f"
done

# Offline: no configuration, no store, no PIN.
verify_offline() { env -u P11KMS_PIN P11KMS_CONF=/nonexistent "$P11KMS" audit verify --exported "$@"; }
expect_ok "export verifies offline" verify_offline "$T/exp"
fpr=$(ls "$T/exp/keys" | head -1)
fpr=${fpr%.pem}
expect_ok "export verifies with the pinned fingerprint" verify_offline "$T/exp" --fingerprint "$fpr"
expect_verify_fail "wrong pinned fingerprint" "not the expected key" \
    verify_offline "$T/exp" --fingerprint "$(printf '%064d' 0)"

# An incremental export continues the digest chain.
fill 5 0
expect_ok "incremental export" "$P11KMS" audit export --output-dir "$T/exp"
grep -q '"Records": 5' "$T/out" || fail "incremental export did not write the 5 new records"
expect_ok "incremental export verifies" verify_offline "$T/exp"

mk() { rm -rf "$T/$1"; cp -a "$T/exp" "$T/$1"; echo "$T/$1"; }
files=($(cd "$T/exp/records" && ls))
digests=($(cd "$T/exp/digests" && ls *.json))

d=$(mk edited)
sed -i '5s/"Encrypt"/"Decrypt"/; 5s/"Decrypt"/"Encrypt"/; 5s/"uid":100[01]/"uid":0/' \
    "$d/records/${files[0]}"
expect_verify_fail "edited record" "${files[0]}: edited" verify_offline "$d"

d=$(mk deleted-record)
sed -i '7d' "$d/records/${files[1]}"
expect_verify_fail "deleted record" "${files[1]}: record [0-9]* deleted" verify_offline "$d"

d=$(mk inserted-record)
sed -n '3p' "$d/records/${files[1]}" >>"$d/records/${files[1]}"
expect_verify_fail "inserted record" "${files[1]}: record inserted at line 31" verify_offline "$d"

d=$(mk reordered-records)
f=$d/records/${files[2]}
{ sed -n '2p' "$f"; sed -n '1p' "$f"; sed -n '3,$p' "$f"; } >"$f.new" && mv "$f.new" "$f"
expect_verify_fail "reordered records" "${files[2]}: records reordered" verify_offline "$d"

d=$(mk removed-file)
rm "$d/records/${files[1]}"
expect_verify_fail "removed file" "${files[1]}: removed" verify_offline "$d"

d=$(mk reordered-files)
mv "$d/records/${files[0]}" "$d/tmp" && mv "$d/records/${files[1]}" "$d/records/${files[0]}"
mv "$d/tmp" "$d/records/${files[1]}"
expect_verify_fail "reordered files" "reordered (holds the content of" verify_offline "$d"

d=$(mk unlisted-file)
cp "$d/records/${files[0]}" "$d/records/20991231_000000000999-000000000999.jsonl"
expect_verify_fail "inserted file" "inserted (listed in no digest)" verify_offline "$d"

d=$(mk removed-digest)
rm "$d/digests/${digests[1]}" "$d/digests/${digests[1]}.sig"
expect_verify_fail "removed digest" "removed" verify_offline "$d"

d=$(mk edited-digest)
sed -i 's/"records": 30/"records": 29/' "$d/digests/${digests[0]}"
expect_verify_fail "edited digest" "edited" verify_offline "$d"

d=$(mk foreign-key)
k=$(ls "$d/keys"); openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null \
    | openssl ec -pubout 2>/dev/null >"$d/keys/$k"
expect_verify_fail "replaced public key" "removed or edited" verify_offline "$d"

echo "audit-export: all checks passed"
