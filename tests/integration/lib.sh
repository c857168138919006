# tests/integration/lib.sh — shared setup for the integration scripts.
#
# Every script sources this file: it makes a private temporary directory with
# its own p11kms.conf and store (so no test touches the user's keys), finds the
# module under test, and, in the sanitizer build, preloads the ASan runtime,
# because a sanitized module loaded into an unsanitized program (pkcs11-tool,
# openssl, sqlite3) aborts otherwise.  Scripts exit 77 (automake's "skip")
# only when a real tool is missing, which CI never allows.
set -euo pipefail

: "${abs_top_builddir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${abs_top_srcdir:=$abs_top_builddir}"
: "${P11KMS_TEST_MODULE:=$abs_top_builddir/pkcs11/.libs/p11kms-pkcs11.so}"
MODULE=$P11KMS_TEST_MODULE

T=$(mktemp -d "${TMPDIR:-/tmp}/p11kms-it.XXXXXX")
cleanup_hooks=()
p11kms_cleanup() {
    local h
    for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
    rm -rf "$T"
}
trap p11kms_cleanup EXIT

# need TOOL... — skip (77) unless every named program exists.
need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
    done
}

# fail MESSAGE — one clear line on stderr, then a failing exit.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# p11kms_test_store [LABEL] — a fresh configuration and store under $T.
p11kms_test_store() {
    local label=${1:-test}
    mkdir -p "$T/conf" "$T/data"
    chmod 0700 "$T/data"
    cat >"$T/conf/p11kms.conf" <<CONF
[token]
store = $T/data/store.db
label = $label
kdf = 10
allow-reinit = yes
CONF
    export P11KMS_CONF=$T/conf/p11kms.conf
    export XDG_DATA_HOME=$T/data XDG_CONFIG_HOME=$T/conf
}

# Programs that load a sanitized module need the ASan runtime first.
if [ "${P11KMS_SANITIZERS:-no}" = yes ]; then
    LD_PRELOAD="$(gcc -print-file-name=libasan.so)${LD_PRELOAD:+:$LD_PRELOAD}"
    export LD_PRELOAD
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi
