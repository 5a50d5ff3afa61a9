/*
 * tests/fuzz/fuzz_csv.c - libFuzzer target for the dataset text readers: the CSV reader
 * (options taken from the first input byte: delimiter, header, field-count rule, quote
 * handling, small caps so that the limits are reached), then the line and JSONL readers
 * over the same bytes. Every field is touched end to end and its length checked against
 * the cap. Crashes become cases in tests/data/datasets/csv/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "datasets/ds_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    struct ds_read_opts o = {0};
    o.delim = (ctl & 1) ? '\t' : ',';
    o.header = (ctl >> 1) & 1;
    o.n_fields = (int)((ctl >> 2) & 3) - 1; /* -1 ragged, 0 first record, 1, 2 */
    o.no_quotes = (ctl >> 4) & 1;
    o.lax_quotes = (ctl >> 5) & 1;
    o.keep_bom = (ctl >> 6) & 1;
    if (ctl & 0x80) {
        o.max_line_bytes = 64;
        o.max_fields = 8;
    }
    struct assay_error err;
    err_clear(&err);
    struct ds_csv *c = NULL;
    if (ds_csv_open_mem(&c, data, size, "fuzz.csv", &o, &err) == 0) {
        for (size_t i = 0; i < ds_csv_n_header(c); i++)
            sink += (unsigned)strlen(ds_csv_header(c, i));
        int rc;
        int64_t n = 0;
        while ((rc = ds_csv_next(c, &err)) == 1) {
            size_t nf = ds_csv_n_fields(c);
            if (nf == 0 || (o.n_fields > 0 && nf != (size_t)o.n_fields))
                abort();
            size_t total = 0;
            for (size_t i = 0; i < nf; i++) {
                size_t len;
                const char *f = ds_csv_field(c, i, &len);
                if (!f || f[len] != '\0')
                    abort();
                if (len)
                    sink += (unsigned char)f[0] + (unsigned char)f[len - 1];
                total += len;
            }
            if (o.max_line_bytes && total > o.max_line_bytes)
                abort();
            if (ds_csv_lineno(c) < 1)
                abort();
            n++;
        }
        if (rc == 0 && ds_csv_n_records(c) != n)
            abort();
        if (rc < 0 && err.code == 0)
            abort(); /* an error always says what */
        ds_csv_close(c);
    }
    err_clear(&err);
    struct ds_lines *l = NULL;
    if (ds_lines_open_mem(&l, data, size, "fuzz.txt", &o, &err) == 0) {
        const char *line;
        size_t len;
        while (ds_lines_next(l, &line, &len, &err) == 1)
            if (line[len] != '\0' || memchr(line, '\n', len))
                abort();
        ds_lines_close(l);
    }
    err_clear(&err);
    struct ds_jsonl *j = NULL;
    if (ds_jsonl_open_mem(&j, data, size, "fuzz.jsonl", &o, &err) == 0) {
        json_t *obj;
        while (ds_jsonl_next(j, &obj, &err) == 1)
            if (!json_is_object(obj))
                abort();
        ds_jsonl_close(j);
    }
    return 0;
}
