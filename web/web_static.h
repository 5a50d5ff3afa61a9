/*
 * web/web_static.h - the pages of `assay serve` (web/static/), embedded into the binary at
 * build time by cmake/embed_static.cmake, so that no file is looked up at run time.
 */
#ifndef ASSAY_WEB_WEB_STATIC_H
#define ASSAY_WEB_WEB_STATIC_H

#include <stddef.h>

struct web_static_file {
    const char *name;          /* "index.html": a plain file name, no directory */
    const unsigned char *data; /* size bytes, then a NUL */
    size_t size;
};

/* Terminated by a row with name NULL. */
extern const struct web_static_file web_static_files[];

#endif
