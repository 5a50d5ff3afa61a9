/*
 * engine/rgemma.c - RecurrentGemma (Griffin) model and forward pass; see rgemma.h.
 *
 * Layout of a forward call over T tokens of one sequence: activations are (T, width)
 * row-major; every matrix product goes through kern_matmul (any thread count gives the
 * same bits). The Conv1D and the RG-LRU scan are small serial kernels of this file
 * (marked "kernel" below); the ring-buffer local attention is kern_attention_ring in
 * kern_ops.c, where the engine's OpenMP lives (over (token, head) pairs, each output
 * computed by one thread in a fixed order).
 */
#include "engine/rgemma.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "engine/kern.h"
#include "engine/kern_ops.h"
#include "engine/quant.h"

/* ---- config ---------------------------------------------------------------------------- */

static int cfg_int(const json_t *root, const char *key, int64_t def, int64_t lo, int64_t hi,
                   int64_t *out, const char *path, struct assay_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (def < lo)
            return err_set_at(err, ASSAY_EINVAL, path, 0, "'%s' is missing", key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return err_set_at(err, ASSAY_EINVAL, path, 0, "'%s' is not an integer", key);
    int64_t x = (int64_t)json_integer_value(v);
    if (x < lo || x > hi)
        return err_set_at(err, ASSAY_EINVAL, path, 0, "'%s' = %lld is out of range [%lld, %lld]",
                          key, (long long)x, (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

static int cfg_num(const json_t *root, const char *key, double def, double lo, double hi,
                   double *out, const char *path, struct assay_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v))
        return err_set_at(err, ASSAY_EINVAL, path, 0, "'%s' is not a number", key);
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return err_set_at(err, ASSAY_EINVAL, path, 0, "'%s' = %g is out of range [%g, %g]", key, x,
                          lo, hi);
    *out = x;
    return 0;
}

int rg_config_parse(struct rg_config *out, const char *json_text, size_t len, const char *path,
                    struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root = NULL;
    int rc = jsn_load_buf(&root, json_text, len, path, 1, err);
    if (rc)
        return rc;
    if (!json_is_object(root)) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "config is not a JSON object");
        goto out;
    }
    const char *mt = jsn_str(root, "model_type", NULL);
    if (!mt) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "'model_type' is missing");
        goto out;
    }
    if (strcmp(mt, "recurrent_gemma") != 0) {
        rc = err_set_at(err, ASSAY_EUNSUPPORTED, path, 0, "model_type '%s' is not recurrent_gemma",
                        mt);
        goto out;
    }
    const char *act = jsn_str(root, "hidden_activation", "gelu_pytorch_tanh");
    if (strcmp(act, "gelu_pytorch_tanh") != 0 && strcmp(act, "gelu") != 0) {
        rc = err_set_at(err, ASSAY_EUNSUPPORTED, path, 0, "hidden_activation '%s' is not supported",
                        act);
        goto out;
    }
    int64_t v = 0;
#define GETI(key, def, lo, hi, dst)                                                                \
    do {                                                                                           \
        rc = cfg_int(root, key, def, lo, hi, &v, path, err);                                       \
        if (rc)                                                                                    \
            goto out;                                                                              \
        dst = v;                                                                                   \
    } while (0)
    GETI("vocab_size", -1, 1, 1 << 24, out->n_vocab);
    GETI("hidden_size", -1, 1, 1 << 16, out->width);
    GETI("lru_width", out->width, 1, 1 << 16, out->lru_width);
    int64_t inter = 0;
    GETI("intermediate_size", -1, 2, 1 << 20, inter);
    GETI("num_hidden_layers", -1, 1, RG_MAX_LAYERS, out->n_layer);
    GETI("num_attention_heads", -1, 1, 1024, out->n_head);
    GETI("num_key_value_heads", out->n_head, 1, 1024, out->n_head_kv);
    GETI("head_dim", out->width / out->n_head, 2, 4096, out->head_dim);
    GETI("attention_window_size", -1, 1, 1 << 20, out->window);
    GETI("conv1d_width", 4, 1, 64, out->conv_width);
    GETI("bos_token_id", 2, -1, 1 << 24, out->bos_id);
    GETI("eos_token_id", 1, -1, 1 << 24, out->eos_id);
    GETI("pad_token_id", 0, -1, 1 << 24, out->pad_id);
