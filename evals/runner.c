/*
 * evals/runner.c - see runner.h. Builds requests from the plan, calls the backend a
 * batch at a time, turns results into sample rows (one transaction per batch), and
 * derives every metric from the stored rows.
 */
#include "evals/runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "base/utf8.h"
#include "engine/backend.h"
#include "evals/codeexec.h"
#include "evals/fmt.h"
#include "evals/metric.h"
#include "evals/sandbox.h"
#include "store/store.h"

#define MAX_SHOTS 32

/* ---- plan ------------------------------------------------------------------------- */

void eval_plan_release(struct eval_plan *p)
{
    for (int i = 0; p->tasks && i < p->n_tasks; i++)
        task_data_release(&p->tasks[i]);
    free(p->tasks);
    free(p->shots);
    free(p->items);
    memset(p, 0, sizeof(*p));
}

bool eval_opts_sampled(const struct eval_opts *o)
{
    return o->n_samples > 1 || o->temperature > 0;
}

/* Completions per document of task t: n_samples for a sampled code task, else 1. */
static int copies_of(const struct eval_opts *o, const struct task_data *t)
{
    if (t->def.scoring != TASK_SCORING_CODE || !eval_opts_sampled(o))
        return 1;
    return o->n_samples > 1 ? o->n_samples : 1;
}

int eval_plan_load(struct eval_plan *p, const char *task_list, const struct eval_opts *o,
                   struct assay_error *err)
{
    memset(p, 0, sizeof(*p));
    p->opts = *o;
    if (p->opts.batch <= 0)
        p->opts.batch = EVAL_DEFAULT_BATCH;
    if (o->shots > MAX_SHOTS)
        return err_set(err, ASSAY_EUSAGE, "--shots %d: at most %d", o->shots, MAX_SHOTS);
    char **names = NULL;
    int n = 0;
    int rc = task_expand(task_list, &names, &n, err);
    if (rc)
        return rc;
    p->tasks = mem_calloc_array((size_t)n, sizeof(*p->tasks));
    p->shots = mem_calloc_array((size_t)n, sizeof(*p->shots));
    if (!p->tasks || !p->shots) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        struct task_def d;
        if ((rc = task_find(names[i], &d, err)) != 0)
            goto out;
        if ((rc = task_load(&p->tasks[i], &d, o->data_dir, err)) != 0)
            goto out;
        p->n_tasks = i + 1;
        p->shots[i] = task_effective_shots(&p->tasks[i], o->shots);
        int64_t m = p->tasks[i].eval.n;
        if (o->limit > 0 && o->limit < m)
            m = o->limit;
        total += m * copies_of(o, &p->tasks[i]);
    }
    p->items = mem_calloc_array((size_t)(total ? total : 1), sizeof(*p->items));
    if (!p->items) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < p->n_tasks; i++) {
        struct task_shots sh;
        task_shots_init(&sh, &p->tasks[i], p->shots[i], o->seed);
        int64_t m = p->tasks[i].eval.n;
        if (o->limit > 0 && o->limit < m)
            m = o->limit;
        int copies = copies_of(o, &p->tasks[i]);
        bool sampled = p->tasks[i].def.scoring == TASK_SCORING_CODE && eval_opts_sampled(o);
        for (int64_t d = 0; d < m; d++) {
            struct eval_item *it = &p->items[p->n_items++];
            it->task = i;
            it->doc = d;
            it->n_shots = p->shots[i];
            it->sample = sampled ? 0 : -1;
            if ((rc = task_shots_next(&sh, &p->tasks[i], it->shot_ids, err)) != 0)
                goto out;
            /* the other completions of the document, next to it so that a batch shares
             * the prompt's prefix */
            for (int j = 1; j < copies; j++) {
                struct eval_item *c = &p->items[p->n_items++];
                *c = *it;
                c->sample = j;
            }
        }
    }
out:
    task_names_free(names, n);
    if (rc)
        eval_plan_release(p);
    return rc;
}

