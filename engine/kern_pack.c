/*
 * engine/kern_pack.c - weights repacked for the integer kernels: 8 rows interleaved
 * block by block (layouts in kern_int.h), so a vector lane holds a row and decoding a
 * block of 8 rows needs no shuffles, one scale conversion and one float FMA (kern.h).
 * F16 and BF16 matrices are grouped the same way, 8 rows block by block, each row's 32
 * values kept whole: their kernels then read one stream per 8 rows.
 *
 * Packing is a load-time copy: the packed matrix lives in anonymous memory (huge pages
 * where the kernel gives them) and the mapped file's pages of the matrix are released
 * from this process once copied (the page cache keeps them for the unpacked paths).
 */
#include "base/file.h"
#include "base/mem.h"
#include "engine/kern.h"
#include "engine/kern_int.h"
#include "engine/quant.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <omp.h>

static bool cpu_packed_ok(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
#else
    return false;
#endif
}

static size_t group_block_bytes(int type)
{
    switch (type) {
    case QUANT_TYPE_Q4_0:
        return sizeof(struct blk_q4_0x8);
    case QUANT_TYPE_Q5_0:
        return sizeof(struct blk_q5_0x8);
    case QUANT_TYPE_Q4_1:
        return sizeof(struct blk_q4_1x8);
    case QUANT_TYPE_Q5_1:
        return sizeof(struct blk_q5_1x8);
    case QUANT_TYPE_Q8_0:
        return sizeof(struct blk_q8_0x8);
    case QUANT_TYPE_Q6_K:
        return sizeof(struct blk_q6_kx8);
    case QUANT_TYPE_Q4_K:
        return sizeof(struct blk_q4_kx8);
    case QUANT_TYPE_Q5_K:
        return sizeof(struct blk_q5_kx8);
    case QUANT_TYPE_F16:
    case QUANT_TYPE_BF16:
        return KERN_PACK_F_BLOCK;
    default:
        return 0;
    }
}

static int64_t block_elems(int type)
{
    return type == QUANT_TYPE_Q6_K || type == QUANT_TYPE_Q4_K || type == QUANT_TYPE_Q5_K ? QK_K
                                                                                         : 32;
}

bool kern_pack_supported(int weight_type, int64_t n_rows, int64_t n_cols)
{
    return group_block_bytes(weight_type) != 0 && n_rows > 0 && n_rows % 8 == 0 && n_cols > 0 &&
           n_cols % block_elems(weight_type) == 0 && cpu_packed_ok();
}

/* 32 levels' low 4 bits -> Q4_0 x8's layout for row r: chunk c lane r byte k holds value
 * 4c + k (low nibble) and 16 + 4c + k (high). Value i is the low (hi = 0) or high nibble
 * of q[i]. Eight bytes at a time, in little-endian words (packing runs only where the
 * packed kernels do: x86). */
static void put_nibbles(uint8_t x8[128], int r, const uint8_t *q, int hi)
{
    const uint64_t lo4 = 0x0F0F0F0F0F0F0F0Full;
    for (int h = 0; h < 2; h++) { /* values 8h .. 8h+7 and 16 + 8h .. */
        uint64_t a, b, v;
        memcpy(&a, q + 8 * h, 8);
        memcpy(&b, q + 16 + 8 * h, 8);
        if (hi)
            v = ((a >> 4) & lo4) | (b & ~lo4);
        else
            v = (a & lo4) | ((b & lo4) << 4);
        memcpy(x8 + 64 * h + 4 * r, &v, 4); /* chunk 2h */
        memcpy(x8 + 64 * h + 32 + 4 * r, (const uint8_t *)&v + 4, 4);
    }
}

/* Group g of a Q4_K / Q5_K block: values 32g .. 32g+31, the low nibbles of
 * qs[32 * (g/2) ..] for even g, the high ones for odd g. */
static void put_k_nibbles(uint8_t x8[128], int r, const uint8_t *qs, int g)
{
    put_nibbles(x8, r, qs + 32 * (g / 2), g & 1);
}

/* The 8x8 bit matrix in x (bit j of byte i) transposed (to bit i of byte j). */
static uint64_t transpose_bits8(uint64_t x)
{
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAull;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCull;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ull;
    x ^= t ^ (t << 28);
    return x;
}

