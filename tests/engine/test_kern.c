/*
 * tests/engine/test_kern.c - kern_matmul against kern_matmul_ref for every weight type,
 * token counts {1, 3, 17, 64} and several shapes (odd row counts, rows not a multiple
 * of 256), on every instruction set the CPU has (scalar, AVX2, AVX-512) and both
 * arithmetic paths, with these error budgets:
 *  - float path: |y - ref| <= 3e-6 * S, S = sum_k |w_k x_k| (float32 summation order
 *    differs from the reference; measured worst ~3e-7 * S);
 *  - int8 path: |y - ref| <= sum_k |w_k| * amax(x block of k) / 254 + 3e-6 * S, which is
 *    the largest error that rounding each activation to its int8 level can make.
 * And bit-identity where the arithmetic is the same: 1 vs 2 vs 3 threads; one token
 * alone vs in a batch; AVX2 vs AVX-512 on
 * the int8 path (exact integer dot products, then the same float operations); the
 * SIMD activation quantizer vs kern_quantize_a8_ref.
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
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static const int k_types[] = {
    QUANT_TYPE_F32,  QUANT_TYPE_F16,  QUANT_TYPE_BF16, QUANT_TYPE_Q4_0,
    QUANT_TYPE_Q4_1, QUANT_TYPE_Q5_0, QUANT_TYPE_Q5_1, QUANT_TYPE_Q8_0,
    QUANT_TYPE_Q4_K, QUANT_TYPE_Q5_K, QUANT_TYPE_Q6_K, QUANT_TYPE_Q8_K,
};

struct shape {
    int64_t n_rows, n_cols;
};

/* One case: weights (n_rows, n_cols) of type, x (n_tok, n_cols). */
struct kcase {
    int type;
    int64_t n_rows, n_cols, n_tok;
    void *w;
    float *wf; /* dequantized weights */
    float *x;
    float *ref;
    void *scratch;
    size_t scratch_bytes;
};

static void case_init(struct kcase *c, int type, int64_t n_rows, int64_t n_cols, int64_t n_tok)
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
    c->scratch_bytes = kern_matmul_scratch_bytes(type, n_cols, n_tok);
    c->scratch = c->scratch_bytes ? malloc(c->scratch_bytes) : NULL;
}

static void case_release(struct kcase *c)
{
    free(c->w);
    free(c->wf);
    free(c->x);
    free(c->ref);
    free(c->scratch);
}

static float *run(const struct kcase *c, enum kern_isa_level isa, enum kern_act act, int n_threads)
{
    float *y = malloc(sizeof(float) * (size_t)(c->n_tok * c->n_rows));
    assert_non_null(y);
    for (int64_t i = 0; i < c->n_tok * c->n_rows; i++)
        y[i] = NAN; /* every output must be written */
    struct kern_ctx kc = {.n_threads = n_threads,
                          .scratch = c->scratch,
                          .scratch_bytes = c->scratch_bytes,
                          .act = act,
                          .isa = isa};
    kern_matmul(y, c->w, c->type, c->x, c->n_rows, c->n_cols, c->n_tok, &kc);
    return y;
}

