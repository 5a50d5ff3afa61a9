/*
 * engine/gguf.c - the GGUF reader (versions 2 and 3); see gguf.h for the format and
 * the contract.
 *
 * The file is parsed once, front to back, with a bounds-checked cursor; every length,
 * count and offset is checked against the bytes left before it is used or anything is
 * sized from it, and tables grow with what has actually been parsed (a count in the
 * header is a claim, not a reservation). After open, nothing is validated again: the
 * accessors trust the tables built here. This file does not interpret metadata (the
 * architecture tables do) and does not convert tensor data (engine/quant.c does).
 * The writer lives in gguf_write.c.
 */
#include "engine/gguf.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/mem.h"
#include "engine/quant.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the gguf reader assumes a little-endian host"
#endif

/* Smallest encodings, used to bound counts by the bytes left: a pair is a u64 key length,
 * one key byte, a u32 type and at least a one-byte value; a tensor description is a u64
 * name length, one name byte, u32 n_dims, one u64 dimension, u32 type and u64 offset. */
#define KV_MIN_BYTES     (8 + 1 + 4 + 1)
#define TENSOR_MIN_BYTES (8 + 1 + 4 + 8 + 4 + 8)
#define HEADER_BYTES     (4 + 4 + 8 + 8)
#define NAME_SHOW_MAX    96 /* bytes of a key or name quoted in a message */

struct gguf {
    struct file_map fm; /* zeroed for gguf_open_mem */
    const uint8_t *base;
    size_t size;
    char *path;
    uint32_t version;
    uint32_t alignment;
    size_t data_offset;

    size_t n_kv;
    struct gguf_kv *kvs;
    size_t *kv_index; /* open addressing: slot -> index + 1, 0 = empty */
    size_t kv_mask;

    size_t n_tensors;
    struct gguf_tensor *tensors;
    size_t *t_index;
    size_t t_mask;
};

/* ---- small helpers ----------------------------------------------------------------- */

static const size_t type_size[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = 1,   [GGUF_TYPE_INT8] = 1,  [GGUF_TYPE_UINT16] = 2,  [GGUF_TYPE_INT16] = 2,
    [GGUF_TYPE_UINT32] = 4,  [GGUF_TYPE_INT32] = 4, [GGUF_TYPE_FLOAT32] = 4, [GGUF_TYPE_BOOL] = 1,
    [GGUF_TYPE_STRING] = 0,  [GGUF_TYPE_ARRAY] = 0, [GGUF_TYPE_UINT64] = 8,  [GGUF_TYPE_INT64] = 8,
    [GGUF_TYPE_FLOAT64] = 8,
};

static const char *const type_names[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = "UINT8",     [GGUF_TYPE_INT8] = "INT8",     [GGUF_TYPE_UINT16] = "UINT16",
    [GGUF_TYPE_INT16] = "INT16",     [GGUF_TYPE_UINT32] = "UINT32", [GGUF_TYPE_INT32] = "INT32",
    [GGUF_TYPE_FLOAT32] = "FLOAT32", [GGUF_TYPE_BOOL] = "BOOL",     [GGUF_TYPE_STRING] = "STRING",
    [GGUF_TYPE_ARRAY] = "ARRAY",     [GGUF_TYPE_UINT64] = "UINT64", [GGUF_TYPE_INT64] = "INT64",
    [GGUF_TYPE_FLOAT64] = "FLOAT64",
};

const char *gguf_type_name(int type)
{
    if (type < 0 || type >= GGUF_TYPE_COUNT)
        return "?";
    return type_names[type];
}

static bool is_int_type(int t)
{
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16:
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64:
        return true;
    default:
        return false;
    }
}

static uint64_t rd_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t rd_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* An integer element of type t at p: signed types in *s (with *is_signed), others in *u. */
static void read_int(int t, const uint8_t *p, bool *is_signed, int64_t *s, uint64_t *u)
{
    *is_signed = false;
    *s = 0;
    *u = 0;
    switch (t) {
    case GGUF_TYPE_UINT8:
        *u = p[0];
        break;
    case GGUF_TYPE_INT8:
        *is_signed = true;
        *s = (int8_t)p[0];
        break;
    case GGUF_TYPE_UINT16: {
        uint16_t v;
        memcpy(&v, p, 2);
        *u = v;
        break;
    }
    case GGUF_TYPE_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        *is_signed = true;
        *s = v;
        break;
    }
    case GGUF_TYPE_UINT32:
        *u = rd_le32(p);
        break;
    case GGUF_TYPE_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        *is_signed = true;
        *s = v;
        break;
    }
    case GGUF_TYPE_UINT64:
        *u = rd_le64(p);
        break;
    case GGUF_TYPE_INT64: {
        int64_t v;
        memcpy(&v, p, 8);
        *is_signed = true;
        *s = v;
        break;
    }
    default:
        break;
    }
}

