/* golden.c - the golden model, written to be read next to docs/engine.md:
 * each function names the section of that page it implements. Integer
 * only (the primitives of engine/iops.h), single-threaded. Multi-byte
 * fields of the image are read little-endian with mtx_le32, so the result
 * does not depend on the host's byte order. */
#include "engine/golden.h"
#include "engine/iops.h"

#include <stdlib.h>
#include <string.h>

/* One layer's constants decoded from the image: the requant records in the
 * order of format/layout.h, each a pointer to [s, m...] inside k. */
typedef struct {
    int32_t k[MTX_DEC_K_WORDS(MTX_MAX_D_MODEL, MTX_MAX_D_FF)];
    const int32_t *n1, *qkv, *sm1, *att1, *o, *n2, *cq, *ckv, *sm2, *att2, *co, *n3, *wi, *wo;
    const int8_t *W_qkv, *W_o, *W_cq, *W_ckv, *W_co, *W_wi, *W_wo;
} layer;

/* Work buffers of one word. */
typedef struct {
    const mtx_image *im;
    const mtx_image_dims *d;
    int32_t exp2[MTX_EXP2_ENTRIES];
    int32_t enc_norm[MTX_REQ_WORDS(MTX_MAX_D_MODEL)], dec_norm[MTX_REQ_WORDS(MTX_MAX_D_MODEL)];
    int32_t lm_req[MTX_REQ_WORDS(MTX_MAX_VOCAB)];
    const uint8_t *src_emb, *src_pos, *tgt_emb, *tgt_pos;
    const int8_t *lm_head;
    layer L;
    int32_t x[MTX_MAX_POS * MTX_MAX_D_MODEL];     /* residual stream (S, C) or (1, C) */
    int8_t a[MTX_MAX_POS * MTX_MAX_D_MODEL];      /* norm output */
    int8_t qkv[MTX_MAX_POS * 3 * MTX_MAX_D_MODEL];
    int8_t att[MTX_MAX_POS * MTX_MAX_D_MODEL];
    int8_t h[MTX_MAX_POS * MTX_MAX_D_FF];
    int8_t mem[MTX_MAX_POS * MTX_MAX_D_MODEL];    /* the memory: norm(x, ENC_NORM) */
    int8_t cross[MTX_MAX_STACK_LAYERS][MTX_MAX_POS * 2 * MTX_MAX_D_MODEL]; /* K2 | V2 per decoder layer */
    int8_t cache[MTX_MAX_STACK_LAYERS][MTX_MAX_POS * 2 * MTX_MAX_D_MODEL]; /* self K | V per step */
    int32_t acc[MTX_MAX_D_FF > MTX_MAX_VOCAB ? MTX_MAX_D_FF : MTX_MAX_VOCAB];
} engine;

static void read_words(int32_t *dst, const uint8_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (int32_t)mtx_le32(src + 4 * i);
}

static const uint8_t *section(const mtx_image *im, uint32_t type) {
    uint64_t off = 0, len = 0;
    return mtx_image_find(im, type, 0, &off, &len) ? NULL : im->data + off;
}

/* "Linear layers": acc[o] = sum_i a[i] * W[o][i] (int32), o < n_out. */
static void gemv(int32_t *acc, const int8_t *a, const int8_t *W, int n_out, int n_in) {
    for (int o = 0; o < n_out; o++) {
        const int8_t *w = W + (int64_t)o * n_in;
        int32_t s = 0;
        for (int i = 0; i < n_in; i++) s += (int32_t)a[i] * w[i];
        acc[o] = s;
    }
}

/* "Linear layers", to int8: out[o] = q8(rshr(acc[o] * m[o], s)); relu: acc clamped at 0 first. */
static void linear_q8(engine *e, int8_t *out, const int8_t *a, const int8_t *W, int n_out, int n_in,
                      const int32_t *rec, int relu) {
    gemv(e->acc, a, W, n_out, n_in);
    for (int o = 0; o < n_out; o++) {
        int64_t acc = relu && e->acc[o] < 0 ? 0 : e->acc[o];
        out[o] = (int8_t)mtx_q8(mtx_requant(acc, rec, o));
    }
}