/* Worst |y - ref| / budget over all outputs (<= 1 passes). */
static double check(const struct kcase *c, const float *y, bool int8, const char *what)
{
    double worst = 0;
    for (int64_t t = 0; t < c->n_tok; t++) {
        const float *xt = c->x + t * c->n_cols;
        for (int64_t r = 0; r < c->n_rows; r++) {
            const float *wr = c->wf + r * c->n_cols;
            double s = 0, q = 0;
            for (int64_t k = 0; k < c->n_cols; k++)
                s += fabs((double)wr[k] * xt[k]);
            if (int8) {
                for (int64_t b = 0; b < c->n_cols; b += 32) {
                    double amax = 0, sw = 0;
                    for (int k = 0; k < 32; k++) {
                        amax = fmax(amax, fabs(xt[b + k]));
                        sw += fabs(wr[b + k]);
                    }
                    q += sw * amax / 254.0 * 1.0001;
                }
            }
            double budget = q + 3e-6 * s + 1e-30;
            double got = y[t * c->n_rows + r], want = c->ref[t * c->n_rows + r];
            double e = fabs(got - want) / budget;
            if (!(e <= 1.0))
                fail_msg("%s %s rows %lld cols %lld tok %lld: y[%lld][%lld] = %.9g, ref %.9g, "
                         "budget %.3g",
                         what, quant_traits_of(c->type)->name, (long long)c->n_rows,
                         (long long)c->n_cols, (long long)c->n_tok, (long long)t, (long long)r, got,
                         want, budget);
            worst = e > worst ? e : worst;
        }
    }
    return worst;
}

static bool is_float_type(int type)
{
    return type == QUANT_TYPE_F32 || type == QUANT_TYPE_F16 || type == QUANT_TYPE_BF16;
}

static void test_matmul_vs_ref(void **state)
{
    static const struct shape shapes[] = {{1, 256}, {7, 512}, {33, 256}, {20, 1024}};
    static const struct shape shapes32[] = {{5, 64}, {18, 96}}; /* block-32 types only */
    static const struct shape shapes1[] = {{3, 37}, {9, 8}};    /* float types only */
    static const int64_t toks[] = {1, 3, 17, 64};
    struct kern_ctx probe = {.n_threads = 1,
                             .scratch = NULL,
                             .scratch_bytes = 0,
                             .act = KERN_ACT_DEFAULT,
                             .isa = KERN_ISA_BEST};
    print_message("best instruction set: %s\n", kern_isa_name(&probe));
    for (size_t ti = 0; ti < sizeof(k_types) / sizeof(k_types[0]); ti++) {
        int type = k_types[ti];
        const struct quant_traits *tr = quant_traits_of(type);
        double worst_f = 0, worst_i = 0;
        for (int set = 0; set < 3; set++) {
            const struct shape *sh = set == 0 ? shapes : set == 1 ? shapes32 : shapes1;
            size_t nsh = set == 0   ? sizeof(shapes) / sizeof(shapes[0])
                         : set == 1 ? sizeof(shapes32) / sizeof(shapes32[0])
                                    : sizeof(shapes1) / sizeof(shapes1[0]);
            if (set == 1 && tr->block_elems != 32)
                continue;
            if (set == 2 && !is_float_type(type))
                continue;
            for (size_t si = 0; si < nsh; si++) {
                for (size_t k = 0; k < sizeof(toks) / sizeof(toks[0]); k++) {
                    struct kcase c;
                    case_init(&c, type, sh[si].n_rows, sh[si].n_cols, toks[k]);
                    float *ys = run(&c, KERN_ISA_SCALAR, KERN_ACT_F32, 1);
                    float *y2 = run(&c, KERN_ISA_AVX2, KERN_ACT_F32, 1);
                    float *yb = run(&c, KERN_ISA_BEST, KERN_ACT_F32, 2);
                    float *i2 = run(&c, KERN_ISA_AVX2, KERN_ACT_Q8, 1);
                    float *ib = run(&c, KERN_ISA_BEST, KERN_ACT_Q8, 1);
                    float *ib2 = run(&c, KERN_ISA_BEST, KERN_ACT_Q8, 2);
                    size_t ny = sizeof(float) * (size_t)(c.n_tok * c.n_rows);
                    /* the scalar path is the reference's arithmetic */
                    assert_memory_equal(ys, c.ref, ny);
                    worst_f = fmax(worst_f, check(&c, y2, false, "avx2 float"));
                    worst_f = fmax(worst_f, check(&c, yb, false, "best float"));
                    bool int8 = !is_float_type(type);
                    worst_i = fmax(worst_i, check(&c, i2, int8, "avx2 int8"));
                    worst_i = fmax(worst_i, check(&c, ib, int8, "best int8"));
                    assert_memory_equal(ib, ib2, ny); /* thread count does not matter */
                    float *ib3 = run(&c, KERN_ISA_BEST, KERN_ACT_Q8, 3);
                    assert_memory_equal(ib, ib3, ny);
                    free(ib3);
                    assert_memory_equal(ib, i2, ny); /* VNNI == maddubs exactly */
                    float *y21 = run(&c, KERN_ISA_AVX2, KERN_ACT_F32, 2);
                    assert_memory_equal(y2, y21, ny);
                    free(y21);
                    free(ys);
                    free(y2);
                    free(yb);
                    free(i2);
                    free(ib);
                    free(ib2);
                    case_release(&c);
                }
            }
        }
        print_message("%-5s worst error / budget: float %.3f, int8 %.3f\n", tr->name, worst_f,
                      worst_i);
    }
}

