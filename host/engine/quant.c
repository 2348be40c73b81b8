/* quant.c - calibration and quantization of a bank into image sections
 * (see quant.h; the constants are those of docs/engine.md). */
#include "engine/quant.h"
#include "engine/iops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Quantization points of one layer (max |value| over calibration). */
enum { E_A1, E_Q, E_K, E_V, E_ATT, E_A2, E_H, E_NPT };
enum { D_A1, D_Q, D_K, D_V, D_ATT1, D_A2, D_Q2, D_K2, D_V2, D_ATT2, D_A3, D_H, D_NPT };

typedef struct {
    uint32_t origin;
    const void *w;        /* mtx_enc_layer or mtx_dec_layer */
    double amax[D_NPT];
    int seen;             /* calibrated in some assembly */
} layer_stat;

typedef struct {
    int n_enc, n_dec;
    layer_stat enc[MTX_MAX_BANK_LAYERS], dec[MTX_MAX_BANK_LAYERS];
    double mem, dec_hn, res; /* final encoder norm, final decoder norm, residual stream */
} calib;

mtx_quant_opts mtx_quant_default_opts(void) {
    mtx_quant_opts o = { MTX_QUANT_CALIB_WORDS, 20240601u };
    return o;
}

/* ------------------------------------------------------------ layers */

static layer_stat *find_layer(layer_stat *l, int n, uint32_t origin) {
    for (int i = 0; i < n; i++)
        if (l[i].origin == origin) return &l[i];
    return NULL;
}

/* Every layer of the bank: teacher layers, then modules by granularity. */
static mtx_status list_layers(calib *c, const mtx_bank *b) {
    const mtx_model_config *cfg = &b->teacher.cfg;
    memset(c, 0, sizeof *c);
    for (int j = 0; j < cfg->num_layers; j++)
        c->enc[c->n_enc++] = (layer_stat){ MTX_ORIGIN(1, j), &b->teacher.w.enc[j], { 0 }, 0 };
    for (int j = 0; j < cfg->num_decoder_layers; j++)
        c->dec[c->n_dec++] = (layer_stat){ MTX_ORIGIN(1, j), &b->teacher.w.dec[j], { 0 }, 0 };
    for (int gi = 0; gi < b->n_gran; gi++) {
        const int g = b->gran[gi];
        for (int j = 0; mtx_bank_enc_module(b, g, j); j++) {
            if (c->n_enc == MTX_MAX_BANK_LAYERS) return mtx_set_error(MTX_ERR_ARG, "bank has more than %d encoder layers", MTX_MAX_BANK_LAYERS);
            c->enc[c->n_enc++] = (layer_stat){ MTX_ORIGIN(g, j), mtx_bank_enc_module(b, g, j), { 0 }, 0 };
        }
        for (int j = 0; mtx_bank_dec_module(b, g, j); j++) {
            if (c->n_dec == MTX_MAX_BANK_LAYERS) return mtx_set_error(MTX_ERR_ARG, "bank has more than %d decoder layers", MTX_MAX_BANK_LAYERS);
            c->dec[c->n_dec++] = (layer_stat){ MTX_ORIGIN(g, j), mtx_bank_dec_module(b, g, j), { 0 }, 0 };
        }
    }
    return MTX_OK;
}

/* The fp32 network of an assembly, its layers taken from the calibration list. */
static mtx_status assembly_net(const mtx_bank *b, calib *c, const mtx_assembly *a, mtx_net *n,
                               layer_stat **es, layer_stat **ds) {
    mtx_net_from_model(n, &b->teacher, NULL);
    n->n_enc = a->enc.n;
    n->n_dec = a->dec.n;
    for (int i = 0; i < a->enc.n; i++) {
        es[i] = find_layer(c->enc, c->n_enc, MTX_ORIGIN(a->enc.g[i], a->enc.j[i]));
        if (!es[i]) return mtx_set_error(MTX_ERR_ARG, "assembly names encoder layer m%d.%d, not in the bank", a->enc.g[i], a->enc.j[i]);
        n->enc[i] = es[i]->w;
    }
    for (int i = 0; i < a->dec.n; i++) {
        ds[i] = find_layer(c->dec, c->n_dec, MTX_ORIGIN(a->dec.g[i], a->dec.j[i]));
        if (!ds[i]) return mtx_set_error(MTX_ERR_ARG, "assembly names decoder layer m%d.%d, not in the bank", a->dec.g[i], a->dec.j[i]);
        n->dec[i] = ds[i]->w;
    }
    return MTX_OK;
}

