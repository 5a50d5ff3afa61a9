/*
 * evals/fewshot.c - CPython's MT19937 and random.sample, for lm-eval's few-shot sampler.
 * Written from the published MT19937 algorithm (Matsumoto & Nishimura 1998) and the
 * documented behaviour of CPython's random module; results are checked against
 * CPython in tests/evals/test_tasks.c.
 */
#include "evals/fewshot.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MT_M          397
#define MT_MATRIX_A   0x9908b0dfU
#define MT_UPPER_MASK 0x80000000U
#define MT_LOWER_MASK 0x7fffffffU

static void init_genrand(struct fewshot_rng *r, uint32_t s)
{
    r->mt[0] = s;
    for (int i = 1; i < FEWSHOT_MT_N; i++)
        r->mt[i] = 1812433253U * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = FEWSHOT_MT_N;
}

static void init_by_array(struct fewshot_rng *r, const uint32_t *key, int n_key)
{
    init_genrand(r, 19650218U);
    int i = 1, j = 0;
    int k = FEWSHOT_MT_N > n_key ? FEWSHOT_MT_N : n_key;
    for (; k; k--) {
        r->mt[i] =
            (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525U)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= FEWSHOT_MT_N) {
            r->mt[0] = r->mt[FEWSHOT_MT_N - 1];
            i = 1;
        }
        if (j >= n_key)
            j = 0;
    }
    for (k = FEWSHOT_MT_N - 1; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941U)) - (uint32_t)i;
        i++;
        if (i >= FEWSHOT_MT_N) {
            r->mt[0] = r->mt[FEWSHOT_MT_N - 1];
            i = 1;
        }
    }
    r->mt[0] = 0x80000000U; /* MSB is 1, assuring a non-zero initial array */
}

void fewshot_rng_seed(struct fewshot_rng *r, uint64_t seed)
{
    uint32_t key[2];
    int n = 0;
    key[n++] = (uint32_t)(seed & 0xffffffffU);
    if (seed >> 32)
        key[n++] = (uint32_t)(seed >> 32);
    init_by_array(r, key, n);
}

uint32_t fewshot_rng_u32(struct fewshot_rng *r)
{
    static const uint32_t mag01[2] = {0x0U, MT_MATRIX_A};
    uint32_t y;
    if (r->mti >= FEWSHOT_MT_N) {
        int kk;
        for (kk = 0; kk < FEWSHOT_MT_N - MT_M; kk++) {
            y = (r->mt[kk] & MT_UPPER_MASK) | (r->mt[kk + 1] & MT_LOWER_MASK);
            r->mt[kk] = r->mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1U];
        }
        for (; kk < FEWSHOT_MT_N - 1; kk++) {
            y = (r->mt[kk] & MT_UPPER_MASK) | (r->mt[kk + 1] & MT_LOWER_MASK);
            r->mt[kk] = r->mt[kk + (MT_M - FEWSHOT_MT_N)] ^ (y >> 1) ^ mag01[y & 1U];
        }
        y = (r->mt[FEWSHOT_MT_N - 1] & MT_UPPER_MASK) | (r->mt[0] & MT_LOWER_MASK);
        r->mt[FEWSHOT_MT_N - 1] = r->mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1U];
        r->mti = 0;
    }
    y = r->mt[r->mti++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

double fewshot_rng_random(struct fewshot_rng *r)
{
    uint32_t a = fewshot_rng_u32(r) >> 5, b = fewshot_rng_u32(r) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

uint32_t fewshot_rng_bits(struct fewshot_rng *r, int k)
{
    return fewshot_rng_u32(r) >> (32 - k);
}

uint32_t fewshot_rng_below(struct fewshot_rng *r, uint32_t n)
{
    int k = 0; /* n.bit_length() */
    for (uint32_t v = n; v; v >>= 1)
        k++;
    if (k == 0)
        return 0;
    uint32_t x = fewshot_rng_bits(r, k);
    while (x >= n)
        x = fewshot_rng_bits(r, k);
    return x;
}

int fewshot_sample(struct fewshot_rng *r, uint32_t n, uint32_t k, uint32_t *out,
                   struct assay_error *err)
{
    if (k > n)
        return err_set(err, ASSAY_EUSAGE, "cannot sample %u items from a pool of %u", k, n);
    /* CPython: setsize = 21, plus 4 ** ceil(log(3k, 4)) when k > 5; a list copy is used
     * when n <= setsize, a rejection set otherwise. */
    uint64_t setsize = 21;
    if (k > 5) {
        uint64_t p = 1;
        while (p < (uint64_t)k * 3) /* 4 ** ceil(log4(3k)) */
            p *= 4;
        setsize += p;
    }
    if (n <= setsize) {
        uint32_t *pool = malloc((size_t)n * sizeof(*pool) + 1);
        if (!pool)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++)
            pool[i] = i;
        for (uint32_t i = 0; i < k; i++) {
            uint32_t j = fewshot_rng_below(r, n - i);
            out[i] = pool[j];
            pool[j] = pool[n - i - 1];
        }
        free(pool);
        return 0;
    }
    for (uint32_t i = 0; i < k; i++) {
        uint32_t j;
        bool taken;
        do { /* redraw while j was already selected */
            j = fewshot_rng_below(r, n);
            taken = false;
            for (uint32_t t = 0; t < i; t++)
                taken = taken || out[t] == j;
        } while (taken);
        out[i] = j;
    }
    return 0;
}
