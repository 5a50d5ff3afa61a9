/*
 * safety/pii_rows.h - findings as rows of the store's pii_findings table: the one place
 * that turns a struct pii_finding into a struct store_pii_finding (names of type,
 * likelihood, severity and detector; the validator's verdict), for every command that
 * stores what the scanner found (pii scan, memorize).
 */
#ifndef ASSAY_SAFETY_PII_ROWS_H
#define ASSAY_SAFETY_PII_ROWS_H

#include <stdint.h>

#include "base/error.h"
#include "safety/pii.h"
#include "store/store.h"

/* A growing array of rows; zero-initialize, release with pii_rows_release. The rows'
 * strings are static (the scanner's tables), and `field` is borrowed from the caller. */
struct pii_rows {
    struct store_pii_finding *v;
    int64_t n, cap;
};

/* Append f as a row of sample_id's `field`, with the span [start, end) (the finding's
 * own span, or where it lies in a rewritten text). */
int pii_rows_add(struct pii_rows *rows, const struct pii_finding *f, int64_t sample_id,
                 const char *field, int64_t start, int64_t end, struct assay_error *err);
void pii_rows_release(struct pii_rows *rows);

#endif
