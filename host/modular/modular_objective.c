/* modular_objective.c - the modularize objective and its module gradients:
 * CE + KD of the hybrid, hidden-state and attention targets of its modules,
 * the local term of every module, and the parts of a step (see modular.h). */
#include "modular/modular_state.h"
#include "model/ops.h"

#include <math.h>
#include <string.h>

/* The normaliser of a hidden-state MSE: 1, or with hidden_norm "relative"
 * the mean square of the teacher state over valid rows. */
static double target_scale(const mtx_modular *m, const float *t, const uint8_t *mask, int N, int C, int nvalid) {
    if (!m->cfg.hidden_relative || nvalid == 0) return 1.0;
    double ss = 0;
    for (int n = 0; n < N; n++) {
        if (mask && !mask[n]) continue;
        const float *r = t + (size_t)n * C;
        float acc = 0;
        for (int c = 0; c < C; c++) acc += r[c] * r[c];
        ss += acc;
    }
    ss /= (double)nvalid * C;
    return ss > 1e-12 ? ss : 1e-12;
}

/* Fills the normalisers of every teacher depth of one stack for this batch. */
static void depth_scales(const mtx_modular *m, double *ms, int L, const float *tres, const uint8_t *mask, int N,
                         int nvalid) {
    const int C = m->bank.teacher.cfg.d_model;
    const size_t RC = (size_t)m->tacts.cap_rows * (size_t)C;
    for (int d = 0; d <= L; d++) ms[d] = target_scale(m, tres + (size_t)d * RC, mask, N, C, nvalid);
}

/* weight * MSE(x, target) / scale over valid rows and channels: returns the
 * normalised MSE and adds the gradient of the weighted term into dx. */
static double state_mse(const mtx_modular *m, float *dx, const float *x, const float *target, double scale,
                        const uint8_t *mask, int N, int nvalid, float weight) {
    const int C = m->bank.teacher.cfg.d_model;
    const double denom = (double)nvalid * C * scale;
    return mtx_mse(dx, x, target, mask, N, C, (float)(weight / denom)) / denom;
}

/* Hidden-state targets: a module covering teacher layers [s, s+g) at list
 * position i must reproduce the teacher residual stream after layer s+g-1.
 * Returns the sum over modules of the mean squared error (over valid rows and
 * channels); the gradient of beta times that is staged in extra_out. */
static double hidden_loss(mtx_modular *m, const mtx_tiling *t, const float *res, const float *tres,
                          const double *ms, const float **extra_out, float *extra, const uint8_t *mask, int N,
                          int nvalid) {
    const int C = m->bank.teacher.cfg.d_model;
    const size_t RC = (size_t)m->acts.cap_rows * (size_t)C;
    double sum = 0;
    int pos = 0;
    for (int i = 0; i < t->n; i++) {
        int g = t->g[i];
        pos += g;
        extra_out[i] = NULL;
        if (g == 1 || m->cfg.beta_hidden == 0.0f) continue;
        float *ex = extra + (size_t)i * RC;
        memset(ex, 0, sizeof(float) * (size_t)N * C);
        sum += state_mse(m, ex, res + (size_t)(i + 1) * RC, tres + (size_t)pos * RC, ms[pos], mask, N, nvalid,
                         m->cfg.beta_hidden);
        extra_out[i] = ex;
    }
    return sum;
}

/* Attention-distribution targets: a module covering teacher layers [s, s+g)
 * matches its attention distributions (self, and cross in the decoder) to
 * those of teacher layer s+g-1, row by row over the valid query rows.
 * Stages the targets in the hybrid's activations (the backward adds the
 * gradient of beta_attention times the term) and returns the sum over
 * modules of the mean KL per valid query row and head. */
