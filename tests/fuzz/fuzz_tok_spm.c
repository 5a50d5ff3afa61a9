/*
 * tests/fuzz/fuzz_tok_spm.c - libFuzzer target for the SentencePiece .model reader: parse
 * the input with tok_open_spm_mem and, when it loads, exercise the tokenizer it built:
 * encode a few texts (fixed ones and the input's own tail, with every flag), check that
 * the chunked and one-list encodings agree, decode the ids in one go and streamed, and
 * touch every piece through the accessors.
 * Crashes become cases in tests/engine/test_tok.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "engine/tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct tok *t, struct tok_scratch *sc, const char *text, size_t len)
{
    struct assay_error err;
    static const unsigned flag_sets[] = {0, TOK_ENCODE_SPECIAL,
                                         TOK_ENCODE_BOS | TOK_ENCODE_EOS | TOK_ENCODE_SPECIAL};
    for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
        const int32_t *ids;
        size_t n, n1;
        err_clear(&err);
        if (tok_encode_scratch(t, sc, text, len, flag_sets[f], &ids, &n, &err))
            continue; /* no BOS/EOS in this vocabulary */
        int32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
        if (!copy)
            return;
        memcpy(copy, ids, n * sizeof(*copy));
        if (tok_encode_scratch(t, sc, text, len, flag_sets[f] | TOK_ENCODE_ONE_LIST, &ids, &n1,
                               &err) == 0) {
            if (n1 != n || memcmp(ids, copy, n * sizeof(*copy)) != 0)
                abort(); /* the two merge drivers must agree */
        }
        char *out = NULL;
        size_t ol = 0;
        if (tok_decode(t, copy, n, 0, &out, &ol, &err) == 0) {
            struct buf b;
            struct tok_stream st;
            buf_init(&b, 0);
            tok_stream_init(&st, 0);
            for (size_t i = 0; i < n; i++)
                (void)tok_stream_push(t, &st, copy[i], &b, &err);
            (void)tok_stream_finish(t, &st, &b, &err);
            if (b.len != ol || (ol && memcmp(b.data, out, ol) != 0))
                abort(); /* streaming must equal batch decoding */
            buf_release(&b);
            free(out);
        }
        free(copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tok *t = NULL;
    struct assay_error err;
    err_clear(&err);
    if (tok_open_spm_mem(&t, data, size, "fuzz.model", &err) != 0)
        return 0;
    size_t nv = tok_n_vocab(t);
    for (size_t i = 0; i < nv; i++) {
        size_t len;
        const char *p = tok_piece(t, (int32_t)i, &len);
        if (!p || len == 0 || tok_find_piece(t, p, len) < 0)
            abort(); /* every piece can be found again */
        (void)tok_piece_type(t, (int32_t)i);
        (void)tok_piece_score(t, (int32_t)i);
    }
    struct tok_scratch *sc = NULL;
    if (tok_scratch_new(&sc, &err) == 0) {
        static const char fixed[] = "Hello  world\n\n<start_of_turn>user\t\xE2\x96\x81 12\xFF";
        exercise(t, sc, fixed, sizeof(fixed) - 1);
        size_t tail = size < 64 ? size : 64;
        exercise(t, sc, (const char *)data + size - tail, tail);
        tok_scratch_free(sc);
    }
    tok_free(t);
    return 0;
}
