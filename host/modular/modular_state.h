/* modular_state.h - internal: the module trainer's state, shared by
 * modular_train.c, modular_objective.c and modular_sample.c, and its access
 * for modular_io.c (checkpoint and restore). Not part of the public API. */
#ifndef MTX_MODULAR_STATE_H
#define MTX_MODULAR_STATE_H

#include "modular/modular.h"
#include "train/optim.h"
#include "train/run_loop.h"

struct mtx_modular {
    mtx_modular_config cfg;
    const mtx_dataset *data;
    mtx_bank bank;
    float *grad;                   /* (n_mod) mirroring bank.mod */
    mtx_adamw opt;                 /* moments and decay mask, same layout */
    size_t *seg_len;               /* per module (encoder modules, then decoder modules): its parameters */
    uint8_t *used;                 /* per module: has a gradient from the last loss_grad (assembly or local term) */
    float *gacc;                   /* (n_mod) assemblies_per_step > 1: the step's gradient over its parts */
    uint8_t *used_acc;             /* per module: has a gradient from some part of the step */
    mtx_enc_layer *genc;
    mtx_dec_layer *gdec;
    mtx_net teacher_net;
    mtx_acts acts, tacts;          /* hybrid and teacher activations */
    mtx_acts lacts;                /* one layer's activations for the local term */
    double enc_ms[MTX_MAX_LAYERS + 1], dec_ms[MTX_MAX_LAYERS + 1]; /* this batch's hidden-MSE normalisers per teacher depth */
    float *extra;                  /* (Le + Ld, R, C) hidden-state gradients */
    uint8_t *src_mask, *tgt_mask;  /* (R) valid rows */
    float *att_w_src, *att_w_tgt;  /* (R) attention-term row weights: beta_attention / (valid rows * heads), 0 on padding */
    mtx_batcher bt, dev_bt;
    mtx_batch_buf bb;
    mtx_run_pos pos;
};

/* The replacement rate of the curriculum at a step. */
double mtx_modular_replace_rate(const mtx_modular_config *c, int64_t step);
/* assemblies_per_step > 1: the objective's gradient over the parts of the
 * batch (each with its own assembly; a0 receives part 0's). */
mtx_status mtx_modular_parts_loss_grad(mtx_modular *m, const mtx_batch *b, mtx_modular_stats *s, mtx_assembly *a0);
mtx_status mtx_modular_state_views(mtx_modular *m, float **adam_m, float **adam_v, int64_t *step,
                                   int64_t *epoch, int *batch);
mtx_status mtx_modular_set_position(mtx_modular *m, int64_t step, int64_t epoch, int batch);
mtx_bank *mtx_modular_bank_mut(mtx_modular *m);

#endif
