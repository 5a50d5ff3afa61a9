/*
 * safety/pii_rows.c - findings as store rows; see pii_rows.h.
 */
#include "safety/pii_rows.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

int pii_rows_add(struct pii_rows *rows, const struct pii_finding *f, int64_t sample_id,
                 const char *field, int64_t start, int64_t end, struct assay_error *err)
{
    if (rows->n == rows->cap) {
        int64_t ncap = rows->cap ? rows->cap * 2 : 64;
        struct store_pii_finding *v = mem_realloc_array(rows->v, (size_t)ncap, sizeof(*v));
        if (!v)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        rows->v = v;
        rows->cap = ncap;
    }
    struct store_pii_finding *r = &rows->v[rows->n++];
    r->sample_id = sample_id;
    r->field = field;
    r->type = pii_type_name(f->type);
    r->start_byte = start;
    r->end_byte = end;
    r->likelihood = pii_likelihood_name(f->likelihood);
    r->severity = pii_severity_name(f->severity);
    r->detector = pii_detector_name(f->detector);
    r->validated = f->verdict == PII_VERDICT_VALID;
    return 0;
}

void pii_rows_release(struct pii_rows *rows)
{
    free(rows->v);
    memset(rows, 0, sizeof(*rows));
}
