/*
 * engine/ckpt_src.c - a GGUF file or an HF directory behind one set of calls; see
 * ckpt_src.h.
 */
#include "engine/ckpt_src.h"

#include <stdio.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/model.h"

int ckpt_src_open(struct ckpt_src *s, const char *path, struct assay_error *err)
{
    memset(s, 0, sizeof(*s));
    if (hf_is_dir(path))
        return hf_open(&s->hf, path, err);
    return gguf_open(&s->g, path, err);
}

void ckpt_src_close(struct ckpt_src *s)
{
    if (!s)
        return;
    hf_close(s->hf);
    gguf_close(s->g);
    memset(s, 0, sizeof(*s));
}

const struct gguf *ckpt_src_meta(const struct ckpt_src *s)
{
    return s->hf ? hf_meta(s->hf) : s->g;
}

const char *ckpt_src_format(const struct ckpt_src *s)
{
    return s->hf ? "hf" : "gguf";
}

int ckpt_src_load_model(const struct ckpt_src *s, struct model **out, struct assay_error *err)
{
    if (s->hf) {
        size_t n_views;
        const struct model_view *views = hf_views(s->hf, &n_views);
        return model_load_views(out, hf_meta(s->hf), views, n_views, err);
    }
    return model_load(out, s->g, err);
}

void ckpt_src_describe(const struct ckpt_src *s, struct ckpt_info *out)
{
    ckpt_describe_gguf(ckpt_src_meta(s), out);
    if (s->hf) {
        /* the tensors are not in the metadata */
        out->n_params = hf_n_params(s->hf);
        out->file_bytes = hf_bytes(s->hf);
        snprintf(out->quantization, sizeof(out->quantization), "%s", hf_weight_type(s->hf));
        out->n_tensors = 0;
        memset(out->type_count, 0, sizeof(out->type_count));
        memset(out->type_bytes, 0, sizeof(out->type_bytes));
    }
}