#undef GETI
    if (inter % 2) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "'intermediate_size' %lld is odd",
                        (long long)inter);
        goto out;
    }
    out->mlp_width = inter / 2; /* HF stores 2 x the official mlp_expanded_width */
    if (out->n_head % out->n_head_kv || (int64_t)out->n_head * out->head_dim != out->width ||
        out->lru_width % out->n_head) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                        "heads do not fit: %d heads x %d dims vs width %lld, %d kv heads, "
                        "lru_width %lld",
                        out->n_head, out->head_dim, (long long)out->width, out->n_head_kv,
                        (long long)out->lru_width);
        goto out;
    }
    double d = 0;
    rc = cfg_num(root, "partial_rotary_factor", 0.5, 0.0, 1.0, &d, path, err);
    if (rc)
        goto out;
    out->rope_dims = (int32_t)(out->head_dim * d);
    if (out->rope_dims % 2) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "rotary dims %d are odd", out->rope_dims);
        goto out;
    }
    rc = cfg_num(root, "rope_theta", 10000.0, 1.0, 1e12, &d, path, err);
    if (rc)
        goto out;
    out->rope_theta = (float)d;
    rc = cfg_num(root, "logits_soft_cap", 30.0, 0.0, 1e9, &d, path, err);
    if (rc)
        goto out;
    out->logit_cap = (float)d;
    rc = cfg_num(root, "rms_norm_eps", 1e-6, 0.0, 1.0, &d, path, err);
    if (rc)
        goto out;
    out->norm_eps = (float)d;
    out->embed_scale = 1.0f;
    if (jsn_bool(root, "embeddings_scale_by_sqrt_dim", 1))
        out->embed_scale = quant_bf16_to_f32(quant_f32_to_bf16(sqrtf((float)out->width)));
    json_t *bt = json_object_get(root, "block_types");
    size_t n_bt = json_is_array(bt) ? json_array_size(bt) : 0;
    if (n_bt == 0) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "'block_types' is missing or empty");
        goto out;
    }
    for (int32_t i = 0; i < out->n_layer; i++) {
        const char *s = json_string_value(json_array_get(bt, (size_t)i % n_bt));
        if (s && strcmp(s, "recurrent") == 0)
            out->block[i] = RG_BLOCK_RECURRENT;
        else if (s && strcmp(s, "attention") == 0)
            out->block[i] = RG_BLOCK_ATTENTION;
        else {
            rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                            "'block_types'[%zu] is not \"recurrent\" or \"attention\"",
                            (size_t)i % n_bt);
            goto out;
        }
    }
    if (json_is_false(json_object_get(root, "tie_word_embeddings"))) {
        rc = err_set_at(err, ASSAY_EUNSUPPORTED, path, 0,
                        "untied output embeddings are not supported (RecurrentGemma ties them)");
        goto out;
    }
out:
    json_decref(root);
    return rc;
}

/* ---- weights --------------------------------------------------------------------------- */

struct rg_mat {
    const void *data;
    int type;
    int64_t n_rows, n_cols;
};

struct rg_layer {
    float *norm_t, *norm_c; /* (1 + w), width */
    /* recurrent */
    struct rg_mat lin_x, lin_y, lin_out;
    float *b_x, *b_y, *b_out;
    float *conv_w; /* (lru_width, conv_width): weight[c][k], k = conv_width-1 is the current step */
    float *conv_b;
    float *sp_a;        /* softplus(recurrent_param) */
    float *gx_w, *ga_w; /* (n_head, blk out, blk in): transposed for kern_matmul */
    float *gx_b, *ga_b; /* (lru_width) */
    /* attention */
    struct rg_mat q, k, v, o;
    float *b_o;
    /* mlp */
    struct rg_mat gate, up, down;
    float *b_gate, *b_up, *b_down;
    size_t state_off; /* floats into the state */
};

struct rg_model {
    struct rg_config cfg;
    struct rg_mat embed; /* (n_vocab, width), also the output matrix */
    float *final_norm;
    struct rg_layer layers[RG_MAX_LAYERS];
    float **owned;
    size_t n_owned, cap_owned;
    int64_t n_params;
    size_t state_floats;
    float *inv_freq; /* rope_dims / 2 */
    int weight_type; /* of the big matrices, -1 mixed */
};

static float *own(struct rg_model *m, size_t n, struct assay_error *err)
{
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? m->cap_owned * 2 : 64;
        float **p = mem_realloc_array(m->owned, cap, sizeof(*p));
        if (!p) {
            err_set(err, ASSAY_ENOMEM, "out of memory");
            return NULL;
        }
        m->owned = p;
        m->cap_owned = cap;
    }
    float *f = mem_alloc_array(n ? n : 1, sizeof(float));
    if (!f) {
        err_set(err, ASSAY_ENOMEM, "out of memory");
        return NULL;
    }
    m->owned[m->n_owned++] = f;
    return f;
}

