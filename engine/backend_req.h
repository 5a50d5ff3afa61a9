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

#endif