/* "Linear layers", into the residual: x[o] = res(x[o] + rshr(acc[o] * m[o], s)). */
static void linear_res(engine *e, int32_t *x, const int8_t *a, const int8_t *W, int n_out, int n_in,
                       const int32_t *rec) {
    gemv(e->acc, a, W, n_out, n_in);
    for (int o = 0; o < n_out; o++) x[o] = mtx_res((int64_t)x[o] + mtx_requant(e->acc[o], rec, o));
}

/* "Attention" for one query row, every head: keys/values rows j < nk of
 * kv (k at column 0, v at column voff, row stride ld). */
static void attention(const engine *e, int8_t *att, const int8_t *q, const int8_t *k, const int8_t *v, int ld,
                      int nk, const int32_t *sm, const int32_t *att_rec) {
    const int C = (int)e->d->C, H = (int)e->d->H, hs = C / H;
    for (int h = 0; h < H; h++)
        mtx_attend_row(att + h * hs, q + h * hs, k + h * hs, v + h * hs, ld, ld, nk, hs, sm, att_rec, e->exp2);
}

/* Decodes a descriptor's constants and weight pointers (record order of layout.h). */
static void load_layer(engine *e, const mtx_plan_desc *desc) {
    const int C = (int)e->d->C, F = (int)e->d->F;
    const int64_t CC = (int64_t)C * C;
    layer *L = &e->L;
    read_words(L->k, e->im->data + desc->k_off, desc->k_bytes / 4);
    const int32_t *p = L->k;
#define REC(field, n) do { L->field = p; p += MTX_REQ_WORDS(n); } while (0)
    const int8_t *W = (const int8_t *)(e->im->data + desc->w_off);
    if (desc->kind == MTX_KIND_ENC) {
        REC(n1, C); REC(qkv, 3 * C); REC(sm1, 1); REC(att1, 1); REC(o, C); REC(n2, C); REC(wi, F); REC(wo, C);
        L->W_qkv = W; L->W_o = W + 3 * CC; L->W_wi = W + 4 * CC; L->W_wo = W + 4 * CC + (int64_t)F * C;
    } else {
        REC(n1, C); REC(qkv, 3 * C); REC(sm1, 1); REC(att1, 1); REC(o, C); REC(n2, C); REC(cq, C);
        REC(ckv, 2 * C); REC(sm2, 1); REC(att2, 1); REC(co, C); REC(n3, C); REC(wi, F); REC(wo, C);
        L->W_qkv = W; L->W_o = W + 3 * CC; L->W_cq = W + 4 * CC; L->W_ckv = W + 5 * CC; L->W_co = W + 7 * CC;
        L->W_wi = W + 8 * CC; L->W_wo = W + 8 * CC + (int64_t)F * C;
    }
#undef REC
}

/* "Layers", encoder layer over x (S, C). */
static void encoder_layer(engine *e, int S) {
    const int C = (int)e->d->C, F = (int)e->d->F;
    const layer *L = &e->L;
    for (int s = 0; s < S; s++) {
        mtx_norm_row(e->a + s * C, e->x + s * C, C, L->n1, e->d->eps_q);
        linear_q8(e, e->qkv + s * 3 * C, e->a + s * C, L->W_qkv, 3 * C, C, L->qkv, 0);
    }
    for (int s = 0; s < S; s++)
        attention(e, e->att + s * C, e->qkv + s * 3 * C, e->qkv + C, e->qkv + 2 * C, 3 * C, S, L->sm1, L->att1);
    for (int s = 0; s < S; s++) {
        int32_t *x = e->x + s * C;
        linear_res(e, x, e->att + s * C, L->W_o, C, C, L->o);
        mtx_norm_row(e->a, x, C, L->n2, e->d->eps_q);
        linear_q8(e, e->h, e->a, L->W_wi, F, C, L->wi, 1);
        linear_res(e, x, e->h, L->W_wo, C, F, L->wo);
    }
}

