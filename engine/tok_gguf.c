/*
 * engine/tok_gguf.c - build a SentencePiece tokenizer from GGUF metadata
 * (tokenizer.ggml.model "llama", as llama.cpp's converter writes it for Gemma, Llama 2,
 * Mistral).
 *
 * Keys read: tokenizer.ggml.tokens (required), .scores, .token_type (llama.cpp's enum,
 * the same numbers as sentencepiece's), .bos_token_id, .eos_token_id,
 * .unknown_token_id, .padding_token_id, .add_bos_token, .add_eos_token,
 * .add_space_prefix (default true, as llama.cpp assumes for this tokenizer),
 * .remove_extra_whitespaces (default false). Byte fallback is on when there are BYTE
 * pieces (GGUF has no key for it).
 *
 * What a GGUF cannot say, compared with the tokenizer.model it came from: llama.cpp's
 * converter writes pieces listed as added tokens (Gemma's <start_of_turn>, <mask>...)
 * as CONTROL and may write <unk> as CONTROL and user-defined pieces as NORMAL. The
 * types are taken as written, so such pieces are matched in text only with
 * TOK_ENCODE_SPECIAL and decode to nothing; <unk> is recognised by unknown_token_id (or
 * the piece "<unk>") when no piece has the UNKNOWN type. Everything else encodes as the
 * .model would.
 *
 * Nothing is kept from the gguf: the pieces are copied by tok_new_from_vocab.
 */
#include "engine/tok.h"

#include "base/error.h"
#include "base/mem.h"
#include "engine/gguf.h"

#include <stdlib.h>
#include <string.h>

#define KEY_MODEL  "tokenizer.ggml.model"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TYPES  "tokenizer.ggml.token_type"

/* An optional special id: -1 when absent; ASSAY_EINVAL when present but not an id. */
static int opt_id(const struct gguf *g, const char *key, size_t n, int32_t *out,
                  struct assay_error *err)
{
    *out = -1;
    if (!gguf_find_kv(g, key))
        return 0;
    int64_t v;
    int rc = gguf_get_i64(g, key, &v, err);
    if (rc)
        return rc;
    if (v < 0 || (uint64_t)v >= n)
        return err_set(err, ASSAY_EINVAL, "%s: '%s' = %lld is not a token id (vocab %zu)",
                       gguf_path(g), key, (long long)v, n);
    *out = (int32_t)v;
    return 0;
}

static int opt_bool(const struct gguf *g, const char *key, bool def, bool *out,
                    struct assay_error *err)
{
    *out = def;
    if (!gguf_find_kv(g, key))
        return 0;
    return gguf_get_bool(g, key, out, err);
}