static void to_f32(float *dst, const void *src, int type, int64_t n)
{
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        if (type == QUANT_TYPE_F32) {
            memcpy(&dst[i], p + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = type == QUANT_TYPE_BF16 ? quant_bf16_to_f32(h) : quant_f16_to_f32(h);
        }
    }
}

/* Fetch a tensor and check its shape (n_dims dims) and type. */
static int fetch(const struct rg_source *src, const char *name, int n_dims, const int64_t *shape,
                 struct rg_tensor *t, int64_t *n_params, struct assay_error *err)
{
    int rc = src->get(src->user, name, t, err);
    if (rc)
        return rc;
    const char *file = t->file ? t->file : "";
    if (t->type != QUANT_TYPE_F32 && t->type != QUANT_TYPE_BF16 && t->type != QUANT_TYPE_F16)
        return err_set_at(err, ASSAY_EUNSUPPORTED, file, 0,
                          "tensor '%s': type %d is not F32, F16 or BF16", name, t->type);
    bool ok = t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        size_t wl = 0, gl = 0;
        for (int i = 0; i < n_dims; i++)
            wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%lld", i ? ", " : "",
                                   (long long)shape[i]);
        for (int i = 0; i < t->n_dims && i < 4; i++)
            gl += (size_t)snprintf(got + gl, sizeof(got) - gl, "%s%lld", i ? ", " : "",
                                   (long long)t->shape[i]);
        return err_set_at(err, ASSAY_EINVAL, file, 0, "tensor '%s': shape [%s], expected [%s]",
                          name, got, want);
    }
    int64_t n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= shape[i];
    *n_params += n;
    return 0;
}

static int get_mat(struct rg_model *m, const struct rg_source *src, const char *name, int64_t rows,
                   int64_t cols, struct rg_mat *out, struct assay_error *err)
{
    struct rg_tensor t;
    int64_t shape[2] = {rows, cols};
    int rc = fetch(src, name, 2, shape, &t, &m->n_params, err);
    if (rc)
        return rc;
    *out = (struct rg_mat){.data = t.data, .type = t.type, .n_rows = rows, .n_cols = cols};
    if (m->weight_type == -2)
        m->weight_type = t.type;
    else if (m->weight_type != t.type)
        m->weight_type = -1;
    return 0;
}

/* A small tensor of n_dims dims as float32 (owned), plus `add` to every value. */
static int get_f32(struct rg_model *m, const struct rg_source *src, const char *name, int n_dims,
                   const int64_t *shape, float add, float **out, struct assay_error *err)
{
    struct rg_tensor t;
    int rc = fetch(src, name, n_dims, shape, &t, &m->n_params, err);
    if (rc)
        return rc;
    int64_t n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= shape[i];
    float *f = own(m, (size_t)n, err);
    if (!f)
        return ASSAY_ENOMEM;
    to_f32(f, t.data, t.type, n);
    if (add != 0)
        for (int64_t i = 0; i < n; i++)
            f[i] += add;
    *out = f;
    return 0;
}

static int get_vec(struct rg_model *m, const struct rg_source *src, const char *name, int64_t n,
                   float add, float **out, struct assay_error *err)
{
    return get_f32(m, src, name, 1, &n, add, out, err);
}

/* Block-diagonal gate weights [H, blk_in, blk_out] -> per block (blk_out, blk_in). */
static int get_gate(struct rg_model *m, const struct rg_source *src, const char *name, float **out,
                    struct assay_error *err)
{
    int64_t H = m->cfg.n_head, blk = m->cfg.lru_width / H;
    int64_t shape[3] = {H, blk, blk};
    float *raw = NULL;
    int rc = get_f32(m, src, name, 3, shape, 0, &raw, err);
    if (rc)
        return rc;
    /* transpose each block in place, through one block of scratch */
    float *t = mem_alloc_array((size_t)(blk * blk), sizeof(float));
    if (!t)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    for (int64_t h = 0; h < H; h++) {
        float *w = raw + h * blk * blk;
        for (int64_t i = 0; i < blk; i++)
            for (int64_t j = 0; j < blk; j++)
                t[j * blk + i] = w[i * blk + j];
        memcpy(w, t, (size_t)(blk * blk) * sizeof(float));
    }
    free(t);
    *out = raw;
    return 0;
}

