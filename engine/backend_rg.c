/*
 * engine/backend_rg.c - RecurrentGemma behind the backend interface; see backend_rg.h.
 *
 * This file turns requests into token spans for rg_forward and logits into answers; the
 * numbers are rgemma.c's, the sampler sample.c's, the tokenizer tok_spm.c's, the weights
 * safetensors.c's. The lm-eval tokenization rules (encode_pair, rolling windows, stop
 * strings) are the same as backend_local.c's, restated here for a model that keeps a
 * recurrent state instead of a KV cache.
 */
#include "engine/backend_rg.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "engine/backend_req.h"
#include "engine/ckpt.h"
#include "engine/quant.h"
#include "engine/rgemma.h"
#include "engine/safetensors.h"
#include "engine/sample.h"
#include "engine/tok.h"

#define RG_CONFIG_MAX_BYTES (1u << 20)

struct rgb {
    struct backend base; /* first */
    struct st_set *st;
    struct rg_model *m;
    struct rg_ctx *c;
    struct rg_state *cur;  /* the sequence being computed */
    struct rg_state *snap; /* the prefix cache: a saved state after snap_ids */
    int32_t *snap_ids;
    int32_t n_snap;
    struct tok *tok;
    struct smp smp;
    struct backend_local_params p;
    struct backend_info info;
    int32_t n_vocab;
    void **copies; /* aligned copies of unaligned tensors */
    size_t n_copies;
    struct backend_local_stats stats;
};

static struct rgb *as_rgb(struct backend *b)
{
    return (struct rgb *)b;
}

/* ---- the tensor source: safetensors, with aligned copies where needed ---------------- */

static int src_get(void *user, const char *name, struct rg_tensor *out, struct assay_error *err)
{
    struct rgb *R = user;
    const struct st_tensor *t = st_set_find(R->st, name);
    if (!t) {
        const struct st_file *f0 = st_set_n_files(R->st) ? st_set_file(R->st, 0) : NULL;
        return err_set_at(err, ASSAY_ENOTFOUND, f0 ? st_path(f0) : "", 0, "tensor '%s' is missing",
                          name);
    }
    memset(out, 0, sizeof(*out));
    out->file = t->path;
    switch (t->dtype) {
    case ST_F32:
        out->type = QUANT_TYPE_F32;
        break;
    case ST_F16:
        out->type = QUANT_TYPE_F16;
        break;
    case ST_BF16:
        out->type = QUANT_TYPE_BF16;
        break;
    default:
        return err_set_at(err, ASSAY_EUNSUPPORTED, t->path, 0,
                          "tensor '%s': dtype %s is not F32, F16 or BF16", name,
                          st_dtype_name(t->dtype));
    }
    if (t->n_dims > 4)
        return err_set_at(err, ASSAY_EINVAL, t->path, 0, "tensor '%s' has %d dims", name,
                          t->n_dims);
    out->n_dims = t->n_dims;
    for (int i = 0; i < t->n_dims; i++)
        out->shape[i] = t->shape[i];
    out->data = t->data;
    if (!t->aligned && t->n_bytes > 0) {
        void **cp = mem_realloc_array(R->copies, R->n_copies + 1, sizeof(*cp));
        if (!cp)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        R->copies = cp;
        void *d = mem_alloc_aligned(64, t->n_bytes);
        if (!d)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        memcpy(d, t->data, t->n_bytes);
        R->copies[R->n_copies++] = d;
        out->data = d;
    }
    return 0;
}

/* ---- feeding a span of tokens ------------------------------------------------------------ */

typedef int (*logits_fn)(void *user, int32_t pos, const float *logits);

/* Feed ids[from:to] to state st (which holds exactly `from` tokens), calling fn for every
 * position >= want_from in order. */
