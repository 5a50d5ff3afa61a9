/*
 * tests/fuzz/fuzz_safetensors.c - libFuzzer target for the safetensors reader: parse the
 * input with st_open_mem and, when it opens, touch every tensor's first and last byte and
 * every lookup. Crashes become cases in tests/engine/test_safetensors.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "engine/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_file *f = NULL;
    struct assay_error err;
    err_clear(&err);
    if (st_open_mem(&f, data, size, "fuzz", &err) != 0)
        return 0;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < st_n_tensors(f); i++) {
        const struct st_tensor *t = st_tensor_at(f, i);
        if (st_find(f, t->name) != t)
            __builtin_trap();
        if (t->n_bytes) {
            const uint8_t *p = t->data;
            sink ^= p[0];
            sink ^= p[t->n_bytes - 1];
            if (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16) {
                volatile float x = st_get_f32(t, 0) + st_get_f32(t, t->n_elem - 1);
                (void)x;
            }
        }
    }
    (void)st_meta(f, "format");
    (void)sink;
    st_close(f);
    return 0;
}
