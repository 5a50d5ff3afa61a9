/*
 * tests/datasets/test_read.c - the dataset readers: data-driven CSV and JSONL cases
 * (tests/data/datasets/{csv,jsonl}/NAME.{csv,tsv,jsonl} with NAME.out holding the expected
 * records or error), gzip read by content, corrupt and truncated gzip, a 1 GiB line,
 * tar members, whole-file JSON and missing files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/json.h"
#include "datasets/ds.h"

/* ---- helpers -------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
}

static void add_escaped(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            buf_add_str(b, "\\n");
        else if (s[i] == '\r')
            buf_add_str(b, "\\r");
        else if (s[i] == '\t')
            buf_add_str(b, "\\t");
        else if (s[i] == '\0')
            buf_add_str(b, "\\0");
        else
            buf_add_ch(b, s[i]);
    }
}

/* "error: " + the formatted error, with the case folder removed from paths */
static void add_error(struct buf *b, const struct assay_error *e, const char *dir)
{
    char msg[1200];
    err_format(e, msg, sizeof(msg));
    const char *m = msg;
    size_t dl = strlen(dir);
    buf_add_str(b, "error: ");
    while (*m) {
        if (strncmp(m, dir, dl) == 0 && m[dl] == '/') {
            m += dl + 1;
            continue;
        }
        buf_add_ch(b, *m++);
    }
    buf_add_ch(b, '\n');
}

static void parse_opts(struct ds_read_opts *o, const char *line)
{
    memset(o, 0, sizeof(*o));
    if (strncmp(line, "# opts:", 7) != 0)
        return;
    char tmp[256];
    const char *nl = strchr(line, '\n');
    snprintf(tmp, sizeof(tmp), "%.*s", nl ? (int)(nl - line - 7) : 200, line + 7);
    char *save = NULL;
    for (char *t = strtok_r(tmp, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        char *eq = strchr(t, '=');
        assert_non_null(eq);
        *eq = '\0';
        const char *v = eq + 1;
        long n = strtol(v, NULL, 10);
        if (strcmp(t, "n_fields") == 0)
            o->n_fields = (int)n;
        else if (strcmp(t, "header") == 0)
            o->header = (int)n;
        else if (strcmp(t, "no_quotes") == 0)
            o->no_quotes = (int)n;
        else if (strcmp(t, "lax_quotes") == 0)
            o->lax_quotes = (int)n;
        else if (strcmp(t, "keep_bom") == 0)
            o->keep_bom = (int)n;
        else if (strcmp(t, "max_fields") == 0)
            o->max_fields = (size_t)n;
        else if (strcmp(t, "max_line") == 0)
            o->max_line_bytes = (size_t)n;
        else if (strcmp(t, "delim") == 0)
            o->delim = strcmp(v, "tab") == 0 ? '\t' : v[0];
        else
            fail_msg("unknown case option '%s'", t);
    }
}

static void run_csv(struct buf *out, const char *dir, const char *path,
                    const struct ds_read_opts *o)
{
    struct assay_error e;
    err_clear(&e);
    struct ds_csv *c = NULL;
    int rc = ds_csv_open(&c, path, o, &e);
    if (rc < 0) {
        add_error(out, &e, dir);
        return;
    }
    if (ds_csv_n_header(c)) {
        buf_add_str(out, "header: ");
        for (size_t i = 0; i < ds_csv_n_header(c); i++)
            buf_addf(out, "[%s]", ds_csv_header(c, i));
        buf_add_ch(out, '\n');
    }
    while ((rc = ds_csv_next(c, &e)) == 1) {
        buf_addf(out, "L%ld: ", ds_csv_lineno(c));
        for (size_t i = 0; i < ds_csv_n_fields(c); i++) {
            size_t len;
            const char *f = ds_csv_field(c, i, &len);
            buf_add_ch(out, '[');
            add_escaped(out, f, len);
            buf_add_ch(out, ']');
        }
        buf_add_ch(out, '\n');
    }
    if (rc < 0)
        add_error(out, &e, dir);
    else
        buf_addf(out, "records: %lld\n", (long long)ds_csv_n_records(c));
    ds_csv_close(c);
}

static void run_jsonl(struct buf *out, const char *dir, const char *path)
{
    struct assay_error e;
    err_clear(&e);
    struct ds_jsonl *r = NULL;
    int rc = ds_jsonl_open(&r, path, NULL, &e);
    long n = 0;
    if (rc == 0) {
        json_t *obj;
        while ((rc = ds_jsonl_next(r, &obj, &e)) == 1) {
            char *s = jsn_dump_canonical(obj);
            buf_addf(out, "L%ld: %s\n", ds_jsonl_lineno(r), s);
            free(s);
            n++;
        }
    }
    if (rc < 0)
        add_error(out, &e, dir);
    else
        buf_addf(out, "records: %ld\n", n);
    ds_jsonl_close(r);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Every NAME.<ext> in tests/data/datasets/<sub> against NAME.out. */
static void run_cases(const char *sub, int jsonl)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", tu_source("tests/data/datasets"));
    char cdir[1100];
    snprintf(cdir, sizeof(cdir), "%s/%s", dir, sub);
    DIR *d = opendir(cdir);
    assert_non_null(d);
    int n_cases = 0, n_failed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' || ends_with(nm, ".out"))
            continue;
        char in[1400], exp_path[1400];
        snprintf(in, sizeof(in), "%s/%s", cdir, nm);
        snprintf(exp_path, sizeof(exp_path), "%s", in);
        char *dot = strrchr(exp_path, '.');
        snprintf(dot, sizeof(exp_path) - (size_t)(dot - exp_path), ".out");
        char *expected = slurp(exp_path, NULL);
        struct ds_read_opts o;
        const char *body = expected ? expected : "";
        parse_opts(&o, body);
        if (strncmp(body, "# opts:", 7) == 0) {
            const char *nl = strchr(body, '\n');
            body = nl ? nl + 1 : "";
        }
        struct buf out;
        buf_init(&out, 0);
        if (jsonl)
            run_jsonl(&out, cdir, in);
        else
            run_csv(&out, cdir, in, &o);
        const char *actual = out.data ? out.data : "";
        n_cases++;
        if (!expected || strcmp(body, actual) != 0) {
            n_failed++;
            char *input = slurp(in, NULL);
            fprintf(stderr, "case %s/%s FAILED\n--- input\n%s\n--- expected\n%s--- actual\n%s---\n",
                    sub, nm, input ? input : "", expected ? body : "(no .out file)\n", actual);
            free(input);
        }
        free(expected);
        buf_release(&out);
    }
    closedir(d);
    fprintf(stderr, "%s: %d cases, %d failed\n", sub, n_cases, n_failed);
    assert_true(n_cases > 0);
    assert_int_equal(n_failed, 0);
}