static int load_layer(struct rg_model *m, const struct rg_source *src, int32_t il,
                      struct assay_error *err)
{
    const struct rg_config *c = &m->cfg;
    struct rg_layer *l = &m->layers[il];
    int64_t D = c->width, L = c->lru_width, E = c->mlp_width, H = c->n_head;
    int64_t hd = c->head_dim, kvd = (int64_t)c->n_head_kv * hd;
    char n[160];
    int rc;
#define NAME(fmt) (snprintf(n, sizeof(n), "model.layers.%d." fmt, il), n)
#define TRY(x)                                                                                     \
    do {                                                                                           \
        rc = (x);                                                                                  \
        if (rc)                                                                                    \
            return rc;                                                                             \
    } while (0)
    TRY(get_vec(m, src, NAME("temporal_pre_norm.weight"), D, 1.0f, &l->norm_t, err));
    TRY(get_vec(m, src, NAME("channel_pre_norm.weight"), D, 1.0f, &l->norm_c, err));
    if (c->block[il] == RG_BLOCK_RECURRENT) {
        TRY(get_mat(m, src, NAME("temporal_block.linear_x.weight"), L, D, &l->lin_x, err));
        TRY(get_vec(m, src, NAME("temporal_block.linear_x.bias"), L, 0, &l->b_x, err));
        TRY(get_mat(m, src, NAME("temporal_block.linear_y.weight"), L, D, &l->lin_y, err));
        TRY(get_vec(m, src, NAME("temporal_block.linear_y.bias"), L, 0, &l->b_y, err));
        TRY(get_mat(m, src, NAME("temporal_block.linear_out.weight"), D, L, &l->lin_out, err));
        TRY(get_vec(m, src, NAME("temporal_block.linear_out.bias"), D, 0, &l->b_out, err));
        int64_t cs[3] = {L, 1, c->conv_width};
        TRY(get_f32(m, src, NAME("temporal_block.conv_1d.weight"), 3, cs, 0, &l->conv_w, err));
        TRY(get_vec(m, src, NAME("temporal_block.conv_1d.bias"), L, 0, &l->conv_b, err));
        float *a = NULL;
        TRY(get_vec(m, src, NAME("temporal_block.rg_lru.recurrent_param"), L, 0, &a, err));
        for (int64_t i = 0; i < L; i++) /* torch softplus (beta 1, threshold 20) */
            a[i] = a[i] > 20.0f ? a[i] : (float)log1p(exp((double)a[i]));
        l->sp_a = a;
        TRY(get_gate(m, src, NAME("temporal_block.rg_lru.input_gate_weight"), &l->gx_w, err));
        TRY(get_gate(m, src, NAME("temporal_block.rg_lru.recurrent_gate_weight"), &l->ga_w, err));
        int64_t bs[2] = {H, L / H};
        TRY(get_f32(m, src, NAME("temporal_block.rg_lru.input_gate_bias"), 2, bs, 0, &l->gx_b,
                    err));
        TRY(get_f32(m, src, NAME("temporal_block.rg_lru.recurrent_gate_bias"), 2, bs, 0, &l->ga_b,
                    err));
        l->state_off = m->state_floats;
        m->state_floats += (size_t)(L * c->conv_width); /* h, then conv_width-1 inputs */
    } else {
        TRY(get_mat(m, src, NAME("temporal_block.q_proj.weight"), H * hd, D, &l->q, err));
        TRY(get_mat(m, src, NAME("temporal_block.k_proj.weight"), kvd, D, &l->k, err));
        TRY(get_mat(m, src, NAME("temporal_block.v_proj.weight"), kvd, D, &l->v, err));
        TRY(get_mat(m, src, NAME("temporal_block.o_proj.weight"), D, H * hd, &l->o, err));
        TRY(get_vec(m, src, NAME("temporal_block.o_proj.bias"), D, 0, &l->b_o, err));
        l->state_off = m->state_floats;
        m->state_floats += (size_t)(2 * ((int64_t)c->window + 1) * kvd); /* K and V rings */
    }
    TRY(get_mat(m, src, NAME("mlp_block.gate_proj.weight"), E, D, &l->gate, err));
    TRY(get_vec(m, src, NAME("mlp_block.gate_proj.bias"), E, 0, &l->b_gate, err));
    TRY(get_mat(m, src, NAME("mlp_block.up_proj.weight"), E, D, &l->up, err));
    TRY(get_vec(m, src, NAME("mlp_block.up_proj.bias"), E, 0, &l->b_up, err));
    TRY(get_mat(m, src, NAME("mlp_block.down_proj.weight"), D, E, &l->down, err));
    TRY(get_vec(m, src, NAME("mlp_block.down_proj.bias"), D, 0, &l->b_down, err));
#undef NAME
#undef TRY
    return 0;
}

