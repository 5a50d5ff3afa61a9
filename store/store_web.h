/*
 * store/store_web.h - the read-only queries behind `assay serve` (web/): samples paged and
 * filtered, per-task counts, samples of two runs paired for a comparison, and PII finding
 * counts. Nothing here writes.
 *
 * Ownership: rows handed to a callback are borrowed for the callback's duration (SQLite's
 * column memory); copy what you keep. Arrays returned through **out belong to the caller,
 * who frees them with the matching *_free.
 *
 * Errors: ASSAY_EIO (or ASSAY_EINVAL for a corrupt file) from SQLite, naming the database.
 */
#ifndef ASSAY_STORE_STORE_WEB_H
#define ASSAY_STORE_STORE_WEB_H

#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

#define STORE_WEB_MAX_LIMIT 500 /* samples per page, at most */

/* A filter over one run's samples; NULL / -2 mean "any". */
struct store_web_filter {
    int64_t run_id;
    const char *task;      /* exact task name, or NULL */
    const char *item;      /* exact item id, or NULL */
    const char *format_id; /* exact format id ("" is the default format), or NULL */
    int correct;           /* 1, 0, -1 (not applicable: NULL in the store), or -2 for any */
    const char *query;     /* substring of prompt, target or output (case-sensitive), or NULL */
};

/* Number of samples matching the filter. */
int store_web_count_samples(struct store *s, const struct store_web_filter *f, int64_t *n_out,
                            struct assay_error *err);
/* Call fn for samples matching the filter, in id order, skipping `offset` and stopping after
 * `limit` (1..STORE_WEB_MAX_LIMIT; larger is clamped). */
int store_web_each_sample(struct store *s, const struct store_web_filter *f, int64_t offset,
                          int64_t limit, store_sample_fn fn, void *user, struct assay_error *err);
/* One sample by id (of any run); ASSAY_ENOTFOUND when there is none. *run_id_out gets its run. */
int store_web_get_sample(struct store *s, int64_t sample_id, int64_t *run_id_out,
                         store_sample_fn fn, void *user, struct assay_error *err);

/* Per task of one run: sample count, how many correct / incorrect, mean score. */
struct store_web_task {
    char *task;
    int64_t n, n_correct, n_incorrect;
    double mean_score; /* NaN when no sample has a score */
};
int store_web_list_tasks(struct store *s, int64_t run_id, struct store_web_task **out,
                         int64_t *n_out, struct assay_error *err);
void store_web_tasks_free(struct store_web_task *t, int64_t n);

/* The distinct format ids of one run's samples ("" for the default), sorted. */
int store_web_list_formats(struct store *s, int64_t run_id, char ***out, int64_t *n_out,
                           struct assay_error *err);
void store_web_strings_free(char **v, int64_t n);

/* The samples present in both runs, matched by (task, item, format_id), ordered by task
 * then item. Borrowed strings; correct is 1, 0 or -1 (NULL); score NaN when NULL. */
struct store_web_pair {
    const char *task, *item, *format_id;
    int64_t id_a, id_b;
    double score_a, score_b;
    int correct_a, correct_b;
};
typedef int (*store_web_pair_fn)(void *user, const struct store_web_pair *p);
int store_web_each_pair(struct store *s, int64_t run_a, int64_t run_b, store_web_pair_fn fn,
                        void *user, struct assay_error *err);

/* PII findings of one run counted by (type, severity), most frequent first. */
struct store_web_pii_count {
    char *type, *severity;
    int64_t n, n_validated, n_samples; /* findings, validated findings, distinct samples */
};
int store_web_pii_counts(struct store *s, int64_t run_id, struct store_web_pii_count **out,
                         int64_t *n_out, struct assay_error *err);
void store_web_pii_counts_free(struct store_web_pii_count *c, int64_t n);

#endif
