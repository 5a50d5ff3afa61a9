/*
 * engine/kern_int.h - internal to engine/quant.c and engine/kern*.c: the on-disk block
 * layouts of the quantized types (byte-exact to ggml's src/ggml-common.h, checked by
 * _Static_assert in quant.c), the activation format of the integer dot-product path,
 * and the per-ISA kernel entry points that kern.c dispatches to.
 *
 * No other room includes this file.
 */
#ifndef ASSAY_ENGINE_KERN_INT_H
#define ASSAY_ENGINE_KERN_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/kern.h"
#include "engine/quant.h"

#define QK4_0        32
#define QK4_1        32
#define QK5_0        32
#define QK5_1        32
#define QK8_0        32
#define QK_K         256
#define K_SCALE_SIZE 12

/* Q4_0: value = (q - 8) * d; qs[j] low nibble = element j, high nibble = element j+16. */
struct blk_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
};
/* Q4_1: value = q * d + m. */
struct blk_q4_1 {
    uint16_t d, m;
    uint8_t qs[QK4_1 / 2];
};
/* Q5_0: value = (q - 16) * d; bit j of qh (little-endian u32) is bit 4 of element j. */
struct blk_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[QK5_0 / 2];
};
/* Q5_1: value = q * d + m. */
struct blk_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
};
/* Q8_0: value = q * d. */
struct blk_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
};
/* Q4_K: 8 sub-blocks of 32 with 6-bit scales and mins packed in scales[12];
 * value = d * sc * q - dmin * m. qs: per 64 elements, 32 bytes: low nibbles are
 * elements 0..31 of the chunk, high nibbles 32..63. */
struct blk_q4_k {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
};
/* Q5_K: as Q4_K plus a fifth bit per element in qh (bit 2j / 2j+1 of qh[l] for the low /
 * high half of 64-element chunk j). */
struct blk_q5_k {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};
/* Q6_K: 16 sub-blocks of 16 with int8 scales; value = d * sc * (q - 32). */
struct blk_q6_k {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
};
/* Q8_K (activations in ggml): value = q * d; bsums = sums of each 16 q. */
struct blk_q8_k {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
};

/*
 * Activations of the integer path (our own format, never on disk): one block per 32
 * values, q in [-127, 127], value = q * d. `s` is d * sum(q), used for weight types
 * with an offset (Q4_1, Q5_1, Q4_K, Q5_K). Scales are float, not f16 as in ggml's
 * Q8_0/Q8_1, so the rounding of activations is a little finer than llama.cpp's.
 */
struct blk_a8 {
    float d;
    float s;
    int32_t isum;    /* sum(q), exact: the packed kernels' offset correction */
    int32_t isum_lo; /* sum of q[0..15] (Q6_K's scales cover 16 values) */
    int8_t qs[32];
};

/*
 * Packed weights (kern_pack.c, kern.h's struct kern_packed): rows in groups of 8, and for
 * each group its blocks in order, each an 8-row block. In the quants, 4-byte chunk k of
 * row r sits at byte 32 * k' + 4 * r, so that a 32-byte load holds one chunk of each row
 * (lane r = row r) and one broadcast activation chunk dots all 8 rows:
 *  - Q4_0 x8: the 16 bytes of row r's qs split in 4 chunks; chunk c (c = 0..3) at 32 * c.
 *    Its low nibbles are elements 4c..4c+3 and its high nibbles 16+4c..16+4c+3, so they
 *    meet activation bytes 4c.. and 16+4c.. (activation chunks c and c + 4).
 *  - Q8_0 x8: the 32 bytes of row r in 8 chunks; chunk c at 32 * c meets activation
 *    chunk c.
 * d[r] is row r's f16 scale.
 *  - Q6_K x8 (256 values per row, 8 activation blocks): d[8]; the 16 int8 scales of each
 *    row as sc[16][8] (scale s of row r at 8s + r); then per group of 32 values g, 192
 *    bytes: 128 of low nibbles laid out as Q4_0 x8's qs, and 64 of high 2-bit pairs in
 *    two vectors: vector v lane r byte b holds, at bits 2c..2c+1, the high bits of value
 *    16v + 4c + b of the group (c = 0..3).
 */
struct blk_q4_0x8 {
    uint16_t d[8];
    uint8_t qs[128];
};
struct blk_q8_0x8 {
    uint16_t d[8];
    int8_t qs[256];
};
/* Q5_0 x8: qs as Q4_0 x8's (the low 4 bits of each level), then one bit per value: lane
 * r byte b of qh holds at bit k the 5th bit of value 4k + b of row r, the value that
 * byte b of lane r of unpacked vector k holds (so vector k takes its bits with one
 * shift). 176 bytes, the same as the 8 rows' blocks. */
