/*
 * tests/datasets/test_fetch.c - downloads against an HTTP server that this test starts on
 * 127.0.0.1 (a forked child on an ephemeral port) and stops: a normal transfer, a
 * connection dropped half-way (the download resumes with a Range request and the file
 * ends correct), a resume across runs from a leftover .part, a server that ignores Range,
 * transient 503s, 404, a redirect, corrupted bytes (sha256 mismatch, nothing cached), the
 * size cap, and `ds_fetch` of real registry files from a mirror served over HTTP.
 * No other network is used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "base/hash.h"
#include "datasets/ds.h"

enum srv_mode {
    SRV_NORMAL,
    SRV_DROP,         /* every request that starts at byte 0 gets half the body, then EOF */
    SRV_CORRUPT,      /* one byte of the body flipped */
    SRV_FLAKY,        /* the first two requests get 503 */
    SRV_NORANGE_DROP, /* first request dropped half-way, then Range is ignored (200) */
};

struct srv {
    pid_t pid;
    int port;
    char log[1024]; /* one line per request: "GET /path range=N" */
};

static ssize_t send_all(int fd, const void *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = send(fd, (const char *)p + off, n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        off += (size_t)k;
    }
    return (ssize_t)off;
}

static void serve_one(int fd, const char *root, enum srv_mode mode, int n_req, FILE *log)
{
    char req[8192];
    size_t len = 0;
    while (len < sizeof(req) - 1) {
        ssize_t k = recv(fd, req + len, sizeof(req) - 1 - len, 0);
        if (k <= 0)
            return;
        len += (size_t)k;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    char path[1024] = "";
    if (sscanf(req, "GET %1000s", path) != 1)
        return;
    long from = 0;
    const char *r = strcasestr(req, "\r\nRange: bytes=");
    if (r)
        from = strtol(r + 15, NULL, 10);
    fprintf(log, "GET %s range=%ld\n", path, r ? from : -1L);
    fflush(log);
    char hdr[512];
    if (strncmp(path, "/redir/", 7) == 0) {
        int n = snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 302 Found\r\nLocation: /%s\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n",
                         path + 7);
        send_all(fd, hdr, (size_t)n);
        return;
    }
    if (mode == SRV_FLAKY && n_req < 2) {
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n"
                                   "Connection: close\r\n\r\nbusy";
        send_all(fd, busy, sizeof(busy) - 1);
        return;
    }
    char file[2048];
    snprintf(file, sizeof(file), "%s%s", root, path);
    FILE *f = fopen(file, "rb");
    if (!f || strstr(path, "..")) {
        static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
                                 "Connection: close\r\n\r\nnot found";
        send_all(fd, nf, sizeof(nf) - 1);
        if (f)
            fclose(f);
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *body = malloc((size_t)size + 1);
    if (fread(body, 1, (size_t)size, f) != (size_t)size)
        size = 0;
    fclose(f);
    if (mode == SRV_CORRUPT && size > 10)
        body[size / 2] ^= 0x20;
    if (mode == SRV_NORANGE_DROP && n_req > 0)
        r = NULL, from = 0;
    int n;
    if (r && from >= size) {
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%ld\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     size);
        send_all(fd, hdr, (size_t)n);
        free(body);
        return;
    }
    if (r)
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %ld-%ld/%ld\r\n"
                     "Content-Length: %ld\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
                     from, size - 1, size, size - from);
    else
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\nAccept-Ranges: bytes\r\n"
                     "Connection: close\r\n\r\n",
                     size);
    send_all(fd, hdr, (size_t)n);
    long send_n = size - from;
    if ((mode == SRV_DROP && from == 0) || (mode == SRV_NORANGE_DROP && n_req == 0))
        send_n = size / 2; /* and hang up: curl sees a short body */
    send_all(fd, body + from, (size_t)send_n);
    free(body);
}

static void srv_start(struct srv *s, const char *root, enum srv_mode mode, const char *tmp)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->log, sizeof(s->log), "%s/server.log", tmp);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0; /* ephemeral */
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* never outlive the test: die with the parent, give up after a minute, and do not
         * hold ctest's output pipes open */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        alarm(60);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
        signal(SIGPIPE, SIG_IGN);
        FILE *log = fopen(s->log, "w");
        if (!log)
            _exit(1);
        for (int n_req = 0;; n_req++) {
            int c = accept(fd, NULL, NULL);
            if (c < 0) {
                if (errno == EINTR)
                    continue;
                _exit(1);
            }
            serve_one(c, root, mode, n_req, log);
            shutdown(c, SHUT_RDWR);
            close(c);
        }
    }
    close(fd);
    s->pid = pid;
}

