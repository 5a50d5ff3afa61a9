/*
 * evals/runner.h - running a list of tasks against a backend, storing every sample as
 * its batch completes, and computing metrics from the stored samples.
 *
 * A plan is built before any model call: task names and groups are expanded, every
 * dataset file the run will read is loaded and validated (file:line errors, exit 3 in
 * the CLI), and the few-shot draws are fixed in document order. The plan's
 * configuration (tasks, effective shots, limit, seed, format ids) goes into the run's
 * configuration JSON, whose hash keys resume: eval_plan_run skips every item already
 * stored for the run (store_has_sample), so a killed run continued with the same
 * command ends with exactly the samples of an uninterrupted one.
 *
 * Requests go through engine/backend.h only: a multiple-choice item is one
 * loglikelihood request per choice, all requests of a batch of items in one call (the
 * backend shares prefixes); generation uses the task's until list and max_gen_toks,
 * greedy. BOS is the backend's business (never put in text here). Scores never depend
 * on the batch size: the backend's results do not depend on batch-mates and every
 * score is a function of one item's results.
 *
 * Ownership: struct eval_plan is filled by eval_plan_load and freed by
 * eval_plan_release. The backend, store and sandbox are borrowed.
 */
#ifndef ASSAY_EVALS_RUNNER_H
#define ASSAY_EVALS_RUNNER_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/progress.h"
#include "evals/task.h"

struct backend;
struct store;
struct sandbox;

#define EVAL_DEFAULT_SEED  1234 /* lm-eval's fewshot_random_seed */
#define EVAL_DEFAULT_BATCH 16

struct eval_opts {
    int shots;            /* -1: each task's default */
    int64_t limit;        /* first N documents of each task; <= 0: all */
    uint64_t seed;        /* few-shot sampler and generation seed */
    int batch;            /* items per backend call (0: EVAL_DEFAULT_BATCH) */
    const char *data_dir; /* NULL: $ASSAY_DATA_DIR, then the datasets cache */
    /* When set and non-zero (a signal handler's flag), eval_plan_run stops between
     * batches with ASSAY_EFAIL "interrupted"; what was stored stays stored. */
    const volatile sig_atomic_t *stop;
    /* Sampled pass@k for the code tasks (humaneval, mbpp): n_samples completions per
     * problem at temperature/top_p, each seeded from (seed, problem, index) so that it
     * does not depend on batching or resume; n_samples <= 1 with temperature 0 is
     * greedy, exactly as before. Other tasks ignore these. pass_k[n_pass_k]: the k of
     * the stored pass@k metrics (k <= n_samples; 0 entries: pass@1 only). */
    int n_samples;
    double temperature;
    double top_p;
    int n_pass_k;
    int pass_k[8];
};

/* True when the plan's code tasks are sampled (several completions, or temperature > 0)
 * rather than greedy. */
bool eval_opts_sampled(const struct eval_opts *o);

/* One document to evaluate, with its shots fixed. */
struct eval_item {
    int task;    /* index into plan->tasks */
    int64_t doc; /* index into that task's eval docs */
    uint32_t shot_ids[32];
    int n_shots;
    int sample; /* completion index of a sampled code task (stored item "<id>#<sample>");
                   -1 for every other item (stored item "<id>") */
};

struct eval_plan {
    struct eval_opts opts;
    struct task_data *tasks;
    int n_tasks;
    int *shots; /* effective shots per task */
    struct eval_item *items;
    int64_t n_items;
};

int eval_plan_load(struct eval_plan *p, const char *task_list, const struct eval_opts *o,
                   struct assay_error *err);
void eval_plan_release(struct eval_plan *p);
/* Add "tasks", "shots", "limit", "seed", "formats" to the configuration object cfg. */
int eval_plan_config(const struct eval_plan *p, json_t *cfg, struct assay_error *err);

/* The text the model sees for an item: for log-likelihood tasks the context of choice
 * `choice` (the same for all choices except Winogrande) and the continuation of choice
 * `choice`; for generation tasks the prompt (continuation unused). Appended to the
 * buffers. */
int eval_item_context(const struct eval_plan *p, const struct eval_item *it, int choice,
                      struct buf *out, struct assay_error *err);
int eval_item_continuation(const struct eval_plan *p, const struct eval_item *it, int choice,
                           struct buf *out, struct assay_error *err);

/* Evaluate every item of the plan not yet stored for run_id. sb may be NULL: code tasks
 * then store failed samples saying that no sandbox was available. Progress reports
 * (items done, items in all, task name). */
int eval_plan_run(const struct eval_plan *p, struct backend *b, struct store *s, int64_t run_id,
                  struct sandbox *sb, const struct progress *prog, struct assay_error *err);

/* The test program of a code task's document for one completion (HumanEval: prompt +
 * completion + test + check(entry_point); MBPP: completion + the task's test_imports,
 * if any, + the asserts). *out is malloc'd. */
int eval_code_program(const struct task_data *t, const struct task_doc *d, const char *completion,
                      char **out, struct assay_error *err);

/* Compute and store every metric of the run from its stored samples: per task, and for
 * groups (mmlu, mmlu_<category>) the micro average over all items ("acc", standard
 * error over the concatenated items), the same mean with lm-eval's pooled stderr
 * ("acc_pooled": within-subtask variance only, EVAL-NOTES.md section 3), and the macro
 * average over subtasks ("acc_macro", sqrt(sum se_i^2) / m). */
int eval_compute_metrics(const struct eval_plan *p, struct store *s, int64_t run_id,
                         struct assay_error *err);

/* Score of one stored sample of a task, recomputed from what was stored (output,
 * target, data_json): values per metric of the task's metrics list, in order, into
 * vals[8]; returns the number of metrics or a negative code. */
int eval_rescore_sample(const struct task_def *t, const char *output, const char *target,
                        const char *data_json, const char *error, double vals[8],
                        struct assay_error *err);

#endif
