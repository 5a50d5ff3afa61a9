/*
 * engine/kern_ops_simd.h - the x86 bodies of kern_ops.c written once for any vector
 * width: kern_ops.c includes this file twice, with KO_W 16 (AVX-512) and KO_W 8
 * (AVX2+FMA), after defining the width's names (see the list below). Not a header of
 * declarations: it defines static functions, and undefines the width macros at its end.
 *
 * The including file defines:
 *  KO(name)        the function name for this width (name_avx512, name_avx2)
 *  VP(name)        the width's primitives (v16_name, v8_name): hsum, hmax, load_part,
 *                  store_part, acc_pd, sum_pd; exp, tanh and gelu are defined here as VP()
 *  KO_W, KO_GB     lanes per vector; value blocks per head in attn_group_chunk (registers)
 *  KO_TARGET, KO_TARGET_INLINE   function attributes
 *  vf, vd          float and double vector types
 *  V_*             one intrinsic each: LOAD STORE SET1 ZERO ADD SUB MUL DIV FMADD FNMADD MAX
 *                  MIN ROUND (to nearest), POW2I (2^n for integral float n), ABS, OR_SIGN
 *                  (t with y's sign bit or'ed in), SEL_LT(a, b, x, y) (a < b ? x : y),
 *                  NAN_PASS(t, y) (y where y is NaN, else t); VD_ZERO
 * Each element's arithmetic is the same at both widths (the same operations in the same
 * order per lane), so AVX-512 and AVX2 give the same values; tests hold both against the
 * scalar reference.
 */

KO_TARGET_INLINE vf VP(exp)(vf x)
{
    x = V_MIN(V_MAX(x, V_SET1(KX_LO)), V_SET1(KX_HI));
    vf n = V_ROUND(V_MUL(x, V_SET1(KX_LOG2E)));
    vf r = V_FNMADD(n, V_SET1(KX_LN2HI), x);
    r = V_FNMADD(n, V_SET1(KX_LN2LO), r);
    vf p = V_SET1(1.0f / 5040.0f);
    p = V_FMADD(p, r, V_SET1(1.0f / 720.0f));
    p = V_FMADD(p, r, V_SET1(1.0f / 120.0f));
    p = V_FMADD(p, r, V_SET1(1.0f / 24.0f));
    p = V_FMADD(p, r, V_SET1(1.0f / 6.0f));
    p = V_FMADD(p, r, V_SET1(0.5f));
    p = V_FMADD(p, r, V_SET1(1.0f));
    p = V_FMADD(p, r, V_SET1(1.0f));
    return V_MUL(p, V_POW2I(n));
}

KO_TARGET_INLINE vf VP(tanh)(vf y)
{
    vf a = V_ABS(y);
    vf z = V_MUL(a, a);
    vf q = V_SET1(KT_C19);
    q = V_FMADD(q, z, V_SET1(KT_C17));
    q = V_FMADD(q, z, V_SET1(KT_C15));
    q = V_FMADD(q, z, V_SET1(KT_C13));
    q = V_FMADD(q, z, V_SET1(KT_C11));
    q = V_FMADD(q, z, V_SET1(KT_C9));
    q = V_FMADD(q, z, V_SET1(KT_C7));
    q = V_FMADD(q, z, V_SET1(KT_C5));
    q = V_FMADD(q, z, V_SET1(KT_C3));
    vf ts = V_FMADD(V_MUL(a, z), q, a);
    vf e = VP(exp)(V_ADD(a, a));
    vf tl = V_SUB(V_SET1(1.0f), V_DIV(V_SET1(2.0f), V_ADD(e, V_SET1(1.0f))));
    vf t = V_SEL_LT(a, V_SET1(KT_SMALL), ts, tl);
    /* Sign of y back on; a NaN passes through. */
    t = V_OR_SIGN(t, y);
    return V_NAN_PASS(t, y);
}

/* gelu_tanh(x) = 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
 * the sigmoid form has no cancellation for negative x. */
