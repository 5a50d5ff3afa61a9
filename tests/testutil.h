/*
 * tests/testutil.h - small helpers shared by the cmocka programs: where the shared
 * fixtures are, a fresh temporary folder per test, skipping with a reason, and
 * reproducible random test data.
 * Include after <cmocka.h> and its prerequisites.
 */
#ifndef ASSAY_TESTS_TESTUTIL_H
#define ASSAY_TESTS_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reproducible test data: xorshift64 (the caller keeps the state and its seed), its top
 * bits as a u32, and a standard normal by Box-Muller from two draws. */
static inline uint32_t tu_rnd_u32(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (uint32_t)(*state >> 11);
}

static inline float tu_rnd_normal(uint64_t *state)
{
    float u1 = ((float)(tu_rnd_u32(state) >> 8) + 0.5f) / 16777216.0f;
    float u2 = ((float)(tu_rnd_u32(state) >> 8) + 0.5f) / 16777216.0f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

/* Path of a file under ../shared (ASSAY_SHARED_DIR), or NULL if it does not exist.
 * The result lives in one of 4 static buffers reused in turn: copy it if you keep it
 * across more calls. */
static inline const char *tu_shared(const char *rel)
{
    static char buf[4][1024];
    static int slot;
    const char *root = getenv("ASSAY_SHARED_DIR");
    if (!root)
        root = "../shared";
    char *out = buf[slot++ % 4];
    snprintf(out, sizeof(buf[0]), "%s/%s", root, rel);
    struct stat st;
    return stat(out, &st) == 0 ? out : NULL;
}

/* Path of a file in the source tree (ASSAY_SOURCE_DIR). */
static inline const char *tu_source(const char *rel)
{
    static char buf[4][1024];
    static int slot;
    const char *root = getenv("ASSAY_SOURCE_DIR");
    if (!root)
        root = ".";
    char *out = buf[slot++ % 4];
    snprintf(out, sizeof(buf[0]), "%s/%s", root, rel);
    return out;
}

/* A new empty folder for this test (under ASSAY_TEST_TMP or /tmp); caller may leave it. */
static inline const char *tu_tmpdir(void)
{
    static char buf[1024];
    const char *root = getenv("ASSAY_TEST_TMP");
    if (!root)
        root = "/tmp";
    mkdir(root, 0755);
    snprintf(buf, sizeof(buf), "%s/t.XXXXXX", root);
    return mkdtemp(buf);
}

/* Skip the current test with a reason printed, when a fixture is absent. */
#define TU_SKIP_IF_MISSING(path, rel)                                                    \
    do {                                                                                  \
        if (!(path)) {                                                                    \
            fprintf(stderr, "skipped: ../shared/%s not present\n", (rel));              \
            skip();                                                                       \
        }                                                                                 \
    } while (0)

#endif
