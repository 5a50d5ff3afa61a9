/*
 * engine/tok_encode.c - SentencePiece BPE encoding (see engine/tok.c for the lookup
 * structures): normalization as normalizer.cc with the identity rule, user-defined
 * pieces matched greedily by the byte trie, bpe_model.cc's merge loop over a heap of
 * scored pairs, byte fallback, and a cache of the ids of short chunks. Everything lives
 * in a struct tok_scratch that grows to the largest text seen and is reused, so the
 * merge loop never allocates (the heap may grow by doubling).
 */
#include "engine/tok.h"
#include "engine/tok_int.h"

#include "base/error.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
