/*
 * common/secmem.c - protected allocations for key material (secmem.h).
 *
 * Small requests share slabs: one protected page per slab, cut into equal
 * power-of-two slots, with a bitmap kept outside the page (in ordinary
 * heap memory: it says nothing secret).  A slab is unmapped when it
 * empties, except the last one of its size class, so an alloc/free loop
 * does not mmap on every turn.  Large requests get their own mapping.
 * All bookkeeping is under one mutex; the protected pages are only
 * touched to wipe them.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/secmem.h"

#define SLOT_MIN  16
#define N_CLASSES 7 /* 16, 32, ..., 1024 */

typedef struct slab {
    struct slab *next;
    unsigned char *page;
    size_t slot;
    size_t nslots;
    size_t used;
    uint64_t bits[]; /* 1 = slot in use */
} slab;

typedef struct big {
    struct big *next;
    void *p;
    size_t maplen;
} big;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slab *classes[N_CLASSES];
static big *bigs;
static size_t bytes_in_use, pages_mapped;

static size_t page_size(void)
{
    static size_t ps;

    if (ps == 0) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
    }
    return ps;
}

/*
 * Anonymous pages kept out of core dumps and wiped in forked children,
 * locked in RAM if the limit allows.  Each advice is best effort: an old
 * kernel answers EINVAL, and a failed mlock (RLIMIT_MEMLOCK) only means
 * the pages may be swapped.
 */
static void *map_protected(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_DONTDUMP
    (void)madvise(p, len, MADV_DONTDUMP);
#endif
#ifdef MADV_WIPEONFORK
    (void)madvise(p, len, MADV_WIPEONFORK);
#endif
    (void)mlock(p, len);
    pages_mapped += len / page_size();
    return p;
}

static void unmap_protected(void *p, size_t len)
{
    int saved = errno;

    OPENSSL_cleanse(p, len);
    (void)munlock(p, len);
    (void)munmap(p, len);
    pages_mapped -= len / page_size();
    errno = saved;
}

static int class_of(size_t size)
{
    int c = 0;

    for (size_t s = SLOT_MIN; s < size; s <<= 1)
        c++;
    return c;
}

static slab *slab_new(int c)
{
    size_t slot = (size_t)SLOT_MIN << c, nslots = page_size() / slot;
    size_t words = (nslots + 63) / 64;
    slab *s = calloc(1, sizeof(*s) + words * sizeof(uint64_t));

    if (s == NULL)
        return NULL;
    s->page = map_protected(page_size());
    if (s->page == NULL) {
        free(s);
        return NULL;
    }
    s->slot = slot;
    s->nslots = nslots;
    s->next = classes[c];
    classes[c] = s;
    return s;
}

static void *slab_take(slab *s)
{
    for (size_t w = 0; w < (s->nslots + 63) / 64; w++) {
        if (s->bits[w] == UINT64_MAX)
            continue;
        for (size_t b = 0; b < 64 && w * 64 + b < s->nslots; b++) {
            if (!(s->bits[w] & ((uint64_t)1 << b))) {
                s->bits[w] |= (uint64_t)1 << b;
                s->used++;
                return s->page + (w * 64 + b) * s->slot;
            }
        }
    }
    return NULL;
}

static void *small_alloc(size_t size)
{
    int c = class_of(size);
    slab *s;

    for (s = classes[c]; s != NULL; s = s->next)
        if (s->used < s->nslots)
            break;
    if (s == NULL && (s = slab_new(c)) == NULL)
        return NULL;
    bytes_in_use += s->slot;
    return slab_take(s);
}

static void *big_alloc(size_t size)
{
    size_t ps = page_size(), maplen = (size + ps - 1) / ps * ps;
    big *b = NULL;

    if (size > SIZE_MAX - ps || (b = calloc(1, sizeof(*b))) == NULL)
        return NULL;
    b->p = map_protected(maplen);
    if (b->p == NULL) {
        free(b);
        return NULL;
    }
    b->maplen = maplen;
    b->next = bigs;
    bigs = b;
    bytes_in_use += maplen;
    return b->p;
}

void *p11kms_secmem_alloc(size_t size)
{
    void *p;

    if (size == 0)
        size = 1;
    pthread_mutex_lock(&lock);
    p = size <= P11KMS_SECMEM_SMALL_MAX ? small_alloc(size) : big_alloc(size);
    pthread_mutex_unlock(&lock);
    return p;
}

/* A pointer we did not hand out, or a double free: stop before worse. */
static void secmem_corrupt(void)
{
    abort();
}

static void small_free(unsigned char *p, size_t size)
{
    int c = class_of(size);
    slab **link = &classes[c], *s;
    size_t idx, off;

    while ((s = *link) != NULL && !(p >= s->page && p < s->page + page_size()))
        link = &s->next;
    if (s == NULL || (off = (size_t)(p - s->page)) % s->slot != 0 ||
        (idx = off / s->slot) >= s->nslots || !(s->bits[idx / 64] & ((uint64_t)1 << (idx % 64))))
        secmem_corrupt();
    OPENSSL_cleanse(p, s->slot);
    s->bits[idx / 64] &= ~((uint64_t)1 << (idx % 64));
    s->used--;
    bytes_in_use -= s->slot;
    if (s->used == 0 && !(s == classes[c] && s->next == NULL)) {
        *link = s->next;
        unmap_protected(s->page, page_size());
        free(s);
    }
}

static void big_free(void *p, size_t size)
{
    size_t ps = page_size();
    big **link = &bigs, *b;

    while ((b = *link) != NULL && b->p != p)
        link = &b->next;
    if (b == NULL || (size + ps - 1) / ps * ps != b->maplen)
        secmem_corrupt();
    *link = b->next;
    bytes_in_use -= b->maplen;
    unmap_protected(b->p, b->maplen);
    free(b);
}

void p11kms_secmem_free(void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    if (size == 0)
        size = 1;
    pthread_mutex_lock(&lock);
    if (size <= P11KMS_SECMEM_SMALL_MAX)
        small_free(ptr, size);
    else
        big_free(ptr, size);
    pthread_mutex_unlock(&lock);
}

void *p11kms_secmem_dup(const void *src, size_t len)
{
    void *p = src != NULL ? p11kms_secmem_alloc(len) : NULL;

    if (p != NULL && len > 0)
        memcpy(p, src, len);
    return p;
}

void p11kms_secmem_stats(size_t *in_use, size_t *pages)
{
    pthread_mutex_lock(&lock);
    if (in_use != NULL)
        *in_use = bytes_in_use;
    if (pages != NULL)
        *pages = pages_mapped;
    pthread_mutex_unlock(&lock);
}
