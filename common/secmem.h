/*
 * common/secmem.h - protected memory for key material.
 *
 * Allocations come from anonymous mmap'd pages that are marked
 * MADV_DONTDUMP (left out of core dumps) and MADV_WIPEONFORK (a forked
 * child sees zeros, since mlock is not inherited and the child must not
 * use the parent's keys), and are mlock'ed when RLIMIT_MEMLOCK allows
 * (best effort: a failed mlock never fails the allocation; kernels
 * without MADV_WIPEONFORK, EINVAL, are tolerated too).
 *
 * Small requests (<= P11KMS_SECMEM_SMALL_MAX bytes) are carved from
 * shared protected pages in power-of-two slots (16..1024 bytes), so that
 * many 32-byte keys share one page; larger requests get their own pages.
 * Nothing process-wide is changed (no CRYPTO_secure_malloc_init, no
 * prctl, no pthread_atfork).  Thread-safe (one mutex).  After fork() in a
 * multi-threaded process only async-signal-safe calls are allowed anyway;
 * in a single-threaded child the allocator keeps working, but the
 * contents of earlier allocations read as zero.
 */
#ifndef P11KMS_COMMON_SECMEM_H
#define P11KMS_COMMON_SECMEM_H

#include <stddef.h>

#define P11KMS_SECMEM_SMALL_MAX 1024

/*
 * Zero-filled protected allocation of size bytes (size 0 is treated as 1),
 * aligned to 16 bytes.  NULL on failure (mmap failure or overflow).
 */
void *p11kms_secmem_alloc(size_t size);

/*
 * Wipe (OPENSSL_cleanse) and release ptr; size must be the size given to
 * p11kms_secmem_alloc.  NULL is accepted.  A pointer that did not come
 * from p11kms_secmem_alloc aborts the process (memory-safety bug).
 */
void p11kms_secmem_free(void *ptr, size_t size);

/* Protected copy of len bytes of src; NULL on failure. */
void *p11kms_secmem_dup(const void *src, size_t len);

/*
 * Statistics for tests and diagnostics: bytes handed out and pages
 * currently mapped.  Either pointer may be NULL.
 */
void p11kms_secmem_stats(size_t *bytes_in_use, size_t *pages_mapped);

#endif /* P11KMS_COMMON_SECMEM_H */
