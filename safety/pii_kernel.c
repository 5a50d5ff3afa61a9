/*
 * safety/pii_kernel.c - the PII scanner's kernel: the one parallel loop of safety/, over
 * the chunks of a batch of text.
 *
 * Why OpenMP here (STYLE.md keeps OpenMP in engine kernels): scanning is the hot path of
 * `assay pii scan` over corpora of many gigabytes, and its shape is a kernel's -- a pure
 * function of read-only text and a read-only compiled scanner, writing disjoint outputs,
 * with no allocation inside the loop beyond each chunk's own candidate list. Keeping the
 * parallel region to this single function, with an explicit thread index for the
 * per-thread scratch, follows the engine's rule in spirit; nothing else in safety/
 * knows about threads.
 *
 * Exactness at chunk boundaries: chunk c owns the anchors in [b_c, e_c) and reads the
 * text in [b_c - PII_PRE, e_c + PII_POST) (the caller guarantees those bytes, or the end
 * of the input). A candidate depends only on bytes within that window of its anchor
 * (pii_int.h), so each is found by exactly one chunk, identically; chunk outputs are
 * concatenated in chunk order and therefore in anchor order.
 */
#include "safety/pii_int.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/mem.h"

int pii_work_init(struct pii_work *w, const struct pii_scanner *sc, struct assay_error *err)
{
    memset(w, 0, sizeof(*w));
    w->n_threads = pii_scanner_threads(sc);
    w->chunk_bytes = pii_scanner_chunk_bytes(sc);
    /* Four chunks per thread per call keeps threads busy when findings are uneven. */
    w->n_chunks_max = (size_t)w->n_threads * 4;
    w->scratch = calloc((size_t)w->n_threads, sizeof(*w->scratch));
    w->chunk = calloc(w->n_chunks_max, sizeof(*w->chunk));
    w->errs = calloc((size_t)w->n_threads, sizeof(*w->errs));
    if (!w->scratch || !w->chunk || !w->errs) {
        pii_work_release(w);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t c = 0; c < w->n_chunks_max; c++)
        pii_findings_init(&w->chunk[c], 0);
    for (int t = 0; t < w->n_threads; t++) {
        int rc = pii_scratch_new(&w->scratch[t], sc, err);
        if (rc) {
            pii_work_release(w);
            return rc;
        }
    }
    return 0;
}

void pii_work_release(struct pii_work *w)
{
    if (w->scratch)
        for (int t = 0; t < w->n_threads; t++)
            pii_scratch_free(w->scratch[t]);
    free(w->scratch);
    if (w->chunk)
        for (size_t c = 0; c < w->n_chunks_max; c++)
            pii_findings_release(&w->chunk[c]);
    free(w->chunk);
    free(w->errs);
    memset(w, 0, sizeof(*w));
}

size_t pii_work_batch_bytes(const struct pii_work *w)
{
    size_t n;
    if (!ck_mul(&n, w->chunk_bytes, w->n_chunks_max))
        return SIZE_MAX;
    return n;
}

int pii_kernel_scan(const struct pii_scanner *sc, struct pii_work *w, const char *text,
                    size_t text_len, size_t own_b, size_t own_e, struct pii_findings *out,
                    struct pii_stats *stats, struct assay_error *err)
{
    if (own_e <= own_b)
        return 0;
    size_t span = own_e - own_b;
    size_t n_chunks = (span + w->chunk_bytes - 1) / w->chunk_bytes;
    if (n_chunks > w->n_chunks_max)
        return err_set(err, ASSAY_EFAIL, "pii kernel: %zu bytes exceed one batch", span);
    int rcs[1024]; /* n_chunks_max <= 4 * 256 */
    for (size_t i = 0; i < n_chunks; i++)
        rcs[i] = 0;
    for (int i = 0; i < w->n_threads; i++)
        err_clear(&w->errs[i]);
    int n_threads = w->n_threads < (int)n_chunks ? w->n_threads : (int)n_chunks;
    (void)n_threads; /* without OpenMP (fuzz builds) the loop runs on this thread */

    /* chunk c: anchors [own_b + c * chunk_bytes, min(own_e, own_b + (c + 1) * chunk_bytes)) */
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
#endif
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        struct pii_scratch *x = w->scratch[tid];
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (long c = 0; c < (long)n_chunks; c++) {
            size_t b = own_b + (size_t)c * w->chunk_bytes;
            size_t e = b + w->chunk_bytes < own_e ? b + w->chunk_bytes : own_e;
            w->chunk[c].n = 0;
            rcs[c] = pii_scan_range(sc, x, text, text_len, b, e, &w->chunk[c], &w->errs[tid]);
        }
    }

    int rc = 0;
    for (size_t c = 0; c < n_chunks; c++) {
        if (rcs[c] && !rc) {
            rc = rcs[c];
            for (int i = 0; i < w->n_threads; i++)
                if (w->errs[i].code) {
                    err_set(err, w->errs[i].code, "%s", w->errs[i].msg);
                    break;
                }
        }
        for (size_t i = 0; !rc && i < w->chunk[c].n; i++)
            rc = pii_findings_push(out, &w->chunk[c].v[i], err);
    }
    for (int t = 0; t < w->n_threads; t++) {
        uint64_t lim = pii_scratch_take_limit_hits(w->scratch[t]);
        uint64_t cand = pii_scratch_take_candidates(w->scratch[t]);
        if (stats) {
            stats->n_limit_hits += lim;
            stats->n_candidates += cand;
        }
    }
    return rc;
}
