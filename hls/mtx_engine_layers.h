/* mtx_engine_layers.h - part of the mtx_engine kernel (included once, by
 * hls/mtx_engine.c, after the primitives, loads, GEMM and vector stage):
 * multi-head attention, the encoder and decoder layers, and one word from
 * embeddings to output ids (docs/engine.md "Layers", "A word").
 *
 * Buffers (sizes in mtx_engine_check.h, all at the maxima): x residual rows;
 * a, q, at int8 activation rows (norm output / memory, GEMM outputs, attention
 * output); acc int32 GEMM accumulators; kvs the self-attention K/V cache per
 * decoder layer (k in columns [0, C), v in [C, 2C); the encoder uses layer 0
 * as its K/V scratch before decoding starts); kvx the cross-attention K/V per
 * decoder layer. */
#ifndef MTX_ENGINE_LAYERS_H
#define MTX_ENGINE_LAYERS_H

typedef int8_t kv_rows[MTX_MAX_POS][2 * MTX_MAX_D_MODEL];

/* kv[l][row0 + s][0..n) = src[s][col0 .. col0 + n): K/V into a cache. */
static void store_kv(const int8_t src[MTX_MAX_POS][ROW_W], uint32_t rows, uint32_t col0, uint32_t n,
                     kv_rows kv[MTX_MAX_STACK_LAYERS], uint32_t l, uint32_t row0) {
KV_STORE_ROW:
    for (uint32_t s = 0; s < rows; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
    KV_STORE:
        for (uint32_t c = 0; c < n; c++) {
#pragma HLS LOOP_TRIPCOUNT min=2 max=1024
#pragma HLS PIPELINE II=1
            kv[l][row0 + s][c] = src[s][col0 + c];
        }
    }
}

/* at[s][h*hs + d] for queries q[s][0..C) (s < nq) against nk keys of kv[l]. */
static void attention(const eng_cfg *g, const int8_t q[MTX_MAX_POS][ROW_W], uint32_t nq,
                      kv_rows kv[MTX_MAX_STACK_LAYERS], uint32_t l, uint32_t nk, const uint32_t exp2[MTX_EXP2_ENTRIES],
                      const int32_t kc[K_WORDS], uint32_t sm, uint32_t att_rec, int8_t at[MTX_MAX_POS][ROW_W]) {
    int8_t kh[MTX_MAX_POS][MTX_MAX_HEAD_DIM], vh[MTX_MAX_POS][MTX_MAX_HEAD_DIM];
    int8_t qh[MTX_MAX_HEAD_DIM], oh[MTX_MAX_HEAD_DIM];
    uint32_t hs = g->hs;
ATT_HEAD:
    for (uint32_t h = 0; h < g->H; h++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=8
    ATT_GATHER_J:
        for (uint32_t j = 0; j < nk; j++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        ATT_GATHER_D:
            for (uint32_t d = 0; d < hs; d++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
#pragma HLS PIPELINE II=1
                kh[j][d] = kv[l][j][h * hs + d];
                vh[j][d] = kv[l][j][g->C + h * hs + d];
            }
        }
    ATT_QUERY:
        for (uint32_t s = 0; s < nq; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        ATT_Q:
            for (uint32_t d = 0; d < hs; d++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
#pragma HLS PIPELINE II=1
                qh[d] = q[s][h * hs + d];
            }
            attend(qh, kh, vh, nk, hs, exp2, kc, sm, att_rec, oh);
        ATT_OUT:
            for (uint32_t d = 0; d < hs; d++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
#pragma HLS PIPELINE II=1
                at[s][h * hs + d] = oh[d];
            }
        }
    }
}

