/*
 * web/web_server.c - the HTTP side of `assay serve` (libmicrohttpd): binding, methods,
 * security headers, the Host check, static pages embedded from web/static/, and handing
 * /api/ requests to web_api_handle. One internal thread answers requests one at a time,
 * which is what lets one read-only store connection and one PII scanner serve them all.
 * Does not: build JSON (web_api.c), write to the store.
 */
#include "web/web.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "safety/pii.h"
#include "store/store.h"
#include "web/web_int.h"
#include "web/web_static.h"

#define WEB_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "             \
    "form-action 'self'"

struct web_server {
    struct web_app app;
    struct MHD_Daemon *d;
    int port;
    bool loopback;
    char host[64]; /* the bound address as it appears in a Host header */
    char url[96];
};

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static const struct web_static_file *find_static(const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (path[0] != '/' || strchr(path + 1, '/'))
        return NULL;
    for (const struct web_static_file *f = web_static_files; f->name; f++)
        if (strcmp(f->name, path + 1) == 0)
            return f;
    return NULL;
}

static void add_common_headers(struct MHD_Response *resp, const char *ctype, bool no_store)
{
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", no_store ? "no-store" : "no-cache");
}

static enum MHD_Result send_buf(struct MHD_Connection *c, int status, const char *ctype,
                                const void *data, size_t len, bool copy, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    add_common_headers(resp, ctype, copy);
    if (allow)
        MHD_add_response_header(resp, "Allow", allow);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *json,
                                  const char *allow)
{
    return send_buf(c, status, "application/json; charset=utf-8", json, strlen(json), false, allow);
}

struct arg_walk {
    struct web_param p[WEB_MAX_PARAMS];
    size_t n;
    bool too_many;
};

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    struct arg_walk *w = cls;
    if (w->n == WEB_MAX_PARAMS) {
        w->too_many = true;
        return MHD_NO;
    }
    w->p[w->n].key = key ? key : "";
    w->p[w->n].value = value ? value : "";
    w->n++;
    return MHD_YES;
}

/* A loopback server answers only requests addressed to it by a loopback name: a page on
 * another site that rebinds its own name to 127.0.0.1 sends its own name as Host. */
static bool host_ok(const struct web_server *ws, struct MHD_Connection *c)
{
    if (!ws->loopback)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!h)
        return false;
    char want[3][96];
    snprintf(want[0], sizeof(want[0]), "%s:%d", ws->host, ws->port);
    snprintf(want[1], sizeof(want[1]), "localhost:%d", ws->port);
    snprintf(want[2], sizeof(want[2]), "%s", ws->host);
    for (int i = 0; i < 3; i++)
        if (strcasecmp(h, want[i]) == 0)
            return true;
    return strcasecmp(h, "localhost") == 0 && ws->port == 80;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct web_server *ws = cls;
    if (!*con_cls) {
        /* first call: headers only; answer once the whole request is in */
        *con_cls = ws;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a body is never read; the method check below refuses it */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(c, 405, "{\"error\":\"method not allowed (GET and HEAD only)\"}",
                          "GET, HEAD");
    if (!host_ok(ws, c))
        return send_error(c, 421, "{\"error\":\"unexpected Host header\"}", NULL);
    if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0) {
        struct arg_walk w;
        memset(&w, 0, sizeof(w));
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_arg, &w);
        if (w.too_many)
            return send_error(c, 400, "{\"error\":\"too many query parameters\"}", NULL);
        struct web_reply r = {0};
        buf_init(&r.body, WEB_REPLY_MAX);
        int rc = web_api_handle(&ws->app, url, w.p, w.n, &r);
        enum MHD_Result ret;
        if (rc || !r.body.data)
            ret = send_error(c, 500, "{\"error\":\"out of memory\"}", NULL);
        else
            ret = send_buf(c, r.status, r.content_type, r.body.data, r.body.len, true, NULL);
        buf_release(&r.body);
        return ret;
    }
    const struct web_static_file *f = find_static(url);
    if (!f)
        return send_error(c, 404, "{\"error\":\"not found\"}", NULL);
    return send_buf(c, 200, content_type_of(f->name), f->data, f->size, false, NULL);
}

int web_server_start(struct web_server **out, const struct web_config *cfg, struct assay_error *err)
{
    *out = NULL;
    struct web_server *ws = calloc(1, sizeof(*ws));
    if (!ws)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    memset(&sa4, 0, sizeof(sa4));
    memset(&sa6, 0, sizeof(sa6));
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    int rc = 0;
    if (cfg->port < 0 || cfg->port > 65535) {
        rc = err_set(err, ASSAY_EUSAGE, "port %d out of range (0..65535)", cfg->port);
        goto fail;
    }
    if (inet_pton(AF_INET, bind, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&sa4;
        ws->loopback = (ntohl(sa4.sin_addr.s_addr) >> 24) == 127;
        snprintf(ws->host, sizeof(ws->host), "%s", bind);
    } else if (inet_pton(AF_INET6, bind, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
        ws->loopback = IN6_IS_ADDR_LOOPBACK(&sa6.sin6_addr);
        snprintf(ws->host, sizeof(ws->host), "[%s]", bind);
    } else {
        rc = err_set(err, ASSAY_EUSAGE, "bind address '%s' is not a numeric IPv4 or IPv6 address",
                     bind);
        goto fail;
    }
    ws->app.raw = cfg->raw;
    rc = store_open(&ws->app.store, cfg->db_path, STORE_OPEN_READONLY | STORE_OPEN_NO_CREATE, err);
    if (rc)
        goto fail;
    if (!cfg->raw) {
        struct pii_config pc;
        memset(&pc, 0, sizeof(pc));
        pc.n_threads = 1;
        rc = pii_scanner_new(&ws->app.pii, &pc, err);
        if (rc)
            goto fail;
    }
    ws->d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, ws,
                             MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!ws->d) {
        rc = err_set(err, ASSAY_EIO,
                     "cannot listen on %s port %d (in use, or not an address "
                     "of this machine)",
                     bind, cfg->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(ws->d, MHD_DAEMON_INFO_BIND_PORT);
    ws->port = info ? info->port : cfg->port;
    snprintf(ws->url, sizeof(ws->url), "http://%s:%d/", ws->host, ws->port);
    *out = ws;
    return 0;
fail:
    web_server_stop(ws);
    return rc;
}

int web_server_port(const struct web_server *ws)
{
    return ws->port;
}

const char *web_server_url(const struct web_server *ws)
{
    return ws->url;
}

void web_server_stop(struct web_server *ws)
{
    if (!ws)
        return;
    if (ws->d)
        MHD_stop_daemon(ws->d);
    pii_scanner_free(ws->app.pii);
    store_close(ws->app.store);
    free(ws);
}
