/*
 * evals/task.c - the task table, dataset loading and validation, few-shot selection and
 * prompt assembly. Reading bytes is datasets/' job (ds_read.h); what the rows mean is
 * decided here; how a document becomes text is the format's (fmt.c).
 */
#include "evals/task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "datasets/ds.h"
#include "evals/fmt.h"

/* ---- the table -------------------------------------------------------------------- */

/* lm-eval lm_eval/tasks/mmlu/_generate_configs.py SUBJECTS (subject -> category). */
static const struct {
    const char *subject;
    const char *category;
} mmlu_subjects[] = {
    {"abstract_algebra", "stem"},
    {"anatomy", "stem"},
    {"astronomy", "stem"},
    {"business_ethics", "other"},
    {"clinical_knowledge", "other"},
    {"college_biology", "stem"},
    {"college_chemistry", "stem"},
    {"college_computer_science", "stem"},
    {"college_mathematics", "stem"},
    {"college_medicine", "other"},
    {"college_physics", "stem"},
    {"computer_security", "stem"},
    {"conceptual_physics", "stem"},
    {"econometrics", "social_sciences"},
    {"electrical_engineering", "stem"},
    {"elementary_mathematics", "stem"},
    {"formal_logic", "humanities"},
    {"global_facts", "other"},
    {"high_school_biology", "stem"},
    {"high_school_chemistry", "stem"},
    {"high_school_computer_science", "stem"},
    {"high_school_european_history", "humanities"},
    {"high_school_geography", "social_sciences"},
    {"high_school_government_and_politics", "social_sciences"},
    {"high_school_macroeconomics", "social_sciences"},
    {"high_school_mathematics", "stem"},
    {"high_school_microeconomics", "social_sciences"},
    {"high_school_physics", "stem"},
    {"high_school_psychology", "social_sciences"},
    {"high_school_statistics", "stem"},
    {"high_school_us_history", "humanities"},
    {"high_school_world_history", "humanities"},
    {"human_aging", "other"},
    {"human_sexuality", "social_sciences"},
    {"international_law", "humanities"},
    {"jurisprudence", "humanities"},
    {"logical_fallacies", "humanities"},
    {"machine_learning", "stem"},
    {"management", "other"},
    {"marketing", "other"},
    {"medical_genetics", "other"},
    {"miscellaneous", "other"},
    {"moral_disputes", "humanities"},
    {"moral_scenarios", "humanities"},
    {"nutrition", "other"},
    {"philosophy", "humanities"},
    {"prehistory", "humanities"},
    {"professional_accounting", "other"},
    {"professional_law", "humanities"},
    {"professional_medicine", "other"},
    {"professional_psychology", "social_sciences"},
    {"public_relations", "social_sciences"},
    {"security_studies", "social_sciences"},
    {"sociology", "social_sciences"},
    {"us_foreign_policy", "social_sciences"},
    {"virology", "other"},
    {"world_religions", "humanities"},
};
#define N_MMLU ((int)(sizeof(mmlu_subjects) / sizeof(mmlu_subjects[0])))

const char *const task_group_names[] = {
    "mmlu", "mmlu_stem", "mmlu_humanities", "mmlu_social_sciences", "mmlu_other", NULL};

