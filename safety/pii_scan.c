/*
 * safety/pii_scan.c - compiles the detector table (pii_rules.c) once and finds raw
 * candidates in one range of text: trigger pass, anchor, PCRE2 JIT match under limits,
 * validator, context. Resolution of overlaps, streaming and redaction are in
 * pii_stream.c; the parallel loop over chunks is in pii_kernel.c.
 *
 * Threads: struct pii_scanner is read-only after pii_scanner_new (compiled code and the
 * match context are shared); each thread brings its own struct pii_scratch (PCRE2 match
 * data, per-rule state, counters).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "safety/pii_int.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* A keyword of a PII_TRIG_KEYWORD rule, indexed by its first two bytes. */
struct kw_entry {
    uint16_t pair; /* (b0 << 8) | b1, case variants get their own entries */
    uint16_t rule;
    uint8_t len;
    uint8_t nocase;
    char word[30];
};

struct rule_rt {
    pcre2_code *code;
    int v_group;            /* number of the group named "v", or 0 */
    uint8_t back[256];      /* bytes walked back over */
    uint8_t ctx_first[256]; /* first bytes (both cases) of the rule's context words */
    int enabled;
};

struct pii_scanner {
    struct pii_config cfg;
    uint8_t trig[65536];      /* enum pii_trig bits for the pair (text[h-1], text[h]) */
    struct rule_rt *rt;       /* [pii_n_rules] */
    uint16_t *group_rules[8]; /* rules per byte trigger group, by bit index */
    size_t n_group_rules[8];
    uint8_t n_digit_upto[50]; /* digit rules (sorted) needing at most d digits */
    struct kw_entry *kw;
    size_t n_kw;
    uint8_t anti_first[256];
    uint8_t kw3[512]; /* bit set of hash3 of each keyword's first three bytes, case-folded */
    pcre2_match_context *mctx;
};

struct pii_scratch {
    pcre2_match_data *md;
    pcre2_jit_stack *jit_stack;   /* this thread's JIT stack, assigned to mctx */
    pcre2_match_context *mctx;    /* the scanner's limits, with jit_stack assigned */
    int64_t *last_anchor; /* [pii_n_rules], per scan_range call */
    uint64_t n_limit_hits;
    uint64_t n_candidates;
};

/* ---- names ------------------------------------------------------------------------- */

static const char *const likelihood_names[] = {"",         "VERY_UNLIKELY", "UNLIKELY",
                                               "POSSIBLE", "LIKELY",        "VERY_LIKELY"};

const char *pii_likelihood_name(int l)
{
    return l >= 1 && l <= 5 ? likelihood_names[l] : "?";
}

int pii_likelihood_from_name(const char *name)
{
    for (int l = 1; l <= 5; l++)
        if (strcasecmp(name, likelihood_names[l]) == 0)
            return l;
    return -1;
}

const char *pii_severity_name(int s)
{
    return s == PII_SEVERITY_SENSITIVE ? "sensitive" : "personal";
}

int pii_type_from_name(const char *name)
{
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        if (strcasecmp(name, pii_type_name(t)) == 0)
            return t;
    return -1;
}

int pii_types_parse(uint64_t *mask_out, const char *list, struct assay_error *err)
{
    uint64_t mask = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        if (n == 0 || n >= sizeof(name))
            return err_set(err, ASSAY_EUSAGE, "bad PII type list '%s'", list);
        memcpy(name, p, n);
        name[n] = 0;
        int t = pii_type_from_name(name);
        if (t < 0)
            return err_set(err, ASSAY_EUSAGE, "unknown PII type '%s' (see 'assay pii types')",
                           name);
        mask |= (uint64_t)1 << t;
        p += n;
        if (*p == ',')
            p++;
    }
    if (!mask)
        return err_set(err, ASSAY_EUSAGE, "empty PII type list");
    *mask_out = mask;
    return 0;
}

/* ---- findings list ----------------------------------------------------------------- */

void pii_findings_init(struct pii_findings *f, size_t max_n)
{
    memset(f, 0, sizeof(*f));
    f->max_n = max_n ? max_n : ((size_t)1 << 22);
}

