/*
 * reports/report_logits.c - the report section of a compare-logits run: which two
 * checkpoints were compared on what text, the KL / agreement / perplexity metrics, a
 * chart of mean KL per window, and the windows with the highest divergence first.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "reports/html.h"
#include "reports/logits.h"
#include "reports/report_int.h"
#include "reports/rundata.h"

static const struct {
    const char *name, *label;
} metric_labels[] = {
    {"kl_mean", "mean KL(base || model), nats"},
    {"kl_median", "median KL"},
    {"kl_p99", "99th percentile KL"},
    {"kl_max", "largest KL"},
    {"top1_agree", "top-1 agreement"},
    {"ppl_base", "perplexity of the base"},
    {"ppl_model", "perplexity of the model"},
};

static int cmp_window_kl(const void *x, const void *y, void *user)
{
    const double *kl = user;
    int64_t i = *(const int64_t *)x, j = *(const int64_t *)y;
    if (kl[i] != kl[j])
        return kl[i] > kl[j] ? -1 : 1; /* largest first */
    return (i > j) - (i < j);
}

int rpt_render_logits(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    struct rpt_html *h = c->h;
    json_error_t je;
    json_t *cfg = d->run.config_json ? json_loads(d->run.config_json, 0, &je) : NULL;
    const char *base = cfg ? json_string_value(json_object_get(cfg, "base")) : NULL;
    const char *text = cfg ? json_string_value(json_object_get(cfg, "text")) : NULL;
    rpt_html_raw(h, "<h3>Logit comparison</h3>\n<p>Base ");
    rpt_html_text(h, base ? base : "?");
    rpt_html_raw(h, " against model ");
    rpt_html_text(h, d->run.model_path ? d->run.model_path : "?");
    rpt_html_raw(h, " on ");
    rpt_html_text(h, text ? text : "?");
    rpt_html_raw(h, ". At every position both full-vocabulary distributions are compared: "
                    "KL(base || model) = &sum; p<sub>base</sub> (log p<sub>base</sub> &minus; "
                    "log p<sub>model</sub>), in nats; top-1 agreement is how often both put "
                    "the same token first.</p>\n");
    json_decref(cfg);

    rpt_html_raw(h, "<table><tr><th>metric</th><th>value</th><th>&plusmn; stderr</th>"
                    "<th>n</th></tr>\n");
    for (size_t k = 0; k < sizeof(metric_labels) / sizeof(metric_labels[0]); k++)
        for (int64_t i = 0; i < d->n_metrics; i++) {
            const struct store_metric *m = &d->metrics[i];
            if (strcmp(m->name, metric_labels[k].name) != 0)
                continue;
            bool pct = strcmp(m->name, "top1_agree") == 0;
            rpt_html_rawf(h, "<tr><td>%s</td><td class=\"n\">", metric_labels[k].label);
            rpt_html_num(h, pct ? 100 * m->value : m->value, pct ? 2 : 5);
            rpt_html_raw(h, pct ? "%</td><td class=\"n\">" : "</td><td class=\"n\">");
            rpt_html_num(h, pct ? 100 * m->stderr_ : m->stderr_, pct ? 2 : 5);
            rpt_html_rawf(h, "</td><td class=\"n\">%lld</td></tr>\n", (long long)m->n);
        }
    rpt_html_raw(h, "</table>\n");

    int64_t n = d->n_samples;
    if (n == 0)
        return 0;
    double *kl = mem_alloc_array((size_t)n, sizeof(*kl));
    int64_t *idx = mem_alloc_array((size_t)n, sizeof(*idx));
    if (!kl || !idx) {
        free(kl);
        free(idx);
        return err_set(c->err, ASSAY_ENOMEM, "out of memory");
    }
    double kl_top = 0;
    for (int64_t i = 0; i < n; i++) {
        idx[i] = i;
        kl[i] = isfinite(d->samples[i].score) ? d->samples[i].score : 0;
        kl_top = fmax(kl_top, kl[i]);
    }
    /* chart: one bar per window in text order (at most 400 drawn) */
    int64_t n_bars = n < 400 ? n : 400;
    double bar_w = 700.0 / (double)n_bars;
    rpt_html_rawf(h,
                  "<svg role=\"img\" width=\"760\" height=\"170\" viewBox=\"0 0 760 170\">"
                  "<title>mean KL per window</title>\n"
                  "<text x=\"0\" y=\"12\">%.4g</text><text x=\"0\" y=\"150\">0</text>\n"
                  "<line x1=\"50\" y1=\"145\" x2=\"750\" y2=\"145\" stroke=\"#999\"/>\n",
                  kl_top);
    for (int64_t i = 0; i < n_bars; i++) {
        double bh = kl_top > 0 ? 135.0 * kl[i] / kl_top : 0;
        rpt_html_rawf(h,
                      "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                      "fill=\"#7ea6dc\"/>\n",
                      50 + bar_w * (double)i, 145 - bh, fmax(bar_w - 1, 0.5), bh);
    }
    rpt_html_rawf(h, "<text x=\"50\" y=\"165\">window 0</text><text x=\"750\" y=\"165\" "
                     "text-anchor=\"end\">window %lld</text></svg>\n",
                  (long long)(n_bars - 1));
    if (n_bars < n)
        rpt_html_rawf(h, "<p class=\"muted\">The first %lld of %lld windows are drawn.</p>\n",
                      (long long)n_bars, (long long)n);

    qsort_r(idx, (size_t)n, sizeof(*idx), cmp_window_kl, kl);
    int64_t shown = n < 50 ? n : 50;
    rpt_html_rawf(h, "<details><summary>Windows, highest mean KL first (%lld of %lld)</summary>\n"
                     "<table><tr><th>window</th><th>first token</th><th>tokens</th>"
                     "<th>mean KL</th><th>max KL</th><th>top-1 agree</th>"
                     "<th>ppl base</th><th>ppl model</th></tr>\n",
                  (long long)shown, (long long)n);
    for (int64_t k = 0; k < shown; k++) {
        const struct rpt_sample *s = &d->samples[idx[k]];
        json_t *o = s->data_json ? json_loads(s->data_json, 0, &je) : NULL;
        double nt = json_number_value(json_object_get(o, "n_tokens"));
        double nb = json_number_value(json_object_get(o, "nll_base"));
        double nm = json_number_value(json_object_get(o, "nll_model"));
        rpt_html_raw(h, "<tr><td>");
        rpt_html_text(h, s->item);
        rpt_html_rawf(h, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">",
                      (long long)json_integer_value(json_object_get(o, "token_start")),
                      (long long)nt);
        rpt_html_num(h, s->score, 5);
        rpt_html_raw(h, "</td><td class=\"n\">");
        rpt_html_num(h, json_number_value(json_object_get(o, "kl_max")), 5);
        rpt_html_raw(h, "</td><td class=\"n\">");
        rpt_html_num(h, nt > 0 ? 100.0 * (double)json_integer_value(json_object_get(o, "top1_agree")) / nt : NAN, 1);
        rpt_html_raw(h, "%</td><td class=\"n\">");
        rpt_html_num(h, nt > 0 ? exp(nb / nt) : NAN, 3);
        rpt_html_raw(h, "</td><td class=\"n\">");
        rpt_html_num(h, nt > 0 ? exp(nm / nt) : NAN, 3);
        rpt_html_raw(h, "</td></tr>\n");
        json_decref(o);
    }
    rpt_html_raw(h, "</table></details>\n");
    free(kl);
    free(idx);
    return 0;
}
