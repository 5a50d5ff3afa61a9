/*
 * tests/evals/test_sweep.c - the sweep's format grammar (count, ids, enumeration,
 * seeded selection, cyclic balance), exact prompts against hand-written files in
 * tests/data/sweep/, and the pure statistics (spread, Kendall tau-b).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/buf.h"
#include "base/file.h"
#include "evals/fmt.h"
#include "evals/fmtgrammar.h"
#include "evals/sweep.h"
#include "evals/task.h"

#include <limits.h>
#include <math.h>

static void test_count_and_ids(void **state)
{
    (void)state;
    /* 2 chat x 3 instruction x 3 casing x 5 shots x 2 spacing x 3 question prefix x 5 label
     * styles x 2 separators x 2 layouts x 3 answer prefixes x 4 shifts */
    assert_int_equal(fmtg_count(), 129600);
    struct fmtg_spec s, t;
    char id[FMTG_ID_MAX];
    fmtg_from_index(0, &s);
    fmtg_id(&s, id);
    assert_string_equal(id, "t0i0u0n0w0q0l0p0c0a0o0");
    fmtg_from_index(fmtg_count() - 1, &s);
    fmtg_id(&s, id);
    assert_string_equal(id, "t1i2u2n4w1q2l4p1c1a2o3");
    /* the order axis is the least significant: index 1 is shift 1 */
    fmtg_from_index(1, &s);
    fmtg_id(&s, id);
    assert_string_equal(id, "t0i0u0n0w0q0l0p0c0a0o1");
    for (uint64_t i = 0; i < fmtg_count(); i += 997) {
        fmtg_from_index(i, &s);
        assert_int_equal(fmtg_index(&s), i);
        fmtg_id(&s, id);
        assert_int_equal(fmtg_parse(id, &t, NULL), 0);
        assert_memory_equal(&s, &t, sizeof(s));
    }
    /* missing axes are 0; bad ids say why */
    assert_int_equal(fmtg_parse("l3o2", &t, NULL), 0);
    assert_int_equal(t.v[6], 3);
    assert_int_equal(t.v[10], 2);
    assert_int_equal(fmtg_index(&t), 3 * 2 * 2 * 3 * 4 + 2);
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(fmtg_parse("t0x1", &t, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "unknown axis 'x'"));
    err_clear(&err);
    assert_int_equal(fmtg_parse("l5", &t, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "at most 4"));
    assert_int_equal(fmtg_parse("o1t0", &t, NULL), ASSAY_EINVAL);
    assert_int_equal(fmtg_parse("t", &t, NULL), ASSAY_EINVAL);
    assert_int_equal(fmtg_parse("", &t, NULL), ASSAY_EINVAL);
}

static void test_select(void **state)
{
    (void)state;
    uint64_t *a = NULL, *b = NULL, *c = NULL;
    int64_t na = 0, nb = 0, nc = 0;
    assert_int_equal(fmtg_select(20, 5, 0, &a, &na, NULL), 0);
    assert_int_equal(fmtg_select(20, 5, 0, &b, &nb, NULL), 0);
    assert_int_equal(fmtg_select(20, 6, 0, &c, &nc, NULL), 0);
    assert_int_equal(na, 20);
    assert_int_equal(nb, 20);
    assert_int_equal(nc, 20);
    assert_memory_equal(a, b, 20 * sizeof(uint64_t)); /* determinism under a seed */
    assert_true(memcmp(a, c, 20 * sizeof(uint64_t)) != 0);
    assert_int_equal(a[0], 0); /* lm-eval's default is always in */
    for (int i = 1; i < 20; i++)
        assert_true(a[i] > a[i - 1] && a[i] < fmtg_count());
    free(a);
    free(b);
    free(c);
    /* all */
    assert_int_equal(fmtg_select(0, 0, 0, &a, &na, NULL), 0);
    assert_int_equal(na, (int64_t)fmtg_count());
    assert_int_equal(a[na - 1], fmtg_count() - 1);
    free(a);
    /* cyclic: 10 asked -> 3 bases x 4 shifts, and the gold of a 4-choice document
     * (whatever its index) is shown at each position equally often */
    assert_int_equal(fmtg_select(10, 9, 1, &a, &na, NULL), 0);
    assert_int_equal(na, 12);
    char *ch[4] = {"w", "x", "y", "z"};
    struct task_doc d = {.id = "t", .choices = ch, .n_choices = 4};
    for (int gold = 0; gold < 4; gold++) {
        int at[4] = {0};
        for (int64_t i = 0; i < na; i++) {
            struct fmtg_spec s;
            struct fmtg_fmt f;
            fmtg_from_index(a[i], &s);
            fmtg_build(&s, &f);
            at[fmt_display_pos(&f.f, &d, gold)]++;
        }
        for (int j = 0; j < 4; j++)
            assert_int_equal(at[j], 3);
    }
    for (int64_t i = 0; i < na; i++)
        assert_int_equal(a[i] % 4, (uint64_t)(i % 4));
    free(a);
}

