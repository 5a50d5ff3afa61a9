/*
 * engine/kern_membw.c - the machine's memory read bandwidth, measured the way generation
 * reads weights: every thread streams its share of a buffer much larger than the caches.
 * `assay bench` divides the bytes of weights read per generated token by this figure to
 * give the ceiling on generation speed.
 */
#include "engine/kern.h"

#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "base/clock.h"

#if defined(__x86_64__)
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t *p, size_t n)
{
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_load_si256((const __m256i *)(p + i));
        __m256i b = _mm256_load_si256((const __m256i *)(p + i + 32));
        __m256i c = _mm256_load_si256((const __m256i *)(p + i + 64));
        __m256i d = _mm256_load_si256((const __m256i *)(p + i + 96));
        acc = _mm256_xor_si256(acc, _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d)));
    }
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, acc);
    uint64_t s = out[0] ^ out[1] ^ out[2] ^ out[3];
    for (; i < n; i++)
        s ^= p[i];
    return s;
}
#endif

static uint64_t sum_scalar(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        s ^= v;
    }
    for (; i < n; i++)
        s ^= p[i];
    return s;
}

double kern_read_bandwidth(const void *buf, size_t bytes, int n_threads, int reps)
{
    const uint8_t *p = buf;
    if (n_threads < 1)
        n_threads = 1;
    if (reps < 1)
        reps = 1;
#if defined(__x86_64__)
    int avx2 = __builtin_cpu_supports("avx2");
#else
    int avx2 = 0;
#endif
    double best = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = clock_now_s();
        uint64_t total = 0;
#pragma omp parallel num_threads(n_threads) reduction(^ : total)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t chunk = (bytes / (size_t)nt) & ~(size_t)127;
            size_t start = (size_t)t * chunk;
            size_t len = t == nt - 1 ? bytes - start : chunk;
#if defined(__x86_64__)
            total ^= avx2 ? sum_avx2(p + start, len) : sum_scalar(p + start, len);
#else
            total ^= sum_scalar(p + start, len);
#endif
        }
        double dt = clock_now_s() - t0;
        sink ^= total;
        double bw = (double)bytes / dt;
        if (bw > best)
            best = bw;
    }
    (void)sink;
    return best;
}

/* ---- arithmetic peaks ------------------------------------------------------------------
 *
 * KERN_PEAK_CHAINS independent chains keep both FMA pipes busy through the 4-cycle latency.
 * Each chain starts from its own value, derived from a run-time seed: chains that start
 * equal and see the same operations are one chain to the compiler, which then keeps a
 * single latency-bound chain and the "peak" reads several times too high (it did: 583
 * GFLOP/s on two cores whose real peak is ~235). */
#define KERN_PEAK_CHAINS 12

#if defined(__x86_64__)
#define PEAK_LOOP(T, SET1, FMA)                                                                    \
    T a[KERN_PEAK_CHAINS];                                                                         \
    for (int k = 0; k < KERN_PEAK_CHAINS; k++)                                                     \
        a[k] = SET1(seed + 0.125f * (float)k);                                                    \
    const T m = SET1(0.999999f), c = SET1(1e-7f * seed);                                          \
    for (long i = 0; i < iters; i++)                                                               \
        for (int k = 0; k < KERN_PEAK_CHAINS; k++)                                                 \
            a[k] = FMA(a[k], m, c);

__attribute__((target("avx512f"))) static double fma_loop_avx512(long iters, float seed)
{
    PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps)
    __m512 s = a[0];
    for (int k = 1; k < KERN_PEAK_CHAINS; k++)
        s = _mm512_add_ps(s, a[k]);
    return (double)_mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static double fma_loop_avx2(long iters, float seed)
{
    PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps)
    __m256 s = a[0];
    for (int k = 1; k < KERN_PEAK_CHAINS; k++)
        s = _mm256_add_ps(s, a[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return (double)(out[0] + out[7]);
}

/* int8 products as the integer path makes them: VNNI's dpbusd (64 per instruction), or
 * AVX2's maddubs + madd + add (32 per three instructions). The bytes change every
 * iteration, so the products cannot be hoisted out of the loop. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double dot_loop_vnni(long iters,
                                                                                    int seed)
{
    __m512i a[KERN_PEAK_CHAINS];
    for (int k = 0; k < KERN_PEAK_CHAINS; k++)
        a[k] = _mm512_set1_epi32(seed + k);
    __m512i u = _mm512_set1_epi8((char)(seed | 1)), s = _mm512_set1_epi8(3);
    const __m512i one = _mm512_set1_epi8(1);
    for (long i = 0; i < iters; i++) {
        for (int k = 0; k < KERN_PEAK_CHAINS; k++)
            a[k] = _mm512_dpbusd_epi32(a[k], u, s);
        u = _mm512_add_epi8(u, one);
    }
    __m512i t = a[0];
    for (int k = 1; k < KERN_PEAK_CHAINS; k++)
        t = _mm512_add_epi32(t, a[k]);
    int32_t out[16]; /* the sums wrap: add them as doubles, never as int */
    _mm512_storeu_si512((void *)out, t);
    return (double)out[0] + (double)out[15];
}

