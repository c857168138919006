/* kms/engine.c — engine lifetime and the store connection behind it.
 *
 * The store is opened lazily: read-only for token info (C_GetTokenInfo must
 * never create or write anything), read-write when a call needs it.  Each
 * call starts with kms_sync(): the store's change counter (one indexed row)
 * tells whether anything changed; a changed counter bumps the engine's
 * epoch, which makes every cached key re-read its row on next use.  Our
 * own commits bump the epoch directly.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kms/kms-internal.h"

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

p11kms_kms_rc p11kms_kms_open(const p11kms_kms_options *opts, p11kms_kms **out)
{
    p11kms_kms *kms = NULL;
    p11kms_kms_rc rc = P11KMS_KMS_VALIDATION;

    if (opts == NULL || opts->store_path == NULL || out == NULL)
        goto done;
    rc = P11KMS_KMS_NOMEM;
    kms = calloc(1, sizeof(*kms));
    if (kms == NULL)
        goto done;
    kms->opts = *opts;
    kms->store_path = strdup(opts->store_path);
    kms->label = dup_or_null(opts->label);
    if (kms->store_path == NULL || (opts->label != NULL && kms->label == NULL))
        goto done;
    kms->opts.store_path = kms->store_path;
    kms->opts.label = kms->label;
    kms->pid = getpid();
    kms->epoch = 1;
    if (pthread_mutex_init(&kms->lock, NULL) != 0)
        goto done;
    *out = kms;
    kms = NULL;
    rc = P11KMS_KMS_OK;
done:
    if (kms != NULL) {
        free(kms->store_path);
        free(kms->label);
        free(kms);
    }
    return rc;
}

/* Drops cached keys (unreferenced ones are freed, referenced ones lose
 * their material and are re-read on next use). */
void kms_cache_wipe(p11kms_kms *kms)
{
    p11kms_kms_key *k = kms->keys, *next;

    kms->keys = NULL;
    kms->nkeys = 0;
    /* Keys held by sessions lose their material too; they reload it (and
     * their row) on next use, which needs a login again. */
    for (p11kms_kms_key *a = kms->all; a != NULL; a = a->all_next) {
        kms_versions_free(a);
        a->epoch = 0;
    }
    for (; k != NULL; k = next) {
        next = k->next;
        k->next = NULL;
        k->in_cache = 0;
        kms_versions_free(k);
        k->epoch = 0;
        kms_key_unref_locked(k);
    }
    kms_idcache_free(&kms->idc);
}

void p11kms_kms_close(p11kms_kms *kms)
{
    int forked;

    if (kms == NULL)
        return;
    /* A forked child is single-threaded: the parent's lock may have been
     * held by a thread that does not exist here, so it is not taken. */
    forked = kms->pid != getpid();
    if (!forked)
        pthread_mutex_lock(&kms->lock);
    kms_cache_wipe(kms);
    /* In a forked child the store frees only its own memory (store.h). */
    p11kms_store_close(kms->st);
    kms->st = NULL;
    p11kms_policy_free(kms->admin_policy);
    if (!forked) {
        pthread_mutex_unlock(&kms->lock);
        pthread_mutex_destroy(&kms->lock);
    }
    free(kms->store_path);
    free(kms->label);
    free(kms);
}

static p11kms_kms_rc store_open(p11kms_kms *kms, int writable, int create)
{
    p11kms_store_options so = {0, 0};
    p11kms_store_rc src;

    so.flags = writable ? 0 : P11KMS_STORE_OPEN_READONLY;
    if (create)
        so.flags |= P11KMS_STORE_OPEN_CREATE;
    if (kms->opts.durability == P11KMS_KMS_DURABILITY_POWER)
        so.flags |= P11KMS_STORE_OPEN_SYNC_FULL;
    src = p11kms_store_open(kms->store_path, &so, &kms->st);
    if (src != P11KMS_STORE_OK)
        return kms_rc_from_store(src);
    kms->st_writable = writable;
    kms->have_counter = 0;
    if (writable && kms->opts.durability == P11KMS_KMS_DURABILITY_POWER) {
        p11kms_audit_options ao = {P11KMS_AUDIT_DURABILITY_POWER, 0, 0};
        src = p11kms_store_audit_set_options(kms->st, &ao);
    }
    return kms_rc_from_store(src);
}

p11kms_kms_rc kms_store_ensure(p11kms_kms *kms, int writable, int create)
{
    p11kms_kms_rc rc;

    if (kms->pid != getpid())
        return P11KMS_KMS_INTERNAL;
    if (kms->st != NULL && (kms->st_writable || !writable))
        return P11KMS_KMS_OK;
    if (kms->st != NULL) {
        /* Upgrade a read-only handle; nobody can be logged in on it. */
        p11kms_store_close(kms->st);
        kms->st = NULL;
    }
    rc = store_open(kms, writable, create);
    if (rc != P11KMS_KMS_OK && kms->st != NULL) {
        p11kms_store_close(kms->st);
        kms->st = NULL;
    }
    kms_bump_epoch(kms);
    return rc;
}

void kms_bump_epoch(p11kms_kms *kms)
{
    kms->epoch++;
}

/* The store's data_version (SQLITE_FCNTL_DATA_VERSION) is refreshed only
 * when the pager opens a read transaction, so it missed another process's
 * commit (tests/kms/test-kms.c, test_handle_sees_other_process); the
 * change counter (one indexed row) is therefore read on every call. */
p11kms_kms_rc kms_sync(p11kms_kms *kms)
{
    uint64_t counter = 0;
    p11kms_store_rc src;

    if (kms->st == NULL)
        return P11KMS_KMS_OK;
    src = p11kms_store_change_counter(kms->st, &counter);
    if (src != P11KMS_STORE_OK)
        return kms_rc_from_store(src);
    if (!kms->have_counter || counter != kms->counter)
        kms_bump_epoch(kms);
    kms->counter = counter;
    kms->have_counter = 1;
    return P11KMS_KMS_OK;
}