int eval_plan_config(const struct eval_plan *p, json_t *cfg, struct assay_error *err)
{
    json_t *tasks = json_array(), *shots = json_object(), *fmts = json_object();
    if (!tasks || !shots || !fmts) {
        json_decref(tasks);
        json_decref(shots);
        json_decref(fmts);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (int i = 0; i < p->n_tasks; i++) {
        const char *name = p->tasks[i].def.name;
        json_array_append_new(tasks, json_string(name));
        json_object_set_new(shots, name, json_integer(p->shots[i]));
        json_object_set_new(fmts, name, json_string(p->tasks[i].fmt->id));
    }
    json_object_set_new(cfg, "tasks", tasks);
    json_object_set_new(cfg, "shots", shots);
    json_object_set_new(cfg, "formats", fmts);
    json_object_set_new(cfg, "limit", json_integer(p->opts.limit > 0 ? p->opts.limit : 0));
    json_object_set_new(cfg, "seed", json_integer((json_int_t)p->opts.seed));
    /* only when sampling, so that a greedy run keeps its configuration (and resumes) */
    bool code = false;
    for (int i = 0; i < p->n_tasks; i++)
        code = code || p->tasks[i].def.scoring == TASK_SCORING_CODE;
    if (code && eval_opts_sampled(&p->opts)) {
        json_t *sm =
            json_pack("{s:i, s:f, s:f}", "n", p->opts.n_samples > 1 ? p->opts.n_samples : 1,
                      "temperature", p->opts.temperature, "top_p", p->opts.top_p);
        if (!sm)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        json_object_set_new(cfg, "sampling", sm);
    }
    return 0;
}

int eval_item_context(const struct eval_plan *p, const struct eval_item *it, int choice,
                      struct buf *out, struct assay_error *err)
{
    const struct task_data *t = &p->tasks[it->task];
    return task_render_context(t, &t->eval.docs[it->doc], choice, it->shot_ids, it->n_shots, out,
                               err);
}

int eval_item_continuation(const struct eval_plan *p, const struct eval_item *it, int choice,
                           struct buf *out, struct assay_error *err)
{
    const struct task_data *t = &p->tasks[it->task];
    return task_render_continuation(t, &t->eval.docs[it->doc], choice, out, err);
}

/* ---- rescoring from stored rows ---------------------------------------------------- */

static int n_metrics(const struct task_def *t, char names[8][48])
{
    int n = 0;
    const char *s = t->metrics;
    while (*s && n < 8) {
        const char *e = strchr(s, ';');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len >= 48)
            len = 47;
        memcpy(names[n], s, len);
        names[n][len] = '\0';
        n++;
        s += len + (e ? 1 : 0);
    }
    return n;
}

int eval_rescore_sample(const struct task_def *t, const char *output, const char *target,
                        const char *data_json, const char *error, double vals[8],
                        struct assay_error *err)
{
    char names[8][48];
    int nm = n_metrics(t, names);
    for (int i = 0; i < 8; i++)
        vals[i] = 0;
    if (t->scoring == TASK_SCORING_GSM8K || t->scoring == TASK_SCORING_GSM8K_COT) {
        char gold[256], pred[256];
        snprintf(gold, sizeof(gold), "%s", target ? target : "");
        metric_gsm8k_normalize(gold);
        if (t->scoring == TASK_SCORING_GSM8K_COT)
            metric_gsm8k_cot_strict(output ? output : "", pred, sizeof(pred));
        else
            metric_gsm8k_strict(output ? output : "", pred, sizeof(pred));
        metric_gsm8k_normalize(pred);
        vals[0] = strcmp(pred, gold) == 0;
        metric_gsm8k_flexible(output ? output : "", pred, sizeof(pred));
        metric_gsm8k_normalize(pred);
        vals[1] = strcmp(pred, gold) == 0;
        return nm;
    }
    if (error && error[0])
        return nm; /* a failed item scores 0 */
    json_t *d = NULL;
    if (!data_json || jsn_load_buf(&d, data_json, strlen(data_json), "data_json", 0, err))
        return err_set(err, ASSAY_EINVAL, "task '%s': sample without readable data_json", t->name);
    int rc = nm;
    if (t->scoring == TASK_SCORING_CODE) {
        vals[0] = jsn_bool(d, "passed", 0) ? 1.0 : 0.0;
        goto out;
    }
    const json_t *ch = json_object_get(d, "choices");
    int n = json_is_array(ch) ? (int)json_array_size(ch) : 0;
    if (n <= 0 || n > 4096) {
        rc = err_set(err, ASSAY_EINVAL, "task '%s': sample without choices", t->name);
        goto out;
    }
    double ll[4096];
    int64_t nc[4096];
    int8_t lab[4096];
    for (int i = 0; i < n; i++) {
        const json_t *c = json_array_get(ch, (size_t)i);
        ll[i] = jsn_num(c, "ll", NAN);
        nc[i] = jsn_int(c, "n_chars", 1);
        lab[i] = (int8_t)jsn_int(c, "label", 0);
    }
    int gold = (int)jsn_int(d, "gold", -1);
    if (t->scoring == TASK_SCORING_MC2) {
        double v = metric_mc2(ll, lab, n);
        vals[0] = isnan(v) ? 0 : v;
        goto out;
    }
    for (int m = 0; m < nm; m++) {
        int pick = strcmp(names[m], "acc_norm") == 0 ? metric_argmax_norm(ll, nc, n)
                                                     : metric_argmax(ll, n);
        vals[m] = (gold >= 0 && pick == gold) ? 1.0 : 0.0;
    }
out:
    json_decref(d);
    return rc;
}

