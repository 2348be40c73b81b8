/* card.c - the mtx_engine kernel's cycles per layer and per word (card.h).
 * Each function mirrors one routine of hls/mtx_engine.c or
 * hls/mtx_engine_layers.h, loop by loop. */
#include "format/card.h"

#include "format/layout.h"

typedef struct {
    uint64_t C, H, F, Vt, hs;
} dims;

static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* A pipelined loop of n trips. */
static uint64_t loop(uint64_t n) { return n + MTX_CARD_FILL; }

/* load_matrix: a tile row per cycle. */
static uint64_t load_matrix(uint64_t out, uint64_t in) {
    return ceil_div(out, MTX_PE_ROWS) * MTX_PE_ROWS * loop(ceil_div(in, MTX_PE_COLS));
}

/* gemm: GEMM_OT x GEMM_ROW x pipelined GEMM_IT. */
static uint64_t gemm(uint64_t rows, uint64_t out, uint64_t in) {
    return ceil_div(out, MTX_PE_ROWS) * rows * loop(ceil_div(in, MTX_PE_COLS));
}

/* requant_q8, residual_add, store_kv: rows x pipelined n. */
static uint64_t vec(uint64_t rows, uint64_t n) { return rows * loop(n); }

/* rmsnorm: NORM_SQ, isqrt56 (28), udiv48 (48), NORM_SCALE per row. */
static uint64_t norm(const dims *d, uint64_t rows) { return rows * (2 * loop(d->C) + 28 + 48); }

/* attention: per head the gather of nk keys, per query ATT_Q, attend
 * (scores, exp, divide, probabilities, p . V) and ATT_OUT. */
static uint64_t attention(const dims *d, uint64_t nq, uint64_t nk) {
    uint64_t hs = d->hs;
    uint64_t per_q = loop(hs) + nk * loop(hs) + loop(nk) + 48 + loop(nk) + hs * loop(nk) + loop(hs);
    return d->H * (nk * loop(hs) + nq * per_q);
}

static uint64_t enc_load(const dims *d) {
    uint64_t C = d->C, F = d->F;
    return load_matrix(3 * C, C) + load_matrix(C, C) + load_matrix(F, C) + load_matrix(C, F) +
           loop(MTX_ENC_K_WORDS(C, F));
}

/* Every matrix but ckv, every constant. */
static uint64_t dec_load(const dims *d) {
    uint64_t C = d->C, F = d->F;
    return load_matrix(3 * C, C) + 3 * load_matrix(C, C) + load_matrix(F, C) + load_matrix(C, F) +
           loop(MTX_DEC_K_WORDS(C, F));
}

static uint64_t ckv_load(const dims *d) { return load_matrix(2 * d->C, d->C) + loop(MTX_REQ_WORDS(2 * d->C)); }

static uint64_t enc_layer(const dims *d, uint64_t S) {
    uint64_t C = d->C, F = d->F;
    return 2 * norm(d, S) + gemm(S, 3 * C, C) + vec(S, 3 * C) + vec(S, 2 * C) + attention(d, S, S) +
           gemm(S, C, C) + vec(S, C) + gemm(S, F, C) + vec(S, F) + gemm(S, C, F) + vec(S, C);
}

static uint64_t dec_layer(const dims *d, uint64_t t, uint64_t S) {
    uint64_t C = d->C, F = d->F;
    return 3 * norm(d, 1) + gemm(1, 3 * C, C) + vec(1, 3 * C) + vec(1, 2 * C) + attention(d, 1, t + 1) +
           gemm(1, C, C) + vec(1, C) + gemm(1, C, C) + vec(1, C) + attention(d, 1, S) + gemm(1, C, C) + vec(1, C) +
           gemm(1, F, C) + vec(1, F) + gemm(1, C, F) + vec(1, C);
}

/* gemm + requant_q8 + store_kv into kvx. */
static uint64_t ckv_compute(const dims *d, uint64_t S) {
    return gemm(S, 2 * d->C, d->C) + vec(S, 2 * d->C) + vec(S, 2 * d->C);
}

/* The word's units in the kernel's order (UNIT loop of run_word). */
enum { U_NONE, U_ENC, U_CKV, U_DEC };
typedef struct {
    int kind, l, t;
} unit;

static unit unit_next(unit u, int ne, int nd, int Pt) {
    unit n = {u.kind, u.l + 1, u.t};
    if (u.kind == U_ENC && n.l == ne) n = (unit){U_CKV, 0, 0};
    else if (u.kind == U_CKV && n.l == nd) n = (unit){U_DEC, 0, 0};
    else if (u.kind == U_DEC && n.l == nd) n = (unit){u.t + 1 == Pt ? U_NONE : U_DEC, 0, u.t + 1};
    return n;
}