/* The non-MMLU rows (lm-eval task YAMLs as summarised in EVAL-NOTES.md section 2). */
/* clang-format off */
static const struct task_def other_tasks[] = {
    {.name = "gsm8k", .dataset = "gsm8k", .eval_path = "gsm8k/test.jsonl",
     .fewshot_path = "gsm8k/train.jsonl.gz", .eval_split = "test", .fewshot_split = "train",
     .loader = TASK_LOADER_GSM8K, .output = TASK_OUTPUT_GENERATE,
     .scoring = TASK_SCORING_GSM8K, .default_shots = 5, .sampler = FEWSHOT_SAMPLER_RANDOM,
     .metrics = "exact_match,strict-match;exact_match,flexible-extract",
     .format_id = "gsm8k_default", .n_until = 3, .until = {"Question:", "</s>", "<|im_end|>"},
     .max_gen_toks = 256},
    /* the mirror holds llama.cpp's preprocessed layout: scored as is ("llama.cpp layout") */
    {.name = "hellaswag", .dataset = "hellaswag",
     .eval_path = "hellaswag/hellaswag_val_full.txt.gz", .eval_split = "validation",
     .loader = TASK_LOADER_HELLASWAG, .output = TASK_OUTPUT_LOGLIKELIHOOD,
     .scoring = TASK_SCORING_MC, .sampler = FEWSHOT_SAMPLER_NONE, .metrics = "acc;acc_norm",
     .format_id = "hellaswag_llamacpp",
     .note = "llama.cpp layout: the mirror's file is already preprocessed with ctx_b not "
             "capitalized, so lm-eval's exact context cannot be rebuilt; scored as is"},
    {.name = "arc_easy", .dataset = "arc_easy", .eval_path = "arc/ARC-Easy/ARC-Easy-Test.jsonl",
     .fewshot_path = "arc/ARC-Easy/ARC-Easy-Train.jsonl", .eval_split = "test",
     .fewshot_split = "train", .loader = TASK_LOADER_ARC, .output = TASK_OUTPUT_LOGLIKELIHOOD,
     .scoring = TASK_SCORING_MC, .sampler = FEWSHOT_SAMPLER_RANDOM, .metrics = "acc;acc_norm",
     .format_id = "arc_default"},
    {.name = "arc_challenge", .dataset = "arc_challenge",
     .eval_path = "arc/ARC-Challenge/ARC-Challenge-Test.jsonl",
     .fewshot_path = "arc/ARC-Challenge/ARC-Challenge-Train.jsonl", .eval_split = "test",
     .fewshot_split = "train", .loader = TASK_LOADER_ARC, .output = TASK_OUTPUT_LOGLIKELIHOOD,
     .scoring = TASK_SCORING_MC, .sampler = FEWSHOT_SAMPLER_RANDOM, .metrics = "acc;acc_norm",
     .format_id = "arc_default"},
    /* llm-foundry's derived file: context_options / continuation / gold (partial scoring) */
    {.name = "winogrande", .dataset = "winogrande",
     .eval_path = "winogrande/winogrande_dev_llmfoundry.jsonl", .eval_split = "validation",
     .loader = TASK_LOADER_WINOGRANDE, .output = TASK_OUTPUT_LOGLIKELIHOOD,
     .scoring = TASK_SCORING_MC, .sampler = FEWSHOT_SAMPLER_NONE, .metrics = "acc",
     .format_id = "winogrande_partial",
     .note = "llm-foundry's derived file (context_options, continuation, gold): the same "
             "partial-scoring requests as lm-eval"},
    {.name = "piqa", .dataset = "piqa", .eval_path = "piqa/valid.jsonl",
     .aux_path = "piqa/valid-labels.lst", .eval_split = "validation",
     .loader = TASK_LOADER_PIQA, .output = TASK_OUTPUT_LOGLIKELIHOOD,
     .scoring = TASK_SCORING_MC, .sampler = FEWSHOT_SAMPLER_NONE, .metrics = "acc;acc_norm",
     .format_id = "piqa_default"},
    {.name = "boolq", .dataset = "boolq", .eval_path = "boolq/val.jsonl",
     .eval_split = "validation", .loader = TASK_LOADER_BOOLQ,
     .output = TASK_OUTPUT_LOGLIKELIHOOD, .scoring = TASK_SCORING_MC,
     .sampler = FEWSHOT_SAMPLER_NONE, .metrics = "acc", .format_id = "boolq_default"},
    {.name = "truthfulqa_mc1", .dataset = "truthfulqa",
     .eval_path = "truthfulqa/v1_2021/mc_task.json", .eval_split = "validation",
     .loader = TASK_LOADER_TRUTHFULQA_MC1, .output = TASK_OUTPUT_LOGLIKELIHOOD,
     .scoring = TASK_SCORING_MC, .sampler = FEWSHOT_SAMPLER_NONE, .metrics = "acc",
     .format_id = "truthfulqa_default"},
    {.name = "truthfulqa_mc2", .dataset = "truthfulqa",
     .eval_path = "truthfulqa/v1_2021/mc_task.json", .eval_split = "validation",
     .loader = TASK_LOADER_TRUTHFULQA_MC2, .output = TASK_OUTPUT_LOGLIKELIHOOD,
     .scoring = TASK_SCORING_MC2, .sampler = FEWSHOT_SAMPLER_NONE, .metrics = "mc2",
     .format_id = "truthfulqa_default",
     .note = "true answers selected by label mask (EVAL-NOTES); lm-eval splits at the first "
             "false label, which differs on 2 of 817 questions; lm-eval names the metric acc"},
    {.name = "humaneval", .dataset = "humaneval", .eval_path = "humaneval/HumanEval.jsonl.gz",
     .eval_split = "test", .loader = TASK_LOADER_HUMANEVAL, .output = TASK_OUTPUT_GENERATE,
     .scoring = TASK_SCORING_CODE, .sampler = FEWSHOT_SAMPLER_NONE, .metrics = "pass@1",
     .format_id = "humaneval_default", .n_until = 5,
     .until = {"\nclass", "\ndef", "\n#", "\nif", "\nprint"}, .max_gen_toks = 1024},
    /* eval = task_ids 11..510; pool = task_ids 1..10; the shots are tasks 2, 3, 4 */
    {.name = "mbpp", .dataset = "mbpp", .eval_path = "mbpp/mbpp.jsonl",
     .fewshot_path = "mbpp/mbpp.jsonl", .eval_split = "test", .fewshot_split = "prompt",
     .loader = TASK_LOADER_MBPP, .output = TASK_OUTPUT_GENERATE, .scoring = TASK_SCORING_CODE,
     .default_shots = 3, .sampler = FEWSHOT_SAMPLER_FIXED, .metrics = "pass@1",
     .format_id = "mbpp_default", .n_until = 1, .until = {"[DONE]"}, .max_gen_toks = 256,
     .n_fixed_shots = 3, .fixed_shots = {1, 2, 3}},
    /* gsm8k-cot.yaml v3: "Q: <question>\nA:" after the 8 fixed chain-of-thought shots of
     * Wei et al. 2022 (first_n), gold = the text after "####" */
    {.name = "gsm8k_cot", .dataset = "gsm8k", .eval_path = "gsm8k/test.jsonl",
     .eval_split = "test", .fewshot_split = "cot_exemplars",
     .loader = TASK_LOADER_GSM8K_COT, .output = TASK_OUTPUT_GENERATE,
     .scoring = TASK_SCORING_GSM8K_COT, .default_shots = 8, .sampler = FEWSHOT_SAMPLER_FIRST_N,
     .metrics = "exact_match,strict-match;exact_match,flexible-extract",
     .format_id = "gsm8k_cot", .n_until = 3, .until = {"Q:", "</s>", "<|im_end|>"},
     .max_gen_toks = 256},
    /* the sanitized split (sanitized-mbpp.json, task_ids 11..510: 257 problems) in mbpp.yaml's
     * prompt, with the full file's shots (tasks 2, 3, 4), as lm-eval's
     * mbpp_instruct_sanitized keeps its parent's shots */
    {.name = "mbpp_sanitized", .dataset = "mbpp", .eval_path = "mbpp/sanitized-mbpp.json",
     .fewshot_path = "mbpp/mbpp.jsonl", .eval_split = "test", .fewshot_split = "prompt",
     .loader = TASK_LOADER_MBPP_SANITIZED, .output = TASK_OUTPUT_GENERATE,
     .scoring = TASK_SCORING_CODE, .default_shots = 3, .sampler = FEWSHOT_SAMPLER_FIXED,
     .metrics = "pass@1", .format_id = "mbpp_default", .n_until = 1, .until = {"[DONE]"},
     .max_gen_toks = 256, .n_fixed_shots = 3, .fixed_shots = {1, 2, 3},
     .note = "lm-eval has no plain mbpp_sanitized (only mbpp_instruct_sanitized): this is "
             "mbpp's prompt on the sanitized split with its 'prompt' field; test_imports run "
             "before the asserts (the original sanitized protocol; lm-eval never reads them); "
             "the 4 problems with 4-5 tests show and run all of them"},
};
/* clang-format on */

