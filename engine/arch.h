/*
 * engine/arch.h - model architectures as data (ARCHITECTURE.md "Architectures are data").
 *
 * One struct arch_hparams per checkpoint holds every switch the forward pass reads
 * (sizes, norms around each block, soft-caps, the sliding-window pattern, rope bases and
 * scaling per layer, query and embedding scales). It is filled from GGUF metadata through
 * one table per architecture: the key suffix after "<arch>.", where the value goes, its
 * default and whether it is required. The tensors of every architecture are named by one
 * table ("output_norm.weight"; per layer "blk.N." + "attn_q.weight") with their expected
 * dims and when each is needed; engine/model.c binds them.
 *
 * Supported: gemma (Gemma 1, CodeGemma), gemma2, gemma3 (text). Anything else is
 * ASSAY_EUNSUPPORTED with the architecture named.
 *
 * Ownership: arch_hparams is a plain value (no pointers to free); the strings and tables
 * returned by this module are static.
 */
#ifndef ASSAY_ENGINE_ARCH_H
#define ASSAY_ENGINE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct gguf;

#define ARCH_LAYER_MAX    512  /* more layers than any known Gemma (62) by far */
#define ARCH_HEAD_DIM_MAX 1024 /* the attention kernels' per-head limit */

enum arch_id {
    ARCH_GEMMA = 1, /* Gemma 1: pre-norms only, all layers global, GeGLU */
    ARCH_GEMMA2,    /* + post norms, soft-caps, local/global alternation */
    ARCH_GEMMA3,    /* + q/k RMSNorm, 5 local : 1 global, two rope bases, no soft-caps */
};

/* Per-layer switches. */
struct arch_layer {
    bool is_local;         /* sliding-window attention */
    int32_t window;        /* keys visible on a local layer, itself included; 0 = all */
    float rope_base;       /* theta */
    float rope_freq_scale; /* 1 / linear scaling factor (1 = none) */
};

struct arch_hparams {
    enum arch_id arch;
    const char *arch_name; /* "gemma2" (static) */
    int64_t n_vocab;       /* rows of token_embd.weight */
    int64_t n_embd;        /* hidden size */
    int64_t n_layer;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t head_dim;    /* attention.key_length (default n_embd / n_head) */
    int64_t head_dim_v;  /* attention.value_length (default head_dim) */
    int64_t n_ff;        /* feed-forward (intermediate) size */
    int64_t n_ctx_train; /* context_length */
    float rms_eps;
    float attn_softcap;  /* 0: none; scores = cap * tanh(scores / cap) */
    float final_softcap; /* 0: none; logits = cap * tanh(logits / cap) */
    float query_scale;   /* multiplies q before q.k */
    float embd_scale;    /* multiplies token embeddings: sqrt(n_embd) as float32 */
    bool has_post_norms; /* post_attention_norm and post_ffw_norm around the blocks */
    bool has_qk_norm;    /* RMSNorm of q and k over head_dim, before RoPE */
    /* Raw metadata the per-layer table was derived from (for `models info`). */
    int64_t sliding_window; /* 0: none */
    int64_t swa_period;     /* layer il is local iff il % period < period - 1; 0: none */
    float rope_base;        /* global layers */
    float rope_base_swa;    /* local layers */
    float rope_scale;       /* linear rope scaling factor (1: none) */
    struct arch_layer layer[ARCH_LAYER_MAX]; /* n_layer entries used */
};

/*
 * Fill hp from g's metadata (general.architecture selects the table) and the shape of
 * token_embd.weight (n_vocab). Errors: ASSAY_EUNSUPPORTED for an unknown architecture (the
 * message names it), a rope scaling type other than none/linear, or a partial rotary
 * dimension; ASSAY_EINVAL for a missing required key, a value of the wrong type, or
 * inconsistent sizes (the message names the key); ASSAY_ELIMIT beyond ARCH_LAYER_MAX or
 * ARCH_HEAD_DIM_MAX.
 */
int arch_hparams_from_gguf(struct arch_hparams *hp, const struct gguf *g, struct assay_error *err);

/* The same with token_embd.weight given (it may live outside g: engine/hf.c builds a
 * metadata-only gguf and views into safetensors mappings); NULL: "not found". */
struct gguf_tensor;
int arch_hparams_from_meta(struct arch_hparams *hp, const struct gguf *g,
                           const struct gguf_tensor *token_embd, struct assay_error *err);

/* Architecture id of a general.architecture value; 0 if unknown. */
enum arch_id arch_id_from_name(const char *name);

/* ---- tensors ------------------------------------------------------------------------- */

enum arch_tensor_role {
    ARCH_T_TOKEN_EMBD,
    ARCH_T_OUTPUT_NORM,
    ARCH_T_OUTPUT, /* optional: absent means tied to token_embd */
    ARCH_T_ATTN_NORM,
    ARCH_T_ATTN_Q,
    ARCH_T_ATTN_K,
    ARCH_T_ATTN_V,
    ARCH_T_ATTN_OUTPUT,
    ARCH_T_ATTN_Q_NORM,
    ARCH_T_ATTN_K_NORM,
    ARCH_T_POST_ATTN_NORM,
    ARCH_T_FFN_NORM,
    ARCH_T_FFN_GATE,
    ARCH_T_FFN_UP,
    ARCH_T_FFN_DOWN,
    ARCH_T_POST_FFW_NORM,
    ARCH_T_COUNT,
};

/* Symbolic dimensions, resolved against an arch_hparams by arch_dim_value. */
enum arch_dim {
    ARCH_DIM_EMBD = 1,
    ARCH_DIM_VOCAB,
    ARCH_DIM_Q,    /* n_head * head_dim */
    ARCH_DIM_K,    /* n_head_kv * head_dim */
    ARCH_DIM_V,    /* n_head_kv * head_dim_v */
    ARCH_DIM_O,    /* n_head * head_dim_v */
    ARCH_DIM_HEAD, /* head_dim */
    ARCH_DIM_FF,
};

/* When a tensor must be present. */
enum arch_need {
    ARCH_NEED_ALWAYS = 1,
    ARCH_NEED_OPTIONAL,   /* used when present */
    ARCH_NEED_POST_NORMS, /* required iff hp->has_post_norms */
    ARCH_NEED_QK_NORM,    /* required iff hp->has_qk_norm */
};

struct arch_tensor_desc {
    enum arch_tensor_role role;
    const char *pattern; /* the name; per-layer ones are "blk.<il>." + pattern */
    bool per_layer;
    int n_dims;          /* 1 or 2 */
    enum arch_dim ne[2]; /* ggml order: ne[0] = row length (input size) */
    enum arch_need need;
    bool is_norm; /* 1-D weight read as float32 (GGUF stores 1 + w for Gemma) */
};

/* The table of tensors (static), n entries. */
const struct arch_tensor_desc *arch_tensors(size_t *n);

/* Value of a symbolic dimension for hp. */
int64_t arch_dim_value(const struct arch_hparams *hp, enum arch_dim d);

/* Whether hp needs the tensor described by d (ARCH_NEED_OPTIONAL: false). */
bool arch_tensor_required(const struct arch_hparams *hp, const struct arch_tensor_desc *d);

/* Format the tensor name for layer il (ignored when !per_layer) into buf. */
void arch_tensor_name(char *buf, size_t n, const struct arch_tensor_desc *d, int64_t il);

#endif
