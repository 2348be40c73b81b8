/* engine/ (layer 2) - the integer engine on the host: its arithmetic
 * primitives (iops), post-training quantization of a bank into image
 * sections (quant), the golden model (golden) and `modtx export` (export).
 *
 * iops.h - the primitives of docs/engine.md, one named helper each, exactly
 * as written there. Integer only; no C right shift or division is applied to
 * a negative value (both are implementation-defined or truncating), so the
 * results are the same on every compiler. The golden model is built from
 * these and nothing else. */
#ifndef MTX_IOPS_H
#define MTX_IOPS_H

#include <stdint.h>

/* rshr(v, s) = v if s = 0, else floor((v + 2^(s-1)) / 2^s): round half up.
 * 0 <= s <= 62 and |v| < 2^62 (every caller's range is far smaller). */
int64_t mtx_rshr(int64_t v, int s);

/* sat(v, lo, hi): clamp. */
int64_t mtx_sat(int64_t v, int64_t lo, int64_t hi);

/* q8(v) = sat(v, -127, 127): the int8 activation and weight range. */
int32_t mtx_q8(int64_t v);

/* res(v) = sat(v, -(2^23 - 1), 2^23 - 1): the residual stream's range. */
int32_t mtx_res(int64_t v);

/* isqrt(n) = floor(sqrt(n)), exact for every uint64 n. */
uint64_t mtx_isqrt(uint64_t n);

/* udiv(a, b) = floor(a / b), b > 0 (0 when b = 0, which no caller passes). */
uint64_t mtx_udiv(uint64_t a, uint64_t b);

/* e(u) = u >= 4096 ? 0 : EXP2[u mod 256] >> floor(u / 256), for u >= 0:
 * 2^15 * 2^(-u/256) truncated; exp2 is the image's EXP2 section. */
uint32_t mtx_exp2_lookup(const int32_t *exp2, int64_t u);

/* The EXP2 table: EXP2[i] = round(2^15 * 2^(-i/256)), i in [0, 256). The only
 * floating point of the engine, run once by the exporter. */
void mtx_exp2_table(int32_t table[256]);

/* A requant record {s, m[0..n-1]} as stored: rec[0] = s, rec[1 + i] = m[i]. */
/* requant(acc, rec, i) = rshr(acc * m[i], s) (product in int64). */
int64_t mtx_requant(int64_t acc, const int32_t *rec, int i);

/* norm(x[0..C-1], rec) -> int8 a[0..C-1] (docs/engine.md "RMSNorm"):
 *   ss = sum x^2 + eps_q; r = isqrt(ss); inv = r ? udiv(2^40, r) : 0;
 *   y = rshr(x * inv, 16); a = q8(requant(y, rec, c)). */
void mtx_norm_row(int8_t *a, const int32_t *x, int C, const int32_t *rec, uint32_t eps_q);

/* One head of attention for one query row (docs/engine.md "Attention"):
 * q[0..hs), keys k[j*kstride + d], values v[j*vstride + d] for j < nk
 * (int8), sm and att the records {s, m}. Writes att[0..hs). nk in [1, 64]. */
void mtx_attend_row(int8_t *att, const int8_t *q, const int8_t *k, const int8_t *v, int kstride,
                    int vstride, int nk, int hs, const int32_t *sm, const int32_t *att_rec,
                    const int32_t *exp2);

/* The probabilities of one softmax row, as mtx_attend_row computes them
 * (exposed for tests): p[j] in [0, 255], units of 1/256. */
void mtx_softmax_row(uint8_t *p, const int32_t *sc, int nk, const int32_t *sm, const int32_t *exp2);

#endif
