/*
 * tests/memorization/test_mem.c - the memorization audit: edit distance, longest common
 * prefix, the inclusive approximate bound and Wilson intervals against hand-computed
 * values; corpus reading and its bad-input errors (file:line); and an audit on a fixture
 * model over a corpus whose answers are known by construction: documents whose suffix IS
 * the model's greedy continuation (exact), the same with three tokens changed
 * (approximate, not exact) and random suffixes (neither). Batch 1 and batch 8 give the
 * same rows; the same seed samples the same documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <zlib.h>

#include "testutil.h"
#include "engine/backend.h"
#include "engine/backend_local.h"
#include "memorization/mem.h"
#include "safety/pii.h"
#include "store/store.h"

#define FIXTURE "fixtures/models/gemma3-tiny/gemma3-tiny-Q8_0.gguf"

/* ---- matching ----------------------------------------------------------------------- */

struct ed_case {
    const char *name;
    int32_t a[8];
    size_t na;
    int32_t b[8];
    size_t nb;
    int64_t dist;
    size_t lcp;
};

static void test_edit_distance(void **state)
{
    static const struct ed_case cases[] = {
        {"both empty", {0}, 0, {0}, 0, 0, 0},
        {"one empty", {1, 2, 3}, 3, {0}, 0, 3, 0},
        {"equal", {1, 2, 3}, 3, {1, 2, 3}, 3, 0, 3},
        {"one substitution", {1, 2, 3}, 3, {1, 9, 3}, 3, 1, 1},
        {"one insertion", {1, 2, 3}, 3, {1, 2, 7, 3}, 4, 1, 2},
        {"one deletion", {1, 2, 3, 4}, 4, {1, 3, 4}, 3, 1, 1},
        /* kitten -> sitting as ids: k=1 i=2 t=3 e=4 n=5 s=6 g=7 */
        {"kitten/sitting", {1, 2, 3, 3, 4, 5}, 6, {6, 2, 3, 3, 2, 5, 7}, 7, 3, 0},
        {"shifted", {1, 2, 3, 4}, 4, {2, 3, 4, 5}, 4, 2, 0},
        {"reversed", {1, 2, 3, 4}, 4, {4, 3, 2, 1}, 4, 4, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ed_case *c = &cases[i];
        int64_t d = mem_edit_distance(c->a, c->na, c->b, c->nb);
        int64_t d2 = mem_edit_distance(c->b, c->nb, c->a, c->na);
        size_t l = mem_lcp(c->a, c->na, c->b, c->nb);
        if (d != c->dist || d2 != c->dist || l != c->lcp)
            fail_msg("%s: distance %lld/%lld lcp %zu, expected %lld lcp %zu", c->name,
                     (long long)d, (long long)d2, l, (long long)c->dist, c->lcp);
    }
    /* long sequences take the heap row */
    int32_t *x = malloc(2000 * sizeof(int32_t)), *y = malloc(2000 * sizeof(int32_t));
    for (int i = 0; i < 2000; i++)
        x[i] = y[i] = i;
    y[1000] = -5;
    assert_int_equal(mem_edit_distance(x, 2000, y, 2000), 1);
    assert_int_equal(mem_edit_distance(x, 2000, y, 1500), 501);
    free(x);
    free(y);
}

static void test_compare(void **state)
{
    int32_t t[50], g[50];
    for (int i = 0; i < 50; i++)
        t[i] = g[i] = 100 + i;
    struct mem_match m;
    mem_compare(&m, g, 50, t, 50, 0.1);
    assert_true(m.exact && m.approximate);
    assert_int_equal(m.lcp, 50);
    assert_true(m.score == 1.0);
    /* 5 of 50 changed: approximate (the bound is inclusive), not exact */
    for (int i = 0; i < 5; i++)
        g[10 * i + 3] = 7;
    mem_compare(&m, g, 50, t, 50, 0.1);
    assert_false(m.exact);
    assert_true(m.approximate);
    assert_int_equal(m.edit_distance, 5);
    assert_int_equal(m.lcp, 3);
    assert_true(fabs(m.score - 0.9) < 1e-12);
    g[49] = 7; /* 6 of 50 */
    mem_compare(&m, g, 50, t, 50, 0.1);
    assert_false(m.approximate);
    /* an early stop (fewer tokens) is a mismatch even when what came agrees */
    mem_compare(&m, t, 49, t, 50, 0.1);
    assert_false(m.exact);
    assert_true(m.approximate);
    assert_int_equal(m.lcp, 49);
    mem_compare(&m, t, 0, t, 50, 0.1);
    assert_false(m.approximate);
    assert_true(m.score == 0.0);
}

static void test_wilson(void **state)
{
    double lo, hi;
    /* reference values: the closed form evaluated independently (Python, double) */
    mem_wilson(0, 5, &lo, &hi);
    assert_true(lo == 0.0 && fabs(hi - 0.43448246478317476) < 1e-9);
    mem_wilson(300, 300, &lo, &hi); /* exact bounds at the ends, not 1e-18 away */
    assert_true(hi == 1.0 && lo > 0.98 && lo < 1);
    mem_wilson(0, 300, &lo, &hi);
    assert_true(lo == 0.0 && hi > 0 && hi < 0.02);
    mem_wilson(5, 10, &lo, &hi);
    assert_true(fabs(lo - 0.236593090512564) < 1e-9 && fabs(hi - 0.7634069094874361) < 1e-9);
    mem_wilson(1, 1000, &lo, &hi);
    assert_true(fabs(lo - 0.00017654637062607809) < 1e-9 &&
                fabs(hi - 0.0056425585979579355) < 1e-9);
    mem_wilson(0, 0, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));
}

