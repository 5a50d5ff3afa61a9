/*
 * engine/gguf.h - reading (versions 2 and 3) and writing (version 3) GGUF checkpoints.
 *
 * A GGUF file is: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, then n_kv
 * key/value pairs, then n_tensors tensor descriptions (name, n_dims, ne[], type, offset
 * relative to the data section), padding to `general.alignment` (default 32), and the
 * data section. Everything is little-endian.
 *
 * Reading. gguf_open maps the file read-only (base/file.h) and validates every byte it
 * will ever hand out before returning: magic, version, counts against what the rest of
 * the file could hold (before anything is allocated), string and array lengths, value
 * types, key and tensor-name uniqueness, n_dims (1..4), dimensions (> 0, element count
 * overflow-checked), tensor types (engine/quant.h), row length a multiple of the block
 * size, tensor offsets aligned, inside the file and not overlapping. A malformed file
 * fails with ASSAY_EINVAL (ASSAY_EUNSUPPORTED for a version, tensor type or nested array
 * assay does not handle) and an error naming the file, the key or tensor and the byte
 * offset. Nothing is copied: tensors, strings and arrays point into the mapping.
 *
 * Ownership. struct gguf owns the mapping and its tables; gguf_close frees them. Every
 * pointer obtained from a gguf (kv, tensor, name, string, tensor data) is borrowed and
 * valid until gguf_close. gguf_open_mem parses a caller's buffer without copying it:
 * the buffer must outlive the gguf. A struct gguf is immutable after open, so it may be
 * read from several threads at once.
 *
 * Strings. Keys and tensor names are NUL-terminated copies owned by the gguf (files
 * with a NUL byte inside a key or tensor name are rejected). String VALUES (gguf_get_str,
 * gguf_arr_str) point into the file and are NOT NUL-terminated: always use the length.
 *
 * Numbers inside the mapping may be unaligned; the accessors below read them safely.
 *
 * Writing. struct gguf_writer collects key/value pairs and tensor descriptions and
 * writes a version 3 file (atomically: temporary file, fsync, rename), or a buffer.
 */
#ifndef ASSAY_ENGINE_GGUF_H
#define ASSAY_ENGINE_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Value types, with the ids GGUF stores. */
enum gguf_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT = 13,
};

#define GGUF_MAGIC             "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS          4
#define GGUF_KEY_ALIGNMENT     "general.alignment"

/* Name of a value type as the GGUF spec and our manifests spell it ("UINT32", "STRING",
 * "ARRAY"); "?" for an unknown id. */
const char *gguf_type_name(int type);

/* One key/value pair. All fields are read-only; pointers are borrowed from the gguf. */
struct gguf_kv {
    const char *key;       /* NUL-terminated, owned by the gguf */
    int type;              /* enum gguf_type of the value */
    int elem_type;         /* GGUF_TYPE_ARRAY: type of the elements (never ARRAY); else = type */
    uint64_t n;            /* GGUF_TYPE_ARRAY: element count; 1 otherwise */
    const void *data;      /* the value's bytes in the file: a scalar (little-endian, maybe
                            * unaligned), a string's characters (not NUL-terminated), or an
                            * array's first element (for a string array: its first u64 length) */
    size_t len;            /* bytes at data: scalar size, string length, array payload size */
    size_t offset;         /* file offset where the pair starts (its key's length), for messages */
    size_t value_offset;   /* file offset of data */
    const size_t *str_off; /* string arrays only: file offset of element i's u64 length (n
                            * entries, built at open so element access is O(1)); else NULL */
};

/* One tensor. All fields are read-only; pointers are borrowed from the gguf. */
struct gguf_tensor {
    const char *name;          /* NUL-terminated, owned by the gguf */
    int type;                  /* enum quant_type id (engine/quant.h), known to quant_traits_of */
    int n_dims;                /* 1..GGUF_MAX_DIMS */
    int64_t ne[GGUF_MAX_DIMS]; /* ggml order: ne[0] is the row length (contiguous); dims past
                                * n_dims are 1. A (rows, cols) matrix has ne = {cols, rows} */
    int64_t n_elem;            /* product of ne */
    size_t n_bytes;            /* bytes of data: quant_row_bytes(type, ne[0]) * ne[1]*ne[2]*ne[3] */
    size_t offset;             /* absolute file offset of data (data section offset + relative) */
    const void *data;          /* n_bytes in the mapping (aligned to the file's alignment
                                * relative to the file start; the mapping is page-aligned) */
    size_t info_offset;        /* file offset of this tensor's description, for messages */
};

struct gguf; /* opaque */

