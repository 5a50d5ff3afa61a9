/*
 * evals/task.h - the benchmark tasks as data: one row per task (lm-eval's names and
 * groups), the documents read from a dataset mirror, and the exact text the model sees.
 *
 * A task row names its dataset files (relative to the data directory), its output type
 * (log-likelihood multiple choice or generate_until), default shots and few-shot
 * sampler, metrics and default format (evals/fmt.h). MMLU is 57 rows `mmlu_<subject>`
 * grouped into mmlu_stem / mmlu_humanities / mmlu_social_sciences / mmlu_other (lm-eval's
 * subject -> category map) and the group `mmlu`.
 *
 * task_load reads and validates every file a task will use, before any model call: a
 * missing field, a bad quote, an unknown answer letter or an empty split is ASSAY_EINVAL
 * with file:line; a missing file is ASSAY_ENOTFOUND ("dataset not available").
 *
 * Ownership: struct task_data is filled by task_load and freed by task_data_release;
 * every string in it is owned by it. Task rows are static and borrowed.
 */
#ifndef ASSAY_EVALS_TASK_H
#define ASSAY_EVALS_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "evals/fewshot.h"

struct fmt;

enum task_output {
    TASK_OUTPUT_LOGLIKELIHOOD = 0, /* multiple choice: one request per choice */
    TASK_OUTPUT_GENERATE = 1,      /* generate_until */
};

enum task_loader {
    TASK_LOADER_MMLU = 0,
    TASK_LOADER_GSM8K,
    TASK_LOADER_HELLASWAG,
    TASK_LOADER_ARC,
    TASK_LOADER_WINOGRANDE,
    TASK_LOADER_PIQA,
    TASK_LOADER_BOOLQ,
    TASK_LOADER_TRUTHFULQA_MC1,
    TASK_LOADER_TRUTHFULQA_MC2,
    TASK_LOADER_HUMANEVAL,
    TASK_LOADER_MBPP,
    TASK_LOADER_GSM8K_COT,      /* gsm8k/test.jsonl; the pool is the 8 fixed Wei et al. shots */
    TASK_LOADER_MBPP_SANITIZED, /* mbpp/sanitized-mbpp.json; the pool is mbpp.jsonl's 1..10 */
};

enum task_scoring {
    TASK_SCORING_MC = 0,    /* acc (and acc_norm where listed) */
    TASK_SCORING_MC2,       /* TruthfulQA MC2 */
    TASK_SCORING_GSM8K,     /* exact_match strict-match / flexible-extract */
    TASK_SCORING_CODE,      /* pass@1 through the sandbox */
    TASK_SCORING_GSM8K_COT, /* as GSM8K, strict-match on "The answer is N." */
};

#define TASK_MAX_UNTIL 8

struct task_def {
    char name[64];          /* "mmlu_anatomy", "gsm8k" */
    char group[48];         /* "mmlu_stem", or "" */
    char dataset[32];       /* "mmlu" */
    char eval_path[160];    /* relative to the data dir */
    char fewshot_path[160]; /* "" if the task has no few-shot pool in the mirror */
    char aux_path[160];     /* PIQA's label file, or "" */
    char subject[64];       /* MMLU subject with spaces ("abstract algebra"), or "" */
    char eval_split[32];    /* "test", "validation", ... (for listings) */
    char fewshot_split[32];
    enum task_loader loader;
    enum task_output output;
    enum task_scoring scoring;
    int default_shots;
    enum fewshot_sampler sampler;
    const char *metrics;   /* ';'-separated metric names, as stored */
    const char *format_id; /* default format */
    int n_until;
    const char *until[TASK_MAX_UNTIL];
    int32_t max_gen_toks;
    int n_fixed_shots; /* FEWSHOT_SAMPLER_FIXED: pool row ids, in order */
    int fixed_shots[4];
    const char *note; /* where assay knowingly differs from lm-eval, or NULL */
};

