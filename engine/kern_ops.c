/*
 * engine/kern_ops.c - RMSNorm, RoPE, softmax, GeGLU, soft-capping and attention (see
 * kern_ops.h for the contracts and shapes).
 *
 * Not here: matrix multiplies over quantized weights (engine/kern.c). Nothing here
 * allocates; scratch belongs to the caller. OpenMP is used over independent rows,
 * tokens or (token, head) pairs only, so a value's arithmetic never depends on the thread
 * count. Loops are written so that -O3 vectorizes them without -ffast-math: independent
 * accumulators with a fixed combination order instead of a single running sum.
 */
#include "engine/kern_ops.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define KERN_OPS_HEAD_DIM_MAX 1024

/* Rows below this many values per thread are not worth a parallel region. */
#define KERN_OPS_PAR_MIN 4096

static int threads_for(int64_t work, int n_threads)
{
    if (n_threads < 1)
        return 1;
    if (work < KERN_OPS_PAR_MIN)
        return 1;
    return n_threads;
}

/* ---- dot products -------------------------------------------------------------------- */

float kern_dot_ref(const float *a, const float *b, int64_t n)
{
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

float kern_dot(const float *a, const float *b, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++)
            acc[l] += a[i + l] * b[i + l];
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Sum of squares in double with 4 partial sums (fixed order). */
static double sumsq(const float *x, int64_t n)
{
    double acc[4] = {0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int l = 0; l < 4; l++)
            acc[l] += (double)x[i + l] * (double)x[i + l];
    }
    double s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (; i < n; i++)
        s += (double)x[i] * (double)x[i];
    return s;
}

/* ---- RMSNorm ------------------------------------------------------------------------- */

void kern_rmsnorm_ref(float *y, const float *x, const float *w, int64_t n, int64_t n_rows,
                      float eps)
{
    for (int64_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)xr[i] * (double)xr[i];
        float inv = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
        for (int64_t i = 0; i < n; i++)
            yr[i] = (xr[i] * inv) * w[i];
    }
}

static void rmsnorm_row(float *yr, const float *xr, const float *w, int64_t n, float eps)
{
    float inv = (float)(1.0 / sqrt(sumsq(xr, n) / (double)n + (double)eps));
    for (int64_t i = 0; i < n; i++)
        yr[i] = (xr[i] * inv) * w[i];
}

void kern_rmsnorm(float *y, const float *x, const float *w, int64_t n, int64_t n_rows, float eps,
                  int n_threads)
{
    int nt = threads_for(n * n_rows, n_threads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < n_rows; r++)
        rmsnorm_row(y + r * n, x + r * n, w, n, eps);
}

/* ---- RoPE ---------------------------------------------------------------------------- */

void kern_rope_freqs(float *inv_freq, int head_dim, float base, float freq_scale)
{
    /* gemma_pytorch: freqs = 1.0 / (theta ** (arange(0, dim, 2).float() / dim)); then
     * freqs = freqs / rope_scaling_factor. The exponent is a float32 tensor. */
    for (int i = 0; i < head_dim / 2; i++) {
        float e = (float)(2 * i) / (float)head_dim;
        float f = (float)(1.0 / pow((double)base, (double)e));
        inv_freq[i] = f * freq_scale;
    }
}

static void rope_head(float *xh, int head_dim, int32_t pos, const float *inv_freq)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        float ang = (float)pos * inv_freq[i]; /* float32 product, as torch.outer */
        float c = (float)cos((double)ang);
        float s = (float)sin((double)ang);
        float a = xh[i];
        float b = xh[i + half];
        xh[i] = a * c - b * s;
        xh[i + half] = a * s + b * c;
    }
}

void kern_rope_neox_ref(float *x, int64_t n_tok, int64_t row_stride, int n_head, int head_dim,
                        const int32_t *pos, const float *inv_freq)
{
    for (int64_t t = 0; t < n_tok; t++)
        for (int h = 0; h < n_head; h++)
            rope_head(x + t * row_stride + (int64_t)h * head_dim, head_dim, pos[t], inv_freq);
}