/* A float element of type t (FLOAT32 or FLOAT64) at p. */
static double read_float(int t, const uint8_t *p)
{
    if (t == GGUF_TYPE_FLOAT32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    double d;
    memcpy(&d, p, 8);
    return d;
}

/* Copy at most NAME_SHOW_MAX bytes of a name into dst for a message, with bytes that are
 * not printable ASCII shown as '?' and "..." when cut. */
static void show_name(char *dst, size_t n, const uint8_t *s, size_t len)
{
    size_t j = 0;
    size_t lim = len < NAME_SHOW_MAX ? len : NAME_SHOW_MAX;
    for (size_t i = 0; i < lim && j + 1 < n; i++)
        dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? (char)s[i] : '?';
    if (len > lim) {
        for (int k = 0; k < 3 && j + 1 < n; k++)
            dst[j++] = '.';
    }
    dst[j] = '\0';
}

static uint64_t hash_name(const char *s)
{
    /* FNV-1a, 64-bit */
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Build an open-addressing index over n names (get_name(i)); on a duplicate, *dup is set to
 * the later index and *first to the earlier one, and 1 is returned. */
static int build_index(size_t **index_out, size_t *mask_out, size_t n,
                       const char *(*get_name)(const struct gguf *, size_t), const struct gguf *g,
                       size_t *dup, size_t *first)
{
    size_t cap = 8;
    while (cap < n * 2)
        cap *= 2; /* n is bounded by the file size / 14, so this cannot overflow */
    size_t *index = mem_calloc_array(cap, sizeof(*index));
    if (!index)
        return -1;
    size_t mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        const char *name = get_name(g, i);
        size_t slot = (size_t)hash_name(name) & mask;
        while (index[slot]) {
            if (strcmp(get_name(g, index[slot] - 1), name) == 0) {
                *dup = i;
                *first = index[slot] - 1;
                free(index);
                return 1;
            }
            slot = (slot + 1) & mask;
        }
        index[slot] = i + 1;
    }
    *index_out = index;
    *mask_out = mask;
    return 0;
}

static const char *kv_name(const struct gguf *g, size_t i)
{
    return g->kvs[i].key;
}

static const char *tensor_name(const struct gguf *g, size_t i)
{
    return g->tensors[i].name;
}

static size_t lookup(const size_t *index, size_t mask, const char *name,
                     const char *(*get_name)(const struct gguf *, size_t), const struct gguf *g)
{
    if (!index || !name)
        return SIZE_MAX;
    size_t slot = (size_t)hash_name(name) & mask;
    while (index[slot]) {
        if (strcmp(get_name(g, index[slot] - 1), name) == 0)
            return index[slot] - 1;
        slot = (slot + 1) & mask;
    }
    return SIZE_MAX;
}

/* Grow *arr (of *cap elements of size sz) so that it holds at least need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *p = mem_realloc_array(*arr, c, sz);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

/* ---- the parser ---------------------------------------------------------------------- */

struct rd {
    const uint8_t *base;
    size_t size;
    size_t pos;
    const char *path;
    char subject[NAME_SHOW_MAX + 32]; /* "key 'x'", "tensor 'y'", "header", for messages */
    struct assay_error *err;
};

static int rd_fail(struct rd *r, int code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int rd_fail(struct rd *r, int code, size_t off, const char *fmt, ...)
{
    char what[ASSAY_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set_off(r->err, code, r->path, (int64_t)off, "%s: %s", r->subject, what);
}

static size_t rd_left(const struct rd *r)
{
    return r->size - r->pos;
}

static int rd_need(struct rd *r, size_t n, const char *what)
{
    if (rd_left(r) < n)
        return rd_fail(r, ASSAY_EINVAL, r->pos,
                       "unexpected end of file reading %s (%zu bytes needed, %zu left)", what, n,
                       rd_left(r));
    return 0;
}

static int rd_u32(struct rd *r, uint32_t *out, const char *what)
{
    int rc = rd_need(r, 4, what);
    if (rc)
        return rc;
    *out = rd_le32(r->base + r->pos);
    r->pos += 4;
    return 0;
}

static int rd_u64(struct rd *r, uint64_t *out, const char *what)
{
    int rc = rd_need(r, 8, what);
    if (rc)
        return rc;
    *out = rd_le64(r->base + r->pos);
    r->pos += 8;
    return 0;
}

/* A string: u64 length then bytes. *p points at the bytes. */
static int rd_str(struct rd *r, const uint8_t **p, size_t *len, const char *what)
{
    size_t at = r->pos;
    uint64_t n;
    int rc = rd_u64(r, &n, what);
    if (rc)
        return rc;
    if (n > rd_left(r))
        return rd_fail(r, ASSAY_EINVAL, at,
                       "%s length %" PRIu64 " past end of file (%zu bytes left)", what, n,
                       rd_left(r));
    *p = r->base + r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return 0;
}

/* A key or tensor name: a non-empty string without NUL, copied NUL-terminated. */
static int rd_name(struct rd *r, char **out, const char *what)
{
    size_t at = r->pos;
    const uint8_t *p = NULL;
    size_t len = 0;
    int rc = rd_str(r, &p, &len, what);
    if (rc)
        return rc;
    if (len == 0)
        return rd_fail(r, ASSAY_EINVAL, at, "empty %s", what);
    if (memchr(p, 0, len)) {
        char shown[NAME_SHOW_MAX + 8];
        show_name(shown, sizeof(shown), p, len);
        return rd_fail(r, ASSAY_EINVAL, at, "%s '%s' contains a NUL byte", what, shown);
    }
    *out = mem_strndup((const char *)p, len);
    if (!*out)
        return err_set(r->err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

static int rd_value_type(struct rd *r, int *out, const char *what)
{
    size_t at = r->pos;
    uint32_t t;
    int rc = rd_u32(r, &t, what);
    if (rc)
        return rc;
    if (t >= GGUF_TYPE_COUNT)
        return rd_fail(r, ASSAY_EINVAL, at, "unknown %s %" PRIu32, what, t);
    *out = (int)t;
    return 0;
}

/* The value of kv (whose type was just read): checked, and described in kv. */
static int parse_value(struct rd *r, struct gguf_kv *kv)
{
    int rc;
    if (kv->type == GGUF_TYPE_STRING) {
        const uint8_t *p;
        size_t len;
        kv->value_offset = r->pos + 8;
        rc = rd_str(r, &p, &len, "string");
        if (rc)
            return rc;
        kv->elem_type = GGUF_TYPE_STRING;
        kv->n = 1;
        kv->data = p;
        kv->len = len;
        return 0;
    }
    if (kv->type != GGUF_TYPE_ARRAY) {
        size_t sz = type_size[kv->type];
        rc = rd_need(r, sz, gguf_type_name(kv->type));
        if (rc)
            return rc;
        const uint8_t *p = r->base + r->pos;
        if (kv->type == GGUF_TYPE_BOOL && p[0] > 1)
            return rd_fail(r, ASSAY_EINVAL, r->pos, "bool value %u is neither 0 nor 1", p[0]);
        kv->elem_type = kv->type;
        kv->n = 1;
        kv->data = p;
        kv->len = sz;
        kv->value_offset = r->pos;
        r->pos += sz;
        return 0;
    }

    size_t at = r->pos;
    rc = rd_value_type(r, &kv->elem_type, "array element type");
    if (rc)
        return rc;
    if (kv->elem_type == GGUF_TYPE_ARRAY)
        return rd_fail(r, ASSAY_EUNSUPPORTED, at, "nested arrays are not supported");
    size_t n_at = r->pos;
    rc = rd_u64(r, &kv->n, "array length");
    if (rc)
        return rc;
    kv->value_offset = r->pos;
    kv->data = r->base + r->pos;
    if (kv->elem_type != GGUF_TYPE_STRING) {
        size_t sz = type_size[kv->elem_type];
        if (kv->n > rd_left(r) / sz)
            return rd_fail(r, ASSAY_EINVAL, n_at,
                           "array of %" PRIu64 " %s past end of file (%zu bytes left)", kv->n,
                           gguf_type_name(kv->elem_type), rd_left(r));
        kv->len = (size_t)kv->n * sz;
        if (kv->elem_type == GGUF_TYPE_BOOL) {
            const uint8_t *p = r->base + r->pos;
            for (size_t i = 0; i < kv->len; i++) {
                if (p[i] > 1)
                    return rd_fail(r, ASSAY_EINVAL, r->pos + i,
                                   "bool element %zu is %u, neither 0 nor 1", i, p[i]);
            }
        }
        r->pos += kv->len;
        return 0;
    }

    /* Strings: each at least its 8-byte length, so the count is bounded by the bytes left
     * before the offset index is sized; the index grows as elements are read. */
    if (kv->n > rd_left(r) / 8)
        return rd_fail(r, ASSAY_EINVAL, n_at,
                       "array of %" PRIu64 " strings past end of file (%zu bytes left)", kv->n,
                       rd_left(r));
    size_t *offs = NULL, cap = 0;
    size_t start = r->pos;
    for (uint64_t i = 0; i < kv->n; i++) {
        if (grow((void **)&offs, &cap, (size_t)i + 1, sizeof(*offs))) {
            free(offs);
            return err_set(r->err, ASSAY_ENOMEM, "out of memory");
        }
        offs[i] = r->pos;
        /* inline rd_str: a vocabulary has 256k of these, and the message is rarely needed */
        uint64_t len = rd_left(r) >= 8 ? rd_le64(r->base + r->pos) : 0;
        if (rd_left(r) < 8 || len > rd_left(r) - 8) {
            char what[48];
            snprintf(what, sizeof(what), "string %" PRIu64, i);
            const uint8_t *p;
            size_t n;
            rc = rd_str(r, &p, &n, what); /* fails, with the message */
            free(offs);
            return rc ? rc : err_set(r->err, ASSAY_EFAIL, "internal error");
        }
        r->pos += 8 + (size_t)len;
    }
    kv->str_off = offs;
    kv->len = r->pos - start;
    return 0;
}

static int parse_kvs(struct gguf *g, struct rd *r, uint64_t n_kv)
{
    size_t cap = 0;
    int rc = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (grow((void **)&g->kvs, &cap, g->n_kv + 1, sizeof(*g->kvs)))
            return err_set(r->err, ASSAY_ENOMEM, "out of memory");
        struct gguf_kv *kv = &g->kvs[g->n_kv];
        memset(kv, 0, sizeof(*kv));
        kv->offset = r->pos;
        snprintf(r->subject, sizeof(r->subject), "key %" PRIu64, i);
        char *key = NULL;
        rc = rd_name(r, &key, "key");
        if (rc)
            return rc;
        kv->key = key;
        g->n_kv++; /* owned from here on, freed by gguf_close */
        char shown[NAME_SHOW_MAX + 8];
        show_name(shown, sizeof(shown), (const uint8_t *)key, strlen(key));
        snprintf(r->subject, sizeof(r->subject), "key '%s'", shown);
        rc = rd_value_type(r, &kv->type, "value type");
        if (rc)
            return rc;
        rc = parse_value(r, kv);
        if (rc)
            return rc;
    }

    size_t dup, first;
    int d = build_index(&g->kv_index, &g->kv_mask, g->n_kv, kv_name, g, &dup, &first);
    if (d < 0)
        return err_set(r->err, ASSAY_ENOMEM, "out of memory");
    if (d > 0) {
        char shown[NAME_SHOW_MAX + 8];
        show_name(shown, sizeof(shown), (const uint8_t *)g->kvs[dup].key, strlen(g->kvs[dup].key));
        return err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)g->kvs[dup].offset,
                           "duplicate key '%s' (first at offset %zu)", shown, g->kvs[first].offset);
    }

    /* general.alignment: any integer type holding a power of two that fits in u32 */
    const struct gguf_kv *a = gguf_find_kv(g, GGUF_KEY_ALIGNMENT);
    if (a) {
        bool sgn;
        int64_t s;
        uint64_t u;
        if (a->type != GGUF_TYPE_ARRAY && is_int_type(a->type)) {
            read_int(a->type, a->data, &sgn, &s, &u);
            if (sgn)
                u = s < 0 ? 0 : (uint64_t)s;
        } else {
            return err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)a->offset,
                               "key '%s': expected UINT32, found %s", GGUF_KEY_ALIGNMENT,
                               gguf_type_name(a->type));
        }
        if (u == 0 || u > UINT32_MAX || (u & (u - 1)) != 0)
            return err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)a->value_offset,
                               "key '%s': %" PRId64 " is not a power of two in 1..2^31",
                               GGUF_KEY_ALIGNMENT, sgn ? s : (int64_t)u);
        g->alignment = (uint32_t)u;
    }
    return 0;
}

