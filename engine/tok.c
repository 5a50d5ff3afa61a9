/*
 * engine/tok.c - SentencePiece BPE: vocabulary tables, encoding and decoding.
 *
 * What it does: builds the lookup structures from arrays (tok_new_from_vocab), encodes
 * as sentencepiece 0.1.97 does (normalizer.cc with the identity rule, bpe_model.cc's
 * merge loop, byte fallback from sentencepiece_processor.cc) and decodes as its
 * DecodeIds does. What it does not: read files (tok_spm.c reads .model files,
 * tok_gguf.c reads GGUF metadata), unigram models, precompiled normalization rules.
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

#include "base/buf.h"
#include "base/error.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_SYM           "\xE2\x96\x81" /* U+2581, what an escaped ' ' becomes */
#define SPACE_SYM_LEN       3
#define REPLACEMENT         "\xEF\xBF\xBD" /* U+FFFD */
#define DEFAULT_UNK_SURFACE " \xE2\x81\x87 "
#define ASCII_CODES         129 /* 0..127: that ASCII byte; 128: "▁" */

/* ---- hash map: piece bytes -> id ---------------------------------------------------- */

struct tok_slot {
    uint32_t hash;
    int32_t id; /* -1: empty */
};

struct tok_map {
    struct tok_slot *slots;
    size_t mask; /* capacity - 1 (a power of two) */
};

static inline uint64_t rd_le64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* A fast multiplicative hash for short strings (pieces are mostly under 16 bytes). */
static inline uint32_t tok_hash(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        h = (h ^ rd_le64(s)) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; i++)
        tail |= (uint64_t)(uint8_t)s[i] << (8 * i);
    h = (h ^ tail) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    return (uint32_t)h;
}

/*
 * The same hash and an equality test for strings followed by at least PAD readable
 * bytes (pieces in the pool, the normalized text in the scratch): the tail is one masked
 * 8-byte load instead of a byte loop or a memcmp call. Identical results to tok_hash.
 */
#define PAD 16

static inline uint64_t tail_mask(size_t n) /* n in 0..8 */
{
    return n >= 8 ? ~0ull : ((1ull << (8 * n)) - 1);
}

static inline uint32_t tok_hash_padded(const char *s, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        h = (h ^ rd_le64(s)) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t tail = rd_le64(s) & tail_mask(n);
    h = (h ^ tail) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    return (uint32_t)h;
#else
    return tok_hash(s, n);
#endif
}

static inline bool eq_padded(const char *a, const char *b, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n <= 8)
        return ((rd_le64(a) ^ rd_le64(b)) & tail_mask(n)) == 0;
    if (n <= 16)
        return rd_le64(a) == rd_le64(b) &&
               ((rd_le64(a + 8) ^ rd_le64(b + 8)) & tail_mask(n - 8)) == 0;
#endif
    return memcmp(a, b, n) == 0;
}

/* ---- byte trie of user-defined (and control) pieces ----------------------------------- */

struct tok_trie_node {
    int32_t child;   /* first child, -1 none */
    int32_t sibling; /* next sibling, -1 none */
    int32_t id;      /* piece ending here, -1 none */
    uint8_t byte;
};

struct tok_trie {
    struct tok_trie_node *nodes;
    size_t n, cap;
    int32_t root[256]; /* node for the first byte, -1 none */
    size_t n_keys;
};

/* ---- the tokenizer ---------------------------------------------------------------- */

struct tok {
    size_t n_vocab;
    char *pool;          /* every piece, each NUL-terminated */
    uint32_t *off;       /* (n_vocab) offset of piece i in pool */
    uint32_t *len;       /* (n_vocab) bytes */
    float *score;        /* (n_vocab) */
    uint32_t *score_key; /* (n_vocab) score_key(score): the heap's order */
    uint8_t *type;       /* (n_vocab) enum tok_piece_type */
    int32_t *final_id;   /* (n_vocab) PieceToId(piece i): differs from i only for a string
                          * that is both a reserved and a mergeable piece */
    struct tok_map merge, reserved;
    struct tok_trie ud;     /* USER_DEFINED */
    struct tok_trie ud_ctl; /* USER_DEFINED + CONTROL (TOK_ENCODE_SPECIAL) */
    int32_t byte_id[256];   /* id of <0xXX>, -1 without byte fallback */
    int32_t ascii_id[128];  /* PieceToId of the one-byte string, -1 none */
    int32_t *pair_id;       /* (ASCII_CODES, ASCII_CODES) merge id of two codes, -1 none */
    uint8_t *pair_cut;      /* (ASCII_CODES, ASCII_CODES) 1: the two never stand side by side
                             * in a mergeable piece, so no merge joins them */
    uint32_t max_merge_len; /* longest mergeable piece, bytes */
    int32_t unk_id, bos_id, eos_id, pad_id;
    bool add_bos, add_eos;
    bool add_dummy_prefix, remove_extra_ws, escape_ws, byte_fallback, has_unused;
    char *unk_surface;
    size_t unk_surface_len;
    uint64_t fingerprint; /* of everything a chunk's ids depend on (scratch cache owner) */
};

/* ---- scratch ------------------------------------------------------------------------ */

struct tok_sym {
    uint32_t start; /* offset in the normalized text */
    uint32_t len;   /* bytes; 0 once merged into its left neighbour */
    int32_t prev, next;
    int32_t id;   /* piece id when known (merged or matched), -1 for a plain character */
    int16_t code; /* ASCII_CODES code of a one-character symbol, -1 otherwise */
    bool freeze;  /* a user-defined (or special) piece: never merged */
};