void kern_rope_neox(float *x, int64_t n_tok, int64_t row_stride, int n_head, int head_dim,
                    const int32_t *pos, const float *inv_freq, int n_threads)
{
    /* cos/sin per (token, i) once, shared by all heads of the token. */
    int nt = threads_for(n_tok * (int64_t)n_head * head_dim * 8, n_threads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < n_tok; t++) {
        float cs[KERN_OPS_HEAD_DIM_MAX];
        int half = head_dim / 2;
        if (head_dim > KERN_OPS_HEAD_DIM_MAX) {
            for (int h = 0; h < n_head; h++)
                rope_head(x + t * row_stride + (int64_t)h * head_dim, head_dim, pos[t], inv_freq);
            continue;
        }
        for (int i = 0; i < half; i++) {
            float ang = (float)pos[t] * inv_freq[i];
            cs[i] = (float)cos((double)ang);
            cs[half + i] = (float)sin((double)ang);
        }
        for (int h = 0; h < n_head; h++) {
            float *xh = x + t * row_stride + (int64_t)h * head_dim;
            for (int i = 0; i < half; i++) {
                float a = xh[i];
                float b = xh[i + half];
                xh[i] = a * cs[i] - b * cs[half + i];
                xh[i + half] = a * cs[half + i] + b * cs[i];
            }
        }
    }
}

/* ---- softmax, soft-capping, GELU ----------------------------------------------------- */

