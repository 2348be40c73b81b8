/* ops.c - kernels for RMSNorm, attention, ReLU, embeddings, cross-entropy and
 * dropout. Plain loops: the heavy lifting is in the GEMMs (gemm.c); these
 * are O(N*C) or, for attention, O(B*H*Tq*Tk*hs) with short G2P sequences. */
#include "model/ops.h"

#include <math.h>
#include <string.h>

void mtx_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w,
                         int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *xr = x + (int64_t)n * C;
        float *o = out + (int64_t)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++) ss += xr[c] * xr[c];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
        if (rstd) rstd[n] = r;
        for (int c = 0; c < C; c++) o[c] = xr[c] * r * w[c];
    }
}

void mtx_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                          const float *w, const float *rstd, int N, int C) {
    /* y = x * r * w, r = (mean(x^2) + eps)^(-1/2)
     * dx = r * (w*dy) - x * r^3 / C * sum_c(w*dy*x);  dw = sum_n dy * x * r */
    for (int n = 0; n < N; n++) {
        const float *xr = x + (int64_t)n * C;
        const float *dy = dout + (int64_t)n * C;
        float *dxr = dx + (int64_t)n * C;
        float r = rstd[n];
        float dot = 0.0f;
        for (int c = 0; c < C; c++) dot += w[c] * dy[c] * xr[c];
        float k = dot * r * r * r / (float)C;
        for (int c = 0; c < C; c++) {
            dxr[c] += r * w[c] * dy[c] - xr[c] * k;
            if (dw) dw[c] += dy[c] * xr[c] * r;
        }
    }
}

static int visible_keys(const mtx_attn_shape *sh, int b, int i) {
    int n = sh->k_len ? sh->k_len[b] : sh->Tk;
    if (sh->causal && i + 1 < n) n = i + 1;
    return n;
}

void mtx_attention_forward(float *out, float *P, const float *q, int qs, const float *k,
                           const float *v, int kvs, const mtx_attn_shape *sh) {
    const int H = sh->H, hs = sh->hs, Tq = sh->Tq, Tk = sh->Tk, C = H * hs;
    const float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < sh->B; b++) {
        for (int h = 0; h < H; h++) {
            for (int i = 0; i < Tq; i++) {
                const float *qi = q + (int64_t)(b * Tq + i) * qs + h * hs;
                float *p = P + (((int64_t)b * H + h) * Tq + i) * Tk;
                float *o = out + (int64_t)(b * Tq + i) * C + h * hs;
                int nk = visible_keys(sh, b, i);
                float mx = -INFINITY;
                for (int j = 0; j < nk; j++) {
                    const float *kj = k + (int64_t)(b * Tk + j) * kvs + h * hs;
                    float s = 0.0f;
                    for (int d = 0; d < hs; d++) s += qi[d] * kj[d];
                    s *= scale;
                    p[j] = s;
                    if (s > mx) mx = s;
                }
                float sum = 0.0f;
                for (int j = 0; j < nk; j++) {
                    p[j] = expf(p[j] - mx);
                    sum += p[j];
                }
                float inv = nk > 0 ? 1.0f / sum : 0.0f;
                for (int j = 0; j < nk; j++) p[j] *= inv;
                for (int j = nk; j < Tk; j++) p[j] = 0.0f;
                for (int d = 0; d < hs; d++) o[d] = 0.0f;
                for (int j = 0; j < nk; j++) {
                    const float *vj = v + (int64_t)(b * Tk + j) * kvs + h * hs;
                    float pj = p[j];
                    for (int d = 0; d < hs; d++) o[d] += pj * vj[d];
                }
            }
        }
    }
}

