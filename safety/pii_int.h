/*
 * safety/pii_int.h - what the PII scanner's files share and no other room includes: the
 * detector row, the trigger groups, validators, per-thread scratch and the chunk kernel.
 *
 * How a scan works (all offsets relative to one text buffer):
 *   1. trigger: one pass over byte pairs with a 64 KiB table says which trigger groups
 *      care about position h (a digit that starts a number, '@', "://", a keyword...).
 *      Text with few findings spends almost all its time here.
 *   2. anchor: each interested rule walks back from h over its `back` bytes to the start
 *      s of the token (at most PII_MAX_BACK bytes) and runs its pattern ANCHORED at s,
 *      on a subject limited to [s - PII_PRE, s + PII_POST).
 *   3. validate and weigh: the validator (checksum...) turns away look-alikes; context
 *      words within PII_CTX_BEFORE / PII_CTX_AFTER bytes raise or lower the likelihood.
 * A candidate depends only on the bytes within [s - PII_PRE, s + PII_POST), so a chunk
 * that owns the anchors in [b, e) and can read [b - PII_PRE, e + PII_POST) finds exactly
 * what a whole-text scan finds there.
 */
#ifndef ASSAY_SAFETY_PII_INT_H
#define ASSAY_SAFETY_PII_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safety/pii.h"

#define PII_MAX_BACK    64   /* bytes a rule may walk back from its trigger to its anchor */
#define PII_MAX_MATCH   8192 /* the longest match any pattern can make (PEM key blocks) */
#define PII_CTX_BEFORE  64   /* context words are looked for this far before a finding */
#define PII_CTX_AFTER   32   /* and this far after it */
#define PII_ANTI_BEFORE 24   /* words that lower it, this far before ("Order 1234...") */
#define PII_LOOKBEHIND  64   /* bytes before the anchor a pattern's lookbehind may read */
#define PII_PRE         256  /* >= lookbehind + context before; the anchor is never past h */
#define PII_POST        (PII_MAX_MATCH + PII_CTX_AFTER + 256)
/* A chain of overlapping candidates wider than this is resolved without waiting for more. */
#define PII_CLUSTER_MAX_SPAN ((size_t)64 << 10)

/* Trigger groups: bit g of trig[(b0 << 8) | b1] says group g wants position of b0. */
enum pii_trig {
    PII_TRIG_DIGIT = 1 << 0,       /* a digit not preceded by [0-9A-Za-z_.,-] (a number's start) */
    PII_TRIG_AT = 1 << 1,          /* '@' */
    PII_TRIG_COLON = 1 << 2,       /* ':' next to a hex digit or ':' (IPv6, MAC), and "://" */
    PII_TRIG_KEYWORD = 1 << 3,     /* the first two bytes of a rule keyword (see keywords) */
    PII_TRIG_UPPER_DIGIT = 1 << 4, /* an upper-case letter followed by a digit (ids) */
    PII_TRIG_DASH = 1 << 5,        /* '-' or '.' after a hex digit (MAC) */
    PII_TRIG_DIGIT_ALPHA = 1 << 6, /* a digit right after a letter (IBAN, letter-prefixed ids) */
};

/* Validator: 1 valid, 0 not; `s` is the span's n bytes. */
typedef int (*pii_validate_fn)(const char *s, size_t n);
/* Gate: a cheap necessary condition on the bytes at the anchor t[s..len), checked before
 * the PCRE2 match (1: worth matching). */
typedef int (*pii_gate_fn)(const char *t, size_t s, size_t len);

struct pii_rule {
    const char *id;       /* detector name */
    int type;             /* enum pii_type */
    unsigned trig;        /* enum pii_trig groups that start this rule */
    const char *keywords; /* PII_TRIG_KEYWORD: '|'-separated literals that start the rule */
    int keywords_nocase;  /* keywords match ignoring ASCII case */
    const char *back;     /* bytes walked back over from the hit to find the anchor */
    int max_back;         /* at most this many (<= PII_MAX_BACK) */
    int max_len;          /* the longest match (<= PII_MAX_MATCH) */
    const char *pattern;  /* PCRE2, anchored at the anchor; group 1, if set, is the span */
    pii_validate_fn validate;
    const char *context; /* '|'-separated words (lower case) that raise the likelihood */
    int base;            /* likelihood without context */
    int with_context;    /* likelihood with context (0: same as base) */
    int need_context;    /* no context: no finding */
    int min_digits;      /* PII_TRIG_DIGIT: digits needed in the number run at the hit */
    int min_back;        /* bytes the walk back must cover (IBAN: the country code) */
    pii_gate_fn gate;    /* NULL: none */
};

