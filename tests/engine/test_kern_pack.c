/*
 * tests/engine/test_kern_pack.c - the packed 8-row kernels (engine/kern_pack.c,
 * kern_matmul_packed) for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K, and the grouped
 * F16 / BF16 layout:
 *  - against kern_matmul_ref within the int8 path's budget (each activation rounded to
 *    its int8 level: sum_k |w_k| * amax(block) / 254, plus 3e-6 * sum_k |w_k x_k|);
 *  - against kern_matmul's row layout on the same int8 activations within the float
 *    summation budget alone (3e-6 * S): the integer dot products are the same numbers;
 *  - bit-identity: 1, 2 and 3 threads; a token alone vs inside a batch of any size;
 *    AVX2 (maddubs) vs AVX-512 (VNNI);
 *  - F16 / BF16: bit-identical to kern_matmul on the file's layout (the same sums in the
 *    same order), whatever the thread count, batch split or ISA level;
 *  - kern_matmul_packed_n: several matrices on one input give each one's
 *    kern_matmul_packed bits, whatever the thread count, the mix of types and which
 *    thread takes which rows;
 *  - what is not packed: other types, rows not a multiple of 8, float activations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "engine/kern.h"
#include "engine/kern_int.h"
#include "engine/quant.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

struct pcase {
    int type;
    int64_t n_rows, n_cols, n_tok;
    void *w;
    float *wf, *x, *ref;
    void *scratch;
    size_t scratch_bytes;
    struct kern_packed p;
};

static void pcase_init(struct pcase *c, int type, int64_t n_rows, int64_t n_cols, int64_t n_tok)
{
    const struct quant_traits *t = quant_traits_of(type);
    size_t rb;
    assert_true(quant_row_bytes(type, n_cols, &rb));
    c->type = type;
    c->n_rows = n_rows;
    c->n_cols = n_cols;
    c->n_tok = n_tok;
    c->w = malloc(rb * (size_t)n_rows);
    c->wf = malloc(sizeof(float) * (size_t)(n_rows * n_cols));
    c->x = malloc(sizeof(float) * (size_t)(n_tok * n_cols));
    c->ref = malloc(sizeof(float) * (size_t)(n_tok * n_rows));
    assert_true(c->w && c->wf && c->x && c->ref);
    for (int64_t i = 0; i < n_rows * n_cols; i++)
        c->wf[i] = tu_rnd_normal(&rng_state) * 0.05f * (i % 61 == 0 ? 5.0f : 1.0f);
    for (int64_t i = 0; i < n_tok * n_cols; i++)
        c->x[i] = tu_rnd_normal(&rng_state) * (i % 37 == 0 ? 8.0f : 1.0f);
    for (int64_t r = 0; r < n_rows; r++)
        t->quantize(c->wf + r * n_cols, (uint8_t *)c->w + (size_t)r * rb, n_cols);
    for (int64_t r = 0; r < n_rows; r++)
        t->dequantize((uint8_t *)c->w + (size_t)r * rb, c->wf + r * n_cols, n_cols);
    kern_matmul_ref(c->ref, c->w, type, c->x, n_rows, n_cols, n_tok);
    c->scratch_bytes = kern_matmul_scratch_bytes(type, n_cols, n_tok); /* 0 for F16/BF16 */
    c->scratch = malloc(c->scratch_bytes ? c->scratch_bytes : 64);
    assert_non_null(c->scratch);
    assert_int_equal(kern_pack(&c->p, c->w, type, n_rows, n_cols, false, 2), 0);
    /* the same bytes as the rows, but for Q4_K's and Q5_K's unpacked scales and mins
     * (+32 per super-block) */
    assert_int_equal(c->p.bytes, type == QUANT_TYPE_Q4_K   ? rb * (size_t)n_rows / 1152 * 1184
                                 : type == QUANT_TYPE_Q5_K ? rb * (size_t)n_rows / 1408 * 1440
                                                           : rb * (size_t)n_rows);
    assert_true(c->p.owned);
    /* into the caller's memory (model_repack's one allocation): the same bytes, and
     * kern_packed_free leaves the memory to its owner (ASan: no free of a foreign block) */
    assert_int_equal(kern_packed_bytes(type, n_rows, n_cols), c->p.bytes);
    uint8_t *mem = malloc(c->p.bytes + 128);
    assert_non_null(mem);
    struct kern_packed in;
    assert_int_equal(kern_pack_into(&in, mem + 64, c->w, type, n_rows, n_cols, false, 1), 0);
    assert_false(in.owned);
    assert_ptr_equal(in.data, mem + 64);
    assert_int_equal(in.bytes, c->p.bytes);
    assert_memory_equal(in.data, c->p.data, c->p.bytes);
    kern_packed_free(&in);
    assert_null(in.data);
    free(mem);
}

