/*
 * reports/report_sweep.c - the pages' view of prompt-format sweeps (runs of kind
 * "sweep", issue #8 item 6):
 *  - the report's section for one sweep run: per task (groups first) a robustness
 *    summary, inline SVG horizontal bars of accuracy per format (best first, whiskers
 *    +-1 stderr, the task's reference format highlighted (lm-eval's own prompt for MMLU
 *    and GSM8K; sweepview.h), the mean drawn as a line, min and
 *    max marked and the spread written), and the table by display position of the gold
 *    answer (gold rate, accuracy when the gold is there, pick rate = letter bias against
 *    the uniform rate), then the samples;
 *  - the comparison page's section for two sweep runs: both checkpoints' robustness side
 *    by side, Kendall's tau-b of their per-format accuracies, and a scatter of format
 *    accuracy in A against B.
 * Readability with many formats: a task with more than SWEEP_BARS_ALL formats draws the
 * best SWEEP_BARS_EDGE and the worst SWEEP_BARS_EDGE bars with a note of how many lie
 * between (the summary's min, max, mean and std cover them all). Everything comes from
 * the stored metrics via sweepview.c; every stored string goes through html.c.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports/html.h"
#include "reports/report_int.h"
#include "reports/rundata.h"
#include "reports/sweepview.h"

#define SWEEP_BARS_ALL    40 /* up to this many formats: a bar each */
#define SWEEP_BARS_EDGE   20 /* above: the best and the worst this many */
#define SWEEP_SCATTER_MAX 12 /* tasks with a scatter on the comparison page */

static void pct(struct rpt_html *h, double v, int decimals)
{
    rpt_html_num(h, 100 * v, decimals);
    if (isfinite(v))
        rpt_html_raw(h, "%");
}

static void summary_table(struct rpt_html *h, const struct rpt_sweep_task *t)
{
    rpt_html_raw(h, "<table class=\"sweep-summary\">\n<tr><th>formats</th><th>mean</th>"
                    "<th>std</th><th>min</th><th>max</th><th>spread</th><th>recall std</th>"
                    "<th>reference format</th></tr>\n<tr>");
    rpt_html_rawf(h, "<td class=\"n\">%lld</td>", (long long)t->n_fmts);
    const double v[] = {t->mean, t->std, t->min, t->max, t->spread, t->recall_std};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        rpt_html_raw(h, "<td class=\"n\">");
        pct(h, v[i], 1);
        rpt_html_raw(h, "</td>");
    }
    rpt_html_raw(h, "<td class=\"n\">");
    if (t->default_idx >= 0) {
        pct(h, t->fmts[t->default_idx].acc, 1);
        rpt_html_rawf(h, " <span class=\"muted\">(rank %lld of %lld)</span>",
                      (long long)t->default_idx + 1, (long long)t->n_fmts);
    } else {
        rpt_html_raw(h, "<span class=\"muted\">not swept</span>");
    }
    rpt_html_raw(h, "</td></tr>\n</table>\n");
    if (isfinite(t->flex_mean)) {
        rpt_html_raw(h, "<p class=\"muted\">Bars and figures: strict-match. Flexible-extract "
                        "over the formats: mean ");
        pct(h, t->flex_mean, 1);
        rpt_html_raw(h, ", std ");
        pct(h, t->flex_std, 1);
        rpt_html_raw(h, ", spread ");
        pct(h, t->flex_spread, 1);
        rpt_html_raw(h, ".</p>\n");
    }
}

