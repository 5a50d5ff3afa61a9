/*
 * bench/bench_rgemma.c - generation speed of RecurrentGemma against Gemma as the sequence
 * grows (issue 9, Performance).
 *
 *   bench_rgemma write DIR [--tokenizer SPM] [--layers N]
 *       Write a RecurrentGemma-2B-shaped model with random BF16 weights (width 2560,
 *       26 layers in the (recurrent, recurrent, attention) pattern, 10 heads, 1 KV head,
 *       lru_width 2560, MLP 7680, window 2048, vocabulary 256000; ~5.4 GB) as an HF
 *       directory in two shards with model.safetensors.index.json. --tokenizer copies a
 *       SentencePiece model in (any vocabulary up to 256000), so `assay --model DIR` works.
 *   bench_rgemma rg DIR [--threads N] [--at 256,4096] [--gen K] [--batch B]
 *   bench_rgemma gguf FILE [--threads N] [--at 256,4096] [--gen K] [--batch B]
 *       For each position P: prefill P random tokens (one sequence, batches of B), then
 *       generate K tokens one by one (greedy, logits every step) and report decode
 *       tokens/s "at P" (positions P .. P+K-1), the prefill speed, and the per-sequence
 *       memory (RecurrentGemma: its fixed state; Gemma: its KV cache at P+K positions).
 *       Load time and resident memory (VmRSS / VmHWM) are printed as well.
 *   bench_rgemma rg-paired DIR | gguf-paired FILE [same options]
 *       The same positions, but the decode steps take turns (one step at the first
 *       position, one at the next, ...), so a busy machine slows every position alike and
 *       the ratio of their speeds holds. RecurrentGemma prefills once and saves its state
 *       at each position; Gemma prefills one sequence (KV cache) per position.
 *
 * Wall clock; other jobs share the machine, so run it when `uptime` is low and say so.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/file.h"
#include "base/mem.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/rgemma.h"
#include "engine/safetensors.h"

/* ---- writing the random model ---------------------------------------------------------- */

struct wt {
    char name[128];
    int n_dims;
    int64_t shape[3];
    float scale; /* uniform in [-scale, scale]; 0: all zero */
    int shard;
};

static struct wt *tensors;
static size_t n_tensors, cap_tensors;

