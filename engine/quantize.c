/*
 * engine/quantize.c - re-typing a GGUF checkpoint; see quantize.h for the recipe rules.
 * Tensor data are converted row by row through float32 with quant.c's functions; this
 * file decides only which type each tensor gets.
 */
#include "engine/quantize.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "engine/gguf.h"
#include "engine/quant.h"

#define QUANTIZE_CHUNK_ROWS 256

static const struct quantize_recipe recipes[] = {
    {"F32", 0, QUANT_TYPE_F32, -1, false},
    {"F16", 1, QUANT_TYPE_F16, -1, false},
    {"BF16", 32, QUANT_TYPE_BF16, -1, false},
    {"Q8_0", 7, QUANT_TYPE_Q8_0, -1, false},
    {"Q4_0", 2, QUANT_TYPE_Q4_0, -1, true},
    {"Q4_1", 3, QUANT_TYPE_Q4_1, -1, true},
    {"Q5_0", 8, QUANT_TYPE_Q5_0, -1, true},
    {"Q5_1", 9, QUANT_TYPE_Q5_1, -1, true},
    {"Q4_K_M", 15, QUANT_TYPE_Q4_K, QUANT_TYPE_Q6_K, true},
    {"Q5_K_M", 17, QUANT_TYPE_Q5_K, QUANT_TYPE_Q6_K, true},
    {"Q6_K", 18, QUANT_TYPE_Q6_K, -1, true},
};

#define N_RECIPES (sizeof(recipes) / sizeof(recipes[0]))

const struct quantize_recipe *quantize_recipe_find(const char *name)
{
    for (size_t i = 0; i < N_RECIPES; i++)
        if (strcasecmp(recipes[i].name, name) == 0)
            return &recipes[i];
    return NULL;
}

const char *quantize_recipe_names(void)
{
    return "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_M, Q5_K_M, Q6_K";
}

/* llama.cpp's use_more_bits(i_layer, n_layers). */
static bool use_more_bits(int64_t il, int64_t n)
{
    return il < n / 8 || il >= 7 * n / 8 || (il - n / 8) % 3 == 2;
}

