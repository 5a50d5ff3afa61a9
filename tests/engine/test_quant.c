/*
 * tests/engine/test_quant.c - the quant type table: block sizes, f16/bf16 conversions
 * (edge cases and an exhaustive round trip), quantize/dequantize round trips with an
 * error budget per type, and the fixtures: quantizing the F32 weights reproduces the
 * Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 GGUF bytes exactly, and dequantized K-quant tensors stay
 * within their quantization error of the float weights.
 *
 * The fixture tensors are read at the offsets that gguf-manifest.json gives; those are
 * absolute file offsets (test_fixture_offsets_absolute checks it by comparing the F32
 * and F16 copies of the same bf16-exact weights).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/file.h"
#include "base/json.h"
#include "engine/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------- */

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* xorshift; deterministic data for every run */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* ---- table ---------------------------------------------------------------------------- */

static void test_block_sizes(void **state)
{
    static const struct {
        int type;
        const char *name;
        int64_t elems;
        size_t bytes;
    } want[] = {
        {QUANT_TYPE_F32, "F32", 1, 4},       {QUANT_TYPE_F16, "F16", 1, 2},
        {QUANT_TYPE_BF16, "BF16", 1, 2},     {QUANT_TYPE_Q4_0, "Q4_0", 32, 18},
        {QUANT_TYPE_Q4_1, "Q4_1", 32, 20},   {QUANT_TYPE_Q5_0, "Q5_0", 32, 22},
        {QUANT_TYPE_Q5_1, "Q5_1", 32, 24},   {QUANT_TYPE_Q8_0, "Q8_0", 32, 34},
        {QUANT_TYPE_Q4_K, "Q4_K", 256, 144}, {QUANT_TYPE_Q5_K, "Q5_K", 256, 176},
        {QUANT_TYPE_Q6_K, "Q6_K", 256, 210}, {QUANT_TYPE_Q8_K, "Q8_K", 256, 292},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct quant_traits *t = quant_traits_of(want[i].type);
        assert_non_null(t);
        assert_string_equal(t->name, want[i].name);
        assert_int_equal(t->block_elems, want[i].elems);
        assert_int_equal(t->block_bytes, want[i].bytes);
        assert_non_null(t->dequantize);
        assert_non_null(t->quantize);
        assert_int_equal(quant_type_from_name(want[i].name), want[i].type);
    }
    assert_int_equal(quant_type_from_name("q4_k"), QUANT_TYPE_Q4_K);
    assert_int_equal(quant_type_from_name("f16"), QUANT_TYPE_F16);
    assert_int_equal(quant_type_from_name("Q9_9"), -1);
    assert_int_equal(quant_type_from_name(NULL), -1);
    assert_null(quant_traits_of(-1));
    assert_null(quant_traits_of(4)); /* removed Q4_2 */
    assert_null(quant_traits_of(1000));
    assert_null(quant_traits_of(QUANT_TYPE_COUNT));
    /* known but unsupported */
    assert_non_null(quant_traits_of(QUANT_TYPE_Q2_K));
    assert_null(quant_traits_of(QUANT_TYPE_Q2_K)->dequantize);

    size_t n;
    assert_true(quant_row_bytes(QUANT_TYPE_Q4_K, 2048, &n));
    assert_int_equal(n, 8 * 144);
    assert_true(quant_row_bytes(QUANT_TYPE_F16, 7, &n));
    assert_int_equal(n, 14);
    assert_false(quant_row_bytes(QUANT_TYPE_Q4_0, 33, &n));
    assert_false(quant_row_bytes(QUANT_TYPE_Q4_K, 128, &n));
    assert_false(quant_row_bytes(QUANT_TYPE_F32, -1, &n));
    assert_false(quant_row_bytes(77, 32, &n));
    assert_false(quant_row_bytes(QUANT_TYPE_F32, INT64_MAX, &n)); /* overflow */
}

/* ---- f16 / bf16 ----------------------------------------------------------------------- */

