/*
 * reports/compare.c - matching two runs' samples by (task, item, format_id), the
 * per-task statistics (compare_stats.c), the JSON of a comparison, and its HTML page
 * (shares the head, metadata and escaping with report.c / html.c).
 */
#include "reports/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "reports/html.h"
#include "reports/report_int.h"
#include "reports/sweepview.h"
#include "safety/pii.h"
#include "store/store.h"

static int cmp_key(const struct rpt_sample *x, const struct rpt_sample *y)
{
    int c = strcmp(x->task, y->task);
    if (c == 0)
        c = strcmp(x->item, y->item);
    if (c == 0)
        c = strcmp(x->format_id, y->format_id);
    return c;
}

static int cmp_idx(const void *p, const void *q, void *user)
{
    const struct rpt_sample *s = user;
    int64_t i = *(const int64_t *)p, j = *(const int64_t *)q;
    int c = cmp_key(&s[i], &s[j]);
    return c ? c : (i > j) - (i < j);
}

static int64_t *sorted_index(const struct rpt_rundata *d)
{
    int64_t *idx = mem_alloc_array(d->n_samples ? (size_t)d->n_samples : 1, sizeof(*idx));
    if (!idx)
        return NULL;
    for (int64_t i = 0; i < d->n_samples; i++)
        idx[i] = i;
    qsort_r(idx, (size_t)d->n_samples, sizeof(*idx), cmp_idx, d->samples);
    return idx;
}

static int cmp_task_delta(const void *p, const void *q)
{
    const struct rpt_cmp_task *x = p, *y = q;
    double dx = isnan(x->ci.delta) ? -INFINITY : x->ci.delta;
    double dy = isnan(y->ci.delta) ? -INFINITY : y->ci.delta;
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->task, y->task);
}

static int count_task(const struct rpt_rundata *d, const int64_t *idx, int64_t *pos,
                      const char *task)
{
    int n = 0;
    while (*pos < d->n_samples && strcmp(d->samples[idx[*pos]].task, task) == 0) {
        (*pos)++;
        n++;
    }
    return n;
}

/* Statistics of the matched pairs pa[k], pb[k] (sample indices) into t. */
static int task_stats(struct rpt_cmp_task *t, const struct rpt_rundata *a,
                      const struct rpt_rundata *b, const int64_t *pa, const int64_t *pb,
                      int64_t k, double *xa, double *xb, const struct rpt_compare_options *o,
                      struct assay_error *err)
{
    int64_t n01 = 0, n10 = 0, nc = 0;
    for (int64_t i = 0; i < k; i++) {
        const struct rpt_sample *sa = &a->samples[pa[i]], *sb = &b->samples[pb[i]];
        xa[i] = sa->score;
        xb[i] = sb->score;
        if (sa->correct >= 0 && sb->correct >= 0) {
            nc++;
            n01 += sa->correct > 0 && sb->correct == 0;
            n10 += sa->correct == 0 && sb->correct > 0;
        }
    }
    t->n_paired = k;
    t->n_correctness = nc;
    cmp_mcnemar(&t->mc, n01, n10);
    return cmp_paired_bootstrap(&t->ci, xa, xb, k, o->resamples, o->seed, o->level, err);
}

static int push_flip(struct rpt_cmp_flip **v, int64_t *n, int64_t ia, int64_t ib,
                     struct assay_error *err)
{
    struct rpt_cmp_flip *p = mem_realloc_array(*v, (size_t)*n + 1, sizeof(**v));
    if (!p)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    p[*n].a = ia;
    p[*n].b = ib;
    *v = p;
    (*n)++;
    return 0;
}

