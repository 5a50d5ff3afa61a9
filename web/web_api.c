/*
 * web/web_api.c - the JSON API of `assay serve`, independent of HTTP:
 *
 *   GET /api/runs[?limit=N]                      runs, newest first
 *   GET /api/runs/ID                             one run: configuration, metrics, tasks,
 *                                                formats, PII finding counts
 *   GET /api/runs/ID/metrics                     its metrics
 *   GET /api/runs/ID/samples?offset&limit&task&item&format&correct=1|0|na&q=TEXT
 *                                                a page of samples (limit <= 500)
 *   GET /api/runs/ID/pii[?examples=N]            PII counts by type and severity, with
 *                                                masked examples
 *   GET /api/runs/ID/sweep                       a prompt-format sweep per task: accuracy
 *                                                per format, robustness, gold positions
 *                                                and letter bias (reports/sweepview.h)
 *   GET /api/compare?a=ID&b=ID                   paired comparison per task: delta with a
 *                                                bootstrap 95% interval, McNemar's test,
 *                                                the samples that flipped each way; two
 *                                                sweep runs: "sweep", robustness side by
 *                                                side and Kendall tau-b
 *
 * Every text taken from the store is made valid UTF-8 (invalid bytes become U+FFFD) and,
 * unless the server is raw, masked with pii_mask_text before it is put in an answer.
 * Does not: speak HTTP, escape HTML (the pages insert text with textContent), or write.
 */
#include "web/web_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/utf8.h"
#include "reports/compare_stats.h"
#include "reports/sweepview.h"
#include "safety/pii.h"
#include "store/store.h"
#include "store/store_web.h"

#define RUNS_DEFAULT_LIMIT    100
#define RUNS_MAX_LIMIT        10000
#define SAMPLES_DEFAULT_LIMIT 50
#define TEXT_MAX_BYTES        ((size_t)256 << 10) /* per text field in an answer */
#define TEXT_MARGIN_BYTES     ((size_t)64 << 10)  /* read past the cap for masking */
#define QUERY_MAX_BYTES       1000
#define SEARCH_MAX_CANDIDATES 20000 /* samples whose masked text a search checks */
#define FLIPS_MAX             100   /* flipped samples listed per task and direction */
#define PII_EXAMPLES_MAX      20
#define PII_CONTEXT_BYTES     60

/* ---- small helpers ----------------------------------------------------------------- */

int web_utf8_clean(struct buf *out, const char *text, size_t len)
{
    static const char repl[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        uint32_t cp;
        size_t k;
        while (i < len && (k = utf8_decode((const uint8_t *)text + i, len - i, &cp)) > 0 && cp != 0)
            i += k;
        int rc = buf_add(out, text + start, i - start);
        if (rc)
            return rc;
        if (i < len) {
            rc = buf_add(out, repl, 3);
            if (rc)
                return rc;
            i++;
        }
    }
    return 0;
}

static int reply_json(struct web_reply *r, int status, json_t *v)
{
    r->status = status;
    r->content_type = "application/json; charset=utf-8";
    buf_reset(&r->body);
    if (!v)
        return ASSAY_ENOMEM;
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        return ASSAY_ENOMEM;
    int rc = buf_add_str(&r->body, s);
    free(s);
    if (rc == ASSAY_ELIMIT) {
        buf_reset(&r->body);
        r->status = 500;
        return buf_add_str(&r->body, "{\"error\":\"answer too large\"}");
    }
    return rc;
}

/* {"error": message} with status (400, 404 ...). The message is ours (never raw data
 * beyond what the client sent, which is made valid UTF-8). */
