/*
 * engine/hf.c - see hf.h.
 *
 * Sources: llama.cpp convert_hf_to_gguf.py (commit f454bd7e, the one the fixtures were
 * made with): GemmaModel / Gemma2Model / Gemma3Model set_gguf_parameters and
 * modify_tensors (norm + 1, lm_head dropped when tied), _create_vocab_sentencepiece (token
 * types, [PADi] padding up to vocab_size, added_tokens_decoder -> CONTROL / USER_DEFINED
 * with score -1000, does_token_look_special); transformers' Gemma*Config defaults.
 */
#include "engine/hf.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "engine/arch.h"
#include "engine/gguf.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/safetensors.h"
#include "engine/tok.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the tensor-name tables (data, one per architecture) ----------------------------- */

struct hf_map {
    const char *hf;   /* after "model." (global) or "model.layers.N." (per layer) */
    const char *gguf; /* after "" or "blk.N." */
    bool per_layer;
    bool norm;     /* stored as w: converted to float32 1 + w */
    bool optional; /* lm_head: absent when tied */
};

static const struct hf_map gemma_map[] = {
    {"embed_tokens.weight", "token_embd.weight", false, false, false},
    {"norm.weight", "output_norm.weight", false, true, false},
    {"input_layernorm.weight", "attn_norm.weight", true, true, false},
    {"self_attn.q_proj.weight", "attn_q.weight", true, false, false},
    {"self_attn.k_proj.weight", "attn_k.weight", true, false, false},
    {"self_attn.v_proj.weight", "attn_v.weight", true, false, false},
    {"self_attn.o_proj.weight", "attn_output.weight", true, false, false},
    {"post_attention_layernorm.weight", "ffn_norm.weight", true, true, false},
    {"mlp.gate_proj.weight", "ffn_gate.weight", true, false, false},
    {"mlp.up_proj.weight", "ffn_up.weight", true, false, false},
    {"mlp.down_proj.weight", "ffn_down.weight", true, false, false},
};

static const struct hf_map gemma2_map[] = {
    {"embed_tokens.weight", "token_embd.weight", false, false, false},
    {"norm.weight", "output_norm.weight", false, true, false},
    {"input_layernorm.weight", "attn_norm.weight", true, true, false},
    {"self_attn.q_proj.weight", "attn_q.weight", true, false, false},
    {"self_attn.k_proj.weight", "attn_k.weight", true, false, false},
    {"self_attn.v_proj.weight", "attn_v.weight", true, false, false},
    {"self_attn.o_proj.weight", "attn_output.weight", true, false, false},
    {"post_attention_layernorm.weight", "post_attention_norm.weight", true, true, false},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight", true, true, false},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight", true, true, false},
    {"mlp.gate_proj.weight", "ffn_gate.weight", true, false, false},
    {"mlp.up_proj.weight", "ffn_up.weight", true, false, false},
    {"mlp.down_proj.weight", "ffn_down.weight", true, false, false},
};

static const struct hf_map gemma3_map[] = {
    {"embed_tokens.weight", "token_embd.weight", false, false, false},
    {"norm.weight", "output_norm.weight", false, true, false},
    {"input_layernorm.weight", "attn_norm.weight", true, true, false},
    {"self_attn.q_proj.weight", "attn_q.weight", true, false, false},
    {"self_attn.k_proj.weight", "attn_k.weight", true, false, false},
    {"self_attn.v_proj.weight", "attn_v.weight", true, false, false},
    {"self_attn.o_proj.weight", "attn_output.weight", true, false, false},
    {"self_attn.q_norm.weight", "attn_q_norm.weight", true, true, false},
    {"self_attn.k_norm.weight", "attn_k_norm.weight", true, true, false},
    {"post_attention_layernorm.weight", "post_attention_norm.weight", true, true, false},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight", true, true, false},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight", true, true, false},
    {"mlp.gate_proj.weight", "ffn_gate.weight", true, false, false},
    {"mlp.up_proj.weight", "ffn_up.weight", true, false, false},
    {"mlp.down_proj.weight", "ffn_down.weight", true, false, false},
};

/* The HF layouts of the text model's names: "model.X" (CausalLM), and the Gemma 3
 * multimodal checkpoints' "language_model.model.X" / "model.language_model.X". */
static const char *const body_prefixes[] = {"model.", "language_model.model.",
                                            "model.language_model."};
static const char *const head_names[] = {"lm_head.weight", "language_model.lm_head.weight"};
/* Tensors of other towers in a multimodal checkpoint: not ours, skipped. */
static const char *const skip_prefixes[] = {"vision_tower.", "multi_modal_projector.",
                                            "model.vision_tower.", "model.multi_modal_projector."};

struct hf_arch {
    const char *model_type; /* config.json */
    const char *gguf_arch;  /* general.architecture */
    const struct hf_map *map;
    size_t n_map;
    int64_t swa_period; /* llama.cpp's default pattern (0: no sliding layers) */
    int64_t qpas_layers; /* n_layer where llama.cpp uses n_embd/n_head (see arch.c) */
};

