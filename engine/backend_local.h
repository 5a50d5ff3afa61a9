/*
 * engine/backend_local.h - the local engine behind the backend interface: a GGUF
 * checkpoint, its tokenizer, and an inference context with a KV cache per sequence.
 *
 * How requests are scheduled (the evals never see it):
 *  - loglikelihood: requests are tokenized with lm-eval's split (backend.h), sorted by
 *    their input tokens and grouped when inputs are identical (MMLU's four letters share
 *    one forward pass and one row of logits). Sequence 0 keeps the tokens of the last
 *    input, so the next one only computes what follows their longest common prefix: a
 *    few-shot header is computed once per run of requests that share it (prefix cache).
 *  - loglikelihood_rolling: lm-eval's disjoint windows of n_ctx tokens, one BOS before
 *    the first window only, each scored as a loglikelihood request on token ids.
 *  - generate: up to n_seq requests decode together, one token each per forward pass
 *    (weights are read once per step for all of them); each request samples with its own
 *    seeded generator, so its output does not depend on what it was batched with.
 *
 * Results do not depend on the order or grouping of requests beyond float rounding of
 * the kernels (tests hold greedy choices identical).
 */
#ifndef ASSAY_ENGINE_BACKEND_LOCAL_H
#define ASSAY_ENGINE_BACKEND_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/backend.h"

struct backend_local_params {
    int n_threads;       /* kernel threads; 0: the number of cores */
    int32_t n_ctx;       /* positions per sequence; 0: min(the model's, 4096) */
    int32_t n_seq;       /* sequences decoded together by generate; 0: 4 */
    int32_t n_batch;     /* most tokens per forward pass; 0: 512 */
    bool matmul_ref;     /* scalar float32 reference kernels (slow; for checking) */
    bool no_repack;      /* keep the weights in the file's layout (model_repack) */
    bool no_prefix_cache; /* recompute every loglikelihood input from its first token (for
                           * measuring what the prefix cache saves; results are the same) */
    const char *fingerprint; /* the file's fingerprint if the caller knows it (cached);
                              * NULL: info reports none */
};

void backend_local_params_default(struct backend_local_params *p);

/* Open path (GGUF) as a backend. Errors: those of gguf_open, model_open and the
 * tokenizer (the message names the file); ASSAY_ENOMEM for the KV cache. */
int backend_local_open(struct backend **out, const char *path,
                       const struct backend_local_params *p, struct assay_error *err);

/* Counters since open, for benchmarks and progress: tokens evaluated by the model, and
 * tokens that the prefix cache saved from being evaluated. */
struct backend_local_stats {
    int64_t n_eval_tokens;
    int64_t n_reused_tokens;
    int64_t n_forward;
};
void backend_local_stats(struct backend *b, struct backend_local_stats *out);

#endif
