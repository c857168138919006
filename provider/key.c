/*
 * provider/key.c — the provider's key object: a reference to a PKCS#11 key
 * plus its public half (in common/'s private library context), how it is
 * found from a URI, and the key-reference format written by the encoder.
 *
 * Key reference (the body of a PEM "P11KMS KEY REFERENCE"), DER:
 *   SEQUENCE { UTF8String "p11kms-key-reference", INTEGER 1, UTF8String uri }
 * where uri is p11kms:key/UUID when the module exposes KMS key ids, else a
 * pkcs11: URI with the object's label, id and type.  It holds no secret:
 * the private key stays in the module and is used under its policy.
 */
#include "config.h"

#include "provider/prov.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

static const char ref_magic[] = "p11kms-key-reference";

p11kms_prov_key *p11kms_prov_key_new(p11kms_prov_ctx *ctx, p11kms_key_kind kind)
{
    p11kms_prov_key *key = OPENSSL_zalloc(sizeof(*key));

    if (key == NULL)
        return NULL;
    key->magic = P11KMS_PROV_KEY_MAGIC;
    key->ctx = ctx;
    key->kind = kind;
    return key;
}

p11kms_prov_key *p11kms_prov_key_dup(const p11kms_prov_key *key)
{
    p11kms_prov_key *copy = p11kms_prov_key_new(key->ctx, key->kind);

    if (copy == NULL)
        return NULL;
    copy->has_private = key->has_private;
    copy->in_module = key->in_module;
    copy->ref = key->ref;
    copy->generation = key->generation;
    if (key->refuri != NULL && (copy->refuri = OPENSSL_strdup(key->refuri)) == NULL)
        goto fail;
    if (key->pub != NULL && !p11kms_crypto_pkey_up_ref(key->pub))
        goto fail;
    copy->pub = key->pub;
    return copy;
fail:
    p11kms_prov_key_free(copy);
    return NULL;
}

void p11kms_prov_key_free(p11kms_prov_key *key)
{
    if (key == NULL)
        return;
    p11kms_crypto_pkey_free(key->pub);
    OPENSSL_free(key->refuri);
    OPENSSL_cleanse(key, sizeof(*key));
    OPENSSL_free(key);
}

EVP_PKEY *p11kms_prov_key_evp(const p11kms_prov_key *key)
{
    return key != NULL && key->pub != NULL ? p11kms_crypto_pkey_evp(key->pub) : NULL;
}

void p11kms_prov_key_name(const p11kms_prov_key *key, char *buf, size_t buflen)
{
    if (key->in_module)
        p11kms_client_key_name(&key->ref, buf, buflen);
    else
        snprintf(buf, buflen, "(public key)");
}

/* RFC 3986 percent-encoding of everything outside unreserved characters. */
static void pct_append(char *out, size_t outlen, const unsigned char *v, size_t len)
{
    size_t n = strlen(out), i;

    for (i = 0; i < len && n + 4 < outlen; i++) {
        unsigned char c = v[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, outlen - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* The URI a key reference records for ref. */
static char *canonical_uri(const p11kms_client_keyref *ref)
{
    char buf[2048] = "pkcs11:";

    if (ref->kms_key_id[0] != '\0') {
        snprintf(buf, sizeof(buf), "p11kms:key/%s", ref->kms_key_id);
        return OPENSSL_strdup(buf);
    }
    if (ref->label[0] != '\0') {
        strcat(buf, "object=");
        pct_append(buf, sizeof(buf), (const unsigned char *)ref->label, strlen(ref->label));
        strcat(buf, ";");
    }
    if (ref->idlen > 0) {
        strcat(buf, "id=");
        for (size_t i = 0; i < ref->idlen; i++)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%%%02X", ref->id[i]);
        strcat(buf, ";");
    }
    strcat(buf, ref->cls == CKO_PRIVATE_KEY ? "type=private" : "type=public");
    return OPENSSL_strdup(buf);
}

p11kms_prov_key *p11kms_prov_key_from_ref(p11kms_prov_ctx *ctx, CK_SESSION_HANDLE session,
                                          const p11kms_client_keyref *ref)
{
    p11kms_client_err err = {"", 0};
    p11kms_key_kind kind = ref->key_type == CKK_RSA  ? P11KMS_KEY_KIND_RSA
                           : ref->key_type == CKK_EC ? P11KMS_KEY_KIND_EC
                                                     : P11KMS_KEY_KIND_NONE;
    p11kms_prov_key *key = NULL;
    char name[P11KMS_CLIENT_LABEL_MAX + 64];

    if (kind == P11KMS_KEY_KIND_NONE) {
        p11kms_client_key_name(ref, name, sizeof(name));
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_UNSUPPORTED,
                        "key %s: only RSA and EC keys are "
                        "offered through the provider",
                        name);
        goto fail;
    }
    key = p11kms_prov_key_new(ctx, kind);
    if (key == NULL)
        goto fail;
    key->ref = *ref;
    key->in_module = 1;
    key->has_private = ref->cls == CKO_PRIVATE_KEY;
    key->generation = ctx->generation;
    if (!p11kms_client_key_public(ctx->mod, session, ref, &key->pub, &err)) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_KEY_NOT_FOUND, "%s", p11kms_client_err_msg(&err));
        goto fail;
    }
    if ((key->refuri = canonical_uri(ref)) == NULL)
        goto fail;
    return key;
fail:
    p11kms_prov_key_free(key);
    return NULL;
}

