/*
 * tests/engine/test_tok.c - the SentencePiece BPE tokenizer against the official
 * library's golden encodings (../shared/fixtures/tokenizer/{tiny,wide}-golden.jsonl),
 * through every way of building a tok (.model file, arrays, GGUF), plus hand-built
 * vocabularies for the paths the goldens do not reach and corrupt .model files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/file.h"
#include "engine/gguf.h"
#include "engine/tok.h"

#include <jansson.h>

#define TINY_MODEL  "fixtures/tokenizer/tiny-spm.model"
#define WIDE_MODEL  "fixtures/tokenizer/wide-spm.model"
#define TINY_GOLDEN "fixtures/tokenizer/tiny-golden.jsonl"
#define WIDE_GOLDEN "fixtures/tokenizer/wide-golden.jsonl"
#define GEMMA_GGUF  "fixtures/models/gemma-tiny/gemma-tiny-F16.gguf"

/* ---- golden cases ------------------------------------------------------------------- */

struct golden {
    long n;
    char *text;
    size_t text_len;
    int32_t *ids;
    size_t n_ids;
    char **pieces;
    size_t *piece_lens;
    char *decoded; /* expected DecodeIds output */
    size_t decoded_len;
};

struct golden_set {
    struct golden *g;
    size_t n;
};

static char *dup_json_str(json_t *s, size_t *len)
{
    size_t n = json_string_length(s);
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, json_string_value(s), n);
    p[n] = '\0';
    *len = n;
    return p;
}

static void golden_load(struct golden_set *gs, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(file_read_all(&data, &len, path, 64u << 20, &err), 0);
    memset(gs, 0, sizeof(*gs));
    size_t cap = 0;
    char *line = data;
    while (line < data + len) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(data + len - line);
        if (ll > 0) {
            json_error_t je;
            json_t *o = json_loadb(line, ll, JSON_ALLOW_NUL, &je);
            if (!o)
                fail_msg("%s: %s", path, je.text);
            if (gs->n == cap) {
                cap = cap ? cap * 2 : 256;
                gs->g = realloc(gs->g, cap * sizeof(*gs->g));
                assert_non_null(gs->g);
            }
            struct golden *g = &gs->g[gs->n++];
            memset(g, 0, sizeof(*g));
            g->n = (long)json_integer_value(json_object_get(o, "n"));
            g->text = dup_json_str(json_object_get(o, "text"), &g->text_len);
            json_t *ids = json_object_get(o, "ids");
            json_t *pieces = json_object_get(o, "pieces");
            g->n_ids = json_array_size(ids);
            assert_int_equal(json_array_size(pieces), g->n_ids);
            g->ids = calloc(g->n_ids + 1, sizeof(*g->ids));
            g->pieces = calloc(g->n_ids + 1, sizeof(*g->pieces));
            g->piece_lens = calloc(g->n_ids + 1, sizeof(*g->piece_lens));
            for (size_t i = 0; i < g->n_ids; i++) {
                g->ids[i] = (int32_t)json_integer_value(json_array_get(ids, i));
                g->pieces[i] = dup_json_str(json_array_get(pieces, i), &g->piece_lens[i]);
            }
            json_t *ok = json_object_get(o, "decode_ok");
            if (json_is_true(ok))
                g->decoded = dup_json_str(json_object_get(o, "text"), &g->decoded_len);
            else
                g->decoded = dup_json_str(json_object_get(o, "decoded"), &g->decoded_len);
            json_decref(o);
        }
        line += ll + 1;
    }
    free(data);
}

static void golden_free(struct golden_set *gs)
{
    for (size_t i = 0; i < gs->n; i++) {
        struct golden *g = &gs->g[i];
        free(g->text);
        free(g->ids);
        for (size_t j = 0; j < g->n_ids; j++)
            free(g->pieces[j]);
        free(g->pieces);
        free(g->piece_lens);
        free(g->decoded);
    }
    free(gs->g);
}

/* Print a string with non-printable bytes escaped, cut at 300 bytes. */
static void show(const char *label, const char *s, size_t n)
{
    fprintf(stderr, "    %s: \"", label);
    for (size_t i = 0; i < n && i < 300; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fprintf(stderr, "\\n");
        else if (c == '\t')
            fprintf(stderr, "\\t");
        else if (c < 0x20 || c == 0x7F)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fprintf(stderr, "%s\"\n", n > 300 ? "..." : "");
}

static void show_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "    %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 60; i++)
        fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, "%s\n", n > 60 ? " ..." : "");
}

/*
 * Encode and decode every golden line with t; count mismatches and print the first few
 * with input, expected and actual output. Also checks the pieces, streaming decode, and
 * that BOS/EOS flags only add the ids.
 */
/* True when a line touches a piece that is CONTROL in one of t, ref and not in the other
 * (what a GGUF converter changes): such lines cannot agree and are skipped. */
static bool touches_retyped(const struct tok *t, const struct tok *ref, const struct golden *g)
{
    size_t n = tok_n_vocab(t);
    for (size_t i = 0; i < n; i++) {
        int a = tok_piece_type(t, (int32_t)i), b = tok_piece_type(ref, (int32_t)i);
        if (a == b || (a != TOK_PIECE_CONTROL && b != TOK_PIECE_CONTROL))
            continue;
        size_t pl;
        const char *p = tok_piece(t, (int32_t)i, &pl);
        if (memmem(g->text, g->text_len, p, pl))
            return true;
        for (size_t j = 0; j < g->n_ids; j++) {
            if (g->ids[j] == (int32_t)i)
                return true;
        }
    }
    return false;
}

static size_t run_goldens_ref(const struct tok *t, const struct tok *ref,
                              const struct golden_set *gs, const char *what);

