/* test_grad.c - central finite-difference checks of every op's backward and
 * of the whole training loss on a tiny model (dropout on: masks are a pure
 * function of the seed, so the loss is a deterministic function of the
 * parameters). */
#include "model/forward.h"
#include "model/model.h"
#include "model/ops.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mtx_rng g_rng;

static void randn(float *p, int64_t n, float s) {
    for (int64_t i = 0; i < n; i++) p[i] = s * mtx_rng_normal(&g_rng);
}

static double dotf(const float *a, const float *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Compares analytic and numeric gradients: normalised error of the whole
 * vector must be small, and every element must agree within a relative
 * tolerance scaled by the vector's largest entry (float32 differences). */
static int grad_close(const char *what, const float *an, const double *num, int64_t n, double tol) {
    double diff = 0, na = 0, nn = 0, amax = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += (an[i] - num[i]) * (an[i] - num[i]);
        na += (double)an[i] * an[i];
        nn += num[i] * num[i];
        if (fabs(num[i]) > amax) amax = fabs(num[i]);
    }
    double rel = sqrt(diff) / (sqrt(na) + sqrt(nn) + 1e-30);
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (fabs(an[i] - num[i]) > 10 * tol * amax) bad++;
    if (rel > tol || bad || amax == 0) {
        fprintf(stderr, "\n  %s: normalised error %.3g (tol %.3g), %d elements off, max |g| %.3g\n",
                what, rel, tol, bad, amax);
        return 0;
    }
    return 1;
}

/* ---- per-op checks: loss = <out, R> ---- */

typedef double (*lossfn)(void *ctx);

static void numeric(double *num, float *x, int64_t n, float h, lossfn f, void *ctx) {
    for (int64_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = f(ctx);
        x[i] = keep - h;
        double lm = f(ctx);
        x[i] = keep;
        num[i] = (lp - lm) / (2.0 * h);
    }
}

enum { RN = 6, RC = 8 };
typedef struct { float x[RN * RC], w[RC], out[RN * RC], rstd[RN], R[RN * RC]; } rms_ctx;
static double rms_loss(void *p) {
    rms_ctx *c = p;
    mtx_rmsnorm_forward(c->out, c->rstd, c->x, c->w, RN, RC, 1e-6f);
    return dotf(c->out, c->R, RN * RC);
}
static void test_rmsnorm_grad(void) {
    rms_ctx c;
    randn(c.x, RN * RC, 1.0f);
    randn(c.w, RC, 1.0f);
    randn(c.R, RN * RC, 1.0f);
    float dx[RN * RC] = { 0 }, dw[RC] = { 0 };
    double num[RN * RC];
    rms_loss(&c);
    mtx_rmsnorm_backward(dx, dw, c.R, c.x, c.w, c.rstd, RN, RC);
    numeric(num, c.x, RN * RC, 1e-2f, rms_loss, &c);
    CU_ASSERT(grad_close("rmsnorm dx", dx, num, RN * RC, 2e-3));
    numeric(num, c.w, RC, 1e-2f, rms_loss, &c);
    CU_ASSERT(grad_close("rmsnorm dw", dw, num, RC, 2e-3));
}

enum { AB = 2, ATq = 5, ATk = 4, AH = 2, Ahs = 3, AC = AH * Ahs };
typedef struct {
    float q[AB * ATq * AC], kv[AB * ATk * 2 * AC], out[AB * ATq * AC], P[AB * AH * ATq * ATk];
    float R[AB * ATq * AC];
    float Pt[AB * AH * ATq * ATk], row_w[AB * ATq]; /* distillation targets (kd) */
    int kd;
    mtx_attn_shape sh;
} attn_ctx;
static double attn_loss(void *p) {
    attn_ctx *c = p;
    mtx_attention_forward(c->out, c->P, c->q, AC, c->kv, c->kv + AC, 2 * AC, &c->sh);
    double l = dotf(c->out, c->R, AB * ATq * AC);
    if (c->kd) l += mtx_attention_kl(c->P, c->Pt, c->row_w, &c->sh);
    return l;
}
/* kd: plus the attention-distribution KL to random target rows (over the
 * visible keys), one query row of weight 0 */
