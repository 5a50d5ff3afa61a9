/*
 * cli/cmd_pii.c - `assay pii types` and `assay pii scan FILE... | --run ID`: parses the
 * options, opens files and the store, and prints what safety/pii.h finds. The scanning,
 * resolution, JSONL handling and redaction all live in safety/.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "safety/pii.h"
#include "safety/pii_rows.h"
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
    {"match-limit", 0, CLI_OPT_INT, "N", "200000",
     "PCRE2 match limit per candidate; a candidate past it is dropped and counted in a "
     "warning"},
    {"no-store", 0, CLI_OPT_FLAG, NULL, NULL,
     "do not record a run of kind \"pii\" in the database (a FILE scan records one: a sample "
     "per line or JSONL record with findings, holding only its redacted text, the findings' "
     "spans into that text, and counts by type and severity as metrics)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

struct rec;

struct scan_out {
    struct cli_ctx *ctx;
    const char *file;
    int64_t sample_id; /* --run */
    uint64_t n_by_type[PII_TYPE_COUNT];
    uint64_t n_total;
    bool print;      /* list findings on stdout (not with --redact) */
    bool echo;       /* write redacted text to stdout (--redact) */
    struct rec *rec; /* record a pii run (FILE scans without --no-store), or NULL */
};

static int rec_finding(struct rec *r, const struct pii_finding *f, int64_t line);
static int rec_text(struct rec *r, const char *bytes, size_t n);

