/*
 * cli/cli.c - option parsing from tables, help generation, errors and progress.
 * Knows no command in particular; cli/main.c holds the command table.
 */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/store.h"

const struct cli_opt cli_common_opts[] = {
    {"json", 0, CLI_OPT_FLAG, NULL, NULL, "machine-readable output on stdout"},
    {"quiet", 'q', CLI_OPT_FLAG, NULL, NULL, "no progress or notes on stderr"},
    {"help", 'h', CLI_OPT_FLAG, NULL, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int n_opts(const struct cli_opt *o)
{
    int n = 0;
    while (o && o[n].name)
        n++;
    return n;
}

/* Index across the command's options followed by the common ones; -1 if unknown. */
static int find_opt(const struct cli_cmd *cmd, const char *name, size_t len, char short_name,
                    const struct cli_opt **opt)
{
    int n_own = n_opts(cmd->opts);
    int n_all = n_own + n_opts(cli_common_opts);
    for (int i = 0; i < n_all; i++) {
        const struct cli_opt *o = i < n_own ? &cmd->opts[i] : &cli_common_opts[i - n_own];
        bool match = short_name ? o->short_name == short_name
                                : (strlen(o->name) == len && strncmp(o->name, name, len) == 0);
        if (match) {
            *opt = o;
            return i;
        }
    }
    return -1;
}

int cli_parse(struct cli_args *a, const struct cli_cmd *cmd, int argc, char **argv,
              struct assay_error *err)
{
    memset(a, 0, sizeof(*a));
    a->cmd = cmd;
    if (n_opts(cmd->opts) + n_opts(cli_common_opts) > CLI_MAX_OPTS)
        return err_set(err, ASSAY_EFAIL, "too many options for '%s'", cmd->name);
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (a->n_pos == CLI_MAX_POS)
                return err_set(err, ASSAY_EUSAGE, "too many arguments");
            a->pos[a->n_pos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        const struct cli_opt *o = NULL;
        const char *inline_val = NULL;
        int idx;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            idx = find_opt(cmd, name, len, 0, &o);
            if (idx < 0)
                return err_set(err, ASSAY_EUSAGE, "unknown option '--%.*s' for '%s'", (int)len,
                               name, cmd->name);
            if (eq)
                inline_val = eq + 1;
        } else {
            if (arg[2] != '\0' && !(isdigit((unsigned char)arg[1])))
                inline_val = arg + 2; /* -t2 */
            idx = find_opt(cmd, NULL, 0, arg[1], &o);
            if (idx < 0)
                return err_set(err, ASSAY_EUSAGE, "unknown option '-%c' for '%s'", arg[1],
                               cmd->name);
        }
        if (o->type == CLI_OPT_FLAG) {
            if (inline_val)
                return err_set(err, ASSAY_EUSAGE, "option '--%s' takes no value", o->name);
            a->given[idx] = true;
            a->value[idx] = "1";
            continue;
        }
        if (!inline_val) {
            if (i + 1 >= argc)
                return err_set(err, ASSAY_EUSAGE, "option '--%s' needs a value (%s)", o->name,
                               o->metavar ? o->metavar : "value");
            inline_val = argv[++i];
        }
        a->given[idx] = true;
        a->value[idx] = inline_val;
    }
    if (cli_flag(a, "help"))
        return 0;
    if (a->n_pos < cmd->min_pos)
        return err_set(err, ASSAY_EUSAGE, "'%s' needs %s: usage: assay %s %s", cmd->name,
                       cmd->min_pos == 1 ? "an argument" : "more arguments", cmd->name, cmd->usage);
    if (cmd->max_pos >= 0 && a->n_pos > cmd->max_pos)
        return err_set(err, ASSAY_EUSAGE, "unexpected argument '%s' for '%s'", a->pos[cmd->max_pos],
                       cmd->name);
    /* Check typed values now, so a bad number is a usage error before any work starts. */
    int n_own = n_opts(cmd->opts);
    for (int i = 0; i < n_own; i++) {
        const struct cli_opt *o = &cmd->opts[i];
        const char *v = a->value[i] ? a->value[i] : o->def;
        if (!v)
            continue;
        char what[80];
        snprintf(what, sizeof(what), "--%s", o->name);
        if (o->type == CLI_OPT_INT) {
            int64_t x;
            int rc = cli_parse_int(v, what, INT64_MIN, INT64_MAX, &x, err);
            if (rc)
                return rc;
        } else if (o->type == CLI_OPT_NUM) {
            char *end;
            errno = 0;
            double x = strtod(v, &end);
            if (errno || end == v || *end || !isfinite(x))
                return err_set(err, ASSAY_EUSAGE, "%s: '%s' is not a number", what, v);
        }
    }
    return 0;
}

static int opt_index(const struct cli_args *a, const char *name, const struct cli_opt **o)
{
    return find_opt(a->cmd, name, strlen(name), 0, o);
}

const char *cli_get(const struct cli_args *a, const char *name)
{
    const struct cli_opt *o;
    int i = opt_index(a, name, &o);
    if (i < 0)
        return NULL;
    return a->value[i] ? a->value[i] : o->def;
}

bool cli_flag(const struct cli_args *a, const char *name)
{
    const struct cli_opt *o;
    int i = opt_index(a, name, &o);
    return i >= 0 && a->given[i];
}

bool cli_given(const struct cli_args *a, const char *name)
{
    return cli_flag(a, name);
}

int cli_parse_int(const char *s, const char *what, int64_t min, int64_t max, int64_t *out,
                  struct assay_error *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return err_set(err, ASSAY_EUSAGE, "%s: '%s' is not a whole number", what, s);
    if (v < min || v > max)
        return err_set(err, ASSAY_EUSAGE, "%s: %lld is out of range (%lld to %lld)", what, v,
                       (long long)min, (long long)max);
    *out = v;
    return 0;
}

int cli_get_int(const struct cli_args *a, const char *name, int64_t min, int64_t max, int64_t *out,
                struct assay_error *err)
{
    const char *v = cli_get(a, name);
    if (!v)
        return 0;
    char what[80];
    snprintf(what, sizeof(what), "--%s", name);
    return cli_parse_int(v, what, min, max, out, err);
}

int cli_get_num(const struct cli_args *a, const char *name, double min, double max, double *out,
                struct assay_error *err)
{
    const char *v = cli_get(a, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        return err_set(err, ASSAY_EUSAGE, "--%s: '%s' is not a number", name, v);
    if (x < min || x > max)
        return err_set(err, ASSAY_EUSAGE, "--%s: %g is out of range (%g to %g)", name, x, min, max);
    *out = x;
    return 0;
}

static void print_opt(FILE *f, const struct cli_opt *o)
{
    char left[64];
    if (o->short_name)
        snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                 o->type == CLI_OPT_FLAG ? "" : " ", o->type == CLI_OPT_FLAG ? "" : o->metavar);
    else
        snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->type == CLI_OPT_FLAG ? "" : " ",
                 o->type == CLI_OPT_FLAG ? "" : o->metavar);
    fprintf(f, "  %-24s %s", left, o->help);
    if (o->def)
        fprintf(f, " (default: %s)", o->def);
    fputc('\n', f);
}

