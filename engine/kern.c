/*
 * engine/kern.c - matrix multiply over any weight type: the scalar reference, the
 * run-time choice of SIMD kernels (AVX-512 VNNI, AVX2+FMA, NEON, scalar), and the
 * OpenMP split of the output rows.
 *
 * Two arithmetic paths (enum kern_act in kern.h):
 *  - float: each weight block is dequantized in registers and multiplied with float32
 *    activations by FMA. Error against kern_matmul_ref ~1e-6 relative.
 *  - int8: for quantized weights the activations are first quantized once per call to
 *    blocks of 32 int8 with a float scale (struct blk_a8, in kc->scratch), and each
 *    weight block meets them in an integer dot product (VNNI vpdpbusd / AVX2 maddubs),
 *    as llama.cpp does with Q8_0 / Q8_K. Faster, with activation rounding of relative
 *    size ~1/254 per block (see kern.h).
 * The SIMD files (kern_avx2.c, kern_avx512.c, kern_neon.c) compute a range of rows for
 * every token; this file splits rows between threads so that every output value is
 * computed by one thread in a fixed order: results do not depend on the thread count.
 *
 * Not here: element-wise kernels and attention (engine/kern_ops.c), block layouts
 * (engine/kern_int.h), type table (engine/quant.c).
 */
#include "engine/kern.h"
#include "engine/kern_int.h"
#include "base/mem.h"
#include "engine/quant.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <omp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* Elements dequantized at a time by the scalar paths (a multiple of every block size
 * that divides it; types with 256-element blocks use exactly one block). */
#define PIECE 256

static int64_t piece_elems(const struct quant_traits *t, int64_t n_cols, int64_t k0)
{
    int64_t p = (PIECE / t->block_elems) * t->block_elems;
    if (p < t->block_elems)
        p = t->block_elems;
    return n_cols - k0 < p ? n_cols - k0 : p;
}

void kern_matmul_ref(float *y, const void *w, int weight_type, const float *x, int64_t n_rows,
                     int64_t n_cols, int64_t n_tok)
{
    const struct quant_traits *t = quant_traits_of(weight_type);
    size_t row_bytes;
    if (!t || !t->dequantize || !quant_row_bytes(weight_type, n_cols, &row_bytes)) {
        memset(y, 0, (size_t)(n_rows * n_tok) * sizeof(float));
        return;
    }
    size_t piece_bytes = (size_t)(PIECE / t->block_elems) * t->block_bytes;
    float buf[PIECE];
    for (int64_t tok = 0; tok < n_tok; tok++) {
        const float *xt = x + tok * n_cols;
        for (int64_t r = 0; r < n_rows; r++) {
            const uint8_t *row = (const uint8_t *)w + (size_t)r * row_bytes;
            float acc = 0.0f;
            int64_t k0 = 0;
            for (size_t off = 0; k0 < n_cols; off += piece_bytes) {
                int64_t np = piece_elems(t, n_cols, k0);
                t->dequantize(row + off, buf, np);
                for (int64_t k = 0; k < np; k++)
                    acc += buf[k] * xt[k0 + k];
                k0 += np;
            }
            y[tok * n_rows + r] = acc;
        }
    }
}

/* Scalar rows [r0, r1) for every token: the fallback when no SIMD kernel handles a type.
 * Same arithmetic as kern_matmul_ref (float accumulation in k order), so identical. */
static void rows_scalar(float *y, const void *w, const struct quant_traits *t, size_t row_bytes,
                        const float *x, int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0,
                        int64_t r1)
{
    size_t piece_bytes = (size_t)(PIECE / t->block_elems) * t->block_bytes;
    float buf[PIECE];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * row_bytes;
        for (int64_t tok = 0; tok < n_tok; tok++)
            y[tok * n_rows + r] = 0.0f;
        int64_t k0 = 0;
        for (size_t off = 0; k0 < n_cols; off += piece_bytes) {
            int64_t np = piece_elems(t, n_cols, k0);
            t->dequantize(row + off, buf, np);
            for (int64_t tok = 0; tok < n_tok; tok++) {
                const float *xt = x + tok * n_cols + k0;
                float acc = y[tok * n_rows + r];
                for (int64_t k = 0; k < np; k++)
                    acc += buf[k] * xt[k];
                y[tok * n_rows + r] = acc;
            }
            k0 += np;
        }
    }
}