static void pcase_release(struct pcase *c)
{
    kern_packed_free(&c->p);
    assert_null(c->p.data);
    free(c->w);
    free(c->wf);
    free(c->x);
    free(c->ref);
    free(c->scratch);
}

static float *run_packed(const struct pcase *c, enum kern_isa_level isa, int n_threads,
                         int64_t t0, int64_t n_tok)
{
    float *y = malloc(sizeof(float) * (size_t)(n_tok * c->n_rows));
    assert_non_null(y);
    for (int64_t i = 0; i < n_tok * c->n_rows; i++)
        y[i] = NAN; /* every output must be written */
    struct kern_ctx kc = {.n_threads = n_threads,
                          .scratch = c->scratch,
                          .scratch_bytes = c->scratch_bytes,
                          .act = KERN_ACT_Q8,
                          .isa = isa};
    assert_int_equal(kern_matmul_packed(y, &c->p, c->x + t0 * c->n_cols, n_tok, &kc), 0);
    return y;
}

static float *run_rows(const struct pcase *c)
{
    float *y = malloc(sizeof(float) * (size_t)(c->n_tok * c->n_rows));
    assert_non_null(y);
    struct kern_ctx kc = {.n_threads = 1,
                          .scratch = c->scratch,
                          .scratch_bytes = c->scratch_bytes,
                          .act = KERN_ACT_Q8,
                          .isa = KERN_ISA_BEST};
    kern_matmul(y, c->w, c->type, c->x, c->n_rows, c->n_cols, c->n_tok, &kc);
    return y;
}

/* Worst |y - want| / budget (<= 1 passes); int8: the activation rounding budget too. */
static double check(const struct pcase *c, const float *y, const float *want, bool int8,
                    const char *what)
{
    double worst = 0;
    for (int64_t t = 0; t < c->n_tok; t++) {
        const float *xt = c->x + t * c->n_cols;
        for (int64_t r = 0; r < c->n_rows; r++) {
            const float *wr = c->wf + r * c->n_cols;
            double s = 0, q = 0;
            for (int64_t k = 0; k < c->n_cols; k++)
                s += fabs((double)wr[k] * xt[k]);
            if (int8)
                for (int64_t b = 0; b < c->n_cols; b += 32) {
                    double amax = 0, sw = 0;
                    for (int k = 0; k < 32; k++) {
                        amax = fmax(amax, fabs(xt[b + k]));
                        sw += fabs(wr[b + k]);
                    }
                    q += sw * amax / 254.0 * 1.0001;
                }
            double budget = q + 3e-6 * s + 1e-30;
            double got = y[t * c->n_rows + r], w = want[t * c->n_rows + r];
            double e = fabs(got - w) / budget;
            if (!(e <= 1.0))
                fail_msg("%s %s rows %lld cols %lld tok %lld: y[%lld][%lld] = %.9g, want %.9g, "
                         "budget %.3g",
                         what, quant_traits_of(c->type)->name, (long long)c->n_rows,
                         (long long)c->n_cols, (long long)c->n_tok, (long long)t, (long long)r,
                         got, w, budget);
            worst = e > worst ? e : worst;
        }
    }
    return worst;
}

static const int k_types[] = {QUANT_TYPE_Q4_0, QUANT_TYPE_Q5_0, QUANT_TYPE_Q8_0, QUANT_TYPE_Q6_K,
                              QUANT_TYPE_Q4_K, QUANT_TYPE_Q5_K, QUANT_TYPE_Q4_1, QUANT_TYPE_Q5_1};
