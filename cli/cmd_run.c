/*
 * cli/cmd_run.c - `assay run`: evaluate a model on tasks, storing every sample as it
 * completes and resuming an interrupted run with the same configuration. Parsing and
 * wiring only; the work is evals/runner.c.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay_version.h"
#include "base/json.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "engine/backend.h"
#include "evals/runner.h"
#include "evals/sandbox.h"
#include "store/store.h"

const struct cli_opt cmd_run_opts[] = {
    CLI_OPT_MODEL,
    {"tasks", 0, CLI_OPT_STR, "LIST", NULL,
     "comma-separated tasks and groups, e.g. mmlu,gsm8k (see 'assay tasks')"},
    {"limit", 0, CLI_OPT_INT, "N", NULL, "only the first N documents of each task"},
    {"shots", 0, CLI_OPT_INT, "K", NULL,
     "few-shot examples per prompt (default: each task's lm-eval default; tasks without a "
     "few-shot split run 0-shot)"},
    {"seed", 0, CLI_OPT_INT, "S", "1234",
     "seed of the few-shot sampler (CPython random.Random, as lm-eval) and of generation"},
    {"batch", 0, CLI_OPT_INT, "B", "16", "documents per backend call; scores do not depend on it"},
    {"data-dir", 0, CLI_OPT_STR, "DIR", NULL,
     "dataset mirror (default: $ASSAY_DATA_DIR, else the datasets cache)"},
    {"jobs", 'j', CLI_OPT_INT, "N", NULL, "code-execution runs at once (default: cores)"},
    {"samples", 0, CLI_OPT_INT, "N", "1",
     "completions per problem of the code tasks (humaneval, mbpp, mbpp_sanitized), for sampled "
     "pass@k (each stored as item "
     "'<task_id>#<i>', seeded from --seed, the problem and i); other tasks stay greedy"},
    {"temp", 0, CLI_OPT_NUM, "T", NULL,
     "sampling temperature of the code tasks (default 0, greedy; with --samples > 1: 0.2, "
     "lm-eval's humaneval_64)"},
    {"top-p", 0, CLI_OPT_NUM, "P", NULL,
     "nucleus sampling of the code tasks (default 1, off; with --samples > 1: 0.95)"},
    {"pass-k", 0, CLI_OPT_STR, "LIST", NULL,
     "k values of the stored pass@k, each <= --samples (default: 1, and 10 and 100 where "
     "<= --samples); unbiased estimator 1 - C(n-c,k)/C(n,k), mean over problems"},
    CLI_OPT_DB,
    CLI_OPT_THREADS,
    CLI_OPT_CTX,
    CLI_OPT_NO_PREFIX_CACHE,
    {NULL, 0, 0, NULL, NULL, NULL},
};

static bool plan_has_code(const struct eval_plan *p)
{
    for (int i = 0; i < p->n_tasks; i++)
        if (p->tasks[i].def.scoring == TASK_SCORING_CODE)
            return true;
    return false;
}

static void print_metrics(struct cli_ctx *ctx, int64_t run, const struct store_metric *m, int64_t n,
                          bool resumed, int64_t n_samples)
{
    if (ctx->json) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "run", json_integer(run));
        json_object_set_new(o, "resumed", json_boolean(resumed));
        json_object_set_new(o, "n_samples", json_integer(n_samples));
        for (int64_t i = 0; i < n; i++) {
            json_t *e = json_pack("{s:s, s:s, s:f, s:I}", "task", m[i].task, "metric", m[i].name,
                                  "value", m[i].value, "n", (json_int_t)m[i].n);
            json_object_set_new(e, "stderr",
                                isnan(m[i].stderr_) ? json_null() : json_real(m[i].stderr_));
            json_array_append_new(arr, e);
        }
        json_object_set_new(o, "metrics", arr);
        char *s = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
        return;
    }
    printf("%-44s %-30s %8s   %-8s %6s\n", "task", "metric", "value", "stderr", "n");
    for (int64_t i = 0; i < n; i++) {
        char se[32];
        if (isnan(m[i].stderr_))
            snprintf(se, sizeof(se), "%-8s", "-");
        else
            snprintf(se, sizeof(se), "%.4f", m[i].stderr_);
        printf("%-44s %-30s %8.4f ± %-8s %6" PRId64 "\n", m[i].task, m[i].name, m[i].value, se,
               m[i].n);
    }
    printf("run %" PRId64 "%s: %" PRId64 " samples ('assay run --help' gives the stderr "
           "formulas; 'assay runs show %" PRId64 "' the run)\n",
           run, resumed ? " (resumed)" : "", n_samples, run);
}

/* --samples, --temp, --top-p and --pass-k into o (sampled pass@k of the code tasks). */
static int sampling_opts(const struct cli_args *a, struct eval_opts *o, struct assay_error *err)
{
    int64_t n = 1;
    int rc;
    if ((rc = cli_get_int(a, "samples", 1, 100000, &n, err)))
        return rc;
    double temp = n > 1 ? 0.2 : 0, top_p = n > 1 ? 0.95 : 1;
    if ((rc = cli_get_num(a, "temp", 0, 100, &temp, err)) ||
        (rc = cli_get_num(a, "top-p", 0, 1, &top_p, err)))
        return rc;
    if (n > 1 && temp == 0)
        return err_set(err, ASSAY_EUSAGE,
                       "--samples %lld with --temp 0: greedy completions are all the same; give "
                       "a temperature > 0",
                       (long long)n);
    if (top_p <= 0)
        return err_set(err, ASSAY_EUSAGE, "--top-p must be > 0");
    o->n_samples = (int)n;
    o->temperature = temp;
    o->top_p = top_p;
    o->n_pass_k = 0;
    const char *list = cli_get(a, "pass-k");
    if (!list) {
        static const int dflt[] = {1, 10, 100};
        for (int i = 0; i < 3; i++)
            if (dflt[i] <= n)
                o->pass_k[o->n_pass_k++] = dflt[i];
        return 0;
    }
    const char *q = list;
    while (*q) {
        char *end = NULL;
        long long k = strtoll(q, &end, 10);
        if (end == q || (*end && *end != ',') || k < 1)
            return err_set(err, ASSAY_EUSAGE, "--pass-k '%s': want a list of integers >= 1", list);
        if (k > n)
            return err_set(err, ASSAY_EUSAGE,
                           "--pass-k %lld: k must be <= --samples (%lld completions per problem)",
                           k, (long long)n);
        bool dup = false;
        for (int i = 0; i < o->n_pass_k; i++)
            dup = dup || o->pass_k[i] == (int)k;
        if (!dup) {
            if (o->n_pass_k == 8)
                return err_set(err, ASSAY_EUSAGE, "--pass-k '%s': at most 8 values", list);
            o->pass_k[o->n_pass_k++] = (int)k;
        }
        q = *end ? end + 1 : end;
        if (*end == ',' && !*q)
            return err_set(err, ASSAY_EUSAGE, "--pass-k '%s': trailing comma", list);
    }
    return 0;
}

