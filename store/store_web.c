/*
 * store/store_web.c - read-only queries for `assay serve` (see store_web.h). Every
 * statement is prepared per call and runs in SQLite's autocommit mode, so each answer sees
 * the samples committed so far by a run writing the same database (WAL).
 * Does not: mask, escape or format text (web/ does), or write anything.
 */
#include "store/store_web.h"

#include <math.h>
#include <stdlib.h>

#include "base/mem.h"
#include "store/store_int.h"

#define SAMPLE_COLUMNS                                                                             \
    "id, task, item, format_id, prompt, target, output, score, correct, data_json, error,"         \
    " created_at, run_id"

/* The filter as a WHERE clause; parameters ?1..?5 and ?8 are bound by bind_filter (?6 and
 * ?7 are the page's limit and offset). */
#define FILTER_WHERE                                                                               \
    " FROM samples WHERE run_id = ?1 AND (?2 IS NULL OR task = ?2)"                                \
    " AND (?3 IS NULL OR format_id = ?3)"                                                          \
    " AND (?4 = -2 OR (?4 = -1 AND correct IS NULL) OR correct = ?4)"                              \
    " AND (?5 IS NULL OR instr(prompt, ?5) > 0 OR instr(target, ?5) > 0"                           \
    " OR instr(output, ?5) > 0) AND (?8 IS NULL OR item = ?8)"

static void bind_filter(sqlite3_stmt *st, const struct store_web_filter *f)
{
    sqlite3_bind_int64(st, 1, f->run_id);
    store_bind_text(st, 2, f->task);
    store_bind_text(st, 3, f->format_id);
    sqlite3_bind_int(st, 4, f->correct);
    store_bind_text(st, 5, f->query && f->query[0] ? f->query : NULL);
    store_bind_text(st, 8, f->item);
}

static void read_sample(sqlite3_stmt *st, struct store_sample_row *row)
{
    row->id = sqlite3_column_int64(st, 0);
    row->s.task = (const char *)sqlite3_column_text(st, 1);
    row->s.item = (const char *)sqlite3_column_text(st, 2);
    row->s.format_id = (const char *)sqlite3_column_text(st, 3);
    row->s.prompt = (const char *)sqlite3_column_text(st, 4);
    row->s.target = (const char *)sqlite3_column_text(st, 5);
    row->s.output = (const char *)sqlite3_column_text(st, 6);
    row->s.score = sqlite3_column_type(st, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 7);
    row->s.correct = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
    row->s.data_json = (const char *)sqlite3_column_text(st, 9);
    row->s.error = (const char *)sqlite3_column_text(st, 10);
    row->created_at = (const char *)sqlite3_column_text(st, 11);
}

int store_web_count_samples(struct store *s, const struct store_web_filter *f, int64_t *n_out,
                            struct assay_error *err)
{
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st, "SELECT count(*)" FILTER_WHERE, err);
    if (rc)
        return rc;
    bind_filter(st, f);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *n_out = sqlite3_column_int64(st, 0);
    else
        rc = store_db_error(s, err, step, "cannot count samples");
    sqlite3_finalize(st);
    return rc;
}

int store_web_each_sample(struct store *s, const struct store_web_filter *f, int64_t offset,
                          int64_t limit, store_sample_fn fn, void *user, struct assay_error *err)
{
    if (limit < 1)
        limit = 1;
    if (limit > STORE_WEB_MAX_LIMIT)
        limit = STORE_WEB_MAX_LIMIT;
    if (offset < 0)
        offset = 0;
    sqlite3_stmt *st = NULL;
    int rc =
        store_prepare(s, &st,
                      /* the page's ids first: skipping `offset` rows then reads only
                       * the index and the filter's columns, not every skipped text */
                      "SELECT " SAMPLE_COLUMNS " FROM samples WHERE id IN (SELECT id" FILTER_WHERE
                      " ORDER BY id LIMIT ?6 OFFSET ?7) ORDER BY id",
                      err);
    if (rc)
        return rc;
    bind_filter(st, f);
    sqlite3_bind_int64(st, 6, limit);
    sqlite3_bind_int64(st, 7, offset);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_sample_row row;
        read_sample(st, &row);
        rc = fn(user, &row);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot read samples");
    sqlite3_finalize(st);
    return rc;
}

int store_web_get_sample(struct store *s, int64_t sample_id, int64_t *run_id_out,
                         store_sample_fn fn, void *user, struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st, "SELECT " SAMPLE_COLUMNS " FROM samples WHERE id = ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, sample_id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        struct store_sample_row row;
        read_sample(st, &row);
        if (run_id_out)
            *run_id_out = sqlite3_column_int64(st, 12);
        rc = fn ? fn(user, &row) : 0;
    } else if (step == SQLITE_DONE) {
        rc = err_set_at(err, ASSAY_ENOTFOUND, s->path, 0, "no sample with id %lld",
                        (long long)sample_id);
    } else {
        rc = store_db_error(s, err, step, "cannot read sample");
    }
    sqlite3_finalize(st);
    return rc;
}

