/*
 * engine/gguf_write.c - the GGUF writer (version 3); see gguf.h.
 *
 * Pairs are serialised into one capped buffer as they are added (so the writer owns a
 * copy of every key and value); tensors are kept as descriptions plus a borrowed data
 * pointer, and their bytes are streamed straight from the caller's memory to the file
 * when it is written. The writer validates what it is given (unique names, known types,
 * shapes, alignment) so that everything it writes reads back through gguf_open. It does
 * not quantize: the caller hands it bytes already in the tensor's type.
 */
#include "engine/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "engine/quant.h"

struct wtensor {
    char *name;
    int type;
    int n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    const void *data; /* borrowed */
    size_t n_bytes;
    size_t rel_off; /* offset in the data section, set when the file is laid out */
};

struct gguf_writer {
    struct buf kv; /* serialised pairs */
    uint64_t n_kv;
    char **keys; /* for the uniqueness check */
    size_t keys_cap;
    struct wtensor *t;
    size_t n_t, t_cap;
    uint32_t alignment;
};

int gguf_writer_new(struct gguf_writer **out, struct assay_error *err)
{
    *out = NULL;
    struct gguf_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    buf_init(&w->kv, 0);
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    *out = w;
    return 0;
}

void gguf_writer_free(struct gguf_writer *w)
{
    if (!w)
        return;
    buf_release(&w->kv);
    for (uint64_t i = 0; i < w->n_kv; i++)
        free(w->keys[i]);
    free(w->keys);
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->t);
    free(w);
}

/* ---- pairs ------------------------------------------------------------------------ */

static int check_name(const char *name, const char *what, struct assay_error *err)
{
    if (!name || !name[0])
        return err_set(err, ASSAY_EINVAL, "gguf writer: empty %s", what);
    return 0;
}

/* Check key is new, remember it, and append its encoding and the value type. */
static int begin_kv(struct gguf_writer *w, const char *key, int type, struct assay_error *err)
{
    int rc = check_name(key, "key", err);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->keys[i], key) == 0)
            return err_set(err, ASSAY_EINVAL, "gguf writer: duplicate key '%s'", key);
    }
    if (w->n_kv == w->keys_cap) {
        size_t cap = w->keys_cap ? w->keys_cap * 2 : 32;
        char **p = mem_realloc_array(w->keys, cap, sizeof(*p));
        if (!p)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        w->keys = p;
        w->keys_cap = cap;
    }
    char *copy = mem_strdup(key);
    if (!copy)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    uint64_t len = strlen(key);
    uint32_t t = (uint32_t)type;
    size_t mark = w->kv.len;
    if ((rc = buf_add(&w->kv, &len, 8)) || (rc = buf_add(&w->kv, key, len)) ||
        (rc = buf_add(&w->kv, &t, 4))) {
        buf_truncate(&w->kv, mark);
        free(copy);
        return err_set(err, rc, "gguf writer: metadata too large at key '%s'", key);
    }
    w->keys[w->n_kv++] = copy;
    return 0;
}

/* Undo begin_kv after its value failed to append. */
static void abort_kv(struct gguf_writer *w, size_t mark)
{
    buf_truncate(&w->kv, mark);
    w->n_kv--;
    free(w->keys[w->n_kv]);
}

static int add_scalar(struct gguf_writer *w, const char *key, int type, const void *v, size_t sz,
                      struct assay_error *err)
{
    if (key && strcmp(key, GGUF_KEY_ALIGNMENT) == 0 && type != GGUF_TYPE_UINT32)
        return err_set(err, ASSAY_EINVAL, "gguf writer: key '%s' must be UINT32",
                       GGUF_KEY_ALIGNMENT);
    size_t mark = w->kv.len;
    int rc = begin_kv(w, key, type, err);
    if (rc)
        return rc;
    rc = buf_add(&w->kv, v, sz);
    if (rc) {
        abort_kv(w, mark);
        return err_set(err, rc, "gguf writer: metadata too large at key '%s'", key);
    }
    return 0;
}

