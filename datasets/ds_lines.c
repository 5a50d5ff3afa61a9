/*
 * datasets/ds_lines.c - line and JSONL readers over a byte source. A line is collected in
 * a buffer capped at max_line_bytes, so a file that is one enormous line fails with
 * ASSAY_ELIMIT after reading the cap, not after allocating the file.
 */
#include "datasets/ds_read.h"
#include "datasets/ds_src_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"

struct ds_lines {
    struct ds_rd rd;
    struct ds_read_opts o;
    struct buf line;
    long lineno;
};

int ds_lines_open_src(struct ds_lines **out, struct ds_src *src, const struct ds_read_opts *o,
                      struct assay_error *err)
{
    *out = NULL;
    struct ds_read_opts tmp;
    struct ds_lines *r = calloc(1, sizeof(*r));
    if (!r) {
        ds_src_close(src);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    r->o = *ds_opts_or_default(o, &tmp);
    int rc = ds_rd_init(&r->rd, src, r->o.keep_bom, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    buf_init(&r->line, r->o.max_line_bytes);
    *out = r;
    return 0;
}

int ds_lines_open_mem(struct ds_lines **out, const void *data, size_t len, const char *name,
                      const struct ds_read_opts *o, struct assay_error *err)
{
    struct ds_src *src;
    *out = NULL;
    int rc = ds_src_open_mem(&src, data, len, name, err);
    if (rc < 0)
        return rc;
    return ds_lines_open_src(out, src, o, err);
}

int ds_lines_next(struct ds_lines *r, const char **line, size_t *len, struct assay_error *err)
{
    buf_reset(&r->line);
    int any = 0;
    for (;;) {
        int k = ds_rd_fill(&r->rd, err);
        if (k < 0)
            return err_set_at(err, k, r->rd.src->name, r->lineno + 1, "read failed");
        if (k == 0) {
            if (!any)
                return 0;
            break;
        }
        any = 1;
        const uint8_t *p = r->rd.buf + r->rd.pos;
        size_t avail = r->rd.len - r->rd.pos;
        const uint8_t *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (buf_add(&r->line, p, take) < 0)
            return err_set_at(err, ASSAY_ELIMIT, r->rd.src->name, r->lineno + 1,
                              "line longer than %zu bytes", r->o.max_line_bytes);
        r->rd.pos += take;
        if (nl) {
            r->rd.pos++;
            break;
        }
    }
    r->lineno++;
    if (r->line.len && r->line.data[r->line.len - 1] == '\r')
        buf_truncate(&r->line, r->line.len - 1);
    if (!r->line.data && buf_add(&r->line, "", 0) < 0)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    /* buf_add with 0 bytes may leave data NULL; make sure a line is a valid string */
    *line = r->line.data ? r->line.data : "";
    *len = r->line.len;
    return 1;
}

long ds_lines_lineno(const struct ds_lines *r)
{
    return r->lineno;
}

const char *ds_lines_path(const struct ds_lines *r)
{
    return r->rd.src->name;
}

void ds_lines_close(struct ds_lines *r)
{
    if (!r)
        return;
    ds_rd_release(&r->rd);
    buf_release(&r->line);
    free(r);
}

/* ---- JSONL ---- */

struct ds_jsonl {
    struct ds_lines *lines;
    json_t *cur;
};

int ds_jsonl_open_src(struct ds_jsonl **out, struct ds_src *src, const struct ds_read_opts *o,
                      struct assay_error *err)
{
    *out = NULL;
    struct ds_jsonl *r = calloc(1, sizeof(*r));
    if (!r) {
        ds_src_close(src);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = ds_lines_open_src(&r->lines, src, o, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ds_jsonl_open_mem(struct ds_jsonl **out, const void *data, size_t len, const char *name,
                      const struct ds_read_opts *o, struct assay_error *err)
{
    struct ds_src *src;
    *out = NULL;
    int rc = ds_src_open_mem(&src, data, len, name, err);
    if (rc < 0)
        return rc;
    return ds_jsonl_open_src(out, src, o, err);
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v')
            return 0;
    return 1;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    default:
        return "an object";
    }
}

int ds_jsonl_next(struct ds_jsonl *r, json_t **obj, struct assay_error *err)
{
    json_decref(r->cur);
    r->cur = NULL;
    *obj = NULL;
    for (;;) {
        const char *line;
        size_t len;
        int rc = ds_lines_next(r->lines, &line, &len, err);
        if (rc <= 0)
            return rc;
        if (is_blank(line, len))
            continue;
        json_t *v = NULL;
        rc = jsn_load_buf(&v, line, len, ds_lines_path(r->lines), ds_lines_lineno(r->lines), err);
        if (rc < 0)
            return rc;
        if (!json_is_object(v)) {
            const char *kind = json_kind(v);
            json_decref(v);
            return err_set_at(err, ASSAY_EINVAL, ds_lines_path(r->lines), ds_lines_lineno(r->lines),
                              "expected a JSON object, got %s", kind);
        }
        r->cur = v;
        *obj = v;
        return 1;
    }
}

long ds_jsonl_lineno(const struct ds_jsonl *r)
{
    return ds_lines_lineno(r->lines);
}

const char *ds_jsonl_path(const struct ds_jsonl *r)
{
    return ds_lines_path(r->lines);
}

void ds_jsonl_close(struct ds_jsonl *r)
{
    if (!r)
        return;
    json_decref(r->cur);
    ds_lines_close(r->lines);
    free(r);
}
