/*
 * reports/report.c - `assay report`'s page: the head and CSS, the run metadata, the
 * section table {kind, render function}, and the scores section (metrics with standard
 * errors and published figures, a bar chart, samples worst first). The PII and
 * compare-logits sections are in report_pii.c and report_logits.c. Reads the store
 * only, through rundata.c; every stored string goes through html.c.
 */
#include "reports/report.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay_version.h"
#include "base/clock.h"
#include "base/mem.h"
#include "reports/html.h"
#include "reports/published.h"
#include "reports/report_int.h"
#include "reports/rundata.h"
#include "safety/pii.h"
#include "store/store.h"

/* ---- page ------------------------------------------------------------------------- */

static const char page_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d232b;"
    "background:#f6f7f9}\n"
    "main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}\n"
    "h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid "
    "#d5dae1;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}\n"
    "section.run{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:4px 18px 16px;"
    "margin:18px 0}\n"
    "table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 10px;text-align:left;"
    "vertical-align:top;border-bottom:1px solid #e8ebef}th{background:#f0f2f5;font-weight:600}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "tr.group td{font-weight:600;background:#f7f9fb}\n"
    "table.meta th{width:160px;background:none;color:#555;font-weight:normal}\n"
    ".pub{color:#6b4fa3}.muted{color:#6a737d;font-size:12px}.good{color:#1a7f37}"
    ".bad{color:#b42318}\n"
    "pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border:1px solid #e1e4e8;"
    "border-radius:4px;padding:6px 8px;margin:4px 0;max-height:420px;overflow:auto;"
    "font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}\n"
    "details{margin:4px 0}details.task>summary{font-weight:600;cursor:pointer}\n"
    "details.s{margin-left:18px;border-left:3px solid #d0d7de;padding-left:8px}"
    "details.s.wrong{border-left-color:#e5534b}details.s.right{border-left-color:#57ab5a}"
    "details.s.err{border-left-color:#c69026}\n"
    "summary{cursor:pointer}mark{background:#fff3bf;padding:0 2px}\n"
    "svg text{font:12px system-ui,sans-serif;fill:#1d232b}\n"
    "nav a{margin-right:12px}\n"
    ".sweep-scatters{display:flex;flex-wrap:wrap;gap:8px}figure.sweep-scatter{margin:4px}"
    "figcaption{font-size:12px;text-align:center}\n";

void rpt_page_begin(struct rpt_html *h, const char *title)
{
    rpt_html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "style-src 'unsafe-inline'; img-src data:\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<link rel=\"icon\" href=\"data:,\">\n<title>");
    rpt_html_text(h, title);
    rpt_html_raw(h, "</title>\n<style>\n");
    rpt_html_raw(h, page_css);
    rpt_html_raw(h, "</style>\n</head>\n<body>\n<main>\n");
}

void rpt_page_end(struct rpt_html *h)
{
    rpt_html_rawf(h, "<p class=\"muted\">Written by assay %s (git %s). This page is "
                     "self-contained: no script, and nothing is loaded from the network.</p>\n",
                  ASSAY_VERSION, ASSAY_GIT_REV);
    rpt_html_raw(h, "</main>\n</body>\n</html>\n");
}

bool rpt_metric_is_fraction(const char *name)
{
    static const char *const prefixes[] = {"acc", "exact_match", "pass@", "mc1", "mc2", "em",
                                           "f1", "top1", NULL};
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(name, *p, strlen(*p)) == 0)
            return true;
    return false;
}

/* ---- metadata ------------------------------------------------------------------------ */

static void meta_row(struct rpt_html *h, const char *label, const char *value)
{
    rpt_html_rawf(h, "<tr><th>%s</th><td>", label);
    if (value && *value)
        rpt_html_text(h, value);
    else
        rpt_html_raw(h, "&ndash;");
    rpt_html_raw(h, "</td></tr>\n");
}