static const struct hf_arch hf_archs[] = {
    {"gemma", "gemma", gemma_map, N_OF(gemma_map), 0, 0},
    {"gemma2", "gemma2", gemma2_map, N_OF(gemma2_map), 2, 46},
    {"gemma3_text", "gemma3", gemma3_map, N_OF(gemma3_map), 6, 62},
    {"gemma3", "gemma3", gemma3_map, N_OF(gemma3_map), 6, 62}, /* reads text_config */
};

/* ---- the model --------------------------------------------------------------------- */

struct hf_model {
    char *dir;
    char cfg_path[4096];
    const struct hf_arch *arch;
    struct st_set *st;
    struct gguf *meta;
    void *meta_buf;
    size_t meta_len;
    struct model_view *views; /* in the safetensors' name order */
    size_t n_views;
    void **owned; /* norm copies and realigned tensors */
    size_t n_owned;
    int64_t n_params;
    int wtype; /* dominant quant type of the 2-D weights */
};

bool hf_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void hf_close(struct hf_model *h)
{
    if (!h)
        return;
    gguf_close(h->meta);
    free(h->meta_buf);
    for (size_t i = 0; i < h->n_views; i++) {
        free((char *)h->views[i].t.name);
        free((char *)h->views[i].src_name);
    }
    free(h->views);
    for (size_t i = 0; i < h->n_owned; i++)
        free(h->owned[i]);
    free(h->owned);
    st_set_close(h->st);
    free(h->dir);
    free(h);
}

static int load_config(json_t **out, const char *dir, char *path, size_t n,
                       struct assay_error *err)
{
    snprintf(path, n, "%s/config.json", dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set_at(err, ASSAY_EINVAL, path, 0,
                          "no config.json: not a Hugging Face model directory");
    int rc = jsn_load_file(out, path, err);
    if (rc)
        return rc == ASSAY_ENOTFOUND ? ASSAY_EINVAL : rc;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return err_set_at(err, ASSAY_EINVAL, path, 0, "not a JSON object");
    }
    return 0;
}

int hf_model_type(const char *dir, char *buf, size_t n, struct assay_error *err)
{
    char path[4096];
    json_t *cfg = NULL;
    int rc = load_config(&cfg, dir, path, sizeof(path), err);
    if (rc)
        return rc;
    const char *mt = jsn_str(cfg, "model_type", NULL);
    if (!mt)
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "no 'model_type' string");
    else
        snprintf(buf, n, "%s", mt);
    json_decref(cfg);
    return rc;
}

/* ---- config values ------------------------------------------------------------------ */

struct cfg {
    const json_t *o;
    const char *path;
};