/* gsm8k-cot.yaml's fewshot_config samples (Wei et al. 2022, the 8 chain-of-thought
 * exemplars), as the YAML folds them: question, target. */
static const char *const gsm8k_cot_shots[][2] = {
    {"There are 15 trees in the grove. Grove workers will plant trees in the grove today. After "
     "they are done, there will be 21 trees. How many trees did the grove workers plant today?",
     "There are 15 trees originally. Then there were 21 trees after some more were planted. So "
     "there must have been 21 - 15 = 6. The answer is 6."},
    {"If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the "
     "parking lot?",
     "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5."},
    {"Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have "
     "left in total?",
     "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. "
     "After eating 35, they had 74 - 35 = 39. The answer is 39."},
    {"Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many "
     "lollipops did Jason give to Denny?",
     "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny "
     "20 - 12 = 8. The answer is 8."},
    {"Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys "
     "does he have now?",
     "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more "
     "toys. 5 + 4 = 9. The answer is 9."},
    {"There were nine computers in the server room. Five more computers were installed each day, "
     "from monday to thursday. How many computers are now in the server room?",
     "There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 "
     "= 20 computers were added. 9 + 20 is 29. The answer is 29."},
    {"Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. "
     "How many golf balls did he have at the end of wednesday?",
     "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After "
     "losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33."},
    {"Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
     "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 "
     "- 15 dollars left. 23 - 15 is 8. The answer is 8."},
};
#define N_GSM8K_COT_SHOTS ((int)(sizeof(gsm8k_cot_shots) / sizeof(gsm8k_cot_shots[0])))
#define N_OTHER           ((int)(sizeof(other_tasks) / sizeof(other_tasks[0])))

int task_count(void)
{
    return N_MMLU + N_OTHER;
}

void task_at(int i, struct task_def *out)
{
    if (i >= N_MMLU) {
        *out = other_tasks[i - N_MMLU];
        return;
    }
    memset(out, 0, sizeof(*out));
    const char *s = mmlu_subjects[i].subject;
    snprintf(out->name, sizeof(out->name), "mmlu_%s", s);
    snprintf(out->group, sizeof(out->group), "mmlu_%s", mmlu_subjects[i].category);
    snprintf(out->dataset, sizeof(out->dataset), "mmlu");
    snprintf(out->eval_path, sizeof(out->eval_path), "mmlu/test/%s_test.csv", s);
    snprintf(out->fewshot_path, sizeof(out->fewshot_path), "mmlu/dev/%s_dev.csv", s);
    snprintf(out->subject, sizeof(out->subject), "%s", s);
    for (char *p = out->subject; *p; p++)
        if (*p == '_')
            *p = ' ';
    snprintf(out->eval_split, sizeof(out->eval_split), "test");
    snprintf(out->fewshot_split, sizeof(out->fewshot_split), "dev");
    out->loader = TASK_LOADER_MMLU;
    out->output = TASK_OUTPUT_LOGLIKELIHOOD;
    out->scoring = TASK_SCORING_MC;
    out->default_shots = 0; /* lm-eval sets none; the 5-shot convention is --shots 5 */
    out->sampler = FEWSHOT_SAMPLER_FIRST_N;
    out->metrics = "acc";
    out->format_id = "mmlu_default";
}

int task_find(const char *name, struct task_def *out, struct assay_error *err)
{
    for (int i = 0; i < task_count(); i++) {
        task_at(i, out);
        if (strcmp(out->name, name) == 0)
            return 0;
    }
    return err_set(err, ASSAY_ENOTFOUND, "unknown task '%s' (see 'assay tasks')", name);
}

int task_groups_of(const struct task_def *t, const char *out[2])
{
    if (t->loader != TASK_LOADER_MMLU)
        return 0;
    for (int g = 1; task_group_names[g]; g++)
        if (strcmp(task_group_names[g], t->group) == 0)
            out[0] = task_group_names[g];
    out[1] = "mmlu";
    return 2;
}

void task_names_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static int add_name(char ***names, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*names)[i], name) == 0)
            return 0;
    char **nn = mem_realloc_array(*names, (size_t)*n + 1, sizeof(char *));
    if (!nn)
        return ASSAY_ENOMEM;
    *names = nn;
    if (!(nn[*n] = mem_strdup(name)))
        return ASSAY_ENOMEM;
    (*n)++;
    return 0;
}

int task_expand(const char *list, char ***names_out, int *n_out, struct assay_error *err)
{
    char **names = NULL;
    int n = 0, rc = 0;
    char *copy = mem_strdup(list ? list : "");
    if (!copy)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            tok[--len] = '\0';
        if (!len)
            continue;
        bool is_group = false;
        for (int g = 0; task_group_names[g]; g++)
            is_group = is_group || strcmp(task_group_names[g], tok) == 0;
        struct task_def d;
        if (is_group) {
            for (int i = 0; i < N_MMLU && !rc; i++) {
                task_at(i, &d);
                if (strcmp(tok, "mmlu") == 0 || strcmp(tok, d.group) == 0)
                    rc = add_name(&names, &n, d.name);
            }
        } else if (task_find(tok, &d, NULL) == 0) {
            rc = add_name(&names, &n, d.name);
        } else {
            /* a name on the command line: a usage error, not missing data */
            rc = err_set(err, ASSAY_EUSAGE, "unknown task '%s' (see 'assay tasks')", tok);
        }
        if (rc)
            break;
    }
    free(copy);
    if (!rc && n == 0)
        rc = err_set(err, ASSAY_EUSAGE, "no tasks given");
    if (rc) {
        if (rc == ASSAY_ENOMEM)
            err_set(err, rc, "out of memory");
        task_names_free(names, n);
        return rc;
    }
    *names_out = names;
    *n_out = n;
    return 0;
}

