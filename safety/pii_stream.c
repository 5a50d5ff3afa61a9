/*
 * safety/pii_stream.c - scanning whole texts and streams: batches through the kernel,
 * resolution of overlapping candidates, line numbers, redaction, JSONL records, masking.
 *
 * Memory: a stream holds one buffer of PII_PRE + batch + PII_POST plus the widest open
 * cluster (PII_CLUSTER_MAX_SPAN) and the per-chunk candidate lists; nothing grows with
 * the input. JSONL records are capped (max_record_bytes) and a longer line is skipped
 * while reading it, without buffering it.
 *
 * Resolution: candidates are sorted by start; a cluster is a maximal run of transitively
 * overlapping candidates. Within a cluster the most likely, then validated, then longest,
 * then leftmost candidate wins and overlapping ones are dropped, repeatedly. A cluster is
 * decided once no later candidate can join it (its end is at or before the batch's
 * anchor limit, since later anchors start later), so batches do not change the result.
 */
#include "safety/pii.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "safety/pii_int.h"

struct emitter {
    const struct pii_sink *sink;
    struct pii_stats *stats;
    struct pii_findings *collect; /* pii_scan_text: findings go here */
    const char *buf;              /* the text buffer and the absolute offset of buf[0] */
    uint64_t buf_off;
    uint64_t line_pos;        /* lines are counted up to here */
    int64_t line;             /* 1-based line at line_pos */
    int64_t fixed_line;       /* > 0: every finding gets this line (JSONL record) */
    uint64_t red_pos;         /* redacted output written up to here */
    struct pii_findings pend; /* undecided candidates, absolute offsets */
    struct pii_findings pick; /* scratch for one cluster */
};

static int cmp_start(const void *a, const void *b)
{
    const struct pii_finding *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (int)x->detector - (int)y->detector;
}

/* Best first: likelihood, validated, longer, earlier, detector order. */
static int cmp_rank(const void *a, const void *b)
{
    const struct pii_finding *x = a, *y = b;
    if (x->likelihood != y->likelihood)
        return (int)y->likelihood - (int)x->likelihood;
    if (x->verdict != y->verdict)
        return (int)y->verdict - (int)x->verdict;
    uint64_t lx = x->end - x->start, ly = y->end - y->start;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (int)x->detector - (int)y->detector;
}

static int write_text(struct emitter *em, uint64_t upto)
{
    if (!em->sink || !em->sink->text || upto <= em->red_pos)
        return 0;
    int rc = em->sink->text(em->sink->user, em->buf + (em->red_pos - em->buf_off),
                            (size_t)(upto - em->red_pos));
    em->red_pos = upto;
    return rc;
}

static void count_lines(struct emitter *em, uint64_t upto)
{
    if (upto <= em->line_pos)
        return;
    const char *p = em->buf + (em->line_pos - em->buf_off);
    const char *e = em->buf + (upto - em->buf_off);
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl)
            break;
        em->line++;
        p = nl + 1;
    }
    em->line_pos = upto;
}

static int emit(struct emitter *em, const struct pii_finding *f, struct assay_error *err)
{
    if (em->stats)
        em->stats->n_findings++;
    if (em->collect)
        return pii_findings_push(em->collect, f, err);
    int rc = 0;
    count_lines(em, f->start);
    if (em->sink && em->sink->finding) {
        rc = em->sink->finding(em->sink->user, f, em->fixed_line > 0 ? em->fixed_line : em->line,
                               em->buf + (f->start - em->buf_off));
        if (rc)
            return rc;
    }
    if (em->sink && em->sink->text) {
        rc = write_text(em, f->start);
        if (rc)
            return rc;
        char label[40];
        int n = snprintf(label, sizeof(label), "[%s]", pii_type_name(f->type));
        rc = em->sink->text(em->sink->user, label, (size_t)n);
        em->red_pos = f->end;
    }
    return rc;
}

