/*
 * client/module.c — loading a PKCS#11 module and the first steps every front
 * end takes with it (client/module.h).
 *
 * Why RTLD_NODELETE: modules (p11kms-pkcs11.so, SoftHSM) link OpenSSL and
 * register thread-local destructors and atexit handlers inside their own
 * image; unmapping the image on dlclose while those remain registered is a
 * classic exit-time crash of PKCS#11 + OpenSSL stacks (DESIGN.md, Secrets in
 * memory).  The module stays mapped after unload; it is finalised, so it
 * holds no sessions, keys or threads of ours.
 */
#include "config.h"

#include "client/module.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PKCS11_MODULE_PATH
#error "PKCS11_MODULE_PATH must be defined by the build (the installed p11kms-pkcs11.so)"
#endif

struct p11kms_client_module {
    void *handle;
    CK_FUNCTION_LIST *fn;
    char *path;
    int initialized_by_us;
    pid_t pid; /* process that initialised it */
};

const char *p11kms_client_module_default_path(const char *path)
{
    const char *env = getenv("P11KMS_MODULE");

    if (path != NULL && path[0] != '\0')
        return path;
    if (env != NULL && env[0] != '\0')
        return env;
    return PKCS11_MODULE_PATH;
}

static int module_initialize(p11kms_client_module *mod, p11kms_client_err *err)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = mod->fn->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        mod->initialized_by_us = 0; /* someone else in this process owns the finalize */
    } else if (rv != CKR_OK) {
        return p11kms_client_fail(err, rv, "%s: C_Initialize failed: %s", mod->path,
                                  p11kms_client_rv_name(rv));
    } else {
        mod->initialized_by_us = 1;
    }
    mod->pid = getpid();
    return 1;
}

int p11kms_client_module_load(const char *path, p11kms_client_module **out, p11kms_client_err *err)
{
    CK_C_GetFunctionList get_list;
    p11kms_client_module *mod;
    const char *dlerr;
    CK_RV rv;
    int ok = 0;

    *out = NULL;
    path = p11kms_client_module_default_path(path);
    mod = calloc(1, sizeof(*mod));
    if (mod == NULL || (mod->path = strdup(path)) == NULL) {
        p11kms_client_fail(err, 0, "out of memory");
        goto done;
    }
    mod->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (mod->handle == NULL) {
        dlerr = dlerror();
        p11kms_client_fail(err, 0, "cannot load the PKCS#11 module: %s",
                           dlerr != NULL ? dlerr : path);
        goto done;
    }
    *(void **)&get_list = dlsym(mod->handle, "C_GetFunctionList");
    if (get_list == NULL) {
        p11kms_client_fail(err, 0, "%s: not a PKCS#11 module (no C_GetFunctionList)", path);
        goto done;
    }
    rv = get_list(&mod->fn);
    if (rv != CKR_OK || mod->fn == NULL) {
        p11kms_client_fail(err, rv, "%s: C_GetFunctionList failed: %s", path,
                           p11kms_client_rv_name(rv));
        goto done;
    }
    if (mod->fn->version.major != 2) {
        p11kms_client_fail(err, 0, "%s: unsupported Cryptoki version %u.%u", path,
                           mod->fn->version.major, mod->fn->version.minor);
        goto done;
    }
    if (!module_initialize(mod, err))
        goto done;
    *out = mod;
    mod = NULL;
    ok = 1;
done:
    if (mod != NULL && mod->handle != NULL)
        dlclose(mod->handle);
    if (mod != NULL)
        free(mod->path);
    free(mod);
    return ok;
}

void p11kms_client_module_unload(p11kms_client_module *mod)
{
    if (mod == NULL)
        return;
    if (mod->initialized_by_us && mod->pid == getpid())
        mod->fn->C_Finalize(NULL);
    dlclose(mod->handle);
    free(mod->path);
    free(mod);
}

CK_FUNCTION_LIST *p11kms_client_module_functions(const p11kms_client_module *mod)
{
    return mod->fn;
}

const char *p11kms_client_module_path(const p11kms_client_module *mod)
{
    return mod->path;
}