int rg_model_new(struct rg_model **out, const struct rg_config *cfg, const struct rg_source *src,
                 struct assay_error *err)
{
    *out = NULL;
    if (cfg->n_layer < 1 || cfg->n_layer > RG_MAX_LAYERS || cfg->rope_dims > cfg->head_dim)
        return err_set(err, ASSAY_EINVAL, "invalid RecurrentGemma config");
    struct rg_model *m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    m->cfg = *cfg;
    m->weight_type = -2;
    int rc = get_mat(m, src, "model.embed_tokens.weight", cfg->n_vocab, cfg->width, &m->embed, err);
    if (rc)
        goto fail;
    rc = get_vec(m, src, "model.final_norm.weight", cfg->width, 1.0f, &m->final_norm, err);
    if (rc)
        goto fail;
    for (int32_t i = 0; i < cfg->n_layer; i++) {
        rc = load_layer(m, src, i, err);
        if (rc)
            goto fail;
    }
    m->inv_freq = own(m, (size_t)(cfg->rope_dims / 2 + 1), err);
    if (!m->inv_freq) {
        rc = ASSAY_ENOMEM;
        goto fail;
    }
    if (cfg->rope_dims > 0)
        kern_rope_freqs(m->inv_freq, cfg->rope_dims, cfg->rope_theta, 1.0f);
    *out = m;
    return 0;
fail:
    rg_model_free(m);
    return rc;
}

void rg_model_free(struct rg_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m);
}

const struct rg_config *rg_model_config(const struct rg_model *m)
{
    return &m->cfg;
}

int64_t rg_model_n_params(const struct rg_model *m)
{
    return m->n_params;
}

const char *rg_model_weight_type(const struct rg_model *m)
{
    switch (m->weight_type) {
    case QUANT_TYPE_F32:
        return "F32";
    case QUANT_TYPE_F16:
        return "F16";
    case QUANT_TYPE_BF16:
        return "BF16";
    default:
        return "mixed";
    }
}

/* ---- state ------------------------------------------------------------------------------ */

struct rg_state {
    const struct rg_model *m;
    int64_t pos;
    float *data; /* m->state_floats */
};

size_t rg_state_bytes(const struct rg_model *m)
{
    return m->state_floats * sizeof(float) + sizeof(struct rg_state);
}

