/*
 * memorization/mem_match.c - comparing a generated continuation with the true one: token
 * Levenshtein distance, longest common prefix, exact / approximate, and the Wilson
 * interval of a rate. Pure functions; the only allocation is the distance's row buffer.
 */
#include "memorization/mem.h"

#include <math.h>
#include <stdlib.h>

#include "base/mem.h"

size_t mem_lcp(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

int64_t mem_edit_distance(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    if (na == 0)
        return (int64_t)nb;
    if (nb == 0)
        return (int64_t)na;
    /* one row of the dynamic programme over b, O(na*nb) time, O(nb) space */
    int64_t stack_row[1025];
    int64_t *row = nb < 1025 ? stack_row : mem_alloc_array(nb + 1, sizeof(int64_t));
    if (!row)
        return -1;
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int64_t)j;
    for (size_t i = 1; i <= na; i++) {
        int64_t diag = row[0];
        row[0] = (int64_t)i;
        for (size_t j = 1; j <= nb; j++) {
            int64_t up = row[j];
            int64_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    int64_t d = row[nb];
    if (row != stack_row)
        free(row);
    return d;
}

void mem_compare(struct mem_match *out, const int32_t *gen, size_t n_gen, const int32_t *truth,
                 size_t n_true, double approx_frac)
{
    out->edit_distance = mem_edit_distance(gen, n_gen, truth, n_true);
    out->lcp = (int64_t)mem_lcp(gen, n_gen, truth, n_true);
    out->exact = n_gen == n_true && out->lcp == (int64_t)n_true;
    /* inclusive bound: 5 of 50 at 10% (EVAL-NOTES section 4); the small epsilon keeps
     * 0.1 * 50 = 5.000000000000001 from excluding 5 */
    out->approximate = out->exact || (out->edit_distance >= 0 &&
                                      (double)out->edit_distance <=
                                          approx_frac * (double)n_true + 1e-9);
    if (n_true == 0 || out->edit_distance < 0) {
        out->score = 0;
    } else {
        double s = 1.0 - (double)out->edit_distance / (double)n_true;
        out->score = s < 0 ? 0 : s;
    }
}

void mem_wilson(int64_t k, int64_t n, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = *hi = NAN;
        return;
    }
    const double z = 1.959963984540054;
    double nn = (double)n, p = (double)k / nn, z2 = z * z;
    double denom = 1.0 + z2 / nn;
    double center = (p + z2 / (2.0 * nn)) / denom;
    double half = z * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;
    /* the bounds at k = 0 and k = n are exactly 0 and 1; rounding would leave 1e-18 */
    *lo = k <= 0 || center - half < 0 ? 0 : center - half;
    *hi = k >= n || center + half > 1 ? 1 : center + half;
}
