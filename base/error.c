/*
 * base/error.c - recording errors with their place; see error.h for the convention.
 * Knows nothing of the rooms above; never prints and never exits.
 */
#include "base/error.h"

#include <stdio.h>
#include <string.h>

void err_clear(struct assay_error *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
    err->path[0] = '\0';
    err->line = 0;
    err->offset = -1;
}

int err_vset(struct assay_error *err, int code, const char *fmt, va_list ap)
{
    if (!err || err->code != 0)
        return code;
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    err->path[0] = '\0';
    err->line = 0;
    err->offset = -1;
    return code;
}

int err_set(struct assay_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

static void set_path(struct assay_error *err, const char *path)
{
    snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
}

int err_set_at(struct assay_error *err, int code, const char *path, long line, const char *fmt,
               ...)
{
    if (!err || err->code != 0)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    set_path(err, path);
    err->line = line;
    return code;
}

int err_set_off(struct assay_error *err, int code, const char *path, int64_t offset,
                const char *fmt, ...)
{
    if (!err || err->code != 0)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    set_path(err, path);
    err->offset = offset;
    return code;
}

void err_set_path(struct assay_error *err, const char *path)
{
    if (err && err->code != 0 && err->path[0] == '\0')
        set_path(err, path);
}

const char *err_code_name(int code)
{
    switch (code) {
    case ASSAY_OK:
        return "success";
    case ASSAY_EINVAL:
        return "bad input";
    case ASSAY_ENOTFOUND:
        return "not found";
    case ASSAY_EIO:
        return "i/o error";
    case ASSAY_ENOMEM:
        return "out of memory";
    case ASSAY_ELIMIT:
        return "limit exceeded";
    case ASSAY_EUNSUPPORTED:
        return "unsupported";
    case ASSAY_ENETWORK:
        return "network error";
    case ASSAY_EUSAGE:
        return "usage error";
    default:
        return "failure";
    }
}

int err_exit_status(int code)
{
    switch (code) {
    case ASSAY_OK:
        return 0;
    case ASSAY_EUSAGE:
        return 2;
    case ASSAY_EINVAL:
    case ASSAY_ENOTFOUND:
    case ASSAY_EUNSUPPORTED:
    case ASSAY_ELIMIT:
        return 3;
    default:
        return 1;
    }
}

void err_format(const struct assay_error *err, char *buf, size_t n)
{
    if (!err || n == 0)
        return;
    const char *msg = err->code ? err->msg : "no error";
    if (err->path[0] && err->line > 0)
        snprintf(buf, n, "%s:%ld: %s", err->path, err->line, msg);
    else if (err->path[0] && err->offset >= 0)
        snprintf(buf, n, "%s: offset %lld: %s", err->path, (long long)err->offset, msg);
    else if (err->path[0])
        snprintf(buf, n, "%s: %s", err->path, msg);
    else
        snprintf(buf, n, "%s", msg);
}
