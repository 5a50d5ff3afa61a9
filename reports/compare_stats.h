/*
 * reports/compare_stats.h - the statistics behind `assay compare` and
 * `assay compare-logits` (and the web UI's /api/compare): pure functions over arrays
 * the caller owns. No store, no engine, no allocation except where stated.
 *
 * Paired data: a comparison of run A with run B uses only the samples present in both,
 * matched by (task, item, format_id). a[i] and b[i] are the scores of the same sample in
 * A and B; for accuracy-like tasks they are 0/1, but any per-sample score works.
 *
 * Paired bootstrap: the delta is mean(b) - mean(a). Each resample draws n indices with
 * replacement (the same indices for A and B, which keeps the pairing), and the interval
 * is the percentile interval of the resampled deltas (type 7 quantiles, as numpy's
 * default). The generator is splitmix64 seeded with `seed`, so a result is reproducible
 * from (data, resamples, seed). CMP_BOOTSTRAP_RESAMPLES is the number the reports use.
 *
 * McNemar's test on paired correctness: n01 = samples A got right and B got wrong,
 * n10 = samples A got wrong and B got right (the discordant pairs; concordant pairs
 * carry no information). With n01 + n10 < CMP_MCNEMAR_EXACT_BELOW the two-sided exact
 * binomial test (p = min(1, 2 * P[X <= min(n01,n10)]), X ~ Bin(n01+n10, 1/2)) is used,
 * as scipy / statsmodels mcnemar(exact=True); otherwise the chi-square statistic with
 * Edwards' continuity correction, (|n01 - n10| - 1)^2 / (n01 + n10), with one degree
 * of freedom (statsmodels mcnemar(exact=False, correction=True)).
 *
 * Logits: cmp_logit_position compares two full-vocabulary logit vectors at one position
 * (log-softmax of each, KL(base || model) in nats, top-1 agreement, log-prob of the
 * actual next token under each).
 */
#ifndef ASSAY_REPORTS_COMPARE_STATS_H
#define ASSAY_REPORTS_COMPARE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define CMP_BOOTSTRAP_RESAMPLES 10000
#define CMP_BOOTSTRAP_SEED      20240229u
#define CMP_MCNEMAR_EXACT_BELOW 25 /* discordant pairs: exact binomial below, chi-square at/above */

struct cmp_interval {
    int64_t n;        /* paired samples */
    double mean_a;    /* mean of a */
    double mean_b;    /* mean of b */
    double delta;     /* mean_b - mean_a */
    double lo, hi;    /* percentile interval of the resampled deltas; NaN when n == 0 */
    double level;     /* e.g. 0.95 */
    int resamples;
    uint64_t seed;
};

/* Paired bootstrap of mean(b) - mean(a) over n pairs. resamples >= 1, 0 < level < 1.
 * Allocates one array of `resamples` doubles (freed before returning).
 * Errors: ASSAY_EUSAGE for bad arguments, ASSAY_ENOMEM. n == 0 gives NaN figures, not
 * an error. */
int cmp_paired_bootstrap(struct cmp_interval *out, const double *a, const double *b, int64_t n,
                         int resamples, uint64_t seed, double level, struct assay_error *err);

struct cmp_mcnemar {
    int64_t n01;      /* A right, B wrong */
    int64_t n10;      /* A wrong, B right */
    int exact;        /* 1: exact binomial; 0: chi-square with continuity correction */
    double statistic; /* the chi-square statistic, or min(n01, n10) for the exact test */
    double p_value;   /* two-sided; 1 when there are no discordant pairs */
};

/* McNemar's test from the discordant counts (see the header comment for the choice). */
void cmp_mcnemar(struct cmp_mcnemar *out, int64_t n01, int64_t n10);

/* Building blocks, exposed for the tests. */
/* Two-sided exact binomial p-value for k of n under p = 1/2: min(1, 2 P[X <= min(k, n-k)]). */
double cmp_binom_two_sided_half(int64_t k, int64_t n);
/* Upper tail of the chi-square distribution with one degree of freedom: P[X > x]. */
double cmp_chi2_sf_1df(double x);
/* Type 7 quantile (numpy default) of sorted[n], q in [0, 1]; NaN when n == 0. */
double cmp_quantile_sorted(const double *sorted, int64_t n, double q);

/* ---- logit comparison ------------------------------------------------------------------ */

struct cmp_logit_pos {
    double kl;          /* KL(base || model) = sum p_base (log p_base - log p_model), nats, >= 0 */
    int top1_base;      /* argmax of base logits (ties: lowest index) */
    int top1_model;     /* argmax of model logits */
    double logp_base;   /* log p_base(next), or NaN when next < 0 */
    double logp_model;  /* log p_model(next), or NaN when next < 0 */
};

/* Compare two logit vectors of n_vocab entries at one position; next is the id of the
 * token that actually follows (-1 when none). Non-finite logits are ASSAY_EINVAL
 * (a -INFINITY logit is allowed: probability zero). Allocation-free. */
int cmp_logit_position(struct cmp_logit_pos *out, const float *base, const float *model,
                       int n_vocab, int next, struct assay_error *err);

/* Summary of a set of per-position KL values (the array is sorted in place). */
struct cmp_kl_summary {
    int64_t n;
    double mean, median, p99, max;
};
void cmp_kl_summarize(struct cmp_kl_summary *out, double *kl, int64_t n);

/* ---- rank agreement ------------------------------------------------------------------- */

/* Kendall's tau-b of two paired score lists, e.g. two checkpoints' accuracies on the same
 * prompt formats (does the format that helps one help the other?):
 *   tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2)),  n0 = n(n-1)/2,
 * with C / D the concordant / discordant pairs and n1 / n2 the pairs tied in x / in y, as
 * scipy.stats.kendalltau's default (variant 'b'). O(n^2); NaN when n < 2 or a list is
 * constant (scipy gives nan there too). */
double cmp_kendall_tau_b(const double *x, const double *y, int64_t n);

#endif
