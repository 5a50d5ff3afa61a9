/*
 * tests/engine/test_hf.c - Hugging Face directories as models: every fixture's hf-bf16
 * gives the official reference logits at every position of every sequence (float32
 * activations: README tolerance 1e-3) and the same logits as its GGUF twin (BF16 twin:
 * identical; F16 twin of gemma-tiny: within the F16 tolerance), the metadata built from
 * config.json equals the converter's (keys and values), and the backend interface
 * (loglikelihood, rolling, generate, prefix cache) works on a directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/error.h"
#include "base/file.h"
#include "base/json.h"
#include "engine/backend.h"
#include "engine/backend_local.h"
#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/model.h"

#include <math.h>

#define MAX_TOK 64

struct fx {
    const char *model;
    const char *twin;   /* GGUF with the same weights */
    double twin_tol;    /* max |diff| against the twin's logits */
};

static const struct fx fxs[] = {
    {"gemma-tiny", "gemma-tiny-F16.gguf", 2e-2},
    {"gemma2-tiny", "gemma2-tiny-BF16.gguf", 0.0},
    {"gemma3-tiny", "gemma3-tiny-BF16.gguf", 0.0},
};

static const char *fx_path(const char *model, const char *name)
{
    char rel[512];
    snprintf(rel, sizeof(rel), "fixtures/models/%s/%s", model, name);
    return tu_shared(rel);
}

static void fail_err(const char *what, const struct assay_error *e)
{
    char b[1200];
    err_format(e, b, sizeof(b));
    fail_msg("%s: %s", what, b);
}

/* Logits of every position of ids (n tokens) into out. */
static void all_logits(const struct model *m, const int32_t *ids, int n, float *out)
{
    struct model_ctx_params p;
    model_ctx_params_default(&p);
    p.n_ctx = MAX_TOK;
    p.n_batch_max = MAX_TOK;
    p.n_threads = 2;
    p.act = KERN_ACT_F32;
    struct model_ctx *c;
    struct assay_error e;
    err_clear(&e);
    if (model_ctx_new(&c, m, &p, &e))
        fail_err("ctx", &e);
    int32_t pos[MAX_TOK], seq[MAX_TOK];
    bool want[MAX_TOK];
    for (int i = 0; i < n; i++) {
        pos[i] = i;
        seq[i] = 0;
        want[i] = true;
    }
    struct model_batch b = {.n_tok = n, .token = ids, .pos = pos, .seq_id = seq,
                            .want_logits = want};
    if (model_decode(c, &b, &e))
        fail_err("decode", &e);
    int64_t V = model_hparams(m)->n_vocab;
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * V, model_logits(c, i), sizeof(float) * V);
    model_ctx_free(c);
}

static void test_logits(void **state)
{
    (void)state;
    for (size_t fi = 0; fi < sizeof(fxs) / sizeof(fxs[0]); fi++) {
        const struct fx *f = &fxs[fi];
        const char *dir = fx_path(f->model, "hf-bf16");
        if (!dir) {
            fprintf(stderr, "skipped: %s/hf-bf16 not present\n", f->model);
            continue;
        }
        char dirbuf[1024];
        snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
        struct assay_error e;
        err_clear(&e);
        struct hf_model *h;
        if (hf_open(&h, dirbuf, &e))
            fail_err(dirbuf, &e);
        size_t nv;
        const struct model_view *v = hf_views(h, &nv);
        struct model *m;
        if (model_load_views(&m, hf_meta(h), v, nv, &e))
            fail_err(dirbuf, &e);
        struct model *tw;
        if (model_open(&tw, fx_path(f->model, f->twin), &e))
            fail_err(f->twin, &e);
        int64_t V = model_hparams(m)->n_vocab;
        assert_int_equal(V, 2048);
        json_t *ref;
        if (jsn_load_file(&ref, fx_path(f->model, "reference.json"), &e))
            fail_err("reference.json", &e);
        float *a = malloc(sizeof(float) * MAX_TOK * V), *b = malloc(sizeof(float) * MAX_TOK * V);
        assert_non_null(a);
        assert_non_null(b);
        const json_t *seqs = json_object_get(ref, "sequences");
        double max_ref = 0, max_twin = 0;
        size_t n_pos = 0;
        for (size_t si = 0; si < json_array_size(seqs); si++) {
            const json_t *s = json_array_get(seqs, si);
            const json_t *jids = json_object_get(s, "ids");
            int n = (int)json_array_size(jids);
            assert_true(n > 0 && n <= MAX_TOK);
            int32_t ids[MAX_TOK];
            for (int i = 0; i < n; i++)
                ids[i] = (int32_t)json_integer_value(json_array_get(jids, (size_t)i));
            all_logits(m, ids, n, a);
            all_logits(tw, ids, n, b);
            char fn[64];
            snprintf(fn, sizeof(fn), "logits-%s.f32", jsn_str(s, "name", "?"));
            char *raw = NULL;
            size_t len = 0;
            if (file_read_all(&raw, &len, fx_path(f->model, fn), 64u << 20, &e))
                fail_err(fn, &e);
            assert_int_equal(len, (size_t)n * V * sizeof(float));
            const float *rl = (const float *)(void *)raw;
            for (int64_t i = 0; i < (int64_t)n * V; i++) {
                max_ref = fmax(max_ref, fabs((double)a[i] - rl[i]));
                max_twin = fmax(max_twin, fabs((double)a[i] - b[i]));
            }
            n_pos += (size_t)n;
            free(raw);
        }
        fprintf(stderr, "%s hf-bf16: %zu positions, max |dlogit| vs reference %.3g, vs %s %.3g\n",
                f->model, n_pos, max_ref, f->twin, max_twin);
        assert_true(n_pos >= 70);
        assert_true(max_ref <= 1e-3);
        assert_true(max_twin <= f->twin_tol);
        free(a);
        free(b);
        json_decref(ref);
        model_free(tw);
        model_free(m);
        hf_close(h);
    }
}

