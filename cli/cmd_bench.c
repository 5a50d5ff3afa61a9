/*
 * cli/cmd_bench.c - `assay bench`: prompt-processing and generation speed, with the
 * memory-bandwidth ceiling and FMA peak measured in the same run.
 */
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "engine/bench.h"

const struct cli_opt cmd_bench_opts[] = {
    {"model", 'm', CLI_OPT_STR, "M", NULL, "the checkpoint: a GGUF file"},
    {"n-prompt", 'p', CLI_OPT_INT, "N", "512", "prompt tokens processed in one batch (0: skip)"},
    {"n-gen", 'n', CLI_OPT_INT, "N", "128", "tokens generated one at a time (0: skip)"},
    {"threads", 't', CLI_OPT_INT, "N", NULL, "kernel threads (default: the number of cores)"},
    {"reps", 'r', CLI_OPT_INT, "N", "5", "repetitions; median, min and max are reported"},
    {"reference", 0, CLI_OPT_FLAG, NULL, NULL, "use the scalar float32 reference kernels"},
    {"no-repack", 0, CLI_OPT_FLAG, NULL, NULL,
     "keep the weights in the file's row layout instead of the packed 8-row layout "
     "(Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K; F16/BF16 with short rows), for comparing "
     "the two"},
    {"no-hw", 0, CLI_OPT_FLAG, NULL, NULL,
     "skip measuring memory bandwidth and the arithmetic peaks"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static json_t *stat_json(const struct bench_stat *st, double scale, const char *median)
{
    json_t *o = json_object();
    json_object_set_new(o, median, json_real(st->median * scale));
    json_object_set_new(o, "min", json_real(st->min * scale));
    json_object_set_new(o, "max", json_real(st->max * scale));
    return o;
}

/* jansson writes the path escaped (a quote in a file name made the hand-written JSON
 * invalid), with ", " and ": " between items as before. */
static void print_json(const char *path, const struct bench_params *p,
                       const struct bench_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(path));
    json_object_set_new(o, "threads", json_integer(p->n_threads));
    json_object_set_new(o, "n_prompt", json_integer(p->n_prompt));
    json_object_set_new(o, "n_gen", json_integer(p->n_gen));
    json_object_set_new(o, "reps", json_integer(p->reps));
    json_object_set_new(o, "pp", stat_json(&r->pp, 1, "tokens_per_s"));
    json_object_set_new(o, "tg", stat_json(&r->tg, 1, "tokens_per_s"));
    json_object_set_new(o, "bandwidth_gb_s", json_real(r->bandwidth_bytes_s / 1e9));
    json_object_set_new(o, "bandwidth_min_gb_s", json_real(r->bandwidth.min / 1e9));
    json_object_set_new(o, "bandwidth_max_gb_s", json_real(r->bandwidth.max / 1e9));
    json_object_set_new(o, "bandwidth_samples", json_integer(r->n_bandwidth));
    json_object_set_new(o, "weight_bytes_per_token", json_real(r->weight_bytes_per_token));
    json_object_set_new(o, "tg_fraction_of_ceiling", json_real(r->tg_fraction_of_ceiling));
    json_object_set_new(o, "tg_fraction_min", json_real(r->tg_fraction.min));
    json_object_set_new(o, "tg_fraction_max", json_real(r->tg_fraction.max));
    json_object_set_new(o, "bandwidth_moved_reps", json_integer(r->n_bw_moved));
    /* each tg repetition with the bandwidth samples on either side of it */
    json_t *reps = json_array();
    for (int i = 0; i < r->n_tg && r->n_bandwidth == r->n_tg + 1; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "tokens_per_s", json_real(r->tg_rep[i]));
        json_object_set_new(e, "bandwidth_before_gb_s", json_real(r->bw_sample[i] / 1e9));
        json_object_set_new(e, "bandwidth_after_gb_s", json_real(r->bw_sample[i + 1] / 1e9));
        json_array_append_new(reps, e);
    }
    json_object_set_new(o, "tg_reps", reps);
    json_object_set_new(o, "fma_peak_gflops", json_real(r->fma_peak_flops / 1e9));
    json_object_set_new(o, "int8_peak_gops", json_real(r->int8_peak_ops / 1e9));
    json_object_set_new(o, "pp_flops_per_token", json_real(r->pp_flops_per_token));
    json_object_set_new(o, "pp_int8_ops_per_token", json_real(r->pp_int8_ops_per_token));
    json_object_set_new(o, "pp_fraction_of_peak", json_real(r->pp_fraction_of_peak));
    json_object_set_new(o, "load_s", json_real(r->load_s));
    json_object_set_new(o, "peak_rss_bytes", json_integer(r->peak_rss_bytes));
    json_object_set_new(o, "kv_bytes", json_integer(r->kv_bytes));
    json_dumpf(o, stdout, JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(o);
}

int cmd_bench(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *path = cli_get(a, "model");
    if (!path)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--model is required");
    int64_t np = 512, ng = 128, th = 0, reps = 5;
    int rc = cli_get_int(a, "n-prompt", 0, 1 << 16, &np, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "n-gen", 0, 1 << 16, &ng, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "threads", 1, 1024, &th, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "reps", 1, 1000, &reps, &ctx->err);
    if (rc)
        return rc;
    if (th == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        th = nc > 0 ? nc : 1;
    }
    struct bench_params p = {.n_prompt = (int32_t)np, .n_gen = (int32_t)ng, .n_threads = (int)th,
                             .reps = (int)reps, .matmul_ref = cli_flag(a, "reference"),
                             .no_repack = cli_flag(a, "no-repack"),
                             .no_hw = cli_flag(a, "no-hw")};
    struct bench_result r;
    rc = bench_run(path, &p, &r, &ctx->prog, &ctx->err);
    if (rc)
        return rc;
    if (ctx->json) {
        print_json(path, &p, &r);
        bench_result_free(&r);
        return 0;
    }
    printf("%s  (%d threads, %d reps)\n", path, p.n_threads, p.reps);
    printf("  load            %.3f s\n", r.load_s);
    if (p.n_prompt)
        printf("  pp%-5d         %9.2f tokens/s  (min %.2f, max %.2f)\n", p.n_prompt, r.pp.median,
               r.pp.min, r.pp.max);
    if (p.n_gen)
        printf("  tg%-5d         %9.2f tokens/s  (min %.2f, max %.2f)\n", p.n_gen, r.tg.median,
               r.tg.min, r.tg.max);
    if (!p.no_hw) {
        printf("  bandwidth       %.2f GB/s (median of %d samples, min %.2f, max %.2f); "
               "weights read per token %.1f MB\n",
               r.bandwidth_bytes_s / 1e9, r.n_bandwidth, r.bandwidth.min / 1e9,
               r.bandwidth.max / 1e9, r.weight_bytes_per_token / 1e6);
        printf("  tg ceiling      %.2f tokens/s at the median bandwidth; achieved %.1f%% (each "
               "repetition against the bandwidth just before and after it; min %.1f%%, max "
               "%.1f%%)\n",
               r.weight_bytes_per_token > 0 ? r.bandwidth_bytes_s / r.weight_bytes_per_token : 0,
               100 * r.tg_fraction_of_ceiling, 100 * r.tg_fraction.min, 100 * r.tg_fraction.max);
        if (r.n_bw_moved > 0)
            printf("  note            the bandwidth moved by more than 15%% during %d of %d tg "
                   "repetitions: their fractions are uncertain\n",
                   r.n_bw_moved, r.n_tg);
        printf("  peaks           %.1f GFLOP/s f32 FMA, %.1f GOP/s int8; %.0f%% of pp's "
               "products in int8\n",
               r.fma_peak_flops / 1e9, r.int8_peak_ops / 1e9,
               r.pp_flops_per_token > 0 ? 100 * r.pp_int8_ops_per_token / r.pp_flops_per_token
                                        : 0);
        printf("  pp              achieves %.1f%% of the peak (each product at its own)\n",
               100 * r.pp_fraction_of_peak);
    }
    printf("  peak RSS        %.1f MiB (KV cache %.1f MiB; the bandwidth buffer not counted)\n",
           (double)r.peak_rss_bytes / 1048576.0, (double)r.kv_bytes / 1048576.0);
    bench_result_free(&r);
    return 0;
}
