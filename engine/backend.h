/*
 * engine/backend.h - the backend interface: the only way evals, memorization and safety
 * reach a model (ARCHITECTURE.md, "Backend interface"). An eval never sees a tensor.
 *
 * Requests come in batches so that a backend can sort them, share prefixes and fill its
 * compute; results come back in request order. The local engine (backend_local.c) and
 * the remote HTTP backend implement the same operations and are held to the same tests.
 *
 * Semantics follow lm-evaluation-harness (../shared/docs/EVAL-NOTES.md section 1):
 *  - loglikelihood(context, continuation): trailing whitespace of the context moves to
 *    the front of the continuation; `context + continuation` is encoded as one string and
 *    the continuation tokens are what follows the encoding of `context` alone; BOS is put
 *    at position 0 exactly once when the model wants it (never a second one); an empty
 *    context becomes [BOS]. Returns the summed log-prob of the continuation tokens,
 *    whether each was the argmax, and the token count.
 *  - loglikelihood_rolling(text): log-prob of every token, in windows of the context
 *    length predicting disjoint spans, one BOS before the first window only.
 *  - generate(prompt, until, max_tokens, sampling, seed): the text is cut before the
 *    earliest stop string; EOS ends generation.
 *
 * Ownership: a backend is created by its constructor (backend_local_open, ...) and freed
 * with backend_free. Result structs own what they point to; free them with the matching
 * *_release. A failure of one request (too long for the context, say) is reported in
 * that result's `error` and does not fail the batch; the batch call fails only when the
 * backend itself does.
 */
#ifndef ASSAY_ENGINE_BACKEND_H
#define ASSAY_ENGINE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

/* ---- requests and results ------------------------------------------------------------ */

/* Text or token ids: when ids is non-NULL the text is ignored (memorization audits work on
 * pre-tokenized corpora). */
struct bk_input {
    const char *text;
    size_t len;
    const int32_t *ids;
    size_t n_ids;
};

struct bk_ll_req {
    struct bk_input context;      /* ids given: used as is (no BOS added) */
    struct bk_input continuation;
};

struct bk_ll_res {
    double logprob;   /* sum over the continuation tokens, natural log */
    bool is_greedy;   /* every continuation token was the argmax at its position */
    int32_t n_tokens; /* continuation tokens scored */
    int error;        /* 0, or an ASSAY_E* code for this request (e.g. ASSAY_ELIMIT) */
};

struct bk_rolling_req {
    struct bk_input text;
};

struct bk_rolling_res {
    double logprob;         /* sum */
    int32_t n_tokens;       /* tokens scored (the BOS is not scored) */
    double *token_logprobs; /* n_tokens values, owned */
    int error;
};

struct smp_params {
    float temperature; /* 0: greedy */
    int32_t top_k;     /* 0: off */
    float top_p;       /* 1: off */
    float min_p;       /* 0: off */
};

struct bk_gen_req {
    struct bk_input prompt;    /* ids given: used as is */
    const char *const *until;  /* stop strings; the text is cut before the earliest */
    int n_until;
    int32_t max_tokens;
    struct smp_params sampling;
    uint64_t seed;
    bool stop_at_eos; /* usually true; memorization decodes a fixed number of tokens */
    /* Optional streaming: called with each piece of final text as soon as it can no longer
     * be part of a stop string (so the pieces concatenate to exactly the result's text). */
    void (*on_text)(void *user, const char *text, size_t len);
    void *on_text_user;
};

enum bk_finish {
    BK_FINISH_LENGTH = 0, /* max_tokens reached */
    BK_FINISH_STOP = 1,   /* a stop string */
    BK_FINISH_EOS = 2,    /* end-of-sequence token */
    BK_FINISH_ERROR = 3,
};

/* "length", "stop", "eos" or "error": how stored samples name a finish reason. */
const char *bk_finish_name(int finish);

struct bk_gen_res {
    char *text;      /* NUL-terminated, owned; cut before the stop string */
    size_t len;
    int32_t *ids;    /* generated token ids (up to and including the one that completed a stop
                        string, or the EOS), owned */
    int32_t n_ids;
    int finish;      /* enum bk_finish */
    int error;
};

