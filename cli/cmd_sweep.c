/*
 * cli/cmd_sweep.c - `assay sweep`: evaluate a task (multiple choice, or gsm8k) under many prompt
 * formats (evals/fmtgrammar.h) and store per-format accuracy, its spread, accuracy by
 * gold position and letter bias; `--list-formats` prints the grammar's formats. Parsing
 * and wiring only; the work is evals/sweep.c.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay_version.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "engine/backend.h"
#include "engine/backend_local.h"
#include "engine/backend_rg.h"
#include "evals/fmtgrammar.h"
#include "evals/runner.h"
#include "evals/sweep.h"
#include "store/store.h"

const struct cli_opt cmd_sweep_opts[] = {
    CLI_OPT_MODEL,
    {"task", 0, CLI_OPT_STR, "LIST", NULL,
     "tasks and groups, e.g. mmlu or mmlu_stem,arc_easy: any multiple-choice task "
     "(winogrande as a 2-choice question, truthfulqa_mc2 with every true answer), or gsm8k "
     "(generation formats, swept on its own); with --list-formats, the formats of its family"},
    {"formats", 0, CLI_OPT_STR, "all|N|IDS", "all",
     "every format of the grammar, N sampled with --seed (always including the lm-eval "
     "default t0i0u0n0w0q0l0p0c0a0o0; gsm8k's is t0i0u0n0w0q1l0p0c0a0o0), or a "
     "comma-separated list of ids"},
    {"cyclic", 0, CLI_OPT_FLAG, NULL, NULL,
     "with --formats N: sample N/4 formats and run each with all 4 cyclic choice shifts, so "
     "the gold answer visits every position equally often"},
    {"seed", 0, CLI_OPT_INT, "S", "1234",
     "seed of the format sample, of the few-shot sampler (as 'assay run') and, plus 1 or 2, "
     "of the grammar's random-shot formats"},
    {"limit", 0, CLI_OPT_INT, "N", NULL, "only the first N documents of each task (per subject)"},
    {"shots", 0, CLI_OPT_INT, "K", NULL,
     "the shot count K of the grammar's shots axis (values n0, n3, n4; default: each task's "
     "lm-eval default, 0 for MMLU)"},
    {"batch", 0, CLI_OPT_INT, "B", "64",
     "(document, format) items per backend call; scores do not depend on it"},
    {"max-tokens", 0, CLI_OPT_INT, "N", NULL,
     "gsm8k: tokens generated per answer (default lm-eval's 256); part of the run's "
     "configuration"},
    {"list-formats", 0, CLI_OPT_FLAG, NULL, NULL,
     "print the selected formats (id and description) and exit; no model needed"},
    {"data-dir", 0, CLI_OPT_STR, "DIR", NULL,
     "dataset mirror (default: $ASSAY_DATA_DIR, else the datasets cache)"},
    CLI_OPT_DB,
    CLI_OPT_THREADS,
    CLI_OPT_CTX,
    CLI_OPT_NO_PREFIX_CACHE,
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* --formats: "all", a count, or ids. *sel (JSON, for the run's configuration) describes
 * the selection so that the same command resumes the same run. */
