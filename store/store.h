/*
 * store/store.h - the SQLite store: the only truth about models, runs, samples and
 * metrics, and the owner of every SQL statement in assay (ARCHITECTURE.md).
 *
 * Durability: the database runs in WAL mode (readers work while a run writes) with
 * synchronous=NORMAL: every sample written by store_put_sample is committed when the
 * call returns, and a run killed with SIGKILL loses nothing that completed (a power
 * cut may lose the last transactions, never corrupt the file).
 *
 * Schema: versioned with PRAGMA user_version and upgraded in place by forward-only
 * migrations when a database is opened for writing; a database written by a newer assay
 * (user_version above STORE_SCHEMA_VERSION) is refused with ASSAY_EUNSUPPORTED.
 *
 * Ownership: struct store is created by store_open and freed by store_close. Structs
 * filled by queries (struct store_run, ...) own their strings; release them with the
 * matching *_release. Strings passed in are copied by SQLite; the caller keeps them.
 *
 * Errors: ASSAY_EINVAL for a file that is not a database or is corrupt, ASSAY_ENOTFOUND
 * for a missing run, ASSAY_EUNSUPPORTED for a newer schema, ASSAY_EIO for other SQLite
 * failures; messages name the database file.
 */
#ifndef ASSAY_STORE_STORE_H
#define ASSAY_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define STORE_SCHEMA_VERSION 2

struct store;

enum store_open_flags {
    STORE_OPEN_READONLY = 1 << 0, /* never writes, never migrates (reports, serve) */
    STORE_OPEN_NO_CREATE = 1 << 1, /* fail with ASSAY_ENOTFOUND if the file is missing */
};

/* Open (creating and migrating unless flags say otherwise) the database at path. */
int store_open(struct store **out, const char *path, unsigned flags, struct assay_error *err);
void store_close(struct store *s);
const char *store_path(const struct store *s);
/* The schema version of the open database. */
int store_schema_version(const struct store *s);

/* ---- models ------------------------------------------------------------------------ */

struct store_model {
    int64_t id;
    char *fingerprint;  /* content fingerprint: "sha256:<hex>" or another "<algo>:<hex>" */
    char *path;         /* where it was last seen */
    char *name;         /* general.name or directory name; may be NULL */
    char *architecture; /* "gemma2", ... */
    int64_t n_params;   /* -1 if unknown */
    char *quantization; /* "Q4_K_M", "F16", ... ; may be NULL */
    int64_t context_length;
    int64_t file_bytes;
    char *info_json;    /* everything else, as a JSON object; may be NULL */
};

/* Insert the model, or update path/name/info of the row with the same fingerprint.
 * m->id is ignored; *id_out receives the row id. */
int store_put_model(struct store *s, const struct store_model *m, int64_t *id_out,
                    struct assay_error *err);
int store_get_model(struct store *s, int64_t id, struct store_model *out, struct assay_error *err);
void store_model_release(struct store_model *m);

/* A file version: the fingerprint of a checkpoint is remembered for it, so that a model
 * is hashed once, not at every run. Any change of size, mtime or inode is a new version. */
struct store_file_key {
    const char *path; /* absolute */
    int64_t size;
    int64_t mtime_ns;
    int64_t inode;
};

int store_lookup_fingerprint(struct store *s, const struct store_file_key *k, char *out, size_t n,
                             bool *found, struct assay_error *err);
int store_put_fingerprint(struct store *s, const struct store_file_key *k, const char *fingerprint,
                          struct assay_error *err);

/* ---- runs -------------------------------------------------------------------------- */

enum store_run_status {
    STORE_RUN_RUNNING = 0,
    STORE_RUN_DONE = 1,
    STORE_RUN_FAILED = 2,
    STORE_RUN_INTERRUPTED = 3,
};
const char *store_run_status_name(int status);

struct store_run_new {
    const char *kind;        /* "eval", "sweep", "memorize", "pii", "exec", "score", ... */
    int64_t model_id;        /* 0: none (a PII scan of text) */
    const char *backend;     /* "local", "remote", NULL */
    const char *config_json; /* the full configuration, canonical JSON (sorted keys) */
};

struct store_run {
    int64_t id;
    char *kind;
    int64_t model_id; /* 0 if none */
    char *model_fingerprint;
    char *model_path;
    char *backend;
    char *config_json;
    char *config_hash; /* sha256 hex of config_json */
    int status;        /* enum store_run_status */
    char *started_at;  /* ISO 8601 UTC */
    char *finished_at; /* NULL while running */
    char *assay_version;
    char *host;
    char *error; /* why it failed, or NULL */
    int64_t n_samples;
};

/* Start a new run row (status running). The configuration hash is computed here. */
int store_begin_run(struct store *s, const struct store_run_new *r, int64_t *run_id_out,
                    struct assay_error *err);
/* The newest unfinished (running, interrupted or failed) run of the same kind and
 * configuration, for resuming; *run_id_out = 0 if there is none. */
