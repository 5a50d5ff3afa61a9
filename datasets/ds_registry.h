/*
 * datasets/ds_registry.h - the datasets assay knows (a table, not code), where their
 * files are on this machine, and how to fetch and verify them.
 *
 * Every file is named by its path in the mirror layout of ../shared/datasets (for
 * example "mmlu/test/abstract_algebra_test.csv"); its sha256 is that of the file as
 * stored there. A file is found, in order:
 *   1. under o->data_dir, or else under $ASSAY_DATA_DIR (a local mirror);
 *   2. under the cache: o->cache_dir, else $XDG_CACHE_HOME/assay/datasets, else
 *      ~/.cache/assay/datasets, where `assay datasets fetch` puts files.
 * For "X.gz" a plain "X" is accepted too (the readers gunzip by content, so either reads
 * the same). Evals never hard-code a path: they look a dataset up, pick files by split,
 * and call ds_resolve_file.
 *
 * Registry entries are static and borrowed; nothing here needs freeing.
 *
 * How an eval reads its rows (no path is ever spelled out):
 *
 *     const struct ds_info *d = ds_registry_find("mmlu");
 *     const struct ds_file *f;
 *     for (size_t i = 0; (f = ds_info_split(d, "test", i)); i++) {
 *         char path[4096];
 *         rc = ds_resolve_file(path, sizeof(path), f, opts, err);   // ENOTFOUND: say fetch
 *         struct ds_read_opts ro = {.n_fields = 6};                 // MMLU: no header
 *         rc = ds_csv_open(&csv, path, &ro, err);
 *         while ((rc = ds_csv_next(csv, err)) == 1) ...
 *     }
 *
 * Split names by dataset (see `assay datasets list --json` for every file):
 *   mmlu: test, dev (5-shot exemplars), validation    arc_easy/arc_challenge: test,
 *   validation, train    gsm8k: test, train    humaneval: test    mbpp: full (test =
 *   task_id 11-510, prompts 1-10), sanitized    hellaswag: validation (text, 6 lines per
 *   item)    piqa: validation + validation_labels (text)    boolq: validation
 *   truthfulqa: mc, generation (v1_2021, what lm-eval scores), mc_2025, generation_2025
 *   winogrande: validation + validation_labels    math: test, test500
 */
#ifndef ASSAY_DATASETS_DS_REGISTRY_H
#define ASSAY_DATASETS_DS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

enum ds_format {
    DS_FORMAT_TEXT = 0, /* lines (.txt, .lst, winobias .txt.dev) */
    DS_FORMAT_CSV,
    DS_FORMAT_TSV,
    DS_FORMAT_JSONL,
    DS_FORMAT_JSON,
};

struct ds_file {
    const char *path;      /* in the mirror layout, e.g. "gsm8k/test.jsonl" */
    const char *split;     /* "test", "validation", "train", "dev", "fewshot", "labels",
                            * "extra" ... (the dataset section of MANIFEST.md says which
                            * split harnesses score on) */
    enum ds_format format; /* of the content, after gunzip */
    int64_t n_rows;        /* as counted in MANIFEST.md's appendix: JSONL objects, CSV
                            * records with the header, JSON top-level length, text lines */
    int64_t n_bytes;       /* size as stored */
    const char *sha256;    /* of the file as stored in the mirror */
    const char *url;       /* canonical download URL, NULL when there is none */
    const char *member;    /* non-NULL: url is an archive (tar/zip) and this is the member */
    int gz_of_url;         /* 1: the mirror file is a gzip of what url serves; a fetch
                            * stores it uncompressed, under the name without ".gz" */
};

struct ds_info {
    const char *name;    /* lm-eval-ish task name: "mmlu", "arc_easy", "gsm8k" */
    const char *title;   /* one line */
    const char *license; /* SPDX-ish */
    const char *source;  /* homepage or HF id, for people */
    int in_mirror;       /* 0: listed with its URL but absent from ../shared/datasets */
    const struct ds_file *files;
    size_t n_files;
};

/* The table. */
size_t ds_registry_count(void);
const struct ds_info *ds_registry_at(size_t i);
/* NULL when unknown. */
const struct ds_info *ds_registry_find(const char *name);
/* A file of d by its mirror path, or by a suffix of it after a '/' ("test.jsonl",
 * "test/abstract_algebra_test.csv"). NULL when none or more than one match. */