static bool type_is_quantized(int type)
{
    return type != QUANT_TYPE_F32 && type != QUANT_TYPE_F16 && type != QUANT_TYPE_BF16;
}

/* Types the integer path handles (their blocks split into 32-element groups). */
static bool type_has_int_path(int type)
{
    switch (type) {
    case QUANT_TYPE_Q4_0:
    case QUANT_TYPE_Q4_1:
    case QUANT_TYPE_Q5_0:
    case QUANT_TYPE_Q5_1:
    case QUANT_TYPE_Q8_0:
    case QUANT_TYPE_Q4_K:
    case QUANT_TYPE_Q5_K:
    case QUANT_TYPE_Q6_K:
        return true;
    default:
        return false;
    }
}

size_t kern_matmul_scratch_bytes(int weight_type, int64_t n_cols, int64_t n_tok)
{
    if (!type_has_int_path(weight_type) || n_cols <= 0 || n_tok <= 0 || n_cols % 32 != 0)
        return 0;
    /* blocks, then the per-block sums padded to 8 per token (kern_int.h) */
    size_t n_blk, n_sum, bytes, sum_bytes;
    if (!ck_mul(&n_blk, (size_t)(n_cols / 32), (size_t)n_tok) ||
        !ck_mul(&bytes, n_blk, sizeof(struct blk_a8)) ||
        !ck_mul(&n_sum, (size_t)kern_a8_nb8(n_cols / 32), (size_t)n_tok) ||
        !ck_mul(&sum_bytes, n_sum, sizeof(float)) || !ck_add(&bytes, bytes, sum_bytes) ||
        !ck_add(&bytes, bytes, 64))
        return SIZE_MAX;
    return bytes; /* the 64: room to align to 64 bytes */
}

struct kern_isa {
    kern_rows_fn rows;
    kern_rows_packed_fn rows_packed; /* NULL: no packed kernels at this level */
    kern_quant_a8_fn quant_a8; /* NULL: rows has no int8 path (NEON for now) */
    const char *name;
};

#if defined(__x86_64__) || defined(__i386__)
/* F16C (CPUID.1:ECX bit 29); clang's __builtin_cpu_supports does not know "f16c". Every
 * AVX2 CPU has it, but a virtual machine may hide it. */
static bool cpu_has_f16c(void)
{
    /* CPUID traps to the hypervisor in a VM (microseconds) and kern_matmul runs hundreds
     * of times per token, so the answer is cached: a write-once fact about the hardware,
     * the one static that is not configuration (0 unknown, 1 no, 2 yes) */
    static int cached;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v == 0) {
        unsigned a, b, c, d;
        v = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1u) ? 2 : 1;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v == 2;
}
#endif

static struct kern_isa pick_isa(void)
{
    struct kern_isa isa = {NULL, NULL, kern_quantize_a8_ref, "scalar"};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) {
        isa.rows = kern_rows_avx2;
        isa.rows_packed = kern_rows_packed_avx2;
        isa.quant_a8 = kern_quant_a8_avx2;
        isa.name = "avx2";
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
            isa.rows = kern_rows_avx512;
            isa.rows_packed = kern_rows_packed_avx512;
            isa.name = "avx512";
        }
    }
#elif defined(__aarch64__)
    isa.rows = kern_rows_neon;
    isa.quant_a8 = NULL;
    isa.name = "neon";
#endif
    return isa;
}

