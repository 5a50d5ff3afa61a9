/*
 * engine/kern_ops.c - RMSNorm, RoPE, softmax, GeGLU, soft-capping and attention (see
 * kern_ops.h for the contracts and shapes).
 *
 * Not here: matrix multiplies over quantized weights (engine/kern.c). Nothing here
 * allocates; scratch belongs to the caller. OpenMP is used over independent rows,
 * tokens, (token, head) pairs or attention's fixed key chunks only, so a value's
 * arithmetic never depends on the thread count. Loops are written so that -O3 vectorizes them without -ffast-math: independent
 * accumulators with a fixed combination order instead of a single running sum.
 */
#include "engine/kern_ops.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define KERN_OPS_HEAD_DIM_MAX 1024

/* Attention splits each query's visible keys into up to KERN_ATTN_PARTS chunks of at least
 * KERN_ATTN_PART_MIN keys, more only to keep chunks to KERN_ATTN_CHUNK keys (see
 * "attention"). */
#define KERN_ATTN_PARTS    8
#define KERN_ATTN_PART_MIN 32
#define KERN_ATTN_CHUNK    2048

/* Rows below this many values per thread are not worth a parallel region. Where a kernel
 * runs on one thread it makes no OpenMP call at all: libgomp builds a team even for a
 * region whose if clause is false, ~0.5 us on a 2-core EPYC, longer than a decode step's
 * norm or residual add, and a decode step makes hundreds of those calls. */
#define KERN_OPS_PAR_MIN 4096

static int threads_for(int64_t work, int n_threads)
{
    if (n_threads < 1)
        return 1;
    if (work < KERN_OPS_PAR_MIN)
        return 1;
    return n_threads;
}

/* ---- SIMD primitives (chosen at run time) ------------------------------------------------
 *
 * The AVX-512 and AVX2+FMA code is compiled with per-function target attributes so the
 * library still runs on any x86-64; kern_isa() picks the widest one the CPU has. Each
 * element's arithmetic is the same whatever lane or block it lands in, so the results do
 * not depend on the thread count or on where a partition cuts a row.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KERN_OPS_X86 1
#include <immintrin.h>
#else
#define KERN_OPS_X86 0
#endif

enum { KERN_ISA_SCALAR = 0, KERN_ISA_AVX2 = 1, KERN_ISA_AVX512 = 2 };

/* Upper bound on the level used, for tests (kern_ops_simd_level); -1: none. */
static int kern_isa_cap = -1;

static int kern_isa_cpu(void)
{
#if KERN_OPS_X86
    if (__builtin_cpu_supports("avx512f"))
        return KERN_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return KERN_ISA_AVX2;
#endif
    return KERN_ISA_SCALAR;
}

static int kern_isa(void)
{
    int isa = kern_isa_cpu();
    return kern_isa_cap >= 0 && kern_isa_cap < isa ? kern_isa_cap : isa;
}

int kern_ops_simd_level(int cap)
{
    kern_isa_cap = cap < 0 ? -1 : cap;
    return kern_isa();
}

/* exp / tanh constants. exp: x = n ln2 + r (Cody-Waite split of ln2), |r| <= ln2/2,
 * exp(r) by its degree-7 Taylor polynomial (truncation < 1e-8 relative), times 2^n built
 * in the exponent bits. The input is clamped to [-87.3, 88.0] so 2^n stays normal. */
#define KX_LOG2E 1.44269504088896341f
#define KX_LN2HI 0.693359375f
#define KX_LN2LO -2.12194440e-4f
#define KX_LO    -87.3f
#define KX_HI    88.0f
/* tanh(y) = y + y^3 * P(y^2) for |y| < 0.5 (Taylor through y^19, error < 1e-9), else
 * 1 - 2 / (exp(2|y|) + 1) with the sign put back. */
#define KT_SMALL 0.5f
#define KT_C3    -0.3333333333333333f
#define KT_C5    0.13333333333333333f
#define KT_C7    -0.05396825396825397f
#define KT_C9    0.021869488536155203f
#define KT_C11   -0.008863235529902197f
#define KT_C13   0.003592128036572481f
#define KT_C15   -0.0014558343870513183f
#define KT_C17   0.000590027440945586f
#define KT_C19   -0.00023912911424355248f
#define KG_K     0.7978845608028654f /* sqrt(2/pi) */
#define KG_A     0.044715f

