/*
 * engine/model.c - binding a checkpoint's tensors (views into the GGUF mapping), the
 * per-sequence float32 KV cache, and the one forward pass for Gemma 1/2/3 (see model.h).
 *
 * The forward pass, per batch of n_tok tokens (shapes (rows, cols), row-major):
 *   x (n_tok, n_embd)   = token_embd[token] * sqrt(n_embd)
 *   per layer:
 *     xn                = rmsnorm(x) * attn_norm                 (weights stored as 1+w)
 *     q (n_tok, n_head*hd), k, v (n_tok, n_head_kv*hd) = xn . Wq^T, Wk^T, Wv^T
 *     [gemma3] q, k     = rmsnorm over each head's hd values * q_norm / k_norm
 *     q, k              = rope_neox(pos, layer's base and scale)
 *     cache[seq][pos]   = k, v
 *     att (n_tok, n_head*hd) = softmax(softcap(scale q . k)) v over visible positions
 *     o (n_tok, n_embd) = att . Wo^T;  [gemma2/3] o = rmsnorm(o) * post_attention_norm
 *     x += o
 *     xn                = rmsnorm(x) * ffn_norm
 *     h (n_tok, n_ff)   = gelu_tanh(xn . Wgate^T) * (xn . Wup^T)
 *     o                 = h . Wdown^T;   [gemma2/3] o = rmsnorm(o) * post_ffw_norm
 *     x += o
 *   logits (n_out, n_vocab) = softcap(rmsnorm(x[wanted]) * output_norm . Wout^T)
 * following gemma_pytorch gemma/model.py (GemmaDecoderLayer, Gemma2DecoderLayer,
 * GemmaAttention, GemmaForCausalLM.forward).
 *
 * Not here: tokenization, sampling, scheduling of requests into batches (backend).
 * No OpenMP here: parallelism is inside kern_matmul and the kern_ops kernels.
 */
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/mem.h"
#include "engine/gguf.h"
#include "engine/kern.h"
#include "engine/kern_ops.h"
#include "engine/quant.h"

/* A matrix (n_rows, n_cols) stored row by row in `type`, viewed in the mapping. */
struct model_weight {
    const void *data;
    int type;
    int64_t n_rows;
    int64_t n_cols;
    struct kern_packed packed; /* model_repack: owned copy for the packed kernels, or empty */
};

struct model_layer {
    const float *attn_norm;      /* (n_embd) */
    const float *attn_q_norm;    /* (head_dim), gemma3 */
    const float *attn_k_norm;    /* (head_dim), gemma3 */
    const float *post_attn_norm; /* (n_embd), gemma2/3 */
    const float *ffn_norm;       /* (n_embd) */
    const float *post_ffw_norm;  /* (n_embd), gemma2/3 */
    struct model_weight wq;      /* (n_head*hd, n_embd) */
    struct model_weight wk;      /* (n_head_kv*hd, n_embd) */
    struct model_weight wv;      /* (n_head_kv*hd, n_embd) */
    struct model_weight wo;      /* (n_embd, n_head*hd) */
    struct model_weight gate;    /* (n_ff, n_embd) */
    struct model_weight up;      /* (n_ff, n_embd) */
    struct model_weight down;    /* (n_embd, n_ff) */
    const float *rope_inv_freq;  /* (hd/2), this layer's base and scale */
};

struct model {
    struct arch_hparams hp;
    struct gguf *owned; /* set by model_open */
    const struct gguf *g;
    const struct model_view *views; /* model_load_views: tensors live here, not in g */
    size_t n_views;
    struct model_weight token_embd; /* (n_vocab, n_embd) */
    struct model_weight output;     /* (n_vocab, n_embd): output.weight or token_embd (tied) */
    const float *output_norm;       /* (n_embd) */
    struct model_layer *layers;     /* (n_layer) */
    float *norms;                   /* every norm vector, float32, owned */
    float *rope;                    /* (n_layer, hd/2) inverse frequencies, owned */
    void *pack_arena;               /* model_repack: every packed matrix's bytes, owned */
};

struct model_ctx {
    const struct model *m;
    struct model_ctx_params p;
    struct kern_ctx kc;
    int64_t kv_dim;   /* n_head_kv * head_dim */
    float *k_cache;   /* (n_seq_max, n_layer, n_ctx, kv_dim) */
    float *v_cache;   /* (n_seq_max, n_layer, n_ctx, kv_dim) */
    int32_t *seq_len; /* (n_seq_max) */
    int32_t *seq_tmp; /* (n_seq_max) validation scratch */
    /* activations, (n_batch_max, width). Buffers whose lives do not overlap share memory
     * (at 512 tokens: 270m 16.8 -> 10.5 MiB, 2b 85 -> 72 MiB): o is xn (xn is read
     * last by the projections before each o is written); q, k, v, att live in the
     * attention block and gate, up in the feed-forward block, both in `phase`. */
    float *x;      /* n_embd: the residual stream */
    void *embd_row;        /* one token_embd row in its file layout (tied packed lookups) */
    size_t embd_row_bytes; /* its size */
    float *xn;     /* n_embd */
    float *phase;  /* owns q, k, v, att, then gate, up */
    float *q;      /* n_head*hd */
    float *k;      /* n_head_kv*hd */
    float *v;      /* n_head_kv*hd */
    float *att;    /* n_head*hd */
    float *o;      /* n_embd, = xn */
    float *gate;   /* n_ff */
    float *up;     /* n_ff */
    float *out_x;  /* (n_logits_max, n_embd) */
    float *logits; /* (n_logits_max, n_vocab) */
    int32_t n_out;
    int32_t *pos_out; /* (n_batch_max) positions of the rows kept in the last layer */
    const float **kp; /* (n_batch_max) each token's K cache for the current layer */
    const float **vp;
    float *attn_scratch; /* attn_scratch_floats: kern_attention's decode partials */
    size_t attn_scratch_floats;
    /* RoPE cos / sin for the batch's positions, (n_batch_max, head_dim) each: layers share
     * two sets of frequencies (gemma3: local and global), so one model_decode computes at
     * most two tables instead of one per layer and projection (270m pp512: 36 -> 2). */
    float *rope_cs[2];
    const float *rope_src[2]; /* the inverse frequencies each table holds; NULL: none */
    void *mm_scratch;
};