static void attn_check(int causal, int kd) {
    static const int klen[AB] = { 4, 2 };
    attn_ctx c;
    c.sh = (mtx_attn_shape){ AB, ATq, ATk, AH, Ahs, causal, klen };
    c.kd = kd;
    randn(c.q, AB * ATq * AC, 1.0f);
    randn(c.kv, AB * ATk * 2 * AC, 1.0f);
    randn(c.R, AB * ATq * AC, 1.0f);
    memset(c.Pt, 0, sizeof c.Pt);
    for (int b = 0; b < AB; b++)
        for (int i = 0; i < ATq; i++) {
            c.row_w[b * ATq + i] = i == 1 ? 0.0f : 0.5f + 0.25f * (float)i;
            int nk = klen[b];
            if (causal && i + 1 < nk) nk = i + 1;
            for (int h = 0; h < AH; h++) {
                float *pt = c.Pt + ((b * AH + h) * ATq + i) * ATk, sum = 0.0f;
                randn(pt, nk, 1.0f);
                for (int j = 0; j < nk; j++) sum += (pt[j] = expf(pt[j]));
                for (int j = 0; j < nk; j++) pt[j] /= sum;
            }
        }
    float dq[AB * ATq * AC] = { 0 }, dkv[AB * ATk * 2 * AC] = { 0 };
    double numq[AB * ATq * AC], numkv[AB * ATk * 2 * AC];
    attn_loss(&c);
    mtx_attention_backward(dq, dkv, dkv + AC, AC, 2 * AC, c.R, c.P, c.q, c.kv, c.kv + AC, &c.sh,
                           kd ? c.Pt : NULL, kd ? c.row_w : NULL);
    numeric(numq, c.q, AB * ATq * AC, 1e-2f, attn_loss, &c);
    numeric(numkv, c.kv, AB * ATk * 2 * AC, 1e-2f, attn_loss, &c);
    CU_ASSERT(grad_close(kd ? "attention + KL dq" : causal ? "causal attention dq" : "attention dq", dq, numq,
                         AB * ATq * AC, 2e-3));
    CU_ASSERT(grad_close(kd ? "attention + KL dkv" : causal ? "causal attention dkv" : "attention dkv", dkv, numkv,
                         AB * ATk * 2 * AC, 2e-3));
    if (kd) {
        /* the KL is 0 exactly when the rows match, and positive otherwise */
        CU_ASSERT(mtx_attention_kl(c.P, c.Pt, c.row_w, &c.sh) > 0.0);
        CU_ASSERT(fabs(mtx_attention_kl(c.P, c.P, c.row_w, &c.sh)) < 1e-9);
    }
    /* masked keys get exactly zero probability and zero gradient */
    for (int i = 0; i < ATq; i++)
        for (int j = 2; j < ATk; j++) CU_ASSERT_EQUAL(c.P[((1 * AH + 0) * ATq + i) * ATk + j], 0.0f);
    for (int j = 2; j < ATk; j++)
        for (int d = 0; d < 2 * AC; d++) CU_ASSERT_EQUAL(dkv[(1 * ATk + j) * 2 * AC + d], 0.0f);
}
static void test_attention_grad(void) { attn_check(0, 0); }
static void test_attention_causal_grad(void) { attn_check(1, 0); }
static void test_attention_kl_grad(void) {
    attn_check(0, 1);
    attn_check(1, 1);
}

enum { EV = 5, EB = 2, ET = 3, EC = 4 };
typedef struct { int32_t tok[EB * ET]; float emb[EV * EC], pos[ET * EC], out[EB * ET * EC], R[EB * ET * EC]; } emb_ctx;
static double emb_loss(void *p) {
    emb_ctx *c = p;
    mtx_embed_forward(c->out, c->tok, c->emb, c->pos, EB, ET, EC);
    return dotf(c->out, c->R, EB * ET * EC);
}
static void test_embed_grad(void) {
    emb_ctx c;
    const int32_t tok[EB * ET] = { 1, 3, 1, 4, 0, 3 };
    memcpy(c.tok, tok, sizeof tok);
    randn(c.emb, EV * EC, 1.0f);
    randn(c.pos, ET * EC, 1.0f);
    randn(c.R, EB * ET * EC, 1.0f);
    float de[EV * EC] = { 0 }, dp[ET * EC] = { 0 };
    double num[EV * EC];
    mtx_embed_backward(de, dp, c.R, c.tok, EB, ET, EC);
    numeric(num, c.emb, EV * EC, 1e-2f, emb_loss, &c);
    CU_ASSERT(grad_close("embedding", de, num, EV * EC, 1e-3));
    numeric(num, c.pos, ET * EC, 1e-2f, emb_loss, &c);
    CU_ASSERT(grad_close("positions", dp, num, ET * EC, 1e-3));
}

