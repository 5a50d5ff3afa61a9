/*
 * tests/engine/test_backend.c - the local backend against the official references:
 * text-level loglikelihood (lm-eval's split), greedy generation from text, rolling
 * log-likelihood; and the invariances the evals rely on: a request scores the same alone
 * or in a batch, with 1 or 2 threads, and MMLU-style single-token choices served from one
 * shared forward pass equal separate evaluation.
 *
 * Float32 checkpoints (F32 GGUF; gemma-tiny only has F16, whose weights are exact in
 * float32) with the strict tolerance of the fixture READMEs: 1e-3 per logit, so
 * log-likelihood sums within 2 x n_tokens x 1e-3, greedy ids equal up to the first step
 * whose reference margin is below 2e-3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"
#include "base/json.h"
#include "engine/backend.h"
#include "engine/backend_local.h"

#define TOL 1e-3

static const char *const models[][2] = {
    {"fixtures/models/gemma-tiny/gemma-tiny-F16.gguf", "fixtures/models/gemma-tiny/reference.json"},
    {"fixtures/models/gemma2-tiny/gemma2-tiny-F32.gguf",
     "fixtures/models/gemma2-tiny/reference.json"},
    {"fixtures/models/gemma3-tiny/gemma3-tiny-F32.gguf",
     "fixtures/models/gemma3-tiny/reference.json"},
};

static struct backend *open_model(const char *rel, int threads)
{
    const char *path = tu_shared(rel);
    if (!path)
        return NULL;
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = threads;
    p.n_seq = 3;
    struct backend *b = NULL;
    struct assay_error e;
    err_clear(&e);
    if (backend_local_open(&b, path, &p, &e) != 0) {
        fprintf(stderr, "open %s: %s\n", path, e.msg);
        return NULL;
    }
    return b;
}

static json_t *load_ref(const char *rel)
{
    json_t *j = NULL;
    const char *path = tu_shared(rel);
    if (!path || jsn_load_file(&j, path, NULL) != 0)
        return NULL;
    return j;
}

static void test_loglikelihood_text(void **state)
{
    for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
        struct backend *b = open_model(models[m][0], 2);
        TU_SKIP_IF_MISSING(b, models[m][0]);
        json_t *ref = load_ref(models[m][1]);
        assert_non_null(ref);
        json_t *items = json_object_get(ref, "loglikelihood_text");
        size_t n = json_array_size(items);
        assert_true(n > 0);
        struct bk_ll_req *reqs = calloc(n, sizeof(*reqs));
        struct bk_ll_res *res = calloc(n, sizeof(*res)), *one = calloc(n, sizeof(*one));
        for (size_t i = 0; i < n; i++) {
            json_t *it = json_array_get(items, i);
            const char *c = jsn_str(it, "context", ""), *k = jsn_str(it, "continuation", "");
            reqs[i].context = (struct bk_input){.text = c, .len = strlen(c)};
            reqs[i].continuation = (struct bk_input){.text = k, .len = strlen(k)};
        }
        assert_int_equal(backend_loglikelihood(b, reqs, n, res, NULL, NULL), 0);
        for (size_t i = 0; i < n; i++) {
            json_t *it = json_array_get(items, i);
            int64_t nt = jsn_int(it, "n_tokens", -1);
            double want = jsn_num(it, "sum_logprob", NAN);
            assert_int_equal(res[i].error, 0);
            assert_int_equal(res[i].n_tokens, nt);
            if (fabs(res[i].logprob - want) > 2.0 * (double)nt * TOL) {
                fprintf(stderr, "%s item %zu: logprob %.6f, reference %.6f\n", models[m][0], i,
                        res[i].logprob, want);
                fail();
            }
            assert_int_equal(res[i].is_greedy, jsn_bool(it, "is_greedy", -1));
            /* the same request alone: the same answer (batching and prefix reuse only change
             * what is recomputed, within float rounding) */
            assert_int_equal(backend_loglikelihood(b, &reqs[i], 1, &one[i], NULL, NULL), 0);
            assert_true(fabs(one[i].logprob - res[i].logprob) < 1e-4);
            assert_int_equal(one[i].is_greedy, res[i].is_greedy);
        }
        free(reqs);
        free(res);
        free(one);
        json_decref(ref);
        backend_free(b);
    }
}