/* ---- loading ------------------------------------------------------------------------- */

static void fmt_dims(char *buf, size_t n, const int64_t *ne, int n_dims)
{
    size_t off = 0;
    off += (size_t)snprintf(buf + off, n - off, "[");
    for (int i = 0; i < n_dims && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%lld", i ? ", " : "", (long long)ne[i]);
    if (off < n)
        snprintf(buf + off, n - off, "]");
}

static const struct model_view *find_view(const struct model *m, const char *name)
{
    for (size_t i = 0; i < m->n_views; i++)
        if (strcmp(m->views[i].t.name, name) == 0)
            return &m->views[i];
    return NULL;
}

/* Find the tensor of desc d (layer il) and check its shape; *out NULL when optional and
 * absent. */
static int find_checked(const struct gguf_tensor **out, const struct model *m,
                        const struct arch_tensor_desc *d, int64_t il, struct assay_error *err)
{
    char name[128];
    arch_tensor_name(name, sizeof(name), d, il);
    const struct model_view *v = find_view(m, name);
    const struct gguf_tensor *t = v ? &v->t : m->views ? NULL : gguf_find_tensor(m->g, name);
    const char *path = v && v->path ? v->path : gguf_path(m->g);
    char shown[300];
    if (v && v->src_name)
        snprintf(shown, sizeof(shown), "%s' (GGUF '%s')", v->src_name, name);
    else
        snprintf(shown, sizeof(shown), "%s'", name);
    *out = NULL;
    if (!t) {
        if (!arch_tensor_required(&m->hp, d))
            return 0;
        return err_set_off(err, ASSAY_EINVAL, gguf_path(m->g), -1,
                           "tensor '%s' not found (required by architecture '%s')", name,
                           m->hp.arch_name);
    }
    int64_t want[GGUF_MAX_DIMS] = {1, 1, 1, 1};
    for (int i = 0; i < d->n_dims; i++)
        want[i] = arch_dim_value(&m->hp, d->ne[i]);
    bool ok = true;
    for (int i = 0; i < GGUF_MAX_DIMS; i++)
        ok = ok && t->ne[i] == want[i];
    if (!ok) {
        char ws[96], gs[96];
        fmt_dims(ws, sizeof(ws), want, d->n_dims);
        fmt_dims(gs, sizeof(gs), t->ne, t->n_dims);
        return err_set_off(err, ASSAY_EINVAL, path, v ? -1 : (int64_t)t->info_offset,
                           "tensor '%s: expected dims %s, got %s", shown, ws, gs);
    }
    const struct quant_traits *tr = quant_traits_of(t->type);
    if (!tr || !tr->dequantize)
        return err_set_off(err, ASSAY_EUNSUPPORTED, path, v ? -1 : (int64_t)t->info_offset,
                           "tensor '%s: type %s is not supported", shown,
                           tr ? tr->name : "unknown");
    *out = t;
    return 0;
}

static void bind_weight(struct model_weight *w, const struct gguf_tensor *t)
{
    w->data = t->data;
    w->type = t->type;
    w->n_cols = t->ne[0];
    w->n_rows = t->ne[1];
}

static int bind_tensors(struct model *m, struct assay_error *err)
{
    const struct arch_hparams *hp = &m->hp;
    size_t n_desc;
    const struct arch_tensor_desc *descs = arch_tensors(&n_desc);
    /* Norm floats: output_norm + per layer at most 4 * n_embd + 2 * head_dim. */
    size_t per_layer = 0, total = 0;
    if (!ck_mul(&per_layer, 4, (size_t)hp->n_embd) ||
        !ck_add(&per_layer, per_layer, 2 * (size_t)hp->head_dim) ||
        !ck_mul(&total, per_layer, (size_t)hp->n_layer) ||
        !ck_add(&total, total, (size_t)hp->n_embd))
        return err_set(err, ASSAY_ELIMIT, "norm weights: size overflows");
    m->norms = mem_alloc_array(total, sizeof(float));
    m->layers = mem_calloc_array((size_t)hp->n_layer, sizeof(*m->layers));
    m->rope = mem_alloc_array((size_t)hp->n_layer * (size_t)(hp->head_dim / 2), sizeof(float));
    if (!m->norms || !m->layers || !m->rope)
        return err_set(err, ASSAY_ENOMEM, "out of memory binding tensors");
    size_t norm_used = 0;

    for (size_t di = 0; di < n_desc; di++) {
        const struct arch_tensor_desc *d = &descs[di];
        int64_t n_l = d->per_layer ? hp->n_layer : 1;
        for (int64_t il = 0; il < n_l; il++) {
            const struct gguf_tensor *t;
            int rc = find_checked(&t, m, d, il, err);
            if (rc)
                return rc;
            if (!t)
                continue;
            if (d->is_norm) {
                /* Small: convert once to float32 (GGUF has them F32 already). */
                float *dst = m->norms + norm_used;
                if (norm_used + (size_t)t->ne[0] > total)
                    return err_set(err, ASSAY_EFAIL, "norm weights exceed their buffer");
                quant_traits_of(t->type)->dequantize(t->data, dst, t->ne[0]);
                norm_used += (size_t)t->ne[0];
                struct model_layer *L = &m->layers[il];
                switch (d->role) {
                case ARCH_T_OUTPUT_NORM:
                    m->output_norm = dst;
                    break;
                case ARCH_T_ATTN_NORM:
                    L->attn_norm = dst;
                    break;
                case ARCH_T_ATTN_Q_NORM:
                    L->attn_q_norm = dst;
                    break;
                case ARCH_T_ATTN_K_NORM:
                    L->attn_k_norm = dst;
                    break;
                case ARCH_T_POST_ATTN_NORM:
                    L->post_attn_norm = dst;
                    break;
                case ARCH_T_FFN_NORM:
                    L->ffn_norm = dst;
                    break;
                case ARCH_T_POST_FFW_NORM:
                    L->post_ffw_norm = dst;
                    break;
                default:
                    break;
                }
                continue;
            }
            struct model_layer *L = &m->layers[il];
            struct model_weight *w = NULL;
            switch (d->role) {
            case ARCH_T_TOKEN_EMBD:
                w = &m->token_embd;
                break;
            case ARCH_T_OUTPUT:
                w = &m->output;
                break;
            case ARCH_T_ATTN_Q:
                w = &L->wq;
                break;
            case ARCH_T_ATTN_K:
                w = &L->wk;
                break;
            case ARCH_T_ATTN_V:
                w = &L->wv;
                break;
            case ARCH_T_ATTN_OUTPUT:
                w = &L->wo;
                break;
            case ARCH_T_FFN_GATE:
                w = &L->gate;
                break;
            case ARCH_T_FFN_UP:
                w = &L->up;
                break;
            case ARCH_T_FFN_DOWN:
                w = &L->down;
                break;
            default:
                break;
            }
            if (w)
                bind_weight(w, t);
        }
    }
    if (!m->output.data)
        m->output = m->token_embd; /* tied embeddings */

    /* Layers with the same frequencies share one array (gemma3: one for the local layers,
     * one for the global ones), so that a decode step tells the sets apart by address
     * (rope_table) rather than by comparing arrays that the weight stream has evicted. */
    int64_t half = hp->head_dim / 2;
    for (int64_t il = 0; il < hp->n_layer; il++) {
        float *f = m->rope + il * half;
        kern_rope_freqs(f, (int)hp->head_dim, hp->layer[il].rope_base,
                        hp->layer[il].rope_freq_scale);
        m->layers[il].rope_inv_freq = f;
        for (int64_t j = 0; j < il; j++)
            if (memcmp(m->layers[j].rope_inv_freq, f, (size_t)half * sizeof(float)) == 0) {
                m->layers[il].rope_inv_freq = m->layers[j].rope_inv_freq;
                break;
            }
    }
    return 0;
}

int model_load(struct model **out, const struct gguf *g, struct assay_error *err)
{
    *out = NULL;
    struct model *m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    m->g = g;
    int rc = arch_hparams_from_gguf(&m->hp, g, err);
    if (rc)
        goto out;
    rc = bind_tensors(m, err);
    if (rc)
        goto out;
    *out = m;
    return 0;
out:
    model_free(m);
    return rc;
}

int model_load_views(struct model **out, const struct gguf *meta, const struct model_view *views,
                     size_t n_views, struct assay_error *err)
{
    *out = NULL;
    struct model *m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    m->g = meta;
    m->views = views;
    m->n_views = n_views;
    const struct model_view *te = find_view(m, "token_embd.weight");
    int rc = arch_hparams_from_meta(&m->hp, meta, te ? &te->t : NULL, err);
    if (rc)
        goto out;
    rc = bind_tensors(m, err);
    if (rc)
        goto out;
    *out = m;
    return 0;
out:
    model_free(m);
    return rc;
}

int model_open(struct model **out, const char *gguf_path, struct assay_error *err)
{
    *out = NULL;
    struct gguf *g = NULL;
    int rc = gguf_open(&g, gguf_path, err);
    if (rc)
        return rc;
    rc = model_load(out, g, err);
    if (rc) {
        gguf_close(g);
        return rc;
    }
    (*out)->owned = g;
    return 0;
}

/* Every matrix weight of m, for model_repack and model_free (output is separate even
 * when tied: token_embd is never packed, its rows are looked up). */
static size_t model_weights(struct model *m, struct model_weight **w, size_t cap)
{
    size_t n = 0;
    if (n < cap)
        w[n++] = &m->output;
    for (int64_t il = 0; il < m->hp.n_layer && m->layers; il++) {
        struct model_layer *L = &m->layers[il];
        struct model_weight *lw[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (size_t i = 0; i < sizeof(lw) / sizeof(lw[0]) && n < cap; i++)
            w[n++] = lw[i];
    }
    return n;
}

static int cmp_span(const void *a, const void *b)
{
    const uintptr_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* After repacking, the file's pages this process still holds are ones nothing reads per
 * token: the header and the tokenizer's metadata (megabytes at a 262,144-piece vocabulary),
 * norm vectors (copied at load), the partial pages at the ends of packed matrices. Release
 * all of the mapping but the matrices still read in place (and token_embd, when its rows
 * are not looked up in a packed copy): 270m Q4_0's peak RSS drops by 7.8 MiB. Whatever is
 * read again faults back in from the page cache. */
static void drop_unused_pages(const struct model *m, struct model_weight **w, size_t n)
{
    const uint8_t *base = gguf_file_data(m->g);
    size_t size = gguf_file_size(m->g);
    uintptr_t(*keep)[2] = mem_alloc_array(n + 1, sizeof(*keep));
    if (!keep || !base)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        const struct model_weight *x = i < n ? w[i] : &m->token_embd;
        bool tied_packed = i == n && m->output.packed.data && m->output.data == x->data;
        size_t bytes;
        if (!x->data || x->packed.data || tied_packed ||
            !quant_row_bytes(x->type, x->n_cols, &bytes) || !ck_mul(&bytes, bytes, (size_t)x->n_rows))
            continue;
        keep[k][0] = (uintptr_t)x->data;
        keep[k++][1] = (uintptr_t)x->data + bytes;
    }
    qsort(keep, k, sizeof(*keep), cmp_span);
    /* drop the gaps between kept spans; file_map_drop keeps the partial pages at their ends */
    uintptr_t at = (uintptr_t)base, end = (uintptr_t)base + size;
    for (size_t i = 0; i <= k; i++) {
        uintptr_t to = i < k ? keep[i][0] : end;
        if (to > at)
            file_map_drop((const void *)at, to - at);
        if (i < k && keep[i][1] > at)
            at = keep[i][1];
    }
out:
    free(keep);
}

/* F16 / BF16 matrices are packed when their rows are this short or shorter (2 KiB). */
#define MODEL_PACK_FLOAT_COLS_MAX 1024

/* Whether model_repack copies x into the packed layout. */
static bool repack_this(const struct model_weight *x, bool drop)
{
    if (x->packed.data || !x->data || !kern_pack_supported(x->type, x->n_rows, x->n_cols))
        return false;
    /* Float matrices gain a contiguous stream, not a smaller one. It pays for short rows
     * only, where 8 rows are 8 streams too short for the hardware prefetcher (F16 262144 x
     * 640, one token: 14-18 -> 31-40 GB/s; 16384 x 2048: within noise, while copying 2b
     * F16's 5 GB took 3-5 s at load). And only where the file's pages are released as the
     * copy is made: never the weights twice. */
    bool is_float = x->type == QUANT_TYPE_F16 || x->type == QUANT_TYPE_BF16;
    return !is_float || (drop && x->n_cols <= MODEL_PACK_FLOAT_COLS_MAX);
}

int model_repack(struct model *m, int n_threads, struct assay_error *err)
{
    if (m->pack_arena)
        return 0; /* done */
    size_t cap = 1 + 7 * (size_t)m->hp.n_layer;
    struct model_weight **w = mem_alloc_array(cap, sizeof(*w));
    if (!w)
        return err_set(err, ASSAY_ENOMEM, "out of memory repacking weights");
    /* views (HF directories) may not be file mappings: keep their pages */
    bool drop = !m->views && m->g && gguf_is_file_mapped(m->g);
    size_t n = model_weights(m, w, cap);
    /* One allocation for every packed matrix, in the order decoding reads them: the small
     * ones (270m: 92-737 KB) then sit on huge pages too, where separately each got 4 KiB
     * pages (a huge page each would have wasted up to 2 MB), and one matrix's stream runs
     * into the next. Measured in DESIGN.md (engine). */
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (repack_this(w[i], drop))
            total += (kern_packed_bytes(w[i]->type, w[i]->n_rows, w[i]->n_cols) + 63) & ~(size_t)63;
    if (total == 0)
        goto done;
    if (!(m->pack_arena = kern_pack_alloc(total))) {
        free(w);
        return err_set(err, ASSAY_ENOMEM, "out of memory repacking weights (%zu bytes)", total);
    }
    uint8_t *at = m->pack_arena;
    for (size_t i = 0; i < n; i++) {
        struct model_weight *x = w[i];
        if (!repack_this(x, drop))
            continue;
        /* a matrix shared with token_embd (tied) drops its pages too: the embedding
         * lookup reads one row per token, and those pages fault back in from the cache */
        kern_pack_into(&x->packed, at, x->data, x->type, x->n_rows, x->n_cols, drop, n_threads);
        at += (x->packed.bytes + 63) & ~(size_t)63;
    }
done:
    if (drop)
        drop_unused_pages(m, w, n);
    free(w);
    return 0;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    if (m->layers) {
        struct model_weight *w[1 + 7 * ARCH_LAYER_MAX];
        size_t n = model_weights(m, w, sizeof(w) / sizeof(w[0]));
        for (size_t i = 0; i < n; i++)
            kern_packed_free(&w[i]->packed);
    }
    free(m->pack_arena);
    free(m->norms);
    free(m->layers);
    free(m->rope);
    gguf_close(m->owned);
    free(m);
}

const struct arch_hparams *model_hparams(const struct model *m)
{
    return &m->hp;
}

const struct gguf *model_gguf(const struct model *m)
{
    return m->g;
}

/* ---- context ------------------------------------------------------------------------- */

void model_ctx_params_default(struct model_ctx_params *p)
{
    memset(p, 0, sizeof(*p));
    p->n_ctx = 0;
    p->n_seq_max = 1;
    p->n_batch_max = 512;
    p->n_logits_max = 0;
    p->n_threads = 1;
    p->matmul_ref = false;
    p->act = KERN_ACT_DEFAULT;
}

const struct model_ctx_params *model_ctx_params(const struct model_ctx *c)
{
    return &c->p;
}

void model_ctx_free(struct model_ctx *c)
{
    if (!c)
        return;
    free(c->k_cache);
    free(c->v_cache);
    free(c->seq_len);
    free(c->seq_tmp);
    free(c->x);
    free(c->xn);
    free(c->phase);
    free(c->out_x);
    free(c->logits);
    free(c->pos_out);
    free(c->kp);
    free(c->vp);
    free(c->attn_scratch);
    free(c->rope_cs[0]);
    free(c->rope_cs[1]);
    free(c->mm_scratch);
    free(c->embd_row);
    free(c);
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Scratch for every matmul of the model over up to n_tok rows. */
static size_t mm_scratch_need(const struct model *m, int64_t n_tok, int64_t n_out)
{
    size_t need = kern_matmul_scratch_bytes(m->output.type, m->output.n_cols, n_out);
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        const struct model_layer *L = &m->layers[il];
        const struct model_weight *ws[] = {&L->wq,   &L->wk, &L->wv,  &L->wo,
                                           &L->gate, &L->up, &L->down};
        for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++)
            need = max_sz(need, kern_matmul_scratch_bytes(ws[i]->type, ws[i]->n_cols, n_tok));
    }
    return need;
}

/* n_rows x width floats, overflow-checked; NULL on overflow or failure. */
static float *alloc_f(int64_t n_rows, int64_t width)
{
    size_t n;
    if (n_rows <= 0 || width <= 0 || !ck_mul(&n, (size_t)n_rows, (size_t)width) ||
        !ck_mul(&n, n, sizeof(float)))
        return NULL;
    return mem_alloc_aligned(64, (n + 63) / 64 * 64);
}

int model_ctx_new(struct model_ctx **out, const struct model *m, const struct model_ctx_params *p,
                  struct assay_error *err)
{
    *out = NULL;
    const struct arch_hparams *hp = &m->hp;
    struct model_ctx_params q = *p;
    if (q.n_ctx == 0)
        q.n_ctx = hp->n_ctx_train > INT32_MAX ? INT32_MAX : (int32_t)hp->n_ctx_train;
    if (q.n_logits_max == 0)
        q.n_logits_max = q.n_batch_max;
    if (q.n_ctx < 1 || q.n_seq_max < 1 || q.n_batch_max < 1 || q.n_logits_max < 1 ||
        q.n_logits_max > q.n_batch_max || q.n_threads < 1)
        return err_set(err, ASSAY_EUSAGE,
                       "context parameters: n_ctx %d, n_seq_max %d, n_batch_max %d, "
                       "n_logits_max %d, n_threads %d must be positive (n_logits_max <= "
                       "n_batch_max)",
                       q.n_ctx, q.n_seq_max, q.n_batch_max, q.n_logits_max, q.n_threads);

    int rc = ASSAY_ENOMEM;
    struct model_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    c->m = m;
    c->p = q;
    c->kv_dim = hp->n_head_kv * hp->head_dim;

    size_t cache_n;
    if (!ck_mul(&cache_n, (size_t)q.n_seq_max, (size_t)hp->n_layer) ||
        !ck_mul(&cache_n, cache_n, (size_t)q.n_ctx) ||
        !ck_mul(&cache_n, cache_n, (size_t)c->kv_dim) ||
        !ck_mul(&cache_n, cache_n, sizeof(float))) {
        rc = err_set(err, ASSAY_ELIMIT, "kv cache of %d sequences x %d positions overflows",
                     q.n_seq_max, q.n_ctx);
        goto out;
    }
    /* calloc: untouched positions read as zeros, never as garbage. */
    c->k_cache = calloc(1, cache_n);
    c->v_cache = calloc(1, cache_n);
    c->seq_len = mem_calloc_array((size_t)q.n_seq_max, sizeof(int32_t));
    c->seq_tmp = mem_calloc_array((size_t)q.n_seq_max, sizeof(int32_t));
    int64_t B = q.n_batch_max;
    c->x = alloc_f(B, hp->n_embd);
    c->xn = alloc_f(B, hp->n_embd);
    /* arch_load bounds every width (at most 2^24), so these sums cannot overflow */
    int64_t qd = hp->n_head * hp->head_dim, attn_w = 2 * qd + 2 * c->kv_dim;
    int64_t ffn_w = 2 * hp->n_ff;
    c->phase = alloc_f(B, attn_w > ffn_w ? attn_w : ffn_w);
    if (c->phase) {
        c->q = c->phase;
        c->k = c->q + B * qd;
        c->v = c->k + B * c->kv_dim;
        c->att = c->v + B * c->kv_dim;
        c->gate = c->phase;
        c->up = c->gate + B * hp->n_ff;
    }
    c->o = c->xn;
    c->out_x = alloc_f(q.n_logits_max, hp->n_embd);
    c->logits = alloc_f(q.n_logits_max, hp->n_vocab);
    c->pos_out = mem_alloc_array((size_t)B, sizeof(int32_t));
    c->kp = mem_alloc_array((size_t)B, sizeof(*c->kp));
    c->vp = mem_alloc_array((size_t)B, sizeof(*c->vp));
    c->attn_scratch_floats =
        kern_attention_scratch_floats((int)hp->n_head, (int)hp->head_dim, q.n_ctx);
    c->attn_scratch = alloc_f(1, (int64_t)c->attn_scratch_floats);
    c->rope_cs[0] = alloc_f(B, hp->head_dim);
    c->rope_cs[1] = alloc_f(B, hp->head_dim);
    if (!c->k_cache || !c->v_cache || !c->seq_len || !c->seq_tmp || !c->x || !c->xn ||
        !c->phase || !c->out_x || !c->logits ||
        !c->pos_out || !c->kp || !c->vp || !c->attn_scratch || !c->rope_cs[0] || !c->rope_cs[1]) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory for a context of %d x %d positions",
                     q.n_seq_max, q.n_ctx);
        goto out;
    }
    size_t mm = mm_scratch_need(m, B, q.n_logits_max);
    if (mm) {
        c->mm_scratch = mem_alloc_aligned(64, (mm + 63) / 64 * 64);
        if (!c->mm_scratch) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory for %zu bytes of matmul scratch", mm);
            goto out;
        }
    }
    if (!quant_row_bytes(m->token_embd.type, m->hp.n_embd, &c->embd_row_bytes) ||
        !(c->embd_row = malloc(c->embd_row_bytes))) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory for an embedding row");
        goto out;
    }
    c->kc.n_threads = q.n_threads;
    c->kc.act = q.act;
    c->kc.scratch = c->mm_scratch;
    c->kc.scratch_bytes = mm;
    *out = c;
    return 0;