static size_t run_goldens(const struct tok *t, const struct golden_set *gs, const char *what)
{
    return run_goldens_ref(t, NULL, gs, what);
}

static size_t run_goldens_ref(const struct tok *t, const struct tok *ref,
                              const struct golden_set *gs, const char *what)
{
    size_t bad = 0, shown = 0, skipped = 0;
    struct tok_scratch *sc = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(tok_scratch_new(&sc, &err), 0);
    for (size_t i = 0; i < gs->n; i++) {
        const struct golden *g = &gs->g[i];
        const int32_t *ids;
        size_t n;
        err_clear(&err);
        if (ref && touches_retyped(t, ref, g)) {
            skipped++;
            continue;
        }
        int rc = tok_encode_scratch(t, sc, g->text, g->text_len, 0, &ids, &n, &err);
        bool ok = rc == 0 && n == g->n_ids && memcmp(ids, g->ids, n * sizeof(*ids)) == 0;
        if (ok) { /* the literal one-list merge loop agrees */
            const int32_t *ids1;
            size_t n1;
            rc = tok_encode_scratch(t, sc, g->text, g->text_len, TOK_ENCODE_ONE_LIST, &ids1, &n1,
                                    &err);
            ok = rc == 0 && n1 == g->n_ids && memcmp(ids1, g->ids, n1 * sizeof(*ids1)) == 0;
            if (ok)
                rc = tok_encode_scratch(t, sc, g->text, g->text_len, 0, &ids, &n, &err);
        }
        if (ok) {
            for (size_t j = 0; j < n; j++) {
                size_t pl;
                const char *p = tok_piece(t, ids[j], &pl);
                if (!p || pl != g->piece_lens[j] || memcmp(p, g->pieces[j], pl) != 0)
                    ok = false;
            }
        }
        if (!ok) {
            bad++;
            if (shown++ < 5) {
                fprintf(stderr, "%s: encode mismatch at line n=%ld (rc %d %s)\n", what, g->n, rc,
                        err.msg);
                show("input", g->text, g->text_len);
                show_ids("expected", g->ids, g->n_ids);
                show_ids("got     ", ids, rc ? 0 : n);
            }
            continue;
        }
        /* decode the golden ids */
        char *text = NULL;
        size_t tl = 0;
        rc = tok_decode(t, g->ids, g->n_ids, 0, &text, &tl, &err);
        if (rc || tl != g->decoded_len || memcmp(text, g->decoded, tl) != 0) {
            bad++;
            if (shown++ < 5) {
                fprintf(stderr, "%s: decode mismatch at line n=%ld (rc %d)\n", what, g->n, rc);
                show_ids("ids", g->ids, g->n_ids);
                show("expected", g->decoded, g->decoded_len);
                show("got     ", text ? text : "", text ? tl : 0);
            }
            free(text);
            continue;
        }
        /* streaming gives the same text */
        struct buf b;
        struct tok_stream st;
        buf_init(&b, 0);
        tok_stream_init(&st, 0);
        for (size_t j = 0; j < g->n_ids; j++)
            assert_int_equal(tok_stream_push(t, &st, g->ids[j], &b, &err), 0);
        assert_int_equal(tok_stream_finish(t, &st, &b, &err), 0);
        if (b.len != tl || (tl && memcmp(b.data, text, tl) != 0)) {
            bad++;
            if (shown++ < 5) {
                fprintf(stderr, "%s: stream decode differs at line n=%ld\n", what, g->n);
                show("batch ", text, tl);
                show("stream", b.data ? b.data : "", b.len);
            }
        }
        buf_release(&b);
        free(text);
        /* BOS + EOS only wrap the same ids */
        int32_t *ids2 = NULL;
        size_t n2 = 0;
        assert_int_equal(
            tok_encode(t, g->text, g->text_len, TOK_ENCODE_BOS | TOK_ENCODE_EOS, &ids2, &n2, &err),
            0);
        assert_int_equal(n2, g->n_ids + 2);
        assert_int_equal(ids2[0], tok_bos_id(t));
        assert_int_equal(ids2[n2 - 1], tok_eos_id(t));
        assert_memory_equal(ids2 + 1, g->ids, g->n_ids * sizeof(*ids2));
        free(ids2);
    }
    tok_scratch_free(sc);
    if (skipped)
        fprintf(stderr, "%s: %zu of %zu golden lines agree, %zu skipped (retyped pieces)\n", what,
                gs->n - bad - skipped, gs->n - skipped, skipped);
    else
        fprintf(stderr, "%s: %zu of %zu golden lines agree\n", what, gs->n - bad, gs->n);
    assert_true(skipped * 4 < gs->n);
    return bad;
}

static struct tok *open_model(const char *rel)
{
    const char *path = tu_shared(rel);
    if (!path)
        return NULL;
    struct tok *t = NULL;
    struct assay_error err;
    err_clear(&err);
    int rc = tok_open_spm(&t, path, &err);
    if (rc) {
        char msg[1024];
        err_format(&err, msg, sizeof(msg));
        fail_msg("tok_open_spm: %s", msg);
    }
    return t;
}

static void check_model_goldens(const char *model_rel, const char *golden_rel, const char *what)
{
    const char *gp = tu_shared(golden_rel);
    TU_SKIP_IF_MISSING(gp, golden_rel);
    struct tok *t = open_model(model_rel);
    TU_SKIP_IF_MISSING(t ? "" : NULL, model_rel);
    struct golden_set gs;
    golden_load(&gs, gp);
    assert_true(gs.n >= 200);
    size_t bad = run_goldens(t, &gs, what);
    golden_free(&gs);
    tok_free(t);
    assert_int_equal(bad, 0);
}

static void test_tiny_golden(void **state)
{
    check_model_goldens(TINY_MODEL, TINY_GOLDEN, "tiny-spm.model");
}

static void test_wide_golden(void **state)
{
    check_model_goldens(WIDE_MODEL, WIDE_GOLDEN, "wide-spm.model");
}

/* Rebuild a tok from the arrays of another, as the GGUF loader does. */
static struct tok *rebuild_from_arrays(const struct tok *src)
{
    size_t n = tok_n_vocab(src);
    const char **pieces = calloc(n, sizeof(*pieces));
    size_t *lens = calloc(n, sizeof(*lens));
    float *scores = calloc(n, sizeof(*scores));
    int32_t *types = calloc(n, sizeof(*types));
    assert_non_null(pieces);
    assert_non_null(lens);
    assert_non_null(scores);
    assert_non_null(types);
    for (size_t i = 0; i < n; i++) {
        pieces[i] = tok_piece(src, (int32_t)i, &lens[i]);
        scores[i] = tok_piece_score(src, (int32_t)i);
        types[i] = tok_piece_type(src, (int32_t)i);
    }
    struct tok_vocab_desc d;
    tok_vocab_desc_init(&d);
    d.name = "arrays";
    d.n_vocab = n;
    d.pieces = pieces;
    d.piece_lens = lens;
    d.scores = scores;
    d.types = types;
    d.bos_id = tok_bos_id(src);
    d.eos_id = tok_eos_id(src);
    d.pad_id = tok_pad_id(src);
    d.unk_id = tok_unk_id(src);
    d.add_bos = true;
    d.add_dummy_prefix = false; /* GGUF add_space_prefix for Gemma */
    struct tok *t = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(tok_new_from_vocab(&t, &d, &err), 0);
    free(pieces);
    free(lens);
    free(scores);
    free(types);
    return t;
}

static void test_array_path(void **state)
{
    const char *models[2] = {TINY_MODEL, WIDE_MODEL};
    const char *goldens[2] = {TINY_GOLDEN, WIDE_GOLDEN};
    for (int m = 0; m < 2; m++) {
        const char *gp = tu_shared(goldens[m]);
        TU_SKIP_IF_MISSING(gp, goldens[m]);
        struct tok *src = open_model(models[m]);
        TU_SKIP_IF_MISSING(src ? "" : NULL, models[m]);
        struct tok *t = rebuild_from_arrays(src);
        assert_true(tok_byte_fallback(t));
        assert_true(tok_add_bos(t));
        struct golden_set gs;
        golden_load(&gs, gp);
        size_t bad = run_goldens(t, &gs, m == 0 ? "tiny (arrays)" : "wide (arrays)");
        golden_free(&gs);
        tok_free(t);
        tok_free(src);
        assert_int_equal(bad, 0);
    }
}

/* Facts from tiny-golden.meta.json. */
static void test_tiny_facts(void **state)
{
    struct tok *t = open_model(TINY_MODEL);
    TU_SKIP_IF_MISSING(t ? "" : NULL, TINY_MODEL);
    assert_int_equal(tok_n_vocab(t), 2048);
    assert_int_equal(tok_pad_id(t), 0);
    assert_int_equal(tok_eos_id(t), 1);
    assert_int_equal(tok_bos_id(t), 2);
    assert_int_equal(tok_unk_id(t), 3);
    assert_true(tok_byte_fallback(t));
    for (int b = 0; b < 256; b++)
        assert_int_equal(tok_byte_id(t, (uint8_t)b), 9 + b);
    assert_int_equal(tok_piece_type(t, 4), TOK_PIECE_USER_DEFINED);
    assert_int_equal(tok_piece_type(t, 0), TOK_PIECE_CONTROL);
    assert_int_equal(tok_piece_type(t, 2048), 0);
    assert_null(tok_piece(t, -1, NULL));
    assert_int_equal(tok_find_piece(t, "<start_of_turn>", 15), 4);
    assert_int_equal(tok_find_piece(t, "<s>", 3), 2);
    assert_int_equal(tok_find_piece(t, "<0x41>", 6), 9 + 0x41);
    assert_int_equal(tok_find_piece(t, "no such piece", 13), -1);
    tok_free(t);
}

/* Control pieces: plain text by default (as the goldens show), one id with
 * TOK_ENCODE_SPECIAL; decoding writes nothing for them unless TOK_DECODE_SPECIAL. */
