/* decode.c - incremental decoding (see decode.h). */
#include "model/decode.h"
#include "model/gemm.h"
#include "model/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mtx_decoder {
    const mtx_net *net;
    int max_words, beam, Pt, C, F, V, H, L;
    float len_alpha;
    mtx_acts enc;            /* encoder activations, one layer's worth */
    float *cross_kv;         /* (L, max_words*S, 2C) */
    float *kcache, *kcache2; /* (L, R, Pt, 2C) self K/V per hypothesis row; double buffer for beam reorder */
    float *x, *a, *qkv, *att, *q, *h, *logits, *attn_p; /* per-step scratch, R rows */
    int32_t *tok;            /* (R) current input token per row */
    int *parent;             /* (R) */
    double *score;           /* (R) summed log-probabilities of live hypotheses */
    int32_t *hyp, *hyp2;     /* (R, Pt) tokens of live hypotheses */
    /* finished hypotheses per word: best normalised score and tokens */
    double *best;            /* (max_words) */
    int32_t *best_hyp;       /* (max_words, Pt) */
    int *best_len;
    int *src_len_rows;       /* (R) source length of each row's word */
    double *cand_score;      /* (beam * V) per word */
    int *cand_idx;
};

void mtx_decoder_free(mtx_decoder *d) {
    if (!d) return;
    mtx_acts_free(&d->enc);
    free(d->cross_kv); free(d->kcache); free(d->kcache2);
    free(d->x); free(d->a); free(d->qkv); free(d->att); free(d->q); free(d->h); free(d->logits);
    free(d->attn_p); free(d->tok); free(d->parent); free(d->score); free(d->hyp); free(d->hyp2);
    free(d->best); free(d->best_hyp); free(d->best_len); free(d->src_len_rows);
    free(d->cand_score); free(d->cand_idx);
    free(d);
}

mtx_status mtx_decoder_new(mtx_decoder **out, const mtx_net *net, int max_words, int beam,
                           float len_alpha) {
    *out = NULL;
    const mtx_model_config *c = net->cfg;
    if (beam < 1 || beam > 64) return mtx_set_error(MTX_ERR_ARG, "beam width must be in [1, 64] (got %d)", beam);
    if (max_words < 1 || (int64_t)max_words * beam > 65536)
        return mtx_set_error(MTX_ERR_ARG, "decoder capacity %d words x beam %d out of range", max_words, beam);
    mtx_decoder *d = calloc(1, sizeof *d);
    if (!d) return mtx_set_error(MTX_ERR_NOMEM, "out of memory for the decoder");
    d->net = net;
    d->max_words = max_words;
    d->beam = beam;
    d->len_alpha = len_alpha;
    d->Pt = c->max_target_positions;
    d->C = c->d_model;
    d->F = c->d_ff;
    d->V = c->tgt_vocab_size;
    d->H = c->num_heads;
    d->L = net->n_dec;
    const size_t R = (size_t)max_words * (size_t)beam, C = (size_t)d->C, Pt = (size_t)d->Pt;
    const size_t S = (size_t)c->max_source_positions, W = (size_t)max_words, L = (size_t)d->L;
    mtx_status st = mtx_acts_init(&d->enc, c, 1, 1, (int)(W * S), (int)S);
    if (st) {
        free(d);
        return st;
    }
    d->cross_kv = malloc(L * W * S * 2 * C * sizeof(float));
    d->kcache = malloc(L * R * Pt * 2 * C * sizeof(float));
    d->kcache2 = beam > 1 ? malloc(L * R * Pt * 2 * C * sizeof(float)) : NULL;
    d->x = malloc(R * C * sizeof(float));
    d->a = malloc(R * C * sizeof(float));
    d->qkv = malloc(R * 3 * C * sizeof(float));
    d->att = malloc(R * C * sizeof(float));
    d->q = malloc(R * C * sizeof(float));
    d->h = malloc(R * (size_t)d->F * sizeof(float));
    d->logits = malloc(R * (size_t)d->V * sizeof(float));
    d->attn_p = malloc((size_t)d->H * R * (Pt > S ? Pt : S) * sizeof(float));
    d->tok = malloc(R * sizeof(int32_t));
    d->parent = malloc(R * sizeof(int));
    d->score = malloc(R * sizeof(double));
    d->hyp = malloc(R * Pt * sizeof(int32_t));
    d->hyp2 = malloc(R * Pt * sizeof(int32_t));
    d->best = malloc(W * sizeof(double));
    d->best_hyp = malloc(W * Pt * sizeof(int32_t));
    d->best_len = malloc(W * sizeof(int));
    d->src_len_rows = malloc(R * sizeof(int));
    d->cand_score = malloc((size_t)beam * (size_t)d->V * sizeof(double));
    d->cand_idx = malloc((size_t)beam * (size_t)d->V * sizeof(int));
    if (!d->cross_kv || !d->kcache || (beam > 1 && !d->kcache2) || !d->x || !d->a || !d->qkv ||
        !d->att || !d->q || !d->h || !d->logits || !d->attn_p || !d->tok || !d->parent ||
        !d->score || !d->hyp || !d->hyp2 || !d->best || !d->best_hyp ||
        !d->best_len || !d->src_len_rows || !d->cand_score || !d->cand_idx) {
        mtx_decoder_free(d);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory for the decoder");
    }
    *out = d;
    return MTX_OK;
}