KO_TARGET_INLINE vf VP(gelu)(vf x)
{
    vf x2 = V_MUL(x, x);
    vf u = V_MUL(V_MUL(x, V_SET1(KG_K)), V_FMADD(x2, V_SET1(KG_A), V_SET1(1.0f)));
    vf e = VP(exp)(V_MUL(u, V_SET1(-2.0f)));
    vf g = V_DIV(x, V_ADD(e, V_SET1(1.0f)));
    return V_NAN_PASS(g, x);
}

/* x = cap * tanh(x / cap) for n values (this width). */
KO_TARGET static void KO(softcap)(float *x, int64_t n, float cap)
{
    vf c = V_SET1(cap);
    int64_t i = 0;
    for (; i + KO_W <= n; i += KO_W)
        V_STORE(x + i,
                         V_MUL(VP(tanh)(V_DIV(V_LOAD(x + i), c)), c));
    if (i < n)
        VP(store_part)(x + i, V_MUL(VP(tanh)(V_DIV(VP(load_part)(x + i, n - i, 0.0f), c)), c),
                       n - i);
}

/* gate = gelu_tanh(gate) * up for n values (this width). */
KO_TARGET static void KO(geglu)(float *g, const float *u, int64_t n)
{
    int64_t i = 0;
    for (; i + KO_W <= n; i += KO_W)
        V_STORE(g + i,
                         V_MUL(VP(gelu)(V_LOAD(g + i)), V_LOAD(u + i)));
    if (i < n)
        VP(store_part)(g + i,
                       V_MUL(VP(gelu)(VP(load_part)(g + i, n - i, 0.0f)),
                                     VP(load_part)(u + i, n - i, 0.0f)),
                       n - i);
}

/* One key's score: one accumulator over head_dim in VW-wide chunks, then the fixed
 * horizontal sum; the same arithmetic whether the key is in a block of 4 or alone. */
KO_TARGET static void KO(attn_scores)(float *sc, const float *qs,
                                                                  const float *kt, int64_t n_key,
                                                                  int64_t kv_stride, int hd)
{
    int64_t j = 0;
    for (; j + 4 <= n_key; j += 4) {
        const float *k0 = kt + j * kv_stride;
        const float *k1 = k0 + kv_stride;
        const float *k2 = k1 + kv_stride;
        const float *k3 = k2 + kv_stride;
        vf a0 = V_ZERO(), a1 = V_ZERO();
        vf a2 = V_ZERO(), a3 = V_ZERO();
        for (int d = 0; d < hd; d += KO_W) {
            vf qv = V_LOAD(qs + d);
            a0 = V_FMADD(qv, V_LOAD(k0 + d), a0);
            a1 = V_FMADD(qv, V_LOAD(k1 + d), a1);
            a2 = V_FMADD(qv, V_LOAD(k2 + d), a2);
            a3 = V_FMADD(qv, V_LOAD(k3 + d), a3);
        }
        sc[j] = VP(hsum)(a0);
        sc[j + 1] = VP(hsum)(a1);
        sc[j + 2] = VP(hsum)(a2);
        sc[j + 3] = VP(hsum)(a3);
    }
    for (; j < n_key; j++) {
        const float *k0 = kt + j * kv_stride;
        vf a0 = V_ZERO();
        for (int d = 0; d < hd; d += KO_W)
            a0 = V_FMADD(V_LOAD(qs + d), V_LOAD(k0 + d), a0);
        sc[j] = VP(hsum)(a0);
    }
}

/* *m = max of sc[0 .. n), sc[j] = exp(sc[j] - *m) in place; returns their sum (in double,
 * lane-wise in a fixed order). */
