/*
 * evals/sweep.c - see sweep.h. Plans the (task, document, format) items, renders them
 * with the ordinary task renderer under each grammar format, calls the backend a batch
 * at a time, stores one sample per item, and derives the statistics from stored rows.
 * It does not decide scoring: a sample's score is eval_rescore_sample's (runner.c), so a
 * sweep's acc@<default id> is the same number `assay run` reports for MMLU.
 */
#include "evals/sweep.h"
#include "evals/sweep_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "base/utf8.h"
#include "engine/backend.h"
#include "evals/fewshot.h"
#include "evals/metric.h"
#include "evals/runner.h"
#include "store/store.h"

#define MAX_SHOTS SWEEP_MAX_SHOTS

/* ---- plan ------------------------------------------------------------------------- */

void sweep_plan_release(struct sweep_plan *p)
{
    for (int i = 0; p->tasks && i < p->n_tasks; i++)
        task_data_release(&p->tasks[i]);
    if (p->shot_ids)
        for (int i = 0; i < p->n_tasks * SWEEP_SHOT_VARIANTS; i++)
            free(p->shot_ids[i]);
    free(p->shot_ids);
    free(p->n_shots);
    free(p->tasks);
    free(p->n_docs);
    free(p->fmts);
    free(p->fmt_idx);
    memset(p, 0, sizeof(*p));
}