/* A task in memory: one pool document as the shot, one eval document. */
static char *pool_ch[] = {"sky", "grass", "blood", "snow"};
static char *eval_ch[] = {"3", "4", "5", "6"};

static void fill_task(struct task_data *t, const char *subject)
{
    static struct task_doc pool, doc;
    memset(t, 0, sizeof(*t));
    snprintf(t->def.name, sizeof(t->def.name), "synthetic");
    snprintf(t->def.subject, sizeof(t->def.subject), "%s", subject);
    pool = (struct task_doc){
        .id = "p0", .question = "Which is red?", .choices = pool_ch, .n_choices = 4, .gold = 2};
    doc = (struct task_doc){
        .id = "e0", .question = "  What is 2+2? ", .choices = eval_ch, .n_choices = 4, .gold = 1};
    t->pool.docs = &pool;
    t->pool.n = 1;
    t->eval.docs = &doc;
    t->eval.n = 1;
}

/* 12 choices (issue #8: labels past 9 and past the 9th position): the months, one shot
 * whose gold is the 11th, and an eval document whose gold is the 12th. */
static char *months[] = {"January", "February", "March",     "April",   "May",      "June",
                         "July",    "August",   "September", "October", "November", "December"};

static void fill_task12(struct task_data *t, const char *subject)
{
    static struct task_doc pool, doc;
    fill_task(t, subject);
    pool = (struct task_doc){.id = "p12",
                             .question = "Which is the eleventh month?",
                             .choices = months,
                             .n_choices = 12,
                             .gold = 10};
    doc = (struct task_doc){.id = "e12",
                            .question = "  Which month is last? ",
                            .choices = months,
                            .n_choices = 12,
                            .gold = 11};
    t->pool.docs = &pool;
    t->eval.docs = &doc;
}

/* Read "format: / subject: / [choices: 12 /] continuations: / ---" and the context after
 * it; "choices: 12" takes the documents of fill_task12, else fill_task's 4 choices. */
