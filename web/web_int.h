/*
 * web/web_int.h - what the files of web/ share: the application state and the API
 * dispatcher, which is independent of HTTP so that tests can call it directly.
 */
#ifndef ASSAY_WEB_WEB_INT_H
#define ASSAY_WEB_WEB_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

struct store;
struct pii_scanner;

struct web_app {
    struct store *store;     /* read-only */
    struct pii_scanner *pii; /* masks sample text; NULL when raw */
    bool raw;
};

#define WEB_MAX_PARAMS 16
#define WEB_REPLY_MAX  ((size_t)64 << 20) /* cap on one response body */

struct web_param {
    const char *key, *value; /* borrowed */
};

struct web_reply {
    int status;               /* HTTP status */
    const char *content_type; /* static string */
    struct buf body;
};

/* Answer GET path (under /api/, already URL-decoded) with the query parameters; fills r
 * (status, JSON body). Returns 0, or a negative code only when building the answer itself
 * failed (out of memory): bad requests are answers (4xx), not errors. */
int web_api_handle(struct web_app *app, const char *path, const struct web_param *params,
                   size_t n_params, struct web_reply *r);

/* Append text to out as valid UTF-8: each byte that does not start a valid sequence
 * becomes U+FFFD. */
int web_utf8_clean(struct buf *out, const char *text, size_t len);

#endif
