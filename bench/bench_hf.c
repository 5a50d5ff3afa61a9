/*
 * bench/bench_hf.c - loading Hugging Face checkpoint directories: time and resident memory.
 *
 *   bench_hf export IN.gguf OUTDIR [SHARDS [TOKENIZER.model]]
 *       Write IN (a Gemma GGUF with F32/F16/BF16 weights, e.g. one made by bench_mkmodel)
 *       as an HF directory: config.json, BF16 safetensors in SHARDS shards (default 2) with
 *       model.safetensors.index.json, norms stored as w (GGUF has 1 + w), and
 *       TOKENIZER.model copied as tokenizer.model (default: ../shared/fixtures/tokenizer/
 *       wide-spm.model; the vocabulary is padded to the embedding's rows).
 *   bench_hf load MODEL [THREADS]
 *       Open MODEL (a directory or a GGUF) through backend_local_open, then run one token
 *       (which touches every weight page); print wall time and RSS (anonymous / file-backed)
 *       after each step. Run it twice: the second run has the files in the page cache.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/mem.h"
#include "engine/arch.h"
#include "engine/backend.h"
#include "engine/backend_local.h"
#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/quant.h"
#include "engine/safetensors.h"

static int fail(const struct assay_error *e)
{
    char b[1200];
    err_format(e, b, sizeof(b));
    fprintf(stderr, "bench_hf: %s\n", b);
    return 1;
}

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1);     /* round to nearest even */
    return (uint16_t)(u >> 16);
}

static const char *model_type_of(const struct arch_hparams *hp)
{
    return hp->arch == ARCH_GEMMA ? "gemma" : hp->arch == ARCH_GEMMA2 ? "gemma2" : "gemma3_text";
}

static int write_config(const char *dir, const struct arch_hparams *hp)
{
    json_t *c = json_object();
    json_object_set_new(c, "model_type", json_string(model_type_of(hp)));
    json_object_set_new(c, "hidden_size", json_integer(hp->n_embd));
    json_object_set_new(c, "num_hidden_layers", json_integer(hp->n_layer));
    json_object_set_new(c, "num_attention_heads", json_integer(hp->n_head));
    json_object_set_new(c, "num_key_value_heads", json_integer(hp->n_head_kv));
    json_object_set_new(c, "head_dim", json_integer(hp->head_dim));
    json_object_set_new(c, "intermediate_size", json_integer(hp->n_ff));
    json_object_set_new(c, "max_position_embeddings", json_integer(hp->n_ctx_train));
    json_object_set_new(c, "vocab_size", json_integer(hp->n_vocab));
    json_object_set_new(c, "rms_norm_eps", json_real(hp->rms_eps));
    json_object_set_new(c, "rope_theta", json_real(hp->rope_base));
    json_object_set_new(c, "bos_token_id", json_integer(2));
    json_object_set_new(c, "eos_token_id", json_integer(1));
    json_object_set_new(c, "pad_token_id", json_integer(0));
    json_object_set_new(c, "torch_dtype", json_string("bfloat16"));
    double qpas = 1.0 / ((double)hp->query_scale * hp->query_scale);
    if (hp->arch != ARCH_GEMMA) {
        json_object_set_new(c, "query_pre_attn_scalar", json_integer(llround(qpas)));
        json_object_set_new(c, "sliding_window", json_integer(hp->sliding_window));
        json_t *lt = json_array();
        for (int64_t il = 0; il < hp->n_layer; il++)
            json_array_append_new(lt, json_string(hp->layer[il].is_local ? "sliding_attention"
                                                                          : "full_attention"));
        json_object_set_new(c, "layer_types", lt);
    }
    if (hp->arch == ARCH_GEMMA2) {
        json_object_set_new(c, "attn_logit_softcapping", json_real(hp->attn_softcap));
        json_object_set_new(c, "final_logit_softcapping", json_real(hp->final_softcap));
    }
    if (hp->arch == ARCH_GEMMA3)
        json_object_set_new(c, "rope_local_base_freq", json_real(hp->rope_base_swa));
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    int rc = json_dump_file(c, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(c);
    return rc;
}

static int cmd_export(const char *in, const char *dir, int n_shards, const char *tok_path)
{
    struct assay_error e;
    err_clear(&e);
    struct gguf *g;
    if (gguf_open(&g, in, &e))
        return fail(&e);
    struct arch_hparams hp;
    if (arch_hparams_from_gguf(&hp, g, &e))
        return fail(&e);
    mkdir(dir, 0755);
    if (write_config(dir, &hp))
        return fprintf(stderr, "bench_hf: cannot write config.json\n"), 1;
    char path[4096];
    {
        char *d = NULL;
        size_t n = 0;
        if (file_read_all(&d, &n, tok_path, 64u << 20, &e))
            return fail(&e);
        snprintf(path, sizeof(path), "%s/tokenizer.model", dir);
        if (file_write_atomic(path, d, n, &e))
            return fail(&e);
        free(d);
    }
    size_t nt = gguf_n_tensors(g);
    uint64_t total = 0;
    for (size_t i = 0; i < nt; i++)
        total += (uint64_t)gguf_tensor_at(g, i)->n_elem * 2;
    json_t *wm = json_object();
    size_t ti = 0;
    float *row = NULL;
    uint16_t *out = NULL;
    size_t cap = 0;
    double t0 = clock_now_s();
    for (int s = 0; s < n_shards; s++) {
        char fn[64];
        snprintf(fn, sizeof(fn), "model-%05d-of-%05d.safetensors", s + 1, n_shards);
        /* tensors ti .. tj-1 go here: about total / n_shards bytes */
        size_t tj = ti;
        uint64_t bytes = 0;
        while (tj < nt && (s == n_shards - 1 || bytes < total / (uint64_t)n_shards))
            bytes += (uint64_t)gguf_tensor_at(g, tj++)->n_elem * 2;
        json_t *h = json_object();
        uint64_t off = 0;
        char hname[256];
        for (size_t i = ti; i < tj; i++) {
            const struct gguf_tensor *t = gguf_tensor_at(g, i);
            bool norm;
            if (!hf_name_of(model_type_of(&hp), t->name, hname, sizeof(hname), &norm))
                return fprintf(stderr, "bench_hf: no HF name for '%s'\n", t->name), 1;
            json_t *shape = json_array();
            for (int d = t->n_dims - 1; d >= 0; d--)
                json_array_append_new(shape, json_integer(t->ne[d]));
            json_object_set_new(h, hname,
                                json_pack("{s:s, s:o, s:[I, I]}", "dtype", "BF16", "shape", shape,
                                          "data_offsets", (json_int_t)off,
                                          (json_int_t)(off + (uint64_t)t->n_elem * 2)));
            off += (uint64_t)t->n_elem * 2;
            json_object_set_new(wm, hname, json_string(fn));
        }
        char *hs = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(h);
        size_t hl = strlen(hs), pad = (8 - hl % 8) % 8;
        snprintf(path, sizeof(path), "%s/%s", dir, fn);
        FILE *f = fopen(path, "wb");
        if (!f)
            return fprintf(stderr, "bench_hf: cannot write %s\n", path), 1;
        uint64_t hl8 = hl + pad;
        fwrite(&hl8, 8, 1, f);
        fwrite(hs, 1, hl, f);
        fwrite("        ", 1, pad, f);
        free(hs);
        for (size_t i = ti; i < tj; i++) {
            const struct gguf_tensor *t = gguf_tensor_at(g, i);
            const struct quant_traits *tr = quant_traits_of(t->type);
            bool norm;
            hf_name_of(model_type_of(&hp), t->name, hname, sizeof(hname), &norm);
            int64_t rl = t->ne[0], nr = t->n_elem / rl;
            if ((size_t)rl > cap) {
                cap = (size_t)rl;
                row = realloc(row, cap * sizeof(float));
                out = realloc(out, cap * sizeof(uint16_t));
            }
            size_t rb = 0;
            quant_row_bytes(t->type, rl, &rb);
            for (int64_t r = 0; r < nr; r++) {
                tr->dequantize((const uint8_t *)t->data + (size_t)r * rb, row, rl);
                for (int64_t k = 0; k < rl; k++)
                    out[k] = to_bf16(norm ? row[k] - 1.0f : row[k]);
                fwrite(out, 2, (size_t)rl, f);
            }
        }
        if (fclose(f) != 0)
            return fprintf(stderr, "bench_hf: write error on %s\n", path), 1;
        fprintf(stderr, "%s: %zu tensors, %.2f GB\n", fn, tj - ti, (double)off / 1e9);
        ti = tj;
    }
    json_t *idx = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)total,
                            "weight_map", wm);
    snprintf(path, sizeof(path), "%s/" ST_INDEX_NAME, dir);
    json_dump_file(idx, path, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(idx);
    printf("exported %s -> %s: %d shards, %.2f GB BF16 in %.1f s\n", in, dir, n_shards,
           (double)total / 1e9, clock_now_s() - t0);
    free(row);
    free(out);
    gguf_close(g);
    return 0;
}

