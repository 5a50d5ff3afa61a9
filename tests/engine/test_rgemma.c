/*
 * tests/engine/test_rgemma.c - the RecurrentGemma forward pass against the official
 * DeepMind reference (../shared/fixtures/models/tiny-recurrentgemma): full-vocabulary
 * logits at every position (the window is 8, the sequences cross it), prefill vs token
 * by token vs odd chunk splits, bf16 weights, greedy continuations, 1 vs 2 threads,
 * a state size that does not depend on the length, and bad configs / tensors.
 *
 * The fixture's safetensors files are read by a minimal private loader below (the
 * engine's reader is engine/safetensors.c; this test only needs the tiny files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>

#include "testutil.h"
#include "base/file.h"
#include "engine/quant.h"
#include "engine/rgemma.h"

#define FIX "fixtures/models/tiny-recurrentgemma"

/* ---- a minimal safetensors reader for the fixture ------------------------------------- */

struct mini_st {
    struct file_map fm;
    json_t *hdr;
    const uint8_t *base;
    char path[1300];
    const char *bad_name; /* tests: report this tensor with a wrong shape */
};

static int mini_open(struct mini_st *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->path, sizeof(s->path), "%s", path);
    if (file_map(&s->fm, path, NULL))
        return -1;
    uint64_t n = 0;
    memcpy(&n, s->fm.data, 8);
    s->hdr = json_loadb((const char *)s->fm.data + 8, (size_t)n, 0, NULL);
    s->base = s->fm.data + 8 + n;
    return s->hdr ? 0 : -1;
}

static void mini_close(struct mini_st *s)
{
    json_decref(s->hdr);
    file_unmap(&s->fm);
}

static int mini_get(void *user, const char *name, struct rg_tensor *t, struct assay_error *err)
{
    struct mini_st *s = user;
    json_t *e = json_object_get(s->hdr, name);
    if (!e)
        return err_set_at(err, ASSAY_ENOTFOUND, s->path, 0, "tensor '%s' not found", name);
    const char *dt = json_string_value(json_object_get(e, "dtype"));
    json_t *shape = json_object_get(e, "shape");
    memset(t, 0, sizeof(*t));
    t->type = strcmp(dt, "F32") == 0 ? QUANT_TYPE_F32
              : strcmp(dt, "BF16") == 0 ? QUANT_TYPE_BF16
              : strcmp(dt, "F16") == 0 ? QUANT_TYPE_F16 : -1;
    t->n_dims = (int)json_array_size(shape);
    for (int i = 0; i < t->n_dims && i < 4; i++)
        t->shape[i] = json_integer_value(json_array_get(shape, (size_t)i));
    if (s->bad_name && strcmp(s->bad_name, name) == 0)
        t->shape[0] += 1;
    t->data = s->base + json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
    t->file = s->path;
    return 0;
}

/* ---- fixture helpers ------------------------------------------------------------------- */

struct fx {
    struct mini_st st;
    struct rg_model *m;
    struct rg_ctx *c;
    struct rg_state *s;
};

static int fx_open(struct fx *f, const char *sub, int n_threads, int32_t n_batch)
{
    char dir[1024], p[1200];
    const char *root = tu_shared(FIX);
    if (!root)
        return 1;
    snprintf(dir, sizeof(dir), "%s%s", root, sub);
    snprintf(p, sizeof(p), "%s/config.json", dir);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(&text, &len, p, 1 << 20, NULL), 0);
    struct rg_config cfg;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(rg_config_parse(&cfg, text, len, p, &err), 0);
    free(text);
    snprintf(p, sizeof(p), "%s/model.safetensors", dir);
    assert_int_equal(mini_open(&f->st, p), 0);
    struct rg_source src = {.get = mini_get, .user = &f->st};
    int rc = rg_model_new(&f->m, &cfg, &src, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    struct rg_ctx_params cp = {.n_threads = n_threads, .n_batch = n_batch, .n_logits = 64};
    assert_int_equal(rg_ctx_new(&f->c, f->m, &cp, NULL), 0);
    assert_int_equal(rg_state_new(&f->s, f->m, NULL), 0);
    return 0;
}

