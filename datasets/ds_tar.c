/*
 * datasets/ds_tar.c - archive members through libarchive: tar (plain, gzip, bzip2, xz)
 * and zip, which is how the canonical MMLU (data.tar), ARC (zip) and MATH (tar) come.
 * Members are read whole into a capped allocation; only regular files are listed.
 */
#include "datasets/ds_read.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

struct ds_tar {
    struct archive *a;
    char *path;
    int have_entry;
};

static int tar_err(struct ds_tar *t, int code, const char *what, struct assay_error *err)
{
    const char *m = archive_error_string(t->a);
    return err_set_at(err, code, t->path, 0, "%s: %s", what, m ? m : "unknown archive error");
}

int ds_tar_open(struct ds_tar **out, const char *path, struct assay_error *err)
{
    *out = NULL;
    struct ds_tar *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    t->path = mem_strdup(path);
    t->a = archive_read_new();
    if (!t->path || !t->a) {
        ds_tar_close(t);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    archive_read_support_filter_all(t->a);
    archive_read_support_format_tar(t->a);
    archive_read_support_format_gnutar(t->a);
    archive_read_support_format_zip(t->a);
    if (archive_read_open_filename(t->a, path, 64 * 1024) != ARCHIVE_OK) {
        int code = archive_errno(t->a) == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EINVAL;
        int rc = tar_err(t, code, "cannot open archive", err);
        ds_tar_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

int ds_tar_next(struct ds_tar *t, const char **name, int64_t *size, struct assay_error *err)
{
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(t->a, &e);
        if (r == ARCHIVE_EOF) {
            t->have_entry = 0;
            return 0;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            t->have_entry = 0;
            return tar_err(t, r == ARCHIVE_FATAL ? ASSAY_EINVAL : ASSAY_EIO, "bad archive", err);
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        t->have_entry = 1;
        *name = archive_entry_pathname(e);
        if (!*name)
            *name = "";
        *size = archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : -1;
        return 1;
    }
}

int ds_tar_read(struct ds_tar *t, char **out, size_t *len_out, size_t max_bytes,
                struct assay_error *err)
{
    struct buf b;
    char chunk[64 * 1024];
    *out = NULL;
    if (len_out)
        *len_out = 0;
    if (!t->have_entry)
        return err_set_at(err, ASSAY_EUSAGE, t->path, 0, "no current archive member");
    if (!max_bytes)
        max_bytes = DS_DEFAULT_MAX_FILE;
    buf_init(&b, max_bytes);
    int rc = 0;
    for (;;) {
        la_ssize_t k = archive_read_data(t->a, chunk, sizeof(chunk));
        if (k < 0) {
            rc = tar_err(t, ASSAY_EINVAL, "bad archive member", err);
            goto out;
        }
        if (k == 0)
            break;
        if (buf_add(&b, chunk, (size_t)k) < 0) {
            rc = err_set_at(err, ASSAY_ELIMIT, t->path, 0, "archive member larger than %zu bytes",
                            max_bytes);
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
out:
    t->have_entry = 0;
    buf_release(&b);
    return rc;
}

void ds_tar_close(struct ds_tar *t)
{
    if (!t)
        return;
    if (t->a)
        archive_read_free(t->a);
    free(t->path);
    free(t);
}

int ds_tar_extract(char **out, size_t *len_out, const char *path, const char *member,
                   size_t max_bytes, struct assay_error *err)
{
    struct ds_tar *t = NULL;
    *out = NULL;
    int rc = ds_tar_open(&t, path, err);
    if (rc < 0)
        return rc;
    for (;;) {
        const char *name;
        int64_t size;
        rc = ds_tar_next(t, &name, &size, err);
        if (rc < 0)
            break;
        if (rc == 0) {
            rc = err_set_at(err, ASSAY_ENOTFOUND, path, 0, "no member '%s' in archive", member);
            break;
        }
        /* "./data/x" and "data/x" name the same member */
        const char *n = name;
        if (strncmp(n, "./", 2) == 0)
            n += 2;
        if (strcmp(n, member) == 0) {
            rc = ds_tar_read(t, out, len_out, max_bytes, err);
            break;
        }
    }
    ds_tar_close(t);
    return rc;
}