/* Shots of every document for shots-axis value v of task ti, in document order. */
static int plan_shots(struct sweep_plan *p, int ti, int v, struct assay_error *err)
{
    const struct task_data *t = &p->tasks[ti];
    struct fmtg_spec sp;
    memset(&sp, 0, sizeof(sp));
    sp.v[3] = (uint8_t)v;
    int shots, seed_add;
    fmtg_shots(&sp, &shots, &seed_add);
    int k = task_effective_shots(t, shots < 0 ? p->opts.shots : shots);
    int slot = ti * SWEEP_SHOT_VARIANTS + v;
    int64_t n = p->n_docs[ti];
    p->n_shots[slot] = k;
    p->shot_ids[slot] = mem_calloc_array((size_t)(n ? n : 1) * MAX_SHOTS, sizeof(uint32_t));
    if (!p->shot_ids[slot])
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    if (seed_add == 0) {
        struct task_shots sh;
        task_shots_init(&sh, t, k, p->opts.seed);
        for (int64_t d = 0; d < n; d++) {
            int rc = task_shots_next(&sh, t, p->shot_ids[slot] + d * MAX_SHOTS, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    /* a random draw of the default count, seeded apart from the task's own sampler */
    struct fewshot_rng rng;
    fewshot_rng_seed(&rng, p->opts.seed + (uint64_t)seed_add);
    for (int64_t d = 0; k > 0 && d < n; d++) {
        int rc = fewshot_sample(&rng, (uint32_t)t->pool.n, (uint32_t)k,
                                p->shot_ids[slot] + d * MAX_SHOTS, err);
        if (rc)
            return rc;
    }
    return 0;
}

int sweep_plan_load(struct sweep_plan *p, const char *task_list, const uint64_t *fmt_idx,
                    int64_t n_fmts, const struct sweep_opts *o, struct assay_error *err)
{
    memset(p, 0, sizeof(*p));
    p->opts = *o;
    if (p->opts.batch <= 0)
        p->opts.batch = SWEEP_DEFAULT_BATCH;
    if (o->shots > MAX_SHOTS)
        return err_set(err, ASSAY_EUSAGE, "--shots %d: at most %d", o->shots, MAX_SHOTS);
    if (n_fmts <= 0)
        return err_set(err, ASSAY_EUSAGE, "no formats to sweep");
    char **names = NULL;
    int n = 0;
    int rc = task_expand(task_list, &names, &n, err);
    if (rc)
        return rc;
    for (int g = 0; task_group_names[g]; g++)
        if (n > 1 && strcmp(task_list, task_group_names[g]) == 0)
            snprintf(p->aggregate, sizeof(p->aggregate), "%s", task_list);
    p->tasks = mem_calloc_array((size_t)n, sizeof(*p->tasks));
    p->n_docs = mem_calloc_array((size_t)n, sizeof(*p->n_docs));
    p->n_shots = mem_calloc_array((size_t)n * SWEEP_SHOT_VARIANTS, sizeof(*p->n_shots));
    p->shot_ids = mem_calloc_array((size_t)n * SWEEP_SHOT_VARIANTS, sizeof(*p->shot_ids));
    p->fmts = mem_calloc_array((size_t)n_fmts, sizeof(*p->fmts));
    p->fmt_idx = mem_calloc_array((size_t)n_fmts, sizeof(*p->fmt_idx));
    if (!p->tasks || !p->n_docs || !p->n_shots || !p->shot_ids || !p->fmts || !p->fmt_idx) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    p->n_fmts = n_fmts;
    /* the tasks' family decides how a format renders (before any dataset is read) */
    if ((rc = sweep_tasks_family(task_list, &p->family, err)) != 0)
        goto out;
    bool used[SWEEP_SHOT_VARIANTS] = {false};
    for (int64_t i = 0; i < n_fmts; i++) {
        if (fmt_idx[i] >= fmtg_count() || (i > 0 && fmt_idx[i] <= fmt_idx[i - 1])) {
            rc = err_set(err, ASSAY_EINVAL, "format list not ascending or past the grammar");
            goto out;
        }
        p->fmt_idx[i] = fmt_idx[i];
        struct fmtg_spec sp;
        fmtg_from_index(fmt_idx[i], &sp);
        if (fmtg_family_check(p->family, &sp, err) != 0) {
            rc = ASSAY_EUSAGE; /* a format the user chose */
            if (err)
                err->code = rc;
            goto out;
        }
        fmtg_build_family(p->family, &sp, &p->fmts[i]);
        used[sp.v[3]] = true;
    }
    for (int i = 0; i < n; i++) {
        struct task_def d;
        if ((rc = task_find(names[i], &d, err)) != 0)
            goto out;
        if ((rc = task_load(&p->tasks[i], &d, o->data_dir, err)) != 0)
            goto out;
        p->n_tasks = i + 1;
        if ((rc = sweep_adapt_task(&p->tasks[i], err)) != 0)
            goto out;
        int64_t m = p->tasks[i].eval.n;
        p->n_docs[i] = o->limit > 0 && o->limit < m ? o->limit : m;
        for (int v = 0; v < SWEEP_SHOT_VARIANTS; v++)
            if (used[v] && (rc = plan_shots(p, i, v, err)) != 0)
                goto out;
        if (p->family == FMTG_FAMILY_GEN && p->opts.max_tokens <= 0)
            p->opts.max_tokens = d.max_gen_toks; /* the same run as an explicit 256 */
    }
out:
    task_names_free(names, n);
    if (rc)
        sweep_plan_release(p);
    return rc;
}

int64_t sweep_plan_items(const struct sweep_plan *p)
{
    int64_t n = 0;
    for (int i = 0; i < p->n_tasks; i++)
        n += p->n_docs[i] * p->n_fmts;
    return n;
}

int sweep_plan_config(const struct sweep_plan *p, json_t *cfg, struct assay_error *err)
{
    json_t *tasks = json_array();
    if (!tasks)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    for (int i = 0; i < p->n_tasks; i++)
        json_array_append_new(tasks, json_string(p->tasks[i].def.name));
    json_object_set_new(cfg, "tasks", tasks);
    json_object_set_new(cfg, "shots", json_integer(p->opts.shots));
    json_object_set_new(cfg, "limit", json_integer(p->opts.limit > 0 ? p->opts.limit : 0));
    json_object_set_new(cfg, "seed", json_integer((json_int_t)p->opts.seed));
    json_object_set_new(cfg, "grammar", json_integer(FMTG_VERSION));
    if (p->family == FMTG_FAMILY_GEN) /* only there, so multiple-choice runs still resume */
        json_object_set_new(cfg, "max_tokens", json_integer(p->opts.max_tokens));
    return 0;
}

int sweep_render(const struct sweep_plan *p, int ti, int64_t doc, int64_t fi, int c,
                 bool continuation, struct buf *out, struct assay_error *err)
{
    struct task_data view = p->tasks[ti]; /* a view: same documents, the sweep's format */
    view.fmt = &p->fmts[fi].f;
    const struct task_doc *d = &view.eval.docs[doc];
    if (continuation)
        return task_render_continuation(&view, d, c, out, err);
    int slot = ti * SWEEP_SHOT_VARIANTS + p->fmts[fi].spec.v[3];
    return task_render_context(&view, d, c, p->shot_ids[slot] + doc * MAX_SHOTS, p->n_shots[slot],
                               out, err);
}

/* ---- running ---------------------------------------------------------------------- */

static int64_t n_codepoints(const char *s)
{
    int64_t n = 0;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_decode((const uint8_t *)s + i, len - i, &cp);
        i += k ? k : 1;
        n++;
    }
    return n;
}

/* The strings of one batch, freed together. */
struct batch_mem {
    char **s;
    size_t n, cap;
};

static char *keep(struct batch_mem *m, char *s)
{
    if (!s)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        char **ns = mem_realloc_array(m->s, cap, sizeof(char *));
        if (!ns) {
            free(s);
            return NULL;
        }
        m->s = ns;
        m->cap = cap;
    }
    m->s[m->n++] = s;
    return s;
}

static void batch_mem_clear(struct batch_mem *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->s[i]);
    m->n = 0;
}