static void test_greedy_text(void **state)
{
    for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
        struct backend *b = open_model(models[m][0], 2);
        TU_SKIP_IF_MISSING(b, models[m][0]);
        json_t *ref = load_ref(models[m][1]);
        json_t *tests = json_object_get(ref, "text_tests");
        size_t n = json_array_size(tests);
        assert_true(n > 0);
        struct bk_gen_req *reqs = calloc(n, sizeof(*reqs));
        struct bk_gen_res *res = calloc(n, sizeof(*res));
        for (size_t i = 0; i < n; i++) {
            json_t *t = json_array_get(tests, i);
            const char *text = jsn_str(t, "text", "");
            json_t *g = json_object_get(t, "greedy_ids");
            reqs[i] = (struct bk_gen_req){.prompt = {.text = text, .len = strlen(text)},
                                          .max_tokens = (int32_t)json_array_size(g),
                                          .stop_at_eos = false};
        }
        /* all at once: several sequences decode together */
        assert_int_equal(backend_generate(b, reqs, n, res, NULL, NULL), 0);
        for (size_t i = 0; i < n; i++) {
            json_t *t = json_array_get(tests, i);
            json_t *g = json_object_get(t, "greedy_ids"), *mg = json_object_get(t, "greedy_margins");
            assert_int_equal(res[i].error, 0);
            assert_int_equal(res[i].n_ids, (int32_t)json_array_size(g));
            for (size_t k = 0; k < json_array_size(g); k++) {
                if (res[i].ids[k] != json_integer_value(json_array_get(g, k))) {
                    fprintf(stderr, "%s text %zu step %zu: got %d, reference %lld\n",
                            models[m][0], i, k, res[i].ids[k],
                            (long long)json_integer_value(json_array_get(g, k)));
                    fail();
                }
                if (json_number_value(json_array_get(mg, k)) < 2 * TOL)
                    break; /* a near tie: later steps may legitimately differ */
            }
            /* the decoded text of the generated ids */
            const char *want = jsn_str(t, "greedy_text", NULL);
            if (want)
                assert_string_equal(res[i].text, want);
        }
        /* one at a time gives the same ids */
        for (size_t i = 0; i < n; i++) {
            struct bk_gen_res r1;
            assert_int_equal(backend_generate(b, &reqs[i], 1, &r1, NULL, NULL), 0);
            assert_int_equal(r1.n_ids, res[i].n_ids);
            assert_memory_equal(r1.ids, res[i].ids, (size_t)r1.n_ids * sizeof(int32_t));
            bk_gen_res_release(&r1);
            bk_gen_res_release(&res[i]);
        }
        free(reqs);
        free(res);
        json_decref(ref);
        backend_free(b);
    }
}

static void test_rolling(void **state)
{
    for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
        struct backend *b = open_model(models[m][0], 2);
        TU_SKIP_IF_MISSING(b, models[m][0]);
        json_t *ref = load_ref(models[m][1]);
        json_t *seqs = json_object_get(ref, "sequences");
        for (size_t s = 0; s < json_array_size(seqs); s++) {
            json_t *q = json_array_get(seqs, s);
            if (!jsn_bool(q, "starts_with_bos", 0))
                continue;
            json_t *ids = json_object_get(q, "ids");
            size_t n = json_array_size(ids);
            int32_t *v = calloc(n, sizeof(int32_t));
            for (size_t i = 1; i < n; i++)
                v[i - 1] = (int32_t)json_integer_value(json_array_get(ids, i));
            struct bk_rolling_req rq = {.text = {.ids = v, .n_ids = n - 1}};
            struct bk_rolling_res rr;
            assert_int_equal(backend_loglikelihood_rolling(b, &rq, 1, &rr, NULL, NULL), 0);
            assert_int_equal(rr.n_tokens, (int32_t)(n - 1));
            double want = jsn_num(q, "rolling_logprob", NAN);
            assert_true(fabs(rr.logprob - want) <= 2.0 * (double)(n - 1) * TOL);
            json_t *tl = json_object_get(q, "token_logprobs");
            for (size_t i = 0; i + 1 < n; i++)
                assert_true(fabs(rr.token_logprobs[i] - json_number_value(json_array_get(tl, i))) <
                            2 * TOL);
            bk_rolling_res_release(&rr);
            free(v);
        }
        json_decref(ref);
        backend_free(b);
    }
}