static void srv_stop(struct srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

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

static int ends_with_str(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int exists(const char *p)
{
    return access(p, F_OK) == 0;
}

/* A served folder with one 300 KB file of pseudo-random bytes, and its sha256. */
struct fixture {
    char tmp[1024];
    char root[1100];
    char body_path[1200];
    char sha[65];
    size_t size;
};

static void fixture_init(struct fixture *fx)
{
    const char *t = tu_tmpdir();
    assert_non_null(t);
    snprintf(fx->tmp, sizeof(fx->tmp), "%s", t);
    snprintf(fx->root, sizeof(fx->root), "%s/www", fx->tmp);
    assert_int_equal(mkdir(fx->root, 0755), 0);
    snprintf(fx->body_path, sizeof(fx->body_path), "%s/data.bin", fx->root);
    fx->size = 300000;
    unsigned char *b = malloc(fx->size);
    assert_non_null(b);
    uint32_t x = 7;
    for (size_t i = 0; i < fx->size; i++) {
        x = x * 1664525u + 1013904223u;
        b[i] = (unsigned char)(x >> 24);
    }
    FILE *f = fopen(fx->body_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, fx->size, f), fx->size);
    fclose(f);
    assert_int_equal(hash_sha256_hex(b, fx->size, fx->sha, NULL), 0);
    free(b);
}

struct prog {
    int64_t done, total;
    int calls;
};

static void on_progress(void *user, int64_t done, int64_t total, const char *what)
{
    struct prog *p = user;
    p->done = done;
    p->total = total;
    p->calls++;
}

static void check_same(const struct fixture *fx, const char *dest)
{
    size_t a, b;
    char *x = slurp(fx->body_path, &a);
    char *y = slurp(dest, &b);
    assert_non_null(y);
    assert_int_equal(a, b);
    assert_memory_equal(x, y, a);
    free(x);
    free(y);
    char part[1300];
    snprintf(part, sizeof(part), "%s.part", dest);
    assert_false(exists(part));
}

static int log_has(const struct srv *s, const char *needle)
{
    char *l = slurp(s->log, NULL);
    int hit = l && strstr(l, needle) != NULL;
    free(l);
    return hit;
}

static void url_of(char *out, size_t n, const struct srv *s, const char *path)
{
    snprintf(out, n, "http://127.0.0.1:%d/%s", s->port, path);
}

static void test_normal_and_redirect(void **state)
{
    struct fixture fx;
    fixture_init(&fx);
    struct srv s;
    srv_start(&s, fx.root, SRV_NORMAL, fx.tmp);
    char url[256], dest[1300];
    url_of(url, sizeof(url), &s, "data.bin");
    snprintf(dest, sizeof(dest), "%s/cache/sub/data.bin", fx.tmp);
    struct prog p = {0};
    struct ds_opts o = {.retry_base_ms = 10};
    o.progress.fn = on_progress;
    o.progress.user = &p;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_download(url, dest, fx.sha, &o, &e), 0);
    check_same(&fx, dest);
    assert_true(p.calls > 0);
    assert_int_equal(p.done, (int64_t)fx.size);
    assert_int_equal(p.total, (int64_t)fx.size);
    /* through a redirect */
    unlink(dest);
    url_of(url, sizeof(url), &s, "redir/data.bin");
    assert_int_equal(ds_download(url, dest, fx.sha, &o, &e), 0);
    check_same(&fx, dest);
    assert_true(log_has(&s, "GET /redir/data.bin"));
    /* 404: not found, nothing left behind */
    unlink(dest);
    url_of(url, sizeof(url), &s, "missing.bin");
    assert_int_equal(ds_download(url, dest, NULL, &o, &e), ASSAY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "HTTP 404"));
    assert_false(exists(dest));
    char part[1400];
    snprintf(part, sizeof(part), "%s.part", dest);
    assert_false(exists(part));
    /* the size cap */
    err_clear(&e);
    url_of(url, sizeof(url), &s, "data.bin");
    struct ds_opts small = {.max_bytes = 1000, .retry_base_ms = 10};
    assert_int_equal(ds_download(url, dest, NULL, &small, &e), ASSAY_ELIMIT);
    assert_false(exists(dest));
    srv_stop(&s);
}