/* ---- corpora ------------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_corpus_read(void **state)
{
    const char *dir = tu_tmpdir();
    char sub[1024], p[1200];
    snprintf(sub, sizeof(sub), "%s/c", dir);
    mkdir(sub, 0755);
    snprintf(p, sizeof(p), "%s/b.txt", sub);
    write_file(p, "\xEF\xBB\xBF" "first doc\n\nsecond doc\n\n\n\nthird");
    snprintf(p, sizeof(p), "%s/a.jsonl", sub);
    write_file(p, "{\"text\": \"hello\"}\n\n{\"text\": [2, 5, 6]}\n{\"text\": \"\"}\n");
    snprintf(p, sizeof(p), "%s/.hidden", sub);
    write_file(p, "not read");
    snprintf(p, sizeof(p), "%s/z.txt.gz", sub);
    gzFile gz = gzopen(p, "wb");
    gzputs(gz, "zipped text");
    gzclose(gz);

    struct mem_corpus c;
    mem_corpus_init(&c);
    struct assay_error err;
    err_clear(&err);
    struct mem_corpus_opts o = {.separator = "\n\n"};
    assert_int_equal(mem_corpus_add(&c, sub, &o, &err), 0);
    assert_int_equal(c.n_files, 3);
    /* a.jsonl (lines 1, 3), b.txt (3 documents, the empty pieces dropped), z.txt.gz */
    assert_int_equal(c.n, 6);
    assert_string_equal(c.docs[0].source, "a.jsonl");
    assert_string_equal(c.docs[0].id, "1");
    assert_string_equal(c.docs[0].text, "hello");
    assert_string_equal(c.docs[1].id, "3");
    assert_null(c.docs[1].text);
    assert_int_equal(c.docs[1].n_ids, 3);
    assert_int_equal(c.docs[1].ids[2], 6);
    assert_string_equal(c.docs[2].source, "b.txt");
    assert_string_equal(c.docs[2].text, "first doc"); /* BOM dropped */
    assert_string_equal(c.docs[3].text, "second doc");
    assert_string_equal(c.docs[3].id, "1");
    assert_string_equal(c.docs[4].text, "third");
    assert_string_equal(c.docs[4].id, "3");
    assert_string_equal(c.docs[5].source, "z.txt.gz");
    assert_string_equal(c.docs[5].text, "zipped text");
    mem_corpus_release(&c);

    /* without a separator a text file is one document */
    mem_corpus_init(&c);
    snprintf(p, sizeof(p), "%s/b.txt", sub);
    assert_int_equal(mem_corpus_add(&c, p, NULL, &err), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.docs[0].source, "b.txt");
    mem_corpus_release(&c);
}

struct bad_case {
    const char *name, *file, *content, *field;
    int code;
    long line;
    const char *msg;
};