static void test_special(void **state)
{
    struct tok *t = open_model(TINY_MODEL);
    TU_SKIP_IF_MISSING(t ? "" : NULL, TINY_MODEL);
    struct assay_error err;
    err_clear(&err);
    int32_t *ids = NULL;
    size_t n = 0;
    const char *txt = "<s>hi</s>";
    assert_int_equal(tok_encode(t, txt, strlen(txt), 0, &ids, &n, &err), 0);
    assert_true(n > 3);
    assert_int_equal(ids[0], 9 + '<');
    free(ids);
    assert_int_equal(tok_encode(t, txt, strlen(txt), TOK_ENCODE_SPECIAL, &ids, &n, &err), 0);
    assert_true(n >= 3);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[n - 1], 1);
    char *out = NULL;
    size_t ol = 0;
    assert_int_equal(tok_decode(t, ids, n, 0, &out, &ol, &err), 0);
    assert_string_equal(out, "hi");
    free(out);
    assert_int_equal(tok_decode(t, ids, n, TOK_DECODE_SPECIAL, &out, &ol, &err), 0);
    assert_string_equal(out, txt);
    free(out);
    free(ids);
    /* the unknown piece as a special token is the unknown id, not its bytes */
    assert_int_equal(tok_encode(t, "a<unk>", 6, TOK_ENCODE_SPECIAL, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[1], 3);
    free(ids);
    assert_int_equal(
        tok_encode(t, "a<unk>", 6, TOK_ENCODE_SPECIAL | TOK_ENCODE_ONE_LIST, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[1], 3);
    free(ids);
    /* user-defined pieces match with or without the flag */
    txt = "x<start_of_turn>y";
    for (int k = 0; k < 2; k++) {
        assert_int_equal(
            tok_encode(t, txt, strlen(txt), k ? TOK_ENCODE_SPECIAL : 0, &ids, &n, &err), 0);
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= ids[i] == 4;
        assert_true(found);
        free(ids);
    }
    tok_free(t);
}

/* Byte pieces that do not form UTF-8 decode to U+FFFD per bad byte; out-of-range ids
 * fail with the position. */
static void test_decode_bytes(void **state)
{
    struct tok *t = open_model(TINY_MODEL);
    TU_SKIP_IF_MISSING(t ? "" : NULL, TINY_MODEL);
    struct assay_error err;
    err_clear(&err);
    /* E2 82 (truncated euro sign), 'A' byte, then C3 A9 (é) split across pieces */
    int32_t ids[] = {9 + 0xE2, 9 + 0x82, 9 + 'A', 9 + 0xC3, 9 + 0xA9, 9 + 0xFF};
    char *out = NULL;
    size_t ol = 0;
    assert_int_equal(tok_decode(t, ids, 6, 0, &out, &ol, &err), 0);
    assert_string_equal(out, "\xEF\xBF\xBD\xEF\xBF\xBD"
                             "A\xC3\xA9\xEF\xBF\xBD");
    free(out);
    /* a run cut by a control piece */
    int32_t ids2[] = {9 + 0xC3, 2, 9 + 0xA9};
    assert_int_equal(tok_decode(t, ids2, 3, 0, &out, &ol, &err), 0);
    assert_string_equal(out, "\xEF\xBF\xBD\xEF\xBF\xBD");
    free(out);
    /* unknown piece */
    int32_t ids3[] = {3};
    assert_int_equal(tok_decode(t, ids3, 1, 0, &out, &ol, &err), 0);
    assert_string_equal(out, " \xE2\x81\x87 ");
    free(out);
    int32_t bad[] = {5, 99999};
    assert_int_equal(tok_decode(t, bad, 2, 0, &out, &ol, &err), ASSAY_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "position 1"));
    /* invalid UTF-8 input: each bad byte is U+FFFD, which has no piece -> its 3 bytes */
    int32_t *e = NULL;
    size_t en = 0;
    err_clear(&err);
    assert_int_equal(tok_encode(t, "\xFF", 1, 0, &e, &en, &err), 0);
    assert_int_equal(en, 3);
    assert_int_equal(e[0], 9 + 0xEF);
    assert_int_equal(e[1], 9 + 0xBF);
    assert_int_equal(e[2], 9 + 0xBD);
    free(e);
    /* empty input: no ids */
    assert_int_equal(tok_encode(t, "", 0, 0, &e, &en, &err), 0);
    assert_int_equal(en, 0);
    free(e);
    tok_free(t);
}

/* ---- hand-built vocabularies ----------------------------------------------------------- */

struct mini {
    const char *piece;
    float score;
    int type;
};

static int build_mini(struct tok **out, const struct mini *v, size_t n, bool dummy, bool rmws,
                      struct assay_error *err)
{
    const char *p[64];
    float s[64];
    int32_t ty[64];
    for (size_t i = 0; i < n; i++) {
        p[i] = v[i].piece;
        s[i] = v[i].score;
        ty[i] = v[i].type;
    }
    struct tok_vocab_desc d;
    tok_vocab_desc_init(&d);
    d.name = "mini";
    d.n_vocab = n;
    d.pieces = p;
    d.scores = s;
    d.types = ty;
    d.add_dummy_prefix = dummy;
    d.remove_extra_whitespaces = rmws;
    d.byte_fallback = 0;
    return tok_new_from_vocab(out, &d, err);
}

static void expect_ids(const struct tok *t, const char *text, const int32_t *want, size_t n_want)
{
    int32_t *ids = NULL;
    size_t n = 0;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(tok_encode(t, text, strlen(text), 0, &ids, &n, &err), 0);
    if (n != n_want || memcmp(ids, want, n * sizeof(*ids)) != 0) {
        show("input", text, strlen(text));
        show_ids("expected", want, n_want);
        show_ids("got     ", ids, n);
        fail();
    }
    free(ids);
}

static void expect_text(const struct tok *t, const int32_t *ids, size_t n, const char *want)
{
    char *out = NULL;
    size_t ol;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(tok_decode(t, ids, n, 0, &out, &ol, &err), 0);
    assert_string_equal(out, want);
    free(out);
}

