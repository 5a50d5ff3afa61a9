/*
 * bench/bench_matmul.c - matrix-product throughput per weight type, path and shape, and a
 * streaming-read bandwidth figure for context. Built with the rest (build/bench/):
 *
 *   build/bench/bench_matmul [n_threads]     (default 2; 1 thread is timed in CPU time)
 *
 * Prints, per (type, rows x cols, n_tok, path): ms per call (best of 5 samples of ~50 ms),
 * GFLOP/s (2 * rows * cols * n_tok / time) and GB/s of weight bytes read (weights once per
 * call). Paths: f32 = kern_matmul with float activations; int8 = kern_matmul with
 * activations rounded to int8 blocks (quantized weights only); packed = the 8-row
 * interleaved copy model_repack makes (kern_pack + kern_matmul_packed: int8 activations
 * for quantized types, float for F16). Shapes: 2048 and 16384 rows of 2048 columns (a
 * Gemma-2B attention projection, its FFN gate/up), which stay in a 32 MiB L3 between
 * calls, and 131072 rows, one token only, which do not: that row is the DRAM figure.
 */
#include "engine/kern.h"
#include "engine/quant.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

/* Wall clock, or with one thread the process CPU time (on a shared machine that
 * excludes time spent descheduled; it is what the kernel itself costs). */
static int g_cpu_clock;
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(g_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((float)(rng >> 40) / 16777216.0f - 0.5f) * 0.1f;
}

/* Streaming read of `bytes` with n_threads threads: GB/s (best of 3). */
static double bandwidth(size_t bytes, int n_threads)
{
    size_t n = bytes / sizeof(uint64_t);
    uint64_t *a = malloc(bytes);
    if (!a)
        return 0;
#pragma omp parallel for num_threads(n_threads)
    for (size_t i = 0; i < n; i++)
        a[i] = i;
    double best = 0;
    volatile uint64_t sink = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        uint64_t s = 0;
#pragma omp parallel for num_threads(n_threads) reduction(+ : s)
        for (size_t i = 0; i < n; i++)
            s += a[i];
        double dt = now_s() - t0;
        sink += s;
        if (bytes / dt / 1e9 > best)
            best = bytes / dt / 1e9;
    }
    free(a);
    return best;
}

/* One product: through the packed copy when p is given, else kern_matmul. */
static void call(const struct kern_packed *p, const struct kern_ctx *kc, float *y, const void *w,
                 int type, const float *x, int64_t n_rows, int64_t n_cols, int64_t n_tok)
{
    if (!p || kern_matmul_packed(y, p, x, n_tok, kc) != 0)
        kern_matmul(y, w, type, x, n_rows, n_cols, n_tok, kc);
}

/* Seconds per call: ~50 ms per sample, best of 5 (the machine may be shared). */
static double time_call(const struct kern_packed *p, const struct kern_ctx *kc, float *y,
                        const void *w, int type, const float *x, int64_t n_rows, int64_t n_cols,
                        int64_t n_tok)
{
    call(p, kc, y, w, type, x, n_rows, n_cols, n_tok); /* warm */
    double t0 = now_s();
    call(p, kc, y, w, type, x, n_rows, n_cols, n_tok);
    double one = now_s() - t0;
    int reps = (int)(0.05 / (one > 1e-6 ? one : 1e-6)) + 1;
    double dt = 1e30;
    for (int sample = 0; sample < 5; sample++) {
        t0 = now_s();
        for (int rep = 0; rep < reps; rep++)
            call(p, kc, y, w, type, x, n_rows, n_cols, n_tok);
        double d = (now_s() - t0) / reps;
        dt = d < dt ? d : dt;
    }
    return dt;
}

