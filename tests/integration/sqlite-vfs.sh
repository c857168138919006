#!/bin/bash
# tests/integration/sqlite-vfs.sh — the SQLite encryption VFS (sqlite3-p11kms.so)
# with the real sqlite3 CLI against the real module and a fresh token:
# create, fill, reopen; no plaintext and no "SQLite format 3" in the database,
# WAL or journal files; a flipped byte is detected; p11kms_rekey() keeps the data;
# plain -> encrypted -> plain keeps every row; a kill -9 of a WAL writer recovers;
# a wrong PIN fails at open.
. "$abs_top_srcdir/tests/integration/lib.sh"
need sqlite3 pkcs11-tool
EXT=$abs_top_builddir/tde/.libs/sqlite3-p11kms
MKKEY=$abs_top_builddir/tests/tde/tde-create-key
[ -f "$EXT.so" ] || fail "extension not built: $EXT.so"
[ -f "$MODULE" ] || fail "module not built: $MODULE"

p11kms_test_store sqlite
pkcs11-tool --module "$MODULE" --init-token --label sqlite --so-pin so-pin-1234 >/dev/null ||
    fail "init-token"
pkcs11-tool --module "$MODULE" --login --login-type so --so-pin so-pin-1234 \
    --init-pin --pin user-pin-1234 >/dev/null || fail "init-pin"
export P11KMS_MODULE=$MODULE P11KMS_PIN=user-pin-1234 P11KMS_PIN_SOURCE=env:P11KMS_PIN
"$MKKEY" alias/sqlite-test || fail "cannot create the test CMK"
DB=$T/enc.db
URI="file:$DB?vfs=p11kms&cmk=alias/sqlite-test"

# sq SQL... — run statements on the encrypted database through the extension.
sq() {
    { echo ".load $EXT"; echo ".open $URI"; printf '%s\n' "$@"; } | sqlite3 -batch -bail
}
# mode_of FILE — the p11kms header magic and mode letter ("P1KSG" or "P1KSX").
mode_of() { head -c 6 "$1" | tr -d '\001'; }
count() { sq "SELECT count(*) FROM t;"; }
# no_plaintext FILE... — none of the marker and no SQLite header in any file.
no_plaintext() {
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue
        ! grep -q "MARKER-" "$f" || fail "$f holds inserted plaintext"
        ! grep -q "SQLite format 3" "$f" || fail "$f holds the SQLite header"
    done
}

# 1. create, fill, close, reopen (GCM pages, rollback journal kept on disk)
sq "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" \
   "INSERT INTO t(v) SELECT 'MARKER-' || value FROM generate_series(1, 2000);" >/dev/null
[ "$(count)" = 2000 ] || fail "rows lost after reopen"
[ "$(mode_of "$DB")" = P1KSG ] || fail "database is not in GCM mode"
sq "PRAGMA journal_mode=PERSIST;" "UPDATE t SET v = v || '-x' WHERE id % 3 = 0;" >/dev/null
[ -s "$DB-journal" ] || fail "no rollback journal was written"
no_plaintext "$DB" "$DB-journal"
# temporary files (temp_store=FILE, a tiny cache forces them to disk) round-trip
[ "$(sq "PRAGMA temp_store=FILE;" "PRAGMA cache_size=5;" \
      "CREATE TEMP TABLE tt AS SELECT * FROM t ORDER BY v DESC;" \
      "SELECT count(*), min(v) FROM tt;")" = "2000|MARKER-1" ] || fail "temp table through the VFS"

# 2. WAL mode: frames hold no plaintext; a writer killed with -9 recovers
sq "PRAGMA journal_mode=WAL;" >/dev/null
mkfifo "$T/wal.in"
sqlite3 -batch <"$T/wal.in" >"$T/wal.out" 2>&1 &
writer=$!
exec 7>"$T/wal.in"
printf '%s\n' ".load $EXT" ".open $URI" "PRAGMA wal_autocheckpoint=0;" \
    "INSERT INTO t(v) SELECT 'MARKER-w' || value FROM generate_series(1, 500);" \
    "BEGIN;" "INSERT INTO t(v) VALUES('MARKER-uncommitted');" "SELECT 'ready';" >&7
