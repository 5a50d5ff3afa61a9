/*
 * engine/arch.c - hyper-parameter tables per architecture, read from GGUF metadata, and
 * the tensor-name table (see arch.h).
 *
 * Adding an architecture that the Gemma forward pass can run means adding a row to
 * arch_descs (and its key table), not control flow. Not here: binding tensor data
 * (engine/model.c) and anything about the tokenizer.
 *
 * Sources of the constants, cited per row below:
 *  - GGUF key names: llama.cpp gguf-py/gguf/constants.py (Keys.LLM / Keys.Attention / Keys.Rope).
 *  - Defaults that the converter does not write: llama.cpp src/llama-model.cpp,
 *    load_hparams (LLM_ARCH_GEMMA2: n_swa 4096, soft-caps 50 / 30, swa pattern 2;
 *    LLM_ARCH_GEMMA3: swa pattern 6, rope_freq_base_swa 10000) and the official configs in
 *    google/gemma_pytorch gemma/config.py (Gemma 3 global rope base 1e6).
 *  - query_pre_attn_scalar: not stored in GGUF; llama.cpp derives the attention scale from
 *    the model size (n_layer 46 = Gemma 2 27B, 62 = Gemma 3 27B: 1/sqrt(n_embd/n_head),
 *    otherwise 1/sqrt(head_dim)), matching gemma_pytorch's configs.
 */
#include "engine/arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/gguf.h"

enum key_kind {
    KEY_INT,   /* int64_t field */
    KEY_FLOAT, /* float field */
};

#define KEY_DERIVED (-1.0) /* default computed from other values after reading */

struct arch_key {
    const char *suffix; /* after "<arch>." */
    enum key_kind kind;
    size_t offset; /* into struct arch_hparams */
    bool required;
    double def; /* when absent and not required */
    double max; /* largest accepted value (ints: also >= 1) */
};

#define HP(field) offsetof(struct arch_hparams, field)
#define N_OF(a)   (sizeof(a) / sizeof((a)[0]))

/* Keys every Gemma generation has (gguf-py constants.py names). */
static const struct arch_key common_keys[] = {
    {"context_length", KEY_INT, HP(n_ctx_train), true, 0, 1 << 30},
    {"embedding_length", KEY_INT, HP(n_embd), true, 0, 1 << 20},
    {"block_count", KEY_INT, HP(n_layer), true, 0, ARCH_LAYER_MAX},
    {"feed_forward_length", KEY_INT, HP(n_ff), true, 0, 1 << 24},
    {"attention.head_count", KEY_INT, HP(n_head), true, 0, 1 << 14},
    {"attention.head_count_kv", KEY_INT, HP(n_head_kv), false, KEY_DERIVED, 1 << 14},
    {"attention.key_length", KEY_INT, HP(head_dim), false, KEY_DERIVED, ARCH_HEAD_DIM_MAX},
    {"attention.value_length", KEY_INT, HP(head_dim_v), false, KEY_DERIVED, ARCH_HEAD_DIM_MAX},
    {"attention.layer_norm_rms_epsilon", KEY_FLOAT, HP(rms_eps), true, 0, 1.0},
    {"rope.scaling.factor", KEY_FLOAT, HP(rope_scale), false, 0, 1e6},
};

static const struct arch_key gemma_keys[] = {
    /* Not written by the converter; llama.cpp's default, gemma_pytorch's rope_wave_length. */
    {"rope.freq_base", KEY_FLOAT, HP(rope_base), false, 10000.0, 1e12},
};

static const struct arch_key gemma2_keys[] = {
    {"rope.freq_base", KEY_FLOAT, HP(rope_base), false, 10000.0, 1e12},
    /* llama.cpp load_hparams LLM_ARCH_GEMMA2 defaults (= Gemma 2 configs). */
    {"attn_logit_softcapping", KEY_FLOAT, HP(attn_softcap), false, 50.0, 1e6},
    {"final_logit_softcapping", KEY_FLOAT, HP(final_softcap), false, 30.0, 1e6},
    {"attention.sliding_window", KEY_INT, HP(sliding_window), false, 4096, 1 << 30},
};

