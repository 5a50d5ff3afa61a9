/*
 * datasets/ds_open.c - the readers opened by path (gzip read by content, see ds_gz.c),
 * and whole-file reads: raw bytes and JSON documents.
 */
#include "datasets/ds_read.h"
#include "datasets/ds_src_int.h"

#include <stdlib.h>

#include "base/buf.h"
#include "base/json.h"

int ds_csv_open(struct ds_csv **out, const char *path, const struct ds_read_opts *o,
                struct assay_error *err)
{
    struct ds_src *src;
    *out = NULL;
    int rc = ds_src_open_path(&src, path, err);
    if (rc < 0)
        return rc;
    return ds_csv_open_src(out, src, o, err);
}

int ds_lines_open(struct ds_lines **out, const char *path, const struct ds_read_opts *o,
                  struct assay_error *err)
{
    struct ds_src *src;
    *out = NULL;
    int rc = ds_src_open_path(&src, path, err);
    if (rc < 0)
        return rc;
    return ds_lines_open_src(out, src, o, err);
}

int ds_jsonl_open(struct ds_jsonl **out, const char *path, const struct ds_read_opts *o,
                  struct assay_error *err)
{
    struct ds_src *src;
    *out = NULL;
    int rc = ds_src_open_path(&src, path, err);
    if (rc < 0)
        return rc;
    return ds_jsonl_open_src(out, src, o, err);
}

int ds_read_all(char **out, size_t *len_out, const char *path, size_t max_bytes,
                struct assay_error *err)
{
    struct ds_src *src = NULL;
    struct buf b;
    char chunk[64 * 1024];
    *out = NULL;
    if (len_out)
        *len_out = 0;
    if (!max_bytes)
        max_bytes = DS_DEFAULT_MAX_FILE;
    buf_init(&b, max_bytes);
    int rc = ds_src_open_path(&src, path, err);
    if (rc < 0)
        goto out;
    for (;;) {
        size_t got = 0;
        rc = src->read(src, chunk, sizeof(chunk), &got, err);
        if (rc < 0)
            goto out;
        if (got == 0)
            break;
        if (buf_add(&b, chunk, got) < 0) {
            rc = err_set_at(err, ASSAY_ELIMIT, path, 0, "file larger than %zu bytes", max_bytes);
            goto out;
        }
    }
    size_t len = 0;
    *out = buf_detach(&b, &len);
    if (!*out) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if (len_out)
        *len_out = len;
    rc = 0;
out:
    buf_release(&b);
    ds_src_close(src);
    return rc;
}

int ds_json_load(json_t **out, const char *path, const struct ds_read_opts *o,
                 struct assay_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = ds_read_all(&text, &len, path, o ? o->max_file_bytes : 0, err);
    if (rc < 0)
        return rc;
    size_t skip = 0;
    if (!(o && o->keep_bom) && len >= 3 && (unsigned char)text[0] == 0xEF &&
        (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
        skip = 3;
    rc = jsn_load_buf(out, text + skip, len - skip, path, 1, err);
    free(text);
    return rc;
}
