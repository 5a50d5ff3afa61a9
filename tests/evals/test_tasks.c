/*
 * tests/evals/test_tasks.c - the task table, CPython's sampler, dataset validation and
 * the exact prompts against hand-written files in tests/data/evals/prompts/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/buf.h"
#include "base/file.h"
#include "evals/fewshot.h"
#include "evals/fmt.h"
#include "evals/runner.h"
#include "evals/task.h"

/* Expected values from CPython 3: random.Random(1234).random() and .sample(...). */
static void test_cpython_random(void **state)
{
    (void)state;
    struct fewshot_rng r;
    fewshot_rng_seed(&r, 1234);
    assert_float_equal(fewshot_rng_random(&r), 0.9664535356921388, 0);
    /* r = Random(1234); [r.sample(range(7473), 5) for _ in range(3)] (set branch) */
    static const uint32_t want[3][5] = {
        {6374, 3610, 957, 61, 742}, {7462, 6610, 4769, 286, 5501}, {5677, 687, 806, 6279, 2905}};
    fewshot_rng_seed(&r, 1234);
    for (int i = 0; i < 3; i++) {
        uint32_t got[5];
        assert_int_equal(fewshot_sample(&r, 7473, 5, got, NULL), 0);
        for (int j = 0; j < 5; j++)
            assert_int_equal(got[j], want[i][j]);
    }
    /* Random(1234).sample(range(10), 5) == [7, 1, 0, 9, 4] (pool branch, n <= 21) */
    static const uint32_t want2[5] = {7, 1, 0, 9, 4};
    fewshot_rng_seed(&r, 1234);
    uint32_t got[5];
    assert_int_equal(fewshot_sample(&r, 10, 5, got, NULL), 0);
    for (int j = 0; j < 5; j++)
        assert_int_equal(got[j], want2[j]);
    assert_int_equal(fewshot_sample(&r, 3, 5, got, NULL), ASSAY_EUSAGE);
}

