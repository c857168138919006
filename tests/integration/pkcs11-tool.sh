#!/bin/bash
# tests/integration/pkcs11-tool.sh — the p11kms module driven by the real
# tools users have: OpenSC's pkcs11-tool (init, login, keygen, key pairs,
# sign/verify checked with openssl, OAEP decryption of data openssl
# encrypted, list, delete), GnuTLS's p11tool (list tokens and objects,
# export an EC public key) and NSS (modutil -add/-list, certutil -K),
# against a store in a temporary directory.
# Exit 77 (skip) only when one of the tools is not installed.
set -euo pipefail

for tool in pkcs11-tool p11tool modutil certutil openssl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

MODULE=${P11KMS_TEST_MODULE:-${abs_top_builddir:-$PWD}/pkcs11/.libs/p11kms-pkcs11.so}
[ -f "$MODULE" ] || { echo "FAIL: module $MODULE not built"; exit 1; }
T=$(mktemp -d /tmp/p11kms-tool-XXXXXX)
trap 'rm -rf "$T"' EXIT
cat > "$T/p11kms.conf" <<CONF
[token]
store = $T/store.db
label = itest
kdf = 10
CONF
export P11KMS_CONF=$T/p11kms.conf XDG_DATA_HOME=$T
SO=so-pin-123 PIN=user-pin-123
P=(pkcs11-tool --module "$MODULE")
L=("${P[@]}" --login --pin "$PIN")
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
fail() { echo "FAIL: $*"; exit 1; }

"${P[@]}" -L | grep -q "uninitialized" || fail "fresh token should be uninitialised"
[ ! -e "$T/store.db" ] || fail "listing slots created the store"
ok "listing an uninitialised token writes nothing"

"${P[@]}" --init-token --label itest --so-pin "$SO" >/dev/null
"${P[@]}" --init-pin --login --login-type so --so-pin "$SO" --pin "$PIN" >/dev/null
"${P[@]}" -L | grep -q "PIN initialized" || fail "user PIN not initialised"
ok "pkcs11-tool --init-token / --init-pin"

"${L[@]}" --keygen --key-type AES:32 --label aes1 --id a1 >/dev/null 2>&1 || fail "AES keygen"
"${L[@]}" --keypairgen --key-type rsa:2048 --label rsa1 --id 01 >/dev/null || fail "RSA keygen"
"${L[@]}" --keypairgen --key-type EC:secp384r1 --label ec1 --id 02 >/dev/null || fail "EC keygen"
"${L[@]}" --keypairgen --key-type rsa:2048 --label rsadec --id 03 --usage-decrypt >/dev/null \
    || fail "RSA decrypt keygen"
ok "keygen AES:32, rsa:2048, EC:secp384r1 with the tool's default templates"

objs=$("${L[@]}" --list-objects 2>/dev/null)
for l in aes1 rsa1 ec1 rsadec; do grep -q "label: *$l" <<<"$objs" || fail "missing $l"; done
[ "$(grep -c 'Private Key Object' <<<"$objs")" = 3 ] || fail "expected 3 private keys"
ok "--list-objects shows every key"

echo "p11kms integration data" > "$T/data"
"${L[@]}" --sign --id 01 -m SHA256-RSA-PKCS -i "$T/data" -o "$T/sig.rsa" >/dev/null 2>&1
"${L[@]}" --read-object --type pubkey --id 01 -o "$T/rsa.der" >/dev/null 2>&1
openssl dgst -sha256 -verify "$T/rsa.der" -keyform DER -signature "$T/sig.rsa" "$T/data" \
    >/dev/null || fail "RSA signature does not verify"
openssl dgst -sha256 -binary "$T/data" > "$T/dg"
"${L[@]}" --sign --id 01 -m RSA-PKCS-PSS --hash-algorithm SHA256 --mgf MGF1-SHA256 \
    -i "$T/dg" -o "$T/sig.pss" >/dev/null 2>&1
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -verify "$T/rsa.der" -keyform DER -signature "$T/sig.pss" "$T/data" >/dev/null \
    || fail "PSS signature does not verify"
ok "RSA PKCS#1 and PSS signatures verify with openssl"

"${L[@]}" --sign --id 02 -m ECDSA-SHA384 --signature-format openssl -i "$T/data" \
    -o "$T/sig.ec" >/dev/null 2>&1
GNUTLS_PIN=$PIN p11tool --provider "$MODULE" --login --export-pubkey \
    "pkcs11:token=itest;object=ec1;type=public" --outfile "$T/ec.pem" >/dev/null 2>&1 \
    || fail "p11tool --export-pubkey"
openssl dgst -sha384 -verify "$T/ec.pem" -signature "$T/sig.ec" "$T/data" >/dev/null \
    || fail "ECDSA signature does not verify"
"${L[@]}" --verify --id 02 -m ECDSA-SHA384 --signature-format openssl -i "$T/data" \
    --signature-file "$T/sig.ec" >/dev/null 2>&1 || fail "pkcs11-tool --verify"
ok "ECDSA signs (checked with openssl) and verifies; p11tool exports the EC key"

"${L[@]}" --read-object --type pubkey --id 03 -o "$T/dec.der" >/dev/null 2>&1
printf 'oaep secret' > "$T/pt"
openssl pkeyutl -encrypt -pubin -keyform DER -inkey "$T/dec.der" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/pt" -out "$T/ct"
"${L[@]}" --decrypt --id 03 -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 \
    -i "$T/ct" -o "$T/back" >/dev/null 2>&1 || fail "OAEP decrypt"
cmp -s "$T/pt" "$T/back" || fail "OAEP round trip"
ok "RSA-OAEP decryption of data openssl encrypted"

"${L[@]}" --test >"$T/test.log" 2>&1 || { cat "$T/test.log"; fail "pkcs11-tool --test"; }
ok "pkcs11-tool --test exits 0"

"${L[@]}" --delete-object --type secrkey --label aes1 >/dev/null 2>&1 || fail "delete"
"${L[@]}" --list-objects 2>/dev/null | grep -q "label: *aes1" && fail "deleted key still listed"
ok "--delete-object schedules deletion and hides the key"

p11tool --provider "$MODULE" --list-tokens | grep -q "itest" || fail "p11tool --list-tokens"
GNUTLS_PIN=$PIN p11tool --provider "$MODULE" --login --list-all "pkcs11:token=itest" 2>/dev/null \
    | grep -q "rsa1" || fail "p11tool --list-all"
ok "p11tool --list-tokens / --list-all"

mkdir "$T/nss"
echo "$PIN" > "$T/pinfile"
certutil -N -d "sql:$T/nss" --empty-password
modutil -dbdir "sql:$T/nss" -add p11kms -libfile "$MODULE" -force >/dev/null 2>&1 \
    || fail "modutil -add"
modutil -dbdir "sql:$T/nss" -list 2>/dev/null | grep -q "itest" || fail "modutil -list"
certutil -K -d "sql:$T/nss" -h itest -f "$T/pinfile" 2>/dev/null | grep -qE "rsa1|ec1|<[ 0-9]+>" \
    || fail "certutil -K"
ok "NSS modutil -add / -list and certutil -K"

echo "$pass passed, 0 failed"
