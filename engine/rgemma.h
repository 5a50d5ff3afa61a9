/*
 * engine/rgemma.h - RecurrentGemma (Griffin): configuration, weights and the forward pass
 * with a fixed-size state per sequence.
 *
 * The math follows the official google-deepmind/recurrentgemma implementation (see the
 * README of ../shared/fixtures/models/tiny-recurrentgemma): residual blocks in the
 * configured pattern (recurrent, recurrent, attention), each
 *   h = x + Temporal(RMSNorm_t(x)),  x = h + MLP(RMSNorm_c(h)),  RMSNorm scale (1 + w);
 * recurrent temporal block: gelu_tanh(W_y v) * RG-LRU(Conv1D(W_x v)) -> W_out, with the
 * causal depthwise Conv1D of width conv1d_width and the RG-LRU (c = 8, reset at
 * position 0); attention temporal block: local multi-query attention where query t sees
 * keys t - window .. t (window + 1 keys, as the official code, not HF transformers),
 * RoPE on the first half of each head's dimensions; embeddings scaled by bf16(sqrt(D));
 * logits = cap * tanh(logits / cap) with the tied embedding.
 *
 * What this file does not do: read files other than config.json (the weights come
 * through a tensor source, struct rg_source, so any safetensors reader can feed it),
 * tokenize, or schedule requests (engine/backend_rg.c).
 *
 * The state of one sequence (struct rg_state) does not grow with its length: per
 * recurrent layer the RG-LRU hidden state (lru_width floats) and the last
 * conv1d_width - 1 Conv1D inputs; per attention layer a ring of the last window + 1 keys
 * and values. rg_state_bytes tells its size. States can be copied (the backend's
 * "prefix cache" is a saved state).
 *
 * Ownership: objects returned through **out belong to the caller and are freed with the
 * matching _free (NULL is a no-op). The model borrows the tensor data the source hands
 * out: the source's mapping must outlive the model. Pointers returned as values
 * (rg_logits, rg_model_config) are borrowed.
 *
 * Threads: matrix products use engine/kern.h (bit-identical for any thread count); the
 * attention and scan kernels here give each output to one thread in a fixed order, so
 * results are identical for 1 or N threads.
 */
#ifndef ASSAY_ENGINE_RGEMMA_H
#define ASSAY_ENGINE_RGEMMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define RG_MAX_LAYERS 256

enum rg_block_kind {
    RG_BLOCK_RECURRENT = 0,
    RG_BLOCK_ATTENTION = 1,
};

/* config.json of a RecurrentGemmaForCausalLM (HF names in comments). */
struct rg_config {
    int64_t n_vocab;        /* vocab_size */
    int64_t width;          /* hidden_size (D) */
    int64_t lru_width;      /* lru_width (L); defaults to D */
    int64_t mlp_width;      /* intermediate_size / 2 (the official mlp_expanded_width) */
    int32_t n_layer;        /* num_hidden_layers */
    int32_t n_head;         /* num_attention_heads (also the RG-LRU gate blocks) */
    int32_t n_head_kv;      /* num_key_value_heads */
    int32_t head_dim;       /* head_dim (D / n_head) */
    int32_t window;         /* attention_window_size */
    int32_t conv_width;     /* conv1d_width */
    int32_t rope_dims;      /* head_dim * partial_rotary_factor */
    float rope_theta;       /* rope_theta */
    float logit_cap;        /* logits_soft_cap (<= 0: none) */
    float norm_eps;         /* rms_norm_eps */
    float embed_scale;      /* bf16(sqrt(D)) when embeddings_scale_by_sqrt_dim, else 1 */
    int32_t bos_id, eos_id, pad_id;
    uint8_t block[RG_MAX_LAYERS]; /* enum rg_block_kind per layer (block_types cycled) */
};

/* Parse a config.json already loaded as text; path names the file in messages.
 * ASSAY_EINVAL (missing or impossible values), ASSAY_EUNSUPPORTED (model_type is not
 * recurrent_gemma, an activation other than gelu_pytorch_tanh). */
int rg_config_parse(struct rg_config *out, const char *json_text, size_t len, const char *path,
                    struct assay_error *err);

/* One tensor as a source hands it out: data in place (F32, F16 or BF16, engine/quant.h
 * type ids), row-major shape. `file` names where it lives, for messages. */
struct rg_tensor {
    const void *data;
    int type;
    int n_dims;
    int64_t shape[4];
    const char *file;
};

/* Where weights come from: get(user, name, out, err) fills *out, or returns
 * ASSAY_ENOTFOUND (with a message) when there is no such tensor. */
struct rg_source {
    int (*get)(void *user, const char *name, struct rg_tensor *out, struct assay_error *err);
    void *user;
};

struct rg_model;

/* Build the model from a parsed config and HF-named tensors (model.layers.{i}....). Each
 * tensor's shape and type are checked (the message names the tensor and its file); big
 * matrices stay in place in their stored type, small ones (norms, biases, Conv1D, RG-LRU
 * gates) are converted to float32. */
int rg_model_new(struct rg_model **out, const struct rg_config *cfg, const struct rg_source *src,
                 struct assay_error *err);
void rg_model_free(struct rg_model *m);
const struct rg_config *rg_model_config(const struct rg_model *m);
int64_t rg_model_n_params(const struct rg_model *m);
/* "F32", "BF16", "F16" or "mixed": the type of the big matrices. */
const char *rg_model_weight_type(const struct rg_model *m);

/* ---- per-sequence state ---------------------------------------------------------------- */

struct rg_state;

int rg_state_new(struct rg_state **out, const struct rg_model *m, struct assay_error *err);
void rg_state_free(struct rg_state *s);
/* Back to an empty sequence (position 0). */
void rg_state_reset(struct rg_state *s);
/* dst = src (both made for the same model). */
void rg_state_copy(struct rg_state *dst, const struct rg_state *src);
/* Tokens consumed so far (the next token's position). */
int64_t rg_state_pos(const struct rg_state *s);
/* Bytes the state holds (independent of the sequence length). */
size_t rg_state_bytes(const struct rg_model *m);

/* ---- forward ----------------------------------------------------------------------------- */

struct rg_ctx_params {
    int n_threads;     /* >= 1 */
    int32_t n_batch;   /* most tokens per rg_forward call (chunk longer inputs) */
    int32_t n_logits;  /* most rows of logits per call */
    bool matmul_ref;   /* use the scalar kern_matmul_ref (tests) */
};

struct rg_ctx;

/* Scratch for n_batch tokens and n_logits rows of logits, allocated once. */
int rg_ctx_new(struct rg_ctx **out, const struct rg_model *m, const struct rg_ctx_params *p,
               struct assay_error *err);
void rg_ctx_free(struct rg_ctx *c);

/*
 * Feed n tokens (1 <= n <= n_batch) to sequence s at positions rg_state_pos(s) onward,
 * updating s. Logits are computed for tokens i >= want_from (at most n_logits of them;
 * want_from >= n: none) and read with rg_logits(c, i - want_from). Feeding a sequence in
 * one call or token by token gives the same logits (to float rounding).
 * ASSAY_EINVAL for a token id out of range, ASSAY_EUSAGE for bad counts.
 */
int rg_forward(struct rg_ctx *c, struct rg_state *s, const int32_t *tokens, int32_t n,
               int32_t want_from, struct assay_error *err);
const float *rg_logits(const struct rg_ctx *c, int32_t row);

#endif