static void test_mini_merges(void **state)
{
    static const struct mini v[] = {
        {"<unk>", 0, TOK_PIECE_UNKNOWN},        /* 0 */
        {"<s>", 0, TOK_PIECE_CONTROL},          /* 1 */
        {"a", -1, TOK_PIECE_NORMAL},            /* 2 */
        {"b", -2, TOK_PIECE_NORMAL},            /* 3 */
        {"c", -3, TOK_PIECE_NORMAL},            /* 4 */
        {"ab", -5, TOK_PIECE_NORMAL},           /* 5 */
        {"bc", -4, TOK_PIECE_NORMAL},           /* 6: beats ab */
        {"abc", -6, TOK_PIECE_NORMAL},          /* 7 */
        {"aa", -7, TOK_PIECE_NORMAL},           /* 8 */
        {"\xE2\x96\x81", -8, TOK_PIECE_NORMAL}, /* 9: ▁ */
        {"\xE2\x96\x81"
         "a",
         -9, TOK_PIECE_NORMAL},          /* 10 */
        {"cc", -10, TOK_PIECE_UNUSED},   /* 11: merged, then split back */
        {"ccc", -11, TOK_PIECE_NORMAL},  /* 12: c + cc */
        {"ca", -4.5f, TOK_PIECE_NORMAL}, /* 13 */
    };
    struct tok *t = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(build_mini(&t, v, sizeof(v) / sizeof(v[0]), false, false, &err), 0);
    expect_ids(t, "abc", (int32_t[]){7}, 1);     /* a + bc */
    expect_ids(t, "abca", (int32_t[]){7, 2}, 2); /* bc (-4) before ca (-4.5) before ab */
    expect_ids(t, "abb", (int32_t[]){5, 3}, 2);
    expect_ids(t, "aaa", (int32_t[]){8, 2}, 2); /* ties: leftmost first */
    expect_ids(t, "ab", (int32_t[]){5}, 1);
    expect_ids(t, " a", (int32_t[]){10}, 1);
    expect_ids(t, "x", (int32_t[]){0}, 1);         /* no byte fallback: unk */
    expect_ids(t, "xy", (int32_t[]){0, 0}, 2);     /* one unk per character */
    expect_ids(t, "cc", (int32_t[]){4, 4}, 2);     /* UNUSED piece resegmented */
    expect_ids(t, "ccc", (int32_t[]){12}, 1);      /* but usable as a step: c + cc -> ccc */
    expect_ids(t, "<s>", (int32_t[]){0, 0, 0}, 3); /* control text is not matched */
    expect_text(t, (int32_t[]){10, 1, 0, 2}, 4, " a \xE2\x81\x87 a");
    tok_free(t);

    /* add_dummy_prefix + remove_extra_whitespaces (llama-style normalizer spec) */
    assert_int_equal(build_mini(&t, v, sizeof(v) / sizeof(v[0]), true, true, &err), 0);
    expect_ids(t, "a", (int32_t[]){10}, 1);
    expect_ids(t, "   a    a  ", (int32_t[]){10, 10}, 2);
    expect_ids(t, "    ", (int32_t[]){0}, 0);
    expect_text(t, (int32_t[]){10, 10}, 2, "a a"); /* leading ▁ dropped on decode */
    expect_text(t, (int32_t[]){1, 10}, 2, "a");    /* also after a control piece */
    tok_free(t);

    assert_int_equal(build_mini(&t, v, sizeof(v) / sizeof(v[0]), true, false, &err), 0);
    expect_ids(t, "a  a", (int32_t[]){10, 9, 10}, 3);
    expect_text(t, (int32_t[]){10, 9, 10}, 3, "a  a");
    expect_text(t, (int32_t[]){9, 10}, 2, " a"); /* only the first ▁ goes */
    tok_free(t);
}

static void test_mini_errors(void **state)
{
    struct tok *t = NULL;
    struct assay_error err;
    static const struct mini no_unk[] = {{"a", 0, TOK_PIECE_NORMAL}};
    err_clear(&err);
    assert_int_equal(build_mini(&t, no_unk, 1, false, false, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "UNKNOWN"));
    static const struct mini dup[] = {
        {"<unk>", 0, TOK_PIECE_UNKNOWN}, {"a", 0, TOK_PIECE_NORMAL}, {"a", 0, TOK_PIECE_NORMAL}};
    err_clear(&err);
    assert_int_equal(build_mini(&t, dup, 3, false, false, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "piece 2 'a' is already defined"));
    static const struct mini empty[] = {{"<unk>", 0, TOK_PIECE_UNKNOWN}, {"", 0, 1}};
    err_clear(&err);
    assert_int_equal(build_mini(&t, empty, 2, false, false, &err), ASSAY_EINVAL);
    static const struct mini badtype[] = {{"<unk>", 0, TOK_PIECE_UNKNOWN}, {"a", 0, 9}};
    err_clear(&err);
    assert_int_equal(build_mini(&t, badtype, 2, false, false, &err), ASSAY_EINVAL);
    static const struct mini bytes[] = {{"<unk>", 0, TOK_PIECE_UNKNOWN},
                                        {"<0x41>", 0, TOK_PIECE_BYTE}};
    err_clear(&err); /* a BYTE piece with byte fallback off */
    assert_int_equal(build_mini(&t, bytes, 2, false, false, &err), ASSAY_EINVAL);
    /* the same piece as reserved and as normal is allowed (sentencepiece keeps two maps) */
    static const struct mini both[] = {{"<unk>", 0, TOK_PIECE_UNKNOWN},
                                       {"<s>", 0, TOK_PIECE_CONTROL},
                                       {"<s>", 0, TOK_PIECE_NORMAL}};
    err_clear(&err);
    assert_int_equal(build_mini(&t, both, 3, false, false, &err), 0);
    assert_int_equal(tok_find_piece(t, "<s>", 3), 1);
    tok_free(t);
    t = NULL;
    /* missing byte pieces with byte fallback on */
    const char *p[2] = {"<unk>", "<0x41>"};
    int32_t ty[2] = {TOK_PIECE_UNKNOWN, TOK_PIECE_BYTE};
    struct tok_vocab_desc d;
    tok_vocab_desc_init(&d);
    d.n_vocab = 2;
    d.pieces = p;
    d.types = ty;
    err_clear(&err);
    assert_int_equal(tok_new_from_vocab(&t, &d, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "0x00"));
    d.bos_id = 7;
    err_clear(&err);
    assert_int_equal(tok_new_from_vocab(&t, &d, &err), ASSAY_EINVAL);
    assert_null(t);
    /* BOS requested from a vocabulary without one */
    static const struct mini plain[] = {{"<unk>", 0, TOK_PIECE_UNKNOWN}, {"a", 0, 1}};
    err_clear(&err);
    assert_int_equal(build_mini(&t, plain, 2, false, false, &err), 0);
    int32_t *ids = NULL;
    size_t n;
    assert_int_equal(tok_encode(t, "a", 1, TOK_ENCODE_BOS, &ids, &n, &err), ASSAY_EUSAGE);
    tok_free(t);
}

