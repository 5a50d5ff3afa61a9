/*
 * reports/compare_stats.c - paired bootstrap, McNemar's test and the per-position logit
 * comparison declared in compare_stats.h. Pure arithmetic: the only allocation is the
 * bootstrap's array of resampled deltas, freed before returning. Random numbers come
 * from a local splitmix64 so that results depend on the seed alone (no engine RNG, no
 * global state).
 */
#include "reports/compare_stats.h"

#include <math.h>
#include <stdlib.h>

#include "base/mem.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias (rejection of the short last block). */
static uint64_t uniform_below(uint64_t *state, uint64_t n)
{
    uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
    for (;;) {
        uint64_t r = splitmix64(state);
        if (r >= threshold)
            return r % n;
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double cmp_quantile_sorted(const double *sorted, int64_t n, double q)
{
    if (n <= 0)
        return NAN;
    if (q <= 0)
        return sorted[0];
    if (q >= 1)
        return sorted[n - 1];
    double h = (double)(n - 1) * q;
    int64_t lo = (int64_t)floor(h);
    if (lo >= n - 1)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

int cmp_paired_bootstrap(struct cmp_interval *out, const double *a, const double *b, int64_t n,
                         int resamples, uint64_t seed, double level, struct assay_error *err)
{
    out->n = n;
    out->resamples = resamples;
    out->seed = seed;
    out->level = level;
    out->mean_a = out->mean_b = out->delta = out->lo = out->hi = NAN;
    if (n < 0 || resamples < 1 || !(level > 0 && level < 1))
        return err_set(err, ASSAY_EUSAGE,
                       "bootstrap needs n >= 0, resamples >= 1 and 0 < level < 1");
    if (n == 0)
        return 0;
    double sa = 0, sb = 0;
    for (int64_t i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
    }
    out->mean_a = sa / (double)n;
    out->mean_b = sb / (double)n;
    out->delta = out->mean_b - out->mean_a;

    double *deltas = mem_alloc_array((size_t)resamples, sizeof(*deltas));
    if (!deltas)
        return err_set(err, ASSAY_ENOMEM, "bootstrap: out of memory for %d resamples",
                       resamples);
    uint64_t state = seed;
    for (int r = 0; r < resamples; r++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++) {
            uint64_t k = uniform_below(&state, (uint64_t)n);
            s += b[k] - a[k];
        }
        deltas[r] = s / (double)n;
    }
    qsort(deltas, (size_t)resamples, sizeof(*deltas), cmp_double);
    double tail = (1 - level) / 2;
    out->lo = cmp_quantile_sorted(deltas, resamples, tail);
    out->hi = cmp_quantile_sorted(deltas, resamples, 1 - tail);
    free(deltas);
    return 0;
}

double cmp_binom_two_sided_half(int64_t k, int64_t n)
{
    if (n <= 0)
        return 1.0;
    if (k > n - k)
        k = n - k;
    /* P[X <= k] for X ~ Bin(n, 1/2), summed in log space so large n cannot overflow. */
    double lnn1 = lgamma((double)n + 1), ln2n = (double)n * log(2.0), s = 0;
    for (int64_t i = 0; i <= k; i++)
        s += exp(lnn1 - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - ln2n);
    double p = 2 * s;
    return p > 1 ? 1.0 : p;
}

double cmp_chi2_sf_1df(double x)
{
    if (!(x > 0))
        return 1.0;
    return erfc(sqrt(x / 2));
}

void cmp_mcnemar(struct cmp_mcnemar *out, int64_t n01, int64_t n10)
{
    out->n01 = n01;
    out->n10 = n10;
    int64_t nd = n01 + n10;
    if (nd < CMP_MCNEMAR_EXACT_BELOW) {
        out->exact = 1;
        out->statistic = (double)(n01 < n10 ? n01 : n10);
        out->p_value = cmp_binom_two_sided_half(n01, nd);
        return;
    }
    out->exact = 0;
    double d = fabs((double)(n01 - n10)) - 1;
    if (d < 0)
        d = 0;
    out->statistic = d * d / (double)nd;
    out->p_value = cmp_chi2_sf_1df(out->statistic);
}

static int argmax_logits(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* log(sum exp(v)) with the max subtracted first; v finite or -inf, max finite. */
static double log_sum_exp(const float *v, int n, double max)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += exp((double)v[i] - max);
    return max + log(s);
}

int cmp_logit_position(struct cmp_logit_pos *out, const float *base, const float *model,
                       int n_vocab, int next, struct assay_error *err)
{
    if (n_vocab < 1 || next >= n_vocab)
        return err_set(err, ASSAY_EUSAGE, "logit comparison: bad vocabulary size or token id");
    for (int i = 0; i < n_vocab; i++)
        if (isnan(base[i]) || isnan(model[i]) || base[i] == INFINITY || model[i] == INFINITY)
            return err_set(err, ASSAY_EINVAL, "logit comparison: non-finite logit at token %d",
                           i);
    out->top1_base = argmax_logits(base, n_vocab);
    out->top1_model = argmax_logits(model, n_vocab);
    double mb = base[out->top1_base], mm = model[out->top1_model];
    if (!isfinite(mb) || !isfinite(mm))
        return err_set(err, ASSAY_EINVAL, "logit comparison: every logit is -inf");
    double lse_b = log_sum_exp(base, n_vocab, mb);
    double lse_m = log_sum_exp(model, n_vocab, mm);
    double kl = 0;
    for (int i = 0; i < n_vocab; i++) {
        if (base[i] == -INFINITY)
            continue; /* p_base = 0 contributes nothing */
        double lb = (double)base[i] - lse_b;
        double lm = (double)model[i] - lse_m; /* -inf when the model gives it zero */
        kl += exp(lb) * (lb - lm);
    }
    out->kl = kl < 0 ? 0 : kl; /* rounding can leave -1e-17 for identical inputs */
    out->logp_base = next >= 0 ? (double)base[next] - lse_b : NAN;
    out->logp_model = next >= 0 ? (double)model[next] - lse_m : NAN;
    return 0;
}

void cmp_kl_summarize(struct cmp_kl_summary *out, double *kl, int64_t n)
{
    out->n = n;
    out->mean = out->median = out->p99 = out->max = NAN;
    if (n <= 0)
        return;
    qsort(kl, (size_t)n, sizeof(*kl), cmp_double);
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += kl[i];
    out->mean = s / (double)n;
    out->median = cmp_quantile_sorted(kl, n, 0.5);
    out->p99 = cmp_quantile_sorted(kl, n, 0.99);
    out->max = kl[n - 1];
}

static int sgn(double v)
{
    return (v > 0) - (v < 0);
}

double cmp_kendall_tau_b(const double *x, const double *y, int64_t n)
{
    if (n < 2)
        return NAN;
    /* the sums are integers below 2^53 for any n a sweep can have, so exact in a double */
    double conc = 0, n0 = 0, tx = 0, ty = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            int a = sgn(x[i] - x[j]), b = sgn(y[i] - y[j]);
            n0++;
            if (a == 0)
                tx++;
            if (b == 0)
                ty++;
            conc += a * b;
        }
    double den = sqrt((n0 - tx) * (n0 - ty));
    return den > 0 ? conc / den : NAN;
}
