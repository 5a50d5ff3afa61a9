/*
 * tests/reports/test_sweepview.c - a sweep run's stored metrics regrouped for the pages
 * (reports/sweepview.c): groups first, formats best first with the lm-eval default found,
 * positions parsed strictly, malformed names ignored, text that is not UTF-8 kept valid
 * in the JSON; and two runs compared over the formats both ran.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "testutil.h"
#include "reports/sweepview.h"

#define M(task, name, v, se, n)                                                                    \
    {                                                                                              \
        (char *)(task), (char *)(name), (v), (se), (n)                                             \
    }

static const struct store_metric run_a[] = {
    M("mmlu_x", "acc@t0i0u0n0w0q0l0p0c0a0o1", 0.50, 0.1, 10),
    M("mmlu_x", "acc@t0i0u0n0w0q0l0p0c0a0o0", 0.25, 0.1, 10),
    M("mmlu_x", "acc@t1i0u0n0w0q0l0p0c0a0o0", 0.75, 0.1, 10),
    M("mmlu_x", "fmt_mean", 0.5, NAN, 3),
    M("mmlu_x", "fmt_std", 0.25, NAN, 3),
    M("mmlu_x", "fmt_spread", 0.5, NAN, 3),
    M("mmlu_x", "gold_rate_pos1", 0.5, NAN, 30),
    M("mmlu_x", "gold_rate_pos2", 0.5, NAN, 30),
    M("mmlu_x", "acc_gold_pos2", 0.6, 0.05, 15),
    M("mmlu_x", "pick_rate_pos1", 0.7, NAN, 30),
    M("mmlu_x", "pick_rate_pos2", 0.3, NAN, 30),
    M("mmlu_x", "pick_rate_pos0", 0.3, NAN, 30),  /* no position 0 */
    M("mmlu_x", "pick_rate_pos27", 0.3, NAN, 30), /* past the labels */
    M("mmlu_x", "pick_rate_pos2x", 0.3, NAN, 30), /* trailing junk */
    M("mmlu_x", "recall_std", 0.1, NAN, 2),
    M("mmlu", "acc@t0i0u0n0w0q0l0p0c0a0o0", 0.25, 0.1, 10),
    M("mmlu", "fmt_mean", 0.25, NAN, 1),
    M("other", "acc", 0.9, 0.01, 100), /* not a sweep task: no fmt_mean */
};

static void test_view(void **state)
{
    (void)state;
    struct rpt_sweep_view v;
    int64_t n = (int64_t)(sizeof(run_a) / sizeof(run_a[0]));
    assert_int_equal(rpt_sweep_view_build(&v, run_a, n, "{\"tasks\":[\"mmlu_x\"]}", NULL), 0);
    assert_int_equal(v.n_tasks, 2);
    assert_string_equal(v.tasks[0].task, "mmlu"); /* the group first */
    assert_true(v.tasks[0].group);
    const struct rpt_sweep_task *t = &v.tasks[1];
    assert_false(t->group);
    assert_int_equal(t->n_fmts, 3);
    assert_string_equal(t->fmts[0].id, "t1i0u0n0w0q0l0p0c0a0o0"); /* best first */
    assert_string_equal(t->fmts[2].id, RPT_SWEEP_DEFAULT_FMT);
    assert_int_equal(t->default_idx, 2);
    assert_float_equal(t->std, 0.25, 0);
    assert_true(isnan(t->min)); /* not stored */
    assert_int_equal(t->n_pos, 2);
    assert_int_equal(t->n_samples, 30);
    assert_true(isnan(t->pos[0].acc_gold)); /* the gold never at 1 in this data */
    assert_float_equal(t->pos[1].acc_gold, 0.6, 0);
    assert_int_equal(t->pos[1].n_gold, 15);
    assert_float_equal(t->pos[0].pick_rate, 0.7, 0);

    json_t *j = rpt_sweep_view_json(&v);
    assert_non_null(j);
    json_t *jt = json_array_get(json_object_get(j, "tasks"), 1);
    assert_float_equal(json_real_value(json_object_get(jt, "uniform_rate")), 0.5, 0);
    assert_true(json_is_null(json_object_get(jt, "fmt_min")));
    json_t *f = json_array_get(json_object_get(jt, "formats"), 2);
    assert_true(json_is_true(json_object_get(f, "default")));
    json_decref(j);
    rpt_sweep_view_release(&v);

    /* no configuration: no group */
    assert_int_equal(rpt_sweep_view_build(&v, run_a, n, NULL, NULL), 0);
    assert_false(v.tasks[0].group || v.tasks[1].group);
    assert_string_equal(v.tasks[0].task, "mmlu"); /* then by name */
    rpt_sweep_view_release(&v);
}

