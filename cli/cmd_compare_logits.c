/*
 * cli/cmd_compare_logits.c - `assay compare-logits --base M1 --model M2 --text FILE`:
 * both checkpoints (which must share a tokenizer) read the same text in windows of
 * --ctx tokens; at every position both full-vocabulary distributions are compared
 * (reports/compare_stats.h cmp_logit_position: KL(base || model), top-1 agreement, the
 * actual next token's log-prob under each). Stored as a run of kind "compare-logits":
 * one sample per window (reports/logits.h), metrics computed from the stored samples.
 * This file drives the engine; the per-position math is engine-free in reports/.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/utf8.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "engine/backend.h"
#include "engine/ckpt_src.h"
#include "engine/model.h"
#include "engine/tok.h"
#include "reports/compare_stats.h"
#include "reports/logits.h"
#include "store/store.h"

const struct cli_opt cmd_compare_logits_opts[] = {
    CLI_OPT_DB,
    {"base", 0, CLI_OPT_STR, "M1", NULL, "the reference checkpoint (a GGUF file or an HF directory)"},
    CLI_OPT_MODEL,
    {"text", 0, CLI_OPT_STR, "FILE", NULL, "UTF-8 text both models read"},
    {"ctx", 0, CLI_OPT_INT, "N", "512", "tokens per window (BOS included)"},
    {"windows", 0, CLI_OPT_INT, "N", "0", "compare at most N windows (0: the whole text)"},
    CLI_OPT_THREADS,
    {NULL, 0, 0, NULL, NULL, NULL},
};

#define TEXT_MAX_BYTES ((size_t)256 << 20)
#define CHUNK          64 /* positions decoded per batch: logits of CHUNK x n_vocab floats */

struct side {
    const char *path;
    struct ckpt_src src; /* a GGUF file or an HF directory */
    struct model *m;
    struct model_ctx *c;
    struct tok *t;
    char tok_hash[HASH_SHA256_HEX];
};

static void side_release(struct side *s)
{
    tok_free(s->t);
    model_ctx_free(s->c);
    model_free(s->m);
    ckpt_src_close(&s->src);
}

/* sha256 over every piece: id order, length, bytes, type and score (encoding depends on
 * all of them). */
static int tok_fingerprint(const struct tok *t, char hex[HASH_SHA256_HEX], struct assay_error *err)
{
    struct hash_sha256 h;
    int rc = hash_sha256_init(&h, err);
    if (rc)
        return rc;
    size_t n = tok_n_vocab(t);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *p = tok_piece(t, (int32_t)i, &len);
        uint32_t l32 = (uint32_t)len;
        int32_t type = tok_piece_type(t, (int32_t)i);
        float score = tok_piece_score(t, (int32_t)i);
        hash_sha256_update(&h, &l32, sizeof(l32));
        if (p && len)
            hash_sha256_update(&h, p, len);
        hash_sha256_update(&h, &type, sizeof(type));
        hash_sha256_update(&h, &score, sizeof(score));
    }
    hash_sha256_final_hex(&h, hex);
    hash_sha256_release(&h);
    return 0;
}

static int side_open(struct side *s, struct cli_ctx *ctx, int32_t n_ctx, int threads)
{
    int rc = ckpt_src_open(&s->src, s->path, &ctx->err);
    if (!rc)
        rc = ckpt_src_load_model(&s->src, &s->m, &ctx->err);
    if (!rc)
        rc = tok_new_from_gguf(&s->t, ckpt_src_meta(&s->src), &ctx->err);
    if (!rc)
        rc = tok_fingerprint(s->t, s->tok_hash, &ctx->err);
    if (rc)
        return rc;
    int64_t train = model_hparams(s->m)->n_ctx_train;
    if (train > 0 && n_ctx > train) /* before the KV cache is sized for it */
        return err_set(&ctx->err, ASSAY_EUSAGE,
                       "--ctx %lld is longer than '%s' was trained for (%lld tokens)",
                       (long long)n_ctx, s->path, (long long)train);
    struct model_ctx_params p;
    model_ctx_params_default(&p);
    p.n_ctx = n_ctx;
    p.n_batch_max = CHUNK;
    p.n_logits_max = CHUNK;
    p.n_threads = threads;
    /* the kernels `assay run` uses, so the logits are the ones behind its scores */
    rc = model_repack(s->m, threads, &ctx->err);
    return rc ? rc : model_ctx_new(&s->c, s->m, &p, &ctx->err);
}

