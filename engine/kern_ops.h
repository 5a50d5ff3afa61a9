/*
 * engine/kern_ops.h - the element-wise and attention kernels of a transformer block:
 * RMSNorm, NeoX-style RoPE, softmax, tanh-GELU (GeGLU), soft-capping and causal
 * (optionally sliding-window) attention over a float32 KV cache.
 *
 * Every kernel has a plain scalar reference (kern_*_ref) beside the version used by the
 * forward pass; tests compare the two. The fast versions unroll with several independent
 * accumulators and spread rows / heads over OpenMP threads; attention, GeGLU and
 * soft-capping have AVX-512 and AVX2+FMA paths picked at run time (their tanh / exp are
 * our own polynomials, within ~2e-7 relative of libm). Each output value is always computed by one
 * thread in one fixed order, so results do not depend on the thread count (bit-identical for 1, 2
 * or N threads). Kernels never allocate: scratch is the caller's.
 *
 * Conventions: row-major, shapes in comments as (rows, cols). In-place use is allowed
 * where a parameter says so. Formulas follow google/gemma_pytorch (commit 014acb7),
 * gemma/model.py, which the reference fixtures were made with.
 */
#ifndef ASSAY_ENGINE_KERN_OPS_H
#define ASSAY_ENGINE_KERN_OPS_H

#include <stddef.h>
#include <stdint.h>

/*
 * RMSNorm of n_rows rows of n values: y = x / sqrt(mean(x^2) + eps) * w.
 * w (n) is the weight AS STORED IN GGUF, which for Gemma already holds (1 + w_official):
 * the converter adds the 1 (gemma_pytorch RMSNorm(add_unit_offset=True)). The mean of
 * squares is accumulated in double. y may equal x.
 */
void kern_rmsnorm(float *y, const float *x, const float *w, int64_t n, int64_t n_rows, float eps,
                  int n_threads);
void kern_rmsnorm_ref(float *y, const float *x, const float *w, int64_t n, int64_t n_rows,
                      float eps);

/*
 * Inverse frequencies of rotary embedding for one layer kind:
 * inv_freq[i] = 1 / base^(2i/head_dim) * freq_scale, i < head_dim/2, computed in float32 as
 * gemma_pytorch precompute_freqs_cis does (freq_scale = 1/rope_scaling_factor, linear).
 */
void kern_rope_freqs(float *inv_freq, int head_dim, float base, float freq_scale);

/*
 * NeoX-style RoPE in place on x (n_tok, row_stride), where each row holds n_head heads of
 * head_dim values starting at column 0. Dimension i is paired with i + head_dim/2 and the
 * pair is rotated by angle pos[t] * inv_freq[i] (the angle is rounded to float32 like the
 * reference's torch.outer of float32 tensors; cos/sin in double, then float).
 */
void kern_rope_neox(float *x, int64_t n_tok, int64_t row_stride, int n_head, int head_dim,
                    const int32_t *pos, const float *inv_freq, int n_threads);
void kern_rope_neox_ref(float *x, int64_t n_tok, int64_t row_stride, int n_head, int head_dim,
                        const int32_t *pos, const float *inv_freq);
/* The same rotation in two steps, so that the angles' cos / sin are computed once per
 * token for every head and every layer that shares inv_freq: kern_rope_table fills cs
 * (n_tok, head_dim) with cos(angle_i) for i < head_dim/2, then sin(angle_i), angles as
 * above; kern_rope_neox_table rotates with them. The results are kern_rope_neox's, bit
 * for bit. */
void kern_rope_table(float *cs, const int32_t *pos, int64_t n_tok, int head_dim,
                     const float *inv_freq, int n_threads);
void kern_rope_neox_table(float *x, int64_t n_tok, int64_t row_stride, int n_head, int head_dim,
                          const float *cs, int n_threads);

/* Softmax of n values in place (max subtracted; the sum is accumulated in double). */
void kern_softmax(float *x, int64_t n);
void kern_softmax_ref(float *x, int64_t n);

/* Soft-capping in place: x = cap * tanh(x / cap). cap <= 0 leaves x unchanged. */
void kern_softcap(float *x, int64_t n, float cap, int n_threads);

/* tanh-approximated GELU (torch gelu(approximate="tanh")) of one value. */
float kern_gelu_tanh(float x);