/* One encoder layer over x[0..S) (docs/engine.md "Layers"). */
static void encoder_layer(const eng_cfg *g, uint32_t S, const int8_t wt[W_TILES][MTX_PE_ROWS][MTX_PE_COLS],
                          const int32_t kc[K_WORDS], const uint32_t exp2[MTX_EXP2_ENTRIES],
                          int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL], int8_t a[MTX_MAX_POS][ROW_W],
                          int8_t q[MTX_MAX_POS][ROW_W], int8_t at[MTX_MAX_POS][ROW_W],
                          int32_t acc[MTX_MAX_POS][ROW_W], kv_rows kvs[MTX_MAX_STACK_LAYERS]) {
    uint32_t C = g->C, F = g->F;
    mat_map mm;
    layer_map(C, F, 0, &mm);
    rmsnorm(x, S, C, g->eps_q, kc, KE_N1(C, F), a);
    gemm(a, S, wt, mm.tile[M_QKV], 3 * C, C, acc);
    requant_q8(acc, S, 3 * C, kc, KE_QKV(C, F), 0, q);
    store_kv(q, S, C, 2 * C, kvs, 0, 0);
    attention(g, q, S, kvs, 0, S, exp2, kc, KE_SM(C, F), KE_ATT(C, F), at);
    gemm(at, S, wt, mm.tile[M_O], C, C, acc);
    residual_add(acc, S, C, kc, KE_O(C, F), x);
    rmsnorm(x, S, C, g->eps_q, kc, KE_N2(C, F), a);
    gemm(a, S, wt, mm.tile[M_WI], F, C, acc);
    requant_q8(acc, S, F, kc, KE_WI(C, F), 1, q);
    gemm(q, S, wt, mm.tile[M_WO], C, F, acc);
    residual_add(acc, S, C, kc, KE_WO(C, F), x);
}

/* Decoder layer l at step t over x[0] with its caches kvs[l], kvx[l]. */
static void decoder_layer(const eng_cfg *g, uint32_t l, uint32_t t, uint32_t S,
                          const int8_t wt[W_TILES][MTX_PE_ROWS][MTX_PE_COLS], const int32_t kc[K_WORDS],
                          const uint32_t exp2[MTX_EXP2_ENTRIES], int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL],
                          int8_t a[MTX_MAX_POS][ROW_W], int8_t q[MTX_MAX_POS][ROW_W], int8_t at[MTX_MAX_POS][ROW_W],
                          int32_t acc[MTX_MAX_POS][ROW_W], kv_rows kvs[MTX_MAX_STACK_LAYERS],
                          kv_rows kvx[MTX_MAX_STACK_LAYERS]) {
    uint32_t C = g->C, F = g->F;
    mat_map mm;
    layer_map(C, F, 1, &mm);
    rmsnorm(x, 1, C, g->eps_q, kc, KD_N1(C, F), a);
    gemm(a, 1, wt, mm.tile[M_QKV], 3 * C, C, acc);
    requant_q8(acc, 1, 3 * C, kc, KD_QKV(C, F), 0, q);
    store_kv(q, 1, C, 2 * C, kvs, l, t);
    attention(g, q, 1, kvs, l, t + 1, exp2, kc, KD_SM1(C, F), KD_ATT1(C, F), at);
    gemm(at, 1, wt, mm.tile[M_O], C, C, acc);
    residual_add(acc, 1, C, kc, KD_O(C, F), x);
    rmsnorm(x, 1, C, g->eps_q, kc, KD_N2(C, F), a);
    gemm(a, 1, wt, mm.tile[M_CQ], C, C, acc);
    requant_q8(acc, 1, C, kc, KD_CQ(C, F), 0, q);
    attention(g, q, 1, kvx, l, S, exp2, kc, KD_SM2(C, F), KD_ATT2(C, F), at);
    gemm(at, 1, wt, mm.tile[M_CO], C, C, acc);
    residual_add(acc, 1, C, kc, KD_CO(C, F), x);
    rmsnorm(x, 1, C, g->eps_q, kc, KD_N3(C, F), a);
    gemm(a, 1, wt, mm.tile[M_WI], F, C, acc);
    requant_q8(acc, 1, F, kc, KD_WI(C, F), 1, q);
    gemm(q, 1, wt, mm.tile[M_WO], C, F, acc);
    residual_add(acc, 1, C, kc, KD_WO(C, F), x);
}

/* x[row] = res(EMB[id] + POS[pos]) from the image's i32 sections. */
static void embed(const unsigned char *image, uint64_t emb, uint64_t pos_sec, uint32_t id, uint32_t pos, uint32_t C,
                  int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL], uint32_t row) {
EMBED:
    for (uint32_t c = 0; c < C; c++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
#pragma HLS PIPELINE II=1
        int64_t e = (int32_t)rd32(image, emb + 4ull * ((uint64_t)id * C + c));
        int64_t p = (int32_t)rd32(image, pos_sec + 4ull * ((uint64_t)pos * C + c));
        x[row][c] = res(e + p);
    }
}

