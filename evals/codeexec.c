/*
 * evals/codeexec.c - HumanEval and MBPP problems, their test programs, and pass@k.
 *
 * Reads the task's JSONL through datasets/ (which gunzips by content); knows the field
 * names of each task and nothing about how programs are run (evals/sandbox.c does).
 */
#include "evals/codeexec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "datasets/ds_read.h"

#define CODEEXEC_MAX_PROBLEMS 100000

int codeexec_task_parse(const char *name, enum codeexec_task *out, struct assay_error *err)
{
    if (name && strcmp(name, "humaneval") == 0) {
        *out = CODEEXEC_HUMANEVAL;
        return 0;
    }
    if (name && strcmp(name, "mbpp") == 0) {
        *out = CODEEXEC_MBPP;
        return 0;
    }
    return err_set(err, ASSAY_EUSAGE, "unknown code task '%s' (humaneval or mbpp)",
                   name ? name : "");
}

const char *codeexec_task_name(enum codeexec_task t)
{
    return t == CODEEXEC_MBPP ? "mbpp" : "humaneval";
}

const char *codeexec_task_dataset(enum codeexec_task t)
{
    return t == CODEEXEC_MBPP ? "mbpp" : "humaneval";
}

const char *codeexec_task_file(enum codeexec_task t)
{
    return t == CODEEXEC_MBPP ? "mbpp/mbpp.jsonl" : "humaneval/HumanEval.jsonl.gz";
}

static void problem_release(struct codeexec_problem *p)
{
    free(p->task_id);
    free(p->prompt);
    free(p->test);
    free(p->entry_point);
    free(p->reference);
}

void codeexec_problems_release(struct codeexec_problems *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        problem_release(&p->v[i]);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* A required string field, copied; errors name file:line and the field. */
static int take_str(char **out, json_t *obj, const char *key, const char *path, long line,
                    struct assay_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return err_set_at(err, ASSAY_EINVAL, path, line, "field '%s' %s", key,
                          v ? "is not a string" : "is missing");
    *out = mem_strndup(json_string_value(v), json_string_length(v));
    return *out ? 0 : err_set(err, ASSAY_ENOMEM, "out of memory");
}

static int load_humaneval(struct codeexec_problem *p, json_t *obj, const char *path, long line,
                          struct assay_error *err)
{
    int rc = take_str(&p->task_id, obj, "task_id", path, line, err);
    if (!rc)
        rc = take_str(&p->prompt, obj, "prompt", path, line, err);
    if (!rc)
        rc = take_str(&p->test, obj, "test", path, line, err);
    if (!rc)
        rc = take_str(&p->entry_point, obj, "entry_point", path, line, err);
    if (!rc)
        rc = take_str(&p->reference, obj, "canonical_solution", path, line, err);
    return rc;
}

static int load_mbpp(struct codeexec_problem *p, json_t *obj, const char *path, long line,
                     struct assay_error *err)
{
    json_t *id = json_object_get(obj, "task_id");
    if (!json_is_integer(id))
        return err_set_at(err, ASSAY_EINVAL, path, line, "field 'task_id' %s",
                          id ? "is not an integer" : "is missing");
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(id));
    p->task_id = mem_strdup(num);
    int rc = p->task_id ? 0 : err_set(err, ASSAY_ENOMEM, "out of memory");
    if (!rc)
        rc = take_str(&p->prompt, obj, "text", path, line, err);
    if (!rc)
        rc = take_str(&p->reference, obj, "code", path, line, err);
    if (rc)
        return rc;
    json_t *tl = json_object_get(obj, "test_list");
    if (!json_is_array(tl) || json_array_size(tl) == 0)
        return err_set_at(err, ASSAY_EINVAL, path, line, "field 'test_list' %s",
                          tl ? "is not a non-empty list" : "is missing");
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < json_array_size(tl); i++) {
        json_t *t = json_array_get(tl, i);
        if (!json_is_string(t)) {
            buf_release(&b);
            return err_set_at(err, ASSAY_EINVAL, path, line, "test_list[%zu] is not a string", i);
        }
        if ((i && buf_add_ch(&b, '\n')) ||
            buf_add(&b, json_string_value(t), json_string_length(t))) {
            buf_release(&b);
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        }
    }
    p->test = buf_detach(&b, NULL);
    return p->test ? 0 : err_set(err, ASSAY_ENOMEM, "out of memory");
}

