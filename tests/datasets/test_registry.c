/*
 * tests/datasets/test_registry.c - the registry table, resolution (data dir, cache, the
 * plain twin of a .gz), verification, and reading every real mirror file of the registry
 * from ../shared/datasets with the reader its format names: the row counts must equal
 * MANIFEST.md's appendix (skipped with a message when ../shared is absent).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "base/json.h"
#include "datasets/ds.h"

static void test_table_sane(void **state)
{
    assert_true(ds_registry_count() >= 20);
    size_t n_files = 0;
    for (size_t i = 0; i < ds_registry_count(); i++) {
        const struct ds_info *d = ds_registry_at(i);
        assert_non_null(d->name);
        assert_non_null(d->license);
        assert_true(d->n_files > 0);
        assert_ptr_equal(ds_registry_find(d->name), d);
        for (size_t j = i + 1; j < ds_registry_count(); j++)
            assert_string_not_equal(d->name, ds_registry_at(j)->name);
        for (size_t k = 0; k < d->n_files; k++) {
            const struct ds_file *f = &d->files[k];
            assert_non_null(f->split);
            assert_int_equal(f->format, ds_format_of(f->path));
            if (d->in_mirror) {
                assert_non_null(f->sha256);
                assert_int_equal(strlen(f->sha256), 64);
            }
            assert_ptr_equal(ds_info_file(d, f->path), f);
            n_files++;
        }
    }
    assert_null(ds_registry_at(ds_registry_count()));
    assert_null(ds_registry_find("nope"));
    fprintf(stderr, "%zu datasets, %zu files\n", ds_registry_count(), n_files);
    /* the ones evals need */
    static const char *const need[] = {"mmlu",      "humaneval",  "mbpp",          "gsm8k",
                                       "hellaswag", "arc_easy",   "arc_challenge", "piqa",
                                       "boolq",     "truthfulqa", "winogrande"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        assert_non_null(ds_registry_find(need[i]));
    const struct ds_info *m = ds_registry_find("mmlu");
    size_t n_test = 0;
    while (ds_info_split(m, "test", n_test))
        n_test++;
    assert_int_equal(n_test, 57);
    assert_non_null(ds_info_file(m, "test/abstract_algebra_test.csv"));
    assert_non_null(ds_info_file(m, "abstract_algebra_test.csv"));
    const struct ds_info *g = ds_registry_find("gsm8k");
    assert_string_equal(ds_info_split(g, "test", 0)->path, "gsm8k/test.jsonl");
    assert_null(ds_info_file(g, "st.jsonl")); /* suffixes match whole path components */
    const struct ds_info *w = ds_registry_find("winogrande_xl");
    assert_non_null(w);
    assert_int_equal(w->in_mirror, 0);
    assert_string_equal(ds_format_name(DS_FORMAT_JSONL), "jsonl");
    assert_int_equal(ds_format_of("a/b.txt.gz"), DS_FORMAT_TEXT);
}

static int64_t count_rows(const struct ds_file *f, const char *path, struct assay_error *e)
{
    int64_t n = 0;
    int rc;
    switch (f->format) {
    case DS_FORMAT_CSV:
    case DS_FORMAT_TSV: {
        struct ds_read_opts o = {.n_fields = 0};
        if (f->format == DS_FORMAT_TSV) {
            o.delim = '\t';
            o.no_quotes = 1;
        }
        /* the one known file with a stray quote reads as Python's csv reads it */
        o.lax_quotes = strcmp(f->path, "mmlu/val/college_medicine_val.csv") == 0;
        struct ds_csv *c;
        rc = ds_csv_open(&c, path, &o, e);
        if (rc < 0)
            return rc;
        while ((rc = ds_csv_next(c, e)) == 1)
            n++;
        ds_csv_close(c);
        return rc < 0 ? rc : n;
    }
    case DS_FORMAT_JSONL: {
        struct ds_jsonl *r;
        rc = ds_jsonl_open(&r, path, NULL, e);
        if (rc < 0)
            return rc;
        json_t *o;
        while ((rc = ds_jsonl_next(r, &o, e)) == 1)
            n++;
        ds_jsonl_close(r);
        return rc < 0 ? rc : n;
    }
    case DS_FORMAT_JSON: {
        json_t *j;
        rc = ds_json_load(&j, path, NULL, e);
        if (rc < 0)
            return rc;
        n = json_is_array(j) ? (int64_t)json_array_size(j) : (int64_t)json_object_size(j);
        json_decref(j);
        return n;
    }
    default: {
        struct ds_lines *r;
        struct ds_read_opts o = {.keep_bom = 1};
        rc = ds_lines_open(&r, path, &o, e);
        if (rc < 0)
            return rc;
        const char *l;
        size_t len;
        while ((rc = ds_lines_next(r, &l, &len, e)) == 1)
            n++;
        ds_lines_close(r);
        return rc < 0 ? rc : n;
    }
    }
}

/* Every registry file present in the mirror: its hash, and its rows read back. */
static void test_mirror_files(void **state)
{
    const char *root = tu_shared("datasets/MANIFEST.md");
    TU_SKIP_IF_MISSING(root, "datasets/MANIFEST.md");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_shared("datasets"));
    struct ds_opts o = {.data_dir = dir, .cache_dir = "/nonexistent-cache"};
    size_t n_files = 0, n_bad = 0;
    int64_t n_rows = 0;
    for (size_t i = 0; i < ds_registry_count(); i++) {
        const struct ds_info *d = ds_registry_at(i);
        if (!d->in_mirror)
            continue;
        for (size_t k = 0; k < d->n_files; k++) {
            const struct ds_file *f = &d->files[k];
            struct assay_error e;
            err_clear(&e);
            enum ds_verify_status st;
            char hex[65], path[2048];
            assert_int_equal(ds_verify_file(&st, hex, path, sizeof(path), f, &o, &e), 0);
            if (st != DS_VERIFY_OK) {
                fprintf(stderr, "%s: %s (got %s)\n", f->path, ds_verify_status_name(st), hex);
                n_bad++;
                continue;
            }
            int64_t rows = count_rows(f, path, &e);
            if (rows < 0 || (f->n_rows >= 0 && rows != f->n_rows)) {
                char msg[1200];
                err_format(&e, msg, sizeof(msg));
                fprintf(stderr, "%s: %lld rows, MANIFEST says %lld %s\n", f->path, (long long)rows,
                        (long long)f->n_rows, rows < 0 ? msg : "");
                n_bad++;
                continue;
            }
            n_rows += rows;
            n_files++;
        }
    }
    fprintf(stderr, "mirror: %zu files verified and read, %lld rows\n", n_files, (long long)n_rows);
    assert_int_equal(n_bad, 0);
}

/* MMLU as the eval will read it: no header, 6 fields, answer A-D, 14,042 test rows. */
static void test_mmlu_shape(void **state)
{
    const char *root = tu_shared("datasets/mmlu/test");
    TU_SKIP_IF_MISSING(root, "datasets/mmlu/test");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_shared("datasets"));
    struct ds_opts o = {.data_dir = dir};
    const struct ds_info *m = ds_registry_find("mmlu");
    int64_t total = 0, dev = 0;
    const struct ds_file *f;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; (f = ds_info_split(m, pass ? "dev" : "test", i)); i++) {
            char path[2048];
            struct assay_error e;
            err_clear(&e);
            assert_int_equal(ds_resolve_file(path, sizeof(path), f, &o, &e), 0);
            struct ds_read_opts ro = {.n_fields = 6};
            struct ds_csv *c;
            assert_int_equal(ds_csv_open(&c, path, &ro, &e), 0);
            int rc;
            while ((rc = ds_csv_next(c, &e)) == 1) {
                size_t len;
                const char *a = ds_csv_field(c, 5, &len);
                assert_int_equal(len, 1);
                assert_true(a[0] >= 'A' && a[0] <= 'D');
                if (pass)
                    dev++;
                else
                    total++;
            }
            assert_int_equal(rc, 0);
            ds_csv_close(c);
        }
    }
    assert_int_equal(total, 14042);
    assert_int_equal(dev, 285);
}

