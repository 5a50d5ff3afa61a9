/*
 * cli/cmd_pii.c - `assay pii types` and `assay pii scan FILE... | --run ID`: parses the
 * options, opens files and the store, and prints what safety/pii.h finds. The scanning,
 * resolution, JSONL handling and redaction all live in safety/.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "safety/pii.h"
#include "store/store.h"

const struct cli_opt cmd_pii_opts[] = {
    CLI_OPT_DB,
    {"field", 0, CLI_OPT_STR, "NAME", NULL,
     "read FILEs as JSONL and scan the string member NAME of each record"},
    {"run", 0, CLI_OPT_INT, "ID", NULL,
     "scan the stored outputs of run ID and store the findings in the database"},
    {"redact", 0, CLI_OPT_FLAG, NULL, NULL,
     "write the text with each finding replaced by [TYPE] instead of listing findings"},
    {"min-likelihood", 0, CLI_OPT_STR, "L", "POSSIBLE",
     "report findings at least this likely: VERY_UNLIKELY UNLIKELY POSSIBLE LIKELY "
     "VERY_LIKELY"},
    {"types", 0, CLI_OPT_STR, "T,...", NULL, "only these types (see 'assay pii types')"},
    {"threads", 't', CLI_OPT_INT, "N", NULL, "scan chunks in parallel (default: the cores)"},
    {"max-record", 0, CLI_OPT_INT, "MIB", "64", "JSONL: skip records longer than this"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

struct scan_out {
    struct cli_ctx *ctx;
    const char *file;
    int64_t sample_id; /* --run */
    uint64_t n_by_type[PII_TYPE_COUNT];
    uint64_t n_total;
};

static int on_finding(void *user, const struct pii_finding *f, int64_t line, const char *bytes)
{
    (void)bytes; /* never printed: the point is not to leak it again */
    struct scan_out *so = user;
    so->n_by_type[f->type]++;
    so->n_total++;
    if (so->ctx->json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(so->file));
        json_object_set_new(o, "line", json_integer(line));
        if (so->sample_id > 0)
            json_object_set_new(o, "sample_id", json_integer(so->sample_id));
        json_object_set_new(o, "type", json_string(pii_type_name(f->type)));
        json_object_set_new(o, "start", json_integer((json_int_t)f->start));
        json_object_set_new(o, "end", json_integer((json_int_t)f->end));
        json_object_set_new(o, "likelihood", json_string(pii_likelihood_name(f->likelihood)));
        json_object_set_new(o, "severity", json_string(pii_severity_name(f->severity)));
        json_object_set_new(o, "detector", json_string(pii_detector_name(f->detector)));
        json_object_set_new(o, "validated", json_boolean(f->verdict == PII_VERDICT_VALID));
        json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%s:%" PRId64 ": %s %" PRIu64 "-%" PRIu64 " %s %s %s%s\n", so->file, line,
               pii_type_name(f->type), f->start, f->end, pii_likelihood_name(f->likelihood),
               pii_severity_name(f->severity), pii_detector_name(f->detector),
               f->verdict == PII_VERDICT_VALID ? " validated" : "");
    }
    return 0;
}

static int on_text(void *user, const char *bytes, size_t n)
{
    (void)user;
    return fwrite(bytes, 1, n, stdout) == n ? 0 : ASSAY_EIO;
}

static void on_warn(void *user, int64_t line, const char *msg)
{
    struct scan_out *so = user;
    if (line > 0)
        cli_warn("%s:%" PRId64 ": %s", so->file, line, msg);
    else
        cli_warn("%s: %s", so->file, msg);
}

static int list_types(struct cli_ctx *ctx)
{
    if (ctx->json) {
        json_t *arr = json_array();
        for (int t = 0; t < PII_TYPE_COUNT; t++) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string(pii_type_name(t)));
            json_object_set_new(o, "severity",
                                json_string(pii_severity_name(pii_type_severity(t))));
            json_object_set_new(o, "description", json_string(pii_type_description(t)));
            json_array_append_new(arr, o);
        }
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(arr);
        return 0;
    }
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        printf("%-18s %-9s  %s\n", pii_type_name(t), pii_severity_name(pii_type_severity(t)),
               pii_type_description(t));
    return 0;
}