void rpt_render_meta(struct rpt_html *h, const struct rpt_rundata *d)
{
    const struct store_run *r = &d->run;
    const struct store_model *m = d->has_model ? &d->model : NULL;
    rpt_html_raw(h, "<table class=\"meta\">\n");
    rpt_html_rawf(h, "<tr><th>status</th><td>%s", store_run_status_name(r->status));
    if (r->error) {
        rpt_html_raw(h, ": ");
        rpt_html_text(h, r->error);
    }
    rpt_html_raw(h, "</td></tr>\n");
    meta_row(h, "model", m && m->name ? m->name : NULL);
    meta_row(h, "model file", r->model_path);
    meta_row(h, "fingerprint", r->model_fingerprint);
    if (m) {
        meta_row(h, "architecture", m->architecture);
        rpt_html_raw(h, "<tr><th>parameters</th><td>");
        if (m->n_params > 0)
            rpt_html_rawf(h, "%.3g M (%lld)", (double)m->n_params / 1e6, (long long)m->n_params);
        else
            rpt_html_raw(h, "&ndash;");
        rpt_html_raw(h, "</td></tr>\n");
        meta_row(h, "quantization", m->quantization);
        rpt_html_rawf(h, "<tr><th>context length</th><td>%lld</td></tr>\n",
                      (long long)m->context_length);
        rpt_html_rawf(h, "<tr><th>file size</th><td>%.1f MiB</td></tr>\n",
                      (double)m->file_bytes / (1024.0 * 1024.0));
    }
    meta_row(h, "backend", r->backend);
    meta_row(h, "started (UTC)", r->started_at);
    meta_row(h, "finished (UTC)", r->finished_at);
    double dur = rpt_duration_s(r->started_at, r->finished_at);
    rpt_html_raw(h, "<tr><th>duration</th><td>");
    if (isfinite(dur)) {
        rpt_html_rawf(h, "%.1f s", dur);
        if (r->n_samples > 0 && dur > 0)
            rpt_html_rawf(h, " <span class=\"muted\">(%.2f samples/s)</span>",
                          (double)r->n_samples / dur);
    } else {
        rpt_html_raw(h, "&ndash;");
    }
    rpt_html_raw(h, "</td></tr>\n");
    rpt_html_rawf(h, "<tr><th>samples</th><td>%lld</td></tr>\n", (long long)r->n_samples);
    meta_row(h, "assay version", r->assay_version);
    meta_row(h, "host", r->host);
    meta_row(h, "configuration hash", r->config_hash);
    rpt_html_raw(h, "<tr><th>configuration</th><td><details><summary>JSON</summary><pre>");
    json_error_t je;
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, &je) : NULL;
    char *pretty = cfg ? json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    rpt_html_text(h, pretty ? pretty : (r->config_json ? r->config_json : "{}"));
    free(pretty);
    json_decref(cfg);
    rpt_html_raw(h, "</pre></details></td></tr>\n</table>\n");
}

/* ---- scores ---------------------------------------------------------------------------- */

static bool is_group(const struct rpt_rundata *d, const char *task)
{
    for (int64_t i = 0; i < d->n_metrics; i++)
        if (strcmp(d->metrics[i].task, task) == 0 &&
            (strcmp(d->metrics[i].name, "acc_macro") == 0 ||
             strcmp(d->metrics[i].name, "acc_pooled") == 0))
            return true;
    return false;
}

/* The metric shown in the chart and beside a published figure for a task. */
static const struct store_metric *primary_metric(const struct rpt_rundata *d, const char *task)
{
    static const char *const order[] = {"acc", "pass@1", "exact_match", "mc2", "acc_norm", NULL};
    for (const char *const *o = order; *o; o++)
        for (int64_t i = 0; i < d->n_metrics; i++)
            if (strcmp(d->metrics[i].task, task) == 0 && strcmp(d->metrics[i].name, *o) == 0)
                return &d->metrics[i];
    for (int64_t i = 0; i < d->n_metrics; i++)
        if (strcmp(d->metrics[i].task, task) == 0 && rpt_metric_is_fraction(d->metrics[i].name))
            return &d->metrics[i];
    return NULL;
}

static void published_for(const struct rpt_ctx *c, const struct rpt_rundata *d, const char *task,
                          const struct rpt_published **rows, size_t *n)
{
    const char *name = c->opts->published_as;
    const char *path = NULL;
    if (!name) {
        name = d->has_model ? d->model.name : NULL;
        path = d->run.model_path;
    }
    *n = rpt_published_find(name, path, task, rows, 4);
}