static int feed(struct rgb *R, struct rg_state *st, const int32_t *ids, int32_t from, int32_t to,
                int32_t want_from, logits_fn fn, void *user, struct assay_error *err)
{
    int32_t nb = R->p.n_batch;
    for (int32_t a = from; a < to; a += nb) {
        int32_t n = to - a < nb ? to - a : nb;
        int32_t wf = want_from > a ? want_from - a : 0;
        int rc = rg_forward(R->c, st, ids + a, n, wf, err);
        if (rc)
            return rc;
        R->stats.n_eval_tokens += n;
        R->stats.n_forward++;
        for (int32_t i = wf; i < n && fn; i++) {
            rc = fn(user, a + i, rg_logits(R->c, i - wf));
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- loglikelihood --------------------------------------------------------------------- */

struct ll_item {
    size_t req;
    int32_t *full; /* [BOS] ctx cont, owned */
    int32_t n_full;
    int32_t n_cont;
    int32_t *input; /* view: full[:-1], left-truncated */
    int32_t n_input;
    int32_t first_scored;
};

static int cmp_ll_items(const void *a, const void *b)
{
    const struct ll_item *x = a, *y = b;
    int32_t n = x->n_input < y->n_input ? x->n_input : y->n_input;
    for (int32_t i = 0; i < n; i++)
        if (x->input[i] != y->input[i])
            return x->input[i] < y->input[i] ? -1 : 1;
    if (x->n_input != y->n_input)
        return x->n_input < y->n_input ? -1 : 1;
    return x->req < y->req ? -1 : (x->req > y->req);
}

struct ll_group {
    struct rgb *R;
    struct ll_item *items;
    size_t n_items;
    struct bk_ll_res *res;
    double *per_token;
};

static int ll_on_logits(void *user, int32_t pos, const float *logits)
{
    struct ll_group *g = user;
    int32_t n_vocab = g->R->n_vocab;
    int32_t argmax = -1;
    double lse = NAN;
    for (size_t k = 0; k < g->n_items; k++) {
        struct ll_item *it = &g->items[k];
        if (pos < it->first_scored)
            continue;
        int32_t target = it->full[pos + 1 + (it->n_full - 1 - it->n_input)];
        if (argmax < 0) {
            argmax = smp_argmax(logits, n_vocab);
            double max = logits[argmax], sum = 0;
            for (int32_t v = 0; v < n_vocab; v++)
                sum += exp((double)logits[v] - max);
            lse = max + log(sum);
        }
        struct bk_ll_res *r = &g->res[it->req];
        double lp = (double)logits[target] - lse;
        r->logprob += lp;
        if (g->per_token)
            g->per_token[pos - it->first_scored] = lp;
        if (target != argmax)
            r->is_greedy = false;
    }
    return 0;
}

/* Evaluate a group of identical inputs. next / n_next: the input computed after this one
 * (NULL: none), whose shared prefix is worth saving. */
static int ll_run_group(struct rgb *R, struct ll_group *g, const int32_t *next, int32_t n_next,
                        struct assay_error *err)
{
    const struct ll_item *first = &g->items[0];
    const int32_t *in = first->input;
    int32_t n_in = first->n_input;
    int32_t want_from = first->first_scored;
    for (size_t k = 1; k < g->n_items; k++)
        if (g->items[k].first_scored < want_from)
            want_from = g->items[k].first_scored;
    int32_t start = 0;
    if (!R->p.no_prefix_cache && R->n_snap > 0 && R->n_snap <= want_from &&
        bk_common_prefix(R->snap_ids, R->n_snap, in, n_in) == R->n_snap) {
        rg_state_copy(R->cur, R->snap);
        start = R->n_snap;
        R->stats.n_reused_tokens += start;
    } else {
        rg_state_reset(R->cur);
    }
    int rc = 0;
    if (!R->p.no_prefix_cache) {
        /* save the state where this input stops sharing with the next one */
        int32_t save_at = next ? bk_common_prefix(in, n_in, next, n_next) : want_from;
        if (save_at > want_from)
            save_at = want_from;
        if (save_at > start) {
            rc = feed(R, R->cur, in, start, save_at, INT32_MAX, NULL, NULL, err);
            if (rc)
                goto fail;
            rg_state_copy(R->snap, R->cur);
            memcpy(R->snap_ids, in, (size_t)save_at * sizeof(int32_t));
            R->n_snap = save_at;
            start = save_at;
        }
    }
    rc = feed(R, R->cur, in, start, n_in, want_from, ll_on_logits, g, err);
    if (rc)
        goto fail;
    return 0;
fail:
    R->n_snap = 0;
    return rc;
}

static int rg_loglikelihood(struct backend *b, const struct bk_ll_req *reqs, size_t n,
                            struct bk_ll_res *res, const struct progress *prog,
                            struct assay_error *err)
{
    struct rgb *R = as_rgb(b);
    int32_t n_ctx = R->p.n_ctx;
    struct ll_item *items = mem_calloc_array(n ? n : 1, sizeof(*items));
    if (!items)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    size_t n_items = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        res[i] = (struct bk_ll_res){.logprob = 0, .is_greedy = true};
        int32_t *full = NULL;
        size_t n_full = 0, n_cont = 0;
        struct assay_error rerr;
        err_clear(&rerr);
        int r = bk_encode_pair(R->tok, &reqs[i], &full, &n_full, &n_cont, &rerr);
        if (r == ASSAY_ENOMEM) {
            rc = err_set(err, r, "%s", rerr.msg);
            goto out;
        }
        if (r) {
            res[i].error = r;
            continue;
        }
        bool bad_id = false;
        for (size_t k = 0; k < n_full; k++)
            bad_id |= full[k] < 0 || full[k] >= R->n_vocab;
        if (bad_id) {
            free(full);
            res[i].error = ASSAY_EINVAL;
            res[i].is_greedy = false;
            continue;
        }
        if (n_cont == 0 || n_full < 2) {
            free(full);
            continue;
        }
        if (n_cont > (size_t)n_ctx || n_full > INT32_MAX) {
            free(full);
            res[i].error = ASSAY_ELIMIT;
            res[i].is_greedy = false;
            continue;
        }
        struct ll_item *it = &items[n_items++];
        it->req = i;
        it->full = full;
        it->n_full = (int32_t)n_full;
        it->n_cont = (int32_t)n_cont;
        int32_t n_in = it->n_full - 1;
        int32_t drop = n_in > n_ctx ? n_in - n_ctx : 0;
        it->input = full + drop;
        it->n_input = n_in - drop;
        it->first_scored = it->n_input - it->n_cont;
        res[i].n_tokens = it->n_cont;
    }
    qsort(items, n_items, sizeof(*items), cmp_ll_items);
    size_t done = 0;
    for (size_t s = 0; s < n_items;) {
        size_t e = s + 1;
        while (e < n_items && items[e].n_input == items[s].n_input &&
               memcmp(items[e].input, items[s].input, (size_t)items[s].n_input * sizeof(int32_t)) ==
                   0)
            e++;
        struct ll_group g = {.R = R, .items = &items[s], .n_items = e - s, .res = res};
        rc = ll_run_group(R, &g, e < n_items ? items[e].input : NULL,
                          e < n_items ? items[e].n_input : 0, err);
        if (rc)
            goto out;
        done += e - s;
        progress_report(prog, (int64_t)done, (int64_t)n_items, "loglikelihood");
        s = e;
    }
out:
    for (size_t i = 0; i < n_items; i++)
        free(items[i].full);
    free(items);
    return rc;
}

/* ---- rolling loglikelihood ---------------------------------------------------------------- */

static int rg_rolling(struct backend *b, const struct bk_rolling_req *reqs, size_t n,
                      struct bk_rolling_res *res, const struct progress *prog,
                      struct assay_error *err)
{
    struct rgb *R = as_rgb(b);
    size_t max_len = (size_t)R->p.n_ctx;
    int32_t bos = tok_bos_id(R->tok);
    for (size_t i = 0; i < n; i++)
        memset(&res[i], 0, sizeof(res[i]));
    int rc = 0;
    int32_t *v = mem_alloc_array(max_len + 1, sizeof(int32_t));
    if (!v)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t *toks = NULL;
        size_t nt = 0;
        int req_error = 0;
        rc = bk_input_ids(R->tok, &reqs[i].text, R->n_vocab, false, &toks, &nt, &req_error, err);
        if (rc)
            break;
        if (req_error) {
            res[i].error = req_error;
            continue;
        }
        size_t first_pred = bos >= 0 ? 0 : 1;
        size_t n_scored = nt > first_pred ? nt - first_pred : 0;
        res[i].token_logprobs = mem_alloc_array(n_scored ? n_scored : 1, sizeof(double));
        if (!res[i].token_logprobs) {
            free(toks);
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            break;
        }
        res[i].n_tokens = (int32_t)n_scored;
        size_t predicted = first_pred;
        while (predicted < nt && !rc) {
            size_t n_pred;
            size_t nv = bk_rolling_window(toks, nt, bos, max_len, predicted, v, &n_pred);
            if (n_pred > 0) {
                struct ll_item it = {.req = 0,
                                     .full = v,
                                     .n_full = (int32_t)nv,
                                     .n_cont = (int32_t)n_pred,
                                     .input = v,
                                     .n_input = (int32_t)nv - 1};
                it.first_scored = it.n_input - it.n_cont;
                struct bk_ll_res one = {.logprob = 0, .is_greedy = true};
                struct ll_group g = {.R = R,
                                     .items = &it,
                                     .n_items = 1,
                                     .res = &one,
                                     .per_token = res[i].token_logprobs + (predicted - first_pred)};
                rc = ll_run_group(R, &g, NULL, 0, err);
                if (!rc)
                    res[i].logprob += one.logprob;
            }
            predicted += n_pred ? n_pred : 1;
        }
        free(toks);
        progress_report(prog, (int64_t)i + 1, (int64_t)n, "rolling loglikelihood");
    }
    free(v);
    return rc;
}

/* ---- generation -------------------------------------------------------------------------- */

struct gen {
    struct rgb *R;
    const struct bk_gen_req *r;
    int32_t *ids; /* prompt + generated, capacity n_ctx */
    int32_t n_prompt, n_ids;
    struct smp_rng rng;
    struct tok_stream ts;
    struct buf text;
    size_t max_stop, emitted;
    int32_t next;
};

static void gen_emit(struct gen *s, bool final)
{
    if (!s->r->on_text)
        return;
    size_t hold = final || s->max_stop == 0 ? 0 : s->max_stop - 1;
    size_t upto = s->text.len > hold ? s->text.len - hold : 0;
    if (upto > s->emitted) {
        s->r->on_text(s->r->on_text_user, s->text.data + s->emitted, upto - s->emitted);
        s->emitted = upto;
    }
}

static int gen_finish(struct rgb *R, struct gen *s, struct bk_gen_res *out, int finish,
                      struct assay_error *err)
{
    int rc = finish == BK_FINISH_STOP ? 0 : tok_stream_finish(R->tok, &s->ts, &s->text, err);
    if (rc)
        return rc;
    gen_emit(s, true);
    out->finish = finish;
    int32_t n_gen = s->n_ids - s->n_prompt;
    out->ids = mem_alloc_array(n_gen > 0 ? (size_t)n_gen : 1, sizeof(int32_t));
    if (!out->ids)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    if (n_gen > 0)
        memcpy(out->ids, s->ids + s->n_prompt, (size_t)n_gen * sizeof(int32_t));
    out->n_ids = n_gen;
    out->text = buf_detach(&s->text, &out->len);
    if (!out->text)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

static int gen_push(struct rgb *R, struct gen *s, int32_t id, struct bk_gen_res *out,
                    bool *finished, struct assay_error *err)
{
    const struct bk_gen_req *r = s->r;
    *finished = false;
    s->ids[s->n_ids++] = id;
    if (r->stop_at_eos && id == tok_eos_id(R->tok)) {
        *finished = true;
        return gen_finish(R, s, out, BK_FINISH_EOS, err);
    }
    size_t old_len = s->text.len;
    int rc = tok_stream_push(R->tok, &s->ts, id, &s->text, err);
    if (rc)
        return rc;
    if (r->n_until > 0 && s->text.len > old_len) {
        size_t from = old_len > s->max_stop ? old_len - s->max_stop + 1 : 0;
        long at = bk_find_stop(r, s->text.data, s->text.len, from);
        if (at >= 0) {
            buf_truncate(&s->text, (size_t)at);
            *finished = true;
            return gen_finish(R, s, out, BK_FINISH_STOP, err);
        }
    }
    gen_emit(s, false);
    if (s->n_ids - s->n_prompt >= r->max_tokens || s->n_ids >= R->p.n_ctx) {
        *finished = true;
        return gen_finish(R, s, out, BK_FINISH_LENGTH, err);
    }
    return 0;
}

static int gen_on_logits(void *user, int32_t pos, const float *logits)
{
    struct gen *s = user;
    (void)pos;
    s->next = smp_sample(&s->R->smp, logits, &s->r->sampling, &s->rng);
    return 0;
}

static int gen_one(struct rgb *R, const struct bk_gen_req *r, struct gen *s, struct bk_gen_res *out,
                   struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    int32_t *p = NULL;
    size_t np = 0;
    bool done = false;
    int rc = bk_gen_prompt(R->tok, r, R->p.n_ctx, R->n_vocab, &p, &np, out, &done, err);
    if (rc || done)
        return rc;
    s->R = R;
    s->r = r;
    s->n_prompt = (int32_t)np;
    memcpy(s->ids, p, np * sizeof(int32_t));
    free(p);
    s->n_ids = s->n_prompt;
    smp_rng_seed(&s->rng, r->seed);
    tok_stream_init(&s->ts, 0);
    buf_reset(&s->text);
    s->emitted = 0;
    s->max_stop = 0;
    for (int k = 0; k < r->n_until; k++)
        if (r->until[k] && strlen(r->until[k]) > s->max_stop)
            s->max_stop = strlen(r->until[k]);
    /* the prefix cache state is about to be overwritten in cur, not in snap */
    rg_state_reset(R->cur);
    rc = feed(R, R->cur, s->ids, 0, s->n_prompt, s->n_prompt - 1, gen_on_logits, s, err);
    bool fin = false;
    while (!rc) {
        rc = gen_push(R, s, s->next, out, &fin, err);
        if (rc || fin)
            break;
        rc = feed(R, R->cur, s->ids, s->n_ids - 1, s->n_ids, s->n_ids - 1, gen_on_logits, s, err);
    }
    return rc;
}

static int rg_generate(struct backend *b, const struct bk_gen_req *reqs, size_t n,
                       struct bk_gen_res *res, const struct progress *prog, struct assay_error *err)
{
    struct rgb *R = as_rgb(b);
    struct gen s;
    memset(&s, 0, sizeof(s));
    buf_init(&s.text, 0);
    s.ids = mem_alloc_array((size_t)R->p.n_ctx, sizeof(int32_t));
    if (!s.ids)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        memset(&res[i], 0, sizeof(res[i]));
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = gen_one(R, &reqs[i], &s, &res[i], err);
        progress_report(prog, (int64_t)i + 1, (int64_t)n, "generate");
    }
    free(s.ids);
    buf_release(&s.text);
    return rc;
}

/* ---- tokenize, info, free ---------------------------------------------------------------- */

static int rg_tokenize(struct backend *b, const char *text, size_t len, unsigned flags,
                       int32_t **ids_out, size_t *n_out, struct assay_error *err)
{
    struct rgb *R = as_rgb(b);
    unsigned tf = 0;
    if ((flags & BK_TOK_ADD_BOS) && tok_bos_id(R->tok) >= 0)
        tf |= TOK_ENCODE_BOS;
    if (flags & BK_TOK_SPECIAL)
        tf |= TOK_ENCODE_SPECIAL;
    return tok_encode(R->tok, text, len, tf, ids_out, n_out, err);
}

static int rg_detokenize(struct backend *b, const int32_t *ids, size_t n, char **text_out,
                         size_t *len_out, struct assay_error *err)
{
    struct rgb *R = as_rgb(b);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= (int32_t)tok_n_vocab(R->tok))
            return err_set(err, ASSAY_EINVAL, "token id %d out of range (vocabulary %zu)", ids[i],
                           tok_n_vocab(R->tok));
    return tok_decode(R->tok, ids, n, 0, text_out, len_out, err);
}

