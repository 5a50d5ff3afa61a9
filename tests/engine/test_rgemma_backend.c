/*
 * tests/engine/test_rgemma_backend.c - the RecurrentGemma backend on the official
 * reference fixture (../shared/fixtures/models/tiny-recurrentgemma): loglikelihood
 * against the reference log-probs, with and without the saved-state prefix cache,
 * greedy generation against the official Sampler, rolling windows, tokenizing, and
 * directories that are wrong in the ways issue 9 lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>

#include "testutil.h"
#include "engine/backend_rg.h"

#define FIX "fixtures/models/tiny-recurrentgemma"

static struct backend *open_fix(const char *sub, bool no_cache, int32_t n_ctx)
{
    const char *root = tu_shared(FIX);
    if (!root)
        return NULL;
    char dir[1200];
    snprintf(dir, sizeof(dir), "%s%s", root, sub);
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = 1;
    p.n_ctx = n_ctx;
    p.n_batch = 16; /* small, so that inputs span several chunks */
    p.no_prefix_cache = no_cache;
    struct backend *b = NULL;
    struct assay_error err;
    err_clear(&err);
    int rc = backend_rg_open(&b, dir, &p, &err);
    if (rc)
        fail_msg("open %s: %s: %s", dir, err.path, err.msg);
    return b;
}

static void test_loglikelihood_reference(void **state)
{
    struct backend *b = open_fix("", false, 0);
    TU_SKIP_IF_MISSING(b, FIX);
    struct backend *nc = open_fix("", true, 0);
    json_t *ref = json_load_file(tu_shared(FIX "/reference.json"), 0, NULL);
    json_t *ll = json_object_get(ref, "loglikelihood");
    size_t n = json_array_size(ll);
    assert_true(n >= 2);
    /* each reference request, plus the same contexts with a second continuation so that
     * the saved state is used */
    struct bk_ll_req reqs[16];
    struct bk_ll_res res[16], res2[16];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ll, i);
        const char *c = json_string_value(json_object_get(e, "context_text"));
        const char *t = json_string_value(json_object_get(e, "continuation_text"));
        reqs[k++] = (struct bk_ll_req){.context = {.text = c, .len = strlen(c)},
                                       .continuation = {.text = t, .len = strlen(t)}};
        reqs[k++] = (struct bk_ll_req){.context = {.text = c, .len = strlen(c)},
                                       .continuation = {.text = " no", .len = 3}};
    }
    assert_int_equal(backend_loglikelihood(b, reqs, k, res, NULL, NULL), 0);
    assert_int_equal(backend_loglikelihood(nc, reqs, k, res2, NULL, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ll, i);
        double want = json_real_value(json_object_get(e, "sum_logprob"));
        struct bk_ll_res *r = &res[2 * i];
        fprintf(stderr, "ll %zu: %.6f vs reference %.6f\n", i, r->logprob, want);
        assert_int_equal(r->error, 0);
        assert_true(fabs(r->logprob - want) <= 1e-3);
        assert_int_equal(r->n_tokens, json_array_size(json_object_get(e, "continuation_ids")));
        assert_int_equal(r->is_greedy, json_is_true(json_object_get(e, "is_greedy")));
    }
    for (size_t i = 0; i < k; i++) {
        assert_true(fabs(res[i].logprob - res2[i].logprob) <= 1e-4);
        assert_int_equal(res[i].is_greedy, res2[i].is_greedy);
    }
    struct backend_local_stats st, st2;
    backend_rg_stats(b, &st);
    backend_rg_stats(nc, &st2);
    assert_true(st.n_reused_tokens > 0);
    assert_int_equal(st2.n_reused_tokens, 0);
    assert_true(st.n_eval_tokens < st2.n_eval_tokens);
    json_decref(ref);
    backend_free(b);
    backend_free(nc);
}

