/*
 * tests/fuzz/fuzz_gguf.c - libFuzzer target for the GGUF reader: parse the input with
 * gguf_open_mem and, when it opens, touch everything a caller could reach (every pair
 * through every getter and accessor, every tensor's first and last byte, both indexes), and
 * check that the writer reproduces it.
 * Crashes become cases in tests/engine/test_gguf.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "engine/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_kv(const struct gguf *g, const struct gguf_kv *kv)
{
    char line[200];
    gguf_kv_describe(g, kv, line, sizeof(line));
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f;
    double d;
    bool b;
    const char *s;
    size_t len;
    struct assay_error err;
    err_clear(&err);
    (void)gguf_get_u32(g, kv->key, &u32, &err);
    err_clear(&err);
    (void)gguf_get_i32(g, kv->key, &i32, &err);
    err_clear(&err);
    (void)gguf_get_u64(g, kv->key, &u64, &err);
    (void)gguf_get_i64(g, kv->key, &i64, NULL);
    (void)gguf_get_f32(g, kv->key, &f, NULL);
    (void)gguf_get_f64(g, kv->key, &d, NULL);
    (void)gguf_get_bool(g, kv->key, &b, NULL);
    if (gguf_get_str(g, kv->key, &s, &len, NULL) == 0 && len > 0) {
        volatile char c = s[len - 1];
        (void)c;
    }
    int et;
    uint64_t n;
    const struct gguf_kv *akv;
    if (gguf_get_arr(g, kv->key, &et, &n, &akv, NULL) == 0 && n > 0) {
        /* first, last and a middle element through every accessor */
        uint64_t idx[3] = {0, n / 2, n - 1};
        for (int k = 0; k < 3; k++) {
            if (gguf_arr_str(g, akv, idx[k], &s, &len, NULL) == 0 && len > 0) {
                volatile char c = s[len - 1];
                (void)c;
            }
            (void)gguf_arr_f32(g, akv, idx[k], &f, NULL);
            (void)gguf_arr_i32(g, akv, idx[k], &i32, NULL);
            (void)gguf_arr_i64(g, akv, idx[k], &i64, NULL);
        }
        (void)gguf_arr_f32(g, akv, n, &f, NULL); /* out of range */
    }
}

/* Whatever the reader accepts, the writer must reproduce: copy every pair and tensor into a
 * writer, write it to memory, read it back and compare. */
static void roundtrip(const struct gguf *g)
{
    if (gguf_n_kv(g) + gguf_n_tensors(g) > 512)
        return; /* the writer's duplicate checks are linear; keep the fuzzer fast */
    struct gguf_writer *w = NULL;
    struct assay_error err;
    err_clear(&err);
    if (gguf_writer_new(&w, &err))
        abort();
    for (size_t i = 0; i < gguf_n_kv(g); i++) {
        if (gguf_writer_copy_kv(w, g, gguf_kv_at(g, i), &err))
            abort();
    }
    for (size_t i = 0; i < gguf_n_tensors(g); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        if (gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, &err))
            abort();
    }
    void *mem = NULL;
    size_t len = 0;
    if (gguf_writer_write_mem(w, &mem, &len, &err))
        abort();
    gguf_writer_free(w);
    struct gguf *h = NULL;
    if (gguf_open_mem(&h, mem, len, "roundtrip.gguf", &err))
        abort();
    if (gguf_n_kv(h) != gguf_n_kv(g) || gguf_n_tensors(h) != gguf_n_tensors(g) ||
        gguf_alignment(h) != gguf_alignment(g))
        abort();
    for (size_t i = 0; i < gguf_n_kv(g); i++) {
        const struct gguf_kv *a = gguf_kv_at(g, i), *b = gguf_kv_at(h, i);
        if (strcmp(a->key, b->key) != 0)
            abort();
        if (strcmp(a->key, GGUF_KEY_ALIGNMENT) == 0)
            continue; /* rewritten as UINT32 */
        if (a->type != b->type || a->elem_type != b->elem_type || a->n != b->n ||
            a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0))
            abort();
    }
    for (size_t i = 0; i < gguf_n_tensors(g); i++) {
        const struct gguf_tensor *a = gguf_tensor_at(g, i), *b = gguf_tensor_at(h, i);
        if (strcmp(a->name, b->name) != 0 || a->type != b->type || a->n_dims != b->n_dims ||
            memcmp(a->ne, b->ne, sizeof(a->ne)) != 0 || a->n_bytes != b->n_bytes ||
            memcmp(a->data, b->data, a->n_bytes) != 0 || b->offset % gguf_alignment(h) != 0)
            abort();
    }
    gguf_close(h);
    free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so that ASan sees a read one byte past the input */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    struct gguf *g = NULL;
    struct assay_error err;
    err_clear(&err);
    int rc = gguf_open_mem(&g, copy, size, "fuzz.gguf", &err);
    if (rc == 0) {
        for (size_t i = 0; i < gguf_n_kv(g); i++) {
            const struct gguf_kv *kv = gguf_kv_at(g, i);
            if (gguf_find_kv(g, kv->key) != kv)
                abort();
            touch_kv(g, kv);
        }
        for (size_t i = 0; i < gguf_n_tensors(g); i++) {
            const struct gguf_tensor *t = gguf_tensor_at(g, i);
            if (gguf_find_tensor(g, t->name) != t)
                abort();
            if (t->n_bytes == 0 || t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
                abort();
            const uint8_t *p = t->data;
            volatile uint8_t c = p[0];
            c = p[t->n_bytes - 1];
            (void)c;
        }
        (void)gguf_find_kv(g, "general.architecture");
        (void)gguf_find_tensor(g, "token_embd.weight");
        roundtrip(g);
        gguf_close(g);
    } else if (err.msg[0] == '\0' || err.code != rc) {
        abort(); /* every failure must say why */
    }
    free(copy);
    return 0;
}