/* A token's output does not depend on the other tokens of the call (prefill and
 * token-by-token decoding agree bit for bit), on either path. */
static void test_batch_independent(void **state)
{
    for (size_t ti = 0; ti < sizeof(k_types) / sizeof(k_types[0]); ti++) {
        struct kcase c;
        case_init(&c, k_types[ti], 37, 512, 19);
        for (int path = 0; path < 2; path++) {
            enum kern_act act = path ? KERN_ACT_Q8 : KERN_ACT_F32;
            float *yb = run(&c, KERN_ISA_BEST, act, 2);
            for (int64_t t = 0; t < c.n_tok; t++) {
                float y1[37];
                struct kern_ctx kc = {.n_threads = 1,
                                      .scratch = c.scratch,
                                      .scratch_bytes = c.scratch_bytes,
                                      .act = act,
                                      .isa = KERN_ISA_BEST};
                kern_matmul(y1, c.w, c.type, c.x + t * c.n_cols, c.n_rows, c.n_cols, 1, &kc);
                assert_memory_equal(y1, yb + t * c.n_rows, sizeof(y1));
            }
            free(yb);
        }
        case_release(&c);
    }
}

/* Shapes big enough for kern_matmul to use several threads (small calls stay on one):
 * 1, 2, 3 and 8 threads give identical bits, rows split at different places (8 on a
 * 2-core machine: threads get descheduled and others take their rows). */
static void test_threads_identical(void **state)
{
    static const int64_t toks[] = {1, 5};
    for (size_t ti = 0; ti < sizeof(k_types) / sizeof(k_types[0]); ti++) {
        for (size_t k = 0; k < 2; k++) {
            struct kcase c;
            case_init(&c, k_types[ti], 301, 2048, toks[k]);
            size_t ny = sizeof(float) * (size_t)(c.n_tok * c.n_rows);
            for (int path = 0; path < 2; path++) {
                enum kern_act act = path ? KERN_ACT_Q8 : KERN_ACT_F32;
                float *y1 = run(&c, KERN_ISA_BEST, act, 1);
                float *y2 = run(&c, KERN_ISA_BEST, act, 2);
                float *y3 = run(&c, KERN_ISA_BEST, act, 3);
                float *y8 = run(&c, KERN_ISA_BEST, act, 8);
                assert_memory_equal(y1, y2, ny);
                assert_memory_equal(y1, y3, ny);
                assert_memory_equal(y1, y8, ny);
                check(&c, y1, path == 1 && !is_float_type(c.type), "threads");
                free(y1);
                free(y2);
                free(y3);
                free(y8);
            }
            case_release(&c);
        }
    }
}

