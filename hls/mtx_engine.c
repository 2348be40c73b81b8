/* mtx_engine.c - the integer engine as one Vitis HLS C kernel (top: mtx_engine).
 *
 * Runs a batch of words through a plan over a weight image exactly as
 * docs/engine.md writes it. Its own implementation of that arithmetic, for
 * hardware: bit-serial restoring square root and divider, shifts, the EXP2
 * table from the image, fixed widths. Structure (docs/hls.md): validate the
 * image header, TOC, plan and input words first (mtx_engine_check.h); then per
 * word: embeddings, then one stage per unit (encoder layer; final norm ->
 * memory and the cross K/V of each decoder layer; decoder layer per step with
 * a self KV cache, LM head and argmax). Each unit's weights go into one of two
 * ping-pong tile buffers `wt` (re-tiled into MTX_PE_ROWS x MTX_PE_COLS blocks)
 * and its constants into `kc`, loaded while the previous unit computes from
 * the other buffer (a DATAFLOW stage); the tiled int8 GEMM reads one block per
 * cycle; a vector stage requantizes, normalises, adds residuals and runs the
 * softmax.
 *
 * Plain C99 without malloc, recursion, function pointers, I/O or libm; every
 * array has a compile-time size from format/maxima.h (tests/scripts/check_hls.sh).
 * On-chip buffers are static: one call at a time. */
#include "format/layout.h"
#include "mtx_engine.h"
#include "mtx_engine_check.h"

/* ---- arithmetic primitives (docs/engine.md "Primitives") ---- */

/* floor((v + 2^(s-1)) / 2^s) for s in [1, 63], v for s = 0; only
 * non-negative values are shifted (|v| < 2^57 for every caller). */
static int64_t rshr(int64_t v, uint32_t s) {
    if (s == 0) return v;
    int64_t t = v + ((int64_t)1 << (s - 1));
    return t >= 0 ? (int64_t)((uint64_t)t >> s) : ~(int64_t)((uint64_t)~t >> s);
}

static int32_t q8(int64_t v) { return v > MTX_INT8_MAX ? MTX_INT8_MAX : v < -MTX_INT8_MAX ? -MTX_INT8_MAX : (int32_t)v; }

static int32_t res(int64_t v) { return v > MTX_RES_MAX ? MTX_RES_MAX : v < -MTX_RES_MAX ? -MTX_RES_MAX : (int32_t)v; }

/* floor(sqrt(n)) for n < 2^56: 28 restoring digit steps, one result bit each. */
static uint64_t isqrt56(uint64_t n) {
    uint64_t rem = 0, root = 0;
ISQRT_BIT:
    for (int i = 27; i >= 0; i--) {
#pragma HLS PIPELINE II=1
        rem = (rem << 2) | ((n >> (2 * i)) & 3u);
        uint64_t trial = (root << 2) | 1u;
        root <<= 1;
        if (rem >= trial) {
            rem -= trial;
            root |= 1u;
        }
    }
    return root;
}

/* ---- loads from global memory into the on-chip buffers ---- */

/* Matrix (out, in) int8 row-major at image[off] into tiles tb.. of wt:
 * tile (ot, it) = tb + ot * IT + it, zero-padded to whole tiles. Read in
 * image order (bursts); one tile row (MTX_PE_COLS bytes, one word of the
 * reshaped tile memory) per cycle. */
static void load_matrix(const unsigned char *image, uint64_t off, uint32_t out, uint32_t in,
                        int8_t wt[W_TILES][MTX_PE_ROWS][MTX_PE_COLS], uint32_t tb) {
    uint32_t ot_n = (out + MTX_PE_ROWS - 1) / MTX_PE_ROWS, it_n = (in + MTX_PE_COLS - 1) / MTX_PE_COLS;
LOAD_W_ROW:
    for (uint32_t o = 0; o < ot_n * MTX_PE_ROWS; o++) {
#pragma HLS LOOP_TRIPCOUNT min=16 max=2048
        uint64_t row = off + (uint64_t)o * in;
        uint32_t t0 = tb + (o / MTX_PE_ROWS) * it_n, r = o % MTX_PE_ROWS;
    LOAD_W_TILE:
        for (uint32_t it = 0; it < it_n; it++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
#pragma HLS PIPELINE II=1
        LOAD_W_BYTE:
            for (uint32_t c = 0; c < MTX_PE_COLS; c++) {
#pragma HLS UNROLL
                uint32_t i = it * MTX_PE_COLS + c;
                wt[t0 + it][r][c] = (o < out && i < in) ? (int8_t)image[row + i] : 0;
            }
        }
    }
}

