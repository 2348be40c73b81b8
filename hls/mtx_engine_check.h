/* mtx_engine_check.h - part of the mtx_engine kernel (included once, by
 * hls/mtx_engine.c): buffer sizes, the call's configuration, little-endian
 * reads, the restoring divider, the layer weight/constant maps, and the
 * validation of image header, TOC, plan and input words that runs before any
 * access outside the image header (docs/engine.md "Validation every engine
 * performs"). Every check returns the first failure's MTX_ENG_* code. */
#ifndef MTX_ENGINE_CHECK_H
#define MTX_ENGINE_CHECK_H

#include "format/layout.h"

/* ---- on-chip buffer sizes, all from format/maxima.h ---- */
#define ROW_W (MTX_MAX_D_FF > 3 * MTX_MAX_D_MODEL ? MTX_MAX_D_FF : 3 * MTX_MAX_D_MODEL) /* widest activation row */
#define PE_TILE (MTX_PE_ROWS * MTX_PE_COLS)
#define LAYER_TILES (MTX_DEC_W_BYTES(MTX_MAX_D_MODEL, MTX_MAX_D_FF) / PE_TILE)
#define LM_TILES ((MTX_MAX_VOCAB / MTX_PE_ROWS) * (MTX_MAX_D_MODEL / MTX_PE_COLS))
#define W_TILES (LAYER_TILES + LM_TILES) /* layer weights, then the LM head */
#define LAYER_K_WORDS MTX_DEC_K_WORDS(MTX_MAX_D_MODEL, MTX_MAX_D_FF)
/* kc: the layer's constants, then the global records ENC_NORM, DEC_NORM, LM_REQ. */
#define K_ENC_NORM LAYER_K_WORDS
#define K_DEC_NORM (K_ENC_NORM + MTX_REQ_WORDS(MTX_MAX_D_MODEL))
#define K_LM_REQ (K_DEC_NORM + MTX_REQ_WORDS(MTX_MAX_D_MODEL))
#define K_WORDS (K_LM_REQ + MTX_REQ_WORDS(MTX_MAX_VOCAB))

/* Compile-time checks (C99): whole tiles at the maxima (so padded matrices
 * of smaller dimensions fit the tile memory), the args header's sizes. */
