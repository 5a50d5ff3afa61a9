/*
 * datasets/ds_registry.c - lookups in the registry table, where a dataset file is on this
 * machine (a mirror folder or the download cache), and checking files against their
 * sha256. Downloading is in ds_fetch.c.
 */
#include "datasets/ds_registry.h"
#include "datasets/ds_registry_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"

size_t ds_registry_count(void)
{
    return ds_table_n;
}

const struct ds_info *ds_registry_at(size_t i)
{
    return i < ds_table_n ? &ds_table[i] : NULL;
}

const struct ds_info *ds_registry_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ds_table_n; i++)
        if (strcmp(ds_table[i].name, name) == 0)
            return &ds_table[i];
    return NULL;
}

const struct ds_file *ds_info_file(const struct ds_info *d, const char *file)
{
    if (!d || !file || !*file)
        return NULL;
    const struct ds_file *hit = NULL;
    size_t fl = strlen(file);
    for (size_t i = 0; i < d->n_files; i++) {
        const char *p = d->files[i].path;
        if (strcmp(p, file) == 0)
            return &d->files[i];
        size_t pl = strlen(p);
        if (pl > fl && p[pl - fl - 1] == '/' && strcmp(p + pl - fl, file) == 0) {
            if (hit)
                return NULL; /* ambiguous */
            hit = &d->files[i];
        }
    }
    return hit;
}

const struct ds_file *ds_info_split(const struct ds_info *d, const char *split, size_t i)
{
    if (!d || !split)
        return NULL;
    for (size_t k = 0; k < d->n_files; k++)
        if (d->files[k].split && strcmp(d->files[k].split, split) == 0 && i-- == 0)
            return &d->files[k];
    return NULL;
}

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

enum ds_format ds_format_of(const char *path)
{
    size_t n = strlen(path);
    if (ends_with(path, n, ".gz"))
        n -= 3;
    if (ends_with(path, n, ".jsonl"))
        return DS_FORMAT_JSONL;
    if (ends_with(path, n, ".json"))
        return DS_FORMAT_JSON;
    if (ends_with(path, n, ".csv"))
        return DS_FORMAT_CSV;
    if (ends_with(path, n, ".tsv"))
        return DS_FORMAT_TSV;
    return DS_FORMAT_TEXT;
}

const char *ds_format_name(enum ds_format f)
{
    static const char *const names[] = {"text", "csv", "tsv", "jsonl", "json"};
    return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "unknown";
}