/* Map and validate a GGUF file. On success *out owns the mapping (gguf_close).
 * ASSAY_ENOTFOUND / ASSAY_EIO: cannot open or map; ASSAY_EINVAL: malformed (the error
 * names the file, key or tensor, and byte offset); ASSAY_EUNSUPPORTED: GGUF version 1 or
 * newer than 3, big-endian, unknown tensor type id (in the message), nested arrays;
 * ASSAY_ENOMEM. *out is NULL on failure. */
int gguf_open(struct gguf **out, const char *path, struct assay_error *err);

/* The same on size bytes at data (no mmap, no copy: data must outlive the gguf). name is
 * used in messages (NULL: "<memory>"). Used by the fuzzer and by tests. */
int gguf_open_mem(struct gguf **out, const void *data, size_t size, const char *name,
                  struct assay_error *err);

/* Unmap and free everything; NULL is a no-op. */
void gguf_close(struct gguf *g);

/* File facts. */
const char *gguf_path(const struct gguf *g);      /* as given to gguf_open (or name) */
uint32_t gguf_version(const struct gguf *g);      /* 2 or 3 */
uint32_t gguf_alignment(const struct gguf *g);    /* general.alignment or 32 */
size_t gguf_file_size(const struct gguf *g);      /* bytes */
size_t gguf_data_offset(const struct gguf *g);    /* start of the data section */
const void *gguf_file_data(const struct gguf *g); /* the whole file (e.g. for hashing) */
bool gguf_is_file_mapped(const struct gguf *g);   /* gguf_open's read-only file mapping */

/* Key/value pairs in file order, and lookup by key in O(1) (hash index). */
size_t gguf_n_kv(const struct gguf *g);
const struct gguf_kv *gguf_kv_at(const struct gguf *g, size_t i);          /* NULL if i >= n_kv */
const struct gguf_kv *gguf_find_kv(const struct gguf *g, const char *key); /* NULL: absent */

/*
 * Typed getters. Each returns 0 and sets *out, or:
 *   ASSAY_ENOTFOUND when the key is absent (recorded in err: "key 'K' not found" - pass
 *                   err = NULL, or test gguf_find_kv first, for optional keys);
 *   ASSAY_EINVAL    when the value has another type or does not fit (the message names the
 *                   key, the expected and the found type, and the file offset).
 * Integer getters accept any integer type (u8..i64) whose value fits the output type.
 * gguf_get_f32 / gguf_get_f64 accept FLOAT32 and FLOAT64 (f64 -> f32 must be in range).
 * gguf_get_bool accepts BOOL only. gguf_get_str gives a pointer into the file and its
 * length; the string is NOT NUL-terminated.
 */
int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, struct assay_error *err);
int gguf_get_i32(const struct gguf *g, const char *key, int32_t *out, struct assay_error *err);
int gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out, struct assay_error *err);
int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out, struct assay_error *err);
int gguf_get_f32(const struct gguf *g, const char *key, float *out, struct assay_error *err);
int gguf_get_f64(const struct gguf *g, const char *key, double *out, struct assay_error *err);
int gguf_get_bool(const struct gguf *g, const char *key, bool *out, struct assay_error *err);
int gguf_get_str(const struct gguf *g, const char *key, const char **ptr, size_t *len,
                 struct assay_error *err);

/* The same on a kv already found (no lookup). */
int gguf_kv_u32(const struct gguf *g, const struct gguf_kv *kv, uint32_t *out,
                struct assay_error *err);
int gguf_kv_i64(const struct gguf *g, const struct gguf_kv *kv, int64_t *out,
                struct assay_error *err);
int gguf_kv_u64(const struct gguf *g, const struct gguf_kv *kv, uint64_t *out,
                struct assay_error *err);
int gguf_kv_f64(const struct gguf *g, const struct gguf_kv *kv, double *out,
                struct assay_error *err);
int gguf_kv_str(const struct gguf *g, const struct gguf_kv *kv, const char **ptr, size_t *len,
                struct assay_error *err);

/* An array's element type and count; *kv_out (may be NULL) receives the pair for the
 * element accessors. ASSAY_ENOTFOUND, or ASSAY_EINVAL when the value is not an array. */
int gguf_get_arr(const struct gguf *g, const char *key, int *elem_type, uint64_t *n,
                 const struct gguf_kv **kv_out, struct assay_error *err);

/*
 * Array elements, O(1) each. kv must come from this gguf. ASSAY_EINVAL when the array
 * has another element type (the message names the key) or i >= n (ASSAY_EUSAGE).
 * gguf_arr_str: element i of a STRING array, pointer into the file, NOT NUL-terminated.
 * gguf_arr_f32: element i of a FLOAT32 or FLOAT64 array.
 * gguf_arr_i32: element i of any integer array, when it fits in int32.
 * gguf_arr_i64: element i of any integer array (UINT64 values above INT64_MAX fail).
 */