static int select_formats(const struct cli_args *a, enum fmtg_family fam, uint64_t **idx,
                          int64_t *n, json_t **sel, struct assay_error *err)
{
    const char *f = cli_get(a, "formats");
    int64_t seed = 1234;
    int rc = cli_get_int(a, "seed", 0, INT64_MAX, &seed, err);
    if (rc)
        return rc;
    bool cyclic = cli_flag(a, "cyclic");
    *idx = NULL;
    *n = 0;
    if (!f || strcmp(f, "all") == 0) {
        *sel = json_string("all");
        return fmtg_select_family(fam, 0, 0, 0, idx, n, err);
    }
    if (f[0] >= '0' && f[0] <= '9') {
        int64_t k = 0;
        if ((rc = cli_parse_int(f, "--formats", 1, INT64_MAX, &k, err)))
            return rc;
        *sel = json_pack("{s:I, s:I, s:b}", "n", (json_int_t)k, "seed", (json_int_t)seed, "cyclic",
                         cyclic);
        return fmtg_select_family(fam, k, (uint64_t)seed, cyclic, idx, n, err);
    }
    if (cyclic)
        return err_set(err, ASSAY_EUSAGE, "--cyclic goes with --formats N");
    /* a list of ids */
    size_t cap = 1;
    for (const char *p = f; *p; p++)
        cap += *p == ',';
    uint64_t *v = mem_calloc_array(cap, sizeof(*v));
    json_t *ids = json_array();
    if (!v || !ids) {
        free(v);
        json_decref(ids);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int64_t k = 0;
    for (const char *p = f; *p;) {
        size_t len = strcspn(p, ",");
        char id[FMTG_ID_MAX];
        struct fmtg_spec sp;
        if (len == 0 || len >= sizeof(id)) {
            rc = err_set(err, ASSAY_EUSAGE, "--formats: bad id '%.*s'", (int)len, p);
            break;
        }
        memcpy(id, p, len);
        id[len] = '\0';
        if (fmtg_parse(id, &sp, err) || fmtg_family_check(fam, &sp, err)) {
            rc = err->code = ASSAY_EUSAGE; /* a bad id on the command line */
            break;
        }
        v[k++] = fmtg_index(&sp);
        p += len + (p[len] == ',');
    }
    if (!rc) {
        qsort(v, (size_t)k, sizeof(*v), cmp_u64);
        int64_t u = 0;
        for (int64_t i = 0; i < k; i++)
            if (u == 0 || v[i] != v[u - 1])
                v[u++] = v[i];
        k = u;
        for (int64_t i = 0; i < k; i++) {
            struct fmtg_spec sp;
            char id[FMTG_ID_MAX];
            fmtg_from_index(v[i], &sp);
            fmtg_id(&sp, id);
            json_array_append_new(ids, json_string(id));
        }
        *sel = ids;
        *idx = v;
        *n = k;
        return 0;
    }
    free(v);
    json_decref(ids);
    return rc;
}

static int list_formats(struct cli_ctx *ctx, enum fmtg_family fam, const uint64_t *idx, int64_t n)
{
    json_t *arr = ctx->json ? json_array() : NULL;
    char id[FMTG_ID_MAX], desc[512];
    for (int64_t i = 0; i < n; i++) {
        struct fmtg_spec sp;
        fmtg_from_index(idx[i], &sp);
        fmtg_id(&sp, id);
        fmtg_describe_family(fam, &sp, desc, sizeof(desc));
        if (arr)
            json_array_append_new(arr, json_pack("{s:s, s:I, s:s}", "id", id, "index",
                                                 (json_int_t)idx[i], "description", desc));
        else
            printf("%s  %s\n", id, desc);
    }
    if (arr) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(arr);
    } else if (!ctx->quiet) {
        fprintf(stderr, "assay: %" PRId64 " of the %s %" PRIu64 " formats\n", n,
                fam == FMTG_FAMILY_GEN ? "generation family's" : "grammar's",
                fmtg_family_count(fam));
    }
    return 0;
}

static const struct store_metric *find_metric(const struct store_metric *m, int64_t n,
                                              const char *task, const char *name)
{
    for (int64_t i = 0; i < n; i++)
        if (strcmp(m[i].task, task) == 0 && strcmp(m[i].name, name) == 0)
            return &m[i];
    return NULL;
}

