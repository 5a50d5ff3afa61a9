/*
 * tests/engine/test_safetensors.c - the safetensors reader: the fixtures' files, a sharded
 * set written here, one case per kind of malformed header (code and message), and a small
 * file cut at every byte and with every byte flipped (no crash; run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/error.h"
#include "engine/safetensors.h"

/* A file: 8-byte length, header, data. Caller frees. */
static uint8_t *mk(const char *header, const void *data, size_t n_data, size_t *len)
{
    size_t hn = strlen(header);
    uint8_t *p = malloc(8 + hn + n_data + 1);
    assert_non_null(p);
    uint64_t v = hn;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    memcpy(p + 8, header, hn);
    if (n_data)
        memcpy(p + 8 + hn, data, n_data);
    *len = 8 + hn + n_data;
    return p;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static const char good_hdr[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
    "\"a\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[0,4]}}";

static void test_good(void **state)
{
    (void)state;
    uint8_t data[12];
    uint16_t bf[2] = {0x3f80, 0xc000}; /* 1, -2 */
    float f[2] = {0.5f, 3.0f};
    memcpy(data, bf, 4);
    memcpy(data + 4, f, 8);
    size_t len;
    uint8_t *p = mk(good_hdr, data, sizeof(data), &len);
    struct st_file *sf;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(st_open_mem(&sf, p, len, "x.safetensors", &err), 0);
    assert_int_equal(st_n_tensors(sf), 2);
    assert_string_equal(st_tensor_at(sf, 0)->name, "a");
    const struct st_tensor *a = st_find(sf, "a"), *b = st_find(sf, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(st_find(sf, "c"));
    assert_int_equal(a->dtype, ST_BF16);
    assert_int_equal(a->n_dims, 2);
    assert_int_equal(a->shape[0], 2);
    assert_true(st_get_f32(a, 0) == 1.0f);
    assert_true(st_get_f32(a, 1) == -2.0f);
    assert_true(st_get_f32(b, 1) == 3.0f);
    assert_string_equal(st_meta(sf, "format"), "pt");
    assert_null(st_meta(sf, "nope"));
    st_close(sf);
    free(p);
}

struct bad {
    const char *header; /* NULL: raw case */
    size_t n_data;
    const char *want; /* substring of the message */
};

static const struct bad bads[] = {
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "not valid JSON"},
    {"[1,2]", 0, "not a JSON object"},
    {"{\"a\":{\"dtype\":\"F99\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'F99'"},
    {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "no 'dtype'"},
    {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "no 'shape'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "dim 0"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape x F32 size is 12 bytes but data_offsets span 8"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8,
     "outside the data section"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
     "outside the data section"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "not [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
     12, "overlaps tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
     "4 bytes before tensor 'a' belong to no tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8,
     "after the last tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}",
     8, "overflows"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
     "dims (at most 8)"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
     8, "duplicate"},
    {"{\"__metadata__\":{\"x\":1}}", 0, "not a string"},
    {"{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty name"},
    {"{\"a\":3}", 0, "tensor 'a': entry is not an object"},
};

static void test_bad_headers(void **state)
{
    (void)state;
    uint8_t zeros[64] = {0};
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        size_t len;
        uint8_t *p = mk(bads[i].header, zeros, bads[i].n_data, &len);
        struct st_file *sf = (struct st_file *)1;
        struct assay_error err;
        err_clear(&err);
        int rc = st_open_mem(&sf, p, len, "bad.safetensors", &err);
        if (rc != ASSAY_EINVAL || !strstr(err.msg, bads[i].want))
            fail_msg("case %zu: rc %d, message '%s', want '%s'", i, rc, err.msg, bads[i].want);
        assert_null(sf);
        assert_string_equal(err.path, "bad.safetensors");
        free(p);
    }
}

static void test_bad_length(void **state)
{
    (void)state;
    struct st_file *sf;
    struct assay_error err;
    uint8_t small[5] = {0};
    err_clear(&err);
    assert_int_equal(st_open_mem(&sf, small, sizeof(small), "s", &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "too short"));
    uint8_t lie[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    err_clear(&err);
    assert_int_equal(st_open_mem(&sf, lie, sizeof(lie), "s", &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "header length"));
    uint8_t lie2[16] = {9, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    err_clear(&err);
    assert_int_equal(st_open_mem(&sf, lie2, 10, "s", &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "header length 9"));
}

/* Every prefix and every single-byte flip of a good file: no crash (ASan). */
static void test_mutations(void **state)
{
    (void)state;
    uint8_t data[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    size_t len;
    uint8_t *p = mk(good_hdr, data, sizeof(data), &len);
    uint8_t *q = malloc(len);
    assert_non_null(q);
    int opened = 0;
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(q, p, cut);
        struct st_file *sf;
        assert_int_not_equal(st_open_mem(&sf, q, cut, "m", NULL), 0);
    }
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(q, p, len);
            q[i] ^= (uint8_t)(1u << bit);
            struct st_file *sf;
            if (st_open_mem(&sf, q, len, "m", NULL) == 0) {
                opened++;
                for (size_t t = 0; t < st_n_tensors(sf); t++) {
                    const struct st_tensor *x = st_tensor_at(sf, t);
                    if (x->n_bytes)
                        assert_true((const uint8_t *)x->data + x->n_bytes <= q + len);
                }
                st_close(sf);
            }
        }
    assert_true(opened > 0); /* flips inside the data section still open */
    free(q);
    free(p);
}

static void test_sharded(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir();
    assert_non_null(dir);
    char path[1200];
    float one = 1.0f, two = 2.0f;
    size_t len;
    uint8_t *p = mk("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", &one, 4,
                    &len);
    snprintf(path, sizeof(path), "%s/model-00001-of-00002.safetensors", dir);
    write_file(path, p, len);
    free(p);
    p = mk("{\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", &two, 4, &len);
    snprintf(path, sizeof(path), "%s/model-00002-of-00002.safetensors", dir);
    write_file(path, p, len);
    free(p);
    snprintf(path, sizeof(path), "%s/" ST_INDEX_NAME, dir);
    const char *idx = "{\"metadata\":{},\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
                      "\"y\":\"model-00002-of-00002.safetensors\"}}";
    write_file(path, idx, strlen(idx));
    struct st_set *s;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(st_set_open_dir(&s, dir, &err), 0);
    assert_int_equal(st_set_n_files(s), 2);
    assert_int_equal(st_set_n_tensors(s), 2);
    assert_true(st_get_f32(st_set_find(s, "y"), 0) == 2.0f);
    assert_true(st_get_f32(st_set_find(s, "x"), 0) == 1.0f);
    assert_null(st_set_find(s, "z"));
    st_set_close(s);

    /* the index names a tensor in the wrong shard */
    const char *idx2 = "{\"weight_map\":{\"x\":\"model-00002-of-00002.safetensors\","
                       "\"y\":\"model-00002-of-00002.safetensors\"}}";
    write_file(path, idx2, strlen(idx2));
    err_clear(&err);
    assert_int_equal(st_set_open_dir(&s, dir, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "tensor 'x'"));
    /* a shard missing */
    const char *idx3 = "{\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
                       "\"y\":\"model-00003-of-00003.safetensors\"}}";
    write_file(path, idx3, strlen(idx3));
    err_clear(&err);
    assert_int_equal(st_set_open_dir(&s, dir, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "shard 'model-00003-of-00003.safetensors'"));
    assert_non_null(strstr(err.msg, "tensor 'y'"));
    /* a path outside the folder */
    const char *idx4 = "{\"weight_map\":{\"x\":\"../model-00001-of-00002.safetensors\"}}";
    write_file(path, idx4, strlen(idx4));
    err_clear(&err);
    assert_int_equal(st_set_open_dir(&s, dir, &err), ASSAY_EINVAL);
    /* neither file */
    err_clear(&err);
    assert_int_equal(st_set_open_dir(&s, "/nonexistent-dir", &err), ASSAY_ENOTFOUND);
}

static void test_fixtures(void **state)
{
    (void)state;
    const char *models[] = {"gemma-tiny", "gemma2-tiny", "gemma3-tiny"};
    for (size_t i = 0; i < 3; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "fixtures/models/%s/hf-bf16", models[i]);
        const char *dir = tu_shared(rel);
        if (!dir) {
            fprintf(stderr, "skipped: %s\n", rel);
            continue;
        }
        struct st_set *s;
        struct assay_error err;
        err_clear(&err);
        if (st_set_open_dir(&s, dir, &err))
            fail_msg("%s: %s", dir, err.msg);
        const struct st_tensor *t = st_set_find(s, "model.embed_tokens.weight");
        assert_non_null(t);
        assert_int_equal(t->dtype, ST_BF16);
        assert_int_equal(t->n_dims, 2);
        assert_int_equal(t->shape[0], 2048);
        assert_true(t->aligned);
        st_set_close(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),      cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_length), cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_sharded),   cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
