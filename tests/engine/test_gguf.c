/*
 * tests/engine/test_gguf.c - the GGUF reader and writer: every fixture checked against its
 * gguf-manifest.json, writer -> reader round trips, typed getters, one case per kind of
 * corruption (code, message and offset), and a small file cut at every byte and with every
 * byte flipped (no crash, no leak: run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/error.h"
#include "base/file.h"
#include "base/json.h"
#include "engine/gguf.h"
#include "engine/quant.h"

#include <dirent.h>
#include <math.h>

/* ---- a raw byte builder for hand-made (corrupt) files ------------------------------- */

struct rb {
    uint8_t *p;
    size_t len, cap;
};

static void rb_add(struct rb *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void rb_u8(struct rb *b, uint8_t v)
{
    rb_add(b, &v, 1);
}

static void rb_u32(struct rb *b, uint32_t v)
{
    rb_add(b, &v, 4);
}

static void rb_u64(struct rb *b, uint64_t v)
{
    rb_add(b, &v, 8);
}

static void rb_str(struct rb *b, const char *s)
{
    rb_u64(b, strlen(s));
    rb_add(b, s, strlen(s));
}

static void rb_hdr(struct rb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    rb_add(b, "GGUF", 4);
    rb_u32(b, version);
    rb_u64(b, n_tensors);
    rb_u64(b, n_kv);
}

static void rb_kv_u32(struct rb *b, const char *key, uint32_t v)
{
    rb_str(b, key);
    rb_u32(b, GGUF_TYPE_UINT32);
    rb_u32(b, v);
}

/* A tensor description; returns the offset where it starts. */
static size_t rb_tensor(struct rb *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                        uint32_t type, uint64_t off)
{
    size_t at = b->len;
    rb_str(b, name);
    rb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        rb_u64(b, ne[d]);
    rb_u32(b, type);
    rb_u64(b, off);
    return at;
}

static void rb_pad(struct rb *b, size_t a)
{
    while (b->len % a)
        rb_u8(b, 0);
}

static void rb_zeros(struct rb *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rb_u8(b, 0);
}

/* Open b's bytes (copied to an exact-size allocation so ASan sees any overread) and expect
 * code, every substring of subs (NULL-terminated) in the message, and the offset (-2: any). */
static void expect_fail(const struct rb *b, int code, int64_t offset, const char *const *subs)
{
    uint8_t *copy = malloc(b->len ? b->len : 1);
    assert_non_null(copy);
    if (b->len)
        memcpy(copy, b->p, b->len);
    struct gguf *g = (struct gguf *)1;
    struct assay_error err;
    err_clear(&err);
    int rc = gguf_open_mem(&g, copy, b->len, "case.gguf", &err);
    if (rc != code)
        fprintf(stderr, "expected code %d, got %d: %s\n", code, rc, err.msg);
    assert_int_equal(rc, code);
    assert_null(g);
    assert_string_equal(err.path, "case.gguf");
    for (const char *const *s = subs; *s; s++) {
        if (!strstr(err.msg, *s))
            fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, *s);
        assert_non_null(strstr(err.msg, *s));
    }
    if (offset != -2) {
        if (err.offset != offset)
            fprintf(stderr, "message '%s': offset %lld, expected %lld\n", err.msg,
                    (long long)err.offset, (long long)offset);
        assert_int_equal(err.offset, offset);
    }
    free(copy);
}

#define SUBS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- fixtures against their manifests ---------------------------------------------- */

static int n_files_checked;

static void check_metadata(struct gguf *g, json_t *md, const char *file)
{
    const char *key;
    json_t *ent;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_n_kv(g), json_object_size(md));
    json_object_foreach(md, key, ent)
    {
        const struct gguf_kv *kv = gguf_find_kv(g, key);
        if (!kv)
            fprintf(stderr, "%s: key '%s' missing\n", file, key);
        assert_non_null(kv);
        const char *type = jsn_str(ent, "type", "");
        char want[64];
        if (kv->type == GGUF_TYPE_ARRAY)
            snprintf(want, sizeof(want), "ARRAY[%s]", gguf_type_name(kv->elem_type));
        else
            snprintf(want, sizeof(want), "%s", gguf_type_name(kv->type));
        if (strcmp(want, type) != 0)
            fprintf(stderr, "%s: key '%s': type %s, manifest %s\n", file, key, want, type);
        assert_string_equal(want, type);
        json_t *v = json_object_get(ent, "value");
        if (kv->type == GGUF_TYPE_ARRAY) {
            assert_int_equal(kv->n, jsn_int(ent, "len", -1));
        } else if (kv->type == GGUF_TYPE_STRING) {
            const char *s;
            size_t len;
            assert_int_equal(gguf_get_str(g, key, &s, &len, &err), 0);
            assert_int_equal(len, json_string_length(v));
            assert_memory_equal(s, json_string_value(v), len);
        } else if (kv->type == GGUF_TYPE_BOOL) {
            bool bv;
            assert_int_equal(gguf_get_bool(g, key, &bv, &err), 0);
            assert_int_equal(bv, json_is_true(v));
        } else if (kv->type == GGUF_TYPE_FLOAT32) {
            float f;
            assert_int_equal(gguf_get_f32(g, key, &f, &err), 0);
            assert_true(f == (float)json_number_value(v));
        } else {
            int64_t i;
            assert_int_equal(gguf_get_i64(g, key, &i, &err), 0);
            assert_int_equal(i, json_integer_value(v));
        }
    }
    assert_int_equal(err.code, 0);
}

