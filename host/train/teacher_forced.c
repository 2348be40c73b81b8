/* teacher_forced.c - teacher-forced NLL and token accuracy of a network
 * over a batcher (see train.h). */
#include "train/train.h"
#include "model/ops.h"

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
