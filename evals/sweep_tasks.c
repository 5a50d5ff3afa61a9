/*
 * evals/sweep_tasks.c - the parts of `assay sweep` that depend on the kind of task (see
 * sweep.h "Scope"): which tasks are swept in which grammar family, Winogrande's rows as
 * a 2-choice question, the label-count check, and the generation batch of GSM8K. It does
 * not score: scores are eval_rescore_sample's (runner.c), as for every sweep sample.
 */
#include "evals/sweep_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mem.h"
#include "engine/backend.h"
#include "evals/fmt.h"
#include "evals/metric.h"
#include "evals/runner.h"
#include "store/store.h"

/* ---- which tasks ---------------------------------------------------------------------- */

int sweep_task_family(const struct task_def *d, enum fmtg_family *fam, struct assay_error *err)
{
    if (d->output == TASK_OUTPUT_GENERATE) {
        if (d->scoring != TASK_SCORING_GSM8K)
            return err_set(err, ASSAY_EUSAGE,
                           "task '%s': only gsm8k among the generation tasks can be swept "
                           "(its answer-prefix formats); not gsm8k_cot, humaneval or mbpp",
                           d->name);
        *fam = FMTG_FAMILY_GEN;
        return 0;
    }
    if (d->scoring != TASK_SCORING_MC && d->scoring != TASK_SCORING_MC2)
        return err_set(err, ASSAY_EUSAGE, "task '%s': not a multiple-choice task", d->name);
    const struct fmt *f = fmt_find(d->format_id);
    if (!f || (f->layout != FMT_LAYOUT_QA && d->loader != TASK_LOADER_WINOGRANDE))
        return err_set(err, ASSAY_EUSAGE, "task '%s': its documents cannot be listed as choices",
                       d->name);
    *fam = FMTG_FAMILY_MC;
    return 0;
}

int sweep_tasks_family(const char *task_list, enum fmtg_family *fam, struct assay_error *err)
{
    char **names = NULL;
    int n = 0;
    int rc = task_expand(task_list, &names, &n, err);
    if (rc)
        return rc;
    char first[64] = "";
    for (int i = 0; i < n && !rc; i++) {
        struct task_def d;
        enum fmtg_family f = FMTG_FAMILY_MC; /* set by sweep_task_family; -O3 cannot see it */
        if ((rc = task_find(names[i], &d, err)) || (rc = sweep_task_family(&d, &f, err)))
            break;
        if (i == 0) {
            *fam = f;
            snprintf(first, sizeof(first), "%s", d.name);
        } else if (f != *fam) {
            rc = err_set(err, ASSAY_EUSAGE,
                         "tasks '%s' and '%s' are swept over different formats (multiple "
                         "choice and generation): sweep them separately",
                         first, d.name);
        }
    }
    task_names_free(names, n);
    return rc;
}

/* ---- Winogrande as a question ------------------------------------------------------------ */