static void check_file(const char *dir, const char *file, json_t *ent)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    struct gguf *g = NULL;
    struct assay_error err;
    err_clear(&err);
    int rc = gguf_open(&g, path, &err);
    if (rc)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(gguf_file_size(g), jsn_int(ent, "size", -1));
    assert_int_equal(gguf_version(g), 3);
    assert_int_equal(gguf_alignment(g), 32);
    assert_int_equal(gguf_data_offset(g) % 32, 0);
    json_t *tensors = json_object_get(ent, "tensors");
    assert_int_equal(gguf_n_tensors(g), json_array_size(tensors));
    size_t i;
    json_t *t;
    json_array_foreach(tensors, i, t)
    {
        const char *name = jsn_str(t, "name", "");
        const struct gguf_tensor *gt = gguf_find_tensor(g, name);
        if (!gt)
            fprintf(stderr, "%s: tensor '%s' missing\n", path, name);
        assert_non_null(gt);
        assert_ptr_equal(gt, gguf_tensor_at(g, i)); /* the manifest is in file order */
        const struct quant_traits *qt = quant_traits_of(gt->type);
        assert_non_null(qt);
        assert_string_equal(qt->name, jsn_str(t, "type", ""));
        json_t *ne = json_object_get(t, "ne");
        assert_int_equal(gt->n_dims, json_array_size(ne));
        int64_t n_elem = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) {
            int64_t want = d < gt->n_dims ? json_integer_value(json_array_get(ne, d)) : 1;
            assert_int_equal(gt->ne[d], want);
            n_elem *= want;
        }
        assert_int_equal(gt->n_elem, n_elem);
        assert_int_equal(gt->offset, jsn_int(t, "offset", -1));
        assert_int_equal(gt->n_bytes, jsn_int(t, "n_bytes", -1));
        assert_ptr_equal(gt->data, (const uint8_t *)gguf_file_data(g) + gt->offset);
        assert_int_equal(gt->offset % 32, 0);
    }
    json_t *md = json_object_get(ent, "metadata");
    if (md)
        check_metadata(g, md, path);
    uint32_t ft;
    assert_int_equal(gguf_get_u32(g, "general.file_type", &ft, NULL), 0);
    assert_int_equal(ft, jsn_int(ent, "file_type", -1));

    /* what every Gemma fixture shares: the tiny SentencePiece vocabulary */
    int et;
    uint64_t n;
    const struct gguf_kv *tok;
    assert_int_equal(gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &tok, &err), 0);
    assert_int_equal(et, GGUF_TYPE_STRING);
    assert_int_equal(n, 2048);
    const char *s;
    size_t len;
    assert_int_equal(gguf_arr_str(g, tok, 2, &s, &len, &err), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "<s>", 3);
    assert_int_equal(gguf_arr_str(g, tok, 0, &s, &len, &err), 0);
    assert_memory_equal(s, "<pad>", 5);
    assert_int_equal(gguf_arr_str(g, tok, 2048, &s, &len, NULL), ASSAY_EUSAGE);
    const struct gguf_kv *tt;
    assert_int_equal(gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &n, &tt, &err), 0);
    int32_t type2;
    assert_int_equal(gguf_arr_i32(g, tt, 2, &type2, &err), 0);
    assert_int_equal(type2, 3); /* CONTROL */
    const struct gguf_kv *sc = gguf_find_kv(g, "tokenizer.ggml.scores");
    float score;
    assert_int_equal(gguf_arr_f32(g, sc, 2, &score, &err), 0);
    assert_true(score == -1000.0f);
    uint32_t bos;
    assert_int_equal(gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos, &err), 0);
    assert_int_equal(bos, 2);
    const char *arch;
    assert_int_equal(gguf_get_str(g, "general.architecture", &arch, &len, &err), 0);
    if (len == 6 && memcmp(arch, "gemma2", 6) == 0) {
        uint32_t w;
        assert_int_equal(gguf_get_u32(g, "gemma2.attention.sliding_window", &w, &err), 0);
        assert_int_equal(w, 8);
        float cap;
        assert_int_equal(gguf_get_f32(g, "gemma2.attn_logit_softcapping", &cap, &err), 0);
        assert_true(cap == 50.0f);
    }
    /* every pair can be described */
    for (size_t k = 0; k < gguf_n_kv(g); k++) {
        char line[160];
        gguf_kv_describe(g, gguf_kv_at(g, k), line, sizeof(line));
        assert_true(strlen(line) > 0 && strlen(line) < sizeof(line));
    }
    assert_int_equal(err.code, 0);
    gguf_close(g);
    n_files_checked++;
}

static void test_fixtures_match_manifest(void **state)
{
    const char *root = tu_shared("fixtures/models");
    TU_SKIP_IF_MISSING(root, "fixtures/models");
    char rootcopy[1024];
    snprintf(rootcopy, sizeof(rootcopy), "%s", root);
    DIR *d = opendir(rootcopy);
    assert_non_null(d);
    struct dirent *de;
    int n_manifests = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char dir[1536], man[2048];
        snprintf(dir, sizeof(dir), "%s/%s", rootcopy, de->d_name);
        snprintf(man, sizeof(man), "%s/gguf-manifest.json", dir);
        if (access(man, R_OK) != 0)
            continue;
        json_t *m = NULL;
        struct assay_error err;
        err_clear(&err);
        assert_int_equal(jsn_load_file(&m, man, &err), 0);
        const char *file;
        json_t *ent;
        json_object_foreach(m, file, ent)
        {
            check_file(dir, file, ent);
        }
        json_decref(m);
        n_manifests++;
    }
    closedir(d);
    fprintf(stderr, "checked %d GGUF files from %d manifests\n", n_files_checked, n_manifests);
    assert_true(n_manifests >= 3);
    assert_true(n_files_checked >= 15);
}

/* ---- writer -> reader --------------------------------------------------------------- */

