/*
 * cli/cmd_memorize.c - `assay memorize`: the memorization audit of a checkpoint on a
 * corpus (memorization/mem.h). Parsing, the run row and its resumption, and printing;
 * the sampling, generation, comparison and aggregates are memorization/'s.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay_version.h"
#include "base/buf.h"
#include "base/json.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "engine/backend.h"
#include "memorization/mem.h"
#include "safety/pii.h"
#include "store/store.h"

const struct cli_opt cmd_memorize_opts[] = {
    CLI_OPT_MODEL,
    {"corpus", 'c', CLI_OPT_STR, "PATH", NULL,
     "a text file, a JSONL file (*.jsonl, *.ndjson; .gz allowed) or a directory of them; more "
     "paths may follow as arguments"},
    {"field", 0, CLI_OPT_STR, "NAME", "text",
     "the JSONL member holding each document: a string, or an array of token ids"},
    {"separator", 0, CLI_OPT_STR, "STR", NULL,
     "split text files into documents on STR (\\n, \\t, \\r and \\\\ are understood); "
     "default: one document per file"},
    {"docs", 'n', CLI_OPT_INT, "N", NULL,
     "audit N documents, drawn in a seeded random order (default: all, in corpus order)"},
    {"prefix", 0, CLI_OPT_INT, "P", "50", "prompt tokens taken from the document"},
    {"suffix", 0, CLI_OPT_INT, "S", "50", "tokens decoded greedily and compared"},
    {"offset", 0, CLI_OPT_STR, "K|random", "0",
     "document token where the prefix starts; 'random': uniform per document (seeded)"},
    {"seed", 0, CLI_OPT_INT, "S", "1234", "seed of the document sample and random offsets"},
    {"approx", 0, CLI_OPT_NUM, "F", "0.1",
     "approximate memorization: edit distance <= F * suffix (inclusive)"},
    {"batch", 0, CLI_OPT_INT, "B", "16", "documents per backend call; results do not depend on it"},
    {"examples", 0, CLI_OPT_INT, "N", "3", "memorized continuations to print, PII masked"},
    CLI_OPT_DB,
    CLI_OPT_THREADS,
    {"ctx", 0, CLI_OPT_INT, "N", NULL,
     "context length per sequence (default: prefix + suffix + 2, all an audit needs)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

/* "\n\n" on the command line as two newlines. */
static char *unescape(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1), *p = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            *p++ = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        } else {
            *p++ = s[i];
        }
    }
    *p = '\0';
    return o;
}

/* ---- --json: one line per audited document ------------------------------------------ */

struct json_lines {
    struct assay_error *err;
};

static int print_line(void *user, const struct store_sample_row *row)
{
    (void)user;
    if (row->s.error || !row->s.data_json)
        return 0;
    json_error_t je;
    json_t *d = json_loads(row->s.data_json, 0, &je);
    if (!d)
        return 0;
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(row->s.task));
    json_object_set_new(o, "doc", json_string(row->s.item));
    static const char *const keys[] = {"exact", "approximate",   "edit_distance",
                                       "lcp",   "generated_ids", "true_ids"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(d, keys[i]);
        json_object_set(o, keys[i], v ? v : json_null());
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
    json_decref(d);
    return 0;
}

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *source_json(const struct mem_source_stats *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(x->n));
    json_object_set_new(o, "n_skipped_short", json_integer(x->n_short));
    json_object_set_new(o, "n_failed", json_integer(x->n_failed));
    json_object_set_new(o, "n_exact", json_integer(x->n_exact));
    json_object_set_new(o, "n_approximate", json_integer(x->n_approx));
    json_object_set_new(o, "exact_rate", num_or_null(x->n ? (double)x->n_exact / x->n : NAN));
    json_object_set_new(o, "exact_ci",
                        json_pack("[o, o]", num_or_null(x->exact_lo), num_or_null(x->exact_hi)));
    json_object_set_new(o, "approx_rate", num_or_null(x->n ? (double)x->n_approx / x->n : NAN));
    json_object_set_new(o, "approx_ci",
                        json_pack("[o, o]", num_or_null(x->approx_lo), num_or_null(x->approx_hi)));
    json_object_set_new(o, "lcp_mean", num_or_null(x->lcp_mean));
    json_object_set_new(o, "memorized_with_sensitive_pii", json_integer(x->n_pii_sensitive));
    json_object_set_new(o, "memorized_with_personal_pii", json_integer(x->n_pii_personal));
    return o;
}

