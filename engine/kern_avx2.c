/*
 * engine/kern_avx2.c - x86 matmul kernels: rows [r0, r1) of y (n_tok, n_rows) for
 * every token, for every weight type, with AVX2+FMA+F16C. engine/kern_avx512.c
 * includes this file again with KX_LEVEL 512 to get the same kernels with the
 * AVX512-VNNI integer dot product (vpdpbusd on 256-bit vectors; on Zen 4 512-bit
 * vectors run as two halves anyway, and 32 bytes is exactly one 32-value block).
 *
 * Everything here is compiled for the target named by the pragma below, not with a
 * global -march, so the program still runs on any x86-64; kern.c calls in only after
 * __builtin_cpu_supports says yes.
 *
 * Structure. A weight row is walked in groups of 32 values (one Q4_0/Q8_0... block, an
 * eighth of a K-quant super-block). `unpack` turns one group into 32 int8 levels q plus
 * two scales (values 0-15 and 16-31; Q6_K has a scale per 16) and, for types with an
 * offset, a min m: value = s * q + m. Work is cut into tiles of R rows x T tokens:
 *  - decode (one token): tile_int / tile_f, 8 (AVX-512) or 4 rows, weights unpacked
 *    straight into registers and used once; the tile after next is prefetched;
 *  - prompts: chunk_int unpacks a 4-row tile 8 groups at a time into a small array and
 *    runs all of a 32-token chunk through it 4 (or 2) tokens at a time, accumulators
 *    parked in an array between k-chunks, so unpacking is shared by 32 tokens; tile_f
 *    does 4 rows x 4 tokens with the weights converted 8 values at a time.
 * Paths:
 *  - integer (act != NULL): int32 lane sums of q * a.q, scaled by s * a.d in float and
 *    accumulated; offset types add m * a.s for 8 groups at once, one group per lane
 *    (a.s = a.d * sum(a.q), kept 8 to a vector after the blocks). AVX2: maddubs+madd,
 *    signed levels via |q| and sign(a.q, q). VNNI: one vpdpbusd; signed levels as
 *    dot(a.q + 128, q) - 128 * sum(q), with the correction as the instruction's
 *    accumulator. Both give the exact integer dot, so AVX2 and AVX-512 agree bit for bit.
 *  - float: the 32 values are formed in float (s * q, then + m, in the same order as the
 *    scalar dequantizer, so they are exact) and FMA'd with float activations.
 * Every output has its own accumulator and the same sequence of operations whatever the
 * tile shape, so results depend neither on how rows are split between threads nor on
 * how many tokens share the call.
 */
#include "engine/kern_int.h"

#if defined(__x86_64__) || defined(__i386__)

#ifndef KX_LEVEL
#define KX_LEVEL 2
#endif

#if KX_LEVEL == 512
#define KX(name) name##_avx512
#define KX_TT    4 /* tokens per tile: 32 vector registers */
#define KX_TTF   4 /* float path: 16 accumulators + 4 weights + 1 x (6 measured no faster) */
#define KX_RD    8 /* int8 rows per tile when decoding (T = 1), sharing activation loads */
#else
#define KX(name) name##_avx2
#define KX_TT    2 /* 16 vector registers */
#define KX_TTF   2
#define KX_RD    4
#endif
#define KX_RT 4  /* rows per tile */
#define KX_RFD 8  /* float rows per decode tile: one packed group */
#if KX_LEVEL == 512 /* tokens per packed float prompt tile: 8 x 2 accumulators (8 x 3 spills) */
#define KP_FT 2
#else
#define KP_FT 1
#endif
#define KX_TC 32 /* tokens per chunk: their activations stay in L2 while rows stream */
/* The float path's chunk on the file's rows: 64 tokens of 2048 values are 512 KiB of L2,
 * and each row is read from memory half as often as with 32 (F16 16384 x 2048 x 512
 * tokens: 186-192 -> 203-209 GFLOP/s with the row prefetch of rows_f). */
#define KX_TCF 64

/* pragmas do not expand macros: one literal line per level */
#if defined(__clang__) && KX_LEVEL == 512
#pragma clang attribute push(                                                                      \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))),                 \
    apply_to = function)
#elif defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#elif KX_LEVEL == 512
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#include <immintrin.h>

#define KX_INLINE static inline __attribute__((always_inline))

/* One group of 32 weights: value = s[k/16] * q[k] + m. */
struct kb {
    __m256i q; /* levels: signed types q in [-128, 127], others in [0, 63] */
    float s0, s1;
    float m;
    __m256 sv; /* Q6_K from unpack_sb only: lanes 0-3 s0, lanes 4-7 s1 (else unset) */
};

KX_INLINE float f16s(uint16_t h)
{
    return _cvtsh_ss(h);
}

KX_INLINE bool type_signed(int type)
{
    return type == QUANT_TYPE_Q4_0 || type == QUANT_TYPE_Q5_0 || type == QUANT_TYPE_Q8_0 ||
           type == QUANT_TYPE_Q6_K;
}

/* 32 bits -> 32 bytes: byte i is 0x10 if bit i is set, else 0. */
KX_INLINE __m256i bits_to_0x10(uint32_t bits)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                          2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bm = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bm), bm);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* 16 bytes of nibbles -> 32 levels: low nibbles are values 0-15, high 16-31. */
KX_INLINE __m256i nibbles_split(const uint8_t *qs)
{
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
}

/* Signed types store level q as q + off in their bits; unpack_ with raw gives those
 * unsigned bits (Q8_0: q + 128, by flipping the sign bit) for the VNNI decode path. */
KX_INLINE int type_off_shift(int type)
{
    switch (type) {
    case QUANT_TYPE_Q4_0:
        return 3; /* off 8 */
    case QUANT_TYPE_Q5_0:
        return 4; /* 16 */
    case QUANT_TYPE_Q6_K:
        return 5; /* 32 */
    case QUANT_TYPE_Q8_0:
        return 7; /* 128 */
    default:
        return 0;
    }
}

/* Group j (values 32j .. 32j+31) of a weight row; raw: see type_off_shift. */
KX_INLINE struct kb unpack_(const int type, const uint8_t *row, int64_t j, const bool raw)
{
    struct kb o = {_mm256_setzero_si256(), 0, 0, 0, _mm256_setzero_ps()};
    switch (type) {
    case QUANT_TYPE_Q4_0: {
        const struct blk_q4_0 *b = (const struct blk_q4_0 *)row + j;
        o.q = nibbles_split(b->qs);
        if (!raw)
            o.q = _mm256_sub_epi8(o.q, _mm256_set1_epi8(8));
        o.s0 = o.s1 = f16s(b->d);
        break;
    }
    case QUANT_TYPE_Q4_1: {
        const struct blk_q4_1 *b = (const struct blk_q4_1 *)row + j;
        o.q = nibbles_split(b->qs);
        o.s0 = o.s1 = f16s(b->d);
        o.m = f16s(b->m);
        break;
    }
    case QUANT_TYPE_Q5_0: {
        const struct blk_q5_0 *b = (const struct blk_q5_0 *)row + j;
        uint32_t qh;
        memcpy(&qh, b->qh, 4);
        o.q = _mm256_or_si256(nibbles_split(b->qs), bits_to_0x10(qh));
        if (!raw)
            o.q = _mm256_sub_epi8(o.q, _mm256_set1_epi8(16));
        o.s0 = o.s1 = f16s(b->d);
        break;
    }
    case QUANT_TYPE_Q5_1: {
        const struct blk_q5_1 *b = (const struct blk_q5_1 *)row + j;
        uint32_t qh;
        memcpy(&qh, b->qh, 4);
        o.q = _mm256_or_si256(nibbles_split(b->qs), bits_to_0x10(qh));
        o.s0 = o.s1 = f16s(b->d);
        o.m = f16s(b->m);
        break;
    }
    case QUANT_TYPE_Q8_0: {
        const struct blk_q8_0 *b = (const struct blk_q8_0 *)row + j;
        o.q = _mm256_loadu_si256((const __m256i *)b->qs);
        if (raw)
            o.q = _mm256_xor_si256(o.q, _mm256_set1_epi8((char)0x80));
        o.s0 = o.s1 = f16s(b->d);
        break;
    }
    case QUANT_TYPE_Q4_K:
    case QUANT_TYPE_Q5_K: {
        /* the two types share the header layout up to qh */
        int g = (int)(j & 7);
        const uint8_t *blk;
        const uint8_t *qs;
        if (type == QUANT_TYPE_Q4_K) {
            const struct blk_q4_k *b = (const struct blk_q4_k *)row + (j >> 3);
            blk = (const uint8_t *)b;
            qs = b->qs;
        } else {
            const struct blk_q5_k *b = (const struct blk_q5_k *)row + (j >> 3);
            blk = (const uint8_t *)b;
            qs = b->qs;
        }
        uint16_t dh, dmh;
        memcpy(&dh, blk, 2);
        memcpy(&dmh, blk + 2, 2);
        __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * (g >> 1)));
        if (g & 1)
            v = _mm256_srli_epi16(v, 4);
        o.q = _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
        if (type == QUANT_TYPE_Q5_K) {
            const struct blk_q5_k *b = (const struct blk_q5_k *)row + (j >> 3);
            __m256i h = _mm256_loadu_si256((const __m256i *)b->qh);
            h = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(g)), _mm256_set1_epi8(1));
            o.q = _mm256_or_si256(o.q, _mm256_slli_epi16(h, 4));
        }
        uint8_t sc, m;
        kq_scale_min(g, blk + 4, &sc, &m);
        o.s0 = o.s1 = f16s(dh) * (float)sc;
        o.m = -(f16s(dmh) * (float)m);
        break;
    }
    case QUANT_TYPE_Q6_K: {
        const struct blk_q6_k *b = (const struct blk_q6_k *)row + (j >> 3);
        int g = (int)(j & 7), n = g >> 2, p = g & 3;
        __m256i l = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * n + 32 * (p & 1)));
        if (p >= 2)
            l = _mm256_srli_epi16(l, 4);
        l = _mm256_and_si256(l, _mm256_set1_epi8(0x0F));
        __m256i h = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * n));
        h = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * p)), _mm256_set1_epi8(3));
        o.q = _mm256_or_si256(l, _mm256_slli_epi16(h, 4));
        if (!raw)
            o.q = _mm256_sub_epi8(o.q, _mm256_set1_epi8(32));
        float d = f16s(b->d);
        o.s0 = d * (float)b->scales[8 * n + 2 * p];
        o.s1 = d * (float)b->scales[8 * n + 2 * p + 1];
        break;
    }
    default:
        break;
    }
    return o;
}

