/*
 * cli/cmd_tasks.c - `assay tasks`: list the tasks, or show exactly what the model sees
 * for one document ('show TASK --doc I').
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "evals/fmt.h"
#include "evals/fmtgrammar.h"
#include "evals/runner.h"
#include "evals/sweep.h"
#include "evals/task.h"

const struct cli_opt cmd_tasks_opts[] = {
    {"doc", 0, CLI_OPT_INT, "I", "0", "show: document index in the eval split (from 0)"},
    {"shots", 0, CLI_OPT_INT, "K", NULL, "show: few-shot examples (default: the task's)"},
    {"seed", 0, CLI_OPT_INT, "S", "1234", "show: seed of the few-shot sampler"},
    {"format", 0, CLI_OPT_STR, "ID", NULL,
     "show: render with this format: a table id (mmlu_default...) or a sweep grammar id "
     "(see 'assay sweep --list-formats'; --shots is then the K of its shots axis)"},
    {"data-dir", 0, CLI_OPT_STR, "DIR", NULL,
     "dataset mirror (default: $ASSAY_DATA_DIR, else the datasets cache)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const char *output_name(enum task_output o)
{
    return o == TASK_OUTPUT_GENERATE ? "generate_until" : "multiple_choice";
}

static int list_tasks(struct cli_ctx *ctx)
{
    json_t *arr = ctx->json ? json_array() : NULL;
    if (!ctx->json)
        printf("%-44s %-14s %-16s %-5s %s\n", "task", "dataset", "output", "shots", "metrics");
    for (int i = 0; i < task_count(); i++) {
        struct task_def d;
        task_at(i, &d);
        if (ctx->json) {
            json_t *e = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "name", d.name, "dataset",
                                  d.dataset, "output_type", output_name(d.output), "default_shots",
                                  d.default_shots, "metrics", d.metrics, "format", d.format_id,
                                  "eval_split", d.eval_split);
            json_object_set_new(e, "group", d.group[0] ? json_string(d.group) : json_null());
            json_object_set_new(e, "note", d.note ? json_string(d.note) : json_null());
            json_array_append_new(arr, e);
        } else {
            printf("%-44s %-14s %-16s %-5d %s\n", d.name, d.dataset, output_name(d.output),
                   d.default_shots, d.metrics);
        }
    }
    if (ctx->json) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(arr);
    } else {
        printf("groups: mmlu (all 57 subjects), mmlu_stem, mmlu_humanities, "
               "mmlu_social_sciences, mmlu_other\n");
        for (int i = 0; i < task_count(); i++) {
            struct task_def d;
            task_at(i, &d);
            if (d.note)
                printf("note: %s: %s\n", d.name, d.note);
        }
    }
    return 0;
}

static void print_show(struct cli_ctx *ctx, json_t *out, int gold)
{
    if (ctx->json) {
        char *s = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        return;
    }
    const json_t *pr = json_object_get(out, "prompt");
    if (!pr)
        pr = json_object_get(out, "context");
    printf("%s", json_string_value(pr));
    const json_t *conts = json_object_get(out, "continuations");
    printf("\n---\n");
    if (conts)
        for (size_t i = 0; i < json_array_size(conts); i++)
            printf("continuation %zu%s: \"%s\"\n", i, (int)i == gold ? " (gold)" : "",
                   json_string_value(json_array_get(conts, i)));
    else
        printf("gold: %s\n", json_string_value(json_object_get(out, "gold")));
}

/* 'show --format ID' with a sweep grammar id: the sweep's own rendering, shots and all. */
static int show_grammar(struct cli_ctx *ctx, const char *name, int64_t doc, int shots, int64_t seed,
                        const struct fmtg_spec *sp, const char *data_dir)
{
    uint64_t idx = fmtg_index(sp);
    struct sweep_opts o = {
        .shots = shots, .limit = doc + 1, .seed = (uint64_t)seed, .data_dir = data_dir};
    struct sweep_plan p;
    int rc = sweep_plan_load(&p, name, &idx, 1, &o, &ctx->err);
    if (rc)
        return rc;
    struct buf b;
    buf_init(&b, 0);
    json_t *out = json_object(), *conts = json_array(), *sh = json_array();
    if (p.n_tasks != 1 || doc >= p.n_docs[0]) {
        rc = err_set(&ctx->err, ASSAY_EUSAGE, "--doc %lld: task '%s' has %lld documents",
                     (long long)doc, name, (long long)(p.n_tasks ? p.tasks[0].eval.n : 0));
        goto done;
    }
    const struct task_data *t = &p.tasks[0];
    const struct task_doc *d = &t->eval.docs[doc];
    json_object_set_new(out, "task", json_string(t->def.name));
    json_object_set_new(out, "doc", json_integer(doc));
    json_object_set_new(out, "id", json_string(d->id));
    json_object_set_new(out, "format", json_string(p.fmts[0].id));
    if ((rc = sweep_render(&p, 0, doc, 0, 0, false, &b, &ctx->err)))
        goto done;
    if (p.family == FMTG_FAMILY_GEN) { /* gsm8k: the keys of a plain generation 'show' */
        json_object_set_new(out, "prompt", json_stringn(b.data ? b.data : "", b.len));
        const char *until[TASK_MAX_UNTIL + 2];
        char qstop[32];
        int nu = sweep_gen_stops(&t->def, &p.fmts[0], qstop, sizeof(qstop), until);
        json_t *u = json_array();
        for (int i = 0; i < nu; i++)
            json_array_append_new(u, json_string(until[i]));
        json_object_set_new(out, "until", u);
        json_object_set_new(out, "max_gen_toks", json_integer(p.opts.max_tokens));
        json_object_set_new(out, "gold", d->answer ? json_string(d->answer) : json_null());
    } else
        json_object_set_new(out, "context", json_stringn(b.data ? b.data : "", b.len));
    for (int c = 0; c < d->n_choices; c++) {
        buf_reset(&b);
        if ((rc = sweep_render(&p, 0, doc, 0, c, true, &b, &ctx->err)))
            goto done;
        json_array_append_new(conts, json_stringn(b.data ? b.data : "", b.len));
    }
    if (p.family != FMTG_FAMILY_GEN) {
        json_object_set_new(out, "continuations", conts);
        conts = NULL;
        json_object_set_new(out, "gold", json_integer(d->gold));
        json_object_set_new(out, "gold_pos",
                            json_integer(fmt_display_pos(&p.fmts[0].f, d, d->gold)));
    }
    if (d->labels) { /* truthfulqa_mc2: every true answer */
        json_t *l = json_array();
        for (int c = 0; c < d->n_choices; c++)
            json_array_append_new(l, json_integer(d->labels[c]));
        json_object_set_new(out, "labels", l);
    }
    int slot = p.fmts[0].spec.v[3];
    for (int i = 0; i < p.n_shots[slot]; i++)
        json_array_append_new(
            sh, json_string(t->pool.docs[p.shot_ids[slot][doc * SWEEP_MAX_SHOTS + i]].id));
    json_object_set_new(out, "shots", sh);
    sh = NULL;
    print_show(ctx, out, d->gold);
done:
    json_decref(conts);
    json_decref(sh);
    json_decref(out);
    buf_release(&b);
    sweep_plan_release(&p);
    return rc;
}

