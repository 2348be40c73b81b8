/* model.c - flat parameter layout, views, naming and initialisation. */
#include "model/model.h"
#include "model/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mtx_enc_layer_size(const mtx_model_config *c) {
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff;
    return 2 * C + 4 * C * C + 2 * C * F;
}

size_t mtx_dec_layer_size(const mtx_model_config *c) {
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff;
    return 3 * C + 8 * C * C + 2 * C * F;
}

static size_t embed_size(const mtx_model_config *c) {
    size_t C = (size_t)c->d_model;
    return C * ((size_t)c->src_vocab_size + (size_t)c->max_source_positions +
                (size_t)c->tgt_vocab_size + (size_t)c->max_target_positions);
}

size_t mtx_param_count(const mtx_model_config *c) {
    size_t C = (size_t)c->d_model;
    return embed_size(c) + (size_t)c->num_layers * mtx_enc_layer_size(c) + C +
           (size_t)c->num_decoder_layers * mtx_dec_layer_size(c) + C +
           (size_t)c->tgt_vocab_size * C;
}

void mtx_enc_layer_bind(mtx_enc_layer *l, const mtx_model_config *c, float *p) {
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff;
    l->ln1 = p; p += C;
    l->qkv = p; p += 3 * C * C;
    l->o = p; p += C * C;
    l->ln2 = p; p += C;
    l->wi = p; p += F * C;
    l->wo = p;
}

void mtx_dec_layer_bind(mtx_dec_layer *l, const mtx_model_config *c, float *p) {
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff;
    l->ln1 = p; p += C;
    l->qkv = p; p += 3 * C * C;
    l->o = p; p += C * C;
    l->ln2 = p; p += C;
    l->cq = p; p += C * C;
    l->ckv = p; p += 2 * C * C;
    l->co = p; p += C * C;
    l->ln3 = p; p += C;
    l->wi = p; p += F * C;
    l->wo = p;
}

mtx_status mtx_weights_bind(mtx_weights *w, const mtx_model_config *c, float *p) {
    size_t C = (size_t)c->d_model;
    memset(w, 0, sizeof *w);
    w->enc = calloc((size_t)c->num_layers, sizeof *w->enc);
    w->dec = calloc((size_t)c->num_decoder_layers, sizeof *w->dec);
    if (!w->enc || !w->dec) {
        mtx_weights_unbind(w);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory binding weights");
    }
    w->src_emb = p; p += (size_t)c->src_vocab_size * C;
    w->src_pos = p; p += (size_t)c->max_source_positions * C;
    w->tgt_emb = p; p += (size_t)c->tgt_vocab_size * C;
    w->tgt_pos = p; p += (size_t)c->max_target_positions * C;
    for (int i = 0; i < c->num_layers; i++) {
        mtx_enc_layer_bind(&w->enc[i], c, p);
        p += mtx_enc_layer_size(c);
    }
    w->enc_ln = p; p += C;
    for (int i = 0; i < c->num_decoder_layers; i++) {
        mtx_dec_layer_bind(&w->dec[i], c, p);
        p += mtx_dec_layer_size(c);
    }
    w->dec_ln = p; p += C;
    w->lm_head = p;
    return MTX_OK;
}

void mtx_weights_unbind(mtx_weights *w) {
    free(w->enc);
    free(w->dec);
    w->enc = NULL;
    w->dec = NULL;
}

mtx_status mtx_model_init(mtx_model *m, const mtx_model_config *c) {
    memset(m, 0, sizeof *m);
    mtx_status st = mtx_model_config_validate(c, 0);
    if (st) return st;
    m->cfg = *c;
    m->n_params = mtx_param_count(c);
    m->params = calloc(m->n_params, sizeof(float));
    if (!m->params) return mtx_set_error(MTX_ERR_NOMEM, "out of memory for %zu parameters", m->n_params);
    st = mtx_weights_bind(&m->w, c, m->params);
    if (st) {
        free(m->params);
        m->params = NULL;
    }
    return st;
}

void mtx_model_free(mtx_model *m) {
    mtx_weights_unbind(&m->w);
    free(m->params);
    memset(m, 0, sizeof *m);
}

