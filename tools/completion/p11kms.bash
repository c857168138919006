# bash completion for p11kms(1) — commands, their options and the fixed
# values of the aws-kms-style options.  Installed in bash-completion's
# completions directory as p11kms.bash (loaded on first use of p11kms).

_p11kms_command_opts() {
    local opts
    case $1 in
        init) opts="--label" ;;
        create-key) opts="--key-spec --key-usage --description --policy --alias-name --bypass-policy-lockout-safety-check" ;;
        describe-key) opts="--key-id" ;;
        list-keys) opts="--limit --marker" ;;
        enable-key) opts="--key-id" ;;
        disable-key) opts="--key-id" ;;
        update-key-description) opts="--key-id --description" ;;
        schedule-key-deletion) opts="--key-id --pending-window-in-days" ;;
        cancel-key-deletion) opts="--key-id" ;;
        list-aliases) opts="--key-id --limit --marker" ;;
        create-alias) opts="--alias-name --target-key-id" ;;
        update-alias) opts="--alias-name --target-key-id" ;;
        delete-alias) opts="--alias-name" ;;
        encrypt) opts="--key-id --plaintext --encryption-context --encryption-algorithm" ;;
        decrypt) opts="--ciphertext-blob --key-id --encryption-context --encryption-algorithm" ;;
        re-encrypt) opts="--ciphertext-blob --destination-key-id --source-key-id --source-encryption-context --destination-encryption-context" ;;
        generate-random) opts="--number-of-bytes" ;;
        generate-data-key) opts="--key-id --key-spec --number-of-bytes --encryption-context" ;;
        generate-data-key-without-plaintext) opts="--key-id --key-spec --number-of-bytes --encryption-context" ;;
        sign) opts="--key-id --message --signing-algorithm --message-type" ;;
        verify) opts="--key-id --message --signature --signing-algorithm --message-type" ;;
        get-public-key) opts="--key-id" ;;
        generate-mac) opts="--key-id --message --mac-algorithm" ;;
        verify-mac) opts="--key-id --message --mac --mac-algorithm" ;;
        put-key-policy) opts="--key-id --policy --policy-name --bypass-policy-lockout-safety-check" ;;
        get-key-policy) opts="--key-id --policy-name" ;;
        list-key-policies) opts="--key-id" ;;
        put-identity-policy) opts="--principal --policy" ;;
        get-identity-policy) opts="--principal" ;;
        delete-identity-policy) opts="--principal" ;;
        list-identity-policies) opts="" ;;
        create-grant) opts="--key-id --grantee-principal --operations --retiring-principal --constraints --name" ;;
        list-grants) opts="--key-id" ;;
        retire-grant) opts="--grant-token --key-id --grant-id" ;;
        revoke-grant) opts="--key-id --grant-id" ;;
        enable-key-rotation) opts="--key-id --rotation-period-in-days" ;;
        disable-key-rotation) opts="--key-id" ;;
        get-key-rotation-status) opts="--key-id" ;;
        rotate-key-on-demand) opts="--key-id" ;;
        list-key-rotations) opts="--key-id" ;;
        run-due) opts="" ;;
        audit) opts="list verify seal head export archive --help" ;;
        *) opts="" ;;
    esac
    printf '%s\n' "$opts"
}