/* A buffer's tag: the whole layer (kind, l) it holds; kind U_NONE: none
 * (a cross K/V load leaves a partial layer). */
static int holds(const unit *tag, unit u) {
    return (u.kind == U_ENC || u.kind == U_DEC) && tag->kind == u.kind && tag->l == u.l;
}

static uint64_t unit_load(const dims *d, unit u) {
    return u.kind == U_ENC ? enc_load(d) : u.kind == U_DEC ? dec_load(d) : u.kind == U_CKV ? ckv_load(d) : 0;
}

/* compute_unit: CKV 0 norms the memory first; the last decoder layer of a
 * step ends with the final norm, the LM head gemm and the argmax. */
static uint64_t unit_compute(const dims *d, unit u, int nd, uint64_t S) {
    if (u.kind == U_ENC) return enc_layer(d, S);
    if (u.kind == U_CKV) return (u.l == 0 ? norm(d, S) : 0) + ckv_compute(d, S);
    if (u.kind == U_DEC)
        return dec_layer(d, (uint64_t)u.t, S) +
               (u.l + 1 == nd ? norm(d, 1) + gemm(1, d->Vt, d->C) + loop(d->Vt) : 0);
    return 0;
}

mtx_status mtx_card_cycles(const mtx_image_dims *id, int n_enc, int n_dec, int S, int T, mtx_card_cost *out) {
    if (id->C - 1 >= MTX_MAX_D_MODEL || id->H - 1 >= MTX_MAX_HEADS || id->C % id->H ||
        id->F - 1 >= MTX_MAX_D_FF || id->Vt - 1 >= MTX_MAX_VOCAB || id->Ps - 1 >= MTX_MAX_POS ||
        id->Pt - 1 >= MTX_MAX_POS)
        return mtx_set_error(MTX_ERR_ARG, "card cycles: image dimensions outside format/maxima.h");
    if (n_enc < 1 || n_enc > MTX_MAX_STACK_LAYERS || n_dec < 1 || n_dec > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_ARG, "card cycles: %d + %d layers (each stack 1 to %d)", n_enc, n_dec,
                             MTX_MAX_STACK_LAYERS);
    if (S < 1 || S > (int)id->Ps || T < 1 || T > (int)id->Pt)
        return mtx_set_error(MTX_ERR_ARG, "card cycles: S %d, T %d outside [1, %u], [1, %u]", S, T, id->Ps, id->Pt);
    const dims d = {id->C, id->H, id->F, id->Vt, id->C / id->H};
    const int Pt = (int)id->Pt;
    out->enc_load = enc_load(&d);
    out->enc_compute = enc_layer(&d, (uint64_t)S);
    out->dec_load = dec_load(&d);
    out->dec_compute = dec_layer(&d, (uint64_t)(T / 2), (uint64_t)S);
    out->ckv_load = ckv_load(&d);
    out->ckv_compute = ckv_compute(&d, (uint64_t)S);
    /* EMBED_SRC; the first encoder layer loads alone; WRITE_OUT at the end */
    uint64_t serial = (uint64_t)S * loop(d.C) + loop(MTX_IO_STRIDE);
    out->load = enc_load(&d);
    out->compute = serial;
    out->cycles = serial + enc_load(&d);
    unit tag[2] = {{U_ENC, 0, 0}, {U_NONE, 0, 0}}, cur = {U_ENC, 0, 0};
    int bc = 0;
    for (;;) {
        unit nxt = unit_next(cur, n_enc, n_dec, Pt);
        int bn = holds(&tag[bc], nxt) ? bc : holds(&tag[1 - bc], nxt) ? 1 - bc : 2;
        uint64_t ld = bn == 2 ? unit_load(&d, nxt) : 0, cp = unit_compute(&d, cur, n_dec, (uint64_t)S);
        if (cur.kind == U_DEC && cur.l == 0) out->compute += loop(d.C), out->cycles += loop(d.C); /* EMBED */
        out->load += ld;
        out->compute += cp;
        out->cycles += ld > cp ? ld : cp;
        if (bn == 2) {
            bn = 1 - bc;
            tag[bn] = nxt.kind == U_ENC || nxt.kind == U_DEC ? nxt : (unit){U_NONE, 0, 0};
        }
        if (cur.kind == U_DEC && cur.l + 1 == n_dec && cur.t + 1 == T) break; /* EOS */
        cur = nxt;
        bc = bn;
    }
    return MTX_OK;
}