static void test_drop_resumes(void **state)
{
    struct fixture fx;
    fixture_init(&fx);
    struct srv s;
    srv_start(&s, fx.root, SRV_DROP, fx.tmp);
    char url[256], dest[1300], needle[64];
    url_of(url, sizeof(url), &s, "data.bin");
    snprintf(dest, sizeof(dest), "%s/cache/data.bin", fx.tmp);
    struct ds_opts o = {.retry_base_ms = 10};
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_download(url, dest, fx.sha, &o, &e), 0);
    check_same(&fx, dest);
    snprintf(needle, sizeof(needle), "range=%zu", fx.size / 2);
    assert_true(log_has(&s, needle)); /* the second request continued at the half */
    srv_stop(&s);
}

static void test_resume_leftover_part(void **state)
{
    struct fixture fx;
    fixture_init(&fx);
    struct srv s;
    srv_start(&s, fx.root, SRV_NORMAL, fx.tmp);
    char url[256], dest[1300], part[1400];
    url_of(url, sizeof(url), &s, "data.bin");
    snprintf(dest, sizeof(dest), "%s/data.bin", fx.tmp);
    snprintf(part, sizeof(part), "%s.part", dest);
    size_t n;
    char *b = slurp(fx.body_path, &n);
    FILE *f = fopen(part, "wb");
    assert_non_null(f);
    fwrite(b, 1, 12345, f);
    fclose(f);
    free(b);
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_download(url, dest, fx.sha, NULL, &e), 0);
    check_same(&fx, dest);
    assert_true(log_has(&s, "range=12345"));
    /* a complete .part left by a run that died before the rename: 416, then start over */
    unlink(dest);
    b = slurp(fx.body_path, &n);
    f = fopen(part, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
    struct ds_opts o = {.retry_base_ms = 10};
    assert_int_equal(ds_download(url, dest, fx.sha, &o, &e), 0);
    check_same(&fx, dest);
    srv_stop(&s);
}

static void test_server_ignores_range(void **state)
{
    struct fixture fx;
    fixture_init(&fx);
    struct srv s;
    srv_start(&s, fx.root, SRV_NORANGE_DROP, fx.tmp);
    char url[256], dest[1300];
    url_of(url, sizeof(url), &s, "data.bin");
    snprintf(dest, sizeof(dest), "%s/data.bin", fx.tmp);
    struct ds_opts o = {.retry_base_ms = 10};
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_download(url, dest, fx.sha, &o, &e), 0);
    check_same(&fx, dest);
    srv_stop(&s);
}

static void test_transient_retry(void **state)
{
    struct fixture fx;
    fixture_init(&fx);
    struct srv s;
    srv_start(&s, fx.root, SRV_FLAKY, fx.tmp);
    char url[256], dest[1300];
    url_of(url, sizeof(url), &s, "data.bin");
    snprintf(dest, sizeof(dest), "%s/data.bin", fx.tmp);
    struct ds_opts o = {.retry_base_ms = 10};
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_download(url, dest, fx.sha, &o, &e), 0);
    check_same(&fx, dest);
    srv_stop(&s);
    /* with no retries the first 503 is final */
    unlink(dest);
    srv_start(&s, fx.root, SRV_FLAKY, fx.tmp);
    url_of(url, sizeof(url), &s, "data.bin");
    struct ds_opts none = {.max_retries = -1};
    err_clear(&e);
    assert_int_equal(ds_download(url, dest, fx.sha, &none, &e), ASSAY_ENETWORK);
    assert_non_null(strstr(e.msg, "HTTP 503"));
    assert_false(exists(dest));
    srv_stop(&s);
    /* nobody listening: connection refused is retried, then reported */
    err_clear(&e);
    struct ds_opts two = {.max_retries = 2, .retry_base_ms = 5};
    assert_int_equal(ds_download(url, dest, NULL, &two, &e), ASSAY_ENETWORK);
    assert_false(exists(dest));
}

