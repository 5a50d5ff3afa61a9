/*
 * reports/sweepview.c - a sweep run's stored metrics regrouped per task for the pages
 * (sweepview.h), and two sweep runs compared (robustness side by side, Kendall tau-b of
 * the per-format accuracies). Reads metrics only; no SQL here (store.h), no HTML
 * (report_sweep.c), no statistics beyond Kendall's tau (compare_stats.c).
 */
#include "reports/sweepview.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/utf8.h"
#include "reports/compare_stats.h"

/* ---- one run ------------------------------------------------------------------------- */

static int cmp_fmt(const void *x, const void *y)
{
    const struct rpt_sweep_fmt *a = x, *b = y;
    if (a->acc != b->acc) /* NaN never stored for acc@ (a format with no item has none) */
        return a->acc > b->acc ? -1 : 1;
    return strcmp(a->id, b->id);
}

static int cmp_task(const void *x, const void *y)
{
    const struct rpt_sweep_task *a = x, *b = y;
    if (a->group != b->group)
        return a->group ? -1 : 1;
    return strcmp(a->task, b->task);
}

/* The position j (1-based) of a metric named prefix<j>, or 0. */
static int pos_of(const char *name, const char *prefix)
{
    size_t k = strlen(prefix);
    if (strncmp(name, prefix, k) != 0)
        return 0;
    char *end = NULL;
    long j = strtol(name + k, &end, 10);
    if (end == name + k || *end || j < 1 || j > RPT_SWEEP_MAX_POS)
        return 0;
    return (int)j;
}

static bool in_config_tasks(const json_t *tasks, const char *task)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        if (json_is_string(t) && strcmp(json_string_value(t), task) == 0)
            return true;
    }
    return false;
}

const char *rpt_sweep_reference_fmt(const char *task, bool *lmeval)
{
    bool gen = strncmp(task, "gsm8k", 5) == 0;
    if (lmeval)
        *lmeval = gen || strncmp(task, "mmlu", 4) == 0;
    return gen ? RPT_SWEEP_DEFAULT_FMT_GEN : RPT_SWEEP_DEFAULT_FMT;
}

static void fill_task(struct rpt_sweep_task *t, const struct store_metric *m, int64_t n)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct store_metric *x = &m[i];
        if (strcmp(x->task, t->task) != 0)
            continue;
        const char *nm = x->name;
        int j;
        if (strncmp(nm, "acc@", 4) == 0) {
            t->fmts[k++] = (struct rpt_sweep_fmt){nm + 4, x->value, x->stderr_, x->n};
        } else if (strcmp(nm, "fmt_mean") == 0) {
            t->mean = x->value;
        } else if (strcmp(nm, "fmt_std") == 0) {
            t->std = x->value;
        } else if (strcmp(nm, "fmt_min") == 0) {
            t->min = x->value;
        } else if (strcmp(nm, "fmt_max") == 0) {
            t->max = x->value;
        } else if (strcmp(nm, "fmt_spread") == 0) {
            t->spread = x->value;
        } else if (strcmp(nm, "recall_std") == 0) {
            t->recall_std = x->value;
        } else if (strcmp(nm, "flex_fmt_mean") == 0) {
            t->flex_mean = x->value;
        } else if (strcmp(nm, "flex_fmt_std") == 0) {
            t->flex_std = x->value;
        } else if (strcmp(nm, "flex_fmt_spread") == 0) {
            t->flex_spread = x->value;
        } else if ((j = pos_of(nm, "gold_rate_pos")) > 0) {
            t->pos[j - 1].gold_rate = x->value;
            t->n_samples = x->n;
            if (j > t->n_pos)
                t->n_pos = j;
        } else if ((j = pos_of(nm, "pick_rate_pos")) > 0) {
            t->pos[j - 1].pick_rate = x->value;
            if (j > t->n_pos)
                t->n_pos = j;
        } else if ((j = pos_of(nm, "acc_gold_pos")) > 0) {
            t->pos[j - 1].acc_gold = x->value;
            t->pos[j - 1].acc_gold_stderr = x->stderr_;
            t->pos[j - 1].n_gold = x->n;
            if (j > t->n_pos)
                t->n_pos = j;
        }
    }
    t->n_fmts = k;
    qsort(t->fmts, (size_t)k, sizeof(*t->fmts), cmp_fmt);
    t->default_id = rpt_sweep_reference_fmt(t->task, &t->default_is_lmeval);
    t->default_idx = -1;
    for (int64_t i = 0; i < k; i++)
        if (strcmp(t->fmts[i].id, t->default_id) == 0)
            t->default_idx = i;
}