static int show_task(struct cli_ctx *ctx, const struct cli_args *a, const char *name)
{
    int64_t doc = 0, shots = -1, seed = 1234;
    int rc;
    if ((rc = cli_get_int(a, "doc", 0, INT64_MAX, &doc, &ctx->err)) ||
        (rc = cli_get_int(a, "shots", 0, 32, &shots, &ctx->err)) ||
        (rc = cli_get_int(a, "seed", 0, INT64_MAX, &seed, &ctx->err)))
        return rc;
    struct task_def def;
    if ((rc = task_find(name, &def, &ctx->err)))
        return rc;
    const char *fid = cli_get(a, "format");
    const struct fmt *table_fmt = NULL;
    if (fid && !(table_fmt = fmt_find(fid))) {
        struct fmtg_spec sp;
        if (fmtg_parse(fid, &sp, &ctx->err))
            return ctx->err.code = ASSAY_EUSAGE; /* a bad id on the command line */
        return show_grammar(ctx, name, doc, (int)shots, seed, &sp, cli_get(a, "data-dir"));
    }
    /* A plan of this one task up to the document, so the few-shot draws are those the
     * run makes (lm-eval's sampler runs across documents in order). */
    struct eval_opts o = {.shots = (int)shots,
                          .limit = doc + 1,
                          .seed = (uint64_t)seed,
                          .batch = 1,
                          .data_dir = cli_get(a, "data-dir")};
    struct eval_plan p;
    if ((rc = eval_plan_load(&p, name, &o, &ctx->err)))
        return rc;
    struct buf b;
    buf_init(&b, 0);
    json_t *out = json_object();
    if (doc >= p.n_items) {
        rc = err_set(&ctx->err, ASSAY_EUSAGE, "--doc %lld: task '%s' has %lld documents",
                     (long long)doc, name, (long long)p.tasks[0].eval.n);
        goto done;
    }
    if (table_fmt)
        p.tasks[0].fmt = table_fmt;
    const struct eval_item *it = &p.items[doc];
    const struct task_data *t = &p.tasks[0];
    const struct task_doc *d = &t->eval.docs[it->doc];
    json_object_set_new(out, "task", json_string(t->def.name));
    json_object_set_new(out, "doc", json_integer(doc));
    json_object_set_new(out, "id", json_string(d->id));
    json_object_set_new(out, "format", json_string(t->fmt->id));
    if (t->def.note)
        json_object_set_new(out, "note", json_string(t->def.note));
    if (t->def.output == TASK_OUTPUT_LOGLIKELIHOOD) {
        json_t *conts = json_array(), *ctxs = json_array();
        for (int c = 0; c < d->n_choices; c++) {
            buf_reset(&b);
            if ((rc = eval_item_context(&p, it, c, &b, &ctx->err)))
                goto done;
            if (c == 0)
                json_object_set_new(out, "context", json_stringn(b.data ? b.data : "", b.len));
            json_array_append_new(ctxs, json_stringn(b.data ? b.data : "", b.len));
            buf_reset(&b);
            if ((rc = eval_item_continuation(&p, it, c, &b, &ctx->err)))
                goto done;
            json_array_append_new(conts, json_stringn(b.data ? b.data : "", b.len));
        }
        json_object_set_new(out, "continuations", conts);
        if (t->fmt->layout == FMT_LAYOUT_PARTIAL)
            json_object_set_new(out, "contexts", ctxs);
        else
            json_decref(ctxs);
        json_object_set_new(out, "gold", json_integer(d->gold));
        if (d->labels) {
            json_t *l = json_array();
            for (int c = 0; c < d->n_choices; c++)
                json_array_append_new(l, json_integer(d->labels[c]));
            json_object_set_new(out, "labels", l);
        }
    } else {
        buf_reset(&b);
        if ((rc = eval_item_context(&p, it, 0, &b, &ctx->err)))
            goto done;
        json_object_set_new(out, "prompt", json_stringn(b.data ? b.data : "", b.len));
        json_t *u = json_array();
        for (int i = 0; i < t->def.n_until; i++)
            json_array_append_new(u, json_string(t->def.until[i]));
        json_object_set_new(out, "until", u);
        json_object_set_new(out, "max_gen_toks", json_integer(t->def.max_gen_toks));
        json_object_set_new(out, "gold",
                            d->answer ? json_string(d->answer)
                                      : (d->tests ? json_string(d->tests[0]) : json_null()));
    }
    json_t *sh = json_array();
    for (int i = 0; i < it->n_shots; i++)
        json_array_append_new(sh, json_string(t->pool.docs[it->shot_ids[i]].id));
    json_object_set_new(out, "shots", sh);
    print_show(ctx, out, d->gold);
done:
    json_decref(out);
    buf_release(&b);
    eval_plan_release(&p);
    return rc;
}

int cmd_tasks(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (a->n_pos == 0)
        return list_tasks(ctx);
    if (strcmp(a->pos[0], "show") != 0 || a->n_pos != 2)
        return err_set(&ctx->err, ASSAY_EUSAGE, "usage: assay tasks [show TASK] [options]");
    return show_task(ctx, a, a->pos[1]);
}
