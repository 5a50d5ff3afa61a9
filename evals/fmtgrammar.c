/*
 * evals/fmtgrammar.c - see fmtgrammar.h. The axes are tables; building a format copies
 * (and cases) strings into the struct fmtg_fmt. The value-0 strings are those of
 * evals/fmt.c's "mmlu_default" row (lm-eval's _default_template_yaml).
 */
#include "evals/fmtgrammar.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

const char fmtg_axis_keys[FMTG_N_AXES + 1] = "tiunwqlpcao";

static const int axis_size[FMTG_N_AXES] = {2, 3, 3, 5, 2, 3, 5, 2, 2, 3, 4};

static const char *const instr_text[] = {
    "The following are multiple choice questions (with answers) about {subject}.\n\n",
    "",
    "Answer the following multiple choice questions about {subject}.\n\n",
};
static const char *const instr_desc[] = {"lm-eval instruction", "no instruction",
                                         "'Answer the following' instruction"};
static const char *const case_desc[] = {"as written", "UPPER", "lower"};
static const char *const shots_desc[] = {"K shots", "0-shot", "1-shot", "K random shots seed+1",
                                         "K random shots seed+2"};
static const char *const qprefix_text[] = {"", "Question: ", "Q: "};
static const char *const qprefix_desc[] = {"no question prefix", "'Question: '", "'Q: '"};

struct label_style {
    const char *labels, *open, *close; /* close: punctuation after the label in the listing */
    const char *t_open, *t_close;      /* around the label as a target */
    const char *desc;
    bool numbers; /* labels 1 2 ... 10 11 ... (struct fmt label_numbers); labels is "" */
};
/* Letters stop at Z / z (26: a 27th choice is an error naming the item); numbers do not
 * stop, but a sweep plan refuses documents past SWEEP_MAX_POS (26) for every style. */
static const struct label_style label_styles[] = {
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "", ".", "", "", "A.", false},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "(", ")", "(", ")", "(A)", false},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "", ")", "", "", "A)", false},
    {"", "", ".", "", "", "1.", true},
    {"abcdefghijklmnopqrstuvwxyz", "", ".", "", "", "a.", false},
};
static const char *const sep_text[] = {" ", "\t"};
static const char *const sep_desc[] = {"space", "tab"};
static const char *const answer_text[] = {"\nAnswer:", "\nThe answer is", "\n"};
static const char *const answer_desc[] = {"'Answer:'", "'The answer is'", "no answer prefix"};

int fmtg_axis_size(int a)
{
    return a >= 0 && a < FMTG_N_AXES ? axis_size[a] : 0;
}

uint64_t fmtg_count(void)
{
    uint64_t n = 1;
    for (int a = 0; a < FMTG_N_AXES; a++)
        n *= (uint64_t)axis_size[a];
    return n;
}

void fmtg_from_index(uint64_t idx, struct fmtg_spec *out)
{
    for (int a = FMTG_N_AXES - 1; a >= 0; a--) {
        out->v[a] = (uint8_t)(idx % (uint64_t)axis_size[a]);
        idx /= (uint64_t)axis_size[a];
    }
}

uint64_t fmtg_index(const struct fmtg_spec *s)
{
    uint64_t idx = 0;
    for (int a = 0; a < FMTG_N_AXES; a++)
        idx = idx * (uint64_t)axis_size[a] + s->v[a];
    return idx;
}

void fmtg_id(const struct fmtg_spec *s, char *out)
{
    size_t k = 0;
    for (int a = 0; a < FMTG_N_AXES; a++)
        k += (size_t)snprintf(out + k, FMTG_ID_MAX - k, "%c%u", fmtg_axis_keys[a], s->v[a]);
}