int rpt_compare_pair(struct rpt_pair_cmp *out, const struct rpt_rundata *a,
                     const struct rpt_rundata *b, const struct rpt_compare_options *o,
                     struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    int64_t *ia = sorted_index(a), *ib = sorted_index(b);
    int64_t cap = (a->n_samples < b->n_samples ? a->n_samples : b->n_samples) + 1;
    int64_t *pa = mem_alloc_array((size_t)cap, sizeof(*pa));
    int64_t *pb = mem_alloc_array((size_t)cap, sizeof(*pb));
    double *xa = mem_alloc_array((size_t)cap, sizeof(*xa));
    double *xb = mem_alloc_array((size_t)cap, sizeof(*xb));
    int64_t n_task_cap = a->n_samples + b->n_samples + 1;
    out->tasks = calloc((size_t)n_task_cap, sizeof(*out->tasks));
    int rc = 0;
    if (!ia || !ib || !pa || !pb || !xa || !xb || !out->tasks) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory comparing runs");
        goto out;
    }
    /* merge the two sorted lists task by task */
    int64_t i = 0, j = 0, n_all = 0;
    while (rc == 0 && (i < a->n_samples || j < b->n_samples)) {
        const char *task;
        if (i < a->n_samples && j < b->n_samples) {
            const char *ta = a->samples[ia[i]].task, *tb = b->samples[ib[j]].task;
            task = strcmp(ta, tb) <= 0 ? ta : tb;
        } else {
            task = i < a->n_samples ? a->samples[ia[i]].task : b->samples[ib[j]].task;
        }
        int64_t i0 = i, j0 = j;
        struct rpt_cmp_task *t = &out->tasks[out->n_tasks++];
        t->task = task;
        t->n_a = count_task(a, ia, &i, task);
        t->n_b = count_task(b, ib, &j, task);
        int64_t k = 0, x = i0, y = j0;
        while (x < i && y < j) {
            int c = cmp_key(&a->samples[ia[x]], &b->samples[ib[y]]);
            if (c < 0) {
                x++;
            } else if (c > 0) {
                y++;
            } else {
                pa[k] = ia[x++];
                pb[k++] = ib[y++];
            }
        }
        rc = task_stats(t, a, b, pa, pb, k, xa, xb, o, err);
        for (int64_t q = 0; q < k && rc == 0; q++) {
            const struct rpt_sample *sa = &a->samples[pa[q]], *sb = &b->samples[pb[q]];
            if (sa->correct == 0 && sb->correct > 0)
                rc = push_flip(&out->fixed, &out->n_fixed, pa[q], pb[q], err);
            else if (sa->correct > 0 && sb->correct == 0)
                rc = push_flip(&out->broken, &out->n_broken, pa[q], pb[q], err);
        }
        n_all += k;
    }
    if (rc)
        goto out;
    /* every matched pair together */
    int64_t k = 0;
    for (i = 0, j = 0; i < a->n_samples && j < b->n_samples;) {
        int c = cmp_key(&a->samples[ia[i]], &b->samples[ib[j]]);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            pa[k] = ia[i++];
            pb[k++] = ib[j++];
        }
    }
    out->overall.task = "(all matched samples)";
    out->overall.n_a = a->n_samples;
    out->overall.n_b = b->n_samples;
    rc = task_stats(&out->overall, a, b, pa, pb, k, xa, xb, o, err);
    if (rc)
        goto out;
    qsort(out->tasks, (size_t)out->n_tasks, sizeof(*out->tasks), cmp_task_delta);
out:
    free(ia);
    free(ib);
    free(pa);
    free(pb);
    free(xa);
    free(xb);
    if (rc)
        rpt_pair_cmp_release(out);
    return rc;
}