static void render_metrics_table(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    struct rpt_html *h = c->h;
    if (d->n_metrics == 0) {
        rpt_html_raw(h, "<p class=\"muted\">No metrics stored for this run.</p>\n");
        return;
    }
    rpt_html_raw(h, "<h3>Scores</h3>\n<table class=\"scores\">\n<tr><th>task</th><th>metric</th>"
                    "<th>value</th><th>&plusmn; stderr</th><th>n</th><th>published</th>"
                    "<th>protocol</th></tr>\n");
    bool any_pub = false;
    for (int64_t i = 0; i < d->n_metrics; i++) {
        const struct store_metric *m = &d->metrics[i];
        bool frac = rpt_metric_is_fraction(m->name);
        double k = frac ? 100.0 : 1.0;
        rpt_html_raw(h, is_group(d, m->task) ? "<tr class=\"group\"><td>" : "<tr><td>");
        rpt_html_text(h, m->task);
        rpt_html_raw(h, "</td><td>");
        rpt_html_text(h, m->name);
        rpt_html_raw(h, "</td><td class=\"n\">");
        rpt_html_num(h, m->value * k, frac ? 1 : 4);
        rpt_html_raw(h, frac && isfinite(m->value) ? "%</td><td class=\"n\">" : "</td><td class=\"n\">");
        rpt_html_num(h, m->stderr_ * k, frac ? 1 : 4);
        rpt_html_rawf(h, "</td><td class=\"n\">%lld</td>", (long long)m->n);
        const struct rpt_published *pub[4];
        size_t n_pub = 0;
        if (primary_metric(d, m->task) == m)
            published_for(c, d, m->task, pub, &n_pub);
        rpt_html_raw(h, "<td class=\"n pub\">");
        for (size_t j = 0; j < n_pub; j++)
            rpt_html_rawf(h, "%s%.1f", j ? "<br>" : "", pub[j]->score);
        rpt_html_raw(h, "</td><td class=\"pub\">");
        for (size_t j = 0; j < n_pub; j++) {
            rpt_html_raw(h, j ? "<br>" : "");
            rpt_html_text(h, pub[j]->protocol);
            rpt_html_raw(h, " <span class=\"muted\">(");
            rpt_html_text(h, pub[j]->model);
            rpt_html_raw(h, "; ");
            rpt_html_text(h, pub[j]->source);
            rpt_html_raw(h, ")</span>");
            any_pub = true;
        }
        rpt_html_raw(h, "</td></tr>\n");
    }
    rpt_html_raw(h, "</table>\n<p class=\"muted\">Fractions in percent. Standard error of the "
                    "mean, sqrt(var/n) with n-1 in var (lm-eval's mean_stderr); group rows are "
                    "bold (acc: micro average, acc_macro: mean of subtasks, acc_pooled: "
                    "lm-eval's pooled stderr).");
    if (any_pub)
        rpt_html_raw(h, " Published figures are the Gemma technical reports' numbers for that "
                        "checkpoint under the protocol shown; a different number of shots or "
                        "scoring changes a score, so compare with care.");
    else
        rpt_html_raw(h, " No published figure matches this model and these tasks.");
    rpt_html_raw(h, "</p>\n");
}

/* Horizontal bars: one per task with a fraction primary metric, 95% error bars
 * (value +- 1.96 se), published figures as a diamond. */
