/*
 * engine/safetensors.c - see safetensors.h.
 */
#include "engine/safetensors.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"

struct st_file {
    struct file_map fm; /* zeroed for st_open_mem */
    char *path;
    const uint8_t *data;
    size_t size;
    struct st_tensor *t; /* sorted by name */
    size_t n;
    char **meta; /* key, value, key, value... */
    size_t n_meta;
};

static const struct {
    const char *name;
    int id;
    size_t size;
} dtypes[] = {
    {"BOOL", ST_BOOL, 1},         {"U8", ST_U8, 1},     {"I8", ST_I8, 1},
    {"F8_E4M3", ST_F8_E4M3, 1},   {"F8_E5M2", ST_F8_E5M2, 1}, {"I16", ST_I16, 2},
    {"U16", ST_U16, 2},           {"F16", ST_F16, 2},   {"BF16", ST_BF16, 2},
    {"I32", ST_I32, 4},           {"U32", ST_U32, 4},   {"F32", ST_F32, 4},
    {"I64", ST_I64, 8},           {"U64", ST_U64, 8},   {"F64", ST_F64, 8},
};

const char *st_dtype_name(int dtype)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (dtypes[i].id == dtype)
            return dtypes[i].name;
    return "?";
}

size_t st_dtype_size(int dtype)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (dtypes[i].id == dtype)
            return dtypes[i].size;
    return 0;
}

static int dtype_from_name(const char *s)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (strcmp(dtypes[i].name, s) == 0)
            return dtypes[i].id;
    return 0;
}

void st_close(struct st_file *f)
{
    if (!f)
        return;
    file_unmap(&f->fm);
    for (size_t i = 0; i < f->n; i++)
        free((char *)f->t[i].name);
    free(f->t);
    for (size_t i = 0; i < 2 * f->n_meta; i++)
        free(f->meta[i]);
    free(f->meta);
    free(f->path);
    free(f);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct st_tensor *)a)->name, ((const struct st_tensor *)b)->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const struct st_tensor *x = *(const struct st_tensor *const *)a;
    const struct st_tensor *y = *(const struct st_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->n_bytes != y->n_bytes)
        return x->n_bytes < y->n_bytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static uint64_t rd_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* An integer JSON value >= 0 into *out. */