KX_INLINE struct kb unpack(const int type, const uint8_t *row, int64_t j)
{
    return unpack_(type, row, j, false);
}

KX_INLINE bool type_k(int type)
{
    return type == QUANT_TYPE_Q4_K || type == QUANT_TYPE_Q5_K || type == QUANT_TYPE_Q6_K;
}

/* All 8 groups of K-quant super-block sb at once, sharing the header decode; the same
 * values as 8 calls of unpack (same float operations). */
KX_INLINE void unpack_sb_(const int type, const uint8_t *row, int64_t sb, struct kb o[8],
                          const bool raw)
{
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    if (type == QUANT_TYPE_Q6_K) {
        const struct blk_q6_k *b = (const struct blk_q6_k *)row + sb;
        float d = f16s(b->d);
        /* the 16 scales as d * sc in two vectors (the same float products as d * (float)sc);
         * group g uses scales 2g (values 0-15) and 2g+1 (values 16-31) */
        __m128i sc8 = _mm_loadu_si128((const __m128i *)b->scales);
        __m256 vd = _mm256_set1_ps(d);
        __m256 scf[2] = {
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc8)), vd),
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8))), vd)};
        for (int n = 0; n < 2; n++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * n));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * n + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * n));
            __m256i ls[4] = {_mm256_and_si256(l0, lo4), _mm256_and_si256(l1, lo4),
                             _mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4),
                             _mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4)};
            for (int p = 0; p < 4; p++) {
                __m256i hp = _mm256_and_si256(_mm256_srli_epi16(h, 2 * p), _mm256_set1_epi8(3));
                __m256i q = _mm256_or_si256(ls[p], _mm256_slli_epi16(hp, 4));
                struct kb *k = &o[4 * n + p];
                k->q = raw ? q : _mm256_sub_epi8(q, _mm256_set1_epi8(32));
                __m256i idx = _mm256_set_m128i(_mm_set1_epi32(2 * p + 1), _mm_set1_epi32(2 * p));
                k->sv = _mm256_permutevar8x32_ps(scf[n], idx);
                k->s0 = d * (float)b->scales[8 * n + 2 * p];
                k->s1 = d * (float)b->scales[8 * n + 2 * p + 1];
                k->m = 0;
            }
        }
        return;
    }
    const uint8_t *blk, *qs;
    __m256i h = _mm256_setzero_si256();
    if (type == QUANT_TYPE_Q4_K) {
        const struct blk_q4_k *b = (const struct blk_q4_k *)row + sb;
        blk = (const uint8_t *)b;
        qs = b->qs;
    } else {
        const struct blk_q5_k *b = (const struct blk_q5_k *)row + sb;
        blk = (const uint8_t *)b;
        qs = b->qs;
        h = _mm256_loadu_si256((const __m256i *)b->qh);
    }
    uint16_t dh, dmh;
    memcpy(&dh, blk, 2);
    memcpy(&dmh, blk + 2, 2);
    float d = f16s(dh), dmin = f16s(dmh);
    /* the 8 six-bit scales and mins of kq_scale_min, 4 at a time in 32-bit words:
     * j < 4 from the low 6 bits of bytes j and j + 4, j >= 4 from the nibbles of byte
     * j + 4 with the top 2 bits of bytes j - 4 and j */
    uint32_t w0, w1, w2;
    memcpy(&w0, blk + 4, 4);
    memcpy(&w1, blk + 8, 4);
    memcpy(&w2, blk + 12, 4);
    const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    uint32_t scw[2] = {w0 & m6, (w2 & m4) | (((w0 >> 6) & m2) << 4)};
    uint32_t mw[2] = {w1 & m6, ((w2 >> 4) & m4) | (((w1 >> 6) & m2) << 4)};
    __m128i sc8 = _mm_set_epi32(0, 0, (int)scw[1], (int)scw[0]);
    __m128i mn8 = _mm_set_epi32(0, 0, (int)mw[1], (int)mw[0]);
    float scf[8], mnf[8];
    /* the float products of the scalar code: d * (float)sc and -(dmin * (float)m) */
    _mm256_storeu_ps(scf, _mm256_mul_ps(_mm256_set1_ps(d),
                                        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sc8))));
    _mm256_storeu_ps(mnf, _mm256_xor_ps(_mm256_mul_ps(_mm256_set1_ps(dmin),
                                                      _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn8))),
                                        _mm256_set1_ps(-0.0f)));
    for (int c = 0; c < 4; c++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        o[2 * c].q = _mm256_and_si256(v, lo4);
        o[2 * c + 1].q = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
    }
    for (int g = 0; g < 8; g++) {
        if (type == QUANT_TYPE_Q5_K) {
            __m256i hb = _mm256_and_si256(_mm256_srli_epi16(h, g), _mm256_set1_epi8(1));
            o[g].q = _mm256_or_si256(o[g].q, _mm256_slli_epi16(hb, 4));
        }
        o[g].s0 = o[g].s1 = scf[g];
        o[g].m = mnf[g];
    }
}

KX_INLINE void unpack_sb(const int type, const uint8_t *row, int64_t sb, struct kb o[8])
{
    unpack_sb_(type, row, sb, o, false);
}

/* Ask for rows [r, r + n) (clipped to r_end) to be brought into cache. Rows of a
 * small matrix are short (2048 Q4_K values: 1152 bytes), so the hardware prefetcher
 * barely trains on each tile's streams; fetching the tile after next while this one
 * computes keeps enough misses in flight when decoding from DRAM (single thread,
 * 16384x2048, n_tok=1: Q4_K 4.0 -> 6.5 GB/s, Q6_K 3.1 -> 4.7, Q4_0 6.3 -> 7.7). */
KX_INLINE void prefetch_rows(const uint8_t *w, size_t row_bytes, int64_t r, int64_t n,
                             int64_t r_end)
{
    if (r + n > r_end)
        n = r_end - r;
    if (n <= 0)
        return;
    const char *p = (const char *)(w + (size_t)r * row_bytes);
    const char *e = p + (size_t)n * row_bytes;
    for (; p < e; p += 64)
        _mm_prefetch(p, _MM_HINT_T0);
}

/* Decode tiles prefetch the rows KX_PFD tiles ahead spread over their own loop: step k
 * of n fetches the k-th slice of [pf, pf_end), so misses stay in flight evenly instead
 * of in one burst per tile. */
#ifndef KX_PFD
#define KX_PFD 2
#endif
struct kx_pf {
    const char *p, *end;
    size_t slice; /* bytes per step, a multiple of 64 */
};

KX_INLINE struct kx_pf pf_ahead(const uint8_t *w, size_t row_bytes, int64_t r, int64_t n,
                                int64_t r_end, int64_t steps)
{
    struct kx_pf o = {NULL, NULL, 0};
    int64_t a = r + KX_PFD * n;
    int64_t e = a + n > r_end ? r_end : a + n;
    if (a >= e || steps <= 0)
        return o;
    o.p = (const char *)(w + (size_t)a * row_bytes);
    o.end = (const char *)(w + (size_t)e * row_bytes);
    size_t bytes = (size_t)(o.end - o.p);
    o.slice = ((bytes + (size_t)steps - 1) / (size_t)steps + 63) & ~(size_t)63;
    return o;
}

