/* sweep_parts.c - the sweep's pieces, each testable alone (see sweep.h):
 * row costs, pruned teachers and their subset search, Pareto marks,
 * interleaved timing and fixed samples of a split. */
#include "modular/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mtx_bank_same_teacher(const mtx_bank *a, const mtx_bank *b) {
    const mtx_model_config *x = &a->teacher.cfg, *y = &b->teacher.cfg; /* shapes; dropout may differ */
    return a->teacher.n_params == b->teacher.n_params && x->d_model == y->d_model && x->d_ff == y->d_ff &&
           x->num_heads == y->num_heads && x->num_layers == y->num_layers &&
           x->num_decoder_layers == y->num_decoder_layers &&
           !memcmp(a->teacher.params, b->teacher.params, a->teacher.n_params * sizeof(float));
}

mtx_status mtx_sweep_row_costs(const mtx_bank *b, const mtx_assembly *a, const mtx_len_stats *lens,
                               const char *kind, mtx_report_row *row) {
    memset(row, 0, sizeof *row);
    int w = snprintf(row->kind, sizeof row->kind, "%s", kind);
    if (w < 0 || (size_t)w >= sizeof row->kind) return mtx_set_error(MTX_ERR_ARG, "sweep: row kind '%s' too long", kind);
    row->ratio = mtx_assembly_ratio(b, a);
    row->enc_layers = a->enc.n;
    row->dec_layers = a->dec.n;
    row->params = mtx_assembly_params(b, a);
    row->latency = mtx_assembly_latency(b, a, lens->src_len, lens->tgt_len);
    /* mtx_tiling_format stops at the buffer's end: a full buffer means cut */
    mtx_tiling_format(&a->enc, row->enc, sizeof row->enc);
    mtx_tiling_format(&a->dec, row->dec, sizeof row->dec);
    if (strlen(row->enc) + 1 >= sizeof row->enc || strlen(row->dec) + 1 >= sizeof row->dec)
        return mtx_set_error(MTX_ERR_ARG, "sweep: tiling of %d + %d blocks too long for the report", a->enc.n, a->dec.n);
    return MTX_OK;
}

void mtx_pruned_assembly(uint64_t enc_mask, uint64_t dec_mask, int n_enc, int n_dec, mtx_assembly *a) {
    memset(a, 0, sizeof *a);
    for (int l = 0; l < n_enc && l < MTX_MAX_LAYERS; l++)
        if (enc_mask >> l & 1) a->enc.g[a->enc.n] = 1, a->enc.j[a->enc.n++] = (uint8_t)l;
    for (int l = 0; l < n_dec && l < MTX_MAX_LAYERS; l++)
        if (dec_mask >> l & 1) a->dec.g[a->dec.n] = 1, a->dec.j[a->dec.n++] = (uint8_t)l;
}

void mtx_pruned_net(const mtx_bank *b, const mtx_assembly *a, mtx_net *net) {
    mtx_net_from_model(net, &b->teacher, NULL);
    net->n_enc = a->enc.n;
    net->n_dec = a->dec.n;
    for (int i = 0; i < a->enc.n; i++) net->enc[i] = &b->teacher.w.enc[a->enc.j[i]];
    for (int i = 0; i < a->dec.n; i++) net->dec[i] = &b->teacher.w.dec[a->dec.j[i]];
}