/* ---- --run ID ------------------------------------------------------------------------ */

struct run_scan {
    struct scan_out *so;
    const struct pii_scanner *sc;
    struct pii_stats *stats;
    struct pii_findings f;
    struct store_pii_finding *rows;
    int64_t n_rows, cap_rows;
    struct assay_error *err;
};

static int on_sample(void *user, const struct store_sample_row *row)
{
    struct run_scan *rs = user;
    const char *text = row->s.output;
    if (!text)
        return 0;
    rs->f.n = 0;
    int rc = pii_scan_text(rs->sc, text, strlen(text), &rs->f, rs->stats, rs->err);
    if (rc)
        return rc;
    rs->so->sample_id = row->id;
    for (size_t i = 0; i < rs->f.n; i++) {
        const struct pii_finding *x = &rs->f.v[i];
        on_finding(rs->so, x, row->id, text + x->start);
        if (rs->n_rows == rs->cap_rows) {
            int64_t ncap = rs->cap_rows ? rs->cap_rows * 2 : 64;
            struct store_pii_finding *p = mem_realloc_array(rs->rows, (size_t)ncap, sizeof(*p));
            if (!p)
                return err_set(rs->err, ASSAY_ENOMEM, "out of memory");
            rs->rows = p;
            rs->cap_rows = ncap;
        }
        struct store_pii_finding *r = &rs->rows[rs->n_rows++];
        r->sample_id = row->id;
        r->field = "output";
        r->type = pii_type_name(x->type);
        r->start_byte = (int64_t)x->start;
        r->end_byte = (int64_t)x->end;
        r->likelihood = pii_likelihood_name(x->likelihood);
        r->severity = pii_severity_name(x->severity);
        r->detector = pii_detector_name(x->detector);
        r->validated = x->verdict == PII_VERDICT_VALID;
    }
    return 0;
}

static int scan_run(struct cli_ctx *ctx, const struct cli_args *a, const struct pii_scanner *sc,
                    int64_t run_id, struct scan_out *so, struct pii_stats *stats)
{
    struct store *s = NULL;
    int rc = cli_open_store(&s, a, 0, &ctx->err);
    if (rc)
        return rc;
    char name[64];
    snprintf(name, sizeof(name), "run:%" PRId64, run_id);
    so->file = name;
    struct run_scan rs;
    memset(&rs, 0, sizeof(rs));
    rs.so = so;
    rs.sc = sc;
    rs.stats = stats;
    rs.err = &ctx->err;
    pii_findings_init(&rs.f, 0);
    struct store_run run;
    memset(&run, 0, sizeof(run));
    rc = store_get_run(s, run_id, &run, &ctx->err);
    if (rc)
        goto out;
    rc = store_each_sample(s, run_id, NULL, on_sample, &rs, &ctx->err);
    if (rc)
        goto out;
    rc = store_delete_pii_findings(s, run_id, &ctx->err);
    if (!rc)
        rc = store_put_pii_findings(s, run_id, rs.rows, rs.n_rows, &ctx->err);
    if (!rc && !ctx->quiet)
        fprintf(stderr, "assay: stored %" PRId64 " findings for run %" PRId64 " in %s\n", rs.n_rows,
                run_id, store_path(s));
out:
    store_run_release(&run);
    free(rs.rows);
    pii_findings_release(&rs.f);
    store_close(s);
    return rc;
}

/* ---- files --------------------------------------------------------------------------- */

static int scan_file(struct cli_ctx *ctx, const struct pii_scanner *sc, const char *path,
                     const char *field, size_t max_record, bool redact, struct scan_out *so,
                     struct pii_stats *stats)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_at(&ctx->err, errno == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO, path, 0,
                          "cannot open: %s", strerror(errno));
    so->file = path;
    struct pii_sink sink = {
        .user = so,
        .finding = redact ? NULL : on_finding,
        .text = redact ? on_text : NULL,
        .warn = on_warn,
    };
    int rc = field ? pii_scan_jsonl(sc, fd, path, field, max_record, &sink, stats, &ctx->err)
                   : pii_scan_fd(sc, fd, path, &sink, stats, &ctx->err);
    if (fd != 0)
        close(fd);
    if (rc == ASSAY_EIO && ctx->err.code == 0)
        err_set_at(&ctx->err, rc, path, 0, "cannot write output");
    return rc;
}