int gguf_writer_add_u8(struct gguf_writer *w, const char *key, uint8_t v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_UINT8, &v, 1, err);
}

int gguf_writer_add_i8(struct gguf_writer *w, const char *key, int8_t v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_INT8, &v, 1, err);
}

int gguf_writer_add_u16(struct gguf_writer *w, const char *key, uint16_t v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_UINT16, &v, 2, err);
}

int gguf_writer_add_i16(struct gguf_writer *w, const char *key, int16_t v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_INT16, &v, 2, err);
}

int gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v, struct assay_error *err)
{
    bool is_align = key && strcmp(key, GGUF_KEY_ALIGNMENT) == 0;
    if (is_align && (v == 0 || (v & (v - 1)) != 0))
        return err_set(err, ASSAY_EINVAL,
                       "gguf writer: alignment %" PRIu32 " is not a power of two", v);
    int rc = add_scalar(w, key, GGUF_TYPE_UINT32, &v, 4, err);
    if (!rc && is_align)
        w->alignment = v;
    return rc;
}

int gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment, struct assay_error *err)
{
    return gguf_writer_add_u32(w, GGUF_KEY_ALIGNMENT, alignment, err);
}

int gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_INT32, &v, 4, err);
}

int gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_UINT64, &v, 8, err);
}

int gguf_writer_add_i64(struct gguf_writer *w, const char *key, int64_t v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_INT64, &v, 8, err);
}

int gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_FLOAT32, &v, 4, err);
}

int gguf_writer_add_f64(struct gguf_writer *w, const char *key, double v, struct assay_error *err)
{
    return add_scalar(w, key, GGUF_TYPE_FLOAT64, &v, 8, err);
}

int gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v, struct assay_error *err)
{
    uint8_t b = v ? 1 : 0;
    return add_scalar(w, key, GGUF_TYPE_BOOL, &b, 1, err);
}

int gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *s, size_t len,
                        struct assay_error *err)
{
    if (!s && len)
        return err_set(err, ASSAY_EUSAGE, "gguf writer: key '%s': NULL string", key);
    size_t mark = w->kv.len;
    int rc = begin_kv(w, key, GGUF_TYPE_STRING, err);
    if (rc)
        return rc;
    uint64_t n = len;
    if ((rc = buf_add(&w->kv, &n, 8)) || (rc = buf_add(&w->kv, s, len))) {
        abort_kv(w, mark);
        return err_set(err, rc, "gguf writer: metadata too large at key '%s'", key);
    }
    return 0;
}

static size_t elem_size(int t)
{
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_BOOL:
        return 1;
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16:
        return 2;
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_FLOAT32:
        return 4;
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64:
    case GGUF_TYPE_FLOAT64:
        return 8;
    default:
        return 0;
    }
}

/* Append an array's header (element type and count) and payload bytes. */
static int add_array_raw(struct gguf_writer *w, const char *key, int elem_type, uint64_t n,
                         const void *payload, size_t payload_len, struct assay_error *err)
{
    size_t mark = w->kv.len;
    int rc = begin_kv(w, key, GGUF_TYPE_ARRAY, err);
    if (rc)
        return rc;
    uint32_t et = (uint32_t)elem_type;
    if ((rc = buf_add(&w->kv, &et, 4)) || (rc = buf_add(&w->kv, &n, 8)) ||
        (rc = buf_add(&w->kv, payload, payload_len))) {
        abort_kv(w, mark);
        return err_set(err, rc, "gguf writer: metadata too large at key '%s'", key);
    }
    return 0;
}