static void test_resolve(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    char cache[1100], data[1100], p[2048];
    snprintf(cache, sizeof(cache), "%s/cache", tmp);
    snprintf(data, sizeof(data), "%s/mirror", tmp);
    struct ds_opts o = {.data_dir = data, .cache_dir = cache};
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_resolve(p, sizeof(p), "gsm8k", "test.jsonl", &o, &e), ASSAY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "assay datasets fetch gsm8k"));
    assert_non_null(strstr(e.msg, cache));
    assert_non_null(strstr(e.msg, data));
    err_clear(&e);
    assert_int_equal(ds_resolve(p, sizeof(p), "nope", "x", &o, &e), ASSAY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "unknown dataset 'nope'"));
    err_clear(&e);
    assert_int_equal(ds_resolve(p, sizeof(p), "gsm8k", "nope.jsonl", &o, &e), ASSAY_ENOTFOUND);

    /* the cache holds a plain twin of a .gz file (what fetch stores for gz_of_url) */
    char dirp[1200], f[1300];
    snprintf(dirp, sizeof(dirp), "%s/gsm8k", cache);
    mkdir(cache, 0755);
    mkdir(dirp, 0755);
    snprintf(f, sizeof(f), "%s/train.jsonl", dirp);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fputs("{\"question\":\"q\",\"answer\":\"#### 1\"}\n", fp);
    fclose(fp);
    err_clear(&e);
    assert_int_equal(ds_resolve(p, sizeof(p), "gsm8k", "train.jsonl.gz", &o, &e), 0);
    assert_string_equal(p, f);
    enum ds_verify_status st;
    assert_int_equal(ds_verify_file(&st, NULL, NULL, 0,
                                    ds_info_file(ds_registry_find("gsm8k"), "train.jsonl.gz"), &o,
                                    &e),
                     0);
    assert_int_equal(st, DS_VERIFY_UNCHECKED);

    /* a wrong file in the data dir is found first, and verify says MISMATCH */
    snprintf(dirp, sizeof(dirp), "%s/gsm8k", data);
    mkdir(data, 0755);
    mkdir(dirp, 0755);
    snprintf(f, sizeof(f), "%s/test.jsonl", dirp);
    fp = fopen(f, "w");
    assert_non_null(fp);
    fputs("{}\n", fp);
    fclose(fp);
    assert_int_equal(ds_resolve(p, sizeof(p), "gsm8k", "gsm8k/test.jsonl", &o, &e), 0);
    assert_string_equal(p, f);
    char hex[65];
    assert_int_equal(ds_verify_file(&st, hex, NULL, 0,
                                    ds_info_file(ds_registry_find("gsm8k"), "test.jsonl"), &o, &e),
                     0);
    assert_int_equal(st, DS_VERIFY_MISMATCH);
    /* sha256 of "{}\n" (sha256sum) */
    assert_string_equal(hex, "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356");
}

/* the environment is used when the options say nothing */
static void test_env_dirs(void **state)
{
    char out[1024];
    struct assay_error e;
    err_clear(&e);
    setenv("ASSAY_DATA_DIR", "/mirror/here", 1);
    assert_int_equal(ds_data_dir(out, sizeof(out), NULL, &e), 0);
    assert_string_equal(out, "/mirror/here");
    struct ds_opts o = {.data_dir = "/opt/dir"};
    assert_int_equal(ds_data_dir(out, sizeof(out), &o, &e), 0);
    assert_string_equal(out, "/opt/dir");
    unsetenv("ASSAY_DATA_DIR");
    assert_int_equal(ds_data_dir(out, sizeof(out), NULL, &e), ASSAY_ENOTFOUND);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    assert_int_equal(ds_cache_dir(out, sizeof(out), NULL, &e), 0);
    assert_string_equal(out, "/xdg/assay/datasets");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    assert_int_equal(ds_cache_dir(out, sizeof(out), NULL, &e), 0);
    assert_string_equal(out, "/home/u/.cache/assay/datasets");
    char small[8];
    err_clear(&e);
    assert_int_equal(ds_cache_dir(small, sizeof(small), NULL, &e), ASSAY_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sane), cmocka_unit_test(test_mirror_files),
        cmocka_unit_test(test_mmlu_shape), cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_env_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