/* The teacher's tiling of L layers with block [g*j, g*j + g) made module m(g, j). */
static void teacher_with(mtx_tiling *t, int L, int g, int j) {
    memset(t, 0, sizeof *t);
    for (int l = 0; l < L;) {
        if (g > 1 && l == g * j) {
            t->g[t->n] = (uint8_t)g;
            t->j[t->n++] = (uint8_t)j;
            l += g;
        } else {
            t->g[t->n] = 1;
            t->j[t->n++] = (uint8_t)l++;
        }
    }
}

/* ------------------------------------------------------------ calibration */

static double amax_rows(const float *x, int ld, int col0, int ncol, const int *rows, int nrows) {
    double m = 0;
    for (int r = 0; r < nrows; r++) {
        const float *p = x + (int64_t)rows[r] * ld + col0;
        for (int c = 0; c < ncol; c++)
            if (fabs(p[c]) > m) m = fabs(p[c]);
    }
    return m;
}

static void upd(double *m, double v) {
    if (v > *m) *m = v;
}

/* Records the maxima of one teacher-forced batch of an assembly. */
static void record(calib *c, const mtx_acts *a, const mtx_net *n, layer_stat **es, layer_stat **ds,
                   const int *srows, int ns, const int *trows, int nt) {
    const int C = a->C, F = a->F;
    const size_t RC = (size_t)a->cap_rows * (size_t)C;
    for (int l = 0; l < n->n_enc; l++) {
        const mtx_enc_acts *e = &a->enc[l];
        double *m = es[l]->amax;
        es[l]->seen = 1;
        upd(&m[E_A1], amax_rows(e->a1, C, 0, C, srows, ns));
        upd(&m[E_Q], amax_rows(e->qkv, 3 * C, 0, C, srows, ns));
        upd(&m[E_K], amax_rows(e->qkv, 3 * C, C, C, srows, ns));
        upd(&m[E_V], amax_rows(e->qkv, 3 * C, 2 * C, C, srows, ns));
        upd(&m[E_ATT], amax_rows(e->att, C, 0, C, srows, ns));
        upd(&m[E_A2], amax_rows(e->a2, C, 0, C, srows, ns));
        upd(&m[E_H], amax_rows(e->r, F, 0, F, srows, ns));
        upd(&c->res, amax_rows(e->xmid, C, 0, C, srows, ns));
    }
    for (int l = 0; l <= n->n_enc; l++) upd(&c->res, amax_rows(a->enc_res + l * RC, C, 0, C, srows, ns));
    upd(&c->mem, amax_rows(a->enc_out, C, 0, C, srows, ns));
    for (int l = 0; l < n->n_dec; l++) {
        const mtx_dec_acts *d = &a->dec[l];
        double *m = ds[l]->amax;
        ds[l]->seen = 1;
        upd(&m[D_A1], amax_rows(d->a1, C, 0, C, trows, nt));
        upd(&m[D_Q], amax_rows(d->qkv, 3 * C, 0, C, trows, nt));
        upd(&m[D_K], amax_rows(d->qkv, 3 * C, C, C, trows, nt));
        upd(&m[D_V], amax_rows(d->qkv, 3 * C, 2 * C, C, trows, nt));
        upd(&m[D_ATT1], amax_rows(d->att1, C, 0, C, trows, nt));
        upd(&m[D_A2], amax_rows(d->a2, C, 0, C, trows, nt));
        upd(&m[D_Q2], amax_rows(d->q2, C, 0, C, trows, nt));
        upd(&m[D_K2], amax_rows(d->kv2, 2 * C, 0, C, srows, ns));
        upd(&m[D_V2], amax_rows(d->kv2, 2 * C, C, C, srows, ns));
        upd(&m[D_ATT2], amax_rows(d->att2, C, 0, C, trows, nt));
        upd(&m[D_A3], amax_rows(d->a3, C, 0, C, trows, nt));
        upd(&m[D_H], amax_rows(d->r, F, 0, F, trows, nt));
        upd(&c->res, amax_rows(d->xmid1, C, 0, C, trows, nt));
        upd(&c->res, amax_rows(d->xmid2, C, 0, C, trows, nt));
    }
    for (int l = 0; l <= n->n_dec; l++) upd(&c->res, amax_rows(a->dec_res + l * RC, C, 0, C, trows, nt));
    upd(&c->dec_hn, amax_rows(a->dec_hn, C, 0, C, trows, nt));
}