static const float t_a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* A small file: a few pairs of every kind and two tensors (F32 (3,4), Q8_0 (2,32)). */
static struct gguf_writer *make_writer(uint32_t alignment, uint8_t *q8)
{
    struct gguf_writer *w = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_writer_new(&w, &err), 0);
    if (alignment != 32)
        assert_int_equal(gguf_writer_set_alignment(w, alignment, &err), 0);
    assert_int_equal(gguf_writer_add_str(w, "general.architecture", "gemma2", 6, &err), 0);
    assert_int_equal(gguf_writer_add_u8(w, "t.u8", 200, &err), 0);
    assert_int_equal(gguf_writer_add_i8(w, "t.i8", -5, &err), 0);
    assert_int_equal(gguf_writer_add_u16(w, "t.u16", 65535, &err), 0);
    assert_int_equal(gguf_writer_add_i16(w, "t.i16", -300, &err), 0);
    assert_int_equal(gguf_writer_add_u32(w, "t.u32", 4000000000u, &err), 0);
    assert_int_equal(gguf_writer_add_i32(w, "t.i32", -7, &err), 0);
    assert_int_equal(gguf_writer_add_u64(w, "t.u64", UINT64_MAX, &err), 0);
    assert_int_equal(gguf_writer_add_i64(w, "t.i64", INT64_MIN, &err), 0);
    assert_int_equal(gguf_writer_add_f32(w, "t.f32", 0.5f, &err), 0);
    assert_int_equal(gguf_writer_add_f64(w, "t.f64", 1e300, &err), 0);
    assert_int_equal(gguf_writer_add_f64(w, "t.f64small", 0.25, &err), 0);
    assert_int_equal(gguf_writer_add_bool(w, "t.bool", true, &err), 0);
    const char *toks[] = {"<pad>", "", "h\xc3\xa9llo"};
    assert_int_equal(gguf_writer_add_arr_str(w, "t.strs", toks, NULL, 3, &err), 0);
    const float fa[] = {1.5f, -2.0f};
    assert_int_equal(gguf_writer_add_arr(w, "t.f32s", GGUF_TYPE_FLOAT32, fa, 2, &err), 0);
    const int32_t ia[] = {3, -1, 6};
    assert_int_equal(gguf_writer_add_arr(w, "t.i32s", GGUF_TYPE_INT32, ia, 3, &err), 0);
    const uint64_t ua[] = {1, UINT64_MAX};
    assert_int_equal(gguf_writer_add_arr(w, "t.u64s", GGUF_TYPE_UINT64, ua, 2, &err), 0);
    const double da[] = {0.125};
    assert_int_equal(gguf_writer_add_arr(w, "t.f64s", GGUF_TYPE_FLOAT64, da, 1, &err), 0);
    assert_int_equal(gguf_writer_add_arr(w, "t.empty", GGUF_TYPE_UINT8, NULL, 0, &err), 0);
    const uint8_t ba[] = {1, 0};
    assert_int_equal(gguf_writer_add_arr(w, "t.bools", GGUF_TYPE_BOOL, ba, 2, &err), 0);
    int64_t ne_a[2] = {3, 4};
    assert_int_equal(gguf_writer_add_tensor(w, "a.weight", QUANT_TYPE_F32, 2, ne_a, t_a, &err), 0);
    for (int i = 0; i < 68; i++)
        q8[i] = (uint8_t)(i * 7);
    int64_t ne_q[2] = {32, 2};
    assert_int_equal(gguf_writer_add_tensor(w, "q.weight", QUANT_TYPE_Q8_0, 2, ne_q, q8, &err), 0);
    assert_int_equal(err.code, 0);
    return w;
}