/* ---- corrupt .model files ------------------------------------------------------------ */

static int open_mem(const void *p, size_t n, struct assay_error *err)
{
    struct tok *t = NULL;
    err_clear(err);
    int rc = tok_open_spm_mem(&t, p, n, "test.model", err);
    if (rc == 0)
        assert_non_null(t);
    else
        assert_null(t);
    tok_free(t);
    return rc;
}

static void test_spm_corrupt(void **state)
{
    const char *path = tu_shared(TINY_MODEL);
    TU_SKIP_IF_MISSING(path, TINY_MODEL);
    char *data = NULL;
    size_t len = 0;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(file_read_all(&data, &len, path, 1 << 20, &err), 0);
    assert_int_equal(open_mem(data, len, &err), 0);

    /* Truncated at every byte of the first 1500 and the last 300 (the specs), and at
     * every 37th byte in between: always an error, never a crash. */
    size_t n_checked = 0;
    /* The file ends with the 16-byte normalizer_spec (key, length, payload): cut just
     * before it, the file is a valid model with the default normalizer. */
    size_t norm_at = len - 18;
    assert_int_equal((uint8_t)data[norm_at], 0x1A);
    for (size_t cut = 0; cut < len; cut++) {
        if (cut > 1500 && cut + 300 < len && cut % 37 != 0)
            continue;
        int rc = open_mem(data, cut, &err);
        if (rc == 0 && cut != norm_at)
            fail_msg("truncated at %zu of %zu: accepted", cut, len);
        n_checked++;
    }
    assert_true(n_checked > 1800);
    /* A piece cut mid-way reports a byte offset. */
    assert_int_equal(open_mem(data, 40, &err), ASSAY_EINVAL);
    assert_true(err.offset >= 0);
    assert_string_equal(err.path, "test.model");

    /* Hand-made garbage. */
    static const uint8_t long_varint[] = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                          0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_int_equal(open_mem(long_varint, sizeof(long_varint), &err), ASSAY_EINVAL);
    static const uint8_t past_end[] = {0x0A, 0x7F, 0x0A, 0x01, 'a'};
    assert_int_equal(open_mem(past_end, sizeof(past_end), &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "past the end"));
    assert_int_equal(err.offset, 0);
    static const uint8_t group[] = {0x0B, 0x0C};
    assert_int_equal(open_mem(group, sizeof(group), &err), ASSAY_EINVAL);
    static const uint8_t field0[] = {0x02, 0x00};
    assert_int_equal(open_mem(field0, sizeof(field0), &err), ASSAY_EINVAL);
    static const uint8_t wrong_wt[] = {0x08, 0x01}; /* pieces as a varint */
    assert_int_equal(open_mem(wrong_wt, sizeof(wrong_wt), &err), ASSAY_EINVAL);
    assert_int_equal(open_mem("", 0, &err), ASSAY_EINVAL);
    static const uint8_t huge_len[] = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    assert_int_equal(open_mem(huge_len, sizeof(huge_len), &err), ASSAY_EINVAL);

    /* No trainer spec: the proto default is a unigram model -> unsupported. */
    static const uint8_t unigram[] = {0x0A, 0x09, 0x0A, 0x05, '<', 'u', 'n', 'k', '>', 0x18, 0x02};
    assert_int_equal(open_mem(unigram, sizeof(unigram), &err), ASSAY_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "unigram"));
    /* The same with trainer_spec { model_type: BPE } loads. */
    uint8_t bpe[sizeof(unigram) + 4];
    memcpy(bpe, unigram, sizeof(unigram));
    memcpy(bpe + sizeof(unigram), (uint8_t[]){0x12, 0x02, 0x18, 0x02}, 4);
    assert_int_equal(open_mem(bpe, sizeof(bpe), &err), 0);
    /* ... but not with a precompiled charsmap (normalizer_spec { precompiled_charsmap }) */
    uint8_t cmap[sizeof(bpe) + 5];
    memcpy(cmap, bpe, sizeof(bpe));
    memcpy(cmap + sizeof(bpe), (uint8_t[]){0x1A, 0x03, 0x12, 0x01, 'x'}, 5);
    assert_int_equal(open_mem(cmap, sizeof(cmap), &err), ASSAY_EUNSUPPORTED);

    /* Random byte flips of the real file: errors or successes, never a crash (the
     * sanitizer build makes this strict). */
    uint32_t seed = 12345;
    char *copy = malloc(len);
    assert_non_null(copy);
    for (int round = 0; round < 300; round++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            copy[at] = (char)(seed >> 16);
        }
        (void)open_mem(copy, len, &err);
    }
    free(copy);
    free(data);
}

/* ---- GGUF ---------------------------------------------------------------------------- */