static int on_finding(void *user, const struct pii_finding *f, int64_t line, const char *bytes)
{
    (void)bytes; /* never printed: the point is not to leak it again */
    struct scan_out *so = user;
    so->n_by_type[f->type]++;
    so->n_total++;
    if (so->rec) {
        int rc = rec_finding(so->rec, f, line);
        if (rc)
            return rc;
    }
    if (!so->print)
        return 0;
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
    struct scan_out *so = user;
    if (so->rec) {
        int rc = rec_text(so->rec, bytes, n);
        if (rc)
            return rc;
    }
    if (!so->echo)
        return 0;
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

/* ---- recording a pii run (FILE scans) ------------------------------------------------
 * Each line of plain text (each JSONL record) with findings becomes one sample of the run:
 * task "pii_scan", item "ARG:FILE:LINE", output = the line's redacted text (never the
 * matched text), data_json = the findings with their offsets into the scanned text (as
 * --json prints them). The stored pii findings' spans are the "[TYPE]" labels' spans in
 * that redacted output, so the report and the web UI cut masked examples from it. The
 * redacted text comes from the scanner's own redaction (the sink's text callback); for
 * plain text a label's offset in it is known exactly (the finding's start plus what the
 * labels before it added), for a JSONL record (re-serialised JSON) it is the next
 * "[TYPE]" found in the record. A line's kept text is capped at REC_LINE_MAX bytes;
 * findings past the cap are stored with span -1..-1 (counted, not shown). */

#define REC_LINE_MAX ((size_t)1 << 20)
#define REC_BATCH    256

struct rec_pending {
    uint64_t red_start; /* plain text: the label's offset in the redacted stream */
    int64_t line;
    struct pii_finding f;
};

struct rec {
    struct store *s;
    int64_t run;
    struct assay_error *err;
    int argi;
    const char *file;
    bool jsonl;
    /* the current file's redacted stream */
    uint64_t red_pos;    /* redacted bytes seen */
    uint64_t line_start; /* red_pos where the current line starts */
    int64_t shift;       /* label bytes minus matched bytes, over the file's findings */
    struct buf line;     /* the current line's redacted text (up to REC_LINE_MAX) */
    bool line_cut;       /* the line went past REC_LINE_MAX */
    struct rec_pending *pend;
    size_t n_pend, cap_pend;
    /* samples waiting to be stored, and every finding row of the run */
    struct store_sample batch[REC_BATCH];
    size_t n_batch;
    int64_t n_samples;
    struct pii_rows rows; /* sample_id holds the sample's ordinal until the end */
};

static int rec_flush(struct rec *r)
{
    int rc = 0;
    if (r->n_batch)
        rc = store_put_samples(r->s, r->run, r->batch, (int64_t)r->n_batch, r->err);
    for (size_t i = 0; i < r->n_batch; i++) {
        free((char *)r->batch[i].item);
        free((char *)r->batch[i].output);
        free((char *)r->batch[i].data_json);
    }
    r->n_batch = 0;
    return rc;
}

static int rec_finding(struct rec *r, const struct pii_finding *f, int64_t line)
{
    if (r->n_pend == r->cap_pend) {
        size_t ncap = r->cap_pend ? r->cap_pend * 2 : 16;
        struct rec_pending *p = mem_realloc_array(r->pend, ncap, sizeof(*p));
        if (!p)
            return err_set(r->err, ASSAY_ENOMEM, "out of memory");
        r->pend = p;
        r->cap_pend = ncap;
    }
    size_t label_len = strlen(pii_type_name(f->type)) + 2;
    struct rec_pending *p = &r->pend[r->n_pend++];
    p->red_start = (uint64_t)((int64_t)f->start + r->shift);
    p->line = line;
    p->f = *f;
    r->shift += (int64_t)label_len - (int64_t)(f->end - f->start);
    return 0;
}

static int rec_row(struct rec *r, const struct pii_finding *f, int64_t a, int64_t b)
{
    /* sample_id: the ordinal, made an id in rec_finish */
    return pii_rows_add(&r->rows, f, r->n_samples, "output", a, b, r->err);
}

/* The current line ended at red_pos (before its '\n'): its findings make a sample. */
static int rec_close_line(struct rec *r)
{
    size_t n = 0; /* pending findings whose label lies in this line */
    while (n < r->n_pend && (r->jsonl || r->pend[n].red_start < r->red_pos))
        n++;
    int rc = 0;
    if (n == 0)
        goto out;
    const char *text = r->line.data ? r->line.data : "";
    size_t kept = r->line.len;
    json_t *d = json_object(), *arr = json_array();
    size_t search = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct pii_finding *f = &r->pend[i].f;
        char label[40];
        int ll = snprintf(label, sizeof(label), "[%s]", pii_type_name(f->type));
        int64_t a = -1, b = -1;
        if (r->jsonl) {
            const char *hit = search < kept ? strstr(text + search, label) : NULL;
            if (hit) {
                a = hit - text;
                search = (size_t)a + (size_t)ll;
            }
        } else {
            a = (int64_t)(r->pend[i].red_start - r->line_start);
        }
        if (a >= 0 && (size_t)a + (size_t)ll <= kept)
            b = a + ll;
        else
            a = -1;
        rc = rec_row(r, f, a, b);
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string(pii_type_name(f->type)));
        json_object_set_new(o, "start", json_integer((json_int_t)f->start));
        json_object_set_new(o, "end", json_integer((json_int_t)f->end));
        json_object_set_new(o, "likelihood", json_string(pii_likelihood_name(f->likelihood)));
        json_object_set_new(o, "severity", json_string(pii_severity_name(f->severity)));
        json_object_set_new(o, "detector", json_string(pii_detector_name(f->detector)));
        json_object_set_new(o, "validated", json_boolean(f->verdict == PII_VERDICT_VALID));
        json_array_append_new(arr, o);
    }
    json_object_set_new(d, "file", json_string(r->file));
    json_object_set_new(d, "line", json_integer(r->pend[0].line));
    json_object_set_new(d, "redacted_bytes_cut", json_boolean(r->line_cut));
    json_object_set_new(d, "findings", arr);
    char item[64 + 4096];
    snprintf(item, sizeof(item), "%d:%s:%" PRId64, r->argi, r->file, r->pend[0].line);
    struct store_sample *sm = &r->batch[r->n_batch];
    memset(sm, 0, sizeof(*sm));
    sm->task = "pii_scan";
    sm->item = strdup(item);
    sm->output = strdup(text);
    sm->data_json = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    sm->score = (double)n;
    sm->correct = -1;
    json_decref(d);
    r->n_batch++;
    r->n_samples++;
    if (!sm->item || !sm->output || !sm->data_json)
        rc = rc ? rc : err_set(r->err, ASSAY_ENOMEM, "out of memory");
    if (!rc && r->n_batch == REC_BATCH)
        rc = rec_flush(r);
    memmove(r->pend, r->pend + n, (r->n_pend - n) * sizeof(*r->pend));
    r->n_pend -= n;
out:
    buf_reset(&r->line);
    r->line_cut = false;
    return rc;
}

static void rec_keep(struct rec *r, const char *p, size_t n)
{
    size_t room = REC_LINE_MAX - r->line.len;
    if (n > room) {
        size_t k = room; /* never cut inside a UTF-8 sequence */
        while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80)
            k--;
        n = k;
        r->line_cut = true;
    }
    if (n && buf_add(&r->line, p, n))
        r->line_cut = true;
}

