/*
 * engine/backend_req.c - request rules shared by the backends; see backend_req.h.
 */
#include "engine/backend_req.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "engine/tok.h"

/* Encode text; with_bos puts the model's BOS first (exactly one). */
int bk_encode(const struct tok *t, const char *text, size_t len, bool with_bos, int32_t **ids,
              size_t *n, struct assay_error *err)
{
    unsigned flags = with_bos && tok_bos_id(t) >= 0 ? TOK_ENCODE_BOS : 0;
    return tok_encode(t, text, len, flags, ids, n, err);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * lm-eval's _encode_pair: trailing whitespace of the context moves to the continuation;
 * whole = enc(context + continuation), ctx = enc(context); the continuation tokens are
 * whole[len(ctx):]. An empty context is [BOS] with the continuation encoded alone.
 * On success *full holds [BOS] ctx cont (owned) and *n_cont the continuation length.
 */
int bk_encode_pair(const struct tok *t, const struct bk_ll_req *r, int32_t **full, size_t *n_full,
                   size_t *n_cont, struct assay_error *err)
{
    *full = NULL;
    if (r->context.ids || r->continuation.ids) {
        size_t nc = r->context.ids ? r->context.n_ids : 0;
        size_t nk = r->continuation.ids ? r->continuation.n_ids : 0;
        int32_t *v = mem_alloc_array(nc + nk, sizeof(int32_t));
        if (!v)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        if (nc)
            memcpy(v, r->context.ids, nc * sizeof(int32_t));
        if (nk)
            memcpy(v + nc, r->continuation.ids, nk * sizeof(int32_t));
        *full = v;
        *n_full = nc + nk;
        *n_cont = nk;
        return 0;
    }
    const char *ctx = r->context.text ? r->context.text : "";
    size_t ctx_len = r->context.text ? r->context.len : 0;
    const char *cont = r->continuation.text ? r->continuation.text : "";
    size_t cont_len = r->continuation.text ? r->continuation.len : 0;
    size_t n_sp = 0;
    while (n_sp < ctx_len && is_space(ctx[ctx_len - 1 - n_sp]))
        n_sp++;
    size_t ctx_keep = ctx_len - n_sp;
    int rc;
    if (ctx_keep == 0) {
        /* empty context: [BOS] + enc(continuation) without special tokens */
        struct buf whole;
        buf_init(&whole, 0);
        if (buf_add(&whole, ctx, ctx_len) || buf_add(&whole, cont, cont_len)) {
            buf_release(&whole);
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        }
        int32_t *ids = NULL;
        size_t n = 0;
        rc = bk_encode(t, whole.data, whole.len, false, &ids, &n, err);
        buf_release(&whole);
        if (rc)
            return rc;
        int32_t bos = tok_bos_id(t);
        size_t lead = bos >= 0 ? 1 : 0;
        int32_t *v = mem_alloc_array(n + lead, sizeof(int32_t));
        if (!v) {
            free(ids);
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        }
        if (lead)
            v[0] = bos;
        if (n)
            memcpy(v + lead, ids, n * sizeof(int32_t));
        free(ids);
        *full = v;
        *n_full = n + lead;
        *n_cont = n;
        return 0;
    }
    struct buf whole;
    buf_init(&whole, 0);
    if (buf_add(&whole, ctx, ctx_len) || buf_add(&whole, cont, cont_len)) {
        buf_release(&whole);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int32_t *w = NULL, *c = NULL;
    size_t nw = 0, nc = 0;
    rc = bk_encode(t, whole.data, whole.len, true, &w, &nw, err);
    buf_release(&whole);
    if (rc)
        return rc;
    rc = bk_encode(t, ctx, ctx_keep, true, &c, &nc, err);
    if (rc) {
        free(w);
        return rc;
    }
    free(c);
    if (nc > nw)
        nc = nw; /* cannot happen with a prefix-stable tokenizer; keep the arithmetic safe */
    *full = w;
    *n_full = nw;
    *n_cont = nw - nc;
    return 0;
}

int32_t bk_common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
    int32_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* The earliest occurrence of any stop string in text (from `from` on), or -1. */
long bk_find_stop(const struct bk_gen_req *r, const char *text, size_t len, size_t from)
{
    long best = -1;
    for (int k = 0; k < r->n_until; k++) {
        const char *s = r->until[k];
        size_t sl = s ? strlen(s) : 0;
        if (sl == 0 || sl > len)
            continue;
        for (size_t i = from; i + sl <= len; i++) {
            if (best >= 0 && (long)i >= best)
                break;
            if (memcmp(text + i, s, sl) == 0) {
                best = (long)i;
                break;
            }
        }
    }
    return best;
}

int bk_input_ids(const struct tok *t, const struct bk_input *in, int64_t n_vocab, bool with_bos,
                 int32_t **ids, size_t *n, int *req_error, struct assay_error *err)
{
    *ids = NULL;
    *n = 0;
    *req_error = 0;
    if (!in->ids) {
        struct assay_error rerr;
        err_clear(&rerr);
        int rc = bk_encode(t, in->text ? in->text : "", in->len, with_bos, ids, n, &rerr);
        if (rc == ASSAY_ENOMEM)
            return err_set(err, rc, "%s", rerr.msg);
        *req_error = rc;
        return 0;
    }
    for (size_t k = 0; k < in->n_ids; k++)
        if (in->ids[k] < 0 || in->ids[k] >= n_vocab) {
            *req_error = ASSAY_EINVAL;
            return 0;
        }
    int32_t *v = mem_alloc_array(in->n_ids ? in->n_ids : 1, sizeof(int32_t));
    if (!v)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    if (in->n_ids)
        memcpy(v, in->ids, in->n_ids * sizeof(int32_t));
    *ids = v;
    *n = in->n_ids;
    return 0;
}

size_t bk_rolling_window(const int32_t *toks, size_t nt, int32_t bos, size_t max_len,
                         size_t predicted, int32_t *v, size_t *n_pred)
{
    size_t first_pred = bos >= 0 ? 0 : 1;
    *n_pred = 0;
    if (predicted >= nt)
        return 0;
    if (predicted == first_pred) {
        size_t first = nt < max_len ? nt : max_len;
        if (bos >= 0) {
            v[0] = bos;
            memcpy(v + 1, toks, first * sizeof(int32_t));
            *n_pred = first;
            return first + 1;
        }
        memcpy(v, toks, first * sizeof(int32_t));
        *n_pred = first - 1;
        return first;
    }
    size_t left = nt - predicted;
    *n_pred = left < max_len ? left : max_len;
    size_t end = predicted + *n_pred;
    size_t from = end > max_len + 1 ? end - max_len - 1 : 0;
    memcpy(v, toks + from, (end - from) * sizeof(int32_t));
    return end - from;
}

int bk_gen_prompt(const struct tok *t, const struct bk_gen_req *r, int32_t n_ctx, int64_t n_vocab,
                  int32_t **ids, size_t *n, struct bk_gen_res *out, bool *done,
                  struct assay_error *err)
{
    *ids = NULL;
    *n = 0;
    *done = true;
    int32_t *p = NULL;
    size_t np = 0;
    int req_error = 0;
    int rc = bk_input_ids(t, &r->prompt, n_vocab, true, &p, &np, &req_error, err);
    if (rc)
        return rc;
    if (req_error) {
        out->error = req_error;
        out->finish = BK_FINISH_ERROR;
        return 0;
    }
    int32_t mx = r->max_tokens > 0 ? r->max_tokens : 0;
    if (mx >= n_ctx)
        mx = n_ctx - 1;
    size_t keep = (size_t)(n_ctx - mx);
    if (keep < (size_t)n_ctx / 2)
        keep = (size_t)n_ctx / 2;
    size_t drop = np > keep ? np - keep : 0;
    if (np - drop == 0 || mx == 0) {
        free(p);
        out->text = mem_strdup("");
        out->ids = mem_alloc_array(1, sizeof(int32_t));
        if (!out->text || !out->ids)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        out->finish = np == 0 ? BK_FINISH_ERROR : BK_FINISH_LENGTH;
        out->error = np == 0 ? ASSAY_EINVAL : 0;
        return 0;
    }
    if (drop)
        memmove(p, p + drop, (np - drop) * sizeof(int32_t));
    *ids = p;
    *n = np - drop;
    *done = false;
    return 0;
}