void pii_findings_release(struct pii_findings *f)
{
    free(f->v);
    size_t max_n = f->max_n;
    memset(f, 0, sizeof(*f));
    f->max_n = max_n;
}

int pii_findings_push(struct pii_findings *f, const struct pii_finding *x, struct assay_error *err)
{
    if (f->n == f->cap) {
        if (f->n >= f->max_n)
            return err_set(err, ASSAY_ELIMIT, "more than %zu PII candidates in one batch",
                           f->max_n);
        size_t ncap = f->cap ? f->cap * 2 : 64;
        if (ncap > f->max_n)
            ncap = f->max_n;
        struct pii_finding *v = mem_realloc_array(f->v, ncap, sizeof(*v));
        if (!v)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        f->v = v;
        f->cap = ncap;
    }
    f->v[f->n++] = *x;
    return 0;
}

/* ---- compile ----------------------------------------------------------------------- */

static int lower_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* A 12-bit hash of three case-folded bytes: the keyword pre-filter. */
static unsigned hash3(int a, int b, int c)
{
    return ((unsigned)lower_ascii(a) * 961u + (unsigned)lower_ascii(b) * 31u +
            (unsigned)lower_ascii(c)) &
           4095u;
}

static void kw3_set(struct pii_scanner *sc, unsigned h)
{
    sc->kw3[h >> 3] |= (uint8_t)(1u << (h & 7));
}

static int add_kw(struct pii_scanner *sc, size_t *cap, uint16_t rule, const char *w, size_t len,
                  int nocase, struct assay_error *err)
{
    if (len < 2 || len >= sizeof(((struct kw_entry *)0)->word))
        return err_set(err, ASSAY_EFAIL, "detector '%s': keyword length %zu out of range",
                       pii_rules[rule].id, len);
    if (len >= 3) {
        kw3_set(sc, hash3((unsigned char)w[0], (unsigned char)w[1], (unsigned char)w[2]));
    } else {
        /* two-letter keywords (titles): what can follow them in a pattern */
        static const char follow[] = ". \t\nsS";
        for (const char *f = follow; *f; f++)
            kw3_set(sc, hash3((unsigned char)w[0], (unsigned char)w[1], (unsigned char)*f));
    }
    int v0[2] = {(unsigned char)w[0], (unsigned char)w[0]};
    int v1[2] = {(unsigned char)w[1], (unsigned char)w[1]};
    if (nocase) {
        v0[0] = lower_ascii(v0[0]);
        v0[1] = v0[0] >= 'a' && v0[0] <= 'z' ? v0[0] - 32 : v0[0];
        v1[0] = lower_ascii(v1[0]);
        v1[1] = v1[0] >= 'a' && v1[0] <= 'z' ? v1[0] - 32 : v1[0];
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            if ((i && v0[1] == v0[0]) || (j && v1[1] == v1[0]))
                continue;
            if (sc->n_kw == *cap) {
                size_t ncap = *cap ? *cap * 2 : 64;
                struct kw_entry *k = mem_realloc_array(sc->kw, ncap, sizeof(*k));
                if (!k)
                    return err_set(err, ASSAY_ENOMEM, "out of memory");
                sc->kw = k;
                *cap = ncap;
            }
            struct kw_entry *e = &sc->kw[sc->n_kw++];
            memset(e, 0, sizeof(*e));
            e->pair = (uint16_t)((v0[i] << 8) | v1[j]);
            e->rule = rule;
            e->len = (uint8_t)len;
            e->nocase = (uint8_t)nocase;
            memcpy(e->word, w, len);
            sc->trig[e->pair] |= PII_TRIG_KEYWORD;
        }
    return 0;
}

static void first_bytes(uint8_t first[256], const char *words)
{
    for (const char *p = words; p && *p;) {
        int c = (unsigned char)*p;
        first[c] = 1;
        first[lower_ascii(c)] = 1;
        if (c >= 'a' && c <= 'z')
            first[c - 32] = 1;
        const char *e = strchr(p, '|');
        if (!e)
            break;
        p = e + 1;
    }
}

