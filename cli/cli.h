/*
 * cli/cli.h - what every sub-command shares: the option table and its parser, help
 * generated from the table, error printing and exit statuses, progress display, and
 * opening the store named by --db / ASSAY_DB.
 *
 * A command is a row in the table in cli/main.c: name, one-line summary, usage, option
 * table, handler. The handler returns an ASSAY_E* code (0 for success) having filled
 * ctx->err; main() prints the error and maps the code to the exit status
 * (0 success, 1 the work failed, 2 usage, 3 bad input).
 */
#ifndef ASSAY_CLI_CLI_H
#define ASSAY_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

#include "base/error.h"
#include "base/progress.h"

struct store;

enum cli_opt_type {
    CLI_OPT_FLAG, /* no value */
    CLI_OPT_STR,
    CLI_OPT_INT,
    CLI_OPT_NUM,
};

struct cli_opt {
    const char *name; /* long name without dashes: "limit" */
    char short_name;  /* 'o', or 0 */
    enum cli_opt_type type;
    const char *metavar; /* "N", "FILE" (ignored for flags) */
    const char *def;     /* default shown in help and used when absent; NULL: none */
    const char *help;
};

#define CLI_MAX_OPTS 48
#define CLI_MAX_POS  64

struct cli_cmd;

struct cli_args {
    const struct cli_cmd *cmd;
    const char *value[CLI_MAX_OPTS]; /* NULL: not given (see cli_get for defaults) */
    bool given[CLI_MAX_OPTS];
    const char *pos[CLI_MAX_POS];
    int n_pos;
};

struct cli_ctx {
    struct assay_error err;
    bool json;            /* --json */
    bool quiet;           /* --quiet */
    bool progress;        /* stderr is a terminal and not --quiet */
    struct progress prog; /* hand to long work */
};

typedef int (*cli_run_fn)(struct cli_ctx *ctx, const struct cli_args *a);

struct cli_cmd {
    const char *name;
    const char *summary;        /* one line for `assay --help` */
    const char *usage;          /* after "usage: assay NAME " */
    const char *description;    /* paragraph(s) for `assay NAME --help`; may be NULL */
    const struct cli_opt *opts; /* terminated by a row with name NULL */
    int min_pos, max_pos;       /* positional argument counts (max -1: any) */
    cli_run_fn run;
    /* Optional: more help computed at run time (e.g. the sandbox isolation that works on
     * this machine), printed after the options. */
    void (*help_extra)(FILE *f);
};

/* Options every command has, appended to its own in help and parsing. */
extern const struct cli_opt cli_common_opts[];

/* The option rows for the store, for commands that use it. */
#define CLI_OPT_DB                                                                                 \
    {                                                                                              \
        "db", 0, CLI_OPT_STR, "FILE", NULL,                                                        \
            "database file (default: $ASSAY_DB, else assay.db in the current directory)"           \
    }

/* Parse argv (after the command name). Usage errors -> ASSAY_EUSAGE with a message. */
int cli_parse(struct cli_args *a, const struct cli_cmd *cmd, int argc, char **argv,
              struct assay_error *err);

/* Value of an option: what was given, else its default, else NULL. */
const char *cli_get(const struct cli_args *a, const char *name);
bool cli_flag(const struct cli_args *a, const char *name);
bool cli_given(const struct cli_args *a, const char *name);
/* Integer / number option with range check; absent and no default -> *out untouched. */
int cli_get_int(const struct cli_args *a, const char *name, int64_t min, int64_t max, int64_t *out,
                struct assay_error *err);
int cli_get_num(const struct cli_args *a, const char *name, double min, double max, double *out,
                struct assay_error *err);
/* Parse a whole string as an integer in [min, max]; `what` names it in the message. */
int cli_parse_int(const char *s, const char *what, int64_t min, int64_t max, int64_t *out,
                  struct assay_error *err);

/* Print `assay NAME --help` to f. */
void cli_print_help(FILE *f, const struct cli_cmd *cmd);

/* The database path from --db, $ASSAY_DB, or "assay.db". */
const char *cli_db_path(const struct cli_args *a);
/* Open the store named by the options (flags: STORE_OPEN_*). */
int cli_open_store(struct store **out, const struct cli_args *a, unsigned flags,
                   struct assay_error *err);

/* "1.5 MiB": a byte count for people (binary units). */
void cli_human_bytes(char *out, size_t n, double bytes);

/* Parse "2,17,5" (commas and/or spaces) into a new array of token ids in [0, max_id);
 * `what` names the option in messages. The caller frees *ids_out. */
int cli_parse_ids(const char *list, const char *what, int64_t max_id, int32_t **ids_out,
                  size_t *n_out, struct assay_error *err);

/* Print "assay: FILE:LINE: message" on stderr. */
void cli_print_error(const struct assay_error *err);
/* Print a warning line "assay: warning: ..." on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress on stderr (only when ctx->progress): "what  done/total  rate/s  ETA". */
void cli_progress_init(struct cli_ctx *ctx);
void cli_progress_done(struct cli_ctx *ctx);

/* SIGINT / SIGTERM during long work (run, sweep, memorize): cli_stop_catch installs a
 * handler that only sets the returned flag (the work stops between batches and the run is
 * marked interrupted, resumable) and cli_stop_release puts the old handlers back. */
struct cli_stop {
    struct sigaction old_int, old_term;
};
volatile sig_atomic_t *cli_stop_catch(struct cli_stop *st);
void cli_stop_release(struct cli_stop *st);

/* The command table (cli/main.c). */
extern const struct cli_cmd cli_commands[];
const struct cli_cmd *cli_find_command(const char *name);

#endif
