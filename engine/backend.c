/*
 * engine/backend.c - what every backend shares: freeing it and its results.
 */
#include "engine/backend.h"

#include <stdlib.h>

void backend_free(struct backend *b)
{
    if (b)
        b->ops->free(b);
}

void bk_rolling_res_release(struct bk_rolling_res *r)
{
    free(r->token_logprobs);
    r->token_logprobs = NULL;
}

void bk_gen_res_release(struct bk_gen_res *r)
{
    free(r->text);
    free(r->ids);
    r->text = NULL;
    r->ids = NULL;
}

const char *bk_finish_name(int finish)
{
    switch (finish) {
    case BK_FINISH_LENGTH:
        return "length";
    case BK_FINISH_STOP:
        return "stop";
    case BK_FINISH_EOS:
        return "eos";
    default:
        return "error";
    }
}
