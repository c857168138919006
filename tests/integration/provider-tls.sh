#!/bin/bash
# tests/integration/provider-tls.sh — TLS 1.3 and TLS 1.2 handshakes of
# `openssl s_server -key p11kms:alias/...` with `openssl s_client` on a
# loopback port, for an ECDSA and an RSA key in the module, at Debian's
# default security level 2.  The client verifies the server certificate
# (made by the provider) with the default provider only.
. "$abs_top_srcdir/tests/integration/lib.sh"
. "$abs_top_srcdir/tests/integration/provider-lib.sh"
need openssl pkcs11-tool python3 timeout

server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
cleanup_hooks+=(stop_server)

# handshake KEY VERSION — one handshake; the server answers one HTTP request.
handshake() {
    local k=$1 v=$2 port tries=0
    port=$(free_port)
    timeout 30 openssl s_server -accept "127.0.0.1:$port" -key "p11kms:alias/$k" \
        -cert "$k.crt" -naccept 1 -www -quiet >"srv-$k-$v.log" 2>&1 &
    server_pid=$!
    # Wait until the server listens (bounded; a probe connection would use up -naccept 1).
    until grep -qi " 0100007F:$(printf %04X "$port") 00000000:0000 0A " /proc/net/tcp; do
        tries=$((tries + 1))
        [ $tries -lt 100 ] || { cat "srv-$k-$v.log" >&2; fail "$k: s_server did not start"; }
        kill -0 "$server_pid" 2>/dev/null || { cat "srv-$k-$v.log" >&2; fail "$k: s_server died"; }
        sleep 0.1
    done
    printf 'GET / HTTP/1.0\r\n\r\n' |
        OPENSSL_CONF=/dev/null timeout 20 openssl s_client -connect "127.0.0.1:$port" "-$v" \
            -CAfile "$k.crt" -verify_return_error -servername localhost -ign_eof \
            >"cli-$k-$v.log" 2>&1 || {
        cat "cli-$k-$v.log" "srv-$k-$v.log" >&2
        fail "$k: $v handshake failed"
    }
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    grep -q "Verify return code: 0 (ok)" "cli-$k-$v.log" || fail "$k $v: certificate not verified"
    grep -q "Protocol *: *TLSv1\.[23]\|New, TLSv1\.[23]" "cli-$k-$v.log" ||
        fail "$k $v: no TLS session"
    grep -q "s_server" "cli-$k-$v.log" || fail "$k $v: no HTTP answer through the channel"
}

run() {
    local b=$1 k
    echo "== backend $b"
    for k in it-ec it-rsa; do
        timeout 60 openssl req -new -x509 -key "p11kms:alias/$k" -subj /CN=localhost -days 2 \
            -out "$k.crt" || fail "$k: certificate"
        handshake "$k" tls1_3
        handshake "$k" tls1_2
        echo "$k: TLS 1.3 and 1.2 ok"
    done
    echo "backend $b: ok"
}

for_each_backend run
