/* optim.c - clipping, schedule and AdamW (see optim.h). */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mtx_status mtx_adamw_init(mtx_adamw *o, size_t n) {
    memset(o, 0, sizeof *o);
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    o->decay = calloc(n ? n : 1, 1);
    if (!o->m || !o->v || !o->decay) {
        mtx_adamw_free(o);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory for optimiser state (%zu parameters)", n);
    }
    return MTX_OK;
}

void mtx_adamw_free(mtx_adamw *o) {
    free(o->m);
    free(o->v);
    free(o->decay);
    memset(o, 0, sizeof *o);
}

mtx_status mtx_adamw_mark_decay(void *marker, const char *name, int ndim, const int64_t *shape, float *data) {
    (void)name;
    const mtx_decay_marker *mk = marker;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    const size_t off = (size_t)(data - mk->base);
    if (off > mk->o->n || (size_t)n > mk->o->n - off)
        return mtx_set_error(MTX_ERR_ARG, "optimiser: tensor %s lies outside the parameter buffer", name);
    memset(mk->o->decay + off, ndim >= 2 ? 1 : 0, (size_t)n);
    return MTX_OK;
}

double mtx_lr_at(const mtx_train_config *t, int64_t step) {
    if (step < t->warmup_steps) return t->lr * (double)(step + 1) / (double)t->warmup_steps;
    double span = (double)(t->max_steps - t->warmup_steps);
    double prog = span > 0 ? (double)(step - t->warmup_steps) / span : 1.0;
    if (prog > 1.0) prog = 1.0;
    double floor_ = t->min_lr_ratio;
    return t->lr * (floor_ + (1.0 - floor_) * 0.5 * (1.0 + cos(3.141592653589793 * prog)));
}

double mtx_grad_norm(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

float mtx_clip_scale(double grad_norm, float clip) {
    return (clip > 0 && grad_norm > clip) ? (float)(clip / grad_norm) : 1.0f;
}

void mtx_adamw_update(mtx_adamw *o, const mtx_train_config *t, int64_t step, double lr, float clip_scale,
                      float *p, const float *g, size_t lo, size_t hi) {
    /* bias corrections in double, then every per-element operation in float */
    const double c1 = 1.0 - pow(t->beta1, (double)(step + 1));
    const double c2 = 1.0 - pow(t->beta2, (double)(step + 1));
    const float b1 = t->beta1, b2 = t->beta2, eps = t->adam_eps, wd = t->weight_decay;
    const float fc1 = (float)(1.0 / c1), fc2 = (float)(1.0 / c2), flr = (float)lr;
    float *m = o->m, *v = o->v;
    const uint8_t *decay = o->decay;
    for (size_t i = lo; i < hi; i++) {
        const float gi = g[i] * clip_scale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float upd = (m[i] * fc1) / (sqrtf(v[i] * fc2) + eps);
        if (decay[i]) upd += wd * p[i]; /* decoupled: not part of the gradient moments */
        p[i] -= flr * upd;
    }
}

mtx_status mtx_optim_step(mtx_adamw *o, const mtx_train_config *t, int64_t step, float *p, const float *g,
                          const size_t *seg_len, const uint8_t *seg_active, int n_seg, mtx_optim_stats *s) {
    const double gn = mtx_grad_norm(g, o->n);
    if (!isfinite(gn))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %lld: gradient norm is %s", (long long)step + 1,
                             isnan(gn) ? "NaN" : "Inf");
    const float clip = mtx_clip_scale(gn, t->grad_clip);
    const double lr = mtx_lr_at(t, step);
    if (!seg_len) {
        mtx_adamw_update(o, t, step, lr, clip, p, g, 0, o->n);
    } else {
        size_t off = 0;
        for (int k = 0; k < n_seg; k++) {
            if (seg_active[k]) mtx_adamw_update(o, t, step, lr, clip, p, g, off, off + seg_len[k]);
            off += seg_len[k];
        }
    }
    if (s) {
        s->grad_norm = gn;
        s->lr = lr;
    }
    return MTX_OK;
}