static char *render_str(const struct sweep_plan *p, const struct sweep_item *it, int c, bool cont,
                        struct batch_mem *m, struct buf *b, int *rc, struct assay_error *err)
{
    buf_reset(b);
    *rc = sweep_render(p, it->task, it->doc, it->fmt, c, cont, b, err);
    if (*rc)
        return NULL;
    char *s = keep(m, buf_detach(b, NULL));
    if (!s)
        *rc = err_set(err, ASSAY_ENOMEM, "out of memory");
    return s;
}

static int run_batch(const struct sweep_plan *p, const struct sweep_item *items, int n_items,
                     struct backend *b, struct store *s, int64_t run_id, struct batch_mem *m,
                     struct assay_error *err)
{
    size_t n_req = 0;
    for (int i = 0; i < n_items; i++)
        n_req += (size_t)p->tasks[items[i].task].eval.docs[items[i].doc].n_choices;
    struct bk_ll_req *reqs = mem_calloc_array(n_req ? n_req : 1, sizeof(*reqs));
    struct bk_ll_res *res = mem_calloc_array(n_req ? n_req : 1, sizeof(*res));
    struct store_sample *smp = mem_calloc_array((size_t)n_items, sizeof(*smp));
    int64_t *r0 = mem_calloc_array((size_t)n_items, sizeof(*r0)); /* first request, -1: failed */
    struct buf b1;
    buf_init(&b1, 0);
    int rc = 0;
    if (!reqs || !res || !smp || !r0) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    size_t r = 0;
    for (int i = 0; i < n_items; i++) {
        const struct task_doc *d = &p->tasks[items[i].task].eval.docs[items[i].doc];
        struct assay_error ierr;
        err_clear(&ierr);
        size_t start = r;
        char *ctx = render_str(p, &items[i], 0, false, m, &b1, &rc, &ierr);
        for (int c = 0; ctx && c < d->n_choices; c++, r++) {
            char *cont = render_str(p, &items[i], c, true, m, &b1, &rc, &ierr);
            if (!cont)
                break;
            reqs[r].context.text = ctx;
            reqs[r].context.len = strlen(ctx);
            reqs[r].continuation.text = cont;
            reqs[r].continuation.len = strlen(cont);
        }
        if (rc == ASSAY_ENOMEM) {
            err_set(err, rc, "%s", ierr.msg);
            goto out;
        }
        if (rc) {
            /* a document this format cannot show (more choices than labels): a failed
             * sample, and the sweep goes on */
            r = start;
            r0[i] = -1;
            smp[i].error = keep(m, mem_strdup(ierr.msg));
            smp[i].prompt = ctx;
            rc = 0;
        } else {
            r0[i] = (int64_t)start;
        }
    }
    if (r && (rc = backend_loglikelihood(b, reqs, r, res, NULL, err)) != 0)
        goto out;
    for (int i = 0; i < n_items; i++) {
        const struct task_data *t = &p->tasks[items[i].task];
        const struct fmtg_fmt *fm = &p->fmts[items[i].fmt];
        const struct task_doc *d = &t->eval.docs[items[i].doc];
        int slot = items[i].task * SWEEP_SHOT_VARIANTS + fm->spec.v[3];
        json_t *o = json_object(), *sh = json_array(), *ch = json_array();
        for (int k = 0; k < p->n_shots[slot]; k++) {
            uint32_t id = p->shot_ids[slot][items[i].doc * MAX_SHOTS + k];
            json_array_append_new(sh, json_string(t->pool.docs[id].id));
        }
        json_object_set_new(o, "shots", sh);
        json_object_set_new(o, "gold", json_integer(d->gold));
        json_object_set_new(o, "gold_pos", json_integer(fmt_display_pos(&fm->f, d, d->gold)));
        json_object_set_new(o, "shift", json_integer(fm->spec.v[FMTG_AXIS_ORDER]));
        if (d->labels) { /* MC2: every true answer's display position */
            json_t *tp = json_array();
            for (int c = 0; c < d->n_choices; c++)
                if (d->labels[c])
                    json_array_append_new(tp, json_integer(fmt_display_pos(&fm->f, d, c)));
            json_object_set_new(o, "true_pos", tp);
        }
        int pick = -1, bad = 0;
        double best = 0;
        struct store_sample *sm = &smp[i];
        if (r0[i] >= 0) {
            for (int c = 0; c < d->n_choices; c++) {
                size_t q = (size_t)r0[i] + (size_t)c;
                json_t *e = json_object();
                json_object_set_new(e, "ll", json_real(res[q].logprob));
                json_object_set_new(e, "n_chars",
                                    json_integer(n_codepoints(reqs[q].continuation.text)));
                json_object_set_new(e, "is_greedy", json_boolean(res[q].is_greedy));
                json_object_set_new(e, "pos", json_integer(fmt_display_pos(&fm->f, d, c)));
                if (d->labels) /* MC2: eval_rescore_sample's true-answer mask */
                    json_object_set_new(e, "label", json_integer(d->labels[c]));
                if (res[q].error) {
                    bad = res[q].error;
                    json_object_set_new(e, "error", json_string(err_code_name(res[q].error)));
                } else if (pick < 0 || res[q].logprob > best) {
                    best = res[q].logprob;
                    pick = c;
                }
                json_array_append_new(ch, e);
            }
            sm->prompt = reqs[r0[i]].context.text;
            if (d->gold >= 0 && d->gold < d->n_choices)
                sm->target = reqs[(size_t)r0[i] + (size_t)d->gold].continuation.text;
            if (pick >= 0)
                sm->output = reqs[(size_t)r0[i] + (size_t)pick].continuation.text;
            if (bad) {
                char msg[160];
                snprintf(msg, sizeof(msg), "a choice could not be scored: %s", err_code_name(bad));
                sm->error = keep(m, mem_strdup(msg));
            }
        }
        json_object_set_new(o, "choices", ch);
        json_object_set_new(o, "pick", json_integer(pick));
        json_object_set_new(o, "pick_pos",
                            json_integer(pick >= 0 ? fmt_display_pos(&fm->f, d, pick) : -1));
        char *dj = keep(m, json_dumps(o, JSON_COMPACT));
        json_decref(o);
        if (!dj) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        sm->task = t->def.name;
        sm->item = d->id;
        sm->format_id = fm->id;
        sm->data_json = dj;
        double v[8];
        if (sm->error) {
            sm->score = 0;
            sm->correct = 0;
        } else {
            if ((rc = eval_rescore_sample(&t->def, sm->output, sm->target, dj, NULL, v, err)) < 0)
                goto out;
            rc = 0;
            sm->score = v[0];
            sm->correct = v[0] >= 0.5;
        }
        if (t->def.scoring == TASK_SCORING_MC2)
            sm->correct = -1; /* a probability mass, as `assay run` stores it */
    }
    rc = store_put_samples(s, run_id, smp, n_items, err);
out:
    buf_release(&b1);
    free(reqs);
    free(res);
    free(smp);
    free(r0);
    return rc;
}

