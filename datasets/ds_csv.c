/*
 * datasets/ds_csv.c - an RFC 4180 CSV (and TSV) reader that streams records from a byte
 * source. Quoted fields may hold the delimiter, doubled quotes and newlines (MMLU has
 * all three); records end at "\n" or "\r\n". It is strict where being lenient would
 * silently shift columns: a quote inside an unquoted field, text after a closing quote,
 * a quote left open at the end of the file and a wrong field count are errors with the
 * file and line. Fields stay strings; what they mean is the caller's business.
 *
 * The current record lives in one capped buffer (fields separated by NUL) plus an array
 * of (offset, length) pairs; both are reused from record to record.
 */
#include "datasets/ds_read.h"
#include "datasets/ds_src_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

struct ds_csv_span {
    size_t off, len;
};

struct ds_csv {
    struct ds_rd rd;
    struct ds_read_opts o;
    long line;       /* line the reader is on (1-based) */
    long rec_line;   /* line where the current record starts */
    int64_t n_recs;  /* records returned, header not counted */
    int want_fields; /* 0: not known yet (o.n_fields == 0 before the first record) */
    struct buf rec;  /* field bytes, each followed by a NUL */
    struct ds_csv_span *f;
    size_t n_f, cap_f;
    char **hdr; /* header names (owned), n_hdr of them */
    size_t n_hdr;
    int done;
};

enum csv_state { ST_START, ST_PLAIN, ST_QUOTED, ST_QUOTE_SEEN };

static int end_field(struct ds_csv *c, size_t start, struct assay_error *err)
{
    const char *path = c->rd.src->name;
    if (c->n_f >= c->o.max_fields)
        return err_set_at(err, ASSAY_ELIMIT, path, c->rec_line, "more than %zu fields in a record",
                          c->o.max_fields);
    if (c->n_f == c->cap_f) {
        size_t ncap = c->cap_f ? c->cap_f * 2 : 16;
        if (ncap > c->o.max_fields)
            ncap = c->o.max_fields;
        struct ds_csv_span *nf = mem_realloc_array(c->f, ncap, sizeof(*nf));
        if (!nf)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        c->f = nf;
        c->cap_f = ncap;
    }
    c->f[c->n_f].off = start;
    c->f[c->n_f].len = c->rec.len - start;
    c->n_f++;
    if (buf_add_ch(&c->rec, '\0') < 0)
        return err_set_at(err, ASSAY_ELIMIT, path, c->rec_line, "record longer than %zu bytes",
                          c->o.max_line_bytes);
    return 0;
}

/* One byte, or -1 at the end of the source; *rc < 0 on a read error. */
static inline int next_byte(struct ds_csv *c, int *rc, struct assay_error *err)
{
    if (c->rd.pos >= c->rd.len) {
        int k = ds_rd_fill(&c->rd, err);
        if (k <= 0) {
            *rc = k;
            return -1;
        }
    }
    return c->rd.buf[c->rd.pos++];
}

/* Consume a '\n' right after a '\r' if there is one; returns 1 if it did. */
static int eat_lf(struct ds_csv *c, int *rc, struct assay_error *err)
{
    if (c->rd.pos >= c->rd.len) {
        int k = ds_rd_fill(&c->rd, err);
        if (k <= 0) {
            *rc = k;
            return 0;
        }
    }
    if (c->rd.buf[c->rd.pos] == '\n') {
        c->rd.pos++;
        return 1;
    }
    return 0;
}

/* Read one raw record into c->rec / c->f. 1: a record, 0: end of file, <0: error. */
static int read_record(struct ds_csv *c, struct assay_error *err)
{
    const char *path = c->rd.src->name;
    const int delim = (unsigned char)c->o.delim;
    buf_reset(&c->rec);
    c->n_f = 0;
    if (c->done)
        return 0;
    c->rec_line = c->line;
    enum csv_state st = ST_START;
    size_t start = 0;
    long quote_line = 0;
    int any = 0; /* saw any byte of this record */
    for (;;) {
        int rc = 0;
        int ch = next_byte(c, &rc, err);
        if (rc < 0)
            return rc;
        if (ch < 0) { /* end of file */
            if (st == ST_QUOTED)
                return err_set_at(err, ASSAY_EINVAL, path, quote_line,
                                  "unterminated quoted field %zu: the quote opened here is never "
                                  "closed",
                                  c->n_f + 1);
            c->done = 1;
            if (!any)
                return 0;
            int r = end_field(c, start, err);
            return r < 0 ? r : 1;
        }
        any = 1;
        int is_eol = 0;
        if (ch == '\n')
            is_eol = 1;
        else if (ch == '\r' && st != ST_QUOTED) {
            if (eat_lf(c, &rc, err))
                is_eol = 1;
            else if (rc < 0)
                return rc;
        }
        switch (st) {
        case ST_START:
        case ST_PLAIN:
            if (ch == '"' && st == ST_START && !c->o.no_quotes) {
                st = ST_QUOTED;
                quote_line = c->line;
                continue;
            }
            if (ch == '"' && !c->o.no_quotes && !c->o.lax_quotes)
                return err_set_at(err, ASSAY_EINVAL, path, c->line,
                                  "unexpected quote in unquoted field %zu", c->n_f + 1);
            if (ch == delim || is_eol) {
                int r = end_field(c, start, err);
                if (r < 0)
                    return r;
                start = c->rec.len;
                st = ST_START;
                if (is_eol) {
                    c->line++;
                    return 1;
                }
                continue;
            }
            st = ST_PLAIN;
            break;
        case ST_QUOTED:
            if (ch == '"') {
                st = ST_QUOTE_SEEN;
                continue;
            }
            if (ch == '\n')
                c->line++;
            break;
        case ST_QUOTE_SEEN:
            if (ch == '"') {
                st = ST_QUOTED; /* a doubled quote is one quote */
                break;
            }
            if (ch == delim || is_eol) {
                int r = end_field(c, start, err);
                if (r < 0)
                    return r;
                start = c->rec.len;
                st = ST_START;
                if (is_eol) {
                    c->line++;
                    return 1;
                }
                continue;
            }
            if (!c->o.lax_quotes)
                return err_set_at(err, ASSAY_EINVAL, path, c->line,
                                  "unexpected character after closing quote in field %zu",
                                  c->n_f + 1);
            /* lax: keep the byte and go on unquoted, as Python's csv module does */
            st = ST_PLAIN;
            break;
        }
        if (buf_add_ch(&c->rec, (char)ch) < 0)
            return err_set_at(err, ASSAY_ELIMIT, path, c->rec_line, "record longer than %zu bytes",
                              c->o.max_line_bytes);
    }
}