enum { XN = 4, XV = 6 };
typedef struct { float l[XN * XV]; int32_t y[XN]; } ce_ctx;
static double ce_loss(void *p) {
    ce_ctx *c = p;
    return mtx_crossentropy(NULL, c->l, c->y, XN, XV, 0.1f, 1.0f, NULL, NULL);
}
static void test_crossentropy_grad(void) {
    ce_ctx c;
    const int32_t y[XN] = { 2, -1, 0, 5 };
    memcpy(c.y, y, sizeof y);
    randn(c.l, XN * XV, 2.0f);
    float d[XN * XV];
    double num[XN * XV], nll;
    int64_t hits;
    mtx_crossentropy(d, c.l, c.y, XN, XV, 0.1f, 1.0f, &nll, &hits);
    numeric(num, c.l, XN * XV, 1e-2f, ce_loss, &c);
    CU_ASSERT(grad_close("cross-entropy", d, num, XN * XV, 1e-3));
    for (int j = 0; j < XV; j++) CU_ASSERT_EQUAL(d[1 * XV + j], 0.0f); /* ignored row */
    /* with no smoothing the loss equals the NLL */
    double l0 = mtx_crossentropy(NULL, c.l, c.y, XN, XV, 0.0f, 1.0f, &nll, NULL);
    CU_ASSERT_DOUBLE_EQUAL(l0, nll, 1e-9);
}

typedef struct { float s[XN * XV], t[XN * XV]; int32_t y[XN]; } kd_ctx;
static double kd_loss(void *p) {
    kd_ctx *c = p;
    return mtx_kl_distill(NULL, c->s, c->t, c->y, XN, XV, 2.0f, 1.0f);
}
static void test_kl_distill_grad(void) {
    kd_ctx c;
    const int32_t y[XN] = { 1, -1, 0, 3 };
    memcpy(c.y, y, sizeof y);
    randn(c.s, XN * XV, 2.0f);
    randn(c.t, XN * XV, 2.0f);
    float d[XN * XV] = { 0 };
    double num[XN * XV];
    double l = mtx_kl_distill(d, c.s, c.t, c.y, XN, XV, 2.0f, 1.0f);
    CU_ASSERT(l > 0);
    numeric(num, c.s, XN * XV, 1e-2f, kd_loss, &c);
    CU_ASSERT(grad_close("KL distillation", d, num, XN * XV, 1e-3));
    for (int j = 0; j < XV; j++) CU_ASSERT_EQUAL(d[1 * XV + j], 0.0f);
    /* identical logits: zero loss and zero gradient */
    memcpy(c.t, c.s, sizeof c.s);
    memset(d, 0, sizeof d);
    CU_ASSERT_DOUBLE_EQUAL(mtx_kl_distill(d, c.s, c.t, c.y, XN, XV, 2.0f, 1.0f), 0.0, 1e-9);
    for (int j = 0; j < XN * XV; j++) CU_ASSERT_DOUBLE_EQUAL(d[j], 0.0, 1e-7);
}

typedef struct { float x[RN * RC], t[RN * RC]; uint8_t mask[RN]; } mse_ctx;
static double mse_loss(void *p) {
    mse_ctx *c = p;
    return mtx_mse(NULL, c->x, c->t, c->mask, RN, RC, 1.0f);
}
static void test_mse_grad(void) {
    mse_ctx c;
    randn(c.x, RN * RC, 1.0f);
    randn(c.t, RN * RC, 1.0f);
    for (int i = 0; i < RN; i++) c.mask[i] = i != 2;
    float d[RN * RC] = { 0 };
    double num[RN * RC];
    mtx_mse(d, c.x, c.t, c.mask, RN, RC, 1.0f);
    numeric(num, c.x, RN * RC, 1e-2f, mse_loss, &c);
    CU_ASSERT(grad_close("hidden-state MSE", d, num, RN * RC, 1e-3));
    for (int j = 0; j < RC; j++) CU_ASSERT_EQUAL(d[2 * RC + j], 0.0f);
}

static void test_relu_grad(void) {
    float h[6] = { -1.0f, 0.5f, 2.0f, -0.3f, 1e-3f, -2.0f }, out[6], dout[6] = { 1, 2, 3, 4, 5, 6 }, dh[6];
    mtx_relu_forward(out, h, 6);
    mtx_relu_backward(dh, dout, h, 6);
    const float expect[6] = { 0, 2, 3, 0, 5, 0 };
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(dh[i], expect[i]);
        CU_ASSERT_EQUAL(out[i], h[i] > 0 ? h[i] : 0.0f);
    }
}

static void test_dropout_mask(void) {
    enum { N = 20000 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = 1.0f;
    memcpy(y, x, sizeof x);
    mtx_dropout(x, N, 0.25f, 7, 3);
    mtx_dropout(y, N, 0.25f, 7, 3);
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(x[i], y[i]);
        zeros += x[i] == 0.0f;
        if (x[i] != 0.0f) CU_ASSERT_DOUBLE_EQUAL(x[i], 1.0 / 0.75, 1e-6);
    }
    CU_ASSERT(zeros > N / 4 - 400 && zeros < N / 4 + 400);
    mtx_dropout(y, N, 0.25f, 7, 4); /* another stream: a different mask */
    int same = 0;
    for (int i = 0; i < N; i++) same += (x[i] == 0.0f) == (y[i] == 0.0f);
    CU_ASSERT(same < N);
}