static void rss(long *anon_kb, long *file_kb)
{
    *anon_kb = *file_kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "RssAnon:", 8))
            *anon_kb = strtol(line + 8, NULL, 10);
        if (!strncmp(line, "RssFile:", 8))
            *file_kb = strtol(line + 8, NULL, 10);
    }
    fclose(f);
}

static void report(const char *what, double t)
{
    long a, f;
    rss(&a, &f);
    printf("  %-28s %8.3f s   RSS anon %7.1f MiB  file %7.1f MiB\n", what, t, a / 1024.0,
           f / 1024.0);
}

static int cmd_load(const char *model, int threads)
{
    struct assay_error e;
    err_clear(&e);
    struct backend_local_params p;
    backend_local_params_default(&p);
    p.n_threads = threads;
    p.n_ctx = 64;
    p.n_seq = 1;
    p.n_batch = 8;
    printf("%s\n", model);
    report("start", 0);
    double t0 = clock_now_s();
    struct backend *b;
    if (backend_local_open(&b, model, &p, &e))
        return fail(&e);
    report("open (metadata, mappings)", clock_now_s() - t0);
    int32_t ids[2] = {2, 651};
    struct bk_gen_req gq;
    memset(&gq, 0, sizeof(gq));
    gq.prompt.ids = ids;
    gq.prompt.n_ids = 2;
    gq.max_tokens = 1;
    struct bk_gen_res gr;
    memset(&gr, 0, sizeof(gr));
    double t1 = clock_now_s();
    if (backend_generate(b, &gq, 1, &gr, NULL, &e))
        return fail(&e);
    report("first token (all pages in)", clock_now_s() - t1);
    report("open + first token", clock_now_s() - t0);
    bk_gen_res_release(&gr);
    backend_free(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "export")) {
        const char *tok = argc > 5 ? argv[5] : "../shared/fixtures/tokenizer/wide-spm.model";
        return cmd_export(argv[2], argv[3], argc > 4 ? (int)strtol(argv[4], NULL, 10) : 2, tok);
    }
    if (argc >= 3 && !strcmp(argv[1], "load"))
        return cmd_load(argv[2], argc > 3 ? (int)strtol(argv[3], NULL, 10) : 2);
    fprintf(stderr, "usage: bench_hf export IN.gguf OUTDIR [SHARDS [TOKENIZER.model]]\n"
                    "       bench_hf load MODEL [THREADS]\n");
    return 2;
}