int sweep_run(const struct sweep_plan *p, struct backend *b, struct store *s, int64_t run_id,
              const struct progress *prog, struct assay_error *err)
{
    int batch = p->opts.batch > 0 ? p->opts.batch : SWEEP_DEFAULT_BATCH;
    struct sweep_item *items = mem_calloc_array((size_t)batch, sizeof(*items));
    if (!items)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    struct batch_mem m = {0};
    int rc = 0, n = 0;
    int64_t done = 0, total = sweep_plan_items(p);
    int shifts = fmtg_axis_size(FMTG_AXIS_ORDER);
    for (int ti = 0; ti < p->n_tasks && !rc; ti++) {
        const struct task_data *t = &p->tasks[ti];
        progress_report(prog, done, total, t->def.name);
        /* groups of formats that differ only in choice order (adjacent: the order axis
         * is the least significant) */
        for (int64_t g0 = 0; g0 < p->n_fmts && !rc;) {
            int64_t g1 = g0 + 1;
            while (g1 < p->n_fmts &&
                   p->fmt_idx[g1] / (uint64_t)shifts == p->fmt_idx[g0] / (uint64_t)shifts)
                g1++;
            for (int64_t d = 0; d < p->n_docs[ti] && !rc; d++) {
                for (int64_t f = g0; f < g1 && !rc; f++) {
                    bool found = false;
                    rc = store_has_sample(s, run_id, t->def.name, t->eval.docs[d].id, p->fmts[f].id,
                                          &found, err);
                    if (rc)
                        break;
                    if (found) {
                        done++;
                        continue;
                    }
                    items[n++] = (struct sweep_item){.task = ti, .doc = d, .fmt = f};
                    if (n < batch)
                        continue;
                    if (p->opts.stop && *p->opts.stop) {
                        rc = err_set(err, ASSAY_EFAIL, "interrupted");
                        break;
                    }
                    rc = p->family == FMTG_FAMILY_GEN
                             ? sweep_gen_batch(p, items, n, b, s, run_id, err)
                             : run_batch(p, items, n, b, s, run_id, &m, err);
                    batch_mem_clear(&m);
                    done += n;
                    n = 0;
                    progress_report(prog, done, total, t->def.name);
                }
            }
            g0 = g1;
        }
    }
    if (!rc && n > 0) {
        if (p->opts.stop && *p->opts.stop)
            rc = err_set(err, ASSAY_EFAIL, "interrupted");
        else if (p->family == FMTG_FAMILY_GEN)
            rc = sweep_gen_batch(p, items, n, b, s, run_id, err);
        else
            rc = run_batch(p, items, n, b, s, run_id, &m, err);
        batch_mem_clear(&m);
        if (!rc)
            progress_report(prog, done + n, total, "");
    }
    free(m.s);
    free(items);
    return rc;
}

