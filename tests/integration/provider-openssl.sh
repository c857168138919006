#!/bin/bash
# tests/integration/provider-openssl.sh — the p11kms provider driven by the
# real openssl binary: pkeyutl sign/verify and OAEP decrypt, dgst -sign,
# req -x509 (verified by the default provider), cms -sign, genpkey into
# the module with a key reference read back, pkcs11: URIs, and readable
# refusals (PKCS#1 v1.5 decryption, a key used against its usage, a
# missing key).  Runs against p11kms-pkcs11.so and SoftHSMv2.
. "$abs_top_srcdir/tests/integration/lib.sh"
. "$abs_top_srcdir/tests/integration/provider-lib.sh"
need openssl pkcs11-tool python3 timeout

O="timeout 60 openssl"

# expect_fail PATTERN CMD... — CMD must fail and print PATTERN on stderr.
expect_fail() {
    local pattern=$1
    shift
    if "$@" >out.txt 2>err.txt; then fail "should have failed: $*"; fi
    grep -q -- "$pattern" err.txt || { cat err.txt >&2; fail "no '$pattern' in: $*"; }
}

check_sign() {
    local k=$1
    $O pkey -in "p11kms:alias/$k" -pubout -out "$k.pub" || fail "$k: public key export"
    grep -q "BEGIN PUBLIC KEY" "$k.pub" || fail "$k: no SPKI PEM"
    # pkeyutl over a digest, verified by the default provider alone.
    $O dgst -sha256 -binary msg >msg.sha256
    $O pkeyutl -sign -inkey "p11kms:alias/$k" -pkeyopt digest:sha256 -in msg.sha256 \
        -out "$k.pk.sig" || fail "$k: pkeyutl -sign"
    OPENSSL_CONF=/dev/null $O pkeyutl -verify -pubin -inkey "$k.pub" -pkeyopt digest:sha256 \
        -in msg.sha256 -sigfile "$k.pk.sig" | grep -q "Verified Successfully" ||
        fail "$k: pkeyutl signature does not verify"
    # KMS pairs P-256 with SHA-256 only (ECDSA_SHA_256); RSA takes all three.
    local mds="sha256 sha384 sha512"
    [ "$k" = it-ec ] && mds=sha256
    for md in $mds; do
        $O dgst -$md -sign "p11kms:alias/$k" -out "$k.$md.sig" msg || fail "$k: dgst -$md -sign"
        OPENSSL_CONF=/dev/null $O dgst -$md -verify "$k.pub" -signature "$k.$md.sig" msg |
            grep -q "Verified OK" || fail "$k: dgst -$md signature does not verify"
    done
    # A tampered message must not verify (the test can fail).
    echo tampered >>msg2 && cat msg >>msg2
    if OPENSSL_CONF=/dev/null $O dgst -sha256 -verify "$k.pub" -signature "$k.sha256.sig" msg2 \
        >/dev/null 2>&1; then fail "$k: a tampered message verified"; fi
    rm -f msg2
}

check_pss() {
    $O pkeyutl -sign -inkey p11kms:alias/it-rsa -pkeyopt digest:sha256 \
        -pkeyopt rsa_padding_mode:pss -in msg.sha256 -out pss.sig || fail "RSA-PSS sign"
    OPENSSL_CONF=/dev/null $O pkeyutl -verify -pubin -inkey it-rsa.pub -pkeyopt digest:sha256 \
        -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 -in msg.sha256 \
        -sigfile pss.sig | grep -q "Verified Successfully" || fail "RSA-PSS does not verify"
}

check_oaep() {
    local mds="sha1 sha256"
    [ "$1" = softhsm ] && mds=sha1 # SoftHSMv2 2.6 does SHA-1 OAEP only (INTEROP.md)
    $O pkey -in p11kms:alias/it-rsaenc -pubout -out enc.pub || fail "OAEP key: public key"
    echo "a data key" >pt
    for md in $mds; do
        OPENSSL_CONF=/dev/null $O pkeyutl -encrypt -pubin -inkey enc.pub \
            -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:$md -in pt -out ct
        $O pkeyutl -decrypt -inkey p11kms:alias/it-rsaenc -pkeyopt rsa_padding_mode:oaep \
            -pkeyopt rsa_oaep_md:$md -in ct -out pt.out || fail "OAEP-$md decrypt"
        cmp -s pt pt.out || fail "OAEP-$md: wrong plaintext"
    done
    OPENSSL_CONF=/dev/null $O pkeyutl -encrypt -pubin -inkey enc.pub -in pt -out ct.v15
    expect_fail "PKCS#1 v1.5 padding is refused" \
        $O pkeyutl -decrypt -inkey p11kms:alias/it-rsaenc -in ct.v15
}