enum { CAL_CHUNK = 64 };

/* Seeded sample of k of the n entries (partial Fisher-Yates), in sampled order. */
static int *sample_entries(int n, int k, uint64_t seed) {
    int *idx = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!idx) return NULL;
    for (int i = 0; i < n; i++) idx[i] = i;
    mtx_rng r;
    mtx_rng_seed(&r, seed);
    for (int i = 0; i < k && i < n; i++) {
        int j = i + (int)(mtx_rng_u64(&r) % (uint64_t)(n - i));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    return idx;
}

/* Fills a padded teacher-forced batch of the entries idx[0..B) and the lists of real rows. */
static void fill_batch(mtx_batch *bt, int32_t *src, int *slen, int32_t *tin, int32_t *tout, const mtx_encoded *e,
                       const int *idx, int B, int *srows, int *ns, int *trows, int *nt) {
    int S = 1, T = 1;
    for (int b = 0; b < B; b++) {
        if (e->src_len[idx[b]] > S) S = e->src_len[idx[b]];
        if (e->tgt_len[idx[b]] + 1 > T) T = e->tgt_len[idx[b]] + 1;
    }
    *ns = *nt = 0;
    int n_tgt = 0;
    for (int b = 0; b < B; b++) {
        const int k = idx[b], ls = e->src_len[k], lt = e->tgt_len[k];
        slen[b] = ls;
        for (int s = 0; s < S; s++) {
            src[b * S + s] = s < ls ? e->src[e->src_off[k] + s] : MTX_PAD;
            if (s < ls) srows[(*ns)++] = b * S + s;
        }
        for (int t = 0; t < T; t++) {
            tin[b * T + t] = t == 0 ? MTX_BOS : t <= lt ? e->tgt[e->tgt_off[k] + t - 1] : MTX_PAD;
            tout[b * T + t] = t < lt ? e->tgt[e->tgt_off[k] + t] : t == lt ? MTX_EOS : -1;
            if (t <= lt) trows[(*nt)++] = b * T + t, n_tgt++;
        }
    }
    *bt = (mtx_batch){ B, S, T, src, slen, tin, tout, n_tgt };
}

static mtx_status calibrate(calib *c, const mtx_bank *b, const mtx_assembly *as, int n_as,
                            const mtx_encoded *train, int words, uint64_t seed) {
    const mtx_model_config *cfg = &b->teacher.cfg;
    const int L = cfg->max_source_positions > cfg->max_target_positions ? cfg->max_source_positions
                                                                        : cfg->max_target_positions;
    const int rows = CAL_CHUNK * L;
    mtx_acts acts;
    mtx_status st = mtx_acts_init(&acts, cfg, cfg->num_layers, cfg->num_decoder_layers, rows, L);
    if (st) return st;
    int32_t *src = malloc(sizeof(int32_t) * (size_t)rows * 3);
    int *ints = malloc(sizeof(int) * ((size_t)rows * 2 + CAL_CHUNK));
    int *idx = sample_entries(train->n, words, seed);
    if (!src || !ints || !idx) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory for calibration");
    const mtx_fwd_opts fo = { 0.0f, 0, 0 };
    for (int i = 0; !st && i < n_as; i++) {
        mtx_net net;
        layer_stat *es[MTX_MAX_LAYERS], *ds[MTX_MAX_LAYERS];
        st = assembly_net(b, c, &as[i], &net, es, ds);
        for (int w = 0; !st && w < words; w += CAL_CHUNK) {
            int B = words - w < CAL_CHUNK ? words - w : CAL_CHUNK, ns, nt;
            mtx_batch bt;
            int *srows = ints, *trows = ints + rows, *slen = ints + 2 * rows;
            fill_batch(&bt, src, slen, src + rows, src + 2 * rows, train, idx + w, B, srows, &ns, trows, &nt);
            st = mtx_forward(&acts, &net, &bt, &fo);
            if (!st) record(c, &acts, &net, es, ds, srows, ns, trows, nt);
        }
    }
    free(src);
    free(ints);
    free(idx);
    mtx_acts_free(&acts);
    return st;
}