static bool json_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static int parse_meta(struct st_file *f, const json_t *m, struct assay_error *err)
{
    if (!json_is_object(m))
        return err_set_off(err, ASSAY_EINVAL, f->path, 8, "'__metadata__' is not an object");
    size_t n = json_object_size(m);
    f->meta = mem_calloc_array(2 * n + 1, sizeof(char *));
    if (!f->meta)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        if (!json_is_string(v))
            return err_set_off(err, ASSAY_EINVAL, f->path, 8,
                               "'__metadata__' value of '%s' is not a string", k);
        f->meta[2 * f->n_meta] = mem_strdup(k);
        f->meta[2 * f->n_meta + 1] = mem_strdup(json_string_value(v));
        f->n_meta++;
        if (!f->meta[2 * f->n_meta - 2] || !f->meta[2 * f->n_meta - 1])
            return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_tensor(struct st_file *f, struct st_tensor *t, const char *name,
                        const json_t *v, size_t data_start, struct assay_error *err)
{
    const char *p = f->path;
    t->path = f->path;
    if (!*name)
        return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor with an empty name");
    t->name = mem_strdup(name);
    if (!t->name)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    if (!json_is_object(v))
        return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor '%s': entry is not an object", name);
    const json_t *jd = json_object_get(v, "dtype");
    const json_t *js = json_object_get(v, "shape");
    const json_t *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd))
        return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor '%s': no 'dtype' string", name);
    t->dtype = dtype_from_name(json_string_value(jd));
    if (!t->dtype)
        return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor '%s': unknown dtype '%s'", name,
                           json_string_value(jd));
    if (!json_is_array(js))
        return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor '%s': no 'shape' array", name);
    if (json_array_size(js) > ST_MAX_DIMS)
        return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor '%s': %zu dims (at most %d)", name,
                           json_array_size(js), ST_MAX_DIMS);
    t->n_dims = (int)json_array_size(js);
    size_t n_elem = 1;
    for (int d = 0; d < t->n_dims; d++) {
        uint64_t dim;
        if (!json_u64(json_array_get(js, (size_t)d), &dim) || dim > INT64_MAX)
            return err_set_off(err, ASSAY_EINVAL, p, 8,
                               "tensor '%s': dim %d is not a non-negative integer", name, d);
        t->shape[d] = (int64_t)dim;
        if (!ck_mul(&n_elem, n_elem, (size_t)dim) || n_elem > INT64_MAX)
            return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor '%s': element count overflows",
                               name);
    }
    for (int d = t->n_dims; d < ST_MAX_DIMS; d++)
        t->shape[d] = 1;
    t->n_elem = (int64_t)n_elem;
    size_t n_bytes;
    if (!ck_mul(&n_bytes, n_elem, st_dtype_size(t->dtype)))
        return err_set_off(err, ASSAY_EINVAL, p, 8, "tensor '%s': byte size overflows", name);
    uint64_t b, e;
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_u64(json_array_get(jo, 0), &b) ||
        !json_u64(json_array_get(jo, 1), &e))
        return err_set_off(err, ASSAY_EINVAL, p, 8,
                           "tensor '%s': 'data_offsets' is not [begin, end] (non-negative integers)",
                           name);
    size_t data_size = f->size - data_start;
    if (b > e || e > data_size)
        return err_set_off(err, ASSAY_EINVAL, p, 8,
                           "tensor '%s': data_offsets [%llu, %llu] outside the data section "
                           "(%zu bytes)",
                           name, (unsigned long long)b, (unsigned long long)e, data_size);
    if (e - b != n_bytes)
        return err_set_off(err, ASSAY_EINVAL, p, (int64_t)(data_start + b),
                           "tensor '%s': shape x %s size is %zu bytes but data_offsets span %llu",
                           name, st_dtype_name(t->dtype), n_bytes, (unsigned long long)(e - b));
    t->n_bytes = n_bytes;
    t->offset = data_start + (size_t)b;
    t->data = f->data ? f->data + t->offset : NULL;
    t->aligned = ((uintptr_t)t->data % st_dtype_size(t->dtype)) == 0;
    return 0;
}

static int parse(struct st_file *f, struct assay_error *err)
{
    if (f->size < 8)
        return err_set_off(err, ASSAY_EINVAL, f->path, 0,
                           "too short for a safetensors file (%zu bytes)", f->size);
    uint64_t hn = rd_le64(f->data);
    if (hn < 2 || hn > ST_HEADER_MAX || hn > f->size - 8)
        return err_set_off(err, ASSAY_EINVAL, f->path, 0,
                           "header length %llu out of bounds (2..%u, file has %zu bytes after it)",
                           (unsigned long long)hn, ST_HEADER_MAX, f->size - 8);
    json_error_t je;
    json_t *h = json_loadb((const char *)f->data + 8, (size_t)hn, JSON_REJECT_DUPLICATES, &je);
    if (!h)
        return err_set_off(err, ASSAY_EINVAL, f->path, 8 + (int64_t)je.position,
                           "header is not valid JSON: %s", je.text);
    int rc = 0;
    if (!json_is_object(h)) {
        rc = err_set_off(err, ASSAY_EINVAL, f->path, 8, "header is not a JSON object");
        goto out;
    }
    size_t n = json_object_size(h);
    f->t = mem_calloc_array(n + 1, sizeof(*f->t));
    struct st_tensor **by_off = mem_calloc_array(n + 1, sizeof(*by_off));
    if (!f->t || !by_off) {
        free(by_off);
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    size_t data_start = 8 + (size_t)hn;
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        if (strcmp(k, "__metadata__") == 0) {
            rc = parse_meta(f, v, err);
        } else {
            rc = parse_tensor(f, &f->t[f->n], k, v, data_start, err);
            f->n++;
        }
        if (rc)
            break;
    }
    if (!rc) {
        for (size_t i = 0; i < f->n; i++)
            by_off[i] = &f->t[i];
        qsort(by_off, f->n, sizeof(*by_off), cmp_offset);
        size_t at = data_start;
        for (size_t i = 0; i < f->n && !rc; i++) {
            const struct st_tensor *t = by_off[i];
            if (t->offset < at)
                rc = err_set_off(err, ASSAY_EINVAL, f->path, (int64_t)t->offset,
                                 "tensor '%s' overlaps tensor '%s'", t->name, by_off[i - 1]->name);
            else if (t->offset > at)
                rc = err_set_off(err, ASSAY_EINVAL, f->path, (int64_t)at,
                                 "%zu bytes before tensor '%s' belong to no tensor",
                                 t->offset - at, t->name);
            at = t->offset + t->n_bytes;
        }
        if (!rc && at != f->size)
            rc = err_set_off(err, ASSAY_EINVAL, f->path, (int64_t)at,
                             "%zu bytes after the last tensor belong to no tensor", f->size - at);
    }
    free(by_off);
    if (!rc)
        qsort(f->t, f->n, sizeof(*f->t), cmp_name);
out:
    json_decref(h);
    return rc;
}