static int rec_text(struct rec *r, const char *bytes, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(bytes, '\n', n);
        size_t k = nl ? (size_t)(nl - bytes) : n;
        rec_keep(r, bytes, k);
        r->red_pos += k;
        if (!nl)
            break;
        int rc = rec_close_line(r);
        if (rc)
            return rc;
        r->red_pos += 1;
        r->line_start = r->red_pos;
        bytes += k + 1;
        n -= k + 1;
    }
    return 0;
}

/* A file is done: its last line (without '\n') closes; the next file starts afresh. */
static int rec_end_file(struct rec *r)
{
    int rc = 0;
    if (r->line.len || r->n_pend)
        rc = rec_close_line(r);
    r->n_pend = 0;
    r->red_pos = r->line_start = 0;
    r->shift = 0;
    return rc;
}

struct rec_ids {
    struct rec *r;
    int64_t *ids;
    int64_t n;
};

static int rec_id(void *user, const struct store_sample_row *row)
{
    struct rec_ids *x = user;
    if (x->n < x->r->n_samples)
        x->ids[x->n++] = row->id;
    return 0;
}

/* Store the findings (sample ordinals made ids) and the counts as metrics. */
static int rec_finish(struct rec *r, uint64_t n_bytes)
{
    int rc = rec_flush(r);
    if (rc)
        return rc;
    struct rec_ids x = {r, NULL, 0};
    if (r->n_samples > 0) {
        x.ids = mem_alloc_array((size_t)r->n_samples, sizeof(int64_t));
        if (!x.ids)
            return err_set(r->err, ASSAY_ENOMEM, "out of memory");
        rc = store_each_sample(r->s, r->run, "pii_scan", rec_id, &x, r->err);
        if (!rc && x.n != r->n_samples)
            rc = err_set(r->err, ASSAY_EFAIL,
                         "run %" PRId64 ": %" PRId64 " samples stored, %" PRId64 " read back",
                         r->run, r->n_samples, x.n);
    }
    for (int64_t i = 0; !rc && i < r->rows.n; i++)
        r->rows.v[i].sample_id = x.ids[r->rows.v[i].sample_id];
    if (!rc)
        rc = store_put_pii_findings(r->s, r->run, r->rows.v, r->rows.n, r->err);
    free(x.ids);
    /* Counts from the stored rows: by type, by severity, and in all. */
    int64_t by_type[PII_TYPE_COUNT] = {0}, n_sens = 0, n_pers = 0;
    for (int64_t i = 0; i < r->rows.n; i++) {
        int t = pii_type_from_name(r->rows.v[i].type);
        if (t >= 0)
            by_type[t]++;
        if (strcmp(r->rows.v[i].severity, "sensitive") == 0)
            n_sens++;
        else
            n_pers++;
    }
    for (int t = 0; !rc && t < PII_TYPE_COUNT; t++)
        if (by_type[t]) {
            char name[64];
            snprintf(name, sizeof(name), "findings:%s", pii_type_name(t));
            rc = store_put_metric(r->s, r->run, "pii_scan", name, (double)by_type[t], NAN,
                                  r->n_samples, r->err);
        }
    if (!rc)
        rc = store_put_metric(r->s, r->run, "pii_scan", "findings", (double)r->rows.n, NAN,
                              r->n_samples, r->err);
    if (!rc)
        rc = store_put_metric(r->s, r->run, "pii_scan", "findings:sensitive", (double)n_sens, NAN,
                              r->n_samples, r->err);
    if (!rc)
        rc = store_put_metric(r->s, r->run, "pii_scan", "findings:personal", (double)n_pers, NAN,
                              r->n_samples, r->err);
    if (!rc)
        rc = store_put_metric(r->s, r->run, "pii_scan", "bytes_scanned", (double)n_bytes, NAN,
                              r->n_samples, r->err);
    return rc;
}