/* ------------------------------------------------------------ constants */

/* A requant record for real multipliers mult[0..n): s is the largest shift in
 * [0, 62] with every |round(mult * 2^s)| < 2^31; rec = [s, m...]. */
static void make_record(int32_t *rec, const double *mult, int n) {
    double mx = 0;
    for (int i = 0; i < n; i++) mx = fmax(mx, fabs(mult[i]));
    int s = 62;
    while (s > 0 && ldexp(mx, s) >= 2147483647.0) s--; /* round() stays below 2^31 */
    rec[0] = s;
    for (int i = 0; i < n; i++) rec[1 + i] = (int32_t)llround(ldexp(mult[i], s));
}

static double scale_of(double amax) {
    return (amax > 1e-30 ? amax : 1e-30) / MTX_INT8_MAX;
}

/* int8 rows of W (n_out, n_in), symmetric per row; sw[o] = the row's scale. */
static void quant_weights(int8_t *q, double *sw, const float *W, int n_out, int n_in) {
    for (int o = 0; o < n_out; o++) {
        double m = 0;
        for (int i = 0; i < n_in; i++) m = fmax(m, fabs(W[(int64_t)o * n_in + i]));
        sw[o] = m > 0 ? m / MTX_INT8_MAX : 1.0;
        for (int i = 0; i < n_in; i++)
            q[(int64_t)o * n_in + i] = (int8_t)mtx_q8(llround(W[(int64_t)o * n_in + i] / sw[o]));
    }
}

/* Builder of one layer's constants: records appended in order. */
typedef struct {
    int32_t *k;
    size_t n;
    double *mult; /* scratch, MTX_MAX_D_FF * 3 */
} kbuf;

static void rec_norm(kbuf *kb, const float *g, int C, double s_out) {
    for (int c = 0; c < C; c++) kb->mult[c] = g[c] * sqrt((double)C) / s_out / 16777216.0;
    make_record(kb->k + kb->n, kb->mult, C);
    kb->n += (size_t)C + 1;
}

/* Linear layer record: mult[o] = s_in * sw[o] * out(o), out(o) = 1 / s_out or 2^R. */
static void rec_linear(kbuf *kb, const double *sw, int n, double s_in, const double *out_of_row) {
    for (int o = 0; o < n; o++) kb->mult[o] = s_in * sw[o] * out_of_row[o];
    make_record(kb->k + kb->n, kb->mult, n);
    kb->n += (size_t)n + 1;
}

static void rec_scalar(kbuf *kb, double v) {
    make_record(kb->k + kb->n, &v, 1);
    kb->n += 2;
}

/* Softmax record: u = (mx - sc) * m / 2^s in 1/256 units of log2. */
static double sm_mult(double s_q, double s_k, int hs) {
    return s_q * s_k / sqrt((double)hs) * 1.4426950408889634 * 256.0;
}

static void fill(double *v, int n, double x) {
    for (int i = 0; i < n; i++) v[i] = x;
}

static mtx_status add_section(mtx_quant *q, uint32_t type, uint32_t index, uint64_t len) {
    if (q->n_sec == MTX_MAX_TOC) return mtx_set_error(MTX_ERR_ARG, "more than %d image sections", MTX_MAX_TOC);
    uint8_t *p = calloc(1, (size_t)len);
    if (!p) return mtx_set_error(MTX_ERR_NOMEM, "out of memory for an image section");
    q->sec[q->n_sec++] = (mtx_quant_section){ type, index, p, len };
    return MTX_OK;
}

static void put_words(uint8_t *dst, const int32_t *w, size_t n) {
    for (size_t i = 0; i < n; i++) mtx_put_le32(dst + 4 * i, (uint32_t)w[i]);
}