static void pack_q4_k(struct blk_q4_kx8 *o, const uint8_t *const rows[8], int64_t sb)
{
    for (int r = 0; r < 8; r++) {
        const struct blk_q4_k *b = (const struct blk_q4_k *)rows[r] + sb;
        o->d[r] = b->d;
        o->dmin[r] = b->dmin;
        for (int g = 0; g < 8; g++) {
            kq_scale_min(g, b->scales, &o->sc[g][r], &o->m[g][r]);
            put_k_nibbles(o->qs[g], r, b->qs, g);
        }
    }
}

/* Q5_0 x8's qh bit k of byte 4r + b is the 5th bit of value 4k + b; a Q5_K block keeps
 * group g's 5th bits as bit g of qh[0..31]. */
static uint8_t get_high_bit(const uint8_t qh[32], int r, int i)
{
    return (uint8_t)((qh[4 * r + (i & 3)] >> (i >> 2)) & 1);
}

static void pack_q5_k(struct blk_q5_kx8 *o, const uint8_t *const rows[8], int64_t sb)
{
    for (int r = 0; r < 8; r++) {
        const struct blk_q5_k *b = (const struct blk_q5_k *)rows[r] + sb;
        o->d[r] = b->d;
        o->dmin[r] = b->dmin;
        for (int g = 0; g < 8; g++) {
            kq_scale_min(g, b->scales, &o->sc[g][r], &o->m[g][r]);
            put_k_nibbles(o->g[g].qs, r, b->qs, g);
        }
        /* byte b: bit g of qh[4k + b] (k = 0..7) -> bit k of group g's byte 4r + b */
        for (int bi = 0; bi < 4; bi++) {
            uint64_t x = 0;
            for (int k = 0; k < 8; k++)
                x |= (uint64_t)b->qh[4 * k + bi] << (8 * k);
            x = transpose_bits8(x);
            for (int g = 0; g < 8; g++)
                o->g[g].qh[4 * r + bi] = (uint8_t)(x >> (8 * g));
        }
    }
}

static void pack_q6_k(struct blk_q6_kx8 *o, const uint8_t *const rows[8], int64_t sb)
{
    const uint64_t m2 = 0x0303030303030303ull;
    for (int r = 0; r < 8; r++) {
        const struct blk_q6_k *b = (const struct blk_q6_k *)rows[r] + sb;
        o->d[r] = b->d;
        for (int s = 0; s < 16; s++)
            o->sc[8 * s + r] = b->scales[s];
        for (int g = 0; g < 8; g++) {
            /* group g = values 128h + 32p + l (h = g/4, p = g%4): the low 4 bits in
             * ql[64h + 32(p & 1) + l] (high nibble for p >= 2), the top 2 at bits 2p of
             * qh[32h + l] */
            int h = g / 4, p = g % 4;
            put_nibbles(o->g[g].ql, r, b->ql + 64 * h + 32 * (p & 1), p >= 2);
            for (int v = 0; v < 2; v++) {
                /* lane r byte k of vector v: at bits 2c the top bits of value 16v + 4c + k */
                uint64_t a, c;
                memcpy(&a, b->qh + 32 * h + 16 * v, 8);
                memcpy(&c, b->qh + 32 * h + 16 * v + 8, 8);
                a = (a >> (2 * p)) & m2;
                c = (c >> (2 * p)) & m2;
                uint32_t out = (uint32_t)a | (uint32_t)(a >> 32) << 2 | (uint32_t)c << 4 |
                               (uint32_t)(c >> 32) << 6;
                memcpy(o->g[g].qh + 32 * v + 4 * r, &out, 4);
            }
        }
    }
}

/* Block data in 4-byte chunks between a row's layout and the x8 layout, where chunk c of
 * row r sits at byte 32 * c + 4 * r. */
static void chunks_to_lanes(uint8_t *x8, const uint8_t *row, int r, int n_chunks)
{
    for (int c = 0; c < n_chunks; c++)
        memcpy(x8 + 32 * c + 4 * r, row + 4 * c, 4);
}

