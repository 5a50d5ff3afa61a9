/*
 * datasets/ds_read.h - streaming readers for dataset files: lines of text, CSV/TSV
 * (RFC 4180), JSONL, whole-file JSON, and tar/zip members. Any reader that takes a path
 * reads a gzip file transparently (detected by its magic bytes, not its name), so
 * "HumanEval.jsonl.gz" and "HumanEval.jsonl" are read the same way.
 *
 * Bad input is normal input: every error names the file and the 1-based line (and the
 * field where there is one), e.g. "mmlu/test/x_test.csv:118: expected 6 fields, got 5",
 * and every buffer has a cap (a single 1 GB line fails with ASSAY_ELIMIT, it is not
 * allocated). These readers know nothing of what the rows mean (no prompts, no scoring).
 *
 * Ownership: a reader returned through **out belongs to the caller (ds_*_close, which
 * is a no-op on NULL). Strings and JSON values that a reader hands out are borrowed:
 * they stay valid until the next call on that reader or its close (json_incref /
 * strdup to keep them longer).
 *
 * Errors: ASSAY_ENOTFOUND (no such file), ASSAY_EIO (read failure, corrupt or truncated
 * gzip), ASSAY_EINVAL (malformed content), ASSAY_ELIMIT (a cap was hit), ASSAY_ENOMEM.
 */
#ifndef ASSAY_DATASETS_DS_READ_H
#define ASSAY_DATASETS_DS_READ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define DS_DEFAULT_MAX_LINE   ((size_t)64 << 20)  /* 64 MiB: one line / one CSV record */
#define DS_DEFAULT_MAX_FIELDS 4096                /* fields per CSV record */
#define DS_DEFAULT_MAX_FILE   ((size_t)512 << 20) /* whole-file reads (JSON, tar members) */

/* Options shared by every reader; a zeroed struct (or NULL) means the defaults. */
struct ds_read_opts {
    size_t max_line_bytes; /* cap on one line, or one CSV record (0: DS_DEFAULT_MAX_LINE) */
    size_t max_fields;     /* cap on fields per CSV record (0: DS_DEFAULT_MAX_FIELDS) */
    size_t max_file_bytes; /* cap on whole-file reads after decompression (0: default) */
    int keep_bom;          /* 0: drop a UTF-8 BOM at the start of the file; 1: keep it */
    /* CSV only */
    char delim;     /* field separator: 0 means ',' ('\t' for TSV) */
    int no_quotes;  /* 1: '"' is ordinary data (TSV files such as winogender's never quote) */
    int lax_quotes; /* 1: read as Python's csv module does (strict=False): a quote inside an
                     * unquoted field, and text after a closing quote, are kept as data.
                     * MMLU's val/college_medicine_val.csv line 6 needs it; its test and
                     * dev files read strictly. */
    int header;     /* 1: the first record is a header (see ds_csv_header / ds_csv_col) */
    int n_fields;   /* >0: every record must have exactly this many fields;
                     * 0: every record must have as many as the first one;
                     * -1: records may differ (ragged) */
};

/* ---- lines ---------------------------------------------------------------------- */

struct ds_lines;

/* Open a text file (gzip or not) to read it line by line. */
int ds_lines_open(struct ds_lines **out, const char *path, const struct ds_read_opts *o,
                  struct assay_error *err);
/* The same over len bytes in memory; `name` is used in messages. data must outlive r. */
int ds_lines_open_mem(struct ds_lines **out, const void *data, size_t len, const char *name,
                      const struct ds_read_opts *o, struct assay_error *err);
/* Next line without its terminator ("\n" or "\r\n"; a lone "\r" is data).
 * Returns 1 with *line (NUL-terminated, borrowed) and *len set, 0 at end of file, or a
 * negative code. A last line without "\n" is still a line; an empty file has none. */
int ds_lines_next(struct ds_lines *r, const char **line, size_t *len, struct assay_error *err);
/* 1-based number of the line last returned (0 before the first). */
long ds_lines_lineno(const struct ds_lines *r);
const char *ds_lines_path(const struct ds_lines *r);
void ds_lines_close(struct ds_lines *r);

/* ---- CSV / TSV (RFC 4180) ----------------------------------------------------------- */

struct ds_csv;

