/*
 * engine/kern_neon.c - arm64 matmul: rows [r0, r1) of y for every token, float path
 * only. Each 256-value piece of a weight row is dequantized once with the scalar
 * dequantizer (exact values) and dotted with every token's activations using NEON FMA
 * (4 accumulators of 4 lanes). The int8 path (sdot) is not written yet: with activations
 * prepared for it, this kernel still computes in float, which is more accurate.
 *
 * Untested on hardware here (the build machine is x86-64); it is compiled for arm64 by
 * the CI cross-check. Everything is guarded so that other targets compile nothing.
 */
#include "engine/kern_int.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#define NEON_PIECE 256

int kern_rows_neon(float *y, const void *w, int type, const float *x, const struct blk_a8 *act,
                   int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1)
{
    const struct quant_traits *t = quant_traits_of(type);
    size_t rb;
    if (!t || !t->dequantize || !quant_row_bytes(type, n_cols, &rb))
        return -1;
    (void)act;
    int64_t per = (NEON_PIECE / t->block_elems) * t->block_elems;
    if (per < t->block_elems)
        per = t->block_elems;
    size_t piece_bytes = (size_t)(per / t->block_elems) * t->block_bytes;
    float buf[NEON_PIECE];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * rb;
        for (int64_t tok = 0; tok < n_tok; tok++)
            y[tok * n_rows + r] = 0.0f;
        int64_t k0 = 0;
        for (size_t off = 0; k0 < n_cols; off += piece_bytes) {
            int64_t np = n_cols - k0 < per ? n_cols - k0 : per;
            t->dequantize(row + off, buf, np);
            for (int64_t tok = 0; tok < n_tok; tok++) {
                const float *xt = x + tok * n_cols + k0;
                float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
                int64_t k = 0;
                for (; k + 16 <= np; k += 16) {
                    a0 = vfmaq_f32(a0, vld1q_f32(buf + k), vld1q_f32(xt + k));
                    a1 = vfmaq_f32(a1, vld1q_f32(buf + k + 4), vld1q_f32(xt + k + 4));
                    a2 = vfmaq_f32(a2, vld1q_f32(buf + k + 8), vld1q_f32(xt + k + 8));
                    a3 = vfmaq_f32(a3, vld1q_f32(buf + k + 12), vld1q_f32(xt + k + 12));
                }
                float s = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
                for (; k < np; k++)
                    s += buf[k] * xt[k];
                y[tok * n_rows + r] += s;
            }
            k0 += np;
        }
    }
    return 0;
}

#else
/* keep the translation unit non-empty on other targets (ISO C) */
typedef int kern_neon_unused;
#endif
