/* forward.c - whole-model forward and backward for training (see forward.h). */
#include "model/forward.h"
#include "model/gemm.h"
#include "model/ops.h"

#include <stdlib.h>
#include <string.h>

/* Dropout sites: each gets its own mask stream within a step. */
enum { SITE_SRC_EMB = 0, SITE_TGT_EMB = 1, SITE_ENC = 8, SITE_DEC = 8 + 2 * MTX_MAX_LAYERS };
static uint64_t stream_of(const mtx_fwd_opts *o, int site) {
    return o->step * 1024u + (uint64_t)site;
}

void mtx_net_from_model(mtx_net *n, const mtx_model *m, mtx_weights *g) {
    memset(n, 0, sizeof *n);
    n->cfg = &m->cfg;
    n->w = &m->w;
    n->g = g;
    n->n_enc = m->cfg.num_layers;
    n->n_dec = m->cfg.num_decoder_layers;
    for (int i = 0; i < n->n_enc; i++) {
        n->enc[i] = &m->w.enc[i];
        n->genc[i] = g ? &g->enc[i] : NULL;
    }
    for (int i = 0; i < n->n_dec; i++) {
        n->dec[i] = &m->w.dec[i];
        n->gdec[i] = g ? &g->dec[i] : NULL;
    }
}

/* Lays the activation buffers out from base; with base NULL only counts. */
static size_t acts_layout(mtx_acts *a, float *base) {
    const size_t R = (size_t)a->cap_rows, C = (size_t)a->C, F = (size_t)a->F, V = (size_t)a->V;
    const size_t P = (size_t)a->H * R * (size_t)a->max_len;
    size_t off = 0;
#define TAKE(dst, n) do { (dst) = base ? base + off : NULL; off += (n); } while (0)
    TAKE(a->enc_res, (size_t)(a->n_enc + 1) * R * C);
    for (int l = 0; l < a->n_enc; l++) {
        mtx_enc_acts *e = &a->enc[l];
        TAKE(e->a1, R * C); TAKE(e->rstd1, R); TAKE(e->qkv, 3 * R * C); TAKE(e->P, P);
        TAKE(e->att, R * C); TAKE(e->xmid, R * C); TAKE(e->a2, R * C); TAKE(e->rstd2, R);
        TAKE(e->h, R * F); TAKE(e->r, R * F);
    }
    TAKE(a->enc_out, R * C); TAKE(a->enc_rstd, R);
    TAKE(a->dec_res, (size_t)(a->n_dec + 1) * R * C);
    for (int l = 0; l < a->n_dec; l++) {
        mtx_dec_acts *d = &a->dec[l];
        TAKE(d->a1, R * C); TAKE(d->rstd1, R); TAKE(d->qkv, 3 * R * C); TAKE(d->P1, P);
        TAKE(d->att1, R * C); TAKE(d->xmid1, R * C);
        TAKE(d->a2, R * C); TAKE(d->rstd2, R); TAKE(d->q2, R * C); TAKE(d->kv2, 2 * R * C);
        TAKE(d->P2, P); TAKE(d->att2, R * C); TAKE(d->xmid2, R * C);
        TAKE(d->a3, R * C); TAKE(d->rstd3, R); TAKE(d->h, R * F); TAKE(d->r, R * F);
    }
    TAKE(a->dec_hn, R * C); TAKE(a->dec_rstd, R); TAKE(a->logits, R * V);
    TAKE(a->d_res, R * C); TAKE(a->d_tmp, R * C); TAKE(a->d_att, R * C); TAKE(a->d_a, R * C);
    TAKE(a->d_enc, R * C); TAKE(a->d_qkv, 3 * R * C); TAKE(a->d_h, R * F);
    TAKE(a->d_kv, 2 * R * C); TAKE(a->d_q, R * C); TAKE(a->d_logits, R * V);
#undef TAKE
    return off;
}