static int kw_cmp(const void *a, const void *b)
{
    const struct kw_entry *x = a, *y = b;
    if (x->pair != y->pair)
        return x->pair < y->pair ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void build_byte_triggers(struct pii_scanner *sc)
{
    for (int prev = 0; prev < 256; prev++)
        for (int cur = 0; cur < 256; cur++) {
            uint8_t g = 0;
            int cd = cur >= '0' && cur <= '9', pd = prev >= '0' && prev <= '9';
            int p_alpha = (prev | 0x20) >= 'a' && (prev | 0x20) <= 'z';
            /* Number rules refuse a letter, '_', '.' or '-' before them (a word, a decimal,
             * a date's second field), so those digits start nothing for them. */
            /* After ',' too: a list of numbers without spaces ("4111...,5500..."); a
             * thousands group after it has too few digits for any rule but the gated ones. */
            if (cd && !pd && !p_alpha && prev != '_' && prev != '.' && prev != '-')
                g |= PII_TRIG_DIGIT;
            if (cd && p_alpha)
                g |= PII_TRIG_DIGIT_ALPHA;
            if (cur == '@')
                g |= PII_TRIG_AT;
            if (cur == ':')
                g |= PII_TRIG_COLON;
            if ((cur == '-' || cur == '.') && is_hex(prev))
                g |= PII_TRIG_DASH;
            sc->trig[(prev << 8) | cur] |= g;
        }
}

int pii_scanner_new(struct pii_scanner **out, const struct pii_config *cfg, struct assay_error *err)
{
    *out = NULL;
    int rc = 0;
    size_t kw_cap = 0;
    struct pii_scanner *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    if (cfg)
        sc->cfg = *cfg;
    if (!sc->cfg.types)
        sc->cfg.types = ((uint64_t)1 << PII_TYPE_COUNT) - 1;
    if (!sc->cfg.min_likelihood)
        sc->cfg.min_likelihood = PII_LIKELIHOOD_POSSIBLE;
    if (!sc->cfg.match_limit)
        sc->cfg.match_limit = 200000;
    if (!sc->cfg.heap_limit_kib)
        sc->cfg.heap_limit_kib = 1024;
    if (sc->cfg.n_threads <= 0)
        sc->cfg.n_threads = 1;
    if (sc->cfg.n_threads > 256)
        sc->cfg.n_threads = 256;
    if (!sc->cfg.chunk_bytes)
        sc->cfg.chunk_bytes = (size_t)1 << 20;
    if (sc->cfg.min_likelihood < 1 || sc->cfg.min_likelihood > 5) {
        rc = err_set(err, ASSAY_EINVAL, "likelihood %d out of range 1..5", sc->cfg.min_likelihood);
        goto out;
    }
    sc->rt = calloc(pii_n_rules, sizeof(*sc->rt));
    for (int g = 0; g < 8; g++)
        sc->group_rules[g] = calloc(pii_n_rules, sizeof(uint16_t));
    sc->mctx = pcre2_match_context_create(NULL);
    if (!sc->rt || !sc->mctx) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (int g = 0; g < 8; g++)
        if (!sc->group_rules[g]) {
            rc = err_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
    pcre2_set_match_limit(sc->mctx, sc->cfg.match_limit);
    pcre2_set_depth_limit(sc->mctx, sc->cfg.match_limit);
    pcre2_set_heap_limit(sc->mctx, sc->cfg.heap_limit_kib);
    build_byte_triggers(sc);
    first_bytes(sc->anti_first, pii_anti_context);

    for (size_t r = 0; r < pii_n_rules; r++) {
        const struct pii_rule *ru = &pii_rules[r];
        struct rule_rt *rt = &sc->rt[r];
        if (!(sc->cfg.types & ((uint64_t)1 << ru->type)))
            continue;
        int best = ru->need_context ? ru->with_context
                                    : (ru->with_context > ru->base ? ru->with_context : ru->base);
        if (best < sc->cfg.min_likelihood)
            continue;
        int ecode;
        PCRE2_SIZE eoff;
        rt->code = pcre2_compile((PCRE2_SPTR)ru->pattern, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_ANCHORED |
                                     PCRE2_DUPNAMES,
                                 &ecode, &eoff, NULL);
        if (!rt->code) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ecode, msg, sizeof(msg));
            rc = err_set(err, ASSAY_EFAIL, "detector '%s': pattern offset %zu: %s", ru->id,
                         (size_t)eoff, (const char *)msg);
            goto out;
        }
        /* No JIT on this platform is not an error: the interpreter gives the same answers. */
        (void)pcre2_jit_compile(rt->code, PCRE2_JIT_COMPLETE);
        int v = pcre2_substring_number_from_name(rt->code, (PCRE2_SPTR) "v");
        rt->v_group = v > 0 ? v : 0;
        if (ru->back)
            for (const char *b = ru->back; *b; b++)
                rt->back[(unsigned char)*b] = 1;
        first_bytes(rt->ctx_first, ru->context);
        rt->enabled = 1;
        for (int g = 0; g < 8; g++)
            if ((ru->trig & (1u << g)) && (1u << g) != PII_TRIG_KEYWORD)
                sc->group_rules[g][sc->n_group_rules[g]++] = (uint16_t)r;
        if (ru->trig & PII_TRIG_KEYWORD) {
            const char *p = ru->keywords;
            while (p && *p) {
                const char *e = strchr(p, '|');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                rc = add_kw(sc, &kw_cap, (uint16_t)r, p, n, ru->keywords_nocase, err);
                if (rc)
                    goto out;
                p += n;
                if (*p == '|')
                    p++;
            }
        }
    }
    if (sc->n_kw)
        qsort(sc->kw, sc->n_kw, sizeof(*sc->kw), kw_cmp);
    /* Digit rules by the digits they need, so a short number stops the loop early. */
    for (size_t a = 1; a < sc->n_group_rules[0]; a++)
        for (size_t b = a; b > 0; b--) {
            uint16_t *g = sc->group_rules[0];
            if (pii_rules[g[b - 1]].min_digits <= pii_rules[g[b]].min_digits)
                break;
            uint16_t t = g[b - 1];
            g[b - 1] = g[b];
            g[b] = t;
        }
    for (int d = 0; d < 50; d++) {
        size_t k = 0;
        while (k < sc->n_group_rules[0] && pii_rules[sc->group_rules[0][k]].min_digits <= d)
            k++;
        sc->n_digit_upto[d] = (uint8_t)k;
    }
    /* Byte groups no enabled rule listens to are cleared, so the trigger pass skips them. */
    uint8_t used = PII_TRIG_KEYWORD;
    for (int g = 0; g < 8; g++)
        if (sc->n_group_rules[g])
            used |= (uint8_t)(1u << g);
    for (size_t i = 0; i < 65536; i++)
        sc->trig[i] &= used;
    *out = sc;
    return 0;
out:
    pii_scanner_free(sc);
    return rc;
}