extern const struct pii_rule pii_rules[];
extern const size_t pii_n_rules;

/* Words that lower the likelihood of a number-shaped finding by two steps. */
extern const char *const pii_anti_context;

/* ---- validators (safety/pii_valid.c) ------------------------------------------------ */
int pii_valid_luhn_card(const char *s, size_t n);
int pii_valid_ssn(const char *s, size_t n);
int pii_valid_itin(const char *s, size_t n);
int pii_valid_iban(const char *s, size_t n);
int pii_valid_ipv4(const char *s, size_t n);
int pii_valid_ipv6(const char *s, size_t n);
int pii_valid_nhs(const char *s, size_t n);
int pii_valid_cn_id(const char *s, size_t n);
int pii_valid_aadhaar(const char *s, size_t n);
int pii_valid_btc_base58(const char *s, size_t n);
int pii_valid_btc_bech32(const char *s, size_t n);
int pii_valid_eth(const char *s, size_t n);
int pii_valid_entropy(const char *s, size_t n);
int pii_valid_date(const char *s, size_t n);
int pii_valid_phone(const char *s, size_t n);
int pii_valid_nanp(const char *s, size_t n);
int pii_valid_jwt(const char *s, size_t n);
int pii_gate_street(const char *t, size_t s, size_t len);
int pii_gate_btc(const char *t, size_t s, size_t len);
int pii_gate_eth(const char *t, size_t s, size_t len);
int pii_gate_mac(const char *t, size_t s, size_t len);
int pii_gate_ipv4(const char *t, size_t s, size_t len);
int pii_gate_date(const char *t, size_t s, size_t len);
int pii_gate_assign(const char *t, size_t s, size_t len);
int pii_gate_url(const char *t, size_t s, size_t len);
int pii_gate_ipv6(const char *t, size_t s, size_t len);
int pii_gate_iban(const char *t, size_t s, size_t len);
int pii_gate_passport(const char *t, size_t s, size_t len);
/* Keccak-256 (the pre-standard padding Ethereum uses), for EIP-55. */
void pii_keccak256(const uint8_t *in, size_t n, uint8_t out[32]);
/* Shannon entropy in bits per byte. */
double pii_entropy(const char *s, size_t n);

/* ---- the compiled scanner and per-thread scratch (safety/pii_scan.c) ---------------- */

struct pii_scratch;

int pii_scratch_new(struct pii_scratch **out, const struct pii_scanner *sc,
                    struct assay_error *err);
void pii_scratch_free(struct pii_scratch *x);
uint64_t pii_scratch_take_limit_hits(struct pii_scratch *x);
uint64_t pii_scratch_take_candidates(struct pii_scratch *x);

/* Raw candidates whose anchor lies in [own_b, own_e) of text[0, text_len), appended to out
 * in anchor order. The bytes [own_b - PII_PRE, own_e + PII_POST) must be in text unless
 * text ends there (start or end of the whole input). Offsets are relative to text. */
int pii_scan_range(const struct pii_scanner *sc, struct pii_scratch *x, const char *text,
                   size_t text_len, size_t own_b, size_t own_e, struct pii_findings *out,
                   struct assay_error *err);

/* ---- the kernel (safety/pii_kernel.c) ----------------------------------------------- */

struct pii_work {
    int n_threads;
    size_t chunk_bytes;
    size_t n_chunks_max;          /* chunks per call */
    struct pii_scratch **scratch; /* [n_threads] */
    struct pii_findings *chunk;   /* [n_chunks_max] raw candidates per chunk */
    struct assay_error *errs;     /* [n_threads] */
};

int pii_work_init(struct pii_work *w, const struct pii_scanner *sc, struct assay_error *err);
void pii_work_release(struct pii_work *w);
/* Bytes of anchors one pii_kernel_scan call handles at most. */
size_t pii_work_batch_bytes(const struct pii_work *w);

/* Scan the anchors in [own_b, own_e) (at most pii_work_batch_bytes) as chunks in
 * parallel and append the raw candidates to out, in anchor order (chunk after chunk). */
int pii_kernel_scan(const struct pii_scanner *sc, struct pii_work *w, const char *text,
                    size_t text_len, size_t own_b, size_t own_e, struct pii_findings *out,
                    struct pii_stats *stats, struct assay_error *err);

/* Config accessors for the kernel and the stream. */
int pii_scanner_threads(const struct pii_scanner *sc);
size_t pii_scanner_chunk_bytes(const struct pii_scanner *sc);

#endif
