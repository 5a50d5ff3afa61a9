/*
 * reports/published.h - figures published for Gemma checkpoints (the Gemma and Gemma 2
 * technical reports), shown beside a run's score for context with the protocol they were
 * measured under. The rows are compiled in from reports/data/gemma_reported_scores.csv
 * by reports/gen_published.py (reports/published_data.c).
 *
 * Matching a run to a row: the model's name (general.name) or its file name without the
 * extension is lowercased, spaces and underscores become '-', and a trailing tensor-type
 * component ("-q8_0", "-f16", "-q4_k_m", ...) is dropped; the result must equal the
 * published model name exactly ("gemma-2-9b" never matches "gemma-2-9b-it"). The task
 * must equal the CSV's task name (assay's task or group name: mmlu, arc_easy, ...).
 * Scores are percent (points of standard deviation for mmlu_format_std).
 */
#ifndef ASSAY_REPORTS_PUBLISHED_H
#define ASSAY_REPORTS_PUBLISHED_H

#include <stdbool.h>
#include <stddef.h>

struct rpt_published {
    const char *model;    /* "gemma-2-9b" */
    const char *task;     /* "mmlu" */
    double score;         /* percent */
    const char *protocol; /* "5-shot, top-1" */
    const char *source;   /* "Gemma 2 technical report (arXiv 2408.00118), Table 13" */
};

extern const struct rpt_published rpt_published_rows[];
extern const size_t rpt_published_count;

/* Normalize a model name or path into out[n] as described above ("" for NULL). */
void rpt_published_normalize(char *out, size_t n, const char *name_or_path);
/* Does this run's model (name and/or path, either may be NULL) name the published model? */
bool rpt_published_model_matches(const char *name, const char *path, const char *published);
/* The rows for (model, task), up to max of them, in CSV order; returns how many. */
size_t rpt_published_find(const char *name, const char *path, const char *task,
                          const struct rpt_published **out, size_t max);

#endif
