/*
 * engine/backend_rg.h - a RecurrentGemma checkpoint (HF directory: config.json with
 * model_type recurrent_gemma, model.safetensors or sharded model-*.safetensors with
 * model.safetensors.index.json, tokenizer.model) behind the backend interface.
 *
 * Scheduling, and how it differs from the local GGUF engine (backend_local.h):
 *  - the model keeps no KV cache but a fixed-size state per sequence (engine/rgemma.h):
 *    one sequence is decoded at a time; its memory does not grow with its length;
 *  - loglikelihood: lm-eval's split and one BOS as in backend.h; requests are sorted by
 *    input tokens; the "prefix cache" is a saved state: while computing an input the
 *    backend saves the state at the end of what it shares with the next input (at most
 *    up to the first scored token), and the next input starts from that saved state;
 *  - loglikelihood_rolling: lm-eval's disjoint windows of n_ctx tokens, one BOS;
 *  - generate: one request after another; greedy or seeded sampling (engine/sample.h).
 * n_ctx is the longest input a request may have (as for the GGUF engine, inputs are
 * left-truncated to it); n_seq is ignored.
 *
 * Ownership as in backend.h: backend_free releases everything.
 */
#ifndef ASSAY_ENGINE_BACKEND_RG_H
#define ASSAY_ENGINE_BACKEND_RG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"
#include "engine/backend.h"
#include "engine/backend_local.h"

/* True when path is a directory whose config.json says model_type "recurrent_gemma"
 * (any failure to read it: false; backend_rg_open then says what is wrong). */
bool backend_rg_is_dir(const char *path);

/* Open the directory. Errors name the file and, for weights, the tensor: ASSAY_ENOTFOUND
 * (no config.json, a missing shard or tensor), ASSAY_EINVAL (a malformed config or
 * shard, a tensor of the wrong shape), ASSAY_EUNSUPPORTED (another model_type). */
int backend_rg_open(struct backend **out, const char *dir, const struct backend_local_params *p,
                    struct assay_error *err);

/* "sha256:" + SHA-256 over the names and SHA-256s of config.json, tokenizer.model and the
 * safetensors files of the directory (reads every byte). out: at least 72 bytes. */
int backend_rg_fingerprint(const char *dir, char *out, size_t n, const struct progress *prog,
                           struct assay_error *err);

/* Counters since open (the same meaning as backend_local_stats), and the bytes of one
 * sequence's state. */
void backend_rg_stats(struct backend *b, struct backend_local_stats *out);
size_t backend_rg_state_bytes(struct backend *b);

#endif
