/* modular_train.c - the module trainer: state, one optimisation step,
 * evaluation of an assembly and state access for checkpoints (see
 * modular.h). */
#include "modular/modular_state.h"

#include <stdlib.h>
#include <string.h>

mtx_status mtx_modular_new(mtx_modular **out, const mtx_modular_config *c, const mtx_model *teacher,
                           const mtx_dataset *d) {
    *out = NULL;
    mtx_modular *m = calloc(1, sizeof *m);
    if (!m) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    m->cfg = *c;
    m->data = d;
    const mtx_model_config *mc = &teacher->cfg;
    const int R = c->opt.batch_tokens, C = mc->d_model;
    const int maxlen = mc->max_source_positions > mc->max_target_positions ? mc->max_source_positions : mc->max_target_positions;
    mtx_status st = mtx_bank_init(&m->bank, teacher, c->gran, c->n_gran, c->init);
    if (st) {
        free(m);
        return st;
    }
    size_t n = m->bank.n_mod;
    const int ne = m->bank.enc_first[c->n_gran], nmod = ne + m->bank.dec_first[c->n_gran];
    m->grad = calloc(n, sizeof(float));
    st = mtx_adamw_init(&m->opt, n);
    m->seg_len = calloc((size_t)nmod + 1, sizeof(size_t));
    m->used = calloc((size_t)nmod + 1, 1);
    if (c->parts > 1) {
        m->gacc = calloc(n, sizeof(float));
        m->used_acc = calloc((size_t)nmod + 1, 1);
        if (!m->gacc || !m->used_acc) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory for the module trainer");
    }
    for (int k = 0; m->seg_len && k < nmod; k++) m->seg_len[k] = k < ne ? mtx_enc_layer_size(mc) : mtx_dec_layer_size(mc);
    m->extra = malloc(sizeof(float) * (size_t)(mc->num_layers + mc->num_decoder_layers) * (size_t)R * (size_t)C);
    m->src_mask = malloc((size_t)R);
    m->tgt_mask = malloc((size_t)R);
    m->att_w_src = malloc(sizeof(float) * (size_t)R);
    m->att_w_tgt = malloc(sizeof(float) * (size_t)R);
    if (!m->grad || !m->seg_len || !m->used || !m->extra || !m->src_mask || !m->tgt_mask ||
        !m->att_w_src || !m->att_w_tgt)
        st = mtx_set_error(MTX_ERR_NOMEM, "out of memory for the module trainer");
    if (!st) st = mtx_bank_bind_like(&m->bank, m->grad, &m->genc, &m->gdec);
    mtx_decay_marker mk = { &m->opt, m->grad };
    for (int i = 0; !st && i < ne; i++) st = mtx_enc_layer_foreach(&m->genc[i], mc, "", mtx_adamw_mark_decay, &mk);
    for (int i = 0; !st && i < nmod - ne; i++) st = mtx_dec_layer_foreach(&m->gdec[i], mc, "", mtx_adamw_mark_decay, &mk);
    if (!st) {
        mtx_net_from_model(&m->teacher_net, &m->bank.teacher, NULL);
        st = mtx_acts_init(&m->acts, mc, mc->num_layers, mc->num_decoder_layers, R, maxlen);
    }
    if (!st) st = mtx_acts_init(&m->tacts, mc, mc->num_layers, mc->num_decoder_layers, R, maxlen);
    if (!st && c->gamma_local > 0) st = mtx_acts_init(&m->lacts, mc, 1, 1, R, maxlen);
    if (!st) st = mtx_batch_buf_init(&m->bb, R);
    if (!st) st = mtx_batcher_init(&m->bt, &d->train, R);
    if (!st) st = mtx_batcher_init(&m->dev_bt, &d->dev, R);
    if (st) {
        mtx_modular_free(m);
        return st;
    }
    mtx_run_pos_start(&m->pos, &m->bt, c->opt.seed);
    *out = m;
    return MTX_OK;
}

