/*
 * reports/published.c - matching a run's model and task to the published figures
 * (rows in published_data.c, generated). See published.h for the rules.
 */
#include "reports/published.h"

#include <ctype.h>
#include <string.h>

/* Tensor-type suffixes a checkpoint file name often carries ("gemma-2-9b-Q8_0.gguf"). */
static const char *const quant_suffixes[] = {
    "f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_k_s", "q5_0", "q5_1", "q4_k_m",
    "q4_k_s", "q4_0", "q4_1", "q3_k_m", "q3_k_s", "q3_k_l", "q2_k", "gguf", NULL,
};

void rpt_published_normalize(char *out, size_t n, const char *name_or_path)
{
    if (n == 0)
        return;
    out[0] = '\0';
    if (!name_or_path)
        return;
    const char *s = strrchr(name_or_path, '/');
    s = s ? s + 1 : name_or_path;
    size_t len = strlen(s);
    if (len > 5 && strcmp(s + len - 5, ".gguf") == 0)
        len -= 5;
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = (c == ' ' || c == '_') ? '-' : (char)tolower(c);
    }
    out[j] = '\0';
    /* drop one trailing tensor-type component ("-q8-0" after the '_' mapping) */
    for (const char *const *q = quant_suffixes; *q; q++) {
        char norm[16];
        size_t k = 0;
        for (; (*q)[k] && k + 1 < sizeof(norm); k++)
            norm[k] = (*q)[k] == '_' ? '-' : (*q)[k];
        norm[k] = '\0';
        if (j > k + 1 && out[j - k - 1] == '-' && strcmp(out + j - k, norm) == 0) {
            out[j - k - 1] = '\0';
            break;
        }
    }
}

bool rpt_published_model_matches(const char *name, const char *path, const char *published)
{
    char a[256];
    rpt_published_normalize(a, sizeof(a), name);
    if (a[0] && strcmp(a, published) == 0)
        return true;
    rpt_published_normalize(a, sizeof(a), path);
    return a[0] && strcmp(a, published) == 0;
}

size_t rpt_published_find(const char *name, const char *path, const char *task,
                          const struct rpt_published **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < rpt_published_count && k < max; i++) {
        const struct rpt_published *r = &rpt_published_rows[i];
        if (strcmp(r->task, task) == 0 && rpt_published_model_matches(name, path, r->model))
            out[k++] = r;
    }
    return k;
}
