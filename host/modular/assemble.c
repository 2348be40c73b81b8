/* assemble.c - strategies and materialisation of assemblies (see assemble.h). */
#include "modular/assemble.h"
#include "modular/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mtx_status mtx_assemblies_all(const mtx_bank *b, mtx_assembly **out, int *n) {
    const mtx_model_config *c = &b->teacher.cfg;
    int ne = mtx_tiling_enumerate(c->num_layers, b->gran, b->n_gran, NULL, 0);
    int nd = mtx_tiling_enumerate(c->num_decoder_layers, b->gran, b->n_gran, NULL, 0);
    if (ne < 0 || nd < 0 || (int64_t)ne * nd > 1000000)
        return mtx_set_error(MTX_ERR_ARG, "too many assemblies to enumerate for %d + %d layers with these granularities",
                             c->num_layers, c->num_decoder_layers);
    mtx_tiling *te = malloc(sizeof *te * (size_t)ne), *td = malloc(sizeof *td * (size_t)nd);
    mtx_assembly *a = malloc(sizeof *a * (size_t)ne * (size_t)nd);
    if (!te || !td || !a) {
        free(te); free(td); free(a);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory enumerating assemblies");
    }
    mtx_tiling_enumerate(c->num_layers, b->gran, b->n_gran, te, ne);
    mtx_tiling_enumerate(c->num_decoder_layers, b->gran, b->n_gran, td, nd);
    for (int i = 0; i < ne; i++)
        for (int k = 0; k < nd; k++) {
            a[i * nd + k].enc = te[i];
            a[i * nd + k].dec = td[k];
        }
    free(te);
    free(td);
    *out = a;
    *n = ne * nd;
    return MTX_OK;
}

int mtx_reachable_ratios(const mtx_bank *b, double *ratios, int max) {
    const mtx_model_config *c = &b->teacher.cfg;
    int ne = mtx_tiling_enumerate(c->num_layers, b->gran, b->n_gran, NULL, 0);
    int nd = mtx_tiling_enumerate(c->num_decoder_layers, b->gran, b->n_gran, NULL, 0);
    if (ne < 0 || nd < 0) return 0;
    mtx_tiling *te = malloc(sizeof *te * (size_t)ne), *td = malloc(sizeof *td * (size_t)nd);
    int seen[2 * MTX_MAX_LAYERS + 1] = { 0 }, n = 0;
    if (!te || !td) {
        free(te);
        free(td);
        return 0;
    }
    mtx_tiling_enumerate(c->num_layers, b->gran, b->n_gran, te, ne);
    mtx_tiling_enumerate(c->num_decoder_layers, b->gran, b->n_gran, td, nd);
    for (int i = 0; i < ne; i++)
        for (int k = 0; k < nd; k++) seen[te[i].n + td[k].n] = 1;
    free(te);
    free(td);
    const int total = c->num_layers + c->num_decoder_layers;
    for (int layers = total; layers >= 2; layers--)
        if (seen[layers] && n < max) ratios[n++] = (double)total / layers;
    return n;
}

void mtx_reachable_ratios_text(const mtx_bank *b, char *buf, size_t cap) {
    double r[2 * MTX_MAX_LAYERS];
    int n = mtx_reachable_ratios(b, r, 2 * MTX_MAX_LAYERS);
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%.2f", i ? ", " : "", r[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
}

mtx_len_stats mtx_len_stats_of(const mtx_encoded *e) {
    mtx_len_stats s = { 8.0, 8.0 };
    double a = 0, t = 0;
    for (int k = 0; k < e->n; k++) {
        a += e->src_len[k];
        t += e->tgt_len[k] + 1;
    }
    if (e->n) {
        s.src_len = a / e->n;
        s.tgt_len = t / e->n;
    }
    return s;
}

mtx_status mtx_assembly_score_on(const mtx_bank *b, const mtx_assembly *a, const mtx_encoded *data,
                                 int max_words, mtx_assembly_score *s) {
    mtx_net net;
    mtx_status st = mtx_bank_net(b, a, &net, NULL, NULL);
    if (st) return st;
    const mtx_encoded view = mtx_encoded_prefix(data, max_words);
    mtx_eval_result r;
    st = mtx_eval_encoded(&net, &view, 1, 1.0f, &r);
    if (st) return st;
    s->wer = mtx_score_wer(&r.score);
    s->per = mtx_score_per(&r.score);
    return MTX_OK;
}

