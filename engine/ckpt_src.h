/*
 * engine/ckpt_src.h - a checkpoint as the commands see it: a GGUF file or a Hugging Face
 * directory (config.json + safetensors), opened the same way. Both give GGUF-shaped
 * metadata (the tokenizer and the architecture table read it), a model, and a
 * description; the directory's tensors are views into its safetensors mappings.
 *
 * RecurrentGemma directories are not models of this kind (engine/rgemma.h): they are
 * refused here with ASSAY_EUNSUPPORTED, as hf_open does.
 *
 * Ownership: ckpt_src_close releases what ckpt_src_open made; a model loaded from the
 * source borrows its tensors and must be freed before the source is closed.
 */
#ifndef ASSAY_ENGINE_CKPT_SRC_H
#define ASSAY_ENGINE_CKPT_SRC_H

#include <stdbool.h>

#include "base/error.h"
#include "engine/ckpt.h"

struct gguf;
struct hf_model;
struct model;

struct ckpt_src {
    struct gguf *g;      /* a GGUF file, or NULL */
    struct hf_model *hf; /* an HF directory, or NULL */
};

/* Open path: a directory is read as an HF checkpoint, anything else as GGUF. */
int ckpt_src_open(struct ckpt_src *s, const char *path, struct assay_error *err);
void ckpt_src_close(struct ckpt_src *s);
/* The metadata (for a directory: made from config.json and the tokenizer files). */
const struct gguf *ckpt_src_meta(const struct ckpt_src *s);
/* "gguf" or "hf". */
const char *ckpt_src_format(const struct ckpt_src *s);
int ckpt_src_load_model(const struct ckpt_src *s, struct model **out, struct assay_error *err);
/* Describe the checkpoint; for a directory, parameters, bytes and weight type come from
 * its tensors (the per-type table and the GGUF version stay empty). */
void ckpt_src_describe(const struct ckpt_src *s, struct ckpt_info *out);

#endif