/* An integer >= 1; def < 0: required. */
static int cfg_int(const struct cfg *c, const char *key, int64_t def, int64_t *out,
                   struct assay_error *err)
{
    const json_t *v = json_object_get(c->o, key);
    if (!v || json_is_null(v)) {
        if (def < 0)
            return err_set_at(err, ASSAY_EINVAL, c->path, 0, "key '%s' missing", key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > (1LL << 40))
        return err_set_at(err, ASSAY_EINVAL, c->path, 0, "key '%s' is not a positive integer",
                          key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* A number; absent or null gives def (NAN: required). */
static int cfg_num(const struct cfg *c, const char *key, double def, double *out,
                   struct assay_error *err)
{
    const json_t *v = json_object_get(c->o, key);
    if (!v || json_is_null(v)) {
        if (isnan(def))
            return err_set_at(err, ASSAY_EINVAL, c->path, 0, "key '%s' missing", key);
        *out = def;
        return 0;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return err_set_at(err, ASSAY_EINVAL, c->path, 0, "key '%s' is not a number", key);
    *out = json_number_value(v);
    return 0;
}

/* A token id (first element of an array), -1 when absent. */
static int64_t cfg_id(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v)
                                                             : -1;
}

/* ---- metadata ------------------------------------------------------------------------ */

#define W(call)                                                                            \
    do {                                                                                   \
        rc = (call);                                                                       \
        if (rc)                                                                            \
            goto out;                                                                      \
    } while (0)

static void key(char *buf, size_t n, const char *arch, const char *suffix)
{
    snprintf(buf, n, "%s.%s", arch, suffix);
}

/* llama.cpp convert_hf_to_gguf.py TextModel.does_token_look_special. */
static bool looks_special(const char *s)
{
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") ||
        !strcmp(s, "[@BOS@]"))
        return true;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>"))
        return true;
    if (n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>')
        return true;
    return false;
}

static int add_tokenizer(struct hf_model *h, struct gguf_writer *w, const json_t *cfg,
                         int64_t vocab_size, struct assay_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/tokenizer.model", h->dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set_at(err, ASSAY_EINVAL, path, 0,
                          "no tokenizer.model (a SentencePiece model) in the model directory");
    struct tok *t = NULL;
    int rc = tok_open_spm(&t, path, err);
    if (rc)
        return rc == ASSAY_ENOTFOUND ? ASSAY_EINVAL : rc;
    json_t *tc = NULL;
    char tc_path[4096];
    snprintf(tc_path, sizeof(tc_path), "%s/tokenizer_config.json", h->dir);
    if (stat(tc_path, &st) == 0 && (rc = jsn_load_file(&tc, tc_path, err)))
        goto out_tok;
    size_t n_spm = tok_n_vocab(t);
    size_t n = n_spm;
    if (vocab_size > 0 && (size_t)vocab_size > n)
        n = (size_t)vocab_size;
    char **pieces = mem_calloc_array(n, sizeof(char *));
    float *scores = mem_alloc_array(n, sizeof(float));
    int32_t *types = mem_alloc_array(n, sizeof(int32_t));
    if (!pieces || !scores || !types) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (i < n_spm) {
            size_t len;
            const char *p = tok_piece(t, (int32_t)i, &len);
            pieces[i] = mem_strndup(p, len);
            scores[i] = tok_piece_score(t, (int32_t)i);
            types[i] = tok_piece_type(t, (int32_t)i);
            /* the converter asks sentencepiece IsUnknown / IsControl / IsUnused / IsByte
             * only: a USER_DEFINED piece of the .model is written NORMAL */
            if (types[i] == TOK_PIECE_USER_DEFINED)
                types[i] = TOK_PIECE_NORMAL;
        } else {
            char pad[32];
            snprintf(pad, sizeof(pad), "[PAD%zu]", i);
            pieces[i] = mem_strdup(pad);
            scores[i] = -1000.0f;
            types[i] = TOK_PIECE_UNUSED;
        }
        if (!pieces[i]) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
    }
    const json_t *atd = tc ? json_object_get(tc, "added_tokens_decoder") : NULL;
    if (json_is_object(atd)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)atd, k, v)
        {
            char *end;
            long id = strtol(k, &end, 10);
            const char *content = jsn_str(v, "content", NULL);
            if (*end || id < 0 || !content) {
                rc = err_set_at(err, ASSAY_EINVAL, tc_path, 0,
                                "added_tokens_decoder entry '%s' is not an id with a content", k);
                goto out;
            }
            if ((size_t)id >= n)
                continue; /* the converter extends nothing past vocab_size either */
            char *c = mem_strdup(content);
            if (!c) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            free(pieces[id]);
            pieces[id] = c;
            scores[id] = -1000.0f;
            types[id] = (jsn_bool(v, "special", 0) || looks_special(content))
                            ? TOK_PIECE_CONTROL
                            : TOK_PIECE_USER_DEFINED;
        }
    }
    W(gguf_writer_add_str(w, "tokenizer.ggml.model", "llama", 5, err));
    W(gguf_writer_add_str(w, "tokenizer.ggml.pre", "default", 7, err));
    W(gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)pieces, NULL,
                              (uint64_t)n, err));
    W(gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, (uint64_t)n,
                          err));
    W(gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n,
                          err));
    struct {
        const char *cfg_key, *gguf_key;
        int32_t fallback;
    } ids[] = {
        {"bos_token_id", "tokenizer.ggml.bos_token_id", tok_bos_id(t)},
        {"eos_token_id", "tokenizer.ggml.eos_token_id", tok_eos_id(t)},
        {"unk_token_id", "tokenizer.ggml.unknown_token_id", tok_unk_id(t)},
        {"pad_token_id", "tokenizer.ggml.padding_token_id", tok_pad_id(t)},
    };
    for (size_t i = 0; i < N_OF(ids); i++) {
        int64_t id = cfg_id(cfg, ids[i].cfg_key);
        if (id < 0)
            id = ids[i].fallback;
        if (id >= 0 && (size_t)id < n)
            W(gguf_writer_add_u32(w, ids[i].gguf_key, (uint32_t)id, err));
    }
    W(gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token",
                           tc ? jsn_bool(tc, "add_bos_token", 1) != 0 : true, err));
    W(gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token",
                           tc ? jsn_bool(tc, "add_eos_token", 0) != 0 : false, err));
    const char *tmpl = tc ? jsn_str(tc, "chat_template", NULL) : NULL;
    if (tmpl)
        W(gguf_writer_add_str(w, "tokenizer.chat_template", tmpl, strlen(tmpl), err));
    /* GemmaModel.set_vocab: add_add_space_prefix(False). */
    W(gguf_writer_add_bool(w, "tokenizer.ggml.add_space_prefix", false, err));
out:
    if (pieces)
        for (size_t i = 0; i < n; i++)
            free(pieces[i]);
    free(pieces);
    free(scores);
    free(types);
out_tok:
    json_decref(tc);
    tok_free(t);
    return rc;
}

