/*
 * tests/reports/test_compare_stats.c - the comparison statistics against values computed
 * by hand (binomial sums written out below) and known scipy figures
 * (scipy.stats.chi2.sf(3.841458820694124, 1) = 0.05, chi2.sf(2.7, 1) = 0.1003482464...,
 * binomtest(1, 6).pvalue = 0.21875, numpy.quantile default = type 7).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"
#include "reports/compare_stats.h"

static void test_quantile(void **state)
{
    (void)state;
    double v[] = {1, 2, 3, 4};
    assert_float_equal(cmp_quantile_sorted(v, 4, 0.5), 2.5, 1e-12);
    assert_float_equal(cmp_quantile_sorted(v, 4, 0.25), 1.75, 1e-12);
    assert_float_equal(cmp_quantile_sorted(v, 4, 0.975), 3.925, 1e-12);
    assert_float_equal(cmp_quantile_sorted(v, 4, 0), 1, 0);
    assert_float_equal(cmp_quantile_sorted(v, 4, 1), 4, 0);
    assert_float_equal(cmp_quantile_sorted(v, 1, 0.3), 1, 0);
    assert_true(isnan(cmp_quantile_sorted(v, 0, 0.5)));
}

static void test_binomial_and_chi2(void **state)
{
    (void)state;
    /* 1 of 6: 2 * (C(6,0) + C(6,1)) / 2^6 = 14/64 */
    assert_float_equal(cmp_binom_two_sided_half(1, 6), 0.21875, 1e-12);
    assert_float_equal(cmp_binom_two_sided_half(5, 6), 0.21875, 1e-12); /* symmetric */
    assert_float_equal(cmp_binom_two_sided_half(3, 6), 1.0, 0);         /* capped at 1 */
    /* 5 of 24: 2 * (1 + 24 + 276 + 2024 + 10626 + 42504) / 2^24 */
    assert_float_equal(cmp_binom_two_sided_half(5, 24), 2.0 * 55455 / 16777216.0, 1e-12);
    assert_float_equal(cmp_binom_two_sided_half(0, 0), 1.0, 0);
    /* large n does not overflow: 0 of 2000 is 2^-1999, below double range: 0 */
    assert_true(cmp_binom_two_sided_half(0, 2000) < 1e-300);
    assert_float_equal(cmp_binom_two_sided_half(1000, 2000), 1.0, 1e-12);

    assert_float_equal(cmp_chi2_sf_1df(3.841458820694124), 0.05, 1e-9);
    assert_float_equal(cmp_chi2_sf_1df(2.7), 0.10034824646229, 1e-11);
    assert_float_equal(cmp_chi2_sf_1df(0), 1.0, 0);
}

static void test_mcnemar(void **state)
{
    (void)state;
    struct cmp_mcnemar m;
    cmp_mcnemar(&m, 0, 0);
    assert_int_equal(m.exact, 1);
    assert_float_equal(m.p_value, 1.0, 0);
    cmp_mcnemar(&m, 1, 5);
    assert_int_equal(m.exact, 1);
    assert_float_equal(m.statistic, 1, 0);
    assert_float_equal(m.p_value, 0.21875, 1e-12);
    cmp_mcnemar(&m, 19, 5); /* 24 discordant: still exact */
    assert_int_equal(m.exact, 1);
    assert_float_equal(m.p_value, 2.0 * 55455 / 16777216.0, 1e-12);
    cmp_mcnemar(&m, 10, 20); /* 30 discordant: (|10-20| - 1)^2 / 30 = 2.7 */
    assert_int_equal(m.exact, 0);
    assert_float_equal(m.statistic, 2.7, 1e-12);
    assert_float_equal(m.p_value, 0.10034824646229, 1e-11);
    cmp_mcnemar(&m, 15, 15); /* no difference: statistic 0 (correction floors at 0) */
    assert_int_equal(m.exact, 0);
    assert_float_equal(m.statistic, 0, 0);
    assert_float_equal(m.p_value, 1.0, 0);
}