/* One step of pf: into L1, or into L2 only (l2; long float rows, see rows_f). */
KX_INLINE void pf_step_to(struct kx_pf *pf, const bool l2)
{
    if (!pf->p)
        return;
    const char *e = pf->p + pf->slice;
    if (e > pf->end)
        e = pf->end;
    for (const char *q = pf->p; q < e; q += 64) {
        if (l2)
            _mm_prefetch(q, _MM_HINT_T1);
        else
            _mm_prefetch(q, _MM_HINT_T0);
    }
    pf->p = e;
}

KX_INLINE void pf_step(struct kx_pf *pf)
{
    pf_step_to(pf, false);
}

KX_INLINE float hsum(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

/* ---- integer path ------------------------------------------------------------------ */

/* One weight group prepared for the dot products of many tokens. */
struct kw {
    __m256i a; /* operand of the dot product (see step) */
    __m256i b; /* signed types: sign source (AVX2) or offset correction (VNNI) */
    __m256 sv; /* lane scales: s0 for lanes 0-3 (values 0-15), s1 for lanes 4-7 */
};

/* One activation block prepared for many rows. */
struct kx {
    __m256i x;
    __m256 dx;    /* a.d in every lane */
    __m256i corr; /* raw decode path: -off * (sum of x over the lane's 4 bytes) */
};

/* from_sb: b came from unpack_sb, whose Q6_K lane scales are ready in b.sv */
KX_INLINE struct kw prep_w_(const int type, struct kb b, const bool from_sb)
{
    struct kw o;
    /* only Q6_K has two scales per group; one broadcast for the others */
    if (type == QUANT_TYPE_Q6_K)
        o.sv = from_sb ? b.sv : _mm256_set_m128(_mm_set1_ps(b.s1), _mm_set1_ps(b.s0));
    else
        o.sv = _mm256_set1_ps(b.s0);
    if (!type_signed(type)) {
        o.a = b.q;
        o.b = _mm256_setzero_si256();
        return o;
    }
#if KX_LEVEL == 512
    /* dot(q, x) = dot(x + 128, q) - 128 * sum(q): x + 128 is unsigned, so one vpdpbusd
     * (accumulating onto b = -128 * sum(q) per lane) does it with no sign fix-up */
    o.a = b.q;
    o.b = _mm256_sub_epi32(
        _mm256_setzero_si256(),
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), b.q));
#else
    /* maddubs wants unsigned x signed: |q| and sign(q) moved onto x */
    o.a = _mm256_sign_epi8(b.q, b.q);
    o.b = b.q;
#endif
    return o;
}

KX_INLINE struct kw prep_w(const int type, struct kb b)
{
    return prep_w_(type, b, false);
}

KX_INLINE struct kx prep_x(const int type, const struct blk_a8 *a)
{
    struct kx o;
    o.x = _mm256_loadu_si256((const __m256i *)a->qs);
#if KX_LEVEL == 512
    if (type_signed(type))
        o.x = _mm256_xor_si256(o.x, _mm256_set1_epi8((char)0x80));
#endif
    o.dx = _mm256_broadcast_ss(&a->d);
    o.corr = _mm256_setzero_si256();
    return o;
}

/* acc += this group's contribution; the same operations for every tile shape. The
 * integer dot product is exact in both variants, so AVX2 and VNNI agree bit for bit. */
KX_INLINE __m256 step(const int type, const struct kw *w, const struct kx *x, __m256 acc)
{
    __m256i dot;
#if KX_LEVEL == 512
    if (type_signed(type))
        dot = _mm256_dpbusd_epi32(w->b, x->x, w->a);
    else
        dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w->a, x->x);
#else
    if (type_signed(type))
        dot = _mm256_madd_epi16(_mm256_maddubs_epi16(w->a, _mm256_sign_epi8(x->x, w->b)),
                                _mm256_set1_epi16(1));
    else
        dot = _mm256_madd_epi16(_mm256_maddubs_epi16(w->a, x->x), _mm256_set1_epi16(1));
#endif
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(w->sv, x->dx), acc);
}

/*
 * The raw decode path (VNNI, one token): signed levels stay as their stored unsigned
 * bits u = q + off, and dot(q, x) = dot(u, x) - off * sum(x) per lane, so the
 * correction depends on the activation only and is made once per activation block for
 * all the rows of a tile, instead of once per weight group (a vpdpbusd and a subtract
 * per row). Both paths produce the exact integer lane sums, so the bits are those of
 * prep_w / prep_x / step (tests hold decode against prompt processing and AVX2).
 * Without VNNI these are the plain functions.
 */
KX_INLINE struct kb unpack_raw(const int type, const uint8_t *row, int64_t j)
{
#if KX_LEVEL == 512
    return unpack_(type, row, j, true);
#else
    return unpack_(type, row, j, false);
#endif
}

KX_INLINE void unpack_sb_raw(const int type, const uint8_t *row, int64_t sb, struct kb o[8])
{
#if KX_LEVEL == 512
    unpack_sb_(type, row, sb, o, true);
#else
    unpack_sb_(type, row, sb, o, false);
#endif
}

KX_INLINE struct kw prep_w_raw(const int type, struct kb b, const bool from_sb)
{
#if KX_LEVEL == 512
    struct kw o;
    if (type == QUANT_TYPE_Q6_K)
        o.sv = from_sb ? b.sv : _mm256_set_m128(_mm_set1_ps(b.s1), _mm_set1_ps(b.s0));
    else
        o.sv = _mm256_set1_ps(b.s0);
    o.a = b.q;
    o.b = _mm256_setzero_si256();
    return o;
#else
    return prep_w_(type, b, from_sb);
#endif
}

KX_INLINE struct kx prep_x_raw(const int type, const struct blk_a8 *a)
{
#if KX_LEVEL == 512
    struct kx o;
    o.x = _mm256_loadu_si256((const __m256i *)a->qs);
    o.dx = _mm256_broadcast_ss(&a->d);
    o.corr = _mm256_setzero_si256();
    if (type_signed(type)) {
        __m256i lane = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), o.x);
        o.corr = _mm256_sub_epi32(_mm256_setzero_si256(),
                                  _mm256_slli_epi32(lane, type_off_shift(type)));
    }
    return o;
#else
    return prep_x(type, a);
#endif
}

KX_INLINE __m256 step_raw(const int type, const struct kw *w, const struct kx *x, __m256 acc)
{
#if KX_LEVEL == 512
    __m256i dot = _mm256_dpbusd_epi32(x->corr, w->a, x->x);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(w->sv, x->dx), acc);
#else
    return step(type, w, x, acc);
#endif
}

/* Offset types: after each run of 8 groups, acc += m[g] * a.s[g] lane by lane (lane g
 * holds group g; hsum adds them up): one FMA per 8 groups instead of one per group.
 * m holds the 8 mins (zero past the row's end), s the matching sums (kern_int.h). */
KX_INLINE __m256 offset8(const float *m, const float *s, __m256 acc)
{
    return _mm256_fmadd_ps(_mm256_loadu_ps(m), _mm256_loadu_ps(s), acc);
}

/* Decode-sized work: y[t..t+T) x rows [r, r+R), R <= KX_RT, T <= KX_TT (compile-time
 * after inlining), weights unpacked once per tile straight into registers. */
KX_INLINE void tile_int_pf(const int type, const int R, const int T, float *y, const uint8_t *w,
                           size_t row_bytes, const struct blk_a8 *act, const float *sums,
                           int64_t nb, int64_t n_rows, int64_t r, int64_t t, struct kx_pf pf)
{
    const int64_t nb8 = kern_a8_nb8(nb);
    __m256 acc[KX_RD][KX_TT];
    float mv[KX_RD][8];
    for (int i = 0; i < R; i++) {
        for (int u = 0; u < T; u++)
            acc[i][u] = _mm256_setzero_ps();
        for (int g = 0; g < 8; g++)
            mv[i][g] = 0.0f;
    }
    for (int64_t j = 0; j < nb; j++) {
        struct kw kw[KX_RD];
        if (T == 1) { /* decode: the raw path */
            pf_step(&pf);
            struct kx kx = prep_x_raw(type, act + t * nb + j);
            for (int i = 0; i < R; i++) {
                struct kb b = unpack_raw(type, w + (size_t)(r + i) * row_bytes, j);
                struct kw k = prep_w_raw(type, b, false);
                mv[i][j & 7] = b.m;
                acc[i][0] = step_raw(type, &k, &kx, acc[i][0]);
            }
        } else {
            for (int i = 0; i < R; i++) {
                struct kb b = unpack(type, w + (size_t)(r + i) * row_bytes, j);
                kw[i] = prep_w(type, b);
                mv[i][j & 7] = b.m;
            }
            for (int u = 0; u < T; u++) {
                struct kx kx = prep_x(type, act + (t + u) * nb + j);
                for (int i = 0; i < R; i++)
                    acc[i][u] = step(type, &kw[i], &kx, acc[i][u]);
            }
        }
        if (!type_signed(type) && ((j & 7) == 7 || j == nb - 1)) {
            for (int u = 0; u < T; u++)
                for (int i = 0; i < R; i++)
                    acc[i][u] = offset8(mv[i], sums + (t + u) * nb8 + (j & ~(int64_t)7), acc[i][u]);
            for (int i = 0; i < R; i++)
                for (int g = 0; g < 8; g++)
                    mv[i][g] = 0.0f;
        }
    }
    for (int i = 0; i < R; i++)
        for (int u = 0; u < T; u++)
            y[(t + u) * n_rows + r + i] = hsum(acc[i][u]);
}