static double attention_loss(mtx_modular *m, const mtx_assembly *a, const mtx_batch *b, int nsrc) {
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int H = mc->num_heads, hs = mc->d_model / H, Ns = b->B * b->S, Nt = b->B * b->T;
    /* the row weights carry beta (the backward applies them to the gradient);
     * the returned term is unweighted: the sum divided by beta (> 0 here) */
    const float beta = m->cfg.beta_attention;
    for (int r = 0; r < Ns; r++) m->att_w_src[r] = m->src_mask[r] ? beta / ((float)nsrc * (float)H) : 0.0f;
    for (int r = 0; r < Nt; r++) m->att_w_tgt[r] = m->tgt_mask[r] ? beta / ((float)b->n_tgt * (float)H) : 0.0f;
    mtx_attn_shape sa = { b->B, b->S, b->S, H, hs, 0, b->src_len };
    mtx_attn_shape ss = { b->B, b->T, b->T, H, hs, 1, NULL };
    mtx_attn_shape cs = { b->B, b->T, b->S, H, hs, 0, b->src_len };
    double sum = 0;
    int pos = 0;
    for (int i = 0; i < a->enc.n; i++) {
        pos += a->enc.g[i];
        if (a->enc.g[i] == 1) continue;
        const float *pt = m->tacts.enc[pos - 1].P;
        sum += mtx_attention_kl(m->acts.enc[i].P, pt, m->att_w_src, &sa);
        m->acts.enc_att_target[i] = pt;
    }
    pos = 0;
    for (int i = 0; i < a->dec.n; i++) {
        pos += a->dec.g[i];
        if (a->dec.g[i] == 1) continue;
        const mtx_dec_acts *td = &m->tacts.dec[pos - 1];
        sum += mtx_attention_kl(m->acts.dec[i].P1, td->P1, m->att_w_tgt, &ss);
        sum += mtx_attention_kl(m->acts.dec[i].P2, td->P2, m->att_w_tgt, &cs);
        m->acts.dec_self_target[i] = td->P1;
        m->acts.dec_cross_target[i] = td->P2;
    }
    m->acts.att_w_src = m->att_w_src;
    m->acts.att_w_tgt = m->att_w_tgt;
    return sum / beta;
}

/* Whether module k (encoder modules first, then decoder modules) takes part
 * in the local term at this step: always at local_rate 1, else a seeded coin
 * per (step, module), so a run and its resume draw the same modules. */
static int local_on(const mtx_modular *m, uint64_t step, int k) {
    if (m->cfg.gamma_local <= 0) return 0;
    if (m->cfg.local_rate >= 1.0f) return 1;
    uint64_t h = mtx_hash64(m->cfg.opt.seed ^ 0x6c6f63616c72ull ^ mtx_hash64(step * 4096u + (uint64_t)k));
    return (double)(h >> 11) * 0x1.0p-53 < (double)m->cfg.local_rate;
}

/* The local term: each module of the bank (each drawn one, see local_on)
 * applied to the frozen teacher's residual stream at the start of its span
 * (decoder modules attend to the teacher's encoder output), compared with the
 * teacher state at the end of its span. Needs the teacher activations of
 * this batch (m->tacts). Adds gamma times its gradient into m->grad, marks
 * the drawn modules in m->used and returns the sum over them of the
 * (normalised) MSE. Dropout streams are apart from the hybrid's. */
static double local_loss_grad(mtx_modular *m, const mtx_batch *b, uint64_t step, uint64_t noise, int nsrc) {
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int C = mc->d_model, Ns = b->B * b->S, Nt = b->B * b->T;
    const size_t RC = (size_t)m->tacts.cap_rows * (size_t)C;
    const mtx_fwd_opts lo = { m->cfg.dropout, m->cfg.opt.seed ^ 0x6c6f63616cull, noise };
    mtx_acts *la = &m->lacts;
    float *out = la->enc_res + RC, *dout = la->dec_res + RC;
    double sum = 0;
    for (int gi = 0; gi < m->bank.n_gran; gi++) {
        const int g = m->bank.gran[gi];
        for (int k = m->bank.enc_first[gi]; k < m->bank.enc_first[gi + 1]; k++) {
            if (!local_on(m, step, k)) continue;
            m->used[k] = 1;
            const int j = k - m->bank.enc_first[gi];
            const float *x = m->tacts.enc_res + (size_t)(g * j) * RC, *t = m->tacts.enc_res + (size_t)(g * j + g) * RC;
            mtx_enc_layer_forward(la, 0, &m->bank.enc_mod[k], x, out, b, &lo, k);
            memset(la->d_res, 0, sizeof(float) * (size_t)Ns * C);
            sum += state_mse(m, la->d_res, out, t, m->enc_ms[g * j + g], m->src_mask, Ns, nsrc, m->cfg.gamma_local);
            mtx_enc_layer_backward(la, 0, &m->bank.enc_mod[k], &m->genc[k], x, la->d_res, b, &lo, k);
        }
        for (int k = m->bank.dec_first[gi]; k < m->bank.dec_first[gi + 1]; k++) {
            const int kk = m->bank.enc_first[m->bank.n_gran] + k; /* index among all modules */
            if (!local_on(m, step, kk)) continue;
            m->used[kk] = 1;
            const int j = k - m->bank.dec_first[gi];
            const float *x = m->tacts.dec_res + (size_t)(g * j) * RC, *t = m->tacts.dec_res + (size_t)(g * j + g) * RC;
            mtx_dec_layer_forward(la, 0, &m->bank.dec_mod[k], x, m->tacts.enc_out, dout, b, &lo, k);
            memset(la->d_res, 0, sizeof(float) * (size_t)Nt * C);
            sum += state_mse(m, la->d_res, dout, t, m->dec_ms[g * j + g], m->tgt_mask, Nt, b->n_tgt,
                             m->cfg.gamma_local);
            /* the teacher's encoder output is frozen: no gradient for it */
            mtx_dec_layer_backward(la, 0, &m->bank.dec_mod[k], &m->gdec[k], x, m->tacts.enc_out, la->d_res,
                                   NULL, b, &lo, k);
        }
    }
    return sum;
}