struct blk_q5_0x8 {
    uint16_t d[8];
    uint8_t qs[128];
    uint8_t qh[32];
};
/* Q4_1 x8 and Q5_1 x8: Q4_0 x8 and Q5_0 x8 with the rows' offsets m after their scales.
 * 160 and 192 bytes, the same as the 8 rows' blocks. */
struct blk_q4_1x8 {
    uint16_t d[8], m[8];
    uint8_t qs[128];
};
struct blk_q5_1x8 {
    uint16_t d[8], m[8];
    uint8_t qs[128];
    uint8_t qh[32];
};
/* Q4_K x8: per super-block d[8], dmin[8], the 6-bit scales and mins unpacked to bytes as
 * [group][row], then each group's 32 levels (0..15) laid out as Q4_0 x8's qs. 1184
 * bytes for 8 rows' 1152. */
struct blk_q4_kx8 {
    uint16_t d[8], dmin[8];
    uint8_t sc[8][8];
    uint8_t m[8][8];
    uint8_t qs[8][128];
};
/* Q5_K x8: as Q4_K x8, but each group's levels (0..31) as Q5_0 x8's qs and qh, one after
 * the other. 1440 bytes for 8 rows' 1408. */
struct blk_q5_kx8 {
    uint16_t d[8], dmin[8];
    uint8_t sc[8][8];
    uint8_t m[8][8];
    struct {
        uint8_t qs[128];
        uint8_t qh[32];
    } g[8];
};
struct blk_q6_kx8 {
    uint16_t d[8];
    int8_t sc[16 * 8];
    struct {
        uint8_t ql[128];
        uint8_t qh[64];
    } g[8];
};

/* F16 / BF16 packed: per group of 8 rows, per block of 32 columns, the 8 rows' 32 values
 * one row after the other (512 bytes; a block of one row is one cache line). The values
 * and their order within a row are the file's: only where rows sit changes, so the float
 * kernels compute exactly what they compute on the row layout, from one contiguous
 * stream per group instead of 8 short ones. */
#define KERN_PACK_F_BLOCK 512

/* The per-ISA packed matmul: rows [r0, r1) (multiples of 8) of y for all n_tok tokens
 * from w (struct kern_packed) and the quantized activations act (integer types) or the
 * float activations x (F16, BF16). */
typedef void (*kern_rows_packed_fn)(float *y, const struct kern_packed *w, const float *x,
                                    const struct blk_a8 *act, int64_t n_tok, int64_t r0,
                                    int64_t r1);

/* The integer path quantizes each token's row of n_cols values to nb = n_cols/32 blk_a8.
 * In the scratch, the n_tok * nb blocks are followed by n_tok rows of kern_a8_nb8(nb)
 * floats: the blocks' s values, zero-padded to a multiple of 8, so that kernels can load
 * the sums of 8 consecutive blocks as one vector (offset types: Q4_1, Q5_1, Q4_K, Q5_K). */
static inline int64_t kern_a8_nb8(int64_t nb)
{
    return (nb + 7) & ~(int64_t)7;
}

void kern_quantize_a8_ref(const float *x, struct blk_a8 *y, int64_t n);

/* 6-bit scale j and min j of a Q4_K / Q5_K block (ggml's get_scale_min_k4 layout). */
static inline void kq_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static inline float kq_f16(uint16_t h)
{
    return quant_f16_to_f32(h);
}

/*
 * The per-ISA matmul. Each computes rows [r0, r1) of y for all n_tok tokens.
 * `act` is the activation block array (n_tok * n_cols/32 blk_a8) for the integer path,
 * NULL for the float path. Return 0, or -1 if the type is not handled (caller falls back).
 */
typedef int (*kern_rows_fn)(float *y, const void *w, int type, const float *x,
                            const struct blk_a8 *act, int64_t n_rows, int64_t n_cols, int64_t n_tok,
                            int64_t r0, int64_t r1);

/* Activation quantizer per ISA (same numbers as kern_quantize_a8_ref, bit-exact). */
typedef void (*kern_quant_a8_fn)(const float *x, struct blk_a8 *y, int64_t n);

#if defined(__x86_64__) || defined(__i386__)
int kern_rows_avx2(float *y, const void *w, int type, const float *x, const struct blk_a8 *act,
                   int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1);
int kern_rows_avx512(float *y, const void *w, int type, const float *x, const struct blk_a8 *act,
                     int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1);
void kern_quant_a8_avx2(const float *x, struct blk_a8 *y, int64_t n);
void kern_rows_packed_avx2(float *y, const struct kern_packed *w, const float *x,
                           const struct blk_a8 *act, int64_t n_tok, int64_t r0, int64_t r1);
void kern_rows_packed_avx512(float *y, const struct kern_packed *w, const float *x,
                             const struct blk_a8 *act, int64_t n_tok, int64_t r0, int64_t r1);
#endif
#if defined(__aarch64__)
int kern_rows_neon(float *y, const void *w, int type, const float *x, const struct blk_a8 *act,
                   int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1);
#endif

#endif
