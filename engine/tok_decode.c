/*
 * engine/tok_decode.c - decoding as sentencepiece's DecodeIds: pieces joined, "▁" back
 * to spaces, byte pieces gathered into UTF-8 (invalid sequences become U+FFFD), control
 * pieces dropped unless asked for; incremental through struct tok_stream.
 */
#include "engine/tok.h"
#include "engine/tok_int.h"

#include "base/buf.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

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
