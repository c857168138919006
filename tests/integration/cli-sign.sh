#!/bin/bash
# tests/integration/cli-sign.sh — asymmetric and HMAC keys through the
# built p11kms CLI: sign with ECDSA, RSA-PSS and RSA PKCS#1 v1.5 (RAW and
# DIGEST messages) checked by openssl against get-public-key's key, verify
# and verify-mac accepting good and refusing bad input, generate-random.
. "$abs_top_srcdir/tests/integration/cli-lib.sh"
cd "$T"
printf 'the message to sign' >msg

# sign_check ALIAS ALG OPENSSL-ARGS... — sign msg, verify with openssl and p11kms.
sign_check() {
    local alias=$1 alg=$2
    shift 2
    kms sign --key-id "$alias" --message fileb://msg --signing-algorithm "$alg" \
        --output text --query Signature | base64 -d >sig
    openssl dgst "$@" -verify pub.pem -signature sig msg >/dev/null \
        || fail "openssl rejects the $alg signature"
    kms verify --key-id "$alias" --message fileb://msg --signature fileb://sig \
        --signing-algorithm "$alg" | jq -e '.SignatureValid == true' >/dev/null \
        || fail "p11kms verify rejects its own $alg signature"
    printf 'another message' >msg2
    expect 8 KMSInvalidSignatureException kms verify --key-id "$alias" --message fileb://msg2 \
        --signature fileb://sig --signing-algorithm "$alg"
}

public_pem() {
    kms get-public-key --key-id "$1" >pub.json
    jq -r .PublicKey pub.json | base64 -d >pub.der
    openssl pkey -pubin -inform DER -in pub.der -out pub.pem || fail "public key of $1 is not DER SPKI"
}

# --- ECDSA P-256 and P-384
kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY --alias-name alias/ec256 >ec.json
jq -e '.KeyMetadata.KeySpec == "ECC_NIST_P256" and .KeyMetadata.KeyUsage == "SIGN_VERIFY"' \
    ec.json >/dev/null || fail "create EC key: $(cat ec.json)"
public_pem alias/ec256
jq -e '.KeySpec == "ECC_NIST_P256"' pub.json >/dev/null || fail "get-public-key KeySpec"
sign_check alias/ec256 ECDSA_SHA_256 -sha256
kms create-key --key-spec ECC_NIST_P384 --key-usage SIGN_VERIFY --alias-name alias/ec384 >/dev/null
public_pem alias/ec384
sign_check alias/ec384 ECDSA_SHA_384 -sha384

# DIGEST message type: sign the SHA-256 of msg
openssl dgst -sha256 -binary msg >dgst
kms sign --key-id alias/ec256 --message fileb://dgst --message-type DIGEST \
    --signing-algorithm ECDSA_SHA_256 --output text --query Signature | base64 -d >sig
public_pem alias/ec256
openssl dgst -sha256 -verify pub.pem -signature sig msg >/dev/null || fail "DIGEST signature"
expect 2 "message-type" kms sign --key-id alias/ec256 --message fileb://dgst --message-type HASH \
    --signing-algorithm ECDSA_SHA_256

# --- RSA 2048: PSS and PKCS#1 v1.5
kms create-key --key-spec RSA_2048 --key-usage SIGN_VERIFY --alias-name alias/rsa >/dev/null
public_pem alias/rsa
sign_check alias/rsa RSASSA_PSS_SHA_256 -sha256 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:32
sign_check alias/rsa RSASSA_PKCS1_V1_5_SHA_256 -sha256

# --- HMAC
kms create-key --key-spec HMAC_256 --key-usage GENERATE_VERIFY_MAC --alias-name alias/mac \
    | jq -e '.KeyMetadata.KeyUsage == "GENERATE_VERIFY_MAC"' >/dev/null || fail "create HMAC key"
kms generate-mac --key-id alias/mac --message fileb://msg --mac-algorithm HMAC_SHA_256 >mac.json
[ "$(jq -r .Mac mac.json | base64 -d | wc -c)" -eq 32 ] || fail "HMAC-SHA256 length"
jq -r .Mac mac.json | base64 -d >mac
kms generate-mac --key-id alias/mac --message fileb://msg --mac-algorithm HMAC_SHA_256 \
    --query Mac --output text | cmp -s - <(jq -r .Mac mac.json) || fail "HMAC is deterministic"
kms verify-mac --key-id alias/mac --message fileb://msg --mac fileb://mac \
    --mac-algorithm HMAC_SHA_256 | jq -e '.MacValid == true' >/dev/null || fail "verify-mac"
expect 8 KMSInvalidMacException kms verify-mac --key-id alias/mac --message fileb://msg2 \
    --mac fileb://mac --mac-algorithm HMAC_SHA_256

# --- random bytes
[ "$(kms generate-random --number-of-bytes 48 --query Plaintext --output text | base64 -d \
     | wc -c)" -eq 48 ] || fail "generate-random length"
expect 2 "number-of-bytes" kms generate-random --number-of-bytes 0
echo "cli-sign: ok"
