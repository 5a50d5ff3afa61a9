/*
 * safety/pii.h - the PII scanner: detectors as data (safety/pii_rules.c), compiled once
 * with PCRE2's JIT, run only around cheap trigger hits, with validators, context words,
 * likelihood and severity. No model is involved.
 *
 * Offsets: every finding's span is a pair of UTF-8 byte offsets into the scanned text,
 * end exclusive. Overlapping candidates are resolved (the most likely, then validated,
 * then longest wins), so the findings of one scan never overlap and come in start order.
 *
 * Determinism: the findings of a text do not depend on the thread count, the chunk size
 * or where a stream's reads happen to split the text (each candidate is anchored at a
 * start offset and owned by the one chunk holding that offset; see pii_kernel.c).
 *
 * Ownership: struct pii_scanner is created by pii_scanner_new, is immutable afterwards
 * and may be shared by threads; free it with pii_scanner_free. struct pii_findings owns
 * its array (pii_findings_release). Strings returned by the *_name functions are static.
 *
 * Errors: ASSAY_EINVAL for a bad option value, ASSAY_EIO for a read or write failure
 * (the message names the file), ASSAY_ELIMIT when a record or a finding list passes its
 * cap, ASSAY_ENOMEM. A PCRE2 match or heap limit hit is not an error: it is counted in
 * struct pii_stats and the candidate is dropped.
 */
#ifndef ASSAY_SAFETY_PII_H
#define ASSAY_SAFETY_PII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/* Fixed names, so that findings compare across tools (Presidio / Cloud DLP style). */
enum pii_type {
    PII_TYPE_EMAIL_ADDRESS,
    PII_TYPE_PHONE_NUMBER,
    PII_TYPE_CREDIT_CARD,
    PII_TYPE_US_SSN,
    PII_TYPE_US_ITIN,
    PII_TYPE_IBAN_CODE,
    PII_TYPE_IP_ADDRESS,
    PII_TYPE_MAC_ADDRESS,
    PII_TYPE_URL_BASIC_AUTH,
    PII_TYPE_DATE_OF_BIRTH,
    PII_TYPE_US_PASSPORT,
    PII_TYPE_US_DRIVER_LICENSE,
    PII_TYPE_UK_NHS,
    PII_TYPE_CN_RESIDENT_ID,
    PII_TYPE_IN_AADHAAR,
    PII_TYPE_CRYPTO,
    PII_TYPE_AWS_ACCESS_KEY,
    PII_TYPE_AWS_SECRET_KEY,
    PII_TYPE_GITHUB_TOKEN,
    PII_TYPE_SLACK_TOKEN,
    PII_TYPE_GOOGLE_API_KEY,
    PII_TYPE_STRIPE_KEY,
    PII_TYPE_JWT,
    PII_TYPE_PRIVATE_KEY,
    PII_TYPE_GENERIC_API_KEY,
    PII_TYPE_PERSON,
    PII_TYPE_STREET_ADDRESS,
    PII_TYPE_COUNT,
};

/* Cloud DLP's scale; a scan reports PII_LIKELIHOOD_POSSIBLE and above by default. */
enum pii_likelihood {
    PII_LIKELIHOOD_VERY_UNLIKELY = 1,
    PII_LIKELIHOOD_UNLIKELY = 2,
    PII_LIKELIHOOD_POSSIBLE = 3,
    PII_LIKELIHOOD_LIKELY = 4,
    PII_LIKELIHOOD_VERY_LIKELY = 5,
};

/* As the Gemma reports classify findings (after Cloud DLP): sensitive is the higher. */
enum pii_severity {
    PII_SEVERITY_PERSONAL = 1,
    PII_SEVERITY_SENSITIVE = 2,
};

/* What the detector's validator said about the match. */
enum pii_verdict {
    PII_VERDICT_NONE = 0,  /* the detector has no validator: pattern and context only */
    PII_VERDICT_VALID = 1, /* checksum / structure check passed */
};

/* No padding bytes: `reserved` fills what would be the tail padding, so that every byte is
 * a named member, set by any initializer and copied by any assignment. Findings may then be
 * compared, hashed or written with memcmp / fwrite; with padding, those bytes held whatever
 * was on the stack where the finding was built, and equal findings compared unequal. */
struct pii_finding {
    uint64_t start, end; /* UTF-8 byte offsets into the scanned text, end exclusive */
    uint8_t type;        /* enum pii_type */
    uint8_t likelihood;  /* enum pii_likelihood */
    uint8_t severity;    /* enum pii_severity */
    uint8_t verdict;     /* enum pii_verdict */
    uint16_t detector;   /* index into the detector table, see pii_detector_name */
    uint16_t reserved;   /* always 0 */
};
_Static_assert(sizeof(struct pii_finding) == 2 * sizeof(uint64_t) + 4 + 2 * sizeof(uint16_t),
               "struct pii_finding must have no padding bytes");

struct pii_findings {
    struct pii_finding *v;
    size_t n, cap;
    size_t max_n; /* the cap on n; appending past it fails with ASSAY_ELIMIT */
};

