/*
 * engine/tok.c - SentencePiece BPE: the vocabulary tables and their accessors.
 *
 * The tokenizer is three files around engine/tok_int.h: this one builds the lookup
 * structures from arrays (tok_new_from_vocab); tok_encode.c encodes as sentencepiece
 * 0.1.97 does (normalizer.cc with the identity rule, bpe_model.cc's merge loop, byte
 * fallback from sentencepiece_processor.cc); tok_decode.c decodes as its DecodeIds does.
 * What they do not: read files (tok_spm.c reads .model files, tok_gguf.c reads GGUF
 * metadata), unigram models, precompiled normalization rules.
 *
 * Lookup structures, all built once and read-only afterwards:
 *   - two open-addressing hash maps from piece bytes to id, as sentencepiece keeps them:
 *     `merge` holds NORMAL, USER_DEFINED and UNUSED pieces (what merges may produce),
 *     `reserved` holds CONTROL, UNKNOWN and BYTE pieces (looked up first by PieceToId);
 *   - a byte trie of USER_DEFINED pieces (and one that adds CONTROL pieces, for
 *     TOK_ENCODE_SPECIAL) with a direct table for the first byte;
 *   - a 129 x 129 table of merges between single ASCII characters and "▁", so that the
 *     initial pairs of most text need no hashing.
 * Encoding keeps its symbols, heap and output in a struct tok_scratch that grows to the
 * largest text seen and is reused, so the merge loop never allocates (the heap may grow
 * by doubling).
 */
#include "engine/tok.h"
#include "engine/tok_int.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int32_t map_insert(const struct tok *t, struct tok_map *m, int32_t id)
{
    const char *s = piece_at(t, id);
    size_t n = t->len[id];
    uint32_t h = tok_hash(s, n);
    size_t i = h & m->mask;
    for (;;) {
        struct tok_slot *sl = &m->slots[i];
        if (sl->id < 0) {
            sl->hash = h;
            sl->id = id;
            return -1;
        }
        if (sl->hash == h && t->len[sl->id] == n && memcmp(piece_at(t, sl->id), s, n) == 0)
            return sl->id;
        i = (i + 1) & m->mask;
    }
}

static int map_init(struct tok_map *m, size_t n_keys)
{
    size_t cap = 16;
    while (cap < n_keys * 2 + 1)
        cap <<= 1;
    m->slots = mem_alloc_array(cap, sizeof(*m->slots));
    if (!m->slots)
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        m->slots[i].id = -1;
    m->mask = cap - 1;
    return 0;
}

/* sentencepiece's PieceToId: reserved pieces first, then mergeable ones; -1 none. */
/* ---- trie ------------------------------------------------------------------------- */

static void trie_init(struct tok_trie *tr)
{
    memset(tr, 0, sizeof(*tr));
    for (int i = 0; i < 256; i++)
        tr->root[i] = -1;
}

static void trie_release(struct tok_trie *tr)
{
    free(tr->nodes);
    tr->nodes = NULL;
}

static int32_t trie_new_node(struct tok_trie *tr, uint8_t byte)
{
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? tr->cap * 2 : 64;
        struct tok_trie_node *nn = mem_realloc_array(tr->nodes, cap, sizeof(*nn));
        if (!nn)
            return -1;
        tr->nodes = nn;
        tr->cap = cap;
    }
    struct tok_trie_node *nd = &tr->nodes[tr->n];
    nd->child = -1;
    nd->sibling = -1;
    nd->id = -1;
    nd->byte = byte;
    return (int32_t)tr->n++;
}