int store_find_resumable_run(struct store *s, const char *kind, const char *config_json,
                             int64_t *run_id_out, struct assay_error *err);
/* Mark the run running again (resume). */
int store_reopen_run(struct store *s, int64_t run_id, struct assay_error *err);
/* Finish the run with a status and, for failures, a message (may be NULL). */
int store_finish_run(struct store *s, int64_t run_id, int status, const char *error,
                     struct assay_error *err);
int store_get_run(struct store *s, int64_t run_id, struct store_run *out,
                  struct assay_error *err);
void store_run_release(struct store_run *r);

/* Runs, newest first; limit <= 0 means all. *runs_out is an array of *n_out runs that
 * the caller frees with store_runs_free. */
int store_list_runs(struct store *s, int64_t limit, struct store_run **runs_out, int64_t *n_out,
                    struct assay_error *err);
void store_runs_free(struct store_run *runs, int64_t n);

/* ---- samples ----------------------------------------------------------------------- */

struct store_sample {
    const char *task;      /* "mmlu_anatomy", ... */
    const char *item;      /* document id within the task ("12", "HumanEval/0") */
    const char *format_id; /* prompt format id; NULL or "" for the default */
    const char *prompt;    /* may be NULL */
    const char *target;    /* may be NULL */
    const char *output;    /* model output; may be NULL */
    double score;          /* the sample's score (1/0 for accuracy) */
    int correct;           /* 1, 0, or -1 when not applicable */
    const char *data_json; /* anything else (per-choice log-likelihoods...), may be NULL */
    const char *error;     /* why the item failed, or NULL */
};

/* Store one completed sample in its own durable transaction. A sample for the same
 * (run, task, item, format) replaces the earlier one. */
int store_put_sample(struct store *s, int64_t run_id, const struct store_sample *smp,
                     struct assay_error *err);
/* Store several in one transaction (all or none). */
int store_put_samples(struct store *s, int64_t run_id, const struct store_sample *smp, int64_t n,
                      struct assay_error *err);
int64_t store_count_samples(struct store *s, int64_t run_id, const char *task /* NULL: all */,
                            struct assay_error *err);

/* A stored sample as read back; strings are borrowed for the callback's duration. */
struct store_sample_row {
    int64_t id;
    struct store_sample s;
    const char *created_at;
};
typedef int (*store_sample_fn)(void *user, const struct store_sample_row *row);
/* Call fn for each sample of the run (task NULL: all tasks) in insertion order; a non-zero
 * return from fn stops the walk and is returned. */
int store_each_sample(struct store *s, int64_t run_id, const char *task, store_sample_fn fn,
                      void *user, struct assay_error *err);
/* True if the sample exists (resume: skip items already done). */
int store_has_sample(struct store *s, int64_t run_id, const char *task, const char *item,
                     const char *format_id, bool *found, struct assay_error *err);

/* ---- metrics ----------------------------------------------------------------------- */

struct store_metric {
    char *task;
    char *name;    /* "acc", "acc_norm", "pass@1", ... */
    double value;
    double stderr_; /* NaN if not defined */
    int64_t n;
};

/* Insert or replace the metric (run, task, name). */
int store_put_metric(struct store *s, int64_t run_id, const char *task, const char *name,
                     double value, double stderr_, int64_t n, struct assay_error *err);
int store_list_metrics(struct store *s, int64_t run_id, struct store_metric **out, int64_t *n_out,
                       struct assay_error *err);
void store_metrics_free(struct store_metric *m, int64_t n);

/* ---- PII findings (safety/ scanner) ---------------------------------------------------- */

/* One finding in a stored text: UTF-8 byte offsets into the sample's `field` ("output",
 * "prompt"), end exclusive. The matched text is never stored. Strings are borrowed. */
struct store_pii_finding {
    int64_t sample_id; /* 0: none */
    const char *field;
    const char *type;       /* "EMAIL_ADDRESS", ... */
    int64_t start_byte, end_byte;
    const char *likelihood; /* "VERY_LIKELY", ... */
    const char *severity;   /* "sensitive" / "personal" */
    const char *detector;
    int validated;          /* 1 if a validator (checksum...) passed */
};

/* The same as read back; strings are owned (store_pii_findings_free). */
struct store_pii_finding_row {
    int64_t sample_id;
    char *field, *type, *likelihood, *severity, *detector;
    int64_t start_byte, end_byte;
    int validated;
};

/* Remove the run's findings (before a rescan replaces them). */
int store_delete_pii_findings(struct store *s, int64_t run_id, struct assay_error *err);
/* Insert n findings of a run in one transaction (all or none). */
int store_put_pii_findings(struct store *s, int64_t run_id, const struct store_pii_finding *f,
                           int64_t n, struct assay_error *err);
/* The run's findings in insertion order; free with store_pii_findings_free. */
int store_list_pii_findings(struct store *s, int64_t run_id, struct store_pii_finding_row **out,
                            int64_t *n_out, struct assay_error *err);
void store_pii_findings_free(struct store_pii_finding_row *v, int64_t n);

#endif