static void test_csv_cases(void **state)
{
    run_cases("csv", 0);
}

static void test_jsonl_cases(void **state)
{
    run_cases("jsonl", 1);
}

/* ---- in-memory, gzip, limits ------------------------------------------------------ */

static void test_csv_mem_and_col(void **state)
{
    static const char text[] = "id,name\n1,\"a,b\"\n2,c\n";
    struct ds_read_opts o = {.header = 1};
    struct ds_csv *c;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_csv_open_mem(&c, text, sizeof(text) - 1, "mem.csv", &o, &e), 0);
    assert_int_equal(ds_csv_col(c, "name"), 1);
    assert_int_equal(ds_csv_col(c, "nope"), -1);
    assert_int_equal(ds_csv_next(c, &e), 1);
    assert_string_equal(ds_csv_field(c, 1, NULL), "a,b");
    assert_null(ds_csv_field(c, 2, NULL));
    assert_int_equal(ds_csv_next(c, &e), 1);
    assert_int_equal(ds_csv_next(c, &e), 0);
    assert_int_equal(ds_csv_next(c, &e), 0);
    assert_int_equal(ds_csv_n_records(c), 2);
    ds_csv_close(c);
    ds_csv_close(NULL);
}

static void test_gzip_transparent(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    static const char jsonl[] = "{\"q\":\"one\"}\n{\"q\":\"two\"}\n";
    static const char csv[] = "\"x\ny\",2\n3,4\n";
    char p1[1100], p2[1100], p3[1100];
    snprintf(p1, sizeof(p1), "%s/a.jsonl.gz", tmp);
    snprintf(p2, sizeof(p2), "%s/b.csv.gz", tmp);
    snprintf(p3, sizeof(p3), "%s/c.jsonl", tmp); /* gzip bytes under a plain name */
    write_gz(p1, jsonl, sizeof(jsonl) - 1);
    write_gz(p2, csv, sizeof(csv) - 1);
    write_gz(p3, jsonl, sizeof(jsonl) - 1);
    struct assay_error e;
    err_clear(&e);
    for (int k = 0; k < 2; k++) {
        struct ds_jsonl *r;
        assert_int_equal(ds_jsonl_open(&r, k ? p3 : p1, NULL, &e), 0);
        json_t *o;
        assert_int_equal(ds_jsonl_next(r, &o, &e), 1);
        assert_string_equal(jsn_str(o, "q", ""), "one");
        assert_int_equal(ds_jsonl_next(r, &o, &e), 1);
        assert_string_equal(jsn_str(o, "q", ""), "two");
        assert_int_equal(ds_jsonl_lineno(r), 2);
        assert_int_equal(ds_jsonl_next(r, &o, &e), 0);
        ds_jsonl_close(r);
    }
    struct ds_csv *c;
    assert_int_equal(ds_csv_open(&c, p2, NULL, &e), 0);
    assert_int_equal(ds_csv_next(c, &e), 1);
    assert_string_equal(ds_csv_field(c, 0, NULL), "x\ny");
    assert_int_equal(ds_csv_next(c, &e), 1);
    assert_int_equal(ds_csv_lineno(c), 3);
    assert_int_equal(ds_csv_next(c, &e), 0);
    ds_csv_close(c);
    char *all;
    size_t len;
    assert_int_equal(ds_read_all(&all, &len, p2, 0, &e), 0);
    assert_int_equal(len, sizeof(csv) - 1);
    assert_memory_equal(all, csv, len);
    free(all);
    assert_int_equal(ds_read_all(&all, &len, p2, 5, &e), ASSAY_ELIMIT);
}