int rg_state_new(struct rg_state **out, const struct rg_model *m, struct assay_error *err)
{
    *out = NULL;
    struct rg_state *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    s->m = m;
    s->data = mem_calloc_array(m->state_floats ? m->state_floats : 1, sizeof(float));
    if (!s->data) {
        free(s);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

void rg_state_free(struct rg_state *s)
{
    if (!s)
        return;
    free(s->data);
    free(s);
}

void rg_state_reset(struct rg_state *s)
{
    s->pos = 0;
    memset(s->data, 0, s->m->state_floats * sizeof(float));
}

void rg_state_copy(struct rg_state *dst, const struct rg_state *src)
{
    dst->pos = src->pos;
    memcpy(dst->data, src->data, src->m->state_floats * sizeof(float));
}

int64_t rg_state_pos(const struct rg_state *s)
{
    return s->pos;
}

/* ---- context ------------------------------------------------------------------------------ */

struct rg_ctx {
    const struct rg_model *m;
    struct rg_ctx_params p;
    struct kern_ctx kc;
    float *x, *xn, *t0, *t1, *t2, *gx, *ga, *ext, *gin, *gout, *q, *k, *v, *att;
    float *attn_scratch; /* n_threads * (window + 1) */
    float *logits;
    int32_t *pos;
};

int rg_ctx_new(struct rg_ctx **out, const struct rg_model *m, const struct rg_ctx_params *p,
               struct assay_error *err)
{
    *out = NULL;
    if (p->n_threads < 1 || p->n_batch < 1 || p->n_logits < 1 || p->n_batch > (1 << 20))
        return err_set(err, ASSAY_EUSAGE, "bad RecurrentGemma context parameters");
    struct rg_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    c->m = m;
    c->p = *p;
    c->kc = (struct kern_ctx){.n_threads = p->n_threads, .act = KERN_ACT_F32};
    const struct rg_config *cf = &m->cfg;
    size_t T = (size_t)p->n_batch, D = (size_t)cf->width, L = (size_t)cf->lru_width;
    size_t E = (size_t)cf->mlp_width, QD = (size_t)cf->n_head * (size_t)cf->head_dim;
    size_t KD = (size_t)cf->n_head_kv * (size_t)cf->head_dim;
    size_t wide = L > E ? L : E;
    wide = wide > QD ? wide : QD;
    wide = wide > D ? wide : D;
    size_t blk = L / (size_t)cf->n_head;
    float **bufs[] = {&c->x,   &c->xn,  &c->t0,   &c->t1, &c->t2, &c->gx, &c->ga,
                      &c->ext, &c->gin, &c->gout, &c->q,  &c->k,  &c->v,  &c->att};
    size_t sizes[] = {T * D,    T * D,   T * wide, T * wide,
                      T * wide, T * L,   T * L,    (T + (size_t)cf->conv_width) * L,
                      T * blk,  T * blk, T * QD,   T * KD,
                      T * KD,   T * QD};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        *bufs[i] = mem_alloc_array(sizes[i], sizeof(float));
        if (!*bufs[i])
            goto oom;
    }
    c->attn_scratch =
        mem_alloc_array((size_t)p->n_threads * ((size_t)cf->window + 1), sizeof(float));
    c->logits = mem_alloc_array((size_t)p->n_logits * (size_t)cf->n_vocab, sizeof(float));
    c->pos = mem_alloc_array(T, sizeof(int32_t));
    if (!c->attn_scratch || !c->logits || !c->pos)
        goto oom;
    *out = c;
    return 0;
oom:
    rg_ctx_free(c);
    return err_set(err, ASSAY_ENOMEM, "out of memory for a RecurrentGemma context (%d tokens)",
                   p->n_batch);
}

void rg_ctx_free(struct rg_ctx *c)
{
    if (!c)
        return;
    float *bufs[] = {c->x,   c->xn,   c->t0, c->t1, c->t2, c->gx,  c->ga,           c->ext,
                     c->gin, c->gout, c->q,  c->k,  c->v,  c->att, c->attn_scratch, c->logits};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]);
    free(c->pos);
    free(c);
}

const float *rg_logits(const struct rg_ctx *c, int32_t row)
{
    return c->logits + (size_t)row * (size_t)c->m->cfg.n_vocab;
}

/* ---- forward ------------------------------------------------------------------------------ */

static void matmul(struct rg_ctx *c, float *y, const struct rg_mat *w, const float *x,
                   int64_t n_tok)
{
    if (c->p.matmul_ref)
        kern_matmul_ref(y, w->data, w->type, x, w->n_rows, w->n_cols, n_tok);
    else
        kern_matmul(y, w->data, w->type, x, w->n_rows, w->n_cols, n_tok, &c->kc);
}

static void add_bias(float *y, const float *b, int64_t n_tok, int64_t n)
{
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t i = 0; i < n; i++)
            y[t * n + i] += b[i];
}

/* kernel: causal depthwise Conv1D. ext holds (cw-1) rows of earlier inputs then T new rows
 * (each L wide); out[t] = b + sum_k w[.][k] * ext[t + k]. */
static void rg_kern_conv1d(float *out, const float *ext, const float *w, const float *b, int64_t T,
                           int64_t L, int cw)
{
    for (int64_t t = 0; t < T; t++)
        for (int64_t ch = 0; ch < L; ch++) {
            float acc = b[ch];
            for (int k = 0; k < cw; k++)
                acc += w[ch * cw + k] * ext[(t + k) * L + ch];
            out[t * L + ch] = acc;
        }
}

/* kernel: the RG-LRU scan over T steps. x (T, L) is the Conv1D output, gx / ga the gate
 * pre-activations (T, L); h (L) the carried state; y (T, L) receives h_t. pos0 is the
 * position of step 0 (position 0 resets the state). */