struct tok_pair {
    uint64_t key; /* score_key(score) << 32 | (UINT32_MAX - left): larger pops first */
    int32_t right;
    int32_t id; /* the merged piece */
};

#define CACHE_SLOTS     (1u << 14) /* power of two; cleared when half full */
#define CACHE_MAX_KEY   48         /* longer chunks are not cached (bytes) */
#define CACHE_KEY_BYTES (CACHE_SLOTS * 8u)
#define CACHE_IDS       (CACHE_SLOTS * 4u)

struct tok_cache_slot {
    uint32_t hash;
    uint32_t key_off; /* in cache_keys */
    uint32_t ids_off; /* in cache_ids */
    uint8_t key_len;  /* 0: empty */
    uint8_t n_ids;
};

struct tok_scratch {
    char *norm;
    size_t norm_cap;
    struct tok_sym *sym;
    size_t sym_cap;
    struct tok_pair *heap;
    size_t heap_n, heap_cap;
    int32_t *ids;
    size_t ids_n, ids_cap;
    int32_t *rev; /* (rev_cap) left length of the last pair pushed for an UNUSED
                   * piece id, -1 none; all -1 between calls */
    size_t rev_cap;
    int32_t *rev_touched; /* ids whose rev entry is set */
    size_t rev_touched_n, rev_touched_cap;
    bool saw_unused; /* an UNUSED piece was pushed during this call */
    /* Chunk cache: normalized chunk bytes -> its ids, for one vocabulary at a time. */
    struct tok_cache_slot *cache; /* (CACHE_SLOTS) */
    char *cache_keys;             /* (CACHE_KEY_BYTES) */
    int32_t *cache_ids;           /* (CACHE_IDS) */
    size_t cache_n, cache_keys_used, cache_ids_used;
    uint64_t cache_owner; /* fingerprint of the tok the entries belong to */
    bool cache_failed;    /* allocation failed: run without */
};

/* ---- small helpers ---------------------------------------------------------------- */

static inline const char *piece_at(const struct tok *t, int32_t id)
{
    return t->pool + t->off[id];
}

static int32_t map_find(const struct tok *t, const struct tok_map *m, const char *s, size_t n)
{
    if (!m->slots)
        return -1;
    uint32_t h = tok_hash(s, n);
    size_t i = h & m->mask;
    for (;;) {
        const struct tok_slot *sl = &m->slots[i];
        if (sl->id < 0)
            return -1;
        if (sl->hash == h && t->len[sl->id] == n && memcmp(piece_at(t, sl->id), s, n) == 0)
            return sl->id;
        i = (i + 1) & m->mask;
    }
}

/* map_find for a string followed by PAD readable bytes (the hot path). */
static inline int32_t map_find_padded(const struct tok *t, const struct tok_map *m, const char *s,
                                      size_t n)
{
    uint32_t h = tok_hash_padded(s, n);
    size_t i = h & m->mask;
    for (;;) {
        const struct tok_slot *sl = &m->slots[i];
        if (sl->id < 0)
            return -1;
        if (sl->hash == h && t->len[sl->id] == n && eq_padded(piece_at(t, sl->id), s, n))
            return sl->id;
        i = (i + 1) & m->mask;
    }
}

/* piece_to_id for a string followed by PAD readable bytes. */
static inline int32_t piece_to_id_padded(const struct tok *t, const char *s, size_t n)
{
    int32_t id = map_find_padded(t, &t->reserved, s, n);
    return id >= 0 ? id : map_find_padded(t, &t->merge, s, n);
}

/* Insert id (its bytes are in t); returns the id already there, or -1 when inserted. */
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
static inline int32_t piece_to_id(const struct tok *t, const char *s, size_t n)
{
    int32_t id = map_find(t, &t->reserved, s, n);
    return id >= 0 ? id : map_find(t, &t->merge, s, n);
}

/*
 * Length of the valid UTF-8 sequence at s (n > 0 bytes available), 0 if invalid: the
 * rules of sentencepiece's DecodeUTF8 (no overlongs, no surrogates, <= U+10FFFF; a
 * sequence cut short by the end of the input is invalid).
 */
static inline size_t u8_valid_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        if (n >= 2 && (s[1] & 0xC0) == 0x80) {
            uint32_t cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
            if (cp >= 0x80)
                return 2;
        }
        return 0;
    }
    if ((c & 0xF0) == 0xE0) {
        if (n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
            uint32_t cp =
                ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
            if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF))
                return 3;
        }
        return 0;
    }
    if ((c & 0xF8) == 0xF0) {
        if (n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) {
            uint32_t cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                          ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
            if (cp >= 0x10000 && cp <= 0x10FFFF)
                return 4;
        }
        return 0;
    }
    return 0;
}

