/*
 * engine/backend_local.c - the local engine as a backend; see backend_local.h.
 *
 * This file turns requests into batches of tokens for model_decode and logits into
 * answers. It owns the scheduling (sorting, grouping, prefix reuse, parallel decoding)
 * and nothing numeric: the forward pass is model.c's, the sampler sample.c's.
 */
#include "engine/backend_local.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "engine/backend_req.h"
#include "engine/ckpt.h"
#include "engine/ckpt_src.h"
#include "engine/gguf.h"
#include "engine/model.h"
#include "engine/sample.h"
#include "engine/tok.h"

struct local {
    struct backend base; /* first: a struct backend * is a struct local * */
    struct ckpt_src src; /* a GGUF file or an HF directory */
    struct model *m;
    struct model_ctx *c;
    struct tok *tok;
    struct smp smp;
    struct backend_local_params p;
    struct backend_info info;
    int32_t n_vocab;
    /* sequence 0's tokens, for prefix reuse across loglikelihood requests */
    int32_t *cached;
    int32_t n_cached;
    /* batch scratch, n_batch entries each */
    int32_t *b_tok, *b_pos, *b_seq;
    bool *b_want;
    struct backend_local_stats stats;
};

static struct local *as_local(struct backend *b)
{
    return (struct local *)b;
}

void backend_local_params_default(struct backend_local_params *p)
{
    memset(p, 0, sizeof(*p));
}

/* ---- tokenizing ---------------------------------------------------------------------- */

/* ---- one forward over a sequence's new tokens ------------------------------------------ */

/* Decode tokens[from:n] into sequence seq (which must hold exactly `from` positions),
 * wanting logits at positions >= want_from. For each chunk, on_logits(user, pos, logits)
 * is called for every wanted position in order. */
typedef int (*logits_fn)(void *user, int32_t pos, const float *logits);