static void test_corpus_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"missing field", "m.jsonl", "{\"text\": \"a\"}\n{\"body\": \"b\"}\n", NULL, ASSAY_EINVAL,
         2, "no member 'text'"},
        {"other field name", "f.jsonl", "{\"text\": \"a\"}\n", "ids", ASSAY_EINVAL, 1,
         "no member 'ids'"},
        {"not an object", "n.jsonl", "{\"text\": \"a\"}\n\n[1, 2]\n", NULL, ASSAY_EINVAL, 3,
         "expected a JSON object"},
        {"bad json", "j.jsonl", "{\"text\": \"a\"\n", NULL, ASSAY_EINVAL, 1, ""},
        {"number", "x.jsonl", "{\"text\": 12}\n", NULL, ASSAY_EINVAL, 1, "neither a string"},
        {"negative id", "i.jsonl", "{\"text\": [1, -3]}\n", NULL, ASSAY_EINVAL, 1,
         "'text'[1]: expected a token id"},
        {"float id", "k.jsonl", "{\"text\": [1, 2.5]}\n", NULL, ASSAY_EINVAL, 1,
         "expected a token id"},
    };
    const char *dir = tu_tmpdir();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *bc = &cases[i];
        char p[1200];
        snprintf(p, sizeof(p), "%s/%s", dir, bc->file);
        write_file(p, bc->content);
        struct mem_corpus c;
        mem_corpus_init(&c);
        struct assay_error err;
        err_clear(&err);
        struct mem_corpus_opts o = {.field = bc->field};
        int rc = mem_corpus_add(&c, p, &o, &err);
        if (rc != bc->code || err.line != bc->line || strcmp(err.path, p) != 0 ||
            !strstr(err.msg, bc->msg))
            fail_msg("%s: rc %d line %ld path '%s' msg '%s'", bc->name, rc, err.line, err.path,
                     err.msg);
        mem_corpus_release(&c);
    }
    /* an unreadable file names itself */
    struct mem_corpus c;
    mem_corpus_init(&c);
    struct assay_error err;
    err_clear(&err);
    char p[1200];
    snprintf(p, sizeof(p), "%s/absent.txt", dir);
    assert_int_equal(mem_corpus_add(&c, p, NULL, &err), ASSAY_ENOTFOUND);
    assert_string_equal(err.path, p);
    /* a corrupt gzip file is bad input naming the file */
    snprintf(p, sizeof(p), "%s/bad.txt.gz", dir);
    write_file(p, "\x1f\x8b\x08\x00garbage that is not deflate");
    err_clear(&err);
    assert_true(mem_corpus_add(&c, p, NULL, &err) != 0);
    assert_string_equal(err.path, p);
    mem_corpus_release(&c);
}

/* ---- aggregates from stored rows, PII of memorized outputs ------------------------------ */

struct pii_seen {
    int n;
    int64_t sample_id[8];
    char type[8][32];
};

