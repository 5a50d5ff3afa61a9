/*
 * bench/bench_pii.c - throughput of the PII scanner (all detectors) over ~100 MB of mixed
 * text -- prose, C-like code and server logs, generated reproducibly from a fixed seed
 * with a few findings per 100 KB -- at 1 and 2 threads (or the counts given).
 *
 *   bench_pii [MB] [THREADS...]        e.g. bench_pii 100 1 2
 *
 * Prints MB/s per run (best of 3) and the findings, which must agree between thread
 * counts (a cheap check of the chunk-boundary contract on realistic text).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "safety/pii.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static const char *const words[] = {
    "the",     "of",      "and",        "to",       "in",         "a",        "is",     "that",
    "for",     "it",      "as",         "was",      "with",       "be",       "by",     "on",
    "not",     "he",      "this",       "are",      "or",         "his",      "from",   "at",
    "which",   "but",     "have",       "an",       "had",        "they",     "you",    "were",
    "their",   "one",     "all",        "we",       "can",        "her",      "has",    "there",
    "been",    "if",      "more",       "when",     "will",       "would",    "who",    "so",
    "no",      "model",   "evaluation", "token",    "key",        "password", "number", "card",
    "phone",   "address", "secret",     "market",   "second",     "people",   "during", "between",
    "example", "system",  "program",    "question", "government", "Monday",   "March",  "London",
    "Paris",   "Dr.",     "Mr.",        "name",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static const char *const idents[] = {
    "buf",         "len",          "ctx",    "err",    "rc",    "i",    "n",   "data", "config",
    "token_count", "api_key_name", "offset", "result", "value", "size", "tmp", "key",  "secret_id"};
#define N_IDENTS (sizeof(idents) / sizeof(idents[0]))

static size_t put(char *dst, size_t pos, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (pos + n > cap)
        n = cap - pos;
    memcpy(dst + pos, s, n);
    return pos + n;
}

static void generate(char *t, size_t cap)
{
    size_t pos = 0;
    char line[256];
    uint64_t n_line = 0;
    while (pos < cap) {
        int kind = (int)(n_line / 200 % 3); /* blocks of 200 lines of each kind */
        n_line++;
        if (kind == 0) { /* prose */
            int n = 8 + (int)(rnd() % 12);
            for (int w = 0; w < n; w++) {
                pos = put(t, pos, cap, words[rnd() % N_WORDS]);
                if (rnd() % 40 == 0) {
                    snprintf(line, sizeof(line), " %u", (unsigned)(rnd() % 3000));
                    pos = put(t, pos, cap, line);
                }
                pos = put(t, pos, cap, w + 1 < n ? " " : ".\n");
            }
        } else if (kind == 1) { /* code */
            snprintf(line, sizeof(line), "    %s = %s(%s, %u) + %s->%s[%u]; // %s %s\n",
                     idents[rnd() % N_IDENTS], idents[rnd() % N_IDENTS], idents[rnd() % N_IDENTS],
                     (unsigned)(rnd() % 100000), idents[rnd() % N_IDENTS], idents[rnd() % N_IDENTS],
                     (unsigned)(rnd() % 64), words[rnd() % N_WORDS], words[rnd() % N_WORDS]);
            pos = put(t, pos, cap, line);
        } else { /* logs */
            snprintf(line, sizeof(line),
                     "2024-%02u-%02uT%02u:%02u:%02u.%03uZ INFO [worker-%u] request %016llx "
                     "served in %u ms status=%u bytes=%u\n",
                     (unsigned)(rnd() % 12 + 1), (unsigned)(rnd() % 28 + 1), (unsigned)(rnd() % 24),
                     (unsigned)(rnd() % 60), (unsigned)(rnd() % 60), (unsigned)(rnd() % 1000),
                     (unsigned)(rnd() % 16), (unsigned long long)rnd(), (unsigned)(rnd() % 900),
                     rnd() % 10 ? 200u : 404u, (unsigned)(rnd() % 100000));
            pos = put(t, pos, cap, line);
        }
        if (n_line % 1000 == 0) { /* a few findings: one email and one IPv4 per 1000 lines */
            snprintf(line, sizeof(line), "contact user%u@example.org from 10.%u.%u.%u\n",
                     (unsigned)(rnd() % 100000), (unsigned)(rnd() % 250 + 1),
                     (unsigned)(rnd() % 250), (unsigned)(rnd() % 250 + 1));
            pos = put(t, pos, cap, line);
        }
    }
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    if (mb == 0 || mb > 100000)
        mb = 100;
    int threads[8] = {1, 2};
    int n_threads = 2;
    if (argc > 2) {
        n_threads = 0;
        for (int i = 2; i < argc && n_threads < 8; i++) {
            long t = strtol(argv[i], NULL, 10);
            threads[n_threads++] = t > 0 && t <= 256 ? (int)t : 1;
        }
    }
    size_t len = mb << 20;
    char *text = malloc(len);
    if (!text) {
        fprintf(stderr, "bench_pii: out of memory\n");
        return 1;
    }
    generate(text, len);
    printf("pii scan over %zu MiB of generated prose / code / logs, all detectors\n", mb);
    uint64_t first_n = 0;
    int status = 0;
    for (int k = 0; k < n_threads; k++) {
        struct pii_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.n_threads = threads[k];
        struct pii_scanner *sc = NULL;
        struct assay_error err;
        err_clear(&err);
        if (pii_scanner_new(&sc, &cfg, &err)) {
            fprintf(stderr, "bench_pii: %s\n", err.msg);
            return 1;
        }
        double best = 1e30;
        uint64_t n_found = 0, n_cand = 0;
        for (int rep = 0; rep < 3; rep++) {
            struct pii_findings f;
            pii_findings_init(&f, 0);
            struct pii_stats st;
            memset(&st, 0, sizeof(st));
            double t0 = clock_now_s();
            if (pii_scan_text(sc, text, len, &f, &st, &err)) {
                fprintf(stderr, "bench_pii: %s\n", err.msg);
                return 1;
            }
            double dt = clock_now_s() - t0;
            if (dt < best)
                best = dt;
            n_found = f.n;
            n_cand = st.n_candidates;
            pii_findings_release(&f);
        }
        printf("threads %d: %8.1f MB/s  (%.3f s, best of 3; %llu findings, %llu pattern "
               "matches tried)\n",
               threads[k], (double)len / 1e6 / best, best, (unsigned long long)n_found,
               (unsigned long long)n_cand);
        if (k == 0)
            first_n = n_found;
        else if (n_found != first_n) {
            printf("MISMATCH: %llu findings with %d threads, %llu with %d\n",
                   (unsigned long long)n_found, threads[k], (unsigned long long)first_n,
                   threads[0]);
            status = 1;
        }
        pii_scanner_free(sc);
    }
    free(text);
    return status;
}
