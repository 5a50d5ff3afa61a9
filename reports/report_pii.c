/*
 * reports/report_pii.c - the report's PII section (issue #6 item 7): for a run with
 * stored findings (`assay pii scan --run ID`) or a run of kind "pii", the counts by type
 * and severity and a few examples per type, each shown as the text around the finding
 * with the finding itself replaced by its type label (and the context masked too). With
 * --raw the finding is shown as stored, highlighted. The matched text itself is never
 * stored, so examples are cut from the sample's stored field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reports/html.h"
#include "reports/report_int.h"
#include "reports/rundata.h"

#define EXAMPLES_PER_TYPE 3
#define CONTEXT_BYTES     60

struct type_count {
    const char *type, *severity;
    int64_t n, n_validated, n_examples;
};

static size_t utf8_floor(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static const char *field_text(const struct rpt_sample *s, const char *field)
{
    if (!field || !s)
        return NULL;
    if (strcmp(field, "output") == 0)
        return s->output;
    if (strcmp(field, "prompt") == 0)
        return s->prompt;
    if (strcmp(field, "target") == 0)
        return s->target;
    return NULL;
}

/* The text around finding f, cut from the whole stored field: every span the scanner or
 * the store knows in it is replaced by its label (the one holding f marked), and the cut
 * never falls inside a span. With --raw (no scanner) the text is shown as stored, f
 * marked. */
static void render_example(struct rpt_ctx *c, const struct rpt_rundata *d,
                           const struct store_pii_finding_row *f)
{
    struct rpt_html *h = c->h;
    const struct rpt_sample *s = rpt_rundata_sample(d, f->sample_id);
    const char *text = field_text(s, f->field);
    size_t len = text ? strlen(text) : 0;
    rpt_html_raw(h, "<li>");
    if (!s || !text || f->start_byte < 0 || f->end_byte <= f->start_byte ||
        (uint64_t)f->end_byte > len) {
        rpt_html_raw(h, "<span class=\"muted\">(the stored text no longer matches this "
                        "finding's span)</span></li>\n");
        return;
    }
    rpt_html_raw(h, "<span class=\"muted\">");
    rpt_html_text(h, s->task);
    rpt_html_raw(h, " item ");
    rpt_html_text(h, s->item);
    rpt_html_raw(h, ", ");
    rpt_html_text(h, f->field);
    rpt_html_rawf(h, " bytes %lld&ndash;%lld, ", (long long)f->start_byte, (long long)f->end_byte);
    rpt_html_text(h, f->likelihood);
    rpt_html_raw(h, f->validated ? ", validated" : "");
    rpt_html_raw(h, ":</span> <code>");
    size_t a = (size_t)f->start_byte, b = (size_t)f->end_byte;
    struct rpt_span *v = NULL, raw_span = {a, b, f->type};
    size_t n = 0;
    if (c->sc) {
        if (rpt_mask_spans(&v, &n, c->sc, d, f->sample_id, f->field, text, len) != 0) {
            rpt_html_raw(h, "<em>[text withheld: the PII scan of it failed]</em></code></li>\n");
            return;
        }
    }
    const struct rpt_span *sp = c->sc ? v : &raw_span;
    size_t nsp = c->sc ? n : 1;
    size_t from = a > CONTEXT_BYTES ? utf8_floor(text, a - CONTEXT_BYTES) : 0;
    size_t to = b + CONTEXT_BYTES < len ? utf8_floor(text, b + CONTEXT_BYTES) : len;
    if (to < b)
        to = b;
    for (size_t i = 0; i < nsp; i++) { /* never cut inside a span */
        if (sp[i].start < from && from < sp[i].end)
            from = sp[i].start;
        if (sp[i].start < to && to < sp[i].end)
            to = sp[i].end;
    }
    if (from > 0)
        rpt_html_raw(h, "&hellip;");
    size_t pos = from;
    for (size_t i = 0; i < nsp; i++) {
        if (sp[i].end <= from || sp[i].start >= to)
            continue;
        rpt_html_textn(h, text + pos, sp[i].start - pos);
        bool mine = sp[i].start <= a && b <= sp[i].end;
        rpt_html_raw(h, mine ? "<mark>" : "");
        if (c->sc) {
            rpt_html_raw(h, "[");
            rpt_html_text(h, sp[i].type);
            rpt_html_raw(h, "]");
        } else {
            rpt_html_textn(h, text + sp[i].start, sp[i].end - sp[i].start);
        }
        rpt_html_raw(h, mine ? "</mark>" : "");
        pos = sp[i].end;
    }
    rpt_html_textn(h, text + pos, to - pos);
    if (to < len)
        rpt_html_raw(h, "&hellip;");
    rpt_html_raw(h, "</code></li>\n");
    free(v);
}

