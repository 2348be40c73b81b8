/* modular.c - the module-bank training phase (see modular.h). */
#include "modular/modular.h"
#include "modular/modular_state.h"
#include "core/fsutil.h"
#include "model/gemm.h"
#include "model/ops.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mtx_modular {
    mtx_modular_config cfg;
    const mtx_dataset *data;
    mtx_bank bank;
    float *grad, *adam_m, *adam_v; /* (n_mod) each, mirroring bank.mod */
    uint8_t *decay;                /* (n_mod) */
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
    int64_t step, epoch;
    int batch;
};

mtx_modular_config mtx_modular_config_default(void) {
    mtx_modular_config c;
    memset(&c, 0, sizeof c);
    c.n_gran = 3;
    c.gran[0] = 2;
    c.gran[1] = 3;
    c.gran[2] = 6;
    c.alpha_kd = 1.0f;
    c.beta_hidden = 0.1f;
    c.gamma_local = 0.0f;
    c.local_rate = 1.0f;
    c.match_rate = 0.0f;
    c.parts = 1;
    c.hidden_relative = 0;
    c.temperature = 2.0f;
    c.rate_slope = 0.0f; /* set from max_steps when not given: reach 1 at 60% */
    c.rate_base = 0.3f;
    c.dropout = 0.1f;
    c.opt = mtx_train_config_default();
    c.opt.max_steps = 600;
    c.opt.warmup_steps = 50;
    c.opt.lr = 5e-4f;
    c.opt.checkpoint_every = 100;
    c.opt.log_every = 10;
    c.opt.eval_every = 200;
    c.opt.label_smoothing = 0.1f;
    return c;
}

static int init_code(const cJSON *v) {
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    return !strcmp(s, "first") ? 0 : !strcmp(s, "middle") ? 1 : !strcmp(s, "last") ? 2 : -1;
}

static mtx_status parse_init(const char *path, const cJSON *it, mtx_modular_config *c) {
    if (cJSON_IsArray(it)) {
        if (cJSON_GetArraySize(it) != c->n_gran)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: init has %d entries for %d granularities", path,
                                 cJSON_GetArraySize(it), c->n_gran);
        for (int i = 0; i < c->n_gran; i++)
            if ((c->init[i] = init_code(cJSON_GetArrayItem(it, i))) < 0)
                return mtx_set_error(MTX_ERR_FORMAT, "%s: init entries must be \"first\", \"middle\" or \"last\"", path);
        return MTX_OK;
    }
    int v = init_code(it);
    if (v < 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: init must be \"first\", \"middle\", \"last\" or an array of those, one per granularity", path);
    for (int i = 0; i < MTX_MAX_GRAN; i++) c->init[i] = v;
    return MTX_OK;
}

mtx_status mtx_modular_config_load(const char *path, mtx_modular_config *c) {
    *c = mtx_modular_config_default();
    uint8_t *buf = NULL;
    size_t len = 0;
    mtx_status st = mtx_read_file(path, 1 << 20, &buf, &len);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mtx_set_error(MTX_ERR_FORMAT, "%s: not a JSON object", path);
    }
    int slope_given = 0;
    const cJSON *init_item = NULL;
    for (const cJSON *it = root->child; it && !st; it = it->next) {
        const char *k = it->string;
        if (!strcmp(k, "training")) {
            st = mtx_train_config_from_object(path, it, &c->opt);
            const mtx_train_config def = mtx_train_config_default();
            if (!st && (strcmp(c->opt.data, def.data) || c->opt.train[0] || c->opt.dev[0] || c->opt.test[0]))
                st = mtx_set_error(MTX_ERR_FORMAT,
                                   "%s: training.data/train/dev/test are the teacher's (its dev and test score the bank); "
                                   "set \"train_data\" to train on another corpus", path);
        } else if (!strcmp(k, "train_data")) {
            if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= MTX_PATH_MAX)
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: train_data must be a non-empty path shorter than %d bytes", path,
                                   MTX_PATH_MAX);
            else strcpy(c->train_data, it->valuestring);
        } else if (!strcmp(k, "granularities")) {
            int n = cJSON_GetArraySize(it);
            if (!cJSON_IsArray(it) || n < 1 || n > MTX_MAX_GRAN) {
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: granularities must be an array of 1 to %d integers", path, MTX_MAX_GRAN);
                break;
            }
            c->n_gran = n;
            for (int i = 0; i < n; i++) {
                const cJSON *g = cJSON_GetArrayItem(it, i);
                if (!cJSON_IsNumber(g) || g->valuedouble != floor(g->valuedouble) || g->valuedouble < 2 || g->valuedouble > MTX_MAX_LAYERS) {
                    st = mtx_set_error(MTX_ERR_FORMAT, "%s: granularity must be an integer in [2, %d]", path, MTX_MAX_LAYERS);
                    break;
                }
                c->gran[i] = (int)g->valuedouble;
            }
        } else if (!strcmp(k, "init")) {
            init_item = it;
        } else if (!strcmp(k, "assemblies_per_step")) {
            if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 1 ||
                it->valuedouble > MTX_MAX_PARTS)
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: assemblies_per_step must be an integer in [1, %d]", path,
                                   MTX_MAX_PARTS);
            else c->parts = (int)it->valuedouble;
        } else if (!strcmp(k, "hidden_norm")) {
            const char *v = cJSON_IsString(it) ? it->valuestring : "";
            c->hidden_relative = !strcmp(v, "absolute") ? 0 : !strcmp(v, "relative") ? 1 : -1;
            if (c->hidden_relative < 0) st = mtx_set_error(MTX_ERR_FORMAT, "%s: hidden_norm must be \"absolute\" or \"relative\"", path);
        } else {
            float *f = !strcmp(k, "alpha_kd") ? &c->alpha_kd : !strcmp(k, "beta_hidden") ? &c->beta_hidden
                     : !strcmp(k, "beta_attention") ? &c->beta_attention
                     : !strcmp(k, "gamma_local") ? &c->gamma_local : !strcmp(k, "local_rate") ? &c->local_rate
                     : !strcmp(k, "match_rate") ? &c->match_rate
                     : !strcmp(k, "temperature") ? &c->temperature : !strcmp(k, "replace_rate_slope") ? &c->rate_slope
                     : !strcmp(k, "replace_rate_base") ? &c->rate_base : !strcmp(k, "dropout_rate") ? &c->dropout : NULL;
            if (!f) st = mtx_set_error(MTX_ERR_FORMAT, "%s: unknown key '%s'", path, k);
            else if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 || it->valuedouble > 100)
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: %s must be a number in [0, 100]", path, k);
            else *f = (float)it->valuedouble;
            if (f == &c->rate_slope) slope_given = 1;
        }
    }
    /* init after granularities (key order is free): one word for all, or one per granularity */
    if (!st && init_item) st = parse_init(path, init_item, c);
    cJSON_Delete(root);
    if (!st) st = mtx_train_config_validate(&c->opt);
    if (!st && !(c->temperature > 0)) st = mtx_set_error(MTX_ERR_FORMAT, "%s: temperature must be > 0", path);
    if (!st && !(c->dropout < 1)) st = mtx_set_error(MTX_ERR_FORMAT, "%s: dropout_rate must be < 1", path);
    if (!st && !(c->local_rate > 0 && c->local_rate <= 1))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: local_rate must be in (0, 1]", path);
    if (!st && c->match_rate > 1.0f) st = mtx_set_error(MTX_ERR_FORMAT, "%s: match_rate must be in [0, 1]", path);
    if (!st && c->rate_base > 1.0f) st = mtx_set_error(MTX_ERR_FORMAT, "%s: replace_rate_base must be in [0, 1]", path);
    c->slope_given = slope_given;
    if (!st && !slope_given) c->rate_slope = (1.0f - c->rate_base) / (0.6f * (float)c->opt.max_steps);
    return st;
}