static void test_rolling_windows_past_context(void **state)
{
    /* a text longer than the context is scored in disjoint windows: every token once */
    const char *path = tu_shared(models[1][0]);
    TU_SKIP_IF_MISSING(path, models[1][0]);
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = 1;
    p.n_ctx = 16;
    struct backend *b = NULL;
    assert_int_equal(backend_local_open(&b, path, &p, NULL), 0);
    int32_t v[50];
    for (int i = 0; i < 50; i++)
        v[i] = 300 + i * 7;
    struct bk_rolling_req rq = {.text = {.ids = v, .n_ids = 50}};
    struct bk_rolling_res rr;
    assert_int_equal(backend_loglikelihood_rolling(b, &rq, 1, &rr, NULL, NULL), 0);
    assert_int_equal(rr.n_tokens, 50);
    double sum = 0;
    for (int i = 0; i < 50; i++) {
        assert_true(rr.token_logprobs[i] < 0);
        sum += rr.token_logprobs[i];
    }
    assert_true(fabs(sum - rr.logprob) < 1e-9);
    bk_rolling_res_release(&rr);
    backend_free(b);
}

static void test_threads_and_shared_choices(void **state)
{
    struct backend *b1 = open_model(models[1][0], 1), *b2 = open_model(models[1][0], 2);
    TU_SKIP_IF_MISSING(b1, models[1][0]);
    /* MMLU-like: one context, four single-token choices */
    const char *ctx = "Question: What is the capital of France?\nA. Paris\nB. Rome\nC. Oslo\n"
                      "D. Bern\nAnswer:";
    const char *ch[4] = {" A", " B", " C", " D"};
    struct bk_ll_req reqs[4];
    for (int i = 0; i < 4; i++)
        reqs[i] = (struct bk_ll_req){.context = {.text = ctx, .len = strlen(ctx)},
                                     .continuation = {.text = ch[i], .len = strlen(ch[i])}};
    struct bk_ll_res shared1[4], shared2[4], sep[4];
    assert_int_equal(backend_loglikelihood(b1, reqs, 4, shared1, NULL, NULL), 0);
    assert_int_equal(backend_loglikelihood(b2, reqs, 4, shared2, NULL, NULL), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(shared1[i].n_tokens, 1); /* " A" is one piece after "Answer:" */
        assert_int_equal(backend_loglikelihood(b2, &reqs[i], 1, &sep[i], NULL, NULL), 0);
        /* thread count: the kernels' reduction order does not depend on it */
        assert_true(fabs(shared1[i].logprob - shared2[i].logprob) < 1e-5);
        /* shared forward pass == separate evaluation */
        assert_true(fabs(sep[i].logprob - shared2[i].logprob) < 1e-4);
        assert_int_equal(sep[i].is_greedy, shared2[i].is_greedy);
    }
    /* without the prefix cache: the same numbers, more tokens evaluated */
    const char *path = tu_shared(models[1][0]);
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = 2;
    p.no_prefix_cache = true;
    struct backend *b3 = NULL;
    assert_int_equal(backend_local_open(&b3, path, &p, NULL), 0);
    const char *ctx2 = "Question: Which is a planet?\nA. Mars\nB. Moon\nC. Sun\nD. Io\nAnswer:";
    struct bk_ll_req reqs2[8];
    for (int i = 0; i < 8; i++)
        reqs2[i] = (struct bk_ll_req){.context = {.text = i < 4 ? ctx : ctx2,
                                                  .len = strlen(i < 4 ? ctx : ctx2)},
                                      .continuation = {.text = ch[i % 4], .len = 2}};
    struct bk_ll_res with[8], without[8];
    struct backend_local_stats s_with, s_without, s0;
    backend_local_stats(b2, &s0);
    assert_int_equal(backend_loglikelihood(b2, reqs2, 8, with, NULL, NULL), 0);
    backend_local_stats(b2, &s_with);
    assert_int_equal(backend_loglikelihood(b3, reqs2, 8, without, NULL, NULL), 0);
    backend_local_stats(b3, &s_without);
    for (int i = 0; i < 8; i++)
        assert_true(fabs(with[i].logprob - without[i].logprob) < 1e-4);
    assert_true(s_without.n_eval_tokens > s_with.n_eval_tokens - s0.n_eval_tokens);
    backend_free(b3);
    backend_free(b1);
    backend_free(b2);
}