/* a big gzip file with one corrupted byte in the middle, and the same cut short */
static void test_gzip_corrupt_and_truncated(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    struct buf text;
    buf_init(&text, 0);
    /* pseudo-random digits so the deflate stream is long and a flipped byte is seen */
    uint32_t x = 12345;
    for (int i = 0; i < 200000; i++) {
        x = x * 1103515245u + 12345u;
        buf_addf(&text, "{\"i\":%d,\"v\":%u}\n", i, x >> 8);
    }
    char good[1100], bad[1100], cut[1100];
    snprintf(good, sizeof(good), "%s/good.jsonl.gz", tmp);
    snprintf(bad, sizeof(bad), "%s/bad.jsonl.gz", tmp);
    snprintf(cut, sizeof(cut), "%s/cut.jsonl.gz", tmp);
    write_gz(good, text.data, text.len);
    size_t glen;
    char *gz = slurp(good, &glen);
    assert_non_null(gz);
    write_file(cut, gz, glen / 2);
    gz[glen / 2] ^= 0x55;
    gz[glen / 2 + 1] ^= 0xAA;
    write_file(bad, gz, glen);
    free(gz);
    const char *paths[2] = {bad, cut};
    for (int k = 0; k < 2; k++) {
        struct assay_error e;
        err_clear(&e);
        struct ds_jsonl *r;
        assert_int_equal(ds_jsonl_open(&r, paths[k], NULL, &e), 0);
        json_t *o;
        int rc;
        long n = 0;
        while ((rc = ds_jsonl_next(r, &o, &e)) == 1)
            n++;
        char msg[1200];
        err_format(&e, msg, sizeof(msg));
        fprintf(stderr, "%s after %ld rows: %s\n", k ? "truncated" : "corrupt", n, msg);
        assert_true(rc < 0);
        assert_true(n < 200000);
        /* a flipped byte may also surface as bad JSON before zlib's CRC check */
        assert_true(rc == ASSAY_EIO || rc == ASSAY_EINVAL);
        assert_non_null(strstr(msg, paths[k]));
        if (k == 1) {
            assert_int_equal(rc, ASSAY_EIO);
            assert_non_null(strstr(msg, "corrupt gzip data: unexpected end of file"));
        }
        ds_jsonl_close(r);
    }
    buf_release(&text);
}

/* A 1 GiB file that is one line (sparse, so it costs no disk) fails at the 64 MiB cap. */
static void test_huge_line(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    char p[1100];
    snprintf(p, sizeof(p), "%s/huge.jsonl", tmp);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)1 << 30), 0);
    close(fd);
    struct assay_error e;
    err_clear(&e);
    struct ds_lines *r;
    assert_int_equal(ds_lines_open(&r, p, NULL, &e), 0);
    const char *line;
    size_t len;
    assert_int_equal(ds_lines_next(r, &line, &len, &e), ASSAY_ELIMIT);
    char msg[1200];
    err_format(&e, msg, sizeof(msg));
    assert_non_null(strstr(msg, "huge.jsonl:1: line longer than 67108864 bytes"));
    ds_lines_close(r);
    /* the CSV reader has the same cap per record; use a small one to stay quick */
    struct ds_read_opts o = {.max_line_bytes = 1 << 20};
    struct ds_csv *c;
    err_clear(&e);
    assert_int_equal(ds_csv_open(&c, p, &o, &e), 0);
    assert_int_equal(ds_csv_next(c, &e), ASSAY_ELIMIT);
    err_format(&e, msg, sizeof(msg));
    assert_non_null(strstr(msg, "huge.jsonl:1: record longer than 1048576 bytes"));
    ds_csv_close(c);
    unlink(p);
}

