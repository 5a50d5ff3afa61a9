/*
 * store/store_int.h - what the store's own files share: the connection struct and the
 * statement helpers. Only files in store/ include this; every other room sees store.h
 * (and the store_*.h headers of the other store files) only.
 *
 * A new family of queries (reports, the web API, memorization, sweeps) goes in its own
 * store/store_<name>.c with a store/store_<name>.h, using these helpers; the schema and
 * its migrations stay in store.c.
 */
#ifndef ASSAY_STORE_STORE_INT_H
#define ASSAY_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct store {
    sqlite3 *db;
    char *path;
    int version;
    bool readonly;
};

/* Map a SQLite result code to an assay error naming the database file; returns the code. */
int store_db_error(struct store *s, struct assay_error *err, int src, const char *what);
/* Run SQL without results. */
int store_exec(struct store *s, const char *sql, const char *what, struct assay_error *err);
/* Prepare one statement; the caller finalizes it. */
int store_prepare(struct store *s, sqlite3_stmt **st, const char *sql, struct assay_error *err);
/* Bind a string (NULL binds SQL NULL); SQLite copies it. */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
/* A column as a newly allocated string, NULL for SQL NULL. */
char *store_col_text(sqlite3_stmt *st, int i);
/* Room for element n of a growing result array (cap elements allocated so far). */
int store_grow_array(void **arr, int64_t *cap, int64_t n, size_t elem, struct assay_error *err);

/* Read one result row into a zeroed element; non-zero (an assay error code, with err
 * set) stops the walk. */
typedef int (*store_row_fn)(sqlite3_stmt *st, void *elem, struct assay_error *err);
/* Step st (bound by the caller) to its end, one element of elem_size per row, and
 * finalize it. *arr / *n receive the array even on failure, so that the caller frees what
 * was read with its own free function; `what` names the query in a SQLite error. */
int store_collect(struct store *s, sqlite3_stmt *st, size_t elem_size, store_row_fn fill,
                  void **arr, int64_t *n, const char *what, struct assay_error *err);

#endif