mtx_status mtx_prune_search(int n_enc, int n_dec, int keep_enc, int keep_dec, mtx_subset_nll_fn nll,
                            mtx_subset_score_fn score, void *ctx, uint64_t *enc_mask, uint64_t *dec_mask) {
    if (n_enc < 1 || n_dec < 1 || n_enc > 16 || n_dec > 16 || keep_enc < 1 || keep_enc > n_enc || keep_dec < 1 ||
        keep_dec > n_dec)
        return mtx_set_error(MTX_ERR_ARG, "prune search: keep %d of %d and %d of %d layers (stacks of 1 to 16)",
                             keep_enc, n_enc, keep_dec, n_dec);
    uint64_t fe[MTX_PRUNE_FINALISTS], fd[MTX_PRUNE_FINALISTS];
    double fnll[MTX_PRUNE_FINALISTS];
    int nf = 0;
    mtx_status st = MTX_OK;
    for (uint64_t xe = 0; !st && xe < (1ull << n_enc); xe++) {
        if (__builtin_popcountll(xe) != keep_enc) continue;
        for (uint64_t xd = 0; !st && xd < (1ull << n_dec); xd++) {
            if (__builtin_popcountll(xd) != keep_dec) continue;
            double v;
            if ((st = nll(ctx, xe, xd, &v))) break;
            if (!isfinite(v)) v = HUGE_VAL;
            int at = nf; /* sorted insert; a tie goes after the earlier subset */
            while (at > 0 && v < fnll[at - 1]) at--;
            if (at >= MTX_PRUNE_FINALISTS) continue;
            if (nf < MTX_PRUNE_FINALISTS) nf++;
            for (int q = nf - 1; q > at; q--) fe[q] = fe[q - 1], fd[q] = fd[q - 1], fnll[q] = fnll[q - 1];
            fe[at] = xe, fd[at] = xd, fnll[at] = v;
        }
    }
    double best_wer = 0, best_per = 0;
    for (int q = 0; !st && q < nf; q++) {
        double wer, per;
        if ((st = score(ctx, fe[q], fd[q], &wer, &per))) break;
        if (q == 0 || wer < best_wer || (wer == best_wer && per < best_per)) {
            best_wer = wer, best_per = per;
            *enc_mask = fe[q], *dec_mask = fd[q];
        }
    }
    return st;
}

void mtx_pareto_mark(const double *cost, const double *err, int n, int *on) {
    for (int i = 0; i < n; i++) {
        on[i] = 1;
        for (int k = 0; k < n && on[i]; k++)
            if (k != i && cost[k] <= cost[i] && err[k] <= err[i] && (cost[k] < cost[i] || err[k] < err[i])) on[i] = 0;
    }
}