/* A small gzip that inflates to 80 MiB with no newline: the caps apply after inflating. */
static void test_gzip_bomb(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    char p[1100];
    snprintf(p, sizeof(p), "%s/bomb.jsonl.gz", tmp);
    gzFile g = gzopen(p, "wb1");
    assert_non_null(g);
    static char zeros[1 << 20];
    memset(zeros, 'a', sizeof(zeros));
    for (int i = 0; i < 80; i++)
        assert_int_equal(gzwrite(g, zeros, sizeof(zeros)), (int)sizeof(zeros));
    assert_int_equal(gzclose(g), Z_OK);
    struct assay_error e;
    err_clear(&e);
    struct ds_jsonl *r;
    assert_int_equal(ds_jsonl_open(&r, p, NULL, &e), 0);
    json_t *o;
    assert_int_equal(ds_jsonl_next(r, &o, &e), ASSAY_ELIMIT);
    assert_int_equal(e.line, 1);
    ds_jsonl_close(r);
    char *all;
    size_t len;
    err_clear(&e);
    assert_int_equal(ds_read_all(&all, &len, p, (size_t)16 << 20, &e), ASSAY_ELIMIT);
    assert_non_null(strstr(e.msg, "larger than 16777216 bytes"));
    unlink(p);
}

static void test_lines(void **state)
{
    static const char text[] = "\xEF\xBB\xBF"
                               "first\r\n\nthird\rstill\nlast";
    struct assay_error e;
    err_clear(&e);
    struct ds_lines *r;
    assert_int_equal(ds_lines_open_mem(&r, text, sizeof(text) - 1, "t.txt", NULL, &e), 0);
    const char *l;
    size_t n;
    assert_int_equal(ds_lines_next(r, &l, &n, &e), 1);
    assert_string_equal(l, "first");
    assert_int_equal(ds_lines_next(r, &l, &n, &e), 1);
    assert_string_equal(l, "");
    assert_int_equal(ds_lines_next(r, &l, &n, &e), 1);
    assert_string_equal(l, "third\rstill");
    assert_int_equal(ds_lines_next(r, &l, &n, &e), 1);
    assert_string_equal(l, "last");
    assert_int_equal(ds_lines_lineno(r), 4);
    assert_int_equal(ds_lines_next(r, &l, &n, &e), 0);
    ds_lines_close(r);
    struct ds_read_opts o = {.keep_bom = 1};
    assert_int_equal(ds_lines_open_mem(&r, text, sizeof(text) - 1, "t.txt", &o, &e), 0);
    assert_int_equal(ds_lines_next(r, &l, &n, &e), 1);
    assert_string_equal(l, "\xEF\xBB\xBF"
                           "first");
    ds_lines_close(r);
}

static void test_missing_file(void **state)
{
    struct assay_error e;
    err_clear(&e);
    struct ds_csv *c = (struct ds_csv *)1;
    assert_int_equal(ds_csv_open(&c, "/nonexistent/x.csv", NULL, &e), ASSAY_ENOTFOUND);
    assert_null(c);
    char msg[1200];
    err_format(&e, msg, sizeof(msg));
    assert_non_null(strstr(msg, "/nonexistent/x.csv"));
    err_clear(&e);
    struct ds_lines *r;
    assert_int_equal(ds_lines_open(&r, "/", NULL, &e), ASSAY_EIO);
    json_t *j;
    err_clear(&e);
    assert_int_equal(ds_json_load(&j, "/nonexistent/x.json", NULL, &e), ASSAY_ENOTFOUND);
}

static void test_json_load(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    char p[1100], q[1100];
    snprintf(p, sizeof(p), "%s/x.json.gz", tmp);
    snprintf(q, sizeof(q), "%s/bad.json", tmp);
    static const char doc[] = "\xEF\xBB\xBF[{\"task_id\": 2}, {\"task_id\": 3}]";
    write_gz(p, doc, sizeof(doc) - 1);
    static const char bad[] = "[\n{\"a\": 1},\n{\"a\": }\n]";
    write_file(q, bad, sizeof(bad) - 1);
    struct assay_error e;
    err_clear(&e);
    json_t *j;
    assert_int_equal(ds_json_load(&j, p, NULL, &e), 0);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    assert_int_equal(ds_json_load(&j, q, NULL, &e), ASSAY_EINVAL);
    assert_int_equal(e.line, 3);
    assert_string_equal(e.path, q);
}

