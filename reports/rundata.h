/*
 * reports/rundata.h - one run read from the store into memory for the report and the
 * comparison pages: the run row, its model, metrics, samples and PII findings. Read
 * only; nothing here calls the engine.
 *
 * Ownership: rpt_rundata_load fills a caller-allocated struct that owns every string
 * and array in it; rpt_rundata_release frees them (and is safe on a zeroed struct).
 * Samples are kept in the store's insertion order; PII findings are sorted by (sample id,
 * field, start byte).
 *
 * Errors: those of the store (ASSAY_ENOTFOUND for a missing run, ASSAY_EIO), ASSAY_ENOMEM,
 * ASSAY_ELIMIT when a run has more than max_samples samples (0: no cap).
 */
#ifndef ASSAY_REPORTS_RUNDATA_H
#define ASSAY_REPORTS_RUNDATA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

struct rpt_sample {
    int64_t id;
    char *task, *item, *format_id; /* format_id "" for the default */
    char *prompt, *target, *output, *data_json, *error; /* may be NULL */
    double score;
    int correct; /* 1, 0, -1 */
};

struct rpt_rundata {
    struct store_run run;
    bool has_model;
    struct store_model model;
    struct store_metric *metrics;
    int64_t n_metrics;
    struct rpt_sample *samples;
    int64_t n_samples, cap_samples;
    struct store_pii_finding_row *pii;
    int64_t n_pii;
};

int rpt_rundata_load(struct rpt_rundata *d, struct store *s, int64_t run_id, int64_t max_samples,
                     struct assay_error *err);
void rpt_rundata_release(struct rpt_rundata *d);

/* The stored PII findings of one sample: *first indexes d->pii (sorted by sample id,
 * then field, then start, at load), *n how many. */
void rpt_rundata_findings(const struct rpt_rundata *d, int64_t sample_id, int64_t *first,
                          int64_t *n);

/* The sample with this store id, or NULL (samples are in id order: binary search). */
const struct rpt_sample *rpt_rundata_sample(const struct rpt_rundata *d, int64_t sample_id);

/* The default run for a report: the newest run of kind "eval", else the newest run;
 * *id_out = 0 when the store holds no run. */
int rpt_default_run(struct store *s, int64_t *id_out, struct assay_error *err);

/* Seconds between two ISO 8601 UTC times as the store writes them; NaN if either is
 * missing or unreadable. */
double rpt_duration_s(const char *started_at, const char *finished_at);

#endif