char *mtx_modular_config_to_json(const mtx_modular_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON *g = cJSON_AddArrayToObject(o, "granularities");
    for (int i = 0; i < c->n_gran; i++) cJSON_AddItemToArray(g, cJSON_CreateNumber(c->gran[i]));
    static const char *inits[] = { "first", "middle", "last" };
    cJSON *in = cJSON_AddArrayToObject(o, "init");
    for (int i = 0; i < c->n_gran; i++) cJSON_AddItemToArray(in, cJSON_CreateString(inits[c->init[i]]));
    cJSON_AddNumberToObject(o, "alpha_kd", c->alpha_kd);
    cJSON_AddNumberToObject(o, "beta_hidden", c->beta_hidden);
    if (c->beta_attention > 0) cJSON_AddNumberToObject(o, "beta_attention", c->beta_attention);
    cJSON_AddNumberToObject(o, "gamma_local", c->gamma_local);
    cJSON_AddNumberToObject(o, "local_rate", c->local_rate);
    cJSON_AddNumberToObject(o, "match_rate", c->match_rate);
    cJSON_AddNumberToObject(o, "assemblies_per_step", c->parts);
    cJSON_AddStringToObject(o, "hidden_norm", c->hidden_relative ? "relative" : "absolute");
    cJSON_AddNumberToObject(o, "temperature", c->temperature);
    cJSON_AddNumberToObject(o, "replace_rate_slope", c->rate_slope);
    cJSON_AddNumberToObject(o, "replace_rate_base", c->rate_base);
    cJSON_AddNumberToObject(o, "dropout_rate", c->dropout);
    if (c->train_data[0]) cJSON_AddStringToObject(o, "train_data", c->train_data);
    char *t = mtx_train_config_to_json(&c->opt);
    cJSON_AddItemToObject(o, "training", cJSON_Parse(t ? t : "{}"));
    cJSON_free(t);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ------------------------------------------------------------ sampling */

/* pref: the granularity a drawn module takes where it may start here (0: a
 * uniform choice among those that may) */
static void sample_stack(const mtx_modular_config *c, int L, mtx_rng *r, double p, int pref, mtx_tiling *t) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, c->gran, c->n_gran, g);
    t->n = 0;
    for (int i = 0; i < L;) {
        int ok[MTX_MAX_GRAN], nok = 0, has_pref = 0;
        for (int k = 0; k < ng; k++)
            if (i % g[k] == 0 && i + g[k] <= L) {
                ok[nok++] = g[k];
                has_pref |= g[k] == pref;
            }
        float u = mtx_rng_uniform(r);
        if (nok && u < p) {
            int gg = ok[mtx_rng_u64(r) % (uint64_t)nok];
            if (has_pref) gg = pref;
            t->g[t->n] = (uint8_t)gg;
            t->j[t->n++] = (uint8_t)(i / gg);
            i += gg;
        } else {
            t->g[t->n] = 1;
            t->j[t->n++] = (uint8_t)i;
            i++;
        }
    }
}

