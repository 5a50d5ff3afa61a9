/*
 * reports/sweepview.h - a prompt-format sweep run (runs.kind "sweep", issue #8) read back
 * from its stored metrics for the report, the comparison page and the web UI: per task,
 * the accuracy of every format (acc@<id>, with stderr and n), the robustness figures
 * (fmt_mean, fmt_std, fmt_min, fmt_max, fmt_spread, recall_std) and the table by
 * display position of the gold answer (gold_rate_pos<j>, acc_gold_pos<j>,
 * pick_rate_pos<j>). Nothing is recomputed from samples: evals/sweep.c computed these
 * from the samples when the run finished, and the store is the truth.
 *
 * Two sweep runs (two checkpoints) compared: per task both have, each run's robustness
 * figures and Kendall's tau-b (compare_stats.h) between their per-format accuracies over
 * the formats both ran.
 *
 * Ownership: struct rpt_sweep_view owns its arrays (rpt_sweep_view_release) and borrows
 * every string from the metrics it was built from, which must outlive it. JSON results
 * are new references.
 */
#ifndef ASSAY_REPORTS_SWEEPVIEW_H
#define ASSAY_REPORTS_SWEEPVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

/* The reference format of a task, highlighted where a sweep ran it (evals/fmtgrammar.h;
 * DESIGN.md "Prompt-format sweeps"): value 0 on every axis for multiple choice, which is
 * lm-eval's own prompt for MMLU only (other tasks default to cloze scoring in lm-eval),
 * and "Question: ... \nAnswer:" (q1) for GSM8K's generation family, lm-eval's gsm8k. */
#define RPT_SWEEP_DEFAULT_FMT     "t0i0u0n0w0q0l0p0c0a0o0"
#define RPT_SWEEP_DEFAULT_FMT_GEN "t0i0u0n0w0q1l0p0c0a0o0"
#define RPT_SWEEP_MAX_POS         26 /* labels per format, as evals/sweep.h */

struct rpt_sweep_fmt {
    const char *id; /* the format id (the metric name after "acc@") */
    double acc, stderr_;
    int64_t n;
};

struct rpt_sweep_pos {
    double gold_rate; /* share of samples with the gold shown at this position */
    double acc_gold;  /* accuracy over those; NaN when the gold was never there */
    double acc_gold_stderr;
    double pick_rate; /* share of samples where the model picked this position */
    int64_t n_gold;   /* samples with the gold here */
};

struct rpt_sweep_task {
    const char *task;
    bool group;                 /* the across-task statistics of a group (--task mmlu) */
    struct rpt_sweep_fmt *fmts; /* best accuracy first; ties by id */
    int64_t n_fmts;
    const char *default_id; /* rpt_sweep_reference_fmt of the task */
    bool default_is_lmeval; /* it is lm-eval's own prompt for this task (MMLU, GSM8K) */
    int64_t default_idx;    /* index of default_id in fmts, or -1 */
    double mean, std, min, max, spread, recall_std; /* NaN when not stored */
    double flex_mean, flex_std, flex_spread;        /* GSM8K's flexible-extract; NaN when absent */
    struct rpt_sweep_pos pos[RPT_SWEEP_MAX_POS];    /* positions 1..n_pos at [0..n_pos) */
    int n_pos;
    int64_t n_samples; /* the n stored with gold_rate_pos<j> (all samples of the task) */
};

struct rpt_sweep_view {
    struct rpt_sweep_task *tasks; /* groups first, then by name */
    int64_t n_tasks;
};

/* The sweep tasks of metrics m[n] (every task with a stored fmt_mean). config_json is the
 * run's configuration: a task with statistics but not in its "tasks" list is a group
 * (NULL or unreadable: no groups). Errors: ASSAY_ENOMEM. */
int rpt_sweep_view_build(struct rpt_sweep_view *v, const struct store_metric *m, int64_t n,
                         const char *config_json, struct assay_error *err);
void rpt_sweep_view_release(struct rpt_sweep_view *v);

/* The reference format of a task (see RPT_SWEEP_DEFAULT_FMT); *lmeval: whether it is
 * lm-eval's own prompt for that task. A static string. */
const char *rpt_sweep_reference_fmt(const char *task, bool *lmeval);

/* {"tasks": [{"task", "group", "n_samples", "default_format", "default_is_lmeval",
 * "fmt_mean", "fmt_std", "fmt_min", "fmt_max", "fmt_spread", "recall_std",
 * "flex_fmt_mean", "flex_fmt_std", "flex_fmt_spread", "uniform_rate", "formats": [{"id",
 * "acc", "stderr", "n", "default"}] (best first), "positions": [{"pos", "gold_rate",
 * "acc_gold", "acc_gold_stderr", "n_gold", "pick_rate"}]}]}; NaN as null. NULL when out
 * of memory. */
json_t *rpt_sweep_view_json(const struct rpt_sweep_view *v);

/* Two sweep runs' metrics side by side: for each task (strcmp order) with fmt_mean in
 * both, [{"task", "n_formats", "a": {fmt_mean, fmt_std, fmt_min, fmt_max, fmt_spread,
 * recall_std}, "b": {...}, "kendall_tau_b"}] (null for NaN: fewer than 2 common formats
 * or a constant list); with_formats adds "default_format" (the task's reference format)
 * and "formats": [[id, acc a, acc b], ...] over the common formats in a's id order. Errors:
 * ASSAY_ENOMEM. */
int rpt_sweep_compare(json_t **out, const struct store_metric *ma, int64_t na,
                      const struct store_metric *mb, int64_t nb, bool with_formats,
                      struct assay_error *err);

/* rpt_sweep_compare of two stored runs; an empty array when either is not of kind
 * "sweep". Errors: the store's (ASSAY_ENOTFOUND for a missing run), ASSAY_ENOMEM. */
int rpt_sweep_compare_runs(json_t **out, struct store *s, int64_t run_a, int64_t run_b,
                           bool with_formats, struct assay_error *err);

#endif