#define MTX_ENGINE_ASSERT(name, cond) typedef char mtx_engine_assert_##name[(cond) ? 1 : -1]
MTX_ENGINE_ASSERT(c_tiles, MTX_MAX_D_MODEL % MTX_PE_ROWS == 0 && MTX_MAX_D_MODEL % MTX_PE_COLS == 0);
MTX_ENGINE_ASSERT(f_tiles, MTX_MAX_D_FF % MTX_PE_ROWS == 0 && MTX_MAX_D_FF % MTX_PE_COLS == 0);
MTX_ENGINE_ASSERT(v_tiles, MTX_MAX_VOCAB % MTX_PE_ROWS == 0);
MTX_ENGINE_ASSERT(enc_fits, MTX_ENC_W_BYTES(MTX_MAX_D_MODEL, MTX_MAX_D_FF) <= LAYER_TILES * PE_TILE);
MTX_ENGINE_ASSERT(vocab_row, MTX_MAX_VOCAB <= ROW_W);
MTX_ENGINE_ASSERT(io_depth, MTX_MAX_BATCH * MTX_IO_STRIDE == 4160); /* depth= of in and out */
MTX_ENGINE_ASSERT(plan_depth, MTX_PLAN_HEADER_BYTES + 2 * MTX_MAX_STACK_LAYERS * MTX_DESC_BYTES == 1600);
MTX_ENGINE_ASSERT(image_depth, MTX_MAX_IMAGE_BYTES == 1073741824u);
#define MTX_ENGINE_ARG_BYTES(name, is_pointer, c_type, bundle, bytes) \
    MTX_ENGINE_ASSERT(arg_##name, sizeof(c_type) == (bytes));
MTX_KERNEL_ARGS(MTX_ENGINE_ARG_BYTES)

/* ---- the call's configuration (validated) ---- */
typedef struct {
    uint32_t C, H, F, hs, Vs, Vt, Ps, Pt, eps_q, bos, eos;
    uint32_t crc;        /* header crc32: the image's identity for plans */
    uint64_t file_bytes;
    uint64_t sec[MTX_SEC_EXP2 + 1]; /* offsets of the global sections by type */
    uint32_t n_enc, n_dec;
    uint64_t enc_w[MTX_MAX_STACK_LAYERS], enc_k[MTX_MAX_STACK_LAYERS];
    uint64_t dec_w[MTX_MAX_STACK_LAYERS], dec_k[MTX_MAX_STACK_LAYERS];
} eng_cfg;

static uint32_t rd32(const unsigned char *p, uint64_t off) {
    return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
}

static uint64_t rd64(const unsigned char *p, uint64_t off) {
    return (uint64_t)rd32(p, off) | (uint64_t)rd32(p, off + 4) << 32;
}

/* floor(a / b) for a < 2^48, b > 0: 48 restoring steps, one quotient bit
 * each (b = 0 gives 2^48 - 1, which no caller uses: see attend()). */
static uint64_t udiv48(uint64_t a, uint64_t b) {
    uint64_t rem = 0, q = 0;
UDIV_BIT:
    for (int i = 47; i >= 0; i--) {
#pragma HLS PIPELINE II=1
        rem = (rem << 1) | ((a >> i) & 1u);
        q <<= 1;
        if (rem >= b) {
            rem -= b;
            q |= 1u;
        }
    }
    return q;
}

/* ---- layer maps: matrices in image order (layout.h) ---- */
enum { M_QKV, M_O, M_CQ, M_CKV, M_CO, M_WI, M_WO, M_COUNT };

typedef struct {
    uint32_t out[M_COUNT], in[M_COUNT]; /* 0 out: not in this kind of layer */
    uint64_t byte_off[M_COUNT];          /* within the layer's weights */
    uint32_t tile[M_COUNT];              /* first tile in wt */
} mat_map;

static void layer_map(uint32_t C, uint32_t F, int dec, mat_map *mm) {
    const uint32_t outs[M_COUNT] = {3 * C, C, dec ? C : 0, dec ? 2 * C : 0, dec ? C : 0, F, C};
    const uint32_t ins[M_COUNT] = {C, C, C, C, C, C, F};
    uint64_t off = 0;
    uint32_t tile = 0;
LAYER_MAP:
    for (int m = 0; m < M_COUNT; m++) {
        mm->out[m] = outs[m];
        mm->in[m] = ins[m];
        mm->byte_off[m] = off;
        mm->tile[m] = tile;
        off += (uint64_t)outs[m] * ins[m];
        tile += ((outs[m] + MTX_PE_ROWS - 1) / MTX_PE_ROWS) * ((ins[m] + MTX_PE_COLS - 1) / MTX_PE_COLS);
    }
}

/* Word offsets of the requant records in a layer's constants (layout.h). */
#define KE_N1(C, F) 0u
#define KE_QKV(C, F) ((C) + 1)
#define KE_SM(C, F) (4 * (C) + 2)
#define KE_ATT(C, F) (4 * (C) + 4)
#define KE_O(C, F) (4 * (C) + 6)
#define KE_N2(C, F) (5 * (C) + 7)
#define KE_WI(C, F) (6 * (C) + 8)
#define KE_WO(C, F) (6 * (C) + (F) + 9)
#define KD_N1(C, F) 0u
#define KD_QKV(C, F) ((C) + 1)
#define KD_SM1(C, F) (4 * (C) + 2)
#define KD_ATT1(C, F) (4 * (C) + 4)
#define KD_O(C, F) (4 * (C) + 6)
#define KD_N2(C, F) (5 * (C) + 7)
#define KD_CQ(C, F) (6 * (C) + 8)
#define KD_CKV(C, F) (7 * (C) + 9)
#define KD_SM2(C, F) (9 * (C) + 10)
#define KD_ATT2(C, F) (9 * (C) + 12)
#define KD_CO(C, F) (9 * (C) + 14)
#define KD_N3(C, F) (10 * (C) + 15)
#define KD_WI(C, F) (11 * (C) + 16)
#define KD_WO(C, F) (11 * (C) + (F) + 17)
MTX_ENGINE_ASSERT(ke_end, KE_WO(7, 5) + 7 + 1 == MTX_ENC_K_WORDS(7, 5));
MTX_ENGINE_ASSERT(kd_end, KD_WO(7, 5) + 7 + 1 == MTX_DEC_K_WORDS(7, 5));

/* ---- validation ---- */

/* offset + length inside [0, total) without wrap-around. */
static int in_range(uint64_t off, uint64_t len, uint64_t total) { return off <= total && len <= total - off; }

static int zero_bytes(const unsigned char *p, uint32_t from, uint32_t to) {
    uint32_t acc = 0;
ZERO_BYTES:
    for (uint32_t i = from; i < to; i++) {
#pragma HLS LOOP_TRIPCOUNT min=8 max=32
        acc |= p[i];
    }
    return acc == 0;
}

static int magic_is(const unsigned char *p, const char *magic) {
    int same = 1;
MAGIC:
    for (int i = 0; i < 8; i++) same &= p[i] == (unsigned char)magic[i];
    return same;
}

static int check_dims(const unsigned char *image, eng_cfg *g) {
    g->C = rd32(image, MTX_IH_D_MODEL);
    g->H = rd32(image, MTX_IH_HEADS);
    g->F = rd32(image, MTX_IH_D_FF);
    g->Vs = rd32(image, MTX_IH_SRC_VOCAB);
    g->Vt = rd32(image, MTX_IH_TGT_VOCAB);
    g->Ps = rd32(image, MTX_IH_SRC_POS);
    g->Pt = rd32(image, MTX_IH_TGT_POS);
    g->n_enc = rd32(image, MTX_IH_ENC_LAYERS);
    g->n_dec = rd32(image, MTX_IH_DEC_LAYERS);
    g->eps_q = rd32(image, MTX_IH_EPS_Q);
    g->bos = rd32(image, MTX_IH_BOS);
    g->eos = rd32(image, MTX_IH_EOS);
    if (g->C - 1 >= MTX_MAX_D_MODEL || g->H - 1 >= MTX_MAX_HEADS || g->F - 1 >= MTX_MAX_D_FF ||
        g->Vs - 1 >= MTX_MAX_VOCAB || g->Vt - 1 >= MTX_MAX_VOCAB || g->Ps - 1 >= MTX_MAX_POS ||
        g->Pt - 1 >= MTX_MAX_POS || g->n_enc - 1 >= MTX_MAX_STACK_LAYERS || g->n_dec - 1 >= MTX_MAX_STACK_LAYERS)
        return MTX_ENG_IMAGE_DIMS; /* x - 1 >= max also refuses 0 (unsigned) */
    g->hs = (uint32_t)udiv48(g->C, g->H);
    if (g->hs * g->H != g->C || g->hs > MTX_MAX_HEAD_DIM || g->bos >= g->Vt || g->eos >= g->Vt)
        return MTX_ENG_IMAGE_DIMS;
    return MTX_ENG_OK;
}

/* TOC: inside the image, 64-aligned, non-empty entries; each global
 * section exactly once with its exact length. */
static int check_toc(const unsigned char *image, uint64_t fb, eng_cfg *g) {
    uint32_t count = rd32(image, MTX_IH_TOC_COUNT);
    uint64_t toc = rd64(image, MTX_IH_TOC_OFFSET);
    if (count - 1 >= MTX_MAX_TOC || toc % MTX_ALIGN || !in_range(toc, (uint64_t)count * MTX_TOC_ENTRY_BYTES, fb))
        return MTX_ENG_IMAGE_TOC;
    uint64_t want[MTX_SEC_EXP2 + 1];
    uint32_t C = g->C, Vt = g->Vt;
    want[0] = 0;
    want[MTX_SEC_SRC_EMB] = 4ull * g->Vs * C;
    want[MTX_SEC_SRC_POS] = 4ull * g->Ps * C;
    want[MTX_SEC_TGT_EMB] = 4ull * Vt * C;
    want[MTX_SEC_TGT_POS] = 4ull * g->Pt * C;
    want[MTX_SEC_ENC_NORM] = 4ull * MTX_REQ_WORDS(C);
    want[MTX_SEC_DEC_NORM] = 4ull * MTX_REQ_WORDS(C);
    want[MTX_SEC_LM_HEAD] = (uint64_t)Vt * C;
    want[MTX_SEC_LM_REQ] = 4ull * MTX_REQ_WORDS(Vt);
    want[MTX_SEC_EXP2] = 4ull * MTX_EXP2_ENTRIES;
    uint32_t seen = 0;
TOC_ENTRY:
    for (uint32_t i = 0; i < count; i++) {
#pragma HLS LOOP_TRIPCOUNT min=9 max=512
        uint64_t e = toc + (uint64_t)i * MTX_TOC_ENTRY_BYTES;
        uint32_t type = rd32(image, e + MTX_TOC_TYPE);
        uint64_t off = rd64(image, e + MTX_TOC_OFFSET), len = rd64(image, e + MTX_TOC_LENGTH);
        if (off % MTX_ALIGN || len == 0 || !in_range(off, len, fb)) return MTX_ENG_IMAGE_TOC;
        if (type >= MTX_SEC_SRC_EMB && type <= MTX_SEC_EXP2) {
            if ((seen >> type & 1u) || len != want[type]) return MTX_ENG_IMAGE_TOC;
            seen |= 1u << type;
            g->sec[type] = off;
        }
    }
    if (seen != ((1u << (MTX_SEC_EXP2 + 1)) - 2u)) return MTX_ENG_IMAGE_TOC;
    return MTX_ENG_OK;
}

static int check_image(const unsigned char *image, uint64_t image_bytes, eng_cfg *g) {
    if (image_bytes < MTX_IMAGE_HEADER_BYTES) return MTX_ENG_IMAGE_SIZE;
    if (!magic_is(image, MTX_IMAGE_MAGIC) || rd32(image, MTX_IH_HEADER_BYTES) != MTX_IMAGE_HEADER_BYTES)
        return MTX_ENG_IMAGE_MAGIC;
    if (rd32(image, MTX_IH_VERSION) != MTX_IMAGE_VERSION) return MTX_ENG_IMAGE_VERSION;
    uint64_t fb = rd64(image, MTX_IH_FILE_BYTES);
    if (fb != image_bytes || fb > MTX_MAX_IMAGE_BYTES) return MTX_ENG_IMAGE_SIZE;
    g->file_bytes = fb;
    g->crc = rd32(image, MTX_IH_CRC32);
    int st = check_dims(image, g);
    if (st != MTX_ENG_OK) return st;
    if (!zero_bytes(image, 96, MTX_IMAGE_HEADER_BYTES)) return MTX_ENG_RESERVED;
    return check_toc(image, fb, g);
}

/* One descriptor d (64 bytes at plan[at]) of stack kind; keeps its offsets. */
static int check_desc(const unsigned char *plan, uint32_t at, uint32_t kind, const eng_cfg *g, uint64_t *w_off,
                      uint64_t *k_off) {
    const unsigned char *d = plan + at;
    uint64_t fb = g->file_bytes;
    if (rd32(d, MTX_D_KIND) != kind) return MTX_ENG_DESC_KIND;
    if (rd32(d, MTX_D_D_MODEL) != g->C || rd32(d, MTX_D_HEADS) != g->H || rd32(d, MTX_D_D_FF) != g->F)
        return MTX_ENG_DESC_DIMS;
    uint64_t wo = rd64(d, MTX_D_W_OFFSET), wb = rd64(d, MTX_D_W_BYTES);
    uint64_t ko = rd64(d, MTX_D_K_OFFSET), kb = rd64(d, MTX_D_K_BYTES);
    if (wo % MTX_ALIGN || ko % MTX_ALIGN) return MTX_ENG_DESC_ALIGN;
    if (!in_range(wo, wb, fb) || !in_range(ko, kb, fb)) return MTX_ENG_DESC_RANGE;
    int dec = kind == MTX_KIND_DEC;
    if (wb != (dec ? MTX_DEC_W_BYTES(g->C, g->F) : MTX_ENC_W_BYTES(g->C, g->F)) ||
        kb != 4 * (dec ? MTX_DEC_K_WORDS(g->C, g->F) : MTX_ENC_K_WORDS(g->C, g->F)))
        return MTX_ENG_DESC_LENGTH;
    if (!zero_bytes(d, 56, MTX_DESC_BYTES)) return MTX_ENG_RESERVED;
    *w_off = wo;
    *k_off = ko;
    return MTX_ENG_OK;
}

/* The plan against the image g was read from. */
static int check_plan(const unsigned char *plan, uint64_t plan_bytes, eng_cfg *g) {
    if (plan_bytes < MTX_PLAN_HEADER_BYTES) return MTX_ENG_PLAN_COUNT;
    if (!magic_is(plan, MTX_PLAN_MAGIC) || rd32(plan, MTX_PH_HEADER_BYTES) != MTX_PLAN_HEADER_BYTES ||
        rd32(plan, MTX_PH_DESC_BYTES) != MTX_DESC_BYTES)
        return MTX_ENG_PLAN_MAGIC;
    if (rd32(plan, MTX_PH_VERSION) != MTX_PLAN_VERSION) return MTX_ENG_PLAN_VERSION;
    if (rd32(plan, MTX_PH_IMAGE_CRC) != g->crc || rd64(plan, MTX_PH_IMAGE_BYTES) != g->file_bytes)
        return MTX_ENG_PLAN_IMAGE;
    if (!zero_bytes(plan, 44, MTX_PLAN_HEADER_BYTES)) return MTX_ENG_RESERVED;
    uint32_t ne = rd32(plan, MTX_PH_N_ENC), nd = rd32(plan, MTX_PH_N_DEC);
    if (ne - 1 >= MTX_MAX_STACK_LAYERS || nd - 1 >= MTX_MAX_STACK_LAYERS ||
        plan_bytes < MTX_PLAN_HEADER_BYTES + (uint64_t)(ne + nd) * MTX_DESC_BYTES)
        return MTX_ENG_PLAN_COUNT;
    g->n_enc = ne;
    g->n_dec = nd;
PLAN_DESC:
    for (uint32_t i = 0; i < ne + nd; i++) {
#pragma HLS LOOP_TRIPCOUNT min=2 max=24
        uint32_t at = MTX_PLAN_HEADER_BYTES + i * MTX_DESC_BYTES;
        int enc = i < ne;
        uint32_t l = enc ? i : i - ne;
        int st = enc ? check_desc(plan, at, MTX_KIND_ENC, g, &g->enc_w[l], &g->enc_k[l])
                     : check_desc(plan, at, MTX_KIND_DEC, g, &g->dec_w[l], &g->dec_k[l]);
        if (st != MTX_ENG_OK) return st;
    }
    return MTX_ENG_OK;
}

/* Batch size, then every word: length in [1, Ps], ids in [0, Vs). */
static int check_input(const int *in, uint32_t batch, const eng_cfg *g) {
    if (batch - 1 >= MTX_MAX_BATCH) return MTX_ENG_BATCH;
    int ok = 1;
IN_WORD:
    for (uint32_t w = 0; w < batch; w++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        const int *word = in + (uint64_t)w * MTX_IO_STRIDE;
        uint32_t S = (uint32_t)word[0];
        if (S - 1 >= g->Ps) return MTX_ENG_INPUT;
    IN_ID:
        for (uint32_t s = 0; s < S; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
            ok &= (uint32_t)word[1 + s] < g->Vs;
        }
        if (!ok) return MTX_ENG_INPUT;
    }
    return MTX_ENG_OK;
}

#endif
