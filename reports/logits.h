/*
 * reports/logits.h - the compare-logits run: how its per-window samples are laid out
 * and how its metrics are computed from them. Engine-free: `assay compare-logits`
 * (cli/) runs the two models and calls cmp_logit_position (compare_stats.h) per
 * position; this file turns positions into a window's data_json and windows into the
 * run's metrics.
 *
 * One sample per window: task "compare-logits", item = the window index, score = the
 * window's mean KL, correct = -1, data_json =
 *   {"window", "token_start", "n_tokens", "kl_mean", "kl_max", "top1_agree" (count),
 *    "nll_base", "nll_model" (sums of -log p of the actual next token, nats),
 *    "kl": [per-position KL(base || model), nats]}
 * Metrics (task "compare-logits"): kl_mean (stderr: sd/sqrt(n)), kl_median, kl_p99,
 * kl_max, top1_agree (fraction; binomial stderr), ppl_base, ppl_model (exp of the mean
 * NLL over all scored positions), n = positions.
 */
#ifndef ASSAY_REPORTS_LOGITS_H
#define ASSAY_REPORTS_LOGITS_H

#include <stdint.h>

#include "base/error.h"
#include "reports/compare_stats.h"

#define RPT_LOGITS_TASK "compare-logits"

struct rpt_logits_window {
    int64_t window, token_start, n_tokens;
    double kl_mean, kl_max, nll_base, nll_model;
    int64_t top1_agree;
};

/* The data_json of a window from its per-position results pos[n] (n >= 1); every
 * position must have next >= 0. Returns a new string (free()) or NULL with err set. */
char *rpt_logits_window_json(struct rpt_logits_window *w_out, int64_t window, int64_t token_start,
                             const struct cmp_logit_pos *pos, int64_t n, struct assay_error *err);

struct rpt_logits_agg {
    int64_t n_windows, n_positions;
    struct cmp_kl_summary kl;
    double kl_stderr;
    double top1_agree, top1_stderr;
    double ppl_base, ppl_model;
};

/* Accumulate windows' data_json (in any order) ... */
struct rpt_logits_acc {
    double *kl;
    int64_t n, cap;
    int64_t n_windows, top1;
    double nll_base, nll_model;
};
void rpt_logits_acc_init(struct rpt_logits_acc *a);
void rpt_logits_acc_release(struct rpt_logits_acc *a);
/* ASSAY_EINVAL names `what` (e.g. "sample 12") when data_json is not a window's. */
int rpt_logits_acc_add(struct rpt_logits_acc *a, const char *data_json, const char *what,
                       struct assay_error *err);
/* ... and summarize them (sorts a's KL array). */
void rpt_logits_acc_finish(struct rpt_logits_acc *a, struct rpt_logits_agg *out);

#endif
