/*
 * tests/evals/test_passk.c - the unbiased pass@k estimator against hand-computed values
 * (n = 10, c = 3, k = 1..10; c = 0; c = n), a large n whose binomials overflow a double,
 * and the mean over problems with its standard error (codeexec_pass_at_k_mean, which
 * `assay run --samples` stores).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <math.h>

#include "evals/codeexec.h"

static void test_hand_computed(void **state)
{
    (void)state;
    /* 1 - C(7,k)/C(10,k): C(10,k) = 10 45 120 210 252 210 120 45 10 1,
     * C(7,k) = 7 21 35 35 21 7 1 0 0 0 */
    static const double want[11] = {0,
                                    1 - 7.0 / 10,
                                    1 - 21.0 / 45,
                                    1 - 35.0 / 120,
                                    1 - 35.0 / 210,
                                    1 - 21.0 / 252,
                                    1 - 7.0 / 210,
                                    1 - 1.0 / 120,
                                    1,
                                    1,
                                    1};
    for (int k = 1; k <= 10; k++) {
        double got = codeexec_pass_at_k(10, 3, k);
        if (fabs(got - want[k]) > 1e-12)
            fail_msg("n=10 c=3 k=%d: got %.15f want %.15f", k, got, want[k]);
    }
    assert_true(fabs(codeexec_pass_at_k(10, 3, 1) - 0.3) < 1e-15);
    assert_true(fabs(codeexec_pass_at_k(10, 3, 2) - 24.0 / 45) < 1e-15);
    for (int k = 1; k <= 10; k++) {
        assert_true(codeexec_pass_at_k(10, 0, k) == 0.0);  /* nothing passed */
        assert_true(codeexec_pass_at_k(10, 10, k) == 1.0); /* everything passed */
    }
    assert_true(isnan(codeexec_pass_at_k(10, 3, 11))); /* k > n */
    assert_true(isnan(codeexec_pass_at_k(10, 3, 0)));
}

static void test_large_n(void **state)
{
    (void)state;
    /* C(100000, 100) ~ 1e342 overflows a double; the product form does not */
    int64_t n = 100000, c = 50000, k = 100;
    double got = codeexec_pass_at_k(n, c, k);
    /* reference via log-gamma: C(n-c,k)/C(n,k) */
    double lr = lgamma((double)(n - c + 1)) - lgamma((double)(n - c - k + 1)) -
                lgamma((double)(n + 1)) + lgamma((double)(n - k + 1));
    double want = 1 - exp(lr);
    assert_true(isfinite(got));
    if (fabs(got - want) > 1e-9)
        fail_msg("n=%lld: got %.15g want %.15g", (long long)n, got, want);
    /* k = 2 in closed form */
    double w2 = 1 - (50000.0 * 49999.0) / (100000.0 * 99999.0);
    assert_true(fabs(codeexec_pass_at_k(n, c, 2) - w2) < 1e-12);
    /* small c, huge n: 1 - (1 - k/n)^... stays accurate and in [0, 1] */
    double g = codeexec_pass_at_k(1000000, 1, 1);
    assert_true(fabs(g - 1e-6) < 1e-15);
    assert_true(codeexec_pass_at_k(1000000, 999999, 2) == 1.0);
}

static void test_mean_over_problems(void **state)
{
    (void)state;
    int64_t n[3] = {10, 10, 0}, c[3] = {3, 0, 0};
    double mean, se;
    int64_t used;
    assert_int_equal(codeexec_pass_at_k_mean(n, c, 3, 1, &mean, &se, &used), 0);
    assert_int_equal(used, 2); /* the problem without samples is left out */
    assert_true(fabs(mean - 0.15) < 1e-15);
    /* values 0.3 and 0: sample sd 0.3/sqrt(2), se = sd/sqrt(2) = 0.15 */
    assert_true(fabs(se - 0.15) < 1e-12);
    assert_int_equal(codeexec_pass_at_k_mean(n, c, 3, 10, &mean, &se, &used), 0);
    assert_true(fabs(mean - 0.5) < 1e-15);
    /* a problem with fewer than k samples: not reported */
    assert_int_equal(codeexec_pass_at_k_mean(n, c, 3, 11, &mean, &se, &used), -1);
    assert_true(isnan(mean));
    /* one problem: no standard error */
    assert_int_equal(codeexec_pass_at_k_mean(n, c, 1, 2, &mean, &se, &used), 0);
    assert_true(fabs(mean - 24.0 / 45) < 1e-15);
    assert_true(isnan(se));
    int64_t z[2] = {0, 0};
    assert_int_equal(codeexec_pass_at_k_mean(z, z, 2, 1, &mean, &se, &used), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_large_n),
        cmocka_unit_test(test_mean_over_problems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
