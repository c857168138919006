#!/bin/bash
# tests/integration/ops-rotate.sh — `p11kms rotate-root-key`: a wrong SO
# PIN is refused and changes nothing; after a rotation every key still
# decrypts its old ciphertexts, new encryptions work, the rotation is in
# the audit chain, and the chain verifies.
. "$abs_top_srcdir/tests/integration/cli-lib.sh"
cd "$T"
"$P11KMS" backup --help >/dev/null 2>&1 \
    || fail "the CLI does not know the ops commands (tools/main.c hook, tools/ops.h)"

kms create-key --alias-name alias/rot >/dev/null || fail "create-key"
printf 'rotate me' >pt
kms encrypt --key-id alias/rot --plaintext fileb://pt --query CiphertextBlob --output text \
    | base64 -d >ct || fail "encrypt"
expect 9 "PIN incorrect" env P11KMS_SO_PIN=wrong-pin-9999 "$P11KMS" rotate-root-key
kms rotate-root-key | jq -e '.RootKeyRotated' >/dev/null || fail "rotate-root-key"
kms decrypt --ciphertext-blob fileb://ct --query Plaintext --output text | base64 -d >pt2
cmp -s pt pt2 || fail "old ciphertext does not decrypt after the root key rotation"
kms encrypt --key-id alias/rot --plaintext fileb://pt >/dev/null || fail "encrypt after rotation"
kms audit list --event-name RotateRootKey --all | grep -q RotateRootKey || fail "no audit record"
kms audit verify >/dev/null || fail "chain does not verify after the rotation"
echo "ok: rotate-root-key"
