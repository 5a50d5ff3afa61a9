/*
 * engine/tok_spm.c - read a SentencePiece `tokenizer.model` (a serialized
 * sentencepiece.ModelProto) into a struct tok.
 *
 * A hand-written reader of the protobuf wire format: a message is a sequence of
 * (varint key = field << 3 | wire type, value) with wire types 0 varint, 1 fixed64,
 * 2 length-delimited, 5 fixed32. Every length is checked against the bytes left in its
 * enclosing message before it is used, varints longer than 10 bytes are rejected, and
 * unknown fields are skipped by their wire type, so garbage gives an error with the
 * byte offset and never a crash. Groups (wire types 3 and 4) are rejected.
 *
 * Fields read (sentencepiece_model.proto):
 *   ModelProto     1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec,
 *                  5 denormalizer_spec
 *   SentencePiece  1 piece (string), 2 score (float), 3 type (enum, default NORMAL)
 *   TrainerSpec    3 model_type (default UNIGRAM), 24 treat_whitespace_as_suffix,
 *                  35 byte_fallback, 44 unk_surface, 45..48 unk/bos/eos/pad_piece
 *   NormalizerSpec 1 name, 2 precompiled_charsmap, 3 add_dummy_prefix (default true),
 *                  4 remove_extra_whitespaces (default true), 5 escape_whitespaces
 *                  (default true)
 * Special ids are found as sentencepiece's bos_id() etc. do: the id of bos_piece
 * (default "<s>") if that piece is a CONTROL piece, else none.
 * Pieces are not copied here: the desc points into the file, and tok_new_from_vocab
 * copies what it keeps, so the file is unmapped before returning.
 */
#include "engine/tok.h"

#include "base/error.h"
#include "base/file.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* A view of one message: [pos, end) in the file, with base for offsets in messages. */
struct pb {
    const uint8_t *data; /* the whole file */
    size_t pos, end;
    const char *name;
    struct assay_error *err;
};

static int pb_fail(struct pb *p, size_t at, const char *what)
{
    return err_set_off(p->err, ASSAY_EINVAL, p->name, (int64_t)at, "%s", what);
}

static int pb_varint(struct pb *p, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = p->pos;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p->pos >= p->end)
            return pb_fail(p, start, "protobuf varint runs past the end of its message");
        uint8_t b = p->data[p->pos++];
        if (shift == 63 && b > 1)
            return pb_fail(p, start, "protobuf varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return pb_fail(p, start, "protobuf varint longer than 10 bytes");
}

/* One field: its number, wire type and value (a varint, or a [off, off+len) slice). */
struct pb_field {
    uint32_t num;
    int wt;
    uint64_t v;      /* varint, fixed32 or fixed64 value */
    size_t off, len; /* WT_LEN: the payload */
    size_t at;       /* offset of the key, for messages */
};

static int pb_next(struct pb *p, struct pb_field *f)
{
    int rc;
    uint64_t key;
    f->at = p->pos;
    if ((rc = pb_varint(p, &key)))
        return rc;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
        return pb_fail(p, f->at, "protobuf field number 0 or out of range");
    switch (f->wt) {
    case WT_VARINT:
        return pb_varint(p, &f->v);
    case WT_I64:
        if (p->end - p->pos < 8)
            return pb_fail(p, f->at, "protobuf fixed64 field runs past the end of its message");
        f->v = 0;
        for (int i = 0; i < 8; i++)
            f->v |= (uint64_t)p->data[p->pos + (size_t)i] << (8 * i);
        p->pos += 8;
        return 0;
    case WT_I32:
        if (p->end - p->pos < 4)
            return pb_fail(p, f->at, "protobuf fixed32 field runs past the end of its message");
        f->v = 0;
        for (int i = 0; i < 4; i++)
            f->v |= (uint64_t)p->data[p->pos + (size_t)i] << (8 * i);
        p->pos += 4;
        return 0;
    case WT_LEN: {
        uint64_t n;
        if ((rc = pb_varint(p, &n)))
            return rc;
        if (n > p->end - p->pos) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "protobuf field %u: length %llu runs past the end of its message "
                     "(%zu bytes left)",
                     f->num, (unsigned long long)n, p->end - p->pos);
            return pb_fail(p, f->at, msg);
        }
        f->off = p->pos;
        f->len = (size_t)n;
        p->pos += (size_t)n;
        return 0;
    }
    default: {
        char msg[96];
        snprintf(msg, sizeof(msg), "protobuf field %u: unsupported wire type %d", f->num, f->wt);
        return pb_fail(p, f->at, msg);
    }
    }
}