/* GeGLU in place: gate[i] = gelu_tanh(gate[i]) * up[i] for n values. */
void kern_geglu(float *gate, const float *up, int64_t n, int n_threads);
void kern_geglu_ref(float *gate, const float *up, int64_t n);

/* y += x for n values (the residual connection). */
void kern_add(float *y, const float *x, int64_t n, int n_threads);

/* Dot product of n floats in a fixed order (8 interleaved partial sums, then a fixed
 * pairwise combination); kern_dot_ref is the plain left-to-right loop. */
float kern_dot(const float *a, const float *b, int64_t n);
float kern_dot_ref(const float *a, const float *b, int64_t n);

/*
 * Causal attention for a batch of query tokens, each reading the KV cache of its own
 * sequence.
 *
 *   q     (n_tok, n_head*head_dim)   queries (RoPE already applied)
 *   out   (n_tok, n_head*head_dim)   results (head h in columns h*head_dim ...)
 *   k[t]  (>= pos[t]+1, n_head_kv*head_dim)  keys of token t's sequence for this layer,
 *   v[t]  (>= pos[t]+1, n_head_kv*head_dim)  values; row j holds position j
 *   pos   (n_tok)                    position of each query
 *
 * Query head h reads KV head h / (n_head / n_head_kv) (grouped-query attention).
 * Token t attends to positions j with lo <= j <= pos[t], lo = max(0, pos[t] - window + 1)
 * when window > 0 (sliding window of `window` keys including itself), else 0.
 * score = softcap(scale * q . k), softmax over the visible keys, out = sum p_j v_j. The
 * query is multiplied by scale before the dot product, as gemma_pytorch does.
 *
 * The keys are taken in up to 8 chunks (more past 16384 keys) whose softmax partials are
 * merged in order (see kern_ops.c): the results depend neither on n_threads nor on the
 * other queries of the batch.
 * scratch: scratch_floats floats where decode steps (up to 3 queries) spread each query's
 * chunks over the threads; kern_attention_scratch_floats(n_head, head_dim, n_ctx) is
 * enough for any batch of queries at positions below n_ctx. With less those steps run one
 * thread per head instead, with the same results. Heads wider than 1024 values go to
 * kern_attention_ref, which needs max(pos)+1 floats of scratch.
 */
struct kern_attn_params {
    int n_head;
    int n_head_kv;
    int head_dim;
    float scale;    /* multiplies q */
    float softcap;  /* <= 0: none */
    int32_t window; /* <= 0: global */
};

void kern_attention(float *out, const float *q, const float *const *k, const float *const *v,
                    const int32_t *pos, int64_t n_tok, const struct kern_attn_params *p,
                    float *scratch, int64_t scratch_floats, int n_threads);
size_t kern_attention_scratch_floats(int n_head, int head_dim, int64_t n_ctx);
/* The scalar reference: one query and head at a time, plain loops, one softmax over all
 * visible keys; scratch: max(pos)+1 floats. */
void kern_attention_ref(float *out, const float *q, const float *const *k, const float *const *v,
                        const int32_t *pos, int64_t n_tok, const struct kern_attn_params *p,
                        float *scratch);

/*
 * The SIMD level the fast kernels use: 0 scalar, 1 AVX2+FMA, 2 AVX-512, picked at run time
 * from the CPU. cap >= 0 limits it to at most cap (tests use this to run every path on
 * one machine; not for use while kernels run on other threads); cap < 0 lifts the limit.
 * Returns the level now in effect.
 */
int kern_ops_simd_level(int cap);

/* Local multi-query attention (RecurrentGemma): T query tokens at positions pos0..
 * against keys kept in a ring of window + 1 slots (positions < pos0, slot = pos %
 * (window + 1)) and the chunk's own keys kc / vc (T, n_head_kv * head_dim). Query t sees
 * positions max(0, p - window) .. p. q and out: (T, n_head * head_dim), head_dim <= 4096;
 * scratch: n_threads * (window + 1) floats. OpenMP over (token, head) pairs. */
struct kern_ring_attn {
    const float *q, *kc, *vc, *ring_k, *ring_v;
    float *out, *scratch;
    int64_t T, pos0;
    int n_head, n_head_kv, head_dim;
    int32_t window;
    float scale;
    int n_threads;
};
void kern_attention_ring(const struct kern_ring_attn *a);

#endif