static void check_written(struct gguf *g, uint32_t alignment, const uint8_t *q8)
{
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_version(g), 3);
    assert_int_equal(gguf_alignment(g), alignment);
    assert_int_equal(gguf_n_tensors(g), 2);
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f;
    double dv;
    bool b;
    assert_int_equal(gguf_get_u32(g, "t.u8", &u32, &err), 0);
    assert_int_equal(u32, 200);
    assert_int_equal(gguf_get_i32(g, "t.i8", &i32, &err), 0);
    assert_int_equal(i32, -5);
    assert_int_equal(gguf_get_u32(g, "t.u16", &u32, &err), 0);
    assert_int_equal(u32, 65535);
    assert_int_equal(gguf_get_i64(g, "t.i16", &i64, &err), 0);
    assert_int_equal(i64, -300);
    assert_int_equal(gguf_get_u32(g, "t.u32", &u32, &err), 0);
    assert_int_equal(u32, 4000000000u);
    assert_int_equal(gguf_get_i64(g, "t.u32", &i64, &err), 0);
    assert_int_equal(i64, 4000000000ll);
    assert_int_equal(gguf_get_i32(g, "t.i32", &i32, &err), 0);
    assert_int_equal(i32, -7);
    assert_int_equal(gguf_get_u64(g, "t.u64", &u64, &err), 0);
    assert_true(u64 == UINT64_MAX);
    assert_int_equal(gguf_get_i64(g, "t.i64", &i64, &err), 0);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(gguf_get_f32(g, "t.f32", &f, &err), 0);
    assert_true(f == 0.5f);
    assert_int_equal(gguf_get_f64(g, "t.f32", &dv, &err), 0);
    assert_true(dv == 0.5);
    assert_int_equal(gguf_get_f32(g, "t.f64small", &f, &err), 0);
    assert_true(f == 0.25f);
    assert_int_equal(gguf_get_f64(g, "t.f64", &dv, &err), 0);
    assert_true(dv == 1e300);
    assert_int_equal(gguf_get_bool(g, "t.bool", &b, &err), 0);
    assert_true(b);
    const char *s;
    size_t len;
    assert_int_equal(gguf_get_str(g, "general.architecture", &s, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "gemma2", 6);

    int et;
    uint64_t n;
    const struct gguf_kv *kv;
    assert_int_equal(gguf_get_arr(g, "t.strs", &et, &n, &kv, &err), 0);
    assert_int_equal(et, GGUF_TYPE_STRING);
    assert_int_equal(n, 3);
    assert_int_equal(gguf_arr_str(g, kv, 0, &s, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "<pad>", 5);
    assert_int_equal(gguf_arr_str(g, kv, 1, &s, &len, &err), 0);
    assert_int_equal(len, 0);
    assert_int_equal(gguf_arr_str(g, kv, 2, &s, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "h\xc3\xa9llo", 6);
    assert_int_equal(gguf_get_arr(g, "t.f32s", &et, &n, &kv, &err), 0);
    assert_int_equal(gguf_arr_f32(g, kv, 1, &f, &err), 0);
    assert_true(f == -2.0f);
    assert_int_equal(gguf_get_arr(g, "t.f64s", &et, &n, &kv, &err), 0);
    assert_int_equal(gguf_arr_f32(g, kv, 0, &f, &err), 0);
    assert_true(f == 0.125f);
    assert_int_equal(gguf_get_arr(g, "t.i32s", &et, &n, &kv, &err), 0);
    assert_int_equal(gguf_arr_i32(g, kv, 1, &i32, &err), 0);
    assert_int_equal(i32, -1);
    assert_int_equal(gguf_arr_i64(g, kv, 2, &i64, &err), 0);
    assert_int_equal(i64, 6);
    assert_int_equal(gguf_get_arr(g, "t.empty", &et, &n, &kv, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(et, GGUF_TYPE_UINT8);
    assert_int_equal(err.code, 0);

    /* wrong types and ranges: EINVAL naming the key; missing: ENOTFOUND */
    err_clear(&err);
    assert_int_equal(gguf_get_u32(g, "t.i32", &u32, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "'t.i32'"));
    assert_non_null(strstr(err.msg, "does not fit"));
    err_clear(&err);
    assert_int_equal(gguf_get_u32(g, "t.u64", &u32, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_get_i64(g, "t.u64", &i64, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_get_u32(g, "general.architecture", &u32, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "key 'general.architecture': expected"));
    assert_non_null(strstr(err.msg, "found STRING"));
    err_clear(&err);
    assert_int_equal(gguf_get_f32(g, "t.f64", &f, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_get_f32(g, "t.u32", &f, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_get_bool(g, "t.u8", &b, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_get_str(g, "t.strs", &s, &len, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "ARRAY[STRING]"));
    err_clear(&err);
    assert_int_equal(gguf_get_arr(g, "t.u8", &et, &n, NULL, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_get_u32(g, "no.such.key", &u32, &err), ASSAY_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no.such.key"));
    assert_int_equal(gguf_get_u32(g, "no.such.key", &u32, NULL), ASSAY_ENOTFOUND);
    kv = gguf_find_kv(g, "t.f32s");
    assert_int_equal(gguf_arr_i32(g, kv, 0, &i32, NULL), ASSAY_EINVAL);
    assert_int_equal(gguf_arr_str(g, kv, 0, &s, &len, NULL), ASSAY_EINVAL);
    assert_int_equal(gguf_arr_f32(g, kv, 2, &f, NULL), ASSAY_EUSAGE);
    kv = gguf_find_kv(g, "t.u64s");
    assert_int_equal(gguf_arr_i64(g, kv, 0, &i64, NULL), 0);
    assert_int_equal(gguf_arr_i64(g, kv, 1, &i64, NULL), ASSAY_EINVAL);
    assert_null(gguf_find_kv(g, "t"));
    assert_null(gguf_find_tensor(g, "a"));
    assert_null(gguf_kv_at(g, gguf_n_kv(g)));
    assert_null(gguf_tensor_at(g, 2));

    /* describe */
    char line[128];
    gguf_kv_describe(g, gguf_find_kv(g, "t.strs"), line, sizeof(line));
    assert_string_equal(line, "[STRING x 3] \"<pad>\", \"\", \"h\\xc3\\xa9llo\"");
    gguf_kv_describe(g, gguf_find_kv(g, "t.i64"), line, sizeof(line));
    assert_string_equal(line, "-9223372036854775808");
    gguf_kv_describe(g, gguf_find_kv(g, "t.bool"), line, sizeof(line));
    assert_string_equal(line, "true");
    gguf_kv_describe(g, gguf_find_kv(g, "general.architecture"), line, sizeof(line));
    assert_string_equal(line, "\"gemma2\"");
    gguf_kv_describe(g, gguf_find_kv(g, "general.architecture"), line, 4);
    assert_true(strlen(line) == 3);

    /* tensors, in place and aligned */
    const struct gguf_tensor *a = gguf_find_tensor(g, "a.weight");
    assert_non_null(a);
    assert_int_equal(a->type, QUANT_TYPE_F32);
    assert_int_equal(a->n_dims, 2);
    assert_int_equal(a->ne[0], 3);
    assert_int_equal(a->ne[1], 4);
    assert_int_equal(a->ne[2], 1);
    assert_int_equal(a->n_elem, 12);
    assert_int_equal(a->n_bytes, 48);
    assert_int_equal(a->offset, gguf_data_offset(g));
    assert_int_equal(a->offset % alignment, 0);
    assert_memory_equal(a->data, t_a, 48);
    const struct gguf_tensor *q = gguf_find_tensor(g, "q.weight");
    assert_non_null(q);
    assert_int_equal(q->type, QUANT_TYPE_Q8_0);
    assert_int_equal(q->n_bytes, 68);
    assert_int_equal(q->offset % alignment, 0);
    assert_true(q->offset >= a->offset + 48);
    assert_memory_equal(q->data, q8, 68);
    assert_ptr_equal(gguf_tensor_at(g, 1), q);
}

static void test_roundtrip(void **state)
{
    uint32_t aligns[] = {32, 64, 1, 4096};
    for (size_t k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++) {
        uint8_t q8[68];
        struct gguf_writer *w = make_writer(aligns[k], q8);
        struct assay_error err;
        err_clear(&err);
        const char *dir = tu_tmpdir();
        assert_non_null(dir);
        char path[1100];
        snprintf(path, sizeof(path), "%s/rt.gguf", dir);
        assert_int_equal(gguf_writer_write(w, path, &err), 0);
        void *mem;
        size_t len;
        assert_int_equal(gguf_writer_write_mem(w, &mem, &len, &err), 0);
        gguf_writer_free(w);

        struct gguf *g = NULL;
        assert_int_equal(gguf_open(&g, path, &err), 0);
        assert_string_equal(gguf_path(g), path);
        assert_int_equal(gguf_file_size(g), len);
        assert_memory_equal(gguf_file_data(g), mem, len); /* file and buffer identical */
        check_written(g, aligns[k], q8);
        gguf_close(g);

        assert_int_equal(gguf_open_mem(&g, mem, len, NULL, &err), 0);
        assert_string_equal(gguf_path(g), "<memory>");
        check_written(g, aligns[k], q8);

        /* copy every pair into a new writer: the pairs come out byte-identical */
        struct gguf_writer *w2 = NULL;
        assert_int_equal(gguf_writer_new(&w2, &err), 0);
        for (size_t i = 0; i < gguf_n_kv(g); i++)
            assert_int_equal(gguf_writer_copy_kv(w2, g, gguf_kv_at(g, i), &err), 0);
        for (size_t i = 0; i < gguf_n_tensors(g); i++) {
            const struct gguf_tensor *t = gguf_tensor_at(g, i);
            assert_int_equal(
                gguf_writer_add_tensor(w2, t->name, t->type, t->n_dims, t->ne, t->data, &err), 0);
        }
        void *mem2;
        size_t len2;
        assert_int_equal(gguf_writer_write_mem(w2, &mem2, &len2, &err), 0);
        assert_int_equal(len2, len);
        assert_memory_equal(mem2, mem, len);
        free(mem2);
        gguf_writer_free(w2);
        gguf_close(g);
        free(mem);
        assert_int_equal(err.code, 0);
    }
    gguf_close(NULL);
    gguf_writer_free(NULL);
}

/* Found by fuzz_gguf: a huge alignment and no tensors made the writer pad the header to
 * 1 GiB. Without tensors there is nothing to align, and nothing is padded. */
static void test_huge_alignment_without_tensors(void **state)
{
    struct rb b = {0};
    rb_hdr(&b, 3, 0, 2);
    rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, 1u << 30);
    rb_kv_u32(&b, "u4", 64);
    struct gguf *g = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_open_mem(&g, b.p, b.len, "fuzz-oom.gguf", &err), 0);
    assert_int_equal(gguf_alignment(g), 1u << 30);
    struct gguf_writer *w = NULL;
    assert_int_equal(gguf_writer_new(&w, &err), 0);
    for (size_t i = 0; i < gguf_n_kv(g); i++)
        assert_int_equal(gguf_writer_copy_kv(w, g, gguf_kv_at(g, i), &err), 0);
    void *mem;
    size_t len;
    assert_int_equal(gguf_writer_write_mem(w, &mem, &len, &err), 0);
    assert_int_equal(len, b.len);
    assert_memory_equal(mem, b.p, len);
    free(mem);
    gguf_writer_free(w);
    gguf_close(g);
    free(b.p);
}

static void test_writer_rejects(void **state)
{
    struct gguf_writer *w = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_writer_new(&w, &err), 0);
    assert_int_equal(gguf_writer_add_u32(w, "k", 1, &err), 0);
    err_clear(&err);
    assert_int_equal(gguf_writer_add_str(w, "k", "x", 1, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "duplicate key 'k'"));
    err_clear(&err);
    assert_int_equal(gguf_writer_add_u32(w, "", 1, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_writer_set_alignment(w, 48, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "power of two"));
    err_clear(&err);
    assert_int_equal(gguf_writer_add_u64(w, GGUF_KEY_ALIGNMENT, 64, &err), ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_writer_add_arr(w, "nested", GGUF_TYPE_ARRAY, "", 0, &err), ASSAY_EUSAGE);
    const uint8_t bad_bool = 2;
    err_clear(&err);
    assert_int_equal(gguf_writer_add_arr(w, "bb", GGUF_TYPE_BOOL, &bad_bool, 1, &err),
                     ASSAY_EINVAL);
    float data[64] = {0};
    int64_t ne[4] = {4, 2, 1, 1};
    assert_int_equal(gguf_writer_add_tensor(w, "t", QUANT_TYPE_F32, 2, ne, data, &err), 0);
    err_clear(&err);
    assert_int_equal(gguf_writer_add_tensor(w, "t", QUANT_TYPE_F32, 2, ne, data, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.msg, "duplicate tensor name 't'"));
    err_clear(&err);
    assert_int_equal(gguf_writer_add_tensor(w, "u", 99, 2, ne, data, &err), ASSAY_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "99"));
    err_clear(&err);
    assert_int_equal(gguf_writer_add_tensor(w, "u", QUANT_TYPE_F32, 5, ne, data, &err),
                     ASSAY_EINVAL);
    err_clear(&err);
    assert_int_equal(gguf_writer_add_tensor(w, "u", QUANT_TYPE_Q8_0, 2, ne, data, &err),
                     ASSAY_EINVAL); /* 4 is not a multiple of 32 */
    int64_t zero[2] = {4, 0};
    err_clear(&err);
    assert_int_equal(gguf_writer_add_tensor(w, "u", QUANT_TYPE_F32, 2, zero, data, &err),
                     ASSAY_EINVAL);
    /* nothing half-added: the file still reads back with one pair and one tensor */
    void *mem;
    size_t len;
    err_clear(&err);
    assert_int_equal(gguf_writer_write_mem(w, &mem, &len, &err), 0);
    struct gguf *g = NULL;
    assert_int_equal(gguf_open_mem(&g, mem, len, "w.gguf", &err), 0);
    assert_int_equal(gguf_n_kv(g), 1);
    assert_int_equal(gguf_n_tensors(g), 1);
    gguf_close(g);
    free(mem);
    gguf_writer_free(w);
    /* a writer path in a folder that does not exist */
    assert_int_equal(gguf_writer_new(&w, &err), 0);
    err_clear(&err);
    assert_int_equal(gguf_writer_write(w, "/nonexistent-dir/x.gguf", &err), ASSAY_EIO);
    gguf_writer_free(w);
}

/* ---- corrupt files: one case per check ------------------------------------------------ */

static const uint64_t ne4[1] = {4};

static void test_corrupt_header(void **state)
{
    struct rb b = {0};
    expect_fail(&b, ASSAY_EINVAL, 0, SUBS("not a gguf file", "0 bytes"));
    rb_add(&b, "GGUX", 4);
    rb_u32(&b, 3);
    expect_fail(&b, ASSAY_EINVAL, 0, SUBS("bad magic 'GGUX'"));
    b.len = 0;
    rb_hdr(&b, 1, 0, 0);
    expect_fail(&b, ASSAY_EUNSUPPORTED, 4, SUBS("version 1"));
    b.len = 0;
    rb_hdr(&b, 4, 0, 0);
    expect_fail(&b, ASSAY_EUNSUPPORTED, 4, SUBS("version 4"));
    b.len = 0;
    rb_hdr(&b, 0x03000000u, 0, 0);
    expect_fail(&b, ASSAY_EUNSUPPORTED, 4, SUBS("big-endian"));
    b.len = 0;
    rb_hdr(&b, 3, 0, UINT64_MAX);
    expect_fail(&b, ASSAY_EINVAL, 16, SUBS("key/value count 18446744073709551615"));
    b.len = 0;
    rb_hdr(&b, 3, 1ull << 40, 0);
    expect_fail(&b, ASSAY_EINVAL, 8, SUBS("tensor count 1099511627776"));
    b.len = 0;
    rb_hdr(&b, 3, 1, 1); /* counts too large for the 0 bytes that follow */
    expect_fail(&b, ASSAY_EINVAL, -2, SUBS("count"));
    /* an empty but valid file: no pairs, no tensors; v2 is read too */
    b.len = 0;
    rb_hdr(&b, 2, 0, 0);
    struct gguf *g = NULL;
    assert_int_equal(gguf_open_mem(&g, b.p, b.len, "v2.gguf", NULL), 0);
    assert_int_equal(gguf_version(g), 2);
    assert_int_equal(gguf_n_kv(g), 0);
    assert_null(gguf_find_kv(g, "x"));
    assert_null(gguf_find_tensor(g, "x"));
    gguf_close(g);
    free(b.p);
}

static void test_corrupt_kv(void **state)
{
    struct rb b = {0};
    /* key length past end of file */
    rb_hdr(&b, 3, 0, 1);
    rb_u64(&b, 1000);
    rb_zeros(&b, 20);
    expect_fail(&b, ASSAY_EINVAL, 24, SUBS("key 0", "key length 1000 past end of file"));
    /* empty key */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "");
    rb_u32(&b, GGUF_TYPE_UINT8);
    rb_u8(&b, 1);
    rb_zeros(&b, 8);
    expect_fail(&b, ASSAY_EINVAL, 24, SUBS("key 0", "empty key"));
    /* NUL inside a key */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_u64(&b, 3);
    rb_add(&b, "a\0b", 3);
    rb_u32(&b, GGUF_TYPE_UINT8);
    rb_u8(&b, 1);
    expect_fail(&b, ASSAY_EINVAL, 24, SUBS("NUL"));
    /* unknown value type */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "general.x");
    rb_u32(&b, 13);
    rb_zeros(&b, 8);
    expect_fail(&b, ASSAY_EINVAL, 24 + 8 + 9, SUBS("key 'general.x'", "unknown value type 13"));
    /* string value past end of file */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "general.name");
    rb_u32(&b, GGUF_TYPE_STRING);
    size_t at = b.len;
    rb_u64(&b, 1ull << 62);
    rb_add(&b, "abc", 3);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at,
                SUBS("key 'general.name'", "string length 4611686018427387904 past end"));
    /* scalar truncated */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "k");
    rb_u32(&b, GGUF_TYPE_UINT64);
    rb_u32(&b, 7);
    rb_u8(&b, 0);
    rb_u8(&b, 0);
    expect_fail(&b, ASSAY_EINVAL, 24 + 9 + 4, SUBS("key 'k'", "end of file reading UINT64"));
    /* bool neither 0 nor 1 */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "flag");
    rb_u32(&b, GGUF_TYPE_BOOL);
    rb_u8(&b, 2);
    rb_zeros(&b, 8);
    expect_fail(&b, ASSAY_EINVAL, 24 + 12 + 4, SUBS("key 'flag'", "bool value 2"));
    /* nested array */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "arr");
    rb_u32(&b, GGUF_TYPE_ARRAY);
    rb_u32(&b, GGUF_TYPE_ARRAY);
    rb_u64(&b, 1);
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EUNSUPPORTED, 24 + 11 + 4, SUBS("key 'arr'", "nested arrays"));
    /* unknown element type */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "arr");
    rb_u32(&b, GGUF_TYPE_ARRAY);
    rb_u32(&b, 77);
    rb_u64(&b, 1);
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EINVAL, 24 + 11 + 4, SUBS("key 'arr'", "unknown array element type 77"));
    /* numeric array longer than the file */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "arr");
    rb_u32(&b, GGUF_TYPE_ARRAY);
    rb_u32(&b, GGUF_TYPE_FLOAT32);
    at = b.len;
    rb_u64(&b, (1ull << 62) + 1); /* * 4 wraps around 64 bits */
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at, SUBS("key 'arr'", "FLOAT32 past end of file"));
    /* string array: huge count, then one string past the end */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "tokenizer.ggml.tokens");
    rb_u32(&b, GGUF_TYPE_ARRAY);
    rb_u32(&b, GGUF_TYPE_STRING);
    at = b.len;
    rb_u64(&b, 1ull << 61);
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at,
                SUBS("key 'tokenizer.ggml.tokens'", "strings past end of file"));
    b.len = at;
    rb_u64(&b, 3);
    rb_str(&b, "a");
    rb_str(&b, "b");
    size_t at3 = b.len;
    rb_u64(&b, 100);
    rb_add(&b, "c", 1);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at3,
                SUBS("key 'tokenizer.ggml.tokens'", "string 2 length 100 past end"));
    /* bool array element */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, "bools");
    rb_u32(&b, GGUF_TYPE_ARRAY);
    rb_u32(&b, GGUF_TYPE_BOOL);
    rb_u64(&b, 3);
    rb_u8(&b, 0);
    rb_u8(&b, 1);
    at = b.len;
    rb_u8(&b, 9);
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at, SUBS("key 'bools'", "bool element 2 is 9"));
    /* duplicate key */
    b.len = 0;
    rb_hdr(&b, 3, 0, 2);
    rb_kv_u32(&b, "general.x", 1);
    at = b.len;
    rb_kv_u32(&b, "general.x", 2);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at, SUBS("duplicate key 'general.x'", "offset 24"));
    /* alignment: not a power of two, zero, wrong type; a valid one of another int type */
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, 48);
    expect_fail(&b, ASSAY_EINVAL, 24 + 25 + 4,
                SUBS("general.alignment", "48 is not a power of two"));
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, 0);
    expect_fail(&b, ASSAY_EINVAL, -2, SUBS("general.alignment", "0 is not a power of two"));
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, GGUF_KEY_ALIGNMENT);
    rb_u32(&b, GGUF_TYPE_STRING);
    rb_str(&b, "32");
    expect_fail(&b, ASSAY_EINVAL, 24, SUBS("general.alignment", "expected UINT32, found STRING"));
    b.len = 0;
    rb_hdr(&b, 3, 0, 1);
    rb_str(&b, GGUF_KEY_ALIGNMENT);
    rb_u32(&b, GGUF_TYPE_UINT64);
    rb_u64(&b, 64);
    struct gguf *g = NULL;
    assert_int_equal(gguf_open_mem(&g, b.p, b.len, "a.gguf", NULL), 0);
    assert_int_equal(gguf_alignment(g), 64);
    gguf_close(g);
    free(b.p);
}