static int largest_block(const mtx_assembly *a) {
    int m = 0;
    for (int i = 0; i < a->enc.n; i++) m = a->enc.g[i] > m ? a->enc.g[i] : m;
    for (int i = 0; i < a->dec.n; i++) m = a->dec.g[i] > m ? a->dec.g[i] : m;
    return m;
}

/* (wer, per) lexicographic order */
static int better_score(double w1, double p1, double w2, double p2) { return w1 < w2 || (w1 == w2 && p1 < p2); }

/* First-stage order: dev WER, PER, then the smaller largest block */
static int better_scored(const mtx_scored_assembly *x, const mtx_scored_assembly *y) {
    if (x->wer != y->wer || x->per != y->per) return better_score(x->wer, x->per, y->wer, y->per);
    return largest_block(&x->a) < largest_block(&y->a);
}

mtx_status mtx_assembly_refine(const mtx_bank *b, const mtx_scored_assembly *scored, int n, int layers,
                               const mtx_encoded *dev, int dev_words, mtx_assembly *out) {
    int fin[MTX_SEARCH_FINALISTS], nf = 0;
    for (int i = 0; i < n; i++) {
        if (scored[i].a.enc.n + scored[i].a.dec.n != layers) continue;
        int at = nf;
        while (at > 0 && better_scored(&scored[i], &scored[fin[at - 1]])) at--;
        if (at >= MTX_SEARCH_FINALISTS) continue;
        if (nf < MTX_SEARCH_FINALISTS) nf++;
        for (int q = nf - 1; q > at; q--) fin[q] = fin[q - 1];
        fin[at] = i;
    }
    if (nf == 0) return mtx_set_error(MTX_ERR_ARG, "no scored assembly has %d layers", layers);
    int best = fin[0];
    if (nf > 1 && dev && dev->n_groups > dev_words) {
        double bw = 0, bp = 0;
        for (int q = 0; q < nf; q++) {
            mtx_assembly_score s;
            mtx_status st = mtx_assembly_score_on(b, &scored[fin[q]].a, dev, 0, &s);
            if (st) return st;
            if (q == 0 || better_score(s.wer, s.per, bw, bp)) {
                best = fin[q];
                bw = s.wer;
                bp = s.per;
            }
        }
    }
    *out = scored[best].a;
    return MTX_OK;
}

mtx_status mtx_assembly_choose(const mtx_bank *b, double ratio, mtx_strategy strategy,
                               const mtx_len_stats *lens, const mtx_encoded *dev, int dev_words,
                               mtx_assembly *out) {
    const mtx_model_config *c = &b->teacher.cfg;
    const int total = c->num_layers + c->num_decoder_layers;
    char reach[512];
    mtx_reachable_ratios_text(b, reach, sizeof reach);
    if (!(ratio >= 1.0) || !isfinite(ratio))
        return mtx_set_error(MTX_ERR_ARG, "ratio must be >= 1; reachable ratios: %s", reach);
    int layers = (int)floor((double)total / ratio + 0.5);
    if (layers < 1 || fabs((double)total / layers - ratio) > 0.01 * ratio)
        return mtx_set_error(MTX_ERR_ARG, "no assembly reaches ratio %.3g; reachable ratios: %s", ratio, reach);
    if (strategy == MTX_STRATEGY_SEARCH && !dev) return mtx_set_error(MTX_ERR_ARG, "the search strategy needs dev data");
    mtx_assembly *all = NULL;
    int n = 0;
    mtx_status st = mtx_assemblies_all(b, &all, &n);
    if (st) return st;
    mtx_scored_assembly *sc = strategy == MTX_STRATEGY_SEARCH ? calloc((size_t)n, sizeof *sc) : NULL;
    if (strategy == MTX_STRATEGY_SEARCH && !sc) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    int best = -1, nsc = 0;
    double k1 = 0, k2 = 0, k3 = 0;
    for (int i = 0; i < n && !st; i++) {
        const mtx_assembly *a = &all[i];
        if (a->enc.n + a->dec.n != layers) continue;
        if (sc) {
            mtx_assembly_score s;
            if ((st = mtx_assembly_score_on(b, a, dev, dev_words, &s))) break;
            sc[nsc].a = *a;
            sc[nsc].wer = s.wer;
            sc[nsc++].per = s.per;
            continue;
        }
        double p = (double)mtx_assembly_params(b, a), l = mtx_assembly_latency(b, a, lens->src_len, lens->tgt_len);
        double c1 = strategy == MTX_STRATEGY_SIZE ? p : l, c2 = strategy == MTX_STRATEGY_SIZE ? l : p,
               c3 = largest_block(a);
        if (best < 0 || c1 < k1 || (c1 == k1 && (c2 < k2 || (c2 == k2 && c3 < k3)))) {
            best = i;
            k1 = c1;
            k2 = c2;
            k3 = c3;
        }
    }
    const int found = sc ? nsc > 0 : best >= 0;
    if (!st && found) st = sc ? mtx_assembly_refine(b, sc, nsc, layers, dev, dev_words, out) : (*out = all[best], MTX_OK);
    if (!st && !found) st = mtx_set_error(MTX_ERR_ARG, "no assembly reaches ratio %.3g; reachable ratios: %s", ratio, reach);
    free(sc);
    free(all);
    return st;
}