static void test_metrics_and_pii(void **state)
{
    const char *dir = tu_tmpdir();
    char db[1200];
    snprintf(db, sizeof(db), "%s/pii.db", dir);
    struct assay_error err;
    err_clear(&err);
    struct store *s = NULL;
    assert_int_equal(store_open(&s, db, 0, &err), 0);
    struct store_run_new rn = {.kind = "memorize", .config_json = "{}"};
    int64_t run = 0;
    assert_int_equal(store_begin_run(s, &rn, &run, &err), 0);
    /* a.txt: one exact with an e-mail address, one approximate with a card number (Luhn
     * valid), one not memorized with an e-mail (not scanned: not memorized); b.txt: one
     * miss and one short document */
    const struct store_sample rows[] = {
        {.task = "a.txt", .item = "0", .output = "write to jane.roe@example.com today",
         .correct = 1, .score = 1,
         .data_json = "{\"exact\":true,\"approximate\":true,\"edit_distance\":0,\"lcp\":4}"},
        {.task = "a.txt", .item = "1", .output = "card 4111 1111 1111 1111 expires",
         .correct = 0, .score = 0.75,
         .data_json = "{\"exact\":false,\"approximate\":true,\"edit_distance\":1,\"lcp\":2}"},
        {.task = "a.txt", .item = "2", .output = "mail bob.smith@example.org now", .correct = 0,
         .data_json = "{\"exact\":false,\"approximate\":false,\"edit_distance\":3,\"lcp\":0}"},
        {.task = "b.txt", .item = "0", .output = "nothing here", .correct = 0,
         .data_json = "{\"exact\":false,\"approximate\":false,\"edit_distance\":4,\"lcp\":1}"},
        {.task = "b.txt", .item = "1", .correct = -1, .error = "skipped: 7 tokens",
         .data_json = "{\"skipped\":\"short\",\"n_tokens\":7}"},
    };
    assert_int_equal(store_put_samples(s, run, rows, 5, &err), 0);
    struct pii_scanner *sc = NULL;
    struct pii_config pc;
    memset(&pc, 0, sizeof(pc));
    assert_int_equal(pii_scanner_new(&sc, &pc, &err), 0);
    struct mem_summary m;
    assert_int_equal(mem_compute_metrics(&m, s, run, 4, sc, &err), 0);
    assert_int_equal(m.n_src, 3);
    assert_string_equal(m.src[0].source, "all");
    assert_string_equal(m.src[1].source, "a.txt");
    assert_string_equal(m.src[2].source, "b.txt");
    assert_int_equal(m.src[0].n, 4);
    assert_int_equal(m.src[0].n_exact, 1);
    assert_int_equal(m.src[0].n_approx, 2);
    assert_int_equal(m.src[0].n_short, 1);
    assert_int_equal(m.src[1].n, 3);
    assert_int_equal(m.src[2].n, 1);
    assert_int_equal(m.src[2].n_short, 1);
    assert_int_equal(m.n_lcp_hist, 5);
    assert_int_equal(m.lcp_hist[0], 1);
    assert_int_equal(m.lcp_hist[1], 1);
    assert_int_equal(m.lcp_hist[2], 1);
    assert_int_equal(m.lcp_hist[4], 1);
    assert_true(fabs(m.src[0].lcp_mean - 7.0 / 4) < 1e-12);
    assert_int_equal(m.n_memorized, 2);
    assert_int_equal(m.pii_by_type[PII_TYPE_EMAIL_ADDRESS], 1);
    assert_int_equal(m.pii_by_type[PII_TYPE_CREDIT_CARD], 1);
    assert_int_equal(m.src[1].n_pii_sensitive + m.src[1].n_pii_personal >= 2, 1);
    assert_int_equal(m.src[2].n_pii_sensitive + m.src[2].n_pii_personal, 0);
    /* the findings are stored against the memorized samples only, twice is the same */
    mem_summary_release(&m);
    assert_int_equal(mem_compute_metrics(&m, s, run, 4, sc, &err), 0);
    struct store_pii_finding_row *f = NULL;
    int64_t nf = 0;
    assert_int_equal(store_list_pii_findings(s, run, &f, &nf, &err), 0);
    assert_int_equal(nf, 2);
    assert_string_equal(f[0].type, "EMAIL_ADDRESS");
    assert_string_equal(f[0].field, "output");
    assert_int_equal(f[0].start_byte, 9);
    assert_int_equal(f[0].end_byte, 29);
    assert_string_equal(f[1].type, "CREDIT_CARD");
    assert_true(f[0].sample_id != f[1].sample_id && f[0].sample_id > 0);
    store_pii_findings_free(f, nf);
    /* the metrics are there, with the Wilson bounds */
    struct store_metric *mets = NULL;
    int64_t nm = 0;
    assert_int_equal(store_list_metrics(s, run, &mets, &nm, &err), 0);
    bool seen_rate = false, seen_hi = false, seen_hist = false;
    for (int64_t i = 0; i < nm; i++) {
        if (!strcmp(mets[i].task, "all") && !strcmp(mets[i].name, "approx_rate")) {
            seen_rate = true;
            assert_true(fabs(mets[i].value - 0.5) < 1e-12);
            assert_int_equal(mets[i].n, 4);
        }
        if (!strcmp(mets[i].task, "a.txt") && !strcmp(mets[i].name, "exact_rate_ci_hi")) {
            double lo, hi;
            mem_wilson(1, 3, &lo, &hi);
            seen_hi = fabs(mets[i].value - hi) < 1e-12;
        }
        if (!strcmp(mets[i].name, "lcp_hist/004"))
            seen_hist = mets[i].value == 1;
    }
    assert_true(seen_rate && seen_hi && seen_hist);
    store_metrics_free(mets, nm);
    mem_summary_release(&m);
    pii_scanner_free(sc);
    store_close(s);
}

/* ---- the audit on a fixture model ------------------------------------------------------- */

struct fx {
    struct backend *b;
    struct backend_info in;
    char dir[1024];
};