int main(int argc, char **argv)
{
    int n_threads = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2;
    if (n_threads < 1)
        n_threads = 1;
    printf("streaming read 1 GiB: %.1f GB/s (%d threads), %.1f GB/s (1 thread)\n",
           bandwidth((size_t)1 << 30, n_threads), n_threads, bandwidth((size_t)1 << 30, 1));
    static const int types[] = {QUANT_TYPE_Q8_0, QUANT_TYPE_Q4_0, QUANT_TYPE_Q4_1, QUANT_TYPE_Q5_1,
                                QUANT_TYPE_Q4_K, QUANT_TYPE_Q5_K, QUANT_TYPE_Q6_K, QUANT_TYPE_F16};
    /* 131072 rows: past the L3 between calls (decode only: 512 tokens would take seconds) */
    static const int64_t rows_list[] = {2048, 16384, 131072};
    static const int64_t toks[] = {1, 512};
    static const char *const path_name[] = {"f32", "int8", "packed"};
    const int64_t n_cols = 2048, max_rows = 131072;
    struct kern_ctx probe = {.n_threads = n_threads,
                             .scratch = NULL,
                             .scratch_bytes = 0,
                             .act = KERN_ACT_DEFAULT,
                             .isa = KERN_ISA_BEST};
    g_cpu_clock = n_threads == 1;
    printf("isa %s, %d threads, %s\n", kern_isa_name(&probe), n_threads,
           g_cpu_clock ? "process CPU time" : "wall clock");
    printf("%-5s %6s %5s %6s %10s %9s %8s\n", "type", "rows", "n_tok", "path", "ms/call",
           "GFLOP/s", "GB/s(w)");
    float *base = malloc(sizeof(float) * 2048 * n_cols);
    float *x = malloc(sizeof(float) * 512 * n_cols);
    float *y = malloc(sizeof(float) * 512 * 16384 > sizeof(float) * max_rows
                          ? sizeof(float) * 512 * 16384
                          : sizeof(float) * max_rows);
    if (!base || !x || !y) {
        fprintf(stderr, "bench_matmul: out of memory\n");
        return 1;
    }
    for (int64_t i = 0; i < 2048 * n_cols; i++)
        base[i] = rnd();
    for (int64_t i = 0; i < 512 * n_cols; i++)
        x[i] = rnd() * 20;
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        int type = types[ti];
        const struct quant_traits *tr = quant_traits_of(type);
        size_t rb;
        quant_row_bytes(type, n_cols, &rb);
        uint8_t *w = malloc(rb * (size_t)max_rows);
        if (!w) {
            fprintf(stderr, "bench_matmul: out of memory\n");
            return 1;
        }
        /* quantize 2048 rows once, repeat them: the kernels do not care */
        tr->quantize(base, w, 2048 * n_cols);
        for (int64_t k = 1; k < max_rows / 2048; k++)
            memcpy(w + (size_t)k * 2048 * rb, w, 2048 * rb);
        size_t sb = kern_matmul_scratch_bytes(type, n_cols, 512);
        void *scratch = sb ? malloc(sb) : NULL;
        for (size_t ri = 0; ri < sizeof(rows_list) / sizeof(rows_list[0]); ri++) {
            int64_t n_rows = rows_list[ri];
            struct kern_packed packed;
            bool have_packed = kern_pack(&packed, w, type, n_rows, n_cols, false, n_threads) == 0;
            for (size_t k = 0; k < 2; k++) {
                int64_t n_tok = toks[k];
                if (n_rows > 16384 && n_tok > 1)
                    continue;
                for (int path = 0; path < 3; path++) {
                    if ((path == 1 && type == QUANT_TYPE_F16) || (path == 2 && !have_packed))
                        continue;
                    struct kern_ctx kc = {.n_threads = n_threads,
                                          .scratch = scratch,
                                          .scratch_bytes = sb,
                                          .act = path == 0 ? KERN_ACT_F32 : KERN_ACT_Q8,
                                          .isa = KERN_ISA_BEST};
                    double dt = time_call(path == 2 ? &packed : NULL, &kc, y, w, type, x, n_rows,
                                          n_cols, n_tok);
                    double flop = 2.0 * (double)n_rows * (double)n_cols * (double)n_tok;
                    printf("%-5s %6lld %5lld %6s %10.3f %9.1f %8.1f\n", tr->name,
                           (long long)n_rows, (long long)n_tok, path_name[path], dt * 1e3,
                           flop / dt / 1e9, (double)rb * (double)n_rows / dt / 1e9);
                    fflush(stdout);
                }
            }
            if (have_packed)
                kern_packed_free(&packed);
        }
        free(scratch);
        free(w);
    }
    free(base);
    free(x);
    free(y);
    return 0;
}
