# tests/integration/cli-lib.sh — shared setup of the cli-*.sh scripts: the
# built p11kms CLI against the built module in a fresh test store, with an
# initialised token, plus helpers to check exit codes and error lines.
. "$abs_top_srcdir/tests/integration/lib.sh"
need jq openssl base64

P11KMS=$abs_top_builddir/tools/p11kms
[ -x "$P11KMS" ] || fail "the CLI was not built: $P11KMS"
export P11KMS_MODULE=$MODULE
p11kms_test_store cli
export P11KMS_SO_PIN=so-pin-1234 P11KMS_PIN=user-pin-1234
unset P11KMS_PIN_SOURCE

kms() { "$P11KMS" "$@"; }

# expect CODE EXCEPTION-or-TEXT CMD... — CMD must exit CODE with one stderr
# line containing the text.
expect() {
    local code=$1 text=$2 rc=0
    shift 2
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq "$code" ] || fail "'$*' exited $rc, not $code: $(cat "$T/err")"
    grep -q -- "$text" "$T/err" || fail "'$*': stderr lacks '$text': $(cat "$T/err")"
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "'$*': more than one stderr line: $(cat "$T/err")"
}

# at OFFSET CMD... — run CMD with the clock moved by OFFSET (libfaketime;
# after the ASan runtime in the sanitizer build, INTEROP.md).
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
at() {
    local off=$1
    shift
    [ -e "$LIBFAKETIME" ] || { echo "SKIP: libfaketime not installed"; exit 77; }
    LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$LIBFAKETIME" FAKETIME="$off" "$@"
}

kms init --label cli >"$T/init.json" || fail "p11kms init failed"
[ "$(jq -r .TokenLabel "$T/init.json")" = cli ] || fail "init output: $(cat "$T/init.json")"