/* ---- whole-model check ---- */

typedef struct {
    mtx_model m;
    mtx_net net;
    mtx_acts acts;
    mtx_batch b;
    mtx_fwd_opts o;
} model_ctx;

static double model_loss(void *p) {
    model_ctx *c = p;
    CU_ASSERT_EQUAL_FATAL(mtx_forward(&c->acts, &c->net, &c->b, &c->o), MTX_OK);
    /* mtx_loss returns the sum; its gradient is that of the mean */
    return mtx_loss(&c->acts, &c->b, 0.1f, NULL, NULL) / c->b.n_tgt;
}

static void test_model_grad(void) {
    mtx_model_config cfg = mtx_model_config_default();
    cfg.d_model = 8;
    cfg.num_heads = 2;
    cfg.d_ff = 12;
    cfg.num_layers = 2;
    cfg.num_decoder_layers = 2;
    cfg.src_vocab_size = 7;
    cfg.tgt_vocab_size = 6;
    cfg.max_source_positions = 5;
    cfg.max_target_positions = 5;
    cfg.dropout_rate = 0.1f;
    model_ctx c;
    CU_ASSERT_EQUAL_FATAL(mtx_model_init(&c.m, &cfg), MTX_OK);
    mtx_model_init_weights(&c.m, 11);
    /* perturb norms away from 1 so their gradients are exercised generically */
    for (size_t i = 0; i < c.m.n_params; i++) c.m.params[i] += 0.05f * mtx_rng_normal(&g_rng);
    mtx_net_from_model(&c.net, &c.m, NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_acts_init(&c.acts, &cfg, 2, 2, 16, 5), MTX_OK);
    static const int32_t src[2 * 4] = { 1, 2, 3, 4, 5, 6, 0, 0 };
    static const int slen[2] = { 4, 2 };
    static const int32_t tin[2 * 3] = { 1, 3, 4, 1, 5, 0 };
    static const int32_t tout[2 * 3] = { 3, 4, 2, 5, 2, -1 };
    c.b = (mtx_batch){ 2, 4, 3, src, slen, tin, tout, 5 };
    c.o = (mtx_fwd_opts){ 0.1f, 99, 3 };

    float *grad = calloc(c.m.n_params, sizeof(float));
    double *num = calloc(c.m.n_params, sizeof(double));
    CU_ASSERT_FATAL(grad && num);
    mtx_weights g;
    CU_ASSERT_EQUAL_FATAL(mtx_weights_bind(&g, &cfg, grad), MTX_OK);
    c.net.g = &g;
    for (int i = 0; i < 2; i++) {
        c.net.genc[i] = &g.enc[i];
        c.net.gdec[i] = &g.dec[i];
    }
    model_loss(&c);
    mtx_backward(&c.acts, &c.net, &c.b, &c.o);
    numeric(num, c.m.params, (int64_t)c.m.n_params, 3e-3f, model_loss, &c);
    CU_ASSERT(grad_close("whole model", grad, num, (int64_t)c.m.n_params, 1e-2));

    /* a frozen network (no gradient views) still runs and leaves grads alone */
    memset(grad, 0, c.m.n_params * sizeof(float));
    mtx_net frozen;
    mtx_net_from_model(&frozen, &c.m, NULL);
    model_loss(&c);
    mtx_backward(&c.acts, &frozen, &c.b, &c.o);
    int nz = 0;
    for (size_t i = 0; i < c.m.n_params; i++) nz += grad[i] != 0.0f;
    CU_ASSERT_EQUAL(nz, 0);

    mtx_weights_unbind(&g);
    free(grad);
    free(num);
    mtx_acts_free(&c.acts);
    mtx_model_free(&c.m);
}

void mtx_suite_grad(void) {
    mtx_rng_seed(&g_rng, 42);
    CU_pSuite s = CU_add_suite("gradients", NULL, NULL);
    CU_add_test(s, "rmsnorm backward vs finite differences", test_rmsnorm_grad);
    CU_add_test(s, "attention backward vs finite differences", test_attention_grad);
    CU_add_test(s, "causal attention backward vs finite differences", test_attention_causal_grad);
    CU_add_test(s, "attention-distribution KL backward vs finite differences", test_attention_kl_grad);
    CU_add_test(s, "embedding backward vs finite differences", test_embed_grad);
    CU_add_test(s, "label-smoothed cross-entropy vs finite differences", test_crossentropy_grad);
    CU_add_test(s, "KL distillation loss vs finite differences", test_kl_distill_grad);
    CU_add_test(s, "hidden-state MSE vs finite differences", test_mse_grad);
    CU_add_test(s, "relu backward", test_relu_grad);
    CU_add_test(s, "dropout masks are reproducible", test_dropout_mask);
    CU_add_test(s, "whole-model loss vs finite differences", test_model_grad);
}