static void render_chart(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    struct rpt_html *h = c->h;
    const struct store_metric *rows[256];
    int n = 0;
    for (int64_t i = 0; i < d->n_metrics && n < 256; i++) {
        const struct store_metric *m = primary_metric(d, d->metrics[i].task);
        if (m != &d->metrics[i] || !isfinite(m->value))
            continue;
        rows[n++] = m;
    }
    if (n == 0)
        return;
    const int label_w = 240, plot_w = 560, row_h = 22, top = 24;
    int height = top + n * row_h + 10;
    rpt_html_rawf(h,
                  "<h3>Chart</h3>\n<svg class=\"chart\" role=\"img\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\">\n"
                  "<title>scores with 95%% intervals</title>\n",
                  label_w + plot_w + 20, height, label_w + plot_w + 20, height);
    for (int t = 0; t <= 100; t += 25) {
        double x = label_w + plot_w * t / 100.0;
        rpt_html_rawf(h,
                      "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e1e4e8\"/>"
                      "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\">%d%%</text>\n",
                      x, top - 4, x, height - 6, x, t);
    }
    for (int i = 0; i < n; i++) {
        const struct store_metric *m = rows[i];
        double y = top + i * row_h;
        double v = fmin(fmax(m->value, 0), 1);
        bool group = is_group(d, m->task);
        rpt_html_rawf(h, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\"%s>", label_w - 8,
                      y + 15, group ? " font-weight=\"bold\"" : "");
        rpt_html_text(h, m->task);
        rpt_html_raw(h, " (");
        rpt_html_text(h, m->name);
        rpt_html_raw(h, ")</text>\n");
        rpt_html_rawf(h,
                      "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>\n",
                      label_w, y + 4, plot_w * v, group ? "#3b6fb6" : "#7ea6dc");
        if (isfinite(m->stderr_)) {
            double lo = fmax(m->value - 1.96 * m->stderr_, 0), hi = fmin(m->value + 1.96 * m->stderr_, 1);
            double x1 = label_w + plot_w * lo, x2 = label_w + plot_w * hi;
            rpt_html_rawf(h,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1d232b\"/>"
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1d232b\"/>"
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1d232b\"/>\n",
                          x1, y + 11, x2, y + 11, x1, y + 7, x1, y + 15, x2, y + 7, x2, y + 15);
        }
        const struct rpt_published *pub[4];
        size_t n_pub = 0;
        published_for(c, d, m->task, pub, &n_pub);
        for (size_t j = 0; j < n_pub; j++) {
            double px = label_w + plot_w * fmin(fmax(pub[j]->score / 100.0, 0), 1);
            rpt_html_rawf(h,
                          "<path d=\"M%.1f %.1f l5 6 l-5 6 l-5 -6 z\" fill=\"#6b4fa3\"><title>"
                          "published %.1f</title></path>\n",
                          px, y + 5, pub[j]->score);
        }
    }
    rpt_html_raw(h, "</svg>\n<p class=\"muted\">Bars: the task's main metric; whiskers: 95% "
                    "interval (value &plusmn; 1.96 stderr); purple diamonds: published figures "
                    "(see the table for their protocols).</p>\n");
}

/* ---- samples ----------------------------------------------------------------------------- */

struct sample_order {
    const struct rpt_rundata *d;
    const int *task_of; /* task index per sample */
};

static int badness_rank(const struct rpt_sample *s)
{
    if (s->error)
        return 0;
    if (s->correct == 0)
        return 1;
    if (s->correct < 0)
        return 2;
    return 3;
}

static int cmp_samples(const void *x, const void *y, void *user)
{
    const struct sample_order *o = user;
    int64_t i = *(const int64_t *)x, j = *(const int64_t *)y;
    if (o->task_of[i] != o->task_of[j])
        return o->task_of[i] < o->task_of[j] ? -1 : 1;
    const struct rpt_sample *a = &o->d->samples[i], *b = &o->d->samples[j];
    int ra = badness_rank(a), rb = badness_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* text[len] cut to max_bytes (0: no cut) on a character boundary, escaped. */
static void emit_cut(struct rpt_html *h, const char *text, size_t len, size_t max_bytes)
{
    size_t cut = len;
    if (max_bytes > 0 && len > max_bytes) {
        cut = max_bytes;
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--;
    }
    rpt_html_textn(h, text, cut);
    if (cut < len)
        rpt_html_rawf(h, "<span class=\"muted\">\n[... %zu more bytes]</span>", len - cut);
}

static int cmp_span(const void *x, const void *y)
{
    const struct rpt_span *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return (a->end < b->end) - (a->end > b->end); /* longer first */
}

int rpt_mask_spans(struct rpt_span **out, size_t *n_out, const struct pii_scanner *sc,
                   const struct rpt_rundata *d, int64_t sample_id, const char *field,
                   const char *text, size_t len)
{
    *out = NULL;
    *n_out = 0;
    struct pii_findings f;
    pii_findings_init(&f, 0);
    int64_t first = 0, n_stored = 0;
    if (d && field)
        rpt_rundata_findings(d, sample_id, &first, &n_stored);
    if (sc && pii_scan_text(sc, text, len, &f, NULL, NULL) != 0) {
        pii_findings_release(&f);
        return ASSAY_ENOMEM; /* the caller withholds the text */
    }
    size_t cap = f.n + (size_t)n_stored;
    struct rpt_span *v = mem_alloc_array(cap ? cap : 1, sizeof(*v));
    if (!v) {
        pii_findings_release(&f);
        return ASSAY_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < f.n; i++)
        v[n++] = (struct rpt_span){(size_t)f.v[i].start, (size_t)f.v[i].end,
                                   pii_type_name(f.v[i].type)};
    pii_findings_release(&f);
    for (int64_t i = first; i < first + n_stored; i++) {
        const struct store_pii_finding_row *r = &d->pii[i];
        if (!r->field || strcmp(r->field, field) != 0 || r->start_byte < 0 ||
            r->end_byte <= r->start_byte || (uint64_t)r->end_byte > len)
            continue; /* a span that no longer fits the text is ignored */
        v[n++] = (struct rpt_span){(size_t)r->start_byte, (size_t)r->end_byte,
                                   r->type ? r->type : "PII"};
    }
    qsort(v, n, sizeof(*v), cmp_span);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && v[i].start < v[m - 1].end) {
            if (v[i].end > v[m - 1].end)
                v[m - 1].end = v[i].end;
            continue;
        }
        v[m++] = v[i];
    }
    *out = v;
    *n_out = m;
    return 0;
}