void mtx_modular_free(mtx_modular *m) {
    if (!m) return;
    mtx_bank_free(&m->bank);
    free(m->grad); free(m->gacc); free(m->used_acc); free(m->seg_len); free(m->used);
    mtx_adamw_free(&m->opt);
    free(m->genc); free(m->gdec); free(m->extra); free(m->src_mask); free(m->tgt_mask);
    free(m->att_w_src); free(m->att_w_tgt);
    mtx_acts_free(&m->acts);
    mtx_acts_free(&m->tacts);
    mtx_acts_free(&m->lacts);
    mtx_batcher_free(&m->bt);
    mtx_batcher_free(&m->dev_bt);
    mtx_batch_buf_free(&m->bb);
    free(m);
}

const mtx_bank *mtx_modular_bank(const mtx_modular *m) { return &m->bank; }
int64_t mtx_modular_steps(const mtx_modular *m) { return m->pos.step; }

mtx_status mtx_modular_step(mtx_modular *m, mtx_modular_stats *s) {
    const mtx_train_config *t = &m->cfg.opt;
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int64_t step = m->pos.step;
    mtx_batch_fill(&m->bb, &m->bt, mtx_run_pos_next(&m->pos, &m->bt, t->seed));
    mtx_assembly a;
    mtx_modular_stats tmp;
    if (!s) s = &tmp;
    mtx_status st;
    if (m->cfg.parts > 1) {
        st = mtx_modular_parts_loss_grad(m, &m->bb.b, s, &a);
    } else {
        mtx_modular_sample(&m->cfg, mc->num_layers, mc->num_decoder_layers, step, &a);
        st = mtx_modular_loss_grad(m, &a, &m->bb.b, (uint64_t)step, NULL, s);
    }
    if (st) return st;
    /* m->used marks the modules with a gradient: AdamW moves only those,
     * the others keep their weights and moments */
    const int nmod = m->bank.enc_first[m->bank.n_gran] + m->bank.dec_first[m->bank.n_gran];
    mtx_optim_stats os;
    st = mtx_optim_step(&m->opt, t, step, m->bank.mod, m->grad, m->seg_len, m->used, nmod, &os);
    if (st) return st;
    s->grad_norm = os.grad_norm;
    s->lr = os.lr;
    s->rate = mtx_modular_replace_rate(&m->cfg, step);
    s->enc_blocks = a.enc.n;
    s->dec_blocks = a.dec.n;
    mtx_run_pos_advance(&m->pos);
    return MTX_OK;
}

mtx_status mtx_modular_eval(mtx_modular *m, const mtx_assembly *a, const mtx_encoded *data,
                            double *nll, double *acc) {
    mtx_net net;
    mtx_status st = mtx_bank_net(&m->bank, a, &net, NULL, NULL);
    if (st) return st;
    mtx_batcher tmp, *bt = &m->dev_bt;
    if (data != &m->data->dev) {
        st = mtx_batcher_init(&tmp, data, m->cfg.opt.batch_tokens);
        if (st) return st;
        bt = &tmp;
    }
    st = mtx_teacher_forced_eval(&net, &m->acts, &m->bb, bt, nll, acc);
    if (bt != &m->dev_bt) mtx_batcher_free(bt);
    return st;
}

/* State access for modular_io.c (checkpointing). */

mtx_status mtx_modular_state_views(mtx_modular *m, float **adam_m, float **adam_v, int64_t *step,
                                   int64_t *epoch, int *batch) {
    *adam_m = m->opt.m;
    *adam_v = m->opt.v;
    *step = m->pos.step;
    *epoch = m->pos.epoch;
    *batch = m->pos.batch;
    return MTX_OK;
}

mtx_status mtx_modular_set_position(mtx_modular *m, int64_t step, int64_t epoch, int batch) {
    return mtx_run_pos_restore(&m->pos, &m->bt, m->cfg.opt.seed, step, epoch, batch, "bank checkpoint");
}

mtx_bank *mtx_modular_bank_mut(mtx_modular *m) { return &m->bank; }

const float *mtx_modular_grad(const mtx_modular *m) { return m->grad; }