static void bars(struct rpt_html *h, const struct rpt_sweep_task *t)
{
    if (t->n_fmts == 0)
        return;
    bool cut = t->n_fmts > SWEEP_BARS_ALL;
    int64_t n_drawn = cut ? 2 * SWEEP_BARS_EDGE : t->n_fmts;
    const int label_w = 230, plot_w = 560, row_h = 18, top = 34, gap_h = cut ? 22 : 0;
    int height = top + (int)n_drawn * row_h + gap_h + 12;
    rpt_html_rawf(h,
                  "<svg class=\"sweep-bars\" role=\"img\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\">\n<title>accuracy per prompt format</title>\n",
                  label_w + plot_w + 90, height, label_w + plot_w + 90, height);
    for (int tk = 0; tk <= 100; tk += 25) {
        double x = label_w + plot_w * tk / 100.0;
        rpt_html_rawf(h,
                      "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e1e4e8\"/>"
                      "<text x=\"%.1f\" y=\"12\" text-anchor=\"middle\">%d%%</text>\n",
                      x, top - 4, x, height - 6, x, tk);
    }
    double y = top;
    for (int64_t i = 0; i < t->n_fmts; i++) {
        if (cut && i == SWEEP_BARS_EDGE) {
            rpt_html_rawf(h,
                          "<text class=\"sweep-gap\" x=\"%d\" y=\"%.1f\">&hellip; %lld formats "
                          "between, not drawn &hellip;</text>\n",
                          label_w + 8, y + 15, (long long)(t->n_fmts - 2 * SWEEP_BARS_EDGE));
            y += gap_h;
            i = t->n_fmts - SWEEP_BARS_EDGE;
        }
        const struct rpt_sweep_fmt *f = &t->fmts[i];
        bool dflt = i == t->default_idx;
        double v = fmin(fmax(f->acc, 0), 1);
        rpt_html_rawf(h,
                      "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
                      "font-family=\"ui-monospace,monospace\"%s>",
                      label_w - 8, y + 13,
                      dflt ? " font-weight=\"bold\" style=\"fill:#b35c00\"" : "");
        rpt_html_text(h, f->id);
        rpt_html_raw(h, "</text>\n");
        rpt_html_rawf(h,
                      "<rect class=\"fmt-bar%s\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"12\" fill=\"%s\"><title>",
                      dflt ? " default" : "", label_w, y + 3, plot_w * v,
                      dflt ? "#d9822b" : "#7ea6dc");
        rpt_html_text(h, f->id);
        rpt_html_rawf(h, ": %.1f%% &plusmn; %.1f (n %lld)%s</title></rect>\n", 100 * f->acc,
                      isfinite(f->stderr_) ? 100 * f->stderr_ : 0.0, (long long)f->n,
                      dflt ? ", the reference format" : "");
        rpt_html_rawf(h, "<text x=\"%d\" y=\"%.1f\">%.1f</text>\n", label_w + plot_w + 6, y + 13,
                      100 * f->acc);
        if (isfinite(f->stderr_) && f->stderr_ > 0) {
            double lo = fmax(f->acc - f->stderr_, 0), hi = fmin(f->acc + f->stderr_, 1);
            double x1 = label_w + plot_w * lo, x2 = label_w + plot_w * hi;
            rpt_html_rawf(h,
                          "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fV%.1f\" "
                          "stroke=\"#1d232b\" fill=\"none\"/>\n",
                          x1, y + 5, y + 13, x1, y + 9, x2, x2, y + 5, y + 13);
        }
        y += row_h;
    }
    /* mean, min and max over all the formats, drawn or not */
    const struct {
        double v;
        const char *name, *colour, *dash;
    } marks[] = {{t->min, "min", "#b42318", "2 2"},
                 {t->mean, "mean", "#1d232b", "6 3"},
                 {t->max, "max", "#1a7f37", "2 2"}};
    for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
        if (!isfinite(marks[k].v))
            continue;
        double x = label_w + plot_w * fmin(fmax(marks[k].v, 0), 1);
        rpt_html_rawf(h,
                      "<line class=\"sweep-%s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                      "stroke=\"%s\" stroke-dasharray=\"%s\"/><text x=\"%.1f\" y=\"%d\" "
                      "text-anchor=\"middle\" fill=\"%s\">%s</text>\n",
                      marks[k].name, x, top - 6, x, height - 6, marks[k].colour, marks[k].dash, x,
                      top - 8 - (k == 1 ? 0 : 0), marks[k].colour, marks[k].name);
    }
    rpt_html_raw(h, "</svg>\n<p class=\"muted\">");
    if (cut)
        rpt_html_rawf(h, "The best %d and the worst %d of %lld formats are drawn. ",
                      SWEEP_BARS_EDGE, SWEEP_BARS_EDGE, (long long)t->n_fmts);
    rpt_html_raw(h, "Bars: accuracy per format, best first; whiskers &plusmn; 1 stderr; "
                    "orange: the reference format (");
    rpt_html_text(h, t->default_id);
    rpt_html_raw(h, t->default_is_lmeval ? ", lm-eval's own prompt for this task"
                                         : ", lm-eval's MMLU layout; lm-eval scores this task "
                                           "by the answer text");
    rpt_html_raw(h, "); dashed lines: the mean, min and max over all formats. Spread (max "
                    "&minus; min): <b>");
    rpt_html_num(h, 100 * t->spread, 1);
    rpt_html_raw(h, " points</b>.</p>\n");
}