static int decide_cluster(struct emitter *em, size_t i, size_t j, struct assay_error *err)
{
    em->pick.n = 0;
    for (size_t k = i; k <= j; k++) {
        int rc = pii_findings_push(&em->pick, &em->pend.v[k], err);
        if (rc)
            return rc;
    }
    qsort(em->pick.v, em->pick.n, sizeof(*em->pick.v), cmp_rank);
    size_t n_keep = 0;
    for (size_t k = 0; k < em->pick.n; k++) {
        const struct pii_finding *c = &em->pick.v[k];
        int clash = 0;
        for (size_t q = 0; q < n_keep && !clash; q++)
            clash = c->start < em->pick.v[q].end && em->pick.v[q].start < c->end;
        if (!clash)
            em->pick.v[n_keep++] = *c;
    }
    qsort(em->pick.v, n_keep, sizeof(*em->pick.v), cmp_start);
    for (size_t k = 0; k < n_keep; k++) {
        int rc = emit(em, &em->pick.v[k], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Decide every cluster that no candidate anchored at or after `limit` can join. */
static int resolve(struct emitter *em, uint64_t limit, int eof, struct assay_error *err)
{
    struct pii_findings *p = &em->pend;
    if (p->n == 0)
        return 0;
    qsort(p->v, p->n, sizeof(*p->v), cmp_start);
    size_t i = 0, out = 0;
    while (i < p->n) {
        size_t j = i;
        uint64_t max_end = p->v[i].end;
        while (j + 1 < p->n && p->v[j + 1].start < max_end &&
               max_end - p->v[i].start <= PII_CLUSTER_MAX_SPAN) {
            j++;
            if (p->v[j].end > max_end)
                max_end = p->v[j].end;
        }
        int forced = j + 1 < p->n && p->v[j + 1].start < max_end && p->v[j].start < limit;
        if (eof || max_end <= limit || forced) {
            int rc = decide_cluster(em, i, j, err);
            if (rc)
                return rc;
        } else {
            for (size_t k = i; k <= j; k++)
                p->v[out++] = p->v[k];
        }
        i = j + 1;
    }
    p->n = out;
    return 0;
}

/* The first undecided byte: output and line counts may advance up to here. */
static uint64_t settled_upto(const struct emitter *em, uint64_t limit)
{
    uint64_t s = limit;
    for (size_t k = 0; k < em->pend.n; k++)
        if (em->pend.v[k].start < s)
            s = em->pend.v[k].start;
    return s;
}

static void emitter_init(struct emitter *em, const struct pii_sink *sink, struct pii_stats *stats)
{
    memset(em, 0, sizeof(*em));
    em->sink = sink;
    em->stats = stats;
    em->line = 1;
    pii_findings_init(&em->pend, 0);
    pii_findings_init(&em->pick, 0);
}

static void emitter_release(struct emitter *em)
{
    pii_findings_release(&em->pend);
    pii_findings_release(&em->pick);
}

/* Scan anchors [own_b, own_e) of buf (text_len bytes, absolute offset buf_off) and
 * decide what can be decided. */
static int run_batch(const struct pii_scanner *sc, struct pii_work *w, struct emitter *em,
                     const char *buf, size_t text_len, uint64_t buf_off, size_t own_b, size_t own_e,
                     int eof, struct assay_error *err)
{
    em->buf = buf;
    em->buf_off = buf_off;
    size_t n0 = em->pend.n;
    int rc = pii_kernel_scan(sc, w, buf, text_len, own_b, own_e, &em->pend, em->stats, err);
    if (rc)
        return rc;
    for (size_t k = n0; k < em->pend.n; k++) {
        em->pend.v[k].start += buf_off;
        em->pend.v[k].end += buf_off;
    }
    uint64_t limit = buf_off + own_e;
    rc = resolve(em, limit, eof, err);
    if (rc)
        return rc;
    uint64_t settled = eof ? buf_off + text_len : settled_upto(em, limit);
    if (em->sink && em->sink->text && settled > em->red_pos) {
        rc = write_text(em, settled);
        if (rc)
            return rc;
    }
    if (!em->collect && em->fixed_line <= 0)
        count_lines(em, settled > em->line_pos ? settled : em->line_pos);
    if (em->stats)
        em->stats->n_bytes += own_e - own_b;
    return 0;
}

static int scan_mem(const struct pii_scanner *sc, struct pii_work *w, struct emitter *em,
                    const char *text, size_t len, struct assay_error *err)
{
    size_t batch = pii_work_batch_bytes(w);
    size_t b = 0;
    if (len == 0)
        return run_batch(sc, w, em, text, 0, 0, 0, 0, 1, err);
    while (b < len) {
        size_t e = len - b > batch ? b + batch : len;
        int rc = run_batch(sc, w, em, text, len, 0, b, e, e == len, err);
        if (rc)
            return rc;
        b = e;
    }
    return 0;
}

int pii_scan_text(const struct pii_scanner *sc, const char *text, size_t len,
                  struct pii_findings *out, struct pii_stats *stats, struct assay_error *err)
{
    struct pii_work w;
    int rc = pii_work_init(&w, sc, err);
    if (rc)
        return rc;
    struct emitter em;
    emitter_init(&em, NULL, stats);
    em.collect = out;
    rc = scan_mem(sc, &w, &em, text, len, err);
    emitter_release(&em);
    pii_work_release(&w);
    return rc;
}

/* ---- plain text streams -------------------------------------------------------------- */

static int read_some(int fd, char *dst, size_t n, size_t *got, const char *path, uint64_t offset,
                     struct assay_error *err)
{
    for (;;) {
        ssize_t r = read(fd, dst, n);
        if (r >= 0) {
            *got = (size_t)r;
            return 0;
        }
        if (errno == EINTR)
            continue;
        return err_set_off(err, ASSAY_EIO, path, (int64_t)offset, "cannot read: %s",
                           strerror(errno));
    }
}

/* git's rule: a NUL byte among the first 8000 means binary. */
static int looks_binary(const char *p, size_t n)
{
    return memchr(p, 0, n < 8000 ? n : 8000) != NULL;
}

int pii_scan_fd(const struct pii_scanner *sc, int fd, const char *path, const struct pii_sink *sink,
                struct pii_stats *stats, struct assay_error *err)
{
    struct pii_work w;
    int rc = pii_work_init(&w, sc, err);
    if (rc)
        return rc;
    struct emitter em;
    emitter_init(&em, sink, stats);
    char *buf = NULL;
    size_t batch = pii_work_batch_bytes(&w);
    size_t keep_max = PII_PRE + PII_CLUSTER_MAX_SPAN + PII_MAX_MATCH + 4096;
    size_t cap;
    if (batch == SIZE_MAX || !ck_add(&cap, batch, keep_max + PII_POST)) {
        rc = err_set(err, ASSAY_EINVAL, "chunk size too large");
        goto out;
    }
    buf = malloc(cap);
    if (!buf) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory (%zu bytes for the scan buffer)", cap);
        goto out;
    }
    uint64_t buf_off = 0; /* absolute offset of buf[0] */
    size_t len = 0;
    uint64_t own_b = 0; /* absolute */
    int eof = 0, first = 1;
    for (;;) {
        while (!eof && len < cap) {
            size_t got = 0;
            rc = read_some(fd, buf + len, cap - len, &got, path, buf_off + len, err);
            if (rc)
                goto out;
            if (got == 0)
                eof = 1;
            len += got;
        }
        if (first) {
            first = 0;
            if (looks_binary(buf, len)) {
                if (stats)
                    stats->binary = 1;
                if (sink && sink->warn)
                    sink->warn(sink->user, 0, "binary file (NUL bytes), skipped");
                goto out;
            }
        }
        uint64_t end_abs = buf_off + len;
        uint64_t own_e = eof ? end_abs : end_abs - PII_POST;
        if (own_e > own_b + batch)
            own_e = own_b + batch;
        if (own_e < own_b)
            own_e = own_b;
        int last = eof && own_e == end_abs;
        rc = run_batch(sc, &w, &em, buf, len, buf_off, (size_t)(own_b - buf_off),
                       (size_t)(own_e - buf_off), last, err);
        if (rc)
            goto out;
        own_b = own_e;
        if (last)
            break;
        /* Slide: keep what undecided candidates, line counting, redaction and the next
         * batch's look-behind still need. */
        uint64_t keep = own_b >= PII_PRE ? own_b - PII_PRE : 0;
        uint64_t settled = settled_upto(&em, own_b);
        if (settled < keep)
            keep = settled;
        if (em.line_pos < keep)
            keep = em.line_pos;
        if (sink && sink->text && em.red_pos < keep)
            keep = em.red_pos;
        if (keep < buf_off)
            keep = buf_off;
        size_t drop = (size_t)(keep - buf_off);
        if (drop == 0 && len == cap) {
            rc = err_set_off(err, ASSAY_ELIMIT, path, (int64_t)own_b,
                             "undecided PII candidates fill the scan buffer");
            goto out;
        }
        memmove(buf, buf + drop, len - drop);
        len -= drop;
        buf_off = keep;
    }
out:
    free(buf);
    emitter_release(&em);
    pii_work_release(&w);
    return rc;
}

/* ---- JSONL ------------------------------------------------------------------------- */

struct text_sink_buf {
    struct buf *out;
};

int pii_redact(struct buf *out, const char *text, size_t len, const struct pii_finding *f, size_t n,
               struct assay_error *err)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].start < pos || f[i].end > len || f[i].start > f[i].end)
            return err_set(err, ASSAY_EINVAL, "findings overlap or lie outside the text");
        int rc = buf_add(out, text + pos, (size_t)f[i].start - pos);
        if (!rc)
            rc = buf_addf(out, "[%s]", pii_type_name(f[i].type));
        if (rc)
            return err_set(err, rc, "redacted text too long");
        pos = (size_t)f[i].end;
    }
    if (buf_add(out, text + pos, len - pos))
        return err_set(err, ASSAY_ELIMIT, "redacted text too long");
    return 0;
}