/* The model row (and cached fingerprint) of a checkpoint, through cli_backend_open with
 * --model pointed at path; the backend itself is not kept. */
static int model_row(struct cli_ctx *ctx, const struct cli_args *a, struct store *s,
                     const char *path, int64_t *id, char *fp, size_t fp_n)
{
    struct cli_args copy = *a;
    const struct cli_opt *o = a->cmd->opts;
    for (int i = 0; o[i].name; i++)
        if (strcmp(o[i].name, "model") == 0) {
            copy.value[i] = path;
            copy.given[i] = true;
        }
    struct backend *b = NULL;
    int rc = cli_backend_open(ctx, &copy, s, &b, id);
    if (rc)
        return rc;
    struct backend_info in;
    backend_info(b, &in);
    snprintf(fp, fp_n, "%s", in.fingerprint);
    backend_free(b);
    return 0;
}

static int decode_chunk(struct side *s, const int32_t *tok, const int32_t *pos, int32_t n,
                        const bool *want, struct assay_error *err)
{
    int32_t seq[CHUNK] = {0};
    struct model_batch b = {.n_tok = n, .token = tok, .pos = pos, .seq_id = seq,
                            .want_logits = want};
    return model_decode(s->c, &b, err);
}

struct summary_ctx {
    struct rpt_logits_acc acc;
    struct assay_error *err;
};

static int on_window(void *user, const struct store_sample_row *row)
{
    struct summary_ctx *c = user;
    char what[64];
    snprintf(what, sizeof(what), "sample %lld", (long long)row->id);
    return rpt_logits_acc_add(&c->acc, row->s.data_json, what, c->err);
}