/* Scratch for one layer: row scales and int8 weights live in the section itself. */
typedef struct {
    double *sw, *out;
    kbuf kb;
} scratch;

static mtx_status quant_enc_layer(mtx_quant *q, const layer_stat *ls, scratch *s, double R2) {
    const mtx_image_dims *d = &q->dims;
    const int C = (int)d->C, F = (int)d->F, hs = C / (int)d->H;
    const mtx_enc_layer *w = ls->w;
    const double *m = ls->amax;
    mtx_status st = add_section(q, MTX_SEC_ENC_WEIGHTS, ls->origin, MTX_ENC_W_BYTES(C, F));
    if (st) return st;
    int8_t *W = (int8_t *)q->sec[q->n_sec - 1].bytes;
    const double sa1 = scale_of(m[E_A1]), sq = scale_of(m[E_Q]), sk = scale_of(m[E_K]), sv = scale_of(m[E_V]);
    const double satt = scale_of(m[E_ATT]), sa2 = scale_of(m[E_A2]), sh = scale_of(m[E_H]);
    kbuf *kb = &s->kb;
    kb->n = 0;
    rec_norm(kb, w->ln1, C, sa1);                                              /* n1 */
    quant_weights(W, s->sw, w->qkv, 3 * C, C);
    fill(s->out, C, 1 / sq); fill(s->out + C, C, 1 / sk); fill(s->out + 2 * C, C, 1 / sv);
    rec_linear(kb, s->sw, 3 * C, sa1, s->out);                                 /* qkv */
    rec_scalar(kb, sm_mult(sq, sk, hs));                                       /* sm */
    rec_scalar(kb, sv / 256.0 / satt);                                         /* att */
    quant_weights(W + 3 * C * C, s->sw, w->o, C, C);
    fill(s->out, C, R2);
    rec_linear(kb, s->sw, C, satt, s->out);                                    /* o */
    rec_norm(kb, w->ln2, C, sa2);                                              /* n2 */
    quant_weights(W + 4 * C * C, s->sw, w->wi, F, C);
    fill(s->out, F, 1 / sh);
    rec_linear(kb, s->sw, F, sa2, s->out);                                     /* wi */
    quant_weights(W + 4 * C * C + (int64_t)F * C, s->sw, w->wo, C, F);
    fill(s->out, C, R2);
    rec_linear(kb, s->sw, C, sh, s->out);                                      /* wo */
    if (kb->n != MTX_ENC_K_WORDS(C, F)) return mtx_set_error(MTX_ERR_STATE, "encoder constants: %zu words", kb->n);
    st = add_section(q, MTX_SEC_ENC_CONSTS, ls->origin, 4 * kb->n);
    if (!st) put_words(q->sec[q->n_sec - 1].bytes, kb->k, kb->n);
    return st;
}