static struct pb pb_sub(const struct pb *p, const struct pb_field *f)
{
    struct pb s = *p;
    s.pos = f->off;
    s.end = f->off + f->len;
    return s;
}

static int pb_expect(struct pb *p, const struct pb_field *f, int wt, const char *what)
{
    if (f->wt == wt)
        return 0;
    char msg[128];
    snprintf(msg, sizeof(msg), "%s (field %u) has wire type %d, expected %d", what, f->num, f->wt,
             wt);
    return pb_fail(p, f->at, msg);
}

/* A string field. */
struct spm_str {
    const char *s;
    size_t len;
};

struct spm_model {
    size_t n_pieces;
    const char **pieces;
    size_t *lens;
    float *scores;
    int32_t *types;
    /* trainer spec */
    int64_t model_type;
    bool treat_ws_as_suffix, byte_fallback;
    struct spm_str unk_surface, unk_piece, bos_piece, eos_piece, pad_piece;
    bool has_unk_surface;
    /* normalizer spec */
    bool add_dummy_prefix, remove_extra_ws, escape_ws;
    size_t charsmap_len, denorm_charsmap_len;
    struct spm_str norm_name;
};

static int parse_piece(struct pb *p, struct spm_model *m, size_t i)
{
    int rc;
    struct pb_field f;
    m->pieces[i] = "";
    m->lens[i] = 0;
    m->scores[i] = 0.0f;
    m->types[i] = TOK_PIECE_NORMAL;
    while (p->pos < p->end) {
        if ((rc = pb_next(p, &f)))
            return rc;
        switch (f.num) {
        case 1:
            if ((rc = pb_expect(p, &f, WT_LEN, "piece")))
                return rc;
            m->pieces[i] = (const char *)p->data + f.off;
            m->lens[i] = f.len;
            break;
        case 2: {
            if ((rc = pb_expect(p, &f, WT_I32, "score")))
                return rc;
            uint32_t bits = (uint32_t)f.v;
            float sc;
            memcpy(&sc, &bits, sizeof(sc));
            m->scores[i] = sc;
            break;
        }
        case 3:
            if ((rc = pb_expect(p, &f, WT_VARINT, "type")))
                return rc;
            if (f.v < TOK_PIECE_NORMAL || f.v > TOK_PIECE_BYTE) {
                char msg[96];
                snprintf(msg, sizeof(msg), "piece %zu: unknown type %llu", i,
                         (unsigned long long)f.v);
                return pb_fail(p, f.at, msg);
            }
            m->types[i] = (int32_t)f.v;
            break;
        default:
            break;
        }
    }
    if (m->lens[i] == 0) {
        char msg[64];
        snprintf(msg, sizeof(msg), "piece %zu is empty", i);
        return pb_fail(p, p->end, msg);
    }
    return 0;
}

static int parse_trainer(struct pb *p, struct spm_model *m)
{
    int rc;
    struct pb_field f;
    while (p->pos < p->end) {
        if ((rc = pb_next(p, &f)))
            return rc;
        struct spm_str *str = NULL;
        switch (f.num) {
        case 3:
            if ((rc = pb_expect(p, &f, WT_VARINT, "trainer_spec.model_type")))
                return rc;
            m->model_type = (int64_t)f.v;
            break;
        case 24:
            if ((rc = pb_expect(p, &f, WT_VARINT, "trainer_spec.treat_whitespace_as_suffix")))
                return rc;
            m->treat_ws_as_suffix = f.v != 0;
            break;
        case 35:
            if ((rc = pb_expect(p, &f, WT_VARINT, "trainer_spec.byte_fallback")))
                return rc;
            m->byte_fallback = f.v != 0;
            break;
        case 44:
            str = &m->unk_surface;
            m->has_unk_surface = true;
            break;
        case 45:
            str = &m->unk_piece;
            break;
        case 46:
            str = &m->bos_piece;
            break;
        case 47:
            str = &m->eos_piece;
            break;
        case 48:
            str = &m->pad_piece;
            break;
        default:
            break;
        }
        if (str) {
            if ((rc = pb_expect(p, &f, WT_LEN, "trainer_spec string")))
                return rc;
            str->s = (const char *)p->data + f.off;
            str->len = f.len;
        }
    }
    return 0;
}

