/*
 * cli/cmd_runs.c - `assay runs [show ID]`: list stored runs, or show one with its
 * configuration and metrics. Reads the store only.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "store/store.h"

const struct cli_opt cmd_runs_opts[] = {
    CLI_OPT_DB,
    {"limit", 'n', CLI_OPT_INT, "N", "50", "list at most N runs, newest first (0: all)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static json_t *run_json(const struct store_run *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "kind", json_string(r->kind ? r->kind : ""));
    json_object_set_new(o, "status", json_string(store_run_status_name(r->status)));
    json_object_set_new(o, "model_fingerprint",
                        r->model_fingerprint ? json_string(r->model_fingerprint) : json_null());
    json_object_set_new(o, "model_path", r->model_path ? json_string(r->model_path) : json_null());
    json_object_set_new(o, "backend", r->backend ? json_string(r->backend) : json_null());
    json_object_set_new(o, "config_hash", json_string(r->config_hash ? r->config_hash : ""));
    json_object_set_new(o, "started_at", json_string(r->started_at ? r->started_at : ""));
    json_object_set_new(o, "finished_at",
                        r->finished_at ? json_string(r->finished_at) : json_null());
    json_object_set_new(o, "assay_version", json_string(r->assay_version ? r->assay_version : ""));
    json_object_set_new(o, "host", r->host ? json_string(r->host) : json_null());
    json_object_set_new(o, "error", r->error ? json_string(r->error) : json_null());
    json_object_set_new(o, "n_samples", json_integer(r->n_samples));
    return o;
}

static void print_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
}

static int list_runs(struct cli_ctx *ctx, struct store *s, int64_t limit)
{
    struct store_run *runs = NULL;
    int64_t n = 0;
    int rc = store_list_runs(s, limit, &runs, &n, &ctx->err);
    if (rc)
        return rc;
    if (ctx->json) {
        json_t *arr = json_array();
        for (int64_t i = 0; i < n; i++)
            json_array_append_new(arr, run_json(&runs[i]));
        print_json(arr);
        json_decref(arr);
    } else if (n == 0) {
        printf("no runs in %s\n", store_path(s));
    } else {
        printf("%6s  %-10s  %-11s  %-24s  %8s  %s\n", "id", "kind", "status", "started (UTC)",
               "samples", "model");
        for (int64_t i = 0; i < n; i++) {
            const struct store_run *r = &runs[i];
            printf("%6" PRId64 "  %-10s  %-11s  %-24s  %8" PRId64 "  %s\n", r->id,
                   r->kind ? r->kind : "", store_run_status_name(r->status),
                   r->started_at ? r->started_at : "", r->n_samples,
                   r->model_path ? r->model_path : "-");
        }
    }
    store_runs_free(runs, n);
    return 0;
}

static int show_run(struct cli_ctx *ctx, struct store *s, int64_t id)
{
    struct store_run r;
    int rc = store_get_run(s, id, &r, &ctx->err);
    if (rc)
        return rc;
    struct store_metric *m = NULL;
    int64_t n_m = 0;
    rc = store_list_metrics(s, id, &m, &n_m, &ctx->err);
    if (rc)
        goto out;
    if (ctx->json) {
        json_t *o = run_json(&r);
        json_error_t je;
        json_t *cfg = json_loads(r.config_json ? r.config_json : "{}", 0, &je);
        json_object_set_new(o, "config", cfg ? cfg : json_string(r.config_json));
        json_t *arr = json_array();
        for (int64_t i = 0; i < n_m; i++) {
            json_t *x = json_object();
            json_object_set_new(x, "task", json_string(m[i].task));
            json_object_set_new(x, "name", json_string(m[i].name));
            json_object_set_new(x, "value", isnan(m[i].value) ? json_null() : json_real(m[i].value));
            json_object_set_new(x, "stderr",
                                isnan(m[i].stderr_) ? json_null() : json_real(m[i].stderr_));
            json_object_set_new(x, "n", json_integer(m[i].n));
            json_array_append_new(arr, x);
        }
        json_object_set_new(o, "metrics", arr);
        print_json(o);
        json_decref(o);
    } else {
        printf("run %" PRId64 "\n", r.id);
        printf("  kind           %s\n", r.kind ? r.kind : "");
        printf("  status         %s%s%s\n", store_run_status_name(r.status), r.error ? ": " : "",
               r.error ? r.error : "");
        printf("  model          %s\n", r.model_path ? r.model_path : "-");
        printf("  fingerprint    %s\n", r.model_fingerprint ? r.model_fingerprint : "-");
        printf("  backend        %s\n", r.backend ? r.backend : "-");
        printf("  started        %s\n", r.started_at ? r.started_at : "");
        printf("  finished       %s\n", r.finished_at ? r.finished_at : "-");
        printf("  assay          %s\n", r.assay_version ? r.assay_version : "");
        printf("  host           %s\n", r.host ? r.host : "-");
        printf("  samples        %" PRId64 "\n", r.n_samples);
        printf("  config         %s\n", r.config_json ? r.config_json : "{}");
        printf("  config hash    %s\n", r.config_hash ? r.config_hash : "");
        if (n_m > 0) {
            printf("\n  %-32s %-12s %10s %10s %8s\n", "task", "metric", "value", "stderr", "n");
            for (int64_t i = 0; i < n_m; i++)
                printf("  %-32s %-12s %10.4f %10.4f %8" PRId64 "\n", m[i].task, m[i].name,
                       m[i].value, m[i].stderr_, m[i].n);
        }
    }
out:
    store_metrics_free(m, n_m);
    store_run_release(&r);
    return rc;
}

int cmd_runs(struct cli_ctx *ctx, const struct cli_args *a)
{
    int64_t limit = 50;
    int rc = cli_get_int(a, "limit", 0, INT64_MAX, &limit, &ctx->err);
    if (rc)
        return rc;
    int64_t show_id = -1;
    if (a->n_pos > 0) {
        if (strcmp(a->pos[0], "show") != 0)
            return err_set(&ctx->err, ASSAY_EUSAGE, "unknown 'runs' action '%s' (try: show ID)",
                           a->pos[0]);
        if (a->n_pos != 2)
            return err_set(&ctx->err, ASSAY_EUSAGE, "usage: assay runs show ID");
        rc = cli_parse_int(a->pos[1], "run id", 1, INT64_MAX, &show_id, &ctx->err);
        if (rc)
            return rc;
    }
    struct store *s = NULL;
    rc = cli_open_store(&s, a, 0, &ctx->err);
    if (rc)
        return rc;
    rc = show_id > 0 ? show_run(ctx, s, show_id) : list_runs(ctx, s, limit);
    store_close(s);
    return rc;
}
