#!/bin/bash
# tests/integration/isolated-units.sh — the isolated-mode files in
# dist/isolated/ (issue 16): the systemd units pass `systemd-analyze verify`
# (skipped where systemd-analyze is missing), the socket path of the socket
# unit equals the example configuration's `served = p11-kit:PATH`, and the
# example configuration is accepted by the module's loader, which fails
# closed (C_Initialize) when standard input is not the served socket.
. "${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

need pkcs11-tool
D=$abs_top_srcdir/dist/isolated
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
for f in p11kms.socket p11kms@.service p11kms.sysusers.conf p11kms.tmpfiles.conf p11kms.conf; do
    [ -f "$D/$f" ] || fail "missing $D/$f"
done

sock=$(sed -n 's/^ListenStream=//p' "$D/p11kms.socket")
served=$(sed -n 's/^served = p11-kit://p' "$D/p11kms.conf")
[ -n "$sock" ] && [ "$sock" = "$served" ] \
    || fail "socket unit listens on '$sock' but p11kms.conf trusts '$served'"
grep -q '^Accept=yes$' "$D/p11kms.socket" || fail "p11kms.socket needs Accept=yes"
grep -q '^StandardInput=socket$' "$D/p11kms@.service" || fail "service needs StandardInput=socket"
grep -q '^User=p11kms$' "$D/p11kms@.service" || fail "service must run as p11kms"
store=$(sed -n 's/^store = //p' "$D/p11kms.conf")
[ "${store%/*}" = /var/lib/p11kms ] || fail "example store '$store' not in /var/lib/p11kms"
grep -q '^d /var/lib/p11kms 0700 p11kms p11kms' "$D/p11kms.tmpfiles.conf" \
    || fail "tmpfiles.d must create /var/lib/p11kms 0700 p11kms"
grep -q '^u p11kms ' "$D/p11kms.sysusers.conf" || fail "sysusers.d must create p11kms"
ok "socket path, user, store directory agree across the units and the configuration"

if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$T/units"
    cp "$D/p11kms.socket" "$D/p11kms@.service" "$T/units/"
    # verify resolves p11kms@.service for the socket from the unit's directory.
    (cd "$T/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
        ./p11kms.socket ./p11kms@.service) >"$T/verify.log" 2>&1 || true
    # Complaints about this machine (no p11kms user, no running systemd) are
    # not about the files; anything naming our files is.
    if grep -E "p11kms(\.socket|@\.service):[0-9]+:" "$T/verify.log"; then
        fail "systemd-analyze verify complains about the units"
    fi
    ok "systemd-analyze verify: no complaint about the units"
else
    echo "# systemd-analyze not installed: unit verification skipped"
fi

[ -f "$MODULE" ] || fail "module $MODULE not built"
sed "s|^store = .*|store = $T/store.db|" "$D/p11kms.conf" >"$T/served.conf"
grep -v '^served' "$T/served.conf" >"$T/plain.conf"
P11KMS_CONF=$T/plain.conf pkcs11-tool --module "$MODULE" -I >"$T/out" 2>&1 \
    || fail "example configuration rejected by the module: $(cat "$T/out")"
P11KMS_CONF=$T/served.conf pkcs11-tool --module "$MODULE" -I </dev/null >"$T/out" 2>&1 \
    && fail "served configuration must fail closed without the served socket on stdin"
[ ! -e "$T/store.db" ] || fail "C_Initialize created a store"
ok "example configuration loads; served without its socket fails closed"

echo "$pass passed, 0 failed"
