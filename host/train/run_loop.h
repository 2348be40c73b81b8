/* run_loop.h - the one loop of every training run (`train` and
 * `modularize`): steps until max_steps, and on its cadences
 *   every log_every steps (and the last): a metrics line of the log window
 *     and a progress report (kind 0),
 *   every eval_every steps (0: never; and the last): a dev evaluation, its
 *     metrics line and a progress report (kind 1),
 *   every checkpoint_every steps (and the last): a checkpoint and a progress
 *     report (kind 2).
 * What a step, a window line, an evaluation or a checkpoint is belongs to the
 * trainer, through mtx_run_hooks; the loop owns the cadence, the clock, the
 * metrics file and the progress reports.
 *
 * It also holds the data position of a run (mtx_run_pos): steps done, epoch
 * and next batch, with the epoch rollover that reshuffles the batches. */
#ifndef MTX_RUN_LOOP_H
#define MTX_RUN_LOOP_H

#include "data/batch.h"
#include "model/config.h"
#include "train/train.h"

/* Where a run is in its data: a pure function of the steps done, so a
 * resumed run continues with the batch an uninterrupted one would take. */
typedef struct {
    int64_t step;   /* optimisation steps done */
    int64_t epoch;  /* current epoch */
    int batch;      /* next batch within the epoch */
} mtx_run_pos;

/* Epoch 0 of seed: the batcher's first shuffle. */
void mtx_run_pos_start(mtx_run_pos *p, mtx_batcher *bt, uint64_t seed);
/* The index of the batch the next step trains on; starts the next epoch
 * (reshuffled with seed) when the current one is used up. */
int mtx_run_pos_next(mtx_run_pos *p, mtx_batcher *bt, uint64_t seed);
/* After a successful step: one step and one batch further. */
void mtx_run_pos_advance(mtx_run_pos *p);
/* A restored position (from a checkpoint at path): shuffles the batcher for
 * epoch and checks batch against it (one-line error naming path). */
mtx_status mtx_run_pos_restore(mtx_run_pos *p, mtx_batcher *bt, uint64_t seed, int64_t step, int64_t epoch,
                               int64_t batch, const char *path);

/* A line of the log window or of an evaluation, written into line (cap
 * bytes, a JSON object) for the metrics file; p arrives with kind, step,
 * max_steps (and for a window elapsed_s and eta_s) filled by the loop and
 * receives the fields the trainer knows (loss, lr, grad_norm, tokens_per_s,
 * gflops, dev_nll, dev_acc). */
typedef struct {
    void *ctx;
    /* Steps done so far. */
    int64_t (*steps)(void *ctx);
    /* One optimisation step; the trainer adds it to its log window. */
    mtx_status (*step)(void *ctx);
    /* The window's line (window_s: seconds since the last window ended);
     * then the trainer starts a new window. */
    mtx_status (*window)(void *ctx, int64_t step, double window_s, char *line, size_t cap, mtx_train_progress *p);
    /* A dev evaluation's line. */
    mtx_status (*eval)(void *ctx, int64_t step, char *line, size_t cap, mtx_train_progress *p);
    /* Writes a checkpoint of the state after `step` steps. */
    mtx_status (*checkpoint)(void *ctx, int64_t step);
} mtx_run_hooks;

/* Runs steps until t->max_steps, appending the lines to the metrics file
 * (JSON lines) and reporting progress to fn (may be NULL). */
mtx_status mtx_run_loop(const mtx_run_hooks *h, const mtx_train_config *t, const char *metrics,
                        mtx_progress_fn fn, void *fn_ctx);

#endif
