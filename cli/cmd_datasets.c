/*
 * cli/cmd_datasets.c - `assay datasets list | fetch NAME... | verify [NAME...] | path NAME
 * FILE`: the registry, downloads into the cache (with a byte progress line and ETA), and
 * sha256 checks of the files on this machine. Logic lives in datasets/; this file parses,
 * prints and picks exit statuses (verify: 3 when a file does not match).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "datasets/ds.h"

const struct cli_opt cmd_datasets_opts[] = {
    {"data-dir", 0, CLI_OPT_STR, "DIR", NULL,
     "a local mirror laid out like ../shared/datasets (default: $ASSAY_DATA_DIR)"},
    {"cache-dir", 0, CLI_OPT_STR, "DIR", NULL,
     "download cache (default: $XDG_CACHE_HOME/assay/datasets or ~/.cache/assay/datasets)"},
    {"base-url", 0, CLI_OPT_STR, "URL", NULL,
     "fetch from a mirror over HTTP: URL/PATH (default: $ASSAY_DATASETS_BASE_URL, else each "
     "file's canonical URL)"},
    {"retries", 0, CLI_OPT_INT, "N", "5", "retries of a transient download failure"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static void print_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
}

/* A byte-aware progress line per download: "URL  3.1 MiB/7.2 MiB  1.2 MiB/s  ETA 4s". */
struct dl_progress {
    const char *what;
    double t_start, t_last;
    int drawn;
};

static void draw_bytes(void *user, int64_t done, int64_t total, const char *what)
{
    struct dl_progress *p = user;
    double now = clock_now_s();
    if (p->what != what) { /* a new file */
        p->what = what;
        p->t_start = now;
        p->t_last = 0;
    }
    int finished = total > 0 && done >= total;
    if (!finished && now - p->t_last < 0.1)
        return;
    p->t_last = now;
    double el = now - p->t_start;
    double rate = el > 0 ? (double)done / el : 0;
    char d[32], t[32], r[32];
    cli_human_bytes(d, sizeof(d), (double)done);
    cli_human_bytes(r, sizeof(r), rate);
    const char *name = strrchr(what, '/');
    name = name ? name + 1 : what;
    if (total > 0 && rate > 0) {
        cli_human_bytes(t, sizeof(t), (double)total);
        fprintf(stderr, "\r\033[K%s  %s/%s  %s/s  ETA %.0fs", name, d, t, r,
                (double)(total - done) / rate);
    } else {
        fprintf(stderr, "\r\033[K%s  %s  %s/s", name, d, r);
    }
    fflush(stderr);
    p->drawn = 1;
}

static int fill_opts(struct ds_opts *o, struct cli_ctx *ctx, const struct cli_args *a)
{
    memset(o, 0, sizeof(*o));
    o->data_dir = cli_get(a, "data-dir");
    o->cache_dir = cli_get(a, "cache-dir");
    o->base_url = cli_get(a, "base-url");
    int64_t retries = 5;
    int rc = cli_get_int(a, "retries", 0, 100, &retries, &ctx->err);
    if (rc)
        return rc;
    o->max_retries = retries == 0 ? -1 : (int)retries;
    return 0;
}

static json_t *file_json(const struct ds_file *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(f->path));
    json_object_set_new(o, "split", json_string(f->split));
    json_object_set_new(o, "format", json_string(ds_format_name(f->format)));
    json_object_set_new(o, "rows", json_integer(f->n_rows));
    json_object_set_new(o, "bytes", json_integer(f->n_bytes));
    json_object_set_new(o, "sha256", f->sha256 ? json_string(f->sha256) : json_null());
    json_object_set_new(o, "url", f->url ? json_string(f->url) : json_null());
    json_object_set_new(o, "member", f->member ? json_string(f->member) : json_null());
    return o;
}

static int do_list(struct cli_ctx *ctx)
{
    size_t n = ds_registry_count();
    if (ctx->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            const struct ds_info *d = ds_registry_at(i);
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(d->name));
            json_object_set_new(o, "title", json_string(d->title));
            json_object_set_new(o, "license", json_string(d->license));
            json_object_set_new(o, "source", json_string(d->source));
            json_object_set_new(o, "in_mirror", json_boolean(d->in_mirror));
            json_t *files = json_array();
            for (size_t k = 0; k < d->n_files; k++)
                json_array_append_new(files, file_json(&d->files[k]));
            json_object_set_new(o, "files", files);
            json_array_append_new(arr, o);
        }
        print_json(arr);
        json_decref(arr);
        return 0;
    }
    printf("%-27s %5s %10s  %-14s %s\n", "NAME", "FILES", "SIZE", "LICENSE", "DESCRIPTION");
    for (size_t i = 0; i < n; i++) {
        const struct ds_info *d = ds_registry_at(i);
        int64_t bytes = 0;
        for (size_t k = 0; k < d->n_files; k++)
            bytes += d->files[k].n_bytes;
        char b[32];
        cli_human_bytes(b, sizeof(b), (double)bytes);
        printf("%-27s %5zu %10s  %-14s %s%s\n", d->name, d->n_files, b, d->license, d->title,
               d->in_mirror ? "" : " [not in the mirror]");
    }
    return 0;
}

static int lookup(const struct ds_info **out, struct cli_ctx *ctx, const char *name)
{
    *out = ds_registry_find(name);
    if (!*out)
        return err_set(&ctx->err, ASSAY_EUSAGE, "unknown dataset '%s' (see 'assay datasets list')",
                       name);
    return 0;
}