static void rg_info(struct backend *b, struct backend_info *out)
{
    *out = as_rgb(b)->info;
}

static void rg_free(struct backend *b)
{
    struct rgb *R = as_rgb(b);
    rg_state_free(R->cur);
    rg_state_free(R->snap);
    rg_ctx_free(R->c);
    rg_model_free(R->m);
    for (size_t i = 0; i < R->n_copies; i++)
        free(R->copies[i]);
    free(R->copies);
    st_set_close(R->st);
    tok_free(R->tok);
    smp_release(&R->smp);
    free(R->snap_ids);
    free(R);
}

static const struct backend_ops rg_ops = {
    .loglikelihood = rg_loglikelihood,
    .loglikelihood_rolling = rg_rolling,
    .generate = rg_generate,
    .tokenize = rg_tokenize,
    .detokenize = rg_detokenize,
    .info = rg_info,
    .free = rg_free,
};

void backend_rg_stats(struct backend *b, struct backend_local_stats *out)
{
    *out = as_rgb(b)->stats;
}

size_t backend_rg_state_bytes(struct backend *b)
{
    return rg_state_bytes(as_rgb(b)->m);
}

static int read_config(const char *dir, struct rg_config *cfg, struct assay_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    char *text = NULL;
    size_t len = 0;
    int rc = file_read_all(&text, &len, path, RG_CONFIG_MAX_BYTES, err);
    if (rc)
        return rc;
    rc = rg_config_parse(cfg, text, len, path, err);
    free(text);
    return rc;
}

