/*
 * engine/quant.h - tensor element types as a table (STYLE.md section 5; ggml's
 * type_traits): name, elements per block, bytes per block, and the row functions.
 *
 * Type ids are GGML's, as stored in GGUF files. Block layouts follow ggml's
 * src/ggml-common.h exactly; each block struct has a _Static_assert on its size in
 * quant.c. A type whose `dequantize` is NULL is known by name but not supported.
 */
#ifndef ASSAY_ENGINE_QUANT_H
#define ASSAY_ENGINE_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum quant_type {
    QUANT_TYPE_F32 = 0,
    QUANT_TYPE_F16 = 1,
    QUANT_TYPE_Q4_0 = 2,
    QUANT_TYPE_Q4_1 = 3,
    QUANT_TYPE_Q5_0 = 6,
    QUANT_TYPE_Q5_1 = 7,
    QUANT_TYPE_Q8_0 = 8,
    QUANT_TYPE_Q8_1 = 9,
    QUANT_TYPE_Q2_K = 10,
    QUANT_TYPE_Q3_K = 11,
    QUANT_TYPE_Q4_K = 12,
    QUANT_TYPE_Q5_K = 13,
    QUANT_TYPE_Q6_K = 14,
    QUANT_TYPE_Q8_K = 15,
    QUANT_TYPE_BF16 = 30,
    QUANT_TYPE_COUNT = 40, /* ids below this may appear in the table; others are unknown */
};

/* Convert n values of a row (n a multiple of block_elems) to float32. */
typedef void (*quant_dequantize_fn)(const void *src, float *dst, int64_t n);
/* Quantize n float32 values (n a multiple of block_elems) into the type's blocks. */
typedef void (*quant_quantize_fn)(const float *src, void *dst, int64_t n);

struct quant_traits {
    const char *name;         /* "Q4_K", as llama.cpp prints it */
    int64_t block_elems;      /* elements per block (1 for F32/F16/BF16) */
    size_t block_bytes;       /* bytes per block */
    quant_dequantize_fn dequantize; /* NULL: not supported */
    quant_quantize_fn quantize;     /* NULL: cannot be written */
};

/* Traits of a type id read from a file; NULL for an id assay does not know. */
const struct quant_traits *quant_traits_of(int type);

/* Bytes of a row of n_elem elements of type; false if the type is unknown, n_elem is not
 * a multiple of the block size, or the size overflows. */
bool quant_row_bytes(int type, int64_t n_elem, size_t *out);

/* Type id by name ("q4_k", "Q8_0", "f16": case-insensitive); -1 if unknown. */
int quant_type_from_name(const char *name);

/* Quantize src (n_rows, n_cols) float32 into dst, rows of quant_row_bytes(type, n_cols)
 * bytes each, spreading rows over n_threads OpenMP threads (K-quants take ~0.1 us per
 * value on one core, so a 2B-parameter checkpoint wants them all). Bytes are identical
 * for any thread count. False, with nothing written, for a type that cannot be written
 * or an n_cols that is not a multiple of its block. */
bool quant_quantize_rows(int type, const float *src, void *dst, int64_t n_rows, int64_t n_cols,
                         int n_threads);

/* Scalar conversions used everywhere (round-to-nearest-even, as ggml does). */
float quant_f16_to_f32(uint16_t h);
uint16_t quant_f32_to_f16(float f);
float quant_bf16_to_f32(uint16_t h);
uint16_t quant_f32_to_bf16(float f);

#endif