/* Bytes a character takes by its first byte, as sentencepiece's OneCharLen. */
static inline size_t one_char_len(uint8_t c)
{
    static const uint8_t lens[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lens[c >> 4];
}

/* Byte value of a piece spelled "<0xXX>" (upper-case hex, as sentencepiece writes it),
 * -1 otherwise. */
static int parse_byte_piece(const char *s, size_t n)
{
    if (n != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* An order-preserving u32 for a float score (see struct tok_pair). */
static inline uint32_t score_key(float f)
{
    uint32_t b;
    if (f == 0.0f)
        f = 0.0f; /* -0 compares equal to +0 as a float: give it the same key */
    memcpy(&b, &f, sizeof(b));
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

/* Code of a one-character symbol for the ASCII_CODES tables: the ASCII byte, 128 for
 * "▁", -1 otherwise. */
static inline int16_t symbol_code(const char *p, size_t len)
{
    if (len == 1)
        return (uint8_t)p[0] < 0x80 ? (int16_t)(uint8_t)p[0] : -1;
    if (len == SPACE_SYM_LEN && memcmp(p, SPACE_SYM, SPACE_SYM_LEN) == 0)
        return 128;
    return -1;
}

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

/* Longest key that is a prefix of s[0..n); returns its length (0: none) and id. */
static inline size_t trie_longest(const struct tok_trie *tr, const char *s, size_t n,
                                  int32_t *id_out)
{
    const uint8_t *u = (const uint8_t *)s;
    int32_t node = tr->root[u[0]];
    size_t best = 0;
    for (size_t i = 1; node >= 0; i++) {
        const struct tok_trie_node *nd = &tr->nodes[node];
        if (nd->id >= 0) {
            best = i;
            *id_out = nd->id;
        }
        if (i == n)
            break;
        int32_t c = nd->child;
        while (c >= 0 && tr->nodes[c].byte != u[i])
            c = tr->nodes[c].sibling;
        node = c;
    }
    return best;
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

/* ---- scratch ------------------------------------------------------------------------ */

int tok_scratch_new(struct tok_scratch **out, struct assay_error *err)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return err_set(err, ASSAY_ENOMEM, "tokenizer scratch: out of memory");
    return 0;
}

void tok_scratch_free(struct tok_scratch *s)
{
    if (!s)
        return;
    free(s->norm);
    free(s->sym);
    free(s->heap);
    free(s->ids);
    free(s->rev);
    free(s->rev_touched);
    free(s->cache);
    free(s->cache_keys);
    free(s->cache_ids);
    free(s);
}

/* Make *p hold at least n elements of size sz (contents not kept). */
static int ensure_cap(void **p, size_t *cap, size_t n, size_t sz)
{
    if (*cap >= n)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c = c > SIZE_MAX / 2 ? n : c * 2;
    void *np = mem_alloc_array(c, sz);
    if (!np)
        return ASSAY_ENOMEM;
    free(*p);
    *p = np;
    *cap = c;
    return 0;
}

/* ---- normalization ---------------------------------------------------------------- */

/*
 * The identity normalizer of sentencepiece (normalizer.cc, Normalize) into s->norm:
 * invalid UTF-8 bytes become U+FFFD one byte at a time, a dummy "▁" goes in front when
 * add_dummy_prefix, spaces become "▁" when escape_whitespaces, and with
 * remove_extra_whitespaces leading, trailing and repeated spaces go. With that last
 * option the text is read in the normalizer's units (a user-defined piece or one
 * character), because a unit's leading spaces are what gets dropped.
 */
static size_t normalize(const struct tok *t, const struct tok_trie *trie, const char *text,
                        size_t len, char *outp)
{
    const uint8_t *in = (const uint8_t *)text;
    char *p = outp;
    const char *sp_sym = t->escape_ws ? SPACE_SYM : " ";
    size_t sp_len = t->escape_ws ? SPACE_SYM_LEN : 1;
    size_t i = 0;

    if (!t->remove_extra_ws) {
        if (len == 0)
            return 0;
        if (t->add_dummy_prefix) {
            memcpy(p, sp_sym, sp_len);
            p += sp_len;
        }
        while (i < len) {
            uint8_t c = in[i];
            if (c < 0x80) {
                if (c == ' ') {
                    memcpy(p, sp_sym, sp_len);
                    p += sp_len;
                } else {
                    *p++ = (char)c;
                }
                i++;
                continue;
            }
            size_t k = u8_valid_len(in + i, len - i);
            if (k) {
                memcpy(p, in + i, k);
                p += k;
                i += k;
            } else {
                memcpy(p, REPLACEMENT, 3);
                p += 3;
                i++;
            }
        }
        return (size_t)(p - outp);
    }

    /* remove_extra_whitespaces: unit by unit. */
    for (;;) { /* drop leading spaces */
        if (i < len && in[i] == ' ') {
            int32_t id;
            if (trie->root[' '] >= 0 && trie_longest(trie, text + i, len - i, &id) > 1)
                break; /* a longer user-defined unit starting with ' ' is not " " */
            i++;
            continue;
        }
        break;
    }
    if (i == len)
        return 0;
    if (t->add_dummy_prefix) {
        memcpy(p, sp_sym, sp_len);
        p += sp_len;
    }
    bool prev_space = true;
    while (i < len) {
        const char *u = text + i;
        size_t ulen, consumed;
        int32_t id;
        size_t m = trie->root[in[i]] >= 0 ? trie_longest(trie, u, len - i, &id) : 0;
        if (m) {
            ulen = consumed = m;
        } else {
            size_t k = u8_valid_len(in + i, len - i);
            if (k) {
                ulen = consumed = k;
            } else {
                u = REPLACEMENT;
                ulen = 3;
                consumed = 1;
            }
        }
        size_t j = 0;
        if (prev_space) {
            while (j < ulen && u[j] == ' ')
                j++;
        }
        if (j < ulen) {
            for (; j < ulen; j++) {
                if (u[j] == ' ') {
                    memcpy(p, sp_sym, sp_len);
                    p += sp_len;
                } else {
                    *p++ = u[j];
                }
            }
            prev_space = u[ulen - 1] == ' ';
        }
        i += consumed;
    }
    /* drop trailing spaces (as written: "▁" when escaping, which includes a literal U+2581) */
    while ((size_t)(p - outp) >= sp_len && memcmp(p - sp_len, sp_sym, sp_len) == 0)
        p -= sp_len;
    return (size_t)(p - outp);
}

/* ---- BPE -------------------------------------------------------------------------- */

/*
 * Heap order: higher score first, then the leftmost pair (bpe_model.cc's comparator),
 * packed into one integer: the score mapped to an order-preserving u32 in the high half,
 * UINT32_MAX - left in the low half, so the heap compares one u64.
 */
static int heap_push(struct tok_scratch *s, uint32_t skey, int32_t left, int32_t right, int32_t id)
{
    if (s->heap_n == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 256;
        struct tok_pair *nh = mem_realloc_array(s->heap, cap, sizeof(*nh));
        if (!nh)
            return ASSAY_ENOMEM;
        s->heap = nh;
        s->heap_cap = cap;
    }
    struct tok_pair x = {((uint64_t)skey << 32) | (UINT32_MAX - (uint32_t)left), right, id};
    size_t i = s->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (x.key <= s->heap[parent].key)
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = x;
    return 0;
}

static struct tok_pair heap_pop(struct tok_scratch *s)
{
    struct tok_pair top = s->heap[0];
    struct tok_pair x = s->heap[--s->heap_n];
    size_t n = s->heap_n, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s->heap[c + 1].key > s->heap[c].key)
            c++;
        if (s->heap[c].key <= x.key)
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n > 0)
        s->heap[i] = x;
    return top;
}

static inline int32_t pair_left(const struct tok_pair *p)
{
    return (int32_t)(UINT32_MAX - (uint32_t)p->key);
}

/* Record the split of an UNUSED piece for resegmentation (bpe_model.cc's rev_merge:
 * the last pair pushed for a piece wins). */
static int rev_note(struct tok_scratch *s, int32_t id, uint32_t left_len)
{
    if (s->rev[id] < 0) {
        if (s->rev_touched_n == s->rev_touched_cap) {
            size_t cap = s->rev_touched_cap ? s->rev_touched_cap * 2 : 64;
            int32_t *nt = mem_realloc_array(s->rev_touched, cap, sizeof(*nt));
            if (!nt)
                return ASSAY_ENOMEM;
            s->rev_touched = nt;
            s->rev_touched_cap = cap;
        }
        s->rev_touched[s->rev_touched_n++] = id;
    }
    s->rev[id] = (int32_t)left_len;
    return 0;
}

/* MaybeAddNewSymbolPair. */
static inline int maybe_add_pair(const struct tok *t, struct tok_scratch *s, const char *nb,
                                 struct tok_sym *sym, int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return 0;
    const struct tok_sym *a = &sym[l], *b = &sym[r];
    if (a->freeze || b->freeze)
        return 0;
    int32_t id;
    if (a->code >= 0 && b->code >= 0) {
        id = t->pair_id[a->code * ASCII_CODES + b->code];
    } else {
        size_t n = (size_t)a->len + b->len;
        if (n > t->max_merge_len)
            return 0;
        id = map_find_padded(t, &t->merge, nb + a->start, n);
    }
    if (id < 0)
        return 0;
    if (t->type[id] == TOK_PIECE_UNUSED) {
        s->saw_unused = true;
        int rc = rev_note(s, id, a->len);
        if (rc)
            return rc;
    }
    return heap_push(s, t->score_key[id], l, r, id);
}

/* The merge loop of bpe_model.cc over sym[0..n_sym), a linked list from 0. */
static int bpe_merge(const struct tok *t, struct tok_scratch *s, const char *nb,
                     struct tok_sym *sym, size_t n_sym)
{
    int rc;
    s->heap_n = 0;
    for (size_t i = 1; i < n_sym; i++) {
        if ((rc = maybe_add_pair(t, s, nb, sym, (int32_t)i - 1, (int32_t)i)))
            return rc;
    }
    while (s->heap_n > 0) {
        struct tok_pair top = heap_pop(s);
        int32_t left = pair_left(&top);
        struct tok_sym *a = &sym[left], *b = &sym[top.right];
        if (a->len == 0 || b->len == 0 || a->len + b->len != t->len[top.id])
            continue; /* stale: one side has changed since the pair was pushed */
        a->len += b->len;
        a->id = top.id;
        a->code = -1;
        a->next = b->next;
        if (b->next >= 0)
            sym[b->next].prev = left;
        b->len = 0;
        if ((rc = maybe_add_pair(t, s, nb, sym, a->prev, left)) ||
            (rc = maybe_add_pair(t, s, nb, sym, left, a->next)))
            return rc;
    }
    return 0;
}

/* Append the ids of one output piece: byte pieces for an unknown piece with byte
 * fallback (SentencePieceProcessor's PopulateSentencePieceText). */
static inline void emit(const struct tok *t, struct tok_scratch *s, int32_t id, const char *w,
                        size_t n)
{
    if (id < 0)
        id = t->unk_id;
    if (id == t->unk_id && t->byte_fallback) {
        for (size_t i = 0; i < n; i++)
            s->ids[s->ids_n++] = t->byte_id[(uint8_t)w[i]];
    } else {
        s->ids[s->ids_n++] = id;
    }
}

/* bpe_model.cc's resegment: split a merged UNUSED piece back into the pair it came from. */
static void resegment(const struct tok *t, struct tok_scratch *s, const char *w, size_t n)
{
    int32_t id = piece_to_id(t, w, n);
    if (id < 0 || t->type[id] != TOK_PIECE_UNUSED || s->rev[id] < 0 || (size_t)s->rev[id] >= n) {
        emit(t, s, id, w, n);
        return;
    }
    size_t left = (size_t)s->rev[id];
    resegment(t, s, w, left);
    resegment(t, s, w + left, n - left);
}

/* The final id of one symbol (PieceToId, unknown as -1). */
static inline int32_t symbol_id(const struct tok *t, const struct tok_sym *y, const char *w)
{
    if (y->id >= 0)
        return t->final_id[y->id];
    if (y->len == 1 && (uint8_t)w[0] < 0x80)
        return t->ascii_id[(uint8_t)w[0]];
    return piece_to_id_padded(t, w, y->len);
}

/* Emit a piece matched by the trie: its id, except that the unknown piece matched as a
 * special token (TOK_ENCODE_SPECIAL) is the unknown id, not its bytes. */
static inline void emit_matched(const struct tok *t, struct tok_scratch *s, int32_t id,
                                const char *w, size_t n)
{
    if (t->type[id] == TOK_PIECE_UNKNOWN)
        s->ids[s->ids_n++] = id;
    else
        emit(t, s, t->final_id[id], w, n);
}

/* Emit the symbols of a merged list starting at sym[0]. */
static void emit_symbols(const struct tok *t, struct tok_scratch *s, const char *nb,
                         const struct tok_sym *sym)
{
    for (int32_t i = 0; i != -1; i = sym[i].next) {
        const struct tok_sym *y = &sym[i];
        const char *w = nb + y->start;
        if (y->freeze) {
            emit_matched(t, s, y->id, w, y->len);
            continue;
        }
        int32_t id = symbol_id(t, y, w);
        if (id >= 0 && t->type[id] == TOK_PIECE_UNUSED)
            resegment(t, s, w, y->len);
        else
            emit(t, s, id, w, y->len);
    }
}

/* Split nb[0..nn) into symbols: at each position the longest user-defined piece (frozen)
 * or one character. */
static size_t split_symbols(const struct tok_trie *trie, const char *nb, size_t nn,
                            struct tok_sym *sym)
{
    size_t n_sym = 0;
    for (size_t pos = 0; pos < nn;) {
        uint8_t c = (uint8_t)nb[pos];
        size_t len = 0;
        int32_t id = -1;
        if (trie->root[c] >= 0)
            len = trie_longest(trie, nb + pos, nn - pos, &id);
        struct tok_sym *y = &sym[n_sym];
        if (len) {
            y->freeze = true;
            y->id = id;
            y->code = -1;
        } else {
            len = one_char_len(c);
            if (len > nn - pos)
                len = nn - pos;
            y->freeze = false;
            y->id = -1;
            y->code = symbol_code(nb + pos, len);
        }
        y->start = (uint32_t)pos;
        y->len = (uint32_t)len;
        y->prev = (int32_t)n_sym - 1;
        y->next = (int32_t)n_sym + 1;
        n_sym++;
        pos += len;
    }
    if (n_sym)
        sym[n_sym - 1].next = -1;
    return n_sym;
}

/* Exactly bpe_model.cc: the whole text as one symbol list. */
static int bpe_encode_whole(const struct tok *t, struct tok_scratch *s, const struct tok_trie *trie,
                            const char *nb, size_t nn)
{
    size_t n_sym = split_symbols(trie, nb, nn, s->sym);
    if (n_sym == 0)
        return 0;
    int rc = bpe_merge(t, s, nb, s->sym, n_sym);
    if (rc)
        return rc;
    emit_symbols(t, s, nb, s->sym);
    return 0;
}

/* ---- chunk cache ---------------------------------------------------------------- */

static void cache_clear(struct tok_scratch *s)
{
    memset(s->cache, 0, CACHE_SLOTS * sizeof(*s->cache));
    s->cache_n = 0;
    s->cache_keys_used = 0;
    s->cache_ids_used = 0;
}

/* Ready the cache for t; false when it cannot be used (allocation failed). */
static bool cache_ready(const struct tok *t, struct tok_scratch *s)
{
    if (s->cache_failed)
        return false;
    if (!s->cache) {
        s->cache = mem_alloc_array(CACHE_SLOTS, sizeof(*s->cache));
        s->cache_keys = malloc(CACHE_KEY_BYTES);
        s->cache_ids = mem_alloc_array(CACHE_IDS, sizeof(*s->cache_ids));
        if (!s->cache || !s->cache_keys || !s->cache_ids) {
            s->cache_failed = true;
            return false;
        }
        cache_clear(s);
        s->cache_owner = t->fingerprint;
    }
    if (s->cache_owner != t->fingerprint) {
        cache_clear(s);
        s->cache_owner = t->fingerprint;
    }
    return true;
}

static inline const struct tok_cache_slot *cache_find(const struct tok_scratch *s, const char *key,
                                                      size_t len, uint32_t h)
{
    size_t i = h & (CACHE_SLOTS - 1);
    for (;;) {
        const struct tok_cache_slot *sl = &s->cache[i];
        if (sl->key_len == 0)
            return NULL;
        if (sl->hash == h && sl->key_len == len &&
            memcmp(s->cache_keys + sl->key_off, key, len) == 0)
            return sl;
        i = (i + 1) & (CACHE_SLOTS - 1);
    }
}

static void cache_put(struct tok_scratch *s, const char *key, size_t len, uint32_t h,
                      const int32_t *ids, size_t n)
{
    if (n > 255)
        return;
    if (s->cache_n >= CACHE_SLOTS / 2 || s->cache_keys_used + len > CACHE_KEY_BYTES ||
        s->cache_ids_used + n > CACHE_IDS)
        cache_clear(s);
    size_t i = h & (CACHE_SLOTS - 1);
    while (s->cache[i].key_len != 0)
        i = (i + 1) & (CACHE_SLOTS - 1);
    struct tok_cache_slot *sl = &s->cache[i];
    sl->hash = h;
    sl->key_off = (uint32_t)s->cache_keys_used;
    sl->ids_off = (uint32_t)s->cache_ids_used;
    sl->key_len = (uint8_t)len;
    sl->n_ids = (uint8_t)n;
    memcpy(s->cache_keys + s->cache_keys_used, key, len);
    memcpy(s->cache_ids + s->cache_ids_used, ids, n * sizeof(*ids));
    s->cache_keys_used += len;
    s->cache_ids_used += n;
    s->cache_n++;
}

/* Emit one symbol (emit_symbols for a list of one). */
static inline void emit_symbol(const struct tok *t, struct tok_scratch *s, int32_t id,
                               const char *w, size_t n)
{
    if (id >= 0 && t->type[id] == TOK_PIECE_UNUSED)
        resegment(t, s, w, n);
    else
        emit(t, s, id, w, n);
}

/*
 * The same result, chunk by chunk. A merge can only join characters that are adjacent
 * inside some mergeable piece, so between two characters that are never adjacent in any
 * piece (pair_cut, e.g. "x" then "▁" when no piece has a space after a letter) no merge
 * ever happens, nor next to a frozen piece: the pieces on each side evolve
 * independently, in the same relative order as in one big list. Chunks are about a word
 * long, so the heap stays tiny, and a chunk's ids depend on its bytes and the vocabulary
 * only, so they are cached in the scratch. The one global state is bpe_model.cc's
 * rev_merge for UNUSED pieces (the last pair pushed anywhere wins); when an UNUSED piece
 * is pushed, *retry is set and the caller redoes the text as one list (such chunks are
 * never cached, so a cached chunk never pushes one).
 */
static int bpe_encode_chunked(const struct tok *t, struct tok_scratch *s,
                              const struct tok_trie *trie, const char *nb, size_t nn, bool *retry)
{
    struct tok_sym *sym = s->sym;
    size_t pos = 0;
    size_t m_len = 0; /* a user-defined match found at pos while ending a chunk */
    int32_t m_id = -1;
    int rc;
    bool use_cache = cache_ready(t, s);

    *retry = false;
    s->saw_unused = false;
    if (pos < nn && trie->root[(uint8_t)nb[0]] >= 0)
        m_len = trie_longest(trie, nb, nn, &m_id);
    while (pos < nn) {
        if (m_len) { /* a frozen piece is its own chunk */
            emit_matched(t, s, m_id, nb + pos, m_len);
            pos += m_len;
            m_len = 0;
            if (pos < nn && trie->root[(uint8_t)nb[pos]] >= 0)
                m_len = trie_longest(trie, nb + pos, nn - pos, &m_id);
            continue;
        }
        /* Find the end of the chunk. */
        size_t start = pos, n_chars = 0;
        for (;;) {
            uint8_t c = (uint8_t)nb[pos];
            size_t len = c < 0x80 ? 1 : one_char_len(c);
            if (len > nn - pos)
                len = nn - pos;
            int16_t code = c < 0x80 ? (int16_t)c : symbol_code(nb + pos, len);
            n_chars++;
            pos += len;
            if (pos >= nn)
                break;
            c = (uint8_t)nb[pos];
            if (trie->root[c] >= 0) {
                m_len = trie_longest(trie, nb + pos, nn - pos, &m_id);
                if (m_len)
                    break;
            }
            if (code >= 0) {
                int16_t nc = -1;
                if (c < 0x80)
                    nc = (int16_t)c;
                else if (c == 0xE2 && nn - pos >= SPACE_SYM_LEN)
                    nc = symbol_code(nb + pos, SPACE_SYM_LEN);
                if (nc >= 0 && t->pair_cut[code * ASCII_CODES + nc])
                    break;
            }
        }
        const char *w = nb + start;
        size_t clen = pos - start;
        if (n_chars == 1) {
            int32_t id = clen == 1 && (uint8_t)w[0] < 0x80 ? t->ascii_id[(uint8_t)w[0]]
                                                           : piece_to_id_padded(t, w, clen);
            emit_symbol(t, s, id, w, clen);
            continue;
        }
        uint32_t h = 0;
        bool cacheable = use_cache && clen <= CACHE_MAX_KEY;
        if (cacheable) {
            h = tok_hash_padded(w, clen);
            const struct tok_cache_slot *sl = cache_find(s, w, clen, h);
            if (sl) {
                memcpy(s->ids + s->ids_n, s->cache_ids + sl->ids_off, sl->n_ids * sizeof(*s->ids));
                s->ids_n += sl->n_ids;
                continue;
            }
        }
        /* Split the chunk into characters and merge. */
        size_t n_sym = 0;
        for (size_t p = start; p < pos;) {
            size_t len = one_char_len((uint8_t)nb[p]);
            if (len > pos - p)
                len = pos - p;
            struct tok_sym *y = &sym[n_sym];
            y->start = (uint32_t)p;
            y->len = (uint32_t)len;
            y->prev = (int32_t)n_sym - 1;
            y->next = (int32_t)n_sym + 1;
            y->id = -1;
            y->freeze = false;
            y->code = symbol_code(nb + p, len);
            n_sym++;
            p += len;
        }
        sym[n_sym - 1].next = -1;
        if ((rc = bpe_merge(t, s, nb, sym, n_sym)))
            return rc;
        if (s->saw_unused) {
            *retry = true;
            return 0;
        }
        size_t before = s->ids_n;
        emit_symbols(t, s, nb, sym);
        if (cacheable)
            cache_put(s, w, clen, h, s->ids + before, s->ids_n - before);
    }
    return 0;
}

static int bpe_encode(const struct tok *t, struct tok_scratch *s, const struct tok_trie *trie,
                      const char *nb, size_t nn, bool one_list)
{
    size_t ids_start = s->ids_n;
    bool retry = false;
    if (one_list)
        return bpe_encode_whole(t, s, trie, nb, nn);
    int rc = bpe_encode_chunked(t, s, trie, nb, nn, &retry);
    if (rc || !retry)
        return rc;
    s->ids_n = ids_start;
    return bpe_encode_whole(t, s, trie, nb, nn);
}

int tok_encode_scratch(const struct tok *t, struct tok_scratch *s, const char *text, size_t len,
                       unsigned flags, const int32_t **ids_out, size_t *n_out,
                       struct assay_error *err)
{
    int rc = 0;
    *ids_out = NULL;
    *n_out = 0;
    if (len > TOK_MAX_TEXT_BYTES)
        return err_set(err, ASSAY_ELIMIT, "text of %zu bytes is longer than the limit %zu", len,
                       TOK_MAX_TEXT_BYTES);
    if ((flags & TOK_ENCODE_BOS) && t->bos_id < 0)
        return err_set(err, ASSAY_EUSAGE, "bos requested but the vocabulary has no bos piece");
    if ((flags & TOK_ENCODE_EOS) && t->eos_id < 0)
        return err_set(err, ASSAY_EUSAGE, "eos requested but the vocabulary has no eos piece");
    const struct tok_trie *trie = (flags & TOK_ENCODE_SPECIAL) ? &t->ud_ctl : &t->ud;

    /* Each input byte becomes at most 3 bytes ("▁" or U+FFFD), plus a dummy prefix. */
    size_t norm_max = 3 * len + 3;
    if (ensure_cap((void **)&s->norm, &s->norm_cap, norm_max + PAD, 1))
        return err_set(err, ASSAY_ENOMEM, "encoding %zu bytes: out of memory", len);
    if (t->has_unused && s->rev_cap < t->n_vocab) {
        int32_t *nr = mem_alloc_array(t->n_vocab, sizeof(*nr));
        if (!nr)
            return err_set(err, ASSAY_ENOMEM, "encoding: out of memory");
        free(s->rev);
        s->rev = nr;
        s->rev_cap = t->n_vocab;
        for (size_t i = 0; i < t->n_vocab; i++)
            s->rev[i] = -1;
        s->rev_touched_n = 0;
    }

    size_t nn = normalize(t, trie, text, len, s->norm);
    memset(s->norm + nn, 0, PAD); /* what the padded loads see past the end */
    /* At most one symbol per normalized byte, and at most one id per byte (byte fallback)
     * plus BOS and EOS. */
    if (ensure_cap((void **)&s->sym, &s->sym_cap, nn + 1, sizeof(*s->sym)) ||
        ensure_cap((void **)&s->ids, &s->ids_cap, nn + 2, sizeof(*s->ids)))
        return err_set(err, ASSAY_ENOMEM, "encoding %zu bytes: out of memory", len);
    s->ids_n = 0;
    if (flags & TOK_ENCODE_BOS)
        s->ids[s->ids_n++] = t->bos_id;
    rc = bpe_encode(t, s, trie, s->norm, nn, (flags & TOK_ENCODE_ONE_LIST) != 0);
    for (size_t i = 0; i < s->rev_touched_n; i++)
        s->rev[s->rev_touched[i]] = -1;
    s->rev_touched_n = 0;
    if (rc)
        return err_set(err, rc, "encoding %zu bytes: out of memory", len);
    if (flags & TOK_ENCODE_EOS)
        s->ids[s->ids_n++] = t->eos_id;
    *ids_out = s->ids;
    *n_out = s->ids_n;
    return 0;
}

int tok_encode(const struct tok *t, const char *text, size_t len, unsigned flags, int32_t **ids_out,
               size_t *n_out, struct assay_error *err)
{
    struct tok_scratch *s = NULL;
    const int32_t *ids;
    size_t n;
    int rc;

    *ids_out = NULL;
    *n_out = 0;
    if ((rc = tok_scratch_new(&s, err)))
        return rc;
    rc = tok_encode_scratch(t, s, text, len, flags, &ids, &n, err);
    if (rc)
        goto out;
    int32_t *copy = mem_alloc_array(n ? n : 1, sizeof(*copy));
    if (!copy) {
        rc = err_set(err, ASSAY_ENOMEM, "encoding: out of memory");
        goto out;
    }
    memcpy(copy, ids, n * sizeof(*copy));
    *ids_out = copy;
    *n_out = n;
out:
    tok_scratch_free(s);
    return rc;
}

/* ---- decoding --------------------------------------------------------------------- */

void tok_stream_init(struct tok_stream *s, unsigned flags)
{
    memset(s, 0, sizeof(*s));
    s->flags = flags;
    s->is_bos_ws = true;
}

/* Write the held bytes that form complete characters (all of them when `all`: the run
 * of byte pieces has ended), each invalid byte as U+FFFD (ProcessBytePieces). */
static int stream_drain(struct tok_stream *s, struct buf *out, bool all)
{
    int rc;
    while (s->n_pending > 0) {
        uint8_t c = s->pending[0];
        size_t need = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 1;
        if (need > (size_t)s->n_pending && !all)
            break;
        size_t k = u8_valid_len(s->pending, (size_t)s->n_pending);
        if (k) {
            rc = buf_add(out, s->pending, k);
        } else {
            rc = buf_add(out, REPLACEMENT, 3);
            k = 1;
        }
        if (rc)
            return rc;
        s->any_text = true;
        memmove(s->pending, s->pending + k, (size_t)s->n_pending - k);
        s->n_pending -= (int)k;
    }
    return 0;
}

/* Append a piece with every "▁" turned into ' '. */
static int add_unescaped(struct buf *out, const char *p, size_t n)
{
    size_t i = 0, run = 0;
    int rc;
    while (i + run < n) {
        if (i + run + SPACE_SYM_LEN <= n && memcmp(p + i + run, SPACE_SYM, SPACE_SYM_LEN) == 0) {
            if ((rc = buf_add(out, p + i, run)) || (rc = buf_add_ch(out, ' ')))
                return rc;
            i += run + SPACE_SYM_LEN;
            run = 0;
        } else {
            run++;
        }
    }
    return buf_add(out, p + i, run);
}

int tok_stream_push(const struct tok *t, struct tok_stream *s, int32_t id, struct buf *out,
                    struct assay_error *err)
{
    int rc;
    if (id < 0 || (size_t)id >= t->n_vocab)
        return err_set(err, ASSAY_EINVAL, "token id %d out of range (vocab %zu)", (int)id,
                       t->n_vocab);
    /* DecodeIds looks each piece up again, so a string that is both a reserved and a
     * mergeable piece decodes as the reserved one. */
    id = t->final_id[id];
    int ty = t->type[id];
    size_t before = out->len;
    if (ty == TOK_PIECE_BYTE) {
        if (s->n_pending == 4) { /* cannot happen: a full 4-byte sequence drains */
            if ((rc = stream_drain(s, out, true)))
                goto nomem;
        }
        s->pending[s->n_pending++] = (uint8_t)parse_byte_piece(piece_at(t, id), t->len[id]);
        if ((rc = stream_drain(s, out, false)))
            goto nomem;
        return 0;
    }
    if ((rc = stream_drain(s, out, true)))
        goto nomem;
    if (s->bos_ws_seen || s->any_text)
        s->is_bos_ws = false;
    const char *p = piece_at(t, id);
    size_t n = t->len[id];
    bool has_bos_ws = false;
    if (ty == TOK_PIECE_CONTROL) {
        if ((s->flags & TOK_DECODE_SPECIAL) && (rc = buf_add(out, p, n)))
            goto nomem;
    } else if (ty == TOK_PIECE_UNKNOWN) {
        if ((rc = buf_add(out, t->unk_surface, t->unk_surface_len)))
            goto nomem;
    } else {
        if (s->is_bos_ws && (t->add_dummy_prefix || t->remove_extra_ws) && n >= SPACE_SYM_LEN &&
            memcmp(p, SPACE_SYM, SPACE_SYM_LEN) == 0) {
            p += SPACE_SYM_LEN;
            n -= SPACE_SYM_LEN;
            has_bos_ws = !t->remove_extra_ws;
        }
        if ((rc = add_unescaped(out, p, n)))
            goto nomem;
    }
    s->bos_ws_seen = has_bos_ws;
    if (out->len > before)
        s->any_text = true;
    return 0;
nomem:
    return err_set(err, rc, "decoding: output buffer full or out of memory");
}

int tok_stream_finish(const struct tok *t, struct tok_stream *s, struct buf *out,
                      struct assay_error *err)
{
    int rc = stream_drain(s, out, true);
    if (rc)
        return err_set(err, rc, "decoding: output buffer full or out of memory");
    return 0;
}

int tok_decode(const struct tok *t, const int32_t *ids, size_t n, unsigned flags, char **text_out,
               size_t *len_out, struct assay_error *err)
{
    struct buf b;
    struct tok_stream st;
    int rc = 0;

    *text_out = NULL;
    if (len_out)
        *len_out = 0;
    buf_init(&b, 0);
    tok_stream_init(&st, flags);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= t->n_vocab) {
            rc = err_set(err, ASSAY_EINVAL, "token id %d at position %zu out of range (vocab %zu)",
                         (int)ids[i], i, t->n_vocab);
            goto out;
        }
        if ((rc = tok_stream_push(t, &st, ids[i], &b, err)))
            goto out;
    }
    if ((rc = tok_stream_finish(t, &st, &b, err)))
        goto out;
    size_t len;
    char *s = buf_detach(&b, &len);
    if (!s) {
        rc = err_set(err, ASSAY_ENOMEM, "decoding: out of memory");
        goto out;
    }
    *text_out = s;
    if (len_out)
        *len_out = len;
out:
    buf_release(&b);
    return rc;
}
