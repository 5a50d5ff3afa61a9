/*
 * tests/safety/test_pii.c - the PII scanner: per-type precision and recall on the labelled
 * corpus (tests/data/safety/pii_corpus.txt, both >= 0.95), validators against published
 * values, findings identical across chunk sizes, threads and stream reads (a finding
 * straddling every chunk boundary is found once), redaction, JSONL offsets, bad input,
 * PCRE2 limits, the store's findings table, and -- measured, not required -- precision and
 * recall on ../shared/datasets/pii/presidio_synth_dataset_v2.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "safety/pii.h"
#include "safety/pii_int.h"
#include "store/store.h"
#include "testutil.h"

static struct pii_scanner *new_scanner(int threads, size_t chunk)
{
    struct pii_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.n_threads = threads;
    cfg.chunk_bytes = chunk;
    struct pii_scanner *sc = NULL;
    struct assay_error err;
    err_clear(&err);
    int rc = pii_scanner_new(&sc, &cfg, &err);
    if (rc)
        fprintf(stderr, "pii_scanner_new: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return sc;
}

static void scan(const struct pii_scanner *sc, const char *t, size_t n, struct pii_findings *f)
{
    struct assay_error err;
    err_clear(&err);
    pii_findings_init(f, 0);
    int rc = pii_scan_text(sc, t, n, f, NULL, &err);
    if (rc)
        fprintf(stderr, "pii_scan_text: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

/* ---- validators ---------------------------------------------------------------------- */

#define V(fn, s) fn(s, strlen(s))