mtx_status mtx_sweep_mark_frontier(mtx_report_row *rows, int n) {
    double *cost = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *err = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    int *on = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    mtx_status st = cost && err && on ? MTX_OK : mtx_set_error(MTX_ERR_NOMEM, "sweep: out of memory");
    for (int i = 0; !st && i < n; i++) cost[i] = -rows[i].words_per_s, err[i] = rows[i].wer;
    if (!st) mtx_pareto_mark(cost, err, n, on);
    for (int i = 0; !st && i < n; i++) rows[i].pareto = on[i];
    free(cost);
    free(err);
    free(on);
    return st;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Groups [a, b) of e as a view: entry indices stay those of e. */
static mtx_encoded group_range(const mtx_encoded *e, int a, int b) {
    mtx_encoded v = *e;
    v.group_start = e->group_start + a;
    v.n_groups = b - a;
    v.n = e->group_start[b] - e->group_start[a];
    return v;
}

mtx_status mtx_sweep_time(const mtx_net *nets, int n, const mtx_encoded *sample, int passes, double *wps) {
    if (n < 1 || passes < 1 || passes > 1000) return mtx_set_error(MTX_ERR_ARG, "sweep: timing %d rows in %d passes", n, passes);
    double *sec = calloc((size_t)n * (size_t)passes, sizeof(double)), *words = calloc((size_t)n * (size_t)passes, sizeof(double));
    mtx_status st = sec && words ? MTX_OK : mtx_set_error(MTX_ERR_NOMEM, "sweep: out of memory for timings");
    for (int p = 0; !st && p < passes; p++)
        for (int a = 0, c = 0; !st && a < sample->n_groups; a += MTX_SWEEP_CHUNK, c++) {
            const int b = a + MTX_SWEEP_CHUNK < sample->n_groups ? a + MTX_SWEEP_CHUNK : sample->n_groups;
            const mtx_encoded chunk = group_range(sample, a, b);
            for (int k = 0; !st && k < n; k++) {
                const int i = (p + c) % 2 ? n - 1 - k : k;
                mtx_eval_result r;
                st = mtx_eval_encoded(&nets[i], &chunk, 1, 1.0f, &r);
                sec[(size_t)i * (size_t)passes + (size_t)p] += r.seconds;
                words[(size_t)i * (size_t)passes + (size_t)p] += (double)r.words;
            }
        }
    for (int i = 0; !st && i < n; i++) {
        double *v = sec + (size_t)i * (size_t)passes, *w = words + (size_t)i * (size_t)passes;
        for (int p = 0; p < passes; p++) v[p] = v[p] > 0 ? w[p] / v[p] : 0;
        qsort(v, (size_t)passes, sizeof *v, by_value);
        wps[i] = passes % 2 ? v[passes / 2] : 0.5 * (v[passes / 2 - 1] + v[passes / 2]);
    }
    free(sec);
    free(words);
    return st;
}

mtx_encoded mtx_encoded_prefix(const mtx_encoded *e, int words) {
    mtx_encoded v = *e;
    if (words > 0 && words < e->n_groups) {
        v.n_groups = words;
        v.n = e->group_start[words];
    }
    return v;
}

mtx_status mtx_encoded_spread(const mtx_encoded *e, int words, mtx_encoded *out) {
    memset(out, 0, sizeof *out);
    int m = 0;
    for (int g = 0; g < e->n_groups; g++) m += e->group_start[g + 1] > e->group_start[g];
    const int k = words > 0 && words < m ? words : m;
    int *pick = malloc(sizeof(int) * (size_t)(m + 1));
    if (!pick) return mtx_set_error(MTX_ERR_NOMEM, "sample: out of memory");
    for (int g = 0, q = 0; g < e->n_groups; g++)
        if (e->group_start[g + 1] > e->group_start[g]) pick[q++] = g;
    int64_t ns = 0, nt = 0;
    int n = 0;
    for (int s = 0; s < k; s++) {
        const int g = pick[(int64_t)s * m / k];
        for (int i = e->group_start[g]; i < e->group_start[g + 1]; i++) ns += e->src_len[i], nt += e->tgt_len[i], n++;
    }
    out->src = malloc(sizeof(int32_t) * (size_t)(ns + 1));
    out->tgt = malloc(sizeof(int32_t) * (size_t)(nt + 1));
    out->src_off = malloc(sizeof(int) * (size_t)(n + 1));
    out->src_len = malloc(sizeof(int) * (size_t)(n + 1));
    out->tgt_off = malloc(sizeof(int) * (size_t)(n + 1));
    out->tgt_len = malloc(sizeof(int) * (size_t)(n + 1));
    out->group_start = malloc(sizeof(int) * (size_t)(k + 1));
    if (!out->src || !out->tgt || !out->src_off || !out->src_len || !out->tgt_off || !out->tgt_len || !out->group_start) {
        free(pick);
        mtx_encoded_free(out);
        return mtx_set_error(MTX_ERR_NOMEM, "sample: out of memory for %d words", k);
    }
    int so = 0, to = 0, x = 0;
    out->group_start[0] = 0;
    for (int s = 0; s < k; s++) {
        const int g = pick[(int64_t)s * m / k];
        for (int i = e->group_start[g]; i < e->group_start[g + 1]; i++, x++) {
            memcpy(out->src + so, e->src + e->src_off[i], sizeof(int32_t) * (size_t)e->src_len[i]);
            memcpy(out->tgt + to, e->tgt + e->tgt_off[i], sizeof(int32_t) * (size_t)e->tgt_len[i]);
            out->src_off[x] = so, out->src_len[x] = e->src_len[i];
            out->tgt_off[x] = to, out->tgt_len[x] = e->tgt_len[i];
            so += e->src_len[i], to += e->tgt_len[i];
        }
        out->group_start[s + 1] = x;
    }
    out->n = n;
    out->n_groups = k;
    free(pick);
    return MTX_OK;
}