static void rg_kern_lru(float *y, const float *x, const float *gx, const float *ga,
                        const float *sp_a, float *h, int64_t T, int64_t L, int64_t pos0)
{
    for (int64_t t = 0; t < T; t++) {
        bool reset = pos0 + t == 0;
        for (int64_t i = 0; i < L; i++) {
            float gate_x = 1.0f / (1.0f + expf(-gx[t * L + i]));
            float gate_a = 1.0f / (1.0f + expf(-ga[t * L + i]));
            float log_a = -8.0f * gate_a * sp_a[i];
            float a = expf(log_a);
            float a2 = expf(2.0f * log_a);
            float mult = reset ? 1.0f : sqrtf(1.0f - a2);
            float prev = reset ? 0.0f : h[i];
            float hv = a * prev + mult * (gate_x * x[t * L + i]);
            h[i] = hv;
            y[t * L + i] = hv;
        }
    }
}

static void recurrent_block(struct rg_ctx *c, const struct rg_layer *l, float *st, int64_t T,
                            int64_t pos0)
{
    const struct rg_config *cf = &c->m->cfg;
    int64_t L = cf->lru_width, H = cf->n_head, blk = L / H;
    int cw = cf->conv_width;
    float *h = st, *conv = st + L; /* (cw - 1, L), oldest first */
    /* y branch */
    matmul(c, c->t1, &l->lin_y, c->xn, T);
    add_bias(c->t1, l->b_y, T, L);
    for (int64_t i = 0; i < T * L; i++)
        c->t1[i] = kern_gelu_tanh(c->t1[i]);
    /* x branch: linear, Conv1D over [state | new] */
    float *u = c->ext + (int64_t)(cw - 1) * L;
    matmul(c, u, &l->lin_x, c->xn, T);
    add_bias(u, l->b_x, T, L);
    if (cw > 1)
        memcpy(c->ext, conv, (size_t)((cw - 1) * L) * sizeof(float));
    rg_kern_conv1d(c->t0, c->ext, l->conv_w, l->conv_b, T, L, cw);
    if (cw > 1)
        memcpy(conv, c->ext + T * L, (size_t)((cw - 1) * L) * sizeof(float));
    /* gates: block-diagonal products, one block at a time */
    for (int pass = 0; pass < 2; pass++) {
        const float *w = pass ? l->ga_w : l->gx_w;
        const float *b = pass ? l->ga_b : l->gx_b;
        float *dst = pass ? c->ga : c->gx;
        for (int64_t hb = 0; hb < H; hb++) {
            for (int64_t t = 0; t < T; t++)
                memcpy(c->gin + t * blk, c->t0 + t * L + hb * blk, (size_t)blk * sizeof(float));
            if (c->p.matmul_ref)
                kern_matmul_ref(c->gout, w + hb * blk * blk, QUANT_TYPE_F32, c->gin, blk, blk, T);
            else
                kern_matmul(c->gout, w + hb * blk * blk, QUANT_TYPE_F32, c->gin, blk, blk, T,
                            &c->kc);
            for (int64_t t = 0; t < T; t++)
                for (int64_t j = 0; j < blk; j++)
                    dst[t * L + hb * blk + j] = c->gout[t * blk + j] + b[hb * blk + j];
        }
    }
    rg_kern_lru(c->t2, c->t0, c->gx, c->ga, l->sp_a, h, T, L, pos0);
    for (int64_t i = 0; i < T * L; i++)
        c->t2[i] *= c->t1[i];
    matmul(c, c->t0, &l->lin_out, c->t2, T);
    add_bias(c->t0, l->b_out, T, cf->width);
}

static void attention_block(struct rg_ctx *c, const struct rg_layer *l, float *st, int64_t T,
                            int64_t pos0)
{
    const struct rg_config *cf = &c->m->cfg;
    int hd = cf->head_dim, H = cf->n_head, KH = cf->n_head_kv;
    int64_t kvd = (int64_t)KH * hd, R = (int64_t)cf->window + 1;
    float *ring_k = st, *ring_v = st + R * kvd;
    matmul(c, c->q, &l->q, c->xn, T);
    matmul(c, c->k, &l->k, c->xn, T);
    matmul(c, c->v, &l->v, c->xn, T);
    if (cf->rope_dims > 0) {
        for (int h = 0; h < H; h++)
            kern_rope_neox(c->q + (int64_t)h * hd, T, (int64_t)H * hd, 1, cf->rope_dims, c->pos,
                           c->m->inv_freq, c->p.n_threads);
        for (int h = 0; h < KH; h++)
            kern_rope_neox(c->k + (int64_t)h * hd, T, kvd, 1, cf->rope_dims, c->pos, c->m->inv_freq,
                           c->p.n_threads);
    }
    struct kern_ring_attn a = {.q = c->q,
                               .kc = c->k,
                               .vc = c->v,
                               .ring_k = ring_k,
                               .ring_v = ring_v,
                               .out = c->att,
                               .scratch = c->attn_scratch,
                               .T = T,
                               .pos0 = pos0,
                               .n_head = H,
                               .n_head_kv = KH,
                               .head_dim = hd,
                               .window = cf->window,
                               .scale = 1.0f / sqrtf((float)hd),
                               .n_threads = c->p.n_threads};
    kern_attention_ring(&a);
    /* the chunk's keys enter the ring after every query has read the old ones */
    int64_t first = T > R ? T - R : 0;
    for (int64_t t = first; t < T; t++) {
        int64_t slot = (pos0 + t) % R;
        memcpy(ring_k + slot * kvd, c->k + t * kvd, (size_t)kvd * sizeof(float));
        memcpy(ring_v + slot * kvd, c->v + t * kvd, (size_t)kvd * sizeof(float));
    }
    matmul(c, c->t0, &l->o, c->att, T);
    add_bias(c->t0, l->b_o, T, cf->width);
}