/* ---- running ---------------------------------------------------------------------- */

/* The stored item id of an item: the document id, or "<id>#<sample>" for a completion of
 * a sampled code task. */
static int item_key(const struct task_data *t, const struct eval_item *it, char *out, size_t cap,
                    struct assay_error *err)
{
    const char *id = t->eval.docs[it->doc].id;
    int n =
        it->sample < 0 ? snprintf(out, cap, "%s", id) : snprintf(out, cap, "%s#%d", id, it->sample);
    if (n < 0 || (size_t)n >= cap)
        return err_set(err, ASSAY_EINVAL, "task '%s': item id '%.40s...' too long", t->def.name,
                       id);
    return 0;
}

/* The generation seed of completion j of problem id: a mix of the run's seed, the
 * problem and j (FNV-1a, then splitmix64's finalizer), so that a completion does not
 * depend on its batch or on what a resumed run had already stored. */
static uint64_t sample_seed(uint64_t seed, const char *id, int j)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)id; *c; c++) {
        h ^= *c;
        h *= 1099511628211ull;
    }
    uint64_t x = seed ^ h ^ ((uint64_t)(j + 1) * 0x9e3779b97f4a7c15ull);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* Strings made for one batch, freed together. */
struct strpool {
    char **s;
    size_t n, cap;
};

static char *pool_take(struct strpool *sp, struct buf *b)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        char **ns = mem_realloc_array(sp->s, cap, sizeof(char *));
        if (!ns)
            return NULL;
        sp->s = ns;
        sp->cap = cap;
    }
    char *s = buf_detach(b, NULL);
    if (s)
        sp->s[sp->n++] = s;
    return s;
}

static int pool_add(struct strpool *sp, char *s)
{
    if (!s)
        return ASSAY_ENOMEM;
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        char **ns = mem_realloc_array(sp->s, cap, sizeof(char *));
        if (!ns) {
            free(s);
            return ASSAY_ENOMEM;
        }
        sp->s = ns;
        sp->cap = cap;
    }
    sp->s[sp->n++] = s;
    return 0;
}

static void pool_clear(struct strpool *sp)
{
    for (size_t i = 0; i < sp->n; i++)
        free(sp->s[i]);
    sp->n = 0;
}

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

static json_t *shots_json(const struct task_data *t, const struct eval_item *it)
{
    json_t *a = json_array();
    for (int i = 0; a && i < it->n_shots; i++)
        json_array_append_new(a, json_string(t->pool.docs[it->shot_ids[i]].id));
    return a;
}

static int fill_scores(const struct task_data *t, struct store_sample *smp, struct assay_error *err)
{
    double v[8];
    int rc =
        eval_rescore_sample(&t->def, smp->output, smp->target, smp->data_json, smp->error, v, err);
    if (rc < 0)
        return rc;
    smp->score = v[0];
    smp->correct = t->def.scoring == TASK_SCORING_MC2 ? -1 : (v[0] >= 0.5 ? 1 : 0);
    return 0;
}