/* ---- documents -------------------------------------------------------------------- */

static void doc_release(struct task_doc *d)
{
    free(d->id);
    free(d->passage);
    free(d->question);
    for (int i = 0; i < d->n_choices; i++)
        free(d->choices[i]);
    free(d->choices);
    free(d->continuation);
    free(d->labels);
    free(d->answer);
    for (int i = 0; i < d->n_tests; i++)
        free(d->tests[i]);
    free(d->tests);
    free(d->entry_point);
    free(d->test_setup);
    memset(d, 0, sizeof(*d));
}

void task_docs_release(struct task_docs *d)
{
    for (int64_t i = 0; i < d->n; i++)
        doc_release(&d->docs[i]);
    free(d->docs);
    memset(d, 0, sizeof(*d));
}

void task_data_release(struct task_data *t)
{
    task_docs_release(&t->eval);
    task_docs_release(&t->pool);
}

/* Append a zeroed doc; returns it or NULL (out of memory). */
static struct task_doc *docs_push(struct task_docs *d)
{
    if (d->n == d->cap) {
        int64_t cap = d->cap ? d->cap * 2 : 64;
        struct task_doc *nd = mem_realloc_array(d->docs, (size_t)cap, sizeof(*nd));
        if (!nd)
            return NULL;
        d->docs = nd;
        d->cap = cap;
    }
    struct task_doc *doc = &d->docs[d->n++];
    memset(doc, 0, sizeof(*doc));
    doc->gold = -1;
    return doc;
}

static int set_choices(struct task_doc *d, int n)
{
    d->choices = mem_calloc_array((size_t)n, sizeof(char *));
    if (!d->choices)
        return ASSAY_ENOMEM;
    d->n_choices = n;
    return 0;
}

static int dup_to(char **dst, const char *s, size_t n)
{
    *dst = mem_strndup(s, n);
    return *dst ? 0 : ASSAY_ENOMEM;
}

static int set_id_int(struct task_doc *d, int64_t i)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", (long long)i);
    return dup_to(&d->id, tmp, strlen(tmp));
}

static int oom(struct assay_error *err)
{
    return err_set(err, ASSAY_ENOMEM, "out of memory");
}

/* A string member of a JSON object, or an error naming file:line and the key. */
static int jstr(const json_t *o, const char *key, const char *path, long line, const char **out,
                struct assay_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return err_set_at(err, ASSAY_EINVAL, path, line, "%s field '%s'",
                          v ? "expected a string in" : "missing", key);
    *out = json_string_value(v);
    return 0;
}

static int load_mmlu(struct task_docs *out, const char *path, struct assay_error *err)
{
    struct ds_read_opts o = {0};
    o.n_fields = 6;
    struct ds_csv *c = NULL;
    int rc = ds_csv_open(&c, path, &o, err);
    while (!rc && (rc = ds_csv_next(c, err)) == 1) {
        rc = 0;
        size_t alen = 0;
        const char *ans = ds_csv_field(c, 5, &alen);
        if (alen != 1 || ans[0] < 'A' || ans[0] > 'D') {
            rc = err_set_at(err, ASSAY_EINVAL, path, ds_csv_lineno(c),
                            "unknown answer letter '%s' (expected A, B, C or D)", ans);
            break;
        }
        struct task_doc *d = docs_push(out);
        if (!d || set_id_int(d, out->n - 1) || set_choices(d, 4)) {
            rc = oom(err);
            break;
        }
        d->line = ds_csv_lineno(c);
        size_t len;
        const char *q = ds_csv_field(c, 0, &len);
        if (dup_to(&d->question, q, len)) {
            rc = oom(err);
            break;
        }
        for (int i = 0; i < 4 && !rc; i++) {
            const char *f = ds_csv_field(c, (size_t)i + 1, &len);
            if (dup_to(&d->choices[i], f, len))
                rc = oom(err);
        }
        d->gold = ans[0] - 'A';
    }
    ds_csv_close(c);
    return rc < 0 ? rc : 0;
}