int sweep_winogrande_doc(struct task_doc *d, struct assay_error *err)
{
    if (d->n_choices < 2 || !d->continuation)
        return err_set(err, ASSAY_EINVAL,
                       "winogrande item '%s' (line %ld): not a partial-scoring row", d->id,
                       d->line);
    /* the options' common prefix, cut back to just after its last blank: the sentence
     * up to "_" (the mirror has no original sentence: MANIFEST 4c) */
    size_t common = strlen(d->choices[0]);
    for (int i = 1; i < d->n_choices; i++) {
        size_t k = 0;
        while (k < common && d->choices[i][k] == d->choices[0][k])
            k++;
        common = k;
    }
    size_t cut = 0;
    for (size_t k = 0; k < common; k++)
        if (isspace((unsigned char)d->choices[0][k]))
            cut = k + 1;
    for (int i = 0; i < d->n_choices; i++)
        if (d->choices[i][cut] == '\0')
            return err_set(err, ASSAY_EINVAL,
                           "winogrande item '%s' (line %ld): option %d is empty after the "
                           "options' common words",
                           d->id, d->line, i + 1);
    for (int i = 1; i < d->n_choices; i++)
        if (strcmp(d->choices[i], d->choices[0]) == 0)
            return err_set(err, ASSAY_EINVAL,
                           "winogrande item '%s' (line %ld): the context options do not differ",
                           d->id, d->line);
    struct buf q;
    buf_init(&q, 0);
    const char *c = d->continuation;
    /* lm-eval's partial target is the text after "_", stripped: "'s", "." follow the
     * blank directly, words after a space */
    bool tight = c[0] == '\0' || ispunct((unsigned char)c[0]);
    if (buf_add(&q, d->choices[0], cut) || buf_add_str(&q, tight ? "_" : "_ ") ||
        buf_add_str(&q, c)) {
        buf_release(&q);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (int i = 0; i < d->n_choices; i++) {
        char *opt = mem_strdup(d->choices[i] + cut);
        if (!opt) {
            buf_release(&q);
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        }
        free(d->choices[i]);
        d->choices[i] = opt;
    }
    free(d->question);
    d->question = buf_detach(&q, NULL);
    buf_release(&q);
    free(d->continuation);
    d->continuation = NULL;
    return d->question ? 0 : err_set(err, ASSAY_ENOMEM, "out of memory");
}

int sweep_adapt_task(struct task_data *t, struct assay_error *err)
{
    if (t->def.output != TASK_OUTPUT_LOGLIKELIHOOD)
        return 0;
    for (int64_t i = 0; i < t->eval.n; i++) {
        struct task_doc *d = &t->eval.docs[i];
        int rc;
        if (t->def.loader == TASK_LOADER_WINOGRANDE && (rc = sweep_winogrande_doc(d, err)) != 0)
            return rc;
        if (d->n_choices > SWEEP_MAX_POS)
            return err_set(err, ASSAY_EINVAL,
                           "task '%s': item '%s' (document %lld) has %d choices; the sweep "
                           "grammar labels at most %d",
                           t->def.name, d->id, (long long)i, d->n_choices, SWEEP_MAX_POS);
    }
    return 0;
}

/* ---- generation ------------------------------------------------------------------------ */

int sweep_gen_stops(const struct task_def *t, const struct fmtg_fmt *f, char *qstop, size_t qcap,
                    const char **out)
{
    int n = 0;
    for (int i = 0; i < t->n_until && i < TASK_MAX_UNTIL; i++)
        out[n++] = t->until[i];
    /* the format's own question prefix starts the next question the model invents */
    size_t len = strlen(f->question_prefix);
    while (len > 0 && isspace((unsigned char)f->question_prefix[len - 1]))
        len--;
    if (len > 0 && len < qcap) {
        memcpy(qstop, f->question_prefix, len);
        qstop[len] = '\0';
        bool known = false;
        for (int i = 0; i < n; i++)
            known = known || strcmp(out[i], qstop) == 0;
        if (!known)
            out[n++] = qstop;
    }
    if (f->f.chat)
        out[n++] = "<end_of_turn>";
    return n;
}

struct gen_slot {
    char qstop[32];
    const char *until[TASK_MAX_UNTIL + 2];
    char *prompt, *data_json, *output;
};

int sweep_gen_batch(const struct sweep_plan *p, const struct sweep_item *items, int n_items,
                    struct backend *b, struct store *s, int64_t run_id, struct assay_error *err)
{
    struct bk_gen_req *reqs = mem_calloc_array((size_t)n_items, sizeof(*reqs));
    struct bk_gen_res *res = mem_calloc_array((size_t)n_items, sizeof(*res));
    struct store_sample *smp = mem_calloc_array((size_t)n_items, sizeof(*smp));
    struct gen_slot *sl = mem_calloc_array((size_t)n_items, sizeof(*sl));
    struct buf b1;
    buf_init(&b1, 0);
    int rc = 0;
    bool have_res = false;
    if (!reqs || !res || !smp || !sl) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n_items; i++) {
        const struct task_data *t = &p->tasks[items[i].task];
        const struct fmtg_fmt *fm = &p->fmts[items[i].fmt];
        buf_reset(&b1);
        if ((rc = sweep_render(p, items[i].task, items[i].doc, items[i].fmt, 0, false, &b1, err)))
            goto out;
        if (!(sl[i].prompt = buf_detach(&b1, NULL))) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        reqs[i].prompt.text = sl[i].prompt;
        reqs[i].prompt.len = strlen(sl[i].prompt);
        reqs[i].n_until =
            sweep_gen_stops(&t->def, fm, sl[i].qstop, sizeof(sl[i].qstop), sl[i].until);
        reqs[i].until = sl[i].until;
        reqs[i].max_tokens = p->opts.max_tokens > 0 ? p->opts.max_tokens : t->def.max_gen_toks;
        reqs[i].sampling.temperature = 0;
        reqs[i].sampling.top_p = 1;
        reqs[i].seed = p->opts.seed;
        reqs[i].stop_at_eos = true;
    }
    if ((rc = backend_generate(b, reqs, (size_t)n_items, res, NULL, err)) != 0)
        goto out;
    have_res = true;
    for (int i = 0; i < n_items; i++) {
        const struct task_data *t = &p->tasks[items[i].task];
        const struct fmtg_fmt *fm = &p->fmts[items[i].fmt];
        const struct task_doc *d = &t->eval.docs[items[i].doc];
        int slot = items[i].task * SWEEP_SHOT_VARIANTS + fm->spec.v[3];
        const char *text = res[i].text ? res[i].text : "";
        json_t *o = json_object(), *sh = json_array();
        for (int k = 0; k < p->n_shots[slot]; k++) {
            uint32_t id = p->shot_ids[slot][items[i].doc * SWEEP_MAX_SHOTS + k];
            json_array_append_new(sh, json_string(t->pool.docs[id].id));
        }
        json_object_set_new(o, "shots", sh);
        json_object_set_new(o, "finish", json_string(bk_finish_name(res[i].finish)));
        json_object_set_new(o, "n_tokens", json_integer(res[i].n_ids));
        char x[256];
        metric_gsm8k_strict(text, x, sizeof(x));
        json_object_set_new(o, "strict", json_string(x));
        metric_gsm8k_flexible(text, x, sizeof(x));
        json_object_set_new(o, "flexible", json_string(x));
        sl[i].data_json = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        sl[i].output = mem_strdup(text);
        if (!sl[i].data_json || !sl[i].output) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        struct store_sample *sm = &smp[i];
        sm->task = t->def.name;
        sm->item = d->id;
        sm->format_id = fm->id;
        sm->prompt = sl[i].prompt;
        sm->target = d->answer;
        sm->output = sl[i].output;
        sm->data_json = sl[i].data_json;
        if (res[i].error)
            sm->error = err_code_name(res[i].error);
        double v[8];
        if ((rc = eval_rescore_sample(&t->def, sm->output, sm->target, sm->data_json, sm->error, v,
                                      err)) < 0)
            goto out;
        rc = 0;
        /* as `assay run`: a generation is scored on whatever text came back */
        sm->score = v[0];
        sm->correct = v[0] >= 0.5;
    }
    rc = store_put_samples(s, run_id, smp, n_items, err);
out:
    if (have_res)
        for (int i = 0; i < n_items; i++)
            bk_gen_res_release(&res[i]);
    for (int i = 0; sl && i < n_items; i++) {
        free(sl[i].prompt);
        free(sl[i].data_json);
        free(sl[i].output);
    }
    buf_release(&b1);
    free(reqs);
    free(res);
    free(smp);
    free(sl);
    return rc;
}