static int open_common(struct st_file *f, struct st_file **out, struct assay_error *err)
{
    int rc = parse(f, err);
    if (rc) {
        st_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

int st_open(struct st_file **out, const char *path, struct assay_error *err)
{
    *out = NULL;
    struct st_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = mem_strdup(path))) {
        free(f);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = file_map(&f->fm, path, err);
    if (rc) {
        st_close(f);
        return rc;
    }
    f->data = f->fm.data;
    f->size = f->fm.size;
    return open_common(f, out, err);
}

int st_open_mem(struct st_file **out, const void *data, size_t size, const char *name,
                struct assay_error *err)
{
    *out = NULL;
    struct st_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = mem_strdup(name ? name : "<memory>"))) {
        free(f);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    f->data = data;
    f->size = size;
    return open_common(f, out, err);
}

const char *st_path(const struct st_file *f)
{
    return f->path;
}

size_t st_file_size(const struct st_file *f)
{
    return f->size;
}

size_t st_n_tensors(const struct st_file *f)
{
    return f->n;
}

const struct st_tensor *st_tensor_at(const struct st_file *f, size_t i)
{
    return i < f->n ? &f->t[i] : NULL;
}

const struct st_tensor *st_find(const struct st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[mid].name, name);
        if (c == 0)
            return &f->t[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *st_meta(const struct st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[2 * i], key) == 0)
            return f->meta[2 * i + 1];
    return NULL;
}

/* ---- sets ---------------------------------------------------------------------------- */

struct st_set {
    struct st_file **files; /* sorted by path */
    size_t n_files;
};