static mtx_status quant_dec_layer(mtx_quant *q, const layer_stat *ls, scratch *s, double R2, double smem) {
    const mtx_image_dims *d = &q->dims;
    const int C = (int)d->C, F = (int)d->F, hs = C / (int)d->H;
    const mtx_dec_layer *w = ls->w;
    const double *m = ls->amax;
    mtx_status st = add_section(q, MTX_SEC_DEC_WEIGHTS, ls->origin, MTX_DEC_W_BYTES(C, F));
    if (st) return st;
    int8_t *W = (int8_t *)q->sec[q->n_sec - 1].bytes;
    const double sa1 = scale_of(m[D_A1]), sq = scale_of(m[D_Q]), sk = scale_of(m[D_K]), sv = scale_of(m[D_V]);
    const double satt1 = scale_of(m[D_ATT1]), sa2 = scale_of(m[D_A2]), sq2 = scale_of(m[D_Q2]);
    const double sk2 = scale_of(m[D_K2]), sv2 = scale_of(m[D_V2]), satt2 = scale_of(m[D_ATT2]);
    const double sa3 = scale_of(m[D_A3]), sh = scale_of(m[D_H]);
    const int64_t CC = (int64_t)C * C;
    kbuf *kb = &s->kb;
    kb->n = 0;
    rec_norm(kb, w->ln1, C, sa1);                                              /* n1 */
    quant_weights(W, s->sw, w->qkv, 3 * C, C);
    fill(s->out, C, 1 / sq); fill(s->out + C, C, 1 / sk); fill(s->out + 2 * C, C, 1 / sv);
    rec_linear(kb, s->sw, 3 * C, sa1, s->out);                                 /* qkv */
    rec_scalar(kb, sm_mult(sq, sk, hs));                                       /* sm1 */
    rec_scalar(kb, sv / 256.0 / satt1);                                        /* att1 */
    quant_weights(W + 3 * CC, s->sw, w->o, C, C);
    fill(s->out, C, R2);
    rec_linear(kb, s->sw, C, satt1, s->out);                                   /* o */
    rec_norm(kb, w->ln2, C, sa2);                                              /* n2 */
    quant_weights(W + 4 * CC, s->sw, w->cq, C, C);
    fill(s->out, C, 1 / sq2);
    rec_linear(kb, s->sw, C, sa2, s->out);                                     /* cq */
    quant_weights(W + 5 * CC, s->sw, w->ckv, 2 * C, C);
    fill(s->out, C, 1 / sk2); fill(s->out + C, C, 1 / sv2);
    rec_linear(kb, s->sw, 2 * C, smem, s->out);                                /* ckv */
    rec_scalar(kb, sm_mult(sq2, sk2, hs));                                     /* sm2 */
    rec_scalar(kb, sv2 / 256.0 / satt2);                                       /* att2 */
    quant_weights(W + 7 * CC, s->sw, w->co, C, C);
    fill(s->out, C, R2);
    rec_linear(kb, s->sw, C, satt2, s->out);                                   /* co */
    rec_norm(kb, w->ln3, C, sa3);                                              /* n3 */
    quant_weights(W + 8 * CC, s->sw, w->wi, F, C);
    fill(s->out, F, 1 / sh);
    rec_linear(kb, s->sw, F, sa3, s->out);                                     /* wi */
    quant_weights(W + 8 * CC + (int64_t)F * C, s->sw, w->wo, C, F);
    fill(s->out, C, R2);
    rec_linear(kb, s->sw, C, sh, s->out);                                      /* wo */
    if (kb->n != MTX_DEC_K_WORDS(C, F)) return mtx_set_error(MTX_ERR_STATE, "decoder constants: %zu words", kb->n);
    st = add_section(q, MTX_SEC_DEC_CONSTS, ls->origin, 4 * kb->n);
    if (!st) put_words(q->sec[q->n_sec - 1].bytes, kb->k, kb->n);
    return st;
}

/* An embedding table (rows, C) in residual units 2^-R. */
static mtx_status quant_table(mtx_quant *q, uint32_t type, const float *t, int rows, int C, double R2) {
    mtx_status st = add_section(q, type, 0, 4ull * (uint64_t)rows * (uint64_t)C);
    if (st) return st;
    uint8_t *p = q->sec[q->n_sec - 1].bytes;
    for (int64_t i = 0; i < (int64_t)rows * C; i++) mtx_put_le32(p + 4 * i, (uint32_t)mtx_res(llround(t[i] * R2)));
    return MTX_OK;
}

static mtx_status quant_record_section(mtx_quant *q, uint32_t type, const int32_t *rec, int n) {
    mtx_status st = add_section(q, type, 0, 4ull * (uint64_t)(n + 1));
    if (!st) put_words(q->sec[q->n_sec - 1].bytes, rec, (size_t)n + 1);
    return st;
}

