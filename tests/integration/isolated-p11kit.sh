#!/bin/bash
# tests/integration/isolated-p11kit.sh — isolated mode end to end (issue 16).
#
# A service user owns the store and runs the module inside `p11-kit server`
# ([access] served = p11-kit:SOCKET, unlock = file:PIN); two client users
# reach it only through p11-kit-client.so.  Checked: the key policy is a
# real boundary (A may Encrypt only, B nothing), clients need no PIN and
# cannot act as SO, initialise the token, change PINs or lock the token for
# others, neither client can read the store file, and the audit, read as
# the service user, names each caller by uid with its real pid (taken from
# the socket's peer credentials, not from anything the client says).
#
# Needs root (creates three Unix users, removed at exit); exits 77 when not
# root or when p11-kit, its client module or pkcs11-tool is missing.
. "${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

need p11-kit pkcs11-tool useradd userdel groupadd groupdel setpriv sqlite3
[ "$(id -u)" = 0 ] || { echo "SKIP: isolated mode test needs root (creates users)"; exit 77; }
CLIENT=""
for d in /usr/lib/x86_64-linux-gnu/pkcs11 /usr/lib/aarch64-linux-gnu/pkcs11 /usr/lib/pkcs11; do
    [ -f "$d/p11-kit-client.so" ] && CLIENT=$d/p11-kit-client.so && break
done
[ -n "$CLIENT" ] || { echo "SKIP: p11-kit-client.so not installed"; exit 77; }
[ -f "$MODULE" ] || fail "module $MODULE not built"
CLI_SRC=${abs_top_builddir:-$(dirname "$MODULE")/../..}/tools/p11kms
[ -x "$CLI_SRC" ] || fail "CLI $CLI_SRC not built"

# Short names: useradd limits names to 32 characters.
SVC=p11kms-it-svc A=p11kms-it-a B=p11kms-it-b GRP=p11kms-it-clients
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }

# --- users (removed at exit, also after a failure) ---------------------------
for u in $SVC $A $B; do
    ! id "$u" >/dev/null 2>&1 || fail "user $u already exists (left over from a crashed run?)"
done
! getent group $GRP >/dev/null || fail "group $GRP already exists"
remove_users() {
    local u
    for u in $A $B $SVC; do
        pkill -KILL -u "$u" 2>/dev/null || true
        userdel "$u" 2>/dev/null || true
    done
    groupdel $GRP 2>/dev/null || true
}
cleanup_hooks+=(remove_users)
groupadd --system $GRP
useradd --system -M -d /nonexistent -s /usr/sbin/nologin -U $SVC
useradd -M -d /nonexistent -s /usr/sbin/nologin -U -G $GRP $A
useradd -M -d /nonexistent -s /usr/sbin/nologin -U -G $GRP $B
UID_A=$(id -u $A) UID_B=$(id -u $B) UID_SVC=$(id -u $SVC)

# as USER CMD... — run CMD as USER with only that user's groups (exec, so
# the pid we start is the pid the module sees).
as() {
    local u=$1
    shift
    setpriv --reuid "$u" --regid "$u" --init-groups --inh-caps=-all -- "$@"
}

# --- layout: everything the service needs must be readable by it ------------
# $T is 0700 root; the users need to traverse it, nothing more.
chmod 0711 "$T"
LIB=$T/lib RUN=$T/run SVCDIR=$T/svc STORE=$T/svc/store
mkdir -p "$LIB" "$RUN" "$STORE" "$T/conf"
cp "$MODULE" "$LIB/p11kms-pkcs11.so"
cp "$CLI_SRC" "$LIB/p11kms"
chmod 0755 "$LIB" "$LIB/p11kms-pkcs11.so" "$LIB/p11kms"
chown -R $SVC:$SVC "$SVCDIR"
chmod 0700 "$SVCDIR" "$STORE"
chown $SVC:$GRP "$RUN"
chmod 0750 "$RUN"
SOCK=$RUN/pkcs11.sock
MOD=$LIB/p11kms-pkcs11.so
CLI=$LIB/p11kms
LABEL=isolated-it

as $SVC sh -c "umask 077; printf '%s\n' so-pin-isolated-1 > '$SVCDIR/so-pin';
               printf '%s\n' user-pin-isolated-1 > '$SVCDIR/pin'"
# Administration as the service user (in-process, with its PIN) ...
cat >"$T/conf/admin.conf" <<CONF
[token]
store = $STORE/store.db
label = $LABEL
kdf = 10
CONF
# ... and the served configuration: unlock from the service's own PIN file.
cat >"$T/conf/served.conf" <<CONF
[token]
store = $STORE/store.db
label = $LABEL
kdf = 10
unlock = file:$SVCDIR/pin