int codeexec_load(struct codeexec_problems *out, enum codeexec_task t, const char *path,
                  struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    out->task = t;
    struct ds_jsonl *r = NULL;
    size_t cap = 0;
    int rc = ds_jsonl_open(&r, path, NULL, err);
    if (rc)
        return rc;
    for (;;) {
        json_t *obj = NULL;
        rc = ds_jsonl_next(r, &obj, err);
        if (rc <= 0)
            break;
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            if (ncap > CODEEXEC_MAX_PROBLEMS) {
                rc = err_set_at(err, ASSAY_ELIMIT, path, ds_jsonl_lineno(r),
                                "more than %d problems", CODEEXEC_MAX_PROBLEMS);
                break;
            }
            struct codeexec_problem *nv = mem_realloc_array(out->v, ncap, sizeof(*nv));
            if (!nv) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                break;
            }
            out->v = nv;
            cap = ncap;
        }
        struct codeexec_problem *p = &out->v[out->n];
        memset(p, 0, sizeof(*p));
        out->n++;
        long line = ds_jsonl_lineno(r);
        rc = t == CODEEXEC_MBPP ? load_mbpp(p, obj, path, line, err)
                                : load_humaneval(p, obj, path, line, err);
        if (rc)
            break;
    }
    ds_jsonl_close(r);
    if (rc < 0) {
        codeexec_problems_release(out);
        return rc;
    }
    if (out->n == 0)
        return err_set_at(err, ASSAY_EINVAL, path, 0, "no problems in the file");
    return 0;
}

const struct codeexec_problem *codeexec_find(const struct codeexec_problems *p, const char *task_id)
{
    if (!task_id)
        return NULL;
    if (p->task == CODEEXEC_MBPP) {
        if (strncmp(task_id, "Mbpp/", 5) == 0 || strncmp(task_id, "mbpp/", 5) == 0)
            task_id += 5;
    }
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].task_id, task_id) == 0)
            return &p->v[i];
    return NULL;
}

int codeexec_program(char **out, size_t *len_out, enum codeexec_task t,
                     const struct codeexec_problem *p, const char *completion,
                     struct assay_error *err)
{
    struct buf b;
    buf_init(&b, 0);
    int rc;
    if (t == CODEEXEC_HUMANEVAL) {
        if (!p->entry_point)
            return err_set(err, ASSAY_EINVAL, "problem '%s' has no entry point", p->task_id);
        rc = buf_add_str(&b, p->prompt);
        if (!rc)
            rc = buf_add_str(&b, completion);
        if (!rc)
            rc = buf_addf(&b, "\n%s\ncheck(%s)", p->test, p->entry_point);
    } else {
        rc = buf_add_str(&b, completion);
        if (!rc)
            rc = buf_addf(&b, "\n%s", p->test);
    }
    if (rc) {
        buf_release(&b);
        return err_set(err, rc, "program for '%s' does not fit in memory", p->task_id);
    }
    *out = buf_detach(&b, len_out);
    return *out ? 0 : err_set(err, ASSAY_ENOMEM, "out of memory");
}

double codeexec_pass_at_k(int64_t n, int64_t c, int64_t k)
{
    if (k < 1 || n < k || c < 0 || c > n)
        return NAN;
    if (n - c < k)
        return 1.0;
    /* 1 - C(n-c, k)/C(n, k) = 1 - prod_{i=n-c+1..n} (1 - k/i), no large binomials */
    double prod = 1.0;
    for (int64_t i = n - c + 1; i <= n; i++)
        prod *= 1.0 - (double)k / (double)i;
    return 1.0 - prod;
}

int codeexec_pass_at_k_mean(const int64_t *n, const int64_t *c, size_t n_problems, int64_t k,
                            double *mean, double *se, int64_t *n_used)
{
    *mean = NAN;
    *se = NAN;
    *n_used = 0;
    double sum = 0, sum2 = 0;
    int64_t m = 0;
    for (size_t i = 0; i < n_problems; i++) {
        if (n[i] == 0)
            continue;
        double v = codeexec_pass_at_k(n[i], c[i], k);
        if (isnan(v))
            return -1;
        sum += v;
        sum2 += v * v;
        m++;
    }
    if (m == 0)
        return -1;
    double mu = sum / (double)m;
    *mean = mu;
    if (m > 1) {
        double var = (sum2 - (double)m * mu * mu) / (double)(m - 1);
        *se = sqrt(var > 0 ? var : 0) / sqrt((double)m);
    }
    *n_used = m;
    return 0;
}
