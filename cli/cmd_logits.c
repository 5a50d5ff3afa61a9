/*
 * cli/cmd_logits.c - `assay logits`: the model's raw logits for a token sequence, every
 * position or the last, as JSON {"tokens": [...], "logits": [[...], ...]} (float32
 * values printed with 9 significant digits, so they read back bit-exact).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "engine/ckpt_src.h"
#include "engine/model.h"
#include "engine/tok.h"

const struct cli_opt cmd_logits_opts[] = {
    CLI_OPT_MODEL,
    {"ids", 0, CLI_OPT_STR, "IDS", NULL, "comma-separated token ids, used as given"},
    {"text", 0, CLI_OPT_STR, "S", NULL, "text, encoded with one BOS first"},
    {"positions", 0, CLI_OPT_STR, "WHICH", "all", "'all' or 'last'"},
    {"output", 'o', CLI_OPT_STR, "FILE", NULL, "write the JSON here instead of stdout"},
    CLI_OPT_THREADS,
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cmd_logits(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *path = cli_get(a, "model"), *ids_s = cli_get(a, "ids"),
               *text = cli_get(a, "text"), *which = cli_get(a, "positions");
    if (!path)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--model is required");
    if (!!ids_s == !!text)
        return err_set(&ctx->err, ASSAY_EUSAGE, "give exactly one of --ids and --text");
    bool all = strcmp(which, "all") == 0;
    if (!all && strcmp(which, "last") != 0)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--positions: expected 'all' or 'last', got '%s'",
                       which);
    int64_t threads = 0;
    int rc = cli_get_int(a, "threads", 1, 1024, &threads, &ctx->err);
    if (rc)
        return rc;
    struct ckpt_src src = {0};
    struct model *m = NULL;
    struct model_ctx *c = NULL;
    struct tok *t = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    bool *want = NULL;
    int32_t *pos = NULL, *seq = NULL;
    FILE *f = NULL;
    rc = ckpt_src_open(&src, path, &ctx->err);
    if (rc)
        goto out;
    rc = ckpt_src_load_model(&src, &m, &ctx->err);
    if (rc)
        goto out;
    if (text) {
        rc = tok_new_from_gguf(&t, ckpt_src_meta(&src), &ctx->err);
        if (rc)
            goto out;
        rc = tok_encode(t, text, strlen(text), tok_bos_id(t) >= 0 ? TOK_ENCODE_BOS : 0, &ids,
                        &n, &ctx->err);
    } else {
        rc = cli_parse_ids(ids_s, "--ids", INT32_MAX, &ids, &n, &ctx->err);
    }
    if (rc)
        goto out;
    if (n == 0) {
        rc = err_set(&ctx->err, ASSAY_EUSAGE, "no tokens to evaluate");
        goto out;
    }
    const struct arch_hparams *hp = model_hparams(m);
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= hp->n_vocab) {
            rc = err_set(&ctx->err, ASSAY_EINVAL, "token id %d out of range (vocabulary %lld)",
                         ids[i], (long long)hp->n_vocab);
            goto out;
        }
    struct model_ctx_params p;
    model_ctx_params_default(&p);
    p.n_ctx = (int32_t)n;
    p.n_batch_max = (int32_t)n;
    p.n_logits_max = all ? (int32_t)n : 1;
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    p.n_threads = threads > 0 ? (int)threads : (nc > 0 ? (int)nc : 1);
    /* the kernels `assay run` uses, so the logits are the ones behind its scores */
    rc = model_repack(m, p.n_threads, &ctx->err);
    if (!rc)
        rc = model_ctx_new(&c, m, &p, &ctx->err);
    if (rc)
        goto out;
    want = calloc(n, sizeof(bool));
    pos = calloc(n, sizeof(int32_t));
    seq = calloc(n, sizeof(int32_t));
    if (!want || !pos || !seq) {
        rc = err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        pos[i] = (int32_t)i;
        want[i] = all || i == n - 1;
    }
    struct model_batch b = {.n_tok = (int32_t)n, .token = ids, .pos = pos, .seq_id = seq,
                            .want_logits = want};
    rc = model_decode(c, &b, &ctx->err);
    if (rc)
        goto out;
    const char *outp = cli_get(a, "output");
    f = outp ? fopen(outp, "w") : stdout;
    if (!f) {
        rc = err_set_at(&ctx->err, ASSAY_EIO, outp, 0, "cannot create: %s", strerror(errno));
        goto out;
    }
    fputs("{\"tokens\": [", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ", %d" : "%d", ids[i]);
    fprintf(f, "], \"positions\": \"%s\", \"logits\": [", all ? "all" : "last");
    int32_t rows = model_n_logits(c);
    for (int32_t r = 0; r < rows; r++) {
        const float *l = model_logits(c, r);
        fputs(r ? ",\n[" : "\n[", f);
        for (int64_t v = 0; v < hp->n_vocab; v++)
            fprintf(f, v ? ", %.9g" : "%.9g", (double)l[v]);
        fputc(']', f);
    }
    fputs("]}\n", f);
    if (f != stdout && fclose(f) != 0)
        rc = err_set_at(&ctx->err, ASSAY_EIO, outp, 0, "write failed: %s", strerror(errno));
    f = NULL;
out:
    if (f && f != stdout)
        fclose(f);
    free(want);
    free(pos);
    free(seq);
    free(ids);
    tok_free(t);
    model_ctx_free(c);
    model_free(m);
    ckpt_src_close(&src);
    return rc;
}