int fmtg_parse(const char *id, struct fmtg_spec *out, struct assay_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *p = id;
    int last = -1;
    if (!*p)
        return err_set(err, ASSAY_EINVAL, "empty format id");
    while (*p) {
        const char *k = strchr(fmtg_axis_keys, *p);
        int a = k && *p ? (int)(k - fmtg_axis_keys) : -1;
        if (a < 0)
            return err_set(err, ASSAY_EINVAL, "format '%s': unknown axis '%c' (axes: %s)", id, *p,
                           fmtg_axis_keys);
        if (a <= last)
            return err_set(err, ASSAY_EINVAL, "format '%s': axis '%c' out of order (order: %s)", id,
                           *p, fmtg_axis_keys);
        p++;
        if (!isdigit((unsigned char)*p))
            return err_set(err, ASSAY_EINVAL, "format '%s': axis '%c' has no value", id,
                           fmtg_axis_keys[a]);
        int v = 0;
        while (isdigit((unsigned char)*p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        if (v >= axis_size[a])
            return err_set(err, ASSAY_EINVAL, "format '%s': axis '%c' value %d: at most %d", id,
                           fmtg_axis_keys[a], v, axis_size[a] - 1);
        out->v[a] = (uint8_t)v;
        last = a;
    }
    return 0;
}

void fmtg_describe(const struct fmtg_spec *s, char *out, size_t n)
{
    snprintf(out, n,
             "chat %s; %s; casing %s; %s; %s between shots; %s; labels %s; %s after label; "
             "choices %s; %s; shift %u",
             s->v[0] ? "on" : "off", instr_desc[s->v[1]], case_desc[s->v[2]], shots_desc[s->v[3]],
             s->v[4] ? "one newline" : "blank line", qprefix_desc[s->v[5]],
             label_styles[s->v[6]].desc, sep_desc[s->v[7]], s->v[8] ? "inline" : "on lines",
             answer_desc[s->v[9]], s->v[10]);
}

void fmtg_shots(const struct fmtg_spec *s, int *shots, int *seed_add)
{
    static const int n[] = {-1, 0, 1, -1, -1};
    static const int add[] = {0, 0, 0, 1, 2};
    *shots = n[s->v[3]];
    *seed_add = add[s->v[3]];
}

/* Copy src into dst[n] with the casing of axis u, leaving "{subject}" alone. */
static void cased(char *dst, size_t n, const char *src, int casing)
{
    size_t k = 0;
    for (const char *p = src; *p && k + 1 < n; p++) {
        if (casing && strncmp(p, "{subject}", 9) == 0 && k + 9 < n) {
            memcpy(dst + k, p, 9);
            k += 9;
            p += 8;
            continue;
        }
        unsigned char c = (unsigned char)*p;
        dst[k++] = (char)(casing == 1 ? toupper(c) : casing == 2 ? tolower(c) : c);
    }
    dst[k] = '\0';
}

void fmtg_build(const struct fmtg_spec *s, struct fmtg_fmt *out)
{
    memset(out, 0, sizeof(*out));
    out->spec = *s;
    fmtg_id(s, out->id);
    const struct label_style *ls = &label_styles[s->v[6]];
    int casing = s->v[2];
    cased(out->description, sizeof(out->description), instr_text[s->v[1]], casing);
    cased(out->question_prefix, sizeof(out->question_prefix), qprefix_text[s->v[5]], casing);
    cased(out->answer_prefix, sizeof(out->answer_prefix), answer_text[s->v[9]], casing);
    snprintf(out->label_sep, sizeof(out->label_sep), "%s%s", ls->close, sep_text[s->v[7]]);
    struct fmt *f = &out->f;
    f->id = out->id;
    f->layout = FMT_LAYOUT_QA;
    f->description = out->description;
    f->preamble = "";
    f->passage_sep = "\n";
    f->question_prefix = out->question_prefix;
    f->question_suffix = "";
    f->strip_question = true;
    f->choice_labels = ls->labels;
    f->choice_prefix = s->v[8] ? " " : "\n";
    f->label_sep = out->label_sep;
    f->answer_prefix = out->answer_prefix;
    f->target_is_label = true;
    f->target_delimiter = s->v[9] == 2 ? "" : " ";
    f->fewshot_delimiter = s->v[4] ? "\n" : "\n\n";
    f->label_open = ls->open;
    f->target_open = ls->t_open;
    f->target_close = ls->t_close;
    f->cont_delimiter = s->v[0] ? "" : NULL;
    f->chat = s->v[0] != 0;
    f->choice_shift = s->v[10];
    f->label_numbers = ls->numbers;
}

/* splitmix64 (Steele, Lea, Flood 2014): a seeded stream independent of libc. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int contains(const uint64_t *v, int64_t n, uint64_t x)
{
    for (int64_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

int fmtg_select(int64_t n, uint64_t seed, int cyclic, uint64_t **idx_out, int64_t *n_out,
                struct assay_error *err)
{
    uint64_t total = fmtg_count();
    uint64_t shifts = (uint64_t)axis_size[FMTG_AXIS_ORDER];
    *idx_out = NULL;
    *n_out = 0;
    if (n <= 0 || (uint64_t)n >= total) {
        uint64_t *v = mem_calloc_array((size_t)total, sizeof(*v));
        if (!v)
            return err_set(err, ASSAY_ENOMEM, "out of memory");
        for (uint64_t i = 0; i < total; i++)
            v[i] = i;
        *idx_out = v;
        *n_out = (int64_t)total;
        return 0;
    }
    /* draw from the shift-0 formats (cyclic) or from all */
    uint64_t space = cyclic ? total / shifts : total;
    int64_t draws = cyclic ? (n + (int64_t)shifts - 1) / (int64_t)shifts : n;
    if ((uint64_t)draws > space)
        draws = (int64_t)space;
    uint64_t *v = mem_calloc_array((size_t)draws * (cyclic ? shifts : 1), sizeof(*v));
    if (!v)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    uint64_t state = seed;
    int64_t k = 0;
    v[k++] = 0; /* lm-eval's default is always the reference */
    while (k < draws) {
        uint64_t x = splitmix64(&state) % space; /* bias < space / 2^64: irrelevant here */
        if (!contains(v, k, x))
            v[k++] = x;
    }
    if (cyclic) {
        /* base b (an index among shift-0 formats) is format b * shifts + s */
        for (int64_t i = draws - 1; i >= 0; i--) {
            uint64_t b = v[i];
            for (uint64_t s = 0; s < shifts; s++)
                v[(uint64_t)i * shifts + s] = b * shifts + s;
        }
        k = draws * (int64_t)shifts;
    }
    qsort(v, (size_t)k, sizeof(*v), cmp_u64);
    *idx_out = v;
    *n_out = k;
    return 0;
}

/* ---- families ----------------------------------------------------------------------- */

/* Axes a generation task varies: t u n w q a (see fmtgrammar.h). */
static const uint8_t gen_axes[FMTG_N_AXES] = {1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0};

int fmtg_family_has_axis(enum fmtg_family fam, int a)
{
    if (a < 0 || a >= FMTG_N_AXES)
        return 0;
    return fam == FMTG_FAMILY_GEN ? gen_axes[a] : 1;
}

uint64_t fmtg_family_count(enum fmtg_family fam)
{
    uint64_t n = 1;
    for (int a = 0; a < FMTG_N_AXES; a++)
        if (fmtg_family_has_axis(fam, a))
            n *= (uint64_t)axis_size[a];
    return n;
}

void fmtg_family_default(enum fmtg_family fam, struct fmtg_spec *out)
{
    memset(out, 0, sizeof(*out));
    if (fam == FMTG_FAMILY_GEN)
        out->v[5] = 1; /* lm-eval's gsm8k: "Question: " */
}

int fmtg_family_check(enum fmtg_family fam, const struct fmtg_spec *s, struct assay_error *err)
{
    for (int a = 0; a < FMTG_N_AXES; a++)
        if (!fmtg_family_has_axis(fam, a) && s->v[a] != 0) {
            char id[FMTG_ID_MAX];
            fmtg_id(s, id);
            return err_set(err, ASSAY_EINVAL,
                           "format '%s': axis '%c' does not apply to a generation task (it "
                           "must be 0)",
                           id, fmtg_axis_keys[a]);
        }
    return 0;
}

/* Family index <-> spec: mixed radix over the family's axes, in id order. */
static void family_from_index(enum fmtg_family fam, uint64_t idx, struct fmtg_spec *out)
{
    memset(out, 0, sizeof(*out));
    for (int a = FMTG_N_AXES - 1; a >= 0; a--) {
        if (!fmtg_family_has_axis(fam, a))
            continue;
        out->v[a] = (uint8_t)(idx % (uint64_t)axis_size[a]);
        idx /= (uint64_t)axis_size[a];
    }
}

static uint64_t family_index(enum fmtg_family fam, const struct fmtg_spec *s)
{
    uint64_t idx = 0;
    for (int a = 0; a < FMTG_N_AXES; a++)
        if (fmtg_family_has_axis(fam, a))
            idx = idx * (uint64_t)axis_size[a] + s->v[a];
    return idx;
}

void fmtg_build_family(enum fmtg_family fam, const struct fmtg_spec *s, struct fmtg_fmt *out)
{
    if (fam != FMTG_FAMILY_GEN) {
        fmtg_build(s, out);
        return;
    }
    /* gsm8k_default's fields (evals/fmt.c) with the template words of the axes */
    memset(out, 0, sizeof(*out));
    out->spec = *s;
    fmtg_id(s, out->id);
    int casing = s->v[2];
    cased(out->question_prefix, sizeof(out->question_prefix), qprefix_text[s->v[5]], casing);
    cased(out->answer_prefix, sizeof(out->answer_prefix), answer_text[s->v[9]], casing);
    struct fmt *f = &out->f;
    f->id = out->id;
    f->layout = FMT_LAYOUT_QA;
    f->description = out->description; /* "" */
    f->preamble = "";
    f->passage_sep = "";
    f->question_prefix = out->question_prefix;
    f->question_suffix = "";
    f->strip_question = false;
    f->choice_labels = NULL;
    f->choice_prefix = "";
    f->label_sep = out->label_sep; /* "" */
    f->answer_prefix = out->answer_prefix;
    f->target_is_label = false;
    f->target_delimiter = s->v[9] == 2 ? "" : " ";
    f->fewshot_delimiter = s->v[4] ? "\n" : "\n\n";
    f->chat = s->v[0] != 0;
}

void fmtg_describe_family(enum fmtg_family fam, const struct fmtg_spec *s, char *out, size_t n)
{
    if (fam != FMTG_FAMILY_GEN) {
        fmtg_describe(s, out, n);
        return;
    }
    snprintf(out, n, "chat %s; casing %s; %s; %s between shots; %s; %s", s->v[0] ? "on" : "off",
             case_desc[s->v[2]], shots_desc[s->v[3]], s->v[4] ? "one newline" : "blank line",
             qprefix_desc[s->v[5]], answer_desc[s->v[9]]);
}

int fmtg_select_family(enum fmtg_family fam, int64_t n, uint64_t seed, int cyclic,
                       uint64_t **idx_out, int64_t *n_out, struct assay_error *err)
{
    if (fam != FMTG_FAMILY_GEN)
        return fmtg_select(n, seed, cyclic, idx_out, n_out, err);
    *idx_out = NULL;
    *n_out = 0;
    if (cyclic)
        return err_set(err, ASSAY_EUSAGE,
                       "--cyclic: a generation task has no choice-order axis to cycle");
    uint64_t total = fmtg_family_count(fam);
    int64_t k = n <= 0 || (uint64_t)n >= total ? (int64_t)total : n;
    uint64_t *v = mem_calloc_array((size_t)k, sizeof(*v));
    if (!v)
        return err_set(err, ASSAY_ENOMEM, "out of memory");
    struct fmtg_spec sp;
    if ((uint64_t)k == total) {
        for (uint64_t i = 0; i < total; i++)
            v[i] = i;
    } else {
        /* family indices as fmtg_select draws grammar indices; the default first */
        fmtg_family_default(fam, &sp);
        uint64_t state = seed;
        int64_t m = 0;
        v[m++] = family_index(fam, &sp);
        while (m < k) {
            uint64_t x = splitmix64(&state) % total;
            if (!contains(v, m, x))
                v[m++] = x;
        }
    }
    /* family order is grammar order: map to grammar indices, then sort */
    for (int64_t i = 0; i < k; i++) {
        family_from_index(fam, v[i], &sp);
        v[i] = fmtg_index(&sp);
    }
    qsort(v, (size_t)k, sizeof(*v), cmp_u64);
    *idx_out = v;
    *n_out = k;
    return 0;
}