void rpt_render_field(struct rpt_html *h, const struct pii_scanner *sc,
                      const struct rpt_rundata *d, int64_t sample_id, const char *field,
                      const char *text, size_t max_bytes)
{
    if (!text)
        return;
    size_t len = strlen(text);
    if (!sc) {
        emit_cut(h, text, len, max_bytes);
        return;
    }
    struct rpt_span *v = NULL;
    size_t n = 0;
    struct buf m;
    buf_init(&m, 0);
    int rc = rpt_mask_spans(&v, &n, sc, d, sample_id, field, text, len);
    size_t pos = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_add(&m, text + pos, v[i].start - pos);
        if (!rc)
            rc = buf_addf(&m, "[%s]", v[i].type);
        pos = v[i].end;
    }
    if (!rc)
        rc = buf_add(&m, text + pos, len - pos);
    if (rc)
        rpt_html_raw(h, "<em>[text withheld: the PII scan of it failed]</em>");
    else
        emit_cut(h, m.data ? m.data : "", m.len, max_bytes);
    buf_release(&m);
    free(v);
}

/* Masked (unless sc is NULL), cut to max_bytes on a character boundary, escaped. */
void rpt_render_block(struct rpt_html *h, const struct pii_scanner *sc, const char *s,
                      size_t max_bytes)
{
    if (!s)
        return;
    struct buf m;
    buf_init(&m, 0);
    const char *text = s;
    size_t len = strlen(s);
    if (sc) {
        if (pii_mask_text(&m, sc, s, len, NULL)) {
            buf_release(&m);
            rpt_html_raw(h, "<em>[text withheld: the PII scan of it failed]</em>");
            return;
        }
        text = m.data ? m.data : "";
        len = m.len;
    }
    emit_cut(h, text, len, max_bytes);
    buf_release(&m);
}

#define RPT_BLOCK_MAX 8192

static void render_one_sample(struct rpt_html *h, const struct rpt_rundata *d,
                              const struct rpt_sample *s, const struct pii_scanner *sc)
{
    const char *cls = s->error ? "err" : s->correct == 0 ? "wrong" : s->correct > 0 ? "right" : "na";
    rpt_html_rawf(h, "<details class=\"s %s\"><summary>item ", cls);
    rpt_html_text(h, s->item);
    if (s->format_id && *s->format_id) {
        rpt_html_raw(h, " &middot; format ");
        rpt_html_text(h, s->format_id);
    }
    rpt_html_raw(h, " &middot; score ");
    rpt_html_num(h, s->score, 3);
    rpt_html_raw(h, s->error ? " &middot; <span class=\"bad\">error</span>"
                    : s->correct == 0 ? " &middot; <span class=\"bad\">wrong</span>"
                    : s->correct > 0  ? " &middot; <span class=\"good\">right</span>"
                                      : "");
    rpt_html_raw(h, "</summary>\n");
    if (s->error) {
        rpt_html_raw(h, "<div>error</div><pre>");
        rpt_render_block(h, sc, s->error, RPT_BLOCK_MAX);
        rpt_html_raw(h, "</pre>\n");
    }
    if (s->target) {
        rpt_html_raw(h, "<div>target</div><pre>");
        rpt_render_field(h, sc, d, s->id, "target", s->target, RPT_BLOCK_MAX);
        rpt_html_raw(h, "</pre>\n");
    }
    if (s->output) {
        rpt_html_raw(h, "<div>output</div><pre>");
        rpt_render_field(h, sc, d, s->id, "output", s->output, RPT_BLOCK_MAX);
        rpt_html_raw(h, "</pre>\n");
    }
    if (s->prompt) {
        rpt_html_rawf(h, "<details><summary>prompt (%zu bytes)</summary><pre>", strlen(s->prompt));
        rpt_render_field(h, sc, d, s->id, "prompt", s->prompt, RPT_BLOCK_MAX);
        rpt_html_raw(h, "</pre></details>\n");
    }
    if (s->data_json) {
        rpt_html_raw(h, "<details><summary>data</summary><pre>");
        rpt_render_block(h, sc, s->data_json, RPT_BLOCK_MAX);
        rpt_html_raw(h, "</pre></details>\n");
    }
    rpt_html_raw(h, "</details>\n");
}