static void test_bootstrap_degenerate(void **state)
{
    (void)state;
    double a[] = {1, 0, 1, 0, 1}, b[] = {1, 0, 1, 0, 1}, ones[] = {1, 1, 1, 1, 1},
           zeros[] = {0, 0, 0, 0, 0};
    struct cmp_interval ci;
    assert_int_equal(cmp_paired_bootstrap(&ci, a, b, 5, 1000, 7, 0.95, NULL), 0);
    /* identical runs: every resampled delta is exactly 0 */
    assert_float_equal(ci.delta, 0, 0);
    assert_float_equal(ci.lo, 0, 0);
    assert_float_equal(ci.hi, 0, 0);
    assert_int_equal(cmp_paired_bootstrap(&ci, zeros, ones, 5, 1000, 7, 0.95, NULL), 0);
    assert_float_equal(ci.delta, 1, 0);
    assert_float_equal(ci.lo, 1, 0);
    assert_float_equal(ci.hi, 1, 0);
    assert_float_equal(ci.mean_a, 0, 0);
    assert_float_equal(ci.mean_b, 1, 0);
    assert_int_equal(cmp_paired_bootstrap(&ci, a, b, 0, 1000, 7, 0.95, NULL), 0);
    assert_true(isnan(ci.delta) && isnan(ci.lo));
    struct assay_error err = {0};
    assert_int_equal(cmp_paired_bootstrap(&ci, a, b, 5, 0, 7, 0.95, &err), ASSAY_EUSAGE);
    assert_int_equal(cmp_paired_bootstrap(&ci, a, b, 5, 10, 7, 1.0, NULL), ASSAY_EUSAGE);
}

static void test_bootstrap_matches_normal_theory(void **state)
{
    (void)state;
    /* 400 pairs: A right on 200, B right on 240, built so the paired differences are
     * d = +1 on 60, -1 on 20, 0 on 320. mean d = 0.1, var d (population) =
     * 80/400 - 0.01 = 0.19, so the bootstrap sd of the mean is sqrt(0.19/400) = 0.021794
     * and a 95% interval is about 0.1 +- 1.96 * 0.021794 = [0.0573, 0.1427]. */
    enum { N = 400 };
    double a[N], b[N];
    for (int i = 0; i < N; i++) {
        if (i < 60) {
            a[i] = 0, b[i] = 1;
        } else if (i < 80) {
            a[i] = 1, b[i] = 0;
        } else if (i < 80 + 180) {
            a[i] = 1, b[i] = 1;
        } else {
            a[i] = 0, b[i] = 0;
        }
    }
    struct cmp_interval ci, again, other;
    assert_int_equal(cmp_paired_bootstrap(&ci, a, b, N, CMP_BOOTSTRAP_RESAMPLES,
                                          CMP_BOOTSTRAP_SEED, 0.95, NULL),
                     0);
    assert_float_equal(ci.mean_a, 200.0 / N, 1e-12);
    assert_float_equal(ci.mean_b, 240.0 / N, 1e-12);
    assert_float_equal(ci.delta, 0.1, 1e-12);
    assert_float_equal(ci.lo, 0.0573, 0.006);
    assert_float_equal(ci.hi, 0.1427, 0.006);
    assert_true(ci.lo < ci.delta && ci.delta < ci.hi);
    /* the same seed reproduces the interval exactly; another seed moves it a little */
    assert_int_equal(cmp_paired_bootstrap(&again, a, b, N, CMP_BOOTSTRAP_RESAMPLES,
                                          CMP_BOOTSTRAP_SEED, 0.95, NULL),
                     0);
    assert_true(again.lo == ci.lo && again.hi == ci.hi);
    assert_int_equal(cmp_paired_bootstrap(&other, a, b, N, CMP_BOOTSTRAP_RESAMPLES, 12345,
                                          0.95, NULL),
                     0);
    assert_float_equal(other.lo, ci.lo, 0.006);
    /* swapping the runs mirrors the interval */
    struct cmp_interval sw;
    assert_int_equal(cmp_paired_bootstrap(&sw, b, a, N, CMP_BOOTSTRAP_RESAMPLES,
                                          CMP_BOOTSTRAP_SEED, 0.95, NULL),
                     0);
    assert_float_equal(sw.lo, -ci.hi, 1e-12);
    assert_float_equal(sw.hi, -ci.lo, 1e-12);
}

static void test_logit_position(void **state)
{
    (void)state;
    struct cmp_logit_pos p;
    float same[] = {1, 2, 3, -1};
    assert_int_equal(cmp_logit_position(&p, same, same, 4, 2, NULL), 0);
    assert_float_equal(p.kl, 0, 1e-12);
    assert_int_equal(p.top1_base, 2);
    assert_int_equal(p.top1_model, 2);
    assert_float_equal(p.logp_base, p.logp_model, 1e-12);

    /* p = (0.5, 0.5), q = (0.9, 0.1): KL = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) */
    float base[] = {0, 0};
    float model[] = {(float)log(0.9) + 7, (float)log(0.1) + 7}; /* a shift changes nothing */
    assert_int_equal(cmp_logit_position(&p, base, model, 2, 1, NULL), 0);
    assert_float_equal(p.kl, 0.5108256237659907, 1e-6);
    assert_int_equal(p.top1_base, 0); /* tie: lowest index */
    assert_int_equal(p.top1_model, 0);
    assert_float_equal(p.logp_base, log(0.5), 1e-6);
    assert_float_equal(p.logp_model, log(0.1), 1e-6);
    assert_int_equal(cmp_logit_position(&p, base, model, 2, -1, NULL), 0);
    assert_true(isnan(p.logp_base));

    /* a token the base never produces adds nothing; one the model never produces that
     * the base does makes the divergence infinite */
    float b3[] = {0, 0, -INFINITY}, m3[] = {0, 0, 5};
    assert_int_equal(cmp_logit_position(&p, b3, b3, 3, 0, NULL), 0);
    assert_float_equal(p.kl, 0, 1e-12);
    assert_int_equal(cmp_logit_position(&p, m3, b3, 3, 0, NULL), 0);
    assert_true(isinf(p.kl));

    float bad[] = {0, NAN};
    struct assay_error err = {0};
    assert_int_equal(cmp_logit_position(&p, bad, base, 2, 0, &err), ASSAY_EINVAL);
    assert_int_equal(cmp_logit_position(&p, base, base, 2, 2, NULL), ASSAY_EUSAGE);
}