static int check_count(struct ds_csv *c, struct assay_error *err)
{
    if (c->o.n_fields < 0)
        return 0;
    if (c->want_fields == 0) {
        c->want_fields = (int)c->n_f;
        return 0;
    }
    if ((size_t)c->want_fields != c->n_f)
        return err_set_at(err, ASSAY_EINVAL, c->rd.src->name, c->rec_line,
                          "expected %d fields, got %zu", c->want_fields, c->n_f);
    return 0;
}

void ds_csv_close(struct ds_csv *c)
{
    if (!c)
        return;
    ds_rd_release(&c->rd);
    buf_release(&c->rec);
    free(c->f);
    for (size_t i = 0; i < c->n_hdr; i++)
        free(c->hdr[i]);
    free(c->hdr);
    free(c);
}

int ds_csv_open_src(struct ds_csv **out, struct ds_src *src, const struct ds_read_opts *o,
                    struct assay_error *err)
{
    *out = NULL;
    struct ds_read_opts tmp;
    struct ds_csv *c = calloc(1, sizeof(*c));
    if (!c) {
        ds_src_close(src);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    c->o = *ds_opts_or_default(o, &tmp);
    int rc = ds_rd_init(&c->rd, src, c->o.keep_bom, err);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->line = 1;
    c->want_fields = c->o.n_fields > 0 ? c->o.n_fields : 0;
    buf_init(&c->rec, c->o.max_line_bytes);
    if (c->o.header) {
        rc = read_record(c, err);
        if (rc == 0)
            rc = err_set_at(err, ASSAY_EINVAL, src->name, 1, "empty file, expected a header");
        if (rc < 0)
            goto fail;
        rc = check_count(c, err);
        if (rc < 0)
            goto fail;
        c->hdr = mem_calloc_array(c->n_f, sizeof(char *));
        if (!c->hdr && c->n_f) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < c->n_f; i++) {
            c->hdr[i] = mem_strndup(c->rec.data + c->f[i].off, c->f[i].len);
            if (!c->hdr[i]) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                goto fail;
            }
            c->n_hdr++;
        }
        c->n_f = 0;
    }
    *out = c;
    return 0;
fail:
    ds_csv_close(c);
    return rc;
}

int ds_csv_open_mem(struct ds_csv **out, const void *data, size_t len, const char *name,
                    const struct ds_read_opts *o, struct assay_error *err)
{
    struct ds_src *src;
    *out = NULL;
    int rc = ds_src_open_mem(&src, data, len, name, err);
    if (rc < 0)
        return rc;
    return ds_csv_open_src(out, src, o, err);
}

int ds_csv_next(struct ds_csv *c, struct assay_error *err)
{
    int rc = read_record(c, err);
    if (rc <= 0) {
        if (rc < 0)
            c->done = 1;
        c->n_f = 0;
        return rc;
    }
    rc = check_count(c, err);
    if (rc < 0) {
        c->n_f = 0;
        return rc;
    }
    c->n_recs++;
    return 1;
}

size_t ds_csv_n_fields(const struct ds_csv *c)
{
    return c->n_f;
}

const char *ds_csv_field(const struct ds_csv *c, size_t i, size_t *len)
{
    if (i >= c->n_f)
        return NULL;
    if (len)
        *len = c->f[i].len;
    return c->rec.data + c->f[i].off;
}

size_t ds_csv_n_header(const struct ds_csv *c)
{
    return c->n_hdr;
}

const char *ds_csv_header(const struct ds_csv *c, size_t i)
{
    return i < c->n_hdr ? c->hdr[i] : NULL;
}

int ds_csv_col(const struct ds_csv *c, const char *name)
{
    for (size_t i = 0; i < c->n_hdr; i++)
        if (strcmp(c->hdr[i], name) == 0)
            return (int)i;
    return -1;
}

long ds_csv_lineno(const struct ds_csv *c)
{
    return c->rec_line;
}

int64_t ds_csv_n_records(const struct ds_csv *c)
{
    return c->n_recs;
}

const char *ds_csv_path(const struct ds_csv *c)
{
    return c->rd.src->name;
}