static double replace_rate(const mtx_modular_config *c, int64_t step) {
    double p = (double)c->rate_slope * (double)step + (double)c->rate_base;
    return p > 1.0 ? 1.0 : p;
}

void mtx_modular_sample(const mtx_modular_config *c, int Le, int Ld, int64_t step, mtx_assembly *a) {
    mtx_modular_sample_part(c, Le, Ld, step, 0, a);
}

/* The k-th (rotated by r) granularity of a stack, 0 when none applies. */
static int rotated_gran(const mtx_modular_config *c, int L, int k, uint64_t r) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, c->gran, c->n_gran, g);
    return ng ? g[((uint64_t)k + r) % (uint64_t)ng] : 0;
}

void mtx_modular_sample_part(const mtx_modular_config *c, int Le, int Ld, int64_t step, int part, mtx_assembly *a) {
    mtx_rng r;
    mtx_rng_seed(&r, c->opt.seed ^ mtx_hash64((uint64_t)step + 0x51u));
    double p = replace_rate(c, step);
    if (c->parts <= 1) {
        sample_stack(c, Le, &r, p, 0, &a->enc);
        /* match_rate: the decoder takes the encoder's tiling (stacks of equal
         * depth); no extra draw at 0, so such runs sample as before */
        if (c->match_rate > 0 && Le == Ld && mtx_rng_uniform(&r) < c->match_rate) a->dec = a->enc;
        else sample_stack(c, Ld, &r, p, 0, &a->dec);
        return;
    }
    /* per step: the rotations of both stacks and the match coin, shared by
     * the parts; per part: its own stream for the walks */
    const uint64_t re = mtx_rng_u64(&r), rd = mtx_rng_u64(&r);
    const int match = c->match_rate > 0 && Le == Ld && mtx_rng_uniform(&r) < c->match_rate;
    mtx_rng_seed(&r, c->opt.seed ^ mtx_hash64(((uint64_t)step << 8 | (uint64_t)part) + 0x7061727473ull));
    sample_stack(c, Le, &r, p, rotated_gran(c, Le, part, re), &a->enc);
    if (match) a->dec = a->enc;
    else sample_stack(c, Ld, &r, p, rotated_gran(c, Ld, part, rd), &a->dec);
}

static void uniform_stack(const mtx_bank *b, int L, int g, mtx_tiling *t) {
    int gs[MTX_MAX_GRAN], ng = mtx_stack_grans(L, b->gran, b->n_gran, gs), ok = 0;
    for (int k = 0; k < ng; k++) ok |= gs[k] == g;
    if (!ok) g = 1;
    t->n = 0;
    for (int i = 0; i < L; i += g) {
        t->g[t->n] = (uint8_t)g;
        t->j[t->n++] = (uint8_t)(i / g);
    }
}

static void smallest_stack(const mtx_bank *b, int L, mtx_tiling *t) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, b->gran, b->n_gran, g), best = 1;
    for (int k = 0; k < ng; k++)
        if (g[k] > best) best = g[k];
    uniform_stack(b, L, best, t);
}

void mtx_assembly_smallest(const mtx_bank *b, mtx_assembly *a) {
    smallest_stack(b, b->teacher.cfg.num_layers, &a->enc);
    smallest_stack(b, b->teacher.cfg.num_decoder_layers, &a->dec);
}

void mtx_assembly_teacher(const mtx_bank *b, mtx_assembly *a) {
    memset(a, 0, sizeof *a);
    a->enc.n = b->teacher.cfg.num_layers;
    a->dec.n = b->teacher.cfg.num_decoder_layers;
    for (int i = 0; i < a->enc.n; i++) { a->enc.g[i] = 1; a->enc.j[i] = (uint8_t)i; }
    for (int i = 0; i < a->dec.n; i++) { a->dec.g[i] = 1; a->dec.j[i] = (uint8_t)i; }
}

void mtx_assembly_uniform(const mtx_bank *b, int g, mtx_assembly *a) {
    memset(a, 0, sizeof *a);
    uniform_stack(b, b->teacher.cfg.num_layers, g, &a->enc);
    uniform_stack(b, b->teacher.cfg.num_decoder_layers, g, &a->dec);
}

/* ------------------------------------------------------------- trainer */

static mtx_status mark(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    (void)name;
    mtx_modular *m = p;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    memset(m->decay + (data - m->grad), ndim >= 2, (size_t)n);
    return MTX_OK;
}