/* A file with the given tensors (1-D F32 of 4 unless stated) and the data section after. */
static void test_corrupt_tensors(void **state)
{
    struct rb b = {0};
    size_t at;
    /* n_dims 5 and 0 */
    const uint64_t ne5[5] = {4, 1, 1, 1, 1};
    rb_hdr(&b, 3, 1, 0);
    at = rb_tensor(&b, "blk.0.w", 5, ne5, QUANT_TYPE_F32, 0);
    rb_pad(&b, 32);
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)(at + 8 + 7), SUBS("tensor 'blk.0.w'", "n_dims 5"));
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    at = rb_tensor(&b, "w", 0, ne5, QUANT_TYPE_F32, 0);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)(at + 9), SUBS("tensor 'w'", "n_dims 0"));
    /* zero dimension */
    const uint64_t ne0[2] = {4, 0};
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    at = rb_tensor(&b, "w", 2, ne0, QUANT_TYPE_F32, 0);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)(at + 9 + 4 + 8),
                SUBS("tensor 'w'", "dimension 1 is 0"));
    /* negative dimension */
    const uint64_t neneg[1] = {UINT64_MAX};
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "w", 1, neneg, QUANT_TYPE_F32, 0);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, -2, SUBS("tensor 'w'", "dimension 0 is -1"));
    /* element count overflow */
    const uint64_t nebig[3] = {1ull << 32, 1ull << 32, 4};
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "w", 3, nebig, QUANT_TYPE_F32, 0);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, -2, SUBS("tensor 'w'", "element count overflows"));
    /* byte size overflow (elements fit, bytes do not) */
    const uint64_t nebytes[2] = {1ull << 32, 1ull << 30};
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "w", 2, nebytes, QUANT_TYPE_F32, 0);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, -2, SUBS("tensor 'w'", "overflows"));
    /* unknown tensor type */
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    at = rb_tensor(&b, "w", 1, ne4, 99, 0);
    rb_pad(&b, 32);
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EUNSUPPORTED, (int64_t)(at + 9 + 4 + 8),
                SUBS("tensor 'w'", "unknown tensor type id 99"));
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "w", 1, ne4, 0x80000000u, 0);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EUNSUPPORTED, -2, SUBS("unknown tensor type id 2147483648"));
    /* row length not a multiple of the block size */
    const uint64_t ne30[2] = {30, 2};
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "q", 2, ne30, QUANT_TYPE_Q8_0, 0);
    rb_pad(&b, 32);
    rb_zeros(&b, 128);
    expect_fail(&b, ASSAY_EINVAL, -2,
                SUBS("tensor 'q'", "row length 30 is not a multiple of the Q8_0 block size 32"));
    /* misaligned offset */
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    at = rb_tensor(&b, "w", 1, ne4, QUANT_TYPE_F32, 4);
    rb_pad(&b, 32);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)(at + 9 + 4 + 8 + 4),
                SUBS("tensor 'w'", "offset 4 is not a multiple of the alignment 32"));
    /* offset past end, and data running past the end */
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    at = rb_tensor(&b, "w", 1, ne4, QUANT_TYPE_F32, 1ull << 40);
    rb_pad(&b, 32);
    rb_zeros(&b, 16);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at, SUBS("tensor 'w'", "past end of file"));
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    at = rb_tensor(&b, "w", 1, ne4, QUANT_TYPE_F32, 0);
    rb_pad(&b, 32);
    rb_zeros(&b, 15);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at,
                SUBS("tensor 'w'", "offset 0 + 16 bytes past end of file"));
    /* data section itself past the end (no padding) */
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "w", 1, ne4, QUANT_TYPE_F32, 0);
    expect_fail(&b, ASSAY_EINVAL, -2, SUBS("data section", "past end of file"));
    /* overlapping tensors */
    const uint64_t ne16[1] = {16};
    b.len = 0;
    rb_hdr(&b, 3, 2, 0);
    rb_tensor(&b, "a", 1, ne16, QUANT_TYPE_F32, 0);
    at = rb_tensor(&b, "b", 1, ne4, QUANT_TYPE_F32, 32);
    rb_pad(&b, 32);
    rb_zeros(&b, 128);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at, SUBS("tensor 'b'", "overlaps tensor 'a'"));
    /* same offset: b is listed first this time */
    b.len = 0;
    rb_hdr(&b, 3, 2, 0);
    rb_tensor(&b, "b", 1, ne4, QUANT_TYPE_F32, 0);
    at = rb_tensor(&b, "a", 1, ne4, QUANT_TYPE_F32, 0);
    rb_pad(&b, 32);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at, SUBS("tensor 'a'", "overlaps tensor 'b'"));
    /* duplicate names */
    b.len = 0;
    rb_hdr(&b, 3, 2, 0);
    rb_tensor(&b, "w", 1, ne4, QUANT_TYPE_F32, 0);
    at = rb_tensor(&b, "w", 1, ne4, QUANT_TYPE_F32, 32);
    rb_pad(&b, 32);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EINVAL, (int64_t)at, SUBS("duplicate tensor name 'w'"));
    /* an unprintable name is shown safely */
    b.len = 0;
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "bad\x01name'", 1, ne4, 99, 0);
    rb_zeros(&b, 64);
    expect_fail(&b, ASSAY_EUNSUPPORTED, -2, SUBS("tensor 'bad?name?'"));
    /* and a good one for contrast: adjacent tensors, 1-byte alignment, no final padding */
    b.len = 0;
    rb_hdr(&b, 3, 2, 1);
    rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, 1);
    rb_tensor(&b, "a", 1, ne4, QUANT_TYPE_F32, 16);
    rb_tensor(&b, "b", 1, ne4, QUANT_TYPE_F32, 0);
    size_t data = b.len;
    rb_zeros(&b, 32);
    struct gguf *g = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_open_mem(&g, b.p, b.len, "ok.gguf", &err), 0);
    assert_int_equal(gguf_data_offset(g), data);
    assert_int_equal(gguf_find_tensor(g, "a")->offset, data + 16);
    gguf_close(g);
    free(b.p);
}

