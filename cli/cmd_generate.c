/*
 * cli/cmd_generate.c - `assay generate`: continue a prompt, streaming the text to stdout
 * as it is produced; greedy by default, or sampled with a seed. Stored as a run with one
 * sample (prompt, output, token ids, why it stopped).
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

const struct cli_opt cmd_generate_opts[] = {
    CLI_OPT_MODEL,
    {"prompt", 'p', CLI_OPT_STR, "S", NULL, "the prompt (one BOS is put before it)"},
    {"max-tokens", 'n', CLI_OPT_INT, "N", "128", "most tokens to generate"},
    {"temp", 0, CLI_OPT_NUM, "T", "0", "temperature; 0 is greedy"},
    {"top-k", 0, CLI_OPT_INT, "K", "0", "keep the K most likely tokens (0: off)"},
    {"top-p", 0, CLI_OPT_NUM, "P", "1", "nucleus: keep the smallest set with mass P (1: off)"},
    {"min-p", 0, CLI_OPT_NUM, "P", "0", "drop tokens below P x the best one's probability"},
    {"seed", 0, CLI_OPT_INT, "S", "1234", "random seed for sampling"},
    {"stop", 0, CLI_OPT_STR, "S", NULL, "stop before this string (\\n and \\t understood)"},
    {"ignore-eos", 0, CLI_OPT_FLAG, NULL, NULL, "do not stop at the end-of-sequence token"},
    CLI_OPT_DB,
    CLI_OPT_THREADS,
    CLI_OPT_CTX,
    {NULL, 0, 0, NULL, NULL, NULL},
};

static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && (r[1] == 'n' || r[1] == 't' || r[1] == '\\')) {
            *w++ = r[1] == 'n' ? '\n' : r[1] == 't' ? '\t' : '\\';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static void stream_out(void *user, const char *text, size_t len)
{
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

static const char *finish_name(int f)
{
    static const char *const names[] = {"length", "stop", "eos", "error"};
    return f >= 0 && f <= 3 ? names[f] : "?";
}

int cmd_generate(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *prompt = cli_get(a, "prompt");
    if (!prompt)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--prompt is required");
    int64_t max_tokens = 128, top_k = 0, seed = 1234;
    double temp = 0, top_p = 1, min_p = 0;
    int rc = cli_get_int(a, "max-tokens", 1, 1 << 20, &max_tokens, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "top-k", 0, 1 << 24, &top_k, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "seed", 0, INT64_MAX, &seed, &ctx->err);
    if (!rc)
        rc = cli_get_num(a, "temp", 0, 100, &temp, &ctx->err);
    if (!rc)
        rc = cli_get_num(a, "top-p", 0, 1, &top_p, &ctx->err);
    if (!rc)
        rc = cli_get_num(a, "min-p", 0, 1, &min_p, &ctx->err);
    if (rc)
        return rc;
    char *stop = NULL;
    if (cli_get(a, "stop")) {
        stop = strdup(cli_get(a, "stop"));
        if (!stop)
            return err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        unescape(stop);
    }
    struct store *s = NULL;
    struct backend *b = NULL;
    int64_t model_id = 0, run = 0;
    char *cfg = NULL, *data = NULL;
    struct bk_gen_res res;
    memset(&res, 0, sizeof(res));
    rc = cli_open_store(&s, a, 0, &ctx->err);
    if (rc)
        goto out;
    rc = cli_backend_open(ctx, a, s, &b, &model_id);
    if (rc)
        goto out;
    struct backend_info in;
    backend_info(b, &in);
    json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:f, s:I, s:f, s:f, s:I, s:s?, s:b, s:b}",
                          "command", "generate", "model", in.fingerprint, "prompt", prompt,
                          "max_tokens", (json_int_t)max_tokens, "temperature", temp, "top_k",
                          (json_int_t)top_k, "top_p", top_p, "min_p", min_p, "seed",
                          (json_int_t)seed, "stop", stop, "stop_at_eos",
                          !cli_flag(a, "ignore-eos"), "add_bos", in.add_bos);
    cfg = jsn_dump_canonical(c);
    json_decref(c);
    struct store_run_new rn = {.kind = "generate", .model_id = model_id, .backend = in.kind,
                               .config_json = cfg};
    rc = store_begin_run(s, &rn, &run, &ctx->err);
    if (rc)
        goto out;
    const char *until[1] = {stop};
    struct bk_gen_req req = {.prompt = {.text = prompt, .len = strlen(prompt)},
                             .until = until, .n_until = stop ? 1 : 0,
                             .max_tokens = (int32_t)max_tokens,
                             .sampling = {.temperature = (float)temp, .top_k = (int32_t)top_k,
                                          .top_p = (float)top_p, .min_p = (float)min_p},
                             .seed = (uint64_t)seed, .stop_at_eos = !cli_flag(a, "ignore-eos"),
                             .on_text = ctx->json ? NULL : stream_out};
    rc = backend_generate(b, &req, 1, &res, NULL, &ctx->err);
    if (!rc && res.error)
        rc = err_set(&ctx->err, res.error, "cannot generate: %s", err_code_name(res.error));
    if (rc) {
        store_finish_run(s, run, STORE_RUN_FAILED, ctx->err.msg, NULL);
        goto out;
    }
    json_t *ids = json_array();
    for (int32_t i = 0; i < res.n_ids; i++)
        json_array_append_new(ids, json_integer(res.ids[i]));
    json_t *d = json_pack("{s:O, s:s}", "ids", ids, "finish", finish_name(res.finish));
    data = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    struct store_sample smp = {.task = "generate", .item = "0", .prompt = prompt,
                               .output = res.text, .score = NAN, .correct = -1,
                               .data_json = data};
    rc = store_put_sample(s, run, &smp, &ctx->err);
    if (!rc)
        rc = store_finish_run(s, run, STORE_RUN_DONE, NULL, &ctx->err);
    if (rc) {
        json_decref(ids);
        goto out;
    }
    if (ctx->json) {
        json_t *o = json_pack("{s:I, s:s%, s:O, s:s}", "run", (json_int_t)run, "text", res.text,
                              res.len, "ids", ids, "finish", finish_name(res.finish));
        json_dumpf(o, stdout, JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        fputc('\n', stdout);
        fflush(stdout);
        if (!ctx->quiet)
            fprintf(stderr, "assay: %d tokens, stopped by %s (run %lld)\n", res.n_ids,
                    finish_name(res.finish), (long long)run);
    }
    json_decref(ids);
out:
    bk_gen_res_release(&res);
    free(data);
    free(cfg);
    free(stop);
    backend_free(b);
    store_close(s);
    return rc;
}