void cli_print_help(FILE *f, const struct cli_cmd *cmd)
{
    fprintf(f, "usage: assay %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->description)
        fprintf(f, "\n%s\n", cmd->description);
    fprintf(f, "\nOptions:\n");
    for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
        print_opt(f, o);
    for (const struct cli_opt *o = cli_common_opts; o->name; o++)
        print_opt(f, o);
    if (cmd->help_extra)
        cmd->help_extra(f);
    fprintf(f, "\nExit status: 0 success, 1 the work failed, 2 usage error, 3 bad input.\n");
}

const char *cli_db_path(const struct cli_args *a)
{
    const char *p = cli_get(a, "db");
    if (p && *p)
        return p;
    p = getenv("ASSAY_DB");
    if (p && *p)
        return p;
    return "assay.db";
}

int cli_open_store(struct store **out, const struct cli_args *a, unsigned flags,
                   struct assay_error *err)
{
    return store_open(out, cli_db_path(a), flags, err);
}

void cli_human_bytes(char *out, size_t n, double b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.2f %s" : "%.0f %s", b, units[i]);
}

int cli_parse_ids(const char *list, const char *what, int64_t max_id, int32_t **ids_out,
                  size_t *n_out, struct assay_error *err)
{
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof(int32_t));
    if (!ids)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    const char *p = list;
    while (*p == ',' || *p == ' ')
        p++;
    while (*p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || v >= max_id || v > INT32_MAX) {
            free(ids);
            return err_set(err, ASSAY_EUSAGE, "%s: bad token id at '%s'", what, p);
        }
        if (n == cap) {
            int32_t *q = realloc(ids, 2 * cap * sizeof(int32_t));
            if (!q) {
                free(ids);
                return err_set(err, ASSAY_ENOMEM, "out of memory");
            }
            ids = q;
            cap *= 2;
        }
        ids[n++] = (int32_t)v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    *ids_out = ids;
    *n_out = n;
    return 0;
}

