/*
 * base/file.c - whole-file reads, read-only mappings and atomic writes; see file.h.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"

static int open_error(struct assay_error *err, const char *path, const char *what)
{
    int e = errno;
    int code = (e == ENOENT || e == ENOTDIR) ? ASSAY_ENOTFOUND : ASSAY_EIO;
    return err_set_at(err, code, path, 0, "cannot %s: %s", what, strerror(e));
}

int file_map(struct file_map *fm, const char *path, struct assay_error *err)
{
    memset(fm, 0, sizeof(*fm));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return open_error(err, path, "open");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = open_error(err, path, "stat");
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set_at(err, ASSAY_EINVAL, path, 0, "not a regular file");
    }
    fm->path = mem_strdup(path);
    if (!fm->path) {
        close(fd);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    fm->size = (size_t)st.st_size;
    if (fm->size > 0) {
        void *p = mmap(NULL, fm->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int rc = open_error(err, path, "map");
            close(fd);
            free(fm->path);
            memset(fm, 0, sizeof(*fm));
            return rc;
        }
        fm->data = p;
    }
    close(fd);
    return 0;
}

void file_unmap(struct file_map *fm)
{
    if (fm->data)
        munmap((void *)fm->data, fm->size);
    free(fm->path);
    memset(fm, 0, sizeof(*fm));
}

void file_map_drop(const void *p, size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || !p)
        return;
    uintptr_t a = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t e = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);
    if (e > a)
        madvise((void *)a, e - a, MADV_DONTNEED);
}

int file_read_all(char **out, size_t *len_out, const char *path, size_t max_bytes,
                  struct assay_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return open_error(err, path, "open");
    size_t cap = 4096, len = 0;
    char *data = malloc(cap);
    int rc = 0;
    if (!data) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > max_bytes) {
                rc = err_set_at(err, ASSAY_ELIMIT, path, 0, "file larger than %zu bytes",
                                max_bytes);
                goto out;
            }
            char *p = realloc(data, cap * 2);
            if (!p) {
                rc = err_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            data = p;
            cap *= 2;
        }
        size_t n = fread(data + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = err_set_at(err, ASSAY_EIO, path, 0, "read failed: %s", strerror(errno));
            break;
        }
        if (len > max_bytes) {
            rc = err_set_at(err, ASSAY_ELIMIT, path, 0, "file larger than %zu bytes", max_bytes);
            goto out;
        }
    }
out:
    fclose(f);
    if (rc) {
        free(data);
        return rc;
    }
    data[len] = '\0';
    *out = data;
    if (len_out)
        *len_out = len;
    return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, struct assay_error *err)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = err_set_at(err, ASSAY_EIO, tmp, 0, "cannot create: %s", strerror(errno));
        goto out;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = err_set_at(err, ASSAY_EIO, tmp, 0, "write failed: %s", strerror(errno));
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (!rc && fsync(fd) != 0)
        rc = err_set_at(err, ASSAY_EIO, tmp, 0, "fsync failed: %s", strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = err_set_at(err, ASSAY_EIO, tmp, 0, "close failed: %s", strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = err_set_at(err, ASSAY_EIO, path, 0, "cannot rename into place: %s", strerror(errno));
    if (rc)
        unlink(tmp);
out:
    free(tmp);
    return rc;
}
