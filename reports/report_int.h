/*
 * reports/report_int.h - what the report's section files share (report.c,
 * report_pii.c, report_logits.c); no other room includes it.
 */
#ifndef ASSAY_REPORTS_REPORT_INT_H
#define ASSAY_REPORTS_REPORT_INT_H

#include <stddef.h>

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

/* report_pii.c: a "pii" run (its findings, or that there are none) ... */
int rpt_render_pii_run(struct rpt_ctx *c, const struct rpt_rundata *d);
/* ... and the findings of any run: counts by type and severity, masked examples. */
int rpt_render_pii_findings(struct rpt_ctx *c, const struct rpt_rundata *d);

/* report_logits.c: a "compare-logits" run. */
int rpt_render_logits(struct rpt_ctx *c, const struct rpt_rundata *d);

/* report_memo.c: a "memorize" run (rates with Wilson intervals by source, the LCP
 * distribution, masked memorized continuations, their PII findings). */
int rpt_render_memorize(struct rpt_ctx *c, const struct rpt_rundata *d);

#endif
