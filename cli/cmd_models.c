/*
 * cli/cmd_models.c - `assay models info M`: what a checkpoint is (architecture, size,
 * quantization, tensor types, context length, hyper-parameters, fingerprint).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "engine/arch.h"
#include "engine/ckpt.h"
#include "engine/ckpt_src.h"
#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/model.h"
#include "engine/quant.h"

const struct cli_opt cmd_models_opts[] = {
    {"no-fingerprint", 0, CLI_OPT_FLAG, NULL, NULL,
     "skip hashing the file (the fingerprint reads every byte)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int models_info(struct cli_ctx *ctx, const struct cli_args *a, const char *path)
{
    struct ckpt_src src;
    int rc = ckpt_src_open(&src, path, &ctx->err);
    if (rc)
        return rc;
    const struct gguf *g = ckpt_src_meta(&src);
    const bool dir = src.hf != NULL;
    struct ckpt_info ci;
    ckpt_src_describe(&src, &ci);
    struct arch_hparams hp;
    struct assay_error herr;
    err_clear(&herr);
    bool have_hp;
    if (dir) {
        /* a directory's tensor shapes are in its views, not in the metadata: load the
         * model (views into the mappings; nothing is read but the norms) */
        struct model *m = NULL;
        have_hp = ckpt_src_load_model(&src, &m, &herr) == 0;
        if (have_hp)
            hp = *model_hparams(m);
        model_free(m);
    } else {
        have_hp = arch_hparams_from_gguf(&hp, g, &herr) == 0;
    }
    char fp[96] = "";
    if (!cli_flag(a, "no-fingerprint")) {
        rc = dir ? hf_fingerprint(path, fp, sizeof(fp), &ctx->prog, &ctx->err)
                 : ckpt_fingerprint_file(path, fp, sizeof(fp), &ctx->prog, &ctx->err);
        if (rc)
            goto out;
    }
    if (ctx->json) {
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(path));
        json_object_set_new(o, "format", json_string(ckpt_src_format(&src)));
        json_object_set_new(o, "gguf_version", dir ? json_null() : json_integer(ci.gguf_version));
        json_object_set_new(o, "architecture", json_string(ci.architecture));
        json_object_set_new(o, "name", json_string(ci.name));
        json_object_set_new(o, "n_params", json_integer(ci.n_params));
        json_object_set_new(o, "quantization", json_string(ci.quantization));
        json_object_set_new(o, "file_type", json_integer(ci.file_type));
        json_object_set_new(o, "context_length", json_integer(ci.context_length));
        json_object_set_new(o, "n_vocab", json_integer(ci.n_vocab));
        json_object_set_new(o, "file_bytes", json_integer(ci.file_bytes));
        json_object_set_new(o, "n_tensors", dir ? json_null() : json_integer(ci.n_tensors));
        json_object_set_new(o, "fingerprint", fp[0] ? json_string(fp) : json_null());
        json_t *types = json_object();
        for (int t = 0; t < CKPT_MAX_TYPES; t++) {
            if (!ci.type_count[t])
                continue;
            const struct quant_traits *tr = quant_traits_of(t);
            json_t *x = json_object();
            json_object_set_new(x, "tensors", json_integer(ci.type_count[t]));
            json_object_set_new(x, "bytes", json_integer(ci.type_bytes[t]));
            json_object_set_new(types, tr ? tr->name : "?", x);
        }
        json_object_set_new(o, "tensor_types", types);
        if (have_hp) {
            json_t *h = json_object();
            json_object_set_new(h, "n_embd", json_integer(hp.n_embd));
            json_object_set_new(h, "n_layer", json_integer(hp.n_layer));
            json_object_set_new(h, "n_head", json_integer(hp.n_head));
            json_object_set_new(h, "n_head_kv", json_integer(hp.n_head_kv));
            json_object_set_new(h, "head_dim", json_integer(hp.head_dim));
            json_object_set_new(h, "n_ff", json_integer(hp.n_ff));
            json_object_set_new(h, "n_vocab", json_integer(hp.n_vocab));
            json_object_set_new(h, "sliding_window", json_integer(hp.sliding_window));
            json_object_set_new(h, "attn_softcap", json_real(hp.attn_softcap));
            json_object_set_new(h, "final_softcap", json_real(hp.final_softcap));
            json_object_set_new(h, "rope_base", json_real(hp.rope_base));
            json_object_set_new(h, "rope_base_local", json_real(hp.rope_base_swa));
            json_object_set_new(h, "query_scale", json_real(hp.query_scale));
            json_object_set_new(o, "hparams", h);
        } else {
            json_object_set_new(o, "hparams_error", json_string(herr.msg));
        }
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(o);
        goto out;
    }
    char size[32];
    cli_human_bytes(size, sizeof(size), (double)ci.file_bytes);
    printf("%s\n", path);
    if (dir)
        printf("  format          Hugging Face directory (safetensors)\n");
    else
        printf("  format          GGUF v%u\n", ci.gguf_version);
    printf("  architecture    %s\n", ci.architecture[0] ? ci.architecture : "(none)");
    printf("  name            %s\n", ci.name);
    printf("  parameters      %" PRId64 " (%.3g M)\n", ci.n_params, (double)ci.n_params / 1e6);
    printf("  quantization    %s\n", ci.quantization);
    printf("  context length  %" PRId64 "\n", ci.context_length);
    printf("  vocabulary      %" PRId64 "\n", ci.n_vocab);
    printf("  %s       %s (%" PRId64 " bytes)\n", dir ? "weights  " : "file size", size,
           ci.file_bytes);
    printf("  fingerprint     %s\n", fp[0] ? fp : "(not computed)");
    printf("  tensor types   ");
    if (dir)
        printf(" %s (all weights)", ci.quantization);
    for (int t = 0; t < CKPT_MAX_TYPES; t++) {
        if (!ci.type_count[t])
            continue;
        const struct quant_traits *tr = quant_traits_of(t);
        cli_human_bytes(size, sizeof(size), (double)ci.type_bytes[t]);
        printf(" %s: %" PRId64 " (%s)", tr ? tr->name : "?", ci.type_count[t], size);
    }
    printf("\n");
    if (have_hp) {
        printf("  layers          %" PRId64 " (width %" PRId64 ", ffn %" PRId64 ")\n", hp.n_layer,
               hp.n_embd, hp.n_ff);
        printf("  attention       %" PRId64 " heads, %" PRId64 " kv heads, head size %" PRId64
               "\n",
               hp.n_head, hp.n_head_kv, hp.head_dim);
        if (hp.sliding_window)
            printf("  sliding window  %" PRId64 "\n", hp.sliding_window);
        if (hp.attn_softcap > 0 || hp.final_softcap > 0)
            printf("  soft-caps       attention %g, final %g\n", hp.attn_softcap,
                   hp.final_softcap);
        printf("  rope base       %g (local %g)\n", hp.rope_base, hp.rope_base_swa);
    } else {
        printf("  (cannot run: %s)\n", herr.msg);
    }
out:
    ckpt_src_close(&src);
    return rc;
}

int cmd_models(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (strcmp(a->pos[0], "info") != 0)
        return err_set(&ctx->err, ASSAY_EUSAGE, "unknown 'models' action '%s' (try: info M)",
                       a->pos[0]);
    if (a->n_pos != 2)
        return err_set(&ctx->err, ASSAY_EUSAGE, "usage: assay models info MODEL (a GGUF file or an HF directory)");
    return models_info(ctx, a, a->pos[1]);
}
