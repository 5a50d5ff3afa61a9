/*
 * tests/evals/test_sweep_tasks.c - the sweep beyond single-answer multiple choice (issue
 * #8): Winogrande's rows as questions, TruthfulQA MC2's per-sample score and position
 * statistics against hand-computed values (a scripted backend whose log-likelihood is a
 * function of the scored label), the label limit, and the generation family (GSM8K):
 * its size, its default, the axes it refuses and its stop strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "base/mem.h"
#include "engine/backend.h"
#include "evals/fmtgrammar.h"
#include "evals/sweep.h"
#include "store/store.h"

/* ---- Winogrande -------------------------------------------------------------------------- */

static void wino(const char *a, const char *b, const char *cont, const char *want_q,
                 const char *want_a, const char *want_b)
{
    struct task_doc d;
    memset(&d, 0, sizeof(d));
    d.id = mem_strdup("7");
    d.line = 8;
    d.n_choices = 2;
    d.choices = mem_calloc_array(2, sizeof(char *));
    d.choices[0] = mem_strdup(a);
    d.choices[1] = mem_strdup(b);
    d.continuation = mem_strdup(cont);
    struct assay_error err;
    err_clear(&err);
    int rc = sweep_winogrande_doc(&d, &err);
    if (want_q) {
        assert_int_equal(rc, 0);
        assert_string_equal(d.question, want_q);
        assert_string_equal(d.choices[0], want_a);
        assert_string_equal(d.choices[1], want_b);
        assert_null(d.continuation);
    } else {
        assert_int_equal(rc, ASSAY_EINVAL);
        assert_non_null(strstr(err.msg, "winogrande item '7' (line 8)"));
    }
    free(d.id);
    free(d.question);
    free(d.choices[0]);
    free(d.choices[1]);
    free(d.choices);
    free(d.continuation);
}

static void test_winogrande(void **state)
{
    (void)state;
    /* the mirror's first row */
    wino("Sarah was a much better surgeon than Maria so Sarah",
         "Sarah was a much better surgeon than Maria so Maria", "always got the easier cases.",
         "Sarah was a much better surgeon than Maria so _ always got the easier cases.", "Sarah",
         "Maria");
    /* options sharing letters: the blank starts at a word */
    wino("the wine would ruin the bed and the blanket, but the blanket",
         "the wine would ruin the bed and the blanket, but the bed", "was't ruined.",
         "the wine would ruin the bed and the blanket, but the _ was't ruined.", "blanket", "bed");
    /* punctuation right after the blank */
    wino("He liked Tom more than Jim", "He liked Tom more than Tom", ".",
         "He liked Tom more than _.", "Jim", "Tom");
    wino("It was Ann", "It was Bob", "'s turn.", "It was _'s turn.", "Ann", "Bob");
    /* the blank first */
    wino("Ann", "Bob", "left early.", "_ left early.", "Ann", "Bob");
    /* options that cannot be told apart */
    wino("same text", "same text", "x", NULL, NULL, NULL);
}

/* ---- a scripted backend: the log-likelihood of " A" ... is fixed per label ------------------ */

struct fake {
    struct backend base;
    int n_calls;
};

static double label_ll(const char *cont, size_t len)
{
    char c = len ? cont[len - 1] : '?';
    switch (c) {
    case 'A':
        return -1.0;
    case 'B':
        return -2.0;
    case 'C':
        return -3.0;
    case 'D':
        return -0.5;
    default:
        return -9.0;
    }
}

static int fake_ll(struct backend *b, const struct bk_ll_req *reqs, size_t n, struct bk_ll_res *res,
                   const struct progress *prog, struct assay_error *err)
{
    (void)prog;
    (void)err;
    ((struct fake *)b)->n_calls++;
    for (size_t i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        res[i].logprob = label_ll(reqs[i].continuation.text, reqs[i].continuation.len);
        res[i].n_tokens = 1;
    }
    return 0;
}

static void fake_info(struct backend *b, struct backend_info *out)
{
    (void)b;
    memset(out, 0, sizeof(*out));
    snprintf(out->kind, sizeof(out->kind), "fake");
}

static void fake_free(struct backend *b)
{
    (void)b;
}