static int parse_tensor(struct gguf *g, struct rd *r, struct gguf_tensor *t, uint64_t i,
                        uint64_t *rel_off)
{
    t->info_offset = r->pos;
    snprintf(r->subject, sizeof(r->subject), "tensor %" PRIu64, i);
    char *name = NULL;
    int rc = rd_name(r, &name, "tensor name");
    if (rc)
        return rc;
    t->name = name;
    char shown[NAME_SHOW_MAX + 8];
    show_name(shown, sizeof(shown), (const uint8_t *)name, strlen(name));
    snprintf(r->subject, sizeof(r->subject), "tensor '%s'", shown);

    size_t at = r->pos;
    uint32_t n_dims;
    rc = rd_u32(r, &n_dims, "n_dims");
    if (rc)
        return rc;
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return rd_fail(r, ASSAY_EINVAL, at, "n_dims %" PRIu32 " not in 1..%d", n_dims,
                       GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    int64_t n_elem = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims)
            continue;
        at = r->pos;
        uint64_t v;
        rc = rd_u64(r, &v, "dimension");
        if (rc)
            return rc;
        if (v == 0 || v > (uint64_t)INT64_MAX)
            return rd_fail(r, ASSAY_EINVAL, at, "dimension %d is %" PRId64 ", must be > 0", d,
                           (int64_t)v);
        t->ne[d] = (int64_t)v;
        if (__builtin_mul_overflow(n_elem, t->ne[d], &n_elem))
            return rd_fail(r, ASSAY_EINVAL, at, "element count overflows at dimension %d", d);
    }
    t->n_elem = n_elem;

    at = r->pos;
    uint32_t type;
    rc = rd_u32(r, &type, "tensor type");
    if (rc)
        return rc;
    const struct quant_traits *qt = type > INT32_MAX ? NULL : quant_traits_of((int)type);
    if (!qt)
        return rd_fail(r, ASSAY_EUNSUPPORTED, at, "unknown tensor type id %" PRIu32, type);
    t->type = (int)type;
    if (t->ne[0] % qt->block_elems != 0)
        return rd_fail(r, ASSAY_EINVAL, at,
                       "row length %" PRId64 " is not a multiple of the %s block size %" PRId64,
                       t->ne[0], qt->name, qt->block_elems);
    size_t row_bytes, n_bytes;
    if (!quant_row_bytes(t->type, t->ne[0], &row_bytes) ||
        (uint64_t)(t->n_elem / t->ne[0]) > SIZE_MAX ||
        !ck_mul(&n_bytes, row_bytes, (size_t)(t->n_elem / t->ne[0])))
        return rd_fail(r, ASSAY_EINVAL, at, "byte size of %" PRId64 " %s elements overflows",
                       t->n_elem, qt->name);
    t->n_bytes = n_bytes;

    at = r->pos;
    rc = rd_u64(r, rel_off, "tensor offset");
    if (rc)
        return rc;
    if (*rel_off % g->alignment != 0)
        return rd_fail(r, ASSAY_EINVAL, at,
                       "data offset %" PRIu64 " is not a multiple of the alignment %" PRIu32,
                       *rel_off, g->alignment);
    return 0;
}