static int run_mc_batch(const struct eval_plan *p, const struct task_data *t,
                        const struct eval_item *const *items, int n_items, struct backend *b,
                        struct store *s, int64_t run_id, struct strpool *sp,
                        struct assay_error *err)
{
    size_t n_req = 0;
    for (int i = 0; i < n_items; i++)
        n_req += (size_t)t->eval.docs[items[i]->doc].n_choices;
    struct bk_ll_req *reqs = mem_calloc_array(n_req ? n_req : 1, sizeof(*reqs));
    struct bk_ll_res *res = mem_calloc_array(n_req ? n_req : 1, sizeof(*res));
    struct store_sample *smp = mem_calloc_array((size_t)n_items, sizeof(*smp));
    struct buf b1;
    buf_init(&b1, 0);
    int rc = 0;
    if (!reqs || !res || !smp) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    size_t r = 0;
    for (int i = 0; i < n_items; i++) {
        const struct task_doc *d = &t->eval.docs[items[i]->doc];
        const char *ctx = NULL;
        for (int c = 0; c < d->n_choices; c++, r++) {
            if (c == 0 || t->fmt->layout == FMT_LAYOUT_PARTIAL) {
                buf_reset(&b1);
                if ((rc = eval_item_context(p, items[i], c, &b1, err)) != 0)
                    goto out;
                if (!(ctx = pool_take(sp, &b1))) {
                    rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                    goto out;
                }
            }
            buf_reset(&b1);
            if ((rc = eval_item_continuation(p, items[i], c, &b1, err)) != 0)
                goto out;
            const char *cont = pool_take(sp, &b1);
            if (!cont) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            reqs[r].context.text = ctx;
            reqs[r].context.len = strlen(ctx);
            reqs[r].continuation.text = cont;
            reqs[r].continuation.len = strlen(cont);
        }
    }
    if ((rc = backend_loglikelihood(b, reqs, n_req, res, NULL, err)) != 0)
        goto out;
    r = 0;
    for (int i = 0; i < n_items; i++) {
        const struct task_doc *d = &t->eval.docs[items[i]->doc];
        json_t *o = json_object(), *ch = json_array();
        json_object_set_new(o, "shots", shots_json(t, items[i]));
        json_object_set_new(o, "gold", json_integer(d->gold));
        int bad = 0;
        size_t r0 = r;
        double best = -INFINITY;
        int pick = -1;
        for (int c = 0; c < d->n_choices; c++, r++) {
            /* the continuation without the delimiter: what acc_norm divides by */
            const char *txt = reqs[r].continuation.text + strlen(t->fmt->target_delimiter);
            json_t *e = json_pack(
                "{s:f, s:i, s:I, s:I, s:b}", "ll", res[r].error ? 0.0 : res[r].logprob, "n_tokens",
                (int)res[r].n_tokens, "n_chars", (json_int_t)n_codepoints(txt), "n_bytes",
                (json_int_t)strlen(txt), "is_greedy", res[r].is_greedy);
            if (d->labels)
                json_object_set_new(e, "label", json_integer(d->labels[c]));
            if (res[r].error) {
                bad = res[r].error;
                json_object_set_new(e, "error", json_string(err_code_name(res[r].error)));
            }
            json_array_append_new(ch, e);
            if (!res[r].error && (pick < 0 || res[r].logprob > best)) {
                best = res[r].logprob;
                pick = c;
            }
        }
        json_object_set_new(o, "choices", ch);
        if (t->fmt->layout == FMT_LAYOUT_PARTIAL) {
            json_t *cx = json_array();
            for (int c = 0; c < d->n_choices; c++)
                json_array_append_new(cx, json_string(reqs[r0 + (size_t)c].context.text));
            json_object_set_new(o, "contexts", cx);
        }
        char *dj = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if ((rc = pool_add(sp, dj)) != 0) {
            err_set(err, rc, "out of memory");
            goto out;
        }
        struct store_sample *sm = &smp[i];
        sm->task = t->def.name;
        sm->item = d->id;
        sm->format_id = t->fmt->id;
        sm->prompt = reqs[r0].context.text;
        sm->target = d->gold >= 0 ? reqs[r0 + (size_t)d->gold].continuation.text : NULL;
        sm->output = pick >= 0 ? reqs[r0 + (size_t)pick].continuation.text : NULL;
        sm->data_json = dj;
        if (bad) {
            char msg[160];
            snprintf(msg, sizeof(msg), "a choice could not be scored: %s", err_code_name(bad));
            char *m = mem_strdup(msg);
            if ((rc = pool_add(sp, m)) != 0) {
                err_set(err, rc, "out of memory");
                goto out;
            }
            sm->error = m;
        }
        if ((rc = fill_scores(t, sm, err)) != 0)
            goto out;
    }
    rc = store_put_samples(s, run_id, smp, n_items, err);
out:
    buf_release(&b1);
    free(reqs);
    free(res);
    free(smp);
    return rc;
}

