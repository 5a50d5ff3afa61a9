/*
 * evals/sweep.h - prompt-format robustness sweeps (issue #8): every document of a task
 * (multiple choice, or gsm8k) under every chosen format of the grammar
 * (evals/fmtgrammar.h), each sample stored with its format id, and per task the spread
 * of accuracy across formats and, for multiple choice, accuracy by position of the gold
 * answer and the model's letter bias.
 *
 * Scope: every multiple-choice task (MMLU, ARC, HellaSwag, PIQA, BoolQ, TruthfulQA MC1
 * and MC2, Winogrande) and GSM8K among the generation tasks. The grammar lists the
 * choices with labels and scores the label (MMLU-style) for all multiple-choice tasks;
 * for non-MMLU tasks no grammar format equals their lm-eval cloze default.
 *  - Winogrande is shown as a 2-choice question: the sentence with its blank "_" (rebuilt
 *    from the mirror's partial-scoring rows, sweep_winogrande_doc) and the two options
 *    as choices; lm-eval's partial scoring stays `assay run`'s, not a grammar point.
 *  - TruthfulQA MC2 lists all of mc2_targets and scores every label; a sample's score is
 *    lm-eval's MC2 over the label log-likelihoods (mass of the true labels / mass of all),
 *    so its acc@<id> is the mean MC2 of the format, not an accuracy. Every true answer
 *    counts at its position in acc_gold_pos / gold_rate_pos (hit = the argmax pick is that
 *    answer); pick_rate_pos is the argmax pick's. More than SWEEP_MAX_POS choices is an
 *    error naming the document.
 *  - GSM8K sweeps the generation family of the grammar (FMTG_FAMILY_GEN: chat, casing,
 *    shots, spacing, question prefix, answer prefix; 540 formats): greedy generation with
 *    lm-eval's stop strings plus the format's question prefix (and "<end_of_turn>" under
 *    the chat template), max_tokens (default the task's 256), scored by the gsm8k
 *    strict-match (acc@<id>) and flexible-extract (flex@<id>) extractions. No gold
 *    position or letter bias.
 * Not supported: the other generation tasks (gsm8k_cot, HumanEval, MBPP).
 *
 * Order of the work (shared prefixes): per task, formats in grammar order (the axes
 * that change the start of the prompt vary slowest), and within a group of formats that
 * differ only in choice order, each document under all its shifts back to back, so the
 * backend's prefix cache keeps description + shots + question across them. A backend
 * call takes `batch` (document, format) items; the local backend sorts each call's
 * requests by tokens, so shared prefixes inside a call are adjacent.
 *
 * Resume: eval-style. The caller keys the run on sweep_plan_config's JSON; sweep_run
 * skips every (task, item, format) already stored.
 *
 * Ownership: struct sweep_plan is filled by sweep_plan_load and freed by
 * sweep_plan_release; backend and store are borrowed.
 */
#ifndef ASSAY_EVALS_SWEEP_H
#define ASSAY_EVALS_SWEEP_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"
#include "evals/fmtgrammar.h"
#include "evals/task.h"

struct backend;
struct store;

#define SWEEP_DEFAULT_BATCH 64
#define SWEEP_MAX_POS       26 /* labels per format */
#define SWEEP_SHOT_VARIANTS 5  /* values of the grammar's shots axis */
#define SWEEP_MAX_SHOTS     32 /* shot ids per document in shot_ids */

struct sweep_opts {
    int shots;            /* the count of the shots axis' values 0, 3, 4; -1: task default */
    int64_t limit;        /* first N documents of each task; <= 0: all */
    uint64_t seed;        /* few-shot sampler seed (as `assay run`) */
    int batch;            /* (document, format) items per backend call; 0: default */
    const char *data_dir; /* NULL: $ASSAY_DATA_DIR, then the datasets cache */
    const volatile sig_atomic_t *stop; /* non-zero: stop between batches, "interrupted" */
    int max_tokens; /* generation tasks: tokens per answer; <= 0: the task's (256) */
};

struct sweep_plan {
    struct sweep_opts opts;
    struct task_data *tasks;
    int n_tasks;
    int64_t *n_docs;       /* documents per task (after limit) */
    struct fmtg_fmt *fmts; /* ascending grammar index; never moved after building */
    uint64_t *fmt_idx;     /* their grammar indices */
    int64_t n_fmts;
    /* shots[(task * SWEEP_SHOT_VARIANTS + v)]: n_shots and ids (n_docs * 32) per doc */
    int *n_shots;
    uint32_t **shot_ids;
    char aggregate[64]; /* group name for across-task statistics, or "" */
    enum fmtg_family family; /* of all its tasks (sweep_task_family) */
};