for _ in $(seq 100); do grep -q ready "$T/wal.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$T/wal.out" || fail "WAL writer did not start: $(cat "$T/wal.out")"
[ -s "$DB-wal" ] || fail "no WAL file"
no_plaintext "$DB" "$DB-wal"
kill -9 "$writer"
wait "$writer" 2>/dev/null || true
exec 7>&-
[ "$(count)" = 2500 ] || fail "WAL recovery: expected 2500 rows, got $(count)"
[ "$(sq "PRAGMA integrity_check;")" = ok ] || fail "integrity_check after recovery"
sq "PRAGMA wal_checkpoint(TRUNCATE);" "PRAGMA journal_mode=DELETE;" >/dev/null
no_plaintext "$DB"

# 3. p11kms_rekey(): rewrap after a CMK rotation, data still readable
before=$(sha256sum <"$DB-p11kms.keyring")
"$MKKEY" alias/sqlite-test rotate || fail "rotate"
[ "$(sq "SELECT p11kms_rekey();")" = 1 ] || fail "p11kms_rekey"
[ "$(sha256sum <"$DB-p11kms.keyring")" != "$before" ] || fail "rekey left the keyring unchanged"
[ "$(count)" = 2500 ] || fail "rows lost after rekey"

# 4. plain -> encrypted -> plain, every row kept
sqlite3 "$T/plain.db" "CREATE TABLE p(x); INSERT INTO p SELECT 'MARKER-p' || value FROM generate_series(1, 777);"
printf '%s\n' ".load $EXT" ".filectrl reserve_bytes 44" \
    "VACUUM INTO 'file:$T/conv.db?vfs=p11kms&cmk=alias/sqlite-test';" |
    sqlite3 -batch -bail "$T/plain.db" >/dev/null ||
    fail "plain -> encrypted"
no_plaintext "$T/conv.db"
[ "$(mode_of "$T/conv.db")" = P1KSG ] || fail "converted database is not in GCM mode"
printf '%s\n' ".load $EXT" ".open file:$T/conv.db?vfs=p11kms" \
    "VACUUM INTO 'file:$T/back.db?vfs=unix';" | sqlite3 -batch -bail || fail "encrypted -> plain"
[ "$(sqlite3 "$T/back.db" "SELECT count(*), sum(length(x)) FROM p;")" = \
  "$(sqlite3 "$T/plain.db" "SELECT count(*), sum(length(x)) FROM p;")" ] || fail "rows differ after round trip"
# .backup into an encrypted URI keeps the reserve of the source: XTS mode
printf '%s\n' ".load $EXT" ".backup 'file:$T/xts.db?vfs=p11kms&cmk=alias/sqlite-test'" |
    sqlite3 -batch -bail "$T/plain.db" || fail ".backup into p11kms"
[ "$(mode_of "$T/xts.db")" = P1KSX ] || fail "backup copy is not in XTS mode"
no_plaintext "$T/xts.db"
[ "$(printf '%s\n' ".load $EXT" ".open file:$T/xts.db?vfs=p11kms" "SELECT count(*) FROM p;" | sqlite3 -batch)" = 777 ] ||
    fail "XTS copy unreadable"

# 5. a flipped byte in a page is detected, not read
cp "$DB" "$T/flip.db"; cp "$DB-p11kms.keyring" "$T/flip.db-p11kms.keyring"
printf '\x55' | LD_PRELOAD= dd of="$T/flip.db" bs=1 seek=$((4096 * 2 + 100)) conv=notrunc status=none
out=$(printf '%s\n' ".load $EXT" ".open file:$T/flip.db?vfs=p11kms" "SELECT count(*), max(v) FROM t;" |
      P11KMS_SQLITE_QUIET=1 sqlite3 -batch 2>&1) && fail "flipped byte not detected: $out"
echo "$out" | grep -qi "I/O error\|malformed" || fail "unexpected error for a flipped byte: $out"

# 6. a wrong PIN fails at open with a clear message
out=$(P11KMS_PIN=wrong-pin-000 sq "SELECT count(*) FROM t;" 2>&1) && fail "wrong PIN accepted"
echo "$out" | grep -q "login failed" || fail "no clear message for a wrong PIN: $out"
echo "sqlite-vfs: ok"