static void fx_close(struct fx *f)
{
    rg_state_free(f->s);
    rg_ctx_free(f->c);
    rg_model_free(f->m);
    mini_close(&f->st);
}

/* Reference logits name.kind as (T, V) floats; ids into *ids. */
static float *ref_logits(struct mini_st *ref, const char *name, const char *kind, int32_t **ids,
                         int32_t *T)
{
    char key[128];
    struct rg_tensor t;
    snprintf(key, sizeof(key), "%s.token_ids", name);
    assert_int_equal(mini_get(ref, key, &t, NULL), 0);
    *T = (int32_t)t.shape[0];
    *ids = malloc((size_t)*T * sizeof(int32_t));
    memcpy(*ids, t.data, (size_t)*T * sizeof(int32_t));
    snprintf(key, sizeof(key), "%s.%s", name, kind);
    assert_int_equal(mini_get(ref, key, &t, NULL), 0);
    size_t n = (size_t)(t.shape[0] * t.shape[1]);
    float *out = malloc(n * sizeof(float));
    memcpy(out, t.data, n * sizeof(float));
    return out;
}

/* Run ids through a fresh state in chunks of `chunk` tokens, logits for every position
 * into out (T, V). */
static void run_chunks(struct fx *f, const int32_t *ids, int32_t T, int32_t chunk, float *out)
{
    int64_t V = rg_model_config(f->m)->n_vocab;
    rg_state_reset(f->s);
    for (int32_t at = 0; at < T; at += chunk) {
        int32_t n = at + chunk <= T ? chunk : T - at;
        struct assay_error err;
        err_clear(&err);
        assert_int_equal(rg_forward(f->c, f->s, ids + at, n, 0, &err), 0);
        for (int32_t i = 0; i < n; i++)
            memcpy(out + (size_t)(at + i) * V, rg_logits(f->c, i), (size_t)V * sizeof(float));
    }
    assert_int_equal(rg_state_pos(f->s), T);
}

static double max_abs(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m))
            m = d; /* NaN propagates as a failure */
    }
    return m;
}

static const char *SEQS[] = {"long", "short", "chat"};

static void check_against(const char *sub, const char *kind)
{
    struct fx f;
    if (fx_open(&f, sub, 1, 64))
        TU_SKIP_IF_MISSING(NULL, FIX);
    struct mini_st ref;
    assert_int_equal(mini_open(&ref, tu_shared(FIX "/reference_logits.safetensors")), 0);
    int64_t V = rg_model_config(f.m)->n_vocab;
    for (size_t k = 0; k < 3; k++) {
        int32_t *ids = NULL, T = 0;
        float *want = ref_logits(&ref, SEQS[k], kind, &ids, &T);
        float *got = malloc((size_t)T * (size_t)V * sizeof(float));
        float *step = malloc((size_t)T * (size_t)V * sizeof(float));
        /* all at once; every position, including those past the window of 8 */
        run_chunks(&f, ids, T, T, got);
        double d = max_abs(got, want, (size_t)T * (size_t)V);
        fprintf(stderr, "%s %s: T=%d max abs diff %.3g\n", sub[0] ? sub : "f32", SEQS[k], T, d);
        assert_true(d <= 1e-3);
        /* token by token, and in chunks smaller than, equal to and larger than the ring of
         * window + 1 = 9 slots (ring writes across chunk ends, chunks that overwrite it) */
        int32_t chunks[] = {1, 3, 5, 9, 13};
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            run_chunks(&f, ids, T, chunks[c], step);
            double ds = max_abs(step, got, (size_t)T * (size_t)V);
            assert_true(ds <= 1e-4);
            assert_true(max_abs(step, want, (size_t)T * (size_t)V) <= 1e-3);
        }
        free(ids);
        free(want);
        free(got);
        free(step);
    }
    mini_close(&ref);
    fx_close(&f);
}