/* Without enough scratch the int8 path is not taken: same result as the float path. */
static void test_no_scratch_falls_back(void **state)
{
    struct kcase c;
    case_init(&c, QUANT_TYPE_Q4_0, 8, 256, 3);
    float *yf = run(&c, KERN_ISA_BEST, KERN_ACT_F32, 1);
    size_t keep = c.scratch_bytes;
    c.scratch_bytes = keep - 1;
    float *y = run(&c, KERN_ISA_BEST, KERN_ACT_DEFAULT, 1);
    assert_memory_equal(yf, y, sizeof(float) * 24);
    c.scratch_bytes = keep;
    free(yf);
    free(y);
    assert_int_equal(kern_matmul_scratch_bytes(QUANT_TYPE_F16, 256, 3), 0);
    /* 3 tokens x 8 blocks, then 3 x 8 sums, then alignment room */
    assert_int_equal(kern_matmul_scratch_bytes(QUANT_TYPE_Q4_K, 256, 3),
                     3 * 8 * sizeof(struct blk_a8) + 3 * 8 * sizeof(float) + 64);
    assert_int_equal(kern_matmul_scratch_bytes(QUANT_TYPE_Q4_0, 96, 2),
                     2 * 3 * sizeof(struct blk_a8) + 2 * 8 * sizeof(float) + 64);
    /* NULL context: one thread, float path */
    float *y0 = malloc(sizeof(float) * 24);
    kern_matmul(y0, c.w, c.type, c.x, 8, 256, 3, NULL);
    free(y0);
    case_release(&c);
}

static void test_quant_a8(void **state)
{
    enum { N = 32 * 40 };
    float x[N];
    for (int i = 0; i < N; i++)
        x[i] = tu_rnd_normal(&rng_state) * (i % 7 == 0 ? 10.0f : 1.0f);
    for (int i = 64; i < 96; i++)
        x[i] = 0.0f; /* an all-zero block */
    for (int i = 96; i < 128; i++)
        x[i] = (float)(i - 112) * 0.5f; /* exact ties at level .5 */
    struct blk_a8 a[N / 32], b[N / 32];
    kern_quantize_a8_ref(x, a, N);
    for (int i = 0; i < N / 32; i++) {
        int sum = 0;
        for (int k = 0; k < 32; k++) {
            assert_true(a[i].qs[k] >= -127 && a[i].qs[k] <= 127);
            assert_true(fabsf(a[i].qs[k] * a[i].d - x[32 * i + k]) <= a[i].d * 0.5001f);
            sum += a[i].qs[k];
        }
        assert_true(a[i].s == a[i].d * (float)sum);
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        kern_quant_a8_avx2(x, b, N);
        assert_memory_equal(a, b, sizeof(a));
    }
#else
    (void)b;
#endif
}