static const struct arch_key gemma3_keys[] = {
    /* gemma_pytorch config.py get_config_for_1b..27b: global 1e6, local 1e4. */
    {"rope.freq_base", KEY_FLOAT, HP(rope_base), false, 1000000.0, 1e12},
    {"rope.freq_base_swa", KEY_FLOAT, HP(rope_base_swa), false, 10000.0, 1e12},
    /* Gemma 3 has no soft-capping; honoured if a converter writes them. */
    {"attn_logit_softcapping", KEY_FLOAT, HP(attn_softcap), false, 0.0, 1e6},
    {"final_logit_softcapping", KEY_FLOAT, HP(final_softcap), false, 0.0, 1e6},
    {"attention.sliding_window", KEY_INT, HP(sliding_window), true, 0, 1 << 30},
};

struct arch_desc {
    const char *name; /* general.architecture */
    enum arch_id id;
    const struct arch_key *keys; /* besides common_keys */
    size_t n_keys;
    bool post_norms;
    bool qk_norm;
    int64_t swa_period;          /* default; <arch>.attention.sliding_window_pattern overrides */
    int64_t qscale_n_layer;      /* n_layer whose query_pre_attn_scalar is n_embd/n_head */
    bool rope_scale_global_only; /* linear rope scaling only on global layers (Gemma 3) */
    bool rope_base_swa_key;      /* local layers use rope_base_swa, else rope_base */
};

static const struct arch_desc arch_descs[] = {
    {"gemma", ARCH_GEMMA, gemma_keys, N_OF(gemma_keys), false, false, 0, 0, false, false},
    {"gemma2", ARCH_GEMMA2, gemma2_keys, N_OF(gemma2_keys), true, false, 2, 46, false, false},
    {"gemma3", ARCH_GEMMA3, gemma3_keys, N_OF(gemma3_keys), true, true, 6, 62, true, true},
};

static const struct arch_desc *desc_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OF(arch_descs); i++) {
        if (strlen(arch_descs[i].name) == len && memcmp(arch_descs[i].name, name, len) == 0)
            return &arch_descs[i];
    }
    return NULL;
}

enum arch_id arch_id_from_name(const char *name)
{
    const struct arch_desc *d = name ? desc_by_name(name, strlen(name)) : NULL;
    return d ? d->id : 0;
}

/* Read one table row into hp. */
static int read_key(struct arch_hparams *hp, const struct gguf *g, const struct arch_desc *d,
                    const struct arch_key *k, struct assay_error *err)
{
    char key[256];
    snprintf(key, sizeof(key), "%s.%s", d->name, k->suffix);
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    char *field = (char *)hp + k->offset;
    if (!kv) {
        if (k->required)
            return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1,
                               "key '%s' not found (required for architecture '%s')", key, d->name);
        if (k->kind == KEY_INT)
            *(int64_t *)(void *)field = (int64_t)k->def;
        else
            *(float *)(void *)field = (float)k->def;
        return 0;
    }
    if (k->kind == KEY_INT) {
        int64_t v;
        int rc = gguf_get_i64(g, key, &v, err);
        if (rc)
            return rc;
        if (v < 1 || (double)v > k->max)
            return err_set_off(
                err, v < 1 ? ASSAY_EINVAL : ASSAY_ELIMIT, gguf_path(g), (int64_t)kv->value_offset,
                "key '%s': value %lld out of range 1..%.0f", key, (long long)v, k->max);
        *(int64_t *)(void *)field = v;
    } else {
        float v;
        int rc = gguf_get_f32(g, key, &v, err);
        if (rc)
            return rc;
        if (!isfinite(v) || v < 0.0f || (double)v > k->max)
            return err_set_off(err, ASSAY_EINVAL, gguf_path(g), (int64_t)kv->value_offset,
                               "key '%s': value %g out of range 0..%g", key, (double)v, k->max);
        *(float *)(void *)field = v;
    }
    return 0;
}