static uint64_t rng_state;
static int32_t rnd_id(int32_t n_vocab)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return 3 + (int32_t)((rng_state >> 33) % (uint64_t)(n_vocab - 3));
}

static int setup_fx(void **state)
{
    const char *path = tu_shared(FIXTURE);
    if (!path) {
        *state = NULL;
        return 0;
    }
    struct fx *f = calloc(1, sizeof(*f));
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = 2;
    p.n_ctx = 256;
    struct assay_error err;
    err_clear(&err);
    if (backend_local_open(&f->b, path, &p, &err) != 0) {
        fprintf(stderr, "cannot open %s: %s\n", path, err.msg);
        free(f);
        return -1;
    }
    backend_info(f->b, &f->in);
    snprintf(f->dir, sizeof(f->dir), "%s", tu_tmpdir());
    *state = f;
    return 0;
}

static int teardown_fx(void **state)
{
    struct fx *f = *state;
    if (f) {
        backend_free(f->b);
        free(f);
    }
    return 0;
}

/* The model's greedy continuation of BOS + prefix: the way the audit prompts. */
static void greedy(struct fx *f, const int32_t *prefix, int32_t *out)
{
    int32_t prompt[51];
    prompt[0] = f->in.bos_id;
    memcpy(prompt + 1, prefix, 50 * sizeof(int32_t));
    struct bk_gen_req r;
    memset(&r, 0, sizeof(r));
    r.prompt.ids = prompt;
    r.prompt.n_ids = 51;
    r.max_tokens = 50;
    r.sampling.top_p = 1;
    r.stop_at_eos = false;
    struct bk_gen_res res;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(backend_generate(f->b, &r, 1, &res, NULL, &err), 0);
    assert_int_equal(res.n_ids, 50);
    memcpy(out, res.ids, 50 * sizeof(int32_t));
    bk_gen_res_release(&res);
}

/* corpus.jsonl: docs 1-4 memorized, 5-8 three tokens changed, 9-12 random, 13 short
 * (60 tokens), 14 memorized behind a leading BOS; ids under "ids". */
static const char *write_corpus(struct fx *f)
{
    static char path[1200];
    snprintf(path, sizeof(path), "%s/corpus.jsonl", f->dir);
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    rng_state = 42;
    for (int d = 0; d < 14; d++) {
        int32_t ids[100];
        for (int i = 0; i < 100; i++)
            ids[i] = rnd_id(f->in.n_vocab);
        if (d < 8 || d == 13)
            greedy(f, ids, ids + 50);
        if (d >= 4 && d < 8)
            for (int k = 0; k < 3; k++)
                ids[50 + 7 + 15 * k] = ids[50 + 7 + 15 * k] == 5 ? 6 : 5;
        int n = d == 12 ? 60 : 100;
        fprintf(o, "{\"ids\": [");
        if (d == 13)
            fprintf(o, "%d, ", f->in.bos_id);
        for (int i = 0; i < n; i++)
            fprintf(o, "%s%d", i ? ", " : "", ids[i]);
        fprintf(o, "], \"other\": \"doc %d\"}\n", d);
    }
    fclose(o);
    return path;
}

struct rows {
    int n;
    char doc[32][16];
    int exact[32], approx[32];
    int64_t edit[32];
    char gen[32][1024];
    char err[32][128];
};

