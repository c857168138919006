#!/usr/bin/env bash
# tests/demo.sh BUILD-DIR — the README's demo: the main job end to end on the
# embedded default store (no configuration file), using the real tools:
#
#   1. initialise a token               p11kms init
#   2. create a key and an alias        p11kms create-key / create-alias
#   3. encrypt and decrypt              p11kms encrypt / decrypt (envelope, context)
#   4. rotate; old ciphertext decrypts  p11kms rotate-key-on-demand
#   5. the token through PKCS#11        pkcs11-tool --list-objects
#   6. sign through OpenSSL             openssl dgst -provider p11kms, verified by default
#   7. the audit trail                  p11kms audit list / verify
#
# The demo keeps its store under BUILD-DIR/demo-home (XDG_DATA_HOME), so it
# never touches the user's own keys; it starts from scratch on every run.
set -euo pipefail
build=$(cd "${1:?usage: tests/demo.sh BUILD-DIR}" && pwd)
home=$build/demo-home
rm -rf "$home"
mkdir -p "$home/data" "$home/config" "$home/work"
chmod 0700 "$home/data"

export XDG_DATA_HOME=$home/data XDG_CONFIG_HOME=$home/config
unset P11KMS_CONF
export P11KMS_MODULE=$build/pkcs11/.libs/p11kms-pkcs11.so
# Demo PINs come from the environment (a PIN source); never from argv.
export P11KMS_SO_PIN=demo-so-pin-0 P11KMS_PIN=demo-user-pin-0
export P11KMS_PIN_SOURCE=env:P11KMS_PIN
p11kms() { "$build/tools/p11kms" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cd "$home/work"

step "1. Initialise a token on the embedded default store ($XDG_DATA_HOME/p11kms/)"
p11kms init --label demo --so-pin-source env:P11KMS_SO_PIN --pin-source env:P11KMS_PIN

step "2. Create a symmetric customer master key with an alias"
key=$(p11kms create-key --description "demo database key" --query KeyMetadata.KeyId --output text)
p11kms create-alias --alias-name alias/demo --target-key-id "$key"
p11kms describe-key --key-id alias/demo

step "3. Envelope-encrypt a secret under alias/demo, bound to an encryption context"
printf 'the database password is hunter2\n' >secret.txt
p11kms encrypt --key-id alias/demo --plaintext fileb://secret.txt \
    --encryption-context app=demo,env=dev --query CiphertextBlob --output text | base64 -d >secret.bin
echo "ciphertext: $(wc -c <secret.bin) bytes"
p11kms decrypt --ciphertext-blob fileb://secret.bin --encryption-context app=demo,env=dev \
    --query Plaintext --output text | base64 -d
echo "decrypt with the wrong context is refused:"
if p11kms decrypt --ciphertext-blob fileb://secret.bin --encryption-context app=other; then
    echo "demo: a wrong encryption context decrypted" >&2
    exit 1
fi

step "4. Rotate the key; the old ciphertext still decrypts, new ones use version 2"
p11kms rotate-key-on-demand --key-id alias/demo
p11kms describe-key --key-id alias/demo --query KeyMetadata.CurrentKeyVersion --output text
p11kms decrypt --ciphertext-blob fileb://secret.bin --encryption-context app=demo,env=dev \
    --query Plaintext --output text | base64 -d

step "5. The same token through the standard PKCS#11 tool"
pkcs11-tool --module "$P11KMS_MODULE" --login --pin env:P11KMS_PIN --list-objects 2>/dev/null ||
    pkcs11-tool --module "$P11KMS_MODULE" --login --pin "$P11KMS_PIN" --list-objects

step "6. Sign through OpenSSL with a P-256 key that never leaves the module"
sign=$(p11kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY \
    --description "demo signing key" --query KeyMetadata.KeyId --output text)
p11kms create-alias --alias-name alias/demo-sign --target-key-id "$sign"
p11kms get-public-key --key-id alias/demo-sign --query PublicKey --output text | base64 -d >pub.der
openssl pkey -pubin -inform DER -in pub.der -out pub.pem
printf 'release 1.0 tarball\n' >release.txt
openssl dgst -sha256 -provider-path "$build/provider/.libs" -provider p11kms -provider default \
    -sign p11kms:alias/demo-sign -out release.sig release.txt
openssl dgst -sha256 -verify pub.pem -signature release.sig release.txt

step "7. The audit trail: every call above, hash-chained and sealed"
p11kms audit list --max-items 12 |
    jq -r '.Records[] | "\(.eventTime)  \(.eventName | . + " " * (20 - length))  \(.userIdentity.executable)  \(.errorCode // "ok")"'
p11kms audit seal
p11kms audit verify

step "Done: the store is $XDG_DATA_HOME/p11kms/store.db"
