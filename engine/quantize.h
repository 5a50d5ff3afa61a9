/*
 * engine/quantize.h - writing a GGUF checkpoint in another tensor type (`assay
 * quantize`), with llama.cpp's recipes so that files compare with theirs.
 *
 * What is quantized: 2-D weights. Norm vectors and other 1-D tensors stay F32. The mixed
 * recipes follow llama.cpp's llama_tensor_get_type (src/llama-quant.cpp):
 *  - the output matrix (or token_embd when the output is tied to it) gets Q6_K unless
 *    the target is Q8_0, F16, BF16 or F32;
 *  - Q4_K_M / Q5_K_M: attn_v and ffn_down of the "more bits" layers (the first and last
 *    eighth, and every third in between) get Q6_K;
 *  - a K-quant whose row length is not a multiple of 256 falls back to a legacy type
 *    (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0), as llama.cpp does.
 * general.file_type is set to llama.cpp's value for the recipe; every other metadata pair
 * is copied unchanged.
 */
#ifndef ASSAY_ENGINE_QUANTIZE_H
#define ASSAY_ENGINE_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

struct quantize_recipe {
    const char *name;   /* "Q4_K_M" */
    int64_t file_type;  /* llama.cpp's enum llama_ftype */
    int base_type;      /* enum quant_type of most 2-D weights */
    int more_bits_type; /* for attn_v / ffn_down of the "more bits" layers; -1: base */
    bool output_q6k;    /* tied embedding / output to Q6_K */
};

/* The recipe named (case-insensitive: "q8_0", "Q4_K_M", "f16"...); NULL if unknown. */
const struct quantize_recipe *quantize_recipe_find(const char *name);
/* Names of all recipes, comma-separated, for help and messages. */
const char *quantize_recipe_names(void);

struct quantize_stats {
    int64_t n_tensors;
    int64_t n_quantized;
    int64_t bytes_in, bytes_out;
    int64_t type_count[40]; /* tensors written per type */
};

enum quantize_flags {
    QUANTIZE_PURE = 1 << 0, /* every 2-D weight gets the base type (llama-quantize --pure) */
};

/* Read in_path, write out_path with the recipe, converting rows on n_threads threads (the
 * bytes do not depend on it). Errors name the file and the tensor. */
int quantize_file(const char *in_path, const char *out_path, const struct quantize_recipe *r,
                  unsigned flags, int n_threads, const struct progress *prog,
                  struct quantize_stats *stats, struct assay_error *err);

#endif