/* Global sections: embeddings, positions, final norms, head, EXP2. */
static mtx_status quant_globals(mtx_quant *q, const mtx_model *t, const calib *c, scratch *s, double R2) {
    const mtx_model_config *cfg = &t->cfg;
    const int C = cfg->d_model, V = cfg->tgt_vocab_size;
    mtx_status st = quant_table(q, MTX_SEC_SRC_EMB, t->w.src_emb, cfg->src_vocab_size, C, R2);
    if (!st) st = quant_table(q, MTX_SEC_SRC_POS, t->w.src_pos, cfg->max_source_positions, C, R2);
    if (!st) st = quant_table(q, MTX_SEC_TGT_EMB, t->w.tgt_emb, V, C, R2);
    if (!st) st = quant_table(q, MTX_SEC_TGT_POS, t->w.tgt_pos, cfg->max_target_positions, C, R2);
    kbuf *kb = &s->kb;
    kb->n = 0;
    rec_norm(kb, t->w.enc_ln, C, scale_of(c->mem));
    if (!st) st = quant_record_section(q, MTX_SEC_ENC_NORM, kb->k, C);
    kb->n = 0;
    rec_norm(kb, t->w.dec_ln, C, scale_of(c->dec_hn));
    if (!st) st = quant_record_section(q, MTX_SEC_DEC_NORM, kb->k, C);
    if (!st) st = add_section(q, MTX_SEC_LM_HEAD, 0, (uint64_t)V * (uint64_t)C);
    if (!st) quant_weights((int8_t *)q->sec[q->n_sec - 1].bytes, s->sw, t->w.lm_head, V, C);
    /* logits in units of 2^-16: only their order matters (argmax) */
    fill(s->out, V, 65536.0);
    kb->n = 0;
    if (!st) rec_linear(kb, s->sw, V, scale_of(c->dec_hn), s->out);
    if (!st) st = quant_record_section(q, MTX_SEC_LM_REQ, kb->k, V);
    int32_t e2[MTX_EXP2_ENTRIES];
    mtx_exp2_table(e2);
    if (!st) st = add_section(q, MTX_SEC_EXP2, 0, 4 * MTX_EXP2_ENTRIES);
    if (!st) put_words(q->sec[q->n_sec - 1].bytes, e2, MTX_EXP2_ENTRIES);
    return st;
}

/* ------------------------------------------------------------ whole bank */

/* The calibration assemblies: the given ones, then for every layer none of
 * them uses, the teacher with that layer swapped in. Caller frees *out. */
static mtx_status calib_assemblies(const calib *c, const mtx_bank *b, const mtx_assembly *as, int n_as,
                                   mtx_assembly **out, int *n_out) {
    const mtx_model_config *cfg = &b->teacher.cfg;
    mtx_assembly *all = malloc(sizeof *all * (size_t)(n_as + c->n_enc + c->n_dec + 1));
    if (!all) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < n_as; i++) all[n++] = as[i];
    for (int stack = 0; stack < 2; stack++) {
        const layer_stat *ls = stack ? c->dec : c->enc;
        for (int i = 0; i < (stack ? c->n_dec : c->n_enc); i++) {
            int used = 0;
            for (int k = 0; k < n && !used; k++) {
                const mtx_tiling *t = stack ? &all[k].dec : &all[k].enc;
                for (int x = 0; x < t->n; x++) used |= MTX_ORIGIN(t->g[x], t->j[x]) == ls[i].origin;
            }
            if (used) continue;
            const int g = (int)MTX_ORIGIN_G(ls[i].origin), j = (int)MTX_ORIGIN_J(ls[i].origin);
            teacher_with(&all[n].enc, cfg->num_layers, stack ? 1 : g, stack ? 0 : j);
            teacher_with(&all[n].dec, cfg->num_decoder_layers, stack ? g : 1, stack ? j : 0);
            n++;
        }
    }
    *out = all;
    *n_out = n;
    return MTX_OK;
}

