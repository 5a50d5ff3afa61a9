/*
 * evals/metric.c - see metric.h. Formulas from EVAL-NOTES.md (lm-eval
 * lm_eval/api/metrics.py, openai/human-eval estimate_pass_at_k, gsm8k.yaml filters).
 */
#include "evals/metric.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

void metric_acc_add(struct metric_acc *a, double x)
{
    a->n++;
    double d = x - a->mean;
    a->mean += d / (double)a->n;
    a->m2 += d * (x - a->mean);
}

double metric_acc_mean(const struct metric_acc *a)
{
    return a->n ? a->mean : NAN;
}

double metric_acc_stderr(const struct metric_acc *a)
{
    if (a->n < 2)
        return NAN;
    double var = a->m2 / (double)(a->n - 1);
    return sqrt(var / (double)a->n);
}

void metric_mean_stderr(const double *x, size_t n, double *mean, double *se)
{
    struct metric_acc a = {0};
    for (size_t i = 0; i < n; i++)
        metric_acc_add(&a, x[i]);
    *mean = metric_acc_mean(&a);
    *se = metric_acc_stderr(&a);
}

int metric_argmax(const double *v, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]) && (best < 0 || v[i] > v[best]))
            best = i;
    return best;
}

int metric_argmax_norm(const double *ll, const int64_t *len, int n)
{
    int best = -1;
    double bv = 0;
    for (int i = 0; i < n; i++) {
        double v = ll[i] / (double)(len[i] > 0 ? len[i] : 1);
        if (!isnan(v) && (best < 0 || v > bv)) {
            best = i;
            bv = v;
        }
    }
    return best;
}

double metric_mc2(const double *ll, const int8_t *labels, int n)
{
    if (n <= 0)
        return NAN;
    double mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (ll[i] > mx)
            mx = ll[i];
    if (!isfinite(mx))
        return NAN;
    double t = 0, all = 0;
    for (int i = 0; i < n; i++) {
        double p = exp(ll[i] - mx);
        all += p;
        if (labels[i])
            t += p;
    }
    return t / all;
}

double metric_pooled_stderr(const int64_t *n, const double *se, int k)
{
    double ss = 0, total = 0;
    for (int i = 0; i < k; i++) {
        if (isnan(se[i]))
            return NAN;
        ss += (double)(n[i] - 1) * (double)n[i] * se[i] * se[i];
        total += (double)n[i];
    }
    if (total <= k)
        return NAN;
    return sqrt(ss / (total - k) / total);
}

/* ---- GSM8K ------------------------------------------------------------------------ */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool in_flex_class(char c) /* [$0-9.,] */
{
    return is_digit(c) || c == '$' || c == '.' || c == ',';
}

static bool in_strict_class(char c) /* [0-9\.\,] */
{
    return is_digit(c) || c == '.' || c == ',';
}

static bool py_space(unsigned char c) /* str.strip() on ASCII */
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

static void put_stripped(const char *s, size_t n, char *out, size_t cap)
{
    while (n && py_space((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && py_space((unsigned char)s[n - 1]))
        n--;
    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static void put_invalid(char *out, size_t cap)
{
    put_stripped("[invalid]", 9, out, cap);
}

void metric_gsm8k_strict(const char *text, char *out, size_t cap)
{
    const char *p = text;
    while ((p = strstr(p, "#### ")) != NULL) {
        const char *q = p + 5, *start = q;
        if (*q == '-' && in_strict_class(q[1]))
            q++;
        size_t n = 0;
        while (in_strict_class(q[n]))
            n++;
        if (n > 0) {
            put_stripped(start, (size_t)(q - start) + n, out, cap);
            return;
        }
        p++;
    }
    put_invalid(out, cap);
}

/* Match (-?[$0-9.,]{2,})|(-?[0-9]+) at s, Python's leftmost-first alternation: the
 * first alternative with and then without the '-', then the second likewise. Returns
 * the match length, 0 when none. */
static size_t flex_match_at(const char *s)
{
    for (int neg = 1; neg >= 0; neg--) { /* -? is greedy: try with it first */
        if (neg && s[0] != '-')
            continue;
        size_t n = 0;
        while (in_flex_class(s[neg + n]))
            n++;
        if (n >= 2)
            return (size_t)neg + n;
    }
    for (int neg = 1; neg >= 0; neg--) {
        if (neg && s[0] != '-')
            continue;
        size_t n = 0;
        while (is_digit(s[neg + n]))
            n++;
        if (n >= 1)
            return (size_t)neg + n;
    }
    return 0;
}

void metric_gsm8k_cot_strict(const char *text, char *out, size_t cap)
{
    static const char lead[] = "The answer is ";
    const char *p = text;
    while ((p = strstr(p, lead)) != NULL) {
        const char *start = p + sizeof(lead) - 1, *q = start;
        if (*q == '-')
            q++;
        size_t n = 0;
        while (in_strict_class(q[n]))
            n++;
        /* the pattern's final "." needs one more character that is not a newline; when
         * there is none, the greedy group gives its last character back */
        if (n >= 1 && q[n] != '\0' && q[n] != '\n') {
            put_stripped(start, (size_t)(q - start) + n, out, cap);
            return;
        }
        if (n >= 2) {
            put_stripped(start, (size_t)(q - start) + n - 1, out, cap);
            return;
        }
        p++;
    }
    put_invalid(out, cap);
}

void metric_gsm8k_flexible(const char *text, char *out, size_t cap)
{
    const char *best = NULL;
    size_t best_n = 0;
    for (const char *p = text; *p;) {
        size_t n = flex_match_at(p);
        if (n) {
            best = p;
            best_n = n;
            p += n;
        } else {
            p++;
        }
    }
    if (!best)
        put_invalid(out, cap);
    else
        put_stripped(best, best_n, out, cap);
}

static void delete_chars(char *s, char c)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (*r != c)
            *w++ = *r;
    *w = '\0';
}

void metric_gsm8k_normalize(char *s)
{
    delete_chars(s, ',');
    delete_chars(s, '$');
    /* (?s).*#### : greedy, so up to the last "#### " */
    char *last = NULL;
    for (char *p = strstr(s, "#### "); p; p = strstr(p + 1, "#### "))
        last = p;
    if (last)
        memmove(s, last + 5, strlen(last + 5) + 1);
    /* \.$ : a '.' at the end, or just before a final newline */
    size_t n = strlen(s);
    if (n >= 1 && s[n - 1] == '.')
        s[n - 1] = '\0';
    else if (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '.')
        memmove(s + n - 2, s + n - 1, 2);
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

void metric_wilson(int64_t k, int64_t n, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = NAN;
        *hi = NAN;
        return;
    }
    const double z = 1.95996398454;
    double p = (double)k / (double)n, nn = (double)n;
    double den = 1.0 + z * z / nn;
    double centre = (p + z * z / (2 * nn)) / den;
    double half = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
    *lo = centre - half;
    *hi = centre + half;
}
