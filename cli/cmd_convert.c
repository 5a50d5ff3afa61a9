/*
 * cli/cmd_convert.c - `assay convert DIR OUT.gguf [--type T]`: a Hugging Face directory
 * (Gemma, Gemma 2, Gemma 3 text) written as a GGUF with the tensor names and metadata keys
 * of llama.cpp's convert_hf_to_gguf.py, optionally through the quantizer.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/model.h"
#include "engine/quantize.h"

const struct cli_opt cmd_convert_opts[] = {
    {"type", 0, CLI_OPT_STR, "T", NULL,
     "also convert the weights: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_M, Q5_K_M, "
     "Q6_K (default: keep the checkpoint's F32/F16/BF16)"},
    {"pure", 0, CLI_OPT_FLAG, NULL, NULL,
     "with --type: every 2-D weight gets the target type (no Q6_K output, no mixing)"},
    {"threads", 't', CLI_OPT_INT, "N", NULL, "threads for --type (default: the number of cores)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cmd_convert(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *dir = a->pos[0], *out = a->pos[1];
    const struct quantize_recipe *r = NULL;
    const char *type = cli_get(a, "type");
    if (type && !(r = quantize_recipe_find(type)))
        return err_set(&ctx->err, ASSAY_EUSAGE, "--type: unknown type '%s' (known: %s)", type,
                       quantize_recipe_names());
    int64_t th = 0;
    int rc = cli_get_int(a, "threads", 1, 1024, &th, &ctx->err);
    if (rc)
        return rc;
    if (th == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        th = nc > 0 ? nc : 1;
    }
    if (!hf_is_dir(dir))
        return err_set_at(&ctx->err, ASSAY_EINVAL, dir, 0,
                          "not a directory (convert reads a Hugging Face checkpoint directory)");
    double t0 = clock_now_s();
    struct hf_model *h = NULL;
    struct model *m = NULL;
    struct gguf_writer *w = NULL;
    char tmp[4096] = "";
    rc = hf_open(&h, dir, &ctx->err);
    if (rc)
        goto out;
    /* Bind once: every tensor's shape is checked against config.json before writing. */
    size_t nv;
    const struct model_view *views = hf_views(h, &nv);
    rc = model_load_views(&m, hf_meta(h), views, nv, &ctx->err);
    if (rc)
        goto out;
    rc = gguf_writer_new(&w, &ctx->err);
    if (rc)
        goto out;
    rc = hf_to_gguf_writer(h, w, &ctx->err);
    if (rc)
        goto out;
    const char *dst = out;
    if (r) {
        snprintf(tmp, sizeof(tmp), "%s.convert-%ld.gguf", out, (long)getpid());
        dst = tmp;
    }
    rc = gguf_writer_write(w, dst, &ctx->err);
    if (rc)
        goto out;
    struct quantize_stats st = {0};
    if (r) {
        rc = quantize_file(tmp, out, r, cli_flag(a, "pure") ? QUANTIZE_PURE : 0, (int)th,
                           &ctx->prog, &st, &ctx->err);
        if (rc)
            goto out;
    }
    double dt = clock_now_s() - t0;
    const struct arch_hparams *hp = model_hparams(m);
    const char *otype = r ? r->name : hf_weight_type(h);
    if (ctx->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:f}", "input", dir, "output",
                              out, "architecture", hp->arch_name, "type", otype, "tensors",
                              (json_int_t)nv, "params", (json_int_t)hf_n_params(h), "bytes_in",
                              (json_int_t)hf_bytes(h), "seconds", dt);
        if (j) {
            json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
            printf("\n");
            json_decref(j);
        }
    } else {
        printf("%s -> %s: %s, %zu tensors, %" PRId64 " parameters, %s, %.1f s\n", dir, out,
               hp->arch_name, nv, hf_n_params(h), otype, dt);
    }
out:
    if (tmp[0])
        unlink(tmp);
    gguf_writer_free(w);
    model_free(m);
    hf_close(h);
    return rc;
}