static void print_text(const struct sweep_plan *p, int64_t run, const struct store_metric *m,
                       int64_t n, bool resumed, int64_t n_samples, double wall_s,
                       const struct backend_local_stats *st)
{
    /* one summary line per task (and the aggregate), then the aggregate's (or the only
     * task's) formats and positions */
    printf("%-40s %7s %7s %7s %7s %7s %6s\n", "task", "mean", "std", "min", "max", "spread",
           "fmts");
    const char *last = NULL;
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, "fmt_mean") != 0)
            continue;
        const char *t = m[i].task;
        const struct store_metric *sd = find_metric(m, n, t, "fmt_std"),
                                  *mi = find_metric(m, n, t, "fmt_min"),
                                  *ma = find_metric(m, n, t, "fmt_max"),
                                  *sp = find_metric(m, n, t, "fmt_spread");
        printf("%-40s %7.4f %7.4f %7.4f %7.4f %7.4f %6" PRId64 "\n", t, m[i].value,
               sd ? sd->value : NAN, mi ? mi->value : NAN, ma ? ma->value : NAN,
               sp ? sp->value : NAN, m[i].n);
        last = t;
    }
    const char *focus = p->aggregate[0] ? p->aggregate : last;
    bool mc2 = false;
    for (int i = 0; focus && i < p->n_tasks; i++)
        mc2 = mc2 || (strcmp(p->tasks[i].def.name, focus) == 0 &&
                      p->tasks[i].def.scoring == TASK_SCORING_MC2);
    if (focus && p->family == FMTG_FAMILY_GEN) {
        printf("\n%s: exact match per format    strict-match  flexible-extract\n", focus);
        for (int64_t i = 0; i < n; i++) {
            if (strcmp(m[i].task, focus) != 0 || strncmp(m[i].name, "acc@", 4) != 0)
                continue;
            char fx[96];
            snprintf(fx, sizeof(fx), "flex@%s", m[i].name + 4);
            const struct store_metric *f = find_metric(m, n, focus, fx);
            printf("  %-28s %12.4f %17.4f  n=%" PRId64 "\n", m[i].name + 4, m[i].value,
                   f ? f->value : NAN, m[i].n);
        }
        const struct store_metric *fm = find_metric(m, n, focus, "flex_fmt_mean"),
                                  *fs = find_metric(m, n, focus, "flex_fmt_std"),
                                  *fp = find_metric(m, n, focus, "flex_fmt_spread");
        printf("  flexible-extract over formats: mean %.4f std %.4f spread %.4f\n",
               fm ? fm->value : NAN, fs ? fs->value : NAN, fp ? fp->value : NAN);
        printf("%s: a generation task: no gold position or letter bias\n", focus);
    } else if (focus) {
        printf("\n%s: %s per format\n", focus,
               mc2 ? "mc2 (mass of the true labels, not accuracy)" : "accuracy");
        for (int64_t i = 0; i < n; i++)
            if (strcmp(m[i].task, focus) == 0 && strncmp(m[i].name, "acc@", 4) == 0)
                printf("  %-28s %7.4f  n=%" PRId64 "\n", m[i].name + 4, m[i].value, m[i].n);
        if (mc2)
            printf("%s: every true answer counts at its position; acc_if_gold: the argmax "
                   "pick is that answer\n",
                   focus);
        printf("%s: by display position (label)   acc_if_gold  gold_rate  pick_rate\n", focus);
        for (int j = 1; j <= SWEEP_MAX_POS; j++) {
            char a[32], g[32], k[32];
            snprintf(a, sizeof(a), "acc_gold_pos%d", j);
            snprintf(g, sizeof(g), "gold_rate_pos%d", j);
            snprintf(k, sizeof(k), "pick_rate_pos%d", j);
            const struct store_metric *ma = find_metric(m, n, focus, a),
                                      *mg = find_metric(m, n, focus, g),
                                      *mk = find_metric(m, n, focus, k);
            if (!mg)
                continue;
            printf("  position %-2d %32.4f %10.4f %10.4f\n", j, ma ? ma->value : NAN, mg->value,
                   mk ? mk->value : NAN);
        }
        const struct store_metric *rs = find_metric(m, n, focus, "recall_std");
        if (rs)
            printf("  recall_std (RStd over positions) %.4f\n", rs->value);
    }
    for (int64_t i = 0; i < n; i++)
        if (strcmp(m[i].name, "failed_rate") == 0)
            printf("%s: %.1f%% of the samples failed and score 0 (a document a format cannot "
                   "show, e.g. more choices than its labels, or a backend error)\n",
                   m[i].task, 100 * m[i].value);
    double share =
        st->n_eval_tokens + st->n_reused_tokens > 0
            ? (double)st->n_reused_tokens / (double)(st->n_eval_tokens + st->n_reused_tokens)
            : 0;
    printf("run %" PRId64 "%s: %" PRId64 " samples, %" PRId64 " formats, %.1f s; prefix cache: "
           "%" PRId64 " tokens evaluated, %" PRId64 " reused (%.1f%%)\n",
           run, resumed ? " (resumed)" : "", n_samples, p->n_fmts, wall_s, st->n_eval_tokens,
           st->n_reused_tokens, 100 * share);
}