_p11kms() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local globals="--module --token --pin-source --so-pin-source --config --store --output --query"
    globals+=" --help --version"
    local commands="init create-key describe-key list-keys enable-key disable-key"
    commands+=" update-key-description schedule-key-deletion cancel-key-deletion"
    commands+=" list-aliases create-alias update-alias delete-alias encrypt decrypt"
    commands+=" re-encrypt generate-random generate-data-key"
    commands+=" generate-data-key-without-plaintext sign verify get-public-key"
    commands+=" generate-mac verify-mac put-key-policy get-key-policy"
    commands+=" list-key-policies put-identity-policy get-identity-policy"
    commands+=" delete-identity-policy list-identity-policies create-grant list-grants"
    commands+=" retire-grant revoke-grant enable-key-rotation disable-key-rotation"
    commands+=" get-key-rotation-status rotate-key-on-demand list-key-rotations"
    commands+=" run-due audit help"
    commands+=" backup restore rotate-root-key"

    case $prev in
        --module | --config | --store)
            _filedir 2>/dev/null || COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        --output)
            COMPREPLY=($(compgen -W "json text table" -- "$cur")); return ;;
        --pin-source | --so-pin-source)
            COMPREPLY=($(compgen -W "prompt env: file: credential:" -- "$cur")); return ;;
        --key-spec)
            local specs="SYMMETRIC_DEFAULT HMAC_256 HMAC_384 HMAC_512 RSA_2048 RSA_3072"
            specs+=" RSA_4096 ECC_NIST_P256 ECC_NIST_P384 ECC_NIST_P521 AES_256 AES_128"
            COMPREPLY=($(compgen -W "$specs" -- "$cur")); return ;;
        --key-usage)
            COMPREPLY=($(compgen -W "ENCRYPT_DECRYPT SIGN_VERIFY GENERATE_VERIFY_MAC" -- "$cur"))
            return ;;
        --signing-algorithm)
            local algs="RSASSA_PKCS1_V1_5_SHA_256 RSASSA_PKCS1_V1_5_SHA_384"
            algs+=" RSASSA_PKCS1_V1_5_SHA_512 RSASSA_PSS_SHA_256 RSASSA_PSS_SHA_384"
            algs+=" RSASSA_PSS_SHA_512 ECDSA_SHA_256 ECDSA_SHA_384 ECDSA_SHA_512"
            COMPREPLY=($(compgen -W "$algs" -- "$cur")); return ;;
        --mac-algorithm)
            COMPREPLY=($(compgen -W "HMAC_SHA_256 HMAC_SHA_384 HMAC_SHA_512" -- "$cur")); return ;;
        --message-type)
            COMPREPLY=($(compgen -W "RAW DIGEST" -- "$cur")); return ;;
        --encryption-algorithm)
            COMPREPLY=($(compgen -W "SYMMETRIC_DEFAULT RSAES_OAEP_SHA_1 RSAES_OAEP_SHA_256" \
                -- "$cur")); return ;;
        --plaintext | --ciphertext-blob | --message | --signature | --mac)
            if [[ $cur == fileb://* ]]; then
                COMPREPLY=($(compgen -f -P fileb:// -- "${cur#fileb://}"))
            else
                COMPREPLY=($(compgen -W "fileb:// -" -- "$cur"))
            fi
            compopt -o nospace 2>/dev/null
            return ;;
        --policy)
            if [[ $cur == file://* ]]; then
                COMPREPLY=($(compgen -f -P file:// -- "${cur#file://}"))
            else
                COMPREPLY=($(compgen -W "file:// -" -- "$cur"))
            fi
            compopt -o nospace 2>/dev/null
            return ;;
        --token | --query | --key-id | --target-key-id | --destination-key-id | \
        --source-key-id | --alias-name | --label | --description | --encryption-context | \
        --source-encryption-context | --destination-encryption-context | --limit | \
        --marker | --number-of-bytes | --pending-window-in-days | \
        --rotation-period-in-days | --grantee-principal | --retiring-principal | \
        --operations | --constraints | --name | --grant-id | --grant-token | --principal | \
        --policy-name)
            return ;;
    esac

    # The command is the first word that is neither an option nor an option's value.
    local i cmd=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --module | --token | --pin-source | --so-pin-source | --config | --store | --output | \
            --query)
                ((i++)) ;;
            -*) ;;
            *) cmd=${words[i]}; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$(_p11kms_command_opts "$cmd") --help $globals" -- "$cur"))
    fi
}
complete -F _p11kms p11kms