static int do_fetch(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (a->n_pos < 2)
        return err_set(&ctx->err, ASSAY_EUSAGE,
                       "fetch: name a dataset (see 'assay datasets list')");
    struct ds_opts o;
    int rc = fill_opts(&o, ctx, a);
    if (rc)
        return rc;
    struct dl_progress dp = {0};
    if (ctx->progress) {
        o.progress.fn = draw_bytes;
        o.progress.user = &dp;
    }
    for (int i = 1; i < a->n_pos; i++) {
        const struct ds_info *d;
        rc = lookup(&d, ctx, a->pos[i]);
        if (rc)
            return rc;
        size_t n = 0;
        rc = ds_fetch(d, &o, &n, &ctx->err);
        if (dp.drawn) {
            fputc('\n', stderr);
            dp.drawn = 0;
        }
        if (rc)
            return rc;
        char cache[2048] = "";
        (void)ds_cache_dir(cache, sizeof(cache), &o, NULL);
        if (ctx->json)
            printf("{\"dataset\": \"%s\", \"fetched\": %zu, \"files\": %zu}\n", d->name, n,
                   d->n_files);
        else
            printf("%s: %zu of %zu files fetched into %s (the others were already present)\n",
                   d->name, n, d->n_files, cache);
    }
    return 0;
}

static int do_verify(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct ds_opts o;
    int rc = fill_opts(&o, ctx, a);
    if (rc)
        return rc;
    size_t counts[4] = {0};
    json_t *arr = ctx->json ? json_array() : NULL;
    size_t n_sets = a->n_pos > 1 ? (size_t)(a->n_pos - 1) : ds_registry_count();
    for (size_t i = 0; i < n_sets; i++) {
        const struct ds_info *d;
        if (a->n_pos > 1) {
            rc = lookup(&d, ctx, a->pos[i + 1]);
            if (rc)
                goto out;
        } else {
            d = ds_registry_at(i);
        }
        for (size_t k = 0; k < d->n_files; k++) {
            const struct ds_file *f = &d->files[k];
            enum ds_verify_status st;
            char hex[65], path[4096] = "";
            rc = ds_verify_file(&st, hex, path, sizeof(path), f, &o, &ctx->err);
            if (rc)
                goto out;
            counts[st]++;
            if (arr) {
                json_t *x = json_object();
                json_object_set_new(x, "dataset", json_string(d->name));
                json_object_set_new(x, "path", json_string(f->path));
                json_object_set_new(x, "status", json_string(ds_verify_status_name(st)));
                json_object_set_new(x, "file", path[0] ? json_string(path) : json_null());
                json_object_set_new(x, "expected",
                                    f->sha256 ? json_string(f->sha256) : json_null());
                json_object_set_new(x, "got", hex[0] ? json_string(hex) : json_null());
                json_array_append_new(arr, x);
            } else if (st == DS_VERIFY_MISMATCH) {
                printf("%-9s %s (%s)\n          expected %s\n          got      %s\n",
                       ds_verify_status_name(st), f->path, path, f->sha256, hex);
            } else {
                printf("%-9s %s%s%s%s\n", ds_verify_status_name(st), f->path, path[0] ? " (" : "",
                       path, path[0] ? ")" : "");
            }
        }
    }
    if (arr)
        print_json(arr);
    else
        fprintf(stderr, "%zu OK, %zu missing, %zu mismatched, %zu unchecked\n",
                counts[DS_VERIFY_OK], counts[DS_VERIFY_MISSING], counts[DS_VERIFY_MISMATCH],
                counts[DS_VERIFY_UNCHECKED]);
    rc = 0;
    if (counts[DS_VERIFY_MISMATCH])
        rc = err_set(&ctx->err, ASSAY_EINVAL, "%zu file(s) do not match their sha256",
                     counts[DS_VERIFY_MISMATCH]);
    else if (counts[DS_VERIFY_MISSING] && a->n_pos > 1)
        rc =
            err_set(&ctx->err, ASSAY_EFAIL, "%zu file(s) missing (run 'assay datasets fetch NAME')",
                    counts[DS_VERIFY_MISSING]);
out:
    json_decref(arr);
    return rc;
}

static int do_path(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (a->n_pos != 3)
        return err_set(&ctx->err, ASSAY_EUSAGE, "usage: assay datasets path NAME FILE");
    struct ds_opts o;
    int rc = fill_opts(&o, ctx, a);
    if (rc)
        return rc;
    char path[4096];
    rc = ds_resolve(path, sizeof(path), a->pos[1], a->pos[2], &o, &ctx->err);
    if (rc)
        return rc;
    printf("%s\n", path);
    return 0;
}

int cmd_datasets(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *sub = a->pos[0];
    if (strcmp(sub, "list") == 0) {
        if (a->n_pos != 1)
            return err_set(&ctx->err, ASSAY_EUSAGE, "list takes no arguments");
        return do_list(ctx);
    }
    if (strcmp(sub, "fetch") == 0)
        return do_fetch(ctx, a);
    if (strcmp(sub, "verify") == 0)
        return do_verify(ctx, a);
    if (strcmp(sub, "path") == 0)
        return do_path(ctx, a);
    return err_set(&ctx->err, ASSAY_EUSAGE,
                   "unknown datasets command '%s' (list, fetch, verify, path)", sub);
}
