/* train.c - training loop, optimiser and checkpoint/resume (see train.h). */
#include "train/train.h"
#include "core/fsutil.h"
#include "model/gemm.h"
#include "model/ops.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mtx_trainer {
    mtx_model_config mcfg;
    mtx_train_config tcfg;
    const mtx_dataset *data;
    mtx_model model;
    float *grad, *adam_m, *adam_v; /* (n_params) each, mirroring model.params */
    uint8_t *decay;                /* (n_params) 1 where weight decay applies */
    mtx_weights gw, mw, vw;        /* views of grad, adam_m, adam_v */
    mtx_net net;
    mtx_acts acts;
    mtx_batcher train_bt, eval_bt;
    mtx_batch_buf bb;
    int64_t step;   /* optimisation steps done */
    int64_t epoch;  /* current epoch */
    int batch;      /* next batch within the epoch */
};

/* ---------------------------------------------------------------- data */

mtx_status mtx_dataset_load(mtx_dataset *d, const mtx_train_config *t, const mtx_model_config *m,
                            const char *vocab_dir) {
    memset(d, 0, sizeof *d);
    mtx_corpus split[3];
    memset(split, 0, sizeof split);
    mtx_status st = MTX_OK;
    if (t->train[0]) {
        st = mtx_corpus_load(t->train, &split[0]);
        if (!st) st = mtx_corpus_load(t->dev, &split[1]);
        if (!st && t->test[0]) st = mtx_corpus_load(t->test, &split[2]);
        d->has_test = t->test[0] != 0;
    } else {
        mtx_corpus all;
        st = mtx_corpus_load(t->data, &all);
        if (!st) {
            d->n_skipped = all.n_skipped;
            for (int s = 0; s < 3 && !st; s++) st = mtx_corpus_split(&all, s, &split[s]);
            mtx_corpus_free(&all);
        }
        d->has_test = 1;
    }
    if (!st && split[0].n_entries == 0) st = mtx_set_error(MTX_ERR_DATA, "training split is empty");
    if (!st) {
        if (vocab_dir) {
            char path[MTX_PATH_MAX];
            st = mtx_path_join(path, sizeof path, vocab_dir, "source_vocab.txt");
            if (!st) st = mtx_vocab_load(path, &d->sv);
            if (!st) st = mtx_path_join(path, sizeof path, vocab_dir, "target_vocab.txt");
            if (!st) st = mtx_vocab_load(path, &d->tv);
        } else {
            st = mtx_vocab_build_source(&split[0], &d->sv);
            if (!st) st = mtx_vocab_build_target(&split[0], &d->tv);
        }
    }
    const int max_src = m->max_source_positions, max_tgt = m->max_target_positions - 1;
    if (!st) st = mtx_encode_corpus(&split[0], &d->sv, &d->tv, max_src, max_tgt, &d->train);
    if (!st) st = mtx_encode_corpus(&split[1], &d->sv, &d->tv, max_src, max_tgt, &d->dev);
    if (!st && d->has_test) st = mtx_encode_corpus(&split[2], &d->sv, &d->tv, max_src, max_tgt, &d->test);
    if (!st && d->train.n == 0)
        st = mtx_set_error(MTX_ERR_DATA, "no training entry fits max_source_positions %d / max_target_positions %d (%lld dropped as too long)",
                           max_src, max_tgt + 1, (long long)d->train.n_too_long);
    if (!st && d->dev.n == 0) st = mtx_set_error(MTX_ERR_DATA, "the dev split is empty (or every entry is too long)");
    if (!st && (d->tv.n < 3 || strcmp(d->tv.tok[MTX_BOS], "<s>") || strcmp(d->tv.tok[MTX_EOS], "</s>")))
        st = mtx_set_error(MTX_ERR_FORMAT, "target vocabulary must start with <pad>, <s>, </s>");
    for (int s = 0; s < 3; s++) mtx_corpus_free(&split[s]);
    if (st) mtx_dataset_free(d);
    return st;
}

