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

/* ---- arithmetic peak ------------------------------------------------------------------- */

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static double fma_loop_avx512(long iters)
{
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
           a7 = a0, a8 = a0, a9 = a0;
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (long i = 0; i < iters; i++) {
        a0 = _mm512_fmadd_ps(a0, m, c);
        a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c);
        a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c);
        a7 = _mm512_fmadd_ps(a7, m, c);
        a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(a8, a9));
    return (double)_mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static double fma_loop_avx2(long iters)
{
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
           a7 = a0, a8 = a0, a9 = a0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (long i = 0; i < iters; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c);
        a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c);
        a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c);
        a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(a8, a9));
    float out[8];
    _mm256_storeu_ps(out, s);
    return (double)(out[0] + out[7]);
}
#endif

double kern_fma_peak_flops(int n_threads)
{
#if defined(__x86_64__)
    if (n_threads < 1)
        n_threads = 1;
    int w512 = __builtin_cpu_supports("avx512f");
    int w256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!w512 && !w256)
        return 0;
    const long iters = 20000000;
    double lanes = w512 ? 16 : 8;
    double best = 0;
    volatile double sink = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = clock_now_s(), acc = 0;
#pragma omp parallel num_threads(n_threads) reduction(+ : acc)
        acc += w512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
        double dt = clock_now_s() - t0;
        sink += acc;
        double flops = 2.0 * lanes * 10.0 * (double)iters * n_threads / dt;
        if (flops > best)
            best = flops;
    }
    (void)sink;
    return best;
#else
    (void)n_threads;
    return 0;
#endif
}
