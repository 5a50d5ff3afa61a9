/*
 * base/json.c - jansson wrappers; see json.h.
 */
#include "base/json.h"

#include <string.h>

static int map_error(const json_error_t *je, const char *what, long line_base,
                     struct assay_error *err)
{
    long line = je->line > 0 ? je->line : 0;
    if (line_base > 0)
        line = line_base + (line > 0 ? line - 1 : 0);
    return err_set_at(err, ASSAY_EINVAL, what, line, "invalid json: %s (column %d)", je->text,
                      je->column);
}

int jsn_load_file(json_t **out, const char *path, struct assay_error *err)
{
    json_error_t je;
    *out = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (*out)
        return 0;
    if (strstr(je.text, "unable to open"))
        return err_set_at(err, ASSAY_ENOTFOUND, path, 0, "%s", je.text);
    return map_error(&je, path, 0, err);
}

int jsn_load_buf(json_t **out, const char *text, size_t len, const char *what, long line,
                 struct assay_error *err)
{
    json_error_t je;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (*out)
        return 0;
    return map_error(&je, what, line, err);
}

const char *jsn_str(const json_t *obj, const char *key, const char *def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

int64_t jsn_int(const json_t *obj, const char *key, int64_t def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

double jsn_num(const json_t *obj, const char *key, double def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

int jsn_bool(const json_t *obj, const char *key, int def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

char *jsn_dump_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
