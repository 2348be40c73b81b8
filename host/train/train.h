/* train/ (layer 2) - training a model: the data of a run (dataset), the
 * optimiser step (optim), the run loop shared with modularize (run_loop), the
 * trainer (trainer), teacher-forced evaluation (teacher_forced), checkpoints
 * and resume (train_checkpoint) and the whole `modtx train` run with its
 * metrics log (train_run). */
/* train.h - the trainer: AdamW, warm-up + cosine decay, gradient-norm
 * clipping, dropout, label smoothing, token-count batches, periodic atomic
 * checkpoints and exact resume.
 *
 * Library code: progress is reported through a callback, never printed. */
#ifndef MTX_TRAIN_H
#define MTX_TRAIN_H

#include "data/batch.h"
#include "io/checkpoint.h"
#include "model/config.h"
#include "model/forward.h"
#include "train/dataset.h"
#include "train/optim.h"

typedef struct {
    int64_t step, max_steps;
    int kind;              /* 0: training progress, 1: dev evaluation, 2: checkpoint written */
    double loss;           /* mean smoothed loss per target token over the last log window */
    double lr, grad_norm;
    double tokens_per_s;   /* source + target tokens processed per second (last window) */
    double gflops;         /* model FLOP/s / 1e9 (last window) */
    double elapsed_s, eta_s;
    double dev_nll, dev_acc; /* kind 1: per-token NLL and teacher-forced accuracy */
} mtx_train_progress;

typedef void (*mtx_progress_fn)(const mtx_train_progress *p, void *ctx);

typedef struct mtx_trainer mtx_trainer;

typedef struct {
    double loss_sum;  /* smoothed loss summed over target tokens */
    double nll_sum;
    int64_t tgt_tokens, src_tokens;
    double flops, grad_norm, lr;
} mtx_step_stats;

/* Builds a trainer over a fresh, seeded model (or over `init` if non-NULL, copied). */
mtx_status mtx_trainer_new(mtx_trainer **out, const mtx_model_config *m, const mtx_train_config *t,
                           const mtx_dataset *d, const mtx_model *init);
void mtx_trainer_free(mtx_trainer *tr);
/* One optimisation step on the next batch. Allocates nothing. */
mtx_status mtx_trainer_step(mtx_trainer *tr, mtx_step_stats *s);
/* Teacher-forced dev loss (dropout off): per-token NLL and accuracy. */
mtx_status mtx_trainer_eval(mtx_trainer *tr, const mtx_encoded *data, double *nll, double *acc);
/* Teacher-forced NLL per target token and token accuracy (acc may be NULL)
 * of net over every batch of bt in its fixed order (no dropout), with acts
 * and bb as scratch. Shared by the trainer, the module trainer and sweep. */
mtx_status mtx_teacher_forced_eval(const mtx_net *net, mtx_acts *acts, mtx_batch_buf *bb, mtx_batcher *bt,
                                   double *nll, double *acc);
const mtx_model *mtx_trainer_model(const mtx_trainer *tr);
int64_t mtx_trainer_step_count(const mtx_trainer *tr);

/* Saves model directory + optimiser state into dir. */
mtx_status mtx_trainer_checkpoint(mtx_trainer *tr, const char *dir, const char *provenance_json);
/* Restores model + optimiser state + data position from dir. */
mtx_status mtx_trainer_restore(mtx_trainer *tr, const char *dir);

/* `modtx train`: full run with checkpoints every checkpoint_every steps into
 * out_dir; resume continues the run in out_dir exactly.
 *
 * init_dir (non-NULL: fine-tuning, `--init`) names a model directory whose
 * weights and vocabularies the new run starts from; the optimiser (AdamW
 * moments zero) and the schedule (warm-up + decay from step 0) start fresh
 * from config_path. The architecture in config_path must match the model's
 * (mtx_model_config_same_arch: everything but dropout_rate; vocabulary sizes
 * left 0 are taken from the model), else MTX_ERR_ARG naming the first
 * differing key. The provenance records the model's path as "init_model",
 * and a resumed run keeps it. init_dir with resume is MTX_ERR_ARG: the
 * training state of a run is self-contained, so --resume alone continues a
 * fine-tuning run. threads > 0 overrides training.threads (not part of a run's
 * identity: a run may resume with another count). */
mtx_status mtx_train_run(const char *config_path, const char *out_dir, int resume, const char *init_dir,
                         int threads, const char *command_line, mtx_progress_fn fn, void *ctx);

/* Keeps only the lines of a JSON-lines log whose "step" is <= step (a
 * resumed run rewrites the rest). */
mtx_status mtx_metrics_truncate(const char *path, int64_t step);

#endif