static void rec_release(struct rec *r)
{
    for (size_t i = 0; i < r->n_batch; i++) {
        free((char *)r->batch[i].item);
        free((char *)r->batch[i].output);
        free((char *)r->batch[i].data_json);
    }
    r->n_batch = 0;
    buf_release(&r->line);
    free(r->pend);
    pii_rows_release(&r->rows);
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
    struct pii_rows rows;
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
        rc = pii_rows_add(&rs->rows, x, row->id, "output", (int64_t)x->start, (int64_t)x->end,
                          rs->err);
        if (rc)
            return rc;
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
        rc = store_put_pii_findings(s, run_id, rs.rows.v, rs.rows.n, &ctx->err);
    if (!rc && !ctx->quiet)
        fprintf(stderr, "assay: stored %" PRId64 " findings for run %" PRId64 " in %s\n", rs.rows.n,
                run_id, store_path(s));
out:
    store_run_release(&run);
    pii_rows_release(&rs.rows);
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
    so->print = !redact;
    so->echo = redact;
    if (so->rec) {
        so->rec->file = path;
        so->rec->jsonl = field != NULL;
    }
    struct pii_sink sink = {
        .user = so,
        .finding = on_finding,
        .text = redact || so->rec ? on_text : NULL,
        .warn = on_warn,
    };
    int rc = field ? pii_scan_jsonl(sc, fd, path, field, max_record, &sink, stats, &ctx->err)
                   : pii_scan_fd(sc, fd, path, &sink, stats, &ctx->err);
    if (!rc && so->rec)
        rc = rec_end_file(so->rec);
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
    int64_t match_limit = 200000;
    rc = cli_get_int(a, "match-limit", 1, UINT32_MAX, &match_limit, &ctx->err);
    if (rc)
        return rc;
    cfg.match_limit = (uint32_t)match_limit;
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
    so.print = !redact;
    struct pii_stats stats;
    memset(&stats, 0, sizeof(stats));
    /* A FILE scan is recorded as a run of kind "pii" unless --no-store. */
    struct store *db = NULL;
    struct rec rec;
    memset(&rec, 0, sizeof(rec));
    buf_init(&rec.line, REC_LINE_MAX + 1);
    int64_t run = 0;
    if (!by_run && !cli_flag(a, "no-store")) {
        json_t *conf = json_object(), *files = json_array();
        for (int i = 1; i < a->n_pos; i++)
            json_array_append_new(files, json_string(a->pos[i]));
        json_object_set_new(conf, "files", files);
        json_object_set_new(conf, "field", field ? json_string(field) : json_null());
        json_object_set_new(conf, "types",
                            json_string(cli_given(a, "types") ? cli_get(a, "types") : "all"));
        json_object_set_new(conf, "min_likelihood",
                            json_string(pii_likelihood_name(cfg.min_likelihood)));
        json_object_set_new(conf, "match_limit", json_integer((json_int_t)match_limit));
        char *conf_s = json_dumps(conf, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(conf);
        struct store_run_new rn = {.kind = "pii", .config_json = conf_s};
        rc = conf_s ? cli_open_store(&db, a, 0, &ctx->err)
                    : err_set(&ctx->err, ASSAY_ENOMEM, "out of memory");
        if (!rc)
            rc = store_begin_run(db, &rn, &run, &ctx->err);
        free(conf_s);
        if (rc) {
            store_close(db);
            pii_scanner_free(sc);
            rec_release(&rec);
            return rc;
        }
        rec.s = db;
        rec.run = run;
        rec.err = &ctx->err;
        so.rec = &rec;
    }
    double t0 = clock_now_s();
    if (by_run) {
        int64_t run_id = 0;
        rc = cli_get_int(a, "run", 1, INT64_MAX, &run_id, &ctx->err);
        if (!rc)
            rc = scan_run(ctx, a, sc, run_id, &so, &stats);
    } else {
        for (int i = 1; i < a->n_pos && !rc; i++) {
            rec.argi = i;
            rc = scan_file(ctx, sc, a->pos[i], field, (size_t)max_record_mib << 20, redact, &so,
                           &stats);
        }
    }
    if (db) {
        if (!rc)
            rc = rec_finish(&rec, stats.n_bytes);
        if (rc) {
            store_finish_run(db, run, STORE_RUN_FAILED, ctx->err.msg, NULL);
        } else {
            rc = store_finish_run(db, run, STORE_RUN_DONE, NULL, &ctx->err);
            if (!rc && !ctx->quiet)
                fprintf(stderr,
                        "assay: recorded run %" PRId64 " (kind pii: %" PRId64 " samples, %" PRId64
                        " findings) in %s\n",
                        run, rec.n_samples, rec.rows.n, store_path(db));
        }
        store_close(db);
    }
    rec_release(&rec);
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
