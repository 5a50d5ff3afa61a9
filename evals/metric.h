/*
 * evals/metric.h - per-sample scores and their aggregates, with lm-eval's definitions
 * (EVAL-NOTES.md sections 1-3). Pure functions: no allocation except where a caller's
 * buffer is named, no model, no store.
 *
 * Standard errors: the standard error of a mean is s/sqrt(n) with the n-1 sample
 * deviation (lm-eval mean_stderr); for 0/1 scores that is sqrt(p(1-p)/(n-1)). NaN when
 * n < 2. A macro average over groups (mean of per-task means) gets
 * sqrt(sum se_i^2) / m, treating the tasks as independent samples.
 */
#ifndef ASSAY_EVALS_METRIC_H
#define ASSAY_EVALS_METRIC_H

#include <stddef.h>
#include <stdint.h>

/* Running mean and variance (Welford) of per-sample scores. */
struct metric_acc {
    int64_t n;
    double mean;
    double m2;
};
void metric_acc_add(struct metric_acc *a, double x);
double metric_acc_mean(const struct metric_acc *a);   /* NaN when n == 0 */
double metric_acc_stderr(const struct metric_acc *a); /* NaN when n < 2 */

/* Mean and standard error of x[n] (lm-eval mean / mean_stderr). */
void metric_mean_stderr(const double *x, size_t n, double *mean, double *se);

/* Index of the largest v[i], ties to the lowest index (numpy argmax); -1 when n == 0.
 * NaN entries never win. */
int metric_argmax(const double *v, int n);
/* acc_norm's argmax: v[i] / len[i] (lengths in characters or bytes; a zero length
 * counts as 1 so an empty choice is scored, not divided by zero). */
int metric_argmax_norm(const double *ll, const int64_t *len, int n);

/* TruthfulQA MC2: sum over true answers of exp(ll) divided by the sum over all, with the
 * max subtracted first; labels[i] is 1 for a true answer. NaN when n == 0. */
double metric_mc2(const double *ll, const int8_t *labels, int n);

/* lm-eval's pooled_sample_stderr over k subtasks with sizes n[i] and standard errors
 * se[i]: s2 = sum (n_i - 1) n_i se_i^2 / (sum n_i - k), SE = sqrt(s2 / sum n_i) (within-
 * subtask variance only). NaN when sum n_i <= k or any se is NaN. */
double metric_pooled_stderr(const int64_t *n, const double *se, int k);

/* pass@k lives with the code tasks: codeexec_pass_at_k (evals/codeexec.h). */

/* GSM8K answer extraction, into out[cap] (NUL-terminated, truncated to fit):
 * strict: group 1 of the first match of "#### (\-?[0-9\.\,]+)";
 * flexible: the last match of "(-?[$0-9.,]{2,})|(-?[0-9]+)", its first non-empty group.
 * Either gives "[invalid]" when nothing matches. The result is strip()ped as lm-eval's
 * regex filter does. */
void metric_gsm8k_strict(const char *text, char *out, size_t cap);
void metric_gsm8k_flexible(const char *text, char *out, size_t cap);
/* gsm8k_cot's strict-match: group 1 of the first match of
 * "The answer is (\-?[0-9\.\,]+)." (the final "." is any character but a newline, as
 * Python's re has it), or "[invalid]"; strip()ped. */
void metric_gsm8k_cot_strict(const char *text, char *out, size_t cap);
/* exact_match normalisation of GSM8K (prediction and gold alike): delete ",", "$",
 * everything up to the last "#### ", a final "." (before an optional final newline),
 * then lowercase. In place. */
void metric_gsm8k_normalize(char *s);

/* Wilson 95% interval for k successes in n (z = 1.95996398454). */
void metric_wilson(int64_t k, int64_t n, double *lo, double *hi);

#endif
