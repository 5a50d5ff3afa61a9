/*
 * datasets/ds_gz.c - a file as a byte source, through zlib's gz* functions: a file that
 * starts with the gzip magic is decompressed (several members are read one after the
 * other, as gzip does), any other file passes through unchanged. A corrupt or truncated
 * gzip stream is ASSAY_EIO naming the file and how far decompression got.
 */
#include "datasets/ds_src_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/mem.h"

static int gz_read(struct ds_src *s, void *buf, size_t n, size_t *got, struct assay_error *err)
{
    gzFile gz = s->handle;
    unsigned want = n > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)n;
    int k = gzread(gz, buf, want);
    int zerr = Z_OK;
    const char *msg = gzerror(gz, &zerr);
    if (k < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
        /* zlib reports a truncated stream as Z_BUF_ERROR "unexpected end of file" */
        int64_t at = (int64_t)gzoffset(gz);
        *got = 0;
        if (zerr == Z_ERRNO)
            return err_set_off(err, ASSAY_EIO, s->name, at, "read failed: %s", strerror(errno));
        /* zlib prefixes its message with the name it was opened under ("<fd:N>: ") */
        if (msg && msg[0] == '<') {
            const char *colon = strstr(msg, ">: ");
            if (colon)
                msg = colon + 3;
        }
        return err_set_off(err, ASSAY_EIO, s->name, at, "corrupt gzip data: %s",
                           msg && *msg ? msg : "unknown error");
    }
    *got = (size_t)k;
    return 0;
}

static void gz_close(struct ds_src *s)
{
    if (s->handle)
        gzclose(s->handle);
    s->handle = NULL;
}

int ds_src_open_path(struct ds_src **out, const char *path, struct assay_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return err_set_at(err, e == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO, path, 0,
                          "cannot open: %s", strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set_at(err, ASSAY_EIO, path, 0, "not a regular file");
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return err_set_at(err, ASSAY_ENOMEM, path, 0, "out of memory opening");
    }
    gzbuffer(gz, 128 * 1024);
    struct ds_src *s = calloc(1, sizeof(*s));
    char *name = mem_strdup(path);
    if (!s || !name) {
        gzclose(gz);
        free(s);
        free(name);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    s->name = name;
    s->handle = gz;
    s->read = gz_read;
    s->close = gz_close;
    *out = s;
    return 0;
}