[access]
served = p11-kit:$SOCK
CONF
chmod 0755 "$T/conf"
chmod 0644 "$T/conf/admin.conf" "$T/conf/served.conf"

svc_cli() {
    as $SVC env P11KMS_CONF="$T/conf/admin.conf" XDG_DATA_HOME="$SVCDIR" XDG_CONFIG_HOME="$SVCDIR" \
        "$CLI" --module "$MOD" --pin-source "file:$SVCDIR/pin" --so-pin-source "file:$SVCDIR/so-pin" \
        "$@"
}

# `p11kms audit` reads its options after the subcommand.
svc_audit() {
    local sub=$1
    shift
    as $SVC env P11KMS_CONF="$T/conf/admin.conf" XDG_DATA_HOME="$SVCDIR" XDG_CONFIG_HOME="$SVCDIR" \
        "$CLI" audit "$sub" --store "$STORE/store.db" --pin-source "file:$SVCDIR/pin" "$@"
}

svc_cli init --label $LABEL >/dev/null || fail "token init as the service user"
[ "$(stat -c %U:%a "$STORE/store.db")" = "$SVC:600" ] || fail "store file not 0600 $SVC"
KEY=$(svc_cli --output text --query KeyMetadata.KeyId create-key --description isolated-it) \
    || fail "create-key as the service user"
[[ $KEY =~ ^[0-9a-f-]{36}$ ]] || fail "create-key printed '$KEY'"
cat >"$T/conf/policy.json" <<JSON
{"Version": "2012-10-17", "Statement": [
 {"Sid": "Service", "Effect": "Allow", "Principal": {"Unix": "uid:$UID_SVC"},
  "Action": "kms:*", "Resource": "*"},
 {"Sid": "AEncryptOnly", "Effect": "Allow", "Principal": {"Unix": "uid:$UID_A"},
  "Action": "kms:Encrypt", "Resource": "*"}]}
JSON
chmod 0644 "$T/conf/policy.json"
svc_cli put-key-policy --key-id "$KEY" --policy "file://$T/conf/policy.json" >/dev/null \
    || fail "put-key-policy as the service user"
ok "service user: token, key $KEY and its policy (A: Encrypt only, B: nothing)"

# --- the server, as the service user ----------------------------------------
SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
cleanup_hooks=(stop_server "${cleanup_hooks[@]}")
as $SVC env P11KMS_CONF="$T/conf/served.conf" XDG_DATA_HOME="$SVCDIR" XDG_CONFIG_HOME="$SVCDIR" \
    p11-kit server -f --provider "$MOD" -n "$SOCK" "pkcs11:token=$LABEL" \
    >"$T/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$T/server.log" >&2; fail "p11-kit server did not create $SOCK"; }
# p11-kit server binds under umask 066 for a single user; open it to the
# clients' group as a socket unit's SocketMode=0660/SocketGroup= would.
chgrp $GRP "$SOCK"
chmod 0660 "$SOCK"
ok "p11-kit server running as $SVC on $SOCK"

export P11_KIT_SERVER_ADDRESS=unix:path=$SOCK
# The clients' CLI: no PIN exists for them; a self-unlocked token answers
# C_Login with CKR_USER_ALREADY_LOGGED_IN, so any value passes (the CLI
# still asks for one; it should skip C_Login when CKF_LOGIN_REQUIRED is off).
# client_exec replaces the calling (sub)shell, so `client_exec ... &` gives
# in $! the pid of the CLI process itself; client_cli runs it in a subshell.
client_exec() {
    local u=$1
    shift
    exec setpriv --reuid "$u" --regid "$u" --init-groups --inh-caps=-all -- \
        env P11KMS_MODULE="$CLIENT" P11_KIT_SERVER_ADDRESS="$P11_KIT_SERVER_ADDRESS" \
        P11KMS_PIN=no-pin-needed XDG_CONFIG_HOME=/nonexistent XDG_DATA_HOME=/nonexistent \
        "$CLI" "$@"
}
client_cli() { (client_exec "$@"); }
client_tool() {
    local u=$1
    shift
    as "$u" env P11_KIT_SERVER_ADDRESS="$P11_KIT_SERVER_ADDRESS" pkcs11-tool --module "$CLIENT" "$@"
}
# expect_exit CODE WHAT CMD... — CMD must exit with CODE (the CLI's classes).
expect_exit() {
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" = "$want" ] || fail "$what: exit $rc, expected $want: $(head -c 300 "$T/err")"
}

# --- the token as clients see it --------------------------------------------
client_tool $A -T >"$T/tok" 2>&1 || fail "A: token not visible: $(cat "$T/tok")"
grep -q "$LABEL" "$T/tok" || fail "A: token $LABEL not listed"
grep -q "login required" "$T/tok" && fail "served token must not ask clients to log in"
ok "clients see the token through p11-kit-client.so, no login required"