#define N_TYPES (sizeof(k_types) / sizeof(k_types[0]))
/* every packed type: the integer ones, then the float ones */
static const int k_all[] = {QUANT_TYPE_Q4_0, QUANT_TYPE_Q5_0, QUANT_TYPE_Q8_0, QUANT_TYPE_Q6_K,
                            QUANT_TYPE_Q4_K, QUANT_TYPE_Q5_K, QUANT_TYPE_Q4_1, QUANT_TYPE_Q5_1,
                            QUANT_TYPE_F16,  QUANT_TYPE_BF16};
#define N_ALL (sizeof(k_all) / sizeof(k_all[0]))

static void test_packed_vs_ref(void **state)
{
    (void)state;
    static const int64_t shapes[][2] = {{8, 256}, {16, 256}, {24, 768}, {64, 2048}, {40, 512}};
    static const int64_t toks[] = {1, 3, 8, 17, 64};
    if (!kern_pack_supported(QUANT_TYPE_Q4_0, 8, 32)) {
        print_message("packed kernels: not on this CPU (skipped)\n");
        skip();
    }
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        double worst_ref = 0, worst_rows = 0;
        for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
            for (size_t k = 0; k < sizeof(toks) / sizeof(toks[0]); k++) {
                struct pcase c;
                pcase_init(&c, k_types[ti], shapes[si][0], shapes[si][1], toks[k]);
                size_t ny = sizeof(float) * (size_t)(c.n_tok * c.n_rows);
                float *yb = run_packed(&c, KERN_ISA_BEST, 1, 0, c.n_tok);
                float *y2 = run_packed(&c, KERN_ISA_AVX2, 1, 0, c.n_tok);
                float *yt2 = run_packed(&c, KERN_ISA_BEST, 2, 0, c.n_tok);
                float *yt3 = run_packed(&c, KERN_ISA_BEST, 3, 0, c.n_tok);
                float *yr = run_rows(&c);
                worst_ref = fmax(worst_ref, check(&c, yb, c.ref, true, "packed vs ref"));
                worst_rows = fmax(worst_rows, check(&c, yb, yr, false, "packed vs rows"));
                assert_memory_equal(yb, y2, ny); /* VNNI == maddubs exactly */
                assert_memory_equal(yb, yt2, ny);
                assert_memory_equal(yb, yt3, ny);
                free(yb);
                free(y2);
                free(yt2);
                free(yt3);
                free(yr);
                pcase_release(&c);
            }
        print_message("%-5s packed: worst error / budget vs reference %.3f, vs row layout "
                      "(float order only) %.3f\n",
                      quant_traits_of(k_types[ti])->name, worst_ref, worst_rows);
    }
}

/* A token gives the same bits alone, in a batch of 2..KP_PT, or in a larger one. */
static void test_packed_batch_independent(void **state)
{
    (void)state;
    if (!kern_pack_supported(QUANT_TYPE_Q4_0, 8, 32))
        skip();
    for (size_t ti = 0; ti < N_ALL; ti++) {
        struct pcase c;
        pcase_init(&c, k_all[ti], 48, 512, 41); /* 41: past one 32-token chunk */
        float *all = run_packed(&c, KERN_ISA_BEST, 2, 0, c.n_tok);
        for (int64_t n = 1; n <= 9; n += 4)
            for (int64_t t0 = 0; t0 + n <= c.n_tok; t0 += n) {
                float *y = run_packed(&c, KERN_ISA_BEST, 1, t0, n);
                assert_memory_equal(y, all + t0 * c.n_rows, sizeof(float) * (size_t)(n * c.n_rows));
                free(y);
            }
        free(all);
        pcase_release(&c);
    }
}