out:
    model_ctx_free(c);
    return rc;
}

/* ---- sequences ----------------------------------------------------------------------- */

int32_t model_seq_len(const struct model_ctx *c, int32_t seq)
{
    if (seq < 0 || seq >= c->p.n_seq_max)
        return -1;
    return c->seq_len[seq];
}

static int check_seq(const struct model_ctx *c, int32_t seq, struct assay_error *err)
{
    if (seq < 0 || seq >= c->p.n_seq_max)
        return err_set(err, ASSAY_EUSAGE, "sequence %d out of range 0..%d", seq,
                       c->p.n_seq_max - 1);
    return 0;
}

int model_seq_clear(struct model_ctx *c, int32_t seq, struct assay_error *err)
{
    int rc = check_seq(c, seq, err);
    if (rc)
        return rc;
    c->seq_len[seq] = 0;
    return 0;
}

int model_seq_truncate(struct model_ctx *c, int32_t seq, int32_t n, struct assay_error *err)
{
    int rc = check_seq(c, seq, err);
    if (rc)
        return rc;
    if (n < 0)
        return err_set(err, ASSAY_EUSAGE, "truncate sequence %d to %d positions", seq, n);
    if (n < c->seq_len[seq])
        c->seq_len[seq] = n;
    return 0;
}