void mtx_dataset_free(mtx_dataset *d) {
    mtx_vocab_free(&d->sv);
    mtx_vocab_free(&d->tv);
    mtx_encoded_free(&d->train);
    mtx_encoded_free(&d->dev);
    mtx_encoded_free(&d->test);
    memset(d, 0, sizeof *d);
}

/* ----------------------------------------------------------- optimiser */

double mtx_lr_at(const mtx_train_config *t, int64_t step) {
    if (step < t->warmup_steps) return t->lr * (double)(step + 1) / (double)t->warmup_steps;
    double span = (double)(t->max_steps - t->warmup_steps);
    double prog = span > 0 ? (double)(step - t->warmup_steps) / span : 1.0;
    if (prog > 1.0) prog = 1.0;
    double floor_ = t->min_lr_ratio;
    return t->lr * (floor_ + (1.0 - floor_) * 0.5 * (1.0 + cos(3.141592653589793 * prog)));
}

static mtx_status mark_decay(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    (void)name;
    mtx_trainer *tr = p;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    size_t off = (size_t)(data - tr->grad);
    memset(tr->decay + off, ndim >= 2 ? 1 : 0, (size_t)n);
    return MTX_OK;
}

static void adamw_update(mtx_trainer *tr, double lr, float clip_scale) {
    const mtx_train_config *t = &tr->tcfg;
    const double b1 = t->beta1, b2 = t->beta2;
    const double c1 = 1.0 - pow(b1, (double)(tr->step + 1));
    const double c2 = 1.0 - pow(b2, (double)(tr->step + 1));
    const float flr = (float)lr, wd = t->weight_decay, eps = t->adam_eps;
    const float fb1 = (float)b1, fb2 = (float)b2, fc1 = (float)(1.0 / c1), fc2 = (float)(1.0 / c2);
    float *p = tr->model.params, *g = tr->grad, *m = tr->adam_m, *v = tr->adam_v;
    for (size_t i = 0; i < tr->model.n_params; i++) {
        float gi = g[i] * clip_scale;
        m[i] = fb1 * m[i] + (1.0f - fb1) * gi;
        v[i] = fb2 * v[i] + (1.0f - fb2) * gi * gi;
        float upd = (m[i] * fc1) / (sqrtf(v[i] * fc2) + eps);
        if (tr->decay[i]) upd += wd * p[i];
        p[i] -= flr * upd;
    }
}

/* ------------------------------------------------------------- trainer */

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
    tr->adam_m = calloc(n, sizeof(float));
    tr->adam_v = calloc(n, sizeof(float));
    tr->decay = calloc(n, 1);
    if (!st && (!tr->grad || !tr->adam_m || !tr->adam_v || !tr->decay))
        st = mtx_set_error(MTX_ERR_NOMEM, "out of memory for optimiser state");
    if (!st) st = mtx_weights_bind(&tr->gw, &tr->mcfg, tr->grad);
    if (!st) st = mtx_weights_bind(&tr->mw, &tr->mcfg, tr->adam_m);
    if (!st) st = mtx_weights_bind(&tr->vw, &tr->mcfg, tr->adam_v);
    if (!st) st = mtx_weights_foreach(&tr->gw, &tr->mcfg, mark_decay, tr);
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
    mtx_batcher_epoch(&tr->train_bt, t->seed, 0, 1);
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
    free(tr->adam_m);
    free(tr->adam_v);
    free(tr->decay);
    mtx_model_free(&tr->model);
    free(tr);
}

const mtx_model *mtx_trainer_model(const mtx_trainer *tr) { return &tr->model; }
int64_t mtx_trainer_step_count(const mtx_trainer *tr) { return tr->step; }