void rpt_render_samples(struct rpt_html *h, const struct rpt_rundata *d,
                        const struct pii_scanner *sc, int64_t per_task)
{
    if (d->n_samples == 0)
        return;
    int64_t *idx = mem_alloc_array((size_t)d->n_samples, sizeof(*idx));
    int *task_of = mem_alloc_array((size_t)d->n_samples, sizeof(*task_of));
    const char **tasks = mem_alloc_array((size_t)d->n_samples, sizeof(*tasks));
    if (!idx || !task_of || !tasks) {
        if (h->rc == 0)
            h->rc = ASSAY_ENOMEM;
        goto out;
    }
    int n_tasks = 0;
    for (int64_t i = 0; i < d->n_samples; i++) {
        idx[i] = i;
        int t = n_tasks - 1;
        /* samples come task by task, so the last task seen is the usual match */
        if (t < 0 || strcmp(tasks[t], d->samples[i].task) != 0)
            for (t = 0; t < n_tasks && strcmp(tasks[t], d->samples[i].task) != 0; t++)
                ;
        if (t == n_tasks)
            tasks[n_tasks++] = d->samples[i].task;
        task_of[i] = t;
    }
    struct sample_order o = {d, task_of};
    qsort_r(idx, (size_t)d->n_samples, sizeof(*idx), cmp_samples, &o);
    rpt_html_raw(h, "<h3>Samples</h3>\n<p class=\"muted\">Per task, worst first: errors, then "
                    "wrong answers, then by score.");
    rpt_html_raw(h, sc ? " Personal data and secrets found by the PII scanner are replaced by "
                         "their type, e.g. [EMAIL_ADDRESS] (--raw shows the text as stored)."
                       : " <b>Raw text</b>: PII masking is off (--raw).");
    rpt_html_raw(h, "</p>\n");
    for (int64_t i = 0; i < d->n_samples;) {
        int t = task_of[idx[i]];
        int64_t j = i, n_wrong = 0, n_err = 0;
        for (; j < d->n_samples && task_of[idx[j]] == t; j++) {
            n_wrong += d->samples[idx[j]].correct == 0 && !d->samples[idx[j]].error;
            n_err += d->samples[idx[j]].error != NULL;
        }
        int64_t n = j - i, shown = per_task > 0 && per_task < n ? per_task : n;
        rpt_html_raw(h, "<details class=\"task\"><summary>");
        rpt_html_text(h, tasks[t]);
        rpt_html_rawf(h, " <span class=\"muted\">%lld samples, %lld wrong, %lld errors",
                      (long long)n, (long long)n_wrong, (long long)n_err);
        if (shown < n)
            rpt_html_rawf(h, "; the %lld worst shown", (long long)shown);
        rpt_html_raw(h, "</span></summary>\n");
        for (int64_t k = i; k < i + shown; k++)
            render_one_sample(h, d, &d->samples[idx[k]], sc);
        rpt_html_raw(h, "</details>\n");
        i = j;
    }
out:
    free(idx);
    free(task_of);
    free(tasks);
}