static float *cache_at(float *cache, const struct model_ctx *c, int32_t seq, int64_t il,
                       int64_t pos)
{
    size_t row =
        ((size_t)seq * (size_t)c->m->hp.n_layer + (size_t)il) * (size_t)c->p.n_ctx + (size_t)pos;
    return cache + row * (size_t)c->kv_dim;
}

int model_seq_copy(struct model_ctx *c, int32_t src, int32_t dst, int32_t n,
                   struct assay_error *err)
{
    int rc = check_seq(c, src, err);
    if (rc)
        return rc;
    rc = check_seq(c, dst, err);
    if (rc)
        return rc;
    if (n < 0 || n > c->seq_len[src])
        return err_set(err, ASSAY_EUSAGE, "copy %d positions of sequence %d, which holds %d", n,
                       src, c->seq_len[src]);
    if (src == dst) {
        c->seq_len[dst] = n;
        return 0;
    }
    size_t bytes = (size_t)n * (size_t)c->kv_dim * sizeof(float);
    for (int64_t il = 0; il < c->m->hp.n_layer && n > 0; il++) {
        memcpy(cache_at(c->k_cache, c, dst, il, 0), cache_at(c->k_cache, c, src, il, 0), bytes);
        memcpy(cache_at(c->v_cache, c, dst, il, 0), cache_at(c->v_cache, c, src, il, 0), bytes);
    }
    c->seq_len[dst] = n;
    return 0;
}