const struct ds_file *ds_info_file(const struct ds_info *d, const char *file);
/* The i-th file of d whose split is `split` (i from 0); NULL past the last. */
const struct ds_file *ds_info_split(const struct ds_info *d, const char *split, size_t i);
/* Format from a file name ("x.jsonl.gz" -> DS_FORMAT_JSONL); "csv", "jsonl"... */
enum ds_format ds_format_of(const char *path);
const char *ds_format_name(enum ds_format f);

/* Where to look, and how to download. Zeroed (or NULL) means the defaults above. */
struct ds_opts {
    const char *data_dir;     /* NULL: $ASSAY_DATA_DIR, else the cache only */
    const char *cache_dir;    /* NULL: $XDG_CACHE_HOME/assay/datasets, ~/.cache/... */
    const char *base_url;     /* NULL: $ASSAY_DATASETS_BASE_URL, else each file's url. A base
                               * URL is a mirror over HTTP: file = base_url + "/" + path */
    struct progress progress; /* downloads report (done, total bytes, file path) */
    int max_retries;          /* transient failures retried (0: 5; -1: none) */
    long retry_base_ms;       /* first backoff, doubled each retry (0: 500 ms) */
    long low_speed_s;         /* abort a transfer below 1 byte/s for this long (0: 60) */
    size_t max_bytes;         /* cap on one download (0: 8 GiB) */
};

/* The mirror folder (data_dir / $ASSAY_DATA_DIR) into out; ASSAY_ENOTFOUND when none is
 * set. */
int ds_data_dir(char *out, size_t n, const struct ds_opts *o, struct assay_error *err);
/* The cache folder into out (not created). ASSAY_ENOTFOUND when neither XDG_CACHE_HOME
 * nor HOME is set. */
int ds_cache_dir(char *out, size_t n, const struct ds_opts *o, struct assay_error *err);

/* Path of a dataset's file on this machine, found as described at the top.
 * ASSAY_ENOTFOUND for an unknown dataset or file, or when the file is in neither place
 * (the message names both places and says `assay datasets fetch NAME`); ASSAY_ELIMIT
 * when the path does not fit in n. */
int ds_resolve(char *path_out, size_t n, const char *dataset, const char *file,
               const struct ds_opts *o, struct assay_error *err);
int ds_resolve_file(char *path_out, size_t n, const struct ds_file *f, const struct ds_opts *o,
                    struct assay_error *err);

enum ds_verify_status {
    DS_VERIFY_OK = 0,
    DS_VERIFY_MISSING,  /* in neither place */
    DS_VERIFY_MISMATCH, /* present, sha256 differs */
    DS_VERIFY_UNCHECKED /* present as the uncompressed "X" of a "X.gz": the stored hash is
                         * of the gzip bytes, so it cannot be compared */
};
const char *ds_verify_status_name(enum ds_verify_status s); /* "OK", "MISSING"... */

/* Hash the resolved file. Sets *st, and got_hex (may be NULL) and path_out (may be NULL)
 * when present. Returns 0 whatever the status; negative only when hashing failed. */
int ds_verify_file(enum ds_verify_status *st, char got_hex[65], char *path_out, size_t n,
                   const struct ds_file *f, const struct ds_opts *o, struct assay_error *err);

/* Download url to dest: follows redirects, resumes into "dest.part" with a Range
 * request after a dropped connection (and across runs), retries transient failures
 * (connection errors, HTTP 408/429/5xx) with exponential backoff, reports progress, and
 * checks sha256_hex (NULL: unchecked) before renaming into place atomically. On a
 * mismatch the .part file is removed, nothing is left at dest, and the error says
 * "sha256 mismatch for 'URL': expected X, got Y" (ASSAY_EINVAL). ASSAY_ENETWORK for
 * failures that retries did not cure, ASSAY_ENOTFOUND for HTTP 404. */
int ds_download(const char *url, const char *dest, const char *sha256_hex, const struct ds_opts *o,
                struct assay_error *err);

/* Fetch every file of d that is not already in the cache with the right hash (files
 * present in the data dir are left alone). With a base URL, files come from the
 * mirror; else from each file's url (archives are downloaded once into the cache's
 * ".archives" folder and the members extracted and checked). A file with no URL and
 * no base URL is ASSAY_EUNSUPPORTED. *n_fetched (may be NULL) counts files written. */
int ds_fetch(const struct ds_info *d, const struct ds_opts *o, size_t *n_fetched,
             struct assay_error *err);

#endif