static void test_greedy_generate(void **state)
{
    struct backend *b = open_fix("", false, 0);
    TU_SKIP_IF_MISSING(b, FIX);
    json_t *ref = json_load_file(tu_shared(FIX "/reference.json"), 0, NULL);
    json_t *greedy = json_object_get(ref, "greedy");
    for (size_t g = 0; g < json_array_size(greedy); g++) {
        json_t *e = json_array_get(greedy, g);
        const char *prompt = json_string_value(json_object_get(e, "prompt_text"));
        json_t *gen = json_object_get(e, "generated_ids");
        struct bk_gen_req r = {.prompt = {.text = prompt, .len = strlen(prompt)},
                               .max_tokens = (int32_t)json_array_size(gen),
                               .sampling = {.temperature = 0, .top_p = 1}, .stop_at_eos = false};
        struct bk_gen_res out;
        assert_int_equal(backend_generate(b, &r, 1, &out, NULL, NULL), 0);
        assert_int_equal(out.error, 0);
        assert_int_equal(out.finish, BK_FINISH_LENGTH);
        assert_int_equal(out.n_ids, json_array_size(gen));
        for (int32_t i = 0; i < out.n_ids; i++)
            assert_int_equal(out.ids[i], json_integer_value(json_array_get(gen, (size_t)i)));
        assert_string_equal(out.text,
                            json_string_value(json_object_get(e, "generated_text")));
        bk_gen_res_release(&out);
        /* sampling with a seed is reproducible */
        r.sampling = (struct smp_params){.temperature = 1.0f, .top_k = 40, .top_p = 0.9f};
        r.seed = 7;
        struct bk_gen_res s1, s2;
        assert_int_equal(backend_generate(b, &r, 1, &s1, NULL, NULL), 0);
        assert_int_equal(backend_generate(b, &r, 1, &s2, NULL, NULL), 0);
        assert_int_equal(s1.n_ids, s2.n_ids);
        assert_memory_equal(s1.ids, s2.ids, (size_t)s1.n_ids * sizeof(int32_t));
        bk_gen_res_release(&s1);
        bk_gen_res_release(&s2);
    }
    json_decref(ref);
    backend_free(b);
}

/* Rolling log-likelihood in one window equals loglikelihood(empty context, text); with
 * small windows every token is still scored once. */
static void test_rolling(void **state)
{
    struct backend *b = open_fix("", false, 0);
    TU_SKIP_IF_MISSING(b, FIX);
    struct backend *small = open_fix("", false, 8);
    const char *text = "The quick brown fox jumps over the lazy dog. Recurrent models carry";
    struct bk_rolling_req rr = {.text = {.text = text, .len = strlen(text)}};
    struct bk_rolling_res r1, r2;
    assert_int_equal(backend_loglikelihood_rolling(b, &rr, 1, &r1, NULL, NULL), 0);
    assert_int_equal(backend_loglikelihood_rolling(small, &rr, 1, &r2, NULL, NULL), 0);
    assert_int_equal(r1.error, 0);
    assert_true(r1.n_tokens > 8);
    assert_int_equal(r1.n_tokens, r2.n_tokens);
    struct bk_ll_req lr = {.context = {.text = "", .len = 0},
                           .continuation = {.text = text, .len = strlen(text)}};
    struct bk_ll_res l;
    assert_int_equal(backend_loglikelihood(b, &lr, 1, &l, NULL, NULL), 0);
    assert_int_equal(l.n_tokens, r1.n_tokens);
    assert_true(fabs(l.logprob - r1.logprob) <= 1e-6);
    double sum = 0;
    for (int32_t i = 0; i < r1.n_tokens; i++)
        sum += r1.token_logprobs[i];
    assert_true(fabs(sum - r1.logprob) <= 1e-9);
    /* the first window's tokens see the same history in both */
    for (int32_t i = 0; i < 8; i++)
        assert_true(fabs(r1.token_logprobs[i] - r2.token_logprobs[i]) <= 1e-4);
    assert_true(fabs(r1.logprob - r2.logprob) > 1e-3); /* later windows forget */
    bk_rolling_res_release(&r1);
    bk_rolling_res_release(&r2);
    backend_free(b);
    backend_free(small);
}