/* kern_packed_row gives back every row's file bytes exactly. */
static void test_packed_rows_round_trip(void **state)
{
    (void)state;
    if (!kern_pack_supported(QUANT_TYPE_Q4_0, 8, 32))
        skip();
    for (size_t ti = 0; ti < N_ALL; ti++) {
        struct pcase c;
        pcase_init(&c, k_all[ti], 24, 512, 1);
        size_t rb;
        assert_true(quant_row_bytes(c.type, c.n_cols, &rb));
        uint8_t *row = malloc(rb);
        assert_non_null(row);
        for (int64_t r = 0; r < c.n_rows; r++) {
            assert_int_equal(kern_packed_row(&c.p, r, row), 0);
            assert_memory_equal(row, (const uint8_t *)c.w + (size_t)r * rb, rb);
        }
        assert_int_equal(kern_packed_row(&c.p, c.n_rows, row), -1);
        assert_int_equal(kern_packed_row(&c.p, -1, row), -1);
        free(row);
        pcase_release(&c);
    }
}

/* F16 / BF16 packed: exactly kern_matmul's numbers on the file's layout, for a token
 * alone, tiles of every size, token chunks past 32, any thread count and ISA level. */
static void test_packed_float(void **state)
{
    (void)state;
    static const int ftypes[] = {QUANT_TYPE_F16, QUANT_TYPE_BF16};
    static const int64_t shapes[][2] = {{8, 32}, {16, 256}, {24, 768}, {64, 2048}, {40, 640}};
    static const int64_t toks[] = {1, 2, 5, 8, 33, 70};
    if (!kern_pack_supported(QUANT_TYPE_F16, 8, 32))
        skip();
    for (size_t ti = 0; ti < 2; ti++) {
        double worst = 0;
        for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
            for (size_t k = 0; k < sizeof(toks) / sizeof(toks[0]); k++) {
                struct pcase c;
                pcase_init(&c, ftypes[ti], shapes[si][0], shapes[si][1], toks[k]);
                size_t ny = sizeof(float) * (size_t)(c.n_tok * c.n_rows);
                float *yr = run_rows(&c);
                float *yb = run_packed(&c, KERN_ISA_BEST, 1, 0, c.n_tok);
                float *y2 = run_packed(&c, KERN_ISA_AVX2, 1, 0, c.n_tok);
                float *yt2 = run_packed(&c, KERN_ISA_BEST, 2, 0, c.n_tok);
                float *yt3 = run_packed(&c, KERN_ISA_BEST, 3, 0, c.n_tok);
                assert_memory_equal(yb, yr, ny);
                assert_memory_equal(y2, yr, ny);
                assert_memory_equal(yt2, yr, ny);
                assert_memory_equal(yt3, yr, ny);
                worst = fmax(worst, check(&c, yb, c.ref, false, "packed vs ref"));
                /* float activations ask for nothing the float path does not do */
                struct kern_ctx f32 = {.n_threads = 2,
                                       .scratch = NULL,
                                       .scratch_bytes = 0,
                                       .act = KERN_ACT_F32,
                                       .isa = KERN_ISA_BEST};
                assert_int_equal(kern_matmul_packed(yb, &c.p, c.x, c.n_tok, &f32), 0);
                assert_memory_equal(yb, yr, ny);
                free(yr);
                free(yb);
                free(y2);
                free(yt2);
                free(yt3);
                pcase_release(&c);
            }
        print_message("%-5s packed: bit-identical to the row layout; worst error / budget vs "
                      "reference %.3f\n",
                      quant_traits_of(ftypes[ti])->name, worst);
    }
}

/* Several matrices on one input in one call (a layer's q, k, v; gate, up): each output
 * has exactly its own kern_matmul_packed bits at 1, 2, 3 and 8 threads, whichever way the
 * threads' shares fall across the matrices (rows, types and so bytes per row differ) and
 * whichever thread ends up computing a run of rows. */