static void test_kl_summary(void **state)
{
    (void)state;
    double kl[100];
    for (int i = 0; i < 100; i++)
        kl[i] = (double)(99 - i); /* 0..99 reversed: summarize sorts */
    struct cmp_kl_summary s;
    cmp_kl_summarize(&s, kl, 100);
    assert_float_equal(s.mean, 49.5, 1e-12);
    assert_float_equal(s.median, 49.5, 1e-12);
    assert_float_equal(s.p99, 98.01, 1e-9); /* numpy.quantile(range(100), 0.99) */
    assert_float_equal(s.max, 99, 0);
    cmp_kl_summarize(&s, kl, 0);
    assert_true(isnan(s.mean));
}

/* Kendall tau-b against scipy.stats.kendalltau's default (variant 'b'), worked by hand:
 * tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2)), n0 = n(n-1)/2, n1/n2 pairs tied in x/y. */
static void test_kendall_tau_b(void **state)
{
    (void)state;
    const double a[] = {1, 2, 3, 4, 5}, rev[] = {5, 4, 3, 2, 1};
    assert_float_equal(cmp_kendall_tau_b(a, a, 5), 1.0, 1e-12);
    assert_float_equal(cmp_kendall_tau_b(a, rev, 5), -1.0, 1e-12);
    /* kendalltau([1,2,2,3], [1,2,3,3]): C = 4, D = 0, one tie in each: 4 / sqrt(5 * 5) */
    const double tx[] = {1, 2, 2, 3}, ty[] = {1, 2, 3, 3};
    assert_float_equal(cmp_kendall_tau_b(tx, ty, 4), 0.8, 1e-12);
    /* kendalltau([1,2,3,4,5], [3,4,1,2,5]): C = 6, D = 4 -> 0.2 */
    const double my[] = {3, 4, 1, 2, 5};
    assert_float_equal(cmp_kendall_tau_b(a, my, 5), 0.2, 1e-12);
    /* accuracies with ties in both lists: of the 10 pairs, (0,1) is tied in x, (1,2),
     * (1,4), (2,4) in y; C = 2 ((0,2), (0,4)), D = 4 ((0,3), (1,3), (2,3), (3,4));
     * -2 / sqrt((10 - 1)(10 - 3)) = -2 / sqrt(63) = -0.25197631533948484 (scipy:
     * kendalltau([.5,.5,.75,.25,1], [.25,.5,.5,.75,.5]).statistic = -0.2519763153394848) */
    const double ax[] = {0.5, 0.5, 0.75, 0.25, 1.0}, ay[] = {0.25, 0.5, 0.5, 0.75, 0.5};
    assert_float_equal(cmp_kendall_tau_b(ax, ay, 5), -0.25197631533948484, 1e-12);
    assert_float_equal(cmp_kendall_tau_b(ay, ax, 5), -0.25197631533948484, 1e-12);
    /* a pair tied in both counts in n1 and n2: [1,1,2] vs [3,3,4]: 2 / sqrt(2 * 2) = 1 */
    const double jx[] = {1, 1, 2}, jy[] = {3, 3, 4};
    assert_float_equal(cmp_kendall_tau_b(jx, jy, 3), 1.0, 1e-12);
    /* undefined: a constant list or fewer than two pairs (scipy: nan) */
    const double flat[] = {1, 1, 1};
    assert_true(isnan(cmp_kendall_tau_b(a, flat, 3)));
    assert_true(isnan(cmp_kendall_tau_b(a, a, 1)));
    assert_true(isnan(cmp_kendall_tau_b(a, a, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_binomial_and_chi2),
        cmocka_unit_test(test_mcnemar),
        cmocka_unit_test(test_bootstrap_degenerate),
        cmocka_unit_test(test_bootstrap_matches_normal_theory),
        cmocka_unit_test(test_logit_position),
        cmocka_unit_test(test_kl_summary),
        cmocka_unit_test(test_kendall_tau_b),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
