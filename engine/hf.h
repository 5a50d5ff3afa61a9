/*
 * engine/hf.h - Hugging Face checkpoint directories (config.json + safetensors +
 * tokenizer.model) as models: Gemma (model_type gemma), Gemma 2 (gemma2) and Gemma 3 text
 * (gemma3_text, or gemma3 with a text_config).
 *
 * hf_open builds what the GGUF path produces, so that arch, model and tokenizer code are
 * shared: a metadata-only gguf (in memory, the keys llama.cpp's convert_hf_to_gguf.py
 * writes, from config.json, tokenizer.model and tokenizer_config.json) and one
 * struct model_view per tensor, named with its GGUF name (one mapping table per
 * architecture, HF name -> GGUF name), pointing into the safetensors mappings. F32, F16
 * and BF16 weights are used in place (a tensor whose data is not aligned to its element
 * size is copied); norm vectors are converted once to float32 with 1 added (HF stores w,
 * GGUF and the forward pass read 1 + w).
 *
 * Values llama.cpp derives instead of storing are written only when the config says
 * otherwise: <arch>.attention.query_pre_attn_scalar (an assay key, read by engine/arch.c),
 * <arch>.attention.sliding_window_pattern (one bool per layer, from layer_types),
 * gemma's rope.freq_base. So `assay convert` of a stock directory writes the same keys
 * as the official converter.
 *
 * model_type recurrent_gemma is not handled here (ASSAY_EUNSUPPORTED naming it): callers
 * look at hf_model_type first and send such directories to engine/rgemma.
 *
 * Errors: ASSAY_EINVAL (exit 3) naming the file and the tensor or key: no config.json,
 * unknown model_type, missing or misshapen tensor, missing shard, malformed header.
 *
 * Ownership: struct hf_model owns the mappings, the metadata gguf and the views; every
 * pointer from it is valid until hf_close.
 */
#ifndef ASSAY_ENGINE_HF_H
#define ASSAY_ENGINE_HF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

struct gguf;
struct gguf_writer;
struct model_view;
struct st_set;

struct hf_model; /* opaque */

/* Whether path is a directory (then it is taken for an HF checkpoint). */
bool hf_is_dir(const char *path);

/* model_type of dir/config.json into buf ("gemma2"). ASSAY_EINVAL without a config.json
 * or a model_type string (the file named). */
int hf_model_type(const char *dir, char *buf, size_t n, struct assay_error *err);

int hf_open(struct hf_model **out, const char *dir, struct assay_error *err);
void hf_close(struct hf_model *h);

const struct gguf *hf_meta(const struct hf_model *h);
const struct model_view *hf_views(const struct hf_model *h, size_t *n);
const struct st_set *hf_tensors(const struct hf_model *h);
const char *hf_dir(const struct hf_model *h);
/* Parameters (elements of the mapped tensors), bytes of the shards, and the dominant
 * weight type ("BF16"). */
int64_t hf_n_params(const struct hf_model *h);
int64_t hf_bytes(const struct hf_model *h);
const char *hf_weight_type(const struct hf_model *h);

/* Add every metadata pair and every tensor (data borrowed from h) to w: the GGUF of the
 * directory, tensors in the order llama.cpp's converter writes them. */
int hf_to_gguf_writer(const struct hf_model *h, struct gguf_writer *w, struct assay_error *err);

/* The HF name ("model.layers.3.self_attn.q_proj.weight") of a GGUF tensor name for a
 * model_type (gemma, gemma2, gemma3_text), through the same tables hf_open uses; *is_norm
 * says whether HF stores it as w where GGUF has 1 + w. false: no such tensor. */
bool hf_name_of(const char *model_type, const char *gguf_name, char *buf, size_t n,
                bool *is_norm);

/* "sha256:" + SHA-256 over config.json, tokenizer.model, the index (if any) and the
 * shards in name order, each as name, NUL, 8-byte size, bytes. */
int hf_fingerprint(const char *dir, char *out, size_t n, const struct progress *prog,
                   struct assay_error *err);

#endif