/* Attention of R single-token queries: row r attends over n_keys(r) keys at
 * kbase + r-th block (self cache) or its word's block (cross). */
static void step_attention(float *out, const float *q, int qs, const float *k, const float *v,
                           int kvs, int64_t row_stride, const int *row_block, int R,
                           const int *nk_row, int nk_all, int H, int hs) {
    const float scale = 1.0f / sqrtf((float)hs);
    float p[MTX_MAX_POSITIONS];
    for (int r = 0; r < R; r++) {
        const int blk = row_block ? row_block[r] : r;
        const int nk = nk_row ? nk_row[r] : nk_all;
        const float *kb = k + (int64_t)blk * row_stride, *vb = v + (int64_t)blk * row_stride;
        for (int h = 0; h < H; h++) {
            const float *qi = q + (int64_t)r * qs + h * hs;
            float mx = -INFINITY;
            for (int j = 0; j < nk; j++) {
                const float *kj = kb + (int64_t)j * kvs + h * hs;
                float s = 0.0f;
                for (int x = 0; x < hs; x++) s += qi[x] * kj[x];
                p[j] = s * scale;
                if (p[j] > mx) mx = p[j];
            }
            float sum = 0.0f;
            for (int j = 0; j < nk; j++) {
                p[j] = expf(p[j] - mx);
                sum += p[j];
            }
            float inv = 1.0f / sum;
            float *o = out + (int64_t)r * H * hs + h * hs;
            for (int x = 0; x < hs; x++) o[x] = 0.0f;
            for (int j = 0; j < nk; j++) {
                const float *vj = vb + (int64_t)j * kvs + h * hs;
                float pj = p[j] * inv;
                for (int x = 0; x < hs; x++) o[x] += pj * vj[x];
            }
        }
    }
}

/* One decoder step for R rows at position t: d->tok -> d->logits. trace
 * (NULL in decoding) receives row 0's output of each layer l at
 * trace + (l * trace_T + t) * C. */
static void decoder_step(mtx_decoder *d, int R, int t, int S, const int *word_of_row, float *trace, int trace_T) {
    const mtx_net *n = d->net;
    const mtx_model_config *c = n->cfg;
    const int C = d->C, F = d->F, H = d->H, hs = C / H, Pt = d->Pt;
    const float eps = c->layer_norm_epsilon;
    const size_t cache_layer = (size_t)d->max_words * d->beam * (size_t)Pt * 2 * (size_t)C;
    const size_t cross_layer = (size_t)d->max_words * (size_t)S * 2 * (size_t)C;
    for (int r = 0; r < R; r++) {
        const float *e = n->w->tgt_emb + (int64_t)d->tok[r] * C, *p = n->w->tgt_pos + (int64_t)t * C;
        for (int x = 0; x < C; x++) d->x[(int64_t)r * C + x] = e[x] + p[x];
    }
    for (int l = 0; l < d->L; l++) {
        const mtx_dec_layer *w = n->dec[l];
        float *cache = d->kcache + (size_t)l * cache_layer;
        mtx_rmsnorm_forward(d->a, NULL, d->x, w->ln1, R, C, eps);
        mtx_linear(d->qkv, d->a, w->qkv, R, C, 3 * C, 0);
        for (int r = 0; r < R; r++)
            memcpy(cache + ((int64_t)r * Pt + t) * 2 * C, d->qkv + (int64_t)r * 3 * C + C, 2 * sizeof(float) * C);
        step_attention(d->att, d->qkv, 3 * C, cache, cache + C, 2 * C, (int64_t)Pt * 2 * C, NULL, R,
                       NULL, t + 1, H, hs);
        mtx_linear(d->x, d->att, w->o, R, C, C, 1);
        mtx_rmsnorm_forward(d->a, NULL, d->x, w->ln2, R, C, eps);
        mtx_linear(d->q, d->a, w->cq, R, C, C, 0);
        const float *ckv = d->cross_kv + (size_t)l * cross_layer;
        step_attention(d->att, d->q, C, ckv, ckv + C, 2 * C, (int64_t)S * 2 * C, word_of_row, R,
                       d->src_len_rows, 0, H, hs);
        mtx_linear(d->x, d->att, w->co, R, C, C, 1);
        mtx_rmsnorm_forward(d->a, NULL, d->x, w->ln3, R, C, eps);
        mtx_linear(d->h, d->a, w->wi, R, C, F, 0);
        mtx_relu_forward(d->h, d->h, (int64_t)R * F);
        mtx_linear(d->x, d->h, w->wo, R, F, C, 1);
        if (trace) memcpy(trace + ((size_t)l * (size_t)trace_T + (size_t)t) * (size_t)C, d->x, sizeof(float) * (size_t)C);
    }
    mtx_rmsnorm_forward(d->a, NULL, d->x, n->w->dec_ln, R, C, eps);
    mtx_linear(d->logits, d->a, n->w->lm_head, R, C, d->V, 0);
}