void pii_scanner_free(struct pii_scanner *sc)
{
    if (!sc)
        return;
    if (sc->rt)
        for (size_t r = 0; r < pii_n_rules; r++)
            pcre2_code_free(sc->rt[r].code);
    free(sc->rt);
    for (int g = 0; g < 8; g++)
        free(sc->group_rules[g]);
    free(sc->kw);
    pcre2_match_context_free(sc->mctx);
    free(sc);
}

int pii_scanner_threads(const struct pii_scanner *sc)
{
    return sc->cfg.n_threads;
}

size_t pii_scanner_chunk_bytes(const struct pii_scanner *sc)
{
    return sc->cfg.chunk_bytes;
}

/* ---- scratch ----------------------------------------------------------------------- */

int pii_scratch_new(struct pii_scratch **out, const struct pii_scanner *sc, struct assay_error *err)
{
    *out = NULL;
    struct pii_scratch *x = calloc(1, sizeof(*x));
    if (!x)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    x->md = pcre2_match_data_create(16, NULL);
    x->last_anchor = mem_alloc_array(pii_n_rules, sizeof(int64_t));
    /* 512 KiB of JIT stack per thread: enough for every pattern here within match_limit
     * (PCRE2's default is 32 KiB on the machine stack). A stack belongs to one thread at a
     * time, so each scratch gets its own copy of the scanner's match context (the same
     * match and heap limits; JIT honours the match limit, the interpreter all three) with
     * the stack assigned. A match that needs more stack fails with
     * PCRE2_ERROR_JIT_STACKLIMIT and is counted as a limit hit. */
    x->jit_stack = pcre2_jit_stack_create(32 << 10, 512 << 10, NULL);
    x->mctx = pcre2_match_context_copy(sc->mctx);
    if (!x->md || !x->last_anchor || !x->jit_stack || !x->mctx) {
        pii_scratch_free(x);
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    }
    pcre2_jit_stack_assign(x->mctx, NULL, x->jit_stack);
    *out = x;
    return 0;
}

