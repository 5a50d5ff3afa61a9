/*
 * memorization/mem.h - memorization audits (EVAL-NOTES.md section 4, the Gemma protocol):
 * read a corpus, sample documents reproducibly, prompt the model with `prefix` tokens of
 * each, decode `suffix` tokens greedily, and compare them token by token with the true
 * continuation: exact match, token Levenshtein distance, longest common prefix.
 * Memorized continuations (exact or approximate) go through the PII scanner.
 *
 * Generation goes through the backend interface only (engine/backend.h): prompts are
 * token ids, results are the generated token ids, never re-tokenized text.
 *
 * BOS: documents are tokenized without BOS (a pre-tokenized document's leading BOS id is
 * dropped), tokens are counted from the document's first token, and the prompt is
 * [BOS] + the prefix tokens when the model wants a BOS (Gemma: always), so the prefix is
 * exactly `prefix` document tokens as in the Gemma reports. No stop strings and no stop at
 * EOS: exactly `suffix` tokens are decoded, so an early EOS is a mismatch unless the true
 * continuation holds the same EOS at the same place.
 *
 * Ownership: struct mem_corpus and struct mem_plan own everything they point to
 * (mem_corpus_release, mem_plan_release). Errors: ASSAY_EINVAL for bad input with the file
 * and line, ASSAY_ENOTFOUND / ASSAY_EIO for files, ASSAY_ENOMEM, and the backend's and the
 * store's errors.
 */
#ifndef ASSAY_MEMORIZATION_MEM_H
#define ASSAY_MEMORIZATION_MEM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

struct backend;
struct store;
struct pii_scanner;

/* ---- matching (pure functions) -------------------------------------------------------- */

/* Levenshtein distance between two token sequences (insert, delete, substitute cost 1);
 * -1 only when its row buffer (over 1,024 tokens) cannot be allocated. */
int64_t mem_edit_distance(const int32_t *a, size_t na, const int32_t *b, size_t nb);
/* Number of equal leading tokens. */
size_t mem_lcp(const int32_t *a, size_t na, const int32_t *b, size_t nb);

struct mem_match {
    bool exact;       /* generated == true, all tokens */
    bool approximate; /* edit_distance <= approx_frac * n_true (inclusive); includes exact */
    int64_t edit_distance;
    int64_t lcp;
    double score; /* 1 - edit_distance / n_true (0 when n_true is 0), floored at 0 */
};
void mem_compare(struct mem_match *out, const int32_t *gen, size_t n_gen, const int32_t *truth,
                 size_t n_true, double approx_frac);

/* Wilson score interval at 95% (z = 1.959963984540054) for k successes in n; NaN if n = 0. */
void mem_wilson(int64_t k, int64_t n, double *lo, double *hi);

/* ---- corpora ---------------------------------------------------------------------------- */

struct mem_doc {
    char *source;   /* the file's name: its base name, or its path under a directory argument */
    char *id;       /* "0", "1"... in a text file; the 1-based line number in JSONL */
    size_t file;    /* index into mem_corpus.files */
    long line;      /* 1-based line where the document starts (JSONL), 0 for text */
    char *text;     /* NULL for a pre-tokenized document */
    size_t len;
    int32_t *ids;   /* pre-tokenized (a JSON array of ids), else NULL */
    size_t n_ids;
};

struct mem_corpus {
    struct mem_doc *docs;
    size_t n, cap;
    char **files;                    /* every file read, in order */
    char (*sha256)[65];              /* hex digest of each file's bytes (as stored, gzip too) */
    size_t n_files, cap_files;
};

struct mem_corpus_opts {
    const char *field;     /* JSONL member holding the text or the id array; NULL: "text" */
    const char *separator; /* split text files on this string; NULL or "": one document each */
    size_t max_file_bytes; /* 0: 1 GiB (after gzip decompression) */
};

void mem_corpus_init(struct mem_corpus *c);
void mem_corpus_release(struct mem_corpus *c);
/* Add a file or a directory (every regular file under it, recursively, in name order,
 * skipping names that start with '.'). A file named *.jsonl or *.ndjson (optionally .gz)
 * is JSONL: one document per non-empty line, the member `field` a string or an array of
 * token ids; a line that is not a JSON object, lacks the field, or holds something else
 * there is an error naming file and line. Any other file is text (gzip when *.gz); a
 * UTF-8 BOM at its start is dropped; empty documents are not documents. */