int gguf_writer_add_arr(struct gguf_writer *w, const char *key, int elem_type, const void *data,
                        uint64_t n, struct assay_error *err)
{
    size_t sz = elem_size(elem_type);
    if (sz == 0)
        return err_set(err, ASSAY_EUSAGE, "gguf writer: key '%s': bad array element type %d",
                       key ? key : "", elem_type);
    size_t bytes;
    if (n > SIZE_MAX || !ck_mul(&bytes, (size_t)n, sz))
        return err_set(err, ASSAY_ELIMIT, "gguf writer: key '%s': array too large", key);
    if (!data && n)
        return err_set(err, ASSAY_EUSAGE, "gguf writer: key '%s': NULL array", key);
    if (elem_type == GGUF_TYPE_BOOL) {
        const uint8_t *b = data;
        for (size_t i = 0; i < bytes; i++) {
            if (b[i] > 1)
                return err_set(err, ASSAY_EINVAL, "gguf writer: key '%s': bool element %zu is %u",
                               key, i, b[i]);
        }
    }
    return add_array_raw(w, key, elem_type, n, data, bytes, err);
}

int gguf_writer_add_arr_str(struct gguf_writer *w, const char *key, const char *const *strs,
                            const size_t *lens, uint64_t n, struct assay_error *err)
{
    if (!strs && n)
        return err_set(err, ASSAY_EUSAGE, "gguf writer: key '%s': NULL array", key);
    size_t mark = w->kv.len;
    int rc = begin_kv(w, key, GGUF_TYPE_ARRAY, err);
    if (rc)
        return rc;
    uint32_t et = GGUF_TYPE_STRING;
    rc = buf_add(&w->kv, &et, 4);
    if (!rc)
        rc = buf_add(&w->kv, &n, 8);
    for (uint64_t i = 0; !rc && i < n; i++) {
        uint64_t len = lens ? lens[i] : (strs[i] ? strlen(strs[i]) : 0);
        if (!strs[i] && len) {
            abort_kv(w, mark);
            return err_set(err, ASSAY_EUSAGE, "gguf writer: key '%s': NULL string %" PRIu64, key,
                           i);
        }
        rc = buf_add(&w->kv, &len, 8);
        if (!rc)
            rc = buf_add(&w->kv, strs[i], (size_t)len);
    }
    if (rc) {
        abort_kv(w, mark);
        return err_set(err, rc, "gguf writer: metadata too large at key '%s'", key);
    }
    return 0;
}

int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf *g, const struct gguf_kv *kv,
                        struct assay_error *err)
{
    if (strcmp(kv->key, GGUF_KEY_ALIGNMENT) == 0)
        return gguf_writer_set_alignment(w, gguf_alignment(g), err);
    if (kv->type == GGUF_TYPE_ARRAY)
        return add_array_raw(w, kv->key, kv->elem_type, kv->n, kv->data, kv->len, err);
    if (kv->type == GGUF_TYPE_STRING)
        return gguf_writer_add_str(w, kv->key, kv->data, kv->len, err);
    return add_scalar(w, kv->key, kv->type, kv->data, kv->len, err);
}

/* ---- tensors ---------------------------------------------------------------------- */