/* The program a code task runs, assembled by evals/codeexec.h from a view of the
 * document (HumanEval: prompt + completion + test + check(entry_point); MBPP: completion
 * + the asserts). *out is malloc'd. */
int eval_code_program(const struct task_data *t, const struct task_doc *d, const char *completion,
                      char **out, struct assay_error *err)
{
    struct buf tests;
    buf_init(&tests, 0);
    /* MBPP sanitized: its test_imports first, then the asserts */
    if (d->test_setup && (buf_add_str(&tests, d->test_setup) || buf_add_ch(&tests, '\n'))) {
        buf_release(&tests);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (int i = 0; i < d->n_tests; i++)
        if ((i && buf_add_ch(&tests, '\n')) || buf_add_str(&tests, d->tests[i])) {
            buf_release(&tests);
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        }
    bool he = t->def.loader == TASK_LOADER_HUMANEVAL;
    struct codeexec_problem cp = {.task_id = d->id,
                                  .prompt = d->question,
                                  .test = tests.data ? tests.data : "",
                                  .entry_point = he ? d->entry_point : NULL,
                                  .reference = d->answer};
    size_t len = 0;
    int rc =
        codeexec_program(out, &len, he ? CODEEXEC_HUMANEVAL : CODEEXEC_MBPP, &cp, completion, err);
    buf_release(&tests);
    return rc;
}

static int run_gen_batch(const struct eval_plan *p, const struct task_data *t,
                         const struct eval_item *const *items, int n_items, struct backend *b,
                         struct store *s, int64_t run_id, struct sandbox *sb, struct strpool *sp,
                         struct assay_error *err)
{
    struct bk_gen_req *reqs = mem_calloc_array((size_t)n_items, sizeof(*reqs));
    struct bk_gen_res *res = mem_calloc_array((size_t)n_items, sizeof(*res));
    struct store_sample *smp = mem_calloc_array((size_t)n_items, sizeof(*smp));
    struct sandbox_job *jobs = mem_calloc_array((size_t)n_items, sizeof(*jobs));
    struct sandbox_result *sres = mem_calloc_array((size_t)n_items, sizeof(*sres));
    struct buf b1;
    buf_init(&b1, 0);
    int rc = 0;
    bool have_res = false, have_sres = false;
    if (!reqs || !res || !smp || !jobs || !sres) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n_items; i++) {
        buf_reset(&b1);
        if ((rc = eval_item_context(p, items[i], 0, &b1, err)) != 0)
            goto out;
        const char *prompt = pool_take(sp, &b1);
        if (!prompt) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        reqs[i].prompt.text = prompt;
        reqs[i].prompt.len = strlen(prompt);
        reqs[i].until = t->def.until;
        reqs[i].n_until = t->def.n_until;
        reqs[i].max_tokens = t->def.max_gen_toks;
        reqs[i].sampling.temperature = 0;
        reqs[i].sampling.top_p = 1;
        reqs[i].seed = p->opts.seed;
        if (items[i]->sample >= 0) {
            reqs[i].sampling.temperature = (float)p->opts.temperature;
            reqs[i].sampling.top_p = (float)p->opts.top_p;
            reqs[i].seed =
                sample_seed(p->opts.seed, t->eval.docs[items[i]->doc].id, items[i]->sample);
        }
        reqs[i].stop_at_eos = true;
    }
    if ((rc = backend_generate(b, reqs, (size_t)n_items, res, NULL, err)) != 0)
        goto out;
    have_res = true;
    if (t->def.scoring == TASK_SCORING_CODE && sb) {
        for (int i = 0; i < n_items; i++) {
            const struct task_doc *d = &t->eval.docs[items[i]->doc];
            char *prog = NULL;
            if ((rc = eval_code_program(t, d, res[i].text ? res[i].text : "", &prog, err)) != 0)
                goto out;
            if ((rc = pool_add(sp, prog)) != 0) {
                err_set(err, rc, "out of memory");
                goto out;
            }
            jobs[i].program = prog;
            jobs[i].program_len = strlen(prog);
        }
        if ((rc = sandbox_run(sb, jobs, (size_t)n_items, sres, NULL, NULL, NULL, err)) != 0)
            goto out;
        have_sres = true;
    }
    for (int i = 0; i < n_items; i++) {
        const struct task_doc *d = &t->eval.docs[items[i]->doc];
        json_t *o = json_object();
        json_object_set_new(o, "shots", shots_json(t, items[i]));
        json_object_set_new(o, "finish", json_string(bk_finish_name(res[i].finish)));
        json_object_set_new(o, "n_tokens", json_integer(res[i].n_ids));
        if (items[i]->sample >= 0) {
            json_object_set_new(o, "problem", json_string(d->id));
            json_object_set_new(o, "sample", json_integer(items[i]->sample));
            char hex[24];
            snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)reqs[i].seed);
            json_object_set_new(o, "seed", json_string(hex));
        }
        const char *out_text = res[i].text ? res[i].text : "";
        struct store_sample *sm = &smp[i];
        if (t->def.scoring == TASK_SCORING_GSM8K || t->def.scoring == TASK_SCORING_GSM8K_COT) {
            char x[256];
            if (t->def.scoring == TASK_SCORING_GSM8K_COT)
                metric_gsm8k_cot_strict(out_text, x, sizeof(x));
            else
                metric_gsm8k_strict(out_text, x, sizeof(x));
            json_object_set_new(o, "strict", json_string(x));
            metric_gsm8k_flexible(out_text, x, sizeof(x));
            json_object_set_new(o, "flexible", json_string(x));
        }
        if (t->def.scoring == TASK_SCORING_CODE) {
            if (have_sres) {
                json_object_set_new(o, "passed", json_boolean(sres[i].outcome == SANDBOX_PASSED));
                json_object_set_new(o, "outcome",
                                    json_string(sandbox_outcome_name(sres[i].outcome)));
                json_object_set_new(o, "reason", json_string(sres[i].reason));
                json_object_set_new(o, "wall_s", json_real(sres[i].wall_s));
            } else {
                json_object_set_new(o, "passed", json_false());
                sm->error = "not executed: no sandbox available";
            }
        }
        char *dj = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        char *outp = mem_strdup(out_text);
        if ((rc = pool_add(sp, dj)) != 0 || (rc = pool_add(sp, outp)) != 0) {
            err_set(err, rc, "out of memory");
            goto out;
        }
        char key[192];
        if ((rc = item_key(t, items[i], key, sizeof(key), err)) != 0)
            goto out;
        char *keyp = mem_strdup(key);
        if ((rc = pool_add(sp, keyp)) != 0) {
            err_set(err, rc, "out of memory");
            goto out;
        }
        sm->task = t->def.name;
        sm->item = keyp;
        sm->format_id = t->fmt->id;
        sm->prompt = reqs[i].prompt.text;
        sm->target = d->answer;
        sm->output = outp;
        sm->data_json = dj;
        if (res[i].error) {
            sm->error = err_code_name(res[i].error);
        }
        if ((rc = fill_scores(t, sm, err)) != 0)
            goto out;
    }
    rc = store_put_samples(s, run_id, smp, n_items, err);
