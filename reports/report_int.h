/*
 * reports/report_int.h - what the report's section files share (report.c,
 * report_pii.c, report_logits.c); no other room includes it.
 */
#ifndef ASSAY_REPORTS_REPORT_INT_H
#define ASSAY_REPORTS_REPORT_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "reports/report.h"

struct rpt_html;
struct rpt_rundata;
struct pii_scanner;

struct rpt_ctx {
    struct rpt_html *h;
    const struct pii_scanner *sc; /* NULL: raw text (--raw) */
    const struct rpt_options *opts;
    struct assay_error *err;
};

/* One row of the section table: the runs of `kind` are rendered by `render`. */
struct rpt_section {
    const char *kind; /* runs.kind; NULL ends the table and matches any other kind */
    const char *title;
    int (*render)(struct rpt_ctx *c, const struct rpt_rundata *d);
};

/* Masked (unless sc is NULL), cut to max_bytes (0: no cut) on a character boundary and
 * escaped into h. */
void rpt_render_block(struct rpt_html *h, const struct pii_scanner *sc, const char *s,
                      size_t max_bytes);

/* A span of stored text to mask: UTF-8 byte offsets, end exclusive, and its type label. */
struct rpt_span {
    size_t start, end;
    const char *type; /* static (pii_type_name) or owned by the rundata */
};

/* Every span to mask in `text` (len bytes), the `field` ("output", "prompt", "target") of
 * stored sample sample_id of d: the scanner's findings over the whole text (sc may be
 * NULL: none) and the findings stored for that sample and field (d may be NULL), sorted
 * and merged so they do not overlap. *out is a new array (free()); ASSAY_ENOMEM. */
int rpt_mask_spans(struct rpt_span **out, size_t *n_out, const struct pii_scanner *sc,
                   const struct rpt_rundata *d, int64_t sample_id, const char *field,
                   const char *text, size_t len);

/* rpt_render_block for a stored field: masked with rpt_mask_spans (unless sc is NULL,
 * which means --raw), cut to max_bytes, escaped. */
void rpt_render_field(struct rpt_html *h, const struct pii_scanner *sc,
                      const struct rpt_rundata *d, int64_t sample_id, const char *field,
                      const char *text, size_t max_bytes);

/* report_pii.c: a "pii" run (its findings, or that there are none) ... */
int rpt_render_pii_run(struct rpt_ctx *c, const struct rpt_rundata *d);
/* ... and the findings of any run: counts by type and severity, masked examples. */
int rpt_render_pii_findings(struct rpt_ctx *c, const struct rpt_rundata *d);

/* report_logits.c: a "compare-logits" run. */
int rpt_render_logits(struct rpt_ctx *c, const struct rpt_rundata *d);

/* report_memo.c: a "memorize" run (rates with Wilson intervals by source, the LCP
 * distribution, masked memorized continuations, their PII findings). */
int rpt_render_memorize(struct rpt_ctx *c, const struct rpt_rundata *d);

/* report_sweep.c: a "sweep" run (per-format bars, robustness, gold-position and letter-bias
 * table, samples) ... */
int rpt_render_sweep(struct rpt_ctx *c, const struct rpt_rundata *d);
/* ... and, on the comparison page, two sweep runs side by side from sweep, the array of
 * rpt_sweep_compare(..., with_formats = true) (sweepview.h); nothing when it is empty. */
void rpt_render_sweep_compare(struct rpt_html *h, int64_t run_a, int64_t run_b,
                              const json_t *sweep);

#endif