bool backend_rg_is_dir(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    char p[4096];
    snprintf(p, sizeof(p), "%s/config.json", path);
    json_t *root = NULL;
    if (jsn_load_file(&root, p, NULL))
        return false;
    const char *mt = jsn_str(root, "model_type", "");
    bool yes = strcmp(mt, "recurrent_gemma") == 0;
    json_decref(root);
    return yes;
}

int backend_rg_open(struct backend **out, const char *dir, const struct backend_local_params *p,
                    struct assay_error *err)
{
    *out = NULL;
    struct rgb *R = calloc(1, sizeof(*R));
    if (!R)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    R->base.ops = &rg_ops;
    R->p = *p;
    struct rg_config cfg;
    char path[4096];
    int rc = read_config(dir, &cfg, err);
    if (rc)
        goto fail;
    rc = st_set_open_dir(&R->st, dir, err);
    if (rc)
        goto fail;
    struct rg_source src = {.get = src_get, .user = R};
    rc = rg_model_new(&R->m, &cfg, &src, err);
    if (rc)
        goto fail;
    snprintf(path, sizeof(path), "%s/tokenizer.model", dir);
    rc = tok_open_spm(&R->tok, path, err);
    if (rc)
        goto fail;
    R->n_vocab = (int32_t)cfg.n_vocab;
    if ((int64_t)tok_n_vocab(R->tok) > cfg.n_vocab) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                        "tokenizer has %zu pieces but the embedding only %lld rows",
                        tok_n_vocab(R->tok), (long long)cfg.n_vocab);
        goto fail;
    }
    if (R->p.n_threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        R->p.n_threads = nc > 0 ? (int)nc : 1;
    }
    if (R->p.n_ctx <= 0)
        R->p.n_ctx = 4096;
    if (R->p.n_batch <= 0)
        R->p.n_batch = 256;
    struct rg_ctx_params cp = {.n_threads = R->p.n_threads,
                               .n_batch = R->p.n_batch,
                               .n_logits = R->p.n_batch,
                               .matmul_ref = R->p.matmul_ref};
    rc = rg_ctx_new(&R->c, R->m, &cp, err);
    if (rc)
        goto fail;
    rc = rg_state_new(&R->cur, R->m, err);
    if (!rc)
        rc = rg_state_new(&R->snap, R->m, err);
    if (!rc)
        rc = smp_init(&R->smp, R->n_vocab, err);
    if (rc)
        goto fail;
    R->snap_ids = mem_alloc_array((size_t)R->p.n_ctx + 1, sizeof(int32_t));
    if (!R->snap_ids) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    struct backend_info *in = &R->info;
    snprintf(in->kind, sizeof(in->kind), "local");
    snprintf(in->architecture, sizeof(in->architecture), "recurrent_gemma");
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    snprintf(in->name, sizeof(in->name), "%s", base);
    snprintf(in->quantization, sizeof(in->quantization), "%s", rg_model_weight_type(R->m));
    snprintf(in->fingerprint, sizeof(in->fingerprint), "%s", p->fingerprint ? p->fingerprint : "");
    snprintf(in->path, sizeof(in->path), "%s", dir);
    in->n_params = rg_model_n_params(R->m);
    in->n_ctx = R->p.n_ctx;
    in->n_ctx_train = 0; /* RecurrentGemma has no position limit in its config */
    in->n_vocab = R->n_vocab;
    in->bos_id = tok_bos_id(R->tok);
    in->eos_id = tok_eos_id(R->tok);
    in->add_bos = tok_bos_id(R->tok) >= 0;
    in->file_bytes = (int64_t)st_set_bytes(R->st);
    *out = &R->base;
    return 0;
