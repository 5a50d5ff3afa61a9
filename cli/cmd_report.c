/*
 * cli/cmd_report.c - `assay report [--run LIST] [-o FILE] [--raw]`: write the
 * self-contained HTML report of stored runs (reports/report.h). Reads the store only.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "reports/report.h"
#include "reports/rundata.h"
#include "store/store.h"

const struct cli_opt cmd_report_opts[] = {
    CLI_OPT_DB,
    {"run", 'r', CLI_OPT_STR, "ID[,ID...]", NULL,
     "the runs to report, in this order (default: the newest eval run, else the newest run)"},
    {"output", 'o', CLI_OPT_STR, "FILE", "report.html", "where to write the page"},
    {"raw", 0, CLI_OPT_FLAG, NULL, NULL,
     "show stored text as it is (default: personal data and secrets masked by the PII "
     "scanner)"},
    {"samples", 0, CLI_OPT_INT, "N", "50", "samples listed per task, worst first (0: all)"},
    {"published-as", 0, CLI_OPT_STR, "NAME", NULL,
     "show the published figures of this checkpoint (e.g. gemma-2-9b) instead of matching the "
     "run's model name"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

/* "3,5, 9" -> ids; every id >= 1. The caller frees *out. */
static int parse_run_list(const char *list, int64_t **out, size_t *n_out, struct assay_error *err)
{
    size_t cap = 8, n = 0;
    int64_t *ids = malloc(cap * sizeof(*ids));
    char *copy = strdup(list);
    int rc = 0;
    if (!ids || !copy) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (char *p = copy; *p;) {
        p += strspn(p, ", ");
        if (!*p)
            break;
        size_t len = strcspn(p, ", ");
        char save = p[len];
        p[len] = '\0';
        int64_t id;
        rc = cli_parse_int(p, "run id", 1, INT64_MAX, &id, err);
        p[len] = save;
        if (rc)
            goto out;
        if (n == cap) {
            int64_t *q = realloc(ids, 2 * cap * sizeof(*ids));
            if (!q) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            ids = q;
            cap *= 2;
        }
        ids[n++] = id;
        p += len;
    }
    if (n == 0)
        rc = err_set(err, ASSAY_EUSAGE, "no run id in '%s'", list);
out:
    free(copy);
    if (rc) {
        free(ids);
        return rc;
    }
    *out = ids;
    *n_out = n;
    return 0;
}

int cmd_report(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct rpt_options o = {0};
    o.raw = cli_flag(a, "raw");
    o.samples_per_task = RPT_DEFAULT_SAMPLES_PER_TASK;
    o.published_as = cli_get(a, "published-as");
    o.prog = ctx->prog;
    int rc = cli_get_int(a, "samples", 0, INT64_MAX, &o.samples_per_task, &ctx->err);
    if (rc)
        return rc;
    const char *path = cli_get(a, "output");
    int64_t *ids = NULL;
    size_t n = 0;
    if (cli_given(a, "run")) {
        rc = parse_run_list(cli_get(a, "run"), &ids, &n, &ctx->err);
        if (rc)
            return rc;
    }
    double t0 = clock_now_s();
    struct store *s = NULL;
    struct buf page;
    buf_init(&page, 0);
    rc = cli_open_store(&s, a, STORE_OPEN_READONLY | STORE_OPEN_NO_CREATE, &ctx->err);
    if (rc)
        goto out;
    if (n == 0) {
        ids = malloc(sizeof(*ids));
        if (!ids) {
            rc = err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        rc = rpt_default_run(s, &ids[0], &ctx->err);
        if (rc)
            goto out;
        if (ids[0] == 0) {
            rc = err_set(&ctx->err, ASSAY_ENOTFOUND, "no runs in '%s' to report", store_path(s));
            goto out;
        }
        n = 1;
    }
    rc = rpt_report_write(&page, s, ids, n, &o, &ctx->err);
    if (rc)
        goto out;
    rc = file_write_atomic(path, page.data, page.len, &ctx->err);
    if (rc)
        goto out;
    double secs = clock_now_s() - t0;
    if (ctx->json) {
        json_t *j = json_object(), *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_integer(ids[i]));
        json_object_set_new(j, "output", json_string(path));
        json_object_set_new(j, "runs", arr);
        json_object_set_new(j, "bytes", json_integer((json_int_t)page.len));
        json_object_set_new(j, "seconds", json_real(secs));
        json_object_set_new(j, "masked", json_boolean(!o.raw));
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(j);
    } else if (!ctx->quiet) {
        char size[32];
        cli_human_bytes(size, sizeof(size), (double)page.len);
        fprintf(stderr, "assay: wrote %s (%s, %zu run%s, %.2f s)\n", path, size, n,
                n == 1 ? "" : "s", secs);
    }
out:
    buf_release(&page);
    store_close(s);
    free(ids);
    return rc;
}
