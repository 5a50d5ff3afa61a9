/*
 * datasets/ds_src.c - memory byte sources and the buffered reader shared by the line and
 * CSV parsers. No zlib here (ds_gz.c opens files), so the CSV fuzz target links without it.
 */
#include "datasets/ds_src_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static int mem_read(struct ds_src *s, void *buf, size_t n, size_t *got, struct assay_error *err)
{
    (void)err;
    size_t left = s->mem_len - s->mem_pos;
    size_t k = n < left ? n : left;
    if (k)
        memcpy(buf, s->mem + s->mem_pos, k);
    s->mem_pos += k;
    *got = k;
    return 0;
}

int ds_src_open_mem(struct ds_src **out, const void *data, size_t len, const char *name,
                    struct assay_error *err)
{
    *out = NULL;
    struct ds_src *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    s->name = mem_strdup(name ? name : "<memory>");
    if (!s->name) {
        free(s);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    s->mem = data;
    s->mem_len = data ? len : 0;
    s->read = mem_read;
    *out = s;
    return 0;
}

void ds_src_close(struct ds_src *s)
{
    if (!s)
        return;
    if (s->close)
        s->close(s);
    free(s->name);
    free(s);
}

int ds_rd_fill(struct ds_rd *r, struct assay_error *err)
{
    if (r->pos < r->len)
        return 1;
    if (r->eof)
        return 0;
    size_t got = 0;
    int rc = r->src->read(r->src, r->buf, DS_RD_CHUNK, &got, err);
    if (rc < 0)
        return rc;
    r->pos = 0;
    r->len = got;
    if (got == 0) {
        r->eof = 1;
        return 0;
    }
    return 1;
}

int ds_rd_init(struct ds_rd *r, struct ds_src *src, int keep_bom, struct assay_error *err)
{
    memset(r, 0, sizeof(*r));
    r->src = src;
    r->buf = malloc(DS_RD_CHUNK);
    if (!r->buf) {
        ds_rd_release(r);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if (keep_bom)
        return 0;
    /* The BOM is at most 3 bytes and the first read of a source returns a whole chunk
     * unless the file is shorter, so looking at the first buffer is enough. */
    int rc = ds_rd_fill(r, err);
    if (rc < 0) {
        ds_rd_release(r);
        return rc;
    }
    if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    return 0;
}

void ds_rd_release(struct ds_rd *r)
{
    if (!r)
        return;
    ds_src_close(r->src);
    free(r->buf);
    memset(r, 0, sizeof(*r));
}