static void position_table(struct rpt_html *h, const struct rpt_sweep_task *t)
{
    if (t->n_pos == 0)
        return;
    double uniform = 1.0 / t->n_pos;
    rpt_html_raw(h, "<table class=\"sweep-pos\">\n<tr><th>gold shown at</th><th>gold rate</th>"
                    "<th>accuracy when gold there</th><th>&plusmn; stderr</th><th>n</th>"
                    "<th>pick rate</th><th>bias vs uniform</th></tr>\n");
    for (int j = 0; j < t->n_pos; j++) {
        const struct rpt_sweep_pos *p = &t->pos[j];
        double bias = p->pick_rate - uniform;
        rpt_html_rawf(h, "<tr class=\"pos\"><td>%d (%c)</td><td class=\"n\">", j + 1, 'A' + j);
        pct(h, p->gold_rate, 1);
        rpt_html_raw(h, "</td><td class=\"n\">");
        pct(h, p->acc_gold, 1);
        rpt_html_raw(h, "</td><td class=\"n\">");
        rpt_html_num(h, 100 * p->acc_gold_stderr, 1);
        rpt_html_rawf(h, "</td><td class=\"n\">%lld</td><td class=\"n\">", (long long)p->n_gold);
        pct(h, p->pick_rate, 1);
        rpt_html_rawf(h, "</td><td class=\"n%s\">%+.1f</td></tr>\n",
                      fabs(bias) >= 0.5 * uniform ? " bad" : "", 100 * bias);
    }
    rpt_html_raw(h, "</table>\n<p class=\"muted\">Positions are display positions (label A, "
                    "(A), 1 and a are all position 1). Pick rate: how often the model chose "
                    "that position, whatever the gold (letter bias); bias in points against "
                    "the uniform rate ");
    pct(h, uniform, 1);
    rpt_html_raw(h, " (red: off by half of it or more). Recall std (Zheng et al.'s RStd): "
                    "population std of the per-position accuracies: <b>");
    rpt_html_num(h, 100 * t->recall_std, 2);
    rpt_html_raw(h, " points</b>.</p>\n");
}

int rpt_render_sweep(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    struct rpt_html *h = c->h;
    struct rpt_sweep_view v;
    int rc = rpt_sweep_view_build(&v, d->metrics, d->n_metrics, d->run.config_json, c->err);
    if (rc)
        return rc;
    if (v.n_tasks == 0)
        rpt_html_raw(h, "<p class=\"muted\">No sweep statistics stored for this run (it did "
                        "not finish, or no sample was scored).</p>\n");
    for (int64_t i = 0; i < v.n_tasks; i++) {
        const struct rpt_sweep_task *t = &v.tasks[i];
        rpt_html_raw(h, "<div class=\"sweep-task\">\n<h3>");
        rpt_html_text(h, t->task);
        rpt_html_raw(h, t->group ? " <span class=\"muted\">(group: all its items)</span>" : "");
        rpt_html_rawf(h, " <span class=\"muted\">%lld samples</span></h3>\n",
                      (long long)t->n_samples);
        summary_table(h, t);
        bars(h, t);
        position_table(h, t);
        rpt_html_raw(h, "</div>\n");
    }
    rpt_html_raw(h, "<p class=\"muted\">Accuracy over prompt formats (issue #8): std is the "
                    "sample standard deviation (n&minus;1) of the per-format accuracies; each "
                    "format's accuracy is over the same documents.</p>\n");
    rpt_sweep_view_release(&v);
    rpt_render_samples(h, d, c->sc, c->opts->samples_per_task);
    return 0;
}

/* ---- comparison page ---------------------------------------------------------------------- */

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void side_by_side(struct rpt_html *h, const json_t *a, const json_t *b, const char *k,
                         int decimals)
{
    double va = jnum(a, k), vb = jnum(b, k);
    bool lower_wins = strcmp(k, "fmt_mean") != 0; /* spread figures: smaller is more robust */
    const char *ca = "", *cb = "";
    if (isfinite(va) && isfinite(vb) && va != vb) {
        bool a_better = lower_wins ? va < vb : va > vb;
        ca = a_better ? " good" : "";
        cb = a_better ? "" : " good";
    }
    rpt_html_rawf(h, "<td class=\"n%s\">", ca);
    rpt_html_num(h, 100 * va, decimals);
    rpt_html_rawf(h, "</td><td class=\"n%s\">", cb);
    rpt_html_num(h, 100 * vb, decimals);
    rpt_html_raw(h, "</td>");
}

