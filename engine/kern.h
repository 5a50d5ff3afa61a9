/*
 * engine/kern.h - the hot kernels: matrix multiply over any weight type, RMSNorm, RoPE,
 * softmax, GELU. OpenMP lives here and nowhere above (STYLE.md section 6).
 *
 * Every kernel has a plain scalar reference (kern_*_ref) that the SIMD versions are
 * tested against; the dispatching entry points pick AVX-512 / AVX2 / NEON at run time.
 * Kernels never allocate: scratch comes from struct kern_ctx, sized once.
 *
 * Shapes are given row-major in comments, e.g. w: (n_rows, n_cols).
 */
#ifndef ASSAY_ENGINE_KERN_H
#define ASSAY_ENGINE_KERN_H

#include <stddef.h>
#include <stdint.h>

struct kern_ctx {
    int n_threads;       /* OpenMP threads for the kernels (>= 1) */
    void *scratch;       /* per-call scratch (e.g. activations quantized to Q8), owned by caller */
    size_t scratch_bytes;
};

/* Bytes of scratch kern_matmul needs for x of shape (n_tok, n_cols) against weight type. */
size_t kern_matmul_scratch_bytes(int weight_type, int64_t n_cols, int64_t n_tok);

/* y (n_tok, n_rows) = x (n_tok, n_cols) . w^T, where w (n_rows, n_cols) is stored row by row
 * in weight_type (each row quant_row_bytes(weight_type, n_cols) bytes). */
void kern_matmul(float *y, const void *w, int weight_type, const float *x, int64_t n_rows,
                 int64_t n_cols, int64_t n_tok, const struct kern_ctx *kc);
/* The scalar reference: dequantize each row to float32 and accumulate in float32. */
void kern_matmul_ref(float *y, const void *w, int weight_type, const float *x, int64_t n_rows,
                     int64_t n_cols, int64_t n_tok);

#endif