int rpt_sweep_view_build(struct rpt_sweep_view *v, const struct store_metric *m, int64_t n,
                         const char *config_json, struct assay_error *err)
{
    memset(v, 0, sizeof(*v));
    json_t *cfg = NULL;
    if (config_json) {
        json_error_t je;
        cfg = json_loads(config_json, 0, &je);
    }
    const json_t *cfg_tasks = json_object_get(cfg, "tasks");
    int64_t n_t = 0;
    for (int64_t i = 0; i < n; i++)
        n_t += strcmp(m[i].name, "fmt_mean") == 0;
    int rc = 0;
    v->tasks = mem_calloc_array(n_t ? (size_t)n_t : 1, sizeof(*v->tasks));
    if (!v->tasks) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, "fmt_mean") != 0)
            continue;
        struct rpt_sweep_task *t = &v->tasks[v->n_tasks];
        t->task = m[i].task;
        t->group = json_is_array(cfg_tasks) && !in_config_tasks(cfg_tasks, t->task);
        t->mean = t->std = t->min = t->max = t->spread = t->recall_std = NAN;
        t->flex_mean = t->flex_std = t->flex_spread = NAN;
        for (int j = 0; j < RPT_SWEEP_MAX_POS; j++)
            t->pos[j] = (struct rpt_sweep_pos){0, NAN, NAN, 0, 0};
        int64_t n_acc = 0;
        for (int64_t j = 0; j < n; j++)
            n_acc += strcmp(m[j].task, t->task) == 0 && strncmp(m[j].name, "acc@", 4) == 0;
        t->fmts = mem_calloc_array(n_acc ? (size_t)n_acc : 1, sizeof(*t->fmts));
        if (!t->fmts) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        v->n_tasks++;
        fill_task(t, m, n);
    }
    qsort(v->tasks, (size_t)v->n_tasks, sizeof(*v->tasks), cmp_task);
out:
    json_decref(cfg);
    if (rc)
        rpt_sweep_view_release(v);
    return rc;
}

void rpt_sweep_view_release(struct rpt_sweep_view *v)
{
    for (int64_t i = 0; v->tasks && i < v->n_tasks; i++)
        free(v->tasks[i].fmts);
    free(v->tasks);
    memset(v, 0, sizeof(*v));
}

/* A JSON string of stored text (task names, format ids): bytes that are not UTF-8 become
 * U+FFFD, as everywhere the store's text leaves assay (jansson refuses invalid UTF-8). */