static void test_packed_n(void **state)
{
    (void)state;
    static const int sets[][3] = {
        {QUANT_TYPE_Q4_K, QUANT_TYPE_Q6_K, QUANT_TYPE_Q4_0},
        {QUANT_TYPE_Q4_0, QUANT_TYPE_Q4_0, QUANT_TYPE_Q4_0},
        {QUANT_TYPE_F16, QUANT_TYPE_Q8_0, QUANT_TYPE_Q5_0},
        {QUANT_TYPE_Q5_K, QUANT_TYPE_Q4_K, QUANT_TYPE_Q5_K},
        {QUANT_TYPE_Q5_1, QUANT_TYPE_Q4_1, QUANT_TYPE_Q8_0},
    };
    static const int64_t rows[3] = {520, 64, 264}; /* 848 x 1024: two threads' worth */
    static const int64_t toks[] = {1, 3};
    if (!kern_pack_supported(QUANT_TYPE_Q4_0, 8, 32))
        skip();
    for (size_t si = 0; si < sizeof(sets) / sizeof(sets[0]); si++)
        for (size_t k = 0; k < sizeof(toks) / sizeof(toks[0]); k++)
            for (int n = 1; n <= 3; n++) {
                struct pcase c[3];
                float *want[3], *got[3];
                const struct kern_packed *w[3];
                size_t scratch = 0;
                for (int i = 0; i < n; i++) {
                    pcase_init(&c[i], sets[si][i], rows[i], 1024, toks[k]);
                    w[i] = &c[i].p;
                    size_t ny = sizeof(float) * (size_t)(toks[k] * rows[i]);
                    want[i] = malloc(ny);
                    got[i] = malloc(ny);
                    assert_true(want[i] && got[i]);
                    if (c[i].scratch_bytes > scratch)
                        scratch = c[i].scratch_bytes;
                }
                void *sb = malloc(scratch ? scratch : 64);
                assert_non_null(sb);
                const float *x = c[0].x; /* one input for all */
                for (int i = 0; i < n; i++) {
                    struct kern_ctx kc = {.n_threads = 1,
                                          .scratch = sb,
                                          .scratch_bytes = scratch,
                                          .act = KERN_ACT_Q8,
                                          .isa = KERN_ISA_BEST};
                    assert_int_equal(kern_matmul_packed(want[i], w[i], x, toks[k], &kc), 0);
                }
                /* 8 threads on this 2-core machine: some get descheduled, and the others
                 * take their rows from the back of their shares (run_shares) */
                static const int threads[] = {1, 2, 3, 8};
                for (size_t ti = 0; ti < sizeof(threads) / sizeof(threads[0]); ti++) {
                    int nt = threads[ti];
                    for (int i = 0; i < n; i++)
                        for (int64_t j = 0; j < toks[k] * rows[i]; j++)
                            got[i][j] = NAN; /* every output must be written */
                    /* with a prefetch of what a next step would read (one range, a
                     * length no thread count divides evenly): no effect on the bits */
                    struct kern_prefetch pf = {{x, NULL}, sizeof(float) * 1024 - 4};
                    struct kern_ctx kc = {.n_threads = nt,
                                          .scratch = sb,
                                          .scratch_bytes = scratch,
                                          .act = KERN_ACT_Q8,
                                          .isa = KERN_ISA_BEST,
                                          .after = ti % 2 ? &pf : NULL};
                    assert_int_equal(kern_matmul_packed_n(got, w, n, x, toks[k], &kc), 0);
                    for (int i = 0; i < n; i++)
                        assert_memory_equal(got[i], want[i],
                                            sizeof(float) * (size_t)(toks[k] * rows[i]));
                }
                /* OpenMP may give fewer threads than asked (OMP_THREAD_LIMIT, nesting):
                 * here one, for two shares; the share nobody owns is still computed */
                int levels = omp_get_max_active_levels();
                omp_set_max_active_levels(0);
                for (int i = 0; i < n; i++)
                    for (int64_t j = 0; j < toks[k] * rows[i]; j++)
                        got[i][j] = NAN;
                struct kern_ctx kc2 = {.n_threads = 2,
                                       .scratch = sb,
                                       .scratch_bytes = scratch,
                                       .act = KERN_ACT_Q8,
                                       .isa = KERN_ISA_BEST};
                assert_int_equal(kern_matmul_packed_n(got, w, n, x, toks[k], &kc2), 0);
                omp_set_max_active_levels(levels);
                for (int i = 0; i < n; i++)
                    assert_memory_equal(got[i], want[i], sizeof(float) * (size_t)(toks[k] * rows[i]));
                free(sb);
                for (int i = 0; i < n; i++) {
                    free(want[i]);
                    free(got[i]);
                    pcase_release(&c[i]);
                }
            }
}