/* Insert a key (n >= 1 bytes); the first id inserted for a key is kept. */
static int trie_insert(struct tok_trie *tr, const char *s, size_t n, int32_t id)
{
    const uint8_t *u = (const uint8_t *)s;
    int32_t node = tr->root[u[0]];
    if (node < 0) {
        node = trie_new_node(tr, u[0]);
        if (node < 0)
            return ASSAY_ENOMEM;
        tr->root[u[0]] = node;
    }
    for (size_t i = 1; i < n; i++) {
        int32_t c = tr->nodes[node].child;
        while (c >= 0 && tr->nodes[c].byte != u[i])
            c = tr->nodes[c].sibling;
        if (c < 0) {
            c = trie_new_node(tr, u[i]);
            if (c < 0)
                return ASSAY_ENOMEM;
            tr->nodes[c].sibling = tr->nodes[node].child;
            tr->nodes[node].child = c;
        }
        node = c;
    }
    if (tr->nodes[node].id < 0) {
        tr->nodes[node].id = id;
        tr->n_keys++;
    }
    return 0;
}


/* ---- construction ----------------------------------------------------------------- */

void tok_vocab_desc_init(struct tok_vocab_desc *d)
{
    memset(d, 0, sizeof(*d));
    d->unk_id = -1;
    d->bos_id = -1;
    d->eos_id = -1;
    d->pad_id = -1;
    d->escape_whitespaces = true;
    d->byte_fallback = -1;
}

void tok_free(struct tok *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->score);
    free(t->score_key);
    free(t->pair_cut);
    free(t->type);
    free(t->final_id);
    free(t->merge.slots);
    free(t->reserved.slots);
    trie_release(&t->ud);
    trie_release(&t->ud_ctl);
    free(t->pair_id);
    free(t->unk_surface);
    free(t);
}

static bool is_mergeable(int type)
{
    return type == TOK_PIECE_NORMAL || type == TOK_PIECE_USER_DEFINED || type == TOK_PIECE_UNUSED;
}