/* ---- statistics --------------------------------------------------------------------- */

void sweep_stats_of(const double *x, int n, struct sweep_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->n = n;
    if (n <= 0) {
        out->mean = out->std = out->min = out->max = out->spread = NAN;
        return;
    }
    double sum = 0;
    out->min = out->max = x[0];
    for (int i = 0; i < n; i++) {
        sum += x[i];
        if (x[i] < out->min)
            out->min = x[i];
        if (x[i] > out->max)
            out->max = x[i];
    }
    out->mean = sum / n;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - out->mean) * (x[i] - out->mean);
    out->std = n > 1 ? sqrt(ss / (n - 1)) : NAN;
    out->spread = out->max - out->min;
}

/* Accumulators of one statistics scope (a task, or the aggregate). */
struct scope {
    struct metric_acc *per_fmt;  /* n_fmts */
    struct metric_acc *per_flex; /* n_fmts: generation family's flexible-extract, or NULL */
    struct metric_acc by_gold[SWEEP_MAX_POS];
    int64_t pick_n[SWEEP_MAX_POS];
    int64_t n;
    int64_t n_gold;   /* gold entries: one per sample, MC2 one per true answer */
    int64_t n_failed; /* samples stored with an error (scored 0) */
};

struct walk {
    const struct sweep_plan *p;
    const struct task_def *t;
    struct scope *sc[2];
    struct assay_error *err;
};

static int cmp_u64_key(const void *k, const void *e)
{
    uint64_t a = *(const uint64_t *)k, b = *(const uint64_t *)e;
    return a < b ? -1 : a > b;
}