int p11kms_client_module_after_fork(p11kms_client_module *mod, p11kms_client_err *err)
{
    if (mod->pid == getpid())
        return 1;
    return module_initialize(mod, err);
}

/* Slots ------------------------------------------------------------------------ */

/* CK_TOKEN_INFO.label without its blank padding equals label. */
static int label_equals(const CK_UTF8CHAR padded[32], const char *label)
{
    size_t n = 32, len = strlen(label);

    while (n > 0 && padded[n - 1] == ' ')
        n--;
    return n == len && memcmp(padded, label, len) == 0;
}

/* The slots that have a token; *slots is malloc'd. */
static int token_slots(p11kms_client_module *mod, CK_SLOT_ID **slots, CK_ULONG *count,
                       p11kms_client_err *err)
{
    CK_RV rv;
    int ok = 0;

    *slots = NULL;
    for (int tries = 0; tries < 4; tries++) {
        free(*slots);
        *slots = NULL;
        rv = mod->fn->C_GetSlotList(CK_TRUE, NULL, count);
        if (rv == CKR_OK && *count > 0) {
            *slots = calloc(*count, sizeof(**slots));
            if (*slots == NULL) {
                p11kms_client_fail(err, 0, "out of memory");
                goto done;
            }
            rv = mod->fn->C_GetSlotList(CK_TRUE, *slots, count);
        }
        if (rv != CKR_BUFFER_TOO_SMALL)
            break; /* a token appeared between the two calls: ask again */
    }
    if (rv != CKR_OK) {
        p11kms_client_fail(err, rv, "%s: C_GetSlotList failed: %s", mod->path,
                           p11kms_client_rv_name(rv));
        goto done;
    }
    ok = 1;
done:
    if (!ok) {
        free(*slots);
        *slots = NULL;
    }
    return ok;
}

/*
 * Does the token in slot match uri (may be NULL) and label (may be NULL)?
 * *match: 0 no, 1 yes but not initialised, 2 yes and initialised.
 */
static int slot_matches(p11kms_client_module *mod, CK_SLOT_ID slot, const CK_INFO *info,
                        const p11kms_client_uri *uri, const char *label, int *match,
                        p11kms_client_err *err)
{
    CK_SLOT_INFO sinfo;
    CK_TOKEN_INFO tinfo;
    CK_RV rv;

    *match = 0;
    rv = mod->fn->C_GetSlotInfo(slot, &sinfo);
    if (rv == CKR_OK)
        rv = mod->fn->C_GetTokenInfo(slot, &tinfo);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED)
        return 1; /* removed meanwhile, or not ours to judge */
    if (rv != CKR_OK)
        return p11kms_client_fail(err, rv, "%s: slot %lu: %s", mod->path, (unsigned long)slot,
                                  p11kms_client_rv_name(rv));
    if ((label == NULL || label_equals(tinfo.label, label)) &&
        p11kms_client_uri_match_token(uri, info, slot, &sinfo, &tinfo))
        *match = (tinfo.flags & CKF_TOKEN_INITIALIZED) ? 2 : 1;
    return 1;
}

/*
 * The one matching token.  Modules such as SoftHSM always show a spare,
 * uninitialised token next to the real ones, so when several match and
 * exactly one of them is initialised, that one is meant.
 */
static int find_slot(p11kms_client_module *mod, const p11kms_client_uri *uri, const char *label,
                     const char *what, CK_SLOT_ID *slot, p11kms_client_err *err)
{
    CK_SLOT_ID *slots = NULL, any = 0, inited = 0;
    CK_ULONG count = 0, i, found = 0, found_inited = 0;
    CK_INFO info;
    CK_RV rv;
    int ok = 0, match;

    rv = mod->fn->C_GetInfo(&info);
    if (rv != CKR_OK) {
        p11kms_client_fail(err, rv, "%s: C_GetInfo failed: %s", mod->path,
                           p11kms_client_rv_name(rv));
        goto done;
    }
    if (!token_slots(mod, &slots, &count, err))
        goto done;
    for (i = 0; i < count; i++) {
        if (!slot_matches(mod, slots[i], &info, uri, label, &match, err))
            goto done;
        if (match != 0 && found++ == 0)
            any = slots[i];
        if (match == 2 && found_inited++ == 0)
            inited = slots[i];
    }
    if (found == 1 || (found > 1 && found_inited == 1)) {
        *slot = found == 1 ? any : inited;
        ok = 1;
    } else if (found == 0) {
        p11kms_client_fail(err, CKR_TOKEN_NOT_PRESENT, "%s: no token %s", mod->path, what);
    } else {
        p11kms_client_fail(err, 0, "%s: %lu tokens %s; name one by its label or a pkcs11: URI",
                           mod->path, (unsigned long)(found_inited > 1 ? found_inited : found),
                           what);
    }
done:
    free(slots);
    return ok;
}