static int add_hparams(struct hf_model *h, struct gguf_writer *w, const struct cfg *c,
                       int64_t *vocab_out, struct assay_error *err)
{
    const char *a = h->arch->gguf_arch;
    char k[160];
    int64_t n_embd = 0, n_layer = 0, n_head = 1, n_kv = 0, n_ff = 0, n_ctx = 0, head_dim = 0,
            vocab = 0;
    double eps = 0, rope = 0, rope_swa = 0, qpas = 0, attn_cap = 0, final_cap = 0;
    int rc;
    W(cfg_int(c, "hidden_size", -1, &n_embd, err));
    W(cfg_int(c, "num_hidden_layers", -1, &n_layer, err));
    W(cfg_int(c, "num_attention_heads", -1, &n_head, err));
    W(cfg_int(c, "intermediate_size", -1, &n_ff, err));
    W(cfg_int(c, "num_key_value_heads", n_head, &n_kv, err));
    W(cfg_int(c, "max_position_embeddings", 8192, &n_ctx, err));
    W(cfg_int(c, "head_dim", n_embd / n_head > 0 ? n_embd / n_head : 1, &head_dim, err));
    W(cfg_int(c, "vocab_size", 1, &vocab, err));
    W(cfg_num(c, "rms_norm_eps", 1e-6, &eps, err));
    bool is3 = strcmp(a, "gemma3") == 0, is2 = strcmp(a, "gemma2") == 0;
    W(cfg_num(c, "rope_theta", is3 ? 1000000.0 : 10000.0, &rope, err));
    W(cfg_num(c, "rope_local_base_freq", 10000.0, &rope_swa, err));
    W(cfg_num(c, "query_pre_attn_scalar", (double)head_dim, &qpas, err));
    if (n_layer > ARCH_LAYER_MAX)
        return err_set_at(err, ASSAY_EINVAL, c->path, 0, "num_hidden_layers %lld above %d",
                          (long long)n_layer, ARCH_LAYER_MAX);
    *vocab_out = vocab;

    key(k, sizeof(k), a, "context_length");
    W(gguf_writer_add_u32(w, k, (uint32_t)n_ctx, err));
    key(k, sizeof(k), a, "embedding_length");
    W(gguf_writer_add_u32(w, k, (uint32_t)n_embd, err));
    key(k, sizeof(k), a, "block_count");
    W(gguf_writer_add_u32(w, k, (uint32_t)n_layer, err));
    key(k, sizeof(k), a, "feed_forward_length");
    W(gguf_writer_add_u32(w, k, (uint32_t)n_ff, err));
    key(k, sizeof(k), a, "attention.head_count");
    W(gguf_writer_add_u32(w, k, (uint32_t)n_head, err));
    key(k, sizeof(k), a, "attention.head_count_kv");
    W(gguf_writer_add_u32(w, k, (uint32_t)n_kv, err));
    if (is3) {
        key(k, sizeof(k), a, "rope.freq_base");
        W(gguf_writer_add_f32(w, k, (float)rope, err));
        key(k, sizeof(k), a, "rope.freq_base_swa");
        W(gguf_writer_add_f32(w, k, (float)rope_swa, err));
    } else if (rope != 10000.0) {
        /* the converter omits it; llama.cpp's default is 10000 */
        key(k, sizeof(k), a, "rope.freq_base");
        W(gguf_writer_add_f32(w, k, (float)rope, err));
    }
    key(k, sizeof(k), a, "attention.layer_norm_rms_epsilon");
    W(gguf_writer_add_f32(w, k, (float)eps, err));
    key(k, sizeof(k), a, "attention.key_length");
    W(gguf_writer_add_u32(w, k, (uint32_t)head_dim, err));
    key(k, sizeof(k), a, "attention.value_length");
    W(gguf_writer_add_u32(w, k, (uint32_t)head_dim, err));
    W(gguf_writer_add_u32(w, "general.file_type",
                          h->wtype == QUANT_TYPE_BF16  ? 32
                          : h->wtype == QUANT_TYPE_F16 ? 1
                                                       : 0,
                          err));
    if (is2) {
        W(cfg_num(c, "attn_logit_softcapping", 50.0, &attn_cap, err));
        W(cfg_num(c, "final_logit_softcapping", 30.0, &final_cap, err));
        key(k, sizeof(k), a, "attn_logit_softcapping");
        W(gguf_writer_add_f32(w, k, (float)attn_cap, err));
        key(k, sizeof(k), a, "final_logit_softcapping");
        W(gguf_writer_add_f32(w, k, (float)final_cap, err));
    } else if (is3) {
        W(cfg_num(c, "attn_logit_softcapping", 0.0, &attn_cap, err));
        W(cfg_num(c, "final_logit_softcapping", 0.0, &final_cap, err));
        if (attn_cap > 0) {
            key(k, sizeof(k), a, "attn_logit_softcapping");
            W(gguf_writer_add_f32(w, k, (float)attn_cap, err));
        }
        if (final_cap > 0) {
            key(k, sizeof(k), a, "final_logit_softcapping");
            W(gguf_writer_add_f32(w, k, (float)final_cap, err));
        }
    }
    if (is2 || is3) {
        int64_t win;
        W(cfg_int(c, "sliding_window", 4096, &win, err));
        key(k, sizeof(k), a, "attention.sliding_window");
        W(gguf_writer_add_u32(w, k, (uint32_t)win, err));
        /* Which layers slide: layer_types, else sliding_window_pattern, else the default. */
        int64_t period = h->arch->swa_period;
        W(cfg_int(c, "sliding_window_pattern", period, &period, err));
        uint8_t local[ARCH_LAYER_MAX];
        const json_t *lt = json_object_get(c->o, "layer_types");
        bool dflt = true;
        for (int64_t il = 0; il < n_layer; il++) {
            local[il] = (il % period) < period - 1;
            if (json_is_array(lt)) {
                if ((int64_t)json_array_size(lt) != n_layer)
                    return err_set_at(err, ASSAY_EINVAL, c->path, 0,
                                      "layer_types has %zu entries for %lld layers",
                                      json_array_size(lt), (long long)n_layer);
                const char *s = json_string_value(json_array_get(lt, (size_t)il));
                if (!s || (strcmp(s, "sliding_attention") && strcmp(s, "full_attention")))
                    return err_set_at(err, ASSAY_EINVAL, c->path, 0,
                                      "layer_types[%lld] is not sliding_attention or "
                                      "full_attention",
                                      (long long)il);
                local[il] = strcmp(s, "sliding_attention") == 0;
            }
            dflt = dflt && local[il] == ((il % h->arch->swa_period) < h->arch->swa_period - 1);
        }
        if (!dflt) {
            key(k, sizeof(k), a, "attention.sliding_window_pattern");
            W(gguf_writer_add_arr(w, k, GGUF_TYPE_BOOL, local, (uint64_t)n_layer, err));
        }
        const json_t *rs = json_object_get(c->o, "rope_scaling");
        if (rs && !json_is_null(rs)) {
            const char *type = jsn_str(rs, "rope_type", jsn_str(rs, "type", "?"));
            double f = jsn_num(rs, "factor", 0);
            if (strcmp(type, "linear") != 0 || !(f > 0))
                return err_set_at(err, ASSAY_EUNSUPPORTED, c->path, 0,
                                  "rope_scaling type '%s' is not supported (linear only)", type);
            key(k, sizeof(k), a, "rope.scaling.type");
            W(gguf_writer_add_str(w, k, "linear", 6, err));
            key(k, sizeof(k), a, "rope.scaling.factor");
            W(gguf_writer_add_f32(w, k, (float)f, err));
        }
    }
    /* query_pre_attn_scalar: stated only where llama.cpp would derive another value. */
    double derived = (h->arch->qpas_layers && n_layer == h->arch->qpas_layers)
                         ? (double)n_embd / (double)n_head
                         : (double)head_dim;
    if (qpas != derived) {
        key(k, sizeof(k), a, "attention.query_pre_attn_scalar");
        W(gguf_writer_add_f32(w, k, (float)qpas, err));
    }
    W(gguf_writer_add_u32(w, "general.quantization_version", 2, err));
out:
    return rc;
}