static int render_scores(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    render_metrics_table(c, d);
    render_chart(c, d);
    rpt_render_samples(c->h, d, c->sc, c->opts->samples_per_task);
    return 0;
}

/* ---- the section table --------------------------------------------------------------- */

static const struct rpt_section sections[] = {
    {"eval", "evaluation", render_scores},
    {"exec", "code execution", render_scores},
    {"score", "log-likelihood", render_scores},
    {"generate", "generation", render_scores},
    {"compare-logits", "logit comparison", rpt_render_logits},
    {"pii", "PII scan", rpt_render_pii_run},
    {"memorize", "memorization audit", rpt_render_memorize},
    {"sweep", "prompt-format sweep", rpt_render_sweep},
    {NULL, "run", render_scores}, /* any other kind: its metrics and samples */
};

static const struct rpt_section *section_for(const char *kind)
{
    const struct rpt_section *s = sections;
    for (; s->kind; s++)
        if (kind && strcmp(s->kind, kind) == 0)
            break;
    return s;
}

int rpt_report_write(struct buf *out, struct store *s, const int64_t *ids, size_t n,
                     const struct rpt_options *opts, struct assay_error *err)
{
    struct rpt_html h;
    rpt_html_init(&h, out->max_len);
    struct pii_scanner *sc = NULL;
    int rc = 0;
    if (!opts->raw) {
        struct pii_config pc = {0};
        rc = pii_scanner_new(&sc, &pc, err);
        if (rc)
            goto out;
    }
    char now[32];
    if (!opts->generated_at)
        clock_utc_iso(now, sizeof(now));
    rpt_page_begin(&h, "assay report");
    rpt_html_raw(&h, "<h1>assay report</h1>\n<p class=\"muted\">Generated ");
    rpt_html_text(&h, opts->generated_at ? opts->generated_at : now);
    rpt_html_raw(&h, " from ");
    rpt_html_text(&h, store_path(s));
    rpt_html_raw(&h, opts->raw ? ". <b>Raw text: PII masking is off.</b>" : ". Stored text is masked by the PII scanner.");
    rpt_html_raw(&h, "</p>\n");
    if (n > 1) {
        rpt_html_raw(&h, "<nav>Runs: ");
        for (size_t i = 0; i < n; i++)
            rpt_html_rawf(&h, "<a href=\"#run-%lld\">%lld</a>", (long long)ids[i],
                          (long long)ids[i]);
        rpt_html_raw(&h, "</nav>\n");
    }
    struct rpt_ctx c = {&h, sc, opts, err};
    for (size_t i = 0; i < n && rc == 0; i++) {
        progress_report(&opts->prog, (int64_t)i, (int64_t)n, "report");
        struct rpt_rundata d;
        rc = rpt_rundata_load(&d, s, ids[i], RPT_MAX_SAMPLES_PER_RUN, err);
        if (rc)
            break;
        const struct rpt_section *sec = section_for(d.run.kind);
        rpt_html_rawf(&h, "<section class=\"run\" id=\"run-%lld\">\n<h2>Run %lld &middot; ",
                      (long long)d.run.id, (long long)d.run.id);
        rpt_html_text(&h, d.run.kind);
        rpt_html_rawf(&h, " <span class=\"muted\">(%s)</span>", sec->title);
        if (d.has_model && d.model.name) {
            rpt_html_raw(&h, " &middot; ");
            rpt_html_text(&h, d.model.name);
        }
        rpt_html_raw(&h, "</h2>\n");
        rpt_render_meta(&h, &d);
        rc = sec->render(&c, &d);
        if (rc == 0 && (d.n_pii > 0) && sec->render != rpt_render_pii_run)
            rc = rpt_render_pii_findings(&c, &d);
        rpt_html_raw(&h, "</section>\n");
        rpt_rundata_release(&d);
    }
    progress_report(&opts->prog, (int64_t)n, (int64_t)n, "report");
    if (rc)
        goto out;
    rpt_page_end(&h);
    if (h.rc) {
        rc = err_set(err, h.rc, "report page: %s", h.rc == ASSAY_ELIMIT ? "larger than its cap" : "out of memory");
        goto out;
    }
    rc = buf_add(out, h.b.data, h.b.len);
    if (rc)
        rc = err_set(err, rc, "report page too large");
out:
    pii_scanner_free(sc);
    rpt_html_release(&h);
    return rc;
}
