/*
 * base/clock.h - wall-clock timestamps for the store and monotonic time for rates.
 */
#ifndef ASSAY_BASE_CLOCK_H
#define ASSAY_BASE_CLOCK_H

#include <stddef.h>

/* Seconds from an arbitrary fixed point, monotonic, with sub-microsecond resolution. */
double clock_now_s(void);

/* The current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" (needs 25 bytes). */
void clock_utc_iso(char *out, size_t n);

#endif
