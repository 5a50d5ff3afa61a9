/*
 * tests/store/test_store.c - the store's C API: schema, runs, samples, metrics, resume
 * lookup, refusal of files that are not assay databases, and durability under SIGKILL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <sys/wait.h>

#include "testutil.h"
#include "base/file.h"
#include "store/store.h"

static char db_path[1200];

static int setup(void **state)
{
    const char *dir = tu_tmpdir();
    if (!dir)
        return -1;
    snprintf(db_path, sizeof(db_path), "%s/t.db", dir);
    return 0;
}

static void test_schema_and_runs(void **state)
{
    struct store *s = NULL;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(store_open(&s, db_path, 0, &e), 0);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);

    struct store_model m = {.fingerprint = "sha256:abc", .path = "/m.gguf", .name = "tiny",
                            .architecture = "gemma2", .n_params = 1234, .quantization = "Q8_0",
                            .context_length = 512, .file_bytes = 99};
    int64_t mid = 0, mid2 = 0;
    assert_int_equal(store_put_model(s, &m, &mid, &e), 0);
    m.path = "/elsewhere.gguf";
    assert_int_equal(store_put_model(s, &m, &mid2, &e), 0);
    assert_int_equal(mid, mid2); /* same fingerprint, same model */
    struct store_model got;
    assert_int_equal(store_get_model(s, mid, &got, &e), 0);
    assert_string_equal(got.path, "/elsewhere.gguf");
    assert_string_equal(got.architecture, "gemma2");
    store_model_release(&got);

    struct store_run_new rn = {.kind = "eval", .model_id = mid, .backend = "local",
                               .config_json = "{\"tasks\":[\"mmlu\"]}"};
    int64_t run = 0;
    assert_int_equal(store_begin_run(s, &rn, &run, &e), 0);
    assert_true(run > 0);

    struct store_sample smp[3] = {
        {.task = "mmlu_anatomy", .item = "0", .prompt = "Q?", .target = "A", .output = "A",
         .score = 1, .correct = 1},
        {.task = "mmlu_anatomy", .item = "1", .score = 0, .correct = 0,
         .data_json = "{\"ll\":[-1.5,-0.5]}"},
        {.task = "gsm8k", .item = "7", .score = NAN, .correct = -1, .error = "empty output"},
    };
    assert_int_equal(store_put_samples(s, run, smp, 3, &e), 0);
    assert_int_equal(store_count_samples(s, run, NULL, &e), 3);
    assert_int_equal(store_count_samples(s, run, "gsm8k", &e), 1);
    /* the same item again replaces, it does not duplicate */
    smp[1].score = 1;
    smp[1].correct = 1;
    assert_int_equal(store_put_sample(s, run, &smp[1], &e), 0);
    assert_int_equal(store_count_samples(s, run, NULL, &e), 3);
    bool found = false;
    assert_int_equal(store_has_sample(s, run, "gsm8k", "7", NULL, &found, &e), 0);
    assert_true(found);
    assert_int_equal(store_has_sample(s, run, "gsm8k", "8", NULL, &found, &e), 0);
    assert_false(found);

    assert_int_equal(store_put_metric(s, run, "mmlu_anatomy", "acc", 1.0, 0.0, 2, &e), 0);
    assert_int_equal(store_put_metric(s, run, "mmlu_anatomy", "acc", 0.5, 0.35, 2, &e), 0);
    struct store_metric *mets;
    int64_t n_mets;
    assert_int_equal(store_list_metrics(s, run, &mets, &n_mets, &e), 0);
    assert_int_equal(n_mets, 1);
    assert_string_equal(mets[0].name, "acc");
    assert_true(fabs(mets[0].value - 0.5) < 1e-12);
    assert_int_equal(mets[0].n, 2);
    store_metrics_free(mets, n_mets);

    /* an unfinished run with the same configuration is found for resuming */
    int64_t resume = 0;
    assert_int_equal(store_find_resumable_run(s, "eval", rn.config_json, &resume, &e), 0);
    assert_int_equal(resume, run);
    assert_int_equal(store_find_resumable_run(s, "eval", "{}", &resume, &e), 0);
    assert_int_equal(resume, 0);
    assert_int_equal(store_finish_run(s, run, STORE_RUN_DONE, NULL, &e), 0);
    assert_int_equal(store_find_resumable_run(s, "eval", rn.config_json, &resume, &e), 0);
    assert_int_equal(resume, 0);

    struct store_run r;
    assert_int_equal(store_get_run(s, run, &r, &e), 0);
    assert_int_equal(r.status, STORE_RUN_DONE);
    assert_int_equal(r.n_samples, 3);
    assert_string_equal(r.model_fingerprint, "sha256:abc");
    assert_int_equal(strlen(r.config_hash), 64);
    assert_non_null(r.finished_at);
    store_run_release(&r);

    err_clear(&e);
    assert_int_equal(store_get_run(s, 999, &r, &e), ASSAY_ENOTFOUND);
    err_clear(&e);
    assert_int_equal(store_finish_run(s, 999, STORE_RUN_DONE, NULL, &e), ASSAY_ENOTFOUND);

    struct store_run *runs;
    int64_t n_runs;
    assert_int_equal(store_list_runs(s, 0, &runs, &n_runs, &e), 0);
    assert_int_equal(n_runs, 1);
    store_runs_free(runs, n_runs);
    store_close(s);

    /* read-only open sees the same data */
    assert_int_equal(store_open(&s, db_path, STORE_OPEN_READONLY, &e), 0);
    assert_int_equal(store_count_samples(s, run, NULL, &e), 3);
    store_close(s);
}