static int load_jsonl(struct task_docs *out, const char *path, const struct task_def *def,
                      bool pool, struct assay_error *err)
{
    struct ds_jsonl *r = NULL;
    json_t *o = NULL;
    int rc = ds_jsonl_open(&r, path, NULL, err);
    while (!rc && (rc = ds_jsonl_next(r, &o, err)) == 1) {
        rc = 0;
        long line = ds_jsonl_lineno(r);
        struct task_doc *d = docs_push(out);
        if (!d) {
            rc = oom(err);
            break;
        }
        d->line = line;
        const char *a = NULL, *b = NULL, *c3 = NULL;
        switch (def->loader) {
        case TASK_LOADER_GSM8K:
        case TASK_LOADER_GSM8K_COT:
            if ((rc = jstr(o, "question", path, line, &a, err)) ||
                (rc = jstr(o, "answer", path, line, &b, err)))
                break;
            if (!strstr(b, "####")) {
                rc = err_set_at(err, ASSAY_EINVAL, path, line, "answer has no '#### N' line");
                break;
            }
            if (def->loader == TASK_LOADER_GSM8K_COT) {
                /* doc_to_target: answer.split('####')[-1].strip() */
                const char *g = b, *h;
                while ((h = strstr(g, "####")) != NULL)
                    g = h + 4;
                size_t glen = strlen(g);
                fmt_strip(&g, &glen);
                if (set_id_int(d, out->n - 1) || dup_to(&d->question, a, strlen(a)) ||
                    dup_to(&d->answer, g, glen))
                    rc = oom(err);
                break;
            }
            if (set_id_int(d, out->n - 1) || dup_to(&d->question, a, strlen(a)) ||
                dup_to(&d->answer, b, strlen(b)))
                rc = oom(err);
            break;
        case TASK_LOADER_ARC: {
            const json_t *q = json_object_get(o, "question");
            const json_t *ch = q ? json_object_get(q, "choices") : NULL;
            if (!json_is_object(q) || !json_is_array(ch) || json_array_size(ch) == 0) {
                rc = err_set_at(err, ASSAY_EINVAL, path, line,
                                "missing field 'question' with 'stem' and 'choices'");
                break;
            }
            if ((rc = jstr(q, "stem", path, line, &a, err)) ||
                (rc = jstr(o, "answerKey", path, line, &b, err)) ||
                (rc = jstr(o, "id", path, line, &c3, err)))
                break;
            int n = (int)json_array_size(ch);
            if (set_choices(d, n) || dup_to(&d->question, a, strlen(a)) ||
                dup_to(&d->id, c3, strlen(c3))) {
                rc = oom(err);
                break;
            }
            for (int i = 0; i < n && !rc; i++) {
                const json_t *e = json_array_get(ch, (size_t)i);
                const char *txt = NULL, *lab = NULL;
                if ((rc = jstr(e, "text", path, line, &txt, err)) ||
                    (rc = jstr(e, "label", path, line, &lab, err)))
                    break;
                if (strcmp(lab, b) == 0)
                    d->gold = i;
                if (dup_to(&d->choices[i], txt, strlen(txt)))
                    rc = oom(err);
            }
            if (!rc && d->gold < 0)
                rc = err_set_at(err, ASSAY_EINVAL, path, line,
                                "unknown answer letter '%s': no choice has that label", b);
            break;
        }
        case TASK_LOADER_WINOGRANDE: {
            const json_t *opts = json_object_get(o, "context_options");
            const json_t *g = json_object_get(o, "gold");
            if (!json_is_array(opts) || json_array_size(opts) < 2) {
                rc = err_set_at(err, ASSAY_EINVAL, path, line,
                                "missing field 'context_options' (an array of 2 strings)");
                break;
            }
            if ((rc = jstr(o, "continuation", path, line, &a, err)))
                break;
            int n = (int)json_array_size(opts);
            if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) >= n) {
                rc = err_set_at(err, ASSAY_EINVAL, path, line,
                                "field 'gold' must be an integer from 0 to %d", n - 1);
                break;
            }
            d->gold = (int)json_integer_value(g);
            if (set_id_int(d, out->n - 1) || set_choices(d, n) ||
                dup_to(&d->continuation, a, strlen(a))) {
                rc = oom(err);
                break;
            }
            for (int i = 0; i < n && !rc; i++) {
                const json_t *e = json_array_get(opts, (size_t)i);
                if (!json_is_string(e))
                    rc = err_set_at(err, ASSAY_EINVAL, path, line,
                                    "context_options[%d] is not a string", i);
                else if (dup_to(&d->choices[i], json_string_value(e), json_string_length(e)))
                    rc = oom(err);
            }
            break;
        }
        case TASK_LOADER_PIQA:
            if ((rc = jstr(o, "goal", path, line, &a, err)) ||
                (rc = jstr(o, "sol1", path, line, &b, err)) ||
                (rc = jstr(o, "sol2", path, line, &c3, err)))
                break;
            if (set_id_int(d, out->n - 1) || set_choices(d, 2) ||
                dup_to(&d->question, a, strlen(a)) || dup_to(&d->choices[0], b, strlen(b)) ||
                dup_to(&d->choices[1], c3, strlen(c3)))
                rc = oom(err);
            break;
        case TASK_LOADER_BOOLQ: {
            if ((rc = jstr(o, "passage", path, line, &a, err)) ||
                (rc = jstr(o, "question", path, line, &b, err)))
                break;
            const json_t *l = json_object_get(o, "label");
            int gold = -1;
            if (json_is_string(l) && strcmp(json_string_value(l), "true") == 0)
                gold = 1;
            else if (json_is_string(l) && strcmp(json_string_value(l), "false") == 0)
                gold = 0;
            else if (json_is_boolean(l))
                gold = json_is_true(l) ? 1 : 0;
            if (gold < 0) {
                rc = err_set_at(err, ASSAY_EINVAL, path, line,
                                "field 'label' must be \"true\" or \"false\"");
                break;
            }
            d->gold = gold;
            if (set_id_int(d, out->n - 1) || set_choices(d, 2) ||
                dup_to(&d->passage, a, strlen(a)) || dup_to(&d->question, b, strlen(b)) ||
                dup_to(&d->choices[0], "no", 2) || dup_to(&d->choices[1], "yes", 3))
                rc = oom(err);
            break;
        }
        case TASK_LOADER_HUMANEVAL: {
            const char *ep = NULL;
            if ((rc = jstr(o, "task_id", path, line, &a, err)) ||
                (rc = jstr(o, "prompt", path, line, &b, err)) ||
                (rc = jstr(o, "test", path, line, &c3, err)) ||
                (rc = jstr(o, "entry_point", path, line, &ep, err)))
                break;
            d->tests = mem_calloc_array(1, sizeof(char *));
            if (!d->tests || dup_to(&d->id, a, strlen(a)) || dup_to(&d->question, b, strlen(b)) ||
                dup_to(&d->tests[0], c3, strlen(c3)) || dup_to(&d->entry_point, ep, strlen(ep))) {
                rc = oom(err);
                break;
            }
            d->n_tests = 1;
            break;
        }
        case TASK_LOADER_MBPP: {
            const json_t *tid = json_object_get(o, "task_id");
            const json_t *tl = json_object_get(o, "test_list");
            if (!json_is_integer(tid)) {
                rc = err_set_at(err, ASSAY_EINVAL, path, line, "missing field 'task_id'");
                break;
            }
            if (!json_is_array(tl) || json_array_size(tl) == 0) {
                rc = err_set_at(err, ASSAY_EINVAL, path, line,
                                "missing field 'test_list' (an array of strings)");
                break;
            }
            if ((rc = jstr(o, "text", path, line, &a, err)) ||
                (rc = jstr(o, "code", path, line, &b, err)))
                break;
            int64_t id = json_integer_value(tid);
            /* eval split: task_ids 11..510; pool: 1..10 (the paper's prompt tasks) */
            if (pool ? (id < 1 || id > 10) : (id < 11 || id > 510)) {
                out->n--;
                break;
            }
            int n = (int)json_array_size(tl);
            d->tests = mem_calloc_array((size_t)n, sizeof(char *));
            if (!d->tests || set_id_int(d, id) || dup_to(&d->question, a, strlen(a)) ||
                dup_to(&d->answer, b, strlen(b))) {
                rc = oom(err);
                break;
            }
            d->n_tests = n;
            for (int i = 0; i < n && !rc; i++) {
                const json_t *e = json_array_get(tl, (size_t)i);
                if (!json_is_string(e))
                    rc = err_set_at(err, ASSAY_EINVAL, path, line, "test_list[%d] is not a string",
                                    i);
                else if (dup_to(&d->tests[i], json_string_value(e), json_string_length(e)))
                    rc = oom(err);
            }
            break;
        }
        default:
            rc = err_set(err, ASSAY_EFAIL, "task '%s' has no JSONL loader", def->name);
        }
    }
    ds_jsonl_close(r);
    return rc < 0 ? rc : 0;
}