out:
    if (have_res)
        for (int i = 0; i < n_items; i++)
            bk_gen_res_release(&res[i]);
    if (have_sres)
        for (int i = 0; i < n_items; i++)
            sandbox_result_release(&sres[i]);
    buf_release(&b1);
    free(reqs);
    free(res);
    free(smp);
    free(jobs);
    free(sres);
    return rc;
}

int eval_plan_run(const struct eval_plan *p, struct backend *b, struct store *s, int64_t run_id,
                  struct sandbox *sb, const struct progress *prog, struct assay_error *err)
{
    int batch = p->opts.batch > 0 ? p->opts.batch : EVAL_DEFAULT_BATCH;
    const struct eval_item **todo =
        mem_calloc_array((size_t)(p->n_items ? p->n_items : 1), sizeof(*todo));
    if (!todo)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    struct strpool sp = {0};
    int rc = 0;
    int64_t done = 0;
    for (int ti = 0; ti < p->n_tasks && !rc; ti++) {
        const struct task_data *t = &p->tasks[ti];
        int n_todo = 0;
        for (int64_t i = 0; i < p->n_items; i++) {
            const struct eval_item *it = &p->items[i];
            if (it->task != ti)
                continue;
            bool found = false;
            char key[192];
            if ((rc = item_key(t, it, key, sizeof(key), err)) != 0)
                break;
            rc = store_has_sample(s, run_id, t->def.name, key, t->fmt->id, &found, err);
            if (rc)
                break;
            if (found)
                done++;
            else
                todo[n_todo++] = it;
        }
        progress_report(prog, done, p->n_items, t->def.name);
        for (int k = 0; !rc && k < n_todo; k += batch) {
            if (p->opts.stop && *p->opts.stop) {
                rc = err_set(err, ASSAY_EFAIL, "interrupted");
                break;
            }
            int n = n_todo - k < batch ? n_todo - k : batch;
            if (t->def.output == TASK_OUTPUT_LOGLIKELIHOOD)
                rc = run_mc_batch(p, t, todo + k, n, b, s, run_id, &sp, err);
            else
                rc = run_gen_batch(p, t, todo + k, n, b, s, run_id, sb, &sp, err);
            pool_clear(&sp);
            if (!rc) {
                done += n;
                progress_report(prog, done, p->n_items, t->def.name);
            }
        }
    }
    pool_clear(&sp);
    free(sp.s);
    free(todo);
    return rc;
}