static void test_not_packed(void **state)
{
    (void)state;
    assert_false(kern_pack_supported(QUANT_TYPE_Q8_K, 8, 256)); /* activations only */
    assert_false(kern_pack_supported(QUANT_TYPE_F32, 8, 256));
    assert_false(kern_pack_supported(QUANT_TYPE_Q5_K, 8, 640)); /* not whole super-blocks */
    assert_false(kern_pack_supported(QUANT_TYPE_F16, 12, 256)); /* rows not a multiple of 8 */
    assert_false(kern_pack_supported(QUANT_TYPE_BF16, 8, 48));  /* not whole blocks */
    assert_false(kern_pack_supported(QUANT_TYPE_Q4_0, 12, 256)); /* rows not a multiple of 8 */
    assert_false(kern_pack_supported(QUANT_TYPE_Q8_0, 8, 48));   /* not whole blocks */
    assert_false(kern_pack_supported(QUANT_TYPE_Q6_K, 8, 96));   /* not whole super-blocks */
    struct kern_packed p;
    assert_int_equal(kern_pack(&p, NULL, QUANT_TYPE_F32, 8, 256, false, 1), -1);
    assert_null(p.data);
    assert_int_equal(kern_packed_bytes(QUANT_TYPE_F32, 8, 256), 0);
    assert_int_equal(kern_packed_bytes(QUANT_TYPE_Q4_0, 12, 256), 0);
    assert_null(kern_pack_alloc(0));
    if (!kern_pack_supported(QUANT_TYPE_Q4_0, 8, 32))
        return;
    struct pcase c;
    pcase_init(&c, QUANT_TYPE_Q4_0, 8, 64, 2);
    float y[16] = {0};
    struct kern_ctx f32 = {.n_threads = 1,
                           .scratch = c.scratch,
                           .scratch_bytes = c.scratch_bytes,
                           .act = KERN_ACT_F32,
                           .isa = KERN_ISA_BEST};
    assert_int_equal(kern_matmul_packed(y, &c.p, c.x, 2, &f32), -1);
    struct kern_ctx sc = {.n_threads = 1,
                          .scratch = c.scratch,
                          .scratch_bytes = c.scratch_bytes,
                          .act = KERN_ACT_Q8,
                          .isa = KERN_ISA_SCALAR};
    assert_int_equal(kern_matmul_packed(y, &c.p, c.x, 2, &sc), -1);
    struct kern_ctx small = {.n_threads = 1,
                             .scratch = c.scratch,
                             .scratch_bytes = c.scratch_bytes - 1,
                             .act = KERN_ACT_Q8,
                             .isa = KERN_ISA_BEST};
    assert_int_equal(kern_matmul_packed(y, &c.p, c.x, 2, &small), -1);
    assert_int_equal(kern_matmul_packed(y, &c.p, c.x, 2, NULL), -1);
    /* several at once: all of one width, none empty, at least one */
    struct pcase d;
    pcase_init(&d, QUANT_TYPE_Q4_0, 8, 32, 2);
    float y2[16] = {0};
    float *ys[2] = {y, y2};
    const struct kern_packed *ws[2] = {&c.p, &d.p};
    struct kern_ctx q8 = {.n_threads = 2,
                          .scratch = c.scratch,
                          .scratch_bytes = c.scratch_bytes,
                          .act = KERN_ACT_Q8,
                          .isa = KERN_ISA_BEST};
    assert_int_equal(kern_matmul_packed_n(ys, ws, 2, c.x, 2, &q8), -1);
    struct kern_packed empty = {0};
    const struct kern_packed *we[2] = {&c.p, &empty};
    assert_int_equal(kern_matmul_packed_n(ys, we, 2, c.x, 2, &q8), -1);
    assert_int_equal(kern_matmul_packed_n(ys, ws, 0, c.x, 2, &q8), -1);
    for (int i = 0; i < 16; i++)
        assert_true(y[i] == 0.0f && y2[i] == 0.0f); /* untouched */
    pcase_release(&d);
    pcase_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_packed),
        cmocka_unit_test(test_packed_rows_round_trip),
        cmocka_unit_test(test_packed_batch_independent),
        cmocka_unit_test(test_packed_vs_ref),
        cmocka_unit_test(test_packed_float),
        cmocka_unit_test(test_packed_n),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