static void test_f16_edges(void **state)
{
    assert_int_equal(quant_f32_to_f16(0.0f), 0x0000);
    assert_int_equal(quant_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(quant_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(quant_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(quant_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(quant_f32_to_f16(65519.99f), 0x7bff);
    assert_int_equal(quant_f32_to_f16(65520.0f), 0x7c00); /* tie, rounds to even = inf */
    assert_int_equal(quant_f32_to_f16(1e10f), 0x7c00);
    assert_int_equal(quant_f32_to_f16(INFINITY), 0x7c00);
    assert_int_equal(quant_f32_to_f16(-INFINITY), 0xfc00);
    uint16_t hn = quant_f32_to_f16(NAN);
    assert_int_equal(hn & 0x7c00, 0x7c00);
    assert_true((hn & 0x3ff) != 0);
    assert_true(isnan(quant_f16_to_f32(hn)));
    /* NaN with payload only in low bits must not become inf */
    uint16_t hp = quant_f32_to_f16(u2f(0x7f800001u));
    assert_true((hp & 0x3ff) != 0);
    /* ties to even in the normal range: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 */
    assert_int_equal(quant_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    assert_int_equal(quant_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    assert_int_equal(quant_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    /* subnormals: 2^-24 is the smallest */
    assert_int_equal(quant_f32_to_f16(0x1p-24f), 0x0001);
    assert_int_equal(quant_f32_to_f16(0x1p-25f), 0x0000);     /* tie -> even (0) */
    assert_int_equal(quant_f32_to_f16(0x1.8p-25f), 0x0001);   /* above the tie */
    assert_int_equal(quant_f32_to_f16(3 * 0x1p-25f), 0x0002); /* 1.5 ulp: tie -> 2 */
    assert_int_equal(quant_f32_to_f16(5 * 0x1p-25f), 0x0002); /* 2.5 ulp: tie -> 2 */
    assert_int_equal(quant_f32_to_f16(-0x1p-24f), 0x8001);
    assert_int_equal(quant_f32_to_f16(0x1p-14f), 0x0400);            /* smallest normal */
    assert_int_equal(quant_f32_to_f16(0x1p-14f - 0x1p-26f), 0x0400); /* rounds up into it */
    assert_int_equal(quant_f32_to_f16(1e-30f), 0x0000);
    assert_int_equal(quant_f32_to_f16(u2f(1)), 0x0000); /* f32 subnormal */
    assert_true(quant_f16_to_f32(0x0001) == 0x1p-24f);
    assert_true(quant_f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
    assert_true(quant_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(isinf(quant_f16_to_f32(0x7c00)) && quant_f16_to_f32(0xfc00) < 0);
    assert_int_equal(f2u(quant_f16_to_f32(0x8000)), 0x80000000u);

    /* exhaustive: every non-NaN half survives f16 -> f32 -> f16 */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = quant_f16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        if (quant_f32_to_f16(f) != h)
            fail_msg("f16 0x%04x -> %a -> 0x%04x", h, (double)f, quant_f32_to_f16(f));
    }
#if defined(__FLT16_MAX__)
    /* against the compiler's conversion (round to nearest even) on random bit patterns */
    for (int i = 0; i < 2000000; i++) {
        float f = u2f(tu_rnd_u32(&rng_state) ^ (tu_rnd_u32(&rng_state) << 21));
        if (isnan(f))
            continue;
        _Float16 c = (_Float16)f;
        uint16_t want;
        memcpy(&want, &c, 2);
        if (quant_f32_to_f16(f) != want)
            fail_msg("f32 %a: got 0x%04x want 0x%04x", (double)f, quant_f32_to_f16(f), want);
    }
#endif
}

static void test_bf16_edges(void **state)
{
    assert_int_equal(quant_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(quant_f32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(quant_f32_to_bf16(u2f(0x3f808000u)), 0x3f80); /* tie -> even */
    assert_int_equal(quant_f32_to_bf16(u2f(0x3f818000u)), 0x3f82); /* tie -> even (up) */
    assert_int_equal(quant_f32_to_bf16(u2f(0x3f808001u)), 0x3f81);
    assert_int_equal(quant_f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(quant_f32_to_bf16(u2f(0x7f7f8000u)), 0x7f80); /* max rounds to inf */
    assert_int_equal(quant_f32_to_bf16(u2f(0x00008000u)), 0x0000); /* subnormal tie */
    assert_int_equal(quant_f32_to_bf16(u2f(0x00018000u)), 0x0002);
    uint16_t n = quant_f32_to_bf16(u2f(0x7f800001u)); /* NaN with low payload stays NaN */
    assert_true(isnan(quant_bf16_to_f32(n)));
    assert_true(isnan(quant_bf16_to_f32(quant_f32_to_bf16(-NAN))));
    assert_int_equal(f2u(quant_bf16_to_f32(0x3f80)), 0x3f800000u);
    for (uint32_t h = 0; h < 65536; h++) {
        float f = quant_bf16_to_f32((uint16_t)h);
        if (!isnan(f) && quant_f32_to_bf16(f) != h)
            fail_msg("bf16 0x%04x round trip", h);
    }
}

/* ---- round trips ---------------------------------------------------------------------- */

/* RMS error / RMS value of quantize -> dequantize on normal data with outliers. */
static double roundtrip_rel_rmse(int type, const float *x, int64_t n)
{
    const struct quant_traits *t = quant_traits_of(type);
    size_t bytes;
    assert_true(quant_row_bytes(type, n, &bytes));
    void *q = malloc(bytes);
    float *y = malloc((size_t)n * sizeof(float));
    assert_non_null(q);
    assert_non_null(y);
    t->quantize(x, q, n);
    t->dequantize(q, y, n);
    double se = 0, sx = 0;
    for (int64_t i = 0; i < n; i++) {
        se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        sx += (double)x[i] * x[i];
    }
    free(q);
    free(y);
    return sqrt(se / sx);
}

static void test_roundtrip(void **state)
{
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof(float));
    assert_non_null(x);
    for (int i = 0; i < N; i++)
        x[i] = tu_rnd_normal(&rng_state) * (i % 97 == 0 ? 4.0f : 1.0f) * 0.02f;
    /* Budgets: a little above what each type gives on this data (RMS error relative to
     * RMS value); measured values in the comments. */
    static const struct {
        int type;
        double max_rel;
    } budget[] = {
        {QUANT_TYPE_F32, 0.0},   {QUANT_TYPE_F16, 4e-4},   {QUANT_TYPE_BF16, 3e-3},
        {QUANT_TYPE_Q8_0, 0.01}, {QUANT_TYPE_Q4_0, 0.14},  {QUANT_TYPE_Q4_1, 0.12},
        {QUANT_TYPE_Q5_0, 0.07}, {QUANT_TYPE_Q5_1, 0.06},  {QUANT_TYPE_Q8_K, 0.015},
        {QUANT_TYPE_Q4_K, 0.11}, {QUANT_TYPE_Q5_K, 0.055}, {QUANT_TYPE_Q6_K, 0.03},
    };
    for (size_t i = 0; i < sizeof(budget) / sizeof(budget[0]); i++) {
        double e = roundtrip_rel_rmse(budget[i].type, x, N);
        print_message("round trip %-5s rel rmse %.5f (budget %.4f)\n",
                      quant_traits_of(budget[i].type)->name, e, budget[i].max_rel);
        assert_true(e <= budget[i].max_rel);
    }
    /* all-zero and constant blocks must not produce NaN */
    memset(x, 0, N * sizeof(float));
    for (size_t i = 0; i < sizeof(budget) / sizeof(budget[0]); i++) {
        const struct quant_traits *t = quant_traits_of(budget[i].type);
        size_t bytes;
        assert_true(quant_row_bytes(budget[i].type, 256, &bytes));
        void *q = malloc(bytes);
        float y[256];
        for (int k = 0; k < 256; k++)
            x[k] = k < 128 ? 0.0f : 0.5f;
        t->quantize(x, q, 256);
        t->dequantize(q, y, 256);
        for (int k = 0; k < 256; k++)
            assert_true(isfinite(y[k]) && fabsf(y[k] - x[k]) <= 0.5f * 0.07f + 1e-6f);
        free(q);
    }
    free(x);
}

/* Non-finite input (a diverged model, a corrupt file) must not crash or hit undefined
 * float-to-int conversions; finite blocks next to it are unaffected. */
static void test_nonfinite(void **state)
{
    static const int types[] = {QUANT_TYPE_F16,  QUANT_TYPE_BF16, QUANT_TYPE_Q4_0, QUANT_TYPE_Q4_1,
                                QUANT_TYPE_Q5_0, QUANT_TYPE_Q5_1, QUANT_TYPE_Q8_0, QUANT_TYPE_Q8_K,
                                QUANT_TYPE_Q4_K, QUANT_TYPE_Q5_K, QUANT_TYPE_Q6_K};
    float x[512], y[512];
    for (int i = 0; i < 512; i++)
        x[i] = tu_rnd_normal(&rng_state);
    x[3] = NAN;
    x[40] = INFINITY;
    x[100] = -INFINITY;
    x[200] = 3e38f;
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        const struct quant_traits *t = quant_traits_of(types[k]);
        size_t bytes;
        assert_true(quant_row_bytes(types[k], 512, &bytes));
        uint8_t *q = malloc(bytes);
        t->quantize(x, q, 512);
        t->dequantize(q, y, 512);
        /* the second half (256..511) holds only normal values */
        double se = 0, sx = 0;
        for (int i = 256; i < 512; i++) {
            se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
            sx += (double)x[i] * x[i];
        }
        assert_true(sqrt(se / sx) < 0.15);
        free(q);
    }
}

/* Rows spread over threads give the same bytes as one thread and as the row function. */
static void test_quantize_rows(void **state)
{
    enum { R = 37, C = 512 };
    float *x = malloc(sizeof(float) * R * C);
    for (int i = 0; i < R * C; i++)
        x[i] = tu_rnd_normal(&rng_state);
    static const int types[] = {QUANT_TYPE_Q4_K, QUANT_TYPE_Q6_K, QUANT_TYPE_Q8_0, QUANT_TYPE_F16};
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        size_t rb;
        assert_true(quant_row_bytes(types[k], C, &rb));
        uint8_t *a = malloc(rb * R), *b = malloc(rb * R), *c = malloc(rb * R);
        assert_true(quant_quantize_rows(types[k], x, a, R, C, 1));
        assert_true(quant_quantize_rows(types[k], x, b, R, C, 3));
        quant_traits_of(types[k])->quantize(x, c, (int64_t)R * C);
        assert_memory_equal(a, b, rb * R);
        assert_memory_equal(a, c, rb * R);
        free(a);
        free(b);
        free(c);
    }
    assert_false(quant_quantize_rows(QUANT_TYPE_Q4_K, x, NULL, 1, 100, 1));
    assert_false(quant_quantize_rows(QUANT_TYPE_Q2_K, x, NULL, 1, 256, 1));
    free(x);
}

/* ---- fixtures --------------------------------------------------------------------------- */

struct fx_tensor {
    char name[96];
    int type;
    int64_t ne0, ne1;
    size_t offset, n_bytes;
};

/* Tensors of one file in the manifest (2-D ones only when two_d). */
static int fx_tensors(const json_t *manifest, const char *file, struct fx_tensor *out, int max)
{
    const json_t *f = json_object_get(manifest, file);
    const json_t *ts = f ? json_object_get(f, "tensors") : NULL;
    if (!ts)
        return -1;
    int n = 0;
    size_t i;
    const json_t *t;
    json_array_foreach(ts, i, t)
    {
        if (n >= max)
            break;
        const json_t *ne = json_object_get(t, "ne");
        struct fx_tensor *o = &out[n++];
        snprintf(o->name, sizeof(o->name), "%s", jsn_str(t, "name", ""));
        o->type = quant_type_from_name(jsn_str(t, "type", ""));
        o->ne0 = json_integer_value(json_array_get(ne, 0));
        o->ne1 = json_array_size(ne) > 1 ? json_integer_value(json_array_get(ne, 1)) : 1;
        o->offset = (size_t)jsn_int(t, "offset", 0);
        o->n_bytes = (size_t)jsn_int(t, "n_bytes", 0);
    }
    return n;
}

struct fx {
    json_t *manifest;
    char dir[512];
};

static int fx_open(struct fx *fx, const char *rel)
{
    char path[600];
    const char *d = tu_shared(rel);
    if (!d)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "%s", d);
    snprintf(path, sizeof(path), "%s/gguf-manifest.json", d);
    struct assay_error err;
    err_clear(&err);
    if (jsn_load_file(&fx->manifest, path, &err) != 0)
        return -1;
    return 0;
}

static int fx_map(struct fx *fx, const char *file, struct file_map *fm)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", fx->dir, file);
    struct assay_error err;
    err_clear(&err);
    return file_map(fm, path, &err);
}

static const struct fx_tensor *fx_find(const struct fx_tensor *ts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0)
            return &ts[i];
    return NULL;
}

/* Float32 copy of a tensor from a mapped file (any dequantizable type). */
static float *fx_floats(const struct file_map *fm, const struct fx_tensor *t)
{
    const struct quant_traits *tr = quant_traits_of(t->type);
    size_t bytes;
    assert_non_null(tr);
    assert_true(quant_row_bytes(t->type, t->ne0 * t->ne1, &bytes));
    assert_int_equal(bytes, t->n_bytes);
    assert_true(t->offset + t->n_bytes <= fm->size);
    float *v = malloc((size_t)(t->ne0 * t->ne1) * sizeof(float));
    assert_non_null(v);
    tr->dequantize(fm->data + t->offset, v, t->ne0 * t->ne1);
    return v;
}

#define FX_MAX 128

static void test_fixture_offsets_absolute(void **state)
{
    struct fx fx;
    const char *rel = "fixtures/models/gemma2-tiny";
    if (fx_open(&fx, rel) != 0)
        TU_SKIP_IF_MISSING(NULL, rel);
    struct fx_tensor t32[FX_MAX], t16[FX_MAX], tb[FX_MAX];
    int n32 = fx_tensors(fx.manifest, "gemma2-tiny-F32.gguf", t32, FX_MAX);
    int n16 = fx_tensors(fx.manifest, "gemma2-tiny-F16.gguf", t16, FX_MAX);
    int nb = fx_tensors(fx.manifest, "gemma2-tiny-BF16.gguf", tb, FX_MAX);
    assert_true(n32 > 10 && n16 == n32 && nb == n32);
    struct file_map m32 = {0}, m16 = {0}, mb = {0};
    assert_int_equal(fx_map(&fx, "gemma2-tiny-F32.gguf", &m32), 0);
    assert_int_equal(fx_map(&fx, "gemma2-tiny-F16.gguf", &m16), 0);
    assert_int_equal(fx_map(&fx, "gemma2-tiny-BF16.gguf", &mb), 0);
    int n_checked = 0;
    for (int i = 0; i < n32; i++) {
        const struct fx_tensor *a = &t32[i], *b = fx_find(t16, n16, a->name),
                               *c = fx_find(tb, nb, a->name);
        assert_non_null(b);
        assert_non_null(c);
        if (b->type != QUANT_TYPE_F16)
            continue;
        /* weights are bf16-exact: F32, F16 and BF16 copies hold the same numbers, and
         * our F16/BF16 quantizers must reproduce the converter's bytes */
        int64_t n = a->ne0 * a->ne1;
        float *x = fx_floats(&m32, a), *y = fx_floats(&m16, b), *z = fx_floats(&mb, c);
        assert_memory_equal(x, y, (size_t)n * sizeof(float));
        assert_memory_equal(x, z, (size_t)n * sizeof(float));
        uint16_t *h = malloc((size_t)n * 2);
        quant_traits_of(QUANT_TYPE_F16)->quantize(x, h, n);
        assert_memory_equal(h, m16.data + b->offset, (size_t)n * 2);
        quant_traits_of(QUANT_TYPE_BF16)->quantize(x, h, n);
        assert_memory_equal(h, mb.data + c->offset, (size_t)n * 2);
        free(h);
        free(x);
        free(y);
        free(z);
        n_checked++;
    }
    assert_true(n_checked >= 10);
    file_unmap(&m32);
    file_unmap(&m16);
    file_unmap(&mb);
    json_decref(fx.manifest);
}

/* Quantize every 2-D tensor of `src_file` (any float type) to the type of the same tensor
 * in `dst_file` and compare bytes. Returns the number of tensors compared. */
static int check_bytes_exact(struct fx *fx, const char *src_file, const char *dst_file)
{
    struct fx_tensor ts[FX_MAX], td[FX_MAX];
    int ns = fx_tensors(fx->manifest, src_file, ts, FX_MAX);
    int nd = fx_tensors(fx->manifest, dst_file, td, FX_MAX);
    assert_true(ns > 0 && nd == ns);
    struct file_map ms = {0}, md = {0};
    assert_int_equal(fx_map(fx, src_file, &ms), 0);
    assert_int_equal(fx_map(fx, dst_file, &md), 0);
    int n_cmp = 0;
    for (int i = 0; i < nd; i++) {
        const struct fx_tensor *d = &td[i], *s = fx_find(ts, ns, d->name);
        assert_non_null(s);
        if (d->type == QUANT_TYPE_F32 || d->ne1 == 1)
            continue;
        float *x = fx_floats(&ms, s);
        const struct quant_traits *tr = quant_traits_of(d->type);
        assert_non_null(tr->quantize);
        uint8_t *q = malloc(d->n_bytes);
        tr->quantize(x, q, d->ne0 * d->ne1);
        assert_true(d->offset + d->n_bytes <= md.size);
        if (memcmp(q, md.data + d->offset, d->n_bytes) != 0) {
            size_t k = 0;
            while (q[k] == md.data[d->offset + k])
                k++;
            fail_msg("%s: tensor '%s' (%s): first differing byte %zu: got 0x%02x want 0x%02x",
                     dst_file, d->name, tr->name, k, q[k], md.data[d->offset + k]);
        }
        free(q);
        free(x);
        n_cmp++;
    }
    file_unmap(&ms);
    file_unmap(&md);
    return n_cmp;
}

static void test_fixture_quantize_exact(void **state)
{
    struct fx fx;
    const char *rel = "fixtures/models/gemma2-tiny";
    if (fx_open(&fx, rel) != 0)
        TU_SKIP_IF_MISSING(NULL, rel);
    static const char *files[] = {"gemma2-tiny-Q8_0.gguf", "gemma2-tiny-Q4_0.gguf",
                                  "gemma2-tiny-Q4_1.gguf", "gemma2-tiny-Q5_0.gguf",
                                  "gemma2-tiny-Q5_1.gguf"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        int n = check_bytes_exact(&fx, "gemma2-tiny-F32.gguf", files[i]);
        print_message("%s: %d tensors byte-identical\n", files[i], n);
        assert_true(n >= 10);
    }
    json_decref(fx.manifest);

    /* gemma-tiny has no F32 file, but its F16 weights are exact, so they serve */
    rel = "fixtures/models/gemma-tiny";
    if (fx_open(&fx, rel) != 0)
        TU_SKIP_IF_MISSING(NULL, rel);
    static const char *files1[] = {"gemma-tiny-Q8_0.gguf", "gemma-tiny-Q4_0.gguf"};
    for (size_t i = 0; i < sizeof(files1) / sizeof(files1[0]); i++) {
        int n = check_bytes_exact(&fx, "gemma-tiny-F16.gguf", files1[i]);
        print_message("%s: %d tensors byte-identical\n", files1[i], n);
        assert_true(n >= 10);
    }
    json_decref(fx.manifest);
}

/* Dequantized tensors of each quantized file against the float weights: RMS error
 * relative to RMS weight under a per-type bound. A layout mistake (nibble order, scale
 * packing) gives errors of order 1, far above these. Our own K-quantizers must do about
 * as well as llama-quantize on the same tensors. */
static void check_dequant_error(struct fx *fx, const char *f_file, const char *q_file,
                                double budget, double our_slack)
{
    struct fx_tensor tf[FX_MAX], tq[FX_MAX];
    int nf = fx_tensors(fx->manifest, f_file, tf, FX_MAX);
    int nq = fx_tensors(fx->manifest, q_file, tq, FX_MAX);
    assert_true(nf > 0 && nq == nf);
    struct file_map mf = {0}, mq = {0};
    assert_int_equal(fx_map(fx, f_file, &mf), 0);
    assert_int_equal(fx_map(fx, q_file, &mq), 0);
    double se = 0, sx = 0, se_ours = 0;
    int type = -1;
    for (int i = 0; i < nq; i++) {
        const struct fx_tensor *q = &tq[i], *f = fx_find(tf, nf, q->name);
        assert_non_null(f);
        if (q->type == QUANT_TYPE_F32)
            continue;
        type = q->type;
        int64_t n = q->ne0 * q->ne1;
        float *x = fx_floats(&mf, f), *y = fx_floats(&mq, q);
        double tse = 0, tsx = 0;
        for (int64_t k = 0; k < n; k++) {
            tse += ((double)y[k] - x[k]) * ((double)y[k] - x[k]);
            tsx += (double)x[k] * x[k];
        }
        if (sqrt(tse / tsx) > budget)
            fail_msg("%s: tensor '%s': rel rmse %.4f over %.4f", q_file, q->name, sqrt(tse / tsx),
                     budget);
        se += tse;
        sx += tsx;
        /* our quantizer on the same weights */
        const struct quant_traits *tr = quant_traits_of(q->type);
        uint8_t *b = malloc(q->n_bytes);
        tr->quantize(x, b, n);
        tr->dequantize(b, y, n);
        for (int64_t k = 0; k < n; k++)
            se_ours += ((double)y[k] - x[k]) * ((double)y[k] - x[k]);
        free(b);
        free(x);
        free(y);
    }
    print_message("%s: file rel rmse %.5f, ours %.5f\n", q_file, sqrt(se / sx), sqrt(se_ours / sx));
    assert_true(type >= 0);
    assert_true(sqrt(se_ours / sx) <= sqrt(se / sx) * our_slack);
    file_unmap(&mf);
    file_unmap(&mq);
}

static void test_fixture_dequant(void **state)
{
    struct fx fx;
    const char *rel = "fixtures/models/gemma-tiny";
    if (fx_open(&fx, rel) != 0)
        TU_SKIP_IF_MISSING(NULL, rel);
    check_dequant_error(&fx, "gemma-tiny-F16.gguf", "gemma-tiny-Q8_0.gguf", 0.01, 1.0001);
    check_dequant_error(&fx, "gemma-tiny-F16.gguf", "gemma-tiny-Q4_0.gguf", 0.14, 1.0001);
    check_dequant_error(&fx, "gemma-tiny-F16.gguf", "gemma-tiny-Q4_K.gguf", 0.11, 1.10);
    check_dequant_error(&fx, "gemma-tiny-F16.gguf", "gemma-tiny-Q6_K.gguf", 0.03, 1.10);
    json_decref(fx.manifest);

    rel = "fixtures/models/gemma2-tiny";
    if (fx_open(&fx, rel) != 0)
        TU_SKIP_IF_MISSING(NULL, rel);
    check_dequant_error(&fx, "gemma2-tiny-F32.gguf", "gemma2-tiny-Q4_1.gguf", 0.12, 1.0001);
    check_dequant_error(&fx, "gemma2-tiny-F32.gguf", "gemma2-tiny-Q5_0.gguf", 0.07, 1.0001);
    check_dequant_error(&fx, "gemma2-tiny-F32.gguf", "gemma2-tiny-Q5_1.gguf", 0.06, 1.0001);
    json_decref(fx.manifest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_sizes),
        cmocka_unit_test(test_f16_edges),
        cmocka_unit_test(test_bf16_edges),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_quantize_rows),
        cmocka_unit_test(test_fixture_offsets_absolute),
        cmocka_unit_test(test_fixture_quantize_exact),
        cmocka_unit_test(test_fixture_dequant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