struct span {
    size_t off, end, idx;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int parse_tensors(struct gguf *g, struct rd *r, uint64_t n_tensors)
{
    size_t cap = 0;
    uint64_t *rel = NULL;
    size_t rel_cap = 0;
    struct span *spans = NULL;
    int rc = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (grow((void **)&g->tensors, &cap, g->n_tensors + 1, sizeof(*g->tensors)) ||
            grow((void **)&rel, &rel_cap, g->n_tensors + 1, sizeof(*rel))) {
            rc = err_set(r->err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        struct gguf_tensor *t = &g->tensors[g->n_tensors];
        memset(t, 0, sizeof(*t));
        g->n_tensors++; /* the name, once read, is freed by gguf_close */
        rc = parse_tensor(g, r, t, i, &rel[i]);
        if (rc)
            goto out;
    }

    size_t dup, first;
    int d = build_index(&g->t_index, &g->t_mask, g->n_tensors, tensor_name, g, &dup, &first);
    if (d < 0) {
        rc = err_set(r->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    if (d > 0) {
        char shown[NAME_SHOW_MAX + 8];
        show_name(shown, sizeof(shown), (const uint8_t *)g->tensors[dup].name,
                  strlen(g->tensors[dup].name));
        rc = err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)g->tensors[dup].info_offset,
                         "duplicate tensor name '%s' (first at offset %zu)", shown,
                         g->tensors[first].info_offset);
        goto out;
    }

    /* The data section starts at the next multiple of the alignment. Without tensors the
     * padding may be missing; with tensors it must be there. */
    size_t pad = (g->alignment - r->pos % g->alignment) % g->alignment;
    if (!ck_add(&g->data_offset, r->pos, pad)) {
        rc = err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)r->pos,
                         "data section offset overflows");
        goto out;
    }
    if (g->n_tensors == 0)
        goto out;
    if (g->data_offset > r->size) {
        rc = err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)r->pos,
                         "data section at offset %zu past end of file (%zu bytes)", g->data_offset,
                         r->size);
        goto out;
    }
    size_t data_size = r->size - g->data_offset;
    spans = mem_alloc_array(g->n_tensors, sizeof(*spans));
    if (!spans) {
        rc = err_set(r->err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < g->n_tensors; i++) {
        struct gguf_tensor *t = &g->tensors[i];
        if (rel[i] > data_size || t->n_bytes > data_size - rel[i]) {
            char shown[NAME_SHOW_MAX + 8];
            show_name(shown, sizeof(shown), (const uint8_t *)t->name, strlen(t->name));
            rc = err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)t->info_offset,
                             "tensor '%s': data at relative offset %" PRIu64 " + %zu bytes past "
                             "end of file (data section at %zu, file %zu bytes)",
                             shown, rel[i], t->n_bytes, g->data_offset, r->size);
            goto out;
        }
        t->offset = g->data_offset + (size_t)rel[i];
        t->data = r->base + t->offset;
        spans[i] = (struct span){.off = t->offset, .end = t->offset + t->n_bytes, .idx = i};
    }
    qsort(spans, g->n_tensors, sizeof(*spans), cmp_span);
    for (size_t i = 1; i < g->n_tensors; i++) {
        if (spans[i].off < spans[i - 1].end) {
            const struct gguf_tensor *a = &g->tensors[spans[i - 1].idx];
            const struct gguf_tensor *b = &g->tensors[spans[i].idx];
            char sa[NAME_SHOW_MAX + 8], sb[NAME_SHOW_MAX + 8];
            show_name(sa, sizeof(sa), (const uint8_t *)a->name, strlen(a->name));
            show_name(sb, sizeof(sb), (const uint8_t *)b->name, strlen(b->name));
            rc = err_set_off(r->err, ASSAY_EINVAL, r->path, (int64_t)b->info_offset,
                             "tensor '%s': data [%zu, %zu) overlaps tensor '%s' [%zu, %zu)", sb,
                             b->offset, b->offset + b->n_bytes, sa, a->offset,
                             a->offset + a->n_bytes);
            goto out;
        }
    }