KX_INLINE void tile_int(const int type, const int R, const int T, float *y, const uint8_t *w,
                        size_t row_bytes, const struct blk_a8 *act, const float *sums, int64_t nb,
                        int64_t n_rows, int64_t r, int64_t t)
{
    struct kx_pf none = {NULL, NULL, 0};
    tile_int_pf(type, R, T, y, w, row_bytes, act, sums, nb, n_rows, r, t, none);
}

/*
 * Prompt processing: rows [r, r+R) against tokens [tc, te) (at most KX_TC). The weights
 * are unpacked KX_G groups at a time into a small array once for all the chunk's tokens,
 * and the accumulators wait in an array between k-chunks, so the cost of unpacking
 * (large for K-quants) is shared by up to KX_TC tokens instead of KX_TT. The per-output
 * operation sequence is the one of tile_int.
 */
#define KX_G 8 /* a K-quant super-block */

KX_INLINE void chunk_inner(const int type, const int R, const int T, const struct kw *kw,
                           const float mv[][8], __m256 accb[][KX_TC], const struct blk_a8 *act,
                           const float *sums, int64_t nb, int64_t j0, int ng, int64_t t, int64_t tc)
{
    __m256 acc[KX_RT][KX_TT];
    for (int i = 0; i < R; i++)
        for (int u = 0; u < T; u++)
            acc[i][u] = accb[i][t - tc + u];
    for (int g = 0; g < ng; g++) {
        struct kw wr[KX_RT];
        for (int i = 0; i < R; i++)
            wr[i] = kw[i * KX_G + g];
        for (int u = 0; u < T; u++) {
            struct kx kx = prep_x(type, act + (t + u) * nb + j0 + g);
            for (int i = 0; i < R; i++)
                acc[i][u] = step(type, &wr[i], &kx, acc[i][u]);
        }
    }
    if (!type_signed(type)) {
        const int64_t nb8 = kern_a8_nb8(nb);
        for (int u = 0; u < T; u++)
            for (int i = 0; i < R; i++)
                acc[i][u] = offset8(mv[i], sums + (t + u) * nb8 + j0, acc[i][u]);
    }
    for (int i = 0; i < R; i++)
        for (int u = 0; u < T; u++)
            accb[i][t - tc + u] = acc[i][u];
}

KX_INLINE void chunk_int(const int type, const int R, float *y, const uint8_t *w, size_t row_bytes,
                         const struct blk_a8 *act, const float *sums, int64_t nb, int64_t n_rows,
                         int64_t r, int64_t tc, int64_t te)
{
    __m256 accb[KX_RT][KX_TC];
    for (int i = 0; i < R; i++)
        for (int64_t u = 0; u < te - tc; u++)
            accb[i][u] = _mm256_setzero_ps();
    for (int64_t j0 = 0; j0 < nb; j0 += KX_G) {
        int ng = nb - j0 < KX_G ? (int)(nb - j0) : KX_G;
        struct kw kw[KX_RT * KX_G];
        float mv[KX_RT][8];
        for (int i = 0; i < R; i++) {
            const uint8_t *row = w + (size_t)(r + i) * row_bytes;
            for (int g = 0; g < 8; g++)
                mv[i][g] = 0.0f;
            if (type_k(type)) { /* KX_G == 8: one super-block */
                struct kb kb[8];
                unpack_sb(type, row, j0 / 8, kb);
                for (int g = 0; g < 8; g++) {
                    kw[i * KX_G + g] = prep_w_(type, kb[g], true);
                    mv[i][g] = kb[g].m;
                }
            } else {
                for (int g = 0; g < ng; g++) {
                    struct kb b = unpack(type, row, j0 + g);
                    kw[i * KX_G + g] = prep_w(type, b);
                    mv[i][g] = b.m;
                }
            }
        }
        int64_t t = tc;
        for (; t + KX_TT <= te; t += KX_TT)
            chunk_inner(type, R, KX_TT, kw, mv, accb, act, sums, nb, j0, ng, t, tc);
        for (; t < te; t++)
            chunk_inner(type, R, 1, kw, mv, accb, act, sums, nb, j0, ng, t, tc);
    }
    for (int i = 0; i < R; i++)
        for (int64_t u = 0; u < te - tc; u++)
            y[(tc + u) * n_rows + r + i] = hsum(accb[i][u]);
}

/* Decoding K-quants (one token): each row's super-block is unpacked and used at once,
 * nothing parked in memory. Per output: 8 group steps then offset8, per super-block,
 * the order of chunk_int, so a token gives the same bits alone or in a batch. */
KX_INLINE void tile_k1(const int type, const int R, float *y, const uint8_t *w, size_t row_bytes,
                       const struct blk_a8 *act, const float *sums, int64_t nb, int64_t n_rows,
                       int64_t r, int64_t t, struct kx_pf pf)
{
    const int64_t nb8 = kern_a8_nb8(nb);
    __m256 acc[KX_RD];
    for (int i = 0; i < R; i++)
        acc[i] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nb / 8; sb++) {
        const struct blk_a8 *a = act + t * nb + 8 * sb;
        pf_step(&pf);
        struct kx xs[8]; /* shared by the tile's rows */
        for (int g = 0; g < 8; g++)
            xs[g] = prep_x_raw(type, a + g);
        for (int i = 0; i < R; i++) {
            struct kb kb[8];
            float mv[8];
            unpack_sb_raw(type, w + (size_t)(r + i) * row_bytes, sb, kb);
            for (int g = 0; g < 8; g++) {
                struct kw k = prep_w_raw(type, kb[g], true);
                acc[i] = step_raw(type, &k, &xs[g], acc[i]);
                mv[g] = kb[g].m;
            }
            if (!type_signed(type))
                acc[i] = offset8(mv, sums + t * nb8 + 8 * sb, acc[i]);
        }
    }
    for (int i = 0; i < R; i++)
        y[t * n_rows + r + i] = hsum(acc[i]);
}

KX_INLINE void rows_int(const int type, float *y, const uint8_t *w, size_t row_bytes,
                        const struct blk_a8 *act, int64_t n_rows, int64_t n_cols, int64_t n_tok,
                        int64_t r0, int64_t r1)
{
    int64_t nb = n_cols / 32;
    const float *sums = (const float *)(act + n_tok * nb); /* kern_int.h */
    for (int64_t tc = 0; tc < n_tok; tc += KX_TC) {
        int64_t te = tc + KX_TC < n_tok ? tc + KX_TC : n_tok;
        int64_t r = r0;
        if (type_k(type) && te - tc == 1) {
            for (; r + KX_RD <= r1; r += KX_RD) {
                struct kx_pf pf = pf_ahead(w, row_bytes, r, KX_RD, r1, nb / 8);
                tile_k1(type, KX_RD, y, w, row_bytes, act, sums, nb, n_rows, r, tc, pf);
            }
            for (; r < r1; r++) {
                struct kx_pf none = {NULL, NULL, 0};
                tile_k1(type, 1, y, w, row_bytes, act, sums, nb, n_rows, r, tc, none);
            }
            continue;
        }
        if (te - tc >= 2 * KX_TT || type_k(type)) {
            for (; r + KX_RT <= r1; r += KX_RT) {
                prefetch_rows(w, row_bytes, r + 2 * KX_RT, KX_RT, r1);
                chunk_int(type, KX_RT, y, w, row_bytes, act, sums, nb, n_rows, r, tc, te);
            }
            for (; r < r1; r++)
                chunk_int(type, 1, y, w, row_bytes, act, sums, nb, n_rows, r, tc, te);
            continue;
        }
        if (te - tc == 1) {
            for (; r + KX_RD <= r1; r += KX_RD) {
                struct kx_pf pf = pf_ahead(w, row_bytes, r, KX_RD, r1, nb);
                tile_int_pf(type, KX_RD, 1, y, w, row_bytes, act, sums, nb, n_rows, r, tc, pf);
            }
        }
        for (; r + KX_RT <= r1; r += KX_RT) {
            int64_t t = tc;
            for (; t + KX_TT <= te; t += KX_TT)
                tile_int(type, KX_RT, KX_TT, y, w, row_bytes, act, sums, nb, n_rows, r, t);
            for (; t < te; t++)
                tile_int(type, KX_RT, 1, y, w, row_bytes, act, sums, nb, n_rows, r, t);
        }
        for (; r < r1; r++) {
            int64_t t = tc;
            for (; t + KX_TT <= te; t += KX_TT)
                tile_int(type, 1, KX_TT, y, w, row_bytes, act, sums, nb, n_rows, r, t);
            for (; t < te; t++)
                tile_int(type, 1, 1, y, w, row_bytes, act, sums, nb, n_rows, r, t);
        }
    }
}

/* ---- float path ------------------------------------------------------------------------ */

/* Group j of a row as 4 x 8 floats, exactly the scalar dequantizer's values. */
KX_INLINE void unpack_f(const int type, const uint8_t *row, int64_t j, __m256 v[4])
{
    switch (type) {
    case QUANT_TYPE_F32: {
        const float *p = (const float *)row + 32 * j;
        for (int c = 0; c < 4; c++)
            v[c] = _mm256_loadu_ps(p + 8 * c);
        return;
    }
    case QUANT_TYPE_F16: {
        const uint16_t *p = (const uint16_t *)row + 32 * j;
        for (int c = 0; c < 4; c++)
            v[c] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 8 * c)));
        return;
    }
    case QUANT_TYPE_BF16: {
        const uint16_t *p = (const uint16_t *)row + 32 * j;
        for (int c = 0; c < 4; c++) {
            __m256i e = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 8 * c)));
            v[c] = _mm256_castsi256_ps(_mm256_slli_epi32(e, 16));
        }
        return;
    }
    default: {
        struct kb b = unpack(type, row, j);
        __m128i lo = _mm256_castsi256_si128(b.q), hi = _mm256_extracti128_si256(b.q, 1);
        __m256 s0 = _mm256_set1_ps(b.s0), s1 = _mm256_set1_ps(b.s1), m = _mm256_set1_ps(b.m);
        v[0] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), s0);
        v[1] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), s0);
        v[2] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), s1);
        v[3] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), s1);
        if (!type_signed(type))
            for (int c = 0; c < 4; c++)
                v[c] = _mm256_add_ps(v[c], m);
        return;
    }
    }
}