int p11kms_client_find_slot_uri(p11kms_client_module *mod, const p11kms_client_uri *uri,
                                CK_SLOT_ID *slot, p11kms_client_err *err)
{
    return find_slot(mod, uri, NULL, "matches the URI", slot, err);
}

int p11kms_client_find_slot(p11kms_client_module *mod, const char *token, CK_SLOT_ID *slot,
                            p11kms_client_err *err)
{
    p11kms_client_uri uri;
    char what[96];
    int ok;

    if (token == NULL || token[0] == '\0')
        return find_slot(mod, NULL, NULL, "present", slot, err);
    if (strncasecmp(token, "pkcs11:", 7) != 0) {
        snprintf(what, sizeof(what), "labelled '%.64s'", token);
        return find_slot(mod, NULL, token, what, slot, err);
    }
    if (!p11kms_client_uri_parse(token, 0, &uri, err))
        return 0;
    ok = p11kms_client_find_slot_uri(mod, &uri, slot, err);
    p11kms_client_uri_free(&uri);
    return ok;
}

/* Sessions and login ------------------------------------------------------------ */

int p11kms_client_session_open(p11kms_client_module *mod, CK_SLOT_ID slot, int rw,
                               CK_SESSION_HANDLE *session, p11kms_client_err *err)
{
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_RV rv = mod->fn->C_OpenSession(slot, flags, NULL, NULL, session);

    if (rv != CKR_OK)
        return p11kms_client_fail(err, rv, "%s: slot %lu: C_OpenSession failed: %s", mod->path,
                                  (unsigned long)slot, p11kms_client_rv_name(rv));
    return 1;
}

void p11kms_client_session_close(p11kms_client_module *mod, CK_SESSION_HANDLE session)
{
    if (mod != NULL)
        mod->fn->C_CloseSession(session);
}

static const char *login_hint(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
        return " (wrong PIN)";
    case CKR_PIN_LOCKED:
        return " (the PIN is locked after too many failures; the SO must reset it)";
    case CKR_USER_PIN_NOT_INITIALIZED:
        return " (no user PIN yet: initialise it first)";
    case CKR_PIN_LEN_RANGE:
        return " (PIN length outside the token's limits)";
    default:
        return "";
    }
}

int p11kms_client_login_pin(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_USER_TYPE user,
                            const p11kms_client_pin *pin, p11kms_client_err *err)
{
    CK_RV rv = mod->fn->C_Login(session, user, pin->data, (CK_ULONG)pin->len);

    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    if (rv != CKR_OK)
        return p11kms_client_fail(err, rv, "%s: %s login failed: %s%s", mod->path,
                                  user == CKU_SO ? "SO" : "user", p11kms_client_rv_name(rv),
                                  login_hint(rv));
    return 1;
}

int p11kms_client_login(p11kms_client_module *mod, CK_SESSION_HANDLE session, CK_USER_TYPE user,
                        const char *pin_spec, p11kms_client_err *err)
{
    p11kms_client_pin pin = {NULL, 0, 0};
    int ok = 0;

    if (!p11kms_client_pin_read(pin_spec, user == CKU_SO ? "SO PIN: " : "PIN: ", &pin, err))
        goto done;
    ok = p11kms_client_login_pin(mod, session, user, &pin, err);
done:
    p11kms_client_pin_free(&pin);
    return ok;
}