static void add(int shard, const char *name, int n_dims, int64_t a, int64_t b, int64_t c,
                float scale)
{
    if (n_tensors == cap_tensors) {
        cap_tensors = cap_tensors ? cap_tensors * 2 : 256;
        tensors = realloc(tensors, cap_tensors * sizeof(*tensors));
        if (!tensors) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    struct wt *t = &tensors[n_tensors++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->n_dims = n_dims;
    t->shape[0] = a;
    t->shape[1] = b;
    t->shape[2] = c;
    t->scale = scale;
    t->shard = shard;
}

static int64_t n_elem(const struct wt *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++)
        n *= t->shape[i];
    return n;
}

static int cmp_wt(const void *a, const void *b)
{
    return strcmp(((const struct wt *)a)->name, ((const struct wt *)b)->name);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static int write_shard(const char *dir, const char *file, int shard)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    /* header */
    size_t cap = 1 << 20, len = 0;
    char *h = malloc(cap);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        struct wt *t = &tensors[i];
        if (t->shard != shard)
            continue;
        uint64_t bytes = (uint64_t)n_elem(t) * 2;
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[",
                                t->name);
        for (int d = 0; d < t->n_dims; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "",
                                    (long long)t->shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}",
                                (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint64_t n = len;
    fwrite(&n, 8, 1, f);
    fwrite(h, 1, len, f);
    free(h);
    enum { CHUNK = 1 << 20 };
    uint16_t *buf = malloc(CHUNK * sizeof(uint16_t));
    for (size_t i = 0; i < n_tensors; i++) {
        struct wt *t = &tensors[i];
        if (t->shard != shard)
            continue;
        int64_t left = n_elem(t);
        while (left > 0) {
            int64_t k = left < CHUNK ? left : CHUNK;
            for (int64_t j = 0; j < k; j++)
                buf[j] = t->scale == 0 ? 0 : quant_f32_to_bf16(urand() * t->scale);
            if (fwrite(buf, 2, (size_t)k, f) != (size_t)k) {
                perror(path);
                fclose(f);
                free(buf);
                return 1;
            }
            left -= k;
        }
    }
    free(buf);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    fprintf(stderr, "wrote %s (%.2f GB)\n", path, (double)(off + 8 + len) / 1e9);
    return 0;
}

static int cmd_write(const char *dir, const char *tokenizer, int n_layer)
{
    const int64_t V = 256000, D = 2560, L = 2560, H = 10, hd = 256, E = 7680, W = 2048;
    char path[4096], name[128];
    const char *kinds[3] = {"recurrent", "recurrent", "attention"};
    float sd = 1.0f / sqrtf((float)D) * 1.7f, se = 1.0f / sqrtf((float)E) * 1.7f;
    add(1, "model.embed_tokens.weight", 2, V, D, 0, 0.05f);
    add(1, "model.final_norm.weight", 1, D, 0, 0, 0);
    for (int i = 0; i < n_layer; i++) {
        int shard = i < n_layer / 2 ? 1 : 2;
#define N(fmt) (snprintf(name, sizeof(name), "model.layers.%d." fmt, i), name)
        add(shard, N("temporal_pre_norm.weight"), 1, D, 0, 0, 0);
        add(shard, N("channel_pre_norm.weight"), 1, D, 0, 0, 0);
        if (i % 3 != 2) {
            add(shard, N("temporal_block.linear_x.weight"), 2, L, D, 0, sd);
            add(shard, N("temporal_block.linear_x.bias"), 1, L, 0, 0, 0);
            add(shard, N("temporal_block.linear_y.weight"), 2, L, D, 0, sd);
            add(shard, N("temporal_block.linear_y.bias"), 1, L, 0, 0, 0);
            add(shard, N("temporal_block.linear_out.weight"), 2, D, L, 0, sd);
            add(shard, N("temporal_block.linear_out.bias"), 1, D, 0, 0, 0);
            add(shard, N("temporal_block.conv_1d.weight"), 3, L, 1, 4, 0.5f);
            add(shard, N("temporal_block.conv_1d.bias"), 1, L, 0, 0, 0);
            add(shard, N("temporal_block.rg_lru.recurrent_param"), 1, L, 0, 0, 1.0f);
            add(shard, N("temporal_block.rg_lru.input_gate_weight"), 3, H, L / H, L / H, 0.1f);
            add(shard, N("temporal_block.rg_lru.input_gate_bias"), 2, H, L / H, 0, 0);
            add(shard, N("temporal_block.rg_lru.recurrent_gate_weight"), 3, H, L / H, L / H,
                0.1f);
            add(shard, N("temporal_block.rg_lru.recurrent_gate_bias"), 2, H, L / H, 0, 0);
        } else {
            add(shard, N("temporal_block.q_proj.weight"), 2, H * hd, D, 0, sd);
            add(shard, N("temporal_block.k_proj.weight"), 2, hd, D, 0, sd);
            add(shard, N("temporal_block.v_proj.weight"), 2, hd, D, 0, sd);
            add(shard, N("temporal_block.o_proj.weight"), 2, D, H * hd, 0, sd);
            add(shard, N("temporal_block.o_proj.bias"), 1, D, 0, 0, 0);
        }
        add(shard, N("mlp_block.gate_proj.weight"), 2, E, D, 0, sd);
        add(shard, N("mlp_block.gate_proj.bias"), 1, E, 0, 0, 0);
        add(shard, N("mlp_block.up_proj.weight"), 2, E, D, 0, sd);
        add(shard, N("mlp_block.up_proj.bias"), 1, E, 0, 0, 0);
        add(shard, N("mlp_block.down_proj.weight"), 2, D, E, 0, se);
        add(shard, N("mlp_block.down_proj.bias"), 1, D, 0, 0, 0);
#undef N
    }
    qsort(tensors, n_tensors, sizeof(*tensors), cmp_wt);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    const char *shards[2] = {"model-00001-of-00002.safetensors",
                             "model-00002-of-00002.safetensors"};
    for (int s = 1; s <= 2; s++)
        if (write_shard(dir, shards[s - 1], s))
            return 1;
    /* index */
    snprintf(path, sizeof(path), "%s/model.safetensors.index.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "{\"metadata\": {}, \"weight_map\": {");
    for (size_t i = 0; i < n_tensors; i++)
        fprintf(f, "%s\n  \"%s\": \"%s\"", i ? "," : "", tensors[i].name,
                shards[tensors[i].shard - 1]);
    fprintf(f, "\n}}\n");
    fclose(f);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f,
            "{\"model_type\": \"recurrent_gemma\", \"architectures\": "
            "[\"RecurrentGemmaForCausalLM\"], \"vocab_size\": %lld, \"hidden_size\": %lld, "
            "\"intermediate_size\": %lld, \"num_hidden_layers\": %d, \"num_attention_heads\": "
            "%lld, \"num_key_value_heads\": 1, \"head_dim\": %lld, \"lru_width\": %lld, "
            "\"attention_window_size\": %lld, \"conv1d_width\": 4, \"logits_soft_cap\": 30.0, "
            "\"rms_norm_eps\": 1e-06, \"hidden_activation\": \"gelu_pytorch_tanh\", "
            "\"partial_rotary_factor\": 0.5, \"rope_theta\": 10000.0, \"block_types\": "
            "[\"%s\", \"%s\", \"%s\"], \"embeddings_scale_by_sqrt_dim\": true, "
            "\"bos_token_id\": 2, \"eos_token_id\": 1, \"pad_token_id\": 0, "
            "\"tie_word_embeddings\": true, \"torch_dtype\": \"bfloat16\"}\n",
            (long long)V, (long long)D, (long long)(2 * E), n_layer, (long long)H,
            (long long)hd, (long long)L, (long long)W, kinds[0], kinds[1], kinds[2]);
    fclose(f);
    if (tokenizer) {
        struct assay_error err;
        err_clear(&err);
        char *data = NULL;
        size_t n = 0;
        snprintf(path, sizeof(path), "%s/tokenizer.model", dir);
        int rc = file_read_all(&data, &n, tokenizer, (size_t)1 << 30, &err);
        if (!rc)
            rc = file_write_atomic(path, data, n, &err);
        free(data);
        if (rc) {
            fprintf(stderr, "%s: %s\n", err.path, err.msg);
            return 1;
        }
    }
    free(tensors);
    return 0;
}

/* ---- measuring ---------------------------------------------------------------------------- */

static void rss(double *cur_gb, double *peak_gb)
{
    *cur_gb = *peak_gb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        long kb = 0;
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            *cur_gb = kb / 1048576.0;
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            *peak_gb = kb / 1048576.0;
    }
    fclose(f);
}

/* CPU time of the whole process (all threads): on a busy machine wall time counts waits. */
static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int32_t argmax(const float *l, int64_t n)
{
    int32_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (l[i] > l[b])
            b = (int32_t)i;
    return b;
}

static int st_get(void *user, const char *name, struct rg_tensor *out, struct assay_error *err)
{
    const struct st_tensor *t = st_set_find(user, name);
    if (!t)
        return err_set(err, ASSAY_ENOTFOUND, "tensor '%s' is missing", name);
    memset(out, 0, sizeof(*out));
    out->type = t->dtype == ST_BF16 ? QUANT_TYPE_BF16
                : t->dtype == ST_F16 ? QUANT_TYPE_F16
                : t->dtype == ST_F32 ? QUANT_TYPE_F32 : -1;
    out->n_dims = t->n_dims;
    for (int i = 0; i < t->n_dims && i < 4; i++)
        out->shape[i] = t->shape[i];
    out->data = t->data;
    out->file = t->path;
    if (!t->aligned)
        return err_set(err, ASSAY_EUNSUPPORTED, "tensor '%s' is not aligned", name);
    return 0;
}

static int cmd_rg(const char *dir, int threads, const int32_t *at, int n_at, int32_t gen,
                  int32_t batch)
{
    struct assay_error err;
    err_clear(&err);
    double t0 = clock_now_s();
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    char *text = NULL;
    size_t len = 0;
    struct rg_config cfg;
    struct st_set *st = NULL;
    struct rg_model *m = NULL;
    struct rg_ctx *c = NULL;
    struct rg_state *s = NULL;
    if (file_read_all(&text, &len, path, 1 << 20, &err) ||
        rg_config_parse(&cfg, text, len, path, &err) || st_set_open_dir(&st, dir, &err)) {
        fprintf(stderr, "%s: %s\n", err.path, err.msg);
        return 1;
    }
    free(text);
    struct rg_source src = {.get = st_get, .user = st};
    if (rg_model_new(&m, &cfg, &src, &err)) {
        fprintf(stderr, "%s: %s\n", err.path, err.msg);
        return 1;
    }
    double load_s = clock_now_s() - t0, r0, h0;
    rss(&r0, &h0);
    printf("recurrent_gemma %s: %lld params, weights %s, %zu files, %.2f GB; load %.2f s, "
           "RSS after load %.2f GB\n",
           dir, (long long)rg_model_n_params(m), rg_model_weight_type(m), st_set_n_files(st),
           (double)st_set_bytes(st) / 1e9, load_s, r0);
    struct rg_ctx_params cp = {.n_threads = threads, .n_batch = batch, .n_logits = 1};
    if (rg_ctx_new(&c, m, &cp, &err) || rg_state_new(&s, m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("state per sequence: %zu bytes (fixed)\n", rg_state_bytes(m));
    int32_t *toks = malloc((size_t)batch * sizeof(int32_t));
    rg_state_reset(s);
    int32_t done = 0;
    for (int k = 0; k < n_at; k++) {
        double p0 = clock_now_s(), c0 = cpu_now_s();
        int32_t from = done;
        while (done < at[k]) {
            int32_t n = at[k] - done < batch ? at[k] - done : batch;
            for (int32_t i = 0; i < n; i++)
                toks[i] = 2 + (int32_t)((uint32_t)(done + i) * 2654435761u % 255000u);
            if (rg_forward(c, s, toks, n, done + n == at[k] ? n - 1 : n, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            done += n;
        }
        double pp_s = clock_now_s() - p0, pp_cpu = cpu_now_s() - c0;
        int32_t next = argmax(rg_logits(c, 0), cfg.n_vocab);
        double g0 = clock_now_s(), gc0 = cpu_now_s();
        for (int32_t i = 0; i < gen; i++) {
            if (rg_forward(c, s, &next, 1, 0, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            next = argmax(rg_logits(c, 0), cfg.n_vocab);
        }
        done += gen;
        double tg_s = clock_now_s() - g0, tg_cpu = cpu_now_s() - gc0, r, h;
        rss(&r, &h);
        printf("at %5d: prefill %d..%d %.1f s (%.2f tok/s, %.1f CPU s); decode %d tokens at "
               "positions %d..%d: %.3f tok/s wall, %.3f s CPU per token; state %zu bytes; "
               "RSS %.2f GB (peak %.2f)\n",
               at[k], from, at[k] - 1, pp_s, (at[k] - from) / pp_s, pp_cpu, gen, at[k],
               at[k] + gen - 1, gen / tg_s, tg_cpu / gen, rg_state_bytes(m), r, h);
        fflush(stdout);
    }
    free(toks);
    rg_state_free(s);
    rg_ctx_free(c);
    rg_model_free(m);
    st_set_close(st);
    return 0;
}

static int cmd_gguf(const char *file, int threads, const int32_t *at, int n_at, int32_t gen,
                    int32_t batch)
{
    struct assay_error err;
    err_clear(&err);
    double t0 = clock_now_s();
    struct model *m = NULL;
    struct model_ctx *c = NULL;
    if (model_open(&m, file, &err)) {
        fprintf(stderr, "%s: %s\n", err.path, err.msg);
        return 1;
    }
    double load_s = clock_now_s() - t0, r0, h0;
    rss(&r0, &h0);
    const struct arch_hparams *hp = model_hparams(m);
    int32_t max_at = 0;
    for (int k = 0; k < n_at; k++)
        max_at = at[k] > max_at ? at[k] : max_at;
    struct model_ctx_params cp;
    model_ctx_params_default(&cp);
    cp.n_ctx = max_at + gen + 1;
    cp.n_seq_max = 1;
    cp.n_batch_max = batch;
    cp.n_logits_max = 1;
    cp.n_threads = threads;
    if (model_ctx_new(&c, m, &cp, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("gguf %s: load %.2f s, RSS after load %.2f GB\n", file, load_s, r0);
    int32_t *toks = malloc((size_t)batch * sizeof(int32_t)), *pos = malloc((size_t)batch * 4),
            *seq = calloc((size_t)batch, 4);
    int32_t done = 0;
    for (int k = 0; k < n_at; k++) {
        double p0 = clock_now_s(), c0 = cpu_now_s();
        int32_t from = done;
        while (done < at[k]) {
            int32_t n = at[k] - done < batch ? at[k] - done : batch;
            for (int32_t i = 0; i < n; i++) {
                toks[i] = 2 + (int32_t)((uint32_t)(done + i) * 2654435761u % 255000u);
                pos[i] = done + i;
            }
            struct model_batch b = {.n_tok = n, .token = toks, .pos = pos, .seq_id = seq};
            if (model_decode(c, &b, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            done += n;
        }
        double pp_s = clock_now_s() - p0, pp_cpu = cpu_now_s() - c0;
        int32_t next = argmax(model_logits(c, 0), hp->n_vocab);
        double g0 = clock_now_s(), gc0 = cpu_now_s();
        for (int32_t i = 0; i < gen; i++) {
            int32_t p = at[k] + i;
            struct model_batch b = {.n_tok = 1, .token = &next, .pos = &p, .seq_id = seq};
            if (model_decode(c, &b, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            next = argmax(model_logits(c, 0), hp->n_vocab);
        }
        done += gen;
        double tg_s = clock_now_s() - g0, tg_cpu = cpu_now_s() - gc0, r, h;
        rss(&r, &h);
        double kv = 2.0 * (double)hp->n_layer * hp->n_head_kv * hp->head_dim * 4.0 *
                    (at[k] + gen);
        printf("at %5d: prefill %d..%d %.1f s (%.2f tok/s, %.1f CPU s); decode %d tokens at "
               "positions %d..%d: %.3f tok/s wall, %.3f s CPU per token; KV cache in use "
               "%.1f MB (f32); RSS %.2f GB (peak %.2f)\n",
               at[k], from, at[k] - 1, pp_s, (at[k] - from) / pp_s, pp_cpu, gen, at[k],
               at[k] + gen - 1, gen / tg_s, tg_cpu / gen, kv / 1e6, r, h);
        fflush(stdout);
    }
    free(toks);
    free(pos);
    free(seq);
    model_ctx_free(c);
    model_free(m);
    return 0;
}

/* ---- paired: every position decodes in turn, so machine load hits all alike ------------ */

static void prefill_toks(int32_t *toks, int32_t from, int32_t n, int64_t n_vocab)
{
    uint32_t span = n_vocab > 1002 ? (uint32_t)(n_vocab - 1000) : 1;
    for (int32_t i = 0; i < n; i++)
        toks[i] = 2 + (int32_t)((uint32_t)(from + i) * 2654435761u % span);
}

static void print_paired(const char *what, const int32_t *at, int n_at, int32_t gen,
                         const double *wall, const double *cpu)
{
    for (int k = 0; k < n_at; k++)
        printf("%s paired: decode at positions %d..%d: %.3f tok/s wall, %.3f s CPU per "
               "token (%d steps interleaved with the other positions)\n",
               what, at[k], at[k] + gen - 1, gen / wall[k], cpu[k] / gen, gen);
    if (n_at > 1)
        printf("%s paired: tok/s at %d / tok/s at %d = %.3f (wall), %.3f (CPU)\n", what,
               at[n_at - 1], at[0], wall[0] / wall[n_at - 1], cpu[0] / cpu[n_at - 1]);
    fflush(stdout);
}

static int rg_paired(const char *dir, int threads, const int32_t *at, int n_at, int32_t gen,
                     int32_t batch)
{
    struct assay_error err;
    err_clear(&err);
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    char *text = NULL;
    size_t len = 0;
    struct rg_config cfg;
    struct st_set *st = NULL;
    struct rg_model *m = NULL;
    struct rg_ctx *c = NULL;
    struct rg_state *s[16] = {0};
    if (file_read_all(&text, &len, path, 1 << 20, &err) ||
        rg_config_parse(&cfg, text, len, path, &err) || st_set_open_dir(&st, dir, &err)) {
        fprintf(stderr, "%s: %s\n", err.path, err.msg);
        return 1;
    }
    free(text);
    struct rg_source src = {.get = st_get, .user = st};
    struct rg_ctx_params cp = {.n_threads = threads, .n_batch = batch, .n_logits = 1};
    if (rg_model_new(&m, &cfg, &src, &err) || rg_ctx_new(&c, m, &cp, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int k = 0; k < n_at; k++)
        if (rg_state_new(&s[k], m, &err))
            return 1;
    int32_t *toks = malloc((size_t)batch * sizeof(int32_t)), next[16];
    /* one prefill; the state is saved when it reaches each position */
    int32_t done = 0;
    double p0 = clock_now_s();
    for (int k = 0; k < n_at; k++) {
        while (done < at[k]) {
            int32_t n = at[k] - done < batch ? at[k] - done : batch;
            prefill_toks(toks, done, n, cfg.n_vocab);
            if (rg_forward(c, s[n_at - 1], toks, n, done + n == at[k] ? n - 1 : n, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            done += n;
        }
        next[k] = argmax(rg_logits(c, 0), cfg.n_vocab);
        if (k < n_at - 1)
            rg_state_copy(s[k], s[n_at - 1]);
    }
    printf("rg paired: prefill to %d in %.1f s\n", done, clock_now_s() - p0);
    double wall[16] = {0}, cpu[16] = {0};
    for (int32_t r = 0; r < gen; r++)
        for (int k = 0; k < n_at; k++) {
            double w0 = clock_now_s(), c0 = cpu_now_s();
            if (rg_forward(c, s[k], &next[k], 1, 0, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            next[k] = argmax(rg_logits(c, 0), cfg.n_vocab);
            wall[k] += clock_now_s() - w0;
            cpu[k] += cpu_now_s() - c0;
        }
    print_paired("rg", at, n_at, gen, wall, cpu);
    free(toks);
    for (int k = 0; k < n_at; k++)
        rg_state_free(s[k]);
    rg_ctx_free(c);
    rg_model_free(m);
    st_set_close(st);
    return 0;
}

static int gguf_paired(const char *file, int threads, const int32_t *at, int n_at, int32_t gen,
                       int32_t batch)
{
    struct assay_error err;
    err_clear(&err);
    struct model *m = NULL;
    struct model_ctx *c = NULL;
    if (model_open(&m, file, &err)) {
        fprintf(stderr, "%s: %s\n", err.path, err.msg);
        return 1;
    }
    const struct arch_hparams *hp = model_hparams(m);
    struct model_ctx_params cp;
    model_ctx_params_default(&cp);
    cp.n_ctx = at[n_at - 1] + gen + 1;
    cp.n_seq_max = n_at;
    cp.n_batch_max = batch;
    cp.n_logits_max = 1;
    cp.n_threads = threads;
    if (model_ctx_new(&c, m, &cp, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int32_t *toks = malloc((size_t)batch * 4), *pos = malloc((size_t)batch * 4),
            *seq = malloc((size_t)batch * 4), next[16];
    double p0 = clock_now_s();
    /* sequence k holds at[k] positions (a KV cache cannot be copied, so each is prefilled) */
    for (int k = 0; k < n_at; k++) {
        for (int32_t done = 0; done < at[k];) {
            int32_t n = at[k] - done < batch ? at[k] - done : batch;
            prefill_toks(toks, done, n, hp->n_vocab);
            for (int32_t i = 0; i < n; i++) {
                pos[i] = done + i;
                seq[i] = k;
            }
            struct model_batch b = {.n_tok = n, .token = toks, .pos = pos, .seq_id = seq};
            if (model_decode(c, &b, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            done += n;
        }
        next[k] = argmax(model_logits(c, 0), hp->n_vocab);
    }
    printf("gguf paired: prefills in %.1f s\n", clock_now_s() - p0);
    double wall[16] = {0}, cpu[16] = {0};
    for (int32_t r = 0; r < gen; r++)
        for (int k = 0; k < n_at; k++) {
            int32_t p = at[k] + r, sk = k;
            struct model_batch b = {.n_tok = 1, .token = &next[k], .pos = &p, .seq_id = &sk};
            double w0 = clock_now_s(), c0 = cpu_now_s();
            if (model_decode(c, &b, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            next[k] = argmax(model_logits(c, 0), hp->n_vocab);
            wall[k] += clock_now_s() - w0;
            cpu[k] += cpu_now_s() - c0;
        }
    print_paired("gguf", at, n_at, gen, wall, cpu);
    free(toks);
    free(pos);
    free(seq);
    model_ctx_free(c);
    model_free(m);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_rgemma write DIR [--tokenizer SPM] [--layers N]\n"
                    "       bench_rgemma rg DIR [--threads N] [--at P,P...] [--gen K] "
                    "[--batch B]\n"
                    "       bench_rgemma gguf FILE [--threads N] [--at P,P...] [--gen K] "
                    "[--batch B]\n"
                    "       bench_rgemma rg-paired DIR | gguf-paired FILE [same options]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *tokenizer = NULL;
    int threads = 2, n_layer = 26, n_at = 0;
    int32_t at[16], gen = 16, batch = 256;
    for (int i = 3; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        char *end = NULL;
        if (strcmp(argv[i], "--tokenizer") == 0) {
            tokenizer = v;
        } else if (strcmp(argv[i], "--layers") == 0) {
            n_layer = (int)strtol(v, &end, 10);
        } else if (strcmp(argv[i], "--threads") == 0) {
            threads = (int)strtol(v, &end, 10);
        } else if (strcmp(argv[i], "--gen") == 0) {
            gen = (int32_t)strtol(v, &end, 10);
        } else if (strcmp(argv[i], "--batch") == 0) {
            batch = (int32_t)strtol(v, &end, 10);
        } else if (strcmp(argv[i], "--at") == 0) {
            const char *p = v;
            while (*p && n_at < 16) {
                at[n_at++] = (int32_t)strtol(p, &end, 10);
                p = *end == ',' ? end + 1 : end;
                if (end == p && *p)
                    return usage();
            }
            end = NULL;
        } else {
            return usage();
        }
        if (end && *end)
            return usage();
        i++;
    }
    if (n_at == 0) {
        at[0] = 256;
        at[1] = 4096;
        n_at = 2;
    }
    if (threads < 1 || gen < 1 || batch < 1 || n_layer < 1 || n_layer > RG_MAX_LAYERS)
        return usage();
    for (int k = 0; k < n_at; k++)
        if (at[k] < 1 || (k > 0 && at[k] < at[k - 1] + gen))
            return usage(); /* one sequence: each position follows the previous decode */
    if (strcmp(argv[1], "write") == 0)
        return cmd_write(argv[2], tokenizer, n_layer);
    if (strcmp(argv[1], "rg") == 0)
        return cmd_rg(argv[2], threads, at, n_at, gen, batch);
    if (strcmp(argv[1], "gguf") == 0)
        return cmd_gguf(argv[2], threads, at, n_at, gen, batch);
    if (strcmp(argv[1], "rg-paired") == 0)
        return rg_paired(argv[2], threads, at, n_at, gen, batch);
    if (strcmp(argv[1], "gguf-paired") == 0)
        return gguf_paired(argv[2], threads, at, n_at, gen, batch);
    return usage();
}