void mtx_attention_backward(float *dq, float *dk, float *dv, int qs, int kvs,
                            const float *dout, const float *P, const float *q,
                            const float *k, const float *v, const mtx_attn_shape *sh,
                            const float *Pt, const float *row_w) {
    /* o = P v, P = softmax(s), s = scale * q k^T
     * dv += P^T do;  dP = do v^T;  ds = P * (dP - sum_j P dP);  dq += scale ds k;  dk += scale ds^T q */
    const int H = sh->H, hs = sh->hs, Tq = sh->Tq, Tk = sh->Tk, C = H * hs;
    const float scale = 1.0f / sqrtf((float)hs);
    float dp[1024];
    for (int b = 0; b < sh->B; b++) {
        for (int h = 0; h < H; h++) {
            for (int i = 0; i < Tq; i++) {
                const float *qi = q + (int64_t)(b * Tq + i) * qs + h * hs;
                float *dqi = dq + (int64_t)(b * Tq + i) * qs + h * hs;
                const float *p = P + (((int64_t)b * H + h) * Tq + i) * Tk;
                const float *doi = dout + (int64_t)(b * Tq + i) * C + h * hs;
                int nk = visible_keys(sh, b, i);
                float dot = 0.0f;
                for (int j = 0; j < nk; j++) {
                    const float *vj = v + (int64_t)(b * Tk + j) * kvs + h * hs;
                    float *dvj = dv + (int64_t)(b * Tk + j) * kvs + h * hs;
                    float s = 0.0f;
                    for (int d = 0; d < hs; d++) {
                        s += doi[d] * vj[d];
                        dvj[d] += p[j] * doi[d];
                    }
                    dp[j] = s;
                    dot += s * p[j];
                }
                /* distillation: d KL(pt || softmax(s)) / ds = p - pt */
                const float *pt = Pt ? Pt + (((int64_t)b * H + h) * Tq + i) * Tk : NULL;
                const float w = Pt ? row_w[b * Tq + i] : 0.0f;
                for (int j = 0; j < nk; j++) {
                    float ds = p[j] * (dp[j] - dot);
                    if (w != 0.0f) ds += w * (p[j] - pt[j]);
                    ds *= scale;
                    const float *kj = k + (int64_t)(b * Tk + j) * kvs + h * hs;
                    float *dkj = dk + (int64_t)(b * Tk + j) * kvs + h * hs;
                    for (int d = 0; d < hs; d++) {
                        dqi[d] += ds * kj[d];
                        dkj[d] += ds * qi[d];
                    }
                }
            }
        }
    }
}

double mtx_attention_kl(const float *P, const float *Pt, const float *row_w, const mtx_attn_shape *sh) {
    const int H = sh->H, Tq = sh->Tq, Tk = sh->Tk;
    double sum = 0.0;
    for (int b = 0; b < sh->B; b++)
        for (int i = 0; i < Tq; i++) {
            const float w = row_w[b * Tq + i];
            if (w == 0.0f) continue;
            const int nk = visible_keys(sh, b, i);
            double kl = 0.0;
            for (int h = 0; h < H; h++) {
                const float *p = P + (((int64_t)b * H + h) * Tq + i) * Tk;
                const float *pt = Pt + (((int64_t)b * H + h) * Tq + i) * Tk;
                for (int j = 0; j < nk; j++)
                    if (pt[j] > 0.0f) kl += (double)pt[j] * (log((double)pt[j]) - log(p[j] > 1e-30f ? (double)p[j] : 1e-30));
            }
            sum += (double)w * kl;
        }
    return sum;
}

void mtx_relu_forward(float *out, const float *h, int64_t n) {
    /* out may alias h (in-place use in decoding): no restrict here */
    for (int64_t i = 0; i < n; i++) out[i] = h[i] > 0.0f ? h[i] : 0.0f;
}

void mtx_relu_backward(float *dh, const float *dout, const float *h, int64_t n) {
    /* load unconditionally so the select is branch-free and vectorises */
    for (int64_t i = 0; i < n; i++) {
        float d = dout[i];
        dh[i] = h[i] > 0.0f ? d : 0.0f;
    }
}

void mtx_embed_forward(float *out, const int32_t *tok, const float *emb, const float *pos,
                       int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *e = emb + (int64_t)tok[b * T + t] * C;
            const float *p = pos + (int64_t)t * C;
            float *o = out + (int64_t)(b * T + t) * C;
            for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
        }
}

void mtx_embed_backward(float *demb, float *dpos, const float *dout, const int32_t *tok,
                        int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *de = demb + (int64_t)tok[b * T + t] * C;
            float *dp = dpos + (int64_t)t * C;
            const float *d = dout + (int64_t)(b * T + t) * C;
            for (int c = 0; c < C; c++) {
                de[c] += d[c];
                dp[c] += d[c];
            }
        }
}

