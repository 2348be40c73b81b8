/* iops.c - integer primitives of docs/engine.md (see iops.h). */
#include "engine/iops.h"
#include "format/maxima.h"

#include <math.h>

int64_t mtx_rshr(int64_t v, int s) {
    if (s == 0) return v;
    int64_t w = v + ((int64_t)1 << (s - 1));
    if (w >= 0) return w >> s;
    /* floor(w / 2^s) for w < 0 without shifting a negative: -(ceil(-w / 2^s))
     * = -(floor((-w - 1) / 2^s) + 1); -(w + 1) >= 0 cannot overflow. */
    return -((-(w + 1)) >> s) - 1;
}

int64_t mtx_sat(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

int32_t mtx_q8(int64_t v) {
    return (int32_t)mtx_sat(v, -MTX_INT8_MAX, MTX_INT8_MAX);
}

int32_t mtx_res(int64_t v) {
    return (int32_t)mtx_sat(v, -MTX_RES_MAX, MTX_RES_MAX);
}

/* Digit-by-digit square root (base 4): exact, no floating point. */
uint64_t mtx_isqrt(uint64_t n) {
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > n) bit >>= 2;
    while (bit) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

uint64_t mtx_udiv(uint64_t a, uint64_t b) {
    return b ? a / b : 0;
}

uint32_t mtx_exp2_lookup(const int32_t *exp2, int64_t u) {
    if (u < 0 || u >= MTX_EXP2_LIMIT) return 0; /* u < 0 cannot occur: mx is the maximum */
    return (uint32_t)exp2[u % MTX_EXP2_ENTRIES] >> (u / MTX_EXP2_ENTRIES);
}

void mtx_exp2_table(int32_t table[256]) {
    for (int i = 0; i < MTX_EXP2_ENTRIES; i++) table[i] = (int32_t)lround(32768.0 * exp2(-i / 256.0));
}

int64_t mtx_requant(int64_t acc, const int32_t *rec, int i) {
    return mtx_rshr(acc * (int64_t)rec[1 + i], rec[0]);
}

void mtx_norm_row(int8_t *a, const int32_t *x, int C, const int32_t *rec, uint32_t eps_q) {
    uint64_t ss = eps_q;
    for (int c = 0; c < C; c++) ss += (uint64_t)((int64_t)x[c] * x[c]);
    uint64_t r = mtx_isqrt(ss);
    int64_t inv = r == 0 ? 0 : (int64_t)mtx_udiv((uint64_t)1 << MTX_NORM_RECIP_BITS, r);
    for (int c = 0; c < C; c++) {
        int64_t y = mtx_rshr((int64_t)x[c] * inv, MTX_NORM_Y_SHIFT); /* Q24 of x / rms / sqrt(C) */
        a[c] = (int8_t)mtx_q8(mtx_requant(y, rec, c));
    }
}

void mtx_softmax_row(uint8_t *p, const int32_t *sc, int nk, const int32_t *sm, const int32_t *exp2) {
    uint32_t e[MTX_MAX_POS];
    int32_t mx = sc[0];
    for (int j = 1; j < nk; j++)
        if (sc[j] > mx) mx = sc[j];
    uint64_t S = 0;
    for (int j = 0; j < nk; j++) {
        int64_t u = mtx_requant((int64_t)mx - sc[j], sm, 0); /* 1/256 units of log2, >= 0 */
        e[j] = mtx_exp2_lookup(exp2, u);
        S += e[j];
    }
    uint64_t inv = mtx_udiv((uint64_t)1 << MTX_SOFTMAX_RECIP_BITS, S); /* S >= 2^15 */
    for (int j = 0; j < nk; j++) {
        uint64_t pj = ((uint64_t)e[j] * inv + ((uint64_t)1 << (MTX_SOFTMAX_P_SHIFT - 1))) >> MTX_SOFTMAX_P_SHIFT;
        p[j] = (uint8_t)(pj > 255 ? 255 : pj);
    }
}

void mtx_attend_row(int8_t *att, const int8_t *q, const int8_t *k, const int8_t *v, int kstride,
                    int vstride, int nk, int hs, const int32_t *sm, const int32_t *att_rec,
                    const int32_t *exp2) {
    int32_t sc[MTX_MAX_POS];
    uint8_t p[MTX_MAX_POS];
    for (int j = 0; j < nk; j++) {
        int32_t s = 0;
        for (int d = 0; d < hs; d++) s += (int32_t)q[d] * k[(int64_t)j * kstride + d];
        sc[j] = s;
    }
    mtx_softmax_row(p, sc, nk, sm, exp2);
    for (int d = 0; d < hs; d++) {
        int32_t o = 0;
        for (int j = 0; j < nk; j++) o += (int32_t)p[j] * v[(int64_t)j * vstride + d];
        att[d] = (int8_t)mtx_q8(mtx_requant(o, att_rec, 0));
    }
}