/* Values k .. k+7 of an F32 / F16 / BF16 row. */
KX_INLINE __m256 load8_f(const int type, const uint8_t *row, int64_t k)
{
    if (type == QUANT_TYPE_F32)
        return _mm256_loadu_ps((const float *)row + k);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + k));
    if (type == QUANT_TYPE_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

KX_INLINE float elem_f(const int type, const uint8_t *row, int64_t k)
{
    uint16_t h;
    switch (type) {
    case QUANT_TYPE_F32: {
        float f;
        memcpy(&f, row + 4 * k, 4);
        return f;
    }
    case QUANT_TYPE_F16:
        memcpy(&h, row + 2 * k, 2);
        return f16s(h);
    default:
        memcpy(&h, row + 2 * k, 2);
        return quant_bf16_to_f32(h);
    }
}

/* Rows [r, r+R) x tokens [t, t+T). w0 is row r's first byte; row i's block j (32
 * values) starts at w0 + i * rs + j * bs: rs = row_bytes, bs = the bytes of 32 values in
 * the file's layout, rs = 64, bs = 512 in the packed float layout (kern_int.h). Each
 * output's sum runs over the same values in the same order whatever R, T or layout. */
KX_INLINE void tile_f_pf(const int type, const int R, const int T, float *y, const uint8_t *w0,
                         size_t rs, size_t bs, const float *x, int64_t n_cols, int64_t n_rows,
                         int64_t r, int64_t t, struct kx_pf pf)
{
    int64_t nb = n_cols / 32;
    __m256 acc[KX_RFD][KX_TTF];
    for (int i = 0; i < R; i++)
        for (int u = 0; u < T; u++)
            acc[i][u] = _mm256_setzero_ps();
    const bool conv = type == QUANT_TYPE_F32 || type == QUANT_TYPE_F16 || type == QUANT_TYPE_BF16;
    for (int64_t j = 0; j < nb; j++) {
        __m256 wv[KX_RFD][4];
        if (T == 1)
            pf_step_to(&pf, true);
        if (!conv)
            for (int i = 0; i < R; i++)
                unpack_f(type, w0 + (size_t)i * rs, j, wv[i]);
        /* 8 values at a time: R weight vectors + R x T accumulators stay in registers */
        for (int c = 0; c < 4; c++) {
            __m256 wc[KX_RFD];
            for (int i = 0; i < R; i++)
                wc[i] = conv ? load8_f(type, w0 + (size_t)i * rs + (size_t)j * bs, 8 * c)
                             : wv[i][c];
            for (int u = 0; u < T; u++) {
                __m256 xc = _mm256_loadu_ps(x + (t + u) * n_cols + 32 * j + 8 * c);
                for (int i = 0; i < R; i++)
                    acc[i][u] = _mm256_fmadd_ps(wc[i], xc, acc[i][u]);
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int u = 0; u < T; u++) {
            float s = hsum(acc[i][u]);
            /* F32/F16/BF16 rows may end in a partial group (never packed ones) */
            const uint8_t *row = w0 + (size_t)i * rs;
            const float *xt = x + (t + u) * n_cols;
            for (int64_t k = nb * 32; k < n_cols; k++)
                s += elem_f(type, row, k) * xt[k];
            y[(t + u) * n_rows + r + i] = s;
        }
}

/* Bytes of 32 values of a float type in the file's layout (0: not a float type). */
KX_INLINE size_t f_block_bytes(const int type)
{
    return type == QUANT_TYPE_F32 ? 128 : type == QUANT_TYPE_F16 || type == QUANT_TYPE_BF16 ? 64 : 0;
}

KX_INLINE void tile_f(const int type, const int R, const int T, float *y, const uint8_t *w,
                      size_t row_bytes, const float *x, int64_t n_cols, int64_t n_rows, int64_t r,
                      int64_t t)
{
    struct kx_pf none = {NULL, NULL, 0};
    tile_f_pf(type, R, T, y, w + (size_t)r * row_bytes, row_bytes, f_block_bytes(type), x, n_cols,
              n_rows, r, t, none);
}

KX_INLINE void rows_f(const int type, float *y, const uint8_t *w, size_t row_bytes, const float *x,
                      int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1)
{
    for (int64_t tc = 0; tc < n_tok; tc += KX_TCF) {
        int64_t te = tc + KX_TCF < n_tok ? tc + KX_TCF : n_tok;
        int64_t r = r0;
        /* Float decode: 8 rows per tile, the rows two tiles ahead prefetched into L2
         * (into L1 it measured slower than none: F16 decode 17 -> 13 GB/s; into L2, F16
         * 131072 x 2048 went 26-27 -> 30-39 GB/s, and 2b F16 tg 4.7-5.1 -> 5.8-8.3) */
        if (te - tc == 1 && f_block_bytes(type) != 0)
            for (; r + KX_RFD <= r1; r += KX_RFD) {
                struct kx_pf pf = pf_ahead(w, row_bytes, r, KX_RFD, r1, n_cols / 32);
                tile_f_pf(type, KX_RFD, 1, y, w + (size_t)r * row_bytes, row_bytes,
                          f_block_bytes(type), x, n_cols, n_rows, r, tc, pf);
            }
        for (; r + KX_RT <= r1; r += KX_RT) {
            if (te - tc <= 2 && type != QUANT_TYPE_F32 && type != QUANT_TYPE_F16 &&
                type != QUANT_TYPE_BF16)
                prefetch_rows(w, row_bytes, r + 2 * KX_RT, KX_RT, r1);
            int64_t t = tc;
            /* prompts: the next rows into L2 across this tile's token loop, so that
             * each new tile does not wait for its first lines */
            struct kx_pf pf = {NULL, NULL, 0};
            if (te - tc > 2 && f_block_bytes(type) != 0)
                pf = pf_ahead(w, row_bytes, r, KX_RT, r1, (te - tc) / KX_TTF + 1);
            for (; t + KX_TTF <= te; t += KX_TTF) {
                pf_step_to(&pf, true);
                tile_f(type, KX_RT, KX_TTF, y, w, row_bytes, x, n_cols, n_rows, r, t);
            }
            for (; t < te; t++)
                tile_f(type, KX_RT, 1, y, w, row_bytes, x, n_cols, n_rows, r, t);
        }
        for (; r < r1; r++) {
            int64_t t = tc;
            for (; t + KX_TTF <= te; t += KX_TTF)
                tile_f(type, 1, KX_TTF, y, w, row_bytes, x, n_cols, n_rows, r, t);
            for (; t < te; t++)
                tile_f(type, 1, 1, y, w, row_bytes, x, n_cols, n_rows, r, t);
        }
    }
}

/* ---- one instance per type -------------------------------------------------------------- */

#define KX_ARGS_DECL                                                                               \
    float *y, const uint8_t *w, size_t row_bytes, const float *x, const struct blk_a8 *act,        \
        int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1

#define KX_INST_INT(NAME, TYPE)                                                                    \
    static void KX(NAME##_int)(KX_ARGS_DECL)                                                       \
    {                                                                                              \
        rows_int(TYPE, y, w, row_bytes, act, n_rows, n_cols, n_tok, r0, r1);                       \
    }
#define KX_INST_F(NAME, TYPE)                                                                      \
    static void KX(NAME##_f)(KX_ARGS_DECL)                                                         \
    {                                                                                              \
        rows_f(TYPE, y, w, row_bytes, x, n_rows, n_cols, n_tok, r0, r1);                           \
    }

KX_INST_INT(q4_0, QUANT_TYPE_Q4_0)
KX_INST_INT(q4_1, QUANT_TYPE_Q4_1)
KX_INST_INT(q5_0, QUANT_TYPE_Q5_0)
KX_INST_INT(q5_1, QUANT_TYPE_Q5_1)
KX_INST_INT(q8_0, QUANT_TYPE_Q8_0)
KX_INST_INT(q4_k, QUANT_TYPE_Q4_K)
KX_INST_INT(q5_k, QUANT_TYPE_Q5_K)
KX_INST_INT(q6_k, QUANT_TYPE_Q6_K)
KX_INST_F(f32, QUANT_TYPE_F32)
KX_INST_F(f16, QUANT_TYPE_F16)
KX_INST_F(bf16, QUANT_TYPE_BF16)
KX_INST_F(q4_0, QUANT_TYPE_Q4_0)
KX_INST_F(q4_1, QUANT_TYPE_Q4_1)
KX_INST_F(q5_0, QUANT_TYPE_Q5_0)
KX_INST_F(q5_1, QUANT_TYPE_Q5_1)
KX_INST_F(q8_0, QUANT_TYPE_Q8_0)
KX_INST_F(q4_k, QUANT_TYPE_Q4_K)
KX_INST_F(q5_k, QUANT_TYPE_Q5_K)
KX_INST_F(q6_k, QUANT_TYPE_Q6_K)

int KX(kern_rows)(float *y, const void *w, int type, const float *x, const struct blk_a8 *act,
                  int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1)
{
    size_t rb;
    if (!quant_row_bytes(type, n_cols, &rb))
        return -1;
    const uint8_t *wb = w;
    void (*fn)(KX_ARGS_DECL) = NULL;
    if (act) {
        switch (type) {
        case QUANT_TYPE_Q4_0:
            fn = KX(q4_0_int);
            break;
        case QUANT_TYPE_Q4_1:
            fn = KX(q4_1_int);
            break;
        case QUANT_TYPE_Q5_0:
            fn = KX(q5_0_int);
            break;
        case QUANT_TYPE_Q5_1:
            fn = KX(q5_1_int);
            break;
        case QUANT_TYPE_Q8_0:
            fn = KX(q8_0_int);
            break;
        case QUANT_TYPE_Q4_K:
            fn = KX(q4_k_int);
            break;
        case QUANT_TYPE_Q5_K:
            fn = KX(q5_k_int);
            break;
        case QUANT_TYPE_Q6_K:
            fn = KX(q6_k_int);
            break;
        default:
            break;
        }
    }
    if (!fn) {
        switch (type) {
        case QUANT_TYPE_F32:
            fn = KX(f32_f);
            break;
        case QUANT_TYPE_F16:
            fn = KX(f16_f);
            break;
        case QUANT_TYPE_BF16:
            fn = KX(bf16_f);
            break;
        case QUANT_TYPE_Q4_0:
            fn = KX(q4_0_f);
            break;
        case QUANT_TYPE_Q4_1:
            fn = KX(q4_1_f);
            break;
        case QUANT_TYPE_Q5_0:
            fn = KX(q5_0_f);
            break;
        case QUANT_TYPE_Q5_1:
            fn = KX(q5_1_f);
            break;
        case QUANT_TYPE_Q8_0:
            fn = KX(q8_0_f);
            break;
        case QUANT_TYPE_Q4_K:
            fn = KX(q4_k_f);
            break;
        case QUANT_TYPE_Q5_K:
            fn = KX(q5_k_f);
            break;
        case QUANT_TYPE_Q6_K:
            fn = KX(q6_k_f);
            break;
        default:
            return -1;
        }
    }
    fn(y, wb, rb, x, act, n_rows, n_cols, n_tok, r0, r1);
    return 0;
}

/* ---- packed weights (kern_pack.c; layouts in kern_int.h) -------------------------------- */

/* Loops over vectors, groups and tokens are unrolled so that a block's vectors and the
 * accumulators stay in registers (GCC at -O2 keeps them on the stack otherwise). */
#define KP_UNROLL _Pragma("GCC unroll 8")

/* Token tile of the packed kernels' prompt path. */
#if KX_LEVEL == 512
#define KP_PT 8
#else
#define KP_PT 4
#endif

/* One packed block of 8 rows x 32 values, ready for any number of tokens: vector k (lane
 * r = row r) meets activation chunk k (bytes 4k .. 4k+3). Levels are unsigned with the
 * type's offset taken out by the correction of kp_dot (Q4_0: 0..15, offset 8; Q5_0: 0..31,
 * offset 16; Q6_K: 0..63, offset 32; Q8_0 on VNNI: q + 128, offset 128), except Q8_0 on
 * AVX2 (signed, no offset) and Q4_K, Q4_1 / Q5_K, Q5_1 (0..15 / 0..31, no offset: kp_acc
 * applies their mins and offsets). */
struct kpw {
    __m256i v[8];
    __m256 ds;        /* the rows' scales d */
    __m256 dm;        /* Q4_K, Q5_K: the rows' dmin; Q4_1, Q5_1: their offsets m */
    __m256i sc0, sc1; /* Q6_K: the rows' int8 scales of values 0..15 and 16..31;
                       * Q4_K, Q5_K: the rows' 6-bit scale and min of this group */
};

KX_INLINE __m256i kp_nib_lo(__m256i b)
{
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}
KX_INLINE __m256i kp_nib_hi(__m256i b)
{
    return _mm256_and_si256(_mm256_srli_epi16(b, 4), _mm256_set1_epi8(0x0F));
}

/* Block g (0..7) of a Q4_K super-block: its scales, mins and levels (not d, dmin). */
KX_INLINE void kp_unpack_q4_k(const struct blk_q4_kx8 *b, int g, struct kpw *o)
{
    o->sc0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)b->sc[g]));
    o->sc1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)b->m[g]));
    KP_UNROLL
    for (int c = 0; c < 4; c++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs[g] + 32 * c));
        o->v[c] = kp_nib_lo(q);
        o->v[c + 4] = kp_nib_hi(q);
    }
}

/* The levels of 8 rows x 32 values (0..31) from Q4_0 x8's nibbles and Q5_0 x8's 5th bits:
 * vector k takes bit k of each qh byte to bit 4. */
KX_INLINE void kp_levels5(const uint8_t *qs, const uint8_t *qh, struct kpw *o)
{
    const __m256i h = _mm256_loadu_si256((const __m256i *)qh), m = _mm256_set1_epi8(0x10);
    KP_UNROLL
    for (int c = 0; c < 4; c++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i hl = c == 0 ? _mm256_slli_epi16(h, 4) : _mm256_slli_epi16(h, 4 - c);
        __m256i hh = c == 0 ? h : _mm256_srli_epi16(h, c);
        o->v[c] = _mm256_or_si256(kp_nib_lo(q), _mm256_and_si256(hl, m));
        o->v[c + 4] = _mm256_or_si256(kp_nib_hi(q), _mm256_and_si256(hh, m));
    }
}

/* Block g (0..7) of a Q5_K super-block: its scales, mins and levels (not d, dmin). */
KX_INLINE void kp_unpack_q5_k(const struct blk_q5_kx8 *b, int g, struct kpw *o)
{
    o->sc0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)b->sc[g]));
    o->sc1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)b->m[g]));
    kp_levels5(b->g[g].qs, b->g[g].qh, o);
}

/* Block g (0..7) of a Q6_K super-block: its scales and levels (not d). */
KX_INLINE void kp_unpack_q6_k(const struct blk_q6_kx8 *b, int g, struct kpw *o)
{
    o->sc0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b->sc + 16 * g)));
    o->sc1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b->sc + 16 * g + 8)));
    const __m256i m = _mm256_set1_epi8(0x30);
    KP_UNROLL
    for (int v = 0; v < 2; v++) {
        /* bits 2c..2c+1 of each byte -> bits 4..5 */
        __m256i h = _mm256_loadu_si256((const __m256i *)(b->g[g].qh + 32 * v));
        __m256i hb[4] = {_mm256_and_si256(_mm256_slli_epi16(h, 4), m),
                         _mm256_and_si256(_mm256_slli_epi16(h, 2), m), _mm256_and_si256(h, m),
                         _mm256_and_si256(_mm256_srli_epi16(h, 2), m)};
        KP_UNROLL
        for (int c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(b->g[g].ql + 32 * c));
            o->v[4 * v + c] = _mm256_or_si256(v ? kp_nib_hi(q) : kp_nib_lo(q), hb[c]);
        }
    }
}

/* A Q4_K / Q5_K / Q6_K super-block's row scales d (and dmin), shared by its 8 blocks. */
KX_INLINE void kp_unpack_sb_scales(const int type, const uint8_t *sb, struct kpw *o)
{
    if (type == QUANT_TYPE_Q4_K || type == QUANT_TYPE_Q5_K) {
        /* Q5_K x8 begins as Q4_K x8 does */
        const struct blk_q4_kx8 *b = (const struct blk_q4_kx8 *)sb;
        o->ds = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
        o->dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->dmin));
    } else {
        o->ds =
            _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const struct blk_q6_kx8 *)sb)->d));
    }
}

/* The levels of 8 rows x 32 values (0..15) from Q4_0 x8's nibbles. */
KX_INLINE void kp_levels4(const uint8_t *qs, struct kpw *o)
{
    KP_UNROLL
    for (int c = 0; c < 4; c++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        o->v[c] = kp_nib_lo(q);
        o->v[c + 4] = kp_nib_hi(q);
    }
}

/* Block j of the group whose packed data starts at wg: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (the
 * super-block types go through kp_unpack_q4_k / q5_k / q6_k, see kp_tile). */
KX_INLINE void kp_unpack(const int type, const uint8_t *wg, int64_t j, struct kpw *o)
{
    if (type == QUANT_TYPE_Q4_0) {
        const struct blk_q4_0x8 *b = (const struct blk_q4_0x8 *)wg + j;
        o->ds = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
        kp_levels4(b->qs, o);
    } else if (type == QUANT_TYPE_Q4_1) {
        const struct blk_q4_1x8 *b = (const struct blk_q4_1x8 *)wg + j;
        o->ds = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
        o->dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->m));
        kp_levels4(b->qs, o);
    } else if (type == QUANT_TYPE_Q5_0) { /* levels 0..31: the nibble, bit 4 from qh */
        const struct blk_q5_0x8 *b = (const struct blk_q5_0x8 *)wg + j;
        o->ds = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
        kp_levels5(b->qs, b->qh, o);
    } else if (type == QUANT_TYPE_Q5_1) {
        const struct blk_q5_1x8 *b = (const struct blk_q5_1x8 *)wg + j;
        o->ds = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
        o->dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->m));
        kp_levels5(b->qs, b->qh, o);
    } else { /* Q8_0 */
        const struct blk_q8_0x8 *b = (const struct blk_q8_0x8 *)wg + j;
        o->ds = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
        KP_UNROLL
        for (int c = 0; c < 8; c++) {
            o->v[c] = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * c));
#if KX_LEVEL == 512
            o->v[c] = _mm256_xor_si256(o->v[c], _mm256_set1_epi8((char)0x80));
#endif
        }
    }
}

/* Activation chunk c (bytes 4c .. 4c+3) in every lane: one broadcast load. */
KX_INLINE __m256i kp_x(const int8_t *qs, int c)
{
    int32_t v;
    memcpy(&v, qs + 4 * c, 4);
    return _mm256_set1_epi32(v);
}

/* acc + the dot products of vectors [k0, k0 + n) with activation chunks [k0, k0 + n). */
KX_INLINE __m256i kp_dot_part(const int type, const struct kpw *w, const int8_t *x4, int k0,
                              int n, __m256i acc)
{
#if KX_LEVEL == 512
    (void)type;
    /* two chains (n is 4 or 8): one chain of 8 dependent vpdpbusd held a decode tile to
     * their latency; integer sums, so the split changes no bit */
    __m256i odd = _mm256_setzero_si256();
    KP_UNROLL
    for (int c = k0; c < k0 + n; c += 2) {
        acc = _mm256_dpbusd_epi32(acc, w->v[c], kp_x(x4, c));
        odd = _mm256_dpbusd_epi32(odd, w->v[c + 1], kp_x(x4, c + 1));
    }
    return _mm256_add_epi32(acc, odd);
#else
    const __m256i ones = _mm256_set1_epi16(1);
    if (type == QUANT_TYPE_Q8_0) {
        KP_UNROLL
        for (int c = k0; c < k0 + n; c++) {
            __m256i x = kp_x(x4, c);
            __m256i p =
                _mm256_maddubs_epi16(_mm256_sign_epi8(w->v[c], w->v[c]), _mm256_sign_epi8(x, w->v[c]));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
        }
        return acc;
    }
    /* levels <= 63: a maddubs pair stays within 63 * 127 * 2, two of them below 2^15 */
    KP_UNROLL
    for (int c = k0; c < k0 + n; c += 2) {
        __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(w->v[c], kp_x(x4, c)),
                                     _mm256_maddubs_epi16(w->v[c + 1], kp_x(x4, c + 1)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
    }
    return acc;
#endif
}

/* The exact integer dot products of the 8 rows' block with activation block a, one per
 * lane, in units of d * a.d: sum of (level - offset) * x, Q6_K's scales applied to their
 * 16 values each. */
KX_INLINE __m256i kp_dot(const int type, const struct kpw *w, const struct blk_a8 *a)
{
    const int8_t *x4 = a->qs;
    if (type == QUANT_TYPE_Q6_K) {
        /* offset 32 per half: sum(x) of values 0..15 and 16..31 */
        __m256i h0 = kp_dot_part(type, w, x4, 0, 4,
                                 _mm256_set1_epi32(-(int32_t)((uint32_t)a->isum_lo << 5)));
        __m256i h1 = kp_dot_part(
            type, w, x4, 4, 4, _mm256_set1_epi32(-(int32_t)((uint32_t)(a->isum - a->isum_lo) << 5)));
        return _mm256_add_epi32(_mm256_mullo_epi32(h0, w->sc0), _mm256_mullo_epi32(h1, w->sc1));
    }
    /* levels with no offset: the min (Q4_K, Q5_K) or offset m (Q4_1, Q5_1) is kp_acc's */
    if (type == QUANT_TYPE_Q4_K || type == QUANT_TYPE_Q5_K)
        return _mm256_mullo_epi32(kp_dot_part(type, w, x4, 0, 8, _mm256_setzero_si256()), w->sc0);
    if (type == QUANT_TYPE_Q4_1 || type == QUANT_TYPE_Q5_1)
        return kp_dot_part(type, w, x4, 0, 8, _mm256_setzero_si256());
#if KX_LEVEL == 512
    const int sh = type == QUANT_TYPE_Q4_0 ? 3 : type == QUANT_TYPE_Q5_0 ? 4 : 7;
#else /* AVX2 keeps Q8_0 signed */
    const int sh = type == QUANT_TYPE_Q4_0 ? 3 : type == QUANT_TYPE_Q5_0 ? 4 : 0;
#endif
    __m256i corr = sh ? _mm256_set1_epi32(-(int32_t)((uint32_t)a->isum << sh))
                      : _mm256_setzero_si256();
    return kp_dot_part(type, w, x4, 0, 8, corr);
}

/* acc + the block's contribution: the integer dot converted, times (d * a.d), with one
 * FMA; Q4_K and Q5_K then subtract dmin * m * sum(x) * a.d (exact integer m * sum(x)),
 * Q4_1 and Q5_1 add m * a.s (a.s = a.d * sum(x), as the row layout's kernels use it). */
KX_INLINE __m256 kp_acc(const int type, const struct kpw *w, const struct blk_a8 *a, __m256 acc)
{
    __m256 dx = _mm256_broadcast_ss(&a->d);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(kp_dot(type, w, a)), _mm256_mul_ps(w->ds, dx), acc);
    if (type == QUANT_TYPE_Q4_1 || type == QUANT_TYPE_Q5_1)
        acc = _mm256_fmadd_ps(w->dm, _mm256_broadcast_ss(&a->s), acc);
    if (type == QUANT_TYPE_Q4_K || type == QUANT_TYPE_Q5_K) {
        __m256i ms = _mm256_mullo_epi32(w->sc1, _mm256_set1_epi32(a->isum));
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ms), _mm256_mul_ps(w->dm, dx), acc);
    }
    return acc;
}

/* Group g (8 rows) x tokens [t0, t0 + PT): per output, block by block, the exact integer
 * dot, converted, times (row scale * activation scale), added with one FMA: the same
 * sequence for every tile shape. */
