/* engine/kern_avx2.c - placeholder, replaced by the AVX2 kernels. */
#include "engine/kern_int.h"

#if defined(__x86_64__) || defined(__i386__)
int kern_rows_avx2(float *y, const void *w, int type, const float *x, const struct blk_a8 *act,
                   int64_t n_rows, int64_t n_cols, int64_t n_tok, int64_t r0, int64_t r1)
{
    return -1;
}

int kern_rows_avx512(float *y, const void *w, int type, const float *x,
                     const struct blk_a8 *act, int64_t n_rows, int64_t n_cols, int64_t n_tok,
                     int64_t r0, int64_t r1)
{
    return -1;
}

void kern_quant_a8_avx2(const float *x, struct blk_a8 *y, int64_t n)
{
    kern_quantize_a8_ref(x, y, n);
}
#endif