/* Open a CSV file. Quoted fields may hold the delimiter, doubled quotes ("") and
 * newlines; records end with "\n" or "\r\n". A quote inside an unquoted field, text after
 * a closing quote, an unterminated quote, or a wrong field count is ASSAY_EINVAL with the
 * line. With o->header, the header record is read here (an empty file is an error). */
int ds_csv_open(struct ds_csv **out, const char *path, const struct ds_read_opts *o,
                struct assay_error *err);
int ds_csv_open_mem(struct ds_csv **out, const void *data, size_t len, const char *name,
                    const struct ds_read_opts *o, struct assay_error *err);
/* Read the next record: 1 with a record, 0 at end of file, or a negative code. A blank
 * line is a record with one empty field (so it fails a 6-field check, as it should). */
int ds_csv_next(struct ds_csv *c, struct assay_error *err);
/* Fields of the current record: count, and field i (NUL-terminated, borrowed; *len
 * may be NULL; a field can hold NUL bytes, len counts them). i out of range: NULL. */
size_t ds_csv_n_fields(const struct ds_csv *c);
const char *ds_csv_field(const struct ds_csv *c, size_t i, size_t *len);
/* Header (o->header): count, name i, and the index of a column by name (-1: none). */
size_t ds_csv_n_header(const struct ds_csv *c);
const char *ds_csv_header(const struct ds_csv *c, size_t i);
int ds_csv_col(const struct ds_csv *c, const char *name);
/* Line where the current record starts (1-based), and records returned so far (the
 * header not counted). */
long ds_csv_lineno(const struct ds_csv *c);
int64_t ds_csv_n_records(const struct ds_csv *c);
const char *ds_csv_path(const struct ds_csv *c);
void ds_csv_close(struct ds_csv *c);

/* ---- JSONL ------------------------------------------------------------------------ */

struct ds_jsonl;

/* One JSON object per line; blank (whitespace-only) lines are skipped. */
int ds_jsonl_open(struct ds_jsonl **out, const char *path, const struct ds_read_opts *o,
                  struct assay_error *err);
int ds_jsonl_open_mem(struct ds_jsonl **out, const void *data, size_t len, const char *name,
                      const struct ds_read_opts *o, struct assay_error *err);
/* Next object: 1 with *obj (borrowed until the next call), 0 at end, or a negative code
 * ("path:LINE: ..." for bad JSON, or a value that is not an object). */
int ds_jsonl_next(struct ds_jsonl *r, json_t **obj, struct assay_error *err);
/* 1-based line of the object last returned. */
long ds_jsonl_lineno(const struct ds_jsonl *r);
const char *ds_jsonl_path(const struct ds_jsonl *r);
void ds_jsonl_close(struct ds_jsonl *r);

/* ---- whole files -------------------------------------------------------------------- */

/* Read a whole file (gunzipped when it is gzip) into a NUL-terminated allocation the
 * caller frees with free(). ASSAY_ELIMIT past max_bytes (0: DS_DEFAULT_MAX_FILE). */
int ds_read_all(char **out, size_t *len_out, const char *path, size_t max_bytes,
                struct assay_error *err);
/* Parse a whole JSON file (gzip or not), e.g. sanitized-mbpp.json; *out is a new
 * reference (json_decref). Errors give the line. */
int ds_json_load(json_t **out, const char *path, const struct ds_read_opts *o,
                 struct assay_error *err);

/* ---- tar (and whatever else libarchive reads: tar.gz, zip) -------------------------- */

struct ds_tar;

int ds_tar_open(struct ds_tar **out, const char *path, struct assay_error *err);
/* Advance to the next regular-file member: 1 with *name (borrowed) and *size (bytes,
 * -1 if the archive does not say), 0 at the end, or a negative code. */
int ds_tar_next(struct ds_tar *t, const char **name, int64_t *size, struct assay_error *err);
/* Read the current member whole (caller frees; NUL-terminated). ASSAY_ELIMIT past
 * max_bytes (0: DS_DEFAULT_MAX_FILE). */
int ds_tar_read(struct ds_tar *t, char **out, size_t *len_out, size_t max_bytes,
                struct assay_error *err);
void ds_tar_close(struct ds_tar *t);
/* One member by name: ASSAY_ENOTFOUND when the archive has no such member. */
int ds_tar_extract(char **out, size_t *len_out, const char *path, const char *member,
                   size_t max_bytes, struct assay_error *err);

#endif