static void test_tokenize_info(void **state)
{
    struct backend *b = open_fix("/bf16", false, 0);
    TU_SKIP_IF_MISSING(b, FIX);
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(backend_tokenize(b, "Once upon a time", 16, BK_TOK_ADD_BOS, &ids, &n, NULL),
                     0);
    int32_t want[] = {2, 2022, 1984, 307, 1395, 273, 275, 580};
    assert_int_equal(n, 8);
    assert_memory_equal(ids, want, sizeof(want));
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(backend_detokenize(b, ids, n, &text, &len, NULL), 0);
    assert_string_equal(text, "Once upon a time");
    free(text);
    free(ids);
    struct backend_info in;
    backend_info(b, &in);
    assert_string_equal(in.architecture, "recurrent_gemma");
    assert_string_equal(in.quantization, "BF16");
    assert_int_equal(in.n_vocab, 2048);
    assert_int_equal(in.bos_id, 2);
    assert_int_equal(in.eos_id, 1);
    assert_true(in.n_params > 400000 && in.n_params < 460000);
    size_t sb = backend_rg_state_bytes(b);
    fprintf(stderr, "state per sequence: %zu bytes\n", sb);
    /* 4 recurrent layers x (h + 3 conv rows) x 64 + 2 attention layers x K,V x 9 x 32 */
    assert_true(sb >= 8704 && sb < 8704 + 64);
    backend_free(b);
}

/* ---- bad directories ---------------------------------------------------------------- */

static void put(const char *dir, const char *name, const char *text)
{
    char p[1200];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void link_fix(const char *dir, const char *name)
{
    char from[1200], to[1200];
    snprintf(from, sizeof(from), "%s/%s", tu_shared(FIX), name);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    assert_int_equal(symlink(from, to), 0);
}

static int open_dir(const char *dir, struct assay_error *err)
{
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = 1;
    struct backend *b = NULL;
    err_clear(err);
    int rc = backend_rg_open(&b, dir, &p, err);
    assert_null(b);
    return rc;
}

static void test_bad_dirs(void **state)
{
    TU_SKIP_IF_MISSING(tu_shared(FIX), FIX);
    char cfg[4096];
    {
        FILE *f = fopen(tu_shared(FIX "/config.json"), "r");
        assert_non_null(f);
        size_t n = fread(cfg, 1, sizeof(cfg) - 1, f);
        cfg[n] = 0;
        fclose(f);
    }
    struct assay_error err;
    /* no config.json */
    char d1[1024];
    snprintf(d1, sizeof(d1), "%s", tu_tmpdir());
    assert_int_equal(open_dir(d1, &err), ASSAY_ENOTFOUND);
    assert_non_null(strstr(err.path, "config.json"));
    assert_false(backend_rg_is_dir(d1));
    /* another model_type */
    put(d1, "config.json", "{\"model_type\": \"mamba\"}");
    assert_int_equal(open_dir(d1, &err), ASSAY_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "mamba"));
    /* a shard listed in the index but missing */
    char d2[1024];
    snprintf(d2, sizeof(d2), "%s", tu_tmpdir());
    put(d2, "config.json", cfg);
    assert_true(backend_rg_is_dir(d2));
    link_fix(d2, "tokenizer.model");
    put(d2, "model.safetensors.index.json",
        "{\"metadata\": {}, \"weight_map\": {\"model.embed_tokens.weight\": "
        "\"model-00001-of-00001.safetensors\"}}");
    int rc = open_dir(d2, &err);
    assert_int_equal(err_exit_status(rc), 3); /* the issue asks for exit 3 */
    assert_true(strstr(err.msg, "model-00001-of-00001.safetensors") ||
                strstr(err.path, "model-00001-of-00001.safetensors"));
    /* a tensor of the wrong shape: the config says 2047 tokens, the file has 2048 */
    char d3[1024];
    snprintf(d3, sizeof(d3), "%s", tu_tmpdir());
    char *at = strstr(cfg, "\"vocab_size\": 2048");
    assert_non_null(at);
    memcpy(at, "\"vocab_size\": 2047", 18);
    put(d3, "config.json", cfg);
    link_fix(d3, "tokenizer.model");
    link_fix(d3, "model.safetensors");
    assert_int_equal(open_dir(d3, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "tensor 'model.embed_tokens.weight': shape [2048, 64], "
                                     "expected [2047, 64]"));
    assert_non_null(strstr(err.path, "model.safetensors"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loglikelihood_reference),
        cmocka_unit_test(test_greedy_generate),
        cmocka_unit_test(test_rolling),
        cmocka_unit_test(test_tokenize_info),
        cmocka_unit_test(test_bad_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
