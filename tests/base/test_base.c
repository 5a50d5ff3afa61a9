/*
 * tests/base/test_base.c - error struct, capped buffer, checked arithmetic, utf8, sha256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/utf8.h"

static void test_error_first_wins(void **state)
{
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(err_set_at(&e, ASSAY_EINVAL, "mmlu.csv", 118, "expected %d fields, got %d",
                                6, 5),
                     ASSAY_EINVAL);
    assert_int_equal(err_set(&e, ASSAY_EIO, "later"), ASSAY_EIO);
    char msg[256];
    err_format(&e, msg, sizeof(msg));
    assert_string_equal(msg, "mmlu.csv:118: expected 6 fields, got 5");
    assert_int_equal(e.code, ASSAY_EINVAL);
    err_clear(&e);
    err_set_off(&e, ASSAY_EINVAL, "m.gguf", 912, "tensor 'x': past end");
    err_format(&e, msg, sizeof(msg));
    assert_string_equal(msg, "m.gguf: offset 912: tensor 'x': past end");
    assert_int_equal(err_set(NULL, ASSAY_ENOMEM, "x"), ASSAY_ENOMEM);
}

static void test_exit_status(void **state)
{
    assert_int_equal(err_exit_status(0), 0);
    assert_int_equal(err_exit_status(ASSAY_EUSAGE), 2);
    assert_int_equal(err_exit_status(ASSAY_EINVAL), 3);
    assert_int_equal(err_exit_status(ASSAY_ENOTFOUND), 3);
    assert_int_equal(err_exit_status(ASSAY_EUNSUPPORTED), 3);
    assert_int_equal(err_exit_status(ASSAY_EIO), 1);
    assert_int_equal(err_exit_status(ASSAY_EFAIL), 1);
}

static void test_buf_cap(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_add_str(&b, "hello"), 0);
    assert_int_equal(buf_addf(&b, "%d", 1234), 0);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(buf_add_str(&b, "ab"), ASSAY_ELIMIT);
    assert_string_equal(b.data, "hello1234"); /* unchanged on failure */
    assert_int_equal(buf_add_ch(&b, '!'), 0);
    assert_int_equal(b.len, 10);
    size_t n;
    char *s = buf_detach(&b, &n);
    assert_int_equal(n, 10);
    assert_string_equal(s, "hello1234!");
    free(s);
    assert_null(b.data);
    buf_release(&b);
}

static void test_checked_arith(void **state)
{
    size_t r;
    assert_true(ck_mul(&r, 1000, 1000));
    assert_int_equal(r, 1000000);
    assert_false(ck_mul(&r, SIZE_MAX / 2 + 1, 2));
    assert_false(ck_add(&r, SIZE_MAX, 1));
    assert_null(mem_alloc_array(SIZE_MAX / 4, 8));
}

/* Regression: a name that ends exactly at the end of its buffer, with no NUL after it
 * (GGUF keys in a mapping), is copied without reading past the buffer (ASan caught the
 * strndup interceptor doing so in test_gguf's truncation test). */
static void test_strndup_unterminated(void **state)
{
    char *buf = malloc(5);
    memcpy(buf, "abcde", 5);
    char *c = mem_strndup(buf, 5);
    assert_string_equal(c, "abcde");
    free(c);
    c = mem_strndup(buf, 3);
    assert_string_equal(c, "abc");
    free(c);
    free(buf);
    c = mem_strndup("ab\0cd", 5);
    assert_string_equal(c, "ab");
    free(c);
}

static void test_utf8(void **state)
{
    size_t bad = 99;
    assert_true(utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15, &bad));
    assert_false(utf8_valid("ab\xc0\xaf", 4, &bad)); /* overlong '/' */
    assert_int_equal(bad, 2);
    assert_false(utf8_valid("\xed\xa0\x80", 3, &bad)); /* surrogate */
    assert_false(utf8_valid("\xe2\x82", 2, &bad));     /* truncated */
    char out[4];
    assert_int_equal(utf8_encode(0x20AC, out), 3);
    assert_memory_equal(out, "\xe2\x82\xac", 3);
    assert_int_equal(utf8_encode(0xD800, out), 0);
}

static void test_sha256(void **state)
{
    char hex[HASH_SHA256_HEX];
    assert_int_equal(hash_sha256_hex("abc", 3, hex, NULL), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(hash_sha256_hex("", 0, hex, NULL), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_json_errors(void **state)
{
    json_t *v = NULL;
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(jsn_load_buf(&v, "{\"a\": 1,\n \"b\": }", 16, "x.jsonl", 7, &e),
                     ASSAY_EINVAL);
    assert_string_equal(e.path, "x.jsonl");
    assert_int_equal(e.line, 8);
    err_clear(&e);
    assert_int_equal(jsn_load_buf(&v, "{\"b\": 2, \"a\": [1, \"x\"]}", 23, "t", 0, &e), 0);
    char *s = jsn_dump_canonical(v);
    assert_string_equal(s, "{\"a\":[1,\"x\"],\"b\":2}");
    assert_int_equal(jsn_int(v, "b", -1), 2);
    assert_int_equal(jsn_int(v, "zz", -1), -1);
    free(s);
    json_decref(v);
    err_clear(&e);
    assert_int_equal(jsn_load_file(&v, "/nonexistent/file.json", &e), ASSAY_ENOTFOUND);
}

static void test_file_roundtrip(void **state)
{
    const char *dir = tu_tmpdir();
    assert_non_null(dir);
    char path[1100];
    snprintf(path, sizeof(path), "%s/f.txt", dir);
    assert_int_equal(file_write_atomic(path, "hello\n", 6, NULL), 0);
    char *data;
    size_t n;
    assert_int_equal(file_read_all(&data, &n, path, 100, NULL), 0);
    assert_int_equal(n, 6);
    assert_string_equal(data, "hello\n");
    free(data);
    struct assay_error e;
    err_clear(&e);
    assert_int_equal(file_read_all(&data, &n, path, 3, &e), ASSAY_ELIMIT);
    struct file_map fm;
    assert_int_equal(file_map(&fm, path, NULL), 0);
    assert_int_equal(fm.size, 6);
    assert_memory_equal(fm.data, "hello\n", 6);
    file_unmap(&fm);
    err_clear(&e);
    assert_int_equal(file_map(&fm, "/nonexistent", &e), ASSAY_ENOTFOUND);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_first_wins), cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_buf_cap),          cmocka_unit_test(test_checked_arith),
        cmocka_unit_test(test_utf8),             cmocka_unit_test(test_strndup_unterminated),             cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_json_errors),      cmocka_unit_test(test_file_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