static mtx_status loss_grad(mtx_modular *m, const mtx_assembly *a, const mtx_batch *b, uint64_t step,
                            uint64_t noise, double *loss, mtx_modular_stats *s) {
    const mtx_train_config *t = &m->cfg.opt;
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int Ns = b->B * b->S, Nt = b->B * b->T, V = mc->tgt_vocab_size;
    mtx_fwd_opts off = { 0.0f, 0, 0 }, on = { m->cfg.dropout, t->seed, noise };
    mtx_status st = mtx_forward(&m->tacts, &m->teacher_net, b, &off);
    mtx_net net;
    if (!st) st = mtx_bank_net(&m->bank, a, &net, m->genc, m->gdec);
    if (!st) st = mtx_forward(&m->acts, &net, b, &on);
    if (st) return st;
    double nll = 0;
    double ce = mtx_loss(&m->acts, b, t->label_smoothing, &nll, NULL);
    double kd = 0;
    if (m->cfg.alpha_kd > 0)
        kd = mtx_kl_distill(m->acts.d_logits, m->acts.logits, m->tacts.logits, b->tgt_out, Nt, V,
                            m->cfg.temperature, m->cfg.alpha_kd / (float)b->n_tgt);
    int nsrc = 0;
    for (int i = 0; i < b->B; i++)
        for (int x = 0; x < b->S; x++) nsrc += (m->src_mask[i * b->S + x] = x < b->src_len[i]);
    for (int r = 0; r < Nt; r++) m->tgt_mask[r] = b->tgt_out[r] >= 0;
    const size_t RC = (size_t)m->acts.cap_rows * (size_t)mc->d_model;
    /* normalisers once per batch: the hybrid's modules and the local term share the teacher targets */
    depth_scales(m, m->enc_ms, mc->num_layers, m->tacts.enc_res, m->src_mask, Ns, nsrc);
    depth_scales(m, m->dec_ms, mc->num_decoder_layers, m->tacts.dec_res, m->tgt_mask, Nt, b->n_tgt);
    double hid = hidden_loss(m, &a->enc, m->acts.enc_res, m->tacts.enc_res, m->enc_ms, m->acts.enc_dres_extra,
                             m->extra, m->src_mask, Ns, nsrc);
    hid += hidden_loss(m, &a->dec, m->acts.dec_res, m->tacts.dec_res, m->dec_ms, m->acts.dec_dres_extra,
                       m->extra + (size_t)mc->num_layers * RC, m->tgt_mask, Nt, b->n_tgt);
    double att = m->cfg.beta_attention > 0 ? attention_loss(m, a, b, nsrc) : 0.0;
    if (!isfinite(ce) || !isfinite(kd) || !isfinite(hid) || !isfinite(att))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %llu: loss is not finite", (unsigned long long)step + 1);
    memset(m->grad, 0, m->bank.n_mod * sizeof(float));
    /* modules with a gradient from this call: the hybrid's, then the local term's */
    const int ne = m->bank.enc_first[m->bank.n_gran];
    memset(m->used, 0, (size_t)(ne + m->bank.dec_first[m->bank.n_gran]));
    for (int i = 0; i < a->enc.n; i++)
        if (a->enc.g[i] > 1) m->used[mtx_bank_enc_module(&m->bank, a->enc.g[i], a->enc.j[i]) - m->bank.enc_mod] = 1;
    for (int i = 0; i < a->dec.n; i++)
        if (a->dec.g[i] > 1) m->used[ne + (mtx_bank_dec_module(&m->bank, a->dec.g[i], a->dec.j[i]) - m->bank.dec_mod)] = 1;
    mtx_backward(&m->acts, &net, b, &on);
    for (int i = 0; i < MTX_MAX_LAYERS; i++) {
        m->acts.enc_dres_extra[i] = m->acts.dec_dres_extra[i] = NULL;
        m->acts.enc_att_target[i] = m->acts.dec_self_target[i] = m->acts.dec_cross_target[i] = NULL;
    }
    m->acts.att_w_src = m->acts.att_w_tgt = NULL;
    double loc = m->cfg.gamma_local > 0 ? local_loss_grad(m, b, step, noise, nsrc) : 0.0;
    if (!isfinite(loc))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %llu: local module loss is not finite", (unsigned long long)step + 1);
    /* the objective whose gradient was just taken (means over tokens / elements) */
    if (loss)
        *loss = ce / b->n_tgt + m->cfg.alpha_kd * kd / b->n_tgt + m->cfg.beta_hidden * hid +
                m->cfg.beta_attention * att + m->cfg.gamma_local * loc;
    if (s) {
        s->ce = nll;
        s->kd = kd;
        s->hidden = hid;
        s->attention = att;
        s->local = loc;
        s->tgt_tokens = b->n_tgt;
    }
    return MTX_OK;
}

