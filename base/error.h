/*
 * base/error.h - the error struct every fallible function in assay fills.
 *
 * Convention (STYLE.md section 3): a fallible function returns int, 0 on success and a
 * negative ASSAY_E* code on failure, and takes `struct assay_error *err` as its last
 * parameter (NULL is allowed: the code is still returned). The first error recorded
 * wins, as with curl's error buffer, so a low-level message with its place is not
 * overwritten by a vaguer one further up. Messages follow git's grammar: lowercase,
 * what is wrong first, the subject quoted, no final period.
 *
 * Only cli/ turns an error into an exit status (see err_exit_status).
 */
#ifndef ASSAY_BASE_ERROR_H
#define ASSAY_BASE_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum assay_code {
    ASSAY_OK = 0,
    ASSAY_EINVAL = -1,       /* bad input: malformed file, data or model */
    ASSAY_ENOTFOUND = -2,    /* a named file, run, task, tensor... does not exist */
    ASSAY_EIO = -3,          /* reading or writing failed */
    ASSAY_ENOMEM = -4,       /* allocation failed */
    ASSAY_ELIMIT = -5,       /* a size, count or time cap was exceeded */
    ASSAY_EUNSUPPORTED = -6, /* valid but not supported (a newer schema, a tensor type) */
    ASSAY_ENETWORK = -7,     /* a remote peer failed */
    ASSAY_EUSAGE = -8,       /* the caller asked for something meaningless */
    ASSAY_EFAIL = -9,        /* anything else */
};

#define ASSAY_ERROR_MSG_MAX  512
#define ASSAY_ERROR_PATH_MAX 512

struct assay_error {
    int code;                        /* 0 while nothing was recorded */
    char msg[ASSAY_ERROR_MSG_MAX];   /* what is wrong, without the place */
    char path[ASSAY_ERROR_PATH_MAX]; /* file the error is about, "" if none */
    long line;                       /* 1-based line in path, 0 if unknown */
    int64_t offset;                  /* byte offset in path, -1 if unknown */
};

/* Empty the struct so that it can record again. */
void err_clear(struct assay_error *err);

/* Record code and message (printf-style) unless an error is already recorded.
 * Returns code, so that `return err_set(err, ASSAY_EINVAL, "...")` reads naturally. */
int err_set(struct assay_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int err_vset(struct assay_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* The same with a place: a file and a 1-based line (0: none). */
int err_set_at(struct assay_error *err, int code, const char *path, long line, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

/* The same with a place: a file and a byte offset. */
int err_set_off(struct assay_error *err, int code, const char *path, int64_t offset,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Attach a path to an error that has none yet (a parser that only saw bytes). */
void err_set_path(struct assay_error *err, const char *path);

/* Short name of a code, e.g. "bad input". */
const char *err_code_name(int code);

/* The process exit status for a code: 0 success, 2 usage, 3 bad input, 1 otherwise. */
int err_exit_status(int code);

/* Format "FILE:LINE: message" (or "FILE: offset N: message", or "message") into buf. */
void err_format(const struct assay_error *err, char *buf, size_t n);

#endif
