/*
 * reports/compare.h - `assay compare`: runs compared sample by sample. Samples are
 * matched by (task, item, format_id); only samples present in both runs count. For each
 * task and for all matched samples together: the delta of mean score (B - A) with a
 * paired bootstrap interval and McNemar's test on per-sample correctness
 * (compare_stats.h), and the samples that flipped each way. With more than two runs,
 * every later run is compared with the first.
 *
 * Ownership: struct rpt_pair_cmp owns its arrays (rpt_pair_cmp_release); it points into
 * the two struct rpt_rundata it was built from (sample indices), which must outlive it.
 */
#ifndef ASSAY_REPORTS_COMPARE_H
#define ASSAY_REPORTS_COMPARE_H

#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "reports/compare_stats.h"
#include "reports/report.h"
#include "reports/rundata.h"

struct rpt_cmp_task {
    const char *task;      /* borrowed from run A's samples; "(all)" for the overall row */
    int64_t n_a, n_b;      /* samples of this task in each run */
    int64_t n_paired;      /* matched samples */
    int64_t n_correctness; /* matched samples with correctness in both (correct >= 0) */
    struct cmp_interval ci;
    struct cmp_mcnemar mc; /* over n_correctness samples */
};

struct rpt_cmp_flip {
    int64_t a, b; /* sample indices in run A and run B */
};

struct rpt_pair_cmp {
    struct rpt_cmp_task *tasks; /* sorted by delta, largest gain first */
    int64_t n_tasks;
    struct rpt_cmp_task overall;
    struct rpt_cmp_flip *fixed, *broken; /* A wrong -> B right; A right -> B wrong */
    int64_t n_fixed, n_broken;
};

struct rpt_compare_options {
    int resamples;  /* CMP_BOOTSTRAP_RESAMPLES */
    uint64_t seed;  /* CMP_BOOTSTRAP_SEED */
    double level;   /* 0.95 */
};

int rpt_compare_pair(struct rpt_pair_cmp *out, const struct rpt_rundata *a,
                     const struct rpt_rundata *b, const struct rpt_compare_options *o,
                     struct assay_error *err);
void rpt_pair_cmp_release(struct rpt_pair_cmp *c);

/* {"run_a", "run_b", "resamples", "seed", "level", "overall": {...}, "tasks": [{"task",
 * "n_a", "n_b", "n_paired", "mean_a", "mean_b", "delta", "ci_low", "ci_high",
 * "mcnemar": {"n01", "n10", "test": "exact"|"chi2_cc", "statistic", "p_value"}}],
 * "n_fixed", "n_broken"}; NaN as null. New reference. */
json_t *rpt_pair_cmp_json(const struct rpt_pair_cmp *c, const struct rpt_rundata *a,
                          const struct rpt_rundata *b, const struct rpt_compare_options *o);

/* The comparison page of runs ids[n] (n >= 2), and, if json_out, an array of the pairs'
 * JSON (new reference). Text masking and samples per list follow ro. */
int rpt_compare_write(struct buf *out, json_t **json_out, struct store *s, const int64_t *ids,
                      size_t n, const struct rpt_options *ro, const struct rpt_compare_options *o,
                      struct assay_error *err);

#endif
