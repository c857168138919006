/*
 * kms/policy-match.c — the vocabulary of policies: KMS action names,
 * condition keys, wildcard matching and the small lexical checks the parser
 * and the evaluator share.
 *
 * The action table is sorted case-insensitively so a request's action is
 * found by binary search; its position is the action's bit in a statement's
 * compiled mask.
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kms/policy-internal.h"

#define CTX 1

/* KMS's API actions, sorted by strcasecmp (checked by the tests). */
static const p11kms_policy_action_info actions[] = {
    {"CancelKeyDeletion", 0, 0},
    {"ConnectCustomKeyStore", 0, 0},
    {"CreateAlias", 0, 0},
    {"CreateCustomKeyStore", 0, 0},
    {"CreateGrant", P11KMS_GRANT_OP_CREATE_GRANT, CTX},
    {"CreateKey", 0, 0},
    {"Decrypt", P11KMS_GRANT_OP_DECRYPT, CTX},
    {"DeleteAlias", 0, 0},
    {"DeleteCustomKeyStore", 0, 0},
    {"DeleteImportedKeyMaterial", 0, 0},
    {"DeriveSharedSecret", P11KMS_GRANT_OP_DERIVE_SHARED_SECRET, 0},
    {"DescribeCustomKeyStores", 0, 0},
    {"DescribeKey", P11KMS_GRANT_OP_DESCRIBE_KEY, 0},
    {"DisableKey", 0, 0},
    {"DisableKeyRotation", 0, 0},
    {"DisconnectCustomKeyStore", 0, 0},
    {"EnableKey", 0, 0},
    {"EnableKeyRotation", 0, 0},
    {"Encrypt", P11KMS_GRANT_OP_ENCRYPT, CTX},
    {"GenerateDataKey", P11KMS_GRANT_OP_GENERATE_DATA_KEY, CTX},
    {"GenerateDataKeyPair", P11KMS_GRANT_OP_GENERATE_DATA_KEY_PAIR, CTX},
    {"GenerateDataKeyPairWithoutPlaintext",
     P11KMS_GRANT_OP_GENERATE_DATA_KEY_PAIR_WITHOUT_PLAINTEXT, CTX},
    {"GenerateDataKeyWithoutPlaintext", P11KMS_GRANT_OP_GENERATE_DATA_KEY_WITHOUT_PLAINTEXT, CTX},
    {"GenerateMac", P11KMS_GRANT_OP_GENERATE_MAC, 0},
    {"GenerateRandom", 0, 0},
    {"GetKeyPolicy", 0, 0},
    {"GetKeyRotationStatus", 0, 0},
    {"GetParametersForImport", 0, 0},
    {"GetPublicKey", P11KMS_GRANT_OP_GET_PUBLIC_KEY, 0},
    {"ImportKeyMaterial", 0, 0},
    {"ListAliases", 0, 0},
    {"ListGrants", 0, 0},
    {"ListKeyPolicies", 0, 0},
    {"ListKeyRotations", 0, 0},
    {"ListKeys", 0, 0},
    {"ListResourceTags", 0, 0},
    {"ListRetirableGrants", 0, 0},
    {"PutKeyPolicy", 0, 0},
    {"ReEncryptFrom", P11KMS_GRANT_OP_RE_ENCRYPT_FROM, CTX},
    {"ReEncryptTo", P11KMS_GRANT_OP_RE_ENCRYPT_TO, CTX},
    {"ReplicateKey", 0, 0},
    {"RetireGrant", P11KMS_GRANT_OP_RETIRE_GRANT, 0},
    {"RevokeGrant", 0, 0},
    {"RotateKeyOnDemand", 0, 0},
    {"ScheduleKeyDeletion", 0, 0},
    {"Sign", P11KMS_GRANT_OP_SIGN, 0},
    {"SynchronizeMultiRegionKey", 0, 0},
    {"TagResource", 0, 0},
    {"UntagResource", 0, 0},
    {"UpdateAlias", 0, 0},
    {"UpdateCustomKeyStore", 0, 0},
    {"UpdateKeyDescription", 0, 0},
    {"UpdatePrimaryRegion", 0, 0},
    {"Verify", P11KMS_GRANT_OP_VERIFY, 0},
    {"VerifyMac", P11KMS_GRANT_OP_VERIFY_MAC, 0},
};

#define NACTIONS (sizeof(actions) / sizeof(actions[0]))
_Static_assert(NACTIONS <= 64, "action masks are 64 bits wide");

size_t p11kms_policy_action_count(void)
{
    return NACTIONS;
}

const p11kms_policy_action_info *p11kms_policy_action_at(size_t i)
{
    return i < NACTIONS ? &actions[i] : NULL;
}

uint64_t p11kms_policy_action_all(void)
{
    return NACTIONS == 64 ? ~(uint64_t)0 : (((uint64_t)1 << NACTIONS) - 1);
}

static int has_kms_prefix(const char *s, size_t len)
{
    return len >= 4 && strncasecmp(s, "kms:", 4) == 0;
}