/* ---- forward ------------------------------------------------------------------------- */

static void mm(struct model_ctx *c, float *y, const struct model_weight *w, const float *x,
               int64_t n_tok)
{
    if (c->p.matmul_ref)
        kern_matmul_ref(y, w->data, w->type, x, w->n_rows, w->n_cols, n_tok);
    else if (!w->packed.data || kern_matmul_packed(y, &w->packed, x, n_tok, &c->kc) != 0)
        kern_matmul(y, w->data, w->type, x, w->n_rows, w->n_cols, n_tok, &c->kc);
}

/* y[i] = x . w[i]^T for products with one input (q, k, v; gate, up): one
 * kern_matmul_packed_n call when all are packed, so they share one parallel region and the
 * small ones are not left to one thread; else one mm each. Same bits either way. */
static void mm_n(struct model_ctx *c, float *const *y, const struct model_weight *const *w,
                 int n, const float *x, int64_t n_tok)
{
    const struct kern_packed *p[3];
    bool packed = !c->p.matmul_ref && n <= 3;
    for (int i = 0; i < n && packed; i++) {
        p[i] = &w[i]->packed;
        packed = p[i]->data != NULL;
    }
    if (packed && kern_matmul_packed_n(y, p, n, x, n_tok, &c->kc) == 0)
        return;
    for (int i = 0; i < n; i++)
        mm(c, y[i], w[i], x, n_tok);
}

