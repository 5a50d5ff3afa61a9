/*
 * evals/fewshot.h - few-shot exemplar selection as lm-evaluation-harness does it, and the
 * random generator that makes its default sampler reproducible byte for byte.
 *
 * lm-eval's `default` sampler draws `random.Random(1234).sample(pool, k)` once per
 * evaluated document, in document order, with one generator per task kept running
 * across documents (EVAL-NOTES.md section 1). Matching its shots needs CPython's
 * MT19937 (init_by_array seeding from an int), getrandbits, _randbelow and the two
 * branches of random.sample (pool copy for small populations, rejection set for large
 * ones). `first_n` takes the first k pool rows in file order.
 *
 * No allocation is hidden here except in fewshot_sample, which writes into the
 * caller's array; the generator is a plain value.
 */
#ifndef ASSAY_EVALS_FEWSHOT_H
#define ASSAY_EVALS_FEWSHOT_H

#include <stdint.h>

#include "base/error.h"

#define FEWSHOT_MT_N 624

/* CPython's random.Random state (Modules/_randommodule.c semantics). */
struct fewshot_rng {
    uint32_t mt[FEWSHOT_MT_N];
    int mti;
};

/* random.Random(seed) for a non-negative integer seed (CPython: init_by_array with the
 * seed's 32-bit words, least significant first; 0 gives the key [0]). */
void fewshot_rng_seed(struct fewshot_rng *r, uint64_t seed);
/* The next 32-bit output of MT19937 (genrand_uint32). */
uint32_t fewshot_rng_u32(struct fewshot_rng *r);
/* random.random(): 53-bit float in [0, 1). */
double fewshot_rng_random(struct fewshot_rng *r);
/* random.getrandbits(k) for 1 <= k <= 32. */
uint32_t fewshot_rng_bits(struct fewshot_rng *r, int k);
/* random._randbelow(n) (getrandbits rejection), n >= 1 and below 2^32. */
uint32_t fewshot_rng_below(struct fewshot_rng *r, uint32_t n);

/* random.sample(range(n), k): k distinct indices in CPython's order, into out[k].
 * ASSAY_EUSAGE when k > n (Python raises ValueError); ASSAY_ENOMEM. */
int fewshot_sample(struct fewshot_rng *r, uint32_t n, uint32_t k, uint32_t *out,
                   struct assay_error *err);

enum fewshot_sampler {
    FEWSHOT_SAMPLER_NONE = 0,    /* the task has no few-shot pool */
    FEWSHOT_SAMPLER_FIRST_N = 1, /* pool rows 0..k-1 in file order */
    FEWSHOT_SAMPLER_RANDOM = 2,  /* lm-eval `default`: Random(seed).sample per document */
    FEWSHOT_SAMPLER_FIXED = 3,   /* a fixed list of pool rows (MBPP tasks 2, 3, 4) */
};

#endif