mtx_status mtx_modular_new(mtx_modular **out, const mtx_modular_config *c, const mtx_model *teacher,
                           const mtx_dataset *d) {
    *out = NULL;
    mtx_modular *m = calloc(1, sizeof *m);
    if (!m) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    m->cfg = *c;
    m->data = d;
    const mtx_model_config *mc = &teacher->cfg;
    const int R = c->opt.batch_tokens, C = mc->d_model;
    const int maxlen = mc->max_source_positions > mc->max_target_positions ? mc->max_source_positions : mc->max_target_positions;
    mtx_status st = mtx_bank_init(&m->bank, teacher, c->gran, c->n_gran, c->init);
    if (st) {
        free(m);
        return st;
    }
    size_t n = m->bank.n_mod;
    m->grad = calloc(n, sizeof(float));
    m->adam_m = calloc(n, sizeof(float));
    m->adam_v = calloc(n, sizeof(float));
    m->decay = calloc(n, 1);
    m->used = calloc((size_t)(m->bank.enc_first[c->n_gran] + m->bank.dec_first[c->n_gran]) + 1, 1);
    if (c->parts > 1) {
        m->gacc = calloc(n, sizeof(float));
        m->used_acc = calloc((size_t)(m->bank.enc_first[c->n_gran] + m->bank.dec_first[c->n_gran]) + 1, 1);
        if (!m->gacc || !m->used_acc) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory for the module trainer");
    }
    m->extra = malloc(sizeof(float) * (size_t)(mc->num_layers + mc->num_decoder_layers) * (size_t)R * (size_t)C);
    m->src_mask = malloc((size_t)R);
    m->tgt_mask = malloc((size_t)R);
    m->att_w_src = malloc(sizeof(float) * (size_t)R);
    m->att_w_tgt = malloc(sizeof(float) * (size_t)R);
    if (!m->grad || !m->adam_m || !m->adam_v || !m->decay || !m->used || !m->extra || !m->src_mask || !m->tgt_mask ||
        !m->att_w_src || !m->att_w_tgt)
        st = mtx_set_error(MTX_ERR_NOMEM, "out of memory for the module trainer");
    if (!st) st = mtx_bank_bind_like(&m->bank, m->grad, &m->genc, &m->gdec);
    if (!st) {
        mtx_enc_layer *e = m->genc;
        mtx_dec_layer *dd = m->gdec;
        for (int i = 0; !st && i < m->bank.enc_first[c->n_gran]; i++) st = mtx_enc_layer_foreach(&e[i], mc, "", mark, m);
        for (int i = 0; !st && i < m->bank.dec_first[c->n_gran]; i++) st = mtx_dec_layer_foreach(&dd[i], mc, "", mark, m);
    }
    if (!st) {
        mtx_net_from_model(&m->teacher_net, &m->bank.teacher, NULL);
        st = mtx_acts_init(&m->acts, mc, mc->num_layers, mc->num_decoder_layers, R, maxlen);
    }
    if (!st) st = mtx_acts_init(&m->tacts, mc, mc->num_layers, mc->num_decoder_layers, R, maxlen);
    if (!st && c->gamma_local > 0) st = mtx_acts_init(&m->lacts, mc, 1, 1, R, maxlen);
    if (!st) st = mtx_batch_buf_init(&m->bb, R);
    if (!st) st = mtx_batcher_init(&m->bt, &d->train, R);
    if (!st) st = mtx_batcher_init(&m->dev_bt, &d->dev, R);
    if (st) {
        mtx_modular_free(m);
        return st;
    }
    mtx_batcher_epoch(&m->bt, c->opt.seed, 0, 1);
    *out = m;
    return MTX_OK;
}

void mtx_modular_free(mtx_modular *m) {
    if (!m) return;
    mtx_bank_free(&m->bank);
    free(m->grad); free(m->gacc); free(m->used_acc); free(m->adam_m); free(m->adam_v); free(m->decay); free(m->used);
    free(m->genc); free(m->gdec); free(m->extra); free(m->src_mask); free(m->tgt_mask);
    free(m->att_w_src); free(m->att_w_tgt);
    mtx_acts_free(&m->acts);
    mtx_acts_free(&m->tacts);
    mtx_acts_free(&m->lacts);
    mtx_batcher_free(&m->bt);
    mtx_batcher_free(&m->dev_bt);
    mtx_batch_buf_free(&m->bb);
    free(m);
}

const mtx_bank *mtx_modular_bank(const mtx_modular *m) { return &m->bank; }
int64_t mtx_modular_steps(const mtx_modular *m) { return m->step; }

/* The normaliser of a hidden-state MSE: 1, or with hidden_norm "relative"
 * the mean square of the teacher state over valid rows. */
static double target_scale(const mtx_modular *m, const float *t, const uint8_t *mask, int N, int C, int nvalid) {
    if (!m->cfg.hidden_relative || nvalid == 0) return 1.0;
    double ss = 0;
    for (int n = 0; n < N; n++) {
        if (mask && !mask[n]) continue;
        const float *r = t + (size_t)n * C;
        float acc = 0;
        for (int c = 0; c < C; c++) acc += r[c] * r[c];
        ss += acc;
    }
    ss /= (double)nvalid * C;
    return ss > 1e-12 ? ss : 1e-12;
}

/* Fills the normalisers of every teacher depth of one stack for this batch. */
static void depth_scales(const mtx_modular *m, double *ms, int L, const float *tres, const uint8_t *mask, int N,
                         int nvalid) {
    const int C = m->bank.teacher.cfg.d_model;
    const size_t RC = (size_t)m->tacts.cap_rows * (size_t)C;
    for (int d = 0; d <= L; d++) ms[d] = target_scale(m, tres + (size_t)d * RC, mask, N, C, nvalid);
}

/* weight * MSE(x, target) / scale over valid rows and channels: returns the
 * normalised MSE and adds the gradient of the weighted term into dx. */