/* Rope scaling type: absent / "none" / "linear" are supported. */
static int check_rope_scaling(struct arch_hparams *hp, const struct gguf *g,
                              const struct arch_desc *d, struct assay_error *err)
{
    char key[256];
    snprintf(key, sizeof(key), "%s.rope.scaling.type", d->name);
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    if (hp->rope_scale == 0.0f)
        hp->rope_scale = 1.0f;
    if (kv) {
        const char *s;
        size_t len;
        int rc = gguf_get_str(g, key, &s, &len, err);
        if (rc)
            return rc;
        if (len == 4 && memcmp(s, "none", 4) == 0) {
            hp->rope_scale = 1.0f;
        } else if (!(len == 6 && memcmp(s, "linear", 6) == 0)) {
            return err_set_off(err, ASSAY_EUNSUPPORTED, gguf_path(g), (int64_t)kv->value_offset,
                               "key '%s': rope scaling type '%.*s' is not supported (none, linear)",
                               key, (int)(len > 64 ? 64 : len), s);
        }
    }
    /* Older files: rope.scale_linear holds the factor. */
    snprintf(key, sizeof(key), "%s.rope.scale_linear", d->name);
    if (gguf_find_kv(g, key)) {
        float f;
        int rc = gguf_get_f32(g, key, &f, err);
        if (rc)
            return rc;
        if (!(f > 0.0f) || !isfinite(f))
            return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1,
                               "key '%s': scale %g must be positive", key, (double)f);
        if (f != 1.0f)
            hp->rope_scale = f;
    }
    snprintf(key, sizeof(key), "%s.rope.dimension_count", d->name);
    if (gguf_find_kv(g, key)) {
        int64_t nrot;
        int rc = gguf_get_i64(g, key, &nrot, err);
        if (rc)
            return rc;
        if (nrot != hp->head_dim)
            return err_set_off(err, ASSAY_EUNSUPPORTED, gguf_path(g), -1,
                               "key '%s': partial rotary (%lld of %lld dims) is not supported", key,
                               (long long)nrot, (long long)hp->head_dim);
    }
    return 0;
}

/* Which layers are local: a period (scalar key or default), or one flag per layer (array). */
static int read_swa_pattern(struct arch_hparams *hp, const struct gguf *g,
                            const struct arch_desc *d, bool *local, struct assay_error *err)
{
    char key[256];
    snprintf(key, sizeof(key), "%s.attention.sliding_window_pattern", d->name);
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    int64_t period = d->swa_period;
    if (kv && kv->type == GGUF_TYPE_ARRAY) {
        if ((int64_t)kv->n != hp->n_layer)
            return err_set_off(err, ASSAY_EINVAL, gguf_path(g), (int64_t)kv->value_offset,
                               "key '%s': %llu entries for %lld layers", key,
                               (unsigned long long)kv->n, (long long)hp->n_layer);
        for (int64_t il = 0; il < hp->n_layer; il++) {
            if (kv->elem_type == GGUF_TYPE_BOOL) {
                local[il] = ((const uint8_t *)kv->data)[il] != 0;
            } else {
                int64_t v;
                int rc = gguf_arr_i64(g, kv, (uint64_t)il, &v, err);
                if (rc)
                    return rc;
                local[il] = v != 0;
            }
        }
        hp->swa_period = 0;
        return 0;
    }
    if (kv) {
        int rc = gguf_get_i64(g, key, &period, err);
        if (rc)
            return rc;
        if (period < 0 || period > ARCH_LAYER_MAX)
            return err_set_off(err, ASSAY_EINVAL, gguf_path(g), (int64_t)kv->value_offset,
                               "key '%s': period %lld out of range", key, (long long)period);
    }
    hp->swa_period = period;
    /* llama.cpp llama_hparams::set_swa_pattern: local iff il % period < period - 1, so the
     * last layer of each period is global (Gemma 2: 0 local, 1 global; Gemma 3: 5 : 1). */
    for (int64_t il = 0; il < hp->n_layer; il++)
        local[il] = period > 0 && (il % period) < period - 1;
    return 0;
}