/* ---- tar ---------------------------------------------------------------------------- */

static void write_tar(const char *path, int gzip)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    static const char *names[] = {"data/", "data/test/a_test.csv", "data/dev/a_dev.csv"};
    static const char *bodies[] = {NULL, "q,1,2,3,4,A\n", "\"x\ny\",1,2,3,4,B\n"};
    for (int i = 0; i < 3; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_perm(e, 0644);
        if (bodies[i]) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)strlen(bodies[i]));
        } else {
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_size(e, 0);
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (bodies[i])
            assert_int_equal(archive_write_data(a, bodies[i], strlen(bodies[i])),
                             (la_ssize_t)strlen(bodies[i]));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void test_tar(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    for (int gz = 0; gz < 2; gz++) {
        char p[1100];
        snprintf(p, sizeof(p), "%s/data%s", tmp, gz ? ".tar.gz" : ".tar");
        write_tar(p, gz);
        struct assay_error e;
        err_clear(&e);
        struct ds_tar *t;
        assert_int_equal(ds_tar_open(&t, p, &e), 0);
        const char *name;
        int64_t size;
        assert_int_equal(ds_tar_next(t, &name, &size, &e), 1); /* the folder is skipped */
        assert_string_equal(name, "data/test/a_test.csv");
        assert_int_equal(size, 12);
        assert_int_equal(ds_tar_next(t, &name, &size, &e), 1);
        char *body;
        size_t len;
        assert_int_equal(ds_tar_read(t, &body, &len, 0, &e), 0);
        assert_string_equal(body, "\"x\ny\",1,2,3,4,B\n");
        /* a member goes straight into the CSV reader */
        struct ds_csv *c;
        struct ds_read_opts o = {.n_fields = 6};
        assert_int_equal(ds_csv_open_mem(&c, body, len, "data/dev/a_dev.csv", &o, &e), 0);
        assert_int_equal(ds_csv_next(c, &e), 1);
        assert_string_equal(ds_csv_field(c, 0, NULL), "x\ny");
        ds_csv_close(c);
        free(body);
        assert_int_equal(ds_tar_next(t, &name, &size, &e), 0);
        ds_tar_close(t);
        assert_int_equal(ds_tar_extract(&body, &len, p, "data/test/a_test.csv", 0, &e), 0);
        assert_string_equal(body, "q,1,2,3,4,A\n");
        free(body);
        assert_int_equal(ds_tar_extract(&body, &len, p, "data/test/a_test.csv", 4, &e),
                         ASSAY_ELIMIT);
        err_clear(&e);
        assert_int_equal(ds_tar_extract(&body, &len, p, "data/val/none.csv", 0, &e),
                         ASSAY_ENOTFOUND);
        assert_non_null(strstr(e.msg, "no member 'data/val/none.csv'"));
    }
    /* not an archive / truncated archive */
    char p[1100];
    snprintf(p, sizeof(p), "%s/junk.tar", tmp);
    write_file(p, "this is not a tar file at all", 29);
    struct assay_error e;
    err_clear(&e);
    char *body;
    size_t len;
    assert_true(ds_tar_extract(&body, &len, p, "x", 0, &e) < 0);
    assert_string_equal(e.path, p);
    snprintf(p, sizeof(p), "%s/data.tar", tmp);
    size_t tl;
    char *tar = slurp(p, &tl);
    snprintf(p, sizeof(p), "%s/cut.tar", tmp);
    write_file(p, tar, 700); /* inside the first member's data */
    free(tar);
    err_clear(&e);
    int rc = ds_tar_extract(&body, &len, p, "data/dev/a_dev.csv", 0, &e);
    assert_true(rc < 0);
    fprintf(stderr, "truncated tar: %s\n", e.msg);
    err_clear(&e);
    assert_int_equal(ds_tar_open(&(struct ds_tar *){NULL}, "/nonexistent.tar", &e),
                     ASSAY_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_cases),
        cmocka_unit_test(test_jsonl_cases),
        cmocka_unit_test(test_csv_mem_and_col),
        cmocka_unit_test(test_gzip_transparent),
        cmocka_unit_test(test_gzip_corrupt_and_truncated),
        cmocka_unit_test(test_huge_line),
        cmocka_unit_test(test_gzip_bomb),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_json_load),
        cmocka_unit_test(test_tar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