static double state_mse(const mtx_modular *m, float *dx, const float *x, const float *target, double scale,
                        const uint8_t *mask, int N, int nvalid, float weight) {
    const int C = m->bank.teacher.cfg.d_model;
    const double denom = (double)nvalid * C * scale;
    return mtx_mse(dx, x, target, mask, N, C, (float)(weight / denom)) / denom;
}

/* Hidden-state targets: a module covering teacher layers [s, s+g) at list
 * position i must reproduce the teacher residual stream after layer s+g-1.
 * Returns the sum over modules of the mean squared error (over valid rows and
 * channels); the gradient of beta times that is staged in extra_out. */
static double hidden_loss(mtx_modular *m, const mtx_tiling *t, const float *res, const float *tres,
                          const double *ms, const float **extra_out, float *extra, const uint8_t *mask, int N,
                          int nvalid) {
    const int C = m->bank.teacher.cfg.d_model;
    const size_t RC = (size_t)m->acts.cap_rows * (size_t)C;
    double sum = 0;
    int pos = 0;
    for (int i = 0; i < t->n; i++) {
        int g = t->g[i];
        pos += g;
        extra_out[i] = NULL;
        if (g == 1 || m->cfg.beta_hidden == 0.0f) continue;
        float *ex = extra + (size_t)i * RC;
        memset(ex, 0, sizeof(float) * (size_t)N * C);
        sum += state_mse(m, ex, res + (size_t)(i + 1) * RC, tres + (size_t)pos * RC, ms[pos], mask, N, nvalid,
                         m->cfg.beta_hidden);
        extra_out[i] = ex;
    }
    return sum;
}

/* Attention-distribution targets: a module covering teacher layers [s, s+g)
 * matches its attention distributions (self, and cross in the decoder) to
 * those of teacher layer s+g-1, row by row over the valid query rows.
 * Stages the targets in the hybrid's activations (the backward adds the
 * gradient of beta_attention times the term) and returns the sum over
 * modules of the mean KL per valid query row and head. */
static double attention_loss(mtx_modular *m, const mtx_assembly *a, const mtx_batch *b, int nsrc) {
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int H = mc->num_heads, hs = mc->d_model / H, Ns = b->B * b->S, Nt = b->B * b->T;
    /* the row weights carry beta (the backward applies them to the gradient);
     * the returned term is unweighted: the sum divided by beta (> 0 here) */
    const float beta = m->cfg.beta_attention;
    for (int r = 0; r < Ns; r++) m->att_w_src[r] = m->src_mask[r] ? beta / ((float)nsrc * (float)H) : 0.0f;
    for (int r = 0; r < Nt; r++) m->att_w_tgt[r] = m->tgt_mask[r] ? beta / ((float)b->n_tgt * (float)H) : 0.0f;
    mtx_attn_shape sa = { b->B, b->S, b->S, H, hs, 0, b->src_len };
    mtx_attn_shape ss = { b->B, b->T, b->T, H, hs, 1, NULL };
    mtx_attn_shape cs = { b->B, b->T, b->S, H, hs, 0, b->src_len };
    double sum = 0;
    int pos = 0;
    for (int i = 0; i < a->enc.n; i++) {
        pos += a->enc.g[i];
        if (a->enc.g[i] == 1) continue;
        const float *pt = m->tacts.enc[pos - 1].P;
        sum += mtx_attention_kl(m->acts.enc[i].P, pt, m->att_w_src, &sa);
        m->acts.enc_att_target[i] = pt;
    }
    pos = 0;
    for (int i = 0; i < a->dec.n; i++) {
        pos += a->dec.g[i];
        if (a->dec.g[i] == 1) continue;
        const mtx_dec_acts *td = &m->tacts.dec[pos - 1];
        sum += mtx_attention_kl(m->acts.dec[i].P1, td->P1, m->att_w_tgt, &ss);
        sum += mtx_attention_kl(m->acts.dec[i].P2, td->P2, m->att_w_tgt, &cs);
        m->acts.dec_self_target[i] = td->P1;
        m->acts.dec_cross_target[i] = td->P2;
    }
    m->acts.att_w_src = m->att_w_src;
    m->acts.att_w_tgt = m->att_w_tgt;
    return sum / beta;
}

/* Whether module k (encoder modules first, then decoder modules) takes part
 * in the local term at this step: always at local_rate 1, else a seeded coin
 * per (step, module), so a run and its resume draw the same modules. */
static int local_on(const mtx_modular *m, uint64_t step, int k) {
    if (m->cfg.gamma_local <= 0) return 0;
    if (m->cfg.local_rate >= 1.0f) return 1;
    uint64_t h = mtx_hash64(m->cfg.opt.seed ^ 0x6c6f63616c72ull ^ mtx_hash64(step * 4096u + (uint64_t)k));
    return (double)(h >> 11) * 0x1.0p-53 < (double)m->cfg.local_rate;
}

/* The local term: each module of the bank (each drawn one, see local_on)
 * applied to the frozen teacher's residual stream at the start of its span
 * (decoder modules attend to the teacher's encoder output), compared with the
 * teacher state at the end of its span. Needs the teacher activations of
 * this batch (m->tacts). Adds gamma times its gradient into m->grad, marks
 * the drawn modules in m->used and returns the sum over them of the
 * (normalised) MSE. Dropout streams are apart from the hybrid's. */
