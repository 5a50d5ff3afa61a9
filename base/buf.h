/*
 * base/buf.h - a growable byte buffer with a size cap (in the spirit of git's strbuf and
 * curl's dynbuf).
 *
 * The buffer owns its memory; buf_release frees it and buf_detach hands it to the
 * caller. The contents are always NUL-terminated (the NUL is not counted in len), so
 * data can be used as a C string when it holds text. Every append checks the cap set
 * at buf_init and fails with ASSAY_ELIMIT rather than growing past it; on any failure
 * the buffer is left as it was before the call.
 */
#ifndef ASSAY_BASE_BUF_H
#define ASSAY_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/error.h"

struct buf {
    char *data;     /* NUL-terminated; NULL until the first append */
    size_t len;     /* bytes in use, not counting the NUL */
    size_t cap;     /* bytes allocated */
    size_t max_len; /* the cap on len */
};

#define BUF_DEFAULT_MAX ((size_t)1 << 30) /* 1 GiB */

/* Start empty with a cap of max_len bytes (0: BUF_DEFAULT_MAX). Allocates nothing. */
void buf_init(struct buf *b, size_t max_len);
/* Free the contents; the buffer can be used again after buf_init. */
void buf_release(struct buf *b);
/* Empty the buffer but keep its memory. */
void buf_reset(struct buf *b);
/* Hand the contents (NUL-terminated, never NULL) to the caller; the buffer is emptied.
 * Returns NULL only if allocating an empty string failed. */
char *buf_detach(struct buf *b, size_t *len_out);

/* Make room for at least n more bytes. ASSAY_ELIMIT past the cap, ASSAY_ENOMEM. */
int buf_grow(struct buf *b, size_t n);
int buf_add(struct buf *b, const void *data, size_t n);
int buf_add_str(struct buf *b, const char *s);
int buf_add_ch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Shorten to len bytes (no-op when already shorter). */
void buf_truncate(struct buf *b, size_t len);

#endif