int arch_hparams_from_gguf(struct arch_hparams *hp, const struct gguf *g, struct assay_error *err)
{
    return arch_hparams_from_meta(hp, g, gguf_find_tensor(g, "token_embd.weight"), err);
}

int arch_hparams_from_meta(struct arch_hparams *hp, const struct gguf *g,
                           const struct gguf_tensor *te, struct assay_error *err)
{
    memset(hp, 0, sizeof(*hp));
    const char *name;
    size_t len;
    int rc = gguf_get_str(g, "general.architecture", &name, &len, err);
    if (rc) {
        err_set_path(err, gguf_path(g));
        return rc == ASSAY_ENOTFOUND ? ASSAY_EINVAL : rc;
    }
    const struct arch_desc *d = desc_by_name(name, len);
    if (!d)
        return err_set_off(err, ASSAY_EUNSUPPORTED, gguf_path(g), -1,
                           "architecture '%.*s' is not supported (gemma, gemma2, gemma3)",
                           (int)(len > 64 ? 64 : len), name);
    hp->arch = d->id;
    hp->arch_name = d->name;
    hp->has_post_norms = d->post_norms;
    hp->has_qk_norm = d->qk_norm;

    for (size_t i = 0; i < N_OF(common_keys); i++) {
        rc = read_key(hp, g, d, &common_keys[i], err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < d->n_keys; i++) {
        rc = read_key(hp, g, d, &d->keys[i], err);
        if (rc)
            return rc;
    }
    if (hp->n_head_kv < 0)
        hp->n_head_kv = hp->n_head;
    if (hp->head_dim < 0) {
        if (hp->n_embd % hp->n_head != 0)
            return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1,
                               "%s.attention.key_length absent and embedding_length %lld is not "
                               "a multiple of head_count %lld",
                               d->name, (long long)hp->n_embd, (long long)hp->n_head);
        hp->head_dim = hp->n_embd / hp->n_head;
    }
    if (hp->head_dim_v < 0)
        hp->head_dim_v = hp->head_dim;
    if (d->rope_base_swa_key == false)
        hp->rope_base_swa = hp->rope_base;

    if (hp->n_head % hp->n_head_kv != 0)
        return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1,
                           "%s.attention.head_count %lld is not a multiple of head_count_kv %lld",
                           d->name, (long long)hp->n_head, (long long)hp->n_head_kv);
    if (hp->head_dim % 2 != 0 || hp->head_dim > ARCH_HEAD_DIM_MAX)
        return err_set_off(err, hp->head_dim % 2 ? ASSAY_EINVAL : ASSAY_ELIMIT, gguf_path(g), -1,
                           "%s.attention.key_length %lld must be even and at most %d", d->name,
                           (long long)hp->head_dim, ARCH_HEAD_DIM_MAX);
    if (hp->head_dim_v != hp->head_dim)
        return err_set_off(err, ASSAY_EUNSUPPORTED, gguf_path(g), -1,
                           "%s.attention.value_length %lld differs from key_length %lld", d->name,
                           (long long)hp->head_dim_v, (long long)hp->head_dim);
    if (!(hp->rms_eps > 0.0f))
        return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1,
                           "%s.attention.layer_norm_rms_epsilon must be positive", d->name);
    if (!(hp->rope_base > 0.0f) || !(hp->rope_base_swa > 0.0f))
        return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1,
                           "%s.rope.freq_base must be positive", d->name);
    rc = check_rope_scaling(hp, g, d, err);
    if (rc)
        return rc;

    if (!te)
        return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1,
                           "tensor 'token_embd.weight' not found");
    if (te->n_dims != 2)
        return err_set_off(err, ASSAY_EINVAL, gguf_path(g), (int64_t)te->info_offset,
                           "tensor 'token_embd.weight': expected 2 dims, got %d", te->n_dims);
    hp->n_vocab = te->ne[1];

    /* gemma_pytorch: normalizer = torch.tensor(hidden_size**0.5, dtype=float32). */
    hp->embd_scale = (float)sqrt((double)hp->n_embd);
    /* gemma_pytorch: scaling = query_pre_attn_scalar**-0.5 (Gemma 1: head_dim**-0.5). */
    double qpas = (double)hp->head_dim;
    if (d->qscale_n_layer > 0 && hp->n_layer == d->qscale_n_layer)
        qpas = (double)hp->n_embd / (double)hp->n_head;
    /* An HF config states query_pre_attn_scalar; engine/hf.c passes it on under this
     * assay key when it differs from what llama.cpp derives. */
    char qkey[96];
    snprintf(qkey, sizeof(qkey), "%s.attention.query_pre_attn_scalar", d->name);
    if (gguf_find_kv(g, qkey)) {
        float v;
        rc = gguf_get_f32(g, qkey, &v, err);
        if (rc)
            return rc;
        if (!(v > 0.0f))
            return err_set_off(err, ASSAY_EINVAL, gguf_path(g), -1, "key '%s' must be positive",
                               qkey);
        qpas = v;
    }
    hp->query_scale = (float)(1.0 / sqrt(qpas));

    bool local[ARCH_LAYER_MAX];
    rc = read_swa_pattern(hp, g, d, local, err);
    if (rc)
        return rc;
    for (int64_t il = 0; il < hp->n_layer; il++) {
        struct arch_layer *l = &hp->layer[il];
        l->is_local = local[il] && hp->sliding_window > 0;
        l->window = l->is_local
                        ? (int32_t)(hp->sliding_window > INT32_MAX ? INT32_MAX : hp->sliding_window)
                        : 0;
        l->rope_base = l->is_local ? hp->rope_base_swa : hp->rope_base;
        bool scaled = !(d->rope_scale_global_only && l->is_local);
        l->rope_freq_scale = scaled ? 1.0f / hp->rope_scale : 1.0f;
    }
    return 0;
}