void cli_print_error(const struct assay_error *err)
{
    char msg[ASSAY_ERROR_MSG_MAX + ASSAY_ERROR_PATH_MAX + 64];
    err_format(err, msg, sizeof(msg));
    fprintf(stderr, "assay: %s\n", msg);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("assay: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- progress ------------------------------------------------------------------------ */

struct progress_state {
    double t_start;
    double t_last;
    int64_t last_done;
    bool drawn;
};

static struct progress_state g_progress; /* one progress line per process: stderr is one */

static void fmt_duration(char *out, size_t n, double s)
{
    if (!isfinite(s) || s < 0) {
        snprintf(out, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(out, n, "%02ld:%02ld", t / 60, t % 60);
}

static void draw_progress(void *user, int64_t done, int64_t total, const char *what)
{
    struct progress_state *p = user;
    double now = clock_now_s();
    if (p->t_start == 0) {
        p->t_start = now;
        p->last_done = done;
    }
    bool finished = total > 0 && done >= total;
    if (!finished && now - p->t_last < 0.1)
        return;
    p->t_last = now;
    double el = now - p->t_start;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32], elapsed[32];
    fmt_duration(eta, sizeof(eta), rate > 0 && total > 0 ? (double)(total - done) / rate : NAN);
    fmt_duration(elapsed, sizeof(elapsed), el);
    if (total > 0)
        fprintf(stderr, "\r\033[K%s  %lld/%lld (%.0f%%)  %.1f/s  elapsed %s  ETA %s",
                what ? what : "", (long long)done, (long long)total,
                100.0 * (double)done / (double)total, rate, elapsed, eta);
    else
        fprintf(stderr, "\r\033[K%s  %lld  %.1f/s  elapsed %s", what ? what : "", (long long)done,
                rate, elapsed);
    fflush(stderr);
    p->drawn = true;
}

void cli_progress_init(struct cli_ctx *ctx)
{
    memset(&g_progress, 0, sizeof(g_progress));
    ctx->progress = !ctx->quiet && isatty(STDERR_FILENO);
    ctx->prog.fn = ctx->progress ? draw_progress : NULL;
    ctx->prog.user = &g_progress;
}

void cli_progress_done(struct cli_ctx *ctx)
{
    if (ctx->progress && g_progress.drawn) {
        fputc('\n', stderr);
        g_progress.drawn = false;
    }
}

/* The only mutable global of the command line: a signal handler needs one. */
static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

volatile sig_atomic_t *cli_stop_catch(struct cli_stop *st)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    sigaction(SIGINT, &sa, &st->old_int);
    sigaction(SIGTERM, &sa, &st->old_term);
    return &g_stop;
}

void cli_stop_release(struct cli_stop *st)
{
    sigaction(SIGINT, &st->old_int, NULL);
    sigaction(SIGTERM, &st->old_term, NULL);
}