out:
    free(rel);
    free(spans);
    return rc;
}

static int parse(struct gguf *g, struct assay_error *err)
{
    struct rd r = {.base = g->base, .size = g->size, .path = g->path, .err = err};
    snprintf(r.subject, sizeof(r.subject), "header");
    if (g->size < 4 || memcmp(g->base, GGUF_MAGIC, 4) != 0) {
        char shown[16];
        show_name(shown, sizeof(shown), g->base ? g->base : (const uint8_t *)"",
                  g->size < 4 ? g->size : 4);
        return err_set_off(err, ASSAY_EINVAL, g->path, 0,
                           "not a gguf file: bad magic '%s' (%zu bytes)", shown, g->size);
    }
    r.pos = 4;
    uint32_t version;
    int rc = rd_u32(&r, &version, "version");
    if (rc)
        return rc;
    if (version == 0x02000000u || version == 0x03000000u)
        return err_set_off(err, ASSAY_EUNSUPPORTED, g->path, 4,
                           "big-endian gguf files are not supported");
    if (version != 2 && version != 3)
        return err_set_off(err, ASSAY_EUNSUPPORTED, g->path, 4,
                           "gguf version %" PRIu32 " is not supported (only 2 and 3)", version);
    g->version = version;

    uint64_t n_tensors, n_kv;
    rc = rd_u64(&r, &n_tensors, "tensor count");
    if (!rc)
        rc = rd_u64(&r, &n_kv, "key/value count");
    if (rc)
        return rc;
    size_t left = rd_left(&r);
    if (n_kv > left / KV_MIN_BYTES)
        return err_set_off(err, ASSAY_EINVAL, g->path, 16,
                           "key/value count %" PRIu64 " impossible in %zu remaining bytes", n_kv,
                           left);
    if (n_tensors > left / TENSOR_MIN_BYTES ||
        n_kv * KV_MIN_BYTES + n_tensors * TENSOR_MIN_BYTES > left)
        return err_set_off(err, ASSAY_EINVAL, g->path, 8,
                           "tensor count %" PRIu64
                           " impossible in %zu remaining bytes (with %" PRIu64 " keys)",
                           n_tensors, left, n_kv);

    rc = parse_kvs(g, &r, n_kv);
    if (rc)
        return rc;
    return parse_tensors(g, &r, n_tensors);
}

