/* forward.h - training-time forward and backward of the whole encoder-decoder.
 *
 * A network (mtx_net) is the shared parts of a model (embeddings, final norms,
 * lm_head) plus an ordered list of encoder and decoder layer views. The list
 * need not be the model's own layers: an assembly can point some entries at
 * module-bank layers. Gradient views may be NULL to freeze a part (its input
 * gradient still flows, its weight gradient is skipped).
 *
 * Activations are allocated once for a capacity (rows = B*S and B*T, maximum
 * lengths); a training step then allocates nothing. */
#ifndef MTX_FORWARD_H
#define MTX_FORWARD_H

#include "model/model.h"

#define MTX_MAX_LAYERS 64

typedef struct {
    const mtx_model_config *cfg;
    const mtx_weights *w; /* embeddings, final norms, lm_head; layer arrays unused */
    mtx_weights *g;       /* gradients of the same, or NULL: frozen */
    int n_enc, n_dec;
    const mtx_enc_layer *enc[MTX_MAX_LAYERS];
    mtx_enc_layer *genc[MTX_MAX_LAYERS]; /* NULL entry: frozen layer */
    const mtx_dec_layer *dec[MTX_MAX_LAYERS];
    mtx_dec_layer *gdec[MTX_MAX_LAYERS];
} mtx_net;

/* The model's own layers in order; g may be NULL (no gradients). */
void mtx_net_from_model(mtx_net *n, const mtx_model *m, mtx_weights *g);

/* One padded batch. Source rows are (B,S), target rows (B,T). */
typedef struct {
    int B, S, T;
    const int32_t *src;     /* (B,S) token ids, 0 (<pad>) past src_len */
    const int *src_len;     /* (B) */
    const int32_t *tgt_in;  /* (B,T) <s> + target, <pad> after */
    const int32_t *tgt_out; /* (B,T) target + </s>, -1 after (ignored) */
    int n_tgt;              /* number of non-ignored target positions */
} mtx_batch;

typedef struct {
    float *a1, *rstd1, *qkv, *P, *att, *xmid, *a2, *rstd2, *h, *r;
} mtx_enc_acts;

typedef struct {
    float *a1, *rstd1, *qkv, *P1, *att1, *xmid1;
    float *a2, *rstd2, *q2, *kv2, *P2, *att2, *xmid2;
    float *a3, *rstd3, *h, *r;
} mtx_dec_acts;

typedef struct {
    int cap_rows, max_len, n_enc, n_dec; /* capacity */
    int C, F, H, V;
    float eps;            /* RMSNorm epsilon */
    float *buf;
    size_t buf_floats;
    float *enc_res;  /* (n_enc+1, R, C) residual stream: [0] embeddings, [l+1] layer l output */
    mtx_enc_acts enc[MTX_MAX_LAYERS];
    float *enc_out, *enc_rstd; /* (R, C), (R) after the final norm */
    float *dec_res;  /* (n_dec+1, R, C) */
    mtx_dec_acts dec[MTX_MAX_LAYERS];
    float *dec_hn, *dec_rstd;  /* (R, C), (R) */
    float *logits;             /* (R, V) */
    /* backward scratch */
    float *d_res, *d_tmp, *d_att, *d_qkv, *d_a, *d_h, *d_enc, *d_kv, *d_q, *d_logits;
    /* Optional extra gradients injected at layer outputs (hidden-state losses):
     * enc_dres_extra[l] (B*S, C) is added to the gradient of enc_res[l+1]; NULL: none. */
    const float *enc_dres_extra[MTX_MAX_LAYERS];
    const float *dec_dres_extra[MTX_MAX_LAYERS];
    /* Optional attention-distribution targets (distillation) per layer slot:
     * probabilities laid out as that slot's P, P1 or P2; the backward adds the
     * gradient of sum over query rows r of w[r] * KL(target row || row), with
     * w = att_w_src (B*S) for the encoder, att_w_tgt (B*T) for the decoder
     * (see mtx_attention_kl). NULL: none. */
    const float *enc_att_target[MTX_MAX_LAYERS];
    const float *dec_self_target[MTX_MAX_LAYERS], *dec_cross_target[MTX_MAX_LAYERS];
    const float *att_w_src, *att_w_tgt;
} mtx_acts;

mtx_status mtx_acts_init(mtx_acts *a, const mtx_model_config *c, int n_enc, int n_dec,
                         int cap_rows, int max_len);
void mtx_acts_free(mtx_acts *a);

typedef struct {
    float dropout;  /* 0 for evaluation */
    uint64_t seed;  /* dropout masks are a function of (seed, step, site, index) */
    uint64_t step;
} mtx_fwd_opts;

/* Forward pass; fills the activations and a->logits (B*T, V). */
mtx_status mtx_forward(mtx_acts *a, const mtx_net *n, const mtx_batch *b, const mtx_fwd_opts *o);

/* Encoder only, for inference (no dropout): fills a->enc_out (B*S, C). Works
 * with activations sized for one encoder layer (mtx_acts_init n_enc = 1). */
mtx_status mtx_encode(mtx_acts *a, const mtx_net *n, const mtx_batch *b);

/* Label-smoothed cross-entropy on a->logits; writes a->d_logits for a mean
 * over the batch's target tokens. Returns the summed smoothed loss. */
double mtx_loss(mtx_acts *a, const mtx_batch *b, float smoothing, double *nll, int64_t *correct);

/* Backward from a->d_logits; accumulates into the net's gradient views. */
void mtx_backward(mtx_acts *a, const mtx_net *n, const mtx_batch *b, const mtx_fwd_opts *o);

/* One layer on a given input, for layer-local objectives and the stacks
 * above. The layer uses activation slot `slot` (a->enc[slot] / a->dec[slot]);
 * l selects its dropout sites. The decoder layer attends to mem (B*S, C).
 * Backward: on entry dres holds d(out), on exit d(x); weight gradients are
 * accumulated into gl (NULL: frozen); the decoder adds d(mem) into dmem
 * (NULL: not needed).
 * dres must not be one of a's backward scratch buffers other than d_res. */
void mtx_enc_layer_forward(mtx_acts *a, int slot, const mtx_enc_layer *w, const float *x, float *out,
                           const mtx_batch *b, const mtx_fwd_opts *o, int l);
void mtx_enc_layer_backward(mtx_acts *a, int slot, const mtx_enc_layer *w, mtx_enc_layer *gl,
                            const float *x, float *dres, const mtx_batch *b, const mtx_fwd_opts *o, int l);
void mtx_dec_layer_forward(mtx_acts *a, int slot, const mtx_dec_layer *w, const float *x, const float *mem,
                           float *out, const mtx_batch *b, const mtx_fwd_opts *o, int l);
void mtx_dec_layer_backward(mtx_acts *a, int slot, const mtx_dec_layer *w, mtx_dec_layer *gl,
                            const float *x, const float *mem, float *dres, float *dmem,
                            const mtx_batch *b, const mtx_fwd_opts *o, int l);

/* Model FLOPs of one training step (forward + backward = 3x forward) on the
 * batch's real (unpadded) tokens, counted from the shapes. */
double mtx_train_flops(const mtx_net *n, const mtx_batch *b);

#endif
