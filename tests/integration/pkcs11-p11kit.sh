#!/bin/bash
# tests/integration/pkcs11-p11kit.sh — the module served by `p11-kit server`
# and used through p11-kit-client.so (isolated mode's transport), to pin
# down what crosses p11-kit 0.24's RPC: token, login, key generation,
# CKM_ECDSA / CKM_RSA_PKCS_PSS signatures (mechanisms that cross) and a
# KMS Encrypt/Decrypt through CKO_P11KMS_OPERATION objects (vendor
# attributes cross; vendor and AES-with-parameter mechanisms do not).
# Exit 77 (skip) only when p11-kit, its client module or pkcs11-tool is missing.
set -euo pipefail

CLIENT=""
for d in /usr/lib/x86_64-linux-gnu/pkcs11 /usr/lib/aarch64-linux-gnu/pkcs11 /usr/lib/pkcs11; do
    [ -f "$d/p11-kit-client.so" ] && CLIENT=$d/p11-kit-client.so && break
done
command -v p11-kit >/dev/null || { echo "SKIP: p11-kit not installed"; exit 77; }
command -v pkcs11-tool >/dev/null || { echo "SKIP: pkcs11-tool not installed"; exit 77; }
[ -n "$CLIENT" ] || { echo "SKIP: p11-kit-client.so not installed"; exit 77; }

MODULE=${P11KMS_TEST_MODULE:-${abs_top_builddir:-$PWD}/pkcs11/.libs/p11kms-pkcs11.so}
[ -f "$MODULE" ] || { echo "FAIL: module $MODULE not built"; exit 1; }
T=$(mktemp -d /tmp/p11kms-p11kit-XXXXXX)
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
cat > "$T/p11kms.conf" <<CONF
[token]
store = $T/store.db
label = served
kdf = 10
CONF
export P11KMS_CONF=$T/p11kms.conf XDG_DATA_HOME=$T
PIN=user-pin-123
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
fail() { echo "FAIL: $*"; exit 1; }

pkcs11-tool --module "$MODULE" --init-token --label served --so-pin so-pin-123 >/dev/null
pkcs11-tool --module "$MODULE" --init-pin --login --login-type so --so-pin so-pin-123 \
    --pin "$PIN" >/dev/null

p11-kit server -f --provider "$MODULE" -n "$T/sock" "pkcs11:token=served" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do [ -S "$T/sock" ] && break; sleep 0.1; done
[ -S "$T/sock" ] || fail "p11-kit server did not start"
export P11_KIT_SERVER_ADDRESS=unix:path=$T/sock
# The client side never loads our module (p11-kit-remote does): run it
# without the sanitizer build's ASan preload, which otherwise flags a read
# past pkcs11-tool's buffer inside Debian's p11-kit-client.so 0.24.1.
C=(env -u LD_PRELOAD pkcs11-tool --module "$CLIENT")

"${C[@]}" -L | grep -q "served" || fail "token not visible through the client"
ok "the token crosses p11-kit's RPC"

mechs=$("${C[@]}" -M)
grep -q "ECDSA," <<<"$mechs" || fail "CKM_ECDSA should cross"
grep -q "RSA-PKCS-PSS" <<<"$mechs" || fail "CKM_RSA_PKCS_PSS should cross"
grep -q "AES-GCM" <<<"$mechs" && echo "note: AES-GCM crosses with this p11-kit"
ok "mechanism list through the RPC ($(grep -c . <<<"$mechs") lines)"

"${C[@]}" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --label ec --id 0e \
    >/dev/null || fail "EC key generation through the RPC"
"${C[@]}" --login --pin "$PIN" --keygen --key-type AES:32 --label env >/dev/null 2>&1 \
    || fail "AES key generation through the RPC"
ok "key generation through the RPC"

echo data > "$T/data"
openssl dgst -sha256 -binary "$T/data" > "$T/dg"
"${C[@]}" --login --pin "$PIN" --sign --id 0e -m ECDSA -i "$T/dg" -o "$T/sig" >/dev/null 2>&1 \
    || fail "CKM_ECDSA through the RPC"
"${C[@]}" --login --pin "$PIN" --verify --id 0e -m ECDSA -i "$T/dg" --signature-file "$T/sig" \
    >/dev/null 2>&1 || fail "CKM_ECDSA verify through the RPC"
ok "client-side hashing + CKM_ECDSA sign/verify through the RPC"

HELPER=${abs_top_builddir:-$(dirname "$MODULE")/../..}/tests/pkcs11/oprequest-rpc
[ -x "$HELPER" ] || fail "helper $HELPER not built (make check builds it)"
"$HELPER" "$CLIENT" "$PIN" || fail "operation objects through the RPC"
ok "KMS Encrypt/Decrypt, CreateKey, Sign/Verify, GenerateRandom through CKO_P11KMS_OPERATION objects over the RPC"

# Isolated mode: [access] served + an unlock source.  The service unlocks
# itself, clients need no PIN, may not act as SO, and are identified by the
# connection's peer credentials.
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
umask 077
printf '%s\n' "$PIN" > "$T/pin"
cat > "$T/served.conf" <<CONF
[token]
store = $T/store.db
label = served
unlock = file:$T/pin
[access]
served = p11-kit:$T/sock2
CONF
P11KMS_CONF=$T/served.conf p11-kit server -f --provider "$MODULE" -n "$T/sock2" \
    "pkcs11:token=served" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do [ -S "$T/sock2" ] && break; sleep 0.1; done
export P11_KIT_SERVER_ADDRESS=unix:path=$T/sock2
"${C[@]}" -L | grep -q "login required" && fail "served token should not ask for a login"
"${C[@]}" --list-objects 2>/dev/null | grep -q "label: *ec" || fail "served token: no keys"
"${C[@]}" --sign --id 0e -m ECDSA -i "$T/dg" -o "$T/sig2" >/dev/null 2>&1 \
    || fail "served token: sign without a PIN"
"${C[@]}" --init-pin --login --login-type so --so-pin so-pin-123 --pin x >/dev/null 2>&1 \
    && fail "served token: SO login must be refused"
ok "isolated mode: self-unlocked token, no client PIN, no SO"

echo "$pass passed, 0 failed"
