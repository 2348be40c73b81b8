/* ref_iops.c - see ref_iops.h. Every step follows docs/engine.md line by line. */
#include "ref_iops.h"

/* floor((v + 2^(s-1)) / 2^s) without shifting a negative value: for t < 0,
 * floor(t / 2^s) = ~(~t >> s) since ~t = -t - 1 >= 0. */
int64_t mtx_ref_rshr(int64_t v, int s)
{
    if (s == 0)
        return v;
    uint64_t t = (uint64_t)v + ((uint64_t)1 << (s - 1));
    if ((int64_t)t >= 0)
        return (int64_t)(t >> s);
    return (int64_t)~((~t) >> s);
}

int64_t mtx_ref_sat(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

uint32_t mtx_ref_isqrt(uint64_t n)
{
    uint64_t lo = 0, hi = 0xffffffffull; /* invariant: lo^2 <= n, answer in [lo, hi] */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (mid * mid <= n)
            lo = mid;
        else
            hi = mid - 1;
    }
    return (uint32_t)lo;
}

uint64_t mtx_ref_udiv(uint64_t a, uint64_t b)
{
    return a / b;
}

int64_t mtx_ref_requant(int32_t acc, int32_t m, int s, int mode, int32_t x)
{
    if (mode == MTX_REF_RELU_Q8 && acc < 0)
        acc = 0;
    int64_t y = mtx_ref_rshr((int64_t)acc * m, s);
    switch (mode) {
    case MTX_REF_Q8:
    case MTX_REF_RELU_Q8:
        return mtx_ref_sat(y, -127, 127);
    case MTX_REF_RES:
        return mtx_ref_sat((int64_t)x + y, -8388607, 8388607);
    default:
        return y;
    }
}

void mtx_ref_norm(const int32_t *x, int C, uint32_t eps_q, int s, const int32_t *m, int8_t *a)
{
    uint64_t ss = eps_q;
    for (int c = 0; c < C; c++)
        ss += (uint64_t)((int64_t)x[c] * x[c]);
    uint32_t r = mtx_ref_isqrt(ss);
    uint64_t inv = r == 0 ? 0 : mtx_ref_udiv(1ull << 40, r);
    for (int c = 0; c < C; c++) {
        int64_t y = mtx_ref_rshr((int64_t)x[c] * (int64_t)inv, 16);
        a[c] = (int8_t)mtx_ref_sat(mtx_ref_rshr(y * m[c], s), -127, 127);
    }
}

void mtx_ref_softmax(const int32_t *sc, int n, int32_t m_sm, int s_sm, const uint32_t *exp2,
                     uint8_t *p)
{
    uint32_t e[64];
    int32_t mx = sc[0];
    for (int j = 1; j < n; j++)
        if (sc[j] > mx)
            mx = sc[j];
    uint32_t S = 0;
    for (int j = 0; j < n; j++) {
        int64_t u = mtx_ref_rshr(((int64_t)mx - sc[j]) * m_sm, s_sm);
        e[j] = (u < 0 || u >= 4096) ? 0 : exp2[u % 256] >> (u / 256);
        S += e[j];
    }
    uint64_t inv = mtx_ref_udiv(1ull << 31, S);
    for (int j = 0; j < n; j++) {
        uint64_t q = ((uint64_t)e[j] * inv + (1ull << 22)) >> 23;
        p[j] = (uint8_t)(q > 255 ? 255 : q);
    }
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
