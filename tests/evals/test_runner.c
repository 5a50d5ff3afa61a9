/*
 * tests/evals/test_runner.c - the runner against a scripted backend: one backend call
 * per batch, no BOS in the text, resume after a failure ends with exactly the samples of
 * an uninterrupted run, batch size does not change any sample, empty and huge outputs
 * are scored, and metrics come from stored samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"
#include "base/buf.h"
#include "engine/backend.h"
#include "evals/runner.h"
#include "store/store.h"

struct fake {
    struct backend base;
    int n_ll_calls, n_gen_calls;
    int64_t n_ll_reqs;
    int fail_after; /* calls that succeed before the backend fails (-1: never) */
};

static uint64_t fnv(const char *a, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)a[i]) * 1099511628211ULL;
    return h;
}

static int fake_ll(struct backend *b, const struct bk_ll_req *reqs, size_t n, struct bk_ll_res *res,
                   const struct progress *prog, struct assay_error *err)
{
    struct fake *f = (struct fake *)b;
    if (f->fail_after >= 0 && f->n_ll_calls + f->n_gen_calls >= f->fail_after)
        return err_set(err, ASSAY_EFAIL, "scripted failure");
    f->n_ll_calls++;
    f->n_ll_reqs += (int64_t)n;
    for (size_t i = 0; i < n; i++) {
        /* BOS is the backend's business: never in the text */
        assert_true(strncmp(reqs[i].context.text, "<bos>", 5) != 0);
        assert_true(reqs[i].continuation.len > 0);
        uint64_t h = fnv(reqs[i].context.text, reqs[i].context.len, 14695981039346656037ULL);
        h = fnv(reqs[i].continuation.text, reqs[i].continuation.len, h);
        res[i].logprob = -(double)(h % 100000) / 1000.0;
        res[i].is_greedy = (h >> 20) & 1;
        res[i].n_tokens = (int32_t)reqs[i].continuation.len;
        res[i].error = 0;
    }
    return 0;
}

static int fake_gen(struct backend *b, const struct bk_gen_req *reqs, size_t n,
                    struct bk_gen_res *res, const struct progress *prog, struct assay_error *err)
{
    struct fake *f = (struct fake *)b;
    if (f->fail_after >= 0 && f->n_ll_calls + f->n_gen_calls >= f->fail_after)
        return err_set(err, ASSAY_EFAIL, "scripted failure");
    f->n_gen_calls++;
    for (size_t i = 0; i < n; i++) {
        assert_true(reqs[i].n_until >= 1);
        assert_true(reqs[i].sampling.temperature == 0);
        uint64_t h = fnv(reqs[i].prompt.text, reqs[i].prompt.len, 14695981039346656037ULL);
        memset(&res[i], 0, sizeof(res[i]));
        size_t len;
        if (h % 3 == 0) { /* empty output */
            res[i].text = strdup("");
            len = 0;
        } else if (h % 3 == 1) { /* gigantic output: 4 MiB of digits */
            len = (size_t)4 << 20;
            res[i].text = malloc(len + 1);
            memset(res[i].text, '7', len);
            res[i].text[len] = '\0';
        } else {
            res[i].text = strdup(" She makes $18.\n#### 18");
            len = strlen(res[i].text);
        }
        res[i].len = len;
        res[i].finish = BK_FINISH_LENGTH;
    }
    return 0;
}

static void fake_info(struct backend *b, struct backend_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->kind, sizeof(out->kind), "fake");
}

static void fake_free(struct backend *b)
{
    (void)b;
}

static const struct backend_ops fake_ops = {
    .loglikelihood = fake_ll, .generate = fake_gen, .info = fake_info, .free = fake_free};

static const char *data_dir(void)
{
    static char dir[1024];
    const char *d = tu_shared("datasets");
    if (!d)
        return NULL;
    snprintf(dir, sizeof(dir), "%s", d);
    return dir;
}

#define TASKS "mmlu_anatomy,hellaswag,gsm8k,truthfulqa_mc2,winogrande,arc_easy"
#define LIMIT 6

static int64_t new_run(struct store *s)
{
    static int k;
    char cfg[64];
    snprintf(cfg, sizeof(cfg), "{\"k\":%d}", k++);
    struct store_run_new rn = {.kind = "eval", .backend = "fake", .config_json = cfg};
    int64_t id = 0;
    assert_int_equal(store_begin_run(s, &rn, &id, NULL), 0);
    return id;
}

struct lines {
    char **v;
    int n;
};