/* The smallest v with the largest logit rshr(acc[0][v] * m_lm[v], s_lm). */
static uint32_t argmax_logits(const int32_t acc[MTX_MAX_POS][ROW_W], uint32_t Vt, const int32_t kc[K_WORDS]) {
    uint32_t sh = (uint32_t)kc[K_LM_REQ] & 63u, best = 0;
    int64_t best_logit = 0;
ARGMAX:
    for (uint32_t v = 0; v < Vt; v++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=256
#pragma HLS PIPELINE II=1
        int64_t logit = rshr((int64_t)acc[0][v] * kc[K_LM_REQ + 1 + v], sh);
        if (v == 0 || logit > best_logit) {
            best_logit = logit;
            best = v;
        }
    }
    return best;
}

/* The LM head's tiles and the global records into both buffers, the EXP2
 * table. */
static void load_globals(const unsigned char *image, const eng_cfg *g,
                         int8_t wt[2][W_TILES][MTX_PE_ROWS][MTX_PE_COLS], int32_t kc[2][K_WORDS],
                         uint32_t exp2[MTX_EXP2_ENTRIES]) {
LOAD_GLOBALS:
    for (int b = 0; b < 2; b++) {
        load_matrix(image, g->sec[MTX_SEC_LM_HEAD], g->Vt, g->C, wt[b], LAYER_TILES);
        load_words(image, g->sec[MTX_SEC_ENC_NORM], MTX_REQ_WORDS(g->C), kc[b], K_ENC_NORM);
        load_words(image, g->sec[MTX_SEC_DEC_NORM], MTX_REQ_WORDS(g->C), kc[b], K_DEC_NORM);
        load_words(image, g->sec[MTX_SEC_LM_REQ], MTX_REQ_WORDS(g->Vt), kc[b], K_LM_REQ);
    }
LOAD_EXP2:
    for (uint32_t i = 0; i < MTX_EXP2_ENTRIES; i++) {
#pragma HLS PIPELINE II=1
        exp2[i] = rd32(image, g->sec[MTX_SEC_EXP2] + 4ull * i);
    }
}

/* The compute half of a stage: unit u from the buffer of its layer (wb, kb).
 * CKV 0 first norms the encoder output into the memory rows a (which the CKV
 * units only read); the last decoder layer of a step ends with the final
 * norm, the LM head and the argmax, *tok (0 for every other unit). */
static void compute_unit(const eng_cfg *g, unit u, uint32_t S, const int8_t wb[W_TILES][MTX_PE_ROWS][MTX_PE_COLS],
                         const int32_t kb[K_WORDS], const uint32_t exp2[MTX_EXP2_ENTRIES],
                         int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL], int8_t a[MTX_MAX_POS][ROW_W],
                         int8_t q[MTX_MAX_POS][ROW_W], int8_t at[MTX_MAX_POS][ROW_W], int32_t acc[MTX_MAX_POS][ROW_W],
                         kv_rows kvs[MTX_MAX_STACK_LAYERS], kv_rows kvx[MTX_MAX_STACK_LAYERS], uint32_t *tok) {
    uint32_t C = g->C, F = g->F, next = 0;
    if (u.kind == U_ENC) {
        encoder_layer(g, S, wb, kb, exp2, x, a, q, at, acc, kvs);
    } else if (u.kind == U_CKV) {
        mat_map mm;
        layer_map(C, F, 1, &mm);
        if (u.l == 0) rmsnorm(x, S, C, g->eps_q, kb, K_ENC_NORM, a); /* memory */
        gemm(a, S, wb, mm.tile[M_CKV], 2 * C, C, acc);
        requant_q8(acc, S, 2 * C, kb, KD_CKV(C, F), 0, q);
        store_kv(q, S, 0, 2 * C, kvx, u.l, 0);
    } else if (u.kind == U_DEC) {
        decoder_layer(g, u.l, u.t, S, wb, kb, exp2, x, a, q, at, acc, kvs, kvx);
        if (u.l + 1 == g->n_dec) {
            rmsnorm(x, 1, C, g->eps_q, kb, K_DEC_NORM, a);
            gemm(a, 1, wb, LAYER_TILES, g->Vt, C, acc);
            next = argmax_logits(acc, g->Vt, kb);
        }
    }
    *tok = next;
}