mtx_status mtx_trainer_step(mtx_trainer *tr, mtx_step_stats *s) {
    const mtx_train_config *t = &tr->tcfg;
    if (tr->batch >= tr->train_bt.n_batches) {
        tr->epoch++;
        tr->batch = 0;
        mtx_batcher_epoch(&tr->train_bt, t->seed, tr->epoch, 1);
    }
    mtx_batch_fill(&tr->bb, &tr->train_bt, tr->batch);
    const mtx_batch *b = &tr->bb.b;
    mtx_fwd_opts o = { tr->mcfg.dropout_rate, t->seed, (uint64_t)tr->step };
    memset(tr->grad, 0, tr->model.n_params * sizeof(float));
    mtx_status st = mtx_forward(&tr->acts, &tr->net, b, &o);
    if (st) return st;
    double nll = 0;
    double loss = mtx_loss(&tr->acts, b, t->label_smoothing, &nll, NULL);
    if (!isfinite(loss))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %lld: loss is %s", (long long)tr->step + 1,
                             isnan(loss) ? "NaN" : "Inf");
    mtx_backward(&tr->acts, &tr->net, b, &o);
    double gn = 0;
    for (size_t i = 0; i < tr->model.n_params; i++) gn += (double)tr->grad[i] * tr->grad[i];
    gn = sqrt(gn);
    if (!isfinite(gn))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %lld: gradient norm is %s", (long long)tr->step + 1,
                             isnan(gn) ? "NaN" : "Inf");
    float clip = (t->grad_clip > 0 && gn > t->grad_clip) ? (float)(t->grad_clip / gn) : 1.0f;
    double lr = mtx_lr_at(t, tr->step);
    adamw_update(tr, lr, clip);
    if (s) {
        s->loss_sum = loss;
        s->nll_sum = nll;
        s->tgt_tokens = b->n_tgt;
        int64_t src = 0;
        for (int i = 0; i < b->B; i++) src += b->src_len[i];
        s->src_tokens = src;
        s->flops = mtx_train_flops(&tr->net, b);
        s->grad_norm = gn;
        s->lr = lr;
    }
    tr->step++;
    tr->batch++;
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

mtx_status mtx_teacher_forced_eval(const mtx_net *net, mtx_acts *acts, mtx_batch_buf *bb, mtx_batcher *bt,
                                   double *nll, double *acc) {
    mtx_batcher_epoch(bt, 0, 0, 0);
    const mtx_fwd_opts o = { 0.0f, 0, 0 };
    double nll_sum = 0;
    int64_t hits = 0, toks = 0;
    for (int i = 0; i < bt->n_batches; i++) {
        mtx_batch_fill(bb, bt, i);
        mtx_status st = mtx_forward(acts, net, &bb->b, &o);
        if (st) return st;
        double n1 = 0;
        int64_t h1 = 0;
        mtx_loss(acts, &bb->b, 0.0f, &n1, &h1);
        nll_sum += n1;
        hits += h1;
        toks += bb->b.n_tgt;
    }
    *nll = toks ? nll_sum / (double)toks : 0.0;
    if (acc) *acc = toks ? (double)hits / (double)toks : 0.0;
    return MTX_OK;
}

/* ---------------------------------------------------- checkpoint/resume */

mtx_status mtx_trainer_checkpoint(mtx_trainer *tr, const char *dir, const char *provenance_json) {
    char path[MTX_PATH_MAX], num[32];
    mtx_status st = mtx_mkdir_p(dir);
    if (st) return st;
    /* The state file is self-contained (weights, moments, position) and
     * written atomically, so resume never depends on model.safetensors,
     * the exported copy written after it. */
    mtx_st_writer *wr = NULL;
    st = mtx_st_writer_new(&wr);
    if (!st) st = mtx_weights_add_to_writer(wr, &tr->model.w, &tr->mcfg, "model.", MTX_DT_F32);
    if (!st) st = mtx_weights_add_to_writer(wr, &tr->mw, &tr->mcfg, "adam.m.", MTX_DT_F32);
    if (!st) st = mtx_weights_add_to_writer(wr, &tr->vw, &tr->mcfg, "adam.v.", MTX_DT_F32);
    snprintf(num, sizeof num, "%lld", (long long)tr->step);
    if (!st) st = mtx_st_add_meta(wr, "step", num);
    char ep[32], bi[32];
    snprintf(ep, sizeof ep, "%lld", (long long)tr->epoch);
    snprintf(bi, sizeof bi, "%d", tr->batch);
    if (!st) st = mtx_st_add_meta(wr, "epoch", ep);
    if (!st) st = mtx_st_add_meta(wr, "batch", bi);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "train_state.safetensors");
    if (!st) st = mtx_st_write(wr, path);
    mtx_st_writer_free(wr);
    const char *meta[] = { "step", num, NULL };
    if (!st) st = mtx_bundle_save(dir, &tr->model, &tr->data->sv, &tr->data->tv, provenance_json,
                                  MTX_DT_F32, meta);
    return st;
}