void mtx_rng_seed(mtx_rng *r, uint64_t seed) { r->s = mtx_hash64(seed ^ 0x6D7478ull); }

uint64_t mtx_rng_u64(mtx_rng *r) {
    r->s += 0x9E3779B97F4A7C15ull;
    return mtx_hash64(r->s);
}

float mtx_rng_uniform(mtx_rng *r) { return (float)((mtx_rng_u64(r) >> 40) * (1.0 / 16777216.0)); }

float mtx_rng_normal(mtx_rng *r) {
    double u1 = ((double)(mtx_rng_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(mtx_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void fill_normal(mtx_rng *r, float *p, size_t n, float std) {
    for (size_t i = 0; i < n; i++) p[i] = std * mtx_rng_normal(r);
}

static void fill_const(float *p, size_t n, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* Init: token embeddings N(0, 1), position embeddings N(0, 0.5^2); every
 * matrix N(0, 1/fan_in) (standard deviation 1/sqrt(fan_in)); the output
 * projections of residual branches are further scaled (GPT-2 style) by
 * 1/sqrt(2 L) in the encoder (two branches per layer) and 1/sqrt(3 L) in the
 * decoder (three: self-attention, cross-attention, feed-forward) so the
 * residual stream does not grow with depth; norm gains start at 1. */
void mtx_model_init_weights(mtx_model *m, uint64_t seed) {
    const mtx_model_config *c = &m->cfg;
    mtx_rng r;
    mtx_rng_seed(&r, seed);
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff;
    float sc = 1.0f / sqrtf((float)C), sf = 1.0f / sqrtf((float)F);
    float re = 1.0f / sqrtf(2.0f * (float)c->num_layers);
    float rd = 1.0f / sqrtf(3.0f * (float)c->num_decoder_layers);
    mtx_weights *w = &m->w;
    fill_normal(&r, w->src_emb, (size_t)c->src_vocab_size * C, 1.0f);
    fill_normal(&r, w->src_pos, (size_t)c->max_source_positions * C, 0.5f);
    fill_normal(&r, w->tgt_emb, (size_t)c->tgt_vocab_size * C, 1.0f);
    fill_normal(&r, w->tgt_pos, (size_t)c->max_target_positions * C, 0.5f);
    for (int i = 0; i < c->num_layers; i++) {
        mtx_enc_layer *l = &w->enc[i];
        fill_const(l->ln1, C, 1.0f);
        fill_normal(&r, l->qkv, 3 * C * C, sc);
        fill_normal(&r, l->o, C * C, sc * re);
        fill_const(l->ln2, C, 1.0f);
        fill_normal(&r, l->wi, F * C, sc);
        fill_normal(&r, l->wo, C * F, sf * re);
    }
    fill_const(w->enc_ln, C, 1.0f);
    for (int i = 0; i < c->num_decoder_layers; i++) {
        mtx_dec_layer *l = &w->dec[i];
        fill_const(l->ln1, C, 1.0f);
        fill_normal(&r, l->qkv, 3 * C * C, sc);
        fill_normal(&r, l->o, C * C, sc * rd);
        fill_const(l->ln2, C, 1.0f);
        fill_normal(&r, l->cq, C * C, sc);
        fill_normal(&r, l->ckv, 2 * C * C, sc);
        fill_normal(&r, l->co, C * C, sc * rd);
        fill_const(l->ln3, C, 1.0f);
        fill_normal(&r, l->wi, F * C, sc);
        fill_normal(&r, l->wo, C * F, sf * rd);
    }
    fill_const(w->dec_ln, C, 1.0f);
    fill_normal(&r, w->lm_head, (size_t)c->tgt_vocab_size * C, sc);
}

#define EMIT(nm, nd, data, ...)                                            \
    do {                                                                   \
        const int64_t shp_[] = { __VA_ARGS__ };                            \
        char name_[160];                                                   \
        snprintf(name_, sizeof name_, "%s%s", prefix, nm);                 \
        mtx_status st_ = fn(ctx, name_, nd, shp_, data);                   \
        if (st_) return st_;                                               \
    } while (0)

mtx_status mtx_enc_layer_foreach(const mtx_enc_layer *l, const mtx_model_config *c,
                                 const char *prefix, mtx_tensor_fn fn, void *ctx) {
    int64_t C = c->d_model, F = c->d_ff;
    EMIT("layer.0.layer_norm.weight", 1, l->ln1, C);
    EMIT("layer.0.SelfAttention.q.weight", 2, l->qkv, C, C);
    EMIT("layer.0.SelfAttention.k.weight", 2, l->qkv + C * C, C, C);
    EMIT("layer.0.SelfAttention.v.weight", 2, l->qkv + 2 * C * C, C, C);
    EMIT("layer.0.SelfAttention.o.weight", 2, l->o, C, C);
    EMIT("layer.1.layer_norm.weight", 1, l->ln2, C);
    EMIT("layer.1.DenseReluDense.wi.weight", 2, l->wi, F, C);
    EMIT("layer.1.DenseReluDense.wo.weight", 2, l->wo, C, F);
    return MTX_OK;
}

mtx_status mtx_dec_layer_foreach(const mtx_dec_layer *l, const mtx_model_config *c,
                                 const char *prefix, mtx_tensor_fn fn, void *ctx) {
    int64_t C = c->d_model, F = c->d_ff;
    EMIT("layer.0.layer_norm.weight", 1, l->ln1, C);
    EMIT("layer.0.SelfAttention.q.weight", 2, l->qkv, C, C);
    EMIT("layer.0.SelfAttention.k.weight", 2, l->qkv + C * C, C, C);
    EMIT("layer.0.SelfAttention.v.weight", 2, l->qkv + 2 * C * C, C, C);
    EMIT("layer.0.SelfAttention.o.weight", 2, l->o, C, C);
    EMIT("layer.1.layer_norm.weight", 1, l->ln2, C);
    EMIT("layer.1.EncDecAttention.q.weight", 2, l->cq, C, C);
    EMIT("layer.1.EncDecAttention.k.weight", 2, l->ckv, C, C);
    EMIT("layer.1.EncDecAttention.v.weight", 2, l->ckv + C * C, C, C);
    EMIT("layer.1.EncDecAttention.o.weight", 2, l->co, C, C);
    EMIT("layer.2.layer_norm.weight", 1, l->ln3, C);
    EMIT("layer.2.DenseReluDense.wi.weight", 2, l->wi, F, C);
    EMIT("layer.2.DenseReluDense.wo.weight", 2, l->wo, C, F);
    return MTX_OK;
}

mtx_status mtx_weights_foreach(const mtx_weights *w, const mtx_model_config *c, mtx_tensor_fn fn,
                               void *ctx) {
    const char *prefix = "";
    int64_t C = c->d_model;
    EMIT("encoder.embed_tokens.weight", 2, w->src_emb, c->src_vocab_size, C);
    EMIT("encoder.embed_positions.weight", 2, w->src_pos, c->max_source_positions, C);
    for (int i = 0; i < c->num_layers; i++) {
        char pre[64];
        snprintf(pre, sizeof pre, "encoder.block.%d.", i);
        mtx_status st = mtx_enc_layer_foreach(&w->enc[i], c, pre, fn, ctx);
        if (st) return st;
    }
    EMIT("encoder.final_layer_norm.weight", 1, w->enc_ln, C);
    EMIT("decoder.embed_tokens.weight", 2, w->tgt_emb, c->tgt_vocab_size, C);
    EMIT("decoder.embed_positions.weight", 2, w->tgt_pos, c->max_target_positions, C);
    for (int i = 0; i < c->num_decoder_layers; i++) {
        char pre[64];
        snprintf(pre, sizeof pre, "decoder.block.%d.", i);
        mtx_status st = mtx_dec_layer_foreach(&w->dec[i], c, pre, fn, ctx);
        if (st) return st;
    }
    EMIT("decoder.final_layer_norm.weight", 1, w->dec_ln, C);
    EMIT("lm_head.weight", 2, w->lm_head, c->tgt_vocab_size, C);
    return MTX_OK;
}
#undef EMIT