KO_TARGET static double KO(attn_exp)(float *sc, int64_t n, float *m_out)
{
    vf mv = V_SET1(-INFINITY);
    int64_t j = 0;
    for (; j + KO_W <= n; j += KO_W)
        mv = V_MAX(mv, V_LOAD(sc + j));
    if (j < n)
        mv = V_MAX(mv, VP(load_part)(sc + j, n - j, -INFINITY));
    *m_out = VP(hmax)(mv);
    vf m = V_SET1(*m_out);
    vd acc[2] = {VD_ZERO(), VD_ZERO()};
    for (j = 0; j + KO_W <= n; j += KO_W) {
        vf e = VP(exp)(V_SUB(V_LOAD(sc + j), m));
        V_STORE(sc + j, e);
        VP(acc_pd)(acc, e);
    }
    if (j < n) {
        /* Lanes past n load -inf - max, whose clamped exp is ~1e-38: zero them. */
        vf e = VP(exp)(V_SUB(VP(load_part)(sc + j, n - j, 0.0f), m));
        VP(store_part)(sc + j, e, n - j);
        float tmp[KO_W] = {0};
        VP(store_part)(tmp, e, n - j);
        VP(acc_pd)(acc, V_LOAD(tmp));
    }
    return VP(sum_pd)(acc);
}

/* o[0 .. NB*VW) = sum_j sc[j] v_j over the chunk's keys in order, NB accumulators. */
#define KO_VSUM(NB)                                                                                \
    do {                                                                                           \
        vf acc[NB];                                                                                \
        for (int b = 0; b < (NB); b++)                                                             \
            acc[b] = V_ZERO();                                                                     \
        for (int64_t j = 0; j < n_key; j++) {                                                      \
            vf pj = V_SET1(sc[j]);                                                                 \
            const float *vr = vt + j * kv_stride + d;                                              \
            for (int b = 0; b < (NB); b++)                                                         \
                acc[b] = V_FMADD(pj, V_LOAD(vr + b * KO_W), acc[b]);                               \
        }                                                                                          \
        for (int b = 0; b < (NB); b++)                                                             \
            V_STORE(o + d + b * KO_W, acc[b]);                                                     \
        d += (NB) * KO_W;                                                                          \
    } while (0)

/* One chunk (n_key <= KERN_ATTN_CHUNK keys) of one head, its partial (kern_ops.c):
 * o = sum_j e_j v_j, e_j = exp(s_j - m), m the chunk's largest score s_j, l = sum_j e_j.
 * qs: the query times scale; kt / vt: the chunk's first key / value row of this KV head;
 * head_dim is a multiple of VW. */
KO_TARGET static void KO(attn_one_chunk)(float *o, float *m, double *l, const float *qs,
                                          const float *kt, const float *vt, int64_t n_key,
                                          int64_t kv_stride, const struct kern_attn_params *p)
{
    int hd = p->head_dim;
    float sc[KERN_ATTN_CHUNK];
    KO(attn_scores)(sc, qs, kt, n_key, kv_stride, hd);
    if (p->softcap > 0.0f)
        KO(softcap)(sc, n_key, p->softcap);
    *l = KO(attn_exp)(sc, n_key, m);
    int d = 0;
    while (d + 8 * KO_W <= hd)
        KO_VSUM(8);
    if (d + 4 * KO_W <= hd)
        KO_VSUM(4);
    if (d + 2 * KO_W <= hd)
        KO_VSUM(2);
    if (d + KO_W <= hd)
        KO_VSUM(1);
}
#undef KO_VSUM

/* One chunk of nq (<= 4) query heads that read the same KV head, together, so each key
 * and value row is loaded once for all of them (GQA). qs: the nq scaled queries, hd
 * apart; o: nq rows of hd; m, l: nq each. Per head the arithmetic is exactly
 * KO(attn_one_chunk)'s (same accumulation order per element). */