static void print_json(const struct sweep_plan *p, int64_t run, const struct store_metric *m,
                       int64_t n, bool resumed, int64_t n_samples, double wall_s,
                       const struct backend_local_stats *st)
{
    json_t *o = json_object(), *arr = json_array(), *fm = json_array();
    json_object_set_new(o, "run", json_integer(run));
    json_object_set_new(o, "resumed", json_boolean(resumed));
    json_object_set_new(o, "n_samples", json_integer(n_samples));
    json_object_set_new(o, "wall_s", json_real(wall_s));
    json_object_set_new(
        o, "family", json_string(p->family == FMTG_FAMILY_GEN ? "generation" : "multiple_choice"));
    if (p->family == FMTG_FAMILY_GEN)
        json_object_set_new(o, "note",
                            json_string("a generation task: acc@ is strict-match and "
                                        "flex@ flexible-extract exact match; no gold "
                                        "position or letter bias"));
    for (int64_t f = 0; f < p->n_fmts; f++)
        json_array_append_new(fm, json_string(p->fmts[f].id));
    json_object_set_new(o, "formats", fm);
    json_object_set_new(o, "cache",
                        json_pack("{s:I, s:I, s:I}", "eval_tokens", (json_int_t)st->n_eval_tokens,
                                  "reused_tokens", (json_int_t)st->n_reused_tokens, "forward",
                                  (json_int_t)st->n_forward));
    for (int64_t i = 0; i < n; i++) {
        json_t *e = json_pack("{s:s, s:s, s:I}", "task", m[i].task, "metric", m[i].name, "n",
                              (json_int_t)m[i].n);
        json_object_set_new(e, "value", isnan(m[i].value) ? json_null() : json_real(m[i].value));
        json_object_set_new(e, "stderr",
                            isnan(m[i].stderr_) ? json_null() : json_real(m[i].stderr_));
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "metrics", arr);
    char *s = json_dumps(o, JSON_INDENT(2));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
}