static void chunks_from_lanes(uint8_t *row, const uint8_t *x8, int r, int n_chunks)
{
    for (int c = 0; c < n_chunks; c++)
        memcpy(row + 4 * c, x8 + 32 * c + 4 * r, 4);
}

/* A Q5_0 / Q5_1 block's 5th bits (bit i of qh, little-endian, is value i's) -> Q5_0
 * x8's qh for row r: byte 4r + b, bit k, holds value 4k + b's. */
static void put_q5_high_bits(uint8_t x8[32], int r, const uint8_t qh[4])
{
    /* byte k of the word holds bits 4k..4k+3: values 4k + b at bit b */
    uint32_t w =
        (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
    uint64_t x = 0;
    for (int k = 0; k < 8; k++)
        x |= (uint64_t)((w >> (4 * k)) & 0xF) << (8 * k);
    x = transpose_bits8(x); /* byte b, bit k: value 4k + b */
    for (int b = 0; b < 4; b++)
        x8[4 * r + b] = (uint8_t)(x >> (8 * b));
}

static void get_q5_high_bits(uint8_t qh[4], const uint8_t x8[32], int r)
{
    uint32_t w = 0;
    for (int k = 0; k < 8; k++)
        for (int b = 0; b < 4; b++)
            w |= (uint32_t)((x8[4 * r + b] >> k) & 1) << (4 * k + b);
    for (int i = 0; i < 4; i++)
        qh[i] = (uint8_t)(w >> (8 * i));
}

/* Group g (rows 8g .. 8g+7) of w into dst (nb packed blocks). */
static void pack_group(uint8_t *dst, const uint8_t *w, int type, size_t row_bytes, int64_t g,
                       int64_t nb)
{
    const uint8_t *rows[8];
    for (int r = 0; r < 8; r++)
        rows[r] = w + (size_t)(8 * g + r) * row_bytes;
    if (type == QUANT_TYPE_F16 || type == QUANT_TYPE_BF16) {
        for (int64_t j = 0; j < nb; j++, dst += KERN_PACK_F_BLOCK)
            for (int r = 0; r < 8; r++)
                memcpy(dst + 64 * r, rows[r] + 64 * j, 64);
    } else if (type == QUANT_TYPE_Q4_0) {
        struct blk_q4_0x8 *o = (struct blk_q4_0x8 *)dst;
        for (int64_t j = 0; j < nb; j++, o++)
            for (int r = 0; r < 8; r++) {
                const struct blk_q4_0 *b = (const struct blk_q4_0 *)rows[r] + j;
                o->d[r] = b->d;
                chunks_to_lanes(o->qs, b->qs, r, 4);
            }
    } else if (type == QUANT_TYPE_Q5_0) {
        struct blk_q5_0x8 *o = (struct blk_q5_0x8 *)dst;
        for (int64_t j = 0; j < nb; j++, o++)
            for (int r = 0; r < 8; r++) {
                const struct blk_q5_0 *b = (const struct blk_q5_0 *)rows[r] + j;
                o->d[r] = b->d;
                chunks_to_lanes(o->qs, b->qs, r, 4);
                put_q5_high_bits(o->qh, r, b->qh);
            }
    } else if (type == QUANT_TYPE_Q4_1) {
        struct blk_q4_1x8 *o = (struct blk_q4_1x8 *)dst;
        for (int64_t j = 0; j < nb; j++, o++)
            for (int r = 0; r < 8; r++) {
                const struct blk_q4_1 *b = (const struct blk_q4_1 *)rows[r] + j;
                o->d[r] = b->d;
                o->m[r] = b->m;
                chunks_to_lanes(o->qs, b->qs, r, 4);
            }
    } else if (type == QUANT_TYPE_Q5_1) {
        struct blk_q5_1x8 *o = (struct blk_q5_1x8 *)dst;
        for (int64_t j = 0; j < nb; j++, o++)
            for (int r = 0; r < 8; r++) {
                const struct blk_q5_1 *b = (const struct blk_q5_1 *)rows[r] + j;
                o->d[r] = b->d;
                o->m[r] = b->m;
                chunks_to_lanes(o->qs, b->qs, r, 4);
                put_q5_high_bits(o->qh, r, b->qh);
            }
    } else if (type == QUANT_TYPE_Q4_K) {
        struct blk_q4_kx8 *o = (struct blk_q4_kx8 *)dst;
        for (int64_t sb = 0; sb < nb; sb++, o++)
            pack_q4_k(o, rows, sb);
    } else if (type == QUANT_TYPE_Q5_K) {
        struct blk_q5_kx8 *o = (struct blk_q5_kx8 *)dst;
        for (int64_t sb = 0; sb < nb; sb++, o++)
            pack_q5_k(o, rows, sb);
    } else if (type == QUANT_TYPE_Q6_K) {
        struct blk_q6_kx8 *o = (struct blk_q6_kx8 *)dst;
        for (int64_t sb = 0; sb < nb; sb++, o++)
            pack_q6_k(o, rows, sb);
    } else {
        struct blk_q8_0x8 *o = (struct blk_q8_0x8 *)dst;
        for (int64_t j = 0; j < nb; j++, o++)
            for (int r = 0; r < 8; r++) {
                const struct blk_q8_0 *b = (const struct blk_q8_0 *)rows[r] + j;
                o->d[r] = b->d;
                chunks_to_lanes((uint8_t *)o->qs, (const uint8_t *)b->qs, r, 8);
            }
    }
}

#define PACK_CHUNK 64 /* groups per unit of work (and of source pages dropped) */

size_t kern_packed_bytes(int weight_type, int64_t n_rows, int64_t n_cols)
{
    size_t bytes;
    if (!kern_pack_supported(weight_type, n_rows, n_cols) ||
        !ck_mul(&bytes, group_block_bytes(weight_type), (size_t)(n_cols / block_elems(weight_type))) ||
        !ck_mul(&bytes, bytes, (size_t)(n_rows / 8)))
        return 0;
    /* the same size as the 8 rows' blocks, except the bytes of scales of Q4_K (+2.8%) and
     * Q5_K (+2.3%) */
    return bytes;
}

int kern_pack_into(struct kern_packed *p, void *dst, const void *w, int weight_type,
                   int64_t n_rows, int64_t n_cols, bool drop_source, int n_threads)
{
    memset(p, 0, sizeof(*p));
    size_t row_bytes, bytes = kern_packed_bytes(weight_type, n_rows, n_cols);
    if (!bytes || !dst || !quant_row_bytes(weight_type, n_cols, &row_bytes))
        return -1;
    int64_t nb = n_cols / block_elems(weight_type), n_groups = n_rows / 8;
    size_t group_bytes = group_block_bytes(weight_type) * (size_t)nb, src_group = 8 * row_bytes;
    if (n_threads < 1)
        n_threads = 1;
    int64_t n_chunks = (n_groups + PACK_CHUNK - 1) / PACK_CHUNK;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_threads > 1 && n_chunks > 1)
    for (int64_t ch = 0; ch < n_chunks; ch++) {
        int64_t g0 = ch * PACK_CHUNK, g1 = g0 + PACK_CHUNK < n_groups ? g0 + PACK_CHUNK : n_groups;
        for (int64_t g = g0; g < g1; g++)
            pack_group((uint8_t *)dst + (size_t)g * group_bytes, w, weight_type, row_bytes, g, nb);
        /* peak resident memory stays about one copy of the weights */
        if (drop_source)
            file_map_drop((const uint8_t *)w + (size_t)g0 * src_group, (size_t)(g1 - g0) * src_group);
    }
    p->data = dst;
    p->bytes = bytes;
    p->type = weight_type;
    p->n_rows = n_rows;
    p->n_cols = n_cols;
    return 0;
}

