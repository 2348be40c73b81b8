/* optim.h - the one optimiser step of every trainer (`train` and
 * `modularize`): global gradient-norm clipping, the learning-rate schedule
 * (linear warm-up, then cosine decay to min_lr_ratio * lr) and AdamW with
 * decoupled weight decay on matrices only (norm gains do not decay).
 *
 * Parameters, gradients and both moments are flat float arrays of one
 * layout, so the update is one loop. A caller may update a subset: the
 * parameters are cut into segments (a module of a bank) and only active
 * segments move; the others keep their weights and moments. */
#ifndef MTX_OPTIM_H
#define MTX_OPTIM_H

#include "model/config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t n;        /* parameters */
    float *m, *v;    /* (n) first and second moments */
    uint8_t *decay;  /* (n) 1 where weight decay applies (tensors of two or more dimensions) */
} mtx_adamw;

/* Zeroed moments and an all-zero decay mask for n parameters. */
mtx_status mtx_adamw_init(mtx_adamw *o, size_t n);
void mtx_adamw_free(mtx_adamw *o);

/* Marks the decay mask from a gradient view: an mtx_weights_foreach /
 * mtx_*_layer_foreach callback whose ctx is an mtx_decay_marker, base the
 * start of the gradient buffer the view is bound to (the same layout as the
 * parameters). Tensors of two or more dimensions decay, vectors do not. */
typedef struct {
    mtx_adamw *o;
    const float *base;
} mtx_decay_marker;
mtx_status mtx_adamw_mark_decay(void *marker, const char *name, int ndim, const int64_t *shape, float *data);

/* Learning rate at a step (0-based): linear warm-up, then cosine decay to min_lr_ratio * lr. */
double mtx_lr_at(const mtx_train_config *t, int64_t step);

/* Euclidean norm of g (n), accumulated in double. */
double mtx_grad_norm(const float *g, size_t n);

/* The factor applied to every gradient: clip / norm when the norm exceeds
 * clip > 0, else 1. */
float mtx_clip_scale(double grad_norm, float clip);

/* AdamW on parameters [lo, hi) at step (0-based; the bias corrections use
 * step + 1), with gradients g scaled by clip_scale:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / (1 - b1^(step+1)) / (sqrt(v / (1 - b2^(step+1))) + eps) + wd * decay * p) */
void mtx_adamw_update(mtx_adamw *o, const mtx_train_config *t, int64_t step, double lr, float clip_scale,
                      float *p, const float *g, size_t lo, size_t hi);

typedef struct {
    double grad_norm, lr;
} mtx_optim_stats;

/* One optimiser step at `step`: the global norm of g (over all n), clipping,
 * the scheduled learning rate and AdamW. With seg_len (n_seg lengths that sum
 * to n), only segments whose seg_active entry is non-zero are updated;
 * seg_len NULL updates all. A non-finite gradient norm is MTX_ERR_NUMERIC
 * naming the step (1-based) and nothing moves. */
mtx_status mtx_optim_step(mtx_adamw *o, const mtx_train_config *t, int64_t step, float *p, const float *g,
                          const size_t *seg_len, const uint8_t *seg_active, int n_seg, mtx_optim_stats *s);

#endif