int mem_corpus_add(struct mem_corpus *c, const char *path, const struct mem_corpus_opts *o,
                   struct assay_error *err);

/* ---- the audit ---------------------------------------------------------------------------- */

#define MEM_OFFSET_RANDOM (-1)

struct mem_params {
    int32_t prefix;     /* tokens of prompt from the document (50) */
    int32_t suffix;     /* tokens decoded and compared (50) */
    int64_t offset;     /* document token where the prefix starts, or MEM_OFFSET_RANDOM */
    uint64_t seed;      /* sampling of documents and random offsets */
    int64_t n_docs;     /* documents to audit; 0: every document, in corpus order */
    double approx_frac; /* approximate: edit distance <= approx_frac * suffix (0.1) */
    int32_t batch;      /* documents per backend call (results do not depend on it) */
};
void mem_params_default(struct mem_params *p);

/* One planned document: either audited (window holds prefix + suffix tokens) or skipped as
 * shorter than offset + prefix + suffix. */
struct mem_item {
    size_t doc;         /* index into the corpus */
    int64_t n_tokens;   /* the document's length in tokens */
    int64_t start;      /* first prefix token */
    bool is_short;
    int32_t *window;    /* prefix + suffix ids; NULL when short */
};

struct mem_plan {
    struct mem_item *items;
    size_t n, cap;
    size_t n_audit; /* items that are not short */
    size_t n_short;
};

void mem_plan_release(struct mem_plan *p);
/* Choose the documents: with n_docs == 0 (or >= the corpus) every document in corpus order;
 * otherwise the corpus in a seeded random order (Fisher-Yates over splitmix64), tokenized
 * one by one until n_docs documents are long enough. Short documents met on the way are
 * planned as skipped. Ids outside the vocabulary are an error naming file and line. */
int mem_plan_build(struct mem_plan *p, const struct mem_corpus *c, struct backend *b,
                   const struct mem_params *prm, const struct progress *prog,
                   struct assay_error *err);

/* Audit every planned item not yet stored in run_id, batch by batch, storing each batch's
 * samples in one transaction: task = source, item = doc id, prompt = prefix text, target =
 * true continuation text, output = generated text, correct = exact, score = 1 - edit/len,
 * data_json = {exact, approximate, edit_distance, lcp, generated_ids, true_ids, start,
 * n_tokens, pii:{n_findings, sensitive, personal, types:{TYPE: count}} (memorized documents
 * only, when sc is given)}; short documents
 * are stored as rows with correct = -1 and an error. sc (may be NULL) scans memorized
 * outputs. *stop (may be NULL) set between batches ends the loop with ASSAY_EFAIL
 * "interrupted". *n_done_out (may be NULL) counts the documents audited by this call. */
int mem_audit_run(const struct mem_plan *p, const struct mem_corpus *c, struct backend *b,
                  const struct mem_params *prm, struct store *s, int64_t run_id,
                  const struct pii_scanner *sc, const volatile sig_atomic_t *stop,
                  const struct progress *prog, int64_t *n_done_out, struct assay_error *err);

/* ---- aggregates ---------------------------------------------------------------------------- */

struct mem_source_stats {
    char *source; /* "all" for the whole run */
    int64_t n, n_exact, n_approx, n_short, n_failed;
    double exact_lo, exact_hi, approx_lo, approx_hi;
    double lcp_mean;
    int64_t n_pii_sensitive, n_pii_personal; /* memorized outputs with >= 1 such finding */
};

struct mem_summary {
    struct mem_source_stats *src; /* [0] is "all", then sources in name order */
    size_t n_src;
    int64_t *lcp_hist; /* lcp_hist[k]: audited documents with longest common prefix k */
    int64_t n_lcp_hist;  /* suffix + 1 */
    int64_t pii_by_type[64]; /* memorized outputs with >= 1 finding of type (enum pii_type) */
    int64_t n_memorized;
    int64_t n_findings;
};
void mem_summary_release(struct mem_summary *m);

/* From the run's stored samples: rates with Wilson intervals per source and for "all",
 * the LCP histogram, and the PII counts of memorized outputs, written as metrics (see
 * DESIGN.md "Memorization audits" for the names); the run's PII findings are replaced by
 * a fresh scan of its memorized outputs (sc NULL: no scan, no findings). */
int mem_compute_metrics(struct mem_summary *out, struct store *s, int64_t run_id, int32_t suffix,
                        const struct pii_scanner *sc, struct assay_error *err);

#endif
