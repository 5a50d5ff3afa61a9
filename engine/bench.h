/*
 * engine/bench.h - `assay bench`: prompt-processing and generation speed of the local
 * engine on a checkpoint, as llama-bench measures them (random tokens; pp = one batch of
 * n_prompt tokens into an empty cache; tg = n_gen single-token steps from an empty cache),
 * with the machine's memory bandwidth and FMA peak measured in the same run so the figures
 * read as fractions of what the hardware allows.
 */
#ifndef ASSAY_ENGINE_BENCH_H
#define ASSAY_ENGINE_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

struct bench_params {
    int32_t n_prompt; /* 0: skip pp */
    int32_t n_gen;    /* 0: skip tg */
    int n_threads;
    int reps;
    bool matmul_ref;
    bool no_repack;   /* keep the file's row layout (engine/kern.h: struct kern_packed) */
    bool no_hw;       /* skip the bandwidth and FMA measurements */
};

struct bench_stat {
    double median, min, max; /* over reps: tokens/s, or bytes/s for the bandwidth */
};

struct bench_result {
    double load_s;               /* opening and binding the checkpoint */
    struct bench_stat pp, tg;
    double bandwidth_bytes_s;    /* memory read bandwidth, all threads: bandwidth.median */
    struct bench_stat bandwidth; /* one sample (best of 2 passes over 1 GiB) before the first
                                  * tg repetition and one after each, so every repetition
                                  * has the ceiling of its own minutes; 3 after the pp
                                  * repetitions without tg */
    int n_bandwidth;             /* samples */
    double *bw_sample;           /* the n_bandwidth samples in the order taken, bytes/s */
    int n_tg;                    /* tg repetitions */
    double *tg_rep;              /* their tokens/s, in order: repetition i ran between
                                  * bw_sample[i] and bw_sample[i + 1] */
    struct bench_stat tg_fraction; /* over repetitions: tokens/s x bytes per token / the
                                    * mean of the samples just before and after it */
    int n_bw_moved;              /* repetitions whose two samples differ by more than 15%:
                                  * the bandwidth changed during them, and their fraction
                                  * is uncertain */
    double fma_peak_flops;       /* float32 FMA peak, all threads */
    double int8_peak_ops;        /* int8 multiply-add peak (2 ops per product), all threads */
    double weight_bytes_per_token; /* bytes of weights a generated token reads */
    double tg_fraction_of_ceiling; /* tg_fraction.median: on a host whose bandwidth moves
                                    * from minute to minute, each repetition against its
                                    * own ceiling, not the median tokens/s against the
                                    * median sample */
    double pp_flops_per_token;   /* matrix-multiply FLOPs per prompt token (weights only;
                                  * the output matrix runs for the last token alone) */
    double pp_int8_ops_per_token; /* the part of pp_flops_per_token made in int8 */
    double pp_fraction_of_peak;  /* pp median x seconds per token at the peaks: float
                                  * products at the FMA peak, int8 ones at the int8 peak */
    int64_t peak_rss_bytes;      /* the model's peak: the bandwidth buffer is not counted */
    int64_t kv_bytes;
};

/* Fills out; on success the caller frees its arrays with bench_result_free (on failure
 * there are none). */
int bench_run(const char *path, const struct bench_params *p, struct bench_result *out,
              const struct progress *prog, struct assay_error *err);
void bench_result_free(struct bench_result *r);

#endif