static void check_case(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/data/sweep/%s.txt", name);
    char *txt = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(&txt, &len, tu_source(rel), 1 << 20, NULL), 0);
    char id[64], subject[64], conts[512];
    const char *p = txt;
    assert_int_equal(sscanf(p, "format: %63s", id), 1);
    p = strchr(p, '\n') + 1;
    subject[0] = '\0';
    if (strncmp(p, "subject: ", 9) == 0)
        sscanf(p + 9, "%63[^\n]", subject);
    p = strchr(p, '\n') + 1;
    int n_choices = 4;
    if (strncmp(p, "choices: ", 9) == 0) {
        assert_int_equal(sscanf(p + 9, "%d", &n_choices), 1);
        assert_int_equal(n_choices, 12);
        p = strchr(p, '\n') + 1;
    }
    /* by hand: a scanf directive would eat the continuations' leading space */
    assert_int_equal(strncmp(p, "continuations: ", 15), 0);
    size_t cl = strcspn(p + 15, "\n");
    assert_true(cl < sizeof(conts));
    memcpy(conts, p + 15, cl);
    conts[cl] = '\0';
    const char *want = strstr(p, "\n---\n");
    assert_non_null(want);
    want += 5;

    struct fmtg_spec s;
    assert_int_equal(fmtg_parse(id, &s, NULL), 0);
    struct fmtg_fmt f;
    fmtg_build(&s, &f);
    struct task_data t;
    if (n_choices == 12)
        fill_task12(&t, subject);
    else
        fill_task(&t, subject);
    t.fmt = &f.f;
    struct buf b;
    buf_init(&b, 0);
    uint32_t shot = 0;
    assert_int_equal(task_render_context(&t, &t.eval.docs[0], 0, &shot, 1, &b, NULL), 0);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
        fail_msg("case %s (%s)\n--- expected ---\n%s\n--- got ---\n%.*s\n", name, id, want,
                 (int)b.len, b.data);
    char *save = NULL, *tok = strtok_r(conts, "\t", &save);
    for (int c = 0; c < n_choices; c++, tok = strtok_r(NULL, "\t", &save)) {
        assert_non_null(tok);
        buf_reset(&b);
        assert_int_equal(task_render_continuation(&t, &t.eval.docs[0], c, &b, NULL), 0);
        if (b.len != strlen(tok) || memcmp(b.data, tok, b.len) != 0)
            fail_msg("case %s: continuation %d: expected '%s', got '%.*s'", name, c, tok,
                     (int)b.len, b.data);
    }
    assert_null(tok); /* as many continuations as choices */
    buf_release(&b);
    free(txt);
}

static void test_prompts(void **state)
{
    (void)state;
    check_case("lmeval_default");
    check_case("chat_upper_paren_tab_inline_shift1");
    check_case("lower_numbers_noprefix_shift2");
    check_case("nosubject_lowerletters_shift3");
    check_case("noinstr_closeparen");
    /* issue #8: numbers past 9 are "10." listed and " 10" scored; "(K)" keeps its brackets */
    check_case("twelve_numbers_shift1");
    check_case("twelve_paren_inline_shift3");
    check_case("twelve_numbers_chat_noprefix_shift2");
}

