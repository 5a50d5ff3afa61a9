/*
 * engine/sample.c - token choice and log-softmax; see sample.h.
 */
#include "engine/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void smp_rng_seed(struct smp_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t smp_rng_next(struct smp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double smp_rng_uniform(struct smp_rng *r)
{
    return (double)(smp_rng_next(r) >> 11) * 0x1.0p-53;
}

int smp_init(struct smp *s, int32_t n_vocab, struct assay_error *err)
{
    s->n_vocab = n_vocab;
    s->cand = mem_alloc_array((size_t)n_vocab, sizeof(*s->cand));
    if (!s->cand)
        return err_set(err, ASSAY_ENOMEM, "out of memory for the sampler (%d tokens)", n_vocab);
    return 0;
}

void smp_release(struct smp *s)
{
    free(s->cand);
    s->cand = NULL;
}

int32_t smp_argmax(const float *logits, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

double smp_logprob(const float *logits, int32_t n, int32_t token)
{
    double max = logits[0];
    for (int32_t i = 1; i < n; i++)
        if (logits[i] > max)
            max = logits[i];
    double sum = 0;
    for (int32_t i = 0; i < n; i++)
        sum += exp((double)logits[i] - max);
    return (double)logits[token] - max - log(sum);
}

static int cmp_cand_desc(const void *a, const void *b)
{
    const struct smp_cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

int32_t smp_sample(struct smp *s, const float *logits, const struct smp_params *params,
                   struct smp_rng *rng)
{
    int32_t n = s->n_vocab;
    if (params->temperature <= 0)
        return smp_argmax(logits, n);
    for (int32_t i = 0; i < n; i++) {
        s->cand[i].id = i;
        s->cand[i].logit = logits[i] / params->temperature;
    }
    /* Sorting the whole vocabulary is O(V log V) per token, small next to a forward pass
     * over V x n_embd weights; a small top-k selects its k best in O(k V) instead. */
    int32_t keep = n;
    if (params->top_k > 0 && params->top_k <= 64 && params->top_k < n) {
        for (int32_t i = 0; i < params->top_k; i++) {
            int32_t best = i;
            for (int32_t j = i + 1; j < n; j++)
                if (cmp_cand_desc(&s->cand[j], &s->cand[best]) < 0)
                    best = j;
            struct smp_cand t = s->cand[i];
            s->cand[i] = s->cand[best];
            s->cand[best] = t;
        }
        keep = params->top_k;
    } else {
        qsort(s->cand, (size_t)n, sizeof(*s->cand), cmp_cand_desc);
        if (params->top_k > 0 && params->top_k < n)
            keep = params->top_k;
    }
    double max = s->cand[0].logit, sum = 0;
    for (int32_t i = 0; i < keep; i++) {
        s->cand[i].p = (float)exp((double)s->cand[i].logit - max);
        sum += s->cand[i].p;
    }
    for (int32_t i = 0; i < keep; i++)
        s->cand[i].p = (float)(s->cand[i].p / sum);
    if (params->top_p > 0 && params->top_p < 1) {
        double cum = 0;
        for (int32_t i = 0; i < keep; i++) {
            cum += s->cand[i].p;
            if (cum >= params->top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    if (params->min_p > 0) {
        float floor_p = params->min_p * s->cand[0].p;
        int32_t k = 1;
        while (k < keep && s->cand[k].p >= floor_p)
            k++;
        keep = k;
    }
    double total = 0;
    for (int32_t i = 0; i < keep; i++)
        total += s->cand[i].p;
    double u = smp_rng_uniform(rng) * total, acc = 0;
    for (int32_t i = 0; i < keep; i++) {
        acc += s->cand[i].p;
        if (u < acc)
            return s->cand[i].id;
    }
    return s->cand[keep - 1].id;
}