void pii_scratch_free(struct pii_scratch *x)
{
    if (!x)
        return;
    pcre2_match_data_free(x->md);
    pcre2_match_context_free(x->mctx);
    pcre2_jit_stack_free(x->jit_stack);
    free(x->last_anchor);
    free(x);
}

uint64_t pii_scratch_take_limit_hits(struct pii_scratch *x)
{
    uint64_t n = x->n_limit_hits;
    x->n_limit_hits = 0;
    return n;
}

uint64_t pii_scratch_take_candidates(struct pii_scratch *x)
{
    uint64_t n = x->n_candidates;
    x->n_candidates = 0;
    return n;
}

/* ---- context ----------------------------------------------------------------------- */

static int is_word_byte(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Is one of the '|'-separated lower-case words in text[a, b) as a whole word (ASCII
 * case ignored; the boundary rule applies only where the word starts / ends with an
 * ASCII letter or digit, so "身份证" is found inside CJK text)? */
static int has_word_at(const char *text, size_t text_len, size_t i, size_t b, const char *words)
{
    const char *p = words;
    while (*p) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 0 && i + n <= b) {
            int wb0 = is_word_byte((unsigned char)p[0]);
            int wb1 = is_word_byte((unsigned char)p[n - 1]);
            {
                if (i + n > b || lower_ascii((unsigned char)text[i]) != (unsigned char)p[0])
                    goto next;
                size_t j = 1;
                while (j < n && lower_ascii((unsigned char)text[i + j]) == (unsigned char)p[j])
                    j++;
                if (j < n)
                    goto next;
                if (wb0 && i > 0 && is_word_byte((unsigned char)text[i - 1]))
                    goto next;
                if (wb1 && i + n < text_len && is_word_byte((unsigned char)text[i + n]))
                    goto next;
                return 1;
            }
        }
    next:
        p += n;
        if (*p == '|')
            p++;
    }
    return 0;
}

static int has_context(const char *text, size_t text_len, size_t a, size_t b, const char *words,
                       const uint8_t first[256])
{
    for (size_t i = a; i < b; i++)
        if (first[(unsigned char)text[i]] && has_word_at(text, text_len, i, b, words))
            return 1;
    return 0;
}

/* Digits in the number run starting at h: digits and separators ( -./()+), at most two
 * separators in a row, 48 bytes at most. A necessary condition for the digit rules. */
static int digit_run(const char *t, size_t len, size_t h)
{
    int d = 0, sep = 0;
    for (size_t i = h; i < len && i - h < 48; i++) {
        int c = (unsigned char)t[i];
        if (c >= '0' && c <= '9') {
            d++;
            sep = 0;
        } else if (c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' ||
                   c == '+') {
            if (++sep > 2)
                break;
        } else {
            break;
        }
    }
    return d;
}

/* ---- the candidate loop ------------------------------------------------------------ */

static int is_limit_error(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
           rc == PCRE2_ERROR_NOMEMORY;
}