int pii_mask_text(struct buf *out, const struct pii_scanner *sc, const char *text, size_t len,
                  struct assay_error *err)
{
    struct pii_findings f;
    pii_findings_init(&f, 0);
    int rc = pii_scan_text(sc, text, len, &f, NULL, err);
    if (!rc)
        rc = pii_redact(out, text, len, f.v, f.n, err);
    pii_findings_release(&f);
    return rc;
}

struct jsonl {
    const struct pii_scanner *sc;
    struct pii_work w;
    const char *path;
    const char *field;
    const struct pii_sink *sink;
    struct pii_stats *stats;
    struct pii_findings found;
    struct buf red;
};

static void jl_warn(struct jsonl *j, int64_t line, const char *msg)
{
    if (j->stats)
        j->stats->n_skipped++;
    if (j->sink && j->sink->warn)
        j->sink->warn(j->sink->user, line, msg);
}

/* Scan text (a field value or a raw line) of record `line`: findings to the sink, and the
 * redacted text into j->red when redacting. */
static int jl_scan(struct jsonl *j, const char *text, size_t len, int64_t line, int report,
                   struct assay_error *err)
{
    struct emitter em;
    emitter_init(&em, NULL, j->stats);
    j->found.n = 0;
    em.collect = &j->found;
    int rc = scan_mem(j->sc, &j->w, &em, text, len, err);
    emitter_release(&em);
    if (rc)
        return rc;
    for (size_t i = 0; report && i < j->found.n && j->sink && j->sink->finding; i++) {
        rc = j->sink->finding(j->sink->user, &j->found.v[i], line, text + j->found.v[i].start);
        if (rc)
            return rc;
    }
    if (j->sink && j->sink->text) {
        buf_reset(&j->red);
        rc = pii_redact(&j->red, text, len, j->found.v, j->found.n, err);
    }
    return rc;
}

