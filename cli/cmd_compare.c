/*
 * cli/cmd_compare.c - `assay compare RUN_A RUN_B [RUN...]`: the comparison page
 * (reports/compare.h) written to -o, a table or JSON on stdout. Reads the store only.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "reports/compare.h"
#include "store/store.h"

const struct cli_opt cmd_compare_opts[] = {
    CLI_OPT_DB,
    {"output", 'o', CLI_OPT_STR, "FILE", "compare.html", "where to write the page"},
    {"resamples", 0, CLI_OPT_INT, "N", "10000", "paired bootstrap resamples"},
    {"seed", 0, CLI_OPT_INT, "N", "20240229", "bootstrap seed"},
    {"raw", 0, CLI_OPT_FLAG, NULL, NULL, "show stored text unmasked (default: PII masked)"},
    {"samples", 0, CLI_OPT_INT, "N", "50", "flipped samples listed each way (0: all)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static void print_table(json_t *pairs)
{
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p)
    {
        printf("run %" JSON_INTEGER_FORMAT " vs run %" JSON_INTEGER_FORMAT
               " (delta = B - A, %% points; %" JSON_INTEGER_FORMAT " fixed, %" JSON_INTEGER_FORMAT
               " broken)\n",
               json_integer_value(json_object_get(p, "run_b")),
               json_integer_value(json_object_get(p, "run_a")),
               json_integer_value(json_object_get(p, "n_fixed")),
               json_integer_value(json_object_get(p, "n_broken")));
        printf("  %-40s %7s %8s %18s %10s\n", "task", "paired", "delta", "95% interval",
               "McNemar p");
        json_t *rows[2] = {json_object_get(p, "overall"), json_object_get(p, "tasks")};
        for (int r = 0; r < 2; r++) {
            size_t j, n = json_is_array(rows[r]) ? json_array_size(rows[r]) : 1;
            for (j = 0; j < n; j++) {
                json_t *t = r == 0 ? rows[0] : json_array_get(rows[1], j);
                json_t *m = json_object_get(t, "mcnemar");
                double d = json_number_value(json_object_get(t, "delta"));
                double lo = json_number_value(json_object_get(t, "ci_low"));
                double hi = json_number_value(json_object_get(t, "ci_high"));
                bool has = json_is_number(json_object_get(t, "delta"));
                printf("  %-40s %7" JSON_INTEGER_FORMAT " ", json_string_value(json_object_get(t, "task")),
                       json_integer_value(json_object_get(t, "n_paired")));
                if (has)
                    printf("%+8.2f [%+7.2f, %+7.2f]", 100 * d, 100 * lo, 100 * hi);
                else
                    printf("%8s %18s", "-", "-");
                if (json_integer_value(json_object_get(m, "n")) > 0)
                    printf(" %10.3g %s\n", json_number_value(json_object_get(m, "p_value")),
                           json_string_value(json_object_get(m, "test")));
                else
                    printf(" %10s\n", "-");
            }
        }
    }
}

int cmd_compare(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct rpt_options ro = {0};
    ro.raw = cli_flag(a, "raw");
    ro.samples_per_task = RPT_DEFAULT_SAMPLES_PER_TASK;
    ro.prog = ctx->prog;
    struct rpt_compare_options o = {CMP_BOOTSTRAP_RESAMPLES, CMP_BOOTSTRAP_SEED, 0.95};
    int64_t resamples = o.resamples, seed = (int64_t)o.seed;
    int rc = cli_get_int(a, "samples", 0, INT64_MAX, &ro.samples_per_task, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "resamples", 1, 1000000, &resamples, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "seed", 0, INT64_MAX, &seed, &ctx->err);
    if (rc)
        return rc;
    o.resamples = (int)resamples;
    o.seed = (uint64_t)seed;
    int64_t ids[CLI_MAX_POS];
    for (int i = 0; i < a->n_pos; i++) {
        rc = cli_parse_int(a->pos[i], "run id", 1, INT64_MAX, &ids[i], &ctx->err);
        if (rc)
            return rc;
    }
    const char *path = cli_get(a, "output");
    double t0 = clock_now_s();
    struct store *s = NULL;
    json_t *pairs = NULL;
    struct buf page;
    buf_init(&page, 0);
    rc = cli_open_store(&s, a, STORE_OPEN_READONLY | STORE_OPEN_NO_CREATE, &ctx->err);
    if (rc)
        goto out;
    /* two sweep runs also get "sweep": robustness side by side and Kendall tau */
    rc = rpt_compare_write(&page, &pairs, s, ids, (size_t)a->n_pos, &ro, &o, &ctx->err);
    if (rc)
        goto out;
    rc = file_write_atomic(path, page.data, page.len, &ctx->err);
    if (rc)
        goto out;
    if (ctx->json) {
        json_t *j = json_object();
        json_object_set_new(j, "output", json_string(path));
        json_object_set_new(j, "bytes", json_integer((json_int_t)page.len));
        json_object_set_new(j, "seconds", json_real(clock_now_s() - t0));
        json_object_set(j, "comparisons", pairs);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        print_table(pairs);
        cmd_sweep_compare_print(pairs);
        if (!ctx->quiet)
            fprintf(stderr, "assay: wrote %s (%.2f s)\n", path, clock_now_s() - t0);
    }
out:
    json_decref(pairs);
    buf_release(&page);
    store_close(s);
    return rc;
}