/* The metadata built from config.json + tokenizer equals the official converter's, key by
 * key and value by value (the general.name / size_label strings and CodeGemma's ids that
 * the converter hard-codes for gemma excepted). */
static void test_metadata(void **state)
{
    (void)state;
    static const char *const skip[] = {"general.name", "general.size_label", "general.type",
                                       "general.file_type", "tokenizer.ggml.eot_token_id",
                                       "tokenizer.ggml.prefix_token_id",
                                       "tokenizer.ggml.suffix_token_id",
                                       "tokenizer.ggml.middle_token_id",
                                       "tokenizer.ggml.fsep_token_id"};
    for (size_t fi = 0; fi < sizeof(fxs) / sizeof(fxs[0]); fi++) {
        const struct fx *f = &fxs[fi];
        const char *dir = fx_path(f->model, "hf-bf16");
        if (!dir)
            continue;
        char dirbuf[1024];
        snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
        struct assay_error e;
        err_clear(&e);
        struct hf_model *h;
        if (hf_open(&h, dirbuf, &e))
            fail_err(dirbuf, &e);
        struct gguf *g;
        if (gguf_open(&g, fx_path(f->model, f->twin), &e))
            fail_err(f->twin, &e);
        const struct gguf *mine = hf_meta(h);
        for (int pass = 0; pass < 2; pass++) {
            const struct gguf *x = pass ? mine : g, *y = pass ? g : mine;
            for (size_t i = 0; i < gguf_n_kv(x); i++) {
                const struct gguf_kv *kx = gguf_kv_at(x, i);
                bool skipped = false;
                for (size_t s = 0; s < sizeof(skip) / sizeof(skip[0]); s++)
                    skipped |= !strcmp(kx->key, skip[s]);
                if (skipped)
                    continue;
                const struct gguf_kv *ky = gguf_find_kv(y, kx->key);
                if (!ky)
                    fail_msg("%s: key '%s' only in the %s", f->model, kx->key,
                             pass ? "HF metadata" : "GGUF");
                if (kx->type != ky->type || kx->elem_type != ky->elem_type || kx->n != ky->n ||
                    kx->len != ky->len || memcmp(kx->data, ky->data, kx->len) != 0)
                    fail_msg("%s: key '%s' differs", f->model, kx->key);
            }
        }
        gguf_close(g);
        hf_close(h);
    }
}

/* Backend on a directory: the reference's rolling log-prob, loglikelihood (twice: the
 * second goes through the prefix cache) and greedy continuation of the "short" sequence. */
static int json_ids(const json_t *arr, int32_t *out, int max)
{
    int n = (int)json_array_size(arr);
    assert_true(n <= max);
    for (int i = 0; i < n; i++)
        out[i] = (int32_t)json_integer_value(json_array_get(arr, (size_t)i));
    return n;
}