static int jl_record(struct jsonl *j, const char *line_text, size_t len, int64_t line,
                     struct assay_error *err)
{
    int rc = 0;
    size_t k = 0;
    while (k < len && (line_text[k] == ' ' || line_text[k] == '\t' || line_text[k] == '\r'))
        k++;
    if (k == len) {
        if (j->sink && j->sink->text)
            rc = j->sink->text(j->sink->user, "\n", 1);
        return rc;
    }
    json_error_t je;
    json_t *obj = json_loadb(line_text, len, JSON_ALLOW_NUL, &je);
    json_t *val = obj && json_is_object(obj) ? json_object_get(obj, j->field) : NULL;
    if (!obj || !json_is_object(obj) || !val || !json_is_string(val)) {
        char msg[200];
        if (!obj)
            snprintf(msg, sizeof(msg), "not JSON (%s), record skipped", je.text);
        else if (!json_is_object(obj))
            snprintf(msg, sizeof(msg), "not a JSON object, record skipped");
        else
            snprintf(msg, sizeof(msg), "no string field '%s', record skipped", j->field);
        jl_warn(j, line, msg);
        /* Redacting: the line still goes out, masked as plain text. */
        if (j->sink && j->sink->text) {
            rc = jl_scan(j, line_text, len, line, 0, err);
            if (!rc)
                rc = j->sink->text(j->sink->user, j->red.data ? j->red.data : "", j->red.len);
            if (!rc)
                rc = j->sink->text(j->sink->user, "\n", 1);
        }
        json_decref(obj);
        return rc;
    }
    if (j->stats)
        j->stats->n_records++;
    rc = jl_scan(j, json_string_value(val), json_string_length(val), line, 1, err);
    if (!rc && j->sink && j->sink->text) {
        json_object_set_new(obj, j->field,
                            json_stringn(j->red.data ? j->red.data : "", j->red.len));
        /* JSON_ALLOW_NUL is a decoding flag: given to json_dumps it read as JSON_INDENT(16)
         * and split each redacted record over several lines. NUL bytes are written as
         * \u0000 without it. */
        char *s = json_dumps(obj, JSON_COMPACT);
        if (!s)
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        else {
            rc = j->sink->text(j->sink->user, s, strlen(s));
            if (!rc)
                rc = j->sink->text(j->sink->user, "\n", 1);
            free(s);
        }
    }
    json_decref(obj);
    return rc;
}