/* n int32 words at image[off] into kc[at..]. */
static void load_words(const unsigned char *image, uint64_t off, uint32_t n, int32_t kc[K_WORDS], uint32_t at) {
LOAD_K:
    for (uint32_t i = 0; i < n; i++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=8210
#pragma HLS PIPELINE II=1
        kc[at + i] = (int32_t)rd32(image, off + 4ull * i);
    }
}

/* What one stage of a word loads or computes: a layer descriptor (U_ENC,
 * U_DEC), or the cross K/V projection of decoder layer l (U_CKV: its ckv
 * matrix and record only). A word runs ENC 0..ne-1, CKV 0..nd-1, then DEC
 * (l, t) for each step t and layer l (mtx_engine_layers.h). */
enum { U_NONE, U_ENC, U_CKV, U_DEC };
typedef struct {
    uint32_t kind, l, t;   /* layer in its stack; decoding step (U_DEC) */
    uint64_t w_off, k_off; /* the descriptor's weights and constants */
} unit;

/* Unit u's weights into the tile buffer wb and its constants into kb; the LM
 * head tiles and global records above them stay. U_NONE loads nothing. */
static void load_unit(const unsigned char *image, uint32_t C, uint32_t F, unit u,
                      int8_t wb[W_TILES][MTX_PE_ROWS][MTX_PE_COLS], int32_t kb[K_WORDS]) {
    if (u.kind == U_NONE) return;
    mat_map mm;
    layer_map(C, F, u.kind != U_ENC, &mm);
    if (u.kind == U_CKV) {
        load_matrix(image, u.w_off + mm.byte_off[M_CKV], 2 * C, C, wb, mm.tile[M_CKV]);
        load_words(image, u.k_off + 4ull * KD_CKV(C, F), MTX_REQ_WORDS(2 * C), kb, KD_CKV(C, F));
        return;
    }
LOAD_MATS:
    for (int m = 0; m < M_COUNT; m++) {
#pragma HLS LOOP_TRIPCOUNT min=4 max=7
        if (mm.out[m] && m != M_CKV) load_matrix(image, u.w_off + mm.byte_off[m], mm.out[m], mm.in[m], wb, mm.tile[m]);
    }
    load_words(image, u.k_off,
               u.kind == U_DEC ? (uint32_t)MTX_DEC_K_WORDS(C, F) : (uint32_t)MTX_ENC_K_WORDS(C, F), kb, 0);
}

/* ---- tiled int8 GEMM: acc[s][o] = sum_i a[s][i] * W[o][i] ---- */

static void gemm(const int8_t a[MTX_MAX_POS][ROW_W], uint32_t rows, const int8_t wt[W_TILES][MTX_PE_ROWS][MTX_PE_COLS],
                 uint32_t tb, uint32_t out, uint32_t in, int32_t acc[MTX_MAX_POS][ROW_W]) {
    uint32_t ot_n = (out + MTX_PE_ROWS - 1) / MTX_PE_ROWS, it_n = (in + MTX_PE_COLS - 1) / MTX_PE_COLS;
GEMM_OT:
    for (uint32_t ot = 0; ot < ot_n; ot++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
    GEMM_ROW:
        for (uint32_t s = 0; s < rows; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
            int32_t part[MTX_PE_ROWS];
#pragma HLS ARRAY_PARTITION variable=part complete dim=1
        GEMM_IT:
            for (uint32_t it = 0; it < it_n; it++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
#pragma HLS PIPELINE II=1
            PE_ROW:
                for (int r = 0; r < MTX_PE_ROWS; r++) {
#pragma HLS UNROLL
                    int32_t sum = 0;
                PE_COL:
                    for (int c = 0; c < MTX_PE_COLS; c++) {
#pragma HLS UNROLL
                        sum += (int32_t)a[s][it * MTX_PE_COLS + c] * wt[tb + ot * it_n + it][r][c];
                    }
                    part[r] = (it == 0 ? 0 : part[r]) + sum;
                }
            }
        GEMM_STORE:
            for (int r = 0; r < MTX_PE_ROWS; r++) {
#pragma HLS UNROLL
                if (ot * MTX_PE_ROWS + r < out) acc[s][ot * MTX_PE_ROWS + r] = part[r];
            }
        }
    }
}

/* ---- vector stage ---- */