static json_t *str(const char *s)
{
    size_t n = strlen(s);
    if (utf8_valid(s, n, NULL))
        return json_stringn(s, n);
    struct buf b;
    buf_init(&b, 0);
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        uint32_t cp;
        size_t k = utf8_decode((const uint8_t *)s + i, n - i, &cp);
        rc = k > 0 ? buf_add(&b, s + i, k) : buf_add(&b, "\xEF\xBF\xBD", 3);
        i += k > 0 ? k : 1;
    }
    json_t *v = rc ? NULL : json_stringn(b.data ? b.data : "", b.len);
    buf_release(&b);
    return v;
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *rpt_sweep_view_json(const struct rpt_sweep_view *v)
{
    json_t *tasks = json_array();
    json_t *o = json_pack("{so}", "tasks", tasks);
    if (!o)
        return NULL;
    for (int64_t i = 0; i < v->n_tasks; i++) {
        const struct rpt_sweep_task *t = &v->tasks[i];
        json_t *f = json_array(), *p = json_array();
        for (int64_t k = 0; f && k < t->n_fmts; k++)
            json_array_append_new(
                f, json_pack("{so so so sI sb}", "id", str(t->fmts[k].id), "acc",
                             num(t->fmts[k].acc), "stderr", num(t->fmts[k].stderr_), "n",
                             (json_int_t)t->fmts[k].n, "default", k == t->default_idx));
        for (int j = 0; p && j < t->n_pos; j++)
            json_array_append_new(
                p, json_pack("{si so so so sI so}", "pos", j + 1, "gold_rate",
                             num(t->pos[j].gold_rate), "acc_gold", num(t->pos[j].acc_gold),
                             "acc_gold_stderr", num(t->pos[j].acc_gold_stderr), "n_gold",
                             (json_int_t)t->pos[j].n_gold, "pick_rate", num(t->pos[j].pick_rate)));
        json_t *e = json_pack(
            "{so sb sI so so so so so so so so so}", "task", str(t->task), "group", t->group,
            "n_samples", (json_int_t)t->n_samples, "fmt_mean", num(t->mean), "fmt_std", num(t->std),
            "fmt_min", num(t->min), "fmt_max", num(t->max), "fmt_spread", num(t->spread),
            "recall_std", num(t->recall_std), "uniform_rate",
            num(t->n_pos > 0 ? 1.0 / t->n_pos : NAN), "formats", f, "positions", p);
        if (e) {
            json_object_set_new(e, "default_format", json_string(t->default_id));
            json_object_set_new(e, "default_is_lmeval", json_boolean(t->default_is_lmeval));
            json_object_set_new(e, "flex_fmt_mean", num(t->flex_mean));
            json_object_set_new(e, "flex_fmt_std", num(t->flex_std));
            json_object_set_new(e, "flex_fmt_spread", num(t->flex_spread));
        }
        if (!e || json_array_append_new(tasks, e)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* ---- two runs -------------------------------------------------------------------------- */

static int cmp_metric_ptr(const void *x, const void *y)
{
    const struct store_metric *a = *(const struct store_metric *const *)x,
                              *b = *(const struct store_metric *const *)y;
    int c = strcmp(a->task, b->task);
    return c ? c : strcmp(a->name, b->name);
}

/* p sorted by (task, name) with cmp_metric_ptr */
static const struct store_metric *metric_of(const struct store_metric *const *p, int64_t n,
                                            const char *task, const char *name)
{
    struct store_metric key = {.task = (char *)task, .name = (char *)name};
    const struct store_metric *kp = &key;
    const struct store_metric *const *hit = bsearch(&kp, p, (size_t)n, sizeof(*p), cmp_metric_ptr);
    return hit ? *hit : NULL;
}

static json_t *robustness_json(const struct store_metric *const *p, int64_t n, const char *task)
{
    static const char *const names[] = {"fmt_mean", "fmt_std",    "fmt_min",
                                        "fmt_max",  "fmt_spread", "recall_std"};
    json_t *o = json_object();
    for (size_t i = 0; o && i < sizeof(names) / sizeof(names[0]); i++) {
        const struct store_metric *x = metric_of(p, n, task, names[i]);
        json_object_set_new(o, names[i], x && !isnan(x->value) ? json_real(x->value) : json_null());
    }
    return o;
}

static const struct store_metric **sorted_ptrs(const struct store_metric *m, int64_t n)
{
    const struct store_metric **p = mem_alloc_array(n ? (size_t)n : 1, sizeof(*p));
    if (!p)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        p[i] = &m[i];
    qsort(p, (size_t)n, sizeof(*p), cmp_metric_ptr); /* a task's metrics are now adjacent */
    return p;
}

int rpt_sweep_compare(json_t **out, const struct store_metric *ma, int64_t na,
                      const struct store_metric *mb, int64_t nb, bool with_formats,
                      struct assay_error *err)
{
    int rc = 0;
    const struct store_metric **pa = sorted_ptrs(ma, na), **pb = sorted_ptrs(mb, nb);
    double *xa = mem_calloc_array((size_t)(na ? na : 1), sizeof(double));
    double *xb = mem_calloc_array((size_t)(na ? na : 1), sizeof(double));
    *out = json_array();
    if (!pa || !pb || !xa || !xb || !*out) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < na; i++) {
        if (strcmp(pa[i]->name, "fmt_mean") != 0 || !metric_of(pb, nb, pa[i]->task, "fmt_mean"))
            continue;
        const char *task = pa[i]->task;
        json_t *fl = with_formats ? json_array() : NULL;
        int64_t k = 0, j0 = i;
        while (j0 > 0 && strcmp(pa[j0 - 1]->task, task) == 0)
            j0--;
        for (int64_t j = j0; j < na && strcmp(pa[j]->task, task) == 0; j++) {
            if (strncmp(pa[j]->name, "acc@", 4) != 0)
                continue;
            const struct store_metric *y = metric_of(pb, nb, task, pa[j]->name);
            if (!y)
                continue;
            xa[k] = pa[j]->value;
            xb[k] = y->value;
            k++;
            if (fl)
                json_array_append_new(
                    fl, json_pack("[o f f]", str(pa[j]->name + 4), pa[j]->value, y->value));
        }
        double tau = cmp_kendall_tau_b(xa, xb, k);
        json_t *e = json_object();
        json_object_set_new(e, "task", str(task));
        json_object_set_new(e, "n_formats", json_integer(k));
        json_object_set_new(e, "a", robustness_json(pa, na, task));
        json_object_set_new(e, "b", robustness_json(pb, nb, task));
        json_object_set_new(e, "kendall_tau_b", isnan(tau) ? json_null() : json_real(tau));
        if (fl) {
            json_object_set_new(e, "default_format",
                                json_string(rpt_sweep_reference_fmt(task, NULL)));
            json_object_set_new(e, "formats", fl);
        }
        if (json_array_append_new(*out, e)) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
    }
out:
    free(pa);
    free(pb);
    free(xa);
    free(xb);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int is_sweep_run(struct store *s, int64_t id, bool *yes, struct assay_error *err)
{
    struct store_run r;
    memset(&r, 0, sizeof(r));
    int rc = store_get_run(s, id, &r, err);
    if (!rc)
        *yes = r.kind && strcmp(r.kind, "sweep") == 0;
    store_run_release(&r);
    return rc;
}

int rpt_sweep_compare_runs(json_t **out, struct store *s, int64_t run_a, int64_t run_b,
                           bool with_formats, struct assay_error *err)
{
    struct store_metric *ma = NULL, *mb = NULL;
    int64_t na = 0, nb = 0;
    bool sa = false, sb = false;
    *out = NULL;
    int rc = is_sweep_run(s, run_a, &sa, err);
    if (!rc)
        rc = is_sweep_run(s, run_b, &sb, err);
    if (rc)
        return rc;
    if (!sa || !sb) {
        *out = json_array();
        return *out ? 0 : err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if ((rc = store_list_metrics(s, run_a, &ma, &na, err)) == 0 &&
        (rc = store_list_metrics(s, run_b, &mb, &nb, err)) == 0)
        rc = rpt_sweep_compare(out, ma, na, mb, nb, with_formats, err);
    store_metrics_free(ma, na);
    store_metrics_free(mb, nb);
    return rc;
}