/* The piece's bytes for a message: at most 40 bytes, control characters escaped. */
static const char *show_piece(const char *s, size_t n, char buf[128])
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < 128; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7F || c == '\'' || c == '\\')
            o += (size_t)snprintf(buf + o, 128 - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

static int check_special_id(int32_t id, const char *what, const char *name, size_t n,
                            struct assay_error *err)
{
    if (id < -1 || (id >= 0 && (size_t)id >= n))
        return err_set(err, ASSAY_EINVAL, "%s: %s id %d out of range (vocab %zu)", name, what,
                       (int)id, n);
    return 0;
}

int tok_new_from_vocab(struct tok **out, const struct tok_vocab_desc *d, struct assay_error *err)
{
    struct tok *t = NULL;
    int rc = 0;
    char pb[128];
    const char *name = d && d->name ? d->name : "<vocab>";

    *out = NULL;
    if (!d || !d->pieces)
        return err_set(err, ASSAY_EUSAGE, "%s: no pieces given", name);
    size_t n = d->n_vocab;
    if (n == 0)
        return err_set(err, ASSAY_EINVAL, "%s: empty vocabulary", name);
    if (n > TOK_MAX_VOCAB)
        return err_set(err, ASSAY_ELIMIT, "%s: %zu pieces, more than the limit %d", name, n,
                       TOK_MAX_VOCAB);

    /* Validate lengths and types before allocating anything large. */
    size_t pool_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!d->pieces[i])
            return err_set(err, ASSAY_EINVAL, "%s: piece %zu is missing", name, i);
        size_t len = d->piece_lens ? d->piece_lens[i] : strlen(d->pieces[i]);
        if (len == 0)
            return err_set(err, ASSAY_EINVAL, "%s: piece %zu is empty", name, i);
        if (len > TOK_MAX_PIECE_BYTES)
            return err_set(err, ASSAY_ELIMIT, "%s: piece %zu is %zu bytes, more than %d", name, i,
                           len, TOK_MAX_PIECE_BYTES);
        if (!ck_add(&pool_bytes, pool_bytes, len + 1))
            return err_set(err, ASSAY_ELIMIT, "%s: pieces too large", name);
        int ty = d->types ? d->types[i] : TOK_PIECE_NORMAL;
        if (ty < 0 || ty > TOK_PIECE_BYTE)
            return err_set(err, ASSAY_EINVAL, "%s: piece %zu '%s' has unknown type %d", name, i,
                           show_piece(d->pieces[i], len, pb), ty);
    }
    if (pool_bytes > UINT32_MAX)
        return err_set(err, ASSAY_ELIMIT, "%s: pieces take %zu bytes, more than 4 GiB", name,
                       pool_bytes);
    if ((rc = check_special_id(d->unk_id, "unknown", name, n, err)) ||
        (rc = check_special_id(d->bos_id, "bos", name, n, err)) ||
        (rc = check_special_id(d->eos_id, "eos", name, n, err)) ||
        (rc = check_special_id(d->pad_id, "pad", name, n, err)))
        return rc;

    t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(err, ASSAY_ENOMEM, "%s: out of memory", name);
    trie_init(&t->ud);
    trie_init(&t->ud_ctl);
    t->n_vocab = n;
    t->pool = calloc(1, pool_bytes + PAD); /* PAD zero bytes after the last piece */
    t->off = mem_alloc_array(n, sizeof(*t->off));
    t->len = mem_alloc_array(n, sizeof(*t->len));
    t->score = mem_alloc_array(n, sizeof(*t->score));
    t->score_key = mem_alloc_array(n, sizeof(*t->score_key));
    t->type = mem_alloc_array(n, sizeof(*t->type));
    t->final_id = mem_alloc_array(n, sizeof(*t->final_id));
    t->pair_id = mem_alloc_array((size_t)ASCII_CODES * ASCII_CODES, sizeof(*t->pair_id));
    t->pair_cut = malloc((size_t)ASCII_CODES * ASCII_CODES);
    if (!t->pool || !t->off || !t->len || !t->score || !t->score_key || !t->type || !t->final_id ||
        !t->pair_id || !t->pair_cut) {
        rc = err_set(err, ASSAY_ENOMEM, "%s: out of memory", name);
        goto out;
    }

    size_t o = 0, n_merge = 0, n_reserved = 0, n_unknown = 0, n_byte = 0;
    int32_t unk = -1;
    for (size_t i = 0; i < n; i++) {
        size_t len = d->piece_lens ? d->piece_lens[i] : strlen(d->pieces[i]);
        memcpy(t->pool + o, d->pieces[i], len);
        t->pool[o + len] = '\0';
        t->off[i] = (uint32_t)o;
        t->len[i] = (uint32_t)len;
        o += len + 1;
        t->score[i] = d->scores ? d->scores[i] : 0.0f;
        t->score_key[i] = score_key(t->score[i]);
        int ty = d->types ? d->types[i] : TOK_PIECE_NORMAL;
        if (ty == 0) /* llama.cpp's UNDEFINED: treat as a normal piece */
            ty = TOK_PIECE_NORMAL;
        t->type[i] = (uint8_t)ty;
        if (is_mergeable(ty)) {
            n_merge++;
        } else {
            n_reserved++;
        }
        if (ty == TOK_PIECE_UNKNOWN) {
            n_unknown++;
            if (unk < 0)
                unk = (int32_t)i;
        }
        if (ty == TOK_PIECE_BYTE)
            n_byte++;
        if (ty == TOK_PIECE_UNUSED)
            t->has_unused = true;
    }
    if (n_unknown == 0) {
        rc = err_set(err, ASSAY_EINVAL, "%s: no piece of type UNKNOWN (<unk>)", name);
        goto out;
    }
    if (n_unknown > 1) {
        rc = err_set(err, ASSAY_EINVAL, "%s: %zu pieces of type UNKNOWN, expected one", name,
                     n_unknown);
        goto out;
    }
    if (d->unk_id >= 0 && d->unk_id != unk) {
        rc = err_set(err, ASSAY_EINVAL, "%s: unknown id %d is not the UNKNOWN piece %d", name,
                     (int)d->unk_id, (int)unk);
        goto out;
    }
    t->unk_id = unk;
    t->bos_id = d->bos_id;
    t->eos_id = d->eos_id;
    t->pad_id = d->pad_id;
    t->add_bos = d->add_bos;
    t->add_eos = d->add_eos;
    t->add_dummy_prefix = d->add_dummy_prefix;
    t->remove_extra_ws = d->remove_extra_whitespaces;
    t->escape_ws = d->escape_whitespaces;
    t->byte_fallback = d->byte_fallback < 0 ? n_byte > 0 : d->byte_fallback != 0;
    if (!t->byte_fallback && n_byte > 0) {
        rc = err_set(err, ASSAY_EINVAL, "%s: %zu BYTE pieces although byte fallback is off", name,
                     n_byte);
        goto out;
    }

    if (map_init(&t->merge, n_merge) || map_init(&t->reserved, n_reserved)) {
        rc = err_set(err, ASSAY_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    t->max_merge_len = 0;
    for (size_t i = 0; i < 256; i++)
        t->byte_id[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int ty = t->type[i];
        struct tok_map *m = is_mergeable(ty) ? &t->merge : &t->reserved;
        int32_t prev = map_insert(t, m, (int32_t)i);
        if (prev >= 0) {
            rc = err_set(err, ASSAY_EINVAL, "%s: piece %zu '%s' is already defined (piece %d)",
                         name, i, show_piece(piece_at(t, (int32_t)i), t->len[i], pb), (int)prev);
            goto out;
        }
        if (is_mergeable(ty) && t->len[i] > t->max_merge_len)
            t->max_merge_len = t->len[i];
        if (ty == TOK_PIECE_BYTE) {
            int b = parse_byte_piece(piece_at(t, (int32_t)i), t->len[i]);
            if (b < 0) {
                rc = err_set(err, ASSAY_EINVAL, "%s: byte piece %zu '%s' is not <0xXX>", name, i,
                             show_piece(piece_at(t, (int32_t)i), t->len[i], pb));
                goto out;
            }
            t->byte_id[b] = (int32_t)i;
        }
        if (ty == TOK_PIECE_USER_DEFINED) {
            if (trie_insert(&t->ud, piece_at(t, (int32_t)i), t->len[i], (int32_t)i) ||
                trie_insert(&t->ud_ctl, piece_at(t, (int32_t)i), t->len[i], (int32_t)i)) {
                rc = err_set(err, ASSAY_ENOMEM, "%s: out of memory", name);
                goto out;
            }
        }
    }
    /* Control pieces (and <unk>, as llama.cpp's parse_special and Hugging Face's special
     * tokens do) go after every user-defined one so that a string that is both keeps its
     * user-defined id, as without TOK_ENCODE_SPECIAL. */
    for (size_t i = 0; i < n; i++) {
        if ((t->type[i] == TOK_PIECE_CONTROL || t->type[i] == TOK_PIECE_UNKNOWN) &&
            trie_insert(&t->ud_ctl, piece_at(t, (int32_t)i), t->len[i], (int32_t)i)) {
            rc = err_set(err, ASSAY_ENOMEM, "%s: out of memory", name);
            goto out;
        }
    }
    if (t->byte_fallback) {
        for (int b = 0; b < 256; b++) {
            if (t->byte_id[b] < 0) {
                rc = err_set(err, ASSAY_EINVAL,
                             "%s: byte fallback without a piece for byte 0x%02X (need all 256)",
                             name, b);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        int32_t id = piece_to_id(t, piece_at(t, (int32_t)i), t->len[i]);
        t->final_id[i] = id;
    }
    for (int c = 0; c < 128; c++) {
        char ch = (char)c;
        t->ascii_id[c] = piece_to_id(t, &ch, 1);
    }
    /* Which one-character neighbours can ever be merged (see bpe_encode_chunked). */
    memset(t->pair_cut, 1, (size_t)ASCII_CODES * ASCII_CODES);
    for (size_t i = 0; i < n; i++) {
        if (!is_mergeable(t->type[i]))
            continue;
        const char *p = piece_at(t, (int32_t)i);
        size_t len = t->len[i];
        int prev = -1;
        for (size_t j = 0; j < len;) {
            size_t cl = one_char_len((uint8_t)p[j]);
            if (cl > len - j)
                cl = len - j;
            int code = symbol_code(p + j, cl);
            if (prev >= 0 && code >= 0)
                t->pair_cut[prev * ASCII_CODES + code] = 0;
            prev = code;
            j += cl;
        }
    }
    /* Merges between the most common one-character symbols. */
    for (int a = 0; a < ASCII_CODES; a++) {
        for (int b = 0; b < ASCII_CODES; b++) {
            char s[8];
            size_t k = 0;
            if (a < 128) {
                s[k++] = (char)a;
            } else {
                memcpy(s + k, SPACE_SYM, SPACE_SYM_LEN);
                k += SPACE_SYM_LEN;
            }
            if (b < 128) {
                s[k++] = (char)b;
            } else {
                memcpy(s + k, SPACE_SYM, SPACE_SYM_LEN);
                k += SPACE_SYM_LEN;
            }
            t->pair_id[a * ASCII_CODES + b] = map_find(t, &t->merge, s, k);
        }
    }
    const char *us = d->unk_surface ? d->unk_surface : DEFAULT_UNK_SURFACE;
    size_t us_len = d->unk_surface ? d->unk_surface_len : strlen(DEFAULT_UNK_SURFACE);
    t->unk_surface = mem_strndup(us, us_len);
    if (!t->unk_surface) {
        rc = err_set(err, ASSAY_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    t->unk_surface_len = us_len;
    /* FNV-1a over pieces, scores, types and the flags that shape a chunk's ids. */
    uint64_t fp = 0xCBF29CE484222325ull;
    const uint8_t *fpp = (const uint8_t *)t->pool;
    for (size_t i = 0; i < o; i++)
        fp = (fp ^ fpp[i]) * 0x100000001B3ull;
    for (size_t i = 0; i < n; i++) {
        fp = (fp ^ t->score_key[i]) * 0x100000001B3ull;
        fp = (fp ^ t->type[i]) * 0x100000001B3ull;
    }
    fp = (fp ^ (uint64_t)t->byte_fallback) * 0x100000001B3ull;
    fp = (fp ^ (uint64_t)(uint32_t)t->unk_id) * 0x100000001B3ull;
    t->fingerprint = fp ? fp : 1;
    *out = t;
    t = NULL;
out:
    tok_free(t);
    return rc;
}

/* ---- accessors -------------------------------------------------------------------- */

size_t tok_n_vocab(const struct tok *t)
{
    return t->n_vocab;
}

const char *tok_piece(const struct tok *t, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= t->n_vocab) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = t->len[id];
    return piece_at(t, id);
}

int tok_piece_type(const struct tok *t, int32_t id)
{
    if (id < 0 || (size_t)id >= t->n_vocab)
        return 0;
    return t->type[id];
}

float tok_piece_score(const struct tok *t, int32_t id)
{
    if (id < 0 || (size_t)id >= t->n_vocab)
        return 0.0f;
    return t->score[id];
}

int32_t tok_find_piece(const struct tok *t, const char *s, size_t len)
{
    if (len == 0 || len > TOK_MAX_PIECE_BYTES)
        return -1;
    return piece_to_id(t, s, len);
}

int32_t tok_bos_id(const struct tok *t)
{
    return t->bos_id;
}

int32_t tok_eos_id(const struct tok *t)
{
    return t->eos_id;
}

int32_t tok_unk_id(const struct tok *t)
{
    return t->unk_id;
}

int32_t tok_pad_id(const struct tok *t)
{
    return t->pad_id;
}

bool tok_add_bos(const struct tok *t)
{
    return t->add_bos;
}

bool tok_add_eos(const struct tok *t)
{
    return t->add_eos;
}

bool tok_byte_fallback(const struct tok *t)
{
    return t->byte_fallback;
}

int32_t tok_byte_id(const struct tok *t, uint8_t b)
{
    return t->byte_id[b];
}
