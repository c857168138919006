/*
 * p11-internal.h — types and prototypes shared by the files of the
 * p11kms PKCS#11 module (pkcs11/).  Nothing here is installed: the public
 * surface is the C_* entry points and include/p11kms/pkcs11.h.
 *
 * Concurrency model (documented in p11kms-pkcs11(8)): one module lock,
 * either the operating system's or the application's callbacks from
 * CK_C_INITIALIZE_ARGS, is held for the whole of every C_* call, as
 * OpenSC does.  Each token owns one store connection, which must never be
 * used by two threads at once, so finer locking would buy little.
 */
#ifndef P11KMS_PKCS11_P11_INTERNAL_H
#define P11KMS_PKCS11_P11_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <p11-kit/pkcs11.h>
#include "p11kms/pkcs11.h"

#include "kms/caller.h"
#include "kms/kms.h"
#include "store/config.h"

/* ------------------------------------------------------------------ */
/* Handle tables (p11-handle.c)                                       */
/* ------------------------------------------------------------------ */

/* An open-addressing map from a CK_ULONG handle to a pointer. */
typedef struct p11kms_p11_htab {
    CK_ULONG *keys;
    void **vals;
    size_t cap; /* power of two, 0 when empty */
    size_t count;
    size_t tombs;
} p11kms_p11_htab;

void *p11kms_p11_htab_get(const p11kms_p11_htab *t, CK_ULONG key);
int p11kms_p11_htab_put(p11kms_p11_htab *t, CK_ULONG key, void *val);
void *p11kms_p11_htab_del(p11kms_p11_htab *t, CK_ULONG key);
void p11kms_p11_htab_free(p11kms_p11_htab *t);
/* Iteration: *pos starts at 0; returns 0 when done. */
int p11kms_p11_htab_next(const p11kms_p11_htab *t, size_t *pos, CK_ULONG *key, void **val);

/* A map from a byte string to a CK_ULONG (token object identity -> handle). */
typedef struct p11kms_p11_smap_ent {
    char *key;
    CK_ULONG val;
    struct p11kms_p11_smap_ent *next;
} p11kms_p11_smap_ent;

typedef struct p11kms_p11_smap {
    p11kms_p11_smap_ent **buckets;
    size_t nbuckets;
    size_t count;
} p11kms_p11_smap;

CK_ULONG p11kms_p11_smap_get(const p11kms_p11_smap *m, const char *key);
int p11kms_p11_smap_put(p11kms_p11_smap *m, const char *key, CK_ULONG val);
void p11kms_p11_smap_del(p11kms_p11_smap *m, const char *key);
void p11kms_p11_smap_free(p11kms_p11_smap *m);

/* ------------------------------------------------------------------ */
/* Attribute helpers (p11-attr.c)                                     */
/* ------------------------------------------------------------------ */

/* An owned, growable attribute list (session objects, cached views). */
typedef struct p11kms_p11_attrs {
    CK_ATTRIBUTE *v;
    size_t n;
    size_t cap;
} p11kms_p11_attrs;

const CK_ATTRIBUTE *p11kms_p11_attr_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                         CK_ATTRIBUTE_TYPE type);
/* 1 = present and well-formed (value stored), 0 = absent; CKR via *rv on error. */
int p11kms_p11_attr_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                         CK_BBOOL *out, CK_RV *rv);
int p11kms_p11_attr_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                          CK_ULONG *out, CK_RV *rv);
CK_RV p11kms_p11_attr_check_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n);
int p11kms_p11_attr_is_sensitive_type(CK_ATTRIBUTE_TYPE type);

CK_RV p11kms_p11_attrs_set(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, const void *val,
                           CK_ULONG len);