/* ---- metrics ---------------------------------------------------------------------- */

struct walk {
    const struct task_def *t;
    int nm;
    struct metric_acc acc[8];
    struct metric_acc *group_acc[2]; /* micro accumulators of the task's groups (metric 0) */
    struct assay_error *err;
};

static int walk_fn(void *user, const struct store_sample_row *row)
{
    struct walk *w = user;
    double v[8];
    int rc = eval_rescore_sample(w->t, row->s.output, row->s.target, row->s.data_json, row->s.error,
                                 v, w->err);
    if (rc < 0)
        return rc;
    for (int m = 0; m < w->nm; m++)
        metric_acc_add(&w->acc[m], v[m]);
    for (int g = 0; g < 2; g++)
        if (w->group_acc[g])
            metric_acc_add(w->group_acc[g], v[0]);
    return 0;
}

/* Sampled code tasks: passing completions per problem, for pass@k. */
struct passk_walk {
    const struct task_data *t;
    int64_t m; /* documents in the plan */
    int64_t *n, *c;
    int64_t hint;
    struct assay_error *err;
};

static int passk_fn(void *user, const struct store_sample_row *row)
{
    struct passk_walk *w = user;
    double v[8];
    int rc = eval_rescore_sample(&w->t->def, row->s.output, row->s.target, row->s.data_json,
                                 row->s.error, v, w->err);
    if (rc < 0)
        return rc;
    const char *item = row->s.item ? row->s.item : "";
    const char *hash = strrchr(item, '#');
    size_t len = hash ? (size_t)(hash - item) : strlen(item);
    for (int64_t k = 0; k < w->m; k++) {
        int64_t d = (w->hint + k) % w->m;
        const char *id = w->t->eval.docs[d].id;
        if (strlen(id) == len && memcmp(id, item, len) == 0) {
            w->n[d]++;
            w->c[d] += v[0] >= 0.5;
            w->hint = d;
            return 0;
        }
    }
    return 0; /* a sample of a document outside this plan (another --limit): not counted */
}

/* pass@k of a sampled code task from its stored samples: the unbiased estimator per
 * problem (codeexec_pass_at_k), averaged over problems; a k above a problem's sample
 * count is not reported. */
static int passk_metrics(const struct eval_plan *p, const struct task_data *t, struct store *s,
                         int64_t run_id, struct assay_error *err)
{
    int64_t m = t->eval.n;
    if (p->opts.limit > 0 && p->opts.limit < m)
        m = p->opts.limit;
    if (m <= 0)
        return 0;
    struct passk_walk w = {.t = t, .m = m, .err = err};
    w.n = mem_calloc_array((size_t)m, sizeof(int64_t));
    w.c = mem_calloc_array((size_t)m, sizeof(int64_t));
    int rc = 0;
    if (!w.n || !w.c) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = store_each_sample(s, run_id, t->def.name, passk_fn, &w, err)) != 0)
        goto out;
    int ks[9] = {1};
    int nk = 1;
    for (int i = 0; i < p->opts.n_pass_k && i < 8; i++)
        if (p->opts.pass_k[i] != 1)
            ks[nk++] = p->opts.pass_k[i];
    for (int i = 0; i < nk; i++) {
        double mean, se;
        int64_t used;
        if (codeexec_pass_at_k_mean(w.n, w.c, (size_t)m, ks[i], &mean, &se, &used) != 0)
            continue;
        char name[32];
        snprintf(name, sizeof(name), "pass@%d", ks[i]);
        if ((rc = store_put_metric(s, run_id, t->def.name, name, mean, se, used, err)) != 0)
            goto out;
    }