static int load_hellaswag(struct task_docs *out, const char *path, struct assay_error *err)
{
    struct ds_lines *r = NULL;
    const char *line;
    size_t len;
    int rc = ds_lines_open(&r, path, NULL, err);
    struct task_doc *d = NULL;
    int k = 0; /* line within the 6-line item */
    while (!rc && (rc = ds_lines_next(r, &line, &len, err)) == 1) {
        rc = 0;
        long ln = ds_lines_lineno(r);
        if (k == 0) {
            if (!(d = docs_push(out)) || set_id_int(d, out->n - 1) || set_choices(d, 4) ||
                dup_to(&d->question, line, len)) {
                rc = oom(err);
                break;
            }
            d->line = ln;
        } else if (k == 1) {
            if (len != 1 || line[0] < '0' || line[0] > '3') {
                rc = err_set_at(err, ASSAY_EINVAL, path, ln,
                                "expected the gold ending index 0-3, got '%.20s'", line);
                break;
            }
            d->gold = line[0] - '0';
        } else if (dup_to(&d->choices[k - 2], line, len)) {
            rc = oom(err);
            break;
        }
        k = (k + 1) % 6;
    }
    if (!rc && k != 0)
        rc = err_set_at(err, ASSAY_EINVAL, path, ds_lines_lineno(r),
                        "truncated item: %d of its 6 lines", k);
    ds_lines_close(r);
    return rc < 0 ? rc : 0;
}

static int load_piqa_labels(struct task_docs *docs, const char *path, struct assay_error *err)
{
    struct ds_lines *r = NULL;
    const char *line;
    size_t len;
    int64_t i = 0;
    int rc = ds_lines_open(&r, path, NULL, err);
    while (!rc && (rc = ds_lines_next(r, &line, &len, err)) == 1) {
        rc = 0;
        if (len != 1 || (line[0] != '0' && line[0] != '1')) {
            rc = err_set_at(err, ASSAY_EINVAL, path, ds_lines_lineno(r),
                            "expected a label 0 or 1, got '%.20s'", line);
            break;
        }
        if (i >= docs->n) {
            rc = err_set_at(err, ASSAY_EINVAL, path, ds_lines_lineno(r),
                            "more labels than questions (%lld)", (long long)docs->n);
            break;
        }
        docs->docs[i++].gold = line[0] - '0';
    }
    if (!rc && i != docs->n)
        rc = err_set_at(err, ASSAY_EINVAL, path, ds_lines_lineno(r),
                        "%lld labels for %lld questions", (long long)i, (long long)docs->n);
    ds_lines_close(r);
    return rc < 0 ? rc : 0;
}

static int load_truthfulqa(struct task_docs *out, const char *path, bool mc2,
                           struct assay_error *err)
{
    json_t *root = NULL;
    int rc = ds_json_load(&root, path, NULL, err);
    if (rc)
        return rc;
    if (!json_is_array(root)) {
        json_decref(root);
        return err_set_at(err, ASSAY_EINVAL, path, 1, "expected a JSON array of questions");
    }
    const char *key_name = mc2 ? "mc2_targets" : "mc1_targets";
    for (size_t i = 0; i < json_array_size(root) && !rc; i++) {
        const json_t *o = json_array_get(root, i);
        const char *q = NULL;
        const json_t *t = json_object_get(o, key_name);
        if (!json_is_object(o) || (rc = jstr(o, "question", path, 0, &q, err)))
            rc = rc ? rc : err_set_at(err, ASSAY_EINVAL, path, 0, "item %zu is not an object", i);
        else if (!json_is_object(t) || json_object_size(t) == 0)
            rc =
                err_set_at(err, ASSAY_EINVAL, path, 0, "item %zu: missing field '%s'", i, key_name);
        if (rc)
            break;
        struct task_doc *d = docs_push(out);
        int n = (int)json_object_size(t);
        if (!d || set_id_int(d, (int64_t)i) || set_choices(d, n) ||
            dup_to(&d->question, q, strlen(q)) || !(d->labels = mem_calloc_array((size_t)n, 1))) {
            rc = oom(err);
            break;
        }
        /* jansson keeps insertion order: the keys come back as written in the file */
        int k = 0, n_true = 0;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)t, key, v)
        {
            if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1)) {
                rc = err_set_at(err, ASSAY_EINVAL, path, 0, "item %zu: '%s' label must be 0 or 1",
                                i, key_name);
                break;
            }
            d->labels[k] = (int8_t)json_integer_value(v);
            n_true += d->labels[k];
            if (dup_to(&d->choices[k], key, strlen(key))) {
                rc = oom(err);
                break;
            }
            k++;
        }
        if (!rc && n_true == 0)
            rc = err_set_at(err, ASSAY_EINVAL, path, 0, "item %zu: '%s' has no true answer", i,
                            key_name);
        if (!rc && !mc2 && d->labels[0] != 1)
            rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                            "item %zu: the first mc1 answer is not the true one", i);
        d->gold = 0; /* MC1: the first key; MC2 uses the label mask */
        if (!mc2) {  /* MC1 needs no mask */
            free(d->labels);
            d->labels = NULL;
        }
    }
    json_decref(root);
    return rc;
}