static int fill_task(sqlite3_stmt *st, void *elem, struct assay_error *err)
{
    struct store_web_task *t = elem;
    t->task = store_col_text(st, 0);
    t->n = sqlite3_column_int64(st, 1);
    t->n_correct = sqlite3_column_int64(st, 2);
    t->n_incorrect = sqlite3_column_int64(st, 3);
    t->mean_score = sqlite3_column_type(st, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 4);
    return 0;
}

int store_web_list_tasks(struct store *s, int64_t run_id, struct store_web_task **out,
                         int64_t *n_out, struct assay_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "SELECT task, count(*), sum(correct = 1), sum(correct = 0), avg(score)"
                           " FROM samples WHERE run_id = ?1 GROUP BY task ORDER BY task",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    struct store_web_task *v = NULL;
    int64_t n = 0;
    rc = store_collect(s, st, sizeof(*v), fill_task, (void **)&v, &n, "cannot count tasks", err);
    if (rc) {
        store_web_tasks_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

void store_web_tasks_free(struct store_web_task *t, int64_t n)
{
    for (int64_t i = 0; t && i < n; i++)
        free(t[i].task);
    free(t);
}

static int fill_format(sqlite3_stmt *st, void *elem, struct assay_error *err)
{
    char *f = store_col_text(st, 0);
    *(char **)elem = f ? f : mem_strdup("");
    if (!*(char **)elem)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

int store_web_list_formats(struct store *s, int64_t run_id, char ***out, int64_t *n_out,
                           struct assay_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(
        s, &st, "SELECT DISTINCT format_id FROM samples WHERE run_id = ?1 ORDER BY format_id", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    char **v = NULL;
    int64_t n = 0;
    rc = store_collect(s, st, sizeof(*v), fill_format, (void **)&v, &n, "cannot list formats", err);
    if (rc) {
        store_web_strings_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

void store_web_strings_free(char **v, int64_t n)
{
    for (int64_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int store_web_each_pair(struct store *s, int64_t run_a, int64_t run_b, store_web_pair_fn fn,
                        void *user, struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "SELECT a.task, a.item, a.format_id, a.id, b.id, a.score, b.score,"
                           " a.correct, b.correct FROM samples a JOIN samples b"
                           " ON b.run_id = ?2 AND b.task = a.task AND b.item = a.item"
                           " AND b.format_id = a.format_id"
                           " WHERE a.run_id = ?1 ORDER BY a.task, a.item, a.format_id",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_a);
    sqlite3_bind_int64(st, 2, run_b);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_web_pair p;
        p.task = (const char *)sqlite3_column_text(st, 0);
        p.item = (const char *)sqlite3_column_text(st, 1);
        p.format_id = (const char *)sqlite3_column_text(st, 2);
        p.id_a = sqlite3_column_int64(st, 3);
        p.id_b = sqlite3_column_int64(st, 4);
        p.score_a = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
        p.score_b = sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 6);
        p.correct_a = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
        p.correct_b = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
        rc = fn(user, &p);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot pair samples");
    sqlite3_finalize(st);
    return rc;
}

static int fill_pii_count(sqlite3_stmt *st, void *elem, struct assay_error *err)
{
    struct store_web_pii_count *c = elem;
    c->type = store_col_text(st, 0);
    c->severity = store_col_text(st, 1);
    c->n = sqlite3_column_int64(st, 2);
    c->n_validated = sqlite3_column_int64(st, 3);
    c->n_samples = sqlite3_column_int64(st, 4);
    return 0;
}

int store_web_pii_counts(struct store *s, int64_t run_id, struct store_web_pii_count **out,
                         int64_t *n_out, struct assay_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "SELECT type, severity, count(*), sum(validated != 0),"
                           " count(DISTINCT sample_id) FROM pii_findings WHERE run_id = ?1"
                           " GROUP BY type, severity ORDER BY count(*) DESC, type",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    struct store_web_pii_count *v = NULL;
    int64_t n = 0;
    rc = store_collect(s, st, sizeof(*v), fill_pii_count, (void **)&v, &n,
                       "cannot count pii findings", err);
    if (rc) {
        store_web_pii_counts_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

void store_web_pii_counts_free(struct store_web_pii_count *c, int64_t n)
{
    for (int64_t i = 0; c && i < n; i++) {
        free(c[i].type);
        free(c[i].severity);
    }
    free(c);
}