int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, int type, int n_dims,
                           const int64_t *ne, const void *data, struct assay_error *err)
{
    int rc = check_name(name, "tensor name", err);
    if (rc)
        return rc;
    for (size_t i = 0; i < w->n_t; i++) {
        if (strcmp(w->t[i].name, name) == 0)
            return err_set(err, ASSAY_EINVAL, "gguf writer: duplicate tensor name '%s'", name);
    }
    const struct quant_traits *qt = quant_traits_of(type);
    if (!qt)
        return err_set(err, ASSAY_EUNSUPPORTED, "gguf writer: tensor '%s': unknown type id %d",
                       name, type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return err_set(err, ASSAY_EINVAL, "gguf writer: tensor '%s': n_dims %d not in 1..%d", name,
                       n_dims, GGUF_MAX_DIMS);
    struct wtensor t = {.type = type, .n_dims = n_dims, .data = data};
    int64_t rows = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] <= 0)
            return err_set(err, ASSAY_EINVAL, "gguf writer: tensor '%s': dimension %d is %" PRId64,
                           name, d, t.ne[d]);
        if (d > 0 && __builtin_mul_overflow(rows, t.ne[d], &rows))
            return err_set(err, ASSAY_EINVAL, "gguf writer: tensor '%s': too many elements", name);
    }
    size_t row_bytes;
    int64_t n_elem;
    if (!quant_row_bytes(type, t.ne[0], &row_bytes) || (uint64_t)rows > SIZE_MAX ||
        !ck_mul(&t.n_bytes, row_bytes, (size_t)rows) ||
        __builtin_mul_overflow(rows, t.ne[0], &n_elem))
        return err_set(err, ASSAY_EINVAL,
                       "gguf writer: tensor '%s': row length %" PRId64
                       " not a multiple of the %s block size, or size overflows",
                       name, t.ne[0], qt->name);
    if (!data)
        return err_set(err, ASSAY_EUSAGE, "gguf writer: tensor '%s': NULL data", name);
    if (w->n_t == w->t_cap) {
        size_t cap = w->t_cap ? w->t_cap * 2 : 64;
        struct wtensor *p = mem_realloc_array(w->t, cap, sizeof(*p));
        if (!p)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        w->t = p;
        w->t_cap = cap;
    }
    t.name = mem_strdup(name);
    if (!t.name)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    w->t[w->n_t++] = t;
    return 0;
}

/* ---- layout and output ------------------------------------------------------------ */

static size_t pad_to(size_t x, size_t a)
{
    return (a - x % a) % a;
}

/* Serialise header, pairs and tensor descriptions (with padding) into hdr, lay tensors
 * out, and compute the total file size. */
static int build_header(struct gguf_writer *w, struct buf *hdr, size_t *total,
                        struct assay_error *err)
{
    static const uint8_t zeros[64];
    uint32_t version = 3;
    uint64_t n_t = w->n_t;
    int rc = buf_add(hdr, GGUF_MAGIC, 4);
    if (!rc)
        rc = buf_add(hdr, &version, 4);
    if (!rc)
        rc = buf_add(hdr, &n_t, 8);
    if (!rc)
        rc = buf_add(hdr, &w->n_kv, 8);
    if (!rc)
        rc = buf_add(hdr, w->kv.data ? w->kv.data : "", w->kv.len);
    size_t off = 0;
    for (size_t i = 0; !rc && i < w->n_t; i++) {
        struct wtensor *t = &w->t[i];
        uint64_t len = strlen(t->name);
        uint32_t nd = (uint32_t)t->n_dims, ty = (uint32_t)t->type;
        t->rel_off = off;
        uint64_t rel = off;
        rc = buf_add(hdr, &len, 8);
        if (!rc)
            rc = buf_add(hdr, t->name, len);
        if (!rc)
            rc = buf_add(hdr, &nd, 4);
        for (int d = 0; !rc && d < t->n_dims; d++)
            rc = buf_add(hdr, &t->ne[d], 8);
        if (!rc)
            rc = buf_add(hdr, &ty, 4);
        if (!rc)
            rc = buf_add(hdr, &rel, 8);
        size_t end;
        if (!rc &&
            (!ck_add(&end, off, t->n_bytes) || !ck_add(&off, end, pad_to(end, w->alignment))))
            rc = ASSAY_ELIMIT;
    }
    /* pad the descriptions to the alignment, in chunks (the alignment may exceed zeros);
     * without tensors there is no data section to align (and an alignment of 2^31 would
     * otherwise make a 2 GiB file of nothing) */
    size_t pad = w->n_t ? pad_to(hdr->len, w->alignment) : 0;
    while (!rc && pad > 0) {
        size_t k = pad < sizeof(zeros) ? pad : sizeof(zeros);
        rc = buf_add(hdr, zeros, k);
        pad -= k;
    }
    if (rc)
        return err_set(err, rc, "gguf writer: file too large");
    if (!ck_add(total, hdr->len, off))
        return err_set(err, ASSAY_ELIMIT, "gguf writer: file too large");
    return 0;
}