static void test_f32_logits_every_position(void **state)
{
    check_against("", "logits_full");
}

static void test_bf16_weights(void **state)
{
    check_against("/bf16", "logits_bf16w");
}

/* The official Sampler: BOS + prompt, 16 greedy steps with the carried state. */
static void test_greedy_continuations(void **state)
{
    struct fx f;
    if (fx_open(&f, "", 1, 64))
        TU_SKIP_IF_MISSING(NULL, FIX);
    json_t *ref = json_load_file(tu_shared(FIX "/reference.json"), 0, NULL);
    assert_non_null(ref);
    json_t *greedy = json_object_get(ref, "greedy");
    assert_true(json_array_size(greedy) >= 2);
    int64_t V = rg_model_config(f.m)->n_vocab;
    for (size_t g = 0; g < json_array_size(greedy); g++) {
        json_t *e = json_array_get(greedy, g);
        json_t *pr = json_object_get(e, "prompt_ids"), *gen = json_object_get(e, "generated_ids");
        int32_t ids[64];
        int32_t np = (int32_t)json_array_size(pr);
        for (int32_t i = 0; i < np; i++)
            ids[i] = (int32_t)json_integer_value(json_array_get(pr, (size_t)i));
        rg_state_reset(f.s);
        assert_int_equal(rg_forward(f.c, f.s, ids, np, np - 1, NULL), 0);
        for (size_t s = 0; s < json_array_size(gen); s++) {
            const float *l = rg_logits(f.c, 0);
            int32_t best = 0;
            for (int32_t v = 1; v < V; v++)
                if (l[v] > l[best])
                    best = v;
            assert_int_equal(best, json_integer_value(json_array_get(gen, s)));
            assert_int_equal(rg_forward(f.c, f.s, &best, 1, 0, NULL), 0);
        }
    }
    json_decref(ref);
    fx_close(&f);
}

/* Bit-identical logits for 1 and 2 threads; the state does not grow with the length. */
static void test_threads_and_state_size(void **state)
{
    struct fx a, b;
    if (fx_open(&a, "", 1, 64))
        TU_SKIP_IF_MISSING(NULL, FIX);
    assert_int_equal(fx_open(&b, "", 2, 64), 0);
    int64_t V = rg_model_config(a.m)->n_vocab;
    int32_t ids[50];
    for (int i = 0; i < 50; i++)
        ids[i] = (int32_t)((i * 37 + 11) % V);
    ids[0] = 2;
    float *la = malloc(50 * (size_t)V * sizeof(float)), *lb = malloc(50 * (size_t)V * sizeof(float));
    run_chunks(&a, ids, 50, 50, la);
    run_chunks(&b, ids, 50, 50, lb);
    assert_memory_equal(la, lb, 50 * (size_t)V * sizeof(float));
    run_chunks(&a, ids, 50, 1, la);
    run_chunks(&b, ids, 50, 1, lb);
    assert_memory_equal(la, lb, 50 * (size_t)V * sizeof(float));
    /* 4 recurrent layers x (h + 3 conv rows) x 64 + 2 attention layers x K,V x 9 x 32 */
    size_t floats = 4 * 4 * 64 + 2 * 2 * 9 * 32;
    size_t bytes = rg_state_bytes(a.m);
    assert_true(bytes >= floats * sizeof(float) && bytes < floats * sizeof(float) + 64);
    /* a saved state continues exactly like the original */
    struct rg_state *saved = NULL;
    assert_int_equal(rg_state_new(&saved, a.m, NULL), 0);
    rg_state_reset(a.s);
    assert_int_equal(rg_forward(a.c, a.s, ids, 20, 20, NULL), 0);
    rg_state_copy(saved, a.s);
    assert_int_equal(rg_forward(a.c, a.s, ids + 20, 30, 0, NULL), 0);
    memcpy(lb, rg_logits(a.c, 29), (size_t)V * sizeof(float));
    assert_int_equal(rg_forward(a.c, saved, ids + 20, 30, 0, NULL), 0);
    assert_memory_equal(lb, rg_logits(a.c, 29), (size_t)V * sizeof(float));
    assert_memory_equal(lb, la + 49 * (size_t)V, (size_t)V * sizeof(float));
    rg_state_free(saved);
    free(la);
    free(lb);
    fx_close(&a);
    fx_close(&b);
}

