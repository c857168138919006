#!/bin/bash
# tests/integration/ops-backup.sh — `p11kms backup` / `p11kms restore`:
# a backup taken while other processes keep encrypting restores to a
# working store; restore refuses to replace a store without --force; the
# rollback shows in the first record of the restored store and in
# `audit verify` against the pre-restore head; truncated and tampered
# backups are refused with one clear line and change nothing.
. "$abs_top_srcdir/tests/integration/cli-lib.sh"
cd "$T"
"$P11KMS" backup --help >/dev/null 2>&1 \
    || fail "the CLI does not know the ops commands (tools/main.c hook, tools/ops.h)"

id=$(kms create-key --alias-name alias/ops --query KeyMetadata.KeyId --output text) \
    || fail "create-key"
printf 'before backup' >pt
kms encrypt --key-id alias/ops --plaintext fileb://pt --query CiphertextBlob --output text \
    | base64 -d >ct1 || fail "encrypt"

# Concurrent writers: two loops of encrypts (data-plane audit records) and
# one of key creation (management changes) while the backup runs.
writer() {
    local i=0
    while [ ! -e "$T/stop" ] && [ $i -lt 400 ]; do
        kms "$@" >/dev/null 2>&1 || { echo "writer failed: $*" >"$T/writer-error"; return; }
        i=$((i + 1))
    done
}
writer encrypt --key-id alias/ops --plaintext fileb://pt &
w1=$!
writer encrypt --key-id alias/ops --plaintext fileb://pt &
w2=$!
writer create-key --description concurrent &
w3=$!
sleep 1
kms backup --output-file "$T/b1.p11kmsbak" >backup.json || fail "backup under load: $(cat backup.json)"
touch "$T/stop"
wait $w1 $w2 $w3
[ ! -e "$T/writer-error" ] || fail "$(cat "$T/writer-error")"
[ "$(stat -c %a "$T/b1.p11kmsbak")" = 600 ] || fail "backup file is not 0600"
bhead=$(jq -r .ChainHead backup.json)
[[ "$bhead" =~ ^[0-9]+:[0-9a-f]{64}$ ]] || fail "backup output lacks the chain head: $(cat backup.json)"
expect 1 "never overwrites" kms backup --output-file "$T/b1.p11kmsbak"

# Changes after the backup, then the live head before restore.
kms schedule-key-deletion --key-id "$id" --pending-window-in-days 7 >/dev/null \
    || fail "schedule-key-deletion"

# Truncated / tampered / foreign backups: refused, nothing changed.
size=$(stat -c %s b1.p11kmsbak)
head -c $((size - 100)) b1.p11kmsbak >trunc.bak
head -c 30 b1.p11kmsbak >trunc2.bak
cp b1.p11kmsbak tampered.bak
# (dd without the ASan preload of the sanitizer build: it aborts on bs=1)
printf '\x55' | LD_PRELOAD= dd of=tampered.bak bs=1 seek=$((size / 2)) conv=notrunc status=none
printf 'SQLite format 3\0 not a backup' >foreign.bak
expect 7 "truncated backup" kms restore --input trunc.bak --force
expect 7 "truncated backup" kms restore --input trunc2.bak --force
expect 7 "checksum mismatch" kms restore --input tampered.bak --force
expect 7 "not a p11kms backup" kms restore --input foreign.bak --force
expect 3 "No such file" kms restore --input missing.bak --force
[ "$(kms describe-key --key-id "$id" --query KeyMetadata.KeyState --output text)" = PendingDeletion ] \
    || fail "a refused restore changed the store"
ls -a "$T/data" | grep -q p11kms-ops && fail "temporary files left behind"

# Without --force the live store is never replaced.
expect 5 "use --force" kms restore --input b1.p11kmsbak

kms audit head >pre-anchor || fail "audit head"
kms restore --input b1.p11kmsbak --force >restore.json || fail "restore: $(cat restore.json)"
jq -e --arg b "$bhead" --arg p "$(cat pre-anchor)" \
    '.BackupChainHead == $b and .PreRestoreChainHead == $p and .RolledBack' restore.json \
    >/dev/null || fail "restore output: $(cat restore.json)"

# The restored store works: the key is back to Enabled, old ciphertext
# decrypts, new encryptions work.
[ "$(kms describe-key --key-id "$id" --query KeyMetadata.KeyState --output text)" = Enabled ] \
    || fail "restored key state"
kms decrypt --ciphertext-blob fileb://ct1 --query Plaintext --output text | base64 -d >pt1
cmp -s pt pt1 || fail "restored store does not decrypt"
kms encrypt --key-id alias/ops --plaintext fileb://pt >/dev/null || fail "encrypt after restore"

# The first record after the restore says so and names both heads.
kms audit list --event-name RestoreStore --all >restored-rec.json || fail "audit list"
jq -e --arg p "$(cat pre-anchor)" \
    '[.. | objects | select(.eventName? == "RestoreStore")][0]
     | (.requestParameters.preRestoreChainHead == $p)' restored-rec.json >/dev/null \
    || fail "no RestoreStore record naming the pre-restore head: $(head -c 600 restored-rec.json)"

# The chain itself verifies; against the pre-restore head it reports the rollback.
kms audit verify >/dev/null 2>&1 || fail "restored chain does not verify on its own"
rc=0
kms audit verify --anchor "$T/pre-anchor" >verify.out 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "verify against the pre-restore head did not report the rollback"
echo "ok: backup under load, refused bad backups, restore, rollback reported"