static double local_loss_grad(mtx_modular *m, const mtx_batch *b, uint64_t step, uint64_t noise, int nsrc) {
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int C = mc->d_model, Ns = b->B * b->S, Nt = b->B * b->T;
    const size_t RC = (size_t)m->tacts.cap_rows * (size_t)C;
    const mtx_fwd_opts lo = { m->cfg.dropout, m->cfg.opt.seed ^ 0x6c6f63616cull, noise };
    mtx_acts *la = &m->lacts;
    float *out = la->enc_res + RC, *dout = la->dec_res + RC;
    double sum = 0;
    for (int gi = 0; gi < m->bank.n_gran; gi++) {
        const int g = m->bank.gran[gi];
        for (int k = m->bank.enc_first[gi]; k < m->bank.enc_first[gi + 1]; k++) {
            if (!local_on(m, step, k)) continue;
            m->used[k] = 1;
            const int j = k - m->bank.enc_first[gi];
            const float *x = m->tacts.enc_res + (size_t)(g * j) * RC, *t = m->tacts.enc_res + (size_t)(g * j + g) * RC;
            mtx_enc_layer_forward(la, 0, &m->bank.enc_mod[k], x, out, b, &lo, k);
            memset(la->d_res, 0, sizeof(float) * (size_t)Ns * C);
            sum += state_mse(m, la->d_res, out, t, m->enc_ms[g * j + g], m->src_mask, Ns, nsrc, m->cfg.gamma_local);
            mtx_enc_layer_backward(la, 0, &m->bank.enc_mod[k], &m->genc[k], x, la->d_res, b, &lo, k);
        }
        for (int k = m->bank.dec_first[gi]; k < m->bank.dec_first[gi + 1]; k++) {
            const int kk = m->bank.enc_first[m->bank.n_gran] + k; /* index among all modules */
            if (!local_on(m, step, kk)) continue;
            m->used[kk] = 1;
            const int j = k - m->bank.dec_first[gi];
            const float *x = m->tacts.dec_res + (size_t)(g * j) * RC, *t = m->tacts.dec_res + (size_t)(g * j + g) * RC;
            mtx_dec_layer_forward(la, 0, &m->bank.dec_mod[k], x, m->tacts.enc_out, dout, b, &lo, k);
            memset(la->d_res, 0, sizeof(float) * (size_t)Nt * C);
            sum += state_mse(m, la->d_res, dout, t, m->dec_ms[g * j + g], m->tgt_mask, Nt, b->n_tgt,
                             m->cfg.gamma_local);
            /* the teacher's encoder output is frozen: no gradient for it */
            mtx_dec_layer_backward(la, 0, &m->bank.dec_mod[k], &m->gdec[k], x, m->tacts.enc_out, la->d_res,
                                   NULL, b, &lo, k);
        }
    }
    return sum;
}

static void adamw_modules(mtx_modular *m, double lr, float clip) {
    const mtx_train_config *t = &m->cfg.opt;
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const double c1 = 1.0 - pow(t->beta1, (double)(m->step + 1)), c2 = 1.0 - pow(t->beta2, (double)(m->step + 1));
    const float b1 = t->beta1, b2 = t->beta2, fc1 = (float)(1 / c1), fc2 = (float)(1 / c2), flr = (float)lr;
    const int ne = m->bank.enc_first[m->cfg.n_gran], nd = m->bank.dec_first[m->cfg.n_gran];
    size_t off = 0;
    for (int k = 0; k < ne + nd; k++) {
        size_t len = k < ne ? mtx_enc_layer_size(mc) : mtx_dec_layer_size(mc);
        /* modules outside this step's assembly have no gradient: left untouched */
        if (m->used[k])
            for (size_t i = off; i < off + len; i++) {
                float g = m->grad[i] * clip;
                m->adam_m[i] = b1 * m->adam_m[i] + (1 - b1) * g;
                m->adam_v[i] = b2 * m->adam_v[i] + (1 - b2) * g * g;
                float upd = m->adam_m[i] * fc1 / (sqrtf(m->adam_v[i] * fc2) + t->adam_eps);
                if (m->decay[i]) upd += t->weight_decay * m->bank.mod[i];
                m->bank.mod[i] -= flr * upd;
            }
        off += len;
    }
}