# --- A: Encrypt allowed, Decrypt denied -------------------------------------
printf 'isolated secret' >"$T/plain"
chmod 0644 "$T/plain"
client_exec $A --output text --query CiphertextBlob encrypt --key-id "$KEY" \
    --plaintext "fileb://$T/plain" >"$T/ct.b64" 2>"$T/err" &
PID_A_ENC=$!
wait $PID_A_ENC || fail "A: encrypt: $(cat "$T/err")"
[ -s "$T/ct.b64" ] || fail "A: encrypt printed no ciphertext"
base64 -d "$T/ct.b64" >"$T/ct"
chmod 0644 "$T/ct"
ok "A encrypts through the client (pid $PID_A_ENC)"

client_exec $A decrypt --ciphertext-blob "fileb://$T/ct" >"$T/out" 2>"$T/err" &
PID_A_DEC=$!
rc=0
wait $PID_A_DEC || rc=$?
[ "$rc" = 4 ] || fail "A: decrypt must be denied (exit 4), got $rc: $(cat "$T/err")"
grep -q AccessDenied "$T/err" || fail "A: decrypt denial: $(cat "$T/err")"
grep -q "isolated secret" "$T/out" && fail "A: decrypt leaked the plaintext"
ok "A's Decrypt is denied"

# --- B: everything denied ---------------------------------------------------
client_exec $B encrypt --key-id "$KEY" --plaintext "fileb://$T/plain" >"$T/out" 2>"$T/err" &
PID_B_ENC=$!
rc=0
wait $PID_B_ENC || rc=$?
[ "$rc" = 4 ] || fail "B: encrypt must be denied (exit 4), got $rc: $(cat "$T/err")"
expect_exit 4 "B: decrypt" client_cli $B decrypt --ciphertext-blob "fileb://$T/ct"
expect_exit 4 "B: describe-key" client_cli $B describe-key --key-id "$KEY"
expect_exit 4 "B: generate-data-key" client_cli $B generate-data-key --key-id "$KEY" \
    --key-spec AES_256
expect_exit 4 "B: get-key-policy" client_cli $B get-key-policy --key-id "$KEY"
expect_exit 4 "B: put-key-policy" client_cli $B put-key-policy --key-id "$KEY" \
    --policy "file://$T/conf/policy.json"
expect_exit 4 "B: disable-key" client_cli $B disable-key --key-id "$KEY"
expect_exit 4 "B: schedule-key-deletion" client_cli $B schedule-key-deletion --key-id "$KEY"
expect_exit 4 "A: disable-key" client_cli $A disable-key --key-id "$KEY"
ok "B is denied Encrypt, Decrypt, DescribeKey, GenerateDataKey, Get/PutKeyPolicy, DisableKey, ScheduleKeyDeletion (A too for management)"

# --- token administration is not the clients' business ----------------------
client_tool $A --init-token --label evil --so-pin so-pin-isolated-1 >"$T/out" 2>&1 \
    && fail "A: C_InitToken through the client must be refused"
client_tool $A --login --login-type so --so-pin so-pin-isolated-1 --init-pin \
    --new-pin evil-pin-1234 >"$T/out" 2>&1 && fail "A: SO login / C_InitPIN must be refused"
client_tool $A --login --pin user-pin-isolated-1 --change-pin --new-pin evil-pin-1234 \
    >"$T/out" 2>&1 && fail "A: C_SetPIN must be refused"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12; do
    client_tool $B --login --pin wrong-pin-0000 -O >/dev/null 2>&1 || true
done
client_cli $A encrypt --key-id "$KEY" --plaintext "fileb://$T/plain" >/dev/null 2>"$T/err" \
    || fail "after B's wrong PINs the token must still serve A: $(cat "$T/err")"
svc_cli describe-key --key-id "$KEY" >/dev/null || fail "after B's wrong PINs: service PIN locked"
# Not yet covered: C_Logout followed by wrong C_Login calls (pkcs11-tool
# cannot send that sequence); see docs/isolated-mode.md, Threat model.
ok "clients cannot C_InitToken, log in as SO, C_InitPIN, C_SetPIN; wrong PINs do not lock"

# --- fail closed: served, but not behind the configured socket --------------
as $SVC env P11KMS_CONF="$T/conf/served.conf" XDG_DATA_HOME="$SVCDIR" XDG_CONFIG_HOME="$SVCDIR" \
    pkcs11-tool --module "$MOD" -T </dev/null >"$T/out" 2>&1 \
    && fail "served module without a socket on stdin must fail closed: $(cat "$T/out")"