static mtx_status read_into(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    const void **c = p;
    const mtx_st_file *f = c[0];
    char full[160];
    snprintf(full, sizeof full, "%s%s", (const char *)c[1], name);
    return mtx_st_read_f32(f, full, ndim, shape, data);
}

mtx_status mtx_trainer_restore(mtx_trainer *tr, const char *dir) {
    char path[MTX_PATH_MAX];
    mtx_st_file *f = NULL;
    mtx_status st = mtx_path_join(path, sizeof path, dir, "train_state.safetensors");
    if (!st) st = mtx_st_open(path, &f);
    int64_t step = 0, epoch = 0, batch = 0;
    if (!st) st = mtx_st_meta_int(f, path, "step", &step);
    if (!st) st = mtx_st_meta_int(f, path, "epoch", &epoch);
    if (!st) st = mtx_st_meta_int(f, path, "batch", &batch);
    const void *cw[2] = { f, "model." }, *cm[2] = { f, "adam.m." }, *cv[2] = { f, "adam.v." };
    if (!st && mtx_st_find(f, "model.lm_head.weight")) {
        st = mtx_weights_foreach(&tr->model.w, &tr->mcfg, read_into, cw);
    } else if (!st) {
        /* states written before weights moved into them: take the exported
         * model, which must be of the same step */
        mtx_bundle b;
        int64_t model_step = -1;
        st = mtx_bundle_load(dir, &b);
        if (!st) {
            if (b.model.n_params != tr->model.n_params)
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: checkpoint does not match the configured model", dir);
            else memcpy(tr->model.params, b.model.params, b.model.n_params * sizeof(float));
            mtx_bundle_free(&b);
        }
        mtx_st_file *mf = NULL;
        char mpath[MTX_PATH_MAX];
        if (!st) st = mtx_path_join(mpath, sizeof mpath, dir, "model.safetensors");
        if (!st) st = mtx_st_open(mpath, &mf);
        if (!st) st = mtx_st_meta_int(mf, mpath, "step", &model_step);
        mtx_st_close(mf);
        if (!st && model_step != step)
            st = mtx_set_error(MTX_ERR_FORMAT, "%s: model (step %lld) and optimiser state (step %lld) disagree",
                               dir, (long long)model_step, (long long)step);
    }
    if (!st) st = mtx_weights_foreach(&tr->mw, &tr->mcfg, read_into, cm);
    if (!st) st = mtx_weights_foreach(&tr->vw, &tr->mcfg, read_into, cv);
    mtx_st_close(f);
    if (st) return st;
    for (size_t i = 0; i < tr->model.n_params; i++)
        if (!isfinite(tr->model.params[i]))
            return mtx_set_error(MTX_ERR_FORMAT, "%s: non-finite parameter in the training state", path);
    tr->step = step;
    tr->epoch = epoch;
    mtx_batcher_epoch(&tr->train_bt, tr->tcfg.seed, epoch, 1);
    if (batch > tr->train_bt.n_batches)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: batch index %lld past the epoch", path, (long long)batch);
    tr->batch = (int)batch;
    return MTX_OK;
}
