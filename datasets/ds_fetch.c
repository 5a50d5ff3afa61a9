/*
 * datasets/ds_fetch.c - downloading dataset files into the cache with libcurl: redirects,
 * resuming a ".part" file with Range requests, retries with exponential backoff on
 * transient failures, progress reports, and a sha256 check before an atomic rename, so
 * the cache never holds a file that does not match the registry.
 *
 * Only `assay datasets fetch` reaches the network; resolving and reading never do.
 */
#include "datasets/ds_registry.h"
#include "datasets/ds_read.h"
#include "datasets/ds_registry_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assay_version.h"
#include "base/file.h"
#include "base/hash.h"

struct dl {
    FILE *fp;
    const char *part;
    int64_t offset; /* bytes already in the .part file when this attempt started */
    int64_t got;    /* bytes written by this attempt */
    size_t max_bytes;
    int over_cap;
    int write_failed;
    const struct progress *progress;
    const char *what;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct dl *d = user;
    size_t n = size * nmemb;
    if ((uint64_t)d->offset + (uint64_t)d->got + n > d->max_bytes) {
        d->over_cap = 1;
        return 0;
    }
    if (fwrite(ptr, 1, n, d->fp) != n) {
        d->write_failed = 1;
        return 0;
    }
    d->got += (int64_t)n;
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    struct dl *d = user;
    int64_t total = dltotal > 0 ? d->offset + (int64_t)dltotal : -1;
    progress_report(d->progress, d->offset + (int64_t)dlnow, total, d->what);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int transient_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int transient_http(long code)
{
    return code == 408 || code == 429 || (code >= 500 && code <= 599);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* One transfer attempt. Returns 0 when the body is complete; sets *transient for failures
 * worth retrying and *restart when the .part file must be dropped (server ignored Range
 * or refused it). */
static int attempt(const char *url, const char *part, const struct ds_opts *o, size_t max_bytes,
                   int *transient, int *restart, int64_t *got, struct assay_error *err)
{
    *transient = 0;
    *restart = 0;
    *got = 0;
    struct dl d = {0};
    d.part = part;
    d.offset = file_size(part);
    d.max_bytes = max_bytes;
    d.progress = o ? &o->progress : NULL;
    d.what = url;
    char ebuf[CURL_ERROR_SIZE] = "";
    int rc = 0;
    CURL *c = NULL;
    d.fp = fopen(part, "ab");
    if (!d.fp)
        return err_set_at(err, ASSAY_EIO, part, 0, "cannot write: %s", strerror(errno));
    c = curl_easy_init();
    if (!c) {
        rc = err_set(err, ASSAY_ENOMEM, "cannot start libcurl");
        goto out;
    }
    long low_speed = o && o->low_speed_s > 0 ? o->low_speed_s : 60;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_speed);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "assay/" ASSAY_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (d.offset > 0)
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)d.offset);
    CURLcode cc = curl_easy_perform(c);
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    *got = d.got;
    if (fflush(d.fp) != 0)
        d.write_failed = 1;
    if (cc == CURLE_OK)
        goto out;
    if (d.over_cap) {
        rc = err_set(err, ASSAY_ELIMIT, "download of '%s' larger than %zu bytes", url, max_bytes);
        goto out;
    }
    if (d.write_failed) {
        rc = err_set_at(err, ASSAY_EIO, part, 0, "write failed: %s", strerror(errno));
        goto out;
    }
    if (cc == CURLE_RANGE_ERROR || (cc == CURLE_HTTP_RETURNED_ERROR && http == 416)) {
        /* the server ignored or refused our Range: start over from byte 0 */
        *restart = 1;
        *transient = 1;
        rc = err_set(err, ASSAY_ENETWORK, "'%s': server refused to resume (HTTP %ld)", url, http);
        goto out;
    }
    if (cc == CURLE_HTTP_RETURNED_ERROR) {
        *transient = transient_http(http);
        rc = err_set(err, http == 404 ? ASSAY_ENOTFOUND : ASSAY_ENETWORK, "'%s': HTTP %ld", url,
                     http);
        goto out;
    }
    *transient = transient_curl(cc);
    rc = err_set(err, ASSAY_ENETWORK, "'%s': %s", url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
out:
    if (c)
        curl_easy_cleanup(c);
    if (fclose(d.fp) != 0 && rc == 0)
        rc = err_set_at(err, ASSAY_EIO, part, 0, "write failed: %s", strerror(errno));
    return rc;
}

static int download_loop(const char *url, const char *part, const char *dest,
                         const char *sha256_hex, const struct ds_opts *o, struct assay_error *err);