/* The peaks bench measures are the hardware's: kern_fma_peak_flops / kern_int8_peak_ops
 * against chains written here, each from its own starting value. Regression: the f32 peak
 * read 583 GFLOP/s on two cores that do ~235 (its chains all started equal, the compiler
 * kept one, latency-bound, and the count assumed ten). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <time.h>

#define PEAK_TEST_CHAINS 16
static volatile float peak_seed = 2.0f;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

__attribute__((target("avx512f"), noinline)) static double fma_chains512(long n, float seed)
{
    __m512 a[PEAK_TEST_CHAINS];
    for (int k = 0; k < PEAK_TEST_CHAINS; k++)
        a[k] = _mm512_set1_ps(seed * (float)(k + 1));
    const __m512 m = _mm512_set1_ps(0.99999f), c = _mm512_set1_ps(seed * 1e-6f);
    for (long i = 0; i < n; i++)
        for (int k = 0; k < PEAK_TEST_CHAINS; k++)
            a[k] = _mm512_fmadd_ps(a[k], m, c);
    float s = 0;
    for (int k = 0; k < PEAK_TEST_CHAINS; k++)
        s += _mm512_reduce_add_ps(a[k]);
    return (double)s;
}

__attribute__((target("avx2,fma"), noinline)) static double fma_chains256(long n, float seed)
{
    __m256 a[PEAK_TEST_CHAINS / 2];
    for (int k = 0; k < PEAK_TEST_CHAINS / 2; k++)
        a[k] = _mm256_set1_ps(seed * (float)(k + 1));
    const __m256 m = _mm256_set1_ps(0.99999f), c = _mm256_set1_ps(seed * 1e-6f);
    for (long i = 0; i < n; i++)
        for (int k = 0; k < PEAK_TEST_CHAINS / 2; k++)
            a[k] = _mm256_fmadd_ps(a[k], m, c);
    float out[8], s = 0;
    for (int k = 0; k < PEAK_TEST_CHAINS / 2; k++) {
        _mm256_storeu_ps(out, a[k]);
        s += out[0];
    }
    return (double)s;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) static double
dot_chains512(long n, float seed)
{
    __m512i a[PEAK_TEST_CHAINS];
    for (int k = 0; k < PEAK_TEST_CHAINS; k++)
        a[k] = _mm512_set1_epi32((int)seed * (k + 1));
    __m512i u = _mm512_set1_epi8((char)seed), v = _mm512_set1_epi8(5);
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < PEAK_TEST_CHAINS; k++)
            a[k] = _mm512_dpbusd_epi32(a[k], u, v);
        u = _mm512_xor_si512(u, v);
    }
    double s = 0; /* the sums wrap: read them as doubles */
    for (int k = 0; k < PEAK_TEST_CHAINS; k++) {
        int32_t out[16];
        _mm512_storeu_si512((void *)out, a[k]);
        s += (double)out[0];
    }
    return s;
}

/* Best of 3: operations per second of f(n) making ops_per_iter operations per iteration. */
static double rate(double (*f)(long, float), double ops_per_iter)
{
    const long n = 5000000;
    double best = 0, sink = 0;
    for (int r = 0; r < 3; r++) {
        double t = now_s();
        sink += f(n, peak_seed);
        t = now_s() - t;
        if (ops_per_iter * (double)n / t > best)
            best = ops_per_iter * (double)n / t;
    }
    peak_seed += (float)(sink * 0.0);
    return best;
}
#endif

static void test_peaks_are_real(void **state)
{
    (void)state;
#if defined(__x86_64__)
    __builtin_cpu_init();
    /* best of rounds that alternate the two, so a busy moment (CI runs tests side by
     * side) cannot fall on one of them only */
    double fma = 0, dot = 0, peak = 0, p8 = 0;
    bool vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    for (int round = 0; round < 3; round++) {
        if (__builtin_cpu_supports("avx512f"))
            fma = fmax(fma, rate(fma_chains512, 2.0 * 16 * PEAK_TEST_CHAINS));
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            fma = fmax(fma, rate(fma_chains256, 2.0 * 8 * (PEAK_TEST_CHAINS / 2)));
        else
            skip();
        peak = fmax(peak, kern_fma_peak_flops(1));
        if (vnni) {
            dot = fmax(dot, rate(dot_chains512, 2.0 * 64 * PEAK_TEST_CHAINS));
            p8 = fmax(p8, kern_int8_peak_ops(1));
        }
    }
    /* the old loop read 2.5x the real peak; a loose lower bound, as the point is that the
     * peak is not inflated */
    print_message("f32 FMA: kern %.1f GFLOP/s, test chains %.1f\n", peak / 1e9, fma / 1e9);
    assert_true(peak > 0.4 * fma && peak < 1.6 * fma);
    if (vnni) {
        print_message("int8 VNNI: kern %.1f GOP/s, test chains %.1f\n", p8 / 1e9, dot / 1e9);
        assert_true(p8 > 0.4 * dot && p8 < 1.6 * dot);
    }
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quant_a8),          cmocka_unit_test(test_no_scratch_falls_back),
        cmocka_unit_test(test_batch_independent), cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_matmul_vs_ref),     cmocka_unit_test(test_peaks_are_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