int rpt_render_pii_findings(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    struct rpt_html *h = c->h;
    rpt_html_raw(h, "<h3>PII findings</h3>\n");
    if (d->n_pii == 0) {
        rpt_html_raw(h, "<p>No findings are stored for this run.</p>\n");
        return 0;
    }
    struct type_count *tc = calloc((size_t)d->n_pii, sizeof(*tc));
    if (!tc)
        return err_set(c->err, ASSAY_ENOMEM, "out of memory counting pii findings");
    size_t n_types = 0;
    int64_t n_sensitive = 0, n_personal = 0;
    for (int64_t i = 0; i < d->n_pii; i++) {
        const struct store_pii_finding_row *f = &d->pii[i];
        const char *type = f->type ? f->type : "?", *sev = f->severity ? f->severity : "?";
        size_t t = 0;
        while (t < n_types && !(strcmp(tc[t].type, type) == 0 && strcmp(tc[t].severity, sev) == 0))
            t++;
        if (t == n_types) {
            tc[t].type = type;
            tc[t].severity = sev;
            n_types++;
        }
        tc[t].n++;
        tc[t].n_validated += f->validated != 0;
        n_sensitive += strcmp(sev, "sensitive") == 0;
        n_personal += strcmp(sev, "personal") == 0;
    }
    rpt_html_rawf(h, "<p>%lld findings: <b>%lld sensitive</b>, %lld personal.</p>\n",
                  (long long)d->n_pii, (long long)n_sensitive, (long long)n_personal);
    rpt_html_raw(h, "<table><tr><th>type</th><th>severity</th><th>findings</th>"
                    "<th>validated</th></tr>\n");
    for (size_t t = 0; t < n_types; t++) {
        rpt_html_raw(h, "<tr><td>");
        rpt_html_text(h, tc[t].type);
        rpt_html_raw(h, strcmp(tc[t].severity, "sensitive") == 0 ? "</td><td class=\"bad\">"
                                                                  : "</td><td>");
        rpt_html_text(h, tc[t].severity);
        rpt_html_rawf(h, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n",
                      (long long)tc[t].n, (long long)tc[t].n_validated);
    }
    rpt_html_raw(h, "</table>\n");
    rpt_html_rawf(h, "<details><summary>Examples (up to %d per type%s)</summary>\n<ul>\n",
                  EXAMPLES_PER_TYPE, c->sc ? ", masked" : ", raw");
    for (int64_t i = 0; i < d->n_pii; i++) {
        const struct store_pii_finding_row *f = &d->pii[i];
        const char *type = f->type ? f->type : "?", *sev = f->severity ? f->severity : "?";
        size_t t = 0;
        while (t < n_types && !(strcmp(tc[t].type, type) == 0 && strcmp(tc[t].severity, sev) == 0))
            t++;
        if (t < n_types && tc[t].n_examples++ < EXAMPLES_PER_TYPE)
            render_example(c, d, f);
    }
    rpt_html_raw(h, "</ul></details>\n");
    free(tc);
    return 0;
}

int rpt_render_pii_run(struct rpt_ctx *c, const struct rpt_rundata *d)
{
    int rc = rpt_render_pii_findings(c, d);
    if (rc == 0)
        rpt_render_samples(c->h, d, c->sc, c->opts->samples_per_task);
    return rc;
}
