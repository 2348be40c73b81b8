/* ref_iops.c - see ref_iops.h: the benches' reference is the golden model's
 * own primitives (host/engine/iops.c), reached through this adapter so each
 * bench states its inputs the way its unit takes them. argmax and the plain
 * GEMM have no golden helper of their own; they are written from
 * docs/engine.md here. */
#include "ref_iops.h"

#include "engine/iops.h"

int64_t mtx_ref_rshr(int64_t v, int s)
{
    return mtx_rshr(v, s);
}

int64_t mtx_ref_sat(int64_t v, int64_t lo, int64_t hi)
{
    return mtx_sat(v, lo, hi);
}

uint32_t mtx_ref_isqrt(uint64_t n)
{
    return (uint32_t)mtx_isqrt(n);
}

uint64_t mtx_ref_udiv(uint64_t a, uint64_t b)
{
    return mtx_udiv(a, b);
}

int64_t mtx_ref_requant(int32_t acc, int32_t m, int s, int mode, int32_t x)
{
    const int32_t rec[2] = {s, m};
    if (mode == MTX_REF_RELU_Q8 && acc < 0)
        acc = 0;
    int64_t y = mtx_requant(acc, rec, 0);
    switch (mode) {
    case MTX_REF_Q8:
    case MTX_REF_RELU_Q8:
        return mtx_q8(y);
    case MTX_REF_RES:
        return mtx_res((int64_t)x + y);
    default:
        return y;
    }
}

void mtx_ref_norm(const int32_t *x, int C, uint32_t eps_q, int s, const int32_t *m, int8_t *a)
{
    int32_t rec[1 + 512];
    rec[0] = s;
    for (int c = 0; c < C; c++)
        rec[1 + c] = m[c];
    mtx_norm_row(a, x, C, rec, eps_q);
}

void mtx_ref_softmax(const int32_t *sc, int n, int32_t m_sm, int s_sm, const uint32_t *exp2,
                     uint8_t *p)
{
    const int32_t rec[2] = {s_sm, m_sm};
    int32_t t[256];
    for (int i = 0; i < 256; i++)
        t[i] = (int32_t)exp2[i];
    mtx_softmax_row(p, sc, n, rec, t);
}

int mtx_ref_argmax(const int64_t *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

void mtx_ref_linear(const int8_t *a, const int8_t *w, int n, int k, int nout, int32_t *out)
{
    for (int t = 0; t < n; t++)
        for (int o = 0; o < nout; o++) {
            int32_t acc = 0;
            for (int i = 0; i < k; i++)
                acc += (int32_t)a[t * k + i] * w[o * k + i];
            out[t * nout + o] = acc;
        }
}