static struct kern_isa isa_for(enum kern_isa_level level)
{
    struct kern_isa best = pick_isa();
    struct kern_isa scalar = {NULL, NULL, kern_quantize_a8_ref, "scalar"};
    switch (level) {
    case KERN_ISA_SCALAR:
        return scalar;
#if defined(__x86_64__) || defined(__i386__)
    case KERN_ISA_AVX2:
        if (best.rows == kern_rows_avx2 || best.rows == kern_rows_avx512) {
            best.rows = kern_rows_avx2;
            best.rows_packed = kern_rows_packed_avx2;
            best.name = "avx2";
        }
        return best;
#endif
    default:
        return best;
    }
}

const char *kern_isa_name(const struct kern_ctx *kc)
{
    return isa_for(kc ? kc->isa : KERN_ISA_BEST).name;
}

/* Rows [r0, r1) for all tokens with the ISA's kernel, or the scalar path for a type it
 * does not handle. */
static void run_rows(const struct kern_isa *isa, const struct quant_traits *t, size_t row_bytes,
                     float *y, const void *w, int weight_type, const float *x,
                     const struct blk_a8 *act, int64_t n_rows, int64_t n_cols, int64_t n_tok,
                     int64_t r0, int64_t r1)
{
    int rc = -1;
    if (isa->rows)
        rc = isa->rows(y, w, weight_type, x, act, n_rows, n_cols, n_tok, r0, r1);
    if (rc != 0)
        rows_scalar(y, w, t, row_bytes, x, n_rows, n_cols, n_tok, r0, r1);
}

/* Token tok's activations to int8 blocks; with sums, also the block sums (nb8 per token,
 * zero-padded) that kern_matmul's row kernels take. */
static void quant_tok(const struct kern_isa *isa, const float *x, struct blk_a8 *act,
                      float *sums, int64_t tok, int64_t n_cols, int64_t nb8)
{
    int64_t nb = n_cols / 32;
    isa->quant_a8(x + tok * n_cols, act + tok * nb, n_cols);
    for (int64_t j = 0; sums && j < nb8; j++)
        sums[tok * nb8 + j] = j < nb ? act[tok * nb + j].s : 0.0f;
}

/* Every token's activations to int8 blocks, on threads from 4096 blocks up. Below that the
 * loop runs with no OpenMP call at all: libgomp builds a team even for a region whose if
 * clause is false, ~0.5 us on a 2-core EPYC, more than quantizing a decode token's
 * activations, and paid on every matrix product. */
static void quant_acts(const struct kern_isa *isa, const float *x, struct blk_a8 *act,
                       float *sums, int64_t n_tok, int64_t n_cols, int64_t nb8, int n_threads)
{
    if (n_tok * (n_cols / 32) < 4096 || n_threads == 1) {
        for (int64_t tok = 0; tok < n_tok; tok++)
            quant_tok(isa, x, act, sums, tok, n_cols, nb8);
        return;
    }
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t tok = 0; tok < n_tok; tok++)
        quant_tok(isa, x, act, sums, tok, n_cols, nb8);
}

/* Rows in runs of 16, shared out evenly: a thread's rows are contiguous. Work per call
 * below 2^19 weight-token products (~10 us on one core) is not worth waking threads for:
 * a parallel region costs a few us, and much more on a busy machine. */
static int rows_threads(int64_t n_rows, int64_t n_cols, int64_t n_tok, int n_threads)
{
    int64_t n_units = (n_rows + 15) / 16;
    int nt = n_threads;
    if ((int64_t)nt > n_units)
        nt = (int)n_units;
    if (n_rows * n_cols * n_tok < ((int64_t)1 << 19))
        nt = 1;
    return nt;
}

/* One thread's share of a product's rows, in runs of 16 ("units"): [front, back) in one
 * word, so that its owner, taking from the front, and a thread done with its own, taking
 * from the back, claim disjoint runs with one compare-and-swap each. On its own cache
 * line. */
struct share {
    _Alignas(64) _Atomic uint64_t fb;
};

#define KERN_SHARES_MAX 256

/* Runs units [u0, u1) of a product. */
typedef void (*units_fn)(const void *job, int64_t u0, int64_t u1);

