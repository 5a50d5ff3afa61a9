/*
 * engine/bench.c - see bench.h. Measures; decides nothing about what is fast enough.
 */
#include "engine/bench.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "engine/arch.h"
#include "engine/gguf.h"
#include "engine/kern.h"
#include "engine/model.h"
#include "engine/sample.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stat_of(double *v, int n, struct bench_stat *s)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    s->min = v[0];
    s->max = v[n - 1];
    s->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Bytes of weights one generated token reads: every matrix, except that the embedding is
 * a lookup of one row unless the output is tied to it (then it is read in full). */
static double weight_bytes_per_token(const struct gguf *g)
{
    double total = 0;
    bool has_output = gguf_find_tensor(g, "output.weight") != NULL;
    for (size_t i = 0; i < gguf_n_tensors(g); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        if (strcmp(t->name, "token_embd.weight") == 0 && has_output)
            total += (double)t->n_bytes / (double)(t->n_elem / t->ne[0]);
        else
            total += (double)t->n_bytes;
    }
    return total;
}

/* Multiply-add operations per prompt token in the weight matrices (2 per weight element
 * used): all of them, and in *int8_ops the share the integer path makes (quantized
 * weights; activations rounded to int8). The output matrix (or the embedding tied to
 * it) runs for the last of the n_prompt tokens only, as pp asks for one row of logits:
 * its share is 1/n_prompt. */
static double flops_per_token(const struct gguf *g, int32_t n_prompt, double *int8_ops)
{
    double total = 0, int8 = 0;
    bool has_output = gguf_find_tensor(g, "output.weight") != NULL;
    for (size_t i = 0; i < gguf_n_tensors(g); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        if (t->n_dims < 2)
            continue;
        bool embd = strcmp(t->name, "token_embd.weight") == 0;
        if (embd && has_output) /* a lookup */
            continue;
        bool out = strcmp(t->name, "output.weight") == 0 || (embd && !has_output);
        double ops = 2.0 * (double)t->n_elem / (out && n_prompt > 0 ? (double)n_prompt : 1.0);
        total += ops;
        if (kern_matmul_scratch_bytes(t->type, t->ne[0], 1) != 0)
            int8 += ops;
    }
    *int8_ops = int8;
    return total;
}

/* Peak resident bytes so far (getrusage), 0 if unknown. */
static int64_t peak_rss(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_maxrss * 1024 : 0;
}

/* Resident bytes now (/proc/self/statm), 0 if unknown. */
static int64_t current_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    long pages_total = 0, pages_res = 0;
    int n = fscanf(f, "%ld %ld", &pages_total, &pages_res);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (int64_t)pages_res * page : 0;
}

void bench_result_free(struct bench_result *r)
{
    free(r->bw_sample);
    free(r->tg_rep);
    r->bw_sample = r->tg_rep = NULL;
    r->n_bandwidth = r->n_tg = 0;
}