static void test_backend(void **state)
{
    (void)state;
    const char *dir = fx_path("gemma2-tiny", "hf-bf16");
    if (!dir) {
        fprintf(stderr, "skipped: gemma2-tiny/hf-bf16 not present\n");
        return;
    }
    char dirbuf[1024];
    snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = 2;
    p.n_ctx = 128;
    struct backend *b;
    struct assay_error e;
    err_clear(&e);
    if (backend_local_open(&b, dirbuf, &p, &e))
        fail_err(dirbuf, &e);
    struct backend_info in;
    backend_info(b, &in);
    assert_string_equal(in.architecture, "gemma2");
    assert_int_equal(in.n_vocab, 2048);
    assert_int_equal(in.bos_id, 2);
    assert_true(in.n_params > 0);
    json_t *ref;
    if (jsn_load_file(&ref, fx_path("gemma2-tiny", "reference.json"), &e))
        fail_err("reference.json", &e);
    const json_t *s = json_array_get(json_object_get(ref, "sequences"), 1);
    assert_string_equal(jsn_str(s, "name", ""), "short");
    int32_t ids[MAX_TOK];
    int n = json_ids(json_object_get(s, "ids"), ids, MAX_TOK);

    /* the backend puts the BOS in front itself */
    struct bk_rolling_req rr = {.text = {.ids = ids + 1, .n_ids = (size_t)n - 1}};
    struct bk_rolling_res rres;
    memset(&rres, 0, sizeof(rres));
    if (backend_loglikelihood_rolling(b, &rr, 1, &rres, NULL, &e))
        fail_err("rolling", &e);
    assert_int_equal(rres.error, 0);
    double want = jsn_num(s, "rolling_logprob", NAN);
    if (fabs(rres.logprob - want) > 2 * n * 1e-3)
        fail_msg("rolling %.6f, reference %.6f", rres.logprob, want);
    bk_rolling_res_release(&rres);

    const json_t *ll = json_object_get(s, "loglikelihood");
    int ctx_len = (int)jsn_int(ll, "context_len", 0);
    assert_true(ctx_len > 0 && ctx_len < n);
    struct bk_ll_req lr = {.context = {.ids = ids, .n_ids = (size_t)ctx_len},
                           .continuation = {.ids = ids + ctx_len, .n_ids = (size_t)(n - ctx_len)}};
    want = jsn_num(ll, "sum_logprob", NAN);
    for (int rep = 0; rep < 2; rep++) {
        struct bk_ll_res lres;
        memset(&lres, 0, sizeof(lres));
        if (backend_loglikelihood(b, &lr, 1, &lres, NULL, &e))
            fail_err("loglikelihood", &e);
        assert_int_equal(lres.error, 0);
        if (fabs(lres.logprob - want) > 2 * (n - ctx_len) * 1e-3)
            fail_msg("loglikelihood %.6f, reference %.6f", lres.logprob, want);
        assert_int_equal(lres.is_greedy, jsn_bool(ll, "is_greedy", -1));
    }
    struct backend_local_stats st;
    backend_local_stats(b, &st);
    assert_true(st.n_reused_tokens > 0); /* the prefix cache served the second request */

    const json_t *gr = json_object_get(s, "greedy");
    int32_t gids[MAX_TOK];
    int ng = json_ids(json_object_get(gr, "ids"), gids, MAX_TOK);
    struct bk_gen_req gq;
    memset(&gq, 0, sizeof(gq));
    gq.prompt.ids = ids;
    gq.prompt.n_ids = (size_t)n;
    gq.max_tokens = ng;
    gq.stop_at_eos = false;
    struct bk_gen_res gres;
    memset(&gres, 0, sizeof(gres));
    if (backend_generate(b, &gq, 1, &gres, NULL, &e))
        fail_err("generate", &e);
    assert_int_equal(gres.error, 0);
    assert_int_equal(gres.n_ids, ng);
    const json_t *margins = json_object_get(gr, "margins");
    for (int i = 0; i < ng; i++) {
        if (json_number_value(json_array_get(margins, (size_t)i)) < 2e-3)
            break; /* a near-tie: the continuations may diverge from here */
        assert_int_equal(gres.ids[i], gids[i]);
    }
    bk_gen_res_release(&gres);
    json_decref(ref);
    backend_free(b);
}

static void expect_open_error(const char *dir, int code, const char *want)
{
    struct hf_model *h;
    struct assay_error e;
    err_clear(&e);
    int rc = hf_open(&h, dir, &e);
    if (rc != code || !strstr(e.msg, want))
        fail_msg("%s: rc %d '%s' (%s), want %d '%s'", dir, rc, e.msg, e.path, code, want);
    assert_null(h);
}

static void copy_file(const char *from, const char *to)
{
    char *d = NULL;
    size_t n = 0;
    struct assay_error e;
    err_clear(&e);
    if (file_read_all(&d, &n, from, 64u << 20, &e))
        fail_err(from, &e);
    if (file_write_atomic(to, d, n, &e))
        fail_err(to, &e);
    free(d);
}

static void test_bad_dirs(void **state)
{
    (void)state;
    const char *src = fx_path("gemma3-tiny", "hf-bf16");
    if (!src)
        return;
    char srcbuf[1024];
    snprintf(srcbuf, sizeof(srcbuf), "%s", src);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    char a[1200], b[1200];
    expect_open_error(dir, ASSAY_EINVAL, "no config.json");
    const char *files[] = {"config.json", "tokenizer.model", "tokenizer_config.json"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(a, sizeof(a), "%s/%s", srcbuf, files[i]);
        snprintf(b, sizeof(b), "%s/%s", dir, files[i]);
        copy_file(a, b);
    }
    expect_open_error(dir, ASSAY_EINVAL, "no model.safetensors");
    snprintf(b, sizeof(b), "%s/config.json", dir);
    const char *cfg = "{\"model_type\": \"llama\"}";
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(file_write_atomic(b, cfg, strlen(cfg), &e), 0);
    expect_open_error(dir, ASSAY_EINVAL, "model_type 'llama' is not supported");
    cfg = "{\"model_type\": \"recurrent_gemma\"}";
    assert_int_equal(file_write_atomic(b, cfg, strlen(cfg), &e), 0);
    expect_open_error(dir, ASSAY_EUNSUPPORTED, "recurrent_gemma");
    char mt[32];
    assert_int_equal(hf_model_type(dir, mt, sizeof(mt), &e), 0);
    assert_string_equal(mt, "recurrent_gemma");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logits),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_bad_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
