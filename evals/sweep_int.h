/*
 * evals/sweep_int.h - what evals/sweep.c and evals/sweep_tasks.c share; no other file
 * includes it. sweep_tasks.c holds what depends on the kind of task: which tasks a sweep
 * takes, Winogrande's question view, and the generation batch (GSM8K).
 */
#ifndef ASSAY_EVALS_SWEEP_INT_H
#define ASSAY_EVALS_SWEEP_INT_H

#include <stdint.h>

#include "base/error.h"
#include "evals/sweep.h"

struct backend;
struct store;

/* One (task, document, format) to evaluate. */
struct sweep_item {
    int task;
    int64_t doc, fmt;
};

/* After task_load: Winogrande's documents become questions (sweep_winogrande_doc);
 * every multiple-choice document must fit the grammar's SWEEP_MAX_POS labels. */
int sweep_adapt_task(struct task_data *t, struct assay_error *err);

/* Generate, score and store the items of a generation-family plan (one backend call). */
int sweep_gen_batch(const struct sweep_plan *p, const struct sweep_item *items, int n_items,
                    struct backend *b, struct store *s, int64_t run_id, struct assay_error *err);

#endif
