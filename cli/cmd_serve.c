/*
 * cli/cmd_serve.c - `assay serve`: start the read-only web server (web/web.h) on the
 * database, print its URL, and serve until SIGINT or SIGTERM.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "web/web.h"

const struct cli_opt cmd_serve_opts[] = {
    CLI_OPT_DB,
    {"bind", 0, CLI_OPT_STR, "ADDR", "127.0.0.1",
     "numeric address to listen on; anything but loopback exposes the store to the network"},
    {"port", 'p', CLI_OPT_INT, "N", "8080", "TCP port (0: pick a free one and print it)"},
    {"raw", 0, CLI_OPT_FLAG, NULL, NULL,
     "serve sample text unmasked (default: PII replaced by its type, e.g. [EMAIL_ADDRESS])"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cmd_serve(struct cli_ctx *ctx, const struct cli_args *a)
{
    int64_t port = 8080;
    int rc = cli_get_int(a, "port", 0, 65535, &port, &ctx->err);
    if (rc)
        return rc;
    struct web_config cfg = {
        .db_path = cli_db_path(a),
        .bind = cli_get(a, "bind"),
        .port = (int)port,
        .raw = cli_flag(a, "raw"),
    };
    /* Block the signals before the server's thread starts (it inherits the mask), so
     * that only sigwait below receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct web_server *ws = NULL;
    rc = web_server_start(&ws, &cfg, &ctx->err);
    if (rc)
        return rc;
    if (ctx->json) {
        json_t *o = json_pack("{ss si ss sb}", "url", web_server_url(ws), "port",
                              web_server_port(ws), "db", cfg.db_path, "raw", cfg.raw);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT);
            json_decref(o);
        }
        fputc('\n', stdout);
    } else {
        printf("serving %s (database %s%s); Ctrl-C stops\n", web_server_url(ws), cfg.db_path,
               cfg.raw ? ", raw text" : ", PII masked");
    }
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    if (!ctx->quiet)
        fprintf(stderr, "assay: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    web_server_stop(ws);
    return 0;
}