static void print_summary_json(int64_t run, bool resumed, const struct mem_summary *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "summary", json_true());
    json_object_set_new(o, "run", json_integer(run));
    json_object_set_new(o, "resumed", json_boolean(resumed));
    json_t *all = source_json(&m->src[0]);
    json_object_update(o, all);
    json_decref(all);
    json_t *by = json_object();
    for (size_t i = 1; i < m->n_src; i++)
        json_object_set_new(by, m->src[i].source, source_json(&m->src[i]));
    json_object_set_new(o, "by_source", by);
    json_t *h = json_array();
    for (int64_t k = 0; k < m->n_lcp_hist; k++)
        json_array_append_new(h, json_integer(m->lcp_hist[k]));
    json_object_set_new(o, "lcp_histogram", h);
    json_t *pt = json_object();
    for (int t = 0; t < PII_TYPE_COUNT && t < 64; t++)
        if (m->pii_by_type[t])
            json_object_set_new(pt, pii_type_name(t), json_integer(m->pii_by_type[t]));
    json_t *pii = json_pack("{s:I, s:I, s:o}", "memorized_outputs", (json_int_t)m->n_memorized,
                            "findings", (json_int_t)m->n_findings, "outputs_by_type", pt);
    json_object_set_new(o, "pii", pii);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

/* ---- text output ----------------------------------------------------------------------- */

struct examples {
    const struct pii_scanner *sc;
    int64_t left;
    struct assay_error *err;
};

static int print_example(void *user, const struct store_sample_row *row)
{
    struct examples *ex = user;
    if (ex->left <= 0)
        return 0;
    if (row->s.error || !row->s.output || !row->s.data_json ||
        !strstr(row->s.data_json, "\"approximate\":true"))
        return 0;
    struct buf b;
    buf_init(&b, 1 << 20);
    int rc = pii_mask_text(&b, ex->sc, row->s.output, strlen(row->s.output), ex->err);
    if (rc) {
        buf_release(&b);
        return rc;
    }
    /* one line per example: control characters (newlines, escapes) shown as spaces */
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
            b.data[i] = ' ';
    printf("  %s #%s: %s\n", row->s.task, row->s.item, b.data ? b.data : "");
    buf_release(&b);
    ex->left--;
    return 0;
}

static void print_rate(const char *what, int64_t k, int64_t n, double lo, double hi)
{
    if (n == 0) {
        printf(" %-22s", "-");
        return;
    }
    char buf[64];
    snprintf(buf, sizeof(buf), "%.4f [%.4f,%.4f]", (double)k / n, lo, hi);
    printf(" %-22s", buf);
    (void)what;
}

static void print_summary_text(int64_t run, bool resumed, const struct mem_summary *m)
{
    printf("%-32s %6s %6s %-22s %-22s %8s %6s\n", "source", "n", "short", "exact [95% Wilson]",
           "approx [95% Wilson]", "lcp_mean", "pii s/p");
    for (size_t i = 0; i < m->n_src; i++) {
        const struct mem_source_stats *x = &m->src[i];
        printf("%-32s %6" PRId64 " %6" PRId64, x->source, x->n, x->n_short);
        print_rate("exact", x->n_exact, x->n, x->exact_lo, x->exact_hi);
        print_rate("approx", x->n_approx, x->n, x->approx_lo, x->approx_hi);
        printf(" %8.2f %3" PRId64 "/%" PRId64 "\n", isnan(x->lcp_mean) ? 0.0 : x->lcp_mean,
               x->n_pii_sensitive, x->n_pii_personal);
    }
    printf("longest common prefix (tokens: documents):");
    for (int64_t k = 0; k < m->n_lcp_hist; k++)
        if (m->lcp_hist[k])
            printf(" %" PRId64 ":%" PRId64, k, m->lcp_hist[k]);
    printf("\nPII in %" PRId64 " memorized outputs: %" PRId64 " findings", m->n_memorized,
           m->n_findings);
    for (int t = 0; t < PII_TYPE_COUNT && t < 64; t++)
        if (m->pii_by_type[t])
            printf(", %s %s in %" PRId64, pii_type_name(t), pii_severity_name(pii_type_severity(t)),
                   m->pii_by_type[t]);
    printf("\nrun %" PRId64 "%s ('assay runs show %" PRId64 "' lists its metrics)\n", run,
           resumed ? " (resumed)" : "", run);
}