/* Number of leaf tasks and row i (0 <= i < task_count()). */
int task_count(void);
void task_at(int i, struct task_def *out);
/* Row by name; ASSAY_ENOTFOUND with a message for an unknown name. */
int task_find(const char *name, struct task_def *out, struct assay_error *err);

/* Groups: "mmlu", "mmlu_stem", ... Expand a comma-separated list of task and group names
 * into leaf task names (deduplicated, in table order within a group, list order across
 * names). *names_out is an array of *n_out malloc'd names; free with task_names_free. */
int task_expand(const char *list, char ***names_out, int *n_out, struct assay_error *err);
void task_names_free(char **names, int n);
/* The groups a leaf task belongs to (outermost last): "mmlu_stem", "mmlu"; returns the
 * count (0..2) and fills out[] with borrowed names. */
int task_groups_of(const struct task_def *t, const char *out[2]);
/* Group names known (for listings): NULL-terminated. */
extern const char *const task_group_names[];

/* ---- documents ---------------------------------------------------------------------- */

struct task_doc {
    char *id;       /* stored item id: "12", "HumanEval/0", "11" */
    long line;      /* source line (1-based) for messages */
    char *passage;  /* BoolQ passage, or NULL */
    char *question; /* the question / context / code prompt */
    char **choices; /* MC choice texts; Winogrande: the context options */
    int n_choices;
    char *continuation; /* Winogrande partial scoring: the shared continuation */
    int gold;           /* MC gold index, -1 for generation tasks */
    int8_t *labels;     /* MC2: 1 for a true answer, per choice; NULL otherwise */
    char *answer;       /* generation target: GSM8K answer, MBPP code; NULL otherwise */
    char **tests;       /* MBPP test_list, or HumanEval [test]; NULL otherwise */
    int n_tests;
    char *entry_point; /* HumanEval */
    char *test_setup;  /* MBPP sanitized: its test_imports lines, run before the tests; or NULL */
};

struct task_docs {
    struct task_doc *docs;
    int64_t n;
    int64_t cap;
};

struct task_data {
    struct task_def def;
    const struct fmt *fmt;
    struct task_docs eval;
    struct task_docs pool; /* few-shot pool; n = 0 when the task has none */
};

/* Read and validate the task's files under data_dir. */
int task_load(struct task_data *out, const struct task_def *def, const char *data_dir,
              struct assay_error *err);
void task_data_release(struct task_data *t);
void task_docs_release(struct task_docs *d);

/* The shots the task really uses when asked for `shots` (-1: the default): 0 when it has
 * no pool, at most the fixed list or the pool size otherwise. */
int task_effective_shots(const struct task_data *t, int shots);

/* ---- prompts ------------------------------------------------------------------------ */

/* Few-shot selection state of one task, in document order (lm-eval seeds one generator
 * per task and keeps it running across documents). */
struct task_shots {
    struct fewshot_rng rng;
    int shots;
};
void task_shots_init(struct task_shots *s, const struct task_data *t, int shots, uint64_t seed);
/* The pool rows of the shots for the next document (call once per eval document, in
 * order, whether or not the document is then skipped): out[shots]. */
int task_shots_next(struct task_shots *s, const struct task_data *t, uint32_t *out,
                    struct assay_error *err);

/* The full prompt for document d with the given shots (pool row ids): description +
 * shots + query. For Winogrande the query is choice `choice`'s context; other tasks
 * ignore `choice`. */
int task_render_context(const struct task_data *t, const struct task_doc *d, int choice,
                        const uint32_t *shot_ids, int n_shots, struct buf *out,
                        struct assay_error *err);
/* The continuation scored for choice i: target_delimiter + choice (Winogrande: the
 * shared continuation). */
int task_render_continuation(const struct task_data *t, const struct task_doc *d, int i,
                             struct buf *out, struct assay_error *err);
/* Number of log-likelihood requests for d (n_choices), 0 for generation. */
int task_n_requests(const struct task_data *t, const struct task_doc *d);

#endif
