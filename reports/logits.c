/*
 * reports/logits.c - per-window JSON and run metrics of a compare-logits run (see
 * logits.h). No engine, no store: strings and numbers in, strings and numbers out.
 */
#include "reports/logits.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"

char *rpt_logits_window_json(struct rpt_logits_window *w, int64_t window, int64_t token_start,
                             const struct cmp_logit_pos *pos, int64_t n, struct assay_error *err)
{
    if (n < 1) {
        err_set(err, ASSAY_EUSAGE, "window %lld has no positions", (long long)window);
        return NULL;
    }
    memset(w, 0, sizeof(*w));
    w->window = window;
    w->token_start = token_start;
    w->n_tokens = n;
    json_t *o = json_object(), *kl = json_array();
    if (!o || !kl) {
        json_decref(o);
        json_decref(kl);
        err_set(err, ASSAY_ENOMEM, "out of memory");
        return NULL;
    }
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += pos[i].kl;
        if (pos[i].kl > w->kl_max)
            w->kl_max = pos[i].kl;
        w->top1_agree += pos[i].top1_base == pos[i].top1_model;
        w->nll_base -= pos[i].logp_base;
        w->nll_model -= pos[i].logp_model;
        /* JSON has no infinity: a KL that is infinite (the model gives a base token zero
         * probability) is stored as null and counted as infinite when read back */
        json_array_append_new(kl, isfinite(pos[i].kl) ? json_real(pos[i].kl) : json_null());
    }
    w->kl_mean = sum / (double)n;
    json_object_set_new(o, "window", json_integer(window));
    json_object_set_new(o, "token_start", json_integer(token_start));
    json_object_set_new(o, "n_tokens", json_integer(n));
    json_object_set_new(o, "kl_mean", isfinite(w->kl_mean) ? json_real(w->kl_mean) : json_null());
    json_object_set_new(o, "kl_max", isfinite(w->kl_max) ? json_real(w->kl_max) : json_null());
    json_object_set_new(o, "top1_agree", json_integer(w->top1_agree));
    json_object_set_new(o, "nll_base", isfinite(w->nll_base) ? json_real(w->nll_base) : json_null());
    json_object_set_new(o, "nll_model",
                        isfinite(w->nll_model) ? json_real(w->nll_model) : json_null());
    json_object_set_new(o, "kl", kl);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!s)
        err_set(err, ASSAY_ENOMEM, "out of memory");
    return s;
}

void rpt_logits_acc_init(struct rpt_logits_acc *a)
{
    memset(a, 0, sizeof(*a));
}

void rpt_logits_acc_release(struct rpt_logits_acc *a)
{
    free(a->kl);
    memset(a, 0, sizeof(*a));
}

static double num_or_inf(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : INFINITY;
}

int rpt_logits_acc_add(struct rpt_logits_acc *a, const char *data_json, const char *what,
                       struct assay_error *err)
{
    json_error_t je;
    json_t *o = data_json ? json_loads(data_json, 0, &je) : NULL;
    json_t *kl = o ? json_object_get(o, "kl") : NULL;
    int rc = 0;
    if (!json_is_array(kl) || json_array_size(kl) == 0 ||
        !json_is_integer(json_object_get(o, "top1_agree"))) {
        rc = err_set(err, ASSAY_EINVAL, "%s: not a compare-logits window (no 'kl' array)", what);
        goto out;
    }
    size_t n = json_array_size(kl);
    if (a->n + (int64_t)n > a->cap) {
        int64_t ncap = a->cap ? a->cap : 1024;
        while (ncap < a->n + (int64_t)n)
            ncap *= 2;
        double *p = mem_realloc_array(a->kl, (size_t)ncap, sizeof(*p));
        if (!p) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        a->kl = p;
        a->cap = ncap;
    }
    for (size_t i = 0; i < n; i++)
        a->kl[a->n++] = num_or_inf(json_array_get(kl, i));
    a->n_windows++;
    a->top1 += json_integer_value(json_object_get(o, "top1_agree"));
    a->nll_base += num_or_inf(json_object_get(o, "nll_base"));
    a->nll_model += num_or_inf(json_object_get(o, "nll_model"));
out:
    json_decref(o);
    return rc;
}

void rpt_logits_acc_finish(struct rpt_logits_acc *a, struct rpt_logits_agg *out)
{
    memset(out, 0, sizeof(*out));
    out->n_windows = a->n_windows;
    out->n_positions = a->n;
    double mean = 0, m2 = 0;
    for (int64_t i = 0; i < a->n; i++) { /* Welford, before the summary sorts */
        double dlt = a->kl[i] - mean;
        mean += dlt / (double)(i + 1);
        m2 += dlt * (a->kl[i] - mean);
    }
    cmp_kl_summarize(&out->kl, a->kl, a->n);
    double nn = (double)a->n;
    out->kl_stderr = a->n > 1 ? sqrt(m2 / (nn - 1) / nn) : NAN;
    out->top1_agree = a->n > 0 ? (double)a->top1 / nn : NAN;
    out->top1_stderr = a->n > 1 ? sqrt(out->top1_agree * (1 - out->top1_agree) / (nn - 1)) : NAN;
    out->ppl_base = a->n > 0 ? exp(a->nll_base / nn) : NAN;
    out->ppl_model = a->n > 0 ? exp(a->nll_model / nn) : NAN;
}