int cmd_sweep(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct sweep_plan plan;
    memset(&plan, 0, sizeof(plan));
    struct store *s = NULL;
    struct backend *b = NULL;
    struct store_metric *mets = NULL;
    int64_t n_mets = 0, model_id = 0, run = 0, n_idx = 0;
    uint64_t *idx = NULL;
    json_t *sel = NULL, *c = NULL;
    char *cfg = NULL;
    bool resumed = false;
    /* the tasks' family (multiple choice, or gsm8k's generation formats) decides which
     * formats exist; without --task, --list-formats lists the multiple-choice grammar */
    const char *tasks = cli_get(a, "task");
    enum fmtg_family fam = FMTG_FAMILY_MC;
    int rc = tasks ? sweep_tasks_family(tasks, &fam, &ctx->err) : 0;
    if (!rc)
        rc = select_formats(a, fam, &idx, &n_idx, &sel, &ctx->err);
    if (rc)
        goto out;
    if (cli_flag(a, "list-formats")) {
        rc = list_formats(ctx, fam, idx, n_idx);
        goto out;
    }
    if (!tasks) {
        rc = err_set(&ctx->err, ASSAY_EUSAGE, "--task is required");
        goto out;
    }
    struct sweep_opts o = {.shots = -1, .seed = 1234, .data_dir = cli_get(a, "data-dir")};
    int64_t v = -1;
    if ((rc = cli_get_int(a, "shots", 0, 32, &v, &ctx->err)))
        goto out;
    o.shots = (int)v;
    v = 0;
    if ((rc = cli_get_int(a, "limit", 1, INT64_MAX, &v, &ctx->err)))
        goto out;
    o.limit = v;
    v = 1234;
    if ((rc = cli_get_int(a, "seed", 0, INT64_MAX, &v, &ctx->err)))
        goto out;
    o.seed = (uint64_t)v;
    v = SWEEP_DEFAULT_BATCH;
    if ((rc = cli_get_int(a, "batch", 1, 65536, &v, &ctx->err)))
        goto out;
    o.batch = (int)v;
    v = 0;
    if ((rc = cli_get_int(a, "max-tokens", 1, 1 << 20, &v, &ctx->err)))
        goto out;
    if (v > 0 && fam != FMTG_FAMILY_GEN) {
        rc = err_set(&ctx->err, ASSAY_EUSAGE, "--max-tokens: only for a generation task (gsm8k)");
        goto out;
    }
    o.max_tokens = (int)v;
    /* every dataset file is read and validated before the model is touched */
    if ((rc = sweep_plan_load(&plan, tasks, idx, n_idx, &o, &ctx->err)))
        goto out;
    if ((rc = cli_open_store(&s, a, 0, &ctx->err)))
        goto out;
    if ((rc = cli_backend_open(ctx, a, s, &b, &model_id)))
        goto out;
    struct backend_info in;
    backend_info(b, &in);
    char major[16];
    snprintf(major, sizeof(major), "%.*s", (int)strcspn(ASSAY_VERSION, "."), ASSAY_VERSION);
    c = json_pack("{s:s, s:s, s:b, s:I, s:s, s:O}", "command", "sweep", "model", in.fingerprint,
                  "add_bos", in.add_bos, "n_ctx", (json_int_t)in.n_ctx, "assay_major", major,
                  "formats", sel);
    if (!c || (rc = sweep_plan_config(&plan, c, &ctx->err)))
        goto out;
    cfg = jsn_dump_canonical(c);
    if (!cfg) {
        rc = err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = store_find_resumable_run(s, "sweep", cfg, &run, &ctx->err)))
        goto out;
    cli_progress_done(ctx);
    if (run) {
        resumed = true;
        if ((rc = store_reopen_run(s, run, &ctx->err)))
            goto out;
        if (!ctx->quiet)
            fprintf(stderr, "assay: resuming sweep run %" PRId64 " (%" PRId64 " samples stored)\n",
                    run, store_count_samples(s, run, NULL, NULL));
    } else {
        struct store_run_new rn = {
            .kind = "sweep", .model_id = model_id, .backend = in.kind, .config_json = cfg};
        if ((rc = store_begin_run(s, &rn, &run, &ctx->err)))
            goto out;
        if (!ctx->quiet)
            fprintf(stderr,
                    "assay: sweep run %" PRId64 ": %d tasks x %" PRId64 " formats, %" PRId64
                    " samples\n",
                    run, plan.n_tasks, plan.n_fmts, sweep_plan_items(&plan));
    }
    struct cli_stop stop;
    volatile sig_atomic_t *stop_flag = cli_stop_catch(&stop);
    plan.opts.stop = stop_flag;
    double t0 = clock_now_s();
    rc = sweep_run(&plan, b, s, run, &ctx->prog, &ctx->err);
    double wall_s = clock_now_s() - t0;
    cli_stop_release(&stop);
    cli_progress_done(ctx);
    if (!rc)
        rc = sweep_compute_metrics(&plan, s, run, &ctx->err);
    struct backend_local_stats st;
    memset(&st, 0, sizeof(st));
    /* both local engines call themselves "local"; the architecture tells them apart */
    if (strcmp(in.kind, "local") == 0 && strcmp(in.architecture, "recurrent_gemma") == 0)
        backend_rg_stats(b, &st);
    else if (strcmp(in.kind, "local") == 0)
        backend_local_stats(b, &st);
    if (rc) {
        bool stopped = *stop_flag != 0;
        store_finish_run(s, run, stopped ? STORE_RUN_INTERRUPTED : STORE_RUN_FAILED, ctx->err.msg,
                         NULL);
        if (stopped && !ctx->quiet) {
            /* what this invocation did, so a stopped benchmark still has its figures */
            int64_t n_stored = store_count_samples(s, run, NULL, NULL);
            int64_t in_tok = st.n_eval_tokens + st.n_reused_tokens;
            fprintf(stderr,
                    "assay: sweep %" PRId64 " interrupted after %.1f s with %" PRId64
                    " samples stored; prefix cache: %" PRId64 " tokens evaluated, %" PRId64
                    " reused (%.1f%%); run the same command to resume\n",
                    run, wall_s, n_stored, st.n_eval_tokens, st.n_reused_tokens,
                    in_tok > 0 ? 100.0 * (double)st.n_reused_tokens / (double)in_tok : 0.0);
        }
        goto out;
    }
    if ((rc = store_finish_run(s, run, STORE_RUN_DONE, NULL, &ctx->err)))
        goto out;
    if ((rc = store_list_metrics(s, run, &mets, &n_mets, &ctx->err)))
        goto out;
    int64_t n_samples = store_count_samples(s, run, NULL, NULL);
    if (ctx->json)
        print_json(&plan, run, mets, n_mets, resumed, n_samples, wall_s, &st);
    else
        print_text(&plan, run, mets, n_mets, resumed, n_samples, wall_s, &st);
