/*
 * reports/rundata.c - reading one run (row, model, metrics, samples, PII findings) into
 * memory for the pages in reports/. See rundata.h.
 */
#include "reports/rundata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"

struct load_ctx {
    struct rpt_rundata *d;
    int64_t max_samples;
    struct assay_error *err;
};

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *r = mem_strdup(s);
    if (!r)
        *oom = true;
    return r;
}

static void sample_release(struct rpt_sample *x)
{
    free(x->task);
    free(x->item);
    free(x->format_id);
    free(x->prompt);
    free(x->target);
    free(x->output);
    free(x->data_json);
    free(x->error);
}

static int on_sample(void *user, const struct store_sample_row *row)
{
    struct load_ctx *c = user;
    struct rpt_rundata *d = c->d;
    if (c->max_samples > 0 && d->n_samples >= c->max_samples)
        return err_set(c->err, ASSAY_ELIMIT, "run %lld has more than %lld samples",
                       (long long)d->run.id, (long long)c->max_samples);
    if (d->n_samples == d->cap_samples) {
        int64_t ncap = d->cap_samples ? d->cap_samples * 2 : 256;
        struct rpt_sample *p = mem_realloc_array(d->samples, (size_t)ncap, sizeof(*p));
        if (!p)
            return err_set(c->err, ASSAY_ENOMEM, "out of memory reading samples");
        d->samples = p;
        d->cap_samples = ncap;
    }
    struct rpt_sample *x = &d->samples[d->n_samples];
    memset(x, 0, sizeof(*x));
    bool oom = false;
    x->id = row->id;
    x->task = dup_or_null(row->s.task ? row->s.task : "", &oom);
    x->item = dup_or_null(row->s.item ? row->s.item : "", &oom);
    x->format_id = dup_or_null(row->s.format_id ? row->s.format_id : "", &oom);
    x->prompt = dup_or_null(row->s.prompt, &oom);
    x->target = dup_or_null(row->s.target, &oom);
    x->output = dup_or_null(row->s.output, &oom);
    x->data_json = dup_or_null(row->s.data_json, &oom);
    x->error = dup_or_null(row->s.error, &oom);
    x->score = row->s.score;
    x->correct = row->s.correct;
    if (oom) {
        sample_release(x);
        return err_set(c->err, ASSAY_ENOMEM, "out of memory reading samples");
    }
    d->n_samples++;
    return 0;
}

static int cmp_finding(const void *x, const void *y)
{
    const struct store_pii_finding_row *a = x, *b = y;
    if (a->sample_id != b->sample_id)
        return a->sample_id < b->sample_id ? -1 : 1;
    int c = strcmp(a->field ? a->field : "", b->field ? b->field : "");
    if (c)
        return c;
    return (a->start_byte > b->start_byte) - (a->start_byte < b->start_byte);
}

int rpt_rundata_load(struct rpt_rundata *d, struct store *s, int64_t run_id, int64_t max_samples,
                     struct assay_error *err)
{
    memset(d, 0, sizeof(*d));
    int rc = store_get_run(s, run_id, &d->run, err);
    if (rc) {
        memset(&d->run, 0, sizeof(d->run));
        return rc;
    }
    if (d->run.model_id > 0) {
        rc = store_get_model(s, d->run.model_id, &d->model, err);
        if (rc)
            goto fail;
        d->has_model = true;
    }
    rc = store_list_metrics(s, run_id, &d->metrics, &d->n_metrics, err);
    if (rc)
        goto fail;
    struct load_ctx c = {d, max_samples, err};
    rc = store_each_sample(s, run_id, NULL, on_sample, &c, err);
    if (rc)
        goto fail;
    rc = store_list_pii_findings(s, run_id, &d->pii, &d->n_pii, err);
    if (rc)
        goto fail;
    if (d->n_pii > 1)
        qsort(d->pii, (size_t)d->n_pii, sizeof(*d->pii), cmp_finding);
    return 0;
fail:
    rpt_rundata_release(d);
    return rc;
}

void rpt_rundata_release(struct rpt_rundata *d)
{
    if (d->run.id)
        store_run_release(&d->run);
    if (d->has_model)
        store_model_release(&d->model);
    store_metrics_free(d->metrics, d->n_metrics);
    for (int64_t i = 0; i < d->n_samples; i++)
        sample_release(&d->samples[i]);
    free(d->samples);
    store_pii_findings_free(d->pii, d->n_pii);
    memset(d, 0, sizeof(*d));
}

const struct rpt_sample *rpt_rundata_sample(const struct rpt_rundata *d, int64_t sample_id)
{
    /* store_each_sample walks in id order, so the array is sorted by id */
    int64_t lo = 0, hi = d->n_samples - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (d->samples[mid].id == sample_id)
            return &d->samples[mid];
        if (d->samples[mid].id < sample_id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

void rpt_rundata_findings(const struct rpt_rundata *d, int64_t sample_id, int64_t *first,
                          int64_t *n)
{
    int64_t lo = 0, hi = d->n_pii; /* first index with sample_id >= the one asked for */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (d->pii[mid].sample_id < sample_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t end = lo;
    while (end < d->n_pii && d->pii[end].sample_id == sample_id)
        end++;
    *first = lo;
    *n = end - lo;
}

int rpt_default_run(struct store *s, int64_t *id_out, struct assay_error *err)
{
    *id_out = 0;
    struct store_run *runs = NULL;
    int64_t n = 0;
    int rc = store_list_runs(s, 0, &runs, &n, err);
    if (rc)
        return rc;
    for (int64_t i = 0; i < n && !*id_out; i++)
        if (runs[i].kind && strcmp(runs[i].kind, "eval") == 0)
            *id_out = runs[i].id;
    if (!*id_out && n > 0)
        *id_out = runs[0].id;
    store_runs_free(runs, n);
    return 0;
}

static bool parse_iso(const char *s, double *out)
{
    int y, mo, d, h, mi;
    double sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
        return false;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (double)t + sec;
    return true;
}

double rpt_duration_s(const char *started_at, const char *finished_at)
{
    double a, b;
    if (!parse_iso(started_at, &a) || !parse_iso(finished_at, &b))
        return NAN;
    return b - a;
}