OTHER=$RUN/other.sock
as $SVC env P11KMS_CONF="$T/conf/served.conf" XDG_DATA_HOME="$SVCDIR" XDG_CONFIG_HOME="$SVCDIR" \
    p11-kit server -f --provider "$MOD" -n "$OTHER" "pkcs11:token=$LABEL" >"$T/other.log" 2>&1 &
OTHER_PID=$!
cleanup_hooks=("kill $OTHER_PID 2>/dev/null" "${cleanup_hooks[@]}")
for _ in $(seq 100); do [ -S "$OTHER" ] && break; sleep 0.1; done
[ -S "$OTHER" ] || fail "second p11-kit server did not start"
chgrp $GRP "$OTHER"
chmod 0660 "$OTHER"
as $A env P11_KIT_SERVER_ADDRESS="unix:path=$OTHER" P11KMS_MODULE="$CLIENT" P11KMS_PIN=x \
    "$CLI" encrypt --key-id "$KEY" --plaintext "fileb://$T/plain" >"$T/out" 2>&1 \
    && fail "a connection on another socket than served = p11-kit:$SOCK must fail closed"
echo "# on $OTHER: $(head -n 1 "$T/out")"
kill $OTHER_PID 2>/dev/null || true
wait $OTHER_PID 2>/dev/null || true
ok "fails closed without a socket on stdin and on a socket bound elsewhere"

# --- the store is the service's alone ---------------------------------------
for u in $A $B; do
    as $u cat "$STORE/store.db" >/dev/null 2>&1 && fail "$u can read the store file"
    as $u ls "$STORE" >/dev/null 2>&1 && fail "$u can list the store directory"
    as $u sqlite3 -readonly "file:$STORE/store.db?mode=ro" "select 1" >/dev/null 2>&1 \
        && fail "$u can open the store with sqlite3"
done
[ "$(stat -c %a "$STORE")" = 700 ] || fail "store directory is not 0700"
ok "neither client can read the store file"

# --- the audit, read as the service user ------------------------------------
stop_server
svc_audit list --all >"$T/audit.json" 2>"$T/err" \
    || fail "audit list as the service user: $(cat "$T/err")"
# audit_has EVENT UID PID RESULT — one record of EVENT by UID with PID, RESULT
# "ok" (no errorCode) or "denied" (AccessDeniedException).
audit_has() {
    local ev=$1 uid=$2 pid=$3 res=$4
    AUDIT_EV=$ev AUDIT_UID=$uid AUDIT_PID=$pid AUDIT_RES=$res python3 - "$T/audit.json" <<'PY'
import json, os, sys
text = open(sys.argv[1]).read()
doc = json.loads(text)
recs = doc.get("Records", doc.get("Events", [])) if isinstance(doc, dict) else doc
ev, uid, pid, res = (os.environ[k] for k in ("AUDIT_EV", "AUDIT_UID", "AUDIT_PID", "AUDIT_RES"))
def find(r, *names):
    for n in names:
        for part in (r, r.get("userIdentity", {}), r.get("caller", {})):
            if isinstance(part, dict) and n in part:
                return part[n]
    return None
for r in recs:
    if r.get("eventName") != ev:
        continue
    if str(find(r, "uid")) != uid or str(find(r, "pid")) != pid:
        continue
    err = r.get("errorCode")
    if (res == "ok" and not err) or (res == "denied" and err and "AccessDenied" in err):
        sys.exit(0)
sys.exit(1)
PY
}
if command -v python3 >/dev/null; then
    audit_has Encrypt "$UID_A" "$PID_A_ENC" ok || fail "audit: no Encrypt by uid $UID_A pid $PID_A_ENC"
    audit_has Decrypt "$UID_A" "$PID_A_DEC" denied \
        || fail "audit: no denied Decrypt by uid $UID_A pid $PID_A_DEC"
    audit_has Encrypt "$UID_B" "$PID_B_ENC" denied \
        || fail "audit: no denied Encrypt by uid $UID_B pid $PID_B_ENC"
else
    for want in "$UID_A:$PID_A_ENC" "$UID_A:$PID_A_DEC" "$UID_B:$PID_B_ENC"; do
        grep -q "\"uid\": *${want%%:*}\b" "$T/audit.json" || fail "audit: uid ${want%%:*} missing"
        grep -q "\"pid\": *${want##*:}\b" "$T/audit.json" || fail "audit: pid ${want##*:} missing"
    done
fi
svc_audit verify >/dev/null 2>"$T/err" \
    || fail "audit verify as the service user: $(cat "$T/err")"
ok "the audit names A and B by uid with their real pids, and verifies"

echo "$pass passed, 0 failed"
