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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How activations meet quantized weights (F32/F16/BF16 weights always use float32):
 *  KERN_ACT_DEFAULT (0): the int8 path when scratch is big enough, else float.
 *  KERN_ACT_Q8: the same, stated explicitly. Activations are rounded per 32 values to
 *    int8 with a float scale (like llama.cpp's Q8_0 / Q8_K, a little finer) and dotted
 *    with integer instructions. Relative error of one product ~1e-3; on the gemma-tiny
 *    fixtures this is the regime of the README's "rounds activations like llama.cpp"
 *    tolerances (Q8_0: max 1 / RMS 0.1 logits), not the float32 1e-3.
 *  KERN_ACT_F32: dequantize weights in registers, float32 activations and FMA; matches
 *    kern_matmul_ref to ~1e-6 relative (use for strict fixture checks).
 */
enum kern_act {
    KERN_ACT_DEFAULT = 0,
    KERN_ACT_Q8 = 1,
    KERN_ACT_F32 = 2,
};

/* Which instruction set kern_matmul may use (tests and benchmarks force lower ones). */
enum kern_isa_level {
    KERN_ISA_BEST = 0, /* the best the CPU has, found at run time */
    KERN_ISA_SCALAR = 1,
    KERN_ISA_AVX2 = 2, /* at most AVX2+FMA (x86 only; elsewhere same as BEST) */
};

/* Memory the step after a product reads: up to two ranges of `bytes` each (NULL: none). */
struct kern_prefetch {
    const void *p[2];
    size_t bytes;
};

struct kern_ctx {
    int n_threads;       /* OpenMP threads for the kernels (>= 1) */
    void *scratch;       /* per-call scratch (e.g. activations quantized to Q8), owned by caller */
    size_t scratch_bytes;
    enum kern_act act;       /* zero-initialised: KERN_ACT_DEFAULT */
    enum kern_isa_level isa; /* zero-initialised: KERN_ISA_BEST */
    /* Optional (NULL: none). The threads of a parallel product prefetch this into their
     * caches once their share of the product is done, while they would otherwise wait for
     * each other at its end; thread t of n takes the t-th n-th of each range, what it
     * reads itself when the next step splits the same way (decode attention's key chunks:
     * the model passes the layer's KV rows with its q/k/v product). No effect on results. */
    const struct kern_prefetch *after;
};

/* Name of the instruction set kern_matmul uses under kc ("avx512", "avx2", "neon",
 * "scalar"); a static string. */
const char *kern_isa_name(const struct kern_ctx *kc);

/* Bytes of scratch kern_matmul needs for x of shape (n_tok, n_cols) against weight type
 * (0 for float weight types; the int8 path uses 48 bytes per 32 activations plus 64 for
 * alignment). With less scratch, kern_matmul silently uses the float path. */
size_t kern_matmul_scratch_bytes(int weight_type, int64_t n_cols, int64_t n_tok);

/* y (n_tok, n_rows) = x (n_tok, n_cols) . w^T, where w (n_rows, n_cols) is stored row by row
 * in weight_type (each row quant_row_bytes(weight_type, n_cols) bytes). kc may be NULL
 * (one thread, float path). Never allocates. Each y value is computed by one thread in a
 * fixed order that depends on neither n_threads nor n_tok: results are bit-identical for
 * any thread count, and a token gives the same y alone or in a batch. An unsupported type or a
 * n_cols that is not a multiple of the block size gives y = 0 (callers validate first
 * with quant_row_bytes). */
void kern_matmul(float *y, const void *w, int weight_type, const float *x, int64_t n_rows,
                 int64_t n_cols, int64_t n_tok, const struct kern_ctx *kc);
/* The scalar reference: dequantize each row to float32 and accumulate in float32. */
void kern_matmul_ref(float *y, const void *w, int weight_type, const float *x, int64_t n_rows,
                     int64_t n_cols, int64_t n_tok);

/*
 * Repacked weights (kern_pack.c): 8 consecutive rows interleaved block by block, so that
 * one vector lane holds one row and a block of 8 rows is dotted with one activation block
 * by whole-register integer products, with no shuffles and one scale conversion and one
 * float FMA per 8 row-blocks (the per-row layout needs them per row). For Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K weights with a multiple of 8 rows, on x86 with AVX2
 * (AVX-512 VNNI when present).
 *
 * Each output is the exact integer dot product of every 32-value block, scaled and added
 * in block order with one float FMA per block: the same operations for any token count,
 * thread count or ISA level, so the results are bit-identical across them (they differ
 * in the last bits from kern_matmul's per-row layout, which adds lane partial sums).
 *
 * F16 and BF16 are grouped 8 rows at a time too, each row's 32-value blocks kept whole
 * (kern_int.h): the float kernel computes exactly kern_matmul's sums, bit for bit, from
 * one contiguous stream per 8 rows.
 */
struct kern_packed {
    void *data;   /* NULL: not packed */
    bool owned;   /* data is kern_pack's allocation (kern_packed_free frees it) */
    size_t bytes;
    int type;     /* the source type (QUANT_TYPE_*), see kern_pack_supported */
    int64_t n_rows, n_cols;
};

/* Whether kern_pack handles w (type, shape) on this CPU. */
bool kern_pack_supported(int weight_type, int64_t n_rows, int64_t n_cols);
/* Pack w (n_rows, n_cols) of weight_type into p with n_threads threads; 0, or -1 when
 * the type/shape/CPU is not supported or memory runs out (p is then left empty).
 * drop_source: w lies in a read-only file mapping, and its pages are released from the
 * process as they are copied (never pass it for memory that is not a file mapping). */
int kern_pack(struct kern_packed *p, const void *w, int weight_type, int64_t n_rows,
              int64_t n_cols, bool drop_source, int n_threads);
/* Bytes of w packed, 0 when kern_pack_supported says no. */
size_t kern_packed_bytes(int weight_type, int64_t n_rows, int64_t n_cols);
/* kern_pack into dst (kern_packed_bytes of it, 64-byte aligned) owned by the caller, who
 * frees it after the last kern_packed_free of p (which then only clears p). */
int kern_pack_into(struct kern_packed *p, void *dst, const void *w, int weight_type,
                   int64_t n_rows, int64_t n_cols, bool drop_source, int n_threads);
/* Memory for packed matrices (free()): on 2 MiB huge pages where rounding up to them
 * wastes at most 1/16, 64-byte aligned otherwise; NULL when bytes is 0 or memory runs out. */
void *kern_pack_alloc(size_t bytes);
void kern_packed_free(struct kern_packed *p);
/* Row `row` of a packed matrix back in its type's file layout (dst: the row's
 * quant_row_bytes bytes), so an embedding tied to a packed output matrix is looked up
 * without touching the file's pages again. 0, or -1 for a bad row or an empty p. */
int kern_packed_row(const struct kern_packed *p, int64_t row, void *dst);
/* y (n_tok, n_rows) = x . w^T from packed weights: the integer path for quantized types,
 * the float path for F16 / BF16. Returns -1 (y untouched) when kc asks for something this
 * path does not do (float activations on quantized weights, the AVX2 level on a CPU
 * without it, too little scratch): the caller then uses kern_matmul on the unpacked
 * weights. */
int kern_matmul_packed(float *y, const struct kern_packed *w, const float *x, int64_t n_tok,
                       const struct kern_ctx *kc);
/* kern_matmul_packed for n matrices with the same n_cols and input: y[i] = x . w[i]^T.
 * One call quantizes the activations once and shares all the rows out over the threads in
 * one parallel region, by bytes: small products (a model's K and V projections) no longer
 * run alone on one thread, and a thread's rows of consecutive matrices are one stream.
 * Each output has exactly kern_matmul_packed's bits. -1 (nothing written) when any matrix
 * is empty or of another width, or kern_matmul_packed would return -1 for one. */
#define KERN_PACKED_N_MAX 4
int kern_matmul_packed_n(float *const *y, const struct kern_packed *const *w, int n,
                         const float *x, int64_t n_tok, const struct kern_ctx *kc);

/* Memory read bandwidth in bytes/s: n_threads stream `bytes` of buf (32-byte aligned, much
 * larger than the caches), best of reps passes (kern_membw.c). */
double kern_read_bandwidth(const void *buf, size_t bytes, int n_threads, int reps);
/* Float32 FMA peak in FLOP/s with the widest vector unit (AVX-512 or AVX2), measured with
 * independent FMA chains on n_threads threads; 0 where neither exists. */
double kern_fma_peak_flops(int n_threads);
/* int8 multiply-add peak in operations/s (2 per product, as FLOPs count them) with the
 * instructions the integer path uses: AVX-512 VNNI, else AVX2; 0 where neither exists. */
double kern_int8_peak_ops(int n_threads);

#endif
