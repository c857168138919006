#!/bin/bash
# tests/integration/cli-lifecycle.sh — a whole key life through the built
# p11kms CLI: create, alias, describe/list, encrypt/decrypt with a
# context, data keys, re-encrypt, rotation (on demand and automatic under
# libfaketime), old versions still decrypting, the deletion window ending
# in run-due; outputs checked with jq.
. "$abs_top_srcdir/tests/integration/cli-lib.sh"
cd "$T"

# --- create, alias, describe, list
id=$(kms create-key --description "app key" --query KeyMetadata.KeyId --output text)
[[ $id =~ ^[0-9a-f-]{36}$ ]] || fail "create-key gave '$id'"
kms create-alias --alias-name alias/app --target-key-id "$id"
kms describe-key --key-id alias/app >desc.json
[ "$(jq -r .KeyMetadata.KeyId desc.json)" = "$id" ] || fail "describe by alias"
[ "$(jq -r .KeyMetadata.KeyState desc.json)" = Enabled ] || fail "state"
[ "$(jq -r .KeyMetadata.KeySpec desc.json)" = SYMMETRIC_DEFAULT ] || fail "spec"
[ "$(jq -r .KeyMetadata.Description desc.json)" = "app key" ] || fail "description"
kms list-keys | jq -e --arg id "$id" '.Keys | map(.KeyId) | index($id) != null' >/dev/null \
    || fail "list-keys lacks the key"
kms list-aliases --key-id "$id" | jq -e '.Aliases[0].AliasName == "alias/app"' >/dev/null \
    || fail "list-aliases"
[ "$(kms describe-key --key-id "$id" --output text --query KeyMetadata.KeyState)" = Enabled ] \
    || fail "--output text --query"
kms describe-key --key-id "$id" --output table | grep -q '| KeyMetadata.KeyId' \
    || fail "--output table"

# --- encrypt / decrypt with an encryption context
head -c 1000 /dev/urandom >pt
kms encrypt --key-id alias/app --plaintext fileb://pt --encryption-context app=web,env=prod >enc.json
[ "$(jq -r .KeyId enc.json)" = "$id" ] || fail "encrypt KeyId"
jq -r .CiphertextBlob enc.json | base64 -d >ct
kms decrypt --ciphertext-blob fileb://ct --encryption-context '{"env":"prod","app":"web"}' \
    --output text --query Plaintext | base64 -d >pt.out
cmp -s pt pt.out || fail "decrypt round trip"
# stdin input and base64 literal input
kms decrypt --ciphertext-blob - --encryption-context env=prod,app=web <ct | jq -e '.Plaintext' \
    >/dev/null || fail "decrypt from stdin"
kms encrypt --key-id "$id" --plaintext "$(printf hi | base64)" | jq -e .CiphertextBlob >/dev/null \
    || fail "base64 plaintext"
expect 6 InvalidCiphertextException kms decrypt --ciphertext-blob fileb://ct --encryption-context app=web

# --- data keys
kms generate-data-key --key-id alias/app --key-spec AES_256 --encryption-context f=1 >dk.json
[ "$(jq -r .Plaintext dk.json | base64 -d | wc -c)" -eq 32 ] || fail "data key length"
jq -r .CiphertextBlob dk.json | base64 -d >dk.ct
[ "$(kms decrypt --ciphertext-blob fileb://dk.ct --encryption-context f=1 --query Plaintext \
      --output text)" = "$(jq -r .Plaintext dk.json)" ] || fail "data key decrypts to its plaintext"
kms generate-data-key-without-plaintext --key-id alias/app --number-of-bytes 64 >dk2.json
jq -e 'has("Plaintext") | not' dk2.json >/dev/null || fail "without-plaintext has a Plaintext"
[ "$(jq -r .CiphertextBlob dk2.json | base64 -d | kms decrypt --ciphertext-blob - \
      --query Plaintext --output text | base64 -d | wc -c)" -eq 64 ] || fail "64-byte data key"

# --- re-encrypt to a second key
id2=$(kms create-key --alias-name alias/other --query KeyMetadata.KeyId --output text)
kms re-encrypt --ciphertext-blob fileb://ct --source-encryption-context app=web,env=prod \
    --destination-key-id alias/other --destination-encryption-context v=2 >re.json