int ds_download(const char *url, const char *dest, const char *sha256_hex, const struct ds_opts *o,
                struct assay_error *err)
{
    char part[4096];
    int k = snprintf(part, sizeof(part), "%s.part", dest);
    if (k < 0 || (size_t)k >= sizeof(part))
        return err_set(err, ASSAY_ELIMIT, "path '%s' too long", dest);
    int rc = ds_mkdirs_for(dest, err);
    if (rc < 0)
        return rc;
    /* reference-counted and thread-safe since libcurl 7.84 (Debian 12 has 7.88) */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(err, ASSAY_EFAIL, "libcurl initialisation failed");
    rc = download_loop(url, part, dest, sha256_hex, o, err);
    curl_global_cleanup();
    return rc;
}

static int download_loop(const char *url, const char *part, const char *dest,
                         const char *sha256_hex, const struct ds_opts *o, struct assay_error *err)
{
    int rc;
    int max_retries = o && o->max_retries ? (o->max_retries < 0 ? 0 : o->max_retries) : 5;
    long delay = o && o->retry_base_ms > 0 ? o->retry_base_ms : 500;
    size_t max_bytes = o && o->max_bytes ? o->max_bytes : ((size_t)8 << 30);
    int failures = 0, attempts = 0;
    for (;;) {
        struct assay_error e1;
        err_clear(&e1);
        int transient, restart;
        int64_t got;
        rc = attempt(url, part, o, max_bytes, &transient, &restart, &got, &e1);
        attempts++;
        if (rc == 0)
            break;
        if (restart)
            (void)truncate(part, 0);
        /* a dropped connection that still delivered bytes is progress: resume at once;
         * 1000 attempts bounds a server that trickles a byte per connection */
        if (transient && got > 0 && attempts < 1000)
            continue;
        if (!transient || failures >= max_retries) {
            if (err && !err->code)
                *err = e1;
            if (!transient)
                (void)unlink(part); /* a 404 body or a cap hit is nothing to resume */
            return rc;
        }
        failures++;
        sleep_ms(delay);
        if (delay < 30000)
            delay *= 2;
    }
    if (sha256_hex) {
        char got_hex[65];
        rc = ds_sha256_file(got_hex, part, err);
        if (rc < 0)
            return rc;
        if (strcmp(got_hex, sha256_hex) != 0) {
            (void)unlink(part);
            return err_set(err, ASSAY_EINVAL, "sha256 mismatch for '%s': expected %s, got %s", url,
                           sha256_hex, got_hex);
        }
    }
    if (rename(part, dest) != 0)
        return err_set_at(err, ASSAY_EIO, dest, 0, "cannot rename '%s' into place: %s", part,
                          strerror(errno));
    return 0;
}

static const char *basename_of(const char *url)
{
    const char *s = strrchr(url, '/');
    return s ? s + 1 : url;
}

/* Check a member's bytes against the registry and write them into the cache. */
static int store_member(const struct ds_file *f, const char *dest, const char *data, size_t len,
                        struct assay_error *err)
{
    int rc = 0;
    if (f->sha256) {
        char hex[65];
        rc = hash_sha256_hex(data, len, hex, err);
        if (rc == 0 && strcmp(hex, f->sha256) != 0)
            rc = err_set(err, ASSAY_EINVAL, "sha256 mismatch for '%s' in '%s': expected %s, got %s",
                         f->member, f->url, f->sha256, hex);
    }
    if (rc == 0)
        rc = ds_mkdirs_for(dest, err);
    if (rc == 0)
        rc = file_write_atomic(dest, data, len, err);
    return rc;
}

static const char *strip_dot_slash(const char *n)
{
    return strncmp(n, "./", 2) == 0 ? n + 2 : n;
}

/* The pending members of one archive URL (pending[i] set for files of d whose url is
 * d->files[first].url): download the archive once, then one pass over its members, so
 * that MMLU's 171 files cost one read of data.tar, not 171. Clears pending[] for every
 * file it handles; counts writes in *n_written; returns the first error. */
