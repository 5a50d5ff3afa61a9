/*
 * engine/backend_req.h - the request rules every backend implementation shares (the
 * local transformer engine, engine/backend_local.c, and RecurrentGemma,
 * engine/backend_rg.c), so that both read requests exactly as lm-evaluation-harness
 * does: how a loglikelihood pair is tokenized, where generation stops, how much of two
 * inputs is shared.
 */
#ifndef ASSAY_ENGINE_BACKEND_REQ_H
#define ASSAY_ENGINE_BACKEND_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "engine/backend.h"

struct tok;

/* Encode text; with_bos puts the model's BOS first (exactly one). *ids is owned by the
 * caller. */
int bk_encode(const struct tok *t, const char *text, size_t len, bool with_bos, int32_t **ids,
              size_t *n, struct assay_error *err);
/* lm-eval's _encode_pair (ids given in the request are used as they are); on success
 * *full holds [BOS] ctx cont (owned) and *n_cont the continuation's length. */
int bk_encode_pair(const struct tok *t, const struct bk_ll_req *r, int32_t **full, size_t *n_full,
                   size_t *n_cont, struct assay_error *err);
/* Length of the common prefix of a and b. */
int32_t bk_common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb);
/* The earliest occurrence of any of r's stop strings in text (from `from` on), or -1. */
long bk_find_stop(const struct bk_gen_req *r, const char *text, size_t len, size_t from);

/* A request input as token ids: its own ids, each checked against [0, n_vocab), or its
 * text encoded (with the model's BOS first if with_bos). A problem of the request itself
 * (an id out of range, text that cannot be encoded) is returned in *req_error (an
 * ASSAY_* code, no ids); the return value is non-zero only for ENOMEM. */
int bk_input_ids(const struct tok *t, const struct bk_input *in, int64_t n_vocab, bool with_bos,
                 int32_t **ids, size_t *n, int *req_error, struct assay_error *err);

/* The next window of a rolling loglikelihood over toks[0, nt), as lm-eval's
 * get_rolling_token_windows (context_len 1) + make_disjoint_window: the first window
 * (predicted == first scored token: 0 with a BOS, else 1) is [BOS] + toks[:max_len]
 * predicting toks[:max_len]; later ones hold the max_len tokens before their end and
 * predict a disjoint span. Fills v (room for max_len + 1 ids) and returns its length;
 * *n_pred tokens at its end are predicted (0: nothing left). */
size_t bk_rolling_window(const int32_t *toks, size_t nt, int32_t bos, size_t max_len,
                         size_t predicted, int32_t *v, size_t *n_pred);

/* A generation request's prompt as a backend feeds it. The ids are the request's own or
 * its text encoded with BOS. lm-eval left-truncates the context to max_length -
 * max_gen_toks; with a generation budget close to the context length (HumanEval's 1024
 * on a 512-token model) that would leave almost no prompt, so the prompt keeps at least
 * half of n_ctx and generation stops with BK_FINISH_LENGTH when the context is full.
 * On return 0 either *done is false and *ids (owned, *n > 0 ids, the kept tail) is set
 * (and max_tokens > 0), or *done is true and out holds the request's whole result (an
 * error for a prompt that cannot be encoded, an empty one or one with ids outside
 * [0, n_vocab); an empty text when nothing can be generated). Fails only for ENOMEM. */
int bk_gen_prompt(const struct tok *t, const struct bk_gen_req *r, int32_t n_ctx, int64_t n_vocab,
                  int32_t **ids, size_t *n, struct bk_gen_res *out, bool *done,
                  struct assay_error *err);

#endif