int pii_scan_jsonl(const struct pii_scanner *sc, int fd, const char *path, const char *field,
                   size_t max_record_bytes, const struct pii_sink *sink, struct pii_stats *stats,
                   struct assay_error *err)
{
    if (!max_record_bytes)
        max_record_bytes = (size_t)64 << 20;
    struct jsonl j;
    memset(&j, 0, sizeof(j));
    j.sc = sc;
    j.path = path;
    j.field = field;
    j.sink = sink;
    j.stats = stats;
    pii_findings_init(&j.found, 0);
    buf_init(&j.red, max_record_bytes * 2 + 1024);
    struct buf line;
    buf_init(&line, max_record_bytes);
    char *rd = NULL;
    int rc = pii_work_init(&j.w, sc, err);
    if (rc)
        goto out;
    enum { RD = 1 << 20 };
    rd = malloc(RD);
    if (!rd) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    int64_t lineno = 1;
    int skipping = 0;
    uint64_t off = 0;
    for (;;) {
        size_t got = 0;
        rc = read_some(fd, rd, RD, &got, path, off, err);
        if (rc)
            goto out;
        off += got;
        size_t p = 0;
        while (p < got) {
            char *nl = memchr(rd + p, '\n', got - p);
            size_t n = nl ? (size_t)(nl - (rd + p)) : got - p;
            if (!skipping && buf_add(&line, rd + p, n) != 0) {
                char msg[120];
                snprintf(msg, sizeof(msg), "record longer than %zu bytes, skipped",
                         max_record_bytes);
                jl_warn(&j, lineno, msg);
                skipping = 1;
                buf_reset(&line);
                if (sink && sink->text) {
                    static const char gone[] = "[SKIPPED_RECORD]\n";
                    rc = sink->text(sink->user, gone, sizeof(gone) - 1);
                    if (rc)
                        goto out;
                }
            }
            p += n;
            if (nl) {
                p++;
                if (!skipping) {
                    rc = jl_record(&j, line.data ? line.data : "", line.len, lineno, err);
                    if (rc)
                        goto out;
                }
                skipping = 0;
                buf_reset(&line);
                lineno++;
            }
        }
        if (got == 0)
            break;
    }
    if (!skipping && line.len > 0)
        rc = jl_record(&j, line.data, line.len, lineno, err);
out:
    if (rc && err && err->path[0] == 0)
        err_set_path(err, path);
    free(rd);
    buf_release(&line);
    buf_release(&j.red);
    pii_findings_release(&j.found);
    pii_work_release(&j.w);
    return rc;
}
