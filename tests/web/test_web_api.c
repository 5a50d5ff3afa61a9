/*
 * tests/web/test_web_api.c - `assay serve`'s server over HTTP (libcurl against the server
 * on 127.0.0.1, port chosen by the kernel): headers (CSP, nosniff, Content-Type), only GET
 * and HEAD, 400 with a JSON message for every kind of bad parameter, paging, filters,
 * search, PII masking (and --raw), invalid UTF-8 and markup served as text, the Host
 * check, a comparison's figures, and reading while another connection writes (WAL).
 * The database is made through the store's C API (no SQL here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>

#include "testutil.h"
#include "base/buf.h"
#include "store/store.h"
#include "web/web.h"
#include "web/web_int.h"

static char db_path[1200];
static int64_t run_a, run_b;
static const char HOSTILE[] =
    "<script>alert(1)</script>\"><img src=x onerror=alert(1)> bad:\xff\xfe"
    " end";

struct resp {
    long status;
    struct buf body;
    struct buf headers;
};

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    struct buf *b = user;
    return buf_add(b, p, size * n) ? 0 : size * n;
}

/* Request url (relative to the server) with method; host overrides the Host header. */
static void req(struct resp *r, const struct web_server *ws, const char *method, const char *path,
                const char *host)
{
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", web_server_port(ws), path);
    buf_init(&r->body, 0);
    buf_init(&r->headers, 0);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    struct curl_slist *hdr = NULL;
    if (host) {
        char h[256];
        snprintf(h, sizeof(h), "Host: %s", host);
        hdr = curl_slist_append(hdr, h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
}

static void resp_release(struct resp *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

static json_t *get_json(const struct web_server *ws, const char *path, long want_status)
{
    struct resp r;
    req(&r, ws, "GET", path, NULL);
    if (r.status != want_status)
        fail_msg("GET %s: status %ld, want %ld: %s", path, r.status, want_status,
                 r.body.data ? r.body.data : "");
    json_error_t je;
    json_t *v = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &je);
    if (!v)
        fail_msg("GET %s: not JSON: %s", path, r.body.data ? r.body.data : "");
    if (want_status >= 400) {
        const char *msg = json_string_value(json_object_get(v, "error"));
        if (!msg || !*msg)
            fail_msg("GET %s: %ld without an error message", path, want_status);
    }
    resp_release(&r);
    return v;
}

static bool has_header(const struct resp *r, const char *line)
{
    return r->headers.data && strcasestr(r->headers.data, line) != NULL;
}

static int setup(void **state)
{
    const char *dir = tu_tmpdir();
    if (!dir)
        return -1;
    snprintf(db_path, sizeof(db_path), "%s/web.db", dir);
    struct store *s = NULL;
    struct assay_error e;
    err_clear(&e);
    if (store_open(&s, db_path, 0, &e))
        return -1;
    struct store_run_new rn = {.kind = "eval", .config_json = "{\"n\":1}"};
    if (store_begin_run(s, &rn, &run_a, &e))
        return -1;
    rn.config_json = "{\"n\":2}";
    if (store_begin_run(s, &rn, &run_b, &e))
        return -1;
    /* 250 samples per run in two tasks; run B fixes every 5th item of task "t1" */
    for (int i = 0; i < 250; i++) {
        char item[32], out[128];
        snprintf(item, sizeof(item), "%03d", i);
        const char *task = i < 200 ? "t1" : "t2";
        int ca = i % 2 == 0, cb = ca || (i < 200 && i % 5 == 1);
        snprintf(out, sizeof(out), "answer %d", i);
        struct store_sample x = {.task = task,
                                 .item = item,
                                 .prompt = "question",
                                 .target = "gold",
                                 .output = out,
                                 .score = ca,
                                 .correct = ca};
        if (i == 7) {
            x.output = HOSTILE;
            x.prompt = "write to alice.smith@example.com please";
        }
        if (store_put_sample(s, run_a, &x, &e))
            return -1;
        x.score = cb;
        x.correct = cb;
        if (store_put_sample(s, run_b, &x, &e))
            return -1;
    }
    /* samples were stored alternately in A and B: item 7 of run A has id 2 * 7 + 1 */
    struct store_pii_finding f = {.sample_id = 15,
                                  .field = "prompt",
                                  .type = "EMAIL_ADDRESS",
                                  .start_byte = 9,
                                  .end_byte = 32,
                                  .likelihood = "VERY_LIKELY",
                                  .severity = "personal",
                                  .detector = "email",
                                  .validated = 1};
    if (store_put_pii_findings(s, run_a, &f, 1, &e))
        return -1;
    if (store_put_metric(s, run_a, "t1", "acc", 0.5, 0.035, 200, &e))
        return -1;
    store_finish_run(s, run_a, STORE_RUN_DONE, NULL, &e);
    store_close(s);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int teardown(void **state)
{
    curl_global_cleanup();
    return 0;
}

static struct web_server *start(bool raw)
{
    struct web_server *ws = NULL;
    struct assay_error e;
    err_clear(&e);
    struct web_config cfg = {.db_path = db_path, .port = 0, .raw = raw};
    if (web_server_start(&ws, &cfg, &e))
        fail_msg("cannot start: %s", e.msg);
    assert_true(web_server_port(ws) > 0);
    return ws;
}

static void test_headers_and_methods(void **state)
{
    struct web_server *ws = start(false);
    struct resp r;
    req(&r, ws, "GET", "/api/runs", NULL);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Security-Policy: default-src 'self'"));
    assert_false(strstr(r.headers.data, "unsafe-inline") != NULL);
    assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
    assert_true(has_header(&r, "Content-Type: application/json"));
    resp_release(&r);
    struct {
        const char *path, *ctype;
    } pages[] = {{"/", "text/html"},
                 {"/run.html", "text/html"},
                 {"/compare.html", "text/html"},
                 {"/app.js", "text/javascript"},
                 {"/style.css", "text/css"}};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        req(&r, ws, "GET", pages[i].path, NULL);
        assert_int_equal(r.status, 200);
        char want[64];
        snprintf(want, sizeof(want), "Content-Type: %s", pages[i].ctype);
        if (!has_header(&r, want))
            fail_msg("%s: no '%s' in\n%s", pages[i].path, want, r.headers.data);
        assert_true(has_header(&r, "Content-Security-Policy"));
        /* no inline script in any page: scripts come from /app.js only */
        if (strstr(pages[i].ctype, "html"))
            assert_null(strstr(r.body.data, "<script>"));
        resp_release(&r);
    }
    req(&r, ws, "HEAD", "/api/runs", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    resp_release(&r);
    const char *bad_methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < 5; i++) {
        req(&r, ws, bad_methods[i], "/api/runs", NULL);
        if (r.status != 405)
            fail_msg("%s: status %ld, want 405", bad_methods[i], r.status);
        assert_true(has_header(&r, "Allow: GET, HEAD"));
        assert_true(has_header(&r, "Content-Security-Policy"));
        resp_release(&r);
    }
    req(&r, ws, "GET", "/../../etc/passwd", NULL);
    assert_int_equal(r.status, 404);
    resp_release(&r);
    req(&r, ws, "GET", "/nope.html", NULL);
    assert_int_equal(r.status, 404);
    resp_release(&r);
    /* DNS rebinding: a foreign Host is refused, loopback names are fine */
    req(&r, ws, "GET", "/api/runs", "evil.example:80");
    assert_int_equal(r.status, 421);
    resp_release(&r);
    char h[64];
    snprintf(h, sizeof(h), "localhost:%d", web_server_port(ws));
    req(&r, ws, "GET", "/api/runs", h);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    web_server_stop(ws);
}

static void test_bad_parameters(void **state)
{
    struct web_server *ws = start(false);
    char p[256];
    const char *bad[] = {
        "/api/runs?limit=0",
        "/api/runs?limit=abc",
        "/api/runs?limit=-5",
        "/api/runs?limit=99999999999999999999",
        "/api/runs?colour=red",
        "/api/runs?limit=1&limit=2",
        "/api/runs/abc",
        "/api/runs/0",
        "/api/runs/1x/samples",
        "/api/runs/1/samples?limit=0",
        "/api/runs/1/samples?limit=501",
        "/api/runs/1/samples?offset=-1",
        "/api/runs/1/samples?offset=1e3",
        "/api/runs/1/samples?correct=maybe",
        "/api/runs/1/samples?task=",
        "/api/runs/1/samples?q=%FF%FE",
        "/api/runs/1/samples?item=%C3",
        "/api/runs/1/pii?examples=999",
        "/api/compare",
        "/api/compare?a=1",
        "/api/compare?a=1&b=x",
        "/api/compare?a=1&b=2&c=3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        json_decref(get_json(ws, bad[i], 400));
    json_decref(get_json(ws, "/api/runs/999", 404));
    json_decref(get_json(ws, "/api/runs/999/samples", 404));
    json_decref(get_json(ws, "/api/compare?a=1&b=999", 404));
    json_decref(get_json(ws, "/api/nothing", 404));
    snprintf(p, sizeof(p), "/api/runs/%lld/samples?q=%%3Cscript", (long long)run_a);
    json_decref(get_json(ws, p, 200));
    web_server_stop(ws);
}

static void test_samples_paging_filters(void **state)
{
    struct web_server *ws = start(false);
    char p[256];
    snprintf(p, sizeof(p), "/api/runs/%lld", (long long)run_a);
    json_t *run = get_json(ws, p, 200);
    assert_int_equal(json_integer_value(json_object_get(run, "n_samples")), 250);
    assert_int_equal(json_array_size(json_object_get(run, "tasks")), 2);
    assert_int_equal(json_array_size(json_object_get(run, "metrics")), 1);
    json_t *pii = json_array_get(json_object_get(run, "pii"), 0);
    assert_string_equal(json_string_value(json_object_get(pii, "type")), "EMAIL_ADDRESS");
    json_decref(run);

    /* pages of 100 cover every sample exactly once */
    int64_t seen = 0, last_id = 0;
    for (int off = 0; off < 300; off += 100) {
        snprintf(p, sizeof(p), "/api/runs/%lld/samples?offset=%d&limit=100", (long long)run_a, off);
        json_t *d = get_json(ws, p, 200);
        assert_int_equal(json_integer_value(json_object_get(d, "total")), 250);
        json_t *arr = json_object_get(d, "samples");
        assert_int_equal(json_array_size(arr), off < 200 ? 100 : 50);
        size_t i;
        json_t *x;
        json_array_foreach(arr, i, x)
        {
            int64_t id = json_integer_value(json_object_get(x, "id"));
            assert_true(id > last_id);
            last_id = id;
            seen++;
        }
        json_decref(d);
    }
    assert_int_equal(seen, 250);

    struct {
        const char *q;
        int64_t total;
    } cases[] = {
        {"task=t2", 50},
        {"correct=1", 125},
        {"correct=0", 125},
        {"correct=na", 0},
        {"task=t1&correct=0", 100},
        {"q=answer%2012", 11},
        {"q=%3Cimg", 1},
        {"format=", 250},
        {"format=x", 0},
        {"task=nope", 0},
        {"item=007", 1},
        {"item=007&task=t2", 0},
        {"item=999", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(p, sizeof(p), "/api/runs/%lld/samples?%s", (long long)run_a, cases[i].q);
        json_t *d = get_json(ws, p, 200);
        int64_t total = json_integer_value(json_object_get(d, "total"));
        if (total != cases[i].total)
            fail_msg("%s: total %lld, want %lld", cases[i].q, (long long)total,
                     (long long)cases[i].total);
        json_decref(d);
    }
    web_server_stop(ws);
}

/* the hostile sample: markup comes back as the same characters (the page inserts it as
 * text), invalid bytes as U+FFFD, the e-mail address masked unless raw */
static void test_text_masking_and_utf8(void **state)
{
    for (int raw = 0; raw < 2; raw++) {
        struct web_server *ws = start(raw);
        char p[256];
        /* search matches stored text that is also in the text as served: a masked
         * address cannot be found (that would tell that it is stored), nor can the label
         * that replaces it (it is not stored) */
        struct {
            const char *q;
            int64_t masked, raw;
        } search[] = {{"alice", 0, 1},
                      {"example.com", 0, 1},
                      {"%5BEMAIL_ADDRESS%5D", 0, 0},
                      {"onerror", 1, 1},
                      {"answer%2012", 11, 11}};
        for (size_t i = 0; i < sizeof(search) / sizeof(search[0]); i++) {
            snprintf(p, sizeof(p), "/api/runs/%lld/samples?q=%s", (long long)run_a, search[i].q);
            json_t *sd = get_json(ws, p, 200);
            int64_t total = json_integer_value(json_object_get(sd, "total"));
            int64_t want = raw ? search[i].raw : search[i].masked;
            if (total != want)
                fail_msg("%s q=%s: total %lld, want %lld", raw ? "raw" : "masked", search[i].q,
                         (long long)total, (long long)want);
            assert_int_equal(json_array_size(json_object_get(sd, "samples")), want);
            json_decref(sd);
        }
        snprintf(p, sizeof(p), "/api/runs/%lld/samples?q=onerror", (long long)run_a);
        json_t *d = get_json(ws, p, 200);
        json_t *x = json_array_get(json_object_get(d, "samples"), 0);
        assert_non_null(x);
        assert_int_equal(json_is_true(json_object_get(d, "masked")), !raw);
        const char *out = json_string_value(json_object_get(x, "output"));
        assert_non_null(out);
        assert_non_null(strstr(out, "<script>alert(1)</script>\"><img src=x onerror=alert(1)>"));
        assert_non_null(strstr(out, "bad:\xEF\xBF\xBD\xEF\xBF\xBD end"));
        const char *prompt = json_string_value(json_object_get(x, "prompt"));
        if (raw) {
            assert_non_null(strstr(prompt, "alice.smith@example.com"));
        } else {
            assert_null(strstr(prompt, "alice.smith"));
            assert_non_null(strstr(prompt, "[EMAIL_ADDRESS]"));
        }
        json_decref(d);
        snprintf(p, sizeof(p), "/api/runs/%lld/pii", (long long)run_a);
        d = get_json(ws, p, 200);
        json_t *ex = json_array_get(json_object_get(d, "examples"), 0);
        assert_non_null(ex);
        const char *t = json_string_value(json_object_get(ex, "text"));
        assert_non_null(t);
        assert_int_equal(strstr(t, "alice.smith@example.com") != NULL, raw);
        assert_int_equal(strstr(t, "[EMAIL_ADDRESS]") != NULL, !raw);
        json_decref(d);
        web_server_stop(ws);
    }
}

static void test_compare(void **state)
{
    struct web_server *ws = start(false);
    char p[256];
    snprintf(p, sizeof(p), "/api/compare?a=%lld&b=%lld", (long long)run_a, (long long)run_b);
    json_t *d = get_json(ws, p, 200);
    json_t *tasks = json_object_get(d, "tasks");
    assert_int_equal(json_array_size(tasks), 2);
    json_t *t1 = json_array_get(tasks, 0);
    assert_string_equal(json_string_value(json_object_get(t1, "task")), "t1");
    assert_int_equal(json_integer_value(json_object_get(t1, "n")), 200);
    /* B fixes the odd items i % 5 == 1 of t1: i = 1, 11, 21 ... 191: 20 of them */
    assert_float_equal(json_real_value(json_object_get(t1, "delta")), 20.0 / 200, 1e-12);
    json_t *mc = json_object_get(t1, "mcnemar");
    assert_int_equal(json_integer_value(json_object_get(mc, "n01")), 0);
    assert_int_equal(json_integer_value(json_object_get(mc, "n10")), 20);
    assert_true(json_real_value(json_object_get(mc, "p_value")) < 1e-4);
    double lo = json_real_value(json_object_get(t1, "lo"));
    double hi = json_real_value(json_object_get(t1, "hi"));
    assert_true(lo > 0 && lo < 0.1 && hi > 0.1 && hi < 0.2);
    assert_int_equal(json_array_size(json_object_get(t1, "better")), 20);
    assert_int_equal(json_array_size(json_object_get(t1, "worse")), 0);
    json_t *t2 = json_array_get(tasks, 1);
    assert_float_equal(json_real_value(json_object_get(t2, "delta")), 0, 1e-12);
    json_t *all = json_object_get(d, "overall");
    assert_int_equal(json_integer_value(json_object_get(all, "n")), 250);
    json_decref(d);
    web_server_stop(ws);
}

/* the server's read-only connection sees samples another connection commits meanwhile */
static void test_reads_while_writing(void **state)
{
    struct web_server *ws = start(false);
    struct store *s = NULL;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(store_open(&s, db_path, 0, &e), 0);
    struct store_run_new rn = {.kind = "eval", .config_json = "{\"n\":3}"};
    int64_t id = 0;
    assert_int_equal(store_begin_run(s, &rn, &id, &e), 0);
    char p[256];
    snprintf(p, sizeof(p), "/api/runs/%lld/samples", (long long)id);
    for (int i = 0; i < 3; i++) {
        json_t *d = get_json(ws, p, 200);
        assert_int_equal(json_integer_value(json_object_get(d, "total")), i);
        json_decref(d);
        char item[16];
        snprintf(item, sizeof(item), "%d", i);
        struct store_sample x = {
            .task = "t", .item = item, .output = "o", .score = 1, .correct = 1};
        assert_int_equal(store_put_sample(s, id, &x, &e), 0);
    }
    store_close(s);
    web_server_stop(ws);
}

/* a 1 MiB output: served cut to 256 KiB, marked truncated, the address inside the cut
 * masked, the one past it absent */
static void test_large_text(void **state)
{
    struct store *s = NULL;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(store_open(&s, db_path, 0, &e), 0);
    struct store_run_new rn = {.kind = "eval", .config_json = "{\"n\":4}"};
    int64_t id = 0;
    assert_int_equal(store_begin_run(s, &rn, &id, &e), 0);
    size_t n = (size_t)1 << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = "lorem ipsum dolor "[i % 18];
    big[n] = '\0';
    memcpy(big + 100000, " carol.white@example.com ", 25);
    memcpy(big + 300000, " dave.black@example.com ", 24);
    struct store_sample x = {.task = "t", .item = "big", .output = big, .score = 0, .correct = 0};
    assert_int_equal(store_put_sample(s, id, &x, &e), 0);
    store_close(s);
    free(big);
    struct web_server *ws = start(false);
    char p[256];
    snprintf(p, sizeof(p), "/api/runs/%lld/samples", (long long)id);
    json_t *d = get_json(ws, p, 200);
    json_t *smp = json_array_get(json_object_get(d, "samples"), 0);
    const char *out = json_string_value(json_object_get(smp, "output"));
    assert_non_null(out);
    assert_true(strlen(out) <= 256 * 1024);
    assert_true(strlen(out) > 250 * 1024);
    assert_true(json_is_true(json_object_get(smp, "truncated")));
    assert_null(strstr(out, "carol.white"));
    assert_non_null(strstr(out, "[EMAIL_ADDRESS]"));
    assert_null(strstr(out, "dave.black"));
    json_decref(d);
    web_server_stop(ws);
}

static void test_utf8_clean(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    const char in[] = "a\xC3\xA9"
                      "b\xC3"
                      "c\xED\xA0\x80"
                      "d\xF0\x9F\x98\x80";
    assert_int_equal(web_utf8_clean(&b, in, sizeof(in) - 1), 0);
    assert_string_equal(b.data, "a\xC3\xA9"
                                "b\xEF\xBF\xBD"
                                "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                                "d\xF0\x9F\x98\x80");
    buf_release(&b);
}

static void test_bad_start(void **state)
{
    struct web_server *ws = NULL;
    struct assay_error e;
    err_clear(&e);
    struct web_config cfg = {.db_path = db_path, .bind = "localhost", .port = 0};
    assert_int_equal(web_server_start(&ws, &cfg, &e), ASSAY_EUSAGE);
    assert_null(ws);
    err_clear(&e);
    char missing[1300];
    snprintf(missing, sizeof(missing), "%s.missing", db_path);
    cfg.bind = NULL;
    cfg.db_path = missing;
    assert_int_equal(web_server_start(&ws, &cfg, &e), ASSAY_ENOTFOUND);
    assert_null(ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_clean),
        cmocka_unit_test(test_headers_and_methods),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_samples_paging_filters),
        cmocka_unit_test(test_text_masking_and_utf8),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_reads_while_writing),
        cmocka_unit_test(test_large_text),
        cmocka_unit_test(test_bad_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