int rg_forward(struct rg_ctx *c, struct rg_state *s, const int32_t *tokens, int32_t n,
               int32_t want_from, struct assay_error *err)
{
    const struct rg_model *m = c->m;
    const struct rg_config *cf = &m->cfg;
    if (n < 1 || n > c->p.n_batch || want_from < 0)
        return err_set(err, ASSAY_EUSAGE, "rg_forward: %d tokens (batch holds %d)", n,
                       c->p.n_batch);
    int32_t n_want = want_from < n ? n - want_from : 0;
    if (n_want > c->p.n_logits)
        return err_set(err, ASSAY_EUSAGE, "rg_forward: %d rows of logits (room for %d)", n_want,
                       c->p.n_logits);
    if (s->pos + n > INT32_MAX)
        return err_set(err, ASSAY_ELIMIT, "sequence longer than %d tokens", INT32_MAX);
    int64_t D = cf->width, T = n, pos0 = s->pos;
    size_t row_bytes = 0;
    quant_row_bytes(m->embed.type, D, &row_bytes);
    for (int64_t t = 0; t < T; t++) {
        if (tokens[t] < 0 || tokens[t] >= cf->n_vocab)
            return err_set(err, ASSAY_EINVAL,
                           "token id %d at %lld is out of range (vocabulary "
                           "%lld)",
                           tokens[t], (long long)t, (long long)cf->n_vocab);
        c->pos[t] = (int32_t)(pos0 + t);
        const uint8_t *row = (const uint8_t *)m->embed.data + (size_t)tokens[t] * row_bytes;
        to_f32(c->x + t * D, row, m->embed.type, D);
        for (int64_t i = 0; i < D; i++)
            c->x[t * D + i] *= cf->embed_scale;
    }
    for (int32_t il = 0; il < cf->n_layer; il++) {
        const struct rg_layer *l = &m->layers[il];
        float *st = s->data + l->state_off;
        kern_rmsnorm(c->xn, c->x, l->norm_t, D, T, cf->norm_eps, c->p.n_threads);
        if (cf->block[il] == RG_BLOCK_RECURRENT)
            recurrent_block(c, l, st, T, pos0);
        else
            attention_block(c, l, st, T, pos0);
        kern_add(c->x, c->t0, T * D, c->p.n_threads);
        kern_rmsnorm(c->xn, c->x, l->norm_c, D, T, cf->norm_eps, c->p.n_threads);
        int64_t E = cf->mlp_width;
        matmul(c, c->t1, &l->gate, c->xn, T);
        add_bias(c->t1, l->b_gate, T, E);
        matmul(c, c->t2, &l->up, c->xn, T);
        add_bias(c->t2, l->b_up, T, E);
        kern_geglu(c->t1, c->t2, T * E, c->p.n_threads);
        matmul(c, c->t0, &l->down, c->t1, T);
        add_bias(c->t0, l->b_down, T, D);
        kern_add(c->x, c->t0, T * D, c->p.n_threads);
    }
    s->pos += n;
    if (n_want > 0) {
        const float *xw = c->x + (int64_t)want_from * D;
        kern_rmsnorm(c->xn, xw, m->final_norm, D, n_want, cf->norm_eps, c->p.n_threads);
        matmul(c, c->logits, &m->embed, c->xn, n_want);
        kern_softcap(c->logits, (int64_t)n_want * cf->n_vocab, cf->logit_cap, c->p.n_threads);
    }
    return 0;
}
