/* model/ (layer 1) - the fp32 encoder-decoder transformer: configs
 * (config), parameter layout and RNG (model), ops, the GEMM wrapper (gemm),
 * forward/backward over a layer list (forward) and KV-cached decoding (decode). */
/* model.h - parameter layout of the encoder-decoder transformer.
 *
 * All parameters live in one flat float buffer; gradients and AdamW moments
 * mirror it, so optimizers are one flat loop. Each layer is one contiguous
 * block with a fixed internal layout, so a "layer" can come from the teacher
 * or from a module bank and every engine treats them alike. Weights use the
 * Hugging Face [out, in] layout; q, k and v of one attention are stored
 * back to back so that together they form one (3C, C) matrix.
 *
 * Positions are learned absolute embeddings added to the token embeddings
 * (see docs/architecture.md for why: the layer engine then needs no position
 * logic at all, and modules are position-agnostic). */
#ifndef MTX_MODEL_H
#define MTX_MODEL_H

#include "model/config.h"
#include "core/mtx.h"

#include <stddef.h>

typedef struct {
    float *ln1; /* (C)      encoder.block.i.layer.0.layer_norm.weight */
    float *qkv; /* (3C, C)  encoder.block.i.layer.0.SelfAttention.{q,k,v}.weight */
    float *o;   /* (C, C)   encoder.block.i.layer.0.SelfAttention.o.weight */
    float *ln2; /* (C)      encoder.block.i.layer.1.layer_norm.weight */
    float *wi;  /* (F, C)   encoder.block.i.layer.1.DenseReluDense.wi.weight */
    float *wo;  /* (C, F)   encoder.block.i.layer.1.DenseReluDense.wo.weight */
} mtx_enc_layer;

typedef struct {
    float *ln1;   /* (C)      decoder.block.i.layer.0.layer_norm.weight */
    float *qkv;   /* (3C, C)  decoder.block.i.layer.0.SelfAttention.{q,k,v}.weight */
    float *o;     /* (C, C)   decoder.block.i.layer.0.SelfAttention.o.weight */
    float *ln2;   /* (C)      decoder.block.i.layer.1.layer_norm.weight */
    float *cq;    /* (C, C)   decoder.block.i.layer.1.EncDecAttention.q.weight */
    float *ckv;   /* (2C, C)  decoder.block.i.layer.1.EncDecAttention.{k,v}.weight */
    float *co;    /* (C, C)   decoder.block.i.layer.1.EncDecAttention.o.weight */
    float *ln3;   /* (C)      decoder.block.i.layer.2.layer_norm.weight */
    float *wi;    /* (F, C)   decoder.block.i.layer.2.DenseReluDense.wi.weight */
    float *wo;    /* (C, F)   decoder.block.i.layer.2.DenseReluDense.wo.weight */
} mtx_dec_layer;

/* Views into one flat buffer (parameters, gradients or moments alike). */
typedef struct {
    float *src_emb;     /* (Vs, C) encoder.embed_tokens.weight */
    float *src_pos;     /* (Ps, C) encoder.embed_positions.weight */
    float *tgt_emb;     /* (Vt, C) decoder.embed_tokens.weight */
    float *tgt_pos;     /* (Pt, C) decoder.embed_positions.weight */
    mtx_enc_layer *enc; /* [num_layers] */
    float *enc_ln;      /* (C) encoder.final_layer_norm.weight */
    mtx_dec_layer *dec; /* [num_decoder_layers] */
    float *dec_ln;      /* (C) decoder.final_layer_norm.weight */
    float *lm_head;     /* (Vt, C) lm_head.weight */
} mtx_weights;

size_t mtx_enc_layer_size(const mtx_model_config *c);
size_t mtx_dec_layer_size(const mtx_model_config *c);
size_t mtx_param_count(const mtx_model_config *c);

/* Points the layer views of an encoder/decoder layer block at base. */
void mtx_enc_layer_bind(mtx_enc_layer *l, const mtx_model_config *c, float *base);
void mtx_dec_layer_bind(mtx_dec_layer *l, const mtx_model_config *c, float *base);

/* Binds all views over a flat buffer of mtx_param_count floats (allocates
 * the layer arrays; free with mtx_weights_unbind). */
mtx_status mtx_weights_bind(mtx_weights *w, const mtx_model_config *c, float *base);
void mtx_weights_unbind(mtx_weights *w);

/* A model: config, flat parameters and their views. */
typedef struct {
    mtx_model_config cfg;
    size_t n_params;
    float *params;
    mtx_weights w;
} mtx_model;

mtx_status mtx_model_init(mtx_model *m, const mtx_model_config *c);
void mtx_model_free(mtx_model *m);

/* Seeded initialisation: norm gains 1; token embeddings N(0, 1), position
 * embeddings N(0, 0.5^2); matrices N(0, 1/fan_in), with the output
 * projections of residual branches scaled down by depth (see model.c). */
void mtx_model_init_weights(mtx_model *m, uint64_t seed);

/* Named tensors of a layout, for checkpoints: calls fn once per Hugging Face
 * tensor with its name, shape and pointer into the views w. */
typedef mtx_status (*mtx_tensor_fn)(void *ctx, const char *name, int ndim, const int64_t *shape,
                                    float *data);
mtx_status mtx_weights_foreach(const mtx_weights *w, const mtx_model_config *c, mtx_tensor_fn fn,
                               void *ctx);
mtx_status mtx_enc_layer_foreach(const mtx_enc_layer *l, const mtx_model_config *c,
                                 const char *prefix, mtx_tensor_fn fn, void *ctx);
mtx_status mtx_dec_layer_foreach(const mtx_dec_layer *l, const mtx_model_config *c,
                                 const char *prefix, mtx_tensor_fn fn, void *ctx);

/* Deterministic uniform/normal draws for initialisation. */
typedef struct { uint64_t s; } mtx_rng;
void mtx_rng_seed(mtx_rng *r, uint64_t seed);
uint64_t mtx_rng_u64(mtx_rng *r);
float mtx_rng_uniform(mtx_rng *r); /* [0, 1) */
float mtx_rng_normal(mtx_rng *r);

#endif
