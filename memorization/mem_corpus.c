/*
 * memorization/mem_corpus.c - reading an audit corpus: text files (one document each or
 * split on a separator, gzip allowed), JSONL with a text member or an array of token
 * ids, and directories of both. Documents are kept in memory as read; tokenization is
 * the plan's job (mem_audit.c), not this file's. Every error names the file and line.
 */
#include "memorization/mem.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"

#define MEM_MAX_FILE_BYTES ((size_t)1 << 30)
#define MEM_MAX_DEPTH      16

void mem_corpus_init(struct mem_corpus *c)
{
    memset(c, 0, sizeof(*c));
}

void mem_corpus_release(struct mem_corpus *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->docs[i].source);
        free(c->docs[i].id);
        free(c->docs[i].text);
        free(c->docs[i].ids);
    }
    free(c->docs);
    for (size_t i = 0; i < c->n_files; i++)
        free(c->files[i]);
    free(c->files);
    free(c->sha256);
    memset(c, 0, sizeof(*c));
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Whole file into memory, gunzipped when the name ends in .gz; capped at max bytes. */
static int read_file(char **out, size_t *len_out, const char *path, size_t max,
                     struct assay_error *err)
{
    *out = NULL;
    *len_out = 0;
    if (!ends_with(path, ".gz"))
        return file_read_all(out, len_out, path, max, err);
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return err_set_at(err, errno == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO, path, 0,
                          "cannot open: %s", strerror(errno ? errno : EIO));
    size_t cap = 1 << 16, len = 0;
    char *data = malloc(cap + 1);
    int rc = 0;
    if (!data) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= max) {
                rc = err_set_at(err, ASSAY_ELIMIT, path, 0,
                                "larger than %zu bytes after decompression", max);
                goto out;
            }
            size_t ncap = cap * 2 > max ? max : cap * 2;
            char *p = realloc(data, ncap + 1);
            if (!p) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            data = p;
            cap = ncap;
        }
        unsigned want = cap - len > (1u << 30) ? (1u << 30) : (unsigned)(cap - len);
        int got = gzread(gz, data + len, want);
        if (got < 0) {
            int zerr = 0;
            const char *m = gzerror(gz, &zerr);
            rc = err_set_at(err, ASSAY_EINVAL, path, 0, "gzip: %s", m ? m : "read error");
            goto out;
        }
        len += (size_t)got;
        if (got == 0 || (size_t)got < want) {
            /* end of data, or a truncated or corrupt stream (zlib reports it here) */
            int zerr = Z_OK;
            const char *m = gzerror(gz, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                rc = err_set_at(err, ASSAY_EINVAL, path, 0, "gzip: %s", m ? m : "corrupt data");
                goto out;
            }
            if (got == 0)
                break;
        }
    }
    data[len] = '\0';
    *out = data;
    *len_out = len;
    data = NULL;
out:
    free(data);
    gzclose(gz);
    return rc;
}

static int add_file_entry(struct mem_corpus *c, const char *path, const char *data, size_t len,
                          size_t *index_out, struct assay_error *err)
{
    if (c->n_files == c->cap_files) {
        size_t ncap = c->cap_files ? c->cap_files * 2 : 8;
        char **f = mem_realloc_array(c->files, ncap, sizeof(*f));
        if (!f)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        c->files = f;
        char(*h)[65] = mem_realloc_array(c->sha256, ncap, sizeof(*h));
        if (!h)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        c->sha256 = h;
        c->cap_files = ncap;
    }
    char *p = mem_strdup(path);
    if (!p)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = hash_sha256_hex(data, len, c->sha256[c->n_files], err);
    if (rc) {
        free(p);
        return rc;
    }
    c->files[c->n_files] = p;
    *index_out = c->n_files++;
    return 0;
}

/* Append a document; takes ownership of text and ids (freed on failure too). */
static int add_doc(struct mem_corpus *c, const char *source, size_t file, long line, size_t idx,
                   char *text, size_t len, int32_t *ids, size_t n_ids, struct assay_error *err)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        struct mem_doc *d = mem_realloc_array(c->docs, ncap, sizeof(*d));
        if (!d) {
            free(text);
            free(ids);
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        }
        c->docs = d;
        c->cap = ncap;
    }
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "%zu", line > 0 ? (size_t)line : idx);
    struct mem_doc *d = &c->docs[c->n];
    memset(d, 0, sizeof(*d));
    d->source = mem_strdup(source);
    d->id = mem_strdup(idbuf);
    if (!d->source || !d->id) {
        free(d->source);
        free(d->id);
        free(text);
        free(ids);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    d->file = file;
    d->line = line;
    d->text = text;
    d->len = len;
    d->ids = ids;
    d->n_ids = n_ids;
    c->n++;
    return 0;
}

static int add_text(struct mem_corpus *c, const char *path, const char *source, size_t file,
                    const char *data, size_t len, const char *sep, struct assay_error *err)
{
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    size_t sl = sep ? strlen(sep) : 0;
    size_t idx = 0, at = 0;
    while (at <= len) {
        size_t end = len;
        if (sl > 0) {
            const char *hit = memmem(data + at, len - at, sep, sl);
            if (hit)
                end = (size_t)(hit - data);
        }
        if (end > at) {
            char *t = mem_strndup(data + at, end - at);
            if (!t)
                return err_set(err, ASSAY_ENOMEM, "out of memory");
            int rc = add_doc(c, source, file, 0, idx, t, end - at, NULL, 0, err);
            if (rc)
                return rc;
        }
        idx++;
        if (end == len)
            break;
        at = end + sl;
    }
    (void)path;
    return 0;
}