/* Units of s: its owner takes half of what is left from the front (at least want), so a
 * share streams in a few long runs and the runs near its end are short; another thread
 * takes want from the back. Runs are whole multiples of 2 units (32 rows): with the 4-group
 * decode tiles of the time, 16-row tails ran slower and a version with 48-row runs lost
 * 6%; the float row kernels still work 8 rows at a time. */
static bool claim(struct share *s, int64_t want, bool front, int64_t *u0, int64_t *u1)
{
    uint64_t v = atomic_load_explicit(&s->fb, memory_order_relaxed);
    for (;;) {
        int64_t f = (int64_t)(v >> 32), b = (int64_t)(v & 0xffffffffu);
        if (f >= b)
            return false;
        int64_t n = front && (b - f) / 2 > want ? (b - f) / 2 : want;
        n = (n + 1) & ~(int64_t)1;
        int64_t nf = f, nb = b;
        if (front)
            nf = f + n < b ? f + n : b;
        else
            nb = b - n > f ? b - n : f;
        uint64_t nv = (uint64_t)nf << 32 | (uint64_t)nb;
        if (atomic_compare_exchange_weak_explicit(&s->fb, &v, nv, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *u0 = front ? f : nb;
            *u1 = front ? nf : b;
            return true;
        }
    }
}

static void share_set(struct share *s, int64_t u0, int64_t u1)
{
    atomic_init(&s->fb, (uint64_t)u0 << 32 | (uint64_t)u1);
}

/* Thread ith: its own share of the n_sh front to back, one contiguous stream, then what is
 * left of the others' from their backs, want units at a time (~64 KB of weights: one
 * compare-and-swap against microseconds of streaming). A thread slowed by the machine
 * (another process, a virtual CPU the host takes back) no longer leaves the other one
 * waiting at the end of the product with the memory bus half idle; and if OpenMP gives
 * fewer threads than there are shares, the others' shares still get done. Which thread
 * computes a row changes none of its bits. */
static void run_shares(struct share *sh, int n_sh, int64_t want, int ith, units_fn run,
                       const void *job)
{
    int64_t u0, u1;
    while (claim(&sh[ith], want, true, &u0, &u1))
        run(job, u0, u1);
    for (int k = 1; k < n_sh; k++) {
        struct share *o = &sh[(ith + k) % n_sh];
        while (claim(o, want, false, &u0, &u1))
            run(job, u0, u1);
    }
}

/* Thread ith of nt: its slice of kc->after into its caches (L2). */
static void prefetch_after(const struct kern_ctx *kc, int ith, int nt)
{
    const struct kern_prefetch *pf = kc->after;
    if (!pf || nt < 1)
        return;
    size_t a = pf->bytes / (size_t)nt * (size_t)ith, e = pf->bytes / (size_t)nt * (size_t)(ith + 1);
    if (ith == nt - 1)
        e = pf->bytes;
    for (int r = 0; r < 2; r++)
        if (pf->p[r])
            for (size_t o = a & ~(size_t)63; o < e; o += 64)
                __builtin_prefetch((const char *)pf->p[r] + o, 0, 2);
}

/* Units of 16 rows of row_bytes each in a claim of ~64 KB. */
static int64_t claim_units(size_t row_bytes)
{
    size_t u = ((size_t)64 << 10) / (16 * (row_bytes ? row_bytes : 1));
    return u > 0 ? (int64_t)u : 1;
}

/* kern_matmul's product for run_shares. */
struct rows_job {
    const struct kern_isa *isa;
    const struct quant_traits *t;
    size_t row_bytes;
    float *y;
    const void *w;
    int weight_type;
    const float *x;
    const struct blk_a8 *act;
    int64_t n_rows, n_cols, n_tok;
};

static void rows_units(const void *job, int64_t u0, int64_t u1)
{
    const struct rows_job *j = job;
    int64_t r1 = u1 * 16 < j->n_rows ? u1 * 16 : j->n_rows;
    run_rows(j->isa, j->t, j->row_bytes, j->y, j->w, j->weight_type, j->x, j->act, j->n_rows,
             j->n_cols, j->n_tok, u0 * 16, r1);
}

void kern_matmul(float *y, const void *w, int weight_type, const float *x, int64_t n_rows,
                 int64_t n_cols, int64_t n_tok, const struct kern_ctx *kc)
{
    const struct quant_traits *t = quant_traits_of(weight_type);
    size_t row_bytes;
    if (n_rows <= 0 || n_tok <= 0)
        return;
    if (!t || !t->dequantize || !quant_row_bytes(weight_type, n_cols, &row_bytes)) {
        memset(y, 0, (size_t)(n_rows * n_tok) * sizeof(float));
        return;
    }
    int n_threads = kc && kc->n_threads > 0 ? kc->n_threads : 1;
    struct kern_isa isa = isa_for(kc ? kc->isa : KERN_ISA_BEST);

    /* the integer path needs its scratch; without it we fall back to float */
    struct blk_a8 *act = NULL;
    bool want_int = type_is_quantized(weight_type) && type_has_int_path(weight_type) &&
                    (!kc || kc->act != KERN_ACT_F32) && isa.rows != NULL && isa.quant_a8 != NULL;
    if (want_int && kc && kc->scratch) {
        size_t need = kern_matmul_scratch_bytes(weight_type, n_cols, n_tok);
        if (need != 0 && need != SIZE_MAX && kc->scratch_bytes >= need) {
            uintptr_t p = ((uintptr_t)kc->scratch + 63) & ~(uintptr_t)63;
            act = (struct blk_a8 *)p;
        }
    }
    int64_t nb = n_cols / 32, nb8 = kern_a8_nb8(nb);
    if (act)
        quant_acts(&isa, x, act, (float *)(act + n_tok * nb), n_tok, n_cols, nb8, n_threads);

    int nt = rows_threads(n_rows, n_cols, n_tok, n_threads);
    if (nt == 1) { /* no OpenMP call at all: small decode products are ~1 us */
        run_rows(&isa, t, row_bytes, y, w, weight_type, x, act, n_rows, n_cols, n_tok, 0, n_rows);
        return;
    }
    struct rows_job job = {&isa, t, row_bytes, y, w, weight_type, x, act, n_rows, n_cols, n_tok};
    struct share sh[KERN_SHARES_MAX];
    nt = nt < KERN_SHARES_MAX ? nt : KERN_SHARES_MAX;
    int64_t n_units = (n_rows + 15) / 16; /* even shares */
    for (int i = 0; i < nt; i++)
        share_set(&sh[i], n_units * i / nt, n_units * (i + 1) / nt);
    int64_t want = claim_units(row_bytes);
#pragma omp parallel num_threads(nt)
    {
        int ith = omp_get_thread_num();
        run_shares(sh, nt, want, ith, rows_units, &job);
        prefetch_after(kc, ith, nt);
    }
}

/* Products with one input, their rows in runs of 16 ("units") numbered through all the
 * matrices in order. */
struct packed_job {
    const struct kern_isa *isa;
    float *const *y;
    const struct kern_packed *const *w;
    int n;
    const float *x;
    const struct blk_a8 *act;
    int64_t n_tok;
    int64_t first[KERN_PACKED_N_MAX + 1]; /* matrix i's units: [first[i], first[i + 1]) */
};

/* Units [u0, u1) of the job, matrix by matrix. */
static void packed_units(const void *job, int64_t u0, int64_t u1)
{
    const struct packed_job *j = job;
    for (int i = 0; i < j->n && u0 < u1; i++) {
        if (u0 >= j->first[i + 1])
            continue;
        int64_t e = u1 < j->first[i + 1] ? u1 : j->first[i + 1];
        int64_t n_rows = j->w[i]->n_rows;
        int64_t r0 = (u0 - j->first[i]) * 16, r1 = (e - j->first[i]) * 16;
        j->isa->rows_packed(j->y[i], j->w[i], j->x, j->act, j->n_tok, r0,
                            r1 < n_rows ? r1 : n_rows);
        u0 = e;
    }
}

int kern_matmul_packed_n(float *const *y, const struct kern_packed *const *w, int n,
                         const float *x, int64_t n_tok, const struct kern_ctx *kc)
{
    if (n < 1 || n > KERN_PACKED_N_MAX || !y || !w || n_tok <= 0 || !kc)
        return -1;
    struct kern_isa isa = isa_for(kc->isa);
    if (!isa.rows_packed)
        return -1;
    const int64_t n_cols = w[0] ? w[0]->n_cols : 0;
    int quant_type = -1;
    int64_t rows = 0;
    for (int i = 0; i < n; i++) {
        if (!w[i] || !w[i]->data || !y[i] || w[i]->n_cols != n_cols || w[i]->n_rows < 8)
            return -1;
        if (type_is_quantized(w[i]->type))
            quant_type = w[i]->type;
        rows += w[i]->n_rows;
    }
    int n_threads = kc->n_threads > 0 ? kc->n_threads : 1;
    struct blk_a8 *act = NULL;
    if (quant_type >= 0) { /* the integer path: activations to int8 first, once for all */
        if (kc->act == KERN_ACT_F32 || !kc->scratch || !isa.quant_a8)
            return -1;
        size_t need = kern_matmul_scratch_bytes(quant_type, n_cols, n_tok);
        if (need == 0 || need == SIZE_MAX || kc->scratch_bytes < need)
            return -1;
        act = (struct blk_a8 *)(((uintptr_t)kc->scratch + 63) & ~(uintptr_t)63);
        quant_acts(&isa, x, act, NULL, n_tok, n_cols, 0, n_threads);
    }

    int nt = rows_threads(rows, n_cols, n_tok, n_threads); /* on the products together */
    if (nt == 1) {
        for (int i = 0; i < n; i++)
            isa.rows_packed(y[i], w[i], x, act, n_tok, 0, w[i]->n_rows);
        return 0;
    }
    struct packed_job job = {&isa, y, w, n, x, act, n_tok, {0}};
    for (int i = 0; i < n; i++)
        job.first[i + 1] = job.first[i] + (w[i]->n_rows + 15) / 16;
    /* Shares by bytes (types differ in bytes per row), each thread's units contiguous
     * in the list, and in memory when the matrices lie one after the other: thread t's
     * begins with the first unit starting at or past the t/nt point of the bytes. */
    struct share sh[KERN_SHARES_MAX];
    nt = nt < KERN_SHARES_MAX ? nt : KERN_SHARES_MAX;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += w[i]->bytes;
    int64_t start = 0;
    for (int t = 0; t < nt; t++) {
        int64_t end = job.first[n];
        if (t + 1 < nt) {
            size_t at = total / (size_t)nt * (size_t)(t + 1) +
                        total % (size_t)nt * (size_t)(t + 1) / (size_t)nt;
            size_t off = 0;
            int i = 0;
            while (i < n - 1 && at >= off + w[i]->bytes)
                off += w[i++]->bytes;
            size_t unit = w[i]->bytes / (size_t)w[i]->n_rows * 16; /* bytes of 16 rows */
            end = job.first[i] + (int64_t)((at - off + unit - 1) / unit);
            end = end < job.first[i + 1] ? end : job.first[i + 1];
            end = end > start ? end : start;
        }
        share_set(&sh[t], start, end);
        start = end;
    }
    int64_t want = claim_units(total / (size_t)(rows > 0 ? rows : 1));
#pragma omp parallel num_threads(nt)
    {
        int ith = omp_get_thread_num();
        run_shares(sh, nt, want, ith, packed_units, &job);
        prefetch_after(kc, ith, nt);
    }
    return 0;
}

int kern_matmul_packed(float *y, const struct kern_packed *w, const float *x, int64_t n_tok,
                       const struct kern_ctx *kc)
{
    return kern_matmul_packed_n(&y, &w, 1, x, n_tok, kc);
}
