/*
 * client/key-gen.c — creating an asymmetric CMK with C_GenerateKeyPair
 * (client/key-ops.h).
 *
 * The private template asks for a token key that never leaves the module
 * (CKA_SENSITIVE, not CKA_EXTRACTABLE) and carries the alias twice: as the
 * vendor attribute CKA_P11KMS_ALIAS, which makes p11kms-pkcs11.so create the
 * KMS alias, and as CKA_LABEL, which is how other modules (SoftHSMv2) and
 * standard tools find it.  A module that refuses the vendor attribute is
 * asked again without it, with a random CKA_ID tying the pair together.
 */
#include "config.h"

#include "client/key-internal.h"

#include "p11kms/pkcs11.h"

#include <string.h>

#include <openssl/crypto.h>

/* DER OBJECT IDENTIFIERs of the NIST curves (CKA_EC_PARAMS). */
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

#define GEN_TMPL_MAX 16

typedef struct gen_templates {
    CK_ATTRIBUTE pub[GEN_TMPL_MAX], priv[GEN_TMPL_MAX];
    CK_ULONG npub, npriv;
} gen_templates;

static void add(CK_ATTRIBUTE *t, CK_ULONG *n, CK_ATTRIBUTE_TYPE type, const void *v, size_t len)
{
    t[*n].type = type;
    t[*n].pValue = (void *)v;
    t[*n].ulValueLen = (CK_ULONG)len;
    (*n)++;
}

static int curve_oid(p11kms_curve curve, const unsigned char **oid, size_t *len)
{
    switch (curve) {
    case P11KMS_CURVE_P256:
        *oid = oid_p256, *len = sizeof(oid_p256);
        return 1;
    case P11KMS_CURVE_P384:
        *oid = oid_p384, *len = sizeof(oid_p384);
        return 1;
    case P11KMS_CURVE_P521:
        *oid = oid_p521, *len = sizeof(oid_p521);
        return 1;
    default:
        return 0;
    }
}

static int check_request(const p11kms_client_keygen *req, p11kms_client_err *err)
{
    const unsigned char *oid;
    size_t len;

    if (req->alias == NULL || strncmp(req->alias, "alias/", 6) != 0 || req->alias[6] == '\0' ||
        strlen(req->alias) > P11KMS_CLIENT_LABEL_MAX)
        return p11kms_client_fail(err, CKR_OK,
                                  "key generation needs a target alias "
                                  "(alias/NAME)");
    if (req->kind == P11KMS_KEY_KIND_RSA &&
        (req->bits == 2048 || req->bits == 3072 || req->bits == 4096))
        return 1;
    if (req->kind == P11KMS_KEY_KIND_EC && curve_oid(req->curve, &oid, &len))
        return 1;
    return p11kms_client_fail(err, CKR_OK,
                              "key generation: only RSA 2048/3072/4096 and EC "
                              "P-256/P-384/P-521 keys (KMS key specs)");
}

int p11kms_client_key_generate(p11kms_client_module *mod, CK_SESSION_HANDLE session,
                               const p11kms_client_keygen *req, p11kms_client_keyref *priv,
                               p11kms_client_err *err)
{
    static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    static const unsigned char f4[] = {0x01, 0x00, 0x01};
    CK_FUNCTION_LIST *fn = p11kms_client_module_functions(mod);
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
    CK_ULONG bits = req->bits;
    unsigned char id[16];
    const unsigned char *oid = NULL;
    size_t oidlen = 0, alen;
    gen_templates t;
    CK_RV rv;

    if (!check_request(req, err))
        return 0;
    alen = strlen(req->alias);
    memset(&t, 0, sizeof(t));
    add(t.pub, &t.npub, CKA_TOKEN, &yes, sizeof(yes));
    add(t.pub, &t.npub, CKA_VERIFY, &yes, sizeof(yes));
    add(t.pub, &t.npub, CKA_LABEL, req->alias, alen);
    add(t.priv, &t.npriv, CKA_TOKEN, &yes, sizeof(yes));
    add(t.priv, &t.npriv, CKA_PRIVATE, &yes, sizeof(yes));
    add(t.priv, &t.npriv, CKA_SENSITIVE, &yes, sizeof(yes));
    add(t.priv, &t.npriv, CKA_EXTRACTABLE, &no, sizeof(no));
    add(t.priv, &t.npriv, CKA_SIGN, &yes, sizeof(yes));
    add(t.priv, &t.npriv, CKA_LABEL, req->alias, alen);
    if (req->kind == P11KMS_KEY_KIND_RSA) {
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        add(t.pub, &t.npub, CKA_MODULUS_BITS, &bits, sizeof(bits));
        add(t.pub, &t.npub, CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
        add(t.pub, &t.npub, CKA_ENCRYPT, &yes, sizeof(yes));
        add(t.priv, &t.npriv, CKA_DECRYPT, &yes, sizeof(yes));
    } else {
        curve_oid(req->curve, &oid, &oidlen);
        add(t.pub, &t.npub, CKA_EC_PARAMS, oid, oidlen);
    }
    add(t.priv, &t.npriv, CKA_P11KMS_ALIAS, req->alias, alen);
    rv = fn->C_GenerateKeyPair(session, &mech, t.pub, t.npub, t.priv, t.npriv, &hpub, &hpriv);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT) {
        /* Not p11kms: no vendor alias; a random CKA_ID pairs the two objects. */
        t.npriv--;
        if (!p11kms_crypto_random(id, sizeof(id)))
            return p11kms_client_fail(err, CKR_OK, "no random bytes for CKA_ID");
        add(t.pub, &t.npub, CKA_ID, id, sizeof(id));
        add(t.priv, &t.npriv, CKA_ID, id, sizeof(id));
        rv = fn->C_GenerateKeyPair(session, &mech, t.pub, t.npub, t.priv, t.npriv, &hpub, &hpriv);
    }
    if (rv != CKR_OK)
        return p11kms_client_fail(err, rv,
                                  "generating a key pair for %s failed: "
                                  "C_GenerateKeyPair returned %s%s",
                                  req->alias, p11kms_client_rv_name(rv),
                                  rv == CKR_P11KMS_ALREADY_EXISTS ? " (the alias exists)" : "");
    memset(priv, 0, sizeof(*priv));
    priv->handle = hpriv;
    priv->cls = CKO_PRIVATE_KEY;
    priv->key_type = req->kind == P11KMS_KEY_KIND_RSA ? CKK_RSA : CKK_EC;
    return p11kms_client_key_describe(mod, session, priv);
}