/* One stage: unit nxt loads into buffer (wn, kn) while unit cur computes from
 * (wc, kc). The two processes share no data (the load reads only the image
 * and writes only its buffer; the compute touches no global memory), so they
 * run side by side and a stage takes max(load, compute) cycles. */
static void layer_stage(const unsigned char *image, uint32_t C, uint32_t F, unit nxt,
                        int8_t wn[W_TILES][MTX_PE_ROWS][MTX_PE_COLS], int32_t kn[K_WORDS], const eng_cfg *g, unit cur,
                        uint32_t S, const int8_t wc[W_TILES][MTX_PE_ROWS][MTX_PE_COLS], const int32_t kc[K_WORDS],
                        const uint32_t exp2[MTX_EXP2_ENTRIES], int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL],
                        int8_t a[MTX_MAX_POS][ROW_W], int8_t q[MTX_MAX_POS][ROW_W], int8_t at[MTX_MAX_POS][ROW_W],
                        int32_t acc[MTX_MAX_POS][ROW_W], kv_rows kvs[MTX_MAX_STACK_LAYERS],
                        kv_rows kvx[MTX_MAX_STACK_LAYERS], uint32_t *tok) {
#pragma HLS DATAFLOW
    load_unit(image, C, F, nxt, wn, kn);
    compute_unit(g, cur, S, wc, kc, exp2, x, a, q, at, acc, kvs, kvx, tok);
}

/* The stage with cur in buffer bc and nxt loading into the other: two call
 * sites (the buffers are two memories), one shared instance. */
static void stage_pp(uint32_t bc, const unsigned char *image, const eng_cfg *g, unit nxt, unit cur, uint32_t S,
                     int8_t wt[2][W_TILES][MTX_PE_ROWS][MTX_PE_COLS], int32_t kc[2][K_WORDS],
                     const uint32_t exp2[MTX_EXP2_ENTRIES], int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL],
                     int8_t a[MTX_MAX_POS][ROW_W], int8_t q[MTX_MAX_POS][ROW_W], int8_t at[MTX_MAX_POS][ROW_W],
                     int32_t acc[MTX_MAX_POS][ROW_W], kv_rows kvs[MTX_MAX_STACK_LAYERS],
                     kv_rows kvx[MTX_MAX_STACK_LAYERS], uint32_t *tok) {
#pragma HLS ALLOCATION function instances=layer_stage limit=1
    if (bc == 0)
        layer_stage(image, g->C, g->F, nxt, wt[1], kc[1], g, cur, S, wt[0], kc[0], exp2, x, a, q, at, acc, kvs, kvx,
                    tok);
    else
        layer_stage(image, g->C, g->F, nxt, wt[0], kc[0], g, cur, S, wt[1], kc[1], exp2, x, a, q, at, acc, kvs, kvx,
                    tok);
}

/* The unit after u in a word: ENC 0..ne-1, CKV 0..nd-1, DEC (0..nd-1, t)
 * for t = 0..Pt-1, then U_NONE. */
static unit unit_next(const eng_cfg *g, unit u) {
    unit n = u;
    n.l = u.l + 1;
    if (u.kind == U_ENC && n.l == g->n_enc) {
        n.kind = U_CKV;
        n.l = 0;
    } else if (u.kind == U_CKV && n.l == g->n_dec) {
        n.kind = U_DEC;
        n.l = 0;
        n.t = 0;
    } else if (u.kind == U_DEC && n.l == g->n_dec) {
        n.l = 0;
        n.t = u.t + 1;
        if (n.t == g->Pt) n.kind = U_NONE;
    }
    n.w_off = n.kind == U_NONE ? 0 : n.kind == U_ENC ? g->enc_w[n.l] : g->dec_w[n.l];
    n.k_off = n.kind == U_NONE ? 0 : n.kind == U_ENC ? g->enc_k[n.l] : g->dec_k[n.l];
    return n;
}

/* Residency: tag[b] = (weights offset, constants offset << 1 | decoder) of
 * the layer buffer b holds whole; ~0 none (a CKV load leaves a partial one). */