/* dst[s][col0 + o] = q8(rshr(acc * m[o], s)) (ReLU first when relu). */
static void requant_q8(const int32_t acc[MTX_MAX_POS][ROW_W], uint32_t rows, uint32_t n, const int32_t kc[K_WORDS],
                       uint32_t rec, int relu, int8_t dst[MTX_MAX_POS][ROW_W]) {
    uint32_t sh = (uint32_t)kc[rec] & 63u;
VEC_Q8_ROW:
    for (uint32_t s = 0; s < rows; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
    VEC_Q8:
        for (uint32_t o = 0; o < n; o++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=2048
#pragma HLS PIPELINE II=1
            int32_t v = acc[s][o];
            if (relu && v < 0) v = 0;
            dst[s][o] = (int8_t)q8(rshr((int64_t)v * kc[rec + 1 + o], sh));
        }
    }
}

/* x[s][o] = res(x + rshr(acc * m[o], s)). */
static void residual_add(const int32_t acc[MTX_MAX_POS][ROW_W], uint32_t rows, uint32_t n, const int32_t kc[K_WORDS],
                         uint32_t rec, int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL]) {
    uint32_t sh = (uint32_t)kc[rec] & 63u;
VEC_RES_ROW:
    for (uint32_t s = 0; s < rows; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
    VEC_RES:
        for (uint32_t o = 0; o < n; o++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
#pragma HLS PIPELINE II=1
            x[s][o] = res((int64_t)x[s][o] + rshr((int64_t)acc[s][o] * kc[rec + 1 + o], sh));
        }
    }
}

/* RMSNorm of each row: a[s][c] = q8(rshr(rshr(x * udiv(2^40, isqrt(ss)), 16) * m[c], s)). */
static void rmsnorm(const int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL], uint32_t rows, uint32_t C, uint32_t eps_q,
                    const int32_t kc[K_WORDS], uint32_t rec, int8_t a[MTX_MAX_POS][ROW_W]) {
    uint32_t sh = (uint32_t)kc[rec] & 63u;
NORM_ROW:
    for (uint32_t s = 0; s < rows; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        uint64_t ss = eps_q;
    NORM_SQ:
        for (uint32_t c = 0; c < C; c++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
#pragma HLS PIPELINE II=1
            ss += (uint64_t)((int64_t)x[s][c] * x[s][c]);
        }
        uint64_t r = isqrt56(ss);
        uint64_t inv = r == 0 ? 0 : udiv48((uint64_t)1 << MTX_NORM_RECIP_BITS, r);
    NORM_SCALE:
        for (uint32_t c = 0; c < C; c++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
#pragma HLS PIPELINE II=1
            int64_t y = rshr((int64_t)x[s][c] * (int64_t)inv, MTX_NORM_Y_SHIFT);
            a[s][c] = (int8_t)q8(rshr(y * kc[rec + 1 + c], sh));
        }
    }
}

/* One head, one query: integer softmax over nk keys, then p . V.
 * Records sm (u = rshr((mx - sc) * m_sm, s_sm)) and att at kc[sm], kc[att]. */
static void attend(const int8_t qh[MTX_MAX_HEAD_DIM], const int8_t kh[MTX_MAX_POS][MTX_MAX_HEAD_DIM],
                   const int8_t vh[MTX_MAX_POS][MTX_MAX_HEAD_DIM], uint32_t nk, uint32_t hs,
                   const uint32_t exp2[MTX_EXP2_ENTRIES], const int32_t kc[K_WORDS], uint32_t sm, uint32_t att,
                   int8_t oh[MTX_MAX_HEAD_DIM]) {
    int32_t sc[MTX_MAX_POS];
    uint64_t e[MTX_MAX_POS];
    int32_t mx = 0;
ATT_SCORE:
    for (uint32_t j = 0; j < nk; j++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        int32_t acc = 0;
    ATT_SCORE_D:
        for (uint32_t d = 0; d < hs; d++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
#pragma HLS PIPELINE II=1
            acc += (int32_t)qh[d] * kh[j][d];
        }
        sc[j] = acc;
        if (j == 0 || acc > mx) mx = acc;
    }
    uint64_t sum = 0;
ATT_EXP:
    for (uint32_t j = 0; j < nk; j++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
#pragma HLS PIPELINE II=1
        int64_t u = rshr(((int64_t)mx - sc[j]) * kc[sm + 1], (uint32_t)kc[sm] & 63u);
        e[j] = (u < 0 || u >= MTX_EXP2_LIMIT) ? 0 : (uint64_t)(exp2[u & (MTX_EXP2_ENTRIES - 1)] >> (u >> 8));
        sum += e[j];
    }
    uint64_t inv = udiv48((uint64_t)1 << MTX_SOFTMAX_RECIP_BITS, sum);
    uint32_t p[MTX_MAX_POS];
ATT_PROB:
    for (uint32_t j = 0; j < nk; j++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
#pragma HLS PIPELINE II=1
        uint64_t pj = (e[j] * inv + ((uint64_t)1 << (MTX_SOFTMAX_P_SHIFT - 1))) >> MTX_SOFTMAX_P_SHIFT;
        p[j] = pj > 255 ? 255 : (uint32_t)pj;
    }
ATT_PV:
    for (uint32_t d = 0; d < hs; d++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
        int32_t o = 0;
    ATT_PV_J:
        for (uint32_t j = 0; j < nk; j++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
#pragma HLS PIPELINE II=1
            o += (int32_t)p[j] * vh[j][d];
        }
        oh[d] = (int8_t)q8(rshr((int64_t)o * kc[att + 1], (uint32_t)kc[att] & 63u));
    }
}

