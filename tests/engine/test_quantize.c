/*
 * tests/engine/test_quantize.c - `assay quantize`'s engine: quantizing the F32 fixture
 * with --pure reproduces the tensors of the fixture files made by gguf-py / llama-quantize
 * byte for byte (legacy types, F16, BF16); the mixed recipes pick llama.cpp's types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "engine/gguf.h"
#include "engine/quant.h"
#include "engine/quantize.h"

static void check_same_tensors(const char *ours, const char *ref)
{
    struct gguf *a = NULL, *b = NULL;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(gguf_open(&a, ours, &e), 0);
    assert_int_equal(gguf_open(&b, ref, &e), 0);
    assert_int_equal(gguf_n_tensors(a), gguf_n_tensors(b));
    for (size_t i = 0; i < gguf_n_tensors(b); i++) {
        const struct gguf_tensor *tb = gguf_tensor_at(b, i);
        const struct gguf_tensor *ta = gguf_find_tensor(a, tb->name);
        assert_non_null(ta);
        if (ta->type != tb->type || ta->n_bytes != tb->n_bytes ||
            memcmp(ta->data, tb->data, tb->n_bytes) != 0) {
            fprintf(stderr, "%s: tensor '%s' differs (type %d vs %d)\n", ref, tb->name, ta->type,
                    tb->type);
            fail();
        }
    }
    /* general.file_type says what the file is */
    uint32_t fa = 0, fb = 1;
    assert_int_equal(gguf_get_u32(a, "general.file_type", &fa, NULL), 0);
    assert_int_equal(gguf_get_u32(b, "general.file_type", &fb, NULL), 0);
    assert_int_equal(fa, fb);
    gguf_close(a);
    gguf_close(b);
}

static void test_pure_matches_fixtures(void **state)
{
    const char *f32p = tu_shared("fixtures/models/gemma2-tiny/gemma2-tiny-F32.gguf");
    TU_SKIP_IF_MISSING(f32p, "fixtures/models/gemma2-tiny/gemma2-tiny-F32.gguf");
    char f32[1024]; /* tu_shared's buffer is reused by later calls */
    snprintf(f32, sizeof(f32), "%s", f32p);
    const char *dir = tu_tmpdir();
    const char *types[] = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "F16", "BF16"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char rel[256], out[1200];
        snprintf(rel, sizeof(rel), "fixtures/models/gemma2-tiny/gemma2-tiny-%s.gguf", types[i]);
        const char *ref = tu_shared(rel);
        assert_non_null(ref);
        snprintf(out, sizeof(out), "%s/%s.gguf", dir, types[i]);
        struct quantize_stats st;
        struct assay_error e;
        err_clear(&e);
        const struct quantize_recipe *r = quantize_recipe_find(types[i]);
        assert_non_null(r);
        assert_int_equal(quantize_file(f32, out, r, QUANTIZE_PURE, 2, NULL, &st, &e), 0);
        check_same_tensors(out, ref);
        unlink(out);
    }
}

static void test_mixed_recipe_types(void **state)
{
    /* gemma-tiny has width 256, so K-quants apply without fallback */
    const char *f16 = tu_shared("fixtures/models/gemma-tiny/gemma-tiny-F16.gguf");
    TU_SKIP_IF_MISSING(f16, "fixtures/models/gemma-tiny/gemma-tiny-F16.gguf");
    const char *dir = tu_tmpdir();
    char out[1200];
    snprintf(out, sizeof(out), "%s/q4km.gguf", dir);
    struct quantize_stats st;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(quantize_file(f16, out, quantize_recipe_find("q4_k_m"), 0, 2, NULL, &st, &e), 0);
    struct gguf *g = NULL;
    assert_int_equal(gguf_open(&g, out, &e), 0);
    /* tied embedding -> Q6_K; 2 layers: use_more_bits(0, 2) is false, (1, 2) true */
    assert_int_equal(gguf_find_tensor(g, "token_embd.weight")->type, QUANT_TYPE_Q6_K);
    assert_int_equal(gguf_find_tensor(g, "blk.0.attn_v.weight")->type, QUANT_TYPE_Q4_K);
    assert_int_equal(gguf_find_tensor(g, "blk.1.attn_v.weight")->type, QUANT_TYPE_Q6_K);
    assert_int_equal(gguf_find_tensor(g, "blk.0.ffn_down.weight")->type, QUANT_TYPE_Q4_K);
    assert_int_equal(gguf_find_tensor(g, "blk.1.ffn_down.weight")->type, QUANT_TYPE_Q6_K);
    assert_int_equal(gguf_find_tensor(g, "blk.0.attn_q.weight")->type, QUANT_TYPE_Q4_K);
    assert_int_equal(gguf_find_tensor(g, "blk.0.attn_norm.weight")->type, QUANT_TYPE_F32);
    uint32_t ft = 0;
    assert_int_equal(gguf_get_u32(g, "general.file_type", &ft, NULL), 0);
    assert_int_equal(ft, 15);
    gguf_close(g);
    unlink(out);
    assert_null(quantize_recipe_find("Q3_XYZ"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure_matches_fixtures),
        cmocka_unit_test(test_mixed_recipe_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