static void test_corrupt_not_cached(void **state)
{
    struct fixture fx;
    fixture_init(&fx);
    struct srv s;
    srv_start(&s, fx.root, SRV_CORRUPT, fx.tmp);
    char url[256], dest[1300], part[1400];
    url_of(url, sizeof(url), &s, "data.bin");
    snprintf(dest, sizeof(dest), "%s/cache/data.bin", fx.tmp);
    snprintf(part, sizeof(part), "%s.part", dest);
    struct ds_opts o = {.retry_base_ms = 10};
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(ds_download(url, dest, fx.sha, &o, &e), ASSAY_EINVAL);
    fprintf(stderr, "%s\n", e.msg);
    assert_non_null(strstr(e.msg, "sha256 mismatch for '"));
    char want[200];
    snprintf(want, sizeof(want), "expected %s, got ", fx.sha);
    assert_non_null(strstr(e.msg, want));
    assert_false(exists(dest));
    assert_false(exists(part));
    srv_stop(&s);
}

/* ds_fetch of real registry files from ../shared/datasets served over HTTP. */
static void test_fetch_from_mirror(void **state)
{
    const char *shared = tu_shared("datasets/gsm8k/test.jsonl");
    TU_SKIP_IF_MISSING(shared, "datasets/gsm8k/test.jsonl");
    char root[1024];
    snprintf(root, sizeof(root), "%s", tu_shared("datasets"));
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    char cache[1100], base[128];
    snprintf(cache, sizeof(cache), "%s/cache", tmp);
    const struct ds_info *d = ds_registry_find("gsm8k");
    struct assay_error e;
    /* corrupted bytes: an error, and nothing in the cache */
    struct srv s;
    srv_start(&s, root, SRV_CORRUPT, tmp);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/", s.port);
    struct ds_opts o = {
        .cache_dir = cache, .base_url = base, .retry_base_ms = 10, .data_dir = "/nonexistent"};
    size_t n = 99;
    err_clear(&e);
    assert_int_equal(ds_fetch(d, &o, &n, &e), ASSAY_EINVAL);
    assert_int_equal(n, 0);
    assert_non_null(strstr(e.msg, "sha256 mismatch"));
    char p[2048];
    err_clear(&e);
    assert_int_equal(ds_resolve(p, sizeof(p), "gsm8k", "test.jsonl", &o, &e), ASSAY_ENOTFOUND);
    srv_stop(&s);
    /* a good mirror that drops every first connection half-way */
    srv_start(&s, root, SRV_DROP, tmp);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", s.port);
    err_clear(&e);
    assert_int_equal(ds_fetch(d, &o, &n, &e), 0);
    assert_int_equal(n, d->n_files);
    for (size_t i = 0; i < d->n_files; i++) {
        enum ds_verify_status st;
        assert_int_equal(ds_verify_file(&st, NULL, p, sizeof(p), &d->files[i], &o, &e), 0);
        assert_int_equal(st, DS_VERIFY_OK);
        assert_non_null(strstr(p, cache));
    }
    /* a second fetch has nothing to do */
    assert_int_equal(ds_fetch(d, &o, &n, &e), 0);
    assert_int_equal(n, 0);
    srv_stop(&s);
    /* no base URL and a file without a URL (hellaswag): unsupported, said clearly */
    struct ds_opts nob = {.cache_dir = cache, .data_dir = "/nonexistent"};
    unsetenv("ASSAY_DATASETS_BASE_URL");
    err_clear(&e);
    assert_int_equal(ds_fetch(ds_registry_find("hellaswag"), &nob, &n, &e), ASSAY_EUNSUPPORTED);
    assert_non_null(strstr(e.msg, "no download URL"));
}

static void write_tar(const char *path, const char *const *names, const char *const *bodies, int n)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)strlen(bodies[i]));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, bodies[i], strlen(bodies[i])),
                         (la_ssize_t)strlen(bodies[i]));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

/* Canonical URLs (no base URL): archive members, extracted and checked, and a file that
 * the mirror stores gzipped but the URL serves plain. The dataset rows are the test's own,
 * pointing at the local server. */
