/* trainer_state.h - internal: the trainer's state, shared by trainer.c and
 * train_checkpoint.c. Not part of the public API. */
#ifndef MTX_TRAINER_STATE_H
#define MTX_TRAINER_STATE_H

#include "train/run_loop.h"
#include "train/train.h"

struct mtx_trainer {
    mtx_model_config mcfg;
    mtx_train_config tcfg;
    const mtx_dataset *data;
    mtx_model model;
    float *grad;            /* (n_params) mirroring model.params */
    mtx_adamw opt;          /* moments and decay mask, same layout */
    mtx_weights gw, mw, vw; /* views of grad, opt.m, opt.v */
    mtx_net net;
    mtx_acts acts;
    mtx_batcher train_bt, eval_bt;
    mtx_batch_buf bb;
    mtx_run_pos pos;
};

#endif