check_x509_cms() {
    local k=$1
    $O req -new -x509 -key "p11kms:alias/$k" -subj "/CN=$k" -days 2 -out "$k.crt" ||
        fail "$k: req -x509"
    OPENSSL_CONF=/dev/null $O verify -CAfile "$k.crt" "$k.crt" | grep -q ": OK" ||
        fail "$k: self-signed certificate does not verify"
    $O cms -sign -binary -nodetach -in msg -signer "$k.crt" -inkey "p11kms:alias/$k" \
        -outform PEM -out "$k.cms" || fail "$k: cms -sign"
    OPENSSL_CONF=/dev/null $O cms -verify -binary -in "$k.cms" -inform PEM -CAfile "$k.crt" \
        -out "$k.cms.out" 2>/dev/null || fail "$k: CMS signature does not verify"
    cmp -s msg "$k.cms.out" || fail "$k: CMS content differs"
}

check_pss_cert() {
    $O req -new -x509 -key p11kms:alias/it-rsa -sigopt rsa_padding_mode:pss -subj /CN=pss \
        -out pss.crt || fail "req -x509 with RSA-PSS"
    $O x509 -in pss.crt -noout -text | grep -q "rsassaPss" || fail "not an RSASSA-PSS cert"
    OPENSSL_CONF=/dev/null $O verify -CAfile pss.crt pss.crt | grep -q ": OK" ||
        fail "RSA-PSS certificate does not verify"
}

check_genpkey() {
    local b=$1
    # The command of the manual, without openssl.cnf: -provider p11kms first
    # makes its EC KEYMGMT the one fetched; module and PIN from the environment.
    OPENSSL_CONF=/dev/null OPENSSL_MODULES=$(dirname "$PROVIDER_SO") \
        P11KMS_MODULE=$(sed -n 's/^p11kms-module-path = //p' openssl.cnf) \
        P11KMS_PIN_SOURCE=file:$PWD/pin $O genpkey -provider p11kms -provider default \
        -algorithm EC -pkeyopt group:P-256 -pkeyopt "p11kms-alias:alias/it-gen-$b" \
        -out gen.pem || fail "genpkey into the module"
    grep -q "BEGIN P11KMS KEY REFERENCE" gen.pem || fail "genpkey did not write a reference"
    grep -q "PRIVATE KEY" gen.pem && fail "genpkey wrote a private key"
    $O pkey -in gen.pem -pubout -out gen.pub || fail "reference: public key"
    $O dgst -sha256 -sign gen.pem -out gen.sig msg || fail "reference: signing"
    OPENSSL_CONF=/dev/null $O dgst -sha256 -verify gen.pub -signature gen.sig msg |
        grep -q "Verified OK" || fail "reference: signature does not verify"
    $O pkey -in "p11kms:alias/it-gen-$b" -pubout | cmp -s - gen.pub ||
        fail "the alias does not name the generated key"
    $O genpkey -propquery provider=p11kms -algorithm RSA -pkeyopt bits:2048 \
        -pkeyopt "p11kms-alias:alias/it-genrsa-$b" -out genrsa.pem || fail "genpkey RSA"
    $O pkey -in genrsa.pem -text_pub -noout | grep -q "2048 bit" || fail "RSA reference"
    expect_fail "needs a target alias" \
        $O genpkey -propquery provider=p11kms -algorithm EC -pkeyopt group:P-256
}

