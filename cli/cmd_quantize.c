/*
 * cli/cmd_quantize.c - `assay quantize IN OUT --type T`: write a GGUF in another type.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "engine/quant.h"
#include "engine/quantize.h"

const struct cli_opt cmd_quantize_opts[] = {
    {"type", 0, CLI_OPT_STR, "T", NULL,
     "target: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_M, Q5_K_M, Q6_K"},
    {"threads", 't', CLI_OPT_INT, "N", NULL, "threads (default: the number of cores)"},
    {"pure", 0, CLI_OPT_FLAG, NULL, NULL,
     "every 2-D weight gets the target type (no Q6_K output, no mixing)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cmd_quantize(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *type = cli_get(a, "type");
    if (!type)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--type is required (%s)",
                       quantize_recipe_names());
    const struct quantize_recipe *r = quantize_recipe_find(type);
    if (!r)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--type: unknown type '%s' (known: %s)", type,
                       quantize_recipe_names());
    int64_t th = 0;
    int rc0 = cli_get_int(a, "threads", 1, 1024, &th, &ctx->err);
    if (rc0)
        return rc0;
    if (th == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        th = nc > 0 ? nc : 1;
    }
    struct quantize_stats st;
    double t0 = clock_now_s();
    int rc = quantize_file(a->pos[0], a->pos[1], r, cli_flag(a, "pure") ? QUANTIZE_PURE : 0, (int)th, &ctx->prog, &st, &ctx->err);
    if (rc)
        return rc;
    double dt = clock_now_s() - t0;
    if (ctx->json) {
        /* jansson escapes the path (quotes, control bytes, invalid UTF-8 refused) */
        json_t *o = json_object();
        json_object_set_new(o, "input", json_string(a->pos[0]));
        json_object_set_new(o, "output", json_string(a->pos[1]));
        json_object_set_new(o, "type", json_string(r->name));
        json_object_set_new(o, "tensors", json_integer(st.n_tensors));
        json_object_set_new(o, "quantized", json_integer(st.n_quantized));
        json_object_set_new(o, "bytes_in", json_integer(st.bytes_in));
        json_object_set_new(o, "bytes_out", json_integer(st.bytes_out));
        json_object_set_new(o, "seconds", json_real(dt));
        json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(o);
        return 0;
    }
    printf("%s -> %s (%s): %" PRId64 " tensors, %" PRId64 " converted, %.1f MiB -> %.1f MiB in "
           "%.1f s\n  types:",
           a->pos[0], a->pos[1], r->name, st.n_tensors, st.n_quantized,
           (double)st.bytes_in / 1048576.0, (double)st.bytes_out / 1048576.0, dt);
    for (int t = 0; t < 40; t++)
        if (st.type_count[t]) {
            const struct quant_traits *tr = quant_traits_of(t);
            printf(" %s: %" PRId64, tr ? tr->name : "?", st.type_count[t]);
        }
    printf("\n");
    return 0;
}
