/*
 * tests/engine/test_sample.c - the sampler: greedy ties, determinism under a seed, the
 * filters keeping exactly the tokens they should, log-softmax.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"
#include "engine/sample.h"

static void test_argmax_ties_lowest(void **state)
{
    float l[5] = {1, 3, 3, 2, -1};
    assert_int_equal(smp_argmax(l, 5), 1);
}

static void test_logprob(void **state)
{
    float l[3] = {0, 0, 0};
    assert_true(fabs(smp_logprob(l, 3, 1) - log(1.0 / 3)) < 1e-12);
    float big[2] = {1000, 0};
    assert_true(fabs(smp_logprob(big, 2, 0)) < 1e-12); /* no overflow */
    assert_true(smp_logprob(big, 2, 1) < -999);
}

static void test_seeded_reproducible(void **state)
{
    struct smp s;
    assert_int_equal(smp_init(&s, 100, NULL), 0);
    float l[100];
    for (int i = 0; i < 100; i++)
        l[i] = (float)sin(i * 0.37) * 2;
    struct smp_params p = {.temperature = 1.0f, .top_p = 1.0f};
    struct smp_rng r1, r2;
    smp_rng_seed(&r1, 42);
    smp_rng_seed(&r2, 42);
    int differ = 0;
    for (int t = 0; t < 200; t++) {
        int32_t a = smp_sample(&s, l, &p, &r1);
        int32_t b = smp_sample(&s, l, &p, &r2);
        assert_int_equal(a, b);
    }
    smp_rng_seed(&r2, 43);
    smp_rng_seed(&r1, 42);
    for (int t = 0; t < 50; t++)
        differ += smp_sample(&s, l, &p, &r1) != smp_sample(&s, l, &p, &r2);
    assert_true(differ > 0);
    smp_release(&s);
}

static void test_filters(void **state)
{
    struct smp s;
    assert_int_equal(smp_init(&s, 8, NULL), 0);
    /* probabilities proportional to 2^(-i) roughly: token 0 best */
    float l[8];
    for (int i = 0; i < 8; i++)
        l[i] = -(float)i * 0.7f;
    struct smp_rng r;
    smp_rng_seed(&r, 7);
    int seen[8] = {0};
    struct smp_params topk = {.temperature = 1.0f, .top_k = 2, .top_p = 1.0f};
    for (int t = 0; t < 2000; t++)
        seen[smp_sample(&s, l, &topk, &r)]++;
    assert_true(seen[0] > 0 && seen[1] > 0);
    for (int i = 2; i < 8; i++)
        assert_int_equal(seen[i], 0);

    memset(seen, 0, sizeof(seen));
    struct smp_params minp = {.temperature = 1.0f, .top_p = 1.0f, .min_p = 0.3f};
    /* p_i / p_0 = exp(-0.7 i): 1, 0.50, 0.25 -> keeps tokens 0 and 1 */
    for (int t = 0; t < 2000; t++)
        seen[smp_sample(&s, l, &minp, &r)]++;
    assert_true(seen[0] > 0 && seen[1] > 0);
    for (int i = 2; i < 8; i++)
        assert_int_equal(seen[i], 0);

    memset(seen, 0, sizeof(seen));
    struct smp_params topp = {.temperature = 1.0f, .top_p = 0.01f};
    for (int t = 0; t < 200; t++)
        seen[smp_sample(&s, l, &topp, &r)]++;
    assert_int_equal(seen[0], 200); /* nucleus of one token */

    struct smp_params greedy = {.temperature = 0};
    assert_int_equal(smp_sample(&s, l, &greedy, &r), 0);
    smp_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argmax_ties_lowest),
        cmocka_unit_test(test_logprob),
        cmocka_unit_test(test_seeded_reproducible),
        cmocka_unit_test(test_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