static int open_common(struct gguf **out, struct gguf *g, struct assay_error *err)
{
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int rc = parse(g, err);
    if (rc) {
        gguf_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

int gguf_open(struct gguf **out, const char *path, struct assay_error *err)
{
    *out = NULL;
    struct gguf *g = calloc(1, sizeof(*g));
    if (!g)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = file_map(&g->fm, path, err);
    if (rc) {
        free(g);
        return rc;
    }
    g->base = g->fm.data;
    g->size = g->fm.size;
    g->path = mem_strdup(path);
    if (!g->path) {
        gguf_close(g);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return open_common(out, g, err);
}

int gguf_open_mem(struct gguf **out, const void *data, size_t size, const char *name,
                  struct assay_error *err)
{
    *out = NULL;
    struct gguf *g = calloc(1, sizeof(*g));
    if (!g)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    g->base = size ? data : NULL;
    g->size = size;
    g->path = mem_strdup(name ? name : "<memory>");
    if (!g->path) {
        gguf_close(g);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return open_common(out, g, err);
}

void gguf_close(struct gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free((void *)g->kvs[i].key);
        free((void *)g->kvs[i].str_off);
    }
    free(g->kvs);
    free(g->kv_index);
    for (size_t i = 0; i < g->n_tensors; i++)
        free((void *)g->tensors[i].name);
    free(g->tensors);
    free(g->t_index);
    free(g->path);
    file_unmap(&g->fm);
    free(g);
}

/* ---- file facts and tables ------------------------------------------------------------ */

const char *gguf_path(const struct gguf *g)
{
    return g->path;
}

uint32_t gguf_version(const struct gguf *g)
{
    return g->version;
}

uint32_t gguf_alignment(const struct gguf *g)
{
    return g->alignment;
}

size_t gguf_file_size(const struct gguf *g)
{
    return g->size;
}

size_t gguf_data_offset(const struct gguf *g)
{
    return g->data_offset;
}

const void *gguf_file_data(const struct gguf *g)
{
    return g->base;
}

bool gguf_is_file_mapped(const struct gguf *g)
{
    return g->fm.data != NULL && g->base == g->fm.data;
}

size_t gguf_n_kv(const struct gguf *g)
{
    return g->n_kv;
}

const struct gguf_kv *gguf_kv_at(const struct gguf *g, size_t i)
{
    return i < g->n_kv ? &g->kvs[i] : NULL;
}

const struct gguf_kv *gguf_find_kv(const struct gguf *g, const char *key)
{
    size_t i = lookup(g->kv_index, g->kv_mask, key, kv_name, g);
    return i == SIZE_MAX ? NULL : &g->kvs[i];
}

size_t gguf_n_tensors(const struct gguf *g)
{
    return g->n_tensors;
}

const struct gguf_tensor *gguf_tensor_at(const struct gguf *g, size_t i)
{
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name)
{
    size_t i = lookup(g->t_index, g->t_mask, name, tensor_name, g);
    return i == SIZE_MAX ? NULL : &g->tensors[i];
}

/* ---- typed getters ----------------------------------------------------------------- */

static int not_found(const struct gguf *g, const char *key, struct assay_error *err)
{
    return err_set_at(err, ASSAY_ENOTFOUND, g->path, 0, "key '%s' not found", key ? key : "");
}

static int wrong_type(const struct gguf *g, const struct gguf_kv *kv, const char *want,
                      struct assay_error *err)
{
    char found[32];
    if (kv->type == GGUF_TYPE_ARRAY)
        snprintf(found, sizeof(found), "ARRAY[%s]", gguf_type_name(kv->elem_type));
    else
        snprintf(found, sizeof(found), "%s", gguf_type_name(kv->type));
    return err_set_off(err, ASSAY_EINVAL, g->path, (int64_t)kv->offset,
                       "key '%s': expected %s, found %s", kv->key, want, found);
}

/* Integer element of type t at p into [lo, hi] (signed view) or [0, uhi] (unsigned). */
static int int_in_range(const struct gguf *g, const struct gguf_kv *kv, int t, const uint8_t *p,
                        bool want_signed, int64_t lo, int64_t hi, uint64_t uhi, int64_t *s_out,
                        uint64_t *u_out, const char *want, struct assay_error *err)
{
    if (!is_int_type(t))
        return wrong_type(g, kv, want, err);
    bool sgn;
    int64_t s;
    uint64_t u;
    read_int(t, p, &sgn, &s, &u);
    bool ok;
    if (want_signed) {
        if (sgn) {
            ok = s >= lo && s <= hi;
        } else {
            ok = u <= (uint64_t)hi;
            s = (int64_t)u;
        }
        *s_out = s;
    } else {
        if (sgn) {
            ok = s >= 0 && (uint64_t)s <= uhi;
            u = (uint64_t)s;
        } else {
            ok = u <= uhi;
        }
        *u_out = u;
    }
    if (!ok) {
        if (sgn)
            return err_set_off(err, ASSAY_EINVAL, g->path, (int64_t)kv->offset,
                               "key '%s': value %" PRId64 " does not fit %s", kv->key, s, want);
        return err_set_off(err, ASSAY_EINVAL, g->path, (int64_t)kv->offset,
                           "key '%s': value %" PRIu64 " does not fit %s", kv->key, u, want);
    }
    return 0;
}

static int scalar_kv(const struct gguf *g, const struct gguf_kv *kv, const char *want,
                     struct assay_error *err)
{
    if (kv->type == GGUF_TYPE_ARRAY || kv->type == GGUF_TYPE_STRING)
        return wrong_type(g, kv, want, err);
    return 0;
}

int gguf_kv_u32(const struct gguf *g, const struct gguf_kv *kv, uint32_t *out,
                struct assay_error *err)
{
    const char *want = "an integer fitting UINT32";
    int rc = scalar_kv(g, kv, want, err);
    if (rc)
        return rc;
    uint64_t u = 0;
    int64_t s = 0;
    rc = int_in_range(g, kv, kv->type, kv->data, false, 0, 0, UINT32_MAX, &s, &u, want, err);
    if (!rc)
        *out = (uint32_t)u;
    return rc;
}

int gguf_kv_u64(const struct gguf *g, const struct gguf_kv *kv, uint64_t *out,
                struct assay_error *err)
{
    const char *want = "an integer fitting UINT64";
    int rc = scalar_kv(g, kv, want, err);
    if (rc)
        return rc;
    uint64_t u = 0;
    int64_t s = 0;
    rc = int_in_range(g, kv, kv->type, kv->data, false, 0, 0, UINT64_MAX, &s, &u, want, err);
    if (!rc)
        *out = u;
    return rc;
}

int gguf_kv_i64(const struct gguf *g, const struct gguf_kv *kv, int64_t *out,
                struct assay_error *err)
{
    const char *want = "an integer fitting INT64";
    int rc = scalar_kv(g, kv, want, err);
    if (rc)
        return rc;
    uint64_t u = 0;
    int64_t s = 0;
    rc = int_in_range(g, kv, kv->type, kv->data, true, INT64_MIN, INT64_MAX, 0, &s, &u, want, err);
    if (!rc)
        *out = s;
    return rc;
}

int gguf_kv_f64(const struct gguf *g, const struct gguf_kv *kv, double *out,
                struct assay_error *err)
{
    if (kv->type != GGUF_TYPE_FLOAT32 && kv->type != GGUF_TYPE_FLOAT64)
        return wrong_type(g, kv, "FLOAT32 or FLOAT64", err);
    *out = read_float(kv->type, kv->data);
    return 0;
}

int gguf_kv_str(const struct gguf *g, const struct gguf_kv *kv, const char **ptr, size_t *len,
                struct assay_error *err)
{
    if (kv->type != GGUF_TYPE_STRING)
        return wrong_type(g, kv, "STRING", err);
    *ptr = kv->data;
    *len = kv->len;
    return 0;
}

int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    return kv ? gguf_kv_u32(g, kv, out, err) : not_found(g, key, err);
}

int gguf_get_i32(const struct gguf *g, const char *key, int32_t *out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv)
        return not_found(g, key, err);
    const char *want = "an integer fitting INT32";
    int rc = scalar_kv(g, kv, want, err);
    if (rc)
        return rc;
    uint64_t u = 0;
    int64_t s = 0;
    rc = int_in_range(g, kv, kv->type, kv->data, true, INT32_MIN, INT32_MAX, 0, &s, &u, want, err);
    if (!rc)
        *out = (int32_t)s;
    return rc;
}

int gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    return kv ? gguf_kv_u64(g, kv, out, err) : not_found(g, key, err);
}

