/*
 * tests/evals/test_passk_tasks.c - the generation-task variants gsm8k_cot and
 * mbpp_sanitized: gsm8k_cot's strict-match regex against Python's re (values checked
 * with re.findall), its 8-shot prompt byte for byte (tests/data/evals/prompts/
 * gsm8k_cot_doc0_8shot.txt, written from lm-eval's gsm8k-cot.yaml exemplars folded as
 * YAML folds them) and gold; mbpp_sanitized's split (257 problems in 11..510), shots
 * and test_imports, whose reference solutions pass only with the imports in the program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "base/buf.h"
#include "base/file.h"
#include "evals/metric.h"
#include "evals/runner.h"
#include "evals/sandbox.h"
#include "evals/task.h"

static void test_cot_strict(void **state)
{
    (void)state;
    /* text -> re.findall(r"The answer is (\-?[0-9\.\,]+).", text)[0].strip() */
    static const char *const cases[][2] = {
        {"so The answer is 6.", "6"},
        {"The answer is 6.\n\nQ:", "6"},
        {"The answer is 1,000 dollars", "1,000"},
        {"The answer is 42", "4"},
        {"The answer is 5", "[invalid]"},
        {"The answer is -3.", "-3"},
        {"The answer is -x. The answer is 7!", "7"},
        {"The answer is $5.", "[invalid]"},
        {"The answer is 12\n", "1"},
        {"#### 12", "[invalid]"},
        {"", "[invalid]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        metric_gsm8k_cot_strict(cases[i][0], out, sizeof(out));
        if (strcmp(out, cases[i][1]) != 0)
            fail_msg("case %zu '%s': got '%s' want '%s'", i, cases[i][0], out, cases[i][1]);
    }
    /* scoring a stored sample: strict and flexible against the stripped gold */
    struct task_def d;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(task_find("gsm8k_cot", &d, &err), 0);
    double v[8];
    assert_int_equal(eval_rescore_sample(&d, "She has 3 + 5 = 8. The answer is 8.\n\n", "8", NULL,
                                         NULL, v, &err),
                     2);
    assert_true(v[0] == 1.0 && v[1] == 1.0);
    assert_int_equal(eval_rescore_sample(&d, "#### 8", "8", NULL, NULL, v, &err), 2);
    assert_true(v[0] == 0.0 && v[1] == 1.0); /* strict needs "The answer is" */
    assert_int_equal(eval_rescore_sample(&d, "so 1,008 in all", "1008", NULL, NULL, v, &err), 2);
    assert_true(v[0] == 0.0 && v[1] == 1.0);
}

static void test_gsm8k_cot_prompt(void **state)
{
    (void)state;
    const char *data = tu_shared("datasets/gsm8k/test.jsonl");
    TU_SKIP_IF_MISSING(data, "datasets/gsm8k/test.jsonl");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_shared("datasets"));
    struct task_def def;
    struct task_data t;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(task_find("gsm8k_cot", &def, &err), 0);
    assert_int_equal(task_load(&t, &def, dir, &err), 0);
    assert_int_equal(t.eval.n, 1319);
    assert_int_equal(t.pool.n, 8);
    assert_int_equal(task_effective_shots(&t, -1), 8);
    assert_string_equal(t.eval.docs[0].answer, "18"); /* the text after "####" */
    struct task_shots sh;
    task_shots_init(&sh, &t, -1, 1234);
    uint32_t ids[32];
    assert_int_equal(task_shots_next(&sh, &t, ids, &err), 0);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(task_render_context(&t, &t.eval.docs[0], 0, ids, 8, &b, &err), 0);
    char *want = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(&want, &len,
                                   tu_source("tests/data/evals/prompts/gsm8k_cot_doc0_8shot.txt"),
                                   1 << 20, NULL),
                     0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, want, len);
    /* the last shot ends "The answer is 8.\n\n" and the query ends at "A:" */
    assert_non_null(strstr(b.data, "23 - 15 is 8. The answer is 8.\n\nQ: Janet"));
    assert_int_equal(b.data[b.len - 1], ':');
    free(want);
    buf_release(&b);
    task_data_release(&t);
}

static void test_mbpp_sanitized(void **state)
{
    (void)state;
    const char *data = tu_shared("datasets/mbpp/sanitized-mbpp.json");
    TU_SKIP_IF_MISSING(data, "datasets/mbpp/sanitized-mbpp.json");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_shared("datasets"));
    struct task_def def;
    struct task_data t;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(task_find("mbpp_sanitized", &def, &err), 0);
    assert_int_equal(task_load(&t, &def, dir, &err), 0);
    assert_int_equal(t.eval.n, 257); /* MANIFEST: the sanitized tasks in 11..510 */
    assert_int_equal(task_effective_shots(&t, -1), 3);
    struct task_shots sh;
    task_shots_init(&sh, &t, -1, 1234);
    uint32_t ids[32];
    assert_int_equal(task_shots_next(&sh, &t, ids, &err), 0);
    assert_string_equal(t.pool.docs[ids[0]].id, "2");
    assert_string_equal(t.pool.docs[ids[2]].id, "4");

    /* every problem with test_imports: the reference passes with them, and problem 98
     * (math.isclose in its asserts, no import in its code) fails without them */
    struct sandbox *sb = NULL;
    struct sandbox_opts o;
    memset(&o, 0, sizeof(o));
    o.n_jobs = 2;
    assert_int_equal(sandbox_new(&sb, &o, &err), 0);
    struct sandbox_job jobs[40];
    memset(jobs, 0, sizeof(jobs));
    char *progs[40];
    int n = 0, i98 = -1;
    for (int64_t i = 0; i < t.eval.n && n < 39; i++) {
        const struct task_doc *d = &t.eval.docs[i];
        if (!d->test_setup)
            continue;
        if (strcmp(d->id, "98") == 0)
            i98 = (int)i;
        assert_int_equal(eval_code_program(&t, d, d->answer, &progs[n], &err), 0);
        jobs[n].program = progs[n];
        jobs[n].program_len = strlen(progs[n]);
        n++;
    }
    assert_int_equal(n, 13);
    assert_true(i98 >= 0);
    struct task_doc *d98 = &t.eval.docs[i98];
    assert_string_equal(d98->test_setup, "import math");
    char *saved = d98->test_setup;
    d98->test_setup = NULL;
    assert_int_equal(eval_code_program(&t, d98, d98->answer, &progs[n], &err), 0);
    d98->test_setup = saved;
    jobs[n].program = progs[n];
    jobs[n].program_len = strlen(progs[n]);
    n++;
    struct sandbox_result res[40];
    assert_int_equal(sandbox_run(sb, jobs, (size_t)n, res, NULL, NULL, NULL, &err), 0);
    for (int k = 0; k < n; k++) {
        int want = k < n - 1 ? SANDBOX_PASSED : SANDBOX_FAILED;
        if ((int)res[k].outcome != want)
            fail_msg("program %d: %s: %s", k, sandbox_outcome_name(res[k].outcome), res[k].reason);
        sandbox_result_release(&res[k]);
        free(progs[k]);
    }
    sandbox_free(sb);
    task_data_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cot_strict),
        cmocka_unit_test(test_gsm8k_cot_prompt),
        cmocka_unit_test(test_mbpp_sanitized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