mtx_status mtx_acts_init(mtx_acts *a, const mtx_model_config *c, int n_enc, int n_dec,
                         int cap_rows, int max_len) {
    memset(a, 0, sizeof *a);
    if (n_enc < 1 || n_enc > MTX_MAX_LAYERS || n_dec < 1 || n_dec > MTX_MAX_LAYERS)
        return mtx_set_error(MTX_ERR_ARG, "layer count out of range [1, %d]", MTX_MAX_LAYERS);
    if (max_len < 1 || max_len > MTX_MAX_POSITIONS || cap_rows < max_len || cap_rows > (1 << 22))
        return mtx_set_error(MTX_ERR_ARG, "activation capacity invalid (rows %d, length %d)", cap_rows, max_len);
    a->cap_rows = cap_rows;
    a->max_len = max_len;
    a->n_enc = n_enc;
    a->n_dec = n_dec;
    a->C = c->d_model;
    a->F = c->d_ff;
    a->H = c->num_heads;
    a->eps = c->layer_norm_epsilon;
    a->V = c->tgt_vocab_size;
    size_t total = acts_layout(a, NULL);
    a->buf = malloc(total * sizeof(float));
    if (!a->buf) return mtx_set_error(MTX_ERR_NOMEM, "out of memory for activations (%zu MiB)", total * 4 >> 20);
    a->buf_floats = total;
    acts_layout(a, a->buf);
    return MTX_OK;
}

void mtx_acts_free(mtx_acts *a) {
    free(a->buf);
    memset(a, 0, sizeof *a);
}

static mtx_status check_batch(const mtx_acts *a, const mtx_net *n, const mtx_batch *b) {
    if (b->B < 1 || b->S < 1 || b->T < 1 || b->S > a->max_len || b->T > a->max_len ||
        (int64_t)b->B * b->S > a->cap_rows || (int64_t)b->B * b->T > a->cap_rows)
        return mtx_set_error(MTX_ERR_ARG, "batch %dx(%d,%d) exceeds activation capacity", b->B, b->S, b->T);
    if (b->S > n->cfg->max_source_positions || b->T > n->cfg->max_target_positions)
        return mtx_set_error(MTX_ERR_ARG, "batch lengths (%d,%d) exceed the model's positions", b->S, b->T);
    if (n->n_enc > a->n_enc || n->n_dec > a->n_dec)
        return mtx_set_error(MTX_ERR_ARG, "network deeper than its activation buffers");
    return MTX_OK;
}

static void residual_branch(float *out, const float *x, float *branch, int64_t n, const mtx_fwd_opts *o, int site) {
    mtx_dropout(branch, n, o->dropout, o->seed, stream_of(o, site));
    for (int64_t i = 0; i < n; i++) out[i] = x[i] + branch[i];
}

/* Pre-norm self-attention sub-layer: xmid = x + drop(attn(rmsnorm(x)) Wo^T). */
static void self_attn_forward(const mtx_acts *a, float *xmid, float *an, float *rstd, float *qkv, float *P,
                              float *att, const float *x, const float *ln, const float *wqkv,
                              const float *wo, int N, const mtx_attn_shape *sh, const mtx_fwd_opts *o, int site) {
    const int C = a->C;
    mtx_rmsnorm_forward(an, rstd, x, ln, N, C, a->eps);
    mtx_linear(qkv, an, wqkv, N, C, 3 * C, 0);
    mtx_attention_forward(att, P, qkv, 3 * C, qkv + C, qkv + 2 * C, 3 * C, sh);
    mtx_linear(xmid, att, wo, N, C, C, 0);
    residual_branch(xmid, x, xmid, (int64_t)N * C, o, site);
}

/* Pre-norm ReLU feed-forward sub-layer: out = xin + drop(relu(rmsnorm(xin) Wi^T) Wo^T). */
static void ffn_forward(const mtx_acts *a, float *out, float *an, float *rstd, float *h, float *r,
                        const float *xin, const float *ln, const float *wi, const float *wo, int N,
                        const mtx_fwd_opts *o, int site) {
    const int C = a->C, F = a->F;
    mtx_rmsnorm_forward(an, rstd, xin, ln, N, C, a->eps);
    mtx_linear(h, an, wi, N, C, F, 0);
    mtx_relu_forward(r, h, (int64_t)N * F);
    mtx_linear(out, r, wo, N, F, C, 0);
    residual_branch(out, xin, out, (int64_t)N * C, o, site);
}