static int parse_normalizer(struct pb *p, struct spm_model *m, bool denorm)
{
    int rc;
    struct pb_field f;
    while (p->pos < p->end) {
        if ((rc = pb_next(p, &f)))
            return rc;
        switch (f.num) {
        case 1:
            if ((rc = pb_expect(p, &f, WT_LEN, "normalizer_spec.name")))
                return rc;
            if (!denorm) {
                m->norm_name.s = (const char *)p->data + f.off;
                m->norm_name.len = f.len;
            }
            break;
        case 2:
            if ((rc = pb_expect(p, &f, WT_LEN, "normalizer_spec.precompiled_charsmap")))
                return rc;
            if (denorm)
                m->denorm_charsmap_len = f.len;
            else
                m->charsmap_len = f.len;
            break;
        case 3:
        case 4:
        case 5:
            if ((rc = pb_expect(p, &f, WT_VARINT, "normalizer_spec flag")))
                return rc;
            if (denorm)
                break;
            if (f.num == 3)
                m->add_dummy_prefix = f.v != 0;
            else if (f.num == 4)
                m->remove_extra_ws = f.v != 0;
            else
                m->escape_ws = f.v != 0;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* sentencepiece's bos_id() and friends: the piece named so, if it has the wanted type. */
static int32_t find_special(const struct spm_model *m, struct spm_str name, int type)
{
    for (size_t i = 0; i < m->n_pieces; i++) {
        if (m->lens[i] == name.len && memcmp(m->pieces[i], name.s, name.len) == 0)
            return m->types[i] == type ? (int32_t)i : -1;
    }
    return -1;
}

int tok_open_spm_mem(struct tok **out, const void *data, size_t size, const char *name,
                     struct assay_error *err)
{
    struct spm_model m;
    struct pb top = {data, 0, size, name ? name : "<memory>", err};
    struct pb_field f;
    int rc = 0;

    *out = NULL;
    memset(&m, 0, sizeof(m));
    m.model_type = 1; /* UNIGRAM, the proto default */
    m.add_dummy_prefix = m.remove_extra_ws = m.escape_ws = true;
    m.unk_piece = (struct spm_str){"<unk>", 5};
    m.bos_piece = (struct spm_str){"<s>", 3};
    m.eos_piece = (struct spm_str){"</s>", 4};
    m.pad_piece = (struct spm_str){"<pad>", 5};
    if (size == 0)
        return err_set_off(err, ASSAY_EINVAL, top.name, 0, "empty sentencepiece model");

    /* Pass 1: count the pieces (validating the top-level framing) before allocating. */
    size_t n = 0;
    while (top.pos < top.end) {
        if ((rc = pb_next(&top, &f)))
            return rc;
        if (f.num == 1) {
            if ((rc = pb_expect(&top, &f, WT_LEN, "pieces")))
                return rc;
            n++;
        }
    }
    if (n == 0)
        return err_set_off(err, ASSAY_EINVAL, top.name, 0, "no pieces: not a sentencepiece model");
    if (n > TOK_MAX_VOCAB)
        return err_set_off(err, ASSAY_ELIMIT, top.name, 0, "%zu pieces, more than the limit %d", n,
                           TOK_MAX_VOCAB);
    m.pieces = mem_alloc_array(n, sizeof(*m.pieces));
    m.lens = mem_alloc_array(n, sizeof(*m.lens));
    m.scores = mem_alloc_array(n, sizeof(*m.scores));
    m.types = mem_alloc_array(n, sizeof(*m.types));
    if (!m.pieces || !m.lens || !m.scores || !m.types) {
        rc = err_set(err, ASSAY_ENOMEM, "%s: out of memory", top.name);
        goto out;
    }

    /* Pass 2: the fields. */
    top.pos = 0;
    while (top.pos < top.end) {
        if ((rc = pb_next(&top, &f)))
            goto out;
        struct pb sub = pb_sub(&top, &f);
        switch (f.num) {
        case 1:
            if ((rc = parse_piece(&sub, &m, m.n_pieces)))
                goto out;
            m.n_pieces++;
            break;
        case 2:
            if ((rc = pb_expect(&top, &f, WT_LEN, "trainer_spec")) ||
                (rc = parse_trainer(&sub, &m)))
                goto out;
            break;
        case 3:
            if ((rc = pb_expect(&top, &f, WT_LEN, "normalizer_spec")) ||
                (rc = parse_normalizer(&sub, &m, false)))
                goto out;
            break;
        case 5:
            if ((rc = pb_expect(&top, &f, WT_LEN, "denormalizer_spec")) ||
                (rc = parse_normalizer(&sub, &m, true)))
                goto out;
            break;
        default:
            break;
        }
    }

    if (m.model_type != 2) {
        static const char *const names[] = {"?", "unigram", "bpe", "word", "char"};
        rc = err_set_off(err, ASSAY_EUNSUPPORTED, top.name, -1,
                         "model type %s (%lld) is not supported, only bpe",
                         m.model_type >= 0 && m.model_type <= 4 ? names[m.model_type] : "?",
                         (long long)m.model_type);
        goto out;
    }
    if (m.charsmap_len > 0 || m.denorm_charsmap_len > 0) {
        rc = err_set_off(err, ASSAY_EUNSUPPORTED, top.name, -1,
                         "normalizer '%.*s' with a precompiled charsmap (%zu bytes) is not "
                         "supported, only identity",
                         (int)(m.norm_name.len > 64 ? 64 : m.norm_name.len),
                         m.norm_name.s ? m.norm_name.s : "",
                         m.charsmap_len ? m.charsmap_len : m.denorm_charsmap_len);
        goto out;
    }
    if (m.treat_ws_as_suffix) {
        rc = err_set_off(err, ASSAY_EUNSUPPORTED, top.name, -1,
                         "treat_whitespace_as_suffix is not supported");
        goto out;
    }

    struct tok_vocab_desc d;
    tok_vocab_desc_init(&d);
    d.name = top.name;
    d.n_vocab = m.n_pieces;
    d.pieces = m.pieces;
    d.piece_lens = m.lens;
    d.scores = m.scores;
    d.types = m.types;
    d.bos_id = find_special(&m, m.bos_piece, TOK_PIECE_CONTROL);
    d.eos_id = find_special(&m, m.eos_piece, TOK_PIECE_CONTROL);
    d.pad_id = find_special(&m, m.pad_piece, TOK_PIECE_CONTROL);
    /* The file does not say; every sentencepiece LLM (Llama, Gemma) wants BOS first. */
    d.add_bos = d.bos_id >= 0;
    d.add_eos = false;
    d.add_dummy_prefix = m.add_dummy_prefix;
    d.remove_extra_whitespaces = m.remove_extra_ws;
    d.escape_whitespaces = m.escape_ws;
    d.byte_fallback = m.byte_fallback ? 1 : 0;
    if (m.has_unk_surface) {
        d.unk_surface = m.unk_surface.s;
        d.unk_surface_len = m.unk_surface.len;
    }
    rc = tok_new_from_vocab(out, &d, err);
out:
    free(m.pieces);
    free(m.lens);
    free(m.scores);
    free(m.types);
    return rc;
}

int tok_open_spm(struct tok **out, const char *path, struct assay_error *err)
{
    struct file_map fm;
    int rc;
    *out = NULL;
    memset(&fm, 0, sizeof(fm));
    if ((rc = file_map(&fm, path, err)))
        return rc;
    rc = tok_open_spm_mem(out, fm.data ? (const void *)fm.data : (const void *)"", fm.size, path,
                          err);
    file_unmap(&fm);
    return rc;
}