int cmd_compare_logits(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *base_path = cli_get(a, "base"), *model_path = cli_get(a, "model"),
               *text_path = cli_get(a, "text");
    if (!base_path || !model_path || !text_path)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--base, --model and --text are required");
    int64_t n_ctx = 512, max_windows = 0, threads = 0;
    int rc = cli_get_int(a, "ctx", 2, 1 << 20, &n_ctx, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "windows", 0, INT64_MAX, &max_windows, &ctx->err);
    if (!rc)
        rc = cli_get_int(a, "threads", 1, 1024, &threads, &ctx->err);
    if (rc)
        return rc;
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? nc : 1;
    }
    struct side base = {.path = base_path}, mod = {.path = model_path};
    struct store *s = NULL;
    char *text = NULL, *cfg_s = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0, text_len = 0;
    struct cmp_logit_pos *pos_res = NULL;
    struct summary_ctx sum = {.err = &ctx->err};
    rpt_logits_acc_init(&sum.acc);
    json_t *cfg = NULL;
    int64_t run_id = 0;
    double t0 = clock_now_s();

    rc = file_read_all(&text, &text_len, text_path, TEXT_MAX_BYTES, &ctx->err);
    if (rc)
        goto out;
    size_t bad;
    if (!utf8_valid(text, text_len, &bad)) {
        rc = err_set_off(&ctx->err, ASSAY_EINVAL, text_path, (int64_t)bad, "not valid UTF-8");
        goto out;
    }
    rc = side_open(&base, ctx, (int32_t)n_ctx, (int)threads);
    if (!rc)
        rc = side_open(&mod, ctx, (int32_t)n_ctx, (int)threads);
    if (rc)
        goto out;
    int64_t nv = model_hparams(base.m)->n_vocab;
    if (tok_n_vocab(base.t) != tok_n_vocab(mod.t) || strcmp(base.tok_hash, mod.tok_hash) != 0 ||
        nv != model_hparams(mod.m)->n_vocab) {
        rc = err_set(&ctx->err, ASSAY_EINVAL,
                     "the checkpoints do not share a tokenizer: '%s' has %zu pieces (sha256 "
                     "%.16s...), '%s' has %zu (sha256 %.16s...); logits cannot be compared",
                     base_path, tok_n_vocab(base.t), base.tok_hash, model_path,
                     tok_n_vocab(mod.t), mod.tok_hash);
        goto out;
    }
    int32_t bos = tok_bos_id(base.t);
    rc = tok_encode(base.t, text, text_len, 0, &ids, &n_ids, &ctx->err);
    if (rc)
        goto out;
    /* windows: [BOS] + L new tokens (L = ctx - 1), or without a BOS the window's first
     * token is context only; every text token after that is scored exactly once */
    int64_t L = n_ctx - 1;
    int64_t scorable = bos >= 0 ? (int64_t)n_ids : (int64_t)n_ids - 1;
    if (scorable < 1) {
        rc = err_set_at(&ctx->err, ASSAY_EINVAL, text_path, 0, "too short: %zu tokens", n_ids);
        goto out;
    }
    int64_t n_windows = (scorable + L - 1) / L;
    if (max_windows > 0 && n_windows > max_windows)
        n_windows = max_windows;

    rc = cli_open_store(&s, a, 0, &ctx->err);
    if (rc)
        goto out;
    int64_t base_id = 0, model_id = 0;
    char base_fp[96], model_fp[96], text_hash[HASH_SHA256_HEX];
    rc = model_row(ctx, a, s, base_path, &base_id, base_fp, sizeof(base_fp));
    if (!rc)
        rc = model_row(ctx, a, s, model_path, &model_id, model_fp, sizeof(model_fp));
    if (!rc)
        rc = hash_sha256_hex(text, text_len, text_hash, &ctx->err);
    if (rc)
        goto out;
    cfg = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:s}", "command",
                    "compare-logits", "base", base_path, "base_fingerprint", base_fp,
                    "base_model_id", (json_int_t)base_id, "model", model_fp, "text", text_path,
                    "text_sha256", text_hash, "ctx", (json_int_t)n_ctx, "windows",
                    (json_int_t)max_windows, "tokenizer_sha256", base.tok_hash);
    cfg_s = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!cfg_s) {
        rc = err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    struct store_run_new rn = {.kind = "compare-logits", .model_id = model_id, .backend = "local",
                               .config_json = cfg_s};
    rc = store_begin_run(s, &rn, &run_id, &ctx->err);
    if (rc)
        goto out;
    pos_res = mem_alloc_array((size_t)n_ctx, sizeof(*pos_res));
    if (!pos_res) {
        rc = err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    int32_t wtok[CHUNK + 1], wpos[CHUNK];
    bool want[CHUNK];
    for (int64_t w = 0; w < n_windows && rc == 0; w++) {
        progress_report(&ctx->prog, w, n_windows, "windows");
        /* the window's tokens, virtually: tk(i) for i in [0, n_w) */
        int64_t start = w * L; /* first text token scored */
        int64_t n_new = scorable - start < L ? scorable - start : L;
        int64_t n_w = n_new + 1;
#define TK(i) (bos >= 0 ? ((i) == 0 ? bos : ids[start + (i) - 1]) : ids[start + (i)])
        rc = model_seq_clear(base.c, 0, &ctx->err);
        if (!rc)
            rc = model_seq_clear(mod.c, 0, &ctx->err);
        for (int64_t c0 = 0; c0 < n_w - 1 && rc == 0; c0 += CHUNK) {
            int32_t n = (int32_t)(n_w - 1 - c0 < CHUNK ? n_w - 1 - c0 : CHUNK);
            for (int32_t i = 0; i < n; i++) {
                wtok[i] = TK(c0 + i);
                wpos[i] = (int32_t)(c0 + i);
                want[i] = true;
            }
            rc = decode_chunk(&base, wtok, wpos, n, want, &ctx->err);
            if (!rc)
                rc = decode_chunk(&mod, wtok, wpos, n, want, &ctx->err);
            for (int32_t i = 0; i < n && rc == 0; i++) {
                const float *lb = model_logits(base.c, i), *lm = model_logits(mod.c, i);
                rc = cmp_logit_position(&pos_res[c0 + i], lb, lm, (int)nv, TK(c0 + i + 1),
                                        &ctx->err);
            }
        }
#undef TK
        if (rc)
            break;
        struct rpt_logits_window win;
        char *dj = rpt_logits_window_json(&win, w, start, pos_res, n_w - 1, &ctx->err);
        if (!dj) {
            rc = ctx->err.code ? ctx->err.code : ASSAY_ENOMEM;
            break;
        }
        char item[32];
        snprintf(item, sizeof(item), "%lld", (long long)w);
        struct store_sample smp = {.task = RPT_LOGITS_TASK, .item = item, .score = win.kl_mean,
                                   .correct = -1, .data_json = dj};
        rc = store_put_sample(s, run_id, &smp, &ctx->err);
        free(dj);
    }
    progress_report(&ctx->prog, n_windows, n_windows, "windows");
    /* aggregates come from the stored samples */
    if (!rc)
        rc = store_each_sample(s, run_id, RPT_LOGITS_TASK, on_window, &sum, &ctx->err);
    struct rpt_logits_agg g;
    if (!rc) {
        rpt_logits_acc_finish(&sum.acc, &g);
        const char *T = RPT_LOGITS_TASK;
        int64_t np = g.n_positions;
        rc = store_put_metric(s, run_id, T, "kl_mean", g.kl.mean, g.kl_stderr, np, &ctx->err);
        if (!rc)
            rc = store_put_metric(s, run_id, T, "kl_median", g.kl.median, NAN, np, &ctx->err);
        if (!rc)
            rc = store_put_metric(s, run_id, T, "kl_p99", g.kl.p99, NAN, np, &ctx->err);
        if (!rc)
            rc = store_put_metric(s, run_id, T, "kl_max", g.kl.max, NAN, np, &ctx->err);
        if (!rc)
            rc = store_put_metric(s, run_id, T, "top1_agree", g.top1_agree, g.top1_stderr, np,
                                  &ctx->err);
        if (!rc)
            rc = store_put_metric(s, run_id, T, "ppl_base", g.ppl_base, NAN, np, &ctx->err);
        if (!rc)
            rc = store_put_metric(s, run_id, T, "ppl_model", g.ppl_model, NAN, np, &ctx->err);
    }
    if (rc) {
        struct assay_error e2 = {0};
        char msg[ASSAY_ERROR_MSG_MAX + 64];
        err_format(&ctx->err, msg, sizeof(msg));
        store_finish_run(s, run_id, STORE_RUN_FAILED, msg, &e2);
        goto out;
    }
    rc = store_finish_run(s, run_id, STORE_RUN_DONE, NULL, &ctx->err);
    if (rc)
        goto out;
    double secs = clock_now_s() - t0;
    if (ctx->json) {
        json_t *j = json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:s, s:f}",
                              "run", (json_int_t)run_id, "windows", (json_int_t)g.n_windows,
                              "positions", (json_int_t)g.n_positions, "kl_mean", g.kl.mean,
                              "kl_median", g.kl.median, "kl_p99", g.kl.p99, "kl_max", g.kl.max,
                              "top1_agree", g.top1_agree, "ppl_base", g.ppl_base, "ppl_model",
                              g.ppl_model, "kl_stderr", g.kl_stderr, "tokenizer_sha256",
                              base.tok_hash, "seconds", secs);
        if (j) {
            json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
            fputc('\n', stdout);
        }
        json_decref(j);
    } else {
        printf("run %lld: %lld windows, %lld positions (ctx %lld)\n", (long long)run_id,
               (long long)g.n_windows, (long long)g.n_positions, (long long)n_ctx);
        printf("  KL(base || model)  mean %.6g (+- %.2g)  median %.6g  p99 %.6g  max %.6g nats\n",
               g.kl.mean, g.kl_stderr, g.kl.median, g.kl.p99, g.kl.max);
        printf("  top-1 agreement    %.2f%%\n", 100 * g.top1_agree);
        printf("  perplexity         base %.4f  model %.4f\n", g.ppl_base, g.ppl_model);
        if (!ctx->quiet)
            fprintf(stderr, "assay: %.2f s; 'assay report --run %lld' renders it\n", secs,
                    (long long)run_id);
    }
out:
    rpt_logits_acc_release(&sum.acc);
    json_decref(cfg);
    free(cfg_s);
    free(pos_res);
    free(ids);
    free(text);
    side_release(&base);
    side_release(&mod);
    store_close(s);
    return rc;
}