/* A real file on disk: the error names the path. */
static void test_corrupt_file_path(void **state)
{
    const char *dir = tu_tmpdir();
    assert_non_null(dir);
    char path[1100];
    snprintf(path, sizeof(path), "%s/bad.gguf", dir);
    struct rb b = {0};
    rb_hdr(&b, 3, 1, 0);
    rb_tensor(&b, "blk.3.attn_q.weight", 1, ne4, QUANT_TYPE_F32, 928);
    rb_pad(&b, 32);
    rb_zeros(&b, 16);
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(file_write_atomic(path, b.p, b.len, &err), 0);
    struct gguf *g = NULL;
    assert_int_equal(gguf_open(&g, path, &err), ASSAY_EINVAL);
    assert_null(g);
    char msg[1200];
    err_format(&err, msg, sizeof(msg));
    fprintf(stderr, "example: %s\n", msg);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(
        msg, ": offset 24: tensor 'blk.3.attn_q.weight': data at relative offset 928 + 16 bytes"));
    err_clear(&err);
    snprintf(path, sizeof(path), "%s/missing.gguf", dir);
    assert_int_equal(gguf_open(&g, path, &err), ASSAY_ENOTFOUND);
    free(b.p);
}

/* ---- every truncation and every flipped byte of a small valid file ------------------- */

