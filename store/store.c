/*
 * store/store.c - the SQLite store; see store.h for the contract.
 *
 * Every SQL statement in assay lives in this room. This file owns the connection, the
 * schema and its migrations, and the run/sample/metric statements. It does not know
 * what a task or a model is beyond the columns it stores.
 */
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assay_version.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"

/* 'ASSY': marks the file as ours, so that another program's database is refused. */
#define STORE_APPLICATION_ID 0x41535359

/* ---- schema -------------------------------------------------------------------------- */

/* migrations[i] takes a database from user_version i to i + 1. Forward only: a released
 * migration is never edited; a change is a new entry. */
static const char *const migrations[] = {
    /* 0 -> 1: models, runs, samples, metrics */
    "CREATE TABLE models ("
    "  id INTEGER PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL UNIQUE,"
    "  path TEXT,"
    "  name TEXT,"
    "  architecture TEXT,"
    "  n_params INTEGER,"
    "  quantization TEXT,"
    "  context_length INTEGER,"
    "  file_bytes INTEGER,"
    "  info_json TEXT,"
    "  first_seen TEXT NOT NULL,"
    "  last_seen TEXT NOT NULL"
    ");"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  model_id INTEGER REFERENCES models(id),"
    "  backend TEXT,"
    "  config_json TEXT NOT NULL,"
    "  config_hash TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('running','done','failed','interrupted')),"
    "  started_at TEXT NOT NULL,"
    "  finished_at TEXT,"
    "  assay_version TEXT NOT NULL,"
    "  host TEXT,"
    "  error TEXT"
    ");"
    "CREATE INDEX runs_by_config ON runs(kind, config_hash);"
    "CREATE TABLE samples ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  task TEXT NOT NULL,"
    "  item TEXT NOT NULL,"
    "  format_id TEXT NOT NULL DEFAULT '',"
    "  prompt TEXT,"
    "  target TEXT,"
    "  output TEXT,"
    "  score REAL,"
    "  correct INTEGER,"
    "  data_json TEXT,"
    "  error TEXT,"
    "  created_at TEXT NOT NULL,"
    "  UNIQUE (run_id, task, item, format_id)"
    ");"
    "CREATE TABLE metrics ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  task TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value REAL,"
    "  stderr REAL,"
    "  n INTEGER NOT NULL,"
    "  UNIQUE (run_id, task, name)"
    ");"
    /* fingerprints are costly (every byte hashed): remembered per file version */
    "CREATE TABLE model_files ("
    "  path TEXT PRIMARY KEY,"
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  inode INTEGER NOT NULL,"
    "  fingerprint TEXT NOT NULL"
    ");",
    /* 1 -> 2: PII findings in stored texts (safety/ scanner; offsets are UTF-8 bytes into
     * the sample's field, end exclusive). The matched text itself is never stored. */
    "CREATE TABLE pii_findings ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  sample_id INTEGER REFERENCES samples(id) ON DELETE CASCADE,"
    "  field TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  start_byte INTEGER NOT NULL,"
    "  end_byte INTEGER NOT NULL,"
    "  likelihood TEXT NOT NULL,"
    "  severity TEXT NOT NULL,"
    "  detector TEXT NOT NULL,"
    "  validated INTEGER NOT NULL,"
    "  created_at TEXT NOT NULL"
    ");"
    "CREATE INDEX pii_findings_by_run ON pii_findings(run_id, type);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- helpers ------------------------------------------------------------------------- */

int store_db_error(struct store *s, struct assay_error *err, int src, const char *what)
{
    int code = ASSAY_EIO;
    int primary = src & 0xff;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        code = ASSAY_EINVAL;
    else if (primary == SQLITE_NOMEM)
        code = ASSAY_ENOMEM;
    else if (primary == SQLITE_CANTOPEN)
        code = ASSAY_EIO;
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src);
    if (primary == SQLITE_NOTADB)
        msg = "file is not a database";
    else if (primary == SQLITE_CORRUPT)
        msg = "database disk image is malformed";
    return err_set_at(err, code, s ? s->path : "", 0, "%s: %s", what, msg);
}

