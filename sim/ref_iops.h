/* ref_iops.h - the reference the RTL unit benches compare against: the
 * golden model's primitives (host/engine/iops.c) behind one call per unit
 * (sim/ref_iops.c adapts the record layout). */
#ifndef MTX_REF_IOPS_H
#define MTX_REF_IOPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { MTX_REF_RAW = 0, MTX_REF_Q8 = 1, MTX_REF_RELU_Q8 = 2, MTX_REF_RES = 3 };

int64_t mtx_ref_rshr(int64_t v, int s);                    /* 0 <= s <= 63 */
int64_t mtx_ref_sat(int64_t v, int64_t lo, int64_t hi);
uint32_t mtx_ref_isqrt(uint64_t n);
uint64_t mtx_ref_udiv(uint64_t a, uint64_t b);             /* b > 0 */
/* One requant record entry applied to acc by mode (MTX_REF_*); x is the
 * residual value for MTX_REF_RES. */
int64_t mtx_ref_requant(int32_t acc, int32_t m, int s, int mode, int32_t x);
/* norm(x[0..C-1], {s, m}) -> a[0..C-1]. */
void mtx_ref_norm(const int32_t *x, int C, uint32_t eps_q, int s, const int32_t *m, int8_t *a);
/* One attention row's probabilities from its scores: p[0..n-1]. */
void mtx_ref_softmax(const int32_t *sc, int n, int32_t m_sm, int s_sm, const uint32_t *exp2,
                     uint8_t *p);
/* The smallest index of the largest value. */
int mtx_ref_argmax(const int64_t *v, int n);
/* out[t][o] = sum_i a[t][i] * w[o][i]; a (n, k), w (nout, k), out (n, nout). */
void mtx_ref_linear(const int8_t *a, const int8_t *w, int n, int k, int nout, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif
