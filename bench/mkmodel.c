/*
 * bench/mkmodel.c - random-weight GGUF checkpoints shaped like real Gemma models, for
 * benchmarks (the real weights cannot be brought onto these machines).
 *
 *   bench_mkmodel SHAPE OUT.gguf [TOKENIZER.model]
 *       SHAPE: gemma3-270m | gemma-2b | gemma2-2b
 *
 * Writes F16 2-D weights and F32 norms (as the official converter does), the metadata
 * keys the converter writes for the architecture, and a synthetic tokenizer of the real
 * vocabulary size (control tokens, 256 byte pieces, then filler pieces), so the file loads
 * through every path a real one does. With a SentencePiece model, its pieces come first
 * (so text tokenizes as with a real BPE vocabulary, e.g. ../shared/fixtures/tokenizer/
 * wide-spm.model) and UNUSED filler pieces pad it to the real size. Make the other types with `assay quantize`.
 * Weights are N(0, 0.02)-like (a sum of uniforms), norms 1 + small noise (GGUF stores
 * 1 + w), from a fixed seed: the same shape always gives the same file.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "engine/arch.h"
#include "engine/gguf.h"
#include "engine/quant.h"
#include "engine/tok.h"

struct shape {
    const char *name;
    const char *arch;
    enum arch_id id;
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx, window;
    float rope_base, rope_base_local;
};

/* Shapes from the official configs (google/gemma_pytorch gemma/config.py; HF configs). */
static const struct shape shapes[] = {
    {"gemma3-270m", "gemma3", ARCH_GEMMA3, 640, 18, 4, 1, 256, 2048, 262144, 32768, 512,
     1000000.0f, 10000.0f},
    {"gemma-2b", "gemma", ARCH_GEMMA, 2048, 18, 8, 1, 256, 16384, 256000, 8192, 0, 10000.0f,
     10000.0f},
    {"gemma2-2b", "gemma2", ARCH_GEMMA2, 2304, 26, 8, 4, 256, 9216, 256000, 8192, 4096,
     10000.0f, 10000.0f},
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static inline uint64_t next_u64(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* Approximately N(0, sigma): the sum of four uniforms, centred and scaled. */
static inline float noise(float sigma)
{
    uint64_t r = next_u64();
    float s = (float)(r & 0xffff) + (float)((r >> 16) & 0xffff) + (float)((r >> 32) & 0xffff) +
              (float)(r >> 48);
    return (s / 65536.0f - 2.0f) * sigma * 1.7320508f;
}

static int fail(struct assay_error *e)
{
    char msg[1200];
    err_format(e, msg, sizeof(msg));
    fprintf(stderr, "mkmodel: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: bench_mkmodel SHAPE OUT.gguf [TOKENIZER.model]\nshapes:");
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
            fprintf(stderr, " %s", shapes[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    const struct shape *s = NULL;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        if (strcmp(shapes[i].name, argv[1]) == 0)
            s = &shapes[i];
    if (!s) {
        fprintf(stderr, "mkmodel: unknown shape '%s'\n", argv[1]);
        return 2;
    }
    struct assay_error e;
    err_clear(&e);
    struct gguf_writer *w = NULL;
    if (gguf_writer_new(&w, &e))
        return fail(&e);
    char key[128];
#define KEY(suffix) (snprintf(key, sizeof(key), "%s." suffix, s->arch), key)
    int rc = 0;
    rc |= gguf_writer_add_str(w, "general.architecture", s->arch, strlen(s->arch), &e);
    rc |= gguf_writer_add_str(w, "general.name", s->name, strlen(s->name), &e);
    rc |= gguf_writer_add_u32(w, "general.file_type", 1, &e);
    rc |= gguf_writer_add_u32(w, "general.quantization_version", 2, &e);
    rc |= gguf_writer_add_u32(w, KEY("context_length"), (uint32_t)s->n_ctx, &e);
    rc |= gguf_writer_add_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd, &e);
    rc |= gguf_writer_add_u32(w, KEY("block_count"), (uint32_t)s->n_layer, &e);
    rc |= gguf_writer_add_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff, &e);
    rc |= gguf_writer_add_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head, &e);
    rc |= gguf_writer_add_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv, &e);
    rc |= gguf_writer_add_u32(w, KEY("attention.key_length"), (uint32_t)s->head_dim, &e);
    rc |= gguf_writer_add_u32(w, KEY("attention.value_length"), (uint32_t)s->head_dim, &e);
    rc |= gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-6f, &e);
    if (s->id == ARCH_GEMMA2) {
        rc |= gguf_writer_add_f32(w, KEY("attn_logit_softcapping"), 50.0f, &e);
        rc |= gguf_writer_add_f32(w, KEY("final_logit_softcapping"), 30.0f, &e);
    }
    if (s->window)
        rc |= gguf_writer_add_u32(w, KEY("attention.sliding_window"), (uint32_t)s->window, &e);
    if (s->id == ARCH_GEMMA3)
        rc |= gguf_writer_add_f32(w, KEY("rope.freq_base"), s->rope_base, &e);
    /* tokenizer: <pad> </s> <s> <unk>, 256 byte pieces, then filler pieces */
    size_t nv = (size_t)s->n_vocab;
    char **pieces = mem_calloc_array(nv, sizeof(char *));
    float *scores = mem_alloc_array(nv, sizeof(float));
    int32_t *types = mem_alloc_array(nv, sizeof(int32_t));
    if (!pieces || !scores || !types) {
        fprintf(stderr, "mkmodel: out of memory\n");
        return 1;
    }
    struct tok *spm = NULL;
    if (argc == 4 && tok_open_spm(&spm, argv[3], &e) != 0)
        return fail(&e);
    size_t n_spm = spm ? tok_n_vocab(spm) : 0;
    if (n_spm > nv) {
        fprintf(stderr, "mkmodel: tokenizer has %zu pieces, more than the shape's %zu\n", n_spm,
                nv);
        return 1;
    }
    static const char *const ctrl[] = {"<pad>", "<eos>", "<bos>", "<unk>"};
    for (size_t i = 0; i < nv; i++) {
        char buf[32];
        if (i < n_spm) {
            size_t len = 0;
            const char *pc = tok_piece(spm, (int32_t)i, &len);
            pieces[i] = mem_strndup(pc, len);
            scores[i] = tok_piece_score(spm, (int32_t)i);
            types[i] = tok_piece_type(spm, (int32_t)i);
            continue;
        }
        if (spm)
            snprintf(buf, sizeof(buf), "<unused%zu>", i - n_spm);
        else if (i < 4)
            snprintf(buf, sizeof(buf), "%s", ctrl[i]);
        else if (i < 4 + 256)
            snprintf(buf, sizeof(buf), "<0x%02X>", (unsigned)(i - 4));
        else
            snprintf(buf, sizeof(buf), "\xe2\x96\x81t%zu", i);
        pieces[i] = mem_strdup(buf);
        scores[i] = spm ? 0.0f : i < 260 ? 0.0f : -(float)i;
        types[i] = spm ? 5 : i == 3 ? 2 : i < 4 ? 3 : i < 260 ? 6 : 1;
    }
    int32_t bos = spm ? tok_bos_id(spm) : 2, eos = spm ? tok_eos_id(spm) : 1;
    int32_t unk = spm ? tok_unk_id(spm) : 3, pad = spm ? tok_pad_id(spm) : 0;
    tok_free(spm);
    rc |= gguf_writer_add_str(w, "tokenizer.ggml.model", "llama", 5, &e);
    rc |= gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)pieces, NULL,
                                  nv, &e);
    rc |= gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, nv, &e);
    rc |= gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, nv, &e);
    rc |= gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos, &e);
    rc |= gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos, &e);
    rc |= gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)unk, &e);
    if (pad >= 0)
        rc |= gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)pad, &e);
    rc |= gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true, &e);
    rc |= gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", false, &e);
    rc |= gguf_writer_add_bool(w, "tokenizer.ggml.add_space_prefix", false, &e);
    if (rc)
        return fail(&e);

    struct arch_hparams hp;
    memset(&hp, 0, sizeof(hp));
    hp.arch = s->id;
    hp.n_vocab = s->n_vocab;
    hp.n_embd = s->n_embd;
    hp.n_layer = s->n_layer;
    hp.n_head = s->n_head;
    hp.n_head_kv = s->n_head_kv;
    hp.head_dim = s->head_dim;
    hp.head_dim_v = s->head_dim;
    hp.n_ff = s->n_ff;
    hp.has_post_norms = s->id != ARCH_GEMMA;
    hp.has_qk_norm = s->id == ARCH_GEMMA3;
    size_t n_desc = 0;
    const struct arch_tensor_desc *desc = arch_tensors(&n_desc);
    int64_t n_params = 0;
    void **bufs = mem_calloc_array(4096, sizeof(void *));
    size_t n_bufs = 0;
    for (int64_t il = -1; il < s->n_layer; il++) {
        for (size_t d = 0; d < n_desc; d++) {
            const struct arch_tensor_desc *t = &desc[d];
            if (t->per_layer != (il >= 0) || !arch_tensor_required(&hp, t))
                continue;
            if (t->need == ARCH_NEED_OPTIONAL)
                continue; /* output.weight: tied, as in every Gemma */
            char name[128];
            arch_tensor_name(name, sizeof(name), t, il);
            int64_t ne[2] = {arch_dim_value(&hp, t->ne[0]),
                             t->n_dims == 2 ? arch_dim_value(&hp, t->ne[1]) : 1};
            int64_t n = ne[0] * ne[1];
            void *data;
            int type;
            if (t->is_norm) {
                float *f = mem_alloc_array((size_t)n, sizeof(float));
                for (int64_t i = 0; i < n; i++)
                    f[i] = 1.0f + noise(0.05f);
                data = f;
                type = QUANT_TYPE_F32;
            } else {
                uint16_t *h = mem_alloc_array((size_t)n, sizeof(uint16_t));
                if (!h) {
                    fprintf(stderr, "mkmodel: out of memory for '%s'\n", name);
                    return 1;
                }
                for (int64_t i = 0; i < n; i++)
                    h[i] = quant_f32_to_f16(noise(0.02f));
                data = h;
                type = QUANT_TYPE_F16;
            }
            bufs[n_bufs++] = data;
            n_params += n;
            if (gguf_writer_add_tensor(w, name, type, t->n_dims, ne, data, &e))
                return fail(&e);
        }
    }
    if (gguf_writer_write(w, argv[2], &e))
        return fail(&e);
    printf("%s: %s, %" PRId64 " parameters\n", argv[2], s->name, n_params);
    for (size_t i = 0; i < n_bufs; i++)
        free(bufs[i]);
    free(bufs);
    for (size_t i = 0; i < nv; i++)
        free(pieces[i]);
    free(pieces);
    free(scores);
    free(types);
    gguf_writer_free(w);
    return 0;
}
