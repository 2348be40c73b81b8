/* plan.h - reconfiguration plans (NAME.plan): one list of layer descriptors
 * per stack over one image. Switching compression ratio is handing the engine
 * another plan; the image stays loaded.
 *
 * The parser checks a plan against the image it is for (identity = the
 * image's crc and size), every descriptor's kind, dimensions, offsets and
 * lengths (64-bit overflow included), counts, reserved fields, and that each
 * descriptor's (offset, length) is exactly the image's TOC section for its
 * origin. Every failure is a one-line error naming the file and the field. */
#ifndef MTX_PLAN_H
#define MTX_PLAN_H

#include "format/image.h"

typedef struct {
    uint32_t kind, origin;   /* MTX_KIND_*, MTX_ORIGIN(g, j) */
    uint32_t C, H, F, span;
    uint64_t w_off, w_bytes, k_off, k_bytes;
} mtx_plan_desc;

typedef struct {
    uint32_t image_crc;
    uint64_t image_bytes;
    uint32_t ratio_x100;
    int n_enc, n_dec;
    mtx_plan_desc enc[MTX_MAX_STACK_LAYERS];
    mtx_plan_desc dec[MTX_MAX_STACK_LAYERS];
} mtx_plan;

/* Builds the plan whose layers are the given origins (MTX_ORIGIN(g, j)),
 * looking each up in the image's TOC; ratio_x100 as given. */
mtx_status mtx_plan_from_origins(mtx_plan *p, const mtx_image *im, const uint32_t *enc, int n_enc,
                                 const uint32_t *dec, int n_dec, uint32_t ratio_x100);

/* Serialises p (malloc'd buffer) / parses and validates bytes against im. */
mtx_status mtx_plan_encode(const mtx_plan *p, uint8_t **out, uint64_t *bytes);
mtx_status mtx_plan_parse(mtx_plan *p, const uint8_t *data, uint64_t bytes, const mtx_image *im,
                          const char *name);
mtx_status mtx_plan_load(const char *path, const mtx_image *im, mtx_plan *p, uint8_t **data,
                         uint64_t *bytes);

/* Work per word for a word of src_len (S) characters decoded for tgt_len (T)
 * steps. MACs: every int8 GEMM, attention included. Encoder layer, over S
 * positions: qkv, o, wi, wo, and scores and p.v over S x S (S(4C^2 + 2CF) +
 * 2S^2 C). Decoder layer: per step t = 0..T-1 qkv, o, cq, co, wi, wo for one
 * position, self-attention scores and p.v over t + 1 keys, cross-attention
 * scores and p.v over S keys; ckv once per word over S (T(6C^2 + 2CF) +
 * CT(T+1) + 2CST + 2C^2 S). lm_head: Vt C per step. Bytes: each encoder
 * layer's weights and constants once, each decoder layer's T times, the
 * lm_head and its requant record T times; embedding and position rows, the
 * final norm records and the exp2 table are not counted. */
void mtx_plan_cost(const mtx_plan *p, const mtx_image *im, int src_len, int tgt_len,
                   uint64_t *macs, uint64_t *weight_bytes);
/* The same for one layer (lm_head excluded): what mtx_plan_cost sums. */
void mtx_plan_layer_cost(const mtx_plan_desc *d, int src_len, int tgt_len, uint64_t *macs,
                         uint64_t *weight_bytes);

/* Tiling in the sweep's notation, "t0 m2.1 t3 | m3.0 m3.1". */
void mtx_plan_tiling(const mtx_plan *p, char *buf, size_t cap);

#endif