static int collect(void *user, const struct store_sample_row *row)
{
    struct rows *r = user;
    assert_true(r->n < 32);
    int i = r->n++;
    snprintf(r->doc[i], sizeof(r->doc[i]), "%s", row->s.item);
    snprintf(r->err[i], sizeof(r->err[i]), "%s", row->s.error ? row->s.error : "");
    json_error_t je;
    json_t *d = json_loads(row->s.data_json, 0, &je);
    assert_non_null(d);
    r->exact[i] = json_is_true(json_object_get(d, "exact"));
    r->approx[i] = json_is_true(json_object_get(d, "approximate"));
    r->edit[i] = json_integer_value(json_object_get(d, "edit_distance"));
    char *g = json_dumps(json_object_get(d, "generated_ids"), JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(r->gen[i], sizeof(r->gen[i]), "%s", g ? g : "");
    free(g);
    json_decref(d);
    return 0;
}

static void audit(struct fx *f, const char *corpus_path, int batch, int64_t n_docs,
                  struct rows *rows, struct mem_summary *sum)
{
    struct assay_error err;
    err_clear(&err);
    struct mem_corpus c;
    mem_corpus_init(&c);
    struct mem_corpus_opts o = {.field = "ids"};
    assert_int_equal(mem_corpus_add(&c, corpus_path, &o, &err), 0);
    struct mem_params p;
    mem_params_default(&p);
    p.batch = batch;
    p.n_docs = n_docs;
    struct mem_plan plan;
    assert_int_equal(mem_plan_build(&plan, &c, f->b, &p, NULL, &err), 0);
    char db[1200];
    snprintf(db, sizeof(db), "%s/b%d.db", f->dir, batch);
    struct store *s = NULL;
    assert_int_equal(store_open(&s, db, 0, &err), 0);
    struct store_run_new rn = {.kind = "memorize", .config_json = "{}"};
    int64_t run = 0;
    assert_int_equal(store_begin_run(s, &rn, &run, &err), 0);
    struct pii_scanner *sc = NULL;
    struct pii_config pc;
    memset(&pc, 0, sizeof(pc));
    assert_int_equal(pii_scanner_new(&sc, &pc, &err), 0);
    int64_t done = 0;
    int rc = mem_audit_run(&plan, &c, f->b, &p, s, run, sc, NULL, NULL, &done, &err);
    if (rc)
        fail_msg("audit: %s", err.msg);
    assert_int_equal(done, (int64_t)plan.n_audit);
    /* a second call resumes: everything is stored, nothing is generated */
    assert_int_equal(mem_audit_run(&plan, &c, f->b, &p, s, run, sc, NULL, NULL, &done, &err), 0);
    assert_int_equal(done, 0);
    assert_int_equal(mem_compute_metrics(sum, s, run, p.suffix, sc, &err), 0);
    memset(rows, 0, sizeof(*rows));
    assert_int_equal(store_each_sample(s, run, NULL, collect, rows, &err), 0);
    pii_scanner_free(sc);
    store_close(s);
    mem_plan_release(&plan);
    mem_corpus_release(&c);
}

static void test_audit_known_answers(void **state)
{
    struct fx *f = *state;
    TU_SKIP_IF_MISSING(f, FIXTURE);
    const char *corpus = write_corpus(f);
    struct rows r1, r8;
    struct mem_summary s1, s8;
    audit(f, corpus, 1, 0, &r1, &s1);
    audit(f, corpus, 8, 0, &r8, &s8);
    assert_int_equal(r1.n, 14);
    int n_short = 0;
    for (int i = 0; i < r1.n; i++) {
        int d = (int)strtol(r1.doc[i], NULL, 10) - 1; /* line number - 1 = construction index */
        if (d == 12) {
            assert_true(strstr(r1.err[i], "skipped: 60 tokens") != NULL);
            n_short++;
            continue;
        }
        bool want_exact = d < 4 || d == 13, want_approx = d < 8 || d == 13;
        if (r1.exact[i] != want_exact || r1.approx[i] != want_approx)
            fail_msg("doc %d: exact %d approximate %d edit %lld", d, r1.exact[i], r1.approx[i],
                     (long long)r1.edit[i]);
        if (d >= 4 && d < 8)
            assert_int_equal(r1.edit[i], 3);
    }
    assert_int_equal(n_short, 1);
    assert_int_equal(s1.src[0].n, 13);
    assert_int_equal(s1.src[0].n_exact, 5);
    assert_int_equal(s1.src[0].n_approx, 9);
    assert_int_equal(s1.src[0].n_short, 1);
    assert_int_equal(s1.lcp_hist[50], 5);
    assert_int_equal(s1.n_memorized, 9);
    /* batch independence: the same rows, in the same order, whatever the batch */
    assert_int_equal(r8.n, r1.n);
    for (int i = 0; i < r1.n; i++) {
        assert_string_equal(r1.doc[i], r8.doc[i]);
        assert_string_equal(r1.gen[i], r8.gen[i]);
        assert_int_equal(r1.exact[i], r8.exact[i]);
        assert_int_equal(r1.edit[i], r8.edit[i]);
    }
    mem_summary_release(&s1);
    mem_summary_release(&s8);
}

static void plan_docs(struct fx *f, const char *corpus, uint64_t seed, int64_t n, int64_t offset,
                      char *out, size_t cap)
{
    struct assay_error err;
    err_clear(&err);
    struct mem_corpus c;
    mem_corpus_init(&c);
    struct mem_corpus_opts o = {.field = "ids"};
    assert_int_equal(mem_corpus_add(&c, corpus, &o, &err), 0);
    struct mem_params p;
    mem_params_default(&p);
    p.seed = seed;
    p.n_docs = n;
    p.prefix = 20;
    p.suffix = 20;
    p.offset = offset;
    struct mem_plan plan;
    assert_int_equal(mem_plan_build(&plan, &c, f->b, &p, NULL, &err), 0);
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < plan.n && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s@%lld%s ", c.docs[plan.items[i].doc].id,
                               (long long)plan.items[i].start, plan.items[i].is_short ? "s" : "");
    assert_int_equal(plan.n_audit, n > 0 ? (size_t)n : 13);
    mem_plan_release(&plan);
    mem_corpus_release(&c);
}