void mtx_enc_layer_forward(mtx_acts *a, int slot, const mtx_enc_layer *w, const float *x, float *out,
                           const mtx_batch *b, const mtx_fwd_opts *o, int l) {
    const int C = a->C, H = a->H, Ns = b->B * b->S;
    mtx_enc_acts *e = &a->enc[slot];
    mtx_attn_shape sa = { b->B, b->S, b->S, H, C / H, 0, b->src_len };
    self_attn_forward(a, e->xmid, e->a1, e->rstd1, e->qkv, e->P, e->att, x, w->ln1, w->qkv, w->o, Ns, &sa, o,
                      SITE_ENC + 2 * l);
    ffn_forward(a, out, e->a2, e->rstd2, e->h, e->r, e->xmid, w->ln2, w->wi, w->wo, Ns, o, SITE_ENC + 2 * l + 1);
}

/* Encoder stack into a->enc_out. reuse_layer_acts: inference mode, every
 * layer writes into a->enc[0] and the residual stream ping-pongs between
 * enc_res slots 0 and 1, so only one layer of activations is needed. */
static void encoder_forward(mtx_acts *a, const mtx_net *n, const mtx_batch *b,
                            const mtx_fwd_opts *o, int reuse_layer_acts) {
    const mtx_model_config *c = n->cfg;
    const int C = c->d_model;
    const int Ns = b->B * b->S;
    const float eps = c->layer_norm_epsilon;
    const size_t RC = (size_t)a->cap_rows * (size_t)C;
    mtx_embed_forward(a->enc_res, b->src, n->w->src_emb, n->w->src_pos, b->B, b->S, C);
    mtx_dropout(a->enc_res, (int64_t)Ns * C, o->dropout, o->seed, stream_of(o, SITE_SRC_EMB));
    const float *last = a->enc_res;
    for (int l = 0; l < n->n_enc; l++) {
        const float *x = reuse_layer_acts ? a->enc_res + (size_t)(l % 2) * RC : a->enc_res + (size_t)l * RC;
        float *out = reuse_layer_acts ? a->enc_res + (size_t)((l + 1) % 2) * RC : a->enc_res + (size_t)(l + 1) * RC;
        mtx_enc_layer_forward(a, reuse_layer_acts ? 0 : l, n->enc[l], x, out, b, o, l);
        last = out;
    }
    mtx_rmsnorm_forward(a->enc_out, a->enc_rstd, last, n->w->enc_ln, Ns, C, eps);
}

mtx_status mtx_encode(mtx_acts *a, const mtx_net *n, const mtx_batch *b) {
    if (b->B < 1 || b->S < 1 || b->S > a->max_len || (int64_t)b->B * b->S > a->cap_rows ||
        b->S > n->cfg->max_source_positions)
        return mtx_set_error(MTX_ERR_ARG, "source batch %dx%d exceeds capacity", b->B, b->S);
    mtx_fwd_opts o = { 0.0f, 0, 0 };
    encoder_forward(a, n, b, &o, a->n_enc < n->n_enc);
    return MTX_OK;
}

void mtx_dec_layer_forward(mtx_acts *a, int slot, const mtx_dec_layer *w, const float *x, const float *mem,
                           float *out, const mtx_batch *b, const mtx_fwd_opts *o, int l) {
    const int C = a->C, H = a->H;
    const int Ns = b->B * b->S, Nt = b->B * b->T;
    mtx_dec_acts *d = &a->dec[slot];
    mtx_attn_shape ss = { b->B, b->T, b->T, H, C / H, 1, NULL };
    mtx_attn_shape cs = { b->B, b->T, b->S, H, C / H, 0, b->src_len };
    self_attn_forward(a, d->xmid1, d->a1, d->rstd1, d->qkv, d->P1, d->att1, x, w->ln1, w->qkv, w->o, Nt, &ss, o,
                      SITE_DEC + 3 * l);
    /* cross-attention: q from the decoder stream, k/v from mem */
    mtx_rmsnorm_forward(d->a2, d->rstd2, d->xmid1, w->ln2, Nt, C, a->eps);
    mtx_linear(d->q2, d->a2, w->cq, Nt, C, C, 0);
    mtx_linear(d->kv2, mem, w->ckv, Ns, C, 2 * C, 0);
    mtx_attention_forward(d->att2, d->P2, d->q2, C, d->kv2, d->kv2 + C, 2 * C, &cs);
    mtx_linear(d->xmid2, d->att2, w->co, Nt, C, C, 0);
    residual_branch(d->xmid2, d->xmid1, d->xmid2, (int64_t)Nt * C, o, SITE_DEC + 3 * l + 1);
    ffn_forward(a, out, d->a3, d->rstd3, d->h, d->r, d->xmid2, w->ln3, w->wi, w->wo, Nt, o, SITE_DEC + 3 * l + 2);
}