/* "Layers", decoder layer l at step t over one position x (C). */
static void decoder_layer(engine *e, int l, int t, int S) {
    const int C = (int)e->d->C, F = (int)e->d->F;
    const layer *L = &e->L;
    int32_t *x = e->x;
    int8_t *cache = e->cache[l], *cross = e->cross[l];
    mtx_norm_row(e->a, x, C, L->n1, e->d->eps_q);
    linear_q8(e, e->qkv, e->a, L->W_qkv, 3 * C, C, L->qkv, 0);
    memcpy(cache + t * 2 * C, e->qkv + C, 2 * (size_t)C); /* k, v at cache[t] */
    attention(e, e->att, e->qkv, cache, cache + C, 2 * C, t + 1, L->sm1, L->att1);
    linear_res(e, x, e->att, L->W_o, C, C, L->o);
    mtx_norm_row(e->a, x, C, L->n2, e->d->eps_q);
    linear_q8(e, e->qkv, e->a, L->W_cq, C, C, L->cq, 0);
    attention(e, e->att, e->qkv, cross, cross + C, 2 * C, S, L->sm2, L->att2);
    linear_res(e, x, e->att, L->W_co, C, C, L->co);
    mtx_norm_row(e->a, x, C, L->n3, e->d->eps_q);
    linear_q8(e, e->h, e->a, L->W_wi, F, C, L->wi, 1);
    linear_res(e, x, e->h, L->W_wo, C, F, L->wo);
}

/* x = res(EMB[id] + POS[pos]) for one row. */
static void embed(const engine *e, int32_t *x, const uint8_t *emb, const uint8_t *pos, int id, int p) {
    const int C = (int)e->d->C;
    for (int c = 0; c < C; c++)
        x[c] = mtx_res((int64_t)(int32_t)mtx_le32(emb + 4 * ((int64_t)id * C + c)) +
                       (int32_t)mtx_le32(pos + 4 * ((int64_t)p * C + c)));
}

/* "A word": encoder, memory, cross K/V, greedy decoding. out: [T, ids...]. */
static void run_word(engine *e, const mtx_plan *p, const int32_t *in, int32_t *out, int word,
                     const mtx_golden_opts *opts) {
    const mtx_image_dims *d = e->d;
    const int C = (int)d->C, S = in[0], Vt = (int)d->Vt;
    for (int s = 0; s < S; s++) embed(e, e->x + s * C, e->src_emb, e->src_pos, in[1 + s], s);
    for (int l = 0; l < p->n_enc; l++) {
        load_layer(e, &p->enc[l]);
        encoder_layer(e, S);
        if (opts && opts->trace) opts->trace(opts->trace_ctx, word, MTX_KIND_ENC, l, -1, e->x, S, C);
    }
    for (int s = 0; s < S; s++) mtx_norm_row(e->mem + s * C, e->x + s * C, C, e->enc_norm, d->eps_q);
    for (int l = 0; l < p->n_dec; l++) { /* K2, V2 = ckv-GEMM(mem), once per word */
        load_layer(e, &p->dec[l]);
        for (int s = 0; s < S; s++)
            linear_q8(e, e->cross[l] + s * 2 * C, e->mem + s * C, e->L.W_ckv, 2 * C, C, e->L.ckv, 0);
    }
    int tok = (int)d->bos, T = (int)d->Pt;
    for (int t = 0; t < (int)d->Pt; t++) {
        embed(e, e->x, e->tgt_emb, e->tgt_pos, tok, t);
        for (int l = 0; l < p->n_dec; l++) {
            load_layer(e, &p->dec[l]);
            decoder_layer(e, l, t, S);
            if (opts && opts->trace) opts->trace(opts->trace_ctx, word, MTX_KIND_DEC, l, t, e->x, 1, C);
        }
        mtx_norm_row(e->a, e->x, C, e->dec_norm, d->eps_q);
        gemv(e->acc, e->a, e->lm_head, Vt, C);
        /* argmax over v >= 2, first maximum: <pad> and <s> are never emitted */
        int best = -1;
        int64_t best_logit = 0;
        for (int v = MTX_EOS; v < Vt; v++) {
            int64_t logit = mtx_requant(e->acc[v], e->lm_req, v);
            if (best < 0 || logit > best_logit) best = v, best_logit = logit;
        }
        if (best == (int)d->eos) {
            T = t;
            break;
        }
        out[1 + t] = best;
        tok = best;
    }
    out[0] = T;
}