/* mbpp/sanitized-mbpp.json: one JSON array of {task_id, prompt, code, test_imports,
 * test_list}; the eval split is task_ids 11..510. Messages name the array index (the file
 * is one line). */
static int load_mbpp_sanitized(struct task_docs *out, const char *path, struct assay_error *err)
{
    json_t *root = NULL;
    int rc = ds_json_load(&root, path, NULL, err);
    if (rc)
        return rc;
    if (!json_is_array(root)) {
        json_decref(root);
        return err_set_at(err, ASSAY_EINVAL, path, 1, "expected a JSON array of problems");
    }
    for (size_t i = 0; i < json_array_size(root) && !rc; i++) {
        const json_t *o = json_array_get(root, i);
        const json_t *tid = json_object_get(o, "task_id");
        const json_t *tl = json_object_get(o, "test_list");
        const json_t *ti = json_object_get(o, "test_imports");
        const char *a = NULL, *b = NULL;
        if (!json_is_object(o) || !json_is_integer(tid)) {
            rc = err_set_at(err, ASSAY_EINVAL, path, 1, "problem %zu: missing field 'task_id'", i);
            break;
        }
        if (!json_is_array(tl) || json_array_size(tl) == 0 || (ti && !json_is_array(ti))) {
            rc = err_set_at(err, ASSAY_EINVAL, path, 1,
                            "problem %zu: 'test_list' and 'test_imports' must be arrays of strings",
                            i);
            break;
        }
        if ((rc = jstr(o, "prompt", path, 1, &a, err)) || (rc = jstr(o, "code", path, 1, &b, err)))
            break;
        int64_t id = json_integer_value(tid);
        if (id < 11 || id > 510)
            continue;
        struct task_doc *d = docs_push(out);
        int n = (int)json_array_size(tl);
        if (!d || !(d->tests = mem_calloc_array((size_t)n, sizeof(char *))) || set_id_int(d, id) ||
            dup_to(&d->question, a, strlen(a)) || dup_to(&d->answer, b, strlen(b))) {
            rc = oom(err);
            break;
        }
        d->line = 1;
        d->n_tests = n;
        for (int k = 0; k < n && !rc; k++) {
            const json_t *e = json_array_get(tl, (size_t)k);
            if (!json_is_string(e))
                rc = err_set_at(err, ASSAY_EINVAL, path, 1,
                                "problem %zu: test_list[%d] is not a string", i, k);
            else if (dup_to(&d->tests[k], json_string_value(e), json_string_length(e)))
                rc = oom(err);
        }
        struct buf setup;
        buf_init(&setup, 0);
        for (size_t k = 0; !rc && ti && k < json_array_size(ti); k++) {
            const json_t *e = json_array_get(ti, k);
            if (!json_is_string(e))
                rc = err_set_at(err, ASSAY_EINVAL, path, 1,
                                "problem %zu: test_imports[%zu] is not a string", i, k);
            else if ((k && buf_add_ch(&setup, '\n')) || buf_add_str(&setup, json_string_value(e)))
                rc = oom(err);
        }
        if (!rc && setup.len && !(d->test_setup = buf_detach(&setup, NULL)))
            rc = oom(err);
        buf_release(&setup);
    }
    json_decref(root);
    return rc;
}

/* gsm8k_cot's pool: the 8 fixed exemplars, ids "cot_1".."cot_8". */
static int load_gsm8k_cot_pool(struct task_docs *out, struct assay_error *err)
{
    for (int i = 0; i < N_GSM8K_COT_SHOTS; i++) {
        struct task_doc *d = docs_push(out);
        char id[16];
        snprintf(id, sizeof(id), "cot_%d", i + 1);
        if (!d || dup_to(&d->id, id, strlen(id)) ||
            dup_to(&d->question, gsm8k_cot_shots[i][0], strlen(gsm8k_cot_shots[i][0])) ||
            dup_to(&d->answer, gsm8k_cot_shots[i][1], strlen(gsm8k_cot_shots[i][1])))
            return oom(err);
    }
    return 0;
}

