/*
 * base/json.h - JSON through jansson (Debian's libjansson), with errors mapped onto
 * struct assay_error with the file, line and column.
 *
 * Values returned through **out are new references owned by the caller
 * (json_decref). Getters return borrowed values or defaults and never fail.
 */
#ifndef ASSAY_BASE_JSON_H
#define ASSAY_BASE_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "base/error.h"

/* Parse a file; errors name the file and the line ("path:LINE: ... (column C)"). */
int jsn_load_file(json_t **out, const char *path, struct assay_error *err);
/* Parse len bytes of text; `what` names the source in messages (a path or "--text"). */
int jsn_load_buf(json_t **out, const char *text, size_t len, const char *what, long line,
                 struct assay_error *err);

/* Typed getters on an object: the value or the default when missing / of another type. */
const char *jsn_str(const json_t *obj, const char *key, const char *def);
int64_t jsn_int(const json_t *obj, const char *key, int64_t def);
double jsn_num(const json_t *obj, const char *key, double def); /* int or real */
int jsn_bool(const json_t *obj, const char *key, int def);

/* Serialise compactly with sorted keys (a canonical form, for hashing); caller frees. */
char *jsn_dump_canonical(const json_t *v);

#endif