static int decode_span(struct local *L, int32_t seq, const int32_t *tokens, int32_t from, int32_t n,
                       int32_t want_from, logits_fn fn, void *user, struct assay_error *err)
{
    int32_t n_batch = L->p.n_batch;
    for (int32_t start = from; start < n; start += n_batch) {
        int32_t end = start + n_batch < n ? start + n_batch : n;
        int32_t k = 0;
        for (int32_t i = start; i < end; i++, k++) {
            L->b_tok[k] = tokens[i];
            L->b_pos[k] = i;
            L->b_seq[k] = seq;
            L->b_want[k] = i >= want_from;
        }
        struct model_batch b = {.n_tok = k,
                                .token = L->b_tok,
                                .pos = L->b_pos,
                                .seq_id = L->b_seq,
                                .want_logits = L->b_want};
        int rc = model_decode(L->c, &b, err);
        if (rc)
            return rc;
        L->stats.n_eval_tokens += k;
        L->stats.n_forward++;
        int32_t row = 0;
        for (int32_t i = start; i < end; i++) {
            if (i < want_from)
                continue;
            rc = fn(user, i, model_logits(L->c, row++));
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- loglikelihood ------------------------------------------------------------------- */

struct ll_item {
    size_t req;    /* index of the request */
    int32_t *full; /* [BOS] ctx cont, owned */
    int32_t n_full;
    int32_t n_cont;
    int32_t *input; /* view into full: the model's input (full[:-1], left-truncated) */
    int32_t n_input;
    int32_t first_scored; /* input position whose logits predict the first cont token */
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
    struct local *L;
    struct ll_item *items; /* the group: identical inputs */
    size_t n_items;
    struct bk_ll_res *res;
    double *per_token; /* single-item groups may record each token's log-prob here */
};

static int ll_on_logits(void *user, int32_t pos, const float *logits)
{
    struct ll_group *g = user;
    int32_t n_vocab = g->L->n_vocab;
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

/* Evaluate one group of identical inputs in sequence 0, reusing its cached prefix. */
static int ll_run_group(struct local *L, struct ll_group *g, struct assay_error *err)
{
    const struct ll_item *first = &g->items[0];
    int32_t want_from = first->first_scored;
    for (size_t k = 1; k < g->n_items; k++)
        if (g->items[k].first_scored < want_from)
            want_from = g->items[k].first_scored;
    int32_t lcp = L->p.no_prefix_cache
                      ? 0
                      : bk_common_prefix(L->cached, L->n_cached, first->input, first->n_input);
    /* logits are not cached: recompute from the first position whose logits we need */
    int32_t keep = lcp < want_from ? lcp : want_from;
    int rc = model_seq_truncate(L->c, 0, keep, err);
    if (rc)
        return rc;
    L->n_cached = keep;
    L->stats.n_reused_tokens += keep;
    rc = decode_span(L, 0, first->input, keep, first->n_input, want_from, ll_on_logits, g, err);
    if (rc) {
        /* the cache no longer matches what we know: start clean next time */
        model_seq_clear(L->c, 0, NULL);
        L->n_cached = 0;
        return rc;
    }
    memcpy(L->cached, first->input, (size_t)first->n_input * sizeof(int32_t));
    L->n_cached = first->n_input;
    return 0;
}

static int local_loglikelihood(struct backend *b, const struct bk_ll_req *reqs, size_t n,
                               struct bk_ll_res *res, const struct progress *prog,
                               struct assay_error *err)
{
    struct local *L = as_local(b);
    int32_t n_ctx = L->p.n_ctx;
    struct ll_item *items = mem_calloc_array(n ? n : 1, sizeof(*items));
    if (!items)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    size_t n_items = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        res[i] = (struct bk_ll_res){.logprob = 0, .is_greedy = true, .n_tokens = 0, .error = 0};
        int32_t *full = NULL;
        size_t n_full = 0, n_cont = 0;
        struct assay_error rerr;
        err_clear(&rerr);
        int r = bk_encode_pair(L->tok, &reqs[i], &full, &n_full, &n_cont, &rerr);
        if (r == ASSAY_ENOMEM) {
            rc = err_set(err, r, "%s", rerr.msg);
            goto out;
        }
        if (r) {
            res[i].error = r;
            continue;
        }
        if (n_cont == 0 || n_full < 2) {
            /* nothing to score: log p = 0 over zero tokens, trivially greedy */
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
        /* input = full[:-1], left-truncated to n_ctx tokens (lm-eval keeps the last
         * max_length + 1 tokens of context + continuation) */
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
        struct ll_group g = {.L = L, .items = &items[s], .n_items = e - s, .res = res};
        rc = ll_run_group(L, &g, err);
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

/* ---- rolling loglikelihood ----------------------------------------------------------- */

/* Score ids[n_ctx_ids:nv] given ids[:n_ctx_ids] in sequence 0, writing each token's
 * log-prob to per_token and adding their sum to *sum. */
static int rolling_window(struct local *L, int32_t *v, int32_t nv, int32_t n_pred,
                          double *per_token, double *sum, struct assay_error *err)
{
    struct ll_item it = {
        .req = 0, .full = v, .n_full = nv, .n_cont = n_pred, .input = v, .n_input = nv - 1};
    it.first_scored = it.n_input - it.n_cont;
    struct bk_ll_res one = {.logprob = 0, .is_greedy = true};
    struct ll_group g = {.L = L, .items = &it, .n_items = 1, .res = &one, .per_token = per_token};
    int rc = ll_run_group(L, &g, err);
    if (!rc)
        *sum += one.logprob;
    return rc;
}

static int local_rolling(struct backend *b, const struct bk_rolling_req *reqs, size_t n,
                         struct bk_rolling_res *res, const struct progress *prog,
                         struct assay_error *err)
{
    struct local *L = as_local(b);
    size_t max_len = (size_t)L->p.n_ctx;
    int32_t bos = tok_bos_id(L->tok);
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
        rc = bk_input_ids(L->tok, &reqs[i].text, L->n_vocab, false, &toks, &nt, &req_error, err);
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
        /* lm-eval's disjoint rolling windows (bk_rolling_window) */
        size_t predicted = first_pred;
        while (predicted < nt && !rc) {
            size_t n_pred;
            size_t nv = bk_rolling_window(toks, nt, bos, max_len, predicted, v, &n_pred);
            if (n_pred > 0)
                rc = rolling_window(L, v, (int32_t)nv, (int32_t)n_pred,
                                    res[i].token_logprobs + (predicted - first_pred),
                                    &res[i].logprob, err);
            predicted += n_pred ? n_pred : 1;
        }
        free(toks);
        progress_report(prog, (int64_t)i + 1, (int64_t)n, "rolling loglikelihood");
    }
    free(v);
    return rc;
}

/* ---- generation ---------------------------------------------------------------------- */

struct gen_slot {
    bool active;
    size_t req;
    int32_t seq;
    int32_t *ids; /* prompt + generated, capacity n_ctx */
    int32_t n_prompt;
    int32_t n_ids;
    struct smp_rng rng;
    struct tok_stream ts;
    struct buf text;
    size_t max_stop; /* longest stop string */
    size_t emitted;  /* bytes of text already streamed */
};

/* Stream what can no longer become part of a stop string (all of it when final). */
static void slot_emit(struct gen_slot *s, const struct bk_gen_req *r, bool final)
{
    if (!r->on_text)
        return;
    size_t hold = final || s->max_stop == 0 ? 0 : s->max_stop - 1;
    size_t upto = s->text.len > hold ? s->text.len - hold : 0;
    if (upto > s->emitted) {
        r->on_text(r->on_text_user, s->text.data + s->emitted, upto - s->emitted);
        s->emitted = upto;
    }
}

static int slot_finish(struct local *L, struct gen_slot *s, const struct bk_gen_req *r,
                       struct bk_gen_res *out, int finish, struct assay_error *err)
{
    int rc = finish == BK_FINISH_STOP ? 0 : tok_stream_finish(L->tok, &s->ts, &s->text, err);
    if (rc)
        return rc;
    slot_emit(s, r, true);
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
    s->active = false;
    return 0;
}

/* Append token id to the slot, update its text, and tell whether it is finished. */
static int slot_push(struct local *L, struct gen_slot *s, const struct bk_gen_req *r, int32_t id,
                     struct bk_gen_res *out, bool *finished, struct assay_error *err)
{
    *finished = false;
    s->ids[s->n_ids++] = id;
    int32_t n_gen = s->n_ids - s->n_prompt;
    if (r->stop_at_eos && id == tok_eos_id(L->tok)) {
        *finished = true;
        return slot_finish(L, s, r, out, BK_FINISH_EOS, err);
    }
    size_t old_len = s->text.len;
    int rc = tok_stream_push(L->tok, &s->ts, id, &s->text, err);
    if (rc)
        return rc;
    if (r->n_until > 0 && s->text.len > old_len) {
        size_t from = old_len > s->max_stop ? old_len - s->max_stop + 1 : 0;
        long at = bk_find_stop(r, s->text.data, s->text.len, from);
        if (at >= 0) {
            buf_truncate(&s->text, (size_t)at);
            *finished = true;
            return slot_finish(L, s, r, out, BK_FINISH_STOP, err);
        }
    }
    slot_emit(s, r, false);
    if (n_gen >= r->max_tokens || s->n_ids >= L->p.n_ctx) {
        *finished = true;
        return slot_finish(L, s, r, out, BK_FINISH_LENGTH, err);
    }
    return 0;
}

struct prefill_state {
    struct local *L;
    struct gen_slot *s;
    const struct bk_gen_req *r;
    int32_t next;
};

static int prefill_on_logits(void *user, int32_t pos, const float *logits)
{
    struct prefill_state *ps = user;
    ps->next = smp_sample(&ps->L->smp, logits, &ps->r->sampling, &ps->s->rng);
    return 0;
}

/* Put request r into slot s: encode, truncate, prefill; then push its first token. */
static int slot_start(struct local *L, struct gen_slot *s, size_t ri, const struct bk_gen_req *r,
                      struct bk_gen_res *out, bool *finished, struct assay_error *err)
{
    *finished = false;
    memset(out, 0, sizeof(*out));
    int32_t *p = NULL;
    size_t np = 0;
    int rc = bk_gen_prompt(L->tok, r, L->p.n_ctx, L->n_vocab, &p, &np, out, finished, err);
    if (rc || *finished)
        return rc;
    s->active = true;
    s->req = ri;
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
    rc = model_seq_clear(L->c, s->seq, err);
    if (rc)
        return rc;
    struct prefill_state ps = {.L = L, .s = s, .r = r, .next = -1};
    rc = decode_span(L, s->seq, s->ids, 0, s->n_prompt, s->n_prompt - 1, prefill_on_logits, &ps,
                     err);
    if (rc)
        return rc;
    return slot_push(L, s, r, ps.next, out, finished, err);
}

static int local_generate(struct backend *b, const struct bk_gen_req *reqs, size_t n,
                          struct bk_gen_res *res, const struct progress *prog,
                          struct assay_error *err)
{
    struct local *L = as_local(b);
    int32_t n_slots = L->p.n_seq;
    struct gen_slot *slots = mem_calloc_array((size_t)n_slots, sizeof(*slots));
    if (!slots)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = 0;
    for (int32_t i = 0; i < n_slots; i++) {
        slots[i].seq = i;
        buf_init(&slots[i].text, 0);
        slots[i].ids = mem_alloc_array((size_t)L->p.n_ctx, sizeof(int32_t));
        if (!slots[i].ids) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
    }
    /* sequence 0 is also the loglikelihood prefix cache: it is about to be reused */
    L->n_cached = 0;
    for (size_t i = 0; i < n; i++)
        memset(&res[i], 0, sizeof(res[i]));
    size_t next_req = 0, n_done = 0;
    for (;;) {
        /* fill free slots */
        for (int32_t i = 0; i < n_slots && next_req < n; i++) {
            while (!slots[i].active && next_req < n) {
                bool fin = false;
                size_t ri = next_req++;
                rc = slot_start(L, &slots[i], ri, &reqs[ri], &res[ri], &fin, err);
                if (rc)
                    goto out;
                if (fin) {
                    n_done++;
                    progress_report(prog, (int64_t)n_done, (int64_t)n, "generate");
                }
            }
        }
        /* one decoding step for every active slot */
        int32_t k = 0;
        for (int32_t i = 0; i < n_slots; i++) {
            struct gen_slot *s = &slots[i];
            if (!s->active)
                continue;
            L->b_tok[k] = s->ids[s->n_ids - 1];
            L->b_pos[k] = s->n_ids - 1;
            L->b_seq[k] = s->seq;
            L->b_want[k] = true;
            k++;
        }
        if (k == 0)
            break;
        struct model_batch mb = {.n_tok = k,
                                 .token = L->b_tok,
                                 .pos = L->b_pos,
                                 .seq_id = L->b_seq,
                                 .want_logits = L->b_want};
        rc = model_decode(L->c, &mb, err);
        if (rc)
            goto out;
        L->stats.n_eval_tokens += k;
        L->stats.n_forward++;
        int32_t row = 0;
        for (int32_t i = 0; i < n_slots; i++) {
            struct gen_slot *s = &slots[i];
            if (!s->active)
                continue;
            const struct bk_gen_req *r = &reqs[s->req];
            int32_t id = smp_sample(&L->smp, model_logits(L->c, row++), &r->sampling, &s->rng);
            bool fin = false;
            rc = slot_push(L, s, r, id, &res[s->req], &fin, err);
            if (rc)
                goto out;
            if (fin) {
                n_done++;
                progress_report(prog, (int64_t)n_done, (int64_t)n, "generate");
            }
        }
    }
out:
    for (int32_t i = 0; i < n_slots; i++) {
        free(slots[i].ids);
        buf_release(&slots[i].text);
    }
    free(slots);
    for (int32_t i = 0; i < n_slots; i++)
        model_seq_clear(L->c, i, NULL);
    return rc;
}

/* ---- tokenize, info, free ------------------------------------------------------------ */

static int local_tokenize(struct backend *b, const char *text, size_t len, unsigned flags,
                          int32_t **ids_out, size_t *n_out, struct assay_error *err)
{
    struct local *L = as_local(b);
    unsigned tf = 0;
    if ((flags & BK_TOK_ADD_BOS) && tok_bos_id(L->tok) >= 0)
        tf |= TOK_ENCODE_BOS;
    if (flags & BK_TOK_SPECIAL)
        tf |= TOK_ENCODE_SPECIAL;
    return tok_encode(L->tok, text, len, tf, ids_out, n_out, err);
}

static int local_detokenize(struct backend *b, const int32_t *ids, size_t n, char **text_out,
                            size_t *len_out, struct assay_error *err)
{
    struct local *L = as_local(b);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= L->n_vocab)
            return err_set(err, ASSAY_EINVAL, "token id %d out of range (vocabulary %d)", ids[i],
                           L->n_vocab);
    return tok_decode(L->tok, ids, n, 0, text_out, len_out, err);
}

static void local_info(struct backend *b, struct backend_info *out)
{
    *out = as_local(b)->info;
}

static void local_free(struct backend *b)
{
    struct local *L = as_local(b);
    model_ctx_free(L->c);
    model_free(L->m);
    tok_free(L->tok);
    ckpt_src_close(&L->src);
    smp_release(&L->smp);
    free(L->cached);
    free(L->b_tok);
    free(L->b_pos);
    free(L->b_seq);
    free(L->b_want);
    free(L);
}

static const struct backend_ops local_ops = {
    .loglikelihood = local_loglikelihood,
    .loglikelihood_rolling = local_rolling,
    .generate = local_generate,
    .tokenize = local_tokenize,
    .detokenize = local_detokenize,
    .info = local_info,
    .free = local_free,
};

void backend_local_stats(struct backend *b, struct backend_local_stats *out)
{
    *out = as_local(b)->stats;
}

int backend_local_open(struct backend **out, const char *path,
                       const struct backend_local_params *params, struct assay_error *err)
{
    *out = NULL;
    struct local *L = calloc(1, sizeof(*L));
    if (!L)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    L->base.ops = &local_ops;
    L->p = *params;
    int rc;
    const struct gguf *meta;
    rc = ckpt_src_open(&L->src, path, err);
    if (rc)
        goto fail;
    meta = ckpt_src_meta(&L->src);
    rc = ckpt_src_load_model(&L->src, &L->m, err);
    if (rc)
        goto fail;
    rc = tok_new_from_gguf(&L->tok, meta, err);
    if (rc)
        goto fail;
    const struct arch_hparams *hp = model_hparams(L->m);
    L->n_vocab = (int32_t)hp->n_vocab;
    if ((int64_t)tok_n_vocab(L->tok) > hp->n_vocab) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                        "tokenizer has %zu pieces but the embedding only %lld rows",
                        tok_n_vocab(L->tok), (long long)hp->n_vocab);
        goto fail;
    }
    if (L->p.n_threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        L->p.n_threads = nc > 0 ? (int)nc : 1;
    }
    if (L->p.n_ctx <= 0) {
        int64_t train = hp->n_ctx_train > 0 ? hp->n_ctx_train : 4096;
        L->p.n_ctx = (int32_t)(train < 4096 ? train : 4096);
    }
    if (L->p.n_seq <= 0)
        L->p.n_seq = 4;
    if (L->p.n_batch <= 0)
        L->p.n_batch = 512;
    struct model_ctx_params cp;
    model_ctx_params_default(&cp);
    cp.n_ctx = L->p.n_ctx;
    cp.n_seq_max = L->p.n_seq;
    cp.n_batch_max = L->p.n_batch;
    cp.n_logits_max = L->p.n_batch;
    cp.n_threads = L->p.n_threads;
    cp.matmul_ref = L->p.matmul_ref;
    if (!L->p.matmul_ref && !L->p.no_repack && (rc = model_repack(L->m, L->p.n_threads, err)))
        goto fail;
    rc = model_ctx_new(&L->c, L->m, &cp, err);
    if (rc)
        goto fail;
    rc = smp_init(&L->smp, L->n_vocab, err);
    if (rc)
        goto fail;
    size_t nb = (size_t)L->p.n_batch;
    L->cached = mem_alloc_array((size_t)L->p.n_ctx, sizeof(int32_t));
    L->b_tok = mem_alloc_array(nb, sizeof(int32_t));
    L->b_pos = mem_alloc_array(nb, sizeof(int32_t));
    L->b_seq = mem_alloc_array(nb, sizeof(int32_t));
    L->b_want = mem_alloc_array(nb, sizeof(bool));
    if (!L->cached || !L->b_tok || !L->b_pos || !L->b_seq || !L->b_want) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    struct ckpt_info ci;
    ckpt_src_describe(&L->src, &ci);
    struct backend_info *in = &L->info;
    snprintf(in->kind, sizeof(in->kind), "local");
    snprintf(in->architecture, sizeof(in->architecture), "%s", ci.architecture);
    snprintf(in->name, sizeof(in->name), "%s", ci.name);
    snprintf(in->quantization, sizeof(in->quantization), "%s", ci.quantization);
    snprintf(in->fingerprint, sizeof(in->fingerprint), "%s",
             params->fingerprint ? params->fingerprint : "");
    snprintf(in->path, sizeof(in->path), "%s", path);
    in->n_params = ci.n_params;
    in->n_ctx = L->p.n_ctx;
    in->n_ctx_train = hp->n_ctx_train;
    in->n_vocab = L->n_vocab;
    in->bos_id = tok_bos_id(L->tok);
    in->eos_id = tok_eos_id(L->tok);
    in->add_bos = tok_bos_id(L->tok) >= 0;
    in->file_bytes = ci.file_bytes;
    *out = &L->base;
    return 0;
fail:
    err_set_path(err, path);
    local_free(&L->base);
    return rc;
}