int p11kms_policy_action_index(const char *action)
{
    size_t lo = 0, hi = NACTIONS;
    int idx = -1;

    if (action == NULL || !has_kms_prefix(action, strlen(action)))
        goto done;
    action += 4;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(action, actions[mid].name);
        if (c == 0) {
            idx = (int)mid;
            goto done;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
done:
    return idx;
}

int p11kms_policy_action_known(const char *action)
{
    return p11kms_policy_action_index(action) >= 0;
}

uint64_t p11kms_policy_action_mask(const char *pattern, size_t len, int *bad_prefix)
{
    uint64_t mask = 0;

    *bad_prefix = 0;
    if (len == 1 && pattern[0] == '*')
        return p11kms_policy_action_all();
    if (!has_kms_prefix(pattern, len)) {
        *bad_prefix = 1;
        return 0;
    }
    for (size_t i = 0; i < NACTIONS; i++) {
        if (p11kms_policy_glob(pattern + 4, len - 4, actions[i].name, strlen(actions[i].name), 1))
            mask |= (uint64_t)1 << i;
    }
    return mask;
}

static int fold(int c, int icase)
{
    return icase && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Iterative glob with single-star backtracking: linear in practice and
 * O(plen * slen) worst case, with no recursion for hostile patterns.
 */
int p11kms_policy_glob(const char *pat, size_t plen, const char *s, size_t slen, int icase)
{
    size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;

    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            star_p = p++;
            star_i = i;
        } else if (p < plen && (pat[p] == '?' || fold((unsigned char)pat[p], icase) ==
                                                     fold((unsigned char)s[i], icase))) {
            p++;
            i++;
        } else if (star_p != (size_t)-1) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return 0;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

int p11kms_policy_strieq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

int p11kms_policy_parse_id(const char *s, size_t len, uint32_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v >= 0xffffffffu) /* (uid_t)-1 means "no id" to the kernel */
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* [-]DIGITS[.DIGITS][e[+-]DIGITS]: decimal only (strtod alone would also take
 * hex, "inf", "nan" and leading blanks). */
static int decimal_syntax(const char *s, size_t len)
{
    size_t i = 0, digits = 0;

    if (i < len && s[i] == '-')
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    }
    if (digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            exp_digits++;
        if (exp_digits == 0)
            return 0;
    }
    return i == len;
}

int p11kms_policy_parse_number(const char *s, size_t len, double *out)
{
    char buf[64];
    char *end = NULL;

    if (len == 0 || len >= sizeof(buf) || !decimal_syntax(s, len))
        return 0;
    /* The module lives in other programs: their LC_NUMERIC must not matter. */
    if (pthread_once(&c_locale_once, c_locale_init) != 0 || c_locale == (locale_t)0)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod_l(buf, &end, c_locale);
    return end == buf + len && isfinite(*out);
}

/* ---- condition keys ------------------------------------------------------- */

static const struct {
    const char *name;
    int ckey;
} ckeys[] = {
    {"kms:EncryptionContextKeys", P11KMS_CK_EC_KEYS},
    {"kms:EncryptionAlgorithm", P11KMS_CK_ENC_ALG},
    {"kms:SigningAlgorithm", P11KMS_CK_SIGN_ALG},
    {"kms:MacAlgorithm", P11KMS_CK_MAC_ALG},
    {"kms:MessageType", P11KMS_CK_MESSAGE_TYPE},
    {"kms:KeySpec", P11KMS_CK_KEY_SPEC},
    {"kms:KeyUsage", P11KMS_CK_KEY_USAGE},
    {"kms:RequestAlias", P11KMS_CK_REQUEST_ALIAS},
    {"kms:ScheduleKeyDeletionPendingWindowInDays", P11KMS_CK_PENDING_WINDOW},
    {"kms:RotationPeriodInDays", P11KMS_CK_ROTATION_PERIOD},
    {"kms:BypassPolicyLockoutSafetyCheck", P11KMS_CK_BYPASS_LOCKOUT},
    {"kms:GrantOperations", P11KMS_CK_GRANT_OPERATIONS},
    {"kms:GranteePrincipal", P11KMS_CK_GRANTEE},
    {"kms:RetiringPrincipal", P11KMS_CK_RETIRING},
    {"kms:GrantConstraintType", P11KMS_CK_GRANT_CONSTRAINT},
    {"p11kms:CallerUser", P11KMS_CK_CALLER_USER},
    {"p11kms:CallerGroup", P11KMS_CK_CALLER_GROUP},
    {"p11kms:CallerExecutable", P11KMS_CK_CALLER_EXE},
};

#define EC_PREFIX "kms:EncryptionContext:"

const char *p11kms_policy_ckey_name(int ckey)
{
    if (ckey == P11KMS_CK_EC_KEY)
        return EC_PREFIX;
    for (size_t i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++) {
        if (ckeys[i].ckey == ckey)
            return ckeys[i].name;
    }
    return "?";
}

int p11kms_policy_ckey_lookup(const char *name, size_t len, const char **suffix, size_t *suffix_len)
{
    const size_t plen = sizeof(EC_PREFIX) - 1;

    *suffix = NULL;
    *suffix_len = 0;
    if (len >= plen && strncasecmp(name, EC_PREFIX, plen) == 0) {
        *suffix = name + plen;
        *suffix_len = len - plen;
        return P11KMS_CK_EC_KEY;
    }
    for (size_t i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++) {
        if (p11kms_policy_strieq(name, len, ckeys[i].name, strlen(ckeys[i].name)))
            return ckeys[i].ckey;
    }
    return -1;
}

void p11kms_policy_quote(char *out, size_t outlen, const char *s, size_t len)
{
    const size_t max = 64;
    size_t cut = len, o = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (outlen < max + 8) /* quotes, "...", NUL */
        return;
    if (cut > max) {
        cut = max;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--; /* never split a UTF-8 sequence */
    }
    out[o++] = '"';
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (cut < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}
