/*
 * datasets/ds_src_int.h - internal to datasets/: a byte source (memory or a file read
 * through zlib, which passes plain files through unchanged) and a buffered reader over
 * it that the line and CSV parsers share. Not for other rooms.
 */
#ifndef ASSAY_DATASETS_DS_SRC_INT_H
#define ASSAY_DATASETS_DS_SRC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "datasets/ds_read.h"

struct ds_src;

/* read up to n bytes: *got = 0 at the end; negative code (error recorded) on failure */
typedef int (*ds_src_read_fn)(struct ds_src *s, void *buf, size_t n, size_t *got,
                              struct assay_error *err);
typedef void (*ds_src_close_fn)(struct ds_src *s);

struct ds_src {
    ds_src_read_fn read;
    ds_src_close_fn close;
    char *name;         /* path or caller's name, for messages (owned) */
    const uint8_t *mem; /* memory source: borrowed bytes */
    size_t mem_len;
    size_t mem_pos;
    void *handle; /* file source: gzFile */
};

/* ds_src.c (no zlib): memory sources and the shared close. */
int ds_src_open_mem(struct ds_src **out, const void *data, size_t len, const char *name,
                    struct assay_error *err);
void ds_src_close(struct ds_src *s);

/* ds_gz.c (zlib): a file, gunzipped when it starts with the gzip magic. */
int ds_src_open_path(struct ds_src **out, const char *path, struct assay_error *err);

#define DS_RD_CHUNK (64 * 1024)

/* Buffered reader; owns its source. */
struct ds_rd {
    struct ds_src *src;
    uint8_t *buf; /* DS_RD_CHUNK bytes */
    size_t pos, len;
    int eof;
    uint64_t consumed; /* bytes handed out so far (after decompression) */
};

/* Takes ownership of src (closed on failure too). Drops a leading UTF-8 BOM unless
 * keep_bom. */
int ds_rd_init(struct ds_rd *r, struct ds_src *src, int keep_bom, struct assay_error *err);
void ds_rd_release(struct ds_rd *r);
/* Make sure buffered bytes are available: 1 if some are, 0 at the end, negative code. */
int ds_rd_fill(struct ds_rd *r, struct assay_error *err);

static inline const struct ds_read_opts *ds_opts_or_default(const struct ds_read_opts *o,
                                                            struct ds_read_opts *tmp)
{
    if (o)
        *tmp = *o;
    else
        *tmp = (struct ds_read_opts){0};
    if (!tmp->max_line_bytes)
        tmp->max_line_bytes = DS_DEFAULT_MAX_LINE;
    if (!tmp->max_fields)
        tmp->max_fields = DS_DEFAULT_MAX_FIELDS;
    if (!tmp->max_file_bytes)
        tmp->max_file_bytes = DS_DEFAULT_MAX_FILE;
    if (!tmp->delim)
        tmp->delim = ',';
    return tmp;
}

/* Readers over an opened source (ds_csv.c, ds_lines.c); the path-based opens in
 * ds_open.c call these. All take ownership of src. */
int ds_csv_open_src(struct ds_csv **out, struct ds_src *src, const struct ds_read_opts *o,
                    struct assay_error *err);
int ds_lines_open_src(struct ds_lines **out, struct ds_src *src, const struct ds_read_opts *o,
                      struct assay_error *err);
int ds_jsonl_open_src(struct ds_jsonl **out, struct ds_src *src, const struct ds_read_opts *o,
                      struct assay_error *err);

#endif
