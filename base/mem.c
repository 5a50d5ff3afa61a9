/*
 * base/mem.c - allocation wrappers; see mem.h. Never aborts.
 */
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

void *mem_alloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (!ck_mul(&bytes, n, size))
        return NULL;
    return malloc(bytes ? bytes : 1);
}

void *mem_calloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (!ck_mul(&bytes, n, size))
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *mem_realloc_array(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (!ck_mul(&bytes, n, size))
        return NULL;
    return realloc(p, bytes ? bytes : 1);
}

void *mem_alloc_aligned(size_t alignment, size_t size)
{
    void *p = NULL;
    size_t rounded;
    if (!ck_add(&rounded, size, alignment - 1))
        return NULL;
    rounded -= rounded % alignment;
    if (posix_memalign(&p, alignment, rounded ? rounded : alignment) != 0)
        return NULL;
    return p;
}

char *mem_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *mem_strndup(const char *s, size_t n)
{
    /* Not strndup: callers pass names that end exactly at the end of a mapped buffer with no
     * NUL after them, and strndup may look one byte further. strnlen reads at most n. */
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
