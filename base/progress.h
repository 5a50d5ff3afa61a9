/*
 * base/progress.h - how long work reports how far it has got, without knowing who
 * displays it (cli/ draws a progress line on a terminal; tests pass NULL).
 */
#ifndef ASSAY_BASE_PROGRESS_H
#define ASSAY_BASE_PROGRESS_H

#include <stdint.h>

typedef void (*progress_fn)(void *user, int64_t done, int64_t total, const char *what);

struct progress {
    progress_fn fn; /* NULL: nobody is listening */
    void *user;
};

static inline void progress_report(const struct progress *p, int64_t done, int64_t total,
                                   const char *what)
{
    if (p && p->fn)
        p->fn(p->user, done, total, what);
}

#endif
