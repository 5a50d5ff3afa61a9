/*
 * reports/html.c - HTML escaping (the only implementation in assay) and the sticky-error
 * output buffer the report pages are written into. See html.h for the contract.
 */
#include "reports/html.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "base/utf8.h"

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

int rpt_html_escape(struct buf *out, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t run = 0; /* start of the pending run of bytes that need no change */
    size_t i = 0;
    int rc = 0;
    while (i < len && rc == 0) {
        uint8_t c = p[i];
        const char *rep = NULL;
        size_t adv = 1;
        if (c < 0x80) {
            switch (c) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            case '\t':
            case '\n':
            case '\r': break;
            default:
                if (c < 0x20 || c == 0x7f)
                    rep = replacement;
            }
        } else {
            uint32_t cp;
            size_t n = utf8_decode(p + i, len - i, &cp);
            if (n == 0)
                rep = replacement; /* one U+FFFD per bad byte */
            else if (cp >= 0x80 && cp <= 0x9f)
                rep = replacement, adv = n; /* C1 controls */
            else
                adv = n;
        }
        if (rep) {
            if (i > run)
                rc = buf_add(out, s + run, i - run);
            if (rc == 0)
                rc = buf_add_str(out, rep);
            i += adv;
            run = i;
        } else {
            i += adv;
        }
    }
    if (rc == 0 && len > run)
        rc = buf_add(out, s + run, len - run);
    return rc;
}

void rpt_html_init(struct rpt_html *h, size_t max_bytes)
{
    buf_init(&h->b, max_bytes);
    h->rc = 0;
}

void rpt_html_release(struct rpt_html *h)
{
    buf_release(&h->b);
}

void rpt_html_raw(struct rpt_html *h, const char *markup)
{
    if (h->rc == 0)
        h->rc = buf_add_str(&h->b, markup);
}

void rpt_html_rawf(struct rpt_html *h, const char *fmt, ...)
{
    if (h->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    h->rc = buf_vaddf(&h->b, fmt, ap);
    va_end(ap);
}

void rpt_html_textn(struct rpt_html *h, const char *s, size_t n)
{
    if (h->rc == 0 && s)
        h->rc = rpt_html_escape(&h->b, s, n);
}

void rpt_html_text(struct rpt_html *h, const char *s)
{
    if (s)
        rpt_html_textn(h, s, strlen(s));
}

void rpt_html_num(struct rpt_html *h, double v, int decimals)
{
    if (!isfinite(v))
        rpt_html_raw(h, "&ndash;");
    else
        rpt_html_rawf(h, "%.*f", decimals, v);
}