static int walk_fn(void *user, const struct store_sample_row *row)
{
    struct walk *w = user;
    struct fmtg_spec sp;
    struct assay_error perr;
    err_clear(&perr);
    if (!row->s.format_id || fmtg_parse(row->s.format_id, &sp, &perr))
        return 0; /* not a sweep sample */
    uint64_t idx = fmtg_index(&sp);
    const uint64_t *hit =
        bsearch(&idx, w->p->fmt_idx, (size_t)w->p->n_fmts, sizeof(uint64_t), cmp_u64_key);
    if (!hit)
        return 0; /* a format of another selection (cannot happen under one config) */
    size_t k = (size_t)(hit - w->p->fmt_idx);
    double v[8] = {0};
    int rc = eval_rescore_sample(w->t, row->s.output, row->s.target, row->s.data_json, row->s.error,
                                 v, w->err);
    if (rc < 0)
        return rc;
    json_t *d = NULL;
    int64_t gp = -1, pp = -1;
    int64_t tp[SWEEP_MAX_POS];
    int n_tp = -1; /* MC2's true positions, -1: a single gold */
    if (row->s.data_json &&
        jsn_load_buf(&d, row->s.data_json, strlen(row->s.data_json), "data_json", 0, &perr) == 0) {
        gp = jsn_int(d, "gold_pos", -1);
        pp = jsn_int(d, "pick_pos", -1);
        const json_t *a = json_object_get(d, "true_pos");
        if (json_is_array(a)) {
            n_tp = 0;
            for (size_t j = 0; j < json_array_size(a) && n_tp < SWEEP_MAX_POS; j++)
                tp[n_tp++] = json_integer_value(json_array_get(a, j));
        }
        json_decref(d);
    }
    for (int i = 0; i < 2; i++) {
        struct scope *sc = w->sc[i];
        if (!sc)
            continue;
        metric_acc_add(&sc->per_fmt[k], v[0]);
        if (sc->per_flex)
            metric_acc_add(&sc->per_flex[k], v[1]);
        sc->n++;
        if (row->s.error && row->s.error[0])
            sc->n_failed++;
        if (n_tp < 0) {
            sc->n_gold++;
            if (gp >= 0 && gp < SWEEP_MAX_POS)
                metric_acc_add(&sc->by_gold[gp], v[0]);
        }
        /* MC2: each true answer is a gold entry, hit when the argmax pick is it */
        for (int j = 0; j < n_tp; j++) {
            sc->n_gold++;
            if (tp[j] >= 0 && tp[j] < SWEEP_MAX_POS)
                metric_acc_add(&sc->by_gold[tp[j]], pp == tp[j] ? 1.0 : 0.0);
        }
        if (pp >= 0 && pp < SWEEP_MAX_POS)
            sc->pick_n[pp]++;
    }
    return 0;
}

/* <per>@<id> of every format and <stat>mean/std/min/max/spread over them. */
static int put_per_format(const struct sweep_plan *p, struct store *s, int64_t run_id,
                          const char *task, const struct metric_acc *per, const char *per_name,
                          const char *stat, struct assay_error *err)
{
    double *acc = mem_calloc_array((size_t)p->n_fmts, sizeof(double));
    if (!acc)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    int n = 0, rc = 0;
    char name[96];
    for (int64_t f = 0; f < p->n_fmts && !rc; f++) {
        const struct metric_acc *a = &per[f];
        if (a->n == 0)
            continue;
        acc[n++] = metric_acc_mean(a);
        snprintf(name, sizeof(name), "%s@%s", per_name, p->fmts[f].id);
        rc = store_put_metric(s, run_id, task, name, metric_acc_mean(a), metric_acc_stderr(a), a->n,
                              err);
    }
    struct sweep_stats st;
    sweep_stats_of(acc, n, &st);
    free(acc);
    const struct {
        const char *name;
        double v;
    } agg[] = {{"mean", st.mean},
               {"std", st.std},
               {"min", st.min},
               {"max", st.max},
               {"spread", st.spread}};
    for (size_t i = 0; !rc && i < sizeof(agg) / sizeof(agg[0]); i++) {
        snprintf(name, sizeof(name), "%s%s", stat, agg[i].name);
        rc = store_put_metric(s, run_id, task, name, agg[i].v, NAN, n, err);
    }
    return rc;
}

