/*
 * kms/policy-arena.c — the bump allocator that holds one compiled policy.
 *
 * A compiled policy is built once and freed once; an arena makes that one
 * free() chain, keeps statements contiguous for the evaluator, and lets the
 * parser bail out anywhere without per-object cleanup.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kms/policy-internal.h"

#define CHUNK_MIN 4096

struct p11kms_policy_chunk {
    p11kms_policy_chunk *next;
    size_t size, used;
    _Alignas(max_align_t) unsigned char data[];
};

void *p11kms_policy_arena_alloc(p11kms_policy_arena *a, size_t size)
{
    const size_t align = _Alignof(max_align_t);
    p11kms_policy_chunk *c = a->head;
    void *p = NULL;

    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    if (c == NULL || c->size - c->used < size) {
        size_t want = size > CHUNK_MIN ? size : CHUNK_MIN;
        c = malloc(sizeof(*c) + want);
        if (c == NULL)
            goto done;
        c->next = a->head;
        c->size = want;
        c->used = 0;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
done:
    return p;
}

char *p11kms_policy_arena_strndup(p11kms_policy_arena *a, const char *s, size_t len)
{
    char *p = p11kms_policy_arena_alloc(a, len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void p11kms_policy_arena_release(p11kms_policy_arena *a)
{
    p11kms_policy_chunk *c = a->head;

    while (c != NULL) {
        p11kms_policy_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