double mtx_crossentropy(float *dlogits, const float *logits, const int32_t *targets, int N,
                        int V, float eps, float scale, double *nll, int64_t *correct) {
    double loss = 0.0, nll_sum = 0.0;
    int64_t hits = 0;
    const float u = eps / (float)V;
    for (int n = 0; n < N; n++) {
        const float *l = logits + (int64_t)n * V;
        float *dl = dlogits ? dlogits + (int64_t)n * V : NULL;
        int y = targets[n];
        if (y < 0) {
            if (dl) memset(dl, 0, sizeof(float) * (size_t)V);
            continue;
        }
        float mx = l[0];
        int arg = 0;
        for (int j = 1; j < V; j++)
            if (l[j] > mx) { mx = l[j]; arg = j; }
        double sum = 0.0;
        for (int j = 0; j < V; j++) sum += exp((double)(l[j] - mx));
        double lse = mx + log(sum);
        /* smoothed loss = -sum_j q_j log p_j = lse - sum_j q_j l_j */
        double ql = (1.0 - eps) * l[y];
        double all = 0.0;
        for (int j = 0; j < V; j++) all += l[j];
        ql += u * all;
        loss += lse - ql;
        nll_sum += lse - l[y];
        hits += (arg == y);
        if (dl) {
            for (int j = 0; j < V; j++) {
                float p = (float)exp((double)l[j] - lse);
                dl[j] = scale * (p - u - (j == y ? 1.0f - eps : 0.0f));
            }
        }
    }
    if (nll) *nll = nll_sum;
    if (correct) *correct = hits;
    return loss;
}

double mtx_kl_distill(float *dlogits, const float *student, const float *teacher,
                      const int32_t *targets, int N, int V, float tau, float scale) {
    /* L = tau^2 sum_j pt_j (log pt_j - log ps_j);  dL/dz_s = tau (ps - pt) */
    double loss = 0.0;
    const double it = 1.0 / (double)tau;
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) continue;
        const float *s = student + (int64_t)n * V, *t = teacher + (int64_t)n * V;
        double ms = -INFINITY, mt = -INFINITY;
        for (int j = 0; j < V; j++) {
            if (s[j] * it > ms) ms = s[j] * it;
            if (t[j] * it > mt) mt = t[j] * it;
        }
        double zs = 0, zt = 0;
        for (int j = 0; j < V; j++) {
            zs += exp(s[j] * it - ms);
            zt += exp(t[j] * it - mt);
        }
        const double ls = ms + log(zs), lt = mt + log(zt);
        double kl = 0;
        for (int j = 0; j < V; j++) {
            double lpt = t[j] * it - lt, lps = s[j] * it - ls, pt = exp(lpt);
            kl += pt * (lpt - lps);
            if (dlogits) dlogits[(int64_t)n * V + j] += (float)(scale * tau * (exp(lps) - pt));
        }
        loss += (double)tau * tau * kl;
    }
    return loss;
}

double mtx_mse(float *dx, const float *x, const float *t, const uint8_t *mask, int N, int C,
               float scale) {
    double sum = 0.0;
    for (int n = 0; n < N; n++) {
        if (mask && !mask[n]) continue;
        for (int c = 0; c < C; c++) {
            int64_t i = (int64_t)n * C + c;
            float d = x[i] - t[i];
            sum += (double)d * d;
            if (dx) dx[i] += scale * 2.0f * d;
        }
    }
    return sum;
}

uint64_t mtx_hash64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void mtx_dropout(float *x, int64_t n, float p, uint64_t seed, uint64_t stream) {
    if (p <= 0.0f) return;
    /* per-element mask bits: a 32-bit integer hash (lowbias32) of the element
     * index mixed with a 64-bit hash of (seed, stream); cheap and vectorisable */
    const uint32_t base = (uint32_t)(mtx_hash64(seed ^ mtx_hash64(stream)) >> 32);
    const uint32_t thresh = (uint32_t)((double)p * 4294967296.0);
    const float keep = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; i++) {
        uint32_t h = base ^ ((uint32_t)i * 0x9E3779B9u);
        h ^= h >> 16;
        h *= 0x7FEB352Du;
        h ^= h >> 15;
        h *= 0x846CA68Bu;
        h ^= h >> 16;
        x[i] = h < thresh ? 0.0f : x[i] * keep;
    }
}