static void test_sampling_reproducible(void **state)
{
    struct fx *f = *state;
    TU_SKIP_IF_MISSING(f, FIXTURE);
    const char *corpus = write_corpus(f);
    char a[512], b[512], c[512];
    plan_docs(f, corpus, 7, 5, 0, a, sizeof(a));
    plan_docs(f, corpus, 7, 5, 0, b, sizeof(b));
    assert_string_equal(a, b);
    plan_docs(f, corpus, 8, 5, 0, c, sizeof(c));
    assert_string_not_equal(a, c);
    /* random offsets: reproducible, inside the document, not all zero */
    plan_docs(f, corpus, 7, 5, MEM_OFFSET_RANDOM, a, sizeof(a));
    plan_docs(f, corpus, 7, 5, MEM_OFFSET_RANDOM, b, sizeof(b));
    assert_string_equal(a, b);
    int n_zero = 0;
    for (const char *q = a; (q = strstr(q, "@0 ")); q++)
        n_zero++;
    assert_true(n_zero < 5);
    /* every document, in corpus order: the 60-token one is short at offset 21 (it needs
     * 21 + 20 + 20 = 61 tokens), the one with a leading BOS is not (the BOS is dropped, 100 tokens remain) */
    plan_docs(f, corpus, 7, 0, 21, c, sizeof(c));
    assert_true(strstr(c, "13@21s ") != NULL);
    assert_true(strstr(c, "14@21 ") != NULL);
    assert_true(strncmp(c, "1@21 2@21 ", 10) == 0);
}

static void test_bad_ids(void **state)
{
    struct fx *f = *state;
    TU_SKIP_IF_MISSING(f, FIXTURE);
    char p[1200];
    snprintf(p, sizeof(p), "%s/oov.jsonl", f->dir);
    FILE *o = fopen(p, "w");
    fprintf(o, "{\"ids\": [5, 6]}\n{\"ids\": [5, %d]}\n", f->in.n_vocab);
    fclose(o);
    struct mem_corpus c;
    mem_corpus_init(&c);
    struct assay_error err;
    err_clear(&err);
    struct mem_corpus_opts co = {.field = "ids"};
    assert_int_equal(mem_corpus_add(&c, p, &co, &err), 0);
    struct mem_params prm;
    mem_params_default(&prm);
    struct mem_plan plan;
    assert_int_equal(mem_plan_build(&plan, &c, f->b, &prm, NULL, &err), ASSAY_EINVAL);
    assert_int_equal(err.line, 2);
    assert_string_equal(err.path, p);
    assert_true(strstr(err.msg, "outside the vocabulary") != NULL);
    mem_corpus_release(&c);
    /* an empty corpus is an error */
    snprintf(p, sizeof(p), "%s/empty.txt", f->dir);
    write_file(p, "");
    mem_corpus_init(&c);
    err_clear(&err);
    assert_int_equal(mem_corpus_add(&c, p, NULL, &err), 0);
    assert_int_equal(mem_plan_build(&plan, &c, f->b, &prm, NULL, &err), ASSAY_EINVAL);
    assert_string_equal(err.path, p);
    assert_true(strstr(err.msg, "empty corpus") != NULL);
    mem_corpus_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_corpus_read),
        cmocka_unit_test(test_corpus_errors),
        cmocka_unit_test(test_metrics_and_pii),
        cmocka_unit_test(test_audit_known_answers),
        cmocka_unit_test(test_sampling_reproducible),
        cmocka_unit_test(test_bad_ids),
    };
    return cmocka_run_group_tests(tests, setup_fx, teardown_fx);
}