/* The cos / sin table of this batch's positions for inv_freq: one already computed in this
 * model_decode for the same frequencies (the same array: layers with equal frequencies
 * share one), else a new one. */
static const float *rope_table(struct model_ctx *c, const float *inv_freq, const int32_t *pos,
                               int64_t n_tok)
{
    int hd = (int)c->m->hp.head_dim;
    int s = 0;
    for (; s < 2 && c->rope_src[s]; s++)
        if (c->rope_src[s] == inv_freq) /* equal sets share one array (bind_tensors) */
            return c->rope_cs[s];
    if (s == 2) /* a third set (no Gemma has one): recompute in the second table */
        s = 1;
    kern_rope_table(c->rope_cs[s], pos, n_tok, hd, inv_freq, c->p.n_threads);
    c->rope_src[s] = inv_freq;
    return c->rope_cs[s];
}

static int check_batch(struct model_ctx *c, const struct model_batch *b, int32_t *n_out,
                       struct assay_error *err)
{
    const struct arch_hparams *hp = &c->m->hp;
    if (b->n_tok < 1 || b->n_tok > c->p.n_batch_max)
        return err_set(err, b->n_tok < 1 ? ASSAY_EUSAGE : ASSAY_ELIMIT,
                       "batch of %d tokens (1..%d per batch)", b->n_tok, c->p.n_batch_max);
    if (!b->token || !b->pos || !b->seq_id)
        return err_set(err, ASSAY_EUSAGE, "batch without token, pos or seq_id arrays");
    memcpy(c->seq_tmp, c->seq_len, (size_t)c->p.n_seq_max * sizeof(int32_t));
    int32_t outs = 0;
    for (int32_t t = 0; t < b->n_tok; t++) {
        int32_t s = b->seq_id[t];
        if (s < 0 || s >= c->p.n_seq_max)
            return err_set(err, ASSAY_EUSAGE, "batch token %d: sequence %d out of range 0..%d", t,
                           s, c->p.n_seq_max - 1);
        if (b->token[t] < 0 || b->token[t] >= hp->n_vocab)
            return err_set(err, ASSAY_EINVAL, "batch token %d: id %d outside the vocabulary (%lld)",
                           t, b->token[t], (long long)hp->n_vocab);
        if (b->pos[t] >= c->p.n_ctx)
            return err_set(err, ASSAY_ELIMIT,
                           "batch token %d: position %d past the context (%d positions)", t,
                           b->pos[t], c->p.n_ctx);
        if (b->pos[t] != c->seq_tmp[s])
            return err_set(err, ASSAY_EUSAGE,
                           "batch token %d: position %d does not continue sequence %d (next "
                           "position %d)",
                           t, b->pos[t], s, c->seq_tmp[s]);
        c->seq_tmp[s]++;
        bool want = b->want_logits ? b->want_logits[t] : t == b->n_tok - 1;
        outs += want;
    }
    if (outs > c->p.n_logits_max)
        return err_set(err, ASSAY_ELIMIT, "batch wants %d logit rows (at most %d)", outs,
                       c->p.n_logits_max);
    *n_out = outs;
    return 0;
}

