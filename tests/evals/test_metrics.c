/*
 * tests/evals/test_metrics.c - metric formulas on small cases computed by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"
#include "evals/codeexec.h"
#include "evals/metric.h"

static void test_mean_stderr(void **state)
{
    (void)state;
    /* 0/1 scores: p = 0.75, n = 4: sqrt(p(1-p)/(n-1)) = sqrt(0.1875/3) = 0.25 */
    double x[] = {1, 0, 1, 1}, m, se;
    metric_mean_stderr(x, 4, &m, &se);
    assert_float_equal(m, 0.75, 1e-12);
    assert_float_equal(se, 0.25, 1e-12);
    /* non-binary: 1, 2, 3, 4: var = 5/3, se = sqrt(5/12) */
    double y[] = {1, 2, 3, 4};
    metric_mean_stderr(y, 4, &m, &se);
    assert_float_equal(m, 2.5, 1e-12);
    assert_float_equal(se, sqrt(5.0 / 12.0), 1e-12);
    metric_mean_stderr(y, 1, &m, &se);
    assert_true(isnan(se));
    metric_mean_stderr(y, 0, &m, &se);
    assert_true(isnan(m));
}

static void test_argmax(void **state)
{
    (void)state;
    double ll[] = {-3, -1, -1, -2};
    assert_int_equal(metric_argmax(ll, 4), 1); /* tie: the lowest index */
    double lln[] = {-4, -6};
    int64_t chars[] = {2, 4}; /* -2 vs -1.5 */
    assert_int_equal(metric_argmax(lln, 2), 0);
    assert_int_equal(metric_argmax_norm(lln, chars, 2), 1);
    int64_t zero[] = {0, 4}; /* an empty choice is divided by 1 */
    assert_int_equal(metric_argmax_norm(lln, zero, 2), 1);
    double withnan[] = {NAN, -5};
    assert_int_equal(metric_argmax(withnan, 2), 1);
    assert_int_equal(metric_argmax(ll, 0), -1);
}

static void test_mc2(void **state)
{
    (void)state;
    double ll[] = {log(0.2), log(0.3), log(0.5)};
    int8_t lab[] = {1, 0, 1};
    assert_float_equal(metric_mc2(ll, lab, 3), 0.7, 1e-12);
    /* raw sums far below exp's range: the max is subtracted first */
    double tiny[] = {-2000 + log(0.2), -2000 + log(0.3), -2000 + log(0.5)};
    assert_float_equal(metric_mc2(tiny, lab, 3), 0.7, 1e-9);
    /* a false answer before a true one: selected by mask, not by position */
    int8_t lab2[] = {0, 1, 0};
    assert_float_equal(metric_mc2(ll, lab2, 3), 0.3, 1e-12);
}

static void test_pass_at_k(void **state)
{
    (void)state;
    /* the code tasks' estimator, as the runner's pass@1 relies on it */
    assert_float_equal(codeexec_pass_at_k(10, 3, 1), 0.3, 1e-12);
    assert_float_equal(codeexec_pass_at_k(5, 4, 2), 1.0, 0); /* n - c < k */
    /* 1 - C(8,5)/C(10,5) = 1 - 56/252 */
    assert_float_equal(codeexec_pass_at_k(10, 2, 5), 1.0 - 56.0 / 252.0, 1e-12);
}

static void test_pooled(void **state)
{
    (void)state;
    /* two subtasks of 4 with se 0.25: (3*4*0.0625)*2 / (8-2) = 0.25; sqrt(0.25/8) */
    int64_t n[] = {4, 4};
    double se[] = {0.25, 0.25};
    assert_float_equal(metric_pooled_stderr(n, se, 2), sqrt(0.25 / 8), 1e-12);
    double se2[] = {0.25, NAN};
    assert_true(isnan(metric_pooled_stderr(n, se2, 2)));
}

static void check_gsm(const char *text, const char *strict, const char *flexible)
{
    char s[64], f[64];
    metric_gsm8k_strict(text, s, sizeof(s));
    metric_gsm8k_flexible(text, f, sizeof(f));
    if (strcmp(s, strict) || strcmp(f, flexible))
        fprintf(stderr, "input %s\n  strict   want '%s' got '%s'\n  flexible want '%s' got '%s'\n",
                text, strict, s, flexible, f);
    assert_string_equal(s, strict);
    assert_string_equal(f, flexible);
}

static void test_gsm8k_extract(void **state)
{
    (void)state;
    check_gsm("She makes 9 * 2 = $18.\n#### 1,234.", "1,234.", "1,234.");
    check_gsm("I have 3 apples and $4.50 total.", "[invalid]", "$4.50");
    check_gsm("It is -5 degrees", "[invalid]", "-5");
    check_gsm("no digits at all", "[invalid]", "[invalid]");
    check_gsm("", "[invalid]", "[invalid]");
    check_gsm("#### -", "[invalid]", "[invalid]");
    check_gsm("#### -12 and then 7", "-12", "7");
    check_gsm("a-b 12-3", "[invalid]", "-3"); /* "12" then "-3": the last match */
    char g[64] = "Janet sells 9 eggs.\nShe makes $18.\n#### 18";
    metric_gsm8k_normalize(g);
    assert_string_equal(g, "18");
    char p[64] = "1,234.";
    metric_gsm8k_normalize(p);
    assert_string_equal(p, "1234");
    char q[64] = "$4.50";
    metric_gsm8k_normalize(q);
    assert_string_equal(q, "4.50");
    char r[64] = "ABC.\n";
    metric_gsm8k_normalize(r);
    assert_string_equal(r, "abc\n");
}

static void test_wilson(void **state)
{
    (void)state;
    double lo, hi;
    metric_wilson(5, 10, &lo, &hi); /* symmetric around 0.5 */
    assert_float_equal(lo + hi, 1.0, 1e-12);
    /* half-width 1.96 * sqrt(0.025 + 3.8415/400) / 1.38415 = 0.26340 */
    assert_float_equal(hi - lo, 2 * 0.26340, 2e-4);
    metric_wilson(0, 10, &lo, &hi);
    assert_float_equal(lo, 0.0, 1e-12);
    assert_true(hi > 0.27 && hi < 0.28); /* 0.2775 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_stderr),   cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_mc2),           cmocka_unit_test(test_pass_at_k),
        cmocka_unit_test(test_gsm8k_extract), cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_pooled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
