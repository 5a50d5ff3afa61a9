/*
 * reports/html.h - the one place where text becomes HTML (STYLE.md: "HTML escaping in
 * one function"). Every string that did not come from a literal in reports/ goes
 * through rpt_html_escape: model outputs, prompts, task names, paths, configuration.
 *
 * Escaping: & < > " ' become entities, so the result is safe in element content and in
 * quoted attribute values alike. Bytes that are not valid UTF-8 (RFC 3629) and control
 * characters other than tab, newline and carriage return are each written as U+FFFD, so
 * the page is valid UTF-8 whatever the store holds.
 *
 * struct rpt_html is an output buffer with a sticky error: after the first failure
 * (ASSAY_ELIMIT past the cap, ASSAY_ENOMEM) every append is a no-op and rc keeps the
 * code, so page builders check once at the end. rpt_html_raw / rpt_html_rawf are for
 * markup written in reports/ itself and numbers, never for stored text.
 */
#ifndef ASSAY_REPORTS_HTML_H
#define ASSAY_REPORTS_HTML_H

#include <stddef.h>

#include "base/buf.h"

/* Append s[len] escaped (see above). Returns 0 or the buf error. */
int rpt_html_escape(struct buf *out, const char *s, size_t len);

struct rpt_html {
    struct buf b;
    int rc; /* 0, or the first error */
};

void rpt_html_init(struct rpt_html *h, size_t max_bytes); /* 0: BUF_DEFAULT_MAX */
void rpt_html_release(struct rpt_html *h);

/* Trusted markup (a literal in reports/). */
void rpt_html_raw(struct rpt_html *h, const char *markup);
/* Trusted format: the arguments must be numbers or literals from reports/. */
void rpt_html_rawf(struct rpt_html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Untrusted text, escaped; NULL writes nothing. */
void rpt_html_text(struct rpt_html *h, const char *s);
void rpt_html_textn(struct rpt_html *h, const char *s, size_t n);
/* A number formatted with printf's %.*f, or an en dash for NaN / infinity. */
void rpt_html_num(struct rpt_html *h, double v, int decimals);

#endif