void st_set_close(struct st_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_files; i++)
        st_close(s->files[i]);
    free(s->files);
    free(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int st_set_open_file(struct st_set **out, const char *path, struct assay_error *err)
{
    *out = NULL;
    struct st_set *s = calloc(1, sizeof(*s));
    if (!s || !(s->files = calloc(1, sizeof(*s->files)))) {
        free(s);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = st_open(&s->files[0], path, err);
    if (rc) {
        st_set_close(s);
        return rc;
    }
    s->n_files = 1;
    *out = s;
    return 0;
}

static bool plain_name(const char *s)
{
    return *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/');
}

int st_set_open_dir(struct st_set **out, const char *dir, struct assay_error *err)
{
    *out = NULL;
    char path[4096];
    int nw = snprintf(path, sizeof(path), "%s/%s", dir, ST_INDEX_NAME);
    if (nw < 0 || (size_t)nw >= sizeof(path))
        return err_set_at(err, ASSAY_EINVAL, dir, 0, "path too long");
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        snprintf(path, sizeof(path), "%s/%s", dir, ST_SINGLE_NAME);
        probe = fopen(path, "rb");
        if (!probe)
            return err_set_at(err, ASSAY_ENOTFOUND, dir, 0,
                              "no %s or %s in the model directory", ST_INDEX_NAME,
                              ST_SINGLE_NAME);
        fclose(probe);
        return st_set_open_file(out, path, err);
    }
    fclose(probe);
    json_t *idx = NULL;
    int rc = jsn_load_file(&idx, path, err);
    if (rc)
        return rc;
    const json_t *wm = json_object_get(idx, "weight_map");
    struct st_set *s = NULL;
    const char **names = NULL;
    size_t n_names = 0;
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "no 'weight_map' object (or it is empty)");
        goto out;
    }
    names = mem_calloc_array(json_object_size(wm), sizeof(*names));
    s = calloc(1, sizeof(*s));
    if (!names || !s) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)wm, k, v)
    {
        if (!json_is_string(v) || !plain_name(json_string_value(v))) {
            rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                            "weight_map entry of tensor '%s' is not a file name in the directory",
                            k);
            goto out;
        }
        names[n_names++] = json_string_value(v);
    }
    qsort(names, n_names, sizeof(*names), cmp_str);
    size_t n_uniq = 0;
    for (size_t i = 0; i < n_names; i++)
        if (i == 0 || strcmp(names[i], names[n_uniq - 1]) != 0)
            names[n_uniq++] = names[i];
    s->files = mem_calloc_array(n_uniq, sizeof(*s->files));
    if (!s->files) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_uniq; i++) {
        char sp[4096];
        snprintf(sp, sizeof(sp), "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(sp, &st) != 0) {
            const char *who = "?";
            json_object_foreach((json_t *)wm, k, v)
            {
                if (strcmp(json_string_value(v), names[i]) == 0) {
                    who = k;
                    break;
                }
            }
            rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                            "shard '%s' listed in the index (tensor '%s') is missing", names[i],
                            who);
            goto out;
        }
        rc = st_open(&s->files[i], sp, err);
        if (rc)
            goto out;
        s->n_files++;
    }
    /* Every mapped tensor is in the shard named, and in no other. */
    json_object_foreach((json_t *)wm, k, v)
    {
        const char *want = json_string_value(v);
        bool found = false;
        for (size_t i = 0; i < s->n_files; i++) {
            const char *base = strrchr(st_path(s->files[i]), '/');
            base = base ? base + 1 : st_path(s->files[i]);
            bool here = st_find(s->files[i], k) != NULL;
            if (here && strcmp(base, want) != 0) {
                rc = err_set_at(err, ASSAY_EINVAL, st_path(s->files[i]), 0,
                                "tensor '%s' is here but the index puts it in '%s'", k, want);
                goto out;
            }
            found |= here;
        }
        if (!found) {
            rc = err_set_at(err, ASSAY_EINVAL, path, 0,
                            "tensor '%s' listed in the index is not in shard '%s'", k, want);
            goto out;
        }
    }
    for (size_t i = 0; i < s->n_files; i++)
        for (size_t j = 0; j < st_n_tensors(s->files[i]); j++)
            if (!json_object_get(wm, st_tensor_at(s->files[i], j)->name)) {
                rc = err_set_at(err, ASSAY_EINVAL, st_path(s->files[i]), 0,
                                "tensor '%s' is not listed in the index",
                                st_tensor_at(s->files[i], j)->name);
                goto out;
            }
out:
    free(names);
    json_decref(idx);
    if (rc) {
        st_set_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

const struct st_tensor *st_set_find(const struct st_set *s, const char *name)
{
    for (size_t i = 0; i < s->n_files; i++) {
        const struct st_tensor *t = st_find(s->files[i], name);
        if (t)
            return t;
    }
    return NULL;
}

size_t st_set_n_files(const struct st_set *s)
{
    return s->n_files;
}

const struct st_file *st_set_file(const struct st_set *s, size_t i)
{
    return i < s->n_files ? s->files[i] : NULL;
}

size_t st_set_n_tensors(const struct st_set *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_files; i++)
        n += st_n_tensors(s->files[i]);
    return n;
}

uint64_t st_set_bytes(const struct st_set *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_files; i++)
        n += st_file_size(s->files[i]);
    return n;
}

float st_get_f32(const struct st_tensor *t, int64_t i)
{
    const uint8_t *p = t->data;
    if (t->dtype == ST_F32) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    if (t->dtype == ST_BF16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    if (t->dtype == ST_F16) {
        uint32_t sign = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 0x1f, man = h & 0x3ff, u;
        if (ex == 0) {
            if (man == 0) {
                u = sign;
            } else {
                ex = 127 - 15 + 1;
                while (!(man & 0x400)) {
                    man <<= 1;
                    ex--;
                }
                u = sign | (ex << 23) | ((man & 0x3ff) << 13);
            }
        } else if (ex == 31) {
            u = sign | 0x7f800000u | (man << 13);
        } else {
            u = sign | ((ex + 127 - 15) << 23) | (man << 13);
        }
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    return 0.0f;
}
