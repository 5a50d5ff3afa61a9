/*
 * base/mem.h - allocation wrappers and checked size arithmetic.
 *
 * Library code never aborts on allocation failure: the wrappers return NULL and the
 * caller reports ASSAY_ENOMEM. The ck_* helpers return false when the result would
 * overflow, so that a count read from a file can be validated before it is used:
 *
 *     size_t bytes;
 *     if (!ck_mul(&bytes, n_elem, elem_size))
 *         return err_set(err, ASSAY_EINVAL, "tensor '%s': size overflows", name);
 */
#ifndef ASSAY_BASE_MEM_H
#define ASSAY_BASE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool ck_add(size_t *out, size_t a, size_t b)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline bool ck_mul(size_t *out, size_t a, size_t b)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool ck_add_u64(uint64_t *out, uint64_t a, uint64_t b)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline bool ck_mul_u64(uint64_t *out, uint64_t a, uint64_t b)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* malloc(n * size) with the multiplication checked; NULL on overflow or failure. */
void *mem_alloc_array(size_t n, size_t size);

/* calloc with a checked multiplication (calloc checks too; this documents the intent). */
void *mem_calloc_array(size_t n, size_t size);

/* realloc(p, n * size) with the multiplication checked; on failure p is untouched. */
void *mem_realloc_array(void *p, size_t n, size_t size);

/* Aligned allocation (alignment a power of two, multiple of sizeof(void*)); free with free(). */
void *mem_alloc_aligned(size_t alignment, size_t size);

/* strdup / strndup that return NULL on failure (and on NULL input). mem_strndup reads at
 * most n bytes of s, which need not be NUL-terminated. */
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);

#endif