static void test_not_utf8(void **state)
{
    (void)state;
    const struct store_metric m[] = {
        M("bad\xff", "acc@t0\xc3", 0.5, 0.1, 4),
        M("bad\xff", "fmt_mean", 0.5, NAN, 1),
    };
    struct rpt_sweep_view v;
    assert_int_equal(rpt_sweep_view_build(&v, m, 2, NULL, NULL), 0);
    json_t *j = rpt_sweep_view_json(&v);
    assert_non_null(j);
    json_t *t = json_array_get(json_object_get(j, "tasks"), 0);
    assert_string_equal(json_string_value(json_object_get(t, "task")), "bad\xEF\xBF\xBD");
    json_t *f = json_array_get(json_object_get(t, "formats"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "id")), "t0\xEF\xBF\xBD");
    json_decref(j);
    rpt_sweep_view_release(&v);
}

static void test_compare(void **state)
{
    (void)state;
    /* b ran the default and o1 (as a) and a format a did not run */
    const struct store_metric run_b[] = {
        M("mmlu_x", "acc@t0i0u0n0w0q0l0p0c0a0o0", 0.30, 0.1, 10),
        M("mmlu_x", "acc@t0i0u0n0w0q0l0p0c0a0o1", 0.20, 0.1, 10),
        M("mmlu_x", "acc@t9i0u0n0w0q0l0p0c0a0o0", 0.90, 0.1, 10),
        M("mmlu_x", "fmt_mean", 0.4667, NAN, 3),
        M("mmlu_x", "fmt_std", 0.37, NAN, 3),
    };
    json_t *out = NULL;
    int64_t na = (int64_t)(sizeof(run_a) / sizeof(run_a[0]));
    assert_int_equal(rpt_sweep_compare(&out, run_a, na, run_b, 5, true, NULL), 0);
    assert_int_equal(json_array_size(out), 1); /* "mmlu" has no fmt_mean in b */
    json_t *e = json_array_get(out, 0);
    assert_string_equal(json_string_value(json_object_get(e, "task")), "mmlu_x");
    assert_int_equal(json_integer_value(json_object_get(e, "n_formats")), 2);
    /* a: o0 0.25 < o1 0.50; b: o0 0.30 > o1 0.20: one discordant pair, tau -1 */
    assert_float_equal(json_real_value(json_object_get(e, "kendall_tau_b")), -1.0, 1e-12);
    assert_float_equal(json_real_value(json_object_get(json_object_get(e, "a"), "fmt_std")), 0.25,
                       0);
    assert_true(json_is_null(json_object_get(json_object_get(e, "b"), "fmt_spread")));
    json_t *fl = json_object_get(e, "formats");
    assert_int_equal(json_array_size(fl), 2);
    assert_string_equal(json_string_value(json_array_get(json_array_get(fl, 0), 0)),
                        "t0i0u0n0w0q0l0p0c0a0o0");
    json_decref(out);
    /* without the pairs; one common format: tau undefined (null) */
    assert_int_equal(rpt_sweep_compare(&out, run_a, na, run_b, 4, false, NULL), 0);
    e = json_array_get(out, 0);
    assert_null(json_object_get(e, "formats"));
    assert_int_equal(json_integer_value(json_object_get(e, "n_formats")), 2);
    json_decref(out);
    assert_int_equal(rpt_sweep_compare(&out, run_a, na, run_b + 1, 4, false, NULL), 0);
    e = json_array_get(out, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "n_formats")), 1);
    assert_true(json_is_null(json_object_get(e, "kendall_tau_b")));
    json_decref(out);
}

static void test_reference_format(void **state)
{
    (void)state;
    bool lm = false;
    assert_string_equal(rpt_sweep_reference_fmt("mmlu_anatomy", &lm), RPT_SWEEP_DEFAULT_FMT);
    assert_true(lm);
    assert_string_equal(rpt_sweep_reference_fmt("arc_easy", &lm), RPT_SWEEP_DEFAULT_FMT);
    assert_false(lm); /* lm-eval scores ARC by the answer text: no grammar format is its own */
    assert_string_equal(rpt_sweep_reference_fmt("gsm8k", &lm), RPT_SWEEP_DEFAULT_FMT_GEN);
    assert_true(lm);
    const struct store_metric m[] = {
        M("gsm8k", "acc@t0i0u0n0w0q0l0p0c0a0o0", 0.5, 0.1, 4),
        M("gsm8k", "acc@t0i0u0n0w0q1l0p0c0a0o0", 0.25, 0.1, 4),
        M("gsm8k", "flex@t0i0u0n0w0q1l0p0c0a0o0", 0.75, 0.1, 4),
        M("gsm8k", "fmt_mean", 0.375, NAN, 2),
        M("gsm8k", "flex_fmt_std", 0.1, NAN, 2),
    };
    struct rpt_sweep_view v;
    assert_int_equal(rpt_sweep_view_build(&v, m, 5, NULL, NULL), 0);
    assert_int_equal(v.tasks[0].n_fmts, 2); /* flex@ is not a bar */
    assert_int_equal(v.tasks[0].default_idx, 1);
    assert_float_equal(v.tasks[0].flex_std, 0.1, 0);
    assert_true(isnan(v.tasks[0].flex_mean));
    assert_int_equal(v.tasks[0].n_pos, 0);
    rpt_sweep_view_release(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_reference_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