[ "$(jq -r .SourceKeyId re.json)" = "$id" ] && [ "$(jq -r .KeyId re.json)" = "$id2" ] \
    || fail "re-encrypt key ids: $(cat re.json)"
jq -r .CiphertextBlob re.json | base64 -d >ct2
kms decrypt --ciphertext-blob fileb://ct2 --encryption-context v=2 --query Plaintext \
    --output text | base64 -d | cmp -s - pt || fail "re-encrypted blob decrypts"
expect 6 IncorrectKeyException kms decrypt --ciphertext-blob fileb://ct2 --key-id alias/app \
    --encryption-context v=2

# --- rotation on demand: old blobs still decrypt, new ones use version 2
kms rotate-key-on-demand --key-id alias/app | jq -e --arg id "$id" '.KeyId == $id' >/dev/null \
    || fail "rotate-key-on-demand"
[ "$(kms describe-key --key-id alias/app --query KeyMetadata.CurrentKeyVersion)" = 2 ] \
    || fail "version 2 after rotation"
kms decrypt --ciphertext-blob fileb://ct --encryption-context app=web,env=prod >/dev/null \
    || fail "old version decrypts after rotation"

# --- automatic rotation under libfaketime
kms enable-key-rotation --key-id alias/app --rotation-period-in-days 90
kms get-key-rotation-status --key-id alias/app >rot.json
jq -e '.KeyRotationEnabled == true and .RotationPeriodInDays == 90' rot.json >/dev/null \
    || fail "rotation status: $(cat rot.json)"
at +91d "$P11KMS" run-due >due.json
jq -e '.Rotated >= 1 and .Failed == 0' due.json >/dev/null || fail "run-due rotation: $(cat due.json)"
[ "$(at +91d "$P11KMS" describe-key --key-id alias/app --query KeyMetadata.CurrentKeyVersion)" = 3 ] \
    || fail "version 3 after automatic rotation"
at +91d "$P11KMS" decrypt --ciphertext-blob fileb://ct --encryption-context app=web,env=prod \
    >/dev/null || fail "version 1 still decrypts"
kms disable-key-rotation --key-id alias/app
kms get-key-rotation-status --key-id alias/app | jq -e '.KeyRotationEnabled == false' >/dev/null \
    || fail "disable-key-rotation"

# --- disable / enable
kms disable-key --key-id alias/other
expect 5 DisabledException kms encrypt --key-id alias/other --plaintext fileb://pt
kms enable-key --key-id alias/other
kms encrypt --key-id alias/other --plaintext fileb://pt >/dev/null || fail "enable-key"

# --- the deletion window: pending, cancel, schedule again, destroyed after 7 days
kms schedule-key-deletion --key-id alias/other --pending-window-in-days 7 >del.json
jq -e '.KeyState == "PendingDeletion" and .PendingWindowInDays == 7' del.json >/dev/null \
    || fail "schedule-key-deletion: $(cat del.json)"
expect 5 KMSInvalidStateException kms encrypt --key-id alias/other --plaintext fileb://pt
kms cancel-key-deletion --key-id alias/other >/dev/null
[ "$(kms describe-key --key-id "$id2" --query KeyMetadata.KeyState --output text)" = Disabled ] \
    || fail "cancel leaves the key Disabled"
kms schedule-key-deletion --key-id "$id2" --pending-window-in-days 7 >/dev/null
at +6d "$P11KMS" run-due | jq -e '.Deleted == 0' >/dev/null || fail "deleted before the window"
at +8d "$P11KMS" run-due | jq -e '.Deleted == 1' >/dev/null || fail "not deleted after the window"
expect 3 NotFoundException kms describe-key --key-id "$id2"
expect 3 NotFoundException kms decrypt --ciphertext-blob fileb://ct2 --encryption-context v=2
kms describe-key --key-id alias/app >/dev/null || fail "the other key survived"

# --- aliases: update and delete
kms create-alias --alias-name alias/moving --target-key-id "$id"
id3=$(kms create-key --query KeyMetadata.KeyId --output text)
kms update-alias --alias-name alias/moving --target-key-id "$id3"
[ "$(kms describe-key --key-id alias/moving --query KeyMetadata.KeyId --output text)" = "$id3" ] \
    || fail "update-alias"
kms delete-alias --alias-name alias/moving
expect 3 NotFoundException kms describe-key --key-id alias/moving
echo "cli-lifecycle: ok"