static void test_stop_strings_and_streaming(void **state)
{
    struct backend *b = open_model(models[1][0], 2);
    TU_SKIP_IF_MISSING(b, models[1][0]);
    const char *prompt = "The quick brown fox";
    struct bk_gen_req r = {.prompt = {.text = prompt, .len = strlen(prompt)}, .max_tokens = 16};
    struct bk_gen_res full;
    assert_int_equal(backend_generate(b, &r, 1, &full, NULL, NULL), 0);
    assert_true(full.len > 4);
    /* stop at a substring of the greedy text: the text is cut right before it */
    char stop[3] = {full.text[3], full.text[4], 0};
    const char *until[1] = {stop};
    struct bk_gen_res cut;
    r.until = until;
    r.n_until = 1;
    assert_int_equal(backend_generate(b, &r, 1, &cut, NULL, NULL), 0);
    const char *at = strstr(full.text, stop);
    assert_non_null(at);
    assert_int_equal(cut.len, (size_t)(at - full.text));
    assert_memory_equal(cut.text, full.text, cut.len);
    assert_int_equal(cut.finish, BK_FINISH_STOP);
    bk_gen_res_release(&cut);
    bk_gen_res_release(&full);
    backend_free(b);
}

/* Regression (found by the HumanEval task on a 512-token model): a generation budget close
 * to the context length must not cut the prompt down to a token; the prompt keeps at least
 * half the context and generation ends when the context is full. */
static void test_long_budget_keeps_prompt(void **state)
{
    const char *path = tu_shared(models[1][0]);
    TU_SKIP_IF_MISSING(path, models[1][0]);
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = 1;
    p.n_ctx = 64;
    struct backend *b = NULL;
    assert_int_equal(backend_local_open(&b, path, &p, NULL), 0);
    int32_t ids[20];
    for (int i = 0; i < 20; i++)
        ids[i] = 300 + i;
    struct bk_gen_req r = {.prompt = {.ids = ids, .n_ids = 20}, .max_tokens = 1024};
    struct bk_gen_res g;
    assert_int_equal(backend_generate(b, &r, 1, &g, NULL, NULL), 0);
    /* 20 prompt tokens kept, 44 generated until the context (64) is full */
    assert_int_equal(g.n_ids, 44);
    assert_int_equal(g.finish, BK_FINISH_LENGTH);
    /* the same continuation as with a budget that fits: the prompt was not cut */
    struct bk_gen_res g2;
    r.max_tokens = 44;
    assert_int_equal(backend_generate(b, &r, 1, &g2, NULL, NULL), 0);
    assert_int_equal(g2.n_ids, 44);
    assert_memory_equal(g.ids, g2.ids, 44 * sizeof(int32_t));
    bk_gen_res_release(&g);
    bk_gen_res_release(&g2);
    backend_free(b);
}

/* A prompt of ids outside the vocabulary is that request's error (EINVAL), not the call's:
 * the requests around it are computed as usual (both backends share bk_input_ids). */
static void test_bad_prompt_ids_fail_one_request(void **state)
{
    struct backend *b = open_model(models[1][0], 1);
    TU_SKIP_IF_MISSING(b, models[1][0]);
    int32_t good[3] = {2, 300, 301}, bad[3] = {2, 300, 1 << 30};
    struct bk_gen_req r[2] = {{.prompt = {.ids = bad, .n_ids = 3}, .max_tokens = 4},
                              {.prompt = {.ids = good, .n_ids = 3}, .max_tokens = 4}};
    struct bk_gen_res g[2];
    assert_int_equal(backend_generate(b, r, 2, g, NULL, NULL), 0);
    assert_int_equal(g[0].finish, BK_FINISH_ERROR);
    assert_int_equal(g[0].error, ASSAY_EINVAL);
    assert_int_equal(g[1].error, 0);
    assert_int_equal(g[1].n_ids, 4);
    bk_gen_res_release(&g[0]);
    bk_gen_res_release(&g[1]);
    /* the same for a rolling loglikelihood */
    struct bk_rolling_req q[2] = {{.text = {.ids = bad, .n_ids = 3}},
                                  {.text = {.ids = good, .n_ids = 3}}};
    struct bk_rolling_res rr[2];
    assert_int_equal(backend_loglikelihood_rolling(b, q, 2, rr, NULL, NULL), 0);
    assert_int_equal(rr[0].error, ASSAY_EINVAL);
    assert_int_equal(rr[1].error, 0);
    assert_int_equal(rr[1].n_tokens, 3);
    bk_rolling_res_release(&rr[0]);
    bk_rolling_res_release(&rr[1]);
    backend_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loglikelihood_text),
        cmocka_unit_test(test_greedy_text),
        cmocka_unit_test(test_rolling),
        cmocka_unit_test(test_rolling_windows_past_context),
        cmocka_unit_test(test_threads_and_shared_choices),
        cmocka_unit_test(test_stop_strings_and_streaming),
        cmocka_unit_test(test_long_budget_keeps_prompt),
        cmocka_unit_test(test_bad_prompt_ids_fail_one_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