static void test_bad_config(void **state)
{
    struct rg_config c;
    struct assay_error err;
    const char *cases[][2] = {
        {"{\"model_type\": \"gemma\"}", "not recurrent_gemma"},
        {"{\"model_type\": \"recurrent_gemma\"}", "'vocab_size' is missing"},
        {"[1,2]", "not a JSON object"},
        {"{\"model_type\": \"recurrent_gemma\", \"vocab_size\": 10, \"hidden_size\": 64, "
         "\"intermediate_size\": 10, \"num_hidden_layers\": 2, \"num_attention_heads\": 3, "
         "\"attention_window_size\": 4, \"block_types\": [\"recurrent\"]}",
         "heads do not fit"},
        {"{\"model_type\": \"recurrent_gemma\", \"vocab_size\": 10, \"hidden_size\": 64, "
         "\"intermediate_size\": 10, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
         "\"attention_window_size\": 4, \"block_types\": [\"mamba\"]}",
         "'block_types'[0]"},
        {"{\"model_type\": \"recurrent_gemma\", \"vocab_size\": -3}", "out of range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err_clear(&err);
        int rc = rg_config_parse(&c, cases[i][0], strlen(cases[i][0]), "x/config.json", &err);
        assert_true(rc < 0);
        if (!strstr(err.msg, cases[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i][1]);
        assert_string_equal(err.path, "x/config.json");
    }
}

static void test_bad_tensor(void **state)
{
    const char *root = tu_shared(FIX);
    TU_SKIP_IF_MISSING(root, FIX);
    char p[1200];
    snprintf(p, sizeof(p), "%s/config.json", root);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(&text, &len, p, 1 << 20, NULL), 0);
    struct rg_config cfg;
    assert_int_equal(rg_config_parse(&cfg, text, len, p, NULL), 0);
    free(text);
    snprintf(p, sizeof(p), "%s/model.safetensors", tu_shared(FIX));
    struct mini_st st;
    assert_int_equal(mini_open(&st, p), 0);
    struct rg_source src = {.get = mini_get, .user = &st};
    struct rg_model *m = NULL;
    struct assay_error err;
    /* a tensor of the wrong shape */
    st.bad_name = "model.layers.4.temporal_block.conv_1d.weight";
    err_clear(&err);
    assert_int_equal(rg_model_new(&m, &cfg, &src, &err), ASSAY_EINVAL);
    assert_null(m);
    assert_non_null(strstr(err.msg, "model.layers.4.temporal_block.conv_1d.weight"));
    assert_non_null(strstr(err.msg, "[65, 1, 4], expected [64, 1, 4]"));
    assert_string_equal(err.path, p);
    /* a layer the file lacks */
    st.bad_name = NULL;
    cfg.n_layer = 7;
    cfg.block[6] = RG_BLOCK_RECURRENT;
    err_clear(&err);
    assert_int_equal(rg_model_new(&m, &cfg, &src, &err), ASSAY_ENOTFOUND);
    assert_non_null(strstr(err.msg, "model.layers.6."));
    mini_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32_logits_every_position),
        cmocka_unit_test(test_bf16_weights),
        cmocka_unit_test(test_greedy_continuations),
        cmocka_unit_test(test_threads_and_state_size),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_bad_tensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