KO_TARGET_INLINE void KO(attn_group_chunk_n)(float *o, float *m, double *l, const float *qs,
                                             const float *kt, const float *vt, int64_t n_key,
                                             int64_t kv_stride,
                                             const struct kern_attn_params *p, const int nq)
{
    int hd = p->head_dim;
    float sc[4][KERN_ATTN_CHUNK];
    int64_t j = 0;
    for (; j + 2 <= n_key; j += 2) {
        const float *k0 = kt + j * kv_stride;
        const float *k1 = k0 + kv_stride;
        vf a0[4], a1[4];
        for (int i = 0; i < nq; i++) {
            a0[i] = V_ZERO();
            a1[i] = V_ZERO();
        }
        for (int d = 0; d < hd; d += KO_W) {
            vf kv0 = V_LOAD(k0 + d);
            vf kv1 = V_LOAD(k1 + d);
            for (int i = 0; i < nq; i++) {
                vf qv = V_LOAD(qs + (int64_t)i * hd + d);
                a0[i] = V_FMADD(qv, kv0, a0[i]);
                a1[i] = V_FMADD(qv, kv1, a1[i]);
            }
        }
        for (int i = 0; i < nq; i++) {
            sc[i][j] = VP(hsum)(a0[i]);
            sc[i][j + 1] = VP(hsum)(a1[i]);
        }
    }
    for (; j < n_key; j++) {
        const float *k0 = kt + j * kv_stride;
        for (int i = 0; i < nq; i++) {
            vf a0 = V_ZERO();
            for (int d = 0; d < hd; d += KO_W)
                a0 = V_FMADD(V_LOAD(qs + (int64_t)i * hd + d), V_LOAD(k0 + d), a0);
            sc[i][j] = VP(hsum)(a0);
        }
    }
    for (int i = 0; i < nq; i++) {
        if (p->softcap > 0.0f)
            KO(softcap)(sc[i], n_key, p->softcap);
        l[i] = KO(attn_exp)(sc[i], n_key, &m[i]);
    }
    int d = 0;
    for (; d + KO_GB * KO_W <= hd; d += KO_GB * KO_W) {
        vf acc[4][KO_GB];
        for (int i = 0; i < nq; i++)
            for (int b = 0; b < KO_GB; b++)
                acc[i][b] = V_ZERO();
        for (int64_t jj = 0; jj < n_key; jj++) {
            const float *vr = vt + jj * kv_stride + d;
            vf vv[KO_GB];
            for (int b = 0; b < KO_GB; b++)
                vv[b] = V_LOAD(vr + b * KO_W);
            for (int i = 0; i < nq; i++) {
                vf pj = V_SET1(sc[i][jj]);
                for (int b = 0; b < KO_GB; b++)
                    acc[i][b] = V_FMADD(pj, vv[b], acc[i][b]);
            }
        }
        for (int i = 0; i < nq; i++)
            for (int b = 0; b < KO_GB; b++)
                V_STORE(o + (int64_t)i * hd + d + b * KO_W, acc[i][b]);
    }
    for (; d < hd; d += KO_W) {
        vf acc[4];
        for (int i = 0; i < nq; i++)
            acc[i] = V_ZERO();
        for (int64_t jj = 0; jj < n_key; jj++) {
            vf vv = V_LOAD(vt + jj * kv_stride + d);
            for (int i = 0; i < nq; i++)
                acc[i] = V_FMADD(V_SET1(sc[i][jj]), vv, acc[i]);
        }
        for (int i = 0; i < nq; i++)
            V_STORE(o + (int64_t)i * hd + d, acc[i]);
    }
}

KO_TARGET static void KO(attn_group_chunk)(float *o, float *m, double *l, const float *qs,
                                            const float *kt, const float *vt, int64_t n_key,
                                            int64_t kv_stride, const struct kern_attn_params *p,
                                            int nq)
{
    switch (nq) {
    case 2:
        KO(attn_group_chunk_n)(o, m, l, qs, kt, vt, n_key, kv_stride, p, 2);
        break;
    case 3:
        KO(attn_group_chunk_n)(o, m, l, qs, kt, vt, n_key, kv_stride, p, 3);
        break;
    default:
        KO(attn_group_chunk_n)(o, m, l, qs, kt, vt, n_key, kv_stride, p, 4);
        break;
    }
}

#undef KO
#undef VP
#undef KO_W
#undef KO_GB
#undef KO_TARGET
#undef KO_TARGET_INLINE
#undef vf
#undef vd
#undef V_LOAD
#undef V_STORE
#undef V_SET1
#undef V_ZERO
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_DIV
#undef V_FMADD
#undef V_FNMADD
#undef V_MAX
#undef V_MIN
#undef V_ROUND
#undef V_POW2I
#undef V_ABS
#undef V_OR_SIGN
#undef V_SEL_LT
#undef V_NAN_PASS
#undef VD_ZERO