mtx_status mtx_forward(mtx_acts *a, const mtx_net *n, const mtx_batch *b, const mtx_fwd_opts *o) {
    mtx_status st = check_batch(a, n, b);
    if (st) return st;
    const mtx_model_config *c = n->cfg;
    const int C = c->d_model, V = c->tgt_vocab_size;
    const int Nt = b->B * b->T;
    const float eps = c->layer_norm_epsilon;
    const size_t RC = (size_t)a->cap_rows * (size_t)C;

    encoder_forward(a, n, b, o, 0);

    /* decoder */
    mtx_embed_forward(a->dec_res, b->tgt_in, n->w->tgt_emb, n->w->tgt_pos, b->B, b->T, C);
    mtx_dropout(a->dec_res, (int64_t)Nt * C, o->dropout, o->seed, stream_of(o, SITE_TGT_EMB));
    for (int l = 0; l < n->n_dec; l++)
        mtx_dec_layer_forward(a, l, n->dec[l], a->dec_res + (size_t)l * RC, a->enc_out,
                              a->dec_res + (size_t)(l + 1) * RC, b, o, l);
    mtx_rmsnorm_forward(a->dec_hn, a->dec_rstd, a->dec_res + (size_t)n->n_dec * RC, n->w->dec_ln, Nt, C, eps);
    mtx_linear(a->logits, a->dec_hn, n->w->lm_head, Nt, C, V, 0);
    return MTX_OK;
}

double mtx_loss(mtx_acts *a, const mtx_batch *b, float smoothing, double *nll, int64_t *correct) {
    float scale = b->n_tgt > 0 ? 1.0f / (float)b->n_tgt : 0.0f;
    return mtx_crossentropy(a->d_logits, a->logits, b->tgt_out, b->B * b->T, a->V, smoothing,
                            scale, nll, correct);
}

/* d (N,C) holds the gradient of a branch's residual sum; writes the gradient of
 * the branch output (dropout applied) into tmp. */
static void branch_grad(float *tmp, const float *d, int64_t n, const mtx_fwd_opts *o, int site) {
    memcpy(tmp, d, (size_t)n * sizeof(float));
    mtx_dropout(tmp, n, o->dropout, o->seed, stream_of(o, site));
}

static void add_into(float *d, const float *x, int64_t n) {
    if (!x) return;
    for (int64_t i = 0; i < n; i++) d[i] += x[i];
}

/* FFN sub-layer backward: on entry dres = d(out), on exit d(xin) where
 * out = xin + drop(relu(rmsnorm(xin) Wi^T) Wo^T). */
static void ffn_backward(mtx_acts *a, float *dres, const float *xin, const float *an,
                         const float *rstd, const float *h, const float *r, const float *ln,
                         const float *wi, const float *wo, float *gln, float *gwi, float *gwo,
                         int N, const mtx_fwd_opts *o, int site) {
    const int C = a->C, F = a->F;
    branch_grad(a->d_tmp, dres, (int64_t)N * C, o, site);
    memset(a->d_h, 0, sizeof(float) * (size_t)N * F);
    mtx_linear_backward(a->d_h, gwo, a->d_tmp, r, wo, N, F, C);
    mtx_relu_backward(a->d_h, a->d_h, h, (int64_t)N * F);
    memset(a->d_a, 0, sizeof(float) * (size_t)N * C);
    mtx_linear_backward(a->d_a, gwi, a->d_h, an, wi, N, C, F);
    mtx_rmsnorm_backward(dres, gln, a->d_a, xin, ln, rstd, N, C);
}