static int resolve(char *path, size_t n, const struct task_def *def, const char *file,
                   const char *data_dir, struct assay_error *err)
{
    struct ds_opts o = {0};
    o.data_dir = data_dir;
    int rc = ds_resolve(path, n, def->dataset, file, &o, err);
    if (rc == ASSAY_ENOTFOUND) {
        char msg[ASSAY_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
        if (err)
            err_clear(err);
        return err_set(err, ASSAY_ENOTFOUND, "task '%s': dataset not available: %s", def->name,
                       msg);
    }
    return rc;
}

static int load_split(struct task_docs *out, const struct task_def *def, const char *file,
                      bool pool, const char *data_dir, struct assay_error *err)
{
    char path[1024];
    int rc = resolve(path, sizeof(path), def, file, data_dir, err);
    if (rc)
        return rc;
    switch (def->loader) {
    case TASK_LOADER_MMLU:
        rc = load_mmlu(out, path, err);
        break;
    case TASK_LOADER_HELLASWAG:
        rc = load_hellaswag(out, path, err);
        break;
    case TASK_LOADER_TRUTHFULQA_MC1:
    case TASK_LOADER_TRUTHFULQA_MC2:
        rc = load_truthfulqa(out, path, def->loader == TASK_LOADER_TRUTHFULQA_MC2, err);
        break;
    case TASK_LOADER_MBPP_SANITIZED:
        if (pool) { /* the full file's prompt tasks 1..10 */
            struct task_def full = *def;
            full.loader = TASK_LOADER_MBPP;
            rc = load_jsonl(out, path, &full, pool, err);
        } else {
            rc = load_mbpp_sanitized(out, path, err);
        }
        break;
    default:
        rc = load_jsonl(out, path, def, pool, err);
    }
    if (!rc && def->aux_path[0] && !pool) {
        char aux[1024];
        rc = resolve(aux, sizeof(aux), def, def->aux_path, data_dir, err);
        if (!rc)
            rc = load_piqa_labels(out, aux, err);
    }
    if (!rc && out->n == 0)
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "empty split: no %s documents",
                        pool ? def->fewshot_split : def->eval_split);
    return rc;
}

int task_load(struct task_data *out, const struct task_def *def, const char *data_dir,
              struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    out->def = *def;
    out->fmt = fmt_find(def->format_id);
    if (!out->fmt)
        return err_set(err, ASSAY_EFAIL, "task '%s': unknown format '%s'", def->name,
                       def->format_id);
    int rc = load_split(&out->eval, def, def->eval_path, false, data_dir, err);
    if (!rc && def->fewshot_path[0])
        rc = load_split(&out->pool, def, def->fewshot_path, true, data_dir, err);
    if (!rc && def->loader == TASK_LOADER_GSM8K_COT)
        rc = load_gsm8k_cot_pool(&out->pool, err);
    if (!rc && def->sampler == FEWSHOT_SAMPLER_FIXED)
        for (int i = 0; i < def->n_fixed_shots; i++)
            if (def->fixed_shots[i] >= out->pool.n)
                rc = err_set(err, ASSAY_EINVAL, "task '%s': few-shot pool has %lld rows", def->name,
                             (long long)out->pool.n);
    if (rc)
        task_data_release(out);
    return rc;
}

int task_effective_shots(const struct task_data *t, int shots)
{
    if (shots < 0)
        shots = t->def.default_shots;
    if (t->def.sampler == FEWSHOT_SAMPLER_NONE || t->pool.n == 0)
        return 0;
    if (t->def.sampler == FEWSHOT_SAMPLER_FIXED && shots > t->def.n_fixed_shots)
        shots = t->def.n_fixed_shots;
    if (shots > t->pool.n)
        shots = (int)t->pool.n;
    return shots;
}

/* ---- prompts ---------------------------------------------------------------------- */

void task_shots_init(struct task_shots *s, const struct task_data *t, int shots, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->shots = task_effective_shots(t, shots);
    fewshot_rng_seed(&s->rng, seed);
}

int task_shots_next(struct task_shots *s, const struct task_data *t, uint32_t *out,
                    struct assay_error *err)
{
    if (s->shots == 0)
        return 0;
    switch (t->def.sampler) {
    case FEWSHOT_SAMPLER_FIRST_N:
        for (int i = 0; i < s->shots; i++)
            out[i] = (uint32_t)i;
        return 0;
    case FEWSHOT_SAMPLER_FIXED:
        for (int i = 0; i < s->shots; i++)
            out[i] = (uint32_t)t->def.fixed_shots[i];
        return 0;
    case FEWSHOT_SAMPLER_RANDOM:
        return fewshot_sample(&s->rng, (uint32_t)t->pool.n, (uint32_t)s->shots, out, err);
    default:
        return 0;
    }
}

int task_render_context(const struct task_data *t, const struct task_doc *d, int choice,
                        const uint32_t *shot_ids, int n_shots, struct buf *out,
                        struct assay_error *err)
{
    const struct fmt *f = t->fmt;
    int rc = 0;
    if (f->chat && buf_add_str(out, FMT_CHAT_USER))
        return err_set(err, ASSAY_ELIMIT, "prompt too large");
    rc = fmt_render_description(f, t->def.subject, out, err);
    for (int i = 0; !rc && i < n_shots; i++) {
        if ((int64_t)shot_ids[i] >= t->pool.n)
            return err_set(err, ASSAY_EINVAL, "shot %u past the pool", shot_ids[i]);
        const struct task_doc *s = &t->pool.docs[shot_ids[i]];
        rc = fmt_render_query(f, s, s->gold >= 0 ? s->gold : 0, out, err);
        if (!rc && buf_add_str(out, f->target_delimiter))
            rc = err_set(err, ASSAY_ELIMIT, "prompt too large");
        if (!rc)
            rc = fmt_render_target(f, s, out, err);
        if (!rc && buf_add_str(out, f->fewshot_delimiter))
            rc = err_set(err, ASSAY_ELIMIT, "prompt too large");
    }
    if (!rc)
        rc = fmt_render_query_eval(f, d, choice, out, err);
    if (!rc && f->chat && buf_add_str(out, FMT_CHAT_MODEL))
        rc = err_set(err, ASSAY_ELIMIT, "prompt too large");
    return rc;
}

int task_render_continuation(const struct task_data *t, const struct task_doc *d, int i,
                             struct buf *out, struct assay_error *err)
{
    const struct fmt *f = t->fmt;
    if (buf_add_str(out, f->cont_delimiter ? f->cont_delimiter : f->target_delimiter))
        return err_set(err, ASSAY_ELIMIT, "prompt too large");
    return fmt_render_choice_eval(f, d, i, out, err);
}

int task_n_requests(const struct task_data *t, const struct task_doc *d)
{
    return t->def.output == TASK_OUTPUT_LOGLIKELIHOOD ? d->n_choices : 0;
}