static int holds(const uint64_t tag[2][2], uint32_t b, unit u) {
    return (u.kind == U_ENC || u.kind == U_DEC) && tag[b][0] == u.w_off &&
           tag[b][1] == (u.k_off << 1 | (uint64_t)(u.kind == U_DEC));
}

static void set_tag(uint64_t tag[2][2], uint32_t b, unit u) {
    int whole = u.kind == U_ENC || u.kind == U_DEC;
    tag[b][0] = whole ? u.w_off : ~0ull;
    tag[b][1] = whole ? u.k_off << 1 | (uint64_t)(u.kind == U_DEC) : ~0ull;
}

/* One word: in = [S, ids...], out = [T, ids..., 0...] (MTX_IO_STRIDE). Each
 * stage computes one unit while the next one loads into the other buffer,
 * unless a buffer holds it already (the one decoder layer of a 1-layer
 * stack, both of a 2-layer one, after step 0). The next step's first layer
 * loads during the last layer of a step, also at the step that ends in EOS;
 * the next word's first encoder layer loads alone. */
static void run_word(const unsigned char *image, const eng_cfg *g, const int *in, int *out, uint64_t tag[2][2],
                     int8_t wt[2][W_TILES][MTX_PE_ROWS][MTX_PE_COLS], int32_t kc[2][K_WORDS],
                     const uint32_t exp2[MTX_EXP2_ENTRIES], int32_t x[MTX_MAX_POS][MTX_MAX_D_MODEL],
                     int8_t a[MTX_MAX_POS][ROW_W], int8_t q[MTX_MAX_POS][ROW_W], int8_t at[MTX_MAX_POS][ROW_W],
                     int32_t acc[MTX_MAX_POS][ROW_W], kv_rows kvs[MTX_MAX_STACK_LAYERS],
                     kv_rows kvx[MTX_MAX_STACK_LAYERS]) {
    uint32_t S = (uint32_t)in[0], tok = g->bos, T = 0, bc = 0, j = 0;
EMBED_SRC:
    for (uint32_t s = 0; s < S; s++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        embed(image, g->sec[MTX_SEC_SRC_EMB], g->sec[MTX_SEC_SRC_POS], (uint32_t)in[1 + s], s, g->C, x, s);
    }
    const unit none = {U_NONE, 0, 0, 0, 0};
    unit cur = {U_ENC, 0, 0, g->enc_w[0], g->enc_k[0]};
    if (holds(tag, 1, cur)) {
        bc = 1;
    } else if (!holds(tag, 0, cur)) { /* loads into buffer 0, nothing to compute */
        stage_pp(1, image, g, cur, none, S, wt, kc, exp2, x, a, q, at, acc, kvs, kvx, &j);
        set_tag(tag, 0, cur);
    }
    int ids[MTX_MAX_POS];
UNIT:
    for (uint32_t u = 0; u < g->n_enc + g->n_dec * (1 + g->Pt); u++) {
#pragma HLS LOOP_TRIPCOUNT min=3 max=792
        unit nxt = unit_next(g, cur);
        uint32_t bn = holds(tag, bc, nxt) ? bc : holds(tag, 1 - bc, nxt) ? 1 - bc : 2;
        if (cur.kind == U_DEC && cur.l == 0)
            embed(image, g->sec[MTX_SEC_TGT_EMB], g->sec[MTX_SEC_TGT_POS], tok, cur.t, g->C, x, 0);
        stage_pp(bc, image, g, bn == 2 ? nxt : none, cur, S, wt, kc, exp2, x, a, q, at, acc, kvs, kvx, &j);
        if (bn == 2) {
            bn = 1 - bc;
            set_tag(tag, bn, nxt);
        }
        if (cur.kind == U_DEC && cur.l + 1 == g->n_dec) {
            if (j == g->eos) break;
            ids[T++] = (int)j;
            tok = j;
        }
        cur = nxt;
        bc = bn;
    }
WRITE_OUT:
    for (uint32_t i = 0; i < MTX_IO_STRIDE; i++) {
#pragma HLS PIPELINE II=1
        out[i] = i == 0 ? (int)T : i <= T ? ids[i - 1] : 0;
    }
}

#endif