static int put_scope(const struct sweep_plan *p, struct store *s, int64_t run_id, const char *task,
                     const struct scope *sc, struct assay_error *err)
{
    if (sc->n == 0)
        return 0;
    char name[96];
    int rc = put_per_format(p, s, run_id, task, sc->per_fmt, "acc", "fmt_", err);
    if (!rc && sc->per_flex)
        rc = put_per_format(p, s, run_id, task, sc->per_flex, "flex", "flex_fmt_", err);
    /* e.g. a document a format cannot show: scored 0 */
    if (!rc && sc->n_failed > 0)
        rc = store_put_metric(s, run_id, task, "failed_rate", (double)sc->n_failed / (double)sc->n,
                              NAN, sc->n, err);
    double recalls[SWEEP_MAX_POS];
    int n_rec = 0;
    for (int j = 0; !rc && j < SWEEP_MAX_POS; j++) {
        const struct metric_acc *a = &sc->by_gold[j];
        if (a->n == 0 && sc->pick_n[j] == 0)
            continue;
        if (a->n > 0) {
            recalls[n_rec++] = metric_acc_mean(a);
            snprintf(name, sizeof(name), "acc_gold_pos%d", j + 1);
            rc = store_put_metric(s, run_id, task, name, metric_acc_mean(a), metric_acc_stderr(a),
                                  a->n, err);
        }
        snprintf(name, sizeof(name), "gold_rate_pos%d", j + 1);
        if (!rc)
            rc = store_put_metric(s, run_id, task, name, (double)a->n / (double)sc->n_gold, NAN,
                                  sc->n_gold, err);
        snprintf(name, sizeof(name), "pick_rate_pos%d", j + 1);
        if (!rc)
            rc = store_put_metric(s, run_id, task, name, (double)sc->pick_n[j] / (double)sc->n, NAN,
                                  sc->n, err);
    }
    if (!rc && n_rec > 0) {
        struct sweep_stats rs;
        sweep_stats_of(recalls, n_rec, &rs);
        /* population std over positions, as Zheng et al.'s RStd */
        double pop = n_rec > 1 ? rs.std * sqrt((double)(n_rec - 1) / n_rec) : 0;
        rc = store_put_metric(s, run_id, task, "recall_std", pop, NAN, n_rec, err);
    }
    return rc;
}

static void scope_release(struct scope *sc)
{
    free(sc->per_fmt);
    free(sc->per_flex);
    memset(sc, 0, sizeof(*sc));
}

static int scope_init(struct scope *sc, const struct sweep_plan *p, struct assay_error *err)
{
    memset(sc, 0, sizeof(*sc));
    sc->per_fmt = mem_calloc_array((size_t)p->n_fmts, sizeof(*sc->per_fmt));
    if (p->family == FMTG_FAMILY_GEN)
        sc->per_flex = mem_calloc_array((size_t)p->n_fmts, sizeof(*sc->per_flex));
    if (!sc->per_fmt || (p->family == FMTG_FAMILY_GEN && !sc->per_flex)) {
        scope_release(sc);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return 0;
}

int sweep_compute_metrics(const struct sweep_plan *p, struct store *s, int64_t run_id,
                          struct assay_error *err)
{
    struct scope all, one;
    memset(&one, 0, sizeof(one));
    int rc = scope_init(&all, p, err);
    for (int ti = 0; !rc && ti < p->n_tasks; ti++) {
        if ((rc = scope_init(&one, p, err)) != 0)
            break;
        struct walk w = {.p = p, .t = &p->tasks[ti].def, .err = err};
        w.sc[0] = &one;
        w.sc[1] = p->aggregate[0] ? &all : NULL;
        rc = store_each_sample(s, run_id, p->tasks[ti].def.name, walk_fn, &w, err);
        if (!rc)
            rc = put_scope(p, s, run_id, p->tasks[ti].def.name, &one, err);
        scope_release(&one);
    }
    if (!rc && p->aggregate[0])
        rc = put_scope(p, s, run_id, p->aggregate, &all, err);
    scope_release(&all);
    return rc;
}