static void test_fetch_canonical_urls(void **state)
{
    const char *tmp = tu_tmpdir();
    assert_non_null(tmp);
    char www[1100], tar[1200], plain[1200], cache[1100];
    snprintf(www, sizeof(www), "%s/www", tmp);
    snprintf(cache, sizeof(cache), "%s/cache", tmp);
    assert_int_equal(mkdir(www, 0755), 0);
    snprintf(tar, sizeof(tar), "%s/data.tar", www);
    static const char *const names[] = {"data/test/x_test.csv", "data/dev/x_dev.csv"};
    static const char *const bodies[] = {"q,a,b,c,d,A\n", "\"q\nq\",a,b,c,d,B\n"};
    write_tar(tar, names, bodies, 2);
    snprintf(plain, sizeof(plain), "%s/train.jsonl", www);
    FILE *f = fopen(plain, "w");
    assert_non_null(f);
    fputs("{\"question\": \"q\", \"answer\": \"#### 1\"}\n", f);
    fclose(f);
    char sha_test[65], sha_dev[65];
    assert_int_equal(hash_sha256_hex(bodies[0], strlen(bodies[0]), sha_test, NULL), 0);
    assert_int_equal(hash_sha256_hex(bodies[1], strlen(bodies[1]), sha_dev, NULL), 0);
    struct srv s;
    srv_start(&s, www, SRV_DROP, tmp);
    char url_tar[128], url_plain[128];
    url_of(url_tar, sizeof(url_tar), &s, "data.tar");
    url_of(url_plain, sizeof(url_plain), &s, "train.jsonl");
    struct ds_file files[] = {
        {"fake/test/x_test.csv", "test", DS_FORMAT_CSV, 1, 12, sha_test, url_tar,
         "data/test/x_test.csv", 0},
        {"fake/dev/x_dev.csv", "dev", DS_FORMAT_CSV, 1, 16, sha_dev, url_tar, "data/dev/x_dev.csv",
         0},
        {"fake/train.jsonl.gz", "train", DS_FORMAT_JSONL, 1, 0,
         "0000000000000000000000000000000000000000000000000000000000000000", url_plain, NULL, 1},
    };
    struct ds_info d = {"fake", "a test dataset", "MIT", "here", 1, files, 3};
    struct ds_opts o = {.cache_dir = cache, .data_dir = "/nonexistent", .retry_base_ms = 10};
    unsetenv("ASSAY_DATASETS_BASE_URL");
    struct assay_error e;
    err_clear(&e);
    size_t n = 0;
    assert_int_equal(ds_fetch(&d, &o, &n, &e), 0);
    assert_int_equal(n, 3);
    enum ds_verify_status st;
    char p[2048];
    assert_int_equal(ds_verify_file(&st, NULL, p, sizeof(p), &files[0], &o, &e), 0);
    assert_int_equal(st, DS_VERIFY_OK);
    assert_int_equal(ds_verify_file(&st, NULL, p, sizeof(p), &files[1], &o, &e), 0);
    assert_int_equal(st, DS_VERIFY_OK);
    /* the gz_of_url file is kept plain, under the name without .gz */
    assert_int_equal(ds_verify_file(&st, NULL, p, sizeof(p), &files[2], &o, &e), 0);
    assert_int_equal(st, DS_VERIFY_UNCHECKED);
    assert_true(ends_with_str(p, "/fake/train.jsonl"));
    char arch[1300];
    snprintf(arch, sizeof(arch), "%s/.archives/data.tar", cache);
    assert_true(exists(arch)); /* downloaded once (resumed after the drop) and kept */
    /* a member whose bytes do not match: error, nothing written */
    struct ds_file bad[] = {{"fake2/test/x_test.csv", "test", DS_FORMAT_CSV, 1, 12, sha_dev,
                             url_tar, "data/test/x_test.csv", 0}};
    struct ds_info d2 = {"fake2", "mismatch", "MIT", "here", 1, bad, 1};
    err_clear(&e);
    assert_int_equal(ds_fetch(&d2, &o, &n, &e), ASSAY_EINVAL);
    assert_non_null(strstr(e.msg, "sha256 mismatch for 'data/test/x_test.csv' in '"));
    snprintf(p, sizeof(p), "%s/fake2/test/x_test.csv", cache);
    assert_false(exists(p));
    /* a member the archive lacks */
    struct ds_file none[] = {
        {"fake3/x.csv", "test", DS_FORMAT_CSV, 1, 1, sha_dev, url_tar, "data/val/x_val.csv", 0}};
    struct ds_info d3 = {"fake3", "missing member", "MIT", "here", 1, none, 1};
    err_clear(&e);
    assert_int_equal(ds_fetch(&d3, &o, &n, &e), ASSAY_ENOTFOUND);
    srv_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_and_redirect),  cmocka_unit_test(test_drop_resumes),
        cmocka_unit_test(test_resume_leftover_part), cmocka_unit_test(test_server_ignores_range),
        cmocka_unit_test(test_transient_retry),      cmocka_unit_test(test_corrupt_not_cached),
        cmocka_unit_test(test_fetch_from_mirror),    cmocka_unit_test(test_fetch_canonical_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
