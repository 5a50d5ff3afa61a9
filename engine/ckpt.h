/*
 * engine/ckpt.h - what a checkpoint is, in words a person and the store can use:
 * architecture, name, parameter count, quantization (llama.cpp's file-type names),
 * tensor types, context length, and a content fingerprint.
 *
 * The fingerprint is "sha256:" + the SHA-256 of the whole file: two files with the same
 * bytes are the same model wherever they live, and any change to a weight or to the
 * tokenizer changes it. Hashing reads every byte (about 1.7 GB/s here), so callers that
 * see a file often should cache it by (path, size, mtime) - the store does.
 */
#ifndef ASSAY_ENGINE_CKPT_H
#define ASSAY_ENGINE_CKPT_H

#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

struct gguf;

#define CKPT_MAX_TYPES 40

struct ckpt_info {
    char architecture[32];
    char name[128];         /* general.name, else the file name */
    char quantization[32];  /* from general.file_type ("Q4_K_M"), else the dominant type */
    int64_t file_type;      /* general.file_type, -1 if absent */
    int64_t n_params;       /* elements of all tensors */
    int64_t n_tensors;
    int64_t context_length; /* <arch>.context_length, 0 if absent */
    int64_t n_vocab;        /* tokenizer.ggml.tokens entries, 0 if absent */
    int64_t file_bytes;
    int64_t type_count[CKPT_MAX_TYPES]; /* tensors per quant type id */
    int64_t type_bytes[CKPT_MAX_TYPES]; /* their bytes */
    uint32_t gguf_version;
};

/* Describe an open GGUF (no hashing). */
void ckpt_describe_gguf(const struct gguf *g, struct ckpt_info *out);

/* llama.cpp's name of a general.file_type value ("Q4_K_M"); NULL if unknown. */
const char *ckpt_file_type_name(int64_t file_type);

/* "sha256:<64 hex>" of the file's bytes into out (at least 72 bytes). */
int ckpt_fingerprint_file(const char *path, char *out, size_t n, const struct progress *prog,
                          struct assay_error *err);

#endif