struct backend_info {
    char kind[16];          /* "local", "remote" */
    char architecture[32];  /* "gemma2" */
    char name[128];         /* general.name or file name */
    char quantization[32];  /* "Q4_K_M", "F16", "mixed" */
    char fingerprint[80];   /* "sha256:<hex>" of the content that determines outputs */
    char path[512];
    int64_t n_params;
    int64_t n_ctx;          /* the context length used */
    int64_t n_ctx_train;    /* from the checkpoint */
    int32_t n_vocab;
    int32_t bos_id, eos_id; /* -1 if none */
    bool add_bos;
    int64_t file_bytes;
};

/* ---- the interface ------------------------------------------------------------------- */

struct backend;

struct backend_ops {
    int (*loglikelihood)(struct backend *b, const struct bk_ll_req *reqs, size_t n,
                         struct bk_ll_res *res, const struct progress *prog,
                         struct assay_error *err);
    int (*loglikelihood_rolling)(struct backend *b, const struct bk_rolling_req *reqs, size_t n,
                                 struct bk_rolling_res *res, const struct progress *prog,
                                 struct assay_error *err);
    int (*generate)(struct backend *b, const struct bk_gen_req *reqs, size_t n,
                    struct bk_gen_res *res, const struct progress *prog,
                    struct assay_error *err);
    /* Encode text; flags: BK_TOK_ADD_BOS, BK_TOK_SPECIAL. *ids_out is owned by the caller. */
    int (*tokenize)(struct backend *b, const char *text, size_t len, unsigned flags,
                    int32_t **ids_out, size_t *n_out, struct assay_error *err);
    /* Decode ids; *text_out (NUL-terminated) is owned by the caller. */
    int (*detokenize)(struct backend *b, const int32_t *ids, size_t n, char **text_out,
                      size_t *len_out, struct assay_error *err);
    void (*info)(struct backend *b, struct backend_info *out);
    void (*free)(struct backend *b);
};

enum bk_tok_flags {
    BK_TOK_ADD_BOS = 1 << 0,
    BK_TOK_SPECIAL = 1 << 1, /* match control tokens such as <start_of_turn> in the text */
};

struct backend {
    const struct backend_ops *ops;
};

static inline int backend_loglikelihood(struct backend *b, const struct bk_ll_req *reqs,
                                        size_t n, struct bk_ll_res *res,
                                        const struct progress *prog, struct assay_error *err)
{
    return b->ops->loglikelihood(b, reqs, n, res, prog, err);
}

static inline int backend_loglikelihood_rolling(struct backend *b,
                                                const struct bk_rolling_req *reqs, size_t n,
                                                struct bk_rolling_res *res,
                                                const struct progress *prog,
                                                struct assay_error *err)
{
    return b->ops->loglikelihood_rolling(b, reqs, n, res, prog, err);
}

static inline int backend_generate(struct backend *b, const struct bk_gen_req *reqs, size_t n,
                                   struct bk_gen_res *res, const struct progress *prog,
                                   struct assay_error *err)
{
    return b->ops->generate(b, reqs, n, res, prog, err);
}

static inline int backend_tokenize(struct backend *b, const char *text, size_t len,
                                   unsigned flags, int32_t **ids_out, size_t *n_out,
                                   struct assay_error *err)
{
    return b->ops->tokenize(b, text, len, flags, ids_out, n_out, err);
}

static inline int backend_detokenize(struct backend *b, const int32_t *ids, size_t n,
                                     char **text_out, size_t *len_out, struct assay_error *err)
{
    return b->ops->detokenize(b, ids, n, text_out, len_out, err);
}

static inline void backend_info(struct backend *b, struct backend_info *out)
{
    b->ops->info(b, out);
}

/* Free a backend of any kind; NULL is a no-op. */
void backend_free(struct backend *b);

void bk_rolling_res_release(struct bk_rolling_res *r);
void bk_gen_res_release(struct bk_gen_res *r);

#endif