int store_exec(struct store *s, const char *sql, const char *what, struct assay_error *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_db_error(s, err, rc, what);
    return 0;
}

int store_prepare(struct store *s, sqlite3_stmt **st, const char *sql, struct assay_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return store_db_error(s, err, rc, "cannot prepare statement");
    return 0;
}

static int pragma_int(struct store *s, const char *sql, int *out, struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        rc = store_db_error(s, err, step, "cannot read database header");
    sqlite3_finalize(st);
    return rc;
}

void store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

char *store_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? mem_strdup((const char *)t) : NULL;
}

/* Room for element n of a growing result array (cap elements allocated so far). */
int store_grow_array(void **arr, int64_t *cap, int64_t n, size_t elem, struct assay_error *err)
{
    if (n < *cap)
        return 0;
    int64_t ncap = *cap ? *cap * 2 : 16;
    void *p = mem_realloc_array(*arr, (size_t)ncap, elem);
    if (!p)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    *arr = p;
    *cap = ncap;
    return 0;
}

int store_collect(struct store *s, sqlite3_stmt *st, size_t elem_size, store_row_fn fill,
                  void **arr, int64_t *n, const char *what, struct assay_error *err)
{
    *arr = NULL;
    *n = 0;
    int64_t cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = store_grow_array(arr, &cap, *n, elem_size, err);
        if (rc)
            break;
        char *e = (char *)*arr + (size_t)*n * elem_size;
        memset(e, 0, elem_size);
        (*n)++;
        rc = fill(st, e, err);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_db_error(s, err, step, what);
    sqlite3_finalize(st);
    return rc;
}

static void now_iso(char out[32])
{
    clock_utc_iso(out, 32);
}

/* ---- open / migrate ------------------------------------------------------------------ */

static int migrate(struct store *s, struct assay_error *err)
{
    int rc = store_exec(s, "BEGIN IMMEDIATE", "cannot begin migration", err);
    if (rc)
        return rc;
    int version = 0;
    rc = pragma_int(s, "PRAGMA user_version", &version, err);
    if (rc)
        goto out;
    if (version == 0) {
        int n_tables = 0;
        rc = pragma_int(s, "SELECT count(*) FROM sqlite_master", &n_tables, err);
        if (rc)
            goto out;
        if (n_tables > 0) {
            rc = err_set_at(err, ASSAY_EINVAL, s->path, 0,
                            "not an assay database (it has tables but no assay schema version)");
            goto out;
        }
    }
    for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof(what), "migration %d -> %d failed", v, v + 1);
        rc = store_exec(s, migrations[v], what, err);
        if (rc)
            goto out;
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
        rc = store_exec(s, sql, what, err);
        if (rc)
            goto out;
    }
    if (version < STORE_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
        rc = store_exec(s, sql, "cannot set application id", err);
        if (rc)
            goto out;
    }
    rc = store_exec(s, "COMMIT", "cannot commit migration", err);
    if (rc)
        goto out;
    s->version = STORE_SCHEMA_VERSION;
    return 0;
out:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_open(struct store **out, const char *path, unsigned flags, struct assay_error *err)
{
    *out = NULL;
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = 0;
    s->path = mem_strdup(path);
    s->readonly = (flags & STORE_OPEN_READONLY) != 0;
    if (!s->path) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && (flags & (STORE_OPEN_NO_CREATE | STORE_OPEN_READONLY))) {
        rc = err_set_at(err, ASSAY_ENOTFOUND, path, 0, "database does not exist");
        goto out;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "database is not a regular file");
        goto out;
    }
    int oflags = s->readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int src = sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = store_db_error(s, err, src, "cannot open database");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 10000);

    /* The first read of the header tells a database from anything else. */
    int version = 0;
    rc = pragma_int(s, "PRAGMA user_version", &version, err);
    if (rc)
        goto out;
    if (version > STORE_SCHEMA_VERSION) {
        rc = err_set_at(err, ASSAY_EUNSUPPORTED, path, 0,
                        "database schema version %d is newer than this assay supports (%d); "
                        "use a newer assay",
                        version, STORE_SCHEMA_VERSION);
        goto out;
    }
    int app_id = 0;
    rc = pragma_int(s, "PRAGMA application_id", &app_id, err);
    if (rc)
        goto out;
    if (version > 0 && app_id != STORE_APPLICATION_ID) {
        rc = err_set_at(err, ASSAY_EINVAL, path, 0, "not an assay database (application id %d)",
                        app_id);
        goto out;
    }
    rc = store_exec(s, "PRAGMA foreign_keys = ON", "cannot enable foreign keys", err);
    if (rc)
        goto out;
    if (s->readonly) {
        if (version < STORE_SCHEMA_VERSION) {
            rc = err_set_at(err, ASSAY_EUNSUPPORTED, path, 0,
                            "database schema version %d is older than %d; open it once with a "
                            "writing command (e.g. 'assay runs') to upgrade it",
                            version, STORE_SCHEMA_VERSION);
            goto out;
        }
        s->version = version;
        *out = s;
        return 0;
    }
    /* WAL: readers (reports, serve) work while a run writes. synchronous=NORMAL keeps every
     * committed transaction across a killed process; only a power cut can lose the last. */
    rc = store_exec(s, "PRAGMA journal_mode = WAL", "cannot enable WAL", err);
    if (rc)
        goto out;
    rc = store_exec(s, "PRAGMA synchronous = NORMAL", "cannot set synchronous", err);
    if (rc)
        goto out;
    rc = migrate(s, err);
    if (rc)
        goto out;
    *out = s;
    return 0;
out:
    store_close(s);
    return rc;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->db)
        sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

const char *store_path(const struct store *s)
{
    return s->path;
}

int store_schema_version(const struct store *s)
{
    return s->version;
}

/* ---- models -------------------------------------------------------------------------- */

int store_put_model(struct store *s, const struct store_model *m, int64_t *id_out,
                    struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    char now[32];
    now_iso(now);
    int rc =
        store_prepare(s, &st,
                      "INSERT INTO models (fingerprint, path, name, architecture, n_params,"
                      " quantization, context_length, file_bytes, info_json, first_seen, last_seen)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
                      " ON CONFLICT (fingerprint) DO UPDATE SET path = excluded.path,"
                      " name = coalesce(excluded.name, name), info_json ="
                      " coalesce(excluded.info_json, info_json), last_seen = excluded.last_seen"
                      " RETURNING id",
                      err);
    if (rc)
        return rc;
    store_bind_text(st, 1, m->fingerprint);
    store_bind_text(st, 2, m->path);
    store_bind_text(st, 3, m->name);
    store_bind_text(st, 4, m->architecture);
    sqlite3_bind_int64(st, 5, m->n_params);
    store_bind_text(st, 6, m->quantization);
    sqlite3_bind_int64(st, 7, m->context_length);
    sqlite3_bind_int64(st, 8, m->file_bytes);
    store_bind_text(st, 9, m->info_json);
    store_bind_text(st, 10, now);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *id_out = sqlite3_column_int64(st, 0);
    else
        rc = store_db_error(s, err, step, "cannot store model");
    sqlite3_finalize(st);
    return rc;
}