const char *ds_verify_status_name(enum ds_verify_status s)
{
    static const char *const names[] = {"OK", "MISSING", "MISMATCH", "UNCHECKED"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

int ds_path_join(char *out, size_t n, const char *a, const char *b, struct assay_error *err)
{
    int k = snprintf(out, n, "%s/%s", a, b);
    if (k < 0 || (size_t)k >= n)
        return err_set(err, ASSAY_ELIMIT, "path '%s/%s' too long", a, b);
    return 0;
}

int ds_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ds_mkdirs_for(const char *path, struct assay_error *err)
{
    char tmp[4096];
    int k = snprintf(tmp, sizeof(tmp), "%s", path);
    if (k < 0 || (size_t)k >= sizeof(tmp))
        return err_set(err, ASSAY_ELIMIT, "path '%s' too long", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return err_set_at(err, ASSAY_EIO, tmp, 0, "cannot create folder: %s", strerror(errno));
        *p = '/';
    }
    return 0;
}

int ds_sha256_file(char hex[65], const char *path, struct assay_error *err)
{
    struct hash_sha256 h = {0};
    char buf[64 * 1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_at(err, errno == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO, path, 0,
                          "cannot open: %s", strerror(errno));
    int rc = hash_sha256_init(&h, err);
    if (rc < 0)
        goto out;
    for (;;) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = err_set_at(err, ASSAY_EIO, path, 0, "read failed: %s", strerror(errno));
            goto out;
        }
        if (k == 0)
            break;
        hash_sha256_update(&h, buf, (size_t)k);
    }
    hash_sha256_final_hex(&h, hex);
out:
    hash_sha256_release(&h);
    close(fd);
    return rc;
}

int ds_data_dir(char *out, size_t n, const struct ds_opts *o, struct assay_error *err)
{
    const char *d = o && o->data_dir && *o->data_dir ? o->data_dir : getenv("ASSAY_DATA_DIR");
    if (!d || !*d)
        return err_set(err, ASSAY_ENOTFOUND, "no data dir (--data-dir or ASSAY_DATA_DIR)");
    int k = snprintf(out, n, "%s", d);
    if (k < 0 || (size_t)k >= n)
        return err_set(err, ASSAY_ELIMIT, "data dir '%s' too long", d);
    return 0;
}

int ds_cache_dir(char *out, size_t n, const struct ds_opts *o, struct assay_error *err)
{
    int k;
    const char *x;
    if (o && o->cache_dir && *o->cache_dir)
        k = snprintf(out, n, "%s", o->cache_dir);
    else if ((x = getenv("XDG_CACHE_HOME")) && *x)
        k = snprintf(out, n, "%s/assay/datasets", x);
    else if ((x = getenv("HOME")) && *x)
        k = snprintf(out, n, "%s/.cache/assay/datasets", x);
    else
        return err_set(err, ASSAY_ENOTFOUND,
                       "no cache folder: neither XDG_CACHE_HOME nor HOME set");
    if (k < 0 || (size_t)k >= n)
        return err_set(err, ASSAY_ELIMIT, "cache folder path too long");
    return 0;
}

/* Look for rel under dir, and for its uncompressed twin when rel ends in ".gz".
 * 1 found (path in out, *plain set when it is the twin), 0 not found, <0 error. */
static int find_in(char *out, size_t n, const char *dir, const char *rel, int *plain,
                   struct assay_error *err)
{
    int rc = ds_path_join(out, n, dir, rel, err);
    if (rc < 0)
        return rc;
    *plain = 0;
    if (ds_file_exists(out))
        return 1;
    size_t len = strlen(out);
    if (len > 3 && strcmp(out + len - 3, ".gz") == 0) {
        out[len - 3] = '\0';
        if (ds_file_exists(out)) {
            *plain = 1;
            return 1;
        }
    }
    return 0;
}

static int resolve(char *path_out, size_t n, const struct ds_file *f, const struct ds_opts *o,
                   int *plain, struct assay_error *err)
{
    char dir[2048], cache[2048];
    struct assay_error quiet;
    err_clear(&quiet);
    int have_data = ds_data_dir(dir, sizeof(dir), o, &quiet) == 0;
    if (have_data) {
        int rc = find_in(path_out, n, dir, f->path, plain, err);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    err_clear(&quiet);
    int have_cache = ds_cache_dir(cache, sizeof(cache), o, &quiet) == 0;
    if (have_cache) {
        int rc = find_in(path_out, n, cache, f->path, plain, err);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    return ASSAY_ENOTFOUND;
}

static const struct ds_info *info_of(const struct ds_file *f)
{
    for (size_t i = 0; i < ds_table_n; i++)
        if (f >= ds_table[i].files && f < ds_table[i].files + ds_table[i].n_files)
            return &ds_table[i];
    return NULL;
}

int ds_resolve_file(char *path_out, size_t n, const struct ds_file *f, const struct ds_opts *o,
                    struct assay_error *err)
{
    int plain;
    int rc = resolve(path_out, n, f, o, &plain, err);
    if (rc != ASSAY_ENOTFOUND)
        return rc;
    char dir[2048] = "", cache[2048] = "";
    struct assay_error quiet;
    err_clear(&quiet);
    (void)ds_data_dir(dir, sizeof(dir), o, &quiet);
    err_clear(&quiet);
    (void)ds_cache_dir(cache, sizeof(cache), o, &quiet);
    const struct ds_info *d = info_of(f);
    return err_set(err, ASSAY_ENOTFOUND,
                   "dataset file '%s' not found in %s%s%s%s (run `assay datasets fetch %s`, or "
                   "point --data-dir / ASSAY_DATA_DIR at a mirror)",
                   f->path, dir[0] ? "the data dir '" : "", dir, dir[0] ? "' nor in " : "",
                   cache[0] ? cache : "(no cache folder)", d ? d->name : "NAME");
}

int ds_resolve(char *path_out, size_t n, const char *dataset, const char *file,
               const struct ds_opts *o, struct assay_error *err)
{
    const struct ds_info *d = ds_registry_find(dataset);
    if (!d)
        return err_set(err, ASSAY_ENOTFOUND, "unknown dataset '%s' (see `assay datasets list`)",
                       dataset ? dataset : "");
    const struct ds_file *f = ds_info_file(d, file);
    if (!f)
        return err_set(err, ASSAY_ENOTFOUND, "dataset '%s' has no file '%s' (or it is ambiguous)",
                       d->name, file ? file : "");
    return ds_resolve_file(path_out, n, f, o, err);
}

int ds_verify_file(enum ds_verify_status *st, char got_hex[65], char *path_out, size_t n,
                   const struct ds_file *f, const struct ds_opts *o, struct assay_error *err)
{
    char path[4096];
    int plain = 0;
    *st = DS_VERIFY_MISSING;
    if (got_hex)
        got_hex[0] = '\0';
    int rc = resolve(path, sizeof(path), f, o, &plain, err);
    if (rc == ASSAY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (path_out && n) {
        int k = snprintf(path_out, n, "%s", path);
        if (k < 0 || (size_t)k >= n)
            return err_set(err, ASSAY_ELIMIT, "path '%s' too long", path);
    }
    char hex[65];
    rc = ds_sha256_file(hex, path, err);
    if (rc < 0)
        return rc;
    if (got_hex)
        memcpy(got_hex, hex, sizeof(hex));
    if (plain || !f->sha256)
        *st = DS_VERIFY_UNCHECKED;
    else
        *st = strcmp(hex, f->sha256) == 0 ? DS_VERIFY_OK : DS_VERIFY_MISMATCH;
    return 0;
}