static void test_gguf_path(void **state)
{
    const char *gp = tu_shared(GEMMA_GGUF);
    TU_SKIP_IF_MISSING(gp, GEMMA_GGUF);
    const char *golden = tu_shared(TINY_GOLDEN);
    TU_SKIP_IF_MISSING(golden, TINY_GOLDEN);
    struct gguf *g = NULL;
    struct tok *t = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_open(&g, gp, &err), 0);
    if (tok_new_from_gguf(&t, g, &err)) {
        char msg[1024];
        err_format(&err, msg, sizeof(msg));
        fail_msg("tok_new_from_gguf: %s", msg);
    }
    assert_int_equal(tok_n_vocab(t), 2048);
    assert_int_equal(tok_bos_id(t), 2);
    assert_int_equal(tok_eos_id(t), 1);
    assert_int_equal(tok_pad_id(t), 0);
    assert_int_equal(tok_unk_id(t), 3);
    assert_true(tok_add_bos(t));
    assert_false(tok_add_eos(t));
    assert_true(tok_byte_fallback(t));
    /* The converter wrote <start_of_turn> as CONTROL: one id with TOK_ENCODE_SPECIAL. */
    int32_t *ids = NULL;
    size_t n = 0;
    const char *chat = "<start_of_turn>user\nhi<end_of_turn>\n";
    assert_int_equal(tok_encode(t, chat, strlen(chat), TOK_ENCODE_SPECIAL, &ids, &n, &err), 0);
    assert_true(n >= 4);
    assert_int_equal(ids[0], 4);
    free(ids);
    /* Every golden line not touching a retyped piece agrees with sentencepiece. */
    struct tok *ref = open_model(TINY_MODEL);
    TU_SKIP_IF_MISSING(ref ? "" : NULL, TINY_MODEL);
    struct golden_set gs;
    golden_load(&gs, golden);
    size_t bad = run_goldens_ref(t, ref, &gs, "gemma-tiny-F16.gguf");
    golden_free(&gs);
    tok_free(ref);
    tok_free(t);
    gguf_close(g);
    assert_int_equal(bad, 0);
}

/* Gemma 3 size: the wide vocabulary grown to 262,144 pieces with pieces no text here can
 * form (they start with the noncharacter U+FDD0), so the goldens must still agree; the
 * lookup structures are exercised at full size. */
static void test_large_vocab(void **state)
{
    const char *gp = tu_shared(WIDE_GOLDEN);
    TU_SKIP_IF_MISSING(gp, WIDE_GOLDEN);
    struct tok *src = open_model(WIDE_MODEL);
    TU_SKIP_IF_MISSING(src ? "" : NULL, WIDE_MODEL);
    const size_t n = 262144, n_src = tok_n_vocab(src);
    const char **pieces = calloc(n, sizeof(*pieces));
    size_t *lens = calloc(n, sizeof(*lens));
    float *scores = calloc(n, sizeof(*scores));
    int32_t *types = calloc(n, sizeof(*types));
    char *extra = malloc((n - n_src) * 16);
    assert_non_null(pieces);
    assert_non_null(extra);
    for (size_t i = 0; i < n; i++) {
        if (i < n_src) {
            pieces[i] = tok_piece(src, (int32_t)i, &lens[i]);
            scores[i] = tok_piece_score(src, (int32_t)i);
            types[i] = tok_piece_type(src, (int32_t)i);
        } else {
            char *p = extra + (i - n_src) * 16;
            int k = snprintf(p, 16, "\xEF\xB7\x90%zu", i);
            pieces[i] = p;
            lens[i] = (size_t)k;
            scores[i] = -1e6f - (float)i;
            types[i] = i % 97 == 0 ? TOK_PIECE_USER_DEFINED : TOK_PIECE_NORMAL;
        }
    }
    struct tok_vocab_desc d;
    tok_vocab_desc_init(&d);
    d.name = "large";
    d.n_vocab = n;
    d.pieces = pieces;
    d.piece_lens = lens;
    d.scores = scores;
    d.types = types;
    d.bos_id = tok_bos_id(src);
    d.eos_id = tok_eos_id(src);
    struct tok *t = NULL;
    struct assay_error err;
    err_clear(&err);
    double t0 = clock_now_s();
    assert_int_equal(tok_new_from_vocab(&t, &d, &err), 0);
    fprintf(stderr, "262144 pieces built in %.1f ms\n", (clock_now_s() - t0) * 1e3);
    assert_int_equal(tok_find_piece(t, pieces[n - 1], lens[n - 1]), (int32_t)(n - 1));
    assert_int_equal(tok_find_piece(t, pieces[n_src + 5], lens[n_src + 5]), (int32_t)(n_src + 5));
    int32_t *ids = NULL;
    size_t ni = 0;
    const size_t ud = 97 * 2700; /* a user-defined one: matched whole */
    assert_int_equal(tok_encode(t, pieces[ud], lens[ud], 0, &ids, &ni, &err), 0);
    assert_int_equal(ni, 1);
    assert_int_equal(ids[0], (int32_t)ud);
    free(ids);
    struct golden_set gs;
    golden_load(&gs, gp);
    size_t bad = run_goldens(t, &gs, "wide + 230k pieces");
    golden_free(&gs);
    tok_free(t);
    tok_free(src);
    free(pieces);
    free(lens);
    free(scores);
    free(types);
    free(extra);
    assert_int_equal(bad, 0);
}

/* ---- throughput (reported, not asserted) ------------------------------------------------ */

/* Random texts from nasty fragments: the chunked encoder equals the literal one-list
 * merge loop, and decode(encode(x)) == x for valid UTF-8 without a literal U+2581
 * (byte fallback makes the round trip lossless for these models). */
