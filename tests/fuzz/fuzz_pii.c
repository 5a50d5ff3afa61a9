/*
 * tests/fuzz/fuzz_pii.c - libFuzzer target for the PII scanner: scan the input whole and in
 * 7-byte chunks, and check what every caller relies on -- findings in bounds, sorted, not
 * overlapping, identical whatever the chunking -- then redact with them.
 * Crashes and mismatches become cases in tests/safety/test_pii.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "safety/pii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pii_scanner *scanner(size_t chunk)
{
    struct pii_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.chunk_bytes = chunk;
    cfg.match_limit = 20000;
    struct pii_scanner *sc = NULL;
    if (pii_scanner_new(&sc, &cfg, NULL) != 0)
        abort();
    return sc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pii_scanner *whole, *chunked;
    if (!whole) {
        whole = scanner(0);
        chunked = scanner(7);
    }
    const char *t = (const char *)data;
    struct pii_findings a, b;
    pii_findings_init(&a, 0);
    pii_findings_init(&b, 0);
    if (pii_scan_text(whole, t, size, &a, NULL, NULL) != 0 ||
        pii_scan_text(chunked, t, size, &b, NULL, NULL) != 0)
        abort();
    if (a.n != b.n)
        abort();
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].start >= a.v[i].end || a.v[i].end > size)
            abort();
        if (i > 0 && a.v[i].start < a.v[i - 1].end)
            abort();
        if (memcmp(&a.v[i], &b.v[i], sizeof(a.v[i])) != 0)
            abort();
    }
    struct buf out;
    buf_init(&out, 0);
    if (pii_redact(&out, t, size, a.v, a.n, NULL) != 0)
        abort();
    buf_release(&out);
    pii_findings_release(&a);
    pii_findings_release(&b);
    return 0;
}