#include "mtx_engine_layers.h"

/* ---- the top function ---- */

void mtx_engine(const unsigned char *image, const unsigned char *plan, const int *in, int *out, int *status,
                unsigned long long image_bytes, unsigned int plan_bytes, unsigned int batch) {
#pragma HLS INTERFACE m_axi port=image offset=slave bundle=gmem0 depth=1073741824
#pragma HLS INTERFACE m_axi port=plan offset=slave bundle=gmem1 depth=1600
#pragma HLS INTERFACE m_axi port=in offset=slave bundle=gmem2 depth=4160
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem3 depth=4160
#pragma HLS INTERFACE m_axi port=status offset=slave bundle=gmem3 depth=1
#pragma HLS INTERFACE s_axilite port=image_bytes
#pragma HLS INTERFACE s_axilite port=plan_bytes
#pragma HLS INTERFACE s_axilite port=batch
#pragma HLS INTERFACE s_axilite port=return
    /* Two ping-pong buffers: a layer computes from one while the next one
     * loads into the other. Each holds a layer's tiles and the LM head's,
     * a layer's constants and the global records. */
    static int8_t wt[2][W_TILES][MTX_PE_ROWS][MTX_PE_COLS];
#pragma HLS ARRAY_PARTITION variable=wt complete dim=1
#pragma HLS ARRAY_PARTITION variable=wt complete dim=3
#pragma HLS ARRAY_RESHAPE variable=wt complete dim=4
#pragma HLS BIND_STORAGE variable=wt type=ram_2p impl=uram
    static int32_t kc[2][K_WORDS];
#pragma HLS ARRAY_PARTITION variable=kc complete dim=1
    static uint32_t exp2[MTX_EXP2_ENTRIES];
    static int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL];
    static int8_t a[MTX_MAX_POS][ROW_W];
#pragma HLS ARRAY_PARTITION variable=a cyclic factor=16 dim=2
    static int8_t q[MTX_MAX_POS][ROW_W];
#pragma HLS ARRAY_PARTITION variable=q cyclic factor=16 dim=2
    static int8_t at[MTX_MAX_POS][ROW_W];
#pragma HLS ARRAY_PARTITION variable=at cyclic factor=16 dim=2
    static int32_t acc[MTX_MAX_POS][ROW_W];
#pragma HLS ARRAY_PARTITION variable=acc cyclic factor=16 dim=2
    static kv_rows kvs[MTX_MAX_STACK_LAYERS], kvx[MTX_MAX_STACK_LAYERS];
    eng_cfg g;
    int st = check_image(image, image_bytes, &g);
    if (st == MTX_ENG_OK) st = check_plan(plan, plan_bytes, &g);
    if (st == MTX_ENG_OK) st = check_input(in, batch, &g);
    if (st == MTX_ENG_OK) {
        uint64_t tag[2][2] = {{~0ull, ~0ull}, {~0ull, ~0ull}};
        load_globals(image, &g, wt, kc, exp2);
    WORD:
        for (uint32_t w = 0; w < batch; w++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
            run_word(image, &g, in + (uint64_t)w * MTX_IO_STRIDE, out + (uint64_t)w * MTX_IO_STRIDE, tag, wt, kc,
                     exp2, x, a, q, at, acc, kvs, kvx);
        }
    }
    *status = st;
}

#ifndef __SYNTHESIS__
/* Test-only access to the primitives (tests/test_hls.c); not synthesized. */
int64_t mtx_engine_prim(int op, int64_t a, int64_t b) {
    switch (op) {
    case MTX_ENGINE_PRIM_RSHR: return rshr(a, (uint32_t)b & 63u);
    case MTX_ENGINE_PRIM_ISQRT: return (int64_t)isqrt56((uint64_t)a);
    case MTX_ENGINE_PRIM_UDIV: return (int64_t)udiv48((uint64_t)a, (uint64_t)b);
    default: return 0;
    }
}
#endif