/* The private key the URI names, else its public key. */
static p11kms_prov_key *find_key(p11kms_prov_ctx *ctx, CK_SESSION_HANDLE session,
                                 const p11kms_client_uri *uri, const char *text)
{
    p11kms_client_err err = {"", 0};
    p11kms_client_keyref ref;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    size_t count = 0;

    if (uri->kind == P11KMS_CLIENT_URI_PKCS11 && uri->has_class)
        cls = uri->object_class;
    if (!p11kms_client_key_find(ctx->mod, session, uri, cls, &ref, 1, &count, &err))
        goto fail;
    if (count == 0 && cls == CKO_PRIVATE_KEY &&
        !(uri->kind == P11KMS_CLIENT_URI_PKCS11 && uri->has_class)) {
        cls = CKO_PUBLIC_KEY;
        if (!p11kms_client_key_find(ctx->mod, session, uri, cls, &ref, 1, &count, &err))
            goto fail;
    }
    if (count == 1)
        return p11kms_prov_key_from_ref(ctx, session, &ref);
    if (count == 0)
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_KEY_NOT_FOUND, "%s: no such key%s", text,
                        ctx->logged_in ? "" : " (not logged in: configure p11kms-pin)");
    else
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_KEY_NOT_FOUND,
                        "%s: %zu keys match; make the URI more specific", text, count);
    return NULL;
fail:
    P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_KEY_NOT_FOUND, "%s", p11kms_client_err_msg(&err));
    return NULL;
}

p11kms_prov_key *p11kms_prov_key_from_uri(p11kms_prov_ctx *ctx, const char *text,
                                          const p11kms_prov_pin_hint *hint)
{
    p11kms_client_err err = {"", 0};
    p11kms_prov_pin_hint h = {NULL, NULL, NULL};
    p11kms_client_uri uri;
    p11kms_prov_key *key = NULL;
    CK_SESSION_HANDLE session;
    unsigned gen;

    if (!p11kms_client_uri_parse(text, 0, &uri, &err)) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_BAD_ARGUMENT, "%s", p11kms_client_err_msg(&err));
        return NULL;
    }
    if (hint != NULL)
        h = *hint;
    h.uri = &uri;
    if (!p11kms_prov_ready(ctx, &h) || !p11kms_prov_session_get(ctx, &session, &gen))
        goto done;
    key = find_key(ctx, session, &uri, text);
    p11kms_prov_session_put(ctx, session, 1);
done:
    p11kms_client_uri_free(&uri);
    return key;
}