#if KERN_OPS_X86
#define KX512 __attribute__((target("avx512f"), always_inline)) static inline
#define KX256 __attribute__((target("avx2,fma"), always_inline)) static inline

KX512 float v16_hsum(__m512 v)
{
    return _mm512_reduce_add_ps(v);
}

KX256 float v8_hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

KX512 float v16_hmax(__m512 v)
{
    return _mm512_reduce_max_ps(v);
}

KX256 float v8_hmax(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Partial loads / stores of the last n < VW values (other lanes: fill / untouched). */
KX512 __m512 v16_load_part(const float *p, int64_t n, float fill)
{
    __mmask16 m = (__mmask16)((1u << n) - 1u);
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), m, p);
}

KX512 void v16_store_part(float *p, __m512 v, int64_t n)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v);
}

KX256 __m256i v8_mask(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

KX256 __m256 v8_load_part(const float *p, int64_t n, float fill)
{
    __m256i m = v8_mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}

KX256 void v8_store_part(float *p, __m256 v, int64_t n)
{
    _mm256_maskstore_ps(p, v8_mask(n), v);
}

/* Sum of VW floats added into a double accumulator lane-wise (fixed order). */
KX512 void v16_acc_pd(__m512d *acc, __m512 v)
{
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    acc[0] = _mm512_add_pd(acc[0], _mm512_cvtps_pd(lo));
    acc[1] = _mm512_add_pd(acc[1], _mm512_cvtps_pd(hi));
}

KX512 double v16_sum_pd(const __m512d *acc)
{
    return _mm512_reduce_add_pd(_mm512_add_pd(acc[0], acc[1]));
}

KX256 void v8_acc_pd(__m256d *acc, __m256 v)
{
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

KX256 double v8_sum_pd(const __m256d *acc)
{
    __m256d s = _mm256_add_pd(acc[0], acc[1]);
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    t = _mm_add_sd(t, _mm_unpackhi_pd(t, t));
    return _mm_cvtsd_f64(t);
}

/* The width-generic bodies (exp, tanh, gelu, softcap, geglu, attention), once per width. */
#define KO(name)         name##_avx512
#define VP(name)         v16_##name
#define KO_W             16
#define KO_GB            4
#define KO_TARGET        __attribute__((target("avx512f")))
#define KO_TARGET_INLINE KX512
#define vf               __m512
#define vd               __m512d
#define V_LOAD           _mm512_loadu_ps
#define V_STORE          _mm512_storeu_ps
#define V_SET1           _mm512_set1_ps
#define V_ZERO           _mm512_setzero_ps
#define V_ADD            _mm512_add_ps
#define V_SUB            _mm512_sub_ps
#define V_MUL            _mm512_mul_ps
#define V_DIV            _mm512_div_ps
#define V_FMADD          _mm512_fmadd_ps
#define V_FNMADD         _mm512_fnmadd_ps
#define V_MAX            _mm512_max_ps
#define V_MIN            _mm512_min_ps
#define V_ROUND(x)       _mm512_roundscale_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_POW2I(n)                                                                                 \
    _mm512_castsi512_ps(                                                                           \
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define V_ABS _mm512_abs_ps
#define V_OR_SIGN(t, y)                                                                            \
    _mm512_castsi512_ps(_mm512_or_si512(                                                           \
        _mm512_castps_si512(t),                                                                    \
        _mm512_and_si512(_mm512_castps_si512(y), _mm512_set1_epi32((int)0x80000000u))))
#define V_SEL_LT(a, b, x, y)                                                                       \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ), (y), (x))
#define V_NAN_PASS(t, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((y), (y), _CMP_UNORD_Q), (t), (y))
#define VD_ZERO          _mm512_setzero_pd
#include "engine/kern_ops_simd.h"

#define KO(name)         name##_avx2
#define VP(name)         v8_##name
#define KO_W             8
#define KO_GB            2
#define KO_TARGET        __attribute__((target("avx2,fma")))
#define KO_TARGET_INLINE KX256
#define vf               __m256
#define vd               __m256d
#define V_LOAD           _mm256_loadu_ps
#define V_STORE          _mm256_storeu_ps
#define V_SET1           _mm256_set1_ps
#define V_ZERO           _mm256_setzero_ps
#define V_ADD            _mm256_add_ps
#define V_SUB            _mm256_sub_ps
#define V_MUL            _mm256_mul_ps
#define V_DIV            _mm256_div_ps
#define V_FMADD          _mm256_fmadd_ps
#define V_FNMADD         _mm256_fnmadd_ps
#define V_MAX            _mm256_max_ps
#define V_MIN            _mm256_min_ps
#define V_ROUND(x)       _mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_POW2I(n)                                                                                 \
    _mm256_castsi256_ps(                                                                           \
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define V_ABS(x)             _mm256_andnot_ps(_mm256_set1_ps(-0.0f), (x))
#define V_OR_SIGN(t, y)      _mm256_or_ps((t), _mm256_and_ps(_mm256_set1_ps(-0.0f), (y)))
#define V_SEL_LT(a, b, x, y) _mm256_blendv_ps((y), (x), _mm256_cmp_ps((a), (b), _CMP_LT_OQ))
#define V_NAN_PASS(t, y)     _mm256_blendv_ps((t), (y), _mm256_cmp_ps((y), (y), _CMP_UNORD_Q))
#define VD_ZERO              _mm256_setzero_pd
#include "engine/kern_ops_simd.h"

#endif /* KERN_OPS_X86 */

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
    if (nt == 1) {
        for (int64_t r = 0; r < n_rows; r++)
            rmsnorm_row(y + r * n, x + r * n, w, n, eps);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
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

/* cos / sin of one token's angles: rope_head's formulas */
static void rope_angles(float *cs, int32_t pos, int head_dim, const float *inv_freq)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        float ang = (float)pos * inv_freq[i];
        cs[i] = (float)cos((double)ang);
        cs[half + i] = (float)sin((double)ang);
    }
}

/* rope_head's rotation with the angles of rope_angles */
static void rope_rotate(float *x, int n_head, int head_dim, const float *cs)
{
    int half = head_dim / 2;
    for (int h = 0; h < n_head; h++) {
        float *xh = x + (int64_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float a = xh[i];
            float b = xh[i + half];
            xh[i] = a * cs[i] - b * cs[half + i];
            xh[i + half] = a * cs[half + i] + b * cs[i];
        }
    }
}

/* One token's heads: cos/sin once, shared by all of them. */
static void rope_tok(float *xt, int n_head, int head_dim, int32_t pos, const float *inv_freq)
{
    float cs[KERN_OPS_HEAD_DIM_MAX];
    if (head_dim > KERN_OPS_HEAD_DIM_MAX) {
        for (int h = 0; h < n_head; h++)
            rope_head(xt + (int64_t)h * head_dim, head_dim, pos, inv_freq);
        return;
    }
    rope_angles(cs, pos, head_dim, inv_freq);
    rope_rotate(xt, n_head, head_dim, cs);
}

void kern_rope_neox(float *x, int64_t n_tok, int64_t row_stride, int n_head, int head_dim,
                    const int32_t *pos, const float *inv_freq, int n_threads)
{
    int nt = threads_for(n_tok * (int64_t)n_head * head_dim * 8, n_threads);
    if (nt == 1) {
        for (int64_t t = 0; t < n_tok; t++)
            rope_tok(x + t * row_stride, n_head, head_dim, pos[t], inv_freq);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t t = 0; t < n_tok; t++)
        rope_tok(x + t * row_stride, n_head, head_dim, pos[t], inv_freq);
}

void kern_rope_table(float *cs, const int32_t *pos, int64_t n_tok, int head_dim,
                     const float *inv_freq, int n_threads)
{
    /* two libm calls per value: worth threads sooner than the arithmetic ops */
    int nt = threads_for(n_tok * (int64_t)head_dim * 8, n_threads);
    if (nt == 1) {
        for (int64_t t = 0; t < n_tok; t++)
            rope_angles(cs + t * head_dim, pos[t], head_dim, inv_freq);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t t = 0; t < n_tok; t++)
        rope_angles(cs + t * head_dim, pos[t], head_dim, inv_freq);
}

void kern_rope_neox_table(float *x, int64_t n_tok, int64_t row_stride, int n_head, int head_dim,
                          const float *cs, int n_threads)
{
    int nt = threads_for(n_tok * (int64_t)n_head * head_dim, n_threads);
    if (nt == 1) {
        for (int64_t t = 0; t < n_tok; t++)
            rope_rotate(x + t * row_stride, n_head, head_dim, cs + t * head_dim);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t t = 0; t < n_tok; t++)
        rope_rotate(x + t * row_stride, n_head, head_dim, cs + t * head_dim);
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

/* Element-wise kernels work in blocks of this many values; lanes are independent, so
 * where a block or a thread's share ends does not change any result. */
#define KERN_OPS_EW_BLOCK 1024

static void softcap_range(float *x, int64_t n, float cap, int isa)
{
#if KERN_OPS_X86
    if (isa == KERN_ISA_AVX512) {
        softcap_avx512(x, n, cap);
        return;
    }
    if (isa == KERN_ISA_AVX2) {
        softcap_avx2(x, n, cap);
        return;
    }
#endif
    (void)isa;
    for (int64_t i = 0; i < n; i++)
        x[i] = tanhf(x[i] / cap) * cap;
}

static void geglu_range(float *g, const float *u, int64_t n, int isa)
{
#if KERN_OPS_X86
    if (isa == KERN_ISA_AVX512) {
        geglu_avx512(g, u, n);
        return;
    }
    if (isa == KERN_ISA_AVX2) {
        geglu_avx2(g, u, n);
        return;
    }
#endif
    (void)isa;
    for (int64_t i = 0; i < n; i++)
        g[i] = kern_gelu_tanh(g[i]) * u[i];
}

void kern_softcap(float *x, int64_t n, float cap, int n_threads)
{
    if (cap <= 0.0f)
        return;
    int nt = threads_for(n * 8, n_threads);
    int64_t n_blk = (n + KERN_OPS_EW_BLOCK - 1) / KERN_OPS_EW_BLOCK;
    int isa = kern_isa();
    if (nt == 1) {
        softcap_range(x, n, cap, isa);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < n_blk; b++) {
        int64_t i0 = b * KERN_OPS_EW_BLOCK;
        int64_t m = n - i0 < KERN_OPS_EW_BLOCK ? n - i0 : KERN_OPS_EW_BLOCK;
        softcap_range(x + i0, m, cap, isa);
    }
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
    int64_t n_blk = (n + KERN_OPS_EW_BLOCK - 1) / KERN_OPS_EW_BLOCK;
    int isa = kern_isa();
    if (nt == 1) {
        geglu_range(gate, up, n, isa);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < n_blk; b++) {
        int64_t i0 = b * KERN_OPS_EW_BLOCK;
        int64_t m = n - i0 < KERN_OPS_EW_BLOCK ? n - i0 : KERN_OPS_EW_BLOCK;
        geglu_range(gate + i0, up + i0, m, isa);
    }
}

void kern_add(float *y, const float *x, int64_t n, int n_threads)
{
    int nt = threads_for(n, n_threads);
    if (nt == 1) {
        for (int64_t i = 0; i < n; i++)
            y[i] += x[i];
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
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

/*
 * The fast paths split each query's visible keys into attn_parts(n) chunks of near-equal
 * size (a power of two of them, chunk c holding keys [n c / P, n (c + 1) / P)). A chunk
 * gives a partial: its largest score m, e_j = exp(s_j - m), l = sum e_j and
 * o = sum e_j v_j; the partials are merged in chunk order (attn_merge) and the sum divided
 * out at the end. Decode steps spread one query's chunks over the threads, so that each
 * key and value row is read by one thread only, and merge after; prefill takes them one
 * after another on one thread. The merge sees the same partials in the same order either
 * way: results depend neither on the thread count nor on the batch, and a query of fewer
 * than 2 * KERN_ATTN_PART_MIN keys gets exactly the plain softmax.
 */

static int64_t attn_parts(int64_t n_key)
{
    int64_t p = 1;
    while (p < KERN_ATTN_PARTS && n_key >= 2 * p * KERN_ATTN_PART_MIN)
        p *= 2;
    while (n_key > p * KERN_ATTN_CHUNK)
        p *= 2;
    return p;
}

/* A partial in the decode scratch: o (head_dim floats), then m and l. */
#define ATTN_SLOT_EXTRA 16 /* keeps slots 64-byte multiples for head_dim % 16 == 0 */
#define ATTN_SPLIT_TOK  3  /* decode steps: batches of up to this many queries */

size_t kern_attention_scratch_floats(int n_head, int head_dim, int64_t n_ctx)
{
    if (n_head <= 0 || head_dim <= 0 || n_ctx <= 0)
        return 0;
    int64_t chunks = attn_parts(n_ctx);
    size_t split = (size_t)ATTN_SPLIT_TOK * (size_t)n_head * (size_t)chunks *
                   ((size_t)head_dim + ATTN_SLOT_EXTRA);
    return split > (size_t)n_ctx ? split : (size_t)n_ctx; /* or kern_attention_ref's */
}

/* One chunk of one head, scalar (any head_dim); arguments as KO(attn_one_chunk)'s. */
static void attn_one_chunk(float *o, float *m, double *l, const float *qs, const float *kt,
                           const float *vt, int64_t n_key, int64_t kv_stride,
                           const struct kern_attn_params *p)
{
    int hd = p->head_dim;
    float sc[KERN_ATTN_CHUNK];
    float mx = -INFINITY;
    for (int64_t j = 0; j < n_key; j++) {
        float s = kern_dot(qs, kt + j * kv_stride, hd);
        if (p->softcap > 0.0f)
            s = tanhf(s / p->softcap) * p->softcap;
        sc[j] = s;
        mx = s > mx ? s : mx;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < n_key; j++) {
        sc[j] = expf(sc[j] - mx);
        sum += sc[j];
    }
    for (int d = 0; d < hd; d++)
        o[d] = 0.0f;
    for (int64_t j = 0; j < n_key; j++) {
        const float *vr = vt + j * kv_stride;
        float e = sc[j];
        for (int d = 0; d < hd; d++)
            o[d] += e * vr[d];
    }
    *m = mx;
    *l = sum;
}

/* The partials of one chunk for query heads h0 .. h0+nq-1 (nq <= 4), which read one KV
 * head: qs their scaled queries and o their outputs (nq rows of head_dim), m and l nq
 * each; kt / vt: the chunk's first key / value row of that KV head. */
static void attn_chunk(int isa, float *o, float *m, double *l, const float *qs, const float *kt,
                       const float *vt, int64_t n_key, int64_t kv_stride,
                       const struct kern_attn_params *p, int nq)
{
    int hd = p->head_dim;
#if KERN_OPS_X86
    if (isa == KERN_ISA_AVX512 && hd % 16 == 0) {
        if (nq == 1)
            attn_one_chunk_avx512(o, m, l, qs, kt, vt, n_key, kv_stride, p);
        else
            attn_group_chunk_avx512(o, m, l, qs, kt, vt, n_key, kv_stride, p, nq);
        return;
    }
    if (isa == KERN_ISA_AVX2 && hd % 8 == 0) {
        if (nq == 1)
            attn_one_chunk_avx2(o, m, l, qs, kt, vt, n_key, kv_stride, p);
        else
            attn_group_chunk_avx2(o, m, l, qs, kt, vt, n_key, kv_stride, p, nq);
        return;
    }
#endif
    (void)isa;
    for (int i = 0; i < nq; i++)
        attn_one_chunk(o + (int64_t)i * hd, m + i, l + i, qs + (int64_t)i * hd, kt, vt, n_key,
                       kv_stride, p);
}

/* Merges one chunk's partial (o, m, l) into a head's running (O, M, L); the query's first
 * chunk is taken as it is. */
static void attn_merge(float *O, float *M, double *L, const float *o, float m, double l, int hd,
                       bool first)
{
    if (first) {
        memcpy(O, o, (size_t)hd * sizeof(float));
        *M = m;
        *L = l;
        return;
    }
    float mx = m > *M ? m : *M;
    float a = expf(*M - mx), b = expf(m - mx);
    for (int d = 0; d < hd; d++)
        O[d] = O[d] * a + o[d] * b;
    *L = *L * (double)a + l * (double)b;
    *M = mx;
}

static void attn_finish(float *O, double L, int hd)
{
    float inv = (float)(1.0 / L);
    for (int d = 0; d < hd; d++)
        O[d] *= inv;
}

/* The query heads h0 .. h0+nq-1 of token t (one KV head): its scaled queries into qs. */
static void attn_scale_q(float *qs, const float *q, int64_t t, int h0, int nq,
                         const struct kern_attn_params *p)
{
    int64_t n = (int64_t)nq * p->head_dim;
    const float *qh = q + t * p->n_head * (int64_t)p->head_dim + (int64_t)h0 * p->head_dim;
    for (int64_t i = 0; i < n; i++)
        qs[i] = qh[i] * p->scale;
}

/* Query heads h0 .. h0+nq-1 (nq <= 4, one KV head) of token t, every chunk in order on
 * this thread. */
static void attn_item(float *out, const float *q, const float *const *k, const float *const *v,
                      const int32_t *pos, const struct kern_attn_params *p, int isa, int64_t t,
                      int h0, int nq)
{
    int hd = p->head_dim;
    int64_t kv_stride = (int64_t)p->n_head_kv * hd;
    int64_t kvo = (int64_t)(h0 / (p->n_head / p->n_head_kv)) * hd;
    int64_t lo = attn_lo(pos[t], p->window);
    int64_t n_key = (int64_t)pos[t] + 1 - lo;
    float qs[4 * KERN_OPS_HEAD_DIM_MAX], o[4 * KERN_OPS_HEAD_DIM_MAX];
    float m[4], M[4];
    double l[4], L[4];
    attn_scale_q(qs, q, t, h0, nq, p);
    float *oh = out + t * p->n_head * (int64_t)hd + (int64_t)h0 * hd;
    int64_t parts = attn_parts(n_key);
    for (int64_t c = 0; c < parts; c++) {
        int64_t c0 = n_key * c / parts, n = n_key * (c + 1) / parts - c0;
        const float *kt = k[t] + kvo + (lo + c0) * kv_stride;
        const float *vt = v[t] + kvo + (lo + c0) * kv_stride;
        attn_chunk(isa, o, m, l, qs, kt, vt, n, kv_stride, p, nq);
        for (int i = 0; i < nq; i++)
            attn_merge(oh + (int64_t)i * hd, &M[i], &L[i], o + (int64_t)i * hd, m[i], l[i], hd,
                       c == 0);
    }
    for (int i = 0; i < nq; i++)
        attn_finish(oh + (int64_t)i * hd, L[i], hd);
}

/* Work items of the one-thread-per-query path: (token, KV head, run of up to qg query
 * heads of it). */
struct attn_items {
    int group, qg, n_sub;
};

static struct attn_items attn_items_of(const struct kern_attn_params *p, int qg)
{
    struct attn_items it;
    it.group = p->n_head / p->n_head_kv;
    it.qg = qg < it.group ? qg : it.group;
    it.n_sub = (it.group + it.qg - 1) / it.qg;
    return it;
}

static void attn_run_item(float *out, const float *q, const float *const *k,
                          const float *const *v, const int32_t *pos,
                          const struct kern_attn_params *p, int isa, struct attn_items it,
                          int64_t w)
{
    int64_t per_tok = (int64_t)p->n_head_kv * it.n_sub;
    int64_t t = w / per_tok, r = w % per_tok;
    int g = (int)(r / it.n_sub);
    int h0 = g * it.group + (int)(r % it.n_sub) * it.qg;
    int nq = g * it.group + it.group - h0 < it.qg ? g * it.group + it.group - h0 : it.qg;
    attn_item(out, q, k, v, pos, p, isa, t, h0, nq);
}

/* The decode split: chunk items (token, KV head run, chunk), partials into scratch, then
 * merge items (token, head). */
struct attn_split {
    struct attn_items it;
    int64_t n_tok;
    int64_t n_ch[ATTN_SPLIT_TOK], first_item[ATTN_SPLIT_TOK + 1], first_slot[ATTN_SPLIT_TOK];
    int64_t slot; /* floats per partial */
    float *part;
};

static float *split_slot(const struct attn_split *s, int64_t t, int h, int64_t c)
{
    return s->part + (s->first_slot[t] + (int64_t)h * s->n_ch[t] + c) * s->slot;
}

static void split_chunk(const struct attn_split *s, const float *q,
                        const float *const *k, const float *const *v, const int32_t *pos,
                        const struct kern_attn_params *p, int isa, int64_t w)
{
    int64_t t = 0;
    while (w >= s->first_item[t + 1])
        t++;
    int64_t r = w - s->first_item[t];
    int64_t c = r % s->n_ch[t];
    int64_t gs = r / s->n_ch[t]; /* (KV head, run) */
    int g = (int)(gs / s->it.n_sub);
    int h0 = g * s->it.group + (int)(gs % s->it.n_sub) * s->it.qg;
    int nq = g * s->it.group + s->it.group - h0 < s->it.qg ? g * s->it.group + s->it.group - h0
                                                          : s->it.qg;
    int hd = p->head_dim;
    int64_t kv_stride = (int64_t)p->n_head_kv * hd;
    int64_t lo = attn_lo(pos[t], p->window);
    int64_t n_key = (int64_t)pos[t] + 1 - lo;
    int64_t c0 = n_key * c / s->n_ch[t], n = n_key * (c + 1) / s->n_ch[t] - c0;
    const float *kt = k[t] + (int64_t)g * hd + (lo + c0) * kv_stride;
    const float *vt = v[t] + (int64_t)g * hd + (lo + c0) * kv_stride;
    float qs[4 * KERN_OPS_HEAD_DIM_MAX], o[4 * KERN_OPS_HEAD_DIM_MAX];
    float m[4];
    double l[4];
    attn_scale_q(qs, q, t, h0, nq, p);
    attn_chunk(isa, o, m, l, qs, kt, vt, n, kv_stride, p, nq);
    for (int i = 0; i < nq; i++) {
        float *sl = split_slot(s, t, h0 + i, c);
        memcpy(sl, o + (int64_t)i * hd, (size_t)hd * sizeof(float));
        memcpy(sl + hd, &m[i], sizeof(float));
        memcpy(sl + hd + 2, &l[i], sizeof(double));
    }
}

static void split_merge(const struct attn_split *s, float *out, const struct kern_attn_params *p,
                        int64_t w)
{
    int64_t t = w / p->n_head;
    int h = (int)(w % p->n_head);
    int hd = p->head_dim;
    float *oh = out + t * p->n_head * (int64_t)hd + (int64_t)h * hd;
    float M = 0.0f;
    double L = 0.0;
    for (int64_t c = 0; c < s->n_ch[t]; c++) {
        const float *sl = split_slot(s, t, h, c);
        float m;
        double l;
        memcpy(&m, sl + hd, sizeof(float));
        memcpy(&l, sl + hd + 2, sizeof(double));
        attn_merge(oh, &M, &L, sl, m, l, hd, c == 0);
    }
    attn_finish(oh, L, hd);
}

/* Sets up the decode split; false where it does not apply (a query of one chunk, or the
 * scratch too small). */
static bool split_plan(struct attn_split *s, const int32_t *pos, int64_t n_tok,
                       const struct kern_attn_params *p, float *scratch, int64_t scratch_floats)
{
    if (n_tok > ATTN_SPLIT_TOK || !scratch)
        return false;
    s->it = attn_items_of(p, 4);
    s->n_tok = n_tok;
    s->slot = (int64_t)p->head_dim + ATTN_SLOT_EXTRA;
    s->part = scratch;
    s->first_item[0] = 0;
    int64_t slots = 0, max_ch = 0;
    for (int64_t t = 0; t < n_tok; t++) {
        int64_t n_key = (int64_t)pos[t] + 1 - attn_lo(pos[t], p->window);
        s->n_ch[t] = attn_parts(n_key);
        max_ch = s->n_ch[t] > max_ch ? s->n_ch[t] : max_ch;
        s->first_slot[t] = slots;
        slots += (int64_t)p->n_head * s->n_ch[t];
        s->first_item[t + 1] = s->first_item[t] + (int64_t)p->n_head_kv * s->it.n_sub * s->n_ch[t];
    }
    return max_ch >= 2 && slots * s->slot <= scratch_floats;
}

void kern_attention(float *out, const float *q, const float *const *k, const float *const *v,
                    const int32_t *pos, int64_t n_tok, const struct kern_attn_params *p,
                    float *scratch, int64_t scratch_floats, int n_threads)
{
    int hd = p->head_dim;
    if (hd > KERN_OPS_HEAD_DIM_MAX) {
        kern_attention_ref(out, q, k, v, pos, n_tok, p, scratch);
        return;
    }
    /* Work ~ multiply-adds over every (token, head, visible key); small decode steps stay
     * on one thread, where a parallel region would cost more than it saves. */
    int64_t max_keys = 0;
    for (int64_t t = 0; t < n_tok; t++) {
        int64_t nk = (int64_t)pos[t] + 1 - attn_lo(pos[t], p->window);
        max_keys = nk > max_keys ? nk : max_keys;
    }
    int nt = threads_for(n_tok * p->n_head * max_keys * hd / 8, n_threads);
    int isa = kern_isa();
    struct attn_split s;
    if (nt > 1 && split_plan(&s, pos, n_tok, p, scratch, scratch_floats)) {
        int64_t n_items = s.first_item[n_tok], n_merge = n_tok * p->n_head;
        /* The merge is a few hundred multiply-adds per head: on this thread, after the join,
         * rather than behind one more barrier. */
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t w = 0; w < n_items; w++)
            split_chunk(&s, q, k, v, pos, p, isa, w);
        for (int64_t w = 0; w < n_merge; w++)
            split_merge(&s, out, p, w);
        return;
    }
    /* Prefill: the query heads sharing a KV head go together (up to 4), so each key and
     * value row is read once for all of them; decode steps that do not split keep one
     * head per item to spread the heads over threads. Per head the arithmetic is the same
     * either way. */
    struct attn_items it = attn_items_of(p, n_tok >= 4 ? 4 : 1);
    int64_t n_work = n_tok * p->n_head_kv * it.n_sub;
    if (n_work < 2)
        nt = 1;
    if (nt == 1) {
        for (int64_t w = 0; w < n_work; w++)
            attn_run_item(out, q, k, v, pos, p, isa, it, w);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t w = 0; w < n_work; w++)
        attn_run_item(out, q, k, v, pos, p, isa, it, w);
}

/* ---- local attention over a ring of keys (RecurrentGemma) ------------------------------ */

/* Pair pi = (token pi / n_head, head pi % n_head); sc: its scores (window + 1). */
static void ring_pair(const struct kern_ring_attn *a, int64_t pi, float *sc)
{
    int64_t R = (int64_t)a->window + 1;
    int hd = a->head_dim, H = a->n_head, group = a->n_head / a->n_head_kv;
    int64_t kvd = (int64_t)a->n_head_kv * hd;
    int64_t t = pi / H;
    int h = (int)(pi % H);
    int kvh = h / group;
    int64_t p = a->pos0 + t;
    int64_t lo = p - a->window > 0 ? p - a->window : 0;
    int64_t nk = p - lo + 1;
    float qs[4096];
    const float *qrow = a->q + t * (int64_t)H * hd + (int64_t)h * hd;
    for (int d = 0; d < hd; d++)
        qs[d] = qrow[d] * a->scale;
    for (int64_t j = 0; j < nk; j++) {
        int64_t s = lo + j;
        const float *kr = s >= a->pos0 ? a->kc + (s - a->pos0) * kvd : a->ring_k + (s % R) * kvd;
        sc[j] = kern_dot(qs, kr + (int64_t)kvh * hd, hd);
    }
    kern_softmax(sc, nk);
    float *o = a->out + t * (int64_t)H * hd + (int64_t)h * hd;
    for (int d = 0; d < hd; d++)
        o[d] = 0;
    for (int64_t j = 0; j < nk; j++) {
        int64_t s = lo + j;
        const float *vr = s >= a->pos0 ? a->vc + (s - a->pos0) * kvd : a->ring_v + (s % R) * kvd;
        vr += (int64_t)kvh * hd;
        float pj = sc[j];
        for (int d = 0; d < hd; d++)
            o[d] += pj * vr[d];
    }
}

void kern_attention_ring(const struct kern_ring_attn *a)
{
    int64_t n_pairs = a->T * a->n_head;
    if (a->n_threads <= 1) {
        for (int64_t pi = 0; pi < n_pairs; pi++)
            ring_pair(a, pi, a->scratch);
        return;
    }
#pragma omp parallel num_threads(a->n_threads)
    {
#ifdef _OPENMP
        float *sc = a->scratch + (int64_t)omp_get_thread_num() * ((int64_t)a->window + 1);
#else
        float *sc = a->scratch;
#endif
#pragma omp for schedule(static)
        for (int64_t pi = 0; pi < n_pairs; pi++)
            ring_pair(a, pi, sc);
    }
}