int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    return kv ? gguf_kv_i64(g, kv, out, err) : not_found(g, key, err);
}

int gguf_get_f64(const struct gguf *g, const char *key, double *out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    return kv ? gguf_kv_f64(g, kv, out, err) : not_found(g, key, err);
}

int gguf_get_f32(const struct gguf *g, const char *key, float *out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv)
        return not_found(g, key, err);
    double d = 0;
    int rc = gguf_kv_f64(g, kv, &d, err);
    if (rc)
        return rc;
    if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX))
        return err_set_off(err, ASSAY_EINVAL, g->path, (int64_t)kv->offset,
                           "key '%s': value %g does not fit FLOAT32", kv->key, d);
    *out = (float)d;
    return 0;
}

int gguf_get_bool(const struct gguf *g, const char *key, bool *out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv)
        return not_found(g, key, err);
    if (kv->type != GGUF_TYPE_BOOL)
        return wrong_type(g, kv, "BOOL", err);
    *out = ((const uint8_t *)kv->data)[0] != 0;
    return 0;
}

int gguf_get_str(const struct gguf *g, const char *key, const char **ptr, size_t *len,
                 struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    return kv ? gguf_kv_str(g, kv, ptr, len, err) : not_found(g, key, err);
}

int gguf_get_arr(const struct gguf *g, const char *key, int *elem_type, uint64_t *n,
                 const struct gguf_kv **kv_out, struct assay_error *err)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv)
        return not_found(g, key, err);
    if (kv->type != GGUF_TYPE_ARRAY)
        return wrong_type(g, kv, "ARRAY", err);
    if (elem_type)
        *elem_type = kv->elem_type;
    if (n)
        *n = kv->n;
    if (kv_out)
        *kv_out = kv;
    return 0;
}

/* ---- array elements -------------------------------------------------------------- */

static int arr_check(const struct gguf *g, const struct gguf_kv *kv, uint64_t i,
                     struct assay_error *err)
{
    if (kv->type != GGUF_TYPE_ARRAY)
        return wrong_type(g, kv, "ARRAY", err);
    if (i >= kv->n)
        return err_set_off(err, ASSAY_EUSAGE, g->path, (int64_t)kv->offset,
                           "key '%s': index %" PRIu64 " out of range (%" PRIu64 " elements)",
                           kv->key, i, kv->n);
    return 0;
}

int gguf_arr_str(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, const char **ptr,
                 size_t *len, struct assay_error *err)
{
    if (kv->type != GGUF_TYPE_ARRAY || kv->elem_type != GGUF_TYPE_STRING)
        return wrong_type(g, kv, "ARRAY[STRING]", err);
    int rc = arr_check(g, kv, i, err);
    if (rc)
        return rc;
    size_t off = kv->str_off[i];
    *len = (size_t)rd_le64(g->base + off);
    *ptr = (const char *)g->base + off + 8;
    return 0;
}