int gguf_arr_str(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, const char **ptr,
                 size_t *len, struct assay_error *err);
int gguf_arr_f32(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, float *out,
                 struct assay_error *err);
int gguf_arr_i32(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, int32_t *out,
                 struct assay_error *err);
int gguf_arr_i64(const struct gguf *g, const struct gguf_kv *kv, uint64_t i, int64_t *out,
                 struct assay_error *err);

/* A one-line, human-readable rendering of a value for `assay models info`: scalars in
 * full, strings quoted and cut at about n bytes, arrays as "[STRING x 2048]" with the first
 * few elements. Always NUL-terminates buf (n > 0). */
void gguf_kv_describe(const struct gguf *g, const struct gguf_kv *kv, char *buf, size_t n);

/* Tensors in file order, and lookup by name in O(1) (hash index). */
size_t gguf_n_tensors(const struct gguf *g);
const struct gguf_tensor *gguf_tensor_at(const struct gguf *g, size_t i); /* NULL: out of range */
const struct gguf_tensor *gguf_find_tensor(const struct gguf *g,
                                           const char *name); /* NULL: absent */

/* ---- writer (GGUF version 3) -------------------------------------------------------- */

struct gguf_writer; /* opaque */

/* A new, empty writer (alignment 32). Free with gguf_writer_free (NULL is a no-op). */
int gguf_writer_new(struct gguf_writer **out, struct assay_error *err);
void gguf_writer_free(struct gguf_writer *w);

/*
 * Add a key/value pair; keys and values are copied. Keys must be non-empty, without NUL,
 * and unique (ASSAY_EINVAL otherwise). Pairs are written in the order added.
 * Setting GGUF_KEY_ALIGNMENT (a UINT32 power of two) also sets the tensor alignment;
 * gguf_writer_set_alignment is the same as adding it.
 */
int gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment, struct assay_error *err);
int gguf_writer_add_u8(struct gguf_writer *w, const char *key, uint8_t v, struct assay_error *err);
int gguf_writer_add_i8(struct gguf_writer *w, const char *key, int8_t v, struct assay_error *err);
int gguf_writer_add_u16(struct gguf_writer *w, const char *key, uint16_t v,
                        struct assay_error *err);
int gguf_writer_add_i16(struct gguf_writer *w, const char *key, int16_t v, struct assay_error *err);
int gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v,
                        struct assay_error *err);
int gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v, struct assay_error *err);
int gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v,
                        struct assay_error *err);
int gguf_writer_add_i64(struct gguf_writer *w, const char *key, int64_t v, struct assay_error *err);
int gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v, struct assay_error *err);
int gguf_writer_add_f64(struct gguf_writer *w, const char *key, double v, struct assay_error *err);
int gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v, struct assay_error *err);
/* len bytes of s (need not be NUL-terminated). */
int gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *s, size_t len,
                        struct assay_error *err);
/* An array of n numbers or bools of elem_type (not STRING or ARRAY), packed in host
 * (little-endian) order at data: n * element size bytes. */
int gguf_writer_add_arr(struct gguf_writer *w, const char *key, int elem_type, const void *data,
                        uint64_t n, struct assay_error *err);
/* An array of n strings; lens may be NULL (then each strs[i] is NUL-terminated). */
int gguf_writer_add_arr_str(struct gguf_writer *w, const char *key, const char *const *strs,
                            const size_t *lens, uint64_t n, struct assay_error *err);
/* Copy a pair (any type) from an open gguf, e.g. when re-quantizing a model. */
int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf *g, const struct gguf_kv *kv,
                        struct assay_error *err);

/*
 * Add a tensor: name (unique, non-empty, no NUL), quant type id known to quant_traits_of,
 * n_dims 1..4 dims ne[] in ggml order (ne[0] = row length, a multiple of the block size),
 * and its data: quant_row_bytes(type, ne[0]) * ne[1]*... bytes. The name is copied; the
 * DATA IS BORROWED and must stay valid until gguf_writer_write / _write_mem returns.
 * Tensors are laid out in the order added, each at the next aligned offset.
 */
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, int type, int n_dims,
                           const int64_t *ne, const void *data, struct assay_error *err);

/* Write the file atomically (temporary file in the same folder, fsync, rename). The data
 * are streamed, so the whole file is never held in memory. */
int gguf_writer_write(struct gguf_writer *w, const char *path, struct assay_error *err);
/* Write into a new buffer (caller frees with free()). */
int gguf_writer_write_mem(struct gguf_writer *w, void **out, size_t *len, struct assay_error *err);

#endif