#define KERN_PEAK_CHAINS_AVX2 6 /* 16 registers: 6 sums, 6 products, bytes, ones */
__attribute__((target("avx2"))) static double dot_loop_avx2(long iters, int seed)
{
    __m256i a[KERN_PEAK_CHAINS_AVX2], s[KERN_PEAK_CHAINS_AVX2];
    for (int k = 0; k < KERN_PEAK_CHAINS_AVX2; k++) {
        a[k] = _mm256_set1_epi32(seed + k);
        s[k] = _mm256_set1_epi8((char)(k + 1));
    }
    __m256i u = _mm256_set1_epi8((char)(seed | 1));
    const __m256i one8 = _mm256_set1_epi8(1), one16 = _mm256_set1_epi16(1);
    for (long i = 0; i < iters; i++) {
        for (int k = 0; k < KERN_PEAK_CHAINS_AVX2; k++)
            a[k] = _mm256_add_epi32(
                a[k], _mm256_madd_epi16(_mm256_maddubs_epi16(u, s[k]), one16));
        u = _mm256_add_epi8(u, one8);
    }
    __m256i t = a[0];
    for (int k = 1; k < KERN_PEAK_CHAINS_AVX2; k++)
        t = _mm256_add_epi32(t, a[k]);
    int32_t out[8];
    _mm256_storeu_si256((__m256i *)out, t);
    return (double)out[0] + (double)out[7];
}
#endif

/* Best of 3 runs of loop() on n_threads threads, in operations per second. */
static double peak_of(double (*loop)(long, float), double ops_per_iter, int n_threads)
{
    const long iters = 20000000;
    static volatile float seed = 1.0f; /* opaque to the compiler */
    double best = 0;
    volatile double sink = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = clock_now_s(), acc = 0;
#pragma omp parallel num_threads(n_threads) reduction(+ : acc)
        acc += loop(iters, seed);
        double dt = clock_now_s() - t0;
        sink += acc;
        double ops = ops_per_iter * (double)iters * n_threads / dt;
        if (ops > best)
            best = ops;
    }
    (void)sink;
    return best;
}

#if defined(__x86_64__)
static double dot_vnni(long iters, float seed)
{
    return dot_loop_vnni(iters, (int)seed);
}

static double dot_avx2(long iters, float seed)
{
    return dot_loop_avx2(iters, (int)seed);
}
#endif

double kern_fma_peak_flops(int n_threads)
{
#if defined(__x86_64__)
    if (n_threads < 1)
        n_threads = 1;
    if (__builtin_cpu_supports("avx512f"))
        return peak_of(fma_loop_avx512, 2.0 * 16 * KERN_PEAK_CHAINS, n_threads);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return peak_of(fma_loop_avx2, 2.0 * 8 * KERN_PEAK_CHAINS, n_threads);
#endif
    (void)n_threads;
    return 0;
}

double kern_int8_peak_ops(int n_threads)
{
#if defined(__x86_64__)
    if (n_threads < 1)
        n_threads = 1;
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        return peak_of(dot_vnni, 2.0 * 64 * KERN_PEAK_CHAINS, n_threads);
    if (__builtin_cpu_supports("avx2"))
        return peak_of(dot_avx2, 2.0 * 32 * KERN_PEAK_CHAINS_AVX2, n_threads);
#endif
    (void)n_threads;
    return 0;
}
