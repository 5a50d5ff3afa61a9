/*
 * tests/engine/test_kern_ops.c - RMSNorm, RoPE, softmax, GeGLU, soft-capping and
 * attention: known values, fast versions against the scalar references, and results
 * bit-identical for 1 and 2 threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"
#include "engine/kern_ops.h"

/* Deterministic pseudo-random floats in [-1, 1) (xorshift). */
static uint64_t rng_state = 88172645463325252ull;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void fill(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = frand() * scale;
}

static float max_abs_diff(const float *a, const float *b, int64_t n)
{
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static void test_gelu_known_values(void **state)
{
    /* torch.nn.functional.gelu(torch.tensor([...]), approximate="tanh") */
    assert_true(fabsf(kern_gelu_tanh(0.0f)) < 1e-9f);
    assert_true(fabsf(kern_gelu_tanh(1.0f) - 0.8411920f) < 1e-6f);
    assert_true(fabsf(kern_gelu_tanh(-1.0f) - (-0.1588080f)) < 1e-6f);
    assert_true(fabsf(kern_gelu_tanh(3.0f) - 2.9963627f) < 1e-6f);
    /* The exact erf GELU at 1 is 0.8413447: the approximation must not be it. */
    assert_true(fabsf(kern_gelu_tanh(1.0f) - 0.8413447f) > 1e-4f);

    float g[1000], u[1000], g2[1000];
    fill(g, 1000, 4.0f);
    fill(u, 1000, 2.0f);
    memcpy(g2, g, sizeof(g));
    float g0[1000];
    memcpy(g0, g, sizeof(g));
    kern_geglu_ref(g, u, 1000);
    kern_geglu(g2, u, 1000, 2);
    /* The fast version uses its own exp-based tanh: equal up to float rounding. */
    for (int i = 0; i < 1000; i++)
        assert_true(fabsf(g[i] - g2[i]) <= 5e-7f * fabsf(g0[i] * u[i]) + 1e-30f);
}

/* The SIMD levels this CPU can run (0 scalar, 1 AVX2+FMA, 2 AVX-512). */
static int max_simd_level(void)
{
    int lvl = kern_ops_simd_level(-1);
    return lvl;
}

/* Vectorized tanh (through kern_softcap with cap 1) and GELU (kern_geglu with up = 1)
 * against double-precision libm over a dense range, tiny and huge |x|, and NaN; every SIMD
 * level; 1 vs 2 threads bit-identical. Tolerances: tanh 2.5e-7 relative; GELU 2.5e-7 * |x|
 * absolute (relative to the result it can reach ~1e-5 near x = -9, where rounding u =
 * sqrt(2/pi)(x + 0.044715x^3) to float is amplified by |2u| ~ 70). */
static void test_tanh_gelu_dense(void **state)
{
    enum { N = 150001 };
    static float x[N + 128], y[N + 128], y2[N + 128], one[N + 128];
    int64_t n = 0;
    for (int64_t i = 0; i < N; i++)
        x[n++] = (float)(-30.0 + 0.0004 * (double)i);
    for (float v = 1e-30f; v < 1.0f && n < N + 120; v *= 3.1f) {
        x[n++] = v;
        x[n++] = -v;
    }
    x[n++] = 0.0f;
    x[n++] = 1e30f;
    x[n++] = -1e30f;
    x[n++] = INFINITY;
    x[n++] = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        one[i] = 1.0f;
    int top = max_simd_level();
    for (int lvl = 0; lvl <= top; lvl++) {
        assert_int_equal(kern_ops_simd_level(lvl), lvl);
        memcpy(y, x, sizeof(float) * (size_t)n);
        kern_softcap(y, n, 1.0f, 1);
        memcpy(y2, x, sizeof(float) * (size_t)n);
        kern_softcap(y2, n, 1.0f, 2);
        assert_memory_equal(y, y2, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            double r = tanh((double)x[i]);
            double tol = 2.5e-7 * fabs(r);
            if (!(fabs((double)y[i] - r) <= tol))
                fail_msg("level %d: tanh(%g) = %.9g, want %.9g", lvl, (double)x[i], (double)y[i],
                         r);
        }
        memcpy(y, x, sizeof(float) * (size_t)n);
        kern_geglu(y, one, n, 1);
        memcpy(y2, x, sizeof(float) * (size_t)n);
        kern_geglu(y2, one, n, 2);
        assert_memory_equal(y, y2, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            double xd = x[i];
            if (isinf(xd))
                continue;
            double u = 0.7978845608028654 * (xd + 0.044715 * xd * xd * xd);
            double r = xd / (1.0 + exp(-2.0 * u)); /* = 0.5 x (1 + tanh u), no cancellation */
            double tol = 2.5e-7 * fabs(xd) + 1e-37;
            if (!(fabs((double)y[i] - r) <= tol))
                fail_msg("level %d: gelu(%g) = %.9g, want %.9g", lvl, xd, (double)y[i], r);
        }
        float nanv[3] = {NAN, 1.0f, NAN};
        kern_softcap(nanv, 3, 1.0f, 1);
        assert_true(isnan(nanv[0]) && isnan(nanv[2]));
        nanv[0] = NAN;
        kern_geglu(nanv, one, 1, 1);
        assert_true(isnan(nanv[0]));
    }
    kern_ops_simd_level(-1);
}

static void test_rmsnorm(void **state)
{
    enum { N = 67, R = 300 };
    static float x[N * R], w[N], y1[N * R], y2[N * R], y3[N * R];
    fill(x, N * R, 3.0f);
    fill(w, N, 1.0f);
    kern_rmsnorm_ref(y1, x, w, N, R, 1e-6f);
    kern_rmsnorm(y2, x, w, N, R, 1e-6f, 1);
    kern_rmsnorm(y3, x, w, N, R, 1e-6f, 2);
    assert_true(max_abs_diff(y1, y2, N * R) < 1e-6f);
    assert_true(max_abs_diff(y2, y3, N * R) == 0.0f);
    /* With w = 1 the output has mean square 1 (up to eps). */
    float ones[N];
    for (int i = 0; i < N; i++)
        ones[i] = 1.0f;
    kern_rmsnorm(y2, x, ones, N, 1, 0.0f, 1);
    double ss = 0;
    for (int i = 0; i < N; i++)
        ss += (double)y2[i] * y2[i];
    assert_true(fabs(ss / N - 1.0) < 1e-5);
    /* In place. */
    memcpy(y3, x, sizeof(x));
    kern_rmsnorm(y3, y3, w, N, R, 1e-6f, 2);
    assert_true(max_abs_diff(y1, y3, N * R) < 1e-6f);
}

static void test_rope(void **state)
{
    enum { HD = 8, NH = 3, NT = 5 };
    float inv[HD / 2];
    kern_rope_freqs(inv, HD, 10000.0f, 1.0f);
    assert_true(inv[0] == 1.0f);
    assert_true(fabsf(inv[1] - 0.1f) < 1e-7f); /* 10000^(-2/8) */
    assert_true(fabsf(inv[2] - 0.01f) < 1e-8f);
    float inv_s[HD / 2];
    kern_rope_freqs(inv_s, HD, 10000.0f, 0.125f); /* linear scaling, factor 8 */
    assert_true(fabsf(inv_s[1] - 0.1f / 8) < 1e-8f);

    float x[NT * NH * HD], x0[NT * NH * HD], x2[NT * NH * HD];
    int32_t pos[NT] = {0, 1, 2, 7, 100};
    fill(x, NT * NH * HD, 1.0f);
    memcpy(x0, x, sizeof(x));
    memcpy(x2, x, sizeof(x));
    kern_rope_neox_ref(x, NT, NH * HD, NH, HD, pos, inv);
    kern_rope_neox(x2, NT, NH * HD, NH, HD, pos, inv, 2);
    assert_true(max_abs_diff(x, x2, NT * NH * HD) == 0.0f);
    /* the table form (model_decode: cos / sin once per batch and set of frequencies) gives
     * the same bits, with any thread count */
    for (int nt = 1; nt <= 2; nt++) {
        float cs[NT * HD], x3[NT * NH * HD];
        memcpy(x3, x0, sizeof(x3));
        kern_rope_table(cs, pos, NT, HD, inv, nt);
        kern_rope_neox_table(x3, NT, NH * HD, NH, HD, cs, nt);
        assert_memory_equal(x3, x, sizeof(x3));
    }
    /* Position 0 is the identity. */
    assert_true(max_abs_diff(x, x0, NH * HD) == 0.0f);
    /* Position 1, head 0: pair (0, 4) rotates by 1 radian, pair (1, 5) by 0.1. */
    const float *a = x0 + NH * HD, *b = x + NH * HD;
    float c = cosf(1.0f), s = sinf(1.0f);
    assert_true(fabsf(b[0] - (a[0] * c - a[4] * s)) < 1e-6f);
    assert_true(fabsf(b[4] - (a[0] * s + a[4] * c)) < 1e-6f);
    c = cosf(0.1f);
    s = sinf(0.1f);
    assert_true(fabsf(b[1] - (a[1] * c - a[5] * s)) < 1e-6f);
    assert_true(fabsf(b[5] - (a[1] * s + a[5] * c)) < 1e-6f);
    /* Norms of pairs are preserved everywhere. */
    for (int t = 0; t < NT; t++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < HD / 2; i++) {
                const float *p0 = x0 + (t * NH + h) * HD, *p1 = x + (t * NH + h) * HD;
                float n0 = p0[i] * p0[i] + p0[i + HD / 2] * p0[i + HD / 2];
                float n1 = p1[i] * p1[i] + p1[i + HD / 2] * p1[i + HD / 2];
                assert_true(fabsf(n0 - n1) < 1e-5f);
            }
}

static void test_softmax_softcap(void **state)
{
    float x[5] = {1.0f, 2.0f, 3.0f, -1000.0f, 3.0f};
    kern_softmax(x, 5);
    double sum = 0;
    for (int i = 0; i < 5; i++)
        sum += x[i];
    assert_true(fabs(sum - 1.0) < 1e-6);
    assert_true(x[3] == 0.0f);
    assert_true(x[2] == x[4]);
    assert_true(fabsf(x[1] / x[0] - expf(1.0f)) < 1e-5f);

    float y[3] = {0.0f, 100.0f, -5.0f};
    kern_softcap(y, 3, 30.0f, 1);
    assert_true(y[0] == 0.0f);
    assert_true(fabsf(y[1] - 30.0f * tanhf(100.0f / 30.0f)) < 1e-5f);
    assert_true(y[1] < 30.0f);
    float z[2] = {7.0f, -9.0f};
    kern_softcap(z, 2, 0.0f, 1); /* no cap */
    assert_true(z[0] == 7.0f && z[1] == -9.0f);

    float d1[37], d2[37];
    fill(d1, 37, 1.0f);
    fill(d2, 37, 1.0f);
    assert_true(fabsf(kern_dot(d1, d2, 37) - kern_dot_ref(d1, d2, 37)) < 1e-5f);
}

/* Attention: fast vs reference, 1 vs 2 threads, GQA, window, softcap; and a sliding
 * window of W equals global attention over only the last W keys. */
static void run_attention_case(int n_head, int n_head_kv, int hd, int32_t window, float cap)
{
    enum { NCTX = 40, NT = 6 };
    int64_t kvs = (int64_t)n_head_kv * hd, qs = (int64_t)n_head * hd;
    float *kc = malloc(sizeof(float) * NCTX * kvs * 2);
    float *vc = malloc(sizeof(float) * NCTX * kvs * 2);
    float *q = malloc(sizeof(float) * NT * qs);
    float *o1 = malloc(sizeof(float) * NT * qs), *o2 = malloc(sizeof(float) * NT * qs),
          *o3 = malloc(sizeof(float) * NT * qs);
    size_t n_scr = kern_attention_scratch_floats(n_head, hd, NCTX);
    float *scratch = malloc(sizeof(float) * n_scr);
    assert_non_null(kc);
    assert_non_null(scratch);
    fill(kc, NCTX * kvs * 2, 2.0f);
    fill(vc, NCTX * kvs * 2, 1.0f);
    fill(q, NT * qs, 2.0f);
    /* Two sequences: tokens 0..2 read cache 0, tokens 3..5 cache 1. */
    const float *kp[NT], *vp[NT];
    int32_t pos[NT] = {0, 5, 39, 3, 8, 20};
    for (int t = 0; t < NT; t++) {
        kp[t] = kc + (t < 3 ? 0 : NCTX * kvs);
        vp[t] = vc + (t < 3 ? 0 : NCTX * kvs);
    }
    struct kern_attn_params p = {n_head, n_head_kv, hd, 1.0f / sqrtf((float)hd), cap, window};
    kern_attention_ref(o1, q, kp, vp, pos, NT, &p, scratch);
    kern_attention(o2, q, kp, vp, pos, NT, &p, scratch, (int64_t)n_scr, 1);
    kern_attention(o3, q, kp, vp, pos, NT, &p, scratch, (int64_t)n_scr, 2);
    assert_true(max_abs_diff(o1, o2, NT * qs) < 1e-5f);
    assert_true(max_abs_diff(o2, o3, NT * qs) == 0.0f);

    if (window > 0) {
        /* Shift each token's cache so that its window starts at row 0, run global. */
        for (int t = 0; t < NT; t++) {
            int32_t lo = pos[t] - window + 1 < 0 ? 0 : pos[t] - window + 1;
            const float *kk = kp[t] + (int64_t)lo * kvs, *vv = vp[t] + (int64_t)lo * kvs;
            int32_t pp = pos[t] - lo;
            struct kern_attn_params g = p;
            g.window = 0;
            float og[4096];
            assert_true(qs <= 4096);
            kern_attention_ref(og, q + t * qs, &kk, &vv, &pp, 1, &g, scratch);
            assert_true(max_abs_diff(og, o1 + t * qs, qs) < 1e-6f);
        }
    }
    /* Position 0 sees only itself: the output is v[0] of its KV head. */
    for (int h = 0; h < n_head; h++) {
        const float *vr = vp[0] + (int64_t)(h / (n_head / n_head_kv)) * hd;
        assert_true(max_abs_diff(o1 + (int64_t)h * hd, vr, hd) < 1e-6f);
    }
    free(kc);
    free(vc);
    free(q);
    free(o1);
    free(o2);
    free(o3);
    free(scratch);
}

/* Long-context attention at every SIMD level against the scalar reference: head_dim 32,
 * 64, 256; GQA ratios 1, 2, 3, 4; windows; soft-caps; up to 1000 keys. Tolerance 2e-5
 * absolute (outputs are averages of values in [-1, 1]); 1 vs 2 threads bit-identical. */
static void run_attention_long(int n_head, int n_head_kv, int hd, int32_t window, float cap)
{
    enum { NCTX = 1000, NT = 8 };
    int64_t kvs = (int64_t)n_head_kv * hd, qs = (int64_t)n_head * hd;
    float *kc = malloc(sizeof(float) * NCTX * kvs);
    float *vc = malloc(sizeof(float) * NCTX * kvs);
    float *q = malloc(sizeof(float) * NT * qs);
    float *o1 = malloc(sizeof(float) * NT * qs), *o2 = malloc(sizeof(float) * NT * qs),
          *o3 = malloc(sizeof(float) * NT * qs);
    size_t n_scr = kern_attention_scratch_floats(n_head, hd, NCTX);
    float *scratch = malloc(sizeof(float) * n_scr);
    assert_true(kc && vc && q && o1 && o2 && o3 && scratch);
    fill(kc, NCTX * kvs, 2.0f);
    fill(vc, NCTX * kvs, 1.0f);
    fill(q, NT * qs, 2.0f);
    const float *kp[NT], *vp[NT];
    int32_t pos[NT] = {0, 1, 17, 250, 511, 999, 998, 640};
    for (int t = 0; t < NT; t++) {
        kp[t] = kc;
        vp[t] = vc;
    }
    struct kern_attn_params p = {n_head, n_head_kv, hd, 1.0f / sqrtf((float)hd), cap, window};
    kern_attention_ref(o1, q, kp, vp, pos, NT, &p, scratch);
    int top = max_simd_level();
    for (int lvl = 0; lvl <= top; lvl++) {
        kern_ops_simd_level(lvl);
        kern_attention(o2, q, kp, vp, pos, NT, &p, scratch, (int64_t)n_scr, 1);
        kern_attention(o3, q, kp, vp, pos, NT, &p, scratch, (int64_t)n_scr, 2);
        float d = max_abs_diff(o1, o2, NT * qs);
        if (!(d < 2e-5f))
            fail_msg("level %d hd %d heads %d/%d window %d cap %g: max diff %g", lvl, hd, n_head,
                     n_head_kv, (int)window, (double)cap, (double)d);
        assert_true(max_abs_diff(o2, o3, NT * qs) == 0.0f);
        /* One token at a time (decode: each query's key chunks spread over the threads, then
         * merged) gives the same bits as the batch (prefill: one thread per query, GQA heads
         * sharing a KV head together); so does decode without room for the split (one head
         * per thread), and decode in pairs of tokens. */
        for (int t = 0; t < NT; t++)
            kern_attention(o3 + t * qs, q + t * qs, &kp[t], &vp[t], &pos[t], 1, &p, scratch,
                           (int64_t)n_scr, 2);
        assert_memory_equal(o2, o3, sizeof(float) * NT * qs);
        memset(o3, 0, sizeof(float) * NT * qs);
        for (int t = 0; t < NT; t++)
            kern_attention(o3 + t * qs, q + t * qs, &kp[t], &vp[t], &pos[t], 1, &p, scratch, 0,
                           2);
        assert_memory_equal(o2, o3, sizeof(float) * NT * qs);
        memset(o3, 0, sizeof(float) * NT * qs);
        for (int t = 0; t < NT; t += 2)
            kern_attention(o3 + t * qs, q + t * qs, &kp[t], &vp[t], &pos[t], 2, &p, scratch,
                           (int64_t)n_scr, 2);
        assert_memory_equal(o2, o3, sizeof(float) * NT * qs);
    }
    kern_ops_simd_level(-1);
    free(kc);
    free(vc);
    free(q);
    free(o1);
    free(o2);
    free(o3);
    free(scratch);
}

static void test_attention_long(void **state)
{
    run_attention_long(4, 4, 32, 0, 0.0f);
    run_attention_long(8, 2, 64, 0, 50.0f);
    run_attention_long(4, 1, 256, 0, 0.0f);
    run_attention_long(4, 1, 256, 512, 0.0f);
    run_attention_long(6, 2, 32, 100, 30.0f);
    run_attention_long(4, 1, 64, 1, 0.0f);
    run_attention_long(2, 1, 256, 0, 20.0f);
}

static void test_attention(void **state)
{
    run_attention_case(4, 4, 16, 0, 0.0f);
    run_attention_case(4, 1, 64, 0, 0.0f);
    run_attention_case(4, 2, 32, 8, 50.0f);
    run_attention_case(8, 2, 32, 3, 0.0f);
    run_attention_case(2, 2, 9, 1, 0.0f); /* odd head_dim tail, window of one key */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gelu_known_values),
        cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_rope),
        cmocka_unit_test(test_softmax_softcap),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_tanh_gelu_dense),
        cmocka_unit_test(test_attention_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