out:
    free(w.n);
    free(w.c);
    return rc;
}

struct group_stat {
    const char *name;
    struct metric_acc micro;
    double sum_means, sum_se2;
    int n_tasks;
    bool se_nan;
    int64_t sub_n[64]; /* per subtask, for lm-eval's pooled stderr */
    double sub_se[64];
};

int eval_compute_metrics(const struct eval_plan *p, struct store *s, int64_t run_id,
                         struct assay_error *err)
{
    struct group_stat groups[8];
    int n_groups = 0;
    memset(groups, 0, sizeof(groups));
    for (int g = 0; task_group_names[g] && n_groups < 8; g++)
        groups[n_groups++].name = task_group_names[g];
    /* a group is reported only when every one of its subtasks ran (mmlu_stem alone
     * is not "mmlu") */
    int expected[8] = {0};
    for (int i = 0; i < task_count(); i++) {
        struct task_def d;
        task_at(i, &d);
        const char *gn[2] = {NULL, NULL};
        int ng = task_groups_of(&d, gn);
        for (int g = 0; g < ng; g++)
            for (int k = 0; k < n_groups; k++)
                if (gn[g] && strcmp(groups[k].name, gn[g]) == 0)
                    expected[k]++;
    }
    for (int ti = 0; ti < p->n_tasks; ti++) {
        const struct task_data *t = &p->tasks[ti];
        if (t->def.scoring == TASK_SCORING_CODE && eval_opts_sampled(&p->opts)) {
            int rc = passk_metrics(p, t, s, run_id, err);
            if (rc)
                return rc;
            continue;
        }
        char names[8][48];
        struct walk w;
        memset(&w, 0, sizeof(w));
        w.t = &t->def;
        w.nm = n_metrics(&t->def, names);
        w.err = err;
        const char *gn[2] = {NULL, NULL};
        int ng = task_groups_of(&t->def, gn);
        struct group_stat *gs[2] = {NULL, NULL};
        for (int g = 0; g < ng; g++)
            for (int k = 0; k < n_groups; k++)
                if (strcmp(groups[k].name, gn[g]) == 0) {
                    gs[g] = &groups[k];
                    w.group_acc[g] = &groups[k].micro;
                }
        int rc = store_each_sample(s, run_id, t->def.name, walk_fn, &w, err);
        if (rc)
            return rc;
        if (w.acc[0].n == 0)
            continue;
        for (int m = 0; m < w.nm; m++) {
            rc = store_put_metric(s, run_id, t->def.name, names[m], metric_acc_mean(&w.acc[m]),
                                  metric_acc_stderr(&w.acc[m]), w.acc[0].n, err);
            if (rc)
                return rc;
        }
        for (int g = 0; g < 2; g++) {
            if (!gs[g])
                continue;
            double se = metric_acc_stderr(&w.acc[0]);
            gs[g]->sum_means += metric_acc_mean(&w.acc[0]);
            if (isnan(se))
                gs[g]->se_nan = true;
            else
                gs[g]->sum_se2 += se * se;
            if (gs[g]->n_tasks < 64) {
                gs[g]->sub_n[gs[g]->n_tasks] = w.acc[0].n;
                gs[g]->sub_se[gs[g]->n_tasks] = se;
            }
            gs[g]->n_tasks++;
        }
    }
    for (int k = 0; k < n_groups; k++) {
        struct group_stat *g = &groups[k];
        if (g->n_tasks == 0 || g->n_tasks != expected[k])
            continue;
        int rc = store_put_metric(s, run_id, g->name, "acc", metric_acc_mean(&g->micro),
                                  metric_acc_stderr(&g->micro), g->micro.n, err);
        if (rc)
            return rc;
        double macro = g->sum_means / g->n_tasks;
        double se = g->se_nan ? NAN : sqrt(g->sum_se2) / g->n_tasks;
        rc = store_put_metric(s, run_id, g->name, "acc_macro", macro, se, g->micro.n, err);
        if (rc)
            return rc;
        /* the micro average again, with the stderr lm-eval prints for groups */
        double pooled =
            g->n_tasks <= 64 ? metric_pooled_stderr(g->sub_n, g->sub_se, g->n_tasks) : NAN;
        rc = store_put_metric(s, run_id, g->name, "acc_pooled", metric_acc_mean(&g->micro), pooled,
                              g->micro.n, err);
        if (rc)
            return rc;
    }
    return 0;
}
