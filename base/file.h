/*
 * base/file.h - reading whole files and mapping them read-only.
 *
 * file_read_all allocates (caller frees with free()); file_map maps a file read-only
 * and the mapping belongs to the struct until file_unmap. Errors name the file.
 */
#ifndef ASSAY_BASE_FILE_H
#define ASSAY_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct file_map {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;         /* bytes */
    char *path;          /* copy of the path, for messages */
};

/* Map path read-only. ASSAY_ENOTFOUND if missing, ASSAY_EIO on other failures. */
int file_map(struct file_map *fm, const char *path, struct assay_error *err);
/* Unmap and free; safe on a zeroed struct. */
void file_unmap(struct file_map *fm);
/* Release the whole pages inside [p, p + n) of a read-only file mapping from this
 * process's resident set: they stay in the page cache, and a later read faults them
 * back in. Never on writable memory (its contents would be lost). */
void file_map_drop(const void *p, size_t n);

/* Read the whole file into a NUL-terminated allocation; ASSAY_ELIMIT past max_bytes. */
int file_read_all(char **out, size_t *len_out, const char *path, size_t max_bytes,
                  struct assay_error *err);

/* Write data to path atomically (temporary file in the same folder, fsync, rename). */
int file_write_atomic(const char *path, const void *data, size_t len, struct assay_error *err);

#endif
