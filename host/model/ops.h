/* ops.h - forward/backward kernels of the transformer, one pair per op.
 *
 * Argument order follows llm.c: outputs, then what backward needs saved,
 * then inputs, then weights, then sizes. Backward functions ACCUMULATE (+=)
 * into parameter gradients; input gradients are documented per function.
 * Dimension names: N rows (tokens), C d_model, F d_ff, V vocabulary,
 * B batch, Tq/Tk query/key lengths, H heads, hs = C / H. */
#ifndef MTX_OPS_H
#define MTX_OPS_H

#include <stdint.h>

/* out(N,C) = x * rstd * w with rstd(N) = 1/sqrt(mean(x^2) + eps). */
void mtx_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w,
                         int N, int C, float eps);
/* dx(N,C) += d/dx, dw(C) += d/dw; dw may be NULL. */
void mtx_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                          const float *w, const float *rstd, int N, int C);

/* Multi-head scaled dot-product attention over B sequences.
 * q rows (B*Tq) with stride qs, k and v rows (B*Tk) with stride kvs; head h
 * uses columns [h*hs, (h+1)*hs). Key j is visible to query i of sequence b
 * when j < k_len[b] (k_len NULL: all Tk) and, if causal, j <= i. */
typedef struct {
    int B, Tq, Tk, H, hs;
    int causal;
    const int *k_len; /* (B) valid keys per sequence, or NULL */
} mtx_attn_shape;

/* out(B*Tq, H*hs) and the probabilities P(B,H,Tq,Tk) (masked entries 0). */
void mtx_attention_forward(float *out, float *P, const float *q, int qs, const float *k,
                           const float *v, int kvs, const mtx_attn_shape *sh);
/* dq, dk, dv (same strides as q, k, v) += gradients; dout is (B*Tq, H*hs).
 * With Pt non-NULL (target probabilities laid out as P) the gradient also
 * includes that of mtx_attention_kl(P, Pt, row_w, sh): row_w[r] * (P - Pt)
 * on the scores of query row r; NULL: none. */
void mtx_attention_backward(float *dq, float *dk, float *dv, int qs, int kvs,
                            const float *dout, const float *P, const float *q,
                            const float *k, const float *v, const mtx_attn_shape *sh,
                            const float *Pt, const float *row_w);
/* Attention-distribution distillation: sum over sequences b, heads h and
 * query rows i of row_w[b*Tq + i] * KL(Pt[b,h,i,:] || P[b,h,i,:]) over the
 * visible keys (rows with weight 0 are skipped). */
double mtx_attention_kl(const float *P, const float *Pt, const float *row_w, const mtx_attn_shape *sh);

/* out(n) = max(0, h). */
void mtx_relu_forward(float *out, const float *h, int64_t n);
/* dh(n) = dout * (h > 0) (overwrites). */
void mtx_relu_backward(float *dh, const float *dout, const float *h, int64_t n);

/* out(B*T, C) = emb[tok] + pos[t]. */
void mtx_embed_forward(float *out, const int32_t *tok, const float *emb, const float *pos,
                       int B, int T, int C);
/* demb += scatter of dout by token; dpos += sum of dout by position. */
void mtx_embed_backward(float *demb, float *dpos, const float *dout, const int32_t *tok,
                        int B, int T, int C);

/* Label-smoothed cross-entropy over N rows of V logits; rows whose target is
 * negative are ignored. The target distribution is (1-eps)*onehot + eps/V.
 * Writes dlogits(N,V) = scale * (softmax - target) (0 on ignored rows) when
 * dlogits is non-NULL. Returns the summed smoothed loss; *nll gets the summed
 * plain negative log-likelihood and *correct the argmax hits (either may be NULL). */
double mtx_crossentropy(float *dlogits, const float *logits, const int32_t *targets, int N,
                        int V, float eps, float scale, double *nll, int64_t *correct);

/* Distillation loss KL(teacher || student) on temperature-scaled logits,
 * tau^2 * sum_j pt_j (log pt_j - log ps_j) with p = softmax(logits / tau),
 * over rows whose target is non-negative. Adds scale * d/dstudent to dlogits
 * (when non-NULL) and returns the summed loss (before scale). */
double mtx_kl_distill(float *dlogits, const float *student, const float *teacher,
                      const int32_t *targets, int N, int V, float tau, float scale);

/* Mean-squared error sum over the rows r with mask[r] != 0 (mask NULL: all):
 * returns sum (x - t)^2 and adds scale * 2 (x - t) to dx (when non-NULL). */
double mtx_mse(float *dx, const float *x, const float *t, const uint8_t *mask, int N, int C,
               float scale);

/* Inverted dropout, in place: x[i] *= keep(i) / (1 - p). The mask is a pure
 * function of (seed, stream, i), so backward calls this on the gradient with
 * the same arguments instead of storing the mask. p == 0 leaves x untouched. */
void mtx_dropout(float *x, int64_t n, float p, uint64_t seed, uint64_t stream);

/* Deterministic 64-bit mixing (splitmix64 finalizer). */
uint64_t mtx_hash64(uint64_t x);

#endif
