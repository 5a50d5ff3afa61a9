/*
 * base/utf8.h - UTF-8 validation and decoding (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF).
 */
#ifndef ASSAY_BASE_UTF8_H
#define ASSAY_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length in bytes of the valid sequence starting at s (at most n bytes available), and
 * its code point in *cp; 0 if the bytes there are not valid UTF-8. */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Encode cp (must be <= 0x10FFFF and not a surrogate) into out; returns 1..4, 0 if invalid. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* True if all n bytes are valid UTF-8; otherwise *bad_offset (if given) is the first bad byte. */
bool utf8_valid(const void *s, size_t n, size_t *bad_offset);

#endif
