# tests/integration/provider-lib.sh — shared setup of the provider-*.sh
# scripts (sourced after lib.sh).
#
# The provider is module-agnostic, so every script runs its checks against
# each PKCS#11 module that is available:
#   p11kms   the built p11kms-pkcs11.so ($P11KMS_TEST_MODULE), when it can
#            initialise a token and create key pairs;
#   softhsm  Debian's SoftHSMv2, the reference module.
# provider_setup NAME creates a fresh token with the test keys and writes
# $T/NAME/openssl.cnf loading the provider with that module; it returns 1
# (and says why) when the backend cannot be used here.

PROVIDER_SO=$abs_top_builddir/provider/.libs/p11kms.so
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=12345678
SO_PIN=87654321

[ -f "$PROVIDER_SO" ] || fail "provider not built: $PROVIDER_SO"

# One free TCP port on the loopback interface.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# provider_conf DIR MODULE — openssl.cnf for the provider with MODULE and a PIN file.
provider_conf() {
    local dir=$1 module=$2
    printf '%s' "$PIN" >"$dir/pin"
    chmod 0600 "$dir/pin"
    cat >"$dir/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
p11kms = p11kms_sect
[default_sect]
activate = 1
[p11kms_sect]
module = $PROVIDER_SO
p11kms-module-path = $module
p11kms-pin = file:$dir/pin
activate = 1
CNF
}

# make_keys MODULE — the key pairs every script uses.
make_keys() {
    local m=$1 tool="timeout 60 pkcs11-tool --module $1 --login --pin $PIN"
    $tool --keypairgen --key-type EC:prime256v1 --label alias/it-ec --id 01 >/dev/null 2>&1 &&
        $tool --keypairgen --key-type rsa:2048 --usage-sign --label alias/it-rsa --id 02 \
            >/dev/null 2>&1 &&
        $tool --keypairgen --key-type rsa:2048 --usage-decrypt --label alias/it-rsaenc --id 03 \
            >/dev/null 2>&1
}

setup_softhsm() {
    local dir=$T/softhsm
    [ -f "$SOFTHSM_MODULE" ] && command -v softhsm2-util >/dev/null || {
        echo "backend softhsm: SoftHSMv2 not installed"
        return 1
    }
    mkdir -p "$dir/tokens"
    echo "directories.tokendir = $dir/tokens" >"$dir/softhsm2.conf"
    export SOFTHSM2_CONF=$dir/softhsm2.conf
    softhsm2-util --init-token --free --label it --so-pin $SO_PIN --pin $PIN >/dev/null ||
        fail "softhsm: cannot initialise a token"
    make_keys "$SOFTHSM_MODULE" || fail "softhsm: cannot create key pairs"
    provider_conf "$dir" "$SOFTHSM_MODULE"
}

setup_p11kms() {
    local dir=$T/p11kms tool="timeout 60 pkcs11-tool --module $MODULE"
    [ -f "$MODULE" ] || {
        echo "backend p11kms: module not built ($MODULE)"
        return 1
    }
    mkdir -p "$dir/data" "$dir/conf"
    chmod 0700 "$dir/data"
    cat >"$dir/conf/p11kms.conf" <<CONF
[token]
store = $dir/data/store.db
label = it
kdf = 10
allow-reinit = yes
CONF
    export P11KMS_CONF=$dir/conf/p11kms.conf XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/conf
    if ! $tool --init-token --label it --so-pin $SO_PIN >/dev/null 2>&1 ||
        ! $tool --init-pin --login --so-pin $SO_PIN --pin $PIN >/dev/null 2>&1 ||
        ! make_keys "$MODULE"; then
        echo "backend p11kms: the module cannot initialise a token or create keys yet"
        return 1
    fi
    provider_conf "$dir" "$MODULE"
}

# provider_setup NAME — prepare NAME and point OPENSSL_CONF at it.
provider_setup() {
    "setup_$1" || return 1
    export OPENSSL_CONF=$T/$1/openssl.cnf
    cd "$T/$1"
}

# for_each_backend FUNCTION — run FUNCTION BACKEND for each usable backend;
# skip (77) only when none is usable.
for_each_backend() {
    local b ran=0
    for b in ${PROVIDER_BACKENDS:-p11kms softhsm}; do
        (provider_setup "$b" || exit 77; "$1" "$b") && ran=$((ran + 1)) || {
            rc=$?
            [ $rc -eq 77 ] || fail "backend $b failed"
        }
    done
    [ $ran -gt 0 ] || { echo "SKIP: no PKCS#11 backend usable"; exit 77; }
    echo "PASS on $ran backend(s)"
}
