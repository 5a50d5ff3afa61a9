/*
 * engine/quant.c - the tensor element type table: names, block sizes, and the scalar
 * row functions (dequantize for every supported type, quantize for the types assay can
 * write), plus the f16 / bf16 conversions.
 *
 * Block layouts are ggml's (src/ggml-common.h) byte for byte; see engine/kern_int.h.
 * Dequantization reproduces ggml's float operations in the same order, so it is exact
 * (bit-identical to ggml / gguf-py). The legacy quantizers (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)
 * reproduce gguf-py's `gguf.quants.quantize` byte for byte, which the fixtures say equals
 * `llama-quantize --pure` (checked by tests/engine/test_quant.c on the fixtures; note that
 * x*id + 8.5 must be two roundings, not a fused multiply-add). The K-quant quantizers (Q4_K, Q5_K,
 * Q6_K) are our own weighted least-squares search over a grid of candidate scales (see quant_k_*):
 * valid blocks of good quality, but not byte-identical to llama-quantize.
 *
 * This file does not do matrix products (engine/kern.c) and does not read files. Its one
 * OpenMP loop spreads whole rows over threads in quant_quantize_rows.
 */
#include "engine/quant.h"
#include "engine/kern_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include <omp.h>

_Static_assert(sizeof(struct blk_q4_0) == 18, "q4_0 block size");
_Static_assert(sizeof(struct blk_q4_1) == 20, "q4_1 block size");
_Static_assert(sizeof(struct blk_q5_0) == 22, "q5_0 block size");
_Static_assert(sizeof(struct blk_q5_1) == 24, "q5_1 block size");
_Static_assert(sizeof(struct blk_q8_0) == 34, "q8_0 block size");
_Static_assert(sizeof(struct blk_q4_k) == 144, "q4_k block size");
_Static_assert(sizeof(struct blk_q5_k) == 176, "q5_k block size");
_Static_assert(sizeof(struct blk_q6_k) == 210, "q6_k block size");
_Static_assert(sizeof(struct blk_q8_k) == 292, "q8_k block size");
_Static_assert(sizeof(struct blk_a8) == 48, "a8 block size");
_Static_assert(sizeof(struct blk_q6_kx8) == 8 * sizeof(struct blk_q6_k), "q6_kx8 block size");
_Static_assert(sizeof(struct blk_q4_kx8) == 1184, "q4_kx8 block size");
_Static_assert(sizeof(struct blk_q4_0x8) == 8 * sizeof(struct blk_q4_0), "q4_0x8 block size");
_Static_assert(sizeof(struct blk_q8_0x8) == 8 * sizeof(struct blk_q8_0), "q8_0x8 block size");

/* ---- f16 / bf16 ----------------------------------------------------------------- */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float quant_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ff;
    if (e == 0x1f)
        return bits_f32(sign | 0x7f800000u | (m << 13));
    if (e == 0) {
        /* zero or subnormal: m * 2^-24, exact in float */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t quant_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN: stay NaN (quiet), keep the top payload bits */
        return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff));
    if (a >= 0x477ff000u) /* >= 65520 rounds (to even) past 65504: inf */
        return (uint16_t)(sign | 0x7c00);
    if (a < 0x38800000u) {
        /* below 2^-14: an f16 subnormal, value = r * 2^-24 with r rounded to even */
        uint32_t e = a >> 23;
        uint32_t m = (a & 0x7fffff) | (e ? 0x800000u : 0);
        uint32_t shift = 126 - e; /* a = m * 2^(e-150); r = m * 2^(e-126) */
        if (e == 0 || shift > 24)
            return sign;
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1)))
            r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a - 0x38000000u; /* rebias the exponent: 127 -> 15 */
    r = (r + 0xfffu + ((r >> 13) & 1)) >> 13;
    return (uint16_t)(sign | r);
}

float quant_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t quant_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: force quiet */
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

/* ---- plain float types -------------------------------------------------------------- */

static void deq_f32(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void q_f32(const float *src, void *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void deq_f16(const void *src, float *dst, int64_t n)
{
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = quant_f16_to_f32(s[i]);
}

static void q_f16(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++)
        d[i] = quant_f32_to_f16(src[i]);
}

static void deq_bf16(const void *src, float *dst, int64_t n)
{
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = quant_bf16_to_f32(s[i]);
}

static void q_bf16(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++)
        d[i] = quant_f32_to_bf16(src[i]);
}

/* ---- legacy 32-element types -------------------------------------------------------- */

static void deq_q4_0(const void *src, float *dst, int64_t n)
{
    const struct blk_q4_0 *b = src;
    for (int64_t i = 0; i < n / QK4_0; i++, dst += QK4_0) {
        float d = quant_f16_to_f32(b[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            dst[j] = (float)((b[i].qs[j] & 0x0F) - 8) * d;
            dst[j + 16] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Index of the first value with the largest magnitude (numpy argmax / ggml's scan). */
static int absmax_index(const float *x, int n)
{
    int k = 0;
    float amax = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            k = j;
        }
    }
    return k;
}

/* trunc(v) clamped to [0, hi]; NaN gives 0. The same as (int)truncf(v) then clamping for
 * every finite v, without converting an out-of-range float (undefined behaviour). */
static inline int trunc_clamp(float v, int hi)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= (float)hi)
        return hi;
    return (int)v;
}

static void q_q4_0(const float *src, void *dst, int64_t n)
{
    struct blk_q4_0 *b = dst;
    for (int64_t i = 0; i < n / QK4_0; i++, src += QK4_0) {
        float max = src[absmax_index(src, QK4_0)];
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = quant_f32_to_f16(d);
        uint8_t q[QK4_0];
        for (int j = 0; j < QK4_0; j++) {
            /* float32 product, rounded, then + 8.5 (no fused multiply-add: this file is
             * built as ISO C, so the compiler does not contract it) */
            float p = src[j] * id;
            q[j] = (uint8_t)trunc_clamp(p + 8.5f, 15);
        }
        for (int j = 0; j < 16; j++)
            b[i].qs[j] = (uint8_t)(q[j] | (q[j + 16] << 4));
    }
}

static void deq_q4_1(const void *src, float *dst, int64_t n)
{
    const struct blk_q4_1 *b = src;
    for (int64_t i = 0; i < n / QK4_1; i++, dst += QK4_1) {
        float d = quant_f16_to_f32(b[i].d);
        float m = quant_f16_to_f32(b[i].m);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)(b[i].qs[j] & 0x0F) * d + m;
            dst[j + 16] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

static void q_q4_1(const float *src, void *dst, int64_t n)
{
    struct blk_q4_1 *b = dst;
    for (int64_t i = 0; i < n / QK4_1; i++, src += QK4_1) {
        float min = src[0], max = src[0];
        for (int j = 1; j < QK4_1; j++) {
            min = src[j] < min ? src[j] : min;
            max = src[j] > max ? src[j] : max;
        }
        float d = (max - min) / 15.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = quant_f32_to_f16(d);
        b[i].m = quant_f32_to_f16(min);
        uint8_t q[QK4_1];
        for (int j = 0; j < QK4_1; j++) {
            float v = (src[j] - min) * id; /* rounded to float before the + 0.5 */
            q[j] = (uint8_t)trunc_clamp(v + 0.5f, 15);
        }
        for (int j = 0; j < 16; j++)
            b[i].qs[j] = (uint8_t)(q[j] | (q[j + 16] << 4));
    }
}

static void deq_q5_0(const void *src, float *dst, int64_t n)
{
    const struct blk_q5_0 *b = src;
    for (int64_t i = 0; i < n / QK5_0; i++, dst += QK5_0) {
        float d = quant_f16_to_f32(b[i].d);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            int h0 = (int)((qh >> j) & 1) << 4;
            int h1 = (int)((qh >> (j + 16)) & 1) << 4;
            dst[j] = (float)(((b[i].qs[j] & 0x0F) | h0) - 16) * d;
            dst[j + 16] = (float)(((b[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

static void pack5(const uint8_t *q, uint8_t *qs, uint8_t *qh4)
{
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
        qh |= (uint32_t)((q[j] >> 4) & 1) << j;
        qh |= (uint32_t)((q[j + 16] >> 4) & 1) << (j + 16);
    }
    memcpy(qh4, &qh, 4);
}

static void q_q5_0(const float *src, void *dst, int64_t n)
{
    struct blk_q5_0 *b = dst;
    for (int64_t i = 0; i < n / QK5_0; i++, src += QK5_0) {
        float max = src[absmax_index(src, QK5_0)];
        float d = max / -16.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = quant_f32_to_f16(d);
        uint8_t q[QK5_0];
        for (int j = 0; j < QK5_0; j++) {
            float p = src[j] * id; /* rounded before the add, as for Q4_0 */
            q[j] = (uint8_t)trunc_clamp(p + 16.5f, 31);
        }
        pack5(q, b[i].qs, b[i].qh);
    }
}

static void deq_q5_1(const void *src, float *dst, int64_t n)
{
    const struct blk_q5_1 *b = src;
    for (int64_t i = 0; i < n / QK5_1; i++, dst += QK5_1) {
        float d = quant_f16_to_f32(b[i].d);
        float m = quant_f16_to_f32(b[i].m);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            int h0 = (int)((qh >> j) & 1) << 4;
            int h1 = (int)((qh >> (j + 16)) & 1) << 4;
            dst[j] = (float)((b[i].qs[j] & 0x0F) | h0) * d + m;
            dst[j + 16] = (float)((b[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

static void q_q5_1(const float *src, void *dst, int64_t n)
{
    struct blk_q5_1 *b = dst;
    for (int64_t i = 0; i < n / QK5_1; i++, src += QK5_1) {
        float min = src[0], max = src[0];
        for (int j = 1; j < QK5_1; j++) {
            min = src[j] < min ? src[j] : min;
            max = src[j] > max ? src[j] : max;
        }
        float d = (max - min) / 31.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = quant_f32_to_f16(d);
        b[i].m = quant_f32_to_f16(min);
        uint8_t q[QK5_1];
        for (int j = 0; j < QK5_1; j++) {
            float v = (src[j] - min) * id;
            q[j] = (uint8_t)trunc_clamp(v + 0.5f, 31);
        }
        pack5(q, b[i].qs, b[i].qh);
    }
}

static void deq_q8_0(const void *src, float *dst, int64_t n)
{
    const struct blk_q8_0 *b = src;
    for (int64_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
        float d = quant_f16_to_f32(b[i].d);
        for (int j = 0; j < QK8_0; j++)
            dst[j] = (float)b[i].qs[j] * d;
    }
}

static void q_q8_0(const float *src, void *dst, int64_t n)
{
    struct blk_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++)
            amax = fabsf(src[j]) > amax ? fabsf(src[j]) : amax;
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = quant_f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++) {
            float r = roundf(src[j] * id); /* half away from zero, as np_roundf */
            b[i].qs[j] = (int8_t)(r >= 127.0f ? 127 : r > -128.0f ? (int)r : -128); /* NaN: -128 */
        }
    }
}

/* ---- K-quants ------------------------------------------------------------------------- */

static void deq_q4_k(const void *src, float *dst, int64_t n)
{
    const struct blk_q4_k *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = quant_f16_to_f32(b[i].d);
        float dmin = quant_f16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
            uint8_t sc, m;
            kq_scale_min(is, b[i].scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            kq_scale_min(is + 1, b[i].scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++)
                *dst++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++)
                *dst++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

static void deq_q5_k(const void *src, float *dst, int64_t n)
{
    const struct blk_q5_k *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = quant_f16_to_f32(b[i].d);
        float dmin = quant_f16_to_f32(b[i].dmin);
        const uint8_t *ql = b[i].qs;
        const uint8_t *qh = b[i].qh;
        unsigned u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < QK_K; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            kq_scale_min(is, b[i].scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            kq_scale_min(is + 1, b[i].scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++)
                *dst++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *dst++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

static void deq_q6_k(const void *src, float *dst, int64_t n)
{
    const struct blk_q6_k *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = quant_f16_to_f32(b[i].d);
        const uint8_t *ql = b[i].ql;
        const uint8_t *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        for (int c = 0; c < QK_K; c += 128, dst += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                dst[l] = d * (float)sc[is + 0] * (float)q1;
                dst[l + 32] = d * (float)sc[is + 2] * (float)q2;
                dst[l + 64] = d * (float)sc[is + 4] * (float)q3;
                dst[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

static void deq_q8_k(const void *src, float *dst, int64_t n)
{
    const struct blk_q8_k *b = src;
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K)
        for (int j = 0; j < QK_K; j++)
            dst[j] = b[i].d * (float)b[i].qs[j];
}

/* Round to nearest, ties to even (as lrintf in the default mode) without a libm call:
 * adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits. Inputs are
 * clamped to +-2^22 first (NaN goes to the low end), which callers clamp further. */
static inline int nearest_int(float v)
{
    if (!(v > -4194304.0f))
        v = -4194304.0f;
    if (v > 4194304.0f)
        v = 4194304.0f;
    float f = v + 12582912.0f;
    uint32_t u;
    memcpy(&u, &f, 4);
    return (int)(u & 0x7fffff) - 0x400000;
}

static void q_q8_k(const float *src, void *dst, int64_t n)
{
    struct blk_q8_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        memset(&b[i], 0, sizeof(b[i]));
        int k = absmax_index(src, QK_K);
        float max = src[k];
        if (max == 0.0f)
            continue;
        float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = nearest_int(iscale * src[j]);
            b[i].qs[j] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += b[i].qs[j * 16 + l];
            b[i].bsums[j] = (int16_t)s;
        }
        b[i].d = 1.0f / iscale;
    }
}

/*
 * Affine fit for a sub-block of the Q4_K / Q5_K kind: find scale > 0 and min <= 0 (the
 * value is scale * L + min with L in [0, nmax]) minimizing sum w * (x - value)^2.
 * For each candidate inverse scale on a grid around nmax / (max - min), the levels L
 * are rounded and then (scale, min) is solved exactly by weighted least squares; the best
 * candidate wins. Returns scale and stores -min (>= 0) in *neg_min.
 */
static float fit_affine(const float *x, const float *w, int n, int nmax, float *neg_min)
{
    float mn = x[0], mx = x[0], sw = 0, swx = 0;
    for (int i = 0; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
        sw += w[i];
        swx += w[i] * x[i];
    }
    if (mn > 0)
        mn = 0;
    if (mx <= mn) {
        *neg_min = -mn;
        return 0.0f;
    }
    float best_scale = (mx - mn) / (float)nmax, best_min = mn;
    float best_err = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int((x[i] - mn) / best_scale);
        l = l < 0 ? 0 : l > nmax ? nmax : l;
        float e = best_scale * (float)l + mn - x[i];
        best_err += w[i] * e * e;
    }
    for (int is = -10; is <= 10; is++) {
        float iscale = ((float)nmax + 0.1f * (float)is) / (mx - mn);
        float sl = 0, sl2 = 0, sxl = 0;
        uint8_t L[32];
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - mn));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            L[i] = (uint8_t)l;
            sl += w[i] * (float)l;
            sl2 += w[i] * (float)l * (float)l;
            sxl += w[i] * (float)l * x[i];
        }
        float det = sw * sl2 - sl * sl;
        if (det <= 0)
            continue;
        float scale = (sw * sxl - swx * sl) / det;
        float min = (sl2 * swx - sl * sxl) / det;
        if (min > 0) {
            min = 0;
            scale = sl2 > 0 ? sxl / sl2 : 0;
        }
        if (scale <= 0)
            continue;
        float err = 0;
        for (int i = 0; i < n; i++) {
            float e = scale * (float)L[i] + min - x[i];
            err += w[i] * e * e;
        }
        if (err < best_err) {
            best_err = err;
            best_scale = scale;
            best_min = min;
        }
    }
    *neg_min = -best_min;
    return best_scale;
}

/* Shared by Q4_K and Q5_K: fit 8 sub-blocks of 32, quantize scales and mins to 6 bits,
 * then the levels L (0..nmax) against the rounded scales. */
static void quant_k_affine(const float *x, int nmax, uint16_t *d_out, uint16_t *dmin_out,
                           uint8_t *scales12, uint8_t *L)
{
    float sc[8], mn[8], w[32];
    float sum2 = 0;
    for (int i = 0; i < QK_K; i++)
        sum2 += x[i] * x[i];
    float av = sqrtf(sum2 / QK_K);
    float max_sc = 0, max_mn = 0;
    for (int j = 0; j < 8; j++) {
        for (int i = 0; i < 32; i++)
            w[i] = av + fabsf(x[32 * j + i]); /* emphasise large values (as ggml does) */
        sc[j] = fit_affine(x + 32 * j, w, 32, nmax, &mn[j]);
        max_sc = sc[j] > max_sc ? sc[j] : max_sc;
        max_mn = mn[j] > max_mn ? mn[j] : max_mn;
    }
    float isc = max_sc > 0 ? 63.0f / max_sc : 0.0f;
    float imn = max_mn > 0 ? 63.0f / max_mn : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        int a = nearest_int(isc * sc[j]), b = nearest_int(imn * mn[j]);
        ls[j] = (uint8_t)(a > 63 ? 63 : a < 0 ? 0 : a);
        lm[j] = (uint8_t)(b > 63 ? 63 : b < 0 ? 0 : b);
    }
    for (int j = 0; j < 4; j++) {
        scales12[j] = (uint8_t)(ls[j] | ((ls[j + 4] >> 4) << 6));
        scales12[j + 4] = (uint8_t)(lm[j] | ((lm[j + 4] >> 4) << 6));
        scales12[j + 8] = (uint8_t)((ls[j + 4] & 0xF) | ((lm[j + 4] & 0xF) << 4));
    }
    *d_out = quant_f32_to_f16(max_sc / 63.0f);
    *dmin_out = quant_f32_to_f16(max_mn / 63.0f);
    float d = quant_f16_to_f32(*d_out), dmin = quant_f16_to_f32(*dmin_out);
    for (int j = 0; j < 8; j++) {
        uint8_t s, m;
        kq_scale_min(j, scales12, &s, &m);
        float dd = d * s, dm = dmin * m;
        for (int i = 0; i < 32; i++) {
            int l = dd > 0 ? nearest_int((x[32 * j + i] + dm) / dd) : 0;
            L[32 * j + i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        }
    }
}

static void q_q4_k(const float *src, void *dst, int64_t n)
{
    struct blk_q4_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        uint8_t L[QK_K];
        quant_k_affine(src, 15, &b[i].d, &b[i].dmin, b[i].scales, L);
        for (int j = 0; j < QK_K; j += 64)
            for (int l = 0; l < 32; l++)
                b[i].qs[j / 2 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

static void q_q5_k(const float *src, void *dst, int64_t n)
{
    struct blk_q5_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        uint8_t L[QK_K];
        quant_k_affine(src, 31, &b[i].d, &b[i].dmin, b[i].scales, L);
        memset(b[i].qh, 0, sizeof(b[i].qh));
        for (int j = 0, c = 0; j < QK_K; j += 64, c++) {
            for (int l = 0; l < 32; l++) {
                int lo = L[j + l], hi = L[j + l + 32];
                b[i].qs[j / 2 + l] = (uint8_t)((lo & 0xF) | ((hi & 0xF) << 4));
                b[i].qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
        }
    }
}

/*
 * Symmetric fit for a Q6_K sub-block of 16: value = scale * L, L in [-32, 31], weights
 * x^2. Grid of inverse scales around -32 / max (max: the value of largest magnitude,
 * so that it lands on -32), each followed by the least-squares scale for its levels.
 */
static float fit_symmetric(const float *x, int n)
{
    float max = x[absmax_index(x, n)];
    if (max == 0.0f)
        return 0.0f;
    float best_scale = 0, best_err = INFINITY;
    for (int is = -9; is <= 9; is++) {
        float iscale = -(32.0f + 0.1f * (float)is) / max;
        float sxl = 0, sl2 = 0;
        int L[16];
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = l < -32 ? -32 : l > 31 ? 31 : l;
            L[i] = l;
            float w = x[i] * x[i];
            sxl += w * x[i] * (float)l;
            sl2 += w * (float)l * (float)l;
        }
        if (sl2 <= 0)
            continue;
        float scale = sxl / sl2;
        float err = 0;
        for (int i = 0; i < n; i++) {
            float e = scale * (float)L[i] - x[i];
            err += x[i] * x[i] * e * e;
        }
        if (err < best_err) {
            best_err = err;
            best_scale = scale;
        }
    }
    return best_scale;
}

static void q_q6_k(const float *src, void *dst, int64_t n)
{
    struct blk_q6_k *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float sc[16];
        float max_scale = 0, max_abs = 0;
        for (int j = 0; j < 16; j++) {
            sc[j] = fit_symmetric(src + 16 * j, 16);
            if (fabsf(sc[j]) > max_abs) {
                max_abs = fabsf(sc[j]);
                max_scale = sc[j];
            }
        }
        memset(&b[i], 0, sizeof(b[i]));
        uint8_t L[QK_K];
        if (max_abs == 0.0f) {
            memset(L, 32, sizeof(L));
        } else {
            float iscale = -128.0f / max_scale;
            b[i].d = quant_f32_to_f16(1.0f / iscale);
            for (int j = 0; j < 16; j++) {
                int v = nearest_int(iscale * sc[j]);
                b[i].scales[j] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
            }
            float d = quant_f16_to_f32(b[i].d);
            for (int j = 0; j < 16; j++) {
                float dd = d * (float)b[i].scales[j];
                for (int k = 0; k < 16; k++) {
                    int l = dd != 0.0f ? nearest_int(src[16 * j + k] / dd) : 0;
                    l = l < -32 ? -32 : l > 31 ? 31 : l;
                    L[16 * j + k] = (uint8_t)(l + 32);
                }
            }
        }
        for (int c = 0; c < QK_K; c += 128) {
            uint8_t *ql = b[i].ql + c / 2;
            uint8_t *qh = b[i].qh + c / 4;
            for (int l = 0; l < 32; l++) {
                int q1 = L[c + l], q2 = L[c + l + 32], q3 = L[c + l + 64], q4 = L[c + l + 96];
                ql[l] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] =
                    (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }
}

/* ---- the table ---------------------------------------------------------------------- */

static const struct quant_traits k_traits[QUANT_TYPE_COUNT] = {
    [QUANT_TYPE_F32] = {"F32", 1, 4, deq_f32, q_f32},
    [QUANT_TYPE_F16] = {"F16", 1, 2, deq_f16, q_f16},
    [QUANT_TYPE_BF16] = {"BF16", 1, 2, deq_bf16, q_bf16},
    [QUANT_TYPE_Q4_0] = {"Q4_0", QK4_0, sizeof(struct blk_q4_0), deq_q4_0, q_q4_0},
    [QUANT_TYPE_Q4_1] = {"Q4_1", QK4_1, sizeof(struct blk_q4_1), deq_q4_1, q_q4_1},
    [QUANT_TYPE_Q5_0] = {"Q5_0", QK5_0, sizeof(struct blk_q5_0), deq_q5_0, q_q5_0},
    [QUANT_TYPE_Q5_1] = {"Q5_1", QK5_1, sizeof(struct blk_q5_1), deq_q5_1, q_q5_1},
    [QUANT_TYPE_Q8_0] = {"Q8_0", QK8_0, sizeof(struct blk_q8_0), deq_q8_0, q_q8_0},
    [QUANT_TYPE_Q8_1] = {"Q8_1", 32, 36, NULL, NULL},
    [QUANT_TYPE_Q2_K] = {"Q2_K", QK_K, 84, NULL, NULL},
    [QUANT_TYPE_Q3_K] = {"Q3_K", QK_K, 110, NULL, NULL},
    [QUANT_TYPE_Q4_K] = {"Q4_K", QK_K, sizeof(struct blk_q4_k), deq_q4_k, q_q4_k},
    [QUANT_TYPE_Q5_K] = {"Q5_K", QK_K, sizeof(struct blk_q5_k), deq_q5_k, q_q5_k},
    [QUANT_TYPE_Q6_K] = {"Q6_K", QK_K, sizeof(struct blk_q6_k), deq_q6_k, q_q6_k},
    [QUANT_TYPE_Q8_K] = {"Q8_K", QK_K, sizeof(struct blk_q8_k), deq_q8_k, q_q8_k},
};

const struct quant_traits *quant_traits_of(int type)
{
    if (type < 0 || type >= QUANT_TYPE_COUNT || !k_traits[type].name)
        return NULL;
    return &k_traits[type];
}

bool quant_row_bytes(int type, int64_t n_elem, size_t *out)
{
    const struct quant_traits *t = quant_traits_of(type);
    if (!t || n_elem < 0 || n_elem % t->block_elems != 0)
        return false;
    size_t n_blocks = (size_t)(n_elem / t->block_elems);
    return !__builtin_mul_overflow(n_blocks, t->block_bytes, out);
}

int quant_type_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < QUANT_TYPE_COUNT; i++)
        if (k_traits[i].name && strcasecmp(k_traits[i].name, name) == 0)
            return i;
    return -1;
}

bool quant_quantize_rows(int type, const float *src, void *dst, int64_t n_rows, int64_t n_cols,
                         int n_threads)
{
    const struct quant_traits *t = quant_traits_of(type);
    size_t rb;
    if (!t || !t->quantize || n_rows < 0 || !quant_row_bytes(type, n_cols, &rb))
        return false;
    if (n_threads < 1)
        n_threads = 1;
        /* each row is quantized on its own, so the split cannot change the bytes */
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 16) if (n_threads > 1)
    for (int64_t r = 0; r < n_rows; r++)
        t->quantize(src + r * n_cols, (uint8_t *)dst + (size_t)r * rb, n_cols);
    return true;
}

/* ---- activations of the integer path ------------------------------------------------ */

void kern_quantize_a8_ref(const float *x, struct blk_a8 *y, int64_t n)
{
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        float d = amax / 127.0f;
        float id = d != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = nearest_int(x[j] * id); /* ties to even, as cvtps2dq does */
            y[i].qs[j] = (int8_t)q;
            sum += q;
            if (j == 15)
                y[i].isum_lo = sum;
        }
        y[i].d = d;
        y[i].s = d * (float)sum;
        y[i].isum = sum;
    }
}