out:
    store_metrics_free(mets, n_mets);
    json_decref(c);
    json_decref(sel);
    free(cfg);
    free(idx);
    backend_free(b);
    store_close(s);
    sweep_plan_release(&plan);
    return rc;
}

/* ---- for `assay compare` ---------------------------------------------------------------- */

static double num_or_nan(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

void cmd_sweep_compare_print(json_t *pairs)
{
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p)
    {
        const json_t *sw = json_object_get(p, "sweep");
        if (!sw)
            continue;
        printf("\nsweep robustness, run %" JSON_INTEGER_FORMAT " (a) vs run %" JSON_INTEGER_FORMAT
               " (b): std and spread of accuracy over formats, Kendall tau-b of the "
               "per-format accuracies\n",
               json_integer_value(json_object_get(p, "run_a")),
               json_integer_value(json_object_get(p, "run_b")));
        printf("  %-36s %6s %8s %8s %8s %8s %8s\n", "task", "fmts", "std a", "std b", "spread a",
               "spread b", "tau_b");
        size_t j;
        json_t *e;
        json_array_foreach((json_t *)sw, j, e)
        {
            const json_t *a = json_object_get(e, "a"), *b = json_object_get(e, "b");
            printf("  %-36s %6" JSON_INTEGER_FORMAT " %8.4f %8.4f %8.4f %8.4f %8.3f\n",
                   json_string_value(json_object_get(e, "task")),
                   json_integer_value(json_object_get(e, "n_formats")), num_or_nan(a, "fmt_std"),
                   num_or_nan(b, "fmt_std"), num_or_nan(a, "fmt_spread"),
                   num_or_nan(b, "fmt_spread"), num_or_nan(e, "kendall_tau_b"));
        }
    }
}
