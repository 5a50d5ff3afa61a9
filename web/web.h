/*
 * web/web.h - `assay serve`: a read-only HTTP server (libmicrohttpd) over the store, with a
 * JSON API under /api/ and the pages of web/static/ (embedded into the binary).
 *
 * Contract: GET and HEAD only (anything else is 405); every response carries a
 * Content-Security-Policy (default-src 'self', no inline script), X-Content-Type-Options
 * nosniff and its own Content-Type; bad query parameters are 400 with a JSON message;
 * sample text is masked with pii_mask_text unless cfg->raw; requests whose Host header is
 * not the address served are refused (421) so that a web page elsewhere cannot read the
 * store through DNS rebinding. One connection to the store, opened read-only; requests
 * are answered one at a time by the server's thread.
 *
 * Ownership: web_server_start returns a server that web_server_stop stops and frees.
 */
#ifndef ASSAY_WEB_WEB_H
#define ASSAY_WEB_WEB_H

#include <stdbool.h>

#include "base/error.h"

struct web_config {
    const char *db_path; /* the database, opened read-only; must exist */
    const char *bind;    /* numeric IPv4 or IPv6 address; NULL: 127.0.0.1 */
    int port;            /* 0: any free port (see web_server_port) */
    bool raw;            /* true: sample text is served unmasked */
};

struct web_server;

/* Open the store and the PII scanner, bind and start serving on a thread.
 * Errors: those of store_open, ASSAY_EUSAGE for a bad address, ASSAY_EIO when the
 * address cannot be bound. */
int web_server_start(struct web_server **out, const struct web_config *cfg,
                     struct assay_error *err);
/* The TCP port served (the chosen one when cfg->port was 0). */
int web_server_port(const struct web_server *ws);
/* "http://127.0.0.1:PORT/" (IPv6 in brackets); borrowed until web_server_stop. */
const char *web_server_url(const struct web_server *ws);
/* Stop serving (in-flight requests finish), close the store, free. NULL is a no-op. */
void web_server_stop(struct web_server *ws);

#endif