/* Try rule r anchored where a walk back from p leads. */
static int try_rule(const struct pii_scanner *sc, struct pii_scratch *x, size_t r, const char *text,
                    size_t text_len, size_t p, size_t own_b, size_t own_e, struct pii_findings *out,
                    struct assay_error *err)
{
    const struct pii_rule *ru = &pii_rules[r];
    const struct rule_rt *rt = &sc->rt[r];
    size_t s = p;
    size_t lim = p > (size_t)ru->max_back ? p - (size_t)ru->max_back : 0;
    while (s > lim && rt->back[(unsigned char)text[s - 1]])
        s--;
    if (s < own_b || s >= own_e || (int64_t)s == x->last_anchor[r])
        return 0;
    x->last_anchor[r] = (int64_t)s;
    if (p - s < (size_t)ru->min_back || (ru->gate && !ru->gate(text, s, text_len)))
        return 0;
    /* The subject: a little before s for lookbehind, max_len (+ lookahead) after. */
    size_t sub_b = s > PII_LOOKBEHIND ? s - PII_LOOKBEHIND : 0;
    size_t sub_e = s + (size_t)ru->max_len + 16;
    if (sub_e > text_len)
        sub_e = text_len;
    x->n_candidates++;
    int mrc;
    mrc = pcre2_match(rt->code, (PCRE2_SPTR)(text + sub_b), sub_e - sub_b, s - sub_b, 0, x->md,
                      x->mctx);
    if (mrc < 0) {
        if (is_limit_error(mrc))
            x->n_limit_hits++;
        return 0;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
    int g =
        rt->v_group && rt->v_group < mrc && ov[2 * rt->v_group] != PCRE2_UNSET ? rt->v_group : 0;
    size_t fs = sub_b + ov[2 * g], fe = sub_b + ov[2 * g + 1];
    if (fe <= fs)
        return 0;
    int verdict = PII_VERDICT_NONE;
    if (ru->validate) {
        if (!ru->validate(text + fs, fe - fs))
            return 0;
        verdict = PII_VERDICT_VALID;
    }
    int like = ru->base;
    size_t ca = fs > PII_CTX_BEFORE ? fs - PII_CTX_BEFORE : 0;
    size_t cb = fe + PII_CTX_AFTER < text_len ? fe + PII_CTX_AFTER : text_len;
    int ctx = 0;
    if (ru->context)
        ctx = has_context(text, text_len, ca, fs, ru->context, rt->ctx_first) ||
              has_context(text, text_len, fe, cb, ru->context, rt->ctx_first);
    if (ctx) {
        like = ru->with_context ? ru->with_context : like + 1;
    } else {
        if (ru->need_context)
            return 0;
        size_t aa = fs > PII_ANTI_BEFORE ? fs - PII_ANTI_BEFORE : 0;
        /* Only on the number's own line: "SSN ...\n4111..." is no reason to doubt a card. */
        for (size_t k = fs; k > aa; k--)
            if (text[k - 1] == '\n') {
                aa = k;
                break;
            }
        if ((ru->trig & PII_TRIG_DIGIT) &&
            has_context(text, text_len, aa, fs, pii_anti_context, sc->anti_first))
            like -= 2;
    }
    if (like > PII_LIKELIHOOD_VERY_LIKELY)
        like = PII_LIKELIHOOD_VERY_LIKELY;
    if (like < sc->cfg.min_likelihood)
        return 0;
    struct pii_finding f = {
        .start = fs,
        .end = fe,
        .type = (uint8_t)ru->type,
        .likelihood = (uint8_t)like,
        .severity = (uint8_t)pii_type_severity(ru->type),
        .verdict = (uint8_t)verdict,
        .detector = (uint16_t)r,
    };
    return pii_findings_push(out, &f, err);
}

static int try_keywords(const struct pii_scanner *sc, struct pii_scratch *x, const char *text,
                        size_t text_len, size_t h, size_t own_b, size_t own_e,
                        struct pii_findings *out, struct assay_error *err)
{
    size_t k0 = h - 1; /* the keyword starts at the pair's first byte */
    if (h + 1 >= text_len)
        return 0;
    unsigned h3 =
        hash3((unsigned char)text[k0], (unsigned char)text[h], (unsigned char)text[h + 1]);
    if (!(sc->kw3[h3 >> 3] & (1u << (h3 & 7))))
        return 0;
    uint16_t pair = (uint16_t)(((unsigned char)text[k0] << 8) | (unsigned char)text[h]);
    size_t lo = 0, hi = sc->n_kw;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sc->kw[mid].pair < pair)
            lo = mid + 1;
        else
            hi = mid;
    }
    int last_rule = -1;
    for (size_t i = lo; i < sc->n_kw && sc->kw[i].pair == pair; i++) {
        const struct kw_entry *e = &sc->kw[i];
        if (e->rule == last_rule || k0 + e->len > text_len)
            continue;
        int eq;
        if (e->nocase) {
            eq = 1;
            for (size_t j = 2; j < e->len && eq; j++)
                eq = lower_ascii((unsigned char)text[k0 + j]) ==
                     lower_ascii((unsigned char)e->word[j]);
        } else {
            eq = memcmp(text + k0 + 2, e->word + 2, e->len - 2u) == 0;
        }
        if (!eq)
            continue;
        last_rule = e->rule;
        int rc = try_rule(sc, x, e->rule, text, text_len, k0, own_b, own_e, out, err);
        if (rc)
            return rc;
    }
    return 0;
}