int store_get_model(struct store *s, int64_t id, struct store_model *out, struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = NULL;
    int rc =
        store_prepare(s, &st,
                      "SELECT id, fingerprint, path, name, architecture, n_params, quantization,"
                      " context_length, file_bytes, info_json FROM models WHERE id = ?1",
                      err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->fingerprint = store_col_text(st, 1);
        out->path = store_col_text(st, 2);
        out->name = store_col_text(st, 3);
        out->architecture = store_col_text(st, 4);
        out->n_params = sqlite3_column_int64(st, 5);
        out->quantization = store_col_text(st, 6);
        out->context_length = sqlite3_column_int64(st, 7);
        out->file_bytes = sqlite3_column_int64(st, 8);
        out->info_json = store_col_text(st, 9);
    } else if (step == SQLITE_DONE) {
        rc = err_set_at(err, ASSAY_ENOTFOUND, s->path, 0, "no model with id %lld", (long long)id);
    } else {
        rc = store_db_error(s, err, step, "cannot read model");
    }
    sqlite3_finalize(st);
    return rc;
}

void store_model_release(struct store_model *m)
{
    free(m->fingerprint);
    free(m->path);
    free(m->name);
    free(m->architecture);
    free(m->quantization);
    free(m->info_json);
    memset(m, 0, sizeof(*m));
}