void rpt_pair_cmp_release(struct rpt_pair_cmp *c)
{
    free(c->tasks);
    free(c->fixed);
    free(c->broken);
    memset(c, 0, sizeof(*c));
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *task_json(const struct rpt_cmp_task *t)
{
    json_t *o = json_object(), *m = json_object();
    json_object_set_new(o, "task", json_string(t->task));
    json_object_set_new(o, "n_a", json_integer(t->n_a));
    json_object_set_new(o, "n_b", json_integer(t->n_b));
    json_object_set_new(o, "n_paired", json_integer(t->n_paired));
    json_object_set_new(o, "mean_a", num(t->ci.mean_a));
    json_object_set_new(o, "mean_b", num(t->ci.mean_b));
    json_object_set_new(o, "delta", num(t->ci.delta));
    json_object_set_new(o, "ci_low", num(t->ci.lo));
    json_object_set_new(o, "ci_high", num(t->ci.hi));
    json_object_set_new(m, "n", json_integer(t->n_correctness));
    json_object_set_new(m, "n01", json_integer(t->mc.n01));
    json_object_set_new(m, "n10", json_integer(t->mc.n10));
    json_object_set_new(m, "test", json_string(t->mc.exact ? "exact" : "chi2_cc"));
    json_object_set_new(m, "statistic", num(t->mc.statistic));
    json_object_set_new(m, "p_value", num(t->mc.p_value));
    json_object_set_new(o, "mcnemar", m);
    return o;
}

json_t *rpt_pair_cmp_json(const struct rpt_pair_cmp *c, const struct rpt_rundata *a,
                          const struct rpt_rundata *b, const struct rpt_compare_options *o)
{
    json_t *r = json_object(), *tasks = json_array();
    json_object_set_new(r, "run_a", json_integer(a->run.id));
    json_object_set_new(r, "run_b", json_integer(b->run.id));
    json_object_set_new(r, "resamples", json_integer(o->resamples));
    json_object_set_new(r, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(r, "level", json_real(o->level));
    json_object_set_new(r, "overall", task_json(&c->overall));
    for (int64_t i = 0; i < c->n_tasks; i++)
        json_array_append_new(tasks, task_json(&c->tasks[i]));
    json_object_set_new(r, "tasks", tasks);
    json_object_set_new(r, "n_fixed", json_integer(c->n_fixed));
    json_object_set_new(r, "n_broken", json_integer(c->n_broken));
    return r;
}

/* ---- page ----------------------------------------------------------------------------- */

static void run_label(struct rpt_html *h, const struct rpt_rundata *d)
{
    rpt_html_rawf(h, "run %lld (", (long long)d->run.id);
    rpt_html_text(h, d->has_model && d->model.name ? d->model.name
                     : d->run.model_path                ? d->run.model_path
                                                        : d->run.kind);
    rpt_html_raw(h, ")");
}

static void pct(struct rpt_html *h, double v, bool sign)
{
    if (!isfinite(v)) {
        rpt_html_raw(h, "&ndash;");
        return;
    }
    rpt_html_rawf(h, sign ? "%+.1f" : "%.1f", 100 * v);
}

static void task_row(struct rpt_html *h, const struct rpt_cmp_task *t, bool bold)
{
    const struct cmp_interval *ci = &t->ci;
    bool sig = isfinite(ci->lo) && (ci->lo > 0 || ci->hi < 0);
    rpt_html_raw(h, bold ? "<tr class=\"group\"><td>" : "<tr><td>");
    rpt_html_text(h, t->task);
    rpt_html_rawf(h, "</td><td class=\"n\">%lld</td><td class=\"n\">", (long long)t->n_paired);
    pct(h, ci->mean_a, false);
    rpt_html_raw(h, "</td><td class=\"n\">");
    pct(h, ci->mean_b, false);
    rpt_html_rawf(h, "</td><td class=\"n%s\">", !sig ? "" : ci->delta > 0 ? " good" : " bad");
    pct(h, ci->delta, true);
    rpt_html_raw(h, "</td><td class=\"n\">[");
    pct(h, ci->lo, true);
    rpt_html_raw(h, ", ");
    pct(h, ci->hi, true);
    rpt_html_rawf(h, "]</td><td class=\"n\">%lld / %lld</td><td class=\"n\">",
                  (long long)t->mc.n10, (long long)t->mc.n01);
    if (t->n_correctness > 0)
        rpt_html_rawf(h, "%.3g <span class=\"muted\">%s</span>", t->mc.p_value,
                      t->mc.exact ? "exact" : "&chi;&sup2;");
    else
        rpt_html_raw(h, "&ndash;");
    rpt_html_raw(h, "</td></tr>\n");
}

/* A diverging bar per task: delta with its interval, on a scale of the largest |bound|. */
static void delta_chart(struct rpt_html *h, const struct rpt_pair_cmp *c)
{
    int64_t n = c->n_tasks < 120 ? c->n_tasks : 120;
    if (n == 0)
        return;
    double lim = 0.05;
    for (int64_t i = 0; i < n; i++) {
        const struct cmp_interval *ci = &c->tasks[i].ci;
        if (isfinite(ci->lo))
            lim = fmax(lim, fmax(fabs(ci->lo), fabs(ci->hi)));
    }
    const int label_w = 240, plot_w = 520, row_h = 20, top = 22;
    double mid = label_w + plot_w / 2.0, sc = plot_w / 2.0 / lim;
    int height = top + (int)n * row_h + 8;
    rpt_html_rawf(h, "<svg role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">"
                     "<title>delta per task with 95%% interval</title>\n",
                  label_w + plot_w + 20, height, label_w + plot_w + 20, height);
    rpt_html_rawf(h, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>"
                     "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\">0</text>"
                     "<text x=\"%d\" y=\"14\">%+.1f</text>"
                     "<text x=\"%d\" y=\"14\" text-anchor=\"end\">%+.1f</text>\n",
                  mid, top - 4, mid, height, mid, label_w, -100 * lim, label_w + plot_w,
                  100 * lim);
    for (int64_t i = 0; i < n; i++) {
        const struct rpt_cmp_task *t = &c->tasks[i];
        double y = top + (double)i * row_h;
        rpt_html_rawf(h, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", label_w - 8, y + 14);
        rpt_html_text(h, t->task);
        rpt_html_raw(h, "</text>\n");
        if (!isfinite(t->ci.delta))
            continue;
        double x0 = mid, x1 = mid + sc * t->ci.delta;
        rpt_html_rawf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"12\" fill=\"%s\"/>",
                      fmin(x0, x1), y + 4, fabs(x1 - x0), t->ci.delta >= 0 ? "#57ab5a" : "#e5534b");
        double l = mid + sc * t->ci.lo, r = mid + sc * t->ci.hi;
        rpt_html_rawf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1d232b\"/>\n",
                      l, y + 10, r, y + 10);
    }
    rpt_html_raw(h, "</svg>\n");
}

static void flip_list(struct rpt_ctx *c, const struct rpt_rundata *a, const struct rpt_rundata *b,
                      const struct rpt_cmp_flip *v, int64_t n, const char *title)
{
    struct rpt_html *h = c->h;
    int64_t per = c->opts->samples_per_task;
    int64_t shown = per > 0 && per < n ? per : n;
    rpt_html_rawf(h, "<details class=\"task\"><summary>%s: %lld", title, (long long)n);
    if (shown < n)
        rpt_html_rawf(h, " <span class=\"muted\">(first %lld shown)</span>", (long long)shown);
    rpt_html_raw(h, "</summary>\n");
    for (int64_t i = 0; i < shown; i++) {
        const struct rpt_sample *sa = &a->samples[v[i].a], *sb = &b->samples[v[i].b];
        rpt_html_raw(h, "<details class=\"s\"><summary>");
        rpt_html_text(h, sa->task);
        rpt_html_raw(h, " item ");
        rpt_html_text(h, sa->item);
        if (*sa->format_id) {
            rpt_html_raw(h, " &middot; format ");
            rpt_html_text(h, sa->format_id);
        }
        rpt_html_raw(h, "</summary>\n<div>target</div><pre>");
        rpt_render_field(h, c->sc, a, sa->id, "target", sa->target, 4096);
        rpt_html_rawf(h, "</pre>\n<div>run %lld output (score ", (long long)a->run.id);
        rpt_html_num(h, sa->score, 3);
        rpt_html_raw(h, ")</div><pre>");
        rpt_render_field(h, c->sc, a, sa->id, "output", sa->output, 4096);
        rpt_html_rawf(h, "</pre>\n<div>run %lld output (score ", (long long)b->run.id);
        rpt_html_num(h, sb->score, 3);
        rpt_html_raw(h, ")</div><pre>");
        rpt_render_field(h, c->sc, b, sb->id, "output", sb->output, 4096);
        rpt_html_raw(h, "</pre>\n");
        if (sa->data_json || sb->data_json) {
            rpt_html_raw(h, "<details><summary>data</summary><pre>");
            rpt_render_block(h, c->sc, sa->data_json, 4096);
            rpt_html_raw(h, "</pre><pre>");
            rpt_render_block(h, c->sc, sb->data_json, 4096);
            rpt_html_raw(h, "</pre></details>\n");
        }
        rpt_html_raw(h, "</details>\n");
    }
    rpt_html_raw(h, "</details>\n");
}

static void render_pair(struct rpt_ctx *c, const struct rpt_rundata *a,
                        const struct rpt_rundata *b, const struct rpt_pair_cmp *pc,
                        const struct rpt_compare_options *o, const json_t *sweep)
{
    struct rpt_html *h = c->h;
    rpt_html_rawf(h, "<section class=\"run\" id=\"cmp-%lld-%lld\">\n<h2>", (long long)a->run.id,
                  (long long)b->run.id);
    run_label(h, b);
    rpt_html_raw(h, " vs ");
    run_label(h, a);
    rpt_html_raw(h, "</h2>\n");
    int64_t unmatched_a = a->n_samples - pc->overall.n_paired,
            unmatched_b = b->n_samples - pc->overall.n_paired;
    rpt_html_rawf(h, "<p>%lld samples matched by (task, item, format); %lld only in run %lld, "
                     "%lld only in run %lld (left out). %lld fixed (wrong in A, right in B), "
                     "%lld broken (right in A, wrong in B).</p>\n",
                  (long long)pc->overall.n_paired, (long long)unmatched_a, (long long)a->run.id,
                  (long long)unmatched_b, (long long)b->run.id, (long long)pc->n_fixed,
                  (long long)pc->n_broken);
    rpt_html_raw(h, "<h3>Per task, largest gain first</h3>\n<table>\n<tr><th>task</th>"
                    "<th>paired</th><th>A %</th><th>B %</th><th>&Delta; (B&minus;A)</th>");
    rpt_html_rawf(h, "<th>%g%% interval</th><th>fixed / broken</th><th>McNemar p</th></tr>\n",
                  100 * o->level);
    task_row(h, &pc->overall, true);
    for (int64_t i = 0; i < pc->n_tasks; i++)
        task_row(h, &pc->tasks[i], false);
    rpt_html_raw(h, "</table>\n");
    rpt_html_rawf(h,
                  "<p class=\"muted\">Scores in percent points; A = run %lld, B = run %lld. "
                  "Interval: paired bootstrap over the matched samples (%d resamples, seed "
                  "%llu, percentile interval); a delta whose interval excludes 0 is coloured. "
                  "McNemar's test on per-sample correctness: the exact two-sided binomial test "
                  "when fewer than %d samples flipped, otherwise chi-square with continuity "
                  "correction (|b&minus;c|&minus;1)&sup2;/(b+c), 1 degree of freedom; "
                  "<i>exact</i> or &chi;&sup2; marks which. Samples without correctness "
                  "(correct = &minus;1) count in the delta, not in McNemar.</p>\n",
                  (long long)a->run.id, (long long)b->run.id, o->resamples,
                  (unsigned long long)o->seed, CMP_MCNEMAR_EXACT_BELOW);
    delta_chart(h, pc);
    rpt_render_sweep_compare(h, a->run.id, b->run.id, sweep);
    rpt_html_raw(h, "<h3>Flipped samples</h3>\n");
    flip_list(c, a, b, pc->fixed, pc->n_fixed, "Fixed (wrong in A, right in B)");
    flip_list(c, a, b, pc->broken, pc->n_broken, "Broken (right in A, wrong in B)");
    rpt_html_raw(h, "<details><summary>Run metadata</summary>\n<h3>A: ");
    run_label(h, a);
    rpt_html_raw(h, "</h3>\n");
    rpt_render_meta(h, a);
    rpt_html_raw(h, "<h3>B: ");
    run_label(h, b);
    rpt_html_raw(h, "</h3>\n");
    rpt_render_meta(h, b);
    rpt_html_raw(h, "</details>\n</section>\n");
}

static bool is_sweep(const struct rpt_rundata *d)
{
    return d->run.kind && strcmp(d->run.kind, "sweep") == 0;
}

/* rpt_pair_cmp_json plus, for two sweep runs with a task in common, "sweep" (without the
 * per-format pairs the page draws). */
static json_t *pair_json(const struct rpt_pair_cmp *pc, const struct rpt_rundata *a,
                         const struct rpt_rundata *b, const struct rpt_compare_options *o,
                         json_t *sweep)
{
    json_t *j = rpt_pair_cmp_json(pc, a, b, o);
    if (!j || json_array_size(sweep) == 0)
        return j;
    size_t i;
    json_t *e;
    json_array_foreach(sweep, i, e)
    {
        json_object_del(e, "formats"); /* page-only: the JSON stays as the text table's */
        json_object_del(e, "default_format");
    }
    json_object_set(j, "sweep", sweep);
    return j;
}

int rpt_compare_write(struct buf *out, json_t **json_out, struct store *s, const int64_t *ids,
                      size_t n, const struct rpt_options *ro, const struct rpt_compare_options *o,
                      struct assay_error *err)
{
    if (n < 2)
        return err_set(err, ASSAY_EUSAGE, "a comparison needs at least two runs");
    struct rpt_html h;
    rpt_html_init(&h, out->max_len);
    struct pii_scanner *sc = NULL;
    struct rpt_rundata a, b;
    memset(&a, 0, sizeof(a));
    json_t *arr = json_out ? json_array() : NULL;
    int rc = 0;
    if (!ro->raw) {
        struct pii_config pc = {0};
        rc = pii_scanner_new(&sc, &pc, err);
        if (rc)
            goto out;
    }
    rc = rpt_rundata_load(&a, s, ids[0], RPT_MAX_SAMPLES_PER_RUN, err);
    if (rc)
        goto out;
    rpt_page_begin(&h, "assay comparison");
    rpt_html_raw(&h, "<h1>assay comparison</h1>\n<p class=\"muted\">Generated ");
    char now[32];
    clock_utc_iso(now, sizeof(now));
    rpt_html_text(&h, ro->generated_at ? ro->generated_at : now);
    rpt_html_raw(&h, " from ");
    rpt_html_text(&h, store_path(s));
    rpt_html_raw(&h, ro->raw ? ". <b>Raw text: PII masking is off.</b>"
                             : ". Stored text is masked by the PII scanner.");
    rpt_html_raw(&h, "</p>\n");
    struct rpt_ctx c = {&h, sc, ro, err};
    for (size_t i = 1; i < n && rc == 0; i++) {
        progress_report(&ro->prog, (int64_t)i - 1, (int64_t)n - 1, "compare");
        rc = rpt_rundata_load(&b, s, ids[i], RPT_MAX_SAMPLES_PER_RUN, err);
        if (rc)
            break;
        struct rpt_pair_cmp pc;
        json_t *sweep = NULL; /* two sweep runs: robustness side by side (sweepview.h) */
        rc = rpt_compare_pair(&pc, &a, &b, o, err);
        if (rc == 0 && is_sweep(&a) && is_sweep(&b))
            rc = rpt_sweep_compare(&sweep, a.metrics, a.n_metrics, b.metrics, b.n_metrics, true,
                                   err);
        if (rc == 0) {
            render_pair(&c, &a, &b, &pc, o, sweep);
            if (arr)
                json_array_append_new(arr, pair_json(&pc, &a, &b, o, sweep));
            rpt_pair_cmp_release(&pc);
        }
        json_decref(sweep);
        rpt_rundata_release(&b);
    }
    progress_report(&ro->prog, (int64_t)n - 1, (int64_t)n - 1, "compare");
    if (rc)
        goto out;
    rpt_page_end(&h);
    if (h.rc) {
        rc = err_set(err, h.rc, "comparison page: %s",
                     h.rc == ASSAY_ELIMIT ? "larger than its cap" : "out of memory");
        goto out;
    }
    rc = buf_add(out, h.b.data, h.b.len);
    if (rc) {
        rc = err_set(err, rc, "comparison page too large");
        goto out;
    }
    if (json_out) {
        *json_out = arr;
        arr = NULL;
    }
out:
    json_decref(arr);
    rpt_rundata_release(&a);
    pii_scanner_free(sc);
    rpt_html_release(&h);
    return rc;
}