/* Encoder output and cross-attention K/V of B words. */
static mtx_status encode_words(mtx_decoder *d, const int32_t *src, const int *src_len, int B, int S) {
    const mtx_net *n = d->net;
    const int C = d->C;
    mtx_batch eb = { B, S, 1, src, src_len, NULL, NULL, 0 };
    mtx_status st = mtx_encode(&d->enc, n, &eb);
    if (st) return st;
    for (int l = 0; l < d->L; l++)
        mtx_linear(d->cross_kv + (size_t)l * d->max_words * S * 2 * C, d->enc.enc_out, n->dec[l]->ckv,
                   B * S, C, 2 * C, 0);
    return MTX_OK;
}

mtx_status mtx_decoder_trace(mtx_decoder *d, const int32_t *src, int slen, const int32_t *tgt_in, int T,
                             float *layer_out, float *logits) {
    if (slen < 1 || slen > d->net->cfg->max_source_positions || T < 1 || T > d->Pt)
        return mtx_set_error(MTX_ERR_ARG, "trace: source length %d or target length %d out of range", slen, T);
    mtx_status st = encode_words(d, src, &slen, 1, slen);
    if (st) return st;
    const int word = 0;
    d->src_len_rows[0] = slen;
    for (int t = 0; t < T; t++) {
        d->tok[0] = tgt_in[t];
        decoder_step(d, 1, t, slen, &word, layer_out, T);
        memcpy(logits + (size_t)t * (size_t)d->V, d->logits, sizeof(float) * (size_t)d->V);
    }
    return MTX_OK;
}

/* log-softmax of one row into lp (double), PAD and BOS excluded. */
static void log_probs(double *lp, const float *l, int V) {
    float mx = -INFINITY;
    for (int j = MTX_EOS; j < V; j++)
        if (l[j] > mx) mx = l[j];
    double sum = 0;
    for (int j = MTX_EOS; j < V; j++) sum += exp((double)(l[j] - mx));
    double lse = mx + log(sum);
    lp[MTX_PAD] = lp[MTX_BOS] = -INFINITY;
    for (int j = MTX_EOS; j < V; j++) lp[j] = (double)l[j] - lse;
}

static double normalised(double score, int len, float alpha) {
    return alpha == 0.0f ? score : score / pow((double)len, (double)alpha);
}