check_uris() {
    local b=$1
    $O pkey -in "pkcs11:token=it;object=alias/it-ec;type=private" -pubout | cmp -s - it-ec.pub ||
        fail "pkcs11: URI with type=private"
    $O dgst -sha256 -sign "pkcs11:object=alias/it-ec" -out u.sig msg || fail "pkcs11: URI sign"
    expect_fail "it-missing: no key found" $O pkey -in p11kms:alias/it-missing -pubout
    expect_fail "alias" $O pkey -in "p11kms:alias/bad name" -pubout
    if [ "$b" = p11kms ]; then
        expect_fail "signing with key 'alias/it-ec'.*not permitted" \
            $O dgst -sha512 -sign p11kms:alias/it-ec -out x.sig msg
        # The signing key refuses decryption: its KMS key usage is SIGN_VERIFY.
        OPENSSL_CONF=/dev/null $O pkeyutl -encrypt -pubin -inkey it-rsa.pub \
            -pkeyopt rsa_padding_mode:oaep -in pt -out ct.rsa
        expect_fail "'alias/it-rsa'.*not permitted" $O pkeyutl -decrypt \
            -inkey p11kms:alias/it-rsa -pkeyopt rsa_padding_mode:oaep -in ct.rsa
    fi
}

# Certificates stored on the token come back through the STORE loader.
check_certs() {
    local b=$1 module
    module=$(sed -n 's/^p11kms-module-path = //p' openssl.cnf)
    $O x509 -in it-ec.crt -outform DER -out it-ec.der
    if ! timeout 60 pkcs11-tool --module "$module" --login --pin "$PIN" --write-object it-ec.der \
        --type cert --label alias/it-ec --id 01 >cert.log 2>&1; then
        echo "backend $b: the module does not store certificates yet; STORE check skipped"
        return 0
    fi
    $O storeutl -certs p11kms:alias/it-ec | grep -q "Total found: 1" ||
        fail "certificate not returned by the STORE"
    $O x509 -in p11kms:alias/it-ec -noout -subject | grep -q "CN *= *it-ec" ||
        fail "x509 -in p11kms:alias/it-ec"
}

# Isolated mode: the same provider configuration with p11-kit-client.so in
# front of `p11-kit server` (only the RPC-safe mechanisms are used).
check_isolated() {
    local b=$1 module client addr pid
    client=$(ls /usr/lib/*/pkcs11/p11-kit-client.so 2>/dev/null | head -1)
    if [ "$b" != softhsm ] || [ -z "$client" ] || ! command -v p11-kit >/dev/null; then
        return 0
    fi
    module=$(sed -n 's/^p11kms-module-path = //p' openssl.cnf)
    mkdir -p run && chmod 0700 run
    eval "$(XDG_RUNTIME_DIR=$PWD/run p11-kit server -s --provider "$module" "pkcs11:token=it")"
    pid=$P11_KIT_SERVER_PID
    cleanup_hooks+=("kill $pid")
    sed "s|^p11kms-module-path = .*|p11kms-module-path = $client|" openssl.cnf >iso.cnf
    OPENSSL_CONF=$PWD/iso.cnf $O dgst -sha256 -sign p11kms:alias/it-ec -out iso.sig msg ||
        fail "isolated mode: ECDSA"
    OPENSSL_CONF=/dev/null $O dgst -sha256 -verify it-ec.pub -signature iso.sig msg |
        grep -q "Verified OK" || fail "isolated mode: signature does not verify"
    OPENSSL_CONF=$PWD/iso.cnf $O dgst -sha256 -sign p11kms:alias/it-rsa \
        -sigopt rsa_padding_mode:pss -out iso-pss.sig msg || fail "isolated mode: RSA-PSS"
    OPENSSL_CONF=$PWD/iso.cnf $O pkeyutl -decrypt -inkey p11kms:alias/it-rsaenc \
        -pkeyopt rsa_padding_mode:oaep -in ct -out iso.pt && cmp -s pt iso.pt ||
        fail "isolated mode: OAEP"
    kill "$pid" 2>/dev/null || true
    echo "backend $b: isolated mode through p11-kit-client.so ok"
}

run() {
    local b=$1
    echo "== backend $b"
    head -c 3000 /dev/urandom >msg
    check_sign it-ec
    check_sign it-rsa
    check_pss
    check_oaep "$b"
    check_x509_cms it-ec
    check_x509_cms it-rsa
    check_pss_cert
    check_certs "$b"
    check_isolated "$b"
    check_genpkey "$b"
    check_uris "$b"
    # `openssl list` must not load the module (lazy loading).
    $O list -providers | grep -q p11kms || fail "provider not listed"
    echo "backend $b: ok"
}

for_each_backend run
