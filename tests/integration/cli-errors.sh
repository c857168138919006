#!/bin/bash
# tests/integration/cli-errors.sh — every error class of the p11kms CLI
# (issue 9, point 4): one line on stderr naming the KMS exception and the
# exit code p11kms(1) documents; usage errors exit 2 with a hint; PINs
# from PIN sources only; key policies (put/get, a Deny that bites,
# malformed documents).
. "$abs_top_srcdir/tests/integration/cli-lib.sh"
cd "$T"
printf 'data' >pt
id=$(kms create-key --alias-name alias/e --query KeyMetadata.KeyId --output text)
kms encrypt --key-id alias/e --plaintext fileb://pt --query CiphertextBlob --output text \
    | base64 -d >ct

# --- usage errors: exit 2 and a hint
expect 2 "try 'p11kms help'" kms no-such-command
expect 2 "--key-id is required" kms describe-key
expect 2 "try 'p11kms encrypt --help'" kms encrypt --key-id alias/e --bogus 1
expect 2 "unknown option '--pin'" kms describe-key --key-id alias/e --pin 1234
expect 2 "--output must be" kms --output yaml list-keys
expect 2 "pending-window-in-days" kms schedule-key-deletion --key-id alias/e \
    --pending-window-in-days 3
expect 2 "encryption context" kms encrypt --key-id alias/e --plaintext fileb://pt \
    --encryption-context novalue
expect 2 "given twice" kms encrypt --key-id alias/e --plaintext fileb://pt \
    --encryption-context a=1,a=2
expect 2 "not valid base64" kms encrypt --key-id alias/e --plaintext '!!'
expect 2 "--query" kms describe-key --key-id alias/e --query 'a..b'
expect 2 "exactly one" kms generate-data-key --key-id alias/e
kms --help >/dev/null || fail "--help"
kms encrypt --help | grep -q -- '--encryption-context' || fail "command --help"

# --- KMS exceptions
expect 3 NotFoundException kms describe-key --key-id alias/missing
expect 3 NotFoundException kms encrypt --key-id 00000000-0000-4000-8000-000000000000 \
    --plaintext fileb://pt
# flip byte 120 (inside the ciphertext) without dd, which aborts under the ASan preload
b=$(od -An -tu1 -j120 -N1 ct | tr -d ' ')
{ head -c 120 ct; printf "\\$(printf %o $(((b + 1) % 256)))"; tail -c +122 ct; } >bad
cmp -s ct bad && fail "tampering did not change the blob"
expect 6 InvalidCiphertextException kms decrypt --ciphertext-blob fileb://bad
head -c 20 ct >short
expect 6 InvalidCiphertextException kms decrypt --ciphertext-blob fileb://short
expect 1 "cannot read" kms decrypt --ciphertext-blob fileb://"$T"/no-such-file
kms create-alias --alias-name alias/e2 --target-key-id "$id"
expect 7 AlreadyExistsException kms create-alias --alias-name alias/e2 --target-key-id "$id"
head -c 5000 /dev/zero >big
expect 7 ValidationException kms encrypt --key-id alias/e --plaintext fileb://big
expect 7 InvalidKeyUsageException kms sign --key-id alias/e --message fileb://pt \
    --signing-algorithm ECDSA_SHA_256

# --- key policy: read, replace, a Deny that bites, malformed documents
kms get-key-policy --key-id alias/e --output text --query Policy | jq -e '.Statement | length >= 1' \
    >/dev/null || fail "get-key-policy is not a policy document"
kms list-key-policies --key-id alias/e | jq -e '.PolicyNames == ["default"]' >/dev/null \
    || fail "list-key-policies"
cat >deny.json <<'POLICY'
{"Version": "2012-10-17", "Statement": [
  {"Sid": "all", "Effect": "Allow", "Principal": {"Unix": "*"}, "Action": "kms:*", "Resource": "*"},
  {"Sid": "no-encrypt", "Effect": "Deny", "Principal": {"Unix": "*"}, "Action": "kms:Encrypt",
   "Resource": "*"}]}
POLICY
kms put-key-policy --key-id alias/e --policy file://deny.json
kms get-key-policy --key-id alias/e --query Policy --output text | grep -q no-encrypt \
    || fail "put-key-policy did not replace the policy"
expect 4 AccessDeniedException kms encrypt --key-id alias/e --plaintext fileb://pt
kms decrypt --ciphertext-blob fileb://ct >/dev/null || fail "Decrypt is still allowed"
expect 7 MalformedPolicyDocumentException kms put-key-policy --key-id alias/e \
    --policy '{"Version": "2012-10-17", "Statement": ['
expect 7 MalformedPolicyDocumentException kms put-key-policy --key-id alias/e \
    --policy '{"Version": "2012-10-17", "Statement": [], "Statement": []}'
expect 2 "policy-name" kms get-key-policy --key-id alias/e --policy-name other

# --- disabled and pending deletion
kms disable-key --key-id alias/e
expect 5 DisabledException kms decrypt --ciphertext-blob fileb://ct
kms schedule-key-deletion --key-id alias/e --pending-window-in-days 30 >/dev/null
expect 5 KMSInvalidStateException kms decrypt --ciphertext-blob fileb://ct
expect 5 KMSInvalidStateException kms enable-key --key-id alias/e

# --- PINs and modules
expect 9 "login failed" env P11KMS_PIN=wrong-pin-123 "$P11KMS" list-keys
expect 9 "login failed" env -u P11KMS_PIN "$P11KMS" --pin-source env:NO_SUCH_VAR list-keys
printf 'user-pin-1234\n' >pin && chmod 600 pin
env -u P11KMS_PIN "$P11KMS" --pin-source "file:$T/pin" list-keys >/dev/null \
    || fail "--pin-source file:"
chmod 644 pin
expect 9 "login failed" env -u P11KMS_PIN "$P11KMS" --pin-source "file:$T/pin" list-keys
expect 9 "cannot load" kms --module "$T/no-such-module.so" list-keys
echo "cli-errors: ok"