static void test_not_a_database(void **state)
{
    char path[1300];
    snprintf(path, sizeof(path), "%s.garbage", db_path);
    char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7 + 3);
    assert_int_equal(file_write_atomic(path, junk, sizeof(junk), NULL), 0);
    struct store *s = NULL;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(store_open(&s, path, 0, &e), ASSAY_EINVAL);
    assert_null(s);
    assert_non_null(strstr(e.msg, "not a database"));
    assert_string_equal(e.path, path);

    err_clear(&e);
    assert_int_equal(store_open(&s, "/nonexistent/dir/x.db", STORE_OPEN_NO_CREATE, &e),
                     ASSAY_ENOTFOUND);
}

static void test_truncated_database(void **state)
{
    /* a real database cut in half: an error from open or from the first query, no crash */
    char path[1300];
    snprintf(path, sizeof(path), "%s.cut", db_path);
    struct store *s = NULL;
    assert_int_equal(store_open(&s, path, 0, NULL), 0);
    struct store_run_new rn = {.kind = "eval", .config_json = "{}"};
    int64_t run;
    assert_int_equal(store_begin_run(s, &rn, &run, NULL), 0);
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    for (int i = 0; i < 200; i++) {
        char item[16];
        snprintf(item, sizeof(item), "%d", i);
        struct store_sample x = {.task = "t", .item = item, .output = big, .correct = 1};
        assert_int_equal(store_put_sample(s, run, &x, NULL), 0);
    }
    store_close(s); /* checkpoints the WAL into the main file */
    char *data;
    size_t len;
    assert_int_equal(file_read_all(&data, &len, path, 1 << 30, NULL), 0);
    assert_true(len > 100000);
    assert_int_equal(truncate(path, (off_t)(len / 2)), 0);
    free(data);
    struct assay_error e;
    err_clear(&e);
    int rc = store_open(&s, path, 0, &e);
    if (rc == 0) {
        int64_t n = store_count_samples(s, run, NULL, &e);
        assert_true(n < 0);
        assert_int_equal(e.code, ASSAY_EINVAL);
        store_close(s);
    } else {
        assert_int_equal(rc, ASSAY_EINVAL);
    }
}

/* The writer: begins a run and stores samples one by one, telling the parent over a pipe
 * after each commit. The parent kills it with SIGKILL in the middle. */
static void kill_writer(const char *path, int fd)
{
    struct store *s = NULL;
    if (store_open(&s, path, 0, NULL) != 0)
        _exit(10);
    struct store_run_new rn = {.kind = "eval", .config_json = "{\"kill\":1}"};
    int64_t run;
    if (store_begin_run(s, &rn, &run, NULL) != 0)
        _exit(11);
    for (int i = 0;; i++) {
        char item[32];
        snprintf(item, sizeof(item), "%d", i);
        struct store_sample x = {.task = "t", .item = item, .output = "out", .score = 1,
                                 .correct = 1};
        if (store_put_sample(s, run, &x, NULL) != 0)
            _exit(12);
        int32_t done = i + 1;
        if (write(fd, &done, sizeof(done)) != sizeof(done))
            _exit(13);
    }
}

static void test_sigkill_keeps_committed_samples(void **state)
{
    char path[1300];
    snprintf(path, sizeof(path), "%s.kill", db_path);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        kill_writer(path, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    int32_t acked = 0, v;
    while (acked < 150 && read(fds[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_true(acked >= 150);
    /* the writer ran ahead of our reads: its last acknowledgement is still in the pipe */
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    close(fds[0]);

    struct store *s = NULL;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(store_open(&s, path, 0, &e), 0);
    struct store_run *runs;
    int64_t n_runs;
    assert_int_equal(store_list_runs(s, 0, &runs, &n_runs, &e), 0);
    assert_int_equal(n_runs, 1);
    assert_int_equal(runs[0].status, STORE_RUN_RUNNING); /* never finished */
    /* every acknowledged sample is there; at most the one in flight more */
    assert_true(runs[0].n_samples >= acked);
    assert_true(runs[0].n_samples <= acked + 1);
    for (int i = 0; i < acked; i++) {
        char item[32];
        snprintf(item, sizeof(item), "%d", i);
        bool found;
        assert_int_equal(store_has_sample(s, runs[0].id, "t", item, NULL, &found, &e), 0);
        assert_true(found);
    }
    store_runs_free(runs, n_runs);
    store_close(s);
}

static void test_fingerprint_cache(void **state)
{
    struct store *s = NULL;
    assert_int_equal(store_open(&s, db_path, 0, NULL), 0);
    struct store_file_key k = {.path = "/m/a.gguf", .size = 10, .mtime_ns = 5, .inode = 7};
    char fp[80];
    bool found = true;
    assert_int_equal(store_lookup_fingerprint(s, &k, fp, sizeof(fp), &found, NULL), 0);
    assert_false(found);
    assert_int_equal(store_put_fingerprint(s, &k, "sha256:00ff", NULL), 0);
    assert_int_equal(store_lookup_fingerprint(s, &k, fp, sizeof(fp), &found, NULL), 0);
    assert_true(found);
    assert_string_equal(fp, "sha256:00ff");
    k.mtime_ns = 6; /* the file changed: a new version, not found */
    assert_int_equal(store_lookup_fingerprint(s, &k, fp, sizeof(fp), &found, NULL), 0);
    assert_false(found);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_and_runs),
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_truncated_database),
        cmocka_unit_test(test_sigkill_keeps_committed_samples),
        cmocka_unit_test(test_fingerprint_cache),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