static int reply_error(struct web_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reply_error(struct web_reply *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct buf clean;
    buf_init(&clean, 4096);
    if (web_utf8_clean(&clean, msg, strlen(msg)) || !clean.data) {
        buf_release(&clean);
        return reply_json(r, status, json_pack("{ss}", "error", "bad request"));
    }
    json_t *o = json_pack("{ss}", "error", clean.data);
    buf_release(&clean);
    return reply_json(r, status, o);
}

static int reply_store_error(struct web_reply *r, int code, const struct assay_error *err)
{
    if (code == ASSAY_ENOMEM)
        return code;
    return reply_error(r, code == ASSAY_ENOTFOUND ? 404 : 500, "%s", err->msg);
}

/* Text from the store as a JSON string: valid UTF-8, masked unless raw, capped. */
static json_t *text_json(struct web_app *app, const char *text, bool *truncated)
{
    if (!text)
        return json_null();
    /* Only what can be shown is cleaned and masked: the cap plus a margin longer than any
     * finding, so that a finding cut by the first cut lies past the second. */
    size_t len = strlen(text);
    if (len > TEXT_MAX_BYTES + TEXT_MARGIN_BYTES) {
        len = TEXT_MAX_BYTES + TEXT_MARGIN_BYTES;
        if (truncated)
            *truncated = true;
    }
    struct buf clean, masked;
    buf_init(&clean, 0);
    buf_init(&masked, 0);
    json_t *v = NULL;
    if (web_utf8_clean(&clean, text, len))
        goto out;
    const char *t = clean.data ? clean.data : "";
    size_t n = clean.len;
    if (!app->raw && app->pii && n > 0) {
        struct assay_error e;
        err_clear(&e);
        if (pii_mask_text(&masked, app->pii, t, n, &e)) {
            /* never serve unmasked text because masking failed */
            v = json_string("[not shown: the PII scanner failed on this text; --raw shows it]");
            goto out;
        }
        t = masked.data ? masked.data : "";
        n = masked.len;
    }
    if (n > TEXT_MAX_BYTES) {
        n = TEXT_MAX_BYTES;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
            n--;
        if (truncated)
            *truncated = true;
    }
    v = json_stringn(t, n);
out:
    buf_release(&clean);
    buf_release(&masked);
    return v;
}

static json_t *num_json(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* An identifier or a string of ours from the store (task, item, format, path, status...)
 * as a JSON string: valid UTF-8 but not masked, so that it can be sent back as a filter.
 * NULL -> null. */
static json_t *id_json(const char *text)
{
    if (!text)
        return json_null();
    struct buf clean;
    buf_init(&clean, 0);
    json_t *v = NULL;
    if (!web_utf8_clean(&clean, text, strlen(text)))
        v = json_stringn(clean.data ? clean.data : "", clean.len);
    buf_release(&clean);
    return v ? v : json_string("");
}

/* A strict decimal integer in [min, max]. */
static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s || strlen(s) > 19)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

struct params {
    const struct web_param *p;
    size_t n;
};

static const char *param(const struct params *ps, const char *key)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].key, key) == 0)
            return ps->p[i].value ? ps->p[i].value : "";
    return NULL;
}

/* 400 unless every parameter is one of `allowed` (NULL-terminated) and none repeats. */
static bool check_params(const struct params *ps, const char *const *allowed, struct web_reply *r,
                         int *rc)
{
    for (size_t i = 0; i < ps->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(ps->p[i].key, *a) == 0)
                ok = true;
        if (!ok) {
            *rc = reply_error(r, 400, "unknown parameter '%.64s'", ps->p[i].key);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(ps->p[i].key, ps->p[j].key) == 0) {
                *rc = reply_error(r, 400, "parameter '%.64s' given twice", ps->p[i].key);
                return false;
            }
    }
    return true;
}

/* An integer parameter; absent -> def. False (and a 400 in r) when malformed. */
static bool int_param(const struct params *ps, const char *key, int64_t min, int64_t max,
                      int64_t def, int64_t *out, struct web_reply *r, int *rc)
{
    const char *v = param(ps, key);
    if (!v) {
        *out = def;
        return true;
    }
    if (!parse_int(v, min, max, out)) {
        *rc = reply_error(r, 400,
                          "parameter '%s' must be an integer from %" PRId64 " to %" PRId64
                          ", got '%.40s'",
                          key, min, max, v);
        return false;
    }
    return true;
}

/* ---- runs --------------------------------------------------------------------------- */

static json_t *run_json(const struct store_run *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(x->id));
    json_object_set_new(o, "kind", id_json(x->kind ? x->kind : ""));
    json_object_set_new(o, "status", json_string(store_run_status_name(x->status)));
    json_object_set_new(o, "model_fingerprint", id_json(x->model_fingerprint));
    json_object_set_new(o, "model_path", id_json(x->model_path));
    json_object_set_new(o, "backend", id_json(x->backend));
    json_object_set_new(o, "config_hash", id_json(x->config_hash ? x->config_hash : ""));
    json_object_set_new(o, "started_at", id_json(x->started_at ? x->started_at : ""));
    json_object_set_new(o, "finished_at", id_json(x->finished_at));
    json_object_set_new(o, "assay_version", id_json(x->assay_version ? x->assay_version : ""));
    json_object_set_new(o, "host", id_json(x->host));
    json_object_set_new(o, "error", id_json(x->error));
    json_object_set_new(o, "n_samples", json_integer(x->n_samples));
    return o;
}

static int api_runs(struct web_app *app, const struct params *ps, struct web_reply *r)
{
    static const char *const allowed[] = {"limit", NULL};
    int rc = 0;
    int64_t limit;
    if (!check_params(ps, allowed, r, &rc) ||
        !int_param(ps, "limit", 1, RUNS_MAX_LIMIT, RUNS_DEFAULT_LIMIT, &limit, r, &rc))
        return rc;
    struct assay_error err;
    err_clear(&err);
    struct store_run *runs = NULL;
    int64_t n = 0;
    rc = store_list_runs(app->store, limit, &runs, &n, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    json_t *arr = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(arr, run_json(&runs[i]));
    store_runs_free(runs, n);
    return reply_json(r, 200, json_pack("{so}", "runs", arr));
}

static json_t *metrics_json(struct store_metric *m, int64_t n)
{
    json_t *arr = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              json_pack("{so so so so sI}", "task", id_json(m[i].task), "name",
                                        id_json(m[i].name), "value", num_json(m[i].value), "stderr",
                                        num_json(m[i].stderr_), "n", (json_int_t)m[i].n));
    return arr;
}