int store_lookup_fingerprint(struct store *s, const struct store_file_key *k, char *out, size_t n,
                             bool *found, struct assay_error *err)
{
    *found = false;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "SELECT fingerprint FROM model_files WHERE path = ?1 AND size = ?2"
                           " AND mtime_ns = ?3 AND inode = ?4",
                           err);
    if (rc)
        return rc;
    store_bind_text(st, 1, k->path);
    sqlite3_bind_int64(st, 2, k->size);
    sqlite3_bind_int64(st, 3, k->mtime_ns);
    sqlite3_bind_int64(st, 4, k->inode);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
        *found = true;
    } else if (step != SQLITE_DONE) {
        rc = store_db_error(s, err, step, "cannot look up fingerprint");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_put_fingerprint(struct store *s, const struct store_file_key *k, const char *fingerprint,
                          struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(
        s, &st,
        "INSERT OR REPLACE INTO model_files (path, size, mtime_ns, inode, fingerprint)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
        err);
    if (rc)
        return rc;
    store_bind_text(st, 1, k->path);
    sqlite3_bind_int64(st, 2, k->size);
    sqlite3_bind_int64(st, 3, k->mtime_ns);
    sqlite3_bind_int64(st, 4, k->inode);
    store_bind_text(st, 5, fingerprint);
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot store fingerprint");
    sqlite3_finalize(st);
    return rc;
}

/* ---- runs ---------------------------------------------------------------------------- */

static const char *const status_names[] = {"running", "done", "failed", "interrupted"};

const char *store_run_status_name(int status)
{
    if (status < 0 || status > STORE_RUN_INTERRUPTED)
        return "unknown";
    return status_names[status];
}

static int status_from_name(const char *name)
{
    for (int i = 0; i <= STORE_RUN_INTERRUPTED; i++)
        if (name && strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

int store_begin_run(struct store *s, const struct store_run_new *r, int64_t *run_id_out,
                    struct assay_error *err)
{
    char hash[HASH_SHA256_HEX];
    const char *cfg = r->config_json ? r->config_json : "{}";
    int rc = hash_sha256_hex(cfg, strlen(cfg), hash, err);
    if (rc)
        return rc;
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    char now[32];
    now_iso(now);
    sqlite3_stmt *st = NULL;
    rc =
        store_prepare(s, &st,
                      "INSERT INTO runs (kind, model_id, backend, config_json, config_hash, status,"
                      " started_at, assay_version, host) VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6,"
                      " ?7, ?8)",
                      err);
    if (rc)
        return rc;
    store_bind_text(st, 1, r->kind);
    if (r->model_id > 0)
        sqlite3_bind_int64(st, 2, r->model_id);
    else
        sqlite3_bind_null(st, 2);
    store_bind_text(st, 3, r->backend);
    store_bind_text(st, 4, cfg);
    store_bind_text(st, 5, hash);
    store_bind_text(st, 6, now);
    store_bind_text(st, 7, ASSAY_VERSION " (" ASSAY_GIT_REV ")");
    store_bind_text(st, 8, host[0] ? host : NULL);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE)
        *run_id_out = sqlite3_last_insert_rowid(s->db);
    else
        rc = store_db_error(s, err, step, "cannot start run");
    sqlite3_finalize(st);
    return rc;
}

int store_find_resumable_run(struct store *s, const char *kind, const char *config_json,
                             int64_t *run_id_out, struct assay_error *err)
{
    *run_id_out = 0;
    char hash[HASH_SHA256_HEX];
    const char *cfg = config_json ? config_json : "{}";
    int rc = hash_sha256_hex(cfg, strlen(cfg), hash, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = store_prepare(
        s, &st,
        "SELECT id FROM runs WHERE kind = ?1 AND config_hash = ?2 AND config_json = ?3"
        " AND status != 'done' ORDER BY id DESC LIMIT 1",
        err);
    if (rc)
        return rc;
    store_bind_text(st, 1, kind);
    store_bind_text(st, 2, hash);
    store_bind_text(st, 3, cfg);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *run_id_out = sqlite3_column_int64(st, 0);
    else if (step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot look up runs");
    sqlite3_finalize(st);
    return rc;
}

static int run_exists_or_error(struct store *s, sqlite3_stmt *st, int64_t run_id, const char *what,
                               struct assay_error *err)
{
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE)
        return store_db_error(s, err, step, what);
    if (sqlite3_changes(s->db) == 0)
        return err_set_at(err, ASSAY_ENOTFOUND, s->path, 0, "no run with id %lld",
                          (long long)run_id);
    return 0;
}

int store_reopen_run(struct store *s, int64_t run_id, struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL"
                           " WHERE id = ?1",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    rc = run_exists_or_error(s, st, run_id, "cannot resume run", err);
    sqlite3_finalize(st);
    return rc;
}

int store_finish_run(struct store *s, int64_t run_id, int status, const char *error,
                     struct assay_error *err)
{
    if (status < STORE_RUN_RUNNING || status > STORE_RUN_INTERRUPTED)
        return err_set(err, ASSAY_EUSAGE, "invalid run status %d", status);
    char now[32];
    now_iso(now);
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(
        s, &st, "UPDATE runs SET status = ?2, finished_at = ?3, error = ?4 WHERE id = ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    store_bind_text(st, 2, status_names[status]);
    store_bind_text(st, 3, status == STORE_RUN_RUNNING ? NULL : now);
    store_bind_text(st, 4, error);
    rc = run_exists_or_error(s, st, run_id, "cannot finish run", err);
    sqlite3_finalize(st);
    return rc;
}

#define RUN_COLUMNS                                                                                \
    "r.id, r.kind, r.model_id, m.fingerprint, m.path, r.backend, r.config_json, r.config_hash,"    \
    " r.status, r.started_at, r.finished_at, r.assay_version, r.host, r.error,"                    \
    " (SELECT count(*) FROM samples WHERE run_id = r.id)"                                          \
    " FROM runs r LEFT JOIN models m ON m.id = r.model_id"

static void read_run(sqlite3_stmt *st, struct store_run *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->kind = store_col_text(st, 1);
    r->model_id = sqlite3_column_int64(st, 2);
    r->model_fingerprint = store_col_text(st, 3);
    r->model_path = store_col_text(st, 4);
    r->backend = store_col_text(st, 5);
    r->config_json = store_col_text(st, 6);
    r->config_hash = store_col_text(st, 7);
    const unsigned char *status = sqlite3_column_text(st, 8);
    r->status = status_from_name((const char *)status);
    r->started_at = store_col_text(st, 9);
    r->finished_at = store_col_text(st, 10);
    r->assay_version = store_col_text(st, 11);
    r->host = store_col_text(st, 12);
    r->error = store_col_text(st, 13);
    r->n_samples = sqlite3_column_int64(st, 14);
}

int store_get_run(struct store *s, int64_t run_id, struct store_run *out, struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st, "SELECT " RUN_COLUMNS " WHERE r.id = ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_run(st, out);
    else if (step == SQLITE_DONE)
        rc = err_set_at(err, ASSAY_ENOTFOUND, s->path, 0, "no run with id %lld", (long long)run_id);
    else
        rc = store_db_error(s, err, step, "cannot read run");
    sqlite3_finalize(st);
    return rc;
}

void store_run_release(struct store_run *r)
{
    free(r->kind);
    free(r->model_fingerprint);
    free(r->model_path);
    free(r->backend);
    free(r->config_json);
    free(r->config_hash);
    free(r->started_at);
    free(r->finished_at);
    free(r->assay_version);
    free(r->host);
    free(r->error);
    memset(r, 0, sizeof(*r));
}

static int fill_run(sqlite3_stmt *st, void *elem, struct assay_error *err)
{
    read_run(st, elem);
    return 0;
}

int store_list_runs(struct store *s, int64_t limit, struct store_run **runs_out, int64_t *n_out,
                    struct assay_error *err)
{
    *runs_out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st, "SELECT " RUN_COLUMNS " ORDER BY r.id DESC LIMIT ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
    struct store_run *runs = NULL;
    int64_t n = 0;
    rc = store_collect(s, st, sizeof(*runs), fill_run, (void **)&runs, &n, "cannot list runs", err);
    if (rc) {
        store_runs_free(runs, n);
        return rc;
    }
    *runs_out = runs;
    *n_out = n;
    return 0;
}

void store_runs_free(struct store_run *runs, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        store_run_release(&runs[i]);
    free(runs);
}

/* ---- samples ------------------------------------------------------------------------- */

static int insert_sample(struct store *s, sqlite3_stmt *st, int64_t run_id,
                         const struct store_sample *x, const char *now, struct assay_error *err)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, run_id);
    store_bind_text(st, 2, x->task);
    store_bind_text(st, 3, x->item);
    store_bind_text(st, 4, x->format_id ? x->format_id : "");
    store_bind_text(st, 5, x->prompt);
    store_bind_text(st, 6, x->target);
    store_bind_text(st, 7, x->output);
    if (isnan(x->score))
        sqlite3_bind_null(st, 8);
    else
        sqlite3_bind_double(st, 8, x->score);
    if (x->correct < 0)
        sqlite3_bind_null(st, 9);
    else
        sqlite3_bind_int(st, 9, x->correct);
    store_bind_text(st, 10, x->data_json);
    store_bind_text(st, 11, x->error);
    store_bind_text(st, 12, now);
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE)
        return store_db_error(s, err, step, "cannot store sample");
    return 0;
}

int store_put_samples(struct store *s, int64_t run_id, const struct store_sample *smp, int64_t n,
                      struct assay_error *err)
{
    for (int64_t i = 0; i < n; i++)
        if (!smp[i].task || !smp[i].item)
            return err_set(err, ASSAY_EUSAGE, "sample without task or item");
    int rc = store_exec(s, "BEGIN IMMEDIATE", "cannot begin transaction", err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = store_prepare(
        s, &st,
        "INSERT OR REPLACE INTO samples (run_id, task, item, format_id, prompt, target,"
        " output, score, correct, data_json, error, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        err);
    if (rc)
        goto out;
    char now[32];
    now_iso(now);
    for (int64_t i = 0; i < n && !rc; i++)
        rc = insert_sample(s, st, run_id, &smp[i], now, err);
    if (rc)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    return store_exec(s, "COMMIT", "cannot commit samples", err);
out:
    sqlite3_finalize(st);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_put_sample(struct store *s, int64_t run_id, const struct store_sample *smp,
                     struct assay_error *err)
{
    return store_put_samples(s, run_id, smp, 1, err);
}

int64_t store_count_samples(struct store *s, int64_t run_id, const char *task,
                            struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "SELECT count(*) FROM samples WHERE run_id = ?1"
                           " AND (?2 IS NULL OR task = ?2)",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    store_bind_text(st, 2, task);
    int64_t n;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        n = store_db_error(s, err, step, "cannot count samples");
    sqlite3_finalize(st);
    return n;
}

int store_each_sample(struct store *s, int64_t run_id, const char *task, store_sample_fn fn,
                      void *user, struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc =
        store_prepare(s, &st,
                      "SELECT id, task, item, format_id, prompt, target, output, score, correct,"
                      " data_json, error, created_at FROM samples WHERE run_id = ?1"
                      " AND (?2 IS NULL OR task = ?2) ORDER BY id",
                      err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    store_bind_text(st, 2, task);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_sample_row row;
        row.id = sqlite3_column_int64(st, 0);
        row.s.task = (const char *)sqlite3_column_text(st, 1);
        row.s.item = (const char *)sqlite3_column_text(st, 2);
        row.s.format_id = (const char *)sqlite3_column_text(st, 3);
        row.s.prompt = (const char *)sqlite3_column_text(st, 4);
        row.s.target = (const char *)sqlite3_column_text(st, 5);
        row.s.output = (const char *)sqlite3_column_text(st, 6);
        row.s.score =
            sqlite3_column_type(st, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 7);
        row.s.correct = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
        row.s.data_json = (const char *)sqlite3_column_text(st, 9);
        row.s.error = (const char *)sqlite3_column_text(st, 10);
        row.created_at = (const char *)sqlite3_column_text(st, 11);
        rc = fn(user, &row);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot read samples");
    sqlite3_finalize(st);
    return rc;
}

int store_has_sample(struct store *s, int64_t run_id, const char *task, const char *item,
                     const char *format_id, bool *found, struct assay_error *err)
{
    *found = false;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "SELECT 1 FROM samples WHERE run_id = ?1 AND task = ?2 AND item = ?3"
                           " AND format_id = ?4",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    store_bind_text(st, 2, task);
    store_bind_text(st, 3, item);
    store_bind_text(st, 4, format_id ? format_id : "");
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *found = true;
    else if (step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot look up sample");
    sqlite3_finalize(st);
    return rc;
}

/* ---- metrics ------------------------------------------------------------------------- */

int store_put_metric(struct store *s, int64_t run_id, const char *task, const char *name,
                     double value, double stderr_, int64_t n, struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "INSERT OR REPLACE INTO metrics (run_id, task, name, value, stderr, n)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    store_bind_text(st, 2, task);
    store_bind_text(st, 3, name);
    if (isnan(value))
        sqlite3_bind_null(st, 4);
    else
        sqlite3_bind_double(st, 4, value);
    if (isnan(stderr_))
        sqlite3_bind_null(st, 5);
    else
        sqlite3_bind_double(st, 5, stderr_);
    sqlite3_bind_int64(st, 6, n);
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot store metric");
    sqlite3_finalize(st);
    return rc;
}

static int fill_metric(sqlite3_stmt *st, void *elem, struct assay_error *err)
{
    struct store_metric *x = elem;
    x->task = store_col_text(st, 0);
    x->name = store_col_text(st, 1);
    x->value = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
    x->stderr_ = sqlite3_column_type(st, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 3);
    x->n = sqlite3_column_int64(st, 4);
    return 0;
}

int store_list_metrics(struct store *s, int64_t run_id, struct store_metric **out, int64_t *n_out,
                       struct assay_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st,
                           "SELECT task, name, value, stderr, n FROM metrics WHERE run_id = ?1"
                           " ORDER BY task, name",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    struct store_metric *m = NULL;
    int64_t n = 0;
    rc = store_collect(s, st, sizeof(*m), fill_metric, (void **)&m, &n, "cannot list metrics", err);
    if (rc) {
        store_metrics_free(m, n);
        return rc;
    }
    *out = m;
    *n_out = n;
    return 0;
}

void store_metrics_free(struct store_metric *m, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        free(m[i].task);
        free(m[i].name);
    }
    free(m);
}

/* ---- PII findings -------------------------------------------------------------------- */

int store_delete_pii_findings(struct store *s, int64_t run_id, struct assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = store_prepare(s, &st, "DELETE FROM pii_findings WHERE run_id = ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE)
        rc = store_db_error(s, err, step, "cannot delete pii findings");
    sqlite3_finalize(st);
    return rc;
}

int store_put_pii_findings(struct store *s, int64_t run_id, const struct store_pii_finding *f,
                           int64_t n, struct assay_error *err)
{
    if (n <= 0)
        return 0;
    sqlite3_stmt *st = NULL;
    int rc = store_exec(s, "BEGIN IMMEDIATE", "cannot begin transaction", err);
    if (rc)
        return rc;
    rc = store_prepare(s, &st,
                       "INSERT INTO pii_findings (run_id, sample_id, field, type, start_byte,"
                       " end_byte, likelihood, severity, detector, validated, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                       err);
    if (rc)
        goto out;
    char now[32];
    now_iso(now);
    for (int64_t i = 0; i < n; i++) {
        const struct store_pii_finding *x = &f[i];
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, run_id);
        if (x->sample_id > 0)
            sqlite3_bind_int64(st, 2, x->sample_id);
        else
            sqlite3_bind_null(st, 2);
        store_bind_text(st, 3, x->field ? x->field : "");
        store_bind_text(st, 4, x->type);
        sqlite3_bind_int64(st, 5, x->start_byte);
        sqlite3_bind_int64(st, 6, x->end_byte);
        store_bind_text(st, 7, x->likelihood);
        store_bind_text(st, 8, x->severity);
        store_bind_text(st, 9, x->detector);
        sqlite3_bind_int(st, 10, x->validated ? 1 : 0);
        store_bind_text(st, 11, now);
        int step = sqlite3_step(st);
        if (step != SQLITE_DONE) {
            rc = store_db_error(s, err, step, "cannot store pii finding");
            goto out;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    return store_exec(s, "COMMIT", "cannot commit pii findings", err);
out:
    sqlite3_finalize(st);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int fill_pii_finding(sqlite3_stmt *st, void *elem, struct assay_error *err)
{
    struct store_pii_finding_row *r = elem;
    r->sample_id = sqlite3_column_int64(st, 0);
    r->field = store_col_text(st, 1);
    r->type = store_col_text(st, 2);
    r->start_byte = sqlite3_column_int64(st, 3);
    r->end_byte = sqlite3_column_int64(st, 4);
    r->likelihood = store_col_text(st, 5);
    r->severity = store_col_text(st, 6);
    r->detector = store_col_text(st, 7);
    r->validated = sqlite3_column_int(st, 8);
    return 0;
}

int store_list_pii_findings(struct store *s, int64_t run_id, struct store_pii_finding_row **out,
                            int64_t *n_out, struct assay_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    int rc =
        store_prepare(s, &st,
                      "SELECT sample_id, field, type, start_byte, end_byte, likelihood, severity,"
                      " detector, validated FROM pii_findings WHERE run_id = ?1 ORDER BY id",
                      err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    struct store_pii_finding_row *v = NULL;
    int64_t n = 0;
    rc = store_collect(s, st, sizeof(*v), fill_pii_finding, (void **)&v, &n,
                       "cannot list pii findings", err);
    if (rc) {
        store_pii_findings_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

void store_pii_findings_free(struct store_pii_finding_row *v, int64_t n)
{
    for (int64_t i = 0; v && i < n; i++) {
        free(v[i].field);
        free(v[i].type);
        free(v[i].likelihood);
        free(v[i].severity);
        free(v[i].detector);
    }
    free(v);
}
