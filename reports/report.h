/*
 * reports/report.h - `assay report`: one self-contained HTML page (inline CSS and SVG,
 * no script, no font, image or anything else from the network; a Content-Security-Policy
 * meta tag forbids it) about one or more stored runs. Reads the store only.
 *
 * The page is a list of sections. Every run gets its metadata (model fingerprint,
 * architecture, quantization, configuration, durations, assay version); then the
 * section for its kind, chosen from a table {kind, render function} in report.c (eval
 * and the other scored kinds: metrics with standard errors, published figures with their
 * protocols, a bar chart with 95% error bars, samples worst first; compare-logits: KL
 * and agreement figures per window); then, for any run with stored PII findings (or of
 * kind "pii"), counts by type and severity with masked examples. A new kind of run adds
 * a row and a function, not a rewrite.
 *
 * All stored text is escaped by reports/html.c and, unless opts->raw, masked with the PII
 * scanner first (safety/pii.h pii_mask_text).
 */
#ifndef ASSAY_REPORTS_REPORT_H
#define ASSAY_REPORTS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/progress.h"

struct store;
struct rpt_rundata;
struct rpt_html;
struct pii_scanner;

struct rpt_options {
    bool raw;                   /* show stored text unmasked */
    int64_t samples_per_task;   /* samples listed per task, worst first (0: all) */
    const char *published_as;   /* match published figures to this model name (NULL: the run's) */
    const char *generated_at;   /* ISO time printed in the header (NULL: now) */
    struct progress prog;       /* one step per run */
};

#define RPT_DEFAULT_SAMPLES_PER_TASK 50
#define RPT_MAX_SAMPLES_PER_RUN      (INT64_C(1) << 22) /* refuse runs larger than this */

/* Write the page for runs ids[n] (n >= 1) to out. Errors: the store's (ASSAY_ENOTFOUND for
 * a missing run), ASSAY_ELIMIT when the page passes out's cap, ASSAY_ENOMEM. */
int rpt_report_write(struct buf *out, struct store *s, const int64_t *ids, size_t n,
                     const struct rpt_options *opts, struct assay_error *err);

/* Shared with compare.c: the page head (doctype, CSP, inline CSS) and foot. */
void rpt_page_begin(struct rpt_html *h, const char *title);
void rpt_page_end(struct rpt_html *h);
/* The run metadata table. */
void rpt_render_meta(struct rpt_html *h, const struct rpt_rundata *d);
/* Samples list of one run (worst first per task, up to per_task each). */
void rpt_render_samples(struct rpt_html *h, const struct rpt_rundata *d,
                        const struct pii_scanner *sc, int64_t per_task);
/* Is this metric a fraction shown in percent (acc, acc_norm, exact_match, pass@k, mc2)? */
bool rpt_metric_is_fraction(const char *name);

#endif