CK_RV p11kms_p11_attrs_set_bool(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_BBOOL v);
CK_RV p11kms_p11_attrs_set_ulong(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
CK_RV p11kms_p11_attrs_merge(p11kms_p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
const CK_ATTRIBUTE *p11kms_p11_attrs_get(const p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type);
CK_BBOOL p11kms_p11_attrs_bool(const p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_BBOOL def);
CK_ULONG p11kms_p11_attrs_ulong(const p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG def);
void p11kms_p11_attrs_remove(p11kms_p11_attrs *a, CK_ATTRIBUTE_TYPE type);
void p11kms_p11_attrs_free(p11kms_p11_attrs *a);
CK_RV p11kms_p11_attrs_copy(p11kms_p11_attrs *dst, const p11kms_p11_attrs *src);
/* 1 when every attribute of tmpl is present in a with an equal value. */
int p11kms_p11_attrs_match(const p11kms_p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/*
 * Copy one value into an application's CK_ATTRIBUTE following
 * C_GetAttributeValue's rules: NULL pValue = length query; too small =
 * CK_UNAVAILABLE_INFORMATION and CKR_BUFFER_TOO_SMALL.
 */
CK_RV p11kms_p11_attr_out(CK_ATTRIBUTE *dst, const void *val, CK_ULONG len);
/* Fold per-attribute results into C_GetAttributeValue's single code. */
CK_RV p11kms_p11_attr_worst(CK_RV acc, CK_RV rv);

/* ------------------------------------------------------------------ */
/* Locking and module state (p11-lock.c, p11-general.c)               */
/* ------------------------------------------------------------------ */

CK_RV p11kms_p11_lock_setup(const CK_C_INITIALIZE_ARGS *args);
void p11kms_p11_lock_teardown(void);
void p11kms_p11_lock_forget(void); /* child after fork: drop without destroying */
void p11kms_p11_lock(void);
void p11kms_p11_unlock(void);

/*
 * Entry guard of every C_* function except C_Initialize, C_GetFunctionList:
 * checks initialisation and the fork rule, then takes the module lock.
 * On CKR_OK the caller must call p11kms_p11_leave().
 */
CK_RV p11kms_p11_enter(void);
void p11kms_p11_leave(void);
CK_ULONG p11kms_p11_next_handle(void);

/* ------------------------------------------------------------------ */
/* Slots and tokens (p11-slot.c, p11-token.c)                         */
/* ------------------------------------------------------------------ */

#define P11KMS_P11_NOT_LOGGED_IN ((CK_USER_TYPE)~0UL)
#define P11KMS_P11_MAX_SLOTS     16

typedef struct p11kms_p11_slot {
    CK_SLOT_ID id;
    const p11kms_config_token *cfg; /* owned by the loaded configuration */
    CK_ULONG min_pin_len;
    p11kms_kms *kms;    /* opened at C_Initialize; touches no file until used */
    CK_USER_TYPE login; /* per application: all sessions of the slot */
    CK_ULONG nsessions;
    CK_ULONG nrw;
} p11kms_p11_slot;

p11kms_p11_slot *p11kms_p11_slot_get(CK_SLOT_ID id);
/* The slot of a session / CKR_SLOT_ID_INVALID. */
CK_ULONG p11kms_p11_slot_count(void);
CK_RV p11kms_p11_slots_load(void);
void p11kms_p11_slots_free(int orphan);

/* ------------------------------------------------------------------ */
/* Objects (p11-object.c)                                             */
/* ------------------------------------------------------------------ */

typedef enum p11kms_p11_objkind {
    P11KMS_P11_OBJ_SESSION = 1, /* module memory, attrs + secret */
    P11KMS_P11_OBJ_CMK,         /* secret key or private key of a CMK */
    P11KMS_P11_OBJ_CMK_PUBLIC,  /* public half of an asymmetric CMK */
    P11KMS_P11_OBJ_CMK_VERSION, /* old version of a symmetric CMK */
    P11KMS_P11_OBJ_GENERIC,     /* certificate or data object in the store */
    P11KMS_P11_OBJ_OPREQ        /* vendor operation request (session only) */
} p11kms_p11_objkind;

typedef struct p11kms_p11_object {
    CK_OBJECT_HANDLE handle;
    CK_SLOT_ID slot;
    p11kms_p11_objkind kind;
    CK_SESSION_HANDLE session; /* owner of a session object, else 0 */
    char ident[96];            /* store identity (key id, version...) */
    uint32_t version;          /* CMK_VERSION: version number */
    p11kms_p11_attrs attrs;    /* session objects: all attributes */
    unsigned char *secret;     /* session keys: raw value / PKCS#8 DER (secmem) */
    size_t secret_len;
    p11kms_kms_key *kkey; /* CMK objects: engine handle, opened lazily */
    unsigned char *spki;  /* CMK objects: cached SubjectPublicKeyInfo */
    size_t spki_len;
    int not_sensitive; /* CMK created with CKA_SENSITIVE false (this process) */
    void *opreq;       /* OPREQ objects: p11-oprequest.c state */
} p11kms_p11_object;

p11kms_p11_object *p11kms_p11_object_get(CK_OBJECT_HANDLE h);
CK_RV p11kms_p11_object_add(p11kms_p11_object *obj);
void p11kms_p11_object_free(p11kms_p11_object *obj);
void p11kms_p11_object_destroy_session(CK_SESSION_HANDLE s);
void p11kms_p11_objects_free(int orphan);
/* Register a store-backed object, returning the existing handle when known. */
CK_RV p11kms_p11_object_token_handle(CK_SLOT_ID slot, p11kms_p11_objkind kind, const char *ident,
                                     uint32_t version, CK_OBJECT_HANDLE *out);
void p11kms_p11_objects_forget_slot(CK_SLOT_ID slot);
void p11kms_p11_object_forget_key(CK_SLOT_ID slot, const char *ident);
/* Session objects (p11-sessobj.c). */
struct p11kms_p11_session;
CK_RV p11kms_p11_sessobj_create(const struct p11kms_p11_session *s, const CK_ATTRIBUTE *tmpl,
                                CK_ULONG n, p11kms_p11_object **out);
CK_RV p11kms_p11_sessobj_key_defaults(p11kms_p11_object *obj);
/* copy: C_CopyObject rules (only boolean tightening + label/id), else C_SetAttributeValue. */
CK_RV p11kms_p11_sessobj_check_changes(const p11kms_p11_object *obj, const CK_ATTRIBUTE *tmpl,
                                       CK_ULONG n, int copy);
/* Visibility: same slot, private objects need a user login. */
int p11kms_p11_object_visible(const p11kms_p11_object *obj, const struct p11kms_p11_session *s);
/* Look up an object visible to session s: CKR_OBJECT_HANDLE_INVALID otherwise. */
CK_RV p11kms_p11_object_lookup(const struct p11kms_p11_session *s, CK_OBJECT_HANDLE h,
                               p11kms_p11_object **out);
/* The engine key of a CMK-backed object (opened on first use). */
CK_RV p11kms_p11_object_kkey(p11kms_p11_object *obj, p11kms_kms_key **out);
/* A CMK-backed object's attributes as a list (p11-cmk.c). want: the types
 * the caller needs, so costly ones (policy, public key) are built only then. */
CK_RV p11kms_p11_cmk_attrs(p11kms_p11_object *obj, const CK_ATTRIBUTE *want, CK_ULONG nwant,
                           p11kms_p11_attrs *out);
CK_RV p11kms_p11_cmk_view(p11kms_p11_object *obj, const CK_ATTRIBUTE *want, CK_ULONG nwant,
                          p11kms_p11_attrs *out, p11kms_kms_key_meta *m);
CK_RV p11kms_p11_cmk_set(p11kms_p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV p11kms_p11_cmk_destroy(p11kms_p11_object *obj);
CK_RV p11kms_p11_cmk_spki(p11kms_p11_object *obj, const unsigned char **spki, size_t *len);

/* ------------------------------------------------------------------ */
/* Sessions and operation state (p11-session.c)                       */
/* ------------------------------------------------------------------ */

typedef enum p11kms_p11_optype {
    P11KMS_P11_OP_FIND = 0,
    P11KMS_P11_OP_ENCRYPT,
    P11KMS_P11_OP_DECRYPT,
    P11KMS_P11_OP_DIGEST,
    P11KMS_P11_OP_SIGN,
    P11KMS_P11_OP_VERIFY,
    P11KMS_P11_OP_COUNT
} p11kms_p11_optype;

/* One active operation; the owner file supplies free(). */
typedef struct p11kms_p11_op {
    CK_MECHANISM_TYPE mech;
    CK_OBJECT_HANDLE key;
    void (*free)(struct p11kms_p11_op *op);
} p11kms_p11_op;

typedef struct p11kms_p11_session {
    CK_SESSION_HANDLE handle;
    CK_SLOT_ID slot;
    CK_FLAGS flags;
    p11kms_p11_op *ops[P11KMS_P11_OP_COUNT];
} p11kms_p11_session;

/* Looks up an open session; CKR_SESSION_HANDLE_INVALID when unknown. */
CK_RV p11kms_p11_session_get(CK_SESSION_HANDLE h, p11kms_p11_session **out);
void p11kms_p11_session_op_end(p11kms_p11_session *s, p11kms_p11_optype t);
/* CKR_OPERATION_ACTIVE if t is busy. */
CK_RV p11kms_p11_session_op_check_idle(const p11kms_p11_session *s, p11kms_p11_optype t);
void p11kms_p11_sessions_free(int orphan);
CK_RV p11kms_p11_session_close_all(CK_SLOT_ID slot);
CK_STATE p11kms_p11_session_state(const p11kms_p11_session *s);

/* Resolve a key handle for an operation of session s. */
CK_RV p11kms_p11_key_for_session(const p11kms_p11_session *s, CK_OBJECT_HANDLE h,
                                 p11kms_p11_object **out);

/* ------------------------------------------------------------------ */
/* Keys and cryptographic operations (p11-op.c)                       */
/* ------------------------------------------------------------------ */

#include "common/crypto.h"

/* A key resolved at *Init: it outlives the object (refs and copies). */
typedef struct p11kms_p11_key {
    int cmk;                  /* CMK-backed (kms.h does the work) */
    p11kms_kms_key *kkey;     /* CMK: reference held */
    uint32_t version;         /* CMK: 0 = current, N = old-version object */
    int is_public;            /* public half of a key pair */
    p11kms_kms_key_spec spec; /* CMK only */
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
    unsigned char *secret; /* session key: secmem copy (secret value or SPKI) */
    size_t secret_len;
} p11kms_p11_key;

/* Resolves hKey for an operation needing attribute `need` (CKA_ENCRYPT ...). */
CK_RV p11kms_p11_key_resolve(const struct p11kms_p11_session *s, CK_OBJECT_HANDLE h,
                             CK_ATTRIBUTE_TYPE need, p11kms_p11_key *out);
void p11kms_p11_key_clear(p11kms_p11_key *k);

/* An encrypt / decrypt / sign / verify operation. */
typedef struct p11kms_p11_cop {
    p11kms_p11_op base;
    p11kms_p11_key key;
    CK_SLOT_ID slot;
    unsigned char iv[128];
    size_t iv_len;
    unsigned char *aad;
    size_t aad_len, tag_len;
    p11kms_md md, mgf; /* OAEP / PSS / hash-then-sign */
    size_t salt;
    p11kms_crypto_hash *hash; /* hash-then-sign multi-part */
    unsigned char *in;        /* buffered input (wiped) */
    size_t in_len, in_cap;
    unsigned char *res; /* cached result for BUFFER_TOO_SMALL retries (wiped) */
    size_t res_len;
    int have_res;
    int updated; /* a *Update call happened */
} p11kms_p11_cop;

p11kms_p11_cop *p11kms_p11_cop_new(CK_MECHANISM_TYPE mech, CK_SLOT_ID slot);
void p11kms_p11_cop_free(p11kms_p11_op *op);
CK_RV p11kms_p11_cop_append(p11kms_p11_cop *c, const unsigned char *in, size_t len);
/* Takes ownership of res (malloc'd) as the cached result. */
void p11kms_p11_cop_set_result(p11kms_p11_cop *c, unsigned char *res, size_t len);
/*
 * Output rules shared by every single-part and final call: NULL out =
 * length query, too small = CKR_BUFFER_TOO_SMALL; *keep says whether the
 * operation stays active.
 */
CK_RV p11kms_p11_emit(const unsigned char *res, size_t len, CK_BYTE_PTR out, CK_ULONG_PTR outlen,
                      int *keep);
/* Copy kms.h bytes into a malloc'd buffer the cop owns. */
CK_RV p11kms_p11_cop_take(p11kms_p11_cop *c, p11kms_kms_bytes *b);

/* ------------------------------------------------------------------ */
/* Mechanisms (p11-mech.c)                                            */
/* ------------------------------------------------------------------ */

typedef struct p11kms_p11_mech_desc {
    CK_MECHANISM_TYPE type;
    CK_ULONG min_key, max_key;
    CK_FLAGS flags;
} p11kms_p11_mech_desc;

const p11kms_p11_mech_desc *p11kms_p11_mech_find(CK_MECHANISM_TYPE type);
const p11kms_p11_mech_desc *p11kms_p11_mech_at(size_t i);
size_t p11kms_p11_mech_count(void);
int p11kms_p11_mech_allows(CK_MECHANISM_TYPE type, CK_FLAGS need);
p11kms_md p11kms_p11_md_of_mech(CK_MECHANISM_TYPE m);

/* ------------------------------------------------------------------ */
/* Caller identity and kms.h results (p11-token.c, p11-served.c)      */
/* ------------------------------------------------------------------ */

typedef enum p11kms_p11_rvctx {
    P11KMS_P11_CTX_TOKEN = 0, /* token and management calls */
    P11KMS_P11_CTX_KEY_USE,   /* cryptographic use of a key handle */
    P11KMS_P11_CTX_OBJECT     /* object attribute calls */
} p11kms_p11_rvctx;

CK_RV p11kms_p11_rv_from_kms(p11kms_kms_rc rc, p11kms_p11_rvctx ctx);
const p11kms_caller *p11kms_p11_caller(void);
CK_RV p11kms_p11_caller_refresh(void);
int p11kms_p11_served(void);
/* Unattended unlock of a served token (p11-unlock.c). */
int p11kms_p11_unlock_configured(const p11kms_p11_slot *slot);
CK_RV p11kms_p11_self_unlock(p11kms_p11_slot *slot);
/* The peer of the p11-kit connection on fd 0 (served mode); 1 ok / 0 fail closed. */
int p11kms_p11_served_peer(const char *socket_path, p11kms_caller *out);

/* Session objects visible to s that match a template (p11-object.c). */
CK_RV p11kms_p11_objects_session_matching(const p11kms_p11_session *s, const CK_ATTRIBUTE *tmpl,
                                          CK_ULONG n, CK_OBJECT_HANDLE **out, size_t *count);

/* Public keys (p11-pubkey.c). */
CK_RV p11kms_p11_pubkey_attrs_from_spki(const unsigned char *spki, size_t len,
                                        p11kms_p11_attrs *out);
CK_RV p11kms_p11_pubkey_spki(p11kms_p11_object *obj);

/* ------------------------------------------------------------------ */
/* Misc (p11-general.c)                                               */
/* ------------------------------------------------------------------ */

/*
 * Parent state abandoned in a forked child: kept reachable (never freed,
 * never closed) through this non-static list so that neither the compiler
 * nor a leak checker mistakes the deliberate leak for a lost pointer.
 */
typedef struct p11kms_p11_orphanage {
    void *items[256];
    size_t n;
} p11kms_p11_orphanage;
extern p11kms_p11_orphanage p11kms_p11_orphans;
/* Copies len bytes of state to the heap and keeps the copy. */
void p11kms_p11_orphan_keep(const void *state, size_t len);

void p11kms_p11_blank_copy(CK_UTF8CHAR *dst, size_t n, const char *src);
void p11kms_p11_library_version(CK_VERSION *v);
/* One line on stderr, only when P11KMS_DEBUG is set or for fatal setup errors. */
void p11kms_p11_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* P11KMS_PKCS11_P11_INTERNAL_H */