static int scan(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct pii_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    int rc = 0;
    const char *ml = cli_get(a, "min-likelihood");
    cfg.min_likelihood = pii_likelihood_from_name(ml);
    if (cfg.min_likelihood < 0)
        return err_set(&ctx->err, ASSAY_EUSAGE,
                       "unknown likelihood '%s' (VERY_UNLIKELY .. VERY_LIKELY)", ml);
    if (cli_given(a, "types")) {
        rc = pii_types_parse(&cfg.types, cli_get(a, "types"), &ctx->err);
        if (rc)
            return rc;
    }
    int64_t threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    rc = cli_get_int(a, "threads", 1, 256, &threads, &ctx->err);
    if (rc)
        return rc;
    cfg.n_threads = (int)threads;
    int64_t max_record_mib = 64;
    rc = cli_get_int(a, "max-record", 1, 4096, &max_record_mib, &ctx->err);
    if (rc)
        return rc;
    bool redact = cli_flag(a, "redact");
    const char *field = cli_get(a, "field");
    bool by_run = cli_given(a, "run");
    int n_files = a->n_pos - 1;
    if (by_run == (n_files > 0))
        return err_set(&ctx->err, ASSAY_EUSAGE, "give either FILE... or --run ID");
    if (redact && ctx->json)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--redact writes text; it cannot go with --json");
    if (by_run && (redact || field))
        return err_set(&ctx->err, ASSAY_EUSAGE, "--run cannot go with --redact or --field");

    struct pii_scanner *sc = NULL;
    rc = pii_scanner_new(&sc, &cfg, &ctx->err);
    if (rc)
        return rc;
    struct scan_out so;
    memset(&so, 0, sizeof(so));
    so.ctx = ctx;
    struct pii_stats stats;
    memset(&stats, 0, sizeof(stats));
    double t0 = clock_now_s();
    if (by_run) {
        int64_t run_id = 0;
        rc = cli_get_int(a, "run", 1, INT64_MAX, &run_id, &ctx->err);
        if (!rc)
            rc = scan_run(ctx, a, sc, run_id, &so, &stats);
    } else {
        for (int i = 1; i < a->n_pos && !rc; i++)
            rc = scan_file(ctx, sc, a->pos[i], field, (size_t)max_record_mib << 20, redact, &so,
                           &stats);
    }
    double dt = clock_now_s() - t0;
    if (!rc && !ctx->quiet) {
        fprintf(stderr, "assay: %" PRIu64 " findings in %.1f MB (%.1f MB/s, %d threads)",
                stats.n_findings, (double)stats.n_bytes / 1e6,
                dt > 0 ? (double)stats.n_bytes / 1e6 / dt : 0.0, cfg.n_threads);
        for (int t = 0; t < PII_TYPE_COUNT; t++)
            if (so.n_by_type[t])
                fprintf(stderr, " %s=%" PRIu64, pii_type_name(t), so.n_by_type[t]);
        fputc('\n', stderr);
        if (stats.n_limit_hits)
            fprintf(stderr,
                    "assay: warning: %" PRIu64 " candidates stopped at the PCRE2 match limit\n",
                    stats.n_limit_hits);
    }
    pii_scanner_free(sc);
    return rc;
}

int cmd_pii(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (a->n_pos == 0)
        return err_set(&ctx->err, ASSAY_EUSAGE, "usage: assay pii types | scan FILE...");
    if (strcmp(a->pos[0], "types") == 0) {
        if (a->n_pos != 1)
            return err_set(&ctx->err, ASSAY_EUSAGE, "usage: assay pii types [--json]");
        return list_types(ctx);
    }
    if (strcmp(a->pos[0], "scan") == 0)
        return scan(ctx, a);
    return err_set(&ctx->err, ASSAY_EUSAGE, "unknown 'pii' action '%s' (try: types, scan)",
                   a->pos[0]);
}