void kern_softmax_ref(float *x, int64_t n)
{
    if (n <= 0)
        return;
    float mx = x[0];
    for (int64_t i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

void kern_softmax(float *x, int64_t n)
{
    /* The exponentials dominate; the reference loop is already the fast one. */
    kern_softmax_ref(x, n);
}

void kern_softcap(float *x, int64_t n, float cap, int n_threads)
{
    if (cap <= 0.0f)
        return;
    int nt = threads_for(n * 8, n_threads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < n; i++)
        x[i] = tanhf(x[i] / cap) * cap;
}

float kern_gelu_tanh(float x)
{
    /* torch: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), here in double. */
    const double k = 0.7978845608028654; /* sqrt(2/pi) */
    double xd = (double)x;
    return (float)(0.5 * xd * (1.0 + tanh(k * (xd + 0.044715 * xd * xd * xd))));
}

void kern_geglu_ref(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        gate[i] = kern_gelu_tanh(gate[i]) * up[i];
}

void kern_geglu(float *gate, const float *up, int64_t n, int n_threads)
{
    int nt = threads_for(n * 8, n_threads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < n; i++)
        gate[i] = kern_gelu_tanh(gate[i]) * up[i];
}

void kern_add(float *y, const float *x, int64_t n, int n_threads)
{
    int nt = threads_for(n, n_threads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}

/* ---- attention ----------------------------------------------------------------------- */

static int64_t attn_lo(int32_t pos, int32_t window)
{
    if (window <= 0)
        return 0;
    int64_t lo = (int64_t)pos - window + 1;
    return lo < 0 ? 0 : lo;
}

void kern_attention_ref(float *out, const float *q, const float *const *k, const float *const *v,
                        const int32_t *pos, int64_t n_tok, const struct kern_attn_params *p,
                        float *scratch)
{
    int hd = p->head_dim;
    int64_t q_stride = (int64_t)p->n_head * hd;
    int64_t kv_stride = (int64_t)p->n_head_kv * hd;
    int group = p->n_head / p->n_head_kv;
    for (int64_t t = 0; t < n_tok; t++) {
        int64_t lo = attn_lo(pos[t], p->window);
        int64_t n_key = (int64_t)pos[t] + 1 - lo;
        for (int h = 0; h < p->n_head; h++) {
            const float *qh = q + t * q_stride + (int64_t)h * hd;
            int64_t kvo = (int64_t)(h / group) * hd;
            for (int64_t j = 0; j < n_key; j++) {
                const float *kr = k[t] + (lo + j) * kv_stride + kvo;
                float s = 0.0f;
                for (int d = 0; d < hd; d++)
                    s += (qh[d] * p->scale) * kr[d];
                if (p->softcap > 0.0f)
                    s = tanhf(s / p->softcap) * p->softcap;
                scratch[j] = s;
            }
            kern_softmax_ref(scratch, n_key);
            float *oh = out + t * q_stride + (int64_t)h * hd;
            for (int d = 0; d < hd; d++)
                oh[d] = 0.0f;
            for (int64_t j = 0; j < n_key; j++) {
                const float *vr = v[t] + (lo + j) * kv_stride + kvo;
                for (int d = 0; d < hd; d++)
                    oh[d] += scratch[j] * vr[d];
            }
        }
    }
}

static void attn_one(float *oh, const float *qh, const float *kt, const float *vt, int64_t lo,
                     int64_t n_key, int64_t kv_stride, const struct kern_attn_params *p, float *sc)
{
    int hd = p->head_dim;
    float qs[KERN_OPS_HEAD_DIM_MAX];
    for (int d = 0; d < hd; d++)
        qs[d] = qh[d] * p->scale;
    for (int64_t j = 0; j < n_key; j++) {
        float s = kern_dot(qs, kt + (lo + j) * kv_stride, hd);
        if (p->softcap > 0.0f)
            s = tanhf(s / p->softcap) * p->softcap;
        sc[j] = s;
    }
    kern_softmax(sc, n_key);
    for (int d = 0; d < hd; d++)
        oh[d] = 0.0f;
    for (int64_t j = 0; j < n_key; j++) {
        const float *vr = vt + (lo + j) * kv_stride;
        float pj = sc[j];
        for (int d = 0; d < hd; d++)
            oh[d] += pj * vr[d];
    }
}

void kern_attention(float *out, const float *q, const float *const *k, const float *const *v,
                    const int32_t *pos, int64_t n_tok, const struct kern_attn_params *p,
                    float *scratch, int64_t scratch_stride, int n_threads)
{
    int hd = p->head_dim;
    int64_t q_stride = (int64_t)p->n_head * hd;
    int64_t kv_stride = (int64_t)p->n_head_kv * hd;
    int group = p->n_head / p->n_head_kv;
    int64_t n_work = n_tok * p->n_head;
    if (hd > KERN_OPS_HEAD_DIM_MAX) {
        kern_attention_ref(out, q, k, v, pos, n_tok, p, scratch);
        return;
    }
    /* Work ~ multiply-adds over every (token, head, visible key); small decode steps stay
     * on one thread, where a parallel region would cost more than it saves. */
    int64_t max_keys = 0;
    for (int64_t t = 0; t < n_tok; t++)
        max_keys = pos[t] + 1 > max_keys ? pos[t] + 1 : max_keys;
    if (p->window > 0 && max_keys > p->window)
        max_keys = p->window;
    int nt = threads_for(n_work * max_keys * hd / 8, n_threads);
    if (n_work < 2)
        nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#ifdef _OPENMP
        int tid = omp_get_thread_num();
#else
        int tid = 0;
#endif
        float *sc = scratch + (int64_t)tid * scratch_stride;
#pragma omp for schedule(static)
        for (int64_t w = 0; w < n_work; w++) {
            int64_t t = w / p->n_head;
            int h = (int)(w % p->n_head);
            int64_t lo = attn_lo(pos[t], p->window);
            int64_t n_key = (int64_t)pos[t] + 1 - lo;
            int64_t kvo = (int64_t)(h / group) * hd;
            attn_one(out + t * q_stride + (int64_t)h * hd, q + t * q_stride + (int64_t)h * hd,
                     k[t] + kvo, v[t] + kvo, lo, n_key, kv_stride, p, sc);
        }
    }
}