mtx_status mtx_decode(mtx_decoder *d, const int32_t *src, const int *src_len, int B, int S,
                      int32_t *out, int *out_len, int out_stride) {
    const mtx_net *n = d->net;
    const int C = d->C, V = d->V, Pt = d->Pt, K = d->beam;
    if (B < 1 || B > d->max_words || S < 1 || S > n->cfg->max_source_positions || out_stride < Pt)
        return mtx_set_error(MTX_ERR_ARG, "decode batch %dx%d exceeds the decoder's capacity", B, S);
    for (int b = 0; b < B; b++)
        if (src_len[b] < 1 || src_len[b] > S) return mtx_set_error(MTX_ERR_ARG, "source length %d invalid", src_len[b]);
    mtx_status st = encode_words(d, src, src_len, B, S);
    if (st) return st;
    /* rows: word b owns rows [b*K, b*K + K); at t = 0 only the first is live */
    const int R = B * K;
    static const double NEG = -1e300;
    for (int r = 0; r < R; r++) {
        d->tok[r] = MTX_BOS;
        d->score[r] = (r % K == 0) ? 0.0 : NEG;
        d->src_len_rows[r] = src_len[r / K];
        d->parent[r] = r;
    }
    for (int b = 0; b < B; b++) {
        d->best[b] = NEG;
        d->best_len[b] = -1;
    }
    int *wrow = malloc((size_t)R * sizeof(int));
    double *lp = malloc((size_t)V * sizeof(double));
    if (!wrow || !lp) {
        free(wrow);
        free(lp);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory decoding");
    }
    for (int r = 0; r < R; r++) wrow[r] = r / K;
    for (int t = 0; t < Pt; t++) {
        int active = 0;
        for (int r = 0; r < R; r++) active |= d->score[r] > NEG;
        if (!active) break;
        decoder_step(d, R, t, S, wrow, NULL, 0);
        for (int b = 0; b < B; b++) {
            /* candidates from every live row of this word */
            int nc = 0;
            for (int k = 0; k < K; k++) {
                int r = b * K + k;
                if (d->score[r] <= NEG) continue;
                log_probs(lp, d->logits + (int64_t)r * V, V);
                for (int j = MTX_EOS; j < V; j++) {
                    d->cand_score[nc] = d->score[r] + lp[j];
                    d->cand_idx[nc++] = k * V + j;
                }
            }
            /* The K best candidates, in order: one ending in </s> (or reaching
             * the last position) is finished and gives up its beam slot, the
             * others stay live. With K = 1 this is exactly greedy decoding. */
            int live = 0;
            for (int pick = 0; pick < nc && pick < K; pick++) {
                int bi = pick;
                for (int x = pick + 1; x < nc; x++)
                    if (d->cand_score[x] > d->cand_score[bi] ||
                        (d->cand_score[x] == d->cand_score[bi] && d->cand_idx[x] < d->cand_idx[bi])) bi = x;
                double sc = d->cand_score[bi];
                int ci = d->cand_idx[bi];
                d->cand_score[bi] = d->cand_score[pick];
                d->cand_idx[bi] = d->cand_idx[pick];
                int k = ci / V, j = ci % V, r = b * K + k;
                if (j == MTX_EOS || t == Pt - 1) {
                    int len = j == MTX_EOS ? t : t + 1;
                    double ns = normalised(sc, t + 1, d->len_alpha);
                    if (d->best_len[b] < 0 || ns > d->best[b]) {
                        d->best[b] = ns;
                        d->best_len[b] = len;
                        memcpy(d->best_hyp + (int64_t)b * Pt, d->hyp + (int64_t)r * Pt, sizeof(int32_t) * (size_t)t);
                        if (j != MTX_EOS) d->best_hyp[(int64_t)b * Pt + t] = j;
                    }
                    continue;
                }
                int nr = b * K + live++;
                d->parent[nr] = r;
                memcpy(d->hyp2 + (int64_t)nr * Pt, d->hyp + (int64_t)r * Pt, sizeof(int32_t) * (size_t)t);
                d->hyp2[(int64_t)nr * Pt + t] = j;
                d->tok[nr] = j;
                d->score[nr] = sc; /* safe: this word's rows were all read into candidates */
            }
            for (int k = live; k < K; k++) {
                d->score[b * K + k] = NEG;
                d->parent[b * K + k] = b * K + k;
                d->tok[b * K + k] = MTX_PAD;
            }
            /* Exact pruning: log-probabilities only fall as tokens are added, so a
             * live hypothesis can at best reach score / Pt^alpha; drop it if even
             * that cannot beat the best finished one. */
            if (d->best_len[b] >= 0)
                for (int k = 0; k < live; k++) {
                    int r = b * K + k;
                    if (normalised(d->score[r], Pt, d->len_alpha) < d->best[b]) d->score[r] = NEG;
                }
        }
        /* reorder hypothesis tokens and K/V caches to follow their parents */
        int32_t *th = d->hyp; d->hyp = d->hyp2; d->hyp2 = th;
        if (K > 1) {
            const size_t row = (size_t)Pt * 2 * (size_t)C;
            const size_t layer = (size_t)d->max_words * (size_t)K * row;
            for (int l = 0; l < d->L; l++)
                for (int r = 0; r < R; r++)
                    memcpy(d->kcache2 + l * layer + (size_t)r * row,
                           d->kcache + l * layer + (size_t)d->parent[r] * row,
                           sizeof(float) * (size_t)(t + 1) * 2 * (size_t)C);
            float *tc = d->kcache; d->kcache = d->kcache2; d->kcache2 = tc;
        }
    }
    for (int b = 0; b < B; b++) {
        int len = d->best_len[b] < 0 ? 0 : d->best_len[b];
        memcpy(out + (int64_t)b * out_stride, d->best_hyp + (int64_t)b * Pt, sizeof(int32_t) * (size_t)len);
        out_len[b] = len;
    }
    free(wrow);
    free(lp);
    return MTX_OK;
}