KX_INLINE void kp_tile(const int type, const int PT, float *y, const uint8_t *w,
                       size_t group_bytes, const struct blk_a8 *act, int64_t nb, int64_t n_rows,
                       int64_t g, int64_t t0)
{
    __m256 acc[KP_PT];
    KP_UNROLL
    for (int t = 0; t < PT; t++)
        acc[t] = _mm256_setzero_ps();
    if (type == QUANT_TYPE_Q4_K || type == QUANT_TYPE_Q5_K || type == QUANT_TYPE_Q6_K) {
        /* super-block by super-block: its d (and dmin) converted once for its 8 blocks,
         * not per block (same arithmetic) */
        const uint8_t *sb = w + (size_t)g * group_bytes;
        const size_t sb_bytes = type == QUANT_TYPE_Q4_K   ? sizeof(struct blk_q4_kx8)
                                : type == QUANT_TYPE_Q5_K ? sizeof(struct blk_q5_kx8)
                                                          : sizeof(struct blk_q6_kx8);
        for (int64_t j = 0; j < nb; j += 8, sb += sb_bytes) {
            struct kpw kw;
            kp_unpack_sb_scales(type, sb, &kw);
            for (int k = 0; k < 8; k++) {
                if (type == QUANT_TYPE_Q4_K)
                    kp_unpack_q4_k((const struct blk_q4_kx8 *)sb, k, &kw);
                else if (type == QUANT_TYPE_Q5_K)
                    kp_unpack_q5_k((const struct blk_q5_kx8 *)sb, k, &kw);
                else
                    kp_unpack_q6_k((const struct blk_q6_kx8 *)sb, k, &kw);
                KP_UNROLL
                for (int t = 0; t < PT; t++)
                    acc[t] = kp_acc(type, &kw, act + (t0 + t) * nb + j + k, acc[t]);
            }
        }
    } else {
        for (int64_t j = 0; j < nb; j++) {
            struct kpw kw;
            kp_unpack(type, w + (size_t)g * group_bytes, j, &kw);
            KP_UNROLL
            for (int t = 0; t < PT; t++)
                acc[t] = kp_acc(type, &kw, act + (t0 + t) * nb + j, acc[t]);
        }
    }
    KP_UNROLL
    for (int t = 0; t < PT; t++)
        _mm256_storeu_ps(y + (t0 + t) * n_rows + 8 * g, acc[t]);
}

KX_INLINE void kp_rows(const int type, float *y, const struct kern_packed *w,
                       const struct blk_a8 *act, int64_t n_tok, int64_t r0, int64_t r1)
{
    const int64_t nb = w->n_cols / 32; /* activation blocks */
    /* a group of 8 rows: the packed bytes are exactly n_rows / 8 of them (kern_pack.c) */
    const size_t group_bytes = w->bytes / (size_t)(w->n_rows / 8);
    const uint8_t *wg = w->data;
    int64_t g = r0 / 8, g_end = r1 / 8;
    if (n_tok == 1) {
        /* decoding streams the weights once from DRAM: one group at a time reads the
         * thread's rows as one sequential stream, which the hardware prefetchers follow
         * at a plain stream's rate (one core, Q4_0 131072 x 2048: 30.1-30.7 GB/s). Four
         * groups per tile (sharing each activation block) were four streams 9 KB apart,
         * and needed software prefetches that held one core to 24.5-25.6 GB/s (17 without
         * them); they computed faster from L3 (48.9 vs 42.0), where decoding never is */
        for (; g < g_end; g++)
            kp_tile(type, 1, y, wg, group_bytes, act, nb, w->n_rows, g, 0);
        return;
    }
    /* prompts: one group's weights (in L1/L2) against KP_PT tokens at a time */
    for (; g < g_end; g++) {
        int64_t t = 0;
        for (; t + KP_PT <= n_tok; t += KP_PT)
            kp_tile(type, KP_PT, y, wg, group_bytes, act, nb, w->n_rows, g, t);
        for (; t < n_tok; t++)
            kp_tile(type, 1, y, wg, group_bytes, act, nb, w->n_rows, g, t);
    }
}

/* Packed F16 / BF16 (kern_int.h): the float path's tiles on the grouped layout. Decoding
 * takes a whole group (8 rows, one contiguous stream) per tile, with no software
 * prefetch: the hardware prefetchers follow the one stream faster than they did with it
 * (one core, F16 131072 x 640 from DRAM: 22.4-23.5 -> 25.2-27.3 GB/s); prompts take half
 * a group against KX_TTF tokens, KX_TC tokens per chunk. */
KX_INLINE void kp_rows_f(const int type, float *y, const struct kern_packed *w, const float *x,
                         int64_t n_tok, int64_t r0, int64_t r1)
{
    const int64_t n_rows = w->n_rows, n_cols = w->n_cols, nb = n_cols / 32;
    const size_t gb = (size_t)nb * KERN_PACK_F_BLOCK;
    const uint8_t *d = w->data;
    const int64_t g0 = r0 / 8, g1 = r1 / 8;
    struct kx_pf none = {NULL, NULL, 0};
    for (int64_t tc = 0; tc < n_tok; tc += KX_TC) {
        int64_t te = tc + KX_TC < n_tok ? tc + KX_TC : n_tok;
        if (te - tc == 1) {
            for (int64_t g = g0; g < g1; g++)
                tile_f_pf(type, KX_RFD, 1, y, d + (size_t)g * gb, 64, KERN_PACK_F_BLOCK, x,
                          n_cols, n_rows, 8 * g, tc, none);
            continue;
        }
        for (int64_t g = g0; g < g1; g++) {
            const uint8_t *w0 = d + (size_t)g * gb;
            int64_t t = tc;
            for (; t + KP_FT <= te; t += KP_FT)
                tile_f_pf(type, KX_RFD, KP_FT, y, w0, 64, KERN_PACK_F_BLOCK, x, n_cols, n_rows,
                          8 * g, t, none);
            for (; t < te; t++)
                tile_f_pf(type, KX_RFD, 1, y, w0, 64, KERN_PACK_F_BLOCK, x, n_cols, n_rows, 8 * g,
                          t, none);
        }
    }
}

void KX(kern_rows_packed)(float *y, const struct kern_packed *w, const float *x,
                          const struct blk_a8 *act, int64_t n_tok, int64_t r0, int64_t r1)
{
    if (w->type == QUANT_TYPE_F16)
        kp_rows_f(QUANT_TYPE_F16, y, w, x, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_BF16)
        kp_rows_f(QUANT_TYPE_BF16, y, w, x, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_Q4_0)
        kp_rows(QUANT_TYPE_Q4_0, y, w, act, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_Q5_0)
        kp_rows(QUANT_TYPE_Q5_0, y, w, act, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_Q4_1)
        kp_rows(QUANT_TYPE_Q4_1, y, w, act, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_Q5_1)
        kp_rows(QUANT_TYPE_Q5_1, y, w, act, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_Q8_0)
        kp_rows(QUANT_TYPE_Q8_0, y, w, act, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_Q4_K)
        kp_rows(QUANT_TYPE_Q4_K, y, w, act, n_tok, r0, r1);
    else if (w->type == QUANT_TYPE_Q5_K)
        kp_rows(QUANT_TYPE_Q5_K, y, w, act, n_tok, r0, r1);
    else
        kp_rows(QUANT_TYPE_Q6_K, y, w, act, n_tok, r0, r1);
}

#if KX_LEVEL != 512
/* Same numbers as kern_quantize_a8_ref: amax, d = amax/127, q = nearest-even(x * 127/amax)
 * (cvtps rounds to nearest even under the default MXCSR, as lrintf does). */
void kern_quant_a8_avx2(const float *x, struct blk_a8 *y, int64_t n)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        __m256 v[4];
        __m256 mx = _mm256_setzero_ps();
        for (int c = 0; c < 4; c++) {
            v[c] = _mm256_loadu_ps(x + 8 * c);
            mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[c]));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float d = amax / 127.0f;
        float id = d != 0.0f ? 127.0f / amax : 0.0f;
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        __m256i sum = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            q[c] = _mm256_cvtps_epi32(_mm256_mul_ps(v[c], vid));
            sum = _mm256_add_epi32(sum, q[c]);
        }
        /* int32 x 32 -> int8 x 32 in order: packs interleave 128-bit lanes, undo it */
        __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
        __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[i].qs, p);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_srli_si128(s4, 8));
        s4 = _mm_add_epi32(s4, _mm_srli_si128(s4, 4));
        y[i].d = d;
        y[i].isum = _mm_cvtsi128_si32(s4);
        /* values 0..15 are q[0] and q[1]'s int32 lanes */
        __m256i lo = _mm256_add_epi32(q[0], q[1]);
        __m128i l4 = _mm_add_epi32(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
        l4 = _mm_add_epi32(l4, _mm_srli_si128(l4, 8));
        l4 = _mm_add_epi32(l4, _mm_srli_si128(l4, 4));
        y[i].isum_lo = _mm_cvtsi128_si32(l4);
        y[i].s = d * (float)y[i].isum;
    }
}
#endif

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif /* x86 */
