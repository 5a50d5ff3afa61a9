/*
 * engine/tok.h - SentencePiece BPE tokenizer (Gemma, Llama 2, Mistral style vocabularies)
 * that encodes and decodes exactly as the official sentencepiece library (0.1.97) does.
 *
 * A struct tok is built from a SentencePiece `tokenizer.model` file (tok_open_spm, a
 * protobuf reader in tok_spm.c), from plain arrays (tok_new_from_vocab, the form GGUF
 * stores: tokenizer.ggml.tokens / scores / token_type) or from an open GGUF file
 * (tok_new_from_gguf, tok_gguf.c). It is immutable after creation: any number of threads
 * may encode and decode with one tok at once, each with its own struct tok_scratch.
 *
 * Encoding (sentencepiece's normalizer + bpe_model.cc):
 *   1. normalize: the identity normalizer (a precompiled_charsmap is not supported), with
 *      the normalizer spec's add_dummy_prefix, remove_extra_whitespaces and
 *      escape_whitespaces (' ' -> U+2581 "▁"); every byte that does not start a valid
 *      UTF-8 sequence becomes U+FFFD;
 *   2. split into symbols: at each position the longest USER_DEFINED piece (matched
 *      anywhere, even inside words; such symbols are never merged), else one character;
 *      with TOK_ENCODE_SPECIAL, CONTROL pieces (<start_of_turn>, <bos>...) match too;
 *   3. merge: repeatedly join the adjacent pair whose concatenation is a NORMAL,
 *      USER_DEFINED or UNUSED piece with the highest score (ties: leftmost), with a heap
 *      and a linked list; merged UNUSED pieces are split back into their parts;
 *   4. each symbol that is not a piece becomes its UTF-8 bytes as <0xXX> pieces when the
 *      model has byte fallback, else the unknown id.
 * There is no digit splitting step: sentencepiece does not have one at encode time (a
 * model trained with split_digits simply has no multi-digit pieces).
 * BOS and EOS are added only when the caller asks (TOK_ENCODE_BOS / _EOS): the model's
 * own preference is reported by tok_add_bos / tok_add_eos. Gemma wants exactly one BOS.
 *
 * Decoding: control pieces produce nothing (TOK_DECODE_SPECIAL: their text), the
 * unknown piece produces the model's unk_surface (" ⁇ "), runs of byte pieces are
 * reassembled into UTF-8 with each invalid byte becoming U+FFFD, "▁" becomes ' ', and a
 * leading "▁" is dropped only when the model adds a dummy prefix or removes extra
 * whitespace. struct tok_stream produces the same text one id at a time.
 *
 * Ownership: objects returned through **out belong to the caller and are freed with the
 * matching _free (NULL is a no-op). Pointers returned as values (tok_piece) are borrowed
 * from the tok and valid until tok_free. The ids tok_encode_scratch returns belong to
 * the scratch and are valid until its next use or tok_scratch_free.
 */
#ifndef ASSAY_ENGINE_TOK_H
#define ASSAY_ENGINE_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/* Piece types, with the numbers sentencepiece's ModelProto and llama.cpp's GGUF
 * tokenizer.ggml.token_type both use. */
enum tok_piece_type {
    TOK_PIECE_NORMAL = 1,
    TOK_PIECE_UNKNOWN = 2,
    TOK_PIECE_CONTROL = 3,
    TOK_PIECE_USER_DEFINED = 4,
    TOK_PIECE_UNUSED = 5,
    TOK_PIECE_BYTE = 6,
};

enum tok_encode_flags {
    TOK_ENCODE_BOS = 1 << 0,      /* prepend tok_bos_id (ASSAY_EUSAGE if the model has none) */
    TOK_ENCODE_EOS = 1 << 1,      /* append tok_eos_id (ASSAY_EUSAGE if the model has none) */
    TOK_ENCODE_SPECIAL = 1 << 2,  /* match CONTROL pieces (and the UNKNOWN piece) in the text,
                                   * e.g. "<start_of_turn>" or "<eos>" as one id, longest
                                   * first, as llama.cpp's parse_special does (sentencepiece
                                   * never does; chat templates need it). Without it they
                                   * are plain text, as the goldens show. */
    TOK_ENCODE_ONE_LIST = 1 << 3, /* merge over the whole text as one list, literally as
                                   * bpe_model.cc does, instead of word-sized chunks; the
                                   * result is the same, only slower (tests compare both) */
};

enum tok_decode_flags {
    TOK_DECODE_SPECIAL = 1 << 0, /* write CONTROL pieces as their text instead of nothing */
};

/* Limits: larger inputs fail with ASSAY_ELIMIT. */
#define TOK_MAX_VOCAB       (1 << 24)         /* pieces */
#define TOK_MAX_PIECE_BYTES 4096              /* one piece */
#define TOK_MAX_TEXT_BYTES  ((size_t)1 << 28) /* one encode call (256 MiB) */

struct tok; /* opaque, immutable after creation */

/*
 * A vocabulary as arrays, e.g. from GGUF metadata. Call tok_vocab_desc_init first: it
 * sets every field to the default noted here, then fill what you have.
 */
struct tok_vocab_desc {
    const char *name;               /* for messages ("<vocab>") */
    size_t n_vocab;                 /* pieces; 1..TOK_MAX_VOCAB */
    const char *const *pieces;      /* n_vocab pointers, UTF-8, not empty (required) */
    const size_t *piece_lens;       /* n_vocab byte lengths (NULL: pieces are NUL-terminated) */
    const float *scores;            /* n_vocab merge scores, higher merges first (NULL: all 0) */
    const int32_t *types;           /* n_vocab enum tok_piece_type (NULL: all NORMAL) */
    int32_t unk_id;                 /* -1 (default): the piece of type UNKNOWN */
    int32_t bos_id, eos_id, pad_id; /* -1 (default): none */
    bool add_bos, add_eos;          /* the model's wish, reported by tok_add_bos/_eos (false) */
    bool add_dummy_prefix;          /* GGUF add_space_prefix (false) */
    bool remove_extra_whitespaces;  /* (false) */
    bool escape_whitespaces;        /* ' ' -> U+2581 (true) */
    int byte_fallback;              /* 1 on, 0 off, -1 (default): on iff there are BYTE pieces */
    const char *unk_surface;        /* what decoding <unk> gives (NULL: " \xE2\x81\x87 ") */
    size_t unk_surface_len;         /* bytes at unk_surface */
};

void tok_vocab_desc_init(struct tok_vocab_desc *d);

/*
 * Build a tokenizer from arrays (copied: the desc may be freed afterwards). Checks what
 * sentencepiece checks when it loads a model: pieces not empty and unique within their
 * class, exactly one UNKNOWN piece (or a valid unk_id), BYTE pieces spelled "<0xXX>"
 * and, with byte fallback, all 256 of them; special ids in range.
 * ASSAY_EINVAL (the message names the piece index), ASSAY_ELIMIT, ASSAY_ENOMEM.
 */
int tok_new_from_vocab(struct tok **out, const struct tok_vocab_desc *desc,
                       struct assay_error *err);

/*
 * Read a SentencePiece model file (serialized sentencepiece.ModelProto). Only BPE models
 * with the identity normalizer are supported (ASSAY_EUNSUPPORTED otherwise, e.g.
 * unigram models or a precompiled_charsmap). Malformed files fail with ASSAY_EINVAL and
 * an error naming the file and the byte offset.
 */
int tok_open_spm(struct tok **out, const char *path, struct assay_error *err);
/* The same on size bytes in memory (not kept); name is used in messages. */
int tok_open_spm_mem(struct tok **out, const void *data, size_t size, const char *name,
                     struct assay_error *err);

/*
 * Build from the tokenizer.ggml.* metadata of an open GGUF file (tok_gguf.c; see there
 * for the keys and for what a GGUF cannot say about the original .model: pieces the
 * converter wrote as CONTROL are matched in text only with TOK_ENCODE_SPECIAL).
 * Nothing is borrowed from g. ASSAY_EUNSUPPORTED when tokenizer.ggml.model is not
 * "llama"; ASSAY_ENOTFOUND / ASSAY_EINVAL for missing or malformed keys.
 */
struct gguf;
int tok_new_from_gguf(struct tok **out, const struct gguf *g, struct assay_error *err);