static void make_small(void **mem, size_t *len)
{
    struct gguf_writer *w = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(gguf_writer_new(&w, &err), 0);
    assert_int_equal(gguf_writer_add_str(w, "general.architecture", "gemma", 5, &err), 0);
    assert_int_equal(gguf_writer_add_u32(w, "gemma.block_count", 1, &err), 0);
    const char *toks[] = {"<pad>", "<s>", "a"};
    assert_int_equal(gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 3, &err), 0);
    const float sc[] = {0, -1, -2};
    assert_int_equal(
        gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, 3, &err), 0);
    static const float d1[4] = {1, 2, 3, 4};
    static const float d2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t n1 = 4, n2 = 8; /* the last tensor is 32 bytes: the file ends with its data */
    assert_int_equal(gguf_writer_add_tensor(w, "a", QUANT_TYPE_F32, 1, &n1, d1, &err), 0);
    assert_int_equal(gguf_writer_add_tensor(w, "b", QUANT_TYPE_F32, 1, &n2, d2, &err), 0);
    assert_int_equal(gguf_writer_write_mem(w, mem, len, &err), 0);
    gguf_writer_free(w);
}

static void test_truncated_everywhere(void **state)
{
    void *mem;
    size_t len;
    make_small(&mem, &len);
    struct gguf *g = NULL;
    assert_int_equal(gguf_open_mem(&g, mem, len, "small.gguf", NULL), 0);
    gguf_close(g);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        if (cut)
            memcpy(copy, mem, cut);
        struct assay_error err;
        err_clear(&err);
        int rc = gguf_open_mem(&g, copy, cut, "small.gguf", &err);
        if (rc == 0)
            fprintf(stderr, "cut at %zu of %zu opened\n", cut, len);
        assert_int_equal(rc, ASSAY_EINVAL);
        assert_null(g);
        assert_true(err.msg[0] != '\0');
        assert_true(err.offset >= 0 && (size_t)err.offset <= cut);
        free(copy);
    }
    fprintf(stderr, "cut a %zu-byte file at every byte: all rejected\n", len);
    free(mem);
}