mtx_status mtx_golden_run(const mtx_image *im, const mtx_plan *p, const int32_t *in, int B,
                          int32_t *out, const mtx_golden_opts *opts) {
    if (B < 1 || B > MTX_MAX_BATCH) return mtx_set_error(MTX_ERR_ARG, "golden: batch of %d words (1 to %d)", B, MTX_MAX_BATCH);
    if (p->n_enc < 1 || p->n_enc > MTX_MAX_STACK_LAYERS || p->n_dec < 1 || p->n_dec > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_ARG, "golden: plan has %d + %d layers", p->n_enc, p->n_dec);
    for (int b = 0; b < B; b++) {
        const int32_t *w = in + (int64_t)b * MTX_IO_STRIDE;
        if (w[0] < 1 || w[0] > (int32_t)im->dims.Ps)
            return mtx_set_error(MTX_ERR_DATA, "golden: word %d has length %d (1 to %u)", b, w[0], im->dims.Ps);
        for (int s = 0; s < w[0]; s++)
            if (w[1 + s] < 0 || w[1 + s] >= (int32_t)im->dims.Vs)
                return mtx_set_error(MTX_ERR_DATA, "golden: word %d: id %d at %d not in [0, %u)", b, w[1 + s], s, im->dims.Vs);
    }
    engine *e = calloc(1, sizeof *e);
    if (!e) return mtx_set_error(MTX_ERR_NOMEM, "golden: out of memory");
    e->im = im;
    e->d = &im->dims;
    const uint32_t C = im->dims.C;
    const uint8_t *exp2 = section(im, MTX_SEC_EXP2), *en = section(im, MTX_SEC_ENC_NORM);
    const uint8_t *dn = section(im, MTX_SEC_DEC_NORM), *lr = section(im, MTX_SEC_LM_REQ);
    e->src_emb = section(im, MTX_SEC_SRC_EMB);
    e->src_pos = section(im, MTX_SEC_SRC_POS);
    e->tgt_emb = section(im, MTX_SEC_TGT_EMB);
    e->tgt_pos = section(im, MTX_SEC_TGT_POS);
    e->lm_head = (const int8_t *)section(im, MTX_SEC_LM_HEAD);
    if (!exp2 || !en || !dn || !lr || !e->src_emb || !e->src_pos || !e->tgt_emb || !e->tgt_pos || !e->lm_head) {
        free(e);
        return mtx_set_error(MTX_ERR_FORMAT, "golden: image lacks a global section");
    }
    read_words(e->exp2, exp2, MTX_EXP2_ENTRIES);
    read_words(e->enc_norm, en, MTX_REQ_WORDS(C));
    read_words(e->dec_norm, dn, MTX_REQ_WORDS(C));
    read_words(e->lm_req, lr, MTX_REQ_WORDS(im->dims.Vt));
    memset(out, 0, sizeof(int32_t) * (size_t)B * MTX_IO_STRIDE);
    for (int b = 0; b < B; b++)
        run_word(e, p, in + (int64_t)b * MTX_IO_STRIDE, out + (int64_t)b * MTX_IO_STRIDE, b, opts);
    free(e);
    return MTX_OK;
}