static void test_table(void **state)
{
    (void)state;
    char **names = NULL;
    int n = 0;
    assert_int_equal(task_expand("mmlu", &names, &n, NULL), 0);
    assert_int_equal(n, 57);
    task_names_free(names, n);
    int counts[4] = {0};
    const char *groups[4] = {"mmlu_stem", "mmlu_humanities", "mmlu_social_sciences", "mmlu_other"};
    for (int g = 0; g < 4; g++) {
        assert_int_equal(task_expand(groups[g], &names, &n, NULL), 0);
        counts[g] = n;
        task_names_free(names, n);
    }
    /* lm-eval: 19 stem, 13 humanities, 12 social sciences, 13 other */
    assert_int_equal(counts[0], 19);
    assert_int_equal(counts[1], 13);
    assert_int_equal(counts[2], 12);
    assert_int_equal(counts[3], 13);
    assert_int_equal(task_expand("gsm8k, mmlu_anatomy,gsm8k", &names, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "gsm8k");
    assert_string_equal(names[1], "mmlu_anatomy");
    task_names_free(names, n);
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(task_expand("mmlu,nosuch", &names, &n, &e), ASSAY_EUSAGE);
    assert_non_null(strstr(e.msg, "nosuch"));
    struct task_def d;
    assert_int_equal(task_find("mmlu_high_school_us_history", &d, NULL), 0);
    assert_string_equal(d.subject, "high school us history");
    assert_string_equal(d.group, "mmlu_humanities");
    assert_int_equal(task_find("truthfulqa_mc2", &d, NULL), 0);
    assert_int_equal(d.output, TASK_OUTPUT_LOGLIKELIHOOD);
    for (int i = 0; i < task_count(); i++) {
        task_at(i, &d);
        assert_non_null(fmt_find(d.format_id));
    }
}

static void test_strip(void **state)
{
    (void)state;
    const char *s = " \t\xc2\xa0 x y \n\xe3\x80\x80";
    size_t n = strlen(s);
    fmt_strip(&s, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "x y", 3);
}

/* Split a line at tabs into at most n fields (in place). */
static int split_tabs(char *line, char **f, int n)
{
    int k = 0;
    f[k++] = line;
    for (char *p = line; *p && k < n; p++)
        if (*p == '\t') {
            *p = '\0';
            f[k++] = p + 1;
        }
    return k;
}

static void test_prompts_by_hand(void **state)
{
    (void)state;
    const char *data = tu_shared("datasets");
    TU_SKIP_IF_MISSING(data, "datasets");
    char data_dir[1024];
    snprintf(data_dir, sizeof(data_dir), "%s", data);
    char *cases = NULL;
    size_t len = 0;
    assert_int_equal(
        file_read_all(&cases, &len, tu_source("tests/data/evals/prompts/cases.tsv"), 1 << 20, NULL),
        0);
    int n_cases = 0;
    char *save = NULL;
    for (char *line = strtok_r(cases, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *f[6] = {0};
        assert_int_equal(split_tabs(line, f, 6), 6);
        long doc = strtol(f[1], NULL, 10), shots = strtol(f[2], NULL, 10);
        char rel[512];
        snprintf(rel, sizeof(rel), "tests/data/evals/prompts/%s", f[3]);
        char *want = NULL;
        size_t want_len = 0;
        assert_int_equal(file_read_all(&want, &want_len, tu_source(rel), 1 << 20, NULL), 0);
        struct eval_opts o = {
            .shots = (int)shots, .limit = doc + 1, .seed = 1234, .batch = 1, .data_dir = data_dir};
        struct eval_plan p;
        struct assay_error e;
        err_clear(&e);
        int rc = eval_plan_load(&p, f[0], &o, &e);
        if (rc)
            fprintf(stderr, "%s: %s\n", f[0], e.msg);
        assert_int_equal(rc, 0);
        const struct eval_item *it = &p.items[doc];
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(eval_item_context(&p, it, 0, &b, NULL), 0);
        if (b.len != want_len || memcmp(b.data, want, want_len) != 0)
            fprintf(stderr, "case %s doc %ld shots %ld:\n--- expected ---\n%s\n--- got ---\n%s\n",
                    f[0], doc, shots, want, b.data);
        assert_int_equal(b.len, want_len);
        assert_memory_equal(b.data, want, want_len);
        const struct task_doc *d = &p.tasks[0].eval.docs[it->doc];
        assert_int_equal(d->gold, (int)strtol(f[5], NULL, 10));
        /* continuations, '|'-separated */
        int c = 0;
        char *cs = f[4], *csave = NULL;
        for (char *cont = *cs ? strtok_r(cs, "|", &csave) : NULL; cont;
             cont = strtok_r(NULL, "|", &csave), c++) {
            buf_reset(&b);
            assert_int_equal(eval_item_continuation(&p, it, c, &b, NULL), 0);
            assert_string_equal(b.data, cont);
        }
        if (p.tasks[0].def.output == TASK_OUTPUT_LOGLIKELIHOOD)
            assert_int_equal(c, d->n_choices);
        buf_release(&b);
        free(want);
        eval_plan_release(&p);
        n_cases++;
    }
    assert_true(n_cases >= 6);
    free(cases);
}

/* The GSM8K 5-shot draws of the first three documents are CPython's. */
static void test_gsm8k_shots(void **state)
{
    (void)state;
    const char *data = tu_shared("datasets/gsm8k/train.jsonl.gz");
    TU_SKIP_IF_MISSING(data, "datasets/gsm8k/train.jsonl.gz");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_shared("datasets"));
    struct eval_opts o = {.shots = -1, .limit = 3, .seed = 1234, .batch = 1, .data_dir = dir};
    struct eval_plan p;
    assert_int_equal(eval_plan_load(&p, "gsm8k", &o, NULL), 0);
    assert_int_equal(p.shots[0], 5);
    assert_int_equal(p.items[1].shot_ids[0], 7462);
    assert_int_equal(p.items[2].shot_ids[4], 2905);
    eval_plan_release(&p);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_bad(const char *dir, const char *task, int code, const char *file_suffix,
                       long line, const char *msg_part)
{
    struct task_def d;
    assert_int_equal(task_find(task, &d, NULL), 0);
    struct task_data t;
    struct assay_error e;
    err_clear(&e);
    int rc = task_load(&t, &d, dir, &e);
    if (rc != code || !strstr(e.path, file_suffix) || e.line != line || !strstr(e.msg, msg_part))
        fprintf(stderr, "%s: got %d %s:%ld: %s\n", task, rc, e.path, e.line, e.msg);
    assert_int_equal(rc, code);
    assert_non_null(strstr(e.path, file_suffix));
    assert_int_equal(e.line, line);
    assert_non_null(strstr(e.msg, msg_part));
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir();
    assert_non_null(dir);
    setenv("XDG_CACHE_HOME", dir, 1); /* no datasets cache to fall back on */
    write_file(dir, "mmlu/test/anatomy_test.csv", "q1,a,b,c,d,A\nq2,a,b,c,d,E\n");
    write_file(dir, "mmlu/dev/anatomy_dev.csv", "q,a,b,c,d,A\n");
    expect_bad(dir, "mmlu_anatomy", ASSAY_EINVAL, "anatomy_test.csv", 2, "answer letter");
    write_file(dir, "mmlu/test/anatomy_test.csv", "q1,a,b,c,d,A\n\"q2,a,b,c,d,A\n");
    expect_bad(dir, "mmlu_anatomy", ASSAY_EINVAL, "anatomy_test.csv", 2, "");
    write_file(dir, "mmlu/test/anatomy_test.csv", "q1,a,b,c,d,A\nq2,a,b,c,A\n");
    expect_bad(dir, "mmlu_anatomy", ASSAY_EINVAL, "anatomy_test.csv", 2, "");
    write_file(dir, "mmlu/test/anatomy_test.csv", "");
    expect_bad(dir, "mmlu_anatomy", ASSAY_EINVAL, "anatomy_test.csv", 0, "empty split");
    write_file(dir, "gsm8k/test.jsonl",
               "{\"question\": \"q\", \"answer\": \"#### 1\"}\n"
               "{\"question\": \"q\"}\n");
    write_file(dir, "gsm8k/train.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n");
    expect_bad(dir, "gsm8k", ASSAY_EINVAL, "test.jsonl", 2, "'answer'");
    write_file(dir, "arc/ARC-Easy/ARC-Easy-Test.jsonl",
               "{\"id\": \"x\", \"question\": {\"stem\": \"s\", \"choices\": [{\"text\": \"t\", "
               "\"label\": \"A\"}]}, \"answerKey\": \"B\"}\n");
    expect_bad(dir, "arc_easy", ASSAY_EINVAL, "ARC-Easy-Test.jsonl", 1, "answer letter 'B'");
    write_file(dir, "piqa/valid.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n");
    write_file(dir, "piqa/valid-labels.lst", "0\n1\n");
    expect_bad(dir, "piqa", ASSAY_EINVAL, "valid-labels.lst", 2, "more labels");
    /* a dataset absent from the mirror: not available, before anything runs */
    struct task_def d;
    assert_int_equal(task_find("winogrande", &d, NULL), 0);
    struct task_data t;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(task_load(&t, &d, dir, &e), ASSAY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "dataset not available"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpython_random), cmocka_unit_test(test_table),
        cmocka_unit_test(test_strip),          cmocka_unit_test(test_prompts_by_hand),
        cmocka_unit_test(test_gsm8k_shots),    cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
