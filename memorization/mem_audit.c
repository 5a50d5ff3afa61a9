/*
 * memorization/mem_audit.c - the audit: which documents (seeded sampling, offsets), the
 * batched greedy generation through the backend interface, the per-document rows in the
 * store, and the aggregates computed back from those rows. No tensors, no SQL: the
 * backend and store/store.h do that.
 */
#include "memorization/mem.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"
#include "engine/backend.h"
#include "safety/pii.h"
#include "safety/pii_rows.h"
#include "store/store.h"

void mem_params_default(struct mem_params *p)
{
    memset(p, 0, sizeof(*p));
    p->prefix = 50;
    p->suffix = 50;
    p->offset = 0;
    p->seed = 1234;
    p->n_docs = 0;
    p->approx_frac = 0.1;
    p->batch = 16;
}

/* ---- seeded randomness: splitmix64 (Steele et al. 2014), fixed across platforms ---------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias (rejection). */
static uint64_t rand_below(uint64_t *state, uint64_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t x = splitmix64(state);
        if (x < lim)
            return x % n;
    }
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ULL;
    return (h ^ 0xFF) * 0x100000001B3ULL;
}

/* ---- plan ----------------------------------------------------------------------------- */

void mem_plan_release(struct mem_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].window);
    free(p->items);
    memset(p, 0, sizeof(*p));
}

static int plan_push(struct mem_plan *p, const struct mem_item *it, struct assay_error *err)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        struct mem_item *v = mem_realloc_array(p->items, ncap, sizeof(*v));
        if (!v)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        p->items = v;
        p->cap = ncap;
    }
    p->items[p->n++] = *it;
    return 0;
}

/* The document's tokens (no BOS; a pre-tokenized document's leading BOS dropped). */
static int doc_tokens(const struct mem_corpus *c, const struct mem_doc *d, struct backend *b,
                      const struct backend_info *in, int32_t **ids, size_t *n,
                      struct assay_error *err)
{
    *ids = NULL;
    *n = 0;
    const char *path = c->files[d->file];
    if (d->ids) {
        size_t skip = in->bos_id >= 0 && d->n_ids > 0 && d->ids[0] == in->bos_id ? 1 : 0;
        for (size_t i = 0; i < d->n_ids; i++)
            if (d->ids[i] >= in->n_vocab)
                return err_set_at(err, ASSAY_EINVAL, path, d->line,
                                  "token id %d at index %zu is outside the vocabulary (%d ids)",
                                  d->ids[i], i, in->n_vocab);
        *ids = mem_alloc_array(d->n_ids - skip + 1, sizeof(int32_t));
        if (!*ids)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        memcpy(*ids, d->ids + skip, (d->n_ids - skip) * sizeof(int32_t));
        *n = d->n_ids - skip;
        return 0;
    }
    struct assay_error terr;
    err_clear(&terr);
    int rc = backend_tokenize(b, d->text, d->len, 0, ids, n, &terr);
    if (rc) {
        if (rc == ASSAY_ENOMEM)
            return err_set(err, rc, "out of memory");
        return err_set_at(err, rc, path, d->line, "document '%s' cannot be tokenized: %s", d->id,
                          terr.msg);
    }
    return 0;
}