int gguf_arr_f32(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, float *out,
                 struct assay_error *err)
{
    if (kv->type != GGUF_TYPE_ARRAY ||
        (kv->elem_type != GGUF_TYPE_FLOAT32 && kv->elem_type != GGUF_TYPE_FLOAT64))
        return wrong_type(g, kv, "ARRAY[FLOAT32] or ARRAY[FLOAT64]", err);
    int rc = arr_check(g, kv, i, err);
    if (rc)
        return rc;
    const uint8_t *p = (const uint8_t *)kv->data + (size_t)i * type_size[kv->elem_type];
    *out = (float)read_float(kv->elem_type, p);
    return 0;
}

int gguf_arr_i32(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, int32_t *out,
                 struct assay_error *err)
{
    const char *want = "an integer array with elements fitting INT32";
    if (kv->type != GGUF_TYPE_ARRAY || !is_int_type(kv->elem_type))
        return wrong_type(g, kv, want, err);
    int rc = arr_check(g, kv, i, err);
    if (rc)
        return rc;
    const uint8_t *p = (const uint8_t *)kv->data + (size_t)i * type_size[kv->elem_type];
    int64_t s;
    uint64_t u;
    rc = int_in_range(g, kv, kv->elem_type, p, true, INT32_MIN, INT32_MAX, 0, &s, &u, want, err);
    if (!rc)
        *out = (int32_t)s;
    return rc;
}

int gguf_arr_i64(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, int64_t *out,
                 struct assay_error *err)
{
    const char *want = "an integer array with elements fitting INT64";
    if (kv->type != GGUF_TYPE_ARRAY || !is_int_type(kv->elem_type))
        return wrong_type(g, kv, want, err);
    int rc = arr_check(g, kv, i, err);
    if (rc)
        return rc;
    const uint8_t *p = (const uint8_t *)kv->data + (size_t)i * type_size[kv->elem_type];
    int64_t s;
    uint64_t u;
    rc = int_in_range(g, kv, kv->elem_type, p, true, INT64_MIN, INT64_MAX, 0, &s, &u, want, err);
    if (!rc)
        *out = s;
    return rc;
}

/* ---- rendering ------------------------------------------------------------------ */

/* Append the scalar of type t at p to buf at *j (of n). */
static void put_scalar(char *buf, size_t n, size_t *j, int t, const uint8_t *p)
{
    if (*j + 1 >= n)
        return;
    int w = 0;
    if (is_int_type(t)) {
        bool sgn;
        int64_t s;
        uint64_t u;
        read_int(t, p, &sgn, &s, &u);
        w = sgn ? snprintf(buf + *j, n - *j, "%" PRId64, s)
                : snprintf(buf + *j, n - *j, "%" PRIu64, u);
    } else if (t == GGUF_TYPE_FLOAT32 || t == GGUF_TYPE_FLOAT64) {
        w = snprintf(buf + *j, n - *j, "%.9g", read_float(t, p));
    } else if (t == GGUF_TYPE_BOOL) {
        w = snprintf(buf + *j, n - *j, "%s", p[0] ? "true" : "false");
    }
    if (w > 0)
        *j = (size_t)w >= n - *j ? n - 1 : *j + (size_t)w;
}

static void put_text(char *buf, size_t n, size_t *j, const char *s)
{
    while (*s && *j + 1 < n)
        buf[(*j)++] = *s++;
    buf[*j] = '\0';
}

/* A quoted string: printable ASCII as is, others as \xNN, cut after max bytes. */
static void put_quoted(char *buf, size_t n, size_t *j, const uint8_t *s, size_t len, size_t max)
{
    put_text(buf, n, j, "\"");
    size_t lim = len < max ? len : max;
    for (size_t i = 0; i < lim && *j + 5 < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            buf[(*j)++] = '\\';
            buf[(*j)++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            buf[(*j)++] = (char)c;
        } else {
            snprintf(buf + *j, n - *j, "\\x%02x", c);
            *j += 4;
        }
    }
    buf[*j] = '\0';
    put_text(buf, n, j, len > lim ? "\"..." : "\"");
}

void gguf_kv_describe(const struct gguf *g, const struct gguf_kv *kv, char *buf, size_t n)
{
    if (n == 0)
        return;
    size_t j = 0;
    buf[0] = '\0';
    size_t max_str = n > 16 ? n - 16 : 0;
    if (kv->type == GGUF_TYPE_STRING) {
        put_quoted(buf, n, &j, kv->data, kv->len, max_str);
        return;
    }
    if (kv->type != GGUF_TYPE_ARRAY) {
        put_scalar(buf, n, &j, kv->type, kv->data);
        return;
    }
    char head[64];
    snprintf(head, sizeof(head), "[%s x %" PRIu64 "]", gguf_type_name(kv->elem_type), kv->n);
    put_text(buf, n, &j, head);
    uint64_t show = kv->n < 4 ? kv->n : 4;
    for (uint64_t i = 0; i < show; i++) {
        put_text(buf, n, &j, i == 0 ? " " : ", ");
        if (kv->elem_type == GGUF_TYPE_STRING) {
            const char *p = NULL;
            size_t len = 0;
            if (gguf_arr_str(g, kv, i, &p, &len, NULL) == 0)
                put_quoted(buf, n, &j, (const uint8_t *)p, len, 24);
        } else {
            const uint8_t *p = (const uint8_t *)kv->data + (size_t)i * type_size[kv->elem_type];
            put_scalar(buf, n, &j, kv->elem_type, p);
        }
    }
    if (kv->n > show)
        put_text(buf, n, &j, ", ...");
}
