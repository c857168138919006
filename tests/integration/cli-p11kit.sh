#!/bin/bash
# tests/integration/cli-p11kit.sh — the p11kms CLI through p11-kit-client.so
# with the module served by `p11-kit server` (isolated mode's transport):
# everything the CLI does must cross p11-kit 0.24's RPC (operation objects,
# vendor attributes, CKM_ECDSA over a client-side digest).
. "$abs_top_srcdir/tests/integration/cli-lib.sh"
need p11-kit
CLIENT=""
for d in /usr/lib/x86_64-linux-gnu/pkcs11 /usr/lib/aarch64-linux-gnu/pkcs11 /usr/lib/pkcs11; do
    [ -f "$d/p11-kit-client.so" ] && CLIENT=$d/p11-kit-client.so && break
done
[ -n "$CLIENT" ] || { echo "SKIP: p11-kit-client.so not installed"; exit 77; }
cd "$T"

p11-kit server -f --provider "$MODULE" -n "$T/sock" "pkcs11:token=cli" >"$T/server.log" 2>&1 &
server=$!
cleanup_hooks+=("kill $server")
for _ in $(seq 50); do [ -S "$T/sock" ] && break; sleep 0.1; done
[ -S "$T/sock" ] || fail "p11-kit server did not start: $(cat "$T/server.log")"
export P11_KIT_SERVER_ADDRESS=unix:path=$T/sock
c() { "$P11KMS" --module "$CLIENT" "$@"; }

id=$(c create-key --alias-name alias/served --query KeyMetadata.KeyId --output text)
[[ $id =~ ^[0-9a-f-]{36}$ ]] || fail "create-key through the RPC gave '$id'"
c list-keys | jq -e --arg id "$id" '.Keys | map(.KeyId) | index($id) != null' >/dev/null \
    || fail "list-keys through the RPC"
printf 'served secret' >pt
c encrypt --key-id alias/served --plaintext fileb://pt --encryption-context where=rpc \
    --query CiphertextBlob --output text | base64 -d >ct
c decrypt --ciphertext-blob fileb://ct --encryption-context where=rpc --query Plaintext \
    --output text | base64 -d | cmp -s - pt || fail "encrypt/decrypt through the RPC"
# a blob made through the RPC decrypts in-process and the other way round
kms decrypt --ciphertext-blob fileb://ct --encryption-context where=rpc >/dev/null \
    || fail "in-process decrypt of an RPC blob"
c generate-data-key --key-id alias/served --key-spec AES_128 | jq -e '.Plaintext' >/dev/null \
    || fail "generate-data-key through the RPC"
c rotate-key-on-demand --key-id alias/served >/dev/null || fail "rotation through the RPC"

c create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY --alias-name alias/sig >/dev/null
c get-public-key --key-id alias/sig --query PublicKey --output text | base64 -d >pub.der
openssl pkey -pubin -inform DER -in pub.der -out pub.pem
c sign --key-id alias/sig --message fileb://pt --signing-algorithm ECDSA_SHA_256 \
    --query Signature --output text | base64 -d >sig
openssl dgst -sha256 -verify pub.pem -signature sig pt >/dev/null \
    || fail "ECDSA signature through the RPC"
expect 3 NotFoundException c describe-key --key-id alias/not-there
echo "cli-p11kit: ok"