static void test_random_equivalence(void **state)
{
    static const char *const frag[] = {
        "the",
        " the",
        "  ",
        "    ",
        "\n",
        "\n\n",
        "\t",
        "return",
        " x",
        "a",
        "b",
        "1",
        "23",
        "456",
        "<start_of_turn>",
        "<end_of_turn>",
        "<s>",
        "</s>",
        "<pad>",
        "<table>",
        "<p>",
        "</div>",
        "<",
        ">",
        "\xC3\xA9",
        "e\xCC\x81",
        "\xE4\xB8\xAD\xE6\x96\x87",
        "\xF0\x9F\x98\x80",
        "\xE2\x96\x81",
        "\xFF",
        "\xC3",
        "\xED\xA0\x80",
        "\xEF\xBF\xBD",
        ",",
        ".",
        "'",
        "\"",
        "\r",
        "don't",
        "HELLO",
        "tokenization",
        "\xD8\xB3\xD9\x84\xD8\xA7\xD9\x85",
        " \xCE\xB1\xCE\xB2",
        "\xE0\xA4\xB9\xE0\xA4\xBF",
        "_",
        "-",
        "--",
        "==",
        "()",
        "{}",
        " ",
        "\x00",
        "\x01",
    };
    const size_t n_frag = sizeof(frag) / sizeof(frag[0]);
    const char *models[2] = {TINY_MODEL, WIDE_MODEL};
    for (int m = 0; m < 2; m++) {
        struct tok *t = open_model(models[m]);
        TU_SKIP_IF_MISSING(t ? "" : NULL, models[m]);
        struct tok_scratch *sc = NULL;
        struct assay_error err;
        err_clear(&err);
        assert_int_equal(tok_scratch_new(&sc, &err), 0);
        uint32_t seed = 777u + (uint32_t)m;
        char text[2048];
        int32_t *chunked = malloc(sizeof(int32_t) * 8192);
        assert_non_null(chunked);
        for (int round = 0; round < 1500; round++) {
            size_t len = 0;
            seed = seed * 1103515245u + 12345u;
            int n_parts = 1 + (int)((seed >> 16) % 40);
            bool roundtrip = true;
            for (int k = 0; k < n_parts; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t f = (seed >> 16) % n_frag;
                size_t fl = frag[f][0] ? strlen(frag[f]) : 1; /* "\x00" is one NUL byte */
                if (len + fl > sizeof(text))
                    break;
                memcpy(text + len, frag[f], fl);
                len += fl;
                if (f >= 28 && f <= 31)
                    roundtrip = false; /* U+2581 or invalid UTF-8 */
            }
            for (unsigned flags = 0; flags <= TOK_ENCODE_SPECIAL; flags += TOK_ENCODE_SPECIAL) {
                const int32_t *ids;
                size_t n, n1;
                assert_int_equal(tok_encode_scratch(t, sc, text, len, flags, &ids, &n, &err), 0);
                assert_true(n <= 8192);
                memcpy(chunked, ids, n * sizeof(*ids));
                assert_int_equal(tok_encode_scratch(t, sc, text, len, flags | TOK_ENCODE_ONE_LIST,
                                                    &ids, &n1, &err),
                                 0);
                if (n != n1 || memcmp(chunked, ids, n * sizeof(*ids)) != 0) {
                    show("input", text, len);
                    show_ids("one list", ids, n1);
                    show_ids("chunked ", chunked, n);
                    fail_msg("%s: chunked and one-list encodings differ", models[m]);
                }
                if (roundtrip && flags == 0) {
                    char *out = NULL;
                    size_t ol = 0;
                    assert_int_equal(tok_decode(t, chunked, n, 0, &out, &ol, &err), 0);
                    if (ol != len || memcmp(out, text, len) != 0) {
                        show("input", text, len);
                        show("decoded", out, ol);
                        fail_msg("%s: round trip differs", models[m]);
                    }
                    free(out);
                }
            }
        }
        free(chunked);
        tok_scratch_free(sc);
        tok_free(t);
    }
}

static void test_throughput(void **state)
{
    const char *models[2] = {TINY_MODEL, WIDE_MODEL};
    const char *gp = tu_shared(TINY_GOLDEN);
    TU_SKIP_IF_MISSING(gp, TINY_GOLDEN);
    struct golden_set gs;
    golden_load(&gs, gp);
    for (int m = 0; m < 2; m++) {
        struct tok *t = open_model(models[m]);
        if (!t)
            continue;
        struct tok_scratch *sc = NULL;
        struct assay_error err;
        err_clear(&err);
        assert_int_equal(tok_scratch_new(&sc, &err), 0);
        size_t bytes = 0, tokens = 0;
        double t0 = clock_now_s();
        for (int rep = 0; rep < 5; rep++) {
            for (size_t i = 0; i < gs.n; i++) {
                const int32_t *ids;
                size_t n;
                assert_int_equal(
                    tok_encode_scratch(t, sc, gs.g[i].text, gs.g[i].text_len, 0, &ids, &n, &err),
                    0);
                bytes += gs.g[i].text_len;
                tokens += n;
            }
        }
        double dt = clock_now_s() - t0;
        fprintf(stderr, "%s: %.2f MB/s, %.2f M tokens/s (%zu bytes, golden texts x5)\n", models[m],
                bytes / dt / 1e6, tokens / dt / 1e6, bytes);
        tok_scratch_free(sc);
        tok_free(t);
    }
    golden_free(&gs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_golden), cmocka_unit_test(test_wide_golden),
        cmocka_unit_test(test_array_path),  cmocka_unit_test(test_tiny_facts),
        cmocka_unit_test(test_special),     cmocka_unit_test(test_decode_bytes),
        cmocka_unit_test(test_mini_merges), cmocka_unit_test(test_mini_errors),
        cmocka_unit_test(test_spm_corrupt), cmocka_unit_test(test_random_equivalence),
        cmocka_unit_test(test_gguf_path),   cmocka_unit_test(test_large_vocab),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