int model_decode(struct model_ctx *c, const struct model_batch *b, struct assay_error *err)
{
    int32_t n_out = 0;
    int rc = check_batch(c, b, &n_out, err);
    if (rc)
        return rc;
    const struct model *m = c->m;
    const struct arch_hparams *hp = &m->hp;
    const int nt = c->p.n_threads;
    const int64_t E = hp->n_embd, hd = hp->head_dim;
    int64_t T = b->n_tok; /* rows in flight; the last layer keeps only the output rows */
    const int32_t *pos = b->pos;
    const int64_t qd = hp->n_head * hd, kvd = c->kv_dim;
    c->rope_src[0] = c->rope_src[1] = NULL; /* tables are per batch */

    /* Embeddings: dequantize rows of token_embd (n_vocab, n_embd), scale by sqrt(n_embd). */
    const struct quant_traits *tr = quant_traits_of(m->token_embd.type);
    size_t row_bytes = 0;
    quant_row_bytes(m->token_embd.type, E, &row_bytes);
    /* tied and packed: the row comes back from the packed copy (its file pages were
     * released; reading them would map them again, 2 MB at a time with file THP) */
    const struct kern_packed *tied =
        m->output.packed.data && m->output.data == m->token_embd.data ? &m->output.packed : NULL;
    for (int64_t t = 0; t < T; t++) {
        float *xt = c->x + t * E;
        const uint8_t *row = (const uint8_t *)m->token_embd.data + (size_t)b->token[t] * row_bytes;
        if (tied && row_bytes <= c->embd_row_bytes &&
            kern_packed_row(tied, b->token[t], c->embd_row) == 0)
            row = c->embd_row;
        tr->dequantize(row, xt, E);
        for (int64_t i = 0; i < E; i++)
            xt[i] *= hp->embd_scale;
    }

    for (int64_t il = 0; il < hp->n_layer; il++) {
        const struct model_layer *L = &m->layers[il];
        const struct arch_layer *AL = &hp->layer[il];

        /* Attention block. */
        kern_rmsnorm(c->xn, c->x, L->attn_norm, E, T, hp->rms_eps, nt);
        float *const qkv[3] = {c->q, c->k, c->v};
        const struct model_weight *const wqkv[3] = {&L->wq, &L->wk, &L->wv};
        /* A decode step's attention splits the keys over the threads (kern_attention):
         * each thread fetches its part of this layer's KV rows while waiting at the end
         * of the q/k/v product, rather than from DRAM inside the attention. */
        struct kern_prefetch kv_pf = {{NULL, NULL}, 0};
        if (b->n_tok == 1 && b->pos[0] > 0) {
            int64_t lo = AL->is_local && AL->window > 0 && b->pos[0] >= AL->window
                             ? b->pos[0] - AL->window + 1
                             : 0;
            kv_pf.p[0] = cache_at(c->k_cache, c, b->seq_id[0], il, lo);
            kv_pf.p[1] = cache_at(c->v_cache, c, b->seq_id[0], il, lo);
            kv_pf.bytes = (size_t)(b->pos[0] - lo) * (size_t)kvd * sizeof(float);
            c->kc.after = &kv_pf;
        }
        mm_n(c, qkv, wqkv, 3, c->xn, T);
        c->kc.after = NULL;
        if (hp->has_qk_norm) {
            kern_rmsnorm(c->q, c->q, L->attn_q_norm, hd, T * hp->n_head, hp->rms_eps, nt);
            kern_rmsnorm(c->k, c->k, L->attn_k_norm, hd, T * hp->n_head_kv, hp->rms_eps, nt);
        }
        const float *cs = rope_table(c, L->rope_inv_freq, b->pos, T);
        kern_rope_neox_table(c->q, T, qd, (int)hp->n_head, (int)hd, cs, nt);
        kern_rope_neox_table(c->k, T, kvd, (int)hp->n_head_kv, (int)hd, cs, nt);
        for (int64_t t = 0; t < T; t++) {
            int32_t s = b->seq_id[t];
            memcpy(cache_at(c->k_cache, c, s, il, b->pos[t]), c->k + t * kvd,
                   (size_t)kvd * sizeof(float));
            memcpy(cache_at(c->v_cache, c, s, il, b->pos[t]), c->v + t * kvd,
                   (size_t)kvd * sizeof(float));
            c->kp[t] = cache_at(c->k_cache, c, s, il, 0);
            c->vp[t] = cache_at(c->v_cache, c, s, il, 0);
        }
        struct kern_attn_params ap = {
            .n_head = (int)hp->n_head,
            .n_head_kv = (int)hp->n_head_kv,
            .head_dim = (int)hd,
            .scale = hp->query_scale,
            .softcap = hp->attn_softcap,
            .window = AL->is_local ? AL->window : 0,
        };
        if (il == hp->n_layer - 1) {
            /* Last layer: every token's keys and values are in the cache; from here on
             * only the rows that want logits matter (rows are independent), so keep just
             * those, in batch order. Compacting forward in place is safe (i <= t). */
            int64_t i = 0;
            for (int64_t t = 0; t < T; t++) {
                bool want = b->want_logits ? b->want_logits[t] : t == T - 1;
                if (!want)
                    continue;
                if (i != t) {
                    memmove(c->q + i * qd, c->q + t * qd, (size_t)qd * sizeof(float));
                    memmove(c->x + i * E, c->x + t * E, (size_t)E * sizeof(float));
                    c->kp[i] = c->kp[t];
                    c->vp[i] = c->vp[t];
                }
                c->pos_out[i] = b->pos[t];
                i++;
            }
            T = i;
            pos = c->pos_out;
            if (T == 0)
                break;
        }
        kern_attention(c->att, c->q, c->kp, c->vp, pos, T, &ap, c->attn_scratch,
                       (int64_t)c->attn_scratch_floats, nt);
        mm(c, c->o, &L->wo, c->att, T);
        if (hp->has_post_norms)
            kern_rmsnorm(c->o, c->o, L->post_attn_norm, E, T, hp->rms_eps, nt);
        kern_add(c->x, c->o, T * E, nt);

        /* Feed-forward block (GeGLU). */
        kern_rmsnorm(c->xn, c->x, L->ffn_norm, E, T, hp->rms_eps, nt);
        float *const gu[2] = {c->gate, c->up};
        const struct model_weight *const wgu[2] = {&L->gate, &L->up};
        mm_n(c, gu, wgu, 2, c->xn, T);
        kern_geglu(c->gate, c->up, T * hp->n_ff, nt);
        mm(c, c->o, &L->down, c->gate, T);
        if (hp->has_post_norms)
            kern_rmsnorm(c->o, c->o, L->post_ffw_norm, E, T, hp->rms_eps, nt);
        kern_add(c->x, c->o, T * E, nt);
    }

    /* Output: x now holds exactly the n_out rows that want logits. */
    if (n_out > 0) {
        kern_rmsnorm(c->out_x, c->x, m->output_norm, E, n_out, hp->rms_eps, nt);
        mm(c, c->logits, &m->output, c->out_x, n_out);
        kern_softcap(c->logits, (int64_t)n_out * hp->n_vocab, hp->final_softcap, nt);
    }
    c->n_out = n_out;
    for (int64_t t = 0; t < b->n_tok; t++)
        c->seq_len[b->seq_id[t]] = b->pos[t] + 1;
    return 0;
}

int32_t model_n_logits(const struct model_ctx *c)
{
    return c->n_out;
}

const float *model_logits(const struct model_ctx *c, int32_t i)
{
    if (i < 0 || i >= c->n_out)
        return NULL;
    return c->logits + (size_t)i * (size_t)c->m->hp.n_vocab;
}