/* noise: the dropout stream (the step, or one per part of a step) */
static mtx_status loss_grad(mtx_modular *m, const mtx_assembly *a, const mtx_batch *b, uint64_t step,
                            uint64_t noise, double *loss, mtx_modular_stats *s) {
    const mtx_train_config *t = &m->cfg.opt;
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int Ns = b->B * b->S, Nt = b->B * b->T, V = mc->tgt_vocab_size;
    mtx_fwd_opts off = { 0.0f, 0, 0 }, on = { m->cfg.dropout, t->seed, noise };
    mtx_status st = mtx_forward(&m->tacts, &m->teacher_net, b, &off);
    mtx_net net;
    if (!st) st = mtx_bank_net(&m->bank, a, &net, m->genc, m->gdec);
    if (!st) st = mtx_forward(&m->acts, &net, b, &on);
    if (st) return st;
    double nll = 0;
    double ce = mtx_loss(&m->acts, b, t->label_smoothing, &nll, NULL);
    double kd = 0;
    if (m->cfg.alpha_kd > 0)
        kd = mtx_kl_distill(m->acts.d_logits, m->acts.logits, m->tacts.logits, b->tgt_out, Nt, V,
                            m->cfg.temperature, m->cfg.alpha_kd / (float)b->n_tgt);
    int nsrc = 0;
    for (int i = 0; i < b->B; i++)
        for (int x = 0; x < b->S; x++) nsrc += (m->src_mask[i * b->S + x] = x < b->src_len[i]);
    for (int r = 0; r < Nt; r++) m->tgt_mask[r] = b->tgt_out[r] >= 0;
    const size_t RC = (size_t)m->acts.cap_rows * (size_t)mc->d_model;
    /* normalisers once per batch: the hybrid's modules and the local term share the teacher targets */
    depth_scales(m, m->enc_ms, mc->num_layers, m->tacts.enc_res, m->src_mask, Ns, nsrc);
    depth_scales(m, m->dec_ms, mc->num_decoder_layers, m->tacts.dec_res, m->tgt_mask, Nt, b->n_tgt);
    double hid = hidden_loss(m, &a->enc, m->acts.enc_res, m->tacts.enc_res, m->enc_ms, m->acts.enc_dres_extra,
                             m->extra, m->src_mask, Ns, nsrc);
    hid += hidden_loss(m, &a->dec, m->acts.dec_res, m->tacts.dec_res, m->dec_ms, m->acts.dec_dres_extra,
                       m->extra + (size_t)mc->num_layers * RC, m->tgt_mask, Nt, b->n_tgt);
    double att = m->cfg.beta_attention > 0 ? attention_loss(m, a, b, nsrc) : 0.0;
    if (!isfinite(ce) || !isfinite(kd) || !isfinite(hid) || !isfinite(att))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %llu: loss is not finite", (unsigned long long)step + 1);
    memset(m->grad, 0, m->bank.n_mod * sizeof(float));
    /* modules with a gradient from this call: the hybrid's, then the local term's */
    const int ne = m->bank.enc_first[m->bank.n_gran];
    memset(m->used, 0, (size_t)(ne + m->bank.dec_first[m->bank.n_gran]));
    for (int i = 0; i < a->enc.n; i++)
        if (a->enc.g[i] > 1) m->used[mtx_bank_enc_module(&m->bank, a->enc.g[i], a->enc.j[i]) - m->bank.enc_mod] = 1;
    for (int i = 0; i < a->dec.n; i++)
        if (a->dec.g[i] > 1) m->used[ne + (mtx_bank_dec_module(&m->bank, a->dec.g[i], a->dec.j[i]) - m->bank.dec_mod)] = 1;
    mtx_backward(&m->acts, &net, b, &on);
    for (int i = 0; i < MTX_MAX_LAYERS; i++) {
        m->acts.enc_dres_extra[i] = m->acts.dec_dres_extra[i] = NULL;
        m->acts.enc_att_target[i] = m->acts.dec_self_target[i] = m->acts.dec_cross_target[i] = NULL;
    }
    m->acts.att_w_src = m->acts.att_w_tgt = NULL;
    double loc = m->cfg.gamma_local > 0 ? local_loss_grad(m, b, step, noise, nsrc) : 0.0;
    if (!isfinite(loc))
        return mtx_set_error(MTX_ERR_NUMERIC, "step %llu: local module loss is not finite", (unsigned long long)step + 1);
    /* the objective whose gradient was just taken (means over tokens / elements) */
    if (loss)
        *loss = ce / b->n_tgt + m->cfg.alpha_kd * kd / b->n_tgt + m->cfg.beta_hidden * hid +
                m->cfg.beta_attention * att + m->cfg.gamma_local * loc;
    if (s) {
        s->ce = nll;
        s->kd = kd;
        s->hidden = hid;
        s->attention = att;
        s->local = loc;
        s->tgt_tokens = b->n_tgt;
    }
    return MTX_OK;
}

mtx_status mtx_modular_loss_grad(mtx_modular *m, const mtx_assembly *a, const mtx_batch *b,
                                 uint64_t step, double *loss, mtx_modular_stats *s) {
    return loss_grad(m, a, b, step, step, loss, s);
}

/* Rows [r0, r1) of a batch as a batch of its own (same padded lengths). */
static mtx_batch batch_rows(const mtx_batch *b, int r0, int r1) {
    mtx_batch p = *b;
    p.B = r1 - r0;
    p.src = b->src + (size_t)r0 * b->S;
    p.src_len = b->src_len + r0;
    p.tgt_in = b->tgt_in + (size_t)r0 * b->T;
    p.tgt_out = b->tgt_out + (size_t)r0 * b->T;
    p.n_tgt = 0;
    for (int i = 0; i < p.B * p.T; i++) p.n_tgt += p.tgt_out[i] >= 0;
    return p;
}

/* assemblies_per_step > 1: the batch's rows in equal parts (at most one per
 * row), each part with its own assembly; the gradient is the mean over the
 * parts weighted by their target tokens, so it is that of the token-weighted
 * mean of the parts' objectives. */