int p11kms_prov_key_session(p11kms_prov_key *key, CK_SESSION_HANDLE *session,
                            p11kms_client_keyref *ref)
{
    p11kms_prov_ctx *ctx = key->ctx;
    p11kms_client_err err = {"", 0};
    unsigned gen;
    int ok = 0;

    if (!key->in_module) {
        P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_NO_PRIVATE_KEY, "the key is not in the module");
        return 0;
    }
    if (!p11kms_prov_session_get(ctx, session, &gen))
        return 0;
    pthread_mutex_lock(&ctx->lock);
    if (key->generation != gen) {
        if (!p11kms_client_key_refind(ctx->mod, *session, &key->ref, &err)) {
            P11KMS_PROV_ERR(ctx, P11KMS_PROV_R_KEY_NOT_FOUND, "%s", p11kms_client_err_msg(&err));
            goto done;
        }
        key->generation = gen;
    }
    *ref = key->ref;
    ok = 1;
done:
    pthread_mutex_unlock(&ctx->lock);
    if (!ok)
        p11kms_prov_session_put(ctx, *session, 1);
    return ok;
}

/* DER key references ---------------------------------------------------------- */

/* Appends tag, length and value; returns the new offset or 0 if out is too small. */
static size_t der_put(unsigned char *out, size_t cap, size_t off, unsigned char tag, const void *v,
                      size_t len)
{
    size_t hdr = len < 0x80 ? 2 : len < 0x100 ? 3 : 4;

    if (len > 0xffff || off + hdr + len > cap)
        return 0;
    out[off++] = tag;
    if (len >= 0x100) {
        out[off++] = 0x82;
        out[off++] = (unsigned char)(len >> 8);
    } else if (len >= 0x80) {
        out[off++] = 0x81;
    }
    out[off++] = (unsigned char)len;
    memcpy(out + off, v, len);
    return off + len;
}

int p11kms_prov_ref_encode(const p11kms_prov_key *key, unsigned char **der, size_t *derlen)
{
    unsigned char body[4096], *out = NULL;
    const unsigned char version = 1;
    size_t n = 0, total;

    *der = NULL;
    if (key->refuri == NULL)
        return 0;
    n = der_put(body, sizeof(body), n, 0x0c, ref_magic, strlen(ref_magic));
    n = n ? der_put(body, sizeof(body), n, 0x02, &version, 1) : 0;
    n = n ? der_put(body, sizeof(body), n, 0x0c, key->refuri, strlen(key->refuri)) : 0;
    if (n == 0 || (out = OPENSSL_malloc(n + 4)) == NULL)
        return 0;
    total = der_put(out, n + 4, 0, 0x30, body, n);
    if (total == 0) {
        OPENSSL_free(out);
        return 0;
    }
    *der = out;
    *derlen = total;
    return 1;
}

/* Reads one TLV with tag at *off; *v and *len describe the value. */
static int der_get(const unsigned char *in, size_t inlen, size_t *off, unsigned char tag,
                   const unsigned char **v, size_t *len)
{
    size_t o = *off, l;

    if (o + 2 > inlen || in[o] != tag)
        return 0;
    l = in[o + 1];
    o += 2;
    if (l == 0x81 && o < inlen && in[o] >= 0x80) {
        l = in[o++];
    } else if (l == 0x82 && o + 1 < inlen && in[o] != 0) {
        l = ((size_t)in[o] << 8) | in[o + 1];
        o += 2;
    } else if (l >= 0x80) {
        return 0;
    }
    if (l > inlen - o)
        return 0;
    *v = in + o;
    *len = l;
    *off = o + l;
    return 1;
}

int p11kms_prov_ref_decode(const unsigned char *der, size_t derlen, char **uri)
{
    const unsigned char *seq, *v;
    size_t seqlen, len, off = 0, inner = 0;

    *uri = NULL;
    if (!der_get(der, derlen, &off, 0x30, &seq, &seqlen) || off != derlen)
        return 0;
    if (!der_get(seq, seqlen, &inner, 0x0c, &v, &len) || len != strlen(ref_magic) ||
        memcmp(v, ref_magic, len) != 0)
        return 0;
    if (!der_get(seq, seqlen, &inner, 0x02, &v, &len) || len != 1 || v[0] != 1)
        return 0;
    if (!der_get(seq, seqlen, &inner, 0x0c, &v, &len) || inner != seqlen || len == 0 ||
        memchr(v, '\0', len) != NULL)
        return 0;
    *uri = OPENSSL_strndup((const char *)v, len);
    return *uri != NULL;
}