/* ---- the command --------------------------------------------------------------------------- */

static int read_params(struct cli_ctx *ctx, const struct cli_args *a, struct mem_params *p)
{
    mem_params_default(p);
    int64_t v;
    int rc;
    v = 0;
    if ((rc = cli_get_int(a, "docs", 1, INT64_MAX, &v, &ctx->err)))
        return rc;
    p->n_docs = v;
    v = 50;
    if ((rc = cli_get_int(a, "prefix", 1, 8192, &v, &ctx->err)))
        return rc;
    p->prefix = (int32_t)v;
    v = 50;
    if ((rc = cli_get_int(a, "suffix", 1, 4096, &v, &ctx->err)))
        return rc;
    p->suffix = (int32_t)v;
    v = 1234;
    if ((rc = cli_get_int(a, "seed", 0, INT64_MAX, &v, &ctx->err)))
        return rc;
    p->seed = (uint64_t)v;
    v = 16;
    if ((rc = cli_get_int(a, "batch", 1, 4096, &v, &ctx->err)))
        return rc;
    p->batch = (int32_t)v;
    double f = 0.1;
    if ((rc = cli_get_num(a, "approx", 0, 1, &f, &ctx->err)))
        return rc;
    p->approx_frac = f;
    const char *off = cli_get(a, "offset");
    if (off && strcmp(off, "random") == 0) {
        p->offset = MEM_OFFSET_RANDOM;
    } else if (off) {
        if ((rc = cli_parse_int(off, "--offset", 0, INT32_MAX, &v, &ctx->err)))
            return rc;
        p->offset = v;
    }
    return 0;
}

static json_t *config_json(const struct mem_corpus *c, const struct mem_params *p,
                           const struct backend_info *in, const char *field, const char *sep)
{
    char major[16];
    snprintf(major, sizeof(major), "%.*s", (int)strcspn(ASSAY_VERSION, "."), ASSAY_VERSION);
    json_t *files = json_array();
    for (size_t i = 0; i < c->n_files; i++)
        json_array_append_new(files,
                              json_pack("{s:s, s:s}", "path", c->files[i], "sha256", c->sha256[i]));
    json_t *o =
        json_pack("{s:s, s:s, s:b, s:I, s:s, s:o, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:f}",
                  "command", "memorize", "model", in->fingerprint, "add_bos", in->add_bos, "n_ctx",
                  (json_int_t)in->n_ctx, "assay_major", major, "corpus", files, "field", field,
                  "separator", sep, "docs", (json_int_t)p->n_docs, "prefix", (json_int_t)p->prefix,
                  "suffix", (json_int_t)p->suffix, "offset", (json_int_t)p->offset, "seed",
                  (json_int_t)p->seed, "approx", p->approx_frac);
    return o;
}

