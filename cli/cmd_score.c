/*
 * cli/cmd_score.c - `assay score`: the log-likelihood of a continuation given a context,
 * with lm-eval's tokenization (trailing context whitespace moves to the continuation,
 * one BOS), stored as a run with one sample.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "engine/backend.h"
#include "store/store.h"

const struct cli_opt cmd_score_opts[] = {
    CLI_OPT_MODEL,
    {"context", 0, CLI_OPT_STR, "S", NULL, "the context (may be empty: then [BOS] alone)"},
    {"continuation", 0, CLI_OPT_STR, "S", NULL, "the continuation whose log-prob is wanted"},
    CLI_OPT_DB,
    CLI_OPT_THREADS,
    CLI_OPT_CTX,
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cmd_score(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *context = cli_get(a, "context"), *cont = cli_get(a, "continuation");
    if (!context || !cont)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--context and --continuation are required");
    struct store *s = NULL;
    struct backend *b = NULL;
    int64_t model_id = 0, run = 0;
    char *cfg = NULL;
    int rc = cli_open_store(&s, a, 0, &ctx->err);
    if (rc)
        return rc;
    rc = cli_backend_open(ctx, a, s, &b, &model_id);
    if (rc)
        goto out;
    struct backend_info in;
    backend_info(b, &in);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:b}", "command", "score", "model", in.fingerprint,
                          "context", context, "continuation", cont, "add_bos", in.add_bos);
    cfg = jsn_dump_canonical(c);
    json_decref(c);
    struct store_run_new rn = {.kind = "score", .model_id = model_id, .backend = in.kind,
                               .config_json = cfg};
    rc = store_begin_run(s, &rn, &run, &ctx->err);
    if (rc)
        goto out;
    struct bk_ll_req req = {.context = {.text = context, .len = strlen(context)},
                            .continuation = {.text = cont, .len = strlen(cont)}};
    struct bk_ll_res res;
    rc = backend_loglikelihood(b, &req, 1, &res, &ctx->prog, &ctx->err);
    if (rc)
        goto fail_run;
    if (res.error) {
        rc = err_set(&ctx->err, res.error, "cannot score: %s", err_code_name(res.error));
        goto fail_run;
    }
    json_t *d = json_pack("{s:f, s:i, s:b}", "logprob", res.logprob, "n_tokens",
                          (json_int_t)res.n_tokens, "is_greedy", res.is_greedy);
    char *data = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    struct store_sample smp = {.task = "score", .item = "0", .prompt = context, .target = cont,
                               .score = res.logprob, .correct = res.is_greedy,
                               .data_json = data};
    rc = store_put_sample(s, run, &smp, &ctx->err);
    free(data);
    if (rc)
        goto fail_run;
    rc = store_put_metric(s, run, "score", "logprob", res.logprob, NAN, 1, &ctx->err);
    if (rc)
        goto fail_run;
    rc = store_finish_run(s, run, STORE_RUN_DONE, NULL, &ctx->err);
    if (rc)
        goto out;
    if (ctx->json)
        printf("{\"run\": %lld, \"logprob\": %.9g, \"n_tokens\": %d, \"is_greedy\": %s}\n",
               (long long)run, res.logprob, res.n_tokens, res.is_greedy ? "true" : "false");
    else
        printf("logprob %.6f  tokens %d  greedy %s  (run %lld)\n", res.logprob, res.n_tokens,
               res.is_greedy ? "yes" : "no", (long long)run);
    goto out;
fail_run:
    store_finish_run(s, run, STORE_RUN_FAILED, ctx->err.msg, NULL);
out:
    free(cfg);
    backend_free(b);
    store_close(s);
    return rc;
}
