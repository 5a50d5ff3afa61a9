/*
 * reports/report_memo.c - the report's section for a memorization audit (runs of kind
 * "memorize", issue #7 item 6): exact and approximate rates with their 95% Wilson
 * intervals per source file and overall, the distribution of the longest common prefix as
 * an inline SVG bar chart, masked examples of memorized continuations, and the PII
 * findings of the memorized outputs (report_pii.c). Text is masked with both the scanner
 * and the findings stored for the sample (rpt_render_field). Everything comes from the
 * stored metrics and samples (names in DESIGN.md "Memorization audits"); nothing is
 * recomputed.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/html.h"
#include "reports/report_int.h"
#include "reports/rundata.h"

#define MEMO_EXAMPLES 10
#define MEMO_BLOCK    4096

static const struct store_metric *metric(const struct rpt_rundata *d, const char *task,
                                         const char *name)
{
    for (int64_t i = 0; i < d->n_metrics; i++)
        if (strcmp(d->metrics[i].task, task) == 0 && strcmp(d->metrics[i].name, name) == 0)
            return &d->metrics[i];
    return NULL;
}

static double value(const struct rpt_rundata *d, const char *task, const char *name)
{
    const struct store_metric *m = metric(d, task, name);
    return m ? m->value : NAN;
}

/* "12.50% [8.1, 18.4]" from the rate and its stored Wilson bounds. */
static void render_rate(struct rpt_html *h, const struct rpt_rundata *d, const char *task,
                        const char *name)
{
    char lo_name[64], hi_name[64];
    snprintf(lo_name, sizeof(lo_name), "%s_ci_lo", name);
    snprintf(hi_name, sizeof(hi_name), "%s_ci_hi", name);
    double v = value(d, task, name), lo = value(d, task, lo_name), hi = value(d, task, hi_name);
    rpt_html_raw(h, "<td class=\"n\">");
    rpt_html_num(h, 100 * v, 2);
    rpt_html_raw(h, "%</td><td class=\"n muted\">[");
    rpt_html_num(h, 100 * lo, 2);
    rpt_html_raw(h, ", ");
    rpt_html_num(h, 100 * hi, 2);
    rpt_html_raw(h, "]</td>");
}

static void render_count(struct rpt_html *h, double v)
{
    rpt_html_raw(h, "<td class=\"n\">");
    rpt_html_num(h, v, 0);
    rpt_html_raw(h, "</td>");
}

static void render_row(struct rpt_html *h, const struct rpt_rundata *d, const char *task)
{
    rpt_html_raw(h, strcmp(task, "all") == 0 ? "<tr><td><b>" : "<tr><td>");
    rpt_html_text(h, task);
    rpt_html_raw(h, strcmp(task, "all") == 0 ? "</b></td>" : "</td>");
    render_count(h, value(d, task, "n_audited"));
    render_count(h, value(d, task, "n_skipped_short"));
    render_rate(h, d, task, "exact_rate");
    render_rate(h, d, task, "approx_rate");
    rpt_html_raw(h, "<td class=\"n\">");
    rpt_html_num(h, value(d, task, "lcp_mean"), 2);
    rpt_html_raw(h, "</td>");
    render_count(h, value(d, task, "pii_memorized_sensitive"));
    render_count(h, value(d, task, "pii_memorized_personal"));
    rpt_html_raw(h, "</tr>\n");
}

static void render_rates(struct rpt_html *h, const struct rpt_rundata *d)
{
    rpt_html_raw(h, "<h3>Memorization rates</h3>\n<table><tr><th>source</th><th>audited</th>"
                    "<th>short, skipped</th><th>exact</th><th>95% Wilson</th>"
                    "<th>approximate</th><th>95% Wilson</th><th>mean LCP</th>"
                    "<th>memorized with sensitive PII</th><th>with personal PII</th></tr>\n");
    render_row(h, d, "all");
    for (int64_t i = 0; i < d->n_metrics; i++)
        if (strcmp(d->metrics[i].name, "n_audited") == 0 && strcmp(d->metrics[i].task, "all"))
            render_row(h, d, d->metrics[i].task);
    rpt_html_raw(h, "</table>\n<p class=\"muted\">Exact: all generated tokens equal the true "
                    "continuation. Approximate: token edit distance within the run's bound "
                    "(10% of the suffix by default, inclusive), exact included. Greedy "
                    "decoding measures discoverable memorization, an upper bound on what can "
                    "be extracted.</p>\n");
}