static int fetch_archive(const struct ds_info *d, size_t first, char *pending, const char *cache,
                         const struct ds_opts *o, size_t *n_written, struct assay_error *err)
{
    const char *url = d->files[first].url;
    char arch[4096], rel[1024];
    struct ds_tar *t = NULL;
    int rc, first_rc = 0;
    int k = snprintf(rel, sizeof(rel), ".archives/%s", basename_of(url));
    if (k < 0 || (size_t)k >= sizeof(rel)) {
        rc = err_set(err, ASSAY_ELIMIT, "url '%s' too long", url);
        goto out;
    }
    rc = ds_path_join(arch, sizeof(arch), cache, rel, err);
    if (rc == 0 && !ds_file_exists(arch))
        rc = ds_download(url, arch, NULL, o, err);
    if (rc == 0)
        rc = ds_tar_open(&t, arch, err);
    if (rc < 0)
        goto out;
    for (;;) {
        const char *name;
        int64_t size;
        rc = ds_tar_next(t, &name, &size, err);
        if (rc <= 0)
            break;
        name = strip_dot_slash(name);
        for (size_t i = first; i < d->n_files; i++) {
            const struct ds_file *f = &d->files[i];
            if (!pending[i] || strcmp(f->url, url) != 0 || strcmp(f->member, name) != 0)
                continue;
            char *data = NULL;
            size_t len = 0;
            char dest[4096];
            struct assay_error e1;
            err_clear(&e1);
            pending[i] = 0;
            rc = ds_path_join(dest, sizeof(dest), cache, f->path, &e1);
            if (rc == 0)
                rc = ds_tar_read(t, &data, &len, 0, &e1);
            if (rc == 0)
                rc = store_member(f, dest, data, len, &e1);
            free(data);
            if (rc == 0) {
                (*n_written)++;
            } else if (!first_rc) {
                first_rc = rc;
                if (err && !err->code)
                    *err = e1;
            }
            break; /* a member's data can be read once */
        }
    }
out:
    ds_tar_close(t);
    if (rc < 0 && !first_rc)
        first_rc = rc;
    for (size_t i = first; i < d->n_files; i++) {
        const struct ds_file *f = &d->files[i];
        if (!pending[i] || !f->url || strcmp(f->url, url) != 0)
            continue;
        pending[i] = 0;
        if (!first_rc)
            first_rc = err_set(err, ASSAY_ENOTFOUND, "no member '%s' in '%s'", f->member, url);
    }
    return first_rc;
}

int ds_fetch(const struct ds_info *d, const struct ds_opts *o, size_t *n_fetched,
             struct assay_error *err)
{
    char cache[2048];
    if (n_fetched)
        *n_fetched = 0;
    int rc = ds_cache_dir(cache, sizeof(cache), o, err);
    if (rc < 0)
        return rc;
    const char *base =
        o && o->base_url && *o->base_url ? o->base_url : getenv("ASSAY_DATASETS_BASE_URL");
    if (base && !*base)
        base = NULL;
    int first = 0;
    char *pending = d->n_files ? calloc(d->n_files, 1) : NULL;
    if (d->n_files && !pending)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n_files; i++) {
        const struct ds_file *f = &d->files[i];
        struct assay_error e1;
        err_clear(&e1);
        enum ds_verify_status st;
        rc = ds_verify_file(&st, NULL, NULL, 0, f, o, &e1);
        if (rc == 0 && (st == DS_VERIFY_OK || st == DS_VERIFY_UNCHECKED))
            continue;
        char dest[4096], url[4096];
        rc = ds_path_join(dest, sizeof(dest), cache, f->path, &e1);
        if (rc == 0 && base) {
            int k = snprintf(url, sizeof(url), "%s%s%s", base,
                             base[strlen(base) - 1] == '/' ? "" : "/", f->path);
            if (k < 0 || (size_t)k >= sizeof(url))
                rc = err_set(&e1, ASSAY_ELIMIT, "url too long");
            if (rc == 0)
                rc = ds_download(url, dest, f->sha256, o, &e1);
        } else if (rc == 0 && !f->url) {
            rc = err_set(&e1, ASSAY_EUNSUPPORTED,
                         "'%s' has no download URL (use a mirror: --data-dir, ASSAY_DATA_DIR or "
                         "ASSAY_DATASETS_BASE_URL)",
                         f->path);
        } else if (rc == 0 && f->member) {
            pending[i] = 1; /* below, one pass per archive */
            continue;
        } else if (rc == 0 && f->gz_of_url) {
            /* the mirror holds a gzip of this URL's bytes; keep them plain (the readers
             * take either), so the stored hash (of the gzip) does not apply */
            size_t n = strlen(dest);
            if (n > 3 && strcmp(dest + n - 3, ".gz") == 0)
                dest[n - 3] = '\0';
            rc = ds_download(f->url, dest, NULL, o, &e1);
        } else if (rc == 0) {
            rc = ds_download(f->url, dest, f->sha256, o, &e1);
        }
        if (rc < 0) {
            if (!first) {
                first = rc;
                if (err && !err->code)
                    *err = e1;
            }
            continue;
        }
        if (n_fetched)
            (*n_fetched)++;
    }
    for (size_t i = 0; i < d->n_files; i++) {
        if (!pending[i])
            continue;
        size_t n = 0;
        struct assay_error e1;
        err_clear(&e1);
        rc = fetch_archive(d, i, pending, cache, o, &n, &e1);
        if (n_fetched)
            *n_fetched += n;
        if (rc < 0 && !first) {
            first = rc;
            if (err && !err->code)
                *err = e1;
        }
    }
    free(pending);
    return first;
}