static int add_jsonl(struct mem_corpus *c, const char *path, const char *source, size_t file,
                     const char *data, size_t len, const char *field, struct assay_error *err)
{
    long line = 0;
    size_t at = 0;
    while (at < len) {
        line++;
        const char *nl = memchr(data + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t a = at, e = end;
        while (a < e && (data[a] == ' ' || data[a] == '\t' || data[a] == '\r'))
            a++;
        while (e > a && (data[e - 1] == ' ' || data[e - 1] == '\t' || data[e - 1] == '\r'))
            e--;
        at = end + 1;
        if (a == e)
            continue;
        json_t *o = NULL;
        int rc = jsn_load_buf(&o, data + a, e - a, path, line, err);
        if (rc)
            return rc;
        if (!json_is_object(o)) {
            json_decref(o);
            return err_set_at(err, ASSAY_EINVAL, path, line, "expected a JSON object");
        }
        json_t *v = json_object_get(o, field);
        if (!v) {
            json_decref(o);
            return err_set_at(err, ASSAY_EINVAL, path, line, "no member '%s'", field);
        }
        if (json_is_string(v)) {
            size_t n = json_string_length(v);
            char *t = mem_strndup(json_string_value(v), n);
            json_decref(o);
            if (!t)
                return err_set(err, ASSAY_ENOMEM, "out of memory");
            if (n == 0) {
                free(t);
                continue; /* an empty document is no document */
            }
            rc = add_doc(c, source, file, line, 0, t, n, NULL, 0, err);
        } else if (json_is_array(v)) {
            size_t n = json_array_size(v);
            int32_t *ids = mem_alloc_array(n ? n : 1, sizeof(int32_t));
            if (!ids) {
                json_decref(o);
                return err_set(err, ASSAY_ENOMEM, "out of memory");
            }
            for (size_t i = 0; i < n; i++) {
                json_t *x = json_array_get(v, i);
                json_int_t id = json_is_integer(x) ? json_integer_value(x) : -1;
                if (id < 0 || id > INT32_MAX) {
                    free(ids);
                    json_decref(o);
                    return err_set_at(err, ASSAY_EINVAL, path, line,
                                      "'%s'[%zu]: expected a token id (an integer >= 0)", field,
                                      i);
                }
                ids[i] = (int32_t)id;
            }
            json_decref(o);
            if (n == 0) {
                free(ids);
                continue;
            }
            rc = add_doc(c, source, file, line, 0, NULL, 0, ids, n, err);
        } else {
            json_decref(o);
            return err_set_at(err, ASSAY_EINVAL, path, line,
                              "member '%s' is neither a string nor an array of token ids", field);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int add_one_file(struct mem_corpus *c, const char *path, const char *source,
                        const struct mem_corpus_opts *o, struct assay_error *err)
{
    char *data = NULL;
    size_t len = 0, fi = 0;
    size_t max = o && o->max_file_bytes ? o->max_file_bytes : MEM_MAX_FILE_BYTES;
    int rc = read_file(&data, &len, path, max, err);
    if (rc)
        return rc;
    rc = add_file_entry(c, path, data, len, &fi, err);
    if (!rc) {
        bool jsonl = ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz") ||
                     ends_with(path, ".ndjson") || ends_with(path, ".ndjson.gz");
        if (jsonl)
            rc = add_jsonl(c, path, source, fi, data, len, o && o->field ? o->field : "text",
                           err);
        else
            rc = add_text(c, path, source, fi, data, len, o ? o->separator : NULL, err);
    }
    free(data);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir (rel: its path under the top directory), in name order. */
static int add_dir(struct mem_corpus *c, const char *dir, const char *rel,
                   const struct mem_corpus_opts *o, int depth, struct assay_error *err)
{
    if (depth > MEM_MAX_DEPTH)
        return err_set_at(err, ASSAY_ELIMIT, dir, 0, "directories nested deeper than %d",
                          MEM_MAX_DEPTH);
    DIR *d = opendir(dir);
    if (!d)
        return err_set_at(err, ASSAY_EIO, dir, 0, "cannot read directory: %s", strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **p = mem_realloc_array(names, ncap, sizeof(*p));
            if (!p) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            names = p;
            cap = ncap;
        }
        if (!(names[n] = mem_strdup(e->d_name))) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t lp = strlen(dir) + strlen(names[i]) + 2;
        size_t lr = strlen(rel) + strlen(names[i]) + 2;
        char *p = malloc(lp), *r = malloc(lr);
        if (!p || !r) {
            free(p);
            free(r);
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            break;
        }
        snprintf(p, lp, "%s/%s", dir, names[i]);
        snprintf(r, lr, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        struct stat st;
        if (stat(p, &st) != 0)
            rc = err_set_at(err, ASSAY_EIO, p, 0, "cannot stat: %s", strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = add_dir(c, p, r, o, depth + 1, err);
        else if (S_ISREG(st.st_mode))
            rc = add_one_file(c, p, r, o, err);
        free(p);
        free(r);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int mem_corpus_add(struct mem_corpus *c, const char *path, const struct mem_corpus_opts *o,
                   struct assay_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set_at(err, errno == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO, path, 0,
                          "cannot read: %s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return add_dir(c, path, "", o, 0, err);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return add_one_file(c, path, base, o, err);
}