/* ---- tensors ------------------------------------------------------------------------- */

/* llama.cpp gguf-py/gguf/constants.py TENSOR_NAMES for MODEL_ARCH.GEMMA / GEMMA2 / GEMMA3. */
static const struct arch_tensor_desc arch_tensor_table[] = {
    {ARCH_T_TOKEN_EMBD,
     "token_embd.weight",
     false,
     2,
     {ARCH_DIM_EMBD, ARCH_DIM_VOCAB},
     ARCH_NEED_ALWAYS,
     false},
    {ARCH_T_OUTPUT_NORM,
     "output_norm.weight",
     false,
     1,
     {ARCH_DIM_EMBD, 0},
     ARCH_NEED_ALWAYS,
     true},
    {ARCH_T_OUTPUT,
     "output.weight",
     false,
     2,
     {ARCH_DIM_EMBD, ARCH_DIM_VOCAB},
     ARCH_NEED_OPTIONAL,
     false},
    {ARCH_T_ATTN_NORM, "attn_norm.weight", true, 1, {ARCH_DIM_EMBD, 0}, ARCH_NEED_ALWAYS, true},
    {ARCH_T_ATTN_Q, "attn_q.weight", true, 2, {ARCH_DIM_EMBD, ARCH_DIM_Q}, ARCH_NEED_ALWAYS, false},
    {ARCH_T_ATTN_K, "attn_k.weight", true, 2, {ARCH_DIM_EMBD, ARCH_DIM_K}, ARCH_NEED_ALWAYS, false},
    {ARCH_T_ATTN_V, "attn_v.weight", true, 2, {ARCH_DIM_EMBD, ARCH_DIM_V}, ARCH_NEED_ALWAYS, false},
    {ARCH_T_ATTN_OUTPUT,
     "attn_output.weight",
     true,
     2,
     {ARCH_DIM_O, ARCH_DIM_EMBD},
     ARCH_NEED_ALWAYS,
     false},
    {ARCH_T_ATTN_Q_NORM,
     "attn_q_norm.weight",
     true,
     1,
     {ARCH_DIM_HEAD, 0},
     ARCH_NEED_QK_NORM,
     true},
    {ARCH_T_ATTN_K_NORM,
     "attn_k_norm.weight",
     true,
     1,
     {ARCH_DIM_HEAD, 0},
     ARCH_NEED_QK_NORM,
     true},
    {ARCH_T_POST_ATTN_NORM,
     "post_attention_norm.weight",
     true,
     1,
     {ARCH_DIM_EMBD, 0},
     ARCH_NEED_POST_NORMS,
     true},
    /* Gemma 1: the pre-MLP norm (HF post_attention_layernorm); Gemma 2/3:
     * pre_feedforward_layernorm. Same place in the block either way. */
    {ARCH_T_FFN_NORM, "ffn_norm.weight", true, 1, {ARCH_DIM_EMBD, 0}, ARCH_NEED_ALWAYS, true},
    {ARCH_T_FFN_GATE,
     "ffn_gate.weight",
     true,
     2,
     {ARCH_DIM_EMBD, ARCH_DIM_FF},
     ARCH_NEED_ALWAYS,
     false},
    {ARCH_T_FFN_UP,
     "ffn_up.weight",
     true,
     2,
     {ARCH_DIM_EMBD, ARCH_DIM_FF},
     ARCH_NEED_ALWAYS,
     false},
    {ARCH_T_FFN_DOWN,
     "ffn_down.weight",
     true,
     2,
     {ARCH_DIM_FF, ARCH_DIM_EMBD},
     ARCH_NEED_ALWAYS,
     false},
    {ARCH_T_POST_FFW_NORM,
     "post_ffw_norm.weight",
     true,
     1,
     {ARCH_DIM_EMBD, 0},
     ARCH_NEED_POST_NORMS,
     true},
};