void pii_findings_init(struct pii_findings *f, size_t max_n); /* 0: 1<<22 (96 MiB) */
void pii_findings_release(struct pii_findings *f);
int pii_findings_push(struct pii_findings *f, const struct pii_finding *x, struct assay_error *err);

/* ---- names ------------------------------------------------------------------------- */

const char *pii_type_name(int type);      /* "EMAIL_ADDRESS"; "?" if out of range */
int pii_type_from_name(const char *name); /* -1 if unknown */
int pii_type_severity(int type);          /* enum pii_severity */
const char *pii_type_description(int type);
const char *pii_likelihood_name(int likelihood); /* "VERY_LIKELY" ... */
int pii_likelihood_from_name(const char *name);  /* accepts "likely" too; -1 if unknown */
const char *pii_severity_name(int severity);     /* "sensitive" / "personal" */
size_t pii_detector_count(void);
const char *pii_detector_name(int detector); /* "credit_card", "phone_nanp", ... */
/* Parse "EMAIL_ADDRESS,US_SSN" into a bit mask (bit = 1 << type). */
int pii_types_parse(uint64_t *mask_out, const char *list, struct assay_error *err);

/* ---- the scanner ------------------------------------------------------------------- */

struct pii_config {
    uint64_t types;          /* bit mask (1 << enum pii_type); 0 means all */
    int min_likelihood;      /* enum pii_likelihood; 0 means POSSIBLE */
    uint32_t match_limit;    /* PCRE2 match limit per candidate; 0: 200000 */
    uint32_t heap_limit_kib; /* PCRE2 heap limit per match; 0: 1024 KiB */
    int n_threads;           /* chunks scanned in parallel; <= 0: 1 */
    size_t chunk_bytes;      /* bytes per chunk; 0: 1 MiB (tests use tiny chunks) */
};

struct pii_scanner;

/* Compile every selected detector (JIT when available). */
int pii_scanner_new(struct pii_scanner **out, const struct pii_config *cfg,
                    struct assay_error *err);
void pii_scanner_free(struct pii_scanner *sc);

struct pii_stats {
    uint64_t n_bytes;      /* bytes scanned */
    uint64_t n_candidates; /* anchored pattern matches tried */
    uint64_t n_limit_hits; /* candidates stopped by a PCRE2 match / heap / stack limit */
    uint64_t n_findings;   /* findings reported */
    uint64_t n_records;    /* JSONL records scanned */
    uint64_t n_skipped;    /* JSONL records skipped (too long, not JSON, no such field) */
    bool binary;           /* the input looked binary and was skipped */
};

/* Scan len bytes in memory; resolved findings are appended to out in start order. */
int pii_scan_text(const struct pii_scanner *sc, const char *text, size_t len,
                  struct pii_findings *out, struct pii_stats *stats, struct assay_error *err);

/* ---- streaming ----------------------------------------------------------------------- */

/* Where a stream's results go. Any callback may be NULL. A non-zero return stops the scan
 * and is returned. `line` is 1-based: the line of the finding's start (plain text) or
 * the record's line (JSONL). `bytes` points at the finding's text (end - start bytes),
 * borrowed for the call. */
struct pii_sink {
    void *user;
    int (*finding)(void *user, const struct pii_finding *f, int64_t line, const char *bytes);
    /* Redacted output: the text with each finding replaced by "[TYPE]". NULL: none. */
    int (*text)(void *user, const char *bytes, size_t n);
    /* A warning about the input (a skipped record, a binary file), without the path. */
    void (*warn)(void *user, int64_t line, const char *msg);
};

/* Plain text from fd, read in constant memory (about n_threads * 4 chunks plus 128 KiB),
 * any size, any bytes. A file whose first 64 KiB look binary (NUL bytes) is skipped with
 * a warning and stats->binary set. path names the input in errors. */
int pii_scan_fd(const struct pii_scanner *sc, int fd, const char *path, const struct pii_sink *sink,
                struct pii_stats *stats, struct assay_error *err);

/* JSONL from fd: each line a JSON object whose string member `field` is scanned; offsets
 * are into that value. A line longer than max_record_bytes (0: 64 MiB), a line that is not
 * a JSON object, or one without the field is skipped with a warning (and written through
 * unchanged, masked as plain text, when redacting). Redacted records are re-serialised. */
int pii_scan_jsonl(const struct pii_scanner *sc, int fd, const char *path, const char *field,
                   size_t max_record_bytes, const struct pii_sink *sink, struct pii_stats *stats,
                   struct assay_error *err);

/* ---- masking ------------------------------------------------------------------------ */

/* Append text to out with each finding's span replaced by "[TYPE]". findings must be
 * sorted and not overlap (as pii_scan_text returns them). */
int pii_redact(struct buf *out, const char *text, size_t len, const struct pii_finding *f, size_t n,
               struct assay_error *err);

/* The one function every place that prints or renders stored or scanned text calls
 * (reports, web pages, command output): scan text and append it to out with every
 * finding replaced by its type label. */
int pii_mask_text(struct buf *out, const struct pii_scanner *sc, const char *text, size_t len,
                  struct assay_error *err);

#endif