/* The grammar family a task is swept in: ASSAY_EUSAGE saying why for a task the sweep
 * does not support. sweep_tasks_family: the family of a comma-separated list of tasks
 * and groups (names only; no dataset is read), ASSAY_EUSAGE when they mix families. */
int sweep_task_family(const struct task_def *d, enum fmtg_family *fam, struct assay_error *err);
int sweep_tasks_family(const char *task_list, enum fmtg_family *fam, struct assay_error *err);

/* Load the tasks (validated before any model call) and the formats (fmt_idx, n_fmts:
 * ascending grammar indices, copied). ASSAY_EUSAGE for a task the sweep does not
 * support. */
int sweep_plan_load(struct sweep_plan *p, const char *task_list, const uint64_t *fmt_idx,
                    int64_t n_fmts, const struct sweep_opts *o, struct assay_error *err);
void sweep_plan_release(struct sweep_plan *p);
/* Add "tasks", "shots", "limit", "seed" and "grammar" to cfg, and "max_tokens" for a
 * generation family (the caller adds its format selection). */
int sweep_plan_config(const struct sweep_plan *p, json_t *cfg, struct assay_error *err);
/* Total (document, format) items. */
int64_t sweep_plan_items(const struct sweep_plan *p);

/* The context and continuation of choice c for document doc of task ti under format
 * fi, appended to out. */
int sweep_render(const struct sweep_plan *p, int ti, int64_t doc, int64_t fi, int c,
                 bool continuation, struct buf *out, struct assay_error *err);

/* Evaluate every item not yet stored for run_id. Progress: items done / all. */
int sweep_run(const struct sweep_plan *p, struct backend *b, struct store *s, int64_t run_id,
              const struct progress *prog, struct assay_error *err);

/* Compute and store the metrics of the run from its samples, per task and, when the
 * plan has an aggregate name, over all its tasks (micro average):
 *   acc@<fmtid>            accuracy of each format (stderr over items)
 *   fmt_mean, fmt_std      mean and sample standard deviation (n - 1) of those
 *   fmt_min, fmt_max, fmt_spread   and max - min (n = number of formats)
 *   acc_gold_pos<j>        accuracy over samples whose gold is shown at position j (1..)
 *   gold_rate_pos<j>       share of samples with the gold at position j
 *   pick_rate_pos<j>       share of samples where the model picked position j
 *   recall_std             population std of acc_gold_pos over positions (RStd)
 * Positions are display positions, i.e. labels (A/1/a are all position 1). TruthfulQA
 * MC2: acc@<id> and fmt_* are over the per-sample MC2 score; every true answer is one
 * entry of acc_gold_pos / gold_rate_pos. Generation family (GSM8K): acc@<id> and fmt_*
 * are strict-match exact match, flex@<id> and flex_fmt_{mean,std,min,max,spread} the
 * same for flexible-extract; no position metrics. failed_rate (only when > 0): share of
 * samples stored with an error, which score 0 (a document a format cannot show; the
 * grammar's labels cover SWEEP_MAX_POS choices, "1." labels going on past 9). */
int sweep_compute_metrics(const struct sweep_plan *p, struct store *s, int64_t run_id,
                          struct assay_error *err);

/* The stop strings of a generation format (lm-eval's until list, then the format's
 * question prefix without trailing blanks when not already one, then "<end_of_turn>"
 * under the chat template): out[TASK_MAX_UNTIL + 2], borrowed from t and f; returns the
 * count. */
int sweep_gen_stops(const struct task_def *t, const struct fmtg_fmt *f, char *qstop, size_t qcap,
                    const char **out);

/* Winogrande's sweep view of a mirror row: the sentence with its blank (the options'
 * common prefix cut back to a word boundary, "_", then the continuation after a space
 * unless it starts with punctuation) in d->question and the two options in
 * d->choices; d->continuation is dropped. ASSAY_EINVAL naming the document when the
 * options cannot be told apart. */
int sweep_winogrande_doc(struct task_doc *d, struct assay_error *err);

/* ---- pure statistics ----------------------------------------------------------------- */

struct sweep_stats {
    double mean, std, min, max, spread; /* std: sample (n - 1); NaN when n < 2 */
    int n;
};
void sweep_stats_of(const double *x, int n, struct sweep_stats *out);

#endif
