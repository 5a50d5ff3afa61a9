/*
 * cli/model.h - opening the model named by --model for a command: the local engine for
 * a GGUF file (remote servers are not supported yet), its fingerprint taken from the
 * store's cache or computed once and remembered, and its row in the models table.
 */
#ifndef ASSAY_CLI_MODEL_H
#define ASSAY_CLI_MODEL_H

#include <stdint.h>

#include "cli/cli.h"

struct backend;
struct store;

/* Option rows shared by the commands that run a model. */
#define CLI_OPT_MODEL                                                                            \
    {"model", 'm', CLI_OPT_STR, "M", NULL, "the checkpoint: a GGUF file or a Hugging Face directory"}
#define CLI_OPT_THREADS                                                                          \
    {"threads", 't', CLI_OPT_INT, "N", NULL, "kernel threads (default: the number of cores)"}
#define CLI_OPT_CTX                                                                              \
    {"ctx", 0, CLI_OPT_INT, "N", NULL,                                                           \
     "context length per sequence (default: the model's, at most 4096)"}

#define CLI_OPT_NO_PREFIX_CACHE                                                                  \
    {"no-prefix-cache", 0, CLI_OPT_FLAG, NULL, NULL,                                             \
     "recompute shared prompt prefixes for every request (to measure the cache; same scores)"}

/* Open --model. With a store, the fingerprint is looked up or computed and cached, and the
 * model row is written (*model_id_out, may be NULL). Without one, no fingerprint is
 * computed. */
int cli_backend_open(struct cli_ctx *ctx, const struct cli_args *a, struct store *s,
                     struct backend **out, int64_t *model_id_out);

/* What a command knows about its work that the defaults do not: n_ctx (used when --ctx is
 * not given; 0: the default) and n_seq (sequences decoded together by generate, each
 * with a KV cache of n_ctx positions; 0: the backend's default). */
struct cli_backend_hints {
    int32_t n_ctx;
    int32_t n_seq;
};
int cli_backend_open_hinted(struct cli_ctx *ctx, const struct cli_args *a, struct store *s,
                            const struct cli_backend_hints *h, struct backend **out,
                            int64_t *model_id_out);

#endif