int bench_run(const char *path, const struct bench_params *p, struct bench_result *out,
              const struct progress *prog, struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    struct model *m = NULL;
    struct model_ctx *c = NULL;
    int32_t *tok = NULL, *pos = NULL, *seq = NULL;
    bool *want = NULL;
    double *t_pp = NULL, *t_tg = NULL, *bw = NULL, *frac = NULL;
    int n_bw = 0;
    void *bw_buf = NULL;
    int reps = p->reps > 0 ? p->reps : 1;
    double t0 = clock_now_s();
    int rc = model_open(&m, path, err);
    if (rc)
        return rc;
    /* loading includes repacking: it is part of what a user waits for */
    if (!p->matmul_ref && !p->no_repack && (rc = model_repack(m, p->n_threads, err)) != 0) {
        model_free(m);
        return rc;
    }
    out->load_s = clock_now_s() - t0;
    const struct arch_hparams *hp = model_hparams(m);
    int32_t n_batch = p->n_prompt > 1 ? p->n_prompt : 1;
    struct model_ctx_params cp;
    model_ctx_params_default(&cp);
    cp.n_ctx = p->n_prompt + p->n_gen + 1;
    cp.n_seq_max = 1;
    cp.n_batch_max = n_batch;
    cp.n_logits_max = 1;
    cp.n_threads = p->n_threads;
    cp.matmul_ref = p->matmul_ref;
    rc = model_ctx_new(&c, m, &cp, err);
    if (rc)
        goto out;
    out->kv_bytes = 2LL * 4 * hp->n_layer * (int64_t)cp.n_ctx * hp->n_head_kv * hp->head_dim;
    tok = mem_alloc_array((size_t)n_batch, sizeof(int32_t));
    pos = mem_alloc_array((size_t)n_batch, sizeof(int32_t));
    seq = mem_calloc_array((size_t)n_batch, sizeof(int32_t));
    want = mem_calloc_array((size_t)n_batch, sizeof(bool));
    t_pp = mem_alloc_array((size_t)reps, sizeof(double));
    t_tg = mem_alloc_array((size_t)reps, sizeof(double));
    bw = mem_alloc_array((size_t)reps + 3, sizeof(double));
    frac = mem_alloc_array((size_t)reps, sizeof(double));
    out->bw_sample = mem_alloc_array((size_t)reps + 3, sizeof(double));
    out->tg_rep = mem_alloc_array((size_t)reps, sizeof(double));
    if (!tok || !pos || !seq || !want || !t_pp || !t_tg || !bw || !frac || !out->bw_sample ||
        !out->tg_rep) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    struct smp_rng rng;
    smp_rng_seed(&rng, 42);
    for (int32_t i = 0; i < n_batch; i++) {
        tok[i] = (int32_t)(smp_rng_next(&rng) % (uint64_t)hp->n_vocab);
        pos[i] = i;
    }
    int64_t steps = (int64_t)reps * ((p->n_prompt > 0) + (p->n_gen > 0)) + 1, step = 0;
    /* warm-up: one short pass pages the weights in and starts the threads */
    {
        want[0] = true;
        struct model_batch b = {.n_tok = 1, .token = tok, .pos = pos, .seq_id = seq,
                                .want_logits = want};
        rc = model_decode(c, &b, err);
        if (rc)
            goto out;
        model_seq_clear(c, 0, NULL);
        progress_report(prog, ++step, steps, "bench");
    }
    if (p->n_prompt > 0) {
        for (int32_t i = 0; i < p->n_prompt; i++)
            want[i] = i == p->n_prompt - 1;
        for (int r = 0; r < reps; r++) {
            model_seq_clear(c, 0, NULL);
            struct model_batch b = {.n_tok = p->n_prompt, .token = tok, .pos = pos,
                                    .seq_id = seq, .want_logits = want};
            double s = clock_now_s();
            rc = model_decode(c, &b, err);
            if (rc)
                goto out;
            t_pp[r] = (double)p->n_prompt / (clock_now_s() - s);
            progress_report(prog, ++step, steps, "bench");
        }
        stat_of(t_pp, reps, &out->pp);
    }
    /* The model's peak so far (load, pp); then the bandwidth buffer, which must not count. */
    int64_t rss_model = peak_rss();
    const size_t bw_bytes = (size_t)1 << 30;
    if (!p->no_hw) {
        bw_buf = mem_alloc_aligned(64, bw_bytes);
        if (!bw_buf) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory for the bandwidth buffer");
            goto out;
        }
        memset(bw_buf, 1, bw_bytes);
    }
    if (p->n_gen > 0) {
        if (bw_buf) /* the ceiling just before the first repetition */
            bw[n_bw++] = kern_read_bandwidth(bw_buf, bw_bytes, p->n_threads, 2);
        for (int r = 0; r < reps; r++) {
            model_seq_clear(c, 0, NULL);
            double s = clock_now_s();
            int32_t t = tok[0];
            for (int32_t i = 0; i < p->n_gen; i++) {
                int32_t ps = i;
                bool w = true;
                int32_t sq = 0;
                struct model_batch b = {.n_tok = 1, .token = &t, .pos = &ps, .seq_id = &sq,
                                        .want_logits = &w};
                rc = model_decode(c, &b, err);
                if (rc)
                    goto out;
                t = smp_argmax(model_logits(c, 0), (int32_t)hp->n_vocab);
            }
            t_tg[r] = (double)p->n_gen / (clock_now_s() - s);
            if (bw_buf) /* the ceiling just after it */
                bw[n_bw++] = kern_read_bandwidth(bw_buf, bw_bytes, p->n_threads, 2);
            progress_report(prog, ++step, steps, "bench");
        }
        out->n_tg = reps;
        memcpy(out->tg_rep, t_tg, (size_t)reps * sizeof(double));
        stat_of(t_tg, reps, &out->tg);
    }
    out->weight_bytes_per_token = weight_bytes_per_token(model_gguf(m));
    out->pp_flops_per_token = flops_per_token(model_gguf(m), p->n_prompt, &out->pp_int8_ops_per_token);
    if (bw_buf) {
        while (n_bw < 3 && p->n_gen <= 0)
            bw[n_bw++] = kern_read_bandwidth(bw_buf, bw_bytes, p->n_threads, 2);
        free(bw_buf);
        bw_buf = NULL;
        memcpy(out->bw_sample, bw, (size_t)n_bw * sizeof(double));
        out->n_bandwidth = n_bw;
        /* each repetition against the samples on either side of it: this kind of host
         * moves between ~33 and ~60 GB/s from minute to minute, and the median tokens/s
         * over the median sample mixed the two states */
        for (int r = 0; r < out->n_tg && n_bw == out->n_tg + 1; r++) {
            double before = out->bw_sample[r], after = out->bw_sample[r + 1];
            double ceil = 0.5 * (before + after), hi = before > after ? before : after;
            frac[r] = ceil > 0 ? out->tg_rep[r] * out->weight_bytes_per_token / ceil : 0;
            out->n_bw_moved += hi - (before < after ? before : after) > 0.15 * hi;
        }
        if (out->n_tg > 0 && n_bw == out->n_tg + 1) {
            stat_of(frac, out->n_tg, &out->tg_fraction);
            out->tg_fraction_of_ceiling = out->tg_fraction.median;
        }
        stat_of(bw, n_bw, &out->bandwidth);
        out->bandwidth_bytes_s = out->bandwidth.median;
        out->fma_peak_flops = kern_fma_peak_flops(p->n_threads);
        out->int8_peak_ops = kern_int8_peak_ops(p->n_threads);
        /* each product against the peak of the arithmetic that makes it: the seconds per
         * token at both peaks, times the tokens per second achieved */
        double f32 = out->pp_flops_per_token - out->pp_int8_ops_per_token;
        double i8 = out->pp_int8_ops_per_token;
        if (out->fma_peak_flops > 0 && (i8 == 0 || out->int8_peak_ops > 0))
            out->pp_fraction_of_peak =
                out->pp.median * (f32 / out->fma_peak_flops +
                                  (i8 > 0 ? i8 / out->int8_peak_ops : 0));
    }
    if (p->no_hw) {
        out->peak_rss_bytes = peak_rss();
    } else {
        /* the buffer is freed: what is resident now is the model, its cache and what tg
         * touched after the pp peak; without /proc, the peak including the buffer */
        int64_t now = current_rss();
        out->peak_rss_bytes = now > 0 ? (now > rss_model ? now : rss_model) : peak_rss();
    }
out:
    if (rc)
        bench_result_free(out);
    free(bw_buf);
    free(bw);
    free(frac);
    free(tok);
    free(pos);
    free(seq);
    free(want);
    free(t_pp);
    free(t_tg);
    model_ctx_free(c);
    model_free(m);
    return rc;
}
