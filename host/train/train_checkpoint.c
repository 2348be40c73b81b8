/* train_checkpoint.c - trainer checkpoints and exact resume (see train.h). */
#include "train/trainer_state.h"
#include "core/fsutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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
    snprintf(num, sizeof num, "%lld", (long long)tr->pos.step);
    if (!st) st = mtx_st_add_meta(wr, "step", num);
    char ep[32], bi[32];
    snprintf(ep, sizeof ep, "%lld", (long long)tr->pos.epoch);
    snprintf(bi, sizeof bi, "%d", tr->pos.batch);
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

/* The legacy branch of restore: states written before the weights moved
 * into them hold only the moments and the position, so the weights come from
 * the exported model, which must be of the same step. */
static mtx_status restore_legacy_weights(mtx_trainer *tr, const char *dir, int64_t step) {
    mtx_bundle b;
    int64_t model_step = -1;
    mtx_status st = mtx_bundle_load(dir, &b);
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
    return st;
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
        st = restore_legacy_weights(tr, dir, step);
    }
    if (!st) st = mtx_weights_foreach(&tr->mw, &tr->mcfg, read_into, cm);
    if (!st) st = mtx_weights_foreach(&tr->vw, &tr->mcfg, read_into, cv);
    mtx_st_close(f);
    if (st) return st;
    for (size_t i = 0; i < tr->model.n_params; i++)
        if (!isfinite(tr->model.params[i]))
            return mtx_set_error(MTX_ERR_FORMAT, "%s: non-finite parameter in the training state", path);
    return mtx_run_pos_restore(&tr->pos, &tr->train_bt, tr->tcfg.seed, step, epoch, batch, path);
}
