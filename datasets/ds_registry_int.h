/*
 * datasets/ds_registry_int.h - internal to datasets/: the registry rows (ds_table.c,
 * generated) and helpers shared by the registry and the downloader.
 */
#ifndef ASSAY_DATASETS_DS_REGISTRY_INT_H
#define ASSAY_DATASETS_DS_REGISTRY_INT_H

#include <stddef.h>

#include "datasets/ds_registry.h"

extern const struct ds_info ds_table[];
extern const size_t ds_table_n;

/* snprintf into out; ASSAY_ELIMIT when it does not fit */
int ds_path_join(char *out, size_t n, const char *a, const char *b, struct assay_error *err);
/* mkdir -p of the folder that will hold path */
int ds_mkdirs_for(const char *path, struct assay_error *err);
/* sha256 of a file's bytes as stored (no gunzip) */
int ds_sha256_file(char hex[65], const char *path, struct assay_error *err);
int ds_file_exists(const char *path);

#endif
