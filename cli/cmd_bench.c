/*
 * cli/cmd_bench.c - `assay bench`: prompt-processing and generation speed, with the
 * memory-bandwidth ceiling and FMA peak measured in the same run.
 */
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
     "(Q4_0, Q8_0, Q4_K, Q6_K; F16/BF16 with short rows), for comparing the two"},
    {"no-hw", 0, CLI_OPT_FLAG, NULL, NULL, "skip measuring memory bandwidth and the arithmetic peaks"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

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
        printf("{\"model\": \"%s\", \"threads\": %d, \"n_prompt\": %d, \"n_gen\": %d, "
               "\"reps\": %d,\n"
               " \"pp\": {\"tokens_per_s\": %.3f, \"min\": %.3f, \"max\": %.3f},\n"
               " \"tg\": {\"tokens_per_s\": %.3f, \"min\": %.3f, \"max\": %.3f},\n"
               " \"bandwidth_gb_s\": %.3f, \"bandwidth_min_gb_s\": %.3f, "
               "\"bandwidth_max_gb_s\": %.3f, \"bandwidth_samples\": %d,\n"
               " \"weight_bytes_per_token\": %.0f, "
               "\"tg_fraction_of_ceiling\": %.4f,\n"
               " \"fma_peak_gflops\": %.2f, \"int8_peak_gops\": %.2f, "
               "\"pp_flops_per_token\": %.0f, \"pp_int8_ops_per_token\": %.0f, "
               "\"pp_fraction_of_peak\": %.4f, \"load_s\": %.4f, "
               "\"peak_rss_bytes\": %lld, \"kv_bytes\": %lld}\n",
               path, p.n_threads, p.n_prompt, p.n_gen, p.reps, r.pp.median, r.pp.min, r.pp.max,
               r.tg.median, r.tg.min, r.tg.max, r.bandwidth_bytes_s / 1e9,
               r.bandwidth.min / 1e9, r.bandwidth.max / 1e9, r.n_bandwidth,
               r.weight_bytes_per_token, r.tg_fraction_of_ceiling, r.fma_peak_flops / 1e9,
               r.int8_peak_ops / 1e9, r.pp_flops_per_token, r.pp_int8_ops_per_token,
               r.pp_fraction_of_peak, r.load_s, (long long)r.peak_rss_bytes,
               (long long)r.kv_bytes);
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
        printf("  tg ceiling      %.2f tokens/s; achieved %.1f%%\n",
               r.weight_bytes_per_token > 0 ? r.bandwidth_bytes_s / r.weight_bytes_per_token : 0,
               100 * r.tg_fraction_of_ceiling);
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
    return 0;
}