int cmd_memorize(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct mem_corpus corpus;
    struct mem_plan plan;
    struct mem_summary sum;
    struct mem_params p;
    mem_corpus_init(&corpus);
    memset(&plan, 0, sizeof(plan));
    memset(&sum, 0, sizeof(sum));
    struct store *s = NULL;
    struct backend *b = NULL;
    struct pii_scanner *sc = NULL;
    char *sep = NULL, *cfg = NULL;
    json_t *c = NULL;
    int64_t run = 0, model_id = 0;
    bool resumed = false;
    int rc = read_params(ctx, a, &p);
    if (rc)
        return rc;
    const char *first = cli_get(a, "corpus");
    if (!first)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--corpus is required");
    int64_t n_ex = 3;
    if ((rc = cli_get_int(a, "examples", 0, 1000, &n_ex, &ctx->err)))
        return rc;
    const char *field = cli_get(a, "field");
    if (cli_get(a, "separator") && !(sep = unescape(cli_get(a, "separator"))))
        return err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
    struct mem_corpus_opts co = {.field = field, .separator = sep};
    /* the corpus is read and checked before the model is loaded */
    if ((rc = mem_corpus_add(&corpus, first, &co, &ctx->err)))
        goto out;
    for (int i = 0; i < a->n_pos; i++)
        if ((rc = mem_corpus_add(&corpus, a->pos[i], &co, &ctx->err)))
            goto out;
    if (corpus.n == 0) {
        rc = err_set_at(&ctx->err, ASSAY_EINVAL, first, 0, "empty corpus: no documents");
        goto out;
    }
    struct pii_config pc;
    memset(&pc, 0, sizeof(pc));
    if ((rc = pii_scanner_new(&sc, &pc, &ctx->err)))
        goto out;
    if ((rc = cli_open_store(&s, a, 0, &ctx->err)))
        goto out;
    /* A prompt is BOS + prefix and decoding adds suffix tokens: that is all the context an
     * audit needs, so every document of a batch gets a decoding slot of its own (at 50 + 50
     * tokens, 32 slots of a 2B-shaped model's cache are ~120 MB). */
    struct cli_backend_hints hints = {.n_ctx = p.prefix + p.suffix + 2,
                                      .n_seq = p.batch < 32 ? p.batch : 32};
    if ((rc = cli_backend_open_hinted(ctx, a, s, &hints, &b, &model_id)))
        goto out;
    cli_progress_done(ctx);
    struct backend_info in;
    backend_info(b, &in);
    if ((rc = mem_plan_build(&plan, &corpus, b, &p, &ctx->prog, &ctx->err)))
        goto out;
    cli_progress_done(ctx);
    c = config_json(&corpus, &p, &in, field, sep);
    cfg = c ? jsn_dump_canonical(c) : NULL;
    if (!cfg) {
        rc = err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = store_find_resumable_run(s, "memorize", cfg, &run, &ctx->err)))
        goto out;
    if (run) {
        resumed = true;
        if ((rc = store_reopen_run(s, run, &ctx->err)))
            goto out;
        if (!ctx->quiet)
            fprintf(stderr, "assay: resuming run %" PRId64 " (%" PRId64 " documents stored)\n", run,
                    store_count_samples(s, run, NULL, NULL));
    } else {
        struct store_run_new rn = {
            .kind = "memorize", .model_id = model_id, .backend = in.kind, .config_json = cfg};
        if ((rc = store_begin_run(s, &rn, &run, &ctx->err)))
            goto out;
    }
    if (!ctx->quiet)
        fprintf(stderr,
                "assay: run %" PRId64 ": %zu documents in %zu files; auditing %zu, %zu shorter "
                "than offset + %d + %d tokens skipped\n",
                run, corpus.n, corpus.n_files, plan.n_audit, plan.n_short, p.prefix, p.suffix);
    struct cli_stop stop;
    volatile sig_atomic_t *stop_flag = cli_stop_catch(&stop);
    int64_t n_done = 0;
    rc =
        mem_audit_run(&plan, &corpus, b, &p, s, run, sc, stop_flag, &ctx->prog, &n_done, &ctx->err);
    cli_stop_release(&stop);
    cli_progress_done(ctx);
    if (!rc)
        rc = mem_compute_metrics(&sum, s, run, p.suffix, sc, &ctx->err);
    if (rc) {
        bool stopped = *stop_flag != 0;
        store_finish_run(s, run, stopped ? STORE_RUN_INTERRUPTED : STORE_RUN_FAILED, ctx->err.msg,
                         NULL);
        if (stopped && !ctx->quiet)
            fprintf(stderr, "assay: run %" PRId64 " interrupted; run the same command to resume\n",
                    run);
        goto out;
    }
    if ((rc = store_finish_run(s, run, STORE_RUN_DONE, NULL, &ctx->err)))
        goto out;
    if (ctx->json) {
        if ((rc = store_each_sample(s, run, NULL, print_line, NULL, &ctx->err)))
            goto out;
        print_summary_json(run, resumed, &sum);
    } else {
        print_summary_text(run, resumed, &sum);
        if (n_ex > 0 && sum.src[0].n_approx > 0) {
            printf("memorized continuations (PII masked):\n");
            struct examples ex = {.sc = sc, .left = n_ex, .err = &ctx->err};
            if ((rc = store_each_sample(s, run, NULL, print_example, &ex, &ctx->err)))
                goto out;
        }
    }
out:
    json_decref(c);
    free(cfg);
    free(sep);
    mem_summary_release(&sum);
    mem_plan_release(&plan);
    mem_corpus_release(&corpus);
    pii_scanner_free(sc);
    backend_free(b);
    store_close(s);
    return rc;
}