int cmd_run(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct eval_plan plan;
    memset(&plan, 0, sizeof(plan));
    struct store *s = NULL;
    struct backend *b = NULL;
    struct sandbox *sb = NULL;
    struct store_metric *mets = NULL;
    int64_t n_mets = 0, model_id = 0, run = 0;
    char *cfg = NULL;
    json_t *c = NULL;
    bool resumed = false;
    const char *tasks = cli_get(a, "tasks");
    if (!tasks)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--tasks is required");
    struct eval_opts o = {.shots = -1,
                          .limit = 0,
                          .seed = 1234,
                          .batch = EVAL_DEFAULT_BATCH,
                          .data_dir = cli_get(a, "data-dir")};
    int64_t v;
    int rc = 0;
    v = -1;
    if ((rc = cli_get_int(a, "shots", 0, 32, &v, &ctx->err)))
        return rc;
    o.shots = (int)v;
    v = 0;
    if ((rc = cli_get_int(a, "limit", 1, INT64_MAX, &v, &ctx->err)))
        return rc;
    o.limit = v;
    v = 1234;
    if ((rc = cli_get_int(a, "seed", 0, INT64_MAX, &v, &ctx->err)))
        return rc;
    o.seed = (uint64_t)v;
    v = EVAL_DEFAULT_BATCH;
    if ((rc = cli_get_int(a, "batch", 1, 4096, &v, &ctx->err)))
        return rc;
    o.batch = (int)v;
    int64_t jobs = 0;
    if ((rc = cli_get_int(a, "jobs", 1, 1024, &jobs, &ctx->err)))
        return rc;
    if ((rc = sampling_opts(a, &o, &ctx->err)))
        return rc;

    /* Every dataset file is read and validated before the model is touched. */
    if ((rc = eval_plan_load(&plan, tasks, &o, &ctx->err)))
        return rc;
    if (!ctx->quiet && eval_opts_sampled(&o) && !plan_has_code(&plan))
        cli_warn("--samples/--temp/--top-p apply to the code tasks only; this run is greedy");
    if (!ctx->quiet && o.shots > 0)
        for (int i = 0; i < plan.n_tasks; i++)
            if (plan.shots[i] < o.shots && plan.tasks[i].def.output == TASK_OUTPUT_LOGLIKELIHOOD &&
                plan.tasks[i].pool.n == 0)
                cli_warn("task '%s' has no few-shot split; it runs %d-shot", plan.tasks[i].def.name,
                         plan.shots[i]);
    if ((rc = cli_open_store(&s, a, 0, &ctx->err)))
        goto out;
    if ((rc = cli_backend_open(ctx, a, s, &b, &model_id)))
        goto out;
    struct backend_info in;
    backend_info(b, &in);
    /* The major version keys resume: a new major may change prompts or scoring. */
    char major[16];
    snprintf(major, sizeof(major), "%.*s", (int)strcspn(ASSAY_VERSION, "."), ASSAY_VERSION);
    c = json_pack("{s:s, s:s, s:b, s:I, s:s}", "command", "run", "model", in.fingerprint, "add_bos",
                  in.add_bos, "n_ctx", (json_int_t)in.n_ctx, "assay_major", major);
    if (!c || (rc = eval_plan_config(&plan, c, &ctx->err)))
        goto out;
    cfg = jsn_dump_canonical(c);
    if (!cfg) {
        rc = err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = store_find_resumable_run(s, "eval", cfg, &run, &ctx->err)))
        goto out;
    cli_progress_done(ctx); /* end the fingerprint's progress line */
    if (run) {
        resumed = true;
        if ((rc = store_reopen_run(s, run, &ctx->err)))
            goto out;
        if (!ctx->quiet)
            fprintf(stderr, "assay: resuming run %" PRId64 " (%" PRId64 " samples stored)\n", run,
                    store_count_samples(s, run, NULL, NULL));
    } else {
        struct store_run_new rn = {
            .kind = "eval", .model_id = model_id, .backend = in.kind, .config_json = cfg};
        if ((rc = store_begin_run(s, &rn, &run, &ctx->err)))
            goto out;
        if (!ctx->quiet)
            fprintf(stderr, "assay: run %" PRId64 ": %d tasks, %" PRId64 " documents\n", run,
                    plan.n_tasks, plan.n_items);
    }
    if (plan_has_code(&plan)) {
        struct sandbox_opts so;
        memset(&so, 0, sizeof(so));
        so.n_jobs = (int)jobs;
        struct assay_error serr;
        err_clear(&serr);
        if (sandbox_new(&sb, &so, &serr)) {
            char msg[1024];
            err_format(&serr, msg, sizeof(msg));
            cli_warn("no code sandbox (%s): code tasks are stored as not executed", msg);
            sb = NULL;
        }
    }
    struct cli_stop stop;
    volatile sig_atomic_t *stop_flag = cli_stop_catch(&stop);
    plan.opts.stop = stop_flag;
    rc = eval_plan_run(&plan, b, s, run, sb, &ctx->prog, &ctx->err);
    cli_stop_release(&stop);
    cli_progress_done(ctx);
    if (!rc)
        rc = eval_compute_metrics(&plan, s, run, &ctx->err);
    if (rc) {
        bool stopped = *stop_flag != 0;
        store_finish_run(s, run, stopped ? STORE_RUN_INTERRUPTED : STORE_RUN_FAILED, ctx->err.msg,
                         NULL);
        if (stopped && !ctx->quiet)
            fprintf(stderr, "assay: run %" PRId64 " interrupted; run the same command to resume\n",
                    run);
        goto out;
    }
    if ((rc = store_finish_run(s, run, STORE_RUN_DONE, NULL, &ctx->err)))
        goto out;
    if ((rc = store_list_metrics(s, run, &mets, &n_mets, &ctx->err)))
        goto out;
    print_metrics(ctx, run, mets, n_mets, resumed, store_count_samples(s, run, NULL, NULL));
out:
    store_metrics_free(mets, n_mets);
    json_decref(c);
    free(cfg);
    sandbox_free(sb);
    backend_free(b);
    store_close(s);
    eval_plan_release(&plan);
    return rc;
}
