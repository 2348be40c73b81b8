/* trainer.c - the trainer of `modtx train`: one step, dev evaluation (see
 * train.h). */
#include "train/trainer_state.h"
#include "model/gemm.h"
#include "model/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int max_len_of(const mtx_model_config *m) {
    return m->max_source_positions > m->max_target_positions ? m->max_source_positions
                                                              : m->max_target_positions;
}

mtx_status mtx_trainer_new(mtx_trainer **out, const mtx_model_config *m, const mtx_train_config *t,
                           const mtx_dataset *d, const mtx_model *init) {
    *out = NULL;
    mtx_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return mtx_set_error(MTX_ERR_NOMEM, "out of memory for the trainer");
    tr->mcfg = *m;
    tr->mcfg.src_vocab_size = d->sv.n;
    tr->mcfg.tgt_vocab_size = d->tv.n;
    tr->tcfg = *t;
    tr->data = d;
    mtx_status st = mtx_model_init(&tr->model, &tr->mcfg);
    if (st) {
        free(tr);
        return st;
    }
    if (init) {
        if (init->n_params != tr->model.n_params) st = mtx_set_error(MTX_ERR_ARG, "initial model has another shape");
        else memcpy(tr->model.params, init->params, init->n_params * sizeof(float));
    } else {
        mtx_model_init_weights(&tr->model, t->seed);
    }
    size_t n = tr->model.n_params;
    tr->grad = calloc(n, sizeof(float));
    if (!st && !tr->grad) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory for the gradients");
    if (!st) st = mtx_adamw_init(&tr->opt, n);
    mtx_decay_marker mk = { &tr->opt, tr->grad };
    if (!st) st = mtx_weights_bind(&tr->gw, &tr->mcfg, tr->grad);
    if (!st) st = mtx_weights_bind(&tr->mw, &tr->mcfg, tr->opt.m);
    if (!st) st = mtx_weights_bind(&tr->vw, &tr->mcfg, tr->opt.v);
    if (!st) st = mtx_weights_foreach(&tr->gw, &tr->mcfg, mtx_adamw_mark_decay, &mk);
    if (!st) {
        mtx_net_from_model(&tr->net, &tr->model, &tr->gw);
        st = mtx_acts_init(&tr->acts, &tr->mcfg, tr->mcfg.num_layers, tr->mcfg.num_decoder_layers,
                           t->batch_tokens, max_len_of(&tr->mcfg));
    }
    if (!st) st = mtx_batch_buf_init(&tr->bb, t->batch_tokens);
    if (!st) st = mtx_batcher_init(&tr->train_bt, &d->train, t->batch_tokens);
    if (!st) st = mtx_batcher_init(&tr->eval_bt, &d->dev, t->batch_tokens);
    if (st) {
        mtx_trainer_free(tr);
        return st;
    }
    mtx_run_pos_start(&tr->pos, &tr->train_bt, t->seed);
    *out = tr;
    return MTX_OK;
}

void mtx_trainer_free(mtx_trainer *tr) {
    if (!tr) return;
    mtx_batcher_free(&tr->train_bt);
    mtx_batcher_free(&tr->eval_bt);
    mtx_batch_buf_free(&tr->bb);
    mtx_acts_free(&tr->acts);
    mtx_weights_unbind(&tr->gw);
    mtx_weights_unbind(&tr->mw);
    mtx_weights_unbind(&tr->vw);
    free(tr->grad);
    mtx_adamw_free(&tr->opt);
    mtx_model_free(&tr->model);
    free(tr);
}

const mtx_model *mtx_trainer_model(const mtx_trainer *tr) { return &tr->model; }
int64_t mtx_trainer_step_count(const mtx_trainer *tr) { return tr->pos.step; }

mtx_status mtx_trainer_step(mtx_trainer *tr, mtx_step_stats *s) {
    const mtx_train_config *t = &tr->tcfg;
    const int64_t step = tr->pos.step;
    mtx_batch_fill(&tr->bb, &tr->train_bt, mtx_run_pos_next(&tr->pos, &tr->train_bt, t->seed));
    const mtx_batch *b = &tr->bb.b;
    mtx_fwd_opts o = { tr->mcfg.dropout_rate, t->seed, (uint64_t)step };
    memset(tr->grad, 0, tr->model.n_params * sizeof(float));
    mtx_status st = mtx_forward(&tr->acts, &tr->net, b, &o);
    if (st) return st;
    double nll = 0;
    double loss = mtx_loss(&tr->acts, b, t->label_smoothing, &nll, NULL);
    if (!isfinite(loss))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %lld: loss is %s", (long long)step + 1,
                             isnan(loss) ? "NaN" : "Inf");
    mtx_backward(&tr->acts, &tr->net, b, &o);
    mtx_optim_stats os;
    st = mtx_optim_step(&tr->opt, t, step, tr->model.params, tr->grad, NULL, NULL, 0, &os);
    if (st) return st;
    if (s) {
        s->loss_sum = loss;
        s->nll_sum = nll;
        s->tgt_tokens = b->n_tgt;
        int64_t src = 0;
        for (int i = 0; i < b->B; i++) src += b->src_len[i];
        s->src_tokens = src;
        s->flops = mtx_train_flops(&tr->net, b);
        s->grad_norm = os.grad_norm;
        s->lr = os.lr;
    }
    mtx_run_pos_advance(&tr->pos);
    return MTX_OK;
}

mtx_status mtx_trainer_eval(mtx_trainer *tr, const mtx_encoded *data, double *nll, double *acc) {
    mtx_batcher *bt = &tr->eval_bt;
    mtx_batcher tmp;
    mtx_status st = MTX_OK;
    if (data != &tr->data->dev) {
        st = mtx_batcher_init(&tmp, data, tr->tcfg.batch_tokens);
        if (st) return st;
        bt = &tmp;
    }
    if (!st) st = mtx_teacher_forced_eval(&tr->net, &tr->acts, &tr->bb, bt, nll, acc);
    if (bt != &tr->eval_bt) mtx_batcher_free(bt);
    return st;
}