/* ---- tensors ------------------------------------------------------------------------- */

static int keep(struct hf_model *h, void *p)
{
    void **o = mem_realloc_array(h->owned, h->n_owned + 1, sizeof(void *));
    if (!o) {
        free(p);
        return ASSAY_ENOMEM;
    }
    h->owned = o;
    h->owned[h->n_owned++] = p;
    return 0;
}

/* The map row and layer of an HF name; false when it is not a text-model tensor. */
static bool map_name(const struct hf_arch *ar, const char *name, const struct hf_map **row,
                     int64_t *layer)
{
    for (size_t i = 0; i < N_OF(head_names); i++)
        if (!strcmp(name, head_names[i])) {
            static const struct hf_map head = {"lm_head.weight", "output.weight", false, false,
                                               true};
            *row = &head;
            *layer = -1;
            return true;
        }
    for (size_t p = 0; p < N_OF(body_prefixes); p++) {
        size_t pl = strlen(body_prefixes[p]);
        if (strncmp(name, body_prefixes[p], pl) != 0)
            continue;
        const char *rest = name + pl;
        int64_t il = -1;
        if (!strncmp(rest, "layers.", 7)) {
            char *end;
            long v = strtol(rest + 7, &end, 10);
            if (end == rest + 7 || *end != '.' || v < 0)
                continue;
            il = v;
            rest = end + 1;
        }
        for (size_t i = 0; i < ar->n_map; i++)
            if (ar->map[i].per_layer == (il >= 0) && !strcmp(rest, ar->map[i].hf)) {
                *row = &ar->map[i];
                *layer = il;
                return true;
            }
    }
    return false;
}

