/*
 * engine/kern_avx512.c - the kernels of kern_avx2.c compiled again for AVX-512 with
 * VNNI: the integer dot product becomes one vpdpbusd (no int16 saturation step) and
 * tiles are 4 rows x 4 tokens (32 vector registers). See kern_avx2.c for the design.
 */
#if defined(__x86_64__) || defined(__i386__)
#define KX_LEVEL 512
#include "kern_avx2.c"
#else
/* keep the translation unit non-empty on other targets (ISO C) */
typedef int kern_avx512_unused;
#endif