static const struct backend_ops fake_ops = {
    .loglikelihood = fake_ll, .info = fake_info, .free = fake_free};

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[1024], cmd[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static double metric(const struct store_metric *m, int64_t n, const char *name)
{
    for (int64_t i = 0; i < n; i++)
        if (strcmp(m[i].task, "truthfulqa_mc2") == 0 && strcmp(m[i].name, name) == 0)
            return m[i].value;
    fail_msg("metric %s missing", name);
    return NAN;
}

/* Two questions: true, true, false and true, false, false, false. Labels' log-likelihoods
 * A -1, B -2, C -3, D -0.5. Worked by hand (MC2 = sum exp(ll) over true / over all):
 *   doc 0, shift 0: (e^-1 + e^-2) / (e^-1 + e^-2 + e^-3)           = 0.909969426830
 *   doc 1, shift 0: e^-1 / (e^-1 + e^-2 + e^-3 + e^-0.5)           = 0.317265325677
 *   doc 0, shift 1: A holds choice 1 (true), B 2, C 0 (true):
 *                   (e^-1 + e^-3) / (e^-1 + e^-2 + e^-3)           = 0.755271528945
 *   doc 1, shift 1: D holds choice 0 (true): e^-0.5 / (all four)   = 0.523082090899 */
static void test_mc2(void **state)
{
    (void)state;
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    char dir[1024], db[1100];
    snprintf(dir, sizeof(dir), "%s", tmp);
    write_file(dir, "truthfulqa/v1_2021/mc_task.json",
               "[{\"question\": \"Q one?\", \"mc1_targets\": {\"t1\": 1, \"f1\": 0},"
               " \"mc2_targets\": {\"t1\": 1, \"t2\": 1, \"f1\": 0}},"
               " {\"question\": \"Q two?\", \"mc1_targets\": {\"t\": 1, \"f1\": 0},"
               " \"mc2_targets\": {\"t\": 1, \"f1\": 0, \"f2\": 0, \"f3\": 0}}]");
    struct fmtg_spec s0, s1;
    assert_int_equal(fmtg_parse("o0", &s0, NULL), 0);
    assert_int_equal(fmtg_parse("o1", &s1, NULL), 0);
    uint64_t idx[2] = {fmtg_index(&s0), fmtg_index(&s1)};
    struct sweep_opts o = {.shots = -1, .seed = 1234, .batch = 3, .data_dir = dir};
    struct sweep_plan p;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(sweep_plan_load(&p, "truthfulqa_mc2", idx, 2, &o, &err), 0);
    assert_int_equal(p.family, FMTG_FAMILY_MC);
    assert_int_equal(sweep_plan_items(&p), 4);

    snprintf(db, sizeof(db), "%s/mc2.db", tmp);
    struct store *st = NULL;
    assert_int_equal(store_open(&st, db, 0, NULL), 0);
    struct store_run_new rn = {.kind = "sweep", .backend = "fake", .config_json = "{}"};
    int64_t run = 0;
    assert_int_equal(store_begin_run(st, &rn, &run, NULL), 0);
    struct fake fk = {.base = {.ops = &fake_ops}};
    assert_int_equal(sweep_run(&p, &fk.base, st, run, NULL, &err), 0);
    assert_int_equal(fk.n_calls, 2); /* batches of 3 items */
    assert_int_equal(sweep_compute_metrics(&p, st, run, &err), 0);

    struct store_metric *m = NULL;
    int64_t n = 0;
    assert_int_equal(store_list_metrics(st, run, &m, &n, NULL), 0);
    char name[96];
    snprintf(name, sizeof(name), "acc@%s", p.fmts[0].id);
    assert_float_equal(metric(m, n, name), (0.909969426830 + 0.317265325677) / 2, 1e-9);
    snprintf(name, sizeof(name), "acc@%s", p.fmts[1].id);
    assert_float_equal(metric(m, n, name), (0.755271528945 + 0.523082090899) / 2, 1e-9);
    assert_float_equal(metric(m, n, "fmt_spread"),
                       (0.755271528945 + 0.523082090899 - 0.909969426830 - 0.317265325677) / 2,
                       1e-9);
    /* each true answer at its display position, hit when the argmax pick is it:
     * shift 0: doc 0 true at 1, 2, pick 1; doc 1 true at 1, pick 4 (D)
     * shift 1: doc 0 true at 3 (choice 0), 1 (choice 1), pick 1; doc 1 true at 4, pick 4 */
    assert_float_equal(metric(m, n, "acc_gold_pos1"), 2.0 / 3.0, 1e-12);
    assert_float_equal(metric(m, n, "acc_gold_pos2"), 0.0, 1e-12);
    assert_float_equal(metric(m, n, "acc_gold_pos3"), 0.0, 1e-12);
    assert_float_equal(metric(m, n, "acc_gold_pos4"), 1.0, 1e-12);
    assert_float_equal(metric(m, n, "gold_rate_pos1"), 3.0 / 6.0, 1e-12);
    assert_float_equal(metric(m, n, "gold_rate_pos4"), 1.0 / 6.0, 1e-12);
    assert_float_equal(metric(m, n, "pick_rate_pos1"), 0.5, 1e-12);
    assert_float_equal(metric(m, n, "pick_rate_pos4"), 0.5, 1e-12);
    store_metrics_free(m, n);
    store_close(st);
    sweep_plan_release(&p);

    /* more choices than the grammar has labels: an error naming the document */
    struct buf big;
    buf_init(&big, 0);
    buf_add_str(&big, "[{\"question\": \"ok?\", \"mc2_targets\": {\"a\": 1, \"b\": 0}},"
                      " {\"question\": \"many?\", \"mc2_targets\": {");
    for (int i = 0; i < 27; i++)
        buf_addf(&big, "%s\"c%d\": %d", i ? ", " : "", i, i == 0);
    buf_add_str(&big, "}}]");
    char dir2[1100];
    snprintf(dir2, sizeof(dir2), "%s/big", tmp);
    write_file(dir2, "truthfulqa/v1_2021/mc_task.json", big.data);
    buf_release(&big);
    o.data_dir = dir2;
    err_clear(&err);
    assert_int_equal(sweep_plan_load(&p, "truthfulqa_mc2", idx, 1, &o, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "item '1'"));
    assert_non_null(strstr(err.msg, "27 choices"));
}

/* ---- the generation family --------------------------------------------------------------- */

static void test_gen_family(void **state)
{
    (void)state;
    assert_int_equal(fmtg_family_count(FMTG_FAMILY_GEN), 2 * 3 * 5 * 2 * 3 * 3);
    assert_int_equal(fmtg_family_count(FMTG_FAMILY_MC), fmtg_count());
    struct fmtg_spec d;
    char id[FMTG_ID_MAX];
    fmtg_family_default(FMTG_FAMILY_GEN, &d);
    fmtg_id(&d, id);
    assert_string_equal(id, "t0i0u0n0w0q1l0p0c0a0o0");

    /* all of them: distinct, ascending, none varying a fixed axis */
    uint64_t *v = NULL;
    int64_t n = 0;
    assert_int_equal(fmtg_select_family(FMTG_FAMILY_GEN, 0, 0, 0, &v, &n, NULL), 0);
    assert_int_equal(n, 540);
    for (int64_t i = 0; i < n; i++) {
        struct fmtg_spec s;
        fmtg_from_index(v[i], &s);
        assert_int_equal(fmtg_family_check(FMTG_FAMILY_GEN, &s, NULL), 0);
        if (i)
            assert_true(v[i] > v[i - 1]);
    }
    free(v);
    /* a sample includes the default; cyclic makes no sense */
    assert_int_equal(fmtg_select_family(FMTG_FAMILY_GEN, 7, 99, 0, &v, &n, NULL), 0);
    assert_int_equal(n, 7);
    int has_default = 0;
    for (int64_t i = 0; i < n; i++)
        has_default |= v[i] == fmtg_index(&d);
    assert_true(has_default);
    free(v);
    assert_int_equal(fmtg_select_family(FMTG_FAMILY_GEN, 8, 1, 1, &v, &n, NULL), ASSAY_EUSAGE);

    struct fmtg_spec bad;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(fmtg_parse("q1l2", &bad, NULL), 0);
    assert_int_equal(fmtg_family_check(FMTG_FAMILY_GEN, &bad, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "axis 'l'"));

    /* stop strings: lm-eval's, plus the format's question prefix and the chat turn's end */
    struct task_def t;
    assert_int_equal(task_find("gsm8k", &t, NULL), 0);
    const char *until[TASK_MAX_UNTIL + 2];
    char q[32];
    struct fmtg_fmt f;
    fmtg_build_family(FMTG_FAMILY_GEN, &d, &f);
    assert_int_equal(sweep_gen_stops(&t, &f, q, sizeof(q), until), 3);
    assert_string_equal(until[0], "Question:");
    struct fmtg_spec s;
    assert_int_equal(fmtg_parse("t1u1q2", &s, NULL), 0);
    fmtg_build_family(FMTG_FAMILY_GEN, &s, &f);
    assert_int_equal(sweep_gen_stops(&t, &f, q, sizeof(q), until), 5);
    assert_string_equal(until[3], "Q:");
    assert_string_equal(until[4], "<end_of_turn>");
    assert_int_equal(fmtg_parse("q0", &s, NULL), 0);
    fmtg_build_family(FMTG_FAMILY_GEN, &s, &f);
    assert_int_equal(sweep_gen_stops(&t, &f, q, sizeof(q), until), 3);

    /* families of task lists */
    enum fmtg_family fam;
    assert_int_equal(sweep_tasks_family("gsm8k", &fam, NULL), 0);
    assert_int_equal(fam, FMTG_FAMILY_GEN);
    assert_int_equal(sweep_tasks_family("winogrande,truthfulqa_mc2,mmlu_anatomy", &fam, NULL), 0);
    assert_int_equal(fam, FMTG_FAMILY_MC);
    assert_int_equal(sweep_tasks_family("mmlu_anatomy,gsm8k", &fam, NULL), ASSAY_EUSAGE);
    assert_int_equal(sweep_tasks_family("humaneval", &fam, NULL), ASSAY_EUSAGE);
    assert_int_equal(sweep_tasks_family("gsm8k_cot", &fam, NULL), ASSAY_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winogrande),
        cmocka_unit_test(test_mc2),
        cmocka_unit_test(test_gen_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