int mem_plan_build(struct mem_plan *p, const struct mem_corpus *c, struct backend *b,
                   const struct mem_params *prm, const struct progress *prog,
                   struct assay_error *err)
{
    memset(p, 0, sizeof(*p));
    if (prm->prefix < 1 || prm->suffix < 1)
        return err_set(err, ASSAY_EUSAGE, "prefix and suffix must be at least 1 token");
    if (c->n == 0)
        return err_set_at(err, ASSAY_EINVAL, c->n_files ? c->files[0] : "", 0,
                          "empty corpus: no documents");
    struct backend_info in;
    backend_info(b, &in);
    int64_t need = (int64_t)prm->prefix + prm->suffix;
    int64_t ctx_need = need + (in.add_bos && in.bos_id >= 0 ? 1 : 0);
    if (in.n_ctx > 0 && ctx_need > in.n_ctx)
        return err_set(err, ASSAY_EUSAGE,
                       "prefix + suffix (%" PRId64 " tokens with BOS) exceed the context (%" PRId64
                       ")",
                       ctx_need, in.n_ctx);
    int64_t fixed = prm->offset == MEM_OFFSET_RANDOM ? 0 : prm->offset;
    size_t *order = mem_alloc_array(c->n, sizeof(size_t));
    if (!order)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++)
        order[i] = i;
    bool all = prm->n_docs <= 0 || (uint64_t)prm->n_docs >= c->n;
    if (!all) {
        uint64_t st = prm->seed;
        for (size_t i = c->n - 1; i > 0; i--) {
            size_t j = (size_t)rand_below(&st, (uint64_t)i + 1);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    int rc = 0;
    size_t want = all ? c->n : (size_t)prm->n_docs;
    for (size_t k = 0; k < c->n && p->n_audit < want; k++) {
        const struct mem_doc *d = &c->docs[order[k]];
        int32_t *ids = NULL;
        size_t n = 0;
        if ((rc = doc_tokens(c, d, b, &in, &ids, &n, err)))
            break;
        struct mem_item it = {.doc = order[k], .n_tokens = (int64_t)n, .start = fixed};
        if ((int64_t)n < fixed + need) {
            it.is_short = true;
            p->n_short++;
        } else {
            if (prm->offset == MEM_OFFSET_RANDOM) {
                /* per document, so that a document keeps its window whatever else is
                 * sampled */
                uint64_t st = fnv1a(fnv1a(prm->seed ^ 0xCBF29CE484222325ULL, d->source), d->id);
                it.start = (int64_t)rand_below(&st, (uint64_t)((int64_t)n - need + 1));
            }
            it.window = mem_alloc_array((size_t)need, sizeof(int32_t));
            if (!it.window) {
                free(ids);
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                break;
            }
            memcpy(it.window, ids + it.start, (size_t)need * sizeof(int32_t));
            p->n_audit++;
        }
        free(ids);
        if ((rc = plan_push(p, &it, err))) {
            free(it.window);
            break;
        }
        if ((k & 63) == 0)
            progress_report(prog, (int64_t)p->n_audit, (int64_t)want, "tokenize");
    }
    free(order);
    if (rc)
        mem_plan_release(p);
    return rc;
}

/* ---- run -------------------------------------------------------------------------------- */

#define MEM_SHORT_PER_BATCH 1024

static json_t *ids_json(const int32_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

/* The PII summary of one memorized output: {n_findings, sensitive, personal, types}. */
static json_t *pii_json(const struct pii_scanner *sc, const char *text, size_t len,
                        struct assay_error *err, int *rc_out)
{
    struct pii_findings f;
    pii_findings_init(&f, 0);
    *rc_out = pii_scan_text(sc, text, len, &f, NULL, err);
    if (*rc_out) {
        pii_findings_release(&f);
        return NULL;
    }
    int64_t sens = 0, pers = 0;
    json_t *types = json_object();
    for (size_t i = 0; i < f.n; i++) {
        if (f.v[i].severity == PII_SEVERITY_SENSITIVE)
            sens++;
        else
            pers++;
        const char *tn = pii_type_name(f.v[i].type);
        json_t *cur = json_object_get(types, tn);
        json_object_set_new(types, tn, json_integer(cur ? json_integer_value(cur) + 1 : 1));
    }
    json_t *o = json_pack("{s:I, s:I, s:I, s:o}", "n_findings", (json_int_t)f.n, "sensitive",
                          (json_int_t)sens, "personal", (json_int_t)pers, "types", types);
    pii_findings_release(&f);
    return o;
}

struct row_bufs {
    char *prompt, *target, *output, *data;
    char err_msg[256];
};

static void row_bufs_release(struct row_bufs *r)
{
    free(r->prompt);
    free(r->target);
    free(r->output);
    free(r->data);
    memset(r, 0, sizeof(*r));
}

static int detok(struct backend *b, const int32_t *ids, size_t n, char **out,
                 struct assay_error *err)
{
    size_t len = 0;
    return backend_detokenize(b, ids, n, out, &len, err);
}

/* Fill the sample row of an audited item from its generation result. */
static int fill_row(struct store_sample *smp, struct row_bufs *rb, const struct mem_item *it,
                    const struct bk_gen_res *res, struct backend *b, const struct mem_params *prm,
                    const struct pii_scanner *sc, struct assay_error *err)
{
    const int32_t *truth = it->window + prm->prefix;
    size_t n_true = (size_t)prm->suffix;
    int rc = detok(b, it->window, (size_t)prm->prefix, &rb->prompt, err);
    if (!rc)
        rc = detok(b, truth, n_true, &rb->target, err);
    if (rc)
        return rc;
    smp->prompt = rb->prompt;
    smp->target = rb->target;
    if (res->error || res->finish == BK_FINISH_ERROR) {
        snprintf(rb->err_msg, sizeof(rb->err_msg), "generation failed: %s",
                 err_code_name(res->error ? res->error : ASSAY_EFAIL));
        smp->error = rb->err_msg;
        smp->correct = -1;
        smp->score = 0;
        return 0;
    }
    rc = detok(b, res->ids, (size_t)res->n_ids, &rb->output, err);
    if (rc)
        return rc;
    struct mem_match m;
    mem_compare(&m, res->ids, (size_t)res->n_ids, truth, n_true, prm->approx_frac);
    json_t *d = json_pack(
        "{s:b, s:b, s:I, s:I, s:o, s:o, s:I, s:I}", "exact", m.exact, "approximate", m.approximate,
        "edit_distance", (json_int_t)m.edit_distance, "lcp", (json_int_t)m.lcp, "generated_ids",
        ids_json(res->ids, (size_t)res->n_ids), "true_ids", ids_json(truth, n_true), "start",
        (json_int_t)it->start, "n_tokens", (json_int_t)it->n_tokens);
    if (!d)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    if (sc && m.approximate) {
        json_t *pj = pii_json(sc, rb->output, strlen(rb->output), err, &rc);
        if (rc) {
            json_decref(d);
            return rc;
        }
        json_object_set_new(d, "pii", pj);
    }
    rb->data = jsn_dump_canonical(d);
    json_decref(d);
    if (!rb->data)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    smp->output = rb->output;
    smp->correct = m.exact ? 1 : 0;
    smp->score = m.score;
    smp->data_json = rb->data;
    return 0;
}

static int fill_short(struct store_sample *smp, struct row_bufs *rb, const struct mem_item *it,
                      const struct mem_params *prm, struct assay_error *err)
{
    int64_t fixed = prm->offset == MEM_OFFSET_RANDOM ? 0 : prm->offset;
    snprintf(rb->err_msg, sizeof(rb->err_msg),
             "skipped: %" PRId64 " tokens, fewer than offset + prefix + suffix (%" PRId64 ")",
             it->n_tokens, fixed + prm->prefix + prm->suffix);
    json_t *d = json_pack("{s:s, s:I}", "skipped", "short", "n_tokens", (json_int_t)it->n_tokens);
    rb->data = d ? jsn_dump_canonical(d) : NULL;
    json_decref(d);
    if (!rb->data)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    smp->data_json = rb->data;
    smp->error = rb->err_msg;
    smp->correct = -1;
    smp->score = 0;
    return 0;
}

int mem_audit_run(const struct mem_plan *p, const struct mem_corpus *c, struct backend *b,
                  const struct mem_params *prm, struct store *s, int64_t run_id,
                  const struct pii_scanner *sc, const volatile sig_atomic_t *stop,
                  const struct progress *prog, int64_t *n_done_out, struct assay_error *err)
{
    if (n_done_out)
        *n_done_out = 0;
    struct backend_info in;
    backend_info(b, &in);
    bool bos = in.add_bos && in.bos_id >= 0;
    size_t bmax = prm->batch > 0 ? (size_t)prm->batch : 1;
    /* a batch holds bmax audits (the backend's slots stay full) and the short documents met
     * on the way, at most MEM_SHORT_PER_BATCH of them */
    size_t rmax = bmax + MEM_SHORT_PER_BATCH;
    size_t plen = (size_t)prm->prefix + (bos ? 1 : 0);
    long *gen_of = mem_alloc_array(rmax, sizeof(long));
    struct bk_gen_req *reqs = mem_calloc_array(bmax, sizeof(*reqs));
    struct bk_gen_res *res = mem_calloc_array(bmax, sizeof(*res));
    int32_t *prompts = mem_alloc_array(bmax * plen, sizeof(int32_t));
    struct store_sample *rows = mem_calloc_array(rmax, sizeof(*rows));
    struct row_bufs *rb = mem_calloc_array(rmax, sizeof(*rb));
    size_t *row_item = mem_alloc_array(rmax, sizeof(size_t));
    int rc = 0;
    if (!gen_of || !reqs || !res || !prompts || !rows || !rb || !row_item) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    size_t next = 0;
    int64_t done = 0;
    while (next < p->n) {
        if (stop && *stop) {
            rc = err_set(err, ASSAY_EFAIL, "interrupted");
            goto out;
        }
        /* gather up to bmax audits not yet stored, in plan order; gen_of[r] is the row's
         * request, or -1 for a short document */
        size_t n_gen = 0, n_rows = 0;
        while (next < p->n && n_gen < bmax && n_rows < rmax) {
            const struct mem_item *it = &p->items[next];
            const struct mem_doc *d = &c->docs[it->doc];
            bool found = false;
            if ((rc = store_has_sample(s, run_id, d->source, d->id, NULL, &found, err)))
                goto out;
            if (!found) {
                row_item[n_rows] = next;
                gen_of[n_rows++] = it->is_short ? -1 : (long)n_gen;
                if (!it->is_short) {
                    int32_t *pr = prompts + n_gen * plen;
                    if (bos)
                        pr[0] = in.bos_id;
                    memcpy(pr + (bos ? 1 : 0), it->window, (size_t)prm->prefix * sizeof(int32_t));
                    struct bk_gen_req *r = &reqs[n_gen];
                    memset(r, 0, sizeof(*r));
                    r->prompt.ids = pr;
                    r->prompt.n_ids = plen;
                    r->max_tokens = prm->suffix;
                    r->sampling.temperature = 0;
                    r->sampling.top_p = 1;
                    r->seed = prm->seed;
                    r->stop_at_eos = false;
                    n_gen++;
                }
            }
            next++;
        }
        if (n_gen > 0 && (rc = backend_generate(b, reqs, n_gen, res, NULL, err)))
            goto out;
        for (size_t r = 0; r < n_rows && !rc; r++) {
            const struct mem_item *it = &p->items[row_item[r]];
            const struct mem_doc *d = &c->docs[it->doc];
            memset(&rows[r], 0, sizeof(rows[r]));
            rows[r].task = d->source;
            rows[r].item = d->id;
            if (gen_of[r] < 0)
                rc = fill_short(&rows[r], &rb[r], it, prm, err);
            else
                rc = fill_row(&rows[r], &rb[r], it, &res[gen_of[r]], b, prm, sc, err);
        }
        if (!rc && n_rows > 0)
            rc = store_put_samples(s, run_id, rows, (int64_t)n_rows, err);
        for (size_t r = 0; r < n_rows; r++)
            row_bufs_release(&rb[r]);
        for (size_t i = 0; i < n_gen; i++) {
            bk_gen_res_release(&res[i]);
            memset(&res[i], 0, sizeof(res[i]));
        }
        if (rc)
            goto out;
        done += (int64_t)n_gen;
        if (n_done_out)
            *n_done_out = done;
        progress_report(prog, (int64_t)next, (int64_t)p->n, "memorize");
    }
out:
    free(gen_of);
    free(reqs);
    free(res);
    free(prompts);
    free(rows);
    free(rb);
    free(row_item);
    return rc;
}

/* ---- aggregates --------------------------------------------------------------------- */

void mem_summary_release(struct mem_summary *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_src; i++)
        free(m->src[i].source);
    free(m->src);
    free(m->lcp_hist);
    memset(m, 0, sizeof(*m));
}

struct agg {
    struct mem_summary *sum;
    double *lcp_sum; /* per source */
    const struct pii_scanner *sc;
    struct pii_findings f;
    struct pii_rows rows;
    struct assay_error *err;
};

static struct mem_source_stats *source_of(struct agg *g, const char *name)
{
    struct mem_summary *m = g->sum;
    for (size_t i = 0; i < m->n_src; i++)
        if (strcmp(m->src[i].source, name) == 0)
            return &m->src[i];
    struct mem_source_stats *v = mem_realloc_array(m->src, m->n_src + 1, sizeof(*v));
    if (!v)
        return NULL;
    m->src = v;
    double *l = mem_realloc_array(g->lcp_sum, m->n_src + 1, sizeof(double));
    if (!l)
        return NULL;
    g->lcp_sum = l;
    memset(&v[m->n_src], 0, sizeof(v[0]));
    l[m->n_src] = 0;
    if (!(v[m->n_src].source = mem_strdup(name)))
        return NULL;
    return &v[m->n_src++];
}

static int on_row(void *user, const struct store_sample_row *row)
{
    struct agg *g = user;
    struct mem_summary *m = g->sum;
    struct mem_source_stats *all = source_of(g, "all");
    struct mem_source_stats *one = all ? source_of(g, row->s.task ? row->s.task : "?") : NULL;
    if (!one)
        return err_set(g->err, ASSAY_ENOMEM, "out of memory");
    size_t oi = (size_t)(one - m->src);
    json_t *d = NULL;
    if (row->s.data_json) {
        json_error_t je;
        d = json_loads(row->s.data_json, 0, &je);
    }
    struct mem_source_stats *both[2] = {&m->src[0], &m->src[oi]};
    if (!d || json_object_get(d, "skipped") || row->s.error) {
        bool is_short = d && json_object_get(d, "skipped");
        for (int k = 0; k < 2; k++) {
            if (is_short)
                both[k]->n_short++;
            else
                both[k]->n_failed++;
        }
        json_decref(d);
        return 0;
    }
    bool exact = json_is_true(json_object_get(d, "exact"));
    bool approx = json_is_true(json_object_get(d, "approximate"));
    int64_t lcp = json_integer_value(json_object_get(d, "lcp"));
    json_decref(d);
    for (int k = 0; k < 2; k++) {
        both[k]->n++;
        both[k]->n_exact += exact;
        both[k]->n_approx += approx;
    }
    g->lcp_sum[0] += (double)lcp;
    g->lcp_sum[oi] += (double)lcp;
    if (lcp >= 0 && lcp < m->n_lcp_hist)
        m->lcp_hist[lcp]++;
    if (!approx || !g->sc || !row->s.output)
        return 0;
    m->n_memorized++;
    g->f.n = 0;
    const char *text = row->s.output;
    int rc = pii_scan_text(g->sc, text, strlen(text), &g->f, NULL, g->err);
    if (rc)
        return rc;
    bool sens = false, pers = false;
    bool seen[64] = {false};
    for (size_t i = 0; i < g->f.n; i++) {
        const struct pii_finding *x = &g->f.v[i];
        if (x->severity == PII_SEVERITY_SENSITIVE)
            sens = true;
        else
            pers = true;
        if (x->type < 64 && !seen[x->type]) {
            seen[x->type] = true;
            m->pii_by_type[x->type]++;
        }
        rc = pii_rows_add(&g->rows, x, row->id, "output", (int64_t)x->start, (int64_t)x->end,
                          g->err);
        if (rc)
            return rc;
        m->n_findings++;
    }
    for (int k = 0; k < 2; k++) {
        both[k]->n_pii_sensitive += sens;
        both[k]->n_pii_personal += pers;
    }
    return 0;
}

static int cmp_src(const void *a, const void *b)
{
    const struct mem_source_stats *x = a, *y = b;
    return strcmp(x->source, y->source);
}

static int put(struct store *s, int64_t run, const char *task, const char *name, double v,
               double se, int64_t n, struct assay_error *err)
{
    return store_put_metric(s, run, task, name, v, se, n, err);
}

static double rate_se(int64_t k, int64_t n)
{
    if (n < 1)
        return NAN;
    double p = (double)k / (double)n;
    return sqrt(p * (1 - p) / (double)n);
}

int mem_compute_metrics(struct mem_summary *out, struct store *s, int64_t run_id, int32_t suffix,
                        const struct pii_scanner *sc, struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    struct agg g;
    memset(&g, 0, sizeof(g));
    g.sum = out;
    g.sc = sc;
    g.err = err;
    pii_findings_init(&g.f, 0);
    int rc = 0;
    out->n_lcp_hist = (int64_t)suffix + 1;
    out->lcp_hist = mem_calloc_array((size_t)out->n_lcp_hist, sizeof(int64_t));
    if (!out->lcp_hist || !source_of(&g, "all")) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = store_each_sample(s, run_id, NULL, on_row, &g, err)))
        goto out;
    for (size_t i = 0; i < out->n_src; i++) {
        struct mem_source_stats *x = &out->src[i];
        mem_wilson(x->n_exact, x->n, &x->exact_lo, &x->exact_hi);
        mem_wilson(x->n_approx, x->n, &x->approx_lo, &x->approx_hi);
        x->lcp_mean = x->n ? g.lcp_sum[i] / (double)x->n : NAN;
    }
    if (out->n_src > 2)
        qsort(out->src + 1, out->n_src - 1, sizeof(out->src[0]), cmp_src);
    for (size_t i = 0; i < out->n_src && !rc; i++) {
        const struct mem_source_stats *x = &out->src[i];
        const char *t = x->source;
        double n = (double)x->n;
        int64_t mem = x->n_approx;
        if ((rc = put(s, run_id, t, "n_audited", n, NAN, x->n, err)) ||
            (rc = put(s, run_id, t, "n_skipped_short", (double)x->n_short, NAN, x->n_short, err)) ||
            (rc = put(s, run_id, t, "n_failed", (double)x->n_failed, NAN, x->n_failed, err)))
            break;
        if (x->n == 0)
            continue;
        if ((rc = put(s, run_id, t, "exact_rate", (double)x->n_exact / n, rate_se(x->n_exact, x->n),
                      x->n, err)) ||
            (rc = put(s, run_id, t, "exact_rate_ci_lo", x->exact_lo, NAN, x->n, err)) ||
            (rc = put(s, run_id, t, "exact_rate_ci_hi", x->exact_hi, NAN, x->n, err)) ||
            (rc = put(s, run_id, t, "approx_rate", (double)x->n_approx / n,
                      rate_se(x->n_approx, x->n), x->n, err)) ||
            (rc = put(s, run_id, t, "approx_rate_ci_lo", x->approx_lo, NAN, x->n, err)) ||
            (rc = put(s, run_id, t, "approx_rate_ci_hi", x->approx_hi, NAN, x->n, err)) ||
            (rc = put(s, run_id, t, "lcp_mean", x->lcp_mean, NAN, x->n, err)))
            break;
        if (sc && ((rc = put(s, run_id, t, "pii_memorized_sensitive", (double)x->n_pii_sensitive,
                             NAN, mem, err)) ||
                   (rc = put(s, run_id, t, "pii_memorized_personal", (double)x->n_pii_personal, NAN,
                             mem, err))))
            break;
    }
    if (rc)
        goto out;
    /* the distribution of the longest common prefix and the PII types: whole run only */
    for (int64_t k = 0; k < out->n_lcp_hist && !rc; k++) {
        char name[32];
        snprintf(name, sizeof(name), "lcp_hist/%03" PRId64, k);
        rc = put(s, run_id, "all", name, (double)out->lcp_hist[k], NAN, out->src[0].n, err);
    }
    if (sc) {
        for (int t = 0; t < PII_TYPE_COUNT && t < 64 && !rc; t++) {
            if (!out->pii_by_type[t])
                continue;
            char name[64];
            snprintf(name, sizeof(name), "pii_type/%s", pii_type_name(t));
            rc = put(s, run_id, "all", name, (double)out->pii_by_type[t], NAN, out->n_memorized,
                     err);
        }
        if (!rc)
            rc = store_delete_pii_findings(s, run_id, err);
        if (!rc && g.rows.n > 0)
            rc = store_put_pii_findings(s, run_id, g.rows.v, g.rows.n, err);
    }
out:
    pii_findings_release(&g.f);
    pii_rows_release(&g.rows);
    free(g.lcp_sum);
    if (rc)
        mem_summary_release(out);
    return rc;
}