void tok_free(struct tok *t);

/* Vocabulary facts. */
size_t tok_n_vocab(const struct tok *t);
/* The piece's bytes (NUL-terminated, "▁" for spaces, "<0x41>" for a byte piece) and its
 * length in *len (may be NULL); NULL for an id out of range. Borrowed. */
const char *tok_piece(const struct tok *t, int32_t id, size_t *len);
int tok_piece_type(const struct tok *t, int32_t id); /* enum tok_piece_type, 0: out of range */
float tok_piece_score(const struct tok *t, int32_t id);
/* Id of the piece with exactly these bytes (as sentencepiece's PieceToId: CONTROL,
 * UNKNOWN and BYTE pieces first), or -1 when there is none. */
int32_t tok_find_piece(const struct tok *t, const char *s, size_t len);
int32_t tok_bos_id(const struct tok *t); /* -1: none */
int32_t tok_eos_id(const struct tok *t);
int32_t tok_unk_id(const struct tok *t);
int32_t tok_pad_id(const struct tok *t);
bool tok_add_bos(const struct tok *t); /* what the model file asks for; encode ignores it */
bool tok_add_eos(const struct tok *t);
bool tok_byte_fallback(const struct tok *t);
/* Id of the byte piece <0xXX> for byte b, -1 without byte fallback. */
int32_t tok_byte_id(const struct tok *t, uint8_t b);

/*
 * Work buffers for encoding, reused across calls so the hot loop never allocates
 * (they grow to the largest text seen), and a cache of recent word encodings (about
 * 0.8 MiB, keyed by the tok's content, so one scratch may serve several toks). One per
 * thread; a scratch must not be used by two threads at once.
 */
struct tok_scratch;
int tok_scratch_new(struct tok_scratch **out, struct assay_error *err);
void tok_scratch_free(struct tok_scratch *s);

/*
 * Encode len bytes of text (any bytes; invalid UTF-8 is handled as sentencepiece does).
 * tok_encode returns a new array in *ids_out (caller frees with free(); NULL when *n_out
 * is 0 is possible). tok_encode_scratch returns ids owned by the scratch, valid until
 * its next use. flags: enum tok_encode_flags.
 * ASSAY_ELIMIT past TOK_MAX_TEXT_BYTES, ASSAY_EUSAGE for BOS/EOS the model lacks,
 * ASSAY_ENOMEM.
 */
int tok_encode(const struct tok *t, const char *text, size_t len, unsigned flags, int32_t **ids_out,
               size_t *n_out, struct assay_error *err);
int tok_encode_scratch(const struct tok *t, struct tok_scratch *s, const char *text, size_t len,
                       unsigned flags, const int32_t **ids_out, size_t *n_out,
                       struct assay_error *err);

/*
 * Decode ids into text (NUL-terminated, caller frees with free()), as sentencepiece's
 * DecodeIds. flags: enum tok_decode_flags. ASSAY_EINVAL for an id out of range (the
 * message gives its position), ASSAY_ENOMEM.
 */
int tok_decode(const struct tok *t, const int32_t *ids, size_t n, unsigned flags, char **text_out,
               size_t *len_out, struct assay_error *err);

/*
 * Streaming decode for generation: push ids one at a time; each push appends to out the
 * text that is final so far (byte pieces of an unfinished UTF-8 character are held back
 * until the character completes or cannot). After the last id, tok_stream_finish
 * appends what is held. The concatenation equals tok_decode of all the ids.
 * Initialise with tok_stream_init (no allocation; nothing to release).
 */
struct tok_stream {
    unsigned flags;     /* enum tok_decode_flags */
    uint8_t pending[4]; /* bytes of an unfinished character */
    int n_pending;
    bool is_bos_ws; /* sentencepiece's state: a leading "▁" may still be dropped */
    bool bos_ws_seen;
    bool any_text; /* something was written */
};
void tok_stream_init(struct tok_stream *s, unsigned flags);
int tok_stream_push(const struct tok *t, struct tok_stream *s, int32_t id, struct buf *out,
                    struct assay_error *err);
int tok_stream_finish(const struct tok *t, struct tok_stream *s, struct buf *out,
                      struct assay_error *err);

#endif
