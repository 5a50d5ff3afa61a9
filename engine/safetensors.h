/*
 * engine/safetensors.h - reading safetensors checkpoints: single files and sharded
 * directories (model.safetensors.index.json), memory-mapped, tensors used in place.
 *
 * A safetensors file is: u64 little-endian N, N bytes of JSON (the header), then the data
 * section. The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
 * end]} (offsets relative to the data section), plus an optional "__metadata__" object of
 * strings.
 *
 * st_open maps the file read-only (base/file.h) and validates everything it will hand out
 * before returning: N at least 2 and at most ST_HEADER_MAX and inside the file, the header
 * is one JSON object without duplicate keys, every tensor has a known dtype, 0..ST_MAX_DIMS
 * non-negative dims whose element count times the dtype size (overflow-checked) equals
 * end - begin, begin <= end inside the data section, and the tensors, sorted by offset,
 * cover the data section exactly: no overlap, no hole, nothing after the last tensor (the
 * rules of the reference implementation). A malformed file fails with ASSAY_EINVAL and an
 * error naming the file, the tensor and the byte offset.
 *
 * Alignment: tensor data are wherever the file puts them (8 + N + begin); writers pad the
 * header so that they are 8-byte aligned, but nothing guarantees it, so readers must
 * memcpy or check (st_tensor.aligned says whether data is aligned to the dtype size).
 *
 * Ownership: a st_file owns its mapping and tables; every pointer from it is borrowed and
 * valid until st_close. A st_set (one checkpoint, one or several files) owns its files.
 * Both are immutable after open.
 */
#ifndef ASSAY_ENGINE_SAFETENSORS_H
#define ASSAY_ENGINE_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define ST_MAX_DIMS   8
#define ST_HEADER_MAX (100u * 1024 * 1024) /* the reference implementation's bound */

enum st_dtype {
    ST_BOOL = 1,
    ST_U8,
    ST_I8,
    ST_F8_E4M3,
    ST_F8_E5M2,
    ST_I16,
    ST_U16,
    ST_F16,
    ST_BF16,
    ST_I32,
    ST_U32,
    ST_F32,
    ST_I64,
    ST_U64,
    ST_F64,
};

/* "BF16" for ST_BF16, "?" for anything else. */
const char *st_dtype_name(int dtype);
/* Bytes per element; 0 for an unknown id. */
size_t st_dtype_size(int dtype);

struct st_tensor {
    const char *name;          /* NUL-terminated, owned by the file */
    int dtype;                 /* enum st_dtype */
    int n_dims;                /* 0..ST_MAX_DIMS */
    int64_t shape[ST_MAX_DIMS]; /* row-major (PyTorch) order: shape[n_dims-1] is contiguous */
    int64_t n_elem;
    size_t n_bytes;
    size_t offset;    /* absolute file offset of the data */
    const void *data; /* n_bytes in the mapping */
    bool aligned;     /* data is aligned to st_dtype_size(dtype) */
    const char *path; /* the file it lives in (owned by the file), for messages */
};

struct st_file; /* opaque */

/* Map and validate a safetensors file. ASSAY_ENOTFOUND / ASSAY_EIO: cannot open or map;
 * ASSAY_EINVAL: malformed (file, tensor, offset named); ASSAY_ENOMEM. *out NULL on error. */
int st_open(struct st_file **out, const char *path, struct assay_error *err);
/* The same on size bytes at data (not copied: they must outlive the file); name for
 * messages (NULL: "<memory>"). */
int st_open_mem(struct st_file **out, const void *data, size_t size, const char *name,
                struct assay_error *err);
void st_close(struct st_file *f);

const char *st_path(const struct st_file *f);
size_t st_file_size(const struct st_file *f);
size_t st_n_tensors(const struct st_file *f);
/* Tensors sorted by name; NULL out of range. */
const struct st_tensor *st_tensor_at(const struct st_file *f, size_t i);
/* Lookup by name (binary search); NULL: absent. */
const struct st_tensor *st_find(const struct st_file *f, const char *name);
/* A "__metadata__" string value; NULL when absent. */
const char *st_meta(const struct st_file *f, const char *key);

/* ---- one checkpoint: a single file or the shards of an index ------------------------ */

#define ST_INDEX_NAME  "model.safetensors.index.json"
#define ST_SINGLE_NAME "model.safetensors"

struct st_set; /* opaque */

/*
 * Open the checkpoint in directory dir: the shards listed by dir/model.safetensors.index.json
 * (its "weight_map": tensor name -> shard file name, a plain name inside dir), else
 * dir/model.safetensors. Every shard is opened and validated; every tensor of the map must
 * be in the shard it names, and no tensor may appear in two shards. Errors:
 * ASSAY_ENOTFOUND when dir has neither file or a listed shard is missing (named);
 * ASSAY_EINVAL for a malformed index (file named) or shard.
 */
int st_set_open_dir(struct st_set **out, const char *dir, struct assay_error *err);
/* A set of one file. */
int st_set_open_file(struct st_set **out, const char *path, struct assay_error *err);
void st_set_close(struct st_set *s);

/* Lookup across shards; NULL: absent. */
const struct st_tensor *st_set_find(const struct st_set *s, const char *name);
size_t st_set_n_files(const struct st_set *s);
/* Shard i (sorted by file name). */
const struct st_file *st_set_file(const struct st_set *s, size_t i);
size_t st_set_n_tensors(const struct st_set *s);
/* Sum of the shards' sizes. */
uint64_t st_set_bytes(const struct st_set *s);

/* Element i of a F32, F16 or BF16 tensor as float (unaligned-safe). */
float st_get_f32(const struct st_tensor *t, int64_t i);

#endif