static json_t *pii_counts_json(struct store_web_pii_count *c, int64_t n)
{
    json_t *arr = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{ss ss sI sI sI}", "type", c[i].type, "severity",
                                             c[i].severity, "n", (json_int_t)c[i].n, "n_validated",
                                             (json_int_t)c[i].n_validated, "n_samples",
                                             (json_int_t)c[i].n_samples));
    return arr;
}

static int api_run(struct web_app *app, int64_t id, const struct params *ps, struct web_reply *r)
{
    static const char *const allowed[] = {NULL};
    int rc = 0;
    if (!check_params(ps, allowed, r, &rc))
        return rc;
    struct assay_error err;
    err_clear(&err);
    struct store_run run;
    memset(&run, 0, sizeof(run));
    struct store_metric *m = NULL;
    int64_t n_m = 0, n_t = 0, n_f = 0, n_p = 0;
    struct store_web_task *t = NULL;
    char **formats = NULL;
    struct store_web_pii_count *pc = NULL;
    rc = store_get_run(app->store, id, &run, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    if ((rc = store_list_metrics(app->store, id, &m, &n_m, &err)) ||
        (rc = store_web_list_tasks(app->store, id, &t, &n_t, &err)) ||
        (rc = store_web_list_formats(app->store, id, &formats, &n_f, &err)) ||
        (rc = store_web_pii_counts(app->store, id, &pc, &n_p, &err))) {
        rc = reply_store_error(r, rc, &err);
        goto out;
    }
    json_t *o = run_json(&run);
    json_error_t je;
    json_t *cfg = json_loads(run.config_json ? run.config_json : "{}", 0, &je);
    json_object_set_new(o, "config", cfg ? cfg : json_string(run.config_json));
    json_object_set_new(o, "metrics", metrics_json(m, n_m));
    json_t *tasks = json_array();
    for (int64_t i = 0; i < n_t; i++)
        json_array_append_new(tasks,
                              json_pack("{so sI sI sI so}", "task", id_json(t[i].task), "n",
                                        (json_int_t)t[i].n, "n_correct", (json_int_t)t[i].n_correct,
                                        "n_incorrect", (json_int_t)t[i].n_incorrect, "mean_score",
                                        num_json(t[i].mean_score)));
    json_object_set_new(o, "tasks", tasks);
    json_t *fa = json_array();
    for (int64_t i = 0; i < n_f; i++)
        json_array_append_new(fa, id_json(formats[i]));
    json_object_set_new(o, "formats", fa);
    json_object_set_new(o, "pii", pii_counts_json(pc, n_p));
    json_object_set_new(o, "masked", json_boolean(!app->raw));
    rc = reply_json(r, 200, o);
out:
    store_run_release(&run);
    store_metrics_free(m, n_m);
    store_web_tasks_free(t, n_t);
    store_web_strings_free(formats, n_f);
    store_web_pii_counts_free(pc, n_p);
    return rc;
}

static int api_metrics(struct web_app *app, int64_t id, const struct params *ps,
                       struct web_reply *r)
{
    static const char *const allowed[] = {NULL};
    int rc = 0;
    if (!check_params(ps, allowed, r, &rc))
        return rc;
    struct assay_error err;
    err_clear(&err);
    struct store_run run;
    rc = store_get_run(app->store, id, &run, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    store_run_release(&run);
    struct store_metric *m = NULL;
    int64_t n_m = 0;
    rc = store_list_metrics(app->store, id, &m, &n_m, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    json_t *arr = metrics_json(m, n_m);
    store_metrics_free(m, n_m);
    return reply_json(r, 200, json_pack("{sI so}", "run", (json_int_t)id, "metrics", arr));
}

/* ---- sweep -------------------------------------------------------------------------- */

static int api_sweep(struct web_app *app, int64_t id, const struct params *ps, struct web_reply *r)
{
    static const char *const allowed[] = {NULL};
    int rc = 0;
    if (!check_params(ps, allowed, r, &rc))
        return rc;
    struct assay_error err;
    err_clear(&err);
    struct store_run run;
    memset(&run, 0, sizeof(run));
    struct store_metric *m = NULL;
    int64_t n_m = 0;
    struct rpt_sweep_view v;
    memset(&v, 0, sizeof(v));
    rc = store_get_run(app->store, id, &run, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    bool sweep = run.kind && strcmp(run.kind, "sweep") == 0;
    if (sweep && ((rc = store_list_metrics(app->store, id, &m, &n_m, &err)) != 0 ||
                  (rc = rpt_sweep_view_build(&v, m, n_m, run.config_json, &err)) != 0)) {
        rc = reply_store_error(r, rc, &err);
        goto out;
    }
    json_t *o = rpt_sweep_view_json(&v); /* NULL: out of memory (reply_json says so) */
    json_object_set_new(o, "run", json_integer(id));
    json_object_set_new(o, "sweep", json_boolean(sweep));
    rc = reply_json(r, 200, o);
out:
    rpt_sweep_view_release(&v);
    store_metrics_free(m, n_m);
    store_run_release(&run);
    return rc;
}

/* ---- samples ------------------------------------------------------------------------ */

struct sample_walk {
    struct web_app *app;
    json_t *arr;
};

static json_t *sample_json(struct web_app *app, const struct store_sample_row *row)
{
    json_t *o = json_object();
    bool trunc = false;
    json_object_set_new(o, "id", json_integer(row->id));
    json_object_set_new(o, "task", id_json(row->s.task));
    json_object_set_new(o, "item", id_json(row->s.item));
    json_object_set_new(o, "format_id", id_json(row->s.format_id ? row->s.format_id : ""));
    json_object_set_new(o, "prompt", text_json(app, row->s.prompt, &trunc));
    json_object_set_new(o, "target", text_json(app, row->s.target, &trunc));
    json_object_set_new(o, "output", text_json(app, row->s.output, &trunc));
    json_object_set_new(o, "error", text_json(app, row->s.error, &trunc));
    json_object_set_new(o, "data", text_json(app, row->s.data_json, &trunc));
    json_object_set_new(o, "score", num_json(row->s.score));
    json_object_set_new(o, "correct",
                        row->s.correct < 0 ? json_null() : json_boolean(row->s.correct));
    json_object_set_new(o, "created_at", id_json(row->created_at));
    json_object_set_new(o, "truncated", json_boolean(trunc));
    return o;
}

static int on_sample(void *user, const struct store_sample_row *row)
{
    struct sample_walk *w = user;
    return json_array_append_new(w->arr, sample_json(w->app, row)) ? ASSAY_ENOMEM : 0;
}

/* Search when text is masked: SQL finds the candidates in the stored text, and a sample
 * matches only if the query is in its text as served (cleaned, masked, capped), so that
 * a search cannot tell whether a masked string is in the store. Costs one masking per
 * candidate; more than SEARCH_MAX_CANDIDATES candidates is a 400 asking to narrow it. */
struct search_walk {
    struct web_app *app;
    const char *query;
    int64_t *ids;
    int64_t n, cap;
    int rc;
};

static bool served_contains(struct web_app *app, const char *text, const char *query)
{
    if (!text || !strstr(text, query))
        return false; /* masking only removes text: absent before, absent after */
    json_t *v = text_json(app, text, NULL);
    bool hit = v && json_string_value(v) && strstr(json_string_value(v), query);
    json_decref(v);
    return hit;
}

static int on_search_candidate(void *user, const struct store_sample_row *row)
{
    struct search_walk *w = user;
    if (!served_contains(w->app, row->s.prompt, w->query) &&
        !served_contains(w->app, row->s.target, w->query) &&
        !served_contains(w->app, row->s.output, w->query))
        return 0;
    if (w->n == w->cap) {
        int64_t ncap = w->cap ? w->cap * 2 : 64;
        int64_t *p = mem_realloc_array(w->ids, (size_t)ncap, sizeof(*p));
        if (!p)
            return ASSAY_ENOMEM;
        w->ids = p;
        w->cap = ncap;
    }
    w->ids[w->n++] = row->id;
    return 0;
}

static int masked_search(struct web_app *app, const struct store_web_filter *f, int64_t offset,
                         int64_t limit, struct web_reply *r)
{
    struct assay_error err;
    err_clear(&err);
    int64_t n_cand = 0;
    int rc = store_web_count_samples(app->store, f, &n_cand, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    if (n_cand > SEARCH_MAX_CANDIDATES)
        return reply_error(r, 400,
                           "search matches %" PRId64 " stored samples, more than the %d whose "
                           "masked text can be checked; narrow it with task or correct",
                           n_cand, SEARCH_MAX_CANDIDATES);
    struct search_walk w = {app, f->query, NULL, 0, 0, 0};
    for (int64_t off = 0; off < n_cand; off += STORE_WEB_MAX_LIMIT) {
        rc = store_web_each_sample(app->store, f, off, STORE_WEB_MAX_LIMIT, on_search_candidate, &w,
                                   &err);
        if (rc)
            break;
    }
    json_t *arr = json_array();
    struct sample_walk sw = {app, arr};
    for (int64_t i = offset; !rc && i < w.n && i < offset + limit; i++) {
        struct assay_error e2;
        err_clear(&e2);
        rc = store_web_get_sample(app->store, w.ids[i], NULL, on_sample, &sw, &e2);
        if (rc == ASSAY_ENOTFOUND)
            rc = 0; /* gone since (cannot happen read-only; harmless) */
    }
    free(w.ids);
    if (rc) {
        json_decref(arr);
        return reply_store_error(r, rc, &err);
    }
    json_t *o = json_pack("{sI sI sI sI so sb}", "run", (json_int_t)f->run_id, "total",
                          (json_int_t)w.n, "offset", (json_int_t)offset, "limit", (json_int_t)limit,
                          "samples", arr, "masked", 1);
    return reply_json(r, 200, o);
}

static int api_samples(struct web_app *app, int64_t id, const struct params *ps,
                       struct web_reply *r)
{
    static const char *const allowed[] = {"offset", "limit",   "task", "item",
                                          "format", "correct", "q",    NULL};
    int rc = 0;
    int64_t offset, limit;
    if (!check_params(ps, allowed, r, &rc) ||
        !int_param(ps, "offset", 0, INT64_MAX / 2, 0, &offset, r, &rc) ||
        !int_param(ps, "limit", 1, STORE_WEB_MAX_LIMIT, SAMPLES_DEFAULT_LIMIT, &limit, r, &rc))
        return rc;
    struct store_web_filter f = {.run_id = id, .correct = -2};
    f.task = param(ps, "task");
    f.item = param(ps, "item");
    f.format_id = param(ps, "format");
    f.query = param(ps, "q");
    const char *c = param(ps, "correct");
    if (c) {
        if (strcmp(c, "1") == 0 || strcmp(c, "true") == 0)
            f.correct = 1;
        else if (strcmp(c, "0") == 0 || strcmp(c, "false") == 0)
            f.correct = 0;
        else if (strcmp(c, "na") == 0)
            f.correct = -1;
        else
            return reply_error(r, 400, "parameter 'correct' must be 1, 0 or na, got '%.40s'", c);
    }
    if (f.task && !*f.task)
        return reply_error(r, 400, "parameter 'task' is empty");
    if (f.query && strlen(f.query) > QUERY_MAX_BYTES)
        return reply_error(r, 400, "parameter 'q' is longer than %d bytes", QUERY_MAX_BYTES);
    for (const char *const *k = (const char *const[]){"task", "item", "format", "q", NULL}; *k;
         k++) {
        const char *v = param(ps, *k);
        if (v && !utf8_valid(v, strlen(v), NULL))
            return reply_error(r, 400, "parameter '%s' is not valid UTF-8", *k);
    }
    struct assay_error err;
    err_clear(&err);
    struct store_run run;
    rc = store_get_run(app->store, id, &run, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    store_run_release(&run);
    if (!app->raw && f.query && *f.query)
        return masked_search(app, &f, offset, limit, r);
    int64_t total = 0;
    rc = store_web_count_samples(app->store, &f, &total, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    struct sample_walk w = {app, json_array()};
    rc = store_web_each_sample(app->store, &f, offset, limit, on_sample, &w, &err);
    if (rc) {
        json_decref(w.arr);
        return reply_store_error(r, rc, &err);
    }
    json_t *o = json_pack("{sI sI sI sI so sb}", "run", (json_int_t)id, "total", (json_int_t)total,
                          "offset", (json_int_t)offset, "limit", (json_int_t)limit, "samples",
                          w.arr, "masked", !app->raw);
    return reply_json(r, 200, o);
}

/* ---- PII ---------------------------------------------------------------------------- */

struct pii_example {
    const struct store_pii_finding_row *f;
    struct web_app *app;
    const struct store_pii_finding_row *all; /* every stored finding of the run */
    int64_t n_all;
    json_t *text; /* the snippet */
};

struct ex_span {
    size_t start, end;
    const char *type;
};

static int ex_span_cmp(const void *x, const void *y)
{
    const struct ex_span *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Every span to mask in text: the stored findings of this sample's field (the example's
 * own among them, so it is masked even where the scanner would not find it again) and
 * what the scanner finds in the whole text, sorted and merged where they overlap. None
 * when the server is raw. */
static int example_spans(struct pii_example *ex, int64_t sample_id, const char *text, size_t len,
                         struct ex_span **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (ex->app->raw)
        return 0; /* raw: the text as stored */
    struct pii_findings f;
    pii_findings_init(&f, 0);
    if (ex->app->pii) {
        struct assay_error e;
        err_clear(&e);
        int rc = pii_scan_text(ex->app->pii, text, len, &f, NULL, &e);
        if (rc) {
            pii_findings_release(&f);
            return rc;
        }
    }
    size_t cap = f.n + (size_t)ex->n_all + 1, n = 0;
    struct ex_span *v = mem_alloc_array(cap, sizeof(*v));
    if (!v) {
        pii_findings_release(&f);
        return ASSAY_ENOMEM;
    }
    for (size_t i = 0; i < f.n; i++)
        v[n++] = (struct ex_span){(size_t)f.v[i].start, (size_t)f.v[i].end,
                                  pii_type_name(f.v[i].type)};
    pii_findings_release(&f);
    for (int64_t i = 0; i < ex->n_all; i++) {
        const struct store_pii_finding_row *r = &ex->all[i];
        if (r->sample_id != sample_id || strcmp(r->field, ex->f->field) != 0 ||
            r->start_byte < 0 || r->end_byte <= r->start_byte || (size_t)r->end_byte > len)
            continue;
        v[n++] = (struct ex_span){(size_t)r->start_byte, (size_t)r->end_byte, r->type};
    }
    qsort(v, n, sizeof(*v), ex_span_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && v[i].start < v[m - 1].end) {
            if (v[i].end > v[m - 1].end)
                v[m - 1].end = v[i].end;
        } else {
            v[m++] = v[i];
        }
    }
    *out = v;
    *n_out = m;
    return 0;
}

/* Append text[a, b) made valid UTF-8. */
static int add_clean(struct buf *out, const char *text, size_t a, size_t b)
{
    struct buf clean;
    buf_init(&clean, 0);
    int rc = web_utf8_clean(&clean, text + a, b - a);
    if (!rc && clean.len > 0)
        rc = buf_add(out, clean.data, clean.len);
    buf_release(&clean);
    return rc;
}

/* The text around the finding, cut from the whole stored field: every span the store or
 * the scanner knows in it is replaced by its label (unless raw), and the cut never falls
 * inside a span, so no part of another finding shows at the snippet's edges. */
static int on_example_sample(void *user, const struct store_sample_row *row)
{
    struct pii_example *ex = user;
    const struct store_pii_finding_row *f = ex->f;
    const char *text = NULL;
    if (strcmp(f->field, "output") == 0)
        text = row->s.output;
    else if (strcmp(f->field, "prompt") == 0)
        text = row->s.prompt;
    else if (strcmp(f->field, "target") == 0)
        text = row->s.target;
    if (!text)
        return 0;
    size_t len = strlen(text);
    if (f->start_byte < 0 || f->end_byte < f->start_byte || (size_t)f->end_byte > len)
        return 0; /* the text changed since the scan */
    size_t s = (size_t)f->start_byte, e = (size_t)f->end_byte;
    struct ex_span *sp = NULL;
    size_t n_sp = 0;
    int rc = example_spans(ex, row->id, text, len, &sp, &n_sp);
    if (rc)
        return rc;
    size_t a = s > PII_CONTEXT_BYTES ? s - PII_CONTEXT_BYTES : 0;
    size_t b = len - e > PII_CONTEXT_BYTES ? e + PII_CONTEXT_BYTES : len;
    for (size_t i = 0; i < n_sp; i++) { /* never cut inside a span */
        if (sp[i].start < a && a < sp[i].end)
            a = sp[i].start;
        if (sp[i].start < b && b < sp[i].end)
            b = sp[i].end;
    }
    while (a > 0 && ((unsigned char)text[a] & 0xC0) == 0x80)
        a--;
    while (b < len && ((unsigned char)text[b] & 0xC0) == 0x80)
        b++;
    struct buf out;
    buf_init(&out, 0);
    size_t pos = a;
    for (size_t i = 0; i < n_sp && !rc; i++) {
        if (sp[i].end <= a || sp[i].start >= b)
            continue;
        rc = add_clean(&out, text, pos, sp[i].start);
        if (!rc)
            rc = buf_addf(&out, "[%s]", sp[i].start <= s && e <= sp[i].end ? f->type : sp[i].type);
        pos = sp[i].end;
    }
    if (!rc)
        rc = add_clean(&out, text, pos, b);
    if (!rc)
        ex->text = json_stringn(out.data ? out.data : "", out.len);
    buf_release(&out);
    free(sp);
    return rc;
}

static int api_pii(struct web_app *app, int64_t id, const struct params *ps, struct web_reply *r)
{
    static const char *const allowed[] = {"examples", NULL};
    int rc = 0;
    int64_t n_ex;
    if (!check_params(ps, allowed, r, &rc) ||
        !int_param(ps, "examples", 0, PII_EXAMPLES_MAX, 3, &n_ex, r, &rc))
        return rc;
    struct assay_error err;
    err_clear(&err);
    struct store_run run;
    rc = store_get_run(app->store, id, &run, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    store_run_release(&run);
    struct store_web_pii_count *pc = NULL;
    int64_t n_p = 0;
    struct store_pii_finding_row *fr = NULL;
    int64_t n_f = 0;
    if ((rc = store_web_pii_counts(app->store, id, &pc, &n_p, &err)) ||
        (rc = store_list_pii_findings(app->store, id, &fr, &n_f, &err))) {
        store_web_pii_counts_free(pc, n_p);
        return reply_store_error(r, rc, &err);
    }
    json_t *examples = json_array();
    for (int64_t t = 0; t < n_p; t++) {
        int64_t shown = 0;
        for (int64_t i = 0; i < n_f && shown < n_ex; i++) {
            if (strcmp(fr[i].type, pc[t].type) != 0 ||
                strcmp(fr[i].severity, pc[t].severity) != 0 || fr[i].sample_id <= 0)
                continue;
            struct pii_example ex = {&fr[i], app, fr, n_f, NULL};
            struct assay_error e2;
            err_clear(&e2);
            rc = store_web_get_sample(app->store, fr[i].sample_id, NULL, on_example_sample, &ex,
                                      &e2);
            if (rc == ASSAY_ENOMEM)
                break;
            rc = 0;
            if (!ex.text)
                continue;
            json_array_append_new(
                examples, json_pack("{ss ss ss ss sI sI sb so}", "type", fr[i].type, "severity",
                                    fr[i].severity, "likelihood", fr[i].likelihood, "field",
                                    fr[i].field, "sample_id", (json_int_t)fr[i].sample_id, "start",
                                    (json_int_t)fr[i].start_byte, "validated", fr[i].validated != 0,
                                    "text", ex.text));
            shown++;
        }
    }
    json_t *o = json_pack("{sI so so sb}", "run", (json_int_t)id, "counts",
                          pii_counts_json(pc, n_p), "examples", examples, "masked", !app->raw);
    store_web_pii_counts_free(pc, n_p);
    store_pii_findings_free(fr, n_f);
    if (rc)
        return rc;
    return reply_json(r, 200, o);
}

/* ---- compare ------------------------------------------------------------------------ */

struct cmp_task {
    char *task;
    double *a, *b; /* scores of paired samples */
    int64_t n, cap;
    int64_t n01, n10;       /* A right & B wrong, A wrong & B right */
    int64_t n_correctness;  /* pairs where both have a correctness */
    json_t *worse, *better; /* flipped samples, capped */
};

struct cmp_walk {
    struct cmp_task *t;
    int64_t n, cap;
    struct web_app *app;
};

static json_t *flip_json(const struct store_web_pair *p)
{
    return json_pack("{so so sI sI}", "item", id_json(p->item ? p->item : ""), "format_id",
                     id_json(p->format_id ? p->format_id : ""), "id_a", (json_int_t)p->id_a, "id_b",
                     (json_int_t)p->id_b);
}

static int on_pair(void *user, const struct store_web_pair *p)
{
    struct cmp_walk *w = user;
    const char *task = p->task ? p->task : "";
    if (w->n == 0 || strcmp(w->t[w->n - 1].task, task) != 0) {
        if (w->n == w->cap) {
            int64_t ncap = w->cap ? w->cap * 2 : 16;
            struct cmp_task *nt = mem_realloc_array(w->t, (size_t)ncap, sizeof(*nt));
            if (!nt)
                return ASSAY_ENOMEM;
            w->t = nt;
            w->cap = ncap;
        }
        struct cmp_task *t = &w->t[w->n];
        memset(t, 0, sizeof(*t));
        t->task = mem_strdup(task);
        t->worse = json_array();
        t->better = json_array();
        if (!t->task || !t->worse || !t->better) {
            free(t->task);
            json_decref(t->worse);
            json_decref(t->better);
            return ASSAY_ENOMEM;
        }
        w->n++;
    }
    struct cmp_task *t = &w->t[w->n - 1];
    if (p->correct_a >= 0 && p->correct_b >= 0) {
        t->n_correctness++;
        if (p->correct_a == 1 && p->correct_b == 0) {
            t->n01++;
            if (json_array_size(t->worse) < FLIPS_MAX)
                json_array_append_new(t->worse, flip_json(p));
        } else if (p->correct_a == 0 && p->correct_b == 1) {
            t->n10++;
            if (json_array_size(t->better) < FLIPS_MAX)
                json_array_append_new(t->better, flip_json(p));
        }
    }
    if (isnan(p->score_a) || isnan(p->score_b))
        return 0;
    if (t->n == t->cap) {
        int64_t ncap = t->cap ? t->cap * 2 : 64;
        double *na = mem_realloc_array(t->a, (size_t)ncap, sizeof(double));
        if (!na)
            return ASSAY_ENOMEM;
        t->a = na;
        double *nb = mem_realloc_array(t->b, (size_t)ncap, sizeof(double));
        if (!nb)
            return ASSAY_ENOMEM;
        t->b = nb;
        t->cap = ncap;
    }
    t->a[t->n] = p->score_a;
    t->b[t->n] = p->score_b;
    t->n++;
    return 0;
}

static json_t *interval_json(const struct cmp_interval *ci)
{
    return json_pack("{sI so so so so so sf si}", "n", (json_int_t)ci->n, "mean_a",
                     num_json(ci->mean_a), "mean_b", num_json(ci->mean_b), "delta",
                     num_json(ci->delta), "lo", num_json(ci->lo), "hi", num_json(ci->hi), "level",
                     ci->level, "resamples", ci->resamples);
}

static json_t *mcnemar_json(int64_t n01, int64_t n10)
{
    struct cmp_mcnemar mc;
    cmp_mcnemar(&mc, n01, n10);
    return json_pack("{sI sI sb so so}", "n01", (json_int_t)mc.n01, "n10", (json_int_t)mc.n10,
                     "exact", mc.exact != 0, "statistic", num_json(mc.statistic), "p_value",
                     num_json(mc.p_value));
}

static int api_compare(struct web_app *app, const struct params *ps, struct web_reply *r)
{
    static const char *const allowed[] = {"a", "b", NULL};
    int rc = 0;
    int64_t ida, idb;
    if (!check_params(ps, allowed, r, &rc))
        return rc;
    if (!param(ps, "a") || !param(ps, "b"))
        return reply_error(r, 400, "parameters 'a' and 'b' (two run ids) are required");
    if (!int_param(ps, "a", 1, INT64_MAX, 0, &ida, r, &rc) ||
        !int_param(ps, "b", 1, INT64_MAX, 0, &idb, r, &rc))
        return rc;
    struct assay_error err;
    err_clear(&err);
    struct store_run ra, rb;
    rc = store_get_run(app->store, ida, &ra, &err);
    if (rc)
        return reply_store_error(r, rc, &err);
    rc = store_get_run(app->store, idb, &rb, &err);
    if (rc) {
        store_run_release(&ra);
        return reply_store_error(r, rc, &err);
    }
    struct cmp_walk w = {NULL, 0, 0, app};
    double *all_a = NULL, *all_b = NULL;
    json_t *tasks = NULL, *o = NULL;
    rc = store_web_each_pair(app->store, ida, idb, on_pair, &w, &err);
    if (rc) {
        rc = reply_store_error(r, rc, &err);
        goto out;
    }
    int64_t n_all = 0, n01 = 0, n10 = 0;
    for (int64_t i = 0; i < w.n; i++) {
        n_all += w.t[i].n;
        n01 += w.t[i].n01;
        n10 += w.t[i].n10;
    }
    all_a = mem_alloc_array(n_all ? (size_t)n_all : 1, sizeof(double));
    all_b = mem_alloc_array(n_all ? (size_t)n_all : 1, sizeof(double));
    tasks = json_array();
    if (!all_a || !all_b || !tasks) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    int64_t k = 0;
    for (int64_t i = 0; i < w.n; i++) {
        struct cmp_task *t = &w.t[i];
        memcpy(all_a + k, t->a, (size_t)t->n * sizeof(double));
        memcpy(all_b + k, t->b, (size_t)t->n * sizeof(double));
        k += t->n;
        struct cmp_interval ci;
        rc = cmp_paired_bootstrap(&ci, t->a, t->b, t->n, CMP_BOOTSTRAP_RESAMPLES,
                                  CMP_BOOTSTRAP_SEED, 0.95, &err);
        if (rc) {
            rc = reply_store_error(r, rc, &err);
            goto out;
        }
        json_t *x = interval_json(&ci);
        json_object_set_new(x, "task", id_json(t->task));
        json_object_set_new(x, "mcnemar", mcnemar_json(t->n01, t->n10));
        json_object_set_new(x, "n_correctness", json_integer(t->n_correctness));
        json_object_set(x, "worse", t->worse);
        json_object_set(x, "better", t->better);
        json_array_append_new(tasks, x);
    }
    struct cmp_interval all;
    rc = cmp_paired_bootstrap(&all, all_a, all_b, n_all, CMP_BOOTSTRAP_RESAMPLES,
                              CMP_BOOTSTRAP_SEED, 0.95, &err);
    if (rc) {
        rc = reply_store_error(r, rc, &err);
        goto out;
    }
    json_t *overall = interval_json(&all);
    json_object_set_new(overall, "mcnemar", mcnemar_json(n01, n10));
    o = json_pack("{so so so so ss}", "a", run_json(&ra), "b", run_json(&rb), "tasks", tasks,
                  "overall", overall, "method",
                  "paired by (task, item, format); delta = mean(b) - mean(a) of per-sample "
                  "scores; 95% percentile interval of a paired bootstrap (10000 resamples); "
                  "McNemar's test on per-sample correctness (exact binomial below 25 "
                  "discordant pairs)");
    tasks = NULL;
    json_t *sweep = NULL; /* two sweep runs: robustness side by side, Kendall tau-b */
    rc = rpt_sweep_compare_runs(&sweep, app->store, ida, idb, true, &err);
    if (rc) {
        json_decref(o);
        rc = reply_store_error(r, rc, &err);
        goto out;
    }
    json_object_set_new(o, "sweep", sweep);
    rc = reply_json(r, 200, o);
out:
    json_decref(tasks);
    for (int64_t i = 0; i < w.n; i++) {
        free(w.t[i].task);
        free(w.t[i].a);
        free(w.t[i].b);
        json_decref(w.t[i].worse);
        json_decref(w.t[i].better);
    }
    free(w.t);
    free(all_a);
    free(all_b);
    store_run_release(&ra);
    store_run_release(&rb);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------------------- */

int web_api_handle(struct web_app *app, const char *path, const struct web_param *params,
                   size_t n_params, struct web_reply *r)
{
    struct params ps = {params, n_params};
    if (strcmp(path, "/api/runs") == 0 || strcmp(path, "/api/runs/") == 0)
        return api_runs(app, &ps, r);
    if (strcmp(path, "/api/compare") == 0)
        return api_compare(app, &ps, r);
    if (strncmp(path, "/api/runs/", 10) == 0) {
        const char *p = path + 10;
        char idbuf[24];
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof(idbuf))
            return reply_error(r, 400, "bad run id in '%.80s'", path);
        memcpy(idbuf, p, n);
        idbuf[n] = '\0';
        int64_t id;
        if (!parse_int(idbuf, 1, INT64_MAX, &id))
            return reply_error(r, 400, "bad run id '%.24s' (a positive integer)", idbuf);
        const char *rest = p + n;
        if (*rest == '\0')
            return api_run(app, id, &ps, r);
        if (strcmp(rest, "/samples") == 0)
            return api_samples(app, id, &ps, r);
        if (strcmp(rest, "/metrics") == 0)
            return api_metrics(app, id, &ps, r);
        if (strcmp(rest, "/pii") == 0)
            return api_pii(app, id, &ps, r);
        if (strcmp(rest, "/sweep") == 0)
            return api_sweep(app, id, &ps, r);
    }
    return reply_error(r, 404, "no such API endpoint '%.80s'", path);
}