static mtx_status parts_loss_grad(mtx_modular *m, const mtx_batch *b, mtx_modular_stats *s, mtx_assembly *a0) {
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    const int K = m->cfg.parts < b->B ? m->cfg.parts : b->B;
    const int nu = m->bank.enc_first[m->bank.n_gran] + m->bank.dec_first[m->bank.n_gran];
    const uint64_t step = (uint64_t)m->step;
    memset(m->gacc, 0, m->bank.n_mod * sizeof(float));
    memset(m->used_acc, 0, (size_t)nu);
    memset(s, 0, sizeof *s);
    double hid = 0, att = 0, loc = 0;
    for (int k = 0; k < K; k++) {
        mtx_batch pb = batch_rows(b, (int)((int64_t)b->B * k / K), (int)((int64_t)b->B * (k + 1) / K));
        mtx_assembly a;
        mtx_modular_sample_part(&m->cfg, mc->num_layers, mc->num_decoder_layers, m->step, k, &a);
        if (k == 0) *a0 = a;
        mtx_modular_stats ps;
        mtx_status st = loss_grad(m, &a, &pb, step, step * MTX_MAX_PARTS + (uint64_t)k, NULL, &ps);
        if (st) return st;
        const float w = (float)pb.n_tgt / (float)b->n_tgt;
        for (size_t i = 0; i < m->bank.n_mod; i++) m->gacc[i] += w * m->grad[i];
        for (int i = 0; i < nu; i++) m->used_acc[i] |= m->used[i];
        s->ce += ps.ce;
        s->kd += ps.kd;
        s->tgt_tokens += ps.tgt_tokens;
        hid += w * ps.hidden;
        att += w * ps.attention;
        loc += w * ps.local;
    }
    s->hidden = hid;
    s->attention = att;
    s->local = loc;
    memcpy(m->grad, m->gacc, m->bank.n_mod * sizeof(float));
    memcpy(m->used, m->used_acc, (size_t)nu);
    return MTX_OK;
}

mtx_status mtx_modular_step(mtx_modular *m, mtx_modular_stats *s) {
    const mtx_train_config *t = &m->cfg.opt;
    const mtx_model_config *mc = &m->bank.teacher.cfg;
    if (m->batch >= m->bt.n_batches) {
        m->epoch++;
        m->batch = 0;
        mtx_batcher_epoch(&m->bt, t->seed, m->epoch, 1);
    }
    mtx_batch_fill(&m->bb, &m->bt, m->batch);
    mtx_assembly a;
    mtx_modular_stats tmp;
    if (!s) s = &tmp;
    mtx_status st;
    if (m->cfg.parts > 1) {
        st = parts_loss_grad(m, &m->bb.b, s, &a);
    } else {
        mtx_modular_sample(&m->cfg, mc->num_layers, mc->num_decoder_layers, m->step, &a);
        st = loss_grad(m, &a, &m->bb.b, (uint64_t)m->step, (uint64_t)m->step, NULL, s);
    }
    if (st) return st;
    /* m->used now marks the modules with a gradient: AdamW moves only those */
    double gn = 0;
    for (size_t i = 0; i < m->bank.n_mod; i++) gn += (double)m->grad[i] * m->grad[i];
    gn = sqrt(gn);
    if (!isfinite(gn)) return mtx_set_error(MTX_ERR_NUMERIC, "step %lld: gradient norm is not finite", (long long)m->step + 1);
    float clip = (t->grad_clip > 0 && gn > t->grad_clip) ? (float)(t->grad_clip / gn) : 1.0f;
    double lr = mtx_lr_at(t, m->step);
    adamw_modules(m, lr, clip);
    s->grad_norm = gn;
    s->lr = lr;
    s->rate = replace_rate(&m->cfg, m->step);
    s->enc_blocks = a.enc.n;
    s->dec_blocks = a.dec.n;
    m->step++;
    m->batch++;
    return MTX_OK;
}

mtx_status mtx_modular_eval(mtx_modular *m, const mtx_assembly *a, const mtx_encoded *data,
                            double *nll, double *acc) {
    mtx_net net;
    mtx_status st = mtx_bank_net(&m->bank, a, &net, NULL, NULL);
    if (st) return st;
    mtx_batcher tmp, *bt = &m->dev_bt;
    if (data != &m->data->dev) {
        st = mtx_batcher_init(&tmp, data, m->cfg.opt.batch_tokens);
        if (st) return st;
        bt = &tmp;
    }
    st = mtx_teacher_forced_eval(&net, &m->acts, &m->bb, bt, nll, acc);
    if (bt != &m->dev_bt) mtx_batcher_free(bt);
    return st;
}

/* State access for modular_io.c (checkpointing). */

mtx_status mtx_modular_state_views(mtx_modular *m, float **adam_m, float **adam_v, int64_t *step,
                                   int64_t *epoch, int *batch) {
    *adam_m = m->adam_m;
    *adam_v = m->adam_v;
    *step = m->step;
    *epoch = m->epoch;
    *batch = m->batch;
    return MTX_OK;
}

mtx_status mtx_modular_set_position(mtx_modular *m, int64_t step, int64_t epoch, int batch) {
    mtx_batcher_epoch(&m->bt, m->cfg.opt.seed, epoch, 1);
    if (batch > m->bt.n_batches) return mtx_set_error(MTX_ERR_FORMAT, "batch index %d past the epoch", batch);
    m->step = step;
    m->epoch = epoch;
    m->batch = batch;
    return MTX_OK;
}

mtx_bank *mtx_modular_bank_mut(mtx_modular *m) { return &m->bank; }

const float *mtx_modular_grad(const mtx_modular *m) { return m->grad; }
