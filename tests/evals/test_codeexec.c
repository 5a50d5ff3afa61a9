/*
 * tests/evals/test_codeexec.c - HumanEval / MBPP programs byte for byte, pass@k against
 * the exact binomial formula, loading the shared files (and bad ones), and MBPP
 * reference solutions passing in the sandbox.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <math.h>

#include "base/file.h"
#include "evals/codeexec.h"
#include "evals/sandbox.h"

/* C(n, k) as a double, exactly for the small values used here. */
static double binom(int n, int k)
{
    double r = 1;
    for (int i = 1; i <= k; i++)
        r = r * (n - k + i) / i;
    return r;
}

static void test_pass_at_k(void **state)
{
    (void)state;
    assert_true(fabs(codeexec_pass_at_k(10, 3, 1) - 0.3) < 1e-12);
    assert_true(fabs(codeexec_pass_at_k(10, 3, 5) - (1 - 21.0 / 252.0)) < 1e-12);
    assert_true(codeexec_pass_at_k(5, 5, 1) == 1.0);
    assert_true(codeexec_pass_at_k(10, 8, 3) == 1.0); /* n - c < k */
    assert_true(codeexec_pass_at_k(10, 0, 3) == 0.0);
    assert_true(isnan(codeexec_pass_at_k(3, 1, 5))); /* k > n */
    assert_true(isnan(codeexec_pass_at_k(3, 4, 1))); /* c > n */
    assert_true(isnan(codeexec_pass_at_k(3, 1, 0)));
    for (int n = 1; n <= 30; n++)
        for (int c = 0; c <= n; c++)
            for (int k = 1; k <= n; k++) {
                double want = 1.0 - binom(n - c, k) / binom(n, k);
                double got = codeexec_pass_at_k(n, c, k);
                if (fabs(got - want) > 1e-9) {
                    fprintf(stderr, "pass@%d n=%d c=%d: got %.12f want %.12f\n", k, n, c, got,
                            want);
                    fail();
                }
            }
    /* large n stays finite where the binomials would overflow */
    double v = codeexec_pass_at_k(2000, 1000, 100);
    assert_true(v > 0.999999 && v <= 1.0);
}

static void test_programs(void **state)
{
    (void)state;
    struct codeexec_problem he = {.task_id = "HumanEval/0",
                                  .prompt = "def f(x):\n    \"\"\"d\"\"\"\n",
                                  .test =
                                      "\n\ndef check(candidate):\n    assert candidate(1) == 2\n",
                                  .entry_point = "f"};
    char *p = NULL;
    size_t len = 0;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(
        codeexec_program(&p, &len, CODEEXEC_HUMANEVAL, &he, "    return x + 1\n", &err), 0);
    assert_string_equal(
        p, "def f(x):\n    \"\"\"d\"\"\"\n    return x + 1\n\n\n\ndef check(candidate):\n"
           "    assert candidate(1) == 2\n\ncheck(f)");
    assert_int_equal(len, strlen(p));
    free(p);
    struct codeexec_problem mb = {.task_id = "11",
                                  .prompt = "t",
                                  .test = "assert g(1) == 1\nassert g(2) == 2\nassert g(3) == 3"};
    assert_int_equal(
        codeexec_program(&p, &len, CODEEXEC_MBPP, &mb, "def g(x):\r\n\treturn x", &err), 0);
    assert_string_equal(
        p, "def g(x):\r\n\treturn x\nassert g(1) == 1\nassert g(2) == 2\nassert g(3) == 3");
    free(p);
}

static void test_load_humaneval(void **state)
{
    (void)state;
    const char *path = tu_shared("datasets/humaneval/HumanEval.jsonl.gz");
    TU_SKIP_IF_MISSING(path, "datasets/humaneval/HumanEval.jsonl.gz");
    struct codeexec_problems ps;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(codeexec_load(&ps, CODEEXEC_HUMANEVAL, path, &err), 0);
    assert_int_equal(ps.n, 164);
    const struct codeexec_problem *p = codeexec_find(&ps, "HumanEval/0");
    assert_non_null(p);
    assert_string_equal(p->entry_point, "has_close_elements");
    assert_non_null(codeexec_find(&ps, "HumanEval/163"));
    assert_null(codeexec_find(&ps, "HumanEval/164"));
    codeexec_problems_release(&ps);
}

static void test_load_bad(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir();
    char path[1024];
    snprintf(path, sizeof(path), "%s/bad.jsonl", dir);
    const char *text =
        "{\"task_id\": \"A/0\", \"prompt\": \"p\", \"test\": \"t\", \"entry_point\": "
        "\"f\", \"canonical_solution\": \"s\"}\n{\"task_id\": \"A/1\", \"prompt\": 3}\n";
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(file_write_atomic(path, text, strlen(text), &err), 0);
    struct codeexec_problems ps;
    assert_int_equal(codeexec_load(&ps, CODEEXEC_HUMANEVAL, path, &err), ASSAY_EINVAL);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.msg, "'prompt'"));
    assert_null(ps.v);
}

static void test_mbpp_references_pass(void **state)
{
    (void)state;
    const char *path = tu_shared("datasets/mbpp/mbpp.jsonl");
    TU_SKIP_IF_MISSING(path, "datasets/mbpp/mbpp.jsonl");
    struct codeexec_problems ps;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(codeexec_load(&ps, CODEEXEC_MBPP, path, &err), 0);
    assert_int_equal(ps.n, 974);
    assert_non_null(codeexec_find(&ps, "Mbpp/11"));
    assert_ptr_equal(codeexec_find(&ps, "11"), codeexec_find(&ps, "mbpp/11"));
    /* the reference code of tasks 11..30 passes its three asserts; a wrong one fails */
    enum { N = 21 };
    struct sandbox_job jobs[N];
    char *progs[N];
    for (int i = 0; i < N - 1; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", 11 + i);
        const struct codeexec_problem *p = codeexec_find(&ps, id);
        assert_non_null(p);
        size_t len;
        assert_int_equal(codeexec_program(&progs[i], &len, CODEEXEC_MBPP, p, p->reference, &err),
                         0);
        jobs[i].program = progs[i];
        jobs[i].program_len = len;
    }
    size_t len;
    assert_int_equal(codeexec_program(&progs[N - 1], &len, CODEEXEC_MBPP, codeexec_find(&ps, "11"),
                                      "def remove_Occ(s, ch):\n    return s\n", &err),
                     0);
    jobs[N - 1].program = progs[N - 1];
    jobs[N - 1].program_len = len;
    struct sandbox *sb = NULL;
    struct sandbox_opts o;
    memset(&o, 0, sizeof(o));
    o.n_jobs = 2;
    assert_int_equal(sandbox_new(&sb, &o, &err), 0);
    struct sandbox_result res[N];
    assert_int_equal(sandbox_run(sb, jobs, N, res, NULL, NULL, NULL, &err), 0);
    for (int i = 0; i < N; i++) {
        if (i < N - 1 && res[i].outcome != SANDBOX_PASSED)
            fprintf(stderr, "mbpp %d: %s: %s\n%s\n", 11 + i, sandbox_outcome_name(res[i].outcome),
                    res[i].reason, res[i].output);
        assert_int_equal(res[i].outcome, i < N - 1 ? SANDBOX_PASSED : SANDBOX_FAILED);
        sandbox_result_release(&res[i]);
        free(progs[i]);
    }
    sandbox_free(sb);
    codeexec_problems_release(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_at_k),
        cmocka_unit_test(test_programs),
        cmocka_unit_test(test_load_humaneval),
        cmocka_unit_test(test_load_bad),
        cmocka_unit_test(test_mbpp_references_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