static int collect(void *user, const struct store_sample_row *row)
{
    struct lines *l = user;
    struct buf b;
    buf_init(&b, 0);
    buf_addf(&b, "%s|%s|%s|%.9g|%d|%s|%s", row->s.task, row->s.item, row->s.format_id, row->s.score,
             row->s.correct, row->s.data_json ? row->s.data_json : "",
             row->s.error ? row->s.error : "");
    l->v = realloc(l->v, (size_t)(l->n + 1) * sizeof(char *));
    l->v[l->n++] = buf_detach(&b, NULL);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct lines samples_of(struct store *s, int64_t run)
{
    struct lines l = {0};
    assert_int_equal(store_each_sample(s, run, NULL, collect, &l, NULL), 0);
    qsort(l.v, (size_t)l.n, sizeof(char *), cmp_str);
    return l;
}

static void lines_equal(struct lines a, struct lines b)
{
    assert_int_equal(a.n, b.n);
    for (int i = 0; i < a.n; i++) {
        if (strcmp(a.v[i], b.v[i]))
            fprintf(stderr, "sample differs:\n  %s\n  %s\n", a.v[i], b.v[i]);
        assert_string_equal(a.v[i], b.v[i]);
    }
}

static void lines_free(struct lines l)
{
    for (int i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
}

static void test_runner(void **state)
{
    (void)state;
    const char *dd = data_dir();
    TU_SKIP_IF_MISSING(dd, "datasets");
    const char *tmp = tu_tmpdir();
    char dbp[1200];
    snprintf(dbp, sizeof(dbp), "%s/runner.db", tmp);
    struct store *s = NULL;
    assert_int_equal(store_open(&s, dbp, 0, NULL), 0);
    struct eval_opts o = {.shots = -1, .limit = LIMIT, .seed = 1234, .batch = 4, .data_dir = dd};
    struct eval_plan p;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(eval_plan_load(&p, TASKS, &o, &e), 0);
    assert_int_equal(p.n_items, 6 * LIMIT);

    /* an uninterrupted run, batch 4: one backend call per batch */
    struct fake f = {.base = {&fake_ops}, .fail_after = -1};
    int64_t run_a = new_run(s);
    assert_int_equal(eval_plan_run(&p, &f.base, s, run_a, NULL, NULL, &e), 0);
    assert_int_equal(store_count_samples(s, run_a, NULL, NULL), 6 * LIMIT);
    assert_int_equal(f.n_ll_calls, 5 * 2); /* 5 MC tasks, ceil(6/4) batches each */
    assert_int_equal(f.n_gen_calls, 2);
    /* again: everything is stored, nothing is asked of the model */
    assert_int_equal(eval_plan_run(&p, &f.base, s, run_a, NULL, NULL, &e), 0);
    assert_int_equal(f.n_ll_calls, 10);
    assert_int_equal(f.n_gen_calls, 2);
    assert_int_equal(eval_compute_metrics(&p, s, run_a, &e), 0);
    struct lines la = samples_of(s, run_a);

    /* interrupted after 3 backend calls, then resumed: the same samples */
    struct fake g = {.base = {&fake_ops}, .fail_after = 3};
    int64_t run_b = new_run(s);
    err_clear(&e);
    assert_int_equal(eval_plan_run(&p, &g.base, s, run_b, NULL, NULL, &e), ASSAY_EFAIL);
    assert_int_equal(store_count_samples(s, run_b, NULL, NULL), 4 + 2 + 4);
    g.fail_after = -1;
    err_clear(&e);
    assert_int_equal(eval_plan_run(&p, &g.base, s, run_b, NULL, NULL, &e), 0);
    struct lines lb = samples_of(s, run_b);
    lines_equal(la, lb);

    /* batch 1 and batch 16: the same samples */
    for (int bs = 1; bs <= 16; bs += 15) {
        struct eval_plan q;
        o.batch = bs;
        assert_int_equal(eval_plan_load(&q, TASKS, &o, NULL), 0);
        struct fake h = {.base = {&fake_ops}, .fail_after = -1};
        int64_t run_c = new_run(s);
        assert_int_equal(eval_plan_run(&q, &h.base, s, run_c, NULL, NULL, NULL), 0);
        struct lines lc = samples_of(s, run_c);
        lines_equal(la, lc);
        lines_free(lc);
        eval_plan_release(&q);
    }

    /* metrics from the stored samples */
    struct store_metric *m = NULL;
    int64_t nm = 0;
    assert_int_equal(store_list_metrics(s, run_a, &m, &nm, NULL), 0);
    int seen = 0;
    for (int64_t i = 0; i < nm; i++) {
        /* one subject is not the group: no mmlu / mmlu_stem rows */
        if (!strncmp(m[i].task, "mmlu", 4) && strcmp(m[i].task, "mmlu_anatomy"))
            seen |= 2;
        if (!strcmp(m[i].task, "mmlu_anatomy") && !strcmp(m[i].name, "acc"))
            seen |= 1;
        if (!strcmp(m[i].task, "gsm8k") && !strcmp(m[i].name, "exact_match,strict-match")) {
            seen |= 4;
            assert_int_equal(m[i].n, LIMIT);
        }
        if (!strcmp(m[i].task, "hellaswag") && !strcmp(m[i].name, "acc_norm"))
            seen |= 8;
        if (!strcmp(m[i].task, "truthfulqa_mc2") && !strcmp(m[i].name, "mc2")) {
            seen |= 16;
            assert_true(m[i].value > 0 && m[i].value < 1);
        }
    }
    assert_int_equal(seen, 1 | 4 | 8 | 16);
    store_metrics_free(m, nm);
    lines_free(la);
    lines_free(lb);
    eval_plan_release(&p);
    store_close(s);
}

/* Rescoring a stored sample gives acc, acc_norm from the per-choice rows. */
static void test_rescore(void **state)
{
    (void)state;
    struct task_def t;
    assert_int_equal(task_find("hellaswag", &t, NULL), 0);
    double v[8];
    const char *dj =
        "{\"gold\":1,\"choices\":[{\"ll\":-4,\"n_chars\":2},{\"ll\":-6,\"n_chars\":4}]}";
    assert_int_equal(eval_rescore_sample(&t, NULL, NULL, dj, NULL, v, NULL), 2);
    assert_float_equal(v[0], 0, 0); /* acc picks choice 0 */
    assert_float_equal(v[1], 1, 0); /* acc_norm picks choice 1 (-1.5 > -2) */
    assert_int_equal(eval_rescore_sample(&t, NULL, NULL, dj, "failed", v, NULL), 2);
    assert_float_equal(v[0], 0, 0);
    assert_int_equal(task_find("gsm8k", &t, NULL), 0);
    assert_int_equal(eval_rescore_sample(&t, "so $1,000.", "x\n#### 1000", NULL, NULL, v, NULL), 2);
    assert_float_equal(v[0], 0, 0); /* no "#### " in the output */
    assert_float_equal(v[1], 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner),
        cmocka_unit_test(test_rescore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