int tok_new_from_gguf(struct tok **out, const struct gguf *g, struct assay_error *err)
{
    const char **pieces = NULL;
    size_t *lens = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    const struct gguf_kv *kv_tok = NULL, *kv_sc = NULL, *kv_ty = NULL;
    const char *path = gguf_path(g);
    int rc = 0;

    *out = NULL;
    const char *model;
    size_t model_len;
    if ((rc = gguf_get_str(g, KEY_MODEL, &model, &model_len, err)))
        return rc;
    if (model_len != 5 || memcmp(model, "llama", 5) != 0)
        return err_set(err, ASSAY_EUNSUPPORTED,
                       "%s: tokenizer '%.*s' is not a sentencepiece (\"llama\") tokenizer", path,
                       (int)(model_len > 40 ? 40 : model_len), model);

    int et;
    uint64_t n64;
    if ((rc = gguf_get_arr(g, KEY_TOKENS, &et, &n64, &kv_tok, err)))
        return rc;
    if (et != GGUF_TYPE_STRING)
        return err_set(err, ASSAY_EINVAL, "%s: '%s' is an array of %s, expected STRING", path,
                       KEY_TOKENS, gguf_type_name(et));
    if (n64 == 0 || n64 > TOK_MAX_VOCAB)
        return err_set(err, n64 ? ASSAY_ELIMIT : ASSAY_EINVAL, "%s: '%s' has %llu tokens", path,
                       KEY_TOKENS, (unsigned long long)n64);
    size_t n = (size_t)n64;
    if (gguf_find_kv(g, KEY_SCORES)) {
        uint64_t m;
        if ((rc = gguf_get_arr(g, KEY_SCORES, &et, &m, &kv_sc, err)))
            return rc;
        if (m != n64)
            return err_set(err, ASSAY_EINVAL, "%s: '%s' has %llu entries, '%s' has %zu", path,
                           KEY_SCORES, (unsigned long long)m, KEY_TOKENS, n);
    }
    if (gguf_find_kv(g, KEY_TYPES)) {
        uint64_t m;
        if ((rc = gguf_get_arr(g, KEY_TYPES, &et, &m, &kv_ty, err)))
            return rc;
        if (m != n64)
            return err_set(err, ASSAY_EINVAL, "%s: '%s' has %llu entries, '%s' has %zu", path,
                           KEY_TYPES, (unsigned long long)m, KEY_TOKENS, n);
    }

    pieces = mem_alloc_array(n, sizeof(*pieces));
    lens = mem_alloc_array(n, sizeof(*lens));
    scores = kv_sc ? mem_alloc_array(n, sizeof(*scores)) : NULL;
    types = mem_alloc_array(n, sizeof(*types));
    if (!pieces || !lens || !types || (kv_sc && !scores)) {
        rc = err_set(err, ASSAY_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    bool has_unknown = false;
    for (size_t i = 0; i < n; i++) {
        if ((rc = gguf_arr_str(g, kv_tok, i, &pieces[i], &lens[i], err)))
            goto out;
        if (kv_sc && (rc = gguf_arr_f32(g, kv_sc, i, &scores[i], err)))
            goto out;
        types[i] = TOK_PIECE_NORMAL;
        if (kv_ty && (rc = gguf_arr_i32(g, kv_ty, i, &types[i], err)))
            goto out;
        has_unknown |= types[i] == TOK_PIECE_UNKNOWN;
    }

    struct tok_vocab_desc d;
    tok_vocab_desc_init(&d);
    d.name = path;
    d.n_vocab = n;
    d.pieces = pieces;
    d.piece_lens = lens;
    d.scores = scores;
    d.types = types;
    if ((rc = opt_id(g, "tokenizer.ggml.bos_token_id", n, &d.bos_id, err)) ||
        (rc = opt_id(g, "tokenizer.ggml.eos_token_id", n, &d.eos_id, err)) ||
        (rc = opt_id(g, "tokenizer.ggml.unknown_token_id", n, &d.unk_id, err)) ||
        (rc = opt_id(g, "tokenizer.ggml.padding_token_id", n, &d.pad_id, err)) ||
        (rc = opt_bool(g, "tokenizer.ggml.add_bos_token", true, &d.add_bos, err)) ||
        (rc = opt_bool(g, "tokenizer.ggml.add_eos_token", false, &d.add_eos, err)) ||
        (rc = opt_bool(g, "tokenizer.ggml.add_space_prefix", true, &d.add_dummy_prefix, err)) ||
        (rc = opt_bool(g, "tokenizer.ggml.remove_extra_whitespaces", false,
                       &d.remove_extra_whitespaces, err)))
        goto out;
    if (!has_unknown) {
        /* The converter may write <unk> as CONTROL: sentencepiece needs one UNKNOWN piece. */
        int32_t unk = d.unk_id;
        for (size_t i = 0; unk < 0 && i < n; i++) {
            if (lens[i] == 5 && memcmp(pieces[i], "<unk>", 5) == 0)
                unk = (int32_t)i;
        }
        if (unk < 0) {
            rc = err_set(err, ASSAY_EINVAL, "%s: no unknown token (no UNKNOWN piece, no '%s')",
                         path, "tokenizer.ggml.unknown_token_id");
            goto out;
        }
        if (types[unk] != TOK_PIECE_CONTROL && types[unk] != TOK_PIECE_UNKNOWN) {
            rc = err_set(err, ASSAY_EINVAL, "%s: unknown token %d has type %d, not CONTROL", path,
                         (int)unk, (int)types[unk]);
            goto out;
        }
        types[unk] = TOK_PIECE_UNKNOWN;
        d.unk_id = unk;
    }
    rc = tok_new_from_vocab(out, &d, err);
out:
    free(pieces);
    free(lens);
    free(scores);
    free(types);
    return rc;
}
