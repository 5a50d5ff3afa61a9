/*
 * engine/tok_int.h - what the tokenizer's files share (tok.c builds the tables,
 * tok_encode.c encodes, tok_decode.c decodes): the struct tok, the scratch of an
 * encoding, and the small lookups on the hot path (hash map probe, byte trie walk, UTF-8
 * lengths), kept inline. Not for other files: engine/tok.h is the interface.
 */
#ifndef ASSAY_ENGINE_TOK_INT_H
#define ASSAY_ENGINE_TOK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/tok.h"

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

static inline int32_t map_find(const struct tok *t, const struct tok_map *m, const char *s, size_t n)
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
static inline int parse_byte_piece(const char *s, size_t n)
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

#endif