static void scatter(struct rpt_html *h, const json_t *e)
{
    const json_t *fl = json_object_get(e, "formats");
    size_t n = json_array_size(fl);
    if (n == 0)
        return;
    const int pad = 36, side = 260;
    rpt_html_raw(h, "<figure class=\"sweep-scatter\"><figcaption>");
    rpt_html_text(h, json_string_value(json_object_get(e, "task")));
    rpt_html_rawf(h,
                  "</figcaption><svg role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
                  "%d %d\">\n<title>format accuracy, A (x) against B (y)</title>\n",
                  side + pad + 10, side + pad + 10, side + pad + 10, side + pad + 10);
    rpt_html_rawf(h,
                  "<rect x=\"%d\" y=\"10\" width=\"%d\" height=\"%d\" fill=\"none\" "
                  "stroke=\"#d5dae1\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"10\" "
                  "stroke=\"#c0c6cf\" stroke-dasharray=\"4 3\"/>\n"
                  "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">A</text>"
                  "<text x=\"12\" y=\"%d\">B</text>"
                  "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">0</text>"
                  "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">100%%</text>\n",
                  pad, side, side, pad, side + 10, pad + side, pad + side / 2, side + pad + 4,
                  side / 2 + 10, pad, side + 24, pad + side, side + 24);
    size_t i;
    const json_t *p;
    json_array_foreach(fl, i, p)
    {
        const char *id = json_string_value(json_array_get(p, 0));
        double x = json_number_value(json_array_get(p, 1)),
               y = json_number_value(json_array_get(p, 2));
        const char *ref = json_string_value(json_object_get(e, "default_format"));
        bool dflt = id && ref && strcmp(id, ref) == 0;
        rpt_html_rawf(h,
                      "<circle class=\"fmt-pt%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" "
                      "fill=\"%s\" fill-opacity=\"0.7\"><title>",
                      dflt ? " default" : "", pad + side * fmin(fmax(x, 0), 1),
                      10 + side * (1 - fmin(fmax(y, 0), 1)), dflt ? 5 : 3,
                      dflt ? "#d9822b" : "#3b6fb6");
        rpt_html_text(h, id);
        rpt_html_rawf(h, ": A %.1f%%, B %.1f%%</title></circle>\n", 100 * x, 100 * y);
    }
    rpt_html_raw(h, "</svg></figure>\n");
}

void rpt_render_sweep_compare(struct rpt_html *h, int64_t run_a, int64_t run_b, const json_t *sweep)
{
    size_t n = json_array_size(sweep);
    if (n == 0)
        return;
    rpt_html_raw(h, "<h3>Prompt-format robustness (two sweeps)</h3>\n<table class=\"sweep-cmp\">"
                    "\n<tr><th rowspan=\"2\">task</th><th rowspan=\"2\">formats</th>"
                    "<th colspan=\"2\">mean</th><th colspan=\"2\">std</th>"
                    "<th colspan=\"2\">spread</th><th colspan=\"2\">recall std</th>"
                    "<th rowspan=\"2\">Kendall &tau;<sub>b</sub></th></tr>\n<tr>");
    for (int k = 0; k < 4; k++)
        rpt_html_raw(h, "<th>A</th><th>B</th>");
    rpt_html_raw(h, "</tr>\n");
    size_t i;
    const json_t *e;
    json_array_foreach(sweep, i, e)
    {
        const json_t *a = json_object_get(e, "a"), *b = json_object_get(e, "b");
        rpt_html_raw(h, "<tr class=\"sweep-task\"><td>");
        rpt_html_text(h, json_string_value(json_object_get(e, "task")));
        rpt_html_rawf(h, "</td><td class=\"n\">%lld</td>",
                      (long long)json_integer_value(json_object_get(e, "n_formats")));
        side_by_side(h, a, b, "fmt_mean", 1);
        side_by_side(h, a, b, "fmt_std", 2);
        side_by_side(h, a, b, "fmt_spread", 1);
        side_by_side(h, a, b, "recall_std", 2);
        rpt_html_raw(h, "<td class=\"n tau\">");
        /* the same double as the JSON's kendall_tau_b, printed to 3 decimals (%.3f) */
        rpt_html_num(h, jnum(e, "kendall_tau_b"), 3);
        rpt_html_raw(h, "</td></tr>\n");
    }
    rpt_html_rawf(h,
                  "</table>\n<p class=\"muted\">A = run %lld, B = run %lld; figures in "
                  "percent points over the formats each run swept. Green: the more robust "
                  "checkpoint (smaller std, spread or recall std; higher mean). Kendall's "
                  "&tau;<sub>b</sub> (ties as scipy's default) of the two runs' per-format "
                  "accuracies over the formats both ran: 1 means the formats rank the same "
                  "for both checkpoints, 0 no agreement, &ndash; undefined "
                  "(fewer than two common formats, or one run scores every format the "
                  "same).</p>\n",
                  (long long)run_a, (long long)run_b);
    rpt_html_raw(h, "<div class=\"sweep-scatters\">\n");
    json_array_foreach(sweep, i, e)
    {
        if (i >= SWEEP_SCATTER_MAX)
            break;
        scatter(h, e);
    }
    rpt_html_raw(h, "</div>\n<p class=\"muted\">Each point is a format: its accuracy in A (x) "
                    "and in B (y); the dashed diagonal is equal accuracy; orange: the task's "
                    "reference format (lm-eval's own prompt for MMLU and GSM8K).");
    if (n > SWEEP_SCATTER_MAX)
        rpt_html_rawf(h, " Scatters for the first %d of %zu tasks.", SWEEP_SCATTER_MAX, n);
    rpt_html_raw(h, "</p>\n");
}