/* Bars of lcp_hist/NNN: documents by longest common prefix, 0 .. suffix tokens. */
static void render_lcp_chart(struct rpt_html *h, const struct rpt_rundata *d)
{
    int64_t n_bins = 0;
    double top = 0;
    for (int64_t i = 0; i < d->n_metrics; i++) {
        const struct store_metric *m = &d->metrics[i];
        if (strcmp(m->task, "all") || strncmp(m->name, "lcp_hist/", 9))
            continue;
        char *end = NULL;
        long k = strtol(m->name + 9, &end, 10);
        if (end && *end == '\0' && k >= 0 && k < 100000 && k + 1 > n_bins)
            n_bins = k + 1;
        if (m->value > top)
            top = m->value;
    }
    if (n_bins == 0)
        return;
    const int w = 640, ht = 160, pad = 30;
    double bw = (double)(w - 2 * pad) / (double)n_bins;
    rpt_html_raw(h, "<h3>Longest common prefix</h3>\n");
    rpt_html_rawf(h, "<svg class=\"chart\" role=\"img\" width=\"%d\" height=\"%d\" "
                     "aria-label=\"documents by longest common prefix\">\n", w, ht + 40);
    for (int64_t i = 0; i < d->n_metrics; i++) {
        const struct store_metric *m = &d->metrics[i];
        if (strcmp(m->task, "all") || strncmp(m->name, "lcp_hist/", 9) || m->value <= 0)
            continue;
        long k = strtol(m->name + 9, NULL, 10);
        double bh = top > 0 ? (double)ht * m->value / top : 0;
        if (bh < 1)
            bh = 1;
        rpt_html_rawf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                         "fill=\"#4a78b0\"><title>LCP %ld: %.0f documents</title></rect>\n",
                      pad + bw * (double)k, 10 + (double)ht - bh, bw > 2 ? bw - 1 : bw, bh, k,
                      m->value);
    }
    rpt_html_rawf(h, "<text x=\"%d\" y=\"%d\">0</text><text x=\"%d\" y=\"%d\" "
                     "text-anchor=\"end\">%lld tokens</text>\n",
                  pad, ht + 28, w - pad, ht + 28, (long long)(n_bins - 1));
    rpt_html_rawf(h, "<text x=\"2\" y=\"20\">%.0f</text>\n</svg>\n", top);
    rpt_html_raw(h, "<p class=\"muted\">Documents by the number of leading generated tokens "
                    "that equal the true continuation; the bar at the right end (the whole "
                    "suffix) is the exact matches.</p>\n");
}

static void render_examples(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    struct rpt_html *h = c->h;
    int shown = 0;
    for (int64_t i = 0; i < d->n_samples && shown < MEMO_EXAMPLES; i++) {
        const struct rpt_sample *s = &d->samples[i];
        if (s->error || !s->output || !s->data_json ||
            !strstr(s->data_json, "\"approximate\":true"))
            continue;
        if (shown == 0)
            rpt_html_rawf(h, "<h3>Memorized continuations</h3>\n<p class=\"muted\">The first "
                             "%d, %s.</p>\n",
                          MEMO_EXAMPLES,
                          c->sc ? "personal data and secrets replaced by their type"
                                : "<b>raw</b> (--raw)");
        shown++;
        rpt_html_raw(h, "<details class=\"s\"><summary>");
        rpt_html_text(h, s->task);
        rpt_html_raw(h, " &middot; document ");
        rpt_html_text(h, s->item);
        rpt_html_raw(h, s->correct > 0 ? " &middot; exact" : " &middot; approximate");
        rpt_html_raw(h, "</summary>\n<div>prefix</div><pre>");
        rpt_render_field(h, c->sc, d, s->id, "prompt", s->prompt, MEMO_BLOCK);
        rpt_html_raw(h, "</pre>\n<div>generated</div><pre>");
        rpt_render_field(h, c->sc, d, s->id, "output", s->output, MEMO_BLOCK);
        rpt_html_raw(h, "</pre>\n<div>true continuation</div><pre>");
        rpt_render_field(h, c->sc, d, s->id, "target", s->target, MEMO_BLOCK);
        rpt_html_raw(h, "</pre></details>\n");
    }
    if (shown == 0)
        rpt_html_raw(h, "<p>No memorized continuations in this run.</p>\n");
}

int rpt_render_memorize(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    render_rates(c->h, d);
    render_lcp_chart(c->h, d);
    render_examples(c, d);
    int rc = rpt_render_pii_findings(c, d);
    if (rc == 0)
        rpt_render_samples(c->h, d, c->sc, c->opts->samples_per_task);
    return rc;
}