/* Self-attention sub-layer backward (encoder or decoder). */
static void self_attn_backward(mtx_acts *a, float *dres, const float *xin, const float *an,
                               const float *rstd, const float *qkv, const float *P,
                               const float *att, const float *ln, const float *wqkv,
                               const float *wo, float *gln, float *gqkv, float *gwo, int N,
                               const mtx_attn_shape *sh, const mtx_fwd_opts *o, int site,
                               const float *Pt, const float *row_w) {
    const int C = a->C;
    branch_grad(a->d_tmp, dres, (int64_t)N * C, o, site);
    memset(a->d_att, 0, sizeof(float) * (size_t)N * C);
    mtx_linear_backward(a->d_att, gwo, a->d_tmp, att, wo, N, C, C);
    memset(a->d_qkv, 0, sizeof(float) * (size_t)N * 3 * C);
    mtx_attention_backward(a->d_qkv, a->d_qkv + C, a->d_qkv + 2 * C, 3 * C, 3 * C, a->d_att, P,
                           qkv, qkv + C, qkv + 2 * C, sh, Pt, row_w);
    memset(a->d_a, 0, sizeof(float) * (size_t)N * C);
    mtx_linear_backward(a->d_a, gqkv, a->d_qkv, an, wqkv, N, C, 3 * C);
    mtx_rmsnorm_backward(dres, gln, a->d_a, xin, ln, rstd, N, C);
}

void mtx_enc_layer_backward(mtx_acts *a, int slot, const mtx_enc_layer *w, mtx_enc_layer *gl,
                            const float *x, float *dres, const mtx_batch *b, const mtx_fwd_opts *o, int l) {
    const int C = a->C, H = a->H, Ns = b->B * b->S;
    const mtx_enc_acts *e = &a->enc[slot];
    mtx_attn_shape sa = { b->B, b->S, b->S, H, C / H, 0, b->src_len };
    ffn_backward(a, dres, e->xmid, e->a2, e->rstd2, e->h, e->r, w->ln2, w->wi, w->wo,
                 gl ? gl->ln2 : NULL, gl ? gl->wi : NULL, gl ? gl->wo : NULL, Ns, o,
                 SITE_ENC + 2 * l + 1);
    self_attn_backward(a, dres, x, e->a1, e->rstd1, e->qkv, e->P, e->att, w->ln1, w->qkv, w->o,
                       gl ? gl->ln1 : NULL, gl ? gl->qkv : NULL, gl ? gl->o : NULL, Ns, &sa, o,
                       SITE_ENC + 2 * l, a->enc_att_target[slot], a->att_w_src);
}

void mtx_dec_layer_backward(mtx_acts *a, int slot, const mtx_dec_layer *w, mtx_dec_layer *gl,
                            const float *x, const float *mem, float *dres, float *dmem,
                            const mtx_batch *b, const mtx_fwd_opts *o, int l) {
    const int C = a->C, H = a->H, Ns = b->B * b->S, Nt = b->B * b->T;
    const mtx_dec_acts *d = &a->dec[slot];
    mtx_attn_shape ss = { b->B, b->T, b->T, H, C / H, 1, NULL };
    mtx_attn_shape cs = { b->B, b->T, b->S, H, C / H, 0, b->src_len };
    ffn_backward(a, dres, d->xmid2, d->a3, d->rstd3, d->h, d->r, w->ln3, w->wi, w->wo,
                 gl ? gl->ln3 : NULL, gl ? gl->wi : NULL, gl ? gl->wo : NULL, Nt, o,
                 SITE_DEC + 3 * l + 2);
    /* cross-attention: q from a2, k/v from the encoder output */
    branch_grad(a->d_tmp, dres, (int64_t)Nt * C, o, SITE_DEC + 3 * l + 1);
    memset(a->d_att, 0, sizeof(float) * (size_t)Nt * C);
    mtx_linear_backward(a->d_att, gl ? gl->co : NULL, a->d_tmp, d->att2, w->co, Nt, C, C);
    memset(a->d_q, 0, sizeof(float) * (size_t)Nt * C);
    memset(a->d_kv, 0, sizeof(float) * (size_t)Ns * 2 * C);
    mtx_attention_backward(a->d_q, a->d_kv, a->d_kv + C, C, 2 * C, a->d_att, d->P2, d->q2,
                           d->kv2, d->kv2 + C, &cs, a->dec_cross_target[slot], a->att_w_tgt);
    mtx_linear_backward(dmem, gl ? gl->ckv : NULL, a->d_kv, mem, w->ckv, Ns, C, 2 * C);
    memset(a->d_a, 0, sizeof(float) * (size_t)Nt * C);
    mtx_linear_backward(a->d_a, gl ? gl->cq : NULL, a->d_q, d->a2, w->cq, Nt, C, C);
    mtx_rmsnorm_backward(dres, gl ? gl->ln2 : NULL, a->d_a, d->xmid1, w->ln2, d->rstd2, Nt, C);
    self_attn_backward(a, dres, x, d->a1, d->rstd1, d->qkv, d->P1, d->att1, w->ln1, w->qkv, w->o,
                       gl ? gl->ln1 : NULL, gl ? gl->qkv : NULL, gl ? gl->o : NULL, Nt, &ss, o,
                       SITE_DEC + 3 * l, a->dec_self_target[slot], a->att_w_tgt);
}