int pii_scan_range(const struct pii_scanner *sc, struct pii_scratch *x, const char *text,
                   size_t text_len, size_t own_b, size_t own_e, struct pii_findings *out,
                   struct assay_error *err)
{
    for (size_t r = 0; r < pii_n_rules; r++)
        x->last_anchor[r] = -1;
    /* A hit at h can anchor up to PII_MAX_BACK bytes before it, so hits are looked for
     * past own_e; anchors outside [own_b, own_e) are left to the neighbour chunk. */
    size_t h_end = own_e + PII_MAX_BACK + 1;
    if (h_end > text_len)
        h_end = text_len;
    const uint8_t *t = (const uint8_t *)text;
    const uint8_t *trig = sc->trig;
    size_t h = own_b;
    unsigned prev = h > 0 ? t[h - 1] : 0;
    while (h < h_end) {
        /* The hot loop: one table load per byte; most text never leaves it. */
        uint8_t g = 0;
        while (h < h_end) {
            unsigned cur = t[h];
            g = trig[(prev << 8) | cur];
            prev = cur;
            if (g)
                break;
            h++;
        }
        if (h >= h_end)
            break;
        for (int gi = 0; gi < 8; gi++) {
            unsigned bit = 1u << gi;
            if (!(g & bit))
                continue;
            int rc = 0;
            if (bit == PII_TRIG_KEYWORD) {
                if (h > 0)
                    rc = try_keywords(sc, x, text, text_len, h, own_b, own_e, out, err);
            } else if (bit == PII_TRIG_DIGIT) {
                size_t n_r = sc->n_digit_upto[digit_run(text, text_len, h)];
                for (size_t i = 0; i < n_r && !rc; i++)
                    rc = try_rule(sc, x, sc->group_rules[gi][i], text, text_len, h, own_b, own_e,
                                  out, err);
            } else if (bit == PII_TRIG_DIGIT_ALPHA) {
                int d = digit_run(text, text_len, h);
                for (size_t i = 0; i < sc->n_group_rules[gi] && !rc; i++)
                    if (pii_rules[sc->group_rules[gi][i]].min_digits <= d)
                        rc = try_rule(sc, x, sc->group_rules[gi][i], text, text_len, h, own_b,
                                      own_e, out, err);
            } else {
                for (size_t i = 0; i < sc->n_group_rules[gi] && !rc; i++)
                    rc = try_rule(sc, x, sc->group_rules[gi][i], text, text_len, h, own_b, own_e,
                                  out, err);
            }
            if (rc)
                return rc;
        }
        h++;
    }
    return 0;
}