fail:
    if (!err || !err->path[0])
        err_set_path(err, dir);
    rg_free(&R->base);
    return rc;
}

/* ---- fingerprint ------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool fp_wanted(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, "config.json") == 0 || strcmp(name, "tokenizer.model") == 0 ||
           (n > 12 && strcmp(name + n - 12, ".safetensors") == 0);
}

int backend_rg_fingerprint(const char *dir, char *out, size_t n, const struct progress *prog,
                           struct assay_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_set_at(err, ASSAY_ENOTFOUND, dir, 0, "cannot open the model directory");
    char **names = NULL;
    size_t n_names = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!fp_wanted(e->d_name))
            continue;
        char **nn = mem_realloc_array(names, n_names + 1, sizeof(*nn));
        char *s = mem_strdup(e->d_name);
        if (!nn || !s) {
            free(s);
            if (nn)
                names = nn;
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        names = nn;
        names[n_names++] = s;
    }
    qsort(names, n_names, sizeof(*names), cmp_str);
    struct hash_sha256 h;
    rc = hash_sha256_init(&h, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < n_names && !rc; i++) {
        char p[4096], fp[96];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        rc = ckpt_fingerprint_file(p, fp, sizeof(fp), prog, err);
        hash_sha256_update(&h, names[i], strlen(names[i]) + 1);
        hash_sha256_update(&h, fp, strlen(fp) + 1);
    }
    if (!rc) {
        char hex[HASH_SHA256_HEX];
        hash_sha256_final_hex(&h, hex);
        snprintf(out, n, "sha256:%s", hex);
    }
    hash_sha256_release(&h);
out:
    closedir(d);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    return rc;
}
