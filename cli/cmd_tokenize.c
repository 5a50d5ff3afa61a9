/*
 * cli/cmd_tokenize.c - `assay tokenize`: text to token ids (and back) with a model's
 * tokenizer or a SentencePiece .model file, for one string or a JSONL file.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "engine/ckpt_src.h"
#include "engine/tok.h"

const struct cli_opt cmd_tokenize_opts[] = {
    {"model", 'm', CLI_OPT_STR, "M", NULL, "take the tokenizer from this GGUF checkpoint"},
    {"tokenizer", 0, CLI_OPT_STR, "FILE", NULL, "a SentencePiece tokenizer.model file"},
    {"text", 0, CLI_OPT_STR, "S", NULL, "the text to encode"},
    {"jsonl", 0, CLI_OPT_STR, "FILE", NULL,
     "encode each line's {\"text\": ...}, writing {\"ids\": [...]} per line ('-': stdin)"},
    {"decode", 0, CLI_OPT_STR, "IDS", NULL, "decode comma-separated token ids instead"},
    {"bos", 0, CLI_OPT_FLAG, NULL, NULL, "prepend the model's BOS token (as models are fed)"},
    {"special", 0, CLI_OPT_FLAG, NULL, NULL,
     "match control tokens such as <start_of_turn> written in the text"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int open_tok(struct cli_ctx *ctx, const struct cli_args *a, struct tok **t)
{
    const char *model = cli_get(a, "model"), *file = cli_get(a, "tokenizer");
    if (!!model == !!file)
        return err_set(&ctx->err, ASSAY_EUSAGE, "give exactly one of --model and --tokenizer");
    if (file)
        return tok_open_spm(t, file, &ctx->err);
    struct ckpt_src src;
    int rc = ckpt_src_open(&src, model, &ctx->err);
    if (rc)
        return rc;
    rc = tok_new_from_gguf(t, ckpt_src_meta(&src), &ctx->err);
    if (rc)
        err_set_path(&ctx->err, model);
    ckpt_src_close(&src);
    return rc;
}

static void print_ids_json(FILE *f, const int32_t *ids, size_t n)
{
    fputs("{\"ids\": [", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ", %d" : "%d", ids[i]);
    fputs("]}\n", f);
}

static int encode_jsonl(struct cli_ctx *ctx, struct tok *t, const char *path, unsigned flags)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return err_set_at(&ctx->err, errno == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO, path, 0,
                          "cannot open: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        json_t *o = NULL;
        rc = jsn_load_buf(&o, line, (size_t)len, path, lineno, &ctx->err);
        if (rc)
            break;
        json_t *text = json_object_get(o, "text");
        if (!json_is_string(text)) {
            json_decref(o);
            rc = err_set_at(&ctx->err, ASSAY_EINVAL, path, lineno,
                            "expected an object with a string field \"text\"");
            break;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        rc = tok_encode(t, json_string_value(text), json_string_length(text), flags, &ids, &n,
                        &ctx->err);
        json_decref(o);
        if (rc) {
            err_set_path(&ctx->err, path);
            break;
        }
        print_ids_json(stdout, ids, n);
        free(ids);
    }
    free(line);
    if (!rc && ferror(f))
        rc = err_set_at(&ctx->err, ASSAY_EIO, path, lineno, "read failed");
    if (f != stdin)
        fclose(f);
    return rc;
}

static int decode_ids(struct cli_ctx *ctx, struct tok *t, const char *list)
{
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = cli_parse_ids(list, "--decode", (int64_t)tok_n_vocab(t), &ids, &n, &ctx->err);
    if (rc)
        return rc;
    char *text = NULL;
    size_t len = 0;
    rc = tok_decode(t, ids, n, 0, &text, &len, &ctx->err);
    if (rc)
        goto out;
    if (ctx->json) {
        json_t *o = json_pack("{s:s%}", "text", text, len);
        json_dumpf(o, stdout, JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        fwrite(text, 1, len, stdout);
        fputc('\n', stdout);
    }
    free(text);
out:
    free(ids);
    return rc;
}

int cmd_tokenize(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *text = cli_get(a, "text"), *jsonl = cli_get(a, "jsonl"),
               *dec = cli_get(a, "decode");
    if ((text != NULL) + (jsonl != NULL) + (dec != NULL) != 1)
        return err_set(&ctx->err, ASSAY_EUSAGE, "give exactly one of --text, --jsonl and --decode");
    struct tok *t = NULL;
    int rc = open_tok(ctx, a, &t);
    if (rc)
        return rc;
    unsigned flags = (cli_flag(a, "bos") ? TOK_ENCODE_BOS : 0) |
                     (cli_flag(a, "special") ? TOK_ENCODE_SPECIAL : 0);
    if (jsonl) {
        rc = encode_jsonl(ctx, t, jsonl, flags);
    } else if (dec) {
        rc = decode_ids(ctx, t, dec);
    } else {
        int32_t *ids = NULL;
        size_t n = 0;
        rc = tok_encode(t, text, strlen(text), flags, &ids, &n, &ctx->err);
        if (!rc) {
            if (ctx->json) {
                json_t *o = json_object(), *ji = json_array(), *jp = json_array();
                for (size_t i = 0; i < n; i++) {
                    size_t pl = 0;
                    const char *piece = tok_piece(t, ids[i], &pl);
                    json_array_append_new(ji, json_integer(ids[i]));
                    json_array_append_new(jp, json_stringn(piece ? piece : "", pl));
                }
                json_object_set_new(o, "ids", ji);
                json_object_set_new(o, "pieces", jp);
                json_dumpf(o, stdout, JSON_ENSURE_ASCII);
                fputc('\n', stdout);
                json_decref(o);
            } else {
                for (size_t i = 0; i < n; i++) {
                    size_t pl = 0;
                    const char *piece = tok_piece(t, ids[i], &pl);
                    printf("%6d  %.*s\n", ids[i], (int)pl, piece ? piece : "");
                }
            }
            free(ids);
        }
    }
    tok_free(t);
    return rc;
}
