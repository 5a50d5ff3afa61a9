/*
 * engine/model.h - a checkpoint's weights (struct model) and an inference context over
 * them (struct model_ctx): KV cache per sequence, batched decoding, logits.
 *
 * One forward pass serves Gemma 1, 2 and 3 (text); it reads the switches of
 * engine/arch.h (norms around the blocks, soft-caps, sliding windows, rope bases, q/k
 * norms). Numerics follow google/gemma_pytorch (float32 activations, tanh GELU); the
 * matrix products go through kern_matmul (or kern_matmul_ref, see matmul_ref below).
 *
 * Batches (llama.cpp's ubatch): a batch is a list of tokens, each with its sequence id,
 * its position and whether its logits are wanted. Tokens of several sequences may be
 * mixed; every matrix product runs once over the whole batch (n_tok rows). Within a
 * sequence, positions must continue the sequence: the first token of sequence s in a
 * batch has position model_seq_len(s), the next one +1, and so on. The KV cache is
 * float32, n_ctx positions for each of n_seq_max sequences, allocated once by
 * model_ctx_new together with every activation buffer (sized for n_batch_max tokens):
 * model_decode never allocates.
 *
 * Ownership. model_open returns a model that owns its GGUF mapping; model_load borrows
 * an open gguf, which must outlive the model. Weights are views into the mapping, except
 * the norm vectors (copied once to float32). A model is immutable after loading and may
 * be shared by several contexts (each used by one thread at a time). A context borrows
 * its model, which must outlive it. Pointers returned by model_logits are borrowed and
 * valid until the next model_decode or model_ctx_free.
 *
 * Determinism: with kern_matmul computing each output row in a fixed order, logits do
 * not depend on the thread count, and a sequence gives the same logits alone or inside
 * a batch with others (up to kern_matmul's blocking over tokens).
 */
#ifndef ASSAY_ENGINE_MODEL_H
#define ASSAY_ENGINE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "engine/arch.h"
#include "engine/gguf.h"
#include "engine/kern.h"

struct gguf;
struct model;
struct model_ctx;

/*
 * Open a GGUF file and bind its tensors. Errors: those of gguf_open; ASSAY_EUNSUPPORTED
 * for an unknown architecture (named) or a tensor type without kernels; ASSAY_EINVAL for
 * a missing tensor or one of the wrong shape (the message names the tensor and gives the
 * expected and actual dims) and bad metadata (see arch_hparams_from_gguf); ASSAY_ENOMEM.
 */
int model_open(struct model **out, const char *gguf_path, struct assay_error *err);
/* The same on an open gguf, which is borrowed (it must outlive the model). */
int model_load(struct model **out, const struct gguf *g, struct assay_error *err);
/* A tensor that lives outside the metadata gguf (engine/hf.c: a view into a safetensors
 * mapping, named with its GGUF name; ne in ggml order; info_offset unused). path and
 * src_name (the file and the tensor's own name there) are for messages; may be NULL. */
struct model_view {
    struct gguf_tensor t;
    const char *path;
    const char *src_name;
};
/* The same with the tensors taken from views (borrowed, like meta: both must outlive the
 * model) and only the metadata from meta. */
int model_load_views(struct model **out, const struct gguf *meta, const struct model_view *views,
                     size_t n_views, struct assay_error *err);
/* Copy the Q4_0 / Q8_0 matrices into the packed layout of the integer kernels
 * (engine/kern.h: struct kern_packed), with n_threads threads; contexts then use them
 * unless they ask for the float or reference paths. Idempotent. Resident memory stays
 * about one copy of the weights: the file's pages of a packed matrix are released as it is
 * copied, and at the end every page of the file mapping but those of the matrices still
 * read in place (the metadata, the copied norms).
 * ASSAY_ENOMEM. Call before creating contexts, not while one decodes. */
int model_repack(struct model *m, int n_threads, struct assay_error *err);
/* NULL is a no-op. */
void model_free(struct model *m);

const struct arch_hparams *model_hparams(const struct model *m);
const struct gguf *model_gguf(const struct model *m);

struct model_ctx_params {
    int32_t n_ctx;        /* positions per sequence; 0: the model's context_length */
    int32_t n_seq_max;    /* sequences (separate KV caches), >= 1 */
    int32_t n_batch_max;  /* most tokens per model_decode */
    int32_t n_logits_max; /* most tokens per batch that want logits; 0: n_batch_max */
    int n_threads;        /* OpenMP threads inside the kernels, >= 1 */
    bool matmul_ref;      /* use the scalar float32 kern_matmul_ref (dequantized weights,
                           * float32 activations) instead of kern_matmul */
    enum kern_act act;    /* how kern_matmul meets quantized weights (engine/kern.h):
                           * KERN_ACT_DEFAULT (int8 activations, llama.cpp-like rounding)
                           * or KERN_ACT_F32 (float32 activations, ~1e-6 of the reference) */
};

/* n_ctx 0, one sequence, batches of 512 tokens, 1 thread, kern_matmul with its default
 * activation path. */
void model_ctx_params_default(struct model_ctx_params *p);

/* Allocate the KV cache (n_seq_max x n_layer x n_ctx x kv_dim x 2 floats) and the
 * activation buffers. ASSAY_EUSAGE for meaningless parameters, ASSAY_ELIMIT when the
 * sizes overflow, ASSAY_ENOMEM. */
int model_ctx_new(struct model_ctx **out, const struct model *m, const struct model_ctx_params *p,
                  struct assay_error *err);
void model_ctx_free(struct model_ctx *c);
const struct model_ctx_params *model_ctx_params(const struct model_ctx *c);

struct model_batch {
    int32_t n_tok;
    const int32_t *token;    /* (n_tok) token ids */
    const int32_t *pos;      /* (n_tok) positions */
    const int32_t *seq_id;   /* (n_tok) sequence of each token, 0 .. n_seq_max-1 */
    const bool *want_logits; /* (n_tok) or NULL: logits for the last token only */
};

/*
 * Run the batch: append every token's keys and values to its sequence's cache and
 * compute the logits of the tokens that want them. The batch is checked in full before
 * anything changes: ASSAY_ELIMIT for more than n_batch_max tokens, more than n_logits_max
 * logits, or a position >= n_ctx; ASSAY_EINVAL for a token id outside the vocabulary;
 * ASSAY_EUSAGE for a bad sequence id or a position that does not continue its sequence.
 * On failure the context is unchanged.
 */
int model_decode(struct model_ctx *c, const struct model_batch *b, struct assay_error *err);

/* Number of logit rows the last model_decode produced. */
int32_t model_n_logits(const struct model_ctx *c);
/* Logits (n_vocab, final soft-cap applied) of the i-th token of the last batch that
 * wanted logits (i counts only those tokens, in batch order); NULL if i is out of range. */
const float *model_logits(const struct model_ctx *c, int32_t i);

/* Positions held for seq (0 .. n_ctx); -1 for a bad id. */
int32_t model_seq_len(const struct model_ctx *c, int32_t seq);
/* Forget everything of seq. */
int model_seq_clear(struct model_ctx *c, int32_t seq, struct assay_error *err);
/* Keep the first n positions of seq (n >= its length: no change). */
int model_seq_truncate(struct model_ctx *c, int32_t seq, int32_t n, struct assay_error *err);
/* Make dst hold a copy of the first n positions of src (prefix sharing: a common prompt
 * is computed once and copied). n must not exceed src's length. dst == src truncates. */
int model_seq_copy(struct model_ctx *c, int32_t src, int32_t dst, int32_t n,
                   struct assay_error *err);

#endif
