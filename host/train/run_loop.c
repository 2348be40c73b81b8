/* run_loop.c - the training run loop and data position (see run_loop.h). */
#include "train/run_loop.h"
#include "core/fsutil.h"

#include <stdio.h>

void mtx_run_pos_start(mtx_run_pos *p, mtx_batcher *bt, uint64_t seed) {
    p->step = p->epoch = 0;
    p->batch = 0;
    mtx_batcher_epoch(bt, seed, 0, 1);
}

int mtx_run_pos_next(mtx_run_pos *p, mtx_batcher *bt, uint64_t seed) {
    if (p->batch >= bt->n_batches) {
        p->epoch++;
        p->batch = 0;
        mtx_batcher_epoch(bt, seed, p->epoch, 1);
    }
    return p->batch;
}

void mtx_run_pos_advance(mtx_run_pos *p) {
    p->step++;
    p->batch++;
}

mtx_status mtx_run_pos_restore(mtx_run_pos *p, mtx_batcher *bt, uint64_t seed, int64_t step, int64_t epoch,
                               int64_t batch, const char *path) {
    if (step < 0 || epoch < 0 || batch < 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: negative step, epoch or batch index", path);
    mtx_batcher_epoch(bt, seed, epoch, 1);
    if (batch > bt->n_batches)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: batch index %lld past the epoch", path, (long long)batch);
    p->step = step;
    p->epoch = epoch;
    p->batch = (int)batch;
    return MTX_OK;
}

static int due(int64_t step, int every, int64_t max_steps) {
    return (every > 0 && step % every == 0) || step == max_steps;
}

mtx_status mtx_run_loop(const mtx_run_hooks *h, const mtx_train_config *t, const char *metrics,
                        mtx_progress_fn fn, void *fn_ctx) {
    const int64_t max_steps = t->max_steps, start = h->steps(h->ctx);
    const double t0 = mtx_now_s();
    double win_t0 = t0;
    mtx_status st = MTX_OK;
    char line[1024];
    while (!st && h->steps(h->ctx) < max_steps) {
        st = h->step(h->ctx);
        if (st) break;
        const int64_t step = h->steps(h->ctx);
        if (due(step, t->log_every, max_steps)) {
            const double now = mtx_now_s();
            mtx_train_progress p = { 0 };
            p.kind = 0;
            p.step = step;
            p.max_steps = max_steps;
            p.elapsed_s = now - t0;
            p.eta_s = (double)(max_steps - step) * (now - t0) / (double)(step - start);
            st = h->window(h->ctx, step, now - win_t0, line, sizeof line, &p);
            if (!st) st = mtx_append_line(metrics, line);
            if (fn) fn(&p, fn_ctx);
            win_t0 = now;
        }
        if (!st && due(step, t->eval_every, max_steps)) {
            mtx_train_progress p = { 0 };
            p.kind = 1;
            p.step = step;
            p.max_steps = max_steps;
            st = h->eval(h->ctx, step, line, sizeof line, &p);
            p.elapsed_s = mtx_now_s() - t0;
            if (!st) st = mtx_append_line(metrics, line);
            if (!st && fn) fn(&p, fn_ctx);
        }
        if (!st && due(step, t->checkpoint_every, max_steps)) {
            st = h->checkpoint(h->ctx, step);
            if (!st && fn) {
                mtx_train_progress p = { 0 };
                p.kind = 2;
                p.step = step;
                p.max_steps = max_steps;
                fn(&p, fn_ctx);
            }
        }
    }
    return st;
}