/* The grammar's default renders exactly as the lm-eval table row "mmlu_default". */
static void test_default_is_lmeval(void **state)
{
    (void)state;
    struct fmtg_spec s;
    memset(&s, 0, sizeof(s));
    struct fmtg_fmt f;
    fmtg_build(&s, &f);
    struct task_data t;
    fill_task(&t, "high school biology");
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    uint32_t shot = 0;
    t.fmt = fmt_find("mmlu_default");
    assert_non_null(t.fmt);
    assert_int_equal(task_render_context(&t, &t.eval.docs[0], 0, &shot, 1, &a, NULL), 0);
    for (int c = 0; c < 4; c++)
        assert_int_equal(task_render_continuation(&t, &t.eval.docs[0], c, &a, NULL), 0);
    t.fmt = &f.f;
    assert_int_equal(task_render_context(&t, &t.eval.docs[0], 0, &shot, 1, &b, NULL), 0);
    for (int c = 0; c < 4; c++)
        assert_int_equal(task_render_continuation(&t, &t.eval.docs[0], c, &b, NULL), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    buf_release(&a);
    buf_release(&b);
}

/* Issue #8: "1." labels go on past 9 ("10." listed, " 10" scored, shots too); letters
 * stop at Z and z, and a document past them is an error naming it, not a crash. */
static void test_too_many_choices(void **state)
{
    (void)state;
    char *ch[27] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
                    "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ae"};
    struct task_doc d = {.id = "x27", .question = "q", .choices = ch, .n_choices = 27, .gold = 26};
    struct fmtg_spec s;
    struct fmtg_fmt f;
    struct buf b;
    buf_init(&b, 0);
    struct assay_error err;

    /* numbers: the 27th choice is "27. ae", its continuation " 27"; under shift 1 it is
     * shown 26th and choice 0 27th */
    assert_int_equal(fmtg_parse("l3", &s, NULL), 0);
    fmtg_build(&s, &f);
    assert_int_equal(fmt_n_labels(&f.f), INT_MAX);
    assert_int_equal(fmt_render_query_eval(&f.f, &d, 0, &b, NULL), 0);
    assert_non_null(strstr(b.data, "\n9. i\n10. j\n"));
    assert_non_null(strstr(b.data, "\n26. z\n27. ae\nAnswer:"));
    buf_reset(&b);
    assert_int_equal(fmt_render_choice_eval(&f.f, &d, 26, &b, NULL), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "27", 2);
    buf_reset(&b);
    assert_int_equal(fmt_render_target(&f.f, &d, &b, NULL), 0); /* a shot's target */
    assert_memory_equal(b.data, "27", 2);
    assert_int_equal(fmtg_parse("l3o1", &s, NULL), 0);
    fmtg_build(&s, &f);
    buf_reset(&b);
    assert_int_equal(fmt_render_choice_eval(&f.f, &d, 0, &b, NULL), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "27", 2);
    buf_reset(&b);
    assert_int_equal(fmt_render_choice_eval(&f.f, &d, 26, &b, NULL), 0);
    assert_memory_equal(b.data, "26", 2);

    /* letters: 26 labels in "A.", "(A)", "A)" and "a."; the 27th choice is refused */
    const char *styles[] = {"l0", "l1", "l2", "l4"};
    for (size_t k = 0; k < sizeof(styles) / sizeof(styles[0]); k++) {
        assert_int_equal(fmtg_parse(styles[k], &s, NULL), 0);
        fmtg_build(&s, &f);
        assert_int_equal(fmt_n_labels(&f.f), 26);
        buf_reset(&b);
        err_clear(&err);
        assert_int_equal(fmt_render_query_eval(&f.f, &d, 0, &b, &err), ASSAY_EINVAL);
        assert_non_null(strstr(err.msg, "item 'x27': 27 choices"));
        assert_non_null(strstr(err.msg, "has 26 labels"));
        err_clear(&err);
        assert_int_equal(fmt_render_choice_eval(&f.f, &d, 26, &b, &err), ASSAY_EINVAL);
        assert_non_null(strstr(err.msg, "item 'x27'"));
        err_clear(&err);
        assert_int_equal(fmt_render_choice_eval(&f.f, &d, 0, &b, &err), ASSAY_EINVAL);
        /* 26 choices fit: the last is Z (z) */
        d.n_choices = 26;
        buf_reset(&b);
        assert_int_equal(fmt_render_choice_eval(&f.f, &d, 25, &b, NULL), 0);
        assert_true(b.len >= 1 && (strchr(b.data, 'Z') || strchr(b.data, 'z')));
        d.n_choices = 27;
    }
    buf_release(&b);
}

static void test_stats(void **state)
{
    (void)state;
    const double x[] = {0.2, 0.4, 0.6};
    struct sweep_stats st;
    sweep_stats_of(x, 3, &st);
    assert_float_equal(st.mean, 0.4, 1e-12);
    assert_float_equal(st.std, 0.2, 1e-12); /* sample std, n - 1 */
    assert_float_equal(st.min, 0.2, 1e-12);
    assert_float_equal(st.max, 0.6, 1e-12);
    assert_float_equal(st.spread, 0.4, 1e-12);
    sweep_stats_of(x, 1, &st);
    assert_true(isnan(st.std));
    assert_float_equal(st.spread, 0, 0);

    /* Kendall's tau-b moved to reports/compare_stats.c (tests/reports/test_compare_stats.c) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_and_ids),    cmocka_unit_test(test_select),
        cmocka_unit_test(test_prompts),          cmocka_unit_test(test_default_is_lmeval),
        cmocka_unit_test(test_too_many_choices), cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