mtx_status mtx_assembly_to_model(const mtx_bank *b, const mtx_assembly *a, mtx_model *out) {
    mtx_net net;
    mtx_status st = mtx_bank_net(b, a, &net, NULL, NULL);
    if (st) return st;
    mtx_model_config c = b->teacher.cfg;
    c.num_layers = a->enc.n;
    c.num_decoder_layers = a->dec.n;
    st = mtx_model_init(out, &c);
    if (st) return st;
    const mtx_weights *tw = &b->teacher.w;
    mtx_weights *w = &out->w;
    const size_t C = (size_t)c.d_model;
    memcpy(w->src_emb, tw->src_emb, sizeof(float) * C * ((size_t)c.src_vocab_size + (size_t)c.max_source_positions +
                                                          (size_t)c.tgt_vocab_size + (size_t)c.max_target_positions));
    for (int i = 0; i < a->enc.n; i++) memcpy(w->enc[i].ln1, net.enc[i]->ln1, sizeof(float) * mtx_enc_layer_size(&c));
    memcpy(w->enc_ln, tw->enc_ln, sizeof(float) * C);
    for (int i = 0; i < a->dec.n; i++) memcpy(w->dec[i].ln1, net.dec[i]->ln1, sizeof(float) * mtx_dec_layer_size(&c));
    memcpy(w->dec_ln, tw->dec_ln, sizeof(float) * C);
    memcpy(w->lm_head, tw->lm_head, sizeof(float) * C * (size_t)c.tgt_vocab_size);
    return MTX_OK;
}

mtx_status mtx_assembly_search_all(const mtx_bank *b, const mtx_encoded *dev, int dev_words,
                                   const mtx_len_stats *lens, mtx_scored_assembly **out, int *n) {
    mtx_assembly *all = NULL;
    int na = 0;
    mtx_status st = mtx_assemblies_all(b, &all, &na);
    if (st) return st;
    mtx_scored_assembly *s = calloc((size_t)na, sizeof *s);
    if (!s) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    for (int i = 0; !st && i < na; i++) {
        mtx_assembly_score sc;
        s[i].a = all[i];
        st = mtx_assembly_score_on(b, &all[i], dev, dev_words, &sc);
        s[i].wer = sc.wer;
        s[i].per = sc.per;
        s[i].latency = mtx_assembly_latency(b, &all[i], lens->src_len, lens->tgt_len);
        s[i].params = mtx_assembly_params(b, &all[i]);
    }
    double *lat = st ? NULL : malloc(sizeof(double) * 2 * (size_t)na), *wer = lat ? lat + na : NULL;
    int *on = lat ? malloc(sizeof(int) * (size_t)na) : NULL;
    if (!st && !on) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    for (int i = 0; !st && i < na; i++) lat[i] = s[i].latency, wer[i] = s[i].wer;
    if (!st) mtx_pareto_mark(lat, wer, na, on);
    for (int i = 0; !st && i < na; i++) s[i].pareto = on[i];
    free(lat);
    free(on);
    free(all);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    *n = na;
    return MTX_OK;
}
