/*
 * bench/bench_tok.c - single-thread encoding throughput of the SentencePiece tokenizer.
 *
 *   bench_tok MODEL.model FILE...
 *
 * Each line of a FILE is one document; for .jsonl files the document is the line's
 * string values joined by newlines (so BoolQ passages, GSM8K problems, MBPP code are
 * encoded as text, not as JSON). One tok_encode_scratch call per document, as the
 * sentencepiece anchor in fixtures/tokenizer/README-golden.md measured it; prints the
 * best of 3 passes in MB/s and tokens/s of wall time, and MB/s of thread CPU time (the
 * steadier number on a shared machine).
 *
 * Not part of the build; compile by hand against a built library, e.g.
 *   cc -O3 -D_GNU_SOURCE -I. -Ibuild/gen bench/bench_tok.c build/libassay.a \
 *      -ljansson -lcrypto -lsqlite3 -fopenmp -lm -o bench_tok
 */
#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/file.h"
#include "engine/tok.h"

#include <jansson.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CPU time of this thread: on a shared machine wall time also counts the waits. */
static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct doc {
    size_t off, len;
};

static void add_strings(struct buf *b, json_t *v)
{
    if (json_is_string(v)) {
        if (b->len)
            buf_add_ch(b, '\n');
        buf_add(b, json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) add_strings(b, x);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) add_strings(b, x);
    }
}

int main(int argc, char **argv)
{
    struct assay_error err;
    struct tok *t = NULL;
    struct buf all, one;
    struct doc *docs = NULL;
    size_t n_docs = 0, cap = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_tok MODEL.model FILE...\n");
        return 2;
    }
    err_clear(&err);
    if (tok_open_spm(&t, argv[1], &err)) {
        char msg[1024];
        err_format(&err, msg, sizeof(msg));
        fprintf(stderr, "bench_tok: %s\n", msg);
        return 1;
    }
    buf_init(&all, 0);
    buf_init(&one, 0);
    for (int f = 2; f < argc; f++) {
        char *data = NULL;
        size_t len = 0;
        if (file_read_all(&data, &len, argv[f], (size_t)1 << 30, &err)) {
            fprintf(stderr, "bench_tok: cannot read %s\n", argv[f]);
            return 1;
        }
        bool jsonl = strstr(argv[f], ".jsonl") != NULL;
        for (char *line = data; line < data + len;) {
            char *nl = memchr(line, '\n', (size_t)(data + len - line));
            size_t ll = nl ? (size_t)(nl - line) : (size_t)(data + len - line);
            const char *text = line;
            size_t tl = ll;
            if (jsonl && ll) {
                json_error_t je;
                json_t *o = json_loadb(line, ll, 0, &je);
                buf_reset(&one);
                if (o)
                    add_strings(&one, o);
                json_decref(o);
                text = one.data ? one.data : "";
                tl = one.len;
            }
            if (tl) {
                if (n_docs == cap) {
                    cap = cap ? cap * 2 : 1024;
                    docs = realloc(docs, cap * sizeof(*docs));
                }
                docs[n_docs].off = all.len;
                docs[n_docs].len = tl;
                n_docs++;
                buf_add(&all, text, tl);
            }
            line += ll + 1;
        }
        free(data);
    }

    struct tok_scratch *sc = NULL;
    tok_scratch_new(&sc, &err);
    double best = 1e30, best_cpu = 1e30;
    size_t tokens = 0;
    for (int pass = 0; pass < 3; pass++) {
        size_t nt = 0;
        double t0 = clock_now_s(), c0 = cpu_now_s();
        for (size_t i = 0; i < n_docs; i++) {
            const int32_t *ids;
            size_t n;
            if (tok_encode_scratch(t, sc, all.data + docs[i].off, docs[i].len, 0, &ids, &n, &err)) {
                fprintf(stderr, "bench_tok: encode failed: %s\n", err.msg);
                return 1;
            }
            nt += n;
        }
        double dt = clock_now_s() - t0, dc = cpu_now_s() - c0;
        if (dt < best)
            best = dt;
        if (dc < best_cpu)
            best_cpu = dc;
        tokens = nt;
    }
    printf("%s: %zu documents, %.2f MB, %zu tokens: %.2f MB/s, %.2f M tokens/s wall; "
           "%.2f MB/s cpu (best of 3)\n",
           argv[1], n_docs, all.len / 1e6, tokens, all.len / best / 1e6, tokens / best / 1e6,
           all.len / best_cpu / 1e6);
    tok_scratch_free(sc);
    tok_free(t);
    buf_release(&all);
    buf_release(&one);
    free(docs);
    return 0;
}