static void test_flipped_everywhere(void **state)
{
    void *mem;
    size_t len;
    make_small(&mem, &len);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    static const uint8_t masks[] = {0xff, 0x01, 0x80, 0x10};
    int n_ok = 0, n_bad = 0;
    for (size_t m = 0; m < sizeof(masks); m++) {
        for (size_t i = 0; i < len; i++) {
            memcpy(copy, mem, len);
            copy[i] ^= masks[m];
            struct gguf *g = NULL;
            struct assay_error err;
            err_clear(&err);
            int rc = gguf_open_mem(&g, copy, len, "flip.gguf", &err);
            if (rc == 0) {
                /* touch everything a caller could */
                for (size_t k = 0; k < gguf_n_kv(g); k++) {
                    char line[256];
                    gguf_kv_describe(g, gguf_kv_at(g, k), line, sizeof(line));
                }
                for (size_t k = 0; k < gguf_n_tensors(g); k++) {
                    const struct gguf_tensor *t = gguf_tensor_at(g, k);
                    volatile uint8_t sink = ((const uint8_t *)t->data)[t->n_bytes - 1];
                    (void)sink;
                    assert_ptr_equal(gguf_find_tensor(g, t->name), t);
                }
                gguf_close(g);
                n_ok++;
            } else {
                assert_true(err.msg[0] != '\0');
                n_bad++;
            }
        }
    }
    fprintf(stderr, "flipped bytes: %d opened, %d rejected\n", n_ok, n_bad);
    free(copy);
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_match_manifest),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_huge_alignment_without_tensors),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_corrupt_header),
        cmocka_unit_test(test_corrupt_kv),
        cmocka_unit_test(test_corrupt_tensors),
        cmocka_unit_test(test_corrupt_file_path),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_flipped_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