mtx_status mtx_modular_loss_grad(mtx_modular *m, const mtx_assembly *a, const mtx_batch *b,
                                 uint64_t step, double *loss, mtx_modular_stats *s) {
    return loss_grad(m, a, b, step, step, loss, s);
}

/* Rows [r0, r1) of a batch as a batch of its own (same padded lengths). */
static mtx_batch batch_rows(const mtx_batch *b, int r0, int r1) {
    mtx_batch p = *b;
    p.B = r1 - r0;
    p.src = b->src + (size_t)r0 * b->S;
    p.src_len = b->src_len + r0;
    p.tgt_in = b->tgt_in + (size_t)r0 * b->T;
    p.tgt_out = b->tgt_out + (size_t)r0 * b->T;
    p.n_tgt = 0;
    for (int i = 0; i < p.B * p.T; i++) p.n_tgt += p.tgt_out[i] >= 0;
    return p;
}

/* assemblies_per_step > 1: the batch's rows in equal parts (at most one per
 * row), each part with its own assembly; the gradient is the mean over the
 * parts weighted by their target tokens, so it is that of the token-weighted
 * mean of the parts' objectives. */
mtx_status mtx_modular_parts_loss_grad(mtx_modular *m, const mtx_batch *b, mtx_modular_stats *s, mtx_assembly *a0) {
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int K = m->cfg.parts < b->B ? m->cfg.parts : b->B;
    const int nu = m->bank.enc_first[m->bank.n_gran] + m->bank.dec_first[m->bank.n_gran];
    const uint64_t step = (uint64_t)m->pos.step;
    memset(m->gacc, 0, m->bank.n_mod * sizeof(float));
    memset(m->used_acc, 0, (size_t)nu);
    memset(s, 0, sizeof *s);
    double hid = 0, att = 0, loc = 0;
    for (int k = 0; k < K; k++) {
        mtx_batch pb = batch_rows(b, (int)((int64_t)b->B * k / K), (int)((int64_t)b->B * (k + 1) / K));
        mtx_assembly a;
        mtx_modular_sample_part(&m->cfg, mc->num_layers, mc->num_decoder_layers, m->pos.step, k, &a);
        if (k == 0) *a0 = a;
        mtx_modular_stats ps;
        mtx_status st = loss_grad(m, &a, &pb, step, step * MTX_MAX_PARTS + (uint64_t)k, NULL, &ps);
        if (st) return st;
        const float w = (float)pb.n_tgt / (float)b->n_tgt;
        for (size_t i = 0; i < m->bank.n_mod; i++) m->gacc[i] += w * m->grad[i];
        for (int i = 0; i < nu; i++) m->used_acc[i] |= m->used[i];
        s->ce += ps.ce;
        s->kd += ps.kd;
        s->tgt_tokens += ps.tgt_tokens;
        hid += w * ps.hidden;
        att += w * ps.attention;
        loc += w * ps.local;
    }
    s->hidden = hid;
    s->attention = att;
    s->local = loc;
    memcpy(m->grad, m->gacc, m->bank.n_mod * sizeof(float));
    memcpy(m->used, m->used_acc, (size_t)nu);
    return MTX_OK;
}
