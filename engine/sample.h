/*
 * engine/sample.h - choosing the next token from a row of logits: greedy, or temperature
 * with top-k, top-p (nucleus) and min-p filters, driven by a seeded generator so that the
 * same seed gives the same text. Also log-softmax helpers for scoring.
 *
 * Filter order (as llama.cpp's default chain and HF's warpers apply them): top-k, then
 * top-p, then min-p, on temperature-scaled probabilities. Kernels never allocate; the
 * sampler's scratch (n_vocab candidates) belongs to struct smp and is allocated once.
 */
#ifndef ASSAY_ENGINE_SAMPLE_H
#define ASSAY_ENGINE_SAMPLE_H

#include <stdint.h>

#include "base/error.h"
#include "engine/backend.h"

struct smp_rng {
    uint64_t s[4]; /* xoshiro256** state */
};

void smp_rng_seed(struct smp_rng *r, uint64_t seed);
uint64_t smp_rng_next(struct smp_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double smp_rng_uniform(struct smp_rng *r);

struct smp_cand {
    int32_t id;
    float logit;
    float p;
};

struct smp {
    int32_t n_vocab;
    struct smp_cand *cand; /* n_vocab, owned */
};

int smp_init(struct smp *s, int32_t n_vocab, struct assay_error *err);
void smp_release(struct smp *s);

/* Index of the largest logit; ties go to the lowest index (numpy argmax). */
int32_t smp_argmax(const float *logits, int32_t n);

/* Choose a token: greedy when params->temperature <= 0, else sampled with the filters. */
int32_t smp_sample(struct smp *s, const float *logits, const struct smp_params *params,
                   struct smp_rng *rng);

/* log p(token) under softmax(logits), computed in double. */
double smp_logprob(const float *logits, int32_t n, int32_t token);

#endif