static void test_validators(void **state)
{
    (void)state;
    assert_true(V(pii_valid_luhn_card, "4111111111111111"));
    assert_true(V(pii_valid_luhn_card, "4111 1111 1111 1111"));
    assert_false(V(pii_valid_luhn_card, "4111111111111112"));
    assert_false(V(pii_valid_luhn_card, "4111 1111-1111 1111"));
    assert_true(V(pii_valid_luhn_card, "378282246310005")); /* Amex test number */
    assert_true(V(pii_valid_ssn, "536-22-8726"));
    assert_false(V(pii_valid_ssn, "000-12-3456"));
    assert_false(V(pii_valid_ssn, "666-12-3456"));
    assert_false(V(pii_valid_ssn, "912-12-3456"));
    assert_false(V(pii_valid_ssn, "078-05-1120"));
    assert_true(V(pii_valid_itin, "912-70-1234"));
    assert_false(V(pii_valid_itin, "912-89-1234"));
    assert_true(V(pii_valid_iban, "GB82WEST12345698765432"));
    assert_true(V(pii_valid_iban, "GB82 WEST 1234 5698 7654 32"));
    assert_false(V(pii_valid_iban, "GB83WEST12345698765432"));
    assert_true(V(pii_valid_iban, "DE89370400440532013000"));
    assert_true(V(pii_valid_nhs, "9434765919"));
    assert_false(V(pii_valid_nhs, "9434765918"));
    assert_true(V(pii_valid_cn_id, "11010519491231002X"));
    assert_false(V(pii_valid_cn_id, "110105194912310021"));
    assert_true(V(pii_valid_aadhaar, "234567890124"));
    assert_false(V(pii_valid_aadhaar, "234567890125"));
    assert_true(V(pii_valid_btc_base58, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
    assert_true(V(pii_valid_btc_base58, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
    assert_false(V(pii_valid_btc_base58, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
    assert_true(V(pii_valid_btc_bech32, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"));
    assert_false(V(pii_valid_btc_bech32, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"));
    /* EIP-55's own examples */
    assert_true(V(pii_valid_eth, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
    assert_true(V(pii_valid_eth, "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"));
    assert_false(V(pii_valid_eth, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));
    assert_true(V(pii_valid_eth, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
    uint8_t h[32];
    pii_keccak256((const uint8_t *)"", 0, h);
    assert_int_equal(h[0], 0xc5);
    assert_int_equal(h[31], 0x70);
    assert_true(V(pii_valid_ipv4, "192.168.1.20"));
    assert_false(V(pii_valid_ipv4, "256.1.1.1"));
    assert_true(V(pii_valid_ipv6, "2001:db8::8a2e:370:7334"));
    assert_false(V(pii_valid_ipv6, "d::"));
    assert_true(V(pii_valid_date, "March 3, 1985"));
    assert_true(V(pii_valid_date, "31/12/1999"));
    assert_false(V(pii_valid_date, "1985-13-01"));
    assert_true(V(pii_valid_entropy, "a8F3kL9mQ2xZ7pR4tV6wY1bN"));
    assert_false(V(pii_valid_entropy, "your_api_key_here_1234"));
}

/* ---- the labelled corpus --------------------------------------------------------------- */

struct span {
    int type;
    size_t start, end;
};

struct tally {
    int tp, fp, fn, n_pos, n_neg;
};

/* Unescape and strip [[TYPE|value]] markers; spans are byte offsets into the result. */
static int parse_case(const char *in, char *out, size_t cap, struct span *sp, int max_sp, int *n_sp)
{
    size_t o = 0;
    *n_sp = 0;
    int open_type = -1;
    size_t open_at = 0;
    for (const char *p = in; *p;) {
        if (o + 8 >= cap)
            return -1;
        if (p[0] == '[' && p[1] == '[') {
            const char *bar = strchr(p, '|');
            if (!bar)
                return -1;
            char name[40];
            size_t n = (size_t)(bar - p - 2);
            if (n >= sizeof(name))
                return -1;
            memcpy(name, p + 2, n);
            name[n] = 0;
            open_type = pii_type_from_name(name);
            if (open_type < 0)
                return -1;
            open_at = o;
            p = bar + 1;
        } else if (p[0] == ']' && p[1] == ']' && open_type >= 0) {
            if (*n_sp == max_sp)
                return -1;
            sp[(*n_sp)++] = (struct span){open_type, open_at, o};
            open_type = -1;
            p += 2;
        } else if (p[0] == '\\' && p[1] == 'n') {
            out[o++] = '\n';
            p += 2;
        } else if (p[0] == '\\' && p[1] == 't') {
            out[o++] = '\t';
            p += 2;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = 0;
    return (int)o;
}

static void test_corpus_precision_recall(void **state)
{
    (void)state;
    const char *path = tu_source("tests/data/safety/pii_corpus.txt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct pii_scanner *sc = new_scanner(1, 0);
    struct tally t[PII_TYPE_COUNT];
    memset(t, 0, sizeof(t));
    char line[16384], text[16384];
    int n_shown = 0, lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0 || line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = 0;
        int case_type = pii_type_from_name(line);
        assert_true(case_type >= 0);
        struct span sp[8];
        int n_sp = 0;
        int n = parse_case(tab + 1, text, sizeof(text), sp, 8, &n_sp);
        assert_true(n >= 0);
        int is_pos = 0;
        for (int k = 0; k < n_sp; k++)
            is_pos |= sp[k].type == case_type;
        if (is_pos)
            t[case_type].n_pos++;
        else
            t[case_type].n_neg++;
        struct pii_findings fd;
        scan(sc, text, (size_t)n, &fd);
        int matched[8] = {0};
        int bad = 0;
        for (size_t i = 0; i < fd.n; i++) {
            int hit = 0;
            for (int k = 0; k < n_sp && !hit; k++)
                if (!matched[k] && sp[k].type == fd.v[i].type && sp[k].start == fd.v[i].start &&
                    sp[k].end == fd.v[i].end)
                    matched[k] = hit = 1;
            if (hit) {
                t[fd.v[i].type].tp++;
            } else {
                t[fd.v[i].type].fp++;
                bad = 1;
            }
        }
        for (int k = 0; k < n_sp; k++)
            if (!matched[k]) {
                t[sp[k].type].fn++;
                bad = 1;
            }
        if (bad && n_shown++ < 40) {
            fprintf(stderr, "case %d (%s): %s\n  expected:", lineno, line, tab + 1);
            for (int k = 0; k < n_sp; k++)
                fprintf(stderr, " %s %zu-%zu", pii_type_name(sp[k].type), sp[k].start, sp[k].end);
            fprintf(stderr, "\n  found:   ");
            for (size_t i = 0; i < fd.n; i++)
                fprintf(stderr, " %s %llu-%llu (%s)", pii_type_name(fd.v[i].type),
                        (unsigned long long)fd.v[i].start, (unsigned long long)fd.v[i].end,
                        pii_detector_name(fd.v[i].detector));
            fprintf(stderr, "\n");
        }
        pii_findings_release(&fd);
    }
    fclose(f);
    pii_scanner_free(sc);
    printf("%-18s %5s %5s %5s %5s %5s %9s %7s\n", "type", "pos", "neg", "tp", "fp", "fn",
           "precision", "recall");
    int ok = 1;
    for (int ty = 0; ty < PII_TYPE_COUNT; ty++) {
        double p = t[ty].tp + t[ty].fp ? (double)t[ty].tp / (t[ty].tp + t[ty].fp) : 1.0;
        double r = t[ty].tp + t[ty].fn ? (double)t[ty].tp / (t[ty].tp + t[ty].fn) : 0.0;
        printf("%-18s %5d %5d %5d %5d %5d %9.3f %7.3f\n", pii_type_name(ty), t[ty].n_pos,
               t[ty].n_neg, t[ty].tp, t[ty].fp, t[ty].fn, p, r);
        if (t[ty].n_pos < 20 || t[ty].n_neg < 20 || p < 0.95 || r < 0.95) {
            fprintf(stderr, "%s: needs >= 20 positive and negative cases and P, R >= 0.95\n",
                    pii_type_name(ty));
            ok = 0;
        }
    }
    assert_true(ok);
}

/* ---- chunk boundaries ----------------------------------------------------------------- */

static const char sample[] =
    "Mail alice.smith@example.com or call (415) 555-2671; card 4111 1111 1111 1111.\n"
    "SSN: 536-22-8726, IBAN GB82 WEST 1234 5698 7654 32, ip 192.168.1.20, mac "
    "00:1A:2B:3C:4D:5E, url https://admin:s3cretPass@db.example.com/x.\n"
    "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 key AKIAIOSFODNN7ABCDEFG "
    "eth 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed and api_key = \"a8F3kL9mQ2xZ7pR4tV6wY1bN\".\n"
    "-----BEGIN RSA PRIVATE "
    "KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
    "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm\n"
    "-----END RSA PRIVATE KEY-----\nMy name is Alice Johnson, born on March 3, 1985.\n";

static int same_findings(const struct pii_findings *a, const struct pii_findings *b, size_t shift)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].start + shift != b->v[i].start || a->v[i].end + shift != b->v[i].end ||
            a->v[i].type != b->v[i].type || a->v[i].likelihood != b->v[i].likelihood ||
            a->v[i].detector != b->v[i].detector)
            return 0;
    return 1;
}

static void test_chunk_boundaries(void **state)
{
    (void)state;
    struct pii_scanner *ref_sc = new_scanner(1, 0);
    size_t n = sizeof(sample) - 1;
    struct pii_findings ref;
    scan(ref_sc, sample, n, &ref);
    assert_true(ref.n >= 14);
    pii_scanner_free(ref_sc);
    /* Every chunk size from 1 to 48 bytes puts a boundary inside each finding at every
     * offset across the sizes; padding the text by 0..chunk-1 bytes moves the boundaries
     * over every position of every finding. */
    char *buf = malloc(n + 64);
    assert_non_null(buf);
    for (size_t chunk = 1; chunk <= 48; chunk += (chunk < 8 ? 1 : 5)) {
        for (int threads = 1; threads <= 2; threads++) {
            struct pii_scanner *sc = new_scanner(threads, chunk);
            for (size_t pad = 0; pad < chunk; pad++) {
                memset(buf, ' ', pad);
                memcpy(buf + pad, sample, n);
                struct pii_findings got;
                scan(sc, buf, n + pad, &got);
                if (!same_findings(&ref, &got, pad)) {
                    fprintf(stderr, "chunk %zu threads %d pad %zu: %zu findings, want %zu\n", chunk,
                            threads, pad, got.n, ref.n);
                    fail();
                }
                pii_findings_release(&got);
            }
            pii_scanner_free(sc);
        }
    }
    free(buf);
    pii_findings_release(&ref);
}

/* ---- streams ------------------------------------------------------------------------- */

struct collect {
    struct pii_findings f;
    struct buf text;
    int64_t lines[64];
    int n_lines;
    int n_warn;
    char last_warn[200];
};

static int c_finding(void *user, const struct pii_finding *f, int64_t line, const char *bytes)
{
    (void)bytes;
    struct collect *c = user;
    if (c->n_lines < 64)
        c->lines[c->n_lines++] = line;
    return pii_findings_push(&c->f, f, NULL);
}

static int c_text(void *user, const char *bytes, size_t n)
{
    struct collect *c = user;
    return buf_add(&c->text, bytes, n);
}

static void c_warn(void *user, int64_t line, const char *msg)
{
    struct collect *c = user;
    c->n_warn++;
    snprintf(c->last_warn, sizeof(c->last_warn), "%lld: %s", (long long)line, msg);
}

static void collect_init(struct collect *c)
{
    memset(c, 0, sizeof(*c));
    pii_findings_init(&c->f, 0);
    buf_init(&c->text, 0);
}

static void collect_release(struct collect *c)
{
    pii_findings_release(&c->f);
    buf_release(&c->text);
}

static const char *write_tmp(const char *name, const char *data, size_t n)
{
    static char path[1024];
    const char *dir = tu_tmpdir();
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return path;
}

static int scan_path(const struct pii_scanner *sc, const char *path, const char *field,
                     size_t max_record, struct collect *c, struct pii_stats *st, bool redact)
{
    struct pii_sink sink = {c, c_finding, redact ? c_text : NULL, c_warn};
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct assay_error err;
    err_clear(&err);
    memset(st, 0, sizeof(*st));
    int rc = field ? pii_scan_jsonl(sc, fd, path, field, max_record, &sink, st, &err)
                   : pii_scan_fd(sc, fd, path, &sink, st, &err);
    if (rc)
        fprintf(stderr, "scan %s: %s\n", path, err.msg);
    close(fd);
    return rc;
}

/* A few MB with findings every ~900 bytes, read through a small stream buffer: the same
 * findings as one in-memory scan, with the right line numbers, and redaction removes
 * every one of them. */
/* Fill this much of the stack below the caller with byte v, so that whatever a scan leaves
 * uninitialised in its frames (a struct's padding) differs from one scan to the next. */
static __attribute__((noinline)) void poison_stack(unsigned char v)
{
    volatile unsigned char junk[64 << 10];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = v;
}

static int bytes_equal(const struct pii_findings *a, const struct pii_findings *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(&a->v[i], &b->v[i], sizeof(a->v[i])) != 0) {
            fprintf(stderr, "finding %zu [%llu, %llu) differs in its bytes\n", i,
                    (unsigned long long)a->v[i].start, (unsigned long long)a->v[i].end);
            return 0;
        }
    return 1;
}

/* fuzz_pii keeps one whole and one 7-byte-chunk scanner across all inputs and compares
 * findings with memcmp; it aborted on equal findings whose padding bytes (2 after
 * `detector`) held different stack garbage. Findings must be byte-identical whatever ran
 * before: many inputs through one long-lived pair, the stack dirtied differently before
 * each scan, and fresh scanners as the reference. */
static void test_findings_bytes_identical(void **state)
{
    (void)state;
    struct pii_scanner *whole = new_scanner(1, 0), *chunked = new_scanner(2, 7);
    size_t n = sizeof(sample) - 1;
    size_t n_checked = 0;
    for (size_t off = 0; off < n; off += 13) {
        struct pii_findings a, b;
        poison_stack((unsigned char)(0xA5 ^ off));
        scan(whole, sample + off, n - off, &a);
        poison_stack((unsigned char)(0x5A + off));
        scan(chunked, sample + off, n - off, &b);
        if (!bytes_equal(&a, &b))
            fprintf(stderr, "offset %zu: whole and 7-byte chunks differ\n", off);
        assert_true(bytes_equal(&a, &b));
        n_checked += a.n;
        pii_findings_release(&a);
        pii_findings_release(&b);
    }
    assert_true(n_checked > 50);
    /* the long-lived pair against fresh scanners, on a dirty stack */
    struct pii_scanner *fresh = new_scanner(1, 13);
    struct pii_findings a, b;
    poison_stack(0xFF);
    scan(whole, sample, n, &a);
    poison_stack(0x11);
    scan(fresh, sample, n, &b);
    assert_true(bytes_equal(&a, &b));
    pii_findings_release(&a);
    pii_findings_release(&b);
    pii_scanner_free(fresh);
    pii_scanner_free(whole);
    pii_scanner_free(chunked);
}

static void test_stream_matches_memory(void **state)
{
    (void)state;
    size_t cap = 3u << 20, n = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    unsigned k = 0;
    while (n + 1024 < cap) {
        n += (size_t)snprintf(t + n, cap - n,
                              "line %u of filler text that says nothing at all, %u times.\n", k,
                              k * 7);
        if (k % 15 == 0)
            n += (size_t)snprintf(t + n, cap - n, "reach user%u@example.org or 10.%u.%u.%u\n", k,
                                  k % 200 + 1, k % 250, k % 199 + 1);
        k++;
    }
    const char *path = write_tmp("big.txt", t, n);
    struct pii_scanner *mem_sc = new_scanner(1, 0);
    struct pii_findings ref;
    scan(mem_sc, t, n, &ref);
    pii_scanner_free(mem_sc);
    assert_true(ref.n > 1000);

    struct pii_scanner *sc = new_scanner(2, 4096); /* 32 KiB batches: many buffer slides */
    struct collect c;
    collect_init(&c);
    struct pii_stats st;
    assert_int_equal(scan_path(sc, path, NULL, 0, &c, &st, false), 0);
    assert_true(same_findings(&ref, &c.f, 0));
    assert_int_equal(st.n_bytes, n);
    /* line of the first finding */
    int64_t want_line = 1;
    for (size_t i = 0; i < ref.v[0].start; i++)
        want_line += t[i] == '\n';
    assert_int_equal(c.lines[0], want_line);
    collect_release(&c);

    collect_init(&c);
    assert_int_equal(scan_path(sc, path, NULL, 0, &c, &st, true), 0);
    assert_non_null(c.text.data);
    for (size_t i = 0; i < ref.n; i++) {
        char needle[128];
        size_t len = (size_t)(ref.v[i].end - ref.v[i].start);
        if (len >= sizeof(needle))
            continue;
        memcpy(needle, t + ref.v[i].start, len);
        needle[len] = 0;
        if (strstr(c.text.data, needle)) {
            fprintf(stderr, "redacted output still contains '%s'\n", needle);
            fail();
        }
    }
    assert_non_null(strstr(c.text.data, "[EMAIL_ADDRESS]"));
    collect_release(&c);
    pii_scanner_free(sc);
    pii_findings_release(&ref);
    free(t);
}

static void test_jsonl(void **state)
{
    (void)state;
    /* line 3 is too long for the 1 KiB cap, line 4 is not JSON, line 5 lacks the field */
    struct buf b;
    buf_init(&b, 0);
    buf_add_str(&b, "{\"id\": 1, \"text\": \"write to bob@example.com\"}\n");
    buf_add_str(&b, "\n");
    buf_add_str(&b, "{\"text\": \"");
    for (int i = 0; i < 200; i++)
        buf_add_str(&b, "padding ");
    buf_add_str(&b, "\"}\n");
    buf_add_str(&b, "not json at all\n");
    buf_add_str(&b, "{\"other\": \"x\"}\n");
    buf_add_str(&b, "{\"text\": \"caf\\u00e9 \\u2014 ip 10.1.2.3\"}");
    const char *path = write_tmp("in.jsonl", b.data, b.len);
    buf_release(&b);
    struct pii_scanner *sc = new_scanner(1, 0);
    struct collect c;
    collect_init(&c);
    struct pii_stats st;
    assert_int_equal(scan_path(sc, path, "text", 1024, &c, &st, false), 0);
    assert_int_equal(c.f.n, 2);
    assert_int_equal(c.lines[0], 1);
    assert_int_equal(c.f.v[0].start, 9); /* into the value "write to bob@..." */
    assert_int_equal(c.f.v[0].end, 24);
    assert_int_equal(c.lines[1], 6);
    /* "café — ip ": é is 2 bytes and — is 3, so the address starts at byte 13 */
    assert_int_equal(c.f.v[1].start, 13);
    assert_int_equal(c.f.v[1].end, 21);
    assert_int_equal(st.n_skipped, 3);
    assert_int_equal(c.n_warn, 3);
    collect_release(&c);

    collect_init(&c);
    assert_int_equal(scan_path(sc, path, "text", 1024, &c, &st, true), 0);
    assert_non_null(strstr(c.text.data, "[EMAIL_ADDRESS]"));
    assert_null(strstr(c.text.data, "bob@example.com"));
    assert_null(strstr(c.text.data, "10.1.2.3"));
    collect_release(&c);
    pii_scanner_free(sc);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct pii_scanner *sc = new_scanner(2, 1 << 16);
    struct collect c;
    struct pii_stats st;
    /* invalid UTF-8 and NUL bytes (after the first 8000 bytes) around findings */
    size_t n = 12000;
    char *t = malloc(n);
    assert_non_null(t);
    memset(t, 'x', n);
    for (size_t i = 8100; i < n; i += 97)
        t[i] = 0;
    for (size_t i = 50; i < n; i += 131)
        t[i] = (char)0xff;
    memcpy(t + 9000, " \xc3\x28 eve@example.com \xf0\x9f ", 23);
    const char *path = write_tmp("bad.txt", t, n);
    collect_init(&c);
    assert_int_equal(scan_path(sc, path, NULL, 0, &c, &st, false), 0);
    assert_int_equal(c.f.n, 1);
    assert_int_equal(c.f.v[0].type, PII_TYPE_EMAIL_ADDRESS);
    assert_int_equal(c.f.v[0].start, 9004);
    collect_release(&c);
    /* binary: a NUL early on -> skipped with a warning */
    t[10] = 0;
    path = write_tmp("bin.dat", t, n);
    collect_init(&c);
    assert_int_equal(scan_path(sc, path, NULL, 0, &c, &st, false), 0);
    assert_true(st.binary);
    assert_int_equal(c.n_warn, 1);
    assert_int_equal(c.f.n, 0);
    collect_release(&c);
    free(t);
    /* one 24 MB line without a newline, a finding at its very end: constant memory
     * streaming finds it on line 1 */
    n = 24u << 20;
    t = malloc(n);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        t[i] = "abcdefgh 0123 "[i % 14];
    memcpy(t + n - 20, " zed@example.net", 16);
    path = write_tmp("line.txt", t, n);
    free(t);
    collect_init(&c);
    assert_int_equal(scan_path(sc, path, NULL, 0, &c, &st, false), 0);
    assert_int_equal(c.f.n, 1);
    assert_int_equal(c.lines[0], 1);
    assert_int_equal(c.f.v[0].start, n - 19);
    collect_release(&c);
    unlink(path);
    pii_scanner_free(sc);
}

static void test_match_limit_is_a_result(void **state)
{
    (void)state;
    struct pii_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.match_limit = 1;
    struct pii_scanner *sc = NULL;
    assert_int_equal(pii_scanner_new(&sc, &cfg, NULL), 0);
    struct pii_findings f;
    pii_findings_init(&f, 0);
    struct pii_stats st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(pii_scan_text(sc, sample, sizeof(sample) - 1, &f, &st, NULL), 0);
    assert_true(st.n_limit_hits > 0);
    pii_findings_release(&f);
    pii_scanner_free(sc);
}

static void test_mask_and_types(void **state)
{
    (void)state;
    struct pii_scanner *sc = new_scanner(1, 0);
    struct buf out;
    buf_init(&out, 0);
    const char *s = "mail bob@example.com, card 4111111111111111.";
    assert_int_equal(pii_mask_text(&out, sc, s, strlen(s), NULL), 0);
    assert_string_equal(out.data, "mail [EMAIL_ADDRESS], card [CREDIT_CARD].");
    buf_release(&out);
    pii_scanner_free(sc);
    uint64_t mask = 0;
    assert_int_equal(pii_types_parse(&mask, "EMAIL_ADDRESS,us_ssn", NULL), 0);
    assert_int_equal(mask, (1u << PII_TYPE_EMAIL_ADDRESS) | (1u << PII_TYPE_US_SSN));
    assert_int_equal(pii_types_parse(&mask, "EMAIL,US_SSN", NULL), ASSAY_EUSAGE);
    assert_int_equal(pii_likelihood_from_name("likely"), PII_LIKELIHOOD_LIKELY);
    /* --types: only the chosen type is reported */
    struct pii_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.types = 1u << PII_TYPE_CREDIT_CARD;
    assert_int_equal(pii_scanner_new(&sc, &cfg, NULL), 0);
    struct pii_findings f;
    scan(sc, s, strlen(s), &f);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].type, PII_TYPE_CREDIT_CARD);
    pii_findings_release(&f);
    pii_scanner_free(sc);
    for (int t = 0; t < PII_TYPE_COUNT; t++) {
        assert_int_equal(pii_type_from_name(pii_type_name(t)), t);
        assert_true(strlen(pii_type_description(t)) > 0);
    }
}

static void test_store_findings(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir();
    char path[1024];
    snprintf(path, sizeof(path), "%s/pii.db", dir);
    struct store *s = NULL;
    struct assay_error err;
    err_clear(&err);
    assert_int_equal(store_open(&s, path, 0, &err), 0);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    struct store_run_new rn = {"pii", 0, NULL, "{}"};
    int64_t run_id = 0;
    assert_int_equal(store_begin_run(s, &rn, &run_id, &err), 0);
    struct store_sample smp = {"t", "1", NULL, NULL, NULL, "mail bob@example.com",
                               0,   -1,  NULL, NULL};
    assert_int_equal(store_put_sample(s, run_id, &smp, &err), 0);
    struct store_pii_finding f[2] = {
        {1, "output", "EMAIL_ADDRESS", 5, 20, "VERY_LIKELY", "personal", "email", 0},
        {1, "output", "US_SSN", 0, 3, "LIKELY", "sensitive", "ssn", 1},
    };
    assert_int_equal(store_put_pii_findings(s, run_id, f, 2, &err), 0);
    struct store_pii_finding_row *rows = NULL;
    int64_t n = 0;
    assert_int_equal(store_list_pii_findings(s, run_id, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].type, "EMAIL_ADDRESS");
    assert_int_equal(rows[0].end_byte, 20);
    assert_int_equal(rows[1].validated, 1);
    store_pii_findings_free(rows, n);
    assert_int_equal(store_delete_pii_findings(s, run_id, &err), 0);
    assert_int_equal(store_list_pii_findings(s, run_id, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    store_pii_findings_free(rows, n);
    store_close(s);
}

/* ---- the shared labelled corpus (measured and printed; not required) ------------------ */

static size_t char_to_byte(const char *s, size_t len, size_t ch)
{
    size_t b = 0, c = 0;
    while (b < len && c < ch) {
        unsigned char x = (unsigned char)s[b];
        b += x < 0x80 ? 1 : x < 0xe0 ? 2 : x < 0xf0 ? 3 : 4;
        c++;
    }
    return b < len ? b : len;
}

static int overlaps_80(size_t a0, size_t a1, size_t b0, size_t b1)
{
    size_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    if (hi <= lo)
        return 0;
    size_t longer = (a1 - a0) > (b1 - b0) ? (a1 - a0) : (b1 - b0);
    return (double)(hi - lo) > 0.8 * (double)longer;
}

static void test_shared_presidio(void **state)
{
    (void)state;
    const char *rel = "datasets/pii/presidio_synth_dataset_v2.json";
    const char *path = tu_shared(rel);
    TU_SKIP_IF_MISSING(path, rel);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    assert_non_null(root);
    static const char *const mapped[] = {"PERSON",       "STREET_ADDRESS", "CREDIT_CARD",
                                         "PHONE_NUMBER", "EMAIL_ADDRESS",  "IBAN_CODE",
                                         "US_SSN",       "IP_ADDRESS",     "US_DRIVER_LICENSE"};
    enum { N_MAPPED = sizeof(mapped) / sizeof(mapped[0]) };
    int tp_f[N_MAPPED] = {0}, n_f[N_MAPPED] = {0}, tp_l[N_MAPPED] = {0}, n_l[N_MAPPED] = {0};
    struct pii_scanner *sc = new_scanner(1, 0);
    size_t i;
    json_t *rec;
    json_array_foreach(root, i, rec)
    {
        const char *text = json_string_value(json_object_get(rec, "full_text"));
        if (!text)
            continue;
        size_t len = strlen(text);
        struct span lab[64];
        int n_lab = 0;
        size_t j;
        json_t *sp;
        json_array_foreach(json_object_get(rec, "spans"), j, sp)
        {
            int t = pii_type_from_name(json_string_value(json_object_get(sp, "entity_type")));
            int m = -1;
            for (int k = 0; k < N_MAPPED; k++)
                if (t >= 0 && strcmp(pii_type_name(t), mapped[k]) == 0)
                    m = k;
            if (m < 0 || n_lab == 64)
                continue;
            size_t s0 = char_to_byte(
                text, len, (size_t)json_integer_value(json_object_get(sp, "start_position")));
            size_t s1 = char_to_byte(
                text, len, (size_t)json_integer_value(json_object_get(sp, "end_position")));
            lab[n_lab++] = (struct span){m, s0, s1};
            n_l[m]++;
        }
        struct pii_findings f;
        scan(sc, text, len, &f);
        int lab_hit[64] = {0};
        for (size_t q = 0; q < f.n; q++) {
            int m = -1;
            for (int k = 0; k < N_MAPPED; k++)
                if (strcmp(pii_type_name(f.v[q].type), mapped[k]) == 0)
                    m = k;
            if (m < 0)
                continue;
            n_f[m]++;
            int hit = 0;
            for (int k = 0; k < n_lab; k++)
                if (lab[k].type == m && overlaps_80(lab[k].start, lab[k].end, (size_t)f.v[q].start,
                                                    (size_t)f.v[q].end)) {
                    hit = 1;
                    if (!lab_hit[k]) {
                        lab_hit[k] = 1;
                        tp_l[m]++;
                    }
                }
            tp_f[m] += hit;
        }
        pii_findings_release(&f);
    }
    pii_scanner_free(sc);
    json_decref(root);
    printf("presidio_synth_dataset_v2 (1500 sentences; overlap > 80%% of the longer span)\n");
    printf("%-18s %7s %8s %9s %7s\n", "type", "labels", "findings", "precision", "recall");
    for (int k = 0; k < N_MAPPED; k++)
        printf("%-18s %7d %8d %9.3f %7.3f\n", mapped[k], n_l[k], n_f[k],
               n_f[k] ? (double)tp_f[k] / n_f[k] : 0.0, n_l[k] ? (double)tp_l[k] / n_l[k] : 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validators),
        cmocka_unit_test(test_corpus_precision_recall),
        cmocka_unit_test(test_chunk_boundaries),
        cmocka_unit_test(test_findings_bytes_identical),
        cmocka_unit_test(test_stream_matches_memory),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_match_limit_is_a_result),
        cmocka_unit_test(test_mask_and_types),
        cmocka_unit_test(test_store_findings),
        cmocka_unit_test(test_shared_presidio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