static int add_view(struct hf_model *h, const struct st_tensor *t, const struct hf_map *row,
                    int64_t il, int64_t n_layer, struct assay_error *err)
{
    if (il >= n_layer)
        return err_set_at(err, ASSAY_EINVAL, t->path, 0,
                          "tensor '%s': layer %lld but config.json has %lld layers", t->name,
                          (long long)il, (long long)n_layer);
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return err_set_at(err, ASSAY_EINVAL, t->path, 0, "tensor '%s': %d dims", t->name,
                          t->n_dims);
    struct model_view *v = &h->views[h->n_views];
    memset(v, 0, sizeof(*v));
    char gname[160];
    if (row->per_layer)
        snprintf(gname, sizeof(gname), "blk.%lld.%s", (long long)il, row->gguf);
    else
        snprintf(gname, sizeof(gname), "%s", row->gguf);
    for (size_t i = 0; i < h->n_views; i++)
        if (!strcmp(h->views[i].t.name, gname))
            return err_set_at(err, ASSAY_EINVAL, t->path, 0,
                              "tensor '%s': a second tensor for '%s' (first: '%s')", t->name,
                              gname, h->views[i].src_name);
    v->t.name = mem_strdup(gname);
    v->src_name = mem_strdup(t->name);
    v->path = t->path;
    h->n_views++;
    if (!v->t.name || !v->src_name)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    v->t.n_dims = t->n_dims;
    for (int d = 0; d < GGUF_MAX_DIMS; d++)
        v->t.ne[d] = d < t->n_dims ? t->shape[t->n_dims - 1 - d] : 1;
    v->t.n_elem = t->n_elem;
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return err_set_at(err, ASSAY_EUNSUPPORTED, t->path, 0,
                          "tensor '%s': dtype %s is not supported (F32, F16, BF16)", t->name,
                          st_dtype_name(t->dtype));
    h->n_params += t->n_elem;
    if (row->norm) {
        if (t->n_dims != 1)
            return err_set_at(err, ASSAY_EINVAL, t->path, 0,
                              "tensor '%s': a norm weight must have 1 dim, not %d", t->name,
                              t->n_dims);
        float *f = mem_alloc_array((size_t)t->n_elem + 1, sizeof(float));
        if (!f || keep(h, f))
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        for (int64_t i = 0; i < t->n_elem; i++)
            f[i] = st_get_f32(t, i) + 1.0f;
        v->t.type = QUANT_TYPE_F32;
        v->t.n_bytes = (size_t)t->n_elem * 4;
        v->t.data = f;
        return 0;
    }
    v->t.type = t->dtype == ST_F32 ? QUANT_TYPE_F32
                : t->dtype == ST_F16 ? QUANT_TYPE_F16
                                     : QUANT_TYPE_BF16;
    v->t.n_bytes = t->n_bytes;
    v->t.offset = t->offset;
    v->t.data = t->data;
    if (!t->aligned) {
        void *p = mem_alloc_aligned(64, t->n_bytes ? t->n_bytes : 1);
        if (!p || keep(h, p))
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        memcpy(p, t->data, t->n_bytes);
        v->t.data = p;
    }
    return 0;
}

static int bind_views(struct hf_model *h, int64_t n_layer, struct assay_error *err)
{
    size_t n_all = st_set_n_tensors(h->st);
    h->views = mem_calloc_array(n_all + 1, sizeof(*h->views));
    if (!h->views)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    size_t counts[N_OF(gemma3_map)] = {0};
    for (size_t fi = 0; fi < st_set_n_files(h->st); fi++) {
        const struct st_file *f = st_set_file(h->st, fi);
        for (size_t ti = 0; ti < st_n_tensors(f); ti++) {
            const struct st_tensor *t = st_tensor_at(f, ti);
            const struct hf_map *row;
            int64_t il;
            if (!map_name(h->arch, t->name, &row, &il)) {
                bool skip = false;
                for (size_t s = 0; s < N_OF(skip_prefixes); s++)
                    skip |= !strncmp(t->name, skip_prefixes[s], strlen(skip_prefixes[s]));
                if (skip)
                    continue;
                return err_set_at(err, ASSAY_EINVAL, t->path, 0,
                                  "tensor '%s' is not part of a %s model", t->name,
                                  h->arch->model_type);
            }
            int rc = add_view(h, t, row, il, n_layer, err);
            if (rc)
                return rc;
            if (row >= h->arch->map && row < h->arch->map + h->arch->n_map)
                counts[row - h->arch->map]++;
        }
    }
    for (size_t i = 0; i < h->arch->n_map; i++) {
        const struct hf_map *r = &h->arch->map[i];
        size_t want = r->per_layer ? (size_t)n_layer : 1;
        if (counts[i] == want)
            continue;
        /* name the first one missing */
        for (int64_t il = 0; il < (r->per_layer ? n_layer : 1); il++) {
            char gname[160];
            if (r->per_layer)
                snprintf(gname, sizeof(gname), "blk.%lld.%s", (long long)il, r->gguf);
            else
                snprintf(gname, sizeof(gname), "%s", r->gguf);
            bool found = false;
            for (size_t v = 0; v < h->n_views && !found; v++)
                found = !strcmp(h->views[v].t.name, gname);
            if (!found) {
                char hname[200];
                if (r->per_layer)
                    snprintf(hname, sizeof(hname), "model.layers.%lld.%s", (long long)il, r->hf);
                else
                    snprintf(hname, sizeof(hname), "model.%s", r->hf);
                return err_set_at(err, ASSAY_EINVAL, st_path(st_set_file(h->st, 0)), 0,
                                  "tensor '%s' missing (needed by %s)", hname,
                                  h->arch->model_type);
            }
        }
    }
    /* dominant weight type */
    int64_t by_type[3] = {0}; /* F32, F16, BF16 */
    for (size_t i = 0; i < h->n_views; i++) {
        const struct gguf_tensor *t = &h->views[i].t;
        if (t->n_dims < 2)
            continue;
        by_type[t->type == QUANT_TYPE_F16 ? 1 : t->type == QUANT_TYPE_BF16 ? 2 : 0] += t->n_elem;
    }
    h->wtype = by_type[2] >= by_type[1] && by_type[2] >= by_type[0] ? QUANT_TYPE_BF16
               : by_type[1] >= by_type[0]                          ? QUANT_TYPE_F16
                                                                   : QUANT_TYPE_F32;
    return 0;
}