/* Visit the file's bytes in order: the header, then each tensor and its padding. */
typedef int (*emit_fn)(void *ctx, const void *p, size_t n);

static int emit_all(struct gguf_writer *w, const struct buf *hdr, emit_fn emit, void *ctx)
{
    static const uint8_t zeros[64];
    int rc = emit(ctx, hdr->data, hdr->len);
    for (size_t i = 0; !rc && i < w->n_t; i++) {
        const struct wtensor *t = &w->t[i];
        rc = emit(ctx, t->data, t->n_bytes);
        /* padding after every tensor, the last included, as ggml writes it */
        size_t pad = pad_to(t->n_bytes, w->alignment);
        while (!rc && pad > 0) {
            size_t k = pad < sizeof(zeros) ? pad : sizeof(zeros);
            rc = emit(ctx, zeros, k);
            pad -= k;
        }
    }
    return rc;
}

struct mem_sink {
    uint8_t *p;
    size_t len, cap;
};

static int mem_emit(void *ctx, const void *p, size_t n)
{
    struct mem_sink *s = ctx;
    if (n > s->cap - s->len)
        return ASSAY_EFAIL; /* cannot happen: the size was computed first */
    if (n)
        memcpy(s->p + s->len, p, n);
    s->len += n;
    return 0;
}

int gguf_writer_write_mem(struct gguf_writer *w, void **out, size_t *len, struct assay_error *err)
{
    *out = NULL;
    *len = 0;
    struct buf hdr;
    buf_init(&hdr, 0);
    size_t total;
    int rc = build_header(w, &hdr, &total, err);
    if (rc)
        goto out;
    struct mem_sink s = {.p = malloc(total ? total : 1), .cap = total};
    if (!s.p) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory (%zu bytes)", total);
        goto out;
    }
    rc = emit_all(w, &hdr, mem_emit, &s);
    if (rc) {
        free(s.p);
        rc = err_set(err, rc, "gguf writer: internal size mismatch");
        goto out;
    }
    *out = s.p;
    *len = s.len;
out:
    buf_release(&hdr);
    return rc;
}

struct fd_sink {
    int fd;
    int err_no;
};

static int fd_emit(void *ctx, const void *p, size_t n)
{
    struct fd_sink *s = ctx;
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(s->fd, c, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            s->err_no = errno;
            return ASSAY_EIO;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

int gguf_writer_write(struct gguf_writer *w, const char *path, struct assay_error *err)
{
    struct buf hdr;
    buf_init(&hdr, 0);
    char *tmp = NULL;
    int fd = -1;
    size_t total;
    int rc = build_header(w, &hdr, &total, err);
    if (rc)
        goto out;
    size_t n = strlen(path) + 16;
    tmp = malloc(n);
    if (!tmp) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = err_set_at(err, ASSAY_EIO, path, 0, "cannot create a temporary file: %s",
                        strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    (void)fchmod(fd, 0644); /* mkstemp makes 0600; a model file is not a secret */
    struct fd_sink s = {.fd = fd};
    rc = emit_all(w, &hdr, fd_emit, &s);
    if (rc) {
        rc = err_set_at(err, ASSAY_EIO, tmp, 0, "write failed: %s", strerror(s.err_no));
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = err_set_at(err, ASSAY_EIO, tmp, 0, "fsync failed: %s", strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = err_set_at(err, ASSAY_EIO, tmp, 0, "close failed: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = err_set_at(err, ASSAY_EIO, path, 0, "cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    /* make the rename durable: fsync the folder (best effort) */
    char *dcopy = mem_strdup(path);
    if (dcopy) {
        int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dcopy);
    }
    free(tmp);
    tmp = NULL;
out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    buf_release(&hdr);
    return rc;
}