void *kern_pack_alloc(size_t bytes)
{
    /* Huge pages (fewer faults and TLB misses, and the hardware prefetcher does not stop
     * every 4 KiB) where rounding up to 2 MiB wastes at most 1/16: a touched huge page
     * is resident whole (a 2.4 MB allocation would otherwise hold 4 MB). */
    size_t huge = (size_t)2 << 20, alloc = (bytes + huge - 1) & ~(huge - 1);
    bool use_huge = alloc - bytes <= bytes / 16;
    if (!use_huge)
        alloc = (bytes + 63) & ~(size_t)63;
    void *dst = NULL;
    if (bytes == 0 || posix_memalign(&dst, use_huge ? huge : 64, alloc) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (use_huge)
        madvise(dst, alloc, MADV_HUGEPAGE); /* advisory */
#endif
    return dst;
}

int kern_pack(struct kern_packed *p, const void *w, int weight_type, int64_t n_rows,
              int64_t n_cols, bool drop_source, int n_threads)
{
    memset(p, 0, sizeof(*p));
    void *dst = kern_pack_alloc(kern_packed_bytes(weight_type, n_rows, n_cols));
    if (!dst || kern_pack_into(p, dst, w, weight_type, n_rows, n_cols, drop_source, n_threads)) {
        free(dst);
        return -1;
    }
    p->owned = true;
    return 0;
}

/* Level i (0..31) of group g's nibbles in Q4_0 x8's layout, row r. */
static uint8_t get_nibble(const uint8_t qs[128], int r, int i)
{
    uint8_t b = qs[32 * ((i & 15) >> 2) + 4 * r + (i & 3)];
    return (uint8_t)(i < 16 ? b & 0xF : b >> 4);
}

/* A Q4_K / Q5_K block's 12 bytes of scales and mins from the x8 layout's row r
 * (kq_scale_min's packing, inverted). */
static void k_scales_from_lanes(uint8_t scales[K_SCALE_SIZE], const uint8_t sc[8][8],
                                const uint8_t mn[8][8], int r)
{
    for (int k = 0; k < 4; k++) {
        uint8_t s0 = sc[k][r], m0 = mn[k][r], s4 = sc[k + 4][r], m4 = mn[k + 4][r];
        scales[k] = (uint8_t)(s0 | ((s4 >> 4) << 6));
        scales[k + 4] = (uint8_t)(m0 | ((m4 >> 4) << 6));
        scales[k + 8] = (uint8_t)((s4 & 0xF) | ((m4 & 0xF) << 4));
    }
}

/* A Q4_K / Q5_K block's qs (the low 4 bits of its levels) from the x8 layout's row r. */
static void k_nibbles_from_lanes(uint8_t qs[QK_K / 2], const uint8_t x8[8][128], int r)
{
    for (int ch = 0; ch < 4; ch++)
        for (int l = 0; l < 32; l++)
            qs[32 * ch + l] =
                (uint8_t)(get_nibble(x8[2 * ch], r, l) | (get_nibble(x8[2 * ch + 1], r, l) << 4));
}

int kern_packed_row(const struct kern_packed *p, int64_t row, void *dst)
{
    if (!p || !p->data || row < 0 || row >= p->n_rows)
        return -1;
    size_t gb = group_block_bytes(p->type);
    int64_t nb = p->n_cols / block_elems(p->type), g = row / 8;
    int r = (int)(row % 8);
    const uint8_t *src = (const uint8_t *)p->data + (size_t)g * gb * (size_t)nb;
    for (int64_t j = 0; j < nb; j++) {
        if (p->type == QUANT_TYPE_F16 || p->type == QUANT_TYPE_BF16) {
            memcpy((uint8_t *)dst + 64 * j, src + (size_t)j * KERN_PACK_F_BLOCK + 64 * r, 64);
        } else if (p->type == QUANT_TYPE_Q4_0) {
            const struct blk_q4_0x8 *o = (const struct blk_q4_0x8 *)src + j;
            struct blk_q4_0 *b = (struct blk_q4_0 *)dst + j;
            b->d = o->d[r];
            chunks_from_lanes(b->qs, o->qs, r, 4);
        } else if (p->type == QUANT_TYPE_Q5_0) {
            const struct blk_q5_0x8 *o = (const struct blk_q5_0x8 *)src + j;
            struct blk_q5_0 *b = (struct blk_q5_0 *)dst + j;
            b->d = o->d[r];
            chunks_from_lanes(b->qs, o->qs, r, 4);
            get_q5_high_bits(b->qh, o->qh, r);
        } else if (p->type == QUANT_TYPE_Q4_1) {
            const struct blk_q4_1x8 *o = (const struct blk_q4_1x8 *)src + j;
            struct blk_q4_1 *b = (struct blk_q4_1 *)dst + j;
            b->d = o->d[r];
            b->m = o->m[r];
            chunks_from_lanes(b->qs, o->qs, r, 4);
        } else if (p->type == QUANT_TYPE_Q5_1) {
            const struct blk_q5_1x8 *o = (const struct blk_q5_1x8 *)src + j;
            struct blk_q5_1 *b = (struct blk_q5_1 *)dst + j;
            b->d = o->d[r];
            b->m = o->m[r];
            chunks_from_lanes(b->qs, o->qs, r, 4);
            get_q5_high_bits(b->qh, o->qh, r);
        } else if (p->type == QUANT_TYPE_Q8_0) {
            const struct blk_q8_0x8 *o = (const struct blk_q8_0x8 *)src + j;
            struct blk_q8_0 *b = (struct blk_q8_0 *)dst + j;
            b->d = o->d[r];
            chunks_from_lanes((uint8_t *)b->qs, (const uint8_t *)o->qs, r, 8);
        } else if (p->type == QUANT_TYPE_Q4_K) {
            const struct blk_q4_kx8 *o = (const struct blk_q4_kx8 *)src + j;
            struct blk_q4_k *b = (struct blk_q4_k *)dst + j;
            b->d = o->d[r];
            b->dmin = o->dmin[r];
            k_scales_from_lanes(b->scales, o->sc, o->m, r);
            k_nibbles_from_lanes(b->qs, o->qs, r);
        } else if (p->type == QUANT_TYPE_Q5_K) {
            const struct blk_q5_kx8 *o = (const struct blk_q5_kx8 *)src + j;
            struct blk_q5_k *b = (struct blk_q5_k *)dst + j;
            b->d = o->d[r];
            b->dmin = o->dmin[r];
            k_scales_from_lanes(b->scales, o->sc, o->m, r);
            for (int l = 0; l < 32; l++) {
                uint8_t h = 0;
                for (int gi = 0; gi < 8; gi++)
                    h |= (uint8_t)(get_high_bit(o->g[gi].qh, r, l) << gi);
                b->qh[l] = h;
            }
            for (int ch = 0; ch < 4; ch++)
                for (int l = 0; l < 32; l++)
                    b->qs[32 * ch + l] = (uint8_t)(get_nibble(o->g[2 * ch].qs, r, l) |
                                                   (get_nibble(o->g[2 * ch + 1].qs, r, l) << 4));
        } else { /* Q6_K */
            const struct blk_q6_kx8 *o = (const struct blk_q6_kx8 *)src + j;
            struct blk_q6_k *b = (struct blk_q6_k *)dst + j;
            uint8_t lv[QK_K];
            for (int gi = 0; gi < 8; gi++)
                for (int i = 0; i < 32; i++) {
                    int v = i / 16, c = (i & 15) >> 2, k = i & 3;
                    uint8_t hi = (uint8_t)((o->g[gi].qh[32 * v + 4 * r + k] >> (2 * c)) & 3);
                    lv[32 * gi + i] = (uint8_t)(get_nibble(o->g[gi].ql, r, i) | (hi << 4));
                }
            b->d = o->d[r];
            for (int s = 0; s < 16; s++)
                b->scales[s] = o->sc[8 * s + r];
            for (int h = 0; h < 2; h++) {
                const uint8_t *e = lv + 128 * h;
                for (int l = 0; l < 32; l++) {
                    b->ql[64 * h + l] = (uint8_t)((e[l] & 0xF) | ((e[l + 64] & 0xF) << 4));
                    b->ql[64 * h + l + 32] = (uint8_t)((e[l + 32] & 0xF) | ((e[l + 96] & 0xF) << 4));
                    b->qh[32 * h + l] = (uint8_t)((e[l] >> 4) | ((e[l + 32] >> 4) << 2) |
                                                  ((e[l + 64] >> 4) << 4) | ((e[l + 96] >> 4) << 6));
                }
            }
        }
    }
    return 0;
}

void kern_packed_free(struct kern_packed *p)
{
    if (!p)
        return;
    if (p->owned)
        free(p->data);
    memset(p, 0, sizeof(*p));
}