static mtx_status image_dims(mtx_quant *q, const mtx_model_config *cfg, double res_max) {
    int R = 0;
    while (R < 40 && ldexp(res_max, R + 1) <= 2097152.0) R++; /* largest R: max * 2^R <= 2^21 */
    double eps_q = round((double)cfg->layer_norm_epsilon * cfg->d_model * ldexp(1.0, 2 * R));
    if (eps_q > 4294967295.0)
        return mtx_set_error(MTX_ERR_ARG, "layer_norm_epsilon %g too large for R = %d (eps_q does not fit 32 bits)",
                             (double)cfg->layer_norm_epsilon, R);
    mtx_image_dims *d = &q->dims;
    *d = (mtx_image_dims){ (uint32_t)cfg->d_model, (uint32_t)cfg->num_heads, (uint32_t)cfg->d_ff,
                           (uint32_t)cfg->src_vocab_size, (uint32_t)cfg->tgt_vocab_size,
                           (uint32_t)cfg->max_source_positions, (uint32_t)cfg->max_target_positions,
                           (uint32_t)cfg->num_layers, (uint32_t)cfg->num_decoder_layers, (uint32_t)R,
                           (uint32_t)eps_q, MTX_BOS, MTX_EOS, MTX_PAD };
    if (d->C > MTX_MAX_D_MODEL || d->H > MTX_MAX_HEADS || d->C % d->H || d->C / d->H > MTX_MAX_HEAD_DIM ||
        d->F > MTX_MAX_D_FF || d->Vs > MTX_MAX_VOCAB || d->Vt > MTX_MAX_VOCAB || d->Ps > MTX_MAX_POS ||
        d->Pt > MTX_MAX_POS || d->n_enc > MTX_MAX_STACK_LAYERS || d->n_dec > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_ARG, "model dimensions exceed the engine maxima (format/maxima.h)");
    return MTX_OK;
}

mtx_status mtx_quantize(mtx_quant *q, const mtx_bank *b, const mtx_assembly *as, int n_as,
                        const mtx_encoded *train, const mtx_quant_opts *o) {
    memset(q, 0, sizeof *q);
    const mtx_model_config *cfg = &b->teacher.cfg;
    if (o->calib_words < 1) return mtx_set_error(MTX_ERR_ARG, "calibration needs at least one word");
    calib *c = calloc(1, sizeof *c);
    if (!c) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    mtx_assembly *all = NULL;
    int n_all = 0;
    mtx_status st = list_layers(c, b);
    if (!st) st = calib_assemblies(c, b, as, n_as, &all, &n_all);
    const int words = o->calib_words < train->n ? o->calib_words : train->n;
    if (!st && words < 1) st = mtx_set_error(MTX_ERR_DATA, "no training words to calibrate on");
    if (!st) st = calibrate(c, b, all, n_all, train, words, o->seed);
    if (!st) st = image_dims(q, cfg, c->res);
    q->res_max = c->res;
    q->calib_words = words;
    q->calib_assemblies = n_all;
    const size_t wide = 3 * MTX_MAX_D_FF;
    scratch s = { malloc(sizeof(double) * wide), malloc(sizeof(double) * wide),
                  { malloc(sizeof(int32_t) * MTX_DEC_K_WORDS(MTX_MAX_D_MODEL, MTX_MAX_D_FF)), 0,
                    malloc(sizeof(double) * wide) } };
    if (!st && (!s.sw || !s.out || !s.kb.k || !s.kb.mult)) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    const double R2 = ldexp(1.0, (int)q->dims.res_frac);
    if (!st) st = quant_globals(q, &b->teacher, c, &s, R2);
    for (int i = 0; !st && i < c->n_enc; i++) st = quant_enc_layer(q, &c->enc[i], &s, R2);
    for (int i = 0; !st && i < c->n_dec; i++) st = quant_dec_layer(q, &c->dec[i], &s, R2, scale_of(c->mem));
    free(s.sw);
    free(s.out);
    free(s.kb.k);
    free(s.kb.mult);
    free(all);
    free(c);
    if (st) mtx_quant_free(q);
    return st;
}

mtx_status mtx_quant_image(const mtx_quant *q, uint8_t **out, uint64_t *bytes) {
    mtx_image_builder *ib = NULL;
    mtx_status st = mtx_image_builder_new(&ib, &q->dims);
    for (int i = 0; !st && i < q->n_sec; i++)
        st = mtx_image_builder_add(ib, q->sec[i].type, q->sec[i].index, q->sec[i].bytes, q->sec[i].len);
    if (!st) st = mtx_image_builder_finish(ib, out, bytes);
    mtx_image_builder_free(ib);
    return st;
}

const mtx_quant_section *mtx_quant_find(const mtx_quant *q, uint32_t type, uint32_t index) {
    for (int i = 0; i < q->n_sec; i++)
        if (q->sec[i].type == type && q->sec[i].index == index) return &q->sec[i];
    return NULL;
}

void mtx_quant_free(mtx_quant *q) {
    for (int i = 0; i < q->n_sec; i++) free(q->sec[i].bytes);
    q->n_sec = 0;
}