int hf_open(struct hf_model **out, const char *dir, struct assay_error *err)
{
    *out = NULL;
    struct hf_model *h = calloc(1, sizeof(*h));
    if (!h || !(h->dir = mem_strdup(dir))) {
        free(h);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    size_t dl = strlen(h->dir);
    while (dl > 1 && h->dir[dl - 1] == '/')
        h->dir[--dl] = '\0';
    json_t *root = NULL;
    struct gguf_writer *w = NULL;
    int rc = load_config(&root, h->dir, h->cfg_path, sizeof(h->cfg_path), err);
    if (rc)
        goto out;
    const char *mt = jsn_str(root, "model_type", NULL);
    if (!mt) {
        rc = err_set_at(err, ASSAY_EINVAL, h->cfg_path, 0, "no 'model_type' string");
        goto out;
    }
    if (!strcmp(mt, "recurrent_gemma")) {
        rc = err_set_at(err, ASSAY_EUNSUPPORTED, h->cfg_path, 0,
                        "model_type 'recurrent_gemma' is not a transformer Gemma (RecurrentGemma "
                        "has its own engine)");
        goto out;
    }
    for (size_t i = 0; i < N_OF(hf_archs); i++)
        if (!strcmp(mt, hf_archs[i].model_type))
            h->arch = &hf_archs[i];
    if (!h->arch) {
        rc = err_set_at(err, ASSAY_EINVAL, h->cfg_path, 0,
                        "model_type '%s' is not supported (gemma, gemma2, gemma3_text, gemma3, "
                        "recurrent_gemma)",
                        mt);
        goto out;
    }
    struct cfg c = {.o = root, .path = h->cfg_path};
    if (!strcmp(mt, "gemma3")) {
        c.o = json_object_get(root, "text_config");
        if (!json_is_object(c.o)) {
            rc = err_set_at(err, ASSAY_EINVAL, h->cfg_path, 0,
                            "model_type 'gemma3' without a 'text_config' object");
            goto out;
        }
    }
    rc = st_set_open_dir(&h->st, h->dir, err);
    if (rc) {
        if (rc == ASSAY_ENOTFOUND)
            rc = ASSAY_EINVAL;
        goto out;
    }
    int64_t n_layer;
    if ((rc = cfg_int(&c, "num_hidden_layers", -1, &n_layer, err)))
        goto out;
    if (n_layer > ARCH_LAYER_MAX) {
        rc = err_set_at(err, ASSAY_EINVAL, h->cfg_path, 0, "num_hidden_layers %lld above %d",
                        (long long)n_layer, ARCH_LAYER_MAX);
        goto out;
    }
    if ((rc = bind_views(h, n_layer, err)))
        goto out;

    if ((rc = gguf_writer_new(&w, err)))
        goto out;
    const char *base = strrchr(h->dir, '/');
    base = base ? base + 1 : h->dir;
    int64_t vocab = 0;
    W(gguf_writer_add_str(w, "general.architecture", h->arch->gguf_arch,
                          strlen(h->arch->gguf_arch), err));
    W(gguf_writer_add_str(w, "general.type", "model", 5, err));
    W(gguf_writer_add_str(w, "general.name", base, strlen(base), err));
    W(add_hparams(h, w, &c, &vocab, err));
    /* Pad the vocabulary to the embedding's rows at most (a config cannot make us build
     * millions of [PADi] pieces the model has no rows for). */
    for (size_t i = 0; i < h->n_views; i++)
        if (!strcmp(h->views[i].t.name, "token_embd.weight") && h->views[i].t.ne[1] < vocab)
            vocab = h->views[i].t.ne[1];
    W(add_tokenizer(h, w, root, vocab, err));
    W(gguf_writer_write_mem(w, &h->meta_buf, &h->meta_len, err));
    W(gguf_open_mem(&h->meta, h->meta_buf, h->meta_len, h->cfg_path, err));
out:
    if (rc && err && !err->path[0])
        err_set_path(err, h->cfg_path);
    gguf_writer_free(w);
    json_decref(root);
    if (rc) {
        hf_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

const struct gguf *hf_meta(const struct hf_model *h)
{
    return h->meta;
}

const struct model_view *hf_views(const struct hf_model *h, size_t *n)
{
    *n = h->n_views;
    return h->views;
}

const struct st_set *hf_tensors(const struct hf_model *h)
{
    return h->st;
}

const char *hf_dir(const struct hf_model *h)
{
    return h->dir;
}

int64_t hf_n_params(const struct hf_model *h)
{
    return h->n_params;
}

int64_t hf_bytes(const struct hf_model *h)
{
    return (int64_t)st_set_bytes(h->st);
}

const char *hf_weight_type(const struct hf_model *h)
{
    const struct quant_traits *t = quant_traits_of(h->wtype);
    return t ? t->name : "?";
}

int hf_to_gguf_writer(const struct hf_model *h, struct gguf_writer *w, struct assay_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < gguf_n_kv(h->meta); i++)
        if ((rc = gguf_writer_copy_kv(w, h->meta, gguf_kv_at(h->meta, i), err)))
            return rc;
    for (size_t i = 0; i < h->n_views; i++) {
        const struct gguf_tensor *t = &h->views[i].t;
        if ((rc = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, err)))
            return rc;
    }
    return 0;
}

bool hf_name_of(const char *model_type, const char *gguf_name, char *buf, size_t n,
                bool *is_norm)
{
    const struct hf_arch *ar = NULL;
    for (size_t i = 0; i < N_OF(hf_archs); i++)
        if (!strcmp(model_type, hf_archs[i].model_type))
            ar = &hf_archs[i];
    if (!ar)
        return false;
    if (!strcmp(gguf_name, "output.weight")) {
        snprintf(buf, n, "lm_head.weight");
        *is_norm = false;
        return true;
    }
    long il = -1;
    const char *rest = gguf_name;
    if (!strncmp(gguf_name, "blk.", 4)) {
        char *end;
        il = strtol(gguf_name + 4, &end, 10);
        if (end == gguf_name + 4 || *end != '.' || il < 0)
            return false;
        rest = end + 1;
    }
    for (size_t i = 0; i < ar->n_map; i++)
        if (ar->map[i].per_layer == (il >= 0) && !strcmp(rest, ar->map[i].gguf)) {
            if (il >= 0)
                snprintf(buf, n, "model.layers.%ld.%s", il, ar->map[i].hf);
            else
                snprintf(buf, n, "model.%s", ar->map[i].hf);
            *is_norm = ar->map[i].norm;
            return true;
        }
    return false;
}

/* ---- fingerprint --------------------------------------------------------------------- */

static int hash_file(struct hash_sha256 *hs, const char *dir, const char *name, int64_t *done,
                     int64_t total, const struct progress *prog, struct assay_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct file_map fm = {0};
    int rc = file_map(&fm, path, err);
    if (rc)
        return rc;
    uint8_t sz[8];
    for (int i = 0; i < 8; i++)
        sz[i] = (uint8_t)((uint64_t)fm.size >> (8 * i));
    hash_sha256_update(hs, name, strlen(name) + 1);
    hash_sha256_update(hs, sz, 8);
    const size_t chunk = (size_t)64 << 20;
    for (size_t off = 0; off < fm.size; off += chunk) {
        size_t n = fm.size - off < chunk ? fm.size - off : chunk;
        hash_sha256_update(hs, fm.data + off, n);
        *done += (int64_t)n;
        progress_report(prog, *done, total, "hashing");
    }
    file_unmap(&fm);
    return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int hf_fingerprint(const char *dir, char *out, size_t n, const struct progress *prog,
                   struct assay_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_set_at(err, ASSAY_ENOTFOUND, dir, 0, "cannot open the model directory");
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    int64_t total = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        size_t l = strlen(nm);
        bool want = !strcmp(nm, "config.json") || !strcmp(nm, "tokenizer.model") ||
                    !strcmp(nm, ST_INDEX_NAME) ||
                    (l > 12 && !strcmp(nm + l - 12, ".safetensors"));
        if (!want)
            continue;
        if (n_names == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = mem_realloc_array(names, cap, sizeof(char *));
            if (!nn) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n_names] = mem_strdup(nm))) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            break;
        }
        n_names++;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, nm);
        if (stat(path, &st) == 0)
            total += (int64_t)st.st_size;
    }
    closedir(d);
    if (!rc)
        qsort(names, n_names, sizeof(*names), cmp_cstr);
    struct hash_sha256 hs = {0};
    if (!rc)
        rc = hash_sha256_init(&hs, err);
    int64_t done = 0;
    for (size_t i = 0; i < n_names && !rc; i++)
        rc = hash_file(&hs, dir, names[i], &done, total, prog, err);
    if (!rc) {
        char hex[HASH_SHA256_HEX];
        hash_sha256_final_hex(&hs, hex);
        snprintf(out, n, "sha256:%s", hex);
    }
    hash_sha256_release(&hs);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    return rc;
}