const struct arch_tensor_desc *arch_tensors(size_t *n)
{
    *n = N_OF(arch_tensor_table);
    return arch_tensor_table;
}

int64_t arch_dim_value(const struct arch_hparams *hp, enum arch_dim d)
{
    switch (d) {
    case ARCH_DIM_EMBD:
        return hp->n_embd;
    case ARCH_DIM_VOCAB:
        return hp->n_vocab;
    case ARCH_DIM_Q:
        return hp->n_head * hp->head_dim;
    case ARCH_DIM_K:
        return hp->n_head_kv * hp->head_dim;
    case ARCH_DIM_V:
        return hp->n_head_kv * hp->head_dim_v;
    case ARCH_DIM_O:
        return hp->n_head * hp->head_dim_v;
    case ARCH_DIM_HEAD:
        return hp->head_dim;
    case ARCH_DIM_FF:
        return hp->n_ff;
    }
    return 1;
}

bool arch_tensor_required(const struct arch_hparams *hp, const struct arch_tensor_desc *d)
{
    switch (d->need) {
    case ARCH_NEED_ALWAYS:
        return true;
    case ARCH_NEED_OPTIONAL:
        return false;
    case ARCH_NEED_POST_NORMS:
        return hp->has_post_norms;
    case ARCH_NEED_QK_NORM:
        return hp->has_qk_norm;
    }
    return false;
}

void arch_tensor_name(char *buf, size_t n, const struct arch_tensor_desc *d, int64_t il)
{
    if (d->per_layer)
        snprintf(buf, n, "blk.%lld.%s", (long long)il, d->pattern);
    else
        snprintf(buf, n, "%s", d->pattern);
}