void mtx_backward(mtx_acts *a, const mtx_net *n, const mtx_batch *b, const mtx_fwd_opts *o) {
    const mtx_model_config *c = n->cfg;
    const int C = c->d_model, V = c->tgt_vocab_size;
    const int Ns = b->B * b->S, Nt = b->B * b->T;
    const size_t RC = (size_t)a->cap_rows * (size_t)C;
    mtx_weights *g = n->g;

    /* logits = rmsnorm(dec_res[L]) lm_head^T */
    memset(a->d_a, 0, sizeof(float) * (size_t)Nt * C);
    mtx_linear_backward(a->d_a, g ? g->lm_head : NULL, a->d_logits, a->dec_hn, n->w->lm_head, Nt, C, V);
    float *dres = a->d_res;
    memset(dres, 0, sizeof(float) * (size_t)Nt * C);
    mtx_rmsnorm_backward(dres, g ? g->dec_ln : NULL, a->d_a, a->dec_res + (size_t)n->n_dec * RC,
                         n->w->dec_ln, a->dec_rstd, Nt, C);
    memset(a->d_enc, 0, sizeof(float) * (size_t)Ns * C);

    for (int l = n->n_dec - 1; l >= 0; l--) {
        add_into(dres, a->dec_dres_extra[l], (int64_t)Nt * C);
        mtx_dec_layer_backward(a, l, n->dec[l], n->gdec[l], a->dec_res + (size_t)l * RC, a->enc_out,
                               dres, a->d_enc, b, o, l);
    }
    if (g) {
        branch_grad(a->d_tmp, dres, (int64_t)Nt * C, o, SITE_TGT_EMB);
        mtx_embed_backward(g->tgt_emb, g->tgt_pos, a->d_tmp, b->tgt_in, b->B, b->T, C);
    }

    /* encoder: gradient of enc_out was accumulated in d_enc by every cross-attention */
    memset(dres, 0, sizeof(float) * (size_t)Ns * C);
    mtx_rmsnorm_backward(dres, g ? g->enc_ln : NULL, a->d_enc, a->enc_res + (size_t)n->n_enc * RC,
                         n->w->enc_ln, a->enc_rstd, Ns, C);
    for (int l = n->n_enc - 1; l >= 0; l--) {
        add_into(dres, a->enc_dres_extra[l], (int64_t)Ns * C);
        mtx_enc_layer_backward(a, l, n->enc[l], n->genc[l], a->enc_res + (size_t)l * RC, dres, b, o, l);
    }
    if (g) {
        branch_grad(a->d_tmp, dres, (int64_t)Ns * C, o, SITE_SRC_EMB);
        mtx_embed_backward(g->src_emb, g->src_pos, a->d_tmp, b->src, b->B, b->S, C);
    }
}

double mtx_train_flops(const mtx_net *n, const mtx_batch *b) {
    const mtx_model_config *c = n->cfg;
    const double C = c->d_model, F = c->d_ff, V = c->tgt_vocab_size;
    double fwd = 0.0;
    for (int i = 0; i < b->B; i++) {
        double s = b->src_len[i], t = 0;
        for (int j = 0; j < b->T; j++) t += b->tgt_out[i * b->T + j] >= 0;
        /* encoder layer: qkv, o, wi, wo GEMMs + QK^T and PV */
        fwd += n->n_enc * (s * 2 * (4 * C * C + 2 * C * F) + 4 * s * s * C);
        /* decoder layer: self qkv/o, cross q/o, cross k/v on the source, FFN, attention */
        fwd += n->n_dec * (t * 2 * (6 * C * C + 2 * C * F) + s * 2 * 2 * C * C +
                           2 * t * (t + 1) * C + 4 * t * s * C);
        fwd += t * 2 * C * V;
    }
    return 3.0 * fwd;
}