/* A K-quant needs rows of whole 256-element super-blocks; llama.cpp falls back. */
static int fallback_type(int type, int64_t row)
{
    const struct quant_traits *t = quant_traits_of(type);
    if (t && row % t->block_elems == 0)
        return type;
    switch (type) {
    case QUANT_TYPE_Q4_K:
        return QUANT_TYPE_Q5_0;
    case QUANT_TYPE_Q5_K:
        return QUANT_TYPE_Q5_1;
    case QUANT_TYPE_Q6_K:
        return QUANT_TYPE_Q8_0;
    default:
        return QUANT_TYPE_F16;
    }
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Layer index of "blk.N.xxx", -1 otherwise. */
static int64_t layer_of(const char *name)
{
    if (strncmp(name, "blk.", 4) != 0 || !isdigit((unsigned char)name[4]))
        return -1;
    return strtoll(name + 4, NULL, 10);
}

static int choose_type(const struct quantize_recipe *r, const struct gguf_tensor *t,
                       bool has_output, int64_t n_layer, bool pure)
{
    bool is_weight2d = t->n_dims == 2 && has_suffix(t->name, ".weight") &&
                       !has_suffix(t->name, "_norm.weight");
    if (!is_weight2d)
        return t->type == QUANT_TYPE_F32 || t->type == QUANT_TYPE_F16 ||
                       t->type == QUANT_TYPE_BF16
                   ? QUANT_TYPE_F32
                   : t->type;
    int type = r->base_type;
    if (pure)
        return fallback_type(type, t->ne[0]);
    bool is_output = strcmp(t->name, "output.weight") == 0 ||
                     (!has_output && strcmp(t->name, "token_embd.weight") == 0);
    if (is_output && r->output_q6k)
        type = QUANT_TYPE_Q6_K;
    else if (r->more_bits_type >= 0 &&
             (has_suffix(t->name, ".attn_v.weight") || has_suffix(t->name, ".ffn_down.weight"))) {
        int64_t il = layer_of(t->name);
        if (il >= 0 && use_more_bits(il, n_layer))
            type = r->more_bits_type;
    }
    return fallback_type(type, t->ne[0]);
}

int quantize_file(const char *in_path, const char *out_path, const struct quantize_recipe *r,
                  unsigned flags, int n_threads, const struct progress *prog, struct quantize_stats *stats,
                  struct assay_error *err)
{
    struct gguf *g = NULL;
    struct gguf_writer *w = NULL;
    void **bufs = NULL;
    float *row = NULL;
    size_t nt = 0;
    memset(stats, 0, sizeof(*stats));
    int rc = gguf_open(&g, in_path, err);
    if (rc)
        return rc;
    rc = gguf_writer_new(&w, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < gguf_n_kv(g); i++) {
        const struct gguf_kv *kv = gguf_kv_at(g, i);
        if (strcmp(kv->key, "general.file_type") == 0 || strcmp(kv->key, "general.alignment") == 0)
            continue;
        rc = gguf_writer_copy_kv(w, g, kv, err);
        if (rc)
            goto out;
    }
    rc = gguf_writer_add_u32(w, "general.file_type", (uint32_t)r->file_type, err);
    if (rc)
        goto out;
    nt = gguf_n_tensors(g);
    bufs = mem_calloc_array(nt ? nt : 1, sizeof(void *));
    if (!bufs) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    bool has_output = gguf_find_tensor(g, "output.weight") != NULL;
    int64_t n_layer = 0;
    for (size_t i = 0; i < nt; i++) {
        int64_t il = layer_of(gguf_tensor_at(g, i)->name);
        if (il + 1 > n_layer)
            n_layer = il + 1;
    }
    /* rows are converted QUANTIZE_CHUNK_ROWS at a time: dequantized to float32 here, then
     * quantized by quant_quantize_rows on every thread */
    int64_t max_row = 1;
    for (size_t i = 0; i < nt; i++)
        if (gguf_tensor_at(g, i)->ne[0] > max_row)
            max_row = gguf_tensor_at(g, i)->ne[0];
    size_t chunk_elems;
    if (!ck_mul(&chunk_elems, (size_t)max_row, QUANTIZE_CHUNK_ROWS)) {
        rc = err_set(err, ASSAY_ELIMIT, "rows too long");
        goto out;
    }
    row = mem_alloc_array(chunk_elems, sizeof(float));
    if (!row) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nt; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        int type = choose_type(r, t, has_output, n_layer, (flags & QUANTIZE_PURE) != 0);
        const struct quant_traits *src = quant_traits_of(t->type);
        const struct quant_traits *dst = quant_traits_of(type);
        stats->n_tensors++;
        stats->bytes_in += (int64_t)t->n_bytes;
        if (type == t->type) {
            rc = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, err);
            if (rc)
                goto out;
            stats->bytes_out += (int64_t)t->n_bytes;
            stats->type_count[type]++;
            progress_report(prog, (int64_t)i + 1, (int64_t)nt, "quantize");
            continue;
        }
        if (!src || !src->dequantize || !dst || !dst->quantize) {
            rc = err_set_at(err, ASSAY_EUNSUPPORTED, in_path, 0,
                            "tensor '%s': cannot convert %s to %s", t->name,
                            src ? src->name : "?", dst ? dst->name : "?");
            goto out;
        }
        size_t src_row, dst_row;
        if (!quant_row_bytes(t->type, t->ne[0], &src_row) ||
            !quant_row_bytes(type, t->ne[0], &dst_row)) {
            rc = err_set_at(err, ASSAY_EINVAL, in_path, 0, "tensor '%s': bad row length %lld",
                            t->name, (long long)t->ne[0]);
            goto out;
        }
        int64_t n_rows = t->n_elem / t->ne[0];
        size_t total;
        if (!ck_mul(&total, dst_row, (size_t)n_rows)) {
            rc = err_set_at(err, ASSAY_ELIMIT, in_path, 0, "tensor '%s': too large", t->name);
            goto out;
        }
        bufs[i] = malloc(total ? total : 1);
        if (!bufs[i]) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory for tensor '%s'", t->name);
            goto out;
        }
        const uint8_t *in = t->data;
        uint8_t *o = bufs[i];
        for (int64_t r0 = 0; r0 < n_rows; r0 += QUANTIZE_CHUNK_ROWS) {
            int64_t nr = n_rows - r0 < QUANTIZE_CHUNK_ROWS ? n_rows - r0 : QUANTIZE_CHUNK_ROWS;
            for (int64_t rr = 0; rr < nr; rr++)
                src->dequantize(in + (size_t)(r0 + rr) * src_row, row + rr * t->ne[0], t->ne[0]);
            if (!quant_quantize_rows(type, row, o + (size_t)r0 * dst_row, nr, t->ne[0],
                                     n_threads > 0 ? n_threads : 1)) {
                rc = err_set_at(err, ASSAY_EUNSUPPORTED, in_path, 0,
                                "tensor '%s': cannot quantize to %s", t->name, dst->name);
                goto out;
            }
        }
        rc = gguf_writer_add_tensor(w, t->name, type, t->n_dims, t->ne, bufs[i], err);
        if (rc)
            goto out;
        stats->n_quantized++;
        stats->bytes_out += (int64_t)total;
        stats->type_count[type]++;
        progress_report(prog, (int64_t)i + 1, (int64_t)nt, "quantize");
    }
    rc = gguf_writer_write(w, out_path, err);
out:
    if (bufs)
        for (size_t i = 0; i < nt; i++)
            free(bufs[i]);
    free(bufs);
    free(row);
    gguf_writer_free(w);
    gguf_close(g);
    return rc;
}
